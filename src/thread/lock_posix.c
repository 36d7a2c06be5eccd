/* lock_posix.c: the operating-system layer of the lock module over POSIX
 * threads (see design/lock.txt and lock.h; lock.c does the checking).
 *
 * A default (not error-checking, not recursive) mutex is enough: lock.c
 * refuses a binary claim by the holder and counts recursive claims itself,
 * so the mutex is only ever locked by a thread that does not hold it.
 */
#if !defined(PLATFORM_POSIX) || defined(CONFIG_THREAD_SINGLE)
#error "lock_posix.c is for multi-threaded POSIX builds: see src/mps.c"
#endif

#include <pthread.h>

#include "lock.h"
#include "../base/check.h"

struct lock_os_s {
  pthread_mutex_t mutex;
};

bool lock_os_init(struct lock_os_s *os)
{
  return pthread_mutex_init(&os->mutex, NULL) == 0;
}

void lock_os_finish(struct lock_os_s *os)
{
  int err = pthread_mutex_destroy(&os->mutex);
  AVER(err == 0);
  UNUSED(err);
}

void lock_os_reset(struct lock_os_s *os)
{
  /* The static initialiser makes a usable mutex with no call that could
   * fail, which is what the fork child needs: the mutex it inherited may
   * appear locked by a thread that does not exist there. */
  pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
  os->mutex = fresh;
}

void lock_os_acquire(struct lock_os_s *os)
{
  int err = pthread_mutex_lock(&os->mutex);
  AVER(err == 0);
  UNUSED(err);
}

void lock_os_release(struct lock_os_s *os)
{
  int err = pthread_mutex_unlock(&os->mutex);
  AVER(err == 0);
  UNUSED(err);
}

static pthread_once_t lock_posix_global_once = PTHREAD_ONCE_INIT;

void lock_os_global_once(void (*init)(void))
{
  /* Its only caller is lock.c's global initialisation, so one control
   * word serves.  pthread_once also makes what `init` wrote visible to
   * every thread that returns from it. */
  int err = pthread_once(&lock_posix_global_once, init);
  AVER(err == 0);
  UNUSED(err);
}

/* Registration is serialised by a statically initialised mutex, so that a
 * second caller neither registers the handlers twice nor returns before
 * the first registration is complete. */
static pthread_mutex_t lock_posix_setup_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool lock_posix_setup_done = false;

Res lock_os_setup(void (*prepare)(void), void (*parent)(void),
                  void (*child)(void))
{
  Res res = MPS_RES_OK;
  int err = pthread_mutex_lock(&lock_posix_setup_mutex);
  AVER(err == 0);
  if (!lock_posix_setup_done) {
    if (pthread_atfork(prepare, parent, child) == 0)
      lock_posix_setup_done = true;
    else
      res = MPS_RES_RESOURCE;   /* nothing registered: may be retried */
  }
  err = pthread_mutex_unlock(&lock_posix_setup_mutex);
  AVER(err == 0);
  UNUSED(err);
  return res;
}
