/* land.c: the generic land functions (see design/land.txt).
 *
 * Each function checks the land and its arguments, marks the land busy,
 * and dispatches to the class.  The busy flag catches a visitor (or any
 * other code running inside an operation) that calls back into the same
 * land, which no implementation supports.
 *
 * Invariants of a land_s:
 *   1. sig is LAND_SIG.
 *   2. klass is a valid class.
 *   3. alignment is a power of two.
 *   4. the class's own invariants hold (klass->check).
 * Invariants of a land_class_s:
 *   5. sig is LAND_CLASS_SIG and every method is present.
 */
#include "land.h"
#include "../base/check.h"

#define LAND_SIG SIG_MAKE(0x30)

bool land_class_check(LandClass klass)
{
  CHECKS(LAND_CLASS_SIG, klass); /* 5 */
  CHECKL(klass->name != NULL);
  CHECKL(klass->init != NULL);
  CHECKL(klass->finish != NULL);
  CHECKL(klass->size != NULL);
  CHECKL(klass->insert != NULL);
  CHECKL(klass->delete != NULL);
  CHECKL(klass->iterate != NULL);
  CHECKL(klass->iterate_and_delete != NULL);
  CHECKL(klass->find_first != NULL);
  CHECKL(klass->find_last != NULL);
  CHECKL(klass->find_best != NULL);
  CHECKL(klass->find_largest != NULL);
  CHECKL(klass->overlaps != NULL);
  CHECKL(klass->check != NULL);
  return true;
}

bool land_check(Land land)
{
  CHECKS(LAND_SIG, land);                 /* 1 */
  CHECKD(land_class, land->klass);        /* 2 */
  CHECKL(size_is_p2(land->alignment));    /* 3 */
  CHECKL(land->klass->check(land));       /* 4 */
  return true;
}

/* Argument checks shared by insert and delete.  Macros rather than
 * functions so that rash, which compiles AVER conditions without
 * evaluating them, does not see an unneeded function. */
#define LAND_RANGE_OK(land, range) \
  (range_check(range) && !range_is_empty(range) \
   && range_is_aligned(range, (land)->alignment))

static void land_enter(Land land)
{
  AVER(!land->busy);
  land->busy = true;
}

static void land_leave(Land land)
{
  AVER(land->busy);
  land->busy = false;
}

Res land_init(Land land, LandClass klass, Align alignment, const void *args)
{
  Res res;
  AVER(land != NULL);
  AVERT(land_class, klass);
  AVER(size_is_p2(alignment));
  land->klass = klass;
  land->alignment = alignment;
  land->busy = false;
  res = klass->init(land, args);
  if (res != MPS_RES_OK)
    return res;
  land->sig = LAND_SIG;
  AVERT(land, land);
  return MPS_RES_OK;
}

void land_finish(Land land)
{
  AVERT(land, land);
  AVER(!land->busy);
  land->sig = SIG_INVALID;
  land->klass->finish(land);
}

Align land_alignment(Land land)
{
  AVERT(land, land);
  return land->alignment;
}

Size land_size(Land land)
{
  AVERT(land, land);
  return land->klass->size(land);
}

Res land_insert(Range range_return, Land land, Range range)
{
  Res res;
  AVERT(land, land);
  AVER(range_return != NULL);
  AVER(LAND_RANGE_OK(land, range));
  land_enter(land);
  res = land->klass->insert(range_return, land, range);
  land_leave(land);
  return res;
}

Res land_delete(Range range_return, Land land, Range range)
{
  Res res;
  AVERT(land, land);
  AVER(range_return != NULL);
  AVER(LAND_RANGE_OK(land, range));
  land_enter(land);
  res = land->klass->delete(range_return, land, range);
  land_leave(land);
  return res;
}

bool land_overlaps(Land land, Range range)
{
  bool overlaps;
  AVERT(land, land);
  AVER(LAND_RANGE_OK(land, range));
  land_enter(land);
  overlaps = land->klass->overlaps(land, range);
  land_leave(land);
  return overlaps;
}

bool land_iterate(Land land, LandVisitor visitor, void *closure)
{
  bool more;
  AVERT(land, land);
  AVER(visitor != NULL);
  land_enter(land);
  more = land->klass->iterate(land, visitor, closure);
  land_leave(land);
  return more;
}

bool land_iterate_and_delete(Land land, LandDeleteVisitor visitor,
                             void *closure)
{
  bool more;
  AVERT(land, land);
  AVER(visitor != NULL);
  land_enter(land);
  more = land->klass->iterate_and_delete(land, visitor, closure);
  land_leave(land);
  return more;
}

#define LAND_FIND_DELETE_OK(fd) \
  ((fd) == LAND_FIND_DELETE_NONE || (fd) == LAND_FIND_DELETE_LOW \
   || (fd) == LAND_FIND_DELETE_HIGH || (fd) == LAND_FIND_DELETE_ENTIRE)

typedef enum land_find_e { LAND_FIND_FIRST, LAND_FIND_LAST, LAND_FIND_BEST } land_find_e;

/* The checks and the busy flag around a find of a positive size; the
 * class's method is looked up only once the land has been checked. */
static bool land_find(Range range_return, Range old_range_return, Land land,
                      Size size, LandFindDelete find_delete, land_find_e which)
{
  bool found;
  AVERT(land, land);
  AVER(range_return != NULL);
  AVER(old_range_return != NULL);
  AVER(size > 0);
  AVER(size_is_aligned(size, land->alignment));
  AVER(LAND_FIND_DELETE_OK(find_delete));
  land_enter(land);
  if (which == LAND_FIND_FIRST)
    found = land->klass->find_first(range_return, old_range_return, land, size, find_delete);
  else if (which == LAND_FIND_LAST)
    found = land->klass->find_last(range_return, old_range_return, land, size, find_delete);
  else
    found = land->klass->find_best(range_return, old_range_return, land, size, find_delete);
  land_leave(land);
  return found;
}

bool land_find_first(Range range_return, Range old_range_return, Land land,
                     Size size, LandFindDelete find_delete)
{
  return land_find(range_return, old_range_return, land, size, find_delete, LAND_FIND_FIRST);
}

bool land_find_last(Range range_return, Range old_range_return, Land land,
                    Size size, LandFindDelete find_delete)
{
  return land_find(range_return, old_range_return, land, size, find_delete, LAND_FIND_LAST);
}

bool land_find_best(Range range_return, Range old_range_return, Land land,
                    Size size, LandFindDelete find_delete)
{
  return land_find(range_return, old_range_return, land, size, find_delete, LAND_FIND_BEST);
}

bool land_find_largest(Range range_return, Range old_range_return,
                       Land land, Size size, LandFindDelete find_delete)
{
  bool found;
  AVERT(land, land);
  AVER(range_return != NULL);
  AVER(old_range_return != NULL);
  AVER(size_is_aligned(size, land->alignment));
  AVER(LAND_FIND_DELETE_OK(find_delete));
  land_enter(land);
  found = land->klass->find_largest(range_return, old_range_return, land,
                                    size, find_delete);
  land_leave(land);
  return found;
}

void land_find_part(Range part_return, Range block, Size size,
                    LandFindDelete find_delete)
{
  AVER(part_return != NULL);
  AVERT(range, block);
  AVER(size <= range_size(block));
  switch (find_delete) {
  case LAND_FIND_DELETE_LOW:
    range_init_size(part_return, range_base(block), size);
    break;
  case LAND_FIND_DELETE_HIGH:
    range_init(part_return, addr_sub(range_limit(block), size),
               range_limit(block));
    break;
  case LAND_FIND_DELETE_NONE:
  case LAND_FIND_DELETE_ENTIRE:
    range_copy(part_return, block);
    break;
  default:
    NOTREACHED;
    range_copy(part_return, block);
    break;
  }
}
