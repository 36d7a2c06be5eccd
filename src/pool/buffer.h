/* buffer.h: allocation points (design/buffer.txt,
 * manual/topic/allocation.rst).
 *
 * A buffer is the arena's side of an allocation point: the public
 * mps_ap_s (init, alloc, limit) comes first, so an mps_ap_t is a Buffer.
 * The client's thread allocates inline from [alloc, limit) with
 * mps_reserve and mps_commit (mps.h explains that protocol); the buffer
 * is refilled from its pool by mps_ap_fill when the region runs out.
 *
 * Between fills, [base, init) has been committed, [init, alloc) is
 * reserved by a reserve that has not been committed yet, and
 * [alloc, pool_limit) is free.  ap.limit equals pool_limit unless the
 * buffer is trapped (ap.limit == 0), which makes the next mps_commit call
 * mps_ap_trip and the next mps_reserve call mps_ap_fill.
 */
#ifndef buffer_h
#define buffer_h

#include "pool.h"
#include "../gc/pattern.h"

#define BUFFER_SIG SIG_MAKE(0x92)

typedef struct buffer_s {
  struct mps_ap_s ap;          /* first: the allocation point itself */
  Sig sig;
  Pool pool;
  struct ring_s pool_ring;     /* in pool->buffer_ring */
  Addr base;                   /* start of the current region, or NULL */
  Addr pool_limit;             /* end of the current region, or NULL */
  bool invalid;                /* trapped: the pending reserve must fail */
  Addr trap_init;              /* while invalid: ap.init when first trapped */
  /* Frames pushed and not popped.  Written by the point's thread, under
   * the lock only when the class has frame methods (buffer.c). */
  Count frame_depth;
  Rank rank;                   /* of the references in its objects (MPS_KEY_RANK) */
  /* MPS_KEY_AP_HASH_ARRAYS (pool/amc.rst): what it allocates is not counted
   * as new in its generation, so that rehashing a table whose location
   * dependency went stale does not itself bring the next collection.
   * Only classes that count new allocation read it (AMC, AMCZ). */
  bool hash_arrays;
  /* mps_ap_fill: the class's fill_fast (pool.h), or buffer_fill_with_lock;
   * set at creation, fixed. */
  mps_res_t (*fill)(mps_addr_t *p_o, struct buffer_s *buffer, size_t size);
  void *pool_data;             /* the class's own state for it, or NULL
                                * (SNC: its stacks of segments and frames) */
  pattern_ap_s pattern;        /* allocation patterns begun (pattern.c) */
} buffer_s;

bool buffer_check(Buffer buffer);

/* mps_ap_fill's locked path, for a class's fill_fast to fall back on. */
mps_res_t buffer_fill_with_lock(mps_addr_t *p_o, Buffer buffer, size_t size);

/* For fill_fast: whether the point may be refilled without the lock.
 * That needs the last reserve committed (init == alloc) and the region
 * used up, or no region, so that nothing goes back to the pool; and no
 * trap pending.  ap.limit equals ap.alloc exactly then: a trapped
 * buffer's limit is null while its alloc is not (only a buffer with a
 * region is trapped), an empty buffer's are both null, and an untrapped
 * one's limit is pool_limit. */
static inline bool buffer_fill_fast_ready(Buffer buffer)
{
  return buffer->ap.init == buffer->ap.alloc && buffer->ap.alloc == buffer->ap.limit;
}

/* For fill_fast: make [base, base + size) the region, reserved for the
 * client's pending reserve, as mps_ap_fill's locked path would.  Without
 * the lock, every field written is the owning thread's alone: the
 * collector traps (buffer_invalidate) only buffers on segments of
 * automatic pools, and no class with fill_fast has those. */
static inline mps_res_t buffer_fill_fast_done(mps_addr_t *p_o, Buffer buffer,
                                              Addr base, Size size)
{
  Addr limit = addr_add(base, size);
  buffer->base = base;
  buffer->pool_limit = limit;
  buffer->ap.init = addr_ptr(base);
  buffer->ap.alloc = addr_ptr(limit);
  buffer->ap.limit = addr_ptr(limit);
  *p_o = addr_ptr(base);
  return MPS_RES_OK;
}

/* For pools: whether the buffer has a region, and its bounds. */
static inline bool buffer_is_empty(Buffer buffer) { return buffer->base == NULL; }

/* Trap the buffer so that its pending reserve, if any, fails at commit
 * (the collector's use) -- called with the owning thread stopped. */
void buffer_invalidate(Buffer buffer);

/* The limit of the buffer's committed objects, which pools parse and
 * scan: ap.init, except while the buffer is trapped, when it is ap.init
 * as it was at the first trap (design/buffer.txt keeps init at the flip
 * for the same reason).  A thread stopped between reserve and commit may
 * store init once it runs again, and its trip, which fails the commit,
 * may wait for the arena while further collections run: the block then
 * lies below ap.init but was written from references read before the
 * trap, so it must not be taken for an object. */
Addr buffer_committed_limit(Buffer buffer);

/* Hand the committed part of the region, [base, committed limit), to the
 * pool for good: the region then starts at that limit, which is
 * returned.  A reserve pending beyond it stays the buffer's.  For a pool
 * condemning the segment the buffer fills; called with the owning thread
 * stopped. */
Addr buffer_yield_committed(Buffer buffer);

#endif /* buffer_h */
