/* abq.c: fixed-capacity FIFO queue (see abq.h and design/abq.txt).
 *
 * The elements live in a circular array of `capacity` slots: the oldest
 * is in slot `head`, the next in the slot after it (wrapping), and so on
 * for `count` slots.
 *
 * Invariants (abq_check):
 *   1. count <= capacity and head < capacity (head is 0 when capacity is
 *      zero);
 *   2. there is storage exactly when capacity is non-zero;
 *   3. elements are at least a byte.
 */

#include "abq.h"

bool abq_check(ABQ abq)
{
  CHECKS(ABQ_SIG, abq);
  CHECKU(ARENA_SIG, abq->arena);
  CHECKL(abq->count <= abq->capacity);                                  /* 1 */
  CHECKL(abq->capacity == 0 ? abq->head == 0 : abq->head < abq->capacity);
  CHECKL((abq->elements == NULL) == (abq->capacity == 0));              /* 2 */
  CHECKL(abq->element_size > 0);                                        /* 3 */
  return true;
}

Res abq_init(ABQ abq, Arena arena, Count capacity, Size element_size)
{
  void *p = NULL;
  AVER(abq != NULL);
  AVERT(arena, arena);
  AVER(element_size > 0);
  AVER(capacity <= SIZE_MAX / element_size);
  if (capacity > 0) {
    Res res = arena_control_alloc(&p, arena, capacity * element_size);
    if (res != MPS_RES_OK)
      return res;
  }
  abq->arena = arena;
  abq->capacity = capacity;
  abq->element_size = element_size;
  abq->head = 0;
  abq->count = 0;
  abq->elements = p;
  abq->sig = ABQ_SIG;
  AVERT(abq, abq);
  return MPS_RES_OK;
}

void abq_finish(ABQ abq)
{
  AVERT(abq, abq);
  abq->sig = SIG_INVALID;
  if (abq->elements != NULL)
    arena_control_free(abq->arena, abq->elements, abq->capacity * abq->element_size);
  abq->elements = NULL;
  abq->count = 0;
}

/* The slot `i` places after the head. */
static Byte *abq_slot(ABQ abq, Index i)
{
  return abq->elements + ((abq->head + i) % abq->capacity) * abq->element_size;
}

bool abq_push(ABQ abq, const void *element)
{
  AVERT(abq, abq);
  AVER(element != NULL);
  if (abq->count == abq->capacity)
    return false;
  mem_copy(abq_slot(abq, abq->count), element, abq->element_size);
  ++abq->count;
  return true;
}

bool abq_push_head(ABQ abq, const void *element)
{
  AVERT(abq, abq);
  AVER(element != NULL);
  if (abq->count == abq->capacity)
    return false;
  abq->head = (abq->head + abq->capacity - 1) % abq->capacity;
  mem_copy(abq_slot(abq, 0), element, abq->element_size);
  ++abq->count;
  return true;
}

bool abq_peek(ABQ abq, void *element_return)
{
  AVERT(abq, abq);
  AVER(element_return != NULL);
  if (abq->count == 0)
    return false;
  mem_copy(element_return, abq_slot(abq, 0), abq->element_size);
  return true;
}

bool abq_pop(ABQ abq, void *element_return)
{
  if (!abq_peek(abq, element_return))
    return false;
  abq->head = (abq->head + 1) % abq->capacity;
  --abq->count;
  return true;
}

bool abq_is_full(ABQ abq)
{
  AVERT(abq, abq);
  return abq->count == abq->capacity;
}

Count abq_depth(ABQ abq)
{
  AVERT(abq, abq);
  return abq->count;
}

void abq_iterate(ABQ abq, ABQVisitor visitor, void *closure)
{
  Index from, to = 0;
  bool go_on = true;
  AVERT(abq, abq);
  AVER(visitor != NULL);
  /* Survivors slide towards the head over the deleted, so the queue stays
   * contiguous and in order; `to` never passes `from`. */
  for (from = 0; from < abq->count; ++from) {
    Byte *slot = abq_slot(abq, from);
    bool delete = false;
    if (go_on)
      go_on = visitor(&delete, slot, closure);
    if (!delete) {
      if (to != from)
        mem_copy(abq_slot(abq, to), slot, abq->element_size);
      ++to;
    }
  }
  abq->count = to;
}
