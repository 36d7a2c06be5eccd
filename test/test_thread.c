/* test_thread.c: unit tests for the thread manager (src/thread/thread.h),
 * using POSIX threads directly (Linux).
 *
 * A scan is checked by looking for a marker value: the closure holds the
 * marker's complement, so that the search itself does not put the marker
 * on the stack being scanned.  Helper threads hold their marker in a local
 * variable while spinning in a loop that keeps other values in registers
 * and bumps a counter; while the set is suspended the counters must not
 * move, and after resume they must.
 *
 * Built with CONFIG_THREAD_SINGLE, only the suite thread_single at the end
 * runs: the single-threaded layer, thread_single.c.
 */
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS, and the POSIX interfaces, under -std=c11 too */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/protect/fault.h"
#include "../src/thread/thread.h"
#include "support/configs.h"
#include "support/reports.h"

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static Thread new_thread(void)
{
  Thread t = malloc(thread_size());
  cr_assert_not_null(t);
  return t;
}

/* A visitor reads whole stacks, including the guard bytes AddressSanitizer
 * places around locals, as a conservative collector does. */
#if defined(__GNUC__) || defined(__clang__)
#define SCAN_UNCHECKED __attribute__((no_sanitize_address))
#else
#define SCAN_UNCHECKED
#endif

struct find {
  Word complement;   /* ~marker */
  Count found;       /* words equal to the marker */
  Count areas;       /* calls of the visitor */
};

SCAN_UNCHECKED
static Res visit_find(void *closure, Word *base, Word *limit, ThreadArea area)
{
  struct find *f = closure;
  Word *p;
  (void)area;
  cr_assert(base <= limit);
  ++f->areas;
  for (p = base; p < limit; ++p)
    if (*p == ~f->complement)
      ++f->found;
  return MPS_RES_OK;
}

/* Where a thread's marker was found by a scan, area by area, and how
 * many areas of each kind the scan visited. */
struct area_tally {
  Word complement;
  Count areas[3];
  Count found[3];
};

SCAN_UNCHECKED
static Res visit_tally(void *closure, Word *base, Word *limit, ThreadArea area)
{
  struct area_tally *c = closure;
  Word *p;
  cr_assert(base <= limit);
  ++c->areas[area];
  for (p = base; p < limit; ++p)
    if (*p == ~c->complement)
      ++c->found[area];
  return MPS_RES_OK;
}

static struct area_tally tally(Thread t, Word marker)
{
  struct area_tally c;
  memset(&c, 0, sizeof c);
  c.complement = ~marker;
  cr_assert_eq(thread_scan(t, visit_tally, &c), MPS_RES_OK);
  return c;
}

static Res visit_stop(void *closure, Word *base, Word *limit, ThreadArea area)
{
  (void)area;
  (void)base;
  (void)limit;
  ++*(int *)closure;
  return MPS_RES_LIMIT;
}

/* The operating system's threads: none of this suite runs where the
 * client promised one thread (CONFIG_THREAD_SINGLE); the suite
 * thread_single at the end is for that build. */
TestSuite(thread, TEST_NEEDS_THREADS);

Test(thread, register_deregister)
{
  Thread t = new_thread();
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  cr_assert(thread_check(t));
  cr_assert(thread_is_current(t));
  cr_assert(!thread_is_dead(t));
  thread_deregister(t);
  free(t);
}

/* Without CONFIG_PTHREADEXT_SIGSUSPEND / _SIGRESUME the library suspends
 * with SIGXCPU and resumes with SIGXFSZ (manual/topic/thread.rst), its
 * handlers installed with SA_RESTART by the first registration;
 * test_thread_signals.c builds the layer with the macros. */
Test(thread, default_signals_are_sigxcpu_and_sigxfsz)
{
  Thread self = new_thread();
  struct sigaction sa;
  cr_assert_eq(thread_register(self), MPS_RES_OK);
  cr_assert_eq(sigaction(SIGXCPU, NULL, &sa), 0);
  cr_assert_neq(sa.sa_flags & SA_SIGINFO, 0, "no suspend handler on SIGXCPU");
  cr_assert_neq(sa.sa_flags & SA_RESTART, 0);
  cr_assert_eq(sigaction(SIGXFSZ, NULL, &sa), 0);
  cr_assert(sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN,
            "no resume handler on SIGXFSZ");
  cr_assert_neq(sa.sa_flags & SA_RESTART, 0);
  thread_deregister(self);
  free(self);
}

Test(thread, set_add_remove, .timeout = 20)
{
  thread_set_s set;
  Thread a = new_thread(), b = new_thread();
  thread_set_init(&set);
  cr_assert(thread_set_check(&set));
  cr_assert_eq(thread_register(a), MPS_RES_OK);
  cr_assert_eq(thread_register(b), MPS_RES_OK);   /* registered twice */
  thread_set_add(&set, a);
  thread_set_add(&set, b);
  cr_assert_eq(thread_set_count(&set), 2);
  /* Only the caller is registered: nothing to suspend. */
  cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
  thread_resume_all(&set);
  thread_set_remove(&set, a);
  thread_set_remove(&set, b);
  cr_assert_eq(thread_set_count(&set), 0);
  thread_deregister(a);
  thread_deregister(b);
  thread_set_finish(&set);
  free(a);
  free(b);
}

__attribute__((noinline))
static void scan_self_from_callee(Thread t, struct find *f)
{
  cr_assert_eq(thread_scan(t, visit_find, f), MPS_RES_OK);
}

Test(thread, scan_self_finds_caller_local)
{
  Thread t = new_thread();
  volatile Word held = (Word)0x5CA1AB1E0DDBA11ull ^ (Word)(uintptr_t)&t;
  struct find f = {~(Word)held, 0, 0};
  struct find absent = {~((Word)held + 0x1234567), 0, 0};
  int stops = 0;
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  scan_self_from_callee(t, &f);
  cr_assert_geq(f.found, 1, "a local of a caller frame was not scanned");
  /* A value that is nowhere is not found: the search can fail. */
  scan_self_from_callee(t, &absent);
  cr_assert_eq(absent.found, 0);
  /* The visitor's result stops the scan and is returned. */
  cr_assert_eq(thread_scan(t, visit_stop, &stops), MPS_RES_LIMIT);
  cr_assert_eq(stops, 1);
  thread_deregister(t);
  free(t);
}

/* Below the entry saved by the test: a word of this frame stands for the
 * collector's leftovers in the frames the MPS pushes under the client's. */
__attribute__((noinline))
static void scan_below_entry(Thread t, const thread_entry_s *entry, Word seed,
                             struct find *below, struct find *below_plain,
                             struct find *above)
{
  volatile Word leftover = seed ^ (Word)0x1EF70E4B5AFEC0DEull;
  below->complement = ~(Word)leftover;
  below_plain->complement = ~(Word)leftover;
  cr_assert_eq(thread_scan_from(t, entry, NULL, visit_find, below), MPS_RES_OK);
  cr_assert_eq(thread_scan_from(t, entry, NULL, visit_find, above), MPS_RES_OK);
  cr_assert_eq(thread_scan(t, visit_find, below_plain), MPS_RES_OK);
}

/* design/stack-scan.txt .req.entry: scanned from its entry, the calling
 * thread's stack is the client's frames and the entry's spill, not the
 * frames pushed below the entry. */
Test(thread, a_scan_from_the_entry_skips_the_frames_below_it)
{
  Thread t = new_thread();
  volatile Word held = (Word)0xC0FFEE0DDBA11ull ^ (Word)(uintptr_t)&t;
  struct find above = {~(Word)held, 0, 0};
  struct find below = {0, 0, 0}, below_plain = {0, 0, 0};
  struct find elsewhere = {0, 0, 0}, elsewhere_above = {~(Word)held, 0, 0};
  thread_entry_s entry;
  static Word not_a_stack[4];
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  thread_entry_save(&entry);
  cr_assert_not_null(entry.hot);
  scan_below_entry(t, &entry, (Word)(uintptr_t)&held, &below, &below_plain, &above);
  cr_assert_geq(above.found, 1, "a local of the entry's caller was not scanned");
  cr_assert_eq(below.found, 0, "a word below the entry was scanned");
  /* Plain thread_scan starts at its own frame: the word is found, so the
   * test above can fail. */
  cr_assert_geq(below_plain.found, 1);
  /* An entry not on this thread's stack (or none) is ignored: the scan
   * starts at the current frame again. */
  entry.hot = not_a_stack;
  scan_below_entry(t, &entry, (Word)(uintptr_t)&held, &elsewhere, &below_plain,
                   &elsewhere_above);
  cr_assert_geq(elsewhere.found, 1);
  cr_assert_geq(elsewhere_above.found, 1);
  thread_deregister(t);
  free(t);
}

enum { HELPERS = 3 };

struct helper {
  pthread_t pthread;
  Thread thread;
  Thread again;            /* a second registration, or NULL */
  Word marker;
  bool twice;              /* register twice */
  bool exit_registered;    /* exit without deregistering */
  _Atomic bool ready;
  _Atomic bool stop;
  _Atomic unsigned long counter;
  _Atomic int stray;       /* 1: raise the suspend signal at itself; 2: done */
  int errno_after;         /* errno when it stopped (quiet_helper_main) */
};

static void *helper_main(void *p)
{
  struct helper *h = p;
  volatile Word held = h->marker;
  Word r1 = h->marker * 3, r2 = h->marker ^ 0x77, r3 = 1, r4 = 2;
  Thread t = new_thread();
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  h->thread = t;
  if (h->twice) {
    h->again = new_thread();
    cr_assert_eq(thread_register(h->again), MPS_RES_OK);
  }
  atomic_store(&h->ready, true);
  if (h->exit_registered)
    return NULL;
  while (!atomic_load_explicit(&h->stop, memory_order_relaxed)) {
    r1 += r2 ^ r3;
    r2 = (r2 << 1) | (r4 >> 63);
    r3 += r1;
    r4 ^= r3;
    atomic_fetch_add_explicit(&h->counter, 1, memory_order_relaxed);
  }
  cr_assert_eq(held, h->marker);
  /* Keep the register values alive. */
  atomic_fetch_add_explicit(&h->counter, (unsigned long)(r1 ^ r2 ^ r3 ^ r4) & 1,
                            memory_order_relaxed);
  /* The main thread removed the registrations from the set. */
  thread_deregister(t);
  free(t);
  if (h->again != NULL) {
    thread_deregister(h->again);
    free(h->again);
  }
  return NULL;
}

/* Start a thread running `main` on `h`, which the caller has filled in,
 * and wait until it says it is ready. */
static void start_thread(struct helper *h, void *(*main)(void *))
{
  cr_assert_eq(pthread_create(&h->pthread, NULL, main, h), 0);
  while (!atomic_load(&h->ready))
    sched_yield();
}

static void start_helper(struct helper *h, Word marker)
{
  memset(h, 0, sizeof *h);
  h->marker = marker;
  start_thread(h, helper_main);
}

/* Stop a helper started on `set`, once it is taken off the set. */
static void stop_helper(thread_set_s *set, struct helper *h)
{
  thread_set_remove(set, h->thread);
  atomic_store(&h->stop, true);
  cr_assert_eq(pthread_join(h->pthread, NULL), 0);
}

static unsigned long counter(struct helper *h)
{
  return atomic_load_explicit(&h->counter, memory_order_relaxed);
}

/* Whether a resumed helper counts past `before` within 5 s: on a loaded
 * machine a runnable thread may wait many milliseconds for a CPU, but one
 * left suspended never runs. */
static bool runs_again(struct helper *h, unsigned long before)
{
  int waited;
  for (waited = 0; waited < 5000 && counter(h) == before; ++waited)
    sleep_ms(1);
  return counter(h) != before;
}

Test(thread, suspend_scan_resume, .timeout = 20)
{
  struct helper h[HELPERS];
  thread_set_s set;
  Thread self = new_thread();
  unsigned long before[HELPERS];
  int i, round, stops;
  reports_install();
  thread_set_init(&set);
  cr_assert_eq(thread_register(self), MPS_RES_OK);
  thread_set_add(&set, self);
  for (i = 0; i < HELPERS; ++i) {
    h[i].twice = false;
    start_helper(&h[i], (Word)0xFEEDFACE00000000ull + (Word)i * 0x1111 + 7);
    thread_set_add(&set, h[i].thread);
  }
  for (round = 0; round < 3; ++round) {
    cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
    for (i = 0; i < HELPERS; ++i)
      before[i] = counter(&h[i]);
    sleep_ms(50);
    for (i = 0; i < HELPERS; ++i) {
      struct find f = {~h[i].marker, 0, 0};
      cr_assert_eq(counter(&h[i]), before[i],
                   "thread %d advanced while suspended", i);
      cr_assert_eq(thread_scan(h[i].thread, visit_find, &f), MPS_RES_OK);
      cr_assert_geq(f.found, 1, "marker of thread %d not found", i);
      cr_assert_eq(f.areas, 2);     /* registers, then the stack */
      /* The visitor's result stops the scan at the registers. */
      stops = 0;
      cr_assert_eq(thread_scan(h[i].thread, visit_stop, &stops), MPS_RES_LIMIT);
      cr_assert_eq(stops, 1);
    }
    thread_resume_all(&set);
    for (i = 0; i < HELPERS; ++i)
      cr_assert(runs_again(&h[i], before[i]), "thread %d did not advance after resume", i);
  }
  for (i = 0; i < HELPERS; ++i)
    stop_helper(&set, &h[i]);
  cr_assert_eq(atomic_load(&reports_count), 0);
  thread_set_remove(&set, self);
  thread_deregister(self);
  thread_set_finish(&set);
  free(self);
}

Test(thread, registered_twice, .timeout = 20)
{
  struct helper h;
  thread_set_s set;
  struct find f1, f2;
  unsigned long before;
  reports_install();
  thread_set_init(&set);
  memset(&h, 0, sizeof h);
  h.marker = (Word)0xD0D0CACA12345671ull;
  h.twice = true;
  start_thread(&h, helper_main);
  thread_set_add(&set, h.thread);
  thread_set_add(&set, h.again);
  cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
  before = counter(&h);
  sleep_ms(30);
  cr_assert_eq(counter(&h), before);
  f1 = (struct find){~h.marker, 0, 0};
  f2 = f1;
  cr_assert_eq(thread_scan(h.thread, visit_find, &f1), MPS_RES_OK);
  cr_assert_eq(thread_scan(h.again, visit_find, &f2), MPS_RES_OK);
  cr_assert_geq(f1.found, 1);
  cr_assert_geq(f2.found, 1);
  thread_resume_all(&set);
  cr_assert(runs_again(&h, before), "the thread did not advance after resume");
  thread_set_remove(&set, h.again);
  stop_helper(&set, &h);
  cr_assert_eq(atomic_load(&reports_count), 0);
  thread_set_finish(&set);
}

/* design/thread-manager.txt: the resumer waits until the thread runs
 * again, so a suspension straight after a resumption finds it running;
 * back-to-back cycles neither trip a check nor hang. */
Test(thread, back_to_back_suspensions, .timeout = 20)
{
  struct helper h;
  thread_set_s set;
  unsigned long before;
  int round;
  reports_install();
  thread_set_init(&set);
  start_helper(&h, (Word)0xB0B0B0B012345678ull);
  thread_set_add(&set, h.thread);
  for (round = 0; round < 500; ++round) {
    cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
    thread_resume_all(&set);
  }
  cr_assert_eq(atomic_load(&reports_count), 0, "unexpected failure: %s",
               atomic_load(&reports_last));
  before = counter(&h);
  while (counter(&h) == before)
    sched_yield();
  stop_helper(&set, &h);
  thread_set_finish(&set);
}

/* A helper that calls nothing in its loop (so errno stays as it set it),
 * and on request raises a stray suspend signal at itself. */
static void *quiet_helper_main(void *p)
{
  struct helper *h = p;
  Thread t = new_thread();
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  h->thread = t;
  errno = 4242;
  atomic_store(&h->ready, true);
  while (!atomic_load_explicit(&h->stop, memory_order_relaxed)) {
    if (atomic_load(&h->stray) == 1) {
      /* Delivered to this thread before pthread_kill returns. */
      (void)pthread_kill(pthread_self(), SIGXCPU);
      atomic_store(&h->stray, 2);
    }
    atomic_fetch_add_explicit(&h->counter, 1, memory_order_relaxed);
  }
  h->errno_after = errno;
  thread_deregister(t);
  free(t);
  return NULL;
}

/* The set of a test with one quiet helper, which the test owns; failures
 * are recorded from here on. */
static void start_quiet_helper(thread_set_s *set, struct helper *h)
{
  reports_install();
  thread_set_init(set);
  memset(h, 0, sizeof *h);
  start_thread(h, quiet_helper_main);
  thread_set_add(set, h->thread);
}

/* Stop the quiet helper, and finish its set, with nothing reported. */
static void stop_quiet_helper(thread_set_s *set, struct helper *h)
{
  stop_helper(set, h);
  cr_assert_eq(atomic_load(&reports_count), 0, "unexpected failure: %s",
               atomic_load(&reports_last));
  thread_set_finish(set);
}

/* The suspend handler waits in sigsuspend, which sets errno to EINTR; the
 * interrupted code must find its own errno again. */
Test(thread, a_suspension_leaves_the_thread_errno_alone, .timeout = 20)
{
  struct helper h;
  thread_set_s set;
  int round;
  start_quiet_helper(&set, &h);
  for (round = 0; round < 20; ++round) {
    cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
    thread_resume_all(&set);
  }
  stop_quiet_helper(&set, &h);
  cr_assert_eq(h.errno_after, 4242, "errno became %d", h.errno_after);
}

/* Only the resumer ends a suspension: a resume signal from elsewhere
 * while the thread is stopped leaves it stopped. */
Test(thread, a_stray_resume_signal_does_not_end_a_suspension, .timeout = 20)
{
  struct helper h;
  thread_set_s set;
  unsigned long before;
  start_quiet_helper(&set, &h);
  cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
  before = counter(&h);
  cr_assert_eq(pthread_kill(h.pthread, SIGXFSZ), 0);
  sleep_ms(50);
  cr_assert_eq(counter(&h), before, "the stray resume signal let the thread run");
  thread_resume_all(&set);
  while (counter(&h) == before)
    sched_yield();
  stop_quiet_helper(&set, &h);
}

/* Once a suspension is over, a stray suspend signal at the thread last
 * suspended is ignored like any other (it is no longer the target). */
Test(thread, a_stray_suspend_signal_after_a_suspension_is_ignored, .timeout = 20)
{
  struct helper h;
  thread_set_s set;
  start_quiet_helper(&set, &h);
  cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
  thread_resume_all(&set);
  atomic_store(&h.stray, 1);
  while (atomic_load(&h.stray) != 2)
    sched_yield();
  stop_quiet_helper(&set, &h);
}

/* A registered thread that holds the suspend signal off and exits once
 * it is pending: the suspender, waiting for an acknowledgement that never
 * comes, notices the thread is gone and reports it. */
static void *pending_exit_main(void *p)
{
  struct helper *h = p;
  sigset_t suspend, pending;
  Thread t = new_thread();
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  h->thread = t;
  sigemptyset(&suspend);
  sigaddset(&suspend, SIGXCPU);
  cr_assert_eq(pthread_sigmask(SIG_BLOCK, &suspend, NULL), 0);
  atomic_store(&h->ready, true);
  do {
    sched_yield();
    cr_assert_eq(sigpending(&pending), 0);
  } while (!sigismember(&pending, SIGXCPU));
  return NULL;   /* still registered */
}

Test(thread, a_thread_exiting_while_being_suspended_is_diagnosed, .timeout = 20)
{
  struct helper h;
  thread_set_s set;
  reports_install();
  thread_set_init(&set);
  memset(&h, 0, sizeof h);
  start_thread(&h, pending_exit_main);
  thread_set_add(&set, h.thread);
  cr_assert_eq(thread_suspend_all(&set), MPS_RES_FAIL);
  cr_assert_eq(atomic_load(&reports_count), 1);
  cr_assert(thread_is_dead(h.thread));
  cr_assert_eq(pthread_join(h.pthread, NULL), 0);
  thread_set_remove(&set, h.thread);
  thread_deregister(h.thread);
  free(h.thread);
  thread_set_finish(&set);
}

/* A suspend signal no suspension sent (SIGXCPU from a CPU-time limit,
 * say) finds no target and is ignored: the thread goes on. */
Test(thread, a_stray_suspend_signal_is_ignored)
{
  Thread self = new_thread();
  cr_assert_eq(thread_register(self), MPS_RES_OK);   /* handlers installed */
  /* Delivered to the calling thread before pthread_kill returns. */
  cr_assert_eq(pthread_kill(pthread_self(), SIGXCPU), 0);
  cr_assert_eq(pthread_kill(pthread_self(), SIGXFSZ), 0);
  cr_assert(thread_is_current(self));
  thread_deregister(self);
  free(self);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* A value the suspended thread holds only in a register (design/prmc.txt:
 * the mutator's registers are part of its root).  The helper's marker is
 * made from its complement inside r12 and never stored, and the kernel
 * puts the signal frame below the red zone, so only the captured
 * registers hold it.  A second registration of the same thread (an alias,
 * suspended through the first) must scan the same registers. */
struct reg_helper {
  Word complement;
  Thread thread, again;
  volatile int state;      /* 0 starting, 1 holding the marker, 2 stop */
  pthread_t pthread;
};

/* Start `main` on `h`, with a marker made from `seed`, and put its
 * registration on a new `set` once it holds the marker; failures are
 * recorded from here on. */
static void start_reg_helper(struct reg_helper *h, thread_set_s *set, Word seed,
                             void *(*main)(void *))
{
  reports_install();
  memset(h, 0, sizeof *h);
  h->complement = ~(seed + (Word)(uintptr_t)h % 4093);
  thread_set_init(set);
  cr_assert_eq(pthread_create(&h->pthread, NULL, main, h), 0);
  while (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != 1)
    sched_yield();
  thread_set_add(set, h->thread);
}

static void stop_reg_helper(struct reg_helper *h)
{
  __atomic_store_n(&h->state, 2, __ATOMIC_RELEASE);
  cr_assert_eq(pthread_join(h->pthread, NULL), 0);
}

/* Take the stopped helper's registrations off the set and forget them,
 * and finish the set, with nothing reported. */
static void forget_reg_helper(struct reg_helper *h, thread_set_s *set)
{
  thread_set_remove(set, h->thread);
  thread_deregister(h->thread);
  free(h->thread);
  if (h->again != NULL) {
    thread_set_remove(set, h->again);
    thread_deregister(h->again);
    free(h->again);
  }
  thread_set_finish(set);
  cr_assert_eq(atomic_load(&reports_count), 0);
}

static void *reg_helper_main(void *p)
{
  struct reg_helper *h = p;
  Thread t = new_thread(), again = new_thread();
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  cr_assert_eq(thread_register(again), MPS_RES_OK);
  h->thread = t;
  h->again = again;
  __asm__ volatile("movq %[c], %%r12\n\t"
                   "notq %%r12\n\t"
                   "movl $1, %[st]\n"
                   "1:\n\t"
                   "pause\n\t"
                   "cmpl $2, %[st]\n\t"
                   "jne 1b\n\t"
                   "xorl %%r12d, %%r12d"
                   : [st] "+m"(h->state)
                   : [c] "m"(h->complement)
                   : "r12", "cc", "memory");
  return NULL;
}

Test(thread, a_value_held_only_in_a_register_is_scanned, .timeout = 20)
{
  struct reg_helper h;
  struct area_tally f1, f2;
  thread_set_s set;
  start_reg_helper(&h, &set, (Word)0x5E6157E400000000ull, reg_helper_main);
  thread_set_add(&set, h.again);
  cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
  f1 = tally(h.thread, ~h.complement);
  f2 = tally(h.again, ~h.complement);
  thread_resume_all(&set);
  stop_reg_helper(&h);
  cr_assert_geq(f1.found[THREAD_AREA_REGISTERS], 1, "the register was not scanned");
  cr_assert_geq(f2.found[THREAD_AREA_REGISTERS], 1, "the alias's register was not scanned");
  /* Only the registers had it, so the test can fail. */
  cr_assert_eq(f1.found[THREAD_AREA_STACK], 0);
  forget_reg_helper(&h, &set);
}
#endif

Test(thread, exited_thread_is_diagnosed, .timeout = 20)
{
  struct helper dead, live;
  thread_set_s set;
  struct find f;
  int stops = 0;
  unsigned long before;
  reports_install();
  thread_set_init(&set);
  memset(&dead, 0, sizeof dead);
  dead.marker = 1;
  dead.exit_registered = true;
  cr_assert_eq(pthread_create(&dead.pthread, NULL, helper_main, &dead), 0);
  cr_assert_eq(pthread_join(dead.pthread, NULL), 0);
  start_helper(&live, (Word)0xABCDEF0123456789ull);
  thread_set_add(&set, live.thread);
  thread_set_add(&set, dead.thread);
  /* Reported, and nothing is left suspended. */
  cr_assert_eq(thread_suspend_all(&set), MPS_RES_FAIL);
  cr_assert_eq(atomic_load(&reports_count), 1);
  cr_assert_not_null(strstr(atomic_load(&reports_last), "exited"));
  cr_assert(thread_is_dead(dead.thread));
  cr_assert(!thread_is_dead(live.thread));
  before = counter(&live);
  cr_assert(runs_again(&live, before), "the live thread was left suspended");
  /* A dead thread is never scanned. */
  cr_assert_eq(thread_scan(dead.thread, visit_stop, &stops), MPS_RES_FAIL);
  cr_assert_eq(stops, 0);
  /* Once diagnosed it is skipped, so collection can limp along. */
  cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
  f = (struct find){~live.marker, 0, 0};
  cr_assert_eq(thread_scan(live.thread, visit_find, &f), MPS_RES_OK);
  cr_assert_geq(f.found, 1);
  thread_resume_all(&set);
  cr_assert_eq(atomic_load(&reports_count), 1);
  /* Another thread may deregister the dead one. */
  thread_set_remove(&set, dead.thread);
  thread_deregister(dead.thread);
  free(dead.thread);
  stop_helper(&set, &live);
  thread_set_finish(&set);
}

/* A thread stopped inside a fault handler that runs on an alternate
 * signal stack (as the write barrier's hook may be, waiting for the arena
 * lock; thread_fault_enter): its stack must be scanned from the stack
 * pointer it faulted at, not from the alternate stack where it now is, and
 * the alternate stack must be scanned too (the fault's saved registers). */
static void *alt_page;
static size_t alt_page_size;
static _Atomic int alt_in_hook, alt_release;

static bool alt_hook(void *closure, Addr addr, bool is_write)
{
  (void)closure;
  (void)is_write;
  if ((char *)addr < (char *)alt_page || (char *)addr >= (char *)alt_page + alt_page_size)
    return false;
  atomic_store(&alt_in_hook, 1);
  while (!atomic_load(&alt_release))
    sched_yield();
  cr_assert_eq(mprotect(alt_page, alt_page_size, PROT_READ | PROT_WRITE), 0);
  return true;
}

/* Give the calling thread an alternate signal stack of its own, keeping
 * the one it had in `old`, and return the new one's memory. */
static void *push_alt_stack(stack_t *old)
{
  stack_t alt;
  alt.ss_sp = malloc(1 << 16);
  alt.ss_size = 1 << 16;
  alt.ss_flags = 0;
  cr_assert_not_null(alt.ss_sp);
  cr_assert_eq(sigaltstack(&alt, old), 0);
  return alt.ss_sp;
}

static void pop_alt_stack(const stack_t *old, void *mem)
{
  cr_assert_eq(sigaltstack(old, NULL), 0);
  free(mem);
}

/* Map the page the helpers fault on, and register the hook that holds
 * them there until alt_release. */
static void alt_page_setup(FaultRegStruct *reg)
{
  alt_page_size = (size_t)sysconf(_SC_PAGESIZE);
  alt_page = mmap(NULL, alt_page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(alt_page, MAP_FAILED);
  atomic_store(&alt_in_hook, 0);
  atomic_store(&alt_release, 0);
  cr_assert_eq(fault_register(reg, alt_hook, NULL), MPS_RES_OK);
}

static void alt_page_teardown(FaultRegStruct *reg)
{
  fault_unregister(reg);
  cr_assert_eq(munmap(alt_page, alt_page_size), 0);
}

struct alt_helper {
  Word marker;
  Thread thread;
  _Atomic bool ready;
};

static void *alt_helper_main(void *p)
{
  struct alt_helper *h = p;
  volatile Word held = h->marker;
  stack_t old;
  void *alt = push_alt_stack(&old);
  Thread t = new_thread();
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  h->thread = t;
  atomic_store(&h->ready, true);
  *(volatile Word *)alt_page = held;     /* faults; the hook waits */
  cr_assert_eq(*(volatile Word *)alt_page, h->marker);
  pop_alt_stack(&old, alt);
  return NULL;
}

Test(thread, scans_a_fault_handler_on_an_alternate_stack, .timeout = 20)
{
  struct alt_helper h;
  struct area_tally c;
  thread_set_s set;
  Thread self = new_thread();
  FaultRegStruct reg;
  pthread_t pt;

  alt_page_setup(&reg);
  thread_set_init(&set);
  cr_assert_eq(thread_register(self), MPS_RES_OK);
  thread_set_add(&set, self);
  memset(&h, 0, sizeof h);
  h.marker = (Word)0xA17E57AC00000000ull + 0x4321;
  cr_assert_eq(pthread_create(&pt, NULL, alt_helper_main, &h), 0);
  while (!atomic_load(&h.ready))
    sched_yield();
  thread_set_add(&set, h.thread);
  while (!atomic_load(&alt_in_hook))
    sched_yield();

  cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
  c = tally(h.thread, h.marker);
  cr_assert_eq(c.areas[THREAD_AREA_REGISTERS], 1);
  cr_assert_eq(c.areas[THREAD_AREA_SIGNAL_STACK], 1, "the alternate stack was not scanned");
  cr_assert_eq(c.areas[THREAD_AREA_STACK], 1);
  cr_assert_geq(c.found[THREAD_AREA_REGISTERS] + c.found[THREAD_AREA_SIGNAL_STACK]
                + c.found[THREAD_AREA_STACK], 1, "the faulting frame's local was not found");
  thread_resume_all(&set);

  atomic_store(&alt_release, 1);
  cr_assert_eq(pthread_join(pt, NULL), 0);
  thread_set_remove(&set, h.thread);
  thread_deregister(h.thread);
  free(h.thread);
  thread_set_remove(&set, self);
  thread_deregister(self);
  free(self);
  thread_set_finish(&set);
  alt_page_teardown(&reg);
}

/* thread.h: a fault handler holds off the suspend signal (SIGXCPU unless
 * configured otherwise, manual/topic/thread.rst) until thread_fault_enter,
 * which lets it in; thread_fault_leave holds it off again. */
Test(thread, a_fault_handler_lets_the_suspend_signal_in_only_between_enter_and_leave)
{
  sigset_t set, old, now;
  Word saved;
  sigemptyset(&set);
  thread_fault_signals(&set);
  cr_assert(sigismember(&set, SIGXCPU), "the suspend signal is not held off");
  cr_assert_eq(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  saved = thread_fault_enter(NULL);
  cr_assert_eq(pthread_sigmask(SIG_SETMASK, NULL, &now), 0);
  cr_assert_not(sigismember(&now, SIGXCPU), "enter did not let the suspend signal in");
  thread_fault_leave(saved);
  cr_assert_eq(pthread_sigmask(SIG_SETMASK, NULL, &now), 0);
  cr_assert(sigismember(&now, SIGXCPU), "leave did not hold the suspend signal off");
  cr_assert_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

struct alt_spinner {
  Word marker;
  Thread thread, again;
  _Atomic bool ready, past, stop;
};

/* Like alt_helper_main, registered twice, and spinning once the fault is
 * handled until told to stop. */
static void *alt_spinner_main(void *p)
{
  struct alt_spinner *h = p;
  volatile Word held = h->marker;
  stack_t old;
  void *alt = push_alt_stack(&old);
  Thread t = new_thread(), again = new_thread();
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  cr_assert_eq(thread_register(again), MPS_RES_OK);
  h->thread = t;
  h->again = again;
  atomic_store(&h->ready, true);
  *(volatile Word *)alt_page = held;     /* faults; the hook waits */
  atomic_store(&h->past, true);
  while (!atomic_load(&h->stop))
    sched_yield();
  pop_alt_stack(&old, alt);
  return NULL;
}

/* The alternate stack is scanned whole up to its top (the fault's saved
 * registers hold the value being stored), for an alias registration too;
 * once the thread has left the fault handler a later suspension finds no
 * alternate stack to scan. */
Test(thread, an_alternate_stack_is_scanned_only_while_the_thread_is_on_it, .timeout = 20)
{
  struct alt_spinner h;
  struct area_tally c;
  thread_set_s set;
  FaultRegStruct reg;
  pthread_t pt;

  reports_install();
  alt_page_setup(&reg);
  thread_set_init(&set);
  memset(&h, 0, sizeof h);
  h.marker = (Word)0xA17E57AC00000000ull + 0x9876;
  cr_assert_eq(pthread_create(&pt, NULL, alt_spinner_main, &h), 0);
  while (!atomic_load(&h.ready))
    sched_yield();
  thread_set_add(&set, h.thread);
  thread_set_add(&set, h.again);
  while (!atomic_load(&alt_in_hook))
    sched_yield();

  cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
  c = tally(h.thread, h.marker);
  cr_assert_eq(c.areas[THREAD_AREA_SIGNAL_STACK], 1);
  cr_assert_geq(c.found[THREAD_AREA_SIGNAL_STACK], 1,
                "the fault's saved registers were not scanned");
  c = tally(h.again, h.marker);
  cr_assert_eq(c.areas[THREAD_AREA_SIGNAL_STACK], 1,
               "the alias did not scan the alternate stack");
  cr_assert_geq(c.found[THREAD_AREA_SIGNAL_STACK], 1);
  thread_resume_all(&set);

  atomic_store(&alt_release, 1);
  while (!atomic_load(&h.past))
    sched_yield();
  cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
  c = tally(h.thread, h.marker);
  cr_assert_eq(c.areas[THREAD_AREA_SIGNAL_STACK], 0,
               "an alternate stack left behind was scanned");
  cr_assert_eq(c.areas[THREAD_AREA_STACK], 1);
  thread_resume_all(&set);

  atomic_store(&h.stop, true);
  cr_assert_eq(pthread_join(pt, NULL), 0);
  thread_set_remove(&set, h.thread);
  thread_set_remove(&set, h.again);
  thread_deregister(h.thread);
  thread_deregister(h.again);
  free(h.thread);
  free(h.again);
  thread_set_finish(&set);
  alt_page_teardown(&reg);
  cr_assert_eq(atomic_load(&reports_count), 0);
}

/* thread.h: nested fault handlers each give leave what enter returned, so
 * leaving an inner one restores the outer one's stack pointer and leaving
 * the outermost forgets it (enter then returns 0 again). */
Test(thread, fault_enter_and_leave_nest)
{
  ucontext_t outer, inner;
  sigset_t old;
  Word s0, s1, s2, s3;
  cr_assert_eq(pthread_sigmask(SIG_SETMASK, NULL, &old), 0);
  cr_assert_eq(getcontext(&outer), 0);
  cr_assert_eq(getcontext(&inner), 0);
  s0 = thread_fault_enter(&outer);
  cr_assert_eq(s0, 0, "the outermost enter returned %#lx", (unsigned long)s0);
  s1 = thread_fault_enter(&inner);
  cr_assert_neq(s1, 0, "the outer handler's stack pointer was not noted");
  thread_fault_leave(s1);
  s2 = thread_fault_enter(&inner);
  cr_assert_eq(s2, s1, "leaving the inner handler lost the outer's stack pointer");
  thread_fault_leave(s2);
  thread_fault_leave(s0);
  s3 = thread_fault_enter(NULL);
  cr_assert_eq(s3, 0, "leaving the outermost handler kept its stack pointer");
  thread_fault_leave(s3);
  cr_assert_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* The x86-64 red zone: a leaf function may keep values in the 128 bytes
 * below the stack pointer, which a signal does not disturb, so the scan of
 * a suspended thread starts below it.  The helper makes its marker in a
 * register, stores it 64 bytes below the stack pointer (this frame calls
 * functions, so the compiler keeps nothing there) and clears the
 * register: only the red zone holds it. */
static void *red_zone_main(void *p)
{
  struct reg_helper *h = p;
  Thread t = new_thread();
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  h->thread = t;
  __asm__ volatile("movq %[c], %%rax\n\t"
                   "notq %%rax\n\t"
                   "movq %%rax, -64(%%rsp)\n\t"
                   "xorl %%eax, %%eax\n\t"
                   "movl $1, %[st]\n"
                   "1:\n\t"
                   "pause\n\t"
                   "cmpl $2, %[st]\n\t"
                   "jne 1b\n\t"
                   "movq $0, -64(%%rsp)"
                   : [st] "+m"(h->state)
                   : [c] "m"(h->complement)
                   : "rax", "cc", "memory");
  return NULL;
}

Test(thread, the_red_zone_below_the_stack_pointer_is_scanned, .timeout = 20)
{
  struct reg_helper h;
  struct area_tally c;
  thread_set_s set;
  start_reg_helper(&h, &set, (Word)0x4EDD0E0E00000000ull, red_zone_main);
  cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
  c = tally(h.thread, ~h.complement);
  thread_resume_all(&set);
  stop_reg_helper(&h);
  cr_assert_eq(c.found[THREAD_AREA_REGISTERS], 0);
  cr_assert_geq(c.found[THREAD_AREA_STACK], 1, "the red zone was not scanned");
  forget_reg_helper(&h, &set);
}
#endif

#if defined(CONFIG_THREAD_SINGLE)
/* ---- One thread (thread_single.c) ----
 *
 * The client promised one thread, so every registration is of the
 * calling thread, the world stops at once, and only the calling thread
 * is ever scanned, live. */

/* Where a stack scan went: the stack area's ends, and the marker. */
struct stack_seen {
  Word complement;
  Count found;
  Word *base, *limit;
};

SCAN_UNCHECKED
static Res visit_stack(void *closure, Word *base, Word *limit, ThreadArea area)
{
  struct stack_seen *s = closure;
  Word *p;
  cr_assert_eq(area, THREAD_AREA_STACK);
  s->base = base;
  s->limit = limit;
  for (p = base; p < limit; ++p)
    if (*p == ~s->complement)
      ++s->found;
  return MPS_RES_OK;
}

/* Frames well below the registering one, so that the marker is below the
 * cold end recorded at registration, which is in that frame. */
__attribute__((noinline))
static void scan_deep(Thread t, struct stack_seen *s, int depth)
{
  volatile Word pad[64];
  pad[depth % 64] = (Word)depth;
  if (depth > 0) {
    scan_deep(t, s, depth - 1);
  } else {
    volatile Word held = ~s->complement;
    cr_assert_eq(thread_scan(t, visit_stack, s), MPS_RES_OK);
    cr_assert(s->base <= (Word *)(uintptr_t)&held);
    cr_assert_eq(held, ~s->complement);
  }
  cr_assert_eq(pad[depth % 64], (Word)depth);
}

__attribute__((noinline))
static Thread register_here(void)
{
  Thread t = new_thread();
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  return t;
}

Test(thread_single, the_calling_thread_registers_and_is_current)
{
  Thread t = new_thread(), again = new_thread();
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  cr_assert_eq(thread_register(again), MPS_RES_OK);
  cr_assert(thread_check(t));
  cr_assert(thread_is_current(t));
  cr_assert(thread_is_current(again));
  cr_assert_not(thread_is_dead(t));
  thread_deregister(again);
  thread_deregister(t);
  free(again);
  free(t);
}

/* thread_single.c: without a cold end of the client's, a scan of the
 * calling thread runs from the scanning frame up to just above the
 * registering frame, so it covers what was called after registering. */
Test(thread_single, a_scan_covers_the_frames_below_the_registering_one)
{
  Thread t = register_here();
  volatile Word here = 0;
  struct stack_seen s = {(Word)0x517E5CA7ull ^ (Word)(uintptr_t)&t, 0, NULL, NULL};
  scan_deep(t, &s, 8);
  cr_assert_geq(s.found, 1, "a local of a frame below the registering one was not scanned");
  /* The recorded cold end is in the registering frame: above the frames
   * called after it, below the frame that called it. */
  cr_assert(s.limit > s.base);
  cr_assert(s.limit <= (Word *)(uintptr_t)&here, "the scan went above the registering frame");
  cr_assert(s.limit + 1024 > (Word *)(uintptr_t)&here,
            "the cold end is far from the registering frame");
  thread_deregister(t);
  free(t);
}

/* The world stops at once (there is nobody else), nobody is marked
 * suspended, and a scan with the cold end of the client's (a thread root's)
 * reaches that far: how the registering function's own locals are
 * scanned. */
Test(thread_single, the_world_stops_at_once_and_a_scan_reaches_the_clients_cold_end)
{
  Thread t = new_thread(), again = new_thread();
  thread_set_s set;
  volatile Word held = (Word)0x0DE5CA7E0ull ^ (Word)(uintptr_t)&set;
  Word *cold = (Word *)(uintptr_t)&held + 1;   /* just above it */
  struct find f = {~(Word)held, 0, 0};
  thread_set_init(&set);
  cr_assert_eq(thread_register(t), MPS_RES_OK);
  cr_assert_eq(thread_register(again), MPS_RES_OK);
  thread_set_add(&set, t);
  thread_set_add(&set, again);
  cr_assert_eq(thread_suspend_all(&set), MPS_RES_OK);
  cr_assert_eq(thread_scan_from(t, NULL, cold, visit_find, &f), MPS_RES_OK);
  cr_assert_geq(f.found, 1, "a local below the client's cold end was not scanned");
  cr_assert_eq(f.areas, 1, "only the live stack is scanned");
  thread_resume_all(&set);
  thread_set_remove(&set, again);
  thread_set_remove(&set, t);
  thread_deregister(again);
  thread_deregister(t);
  thread_set_finish(&set);
  free(again);
  free(t);
}
#endif
