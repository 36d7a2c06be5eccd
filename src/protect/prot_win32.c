/* prot_win32.c: page protection with VirtualProtect (see design/prot.txt
 * and prot_os.h).
 *
 * VirtualProtect changes protection at once.  It cannot change a range
 * that crosses from one reservation (VirtualAlloc with MEM_RESERVE) into
 * another, nor pages that are reserved but not committed: both fail, and
 * the failure is returned.
 */
#include "../base/config.h"

#if !defined(PLATFORM_WIN32)
#error "prot_win32.c is for Windows: see src/mps.c"
#endif

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "prot_os.h"

Res prot_os_system(Addr base, Size size, ProtMode mode)
{
  DWORD flags, old;

  if (mode & PROT_DENY_READ)
    flags = PAGE_NOACCESS;             /* no system has write-only pages */
  else if (mode & PROT_DENY_WRITE)
    flags = PAGE_READONLY;
  else
    flags = PAGE_READWRITE;

  if (VirtualProtect(addr_ptr(base), size, flags, &old))
    return MPS_RES_OK;
  switch (GetLastError()) {
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case ERROR_COMMITMENT_LIMIT:
    return MPS_RES_MEMORY;
  case ERROR_INVALID_ADDRESS:          /* not committed, or not reserved */
    return MPS_RES_MEMORY;
  case ERROR_INVALID_PARAMETER:
    return MPS_RES_PARAM;
  default:
    return MPS_RES_FAIL;
  }
}
