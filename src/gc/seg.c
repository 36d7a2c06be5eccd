/* seg.c: segments (see seg.h; design/seg.txt).
 *
 * A segment's memory comes from arena_alloc and its structure (the pool
 * class's, seg_s first) from arena control memory.  Every grain's tract
 * points at the segment (tract->p), which is how seg_of_addr answers in
 * constant time after the chunk lookup.  Segments are registered with the
 * arena's shield for their whole life.
 *
 * Generations: seg_alloc puts a segment with a generation on that
 * PoolGen (pool_gen_seg_add) and seg_free takes it off, so a pool never
 * does either for a segment it allocated or freed.
 *
 * Invariants (seg_check):
 *   1. base < limit, both grain-aligned; every grain's tract is owned by
 *      the segment's pool and points at the segment (checked by
 *      seg_of_addr at the ends, in cool);
 *   2. grey for a trace only if the segment has references (rank_set not
 *      empty), and grey if and only if it is on a grey ring -- the one of
 *      the lowest rank in rank_set;
 *   3. white, grey and nailed name only busy traces;
 *   4. a leaf (empty rank_set) has an empty summary: it refers to nothing;
 *   5. gen is NULL or a PoolGen of the same pool, and the segment is on
 *      its ring exactly when gen is not NULL;
 *   6. a buffer attached belongs to the segment's pool;
 *   7. the write barrier and the read barrier are raised exactly as
 *      barrier.h's rules say.
 */
#include "seg.h"
#include "../arena/chunk.h"
#include "../pool/buffer.h"
#include "chain.h"

bool seg_class_check(SegClass klass)
{
  CHECKS(SEG_CLASS_SIG, klass);
  CHECKL(klass->name != NULL);
  CHECKL(klass->size >= sizeof(seg_s));
  CHECKL(klass->init != NULL);
  CHECKL(klass->whiten != NULL);
  CHECKL(klass->scan != NULL);
  CHECKL(klass->reclaim != NULL);
  return true;
}

Rank seg_lowest_rank(RankSet rank_set)
{
  Rank rank = RANK_AMBIG;
  AVER(rank_set != RANK_SET_EMPTY);
  while ((rank_set & RANK_SET_SINGLE(rank)) == 0)
    ++rank;
  return rank;
}

bool seg_check(Seg seg)
{
  GC gc;
  CHECKS(SEG_SIG, seg);
  CHECKD(seg_class, seg->klass);
  CHECKU(ARENA_SIG, seg->arena);
  CHECKU(POOL_SIG, seg->pool);
  gc = seg->arena->gc;
  CHECKL(gc != NULL);
  CHECKL(addr_word(seg->base) < addr_word(seg->limit));                  /* 1 */
  CHECKL(addr_is_aligned(seg->base, seg->arena->grain_size));
  CHECKL(addr_is_aligned(seg->limit, seg->arena->grain_size));
  CHECKL(seg->rank_set < RANK_SET_SINGLE(RANK_LIMIT));
  CHECKL(seg->grey == TRACE_SET_EMPTY || seg->rank_set != RANK_SET_EMPTY); /* 2 */
  CHECKL((seg->grey != TRACE_SET_EMPTY) == !ring_is_single(&seg->grey_ring));
  if (gc != NULL) {                                                      /* 3 */
    CHECKL((seg->white & ~gc->busy_traces) == 0);
    CHECKL((seg->grey & ~gc->busy_traces) == 0);
    CHECKL((seg->nailed & ~gc->busy_traces) == 0);
  }
  CHECKL(seg->rank_set != RANK_SET_EMPTY || seg->summary == ZONE_SET_EMPTY); /* 4 */
  if (seg->gen != NULL) {                                                /* 5 */
    CHECKU(POOL_GEN_SIG, seg->gen);
    CHECKL(seg->gen->pool == seg->pool);
    CHECKL(!ring_is_single(&seg->gen_ring));
  } else {
    CHECKL(ring_is_single(&seg->gen_ring));
  }
  if (seg->buffer != NULL) {                                             /* 6 */
    CHECKU(BUFFER_SIG, seg->buffer);
    CHECKL(seg->buffer->pool == seg->pool);
  }
  CHECKD(shield_seg, &seg->shield);
  CHECKL(((seg->shield.sm & PROT_DENY_WRITE) != 0)                    /* 7 */
         == (seg->arena->gc->barrier.on && seg->rank_set != RANK_SET_EMPTY
             && seg->buffer == NULL && seg->summary != ZONE_SET_UNIV));
  CHECKL(((seg->shield.sm & PROT_DENY_READ) != 0) == barrier_wants_read(seg)); /* 7 */
  return true;
}

/* Point every grain's tract of [base, limit) at `p`. */
static void seg_set_tracts(Arena arena, Addr base, Addr limit, void *p)
{
  Addr addr;
  for (addr = base; addr_word(addr) < addr_word(limit);
       addr = addr_add(addr, arena->grain_size)) {
    Tract tract = arena_tract_of_addr(arena, addr);
    AVER(tract != NULL);
    tract->p = p;
  }
}

Res seg_alloc(Seg *seg_o, SegClass klass, Pool pool, Size size, RankSet rank_set,
              PoolGen gen)
{
  Arena arena;
  GC gc;
  Seg seg;
  Addr base;
  void *p;
  Res res;

  AVER(seg_o != NULL);
  AVERT(seg_class, klass);
  AVERT(pool, pool);
  arena = pool->arena;
  AVER(size > 0 && size_is_aligned(size, arena->grain_size));
  AVER(rank_set < RANK_SET_SINGLE(RANK_LIMIT));
  if (gen != NULL) {
    AVERT(pool_gen, gen);
    AVER(gen->pool == pool);
  }

  res = gc_get(&gc, arena);
  if (res != MPS_RES_OK)
    return res;
  res = arena_control_alloc(&p, arena, klass->size);
  if (res != MPS_RES_OK)
    return res;
  res = arena_alloc_zoned(&base, arena, size, pool, gc_gen_zones(gen), gc->zone_shift);
  if (res != MPS_RES_OK)
    goto fail_memory;

  seg = p;
  seg->klass = klass;
  seg->arena = arena;
  seg->pool = pool;
  seg->base = base;
  seg->limit = addr_add(base, size);
  ring_init(&seg->pool_ring);
  ring_init(&seg->gc_ring);
  ring_init(&seg->grey_ring);
  seg->gen = NULL;
  ring_init(&seg->gen_ring);
  seg->white = TRACE_SET_EMPTY;
  seg->grey = TRACE_SET_EMPTY;
  seg->nailed = TRACE_SET_EMPTY;
  seg->rank_set = rank_set;
  /* Not scanned yet: whatever the mutator stores may point anywhere. */
  seg->summary = rank_set == RANK_SET_EMPTY ? ZONE_SET_EMPTY : ZONE_SET_UNIV;
  seg->buffer = NULL;
  seg->wb_defer = BARRIER_DEFER_INIT;
  shield_seg_init(&gc->shield, &seg->shield, seg->base, seg->limit);
  seg_set_tracts(arena, seg->base, seg->limit, seg);
  ring_append(&gc->seg_ring, &seg->gc_ring);
  seg->sig = SEG_SIG;

  res = klass->init(seg, pool);
  if (res != MPS_RES_OK)
    goto fail_init;
  if (gen != NULL)
    pool_gen_seg_add(gen, seg);
  AVERT(seg, seg);
  gcevent_emit(gc, EVENT_CAT_SEG, EVENT_SEG_ALLOC, 4,
               (Word[]){(Word)(uintptr_t)seg, (Word)(uintptr_t)pool, addr_word(base), size});
  *seg_o = seg;
  return MPS_RES_OK;

fail_init:
  seg->sig = SIG_INVALID;
  ring_remove(&seg->gc_ring);
  seg_set_tracts(arena, seg->base, seg->limit, NULL);
  shield_seg_finish(&gc->shield, &seg->shield);
  ring_finish(&seg->gen_ring);
  ring_finish(&seg->grey_ring);
  ring_finish(&seg->gc_ring);
  ring_finish(&seg->pool_ring);
  /* The class's init (AMS's tables, say) can fail after the grains made
   * the arena grow: arena_leave gives the chunk back with them. */
  arena_free(arena, base, size, pool);
fail_memory:
  arena_control_free(arena, p, klass->size);
  return res;
}

void seg_free(Seg seg)
{
  Arena arena;
  GC gc;
  SegClass klass;
  Pool pool;
  Addr base;
  Size size;

  AVERT(seg, seg);
  AVER(seg->grey == TRACE_SET_EMPTY);
  AVER(seg->buffer == NULL);
  AVER(seg->shield.depth == 0);
  arena = seg->arena;
  gc = arena->gc;
  klass = seg->klass;
  pool = seg->pool;
  base = seg->base;
  size = seg_size(seg);
  gcevent_emit(gc, EVENT_CAT_SEG, EVENT_SEG_FREE, 1, (Word[]){(Word)(uintptr_t)seg});

  if (seg->gen != NULL)
    pool_gen_seg_remove(seg->gen, seg);
  if (klass->finish != NULL)
    klass->finish(seg);
  seg->sig = SIG_INVALID;
  ring_remove(&seg->gc_ring);
  seg_set_tracts(arena, base, seg->limit, NULL);
  if ((seg->shield.sm & PROT_DENY_WRITE) != 0) {
    /* The memory goes back to the arena unprotected. */
    seg->summary = ZONE_SET_UNIV;
    barrier_update(seg);
  }
  shield_seg_finish(&gc->shield, &seg->shield);
  ring_finish(&seg->gen_ring);
  ring_finish(&seg->grey_ring);
  ring_finish(&seg->gc_ring);
  ring_finish(&seg->pool_ring);
  arena_control_free(arena, seg, klass->size);
  arena_free(arena, base, size, pool);
}

bool seg_of_addr(Seg *seg_o, Arena arena, Addr addr)
{
  Tract tract = arena_tract_of_addr(arena, addr);
  Seg seg;
  if (tract == NULL || tract->p == NULL)
    return false;
  seg = tract->p;
  AVER_CRITICAL(seg->sig == SEG_SIG);
  AVER_CRITICAL(addr_word(seg->base) <= addr_word(addr)
                && addr_word(addr) < addr_word(seg->limit));
  *seg_o = seg;
  return true;
}

void seg_set_grey(Seg seg, TraceSet grey)
{
  GC gc;
  AVERT(seg, seg);
  AVER(grey == TRACE_SET_EMPTY || seg->rank_set != RANK_SET_EMPTY);   /* 2 */
  gc = seg->arena->gc;
  AVER((grey & ~gc->busy_traces) == 0);                               /* 3 */
  if (seg->grey == TRACE_SET_EMPTY && grey != TRACE_SET_EMPTY)
    ring_append(&gc->grey_ring[seg_lowest_rank(seg->rank_set)], &seg->grey_ring);
  else if (seg->grey != TRACE_SET_EMPTY && grey == TRACE_SET_EMPTY)
    ring_remove(&seg->grey_ring);
  seg->grey = grey;
  barrier_update(seg);                                                /* 7 */
}

void seg_set_white(Seg seg, TraceSet white)
{
  AVERT(seg, seg);
  AVER((white & ~seg->arena->gc->busy_traces) == 0);                  /* 3 */
  seg->white = white;
}

void seg_set_nailed(Seg seg, TraceSet nailed)
{
  AVERT(seg, seg);
  AVER((nailed & ~seg->arena->gc->busy_traces) == 0);                 /* 3 */
  seg->nailed = nailed;
}

void seg_set_rank_set(Seg seg, RankSet rank_set)
{
  GC gc;
  AVERT(seg, seg);
  AVER(rank_set < RANK_SET_SINGLE(RANK_LIMIT));
  AVER(rank_set != RANK_SET_EMPTY || seg->grey == TRACE_SET_EMPTY);   /* 2 */
  gc = seg->arena->gc;
  if (seg->grey != TRACE_SET_EMPTY) {
    /* It stays grey: move it to the ring of its new lowest rank. */
    ring_remove(&seg->grey_ring);
    ring_append(&gc->grey_ring[seg_lowest_rank(rank_set)], &seg->grey_ring);
  }
  if (rank_set == RANK_SET_EMPTY)
    seg->summary = ZONE_SET_EMPTY;                                    /* 4 */
  else if (seg->rank_set == RANK_SET_EMPTY)
    seg->summary = ZONE_SET_UNIV;   /* it may now hold any reference */
  seg->rank_set = rank_set;
  barrier_update(seg);                                                /* 7 */
}

void seg_set_summary(Seg seg, ZoneSet summary)
{
  AVERT(seg, seg);
  AVER(seg->rank_set != RANK_SET_EMPTY || summary == ZONE_SET_EMPTY); /* 4 */
  seg->summary = barrier_summary(seg, summary);
  barrier_update(seg);                                                /* 7 */
}

void seg_set_buffer(Seg seg, Buffer buffer)
{
  AVERT(seg, seg);
  if (buffer != NULL) {
    AVERT(buffer, buffer);
    AVER(buffer->pool == seg->pool);                                  /* 6 */
  }
  seg->buffer = buffer;
  /* The mutator will fill the buffer with stores that must not fault. */
  if (buffer != NULL && seg->rank_set != RANK_SET_EMPTY)
    seg->summary = ZONE_SET_UNIV;
  barrier_update(seg);                                                /* 7 */
}
