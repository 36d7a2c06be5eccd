/* pattern.c: allocation patterns (see pattern.h; manual/topic/pattern.rst,
 * design/strategy.txt "Ramps").
 *
 * The two patterns, ramp and ramp_collect_all, nest on an allocation
 * point like brackets: mps_ap_alloc_pattern_end must name the pattern of
 * the innermost begin, or it fails with MPS_RES_FAIL and changes nothing.
 * mps_ap_alloc_pattern_reset ends them all.
 *
 * What the collector makes of them (the whole policy, simple on purpose):
 *   - while any allocation point of a formatted pool is inside a pattern,
 *     the nursery (generation 0 of every chain) may take
 *     CHAIN_RAMP_ALLOWANCE times its capacity before it is due (chain.c),
 *     so that the ramp's objects have time to die before a collection
 *     copies them.  The allowance is a bound: a ramp that never ends
 *     still gets collected, only less often;
 *   - when a ramp_collect_all ends (or is reset away), a collection of
 *     every generation becomes due, and starts as soon as no allocation
 *     point is inside a pattern any more (pattern.rst lets it wait for the
 *     enclosing ramps): at that end if the arena is unclamped, else at the
 *     first poll after the arena is released.  Any collection of
 *     everything (mps_arena_collect too) meets the request.
 * Allocation points of unformatted (manual) pools keep their stacks and
 * result codes but do not count: pattern.rst says the pattern is then
 * ignored.
 *
 * Invariants (pattern_ap_check, pattern_arena_check):
 *   1. no collect_all bit is set at or above an allocation point's depth,
 *      and its deep counts add up to what its depth exceeds
 *      PATTERN_DEPTH_LIMIT by;
 *   2. an allocation point is counted only while its depth is positive;
 *   3. the arena's count is the number of counted allocation points
 *      (not checked: it would need a walk of every pool's buffers).
 */
#include "pattern.h"
#include "gc.h"
#include "trace.h"
#include "../pool/buffer.h"

typedef struct mps_alloc_pattern_s {
  Sig sig;
  bool collect_all;
} mps_alloc_pattern_s;

/* The two patterns are constants, but mps_alloc_pattern_t points to
 * non-const, so they are plain statics, never written. */
static mps_alloc_pattern_s pattern_ramp_s = {PATTERN_SIG, false};
static mps_alloc_pattern_s pattern_ramp_collect_all_s = {PATTERN_SIG, true};

mps_alloc_pattern_t mps_alloc_pattern_ramp(void)
{
  return &pattern_ramp_s;
}

mps_alloc_pattern_t mps_alloc_pattern_ramp_collect_all(void)
{
  return &pattern_ramp_collect_all_s;
}

static inline bool pattern_check(mps_alloc_pattern_t pattern)
{
  CHECKS(PATTERN_SIG, pattern);
  CHECKL(pattern == &pattern_ramp_s || pattern == &pattern_ramp_collect_all_s);
  return true;
}

/* The bits below `depth`, for depth in 0..WORD_WIDTH. */
static inline Word pattern_below(Count depth)
{
  return depth >= WORD_WIDTH ? ~(Word)0 : ((Word)1 << depth) - 1;
}

bool pattern_ap_check(pattern_ap_s *pap)
{
  CHECKL(pap != NULL);
  CHECKL((pap->collect_all & ~pattern_below(pap->depth)) == 0);       /* 1 */
  CHECKL(pap->deep_ramp + pap->deep_collect_all
         == (pap->depth > PATTERN_DEPTH_LIMIT ? pap->depth - PATTERN_DEPTH_LIMIT : 0));
  CHECKL(!pap->counted || pap->depth > 0);                          /* 2 */
  return true;
}

bool pattern_arena_check(pattern_arena_s *parena)
{
  CHECKL(parena != NULL);
  return true;
}

void pattern_arena_init(pattern_arena_s *parena)
{
  AVER(parena != NULL);
  parena->ramping = 0;
  parena->full_due = false;
}

void pattern_ap_init(pattern_ap_s *pap)
{
  AVER(pap != NULL);
  pap->depth = 0;
  pap->collect_all = 0;
  pap->deep_ramp = 0;
  pap->deep_collect_all = 0;
  pap->counted = false;
}

bool pattern_is_ramping(struct gc_s *gc)
{
  return gc != NULL && gc->pattern.ramping > 0;
}

bool pattern_full_collection_due(struct gc_s *gc)
{
  return gc != NULL && gc->pattern.full_due && gc->pattern.ramping == 0;
}

void pattern_full_collection_done(struct gc_s *gc)
{
  AVERT(gc, gc);
  gc->pattern.full_due = false;
}

/* The allocation point has no pattern left: stop counting it. */
static void pattern_uncount(GC gc, pattern_ap_s *pap)
{
  AVER(pap->depth == 0);
  if (pap->counted) {
    AVER(gc != NULL && gc->pattern.ramping > 0);
    --gc->pattern.ramping;
    pap->counted = false;
  }
}

/* Pop the innermost pattern.  True if it was ramp_collect_all.  Beyond
 * the depth whose order is kept, a ramp_collect_all first (for reset,
 * which pops them all, the order does not matter). */
static bool pattern_pop(pattern_ap_s *pap)
{
  Word bit;
  AVER(pap->depth > 0);
  if (pap->depth > PATTERN_DEPTH_LIMIT) {
    --pap->depth;
    if (pap->deep_collect_all > 0) {
      --pap->deep_collect_all;
      return true;
    }
    AVER(pap->deep_ramp > 0);
    --pap->deep_ramp;
    return false;
  }
  --pap->depth;
  bit = (Word)1 << pap->depth;
  if ((pap->collect_all & bit) != 0) {
    pap->collect_all &= ~bit;
    return true;
  }
  return false;
}

/* After patterns ended on an allocation point: if one was
 * ramp_collect_all, ask for the full collection; start an asked-for one
 * now if no pattern holds it back any more (trace_poll declines in a
 * clamped arena). */
static void pattern_ended(Arena arena, GC gc, bool collect_all)
{
  if (gc == NULL)
    return;
  if (collect_all)
    gc->pattern.full_due = true;
  if (pattern_full_collection_due(gc))
    trace_poll(arena);
}

static Buffer pattern_buffer_of_ap(mps_ap_t ap)
{
  Buffer buffer = PARENT(buffer_s, ap, ap);
  AVER(ap != NULL && buffer->sig == BUFFER_SIG);
  return buffer;
}

/* What begin and end share: check the pattern, enter the arena of the
 * point's pool, and check the point.  NULL for a bad pattern, and then
 * the arena is not entered.  Inlined, as arena_enter is (arena.h): the
 * end may collect, scanning the caller's registers from this frame. */
static ALWAYS_INLINE Buffer pattern_enter(mps_ap_t ap, mps_alloc_pattern_t alloc_pattern)
{
  Buffer buffer = pattern_buffer_of_ap(ap);
  AVER(alloc_pattern != NULL);
  AVERT(pattern, alloc_pattern);
  if (alloc_pattern == NULL || alloc_pattern->sig != PATTERN_SIG)
    return NULL;
  arena_enter(buffer->pool->arena);
  AVERT(buffer, buffer);
  AVERT(pattern_ap, &buffer->pattern);
  return buffer;
}

mps_res_t mps_ap_alloc_pattern_begin(mps_ap_t ap, mps_alloc_pattern_t alloc_pattern)
{
  Buffer buffer = pattern_enter(ap, alloc_pattern);
  Arena arena;
  pattern_ap_s *pap;
  GC gc;

  if (buffer == NULL)
    return MPS_RES_PARAM;
  arena = buffer->pool->arena;
  pap = &buffer->pattern;
  if (pap->depth >= PATTERN_DEPTH_LIMIT) {
    if (alloc_pattern->collect_all)
      ++pap->deep_collect_all;
    else
      ++pap->deep_ramp;
  } else if (alloc_pattern->collect_all) {
    pap->collect_all |= (Word)1 << pap->depth;
  }
  ++pap->depth;
  gc = gc_of(arena);
  if (!pap->counted && gc != NULL && buffer->pool->format != NULL) {
    pap->counted = true;
    ++gc->pattern.ramping;
  }
  arena_leave(arena);
  return MPS_RES_OK;
}

mps_res_t mps_ap_alloc_pattern_end(mps_ap_t ap, mps_alloc_pattern_t alloc_pattern)
{
  Buffer buffer = pattern_enter(ap, alloc_pattern);
  Arena arena;
  pattern_ap_s *pap;
  GC gc;
  bool collect_all;
  Res res = MPS_RES_OK;

  if (buffer == NULL)
    return MPS_RES_PARAM;
  arena = buffer->pool->arena;
  pap = &buffer->pattern;
  /* No begin to match, or the innermost begin was of the other pattern
   * (patterns nest but do not overlap): refused, nothing changes.  Beyond
   * the kept order, there must be a begin of this pattern there. */
  if (pap->depth > PATTERN_DEPTH_LIMIT) {
    Count *deep = alloc_pattern->collect_all ? &pap->deep_collect_all : &pap->deep_ramp;
    if (*deep == 0) {
      res = MPS_RES_FAIL;
      goto done;
    }
    --*deep;
    --pap->depth;
    collect_all = alloc_pattern->collect_all;
  } else if (pap->depth == 0
             || ((pap->collect_all >> (pap->depth - 1)) & 1)
                != (Word)alloc_pattern->collect_all) {
    res = MPS_RES_FAIL;
    goto done;
  } else {
    collect_all = pattern_pop(pap);
  }
  gc = gc_of(arena);
  if (pap->depth == 0)
    pattern_uncount(gc, pap);
  pattern_ended(arena, gc, collect_all && buffer->pool->format != NULL);
done:
  arena_leave(arena);
  return res;
}

mps_res_t mps_ap_alloc_pattern_reset(mps_ap_t ap)
{
  Buffer buffer = pattern_buffer_of_ap(ap);
  Arena arena = buffer->pool->arena;
  pattern_ap_s *pap = &buffer->pattern;
  GC gc;
  bool collect_all = false;

  arena_enter(arena);
  AVERT(buffer, buffer);
  AVERT(pattern_ap, pap);
  gc = gc_of(arena);
  while (pap->depth > 0)
    if (pattern_pop(pap))
      collect_all = true;
  pattern_uncount(gc, pap);
  pattern_ended(arena, gc, collect_all && buffer->pool->format != NULL);
  arena_leave(arena);
  return MPS_RES_OK;
}

void pattern_ap_finish(struct buffer_s *buffer)
{
  pattern_ap_s *pap;
  AVERT(buffer, buffer);
  pap = &buffer->pattern;
  AVERT(pattern_ap, pap);
  pap->depth = 0;
  pap->collect_all = 0;
  pattern_uncount(gc_of(buffer->pool->arena), pap);
}
