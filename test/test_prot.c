/* test_prot.c: the hardware protection backend (src/protect/prot_os.h)
 * and the fault handler (src/protect/fault.h), on real memory; and, at
 * the end, the recording backend (prot_none.c, src/protect/prot.h), on
 * addresses it never touches.
 *
 * Criterion runs every test in a process of its own, so each test starts
 * with no fault handler installed and can arrange what was there before
 * (its own SIGSEGV handler, or the default action).
 *
 * The hooks run inside the signal handler, so they only record what they
 * saw in volatile statics and call prot_os_apply; the tests assert
 * afterwards.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/os/vm.h"
#include "../src/protect/fault.h"
#include "../src/protect/prot_os.h"
#include "support/checks.h"
#include "support/reports.h"
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define PROT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROT_TEST_ASAN 1
#endif
#endif

#define PAGES 6

static vm_s vm;
static ProtOSStruct po;
static Size page;
static Addr base;

/* What the hooks saw. */
static volatile sig_atomic_t hook_calls;
static volatile Word hook_addr;
static volatile sig_atomic_t hook_write;
static volatile sig_atomic_t hook_fail;     /* a hook's unprotect failed */

static Addr page_addr(Index i)
{
  return addr_add(base, i * page);
}

static void setup(void)
{
  page = vm_page_size();
  cr_assert_eq(vm_init(&vm, PAGES * page, page), MPS_RES_OK);
  base = vm_base(&vm);
  cr_assert_eq(vm_map(&vm, base, vm_limit(&vm)), MPS_RES_OK);
  cr_assert_eq(prot_setup(prot_os_init(&po)), MPS_RES_OK);
  hook_calls = 0;
  hook_addr = 0;
  hook_write = -1;
  hook_fail = 0;
}

static void teardown(void)
{
  prot_os_finish(&po);
  vm_finish(&vm);
}

/* Every test of the suite has the pages mapped and the backend set up, and
 * finishes both after it. */
TestSuite(prot, .init = setup, .fini = teardown);

/* Handle a fault inside the mapped region: record it and unprotect the
 * faulting page. */
static bool hook_unprotect(void *closure, Addr addr, bool is_write)
{
  ProtOS p = closure;
  Addr pg;
  ++hook_calls;
  hook_addr = addr_word(addr);
  hook_write = is_write;
  if (addr_word(addr) < addr_word(base)
      || addr_word(addr) >= addr_word(vm_limit(&vm)))
    return false;
  pg = addr_align_down(addr, page);
  if (prot_os_apply(p, pg, addr_add(pg, page), PROT_DENY_NONE) != MPS_RES_OK)
    hook_fail = 1;
  return true;
}

static bool hook_decline(void *closure, Addr addr, bool is_write)
{
  UNUSED(closure);
  UNUSED(is_write);
  ++hook_calls;
  hook_addr = addr_word(addr);
  return false;
}

/* The base of `size` bytes of addresses that nothing has mapped (they
 * were reserved, and given back). */
static Addr unmapped_range(Size size)
{
  vm_s gone;
  Addr gone_base;
  cr_assert_eq(vm_init(&gone, size, page), MPS_RES_OK);
  gone_base = vm_base(&gone);
  vm_finish(&gone);
  return gone_base;
}

static void write_byte(Addr a, Byte v)
{
  *(volatile Byte *)addr_ptr(a) = v;
}

static Byte read_byte(Addr a)
{
  return *(volatile Byte *)addr_ptr(a);
}

/* Set pages [from, to) to `mode` directly. */
static void protect_pages(Index from, Index to, ProtMode mode)
{
  cr_assert_eq(prot_os_apply(&po, page_addr(from), page_addr(to), mode), MPS_RES_OK);
}

/* The hooks have been called `calls` times, the last for `target`, and
 * saw a write there if `is_write`, else a read.  Where the kind of access
 * is not known, every fault is reported as a write. */
static void expect_fault_at(sig_atomic_t calls, Addr target, bool is_write)
{
  cr_assert_eq(hook_calls, calls);
  cr_assert_eq(hook_addr, addr_word(target));
  if (fault_write_known() || is_write)
    cr_assert_eq(hook_write, is_write, "the %s was reported as a %s",
                 is_write ? "write" : "read", is_write ? "read" : "write");
}

Test(prot, write_fault_is_handled_and_retried)
{
  FaultRegStruct reg;
  Addr target = addr_add(page_addr(1), 17);

  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  protect_pages(1, 2, PROT_DENY_WRITE);
  cr_assert_eq(read_byte(target), 0, "reading a write-protected page");
  cr_assert_eq(hook_calls, 0, "a read of a write-protected page faulted");
  write_byte(target, 42);
  expect_fault_at(1, target, true);
  cr_assert_eq(hook_fail, 0);
  cr_assert_eq(read_byte(target), 42, "the retried write did not land");
  write_byte(target, 43);
  cr_assert_eq(hook_calls, 1, "an unprotected page faulted");
  fault_unregister(&reg);
}

Test(prot, read_fault_is_handled_and_retried)
{
  FaultRegStruct reg;
  Addr target = addr_add(page_addr(2), 100);

  write_byte(target, 7);
  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  protect_pages(2, 3, PROT_DENY_READ);
  cr_assert_eq(read_byte(target), 7);
  expect_fault_at(1, target, false);
  fault_unregister(&reg);
}

Test(prot, deny_all_then_write)
{
  FaultRegStruct reg;
  Addr target = addr_add(page_addr(0), 5);

  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  protect_pages(0, 1, PROT_DENY_ALL);
  write_byte(target, 9);
  expect_fault_at(1, target, true);
  cr_assert_eq(read_byte(target), 9);
  fault_unregister(&reg);
}

/* Protect several pages at once; each write faults once, on its own page. */
Test(prot, range_of_pages)
{
  FaultRegStruct reg;
  Index i;

  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  protect_pages(1, 5, PROT_DENY_WRITE);
  write_byte(page_addr(0), 1);
  write_byte(page_addr(5), 1);
  cr_assert_eq(hook_calls, 0, "a page outside the range faulted");
  for (i = 1; i < 5; ++i) {
    Addr target = addr_add(page_addr(i), i * 3);
    write_byte(target, (Byte)i);
    cr_assert_eq(hook_calls, (sig_atomic_t)i);
    cr_assert_eq(hook_addr, addr_word(target));
    cr_assert_eq(read_byte(target), (Byte)i);
  }
  fault_unregister(&reg);
}

/* Lowering protection restores access with no fault at all. */
Test(prot, unprotect_restores_access)
{
  FaultRegStruct reg;
  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  cr_assert_eq(prot_os_apply(&po, base, vm_limit(&vm), PROT_DENY_ALL),
               MPS_RES_OK);
  cr_assert_eq(prot_os_apply(&po, base, vm_limit(&vm), PROT_DENY_WRITE),
               MPS_RES_OK);
  cr_assert_eq(read_byte(page_addr(3)), 0);
  cr_assert_eq(hook_calls, 0);
  cr_assert_eq(prot_os_apply(&po, base, vm_limit(&vm), PROT_DENY_NONE),
               MPS_RES_OK);
  write_byte(page_addr(3), 3);
  write_byte(page_addr(PAGES - 1), 4);
  cr_assert_eq(hook_calls, 0);
  cr_assert_eq(read_byte(page_addr(3)), 3);
  fault_unregister(&reg);
}

/* The backend through the generic interface the shield uses. */
Test(prot, through_the_function_table)
{
  FaultRegStruct reg;
  Prot prot = &po.prot;
  Addr gone_base;

  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  prot_set(prot, page_addr(2), page_addr(4), PROT_DENY_WRITE);
  write_byte(page_addr(3), 1);
  cr_assert_eq(hook_calls, 1);
  cr_assert_eq(hook_addr, addr_word(page_addr(3)));
  cr_assert_eq(prot_os_sets(&po), 1);
  cr_assert_eq(prot_os_failure(&po), MPS_RES_OK);

  /* An address range nobody has mapped: the failure is kept. */
  gone_base = unmapped_range(page);
  prot_set(prot, gone_base, addr_add(gone_base, page), PROT_DENY_WRITE);
  cr_assert_eq(prot_os_failure(&po), MPS_RES_MEMORY);
  prot_set(prot, page_addr(2), page_addr(4), PROT_DENY_NONE);
  cr_assert_eq(prot_os_failure(&po), MPS_RES_MEMORY, "the first failure is kept");
  fault_unregister(&reg);
}

Test(prot, unmapped_range_is_an_error)
{
  Addr gone_base = unmapped_range(2 * page);
  cr_assert_eq(prot_os_apply(&po, gone_base, addr_add(gone_base, 2 * page),
                             PROT_DENY_ALL),
               MPS_RES_MEMORY);
}

/* Bad ranges: an assertion in checking varieties, MPS_RES_PARAM if the
 * assertion handler returns (as the hot default does). */
Test(prot, bad_ranges)
{
  reports_install();
  cr_assert_eq(prot_os_apply(&po, addr_add(base, 1), page_addr(1),
                             PROT_DENY_WRITE), MPS_RES_PARAM);
  cr_assert(CHECK_LEVEL == 0 || reports_seen() > 0);
  reports_install();
  cr_assert_eq(prot_os_apply(&po, base, addr_add(page_addr(1), 8),
                             PROT_DENY_WRITE), MPS_RES_PARAM);
  cr_assert(CHECK_LEVEL == 0 || reports_seen() > 0);
  reports_install();
  cr_assert_eq(prot_os_apply(&po, page_addr(1), page_addr(1),
                             PROT_DENY_WRITE), MPS_RES_PARAM);
  cr_assert(CHECK_LEVEL == 0 || reports_seen() > 0);
  reports_install();
  cr_assert_eq(prot_os_apply(&po, page_addr(2), page_addr(1),
                             PROT_DENY_WRITE), MPS_RES_PARAM);
  cr_assert(CHECK_LEVEL == 0 || reports_seen() > 0);
  reports_install();
  cr_assert_eq(prot_os_apply(&po, page_addr(1), page_addr(2), 4u),
               MPS_RES_PARAM);
  cr_assert(CHECK_LEVEL == 0 || reports_seen() > 0);
  reports_install_abort();
  /* Nothing was changed by the refused calls. */
  write_byte(page_addr(0), 1);
  write_byte(page_addr(1), 1);
}

/* A fault no hook claims goes to the handler that was installed before
 * ours, with the same signal and address. */
static sigjmp_buf prev_env;
static volatile sig_atomic_t prev_calls;
static volatile Word prev_addr;

static void prev_handler(int sig, siginfo_t *info, void *context)
{
  UNUSED(context);
  if (sig == SIGSEGV) {
    ++prev_calls;
    prev_addr = (Word)(uintptr_t)info->si_addr;
  }
  siglongjmp(prev_env, 1);
}

/* Make `handler` (taking siginfo), or else `plain` (taking the signal
 * number only, or SIG_IGN), what SIGSEGV and SIGBUS did before the fault
 * handler is installed, with no calls counted yet. */
static void install_previous_action(void (*handler)(int, siginfo_t *, void *),
                                    void (*plain)(int))
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  if (handler != NULL) {
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
  } else {
    sa.sa_handler = plain;
  }
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGSEGV, &sa, NULL), 0);
  cr_assert_eq(sigaction(SIGBUS, &sa, NULL), 0);
  prev_calls = 0;
}

static void install_prev_handler(void)
{
  install_previous_action(prev_handler, NULL);
}

/* Write to `target`, which must fault, and find the fault passed on to
 * prev_handler, which jumps back here. */
static void write_to_reach_prev_handler(Addr target)
{
  if (sigsetjmp(prev_env, 1) == 0) {
    write_byte(target, 1);
    cr_assert_fail("the write to a protected page did not fault");
  }
}

/* prev_handler has had `calls` faults, the last at `target`.  Elsewhere
 * than on Linux a fault may come as SIGBUS, which it does not count. */
static void expect_prev_handler_calls(sig_atomic_t calls, Addr target)
{
#if !defined(__linux__)
  if (prev_calls == 0)
    cr_skip_test("the fault came as SIGBUS");
#endif
  cr_assert_eq(prev_calls, calls, "the previous handler was reached %d times",
               (int)prev_calls);
  cr_assert_eq(prev_addr, addr_word(target));
}

Test(prot, unhandled_fault_reaches_previous_handler)
{
  FaultRegStruct reg;
  Addr target = addr_add(page_addr(4), 8);

  install_prev_handler();
  cr_assert_eq(fault_register(&reg, hook_decline, NULL), MPS_RES_OK);
  protect_pages(4, 5, PROT_DENY_ALL);
  write_to_reach_prev_handler(target);
  cr_assert_eq(hook_calls, 1, "the hook was not asked");
  cr_assert_eq(hook_addr, addr_word(target));
  expect_prev_handler_calls(1, target);

  /* Unregistered, the hook is not asked any more, and the fault still
   * reaches the previous handler. */
  fault_unregister(&reg);
  if (sigsetjmp(prev_env, 1) == 0) {
    (void)read_byte(target);
    cr_assert_fail("the read of a protected page did not fault");
  }
  cr_assert_eq(hook_calls, 1);
  cr_assert_eq(prev_calls, 2);
  protect_pages(4, 5, PROT_DENY_NONE);
}

/* A previous handler of the plain kind (sa_handler, without SA_SIGINFO)
 * is called as such, with the signal number only. */
static void plain_prev_handler(int sig)
{
  if (sig == SIGSEGV || sig == SIGBUS)
    ++prev_calls;
  siglongjmp(prev_env, 1);
}

Test(prot, unhandled_fault_reaches_a_plain_previous_handler)
{
  FaultRegStruct reg;
  install_previous_action(NULL, plain_prev_handler);
  cr_assert_eq(fault_register(&reg, hook_decline, NULL), MPS_RES_OK);
  protect_pages(2, 3, PROT_DENY_ALL);
  write_to_reach_prev_handler(addr_add(page_addr(2), 16));
  cr_assert_eq(hook_calls, 1, "the hook was not asked");
  cr_assert_eq(prev_calls, 1, "the previous handler was not reached");
  fault_unregister(&reg);
  protect_pages(2, 3, PROT_DENY_NONE);
}

/* A signal sent by the process is not a fault: the hooks are not shown
 * it, and it goes to the previous handler. */
Test(prot, sent_signal_is_passed_on)
{
  FaultRegStruct reg;
  install_prev_handler();
  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  if (sigsetjmp(prev_env, 1) == 0) {
    raise(SIGSEGV);
    cr_assert_fail("the raised signal returned");
  }
  cr_assert_eq(hook_calls, 0);
  cr_assert_eq(prev_calls, 1);
  fault_unregister(&reg);
}

/* A signal sent by kill() is not a fault either: on Linux its si_code,
 * SI_USER, is 0, where a fault's is positive.  kill() itself may deliver
 * it to any thread of the process, so the same siginfo is queued to this
 * thread alone. */
Test(prot, signal_sent_as_by_kill_is_passed_on)
{
#if defined(__linux__) && defined(SYS_rt_tgsigqueueinfo) && defined(SYS_gettid)
  FaultRegStruct reg;
  siginfo_t info;
  install_prev_handler();
  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  memset(&info, 0, sizeof info);
  info.si_signo = SIGSEGV;
  info.si_code = SI_USER;
  info.si_pid = getpid();
  info.si_uid = getuid();
  if (sigsetjmp(prev_env, 1) == 0) {
    cr_assert_eq(syscall(SYS_rt_tgsigqueueinfo, (long)getpid(), syscall(SYS_gettid),
                         (long)SIGSEGV, &info), 0);
    cr_assert_fail("the sent signal returned");
  }
  cr_assert_eq(hook_calls, 0, "a hook was shown a sent signal");
  cr_assert_eq(prev_calls, 1);
  fault_unregister(&reg);
#else
  cr_skip_test("sending a signal with SI_USER to one thread is Linux's");
#endif
}

/* A sent signal that the disposition before ours ignored is still
 * ignored: the sender meant nothing by it, and the default action would
 * end the process. */
Test(prot, sent_signal_ignored_before_stays_ignored)
{
  FaultRegStruct reg;
  install_previous_action(NULL, SIG_IGN);
  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  cr_assert_eq(raise(SIGSEGV), 0);
  cr_assert_eq(hook_calls, 0);
  fault_unregister(&reg);
}

/* A hook may change errno (its own system calls do when they fail); the
 * code whose access faulted must find errno as it left it. */
static bool hook_unprotect_errno(void *closure, Addr addr, bool is_write)
{
  errno = EDOM;
  return hook_unprotect(closure, addr, is_write);
}

Test(prot, a_handled_fault_keeps_errno)
{
  FaultRegStruct reg;
  int seen;
  cr_assert_eq(fault_register(&reg, hook_unprotect_errno, &po), MPS_RES_OK);
  protect_pages(3, 4, PROT_DENY_WRITE);
  errno = ERANGE;
  write_byte(addr_add(page_addr(3), 24), 9);
  seen = errno;
  cr_assert_eq(hook_calls, 1);
  cr_assert_eq(seen, ERANGE, "errno was %d after the fault", seen);
  cr_assert_eq(read_byte(addr_add(page_addr(3), 24)), 9);
  fault_unregister(&reg);
}

/* With the default action before us, an unclaimed fault ends the process
 * with the signal (under ASan, ASan's handler was there before us and
 * reports instead). */
#ifdef PROT_TEST_ASAN
#define PROT_TEST_FAULT_SIGNAL 0
#elif defined(__linux__)
#define PROT_TEST_FAULT_SIGNAL SIGSEGV
#else
#define PROT_TEST_FAULT_SIGNAL 0
#endif

/* A write to a protected page that no hook claims, which must end the
 * process with PROT_TEST_FAULT_SIGNAL (the test is skipped where that is
 * 0). */
static void write_an_unclaimed_fault(void)
{
  static FaultRegStruct reg;
#if PROT_TEST_FAULT_SIGNAL == 0
  cr_skip_test("the default action is not SIGSEGV's here");
  return;
#endif
  cr_assert_eq(fault_register(&reg, hook_decline, NULL), MPS_RES_OK);
  protect_pages(0, 1, PROT_DENY_WRITE);
  write_byte(page_addr(0), 1);
  cr_assert_fail("the write to a protected page did not fault");
}

Test(prot, unhandled_fault_takes_default_action,
     .signal = PROT_TEST_FAULT_SIGNAL)
{
  write_an_unclaimed_fault();
}

/* Several hooks: each is asked in turn until one claims the fault. */
Test(prot, second_hook_claims)
{
  FaultRegStruct first, second;
  cr_assert_eq(fault_register(&first, hook_decline, NULL), MPS_RES_OK);
  cr_assert_eq(fault_register(&second, hook_unprotect, &po), MPS_RES_OK);
  protect_pages(1, 2, PROT_DENY_WRITE);
  write_byte(page_addr(1), 5);
  cr_assert_eq(hook_calls, 2, "both hooks should have been asked");
  cr_assert_eq(read_byte(page_addr(1)), 5);
  fault_unregister(&first);
  fault_unregister(&second);
}

/* The table is bounded, and a freed slot can be used again. */
Test(prot, registration_limit)
{
  FaultRegStruct reg[FAULT_SLOTS + 1];
  Index i;
  for (i = 0; i < FAULT_SLOTS; ++i)
    cr_assert_eq(fault_register(&reg[i], hook_decline, NULL), MPS_RES_OK);
  cr_assert_eq(fault_register(&reg[FAULT_SLOTS], hook_decline, NULL),
               MPS_RES_LIMIT);
  fault_unregister(&reg[3]);
  cr_assert_eq(fault_register(&reg[3], hook_unprotect, &po), MPS_RES_OK);
  cr_assert(fault_reg_check(&reg[3]));
  protect_pages(0, 1, PROT_DENY_WRITE);
  write_byte(page_addr(0), 1);
  cr_assert_eq(hook_calls, 4, "hooks 0-2 decline, then the new hook 3 claims");
  for (i = 0; i < FAULT_SLOTS; ++i)
    fault_unregister(&reg[i]);
}

Test(prot, use_after_unregister, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  FaultRegStruct reg;
  cr_assert_eq(fault_register(&reg, hook_decline, NULL), MPS_RES_OK);
  fault_unregister(&reg);
  reports_install_abort();
  fault_unregister(&reg);
}

/* The handler is installed once, by the first registration: a second one
 * must not install it again, which would make it its own previous
 * handler and send an unclaimed fault round in circles. */
Test(prot, an_unclaimed_fault_with_two_hooks_reaches_the_previous_handler_once)
{
  FaultRegStruct first, second;
  Addr target = addr_add(page_addr(3), 40);

  install_prev_handler();
  cr_assert_eq(fault_register(&first, hook_decline, NULL), MPS_RES_OK);
  cr_assert_eq(fault_register(&second, hook_decline, NULL), MPS_RES_OK);
  protect_pages(3, 4, PROT_DENY_WRITE);
  write_to_reach_prev_handler(target);
  cr_assert_eq(hook_calls, 2, "each hook is asked once");
  expect_prev_handler_calls(1, target);
  fault_unregister(&second);
  fault_unregister(&first);
  protect_pages(3, 4, PROT_DENY_NONE);
}

/* With every slot taken, the hook in the last one is still asked. */
Test(prot, the_hook_in_the_last_slot_claims)
{
  FaultRegStruct reg[FAULT_SLOTS];
  Index i;
  for (i = 0; i + 1 < FAULT_SLOTS; ++i)
    cr_assert_eq(fault_register(&reg[i], hook_decline, NULL), MPS_RES_OK);
  cr_assert_eq(fault_register(&reg[FAULT_SLOTS - 1], hook_unprotect, &po),
               MPS_RES_OK);
  protect_pages(2, 3, PROT_DENY_WRITE);
  write_byte(addr_add(page_addr(2), 1), 6);
  cr_assert_eq(hook_calls, FAULT_SLOTS, "every hook is asked, the last claims");
  cr_assert_eq(read_byte(addr_add(page_addr(2), 1)), 6);
  for (i = 0; i < FAULT_SLOTS; ++i)
    fault_unregister(&reg[i]);
}

/* Unregistering while another thread is inside the hook: fault_unregister
 * does not return until that thread has left it (fault.h: the closure may
 * be freed then), and meanwhile a new fault no longer goes to the hook.
 * The hook holds a fault on page 1 until the test lets it go. */
static atomic_int holder_inside, holder_release, unregister_started,
  unregister_returned;
static FaultRegStruct held_reg;

static bool hook_holding(void *closure, Addr addr, bool is_write)
{
  if (addr_word(addr) >= addr_word(page_addr(1))
      && addr_word(addr) < addr_word(page_addr(2))) {
    atomic_store(&holder_inside, 1);
    while (!atomic_load(&holder_release))
      sched_yield();
  }
  return hook_unprotect(closure, addr, is_write);
}

static void *fault_on_page_1(void *arg)
{
  UNUSED(arg);
  write_byte(addr_add(page_addr(1), 8), 1);
  return NULL;
}

static void *unregister_held(void *arg)
{
  UNUSED(arg);
  atomic_store(&unregister_started, 1);
  fault_unregister(&held_reg);
  atomic_store(&unregister_returned, 1);
  return NULL;
}

Test(prot, unregistering_waits_for_a_hook_in_use_and_stops_new_calls, .timeout = 60)
{
  pthread_t holder, unregisterer;
  /* Long enough that the unregistering thread has passed the two stores
   * between the signature and the slot's draining state unless it was
   * descheduled there for half a second. */
  struct timespec pause = {0, 500 * 1000 * 1000};
  volatile int new_fault_claimed = 0;
  int returned_early;

  install_prev_handler();
  cr_assert_eq(fault_register(&held_reg, hook_holding, &po), MPS_RES_OK);
  protect_pages(1, 4, PROT_DENY_WRITE);
  cr_assert_eq(pthread_create(&holder, NULL, fault_on_page_1, NULL), 0);
  while (!atomic_load(&holder_inside))
    sched_yield();
  cr_assert_eq(pthread_create(&unregisterer, NULL, unregister_held, NULL), 0);
  while (!atomic_load(&unregister_started))
    sched_yield();
  /* fault_unregister invalidates the registration just before it
   * withdraws the hook; then give it time to do so and start waiting. */
  while (((volatile FaultRegStruct *)&held_reg)->sig == FAULT_REG_SIG)
    sched_yield();
  (void)nanosleep(&pause, NULL);
  returned_early = atomic_load(&unregister_returned);
  if (sigsetjmp(prev_env, 1) == 0) {
    write_byte(addr_add(page_addr(3), 8), 3);
    new_fault_claimed = 1;
  }
  atomic_store(&holder_release, 1);
  cr_assert_eq(pthread_join(holder, NULL), 0);
  cr_assert_eq(pthread_join(unregisterer, NULL), 0);

  cr_assert_eq(returned_early, 0, "fault_unregister returned with the hook in use");
  cr_assert_eq(new_fault_claimed, 0, "a hook being unregistered claimed a new fault");
  cr_assert_eq(hook_calls, 1, "the hook was called for the new fault");
#if !defined(__linux__)
  if (prev_calls == 0)
    cr_skip_test("the fault came as SIGBUS");
#endif
  cr_assert_eq(prev_calls, 1, "the new fault did not go to the previous handler");
  cr_assert_eq(read_byte(addr_add(page_addr(1), 8)), 1, "the held write did not land");
  protect_pages(1, 4, PROT_DENY_NONE);
}

/* fault.inv.slot: a registration names a slot of the table that is in
 * use.  A local check, made in cool only. */
Test(prot, the_check_reports_a_registration_naming_no_slot_in_use)
{
  FaultRegStruct forged;
#if CHECK_LEVEL < 2
  cr_skip_test("the slot is checked only in cool");
#endif
  reports_install();
  forged.sig = FAULT_REG_SIG;
  forged.slot = FAULT_SLOTS;               /* beyond the table */
  (void)fault_reg_check(&forged);
  cr_assert_gt(reports_seen(), 0, "a slot beyond the table");
  forged.slot = 5;                         /* nobody registered: free */
  reports_install();
  (void)fault_reg_check(&forged);
  cr_assert_gt(reports_seen(), 0, "a free slot");
  reports_install_abort();
}

/* A previous handler (taking siginfo) that mends the fault itself and
 * returns: the access is retried, the handler has run once, and errno is
 * as the faulting code left it though the handler changed it. */
static void mending_prev_handler(int sig, siginfo_t *info, void *context)
{
  UNUSED(sig);
  UNUSED(info);           /* not read: it is not there if called wrongly */
  UNUSED(context);
  ++prev_calls;
  errno = EDOM;
  if (prot_os_apply(&po, page_addr(2), page_addr(3), PROT_DENY_NONE)
      != MPS_RES_OK)
    hook_fail = 1;
}

Test(prot, a_previous_handler_that_mends_the_fault_runs_once_and_errno_is_kept)
{
  FaultRegStruct reg;
  Addr target = addr_add(page_addr(2), 64);
  int seen;

  install_previous_action(mending_prev_handler, NULL);
  cr_assert_eq(fault_register(&reg, hook_decline, NULL), MPS_RES_OK);
  protect_pages(2, 3, PROT_DENY_WRITE);
  errno = ERANGE;
  write_byte(target, 11);
  seen = errno;
  cr_assert_eq(hook_calls, 1);
  cr_assert_eq(prev_calls, 1, "the previous handler ran %d times", (int)prev_calls);
  cr_assert_eq(hook_fail, 0);
  cr_assert_eq(seen, ERANGE, "errno was %d after the fault", seen);
  cr_assert_eq(read_byte(target), 11);
  fault_unregister(&reg);
}

/* A SIGSEGV sent by the process, with the default action before us, has
 * the default effect: it ends the process (not under ASan, whose handler
 * was there before us). */
#ifdef PROT_TEST_ASAN
#define PROT_TEST_SENT_SIGNAL 0
#else
#define PROT_TEST_SENT_SIGNAL SIGSEGV
#endif

Test(prot, a_sent_signal_with_the_default_action_before_ends_the_process,
     .signal = PROT_TEST_SENT_SIGNAL)
{
  FaultRegStruct reg;
#if PROT_TEST_SENT_SIGNAL == 0
  cr_skip_test("the previous action is AddressSanitizer's");
  return;
#endif
  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  (void)raise(SIGSEGV);
  cr_assert_fail("the process survived a SIGSEGV with its default action");
}

/* A real fault is not ignored even where SIGSEGV was: returning would
 * only repeat it for ever.  It takes the default action instead. */
Test(prot, a_fault_with_the_signal_ignored_before_takes_the_default_action,
     .signal = PROT_TEST_FAULT_SIGNAL, .timeout = 20)
{
  install_previous_action(NULL, SIG_IGN);
  write_an_unclaimed_fault();
}

/* fault_posix.c reads the access kind from the signal context on these
 * platforms, so there fault_write_known says so. */
Test(prot, writes_are_told_from_reads_where_the_context_says)
{
#if (defined(__x86_64__)                                                  \
     && (defined(__linux__) || defined(__FreeBSD__) || defined(__APPLE__))) \
    || (defined(__aarch64__) && (defined(__linux__) || defined(__APPLE__)))
  cr_assert(fault_write_known());
#else
  cr_skip_test("the access kind is not read from the context here");
#endif
}

/* The handler runs on the thread's alternate signal stack when it has
 * one (SA_ONSTACK), so that a fault from running out of stack can still
 * be handled. */
static volatile Word hook_frame;

static bool hook_unprotect_noting_frame(void *closure, Addr addr, bool is_write)
{
  volatile Byte here = 0;
  hook_frame = (Word)(uintptr_t)&here;
  return hook_unprotect(closure, addr, is_write);
}

Test(prot, the_handler_runs_on_the_alternate_stack)
{
  enum { ALT_SIZE = 1 << 17 };
  FaultRegStruct reg;
  stack_t alt, old;
  Byte *mem = malloc(ALT_SIZE);
  Word low, high;

  cr_assert(mem != NULL);
  low = (Word)(uintptr_t)mem;
  high = low + ALT_SIZE;
  memset(&alt, 0, sizeof alt);
  alt.ss_sp = mem;
  alt.ss_size = ALT_SIZE;
  cr_assert_eq(sigaltstack(&alt, &old), 0);
  cr_assert_eq(fault_register(&reg, hook_unprotect_noting_frame, &po), MPS_RES_OK);
  protect_pages(4, 5, PROT_DENY_WRITE);
  write_byte(page_addr(4), 4);
  cr_assert_eq(sigaltstack(&old, NULL), 0);
  cr_assert_eq(hook_calls, 1);
  cr_assert(hook_frame >= low && hook_frame < high,
            "the hook ran at %#lx, not on the alternate stack [%#lx, %#lx)",
            (unsigned long)hook_frame, (unsigned long)low, (unsigned long)high);
  cr_assert_eq(read_byte(page_addr(4)), 4);
  fault_unregister(&reg);
  free(mem);
}

/* An unregistered registration is invalid for good, even once another
 * registration has taken its slot: unregistering it again must not
 * withdraw the other's hook. */
Test(prot, use_after_unregister_once_the_slot_is_taken_again,
     .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  FaultRegStruct gone, other;
  cr_assert_eq(fault_register(&gone, hook_decline, NULL), MPS_RES_OK);
  fault_unregister(&gone);
  cr_assert_eq(fault_register(&other, hook_decline, NULL), MPS_RES_OK);
  cr_assert_eq(other.slot, gone.slot, "the freed slot was not reused");
  reports_install_abort();
  fault_unregister(&gone);
}

/* Sets through the function table are counted; each refused one is
 * reported to the owner with its range and the closure given; the first
 * failure is the one kept, whatever later ones say. */
static int refusal_closure;
static volatile int refusals;
static volatile Word refused_base, refused_limit;
static void *volatile refused_with;

static void note_refusal(void *closure, Addr rbase, Addr rlimit)
{
  ++refusals;
  refused_with = closure;
  refused_base = addr_word(rbase);
  refused_limit = addr_word(rlimit);
}

Test(prot, refused_sets_are_reported_and_the_first_failure_kept)
{
  Prot prot = &po.prot;
  Addr gone_base;

  refusals = 0;
  prot_os_on_refusal(&po, note_refusal, &refusal_closure);
  prot_set(prot, page_addr(1), page_addr(3), PROT_DENY_WRITE);
  prot_set(prot, page_addr(1), page_addr(3), PROT_DENY_NONE);
  cr_assert_eq(refusals, 0, "a set that worked was reported as refused");
  cr_assert_eq(prot_os_sets(&po), 2);

  gone_base = unmapped_range(page);
  prot_set(prot, gone_base, addr_add(gone_base, page), PROT_DENY_WRITE);
  cr_assert_eq(refusals, 1);
  cr_assert_eq(refused_with, (void *)&refusal_closure);
  cr_assert_eq(refused_base, addr_word(gone_base));
  cr_assert_eq(refused_limit, addr_word(gone_base) + page);
  cr_assert_eq(prot_os_failure(&po), MPS_RES_MEMORY);

  /* A later refusal for another reason (a range not on pages, reported
   * in checking varieties first) leaves the first failure in place. */
  reports_install();
  prot_set(prot, page_addr(1), addr_add(page_addr(2), 8), PROT_DENY_WRITE);
  reports_install_abort();
  cr_assert(CHECK_LEVEL == 0 || reports_seen() > 0);
  cr_assert_eq(refusals, 2);
  cr_assert_eq(refused_with, (void *)&refusal_closure);
  cr_assert_eq(prot_os_failure(&po), MPS_RES_MEMORY);
  cr_assert_eq(prot_os_sets(&po), 4);
}

/* ---- The recording backend (prot_none.c, prot.h) ----
 *
 * It protects nothing and touches no memory, so its ranges are made-up
 * addresses, in units of a notional page: rec_at(i) is the start of page i.
 * What it recorded is read back through prot_none_is. */
static ProtNoneStruct rec;
static Prot rec_prot;

static Addr rec_at(Word i)
{
  return (Addr)(uintptr_t)(0x100000 + i * 0x1000);
}

static bool rec_is(Word from, Word to, ProtMode mode)
{
  return prot_none_is(&rec, rec_at(from), rec_at(to), mode);
}

static void rec_set(Word from, Word to, ProtMode mode)
{
  prot_set(rec_prot, rec_at(from), rec_at(to), mode);
}

static void rec_setup(void)
{
  rec_prot = prot_none_init(&rec);
  cr_assert_eq(prot_setup(rec_prot), MPS_RES_OK);
}

static void rec_teardown(void)
{
  prot_none_finish(&rec);
}

TestSuite(prot_none, .init = rec_setup, .fini = rec_teardown);

/* Changing the middle of a protected range leaves both of its ends as
 * they were, whether the middle is protected otherwise or unprotected. */
Test(prot_none, a_set_inside_a_range_keeps_the_parts_either_side)
{
  rec_set(1, 7, PROT_DENY_WRITE);
  rec_set(3, 5, PROT_DENY_READ);
  cr_assert(rec_is(1, 3, PROT_DENY_WRITE), "the part below was lost");
  cr_assert(rec_is(3, 5, PROT_DENY_READ));
  cr_assert(rec_is(5, 7, PROT_DENY_WRITE), "the part above was lost");
  cr_assert(rec_is(0, 1, PROT_DENY_NONE));
  cr_assert(rec_is(7, 8, PROT_DENY_NONE));
  rec_set(2, 6, PROT_DENY_NONE);
  cr_assert(rec_is(1, 2, PROT_DENY_WRITE));
  cr_assert(rec_is(2, 6, PROT_DENY_NONE));
  cr_assert(rec_is(6, 7, PROT_DENY_WRITE));
  cr_assert_eq(prot_none_sets(&rec), 3);
}

/* A set overlapping one end of a range replaces just the overlap. */
Test(prot_none, a_set_over_one_end_of_a_range_replaces_only_the_overlap)
{
  rec_set(2, 5, PROT_DENY_WRITE);
  rec_set(4, 7, PROT_DENY_ALL);
  rec_set(1, 3, PROT_DENY_READ);
  cr_assert(rec_is(1, 3, PROT_DENY_READ));
  cr_assert(rec_is(3, 4, PROT_DENY_WRITE));
  cr_assert(rec_is(4, 7, PROT_DENY_ALL));
  cr_assert(rec_is(7, 9, PROT_DENY_NONE));
  cr_assert_not(rec_is(1, 4, PROT_DENY_READ));
}

/* Ranges that touch keep their own modes; ranges of one mode with a gap
 * between keep the gap unprotected; touching ranges of one mode are one
 * entry. */
Test(prot_none, neighbouring_ranges_keep_their_modes_and_gaps)
{
  rec_set(1, 2, PROT_DENY_READ);
  rec_set(2, 3, PROT_DENY_WRITE);
  cr_assert(rec_is(1, 2, PROT_DENY_READ));
  cr_assert(rec_is(2, 3, PROT_DENY_WRITE), "the mode of the range above was lost");
  cr_assert_not(rec_is(1, 3, PROT_DENY_READ));
  cr_assert_not(rec_is(2, 3, PROT_DENY_READ));
  rec_set(5, 6, PROT_DENY_WRITE);
  cr_assert(rec_is(3, 5, PROT_DENY_NONE), "the gap was protected");
  cr_assert_not(rec_is(2, 6, PROT_DENY_WRITE));
  cr_assert_not(rec_is(4, 6, PROT_DENY_WRITE));
  cr_assert_not(rec_is(5, 7, PROT_DENY_WRITE));
  rec_set(3, 5, PROT_DENY_WRITE);
  cr_assert(rec_is(2, 6, PROT_DENY_WRITE));
  cr_assert_eq(rec.ranges, 2, "touching ranges of one mode were not merged");
}

/* Ranges set from the highest down are found, each with its mode. */
Test(prot_none, ranges_set_in_decreasing_order_are_found)
{
  Word i;
  for (i = 8; i > 0; --i)
    rec_set(2 * i, 2 * i + 1, i % 2 == 0 ? PROT_DENY_WRITE : PROT_DENY_ALL);
  for (i = 1; i <= 8; ++i) {
    cr_assert(rec_is(2 * i, 2 * i + 1, i % 2 == 0 ? PROT_DENY_WRITE : PROT_DENY_ALL));
    cr_assert(rec_is(2 * i + 1, 2 * i + 2, PROT_DENY_NONE));
  }
  cr_assert_eq(rec.ranges, 8);
}

/* Unprotecting everything empties the map. */
Test(prot_none, unprotecting_every_range_leaves_no_entry)
{
  rec_set(1, 3, PROT_DENY_NONE);
  cr_assert_eq(rec.ranges, 0, "an unprotected range was recorded");
  rec_set(1, 3, PROT_DENY_WRITE);
  rec_set(5, 6, PROT_DENY_READ);
  rec_set(0, 9, PROT_DENY_NONE);
  cr_assert_eq(rec.ranges, 0);
  cr_assert(rec_is(0, 9, PROT_DENY_NONE));
  cr_assert_eq(prot_none_sets(&rec), 4);
}

/* prot.h: the map holds PROT_NONE_RANGES entries; a set needing more is
 * not recorded, and the overflow is reported from then on. */
Test(prot_none, a_map_that_fills_the_table_is_kept_and_one_more_overflows)
{
  Word i;
  for (i = 0; i < PROT_NONE_RANGES; ++i)
    rec_set(2 * i, 2 * i + 1, PROT_DENY_WRITE);
  cr_assert_not(prot_none_overflowed(&rec), "a full table was taken for an overflow");
  cr_assert_eq(rec.ranges, PROT_NONE_RANGES);
  rec_set(2 * PROT_NONE_RANGES, 2 * PROT_NONE_RANGES + 1, PROT_DENY_WRITE);
  cr_assert(prot_none_overflowed(&rec), "the overflow was not reported");
  cr_assert(rec_is(2 * PROT_NONE_RANGES, 2 * PROT_NONE_RANGES + 1, PROT_DENY_NONE),
            "the set that overflowed was recorded");
  cr_assert_eq(rec.ranges, PROT_NONE_RANGES);
  for (i = 0; i < PROT_NONE_RANGES; ++i)
    cr_assert(rec_is(2 * i, 2 * i + 1, PROT_DENY_WRITE));
  cr_assert_eq(prot_none_sets(&rec), PROT_NONE_RANGES + 1);
  /* A set that fits is recorded again, and the overflow stays reported. */
  rec_set(0, 2 * PROT_NONE_RANGES, PROT_DENY_NONE);
  cr_assert_eq(rec.ranges, 0);
  cr_assert(prot_none_overflowed(&rec));
}

/* A backend made in storage that held anything starts unprotected, with
 * no sets counted and no overflow. */
Test(prot_none, a_backend_made_in_used_storage_starts_empty)
{
  ProtNoneStruct used;
  memset(&used, 1, sizeof used);
  cr_assert_eq(prot_setup(prot_none_init(&used)), MPS_RES_OK);
  cr_assert_eq(used.ranges, 0);
  cr_assert_eq(prot_none_sets(&used), 0);
  cr_assert_not(prot_none_overflowed(&used));
  cr_assert(prot_none_is(&used, rec_at(0), rec_at(100), PROT_DENY_NONE));
  prot_none_finish(&used);
}

/* prot.h: setup comes before the first set. */
Test(prot_none, a_set_before_setup_is_reported, TEST_NEEDS_CHECKS)
{
  ProtNoneStruct early;
  reports_install();
  prot_set(prot_none_init(&early), rec_at(1), rec_at(2), PROT_DENY_WRITE);
  reports_install_abort();
  cr_assert_gt(reports_seen(), 0, "a set before setup was not reported");
}

Test(prot_none, a_finished_backend_is_rejected, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  ProtNoneStruct gone;
  (void)prot_none_init(&gone);
  prot_none_finish(&gone);
  reports_install_abort();
  (void)prot_none_sets(&gone);
}
