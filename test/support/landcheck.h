/* landcheck.h: what the unit tests of the lands (test_cbs.c,
 * test_freelist.c, test_failover.c) share: a check of exactly which
 * ranges a land holds.  Include after <criterion/criterion.h>; the
 * assertion handlers their client-error tests install are reports.h's. */
#ifndef TEST_LANDCHECK_H
#define TEST_LANDCHECK_H

#include "../../src/data/land.h"

#define LANDCHECK_ENDS 64

typedef struct landcheck_collect_s {
  Land land;                    /* the land iterated */
  Addr origin;                  /* ends are offsets from here */
  Size ends[LANDCHECK_ENDS];
  size_t n;
} landcheck_collect_s;

static inline bool landcheck_collect(Land l, Range r, void *closure)
{
  landcheck_collect_s *c = closure;
  cr_assert_eq(l, c->land);
  cr_assert_lt(c->n + 1, LANDCHECK_ENDS);
  c->ends[c->n++] = addr_offset(c->origin, range_base(r));
  c->ends[c->n++] = addr_offset(c->origin, range_limit(r));
  return true;
}

/* `l` holds exactly the ranges in want (n ends: base, limit pairs, as
 * offsets from `origin`), in address order, and its size is theirs. */
static inline void landcheck_expect(Land l, Addr origin, const Size *want, size_t n)
{
  landcheck_collect_s c;
  Size total = 0;
  size_t i;
  c.land = l;
  c.origin = origin;
  c.n = 0;
  cr_assert(land_iterate(l, landcheck_collect, &c));
  cr_assert_eq(c.n, n, "%zu ends, want %zu", c.n, n);
  for (i = 0; i < n; ++i)
    cr_assert_eq(c.ends[i], want[i], "end %zu: %zu, want %zu", i, c.ends[i], want[i]);
  for (i = 0; i < n; i += 2)
    total += want[i + 1] - want[i];
  cr_assert_eq(land_size(l), total);
}

#endif /* TEST_LANDCHECK_H */
