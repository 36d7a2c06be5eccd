/* failover.c: a land over a primary and a secondary land (see
 * design/failover.txt and failover.h).
 *
 * Cases, following the design note:
 *   flush   Before each operation, ranges of the secondary are moved to
 *           the primary until the primary refuses one (it is then short of
 *           memory, and the rest stay where they are).
 *   insert  The range goes to the primary.  If the secondary holds a range
 *           touching it, that range is moved to the primary too, joining
 *           it (no memory needed).  If the primary cannot take the range,
 *           the range goes to the secondary; no primary range touches it,
 *           or the primary would have taken it by joining.
 *   delete  A range in the primary is deleted there.  If the primary needs
 *           memory to split its block, the whole block is deleted instead
 *           (no memory needed) and the fragments either side re-inserted,
 *           each in the primary if it can take it, else in the secondary.
 *           A range not in the primary is deleted from the secondary.  A
 *           range partly in each would have to straddle a primary range
 *           and a secondary range that touch, which invariant 4 rules
 *           out: such a range is not in one isolated range of the land,
 *           and the delete fails like any other range not in the land.
 *   find    Both lands are searched without deleting, the better answer
 *           chosen, and then the selected part deleted from its land (an
 *           end or the whole of a range: no memory needed).
 *   iterate Ranges of the two lands are merged into address order.
 *
 * Invariants:
 *   1. sig is FAILOVER_SIG and the land is of the failover class.
 *   2. primary and secondary are distinct valid lands.
 *   3. both have the failover's alignment.
 *   4. no range of the secondary touches or overlaps a range of the
 *      primary.  (Needs a walk; the land tests check it through the
 *      isolated ranges that iteration reports.)
 */
#include "failover.h"
#include "../base/check.h"

#define FAILOVER_SIG SIG_MAKE(0x34)

static Failover failover_of_land(Land land)
{
  return PARENT(failover_s, land, land);
}

bool failover_check(Failover failover)
{
  CHECKS(FAILOVER_SIG, failover);                              /* 1 */
  CHECKL(failover->land.klass == failover_class());            /* 1 */
  CHECKD(land, failover->primary);                             /* 2 */
  CHECKD(land, failover->secondary);                           /* 2 */
  CHECKL(failover->primary != failover->secondary);            /* 2 */
  CHECKL(failover->primary->alignment == failover->land.alignment);   /* 3 */
  CHECKL(failover->secondary->alignment == failover->land.alignment); /* 3 */
  return true;
}

static bool failover_land_check(Land land)
{
  return failover_check(failover_of_land(land));
}

static Res failover_land_init(Land land, const void *args)
{
  Failover fo = failover_of_land(land);
  const failover_args_s *fa = args;
  AVER(fa != NULL);
  AVERT(land, fa->primary);
  AVERT(land, fa->secondary);
  AVER(fa->primary != fa->secondary);
  AVER(land_alignment(fa->primary) == land->alignment);
  AVER(land_alignment(fa->secondary) == land->alignment);
  fo->primary = fa->primary;
  fo->secondary = fa->secondary;
  fo->sig = FAILOVER_SIG;
  AVERT(failover, fo);
  return MPS_RES_OK;
}

/* The two lands belong to the client, who finishes them. */
static void failover_land_finish(Land land)
{
  Failover fo = failover_of_land(land);
  AVERT(failover, fo);
  fo->sig = SIG_INVALID;
  fo->primary = NULL;
  fo->secondary = NULL;
}

static Size failover_land_size(Land land)
{
  Failover fo = failover_of_land(land);
  AVERT(failover, fo);
  return land_size(fo->primary) + land_size(fo->secondary);
}

static bool failover_flush_visit(bool *delete_return, Land secondary,
                                 Range range, void *closure)
{
  Land primary = closure;
  range_s joined;
  UNUSED(secondary);
  *delete_return = land_insert(&joined, primary, range) == MPS_RES_OK;
  return *delete_return;
}

/* Move the secondary's ranges into the primary where it now has room;
 * whether the secondary is empty afterwards. */
static bool failover_flush(Failover fo)
{
  /* The secondary is nearly always empty: one look at its size then. */
  if (land_size(fo->secondary) == 0)
    return true;
  (void)land_iterate_and_delete(fo->secondary, failover_flush_visit,
                                fo->primary);
  return land_size(fo->secondary) == 0;
}

/* Ranges of the secondary touching `range`, found by one walk. */
typedef struct failover_touch_s {
  Addr base, limit;      /* of the range being inserted */
  range_s below, above;  /* the touching ranges; empty if none */
  bool overlaps;
} failover_touch_s;

static bool failover_touch_visit(Land land, Range range, void *closure)
{
  failover_touch_s *touch = closure;
  UNUSED(land);
  if (range_limit(range) == touch->base)
    range_copy(&touch->below, range);
  else if (range_base(range) == touch->limit)
    range_copy(&touch->above, range);
  else if (addr_word(range_base(range)) < addr_word(touch->limit)
           && addr_word(touch->base) < addr_word(range_limit(range)))
    touch->overlaps = true;
  /* Ranges come in address order: nothing later can touch. */
  return addr_word(range_base(range)) <= addr_word(touch->limit);
}

/* Move `range` (a whole range of `from`, touching the range that
 * `joined` describes in `to`) into `to`, updating `joined`.  Neither step
 * needs memory (see failover.h), so neither can fail. */
static void failover_move(Land to, Land from, Range range, Range joined)
{
  range_s old;
  Res res = land_delete(&old, from, range);
  AVER(res == MPS_RES_OK);
  res = land_insert(joined, to, range);
  AVER(res == MPS_RES_OK);
  UNUSED(res);
}

static Res failover_land_insert(Range range_return, Land land, Range range)
{
  Failover fo = failover_of_land(land);
  Addr base = range_base(range), limit = range_limit(range);
  failover_touch_s touch;
  range_s joined;
  Res res;
  AVERT(failover, fo);

  touch.base = base;
  touch.limit = limit;
  range_init(&touch.below, base, base);
  range_init(&touch.above, limit, limit);
  touch.overlaps = false;
  if (!failover_flush(fo))
    (void)land_iterate(fo->secondary, failover_touch_visit, &touch);
  AVER(!touch.overlaps);
  if (touch.overlaps)
    return MPS_RES_FAIL;

  res = land_insert(&joined, fo->primary, range);
  if (res == MPS_RES_OK) {
    if (!range_is_empty(&touch.below))
      failover_move(fo->primary, fo->secondary, &touch.below, &joined);
    if (!range_is_empty(&touch.above))
      failover_move(fo->primary, fo->secondary, &touch.above, &joined);
    range_copy(range_return, &joined);
    return MPS_RES_OK;
  }
  if (res == MPS_RES_FAIL)  /* overlaps the primary: already reported */
    return res;

  /* The primary is short of memory.  It would have joined the range to a
   * touching range of its own without memory (failover.h), so no primary
   * range touches it: the secondary can take it, joining it to its own
   * touching ranges, without breaking invariant 4. */
  res = land_insert(&joined, fo->secondary, range);
  if (res != MPS_RES_OK)
    return res;
  range_copy(range_return, &joined);
  return MPS_RES_OK;
}

/* Put back a fragment of a range deleted whole from the primary.  It
 * touches nothing in either land, so it may go in either. */
static void failover_reinsert(Failover fo, Addr base, Addr limit)
{
  range_s fragment, joined;
  Res res;
  if (base == limit)
    return;
  range_init(&fragment, base, limit);
  res = land_insert(&joined, fo->primary, &fragment);
  if (res != MPS_RES_OK) {
    AVER(res != MPS_RES_FAIL);
    res = land_insert(&joined, fo->secondary, &fragment);
    AVER(res == MPS_RES_OK);
  }
  UNUSED(res);
}

static Res failover_land_delete(Range range_return, Land land, Range range)
{
  Failover fo = failover_of_land(land);
  range_s old, whole;
  Res res;
  AVERT(failover, fo);

  (void)failover_flush(fo);

  res = land_delete(&old, fo->primary, range);
  if (res == MPS_RES_FAIL)
    return land_delete(range_return, fo->secondary, range);
  if (res != MPS_RES_OK) {
    /* Splitting needs memory the primary lacks: delete the whole block
     * and put the fragments back wherever they fit. */
    res = land_delete(&whole, fo->primary, &old);
    AVER(res == MPS_RES_OK);
    failover_reinsert(fo, range_base(&old), range_base(range));
    failover_reinsert(fo, range_limit(range), range_limit(&old));
  }
  range_copy(range_return, &old);
  return MPS_RES_OK;
}

/* Merged iteration.  The primary's walk drives; before each primary range
 * the secondary is walked for its ranges in the gap since the previous
 * primary range.  The secondary is normally empty, and then the cost is
 * that of walking the primary alone. */
typedef struct failover_iter_s {
  Land land;                  /* the failover land, for the visitor */
  Land secondary;
  LandVisitor visitor;
  LandDeleteVisitor delete_visitor;
  void *closure;
  Addr from;                  /* secondary ranges at or above from ... */
  Addr to;                    /* ... and below to (NULL: no bound) */
  bool more;                  /* the client's visitor has not stopped */
} failover_iter_s;

/* Exactly one of visitor and delete_visitor is given. */
static void failover_iter_init(failover_iter_s *it, Land land,
                               LandVisitor visitor,
                               LandDeleteVisitor delete_visitor,
                               void *closure)
{
  Failover fo = failover_of_land(land);
  AVERT(failover, fo);
  AVER((visitor == NULL) != (delete_visitor == NULL));
  it->land = land;
  it->secondary = fo->secondary;
  it->visitor = visitor;
  it->delete_visitor = delete_visitor;
  it->closure = closure;
  it->from = NULL;
  it->to = NULL;
  it->more = true;
}

static bool failover_iter_in_gap(failover_iter_s *it, Range range)
{
  return addr_word(range_base(range)) >= addr_word(it->from)
         && (it->to == NULL
             || addr_word(range_base(range)) < addr_word(it->to));
}

static bool failover_iter_past_gap(failover_iter_s *it, Range range)
{
  return it->to != NULL
         && addr_word(range_base(range)) >= addr_word(it->to);
}

static bool failover_iter_secondary(Land secondary, Range range,
                                    void *closure)
{
  failover_iter_s *it = closure;
  UNUSED(secondary);
  if (failover_iter_past_gap(it, range))
    return false;
  if (failover_iter_in_gap(it, range))
    it->more = it->visitor(it->land, range, it->closure);
  return it->more;
}

/* Visit the secondary's ranges in [it->from, to). */
static void failover_iter_gap(failover_iter_s *it, Addr to)
{
  it->to = to;
  if (it->more && land_size(it->secondary) != 0)
    (void)land_iterate(it->secondary, failover_iter_secondary, it);
}

static bool failover_iter_primary(Land primary, Range range, void *closure)
{
  failover_iter_s *it = closure;
  UNUSED(primary);
  failover_iter_gap(it, range_base(range));
  if (it->more)
    it->more = it->visitor(it->land, range, it->closure);
  it->from = range_limit(range);
  return it->more;
}

static bool failover_land_iterate(Land land, LandVisitor visitor,
                                  void *closure)
{
  failover_iter_s it;
  failover_iter_init(&it, land, visitor, NULL, closure);
  (void)land_iterate(failover_of_land(land)->primary, failover_iter_primary,
                     &it);
  failover_iter_gap(&it, NULL);
  return it.more;
}

static bool failover_iter_delete_secondary(bool *delete_return,
                                           Land secondary, Range range,
                                           void *closure)
{
  failover_iter_s *it = closure;
  UNUSED(secondary);
  if (failover_iter_past_gap(it, range))
    return false;
  if (failover_iter_in_gap(it, range))
    it->more = it->delete_visitor(delete_return, it->land, range,
                                  it->closure);
  return it->more;
}

static void failover_iter_delete_gap(failover_iter_s *it, Addr to)
{
  it->to = to;
  if (it->more && land_size(it->secondary) != 0)
    (void)land_iterate_and_delete(it->secondary,
                                  failover_iter_delete_secondary, it);
}

static bool failover_iter_delete_primary(bool *delete_return, Land primary,
                                         Range range, void *closure)
{
  failover_iter_s *it = closure;
  UNUSED(primary);
  failover_iter_delete_gap(it, range_base(range));
  if (it->more)
    it->more = it->delete_visitor(delete_return, it->land, range,
                                  it->closure);
  it->from = range_limit(range);
  return it->more;
}

static bool failover_land_iterate_and_delete(Land land,
                                             LandDeleteVisitor visitor,
                                             void *closure)
{
  failover_iter_s it;
  failover_iter_init(&it, land, NULL, visitor, closure);
  (void)land_iterate_and_delete(failover_of_land(land)->primary,
                                failover_iter_delete_primary, &it);
  failover_iter_delete_gap(&it, NULL);
  return it.more;
}

typedef bool (*failover_find_fn)(Range range_return, Range old_range_return,
                                 Land land, Size size,
                                 LandFindDelete find_delete);

typedef enum failover_pick_e {
  FAILOVER_PICK_LOWEST,
  FAILOVER_PICK_HIGHEST,
  FAILOVER_PICK_SMALLEST,
  FAILOVER_PICK_LARGEST
} failover_pick_e;

/* Is the candidate `b` better than `a`?  Ties go to the lower address. */
static bool failover_better(failover_pick_e pick, Range a, Range b)
{
  bool lower = addr_word(range_base(b)) < addr_word(range_base(a));
  switch (pick) {
  case FAILOVER_PICK_LOWEST:
    return lower;
  case FAILOVER_PICK_HIGHEST:
    return !lower;
  case FAILOVER_PICK_SMALLEST:
    return range_size(b) < range_size(a)
           || (range_size(b) == range_size(a) && lower);
  case FAILOVER_PICK_LARGEST:
    return range_size(b) > range_size(a)
           || (range_size(b) == range_size(a) && lower);
  default:
    NOTREACHED;
    return false;
  }
}

static bool failover_find(Range range_return, Range old_range_return,
                          Land land, Size size, LandFindDelete find_delete,
                          failover_find_fn find, failover_pick_e pick)
{
  Failover fo = failover_of_land(land);
  range_s found_primary, found_secondary, old, deleted;
  bool in_primary, in_secondary, empty;
  Land from;
  AVERT(failover, fo);

  /* Usually the secondary is empty (after the flush, always, unless the
   * primary could not take a range): the primary's own find then deletes
   * what it found from the block it holds, with no second search.  Not
   * for the largest, whose part is the whole block (see below). */
  empty = failover_flush(fo);
  if (empty && pick != FAILOVER_PICK_LARGEST)
    return find(range_return, old_range_return, fo->primary, size, find_delete);
  in_primary = find(&found_primary, &old, fo->primary, size,
                    LAND_FIND_DELETE_NONE);
  in_secondary = !empty && find(&found_secondary, &old, fo->secondary, size,
                                LAND_FIND_DELETE_NONE);
  if (!in_primary && !in_secondary)
    return false;
  if (in_secondary
      && (!in_primary
          || failover_better(pick, &found_primary, &found_secondary))) {
    from = fo->secondary;
    range_copy(old_range_return, &found_secondary);
  } else {
    from = fo->primary;
    range_copy(old_range_return, &found_primary);
  }
  if (pick == FAILOVER_PICK_LARGEST) {
    size = range_size(old_range_return);
    if (find_delete != LAND_FIND_DELETE_NONE)
      find_delete = LAND_FIND_DELETE_ENTIRE;
  }
  land_find_part(range_return, old_range_return, size, find_delete);
  if (find_delete != LAND_FIND_DELETE_NONE) {
    Res res = land_delete(&deleted, from, range_return);
    AVER(res == MPS_RES_OK);
    UNUSED(res);
  }
  return true;
}

static bool failover_land_find_first(Range range_return,
                                     Range old_range_return, Land land,
                                     Size size, LandFindDelete find_delete)
{
  return failover_find(range_return, old_range_return, land, size,
                       find_delete, land_find_first, FAILOVER_PICK_LOWEST);
}

static bool failover_land_find_last(Range range_return,
                                    Range old_range_return, Land land,
                                    Size size, LandFindDelete find_delete)
{
  return failover_find(range_return, old_range_return, land, size,
                       find_delete, land_find_last, FAILOVER_PICK_HIGHEST);
}

static bool failover_land_find_best(Range range_return,
                                    Range old_range_return, Land land,
                                    Size size, LandFindDelete find_delete)
{
  return failover_find(range_return, old_range_return, land, size,
                       find_delete, land_find_best, FAILOVER_PICK_SMALLEST);
}

static bool failover_land_find_largest(Range range_return,
                                       Range old_range_return, Land land,
                                       Size size, LandFindDelete find_delete)
{
  return failover_find(range_return, old_range_return, land, size,
                       find_delete, land_find_largest,
                       FAILOVER_PICK_LARGEST);
}

static bool failover_land_overlaps(Land land, Range range)
{
  Failover fo = failover_of_land(land);
  AVERT(failover, fo);
  return land_overlaps(fo->primary, range) || land_overlaps(fo->secondary, range);
}

static const land_class_s failover_class_struct = {
  LAND_CLASS_SIG,
  "failover",
  failover_land_init,
  failover_land_finish,
  failover_land_size,
  failover_land_insert,
  failover_land_delete,
  failover_land_iterate,
  failover_land_iterate_and_delete,
  failover_land_find_first,
  failover_land_find_last,
  failover_land_find_best,
  failover_land_find_largest,
  failover_land_overlaps,
  failover_land_check,
};

LandClass failover_class(void)
{
  return &failover_class_struct;
}

Res failover_init(Failover failover, Land primary, Land secondary)
{
  failover_args_s args;
  AVER(failover != NULL);
  AVERT(land, primary);
  args.primary = primary;
  args.secondary = secondary;
  return land_init(&failover->land, failover_class(),
                   land_alignment(primary), &args);
}

void failover_finish(Failover failover)
{
  AVERT(failover, failover);
  land_finish(&failover->land);
}

Land failover_land(Failover failover)
{
  AVERT(failover, failover);
  return &failover->land;
}
