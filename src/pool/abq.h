/* abq.h: a fixed-capacity first-in first-out queue of small, fixed-size
 * elements (design/abq.txt).
 *
 * The MVT pool keeps its available blocks in one ("available block
 * queue"), but the queue knows nothing of its elements except their size:
 * they are copied in and out by value.  The storage for `capacity`
 * elements is taken from arena control memory when the queue is
 * initialized, so pushing and popping never allocate and never fail for
 * want of memory: a push on a full queue just reports that it is full.
 *
 * Not thread-safe: its owner serialises every call (MVT holds the arena
 * lock).
 */
#ifndef abq_h
#define abq_h

#include "../arena/arena.h"

#define ABQ_SIG SIG_MAKE(0xC1)

typedef struct abq_s *ABQ;
typedef struct abq_s {
  Sig sig;
  Arena arena;          /* whose control memory holds `elements` */
  Count capacity;       /* may be zero: the queue is then always full */
  Size element_size;
  Index head;           /* slot of the oldest element */
  Count count;          /* elements in the queue */
  Byte *elements;       /* capacity slots; NULL if capacity is zero */
} abq_s;

/* Visitor for abq_iterate: called on each element, oldest first.  It may
 * change the element in place, sets *delete_return (false on entry) to
 * remove it, and returns whether to go on. */
typedef bool (*ABQVisitor)(bool *delete_return, void *element, void *closure);

bool abq_check(ABQ abq);

/* MPS_RES_MEMORY or MPS_RES_COMMIT_LIMIT if the storage cannot be had;
 * the queue is then not initialized. */
Res abq_init(ABQ abq, Arena arena, Count capacity, Size element_size);
void abq_finish(ABQ abq);

/* Add at the tail (the usual place) or at the head (to put back an
 * element just popped); false, changing nothing, if the queue is full. */
bool abq_push(ABQ abq, const void *element);
bool abq_push_head(ABQ abq, const void *element);
/* Copy the oldest element out, and for pop remove it; false if empty. */
bool abq_pop(ABQ abq, void *element_return);
bool abq_peek(ABQ abq, void *element_return);

bool abq_is_full(ABQ abq);
Count abq_depth(ABQ abq);

/* Visit the elements oldest first, removing those the visitor asks to;
 * the survivors keep their order.  The visitor must not call the queue. */
void abq_iterate(ABQ abq, ABQVisitor visitor, void *closure);

#endif /* abq_h */
