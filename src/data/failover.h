/* failover.h: a land over two lands, falling back from one to the other
 * when memory runs out (design/failover.txt).
 *
 * The primary is meant to be fast but to need memory for its nodes (a
 * CBS), the secondary slow but never in need of memory (a freelist).  A
 * range goes to the primary if it can take it and to the secondary
 * otherwise, so an insert or delete on a failover land fails only if both
 * fail.  Before every operation the failover moves what it can from the
 * secondary back to the primary.
 *
 * The two lands together behave as one land: the failover keeps every
 * range of the secondary from touching any range of the primary (an
 * insert that would make them touch moves the neighbour across first), so
 * each isolated range of the whole lives wholly in one of the lands, and
 * inserts, deletes and finds see whole isolated ranges just as with a
 * single land.
 *
 * Assumptions about the two lands (true of a CBS and a freelist):
 *   - extending or shrinking a range at either end, or removing a whole
 *     range, never needs memory;
 *   - the secondary's alignment is the primary's.
 * The client gives both lands to the failover empty, must not use them
 * directly while the failover is initialized, and finishes them itself
 * after failover_finish.
 *
 * Class argument for land_init: a const failover_args_s *.
 */
#ifndef failover_h
#define failover_h

#include "land.h"

typedef struct failover_s *Failover;

typedef struct failover_s {
  land_s land;      /* first member: a Failover is a Land */
  Land primary;
  Land secondary;
  Sig sig;          /* FAILOVER_SIG (failover.c) */
} failover_s;

typedef struct failover_args_s {
  Land primary;
  Land secondary;
} failover_args_s;

LandClass failover_class(void);
bool failover_check(Failover failover);

/* land_init(failover_land(fo), failover_class(), alignment of primary,
 * &{primary, secondary}). */
Res failover_init(Failover failover, Land primary, Land secondary);
void failover_finish(Failover failover);
Land failover_land(Failover failover);

#endif /* failover_h */
