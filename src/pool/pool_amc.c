/* pool_amc.c: the AMC (Automatic Mostly-Copying) and AMCZ pool classes
 * (design/poolamc.txt, design/nailboard.txt, design/buffer.txt;
 * manual/pool/amc.rst, pool/amcz.rst).
 *
 * Objects are allocated through allocation points into segments of
 * generation 0 of the pool's chain.  When a generation is condemned, every
 * object in it that is exactly referenced is copied into to-space
 * segments of the next generation, leaving a forwarding object behind,
 * and the condemned segments are freed.  Above the chain's generations is
 * the arena's top generation (chain.h, design/strategy.txt): the last
 * generation's survivors go there, and its own stay there; only
 * collections of the world condemn it.  To-space segments are scanned
 * Cheney-style: each keeps a mark, `scanned`, below which its copies have
 * been scanned.
 *
 * Ambiguous references cannot be updated, so the object they refer to
 * must stay where it is.  An ambiguous fix into a white segment nails it:
 * from then on, for that trace, nothing in it moves.  Its nailboard
 * (nailboard.h, one nail per alignment unit) records each ambiguous
 * reference, and each exactly referenced object is marked there too (a
 * nail at the object's base), so at reclaim an object is kept if a nail
 * meets it (MPS_KEY_INTERIOR true) or sits on its base (false).  A nailed
 * segment is scanned in place: only the kept objects, each once (a second
 * board, `done`, records which).  A nail may fall inside an object, so
 * after new nails the segment is walked from its base; an exact mark is
 * always at an object's base, so it is also recorded on a third board,
 * `todo`, and the objects marked but not done are found there, without
 * walking the segment again for each mark (otherwise a list whose cells
 * lie in descending addresses takes a walk per cell).  At reclaim the
 * rest of it becomes padding; a nailed segment keeping nothing is freed.
 *
 * Emergency: when to-space cannot be had during a collection (the commit
 * limit), the object is preserved in place by nailing its segment and
 * marking the object, so a collection never fails for want of memory.  If
 * even the nailboard cannot be made, the segment is nailed "whole": every
 * object in it that was not already forwarded is kept and scanned.
 *
 * Allocation points: a fill gives the buffer the free tail [used, limit)
 * of a generation-0 segment, or a new segment (an object larger than
 * both MPS_KEY_EXTEND_BY and AMC_SEG_SIZE_MIN gets one of its own
 * size).  While a buffer is attached and the segment is not condemned,
 * only [base, committed limit) is scanned (buffer_committed_limit: ap.init
 * unless the buffer is trapped).  When the buffer is emptied the unused
 * part goes back to the segment's free tail by lowering `used`, so the
 * next fill can use it; nothing is parsed at or above `used`, so it needs
 * no padding.  A fill takes that tail only from a segment that is
 * neither white nor grey: during an incremental trace (trace.c) what the
 * mutator allocates must be black, and a grey segment is read-protected
 * (barrier.h).  With that, and every access to object
 * memory through the shield, AMC's segment class is incremental (seg.h).
 * A segment a buffer is filling can be condemned: whiten
 * first takes the buffer's committed objects into the segment (used and
 * the buffer's base rise to its committed limit, the owning thread being
 * stopped), so
 * the trace sees exactly [base, used) while the buffer keeps [used,
 * limit), where a reserve may be pending (the flip traps it, so its
 * commit fails).  Such a segment cannot be freed at reclaim: what would
 * have been freed becomes padding, and the segment goes when a later
 * collection finds it without a buffer and without survivors.
 *
 * AMCZ is the same code with leaf segments (rank set empty): its objects
 * are never scanned, and its format needs no scan method.
 *
 * Invariants (amc_check, amc_seg_check):
 *   1. the pool's format is genuine and its alignment is the pool's;
 *      gens[i] is the PoolGen of generation i of the chain, for each
 *      i < gen_count, and gens[chain length] that of the top generation;
 *      gen_count is the chain's length plus one once init is done;
 *   2. seg_count and total are the number and bytes of segments on
 *      seg_ring;
 *   3. fill_seg, when not NULL, is a generation-0 segment of the pool;
 *   4. a segment's [base, used) is a sequence of formatted objects
 *      (objects, padding, and during a trace forwarding objects), used is
 *      aligned and base <= scanned <= used <= limit;
 *   5. a segment with a buffer attached has used equal to the buffer's
 *      base (the buffer owns [used, limit));
 *   6. a segment is nailed for a trace only if white for it; it has
 *      nailboards (nails, done, todo) or is nailed whole, never both; not
 *      nailed: neither; base <= todo_from <= limit, and outside the
 *      in-place scan every object marked on todo but not done is at or
 *      above todo_from (not checked: a sweep moves it);
 *   7. AMC segments have rank set {exact}; AMCZ segments are leaves;
 *   8. a generation's to-space segment (fwd_seg), when it has one, is a
 *      segment of the pool in that generation.
 */

#include "../../include/mpscamc.h"
#include "../base/args.h"
#include "../gc/chain.h"
#include "../gc/format.h"
#include "../gc/seg.h"
#include "../gc/trace.h"
#include "buffer.h"
#include "nailboard.h"

#define AMC_SIG SIG_MAKE(0x12D)
#define AMC_SEG_SIG SIG_MAKE(0x12E)

/* manual/pool/amc.rst: the default of MPS_KEY_EXTEND_BY. */
#define AMC_EXTEND_BY_DEFAULT ((Size)4096)
/* extend_by is documented as the least segment size.  Segments are made
 * at least this big: every segment costs a control block, a tract walk
 * and a lookup in the control freelist, which dominated collection time
 * with 4 KiB segments (bench/gc). */
#define AMC_SEG_SIZE_MIN ((Size)65536)

typedef struct amc_gen_s {
  pool_gen_s pgen;
  Seg fwd_seg;          /* to-space being filled, if fwd_epoch is current */
  Count fwd_epoch;
} amc_gen_s;

typedef struct amc_s {
  mps_pool_s pool;      /* first: a Pool is an AMC */
  Sig sig;
  Format format;
  Chain chain;
  Chain top;            /* the arena's top generation (chain.h) */
  Count gen_count;
  bool scannable;       /* AMC: true; AMCZ: false */
  bool interior;        /* MPS_KEY_INTERIOR */
  Size extend_by;       /* MPS_KEY_EXTEND_BY */
  struct ring_s seg_ring;   /* every segment, by seg->pool_ring */
  Count seg_count;
  Size total;
  Seg fill_seg;         /* generation-0 segment whose tail fills may use */
  /* The trace the to-space marks refer to.  A trace is known by its
   * structure and the arena's collection count while it runs, which no
   * other trace shares; epoch changes whenever that pair changes, so
   * to-space left from an earlier trace is never mistaken for current. */
  Trace epoch_trace;
  Count epoch_collections;
  Count epoch;
  amc_gen_s gens[CHAIN_GEN_LIMIT + 1];   /* the chain's, then the top's */
} amc_s;
typedef struct amc_s *AMC;

typedef struct amc_seg_s {
  seg_s seg;            /* first: a Seg is an AMC segment */
  Sig sig;
  Index gen;            /* in amc->gens */
  Addr used;            /* see invariant 4 */
  Addr scanned;         /* Cheney mark, for to-space of to_epoch */
  Count to_epoch;       /* amc->epoch when made as to-space, else 0 */
  Nailboard nails;      /* nails and marks, while nailed with a board */
  Nailboard done;       /* object bases scanned in place */
  Nailboard todo;       /* object bases marked by exact fixes */
  Addr todo_from;       /* the lowest todo mark not yet looked at, or limit */
  bool nailed_whole;    /* nailed without a board: keep everything */
  bool new_marks;       /* marks since the last pass of the in-place scan */
} amc_seg_s;
typedef struct amc_seg_s *AMCSeg;

static struct mps_pool_class_s amc_pool_class_s;
static struct mps_pool_class_s amcz_pool_class_s;
static seg_class_s amc_seg_class_s;

static inline AMC amc_of_pool(Pool pool) { return PARENT(amc_s, pool, pool); }
static inline AMCSeg amc_seg_of(Seg seg) { return PARENT(amc_seg_s, seg, seg); }
static inline AMC amc_of_seg(Seg seg) { return amc_of_pool(seg->pool); }
static inline Shield amc_shield(Arena arena) { return &arena->gc->shield; }

static inline bool amc_pool_is_amc(Pool pool)
{
  return pool->klass == &amc_pool_class_s || pool->klass == &amcz_pool_class_s;
}

bool amc_check(AMC amc);
bool amc_seg_check(AMCSeg aseg);

bool amc_check(AMC amc)
{
  Index i;
  CHECKS(AMC_SIG, amc);
  CHECKL(amc_pool_is_amc(&amc->pool));
  CHECKD(format, amc->format);                                              /* 1 */
  CHECKL(amc->pool.format == amc->format);
  CHECKL(amc->pool.alignment == amc->format->alignment);
  CHECKD(chain, amc->chain);
  CHECKD(chain, amc->top);
  CHECKL(amc->top == amc->pool.arena->gc->top_chain);
  CHECKL(amc->gen_count <= amc->chain->gen_count + 1);
  for (i = 0; i < amc->gen_count; ++i) {
    Seg fwd = amc->gens[i].fwd_seg;
    if (i < amc->chain->gen_count)
      CHECKL(amc->gens[i].pgen.gen == i && amc->gens[i].pgen.chain == amc->chain);
    else
      CHECKL(amc->gens[i].pgen.gen == 0 && amc->gens[i].pgen.chain == amc->top);
    if (fwd != NULL) {                                                      /* 8 */
      CHECKU(SEG_SIG, fwd);
      CHECKL(fwd->pool == &amc->pool && amc_seg_of(fwd)->gen == i);
    }
  }
  CHECKL(amc->seg_count == 0 || !ring_is_single(&amc->seg_ring));           /* 2 */
  CHECKL(amc->extend_by > 0);
  if (amc->fill_seg != NULL) {                                              /* 3 */
    CHECKL(amc->fill_seg->pool == &amc->pool);
    CHECKL(amc_seg_of(amc->fill_seg)->gen == 0);
  }
  return true;
}

bool amc_seg_check(AMCSeg aseg)
{
  Seg seg;
  AMC amc;
  CHECKS(AMC_SEG_SIG, aseg);
  seg = &aseg->seg;
  CHECKD(seg, seg);
  amc = amc_of_seg(seg);
  CHECKU(AMC_SIG, amc);
  CHECKL(aseg->gen < amc->gen_count);
  CHECKL(addr_word(seg->base) <= addr_word(aseg->scanned));                 /* 4 */
  CHECKL(addr_word(aseg->scanned) <= addr_word(aseg->used));
  CHECKL(addr_word(aseg->used) <= addr_word(seg->limit));
  CHECKL(addr_is_aligned(aseg->used, amc->pool.alignment));
  if (seg->buffer != NULL) {                                                /* 5 */
    CHECKL(seg->buffer->base == aseg->used);
  }
  CHECKL((seg->nailed & ~seg->white) == TRACE_SET_EMPTY);                   /* 6 */
  CHECKL(!(aseg->nailed_whole && aseg->nails != NULL));
  CHECKL((aseg->nails == NULL) == (aseg->done == NULL));
  CHECKL((aseg->nails == NULL) == (aseg->todo == NULL));
  CHECKL(addr_word(seg->base) <= addr_word(aseg->todo_from));
  CHECKL(addr_word(aseg->todo_from) <= addr_word(seg->limit));
  if (seg->nailed == TRACE_SET_EMPTY)
    CHECKL(aseg->nails == NULL && !aseg->nailed_whole);
  else
    CHECKL(aseg->nails != NULL || aseg->nailed_whole);
  CHECKL(seg->rank_set == (amc->scannable ? RANK_SET_SINGLE(RANK_EXACT)     /* 7 */
                                          : RANK_SET_EMPTY));
  return true;
}

/* ---- Objects ---------------------------------------------------------- */

/* The memory limit of the object whose memory starts at `base`. */
static inline Addr amc_obj_limit(Format format, Addr base)
{
  Addr client = format_client(format, base);
  Addr next = addr_of_ptr((*format->skip)(addr_ptr(client)));
  AVER_CRITICAL(addr_word(next) > addr_word(client));
  return format_base(format, next);
}

/* Where the segment's objects end: at a buffer's committed limit (the
 * buffer's committed objects follow the segment's own, invariant 5; for a
 * white segment the two are equal, see the head), else used. */
static Addr amc_seg_parse_limit(Seg seg)
{
  if (seg->buffer != NULL)
    return buffer_committed_limit(seg->buffer);
  return amc_seg_of(seg)->used;
}

static inline bool amc_is_forwarded(Format format, Addr base)
{
  return (*format->isfwd)(addr_ptr(format_client(format, base))) != NULL;
}

/* Whether the nailed segment keeps the object [base, limit). */
static bool amc_seg_keeps(AMC amc, AMCSeg aseg, Addr base, Addr limit)
{
  if (aseg->nailed_whole)
    return true;
  AVER_CRITICAL(aseg->nails != NULL);
  if (amc->interior)
    return !nailboard_is_res_range(aseg->nails, base, limit);
  return nailboard_get(aseg->nails, base);
}

/* ---- Segments --------------------------------------------------------- */

static Res amc_seg_init(Seg seg, Pool pool)
{
  AMCSeg aseg = amc_seg_of(seg);
  UNUSED(pool);
  aseg->gen = 0;
  aseg->used = seg->base;
  aseg->scanned = seg->base;
  aseg->to_epoch = 0;
  aseg->nails = NULL;
  aseg->done = NULL;
  aseg->todo = NULL;
  aseg->todo_from = seg->limit;
  aseg->nailed_whole = false;
  aseg->new_marks = false;
  aseg->sig = AMC_SEG_SIG;
  return MPS_RES_OK;
}

static void amc_seg_finish(Seg seg)
{
  AMCSeg aseg = amc_seg_of(seg);
  AVER(aseg->nails == NULL && aseg->done == NULL && aseg->todo == NULL);
  aseg->sig = SIG_INVALID;
}

/* A new segment of at least `size` bytes in generation `gen`. */
static Res amc_seg_create(Seg *seg_o, AMC amc, Index gen, Size size)
{
  Pool pool = &amc->pool;
  Arena arena = pool->arena;
  Size seg_size_wanted;
  Seg seg;
  Res res;

  /* An object larger than that gets a segment of its own size. */
  seg_size_wanted = size_max(size, size_max(amc->extend_by, AMC_SEG_SIZE_MIN));
  if (seg_size_wanted > SIZE_MAX - arena->grain_size)
    return MPS_RES_RESOURCE;
  seg_size_wanted = size_align_up(seg_size_wanted, arena->grain_size);
  res = seg_alloc(&seg, &amc_seg_class_s, pool, seg_size_wanted,
                  amc->scannable ? RANK_SET_SINGLE(RANK_EXACT) : RANK_SET_EMPTY,
                  &amc->gens[gen].pgen);
  if (res != MPS_RES_OK)
    return res;
  amc_seg_of(seg)->gen = gen;
  ring_append(&amc->seg_ring, &seg->pool_ring);
  ++amc->seg_count;
  amc->total += seg_size(seg);
  *seg_o = seg;
  return MPS_RES_OK;
}

static void amc_nails_free(Arena arena, AMCSeg aseg)
{
  if (aseg->nails != NULL) {
    nailboard_destroy(aseg->nails, arena);
    nailboard_destroy(aseg->done, arena);
    nailboard_destroy(aseg->todo, arena);
    aseg->nails = NULL;
    aseg->done = NULL;
    aseg->todo = NULL;
  }
  aseg->todo_from = aseg->seg.limit;
  aseg->nailed_whole = false;
}

static void amc_seg_destroy(Seg seg)
{
  AMC amc = amc_of_seg(seg);
  AMCSeg aseg = amc_seg_of(seg);
  Index i;
  AVER(seg->buffer == NULL);
  if (amc->fill_seg == seg)
    amc->fill_seg = NULL;
  for (i = 0; i < amc->gen_count; ++i)
    if (amc->gens[i].fwd_seg == seg)
      amc->gens[i].fwd_seg = NULL;
  amc_nails_free(seg->arena, aseg);
  ring_remove(&seg->pool_ring);
  --amc->seg_count;
  amc->total -= seg_size(seg);
  seg_free(seg);
}

/* The epoch of `trace` (see amc_s). */
static Count amc_epoch(AMC amc, Trace trace)
{
  Arena arena = amc->pool.arena;
  if (amc->epoch_trace != trace || amc->epoch_collections != arena->collections) {
    amc->epoch_trace = trace;
    amc->epoch_collections = arena->collections;
    ++amc->epoch;
  }
  return amc->epoch;
}

/* Make the segment grey for `traces` if it can hold references. */
static void amc_seg_greyen(Seg seg, TraceSet traces)
{
  if (seg->rank_set != RANK_SET_EMPTY && (seg->grey & traces) != traces)
    seg_set_grey(seg, seg->grey | traces);
}

/* Nail the white segment for `ss`'s traces, if it is not yet. */
static void amc_seg_nail(Seg seg, ScanState ss)
{
  AMCSeg aseg = amc_seg_of(seg);
  Arena arena = seg->arena;
  AMC amc = amc_of_seg(seg);
  Res res;

  if ((seg->nailed & ss->traces) == ss->traces)
    return;
  AVER(aseg->nails == NULL && !aseg->nailed_whole);
  res = nailboard_create(&aseg->nails, arena, amc->pool.alignment, seg->base, seg->limit);
  if (res == MPS_RES_OK) {
    res = nailboard_create(&aseg->done, arena, amc->pool.alignment, seg->base, seg->limit);
    if (res == MPS_RES_OK) {
      res = nailboard_create(&aseg->todo, arena, amc->pool.alignment, seg->base, seg->limit);
      if (res != MPS_RES_OK) {
        nailboard_destroy(aseg->done, arena);
        aseg->done = NULL;
      }
    }
    if (res != MPS_RES_OK) {
      nailboard_destroy(aseg->nails, arena);
      aseg->nails = NULL;
    }
  }
  /* No memory for a board: keep the whole segment, which is always
   * correct, only less precise. */
  if (res != MPS_RES_OK)
    aseg->nailed_whole = true;
  seg_set_nailed(seg, seg->nailed | ss->traces);
  if (ss->trace != NULL)
    ++ss->trace->nails;
  aseg->new_marks = true;
  amc_seg_greyen(seg, ss->traces);
}

/* Record that the object at `base` in the nailed segment is kept. */
static void amc_seg_mark(Seg seg, ScanState ss, Addr base)
{
  AMCSeg aseg = amc_seg_of(seg);
  if (aseg->nailed_whole)
    return;
  if (!nailboard_set(aseg->nails, base)) {
    (void)nailboard_set(aseg->todo, base);
    if (addr_word(base) < addr_word(aseg->todo_from))
      aseg->todo_from = base;
    amc_seg_greyen(seg, ss->traces);
  }
}

/* ---- Segment methods for the tracer ----------------------------------- */

static Res amc_seg_whiten(Seg seg, Trace trace, Size *condemned_io)
{
  AVERT(amc_seg, amc_seg_of(seg));
  AVERT(trace, trace);
  /* A buffer's committed objects become the segment's; a reserve the
   * stopped mutator may have pending stays the buffer's (see the head). */
  if (seg->buffer != NULL) {
    AMCSeg aseg = amc_seg_of(seg);
    aseg->used = buffer_yield_committed(seg->buffer);
    AVER(addr_word(aseg->scanned) <= addr_word(aseg->used));
  }
  seg_set_white(seg, seg->white | TRACE_SET_SINGLE(trace->ti));
  *condemned_io += seg_size(seg);
  /* Its survivors are copied out and it is freed, so its summary no
   * longer matters (one nailed and kept keeps the universal summary,
   * which is always true); a write barrier left on it would cost a
   * protection change at each fix that exposes it. */
  if (seg->rank_set != RANK_SET_EMPTY)
    seg_set_summary(seg, ZONE_SET_UNIV);
  return MPS_RES_OK;
}

/* Room for `size` bytes in to-space of generation `gen` for the trace of
 * epoch `epoch`: returns the segment and the base. */
static Res amc_forward_alloc(Seg *seg_o, Addr *base_o, AMC amc, Index gen, Size size,
                             Count epoch, ScanState ss)
{
  amc_gen_s *g = &amc->gens[gen];
  Seg seg = g->fwd_seg;
  AMCSeg aseg;
  Res res;

  /* To-space left from an earlier trace is used again unless it is being
   * evacuated itself, so that small promotions do not leave a mostly
   * empty segment behind every collection.  Its Cheney scan starts at
   * its base: the objects it already held are scanned with the copies,
   * as the tracer's scan of it would have done. */
  if (seg != NULL && g->fwd_epoch != epoch) {
    if ((seg->white & ss->traces) != TRACE_SET_EMPTY) {
      seg = NULL;
    } else {
      aseg = amc_seg_of(seg);
      aseg->to_epoch = epoch;
      aseg->scanned = seg->base;
      g->fwd_epoch = epoch;
    }
  }

  if (seg == NULL || addr_offset(amc_seg_of(seg)->used, seg->limit) < size) {
    res = amc_seg_create(&seg, amc, gen, size);
    if (res != MPS_RES_OK)
      return res;
    aseg = amc_seg_of(seg);
    aseg->to_epoch = epoch;
    g->fwd_seg = seg;
    g->fwd_epoch = epoch;
  }
  aseg = amc_seg_of(seg);
  *seg_o = seg;
  *base_o = aseg->used;
  aseg->used = addr_add(aseg->used, size);
  amc_seg_greyen(seg, ss->traces);
  return MPS_RES_OK;
}

static Res amc_seg_fix_ambig(Seg seg, ScanState ss, Addr ref)
{
  AMC amc = amc_of_seg(seg);
  AMCSeg aseg = amc_seg_of(seg);
  Format format = amc->format;
  Addr nail;

  /* Nothing of a white segment lives at or above used (a buffer there
   * holds no committed object, see the head), so a reference there is a
   * stray word and keeps nothing. */
  if (addr_word(ref) >= addr_word(aseg->used))
    return MPS_RES_OK;
  if (amc->interior) {
    nail = ref;
  } else {
    /* Only a client pointer keeps its object: it is the header size
     * above an aligned object base.  A nail at any other aligned base
     * meets no object's base and keeps nothing at reclaim. */
    Size off = addr_offset(seg->base, ref);
    if (off < format->header_size
        || !size_is_aligned(off - format->header_size, amc->pool.alignment))
      return MPS_RES_OK;
    nail = format_base(format, ref);
  }
  amc_seg_nail(seg, ss);
  if (aseg->nails != NULL && !nailboard_set(aseg->nails, nail)) {
    aseg->new_marks = true;
    amc_seg_greyen(seg, ss->traces);
  }
  return MPS_RES_OK;
}

static Res amc_seg_fix(Seg seg, ScanState ss, Addr *ref_io)
{
  AMC amc = amc_of_seg(seg);
  AMCSeg aseg = amc_seg_of(seg);
  Format format = amc->format;
  Arena arena = seg->arena;
  Shield shield = amc_shield(arena);
  Addr ref = *ref_io, base, limit, new_base, new_ref;
  void *moved;
  Seg to_seg;
  Size size;
  Index to_gen;
  Res res;

  AVER_CRITICAL((seg->white & ss->traces) != TRACE_SET_EMPTY);
  if (ss->rank == RANK_AMBIG)
    return amc_seg_fix_ambig(seg, ss, ref);

  /* Exact, final or weak: ref is an object's client pointer. */
  AVER_CRITICAL(addr_word(ref) >= addr_word(seg->base) + format->header_size);
  AVER_CRITICAL(addr_word(ref) < addr_word(aseg->used));
  shield_expose(shield, &seg->shield);
  moved = (*format->isfwd)(addr_ptr(ref));
  if (moved != NULL) {
    *ref_io = addr_of_ptr(moved);
    ss->was_marked = true;
    goto done;
  }
  base = format_base(format, ref);
  limit = amc_obj_limit(format, base);
  if ((seg->nailed & ss->traces) != TRACE_SET_EMPTY) {
    bool kept = amc_seg_keeps(amc, aseg, base, limit);
    ss->was_marked = kept;
    if (!kept) {
      if (ss->rank == RANK_WEAK)
        *ref_io = NULL;
      else
        amc_seg_mark(seg, ss, base);
    }
    goto done;
  }
  ss->was_marked = false;
  if (ss->rank == RANK_WEAK) {
    /* All strong fixes are done: an object not yet copied is dead. */
    *ref_io = NULL;
    goto done;
  }
  size = addr_offset(base, limit);
  to_gen = aseg->gen + 1 < amc->gen_count ? aseg->gen + 1 : aseg->gen;
  res = amc_forward_alloc(&to_seg, &new_base, amc, to_gen, size,
                          amc_epoch(amc, ss->trace), ss);
  if (res != MPS_RES_OK) {
    /* Emergency: no to-space, so keep the object where it is. */
    amc_seg_nail(seg, ss);
    amc_seg_mark(seg, ss, base);
    goto done;
  }
  shield_expose(shield, &to_seg->shield);
  mem_copy(addr_ptr(new_base), addr_ptr(base), size);
  shield_cover(shield, &to_seg->shield);
  new_ref = format_client(format, new_base);
  (*format->fwd)(addr_ptr(ref), addr_ptr(new_ref));
  *ref_io = new_ref;
  /* Survivors are new in the generation they are promoted into (what the
   * top generation takes brings the collection of the world nearer:
   * chain_top_due).  Only collections of the world copy the top
   * generation's own survivors, and what they promote is not new there
   * (chain_world_collected). */
  pool_gen_account_alloc(&amc->gens[to_gen].pgen, size);
  if (ss->trace != NULL)
    trace_note_forwarded(ss->trace, size);
  gcevent_emit(seg->arena->gc, EVENT_CAT_OBJECT, EVENT_OBJECT_COPY, 3,
               (Word[]){addr_word(ref), addr_word(new_ref), size});
done:
  shield_cover(shield, &seg->shield);
  return MPS_RES_OK;
}

/* Scan the kept objects of a nailed segment, each once, until nothing
 * new is marked in it.  A walk from the base follows new nails (they may
 * be inside objects); then the todo board gives the marked objects not yet
 * done, lowest first, each sweep starting at the lowest mark made since the
 * last one began.  Every object is done at most once, and each sweep or
 * walk that repeats does at least one, so there are at most as many as
 * objects.  An object is done only after its scan succeeds, so a retry
 * after a failure scans it again. */
static Res amc_seg_scan_nailed(Seg seg, ScanState ss)
{
  AMC amc = amc_of_seg(seg);
  AMCSeg aseg = amc_seg_of(seg);
  Format format = amc->format;
  mps_ss_t mps_ss = scan_state_public(ss);
  Addr base, limit;
  Res res;

  while (aseg->new_marks || addr_word(aseg->todo_from) < addr_word(aseg->used)) {
    while (aseg->new_marks) {
      aseg->new_marks = false;
      for (base = seg->base; addr_word(base) < addr_word(aseg->used); base = limit) {
        limit = amc_obj_limit(format, base);
        if (amc_is_forwarded(format, base) || !amc_seg_keeps(amc, aseg, base, limit))
          continue;
        if (!aseg->nailed_whole && nailboard_get(aseg->done, base))
          continue;
        res = (*format->scan)(mps_ss, addr_ptr(format_client(format, base)),
                              addr_ptr(format_client(format, limit)));
        if (res != MPS_RES_OK) {
          aseg->new_marks = true;   /* so a retry scans the rest */
          return res;
        }
        if (!aseg->nailed_whole)
          (void)nailboard_set(aseg->done, base);
      }
      /* Nailed whole, every object was scanned in the pass above, and
       * marks add nothing. */
      if (aseg->nailed_whole) {
        aseg->new_marks = false;
        aseg->todo_from = seg->limit;
        return MPS_RES_OK;
      }
    }
    base = aseg->todo_from;
    aseg->todo_from = seg->limit;
    while (nailboard_find_diff(&base, aseg->todo, aseg->done, base, aseg->used)) {
      limit = amc_obj_limit(format, base);
      /* Marked objects were never forwarded: the fix looks first. */
      AVER_CRITICAL(!amc_is_forwarded(format, base));
      res = (*format->scan)(mps_ss, addr_ptr(format_client(format, base)),
                            addr_ptr(format_client(format, limit)));
      if (res != MPS_RES_OK) {
        if (addr_word(base) < addr_word(aseg->todo_from))
          aseg->todo_from = base;
        return res;
      }
      (void)nailboard_set(aseg->done, base);
      base = limit;
    }
  }
  return MPS_RES_OK;
}

static Res amc_seg_scan(bool *total_o, Seg seg, ScanState ss)
{
  AMC amc = amc_of_seg(seg);
  AMCSeg aseg = amc_seg_of(seg);
  Format format = amc->format;
  mps_ss_t mps_ss = scan_state_public(ss);
  Addr base, limit;
  bool total;
  Res res;

  AVERT(amc_seg, aseg);
  AVER(amc->scannable);
  if ((seg->nailed & ss->traces) != TRACE_SET_EMPTY) {
    res = amc_seg_scan_nailed(seg, ss);
    if (res != MPS_RES_OK)
      return res;
    total = false;   /* only the kept objects were scanned */
  } else {
    Count epoch = ss->trace != NULL ? amc_epoch(amc, ss->trace) : 0;
    total = true;
    if (aseg->to_epoch != epoch || epoch == 0) {
      base = seg->base;
      limit = amc_seg_parse_limit(seg);
      if (addr_word(base) < addr_word(limit)) {
        res = (*format->scan)(mps_ss, addr_ptr(format_client(format, base)),
                              addr_ptr(format_client(format, limit)));
        if (res != MPS_RES_OK)
          return res;
      }
      /* This very scan may have made the segment to-space (see
       * amc_forward_alloc): what it scanned needs no second look, the
       * copies behind it need the loop below. */
      if (epoch != 0 && aseg->to_epoch == epoch)
        aseg->scanned = limit;
    } else {
      total = aseg->scanned == seg->base;
    }
    /* To-space of this trace: scan the copies not yet scanned, and any
     * that those scans copy in behind them. */
    while (epoch != 0 && aseg->to_epoch == epoch
           && addr_word(aseg->scanned) < addr_word(aseg->used)) {
      base = aseg->scanned;
      limit = aseg->used;
      res = (*format->scan)(mps_ss, addr_ptr(format_client(format, base)),
                            addr_ptr(format_client(format, limit)));
      if (res != MPS_RES_OK)
        return res;
      aseg->scanned = limit;
    }
  }
  seg_set_grey(seg, seg->grey & ~ss->traces);
  *total_o = total;
  return MPS_RES_OK;
}

/* A condemned segment a buffer still fills keeps nothing below used:
 * [from, used) becomes padding (a buffer owns the rest). */
static void amc_seg_pad_buffered(Seg seg, Addr from)
{
  AMCSeg aseg = amc_seg_of(seg);
  Format format = amc_of_seg(seg)->format;
  Shield shield = amc_shield(seg->arena);
  if (addr_word(from) < addr_word(aseg->used)) {
    shield_expose(shield, &seg->shield);
    (*format->pad)(addr_ptr(from), addr_offset(from, aseg->used));
    shield_cover(shield, &seg->shield);
  }
  aseg->scanned = seg->base;
  aseg->to_epoch = 0;
}

/* The segment's SegReclaim (event.h): `freed` is what leaves the pool's
 * in-use bytes, [base, used) for a segment freed, since its free tail
 * was never in use. */
static void amc_seg_reclaimed(Seg seg, Count kept_objects, Size kept, Size freed)
{
  gcevent_emit(seg->arena->gc, EVENT_CAT_SEG, EVENT_SEG_RECLAIM, 4,
               (Word[]){(Word)(uintptr_t)seg, kept_objects, kept, freed});
}

static void amc_seg_reclaim(Seg seg, Trace trace)
{
  AMC amc = amc_of_seg(seg);
  AMCSeg aseg = amc_seg_of(seg);
  Format format = amc->format;
  Arena arena = seg->arena;
  Shield shield = amc_shield(arena);
  TraceSet ts = TRACE_SET_SINGLE(trace->ti);
  Addr base, limit, dead = NULL, used = aseg->used;
  Size kept = 0;
  Count kept_objects = 0;

  AVERT(amc_seg, aseg);
  AVER((seg->white & ts) != TRACE_SET_EMPTY);
  AVER((seg->grey & ts) == TRACE_SET_EMPTY);
  if ((seg->nailed & ts) == TRACE_SET_EMPTY) {
    /* Every survivor was copied out.  A buffer still fills the rest,
     * and padding frees nothing (amc_free_size): see event.h. */
    if (seg->buffer != NULL) {
      amc_seg_pad_buffered(seg, seg->base);
      amc_seg_reclaimed(seg, 0, 0, 0);
      return;
    }
    amc_seg_reclaimed(seg, 0, 0, addr_offset(seg->base, used));
    amc_seg_destroy(seg);
    return;
  }

  /* Keep the kept objects in place; runs of the others (dead, or
   * forwarding objects whose copies live elsewhere) become padding. */
  shield_expose(shield, &seg->shield);
  for (base = seg->base; addr_word(base) < addr_word(aseg->used); base = limit) {
    limit = amc_obj_limit(format, base);
    if (!amc_is_forwarded(format, base) && amc_seg_keeps(amc, aseg, base, limit)) {
      if (dead != NULL) {
        (*format->pad)(addr_ptr(dead), addr_offset(dead, base));
        dead = NULL;
      }
      kept += addr_offset(base, limit);
      ++kept_objects;
      gcevent_emit(arena->gc, EVENT_CAT_OBJECT, EVENT_OBJECT_PRESERVE, 2,
                   (Word[]){addr_word(format_client(format, base)), addr_offset(base, limit)});
    } else if (dead == NULL) {
      dead = base;
    }
  }
  /* A dead run at the end goes back to the free tail instead, unless a
   * buffer owns the tail. */
  if (dead != NULL) {
    if (seg->buffer != NULL)
      (*format->pad)(addr_ptr(dead), addr_offset(dead, aseg->used));
    else
      aseg->used = dead;
  }
  shield_cover(shield, &seg->shield);
  aseg->scanned = seg->base;
  aseg->to_epoch = 0;
  amc_nails_free(arena, aseg);
  seg_set_nailed(seg, seg->nailed & ~ts);
  trace_note_preserved(trace, kept);
  /* A survivor stays white: the tracer whitens it back after reclaim
   * and counts what is still white as not reclaimed. */
  if (kept == 0 && seg->buffer == NULL) {
    amc_seg_reclaimed(seg, 0, 0, addr_offset(seg->base, used));
    amc_seg_destroy(seg);
    return;
  }
  /* Only a dead tail given back is free; dead runs between kept objects
   * stay in use as padding until the segment goes. */
  amc_seg_reclaimed(seg, kept_objects, kept, addr_offset(aseg->used, used));
}

/* ---- Segment methods for walks ---------------------------------------- */

/* Expose the segment if the collector is inside the shield.  Walks may
 * come from outside a collection, where the only protection is the write
 * barrier's, and they only read (a stepper's own stores fault, and the
 * barrier's hook takes them). */
static bool amc_seg_expose(Seg seg)
{
  Shield shield = amc_shield(seg->arena);
  if (!shield_is_inside(shield))
    return false;
  shield_expose(shield, &seg->shield);
  return true;
}

static void amc_seg_cover(Seg seg, bool exposed)
{
  if (exposed)
    shield_cover(amc_shield(seg->arena), &seg->shield);
}

static void amc_seg_walk(Seg seg, Format format, SegObjectVisitor visit, void *p, Size s)
{
  Addr base, limit, plimit = amc_seg_parse_limit(seg);
  bool exposed = amc_seg_expose(seg);
  AVER(format == amc_of_seg(seg)->format);
  for (base = seg->base; addr_word(base) < addr_word(plimit); base = limit) {
    limit = amc_obj_limit(format, base);
    if (!amc_is_forwarded(format, base))
      visit(format_client(format, base), format, seg->pool, p, s);
  }
  amc_seg_cover(seg, exposed);
}

static Res amc_seg_area_walk(Seg seg, mps_area_scan_t visit, void *closure, ScanState ss)
{
  Format format = amc_of_seg(seg)->format;
  Addr base = seg->base, limit = amc_seg_parse_limit(seg);
  bool exposed;
  Res res = MPS_RES_OK;
  if (addr_word(base) >= addr_word(limit))
    return MPS_RES_OK;
  exposed = amc_seg_expose(seg);
  res = visit(scan_state_public(ss), addr_ptr(format_client(format, base)),
              addr_ptr(format_client(format, limit)), closure);
  amc_seg_cover(seg, exposed);
  return res;
}

static Res amc_seg_addr_object(Addr *p_o, Seg seg, Addr addr)
{
  Format format = amc_of_seg(seg)->format;
  Addr base, limit, plimit = amc_seg_parse_limit(seg);
  bool exposed;
  Res res = MPS_RES_FAIL;
  if (addr_word(addr) >= addr_word(plimit))
    return MPS_RES_FAIL;
  exposed = amc_seg_expose(seg);
  for (base = seg->base; addr_word(base) < addr_word(plimit); base = limit) {
    limit = amc_obj_limit(format, base);
    if (addr_word(addr) < addr_word(limit)) {
      if (!amc_is_forwarded(format, base)) {
        *p_o = format_client(format, base);
        res = MPS_RES_OK;
      }
      break;
    }
  }
  amc_seg_cover(seg, exposed);
  return res;
}

/* A nailed segment keeps its objects in place for the trace, whatever the
 * rank of the fix (amc_seg_fix). */
static void amc_seg_pin(Seg seg, ScanState ss)
{
  amc_seg_nail(seg, ss);
}

static seg_class_s amc_seg_class_s = {
  SEG_CLASS_SIG, "AMC", sizeof(amc_seg_s), true, true,
  amc_seg_init, amc_seg_finish,
  amc_seg_whiten, amc_seg_scan, amc_seg_fix, amc_seg_reclaim,
  amc_seg_walk, amc_seg_area_walk, amc_seg_addr_object, amc_seg_pin
};

/* ---- Pool methods ----------------------------------------------------- */

static Res amc_init_common(Pool pool, mps_arg_s args[], bool scannable)
{
  AMC amc = amc_of_pool(pool);
  Arena arena = pool->arena;
  mps_arg_s arg;
  Format format;
  Chain chain, top;
  Index i;
  Res res;

  AVERT(args, args);
  amc->interior = true;
  amc->extend_by = AMC_EXTEND_BY_DEFAULT;
  if (args_pick(&arg, args, MPS_KEY_INTERIOR))
    amc->interior = arg.val.b != 0;
  if (args_pick(&arg, args, MPS_KEY_EXTEND_BY)) {
    AVER(arg.val.size > 0);
    if (arg.val.size == 0)
      return MPS_RES_PARAM;
    amc->extend_by = arg.val.size;
  }
  res = format_acquire(&format, arena, args, scannable ? "skfip" : "kfip", false);
  if (res != MPS_RES_OK)
    return res;
  res = chain_acquire(&chain, arena, args);
  if (res != MPS_RES_OK) {
    format_release(format);
    return res;
  }
  res = chain_top_acquire(&top, arena, chain);
  if (res != MPS_RES_OK) {
    chain_release(chain);
    format_release(format);
    return res;
  }
  amc->format = format;
  amc->chain = chain;
  amc->top = top;
  amc->gen_count = 0;
  amc->scannable = scannable;
  ring_init(&amc->seg_ring);
  amc->seg_count = 0;
  amc->total = 0;
  amc->fill_seg = NULL;
  amc->epoch_trace = NULL;
  amc->epoch_collections = 0;
  amc->epoch = 0;
  pool->format = format;
  pool->alignment = format->alignment;
  /* Signed before the generations are made, because pool_gen_init checks
   * the pool; gen_count counts those made so far (invariant 1). */
  amc->sig = AMC_SIG;
  for (i = 0; i <= chain->gen_count; ++i) {
    if (i < chain->gen_count)
      pool_gen_init(&amc->gens[i].pgen, pool, chain, i);
    else
      pool_gen_init(&amc->gens[i].pgen, pool, top, 0);
    amc->gens[i].fwd_seg = NULL;
    amc->gens[i].fwd_epoch = 0;
    amc->gen_count = i + 1;
  }
  AVERT(amc, amc);
  return MPS_RES_OK;
}

static Res amc_init(Pool pool, mps_arg_s args[])
{
  return amc_init_common(pool, args, true);
}

static Res amcz_init(Pool pool, mps_arg_s args[])
{
  return amc_init_common(pool, args, false);
}

static void amc_finish(Pool pool)
{
  AMC amc = amc_of_pool(pool);
  Ring node, next;
  Index i;
  AVERT(amc, amc);
  RING_FOR(node, &amc->seg_ring, next) {
    Seg seg = PARENT(seg_s, pool_ring, node);
    /* A collection cannot be running: the pool is being destroyed from
     * the client, outside the arena. */
    AVER(seg->white == TRACE_SET_EMPTY && seg->grey == TRACE_SET_EMPTY);
    amc_seg_destroy(seg);
  }
  AVER(amc->seg_count == 0 && amc->total == 0);
  amc->sig = SIG_INVALID;
  for (i = 0; i < amc->gen_count; ++i)
    pool_gen_finish(&amc->gens[i].pgen);
  ring_finish(&amc->seg_ring);
  chain_top_release(amc->top);
  chain_release(amc->chain);
  format_release(amc->format);
  pool->format = NULL;
}

static Res amc_buffer_fill(Addr *base_o, Addr *limit_o, Pool pool, Buffer buffer, Size size)
{
  AMC amc = amc_of_pool(pool);
  Seg seg = amc->fill_seg;
  AMCSeg aseg;
  Res res;

  AVERT(amc, amc);
  AVERT(buffer, buffer);
  AVER(size > 0 && size_is_aligned(size, pool->alignment));
  /* A white or grey segment is the tracer's until its trace ends: what
   * the mutator allocates during an incremental trace must be black
   * (seg.h, incremental). */
  if (seg == NULL || seg->buffer != NULL || seg->white != TRACE_SET_EMPTY
      || seg->grey != TRACE_SET_EMPTY
      || addr_offset(amc_seg_of(seg)->used, seg->limit) < size) {
    res = amc_seg_create(&seg, amc, 0, size);
    if (res != MPS_RES_OK)
      return res;
    amc->fill_seg = seg;
  }
  aseg = amc_seg_of(seg);
  AVER(seg->white == TRACE_SET_EMPTY);
  seg_set_buffer(seg, buffer);
  if (!buffer->hash_arrays)
    pool_gen_account_alloc(&amc->gens[0].pgen, addr_offset(aseg->used, seg->limit));
  *base_o = aseg->used;
  *limit_o = seg->limit;
  return MPS_RES_OK;
}

static void amc_buffer_empty(Pool pool, Buffer buffer, Addr init, Addr limit)
{
  Seg seg = NULL;   /* set by seg_of_addr; the AVER vanishes in rash */
  AMCSeg aseg;
  /* By its last byte: a collection may have raised the buffer's base to
   * the segment's limit (buffer_yield_committed). */
  bool found = seg_of_addr(&seg, pool->arena, addr_sub(limit, 1));
  AVER(found);
  AVER(seg->pool == pool && seg->buffer == buffer);
  aseg = amc_seg_of(seg);
  AVER(limit == seg->limit);
  AVER(addr_word(aseg->used) <= addr_word(init) && addr_word(init) <= addr_word(limit));
  UNUSED(limit);
  UNUSED(found);
  /* The unused part is the segment's free tail again (see the head). */
  aseg->used = init;
  aseg->scanned = seg->base;
  seg_set_buffer(seg, NULL);
}

static Size amc_total_size(Pool pool)
{
  return amc_of_pool(pool)->total;
}

static Size amc_free_size(Pool pool)
{
  AMC amc = amc_of_pool(pool);
  Ring node, next;
  Size free_size = 0;
  RING_FOR(node, &amc->seg_ring, next) {
    Seg seg = PARENT(seg_s, pool_ring, node);
    if (seg->buffer == NULL)
      free_size += addr_offset(amc_seg_of(seg)->used, seg->limit);
  }
  return free_size;
}

static bool amc_pool_check(Pool pool)
{
  return amc_check(amc_of_pool(pool));
}

static struct mps_pool_class_s amc_pool_class_s = {
  POOL_CLASS_SIG, "AMC", sizeof(amc_s),
  amc_init, amc_finish,
  NULL, NULL,                 /* no mps_alloc: allocation points only */
  amc_buffer_fill, amc_buffer_empty,
  amc_total_size, amc_free_size,
  NULL, NULL,
  amc_pool_check
};

static struct mps_pool_class_s amcz_pool_class_s = {
  POOL_CLASS_SIG, "AMCZ", sizeof(amc_s),
  amcz_init, amc_finish,
  NULL, NULL,
  amc_buffer_fill, amc_buffer_empty,
  amc_total_size, amc_free_size,
  NULL, NULL,
  amc_pool_check
};

mps_pool_class_t mps_class_amc(void)
{
  return &amc_pool_class_s;
}

mps_pool_class_t mps_class_amcz(void)
{
  return &amcz_pool_class_s;
}

void mps_amc_apply(mps_pool_t pool, mps_amc_apply_stepper_t f, void *p, size_t s)
{
  Arena arena;
  AMC amc;
  Ring node, next;

  AVER(pool != NULL && pool->sig == POOL_SIG);
  AVER(f != NULL);
  arena = pool->arena;
  arena_enter(arena);
  AVERT(pool, pool);
  AVER(amc_pool_is_amc(pool));
  /* manual/topic/deprecated.rst: the arena must be parked, so that no
   * object moves under the walk. */
  AVER(trace_arena_is_parked(arena) || arena->state == ARENA_POSTMORTEM);
  amc = amc_of_pool(pool);
  RING_FOR(node, &amc->seg_ring, next) {
    Seg seg = PARENT(seg_s, pool_ring, node);
    Format format = amc->format;
    Addr base, limit, plimit = amc_seg_parse_limit(seg);
    for (base = seg->base; addr_word(base) < addr_word(plimit); base = limit) {
      limit = amc_obj_limit(format, base);
      f(addr_ptr(format_client(format, base)), p, s);
    }
  }
  arena_leave(arena);
}
