/* cellpool.h: a tiny non-moving garbage-collected pool for testing the
 * tracer without any real pool class (test_trace, fuzz_trace,
 * stress_trace).  Header only: every function is static, so each program
 * that includes it gets its own copy and nothing clashes with the
 * library's names.
 *
 * Objects are cells of CELLPOOL_WORDS words, every word a reference (to
 * the start of a cell, or anywhere for an ambiguous pool) or 0.  Cells are
 * allocated with mps_alloc(CELLPOOL_SIZE).  Each segment is one grain
 * with three tables per cell: allocated, marked (preserved by the current
 * trace) and scanned.  Fix marks and greys; scan fixes every word of each
 * marked-but-unscanned cell (or every allocated cell when the segment is
 * not white) until none is left; reclaim frees unmarked cells and the
 * segment once it is empty.  Keyword arguments: MPS_KEY_CHAIN (optional,
 * generation 0 of it) and MPS_KEY_RANK (of the cells' words; default
 * exact).
 */
#ifndef cellpool_h
#define cellpool_h

#include <string.h>

#include "../../include/mps.h"
#include "../../src/base/args.h"
#include "../../src/gc/chain.h"
#include "../../src/gc/seg.h"
#include "../../src/gc/trace.h"
#include "../../src/pool/pool.h"

#define CELLPOOL_WORDS 4
#define CELLPOOL_SIZE (CELLPOOL_WORDS * sizeof(mps_word_t))
#define CELLPOOL_MAX_CELLS 2048   /* per segment: grains up to 64 KiB */

typedef struct cellpool_seg_s {
  seg_s seg;
  Count cells;
  Count allocated;
  unsigned char alloc[CELLPOOL_MAX_CELLS];
  unsigned char mark[CELLPOOL_MAX_CELLS];
  unsigned char scanned[CELLPOOL_MAX_CELLS];
} cellpool_seg_s;

typedef struct cellpool_s {
  mps_pool_s pool;
  Chain chain;
  pool_gen_s pgen;
  Rank rank;
  struct ring_s segs;           /* cellpool_seg_s by seg.pool_ring */
  Count cells;                  /* allocated, over every segment */
  Count reclaimed;              /* cells freed by collections */
} cellpool_s;

static cellpool_s *cellpool_of(Pool pool) { return PARENT(cellpool_s, pool, pool); }
static cellpool_seg_s *cellpool_seg_of(Seg seg) { return PARENT(cellpool_seg_s, seg, seg); }

static Index cellpool_index(Seg seg, Addr addr)
{
  return (Index)(addr_offset(seg->base, addr) / CELLPOOL_SIZE);
}

static mps_word_t *cellpool_cell(Seg seg, Index i)
{
  return addr_ptr(addr_add(seg->base, i * CELLPOOL_SIZE));
}

static Res cellpool_seg_init(Seg seg, Pool pool)
{
  cellpool_seg_s *cs = cellpool_seg_of(seg);
  cs->cells = seg_size(seg) / CELLPOOL_SIZE;
  if (cs->cells > CELLPOOL_MAX_CELLS)
    return MPS_RES_PARAM;
  cs->allocated = 0;
  memset(cs->alloc, 0, sizeof cs->alloc);
  memset(cs->mark, 0, sizeof cs->mark);
  memset(cs->scanned, 0, sizeof cs->scanned);
  ring_append(&cellpool_of(pool)->segs, &seg->pool_ring);
  return MPS_RES_OK;
}

static void cellpool_seg_finish(Seg seg)
{
  ring_remove(&seg->pool_ring);
}

static Res cellpool_whiten(Seg seg, Trace trace, Size *condemned_io)
{
  cellpool_seg_s *cs = cellpool_seg_of(seg);
  memset(cs->mark, 0, sizeof cs->mark);
  memset(cs->scanned, 0, sizeof cs->scanned);
  seg_set_white(seg, seg->white | TRACE_SET_SINGLE(trace->ti));
  *condemned_io += cs->allocated * CELLPOOL_SIZE;
  return MPS_RES_OK;
}

/* Fix every word of cell i: most through the macros, the last through
 * mps_fix, so both paths are used. */
static Res cellpool_scan_cell(Seg seg, ScanState ss, Index i)
{
  mps_ss_t mps_ss = scan_state_public(ss);
  mps_word_t *cell = cellpool_cell(seg, i);
  Res res = MPS_RES_OK;
  Index k;
  MPS_SCAN_BEGIN(mps_ss) {
    for (k = 0; k + 1 < CELLPOOL_WORDS; ++k) {
      mps_addr_t *ref = (mps_addr_t *)&cell[k];
      if (MPS_FIX1(mps_ss, *ref)) {
        res = MPS_FIX2(mps_ss, ref);
        if (res != MPS_RES_OK)
          break;
      }
    }
  } MPS_SCAN_END(mps_ss);
  if (res == MPS_RES_OK)
    res = mps_fix(mps_ss, (mps_addr_t *)&cell[CELLPOOL_WORDS - 1]);
  return res;
}

static Res cellpool_scan(bool *total_o, Seg seg, ScanState ss)
{
  cellpool_seg_s *cs = cellpool_seg_of(seg);
  bool white = (seg->white & ss->traces) != 0;
  bool again;
  Index i;
  Res res;
  do {
    again = false;
    for (i = 0; i < cs->cells; ++i) {
      if (!cs->alloc[i] || (white && (!cs->mark[i] || cs->scanned[i])))
        continue;
      res = cellpool_scan_cell(seg, ss, i);
      if (res != MPS_RES_OK)
        return res;
      if (white) {
        cs->scanned[i] = 1;
        again = true;   /* marking may have reached cells already passed */
      }
    }
  } while (again);
  *total_o = true;
  seg_set_grey(seg, TRACE_SET_EMPTY);
  return MPS_RES_OK;
}

static Res cellpool_fix(Seg seg, ScanState ss, Addr *ref_io)
{
  cellpool_seg_s *cs = cellpool_seg_of(seg);
  Index i = cellpool_index(seg, *ref_io);
  Addr cell_base = addr_add(seg->base, i * CELLPOOL_SIZE);
  if (i >= cs->cells || !cs->alloc[i]) {
    /* Only an ambiguous reference may point at nothing. */
    AVER(ss->rank == RANK_AMBIG);
    return MPS_RES_OK;
  }
  if (ss->rank != RANK_AMBIG)
    AVER(*ref_io == cell_base);   /* exact references are to cell starts */
  if (cs->mark[i]) {
    ss->was_marked = true;
    return MPS_RES_OK;
  }
  if (ss->rank == RANK_WEAK) {
    *ref_io = NULL;               /* dead: splat */
    return MPS_RES_OK;
  }
  cs->mark[i] = 1;
  if (seg->rank_set != RANK_SET_EMPTY)
    seg_set_grey(seg, seg->grey | ss->traces);
  return MPS_RES_OK;
}

static void cellpool_reclaim(Seg seg, Trace trace)
{
  cellpool_seg_s *cs = cellpool_seg_of(seg);
  cellpool_s *cp = cellpool_of(seg->pool);
  Count kept = 0;
  Index i;
  for (i = 0; i < cs->cells; ++i) {
    if (!cs->alloc[i])
      continue;
    if (cs->mark[i]) {
      ++kept;
    } else {
      cs->alloc[i] = 0;
      --cs->allocated;
      --cp->cells;
      ++cp->reclaimed;
    }
  }
  trace_note_preserved(trace, kept * CELLPOOL_SIZE);
  seg_set_white(seg, seg->white & ~TRACE_SET_SINGLE(trace->ti));
  if (cs->allocated == 0)
    seg_free(seg);
}

static seg_class_s cellpool_seg_class = {
  SEG_CLASS_SIG, "cellpool-seg", sizeof(cellpool_seg_s), false, false, cellpool_seg_init,
  cellpool_seg_finish, cellpool_whiten, cellpool_scan, cellpool_fix, cellpool_reclaim,
  NULL, NULL, NULL, NULL};

static Res cellpool_init(Pool pool, mps_arg_s args[])
{
  cellpool_s *cp = cellpool_of(pool);
  mps_arg_s arg;
  Res res;
  cp->rank = RANK_EXACT;
  if (args_pick(&arg, args, MPS_KEY_RANK))
    cp->rank = (Rank)arg.val.rank;
  res = chain_acquire(&cp->chain, pool->arena, args);
  if (res != MPS_RES_OK)
    return res;
  pool->alignment = sizeof(mps_word_t);
  ring_init(&cp->segs);
  cp->cells = 0;
  cp->reclaimed = 0;
  pool_gen_init(&cp->pgen, pool, cp->chain, 0);
  return MPS_RES_OK;
}

static void cellpool_finish(Pool pool)
{
  cellpool_s *cp = cellpool_of(pool);
  Ring node, next;
  RING_FOR(node, &cp->segs, next) {
    seg_free(PARENT(seg_s, pool_ring, node));
  }
  pool_gen_finish(&cp->pgen);
  chain_release(cp->chain);
  ring_finish(&cp->segs);
}

static Res cellpool_alloc(Addr *p_o, Pool pool, Size size)
{
  cellpool_s *cp = cellpool_of(pool);
  Ring node, next;
  Seg seg = NULL;
  cellpool_seg_s *cs;
  Index i;
  Res res;
  AVER(size == CELLPOOL_SIZE);
  RING_FOR(node, &cp->segs, next) {
    Seg s = PARENT(seg_s, pool_ring, node);
    if (cellpool_seg_of(s)->allocated < cellpool_seg_of(s)->cells) {
      seg = s;
      break;
    }
  }
  if (seg == NULL) {
    res = seg_alloc(&seg, &cellpool_seg_class, pool, pool->arena->grain_size,
                    RANK_SET_SINGLE(cp->rank), &cp->pgen);
    if (res != MPS_RES_OK)
      return res;
  }
  cs = cellpool_seg_of(seg);
  for (i = 0; cs->alloc[i]; ++i)
    ;
  cs->alloc[i] = 1;
  /* Allocated during no trace, so the marks do not matter until the next
   * whiten clears them. */
  ++cs->allocated;
  ++cp->cells;
  memset(cellpool_cell(seg, i), 0, CELLPOOL_SIZE);
  pool_gen_account_alloc(&cp->pgen, CELLPOOL_SIZE);
  *p_o = addr_add(seg->base, i * CELLPOOL_SIZE);
  return MPS_RES_OK;
}

static void cellpool_free(Pool pool, Addr old, Size size)
{
  cellpool_s *cp = cellpool_of(pool);
  Seg seg;
  Index i;
  AVER(size == CELLPOOL_SIZE);
  AVER(seg_of_addr(&seg, pool->arena, old));
  if (!seg_of_addr(&seg, pool->arena, old))
    return;
  i = cellpool_index(seg, old);
  AVER(cellpool_seg_of(seg)->alloc[i]);
  cellpool_seg_of(seg)->alloc[i] = 0;
  --cellpool_seg_of(seg)->allocated;
  --cp->cells;
}

static Size cellpool_total_size(Pool pool)
{
  cellpool_s *cp = cellpool_of(pool);
  return ring_length(&cp->segs) * pool->arena->grain_size;
}

static pool_class_s cellpool_class = {
  POOL_CLASS_SIG, "cellpool", sizeof(cellpool_s), cellpool_init, cellpool_finish,
  cellpool_alloc, cellpool_free, NULL, NULL, cellpool_total_size, NULL, NULL, NULL, NULL};

/* How many cells the pool has allocated (not yet reclaimed or freed). */
static inline Count cellpool_cells(mps_pool_t pool) { return cellpool_of((Pool)pool)->cells; }

/* Whether addr is the start of an allocated cell of the pool. */
static inline bool cellpool_is_cell(mps_pool_t pool, void *addr)
{
  Seg seg;
  Index i;
  if (!seg_of_addr(&seg, ((Pool)pool)->arena, addr_of_ptr(addr)) || seg->pool != (Pool)pool)
    return false;
  i = cellpool_index(seg, addr_of_ptr(addr));
  return addr_add(seg->base, i * CELLPOOL_SIZE) == addr_of_ptr(addr)
         && cellpool_seg_of(seg)->alloc[i];
}

#endif /* cellpool_h */
