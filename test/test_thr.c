/* test_thr.c: unit tests for registering client threads with an arena
 * (src/gc/thr.c; manual/topic/thread.rst).
 *
 * Registration must put the thread on the arena's set (which is what a
 * collection suspends), any thread may deregister any registration, the
 * same thread may register more than once, and the arena refuses to be
 * destroyed with a thread still registered.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/gc/root.h"
#include "support/checks.h"
#include "support/configs.h"
#include "support/reports.h"

static mps_arena_t make_arena(void)
{
  mps_arena_t arena;
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 1 << 20);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_OK);
  return arena;
}

Test(thr, register_and_deregister_the_current_thread)
{
  mps_arena_t arena = make_arena();
  mps_thr_t thr;
  size_t committed_before;
  cr_assert(!thr_current_is_registered(arena));
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  committed_before = mps_arena_committed(arena);
  cr_assert(thr_check(thr));
  cr_assert_eq(thr->arena, arena);
  cr_assert(thread_is_current(thr->thread));
  cr_assert(thr_current_is_registered(arena));
  cr_assert_eq(thread_set_count(&arena->gc->threads), 1);
  cr_assert_eq(arena->gc->threads_count, 1);
  mps_thread_dereg(thr);
  cr_assert(!thr_current_is_registered(arena));
  cr_assert_eq(thread_set_count(&arena->gc->threads), 0);
  cr_assert_eq(arena->gc->threads_count, 0);
  cr_assert_leq(mps_arena_committed(arena), committed_before);
  mps_arena_destroy(arena);
}

Test(thr, the_same_thread_may_register_twice)
{
  mps_arena_t arena = make_arena();
  mps_thr_t a, b;
  cr_assert_eq(mps_thread_reg(&a, arena), MPS_RES_OK);
  cr_assert_eq(mps_thread_reg(&b, arena), MPS_RES_OK);
  cr_assert_neq(a, b);
  cr_assert_eq(thread_set_count(&arena->gc->threads), 2);
  mps_thread_dereg(a);
  /* Still registered through the other one. */
  cr_assert(thr_current_is_registered(arena));
  mps_thread_dereg(b);
  cr_assert(!thr_current_is_registered(arena));
  mps_arena_destroy(arena);
}

Test(thr, registrations_are_per_arena)
{
  mps_arena_t one = make_arena(), two = make_arena();
  mps_thr_t thr;
  cr_assert_eq(mps_thread_reg(&thr, one), MPS_RES_OK);
  cr_assert(thr_current_is_registered(one));
  cr_assert(!thr_current_is_registered(two));
  mps_thread_dereg(thr);
  mps_arena_destroy(one);
  mps_arena_destroy(two);
}

static struct {
  mps_arena_t arena;
  mps_thr_t thr;
  atomic_int state;             /* 0 starting, 1 registered, 2 stop */
  atomic_long spins;
} other;

static void *other_main(void *arg)
{
  (void)arg;
  cr_assert_eq(mps_thread_reg(&other.thr, other.arena), MPS_RES_OK);
  /* seq_cst: the main thread reads other.thr after seeing state 1. */
  atomic_store(&other.state, 1);
  while (atomic_load(&other.state) != 2)
    atomic_fetch_add_explicit(&other.spins, 1, memory_order_relaxed);
  return NULL;
}

Test(thr, a_second_thread_is_suspended_with_the_set_and_deregistered_by_another, .timeout = 20, TEST_NEEDS_THREADS)
{
  pthread_t t;
  long before, after;
  struct timespec ms = {0, 2000000};
  other.arena = make_arena();
  atomic_store(&other.state, 0);
  cr_assert_eq(pthread_create(&t, NULL, other_main, NULL), 0);
  while (atomic_load(&other.state) != 1)
    sched_yield();
  cr_assert(thr_check(other.thr));
  /* It is not this thread. */
  cr_assert(!thr_current_is_registered(other.arena));
  cr_assert_eq(thread_set_count(&other.arena->gc->threads), 1);

  /* What a collection does: the registered thread stops. */
  cr_assert_eq(thread_suspend_all(&other.arena->gc->threads), MPS_RES_OK);
  before = atomic_load(&other.spins);
  nanosleep(&ms, NULL);
  after = atomic_load(&other.spins);
  cr_assert_eq(before, after);
  thread_resume_all(&other.arena->gc->threads);
  before = atomic_load(&other.spins);
  while (atomic_load(&other.spins) == before)
    sched_yield();

  /* The thread is still running; another thread deregisters it. */
  mps_thread_dereg(other.thr);
  cr_assert_eq(thread_set_count(&other.arena->gc->threads), 0);
  atomic_store(&other.state, 2);
  cr_assert_eq(pthread_join(t, NULL), 0);
  mps_arena_destroy(other.arena);
}

static void *register_and_exit(void *arg)
{
  mps_thr_t *thr_o = arg;
  cr_assert_eq(mps_thread_reg(thr_o, other.arena), MPS_RES_OK);
  return NULL;
}

Test(thr, a_thread_that_exited_registered_can_be_cleaned_up)
{
  pthread_t t;
  mps_thr_t thr;
  other.arena = make_arena();
  cr_assert_eq(pthread_create(&t, NULL, register_and_exit, &thr), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
  cr_assert(thr_check(thr));
  mps_thread_dereg(thr);
  cr_assert_eq(thread_set_count(&other.arena->gc->threads), 0);
  mps_arena_destroy(other.arena);
}

Test(thr, destroying_an_arena_with_a_registered_thread_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_thr_t thr;
  reports_install_abort();
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  mps_arena_destroy(arena);
}

Test(thr, deregistering_twice_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_thr_t thr;
  reports_install_abort();
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  mps_thread_dereg(thr);
  /* The record's signature was cleared first, and its memory is still
   * the arena's control memory. */
  mps_thread_dereg(thr);
}

/* A client error refused the same way in every variety and reported
 * where checks are compiled in (support/checks.h). */
Test(thr, registering_with_no_result_pointer_is_refused)
{
  mps_arena_t arena = make_arena();
  reports_install();
  cr_assert_eq(mps_thread_reg(NULL, arena), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert(!thr_current_is_registered(arena));
  mps_arena_destroy(arena);
}

/* A stale handle is refused, not just reported: the arena's other
 * registration of the same thread is untouched. */
Test(thr, deregistering_twice_is_refused_and_leaves_the_others, .timeout = 20)
{
  mps_arena_t arena = make_arena();
  mps_thr_t a, b;
  cr_assert_eq(mps_thread_reg(&a, arena), MPS_RES_OK);
  cr_assert_eq(mps_thread_reg(&b, arena), MPS_RES_OK);
  mps_thread_dereg(a);
  reports_install();
  mps_thread_dereg(a);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert_eq(thread_set_count(&arena->gc->threads), 1);
  cr_assert_eq(arena->gc->threads_count, 1);
  cr_assert(thr_check(b));
  cr_assert(thr_current_is_registered(arena));
  mps_thread_dereg(b);
  cr_assert_eq(thread_set_count(&arena->gc->threads), 0);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  mps_arena_destroy(arena);
}

/* manual/topic/root.rst: a thread root scans a registered thread, so the
 * registration must outlive the root; deregistering under it is refused
 * (and reported), and works once the root is gone. */
Test(thr, a_registration_under_a_thread_root_is_not_deregistered)
{
  mps_arena_t arena = make_arena();
  mps_thr_t thr;
  mps_root_t root;
  void *volatile cold = NULL;
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_thread(&root, arena, thr, (char *)&cold + sizeof cold),
               MPS_RES_OK);
  reports_install();
  mps_thread_dereg(thr);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert(thr_check(thr));
  cr_assert_eq(thread_set_count(&arena->gc->threads), 1);
  mps_root_destroy(root);
  mps_thread_dereg(thr);
  cr_assert_eq(thread_set_count(&arena->gc->threads), 0);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  mps_arena_destroy(arena);
}

Test(thr, registration_fails_cleanly_at_the_commit_limit)
{
  mps_arena_t arena = make_arena();
  mps_thr_t *all = calloc(100000, sizeof *all);
  mps_thr_t thr;
  mps_res_t res = MPS_RES_OK;
  size_t made = 0, i;
  cr_assert_not_null(all);
  /* The first registration makes the collector's state. */
  cr_assert_eq(mps_thread_reg(&all[made++], arena), MPS_RES_OK);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  while (made < 100000) {
    res = mps_thread_reg(&thr, arena);
    if (res != MPS_RES_OK)
      break;
    all[made++] = thr;
  }
  cr_assert_neq(res, MPS_RES_OK);
  cr_assert_eq(thread_set_count(&arena->gc->threads), made);
  for (i = 0; i < made; ++i)
    mps_thread_dereg(all[i]);
  cr_assert_eq(thread_set_count(&arena->gc->threads), 0);
  free(all);
  mps_arena_destroy(arena);
}
