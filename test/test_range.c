/* test_range.c: unit tests of address ranges (src/data/range.h). */
#include <criterion/criterion.h>
#include <signal.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/data/range.h"
#include "support/checks.h"
#include "support/reports.h"

static Addr A(Word w)
{
  return addr_of_word(w);
}

Test(range, init_and_accessors)
{
  range_s r;
  range_init(&r, A(0x1000), A(0x1800));
  cr_assert(range_check(&r));
  cr_assert_eq(range_base(&r), A(0x1000));
  cr_assert_eq(range_limit(&r), A(0x1800));
  cr_assert_eq(range_size(&r), 0x800);
  cr_assert_not(range_is_empty(&r));
  range_init_size(&r, A(0x2000), 0x40);
  cr_assert_eq(range_limit(&r), A(0x2040));
  cr_assert_eq(range_size(&r), 0x40);
}

Test(range, empty)
{
  range_s r;
  range_init(&r, A(0x1000), A(0x1000));
  cr_assert(range_is_empty(&r));
  cr_assert_eq(range_size(&r), 0);
  cr_assert_not(range_contains(&r, A(0x1000)));
}

Test(range, copy_and_equal)
{
  range_s a, b, c;
  range_init(&a, A(0x100), A(0x200));
  range_copy(&b, &a);
  cr_assert(range_equal(&a, &b));
  range_init(&c, A(0x100), A(0x208));
  cr_assert_not(range_equal(&a, &c));
}

Test(range, set_ends)
{
  range_s r;
  range_init(&r, A(0x100), A(0x200));
  range_set_base(&r, A(0x180));
  cr_assert_eq(range_base(&r), A(0x180));
  range_set_limit(&r, A(0x180));
  cr_assert(range_is_empty(&r));
  range_set_limit(&r, A(0x400));
  cr_assert_eq(range_size(&r), 0x280);
}

Test(range, contains_is_half_open)
{
  range_s r;
  range_init(&r, A(0x100), A(0x200));
  cr_assert_not(range_contains(&r, A(0xFF)));
  cr_assert(range_contains(&r, A(0x100)));
  cr_assert(range_contains(&r, A(0x1FF)));
  cr_assert_not(range_contains(&r, A(0x200)));
}

Test(range, is_aligned)
{
  range_s r;
  range_init(&r, A(0x100), A(0x200));
  cr_assert(range_is_aligned(&r, 0x100));
  cr_assert_not(range_is_aligned(&r, 0x200));
  range_init(&r, A(0x100), A(0x108));
  cr_assert(range_is_aligned(&r, 8));
  cr_assert_not(range_is_aligned(&r, 16));
}

Test(range, overlaps)
{
  range_s a, b;
  range_init(&a, A(0x100), A(0x200));
  range_init(&b, A(0x200), A(0x300));
  cr_assert_not(range_overlaps(&a, &b), "touching ranges do not overlap");
  cr_assert_not(range_overlaps(&b, &a));
  range_init(&b, A(0x1F8), A(0x300));
  cr_assert(range_overlaps(&a, &b));
  cr_assert(range_overlaps(&b, &a));
  range_init(&b, A(0x140), A(0x150));
  cr_assert(range_overlaps(&a, &b));
  range_init(&b, A(0x00), A(0x100));
  cr_assert_not(range_overlaps(&a, &b));
}

Test(range, nests)
{
  range_s outer, inner;
  range_init(&outer, A(0x100), A(0x200));
  range_init(&inner, A(0x100), A(0x200));
  cr_assert(range_nests(&outer, &inner));
  range_init(&inner, A(0x180), A(0x190));
  cr_assert(range_nests(&outer, &inner));
  cr_assert_not(range_nests(&inner, &outer));
  range_init(&inner, A(0x180), A(0x208));
  cr_assert_not(range_nests(&outer, &inner));
  range_init(&inner, A(0xF8), A(0x108));
  cr_assert_not(range_nests(&outer, &inner));
}

Test(range, inverted_init_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  range_s r;
  reports_install_abort();
  range_init(&r, A(0x200), A(0x100));
}

Test(range, inverted_set_base_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  range_s r;
  reports_install_abort();
  range_init(&r, A(0x100), A(0x200));
  range_set_base(&r, A(0x300));
}

Test(range, inverted_set_limit_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  range_s r;
  reports_install_abort();
  range_init(&r, A(0x100), A(0x200));
  range_set_limit(&r, A(0x80));
}

Test(range, equal_needs_both_ends_equal)
{
  range_s a, b;
  range_init(&a, A(0x100), A(0x200));
  range_init(&b, A(0x180), A(0x200));
  cr_assert_not(range_equal(&a, &b));
  cr_assert_not(range_equal(&b, &a));
  range_init(&b, A(0x100), A(0x200));
  cr_assert(range_equal(&a, &b));
}

/* range_finish inverts the range, so any later use fails range_check --
 * whose invariant is a CHECKL, so only in cool. */
Test(range, stale_range_is_caught)
{
  range_s r;
  if (CHECK_LEVEL < 2)
    cr_skip_test("range_check is empty below CHECK_LEVEL 2");
  range_init(&r, A(0x100), A(0x200));
  range_finish(&r);
  reports_install();
  (void)range_size(&r);
  cr_assert_gt(reports_seen(), 0);
}

Test(range, alignment_not_a_power_of_two_is_caught, .signal = SIGABRT,
     TEST_NEEDS_CHECKS)
{
  range_s r;
  reports_install_abort();
  range_init(&r, A(0x0), A(0x300));
  (void)range_is_aligned(&r, 0x300);
}

/* A copy checks its source, so a finished range is not passed on as a
 * valid one (range_check, and so this report, is cool's). */
Test(range, copy_of_a_stale_range_is_caught)
{
  range_s r, d;
  if (CHECK_LEVEL < 2)
    cr_skip_test("range_check is empty below CHECK_LEVEL 2");
  range_init(&r, A(0x100), A(0x200));
  range_finish(&r);
  reports_install();
  range_copy(&d, &r);
  cr_assert_eq(reports_seen(), 1);
}
