/* lock_win32.c: the operating-system layer of the lock module over Win32
 * slim reader/writer locks, used in exclusive mode only (see
 * design/lock.txt and lock.h; lock.c does the checking).
 *
 * An SRW lock needs no resources: initialising it cannot fail, it needs
 * no destruction, and it has a static initialiser.  It is not recursive,
 * which does not matter because lock.c counts recursive claims itself and
 * only asks the operating system to acquire a lock the caller does not
 * hold; it must be released by the thread that acquired it, which lock.c
 * also guarantees.
 */
#if !defined(PLATFORM_WIN32) || defined(CONFIG_THREAD_SINGLE)
#error "lock_win32.c is for multi-threaded Windows builds: see src/mps.c"
#endif

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "lock.h"
#include "../base/check.h"

struct lock_os_s {
  SRWLOCK srw;
};

bool lock_os_init(struct lock_os_s *os)
{
  InitializeSRWLock(&os->srw);
  return true;
}

void lock_os_finish(struct lock_os_s *os)
{
  UNUSED(os);   /* SRW locks own no resources */
}

void lock_os_reset(struct lock_os_s *os)
{
  InitializeSRWLock(&os->srw);
}

void lock_os_acquire(struct lock_os_s *os)
{
  AcquireSRWLockExclusive(&os->srw);
}

void lock_os_release(struct lock_os_s *os)
{
  ReleaseSRWLockExclusive(&os->srw);
}

/* InitOnceExecuteOnce passes a data pointer, not a function pointer, so
 * the function travels in a structure. */
struct lock_win32_once_s {
  void (*init)(void);
};

static BOOL CALLBACK lock_win32_run_once(PINIT_ONCE once, PVOID param,
                                         PVOID *context)
{
  struct lock_win32_once_s *call = param;
  UNUSED(once);
  UNUSED(context);
  call->init();
  return TRUE;
}

static INIT_ONCE lock_win32_global_once = INIT_ONCE_STATIC_INIT;

void lock_os_global_once(void (*init)(void))
{
  /* InitOnceExecuteOnce also makes what `init` wrote visible to every
   * thread that returns from it. */
  struct lock_win32_once_s call;
  BOOL ok;
  call.init = init;
  ok = InitOnceExecuteOnce(&lock_win32_global_once, lock_win32_run_once,
                           &call, NULL);
  AVER(ok);   /* fails only if the callback does, and ours cannot */
  UNUSED(ok);
}

Res lock_os_setup(void (*prepare)(void), void (*parent)(void),
                  void (*child)(void))
{
  /* Windows has no fork(). */
  UNUSED(prepare);
  UNUSED(parent);
  UNUSED(child);
  return MPS_RES_OK;
}
