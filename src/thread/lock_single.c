/* lock_single.c: the operating-system layer of the lock module for builds
 * where the client promises a single thread (CONFIG_THREAD_SINGLE; see
 * design/lock.txt and lock.h).
 *
 * Nothing can block, so a lock is a flag saying it is held; lock.c still
 * counts claims and checks the ownership discipline as on other platforms.
 * A claim of a lock that is already held would wait for ever with real
 * threads and can only come from a second thread here, which breaks the
 * promise: it is reported.
 */
#if !defined(CONFIG_THREAD_SINGLE)
#error "lock_single.c is for CONFIG_THREAD_SINGLE builds: see src/mps.c"
#endif

#include "lock.h"
#include "../base/check.h"

struct lock_os_s {
  bool held;
};

bool lock_os_init(struct lock_os_s *os)
{
  os->held = false;
  return true;
}

void lock_os_finish(struct lock_os_s *os)
{
  AVER(!os->held);
}

void lock_os_reset(struct lock_os_s *os)
{
  os->held = false;
}

void lock_os_acquire(struct lock_os_s *os)
{
  AVER(!os->held);   /* another thread holds it: not single-threaded */
  os->held = true;
}

void lock_os_release(struct lock_os_s *os)
{
  AVER(os->held);
  os->held = false;
}

static bool lock_single_global_done = false;

void lock_os_global_once(void (*init)(void))
{
  if (!lock_single_global_done) {
    lock_single_global_done = true;
    init();
  }
}

Res lock_os_setup(void (*prepare)(void), void (*parent)(void),
                  void (*child)(void))
{
  /* Without threads there is nothing to hold across fork(). */
  UNUSED(prepare);
  UNUSED(parent);
  UNUSED(child);
  return MPS_RES_OK;
}
