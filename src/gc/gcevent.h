/* gcevent.h: the collector's telemetry, kept back while the mutator is
 * held (see gcevent.c; src/base/event.h for the events and the stream;
 * manual/topic/telemetry.rst).
 *
 * Collection work runs with every other mutator thread suspended, and a
 * suspended thread may hold the telemetry lock or the C library's stdio
 * lock, so nothing may reach event_emit until the mutator runs again.
 * The collector's events (segments made, freed and reclaimed, scans,
 * objects copied or kept in place) go
 * through gcevent_emit instead: written at once when the mutator is not
 * suspended, else kept in the arena's queue, a fixed block of records
 * taken from arena control memory when the collector state is made, so
 * that queueing never allocates (it may happen in the read barrier's
 * signal handler).  A full queue drops events and counts them by
 * category.  gcevent_flush writes out what the queue holds, then one
 * EVENT_DROPPED per category that lost events; the tracer calls it once
 * it has let the mutator go (trace_after_leave, which a transform's apply
 * calls too), and gcevent_emit does when it writes through, so the
 * stream keeps the order events were made in.  The shield's other users
 * (barrier_set, the walks, a transform's preparation) hold the mutator
 * for no work that makes these events; should one ever queue some, they
 * wait for the next of those writes, or for the arena's destruction.
 * The rash variety writes no events and keeps no queue.
 *
 * Everything here is done with the arena lock held.  This header does not
 * include gc.h: gc.h embeds gcevent_s in the collector's state.
 */
#ifndef gcevent_h
#define gcevent_h

#include "../arena/arena.h"
#include "../base/event.h"

#define GCEVENT_SIG SIG_MAKE(0x123)

/* Records a queue holds.  A collection's work between two releases of
 * the mutator makes roughly one event per segment it scans, makes,
 * reclaims or frees and per object AMC copies or keeps in place: a few
 * hundred in a typical nursery collection, and when more, the queue
 * counts the rest. */
#ifndef GCEVENT_CAPACITY
#define GCEVENT_CAPACITY ((Count)1024)
#endif

/* The most words an event carries (event_emit's limit). */
#define GCEVENT_WORDS 4

typedef struct gcevent_record_s {
  uint64_t clock;               /* mps_clock() when it was made */
  uint16_t code;                /* EVENT_* */
  uint8_t cat;                  /* EVENT_CAT_* */
  uint8_t n;                    /* words used */
  Word words[GCEVENT_WORDS];
} gcevent_record_s;

typedef struct gcevent_s {
  Sig sig;
  gcevent_record_s *records;    /* `capacity` of them, or NULL if none */
  Count capacity;               /* records allocated */
  Count limit;                  /* records used at most (<= capacity) */
  Count length;                 /* records waiting, from records[0] */
  Count dropped[EVENT_CAT_LIMIT]; /* events lost since the last flush */
} gcevent_s;

struct gc_s;

bool gcevent_check(gcevent_s *queue);
/* For gc_get, before anything can emit: an empty queue in `arena`'s
 * control memory.  Never fails: without the memory, the queue has no
 * room, and every event kept back is counted as dropped. */
void gcevent_init(gcevent_s *queue, Arena arena);
/* For the collector state's finish: writes out what is left first. */
void gcevent_finish(struct gc_s *gc);

/* Record an event of category `cat` with `n` words (at most
 * GCEVENT_WORDS), if the filter wants it: now if the mutator runs, else
 * into the queue.  The filter is tested inline, so that an event nobody
 * wants costs a test and no call, and the caller's words need not be
 * stored (AMC makes one per object it copies). */
void gcevent_record(struct gc_s *gc, unsigned cat, unsigned code, size_t n, const Word *words);

static inline void gcevent_emit(struct gc_s *gc, unsigned cat, unsigned code, size_t n,
                                const Word *words)
{
  if (EVENT_STREAM && event_wanted(cat))
    gcevent_record(gc, cat, code, n, words);
}
/* Write out the queue.  The mutator must not be suspended. */
void gcevent_flush(struct gc_s *gc);

/* For tests: use at most `limit` records of the queue (at most its
 * capacity), so that a small collection overflows it.  The queue must be
 * empty. */
void gcevent_limit_set(struct gc_s *gc, Count limit);

#endif /* gcevent_h */
