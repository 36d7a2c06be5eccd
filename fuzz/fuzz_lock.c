/* fuzz_lock.c: the lock module against a model of each lock's claims.
 *
 * Each input byte is one operation: the low three bits pick a lock (four
 * client locks, then the global binary and global recursive locks), the
 * rest pick what to do.  One thread does everything, so the model of a lock
 * is how many claims this thread holds and whether the outermost is binary.
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
 * Requires a checking variety (the fuzz build is cool).
 */
#include <stdint.h>
#include <stdlib.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/thread/lock.h"

#if CHECK_LEVEL < 1
#error "fuzz_lock.c needs a checking variety: misuse is not reported in rash"
#endif

enum { FUZZ_LOCK_CLIENT = 4, FUZZ_LOCK_ALL = 6 };

struct fuzz_lock_model {
  unsigned long count;
  bool binary;
};

static int fuzz_lock_failures;

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static unsigned char storage[FUZZ_LOCK_CLIENT][256];
  Lock locks[FUZZ_LOCK_ALL] = {NULL};
  struct fuzz_lock_model model[FUZZ_LOCK_ALL] = {{0, false}};
  mps_lib_assert_fail_t old;
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
