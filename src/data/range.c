/* range.c: half-open address ranges (see design/range.txt).
 *
 * Invariants:
 *   1. base <= limit (an empty range has base == limit).
 * Ranges have no signature (see range.h), so range_check can only test
 * invariant 1.  range_finish stores an inverted range, which fails it.
 */
#include "range.h"
#include "../base/check.h"

bool range_check(Range range)
{
  CHECKL(range != NULL);
  CHECKL(addr_word(range->base) <= addr_word(range->limit)); /* 1 */
  return true;
}

void range_init(Range range, Addr base, Addr limit)
{
  AVER(range != NULL);
  AVER(addr_word(base) <= addr_word(limit));
  range->base = base;
  range->limit = limit;
  AVERT(range, range);
}

void range_init_size(Range range, Addr base, Size size)
{
  AVER(addr_word(base) + size >= addr_word(base)); /* no wrap-around */
  range_init(range, base, addr_add(base, size));
}

void range_copy(Range dest, Range src)
{
  AVER(dest != NULL);
  AVERT(range, src);
  dest->base = src->base;
  dest->limit = src->limit;
}

void range_finish(Range range)
{
  AVERT(range, range);
  /* Inverted on purpose: breaks invariant 1 so stale use is caught. */
  range->base = addr_of_word(WORD_ONES);
  range->limit = addr_of_word(0);
}

Addr range_base(Range range)
{
  AVERT(range, range);
  return range->base;
}

Addr range_limit(Range range)
{
  AVERT(range, range);
  return range->limit;
}

void range_set_base(Range range, Addr base)
{
  AVERT(range, range);
  AVER(addr_word(base) <= addr_word(range->limit));
  range->base = base;
}

void range_set_limit(Range range, Addr limit)
{
  AVERT(range, range);
  AVER(addr_word(range->base) <= addr_word(limit));
  range->limit = limit;
}

Size range_size(Range range)
{
  AVERT(range, range);
  return addr_offset(range->base, range->limit);
}

bool range_is_empty(Range range)
{
  AVERT(range, range);
  return range->base == range->limit;
}

bool range_contains(Range range, Addr addr)
{
  AVERT(range, range);
  return addr_word(range->base) <= addr_word(addr)
         && addr_word(addr) < addr_word(range->limit);
}

bool range_is_aligned(Range range, Align alignment)
{
  AVERT(range, range);
  AVER(size_is_p2(alignment));
  return addr_is_aligned(range->base, alignment)
         && addr_is_aligned(range->limit, alignment);
}

bool range_overlaps(Range range1, Range range2)
{
  AVERT(range, range1);
  AVERT(range, range2);
  return addr_word(range1->base) < addr_word(range2->limit)
         && addr_word(range2->base) < addr_word(range1->limit);
}

bool range_nests(Range outer, Range inner)
{
  AVERT(range, outer);
  AVERT(range, inner);
  return addr_word(outer->base) <= addr_word(inner->base)
         && addr_word(inner->limit) <= addr_word(outer->limit);
}

bool range_equal(Range range1, Range range2)
{
  AVERT(range, range1);
  AVERT(range, range2);
  return range1->base == range2->base && range1->limit == range2->limit;
}
