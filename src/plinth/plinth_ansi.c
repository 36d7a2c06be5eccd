/* plinth_ansi.c: the library module of the plinth, over the standard C
 * library (manual/topic/plinth.rst).  Excluded by CONFIG_PLINTH_NONE.
 *
 * The installed assertion handler is the plinth's one piece of global
 * state, which the style allows.  It is an atomic pointer so that one
 * thread may install a handler while another reports a failure.
 */
#ifndef CONFIG_PLINTH_NONE

#include <ctype.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/config.h"
#include "../base/event.h"
#include "plinth.h"

/* The assertion handler runs in a failing program, perhaps inside a
 * protection-fault handler: it prints with stdio only and touches no
 * memory the client's pools manage.  Then, as plinth.rst has it, it saves the buffered
 * telemetry, so that what led to the failure can be read afterwards; the
 * report comes first in case that cannot be done.  Not through
 * mps_telemetry_flush, which would wait for the stream's lock: the
 * failing thread may hold it, or have stopped a thread that does
 * (event_flush_on_failure). */
static void plinth_default_assert_fail(const char *file, unsigned line,
                                       const char *condition)
{
  fflush(stdout);
  fprintf(stderr, "%s:%u: MPS ASSERTION FAILED: %s\n", file, line, condition);
  fflush(stderr);
  event_flush_on_failure();
#if CHECK_LEVEL >= 2
  abort();  /* cool aborts; hot and rash report and go on (topic/error.rst) */
#endif
}

static _Atomic(mps_lib_assert_fail_t) plinth_handler = plinth_default_assert_fail;

mps_lib_assert_fail_t mps_lib_assert_fail_install(mps_lib_assert_fail_t handler)
{
  if (handler == NULL)
    handler = plinth_default_assert_fail;
  /* acq_rel: the new handler's code and data, written before installing
   * it, are visible to a thread that loads it with acquire below. */
  return atomic_exchange_explicit(&plinth_handler, handler, memory_order_acq_rel);
}

void plinth_assert_fail(const char *file, unsigned line, const char *condition)
{
  /* acquire: pairs with the release half of the install exchange. */
  mps_lib_assert_fail_t handler =
      atomic_load_explicit(&plinth_handler, memory_order_acquire);
  handler(file, line, condition);
}

void mps_lib_assert_fail(const char *message)
{
  fflush(stdout);
  fprintf(stderr, "%s\n", message);
  fflush(stderr);
  event_flush_on_failure();
#if CHECK_LEVEL >= 2
  abort();
#endif
}

int mps_lib_get_EOF(void) { return EOF; }

/* mps_lib_FILE is an incomplete type that stands for the C library's FILE. */
mps_lib_FILE *mps_lib_get_stderr(void) { return (mps_lib_FILE *)(void *)stderr; }
mps_lib_FILE *mps_lib_get_stdout(void) { return (mps_lib_FILE *)(void *)stdout; }

int mps_lib_fputc(int c, mps_lib_FILE *stream)
{
  return fputc(c, (FILE *)(void *)stream);
}

int mps_lib_fputs(const char *s, mps_lib_FILE *stream)
{
  return fputs(s, (FILE *)(void *)stream);
}

void *mps_lib_memset(void *s, int c, size_t n) { return memset(s, c, n); }
void *mps_lib_memcpy(void *dest, const void *source, size_t n) { return memcpy(dest, source, n); }
int mps_lib_memcmp(const void *s1, const void *s2, size_t n) { return memcmp(s1, s2, n); }

mps_clock_t mps_clock(void) { return (mps_clock_t)clock(); }
mps_clock_t mps_clocks_per_sec(void) { return (mps_clock_t)CLOCKS_PER_SEC; }

/* telemetry.rst: a number is the filter itself; otherwise the words
 * (separated by spaces) that name categories turn them on, and "all"
 * turns on every one.  Case does not matter; other words are ignored. */
static const char *const plinth_telemetry_names[] = {
  "arena", "pool", "trace", "seg", "ref", "object", "user"
};

static bool plinth_word_is(const char *word, size_t length, const char *name)
{
  size_t i;
  if (strlen(name) != length)
    return false;
  for (i = 0; i < length; ++i)
    if (tolower((unsigned char)word[i]) != name[i])
      return false;
  return true;
}

unsigned long mps_lib_telemetry_control(void)
{
  const char *s = getenv("MPS_TELEMETRY_CONTROL");
  unsigned long filter;
  char *end;
  if (s == NULL)
    return 0;
  /* strtoul skips leading white space; skip it after the number too, as
   * a value such as "6 " or "6\n" can still be interpreted as one. */
  filter = strtoul(s, &end, 0);
  if (end != s) {
    while (isspace((unsigned char)*end))
      ++end;
    if (*end == '\0')
      return filter;
  }
  filter = 0;
  while (*s != '\0') {
    size_t length, i;
    while (*s == ' ')
      ++s;
    length = strcspn(s, " ");
    if (plinth_word_is(s, length, "all"))
      filter = ~0UL;
    for (i = 0; i < sizeof plinth_telemetry_names / sizeof plinth_telemetry_names[0]; ++i)
      if (plinth_word_is(s, length, plinth_telemetry_names[i]))
        filter |= 1UL << i;
    s += length;
  }
  return filter;
}

#endif /* CONFIG_PLINTH_NONE */
