/* barrier.c: the write barrier and the read barrier (see barrier.h).
 *
 * Locking.  Everything here runs with the arena lock held, except the
 * first steps of the fault hook, which runs on whichever thread touched
 * a protected segment: it takes the arena lock unless that thread
 * holds it already (a pool or a walk's visitor writing into a segment it
 * did not expose), and it finds the segment only under the lock, because
 * the collector on another thread may have freed or unprotected it since
 * the fault.  barrier_finish drops the lock while it waits for hooks to
 * leave, since a hook may be waiting for the lock (fault.h).
 */
#include "barrier.h"
#include "gc.h"
#include "seg.h"
#include "trace.h"
#include "../../include/mpsavm.h"
#include "../os/vm.h"

bool barrier_check(barrier_s *barrier)
{
  CHECKL(barrier != NULL);
  CHECKL(!barrier->on || barrier->registered);
  CHECKL(barrier->on || barrier->guarded == 0);      /* off: nothing protected */
  CHECKL(barrier->on || barrier->reading == TRACE_SET_EMPTY);
#if defined(BARRIER_HARDWARE)
  if (barrier->registered)
    CHECKD(fault_reg, &barrier->reg);
#else
  CHECKL(!barrier->registered);        /* nothing to register with */
#endif
  return true;
}

bool barrier_wanted(Arena arena)
{
#if defined(BARRIER_HARDWARE)
  AVERT(arena, arena);
  /* Protection is by whole pages: a segment must cover whole pages, which
   * it does when grains are whole pages (chunks start on a grain, in a
   * client arena too).  A client arena's memory that refuses protection
   * turns the barrier off at the first refusal (barrier.h). */
  return arena->grain_size % vm_page_size() == 0;
#else
  UNUSED(arena);
  return false;
#endif
}

#if defined(BARRIER_HARDWARE)
/* The fault hook: closure is the arena's GC.  Only a build with the
 * hardware barrier has fault handling (src/mps.c) to register it with. */
static bool barrier_fault(void *closure, Addr addr, bool is_write)
{
  GC gc = closure;
  Arena arena = gc->arena;
  bool held, handled = false;
  Count mark = 0;
  Seg seg;

  /* Sequentially consistent, pairing with barrier_set's stores: those
   * come before the protection call that made this access fault, and the
   * system's protection change and fault delivery order them before this
   * load in practice (the C11 model does not speak of system calls). */
  if (addr_word(addr) < atomic_load_explicit(&gc->barrier.lo, memory_order_seq_cst)
      || addr_word(addr) >= atomic_load_explicit(&gc->barrier.hi, memory_order_seq_cst))
    return false;
  held = lock_is_held(arena->lock);
  if (!held) {
    lock_claim(arena->lock);
    mark = arena->grown;
  }
  if (gc->barrier.on && seg_of_addr(&seg, arena, addr)) {
    /* Ours.  If another thread has already lowered the barrier (or the
     * collector has since scanned the segment or freed its protection),
     * the access just runs again. */
    handled = true;
    if ((seg->shield.sm & PROT_DENY_READ) != 0) {
      /* The read barrier.  Inside the shield the collector itself touched
       * a segment it did not expose: a defect, so the fault stands. */
      if (held && shield_is_inside(&gc->shield)) {
        handled = false;
      } else {
        ++gc->barrier.read_hits;
        trace_access(arena, seg);
      }
      /* A store then faults again if the write barrier is up. */
    } else if (is_write && (seg->shield.sm & PROT_DENY_WRITE) != 0) {
      ++gc->barrier.hits;
      seg->wb_defer = BARRIER_DEFER_HIT;
      seg_set_summary(seg, ZONE_SET_UNIV);      /* lowers the barrier */
      AVER((seg->shield.pm & PROT_DENY_WRITE) == 0);
    }
  }
  if (!held) {
    /* As arena_leave: a collection this fault ran may have grown the
     * arena for a segment it was then refused. */
    if (arena->grown != mark)
      arena_release_grown(arena, mark);
    lock_release(arena->lock);
  }
  return handled;
}
#endif

void barrier_init(GC gc)
{
  gc->barrier.on = false;
  gc->barrier.registered = false;
  gc->barrier.reading = TRACE_SET_EMPTY;
  gc->barrier.hits = 0;
  gc->barrier.read_hits = 0;
  gc->barrier.raises = 0;
  gc->barrier.skips = 0;
  gc->barrier.guarded = 0;
  /* Relaxed: before the hook is registered, which publishes them. */
  atomic_store_explicit(&gc->barrier.lo, ~(Word)0, memory_order_relaxed);
  atomic_store_explicit(&gc->barrier.hi, 0, memory_order_relaxed);
  if (!barrier_wanted(gc->arena))
    return;
#if defined(BARRIER_HARDWARE)
  /* MPS_RES_LIMIT (every registration taken by other arenas) or a system
   * that refuses the handler: this arena goes without. */
  if (fault_register(&gc->barrier.reg, barrier_fault, gc) == MPS_RES_OK)
    gc->barrier.on = gc->barrier.registered = true;
#endif
}

void barrier_finish(GC gc)
{
  AVER(ring_is_single(&gc->seg_ring));     /* nothing left to protect */
  gc->barrier.on = false;
  if (!gc->barrier.registered)
    return;
#if defined(BARRIER_HARDWARE)
  gc->barrier.registered = false;
  lock_release(gc->arena->lock);
  fault_unregister(&gc->barrier.reg);
  lock_claim(gc->arena->lock);
#endif
}

/* Raise or lower `mode` on seg inside the shield, entering it for the
 * purpose when the caller is outside (a buffer fill, a hit). */
static void barrier_set(Seg seg, ProtMode mode, bool raise)
{
  GC gc = seg->arena->gc;
  Shield shield = &gc->shield;
  bool entered = !shield_is_inside(shield);
  if (entered)
    shield_enter(shield);
  if (raise) {
    barrier_s *barrier = &gc->barrier;
    /* Relaxed loads: only this thread, under the arena lock, stores. */
    if (addr_word(seg->base) < atomic_load_explicit(&barrier->lo, memory_order_relaxed))
      atomic_store_explicit(&barrier->lo, addr_word(seg->base), memory_order_seq_cst);
    if (addr_word(seg->limit) > atomic_load_explicit(&barrier->hi, memory_order_relaxed))
      atomic_store_explicit(&barrier->hi, addr_word(seg->limit), memory_order_seq_cst);
    shield_raise(shield, &seg->shield, mode);
    if (mode == PROT_DENY_WRITE) {
      ++barrier->raises;
      barrier->guarded += seg_size(seg);
    }
  } else {
    shield_lower(shield, &seg->shield, mode);
    if (mode == PROT_DENY_WRITE)
      gc->barrier.guarded -= seg_size(seg);
  }
  if (entered)
    shield_leave(shield);
}

/* The write barrier's rule of barrier.h, apart from the summary itself. */
static bool barrier_may_guard(Seg seg)
{
  return seg->arena->gc->barrier.on && seg->rank_set != RANK_SET_EMPTY
         && seg->buffer == NULL;
}

Word barrier_summary(Seg seg, Word summary)
{
  if (seg->rank_set == RANK_SET_EMPTY)
    return ZONE_SET_EMPTY;
  return barrier_may_guard(seg) ? summary : ZONE_SET_UNIV;
}

bool barrier_wants_read(Seg seg)
{
  GC gc = seg->arena->gc;
  return gc->barrier.on && (seg->grey & gc->barrier.reading) != TRACE_SET_EMPTY;
}

void barrier_update(Seg seg)
{
  bool want = barrier_may_guard(seg) && seg->summary != ZONE_SET_UNIV;
  bool has = (seg->shield.sm & PROT_DENY_WRITE) != 0;
  if (want != has)
    barrier_set(seg, PROT_DENY_WRITE, want);
  want = barrier_wants_read(seg);
  has = (seg->shield.sm & PROT_DENY_READ) != 0;
  if (want != has)
    barrier_set(seg, PROT_DENY_READ, want);
}

void barrier_note_scan(Seg seg, bool interesting)
{
  if (interesting)
    seg->wb_defer = BARRIER_DEFER_DELAY;
  else if (seg->wb_defer > 0)
    --seg->wb_defer;
}

bool barrier_may_keep(Seg seg)
{
  return seg->wb_defer == 0;
}

void barrier_disable(GC gc)
{
  Ring node, next;
  /* Every read barrier first, without checks between: a segment checked
   * on the way would still be protected for a trace no longer reading. */
  gc->barrier.reading = TRACE_SET_EMPTY;
  RING_FOR(node, &gc->seg_ring, next)
    barrier_update(PARENT(seg_s, gc_ring, node));
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if (seg->rank_set != RANK_SET_EMPTY)
      seg_set_summary(seg, ZONE_SET_UNIV);   /* lowers the write barrier */
  }
  /* Only now, so that each segment met the rules above while it was
   * lowered.  The registration stays until barrier_finish. */
  gc->barrier.on = false;
}
