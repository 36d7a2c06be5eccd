/* gcevent.c: the collector's telemetry queue (see gcevent.h; event.h;
 * design/shield.txt for when the mutator is suspended).
 *
 * Whether an event can be written now is the shield's to say: the
 * mutator is suspended from a hold, or the exposure of a protected
 * segment, until the shield is left: only ever around collector work.
 * The filter is read before anything is queued, so a category left out
 * costs one load; it was loaded when the arena was made (arena.c writes
 * its creation), so reading it never takes the telemetry lock here.
 *
 * Invariants (gcevent_check):
 *   1. length <= limit <= capacity, and capacity is 0 when records is NULL;
 *   2. records[0, length) are events of known categories, each of at most
 *      GCEVENT_WORDS words;
 *   3. nothing is dropped while there is room: a category's drop count is
 *      non-zero only when the queue is full;
 *   4. there is no queue in the rash variety (it writes no events).
 */
#include "gcevent.h"
#include "gc.h"
#include "../../include/mpslib.h"

bool gcevent_check(gcevent_s *queue)
{
  unsigned cat;
  CHECKS(GCEVENT_SIG, queue);
  CHECKL(queue->length <= queue->limit && queue->limit <= queue->capacity);  /* 1 */
  CHECKL(queue->records != NULL || queue->capacity == 0);
  if (queue->length > 0) {                                                  /* 2 */
    gcevent_record_s *last = &queue->records[queue->length - 1];
    CHECKL(last->cat < EVENT_CAT_LIMIT && last->n <= GCEVENT_WORDS);
  }
  for (cat = 0; cat < EVENT_CAT_LIMIT; ++cat)                               /* 3 */
    CHECKL(queue->dropped[cat] == 0 || queue->length == queue->limit);
  CHECKL(EVENT_STREAM || queue->capacity == 0);                             /* 4 */
  return true;
}

void gcevent_init(gcevent_s *queue, Arena arena)
{
  unsigned cat;
  void *p;
  AVER(queue != NULL);
  AVERT(arena, arena);
  queue->records = NULL;
  queue->capacity = 0;
  if (EVENT_STREAM
      && arena_control_alloc(&p, arena, GCEVENT_CAPACITY * sizeof(gcevent_record_s))
         == MPS_RES_OK) {
    queue->records = p;
    queue->capacity = GCEVENT_CAPACITY;
  }
  queue->limit = queue->capacity;
  queue->length = 0;
  for (cat = 0; cat < EVENT_CAT_LIMIT; ++cat)
    queue->dropped[cat] = 0;
  queue->sig = GCEVENT_SIG;
  AVERT(gcevent, queue);
}

void gcevent_finish(GC gc)
{
  gcevent_s *queue = &gc->events;
  AVERT(gcevent, queue);
  gcevent_flush(gc);
  queue->sig = SIG_INVALID;
  if (queue->records != NULL)
    arena_control_free(gc->arena, queue->records,
                       queue->capacity * sizeof(gcevent_record_s));
  queue->records = NULL;
}

void gcevent_flush(GC gc)
{
  gcevent_s *queue = &gc->events;
  Index i;
  unsigned cat;
  AVERT(gcevent, queue);
  /* The point of the queue: only a running mutator lets us write. */
  AVER(!shield_is_suspended(&gc->shield));
  for (i = 0; i < queue->length; ++i) {
    gcevent_record_s *rec = &queue->records[i];
    event_emit_at(rec->cat, rec->code, rec->clock, rec->n, rec->words);
  }
  queue->length = 0;
  for (cat = 0; cat < EVENT_CAT_LIMIT; ++cat) {
    if (queue->dropped[cat] > 0) {
      Word words[3];
      words[0] = (Word)(uintptr_t)gc->arena;
      words[1] = (Word)cat;
      words[2] = (Word)queue->dropped[cat];
      queue->dropped[cat] = 0;
      event_emit(cat, EVENT_DROPPED, 3, words);
    }
  }
}

void gcevent_record(GC gc, unsigned cat, unsigned code, size_t n, const Word *words)
{
  gcevent_s *queue;
  gcevent_record_s *rec;
  Index i;
  AVER(n <= GCEVENT_WORDS && (n == 0 || words != NULL));
  AVER(cat < EVENT_CAT_LIMIT);
  queue = &gc->events;
  AVERT(gcevent, queue);
  if (!shield_is_suspended(&gc->shield)) {
    /* What waits was made first.  (With no room, drops may wait: 3.) */
    if (queue->length > 0 || queue->limit == 0)
      gcevent_flush(gc);
    event_emit(cat, code, n, words);
    return;
  }
  if (queue->length == queue->limit) {
    ++queue->dropped[cat];
    return;
  }
  rec = &queue->records[queue->length];
  rec->clock = (uint64_t)mps_clock();
  rec->code = (uint16_t)code;
  rec->cat = (uint8_t)cat;
  rec->n = (uint8_t)n;
  for (i = 0; i < GCEVENT_WORDS; ++i)
    rec->words[i] = i < n ? words[i] : 0;
  ++queue->length;
}

void gcevent_limit_set(GC gc, Count limit)
{
  gcevent_s *queue = &gc->events;
  AVERT(gcevent, queue);
  AVER(limit <= queue->capacity);
  gcevent_flush(gc);   /* so nothing waits or was dropped: 1, 3 */
  queue->limit = limit;
}
