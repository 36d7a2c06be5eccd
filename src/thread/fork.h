/* fork.h: carrying the library across fork() (design/thread-safety.txt,
 * "Fork safety"; its .req.fork: the child must be able to go on using
 * the MPS).
 *
 * Each arena registers here when it is made.  On POSIX, fork.c installs
 * process-wide fork handlers (pthread_atfork, through lock_at_fork) that:
 *   - before the fork, on the forking thread, claim the global binary lock,
 *     call every registration's hook with FORK_PREPARE (the arena claims
 *     its lock, so no other thread is inside it when the process is
 *     copied), and claim the global recursive lock last;
 *   - in the parent, release them all again (FORK_PARENT);
 *   - in the child, make the global locks afresh and call every hook with
 *     FORK_CHILD: the arena makes its lock afresh, and the threads it had
 *     registered, all gone in the child but the one that forked, are
 *     marked dead.
 * Lock order: global binary, then arena locks, then the global recursive
 * lock, as the library takes them anywhere else (an arena holding its lock
 * may emit events, which claim the recursive one).  So a registration is
 * made and removed by a thread holding no arena lock.
 *
 * Process-global state, like the global locks it extends: the ring of
 * registrations, which the global binary lock guards.  On Windows and in
 * single-threaded builds there is no handler to install and the hooks
 * never run.
 */
#ifndef fork_h
#define fork_h

#include "../base/base.h"
#include "../base/check.h"
#include "../data/ring.h"

#define FORK_REG_SIG SIG_MAKE(0x112)

typedef enum fork_phase_e {
  FORK_PREPARE,   /* before fork(), on the forking thread */
  FORK_PARENT,    /* after fork(), in the parent, on that thread */
  FORK_CHILD      /* after fork(), in the child, on its only thread */
} ForkPhase;

/* Called with the global binary lock held (prepare, parent) or in the
 * child with no other thread (child).  It must not claim the global locks
 * or register or deregister anything. */
typedef void (*ForkHook)(void *closure, ForkPhase phase);

/* A registration, in storage its owner provides (the arena). */
typedef struct fork_reg_s {
  Sig sig;
  struct ring_s node;    /* on the process's ring of registrations */
  ForkHook hook;
  void *closure;
} fork_reg_s;
typedef struct fork_reg_s *ForkReg;

/* Register `hook`; installs the process's handlers the first time.
 * MPS_RES_RESOURCE, with nothing registered, if the system cannot install
 * them. */
Res fork_register(ForkReg reg, ForkHook hook, void *closure);
void fork_deregister(ForkReg reg);
bool fork_reg_check(ForkReg reg);

#endif /* fork_h */
