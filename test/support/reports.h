/* reports.h: assertion handlers for tests that provoke reports (client
 * errors, broken invariants), so that each test program need not carry
 * its own copy.  Header only: each test program gets its own record.
 *
 *   reports_install()        record reports and carry on, from any thread;
 *   reports_install_abort()  print the report and abort, for tests that
 *                            expect none (Criterion then names the
 *                            condition in the failure).
 *
 * Sequentially consistent atomics: a test reads the record after joining
 * or signalling the thread that reported, and only the latest report and
 * the count matter.
 */
#ifndef TEST_REPORTS_H
#define TEST_REPORTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/mpslib.h"

/* The first REPORTS_KEPT conditions since install are kept, for a test
 * that breaks one invariant and looks for its own check among the
 * reports (one broken field may fail several checks).  Conditions are
 * the library's string literals, so the pointers stay valid. */
#define REPORTS_KEPT 16

static _Atomic int reports_count;              /* reports since install */
static const char *_Atomic reports_last;       /* the last one's condition */
static const char *_Atomic reports_last_file;  /* ... its file */
static _Atomic unsigned reports_last_line;     /* ... and its line */
static const char *_Atomic reports_kept[REPORTS_KEPT];

static inline void reports_record(const char *file, unsigned line, const char *cond)
{
  int i;
  atomic_store(&reports_last_file, file);
  atomic_store(&reports_last_line, line);
  atomic_store(&reports_last, cond);
  i = atomic_fetch_add(&reports_count, 1);
  if (i < REPORTS_KEPT)
    atomic_store(&reports_kept[i], cond);
}

static inline void reports_abort(const char *file, unsigned line, const char *cond)
{
  fprintf(stderr, "assertion handler: %s:%u: %s\n", file, line, cond);
  fflush(stderr);
  abort();
}

/* Start recording, with nothing recorded.  Returns the handler before,
 * for a test that puts it back. */
static inline mps_lib_assert_fail_t reports_install(void)
{
  atomic_store(&reports_count, 0);
  atomic_store(&reports_last, NULL);
  atomic_store(&reports_last_file, NULL);
  atomic_store(&reports_last_line, 0u);
  for (int i = 0; i < REPORTS_KEPT; ++i)
    atomic_store(&reports_kept[i], NULL);
  return mps_lib_assert_fail_install(reports_record);
}

/* Abort at the first report.  Returns the handler before. */
static inline mps_lib_assert_fail_t reports_install_abort(void)
{
  return mps_lib_assert_fail_install(reports_abort);
}

/* Reports since the last reports_install. */
static inline int reports_seen(void)
{
  return atomic_load(&reports_count);
}

/* Whether one of the kept reports since the last reports_install has
 * `needle` in its condition. */
static inline bool reports_saw(const char *needle)
{
  int i, n = atomic_load(&reports_count);
  for (i = 0; i < n && i < REPORTS_KEPT; ++i) {
    const char *cond = atomic_load(&reports_kept[i]);
    if (cond != NULL && strstr(cond, needle) != NULL)
      return true;
  }
  return false;
}

#endif /* TEST_REPORTS_H */
