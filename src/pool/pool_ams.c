/* pool_ams.c: the AMS (Automatic Mark and Sweep) pool class, its debugging
 * variant, and the mark-and-sweep engine that LO shares (pool_ams.h;
 * design/poolams.txt, design/buffer.txt; manual/pool/ams.rst).
 *
 * Objects never move.  A segment has one bit per grain (the pool's
 * alignment) in four tables:
 *   alloc     the grain is allocated: part of an object, or of the region
 *             a buffer is filling;
 *   nonstart  reset where an object starts (only committed objects outside
 *             an attached buffer's region have one: buffer_empty records
 *             the starts of what the buffer committed);
 *   marked    while the segment is white: the object starting here has
 *             been shown reachable; once such an object of a scanned
 *             (AMS, AWL) segment has been scanned, all its grains are
 *             set, so that reclaim finds survivors without reading them;
 *   nongrey   while the segment is white (AMS): reset where a marked
 *             object has not been scanned yet.
 * So while a segment is white an object is white (unmarked), grey (marked,
 * not scanned) or black (marked and scanned).  Fixing a reference to a
 * white object marks it -- grey in AMS, where the segment goes grey too,
 * black at once in LO, whose objects hold no references.  Scanning a white
 * segment scans its grey objects, lowest first, going back whenever a fix
 * greys an object below the cursor (grey_lo), until none is left.  A
 * segment that is not white is scanned whole.  Reclaim frees the unmarked
 * objects of a white segment, and the segment if nothing in it is left.
 * Nothing in the tables needs the objects' memory except recording starts
 * (buffer_empty) and finding object ends (skip), so fix never touches
 * client memory.  Free gaps are never parsed (every walk follows the
 * alloc table), so nothing is padded and the format needs no pad method.
 *
 * Ambiguous references: a word that lands in an allocated grain keeps the
 * object containing it (the nearest start at or below it: every
 * allocated run outside a buffer is a sequence of whole objects starting
 * with a recorded start); any other word keeps nothing.  With
 * MPS_KEY_AMS_SUPPORT_AMBIGUOUS false, an ambiguous reference into the
 * pool is a client error (reported, then treated as if supported).
 *
 * Ranks (manual/pool/ams.rst, awl.rst; design/poolawl.txt): an
 * allocation point's rank (MPS_KEY_RANK, buffer->rank) is the rank of the
 * references in what it allocates, so a fill takes only segments of that
 * rank, or makes one: the tracer scans a segment at the rank of its rank
 * set, so ambiguous segments are scanned in the ambiguous band and weak
 * ones after every strong reference has been fixed.  A weak fix of an
 * unmarked object splats the reference (the object is dead: only strong
 * fixes mark); a weak segment's own objects live by strong references
 * only.  Every fix that is not ambiguous sets ss->was_marked: true when
 * the object had already been marked, false when it was white (and, at
 * exact and final rank, this fix marked it) -- finalization relies on it.
 *
 * Allocation points: a fill hands the buffer a whole free run of a
 * segment that no buffer is attached to, and attaches the buffer; a scan
 * covers only the committed part [buffer base, committed limit) of the
 * region (buffer_committed_limit: ap.init unless the buffer is trapped).
 * Bytes are counted into the pool's generation when the buffer is emptied
 * (what was committed), so unused tails are not counted.  Such a segment
 * can be condemned: whiten first hands the committed part to the segment
 * as an empty would (buffer_yield_committed), so the trace never looks
 * into the region, where a reserve of the stopped mutator may be pending
 * (the flip traps the buffer, so that commit fails).
 *
 * Incremental collection (trace.c): a fill takes no run of a white or
 * grey segment, so what the mutator allocates while a trace is under way
 * is black, and no fill faults at once on a read-protected segment; and
 * every access to a segment's memory goes through the shield
 * (ams_seg_expose).  So the engine's segment class is incremental (seg.h).
 *
 * Where a fill looks (ams_buffer_fill) is next fit with a reset: the pool
 * keeps a cursor (fill_seg, fill_index) just past the last region handed
 * out, and a fill searches on from it, round the ring of segments, back
 * to it, before making a new segment.  A pure first fit from the first
 * segment re-scanned, on every fill, every table it had already used up:
 * after a collection leaves the segments full of small holes, n fills
 * cost n times the whole pool (quadratic).  With the cursor a fill scans
 * only what lies between where the last fill ended and the run it
 * takes, so a sweep over the pool's holes costs one pass over its tables.
 * Two things keep placement close to first fit's: a reclaim that frees
 * anything moves the cursor back to the first segment, so after each
 * collection the holes are refilled from the bottom of the pool, in order;
 * and a buffer_empty that gives back its unused tail moves the cursor back
 * to it, so the tail is the next thing offered.  Segments that cannot
 * help are passed in constant time: each keeps run_max, an upper bound on
 * its longest free run -- exact when computed (a new segment, a reclaim),
 * lowered below a request when a search of the whole segment for it
 * fails, raised when grains are freed -- so a fill that fails once for a
 * size does not scan those tables again for that size until something
 * in them is freed.  A fill takes a whole free run (extended down past
 * the cursor if the run began below it), so the grains either side of a
 * buffer's region stay allocated while it is attached, and its unused
 * tail, given back, is exactly one free run: run_max is raised exactly.
 *
 * Debugging (mps_class_ams_debug): the free-space template is laid over
 * every free grain (new segments, dead objects at reclaim, unused buffer
 * tails), checked when a fill hands the grains out and by
 * mps_pool_check_free_space, so a write through a dangling reference to a
 * dead object is reported.  Fenceposts need mps_alloc, which AMS does not
 * have: the fence template is accepted and unused.
 *
 * Invariants (ams_check, ams_seg_check):
 *   1. the format is genuine, is the pool's, and its alignment is the
 *      pool's, 2^grain_shift; the PoolGen is of the pool's chain;
 *   2. seg_count and total are the number and bytes of segments on
 *      seg_ring; free <= total is the bytes of their free grains;
 *   3. a segment has grains = size / alignment bits per table, and
 *      free_grains is the number of reset alloc bits;
 *   4. a start is allocated (nonstart reset implies alloc set);
 *   5. a segment with a buffer attached has the buffer's region in it,
 *      wholly allocated, with no start in it; if the segment is white,
 *      no committed object is in that region either (whiten took them
 *      into the segment: see ams_seg_whiten);
 *   6. while white: a grey object is marked; no grey object lies below
 *      grey_lo; LO segments have no grey object; marks counts the
 *      objects marked since the segment was whitened;
 *   7. a scanned (AMS, AWL) segment has a rank set of one rank, one of
 *      the pool's ap_rank_set, the rank of the buffer that filled it
 *      (segments never mix ranks); LO segments are leaves, and LO pools
 *      list no ranks; AMS lists exact, and ambiguous exactly when it
 *      supports ambiguous references; AWL lists exact and weak;
 *   8. a debugging template is present exactly when its size is non-zero;
 *   9. no free run of a segment is longer than its run_max, and run_max
 *      <= free_grains;
 *  10. the fill cursor is null with index 0, or one of the pool's segments
 *      with an index at most its grains;
 *  11. objects are set aside (defer) only while an AMS scan runs, and
 *      then marked but not grey, in segments of the scan's rank that are
 *      not grey either and have been scanned since they were whitened.
 */

#include "../../include/mpscams.h"
#include "../base/args.h"
#include "../data/bt.h"
#include "../gc/seg.h"
#include "../gc/trace.h"
#include "buffer.h"
#include "pool_ams.h"

/* Ordinary segments are this big (rounded up to the arena grain); a
 * larger request gets a segment of its own size. */
#define AMS_SEG_SIZE_DEFAULT ((Size)64 * 1024)

#define AMS_REPORT_MAX 96

/* What the fix and the mark read comes first, next to the descriptor's
 * own fix fields (seg.h). */
typedef struct ams_seg_s {
  seg_s seg;                   /* first: a Seg is an AMS segment */
  BT nonstart, marked, nongrey, alloc;   /* see the opening comment */
  Index grey_lo;               /* invariant 6 */
  Count marks;                 /* invariant 6 */
  bool scanned;                /* while white: scanned since whitened */
  Sig sig;
  Count grains;
  Count free_grains;
  Count run_max;               /* invariant 9 */
} ams_seg_s;
typedef struct ams_seg_s *AMSSeg;

static seg_class_s ams_seg_class_s;

static inline AMSSeg ams_seg_of(Seg seg) { return PARENT(ams_seg_s, seg, seg); }
static inline AMS ams_of_seg(Seg seg) { return ams_of_pool(seg->pool); }

bool ams_seg_check(AMSSeg aseg);

bool ams_check(AMS ams)
{
  CHECKS(AMS_SIG, ams);
  CHECKD(format, ams->format);                                              /* 1 */
  CHECKL(ams->pool.format == ams->format);
  CHECKL(ams->pool.alignment == ams->format->alignment);
  CHECKL(((Size)1 << ams->grain_shift) == ams->pool.alignment);
  /* The generation is made after the pool is signed (pool_gen_init checks
   * the pool), so it may not exist yet. */
  if (ams->pgen.sig == POOL_GEN_SIG) {
    CHECKD(pool_gen, &ams->pgen);
    CHECKL(ams->pgen.chain == ams->chain && ams->pgen.pool == &ams->pool);
  }
  CHECKL((ams->seg_count == 0) == ring_is_single(&ams->seg_ring));          /* 2 */
  CHECKL(ams->free <= ams->total);
  CHECKL(ams->seg_size > 0);
  CHECKL((ams->free_template == NULL) == (ams->free_template_size == 0));  /* 8 */
  CHECKL(ams->defer_count <= AMS_DEFER_MAX);                                /* 11 */
  CHECKL(ams->defer_ss != NULL || ams->defer_count == 0);
  CHECKL(ams->defer_ss == NULL || ams->kind == AMS_KIND_AMS);
  CHECKL(ams->scannable == (ams->kind != AMS_KIND_LO));                     /* 7 */
  switch (ams->kind) {
  case AMS_KIND_AMS:
    CHECKL(ams->pool.ap_rank_set
           == (RANK_SET_SINGLE(RANK_EXACT)
               | (ams->support_ambiguous ? RANK_SET_SINGLE(RANK_AMBIG) : RANK_SET_EMPTY)));
    break;
  case AMS_KIND_LO:
    CHECKL(ams->pool.ap_rank_set == RANK_SET_EMPTY);
    break;
  case AMS_KIND_AWL:
    CHECKL(ams->pool.ap_rank_set
           == (RANK_SET_SINGLE(RANK_EXACT) | RANK_SET_SINGLE(RANK_WEAK)));
    break;
  default:
    CHECKL(false);
    break;
  }
  CHECKL(ams->fill_seg == NULL                                              /* 10 */
         ? ams->fill_index == 0
         : ams->fill_seg->pool == &ams->pool
           && ams->fill_index <= ams_seg_of(ams->fill_seg)->grains);
  return true;
}

bool ams_pool_check(Pool pool)
{
  return ams_check(ams_of_pool(pool));
}

static inline Index ams_index(AMSSeg aseg, Addr a)
{
  return addr_offset(aseg->seg.base, a) >> ams_of_seg(&aseg->seg)->grain_shift;
}

static inline Addr ams_addr(AMSSeg aseg, Index i)
{
  return addr_add(aseg->seg.base, i << ams_of_seg(&aseg->seg)->grain_shift);
}

/* The length of the segment's longest free run (for invariant 9). */
static inline Count ams_seg_longest_free(AMSSeg aseg)
{
  Index i = 0, b, l;
  Count longest = 0;
  while (i < aseg->grains && bt_find_long_res_range(&b, &l, aseg->alloc, i, aseg->grains, 1)) {
    if (l - b > longest)
      longest = l - b;
    i = l;
  }
  return longest;
}

bool ams_seg_check(AMSSeg aseg)
{
  Seg seg;
  AMS ams;
  CHECKS(AMS_SEG_SIG, aseg);
  seg = &aseg->seg;
  CHECKD(seg, seg);
  CHECKL(seg->klass == &ams_seg_class_s);
  ams = ams_of_seg(seg);
  CHECKU(AMS_SIG, ams);
  CHECKL(aseg->grains == seg_size(seg) >> ams->grain_shift);               /* 3 */
  CHECKL(aseg->free_grains == bt_count_res_range(aseg->alloc, 0, aseg->grains));
  CHECKL(aseg->run_max <= aseg->free_grains);                               /* 9 */
  CHECKL(ams_seg_longest_free(aseg) <= aseg->run_max);
  CHECKL(aseg->grey_lo <= aseg->grains);
  if (seg->buffer != NULL) {                                                /* 5 */
    Buffer buffer = seg->buffer;
    CHECKL(addr_word(seg->base) <= addr_word(buffer->base));
    CHECKL(addr_word(buffer->pool_limit) <= addr_word(seg->limit));
  }
  if (ams->scannable)                                                       /* 7 */
    CHECKL(seg->rank_set != RANK_SET_EMPTY
           && (seg->rank_set & (seg->rank_set - 1)) == 0
           && (seg->rank_set & ~ams->pool.ap_rank_set) == 0);
  else
    CHECKL(seg->rank_set == RANK_SET_EMPTY);
  return true;
}

/* ---- Debugging templates ---------------------------------------------- */

/* The template is laid by absolute address (the byte at a is
 * template[a mod size]), so ranges laid at different times join up. */
static void ams_splat(AMS ams, Addr base, Addr limit)
{
  Byte *p = addr_ptr(base), *end = addr_ptr(limit);
  Size size = ams->free_template_size, phase;
  if (ams->free_template == NULL || p == end)
    return;
  phase = (Size)(addr_word(base) % size);
  while (p < end) {
    Size n = size_min((Size)(end - p), size - phase);
    mem_copy(p, ams->free_template + phase, n);
    p += n;
    phase = 0;
  }
}

static void ams_report_num(char **out, char *end, Word n, unsigned radix)
{
  char digits[sizeof(Word) * 8];
  Index i = 0;
  do {
    digits[i++] = "0123456789abcdef"[n % radix];
    n /= radix;
  } while (n != 0);
  while (i > 0 && *out < end)
    *(*out)++ = digits[--i];
}

static void ams_report_str(char **out, char *end, const char *s)
{
  while (*s != '\0' && *out < end)
    *(*out)++ = *s++;
}

/* Report each run of bytes in [base, limit) that no longer holds the
 * template, with the message of the debugging mixin (pool_debug.h), on
 * the stack: the report path must not allocate. */
static void ams_check_template(AMS ams, Addr base, Addr limit)
{
  const Byte *p = addr_ptr(base), *end = addr_ptr(limit);
  Size size = ams->free_template_size;
  if (ams->free_template == NULL)
    return;
  while (p < end) {
    const Byte *bad;
    char text[AMS_REPORT_MAX], *out = text, *tend = text + sizeof text - 1;
    if (*p == ams->free_template[(uintptr_t)p % size]) {
      ++p;
      continue;
    }
    bad = p;
    while (p < end && *p != ams->free_template[(uintptr_t)p % size])
      ++p;
    ams_report_str(&out, tend, "free space overwritten at 0x");
    ams_report_num(&out, tend, (Word)(uintptr_t)bad, 16);
    ams_report_str(&out, tend, " (");
    ams_report_num(&out, tend, (Word)(p - bad), 10);
    ams_report_str(&out, tend, " bytes)");
    *out = '\0';
    check_fail(__FILE__, (unsigned)__LINE__, text);
  }
}

/* ---- Segments --------------------------------------------------------- */

/* How the memory of a segment was reached (ams_seg_expose). */
typedef enum ams_exposure_e {
  AMS_UNEXPOSED,         /* outside the shield, not read-protected */
  AMS_EXPOSED,           /* exposed inside the caller's shield entry */
  AMS_ENTERED            /* the shield entered for the purpose, and exposed */
} AMSExposure;

/* Reach the segment's memory through the shield.  The collector is inside
 * it; fills, empties and the debugging checks come from outside, where
 * the segment is reached directly unless it is read-protected (grey for
 * an incremental trace, buffered or not: barrier.h), and otherwise
 * through a shield entry of its own, which holds the mutator meanwhile.
 * The write barrier needs no entry: from outside, only a buffered
 * segment is written (templates over an empty's tail), and a buffered
 * segment is never write-protected. */
static AMSExposure ams_seg_expose(Seg seg)
{
  Shield shield = &seg->arena->gc->shield;
  AMSExposure how = AMS_EXPOSED;
  if (!shield_is_inside(shield)) {
    if ((seg->shield.sm & PROT_DENY_READ) == 0)
      return AMS_UNEXPOSED;
    shield_enter(shield);
    how = AMS_ENTERED;
  }
  shield_expose(shield, &seg->shield);
  return how;
}

static void ams_seg_cover(Seg seg, AMSExposure how)
{
  Shield shield = &seg->arena->gc->shield;
  if (how == AMS_UNEXPOSED)
    return;
  shield_cover(shield, &seg->shield);
  if (how == AMS_ENTERED)
    shield_leave(shield);
}

static Res ams_seg_init(Seg seg, Pool pool)
{
  AMSSeg aseg = ams_seg_of(seg);
  AMS ams = ams_of_pool(pool);
  Count grains = seg_size(seg) >> ams->grain_shift;
  Size table = bt_size(grains);
  void *p;
  Res res;

  res = arena_control_alloc(&p, pool->arena, 4 * table);
  if (res != MPS_RES_OK)
    return res;
  aseg->alloc = p;
  aseg->nonstart = (BT)(void *)((char *)p + table);
  aseg->marked = (BT)(void *)((char *)p + 2 * table);
  aseg->nongrey = (BT)(void *)((char *)p + 3 * table);
  bt_res_range(aseg->alloc, 0, grains);
  bt_set_range(aseg->nonstart, 0, grains);
  bt_res_range(aseg->marked, 0, grains);
  bt_set_range(aseg->nongrey, 0, grains);
  aseg->grains = grains;
  aseg->free_grains = grains;
  aseg->run_max = grains;
  aseg->grey_lo = grains;
  aseg->marks = 0;
  aseg->scanned = false;
  /* Fresh memory is free memory: lay the template (debugging only). */
  ams_splat(ams, seg->base, seg->limit);
  aseg->sig = AMS_SEG_SIG;
  return MPS_RES_OK;
}

static void ams_seg_finish(Seg seg)
{
  AMSSeg aseg = ams_seg_of(seg);
  aseg->sig = SIG_INVALID;
  arena_control_free(seg->arena, aseg->alloc, 4 * bt_size(aseg->grains));
}

static Res ams_seg_create(Seg *seg_o, AMS ams, Size size, RankSet rank_set)
{
  Seg seg;
  Res res = seg_alloc(&seg, &ams_seg_class_s, &ams->pool, size, rank_set, &ams->pgen);
  if (res != MPS_RES_OK)
    return res;
  ring_append(&ams->seg_ring, &seg->pool_ring);
  ++ams->seg_count;
  ams->total += size;
  ams->free += size;
  *seg_o = seg;
  return MPS_RES_OK;
}

static void ams_seg_destroy(Seg seg)
{
  AMS ams = ams_of_seg(seg);
  AMSSeg aseg = ams_seg_of(seg);
  Size size = seg_size(seg);
  AVER(ams->seg_count > 0 && ams->total >= size);
  if (ams->fill_seg == seg) {
    ams->fill_seg = NULL;         /* invariant 10: the next fill starts over */
    ams->fill_index = 0;
  }
  ring_remove(&seg->pool_ring);
  --ams->seg_count;
  ams->total -= size;
  ams->free -= aseg->free_grains << ams->grain_shift;
  seg_free(seg);
}

/* The memory limit of the object whose memory starts at `base`. */
static inline Addr ams_obj_limit(Format format, Addr base)
{
  Addr client = format_client(format, base);
  Addr next = addr_of_ptr((*format->skip)(addr_ptr(client)));
  AVER_CRITICAL(addr_word(next) > addr_word(client));
  return format_base(format, next);
}

/* Scan the run [base, limit) of whole objects in `seg`: in one call of the
 * format's scan method, or object by object through the class's hook. */
static Res ams_scan_run(AMS ams, Seg seg, ScanState ss, Addr base, Addr limit,
                        bool *total_io)
{
  Format format = ams->format;
  Addr next;
  Res res;
  if (ams->scan_object == NULL)
    return (*format->scan)(scan_state_public(ss), addr_ptr(format_client(format, base)),
                           addr_ptr(format_client(format, limit)));
  for (; addr_word(base) < addr_word(limit); base = next) {
    next = ams_obj_limit(format, base);
    res = (*ams->scan_object)(ams, seg, ss, base, next, total_io);
    if (res != MPS_RES_OK)
      return res;
  }
  return MPS_RES_OK;
}

/* The next run [*base_o, *limit_o) of committed objects at or after grain
 * *cursor_io: an allocated run outside the attached buffer's region, or
 * the committed part of that region.  Each is a sequence of whole
 * formatted objects.  False when there is none left. */
static bool ams_seg_next_run(Addr *base_o, Addr *limit_o, AMSSeg aseg, Index *cursor_io)
{
  Seg seg = &aseg->seg;
  Index i = *cursor_io, n = aseg->grains, fb, fl, end;
  Index bb = n, bl = n, bi = n;
  if (seg->buffer != NULL) {
    bb = ams_index(aseg, seg->buffer->base);
    bl = ams_index(aseg, seg->buffer->pool_limit);
    bi = ams_index(aseg, buffer_committed_limit(seg->buffer));
  }
  while (i < n) {
    if (i == bb && bb < bl) {
      /* The buffer's committed objects; the rest of it is the mutator's.
       * (A collection may have left the region empty: ams_seg_whiten.) */
      i = bl;
      if (bi > bb) {
        *base_o = ams_addr(aseg, bb);
        *limit_o = ams_addr(aseg, bi);
        *cursor_io = i;
        return true;
      }
      continue;
    }
    /* The first free grain at or after i: two scans a word at a time,
     * cheaper than a search for a run. */
    if (bt_find_res(&fb, aseg->alloc, i, n)) {
      if (fb == i) {        /* free grains here: skip them */
        if (!bt_find_set(&fl, aseg->alloc, i, n))
          fl = n;
        i = fl;
        continue;
      }
      end = fb;
    } else {
      end = n;
    }
    if (i < bb && bb < end)
      end = bb;             /* stop where the buffer's region begins */
    *base_o = ams_addr(aseg, i);
    *limit_o = ams_addr(aseg, end);
    *cursor_io = end;
    return true;
  }
  *cursor_io = n;
  return false;
}

/* Free grains [i, j) of a segment.  The caller brings run_max up to date
 * (invariant 9): only it knows what the freed grains join. */
static void ams_seg_free_grains(AMS ams, AMSSeg aseg, Index i, Index j)
{
  AVER(i < j);
  bt_res_range(aseg->alloc, i, j);
  bt_set_range(aseg->nonstart, i, j);
  aseg->free_grains += j - i;
  ams->free += (j - i) << ams->grain_shift;
  ams_splat(ams, ams_addr(aseg, i), ams_addr(aseg, j));
}

/* ---- Segment methods for the tracer ----------------------------------- */

static Res ams_seg_whiten(Seg seg, Trace trace, Size *condemned_io)
{
  AMSSeg aseg = ams_seg_of(seg);
  AVERT(ams_seg, aseg);
  AVERT(trace, trace);
  /* A segment a buffer is filling is condemned too.  Its committed
   * objects become the segment's, as a buffer empty would make them
   * (their starts recorded, their bytes counted as allocated), and the
   * buffer keeps only [committed limit, limit), where a reserve of the stopped
   * mutator may be pending: the flip traps it, so its commit fails. */
  if (seg->buffer != NULL) {
    Buffer buffer = seg->buffer;
    AMS ams = ams_of_seg(seg);
    Addr base, init = buffer_committed_limit(buffer);
    AMSExposure exposed = ams_seg_expose(seg);
    for (base = buffer->base; addr_word(base) < addr_word(init);
         base = ams_obj_limit(ams->format, base))
      bt_res(aseg->nonstart, ams_index(aseg, base));
    AVER(base == init);
    ams_seg_cover(seg, exposed);
    if (init != buffer->base)
      pool_gen_account_alloc(&ams->pgen, addr_offset(buffer->base, init));
    (void)buffer_yield_committed(buffer);
  }
  bt_res_range(aseg->marked, 0, aseg->grains);
  bt_set_range(aseg->nongrey, 0, aseg->grains);
  aseg->grey_lo = aseg->grains;
  aseg->marks = 0;
  aseg->scanned = false;
  seg_set_white(seg, seg->white | TRACE_SET_SINGLE(trace->ti));
  *condemned_io += seg_size(seg);
  return MPS_RES_OK;
}

/* Grey the marked object at grain j of a white segment. */
static void ams_seg_grey(Seg seg, ScanState ss, Index j)
{
  AMSSeg aseg = ams_seg_of(seg);
  bt_res(aseg->nongrey, j);                                                 /* 6 */
  if (j < aseg->grey_lo)
    aseg->grey_lo = j;
  if ((seg->grey & ss->traces) != ss->traces)
    seg_set_grey(seg, seg->grey | ss->traces);
}

/* Mark the object starting at grain j of a white segment: black at once
 * in a leaf segment, set aside for the running scan (see defer in
 * pool_ams.h) if its segment is not grey and there is room, else grey. */
static ALWAYS_INLINE void ams_seg_mark(Seg seg, ScanState ss, Index j)
{
  AMSSeg aseg = ams_seg_of(seg);
  AMS ams;
  bt_set(aseg->marked, j);
  ++aseg->marks;
  if (seg->rank_set == RANK_SET_EMPTY)
    return;
  ams = ams_of_seg(seg);
  if (ams->defer_ss == ss && (seg->grey & ss->traces) == 0 && aseg->scanned
      && ams->defer_count < AMS_DEFER_MAX && seg->rank_set == RANK_SET_SINGLE(ss->rank)) {
    ams->defer[ams->defer_count].seg = seg;
    ams->defer[ams->defer_count].i = j;
    ++ams->defer_count;
    __builtin_prefetch(addr_ptr(ams_addr(aseg, j)));   /* ams_drain scans it soon */
    return;
  }
  ams_seg_grey(seg, ss, j);
}

static Res ams_seg_fix(Seg seg, ScanState ss, Addr *ref_io)
{
  AMSSeg aseg = ams_seg_of(seg);
  AMS ams = ams_of_seg(seg);
  Addr ref = *ref_io;
  Size header = ams->format->header_size;
  Index i, b, l;
  bool is_start;

  AVER_CRITICAL((seg->white & ss->traces) != TRACE_SET_EMPTY);
  /* Nothing committed lies in a white segment's buffer region (5). */
  if (seg->buffer != NULL && addr_word(ref) >= addr_word(seg->buffer->base)
      && addr_word(ref) < addr_word(seg->buffer->pool_limit)) {
    AVER(ss->rank == RANK_AMBIG);   /* an exact reference to no object */
    return MPS_RES_OK;
  }
  if (ss->rank == RANK_AMBIG) {
    /* The client promised no ambiguous references to this pool. */
    AVER(ams->support_ambiguous);
    i = ams_index(aseg, ref);
    if (!bt_get(aseg->alloc, i))
      return MPS_RES_OK;          /* a stray word: keeps nothing */
    /* The object containing it starts at the nearest start below. */
    if (!bt_find_short_res_range_high(&b, &l, aseg->nonstart, 0, i + 1, 1)) {
      NOTREACHED;                 /* every allocated run begins with a start */
      return MPS_RES_OK;
    }
    if (!bt_get(aseg->marked, b))
      ams_seg_mark(seg, ss, b);
    return MPS_RES_OK;
  }

  /* Exact, final or weak: ref is an object's client pointer.  A start is
   * allocated (invariant 4), so the start table alone says whether it is
   * one; the check reads nothing the fix does not need. */
  i = addr_offset(seg->base, ref) >= header
      ? ams_index(aseg, format_base(ams->format, ref)) : 0;
  is_start = addr_offset(seg->base, ref) >= header
             && addr_is_aligned(format_base(ams->format, ref), ams->pool.alignment)
             && !bt_get(aseg->nonstart, i);
  AVER(is_start);
  if (!is_start)
    return MPS_RES_OK;            /* not an object: refused above */
  if (bt_get(aseg->marked, i)) {
    ss->was_marked = true;
    return MPS_RES_OK;
  }
  ss->was_marked = false;
  if (ss->rank == RANK_WEAK) {
    /* Every strong fix is done: an unmarked object is dead. */
    *ref_io = NULL;
    return MPS_RES_OK;
  }
  ams_seg_mark(seg, ss, i);
  return MPS_RES_OK;
}

/* Scan the objects the running scan set aside (see defer in pool_ams.h),
 * and those that their scans set aside, most recent first, up to
 * AMS_DRAIN_MAX of them, so that one scan's pause stays bounded.  The
 * rest are greyed as ams_seg_mark would have, as is an object whose scan
 * fails, or whose segment has turned grey meanwhile (the stack was full
 * for another of its objects): the segment's own scan will find it. */
#define AMS_DRAIN_MAX ((Count)4096)

static void ams_drain(AMS ams, ScanState ss)
{
  Count scanned = 0;
  while (ams->defer_count > 0) {
    ams_defer_s d = ams->defer[--ams->defer_count];
    AMSSeg aseg = ams_seg_of(d.seg);
    if (scanned < AMS_DRAIN_MAX && (d.seg->grey & ss->traces) == 0) {
      Addr base = ams_addr(aseg, d.i), limit;
      bool total = true;
      AMSExposure how = ams_seg_expose(d.seg);
      Res res;
      limit = ams_obj_limit(ams->format, base);
      res = ams_scan_run(ams, d.seg, ss, base, limit, &total);
      ams_seg_cover(d.seg, how);
      if (res == MPS_RES_OK) {
        bt_set_range(aseg->marked, d.i, ams_index(aseg, limit));   /* black */
        /* The object may now refer to where its referents moved: its
         * segment's summary takes everything this scan has seen. */
        seg_set_summary(d.seg, d.seg->summary | scan_state_summary(ss));
        ++scanned;
        continue;
      }
    }
    ams_seg_grey(d.seg, ss, d.i);
  }
}

static Res ams_seg_scan_own(bool *total_o, Seg seg, ScanState ss);

/* Prefetching in the scan of a white segment.  Its grey objects lie
 * wherever fixes marked them, and most of them have not been touched
 * since they were allocated, so the first read of each (the format's
 * skip) used to miss the cache: 17% of AMS's time on mutate in bench/gc.
 * The scan keeps AMS_AHEAD grey objects beyond the run it is scanning
 * prefetched (found in the nongrey table by a cursor that only moves
 * forward, so the table is searched about once more in all), and, inside
 * a run, the memory AMS_RUN_AHEAD bytes after the object it is about to
 * measure.  Deferred objects are prefetched when set aside (ams_seg_mark).
 * A prefetch never faults, so one past the segment, or into a protected
 * page, is harmless.  See docs/performance.md, "The prefetch round". */
#define AMS_AHEAD 4
#define AMS_RUN_AHEAD 256

/* Scan a segment, then what that set aside (ams_drain). */
static Res ams_seg_scan(bool *total_o, Seg seg, ScanState ss)
{
  AMS ams = ams_of_seg(seg);
  Res res;
  AVER(ams->defer_ss == NULL && ams->defer_count == 0);   /* scans do not nest */
  ams->defer_ss = ams->kind == AMS_KIND_AMS ? ss : NULL;
  res = ams_seg_scan_own(total_o, seg, ss);
  ams_drain(ams, ss);
  ams->defer_ss = NULL;
  return res;
}

static Res ams_seg_scan_own(bool *total_o, Seg seg, ScanState ss)
{
  AMSSeg aseg = ams_seg_of(seg);
  AMS ams = ams_of_seg(seg);
  Format format = ams->format;
  Addr base, limit;
  Index i;
  bool total = true;
  Res res;

  AVERT(ams_seg, aseg);
  AVER(seg->rank_set != RANK_SET_EMPTY);
  if ((seg->white & ss->traces) != TRACE_SET_EMPTY) {
    /* Only the grey objects.  Each pass blackens one, and an object is
     * greyed once, so this ends. */
    /* ahead: a ring of the grey objects prefetched beyond the current
     * run, ascending from ahead_first; the cursor ahead_hi is one past
     * the last found. */
    Index ahead[AMS_AHEAD], ahead_hi = 0;
    Count ahead_first = 0, ahead_n = 0;
    while (aseg->grey_lo < aseg->grains) {
      Index j;
      if (!bt_find_res(&i, aseg->nongrey, aseg->grey_lo, aseg->grains)) {
        aseg->grey_lo = aseg->grains;
        break;
      }
      /* The grey objects that follow it without a gap join it, so that
       * one call of the format scans them all: live objects were mostly
       * allocated together and are marked together, and a call and a
       * search per object cost more than scanning most objects.  Only a
       * grey object's start has its nongrey bit reset (the tables above), so
       * a reset bit at an object's end starts the next grey object. */
      base = ams_addr(aseg, i);
      limit = base;
      j = i;
      do {
        bt_set(aseg->nongrey, j);
        __builtin_prefetch((char *)addr_ptr(limit) + AMS_RUN_AHEAD);
        limit = ams_obj_limit(format, limit);
        j = ams_index(aseg, limit);
      } while (j < aseg->grains && !bt_get(aseg->nongrey, j));
      aseg->grey_lo = j;          /* fixes below may lower it again */
      while (ahead_n > 0 && ahead[ahead_first] < j) {
        ahead_first = (ahead_first + 1) % AMS_AHEAD;
        --ahead_n;
      }
      if (ahead_hi < j)
        ahead_hi = j;
      while (ahead_n < AMS_AHEAD && ahead_hi < aseg->grains) {
        Index k;
        if (!bt_find_res(&k, aseg->nongrey, ahead_hi, aseg->grains)) {
          ahead_hi = aseg->grains;
          break;
        }
        __builtin_prefetch(addr_ptr(ams_addr(aseg, k)));
        ahead[(ahead_first + ahead_n) % AMS_AHEAD] = k;
        ++ahead_n;
        ahead_hi = k + 1;
      }
      res = ams_scan_run(ams, seg, ss, base, limit, &total);
      if (res == MPS_RES_OK) {
        bt_set_range(aseg->marked, i, j);   /* black: every grain marked */
      } else {
        /* Still grey, so a retry scans them. */
        Addr obj;
        for (obj = base; addr_word(obj) < addr_word(limit); obj = ams_obj_limit(format, obj))
          bt_res(aseg->nongrey, ams_index(aseg, obj));
        if (i < aseg->grey_lo)
          aseg->grey_lo = i;
        return res;
      }
    }
    aseg->scanned = true;
    total = false;   /* the white objects were not scanned */
  } else {
    Index cursor = 0;
    while (ams_seg_next_run(&base, &limit, aseg, &cursor)) {
      res = ams_scan_run(ams, seg, ss, base, limit, &total);
      if (res != MPS_RES_OK)
        return res;
    }
  }
  seg_set_grey(seg, seg->grey & ~ss->traces);
  *total_o = total;
  return MPS_RES_OK;
}

/* Reclaim a scanned segment by its tables alone (no template to lay over
 * the freed grains): every grain of a survivor is marked (the tables
 * above), so the dead grains are the allocated ones left unmarked, and
 * the free runs afterwards are at most the runs between marked grains.
 * The uncommitted part of an attached buffer's region, [committed limit,
 * limit), is left alone, as ams_seg_next_run leaves it; its committed
 * part is reclaimed like any run.  Sets *kept_o to the survivors' bytes
 * and returns the longest free run, counting the buffer's region as free
 * (invariant 9 allows that).  Where survivors and dead objects
 * alternate (mutate in bench/gc) this costs a sixth of following the
 * runs of the alloc table and the marks in each; on wholly live or dead
 * segments a little more (docs/performance.md, the sweep round). */
static Count ams_seg_reclaim_tables(AMS ams, AMSSeg aseg, Size *kept_o)
{
  Seg seg = &aseg->seg;
  Index n = aseg->grains, bi = n, bl = n;
  Count freed = 0;
  if (seg->buffer != NULL) {
    bi = ams_index(aseg, buffer_committed_limit(seg->buffer));
    bl = ams_index(aseg, seg->buffer->pool_limit);
  }
  if (bi > 0)
    freed += bt_filter_range(aseg->alloc, aseg->marked, aseg->nonstart, 0, bi);
  if (bl < n)
    freed += bt_filter_range(aseg->alloc, aseg->marked, aseg->nonstart, bl, n);
  aseg->free_grains += freed;
  ams->free += freed << ams->grain_shift;
  /* What is still allocated is the survivors and the buffer's region. */
  *kept_o = (Size)(n - aseg->free_grains - (bl - bi)) << ams->grain_shift;
#if CHECK_LEVEL >= 2
  AVER(n - aseg->free_grains - (bl - bi) == n - bt_count_res_range(aseg->marked, 0, n));
#endif
  return bt_longest_res_run(aseg->marked, 0, n);
}

static void ams_seg_reclaim(Seg seg, Trace trace)
{
  AMSSeg aseg = ams_seg_of(seg);
  AMS ams = ams_of_seg(seg);
  Format format = ams->format;
  TraceSet ts = TRACE_SET_SINGLE(trace->ti);
  Addr run_base, run_limit;
  Index cursor = 0, free_lo = 0;
  Count freed_before = aseg->free_grains, longest = 0;
  AMSExposure exposed;
  Size kept = 0;
  bool scanned = seg->rank_set != RANK_SET_EMPTY;

  AVERT(ams_seg, aseg);
  AVER((seg->white & ts) != TRACE_SET_EMPTY);
  AVER((seg->grey & ts) == TRACE_SET_EMPTY);
  if (scanned && ams->free_template == NULL) {
    /* Nothing to read or write in the segment's memory: the tables alone,
     * a word at a time. */
    longest = ams_seg_reclaim_tables(ams, aseg, &kept);
    free_lo = aseg->grains;
    goto reclaimed;
  }
  exposed = ams_seg_expose(seg);
  while (ams_seg_next_run(&run_base, &run_limit, aseg, &cursor)) {
    /* A run is a sequence of whole objects.  In a scanned segment every
     * grain of a survivor is marked (see the tables above), so the
     * survivors are the runs of marked grains and none is read.  In LO
     * only a survivor's start is marked, and each is read for its size.
     * Either way dead objects are never read: what lies between the end
     * of one survivor and the start of the next is free. */
    Index dead = ams_index(aseg, run_base), end = ams_index(aseg, run_limit), i, j;
    /* A survivor that starts where the last one ended (among LO's objects
     * allocated together, the usual case) is found without a search. */
    while (dead < end && (bt_get(aseg->marked, dead) ? (i = dead, true)
                                                    : bt_find_set(&i, aseg->marked, dead, end))) {
      AVER_CRITICAL(!bt_get(aseg->nonstart, i));
      if (scanned) {
        if (!bt_find_res(&j, aseg->marked, i, end))
          j = end;
      } else {
        j = ams_index(aseg, ams_obj_limit(format, ams_addr(aseg, i)));
      }
      kept += (Size)(j - i) << ams->grain_shift;
      /* Everything between two survivors -- free gaps and dead
       * objects -- is one free run, unless a buffer's region lies
       * between them: then this overestimates, which invariant 9
       * allows. */
      if (i - free_lo > longest)
        longest = i - free_lo;
      free_lo = j;
      if (dead < i)
        ams_seg_free_grains(ams, aseg, dead, i);
      dead = j;
    }
    if (dead < end)
      ams_seg_free_grains(ams, aseg, dead, end);
  }
  ams_seg_cover(seg, exposed);
reclaimed:
  if (aseg->grains - free_lo > longest)
    longest = aseg->grains - free_lo;
  /* A buffer's region between survivors counted as free above. */
  aseg->run_max = longest < aseg->free_grains ? longest : aseg->free_grains; /* 9 */
  if (aseg->free_grains != freed_before) {
    /* Refill from the bottom of the pool (see the opening comment). */
    ams->fill_seg = NULL;
    ams->fill_index = 0;
  }
  /* The segment stays white: the tracer clears that after every class has
   * reclaimed, counting what is still white as not reclaimed. */
  trace_note_preserved(trace, kept);
  /* The grains freed here held dead objects: the pool's in-use bytes
   * fall by as much (event.h), the segment's destruction aside. */
  gcevent_emit(seg->arena->gc, EVENT_CAT_SEG, EVENT_SEG_RECLAIM, 4,
               (Word[]){(Word)(uintptr_t)seg, aseg->marks, kept,
                        (aseg->free_grains - freed_before) << ams->grain_shift});
  if (aseg->free_grains == aseg->grains && seg->buffer == NULL)
    ams_seg_destroy(seg);         /* nothing left in it */
}

/* ---- Segment methods for walks ---------------------------------------- */

static void ams_seg_walk(Seg seg, Format format, SegObjectVisitor visit, void *p, Size s)
{
  AMSSeg aseg = ams_seg_of(seg);
  Addr run_base, run_limit, base;
  Index cursor = 0;
  AMSExposure exposed = ams_seg_expose(seg);
  AVER(format == ams_of_seg(seg)->format);
  while (ams_seg_next_run(&run_base, &run_limit, aseg, &cursor))
    for (base = run_base; addr_word(base) < addr_word(run_limit);
         base = ams_obj_limit(format, base))
      visit(format_client(format, base), format, seg->pool, p, s);
  ams_seg_cover(seg, exposed);
}

static Res ams_seg_area_walk(Seg seg, mps_area_scan_t visit, void *closure, ScanState ss)
{
  AMSSeg aseg = ams_seg_of(seg);
  Format format = ams_of_seg(seg)->format;
  Addr base, limit;
  Index cursor = 0;
  AMSExposure exposed = ams_seg_expose(seg);
  Res res = MPS_RES_OK;
  while (res == MPS_RES_OK && ams_seg_next_run(&base, &limit, aseg, &cursor))
    res = visit(scan_state_public(ss), addr_ptr(format_client(format, base)),
                addr_ptr(format_client(format, limit)), closure);
  ams_seg_cover(seg, exposed);
  return res;
}

static Res ams_seg_addr_object(Addr *p_o, Seg seg, Addr addr)
{
  AMSSeg aseg = ams_seg_of(seg);
  Format format = ams_of_seg(seg)->format;
  Buffer buffer = seg->buffer;
  Index i = ams_index(aseg, addr), b, l;
  Addr base, limit;
  AMSExposure exposed;
  Res res = MPS_RES_FAIL;

  if (buffer != NULL && addr_word(buffer->base) <= addr_word(addr)
      && addr_word(addr) < addr_word(buffer->pool_limit)) {
    /* In a buffer's region: only its committed objects, which have no
     * recorded starts yet, so parse them. */
    Addr init = buffer_committed_limit(buffer);
    if (addr_word(addr) >= addr_word(init))
      return MPS_RES_FAIL;
    exposed = ams_seg_expose(seg);
    for (base = buffer->base; addr_word(base) < addr_word(init); base = limit) {
      limit = ams_obj_limit(format, base);
      if (addr_word(addr) < addr_word(limit)) {
        *p_o = format_client(format, base);
        res = MPS_RES_OK;
        break;
      }
    }
    ams_seg_cover(seg, exposed);
    return res;
  }
  if (!bt_get(aseg->alloc, i)
      || !bt_find_short_res_range_high(&b, &l, aseg->nonstart, 0, i + 1, 1))
    return MPS_RES_FAIL;
  *p_o = format_client(format, ams_addr(aseg, b));
  return MPS_RES_OK;
}

static seg_class_s ams_seg_class_s = {
  SEG_CLASS_SIG, "AMS", sizeof(ams_seg_s), false, true,
  ams_seg_init, ams_seg_finish,
  ams_seg_whiten, ams_seg_scan, ams_seg_fix, ams_seg_reclaim,
  ams_seg_walk, ams_seg_area_walk, ams_seg_addr_object,
  NULL                           /* never moves anything */
};

/* ---- Pool methods ----------------------------------------------------- */

Res ams_init_engine(Pool pool, mps_arg_s args[], AMSKind kind, const char *needs,
                    AMSScanObject scan_object)
{
  bool scannable = kind != AMS_KIND_LO;
  AMS ams = ams_of_pool(pool);
  Arena arena = pool->arena;
  mps_arg_s arg;
  Format format;
  Chain chain;
  Index gen;
  bool has_gen;
  Res res;

  AVERT(args, args);
  res = format_acquire(&format, arena, args, needs, false);
  if (res != MPS_RES_OK)
    return res;
  /* Both picked before the chain, so a bad generation is refused before
   * anything else is taken. */
  has_gen = args_pick(&arg, args, MPS_KEY_GEN);
  gen = has_gen ? (Index)arg.val.u : 0;
  ams->support_ambiguous = true;
  if (kind == AMS_KIND_AMS && args_pick(&arg, args, MPS_KEY_AMS_SUPPORT_AMBIGUOUS))
    ams->support_ambiguous = arg.val.b != 0;
  AVER(format->alignment <= arena->grain_size);
  if (format->alignment > arena->grain_size) {
    res = MPS_RES_PARAM;
    goto fail_chain;
  }
  res = chain_acquire(&chain, arena, args);
  if (res != MPS_RES_OK)
    goto fail_chain;
  if (!has_gen && chain == arena->gc->default_chain)
    /* manual/pool/ams.rst: with the arena's default chain "an appropriate
     * generation is used" -- its last, so that objects that never move
     * are not collected as often as the nursery. */
    gen = chain->gen_count - 1;
  AVER(gen < chain->gen_count);
  if (gen >= chain->gen_count) {
    res = MPS_RES_PARAM;
    goto fail_gen;
  }

  ams->format = format;
  pool->format = format;
  pool->alignment = format->alignment;
  ams->grain_shift = 0;
  while (((Size)1 << ams->grain_shift) < format->alignment)
    ++ams->grain_shift;
  ams->chain = chain;
  ams->kind = kind;
  ams->scannable = scannable;
  ams->scan_object = scan_object;
  /* manual/pool/ams.rst: objects may hold ambiguous references unless the
   * pool refuses them; awl.rst: exact or weak ones. */
  switch (kind) {
  case AMS_KIND_AMS:
    pool->ap_rank_set = RANK_SET_SINGLE(RANK_EXACT)
                        | (ams->support_ambiguous ? RANK_SET_SINGLE(RANK_AMBIG)
                                                  : RANK_SET_EMPTY);
    break;
  case AMS_KIND_AWL:
    pool->ap_rank_set = RANK_SET_SINGLE(RANK_EXACT) | RANK_SET_SINGLE(RANK_WEAK);
    break;
  default:
    pool->ap_rank_set = RANK_SET_EMPTY;
    break;
  }
  ams->seg_size = size_align_up(AMS_SEG_SIZE_DEFAULT, arena->grain_size);
  ring_init(&ams->seg_ring);
  ams->seg_count = 0;
  ams->total = 0;
  ams->free = 0;
  ams->fill_seg = NULL;
  ams->fill_index = 0;
  ams->fill_searched = 0;
  ams->free_template = NULL;
  ams->free_template_size = 0;
  ams->defer_ss = NULL;
  ams->defer_count = 0;
  ams->sig = AMS_SIG;
  pool_gen_init(&ams->pgen, pool, chain, gen);
  AVERT(ams, ams);
  return MPS_RES_OK;

fail_gen:
  chain_release(chain);
fail_chain:
  format_release(format);
  return res;
}

void ams_finish(Pool pool)
{
  AMS ams = ams_of_pool(pool);
  Ring node, next;
  AVERT(ams, ams);
  RING_FOR(node, &ams->seg_ring, next)
    ams_seg_destroy(PARENT(seg_s, pool_ring, node));
  AVER(ams->total == 0 && ams->free == 0);
  ams->sig = SIG_INVALID;
  pool_gen_finish(&ams->pgen);
  ring_finish(&ams->seg_ring);
  chain_release(ams->chain);
  format_release(ams->format);
  if (ams->free_template != NULL)
    arena_control_free(pool->arena, ams->free_template, ams->free_template_size);
}

/* Find in a segment of rank set `rank_set` (invariant 7) that no buffer
 * is filling (one buffer per segment: seg->buffer) and that is not
 * condemned the first free run of at least
 * `grains` grains that ends after grain `from`, whole: [*b_o, *l_o) has
 * allocated grains (or the segment's ends) either side.  A failed search
 * of the whole segment lowers run_max below the request (invariant 9). */
static bool ams_seg_find(Index *b_o, Index *l_o, AMSSeg aseg, Index from, Count grains,
                         RankSet rank_set)
{
  Seg seg = &aseg->seg;
  Index b, l, lb, ll;
  /* Not a white or grey segment: what the mutator allocates during an
   * incremental trace must be black, and a grey segment is read-protected
   * (trace.c, barrier.h). */
  if (seg->buffer != NULL || seg->white != TRACE_SET_EMPTY || seg->grey != TRACE_SET_EMPTY
      || seg->rank_set != rank_set
      || aseg->run_max < grains || aseg->grains - from < grains)
    return false;   /* a bt search needs a range at least `grains` long;
                     * from <= grains by invariant 10 */
  if (!bt_find_long_res_range(&b, &l, aseg->alloc, from, aseg->grains, grains)) {
    ams_of_seg(seg)->fill_searched += aseg->grains - from;
    if (from == 0)
      aseg->run_max = grains - 1;
    return false;
  }
  ams_of_seg(seg)->fill_searched += l - from;
  /* The run may begin below the cursor: take that part too.  The cost is
   * bounded by the grains handed out. */
  if (b == from && b > 0 && !bt_get(aseg->alloc, b - 1)) {
    if (bt_find_long_res_range_high(&lb, &ll, aseg->alloc, 0, b, 1)) {
      AVER(ll == b);
      b = lb;
    }
  }
  *b_o = b;
  *l_o = l;
  return true;
}

Res ams_buffer_fill(Addr *base_o, Addr *limit_o, Pool pool, Buffer buffer, Size size)
{
  AMS ams = ams_of_pool(pool);
  Arena arena = pool->arena;
  Count grains = size >> ams->grain_shift;
  Seg start = ams->fill_seg, seg;
  Index from = ams->fill_index, b, l;
  RankSet rank_set;
  Ring node;
  AMSSeg aseg;
  Res res;

  AVERT(ams, ams);
  AVERT(buffer, buffer);
  /* Objects live with others of their allocation point's rank (7). */
  rank_set = ams->scannable ? RANK_SET_SINGLE(buffer->rank) : RANK_SET_EMPTY;
  AVER(size > 0 && size_is_aligned(size, pool->alignment));
  /* Next fit from the cursor, round the whole ring and back to the
   * cursor's segment, before a new segment (see the opening comment). */
  if (start == NULL && !ring_is_single(&ams->seg_ring))
    start = PARENT(seg_s, pool_ring, ring_next(&ams->seg_ring));
  if (start != NULL) {
    seg = start;
    if (ams_seg_find(&b, &l, ams_seg_of(seg), from, grains, rank_set))
      goto found;
    for (node = ring_next(&start->pool_ring); node != &start->pool_ring;
         node = ring_next(node)) {
      if (node == &ams->seg_ring)
        continue;                 /* the ring's head is no segment */
      seg = PARENT(seg_s, pool_ring, node);
      if (ams_seg_find(&b, &l, ams_seg_of(seg), 0, grains, rank_set))
        goto found;
    }
    seg = start;
    if (from > 0 && ams_seg_find(&b, &l, ams_seg_of(seg), 0, grains, rank_set))
      goto found;
  }
  if (size > SIZE_MAX - arena->grain_size)
    return MPS_RES_RESOURCE;
  res = ams_seg_create(&seg, ams,
                       size > ams->seg_size ? size_align_up(size, arena->grain_size)
                                            : ams->seg_size,
                       rank_set);
  if (res != MPS_RES_OK)
    return res;
  b = 0;
  l = ams_seg_of(seg)->grains;

found:
  aseg = ams_seg_of(seg);
  if (ams->free_template != NULL) {
    AMSExposure exposed = ams_seg_expose(seg);
    ams_check_template(ams, ams_addr(aseg, b), ams_addr(aseg, l));
    ams_seg_cover(seg, exposed);
  }
  bt_set_range(aseg->alloc, b, l);
  aseg->free_grains -= l - b;
  if (aseg->run_max > aseg->free_grains)
    aseg->run_max = aseg->free_grains;                                      /* 9 */
  ams->free -= (l - b) << ams->grain_shift;
  ams->fill_seg = seg;
  ams->fill_index = l;
  seg_set_buffer(seg, buffer);
  *base_o = ams_addr(aseg, b);
  *limit_o = ams_addr(aseg, l);
  return MPS_RES_OK;
}

void ams_buffer_empty(Pool pool, Buffer buffer, Addr init, Addr limit)
{
  AMS ams = ams_of_pool(pool);
  Format format = ams->format;
  AMSSeg aseg;
  Seg seg;
  Addr base;
  bool found;
  AMSExposure exposed;

  AVERT(ams, ams);
  /* By the region's last byte: a collection may have raised the
   * buffer's base to its limit (ams_seg_whiten). */
  found = seg_of_addr(&seg, pool->arena, addr_sub(limit, 1));
  AVER(found && seg->buffer == buffer);
  if (!found)
    return;
  aseg = ams_seg_of(seg);
  /* Record where the committed objects start (invariant 4 and the
   * allocated-run rule the fix and walks rely on). */
  exposed = ams_seg_expose(seg);
  for (base = buffer->base; addr_word(base) < addr_word(init);
       base = ams_obj_limit(format, base))
    bt_res(aseg->nonstart, ams_index(aseg, base));
  AVER(base == init);   /* the committed objects fill [base, init) exactly */
  if (addr_word(init) < addr_word(limit)) {
    Index i = ams_index(aseg, init), j = ams_index(aseg, limit);
    ams_seg_free_grains(ams, aseg, i, j);
    /* The fill took a whole free run, so the tail is one whole free run
     * (invariant 9) -- unless a collection has freed objects beside the
     * region meanwhile (ams_seg_whiten), when it joins them: then only
     * the free total bounds it. */
    if ((i > 0 && !bt_get(aseg->alloc, i - 1)) || (j < aseg->grains && !bt_get(aseg->alloc, j)))
      aseg->run_max = aseg->free_grains;
    else if (j - i > aseg->run_max)
      aseg->run_max = j - i;
    /* Offer the tail next, as first fit would. */
    if (ams->fill_seg == seg && i < ams->fill_index)
      ams->fill_index = i;
  }
  ams_seg_cover(seg, exposed);
  if (init != buffer->base)
    pool_gen_account_alloc(&ams->pgen, addr_offset(buffer->base, init));
  seg_set_buffer(seg, NULL);
}

Size ams_total_size(Pool pool)
{
  return ams_of_pool(pool)->total;
}

Size ams_free_size(Pool pool)
{
  return ams_of_pool(pool)->free;
}

/* mps_pool_check_free_space: every free grain holds the template. */
static void ams_check_free_space(Pool pool)
{
  AMS ams = ams_of_pool(pool);
  Ring node, next;
  AVERT(ams, ams);
  RING_FOR(node, &ams->seg_ring, next) {
    Seg seg = PARENT(seg_s, pool_ring, node);
    AMSSeg aseg = ams_seg_of(seg);
    Index i = 0, b, l;
    AMSExposure exposed = ams_seg_expose(seg);
    while (i < aseg->grains && bt_find_long_res_range(&b, &l, aseg->alloc, i, aseg->grains, 1)) {
      ams_check_template(ams, ams_addr(aseg, b), ams_addr(aseg, l));
      i = l;
    }
    ams_seg_cover(seg, exposed);
  }
}

static Res ams_init(Pool pool, mps_arg_s args[])
{
  /* manual/pool/ams.rst: the format needs scan and skip methods. */
  return ams_init_engine(pool, args, AMS_KIND_AMS, "sk", NULL);
}

static Res ams_debug_init(Pool pool, mps_arg_s args[])
{
  static const Byte default_free[4] = {0x46, 0x52, 0x45, 0x45};    /* "FREE" */
  const void *free_tpl = default_free;
  Size free_size = sizeof default_free;
  mps_arg_s arg;
  void *copy = NULL;
  Res res;

  if (args_pick(&arg, args, MPS_KEY_POOL_DEBUG_OPTIONS)) {
    const mps_pool_debug_option_s *options = arg.val.pool_debug_options;
    AVER(options != NULL);
    if (options == NULL)
      return MPS_RES_PARAM;
    AVER(options->fence_size == 0 || options->fence_template != NULL);
    AVER(options->free_size == 0 || options->free_template != NULL);
    if ((options->fence_size != 0 && options->fence_template == NULL)
        || (options->free_size != 0 && options->free_template == NULL))
      return MPS_RES_PARAM;
    free_tpl = options->free_template;
    free_size = options->free_size;
  }
  /* Copied, so the client's template need not outlive this call. */
  if (free_size > 0) {
    res = arena_control_alloc(&copy, pool->arena, free_size);
    if (res != MPS_RES_OK)
      return res;
    mem_copy(copy, free_tpl, free_size);
  }
  res = ams_init_engine(pool, args, AMS_KIND_AMS, "sk", NULL);
  if (res != MPS_RES_OK) {
    if (copy != NULL)
      arena_control_free(pool->arena, copy, free_size);
    return res;
  }
  /* No segment exists yet, so all free memory will be laid with it. */
  ams_of_pool(pool)->free_template = copy;
  ams_of_pool(pool)->free_template_size = copy != NULL ? free_size : 0;
  return MPS_RES_OK;
}

/* Designated initializers: methods not named here are NULL. */
static struct mps_pool_class_s ams_pool_class_s = {
  .sig = POOL_CLASS_SIG, .name = "AMS", .size = sizeof(ams_s),
  .init = ams_init, .finish = ams_finish,
  /* no mps_alloc / mps_free */
  .buffer_fill = ams_buffer_fill, .buffer_empty = ams_buffer_empty,
  .total_size = ams_total_size, .free_size = ams_free_size,
  .check = ams_pool_check
};

static struct mps_pool_class_s ams_debug_pool_class_s = {
  .sig = POOL_CLASS_SIG, .name = "AMSDebug", .size = sizeof(ams_s),
  .init = ams_debug_init, .finish = ams_finish,
  .buffer_fill = ams_buffer_fill, .buffer_empty = ams_buffer_empty,
  .total_size = ams_total_size, .free_size = ams_free_size,
  .check_free_space = ams_check_free_space,   /* fenceposts need mps_alloc */
  .check = ams_pool_check
};

mps_pool_class_t mps_class_ams(void)
{
  return &ams_pool_class_s;
}

mps_pool_class_t mps_class_ams_debug(void)
{
  return &ams_debug_pool_class_s;
}
