/* walk.c: the client's views of the heap -- visiting every formatted
 * object (mps_arena_formatted_objects_walk), visiting areas of a pool's
 * objects with a scanner (mps_pool_walk), and finding the object that
 * contains an address (mps_addr_object) (manual/topic/deprecated.rst,
 * manual/topic/pool.rst, manual/topic/arena.rst; design/walk.txt).
 *
 * The collector does not know how objects are laid out; each walk goes
 * through the segment class methods walk, area_walk and addr_object,
 * with the segment exposed through the shield around every call, as for
 * any access by the collector to a segment's memory.
 *
 * A walk happens within one arena entry with no trace half done: the
 * formatted walk finishes an incremental collection first, and the pool
 * walk needs a parked arena.  So objects are where the client's
 * references say, never forwarded.  mps_addr_object only reads object
 * lengths, through the shield, so it needs no such wait.
 */
#include "format.h"
#include "seg.h"
#include "trace.h"
#include "../pool/pool.h"

/* Enter the shield unless a caller already has; say whether we did. */
static bool walk_shield_enter(GC gc)
{
  if (shield_is_inside(&gc->shield))
    return false;
  shield_enter(&gc->shield);
  return true;
}

static void walk_shield_leave(GC gc, bool entered)
{
  if (entered)
    shield_leave(&gc->shield);
}

/* ---- mps_arena_formatted_objects_walk --------------------------------- */

typedef struct walk_objects_s {
  mps_formatted_objects_stepper_t f;
  void *p;
} walk_objects_s;

/* Segment classes call this on each object; the client's stepper has the
 * public types. */
static void walk_object_visit(Addr obj, Format format, Pool pool, void *p, Size s)
{
  walk_objects_s *wo = p;
  wo->f(addr_ptr(obj), format, pool, wo->p, (size_t)s);
}

void mps_arena_formatted_objects_walk(mps_arena_t arena, mps_formatted_objects_stepper_t f,
                                      void *p, size_t s)
{
  GC gc;
  Ring node, next;
  walk_objects_s wo;
  bool entered;

  AVER(f != NULL);
  arena_enter(arena);
  gc = gc_of(arena);
  if (gc == NULL) {
    arena_leave(arena);        /* no collector object, so no segments */
    return;
  }
  /* deprecated.rst: a walk during a collection sees only the objects
   * known to be valid.  An incremental collection in progress is finished
   * first, so that every object is where the client's references say and
   * nothing is read-protected; every object is then visited whatever the
   * arena state. */
  if (arena->state != ARENA_POSTMORTEM)
    trace_park(arena);
  wo.f = f;
  wo.p = p;
  entered = walk_shield_enter(gc);
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    Format format = seg->pool->format;
    if (seg->klass->walk == NULL || format == NULL)
      continue;
    shield_expose(&gc->shield, &seg->shield);
    seg->klass->walk(seg, format, walk_object_visit, &wo, (Size)s);
    shield_cover(&gc->shield, &seg->shield);
    /* The stepper may write inside each object (deprecated.rst), where
     * the exposure hid its stores from the write barrier. */
    if (seg->rank_set != RANK_SET_EMPTY)
      seg_set_summary(seg, ZONE_SET_UNIV);
  }
  walk_shield_leave(gc, entered);
  arena_leave(arena);
}

/* ---- mps_pool_walk ---------------------------------------------------- */

/* The walk's scan state condemns nothing (its white set is empty), so
 * MPS_FIX1 turns every reference away; a scanner that calls MPS_FIX2
 * regardless finds it does nothing. */
static mps_res_t walk_fix_nothing(mps_ss_t ss, mps_addr_t *ref_io)
{
  UNUSED(ss);
  UNUSED(ref_io);
  return MPS_RES_OK;
}

mps_res_t mps_pool_walk(mps_pool_t pool, mps_area_scan_t scan_area, void *closure)
{
  Arena arena;
  GC gc;
  Ring node, next;
  scan_state_s ss;
  Res res = MPS_RES_OK;
  bool entered;

  AVER(pool != NULL && pool->sig == POOL_SIG);
  AVER(scan_area != NULL);
  arena = pool->arena;
  arena_enter(arena);
  AVERT(pool, pool);
  /* pool.rst: the arena is parked, so that the areas hold no forwarding
   * objects and no collection runs between the client's calls. */
  AVER(trace_arena_is_parked(arena) || arena->state == ARENA_POSTMORTEM);
  /* Only automatically managed pools, which are the formatted ones. */
  AVER(pool->format != NULL);
  gc = gc_of(arena);
  AVER(gc != NULL);             /* a formatted pool made the collector */
  scan_state_init(&ss, arena, NULL, RANK_EXACT);
  ss.ss_s._fix = walk_fix_nothing;
  ss.ss_s._w = ZONE_SET_EMPTY;
  entered = walk_shield_enter(gc);
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if (seg->pool != pool || seg->klass->area_walk == NULL)
      continue;
    shield_expose(&gc->shield, &seg->shield);
    res = seg->klass->area_walk(seg, scan_area, closure, &ss);
    shield_cover(&gc->shield, &seg->shield);
    /* The client may have changed references (pool.rst allows it): what
     * the segment refers to is no longer known. */
    if (seg->rank_set != RANK_SET_EMPTY)
      seg_set_summary(seg, ZONE_SET_UNIV);
    if (res != MPS_RES_OK)
      break;
  }
  walk_shield_leave(gc, entered);
  scan_state_finish(&ss);
  arena_leave(arena);
  return res;
}

/* ---- mps_addr_object -------------------------------------------------- */

mps_res_t mps_addr_object(mps_addr_t *p_o, mps_arena_t arena, mps_addr_t addr)
{
  GC gc;
  Seg seg;
  Addr obj;
  Res res;
  bool entered;

  AVER(p_o != NULL);
  arena_enter(arena);
  if (arena_pool_of_addr(arena, addr_of_ptr(addr)) == NULL) {
    res = MPS_RES_FAIL;         /* not memory the arena manages */
    goto done;
  }
  gc = gc_of(arena);
  if (gc == NULL || !seg_of_addr(&seg, arena, addr_of_ptr(addr))
      || seg->klass->addr_object == NULL) {
    res = MPS_RES_UNIMPL;       /* a pool that cannot tell */
    goto done;
  }
  entered = walk_shield_enter(gc);
  shield_expose(&gc->shield, &seg->shield);
  res = seg->klass->addr_object(&obj, seg, addr_of_ptr(addr));
  shield_cover(&gc->shield, &seg->shield);
  walk_shield_leave(gc, entered);
  if (res == MPS_RES_OK)
    *p_o = addr_ptr(obj);
done:
  arena_leave(arena);
  return res;
}
