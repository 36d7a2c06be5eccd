/* Unit tests for the message queue (src/gc/message.c): posting only
 * enabled types, order, getting by type, discarding, flushing on disable,
 * the accessors, and freeing queued messages at arena destroy.  The
 * messages a real collection posts are tested in test_trace.c. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/gc/message.h"

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

static void abort_handler(const char *file, unsigned line, const char *cond)
{
  UNUSED(file);
  UNUSED(line);
  UNUSED(cond);
  abort();
}

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
  mps_lib_assert_fail_install(abort_handler);
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
  mps_lib_assert_fail_install(abort_handler);
  mps_message_discard(arena, got);
}
