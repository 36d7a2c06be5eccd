/* fuzz_eventdec.c: the telemetry decoder (tools/eventdec.c) against a
 * model of the stream, in two modes picked by the first byte's low bit.
 *
 * Events mode: the rest of the input is a list of events, each a byte
 * (its code), a byte (its clock's step), a byte then that many bytes
 * (0..8) for each word, and for an intern a length byte and the string
 * (NULs made 'a').  The model writes them with test/support/eventenc.h,
 * knowing each record's offset.  Then maybe one damage: cut the stream
 * anywhere, give one record an unknown code, change its size, or put a
 * non-zero byte in an intern's NUL or padding.  The
 * decoder must return exactly the model's events up to the damaged
 * record and then fail at its offset (a cut on a record boundary is a
 * shorter good stream); the printer must agree on whether it fails.
 *
 * Raw mode: the rest is the stream itself, in a block of its exact size
 * so ASan sees any read past it.  Each event returned must start where
 * the last ended and, written again by the model, give back the bytes it
 * came from; the reading ends at the end of the input, or fails at the
 * end of the last event, inside the input, with that offset in the
 * message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../tools/eventdec.c"
#include "../test/support/eventenc.h"
#include "support/input.h"

#define FUZZ_EVDEC_W sizeof(mps_word_t)

/* The model's own idea of each code's words, from event.h's comments. */
static const size_t fuzz_evdec_nwords[EVENT_CODE_LIMIT] = {
  [EVENT_INTERN] = 1,       [EVENT_LABEL] = 2,
  [EVENT_ARENA_CREATE] = 2, [EVENT_ARENA_DESTROY] = 1,
  [EVENT_POOL_INIT] = 3,    [EVENT_POOL_FINISH] = 1,
  [EVENT_TRACE_START] = 2,  [EVENT_TRACE_END] = 2,
  [EVENT_SEG_ALLOC] = 4,    [EVENT_SEG_FREE] = 1,
  [EVENT_SCAN_SEG] = 3,     [EVENT_SCAN_ROOT] = 2,
  [EVENT_OBJECT_COPY] = 3,  [EVENT_DROPPED] = 3,
  [EVENT_SEG_RECLAIM] = 4,  [EVENT_OBJECT_PRESERVE] = 2,
};

typedef struct fuzz_evdec_model_s {
  size_t offset, end;
  uint64_t clock;
  uint32_t code;
  mps_word_t word[EVENTDEC_WORDS_MAX];
  bool has_string;
  char string[EVENT_STRING_MAX];
} fuzz_evdec_model_s;


static FILE *fuzz_evdec_null;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_evdec_null = fopen("/dev/null", "w");
  if (fuzz_evdec_null == NULL)
    abort();
  return 0;
}

/* The printer, in both forms, must fail exactly when the reader does. */
static void fuzz_evdec_print(const unsigned char *stream, size_t size, bool malformed)
{
  int summary;
  for (summary = 0; summary < 2; ++summary) {
    eventdec_s dec;
    eventdec_res_e res;
    eventdec_init(&dec, stream, size);
    res = eventdec_print(fuzz_evdec_null, &dec, summary != 0);
    if (res == EVENTDEC_NO_MEMORY)
      continue;
    if ((res == EVENTDEC_MALFORMED) != malformed)
      abort();
  }
}

/* The stream in a block of its own size, so a read past it is caught. */
static unsigned char *fuzz_evdec_exact(const void *bytes, size_t size)
{
  unsigned char *p = malloc(size == 0 ? 1 : size);
  if (p == NULL)
    abort();
  if (size > 0)
    memcpy(p, bytes, size);
  return p;
}

static void fuzz_evdec_raw(const uint8_t *data, size_t size)
{
  unsigned char *stream = fuzz_evdec_exact(data, size);
  unsigned char again[sizeof(event_header_s) + EVENTDEC_WORDS_MAX * FUZZ_EVDEC_W
                      + EVENT_STRING_MAX + FUZZ_EVDEC_W];
  eventdec_s dec;
  eventdec_event_s ev;
  size_t last = 0;
  int r;
  eventdec_init(&dec, stream, size);
  while ((r = eventdec_next(&dec, &ev)) == 1) {
    size_t used = 0;
    if (ev.offset != last || ev.end <= ev.offset || ev.end > size
        || ev.type != eventdec_type(ev.type->code)
        || ev.type->nwords != fuzz_evdec_nwords[ev.type->code]
        || (ev.string != NULL) != (ev.type->code == EVENT_INTERN)
        || (ev.string != NULL && strlen(ev.string) != ev.length))
      abort();
    if (!eventenc_put(again, sizeof again, &used, ev.clock, ev.type->code,
                      ev.type->nwords, ev.word, ev.string)
        || used != ev.end - ev.offset || memcmp(again, stream + ev.offset, used) != 0)
      abort();
    last = ev.end;
  }
  if (r == 0) {
    if (last != size || dec.failed)
      abort();
  } else {
    char prefix[40];
    snprintf(prefix, sizeof prefix, "offset %zu: ", last);
    if (r != -1 || !dec.failed || dec.error_offset != last || last >= size
        || strncmp(dec.error, prefix, strlen(prefix)) != 0
        || eventdec_next(&dec, &ev) != -1)
      abort();
  }
  fuzz_evdec_print(stream, size, r != 0);
  free(stream);
}

static void fuzz_evdec_events(const uint8_t *data, size_t size)
{
  fuzz_input_s in = {data, size};
  /* An event takes at least two input bytes and at most a whole record
   * with the longest string. */
  size_t max_events = size / 2 + 1;
  size_t capacity = max_events * eventenc_size(EVENTDEC_WORDS_MAX, NULL) + 2 * EVENT_STRING_MAX;
  fuzz_evdec_model_s *model = malloc(max_events * sizeof *model);
  unsigned char *buf = malloc(capacity), *stream;
  size_t n = 0, used = 0, good, bad_offset = 0, i, k;
  bool damaged = false;
  uint64_t clock = 0;
  eventdec_s dec;
  eventdec_event_s ev;
  int r;
  if (model == NULL || buf == NULL)
    abort();
  /* The last byte, if the events leave it, says which damage. */
  while (in.size > 2 && n < max_events) {
    fuzz_evdec_model_s *m = &model[n];
    m->code = 1 + fuzz_input_take8(&in) % (EVENT_CODE_LIMIT - 1);
    clock += fuzz_input_take8(&in);
    m->clock = clock;
    memset(m->word, 0, sizeof m->word);
    for (i = 0; i < fuzz_evdec_nwords[m->code]; ++i)
      for (k = fuzz_input_take8(&in) % 9; k > 0; --k)
        m->word[i] = m->word[i] << 8 | fuzz_input_take8(&in);
    m->has_string = m->code == EVENT_INTERN;
    if (m->has_string) {
      size_t length = fuzz_input_take8(&in);
      for (i = 0; i < length; ++i) {
        char c = (char)fuzz_input_take8(&in);
        m->string[i] = c != '\0' ? c : 'a';
      }
      m->string[length] = '\0';
      if (used + eventenc_size(1, m->string) > capacity)
        break;   /* a run of long strings: the model is full */
    }
    m->offset = used;
    if (!eventenc_put(buf, capacity, &used, m->clock, m->code, fuzz_evdec_nwords[m->code],
                      m->word, m->has_string ? m->string : NULL))
      break;
    m->end = used;
    ++n;
  }
  good = n;
  if (in.size > 0 && n > 0) {
    unsigned how = fuzz_input_take8(&in);
    size_t which = how / 5 % n;
    fuzz_evdec_model_s *m = &model[which];
    event_header_s h;
    memcpy(&h, buf + m->offset, sizeof h);
    switch (how % 5) {
    case 1:   /* cut: the records wholly before the cut survive */
      used = ((size_t)fuzz_input_take8(&in) << 8 | fuzz_input_take8(&in)) % (used + 1);
      for (good = 0; good < n && model[good].end <= used; ++good)
        ;
      damaged = good < n && model[good].offset < used;
      bad_offset = damaged ? model[good].offset : 0;
      break;
    case 2:   /* an unknown code, past the end or 0 */
      h.code = how & 0x80 ? 0 : EVENT_CODE_LIMIT + fuzz_input_take8(&in);
      damaged = true;
      break;
    case 3:   /* any other size */
      h.size += (uint32_t)(fuzz_input_take8(&in) % 255) - 127;
      if (h.size == m->end - m->offset - sizeof h)
        ++h.size;
      damaged = true;
      break;
    case 4:   /* an intern's padding not zeros, or with none, its NUL */
      if (m->has_string) {
        /* Not the NUL when padding follows: that would only make a
         * shorter string with good padding. */
        size_t nul = m->offset + sizeof h + FUZZ_EVDEC_W + strlen(m->string);
        size_t at = nul;
        if (m->end - nul > 1)
          at = nul + 1 + fuzz_input_take8(&in) % (m->end - nul - 1);
        buf[at] = (unsigned char)(fuzz_input_take8(&in) | 1);
        damaged = true;
      }
      break;
    default:
      break;
    }
    if (damaged && how % 5 != 1) {
      memcpy(buf + m->offset, &h, sizeof h);
      good = which;
      bad_offset = m->offset;
    }
  }
  stream = fuzz_evdec_exact(buf, used);
  free(buf);
  eventdec_init(&dec, stream, used);
  for (i = 0; (r = eventdec_next(&dec, &ev)) == 1; ++i) {
    const fuzz_evdec_model_s *m = &model[i];
    if (i >= good || ev.offset != m->offset || ev.end != m->end || ev.clock != m->clock
        || ev.type->code != m->code || memcmp(ev.word, m->word, sizeof m->word) != 0
        || (ev.string != NULL) != m->has_string
        || (m->has_string && strcmp(ev.string, m->string) != 0))
      abort();
  }
  if (i != good || r != (damaged ? -1 : 0) || (damaged && dec.error_offset != bad_offset))
    abort();
  fuzz_evdec_print(stream, used, damaged);
  free(stream);
  free(model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  if (data[0] & 1)
    fuzz_evdec_raw(data + 1, size - 1);
  else
    fuzz_evdec_events(data + 1, size - 1);
  return 0;
}
