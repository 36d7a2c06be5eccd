/* stress_incremental.c: threads reading and changing their lists while
 * collections run incrementally (src/gc/trace.c, the read barrier in
 * src/gc/barrier.c).
 *
 * WORKERS threads each own a linked list of NODES objects in one shared
 * AMC pool, reached from their slot of an exact root table, and keep a
 * shadow of the identities along it in C memory.  A worker walks to a
 * random place in its list (every load of a grey object faults and
 * scans its segment), replaces the node there with a new one, and now
 * and then checks its whole list against the shadow.  A collector thread
 * starts collections that run incrementally (mps_arena_start_collect),
 * steps them, and sometimes parks; the workers' own allocations poll and
 * advance them too.  So traces are under way for most of the run, and
 * threads fault on the same segments at once, are suspended inside the
 * fault handler, and allocate black objects into a heap half scanned.  A
 * reference the read barrier let through unfixed (to an object about to
 * be reclaimed or already copied) shows as a damaged node.
 *
 * The threads and the collector loop are stress/support/gcharness.h's
 * (natively registered and suspended; under TSan, everything under its
 * spinlock).  At the end collections must have run incrementally and
 * faults must have scanned segments, where the platform has the barrier,
 * or the harness tested nothing.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "../include/mps.h"
#include "../include/mpscamc.h"
#include "../src/gc/gc.h"
#include "../test/support/objfmt.h"
#include "support/gcharness.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define WORKERS 4
#define NODES 600            /* in each worker's list */
#define NDATA 4              /* payload words of a node: the identity first */
#define OPS 6000             /* replacements per worker */
#define MIN_COLLECTS 6


static gcharness_s sinc_h;
static mps_pool_t sinc_pool;
static mps_addr_t sinc_heads[WORKERS];   /* exact root */
static atomic_ulong sinc_checked;        /* nodes checked */

static mps_addr_t sinc_next(mps_addr_t node)
{
  return (mps_addr_t)((objfmt_obj)node)->slot[0];
}

typedef struct worker_s {
  unsigned index;
  uint64_t seed;
  mps_word_t ids[NODES];     /* the identities along the list */
} worker_s;

/* Check the whole list against the shadow. */
static void sinc_check(worker_s *wk)
{
  mps_addr_t node;
  size_t i;
  gcharness_lock(&sinc_h);
  node = sinc_heads[wk->index];
  for (i = 0; i < NODES; ++i) {
    TESTLIB_REQUIRE(node != NULL);
    TESTLIB_REQUIRE(objfmt_is_id(node, 1, NDATA, wk->ids[i]));
    node = sinc_next(node);
  }
  TESTLIB_REQUIRE(node == NULL);
  gcharness_unlock(&sinc_h);
  atomic_fetch_add_explicit(&sinc_checked, NODES, memory_order_relaxed);   /* a statistic */
}

static void *sinc_work(void *arg, void *cold)
{
  worker_s *wk = arg;
  testlib_rng_s rng;
  gcharness_worker_s w;
  mps_ap_t ap;
  mps_word_t serial = 0;
  unsigned op;
  size_t i;

  testlib_rng_init(&rng, wk->seed);
  gcharness_worker_enter(&sinc_h, &w, cold);
  TESTLIB_REQUIRE(mps_ap_create_k(&ap, sinc_pool, mps_args_none) == MPS_RES_OK);

  /* Identities are unique across workers and never 0.  The head is read
   * from the root after each allocation, which may move it. */
  gcharness_lock(&sinc_h);
  for (i = NODES; i-- > 0;) {
    mps_addr_t node;
    wk->ids[i] = ((++serial) * WORKERS + wk->index) << 1 | 1;
    node = gcharness_new_id(ap, 1, NDATA, wk->ids[i]);
    ((objfmt_obj)node)->slot[0] = (mps_word_t)sinc_heads[wk->index];
    sinc_heads[wk->index] = node;
  }
  gcharness_unlock(&sinc_h);

  /* Bounded, as the collector thread can be starved of the arena lock
   * (seen under qemu). */
  for (op = 0; op < OPS
       || (gcharness_collects(&sinc_h) < MIN_COLLECTS && op < 10 * OPS); ++op) {
    size_t at = (size_t)testlib_rng_below(&rng, NODES);
    mps_word_t id = ((++serial) * WORKERS + wk->index) << 1 | 1;
    mps_addr_t prev = NULL, node, fresh;
    if (testlib_rng_below(&rng, 64) == 0)
      sinc_check(wk);
    gcharness_lock(&sinc_h);
    /* First the allocation, which may start a collection: under TSan this
     * thread's stack is no root, so it holds no reference across it but
     * the new object, which is black. */
    fresh = gcharness_new_id(ap, 1, NDATA, id);
    node = sinc_heads[wk->index];
    for (i = 0; i < at; ++i) {
      prev = node;
      node = sinc_next(node);
    }
    TESTLIB_REQUIRE(objfmt_is_id(node, 1, NDATA, wk->ids[at]));
    ((objfmt_obj)fresh)->slot[0] = (mps_word_t)sinc_next(node);
    if (prev == NULL)
      sinc_heads[wk->index] = fresh;
    else
      ((objfmt_obj)prev)->slot[0] = (mps_word_t)fresh;
    gcharness_unlock(&sinc_h);
    wk->ids[at] = id;
  }
  sinc_check(wk);

  mps_ap_destroy(ap);
  gcharness_worker_leave(&sinc_h, &w);
  return NULL;
}

/* Mostly steps; every fourth round starts a collection, every
 * sixteenth parks. */
static void sinc_round(mps_arena_t arena, unsigned round)
{
  if (round % 16 == 0)
    mps_arena_park(arena);
  else if (round % 4 == 0)
    TESTLIB_REQUIRE(mps_arena_start_collect(arena) == MPS_RES_OK);
  else
    (void)mps_arena_step(arena, 0.0, 1.0);
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_incremental");
  static worker_s workers[WORKERS];
  gcharness_collector_s collector = {&sinc_h, sinc_round, 2000};
  mps_gen_param_s gens[2] = {{128, 0.8}, {1024, 0.5}};
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_root_t root;
  GC gc;
  unsigned i;

  arena = gcharness_arena_create(0);
  TESTLIB_REQUIRE(objfmt_create(&fmt, arena, objfmt_scan, true) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  sinc_pool = gcharness_pool_create(arena, mps_class_amc(), fmt, chain);
  TESTLIB_REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, sinc_heads,
                                        WORKERS) == MPS_RES_OK);

  gcharness_init(&sinc_h, arena, WORKERS);
  atomic_store_explicit(&sinc_checked, 0, memory_order_relaxed);   /* before the threads */
  for (i = 0; i < WORKERS; ++i) {
    workers[i].index = i;
    workers[i].seed = gcharness_seed(seed, i);
  }
  gcharness_run(sinc_work, workers, sizeof workers[0], WORKERS, gcharness_collector,
                &collector);

  mps_arena_park(arena);
  gc = ((Arena)arena)->gc;
  fflush(stdout);
  printf("stress_incremental: %u workers, %lu nodes checked, %lu collections, %lu of them"
         " incremental; read barrier %s: %lu faults scanned a segment (%s)\n",
         WORKERS, atomic_load_explicit(&sinc_checked, memory_order_relaxed),   /* joined */
         (unsigned long)mps_collections(arena), (unsigned long)gc->incremental_traces,
         gc->barrier.on ? "on" : "off", (unsigned long)gc->barrier.read_hits,
         GCHARNESS_MODE);
  fflush(stdout);
  /* Where the platform has a barrier, it must have been exercised. */
  if (gc->barrier.on) {
    TESTLIB_REQUIRE(gc->incremental_traces > 0);
    TESTLIB_REQUIRE(gc->barrier.read_hits > 0);
  }
  mps_root_destroy(root);
  mps_pool_destroy(sinc_pool);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
