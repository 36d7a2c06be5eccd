/* reports.h: counting the assertion handler's reports, for fuzz targets
 * that commit client errors on purpose and require each to be reported
 * (and refused: that the target checks against its model).
 *
 *   mps_lib_assert_fail_t old = fuzz_reports_begin();
 *   ... the bad call ...
 *   if (fuzz_reports_end(old) == 0) abort();
 */
#ifndef fuzz_reports_h
#define fuzz_reports_h

#include "../../include/mpslib.h"

static unsigned fuzz_reports_count;

static void fuzz_reports_record(const char *file, unsigned line, const char *cond)
{
  (void)file; (void)line; (void)cond;
  ++fuzz_reports_count;
}

/* Install the counting handler with the count at zero; the old handler. */
static inline mps_lib_assert_fail_t fuzz_reports_begin(void)
{
  fuzz_reports_count = 0;
  return mps_lib_assert_fail_install(fuzz_reports_record);
}

/* Put the old handler back; the reports made since fuzz_reports_begin. */
static inline unsigned fuzz_reports_end(mps_lib_assert_fail_t old)
{
  (void)mps_lib_assert_fail_install(old);
  return fuzz_reports_count;
}

#endif /* fuzz_reports_h */
