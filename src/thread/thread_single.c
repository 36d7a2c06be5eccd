/* thread_single.c: the operating-system layer of the thread manager for
 * single-threaded builds (CONFIG_THREAD_SINGLE; see thread.h and
 * design/thread-manager.txt).  The client promises one thread, so every
 * registration is of the current thread, suspension is a no-op (there is
 * nobody else to stop) and only the current thread is ever scanned.
 * Without an operating system there is no way to ask where the stack
 * ends, so the cold end recorded is just above a local of
 * thread_os_register.  Only a scan without a cold end of the client's
 * (thread_scan) stops there, missing the frames of the function that
 * registered the thread and of its callers; a thread root's scan goes up
 * to the root's cold end instead (thread_scan_from), which is how the
 * registering function's own locals are scanned.
 */
#if !defined(CONFIG_THREAD_SINGLE)
#error "thread_single.c is for single-threaded builds: see src/mps.c"
#endif

#include "thread.h"

struct thread_os_s {
  char unused;                 /* C needs at least one member */
};

bool thread_os_register(struct thread_os_s *os, Word **cold_return)
{
  /* See the limitation above. */
  Word here = 0;
  uintptr_t above = (uintptr_t)(void *)&here + sizeof here;
  os->unused = 0;
  *cold_return = (Word *)above;
  return true;
}

void thread_os_deregister(struct thread_os_s *os)
{
  UNUSED(os);
}

bool thread_os_is_current(struct thread_os_s *os)
{
  UNUSED(os);
  return true;
}

bool thread_os_same(struct thread_os_s *a, struct thread_os_s *b)
{
  UNUSED(a);
  UNUSED(b);
  return true;
}

bool thread_os_can_suspend(void)
{
  return true;
}

void thread_os_begin(void)
{
}

void thread_os_end(void)
{
}

bool thread_os_suspend(struct thread_os_s *os)
{
  /* Never called: every registration is of the current thread. */
  UNUSED(os);
  return true;
}

void thread_os_fork_child(struct thread_os_s *os)
{
  /* One thread, the same one in the child: nothing to record. */
  UNUSED(os);
}

void thread_os_resume(struct thread_os_s *os)
{
  UNUSED(os);
}

void thread_os_copy_context(struct thread_os_s *to, struct thread_os_s *from)
{
  UNUSED(to);
  UNUSED(from);
}

void thread_os_context(struct thread_os_s *os, Word **base_return,
                       Word **limit_return, Word **sp_return,
                       Word **alt_base_return, Word **alt_limit_return)
{
  /* Never called: the current thread is scanned live. */
  UNUSED(os);
  *base_return = *limit_return = *sp_return = NULL;
  *alt_base_return = *alt_limit_return = NULL;
}

/* One thread, never suspended: nothing to remember. */
Word thread_os_fault_enter(void *context)
{
  UNUSED(context);
  return 0;
}

void thread_os_fault_leave(Word saved)
{
  UNUSED(saved);
}

void thread_os_fault_signals(void *set)
{
  UNUSED(set);
}
