/* ld.c: location dependency (see ld.h; manual/topic/location.rst;
 * design/arena.txt on the epoch and the history of moved objects).
 *
 * The arena keeps an epoch, counted up at the flip of every trace that
 * condemned segments whose objects may move, or that rewrites references
 * (a transform, whose zones all count as moved), and a history: slot
 * e % LD_HISTORY_LENGTH holds the zones condemned (in moving segments)
 * at every flip since epoch e, for the recent epochs; prehistory holds
 * the zones of every such flip ever.  A client's mps_ld_s keeps
 *   _epoch  the arena epoch read at mps_ld_reset (LD_EPOCH_NONE if the
 *           collector state could not be made: then every added
 *           dependency is reported stale);
 *   _rs     the zones of the addresses added since (a ZoneSet).
 * It is stale if its zones meet the zones moved since its epoch.  The
 * address passed to mps_ld_isstale is not used: the client passes the
 * block's current address, while what matters is where it was when it
 * was added, which only _rs remembers.
 *
 * Why this never says "fresh" after a block moved: the block's zone when
 * it was added is in _rs.  The epoch is fixed at reset, before the add,
 * so the flip of the trace that moved the block came after _epoch; that
 * flip found the block's segment white and put its zones into the slot
 * of every recent epoch and into prehistory before publishing its new
 * epoch.  False "stale" comes from sharing zones: some other block in one
 * of the same zones was condemned in a moving segment.
 *
 * Concurrency.  The writer is ld_trace_flip, with the arena lock held.
 * mps_ld_add, mps_ld_isstale and mps_ld_isstale_any take no lock: they
 * read the epoch, one slot and perhaps prehistory (orders at each access).
 * The slot of an old epoch is reused for a new epoch; a reader that read
 * the slot while or after it was reused learns so by reading the epoch
 * again afterwards, and then uses prehistory, which only grows.
 * mps_ld_reset claims the arena lock: it is the one place where the
 * dependency learns its arena's collector state, which then exists for
 * as long as the arena does, so the unlocked readers can follow
 * arena->gc (ordered after its creation by the lock and by whatever
 * handed the reset dependency to them, since reset is not thread-safe
 * with respect to the other functions).  The client's two words are read
 * and written as atomics, relaxed: add and isstale may run at once on
 * one dependency (location.rst), and neither needs more than the value.
 *
 * Invariants (ld_history_check):
 *   1. the slot of the current epoch is empty (nothing moved since);
 *   2. every slot is a subset of prehistory;
 *   3. a slot of an older epoch contains the slot of every newer one
 *      (a move since a newer epoch is also a move since an older one).
 */
#include "ld.h"
#include "gc.h"
#include "seg.h"
#include "trace.h"
#include "../pool/pool.h"

/* The epoch of a dependency reset when its arena had no collector state
 * and none could be made (out of memory): judged stale once added to. */
#define LD_EPOCH_NONE (~(Word)0)

_Static_assert(sizeof(_Atomic Word) == sizeof(mps_word_t),
               "the words of mps_ld_s are accessed as atomic Words");

bool ld_history_check(ld_history_s *history)
{
  CHECKS(LD_HISTORY_SIG, history);
#if CHECK_LEVEL >= 2
  {
    /* Read relaxed: the check runs with the arena lock held, so no flip
     * changes the words meanwhile. */
    Word epoch = atomic_load_explicit(&history->epoch, memory_order_relaxed);
    Word pre = atomic_load_explicit(&history->prehistory, memory_order_relaxed);
    Index i;
    CHECKL(atomic_load_explicit(&history->history[epoch % LD_HISTORY_LENGTH],
                                memory_order_relaxed) == ZONE_SET_EMPTY);   /* 1 */
    for (i = 0; i + 1 < LD_HISTORY_LENGTH && i < epoch; ++i) {
      Word newer = atomic_load_explicit(&history->history[(epoch - i) % LD_HISTORY_LENGTH],
                                        memory_order_relaxed);
      Word older = atomic_load_explicit(&history->history[(epoch - i - 1) % LD_HISTORY_LENGTH],
                                        memory_order_relaxed);
      CHECKL((older & ~pre) == 0);                                          /* 2 */
      CHECKL((newer & ~older) == 0);                                        /* 3 */
    }
  }
#endif
  return true;
}

void ld_history_init(ld_history_s *history)
{
  Index i;
  AVER(history != NULL);
  /* Relaxed: the collector state is not yet visible to any other thread
   * (gc_get publishes it under the arena lock). */
  atomic_store_explicit(&history->epoch, 0, memory_order_relaxed);
  atomic_store_explicit(&history->prehistory, ZONE_SET_EMPTY, memory_order_relaxed);
  for (i = 0; i < LD_HISTORY_LENGTH; ++i)
    atomic_store_explicit(&history->history[i], ZONE_SET_EMPTY, memory_order_relaxed);
  history->sig = LD_HISTORY_SIG;
  AVERT(ld_history, history);
}

void ld_history_finish(ld_history_s *history)
{
  AVERT(ld_history, history);
  history->sig = SIG_INVALID;
}

/* Whether the objects of a condemned segment may be moved by the trace:
 * its segment class says (AMC's does; the classes that preserve in place
 * do not).  Wrongly saying "may move" would only cost false staleness. */
static bool ld_seg_may_move(Seg seg)
{
  return seg->klass->moves;
}

/* arena.rst: the flips in which objects might have moved, which is what
 * the epoch counts; collections of non-moving pools alone count nothing.
 * (arena->collections counts every collection, for the library's own
 * use.) */
mps_word_t mps_collections(mps_arena_t arena)
{
  Word epoch = 0;
  arena_enter(arena);
  AVERT(arena, arena);
  /* Relaxed: flips write the epoch with the arena lock held, as here. */
  if (arena->gc != NULL)
    epoch = atomic_load_explicit(&arena->gc->ld_history.epoch, memory_order_relaxed);
  arena_leave(arena);
  return (mps_word_t)epoch;
}

void ld_trace_flip(struct trace_s *trace)
{
  Arena arena;
  GC gc;
  ld_history_s *history;
  TraceSet ts;
  Ring node, next;
  ZoneSet moved = ZONE_SET_EMPTY;
  Word epoch;
  Index i;

  AVERT(trace, trace);
  arena = trace->arena;
  gc = arena->gc;
  history = &gc->ld_history;
  AVERT(ld_history, history);
  ts = TRACE_SET_SINGLE(trace->ti);
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if ((seg->white & ts) != 0 && ld_seg_may_move(seg))
      moved |= zone_set_of_range(gc->zone_shift, seg->base, seg->limit);
  }
  /* A rewriting trace (a transform) replaces references to condemned
   * objects by references elsewhere, which to a client hashing addresses
   * is a move, whatever the pool. */
  if (trace->rewrite != NULL)
    moved |= trace->white;
  if (moved == ZONE_SET_EMPTY)
    return;   /* nothing can move: no dependency becomes stale */

  /* Relaxed: only flips write the epoch, and they hold the arena lock. */
  epoch = atomic_load_explicit(&history->epoch, memory_order_relaxed);
  /* Everything below is published by the release store of the new epoch
   * at the end: a reader that sees the new epoch (acquire) sees these.
   * Relaxed here for prehistory and the old epochs' slots. */
  atomic_fetch_or_explicit(&history->prehistory, moved, memory_order_relaxed);
  for (i = 0; i + 1 < LD_HISTORY_LENGTH; ++i)
    atomic_fetch_or_explicit(&history->history[(epoch - i) % LD_HISTORY_LENGTH], moved,
                             memory_order_relaxed);
  /* The slot of the oldest epoch is reused for the new one.  Release: a
   * reader that read this store (or a later change of the slot) must then
   * see an epoch at least the current one when it reads the epoch again,
   * and so know the slot no longer speaks for its own epoch.  Its old
   * contents are in prehistory already (invariant 2). */
  atomic_store_explicit(&history->history[(epoch + 1) % LD_HISTORY_LENGTH], ZONE_SET_EMPTY,
                        memory_order_release);
  /* Release: publishes the slots and prehistory above to readers that
   * acquire the new epoch. */
  atomic_store_explicit(&history->epoch, epoch + 1, memory_order_release);
  AVERT(ld_history, history);
}

/* The client's words as atomics (the _Static_assert above). */
static _Atomic Word *ld_epoch_word(mps_ld_t ld)
{
  return (_Atomic Word *)(void *)&ld->_epoch;
}

static _Atomic Word *ld_rs_word(mps_ld_t ld)
{
  return (_Atomic Word *)(void *)&ld->_rs;
}

/* Whether zones `rs`, added since epoch `ld_epoch`, may have moved. */
static bool ld_zones_moved(ld_history_s *history, Word ld_epoch, ZoneSet rs)
{
  Word now, again, slot;
  if (rs == ZONE_SET_EMPTY)
    return false;
  if (ld_epoch == LD_EPOCH_NONE)
    return true;
  /* Acquire: pairs with the flip's release store of the epoch, so every
   * slot and prehistory update of the flips up to `now` is visible. */
  now = atomic_load_explicit(&history->epoch, memory_order_acquire);
  if (now == ld_epoch)
    return false;   /* no flip since the reset: nothing moved */
  /* The slot of ld_epoch is valid while the epoch is less than
   * ld_epoch + LD_HISTORY_LENGTH - 1: the flip that reuses it runs while
   * the epoch is exactly that.  (A newer ld_epoch than `now` would mean
   * a misused dependency: unsigned, it falls to prehistory.) */
  if (now - ld_epoch < LD_HISTORY_LENGTH - 1) {
    /* Acquire: pairs with the release store that empties a reused slot
     * (see ld_trace_flip), so the epoch read next shows the reuse. */
    slot = atomic_load_explicit(&history->history[ld_epoch % LD_HISTORY_LENGTH],
                                memory_order_acquire);
    /* Acquire for the same reason as `now`. */
    again = atomic_load_explicit(&history->epoch, memory_order_acquire);
    if (again - ld_epoch < LD_HISTORY_LENGTH - 1)
      return (slot & rs) != 0;
  }
  /* Acquire: prehistory only grows, and the epoch read above already
   * ordered the flips it counted; this load sees at least their moves. */
  return (atomic_load_explicit(&history->prehistory, memory_order_acquire) & rs) != 0;
}

static void ld_check_arena(mps_arena_t arena)
{
  AVER(arena != NULL && arena->sig == ARENA_SIG);
}

void mps_ld_reset(mps_ld_t ld, mps_arena_t arena)
{
  GC gc;
  Word epoch = LD_EPOCH_NONE;
  AVER(ld != NULL);
  if (ld == NULL)
    return;   /* reported; there is nothing to reset */
  ld_check_arena(arena);
  arena_enter(arena);
  if (gc_get(&gc, arena) == MPS_RES_OK)
    /* Relaxed: the arena lock orders this after every flip so far. */
    epoch = atomic_load_explicit(&gc->ld_history.epoch, memory_order_relaxed);
  /* Relaxed: reset is not thread-safe with the other functions on the
   * same dependency (location.rst); the client orders them. */
  atomic_store_explicit(ld_epoch_word(ld), epoch, memory_order_relaxed);
  atomic_store_explicit(ld_rs_word(ld), ZONE_SET_EMPTY, memory_order_relaxed);
  arena_leave(arena);
}

void mps_ld_add(mps_ld_t ld, mps_arena_t arena, mps_addr_t addr)
{
  GC gc;
  Word epoch;
  ZoneSet zone;
  AVER(ld != NULL);
  if (ld == NULL)
    return;   /* reported; there is nothing to add to */
  ld_check_arena(arena);
  /* Relaxed: add is not thread-safe with add, merge or reset on the same
   * dependency, so only isstale races with it, and it needs no order. */
  epoch = atomic_load_explicit(ld_epoch_word(ld), memory_order_relaxed);
  gc = gc_of(arena);
  if (epoch == LD_EPOCH_NONE || gc == NULL)
    zone = ZONE_SET_UNIV;   /* no history to judge it by */
  else
    zone = (ZoneSet)1 << zone_of_addr(gc->zone_shift, (Addr)addr);
  atomic_fetch_or_explicit(ld_rs_word(ld), zone, memory_order_relaxed);
}

void mps_ld_merge(mps_ld_t dest_ld, mps_arena_t arena, mps_ld_t src_ld)
{
  Word dest_epoch, src_epoch;
  ZoneSet dest_rs, src_rs;
  AVER(dest_ld != NULL);
  AVER(src_ld != NULL);
  if (dest_ld == NULL || src_ld == NULL)
    return;   /* reported */
  ld_check_arena(arena);
  /* Relaxed: merge has add's thread-safety (location.rst). */
  src_rs = atomic_load_explicit(ld_rs_word(src_ld), memory_order_relaxed);
  if (src_rs == ZONE_SET_EMPTY)
    return;   /* nothing was added to the source */
  src_epoch = atomic_load_explicit(ld_epoch_word(src_ld), memory_order_relaxed);
  dest_epoch = atomic_load_explicit(ld_epoch_word(dest_ld), memory_order_relaxed);
  dest_rs = atomic_load_explicit(ld_rs_word(dest_ld), memory_order_relaxed);
  /* The older epoch, which judges both sets of zones since the earlier of
   * the two resets.  The epoch counts up from 0 and never wraps in
   * practice (one step per collection); LD_EPOCH_NONE wins, as it must. */
  if (dest_rs == ZONE_SET_EMPTY)
    dest_epoch = src_epoch;   /* nothing of its own to keep fresh */
  else if (src_epoch == LD_EPOCH_NONE || dest_epoch == LD_EPOCH_NONE)
    dest_epoch = LD_EPOCH_NONE;
  else if (src_epoch < dest_epoch)
    dest_epoch = src_epoch;
  /* The epoch first, then the zones: an isstale between the two stores
   * sees the older epoch with fewer zones, which is still a correct (if
   * earlier) answer for what had been added. */
  atomic_store_explicit(ld_epoch_word(dest_ld), dest_epoch, memory_order_relaxed);
  atomic_fetch_or_explicit(ld_rs_word(dest_ld), src_rs, memory_order_relaxed);
}

/* The staleness test of both public functions.  The arena's collector
 * state is read without the lock: see the opening comment. */
static bool ld_is_stale(mps_ld_t ld, mps_arena_t arena)
{
  Word epoch;
  ZoneSet rs;
  GC gc;
  AVER(ld != NULL);
  if (ld == NULL)
    return true;   /* reported; "stale" is never a wrong answer */
  ld_check_arena(arena);
  /* Relaxed: see mps_ld_add. */
  rs = atomic_load_explicit(ld_rs_word(ld), memory_order_relaxed);
  epoch = atomic_load_explicit(ld_epoch_word(ld), memory_order_relaxed);
  if (rs == ZONE_SET_EMPTY)
    return false;
  gc = gc_of(arena);
  if (gc == NULL)
    return epoch == LD_EPOCH_NONE;   /* never collected: nothing moved */
  return ld_zones_moved(&gc->ld_history, epoch, rs);
}

mps_bool_t mps_ld_isstale(mps_ld_t ld, mps_arena_t arena, mps_addr_t addr)
{
  /* `addr` is the block's address now; where it was when added is what
   * counts, and only the dependency's zones remember that. */
  UNUSED(addr);
  return ld_is_stale(ld, arena);
}

mps_bool_t mps_ld_isstale_any(mps_ld_t ld, mps_arena_t arena)
{
  return ld_is_stale(ld, arena);
}
