/* stress_sac.c: several threads, each with its own segregated allocation
 * cache, on one pool they share (MFS, then MVFF).  Each thread allocates
 * and frees through MPS_SAC_ALLOC_FAST and MPS_SAC_FREE_FAST -- which take
 * no lock on a hit -- with sizes spread over the classes (and, on MVFF,
 * overlarge sizes that go straight to the pool), keeps a bounded set of
 * live blocks, each filled with a pattern naming the thread and the
 * block, and checks every pattern before freeing and every so often in
 * between: a block handed to two threads, or to a thread and a cache,
 * shows up as a damaged pattern.  Now and then a thread flushes its cache
 * or uses the function forms.  Each thread's cache must stay within its
 * classes' cached_count.  At the end each thread frees everything, flushes
 * and destroys its cache, and the pool must then have every byte free. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mpsavm.h"
#include "../include/mpscmfs.h"
#include "../include/mpscmvff.h"
#include "../src/pool/sac.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define STRESS_THREADS 4
#define STRESS_OPS 60000
#define STRESS_LIVE 64
#define STRESS_CLASSES 5

typedef struct stress_block_s {
  unsigned char *base;
  size_t size;
  unsigned char fill;
} stress_block_s;

typedef struct stress_thread_s {
  testthr_s thread;
  unsigned id;
  uint64_t seed;
  mps_arena_t arena;
  mps_pool_t pool;
  size_t class_count;
  const mps_sac_class_s *classes;
  size_t max_request;        /* overlarge above the largest class */
  stress_block_s live[STRESS_LIVE];
  size_t live_count;
  unsigned long flushes, pool_checks;
} stress_thread_s;

static void stress_check_block(const stress_block_s *b)
{
  size_t i;
  for (i = 0; i < b->size; ++i)
    TESTLIB_REQUIRE(b->base[i] == b->fill);
}

/* The cache's own bookkeeping: within bounds, as sac_check says, and each
 * class's count is the length of its stack. */
static void stress_check_cache(const stress_thread_s *t, mps_sac_t sac)
{
  Sac s = PARENT(sac_s, pub, sac);
  size_t i;
  TESTLIB_REQUIRE(sac_check(s));
  for (i = 0; i < t->class_count; ++i) {
    mps_addr_t block = sac->_lists[i]._head;
    size_t n = 0;
    TESTLIB_REQUIRE(sac_cached(s, i) <= t->classes[i].mps_cached_count);
    while (block != NULL) {
      ++n;
      block = *(mps_addr_t *)block;
    }
    TESTLIB_REQUIRE(n == sac_cached(s, i));
  }
}

static void stress_free(stress_thread_s *t, mps_sac_t sac, size_t which, bool fast)
{
  stress_block_s b = t->live[which];
  stress_check_block(&b);
  t->live[which] = t->live[--t->live_count];
  if (fast)
    MPS_SAC_FREE_FAST(sac, b.base, b.size);
  else
    mps_sac_free(sac, b.base, b.size);
}

static void *stress_worker(void *arg)
{
  stress_thread_s *t = arg;
  testlib_rng_s rng;
  mps_sac_t sac;
  unsigned long op;
  size_t i;

  testlib_rng_init(&rng, t->seed);
  TESTLIB_REQUIRE(mps_sac_create(&sac, t->pool, t->class_count,
                                 (mps_sac_class_s *)t->classes) == MPS_RES_OK);
  for (op = 0; op < STRESS_OPS; ++op) {
    uint64_t r = testlib_rng_below(&rng, 100);
    if (r < 52 && t->live_count < STRESS_LIVE) {
      stress_block_s *b = &t->live[t->live_count];
      mps_addr_t p = NULL;
      mps_res_t res;
      size_t size = 1 + (size_t)testlib_rng_below(&rng, t->max_request);
      if (r < 48) {
        MPS_SAC_ALLOC_FAST(res, p, sac, size, 0);
      } else {
        res = mps_sac_alloc(&p, sac, size, 0);
      }
      TESTLIB_REQUIRE(res == MPS_RES_OK);
      TESTLIB_REQUIRE(((uintptr_t)p & (MPS_PF_ALIGN - 1)) == 0);
      b->base = p;
      b->size = size;
      b->fill = (unsigned char)(t->id * 64 + (op & 63));
      memset(b->base, b->fill, size);
      ++t->live_count;
      if ((op & 1023) == 0) {
        mps_pool_t owner;   /* takes the arena lock: only now and then */
        TESTLIB_REQUIRE(mps_addr_pool(&owner, t->arena, p) && owner == t->pool);
        ++t->pool_checks;
      }
    } else if (r < 98 && t->live_count > 0) {
      stress_free(t, sac, (size_t)testlib_rng_below(&rng, t->live_count), r < 94);
    } else if (r == 98) {
      for (i = 0; i < t->live_count; ++i)
        stress_check_block(&t->live[i]);
      stress_check_cache(t, sac);
    } else if (r == 99 && testlib_rng_below(&rng, 8) == 0) {
      mps_sac_flush(sac);
      ++t->flushes;
      for (i = 0; i < t->class_count; ++i)
        TESTLIB_REQUIRE(sac_cached(PARENT(sac_s, pub, sac), i) == 0);
    }
  }
  while (t->live_count > 0)
    stress_free(t, sac, t->live_count - 1, (t->live_count & 1) != 0);
  stress_check_cache(t, sac);
  mps_sac_flush(sac);
  stress_check_cache(t, sac);
  mps_sac_destroy(sac);
  return NULL;
}

static void stress_run(const char *name, mps_arena_t arena, mps_pool_t pool,
                       const mps_sac_class_s *classes, size_t class_count,
                       size_t max_request, uint64_t seed)
{
  static stress_thread_s threads[STRESS_THREADS];
  unsigned long flushes = 0, pool_checks = 0;
  unsigned i;
  for (i = 0; i < STRESS_THREADS; ++i) {
    stress_thread_s *t = &threads[i];
    memset(t, 0, sizeof *t);
    t->id = i;
    t->seed = seed + 0x9E3779B97F4A7C15u * (i + 1);
    t->arena = arena;
    t->pool = pool;
    t->classes = classes;
    t->class_count = class_count;
    t->max_request = max_request;
    testthr_create(&t->thread, stress_worker, t);
  }
  for (i = 0; i < STRESS_THREADS; ++i) {
    testthr_join(&threads[i].thread);
    flushes += threads[i].flushes;
    pool_checks += threads[i].pool_checks;
  }
  /* Every block went back: nothing of the pool is in use. */
  TESTLIB_REQUIRE(mps_pool_free_size(pool) == mps_pool_total_size(pool));
  printf("stress_sac: %s: %u threads x %d ops, %lu flushes, %lu owner checks, "
         "pool total %lu free %lu\n", name, STRESS_THREADS, STRESS_OPS, flushes,
         pool_checks, (unsigned long)mps_pool_total_size(pool),
         (unsigned long)mps_pool_free_size(pool));
}

int main(int argc, char **argv)
{
  static const mps_sac_class_s mfs_classes[3] = {{32, 16, 4}, {64, 8, 2}, {128, 4, 1}};
  static const mps_sac_class_s mvff_classes[STRESS_CLASSES] = {
    {16, 32, 8}, {32, 16, 4}, {64, 16, 4}, {128, 8, 2}, {256, 4, 1}
  };
  uint64_t seed = testlib_seed(argc, argv, "stress_sac");
  mps_arena_t arena;
  mps_pool_t pool;

  TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none) == MPS_RES_OK);

  /* MFS: every block is one 128-byte unit, so no overlarge requests. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, (size_t)128);
    TESTLIB_REQUIRE(mps_pool_create_k(&pool, arena, mps_class_mfs(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  stress_run("MFS", arena, pool, mfs_classes, 3, 128, seed);
  mps_pool_destroy(pool);

  /* MVFF: variable sizes, and overlarge ones up to 2000 bytes. */
  TESTLIB_REQUIRE(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none) == MPS_RES_OK);
  stress_run("MVFF", arena, pool, mvff_classes, STRESS_CLASSES, 2000, seed + 1);
  mps_pool_destroy(pool);

  mps_arena_destroy(arena);
  printf("stress_sac: ok\n");
  return 0;
}
