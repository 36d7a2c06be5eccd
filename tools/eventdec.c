/* eventdec.c: reading and printing the telemetry stream (see eventdec.h).
 *
 * The stream is read from memory with memcpy only, since a record's words
 * are aligned to the record and not to anything the reader knows about,
 * and every length is checked against what is left before it is used.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "eventdec.h"

#define EVENTDEC_WORD sizeof(mps_word_t)

/* Indexed by code.  Field names follow event.h's comments; the categories
 * are the ones the library emits each event under. */
static const eventdec_type_s eventdec_types[] = {
  [EVENT_INTERN] = {EVENT_INTERN, "Intern", EVENT_CAT_USER, 1, true,
                    {"label"}, {EVENTDEC_COUNT}},
  [EVENT_LABEL] = {EVENT_LABEL, "Label", EVENT_CAT_USER, 2, false,
                   {"address", "label"}, {EVENTDEC_ADDR, EVENTDEC_LABEL}},
  [EVENT_ARENA_CREATE] = {EVENT_ARENA_CREATE, "ArenaCreate", EVENT_CAT_ARENA, 2, false,
                          {"arena", "reserved"}, {EVENTDEC_ADDR, EVENTDEC_COUNT}},
  [EVENT_ARENA_DESTROY] = {EVENT_ARENA_DESTROY, "ArenaDestroy", EVENT_CAT_ARENA, 1, false,
                           {"arena"}, {EVENTDEC_ADDR}},
  [EVENT_POOL_INIT] = {EVENT_POOL_INIT, "PoolInit", EVENT_CAT_POOL, 3, false,
                       {"pool", "arena", "class"},
                       {EVENTDEC_ADDR, EVENTDEC_ADDR, EVENTDEC_ADDR}},
  [EVENT_POOL_FINISH] = {EVENT_POOL_FINISH, "PoolFinish", EVENT_CAT_POOL, 1, false,
                         {"pool"}, {EVENTDEC_ADDR}},
  [EVENT_TRACE_START] = {EVENT_TRACE_START, "TraceStart", EVENT_CAT_TRACE, 2, false,
                         {"arena", "condemned"}, {EVENTDEC_ADDR, EVENTDEC_COUNT}},
  [EVENT_TRACE_END] = {EVENT_TRACE_END, "TraceEnd", EVENT_CAT_TRACE, 2, false,
                       {"arena", "survived"}, {EVENTDEC_ADDR, EVENTDEC_COUNT}},
  [EVENT_SEG_ALLOC] = {EVENT_SEG_ALLOC, "SegAlloc", EVENT_CAT_SEG, 4, false,
                       {"seg", "pool", "base", "size"},
                       {EVENTDEC_ADDR, EVENTDEC_ADDR, EVENTDEC_ADDR, EVENTDEC_COUNT}},
  [EVENT_SEG_FREE] = {EVENT_SEG_FREE, "SegFree", EVENT_CAT_SEG, 1, false,
                      {"seg"}, {EVENTDEC_ADDR}},
  [EVENT_SCAN_SEG] = {EVENT_SCAN_SEG, "ScanSeg", EVENT_CAT_REF, 3, false,
                      {"seg", "rank", "fixes"},
                      {EVENTDEC_ADDR, EVENTDEC_COUNT, EVENTDEC_COUNT}},
  [EVENT_SCAN_ROOT] = {EVENT_SCAN_ROOT, "ScanRoot", EVENT_CAT_REF, 2, false,
                       {"root", "rank"}, {EVENTDEC_ADDR, EVENTDEC_COUNT}},
  [EVENT_OBJECT_COPY] = {EVENT_OBJECT_COPY, "ObjectCopy", EVENT_CAT_OBJECT, 3, false,
                         {"old", "new", "size"},
                         {EVENTDEC_ADDR, EVENTDEC_ADDR, EVENTDEC_COUNT}},
  /* Written under the category it counts, which may be any of the
   * collector's three: the table can name one only. */
  [EVENT_DROPPED] = {EVENT_DROPPED, "Dropped", EVENT_CAT_SEG, 3, false,
                     {"arena", "category", "count"},
                     {EVENTDEC_ADDR, EVENTDEC_CATEGORY, EVENTDEC_COUNT}},
  [EVENT_SEG_RECLAIM] = {EVENT_SEG_RECLAIM, "SegReclaim", EVENT_CAT_SEG, 4, false,
                         {"seg", "kept_objects", "kept_bytes", "freed_bytes"},
                         {EVENTDEC_ADDR, EVENTDEC_COUNT, EVENTDEC_COUNT, EVENTDEC_COUNT}},
  [EVENT_OBJECT_PRESERVE] = {EVENT_OBJECT_PRESERVE, "ObjectPreserve", EVENT_CAT_OBJECT, 2,
                             false, {"address", "size"}, {EVENTDEC_ADDR, EVENTDEC_COUNT}},
};

/* A code added to event.h after the last one here makes the table too
 * short; one left out in the middle is caught by test_eventcnv. */
_Static_assert(sizeof eventdec_types / sizeof eventdec_types[0] == EVENT_CODE_LIMIT,
               "eventdec_types does not cover every code in event.h");

static const char *const eventdec_category_names[EVENT_CAT_LIMIT] = {
  [EVENT_CAT_ARENA] = "arena", [EVENT_CAT_POOL] = "pool",
  [EVENT_CAT_TRACE] = "trace", [EVENT_CAT_SEG] = "seg",
  [EVENT_CAT_REF] = "ref",     [EVENT_CAT_OBJECT] = "object",
  [EVENT_CAT_USER] = "user",
};

const eventdec_type_s *eventdec_type(unsigned code)
{
  if (code >= EVENT_CODE_LIMIT || eventdec_types[code].name == NULL)
    return NULL;
  return &eventdec_types[code];
}

const char *eventdec_category_name(unsigned category)
{
  if (category >= EVENT_CAT_LIMIT || eventdec_category_names[category] == NULL)
    return "?";
  return eventdec_category_names[category];
}

bool eventdec_read(FILE *f, unsigned char **data_o, size_t *size_o)
{
  unsigned char *data = NULL;
  size_t size = 0, capacity = 0;
  for (;;) {
    size_t n;
    if (capacity - size < 2) {   /* room to read, and for the NUL */
      unsigned char *bigger;
      capacity = capacity == 0 ? 65536 : 2 * capacity;
      bigger = realloc(data, capacity);
      if (bigger == NULL) {
        free(data);
        errno = ENOMEM;
        return false;
      }
      data = bigger;
    }
    n = fread(data + size, 1, capacity - size - 1, f);
    size += n;
    if (n == 0)
      break;
  }
  if (ferror(f)) {
    free(data);
    if (errno == 0)
      errno = EIO;
    return false;
  }
  data[size] = '\0';
  *data_o = data;
  *size_o = size;
  return true;
}

void eventdec_init(eventdec_s *dec, const void *stream, size_t size)
{
  dec->stream = stream;
  dec->size = size;
  dec->at = 0;
  dec->failed = false;
  dec->error_offset = 0;
  dec->error[0] = '\0';
}

static size_t eventdec_padded(size_t bytes)
{
  return (bytes + EVENTDEC_WORD - 1) / EVENTDEC_WORD * EVENTDEC_WORD;
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static int eventdec_fail(eventdec_s *dec, const char *format, ...)
{
  va_list args;
  int n;
  dec->failed = true;
  dec->error_offset = dec->at;
  n = snprintf(dec->error, sizeof dec->error, "offset %zu: ", dec->at);
  if (n < 0 || (size_t)n >= sizeof dec->error)
    return -1;
  va_start(args, format);
  (void)vsnprintf(dec->error + n, sizeof dec->error - (size_t)n, format, args);
  va_end(args);
  return -1;
}

int eventdec_next(eventdec_s *dec, eventdec_event_s *event_o)
{
  event_header_s header;
  const eventdec_type_s *type;
  const unsigned char *payload;
  size_t left, wordbytes;
  if (dec->failed)
    return -1;
  if (dec->at == dec->size)
    return 0;
  left = dec->size - dec->at;
  if (left < sizeof header)
    return eventdec_fail(dec, "truncated header: %zu of its %zu bytes", left, sizeof header);
  memcpy(&header, dec->stream + dec->at, sizeof header);
  left -= sizeof header;
  payload = dec->stream + dec->at + sizeof header;
  type = eventdec_type(header.code);
  if (type == NULL)
    return eventdec_fail(dec, "unknown event code %" PRIu32, header.code);
  wordbytes = type->nwords * EVENTDEC_WORD;
  if (type->string) {
    /* At least a word for the NUL, at most the longest string's words. */
    if (header.size < wordbytes + EVENTDEC_WORD
        || header.size > wordbytes + eventdec_padded(EVENT_STRING_MAX))
      return eventdec_fail(dec, "%s of %" PRIu32 " bytes: a string needs %zu to %zu",
                           type->name, header.size, wordbytes + EVENTDEC_WORD,
                           wordbytes + eventdec_padded(EVENT_STRING_MAX));
  } else if (header.size != wordbytes) {
    return eventdec_fail(dec, "%s of %" PRIu32 " bytes: its %zu words are %zu",
                         type->name, header.size, type->nwords, wordbytes);
  }
  if (header.size > left)
    return eventdec_fail(dec, "truncated %s: %" PRIu32 " bytes of payload, %zu left",
                         type->name, header.size, left);
  memset(event_o->word, 0, sizeof event_o->word);
  memcpy(event_o->word, payload, wordbytes);
  event_o->string = NULL;
  event_o->length = 0;
  if (type->string) {
    const char *s = (const char *)payload + wordbytes;
    size_t room = header.size - wordbytes, length, i;
    const char *nul = memchr(s, '\0', room);
    if (nul == NULL)
      return eventdec_fail(dec, "%s string has no NUL", type->name);
    length = (size_t)(nul - s);
    if (length >= EVENT_STRING_MAX || eventdec_padded(length + 1) != room)
      return eventdec_fail(dec, "%s string of %zu bytes in %zu bytes of payload",
                           type->name, length, room);
    for (i = length + 1; i < room; ++i)
      if (s[i] != '\0')
        return eventdec_fail(dec, "%s string's padding is not zeros", type->name);
    event_o->string = s;
    event_o->length = length;
  }
  event_o->offset = dec->at;
  event_o->end = dec->at + sizeof header + header.size;
  event_o->clock = header.clock;
  event_o->type = type;
  dec->at = event_o->end;
  return 1;
}

/* A name given to a key from some event on: an interned string given to a
 * label, or a label given to an address. */
typedef struct eventdec_binding_s {
  mps_word_t key;
  size_t index;                         /* of the event that bound it */
  mps_word_t label;                     /* for an address */
  const char *string;                   /* for a label */
} eventdec_binding_s;

typedef struct eventdec_bindings_s {
  eventdec_binding_s *item;
  size_t count, capacity;
} eventdec_bindings_s;

static bool eventdec_bind(eventdec_bindings_s *b, mps_word_t key, size_t index,
                          mps_word_t label, const char *string)
{
  if (b->count == b->capacity) {
    size_t capacity = b->capacity == 0 ? 64 : 2 * b->capacity;
    eventdec_binding_s *item = realloc(b->item, capacity * sizeof *item);
    if (item == NULL)
      return false;
    b->item = item;
    b->capacity = capacity;
  }
  b->item[b->count].key = key;
  b->item[b->count].index = index;
  b->item[b->count].label = label;
  b->item[b->count].string = string;
  ++b->count;
  return true;
}

static int eventdec_binding_compare(const void *p, const void *q)
{
  const eventdec_binding_s *a = p, *b = q;
  if (a->key != b->key)
    return a->key < b->key ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

/* The binding of `key` in force at event `index`: the last made at or
 * before it, or else the first made after it.  NULL if there is none. */
static const eventdec_binding_s *eventdec_lookup(const eventdec_bindings_s *b,
                                                 mps_word_t key, size_t index)
{
  size_t lo = 0, hi = b->count, first;
  /* The first binding of `key`: b is sorted by key, then index. */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (b->item[mid].key < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == b->count || b->item[lo].key != key)
    return NULL;
  first = lo;
  while (lo + 1 < b->count && b->item[lo + 1].key == key && b->item[lo + 1].index <= index)
    ++lo;
  return b->item[lo].index <= index ? &b->item[lo] : &b->item[first];
}

/* In double quotes, with what would break the line or the quoting as
 * escapes; other bytes (UTF-8 among them) as they are. */
static void eventdec_print_string(FILE *out, const char *s, size_t length)
{
  size_t i;
  fputc('"', out);
  for (i = 0; i < length; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c < 0x20 || c == 0x7f)
      fprintf(out, "\\x%02x", c);
    else
      fputc(c, out);
  }
  fputc('"', out);
}

typedef struct eventdec_names_s {
  eventdec_bindings_s strings;          /* label -> string, from Intern */
  eventdec_bindings_s labels;           /* address -> label, from Label */
} eventdec_names_s;

/* The string interned for `label`, in parentheses, if it has one. */
static bool eventdec_print_label(FILE *out, const eventdec_names_s *names,
                                 mps_word_t label, size_t index)
{
  const eventdec_binding_s *b = eventdec_lookup(&names->strings, label, index);
  if (b == NULL)
    return false;
  fputc('(', out);
  eventdec_print_string(out, b->string, strlen(b->string));
  fputc(')', out);
  return true;
}

static void eventdec_print_event(FILE *out, const eventdec_names_s *names,
                                 const eventdec_event_s *event, size_t index)
{
  const eventdec_type_s *type = event->type;
  size_t i;
  fprintf(out, "%016" PRIx64 " %s", event->clock, type->name);
  for (i = 0; i < type->nwords; ++i) {
    uintmax_t value = event->word[i];
    fprintf(out, " %s=", type->field[i]);
    switch (type->kind[i]) {
    case EVENTDEC_ADDR: {
      const eventdec_binding_s *b = eventdec_lookup(&names->labels, event->word[i], index);
      fprintf(out, "0x%jx", value);
      /* A label never interned (user events were off) still tells. */
      if (b != NULL && !eventdec_print_label(out, names, b->label, index))
        fprintf(out, "(#%ju)", (uintmax_t)b->label);
      break;
    }
    case EVENTDEC_COUNT:
      fprintf(out, "%ju", value);
      break;
    case EVENTDEC_LABEL:
      fprintf(out, "%ju", value);
      (void)eventdec_print_label(out, names, event->word[i], index);
      break;
    case EVENTDEC_CATEGORY:
      fprintf(out, "%ju(%s)", value,
              eventdec_category_name(value < EVENT_CAT_LIMIT ? (unsigned)value : EVENT_CAT_LIMIT));
      break;
    }
  }
  if (event->string != NULL) {
    fputs(" string=", out);
    eventdec_print_string(out, event->string, event->length);
  }
  fputc('\n', out);
}

static eventdec_res_e eventdec_print_summary(FILE *out, eventdec_s *dec)
{
  size_t count[EVENT_CODE_LIMIT] = {0};
  size_t total = 0;
  unsigned code;
  eventdec_event_s event;
  while (eventdec_next(dec, &event) > 0) {
    ++count[event.type->code];
    ++total;
  }
  for (code = 0; code < EVENT_CODE_LIMIT; ++code) {
    const eventdec_type_s *type = eventdec_type(code);
    if (type != NULL && count[code] > 0)
      fprintf(out, "%-16s %-8s %zu\n", type->name,
              eventdec_category_name(type->category), count[code]);
  }
  fprintf(out, "%-16s %-8s %zu\n", "total", "", total);
  return dec->failed ? EVENTDEC_MALFORMED : EVENTDEC_OK;
}

eventdec_res_e eventdec_print(FILE *out, eventdec_s *dec, bool summary)
{
  eventdec_names_s names = {{NULL, 0, 0}, {NULL, 0, 0}};
  eventdec_s first = *dec;
  eventdec_event_s event;
  eventdec_res_e res = EVENTDEC_OK;
  size_t index = 0;
  if (summary)
    return eventdec_print_summary(out, dec);
  /* First pass: every name the stream gives, so that an address is
   * named on the events before its label too. */
  while (eventdec_next(&first, &event) > 0) {
    bool ok = true;
    if (event.type->code == EVENT_INTERN)
      ok = eventdec_bind(&names.strings, event.word[0], index, 0, event.string);
    else if (event.type->code == EVENT_LABEL)
      ok = eventdec_bind(&names.labels, event.word[0], index, event.word[1], NULL);
    if (!ok) {
      res = EVENTDEC_NO_MEMORY;
      goto done;
    }
    ++index;
  }
  if (names.strings.count > 0)
    qsort(names.strings.item, names.strings.count, sizeof *names.strings.item,
          eventdec_binding_compare);
  if (names.labels.count > 0)
    qsort(names.labels.item, names.labels.count, sizeof *names.labels.item,
          eventdec_binding_compare);
  for (index = 0; eventdec_next(dec, &event) > 0; ++index)
    eventdec_print_event(out, &names, &event, index);
  if (dec->failed)
    res = EVENTDEC_MALFORMED;
done:
  free(names.strings.item);
  free(names.labels.item);
  return res;
}
