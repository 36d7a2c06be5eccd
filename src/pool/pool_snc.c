/* pool_snc.c: the SNC (Stack No Checking) pool class (manual/pool/snc.rst,
 * manual/topic/frame.rst, design/alloc-frame.txt).
 *
 * SNC is manually managed, but its objects are formatted and hold exact
 * references: a client allocates them on allocation points in a
 * stack-like way and discards them by popping allocation frames.  The
 * pool never checks whether a popped object is still referenced (hence
 * the name), and never collects: its segments are scanned by every trace
 * as roots would be.  Their class has no fix method, so the tracer never
 * condemns them, and it makes every segment with a rank grey at condemn
 * (trace.c), so every trace scans the live objects of each one.
 *
 * Each allocation point has a stack (snc_stack_s, in buffer->pool_data,
 * made at its first fill or push): a chain of segments, newest on top,
 * each linked to the one below it.  A segment's live objects are those
 * below its position `top`; the top segment, while the buffer fills from
 * it, has its live objects below the buffer's committed limit
 * (buffer_committed_limit) instead, and `top`
 * then marks where the buffer's region began.  A fill carries on in the
 * top segment if the request fits above its position, and otherwise puts
 * another segment on the stack (a free one of the pool's if it fits, else
 * a new one), leaving the old top's tail unused.
 *
 * Frames: buffer.c numbers the frames of a point by depth and checks the
 * protocol (a frame popped twice or out of order is refused there).  A
 * push records, for its depth, the segment on top of the stack and the
 * position in it -- where the next object would go.  A pop (buffer.c has
 * emptied the buffer first) takes every segment above the recorded one
 * off the stack and sets the recorded one's position back, so everything
 * allocated on the point since the push is gone, later segments included.
 *
 * Freed memory: a segment taken off a stack goes to the pool's free list
 * (or back to the arena if it is larger than the pool's ordinary segment
 * size: only ordinary ones are reused), and fills take free segments
 * before new ones, so a loop of push, allocate, pop reuses the same
 * memory and the pool grows no further than its deepest stacks.
 * Destroying an allocation point pops its whole stack (its objects die
 * with it).  A free segment has no rank, so traces do not scan it.
 *
 * Padding: the memory between a segment's position and its limit is laid
 * with padding objects (the format's pad method) whenever the position is
 * set there (buffer empty, pop), so every segment is a sequence of whole
 * objects up to its limit; scans and walks still stop at the position.
 *
 * Incremental collection (trace.c, barrier.h; design/trace.txt,
 * design/shield.txt).  An SNC segment is never white, but it is grey
 * from the condemn until it is scanned, and during an incremental trace
 * a grey segment is read-protected.  So the class is incremental (seg.h)
 * on these terms:
 *   - a fill never attaches a buffer to a grey segment, so what the
 *     mutator allocates during a trace is black.  If the top of the
 *     stack is grey and the request fits, the fill has the tracer scan it
 *     first (trace_access, the work the mutator's first touch of it would
 *     cause through the read barrier), which blackens it.  Taking another
 *     segment instead would leave the grey one's tail unused, a segment
 *     per point per trace: a client making a few objects between frequent
 *     collections would grow the pool without bound.  (Free and new
 *     segments are never grey.)
 *   - padding (buffer empty, pop) and lookups reach the memory through
 *     the shield (snc_seg_expose): from outside a collection a
 *     read-protected segment is exposed in a shield entry of its own, so
 *     the pool never faults on its own memory, and the segment stays
 *     grey: its live part is still scanned later.  Scans and walks come
 *     from the collector, which has exposed the segment (trace.c,
 *     walk.c).
 *   - a segment taken off a stack is blackened without a scan: its
 *     objects were popped, so nothing in it is live and no reference in
 *     it needs fixing; and a free segment cannot be grey (it has no
 *     rank), nor can a grey one be freed (seg_free).
 * There is no reclaim (never white) and no debugging path that touches
 * object memory.
 *
 * The format must have scan, skip and pad methods and no headers
 * (snc.rst); allocation points take MPS_KEY_RANK exact only (the default;
 * buffer.c refuses the others through pool->ap_rank_set).  There is no
 * mps_alloc or mps_free.
 *
 * Invariants (snc_check, snc_seg_check, snc_stack_check):
 *   1. the format is genuine and the pool's, with no header; the pool's
 *      alignment is the format's; allocation points are exact only;
 *   2. seg_count and total are the number and bytes of the segments on
 *      seg_ring; free_count and free_total those of the free list;
 *   3. a free segment has no owner, no buffer, no rank, and its position
 *      is its base; it is ordinary-sized;
 *   4. a segment on a stack has an owner and rank set {exact}, and
 *      base <= top <= limit with top aligned;
 *   5. a segment a buffer fills from is the top of that buffer's stack,
 *      and the buffer's region is [top, limit) of it;
 *   6. a stack's recorded frames are at most buffer->frame_depth, within
 *      frames_max, and their segments are on the stack, lowest first;
 *   7. a segment a buffer fills from is grey for a trace the read barrier
 *      guards only if the buffer is trapped: it was filled before that
 *      trace's flip, which trapped it, and fills avoid grey segments.
 */

#include "../../include/mpscsnc.h"
#include "../gc/seg.h"
#include "../gc/format.h"
#include "../gc/trace.h"
#include "buffer.h"

#define SNC_SIG SIG_MAKE(0x170)
#define SNC_SEG_SIG SIG_MAKE(0x171)
#define SNC_STACK_SIG SIG_MAKE(0x172)

/* Ordinary segments are this big (rounded up to the arena grain); a
 * larger object gets a segment of its own size. */
#define SNC_SEG_SIZE_DEFAULT ((Size)64 * 1024)

/* Frames recorded in a new stack (it doubles when full). */
#define SNC_FRAMES_INITIAL 8

typedef struct snc_stack_s *SNCStack;

typedef struct snc_s {
  mps_pool_s pool;             /* first: a Pool is an SNC */
  Sig sig;
  Format format;
  Size seg_size;               /* of ordinary segments */
  struct ring_s seg_ring;      /* every segment, by seg->pool_ring */
  Count seg_count;
  Size total;
  Seg free_segs;               /* the free list, linked by `below` */
  Count free_count;
  Size free_total;
} snc_s;
typedef struct snc_s *SNC;

typedef struct snc_seg_s {
  seg_s seg;                   /* first: a Seg is an SNC segment */
  Sig sig;
  SNCStack owner;              /* the stack it is on, or NULL if free */
  Seg below;                   /* the next segment down, or on the free list */
  Addr top;                    /* its position (see the opening comment) */
} snc_seg_s;
typedef struct snc_seg_s *SNCSeg;

/* Where a frame begins: a segment and the position in it, or no segment
 * if the stack was empty at the push. */
typedef struct snc_frame_s {
  Seg seg;
  Addr addr;
} snc_frame_s;

typedef struct snc_stack_s {
  Sig sig;
  Buffer buffer;               /* whose pool_data this is */
  Seg top_seg;                 /* the newest segment, or NULL */
  snc_frame_s *frames;         /* frames[d - 1] for frame depth d */
  Count frames_max;
} snc_stack_s;

static seg_class_s snc_seg_class_s;
static const pool_buffer_methods_s snc_buffer_methods;

/* External so that rash, where nothing calls them, still compiles them. */
bool snc_check(SNC snc);
bool snc_seg_check(SNCSeg sseg);
bool snc_stack_check(SNCStack stack);

static inline SNC snc_of_pool(Pool pool) { return PARENT(snc_s, pool, pool); }
static inline SNCSeg snc_seg_of(Seg seg) { return PARENT(snc_seg_s, seg, seg); }
static inline SNC snc_of_seg(Seg seg) { return snc_of_pool(seg->pool); }

bool snc_check(SNC snc)
{
  CHECKS(SNC_SIG, snc);
  CHECKD(format, snc->format);                                              /* 1 */
  CHECKL(snc->pool.format == snc->format);
  CHECKL(snc->format->header_size == 0);
  CHECKL(snc->pool.alignment == snc->format->alignment);
  CHECKL(snc->pool.ap_rank_set == RANK_SET_SINGLE(RANK_EXACT));
  CHECKL(snc->pool.buffer_methods == &snc_buffer_methods);
  CHECKL((snc->seg_count == 0) == ring_is_single(&snc->seg_ring));         /* 2 */
  CHECKL(snc->free_count <= snc->seg_count);
  CHECKL(snc->free_total <= snc->total);
  CHECKL((snc->free_segs == NULL) == (snc->free_count == 0));
  CHECKL(snc->seg_size > 0);
  return true;
}

static bool snc_pool_check(Pool pool)
{
  return snc_check(snc_of_pool(pool));
}

bool snc_seg_check(SNCSeg sseg)
{
  Seg seg;
  CHECKS(SNC_SEG_SIG, sseg);
  seg = &sseg->seg;
  CHECKD(seg, seg);
  CHECKL(seg->klass == &snc_seg_class_s);
  CHECKU(SNC_SIG, snc_of_seg(seg));
  CHECKL(addr_word(seg->base) <= addr_word(sseg->top));
  CHECKL(addr_word(sseg->top) <= addr_word(seg->limit));
  CHECKL(addr_is_aligned(sseg->top, seg->pool->alignment));
  if (sseg->owner == NULL) {                                                /* 3 */
    CHECKL(seg->buffer == NULL);
    CHECKL(seg->rank_set == RANK_SET_EMPTY);
    CHECKL(sseg->top == seg->base);
    CHECKL(seg_size(seg) == snc_of_seg(seg)->seg_size);
  } else {                                                                  /* 4 */
    CHECKU(SNC_STACK_SIG, sseg->owner);
    CHECKL(seg->rank_set == RANK_SET_SINGLE(RANK_EXACT));
  }
  if (seg->buffer != NULL) {                                                /* 5 */
    CHECKL(sseg->owner != NULL && sseg->owner->top_seg == seg);
    CHECKL(sseg->owner->buffer == seg->buffer);
    CHECKL(seg->buffer->base == sseg->top);
    CHECKL(seg->buffer->pool_limit == seg->limit);
    CHECKL((seg->grey & seg->arena->gc->barrier.reading) == TRACE_SET_EMPTY   /* 7 */
           || seg->buffer->invalid);
  }
  return true;
}

bool snc_stack_check(SNCStack stack)
{
  Count depth;
  CHECKS(SNC_STACK_SIG, stack);
  CHECKU(BUFFER_SIG, stack->buffer);
  CHECKL(stack->buffer->pool_data == stack);
  CHECKL(stack->frames != NULL && stack->frames_max > 0);                   /* 6 */
  depth = stack->buffer->frame_depth;
  CHECKL(depth <= stack->frames_max);
  if (stack->top_seg != NULL)
    CHECKL(snc_seg_of(stack->top_seg)->owner == stack);
  return true;
}

/* ---- Positions and padding ------------------------------------------- */

/* How a segment's memory was reached (snc_seg_expose). */
typedef enum snc_exposure_e {
  SNC_UNEXPOSED,        /* directly: outside the shield, not read-protected */
  SNC_EXPOSED,          /* exposed inside the caller's shield entry */
  SNC_ENTERED           /* the shield entered for the purpose, and exposed */
} SNCExposure;

/* Reach a segment's memory through the shield.  Inside it (the collector,
 * walks) the segment is exposed.  Fills, empties and pops come from
 * outside a collection: there a read-protected segment (grey for an
 * incremental trace) is exposed in a shield entry of our own, which holds
 * the mutator meanwhile; otherwise the only protection is the write
 * barrier's, which a read does not meet, and for a write (a pad) it is
 * lowered, the summary widened, which costs less than stopping the
 * threads. */
static SNCExposure snc_seg_expose(Seg seg, bool write)
{
  Shield shield = &seg->arena->gc->shield;
  SNCExposure how = SNC_EXPOSED;
  if (!shield_is_inside(shield)) {
    if ((seg->shield.sm & PROT_DENY_READ) == 0) {
      if (write && (seg->shield.sm & PROT_DENY_WRITE) != 0)
        seg_set_summary(seg, ZONE_SET_UNIV);
      return SNC_UNEXPOSED;
    }
    shield_enter(shield);
    how = SNC_ENTERED;
  }
  shield_expose(shield, &seg->shield);
  return how;
}

static void snc_seg_cover(Seg seg, SNCExposure how)
{
  Shield shield = &seg->arena->gc->shield;
  if (how == SNC_UNEXPOSED)
    return;
  shield_cover(shield, &seg->shield);
  if (how == SNC_ENTERED)
    shield_leave(shield);
}

/* Whether the collector has exposed the segment: scans and walks need it
 * (their callers expose: trace.c, walk.c, transform.c). */
static inline bool snc_seg_is_exposed(Seg seg)
{
  return shield_is_inside(&seg->arena->gc->shield) && seg->shield.depth > 0;
}

/* The limit of the segment's live objects (invariant 5: a buffer's
 * committed objects end at its init). */
static Addr snc_seg_live_limit(Seg seg)
{
  if (seg->buffer != NULL)
    return buffer_committed_limit(seg->buffer);
  return snc_seg_of(seg)->top;
}

/* Set the position of a segment on a stack and pad what lies above it. */
static void snc_seg_set_top(Seg seg, Addr top)
{
  SNCSeg sseg = snc_seg_of(seg);
  Format format = snc_of_seg(seg)->format;
  AVER(addr_word(seg->base) <= addr_word(top) && addr_word(top) <= addr_word(seg->limit));
  sseg->top = top;
  if (addr_word(top) < addr_word(seg->limit)) {
    SNCExposure exposed = snc_seg_expose(seg, true);
    (*format->pad)(addr_ptr(top), addr_offset(top, seg->limit));
    snc_seg_cover(seg, exposed);
  }
}

/* ---- Segments --------------------------------------------------------- */

static Res snc_seg_init(Seg seg, Pool pool)
{
  SNCSeg sseg = snc_seg_of(seg);
  UNUSED(pool);
  sseg->owner = NULL;
  sseg->below = NULL;
  sseg->top = seg->base;
  sseg->sig = SNC_SEG_SIG;
  return MPS_RES_OK;
}

static void snc_seg_finish(Seg seg)
{
  snc_seg_of(seg)->sig = SIG_INVALID;
}

/* Never called: without a fix method the tracer does not condemn an SNC
 * segment.  Declining (leaving it unchanged) is what whiten may do. */
static Res snc_seg_whiten(Seg seg, Trace trace, Size *condemned_io)
{
  UNUSED(seg);
  UNUSED(trace);
  UNUSED(condemned_io);
  return MPS_RES_OK;
}

static void snc_seg_reclaim(Seg seg, Trace trace)
{
  UNUSED(seg);
  UNUSED(trace);
  NOTREACHED;   /* never white */
}

/* Scan the live objects, as a root would be scanned: the segment is never
 * white, so it is scanned whole and blackened. */
static Res snc_seg_scan(bool *total_o, Seg seg, ScanState ss)
{
  SNCSeg sseg = snc_seg_of(seg);
  Format format = snc_of_seg(seg)->format;
  Addr limit;
  Res res;

  AVERT(snc_seg, sseg);
  AVER(sseg->owner != NULL);      /* free segments have no rank */
  AVER((seg->white & ss->traces) == TRACE_SET_EMPTY);
  AVER(snc_seg_is_exposed(seg));
  limit = snc_seg_live_limit(seg);
  if (addr_word(seg->base) < addr_word(limit)) {
    res = (*format->scan)(scan_state_public(ss), addr_ptr(seg->base), addr_ptr(limit));
    if (res != MPS_RES_OK)
      return res;
  }
  seg_set_grey(seg, seg->grey & ~ss->traces);
  *total_o = true;
  return MPS_RES_OK;
}

static void snc_seg_walk(Seg seg, Format format, SegObjectVisitor visit, void *p, Size s)
{
  Addr obj, limit = snc_seg_live_limit(seg);
  AVER(format == snc_of_seg(seg)->format);
  AVER(snc_seg_is_exposed(seg));
  for (obj = seg->base; addr_word(obj) < addr_word(limit);
       obj = addr_of_ptr((*format->skip)(addr_ptr(obj))))
    visit(obj, format, seg->pool, p, s);
}

static Res snc_seg_area_walk(Seg seg, mps_area_scan_t visit, void *closure, ScanState ss)
{
  Addr limit = snc_seg_live_limit(seg);
  AVER(snc_seg_is_exposed(seg));
  if (addr_word(seg->base) >= addr_word(limit))
    return MPS_RES_OK;
  return visit(scan_state_public(ss), addr_ptr(seg->base), addr_ptr(limit), closure);
}

static Res snc_seg_addr_object(Addr *p_o, Seg seg, Addr addr)
{
  Format format = snc_of_seg(seg)->format;
  Addr obj, next, limit = snc_seg_live_limit(seg);
  SNCExposure exposed;
  Res res = MPS_RES_FAIL;
  if (addr_word(addr) >= addr_word(limit))
    return MPS_RES_FAIL;          /* popped, padding, or never allocated */
  exposed = snc_seg_expose(seg, false);
  for (obj = seg->base; addr_word(obj) < addr_word(limit); obj = next) {
    next = addr_of_ptr((*format->skip)(addr_ptr(obj)));
    if (addr_word(addr) < addr_word(next)) {
      *p_o = obj;
      res = MPS_RES_OK;
      break;
    }
  }
  snc_seg_cover(seg, exposed);
  return res;
}

static seg_class_s snc_seg_class_s = {
  SEG_CLASS_SIG, "SNC", sizeof(snc_seg_s), false, true,   /* incremental: see the head */
  snc_seg_init, snc_seg_finish,
  snc_seg_whiten, snc_seg_scan,
  NULL,                          /* no fix: never condemned */
  snc_seg_reclaim,
  snc_seg_walk, snc_seg_area_walk, snc_seg_addr_object,
  NULL                           /* never moves anything */
};

/* Take a segment of at least `size` bytes for the top of `stack`: a free
 * one if it is big enough, else a new one. */
static Res snc_seg_take(Seg *seg_o, SNC snc, SNCStack stack, Size size)
{
  Arena arena = snc->pool.arena;
  SNCSeg sseg;
  Seg seg;
  Res res;

  if (size <= snc->seg_size && snc->free_segs != NULL) {
    seg = snc->free_segs;
    sseg = snc_seg_of(seg);
    snc->free_segs = sseg->below;
    --snc->free_count;
    snc->free_total -= seg_size(seg);
    seg_set_rank_set(seg, RANK_SET_SINGLE(RANK_EXACT));
  } else {
    Size seg_size_wanted = snc->seg_size;
    if (size > snc->seg_size) {
      if (size > SIZE_MAX - arena->grain_size)
        return MPS_RES_RESOURCE;
      seg_size_wanted = size_align_up(size, arena->grain_size);
    }
    res = seg_alloc(&seg, &snc_seg_class_s, &snc->pool, seg_size_wanted,
                    RANK_SET_SINGLE(RANK_EXACT), NULL);
    if (res != MPS_RES_OK)
      return res;
    ring_append(&snc->seg_ring, &seg->pool_ring);
    ++snc->seg_count;
    snc->total += seg_size_wanted;
    sseg = snc_seg_of(seg);
  }
  sseg->owner = stack;
  sseg->below = stack->top_seg;
  sseg->top = seg->base;
  stack->top_seg = seg;
  *seg_o = seg;
  return MPS_RES_OK;
}

static void snc_seg_destroy(SNC snc, Seg seg)
{
  Size size = seg_size(seg);
  AVER(snc->seg_count > 0 && snc->total >= size);
  ring_remove(&seg->pool_ring);
  --snc->seg_count;
  snc->total -= size;
  seg_free(seg);
}

/* Take the top segment off its stack: onto the free list if it is of
 * ordinary size, else back to the arena. */
static void snc_seg_release(SNC snc, SNCStack stack)
{
  Seg seg = stack->top_seg;
  SNCSeg sseg = snc_seg_of(seg);
  AVER(sseg->owner == stack);
  AVER(seg->buffer == NULL);
  /* Its objects are popped: nothing in it is live, so a trace in progress
   * need not scan it (see the head). */
  if (seg->grey != TRACE_SET_EMPTY)
    seg_set_grey(seg, TRACE_SET_EMPTY);
  stack->top_seg = sseg->below;
  sseg->owner = NULL;
  sseg->top = seg->base;
  if (seg_size(seg) != snc->seg_size) {
    snc_seg_destroy(snc, seg);
    return;
  }
  /* Its memory is dead: traces need not scan it. */
  seg_set_rank_set(seg, RANK_SET_EMPTY);
  sseg->below = snc->free_segs;
  snc->free_segs = seg;
  ++snc->free_count;
  snc->free_total += seg_size(seg);
}

/* ---- Stacks ----------------------------------------------------------- */

static Res snc_stack_get(SNCStack *stack_o, Pool pool, Buffer buffer)
{
  SNCStack stack = buffer->pool_data;
  void *p;
  Res res;
  if (stack != NULL) {
    AVERT(snc_stack, stack);
    *stack_o = stack;
    return MPS_RES_OK;
  }
  res = arena_control_alloc(&p, pool->arena, sizeof(snc_stack_s));
  if (res != MPS_RES_OK)
    return res;
  stack = p;
  res = arena_control_alloc(&p, pool->arena, SNC_FRAMES_INITIAL * sizeof(snc_frame_s));
  if (res != MPS_RES_OK) {
    arena_control_free(pool->arena, stack, sizeof(snc_stack_s));
    return res;
  }
  stack->buffer = buffer;
  stack->top_seg = NULL;
  stack->frames = p;
  stack->frames_max = SNC_FRAMES_INITIAL;
  stack->sig = SNC_STACK_SIG;
  buffer->pool_data = stack;
  AVERT(snc_stack, stack);
  *stack_o = stack;
  return MPS_RES_OK;
}

/* mps_ap_destroy: the point's objects die with it. */
static void snc_buffer_finish(Pool pool, Buffer buffer)
{
  SNC snc = snc_of_pool(pool);
  SNCStack stack = buffer->pool_data;
  AVERT(snc, snc);
  AVER(buffer_is_empty(buffer));
  if (stack == NULL)
    return;                       /* never filled nor pushed */
  AVERT(snc_stack, stack);
  while (stack->top_seg != NULL)
    snc_seg_release(snc, stack);
  stack->sig = SIG_INVALID;
  arena_control_free(pool->arena, stack->frames, stack->frames_max * sizeof(snc_frame_s));
  arena_control_free(pool->arena, stack, sizeof(snc_stack_s));
  buffer->pool_data = NULL;
}

static Res snc_frame_push(Pool pool, Buffer buffer, Count depth)
{
  SNCStack stack;
  snc_frame_s *frame;
  Res res;

  AVERT(snc, snc_of_pool(pool));
  res = snc_stack_get(&stack, pool, buffer);
  if (res != MPS_RES_OK)
    return res;
  AVER(depth == buffer->frame_depth + 1);
  if (depth > stack->frames_max) {
    Count max = stack->frames_max;
    void *p;
    if (max > (Count)-1 / 2 / sizeof(snc_frame_s))
      return MPS_RES_LIMIT;
    res = arena_control_alloc(&p, pool->arena, 2 * max * sizeof(snc_frame_s));
    if (res != MPS_RES_OK)
      return res;
    mem_copy(p, stack->frames, max * sizeof(snc_frame_s));
    arena_control_free(pool->arena, stack->frames, max * sizeof(snc_frame_s));
    stack->frames = p;
    stack->frames_max = 2 * max;
  }
  frame = &stack->frames[depth - 1];
  /* Where the next object would go. */
  if (!buffer_is_empty(buffer)) {
    AVER(stack->top_seg != NULL && stack->top_seg->buffer == buffer);
    frame->seg = stack->top_seg;
    frame->addr = buffer_committed_limit(buffer);
  } else {
    frame->seg = stack->top_seg;
    frame->addr = frame->seg != NULL ? snc_seg_of(frame->seg)->top : NULL;
  }
  return MPS_RES_OK;
}

static Res snc_frame_pop(Pool pool, Buffer buffer, Count depth)
{
  SNC snc = snc_of_pool(pool);
  SNCStack stack = buffer->pool_data;
  snc_frame_s frame;

  AVERT(snc, snc);
  AVER(buffer_is_empty(buffer));   /* buffer.c emptied it */
  AVER(stack != NULL);             /* the push made it */
  if (stack == NULL)
    return MPS_RES_FAIL;
  AVERT(snc_stack, stack);
  AVER(depth >= 1 && depth <= buffer->frame_depth);
  frame = stack->frames[depth - 1];
  /* The frame's segment is on the stack: segments leave it only by pops
   * of frames at or below it, which the protocol forbids popping again. */
  while (stack->top_seg != frame.seg) {
    AVER(stack->top_seg != NULL);
    if (stack->top_seg == NULL)
      return MPS_RES_FAIL;
    snc_seg_release(snc, stack);
  }
  if (frame.seg != NULL) {
    AVER(addr_word(frame.addr) <= addr_word(snc_seg_of(frame.seg)->top));
    snc_seg_set_top(frame.seg, frame.addr);
  }
  return MPS_RES_OK;
}

static const pool_buffer_methods_s snc_buffer_methods = {
  snc_frame_push, snc_frame_pop, snc_buffer_finish, NULL, NULL
};

/* ---- Pool methods ----------------------------------------------------- */

static Res snc_init(Pool pool, mps_arg_s args[])
{
  SNC snc = snc_of_pool(pool);
  Arena arena = pool->arena;
  Format format;
  Res res;

  AVERT(args, args);
  /* snc.rst: the format needs scan, skip and pad methods. */
  res = format_acquire(&format, arena, args, "skp", false);
  if (res != MPS_RES_OK)
    return res;
  /* snc.rst: blocks must not have in-band headers; and a block must fit
   * the arena's grains. */
  AVER(format->header_size == 0);
  AVER(format->alignment <= arena->grain_size);
  if (format->header_size != 0 || format->alignment > arena->grain_size) {
    format_release(format);
    return MPS_RES_PARAM;
  }
  snc->format = format;
  pool->format = format;
  pool->alignment = format->alignment;
  pool->ap_rank_set = RANK_SET_SINGLE(RANK_EXACT);
  pool->buffer_methods = &snc_buffer_methods;
  snc->seg_size = size_align_up(SNC_SEG_SIZE_DEFAULT, arena->grain_size);
  ring_init(&snc->seg_ring);
  snc->seg_count = 0;
  snc->total = 0;
  snc->free_segs = NULL;
  snc->free_count = 0;
  snc->free_total = 0;
  snc->sig = SNC_SIG;
  AVERT(snc, snc);
  return MPS_RES_OK;
}

static void snc_finish(Pool pool)
{
  SNC snc = snc_of_pool(pool);
  Ring node, next;
  AVERT(snc, snc);
  /* The allocation points are gone (pool_destroy checks), so every
   * segment is free. */
  AVER(snc->free_count == snc->seg_count);
  RING_FOR(node, &snc->seg_ring, next)
    snc_seg_destroy(snc, PARENT(seg_s, pool_ring, node));
  AVER(snc->total == 0);
  snc->sig = SIG_INVALID;
  ring_finish(&snc->seg_ring);
  format_release(snc->format);
}

static Res snc_buffer_fill(Addr *base_o, Addr *limit_o, Pool pool, Buffer buffer, Size size)
{
  SNC snc = snc_of_pool(pool);
  SNCStack stack;
  Seg seg;
  bool fits;
  Res res;

  AVERT(snc, snc);
  AVERT(buffer, buffer);
  AVER(buffer_is_empty(buffer));
  AVER(size > 0 && size_is_aligned(size, pool->alignment));
  AVER(buffer->rank == RANK_EXACT);
  res = snc_stack_get(&stack, pool, buffer);
  if (res != MPS_RES_OK)
    return res;
  seg = stack->top_seg;
  fits = seg != NULL && addr_offset(snc_seg_of(seg)->top, seg->limit) >= size;
  /* Never from a grey segment: what the mutator allocates during a trace
   * is black (invariant 7; see the head).  A grey segment outside a
   * collection is one an incremental trace reads through the barrier,
   * unless a postmortem arena stopped that: then another is taken. */
  if (fits && (seg->grey & seg->arena->gc->barrier.reading) != TRACE_SET_EMPTY)
    trace_access(pool->arena, seg);
  if (!fits || seg->grey != TRACE_SET_EMPTY) {
    res = snc_seg_take(&seg, snc, stack, size);
    if (res != MPS_RES_OK)
      return res;
  }
  AVER(seg->grey == TRACE_SET_EMPTY && seg->white == TRACE_SET_EMPTY);
  seg_set_buffer(seg, buffer);
  *base_o = snc_seg_of(seg)->top;
  *limit_o = seg->limit;
  return MPS_RES_OK;
}

static void snc_buffer_empty(Pool pool, Buffer buffer, Addr init, Addr limit)
{
  SNCStack stack = buffer->pool_data;
  Seg seg;
  AVERT(snc, snc_of_pool(pool));
  AVER(stack != NULL);
  AVERT(snc_stack, stack);
  seg = stack->top_seg;
  AVER(seg != NULL && seg->buffer == buffer);
  AVER(limit == seg->limit);
  UNUSED(limit);
  seg_set_buffer(seg, NULL);
  snc_seg_set_top(seg, init);
}

static Size snc_total_size(Pool pool)
{
  return snc_of_pool(pool)->total;
}

/* The free segments and the unused tails above the stacks' positions (a
 * buffer's region counts as in use). */
static Size snc_free_size(Pool pool)
{
  SNC snc = snc_of_pool(pool);
  Ring node, next;
  Size free = 0;
  RING_FOR(node, &snc->seg_ring, next) {
    Seg seg = PARENT(seg_s, pool_ring, node);
    if (seg->buffer == NULL)
      free += addr_offset(snc_seg_of(seg)->top, seg->limit);
  }
  return free;
}

static struct mps_pool_class_s snc_pool_class_s = {
  POOL_CLASS_SIG, "SNC", sizeof(snc_s),
  snc_init, snc_finish,
  NULL, NULL,                          /* no mps_alloc / mps_free */
  snc_buffer_fill, snc_buffer_empty,
  snc_total_size, snc_free_size,
  NULL, NULL,
  snc_pool_check
};

mps_pool_class_t mps_class_snc(void)
{
  return &snc_pool_class_s;
}
