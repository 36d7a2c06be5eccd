/* checks.h: what a test may expect of the assertion handler in the
 * variety it is built against (CHECK_LEVEL, src/base/config.h).
 *
 * A client error is refused the same way in every variety -- a result
 * code, or nothing done -- but reported through the assertion handler
 * only where checks are compiled in, and rash compiles none.  So a test
 * of a refusal asserts the refusal in every variety and the report with
 * TEST_REPORTS or TEST_ASSERT_REPORTED; a test whose only evidence is the
 * report, or an abort from an aborting handler, or whose misuse rash
 * does not survive (a self-deadlock, a loop on a corrupt structure), is
 * disabled in rash with TEST_NEEDS_CHECKS.
 */
#ifndef TEST_CHECKS_H
#define TEST_CHECKS_H

#include "../../src/base/config.h"

/* As a Test() option: the test is skipped, and says so, in rash. */
#define TEST_NEEDS_CHECKS .disabled = CHECK_LEVEL < 1

/* The number of reports n client errors make in this variety. */
#define TEST_REPORTS(n) (CHECK_LEVEL >= 1 ? (n) : 0)

/* At least one report in a checking variety; none in rash. */
#define TEST_ASSERT_REPORTED(count)                                           \
  cr_assert(CHECK_LEVEL >= 1 ? (count) >= 1 : (count) == 0,                   \
            "%s: %u reports", #count, (unsigned)(count))

#endif /* TEST_CHECKS_H */
