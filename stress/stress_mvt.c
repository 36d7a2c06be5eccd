/* stress_mvt: several threads, each with its own allocation point on one
 * shared MVT pool, allocating blocks of mixed sizes (a few larger than the
 * fill size), each filled with a pattern naming its owner and serial.
 * Each thread frees most of its own blocks with mps_free and hands some to
 * a shared queue (under a spinlock), from which every thread takes blocks
 * made by others and frees them after checking their pattern.  A block's
 * pattern is checked whenever it is freed, so memory handed out twice or
 * overwritten by the pool shows up.  At the end every block is freed and
 * the pool must report all its memory free.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvt.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define THREADS 4
#define ITERATIONS 30000
#define OWN_MAX 64
#define QUEUE_MAX 128

typedef struct block_s {
  unsigned char *base;
  size_t size;
  unsigned char seed;
} block_s;

static mps_pool_t pool;
static uint64_t base_seed;

/* The hand-over queue.  The flag's acquire on lock and release on unlock
 * order each block's pattern (written before it is queued) before any
 * read by the thread that takes it. */
static testthr_spin_s queue_lock = TESTTHR_SPIN_INIT;
static block_s queue[QUEUE_MAX];
static size_t queue_count;
static atomic_size_t handed_over;   /* statistics only: relaxed */

static unsigned char pattern(const block_s *b, size_t i)
{
  return (unsigned char)(b->seed ^ (i * 13));
}

static void check_and_free(const block_s *b)
{
  size_t i;
  for (i = 0; i < b->size; i += 1 + i / 64)   /* dense at the start, sparse later */
    TESTLIB_REQUIRE(b->base[i] == pattern(b, i));
  TESTLIB_REQUIRE(b->base[b->size - 1] == pattern(b, b->size - 1));
  mps_free(pool, b->base, b->size);
}

static void *worker(void *arg)
{
  size_t id = (size_t)(uintptr_t)arg;
  testlib_rng_s rng;
  mps_ap_t ap;
  block_s own[OWN_MAX];
  size_t n = 0, iter;
  testlib_rng_init(&rng, base_seed + id * 0x9E3779B97F4A7C15u);
  TESTLIB_REQUIRE(mps_ap_create_k(&ap, pool, mps_args_none) == MPS_RES_OK);
  for (iter = 0; iter < ITERATIONS; ++iter) {
    uint64_t choice = testlib_rng_below(&rng, 100);
    if (n < OWN_MAX && (choice < 55 || n == 0)) {
      block_s *b = &own[n];
      mps_addr_t p;
      size_t size = 16 * (1 + (size_t)testlib_rng_below(&rng, 64));
      if (testlib_rng_below(&rng, 200) == 0)
        size = 16 * (1024 + (size_t)testlib_rng_below(&rng, 4096));   /* large */
      do {
        size_t i;
        TESTLIB_REQUIRE(mps_reserve(&p, ap, size) == MPS_RES_OK);
        b->base = p;
        b->size = size;
        b->seed = (unsigned char)(id * 61 + iter);
        for (i = 0; i < size; ++i)
          b->base[i] = pattern(b, i);
      } while (!mps_commit(ap, p, size));
      TESTLIB_REQUIRE((uintptr_t)p % MPS_PF_ALIGN == 0);
      ++n;
    } else if (choice < 85 || n == OWN_MAX) {
      size_t k = (size_t)testlib_rng_below(&rng, n);
      check_and_free(&own[k]);
      own[k] = own[--n];
    } else if (choice < 93) {
      size_t k = (size_t)testlib_rng_below(&rng, n);
      bool queued = false;
      testthr_spin_lock(&queue_lock);
      if (queue_count < QUEUE_MAX) {
        queue[queue_count++] = own[k];
        queued = true;
      }
      testthr_spin_unlock(&queue_lock);
      if (queued) {
        own[k] = own[--n];
        atomic_fetch_add_explicit(&handed_over, 1, memory_order_relaxed);
      }
    } else {
      block_s b;
      bool got = false;
      testthr_spin_lock(&queue_lock);
      if (queue_count > 0) {
        b = queue[--queue_count];
        got = true;
      }
      testthr_spin_unlock(&queue_lock);
      if (got)
        check_and_free(&b);
    }
  }
  while (n > 0)
    check_and_free(&own[--n]);
  mps_ap_destroy(ap);
  return NULL;
}

int main(int argc, char **argv)
{
  mps_arena_t arena;
  testthr_s threads[THREADS];
  size_t i;
  base_seed = testlib_seed(argc, argv, "stress_mvt");
  TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, (size_t)512);
    MPS_ARGS_ADD(args, MPS_KEY_MAX_SIZE, (size_t)4096);
    MPS_ARGS_ADD(args, MPS_KEY_MVT_RESERVE_DEPTH, (mps_word_t)64);
    MPS_ARGS_ADD(args, MPS_KEY_MVT_FRAG_LIMIT, 0.4);
    TESTLIB_REQUIRE(mps_pool_create_k(&pool, arena, mps_class_mvt(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  for (i = 0; i < THREADS; ++i)
    testthr_create(&threads[i], worker, (void *)(uintptr_t)i);
  for (i = 0; i < THREADS; ++i)
    testthr_join(&threads[i]);
  while (queue_count > 0)
    check_and_free(&queue[--queue_count]);
  TESTLIB_REQUIRE(mps_pool_free_size(pool) == mps_pool_total_size(pool));
  printf("stress_mvt: %d threads x %d operations, %zu blocks handed over, "
         "pool total %zu bytes at the end\n", THREADS, ITERATIONS,
         atomic_load_explicit(&handed_over, memory_order_relaxed),
         mps_pool_total_size(pool));
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
  return 0;
}
