/* stress_trace.c: threads building, checking and dropping linked lists of
 * cells in the tracer's test pool (test/support/cellpool.h) while another
 * thread collects (src/gc/trace.c).
 *
 * WORKERS threads each keep LISTS lists behind an exact root table.  A
 * cell holds the next cell in word 0 and a tag (list, index; a small
 * integer that is never an address in the arena) in word 1, and its
 * address is recorded outside the heap: the pool never moves cells, so a
 * cell reclaimed while still reachable and reused shows up as a wrong
 * tag or a broken chain.  Between allocating a cell and linking it in,
 * the only reference to it is in the worker's registers or stack, which
 * natively are an ambiguous thread root (the worker is registered and
 * is suspended by every collection).  The collector thread, registered
 * too, runs full collections while the workers run; the small nursery
 * makes the workers' own allocations start collections as well.
 *
 * Under ThreadSanitizer threads are not suspended (TSan delivers signals
 * only at its own interception points), so there the heap is touched
 * only under the harness spinlock, under which the collector collects,
 * and no thread roots are made.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpslib.h"
#include "../test/support/cellpool.h"
#include "support/testlib.h"
#include "support/testthr.h"

#if defined(__SANITIZE_THREAD__)
#define STRACE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRACE_TSAN 1
#endif
#endif
#if !defined(STRACE_TSAN)
#define STRACE_TSAN 0
#endif

/* Each worker does at least ITERATIONS operations and goes on (up to
 * ITERATIONS_MAX) until the collector has finished MIN_COLLECTS
 * collections, so that a starved collector is still exercised. */
enum { WORKERS = 4, LISTS = 8, MAX_LEN = 64, ITERATIONS = 3000, ITERATIONS_MAX = 12000,
       MIN_COLLECTS = 20 };

static mps_arena_t strace_arena;
static mps_pool_t strace_pool;
static testthr_spin_s strace_spin;
static _Atomic int strace_running;
static _Atomic unsigned long strace_collects;

typedef struct worker_s {
  uint64_t seed;
  unsigned id;
  mps_addr_t table[LISTS];
  unsigned len[LISTS];
  mps_word_t *addrs[LISTS][MAX_LEN];   /* where each cell was made */
  unsigned long cells, checks;
} worker_s;

static void strace_lock(void)
{
  if (STRACE_TSAN)
    testthr_spin_lock(&strace_spin);
}

static void strace_unlock(void)
{
  if (STRACE_TSAN)
    testthr_spin_unlock(&strace_spin);
}

static mps_word_t strace_tag(worker_s *wk, unsigned l, unsigned i)
{
  return ((mps_word_t)wk->id << 16 | (mps_word_t)l << 8 | i) * 2 + 1;
}

/* Replace list l by a new one of len cells, built head first. */
static void strace_build(worker_s *wk, unsigned l, unsigned len)
{
  unsigned i;
  strace_lock();
  wk->table[l] = NULL;
  wk->len[l] = 0;
  for (i = 0; i < len; ++i) {
    mps_addr_t p;
    mps_word_t *c;
    TESTLIB_REQUIRE(mps_alloc(&p, strace_pool, CELLPOOL_SIZE) == MPS_RES_OK);
    c = p;   /* only in registers or on the stack until linked */
    TESTLIB_REQUIRE(c[0] == 0 && c[1] == 0);
    c[1] = strace_tag(wk, l, i);
    c[0] = (mps_word_t)wk->table[l];
    wk->table[l] = c;
    wk->addrs[l][i] = c;
    wk->len[l] = i + 1;
    ++wk->cells;
  }
  strace_unlock();
}

static void strace_check(worker_s *wk, unsigned l)
{
  mps_word_t *c;
  unsigned i;
  strace_lock();
  c = wk->table[l];
  for (i = wk->len[l]; i > 0; --i) {
    TESTLIB_REQUIRE(c == wk->addrs[l][i - 1]);
    TESTLIB_REQUIRE(c[1] == strace_tag(wk, l, i - 1));
    c = (mps_word_t *)c[0];
  }
  TESTLIB_REQUIRE(c == NULL);
  ++wk->checks;
  strace_unlock();
}

static void *strace_work(void *arg, void *cold)
{
  worker_s *wk = arg;
  testlib_rng_s rng;
  mps_thr_t thr = NULL;
  mps_root_t stack_root = NULL, table_root;
  unsigned it, l;

  testlib_rng_init(&rng, wk->seed);
  if (!STRACE_TSAN) {
    TESTLIB_REQUIRE(mps_thread_reg(&thr, strace_arena) == MPS_RES_OK);
    TESTLIB_REQUIRE(mps_root_create_thread(&stack_root, strace_arena, thr, cold)
                    == MPS_RES_OK);
  }
  for (l = 0; l < LISTS; ++l) {
    wk->table[l] = NULL;
    wk->len[l] = 0;
  }
  TESTLIB_REQUIRE(mps_root_create_table(&table_root, strace_arena, mps_rank_exact(), 0,
                                        wk->table, LISTS) == MPS_RES_OK);
  /* Relaxed: the count only decides how long to go on. */
  for (it = 0; it < ITERATIONS
       || (it < ITERATIONS_MAX
           && atomic_load_explicit(&strace_collects, memory_order_relaxed) < MIN_COLLECTS);
       ++it) {
    l = (unsigned)testlib_rng_below(&rng, LISTS);
    switch (testlib_rng_below(&rng, 4)) {
    case 0:
      strace_build(wk, l, 1 + (unsigned)testlib_rng_below(&rng, MAX_LEN));
      break;
    case 3:
      strace_lock();
      wk->table[l] = NULL;
      wk->len[l] = 0;
      strace_unlock();
      break;
    default:
      strace_check(wk, l);
      break;
    }
  }
  for (l = 0; l < LISTS; ++l)
    strace_check(wk, l);
  mps_root_destroy(table_root);
  if (!STRACE_TSAN) {
    mps_root_destroy(stack_root);
    mps_thread_dereg(thr);
  }
  atomic_fetch_sub_explicit(&strace_running, 1,
                            memory_order_release);   /* pairs with the collector's acquire */
  return NULL;
}

/* The thread entry: the body runs below the cold end (testlib.h). */
static void *strace_worker(void *arg)
{
  return testlib_run_below_cold(strace_work, arg);
}

static void *strace_collector(void *arg)
{
  mps_thr_t thr = NULL;
  UNUSED(arg);
  if (!STRACE_TSAN)
    TESTLIB_REQUIRE(mps_thread_reg(&thr, strace_arena) == MPS_RES_OK);
  /* acquire: the workers' last heap accesses happen before they stop */
  while (atomic_load_explicit(&strace_running, memory_order_acquire) > 0) {
    strace_lock();
    mps_arena_collect(strace_arena);
    mps_arena_release(strace_arena);
    strace_unlock();
    /* Relaxed: a progress count only. */
    atomic_fetch_add_explicit(&strace_collects, 1, memory_order_relaxed);
    testthr_yield();
  }
  if (!STRACE_TSAN)
    mps_thread_dereg(thr);
  return NULL;
}

static void strace_abort_handler(const char *file, unsigned line, const char *cond)
{
  fprintf(stderr, "%s:%u: MPS assertion failed: %s\n", file, line, cond);
  fflush(stderr);
  abort();
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_trace");
  testlib_rng_s rng;
  testthr_s workers[WORKERS], collector;
  static worker_s wk[WORKERS];
  mps_chain_t chain;
  mps_gen_param_s params[1] = {{256, 0.5}};
  unsigned long cells = 0, checks = 0;
  unsigned i;

  mps_lib_assert_fail_install(strace_abort_handler);
  testlib_rng_init(&rng, seed);
  testthr_spin_init(&strace_spin);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)64 << 20);
    TESTLIB_REQUIRE(mps_arena_create_k(&strace_arena, mps_arena_class_vm(), args)
                    == MPS_RES_OK);
  } MPS_ARGS_END(args);
  TESTLIB_REQUIRE(mps_chain_create(&chain, strace_arena, 1, params) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    TESTLIB_REQUIRE(mps_pool_create_k(&strace_pool, strace_arena, &cellpool_class, args)
                    == MPS_RES_OK);
  } MPS_ARGS_END(args);

  atomic_store_explicit(&strace_running, WORKERS, memory_order_relaxed);  /* before any thread */
  atomic_store_explicit(&strace_collects, 0, memory_order_relaxed);
  for (i = 0; i < WORKERS; ++i) {
    wk[i].seed = testlib_rng_next(&rng);
    wk[i].id = i;
    wk[i].cells = wk[i].checks = 0;
    testthr_create(&workers[i], strace_worker, &wk[i]);
  }
  testthr_create(&collector, strace_collector, NULL);
  for (i = 0; i < WORKERS; ++i) {
    testthr_join(&workers[i]);
    cells += wk[i].cells;
    checks += wk[i].checks;
  }
  testthr_join(&collector);

  /* Everything is unreachable now. */
  mps_arena_collect(strace_arena);
  TESTLIB_REQUIRE(cellpool_cells(strace_pool) == 0);
  printf("stress_trace: %u workers, %lu cells, %lu list checks, %lu collections "
         "(%lu explicit)%s\n",
         (unsigned)WORKERS, cells, checks, (unsigned long)mps_collections(strace_arena),
         (unsigned long)atomic_load_explicit(&strace_collects, memory_order_relaxed),
         STRACE_TSAN ? " (ThreadSanitizer: no thread roots, heap under a lock)" : "");
  mps_pool_destroy(strace_pool);
  mps_chain_destroy(chain);
  mps_arena_destroy(strace_arena);
  return 0;
}
