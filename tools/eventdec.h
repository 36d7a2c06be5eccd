/* eventdec.h: reading the telemetry stream that src/base/event.c writes
 * (record format: src/base/event.h).  Shared by mpseventcnv.c, the tests
 * and the fuzz target; it needs no part of the library.
 *
 * A stream is accepted only if writing its events again the way event.c
 * does would give back the same bytes: every code is known, every size is
 * the one its code implies, an intern's string ends in a NUL followed by
 * zeros up to the next word, and the last record ends with the stream.
 * The first record breaking that stops the reading, with an error naming
 * the offset where that record starts.
 */
#ifndef eventdec_h
#define eventdec_h

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../include/mps.h"
#include "../src/base/event.h"

/* The most words an event carries (event_emit's limit). */
#define EVENTDEC_WORDS_MAX 4

/* How a word is printed. */
typedef enum eventdec_kind_e {
  EVENTDEC_ADDR,    /* hex, with the label the address has, if any */
  EVENTDEC_COUNT,   /* decimal: bytes, or the label an intern defines */
  EVENTDEC_LABEL,   /* a label's number, with its interned string */
  EVENTDEC_CATEGORY /* an EVENT_CAT_*, with its name */
} eventdec_kind_e;

typedef struct eventdec_type_s {
  unsigned code;                        /* EVENT_* */
  const char *name;
  unsigned category;                    /* EVENT_CAT_* */
  size_t nwords;
  bool string;                          /* a string follows the words */
  const char *field[EVENTDEC_WORDS_MAX];
  eventdec_kind_e kind[EVENTDEC_WORDS_MAX];
} eventdec_type_s;

typedef struct eventdec_event_s {
  size_t offset;                        /* of its header in the stream */
  size_t end;                           /* offset just past its payload */
  uint64_t clock;
  const eventdec_type_s *type;
  mps_word_t word[EVENTDEC_WORDS_MAX];  /* type->nwords of them, then zeros */
  const char *string;                   /* in the stream, NUL-terminated; or NULL */
  size_t length;                        /* strlen(string) */
} eventdec_event_s;

/* A reader over a stream held in memory.  It never reads outside
 * [stream, stream + size), and never writes there. */
typedef struct eventdec_s {
  const unsigned char *stream;
  size_t size;
  size_t at;                            /* where the next record starts */
  bool failed;
  size_t error_offset;                  /* when failed: the bad record's start */
  char error[128];                      /* when failed: "offset N: why" */
} eventdec_s;

/* What is left of `f` into a malloc'd block, with a NUL after it (so a
 * text can be read the same way): false, with errno set, if it cannot
 * be read or there is not the memory. */
bool eventdec_read(FILE *f, unsigned char **data_o, size_t *size_o);

void eventdec_init(eventdec_s *dec, const void *stream, size_t size);

/* The next event into *event_o: 1, or 0 at the end of the stream, or -1
 * (and from then on) when the record at dec->at is malformed. */
int eventdec_next(eventdec_s *dec, eventdec_event_s *event_o);

/* The type of `code`, or NULL if it is not an event code. */
const eventdec_type_s *eventdec_type(unsigned code);

/* "arena", "pool", ... as MPS_TELEMETRY_CONTROL spells them; "?" if none. */
const char *eventdec_category_name(unsigned category);

typedef enum eventdec_res_e {
  EVENTDEC_OK,
  EVENTDEC_MALFORMED,                   /* the reader's error says where */
  EVENTDEC_NO_MEMORY
} eventdec_res_e;

/* Print the stream to `out`: one line per event ("clock Name field=value
 * ..."), or with `summary` one line per type of event present (its name,
 * category and count) and a total.  Addresses are printed with the label
 * they have at that point in the stream, or else the first they are
 * given later, since clients label an object after creating it.  On a
 * malformed stream, the events before the bad record are printed, and
 * `dec` (made by eventdec_init for this stream) holds the error. */
eventdec_res_e eventdec_print(FILE *out, eventdec_s *dec, bool summary);

#endif /* eventdec_h */
