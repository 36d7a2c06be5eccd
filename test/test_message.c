/* Unit tests for the message queue (src/gc/message.c): posting only
 * enabled types, order, getting by type, discarding, flushing on disable,
 * the accessors, clocks, and freeing queued and held messages at arena
 * destroy; misuse of each function.  The messages a real collection
 * posts are tested in test_trace.c, finalization messages in
 * test_finalize.c. */
#include <criterion/criterion.h>
#include <signal.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/gc/message.h"
#include "support/checks.h"
#include "support/reports.h"

static mps_arena_t arena;

static void setup(void)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 20);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_OK);
}

static void teardown(void) { mps_arena_destroy(arena); }

TestSuite(message, .init = setup, .fini = teardown);

/* Messages without a collection: made, posted and queued in order. */
Test(message, queue_keeps_order_and_types)
{
  Message m1, m2, m3;
  mps_message_t got;
  mps_message_type_t type;
  arena_enter(arena);
  cr_assert_eq(message_create(&m1, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  cr_assert_eq(message_create(&m2, arena, MESSAGE_TYPE_GC_START), MPS_RES_OK);
  cr_assert_eq(message_create(&m3, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  message_post(m1);   /* not enabled: freed */
  arena_leave(arena);
  cr_assert_not(mps_message_poll(arena));
  mps_message_type_enable(arena, mps_message_type_gc());
  mps_message_type_enable(arena, mps_message_type_gc_start());
  arena_enter(arena);
  m2->why = "because";
  message_post(m2);
  message_post(m3);
  arena_leave(arena);
  cr_assert(mps_message_queue_type(&type, arena));
  cr_assert_eq(type, mps_message_type_gc_start());
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc()));
  cr_assert_eq(got, m3);
  cr_assert(mps_message_queue_type(&type, arena));
  cr_assert_eq(type, mps_message_type_gc_start());
  mps_message_discard(arena, got);
  cr_assert_not(mps_message_get(&got, arena, mps_message_type_gc()));
  /* Disabling flushes the queued ones of that type. */
  mps_message_type_disable(arena, mps_message_type_gc_start());
  cr_assert_not(mps_message_poll(arena));
}

Test(message, queued_messages_are_freed_at_destroy)
{
  Message m;
  mps_message_type_enable(arena, mps_message_type_gc());
  arena_enter(arena);
  cr_assert_eq(message_create(&m, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  message_post(m);
  arena_leave(arena);
  cr_assert(mps_message_poll(arena));
  /* teardown destroys the arena with it queued: no complaint, no leak
   * of control memory that would trip the arena's own checks. */
}

Test(message, accessors_return_what_was_recorded)
{
  Message m;
  mps_message_t got;
  mps_message_type_enable(arena, mps_message_type_gc());
  arena_enter(arena);
  cr_assert_eq(message_create(&m, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  m->live = 10;
  m->condemned = 20;
  m->not_condemned = 30;
  message_post(m);
  arena_leave(arena);
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc()));
  cr_assert_eq(mps_message_gc_live_size(arena, got), 10);
  cr_assert_eq(mps_message_gc_condemned_size(arena, got), 20);
  cr_assert_eq(mps_message_gc_not_condemned_size(arena, got), 30);
  (void)mps_message_clock(arena, got);
  cr_assert_eq(mps_message_type(arena, got), mps_message_type_gc());
  mps_message_discard(arena, got);
}

Test(message, empty_arena_has_no_messages)
{
  mps_message_t got;
  mps_message_type_t type;
  cr_assert_not(mps_message_poll(arena));
  cr_assert_not(mps_message_queue_type(&type, arena));
  cr_assert_not(mps_message_get(&got, arena, mps_message_type_gc()));
  cr_assert_null(arena->gc);   /* asking made no collector state */
  mps_message_type_disable(arena, mps_message_type_gc());
}

Test(message, held_messages_are_freed_at_destroy)
{
  Message m1, m2;
  mps_message_t got;
  mps_message_type_enable(arena, mps_message_type_gc());
  mps_message_type_enable(arena, mps_message_type_finalization());
  arena_enter(arena);
  cr_assert_eq(message_create(&m1, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  cr_assert_eq(message_create(&m2, arena, MESSAGE_TYPE_FINALIZATION), MPS_RES_OK);
  message_post(m1);
  message_post(m2);
  arena_leave(arena);
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc()));
  cr_assert(mps_message_get(&got, arena, mps_message_type_finalization()));
  cr_assert_not(mps_message_poll(arena));
  /* teardown: the arena's check that all control memory came back would
   * fail if the two held messages leaked. */
}

Test(message, types_are_distinct_and_clocks_ordered)
{
  Message m1, m2, m3;
  mps_message_t got;
  mps_clock_t c1, c2;
  cr_assert_neq(mps_message_type_gc(), mps_message_type_gc_start());
  cr_assert_neq(mps_message_type_gc(), mps_message_type_finalization());
  cr_assert_neq(mps_message_type_gc_start(), mps_message_type_finalization());
  mps_message_type_enable(arena, mps_message_type_gc());
  mps_message_type_enable(arena, mps_message_type_gc());   /* no effect */
  mps_message_type_enable(arena, mps_message_type_gc_start());
  mps_message_type_enable(arena, mps_message_type_finalization());
  arena_enter(arena);
  cr_assert_eq(message_create(&m1, arena, MESSAGE_TYPE_GC_START), MPS_RES_OK);
  cr_assert_eq(message_create(&m2, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  cr_assert_eq(message_create(&m3, arena, MESSAGE_TYPE_FINALIZATION), MPS_RES_OK);
  m1->why = "testing";
  message_post(m1);
  message_post(m2);
  message_post(m3);
  arena_leave(arena);
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc_start()));
  cr_assert_str_eq(mps_message_gc_start_why(arena, got), "testing");
  cr_assert_eq(mps_message_type(arena, got), mps_message_type_gc_start());
  c1 = mps_message_clock(arena, got);
  mps_message_discard(arena, got);
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc()));
  c2 = mps_message_clock(arena, got);
  cr_assert_geq(c2, c1);
  mps_message_discard(arena, got);
  /* Finalization messages carry no clock (message.rst). */
  cr_assert(mps_message_get(&got, arena, mps_message_type_finalization()));
  cr_assert_eq(mps_message_clock(arena, got), 0);
  cr_assert_eq(mps_message_type(arena, got), mps_message_type_finalization());
  mps_message_discard(arena, got);
  cr_assert_not(mps_message_poll(arena));
}

/* message.rst: a gc_start message, like a gc one, carries the clock of
 * its posting.  The loop waits for the processor clock to leave zero, so
 * that a clock never set could not pass for one read at the posting. */
Test(message, a_gc_start_message_has_the_clock_of_its_posting)
{
  Message m;
  mps_message_t got;
  mps_clock_t before, after, clock;
  mps_message_type_enable(arena, mps_message_type_gc_start());
  do
    before = mps_clock();
  while (before == 0);
  arena_enter(arena);
  cr_assert_eq(message_create(&m, arena, MESSAGE_TYPE_GC_START), MPS_RES_OK);
  message_post(m);
  arena_leave(arena);
  after = mps_clock();
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc_start()));
  clock = mps_message_clock(arena, got);
  cr_assert_geq(clock, before);
  cr_assert_leq(clock, after);
  mps_message_discard(arena, got);
}

/* Disabling flushes only queued messages of that type; one the client
 * holds stays valid, and other types stay queued. */
Test(message, disable_keeps_held_and_other_types)
{
  Message m1, m2, m3;
  mps_message_t held, got;
  mps_message_type_t type;
  mps_message_type_enable(arena, mps_message_type_gc());
  mps_message_type_enable(arena, mps_message_type_gc_start());
  arena_enter(arena);
  cr_assert_eq(message_create(&m1, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  cr_assert_eq(message_create(&m2, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  cr_assert_eq(message_create(&m3, arena, MESSAGE_TYPE_GC_START), MPS_RES_OK);
  m1->live = 42;
  message_post(m1);
  message_post(m2);
  message_post(m3);
  arena_leave(arena);
  cr_assert(mps_message_get(&held, arena, mps_message_type_gc()));
  mps_message_type_disable(arena, mps_message_type_gc());
  mps_message_type_disable(arena, mps_message_type_gc());   /* no effect */
  cr_assert_eq(mps_message_gc_live_size(arena, held), 42);
  cr_assert_not(mps_message_get(&got, arena, mps_message_type_gc()));
  cr_assert(mps_message_queue_type(&type, arena));
  cr_assert_eq(type, mps_message_type_gc_start());
  mps_message_discard(arena, held);
  /* Disabled: a new one is not posted. */
  arena_enter(arena);
  cr_assert_eq(message_create(&m1, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  message_post(m1);
  arena_leave(arena);
  cr_assert_not(mps_message_get(&got, arena, mps_message_type_gc()));
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc_start()));
  mps_message_discard(arena, got);
  cr_assert_not(mps_message_poll(arena));
}

/* A real collection posts gc_start and then gc, with sizes that agree. */
Test(message, collection_posts_start_and_end)
{
  mps_message_t got;
  mps_message_type_t type;
  mps_message_type_enable(arena, mps_message_type_gc());
  mps_message_type_enable(arena, mps_message_type_gc_start());
  mps_arena_collect(arena);
  cr_assert(mps_message_queue_type(&type, arena));
  cr_assert_eq(type, mps_message_type_gc_start());
  cr_assert(mps_message_get(&got, arena, type));
  cr_assert_not_null(mps_message_gc_start_why(arena, got));
  mps_message_discard(arena, got);
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc()));
  cr_assert_leq(mps_message_gc_live_size(arena, got),
                mps_message_gc_condemned_size(arena, got));
  (void)mps_message_gc_not_condemned_size(arena, got);
  mps_message_discard(arena, got);
  cr_assert_not(mps_message_poll(arena));
}

/* ---- Refusals, in every variety ---------------------------------------- */

/* Post a gc message made here: queued only if the type is enabled. */
static void post_gc_message(void)
{
  Message m;
  arena_enter(arena);
  cr_assert_eq(message_create(&m, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  message_post(m);
  arena_leave(arena);
}

/* Disabling a type leaves the other types enabled: their messages are
 * still posted. */
Test(message, disabling_one_type_leaves_the_others_enabled)
{
  mps_message_t got;
  mps_message_type_enable(arena, mps_message_type_gc());
  mps_message_type_enable(arena, mps_message_type_gc_start());
  mps_message_type_disable(arena, mps_message_type_gc_start());
  post_gc_message();
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc()));
  mps_message_discard(arena, got);
  cr_assert_not(mps_message_poll(arena));
}

/* message.rst: a message is discarded in the arena it came from.  In
 * another it is reported and refused: it stays the client's, readable
 * and discardable in its own arena. */
Test(message, discarding_in_another_arena_is_refused)
{
  mps_arena_t other;
  mps_message_t got;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 20);
    cr_assert_eq(mps_arena_create_k(&other, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  mps_message_type_enable(arena, mps_message_type_gc());
  post_gc_message();
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc()));
  reports_install();
  mps_message_discard(other, got);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert_eq(mps_message_type(arena, got), mps_message_type_gc());
  mps_message_discard(arena, got);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert_not(mps_message_poll(arena));
  mps_arena_destroy(other);
}

/* A type that is none of the three is reported and refused: enabling or
 * disabling it changes no known type, and getting it gets nothing.  The
 * one just past the last and one a word's width past a known one (a
 * shift by it would wrap round to that type's bit on common machines). */
Test(message, unknown_types_are_refused)
{
  mps_message_type_t past = (mps_message_type_t)MESSAGE_TYPE_LIMIT;
  mps_message_type_t wraps = (mps_message_type_t)(MPS_WORD_WIDTH + MESSAGE_TYPE_GC);
  mps_message_t got;
  reports_install();
  mps_message_type_enable(arena, wraps);
  mps_message_type_enable(arena, past);
  post_gc_message();
  cr_assert_not(mps_message_poll(arena), "enabling an unknown type enabled gc messages");
  cr_assert_not(mps_message_get(&got, arena, past));
  mps_message_type_enable(arena, mps_message_type_gc());
  mps_message_type_disable(arena, wraps);
  post_gc_message();
  cr_assert(mps_message_poll(arena), "disabling an unknown type disabled gc messages");
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(4));
}

TestSuite(message_misuse, TEST_NEEDS_CHECKS);

Test(message_misuse, wrong_accessor_for_the_type, .signal = SIGABRT)
{
  Message m;
  mps_message_t got;
  setup();
  mps_message_type_enable(arena, mps_message_type_gc_start());
  arena_enter(arena);
  cr_assert_eq(message_create(&m, arena, MESSAGE_TYPE_GC_START), MPS_RES_OK);
  message_post(m);
  arena_leave(arena);
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc_start()));
  reports_install_abort();
  (void)mps_message_gc_live_size(arena, got);
}

Test(message_misuse, discarding_twice, .signal = SIGABRT)
{
  Message m;
  mps_message_t got;
  setup();
  mps_message_type_enable(arena, mps_message_type_gc());
  arena_enter(arena);
  cr_assert_eq(message_create(&m, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  message_post(m);
  arena_leave(arena);
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc()));
  mps_message_discard(arena, got);
  reports_install_abort();
  mps_message_discard(arena, got);
}

Test(message_misuse, accessor_on_a_queued_message, .signal = SIGABRT)
{
  Message m;
  setup();
  mps_message_type_enable(arena, mps_message_type_gc());
  arena_enter(arena);
  cr_assert_eq(message_create(&m, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  message_post(m);
  arena_leave(arena);
  reports_install_abort();
  (void)mps_message_type(arena, m);   /* never got */
}

Test(message_misuse, discard_in_another_arena, .signal = SIGABRT)
{
  Message m;
  mps_message_t got;
  mps_arena_t other;
  setup();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 20);
    cr_assert_eq(mps_arena_create_k(&other, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  mps_message_type_enable(arena, mps_message_type_gc());
  arena_enter(arena);
  cr_assert_eq(message_create(&m, arena, MESSAGE_TYPE_GC), MPS_RES_OK);
  message_post(m);
  arena_leave(arena);
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc()));
  reports_install_abort();
  mps_message_discard(other, got);
}

Test(message_misuse, get_of_an_unknown_type, .signal = SIGABRT)
{
  mps_message_t got;
  setup();
  reports_install_abort();
  (void)mps_message_get(&got, arena, (mps_message_type_t)99);
}

Test(message_misuse, finalization_ref_of_a_gc_start_message, .signal = SIGABRT)
{
  Message m;
  mps_message_t got;
  mps_addr_t ref;
  setup();
  mps_message_type_enable(arena, mps_message_type_gc_start());
  arena_enter(arena);
  cr_assert_eq(message_create(&m, arena, MESSAGE_TYPE_GC_START), MPS_RES_OK);
  message_post(m);
  arena_leave(arena);
  cr_assert(mps_message_get(&got, arena, mps_message_type_gc_start()));
  reports_install_abort();
  mps_message_finalization_ref(&ref, arena, got);
}
