/* stress_snc.c: threads pushing, allocating and popping allocation frames
 * in SNC pools while others allocate in AMC and collections run
 * (src/pool/pool_snc.c, the frame functions of src/pool/buffer.c).
 *
 * WORKERS threads each have an allocation point on one of two SNC pools
 * (so two points share each pool), one on a shared AMC pool, and an exact
 * root table of AMC objects.  A worker keeps, outside the heap, the stack
 * of its live SNC objects (address, id, and the ids of the AMC objects
 * each refers to) and its frames.  It pushes frames, allocates SNC
 * objects referring to its AMC objects, pops a frame (mostly the
 * innermost, sometimes an outer one), allocates or drops AMC objects, and
 * checks its whole stack: every SNC object intact at its address, and
 * every reference leading to the right AMC object however often AMC has
 * moved it (only the SNC objects keep dropped AMC objects alive, so a
 * missed scan loses them).  A collector thread runs full collections the
 * whole time, every other one started with mps_arena_start_collect, so
 * that it goes on incrementally in the workers' polls and read barrier
 * faults (their pushes, pops and fills meet grey, read-protected SNC
 * segments); and the small chain makes allocation start others.  At the
 * end every point's memory must be reusable: the pools are no larger than
 * the workers' peak stacks need.
 *
 * The threads and the collector loop are stress/support/gcharness.h's:
 * natively every thread is registered and its stack is
 * an ambiguous root; under ThreadSanitizer threads are not suspended, so
 * the heap is touched only under the harness spinlock, under which the
 * collector also collects.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "../include/mps.h"
#include "../include/mpscamc.h"
#include "../include/mpscsnc.h"
#include "../src/gc/gc.h"
#include "../test/support/objfmt.h"
#include "support/gcharness.h"
#include "support/testlib.h"
#include "support/testthr.h"
#include "../test/support/collections.h"

#define WORKERS 4
#define POOLS 2
#define SLOTS 8
#define MAX_OBJS 600
#define MAX_FRAMES 24
#define MAX_REFS 2
#define ITERATIONS 6000
#define MIN_COLLECTS 10
#define W sizeof(mps_word_t)

/* Objects are in test/support/objfmt.h's format: header, nrefs, refs,
 * then data words, the first of which is its id. */

static mps_word_t ssnc_datum(mps_word_t id, size_t i)
{
  return i == 0 ? id : id * 2654435761u + i;
}

static gcharness_s ssnc_h;
static mps_pool_t ssnc_amc, ssnc_snc[POOLS];
static atomic_ulong ssnc_checked, ssnc_pops;
static atomic_ulong ssnc_peak[POOLS];   /* bytes of live SNC objects, summed per pool */

typedef struct sobj_s {
  mps_word_t *addr;
  mps_word_t id;
  unsigned nrefs, ndata;
  mps_word_t ref_id[MAX_REFS];
  unsigned ref_ndata[MAX_REFS];
} sobj_s;

typedef struct worker_s {
  unsigned index;
  uint64_t seed;
  mps_addr_t table[SLOTS];          /* exact root: AMC objects */
  mps_word_t slot_id[SLOTS];
  unsigned slot_ndata[SLOTS];
  sobj_s objs[MAX_OBJS];
  unsigned nobjs;
  mps_frame_t frames[MAX_FRAMES];
  unsigned below[MAX_FRAMES];
  unsigned nframes;
  size_t live, peak;                /* bytes of its live SNC objects */
} worker_s;

/* Make an object on `ap` whose references are the AMC objects in the root
 * slots `slots` (read after the reserve, which may collect). */
static mps_word_t *ssnc_new(worker_s *wk, mps_ap_t ap, const unsigned *slots, unsigned nrefs,
                            unsigned ndata, mps_word_t id, mps_addr_t *root_slot)
{
  size_t words = 2 + nrefs + ndata, i;
  mps_addr_t p;
  gcharness_lock(&ssnc_h);
  do {
    mps_word_t *o;
    TESTLIB_REQUIRE(mps_reserve(&p, ap, words * W) == MPS_RES_OK);
    o = p;
    o[0] = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    o[1] = nrefs;
    for (i = 0; i < nrefs; ++i)
      o[2 + i] = (mps_word_t)wk->table[slots[i]];
    for (i = 0; i < ndata; ++i)
      o[2 + nrefs + i] = ssnc_datum(id, i);
  } while (!mps_commit(ap, p, words * W));
  /* Into its root before the lock goes: under TSan no stack is scanned,
   * and a collection by another thread could otherwise reclaim it. */
  if (root_slot != NULL)
    *root_slot = p;
  gcharness_unlock(&ssnc_h);
  return p;
}

static void ssnc_check_obj(const mps_word_t *o, mps_word_t id, unsigned nrefs, unsigned ndata)
{
  unsigned i;
  TESTLIB_REQUIRE(o != NULL);
  TESTLIB_REQUIRE(o[0] == OBJFMT_HDR(2 + nrefs + ndata, OBJFMT_T_OBJ));
  TESTLIB_REQUIRE(o[1] == nrefs);
  for (i = 0; i < ndata; ++i)
    TESTLIB_REQUIRE(o[2 + nrefs + i] == ssnc_datum(id, i));
}

static void ssnc_check(worker_s *wk)
{
  unsigned i, k;
  gcharness_lock(&ssnc_h);
  for (k = 0; k < SLOTS; ++k)
    if (wk->slot_id[k] != 0)
      ssnc_check_obj(wk->table[k], wk->slot_id[k], 0, wk->slot_ndata[k]);
  for (i = 0; i < wk->nobjs; ++i) {
    sobj_s *s = &wk->objs[i];
    ssnc_check_obj(s->addr, s->id, s->nrefs, s->ndata);
    for (k = 0; k < s->nrefs; ++k) {
      /* Held in a local across nothing: natively the stack is an
       * ambiguous root anyway, so AMC would not move it. */
      const mps_word_t *ref = (const mps_word_t *)s->addr[2 + k];
      if (s->ref_id[k] == 0)
        TESTLIB_REQUIRE(ref == NULL);
      else
        ssnc_check_obj(ref, s->ref_id[k], 0, s->ref_ndata[k]);
    }
  }
  gcharness_unlock(&ssnc_h);
  atomic_fetch_add_explicit(&ssnc_checked, wk->nobjs, memory_order_relaxed);   /* a statistic */
}

static void ssnc_pop(worker_s *wk, mps_ap_t ap, unsigned k)
{
  unsigned i;
  gcharness_lock(&ssnc_h);
  TESTLIB_REQUIRE(mps_ap_frame_pop(ap, wk->frames[k]) == MPS_RES_OK);
  gcharness_unlock(&ssnc_h);
  for (i = wk->below[k]; i < wk->nobjs; ++i)
    wk->live -= (2 + wk->objs[i].nrefs + wk->objs[i].ndata) * W;
  wk->nobjs = wk->below[k];
  wk->nframes = k;
  atomic_fetch_add_explicit(&ssnc_pops, 1, memory_order_relaxed);   /* a statistic */
}

static void *ssnc_work(void *arg, void *cold)
{
  worker_s *wk = arg;
  testlib_rng_s rng;
  gcharness_worker_s w;
  mps_root_t table_root;
  mps_ap_t ap, amc_ap;
  mps_word_t next_id = (mps_word_t)wk->index << 40 | 1;
  unsigned it, k;

  testlib_rng_init(&rng, wk->seed);
  gcharness_worker_enter(&ssnc_h, &w, cold);
  for (k = 0; k < SLOTS; ++k) {
    wk->table[k] = NULL;
    wk->slot_id[k] = 0;
  }
  wk->nobjs = wk->nframes = 0;
  wk->live = wk->peak = 0;
  TESTLIB_REQUIRE(mps_root_create_table(&table_root, ssnc_h.arena, mps_rank_exact(), 0,
                                        wk->table, SLOTS) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
    TESTLIB_REQUIRE(mps_ap_create_k(&ap, ssnc_snc[wk->index % POOLS], args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  TESTLIB_REQUIRE(mps_ap_create_k(&amc_ap, ssnc_amc, mps_args_none) == MPS_RES_OK);

  for (it = 0; it < ITERATIONS || gcharness_collects(&ssnc_h) < MIN_COLLECTS; ++it) {
    switch (testlib_rng_below(&rng, 16)) {
    case 0: case 1:    /* push */
      if (wk->nframes < MAX_FRAMES) {
        gcharness_lock(&ssnc_h);
        TESTLIB_REQUIRE(mps_ap_frame_push(&wk->frames[wk->nframes], ap) == MPS_RES_OK);
        gcharness_unlock(&ssnc_h);
        wk->below[wk->nframes] = wk->nobjs;
        ++wk->nframes;
      }
      break;
    case 2: case 3: case 4: case 5: case 6: {   /* SNC object */
      sobj_s *s;
      unsigned slots[MAX_REFS];
      if (wk->nobjs == MAX_OBJS)
        break;
      s = &wk->objs[wk->nobjs];
      s->nrefs = (unsigned)testlib_rng_below(&rng, MAX_REFS + 1);
      s->ndata = 1 + (unsigned)testlib_rng_below(&rng, 40);
      s->id = next_id++;
      for (k = 0; k < s->nrefs; ++k) {
        slots[k] = (unsigned)testlib_rng_below(&rng, SLOTS);
        s->ref_id[k] = wk->slot_id[slots[k]];
        s->ref_ndata[k] = wk->slot_ndata[slots[k]];
      }
      s->addr = ssnc_new(wk, ap, slots, s->nrefs, s->ndata, s->id, NULL);
      ++wk->nobjs;
      wk->live += (2 + s->nrefs + s->ndata) * W;
      if (wk->live > wk->peak)
        wk->peak = wk->live;
      break;
    }
    case 7: case 8:    /* pop: mostly the innermost frame */
      if (wk->nframes > 0)
        ssnc_pop(wk, ap, testlib_rng_below(&rng, 4) == 0
                         ? (unsigned)testlib_rng_below(&rng, wk->nframes) : wk->nframes - 1);
      break;
    case 9: case 10: case 11: {   /* AMC object into a root slot */
      unsigned ndata = 1 + (unsigned)testlib_rng_below(&rng, 12);
      mps_word_t id = next_id++;
      k = (unsigned)testlib_rng_below(&rng, SLOTS);
      (void)ssnc_new(wk, amc_ap, NULL, 0, ndata, id, &wk->table[k]);
      wk->slot_id[k] = id;
      wk->slot_ndata[k] = ndata;
      break;
    }
    case 12:           /* drop a root slot: only SNC objects may keep it */
      k = (unsigned)testlib_rng_below(&rng, SLOTS);
      gcharness_lock(&ssnc_h);
      wk->table[k] = NULL;
      gcharness_unlock(&ssnc_h);
      wk->slot_id[k] = 0;
      break;
    default:
      ssnc_check(wk);
      break;
    }
  }
  ssnc_check(wk);
  while (wk->nframes > 0)
    ssnc_pop(wk, ap, 0);
  /* Relaxed: read after the threads are joined. */
  atomic_fetch_add_explicit(&ssnc_peak[wk->index % POOLS], wk->peak, memory_order_relaxed);

  mps_ap_destroy(amc_ap);
  mps_ap_destroy(ap);
  mps_root_destroy(table_root);
  gcharness_worker_leave(&ssnc_h, &w);
  return NULL;
}

/* The collector's rounds: a full collection, then one started to go on
 * incrementally, finished by the workers' polls and faults or by the next
 * round's collect. */
static void ssnc_round(mps_arena_t arena, unsigned round)
{
  if (round % 2 == 1)
    mps_arena_collect(arena);
  else
    TESTLIB_REQUIRE(mps_arena_start_collect(arena) == MPS_RES_OK);
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_snc");
  static worker_s workers[WORKERS];
  gcharness_collector_s collector = {&ssnc_h, ssnc_round, 200};
  mps_gen_param_s gens[2] = {{256, 0.8}, {512, 0.5}};
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  unsigned long collects;
  GC gc;
  unsigned i;

  arena = gcharness_arena_create(0);
  TESTLIB_REQUIRE(objfmt_create(&fmt, arena, objfmt_scan, true) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  ssnc_amc = gcharness_pool_create(arena, mps_class_amc(), fmt, chain);
  for (i = 0; i < POOLS; ++i) {
    ssnc_snc[i] = gcharness_pool_create(arena, mps_class_snc(), fmt, NULL);
    atomic_store_explicit(&ssnc_peak[i], 0, memory_order_relaxed);   /* before the threads */
  }

  gcharness_init(&ssnc_h, arena, WORKERS);
  atomic_store_explicit(&ssnc_checked, 0, memory_order_relaxed);
  atomic_store_explicit(&ssnc_pops, 0, memory_order_relaxed);
  for (i = 0; i < WORKERS; ++i) {
    workers[i].index = i;
    workers[i].seed = gcharness_seed(seed, i);
  }
  gcharness_run(ssnc_work, workers, sizeof workers[0], WORKERS, gcharness_collector,
                &collector);
  collects = gcharness_collects(&ssnc_h);   /* joined */
  mps_arena_park(arena);
  gc = ((Arena)arena)->gc;

  printf("stress_snc: %u workers, %lu objects checked, %lu pops, %lu explicit and %lu"
         " collections in all, %lu incremental; %lu read barrier faults; SNC pools %zu + %zu"
         " bytes (%s)\n", WORKERS,
         atomic_load_explicit(&ssnc_checked, memory_order_relaxed),   /* threads joined */
         atomic_load_explicit(&ssnc_pops, memory_order_relaxed),
         collects, (unsigned long)collections_done(arena),
         (unsigned long)gc->incremental_traces, (unsigned long)gc->barrier.read_hits,
         mps_pool_total_size(ssnc_snc[0]), mps_pool_total_size(ssnc_snc[1]),
         GCHARNESS_MODE);
  TESTLIB_REQUIRE(collects > 0);
  /* Where the platform has the barrier, a heap with SNC collects
   * incrementally: every other explicit collection at least (one that
   * began before the SNC pools had segments would prove nothing). */
  if (gc->barrier.on)
    TESTLIB_REQUIRE(gc->incremental_traces >= collects / 3);
  for (i = 0; i < POOLS; ++i) {
    /* Popped memory was reused: a pool holds no more than its points'
     * peaks, with room for segment tails and a spare segment each. */
    size_t peak = atomic_load_explicit(&ssnc_peak[i], memory_order_relaxed);   /* joined */
    TESTLIB_REQUIRE(mps_pool_total_size(ssnc_snc[i]) <= 2 * peak + 4 * 64 * 1024);
    /* The points are destroyed: everything in the pool is free. */
    TESTLIB_REQUIRE(mps_pool_free_size(ssnc_snc[i]) == mps_pool_total_size(ssnc_snc[i]));
    mps_pool_destroy(ssnc_snc[i]);
  }
  mps_pool_destroy(ssnc_amc);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
