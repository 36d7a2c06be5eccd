/* Unit tests for telemetry (src/base/event.c; manual/topic/telemetry.rst):
 * the filter (set, reset, get, and MPS_TELEMETRY_CONTROL as a number or
 * as names), labels (distinct, written only with the user category on),
 * arena and pool events, a collection's start and end (a transform's
 * too), the stream's record format as event.h
 * describes it, a stream that cannot be opened, an assertion failure
 * saving the buffered events (without waiting for a thread stuck inside
 * the stream), and that rash writes nothing.  The stream is read with the shared decoder
 * (tools/eventdec.c, tested in test_eventcnv), which refuses any record
 * event.c would not have written.  Criterion runs each test in a process
 * of its own, so each starts with the filter unloaded and no stream. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvff.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/base/event.h"
#include "../tools/eventdec.c"
#include "support/evtest.h"
#include "support/configs.h"
#include "support/reports.h"

#define TEV_MAX 64

typedef struct tev_record_s {
  uint64_t clock;
  unsigned code;
  size_t nwords;
  mps_word_t word[4];
  char string[EVENT_STRING_MAX];
} tev_record_s;

static char tev_path[EVTEST_PATH_MAX];

/* Decode the stream into records; it must be well formed throughout.
 * Returns how many records. */
static size_t tev_read(tev_record_s *rec, size_t max)
{
  FILE *f = fopen(tev_path, "rb");
  unsigned char *stream;
  size_t size, n = 0;
  eventdec_s dec;
  eventdec_event_s ev;
  int r;
  cr_assert(f != NULL);
  cr_assert(eventdec_read(f, &stream, &size));
  fclose(f);
  remove(tev_path);
  eventdec_init(&dec, stream, size);
  while ((r = eventdec_next(&dec, &ev)) == 1) {
    cr_assert_lt(n, max);
    rec[n].clock = ev.clock;
    rec[n].code = ev.type->code;
    rec[n].nwords = ev.type->nwords;
    memcpy(rec[n].word, ev.word, sizeof rec[n].word);
    rec[n].string[0] = '\0';
    if (ev.string != NULL)
      memcpy(rec[n].string, ev.string, ev.length + 1);
    ++n;
  }
  cr_assert_eq(r, 0, "%s", dec.error);
  free(stream);
  return n;
}

Test(event, filter_set_reset_and_get)
{
  cr_assert_eq(unsetenv("MPS_TELEMETRY_CONTROL"), 0);
  cr_assert_eq(mps_telemetry_get(), 0);
  mps_telemetry_set(0x41);
  cr_assert_eq(mps_telemetry_get(), 0x41);
  mps_telemetry_set(0x06);
  cr_assert_eq(mps_telemetry_get(), 0x47);
  mps_telemetry_reset(0x03);
  cr_assert_eq(mps_telemetry_get(), 0x44);
  mps_telemetry_reset(~(mps_word_t)0);
  cr_assert_eq(mps_telemetry_get(), 0);
}

Test(event, control_variable_as_a_number)
{
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", "6", 1), 0);
  cr_assert_eq(mps_telemetry_get(), 6);
  /* The variable is read once; a set after it adds to it. */
  mps_telemetry_set(1);
  cr_assert_eq(mps_telemetry_get(), 7);
}

/* telemetry.rst takes the variable as a number whenever it reads as one:
 * white space around the digits does not make it a list of names. */
Test(event, control_variable_as_a_number_with_trailing_space)
{
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", " 6 \t\n", 1), 0);
  cr_assert_eq(mps_telemetry_get(), 6);
}

Test(event, control_variable_as_names)
{
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", "Arena  user bogus trace", 1), 0);
  cr_assert_eq(mps_telemetry_get(), (1u << 0) | (1u << 2) | (1u << 6));
}

Test(event, control_variable_all)
{
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", "pool all", 1), 0);
  cr_assert_eq(mps_telemetry_get(), ~(mps_word_t)0);
}

Test(event, labels_are_distinct_and_written_with_user_events)
{
  tev_record_s rec[TEV_MAX];
  static int object;
  mps_label_t a, b, c;
  size_t n;
  char longest[EVENT_STRING_MAX];
  evtest_stream_setup(tev_path);
  cr_assert_eq(unsetenv("MPS_TELEMETRY_CONTROL"), 0);
  /* User events off: labels are still handed out, and nothing written. */
  a = mps_telemetry_intern("unseen");
  mps_telemetry_label(&object, a);
  mps_telemetry_set(1u << EVENT_CAT_USER);
  b = mps_telemetry_intern("symbol pool");
  memset(longest, 'x', sizeof longest - 1);
  longest[sizeof longest - 1] = '\0';
  c = mps_telemetry_intern(longest);
  cr_assert(a != b && b != c && a != c);
  mps_telemetry_label(&object, b);
  mps_telemetry_flush();
  n = tev_read(rec, TEV_MAX);
#if EVENT_STREAM
  cr_assert_eq(n, 3);
  cr_assert_eq(rec[0].code, EVENT_INTERN);
  cr_assert_eq(rec[0].word[0], b);
  cr_assert_str_eq(rec[0].string, "symbol pool");
  cr_assert_eq(rec[1].code, EVENT_INTERN);
  cr_assert_eq(rec[1].word[0], c);
  cr_assert_str_eq(rec[1].string, longest);
  cr_assert_eq(rec[2].code, EVENT_LABEL);
  cr_assert_eq(rec[2].nwords, 2);
  cr_assert_eq(rec[2].word[0], (mps_word_t)(uintptr_t)&object);
  cr_assert_eq(rec[2].word[1], b);
#else
  cr_assert_eq(n, 0, "rash writes no events");
#endif
}

/* An interned string is written over whatever the buffer held before a
 * flush emptied it: its NUL and the padding to a whole word are written
 * too, so the stream holds the string and nothing after it. */
Test(event, an_interned_string_is_terminated_over_earlier_records)
{
  tev_record_s rec[TEV_MAX];
  size_t i, n;
  mps_label_t a;
  evtest_stream_setup(tev_path);
  mps_telemetry_set(1u << EVENT_CAT_USER);
  for (i = 0; i < 8; ++i)
    mps_telemetry_label((mps_addr_t)~(uintptr_t)0, (mps_label_t)~(mps_word_t)0);
  mps_telemetry_flush();
  a = mps_telemetry_intern("abc");
  mps_telemetry_flush();
  n = tev_read(rec, TEV_MAX);
#if EVENT_STREAM
  cr_assert_eq(n, 9);
  cr_assert_eq(rec[8].code, EVENT_INTERN);
  cr_assert_eq(rec[8].word[0], a);
  cr_assert_str_eq(rec[8].string, "abc");
#else
  (void)a;
  cr_assert_eq(n, 0, "rash writes no events");
#endif
}

/* More records than the buffer holds: the early ones go to the stream
 * as it fills, and none is lost or torn. */
Test(event, a_full_buffer_goes_to_the_stream_whole)
{
  static tev_record_s rec[2048];
  size_t i, n;
  evtest_stream_setup(tev_path);
  mps_telemetry_set(1u << EVENT_CAT_USER);
  for (i = 0; i < 1000; ++i)
    mps_telemetry_label((mps_addr_t)(uintptr_t)(i * 16), (mps_label_t)i);
  mps_telemetry_flush();
  n = tev_read(rec, 2048);
#if EVENT_STREAM
  cr_assert_eq(n, 1000);
  for (i = 0; i < n; ++i) {
    cr_assert_eq(rec[i].code, EVENT_LABEL);
    cr_assert_eq(rec[i].word[0], i * 16);
    cr_assert_eq(rec[i].word[1], i);
  }
#else
  cr_assert_eq(n, 0);
#endif
}

Test(event, arena_and_pool_events_in_order)
{
  tev_record_s rec[TEV_MAX];
  mps_arena_t arena;
  mps_pool_t pool;
  size_t n;
  evtest_stream_setup(tev_path);
  mps_telemetry_set((1u << EVENT_CAT_ARENA) | (1u << EVENT_CAT_POOL));
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  mps_pool_destroy(pool);
  /* Destroying the arena flushes the stream (telemetry.rst). */
  mps_arena_destroy(arena);
  n = tev_read(rec, TEV_MAX);
#if EVENT_STREAM
  cr_assert_eq(n, 4);
  cr_assert_eq(rec[0].code, EVENT_ARENA_CREATE);
  cr_assert_eq(rec[0].word[0], (mps_word_t)(uintptr_t)arena);
  cr_assert_gt(rec[0].word[1], 0, "reserved bytes");
  cr_assert_eq(rec[1].code, EVENT_POOL_INIT);
  cr_assert_eq(rec[1].word[0], (mps_word_t)(uintptr_t)pool);
  cr_assert_eq(rec[1].word[1], (mps_word_t)(uintptr_t)arena);
  cr_assert_eq(rec[1].word[2], (mps_word_t)(uintptr_t)mps_class_mvff());
  cr_assert_eq(rec[2].code, EVENT_POOL_FINISH);
  cr_assert_eq(rec[2].word[0], (mps_word_t)(uintptr_t)pool);
  cr_assert_eq(rec[3].code, EVENT_ARENA_DESTROY);
  cr_assert_eq(rec[3].word[0], (mps_word_t)(uintptr_t)arena);
#else
  cr_assert_eq(n, 0);
#endif
}

/* Each collection writes a start and an end: the bytes condemned, then
 * those that survived, here an object kept by a root. */
Test(event, a_collection_writes_start_and_end)
{
  tev_record_s rec[TEV_MAX];
  evtest_heap_s h;
  mps_arena_t arena;
  static mps_addr_t kept[1];
  size_t n;
  evtest_stream_setup(tev_path);
  mps_telemetry_set(1u << EVENT_CAT_TRACE);
  evtest_heap_open(&h, kept, 1);
  arena = h.arena;
  cr_assert_eq(gcobj_alloc(&kept[0], h.ap, 1, 0, 8, NULL), MPS_RES_OK);
  mps_arena_collect(arena);
  mps_arena_release(arena);
  cr_assert(gcobj_intact(kept[0]));
  evtest_heap_close(&h);
  n = tev_read(rec, TEV_MAX);
#if EVENT_STREAM
  cr_assert_eq(n, 2);
  cr_assert_eq(rec[0].code, EVENT_TRACE_START);
  cr_assert_eq(rec[0].word[0], (mps_word_t)(uintptr_t)arena);
  cr_assert_gt(rec[0].word[1], 0, "nothing condemned");
  cr_assert_eq(rec[1].code, EVENT_TRACE_END);
  cr_assert_eq(rec[1].word[0], (mps_word_t)(uintptr_t)arena);
  cr_assert_geq(rec[1].word[1], gcobj_size(0, 8), "the kept object did not survive");
  cr_assert_leq(rec[1].word[1], rec[0].word[1]);
#else
  cr_assert_eq(n, 0);
#endif
}

/* A transform's collection runs inside apply's own hold on the mutator;
 * its events are written once apply lets the mutator go. */
Test(event, a_transform_writes_its_collection)
{
  tev_record_s rec[TEV_MAX];
  evtest_heap_s h;
  mps_arena_t arena;
  mps_transform_t tr;
  mps_bool_t applied = 0;
  static mps_addr_t kept[2];
  mps_addr_t old_ref, new_ref;
  size_t n;
  evtest_stream_setup(tev_path);
  mps_telemetry_set(1u << EVENT_CAT_TRACE);
  evtest_heap_open(&h, kept, 2);
  arena = h.arena;
  cr_assert_eq(gcobj_alloc(&kept[0], h.ap, 1, 0, 8, NULL), MPS_RES_OK);
  cr_assert_eq(gcobj_alloc(&kept[1], h.ap, 2, 0, 8, NULL), MPS_RES_OK);
  mps_arena_park(arena);
  old_ref = kept[0];
  new_ref = kept[1];
  cr_assert_eq(mps_transform_create(&tr, arena), MPS_RES_OK);
  cr_assert_eq(mps_transform_add_oldnew(tr, &old_ref, &new_ref, 1), MPS_RES_OK);
  old_ref = new_ref = NULL;
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_OK);
  mps_transform_destroy(tr);
  cr_assert(applied);
  cr_assert_eq(gcobj_id(kept[0]), 2);
  evtest_heap_close(&h);
  n = tev_read(rec, TEV_MAX);
#if EVENT_STREAM
  cr_assert_eq(n, 2);
  cr_assert_eq(rec[0].code, EVENT_TRACE_START);
  cr_assert_eq(rec[1].code, EVENT_TRACE_END);
  cr_assert_eq(rec[1].word[0], (mps_word_t)(uintptr_t)arena);
#else
  cr_assert_eq(n, 0);
#endif
}

/* Categories not in the filter are not written. */
Test(event, only_the_filtered_categories_are_written)
{
  tev_record_s rec[TEV_MAX];
  mps_arena_t arena;
  mps_pool_t pool;
  size_t n;
  evtest_stream_setup(tev_path);
  mps_telemetry_set(1u << EVENT_CAT_POOL);
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  mps_telemetry_reset(1u << EVENT_CAT_POOL);
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
  n = tev_read(rec, TEV_MAX);
#if EVENT_STREAM
  cr_assert_eq(n, 1);
  cr_assert_eq(rec[0].code, EVENT_POOL_INIT);
#else
  cr_assert_eq(n, 0);
#endif
}

/* A stream that cannot be opened loses the events, and nothing else:
 * however many there are, the buffer is emptied each time it fills. */
Test(event, an_unopenable_stream_drops_events)
{
  mps_label_t a, b;
  size_t i;
  cr_assert_eq(setenv("MPS_TELEMETRY_FILENAME", "/nonexistent-dir/mpsio.log", 1), 0);
  mps_telemetry_set(1u << EVENT_CAT_USER);
  a = mps_telemetry_intern("one");
  mps_telemetry_label(&a, a);
  mps_telemetry_flush();
  b = mps_telemetry_intern("two");
  cr_assert_neq(a, b);
  mps_telemetry_flush();
  for (i = 0; i < 1000; ++i)
    mps_telemetry_label(&b, mps_telemetry_intern("more than a buffer holds"));
  mps_telemetry_flush();
  cr_assert_eq(mps_telemetry_get(), 1u << EVENT_CAT_USER);
}

/* telemetry.rst: the stream is made when there is first something to
 * write, so a flush of an empty buffer makes none. */
Test(event, a_flush_with_nothing_buffered_opens_no_stream)
{
  char path[EVTEST_PATH_MAX];
  evtest_temp(path);
  cr_assert_eq(remove(path), 0);
  cr_assert_eq(setenv("MPS_TELEMETRY_FILENAME", path, 1), 0);
  mps_telemetry_set(1u << EVENT_CAT_USER);
  mps_telemetry_flush();
  cr_assert_eq(access(path, F_OK), -1, "an empty flush made the stream");
}

/* Records of every size (interns of strings 0 to 40 bytes long, among
 * labels) fill the buffer several times over: each goes to the stream
 * whole, in the buffer if it fits there or after the buffer was written,
 * and every string keeps its NUL, whatever its length. */
Test(event, records_of_every_size_cross_the_buffer_whole)
{
  static tev_record_s rec[1024];
  static mps_label_t label[512];
  char s[48];
  size_t i, len, n, k = 0;
  evtest_stream_setup(tev_path);
  mps_telemetry_set(1u << EVENT_CAT_USER);
  for (i = 0; i < 10; ++i) {
    for (len = 0; len <= 40; ++len) {
      memset(s, 'a' + (int)(len % 26), len);
      s[len] = '\0';
      label[k] = mps_telemetry_intern(s);
      mps_telemetry_label((mps_addr_t)(uintptr_t)len, label[k]);
      ++k;
    }
  }
  mps_telemetry_flush();
  n = tev_read(rec, 1024);
#if EVENT_STREAM
  cr_assert_eq(n, 2 * k);
  for (i = 0; i < k; ++i) {
    len = i % 41;
    cr_assert_eq(rec[2 * i].code, EVENT_INTERN);
    cr_assert_eq(rec[2 * i].word[0], label[i]);
    cr_assert_eq(strlen(rec[2 * i].string), len, "record %zu", 2 * i);
    cr_assert(len == 0 || rec[2 * i].string[len - 1] == 'a' + (int)(len % 26));
    cr_assert_eq(rec[2 * i + 1].code, EVENT_LABEL);
    cr_assert_eq(rec[2 * i + 1].word[0], len);
    cr_assert_eq(rec[2 * i + 1].word[1], label[i]);
  }
#else
  cr_assert_eq(n, 0);
#endif
}

/* The variable is read before the first change to the filter, so a set
 * or a reset made before anything else used it is not undone. */
Test(event, a_set_before_the_first_event_adds_to_the_variable)
{
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", "pool", 1), 0);
  mps_telemetry_set(1u << EVENT_CAT_USER);
  cr_assert_eq(mps_telemetry_get(), (1u << EVENT_CAT_POOL) | (1u << EVENT_CAT_USER));
}

Test(event, a_reset_before_the_first_event_takes_from_the_variable)
{
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", "pool user", 1), 0);
  mps_telemetry_reset(1u << EVENT_CAT_POOL);
  cr_assert_eq(mps_telemetry_get(), 1u << EVENT_CAT_USER);
}

/* Each record carries mps_clock() of when it was made. */
Test(event, records_carry_the_clock_of_when_they_were_made)
{
  tev_record_s rec[TEV_MAX];
  static int object;
  mps_clock_t before, after;
  size_t i, n;
  evtest_stream_setup(tev_path);
  mps_telemetry_set(1u << EVENT_CAT_USER);
  while ((before = mps_clock()) == 0)
    ;   /* so that a clock of 0 cannot pass */
  mps_telemetry_label(&object, mps_telemetry_intern("timed"));
  after = mps_clock();
  mps_telemetry_flush();
  n = tev_read(rec, TEV_MAX);
  cr_assert_eq(n, EVENT_STREAM ? 2 : 0);
  for (i = 0; i < n; ++i) {
    cr_assert_geq(rec[i].clock, (uint64_t)before, "record %zu", i);
    cr_assert_leq(rec[i].clock, (uint64_t)after, "record %zu", i);
  }
}

/* An event kept back (gcevent.c) is written with the clock it was made
 * at, if its category is still in the filter when it is written. */
Test(event, an_event_kept_back_keeps_its_clock_and_obeys_the_filter)
{
  tev_record_s rec[TEV_MAX];
  Word words[2] = {0x1230, 7};
  size_t n;
  evtest_stream_setup(tev_path);
  mps_telemetry_set(1u << EVENT_CAT_USER);
  event_emit_at(EVENT_CAT_USER, EVENT_LABEL, (uint64_t)0x123456789, 2, words);
  event_emit_at(EVENT_CAT_ARENA, EVENT_LABEL, (uint64_t)0x12345678a, 2, words);
  mps_telemetry_flush();
  n = tev_read(rec, TEV_MAX);
#if EVENT_STREAM
  cr_assert_eq(n, 1);
  cr_assert_eq(rec[0].code, EVENT_LABEL);
  cr_assert_eq(rec[0].clock, (uint64_t)0x123456789);
  cr_assert_eq(rec[0].word[0], 0x1230);
  cr_assert_eq(rec[0].word[1], 7);
#else
  cr_assert_eq(n, 0);
#endif
}

/* A string longer than telemetry.rst allows is reported; where the
 * report returns, the label is made all the same, and its string is
 * written cut to the longest a record holds. */
Test(event, an_overlong_string_is_reported_and_cut)
{
  tev_record_s rec[TEV_MAX];
  char s[300];
  mps_label_t a;
  size_t n;
  evtest_stream_setup(tev_path);
  reports_install();
  mps_telemetry_set(1u << EVENT_CAT_USER);
  memset(s, 'y', sizeof s - 1);
  s[sizeof s - 1] = '\0';
  a = mps_telemetry_intern(s);
  mps_telemetry_flush();
  n = tev_read(rec, TEV_MAX);
  cr_assert_eq(reports_seen(), CHECK_LEVEL >= 1 ? 1 : 0);
#if EVENT_STREAM
  cr_assert_eq(n, 1);
  cr_assert_eq(rec[0].word[0], a);
  cr_assert_eq(strlen(rec[0].string), EVENT_STRING_MAX - 1);
  cr_assert_eq(strncmp(rec[0].string, s, EVENT_STRING_MAX - 1), 0);
#else
  (void)a;
  cr_assert_eq(n, 0);
#endif
}

/* Interning NULL is reported (telemetry.rst requires a string); where
 * the report returns, a label is still handed out, and nothing written. */
Test(event, interning_null_is_reported_and_writes_nothing)
{
  tev_record_s rec[TEV_MAX];
  mps_label_t a, b;
  size_t n;
  evtest_stream_setup(tev_path);
  reports_install();
  mps_telemetry_set(1u << EVENT_CAT_USER);
  a = mps_telemetry_intern(NULL);
  b = mps_telemetry_intern("after");
  cr_assert_neq(a, b);
  cr_assert_eq(reports_seen(), CHECK_LEVEL >= 1 ? 1 : 0);
  mps_telemetry_flush();
  n = tev_read(rec, TEV_MAX);
#if EVENT_STREAM
  cr_assert_eq(n, 1);
  cr_assert_eq(rec[0].word[0], b);
  cr_assert_str_eq(rec[0].string, "after");
#else
  cr_assert_eq(n, 0);
#endif
}

/* What the plinth's handler does, returning in every variety as hot's
 * does. */
static void tev_flush_and_return(const char *file, unsigned line, const char *condition)
{
  (void)file;
  (void)line;
  (void)condition;
  event_flush_on_failure();
}

/* The program goes on after a failure whose handler returns; the next
 * failure saves what was made since, so the stream leaves that first
 * flush as it found it. */
Test(event, a_second_failure_saves_what_followed_the_first)
{
  tev_record_s rec[TEV_MAX];
  static int object;
  mps_label_t a;
  size_t n;
  evtest_stream_setup(tev_path);
  mps_lib_assert_fail_install(tev_flush_and_return);
  mps_telemetry_set(1u << EVENT_CAT_USER);
  a = mps_telemetry_intern("first");
  (void)mps_telemetry_intern(NULL);
  mps_telemetry_label(&object, a);
  (void)mps_telemetry_intern(NULL);
  n = tev_read(rec, TEV_MAX);   /* no flush but the failures' */
#if EVENT_STREAM
  cr_assert_eq(n, 2, "what followed the first failure was lost");
  cr_assert_eq(rec[0].code, EVENT_INTERN);
  cr_assert_str_eq(rec[0].string, "first");
  cr_assert_eq(rec[1].code, EVENT_LABEL);
  cr_assert_eq(rec[1].word[1], a);
#else
  cr_assert_eq(n, 0);
#endif
}

/* A failed check in a child process, with the default handler: an
 * intern of NULL (telemetry.rst requires a string).  The cool handler
 * aborts; hot reports and returns, and the child then leaves without
 * flushing anything.  The report goes to /dev/null, not the test log. */
static void tev_fail_and_exit(void)
{
  int null = open("/dev/null", O_WRONLY);
  if (null >= 0)
    (void)dup2(null, STDERR_FILENO);
  (void)mps_telemetry_intern(NULL);
  _exit(0);
}

/* How the child must have ended: aborted by the cool handler, else
 * through tev_fail_and_exit. */
static void tev_assert_failed_child(int status)
{
#if CHECK_LEVEL >= 2
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
            "the child did not abort (status %#x)", (unsigned)status);
#else
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the child did not exit (status %#x)", (unsigned)status);
#endif
}

/* plinth.rst: the ANSI plinth's handler flushes the telemetry stream
 * after reporting, so the events made before a failure are in the file
 * although nothing else flushed it. */
Test(event, an_assertion_failure_flushes_the_stream)
{
  tev_record_s rec[TEV_MAX];
  static int object;
  pid_t pid;
  int status;
  size_t n;
  evtest_stream_setup(tev_path);
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", "user", 1), 0);
  pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    mps_label_t label = mps_telemetry_intern("before the failure");
    mps_telemetry_label(&object, label);
    tev_fail_and_exit();
  }
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  tev_assert_failed_child(status);
  n = tev_read(rec, TEV_MAX);
#if EVENT_STREAM
  cr_assert_eq(n, 2, "the buffered events were lost");
  cr_assert_eq(rec[0].code, EVENT_INTERN);
  cr_assert_str_eq(rec[0].string, "before the failure");
  cr_assert_eq(rec[1].code, EVENT_LABEL);
  cr_assert_eq(rec[1].word[0], (mps_word_t)(uintptr_t)&object);
  cr_assert_eq(rec[1].word[1], rec[0].word[0]);
#else
  cr_assert_eq(n, 0);
#endif
}

/* No telemetry, no stream: a failure makes no file. */
Test(event, an_assertion_failure_without_telemetry_writes_nothing)
{
  char path[EVTEST_PATH_MAX];
  pid_t pid;
  int status;
  evtest_temp(path);
  cr_assert_eq(remove(path), 0);
  cr_assert_eq(setenv("MPS_TELEMETRY_FILENAME", path, 1), 0);
  cr_assert_eq(unsetenv("MPS_TELEMETRY_CONTROL"), 0);
  pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0)
    tev_fail_and_exit();
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  tev_assert_failed_child(status);
  cr_assert_eq(access(path, F_OK), -1, "a failure opened the stream");
}

/* Linux for /proc; and only where the stream exists to get stuck. */
#if defined(__linux__) && EVENT_STREAM
static atomic_long tev_stuck_tid;
static atomic_bool tev_stuck_done;

/* Flushes into a FIFO nobody reads: opening it blocks, inside the
 * stream's lock, for as long as nobody opens the other end. */
static void *tev_stuck_flusher(void *arg)
{
  (void)arg;
  atomic_store(&tev_stuck_tid, (long)syscall(SYS_gettid));
  mps_telemetry_flush();
  atomic_store(&tev_stuck_done, true);
  return NULL;
}

/* Whether the thread is asleep in the kernel (Linux: /proc state S). */
static bool tev_sleeping(long tid)
{
  char name[64], line[512], *close;
  FILE *f;
  bool sleeping = false;
  snprintf(name, sizeof name, "/proc/self/task/%ld/stat", tid);
  f = fopen(name, "r");
  if (f == NULL)
    return false;
  if (fgets(line, sizeof line, f) != NULL && (close = strrchr(line, ')')) != NULL)
    sleeping = close[1] == ' ' && close[2] == 'S';
  fclose(f);
  return sleeping;
}

/* A thread that never leaves the stream's lock (as one the failing thread
 * has suspended for a collection would not) must not hang the failure:
 * the handler gives up on the events and the child ends as usual. */
Test(event, an_assertion_failure_does_not_wait_for_a_stuck_stream, .timeout = 60)
{
  char dir[] = "/tmp/mps11-test-fifo-XXXXXX";
  char fifo[sizeof dir + 8];
  static int object;
  struct timespec pause = {0, 10 * 1000000L};
  pid_t pid;
  int status = 0, tries, reader;
  cr_assert_not_null(mkdtemp(dir));
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  cr_assert_eq(setenv("MPS_TELEMETRY_FILENAME", fifo, 1), 0);
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", "user", 1), 0);
  pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    pthread_t flusher;
    long tid;
    mps_telemetry_label(&object, mps_telemetry_intern("stuck"));
    if (pthread_create(&flusher, NULL, tev_stuck_flusher, NULL) != 0)
      _exit(2);
    while ((tid = atomic_load(&tev_stuck_tid)) == 0 || !tev_sleeping(tid)) {
      if (atomic_load(&tev_stuck_done))
        _exit(3);   /* the flush did not block: nothing to test */
      nanosleep(&pause, NULL);
    }
    tev_fail_and_exit();
  }
  for (tries = 0; tries < 1000; ++tries) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      break;
    nanosleep(&pause, NULL);
  }
  if (tries == 1000) {
    /* Let the child go before failing, so the test leaves nothing behind. */
    reader = open(fifo, O_RDONLY | O_NONBLOCK);
    kill(pid, SIGKILL);
    (void)waitpid(pid, &status, 0);
    if (reader >= 0)
      close(reader);
  }
  remove(fifo);
  rmdir(dir);
  cr_assert_lt(tries, 1000, "the failure waited for the stuck stream");
  tev_assert_failed_child(status);
}

static atomic_bool tev_flusher_stop;

/* Enters the stream's lock and leaves it, over and over: with nothing
 * buffered, a flush opens no stream. */
static void *tev_busy_flusher(void *arg)
{
  (void)arg;
  while (!atomic_load(&tev_flusher_stop))
    mps_telemetry_flush();
  return NULL;
}

/* A thread waiting for the stream's lock when the process forks is not in
 * the child.  The child must not count it among the threads inside the
 * stream, or a failure there would take it for one that never leaves and
 * give up on the child's events (event.c, event_fork_child). */
Test(event, a_child_forked_while_another_thread_waited_for_the_stream_flushes_on_failure, TEST_NEEDS_THREADS)
{
  tev_record_s rec[TEV_MAX];
  static int object;
  mps_arena_t arena;
  pthread_t flusher;
  int i, status;
  evtest_stream_setup(tev_path);
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", "user", 1), 0);
  /* An arena installs the fork handlers, which hold the stream's lock
   * across the fork: the other thread then waits for it. */
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  atomic_store(&tev_flusher_stop, false);
  cr_assert_eq(pthread_create(&flusher, NULL, tev_busy_flusher, NULL), 0);
  for (i = 0; i < 10; ++i) {
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
      alarm(30);
      mps_telemetry_label(&object, mps_telemetry_intern("in the child"));
      tev_fail_and_exit();
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    tev_assert_failed_child(status);
    cr_assert_eq(tev_read(rec, TEV_MAX), 2, "fork %d: the child's events were lost", i);
    cr_assert_str_eq(rec[0].string, "in the child");
    cr_assert_eq(rec[1].code, EVENT_LABEL);
  }
  atomic_store(&tev_flusher_stop, true);
  cr_assert_eq(pthread_join(flusher, NULL), 0);
  mps_arena_destroy(arena);
}
#endif /* __linux__ && EVENT_STREAM */
