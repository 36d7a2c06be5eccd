/* stress_barrier.c: threads storing young objects into old ones, all at
 * once, in segments under the write barrier, while collections run
 * (src/gc/barrier.c).
 *
 * The old objects live in an AMS pool whose chain is never due, so every
 * minor collection leaves them alone and, after a few boring scans, puts
 * their segments under the barrier.  Their addresses are in one exact
 * root table.  WORKERS threads each own the old objects whose index is
 * theirs modulo WORKERS; the objects are interleaved in memory, so the
 * workers' first stores into a protected segment fault on several threads
 * at once.  All workers store only into one window of OLD / WINDOWS old
 * objects, which moves on every few collections: the rest of the old
 * objects stay quiet long enough for their segments' barriers to go up
 * (barrier.h: a segment with references to the nursery is "interesting"
 * and keeps its barrier down).  A worker allocates a young object in AMC (small nursery, so
 * its own allocation starts minor collections), whose only lasting
 * reference is the slot of an old object it stores it in, and remembers
 * in its own shadow which young object (by identity) each of its slots
 * holds; now and then it checks a whole old object: every young object
 * still there, with its identity and payload.  A store the barrier missed
 * lets a minor collection free or move the young object without fixing
 * the slot, which the check finds.  A collector thread adds full
 * collections and steps.
 *
 * The threads and the collector loop are stress/support/gcharness.h's
 * (natively registered and suspended wherever they are, mid-store
 * included; under TSan, everything under its spinlock).  At the end the
 * barrier must have been hit and must have let collections skip
 * segments, or the harness tested nothing.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "../include/mps.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../src/gc/gc.h"
#include "../test/support/objfmt.h"
#include "support/gcharness.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define WORKERS 4
#define OLD 512              /* old objects */
#define SLOTS 4              /* references in each */
#define OLD_DATA 1000        /* payload words of an old object: about 8 KiB */
#define WINDOWS 8            /* the old objects, in runs the workers visit in turn */
#define YOUNG_DATA 6         /* payload words of a young one */
#define ITERATIONS 200000
#define MIN_COLLECTS 8

static gcharness_s sbar_h;
static mps_pool_t sbar_young_pool;
static mps_addr_t sbar_old[OLD];       /* exact root */
static atomic_ulong sbar_checked;      /* young objects checked */

typedef struct worker_s {
  unsigned index;
  uint64_t seed;
  mps_word_t expect[OLD][SLOTS];   /* identity in each owned slot, 0: none */
} worker_s;

/* Check one owned old object and the young objects its slots hold. */
static void sbar_check(worker_s *wk, size_t i)
{
  objfmt_obj old;
  size_t s;
  gcharness_lock(&sbar_h);
  old = sbar_old[i];
  TESTLIB_REQUIRE(objfmt_is_id(old, SLOTS, OLD_DATA, 1 + i));
  for (s = 0; s < SLOTS; ++s) {
    mps_addr_t young = (mps_addr_t)old->slot[s];
    if (wk->expect[i][s] == 0) {
      TESTLIB_REQUIRE(young == NULL);
    } else {
      TESTLIB_REQUIRE(young != NULL);
      TESTLIB_REQUIRE(objfmt_is_id(young, 0, YOUNG_DATA, wk->expect[i][s]));
    }
  }
  gcharness_unlock(&sbar_h);
  atomic_fetch_add_explicit(&sbar_checked, 1, memory_order_relaxed);   /* a statistic */
}

static void *sbar_work(void *arg, void *cold)
{
  worker_s *wk = arg;
  testlib_rng_s rng;
  gcharness_worker_s w;
  mps_ap_t ap;
  mps_word_t serial = 0;
  unsigned it;
  size_t i;

  testlib_rng_init(&rng, wk->seed);
  gcharness_worker_enter(&sbar_h, &w, cold);
  TESTLIB_REQUIRE(mps_ap_create_k(&ap, sbar_young_pool, mps_args_none) == MPS_RES_OK);

  for (it = 0; it < ITERATIONS || gcharness_collects(&sbar_h) < MIN_COLLECTS; ++it) {
    size_t s = (size_t)testlib_rng_below(&rng, SLOTS);
    /* The workers go at about the same pace, so they are usually in the
     * same window. */
    size_t window = it / (ITERATIONS / WINDOWS / 4) % WINDOWS;
    i = window * (OLD / WINDOWS)
        + (size_t)testlib_rng_below(&rng, OLD / WINDOWS / WORKERS) * WORKERS + wk->index;
    if (testlib_rng_below(&rng, 16) == 0) {
      sbar_check(wk, i);
    } else if (testlib_rng_below(&rng, 32) == 0) {
      gcharness_lock(&sbar_h);
      ((objfmt_obj)sbar_old[i])->slot[s] = 0;
      gcharness_unlock(&sbar_h);
      wk->expect[i][s] = 0;
    } else {
      /* Identities are unique across workers and never 0. */
      mps_word_t id = ((++serial) * WORKERS + wk->index) << 1 | 1;
      mps_addr_t young;
      gcharness_lock(&sbar_h);
      young = gcharness_new_id(ap, 0, YOUNG_DATA, id);
      ((objfmt_obj)sbar_old[i])->slot[s] = (mps_word_t)young;   /* may fault */
      young = NULL;
      gcharness_unlock(&sbar_h);
      wk->expect[i][s] = id;
    }
  }
  for (i = wk->index; i < OLD; i += WORKERS)
    sbar_check(wk, i);

  mps_ap_destroy(ap);
  gcharness_worker_leave(&sbar_h, &w);
  return NULL;
}

/* Mostly steps (minor collections when one is due), sometimes all. */
static void sbar_round(mps_arena_t arena, unsigned round)
{
  if (round % 8 == 0)
    mps_arena_collect(arena);
  else
    (void)mps_arena_step(arena, 0.01, 1.0);
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_barrier");
  static worker_s workers[WORKERS];
  gcharness_collector_s collector = {&sbar_h, sbar_round, 500};
  mps_gen_param_s young_gens[2] = {{256, 0.8}, {2048, 0.5}};
  mps_gen_param_s old_gens[1] = {{1 << 20, 0.5}};   /* never due */
  mps_fmt_t fmt_moving, fmt_fixed;
  mps_chain_t young_chain, old_chain;
  mps_pool_t old_pool;
  mps_root_t root;
  mps_ap_t ap;
  mps_arena_t arena;
  GC gc;
  unsigned i;

  arena = gcharness_arena_create(0);
  TESTLIB_REQUIRE(objfmt_create(&fmt_moving, arena, objfmt_scan, true) == MPS_RES_OK);
  TESTLIB_REQUIRE(objfmt_create(&fmt_fixed, arena, objfmt_scan, false) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&young_chain, arena, 2, young_gens) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&old_chain, arena, 1, old_gens) == MPS_RES_OK);
  sbar_young_pool = gcharness_pool_create(arena, mps_class_amc(), fmt_moving, young_chain);
  old_pool = gcharness_pool_create(arena, mps_class_ams(), fmt_fixed, old_chain);
  TESTLIB_REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, sbar_old,
                                        OLD) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_ap_create_k(&ap, old_pool, mps_args_none) == MPS_RES_OK);
  for (i = 0; i < OLD; ++i)
    sbar_old[i] = gcharness_new_id(ap, SLOTS, OLD_DATA, 1 + i);
  mps_ap_destroy(ap);   /* no buffer keeps an old segment unguarded */

  gcharness_init(&sbar_h, arena, WORKERS);
  atomic_store_explicit(&sbar_checked, 0, memory_order_relaxed);   /* before the threads */
  for (i = 0; i < WORKERS; ++i) {
    workers[i].index = i;
    workers[i].seed = gcharness_seed(seed, i);
  }
  gcharness_run(sbar_work, workers, sizeof workers[0], WORKERS, gcharness_collector,
                &collector);

  mps_arena_park(arena);
  gc = ((Arena)arena)->gc;
  fflush(stdout);
  printf("stress_barrier: %u workers, %lu old objects checked, %lu collections;"
         " barrier %s: %lu hits, %lu raises, %lu segments skipped (%s)\n",
         WORKERS, atomic_load_explicit(&sbar_checked, memory_order_relaxed),   /* joined */
         (unsigned long)mps_collections(arena), gc->barrier.on ? "on" : "off",
         (unsigned long)gc->barrier.hits, (unsigned long)gc->barrier.raises,
         (unsigned long)gc->barrier.skips,
         GCHARNESS_MODE);
  fflush(stdout);
  /* Where the platform has a barrier, it must have been exercised. */
  if (gc->barrier.on) {
    TESTLIB_REQUIRE(gc->barrier.hits > 0);
    TESTLIB_REQUIRE(gc->barrier.skips > 0);
  }
  mps_root_destroy(root);
  mps_pool_destroy(old_pool);
  mps_pool_destroy(sbar_young_pool);
  mps_chain_destroy(old_chain);
  mps_chain_destroy(young_chain);
  mps_fmt_destroy(fmt_fixed);
  mps_fmt_destroy(fmt_moving);
  mps_arena_destroy(arena);
  return 0;
}
