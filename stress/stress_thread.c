/* stress_thread.c: threads registering and deregistering while one thread
 * repeatedly suspends, scans and resumes them (src/thread/thread.h).
 *
 * WORKERS threads each repeatedly register, join the shared set, spin for
 * a random while holding a distinctive marker in a local variable, leave
 * the set and deregister.  The collector thread repeatedly suspends the
 * set, scans every worker that is in it and requires that worker's marker
 * to be found in its registers or stack, then resumes the set.  The set
 * is shared under a lock (src/thread/lock.h), held by the collector from
 * suspend to resume, as the arena will.  An assertion handler that aborts
 * is installed, so anything the thread manager reports fails the run.
 *
 * Under ThreadSanitizer the collector does not suspend anyone: TSan
 * delivers asynchronous signals only at its own interception points (so a
 * signal-suspended thread spinning in plain code would never stop) and it
 * would report the reads of another thread's stack as races.  There the
 * collector scans only itself, and registration, the set and the lock are
 * what is exercised.  This is printed in the summary.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../include/mpslib.h"
#include "../src/thread/lock.h"
#include "../src/thread/thread.h"
#include "support/testlib.h"
#include "support/testthr.h"

#if defined(__SANITIZE_THREAD__)
#define STRESS_THREAD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_THREAD_TSAN 1
#endif
#endif
#if !defined(STRESS_THREAD_TSAN)
#define STRESS_THREAD_TSAN 0
#endif

/* Each worker makes at least ROUNDS registrations, and goes on (up to
 * ROUNDS_MAX) until the collector has stopped the world MIN_STOPS times,
 * so that a loaded machine that starves the collector still tests it. */
enum { WORKERS = 4, ROUNDS = 150, ROUNDS_MAX = 3000, MIN_STOPS = 200,
       SPIN_MAX = 200000 };

struct worker {
  Lock lock;
  ThreadSet set;
  Thread thread;        /* current registration; under the lock */
  bool in_set;          /* under the lock */
  Word marker;
  uint64_t seed;
  _Atomic int *running;
  _Atomic unsigned long *stops;   /* the collector's completed rounds */
  unsigned long spins;
};

struct collector {
  Lock lock;
  ThreadSet set;
  struct worker *workers;
  _Atomic int *running;
  _Atomic unsigned long *stops;
  Thread self;
  unsigned long suspensions, scans, found;
};

/* A visitor reads whole stacks, including the guard bytes AddressSanitizer
 * places around locals, as a conservative collector does. */
#if defined(__GNUC__) || defined(__clang__)
#define SCAN_UNCHECKED __attribute__((no_sanitize_address))
#else
#define SCAN_UNCHECKED
#endif

struct find {
  Word complement;      /* ~marker, so the search does not hold it */
  Count found;
};

SCAN_UNCHECKED
static Res visit_find(void *closure, Word *base, Word *limit, ThreadArea area)
{
  struct find *f = closure;
  Word *p;
  (void)area;
  TESTLIB_REQUIRE(base <= limit);
  for (p = base; p < limit; ++p)
    if (*p == ~f->complement)
      ++f->found;
  return MPS_RES_OK;
}

static void *work(void *p)
{
  struct worker *w = p;
  testlib_rng_s rng;
  int round;
  testlib_rng_init(&rng, w->seed);
  /* relaxed: a count read only to decide when to stop. */
  for (round = 0;
       round < ROUNDS
       || (round < ROUNDS_MAX
           && atomic_load_explicit(w->stops, memory_order_relaxed)
              < MIN_STOPS);
       ++round) {
    volatile Word held = w->marker;
    Thread t = malloc(thread_size());
    unsigned long spin, n = (unsigned long)testlib_rng_below(&rng, SPIN_MAX);
    Word acc = 0;
    TESTLIB_REQUIRE(t != NULL);
    TESTLIB_REQUIRE(thread_register(t) == MPS_RES_OK);
    lock_claim(w->lock);
    thread_set_add(w->set, t);
    w->thread = t;
    w->in_set = true;
    lock_release(w->lock);
    for (spin = 0; spin < n; ++spin)
      acc += (acc << 3) ^ spin ^ held;
    w->spins += n + (acc & 1);
    if (testlib_rng_below(&rng, 8) == 0)
      testthr_yield();
    lock_claim(w->lock);
    thread_set_remove(w->set, t);
    w->in_set = false;
    w->thread = NULL;
    lock_release(w->lock);
    TESTLIB_REQUIRE(held == w->marker);
    thread_deregister(t);
    free(t);
  }
  atomic_fetch_sub_explicit(w->running, 1, memory_order_relaxed);
  return NULL;
}

static void *collect(void *p)
{
  struct collector *c = p;
  Thread self = malloc(thread_size());
  TESTLIB_REQUIRE(self != NULL);
  TESTLIB_REQUIRE(thread_register(self) == MPS_RES_OK);
  /* relaxed: the join orders the workers' last acts before the end. */
  while (atomic_load_explicit(c->running, memory_order_relaxed) > 0) {
    int i;
    lock_claim(c->lock);
    if (!STRESS_THREAD_TSAN) {
      TESTLIB_REQUIRE(thread_suspend_all(c->set) == MPS_RES_OK);
      ++c->suspensions;
      for (i = 0; i < WORKERS; ++i) {
        struct worker *w = &c->workers[i];
        struct find f;
        if (!w->in_set)
          continue;
        f.complement = ~w->marker;
        f.found = 0;
        TESTLIB_REQUIRE(thread_scan(w->thread, visit_find, &f) == MPS_RES_OK);
        ++c->scans;
        if (f.found == 0) {
          fprintf(stderr, "marker of worker %d not found\n", i);
          abort();
        }
        c->found += f.found;
      }
      thread_resume_all(c->set);
    } else {
      struct find f;
      volatile Word mine = (Word)0x0DDC0FFEE1234567ull;
      f.complement = ~mine;
      f.found = 0;
      TESTLIB_REQUIRE(thread_scan(self, visit_find, &f) == MPS_RES_OK);
      TESTLIB_REQUIRE(f.found >= 1);
      ++c->scans;
      c->found += f.found;
    }
    lock_release(c->lock);
    /* relaxed: only a progress count for the workers' loop bound. */
    atomic_fetch_add_explicit(c->stops, 1, memory_order_relaxed);
    testthr_yield();
  }
  thread_deregister(self);
  free(self);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_thread");
  testlib_rng_s rng;
  struct worker workers[WORKERS];
  struct collector c;
  testthr_s threads[WORKERS + 1];
  thread_set_s set;
  _Atomic int running;
  _Atomic unsigned long stops;
  Lock lock = malloc(lock_size());
  int i;
  mps_lib_assert_fail_install(testlib_abort_on_report);
  testlib_rng_init(&rng, seed);
  TESTLIB_REQUIRE(lock != NULL && lock_init(lock) == MPS_RES_OK);
  thread_set_init(&set);
  atomic_init(&running, WORKERS);
  atomic_init(&stops, 0ul);
  for (i = 0; i < WORKERS; ++i) {
    workers[i].lock = lock;
    workers[i].set = &set;
    workers[i].thread = NULL;
    workers[i].in_set = false;
    workers[i].marker = (Word)testlib_rng_next(&rng) | 1;
    workers[i].seed = testlib_rng_next(&rng);
    workers[i].running = &running;
    workers[i].stops = &stops;
    workers[i].spins = 0;
  }
  c.lock = lock;
  c.set = &set;
  c.workers = workers;
  c.running = &running;
  c.stops = &stops;
  c.suspensions = c.scans = c.found = 0;
  for (i = 0; i < WORKERS; ++i)
    testthr_create(&threads[i], work, &workers[i]);
  testthr_create(&threads[WORKERS], collect, &c);
  for (i = 0; i <= WORKERS; ++i)
    testthr_join(&threads[i]);
  TESTLIB_REQUIRE(thread_set_count(&set) == 0);
  thread_set_finish(&set);
  lock_finish(lock);
  free(lock);
  printf("stress_thread: %d workers x >= %d registrations, %lu suspensions, "
         "%lu scans, markers found %lu times%s\n",
         WORKERS, ROUNDS, c.suspensions, c.scans, c.found,
         STRESS_THREAD_TSAN ? " (ThreadSanitizer: no suspension, self-scans "
                              "only)" : "");
  return 0;
}
