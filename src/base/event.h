/* event.h: the telemetry stream (see event.c; manual/topic/telemetry.rst).
 *
 * The stream is a sequence of records, each an event_header_s followed by
 * `size` bytes of payload: the event's words (Word, native byte order),
 * then for EVENT_INTERN the string with its terminating NUL, padded with
 * zeros to a whole number of words.  A decoder must therefore run on the
 * platform that wrote the stream, as telemetry.rst says of the original.
 * Records are written in the order they were made, though by several
 * threads at once.
 */
#ifndef event_h
#define event_h

#include <stdatomic.h>
#include <stdint.h>

#include "base.h"

/* Events are made in the cool and hot varieties only (telemetry.rst). */
#define EVENT_STREAM (CHECK_LEVEL >= 1)

/* Categories: bit numbers in the telemetry filter (telemetry.rst). */
enum {
  EVENT_CAT_ARENA = 0,
  EVENT_CAT_POOL = 1,
  EVENT_CAT_TRACE = 2,
  EVENT_CAT_SEG = 3,
  EVENT_CAT_REF = 4,
  EVENT_CAT_OBJECT = 5,
  EVENT_CAT_USER = 6,
  EVENT_CAT_LIMIT = 7
};

/* Event codes, and the words each one carries. */
enum {
  EVENT_INTERN = 1,         /* user: label; then the string */
  EVENT_LABEL = 2,          /* user: address, label */
  EVENT_ARENA_CREATE = 3,   /* arena: arena, reserved bytes */
  EVENT_ARENA_DESTROY = 4,  /* arena: arena */
  EVENT_POOL_INIT = 5,      /* pool: pool, arena, class */
  EVENT_POOL_FINISH = 6,    /* pool: pool */
  /* A collection's two events are written together once the mutator is
   * running again (trace.c), so their clocks are its end's. */
  EVENT_TRACE_START = 7,    /* trace: arena, condemned bytes */
  EVENT_TRACE_END = 8,      /* trace: arena, bytes that survived */
  /* The collector's events (src/gc/gcevent.c).  One made while a
   * collection holds the mutator waits in its arena's queue until the
   * mutator runs again, keeping the clock of when it was made; so the
   * trace events of a collection may follow some of its other events. */
  EVENT_SEG_ALLOC = 9,      /* seg: segment, pool, base, size in bytes */
  EVENT_SEG_FREE = 10,      /* seg: segment */
  EVENT_SCAN_SEG = 11,      /* ref: segment, rank, fixes made by the scan */
  EVENT_SCAN_ROOT = 12,     /* ref: root, rank */
  EVENT_OBJECT_COPY = 13,   /* object: old client address, new one, size in bytes */
  /* Written, under the category `cat` it counts, after the rest of a
   * queue that had no room for some of its events. */
  EVENT_DROPPED = 14,       /* cat: arena, cat, events of cat dropped */
  /* What a collection did with what it condemned, besides ObjectCopy.
   * Every segment it condemned is reclaimed once, so one SegReclaim per
   * segment, made before the SegFree of a segment the reclaim frees:
   * the objects and bytes kept where they are, and the bytes the pool had
   * in use before and has free after (its total size less its free size
   * falls by these, less what copies into it add).  SNC never condemns,
   * so it has none.  Per segment, not per object, because a marking
   * pool (AMS, AWL, LO) keeps every survivor in place, and an event each
   * would overflow the queue (gcevent.h) on any sizeable heap.  Freed
   * objects are not counted: AMC frees a segment of dead and forwarded
   * objects without parsing it, and four words is the limit. */
  EVENT_SEG_RECLAIM = 15,   /* seg: segment, objects kept, bytes kept, bytes freed */
  /* An object AMC or AMCZ keeps in place (its segment nailed by an
   * ambiguous reference, or no to-space in an emergency), written at
   * reclaim.  Per object as for ObjectCopy, which the object would
   * otherwise have made: with the copies, one object event for each of
   * a moving pool's survivors. */
  EVENT_OBJECT_PRESERVE = 16, /* object: client address, size in bytes */
  /* One past the last code: tools/eventdec.c checks at compile time that
   * it can decode every code below this. */
  EVENT_CODE_LIMIT
};

typedef struct event_header_s {
  uint64_t clock;           /* mps_clock() when the event was made */
  uint32_t code;            /* EVENT_* */
  uint32_t size;            /* bytes of payload after the header */
} event_header_s;

/* The longest string mps_telemetry_intern records, NUL included. */
#define EVENT_STRING_MAX 256

/* The filter, loaded from mps_lib_telemetry_control on first use
 * (event_filter_load), and whether it has been.  Exported only so that
 * event_wanted is inline: the collector asks it at every object it copies,
 * where a call cost 5% of stop-the-world AMC's instructions on bench/gc's
 * mutate (docs/performance.md, session 19).  Only event.c writes them;
 * the orders are explained there. */
extern _Atomic Word event_filter_word;
extern atomic_bool event_loaded;
Word event_filter_load(void);

/* The filter, loaded first if it has not been. */
static inline Word event_filter(void)
{
  /* acquire: pairs with event_filter_load's release of event_loaded, so
   * the filter read after it is the loaded one. */
  return atomic_load_explicit(&event_loaded, memory_order_acquire)
         ? atomic_load_explicit(&event_filter_word, memory_order_relaxed)
         : event_filter_load();
}

/* Whether events of category `cat` (< EVENT_CAT_LIMIT) are in the filter. */
static inline bool event_wanted(unsigned cat)
{
  return (event_filter() >> cat & 1) != 0;
}

/* Record an event of category `cat` with `n` words (at most 4), if the
 * filter wants it.  Never fails: when the stream cannot be written, the
 * events are dropped. */
void event_emit(unsigned cat, unsigned code, size_t n, const Word *words);
/* The same with the clock of when the event was made, for events that
 * were kept back (gcevent.c).  `clock` is an mps_clock() value. */
void event_emit_at(unsigned cat, unsigned code, uint64_t clock, size_t n, const Word *words);

/* Write out the buffered events and flush the stream. */
void event_flush(void);
/* The same for an assertion handler (plinth_ansi.c), which may run with
 * any lock held and the world stopped: it never waits for a thread that
 * is inside the stream's lock, and does nothing if it fails inside it
 * itself or if telemetry was never started.  The events are then lost. */
void event_flush_on_failure(void);

/* In a child process just forked (fork.c), before anything else uses
 * the stream: the threads that were waiting for it are not there. */
void event_fork_child(void);

bool event_check(void);

#endif /* event_h */
