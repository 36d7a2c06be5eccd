/* prot_os.h: the hardware protection backend (see design/prot.txt,
 * design/protix.txt and prot.h).
 *
 * One interface, two implementations chosen by src/mps.c: prot_posix.c
 * (mprotect, for Linux, FreeBSD and macOS) and prot_win32.c
 * (VirtualProtect).  Neither exists on a platform without an OS
 * (PLATFORM_ANSI), where only the recording backend of prot.h is built.
 *
 * Modes map onto the system's page protection as follows: PROT_DENY_NONE
 * gives read and write access (what vm_map gives); PROT_DENY_WRITE gives
 * read only; PROT_DENY_READ, alone or with PROT_DENY_WRITE, gives no
 * access at all, since no system offers write-only pages (prot.h allows
 * this).  Execute access is never given: the arena's memory holds data.
 *
 * Ranges are whole pages (vm_page_size) of memory mapped with vm_map.  On
 * Windows a range must also lie inside one reservation (one vm_init),
 * because VirtualProtect cannot cross reservations; an arena's segments
 * never do.
 *
 * Results.  The function table of prot.h sets protection without a
 * result, because the shield has nowhere to send one.  So the backend
 * offers prot_os_apply, which returns the result of the system call for
 * callers that can act on it, and the table's set calls it and keeps the
 * first failure, which prot_os_failure reports (MPS_RES_OK if none).  A
 * failed call leaves the protection of the range unspecified (the system
 * may have changed part of it), so the owner should treat the backend as
 * broken.
 *
 * Protection faults are reported through fault.h, not here: a backend is
 * per arena, the signal handler is per process.
 *
 * A backend may be used by one thread at a time (its arena's); the
 * system calls themselves are safe from any thread and from a fault hook.
 */
#ifndef prot_os_h
#define prot_os_h

#include "../base/base.h"
#include "../base/check.h"
#include "prot.h"

#define PROT_OS_SIG SIG_MAKE(0x110)

typedef struct prot_os_s *ProtOS;

typedef struct prot_os_s {
  struct prot_s prot;           /* the generic part, first */
  Sig sig;
  Size page_size;               /* vm_page_size() at init */
  bool set_up;                  /* prot_setup has been called */
  Res failure;                  /* first failure of a set, or MPS_RES_OK */
  Count sets;                   /* calls of set through the table */
  void (*refused)(void *closure, Addr base, Addr limit);   /* or NULL */
  void *refused_closure;
} ProtOSStruct;

/* Make `po` a backend; return its Prot.  It protects nothing yet. */
Prot prot_os_init(ProtOS po);
void prot_os_finish(ProtOS po);
bool prot_os_check(ProtOS po);

/* Deny the accesses in `mode` to [base, limit), page-aligned, base <
 * limit.  MPS_RES_PARAM for a range that is empty or not page-aligned (an
 * AVER fails first in checking varieties); MPS_RES_MEMORY if the system
 * says part of the range is not mapped (or it ran out of the memory it
 * needs to split a mapping); MPS_RES_FAIL for any other refusal. */
Res prot_os_apply(ProtOS po, Addr base, Addr limit, ProtMode mode);

/* After a set of [base, limit) through the function table that the
 * system refused, call fn(closure, base, limit), before the set returns
 * to the shield.  The shield then takes the range to be as it asked, and
 * may touch it next, though a refused call that was to give access back
 * left it protected; fn is the owner's chance to give its memory access
 * again first.  It runs where the set ran: with the arena's lock held,
 * perhaps in the fault hook. */
void prot_os_on_refusal(ProtOS po, void (*fn)(void *closure, Addr base, Addr limit),
                        void *closure);

/* The first failure of a set made through the function table. */
Res prot_os_failure(ProtOS po);
Count prot_os_sets(ProtOS po);

/* For the implementations (prot_posix.c, prot_win32.c): the system call
 * for a range prot_os_apply has checked.  Results as prot_os_apply. */
Res prot_os_system(Addr base, Size size, ProtMode mode);

#endif /* prot_os_h */
