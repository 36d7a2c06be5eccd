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
 * The threads and the collector loop are stress/support/gcharness.h's.
 * Under ThreadSanitizer threads are not suspended (TSan delivers signals
 * only at its own interception points), so there the heap is touched
 * only under the harness spinlock, under which the collector collects,
 * and no thread roots are made.
 */
#include <stdio.h>

#include "../include/mps.h"
#include "../test/support/cellpool.h"
#include "support/gcharness.h"
#include "support/testlib.h"
#include "../test/support/collections.h"

/* Each worker does at least ITERATIONS operations and goes on (up to
 * ITERATIONS_MAX) until the collector has finished MIN_COLLECTS
 * collections, so that a starved collector is still exercised. */
enum { WORKERS = 4, LISTS = 8, MAX_LEN = 64, ITERATIONS = 3000, ITERATIONS_MAX = 12000,
       MIN_COLLECTS = 20 };

static gcharness_s strace_h;
static mps_pool_t strace_pool;

typedef struct worker_s {
  uint64_t seed;
  unsigned id;
  mps_addr_t table[LISTS];
  unsigned len[LISTS];
  mps_word_t *addrs[LISTS][MAX_LEN];   /* where each cell was made */
  unsigned long cells, checks;
} worker_s;

static mps_word_t strace_tag(worker_s *wk, unsigned l, unsigned i)
{
  return ((mps_word_t)wk->id << 16 | (mps_word_t)l << 8 | i) * 2 + 1;
}

/* Replace list l by a new one of len cells, built head first. */
static void strace_build(worker_s *wk, unsigned l, unsigned len)
{
  unsigned i;
  gcharness_lock(&strace_h);
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
  gcharness_unlock(&strace_h);
}

static void strace_check(worker_s *wk, unsigned l)
{
  mps_word_t *c;
  unsigned i;
  gcharness_lock(&strace_h);
  c = wk->table[l];
  for (i = wk->len[l]; i > 0; --i) {
    TESTLIB_REQUIRE(c == wk->addrs[l][i - 1]);
    TESTLIB_REQUIRE(c[1] == strace_tag(wk, l, i - 1));
    c = (mps_word_t *)c[0];
  }
  TESTLIB_REQUIRE(c == NULL);
  ++wk->checks;
  gcharness_unlock(&strace_h);
}

static void *strace_work(void *arg, void *cold)
{
  worker_s *wk = arg;
  testlib_rng_s rng;
  gcharness_worker_s w;
  mps_root_t table_root;
  unsigned it, l;

  testlib_rng_init(&rng, wk->seed);
  gcharness_worker_enter(&strace_h, &w, cold);
  for (l = 0; l < LISTS; ++l) {
    wk->table[l] = NULL;
    wk->len[l] = 0;
  }
  TESTLIB_REQUIRE(mps_root_create_table(&table_root, strace_h.arena, mps_rank_exact(), 0,
                                        wk->table, LISTS) == MPS_RES_OK);
  for (it = 0; it < ITERATIONS
       || (it < ITERATIONS_MAX && gcharness_collects(&strace_h) < MIN_COLLECTS);
       ++it) {
    l = (unsigned)testlib_rng_below(&rng, LISTS);
    switch (testlib_rng_below(&rng, 4)) {
    case 0:
      strace_build(wk, l, 1 + (unsigned)testlib_rng_below(&rng, MAX_LEN));
      break;
    case 3:
      gcharness_lock(&strace_h);
      wk->table[l] = NULL;
      wk->len[l] = 0;
      gcharness_unlock(&strace_h);
      break;
    default:
      strace_check(wk, l);
      break;
    }
  }
  for (l = 0; l < LISTS; ++l)
    strace_check(wk, l);
  mps_root_destroy(table_root);
  gcharness_worker_leave(&strace_h, &w);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_trace");
  testlib_rng_s rng;
  static worker_s wk[WORKERS];
  gcharness_collector_s collector = {&strace_h, gcharness_round_collect, 1};
  mps_arena_t arena;
  mps_chain_t chain;
  mps_gen_param_s params[1] = {{256, 0.5}};
  unsigned long cells = 0, checks = 0;
  unsigned i;

  testlib_rng_init(&rng, seed);
  arena = gcharness_arena_create((size_t)64 << 20);
  TESTLIB_REQUIRE(mps_chain_create(&chain, arena, 1, params) == MPS_RES_OK);
  strace_pool = gcharness_pool_create(arena, &cellpool_class, NULL, chain);

  gcharness_init(&strace_h, arena, WORKERS);
  for (i = 0; i < WORKERS; ++i) {
    wk[i].seed = testlib_rng_next(&rng);
    wk[i].id = i;
    wk[i].cells = wk[i].checks = 0;
  }
  gcharness_run(strace_work, wk, sizeof wk[0], WORKERS, gcharness_collector, &collector);
  for (i = 0; i < WORKERS; ++i) {
    cells += wk[i].cells;
    checks += wk[i].checks;
  }

  /* Everything is unreachable now. */
  mps_arena_collect(arena);
  TESTLIB_REQUIRE(cellpool_cells(strace_pool) == 0);
  printf("stress_trace: %u workers, %lu cells, %lu list checks, %lu collections "
         "(%lu explicit) (%s)\n",
         (unsigned)WORKERS, cells, checks, (unsigned long)collections_done(arena),
         gcharness_collects(&strace_h), GCHARNESS_MODE);
  mps_pool_destroy(strace_pool);
  mps_chain_destroy(chain);
  mps_arena_destroy(arena);
  return 0;
}
