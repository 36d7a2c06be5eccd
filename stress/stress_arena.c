/* stress_arena: threads sharing one VM arena.  Each thread allocates and
 * frees grains under the arena lock (as pools do), writes its own pattern
 * into what it holds and verifies it before freeing, while another thread
 * changes the spare fraction and the commit limit through the public
 * interface and reads the statistics.  Checks: no block is ever handed to
 * two threads (patterns survive), every failure is a documented result,
 * and at the end the arena's books balance and it can be destroyed.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../src/arena/arena.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define THREADS 4
#define ROUNDS 4000
#define HELD 32

typedef struct worker_s {
  mps_arena_t arena;
  uint64_t seed;
  unsigned id;
  unsigned long allocs, refusals;
} worker_s;

static atomic_int stress_arena_done;

static void *worker(void *p)
{
  worker_s *w = p;
  testlib_rng_s rng;
  Addr held[HELD];
  Size sizes[HELD];
  unsigned char fill = (unsigned char)(0x10 + w->id);
  size_t grain = w->arena->grain_size;
  int r, i;
  for (i = 0; i < HELD; ++i)
    held[i] = NULL;
  testlib_rng_init(&rng, w->seed);
  for (r = 0; r < ROUNDS; ++r) {
    int k = (int)testlib_rng_below(&rng, HELD);
    if (held[k] != NULL) {
      unsigned char *q = addr_ptr(held[k]);
      TESTLIB_REQUIRE(q[0] == fill && q[sizes[k] - 1] == fill);
      arena_enter(w->arena);
      arena_free(w->arena, held[k], sizes[k], NULL);
      arena_leave(w->arena);
      held[k] = NULL;
    } else {
      Size n = (Size)testlib_rng_below(&rng, 8) + 1;
      Res res;
      arena_enter(w->arena);
      res = arena_alloc(&held[k], w->arena, n * grain, NULL);
      arena_leave(w->arena);
      if (res == MPS_RES_OK) {
        sizes[k] = n * grain;
        memset(addr_ptr(held[k]), fill, sizes[k]);
        ++w->allocs;
      } else {
        TESTLIB_REQUIRE(res == MPS_RES_COMMIT_LIMIT);
        held[k] = NULL;
        ++w->refusals;
      }
    }
  }
  arena_enter(w->arena);
  for (i = 0; i < HELD; ++i)
    if (held[i] != NULL)
      arena_free(w->arena, held[i], sizes[i], NULL);
  arena_leave(w->arena);
  return NULL;
}

/* Changes the limits while the workers run. */
static void *tuner(void *p)
{
  worker_s *w = p;
  testlib_rng_s rng;
  testlib_rng_init(&rng, w->seed);
  /* acquire: pairs with the release that says the workers are finished. */
  while (!atomic_load_explicit(&stress_arena_done, memory_order_acquire)) {
    size_t committed, spare, limit;
    /* One snapshot under the lock: separate public calls could straddle
     * a worker's allocation. */
    arena_enter(w->arena);
    committed = w->arena->committed;
    spare = w->arena->spare_committed;
    limit = w->arena->commit_limit;
    arena_leave(w->arena);
    TESTLIB_REQUIRE(spare <= committed);
    TESTLIB_REQUIRE(committed <= limit);
    mps_arena_spare_set(w->arena, (double)testlib_rng_below(&rng, 5) / 4.0);
    if (testlib_rng_below(&rng, 4) == 0)
      (void)mps_arena_commit_limit_set(w->arena, committed + (size_t)testlib_rng_below(&rng, 64) * 4096);
    else
      TESTLIB_REQUIRE(mps_arena_commit_limit_set(w->arena, SIZE_MAX) == MPS_RES_OK);
    testthr_yield();
  }
  TESTLIB_REQUIRE(mps_arena_commit_limit_set(w->arena, SIZE_MAX) == MPS_RES_OK);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_arena");
  mps_arena_t arena;
  testthr_s threads[THREADS + 1];
  worker_s workers[THREADS + 1];
  unsigned long allocs = 0, refusals = 0;
  size_t base_committed;
  int i;

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)2 << 20);
    TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  base_committed = mps_arena_committed(arena);
  for (i = 0; i <= THREADS; ++i) {
    workers[i].arena = arena;
    workers[i].seed = seed + (uint64_t)i * 0x9E3779B97F4A7C15u;
    workers[i].id = (unsigned)i;
    workers[i].allocs = workers[i].refusals = 0;
  }
  testthr_create(&threads[THREADS], tuner, &workers[THREADS]);
  for (i = 0; i < THREADS; ++i)
    testthr_create(&threads[i], worker, &workers[i]);
  for (i = 0; i < THREADS; ++i) {
    testthr_join(&threads[i]);
    allocs += workers[i].allocs;
    refusals += workers[i].refusals;
  }
  /* release: the workers' frees happen-before the tuner's last checks. */
  atomic_store_explicit(&stress_arena_done, 1, memory_order_release);
  testthr_join(&threads[THREADS]);

  mps_arena_spare_set(arena, 0.0);
  TESTLIB_REQUIRE(mps_arena_spare_committed(arena) == 0);
  /* Only chunk headers remain (the arena may have grown new chunks). */
  TESTLIB_REQUIRE(mps_arena_committed(arena) >= base_committed);
  arena_enter(arena);
  TESTLIB_REQUIRE(arena_check(arena));
  arena_leave(arena);
  mps_arena_destroy(arena);
  printf("stress_arena: %d threads, %lu allocations, %lu refused at the commit limit: ok\n",
         THREADS, allocs, refusals);
  return 0;
}
