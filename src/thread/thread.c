/* thread.c: the platform-independent half of the thread manager:
 * registrations, the set of threads, suspending and resuming the set, and
 * scanning (see design/thread-manager.txt, design/stack-scan.txt and
 * thread.h).  The operating-system layer (thread_posix.c, thread_macos.c,
 * thread_win32.c or thread_single.c) is included before this file by
 * src/mps.c, so `struct thread_os_s` is complete here.
 *
 * Invariants of a thread (thread_check cites them):
 *   thread.inv.sig       the signature is THREAD_SIG.
 *   thread.inv.cold      the cold end of the stack is a non-null,
 *                        word-aligned address.
 *   thread.inv.state     a thread is never both suspended and dead, and
 *                        only a suspended thread may be an alias.
 *   thread.inv.fork      a registration marked as the forking thread's is
 *                        neither suspended nor dead (thread_set_fork_*).
 * Invariants of a set (thread_set_check):
 *   thread.set.inv.sig   the signature is THREAD_SET_SIG.
 *   thread.set.inv.ring  the ring is consistent and holds `count` threads.
 *
 * Registering the same thread twice.  The operating system suspends a
 * thread once per request, and the signal-based suspension of POSIX can
 * only hold one suspension per thread, so suspend_all asks the system
 * only for the first registration of each thread on the ring; the later
 * ones are "aliases" that take a copy of its registers and are not
 * resumed separately.
 */
#include <setjmp.h>

#include "thread.h"
#include "../base/check.h"

#define THREAD_SIG SIG_MAKE(0x100)
#define THREAD_SET_SIG SIG_MAKE(0x101)

struct thread_s {
  Sig sig;
  struct ring_s node;          /* on a set's ring, or a singleton */
  Word *cold;                  /* cold end (highest address) of the stack */
  bool suspended;              /* by suspend_all, until resume_all */
  bool alias;                  /* suspended through an earlier registration */
  bool dead;                   /* found to have exited */
  bool forking;                /* the thread calling fork(), while it does */
  struct thread_os_s os;
};

size_t thread_size(void)
{
  return sizeof(struct thread_s);
}

bool thread_check(Thread thread)
{
  CHECKS(THREAD_SIG, thread);                         /* thread.inv.sig */
  CHECKL(thread->cold != NULL);                       /* thread.inv.cold */
  CHECKL(((Word)(uintptr_t)thread->cold & (sizeof(Word) - 1)) == 0);
  CHECKL(!(thread->suspended && thread->dead));       /* thread.inv.state */
  CHECKL(!thread->alias || thread->suspended);        /* thread.inv.state */
  CHECKL(!thread->forking || (!thread->suspended && !thread->dead));
                                                      /* thread.inv.fork */
  CHECKL(ring_check(&thread->node));
  return true;
}

Res thread_register(Thread thread)
{
  Word *cold;
  AVER(thread != NULL);
  if (!thread_os_register(&thread->os, &cold))
    return MPS_RES_RESOURCE;
  ring_init(&thread->node);
  /* Round down: a partial word at the very top cannot hold a reference. */
  thread->cold = (Word *)(void *)((uintptr_t)cold
                                  & ~(uintptr_t)(sizeof(Word) - 1));
  thread->suspended = false;
  thread->alias = false;
  thread->dead = false;
  thread->forking = false;
  thread->sig = THREAD_SIG;
  AVERT(thread, thread);
  return MPS_RES_OK;
}

void thread_deregister(Thread thread)
{
  AVERT(thread, thread);
  AVER(!thread->suspended);
  AVER(ring_is_single(&thread->node));   /* removed from its set first */
  thread->sig = SIG_INVALID;
  ring_finish(&thread->node);
  thread_os_deregister(&thread->os);
}

bool thread_is_current(Thread thread)
{
  AVERT(thread, thread);
  return thread_os_is_current(&thread->os);
}

bool thread_is_dead(Thread thread)
{
  AVERT(thread, thread);
  return thread->dead;
}

bool thread_set_check(ThreadSet set)
{
  CHECKS(THREAD_SET_SIG, set);                        /* thread.set.inv.sig */
  CHECKL(ring_check(&set->ring));                     /* thread.set.inv.ring */
  CHECKL(ring_is_single(&set->ring) == (set->count == 0));
  return true;
}

void thread_set_init(ThreadSet set)
{
  AVER(set != NULL);
  ring_init(&set->ring);
  set->count = 0;
  set->suspended = false;
  set->sig = THREAD_SET_SIG;
  AVERT(thread_set, set);
}

void thread_set_finish(ThreadSet set)
{
  AVERT(thread_set, set);
  AVER(set->count == 0);
  AVER(!set->suspended);
  set->sig = SIG_INVALID;
  ring_finish(&set->ring);
}

void thread_set_add(ThreadSet set, Thread thread)
{
  AVERT(thread_set, set);
  AVERT(thread, thread);
  AVER(ring_is_single(&thread->node));
  /* A thread joining a stopped world would be running while the others
   * are scanned. */
  AVER(!set->suspended);
  ring_append(&set->ring, &thread->node);
  ++set->count;
}

void thread_set_remove(ThreadSet set, Thread thread)
{
  AVERT(thread_set, set);
  AVERT(thread, thread);
  AVER(!ring_is_single(&thread->node));
  AVER(!set->suspended);
  AVER(set->count > 0);
  ring_remove(&thread->node);
  --set->count;
}

Count thread_set_count(ThreadSet set)
{
  AVERT(thread_set, set);
  return set->count;
}

/* The earlier registration on the ring of the same thread as `thread`
 * that was suspended through the system, or NULL.  Quadratic in the size
 * of the set, which is the number of mutator threads. */
static Thread thread_first_registration(ThreadSet set, Thread thread)
{
  Ring node, next;
  RING_FOR(node, &set->ring, next) {
    Thread other = PARENT(struct thread_s, node, node);
    if (other == thread)
      return NULL;
    if (other->suspended && !other->alias
        && thread_os_same(&other->os, &thread->os))
      return other;
  }
  return NULL;
}

/* Resume every thread that suspend_all suspended. */
static void thread_resume_ring(ThreadSet set)
{
  Ring node, next;
  RING_FOR(node, &set->ring, next) {
    Thread thread = PARENT(struct thread_s, node, node);
    if (thread->suspended && !thread->alias)
      thread_os_resume(&thread->os);
    thread->suspended = false;
    thread->alias = false;
  }
}

Res thread_suspend_all(ThreadSet set)
{
  Ring node, next;
  bool found_dead = false;
  AVERT(thread_set, set);
  AVER(!set->suspended);
  if (!thread_os_can_suspend())
    return MPS_RES_UNIMPL;
  thread_os_begin();
  RING_FOR(node, &set->ring, next) {
    Thread thread = PARENT(struct thread_s, node, node);
    Thread first;
    AVERT(thread, thread);
    if (thread->dead || thread_os_is_current(&thread->os))
      continue;
    first = thread_first_registration(set, thread);
    if (first != NULL) {
      thread_os_copy_context(&thread->os, &first->os);
      thread->alias = true;
      thread->suspended = true;
    } else if (thread_os_suspend(&thread->os)) {
      thread->suspended = true;
    } else {
      thread->dead = true;
      found_dead = true;
    }
  }
  if (found_dead) {
    /* Later registrations of a dead thread found it dead themselves: the
     * first one was not suspended, so they were not made aliases. */
    thread_resume_ring(set);
    thread_os_end();
    /* A client error (manual: a thread must be deregistered before it
     * exits); reported so that it is not silently scanned wrong. */
    check_fail(__FILE__, (unsigned)__LINE__,
               "a registered thread exited without being deregistered");
    return MPS_RES_FAIL;
  }
  set->suspended = true;
  return MPS_RES_OK;
}

void thread_set_fork_prepare(ThreadSet set)
{
  Ring node, next;
  AVERT(thread_set, set);
  AVER(!set->suspended);
  RING_FOR(node, &set->ring, next) {
    Thread thread = PARENT(struct thread_s, node, node);
    AVERT(thread, thread);
    thread->forking = !thread->dead && thread_os_is_current(&thread->os);
  }
}

void thread_set_fork_parent(ThreadSet set)
{
  Ring node, next;
  AVERT(thread_set, set);
  RING_FOR(node, &set->ring, next) {
    Thread thread = PARENT(struct thread_s, node, node);
    thread->forking = false;
  }
}

void thread_set_fork_child(ThreadSet set)
{
  Ring node, next;
  AVERT(thread_set, set);
  AVER(!set->suspended);
  RING_FOR(node, &set->ring, next) {
    Thread thread = PARENT(struct thread_s, node, node);
    if (thread->forking) {
      thread_os_fork_child(&thread->os);
      thread->forking = false;
    } else {
      thread->dead = true;
    }
  }
}

void thread_resume_all(ThreadSet set)
{
  AVERT(thread_set, set);
  AVER(set->suspended);
  thread_resume_ring(set);
  set->suspended = false;
  thread_os_end();
}

/* Where a scan of the stack stops, given the client's cold end `cold`
 * (NULL for none): the nearer of it and the cold end recorded at
 * registration, which is the stack's real top; but in a single-threaded
 * build the recorded one only approximates the top (thread_single.c), so
 * the client's rules there. */
static Word *thread_cut(Thread thread, Word *cold)
{
  if (cold == NULL)
    return thread->cold;
#if defined(CONFIG_THREAD_SINGLE)
  return cold;
#else
  return cold < thread->cold ? cold : thread->cold;
#endif
}

/* Visit the stack between the hot end `sp` and `cold` (thread_cut): none
 * of it if the thread is now shallower than the client's cold end. */
static Res thread_scan_stack(Thread thread, Word *sp, Word *cold, ThreadVisit visit,
                             void *closure)
{
  sp = (Word *)(void *)((uintptr_t)sp & ~(uintptr_t)(sizeof(Word) - 1));
#if !defined(CONFIG_THREAD_SINGLE)
  AVER(sp <= thread->cold);
#else
  UNUSED(thread);
#endif
  if (sp >= cold)
    return MPS_RES_OK;
  return visit(closure, sp, cold, THREAD_AREA_STACK);
}

/* Scan the calling thread from this frame, which lies below the caller's
 * jmp_buf holding the spilled registers.  Not inlined, so that its frame
 * really is below (stacks grow downwards). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static Res thread_scan_below(Thread thread, Word *cold, ThreadVisit visit, void *closure)
{
  volatile Word here = 0;
  return thread_scan_stack(thread, (Word *)(uintptr_t)&here, cold, visit, closure);
}

static Res thread_scan_self(Thread thread, Word *cold, ThreadVisit visit, void *closure)
{
  jmp_buf spill;
  Res res;
#if defined(__GNUC__) || defined(__clang__)
  /* Some C libraries scramble the saved frame and stack pointers in a
   * jmp_buf; this makes the compiler save every callee-saved register in
   * this frame as well. */
  __builtin_unwind_init();
#endif
  (void)setjmp(spill);
  res = thread_scan_below(thread, cold, visit, closure);
  return res;
}

/* Not inlined: `hot` must be below the frames of every caller. */
NOINLINE void thread_entry_save(thread_entry_s *entry)
{
  volatile Word here = 0;
  /* Read back through a volatile: the address outlives the frame on
   * purpose, as a position on the stack, never to be dereferenced as
   * this variable. */
  Word *volatile hot = (Word *)(uintptr_t)&here;
  AVER(entry != NULL);
  (void)setjmp(entry->spill);
  entry->hot = hot;
}

/* Scan the calling thread from its entry: not inlined, so that its own
 * frame is below the entry's hot end and the check below means the entry
 * was saved on the stack this thread runs on now. */
static NOINLINE Res thread_scan_entry(Thread thread, const thread_entry_s *entry,
                                      Word *cold, ThreadVisit visit, void *closure,
                                      bool *done_o)
{
  volatile Word here = 0;
  Word *sp = (Word *)(uintptr_t)&here;
  Res res;
  *done_o = false;
  if (entry == NULL || entry->hot == NULL || entry->hot < sp)
    return MPS_RES_OK;
#if !defined(CONFIG_THREAD_SINGLE)
  /* Above the stack's top: saved on another stack.  A single-threaded
   * build knows no top, and has one stack to run on. */
  if (entry->hot > thread->cold)
    return MPS_RES_OK;
#endif
  *done_o = true;
  res = visit(closure, (Word *)(void *)&entry->spill,
              (Word *)(void *)&entry->spill + sizeof entry->spill / (sizeof(Word)),
              THREAD_AREA_REGISTERS);
  if (res != MPS_RES_OK)
    return res;
  return thread_scan_stack(thread, entry->hot, cold, visit, closure);
}

/* thread_scan with the client's cold end `cold` (NULL for none). */
static Res thread_scan_to(Thread thread, Word *cold, ThreadVisit visit, void *closure);

Res thread_scan_from(Thread thread, const thread_entry_s *entry, Word *cold,
                     ThreadVisit visit, void *closure)
{
  AVERT(thread, thread);
  AVER(visit != NULL);
  AVER(((uintptr_t)cold & (sizeof(Word) - 1)) == 0);
  if (!thread->dead && entry != NULL && thread_os_is_current(&thread->os)) {
    bool done;
    Res res = thread_scan_entry(thread, entry, thread_cut(thread, cold), visit, closure,
                                &done);
    if (done)
      return res;
  }
  return thread_scan_to(thread, cold, visit, closure);
}

Res thread_scan(Thread thread, ThreadVisit visit, void *closure)
{
  AVERT(thread, thread);
  AVER(visit != NULL);
  return thread_scan_to(thread, NULL, visit, closure);
}

static Res thread_scan_to(Thread thread, Word *cold, ThreadVisit visit, void *closure)
{
  Word *base, *limit, *sp, *alt_base, *alt_limit;
  Res res;
  if (thread->dead)
    return MPS_RES_FAIL;
  if (thread_os_is_current(&thread->os))
    return thread_scan_self(thread, thread_cut(thread, cold), visit, closure);
  AVER(thread->suspended);
  thread_os_context(&thread->os, &base, &limit, &sp, &alt_base, &alt_limit);
  res = visit(closure, base, limit, THREAD_AREA_REGISTERS);
  if (res != MPS_RES_OK)
    return res;
  if (alt_base != NULL) {
    res = visit(closure, alt_base, alt_limit, THREAD_AREA_SIGNAL_STACK);
    if (res != MPS_RES_OK)
      return res;
  }
  return thread_scan_stack(thread, sp, thread_cut(thread, cold), visit, closure);
}

Word thread_fault_enter(void *context)
{
  return thread_os_fault_enter(context);
}

void thread_fault_leave(Word saved)
{
  thread_os_fault_leave(saved);
}

void thread_fault_signals(void *set)
{
  thread_os_fault_signals(set);
}
