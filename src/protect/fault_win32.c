/* fault_win32.c: catching protection faults with a vectored exception
 * handler (see fault.h and design/prot.txt).
 *
 * Touching a page protected with VirtualProtect raises
 * EXCEPTION_ACCESS_VIOLATION, whose record gives the kind of access
 * (ExceptionInformation[0]: 0 read, 1 write, 8 execution prevented) and
 * the address (ExceptionInformation[1]).  A vectored handler sees the
 * exception before any frame-based (__try) handler, on the faulting
 * thread; it is registered first in the vectored list so that the
 * collector's barriers are dealt with before the client's vectored
 * handlers run.
 *
 * Chaining: a fault no hook handles gets EXCEPTION_CONTINUE_SEARCH, so it
 * goes on to the next vectored handler, then the frame-based ones, then
 * the unhandled-exception filter, exactly as if we were not there.  Other
 * exceptions are never looked at.
 *
 * The handler stays registered for the life of the process (see fault.h),
 * so the handle AddVectoredExceptionHandler returns is not kept.
 */
#include "../base/config.h"

#if !defined(PLATFORM_WIN32)
#error "fault_win32.c is for Windows: see src/mps.c"
#endif

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "fault.h"

bool fault_write_known(void)
{
  return true;
}

static LONG CALLBACK fault_win32_handle(PEXCEPTION_POINTERS info)
{
  const EXCEPTION_RECORD *er = info->ExceptionRecord;
  DWORD saved_error;
  bool handled;

  if (er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION
      || er->NumberParameters < 2)
    return EXCEPTION_CONTINUE_SEARCH;
  /* The hooks may make system calls; the interrupted code must not see
   * its last-error value change. */
  saved_error = GetLastError();
  handled = fault_dispatch(addr_of_word((Word)er->ExceptionInformation[1]),
                           er->ExceptionInformation[0] == 1);
  SetLastError(saved_error);
  return handled ? EXCEPTION_CONTINUE_EXECUTION : EXCEPTION_CONTINUE_SEARCH;
}

Res fault_install(void)
{
  /* 1: first in the list of vectored handlers. */
  if (AddVectoredExceptionHandler(1, fault_win32_handle) == NULL)
    return MPS_RES_FAIL;
  return MPS_RES_OK;
}

void fault_yield(void)
{
  (void)SwitchToThread();
}
