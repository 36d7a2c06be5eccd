/* event.c: the telemetry filter, labels and stream (see event.h;
 * manual/topic/telemetry.rst, plinth.rst for the I/O module).
 *
 * The telemetry interface takes no arena, so its state is the process's:
 * with the plinth and the global locks, one of the exceptions to "everything
 * hangs off the arena" (docs/architecture.md).  The filter is loaded from
 * the plinth (mps_lib_telemetry_control, which reads
 * MPS_TELEMETRY_CONTROL) at its first use.  Records collect in a buffer
 * that goes to the stream (mps_io_create on first need, mps_io_write)
 * when full, on mps_telemetry_flush and when an arena is destroyed.
 *
 * Invariants (event_check):
 *   1. event_buffer[0, event_used) is whole records;
 *   2. event_used <= EVENT_BUFFER_SIZE;
 *   3. the labels handed out are 1 .. event_next_label - 1, each once.
 * The buffer, event_used and the stream belong to whoever holds the
 * global recursive lock.  It is taken inside an arena's lock (arena and
 * pool events) and nothing is locked inside it, so it cannot deadlock.
 *
 * An assertion failure flushes the stream too (plinth.rst: the ANSI
 * plinth's handler does), and that is the one place where waiting for the
 * lock could hang for ever: the failing thread may have stopped the world
 * for a collection while another thread was inside the lock, or may have
 * failed inside it itself, with a record half-written.  So every claim of
 * the lock here goes through event_enter, which counts the threads
 * holding or waiting for it (event_entering) and this thread's own nesting
 * (event_depth), and the failing thread claims it only when it is free:
 * see event_flush_on_failure.
 */
#include <stdatomic.h>

#include "event.h"
#include "check.h"
#include "../../include/mpsio.h"
#include "../../include/mpslib.h"
#include "../thread/lock.h"

/* Enough for many records; a record is at most 16 + 4 words + 256 bytes. */
#define EVENT_BUFFER_SIZE ((size_t)8192)

/* The filter and whether it has been loaded.  The filter is read with
 * relaxed order: a change by another thread need only be seen
 * eventually, and it guards no other data.  `event_loaded` is released
 * after the first load, so a thread that acquires it sees that value. */
_Atomic Word event_filter_word;
atomic_bool event_loaded;
/* Labels only need to be distinct: relaxed fetch-and-add. */
static _Atomic Word event_next_label = 1;

static size_t event_used;   /* stays 0 in rash */

/* Threads inside event_enter .. event_leave, counted before they claim
 * the lock (so a thread stopped between the two is counted), and this
 * thread's nesting there.  A child forked while other threads waited here
 * inherits their count without them: event_fork_child sets it to the one
 * thread there is.  The lock itself is the lock module's to make safe
 * across fork. */
static _Atomic Count event_entering;
static _Thread_local Count event_depth;

/* How often a failing thread tries the lock before it gives up on the
 * stream: a holder that is running leaves within a few writes, but one
 * that has been suspended never will. */
#define EVENT_FAILING_TRIES ((unsigned long)1 << 20)

static void event_enter(void)
{
  /* acquire: the claim below cannot be seen before the count rises, so a
   * failing thread that reads 0 knows nobody holds the lock. */
  atomic_fetch_add_explicit(&event_entering, 1, memory_order_acquire);
  lock_claim_global_recursive();
  ++event_depth;
}

static void event_leave(void)
{
  --event_depth;
  lock_release_global_recursive();
  /* release: the lock is let go before the count falls. */
  atomic_fetch_sub_explicit(&event_entering, 1, memory_order_release);
}

void event_fork_child(void)
{
  /* relaxed: the child has this one thread, and no lock is held. */
  atomic_store_explicit(&event_entering, event_depth, memory_order_relaxed);
}

#if EVENT_STREAM
static Word event_buffer[EVENT_BUFFER_SIZE / sizeof(Word)];
static mps_io_t event_io;
static bool event_io_open;
#endif

static void event_load(void)
{
  event_enter();
  if (!atomic_load_explicit(&event_loaded, memory_order_relaxed)) {
    atomic_store_explicit(&event_filter_word, (Word)mps_lib_telemetry_control(),
                          memory_order_relaxed);
    atomic_store_explicit(&event_loaded, true, memory_order_release);
  }
  event_leave();
}

Word event_filter_load(void)
{
  event_load();
  return atomic_load_explicit(&event_filter_word, memory_order_relaxed);
}

bool event_check(void)
{
  CHECKL(event_used <= EVENT_BUFFER_SIZE);                          /* 2 */
  CHECKL(event_used % sizeof(Word) == 0);                           /* 1 */
  CHECKL(atomic_load_explicit(&event_next_label, memory_order_relaxed) >= 1); /* 3 */
  return true;
}

#if EVENT_STREAM

/* The buffer to the stream; with the global recursive lock held.  A
 * stream that cannot be made or written loses what the buffer held: the
 * client's program goes on (telemetry.rst does not let it fail). */
static void event_drain(void)
{
  if (event_used == 0)
    return;
  if (!event_io_open && mps_io_create(&event_io) == MPS_RES_OK)
    event_io_open = true;
  if (event_io_open)
    (void)mps_io_write(event_io, event_buffer, event_used);
  event_used = 0;
}

/* One record: header, `n` words, then `string` (if any) with its NUL,
 * padded to whole words. */
static void event_write(unsigned code, uint64_t clock, size_t n, const Word *words,
                        const char *string, size_t length)
{
  event_header_s header;
  size_t strbytes = string == NULL ? 0 : size_align_up(length + 1, sizeof(Word));
  size_t payload = n * sizeof(Word) + strbytes;
  char *at;
  AVER(n <= 4 && length < EVENT_STRING_MAX);
  header.clock = clock;
  header.code = (uint32_t)code;
  header.size = (uint32_t)payload;
  event_enter();
  if (event_used + sizeof header + payload > EVENT_BUFFER_SIZE)
    event_drain();
  at = (char *)event_buffer + event_used;
  mem_copy(at, &header, sizeof header);
  at += sizeof header;
  if (n > 0)
    mem_copy(at, words, n * sizeof(Word));
  at += n * sizeof(Word);
  if (string != NULL) {
    mem_set(at, 0, strbytes);
    mem_copy(at, string, length);
  }
  event_used += sizeof header + payload;
  AVER(event_check());
  event_leave();
}

void event_emit(unsigned cat, unsigned code, size_t n, const Word *words)
{
  if (event_wanted(cat))
    event_write(code, (uint64_t)mps_clock(), n, words, NULL, 0);
}

void event_emit_at(unsigned cat, unsigned code, uint64_t clock, size_t n, const Word *words)
{
  if (event_wanted(cat))
    event_write(code, clock, n, words, NULL, 0);
}

static void event_flush_locked(void)
{
  event_drain();
  if (event_io_open)
    (void)mps_io_flush(event_io);
}

void event_flush(void)
{
  event_enter();
  event_flush_locked();
  event_leave();
}

void event_flush_on_failure(void)
{
  unsigned long tries;
  Count idle;
  /* Telemetry never started: there is nothing to write, and no file
   * should appear because of a failure. */
  if (!atomic_load_explicit(&event_loaded, memory_order_acquire))
    return;
  /* Failing inside the stream's critical section (a check there, or a
   * signal handler that interrupted it): the buffer may be torn. */
  if (event_depth > 0)
    return;
  for (tries = 0;; ++tries) {
    idle = 0;
    /* acquire: as in event_enter, our claim comes after the count. */
    if (atomic_compare_exchange_weak_explicit(&event_entering, &idle, 1,
                                              memory_order_acquire,
                                              memory_order_relaxed))
      break;
    if (tries >= EVENT_FAILING_TRIES)
      return;   /* someone is inside and may never leave: lose the events */
  }
  lock_claim_global_recursive();
  ++event_depth;
  event_flush_locked();
  event_leave();
}

#else /* !EVENT_STREAM: rash makes no events */

void event_emit(unsigned cat, unsigned code, size_t n, const Word *words)
{
  UNUSED(cat);
  UNUSED(code);
  UNUSED(n);
  UNUSED(words);
}

void event_emit_at(unsigned cat, unsigned code, uint64_t clock, size_t n, const Word *words)
{
  UNUSED(cat);
  UNUSED(code);
  UNUSED(clock);
  UNUSED(n);
  UNUSED(words);
}

void event_flush(void)
{
}

void event_flush_on_failure(void)
{
}

#endif /* EVENT_STREAM */

mps_word_t mps_telemetry_get(void)
{
  return (mps_word_t)event_filter();
}

void mps_telemetry_set(mps_word_t set_mask)
{
  (void)event_filter();   /* loaded first, so the load cannot undo this */
  atomic_fetch_or_explicit(&event_filter_word, (Word)set_mask, memory_order_relaxed);
}

void mps_telemetry_reset(mps_word_t reset_mask)
{
  (void)event_filter();
  atomic_fetch_and_explicit(&event_filter_word, ~(Word)reset_mask, memory_order_relaxed);
}

void mps_telemetry_flush(void)
{
  event_flush();
}

mps_label_t mps_telemetry_intern(const char *label)
{
  Word id = atomic_fetch_add_explicit(&event_next_label, 1, memory_order_relaxed);
  size_t length;
  AVER(label != NULL);
  if (label == NULL)
    return (mps_label_t)id;
  length = str_length(label);
  AVER(length < EVENT_STRING_MAX);   /* telemetry.rst: 256 with the NUL */
  if (length >= EVENT_STRING_MAX)
    length = EVENT_STRING_MAX - 1;
#if EVENT_STREAM
  if (event_wanted(EVENT_CAT_USER))
    event_write(EVENT_INTERN, (uint64_t)mps_clock(), 1, &id, label, length);
#endif
  return (mps_label_t)id;
}

void mps_telemetry_label(mps_addr_t addr, mps_label_t label)
{
  Word words[2];
  words[0] = (Word)(uintptr_t)addr;
  words[1] = (Word)label;
  event_emit(EVENT_CAT_USER, EVENT_LABEL, 2, words);
}
