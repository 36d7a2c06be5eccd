/* ring.c: intrusive doubly-linked circular rings (see design/ring.txt and
 * ring.h).
 *
 * Invariants of a node r (checked by ring_check / ring_check_single):
 *   ring.inv.next    r->next is a node and r->next->prev == r
 *   ring.inv.prev    r->prev is a node and r->prev->next == r
 *   ring.inv.single  (singletons only) r->next == r and r->prev == r
 * Walking the whole ring to check every node would make each check linear
 * in the ring's length, so a check looks only at the node's neighbours.
 */
#include "ring.h"
#include "../base/check.h"

bool ring_check(Ring ring)
{
  CHECKL(ring != NULL);
  CHECKL(ring->next != NULL && ring->next->prev == ring); /* ring.inv.next */
  CHECKL(ring->prev != NULL && ring->prev->next == ring); /* ring.inv.prev */
  return true;
}

bool ring_check_single(Ring ring)
{
  CHECKD(ring, ring);
  CHECKL(ring->next == ring); /* ring.inv.single */
  CHECKL(ring->prev == ring); /* ring.inv.single */
  return true;
}

void ring_init(Ring ring)
{
  AVER_CRITICAL(ring != NULL);
  ring->next = ring;
  ring->prev = ring;
  AVER_CRITICAL(ring_check_single(ring));
}

void ring_finish(Ring ring)
{
  AVER_CRITICAL(ring_check(ring));
  /* Finishing a ring that still has elements would strand them, so this
   * is checked in hot as well. */
  AVER(ring->next == ring);
  ring->next = NULL;
  ring->prev = NULL;
}

bool ring_is_single(Ring ring)
{
  AVER_CRITICAL(ring_check(ring));
  return ring->next == ring;
}

Count ring_length(Ring ring)
{
  Count length = 0;
  Ring node, next;
  AVER_CRITICAL(ring_check(ring));
  RING_FOR(node, ring, next)
    ++length;
  return length;
}

void ring_append(Ring ring, Ring node)
{
  AVER_CRITICAL(ring_check(ring));
  AVER_CRITICAL(ring_check_single(node));
  node->next = ring;
  node->prev = ring->prev;
  ring->prev->next = node;
  ring->prev = node;
}

void ring_insert(Ring ring, Ring node)
{
  AVER_CRITICAL(ring_check(ring));
  AVER_CRITICAL(ring_check_single(node));
  node->prev = ring;
  node->next = ring->next;
  ring->next->prev = node;
  ring->next = node;
}

void ring_remove(Ring node)
{
  AVER_CRITICAL(ring_check(node));
  AVER_CRITICAL(node->next != node);
  node->next->prev = node->prev;
  node->prev->next = node->next;
  node->next = node;
  node->prev = node;
}

Ring ring_next(Ring ring)
{
  AVER_CRITICAL(ring_check(ring));
  return ring->next;
}

Ring ring_prev(Ring ring)
{
  AVER_CRITICAL(ring_check(ring));
  return ring->prev;
}
