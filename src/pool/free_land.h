/* free_land.h: the free land of a manual pool -- a failover land over a
 * CBS and a freelist, the CBS's descriptors in an internal MFS pool
 * (design/failover.txt, design/cbs.txt, design/poolmvff.txt "free list").
 *
 * MVFF and MVT keep their free memory this way.  Inserting never fails
 * for want of a descriptor: when the node pool cannot grow, the failover
 * describes the range in the freelist, which keeps its descriptors in the
 * free memory itself.  Deleting never fails either (the pieces of a split
 * range go to the freelist if need be).  So a pool over a free land can
 * take back memory at any time, whatever the commit limit.
 *
 * Every function is called with the arena lock held.
 */
#ifndef free_land_h
#define free_land_h

#include "../data/cbs.h"
#include "../data/failover.h"
#include "../data/freelist.h"
#include "pool.h"

#define FREE_LAND_SIG SIG_MAKE(0x93)

typedef struct free_land_s *FreeLand;

typedef struct free_land_s {
  Sig sig;
  Pool nodes;               /* MFS of CBS block descriptors */
  bool finishing;           /* descriptors need not go back one by one */
  cbs_s cbs;                /* primary ... */
  freelist_s freelist;      /* ... secondary ... */
  failover_s failover;      /* ... and the land over both */
} free_land_s;

bool free_land_check(FreeLand fl);

/* Set up an empty free land of the given alignment (a power of two of at
 * least FREELIST_MIN_ALIGN) for `pool`'s free memory, in its arena.  The
 * land's freelist tells the pool of each description it writes into that
 * memory (pool_scribbled).  On failure nothing is left. */
Res free_land_init(FreeLand fl, Pool pool, Align alignment);

/* Forget every range and destroy the node pool.  The memory the ranges
 * describe is the caller's to give back, after this (the freelist's
 * descriptors live in it). */
void free_land_finish(FreeLand fl);

/* The land itself, for the land_* operations. */
static inline Land free_land_land(FreeLand fl)
{
  return failover_land(&fl->failover);
}

/* Give back to the arena every grain that `pool` owns, found in the
 * chunks' tables (so the pool need not record what it obtained), and
 * return how many bytes went back.  For finishing a pool. */
Size free_land_return_pool_grains(Pool pool);

#endif /* free_land_h */
