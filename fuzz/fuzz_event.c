/* fuzz_event.c: telemetry (src/base/event.c) against a model of the
 * filter and of the records the stream must hold.
 *
 * Each operation is a byte (low three bits: which) and its arguments:
 *   set, reset  a byte of mask, placed at the byte of the word the
 *               operation byte's high bits pick (model: or, and-not);
 *   get         compared with the model's filter;
 *   intern      a string of 0..255 bytes (NULs made 'a'): the label must
 *               be above every label handed out before, in this input or
 *               any earlier one; with the user category on, an intern
 *               record (label, string) is expected;
 *   label       an address (8 bytes) and the last label: with the user
 *               category on, a label record is expected;
 *   flush       nothing to model;
 *   emit_at     a clock (8 bytes) and an address (8 bytes): with the user
 *               category on, a label record (address, last label) bearing
 *               exactly that clock is expected, as gcevent.c replays them;
 *   failure     the flush an assertion makes before the program ends
 *               (event_flush_on_failure): everything recorded so far must
 *               be in the file at once, so the records are compared here.
 * After every operation, event_check.  At the end the stream is flushed
 * and the records written by this input are decoded (tools/eventdec.c,
 * which checks event.h's format) and compared one for one with those
 * expected.
 *
 * The stream is one file for the whole run, written sequentially by the
 * library.  Once an input's records are read, the file is truncated:
 * later records land past the hole, so the disk holds only one input's.
 */
#define _DEFAULT_SOURCE 1   /* mkstemp, setenv, fseeko, truncate */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../include/mps.h"
#include "../src/base/config.h"
#include "../src/base/event.h"
#include "../tools/eventdec.c"

#define FUZZ_EVENT_MAX 4096

typedef struct fuzz_event_s {
  unsigned code;
  mps_word_t word[2];
  bool has_clock;     /* written with event_emit_at: the clock must be kept */
  uint64_t clock;
  char string[EVENT_STRING_MAX];
} fuzz_event_s;

static char fuzz_event_path[64];
static off_t fuzz_event_offset;        /* where this input's records start */
static mps_label_t fuzz_event_last;    /* the highest label handed out */
static fuzz_event_s fuzz_event_expected[FUZZ_EVENT_MAX];

static void fuzz_event_remove(void)
{
  (void)remove(fuzz_event_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  int fd;
  (void)argc;
  (void)argv;
  strcpy(fuzz_event_path, "/tmp/mps11-fuzz-event-XXXXXX");
  fd = mkstemp(fuzz_event_path);
  if (fd < 0)
    abort();
  close(fd);
  if (atexit(fuzz_event_remove) != 0
      || setenv("MPS_TELEMETRY_FILENAME", fuzz_event_path, 1) != 0
      || unsetenv("MPS_TELEMETRY_CONTROL") != 0)
    abort();
  return 0;
}

static void fuzz_event_compare(size_t nexpected)
{
  FILE *f = fopen(fuzz_event_path, "rb");
  unsigned char *stream;
  size_t size, n = 0;
  eventdec_s dec;
  eventdec_event_s ev;
  int r;
  struct stat st;
  if (f == NULL || fseeko(f, fuzz_event_offset, SEEK_SET) != 0
      || !eventdec_read(f, &stream, &size))
    abort();
  /* The decoder refuses any record event.c would not have written. */
  eventdec_init(&dec, stream, size);
  while ((r = eventdec_next(&dec, &ev)) == 1) {
    fuzz_event_s *e = &fuzz_event_expected[n];
    if (n >= nexpected || ev.type->code != e->code || ev.word[0] != e->word[0]
        || (e->code == EVENT_LABEL && ev.word[1] != e->word[1])
        || (e->code == EVENT_INTERN && strcmp(ev.string, e->string) != 0)
        || (e->has_clock && ev.clock != e->clock))
      abort();
    ++n;
  }
  if (r != 0 || n != nexpected)
    abort();
  free(stream);
  fclose(f);
  if (stat(fuzz_event_path, &st) != 0)
    abort();
  /* Nothing written since the last truncation leaves the file empty,
   * and the library's next record still goes where the last one ended. */
  if (st.st_size != 0)
    fuzz_event_offset = st.st_size;
  if (truncate(fuzz_event_path, 0) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_word_t model = 0;
  size_t i = 0, nexpected = 0;
  /* Anything an earlier input left in the buffer goes out first, so that
   * the records read at the end are this input's. */
  mps_telemetry_flush();
  {
    struct stat st;
    /* Empty since the last truncation, or (the first time) what the
     * stream held before: an earlier input's records were all read. */
    if (stat(fuzz_event_path, &st) != 0
        || (st.st_size != 0 && st.st_size != fuzz_event_offset))
      abort();
  }
  mps_telemetry_reset(~(mps_word_t)0);
  while (i < size) {
    unsigned op = data[i++];
    bool user = (model >> EVENT_CAT_USER & 1) != 0;
    switch (op & 7) {
    case 0:
    case 1: {
      mps_word_t mask;
      if (i >= size)
        break;
      mask = (mps_word_t)data[i++] << (8 * ((op >> 3) % sizeof(mps_word_t)));
      if ((op & 7) == 0) {
        mps_telemetry_set(mask);
        model |= mask;
      } else {
        mps_telemetry_reset(mask);
        model &= ~mask;
      }
      break;
    }
    case 2:
      if (mps_telemetry_get() != model)
        abort();
      break;
    case 3: {
      char s[EVENT_STRING_MAX];
      size_t len = 0, k;
      mps_label_t label;
      if (i < size)
        len = data[i++];
      if (len > size - i)
        len = size - i;
      for (k = 0; k < len; ++k)
        s[k] = data[i + k] != 0 ? (char)data[i + k] : 'a';
      s[len] = '\0';
      i += len;
      label = mps_telemetry_intern(s);
      if (label <= fuzz_event_last)
        abort();
      fuzz_event_last = label;
      if (user && EVENT_STREAM && nexpected < FUZZ_EVENT_MAX) {
        fuzz_event_expected[nexpected].code = EVENT_INTERN;
        fuzz_event_expected[nexpected].word[0] = label;
        fuzz_event_expected[nexpected].has_clock = false;
        strcpy(fuzz_event_expected[nexpected].string, s);
        ++nexpected;
      }
      break;
    }
    case 4:
    case 6: {
      mps_word_t addr = 0;
      uint64_t clock = 0;
      size_t k;
      if ((op & 7) == 6)
        for (k = 0; k < 8 && i < size; ++k)
          clock = clock << 8 | data[i++];
      for (k = 0; k < 8 && i < size; ++k)
        addr = addr << 8 | data[i++];
      if ((op & 7) == 6) {
        mps_word_t words[2] = {addr, fuzz_event_last};
        event_emit_at(EVENT_CAT_USER, EVENT_LABEL, clock, 2, words);
      } else {
        mps_telemetry_label((mps_addr_t)(uintptr_t)addr, fuzz_event_last);
      }
      if (user && EVENT_STREAM && nexpected < FUZZ_EVENT_MAX) {
        fuzz_event_s *e = &fuzz_event_expected[nexpected++];
        e->code = EVENT_LABEL;
        e->word[0] = addr;
        e->word[1] = fuzz_event_last;
        e->has_clock = (op & 7) == 6;
        e->clock = clock;
      }
      break;
    }
    case 7:
      event_flush_on_failure();
      fuzz_event_compare(nexpected);
      nexpected = 0;
      break;
    default:
      mps_telemetry_flush();
      break;
    }
    if (!event_check())
      abort();
    if (nexpected == FUZZ_EVENT_MAX)
      break;   /* the model is full: stop here and compare */
  }
  mps_telemetry_flush();
  fuzz_event_compare(nexpected);
  return 0;
}
