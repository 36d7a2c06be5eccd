/* message.c: the arena's message queue (see message.h; design/message.txt,
 * design/message-gc.txt; manual/topic/message.rst).
 *
 * The collector makes its messages before it needs them (a trace makes
 * its gc_start and gc messages when it is created, mps_finalize the
 * finalization message of each registration), so posting cannot fail.
 * Posting a message whose type is not enabled frees it instead.  A
 * message taken by mps_message_get belongs to the client until
 * mps_message_discard frees it; meanwhile it stays on gc->message_held,
 * so that the collector can still find finalization messages' objects
 * (finalize.c keeps them alive and updates them) and arena destroy can
 * free what the client never discarded.
 *
 * Invariants (message_check):
 *   1. the type is a known one;
 *   2. a message is never both posted and held, and it is on a ring
 *      (the queue or the held ring) exactly when it is one of them;
 *   3. only a finalization message that is neither posted nor held can
 *      be registered (on finalize.c's ring through final_ring);
 *   4. only gc and gc_start messages carry a clock (message.rst: the
 *      others report zero).
 */
#include "message.h"

bool message_check(Message message)
{
  CHECKS(MESSAGE_SIG, message);
  CHECKU(ARENA_SIG, message->arena);
  CHECKL(message->type < MESSAGE_TYPE_LIMIT);                            /* 1 */
  CHECKL(!(message->posted && message->held));                           /* 2 */
  CHECKL((message->posted || message->held) == !ring_is_single(&message->queue_ring));
  CHECKL(ring_is_single(&message->final_ring)                            /* 3 */
         || (message->type == MESSAGE_TYPE_FINALIZATION
             && !message->posted && !message->held));
  CHECKL(message->clock == 0 || message->type != MESSAGE_TYPE_FINALIZATION); /* 4 */
  return true;
}

static Word message_type_bit(mps_message_type_t type)
{
  return (Word)1 << (unsigned)type;
}

Res message_create(Message *message_o, Arena arena, mps_message_type_t type)
{
  Message message;
  GC gc;
  void *p;
  Res res;

  AVER(message_o != NULL);
  AVERT(arena, arena);
  AVER(type < MESSAGE_TYPE_LIMIT);
  res = gc_get(&gc, arena);
  if (res != MPS_RES_OK)
    return res;
  res = arena_control_alloc(&p, arena, sizeof(mps_message_s));
  if (res != MPS_RES_OK)
    return res;
  message = p;
  message->arena = arena;
  message->type = type;
  ring_init(&message->queue_ring);
  message->clock = 0;
  message->posted = false;
  message->held = false;
  message->why = NULL;
  message->live = 0;
  message->condemned = 0;
  message->not_condemned = 0;
  message->ref = NULL;
  message->pool = NULL;
  ring_init(&message->final_ring);
  message->sig = MESSAGE_SIG;
  *message_o = message;
  return MPS_RES_OK;
}

void message_destroy(Message message)
{
  Arena arena;
  AVERT(message, message);
  AVER(!message->posted);
  AVER(!message->held);
  AVER(ring_is_single(&message->final_ring));
  arena = message->arena;
  message->sig = SIG_INVALID;
  ring_finish(&message->final_ring);
  ring_finish(&message->queue_ring);
  arena_control_free(arena, message, sizeof(mps_message_s));
}

/* Take a posted or held message off its ring (before destroying it). */
static void message_unqueue(Message message)
{
  AVER(message->posted || message->held);
  ring_remove(&message->queue_ring);
  message->posted = false;
  message->held = false;
}

/* A posted message goes to the client: from the queue to the held ring. */
static void message_hold(GC gc, Message message)
{
  AVER(message->posted);
  ring_remove(&message->queue_ring);
  message->posted = false;
  ring_append(&gc->message_held, &message->queue_ring);
  message->held = true;
}

void message_post(Message message)
{
  GC gc;
  AVERT(message, message);
  AVER(!message->posted && !message->held);
  AVER(ring_is_single(&message->final_ring));
  gc = message->arena->gc;
  if ((gc->enabled_message_types & message_type_bit(message->type)) == 0) {
    message_destroy(message);
    return;
  }
  /* message.rst: mps_message_clock is zero for finalization messages. */
  if (message->type != MESSAGE_TYPE_FINALIZATION)
    message->clock = mps_clock();
  ring_append(&gc->message_queue, &message->queue_ring);
  message->posted = true;
}

void message_queue_empty(Arena arena)
{
  GC gc = gc_of(arena);
  Ring node, next;
  if (gc == NULL)
    return;
  RING_FOR(node, &gc->message_queue, next) {
    Message message = PARENT(mps_message_s, queue_ring, node);
    message_unqueue(message);
    message_destroy(message);
  }
  RING_FOR(node, &gc->message_held, next) {
    Message message = PARENT(mps_message_s, queue_ring, node);
    message_unqueue(message);
    message_destroy(message);
  }
}

void message_visit(Arena arena, mps_message_type_t type, MessageVisitor visit,
                   void *closure)
{
  GC gc = gc_of(arena);
  Ring node, next;
  AVER(type < MESSAGE_TYPE_LIMIT);
  AVER(visit != NULL);
  if (gc == NULL)
    return;
  RING_FOR(node, &gc->message_queue, next) {
    Message message = PARENT(mps_message_s, queue_ring, node);
    if (message->type == type)
      visit(message, closure);
  }
  RING_FOR(node, &gc->message_held, next) {
    Message message = PARENT(mps_message_s, queue_ring, node);
    if (message->type == type)
      visit(message, closure);
  }
}

/* The public interface.  Each entry checks the arena before taking its
 * lock, and the message after. */

static void message_enter(Arena arena)
{
  AVER(arena != NULL && arena->sig == ARENA_SIG);
  arena_enter(arena);
}

static inline bool message_type_is_valid(mps_message_type_t type)
{
  return type < MESSAGE_TYPE_LIMIT;
}

/* The first queued message, of type `type` if `any` is false. */
static Message message_first(GC gc, bool any, mps_message_type_t type)
{
  Ring node, next;
  if (gc == NULL)
    return NULL;
  RING_FOR(node, &gc->message_queue, next) {
    Message message = PARENT(mps_message_s, queue_ring, node);
    if (any || message->type == type)
      return message;
  }
  return NULL;
}

mps_bool_t mps_message_poll(mps_arena_t arena)
{
  bool found;
  message_enter(arena);
  found = message_first(gc_of(arena), true, 0) != NULL;
  arena_leave(arena);
  return found;
}

mps_bool_t mps_message_queue_type(mps_message_type_t *type_o, mps_arena_t arena)
{
  Message message;
  AVER(type_o != NULL);
  message_enter(arena);
  message = message_first(gc_of(arena), true, 0);
  if (message != NULL)
    *type_o = message->type;
  arena_leave(arena);
  return message != NULL;
}

mps_bool_t mps_message_get(mps_message_t *message_o, mps_arena_t arena,
                           mps_message_type_t message_type)
{
  Message message;
  AVER(message_o != NULL);
  AVER(message_type_is_valid(message_type));
  message_enter(arena);
  message = message_first(gc_of(arena), false, message_type);
  if (message != NULL) {
    message_hold(arena->gc, message);
    *message_o = message;
  }
  arena_leave(arena);
  return message != NULL;
}

/* A message the client holds: got from this arena and not discarded.
 * Reports if not, and says whether it is, so that a call that would
 * change the message can refuse instead. */
static bool message_check_held(Arena arena, Message message)
{
  AVER(message != NULL && message->sig == MESSAGE_SIG);
  if (message == NULL || message->sig != MESSAGE_SIG)
    return false;
  AVERT(message, message);
  AVER(message->arena == arena);
  AVER(message->held);
  return message->arena == arena && message->held;
}

void mps_message_discard(mps_arena_t arena, mps_message_t message)
{
  message_enter(arena);
  /* Discarding twice would free the message twice (message.rst). */
  if (!message_check_held(arena, message)) {
    arena_leave(arena);
    return;
  }
  /* A finalization message's object is no longer kept alive: the next
   * collection that finds it unreachable reclaims it. */
  message_unqueue(message);
  message_destroy(message);
  arena_leave(arena);
}

mps_message_type_t mps_message_type(mps_arena_t arena, mps_message_t message)
{
  mps_message_type_t type;
  message_enter(arena);
  message_check_held(arena, message);
  type = message->type;
  arena_leave(arena);
  return type;
}

mps_clock_t mps_message_clock(mps_arena_t arena, mps_message_t message)
{
  mps_clock_t clock;
  message_enter(arena);
  message_check_held(arena, message);
  clock = message->clock;
  arena_leave(arena);
  return clock;
}

void mps_message_type_enable(mps_arena_t arena, mps_message_type_t message_type)
{
  GC gc;
  AVER(message_type_is_valid(message_type));
  /* Refused in every variety: the type is a shift count, and one past a
   * word's width would wrap round to a known type's bit. */
  if (!message_type_is_valid(message_type))
    return;
  message_enter(arena);
  /* Without memory for the collector's state there is no collector to
   * post anything; the next gc_get that succeeds starts with none
   * enabled, which is what the client sees as "not yet enabled". */
  if (gc_get(&gc, arena) == MPS_RES_OK)
    gc->enabled_message_types |= message_type_bit(message_type);
  arena_leave(arena);
}

void mps_message_type_disable(mps_arena_t arena, mps_message_type_t message_type)
{
  GC gc;
  AVER(message_type_is_valid(message_type));
  if (!message_type_is_valid(message_type))
    return;                     /* as in mps_message_type_enable */
  message_enter(arena);
  gc = gc_of(arena);
  if (gc != NULL) {
    Ring node, next;
    gc->enabled_message_types &= ~message_type_bit(message_type);
    /* Queued messages of the type are flushed (message.rst). */
    RING_FOR(node, &gc->message_queue, next) {
      Message message = PARENT(mps_message_s, queue_ring, node);
      if (message->type == message_type) {
        message_unqueue(message);
        message_destroy(message);
      }
    }
  }
  arena_leave(arena);
}

/* The names are in parentheses because mps.h also defines them as
 * macros, constants that must agree with these. */
_Static_assert(mps_message_type_finalization() == MESSAGE_TYPE_FINALIZATION
               && mps_message_type_gc() == MESSAGE_TYPE_GC
               && mps_message_type_gc_start() == MESSAGE_TYPE_GC_START,
               "message.c: mps.h's message type macros");

mps_message_type_t (mps_message_type_gc_start)(void) { return MESSAGE_TYPE_GC_START; }
mps_message_type_t (mps_message_type_gc)(void) { return MESSAGE_TYPE_GC; }

/* The accessors of a held message of a given type. */
Message message_held_of_type(Arena arena, mps_message_t message,
                             mps_message_type_t type)
{
  message_check_held(arena, message);
  AVER(message->type == type);
  return message;
}


const char *mps_message_gc_start_why(mps_arena_t arena, mps_message_t message)
{
  const char *why;
  message_enter(arena);
  why = message_held_of_type(arena, message, MESSAGE_TYPE_GC_START)->why;
  arena_leave(arena);
  return why;
}

size_t mps_message_gc_live_size(mps_arena_t arena, mps_message_t message)
{
  Size size;
  message_enter(arena);
  size = message_held_of_type(arena, message, MESSAGE_TYPE_GC)->live;
  arena_leave(arena);
  return size;
}

size_t mps_message_gc_condemned_size(mps_arena_t arena, mps_message_t message)
{
  Size size;
  message_enter(arena);
  size = message_held_of_type(arena, message, MESSAGE_TYPE_GC)->condemned;
  arena_leave(arena);
  return size;
}

size_t mps_message_gc_not_condemned_size(mps_arena_t arena, mps_message_t message)
{
  Size size;
  message_enter(arena);
  size = message_held_of_type(arena, message, MESSAGE_TYPE_GC)->not_condemned;
  arena_leave(arena);
  return size;
}
