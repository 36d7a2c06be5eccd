/* buffer.c: allocation points, their slow paths and frames (see buffer.h
 * and the protocol in mps.h; design/buffer.txt, manual/topic/allocation.rst,
 * frame.rst).
 *
 * Invariants (buffer_check):
 *   1. empty (base, pool_limit and ap all null), or
 *      base <= init <= alloc <= pool_limit, all aligned to the pool;
 *   2. ap.limit is pool_limit, or null when trapped;
 *   3. an invalid buffer is trapped, and base <= trap_init <= alloc;
 *   4. its rank is one its pool's allocation points may have
 *      (pool->ap_rank_set, or exact when that is empty).
 *
 * Frames: the frame stack is a depth count and a frame is its depth after
 * the push, so popping a frame that was already popped, or popping out of
 * order, is seen as a frame deeper than the stack.  The handle mixes the
 * depth with a word drawn from the buffer's address (buffer_frame_salt),
 * so that a frame of another allocation point, which frame.rst forbids,
 * decodes (for all but unlucky pairs of points) to a depth far beyond any
 * stack and is refused too.  Most classes keep no
 * other record of frames (MVFF "supports allocation frames but does not
 * use them"; to AMC they are hints, frame.rst).  A class that discards
 * objects on pop (SNC) has frame methods (pool_buffer_methods_s): push tells it the new
 * depth, and pop first empties the buffer, so that the class sees the
 * point's position in its own books only, then tells it the depth popped.
 * Only those take the arena lock to push and pop: for the rest a frame is
 * the depth alone, which belongs to the point's thread.
 */
#include "buffer.h"
#include "../base/args.h"
#include "../gc/trace.h"

bool buffer_check(Buffer buffer)
{
  CHECKS(BUFFER_SIG, buffer);
  CHECKU(POOL_SIG, buffer->pool);
  if (buffer->base == NULL) {                                                /* 1 */
    CHECKL(buffer->pool_limit == NULL);
    CHECKL(buffer->ap.init == NULL && buffer->ap.alloc == NULL);
  } else {
    Word base = addr_word(buffer->base), init = (Word)buffer->ap.init;
    Word alloc = (Word)buffer->ap.alloc, limit = addr_word(buffer->pool_limit);
    CHECKL(base <= init && init <= alloc && alloc <= limit);
    CHECKL(addr_is_aligned(buffer->base, buffer->pool->alignment));
    CHECKL(addr_is_aligned(addr_of_ptr(buffer->ap.init), buffer->pool->alignment));
  }
  CHECKL(buffer->ap.limit == addr_ptr(buffer->pool_limit) || buffer->ap.limit == NULL); /* 2 */
  CHECKL(!buffer->invalid || buffer->ap.limit == NULL);                      /* 3 */
  CHECKL(!buffer->invalid || buffer->base == NULL
         || (addr_word(buffer->base) <= addr_word(buffer->trap_init)
             && (Word)buffer->ap.alloc >= addr_word(buffer->trap_init)));
  CHECKL(buffer->rank < RANK_LIMIT);                                         /* 4 */
  CHECKL((buffer->pool->ap_rank_set == RANK_SET_EMPTY && buffer->rank == RANK_EXACT)
         || (buffer->pool->ap_rank_set & RANK_SET_SINGLE(buffer->rank)) != 0);
  return true;
}

/* Give the unused part of the region back to the pool and forget it. */
static void buffer_detach(Buffer buffer)
{
  Pool pool = buffer->pool;
  if (buffer->base == NULL)
    return;
  /* A pending reserve is abandoned with the region: the protocol says a
   * reserve is only good until the next call on the point. */
  pool->klass->buffer_empty(pool, buffer, addr_of_ptr(buffer->ap.init), buffer->pool_limit);
  buffer->base = NULL;
  buffer->pool_limit = NULL;
  buffer->ap.init = NULL;
  buffer->ap.alloc = NULL;
  buffer->ap.limit = NULL;
  buffer->invalid = false;
  buffer->trap_init = NULL;
}

void buffer_invalidate(Buffer buffer)
{
  AVERT(buffer, buffer);
  if (buffer->base == NULL)
    return;
  /* A later trap before the trip keeps the first one's init: what the
   * thread initialized since then belongs to a commit that will fail. */
  if (!buffer->invalid)
    buffer->trap_init = addr_of_ptr(buffer->ap.init);
  buffer->invalid = true;
  buffer->ap.limit = NULL;
}

Addr buffer_committed_limit(Buffer buffer)
{
  AVERT(buffer, buffer);
  return buffer->invalid ? buffer->trap_init : addr_of_ptr(buffer->ap.init);
}

Addr buffer_yield_committed(Buffer buffer)
{
  AVERT(buffer, buffer);
  AVER(buffer->base != NULL);
  /* Invariants 1 and 3 hold: base rises to the committed limit, which is
   * at most init (and trap_init while trapped). */
  buffer->base = buffer_committed_limit(buffer);
  return buffer->base;
}

mps_res_t mps_ap_create_k(mps_ap_t *ap_o, mps_pool_t pool, mps_arg_s args[])
{
  Arena arena;
  Buffer buffer;
  mps_arg_s arg;
  Rank rank = RANK_EXACT;
  bool hash_arrays = false;
  void *p;
  Res res;

  AVER(ap_o != NULL);
  AVER(pool != NULL && pool->sig == POOL_SIG);
  if (ap_o == NULL || pool == NULL || pool->sig != POOL_SIG)
    return MPS_RES_PARAM;
  AVERT(args, args);
  arena = pool->arena;
  arena_enter(arena);
  AVERT(pool, pool);
  if (pool->klass->buffer_fill == NULL) {
    res = MPS_RES_UNIMPL;   /* e.g. MFS: no allocation points */
    goto done;
  }
  if (args_pick(&arg, args, MPS_KEY_RANK)) {
    /* The classes' documentation lists the ranks each accepts (AMS: exact
     * or ambiguous, AWL: exact or weak). */
    RankSet ok = pool->ap_rank_set != RANK_SET_EMPTY ? pool->ap_rank_set
                                                     : RANK_SET_SINGLE(RANK_EXACT);
    bool good = arg.val.rank < RANK_LIMIT && (ok & RANK_SET_SINGLE(arg.val.rank)) != 0;
    AVER(good);   /* a rank this pool's allocation points cannot have */
    if (!good) {
      res = MPS_RES_PARAM;
      goto done;
    }
    rank = (Rank)arg.val.rank;
  }
  if (args_pick(&arg, args, MPS_KEY_AP_HASH_ARRAYS))
    hash_arrays = arg.val.b != 0;
  res = arena_control_alloc(&p, arena, sizeof(buffer_s));
  if (res != MPS_RES_OK)
    goto done;
  buffer = p;
  buffer->ap.init = NULL;
  buffer->ap.alloc = NULL;
  buffer->ap.limit = NULL;
  buffer->pool = pool;
  ring_init(&buffer->pool_ring);
  ring_append(&pool->buffer_ring, &buffer->pool_ring);
  buffer->base = NULL;
  buffer->pool_limit = NULL;
  buffer->invalid = false;
  buffer->trap_init = NULL;
  buffer->frame_depth = 0;
  buffer->pool_data = NULL;
  buffer->rank = rank;
  buffer->hash_arrays = hash_arrays;
  buffer->fill = pool->buffer_methods != NULL && pool->buffer_methods->fill_fast != NULL
                 ? pool->buffer_methods->fill_fast : buffer_fill_with_lock;
  pattern_ap_init(&buffer->pattern);
  buffer->sig = BUFFER_SIG;
  *ap_o = &buffer->ap;
done:
  arena_leave(arena);
  return res;
}

static Buffer buffer_of_ap(mps_ap_t ap)
{
  Buffer buffer = PARENT(buffer_s, ap, ap);
  AVER(ap != NULL && buffer->sig == BUFFER_SIG);
  return buffer;
}

void mps_ap_destroy(mps_ap_t ap)
{
  Buffer buffer = buffer_of_ap(ap);
  Pool pool = buffer->pool;
  Arena arena = pool->arena;
  arena_enter(arena);
  AVERT(buffer, buffer);
  buffer_detach(buffer);
  pattern_ap_finish(buffer);   /* its patterns end with it */
  if (pool->buffer_methods != NULL && pool->buffer_methods->finish != NULL)
    pool->buffer_methods->finish(pool, buffer);
  buffer->sig = SIG_INVALID;
  ring_remove(&buffer->pool_ring);
  ring_finish(&buffer->pool_ring);
  arena_control_free(arena, buffer, sizeof(buffer_s));
  arena_leave(arena);
}

/* mps_ap_fill's locked path: the fill of any class without fill_fast,
 * and what a fill_fast falls back on. */
NOINLINE mps_res_t buffer_fill_with_lock(mps_addr_t *p_o, Buffer buffer, size_t size)
{
  mps_ap_t ap = &buffer->ap;
  Pool pool = buffer->pool;
  Arena arena = pool->arena;
  Addr base, limit;
  Res res;

  arena_enter(arena);
  AVERT(buffer, buffer);
  /* The protocol: fill only after the previous reserve was committed. */
  AVER(ap->init == ap->alloc);
  AVER(size > 0);
  AVER(size_is_aligned(size, pool->alignment));
  if (size == 0 || !size_is_aligned(size, pool->alignment)) {
    res = MPS_RES_PARAM;
    goto done;
  }

  /* A trapped but valid buffer may still have room. */
  if (buffer->base != NULL && !buffer->invalid
      && size <= addr_offset(addr_of_ptr(ap->alloc), buffer->pool_limit)) {
    ap->limit = addr_ptr(buffer->pool_limit);
  } else {
    buffer_detach(buffer);
    /* The slow path is where collections start: with the old region
     * handed back, nothing of this buffer is in the way. */
    trace_poll(arena);
    res = pool->klass->buffer_fill(&base, &limit, pool, buffer, size);
    if (res != MPS_RES_OK)
      goto done;
    AVER(addr_offset(base, limit) >= size);
    AVER(addr_is_aligned(base, pool->alignment));
    buffer->base = base;
    buffer->pool_limit = limit;
    ap->init = addr_ptr(base);
    ap->alloc = addr_ptr(base);
    ap->limit = addr_ptr(limit);
  }
  *p_o = ap->alloc;
  ap->alloc = addr_ptr(addr_add(addr_of_ptr(ap->alloc), size));
  res = MPS_RES_OK;
done:
  arena_leave(arena);
  return res;
}

/* mps_ap_fill with its checks reported: for a bad argument, out of the
 * way of the usual call (below). */
static NOINLINE mps_res_t buffer_fill_checked(mps_addr_t *p_o, mps_ap_t ap, size_t size)
{
  Buffer buffer;
  AVER(ap != NULL);
  if (ap == NULL)
    return MPS_RES_PARAM;
  buffer = buffer_of_ap(ap);
  AVER(p_o != NULL);
  if (p_o == NULL || buffer->sig != BUFFER_SIG)
    return MPS_RES_PARAM;
  return buffer->fill(p_o, buffer, size);
}

mps_res_t mps_ap_fill(mps_addr_t *p_o, mps_ap_t ap, size_t size)
{
  /* The same checks as buffer_fill_checked's, whose report is a call the
   * handler may return from: testing them here and reporting there keeps
   * both ways tail calls, with no registers saved. */
  if (CHECK_LEVEL >= 1
      && (ap == NULL || PARENT(buffer_s, ap, ap)->sig != BUFFER_SIG || p_o == NULL))
    return buffer_fill_checked(p_o, ap, size);
  return PARENT(buffer_s, ap, ap)->fill(p_o, PARENT(buffer_s, ap, ap), size);
}

mps_bool_t mps_ap_trip(mps_ap_t ap, mps_addr_t p, size_t size)
{
  Buffer buffer = buffer_of_ap(ap);
  Arena arena = buffer->pool->arena;
  bool committed;
  arena_enter(arena);
  AVERT(buffer, buffer);
  AVER(ap->init == ap->alloc);
  AVER(p != NULL);
  AVER(addr_add(addr_of_ptr(p), size) == addr_of_ptr(ap->alloc));
  UNUSED(size);
  if (buffer->invalid) {
    /* The block may have been moved or reclaimed: the client must
     * reserve and initialize again.  Forget the region.  If the mutator
     * was stopped after the commit's store to init, a collection may have
     * taken the block into the pool with the rest of the committed
     * objects (buffer_yield_committed): then it is the pool's, and only
     * what lies above base goes back. */
    Addr back = addr_of_ptr(p);
    if (addr_word(back) < addr_word(buffer->base))
      back = buffer->base;
    ap->init = addr_ptr(back);
    ap->alloc = ap->init;
    buffer_detach(buffer);
    committed = false;
  } else {
    ap->limit = addr_ptr(buffer->pool_limit);
    committed = true;
  }
  arena_leave(arena);
  return committed;
}

/* The function forms of the protocol macros (mps.h). */
#undef mps_reserve
#undef mps_commit

mps_res_t mps_reserve(mps_addr_t *p_o, mps_ap_t ap, size_t size)
{
  mps_word_t next = (mps_word_t)ap->alloc + size;
  if (next > (mps_word_t)ap->alloc && next <= (mps_word_t)ap->limit) {
    *p_o = ap->alloc;
    ap->alloc = (mps_addr_t)next;
    return MPS_RES_OK;
  }
  return mps_ap_fill(p_o, ap, size);
}

mps_bool_t mps_commit(mps_ap_t ap, mps_addr_t p, size_t size)
{
  ap->init = ap->alloc;
  MPS_AP_FENCE();   /* see the protocol in mps.h */
  if (ap->limit != NULL)
    return 1;
  return mps_ap_trip(ap, p, size);
}

/* The top bit is set, so no handle of a depth below half the word's range
 * is null; the rest spreads the address into the high bits, where the
 * salts of two buffers differ. */
static Word buffer_frame_salt(Buffer buffer)
{
  Word w = (Word)(uintptr_t)buffer;
  w = (w >> 4) * (Word)0x9E3779B9u;
  return w | ((Word)1 << (WORD_WIDTH - 1));
}

/* Whether the class keeps no record of frames (no frame methods), so
 * that a frame is only the buffer's depth.  The depth belongs to the
 * point's thread (manual/topic/allocation.rst: a point is used by one
 * thread at a time), and nothing else reads it for such a class, so
 * push and pop change it without the arena lock. */
static bool buffer_frames_are_depth_only(Buffer buffer)
{
  const pool_buffer_methods_s *methods = buffer->pool->buffer_methods;
  return methods == NULL
         || (methods->frame_push == NULL && methods->frame_pop == NULL);
}

/* The depth a frame handle stands for, or 0 for one that is not on the
 * buffer's stack: popped already, popped out of order, or another
 * point's. */
static Count buffer_frame_depth(Buffer buffer, mps_frame_t frame)
{
  Count depth = (Count)((Word)(uintptr_t)frame ^ buffer_frame_salt(buffer));
  return depth >= 1 && depth <= buffer->frame_depth ? depth : 0;
}

mps_res_t mps_ap_frame_push(mps_frame_t *frame_o, mps_ap_t ap)
{
  Buffer buffer = buffer_of_ap(ap);
  Arena arena = buffer->pool->arena;
  bool locked = !buffer_frames_are_depth_only(buffer);
  Res res = MPS_RES_OK;
  AVER(frame_o != NULL);
  if (frame_o == NULL)
    return MPS_RES_PARAM;
  /* Not between reserve and commit: the protocol failure frame.rst lets
   * the push fail for, and the object in flight would be in no frame. */
  AVER(ap->init == ap->alloc);
  if (ap->init != ap->alloc)
    return MPS_RES_FAIL;
  if (locked) {
    arena_enter(arena);
    AVERT(buffer, buffer);
  }
  if (buffer->frame_depth >= (Count)UINTPTR_MAX / 2) {
    res = MPS_RES_LIMIT;
  } else {
    Pool pool = buffer->pool;
    /* The class may need memory to record the frame: nothing changes if
     * it cannot get it. */
    if (locked && pool->buffer_methods->frame_push != NULL)
      res = pool->buffer_methods->frame_push(pool, buffer, buffer->frame_depth + 1);
    if (res == MPS_RES_OK) {
      ++buffer->frame_depth;
      *frame_o = (mps_frame_t)(uintptr_t)(buffer->frame_depth ^ buffer_frame_salt(buffer));
    }
  }
  if (locked)
    arena_leave(arena);
  return res;
}

mps_res_t mps_ap_frame_pop(mps_ap_t ap, mps_frame_t frame)
{
  Buffer buffer = buffer_of_ap(ap);
  Arena arena = buffer->pool->arena;
  bool locked = !buffer_frames_are_depth_only(buffer);
  Count depth;
  Res res = MPS_RES_OK;
  AVER(ap->init == ap->alloc);
  if (ap->init != ap->alloc)
    return MPS_RES_FAIL;   /* as for mps_ap_frame_push */
  if (locked) {
    arena_enter(arena);
    AVERT(buffer, buffer);
  }
  depth = buffer_frame_depth(buffer, frame);
  AVER(depth != 0);
  if (depth != 0) {
    Pool pool = buffer->pool;
    if (locked && pool->buffer_methods->frame_pop != NULL) {
      buffer_detach(buffer);
      res = pool->buffer_methods->frame_pop(pool, buffer, depth);
    }
    if (res == MPS_RES_OK)
      buffer->frame_depth = depth - 1;
  } else {
    res = MPS_RES_FAIL;
  }
  if (locked)
    arena_leave(arena);
  return res;
}
