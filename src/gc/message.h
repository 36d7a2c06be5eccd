/* message.h: the arena's message queue (manual/topic/message.rst,
 * design/message.txt, design/message-gc.txt).
 *
 * A message is posted by the collector and got and discarded by the
 * client.  Each type has a number (mps_message_type_t); a type that is
 * not enabled is never posted.  Messages are made from arena control
 * memory before they are needed (a trace allocates its two at creation,
 * a finalization registration its one), so posting never fails.
 *
 * A message's life: made (on no ring; a finalization message is then a
 * registration, on finalize.c's ring through final_ring), posted (on
 * gc->message_queue through queue_ring), held (got by the client: on
 * gc->message_held through queue_ring), destroyed (discarded, flushed by
 * disabling its type, or freed at arena destroy).
 */
#ifndef message_h
#define message_h

#include "gc.h"

#define MESSAGE_SIG SIG_MAKE(0x12A)

enum {
  MESSAGE_TYPE_FINALIZATION = 0,
  MESSAGE_TYPE_GC = 1,
  MESSAGE_TYPE_GC_START = 2,
  MESSAGE_TYPE_LIMIT = 3
};

typedef struct mps_message_s {
  Sig sig;
  Arena arena;
  mps_message_type_t type;
  struct ring_s queue_ring;     /* in message_queue (posted) or message_held */
  mps_clock_t clock;            /* when posted (gc and gc_start only) */
  bool posted;                  /* on the queue */
  bool held;                    /* got by the client, not yet discarded */
  /* Per type: */
  const char *why;                        /* gc_start */
  Size live, condemned, not_condemned;    /* gc */
  Addr ref;                               /* finalization: the object */
  Pool pool;                              /* finalization: ref's pool */
  struct ring_s final_ring;               /* finalization: registered */
} mps_message_s;

bool message_check(Message message);

Res message_create(Message *message_o, Arena arena, mps_message_type_t type);
/* Free a message that is neither posted nor held (nor registered). */
void message_destroy(Message message);
/* Post it if its type is enabled, else free it. */
void message_post(Message message);
/* Free every queued and every held message (arena destroy). */
void message_queue_empty(Arena arena);

/* Call visit on every message of `type` that is queued or held: the
 * collector keeps finalization messages' objects alive through it.  The
 * visitor must not post, get or destroy messages. */
typedef void (*MessageVisitor)(Message message, void *closure);
void message_visit(Arena arena, mps_message_type_t type, MessageVisitor visit,
                   void *closure);

/* A message the client holds, of type `type`: the accessors' check that
 * what they were given was got from this arena, is not yet discarded, and
 * is of their type (AVER otherwise).  Call with the arena lock held. */
Message message_held_of_type(Arena arena, mps_message_t message,
                             mps_message_type_t type);

#endif /* message_h */
