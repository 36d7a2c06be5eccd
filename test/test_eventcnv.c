/* Unit tests for the telemetry decoder (tools/eventdec.c) and the
 * mpseventcnv program (tools/mpseventcnv.c), both included here so that
 * no build step is needed for them: every code of event.h is known; a
 * stream the library writes for a whole session (labels, pools, a
 * collection) decodes to exactly the events made, and prints as
 * documented; malformed streams (truncated, unknown code, wrong size, bad
 * string) are refused at the offset of the bad record, after the good
 * ones; labels name addresses before and after they are given; and the
 * program's options, default file and exit status.  The rash variety
 * writes no events, which the session tests allow for. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/mps.h"
#include "../include/mpscmvff.h"
#include "../src/base/config.h"
#include "support/eventenc.h"
#include "support/evtest.h"

#define MPSEVENTCNV_NO_MAIN
#include "../tools/eventdec.c"
#include "../tools/mpseventcnv.c"

#define TEC_CAPACITY 4096
#define TEC_MAX 32

/* The clock of a line, and the space after it. */
#define TEC_CLOCK_CHARS 17

static char tec_path[EVTEST_PATH_MAX];

/* The whole of a file, NUL-terminated so text can be compared. */
static char *tec_slurp(FILE *f, size_t *size_o)
{
  unsigned char *data;
  size_t size;
  rewind(f);
  cr_assert(eventdec_read(f, &data, &size));
  if (size_o != NULL)
    *size_o = size;
  return (char *)data;
}

static char *tec_slurp_path(const char *path, size_t *size_o)
{
  FILE *f = fopen(path, "rb");
  char *data;
  cr_assert(f != NULL);
  data = tec_slurp(f, size_o);
  fclose(f);
  return data;
}

/* Decode all of a stream that must be well formed. */
static size_t tec_decode(const void *stream, size_t size, eventdec_event_s *ev, size_t max)
{
  eventdec_s dec;
  size_t n = 0;
  int r;
  eventdec_init(&dec, stream, size);
  while ((r = eventdec_next(&dec, &ev[n])) == 1) {
    cr_assert_lt(n, max);
    ++n;
  }
  cr_assert_eq(r, 0, "%s", dec.error);
  return n;
}

/* Print a stream to text with eventdec_print. */
static char *tec_print(const void *stream, size_t size, bool summary, eventdec_res_e expected)
{
  FILE *out = tmpfile();
  eventdec_s dec;
  char *text;
  cr_assert(out != NULL);
  eventdec_init(&dec, stream, size);
  cr_assert_eq(eventdec_print(out, &dec, summary), expected, "%s", dec.error);
  text = tec_slurp(out, NULL);
  fclose(out);
  return text;
}

/* Line `i` (from 0) of `text`, less its clock, into `line`. */
static void tec_line(const char *text, size_t i, char *line, size_t max)
{
  const char *end;
  for (; i > 0; --i) {
    text = strchr(text, '\n');
    cr_assert(text != NULL, "too few lines");
    ++text;
  }
  end = strchr(text, '\n');
  cr_assert(end != NULL);
  cr_assert_gt((size_t)(end - text), TEC_CLOCK_CHARS);
  cr_assert_eq(text[TEC_CLOCK_CHARS - 1], ' ');
  cr_assert_lt((size_t)(end - text) - TEC_CLOCK_CHARS, max);
  memcpy(line, text + TEC_CLOCK_CHARS, (size_t)(end - text) - TEC_CLOCK_CHARS);
  line[end - text - TEC_CLOCK_CHARS] = '\0';
}

static size_t tec_lines(const char *text)
{
  size_t n = 0;
  for (; *text != '\0'; ++text)
    n += *text == '\n';
  return n;
}

/* Run the program in this process; its output and error text returned. */
static int tec_run(int argc, const char **argv, char **out_o, char **err_o)
{
  FILE *out = tmpfile(), *err = tmpfile();
  int status;
  cr_assert(out != NULL && err != NULL);
  status = cnv_main(argc, (char **)argv, out, err);
  *out_o = tec_slurp(out, NULL);
  *err_o = tec_slurp(err, NULL);
  fclose(out);
  fclose(err);
  return status;
}

Test(eventcnv, every_code_in_event_h_is_known)
{
  unsigned code;
  cr_assert_null(eventdec_type(0));
  cr_assert_null(eventdec_type(EVENT_CODE_LIMIT));
  cr_assert_null(eventdec_type(~0u));
  for (code = 1; code < EVENT_CODE_LIMIT; ++code) {
    const eventdec_type_s *type = eventdec_type(code);
    size_t i;
    cr_assert_not_null(type, "code %u", code);
    cr_assert_eq(type->code, code);
    cr_assert_leq(type->nwords, EVENTDEC_WORDS_MAX);
    cr_assert_str_neq(eventdec_category_name(type->category), "?");
    for (i = 0; i < type->nwords; ++i)
      cr_assert_not_null(type->field[i], "%s field %zu", type->name, i);
  }
  cr_assert_str_eq(eventdec_category_name(EVENT_CAT_USER), "user");
  cr_assert_str_eq(eventdec_category_name(EVENT_CAT_LIMIT), "?");
}

/* A whole session: an intern and a label, an arena, an AMC pool and a
 * collection of it, a manual pool made and destroyed.  The stream must
 * decode to exactly those events, and print with the label. */
Test(eventcnv, a_session_decodes_to_the_events_made)
{
  evtest_heap_s h;
  static mps_addr_t kept[1];
  eventdec_event_s ev[TEC_MAX];
  mps_label_t heap;
  mps_pool_t mvff;
  mps_word_t arena, amc;
  char *stream, *text, line[256], want[256];
  size_t size, n, i;
  evtest_stream_setup(tec_path);
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", "arena pool trace user", 1), 0);
  heap = mps_telemetry_intern("heap");
  evtest_heap_open(&h, kept, 1);
  mps_telemetry_label(h.pool, heap);
  cr_assert_eq(gcobj_alloc(&kept[0], h.ap, 1, 0, 8, NULL), MPS_RES_OK);
  mps_arena_collect(h.arena);
  mps_arena_release(h.arena);
  cr_assert_eq(mps_pool_create_k(&mvff, h.arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  mps_pool_destroy(mvff);
  arena = (mps_word_t)(uintptr_t)h.arena;
  amc = (mps_word_t)(uintptr_t)h.pool;
  evtest_heap_close(&h);
  stream = tec_slurp_path(tec_path, &size);
  remove(tec_path);
  n = tec_decode(stream, size, ev, TEC_MAX);
#if EVENT_STREAM
  cr_assert_eq(n, 10);
  for (i = 1; i < n; ++i) {
    cr_assert_geq(ev[i].clock, ev[i - 1].clock, "one thread's events in clock order");
    cr_assert_eq(ev[i].offset, ev[i - 1].end);
  }
  cr_assert_eq(ev[n - 1].end, size);
  cr_assert_eq(ev[0].type->code, EVENT_INTERN);
  cr_assert_eq(ev[0].word[0], heap);
  cr_assert_str_eq(ev[0].string, "heap");
  cr_assert_eq(ev[0].length, 4);
  cr_assert_eq(ev[1].type->code, EVENT_ARENA_CREATE);
  cr_assert_eq(ev[1].word[0], arena);
  cr_assert_gt(ev[1].word[1], 0, "reserved bytes");
  cr_assert_eq(ev[2].type->code, EVENT_POOL_INIT);
  cr_assert_eq(ev[2].word[0], amc);
  cr_assert_eq(ev[2].word[1], arena);
  cr_assert_eq(ev[2].word[2], (mps_word_t)(uintptr_t)mps_class_amc());
  cr_assert_eq(ev[3].type->code, EVENT_LABEL);
  cr_assert_eq(ev[3].word[0], amc);
  cr_assert_eq(ev[3].word[1], heap);
  cr_assert_eq(ev[4].type->code, EVENT_TRACE_START);
  cr_assert_eq(ev[4].word[0], arena);
  cr_assert_gt(ev[4].word[1], 0, "nothing condemned");
  cr_assert_eq(ev[5].type->code, EVENT_TRACE_END);
  cr_assert_eq(ev[5].word[0], arena);
  cr_assert_geq(ev[5].word[1], gcobj_size(0, 8), "the kept object did not survive");
  cr_assert_leq(ev[5].word[1], ev[4].word[1]);
  cr_assert_eq(ev[6].type->code, EVENT_POOL_INIT);
  cr_assert_eq(ev[6].word[0], (mps_word_t)(uintptr_t)mvff);
  cr_assert_eq(ev[6].word[2], (mps_word_t)(uintptr_t)mps_class_mvff());
  cr_assert_eq(ev[7].type->code, EVENT_POOL_FINISH);
  cr_assert_eq(ev[7].word[0], (mps_word_t)(uintptr_t)mvff);
  cr_assert_eq(ev[8].type->code, EVENT_POOL_FINISH);
  cr_assert_eq(ev[8].word[0], amc);
  cr_assert_eq(ev[9].type->code, EVENT_ARENA_DESTROY);
  cr_assert_eq(ev[9].word[0], arena);

  text = tec_print(stream, size, false, EVENTDEC_OK);
  cr_assert_eq(tec_lines(text), n);
  /* The pool is named on the events before its label too. */
  tec_line(text, 0, line, sizeof line);
  snprintf(want, sizeof want, "Intern label=%ju string=\"heap\"", (uintmax_t)heap);
  cr_assert_str_eq(line, want);
  tec_line(text, 2, line, sizeof line);
  snprintf(want, sizeof want, "PoolInit pool=0x%jx(\"heap\") arena=0x%jx class=0x%jx",
           (uintmax_t)amc, (uintmax_t)arena, (uintmax_t)(uintptr_t)mps_class_amc());
  cr_assert_str_eq(line, want);
  tec_line(text, 3, line, sizeof line);
  snprintf(want, sizeof want, "Label address=0x%jx(\"heap\") label=%ju(\"heap\")",
           (uintmax_t)amc, (uintmax_t)heap);
  cr_assert_str_eq(line, want);
  tec_line(text, 5, line, sizeof line);
  snprintf(want, sizeof want, "TraceEnd arena=0x%jx survived=%ju",
           (uintmax_t)arena, (uintmax_t)ev[5].word[1]);
  cr_assert_str_eq(line, want);
  tec_line(text, 8, line, sizeof line);
  snprintf(want, sizeof want, "PoolFinish pool=0x%jx(\"heap\")", (uintmax_t)amc);
  cr_assert_str_eq(line, want);
  free(text);

  text = tec_print(stream, size, true, EVENTDEC_OK);
  cr_assert_str_eq(text,
                   "Intern           user     1\n"
                   "Label            user     1\n"
                   "ArenaCreate      arena    1\n"
                   "ArenaDestroy     arena    1\n"
                   "PoolInit         pool     2\n"
                   "PoolFinish       pool     2\n"
                   "TraceStart       trace    1\n"
                   "TraceEnd         trace    1\n"
                   "total                     10\n");
  free(text);
#else
  cr_assert_eq(n, 0, "rash writes no events");
  (void)tec_line;
  (void)i;
  (void)line;
  (void)want;
  (void)text;
  (void)arena;
  (void)amc;
#endif
  free(stream);
}

/* A stream of one record of each kind, made by the test's own writer,
 * and its events as read back. */
typedef struct tec_good_s {
  unsigned char buf[TEC_CAPACITY];
  size_t size;
  eventdec_event_s ev[4];
} tec_good_s;

static void tec_good(tec_good_s *g)
{
  mps_word_t w[3] = {0x1000, 0x2000, 0x3000};
  mps_word_t label[2] = {0x1000, 7};
  mps_word_t seven = 7;
  size_t cap = sizeof g->buf;
  g->size = 0;
  cr_assert(eventenc_put(g->buf, cap, &g->size, 1, EVENT_ARENA_CREATE, 2, w, NULL));
  cr_assert(eventenc_put(g->buf, cap, &g->size, 2, EVENT_INTERN, 1, &seven, "seven chars"));
  cr_assert(eventenc_put(g->buf, cap, &g->size, 3, EVENT_LABEL, 2, label, NULL));
  cr_assert(eventenc_put(g->buf, cap, &g->size, 4, EVENT_POOL_INIT, 3, w, NULL));
  cr_assert_eq(tec_decode(g->buf, g->size, g->ev, 4), 4);
}

/* Decode `size` bytes of `buf`, which must fail at `offset` with `why`
 * in the message, after `good` events. */
static void tec_refused(const unsigned char *buf, size_t size, size_t good,
                        size_t offset, const char *why)
{
  eventdec_s dec;
  eventdec_event_s ev;
  char prefix[32];
  size_t n = 0;
  int r;
  eventdec_init(&dec, buf, size);
  while ((r = eventdec_next(&dec, &ev)) == 1)
    ++n;
  cr_assert_eq(r, -1, "accepted a malformed stream");
  cr_assert_eq(n, good);
  cr_assert(dec.failed);
  cr_assert_eq(dec.error_offset, offset, "error at %zu, not %zu: %s",
               dec.error_offset, offset, dec.error);
  snprintf(prefix, sizeof prefix, "offset %zu: ", offset);
  cr_assert_eq(strncmp(dec.error, prefix, strlen(prefix)), 0, "%s", dec.error);
  cr_assert_not_null(strstr(dec.error, why), "\"%s\" lacks \"%s\"", dec.error, why);
  /* Refused for good. */
  cr_assert_eq(eventdec_next(&dec, &ev), -1);
  cr_assert_eq(dec.error_offset, offset);
}

Test(eventcnv, a_good_stream_is_read_whole)
{
  tec_good_s g;
  eventdec_event_s none[1];
  tec_good(&g);
  cr_assert_eq(g.ev[1].type->code, EVENT_INTERN);
  cr_assert_eq(g.ev[1].word[0], 7);
  cr_assert_str_eq(g.ev[1].string, "seven chars");
  cr_assert_eq(g.ev[2].offset, eventenc_size(2, NULL) + eventenc_size(1, "seven chars"));
  cr_assert_eq(g.ev[3].clock, 4);
  cr_assert_eq(g.ev[3].word[2], 0x3000);
  cr_assert_eq(g.ev[3].end, g.size);
  cr_assert_eq(tec_decode(g.buf, 0, none, 1), 0, "an empty stream is no events");
}

Test(eventcnv, truncated_streams_are_refused_at_the_torn_record)
{
  tec_good_s g;
  size_t last;
  tec_good(&g);
  last = g.ev[3].offset;
  tec_refused(g.buf, g.size - 1, 3, last, "truncated PoolInit");
  tec_refused(g.buf, last + sizeof(event_header_s), 3, last, "truncated PoolInit");
  tec_refused(g.buf, last + 5, 3, last, "truncated header");
  tec_refused(g.buf, 15, 0, 0, "truncated header");
  /* Cut inside the intern's string. */
  tec_refused(g.buf, g.ev[1].offset + sizeof(event_header_s) + 12, 1, g.ev[1].offset,
              "truncated Intern");
}

/* Set the code or the size of the record at `offset`. */
static void tec_set(unsigned char *buf, size_t offset, bool code, uint32_t value)
{
  event_header_s h;
  memcpy(&h, buf + offset, sizeof h);
  if (code)
    h.code = value;
  else
    h.size = value;
  memcpy(buf + offset, &h, sizeof h);
}

Test(eventcnv, unknown_codes_are_refused)
{
  tec_good_s g;
  tec_good(&g);
  tec_set(g.buf, g.ev[2].offset, true, EVENT_CODE_LIMIT);
  tec_refused(g.buf, g.size, 2, g.ev[2].offset, "unknown event code");
  tec_set(g.buf, 0, true, 0);
  tec_refused(g.buf, g.size, 0, 0, "unknown event code 0");
}

Test(eventcnv, sizes_that_do_not_fit_the_code_are_refused)
{
  tec_good_s g;
  size_t w = sizeof(mps_word_t), room;
  char why[64];
  tec_good(&g);
  /* Fewer words than PoolInit has, though the stream would still parse. */
  tec_set(g.buf, g.ev[3].offset, false, (uint32_t)(2 * w));
  snprintf(why, sizeof why, "PoolInit of %zu bytes: its 3 words are %zu", 2 * w, 3 * w);
  tec_refused(g.buf, g.size, 3, g.ev[3].offset, why);
  tec_set(g.buf, g.ev[3].offset, false, (uint32_t)(3 * w));
  /* A size that is not whole words. */
  tec_set(g.buf, 0, false, (uint32_t)(2 * w - 1));
  snprintf(why, sizeof why, "ArenaCreate of %zu bytes", 2 * w - 1);
  tec_refused(g.buf, g.size, 0, 0, why);
  tec_set(g.buf, 0, false, (uint32_t)(2 * w));
  /* An intern one word longer or shorter than its string, or huge. */
  room = eventenc_size(0, "seven chars") - sizeof(event_header_s);
  tec_set(g.buf, g.ev[1].offset, false, (uint32_t)(w + room + w));
  snprintf(why, sizeof why, "string of 11 bytes in %zu bytes", room + w);
  tec_refused(g.buf, g.size, 1, g.ev[1].offset, why);
  tec_set(g.buf, g.ev[1].offset, false, (uint32_t)w);
  snprintf(why, sizeof why, "Intern of %zu bytes", w);
  tec_refused(g.buf, g.size, 1, g.ev[1].offset, why);
  tec_set(g.buf, g.ev[1].offset, false, UINT32_MAX);
  tec_refused(g.buf, g.size, 1, g.ev[1].offset, "a string needs");
}

Test(eventcnv, bad_strings_are_refused)
{
  tec_good_s g;
  unsigned char *s;
  size_t room;
  char why[64];
  tec_good(&g);
  s = g.buf + g.ev[1].offset + sizeof(event_header_s) + sizeof(mps_word_t);
  room = eventenc_size(0, "seven chars") - sizeof(event_header_s);
  /* "seven chars" is 11 bytes: its NUL at 11, then padding to the end. */
  cr_assert_gt(room, 12);
  s[room - 1] = 'x';
  tec_refused(g.buf, g.size, 1, g.ev[1].offset, "padding is not zeros");
  memset(s + 11, 'x', room - 11);
  tec_refused(g.buf, g.size, 1, g.ev[1].offset, "has no NUL");
  s[4] = '\0';
  snprintf(why, sizeof why, "string of 4 bytes in %zu bytes", room);
  tec_refused(g.buf, g.size, 1, g.ev[1].offset, why);
}

/* The reclaim events print with their fields' names, and the summary
 * puts them in their categories. */
Test(eventcnv, reclaim_events_print_by_name)
{
  unsigned char buf[TEC_CAPACITY];
  size_t used = 0;
  mps_word_t reclaim[4] = {0x5000, 3, 96, 4096}, preserve[2] = {0x6010, 32};
  char *text;
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x20, EVENT_OBJECT_PRESERVE, 2, preserve, NULL));
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x21, EVENT_SEG_RECLAIM, 4, reclaim, NULL));
  text = tec_print(buf, used, false, EVENTDEC_OK);
  cr_assert_str_eq(text,
    "0000000000000020 ObjectPreserve address=0x6010 size=32\n"
    "0000000000000021 SegReclaim seg=0x5000 kept_objects=3 kept_bytes=96 freed_bytes=4096\n");
  free(text);
  text = tec_print(buf, used, true, EVENTDEC_OK);
  cr_assert_str_eq(text,
                   "SegReclaim       seg      1\n"
                   "ObjectPreserve   object   1\n"
                   "total                     2\n");
  free(text);
}

/* The decoder knows how many words each carries. */
Test(eventcnv, reclaim_events_of_the_wrong_size_are_refused)
{
  unsigned char buf[TEC_CAPACITY];
  size_t used = 0, second;
  mps_word_t w[4] = {0x5000, 3, 96, 4096};
  char why[64];
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x20, EVENT_OBJECT_PRESERVE, 2, w, NULL));
  second = used;
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x21, EVENT_SEG_RECLAIM, 3, w, NULL));
  snprintf(why, sizeof why, "SegReclaim of %zu bytes: its 4 words are %zu",
           3 * sizeof(mps_word_t), 4 * sizeof(mps_word_t));
  tec_refused(buf, used, 1, second, why);
  used = 0;
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x20, EVENT_OBJECT_PRESERVE, 3, w, NULL));
  snprintf(why, sizeof why, "ObjectPreserve of %zu bytes: its 2 words are %zu",
           3 * sizeof(mps_word_t), 2 * sizeof(mps_word_t));
  tec_refused(buf, used, 0, 0, why);
}

/* A label names an address from the label event on; before its first
 * label, an address takes that first one; a label never interned is
 * shown by its number; and strings are quoted so that a line stays a
 * line. */
Test(eventcnv, labels_name_addresses_in_stream_order)
{
  unsigned char buf[TEC_CAPACITY];
  size_t used = 0;
  mps_word_t one = 1, two = 2, label1[2] = {0xa0, 1}, label2[2] = {0xa0, 2};
  mps_word_t label9[2] = {0xb0, 9}, pool[3] = {0xa0, 0xb0, 0xc0};
  char *text;
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x10, EVENT_POOL_INIT, 3, pool, NULL));
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x11, EVENT_INTERN, 1, &one, "first"));
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x12, EVENT_LABEL, 2, label1, NULL));
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x13, EVENT_INTERN, 1, &two, "tab\t\"q\"\\"));
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x14, EVENT_POOL_FINISH, 1, pool, NULL));
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x15, EVENT_LABEL, 2, label2, NULL));
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x16, EVENT_LABEL, 2, label9, NULL));
  cr_assert(eventenc_put(buf, sizeof buf, &used, 0x17, EVENT_POOL_FINISH, 1, pool, NULL));
  text = tec_print(buf, used, false, EVENTDEC_OK);
  cr_assert_str_eq(text,
    "0000000000000010 PoolInit pool=0xa0(\"first\") arena=0xb0(#9) class=0xc0\n"
    "0000000000000011 Intern label=1 string=\"first\"\n"
    "0000000000000012 Label address=0xa0(\"first\") label=1(\"first\")\n"
    "0000000000000013 Intern label=2 string=\"tab\\x09\\\"q\\\"\\\\\"\n"
    "0000000000000014 PoolFinish pool=0xa0(\"first\")\n"
    "0000000000000015 Label address=0xa0(\"tab\\x09\\\"q\\\"\\\\\") label=2(\"tab\\x09\\\"q\\\"\\\\\")\n"
    "0000000000000016 Label address=0xb0(#9) label=9\n"
    "0000000000000017 PoolFinish pool=0xa0(\"tab\\x09\\\"q\\\"\\\\\")\n");
  free(text);
}

/* The events before a bad record are still printed. */
Test(eventcnv, printing_a_malformed_stream_stops_at_the_bad_record)
{
  tec_good_s g;
  char *text;
  tec_good(&g);
  text = tec_print(g.buf, g.size - 3, false, EVENTDEC_MALFORMED);
  cr_assert_eq(tec_lines(text), 3);
  cr_assert_not_null(strstr(text, " Label address=0x1000(\"seven chars\") label=7(\"seven chars\")\n"));
  free(text);
  text = tec_print(g.buf, g.size - 3, true, EVENTDEC_MALFORMED);
  cr_assert_str_eq(text,
                   "Intern           user     1\n"
                   "Label            user     1\n"
                   "ArenaCreate      arena    1\n"
                   "total                     3\n");
  free(text);
}

Test(eventcnv, the_program_prints_a_file_and_reports_a_bad_one)
{
  tec_good_s g;
  const char *argv[4];
  char *out, *err, *want;
  char path[EVTEST_PATH_MAX];
  FILE *f;
  tec_good(&g);
  evtest_temp(path);
  f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(g.buf, 1, g.size, f), g.size);
  fclose(f);

  argv[0] = "mpseventcnv";
  argv[1] = "-f";
  argv[2] = path;
  cr_assert_eq(tec_run(3, argv, &out, &err), 0);
  want = tec_print(g.buf, g.size, false, EVENTDEC_OK);
  cr_assert_str_eq(out, want);
  cr_assert_str_eq(err, "");
  free(out);
  free(err);
  free(want);

  argv[1] = "-s";
  argv[2] = "-f";
  argv[3] = path;
  cr_assert_eq(tec_run(4, argv, &out, &err), 0);
  cr_assert_not_null(strstr(out, "PoolInit         pool     1\n"));
  free(out);
  free(err);

  /* Truncated by a crash: what came before still printed, exit 1. */
  cr_assert_eq(truncate(path, (off_t)g.size - 1), 0);
  cr_assert_eq(tec_run(4, argv, &out, &err), 1);
  cr_assert_not_null(strstr(out, "total                     3\n"));
  cr_assert_not_null(strstr(err, "offset "), "%s", err);
  cr_assert_not_null(strstr(err, "truncated PoolInit"), "%s", err);
  free(out);
  free(err);
  remove(path);

  cr_assert_eq(tec_run(4, argv, &out, &err), 2, "no such file");
  cr_assert_not_null(strstr(err, path));
  free(out);
  free(err);
}

Test(eventcnv, the_program_has_help_and_refuses_unknown_options)
{
  const char *argv[3] = {"mpseventcnv", "-h", NULL};
  char *out, *err;
  cr_assert_eq(tec_run(2, argv, &out, &err), 0);
  cr_assert_eq(strncmp(out, "usage: mpseventcnv", 18), 0);
  free(out);
  free(err);
  argv[1] = "-x";
  cr_assert_eq(tec_run(2, argv, &out, &err), 2);
  cr_assert_str_eq(out, "");
  cr_assert_not_null(strstr(err, "usage: mpseventcnv"));
  free(out);
  free(err);
  argv[1] = "-f";
  cr_assert_eq(tec_run(2, argv, &out, &err), 2, "-f needs a file");
  free(out);
  free(err);
}

/* With no -f, the program reads what the library writes with no
 * MPS_TELEMETRY_FILENAME: mpsio.log in the current directory. */
Test(eventcnv, the_program_reads_the_library_default_file)
{
  char dir[64], *out, *err;
  const char *argv[1] = {"mpseventcnv"};
  mps_label_t label;
  strcpy(dir, "/tmp/mps11-test-eventcnv-dir-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  cr_assert_eq(chdir(dir), 0);
  cr_assert_eq(unsetenv("MPS_TELEMETRY_FILENAME"), 0);
  mps_telemetry_set(1u << EVENT_CAT_USER);
  label = mps_telemetry_intern("default file");
  mps_telemetry_flush();
#if EVENT_STREAM
  cr_assert_eq(tec_run(1, argv, &out, &err), 0, "%s", err);
  cr_assert_eq(tec_lines(out), 1);
  cr_assert_not_null(strstr(out, " Intern label="));
  cr_assert_not_null(strstr(out, " string=\"default file\"\n"));
  cr_assert_eq(strtoull(strstr(out, "label=") + 6, NULL, 10), label);
  free(out);
  free(err);
  cr_assert_eq(remove(CNV_DEFAULT_FILE), 0);
#else
  (void)label;
  (void)argv;
  (void)out;
  (void)err;
#endif
  cr_assert_eq(rmdir(dir), 0);
}
