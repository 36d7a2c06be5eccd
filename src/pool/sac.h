/* sac.h: segregated allocation caches (manual/topic/cache.rst).
 *
 * A cache sits in front of a manual pool and keeps, for each of up to
 * MPS_SAC_CLASS_LIMIT size classes, a stack of free blocks of that class's
 * size.  The stacks are the public struct mps_sac_s (mps.h), because the
 * MPS_SAC_ALLOC_FAST and MPS_SAC_FREE_FAST macros pop and push them inline
 * in client code; the rest of the cache is the private sac_s below, which
 * begins with that public part so that an mps_sac_t is a Sac.
 *
 * A cache belongs to one client thread at a time: nothing in it is
 * locked.  Only traffic with the pool -- a miss, a free onto a full
 * stack, a flush -- takes the arena lock, so caches on the same pool in
 * different threads share the pool safely.
 */
#ifndef sac_h
#define sac_h

#include "pool.h"

#define SAC_SIG SIG_MAKE(0xD0)

typedef struct sac_s *Sac;

typedef struct sac_s {
  struct mps_sac_s pub;   /* first: the stacks the macros use */
  Sig sig;
  Pool pool;
  struct ring_s pool_ring;   /* in pool->sac_ring */
  Count class_count;      /* classes in use: pub._lists[0 .. class_count) */
  Word mark_key;          /* the cache's address ^ SAC_MARK (sac.c) */
} sac_s;

bool sac_check(Sac sac);

/* How many blocks of class `index` the cache holds now. */
Count sac_cached(Sac sac, Index index);

#endif /* sac_h */
