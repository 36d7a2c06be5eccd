/* stress_mfs: threads sharing one MFS pool through mps_alloc and mps_free
 * (every call takes the arena lock), each writing its own pattern into the
 * units it holds and checking it before freeing; a quarter of the frees
 * are of units another thread allocated, handed over through a small
 * locked exchange.  At the end every unit is free again.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmfs.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define THREADS 4
#define ROUNDS 20000
#define HELD 64
#define UNIT 48

typedef struct exchange_s {
  testthr_spin_s lock;
  unsigned char *slot[16];
} exchange_s;

typedef struct worker_s {
  mps_pool_t pool;
  exchange_s *exchange;
  uint64_t seed;
  unsigned char fill;
  unsigned long allocs, handed;
} worker_s;

static void *worker(void *p)
{
  worker_s *w = p;
  testlib_rng_s rng;
  unsigned char *held[HELD];
  int r, i;
  memset(held, 0, sizeof held);
  testlib_rng_init(&rng, w->seed);
  for (r = 0; r < ROUNDS; ++r) {
    int k = (int)testlib_rng_below(&rng, HELD);
    if (held[k] == NULL) {
      mps_addr_t q;
      TESTLIB_REQUIRE(mps_alloc(&q, w->pool, UNIT) == MPS_RES_OK);
      held[k] = q;
      memset(held[k], w->fill, UNIT);
      ++w->allocs;
    } else {
      TESTLIB_REQUIRE(held[k][0] == w->fill && held[k][UNIT - 1] == w->fill);
      if (testlib_rng_below(&rng, 4) == 0) {
        /* Swap with the exchange: free whatever another thread left. */
        int s = (int)testlib_rng_below(&rng, 16);
        unsigned char *other;
        testthr_spin_lock(&w->exchange->lock);
        other = w->exchange->slot[s];
        w->exchange->slot[s] = held[k];
        testthr_spin_unlock(&w->exchange->lock);
        if (other != NULL) {
          TESTLIB_REQUIRE(other[0] == other[UNIT - 1]);   /* a whole pattern */
          mps_free(w->pool, other, UNIT);
          ++w->handed;
        }
      } else {
        mps_free(w->pool, held[k], UNIT);
      }
      held[k] = NULL;
    }
  }
  for (i = 0; i < HELD; ++i)
    if (held[i] != NULL)
      mps_free(w->pool, held[i], UNIT);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_mfs");
  mps_arena_t arena;
  mps_pool_t pool;
  exchange_s exchange;
  testthr_s threads[THREADS];
  worker_s workers[THREADS];
  unsigned long allocs = 0, handed = 0;
  int i;

  testthr_spin_init(&exchange.lock);
  memset(exchange.slot, 0, sizeof exchange.slot);
  TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, (size_t)UNIT);
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, (size_t)8192);
    TESTLIB_REQUIRE(mps_pool_create_k(&pool, arena, mps_class_mfs(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  for (i = 0; i < THREADS; ++i) {
    workers[i].pool = pool;
    workers[i].exchange = &exchange;
    workers[i].seed = seed + (uint64_t)i * 0x9E3779B97F4A7C15u;
    workers[i].fill = (unsigned char)(0xA0 + i);
    workers[i].allocs = workers[i].handed = 0;
    testthr_create(&threads[i], worker, &workers[i]);
  }
  for (i = 0; i < THREADS; ++i) {
    testthr_join(&threads[i]);
    allocs += workers[i].allocs;
    handed += workers[i].handed;
  }
  for (i = 0; i < 16; ++i)
    if (exchange.slot[i] != NULL)
      mps_free(pool, exchange.slot[i], UNIT);
  TESTLIB_REQUIRE(mps_pool_free_size(pool) == mps_pool_total_size(pool));
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
  printf("stress_mfs: %d threads, %lu allocations, %lu freed by another thread: ok\n",
         THREADS, allocs, handed);
  return 0;
}
