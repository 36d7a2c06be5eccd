/* stress_debug.c: several threads sharing one debugging MVFF pool.
 *
 * First every thread asks for mps_class_mvff_debug at once, racing to
 * build the class: all must get the same, valid class.  Then the threads
 * share one pool of that class: each allocates and frees blocks of random
 * sizes with mps_alloc and mps_free, allocates some through its own
 * allocation point (blocks without fences, freed with mps_free too), writes
 * a pattern over each block and verifies it before freeing, and now and
 * then checks every fencepost and all free space of the pool.  The client
 * never writes outside its blocks, so no report may arrive: a recording
 * assertion handler counts them (atomically) and the count must be zero.
 * At the end the remaining blocks are freed, the pool is checked once
 * more and destroyed, and its free size must equal its total size before
 * that.  The arena lock serialises the pool; the debugging layer adds no
 * locking of its own. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvff.h"
#include "../include/mpslib.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define STRESS_DEBUG_THREADS 4
#define STRESS_DEBUG_LIVE 128
#define STRESS_DEBUG_OPS 40000
#define STRESS_DEBUG_CHECK_EVERY 5000

typedef struct stress_debug_block_s {
  unsigned char *p;
  size_t size;
  unsigned char fill;
} stress_debug_block_s;

typedef struct stress_debug_thread_s {
  mps_pool_t pool;
  mps_pool_class_t klass;    /* what the class race gave this thread */
  uint64_t seed;
  stress_debug_block_s block[STRESS_DEBUG_LIVE];
  size_t allocs, ap_allocs, frees, checks;
} stress_debug_thread_s;

/* Relaxed: a count read only after every thread is joined, and joining
 * orders it. */
static atomic_int stress_debug_reports;

static void stress_debug_record(const char *file, unsigned line, const char *cond)
{
  fprintf(stderr, "%s:%u: unexpected report: %s\n", file, line, cond);
  atomic_fetch_add_explicit(&stress_debug_reports, 1, memory_order_relaxed);
}

static void *stress_debug_race(void *arg)
{
  stress_debug_thread_s *t = arg;
  t->klass = mps_class_mvff_debug();
  return NULL;
}

static void stress_debug_verify(const stress_debug_block_s *b)
{
  size_t i;
  for (i = 0; i < b->size; ++i)
    TESTLIB_REQUIRE(b->p[i] == b->fill);
}

static void stress_debug_release(stress_debug_thread_s *t, stress_debug_block_s *b)
{
  stress_debug_verify(b);
  mps_free(t->pool, b->p, b->size);
  b->p = NULL;
  ++t->frees;
}

static void *stress_debug_work(void *arg)
{
  stress_debug_thread_s *t = arg;
  testlib_rng_s rng;
  mps_ap_t ap;
  unsigned op;
  size_t i;
  testlib_rng_init(&rng, t->seed);
  TESTLIB_REQUIRE(mps_ap_create_k(&ap, t->pool, mps_args_none) == MPS_RES_OK);
  for (op = 0; op < STRESS_DEBUG_OPS; ++op) {
    stress_debug_block_s *b = &t->block[testlib_rng_below(&rng, STRESS_DEBUG_LIVE)];
    if (b->p != NULL) {
      stress_debug_release(t, b);
    } else if (testlib_rng_below(&rng, 4) == 0) {
      /* Through the allocation point: sizes in whole alignment units. */
      size_t size = 16 * (1 + (size_t)testlib_rng_below(&rng, 16));
      mps_addr_t p;
      do {
        TESTLIB_REQUIRE(mps_reserve(&p, ap, size) == MPS_RES_OK);
        memset(p, 0xA5, size);
      } while (!mps_commit(ap, p, size));
      b->p = p;
      b->size = size;
      b->fill = 0xA5;
      ++t->ap_allocs;
    } else {
      size_t size = 1 + (size_t)testlib_rng_below(&rng, testlib_rng_below(&rng, 8) == 0 ? 4000 : 200);
      mps_addr_t p;
      TESTLIB_REQUIRE(mps_alloc(&p, t->pool, size) == MPS_RES_OK);
      b->p = p;
      b->size = size;
      b->fill = (unsigned char)testlib_rng_next(&rng);
      memset(b->p, b->fill, size);
      ++t->allocs;
    }
    if (op % STRESS_DEBUG_CHECK_EVERY == STRESS_DEBUG_CHECK_EVERY - 1) {
      mps_pool_check_fenceposts(t->pool);
      mps_pool_check_free_space(t->pool);
      ++t->checks;
    }
  }
  mps_ap_destroy(ap);
  for (i = 0; i < STRESS_DEBUG_LIVE; ++i)
    if (t->block[i].p != NULL)
      stress_debug_release(t, &t->block[i]);
  return NULL;
}

int main(int argc, char **argv)
{
  static stress_debug_thread_s thread[STRESS_DEBUG_THREADS];
  testthr_s thr[STRESS_DEBUG_THREADS];
  uint64_t seed = testlib_seed(argc, argv, "stress_debug");
  mps_arena_t arena;
  mps_pool_t pool;
  size_t i, allocs = 0, ap_allocs = 0, frees = 0, checks = 0;

  mps_lib_assert_fail_install(stress_debug_record);

  /* The class race. */
  for (i = 0; i < STRESS_DEBUG_THREADS; ++i)
    testthr_create(&thr[i], stress_debug_race, &thread[i]);
  for (i = 0; i < STRESS_DEBUG_THREADS; ++i)
    testthr_join(&thr[i]);
  for (i = 0; i < STRESS_DEBUG_THREADS; ++i)
    TESTLIB_REQUIRE(thread[i].klass == mps_class_mvff_debug());

  TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_pool_create_k(&pool, arena, mps_class_mvff_debug(), mps_args_none)
                  == MPS_RES_OK);
  for (i = 0; i < STRESS_DEBUG_THREADS; ++i) {
    thread[i].pool = pool;
    thread[i].seed = seed + 0x9E3779B97F4A7C15u * (i + 1);
    testthr_create(&thr[i], stress_debug_work, &thread[i]);
  }
  for (i = 0; i < STRESS_DEBUG_THREADS; ++i) {
    testthr_join(&thr[i]);
    allocs += thread[i].allocs;
    ap_allocs += thread[i].ap_allocs;
    frees += thread[i].frees;
    checks += thread[i].checks;
  }
  TESTLIB_REQUIRE(frees == allocs + ap_allocs);
  mps_pool_check_fenceposts(pool);
  mps_pool_check_free_space(pool);
  TESTLIB_REQUIRE(mps_pool_free_size(pool) == mps_pool_total_size(pool));
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
  TESTLIB_REQUIRE(atomic_load_explicit(&stress_debug_reports, memory_order_relaxed) == 0);
  mps_lib_assert_fail_install(NULL);
  printf("stress_debug: %u threads, %zu allocs, %zu through points, %zu frees, %zu checks, no reports\n",
         (unsigned)STRESS_DEBUG_THREADS, allocs, ap_allocs, frees, checks);
  return 0;
}
