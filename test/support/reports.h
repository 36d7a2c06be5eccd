/* reports.h: an assertion handler that records reports instead of
 * aborting, for tests that provoke them, from any thread (test_lock,
 * test_thread).  Header only: each test program gets its own record.
 * Sequentially consistent atomics: a test reads the record after joining
 * or signalling the thread that reported, and only counts matter.
 */
#ifndef TEST_REPORTS_H
#define TEST_REPORTS_H

#include <stdatomic.h>
#include <stddef.h>

#include "../../include/mpslib.h"

static _Atomic int reports_count;              /* reports since install */
static const char *_Atomic reports_last;       /* the last one's condition */

static inline void reports_record(const char *file, unsigned line, const char *cond)
{
  (void)file;
  (void)line;
  atomic_store(&reports_last, cond);
  atomic_fetch_add(&reports_count, 1);
}

/* Start recording, with nothing recorded. */
static inline void reports_install(void)
{
  atomic_store(&reports_count, 0);
  atomic_store(&reports_last, NULL);
  mps_lib_assert_fail_install(reports_record);
}

#endif /* TEST_REPORTS_H */
