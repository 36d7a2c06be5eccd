/* stress_mvff.c: several threads sharing one MVFF pool.
 *
 * Each thread has its own allocation point on the shared pool and also
 * calls mps_alloc and mps_free on it directly.  Every block gets a pattern
 * made of the thread's number and the block's serial number; a thread
 * verifies each of its blocks before freeing it, and all blocks at the
 * end, so a block handed to two threads, or memory reused while live,
 * shows up as a broken pattern.  At the end the pool's sizes are checked
 * (all memory free once every block is freed) and the pool and arena are
 * destroyed.  One free in eight hands the block to another thread
 * instead, through a table of atomic slots, and the thread that takes it
 * out frees it: small blocks of a point's slabs are then freed by other
 * threads without the arena lock (pool_mvff.c, "Lock-free frees"), while
 * their owner refills from the same slabs.  The arena lock is what makes
 * the rest of the shared pool safe; the inline reserve/commit on each
 * thread's own point takes no lock, and neither do the frames some of
 * its reserves are made in. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvff.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define STRESS_MVFF_THREADS 4
#define STRESS_MVFF_LIVE 256
#define STRESS_MVFF_OPS 30000
#define STRESS_MVFF_SWAPS 16

typedef struct stress_mvff_block_s {
  uint32_t *p;
  size_t size;      /* bytes, a multiple of the word */
  uint32_t tag;
} stress_mvff_block_s;

typedef struct stress_mvff_thread_s {
  mps_pool_t pool;
  unsigned id;
  uint64_t seed;
  stress_mvff_block_s block[STRESS_MVFF_LIVE];
  size_t reserved, allocated, freed;
} stress_mvff_thread_s;

/* Blocks on their way to another thread; each a malloc'd copy.  The
 * exchanges (seq_cst) order the writer's pattern before the taker's
 * check, as a client's own handoff would. */
static _Atomic(stress_mvff_block_s *) stress_mvff_swap[STRESS_MVFF_SWAPS];

static void stress_mvff_write(stress_mvff_block_s *b)
{
  size_t i, n = b->size / sizeof(uint32_t);
  for (i = 0; i < n; ++i)
    b->p[i] = b->tag ^ (uint32_t)i;
}

static void stress_mvff_verify(const stress_mvff_block_s *b)
{
  size_t i, n = b->size / sizeof(uint32_t);
  for (i = 0; i < n; ++i)
    TESTLIB_REQUIRE(b->p[i] == (b->tag ^ (uint32_t)i));
}

static void *stress_mvff_thread(void *arg)
{
  stress_mvff_thread_s *t = arg;
  testlib_rng_s rng;
  mps_ap_t ap;
  uint32_t serial = 0;
  unsigned op, i;

  testlib_rng_init(&rng, t->seed);
  TESTLIB_REQUIRE(mps_ap_create_k(&ap, t->pool, mps_args_none) == MPS_RES_OK);
  for (op = 0; op < STRESS_MVFF_OPS; ++op) {
    stress_mvff_block_s *b = &t->block[testlib_rng_below(&rng, STRESS_MVFF_LIVE)];
    uint64_t r = testlib_rng_next(&rng);
    size_t size;
    mps_addr_t p;
    if (b->p != NULL) {
      stress_mvff_verify(b);
      if ((r & 7) == 0) {
        stress_mvff_block_s *mine = malloc(sizeof *mine), *theirs;
        TESTLIB_REQUIRE(mine != NULL);
        *mine = *b;
        theirs = atomic_exchange(&stress_mvff_swap[(r >> 3) % STRESS_MVFF_SWAPS], mine);
        b->p = NULL;
        if (theirs == NULL)
          continue;
        stress_mvff_verify(theirs);
        mps_free(t->pool, theirs->p, theirs->size);
        free(theirs);
      } else {
        mps_free(t->pool, b->p, b->size);
        b->p = NULL;
      }
      ++t->freed;
      continue;
    }
    size = (size_t)(8 + (r % 64) * 8);
    if ((r >> 8) % 64 == 0)
      size = (size_t)(4096 + ((r >> 16) % 8192) * 8);
    /* Reserve sizes must be aligned (the allocation point protocol). */
    size = (size + MPS_PF_ALIGN - 1) & ~(size_t)(MPS_PF_ALIGN - 1);
    b->tag = ((uint32_t)t->id << 24) ^ ++serial;
    if ((r >> 24) & 1) {
      TESTLIB_REQUIRE(mps_alloc(&p, t->pool, size) == MPS_RES_OK);
      ++t->allocated;
    } else {
      /* Now and then inside a frame, which MVFF keeps as the point's
       * depth alone, without the lock: popping it keeps the block. */
      bool framed = ((r >> 32) & 15) == 0;
      mps_frame_t frame;
      if (framed)
        TESTLIB_REQUIRE(mps_ap_frame_push(&frame, ap) == MPS_RES_OK);
      do {
        TESTLIB_REQUIRE(mps_reserve(&p, ap, size) == MPS_RES_OK);
      } while (!mps_commit(ap, p, size));
      if (framed)
        TESTLIB_REQUIRE(mps_ap_frame_pop(ap, frame) == MPS_RES_OK);
      ++t->reserved;
    }
    TESTLIB_REQUIRE(((uintptr_t)p & (MPS_PF_ALIGN - 1)) == 0);
    b->p = p;
    b->size = size;
    stress_mvff_write(b);
  }
  mps_ap_destroy(ap);
  for (i = 0; i < STRESS_MVFF_LIVE; ++i) {
    stress_mvff_block_s *b = &t->block[i];
    if (b->p == NULL)
      continue;
    stress_mvff_verify(b);
    mps_free(t->pool, b->p, b->size);
    b->p = NULL;
    ++t->freed;
  }
  return NULL;
}

int main(int argc, char **argv)
{
  static stress_mvff_thread_s threads[STRESS_MVFF_THREADS];
  testthr_s thr[STRESS_MVFF_THREADS];
  uint64_t seed = testlib_seed(argc, argv, "stress_mvff");
  mps_arena_t arena;
  mps_pool_t pool;
  size_t reserved = 0, allocated = 0, freed = 0, total;
  unsigned i;

  TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, 0.5);
    TESTLIB_REQUIRE(mps_pool_create_k(&pool, arena, mps_class_mvff(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);

  for (i = 0; i < STRESS_MVFF_THREADS; ++i) {
    threads[i].pool = pool;
    threads[i].id = i + 1;
    threads[i].seed = seed + i * 0x9E3779B97F4A7C15u;
    testthr_create(&thr[i], stress_mvff_thread, &threads[i]);
  }
  for (i = 0; i < STRESS_MVFF_THREADS; ++i) {
    testthr_join(&thr[i]);
    reserved += threads[i].reserved;
    allocated += threads[i].allocated;
    freed += threads[i].freed;
  }
  for (i = 0; i < STRESS_MVFF_SWAPS; ++i) {
    stress_mvff_block_s *left = atomic_exchange(&stress_mvff_swap[i], NULL);
    if (left != NULL) {
      stress_mvff_verify(left);
      mps_free(pool, left->p, left->size);
      free(left);
      ++freed;
    }
  }

  TESTLIB_REQUIRE(freed == reserved + allocated);
  total = mps_pool_total_size(pool);
  TESTLIB_REQUIRE(mps_pool_free_size(pool) == total);
  /* Everything free is more than the spare fraction of anything, and
   * free ranges are then whole grains: all of it went back. */
  TESTLIB_REQUIRE(total == 0);
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
  printf("stress_mvff: %u threads, %zu reserved, %zu allocated, %zu freed; pool empty at the end\n",
         STRESS_MVFF_THREADS, reserved, allocated, freed);
  return 0;
}
