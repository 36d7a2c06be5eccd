/* stress_lock.c: threads contending for locks (src/thread/lock.h).
 *
 * Several threads update a pair of plain counters that are only touched
 * with a lock held: each update increments both, and every reader inside
 * the lock must find them equal; at the end each total must be exactly the
 * number of updates.  A lost or torn update (a lock that let two threads
 * in) breaks one or the other, and ThreadSanitizer reports any access the
 * lock fails to order.  Phases: a client lock claimed binarily; the same
 * lock claimed recursively to a random depth, sometimes inside a binary
 * claim; the global binary lock; the global recursive lock.  An assertion
 * handler that aborts is installed, so any misuse the lock module reports
 * fails the run (the hot default would only print).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../include/mpslib.h"
#include "../src/thread/lock.h"
#include "support/testlib.h"
#include "support/testthr.h"

enum { THREADS = 4, ROUNDS = 20000, PHASES = 4 };

struct shared {
  Lock lock;
  long a, b;          /* equal whenever the lock is free */
};

struct worker {
  struct shared *shared;
  int phase;
  uint64_t seed;
  long updates;       /* how many update() calls this worker made */
};

/* With the lock held: check the pair and bump it. */
static void update(struct worker *w)
{
  struct shared *s = w->shared;
  ++w->updates;
  TESTLIB_REQUIRE(s->a == s->b);
  ++s->a;
  ++s->b;
  TESTLIB_REQUIRE(s->a == s->b);
}

static void *work(void *p)
{
  struct worker *w = p;
  struct shared *s = w->shared;
  testlib_rng_s rng;
  int i;
  testlib_rng_init(&rng, w->seed);
  for (i = 0; i < ROUNDS; ++i) {
    switch (w->phase) {
    case 0:
      TESTLIB_REQUIRE(!lock_is_held(s->lock));
      lock_claim(s->lock);
      TESTLIB_REQUIRE(lock_is_held(s->lock));
      update(w);
      lock_release(s->lock);
      break;
    case 1: {
      int depth = 1 + (int)testlib_rng_below(&rng, 4), d;
      bool binary = testlib_rng_below(&rng, 2) == 0;
      if (binary)
        lock_claim(s->lock);
      for (d = 0; d < depth; ++d) {
        lock_claim_recursive(s->lock);
        update(w);
      }
      for (d = 0; d < depth; ++d) {
        TESTLIB_REQUIRE(lock_is_held(s->lock));
        lock_release_recursive(s->lock);
      }
      if (binary)
        lock_release(s->lock);
      TESTLIB_REQUIRE(!lock_is_held(s->lock));
      break;
    }
    case 2:
      lock_claim_global();
      update(w);
      lock_release_global();
      break;
    default: {
      int depth = 1 + (int)testlib_rng_below(&rng, 3), d;
      for (d = 0; d < depth; ++d)
        lock_claim_global_recursive();
      update(w);
      for (d = 0; d < depth; ++d)
        lock_release_global_recursive();
      break;
    }
    }
    if ((i & 255) == 0)
      testthr_yield();
  }
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_lock");
  struct shared shared = {NULL, 0, 0};
  struct worker workers[THREADS];
  testthr_s threads[THREADS];
  long expected = 0;
  int phase, t;

  mps_lib_assert_fail_install(testlib_abort_on_report);
  shared.lock = malloc(lock_size());
  TESTLIB_REQUIRE(shared.lock != NULL);
  TESTLIB_REQUIRE(lock_init(shared.lock) == MPS_RES_OK);

  for (phase = 0; phase < PHASES; ++phase) {
    for (t = 0; t < THREADS; ++t) {
      workers[t].shared = &shared;
      workers[t].phase = phase;
      workers[t].updates = 0;
      workers[t].seed = seed + (uint64_t)(phase * THREADS + t) * 0x9E3779B97F4A7C15u;
      testthr_create(&threads[t], work, &workers[t]);
    }
    for (t = 0; t < THREADS; ++t)
      testthr_join(&threads[t]);
    /* The joins order every update before these reads. */
    TESTLIB_REQUIRE(shared.a == shared.b);
    for (t = 0; t < THREADS; ++t)
      expected += workers[t].updates;
    TESTLIB_REQUIRE(shared.a == expected);
  }

  TESTLIB_REQUIRE(!lock_is_held(shared.lock));
  lock_finish(shared.lock);
  free(shared.lock);
  printf("stress_lock: %d threads x %d rounds x %d phases, %ld updates: ok\n",
         THREADS, ROUNDS, PHASES, shared.a);
  return 0;
}
