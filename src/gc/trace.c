/* trace.c: the tracer and the arena's collection states (see trace.h;
 * design/trace.txt, scan.txt, fix.txt, collection.txt, strategy.txt;
 * manual/topic/collection.rst, arena.rst).
 *
 * A trace is a state machine (trace.h) advanced by trace_step, with the
 * mutator held suspended by the shield during every step:
 *
 *   INIT -> UNFLIPPED  condemn: each chosen segment's class whitens it (or
 *                      declines); the white zone set is the union of the
 *                      zones of the white segments; every non-white
 *                      segment whose summary meets them becomes grey
 *                      (the write barrier keeps summaries true:
 *                      barrier.h).
 *   UNFLIPPED -> FLIPPED  trap every buffer attached to a segment (its
 *                      pending reserve will fail at commit); check that a
 *                      thread with unscanned references is not the one
 *                      collecting.
 *   FLIPPED            rank bands in order: for each rank, scan the roots
 *                      of that rank, then the grey segments whose lowest
 *                      rank is at most that rank, lowest first, until
 *                      none is left.  So every ambiguous fix (roots
 *                      first) precedes every exact one, and every exact
 *                      one precedes every weak one, except that a segment
 *                      of a lower rank made grey late is scanned at its
 *                      own rank as soon as it appears.
 *   RECLAIM            the class of every white segment reclaims it; the
 *                      trace's colours are cleared from every segment.
 *   FINISHED           the gc message is posted, arena->collections
 *                      counts the trace, and it is freed.
 *
 * Incremental collection (design/collection.txt, design/trace.txt).  A
 * trace runs incrementally when trace_may_increment says the read barrier
 * can guard it; otherwise (mps_arena_collect, transforms, client arenas,
 * pools whose classes are not incremental, weak roots) it runs to the end
 * within one arena entry.  An incremental trace gives the mutator back
 * once the roots of the ambiguous and exact bands are scanned: from then
 * on every reference the mutator holds was fixed, and it can get others
 * only by loading them from segments, which are either black (scanned, or
 * never able to refer to a white zone) or grey and read-protected.  Before
 * it runs, trace_let_mutator_run raises the read barrier on the grey
 * segments, those with a buffer included (barrier.h); from then on
 * seg_set_grey keeps the barrier's rule.  The rest of the trace is done
 * in bounded amounts (trace_work): a quantum of scanning per allocation
 * poll (TRACE_QUANTUM, cut short by the arena's pause time), quanta for
 * the interval of mps_arena_step, and the one segment a read barrier
 * fault touched (trace_access).  A clamped arena only takes faults.  mps_arena_park, a collect, formatted walks and the
 * destruction of an automatic pool finish the trace first (trace_park).
 * The mutator allocates black: a segment made after the condemn is
 * neither white nor grey, and pools never fill a buffer from a white or
 * grey segment (seg.h, incremental).
 *
 * The arena states: unclamped (collections start from the allocation
 * slow paths when chain_due finds a generation over capacity and the
 * nursery is not tiny beside the older generations: trace_due_is_ripe,
 * or when the top generation has grown enough for a collection of the
 * world: chain_top_due; and a trace in progress advances there), clamped
 * (none start or advance by themselves: only steps and faults do work),
 * parked (clamped, and no trace in progress), postmortem.
 *
 * Invariants (trace_check, scan_state_check):
 *   1. a trace is gc->traces[ti] and ti is in gc->busy_traces;
 *   2. white is empty before the trace is UNFLIPPED;
 *   3. a scan state for a trace scans for that trace only, and its white
 *      zone set is the trace's (and the public _w is the same set);
 *   4. the public _zs is the collector's zone shift.
 */
#include "trace.h"
#include "chain.h"
#include "finalize.h"
#include "message.h"
#include "pattern.h"
#include "root.h"
#include "seg.h"
#include "../pool/buffer.h"
#include "../base/event.h"

/* A segment scan that fails (a pool short of memory that has not yet
 * switched to preserving in place, or a client scan method's error) is
 * tried again this many times before the failure is reported. */
#define TRACE_SCAN_TRIES 4

bool trace_check(Trace trace)
{
  GC gc;
  CHECKS(TRACE_SIG, trace);
  CHECKU(ARENA_SIG, trace->arena);
  gc = trace->arena->gc;
  CHECKL(gc != NULL);
  CHECKL(trace->ti < TRACE_LIMIT);
  CHECKL(gc->traces[trace->ti] == trace);                                     /* 1 */
  CHECKL(trace == &gc->trace_room[trace->ti]);
  CHECKL((gc->busy_traces & TRACE_SET_SINGLE(trace->ti)) != 0);
  CHECKL(trace->state <= TRACE_FINISHED);
  CHECKL(trace->state != TRACE_INIT || trace->white == ZONE_SET_EMPTY);        /* 2 */
  CHECKL(trace->band < RANK_LIMIT);
  return true;
}

bool scan_state_check(ScanState ss)
{
  CHECKS(SCAN_STATE_SIG, ss);
  CHECKU(ARENA_SIG, ss->arena);
  CHECKL(ss->rank < RANK_LIMIT);
  if (ss->trace != NULL) {                                                    /* 3 */
    CHECKU(TRACE_SIG, ss->trace);
    CHECKL(ss->traces == TRACE_SET_SINGLE(ss->trace->ti));
    CHECKL(ss->white == ss->trace->white);
    CHECKL(ss->ss_s._w == ss->white);
  }
  if (ss->arena->gc != NULL)                                                  /* 4 */
    CHECKL(ss->ss_s._zs == ss->arena->gc->zone_shift);
  return true;
}

/* ---- Scan states and fixing ------------------------------------------ */

/* MPS_FIX2 lands here: the reference is in a white zone. */
static mps_res_t trace_fix_method(mps_ss_t mps_ss, mps_addr_t *ref_io)
{
  ScanState ss = scan_state_of(mps_ss);
  AVER_CRITICAL(ss->sig == SCAN_STATE_SIG);
  AVER_CRITICAL(ref_io != NULL);
  return trace_fix(ss, (Addr *)(void *)ref_io);
}

void scan_state_init(ScanState ss, Arena arena, Trace trace, Rank rank)
{
  GC gc;
  AVER(ss != NULL);
  AVERT(arena, arena);
  AVER(rank < RANK_LIMIT);
  gc = gc_of(arena);
  ss->ss_s._fix = trace_fix_method;
  /* Without collector state there is nothing white: any shift will do. */
  ss->ss_s._zs = gc != NULL ? gc->zone_shift : 0;
  ss->ss_s._ufs = ZONE_SET_EMPTY;
  ss->arena = arena;
  ss->trace = trace;
  ss->rewrite = NULL;
  ss->rewrite_closure = NULL;
  if (trace != NULL) {
    AVERT(trace, trace);
    ss->traces = TRACE_SET_SINGLE(trace->ti);
    ss->white = trace->white;
    if (trace->rewrite_start != NULL) {
      /* The first scan state of a rewriting trace: the condemn is over
       * and nothing is fixed yet, so the rewriter can still decline. */
      TraceRewriteStart start = trace->rewrite_start;
      AVER(trace->state == TRACE_FLIPPED);
      trace->rewrite_start = NULL;
      if (!start(trace->rewrite_closure, trace))
        trace->rewrite = NULL;
    }
    /* An ambiguous reference cannot be changed, so it is never offered. */
    if (rank != RANK_AMBIG) {
      ss->rewrite = trace->rewrite;
      ss->rewrite_closure = trace->rewrite_closure;
    }
  } else {
    ss->traces = TRACE_SET_EMPTY;
    ss->white = ZONE_SET_EMPTY;
  }
  ss->ss_s._w = ss->white;
  ss->rank = rank;
  ss->fixed_summary = ZONE_SET_EMPTY;
  ss->was_marked = false;
  ss->fixes = 0;
  ss->sig = SCAN_STATE_SIG;
}

void scan_state_finish(ScanState ss)
{
  AVERT(scan_state, ss);
  if (ss->trace != NULL)
    ss->trace->fixes += ss->fixes;
  ss->sig = SIG_INVALID;
}

/* The zones the scanned references point into after fixing: those seen
 * outside the white zones are unchanged; the fix added the new zones of
 * the white ones it saw. */
ZoneSet scan_state_summary(ScanState ss)
{
  return ((ZoneSet)ss->ss_s._ufs & ~ss->white) | ss->fixed_summary;
}

Res trace_fix(ScanState ss, Addr *ref_io)
{
  Seg seg;
  Res res;
  AVER_CRITICAL(ss->sig == SCAN_STATE_SIG);
  ++ss->fixes;
  ss->was_marked = true;
  if (ss->rewrite != NULL)
    ss->rewrite(ss->rewrite_closure, ref_io);
  if (!seg_of_addr(&seg, ss->arena, *ref_io) || (seg->white & ss->traces) == 0) {
    /* Not into the condemned set: left alone.  Its zone is white,
     * though, so record it for the summary. */
    if (*ref_io != NULL)
      ss->fixed_summary |= (ZoneSet)1 << zone_of_addr((Shift)ss->ss_s._zs, *ref_io);
    return MPS_RES_OK;
  }
  AVER_CRITICAL(seg->klass->fix != NULL);
  ss->was_marked = false;
  res = seg->klass->fix(seg, ss, ref_io);
  if (res == MPS_RES_OK && *ref_io != NULL)
    ss->fixed_summary |= (ZoneSet)1 << zone_of_addr((Shift)ss->ss_s._zs, *ref_io);
  return res;
}

mps_res_t mps_fix(mps_ss_t mps_ss, mps_addr_t *ref_io)
{
  mps_res_t res;
  AVER(mps_ss != NULL && ref_io != NULL);
  MPS_SCAN_BEGIN(mps_ss) {
    res = MPS_FIX12(mps_ss, ref_io);
  } MPS_SCAN_END(mps_ss);
  return res;
}

mps_rank_t mps_rank_ambig(void) { return RANK_AMBIG; }
mps_rank_t mps_rank_exact(void) { return RANK_EXACT; }
mps_rank_t mps_rank_weak(void) { return RANK_WEAK; }

void trace_note_forwarded(Trace trace, Size size)
{
  AVERT(trace, trace);
  trace->forwarded += size;
  ++trace->copies;
}

void trace_note_preserved(Trace trace, Size size)
{
  AVERT(trace, trace);
  trace->preserved_in_place += size;
}

Trace trace_current(Arena arena)
{
  GC gc = gc_of(arena);
  if (gc == NULL || gc->busy_traces == TRACE_SET_EMPTY)
    return NULL;
  return gc->traces[0];
}

/* ---- Creating and destroying traces ----------------------------------- */

/* Make sure the next trace's two messages are ready: both, or neither
 * (design/message-gc.txt .req.match). */
static void trace_messages_prepare(GC gc)
{
  Arena arena = gc->arena;
  if (gc->next_start_message == NULL
      && message_create(&gc->next_start_message, arena, MESSAGE_TYPE_GC_START) != MPS_RES_OK)
    gc->next_start_message = NULL;
  if (gc->next_end_message == NULL
      && message_create(&gc->next_end_message, arena, MESSAGE_TYPE_GC) != MPS_RES_OK)
    gc->next_end_message = NULL;
  if (gc->next_start_message == NULL && gc->next_end_message != NULL) {
    message_destroy(gc->next_end_message);
    gc->next_end_message = NULL;
  } else if (gc->next_end_message == NULL && gc->next_start_message != NULL) {
    message_destroy(gc->next_start_message);
    gc->next_start_message = NULL;
  }
}

/* Make a trace in the collector's room for it.  Nothing here needs
 * memory, once the collector's state exists: the messages were made
 * after the last trace (or are made now, if memory allows; if not, this
 * trace posts none). */
static Res trace_create(Trace *trace_o, Arena arena, const char *why,
                        TraceRewriteStart rewrite_start, TraceRewrite rewrite,
                        void *rewrite_closure)
{
  GC gc;
  Trace trace;
  TraceId ti;
  Res res;

  res = gc_get(&gc, arena);
  if (res != MPS_RES_OK)
    return res;
  /* A protection call refused since the last trace ended (by a barrier
   * hit in the fault hook, say) left stores unseen by the barrier: the
   * summaries this trace would skip segments by cannot be trusted. */
  if (gc_prot_failed(gc) && gc->barrier.on)
    barrier_disable(gc);
  for (ti = 0; ti < TRACE_LIMIT; ++ti)
    if (gc->traces[ti] == NULL)
      break;
  AVER(ti < TRACE_LIMIT);   /* one at a time: callers check busy_traces */
  if (ti == TRACE_LIMIT)
    return MPS_RES_LIMIT;
  trace_messages_prepare(gc);
  if (gc->next_start_message == NULL)
    ++gc->messages_dropped;

  trace = &gc->trace_room[ti];
  trace->arena = arena;
  trace->ti = ti;
  trace->state = TRACE_INIT;
  trace->why = why;
  trace->white = ZONE_SET_EMPTY;
  trace->band = RANK_AMBIG;
  trace->band_rooted = false;
  trace->how = TRACE_CONDEMN_ALL;
  trace->want_incremental = false;
  trace->incremental = false;
  trace->work = 0;
  trace->step_left = (Size)-1;
  trace->condemned = 0;
  trace->not_condemned = 0;
  trace->preserved_in_place = 0;
  trace->forwarded = 0;
  trace->segs_scanned = 0;
  trace->roots_scanned = 0;
  trace->fixes = 0;
  trace->copies = 0;
  trace->nails = 0;
  trace->start_message = gc->next_start_message;
  trace->end_message = gc->next_end_message;
  gc->next_start_message = NULL;
  gc->next_end_message = NULL;
  trace->rewrite_start = rewrite_start;
  trace->rewrite = rewrite;
  trace->rewrite_closure = rewrite_closure;
  gc->traces[ti] = trace;
  gc->busy_traces |= TRACE_SET_SINGLE(ti);
  trace->sig = TRACE_SIG;
  AVERT(trace, trace);
  *trace_o = trace;
  return MPS_RES_OK;
}

static void trace_destroy(Trace trace)
{
  Arena arena = trace->arena;
  GC gc = arena->gc;
  AVERT(trace, trace);
  AVER(trace->state == TRACE_FINISHED);
  trace->rewrite = NULL;
  if (trace->start_message != NULL)
    message_destroy(trace->start_message);
  if (trace->end_message != NULL)
    message_destroy(trace->end_message);
  trace->sig = SIG_INVALID;
  gc->traces[trace->ti] = NULL;
  gc->busy_traces &= ~TRACE_SET_SINGLE(trace->ti);
  /* Now, when the collection has probably freed some memory. */
  trace_messages_prepare(gc);
}

/* ---- Condemning -------------------------------------------------------- */

/* How many chains one collection considers (the rest wait for a later
 * one: chains beyond this are rare, and their due generations stay
 * due). */
#define TRACE_DUE_CHAINS 32

/* A segment a trace could condemn: its class can fix references to it. */
static bool trace_seg_is_collectable(Seg seg)
{
  return seg->klass->fix != NULL;
}

/* Whether generation `gen` of `chain` is in `due`, the bit sets of
 * chain_due recorded per chain in the order of gc->chain_ring. */
static bool trace_seg_is_due(Seg seg, Word due[], GC gc)
{
  Ring node, next;
  Index i = 0;
  if (seg->gen == NULL)
    return false;
  RING_FOR(node, &gc->chain_ring, next) {
    if (i == TRACE_DUE_CHAINS)
      break;
    if (PARENT(mps_chain_s, gc_ring, node) == seg->gen->chain)
      return (due[i] & ((Word)1 << seg->gen->gen)) != 0;
    ++i;
  }
  return false;
}

/* The chains' due generations, in the order of gc->chain_ring, at most
 * TRACE_DUE_CHAINS of them (the rest wait for a later collection). */
static Count trace_due_chains(Word due[TRACE_DUE_CHAINS], GC gc, bool all)
{
  Ring node, next;
  Count n = 0, any = 0;
  RING_FOR(node, &gc->chain_ring, next) {
    Chain chain = PARENT(mps_chain_s, gc_ring, node);
    if (n == TRACE_DUE_CHAINS)
      break;
    due[n] = all ? (((Word)1 << chain->gen_count) - 1) : chain_due(chain);
    if (due[n] != 0)
      ++any;
    ++n;
  }
  return any;
}

static void trace_condemn(Trace trace, TraceCondemn how)
{
  Arena arena = trace->arena;
  GC gc = arena->gc;
  TraceSet ts = TRACE_SET_SINGLE(trace->ti);
  Word due[TRACE_DUE_CHAINS];
  Ring node, next;
  Index i;
  Res res;

  AVER(trace->state == TRACE_INIT);
  (void)trace_due_chains(due, gc, how == TRACE_CONDEMN_ALL);

  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if (!trace_seg_is_collectable(seg))
      continue;
    if (how == TRACE_CONDEMN_ALL || trace_seg_is_due(seg, due, gc)) {
      shield_expose(&gc->shield, &seg->shield);
      res = seg->klass->whiten(seg, trace, &trace->condemned);
      shield_cover(&gc->shield, &seg->shield);
      /* A class that cannot whiten a segment (no memory for its tables)
       * leaves it unchanged: it is then simply not condemned. */
      UNUSED(res);
    }
  }

  /* The new_size of each condemned generation starts again: in a full
   * collection every chain's, those past TRACE_DUE_CHAINS too, since all
   * their segments were condemned above. */
  if (how == TRACE_CONDEMN_ALL && gc->top_chain != NULL)
    chain_condemned(gc->top_chain, 1);
  i = 0;
  RING_FOR(node, &gc->chain_ring, next) {
    Chain chain = PARENT(mps_chain_s, gc_ring, node);
    if (i < TRACE_DUE_CHAINS)
      chain_condemned(chain, due[i]);
    else if (how == TRACE_CONDEMN_ALL)
      chain_condemned(chain, ((Word)1 << chain->gen_count) - 1);
    else
      break;
    ++i;
  }

  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if ((seg->white & ts) != 0)
      trace->white |= zone_set_of_range(gc->zone_shift, seg->base, seg->limit);
    else if (trace_seg_is_collectable(seg))
      trace->not_condemned += seg_size(seg);
  }
  /* Only a segment whose summary meets the condemned zones may refer to
   * a condemned object; the write barrier keeps summaries true
   * (barrier.h), and without it every summary is ZONE_SET_UNIV. */
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if ((seg->white & ts) == 0 && (seg->summary & trace->white) != 0)
      seg_set_grey(seg, seg->grey | ts);
    else if ((seg->white & ts) == 0 && seg->rank_set != RANK_SET_EMPTY)
      ++gc->barrier.skips;
  }
  trace->state = TRACE_UNFLIPPED;
}

/* ---- The flip ---------------------------------------------------------- */

/* A white segment with ambiguous references (an AMS allocation point of
 * ambiguous rank) is scanned only once an object in it is reached, which
 * may be by an exact reference, after other exact fixes have copied what
 * its ambiguous words point at: they would then point at the old copies.
 * So a trace that condemns such a segment moves nothing: before the first
 * fix, every white segment of a class that moves objects is pinned.  (An
 * ambiguous segment that is not white is grey from the condemn on if it
 * may refer to the white set, and is scanned in the ambiguous band, before
 * any exact fix.) */
static void trace_pin(Trace trace)
{
  GC gc = trace->arena->gc;
  TraceSet ts = TRACE_SET_SINGLE(trace->ti);
  scan_state_s ss;
  Ring node, next;
  bool ambiguous = false;
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if ((seg->white & ts) != 0 && (seg->rank_set & RANK_SET_SINGLE(RANK_AMBIG)) != 0) {
      ambiguous = true;
      break;
    }
  }
  if (!ambiguous)
    return;
  scan_state_init(&ss, trace->arena, trace, RANK_AMBIG);
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if ((seg->white & ts) != 0 && seg->klass->pin != NULL)
      seg->klass->pin(seg, &ss);
  }
  scan_state_finish(&ss);
}

static void trace_flip(Trace trace)
{
  Arena arena = trace->arena;
  GC gc = arena->gc;
  Ring node, next;

  AVER(trace->state == TRACE_UNFLIPPED);
  /* A thread that is not registered is not suspended and its stack is
   * not scanned: if it is the one collecting while other threads' stacks
   * are roots, its own references are invisible (thread.rst: register
   * every thread that touches the heap). */
  if (root_any_thread_root(arena) && !thr_current_is_registered(arena))
    check_fail(__FILE__, (unsigned)__LINE__,
               "collection by a thread not registered with the arena, while thread roots exist");

  /* Trap the allocation points: a reserve pending across the flip may
   * hold references the collector cannot see, so its commit must fail. */
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if (seg->buffer != NULL)
      buffer_invalidate(seg->buffer);
  }
  /* Before anything moves: location dependencies on what may move
   * become stale from the new epoch on. */
  ld_trace_flip(trace);
  trace->state = TRACE_FLIPPED;
  trace->band = RANK_AMBIG;
  trace->band_rooted = false;
  trace_pin(trace);
}

/* ---- Scanning ---------------------------------------------------------- */

static void trace_scan_roots(Trace trace, Rank rank)
{
  GC gc = trace->arena->gc;
  Ring node, next;
  RING_FOR(node, &gc->root_ring, next) {
    Root root = PARENT(mps_root_s, gc_ring, node);
    scan_state_s ss;
    Res res;
    unsigned tries;
    if (root_rank(root) != rank)
      continue;
    for (tries = 0; tries < TRACE_SCAN_TRIES; ++tries) {
      scan_state_init(&ss, trace->arena, trace, rank);
      res = root_scan(&ss, root);
      scan_state_finish(&ss);
      if (res == MPS_RES_OK)
        break;
    }
    if (res != MPS_RES_OK)
      check_fail(__FILE__, (unsigned)__LINE__, "root scan failed");
    ++trace->roots_scanned;
    gcevent_emit(gc, EVENT_CAT_REF, EVENT_SCAN_ROOT, 2, (Word[]){(Word)(uintptr_t)root, rank});
  }
  /* Finalization's references behave as roots: registrations at
   * RANK_FINAL, finalization messages' objects at RANK_EXACT. */
  finalize_scan(trace, rank);
}

/* The grey segment to scan next at `band`: one of the lowest rank not
 * above the band, or NULL. */
static Seg trace_find_grey(Trace trace, Rank *rank_o)
{
  GC gc = trace->arena->gc;
  Rank rank;
  for (rank = RANK_AMBIG; rank <= trace->band; ++rank) {
    if (!ring_is_single(&gc->grey_ring[rank])) {
      *rank_o = rank;
      return PARENT(seg_s, grey_ring, ring_next(&gc->grey_ring[rank]));
    }
  }
  return NULL;
}

static void trace_scan_seg(Trace trace, Seg seg, Rank rank)
{
  GC gc = trace->arena->gc;
  TraceSet ts = TRACE_SET_SINGLE(trace->ti);
  unsigned tries;
  Res res = MPS_RES_OK;

  for (tries = 0; tries < TRACE_SCAN_TRIES; ++tries) {
    scan_state_s ss;
    bool total = false;
    scan_state_init(&ss, trace->arena, trace, rank);
    shield_expose(&gc->shield, &seg->shield);
    res = seg->klass->scan(&total, seg, &ss);
    shield_cover(&gc->shield, &seg->shield);
    if (res == MPS_RES_OK) {
      /* A partial scan left some references as they were: they are still
       * within the old summary. */
      ZoneSet summary = scan_state_summary(&ss);
      if (!total)
        summary |= seg->summary;
      barrier_note_scan(seg, ((ZoneSet)ss.ss_s._ufs & ss.white) != 0);
      seg_set_summary(seg, barrier_may_keep(seg) ? summary : ZONE_SET_UNIV);
    }
    gcevent_emit(gc, EVENT_CAT_REF, EVENT_SCAN_SEG, 3,
                 (Word[]){(Word)(uintptr_t)seg, rank, ss.fixes});
    scan_state_finish(&ss);
    ++trace->segs_scanned;
    trace->work += seg_size(seg);
    if (res == MPS_RES_OK)
      return;
    if ((seg->grey & ts) == 0)
      return;   /* the class gave up on it and blackened it */
  }
  /* It would be scanned forever: report, and give up on it. */
  check_fail(__FILE__, (unsigned)__LINE__, "segment scan failed");
  seg_set_grey(seg, seg->grey & ~ts);
}

/* ---- Reclaiming -------------------------------------------------------- */

static void trace_reclaim(Trace trace)
{
  GC gc = trace->arena->gc;
  TraceSet ts = TRACE_SET_SINGLE(trace->ti);
  Ring node, next;
  Rank rank;

  AVER(trace->state == TRACE_RECLAIM);
  for (rank = RANK_AMBIG; rank < RANK_LIMIT; ++rank)
    AVER(ring_is_single(&gc->grey_ring[rank]));
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    /* The class may free the segment: it exposes what it touches. */
    if ((seg->white & ts) != 0)
      seg->klass->reclaim(seg, trace);
  }
  /* Whatever survived is no longer white (or nailed) for this trace,
   * whether or not its class said so. */
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if ((seg->white & ts) != 0)
      seg_set_white(seg, seg->white & ~ts);
    if ((seg->nailed & ts) != 0) {
      ++trace->nails;
      seg_set_nailed(seg, seg->nailed & ~ts);
    }
  }
}

/* ---- The state machine -------------------------------------------------- */

/* Whether a trace about to condemn may run incrementally: the read
 * barrier can guard it, and everything it may condemn or grey belongs to
 * a class that keeps the mutator's buffers off its work (seg.h,
 * incremental).  Roots above RANK_EXACT would have to wait for the exact
 * graph before they are scanned, after the mutator has run, so they rule
 * it out too.  Segments made after the condemn are black, whatever their
 * class. */
static bool trace_may_increment(Trace trace)
{
#if defined(CONFIG_INCREMENTAL_NONE)
  UNUSED(trace);
  return false;
#else
  GC gc = trace->arena->gc;
  Ring node, next;
  if (!trace->want_incremental || trace->rewrite != NULL || !gc->barrier.on
      || gc_prot_failed(gc) || trace->arena->state == ARENA_POSTMORTEM)
    return false;
  RING_FOR(node, &gc->root_ring, next)
    if (root_rank(PARENT(mps_root_s, gc_ring, node)) > RANK_EXACT)
      return false;
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if ((trace_seg_is_collectable(seg) || seg->rank_set != RANK_SET_EMPTY)
        && !seg->klass->incremental)
      return false;
  }
  return true;
#endif
}

/* The trace's start: the gc_start message, and the condemn. */
static void trace_start(Trace trace)
{
  Message message = trace->start_message;
  GC gc = trace->arena->gc;
  trace->start_message = NULL;
  if (message != NULL) {
    message->why = trace->why;
    message_post(message);
  }
  trace->incremental = trace_may_increment(trace);
  if (trace->incremental)
    ++gc->incremental_traces;
  trace_condemn(trace, trace->how);
  if (trace->how == TRACE_CONDEMN_ALL)
    pattern_full_collection_done(gc);
}

/* Whether the mutator may run: every ambiguous and exact root has been
 * scanned, so it holds no reference to a white object. */
static bool trace_mutator_may_run(Trace trace)
{
  if (trace->state != TRACE_FLIPPED)
    return trace->state > TRACE_FLIPPED;
  return trace->band > RANK_EXACT || (trace->band == RANK_EXACT && trace->band_rooted);
}

/* The scanning one poll does for an incremental trace, in bytes of
 * segments.  A poll comes with each buffer fill, which takes at most a
 * segment (AMC's are 64 KiB), so a trace scans about sixteen bytes per
 * byte allocated and finishes long before the nursery fills again; the
 * arena's pause time bounds the pause. */
#define TRACE_QUANTUM ((Size)1 << 20)

/* Advance the trace by one step: the start, the flip, the roots of a
 * band, one grey segment, the move to the next band, or the reclaim.
 * Within a band the roots come first, then every grey segment the band
 * allows, until there is none. */
/* Before a step scans `seg`, grey at `rank`: if it is protected (an
 * incremental trace's read barrier), take the protection off it and off
 * the segments after it in the grey ring that follow it in memory with
 * the same protection, up to what the step's budget has left, in one
 * call.  The steps after scan them next, in ring order, with no call of
 * their own; any the budget or the pause time leaves unscanned get their
 * protection back when the queue is flushed (shield_lower_run).  In
 * bench/gc's retain nearly half the segments a step unprotected were
 * the one just after the one before. */
static void trace_lower_run(Trace trace, Seg seg, Rank rank)
{
  GC gc = trace->arena->gc;
  TraceSet ts = TRACE_SET_SINGLE(trace->ti);
  ShieldSeg run[SHIELD_QUEUE_LIMIT / 2];
  Count n = 0;
  Size size = 0;
  Seg last = seg;
  Ring node = &seg->grey_ring;

  if (seg->shield.pm == PROT_DENY_NONE || seg->shield.depth > 0)
    return;
  for (;;) {
    Seg next;
    run[n++] = &last->shield;
    size += seg_size(last);
    if (n == sizeof run / sizeof run[0] || size >= trace->step_left)
      break;
    node = ring_next(node);
    if (node == &gc->grey_ring[rank])
      break;
    next = PARENT(seg_s, grey_ring, node);
    if (next->base != last->limit || (next->grey & ts) == 0
        || next->shield.pm != seg->shield.pm || next->shield.depth > 0)
      break;
    last = next;
  }
  if (n > 1)
    shield_lower_run(&gc->shield, run, n);
}

static void trace_step(Trace trace)
{
  Message message;
  Seg seg;
  Rank rank;
  switch (trace->state) {
  case TRACE_INIT:
    trace_start(trace);
    break;
  case TRACE_UNFLIPPED:
    trace_flip(trace);
    break;
  case TRACE_FLIPPED:
    if (!trace->band_rooted) {
      trace_scan_roots(trace, trace->band);
      trace->band_rooted = true;
    } else if ((seg = trace_find_grey(trace, &rank)) != NULL) {
      trace_lower_run(trace, seg, rank);
      trace_scan_seg(trace, seg, rank);
    } else if (trace->band + 1 < RANK_LIMIT) {
      trace->band = (Rank)(trace->band + 1);
      trace->band_rooted = false;
    } else {
      trace->state = TRACE_RECLAIM;
    }
    break;
  case TRACE_RECLAIM:
    trace_reclaim(trace);
    message = trace->end_message;
    trace->end_message = NULL;
    if (message != NULL) {
      message->live = trace->preserved_in_place + trace->forwarded;
      message->condemned = trace->condemned;
      message->not_condemned = trace->not_condemned;
      message_post(message);
    }
    if (trace->how == TRACE_CONDEMN_ALL)
      chain_world_collected(trace->arena->gc);
    ++trace->arena->collections;
    trace->state = TRACE_FINISHED;
    break;
  case TRACE_FINISHED:
    break;
  }
}

/* Step the trace until it is finished, or, if it runs incrementally and
 * `finish` is false, until the mutator may run and either `budget` bytes
 * of segments have been scanned or the arena's pause time is up. */
static void trace_advance(Trace trace, Size budget, bool finish)
{
  Size work = trace->work;
  mps_clock_t start = 0, pause = 0;
  bool timed = !finish;
  if (timed) {
    start = mps_clock();
    pause = (mps_clock_t)(trace->arena->pause_time * (double)mps_clocks_per_sec());
  }
  while (trace->state != TRACE_FINISHED) {
    /* The start decides whether the trace is incremental. */
    if (trace->state != TRACE_INIT && !trace->incremental)
      timed = false;
    if (timed && trace_mutator_may_run(trace)
        && (trace->work - work >= budget || mps_clock() - start > pause))
      break;
    trace->step_left = timed && trace_mutator_may_run(trace)
                       ? budget - (trace->work - work) : (Size)-1;
    trace_step(trace);
  }
}

/* The rank to scan a segment at out of turn (a read barrier fault): its
 * own, but never weaker than exact, so that no weak reference is cut
 * before the strong ones are all fixed (design/trace.txt scans at
 * RankEXACT on access for the same reason). */
static Rank trace_access_rank(Seg seg)
{
  Rank rank = seg_lowest_rank(seg->rank_set);
  return rank > RANK_EXACT ? RANK_EXACT : rank;
}

/* Scan seg now, and again while its class leaves it grey. */
static void trace_scan_now(Trace trace, Seg seg)
{
  TraceSet ts = TRACE_SET_SINGLE(trace->ti);
  while ((seg->grey & ts) != 0)
    trace_scan_seg(trace, seg, trace_access_rank(seg));
}

/* Before the queue is flushed at the end of incremental work: the grey
 * segments waiting in it for their read protection have none applied
 * now, so they are scanned without a protection call; the flush would
 * protect them, and their next fault or step would unprotect them again.
 * These are chiefly to-space a fault's scan copied into, and segments a
 * scan greyed.  Once each, only those queued now, up to a poll's quantum,
 * and only those a step could scan now, at the rank it would: a weak
 * segment scanned before its band would keep what it refers to, as only
 * the mutator's access should make it. */
static void trace_scan_queued(Trace trace)
{
  GC gc = trace->arena->gc;
  TraceSet ts = TRACE_SET_SINGLE(trace->ti);
  ShieldSeg queued[SHIELD_QUEUE_LIMIT];
  Size work = trace->work;
  Count i, n;

  if (trace->state != TRACE_FLIPPED || !trace_mutator_may_run(trace))
    return;
  n = shield_queue_unprotected(&gc->shield, queued, SHIELD_QUEUE_LIMIT);
  for (i = 0; i < n && trace->work - work < TRACE_QUANTUM; ++i) {
    /* The shield's segments are all segments' (seg.c registers them). */
    Seg seg = PARENT(seg_s, shield, queued[i]);
    Rank rank;
    /* An earlier scan may have flushed the queue, or blackened it. */
    if ((seg->grey & ts) == 0 || seg->shield.pm != PROT_DENY_NONE)
      continue;
    rank = seg_lowest_rank(seg->rank_set);
    while (rank <= trace->band && (seg->grey & ts) != 0)
      trace_scan_seg(trace, seg, rank);
  }
}

/* Before the mutator runs during an incremental trace: every grey segment
 * is read-protected (barrier.h).  From then on seg_set_grey keeps that. */
static void trace_let_mutator_run(Trace trace)
{
  GC gc = trace->arena->gc;
  TraceSet ts = TRACE_SET_SINGLE(trace->ti);
  Rank rank;
  Ring node, next;

  AVER(trace->incremental && trace_mutator_may_run(trace));
  if ((gc->barrier.reading & ts) == 0) {
    gc->barrier.reading |= ts;
    for (rank = RANK_AMBIG; rank < RANK_LIMIT; ++rank)
      RING_FOR(node, &gc->grey_ring[rank], next)
        barrier_update(PARENT(seg_s, grey_ring, node));
  }
}

/* Do collection work on the busy trace with the mutator held: scan
 * `access` first if it is not NULL (a read barrier fault), then advance
 * the trace (trace_advance).  If the trace is then not finished, make the
 * heap safe for the mutator (trace_let_mutator_run); and if the system
 * refused a protection change, so that some grey segment may be
 * unguarded, finish it after all.  The caller holds the arena lock.  If
 * it is inside the shield (a transform's apply), what follows the
 * mutator's release is left to it through after_o (trace.h). */
static void trace_work(Arena arena, Seg access, Size budget, bool finish,
                       trace_after_s *after_o)
{
  GC gc = arena->gc;
  Trace trace = gc->traces[0];
  TraceState was;
  trace_after_s after;
  bool entered;

  AVERT(trace, trace);
  AVER(!gc->in_collection);
  gc->in_collection = true;
  entered = !shield_is_inside(&gc->shield);
  if (entered)
    shield_enter(&gc->shield);
  shield_hold(&gc->shield);

  was = trace->state;
  if (access != NULL)
    trace_scan_now(trace, access);
  trace_advance(trace, budget, finish);
  if (trace->state != TRACE_FINISHED) {
    trace_scan_queued(trace);
    trace_let_mutator_run(trace);
    shield_flush(&gc->shield);
    if (gc_prot_failed(gc))
      trace_advance(trace, 0, true);
  }
  after.started = was == TRACE_INIT;
  after.start[0] = after.end[0] = (Word)(uintptr_t)arena;
  after.start[1] = (Word)trace->condemned;
  after.end[1] = (Word)(trace->preserved_in_place + trace->forwarded);
  after.ended = trace->state == TRACE_FINISHED;
  if (after.ended) {
    gc->barrier.reading &= ~TRACE_SET_SINGLE(trace->ti);
    trace_destroy(trace);
  }

  shield_release(&gc->shield);
  gc->in_collection = false;
  if (entered) {
    shield_leave(&gc->shield);   /* resumes the mutator */
    trace_after_leave(arena, &after);
  } else {
    AVER(after_o != NULL);
    *after_o = after;
  }
}

void trace_after_leave(Arena arena, const trace_after_s *after)
{
  GC gc = gc_of(arena);
  AVER(gc != NULL && !shield_is_inside(&gc->shield));
  /* A protection call the system refused leaves some segment's
   * protection unknown: go on without the barrier.  (trace_work finished
   * any incremental trace, which needed it.) */
  if (gc_prot_failed(gc) && gc->barrier.on)
    barrier_disable(gc);
  /* Only now: a suspended thread may hold the telemetry lock, or the C
   * library's, which writing the stream can need. */
  if (after->started)
    event_emit(EVENT_CAT_TRACE, EVENT_TRACE_START, 2, after->start);
  gcevent_flush(gc);   /* what the work made, between start and end */
  if (after->ended)
    event_emit(EVENT_CAT_TRACE, EVENT_TRACE_END, 2, after->end);
}

/* Make a trace that will condemn as `how` says, incrementally if
 * `incremental` and the heap allows (trace_may_increment), a rewriting
 * one if `rewrite` is not NULL (trace.h).  It does nothing until
 * trace_work.  The caller holds the arena lock and no trace is busy.
 * MPS_RES_* if it cannot be made, with nothing changed. */
static Res trace_begin(Arena arena, TraceCondemn how, const char *why, bool incremental,
                       TraceRewriteStart rewrite_start, TraceRewrite rewrite,
                       void *rewrite_closure)
{
  Trace trace;
  Res res = trace_create(&trace, arena, why, rewrite_start, rewrite, rewrite_closure);
  if (res != MPS_RES_OK)
    return res;
  trace->how = how;
  trace->want_incremental = incremental;
  return MPS_RES_OK;
}

/* Whether a trace is busy. */
static bool trace_busy(GC gc)
{
  return gc != NULL && gc->busy_traces != TRACE_SET_EMPTY;
}

bool trace_arena_is_parked(Arena arena)
{
  AVERT(arena, arena);
  return arena->state == ARENA_PARKED
         || (arena->state == ARENA_CLAMPED && !trace_busy(arena->gc));
}

/* Run a whole collection now, stop-the-world.  MPS_RES_* if the trace
 * cannot be made, with nothing changed. */
static Res trace_run(Arena arena, TraceCondemn how, const char *why)
{
  Res res = trace_begin(arena, how, why, false, NULL, NULL, NULL);
  if (res == MPS_RES_OK)
    trace_work(arena, NULL, 0, true, NULL);
  return res;
}

/* Start a collection that runs incrementally if it can (otherwise it
 * runs to the end now): the condemn and the flip happen now, the rest in
 * later polls, steps and read barrier faults. */
static Res trace_run_incremental(Arena arena, TraceCondemn how, const char *why)
{
  Res res = trace_begin(arena, how, why, true, NULL, NULL, NULL);
  if (res == MPS_RES_OK)
    trace_work(arena, NULL, 0, false, NULL);
  return res;
}

void trace_park(Arena arena)
{
  GC gc = gc_of(arena);
  AVERT(arena, arena);
  if (trace_busy(gc)) {
    AVER(!gc->in_collection);
    trace_work(arena, NULL, 0, true, NULL);
  }
  AVER(!trace_busy(gc));
}

void trace_access(Arena arena, Seg seg)
{
  GC gc = gc_of(arena);
  AVER(gc != NULL);
  AVERT(seg, seg);
  AVER((seg->grey & gc->barrier.reading) != TRACE_SET_EMPTY);
  trace_work(arena, seg, 0, false, NULL);
}

static const char trace_why_due[] =
  "A generation of a chain has exceeded its capacity: a collection of the due generations.";
static const char trace_why_collect[] =
  "The client asked for a full collection (mps_arena_collect or mps_arena_start_collect).";
static const char trace_why_step[] =
  "A generation of a chain has exceeded its capacity and the client gave idle time (mps_arena_step).";
static const char trace_why_ramp[] =
  "An allocation point's ramp_collect_all pattern ended: a collection of everything.";

/* Whether some generation of some chain is due. */
static bool trace_any_due(GC gc)
{
  Word due[TRACE_DUE_CHAINS];
  return trace_due_chains(due, gc, false) != 0;
}

static const char trace_why_world[] =
  "The top generation has doubled since the last collection of the world: a collection of everything.";

/* A collection of the due generations scans every segment it does not
 * condemn, except those the write barrier guards (barrier.h), so its cost
 * grows with the unguarded part of the older generations, not with the
 * nursery.  An automatic collection therefore waits until the first
 * generations of the chains, and any older generation it would condemn,
 * have taken at least 1/TRACE_SCAN_RATIO of what the other older
 * generations hold outside guarded segments: the collector then scans at
 * most about TRACE_SCAN_RATIO bytes of old objects per byte allocated,
 * even with a nursery smaller than a pool's segment, which would
 * otherwise bring a collection at nearly every buffer fill.  A due older
 * generation counts as fresh for what it took since it was last
 * condemned: a pool that allocates straight into one (AMS and LO on the
 * default chain; MPS_KEY_GEN) must get its collections although the
 * nursery stays empty.  A chain of one generation, or older generations
 * still empty, guarded or due, never wait.  (Guarded bytes of the first
 * generations are subtracted too: an estimate, which errs towards
 * collecting.) */
#define TRACE_SCAN_RATIO 8

static Size trace_add_sat(Size a, Size b)
{
  return b > (Size)-1 - a ? (Size)-1 : a + b;
}

/* `due` as trace_due_chains made it. */
static bool trace_due_is_ripe(GC gc, const Word due[TRACE_DUE_CHAINS])
{
  Ring node, next, pnode, pnext;
  Size fresh = 0, old = 0;
  Index c = 0;
  RING_FOR(node, &gc->chain_ring, next) {
    Chain chain = PARENT(mps_chain_s, gc_ring, node);
    /* Chains past TRACE_DUE_CHAINS wait: none of theirs is condemned. */
    Word chain_due = c < TRACE_DUE_CHAINS ? due[c] : 0;
    Index i;
    ++c;
    for (i = 0; i < chain->gen_count; ++i) {
      bool condemned = (chain_due & ((Word)1 << i)) != 0;
      RING_FOR(pnode, &chain->gens[i].pool_gens, pnext) {
        PoolGen pgen = PARENT(pool_gen_s, gen_ring, pnode);
        if (i == 0 || condemned)
          fresh = trace_add_sat(fresh, pgen->new_size);
        else
          old = trace_add_sat(old, pgen->total_size);
      }
    }
  }
  /* The top generation is never condemned here, so it is all old. */
  if (gc->top_chain != NULL) {
    RING_FOR(pnode, &gc->top_chain->gens[0].pool_gens, pnext) {
      PoolGen pgen = PARENT(pool_gen_s, gen_ring, pnode);
      old = trace_add_sat(old, pgen->total_size);
    }
  }
  old -= old < gc->barrier.guarded ? old : gc->barrier.guarded;
  return fresh >= old / TRACE_SCAN_RATIO;
}

void trace_poll(Arena arena)
{
  GC gc = gc_of(arena);
  Word due[TRACE_DUE_CHAINS];
  AVERT(arena, arena);
  if (gc == NULL || gc->in_collection || arena->state != ARENA_UNCLAMPED)
    return;
  if (trace_busy(gc))
    trace_work(arena, NULL, TRACE_QUANTUM, false, NULL);
  else if (pattern_full_collection_due(gc))
    (void)trace_run_incremental(arena, TRACE_CONDEMN_ALL, trace_why_ramp);
  else if (chain_top_due(gc))
    (void)trace_run_incremental(arena, TRACE_CONDEMN_ALL, trace_why_world);
  else if (trace_due_chains(due, gc, false) != 0 && trace_due_is_ripe(gc, due))
    (void)trace_run_incremental(arena, TRACE_CONDEMN_DUE, trace_why_due);
}

/* ---- Rewriting collections (transforms) ---------------------------------- */

static const char trace_why_transform[] =
  "The client applied a transform (mps_transform_apply): a collection of everything.";

Res trace_collect_rewriting(Arena arena, TraceRewriteStart start, TraceRewrite rewrite,
                            void *closure, trace_after_s *after_o)
{
  Res res;
  AVERT(arena, arena);
  AVER(start != NULL);
  AVER(rewrite != NULL);
  AVER(arena->state != ARENA_POSTMORTEM);
  AVER(!trace_busy(arena->gc));
  AVER(after_o != NULL);
  res = trace_begin(arena, TRACE_CONDEMN_ALL, trace_why_transform, false, start, rewrite,
                    closure);
  if (res == MPS_RES_OK)
    trace_work(arena, NULL, 0, true, after_o);
  return res;
}

/* ---- The arena's collection states (arena.rst) --------------------------- */

/* Inlined, as arena_enter is (arena.h), so that the API function's frame
 * holds the client's registers. */
static ALWAYS_INLINE void trace_arena_enter(Arena arena)
{
  AVER(arena != NULL && arena->sig == ARENA_SIG);
  arena_enter(arena);
  /* A scan or format method must not call back in. */
  AVER(arena->gc == NULL || !arena->gc->in_collection);
}

/* A postmortem arena stays so while a collection is in progress: that
 * collection must not go on, with the barrier down and memory perhaps
 * inconsistent (arena.rst), and "parked" would say that none is. */
static bool trace_arena_stays_postmortem(Arena arena)
{
  return arena->state == ARENA_POSTMORTEM && arena->gc != NULL && trace_busy(arena->gc);
}

void mps_arena_clamp(mps_arena_t arena)
{
  trace_arena_enter(arena);
  if (!trace_arena_stays_postmortem(arena))
    arena->state = ARENA_CLAMPED;
  arena_leave(arena);
}

void mps_arena_park(mps_arena_t arena)
{
  trace_arena_enter(arena);
  if (!trace_arena_stays_postmortem(arena)) {
    trace_park(arena);
    arena->state = ARENA_PARKED;
  }
  arena_leave(arena);
}

void mps_arena_release(mps_arena_t arena)
{
  trace_arena_enter(arena);
  if (!trace_arena_stays_postmortem(arena))
    arena->state = ARENA_UNCLAMPED;
  arena_leave(arena);
}

void mps_arena_postmortem(mps_arena_t arena)
{
  GC gc;
  /* Called from a debugger or an assertion handler, perhaps inside a
   * collection on this very thread, which then holds the lock already:
   * take nothing (arena.rst).  What this thread holds it lets go, so that
   * the debugger can then ask the arena (mps_arena_has_addr,
   * mps_addr_pool), as guide/debug.rst describes; the operation it
   * interrupted must not go on (arena.rst: memory is inconsistent). */
  AVER(arena != NULL && arena->sig == ARENA_SIG);
  if (lock_is_held(arena->lock)) {
    arena->entry.hot = NULL;
    lock_release(arena->lock);
  }
  arena->state = ARENA_POSTMORTEM;
  gc = arena->gc;
  /* Memory is left unprotected (the write barrier is lowered for good),
   * and the threads a collection stopped are let go, so that both can be
   * inspected. */
  if (gc != NULL) {
    barrier_disable(gc);
    if (gc->threads.suspended)
      thread_resume_all(&gc->threads);
  }
}

mps_res_t mps_arena_collect(mps_arena_t arena)
{
  Res res = MPS_RES_OK;
  trace_arena_enter(arena);
  if (arena->state != ARENA_POSTMORTEM) {
    trace_park(arena);
    /* A trace needs no memory (trace_create), unless the collector's
     * state was never made and cannot be: then nothing is collected, and
     * the result says so.  Memory refused during the collection is not
     * an error: it pins what it cannot copy. */
    res = trace_run(arena, TRACE_CONDEMN_ALL, trace_why_collect);
    arena->state = ARENA_PARKED;
  }
  arena_leave(arena);
  return res;
}

mps_res_t mps_arena_start_collect(mps_arena_t arena)
{
  Res res = MPS_RES_OK;
  trace_arena_enter(arena);
  if (arena->state != ARENA_POSTMORTEM) {
    /* One trace at a time: a collection in progress finishes first. */
    trace_park(arena);
    /* It goes on in later polls, steps and faults, if it can
     * (trace_may_increment); otherwise it is over on return. */
    res = trace_run_incremental(arena, TRACE_CONDEMN_ALL, trace_why_collect);
    arena->state = ARENA_UNCLAMPED;
  }
  arena_leave(arena);
  return res;
}

mps_bool_t mps_arena_step(mps_arena_t arena, double interval, double multiplier)
{
  bool work = false;
  GC gc;
  AVER(interval >= 0.0);
  AVER(multiplier >= 0.0);
  trace_arena_enter(arena);
  gc = arena->gc;
  if (arena->state != ARENA_POSTMORTEM && gc != NULL
      && (trace_busy(gc) || chain_top_due(gc) || trace_any_due(gc))) {
    mps_clock_t start = mps_clock();
    mps_clock_t span = (mps_clock_t)(interval * (double)mps_clocks_per_sec());
    work = true;
    if (!trace_busy(gc) && chain_top_due(gc))
      (void)trace_run_incremental(arena, TRACE_CONDEMN_ALL, trace_why_world);
    else if (!trace_busy(gc))
      (void)trace_run_incremental(arena, TRACE_CONDEMN_DUE, trace_why_step);
    /* At least one quantum, then more while the interval lasts. */
    if (trace_busy(gc)) {
      do
        trace_work(arena, NULL, TRACE_QUANTUM, false, NULL);
      while (trace_busy(gc) && mps_clock() - start < span);
    }
  }
  /* A parked or clamped arena is clamped afterwards (arena.rst). */
  if (arena->state == ARENA_PARKED)
    arena->state = ARENA_CLAMPED;
  arena_leave(arena);
  return work;
}
