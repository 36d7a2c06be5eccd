/* test_thread_signals.c: CONFIG_PTHREADEXT_SIGSUSPEND and
 * CONFIG_PTHREADEXT_SIGRESUME choose the signals of the POSIX thread layer
 * (manual/topic/thread.rst).
 *
 * The macros act when src/thread/thread_posix.c is compiled, and the
 * library every test links was compiled without them.  So this test
 * compiles its own copy of thread_posix.c with the two macros defined,
 * its external functions renamed (their names would otherwise clash with
 * the library's; its static state is private to this file anyway), and
 * drives that copy: the handlers must be on the chosen signals and not
 * on the defaults, and a thread must really stop and go again through
 * them.  test_thread.c checks the defaults through the library itself.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "../src/base/config.h"

#if defined(PLATFORM_POSIX) && !defined(CONFIG_THREAD_SINGLE) && !defined(__APPLE__)

#define CONFIG_PTHREADEXT_SIGSUSPEND SIGUSR1
#define CONFIG_PTHREADEXT_SIGRESUME SIGUSR2

/* Every external name of thread_posix.c, taken from names.h's mapping to
 * the library's names and given this copy's own.  A name added there and
 * missing here shows up as a duplicate symbol when this test is linked. */
#undef thread_os_fault_enter
#define thread_os_fault_enter tsig_os_fault_enter
#undef thread_os_fault_leave
#define thread_os_fault_leave tsig_os_fault_leave
#undef thread_os_fault_signals
#define thread_os_fault_signals tsig_os_fault_signals
#undef thread_os_register
#define thread_os_register tsig_os_register
#undef thread_os_deregister
#define thread_os_deregister tsig_os_deregister
#undef thread_os_is_current
#define thread_os_is_current tsig_os_is_current
#undef thread_os_same
#define thread_os_same tsig_os_same
#undef thread_os_can_suspend
#define thread_os_can_suspend tsig_os_can_suspend
#undef thread_os_begin
#define thread_os_begin tsig_os_begin
#undef thread_os_end
#define thread_os_end tsig_os_end
#undef thread_os_suspend
#define thread_os_suspend tsig_os_suspend
#undef thread_os_resume
#define thread_os_resume tsig_os_resume
#undef thread_os_fork_child
#define thread_os_fork_child tsig_os_fork_child
#undef thread_os_copy_context
#define thread_os_copy_context tsig_os_copy_context
#undef thread_os_context
#define thread_os_context tsig_os_context

#include "../src/thread/thread_posix.c"

/* Whether a handler of this layer is on `sig`, and its flags. */
static bool tsig_handled(int sig, int *flags_return)
{
  struct sigaction sa;
  cr_assert_eq(sigaction(sig, NULL, &sa), 0);
  *flags_return = sa.sa_flags;
  if ((sa.sa_flags & SA_SIGINFO) != 0)
    return sa.sa_sigaction == thread_posix_suspend_handler;
  return sa.sa_handler == thread_posix_resume_handler;
}

Test(thread_signals, the_macros_choose_the_signals)
{
  struct thread_os_s os;
  Word *cold;
  int flags;
  cr_assert(tsig_os_register(&os, &cold));
  cr_assert(tsig_handled(SIGUSR1, &flags), "no suspend handler on SIGUSR1");
  cr_assert_neq(flags & SA_SIGINFO, 0);
  cr_assert_neq(flags & SA_RESTART, 0);
  cr_assert(tsig_handled(SIGUSR2, &flags), "no resume handler on SIGUSR2");
  cr_assert_neq(flags & SA_RESTART, 0);
  cr_assert_not(tsig_handled(SIGXCPU, &flags), "a handler on the default SIGXCPU");
  cr_assert_not(tsig_handled(SIGXFSZ, &flags), "a handler on the default SIGXFSZ");
  tsig_os_deregister(&os);
}

/* A helper registers itself, then counts until told to stop. */
typedef struct tsig_helper_s {
  struct thread_os_s os;
  atomic_bool registered;
  atomic_bool stop;
  _Atomic unsigned long count;
} tsig_helper_s;

static void *tsig_helper(void *arg)
{
  tsig_helper_s *h = arg;
  Word *cold;
  cr_assert(tsig_os_register(&h->os, &cold));
  atomic_store(&h->registered, true);
  while (!atomic_load(&h->stop))
    atomic_fetch_add(&h->count, 1);
  return NULL;
}

static void tsig_sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

Test(thread_signals, a_thread_stops_and_goes_on_the_chosen_signals, .timeout = 20)
{
  static tsig_helper_s h;
  pthread_t pthread;
  unsigned long before;
  Word *base, *limit, *sp, *alt_base, *alt_limit;
  int round, waited;
  cr_assert_eq(pthread_create(&pthread, NULL, tsig_helper, &h), 0);
  while (!atomic_load(&h.registered))
    tsig_sleep_ms(1);
  for (round = 0; round < 3; ++round) {
    tsig_os_begin();
    cr_assert(tsig_os_suspend(&h.os));
    before = atomic_load(&h.count);
    tsig_sleep_ms(30);
    cr_assert_eq(atomic_load(&h.count), before, "the helper ran while suspended");
    tsig_os_context(&h.os, &base, &limit, &sp, &alt_base, &alt_limit);
    cr_assert_not_null(sp);
    tsig_os_resume(&h.os);
    tsig_os_end();
    /* Runnable again, though on a loaded machine it may wait a while for
     * a CPU: up to 5 s. */
    for (waited = 0; waited < 5000 && atomic_load(&h.count) == before; ++waited)
      tsig_sleep_ms(1);
    cr_assert_gt(atomic_load(&h.count), before, "the helper did not go on");
  }
  atomic_store(&h.stop, true);
  cr_assert_eq(pthread_join(pthread, NULL), 0);
  tsig_os_deregister(&h.os);
}

#endif /* POSIX threads other than macOS */
