/* fault.h: catching protection faults and handing them to the collector
 * (see design/prot.txt, design/protix.txt, design/write-barrier.txt).
 *
 * When the mutator touches memory protected through prot_os.h, the system
 * raises a fault: SIGSEGV (and SIGBUS on FreeBSD and macOS) on POSIX
 * systems, EXCEPTION_ACCESS_VIOLATION on Windows.  This module catches it,
 * asks each registered hook whether the fault is its own, and if one says
 * yes (having removed the cause, typically by unprotecting the page after
 * scanning it) lets the faulting access run again.  If none does, the
 * fault goes on to whatever handled it before this module was set up: the
 * previous signal action on POSIX systems (or the default action, which
 * ends the process), the next exception handler on Windows.  So a client's
 * own handler, a debugger, or a sanitizer still sees every fault that is
 * not the collector's.
 *
 * Process-global state.  Signals and exception handlers belong to the
 * process, so this is the one part of the protection layer that is not
 * per arena: a table of FAULT_SLOTS registrations (one per arena that
 * uses barriers) and, inside the platform file, the previous signal
 * actions.  The handler is installed by the first registration and stays
 * installed (it passes on every fault when no registration is live):
 * removing it later could throw away a handler the client installed over
 * it in the meantime.
 *
 * The hook runs inside the signal handler (or exception handler), on the
 * thread that faulted, possibly on several threads at once.  It must be
 * thread-safe, must not take a lock the faulting thread may hold, and
 * returns true only if it has made the access possible: a hook that
 * returns true without doing so makes the thread fault for ever.
 *
 * Implementations: fault.c (the registrations and the dispatch), with
 * fault_posix.c (sigaction) or fault_win32.c (a vectored exception
 * handler).
 */
#ifndef fault_h
#define fault_h

#include "../base/base.h"
#include "../base/check.h"

#define FAULT_REG_SIG SIG_MAKE(0x111)

/* How many hooks can be registered at once: arenas with the barrier in
 * one process.  A fault visits the slots in order until a hook claims it,
 * at two atomic operations a slot, so one no arena claims visits them all:
 * a few microseconds, about what delivering the signal costs.  An arena
 * that finds no slot free goes without the barrier (barrier.c), which is
 * correct but scans more. */
#define FAULT_SLOTS 64

/* `addr` is the address whose access faulted.  `is_write` says whether it
 * was a write where the platform reports that (fault_write_known); where
 * it does not, it is true, since treating a read as a write (removing all
 * protection) is safe and the converse is not. */
typedef bool (*FaultHook)(void *closure, Addr addr, bool is_write);

typedef struct fault_reg_s *FaultReg;

/* A registration, owned by its client (the arena). */
typedef struct fault_reg_s {
  Sig sig;
  Index slot;            /* which entry of the table is ours */
} FaultRegStruct;

/* Install the handler if this is the first registration, and have `hook`
 * called with `closure` for faults from now on.  MPS_RES_LIMIT if
 * FAULT_SLOTS hooks are already registered; MPS_RES_FAIL if the system
 * refused to install the handler.  On failure `reg` is untouched. */
Res fault_register(FaultReg reg, FaultHook hook, void *closure);

/* Stop calling the hook.  Waits until no thread is still inside it, so
 * once this returns the closure may be freed; so it must not be called
 * from the hook, nor while holding anything the hook waits for. */
void fault_unregister(FaultReg reg);

bool fault_reg_check(FaultReg reg);

/* Whether this platform tells writes from reads (see FaultHook).  On
 * Linux AArch64 this is true, yet a fault whose frame lacks the syndrome
 * record (under qemu's user-mode emulation, for one) is still reported as
 * a write: see fault_posix.c. */
bool fault_write_known(void);

/* For the implementations.  fault.c calls fault_install once, before the
 * first hook is registered; the platform's handler calls fault_dispatch,
 * which returns true if a hook handled the fault. */
Res fault_install(void);
bool fault_dispatch(Addr addr, bool is_write);
void fault_yield(void);

#endif /* fault_h */
