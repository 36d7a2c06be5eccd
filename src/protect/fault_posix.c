/* fault_posix.c: catching protection faults with a signal handler, for
 * Linux (glibc and musl), FreeBSD and macOS (see fault.h and
 * design/protix.txt).
 *
 * A page protected with mprotect raises SIGSEGV when touched; FreeBSD and
 * macOS may raise SIGBUS instead (it depends on the system version and on
 * the kind of mapping), so there both are caught.  The handler is
 * installed with SA_SIGINFO, for the faulting address, and with
 * SA_RESTART, so that a system call interrupted by a fault (if that can
 * happen at all) is restarted rather than failing with EINTR.  It masks
 * no further signals, so that the thread module can still suspend a
 * thread that is inside the handler (its signals are not SIGSEGV or
 * SIGBUS).  SA_ONSTACK lets it run on an alternate stack if the client
 * gave the thread one, for faults caused by stack overflow.
 *
 * Chaining.  A fault no hook handles goes to the action that was in force
 * when the handler was installed, saved in fault_posix_prev: a handler
 * taking siginfo is called with our arguments, a plain one with the
 * signal number.  For the default action we restore it and raise the
 * signal again: it is blocked while we run, so it is delivered, with its
 * default effect (normally ending the process with a core dump), as soon
 * as we return.  An ignored SIGSEGV or SIGBUS caused by a real fault is
 * treated as the default, since returning would only repeat the fault;
 * one sent by a process is ignored.  Signals sent by a process (kill,
 * raise, sigqueue) are never shown to the hooks: their siginfo carries a
 * sender, not an address.
 *
 * Telling writes from reads.  POSIX does not say; where the machine's
 * fault report reaches the signal context, it is read from there:
 *   x86-64 (Linux, FreeBSD, macOS): bit 1 of the page-fault error code is
 *     set for a write;
 *   AArch64 (Linux, macOS): for a data abort (exception class 0x24 or
 *     0x25), bit 6 (WnR) of the exception syndrome register is set for a
 *     write.  Linux stores the register in an ESR record of the signal
 *     frame's extension area, which is walked here.
 * Elsewhere (FreeBSD on AArch64) is_write is always true (see fault.h).
 * A Linux AArch64 frame with no ESR record (the kernel leaves it out for
 * faults that are not data aborts, and qemu's user-mode emulation never
 * writes one) also gives true, so fault_write_known there says that the
 * platform can tell, not that every fault is told.
 *
 * errno is saved and restored around the hooks, which may make system
 * calls, so that the interrupted code does not see it change.
 */
#include "../base/config.h"

#if !defined(PLATFORM_POSIX)
#error "fault_posix.c is for POSIX platforms: see src/mps.c"
#endif

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#if defined(__linux__) || defined(__FreeBSD__)
#include <ucontext.h>
#endif

#include "fault.h"
#include "../thread/thread.h"

#if defined(__linux__)
static const int fault_posix_signal[] = {SIGSEGV};
#else
static const int fault_posix_signal[] = {SIGSEGV, SIGBUS};
#endif
#define FAULT_POSIX_SIGNALS \
  (sizeof fault_posix_signal / sizeof fault_posix_signal[0])

/* The actions in force before ours, written by fault_install before it
 * installs the handler and only read afterwards.  The system call that
 * installs the handler orders the write before any run of the handler;
 * fault_posix_saved states that in C11 terms (see fault_install). */
static struct sigaction fault_posix_prev[FAULT_POSIX_SIGNALS];
static atomic_bool fault_posix_saved;

#if defined(__linux__) && defined(__x86_64__)
#define FAULT_POSIX_WRITE_KNOWN 1
/* glibc names the register only under _GNU_SOURCE; its index is fixed by
 * the kernel's signal frame layout. */
#if defined(REG_ERR)
#define FAULT_POSIX_REG_ERR REG_ERR
#else
#define FAULT_POSIX_REG_ERR 19
#endif
static bool fault_posix_is_write(void *context)
{
  const ucontext_t *uc = context;
  return (uc->uc_mcontext.gregs[FAULT_POSIX_REG_ERR] & 2) != 0;
}
#elif defined(__FreeBSD__) && defined(__x86_64__)
#define FAULT_POSIX_WRITE_KNOWN 1
static bool fault_posix_is_write(void *context)
{
  const ucontext_t *uc = context;
  return (uc->uc_mcontext.mc_err & 2) != 0;
}
#elif defined(__APPLE__) && defined(__x86_64__)
#define FAULT_POSIX_WRITE_KNOWN 1
static bool fault_posix_is_write(void *context)
{
  const ucontext_t *uc = context;
  return (uc->uc_mcontext->__es.__err & 2) != 0;
}
#elif (defined(__linux__) || defined(__APPLE__)) && defined(__aarch64__)
#define FAULT_POSIX_WRITE_KNOWN 1
/* Whether the syndrome describes a data abort that was a write; a fault
 * of another class (an instruction fetch) is not a write. */
static bool fault_posix_esr_is_write(uint64_t esr)
{
  uint64_t ec = (esr >> 26) & 0x3f;
  if (ec != 0x24 && ec != 0x25)
    return false;
  return (esr & ((uint64_t)1 << 6)) != 0;
}
#if defined(__linux__)
/* The extension area is a sequence of records, each headed by a 32-bit
 * magic number and a 32-bit size (including the header), ended by a zero
 * magic; it is a fixed-size array, which bounds the walk.  memcpy reads
 * the records without assuming anything about the array's element type. */
#define FAULT_POSIX_ESR_MAGIC 0x45535201u
static bool fault_posix_is_write(void *context)
{
  const ucontext_t *uc = context;
  const unsigned char *area = (const unsigned char *)uc->uc_mcontext.__reserved;
  size_t size = sizeof uc->uc_mcontext.__reserved, at = 0;
  while (size - at >= 16) {
    uint32_t head[2];
    memcpy(head, area + at, sizeof head);
    if (head[0] == 0 || head[1] < 8 || head[1] > size - at)
      break;
    if (head[0] == FAULT_POSIX_ESR_MAGIC && head[1] >= 16) {
      uint64_t esr;
      memcpy(&esr, area + at + 8, sizeof esr);
      return fault_posix_esr_is_write(esr);
    }
    at += head[1];
  }
  return true;                 /* no syndrome: assume the worst */
}
#else
static bool fault_posix_is_write(void *context)
{
  const ucontext_t *uc = context;
  return fault_posix_esr_is_write(uc->uc_mcontext->__es.__esr);
}
#endif
#else
#define FAULT_POSIX_WRITE_KNOWN 0
static bool fault_posix_is_write(void *context)
{
  UNUSED(context);
  return true;
}
#endif

bool fault_write_known(void)
{
  return FAULT_POSIX_WRITE_KNOWN != 0;
}

/* Whether the kernel raised the signal for a fault, rather than a process
 * sending it.  Linux gives sent signals codes <= 0 (SI_USER, SI_QUEUE,
 * SI_TKILL, ...); FreeBSD and macOS number theirs from 0x10001 (SI_USER)
 * up, above every fault code. */
static bool fault_posix_from_fault(const siginfo_t *info)
{
#if defined(__linux__)
  return info->si_code > 0;
#else
  return info->si_code > 0 && info->si_code < SI_USER;
#endif
}

static const struct sigaction *fault_posix_prev_of(int sig)
{
  size_t i;
  for (i = 0; i < FAULT_POSIX_SIGNALS; ++i)
    if (fault_posix_signal[i] == sig)
      return &fault_posix_prev[i];
  return NULL;
}

static void fault_posix_chain(int sig, siginfo_t *info, void *context)
{
  const struct sigaction *prev = fault_posix_prev_of(sig);
  struct sigaction dfl;

  if (prev != NULL) {
    if (prev->sa_flags & SA_SIGINFO) {
      prev->sa_sigaction(sig, info, context);
      return;
    }
    if (prev->sa_handler == SIG_IGN && !fault_posix_from_fault(info))
      return;
    if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
      prev->sa_handler(sig);
      return;
    }
  }
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  /* If even this fails, returning repeats the fault, which ends up here
   * again: nothing better is possible inside a signal handler. */
  if (sigaction(sig, &dfl, NULL) == 0)
    raise(sig);
}

static void fault_posix_handle(int sig, siginfo_t *info, void *context)
{
  int saved_errno = errno;
  bool handled = false;

  /* Acquire: see fault_posix_prev. */
  if (!atomic_load_explicit(&fault_posix_saved, memory_order_acquire))
    return;                    /* cannot happen: we are installed after */
  if (info != NULL && fault_posix_from_fault(info)) {
    /* A hook may wait for a lock while a collection suspends and scans
     * this thread, perhaps on an alternate signal stack (thread.h). */
    Word saved = thread_fault_enter(context);
    handled = fault_dispatch(addr_of_ptr(info->si_addr),
                             fault_posix_is_write(context));
    thread_fault_leave(saved);
  }
  errno = saved_errno;
  if (!handled)
    fault_posix_chain(sig, info, context);
  errno = saved_errno;
}

/* Called once, by fault.c, before any hook is registered.  Read every
 * previous action first and publish them, then install: a fault on
 * another thread may run the handler as soon as the first sigaction
 * returns.  If a later signal cannot be installed, the earlier ones are
 * put back, and MPS_RES_FAIL returned. */
Res fault_install(void)
{
  struct sigaction sa;
  size_t i;

  for (i = 0; i < FAULT_POSIX_SIGNALS; ++i)
    if (sigaction(fault_posix_signal[i], NULL, &fault_posix_prev[i]) != 0)
      return MPS_RES_FAIL;
  /* Release: pairs with the handler's acquire load. */
  atomic_store_explicit(&fault_posix_saved, true, memory_order_release);

  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fault_posix_handle;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  if (sigemptyset(&sa.sa_mask) != 0)
    return MPS_RES_FAIL;
  thread_fault_signals(&sa.sa_mask);
  for (i = 0; i < FAULT_POSIX_SIGNALS; ++i) {
    if (sigaction(fault_posix_signal[i], &sa, NULL) != 0) {
      while (i > 0) {
        --i;
        /* Putting back what was there: it was accepted before. */
        (void)sigaction(fault_posix_signal[i], &fault_posix_prev[i], NULL);
      }
      return MPS_RES_FAIL;
    }
  }
  return MPS_RES_OK;
}

void fault_yield(void)
{
  (void)sched_yield();
}
