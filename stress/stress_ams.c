/* stress_ams.c: threads building, checking and dropping linked lists in
 * AMS pools while another thread collects (src/pool/pool_ams.c).
 *
 * WORKERS threads each have an allocation point on an AMS pool and one on
 * an AMS debug pool, and an exact root table of list heads.  A cell holds
 * the next cell, its list, its index and a value; each list's sum of
 * values and the address of every cell are kept outside the heap (AMS
 * never moves objects, so a cell must stay at the address it was made
 * at).  Workers build lists (alternating the pools, so lists cross from
 * one to the other), check one (addresses, indices, values, sum), rewrite
 * its values, or drop it.  The collector thread runs full collections for
 * as long as the workers run and checks the debug pool's free space after
 * each: every dead cell there is laid with the free template, so a cell
 * reclaimed while still reachable and then written by its worker is
 * reported.  The pools' small chain makes the workers' allocation start
 * collections too.
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
#include "../include/mpscams.h"
#include "../test/support/objfmt.h"
#include "support/gcharness.h"
#include "support/testlib.h"
#include "support/testthr.h"
#include "../test/support/collections.h"

#define WORKERS 4
#define LISTS 8
#define ITERATIONS 3000
#define MIN_COLLECTS 10
#define MAX_LEN 50
#define W sizeof(mps_word_t)

/* Cells are in test/support/objfmt.h's format, all of type object (AMS
 * neither moves nor pads): header, nrefs (1), next, list, index, value. */
enum { C_HEADER, C_NREFS, C_NEXT, C_LIST, C_INDEX, C_VALUE, C_WORDS };

static gcharness_s sams_h;
static mps_pool_t sams_pool, sams_debug_pool;
static atomic_ulong sams_checked;

typedef struct worker_s {
  unsigned index;
  uint64_t seed;
  mps_addr_t table[LISTS + 1];   /* list heads, then a scratch slot */
  mps_word_t sum[LISTS], len[LISTS];
  mps_word_t *addrs[LISTS][MAX_LEN];   /* where each cell was made */
} worker_s;

static void sams_build(worker_s *wk, mps_ap_t ap, unsigned l, unsigned len, testlib_rng_s *rng)
{
  unsigned k;
  gcharness_lock(&sams_h);
  wk->table[l] = NULL;
  gcharness_unlock(&sams_h);
  wk->sum[l] = 0;
  for (k = 0; k < len; ++k) {
    mps_word_t value = testlib_rng_next(rng) & 0xFFFFFF;
    mps_addr_t p;
    gcharness_lock(&sams_h);
    do {
      mps_word_t *c;
      TESTLIB_REQUIRE(mps_reserve(&p, ap, C_WORDS * W) == MPS_RES_OK);
      c = p;
      c[C_HEADER] = OBJFMT_HDR(C_WORDS, OBJFMT_T_OBJ);
      c[C_NREFS] = 1;
      c[C_NEXT] = (mps_word_t)wk->table[l];
      c[C_LIST] = wk->index * LISTS + l;
      c[C_INDEX] = k;
      c[C_VALUE] = value;
    } while (!mps_commit(ap, p, C_WORDS * W));
    wk->table[l] = p;
    gcharness_unlock(&sams_h);
    wk->addrs[l][k] = p;
    wk->sum[l] += value;
  }
  wk->len[l] = len;
}

static void sams_check(worker_s *wk, unsigned l)
{
  mps_word_t sum = 0, n = 0;
  mps_word_t *c;
  gcharness_lock(&sams_h);
  for (c = wk->table[l]; c != NULL; c = (mps_word_t *)c[C_NEXT]) {
    TESTLIB_REQUIRE(n < wk->len[l]);
    TESTLIB_REQUIRE(c == wk->addrs[l][wk->len[l] - 1 - n]);   /* never moved */
    TESTLIB_REQUIRE(c[C_HEADER] == OBJFMT_HDR(C_WORDS, OBJFMT_T_OBJ) && c[C_NREFS] == 1);
    TESTLIB_REQUIRE(c[C_LIST] == wk->index * LISTS + l);
    TESTLIB_REQUIRE(c[C_INDEX] == wk->len[l] - 1 - n);
    sum += c[C_VALUE];
    ++n;
  }
  gcharness_unlock(&sams_h);
  TESTLIB_REQUIRE(n == wk->len[l]);
  TESTLIB_REQUIRE(sum == wk->sum[l]);
  atomic_fetch_add_explicit(&sams_checked, (unsigned long)n,
                            memory_order_relaxed);   /* a statistic only */
}

static void sams_mutate(worker_s *wk, unsigned l, mps_word_t delta)
{
  mps_word_t *c;
  gcharness_lock(&sams_h);
  wk->sum[l] = 0;
  for (c = wk->table[l]; c != NULL; c = (mps_word_t *)c[C_NEXT]) {
    c[C_VALUE] = (c[C_VALUE] + delta) & 0xFFFFFF;
    wk->sum[l] += c[C_VALUE];
  }
  gcharness_unlock(&sams_h);
}

static void *sams_work(void *arg, void *cold)
{
  worker_s *wk = arg;
  testlib_rng_s rng;
  gcharness_worker_s w;
  mps_root_t table_root;
  mps_ap_t ap[2];
  unsigned it, l;

  testlib_rng_init(&rng, wk->seed);
  gcharness_worker_enter(&sams_h, &w, cold);
  for (l = 0; l < LISTS + 1; ++l)
    wk->table[l] = NULL;
  TESTLIB_REQUIRE(mps_root_create_table(&table_root, sams_h.arena, mps_rank_exact(), 0,
                                        wk->table, LISTS + 1) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_ap_create_k(&ap[0], sams_pool, mps_args_none) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_ap_create_k(&ap[1], sams_debug_pool, mps_args_none) == MPS_RES_OK);
  for (l = 0; l < LISTS; ++l)
    wk->len[l] = wk->sum[l] = 0;

  for (it = 0; it < ITERATIONS || gcharness_collects(&sams_h) < MIN_COLLECTS; ++it) {
    l = (unsigned)testlib_rng_below(&rng, LISTS);
    switch (testlib_rng_below(&rng, 8)) {
    case 0: case 1: case 2:
      sams_build(wk, ap[it & 1], l, 1 + (unsigned)testlib_rng_below(&rng, MAX_LEN), &rng);
      break;
    case 3: case 4: case 5:
      sams_check(wk, l);
      break;
    case 6:
      sams_mutate(wk, l, testlib_rng_next(&rng));
      break;
    default:
      gcharness_lock(&sams_h);
      wk->table[l] = NULL;
      gcharness_unlock(&sams_h);
      wk->len[l] = wk->sum[l] = 0;
      break;
    }
  }
  for (l = 0; l < LISTS; ++l)
    sams_check(wk, l);

  mps_ap_destroy(ap[1]);
  mps_ap_destroy(ap[0]);
  mps_root_destroy(table_root);
  gcharness_worker_leave(&sams_h, &w);
  return NULL;
}

/* A full collection, then, with the arena released (so the workers'
 * allocation may start collections natively), the debug pool's free
 * space checked.  The shell releases again, which changes nothing. */
static void sams_round(mps_arena_t arena, unsigned round)
{
  mps_arena_collect(arena);
  mps_arena_release(arena);
  mps_pool_check_free_space(sams_debug_pool);
  (void)round;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_ams");
  static worker_s workers[WORKERS];
  gcharness_collector_s collector = {&sams_h, sams_round, 200};
  mps_gen_param_s gens[1] = {{1024, 0.8}};
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  unsigned long collects;
  size_t total;
  unsigned i;

  arena = gcharness_arena_create(0);
  TESTLIB_REQUIRE(objfmt_create(&fmt, arena, objfmt_scan, false) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&chain, arena, 1, gens) == MPS_RES_OK);
  sams_pool = gcharness_pool_create(arena, mps_class_ams(), fmt, chain);
  sams_debug_pool = gcharness_pool_create(arena, mps_class_ams_debug(), fmt, chain);

  gcharness_init(&sams_h, arena, WORKERS);
  atomic_store_explicit(&sams_checked, 0, memory_order_relaxed);
  for (i = 0; i < WORKERS; ++i) {
    workers[i].index = i;
    workers[i].seed = gcharness_seed(seed, i);
  }
  gcharness_run(sams_work, workers, sizeof workers[0], WORKERS, gcharness_collector,
                &collector);
  collects = gcharness_collects(&sams_h);   /* joined */

  /* Nothing is referenced now: a last collection gives every segment back. */
  mps_arena_collect(arena);
  total = mps_pool_total_size(sams_pool) + mps_pool_total_size(sams_debug_pool);
  printf("stress_ams: %u workers, %lu cells checked, %lu explicit and %lu collections in all,"
         " %zu bytes left (%s)\n", WORKERS,
         atomic_load_explicit(&sams_checked, memory_order_relaxed),   /* threads joined */
         collects, (unsigned long)collections_done(arena), total,
         GCHARNESS_MODE);
  TESTLIB_REQUIRE(collects > 0);
  TESTLIB_REQUIRE(total == 0);
  mps_pool_destroy(sams_debug_pool);
  mps_pool_destroy(sams_pool);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
