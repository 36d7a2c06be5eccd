/* thread_win32.c: the operating-system layer of the thread manager for
 * Windows (see design/thread-manager.txt, design/prmc.txt and thread.h;
 * thread.c does the bookkeeping).
 *
 * A registration holds a real handle to the thread (duplicated from the
 * pseudo-handle, with the rights to suspend it and read its context) and
 * its id.  SuspendThread only asks for the suspension; GetThreadContext
 * waits until it has happened and reads the registers.  A thread that has
 * exited has a signalled handle, which is how it is diagnosed without
 * waiting.  Suspensions across the process are serialised by a critical
 * section held from thread_os_begin to thread_os_end.  The Windows x64
 * and ARM64 ABIs have no red zone.
 */
#if !defined(PLATFORM_WIN32) || defined(CONFIG_THREAD_SINGLE)
#error "thread_win32.c is for multi-threaded Windows builds: see src/mps.c"
#endif

#include <windows.h>

#include "thread.h"
#include "../base/check.h"

#if defined(_M_X64) || defined(__x86_64__)
#define THREAD_WIN32_REGS 17           /* Rax..R15, then Rip */
#elif defined(_M_ARM64) || defined(__aarch64__)
#define THREAD_WIN32_REGS 33           /* X0..X28, Fp, Lr, Sp, Pc */
#else
#error "thread_win32.c: no context support for this architecture"
#endif

struct thread_os_s {
  HANDLE handle;
  DWORD id;
  Word *sp;                        /* stack pointer when suspended */
  Word regs[THREAD_WIN32_REGS];
};

static INIT_ONCE thread_win32_once = INIT_ONCE_STATIC_INIT;
static CRITICAL_SECTION thread_win32_cs;

static BOOL CALLBACK thread_win32_init(PINIT_ONCE once, PVOID param,
                                       PVOID *context)
{
  UNUSED(once);
  UNUSED(param);
  UNUSED(context);
  InitializeCriticalSection(&thread_win32_cs);
  return TRUE;
}

bool thread_os_register(struct thread_os_s *os, Word **cold_return)
{
  NT_TIB *tib = (NT_TIB *)NtCurrentTeb();
  if (!DuplicateHandle(GetCurrentProcess(), GetCurrentThread(),
                       GetCurrentProcess(), &os->handle,
                       THREAD_SUSPEND_RESUME | THREAD_GET_CONTEXT
                       | THREAD_QUERY_INFORMATION | SYNCHRONIZE,
                       FALSE, 0))
    return false;
  os->id = GetCurrentThreadId();
  os->sp = NULL;
  /* StackBase in the thread information block is the cold end. */
  *cold_return = (Word *)tib->StackBase;
  return true;
}

void thread_os_deregister(struct thread_os_s *os)
{
  (void)CloseHandle(os->handle);
}

bool thread_os_is_current(struct thread_os_s *os)
{
  return os->id == GetCurrentThreadId();
}

bool thread_os_same(struct thread_os_s *a, struct thread_os_s *b)
{
  return a->id == b->id;
}

bool thread_os_can_suspend(void)
{
  return true;
}

void thread_os_begin(void)
{
  (void)InitOnceExecuteOnce(&thread_win32_once, thread_win32_init, NULL,
                            NULL);
  EnterCriticalSection(&thread_win32_cs);
}

void thread_os_end(void)
{
  LeaveCriticalSection(&thread_win32_cs);
}

bool thread_os_suspend(struct thread_os_s *os)
{
  CONTEXT context;
  /* A thread that has exited has a signalled handle. */
  if (WaitForSingleObject(os->handle, 0) != WAIT_TIMEOUT)
    return false;
  if (SuspendThread(os->handle) == (DWORD)-1)
    return false;
  ZeroMemory(&context, sizeof context);
  context.ContextFlags = CONTEXT_INTEGER | CONTEXT_CONTROL;
  if (!GetThreadContext(os->handle, &context)) {
    (void)ResumeThread(os->handle);
    return false;
  }
#if defined(_M_X64) || defined(__x86_64__)
  CopyMemory(os->regs, &context.Rax, 16 * sizeof(Word));
  os->regs[16] = (Word)context.Rip;
  os->sp = (Word *)(uintptr_t)context.Rsp;
#else
  CopyMemory(os->regs, &context.X0, 29 * sizeof(Word));
  os->regs[29] = (Word)context.Fp;
  os->regs[30] = (Word)context.Lr;
  os->regs[31] = (Word)context.Sp;
  os->regs[32] = (Word)context.Pc;
  os->sp = (Word *)(uintptr_t)context.Sp;
#endif
  return true;
}

void thread_os_fork_child(struct thread_os_s *os)
{
  /* Windows has no fork(); fork.c never calls its hooks here. */
  UNUSED(os);
  NOTREACHED;
}

void thread_os_resume(struct thread_os_s *os)
{
  DWORD previous = ResumeThread(os->handle);
  AVER(previous != (DWORD)-1);
  UNUSED(previous);
}

void thread_os_copy_context(struct thread_os_s *to, struct thread_os_s *from)
{
  CopyMemory(to->regs, from->regs, sizeof to->regs);
  to->sp = from->sp;
}

void thread_os_context(struct thread_os_s *os, Word **base_return,
                       Word **limit_return, Word **sp_return,
                       Word **alt_base_return, Word **alt_limit_return)
{
  *base_return = os->regs;
  *limit_return = os->regs + THREAD_WIN32_REGS;
  *sp_return = os->sp;
  *alt_base_return = *alt_limit_return = NULL;
}

/* The suspender reads the thread's state from outside, so nothing runs
 * on the thread to note an alternate stack: that case is not handled
 * here (a fault hook waiting for a lock on an alternate stack). */
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
