/* fuzz_lock.c: the lock module against a model of each lock's claims.
 *
 * Each input byte is one operation: the low three bits pick a lock (four
 * client locks, then the global binary and global recursive locks), the
 * rest pick what to do.  Between operations only this thread holds locks
 * (a helper thread of the contention operations has given its claim up
 * before the operation ends), so the model of a lock is how many claims
 * this thread holds and whether the outermost is binary.
 *
 * Misuse is part of the input: a binary claim of a held lock, a release
 * of a lock not held or of the wrong kind, finishing a held lock.  An
 * assertion handler that records failures and returns is installed, and
 * after every operation the number of reported failures must be exactly
 * one for misuse and zero otherwise.  The lock module does nothing to a
 * lock when it reports misuse (it skips the OS call and leaves the counts
 * alone), so the model does not change either; anything else would leave
 * the lock and the model apart and show up at the next step.
 *
 * Operations 26 to 31 (of the 32 the top five bits give) are rarer ones:
 *   26, 27 contention: a second thread uses the lock (binarily for 26 on a
 *          client lock).  It must see lock_is_held false, and its release
 *          of a lock it does not hold must be reported.  If this thread
 *          holds the lock, the helper's claim must wait: it must not have
 *          got the lock after a pause, and gets it once this thread gives
 *          up all its claims (which are then made again, as the model
 *          has them).  Otherwise the helper claims the lock, and while it
 *          holds it this thread must see lock_is_held false and have its
 *          own release reported.
 *   28     a fork registration (fork.h) made and removed, when this thread
 *          holds neither global lock (registering claims the binary one):
 *          MPS_RES_OK, however often, and nothing reported.
 *   29     fork, with the fork handlers installed (a registration the
 *          process keeps), when this thread does not hold the
 *          global binary lock (the fork handlers claim it; the client is
 *          not to fork from inside the library).  The child must find its
 *          client locks held as the model says and both global locks made
 *          afresh (a release of either reported, then a claim of each
 *          free); the parent must find the global binary lock released
 *          again, and the child must exit with success.  At most two per
 *          input: a fork is costly.
 *   30     the nesting limit, once per process (it takes LOCK_CLAIM_LIMIT
 *          claims): on a free client lock, claims up to LOCK_CLAIM_LIMIT,
 *          one more must be reported and refused, and exactly that many
 *          releases must free the lock.
 *   31     as 27.
 * At most four operations per input start a thread.
 *
 * Requires a checking variety (the fuzz build is cool).
 */
#define _DEFAULT_SOURCE 1   /* nanosleep, fork, waitpid */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/thread/fork.h"
#include "../src/thread/lock.h"

#if CHECK_LEVEL < 1
#error "fuzz_lock.c needs a checking variety: misuse is not reported in rash"
#endif

enum { FUZZ_LOCK_CLIENT = 4, FUZZ_LOCK_ALL = 6 };

struct fuzz_lock_model {
  unsigned long count;
  bool binary;
};

/* Atomic: a helper thread commits misuse too (never at the same time as
 * this one, but the handler is the process's). */
static atomic_int fuzz_lock_failures;

static void fuzz_lock_record(const char *file, unsigned line, const char *cond)
{
  (void)file;
  (void)line;
  (void)cond;
  ++fuzz_lock_failures;
}

static void fuzz_lock_expect(bool misuse)
{
  if (fuzz_lock_failures != (misuse ? 1 : 0))
    abort();
  fuzz_lock_failures = 0;
}

/* Lock 4 is the global binary lock, which only takes binary claims;
 * lock 5 the global recursive lock, which only takes recursive ones. */
static void fuzz_lock_claim(Lock lock, int which, bool binary)
{
  if (which == 4)
    lock_claim_global();
  else if (which == 5)
    lock_claim_global_recursive();
  else if (binary)
    lock_claim(lock);
  else
    lock_claim_recursive(lock);
}

static void fuzz_lock_release(Lock lock, int which, bool binary)
{
  if (which == 4)
    lock_release_global();
  else if (which == 5)
    lock_release_global_recursive();
  else if (binary)
    lock_release(lock);
  else
    lock_release_recursive(lock);
}

/* Give up every claim the model says this thread holds, innermost
 * first; and make them again, outermost first. */
static void fuzz_lock_give_all(Lock lock, int which, const struct fuzz_lock_model *m)
{
  unsigned long k;
  for (k = m->count; k > 0; --k)
    fuzz_lock_release(lock, which, k == 1 && m->binary);
  fuzz_lock_expect(false);
}

static void fuzz_lock_take_all(Lock lock, int which, const struct fuzz_lock_model *m)
{
  unsigned long k;
  for (k = 0; k < m->count; ++k)
    fuzz_lock_claim(lock, which, k == 0 && m->binary);
  fuzz_lock_expect(false);
}

/* A second thread's view of a lock.  `state` moves 0 -> 1 (started,
 * about to claim) -> 2 (holds the lock) -> 3 (may release: only when this
 * thread did not hold it) -> 4 (released, about to exit). */
struct fuzz_lock_helper {
  Lock lock;
  int which;
  bool binary;
  bool wait_for_release;        /* hold until state 3 */
  atomic_int state;
  atomic_int bad;               /* which of the helper's checks failed */
};

static void fuzz_lock_wait_for(atomic_int *state, int at_least)
{
  while (atomic_load(state) < at_least)
    (void)sched_yield();
}

static void *fuzz_lock_helper_run(void *closure)
{
  struct fuzz_lock_helper *h = closure;
  int before;
  if (h->which < 4 && (lock_is_held(h->lock) || !lock_check(h->lock)))
    atomic_store(&h->bad, 1);
  /* Not the holder (whoever holds it): reported, and nothing changes. */
  before = atomic_load(&fuzz_lock_failures);
  fuzz_lock_release(h->lock, h->which, h->binary);
  if (atomic_load(&fuzz_lock_failures) != before + 1)
    atomic_store(&h->bad, 2);
  atomic_store(&fuzz_lock_failures, before);
  atomic_store(&h->state, 1);
  fuzz_lock_claim(h->lock, h->which, h->binary);
  /* Checked before state 2: after it, the fuzzing thread's misuse adds a
   * report of its own. */
  if (h->which < 4 && (!lock_is_held(h->lock) || !lock_check(h->lock)))
    atomic_store(&h->bad, 3);
  if (atomic_load(&fuzz_lock_failures) != before)
    atomic_store(&h->bad, 4);
  atomic_store(&h->state, 2);
  if (h->wait_for_release)
    fuzz_lock_wait_for(&h->state, 3);
  fuzz_lock_release(h->lock, h->which, h->binary);
  if (atomic_load(&fuzz_lock_failures) != before)
    atomic_store(&h->bad, 5);
  atomic_store(&h->state, 4);
  return NULL;
}

static void fuzz_lock_contend(Lock lock, int which, bool binary,
                              const struct fuzz_lock_model *m)
{
  struct fuzz_lock_helper h;
  pthread_t thread;
  h.lock = lock;
  h.which = which;
  h.binary = binary;
  h.wait_for_release = m->count == 0;
  atomic_init(&h.state, 0);
  atomic_init(&h.bad, 0);
  if (pthread_create(&thread, NULL, fuzz_lock_helper_run, &h) != 0)
    abort();
  if (m->count > 0) {
    /* The helper is about to claim a lock this thread holds: give it
     * time to get it wrongly, then let it have it. */
    struct timespec pause = {0, 200000};
    fuzz_lock_wait_for(&h.state, 1);
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
      continue;
    if (atomic_load(&h.state) != 1)
      abort();
    fuzz_lock_give_all(lock, which, m);
    if (pthread_join(thread, NULL) != 0)
      abort();
    fuzz_lock_take_all(lock, which, m);
  } else {
    fuzz_lock_wait_for(&h.state, 2);
    if (which < 4 && lock_is_held(lock))
      abort();
    fuzz_lock_release(lock, which, binary);
    fuzz_lock_expect(true);
    atomic_store(&h.state, 3);
    if (pthread_join(thread, NULL) != 0)
      abort();
  }
  if (atomic_load(&h.state) != 4 || atomic_load(&h.bad) != 0)
    abort();
  fuzz_lock_expect(false);
}

/* With coverage instrumentation, the child's counts are written only if
 * it asks: it leaves by _exit, since exit would run the fuzzer's own
 * exit handlers in a copy of the fuzzer. */
extern int __llvm_profile_write_file(void) __attribute__((weak));

/* In the child of a fork: its exit status, 0 if all is as expected. */
static int fuzz_lock_child(Lock *locks, const struct fuzz_lock_model *model)
{
  int l;
  for (l = 0; l < FUZZ_LOCK_CLIENT; ++l)
    if (lock_is_held(locks[l]) != (model[l].count > 0))
      return 1;
  atomic_store(&fuzz_lock_failures, 0);
  lock_release_global();
  lock_release_global_recursive();
  if (atomic_load(&fuzz_lock_failures) != 2)
    return 2;
  lock_claim_global();
  lock_claim_global_recursive();
  lock_release_global_recursive();
  lock_release_global();
  if (atomic_load(&fuzz_lock_failures) != 2)
    return 3;
  if (__llvm_profile_write_file != NULL)
    (void)__llvm_profile_write_file();
  return 0;
}

static void fuzz_lock_no_hook(void *closure, ForkPhase phase)
{
  (void)closure;
  (void)phase;
}

static void fuzz_lock_fork(Lock *locks, const struct fuzz_lock_model *model)
{
  static fork_reg_s kept;    /* installs the handlers, for the process */
  static bool registered = false;
  pid_t pid, r;
  int status;
  if (!registered) {
    /* Registering claims the global binary lock, which the caller
     * checked is free, but this thread may hold the recursive one. */
    if (fork_register(&kept, fuzz_lock_no_hook, NULL) != MPS_RES_OK)
      abort();
    registered = true;
  }
  fuzz_lock_expect(false);
  pid = fork();
  if (pid < 0)
    abort();
  if (pid == 0)
    _exit(fuzz_lock_child(locks, model));
  /* The fuzzer's timeout alarm interrupts the wait (its handler is not
   * SA_RESTART). */
  while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
    continue;
  if (r != pid || !WIFEXITED(status)
      || WEXITSTATUS(status) != 0)
    abort();
  /* The parent handler gave back what the prepare handler claimed. */
  lock_release_global();
  fuzz_lock_expect(true);
  if (model[5].count == 0) {
    lock_release_global_recursive();
    fuzz_lock_expect(true);
  }
}

static void fuzz_lock_limit(Lock lock)
{
  Count k;
  for (k = 0; k < LOCK_CLAIM_LIMIT; ++k)
    lock_claim_recursive(lock);
  fuzz_lock_expect(false);
  if (!lock_check(lock))
    abort();
  lock_claim_recursive(lock);
  fuzz_lock_expect(true);
  for (k = 1; k < LOCK_CLAIM_LIMIT; ++k)
    lock_release_recursive(lock);
  fuzz_lock_expect(false);
  if (!lock_is_held(lock))
    abort();
  lock_release_recursive(lock);
  fuzz_lock_expect(false);
  if (lock_is_held(lock))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static unsigned char storage[FUZZ_LOCK_CLIENT][256];
  Lock locks[FUZZ_LOCK_ALL] = {NULL};
  struct fuzz_lock_model model[FUZZ_LOCK_ALL] = {{0, false}};
  static bool limit_done = false;
  mps_lib_assert_fail_t old;
  unsigned threads = 0, forks = 0;
  size_t i;
  int l;

  if (lock_size() > sizeof storage[0])
    abort();
  old = mps_lib_assert_fail_install(fuzz_lock_record);
  fuzz_lock_failures = 0;
  for (l = 0; l < FUZZ_LOCK_CLIENT; ++l) {
    locks[l] = (Lock)(void *)storage[l];
    if (lock_init(locks[l]) != MPS_RES_OK)
      abort();
  }

  for (i = 0; i < size && i < 4096; ++i) {
    int which = data[i] & 7;
    unsigned op = data[i] >> 3;
    struct fuzz_lock_model *m;
    Lock lock;
    bool misuse, binary;
    if (which >= FUZZ_LOCK_ALL)
      which -= 2;                   /* more weight on the globals */
    m = &model[which];
    lock = locks[which];
    if (op >= 26) {
      switch (op) {
      case 28:
        if (model[4].count == 0 && model[5].count == 0) {
          fork_reg_s reg;
          if (fork_register(&reg, fuzz_lock_no_hook, NULL) != MPS_RES_OK)
            abort();
          fork_deregister(&reg);
          fuzz_lock_expect(false);
        }
        break;
      case 29:
        if (forks < 2 && model[4].count == 0) {
          ++forks;
          fuzz_lock_fork(locks, model);
        }
        break;
      case 30:
        if (!limit_done && which < 4 && m->count == 0) {
          limit_done = true;
          fuzz_lock_limit(lock);
        }
        break;
      default:
        if (threads < 4) {
          ++threads;
          binary = which == 4 || (which < 4 && op % 2 == 0);
          fuzz_lock_contend(lock, which, binary, m);
        }
        break;
      }
      continue;
    }
    binary = which == 4 || (which < 4 && op % 6 % 2 == 0);
    if (which == 5)
      binary = false;
    switch (op % 6) {
    case 0:   /* claim: binary, or recursive for op 1 */
    case 1:
      if (binary) {
        misuse = m->count > 0;      /* would wait for itself */
      } else {
        misuse = false;
        if (m->count >= 1000)       /* keep the nesting modest */
          break;
      }
      fuzz_lock_claim(lock, which, binary);
      fuzz_lock_expect(misuse);
      if (!misuse && m->count++ == 0)
        m->binary = binary;
      break;
    case 2:   /* release: binary, or recursive for op 3 */
    case 3:
      if (binary)
        misuse = !(m->count == 1 && m->binary);
      else
        misuse = m->count == 0 || (m->binary && m->count == 1);
      fuzz_lock_release(lock, which, binary);
      fuzz_lock_expect(misuse);
      if (!misuse && --m->count == 0)
        m->binary = false;
      break;
    case 4:   /* is_held and check */
      if (which < 4) {
        if (lock_is_held(lock) != (m->count > 0))
          abort();
        if (!lock_check(lock))
          abort();
      }
      fuzz_lock_expect(false);
      break;
    default:  /* finish and make afresh */
      if (which >= 4)
        break;
      misuse = m->count > 0;
      lock_finish(lock);
      fuzz_lock_expect(misuse);
      if (!misuse && lock_init(lock) != MPS_RES_OK)
        abort();
      break;
    }
  }

  /* Undo every claim the model says is held, innermost first, so the
   * global locks are free for the next input. */
  for (l = 0; l < FUZZ_LOCK_ALL; ++l) {
    struct fuzz_lock_model *m = &model[l];
    for (; m->count > 0; --m->count)
      fuzz_lock_release(locks[l], l, m->count == 1 && m->binary);
    fuzz_lock_expect(false);
    if (l < FUZZ_LOCK_CLIENT) {
      if (lock_is_held(locks[l]))
        abort();
      lock_finish(locks[l]);
      fuzz_lock_expect(false);
    }
  }
  mps_lib_assert_fail_install(old);
  return 0;
}
