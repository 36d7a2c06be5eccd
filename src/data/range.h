/* range.h: half-open address ranges [base, limit) (design/range.txt).
 *
 * A range is two addresses, small enough to live on the stack or inside
 * another structure, so it carries no signature (a third word would make
 * it half as big again); range_check checks its one invariant instead.
 * The structure is public so that it can be embedded, but clients use the
 * functions below rather than the fields.
 */
#ifndef range_h
#define range_h

#include "../base/base.h"

typedef struct range_s {
  Addr base;   /* first address in the range */
  Addr limit;  /* first address after the range; never below base */
} range_s;

typedef struct range_s *Range;

/* base <= limit. */
bool range_check(Range range);

/* Make `range` describe [base, limit); base must not exceed limit. */
void range_init(Range range, Addr base, Addr limit);
/* Make `range` describe [base, base + size). */
void range_init_size(Range range, Addr base, Size size);
/* Make `dest` a copy of `src`. */
void range_copy(Range dest, Range src);
/* Invalidate `range` so that a later use is caught by range_check.  Ranges
 * own no resources, so calling this is optional. */
void range_finish(Range range);

Addr range_base(Range range);
Addr range_limit(Range range);
/* Move one end; the range must not become inverted. */
void range_set_base(Range range, Addr base);
void range_set_limit(Range range, Addr limit);

Size range_size(Range range);
bool range_is_empty(Range range);
/* `addr` is in [base, limit). */
bool range_contains(Range range, Addr addr);
/* Both ends are multiples of `alignment` (a power of two). */
bool range_is_aligned(Range range, Align alignment);
/* The ranges share at least one address ([a, b) and [b, c) do not). */
bool range_overlaps(Range range1, Range range2);
/* Every address of `inner` is in `outer`; an empty inner range nests in
 * any range whose bounds enclose it. */
bool range_nests(Range outer, Range inner);
/* Same base and limit. */
bool range_equal(Range range1, Range range2);

#endif /* range_h */
