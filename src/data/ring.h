/* ring.h: intrusive doubly-linked circular rings (design/ring.txt).
 *
 * A ring node is a pair of links embedded in a client structure; the
 * structure is recovered from its node with PARENT (base.h).  A ring has a
 * head node, usually embedded in the owning structure, which is not an
 * element: an empty ring is a head that is a "singleton", linked to itself.
 * A node that is on no ring is also a singleton.
 *
 * Nodes carry no signature: they are two words embedded in structures that
 * have their own, and a signature would double their size.  ring_check
 * checks the links around one node instead.
 *
 * The operations are on the allocation and scanning paths, so their checks
 * are AVER_CRITICAL (cool only), except ring_finish, which checks in hot
 * too.  The library is one translation unit (src/mps.c), so the compiler
 * inlines these calls inside mps11 without them living in this header.
 */
#ifndef ring_h
#define ring_h

#include "../base/base.h"

typedef struct ring_s *Ring;

typedef struct ring_s {
  struct ring_s *next;
  struct ring_s *prev;
} ring_s;

/* Links around `ring` are consistent: ring->next->prev == ring and
 * ring->prev->next == ring. */
bool ring_check(Ring ring);
/* As ring_check, and `ring` is a singleton. */
bool ring_check_single(Ring ring);

/* Make `ring` a singleton (an empty ring, or a node on no ring). */
void ring_init(Ring ring);
/* `ring` must be a singleton.  Its links are cleared, so a later use is
 * caught by ring_check. */
void ring_finish(Ring ring);

bool ring_is_single(Ring ring);
/* Number of nodes on the ring headed by `ring`, not counting `ring`. */
Count ring_length(Ring ring);

/* Add the singleton `node` to the ring headed by `ring`, as its last
 * (append) or first (insert) element in iteration order. */
void ring_append(Ring ring, Ring node);
void ring_insert(Ring ring, Ring node);
/* Take `node` off its ring; it becomes a singleton.  It must not already
 * be one. */
void ring_remove(Ring node);

Ring ring_next(Ring ring);
Ring ring_prev(Ring ring);

/* Visit every element of the ring headed by `ring` in order, with `node`
 * (a Ring variable) set to each in turn.  `next` (another Ring variable)
 * holds the following node, so the body may remove `node` -- but no other
 * node -- and must not assign either variable.  Usually the body starts
 * with PARENT(type, field, node). */
#define RING_FOR(node, ring, next)                                  \
  for ((node) = ring_next(ring), (next) = ring_next(node);          \
       (node) != (ring);                                            \
       (node) = (next), (next) = ring_next(node))

#endif /* ring_h */
