/* test_fork.c: the library across fork() (src/thread/fork.h; the lock
 * and thread parts in lock.c and thread.c; design/thread-safety.txt,
 * "Fork safety").
 *
 * Each test forks from inside its Criterion process; a child reports by
 * its exit code (0: everything held) and stops itself with alarm() if it
 * deadlocks, so a lock left held across the fork shows up as SIGALRM.
 */
#define _DEFAULT_SOURCE   /* usleep, and the POSIX interfaces, under -std=c11 too */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscmvff.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/thread/fork.h"
#include "../src/thread/lock.h"
#include "support/objfmt.h"
#include "support/reports.h"

#define W sizeof(mps_word_t)

/* How long a child may take before it counts as deadlocked. */
#define TFORK_CHILD_SECONDS 20

/* Wait for the child and assert it exited with 0. */
static void tfork_expect_child_ok(pid_t pid)
{
  int status;
  cr_assert(pid > 0);
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status), "the child was stopped by signal %d%s",
            WIFSIGNALED(status) ? WTERMSIG(status) : 0,
            WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM
                ? " (SIGALRM: it deadlocked)" : "");
  cr_assert_eq(WEXITSTATUS(status), 0, "the child failed check %d", WEXITSTATUS(status));
}

/* ---- the registrations and their phases ---- */

typedef struct tfork_log_s {
  int phases[8];
  int n;
} tfork_log_s;

static void tfork_log_hook(void *closure, ForkPhase phase)
{
  tfork_log_s *log = closure;
  if (log->n < 8)
    log->phases[log->n] = (int)phase;
  ++log->n;
}

Test(fork, a_hook_sees_prepare_then_parent_or_child_and_nothing_once_deregistered)
{
  fork_reg_s reg;
  tfork_log_s log = {{0}, 0};
  pid_t pid;
  cr_assert_eq(fork_register(&reg, tfork_log_hook, &log), MPS_RES_OK);
  pid = fork();
  if (pid == 0) {
    /* The child's copy of the log: prepare before the fork, child after. */
    _exit(log.n == 2 && log.phases[0] == FORK_PREPARE && log.phases[1] == FORK_CHILD ? 0 : 1);
  }
  tfork_expect_child_ok(pid);
  cr_assert_eq(log.n, 2);
  cr_assert_eq(log.phases[0], FORK_PREPARE);
  cr_assert_eq(log.phases[1], FORK_PARENT);
  fork_deregister(&reg);
  pid = fork();
  if (pid == 0)
    _exit(log.n == 2 ? 0 : 1);
  tfork_expect_child_ok(pid);
  cr_assert_eq(log.n, 2, "a hook ran after its deregistration");
}

/* Each arena registers its own hook: every one hears each fork once,
 * however many registrations installed the process's handlers. */
Test(fork, every_registration_hears_each_fork_once)
{
  fork_reg_s regs[3];
  tfork_log_s logs[3];
  pid_t pid;
  int i;
  memset(logs, 0, sizeof logs);
  for (i = 0; i < 3; ++i)
    cr_assert_eq(fork_register(&regs[i], tfork_log_hook, &logs[i]), MPS_RES_OK);
  pid = fork();
  if (pid == 0) {
    for (i = 0; i < 3; ++i)
      if (logs[i].n != 2 || logs[i].phases[0] != FORK_PREPARE
          || logs[i].phases[1] != FORK_CHILD)
        _exit(1 + i);
    _exit(0);
  }
  tfork_expect_child_ok(pid);
  for (i = 0; i < 3; ++i) {
    cr_assert_eq(logs[i].n, 2, "registration %d heard %d phases", i, logs[i].n);
    cr_assert_eq(logs[i].phases[0], FORK_PREPARE);
    cr_assert_eq(logs[i].phases[1], FORK_PARENT);
  }
  for (i = 0; i < 3; ++i)
    fork_deregister(&regs[i]);
}

/* ---- the global locks ---- */

/* A thread churns the global locks while the main thread forks: the
 * handlers hold both across the fork, so the child can always claim them
 * and the parent gets them back. */
static atomic_bool tfork_stop;

static void *tfork_churn_globals(void *p)
{
  (void)p;
  /* relaxed: only a stop request; no data is published through it. */
  while (!atomic_load_explicit(&tfork_stop, memory_order_relaxed)) {
    lock_claim_global();
    lock_release_global();
    lock_claim_global_recursive();
    lock_release_global_recursive();
  }
  return NULL;
}

static void tfork_nothing(void *closure, ForkPhase phase)
{
  (void)closure;
  (void)phase;
}

Test(fork, the_child_can_claim_the_global_locks_another_thread_was_churning)
{
  fork_reg_s reg;
  pthread_t t;
  int i;
  cr_assert_eq(fork_register(&reg, tfork_nothing, NULL), MPS_RES_OK);
  atomic_store(&tfork_stop, false);
  cr_assert_eq(pthread_create(&t, NULL, tfork_churn_globals, NULL), 0);
  for (i = 0; i < 20; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      alarm(TFORK_CHILD_SECONDS);
      lock_claim_global();
      lock_claim_global_recursive();
      lock_release_global_recursive();
      lock_release_global();
      _exit(0);
    }
    tfork_expect_child_ok(pid);
  }
  atomic_store(&tfork_stop, true);
  cr_assert_eq(pthread_join(t, NULL), 0);
  lock_claim_global();
  lock_release_global();
  fork_deregister(&reg);
}

/* ---- an arena another thread was inside ---- */

static mps_arena_t tfork_arena;
static mps_pool_t tfork_pool;

/* Allocates and frees in tfork_pool, and collects now and then, until
 * told to stop: most of the time it is inside the arena. */
static void *tfork_churn_arena(void *p)
{
  unsigned i = 0;
  (void)p;
  while (!atomic_load_explicit(&tfork_stop, memory_order_relaxed)) {
    void *q;
    size_t size = 16 + (i % 64) * 48;
    if (mps_alloc(&q, tfork_pool, size) == MPS_RES_OK) {
      memset(q, 0xA5, size);
      mps_free(tfork_pool, q, size);
    }
    if (++i % 256 == 0)
      mps_arena_collect(tfork_arena);
  }
  return NULL;
}

Test(fork, a_child_uses_the_arena_that_another_thread_was_inside)
{
  pthread_t t;
  int i;
  cr_assert_eq(mps_arena_create_k(&tfork_arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_pool_create_k(&tfork_pool, tfork_arena, mps_class_mvff(), mps_args_none),
               MPS_RES_OK);
  atomic_store(&tfork_stop, false);
  cr_assert_eq(pthread_create(&t, NULL, tfork_churn_arena, NULL), 0);
  for (i = 0; i < 20; ++i) {
    pid_t pid;
    usleep(1000);
    pid = fork();
    if (pid == 0) {
      void *q[64];
      int j;
      alarm(TFORK_CHILD_SECONDS);
      reports_install();
      for (j = 0; j < 64; ++j) {
        if (mps_alloc(&q[j], tfork_pool, 100) != MPS_RES_OK)
          _exit(1);
        memset(q[j], j, 100);
      }
      mps_arena_collect(tfork_arena);
      for (j = 0; j < 64; ++j) {
        if (((unsigned char *)q[j])[99] != j)
          _exit(2);
        mps_free(tfork_pool, q[j], 100);
      }
      mps_pool_destroy(tfork_pool);
      mps_arena_destroy(tfork_arena);
      _exit(reports_seen() == 0 ? 0 : 3);
    }
    tfork_expect_child_ok(pid);
  }
  atomic_store(&tfork_stop, true);
  cr_assert_eq(pthread_join(t, NULL), 0);
  /* The parent got its arena lock back. */
  {
    void *q;
    cr_assert_eq(mps_alloc(&q, tfork_pool, 64), MPS_RES_OK);
    mps_free(tfork_pool, q, 64);
  }
  mps_pool_destroy(tfork_pool);
  mps_arena_destroy(tfork_arena);
}

/* ---- registered threads ---- */

/* A second registered thread with a thread root, holding an object of
 * its own only on its stack, parked on a condition variable until told
 * to check the object and leave. */
typedef struct tfork_other_s {
  mps_ap_t ap;
  mps_thr_t thr;           /* its registration and root, for the child */
  mps_root_t root;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int state;               /* 0 starting, 1 parked, 2 go on, 3 done */
  bool intact;             /* its object survived the parent's collection */
} tfork_other_s;

static mps_addr_t tfork_new(mps_ap_t ap, mps_word_t id)
{
  mps_addr_t p;
  size_t size = 5 * W;     /* header, nrefs, one reference, two data words */
  do {
    cr_assert_eq(mps_reserve(&p, ap, size), MPS_RES_OK);
    objfmt_init_id(p, 1, 2, id);
  } while (!mps_commit(ap, p, size));
  return p;
}

static void *tfork_other_body(void *p)
{
  tfork_other_s *o = p;
  void *volatile held;
  cr_assert_eq(mps_thread_reg(&o->thr, tfork_arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_thread(&o->root, tfork_arena, o->thr,
                                      (char *)&held + sizeof held), MPS_RES_OK);
  held = tfork_new(o->ap, 200);
  pthread_mutex_lock(&o->mutex);
  o->state = 1;
  pthread_cond_broadcast(&o->cond);
  while (o->state != 2)
    pthread_cond_wait(&o->cond, &o->mutex);
  o->intact = objfmt_is_id(held, 1, 2, 200);
  o->state = 3;
  pthread_cond_broadcast(&o->cond);
  pthread_mutex_unlock(&o->mutex);
  mps_root_destroy(o->root);
  mps_thread_dereg(o->thr);
  return NULL;
}

/* A format, a one-generation chain and tfork_pool, an AMC pool of them,
 * in tfork_arena. */
static void tfork_amc_open(mps_fmt_t *fmt_o, mps_chain_t *chain_o)
{
  mps_gen_param_s gens[1] = {{256, 0.5}};
  cr_assert_eq(objfmt_create(fmt_o, tfork_arena, objfmt_scan, true), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(chain_o, tfork_arena, 1, gens), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, *fmt_o);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, *chain_o);
    cr_assert_eq(mps_pool_create_k(&tfork_pool, tfork_arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
}

/* Destroy the arena of the test below and everything in it that is
 * still there: in the child and, after the other thread has gone, in the
 * parent. */
static void tfork_teardown(mps_ap_t ap, mps_ap_t other_ap, mps_chain_t chain, mps_fmt_t fmt,
                           mps_root_t root, mps_thr_t thr)
{
  mps_arena_park(tfork_arena);
  mps_ap_destroy(ap);
  mps_ap_destroy(other_ap);
  mps_pool_destroy(tfork_pool);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_root_destroy(root);
  mps_thread_dereg(thr);
  mps_arena_destroy(tfork_arena);
}

Test(fork, the_forking_thread_stays_registered_in_the_child_and_the_others_are_dead)
{
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_thr_t thr;
  mps_root_t root;
  tfork_other_s other;
  pthread_t t;
  void *volatile held;
  pid_t pid;

  cr_assert_eq(mps_arena_create_k(&tfork_arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_thread_reg(&thr, tfork_arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_thread(&root, tfork_arena, thr, (char *)&held + sizeof held),
               MPS_RES_OK);
  tfork_amc_open(&fmt, &chain);
  memset(&other, 0, sizeof other);
  cr_assert_eq(mps_ap_create_k(&other.ap, tfork_pool, mps_args_none), MPS_RES_OK);
  pthread_mutex_init(&other.mutex, NULL);
  pthread_cond_init(&other.cond, NULL);
  cr_assert_eq(pthread_create(&t, NULL, tfork_other_body, &other), 0);
  pthread_mutex_lock(&other.mutex);
  while (other.state != 1)
    pthread_cond_wait(&other.cond, &other.mutex);
  pthread_mutex_unlock(&other.mutex);

  {
    mps_ap_t ap;
    cr_assert_eq(mps_ap_create_k(&ap, tfork_pool, mps_args_none), MPS_RES_OK);
    held = tfork_new(ap, 100);   /* only on this thread's stack */
    pid = fork();
    if (pid == 0) {
      /* The forking thread is still registered: a collection scans its
       * stack and keeps `held`.  The other thread is gone: no report
       * that it exited registered, and its root scans nothing. */
      int i;
      alarm(TFORK_CHILD_SECONDS);
      reports_install();
      mps_arena_collect(tfork_arena);
      for (i = 0; i < 20000; ++i)
        (void)tfork_new(ap, (mps_word_t)i);
      mps_arena_collect(tfork_arena);
      if (!objfmt_is_id(held, 1, 2, 100))
        _exit(1);
      /* Everything can be taken down, the dead thread's root and
       * registration included. */
      mps_root_destroy(other.root);
      mps_thread_dereg(other.thr);
      tfork_teardown(ap, other.ap, chain, fmt, root, thr);
      if (reports_seen() != 0)
        _exit(2);
      _exit(0);
    }
    tfork_expect_child_ok(pid);
    /* In the parent, both threads are still registered and scanned. */
    mps_arena_collect(tfork_arena);
    cr_assert(objfmt_is_id(held, 1, 2, 100));
    pthread_mutex_lock(&other.mutex);
    other.state = 2;
    pthread_cond_broadcast(&other.cond);
    while (other.state != 3)
      pthread_cond_wait(&other.cond, &other.mutex);
    pthread_mutex_unlock(&other.mutex);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert(other.intact, "the other thread's object did not survive in the parent");
    tfork_teardown(ap, other.ap, chain, fmt, root, thr);
  }
}

/* ---- fork() from inside the arena ---- */

static int tfork_walk_forks;

/* A walk's callback runs with the arena lock held: forking there is a
 * client error, reported once in every variety (rash included: the arena
 * reports it directly, as it does a thread that exited registered), after
 * which the walk and the arena go on as if nothing had happened. */
static void tfork_fork_in_walk(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  pid_t pid;
  (void)addr;
  (void)fmt;
  (void)pool;
  (void)p;
  (void)s;
  if (tfork_walk_forks++ > 0)
    return;
  pid = fork();
  if (pid == 0)
    _exit(0);
  tfork_expect_child_ok(pid);
}

Test(fork, a_fork_from_a_callback_inside_the_arena_is_reported_once_and_changes_nothing)
{
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_ap_t ap;
  mps_root_t root;
  mps_addr_t refs[4] = {NULL};
  mps_addr_t p;
  void *q;
  mps_pool_t mvff;

  cr_assert_eq(mps_arena_create_k(&tfork_arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  tfork_amc_open(&fmt, &chain);
  cr_assert_eq(mps_pool_create_k(&mvff, tfork_arena, mps_class_mvff(), mps_args_none),
               MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, tfork_pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&root, tfork_arena, mps_rank_exact(), 0, refs, 4),
               MPS_RES_OK);
  refs[0] = tfork_new(ap, 1);
  refs[1] = tfork_new(ap, 2);

  reports_install();
  mps_arena_park(tfork_arena);
  tfork_walk_forks = 0;
  mps_arena_formatted_objects_walk(tfork_arena, tfork_fork_in_walk, NULL, 0);
  cr_assert_geq(tfork_walk_forks, 2, "the walk stopped after the fork");
  cr_assert_eq(reports_seen(), 1);
  /* The lock was neither released nor claimed twice: the arena works on. */
  mps_arena_release(tfork_arena);
  p = tfork_new(ap, 3);
  mps_arena_collect(tfork_arena);
  cr_assert(objfmt_is_id(refs[0], 1, 2, 1) && objfmt_is_id(refs[1], 1, 2, 2));
  cr_assert_eq(mps_alloc(&q, mvff, 100), MPS_RES_OK);
  mps_free(mvff, q, 100);
  (void)p;
  mps_arena_park(tfork_arena);
  mps_root_destroy(root);
  mps_ap_destroy(ap);
  mps_pool_destroy(mvff);
  mps_pool_destroy(tfork_pool);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(tfork_arena);
  cr_assert_eq(reports_seen(), 1, "more reports followed");
}
