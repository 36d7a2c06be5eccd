/* message.h: the arena's message queue (manual/topic/message.rst,
 * design/message.txt, design/message-gc.txt).
 *
 * A message is posted by the collector and got and discarded by the
 * client.  Each type has a number (mps_message_type_t); a type that is
 * not enabled is never posted.  Messages are made from arena control
 * memory before they are needed (a trace allocates its two at creation),
 * so posting never fails.
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
  struct ring_s queue_ring;     /* in gc->message_queue while posted */
  mps_clock_t clock;            /* when posted */
  bool posted;
  /* Per type: */
  const char *why;                        /* gc_start */
  Size live, condemned, not_condemned;    /* gc */
  Addr ref;                               /* finalization (issue 5) */
} mps_message_s;

bool message_check(Message message);

Res message_create(Message *message_o, Arena arena, mps_message_type_t type);
/* Free a message that was never posted. */
void message_destroy(Message message);
/* Post it if its type is enabled, else free it. */
void message_post(Message message);
/* Free every queued message (arena destroy). */
void message_queue_empty(Arena arena);

#endif /* message_h */
