/* test_lock.c: unit tests for the lock module (src/thread/lock.h).
 *
 * Misuse is detected in hot and cool alike (AVER), so the misuse tests
 * install an assertion handler that records the failure and returns, then
 * check both that it was called with the expected condition and that the
 * lock is still usable afterwards.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/thread/lock.h"
#include "support/checks.h"
#include "support/configs.h"
#include "support/reports.h"

/* Exactly one failure was recorded since the last call, and its condition
 * contains `text`. */
static void expect_failure(const char *text)
{
  const char *cond = atomic_load(&reports_last);
  cr_assert_eq(atomic_load(&reports_count), 1, "expected one failure, got %d",
               atomic_load(&reports_count));
  cr_assert_not_null(cond);
  cr_assert(strstr(cond, text) != NULL, "condition was \"%s\"", cond);
  atomic_store(&reports_count, 0);
  atomic_store(&reports_last, NULL);
}

static void expect_no_failure(void)
{
  cr_assert_eq(atomic_load(&reports_count), 0, "unexpected failure: %s",
               atomic_load(&reports_last));
}

/* A broken lock deadlocks rather than failing: give up on any test of
 * this suite after a while, so that it fails instead of hanging. */
TestSuite(lock, .timeout = 10);

static Lock new_lock(void)
{
  Lock lock = malloc(lock_size());
  cr_assert_not_null(lock);
  cr_assert_eq(lock_init(lock), MPS_RES_OK);
  cr_assert(lock_check(lock));
  return lock;
}

static void delete_lock(Lock lock)
{
  lock_finish(lock);
  free(lock);
}

Test(lock, claim_release)
{
  Lock lock = new_lock();
  reports_install();
  cr_assert_not(lock_is_held(lock));
  lock_claim(lock);
  cr_assert(lock_is_held(lock));
  cr_assert(lock_check(lock));
  lock_release(lock);
  cr_assert_not(lock_is_held(lock));
  lock_claim(lock);   /* can be claimed again */
  cr_assert(lock_is_held(lock));
  lock_release(lock);
  expect_no_failure();
  delete_lock(lock);
}

Test(lock, recursive_nesting)
{
  Lock lock = new_lock();
  int i;
  reports_install();
  for (i = 0; i < 10; ++i) {
    lock_claim_recursive(lock);
    cr_assert(lock_is_held(lock));
  }
  for (i = 0; i < 10; ++i) {
    cr_assert(lock_is_held(lock));
    lock_release_recursive(lock);
  }
  cr_assert_not(lock_is_held(lock));
  expect_no_failure();
  delete_lock(lock);
}

Test(lock, recursive_inside_binary)
{
  Lock lock = new_lock();
  reports_install();
  lock_claim(lock);
  lock_claim_recursive(lock);
  lock_claim_recursive(lock);
  lock_release_recursive(lock);
  lock_release_recursive(lock);
  cr_assert(lock_is_held(lock));
  lock_release(lock);
  cr_assert_not(lock_is_held(lock));
  expect_no_failure();
  delete_lock(lock);
}

struct probe {
  Lock lock;
  bool held;
};

static void *probe_held(void *p)
{
  struct probe *probe = p;
  probe->held = lock_is_held(probe->lock);
  return NULL;
}

static bool held_elsewhere(Lock lock)
{
  pthread_t t;
  struct probe probe = {lock, true};
  cr_assert_eq(pthread_create(&t, NULL, probe_held, &probe), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
  return probe.held;
}

Test(lock, is_held_is_per_thread)
{
  Lock lock = new_lock();
  lock_claim(lock);
  cr_assert(lock_is_held(lock));
  cr_assert_not(held_elsewhere(lock));
  lock_release(lock);
  lock_claim_recursive(lock);
  cr_assert_not(held_elsewhere(lock));
  lock_release_recursive(lock);
  delete_lock(lock);
}

Test(lock, global_locks)
{
  reports_install();
  lock_claim_global();
  lock_claim_global_recursive();   /* the order the design allows */
  lock_claim_global_recursive();
  lock_release_global_recursive();
  lock_release_global_recursive();
  lock_release_global();
  lock_claim_global();
  lock_release_global();
  expect_no_failure();
}

/* design/lock.txt .req.global.binary and .req.global.recursive: two
 * locks, so holding the recursive one is no claim on the binary one. */
Test(lock, the_global_locks_are_two_locks)
{
  reports_install();
  lock_claim_global_recursive();
  lock_claim_global();             /* not a second claim of a held lock */
  lock_release_global();
  lock_release_global_recursive();
  expect_no_failure();
}

Test(lock, global_binary_double_claim_reported, TEST_NEEDS_CHECKS)
{
  reports_install();
  lock_claim_global();
  lock_claim_global();
  expect_failure("!= self");
  lock_release_global();
  expect_no_failure();
}

/* Contention: threads add to a plain counter under the lock; any lost
 * update shows up in the total, and a thread that finds another inside
 * counts an overlap.  They start together, and now and then yield while
 * holding the lock, so that the others really do find it held. */
enum { CONTEND_THREADS = 4, CONTEND_ROUNDS = 20000 };

struct contend {
  Lock lock;       /* NULL: use the global locks */
  bool recursive;
  long counter;
  atomic_bool go;
  atomic_bool inside;
  atomic_int overlaps;
};

static void *contend_thread(void *p)
{
  struct contend *c = p;
  int i;
  while (!atomic_load(&c->go))
    sched_yield();
  for (i = 0; i < CONTEND_ROUNDS; ++i) {
    if (c->lock == NULL) {
      if (c->recursive) {
        lock_claim_global_recursive();
        lock_claim_global_recursive();
      } else {
        lock_claim_global();
      }
    } else if (c->recursive) {
      lock_claim_recursive(c->lock);
      lock_claim_recursive(c->lock);
    } else {
      lock_claim(c->lock);
    }
    if (atomic_exchange(&c->inside, true))
      atomic_fetch_add(&c->overlaps, 1);
    ++c->counter;
    if (i % 64 == 0)
      sched_yield();
    atomic_store(&c->inside, false);
    if (c->lock == NULL) {
      if (c->recursive) {
        lock_release_global_recursive();
        lock_release_global_recursive();
      } else {
        lock_release_global();
      }
    } else if (c->recursive) {
      lock_release_recursive(c->lock);
      lock_release_recursive(c->lock);
    } else {
      lock_release(c->lock);
    }
  }
  return NULL;
}

static void contend(Lock lock, bool recursive)
{
  pthread_t t[CONTEND_THREADS];
  struct contend c = {lock, recursive, 0, false, false, 0};
  int i;
  reports_install();
  for (i = 0; i < CONTEND_THREADS; ++i)
    cr_assert_eq(pthread_create(&t[i], NULL, contend_thread, &c), 0);
  atomic_store(&c.go, true);
  for (i = 0; i < CONTEND_THREADS; ++i)
    cr_assert_eq(pthread_join(t[i], NULL), 0);
  cr_assert_eq(atomic_load(&c.overlaps), 0, "threads were inside the lock together");
  cr_assert_eq(c.counter, (long)CONTEND_THREADS * CONTEND_ROUNDS);
  expect_no_failure();
}

Test(lock, contention_binary, TEST_NEEDS_THREADS)
{
  Lock lock = new_lock();
  contend(lock, false);
  delete_lock(lock);
}

Test(lock, contention_recursive, TEST_NEEDS_THREADS)
{
  Lock lock = new_lock();
  contend(lock, true);
  delete_lock(lock);
}

Test(lock, contention_global, TEST_NEEDS_THREADS)
{
  contend(NULL, false);
  contend(NULL, true);
}

/* Misuse. */

Test(lock, double_claim_reported, TEST_NEEDS_CHECKS)
{
  Lock lock = new_lock();
  reports_install();
  lock_claim(lock);
  lock_claim(lock);                 /* would deadlock: refused */
  expect_failure("!= self");
  cr_assert(lock_is_held(lock));
  lock_release(lock);               /* the first claim is intact */
  expect_no_failure();
  cr_assert_not(lock_is_held(lock));
  delete_lock(lock);
}

/* lock.h: recursive claims nest at most LOCK_CLAIM_LIMIT deep; one more
 * is reported and refused, leaving the count the releases must undo. */
Test(lock, recursive_claims_beyond_the_limit_reported, TEST_NEEDS_CHECKS)
{
  Lock lock = new_lock();
  Count i;
  reports_install();
  for (i = 0; i < LOCK_CLAIM_LIMIT; ++i)
    lock_claim_recursive(lock);
  expect_no_failure();
  lock_claim_recursive(lock);
  expect_failure("LOCK_CLAIM_LIMIT");
  for (i = 1; i < LOCK_CLAIM_LIMIT; ++i)
    lock_release_recursive(lock);
  cr_assert(lock_is_held(lock));
  lock_release_recursive(lock);     /* the last claim that was counted */
  cr_assert_not(lock_is_held(lock));
  expect_no_failure();
  delete_lock(lock);
}

Test(lock, binary_claim_inside_recursive_reported, TEST_NEEDS_CHECKS)
{
  Lock lock = new_lock();
  reports_install();
  lock_claim_recursive(lock);
  lock_claim(lock);
  expect_failure("!= self");
  lock_release_recursive(lock);
  expect_no_failure();
  cr_assert_not(lock_is_held(lock));
  delete_lock(lock);
}

Test(lock, release_unheld_reported, TEST_NEEDS_CHECKS)
{
  Lock lock = new_lock();
  reports_install();
  lock_release(lock);
  expect_failure("== lock_self()");
  lock_release_recursive(lock);
  expect_failure("== lock_self()");
  lock_claim(lock);                 /* still usable */
  lock_release(lock);
  expect_no_failure();
  delete_lock(lock);
}

static void *release_it(void *p)
{
  lock_release(p);
  return NULL;
}

static void *release_it_recursive(void *p)
{
  lock_release_recursive(p);
  return NULL;
}

Test(lock, release_from_other_thread_reported, TEST_NEEDS_CHECKS)
{
  pthread_t t;
  Lock lock = new_lock();
  reports_install();
  lock_claim(lock);
  cr_assert_eq(pthread_create(&t, NULL, release_it, lock), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
  expect_failure("== lock_self()");
  cr_assert(lock_is_held(lock));    /* the claim survived */
  lock_release(lock);
  lock_claim_recursive(lock);
  cr_assert_eq(pthread_create(&t, NULL, release_it_recursive, lock), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
  expect_failure("== lock_self()");
  cr_assert(lock_is_held(lock));
  lock_release_recursive(lock);
  expect_no_failure();
  delete_lock(lock);
}

Test(lock, mismatched_release_reported, TEST_NEEDS_CHECKS)
{
  Lock lock = new_lock();
  reports_install();
  /* A binary claim released recursively. */
  lock_claim(lock);
  lock_release_recursive(lock);
  expect_failure("binary");
  cr_assert(lock_is_held(lock));
  /* A binary release while a recursive claim is nested inside. */
  lock_claim_recursive(lock);
  lock_release(lock);
  expect_failure("binary");
  lock_release_recursive(lock);
  lock_release(lock);
  expect_no_failure();
  cr_assert_not(lock_is_held(lock));
  /* A recursive claim released binarily. */
  lock_claim_recursive(lock);
  lock_release(lock);
  expect_failure("binary");
  cr_assert(lock_is_held(lock));
  lock_release_recursive(lock);
  expect_no_failure();
  cr_assert_not(lock_is_held(lock));
  delete_lock(lock);
}

Test(lock, finish_held_reported, TEST_NEEDS_CHECKS)
{
  Lock lock = new_lock();
  reports_install();
  lock_claim(lock);
  lock_finish(lock);                /* refused: the lock stays valid */
  expect_failure("== 0");
  cr_assert(lock_check(lock));
  expect_no_failure();
  lock_release(lock);
  delete_lock(lock);
  expect_no_failure();
}

static void abort_handler(const char *file, unsigned line, const char *cond)
{
  (void)file;
  (void)line;
  (void)cond;
  abort();
}

Test(lock, finished_lock_rejected, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  Lock lock = new_lock();
  lock_finish(lock);
  mps_lib_assert_fail_install(abort_handler);
  lock_claim(lock);   /* signature cleared by finish */
}

/* A lock made in storage that held anything, even what a held lock
 * leaves there, starts free. */
Test(lock, a_lock_made_in_used_storage_starts_free)
{
  Lock lock = malloc(lock_size());
  cr_assert_not_null(lock);
  memset(lock, 1, lock_size());
  cr_assert_eq(lock_init(lock), MPS_RES_OK);
  reports_install();
  cr_assert_not(lock_is_held(lock));
  lock_claim(lock);
  cr_assert(lock_is_held(lock));
  lock_release(lock);
  expect_no_failure();
  delete_lock(lock);
}

/* Run `child` in a child process forked while the caller holds what it
 * holds; true if the child's checks passed and nothing was reported. */
static bool in_fork_child(bool (*child)(void *), void *arg)
{
  int status;
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    reports_install();
    _exit(child(arg) && atomic_load(&reports_count) == 0 ? 0 : 1);
  }
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool reset_and_claim(void *p)
{
  Lock lock = p;
  lock_reset(lock);
  if (lock_is_held(lock))
    return false;
  lock_claim(lock);
  lock_release(lock);
  lock_claim_recursive(lock);
  lock_release_recursive(lock);
  return !lock_is_held(lock);
}

/* lock.h: in the child after fork(), lock_reset makes a lock the parent
 * held fresh and free, ready to be claimed. */
Test(lock, a_lock_reset_after_fork_is_free)
{
  Lock lock = new_lock();
  reports_install();
  lock_claim(lock);
  cr_assert(in_fork_child(reset_and_claim, lock));
  lock_release(lock);
  expect_no_failure();
  delete_lock(lock);
}

static bool reset_globals_and_claim(void *p)
{
  (void)p;
  lock_global_reset();
  lock_claim_global();
  lock_release_global();
  lock_claim_global_recursive();
  lock_release_global_recursive();
  return true;
}

/* The same for the global locks, through lock_global_reset. */
Test(lock, the_global_locks_reset_after_fork_are_free)
{
  reports_install();
  lock_claim_global();
  lock_claim_global_recursive();
  cr_assert(in_fork_child(reset_globals_and_claim, NULL));
  lock_release_global_recursive();
  lock_release_global();
  expect_no_failure();
}

static void fork_hook(void)
{
}

/* Every build takes hooks for fork() (fork.c installs its own with them);
 * one with no threads has nothing to run them for. */
Test(lock, lock_at_fork_accepts_the_hooks)
{
  cr_assert_eq(lock_at_fork(fork_hook, fork_hook, fork_hook), MPS_RES_OK);
}

#if defined(CONFIG_THREAD_SINGLE) && CHECK_LEVEL >= 1
static const char *_Atomic first_condition;

static void record_first(const char *file, unsigned line, const char *cond)
{
  const char *none = NULL;
  (void)file;
  (void)line;
  atomic_compare_exchange_strong(&first_condition, &none, cond);
  atomic_fetch_add(&reports_count, 1);
}

static void *claim_it(void *p)
{
  lock_claim(p);
  return NULL;
}

/* lock_single.c: in a build that promised one thread, a lock held when
 * another thread claims it is the broken promise, and the single-threaded
 * layer says so first (a real lock would wait for ever), before lock.c
 * finds the holder's fields.  The lock is left broken, and not finished. */
Test(lock, a_second_thread_claiming_a_held_lock_is_reported)
{
  Lock lock = new_lock();
  pthread_t t;
  reports_install();
  atomic_store(&first_condition, NULL);
  mps_lib_assert_fail_install(record_first);
  lock_claim(lock);
  cr_assert_eq(pthread_create(&t, NULL, claim_it, lock), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
  cr_assert_geq(atomic_load(&reports_count), 1);
  cr_assert_not_null(atomic_load(&first_condition));
  cr_assert(strstr(atomic_load(&first_condition), "held") != NULL,
            "first report: %s", atomic_load(&first_condition));
}
#endif
