/* land.h: the land interface -- a set of address ranges (design/land.txt).
 *
 * A land holds a set of addresses as isolated ranges: no two ranges it
 * reports overlap or touch, because insertion coalesces a range with its
 * neighbours.  Every address is a multiple of the land's alignment.  The
 * implementations (cbs.h, freelist.h, failover.h) embed a land_s as their
 * first member and supply a class: a table of functions that the generic
 * functions here dispatch through after checking their arguments.
 *
 * A land is not safe for concurrent use: clients serialise all calls on
 * one land (and on the lands a failover land is built on).
 *
 * Client errors (an unaligned or empty range, inserting a range that
 * overlaps the land, calling back into a land from inside one of its own
 * operations) are caught with AVER.  Running out of memory is not
 * an error: insert and delete then return MPS_RES_MEMORY or MPS_RES_LIMIT
 * and leave the land as it was.
 */
#ifndef land_h
#define land_h

#include "../base/base.h"
#include "range.h"

typedef struct land_s *Land;
typedef const struct land_class_s *LandClass;

/* What find_first/last/largest remove from the block they find. */
typedef enum land_find_delete_e {
  LAND_FIND_DELETE_NONE,   /* nothing */
  LAND_FIND_DELETE_LOW,    /* `size` bytes from the low end of the block */
  LAND_FIND_DELETE_HIGH,   /* `size` bytes from the high end of the block */
  LAND_FIND_DELETE_ENTIRE  /* the whole block */
} LandFindDelete;

/* Called for each range in turn; returns whether to go on. */
typedef bool (*LandVisitor)(Land land, Range range, void *closure);
/* As LandVisitor; also sets *delete_return (false on entry) to true if
 * the range is to be removed from the land. */
typedef bool (*LandDeleteVisitor)(bool *delete_return, Land land,
                                  Range range, void *closure);

typedef struct land_class_s {
  Sig sig;
  const char *name;
  /* Set up the implementation's part of the land; `args` is the
   * class-specific argument documented in the class's header. */
  Res (*init)(Land land, const void *args);
  void (*finish)(Land land);
  Size (*size)(Land land);
  Res (*insert)(Range range_return, Land land, Range range);
  Res (*delete)(Range range_return, Land land, Range range);
  bool (*iterate)(Land land, LandVisitor visitor, void *closure);
  bool (*iterate_and_delete)(Land land, LandDeleteVisitor visitor,
                             void *closure);
  bool (*find_first)(Range range_return, Range old_range_return, Land land,
                     Size size, LandFindDelete find_delete);
  bool (*find_last)(Range range_return, Range old_range_return, Land land,
                    Size size, LandFindDelete find_delete);
  bool (*find_best)(Range range_return, Range old_range_return, Land land,
                    Size size, LandFindDelete find_delete);
  bool (*find_largest)(Range range_return, Range old_range_return,
                       Land land, Size size, LandFindDelete find_delete);
  bool (*overlaps)(Land land, Range range);
  /* The implementation's invariants (called by land_check). */
  bool (*check)(Land land);
} land_class_s;

#define LAND_CLASS_SIG SIG_MAKE(0x31)

typedef struct land_s {
  Sig sig;
  LandClass klass;
  Align alignment;   /* every range's base and limit are multiples */
  bool busy;         /* an operation is in progress: catches re-entry */
} land_s;

bool land_class_check(LandClass klass);
bool land_check(Land land);

/* Initialize `land` (the land_s inside an implementation's structure of
 * the kind `klass` expects) with no ranges.  `alignment` is a power of
 * two; `args` is passed on to the class.  On failure the land is not
 * initialized. */
Res land_init(Land land, LandClass klass, Align alignment, const void *args);
/* Forget every range and release the implementation's resources. */
void land_finish(Land land);

Align land_alignment(Land land);
/* Total size of the ranges in the land. */
Size land_size(Land land);

/* Add `range` (non-empty, aligned, and overlapping nothing in the land)
 * and set *range_return to the isolated range now containing it.  Fails
 * with MPS_RES_MEMORY or MPS_RES_LIMIT, changing nothing, only if the
 * implementation needs memory it cannot get.  range_return may be range. */
Res land_insert(Range range_return, Land land, Range range);
/* Remove `range` (non-empty, aligned), which must lie within one range of
 * the land, and set *range_return to that range as it was before.  If the
 * range is not wholly in the land, returns MPS_RES_FAIL; if the
 * implementation needs memory (to split a range) and cannot get it,
 * returns MPS_RES_MEMORY or MPS_RES_LIMIT.  In both cases the land is
 * unchanged; after a memory failure *range_return is still set, so that
 * the client can delete the whole range instead, which needs no memory.
 * range_return may be range. */
Res land_delete(Range range_return, Land land, Range range);

/* Whether any part of `range` (non-empty, aligned) is in the land.  It
 * changes nothing (a CBS does not even splay unless its tree is deep), so
 * a pool may ask it before it writes into memory the client hands back:
 * MVFF's quick lists, whose links would otherwise overwrite a range the
 * land holds, and a freelist's own links inside it. */
bool land_overlaps(Land land, Range range);

/* Call visitor on each range, in address order (failover.h says how its
 * order differs); stops early and returns false if the visitor does.  The
 * visitor must not change the land. */
bool land_iterate(Land land, LandVisitor visitor, void *closure);
/* As land_iterate, removing each range whose visitor asks for it. */
bool land_iterate_and_delete(Land land, LandDeleteVisitor visitor,
                             void *closure);

/* Find the first (lowest) range of at least `size` (positive, aligned)
 * bytes.  If there is none, return false.  Otherwise set *old_range_return
 * to that range and *range_return to the part of it selected by
 * find_delete, delete that part, and return true: the whole range for NONE
 * and ENTIRE, its first or last `size` bytes for LOW and HIGH.  These
 * deletions never split a range, so they never need memory. */
bool land_find_first(Range range_return, Range old_range_return, Land land,
                     Size size, LandFindDelete find_delete);
/* As land_find_first for the last (highest) range of at least `size`. */
bool land_find_last(Range range_return, Range old_range_return, Land land,
                    Size size, LandFindDelete find_delete);
/* As land_find_first for the smallest range of at least `size`, the
 * lowest of them if several are as small (best fit). */
bool land_find_best(Range range_return, Range old_range_return, Land land,
                    Size size, LandFindDelete find_delete);
/* Find the largest range, the lowest of them if several are as large, and
 * proceed as land_find_first if it has at least `size` (aligned, possibly
 * zero) bytes.  LOW and HIGH act as ENTIRE. */
bool land_find_largest(Range range_return, Range old_range_return,
                       Land land, Size size, LandFindDelete find_delete);

/* For implementations: set *part_return to the part of `block` that
 * find_delete selects for a find of `size` bytes (see land_find_first). */
void land_find_part(Range part_return, Range block, Size size,
                    LandFindDelete find_delete);

#endif /* land_h */
