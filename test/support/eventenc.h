/* eventenc.h: a second writer of the telemetry stream's records
 * (src/base/event.h), kept apart from event.c and from tools/eventdec.c
 * so that test_eventcnv and fuzz_eventdec can make streams, good and
 * bad, to check the decoder against.  Header only, every function static
 * inline.
 */
#ifndef eventenc_h
#define eventenc_h

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../include/mps.h"
#include "../../src/base/event.h"

/* The bytes of a record with `nwords` words and, unless it is NULL, the
 * string `string` (with its NUL, padded with zeros to a whole word). */
static inline size_t eventenc_size(size_t nwords, const char *string)
{
  size_t w = sizeof(mps_word_t);
  size_t strbytes = string == NULL ? 0 : (strlen(string) + 1 + w - 1) / w * w;
  return sizeof(event_header_s) + nwords * w + strbytes;
}

/* Append that record at buf[*used], if it fits in `capacity`: returns
 * whether it did, and then moves *used past it. */
static inline bool eventenc_put(unsigned char *buf, size_t capacity, size_t *used,
                                uint64_t clock, uint32_t code, size_t nwords,
                                const mps_word_t *words, const char *string)
{
  size_t size = eventenc_size(nwords, string);
  event_header_s h;
  unsigned char *at = buf + *used;
  if (size > capacity - *used)
    return false;
  memset(&h, 0, sizeof h);
  h.clock = clock;
  h.code = code;
  h.size = (uint32_t)(size - sizeof h);
  memset(at, 0, size);
  memcpy(at, &h, sizeof h);
  if (nwords > 0)
    memcpy(at + sizeof h, words, nwords * sizeof(mps_word_t));
  if (string != NULL)
    memcpy(at + sizeof h + nwords * sizeof(mps_word_t), string, strlen(string));
  *used += size;
  return true;
}

#endif /* eventenc_h */
