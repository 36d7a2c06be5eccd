/* test_prot.c: the hardware protection backend (src/protect/prot_os.h)
 * and the fault handler (src/protect/fault.h), on real memory.
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
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/os/vm.h"
#include "../src/protect/fault.h"
#include "../src/protect/prot_os.h"
#include "support/checks.h"
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

static void write_byte(Addr a, Byte v)
{
  *(volatile Byte *)addr_ptr(a) = v;
}

static Byte read_byte(Addr a)
{
  return *(volatile Byte *)addr_ptr(a);
}

Test(prot, write_fault_is_handled_and_retried, .init = setup)
{
  FaultRegStruct reg;
  Addr target = addr_add(page_addr(1), 17);

  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  cr_assert_eq(prot_os_apply(&po, page_addr(1), page_addr(2), PROT_DENY_WRITE),
               MPS_RES_OK);
  cr_assert_eq(read_byte(target), 0, "reading a write-protected page");
  cr_assert_eq(hook_calls, 0, "a read of a write-protected page faulted");
  write_byte(target, 42);
  cr_assert_eq(hook_calls, 1);
  cr_assert_eq(hook_addr, addr_word(target));
  if (fault_write_known())
    cr_assert_eq(hook_write, 1, "the write was reported as a read");
  else
    cr_assert_eq(hook_write, 1, "unknown access kind must be reported as a write");
  cr_assert_eq(hook_fail, 0);
  cr_assert_eq(read_byte(target), 42, "the retried write did not land");
  write_byte(target, 43);
  cr_assert_eq(hook_calls, 1, "an unprotected page faulted");
  fault_unregister(&reg);
  prot_os_finish(&po);
  vm_finish(&vm);
}

Test(prot, read_fault_is_handled_and_retried, .init = setup)
{
  FaultRegStruct reg;
  Addr target = addr_add(page_addr(2), 100);

  write_byte(target, 7);
  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  cr_assert_eq(prot_os_apply(&po, page_addr(2), page_addr(3), PROT_DENY_READ),
               MPS_RES_OK);
  cr_assert_eq(read_byte(target), 7);
  cr_assert_eq(hook_calls, 1);
  cr_assert_eq(hook_addr, addr_word(target));
  if (fault_write_known())
    cr_assert_eq(hook_write, 0, "the read was reported as a write");
  fault_unregister(&reg);
  prot_os_finish(&po);
  vm_finish(&vm);
}

Test(prot, deny_all_then_write, .init = setup)
{
  FaultRegStruct reg;
  Addr target = addr_add(page_addr(0), 5);

  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  cr_assert_eq(prot_os_apply(&po, page_addr(0), page_addr(1), PROT_DENY_ALL),
               MPS_RES_OK);
  write_byte(target, 9);
  cr_assert_eq(hook_calls, 1);
  cr_assert_eq(hook_addr, addr_word(target));
  if (fault_write_known())
    cr_assert_eq(hook_write, 1);
  cr_assert_eq(read_byte(target), 9);
  fault_unregister(&reg);
  prot_os_finish(&po);
  vm_finish(&vm);
}

/* Protect several pages at once; each write faults once, on its own page. */
Test(prot, range_of_pages, .init = setup)
{
  FaultRegStruct reg;
  Index i;

  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  cr_assert_eq(prot_os_apply(&po, page_addr(1), page_addr(5), PROT_DENY_WRITE),
               MPS_RES_OK);
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
  prot_os_finish(&po);
  vm_finish(&vm);
}

/* Lowering protection restores access with no fault at all. */
Test(prot, unprotect_restores_access, .init = setup)
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
  prot_os_finish(&po);
  vm_finish(&vm);
}

/* The backend through the generic interface the shield uses. */
Test(prot, through_the_function_table, .init = setup)
{
  FaultRegStruct reg;
  Prot prot = &po.prot;
  vm_s gone;
  Addr gone_base;

  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  prot_set(prot, page_addr(2), page_addr(4), PROT_DENY_WRITE);
  write_byte(page_addr(3), 1);
  cr_assert_eq(hook_calls, 1);
  cr_assert_eq(hook_addr, addr_word(page_addr(3)));
  cr_assert_eq(prot_os_sets(&po), 1);
  cr_assert_eq(prot_os_failure(&po), MPS_RES_OK);

  /* An address range nobody has mapped: the failure is kept. */
  cr_assert_eq(vm_init(&gone, page, page), MPS_RES_OK);
  gone_base = vm_base(&gone);
  vm_finish(&gone);
  prot_set(prot, gone_base, addr_add(gone_base, page), PROT_DENY_WRITE);
  cr_assert_eq(prot_os_failure(&po), MPS_RES_MEMORY);
  prot_set(prot, page_addr(2), page_addr(4), PROT_DENY_NONE);
  cr_assert_eq(prot_os_failure(&po), MPS_RES_MEMORY, "the first failure is kept");
  fault_unregister(&reg);
  prot_os_finish(&po);
  vm_finish(&vm);
}

Test(prot, unmapped_range_is_an_error, .init = setup)
{
  vm_s gone;
  Addr gone_base;
  cr_assert_eq(vm_init(&gone, 2 * page, page), MPS_RES_OK);
  gone_base = vm_base(&gone);
  vm_finish(&gone);
  cr_assert_eq(prot_os_apply(&po, gone_base, addr_add(gone_base, 2 * page),
                             PROT_DENY_ALL),
               MPS_RES_MEMORY);
  prot_os_finish(&po);
  vm_finish(&vm);
}

/* Bad ranges: an assertion in checking varieties, MPS_RES_PARAM if the
 * assertion handler returns (as the hot default does). */
static volatile int assertions;

static void count_assertion(const char *file, unsigned line, const char *cond)
{
  UNUSED(file);
  UNUSED(line);
  UNUSED(cond);
  ++assertions;
}

Test(prot, bad_ranges, .init = setup)
{
  mps_lib_assert_fail_t old = mps_lib_assert_fail_install(count_assertion);
  assertions = 0;
  cr_assert_eq(prot_os_apply(&po, addr_add(base, 1), page_addr(1),
                             PROT_DENY_WRITE), MPS_RES_PARAM);
  cr_assert(CHECK_LEVEL == 0 || assertions > 0);
  assertions = 0;
  cr_assert_eq(prot_os_apply(&po, base, addr_add(page_addr(1), 8),
                             PROT_DENY_WRITE), MPS_RES_PARAM);
  cr_assert(CHECK_LEVEL == 0 || assertions > 0);
  assertions = 0;
  cr_assert_eq(prot_os_apply(&po, page_addr(1), page_addr(1),
                             PROT_DENY_WRITE), MPS_RES_PARAM);
  cr_assert(CHECK_LEVEL == 0 || assertions > 0);
  assertions = 0;
  cr_assert_eq(prot_os_apply(&po, page_addr(2), page_addr(1),
                             PROT_DENY_WRITE), MPS_RES_PARAM);
  cr_assert(CHECK_LEVEL == 0 || assertions > 0);
  assertions = 0;
  cr_assert_eq(prot_os_apply(&po, page_addr(1), page_addr(2), 4u),
               MPS_RES_PARAM);
  cr_assert(CHECK_LEVEL == 0 || assertions > 0);
  mps_lib_assert_fail_install(old);
  /* Nothing was changed by the refused calls. */
  write_byte(page_addr(0), 1);
  write_byte(page_addr(1), 1);
  prot_os_finish(&po);
  vm_finish(&vm);
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

static void install_prev_handler(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = prev_handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGSEGV, &sa, NULL), 0);
  cr_assert_eq(sigaction(SIGBUS, &sa, NULL), 0);
  prev_calls = 0;
}

Test(prot, unhandled_fault_reaches_previous_handler, .init = setup)
{
  FaultRegStruct reg;
  Addr target = addr_add(page_addr(4), 8);

  install_prev_handler();
  cr_assert_eq(fault_register(&reg, hook_decline, NULL), MPS_RES_OK);
  cr_assert_eq(prot_os_apply(&po, page_addr(4), page_addr(5), PROT_DENY_ALL),
               MPS_RES_OK);
  if (sigsetjmp(prev_env, 1) == 0) {
    write_byte(target, 1);
    cr_assert_fail("the write to a protected page did not fault");
  }
  cr_assert_eq(hook_calls, 1, "the hook was not asked");
  cr_assert_eq(hook_addr, addr_word(target));
#if !defined(__linux__)
  if (prev_calls == 0)
    cr_skip_test("the fault came as SIGBUS");
#endif
  cr_assert_eq(prev_calls, 1, "the previous handler was not reached");
  cr_assert_eq(prev_addr, addr_word(target));

  /* Unregistered, the hook is not asked any more, and the fault still
   * reaches the previous handler. */
  fault_unregister(&reg);
  if (sigsetjmp(prev_env, 1) == 0) {
    (void)read_byte(target);
    cr_assert_fail("the read of a protected page did not fault");
  }
  cr_assert_eq(hook_calls, 1);
  cr_assert_eq(prev_calls, 2);
  cr_assert_eq(prot_os_apply(&po, page_addr(4), page_addr(5), PROT_DENY_NONE),
               MPS_RES_OK);
  prot_os_finish(&po);
  vm_finish(&vm);
}

/* A previous handler of the plain kind (sa_handler, without SA_SIGINFO)
 * is called as such, with the signal number only. */
static void plain_prev_handler(int sig)
{
  if (sig == SIGSEGV || sig == SIGBUS)
    ++prev_calls;
  siglongjmp(prev_env, 1);
}

Test(prot, unhandled_fault_reaches_a_plain_previous_handler, .init = setup)
{
  FaultRegStruct reg;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = plain_prev_handler;
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGSEGV, &sa, NULL), 0);
  cr_assert_eq(sigaction(SIGBUS, &sa, NULL), 0);
  prev_calls = 0;
  cr_assert_eq(fault_register(&reg, hook_decline, NULL), MPS_RES_OK);
  cr_assert_eq(prot_os_apply(&po, page_addr(2), page_addr(3), PROT_DENY_ALL),
               MPS_RES_OK);
  if (sigsetjmp(prev_env, 1) == 0) {
    write_byte(addr_add(page_addr(2), 16), 1);
    cr_assert_fail("the write to a protected page did not fault");
  }
  cr_assert_eq(hook_calls, 1, "the hook was not asked");
  cr_assert_eq(prev_calls, 1, "the previous handler was not reached");
  fault_unregister(&reg);
  cr_assert_eq(prot_os_apply(&po, page_addr(2), page_addr(3), PROT_DENY_NONE),
               MPS_RES_OK);
  prot_os_finish(&po);
  vm_finish(&vm);
}

/* A signal sent by the process is not a fault: the hooks are not shown
 * it, and it goes to the previous handler. */
Test(prot, sent_signal_is_passed_on, .init = setup)
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
  prot_os_finish(&po);
  vm_finish(&vm);
}

/* A signal sent by kill() is not a fault either: on Linux its si_code,
 * SI_USER, is 0, where a fault's is positive.  kill() itself may deliver
 * it to any thread of the process, so the same siginfo is queued to this
 * thread alone. */
Test(prot, signal_sent_as_by_kill_is_passed_on, .init = setup)
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
  prot_os_finish(&po);
  vm_finish(&vm);
}

/* A sent signal that the disposition before ours ignored is still
 * ignored: the sender meant nothing by it, and the default action would
 * end the process. */
Test(prot, sent_signal_ignored_before_stays_ignored, .init = setup)
{
  FaultRegStruct reg;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGSEGV, &sa, NULL), 0);
  cr_assert_eq(fault_register(&reg, hook_unprotect, &po), MPS_RES_OK);
  cr_assert_eq(raise(SIGSEGV), 0);
  cr_assert_eq(hook_calls, 0);
  fault_unregister(&reg);
  prot_os_finish(&po);
  vm_finish(&vm);
}

/* A hook may change errno (its own system calls do when they fail); the
 * code whose access faulted must find errno as it left it. */
static bool hook_unprotect_errno(void *closure, Addr addr, bool is_write)
{
  errno = EDOM;
  return hook_unprotect(closure, addr, is_write);
}

Test(prot, a_handled_fault_keeps_errno, .init = setup)
{
  FaultRegStruct reg;
  int seen;
  cr_assert_eq(fault_register(&reg, hook_unprotect_errno, &po), MPS_RES_OK);
  cr_assert_eq(prot_os_apply(&po, page_addr(3), page_addr(4), PROT_DENY_WRITE),
               MPS_RES_OK);
  errno = ERANGE;
  write_byte(addr_add(page_addr(3), 24), 9);
  seen = errno;
  cr_assert_eq(hook_calls, 1);
  cr_assert_eq(seen, ERANGE, "errno was %d after the fault", seen);
  cr_assert_eq(read_byte(addr_add(page_addr(3), 24)), 9);
  fault_unregister(&reg);
  prot_os_finish(&po);
  vm_finish(&vm);
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

Test(prot, unhandled_fault_takes_default_action, .init = setup,
     .signal = PROT_TEST_FAULT_SIGNAL)
{
  FaultRegStruct reg;
#if PROT_TEST_FAULT_SIGNAL == 0
  cr_skip_test("the default action is not SIGSEGV's here");
  return;
#endif
  cr_assert_eq(fault_register(&reg, hook_decline, NULL), MPS_RES_OK);
  cr_assert_eq(prot_os_apply(&po, page_addr(0), page_addr(1), PROT_DENY_WRITE),
               MPS_RES_OK);
  write_byte(page_addr(0), 1);
  cr_assert_fail("the write to a protected page did not fault");
}

/* Several hooks: each is asked in turn until one claims the fault. */
Test(prot, second_hook_claims, .init = setup)
{
  FaultRegStruct first, second;
  cr_assert_eq(fault_register(&first, hook_decline, NULL), MPS_RES_OK);
  cr_assert_eq(fault_register(&second, hook_unprotect, &po), MPS_RES_OK);
  cr_assert_eq(prot_os_apply(&po, page_addr(1), page_addr(2), PROT_DENY_WRITE),
               MPS_RES_OK);
  write_byte(page_addr(1), 5);
  cr_assert_eq(hook_calls, 2, "both hooks should have been asked");
  cr_assert_eq(read_byte(page_addr(1)), 5);
  fault_unregister(&first);
  fault_unregister(&second);
  prot_os_finish(&po);
  vm_finish(&vm);
}

/* The table is bounded, and a freed slot can be used again. */
Test(prot, registration_limit, .init = setup)
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
  cr_assert_eq(prot_os_apply(&po, page_addr(0), page_addr(1), PROT_DENY_WRITE),
               MPS_RES_OK);
  write_byte(page_addr(0), 1);
  cr_assert_eq(hook_calls, 4, "hooks 0-2 decline, then the new hook 3 claims");
  for (i = 0; i < FAULT_SLOTS; ++i)
    fault_unregister(&reg[i]);
  prot_os_finish(&po);
  vm_finish(&vm);
}

static void abort_on_assertion(const char *file, unsigned line, const char *cond)
{
  UNUSED(file);
  UNUSED(line);
  UNUSED(cond);
  abort();
}

Test(prot, use_after_unregister, .init = setup, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  FaultRegStruct reg;
  cr_assert_eq(fault_register(&reg, hook_decline, NULL), MPS_RES_OK);
  fault_unregister(&reg);
  mps_lib_assert_fail_install(abort_on_assertion);
  fault_unregister(&reg);
}
