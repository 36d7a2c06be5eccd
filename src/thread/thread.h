/* thread.h: the thread manager -- registered threads, suspending and
 * resuming them, and scanning their registers and stacks (see
 * design/thread-manager.txt, design/stack-scan.txt, design/prmc.txt and
 * manual/topic/thread.rst).
 *
 * A thread registers ITSELF with thread_register, in storage the caller
 * provides (thread_size() bytes, malloc-aligned).  Registration records an
 * identity by which another thread can suspend it and the cold end (the
 * highest address) of its stack, as the operating system reports it, so
 * that a scan covers every frame of the thread.  Stacks grow downwards on
 * every supported target.  The same thread may be registered more than
 * once (each registration is its own Thread).
 *
 * A ThreadSet is a ring of registered threads owned by whoever embeds it
 * (later, the arena).  The set has no lock of its own: its owner serialises
 * thread_set_add/remove, thread_suspend_all and thread_resume_all.
 *
 * thread_suspend_all stops every thread of the set except the caller (and
 * except other registrations of the caller), capturing each one's
 * registers.  A registered thread that has exited without deregistering is
 * a client error: suspend_all reports it through the assertion handler
 * (check_fail), marks it dead (thread_is_dead), resumes whatever it had
 * suspended and returns MPS_RES_FAIL, so nothing is suspended; the dead
 * thread should then be deregistered (any thread may do that).  Until it
 * is, later calls skip it, so that collection can limp along, and
 * thread_scan refuses it.  Suspending an exited thread never
 * waits for it.  Where the platform cannot suspend threads,
 * thread_suspend_all returns MPS_RES_UNIMPL.
 */
#ifndef thread_h
#define thread_h

#include <setjmp.h>

#include "../base/base.h"
#include "../data/ring.h"

typedef struct thread_s *Thread;
typedef struct thread_set_s *ThreadSet;

/* A set of registered threads.  Embedded by its owner; it carries a
 * signature because it crosses the module boundary. */
typedef struct thread_set_s {
  Sig sig;
  struct ring_s ring;      /* of struct thread_s, by their `node` */
  Count count;             /* threads on the ring */
  bool suspended;          /* between a successful suspend_all and resume */
} thread_set_s;

/* Bytes needed for a Thread: any malloc-aligned block of this size. */
size_t thread_size(void);

/* Register the calling thread in `thread` (thread_size() bytes).
 * MPS_RES_RESOURCE if the system cannot identify the thread or its stack;
 * nothing is then registered. */
Res thread_register(Thread thread);
/* Forget a registration that is on no set.  May be called by any thread
 * (so that a dead thread can be cleaned up), but not while it is
 * suspended. */
void thread_deregister(Thread thread);
bool thread_check(Thread thread);
/* Whether the calling thread is the thread registered in `thread`. */
bool thread_is_current(Thread thread);
/* Whether suspend_all found that the thread had exited. */
bool thread_is_dead(Thread thread);

void thread_set_init(ThreadSet set);
/* The set must be empty and not suspended. */
void thread_set_finish(ThreadSet set);
bool thread_set_check(ThreadSet set);
void thread_set_add(ThreadSet set, Thread thread);
void thread_set_remove(ThreadSet set, Thread thread);
Count thread_set_count(ThreadSet set);

Res thread_suspend_all(ThreadSet set);
void thread_resume_all(ThreadSet set);

/* What thread_scan hands its visitor. */
typedef enum thread_area_e {
  THREAD_AREA_REGISTERS,     /* the captured registers */
  THREAD_AREA_STACK,         /* the stack, from the stack pointer to the cold end */
  THREAD_AREA_SIGNAL_STACK   /* the used part of an alternate signal stack
                                (thread_fault_enter), wherever it is */
} ThreadArea;

/* The visitor of thread_scan: called on an array of words [base, limit)
 * that may hold references.  A result other than MPS_RES_OK stops the
 * scan and is returned by it. */
typedef Res (*ThreadVisit)(void *closure, Word *base, Word *limit, ThreadArea area);

/* Visit the registers and the live part of the stack of `thread`, which is
 * either the calling thread or a thread suspended by thread_suspend_all.
 * MPS_RES_FAIL, visiting nothing, for a thread found dead. */
Res thread_scan(Thread thread, ThreadVisit visit, void *closure);

/* Where the calling thread entered the MPS (design/stack-scan.txt,
 * .req.entry).  The frames the MPS pushes below the client's hold the
 * collector's own pointers, left over from whatever ran there last, so
 * a scan of the calling thread from its current frame pins objects and
 * pollutes zone summaries at random, and the heap then depends on how
 * the library was compiled.  thread_entry_save, called at the entry
 * (arena_enter), records as the hot end a word of its own frame, below
 * every frame of the entry's callers, and spills the callee-save
 * registers into `spill`: a register the client left a reference in is
 * either there or was saved by an entry frame, above the hot end.  What
 * stays scanned below the client's frames is at most the entry's own few
 * frames (the class fill and arena_enter for a buffer fill).  `hot` is
 * NULL when nothing was saved. */
typedef struct thread_entry_s {
  Word *hot;
  jmp_buf spill;
} thread_entry_s;

void thread_entry_save(thread_entry_s *entry);

/* thread_scan, except that for the calling thread, when `entry` (may be
 * NULL) holds a hot end on the thread's stack, it visits `spill` as the
 * registers and the stack from that hot end.  Otherwise, as for an entry
 * never saved or one saved on another stack (a client entering from an
 * alternate signal stack), it scans as thread_scan does.  `cold` (may be
 * NULL) is the client's cold end (a thread root's), which the caller has
 * rounded down to a word (a word straddling it is not wholly on the
 * stack): the stack visited
 * ends there if that is nearer than the cold end recorded at
 * registration, and is empty if the thread is now shallower.  In a
 * single-threaded build the recorded cold end is only an approximation
 * (thread_single.c), so the client's is used even when it is further. */
Res thread_scan_from(Thread thread, const thread_entry_s *entry, Word *cold,
                     ThreadVisit visit, void *closure);

/* Bracket the hooks a fault handler calls (protect/fault_posix.c), with
 * the handler's signal context.  A hook may wait for a lock (the write
 * barrier's), and a collection may then suspend and scan this thread while
 * it runs on an alternate signal stack, where its stack pointer says
 * nothing about the stack it faulted on.  Between these calls the thread
 * remembers that stack pointer, and a suspension scans that stack from it
 * and the used part of the alternate stack (which holds the fault's saved
 * registers).  Nested faults keep the outermost.  thread_fault_enter
 * returns what thread_fault_leave must be given.  Async-signal-safe. */
Word thread_fault_enter(void *context);
void thread_fault_leave(Word saved);
/* Add to the sigset_t at `set` the signals a fault handler must hold off
 * until thread_fault_enter, so that no suspension finds the thread on an
 * alternate stack before it has noted its stack pointer.  thread_fault_enter
 * lets them in again and thread_fault_leave holds them off once more (the
 * handler's return restores the mask the fault interrupted).  POSIX. */
void thread_fault_signals(void *set);

/* Across fork() (fork.h), with the set's owner holding the lock that
 * guards it, on the forking thread: prepare marks the caller's
 * registrations, which parent unmarks.  In the child, where every other
 * thread is gone, child gives the marked registrations the child's
 * identity of the thread and marks every other one dead, as if
 * suspend_all had found it exited, but without a report: the client did
 * nothing wrong.  The dead ones are skipped by collections and should be
 * deregistered (thread_deregister). */
void thread_set_fork_prepare(ThreadSet set);
void thread_set_fork_parent(ThreadSet set);
void thread_set_fork_child(ThreadSet set);

/* The operating-system layer, provided by exactly one of thread_posix.c,
 * thread_macos.c, thread_win32.c and thread_single.c, and used only by
 * thread.c.  Each defines `struct thread_os_s` (the identity and the
 * captured registers of one registration).  thread.c calls the suspend and
 * resume functions with the global suspension serialised by
 * thread_os_begin / thread_os_end. */
struct thread_os_s;
/* Record the calling thread; set *cold_return to the cold end of its
 * stack.  False if the system cannot. */
bool thread_os_register(struct thread_os_s *os, Word **cold_return);
void thread_os_deregister(struct thread_os_s *os);
bool thread_os_is_current(struct thread_os_s *os);
bool thread_os_same(struct thread_os_s *a, struct thread_os_s *b);
/* Whether the platform can suspend threads at all. */
bool thread_os_can_suspend(void);
void thread_os_begin(void);
void thread_os_end(void);
/* Suspend the thread and capture its registers.  False, having suspended
 * nothing, if the thread no longer exists. */
bool thread_os_suspend(struct thread_os_s *os);
/* See thread_fault_enter; a no-op where suspension does not run on the
 * suspended thread (Mach, Windows) or there is none. */
Word thread_os_fault_enter(void *context);
void thread_os_fault_leave(Word saved);
void thread_os_fault_signals(void *set);
/* In the child after fork(): `os` registered, in the parent, the thread
 * that forked, which is the calling thread here: record its identity in
 * the child.  Never called where there is no fork(). */
void thread_os_fork_child(struct thread_os_s *os);
/* Resume a thread suspended by thread_os_suspend. */
void thread_os_resume(struct thread_os_s *os);
/* Give another registration of the same thread, suspended through `from`,
 * the same captured registers. */
void thread_os_copy_context(struct thread_os_s *to, struct thread_os_s *from);
/* The captured registers as words, and the stack pointer at suspension
 * with the red zone (if the ABI has one) already subtracted; and a range
 * of an alternate signal stack to scan as well ([*alt_base_return,
 * *alt_limit_return), both NULL if none: see thread_fault_enter). */
void thread_os_context(struct thread_os_s *os, Word **base_return,
                       Word **limit_return, Word **sp_return,
                       Word **alt_base_return, Word **alt_limit_return);

#endif /* thread_h */
