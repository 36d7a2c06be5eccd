/* prot_posix.c: page protection with mprotect, for Linux (glibc and
 * musl), FreeBSD and macOS (see design/protix.txt and prot_os.h).
 *
 * mprotect changes protection at once, so there is nothing to
 * synchronize later.  It is a plain system call with no locks of its own,
 * so a fault hook may call it from the signal handler (POSIX does not
 * list it as async-signal-safe, but every system here implements it as a
 * bare system call).
 */
#include "../base/config.h"

#if !defined(PLATFORM_POSIX)
#error "prot_posix.c is for POSIX platforms: see src/mps.c"
#endif

#include <errno.h>
#include <sys/mman.h>

#include "prot_os.h"

Res prot_os_system(Addr base, Size size, ProtMode mode)
{
  int flags;

  if (mode & PROT_DENY_READ)
    flags = PROT_NONE;                 /* no system has write-only pages */
  else if (mode & PROT_DENY_WRITE)
    flags = PROT_READ;
  else
    flags = PROT_READ | PROT_WRITE;

  if (mprotect(addr_ptr(base), size, flags) == 0)
    return MPS_RES_OK;
  /* ENOMEM: part of the range is not mapped, or the kernel could not
   * allocate what it needs to split the mapping.  EINVAL cannot come from
   * a range prot_os_apply accepted, but is the caller's fault if it does. */
  switch (errno) {
  case ENOMEM:
    return MPS_RES_MEMORY;
  case EINVAL:
    return MPS_RES_PARAM;
  default:
    return MPS_RES_FAIL;
  }
}
