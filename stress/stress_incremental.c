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
 * Natively the threads are registered, their stacks are ambiguous roots
 * and collections suspend them wherever they are.  Under ThreadSanitizer
 * (which would see the collector's reads as races and delivers the
 * suspend signal late) every heap access and every collection happens
 * under the harness spinlock, as in stress_amc.  At the end collections
 * must have run incrementally and faults must have scanned segments,
 * where the platform has the barrier, or the harness tested nothing.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpslib.h"
#include "../src/gc/gc.h"
#include "../test/support/objfmt.h"
#include "support/testlib.h"
#include "support/testthr.h"

#if defined(__SANITIZE_THREAD__)
#define STRESS_INC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_INC_TSAN 1
#endif
#endif
#if !defined(STRESS_INC_TSAN)
#define STRESS_INC_TSAN 0
#endif

#define WORKERS 4
#define NODES 600            /* in each worker's list */
#define NDATA 4              /* payload words of a node: the identity first */
#define OPS 6000             /* replacements per worker */
#define MIN_COLLECTS 6

#define W sizeof(mps_word_t)

static void sinc_abort(const char *file, unsigned line, const char *condition)
{
  fprintf(stderr, "%s:%u: MPS assertion failed: %s\n", file, line, condition);
  abort();
}

static mps_arena_t sinc_arena;
static mps_pool_t sinc_pool;
static mps_addr_t sinc_heads[WORKERS];   /* exact root */
static testthr_spin_s sinc_spin;         /* TSan: the heap's owner */
static atomic_int sinc_running;          /* workers still working */
static atomic_ulong sinc_collects;       /* collector's rounds */
static atomic_ulong sinc_checked;        /* nodes checked */

static void sinc_lock(void)
{
  if (STRESS_INC_TSAN)
    testthr_spin_lock(&sinc_spin);
}

static void sinc_unlock(void)
{
  if (STRESS_INC_TSAN)
    testthr_spin_unlock(&sinc_spin);
}

/* A node: one reference (the next node) and its identity. */
static mps_addr_t sinc_new(mps_ap_t ap, mps_word_t id, mps_addr_t next)
{
  size_t size = (2 + 1 + NDATA) * W;
  mps_addr_t p;
  do {
    TESTLIB_REQUIRE(mps_reserve(&p, ap, size) == MPS_RES_OK);
    objfmt_init_id(p, 1, NDATA, id);
    ((objfmt_obj)p)->slot[0] = (mps_word_t)next;
  } while (!mps_commit(ap, p, size));
  return p;
}

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
  sinc_lock();
  node = sinc_heads[wk->index];
  for (i = 0; i < NODES; ++i) {
    TESTLIB_REQUIRE(node != NULL);
    TESTLIB_REQUIRE(objfmt_is_id(node, 1, NDATA, wk->ids[i]));
    node = sinc_next(node);
  }
  TESTLIB_REQUIRE(node == NULL);
  sinc_unlock();
  atomic_fetch_add_explicit(&sinc_checked, NODES, memory_order_relaxed);   /* a statistic */
}

static void *sinc_work(void *arg, void *cold)
{
  worker_s *wk = arg;
  testlib_rng_s rng;
  mps_thr_t thr = NULL;
  mps_root_t stack_root = NULL;
  mps_ap_t ap;
  mps_word_t serial = 0;
  unsigned op;
  size_t i;

  testlib_rng_init(&rng, wk->seed);
  if (!STRESS_INC_TSAN) {
    TESTLIB_REQUIRE(mps_thread_reg(&thr, sinc_arena) == MPS_RES_OK);
    TESTLIB_REQUIRE(mps_root_create_thread(&stack_root, sinc_arena, thr, cold) == MPS_RES_OK);
  }
  TESTLIB_REQUIRE(mps_ap_create_k(&ap, sinc_pool, mps_args_none) == MPS_RES_OK);

  /* Identities are unique across workers and never 0. */
  sinc_lock();
  for (i = NODES; i-- > 0;) {
    wk->ids[i] = ((++serial) * WORKERS + wk->index) << 1 | 1;
    sinc_heads[wk->index] = sinc_new(ap, wk->ids[i], sinc_heads[wk->index]);
  }
  sinc_unlock();

  /* Relaxed: the count only decides how long to go on.  Bounded, as the
   * collector thread can be starved of the arena lock (seen under qemu). */
  for (op = 0; op < OPS
       || (atomic_load_explicit(&sinc_collects, memory_order_relaxed) < MIN_COLLECTS
           && op < 10 * OPS); ++op) {
    size_t at = (size_t)testlib_rng_below(&rng, NODES);
    mps_word_t id = ((++serial) * WORKERS + wk->index) << 1 | 1;
    mps_addr_t prev = NULL, node, fresh;
    if (testlib_rng_below(&rng, 64) == 0)
      sinc_check(wk);
    sinc_lock();
    /* First the allocation, which may start a collection: under TSan this
     * thread's stack is no root, so it holds no reference across it but
     * the new object, which is black. */
    fresh = sinc_new(ap, id, NULL);
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
    sinc_unlock();
    wk->ids[at] = id;
  }
  sinc_check(wk);

  mps_ap_destroy(ap);
  if (!STRESS_INC_TSAN) {
    mps_root_destroy(stack_root);
    mps_thread_dereg(thr);
  }
  atomic_fetch_sub_explicit(&sinc_running, 1,
                            memory_order_release);   /* pairs with the collector's acquire */
  return NULL;
}

static void *sinc_worker(void *arg)
{
  return testlib_run_below_cold(sinc_work, arg);
}

static void *sinc_collector(void *arg)
{
  mps_thr_t thr = NULL;
  unsigned spin, round = 0;
  if (!STRESS_INC_TSAN)
    TESTLIB_REQUIRE(mps_thread_reg(&thr, sinc_arena) == MPS_RES_OK);
  /* Acquire: once the count reaches zero every worker is done. */
  while (atomic_load_explicit(&sinc_running, memory_order_acquire) > 0) {
    sinc_lock();
    ++round;
    if (round % 16 == 0)
      mps_arena_park(sinc_arena);
    else if (round % 4 == 0)
      TESTLIB_REQUIRE(mps_arena_start_collect(sinc_arena) == MPS_RES_OK);
    else
      (void)mps_arena_step(sinc_arena, 0.0, 1.0);
    mps_arena_release(sinc_arena);
    sinc_unlock();
    atomic_fetch_add_explicit(&sinc_collects, 1,
                              memory_order_relaxed);   /* a count, read by workers */
    for (spin = 0; spin < 2000; ++spin)
      testthr_yield();
  }
  if (!STRESS_INC_TSAN)
    mps_thread_dereg(thr);
  (void)arg;
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_incremental");
  static worker_s workers[WORKERS];
  testthr_s threads[WORKERS], collector;
  mps_gen_param_s gens[2] = {{128, 0.8}, {1024, 0.5}};
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_root_t root;
  GC gc;
  unsigned i;

  mps_lib_assert_fail_install(sinc_abort);
  testthr_spin_init(&sinc_spin);
  TESTLIB_REQUIRE(mps_arena_create_k(&sinc_arena, mps_arena_class_vm(), mps_args_none)
                  == MPS_RES_OK);
  TESTLIB_REQUIRE(objfmt_create(&fmt, sinc_arena, objfmt_scan, true) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&chain, sinc_arena, 2, gens) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    TESTLIB_REQUIRE(mps_pool_create_k(&sinc_pool, sinc_arena, mps_class_amc(), args)
                    == MPS_RES_OK);
  } MPS_ARGS_END(args);
  TESTLIB_REQUIRE(mps_root_create_table(&root, sinc_arena, mps_rank_exact(), 0, sinc_heads,
                                        WORKERS) == MPS_RES_OK);

  atomic_store_explicit(&sinc_running, WORKERS,
                        memory_order_relaxed);   /* before any thread starts */
  atomic_store_explicit(&sinc_collects, 0, memory_order_relaxed);
  atomic_store_explicit(&sinc_checked, 0, memory_order_relaxed);
  for (i = 0; i < WORKERS; ++i) {
    workers[i].index = i;
    workers[i].seed = seed + i * 0x9E3779B97F4A7C15u;
    testthr_create(&threads[i], sinc_worker, &workers[i]);
  }
  testthr_create(&collector, sinc_collector, NULL);
  for (i = 0; i < WORKERS; ++i)
    testthr_join(&threads[i]);
  testthr_join(&collector);

  mps_arena_park(sinc_arena);
  gc = ((Arena)sinc_arena)->gc;
  fflush(stdout);
  printf("stress_incremental: %u workers, %lu nodes checked, %lu collections, %lu of them"
         " incremental; read barrier %s: %lu faults scanned a segment (%s)\n",
         WORKERS, atomic_load_explicit(&sinc_checked, memory_order_relaxed),   /* joined */
         (unsigned long)mps_collections(sinc_arena), (unsigned long)gc->incremental_traces,
         gc->barrier.on ? "on" : "off", (unsigned long)gc->barrier.read_hits,
         STRESS_INC_TSAN ? "TSan: heap shared under a spinlock, no suspension"
                         : "threads suspended and stacks scanned");
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
  mps_arena_destroy(sinc_arena);
  return 0;
}
