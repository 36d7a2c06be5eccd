/* thread_posix.c: the operating-system layer of the thread manager for
 * Linux and FreeBSD (see design/thread-manager.txt, design/pthreadext.txt,
 * design/prmc.txt and thread.h; thread.c does the bookkeeping).
 *
 * Identity.  A registration records the kernel's id of the thread (Linux:
 * gettid; FreeBSD: thr_self) and signals it with tgkill / thr_kill, not
 * pthread_kill: a pthread_t of a thread that has been joined may name freed
 * memory, whereas the kernel id of a thread that no longer exists gives
 * ESRCH.  That is how an exited thread is diagnosed.  (The kernel may reuse
 * the id for a new thread; the handler then finds the id does not match
 * the target's and ignores the signal, but a thread reusing the id while
 * the old one is still registered cannot be told apart: registering a
 * thread that then dies is a client error.)
 *
 * Suspension protocol.  Suspensions are serialised across the process by
 * thread_posix_mutex, held from thread_os_begin to thread_os_end (one
 * suspend_all ... resume_all), so one thread at a time is the target of
 * THREAD_POSIX_SIG_SUSPEND.  Each registration has a handshake word `hs`:
 *   RUNNING   --suspender: target = os, send SUSPEND-->
 *   handler: capture registers, hs = SUSPENDED; sigsuspend until hs is
 *            RESUMING (RESUME is blocked in the handler, so a RESUME sent
 *            between the test and sigsuspend stays pending and ends it)
 *   resumer: hs = RESUMING, send RESUME; wait until hs is RUNNING
 *   handler: hs = RUNNING, return.
 * The resumer waits for RUNNING so that the handler has stopped reading
 * `hs` before the next suspension sends SUSPEND again.  The suspender
 * waits for SUSPENDED while polling that the thread still exists, so an
 * exited thread never makes it wait for ever.  The handlers save and
 * restore errno and are installed with SA_RESTART, so that the mutator's
 * system calls are disturbed as little as the system allows.
 *
 * Memory orders (each access says why too):
 *  - target: release by the suspender, acquire in the handler, so that the
 *    handler sees the registration it is told to fill in.
 *  - hs = SUSPENDED: release, paired with the suspender's acquire, so the
 *    captured registers -- and everything the thread wrote before it
 *    stopped -- are visible to the scan.
 *  - hs = RESUMING: release, paired with the handler's acquire, so that
 *    whatever the collector did while the thread was stopped happens
 *    before the thread continues.
 *  - hs = RUNNING: release/acquire, so that the handler's last read of the
 *    registration happens before the resumer lets it be reused or freed.
 */
#if !defined(PLATFORM_POSIX) || defined(CONFIG_THREAD_SINGLE) \
    || defined(__APPLE__)
#error "thread_posix.c is for multi-threaded Linux and FreeBSD builds: see src/mps.c"
#endif

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/syscall.h>
/* glibc declares this only under _GNU_SOURCE, which src/mps.c does not
 * define (it would change other interfaces for every module); glibc and
 * musl both provide it with this type. */
extern int pthread_getattr_np(pthread_t thread, pthread_attr_t *attr);
#elif defined(__FreeBSD__)
#include <pthread_np.h>
#include <sys/thr.h>
#else
#error "thread_posix.c: only Linux and FreeBSD are supported"
#endif

#include "thread.h"
#include "../base/check.h"

/* The two signals are the client's to choose at build time
 * (manual/topic/thread.rst: a program that masks or handles SIGXCPU or
 * SIGXFSZ defines CONFIG_PTHREADEXT_SIGSUSPEND / _SIGRESUME).  They are
 * used only at run time, so a definition need not be a constant
 * expression (SIGRTMIN + 1 will do). */
#ifdef CONFIG_PTHREADEXT_SIGSUSPEND
#define THREAD_POSIX_SIG_SUSPEND (CONFIG_PTHREADEXT_SIGSUSPEND)
#else
#define THREAD_POSIX_SIG_SUSPEND SIGXCPU
#endif
#ifdef CONFIG_PTHREADEXT_SIGRESUME
#define THREAD_POSIX_SIG_RESUME (CONFIG_PTHREADEXT_SIGRESUME)
#else
#define THREAD_POSIX_SIG_RESUME SIGXFSZ
#endif

enum {
  THREAD_POSIX_RUNNING = 0,
  THREAD_POSIX_SUSPENDED = 1,
  THREAD_POSIX_RESUMING = 2
};

/* The general registers, and the stack pointer's place among them, of
 * each supported architecture's machine context. */
#if defined(__linux__) && defined(__x86_64__)
/* gregs[] (the stack pointer is entry 15, REG_RSP, whose name glibc shows
 * only under _GNU_SOURCE); the x86-64 SysV red zone is 128 bytes. */
#define THREAD_POSIX_REGS 23
#define THREAD_POSIX_RED_ZONE 128
typedef long thread_posix_kid;
#elif defined(__linux__) && defined(__aarch64__)
/* x0-x30, sp, pc; no red zone. */
#define THREAD_POSIX_REGS 33
#define THREAD_POSIX_RED_ZONE 0
typedef long thread_posix_kid;
#elif defined(__FreeBSD__) && defined(__x86_64__)
#define THREAD_POSIX_REGS ((Count)(sizeof(mcontext_t) / sizeof(Word)))
#define THREAD_POSIX_RED_ZONE 128
typedef long thread_posix_kid;
#elif defined(__FreeBSD__) && defined(__aarch64__)
/* x0-x29, lr, sp, elr (struct gpregs, as words); no red zone. */
#define THREAD_POSIX_REGS 34
#define THREAD_POSIX_RED_ZONE 0
typedef long thread_posix_kid;
#else
#error "thread_posix.c: no machine-context support for this architecture"
#endif

struct thread_os_s {
  thread_posix_kid kid;         /* kernel thread id */
  _Atomic(int) hs;              /* handshake state, see above */
  Word *sp;                     /* stack pointer when suspended */
  Word regs[THREAD_POSIX_REGS]; /* general registers when suspended */
  Word *alt_base, *alt_limit;   /* alternate stack in use, or NULL */
};

/* The stack pointer of the context a fault handler on this thread
 * interrupted, between thread_os_fault_enter and _leave; else 0.  Only
 * this thread reads or writes it, from its signal handlers, so it needs
 * no atomics; initial-exec so that reaching it in a signal handler never
 * allocates. */
#if defined(__GNUC__) || defined(__clang__)
static _Thread_local Word thread_posix_fault_sp __attribute__((tls_model("initial-exec")));
#else
static _Thread_local Word thread_posix_fault_sp;
#endif

static pthread_mutex_t thread_posix_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t thread_posix_once = PTHREAD_ONCE_INIT;
static bool thread_posix_installed = false;   /* written inside once */
static sigset_t thread_posix_wait_mask;       /* written inside once */
static _Atomic(struct thread_os_s *) thread_posix_target;

static thread_posix_kid thread_posix_self(void)
{
#if defined(__linux__)
  return (thread_posix_kid)syscall(SYS_gettid);
#else
  long id;
  (void)thr_self(&id);
  return id;
#endif
}

/* Send `sig` (0: only test existence).  False if the thread is gone. */
static bool thread_posix_kill(thread_posix_kid kid, int sig)
{
#if defined(__linux__)
  return syscall(SYS_tgkill, (long)getpid(), (long)kid, (long)sig) == 0
         || errno != ESRCH;
#else
  return thr_kill(kid, sig) == 0 || errno != ESRCH;
#endif
}

/* The stack pointer of a signal context. */
static Word thread_posix_context_sp(void *context)
{
  ucontext_t *uc = context;
#if defined(__linux__) && defined(__x86_64__)
  return (Word)uc->uc_mcontext.gregs[15];
#elif defined(__linux__) && defined(__aarch64__)
  return (Word)uc->uc_mcontext.sp;
#elif defined(__FreeBSD__) && defined(__x86_64__)
  return (Word)uc->uc_mcontext.mc_rsp;
#elif defined(__FreeBSD__) && defined(__aarch64__)
  return (Word)uc->uc_mcontext.mc_gpregs.gp_sp;
#endif
}

/* Copy the registers and the stack pointer out of a signal context.  If
 * this thread is inside a fault handler running on an alternate signal
 * stack (thread_fault_enter), the stack to scan is the one it faulted on,
 * from the stack pointer it had then, and the alternate stack from here
 * up, which holds the fault's saved registers and the handler's frames. */
static void thread_posix_capture(struct thread_os_s *os, void *context)
{
  ucontext_t *uc = context;
  Word sp = thread_posix_context_sp(context);
  Word fault_sp = thread_posix_fault_sp;
#if defined(__linux__) && defined(__x86_64__)
  Count i;
  for (i = 0; i < THREAD_POSIX_REGS; ++i)
    os->regs[i] = (Word)uc->uc_mcontext.gregs[i];
#elif defined(__linux__) && defined(__aarch64__)
  Count i;
  for (i = 0; i < 31; ++i)
    os->regs[i] = (Word)uc->uc_mcontext.regs[i];
  os->regs[31] = (Word)uc->uc_mcontext.sp;
  os->regs[32] = (Word)uc->uc_mcontext.pc;
#elif defined(__FreeBSD__) && defined(__x86_64__)
  memcpy(os->regs, &uc->uc_mcontext, sizeof os->regs);
#elif defined(__FreeBSD__) && defined(__aarch64__)
  memcpy(os->regs, &uc->uc_mcontext.mc_gpregs,
         size_min(sizeof os->regs, sizeof uc->uc_mcontext.mc_gpregs));
#endif
  os->alt_base = os->alt_limit = NULL;
  if (fault_sp != 0) {
    stack_t alt;
    if (sigaltstack(NULL, &alt) == 0 && (alt.ss_flags & SS_ONSTACK) != 0) {
      Word alt_lo = (Word)(uintptr_t)alt.ss_sp, alt_hi = alt_lo + (Word)alt.ss_size;
      if (alt_lo <= sp && sp < alt_hi) {
        os->alt_base = (Word *)(uintptr_t)(sp - THREAD_POSIX_RED_ZONE);
        if ((Word)(uintptr_t)os->alt_base < alt_lo)
          os->alt_base = (Word *)(uintptr_t)alt_lo;
        os->alt_limit = (Word *)(uintptr_t)alt_hi;
        sp = fault_sp;
      }
    }
  }
  os->sp = (Word *)(uintptr_t)(sp - THREAD_POSIX_RED_ZONE);
}

/* The fault handler runs with the suspend signal held off (its sa_mask,
 * thread_os_fault_signals) until the stack pointer is noted, and holds it
 * off again from before it is forgotten until the handler returns, which
 * restores the interrupted mask: a suspension never finds the thread on an
 * alternate stack without it. */
Word thread_os_fault_enter(void *context)
{
  Word saved = thread_posix_fault_sp;
  sigset_t suspend;
  if (saved == 0 && context != NULL)
    thread_posix_fault_sp = thread_posix_context_sp(context);
  sigemptyset(&suspend);
  sigaddset(&suspend, THREAD_POSIX_SIG_SUSPEND);
  (void)pthread_sigmask(SIG_UNBLOCK, &suspend, NULL);
  return saved;
}

void thread_os_fault_leave(Word saved)
{
  sigset_t suspend;
  sigemptyset(&suspend);
  sigaddset(&suspend, THREAD_POSIX_SIG_SUSPEND);
  (void)pthread_sigmask(SIG_BLOCK, &suspend, NULL);
  thread_posix_fault_sp = saved;
}

void thread_os_fault_signals(void *set)
{
  sigaddset((sigset_t *)set, THREAD_POSIX_SIG_SUSPEND);
}

static void thread_posix_suspend_handler(int sig, siginfo_t *info,
                                         void *context)
{
  int saved_errno = errno;
  /* acquire: see "Memory orders" (the registration to fill in). */
  struct thread_os_s *os =
    atomic_load_explicit(&thread_posix_target, memory_order_acquire);
  UNUSED(sig);
  UNUSED(info);
  /* A stray signal, or one meant for a thread whose id this one reuses. */
  if (os == NULL || os->kid != thread_posix_self()) {
    errno = saved_errno;
    return;
  }
  thread_posix_capture(os, context);
  /* release: publishes the registers to the suspender. */
  atomic_store_explicit(&os->hs, THREAD_POSIX_SUSPENDED, memory_order_release);
  /* acquire: the collector's work happens before we continue. */
  while (atomic_load_explicit(&os->hs, memory_order_acquire)
         != THREAD_POSIX_RESUMING)
    sigsuspend(&thread_posix_wait_mask);
  /* release: our last access to `os` is before the resumer moves on. */
  atomic_store_explicit(&os->hs, THREAD_POSIX_RUNNING, memory_order_release);
  errno = saved_errno;
}

static void thread_posix_resume_handler(int sig)
{
  /* Only interrupts sigsuspend in the suspend handler. */
  UNUSED(sig);
}

static void thread_posix_install(void)
{
  struct sigaction sa;
  /* The protocol needs two signals (RESUME stays pending while the
   * SUSPEND handler runs): with one, registration fails rather than the
   * first collection hanging. */
  if (THREAD_POSIX_SIG_SUSPEND == THREAD_POSIX_SIG_RESUME)
    return;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = thread_posix_suspend_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  /* RESUME must stay pending until the handler waits in sigsuspend. */
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, THREAD_POSIX_SIG_RESUME);
  if (sigaction(THREAD_POSIX_SIG_SUSPEND, &sa, NULL) != 0)
    return;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = thread_posix_resume_handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(THREAD_POSIX_SIG_RESUME, &sa, NULL) != 0)
    return;
  /* While suspended, the thread takes only the resume signal. */
  sigfillset(&thread_posix_wait_mask);
  sigdelset(&thread_posix_wait_mask, THREAD_POSIX_SIG_RESUME);
  thread_posix_installed = true;
}

/* The cold end of the calling thread's stack: its highest address. */
static bool thread_posix_stack_top(Word **cold_return)
{
  pthread_attr_t attr;
  void *addr;
  size_t size;
  bool ok;
#if defined(__linux__)
  if (pthread_getattr_np(pthread_self(), &attr) != 0)
    return false;
#else
  if (pthread_attr_init(&attr) != 0)
    return false;
  if (pthread_attr_get_np(pthread_self(), &attr) != 0) {
    (void)pthread_attr_destroy(&attr);
    return false;
  }
#endif
  ok = pthread_attr_getstack(&attr, &addr, &size) == 0;
  (void)pthread_attr_destroy(&attr);
  if (!ok)
    return false;
  *cold_return = (Word *)(void *)((char *)addr + size);
  return true;
}

bool thread_os_register(struct thread_os_s *os, Word **cold_return)
{
  Word *cold;
  int err = pthread_once(&thread_posix_once, thread_posix_install);
  if (err != 0 || !thread_posix_installed)
    return false;
  if (!thread_posix_stack_top(&cold))
    return false;
  /* The stack in use must lie below what the system calls its top. */
  if ((uintptr_t)(void *)&cold >= (uintptr_t)cold)
    return false;
  os->kid = thread_posix_self();
  /* relaxed: nobody can suspend this registration before it is added to
   * a set, which the client orders after this call. */
  atomic_init(&os->hs, THREAD_POSIX_RUNNING);
  os->sp = NULL;
  os->alt_base = os->alt_limit = NULL;
  *cold_return = cold;
  return true;
}

void thread_os_deregister(struct thread_os_s *os)
{
  UNUSED(os);
}

bool thread_os_is_current(struct thread_os_s *os)
{
  return os->kid == thread_posix_self();
}

bool thread_os_same(struct thread_os_s *a, struct thread_os_s *b)
{
  return a->kid == b->kid;
}

bool thread_os_can_suspend(void)
{
  return true;
}

void thread_os_begin(void)
{
  int err = pthread_mutex_lock(&thread_posix_mutex);
  AVER(err == 0);
  UNUSED(err);
}

void thread_os_end(void)
{
  int err = pthread_mutex_unlock(&thread_posix_mutex);
  AVER(err == 0);
  UNUSED(err);
}

bool thread_os_suspend(struct thread_os_s *os)
{
  bool alive;
  /* relaxed: the previous resume waited for RUNNING with acquire. */
  AVER(atomic_load_explicit(&os->hs, memory_order_relaxed)
       == THREAD_POSIX_RUNNING);
  /* release: see "Memory orders". */
  atomic_store_explicit(&thread_posix_target, os, memory_order_release);
  alive = thread_posix_kill(os->kid, THREAD_POSIX_SIG_SUSPEND);
  /* acquire: pairs with the handler's release of the registers. */
  while (alive && atomic_load_explicit(&os->hs, memory_order_acquire)
                  != THREAD_POSIX_SUSPENDED) {
    (void)sched_yield();
    alive = thread_posix_kill(os->kid, 0);
  }
  /* relaxed: only the handler reads it, and only after the signal. */
  atomic_store_explicit(&thread_posix_target, NULL, memory_order_relaxed);
  return alive;
}

void thread_os_fork_child(struct thread_os_s *os)
{
  /* The child's only thread has a kernel id of its own.  Relaxed: no
   * other thread exists to read the handshake, which no suspension is
   * using (the forking thread held the arena lock across the fork). */
  os->kid = thread_posix_self();
  atomic_store_explicit(&os->hs, THREAD_POSIX_RUNNING, memory_order_relaxed);
}

void thread_os_resume(struct thread_os_s *os)
{
  bool alive;
  /* release: see "Memory orders". */
  atomic_store_explicit(&os->hs, THREAD_POSIX_RESUMING, memory_order_release);
  alive = thread_posix_kill(os->kid, THREAD_POSIX_SIG_RESUME);
  /* acquire: pairs with the handler's final release. */
  while (alive && atomic_load_explicit(&os->hs, memory_order_acquire)
                  != THREAD_POSIX_RUNNING)
    (void)sched_yield();
  AVER(alive);
}

void thread_os_copy_context(struct thread_os_s *to, struct thread_os_s *from)
{
  memcpy(to->regs, from->regs, sizeof to->regs);
  to->sp = from->sp;
  to->alt_base = from->alt_base;
  to->alt_limit = from->alt_limit;
}

void thread_os_context(struct thread_os_s *os, Word **base_return,
                       Word **limit_return, Word **sp_return,
                       Word **alt_base_return, Word **alt_limit_return)
{
  *base_return = os->regs;
  *limit_return = os->regs + THREAD_POSIX_REGS;
  *sp_return = os->sp;
  *alt_base_return = os->alt_base;
  *alt_limit_return = os->alt_limit;
}
