/* Unit tests for segments (src/gc/seg.c) and the collector state they
 * need (src/gc/gc.c): allocation and lookup from any address (and not
 * from a pool's grains outside segments), freeing, resource failures that
 * leave nothing behind, grey rings by rank, the read barrier of a grey
 * segment, a new segment's wait before its summary is kept, generations
 * and their zones, zone sets, seg_check's report of each broken
 * invariant, colours and summaries refused, and the checks at arena
 * destroy. */
#include <criterion/criterion.h>
#include <signal.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/gc/chain.h"
#include "../src/gc/seg.h"
#include "../src/pool/pool.h"
#include "support/checks.h"
#include "support/configs.h"
#include "support/reports.h"

/* A pool class that only owns segments: finish frees whatever is left. */
static Res tseg_pool_init(Pool pool, mps_arg_s args[])
{
  UNUSED(pool);
  UNUSED(args);
  return MPS_RES_OK;
}

static void tseg_pool_finish(Pool pool);

static pool_class_s tseg_pool_class = {
  POOL_CLASS_SIG, "test-seg-pool", sizeof(mps_pool_s), tseg_pool_init, tseg_pool_finish,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

/* The segment class: a counter, and an init that can be told to fail. */
typedef struct tseg_s {
  seg_s seg;
  int cookie;
} tseg_s;

/* The test pool's segments (tests run one at a time). */
static struct ring_s tseg_ring;
static int tseg_inits, tseg_finishes;
static bool tseg_fail_init;

static Res tseg_init(Seg seg, Pool pool)
{
  UNUSED(pool);
  if (tseg_fail_init)
    return MPS_RES_MEMORY;
  ++tseg_inits;
  ((tseg_s *)seg)->cookie = 42;
  ring_append(&tseg_ring, &seg->pool_ring);
  return MPS_RES_OK;
}

static void tseg_finish(Seg seg)
{
  ++tseg_finishes;
  ring_remove(&seg->pool_ring);
}

static Res tseg_whiten(Seg seg, Trace trace, Size *condemned_io)
{
  UNUSED(seg);
  UNUSED(trace);
  UNUSED(condemned_io);
  return MPS_RES_OK;
}

static Res tseg_scan(bool *total_o, Seg seg, ScanState ss)
{
  UNUSED(seg);
  UNUSED(ss);
  *total_o = true;
  return MPS_RES_OK;
}

static void tseg_reclaim(Seg seg, Trace trace)
{
  UNUSED(seg);
  UNUSED(trace);
}

static seg_class_s tseg_class = {SEG_CLASS_SIG, "test-seg", sizeof(tseg_s), false, false, tseg_init,
                                 tseg_finish, tseg_whiten, tseg_scan, NULL, tseg_reclaim,
                                 NULL, NULL, NULL, NULL};

static void tseg_pool_finish(Pool pool)
{
  Ring node, next;
  RING_FOR(node, &tseg_ring, next) {
    Seg seg = PARENT(seg_s, pool_ring, node);
    if (seg->pool == pool)
      seg_free(seg);
  }
}

static mps_arena_t arena;
static Pool pool;

/* An arena of `size` bytes with the test pool in it. */
static void setup_sized(size_t size)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, size);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_OK);
  ring_init(&tseg_ring);
  tseg_inits = tseg_finishes = 0;
  tseg_fail_init = false;
  cr_assert_eq(mps_pool_create_k((mps_pool_t *)&pool, arena, &tseg_pool_class,
                                 mps_args_none), MPS_RES_OK);
}

static void setup(void)
{
  setup_sized((size_t)16 << 20);
}

static void teardown(void)
{
  mps_pool_destroy((mps_pool_t)pool);
  mps_arena_destroy(arena);
}

static Res alloc_seg(Seg *seg_o, Size size, RankSet rank_set, PoolGen gen)
{
  Res res;
  arena_enter(arena);
  res = seg_alloc(seg_o, &tseg_class, pool, size, rank_set, gen);
  arena_leave(arena);
  return res;
}

static void free_seg(Seg seg)
{
  arena_enter(arena);
  seg_free(seg);
  arena_leave(arena);
}

TestSuite(seg, .init = setup, .fini = teardown);

Test(seg, alloc_finds_segment_from_every_address)
{
  Seg seg, found;
  Size grain = arena->grain_size;
  Size committed = arena->committed;
  cr_assert_eq(alloc_seg(&seg, 4 * grain, RANK_SET_SINGLE(RANK_EXACT), NULL), MPS_RES_OK);
  cr_assert(arena->committed >= committed + 4 * grain);
  cr_assert_eq(tseg_inits, 1);
  cr_assert_eq(((tseg_s *)seg)->cookie, 42);
  cr_assert_eq(seg_size(seg), 4 * grain);
  cr_assert_eq(seg->pool, pool);
  cr_assert(seg_check(seg));
  cr_assert_eq(arena_pool_of_addr(arena, seg->base), pool);
  /* Every address in it finds it, including the last byte. */
  arena_enter(arena);
  cr_assert(seg_of_addr(&found, arena, seg->base));
  cr_assert_eq(found, seg);
  cr_assert(seg_of_addr(&found, arena, addr_add(seg->base, 3 * grain + 17)));
  cr_assert_eq(found, seg);
  cr_assert(seg_of_addr(&found, arena, addr_sub(seg->limit, 1)));
  cr_assert_eq(found, seg);
  /* Not outside the arena, nor in a grain no segment owns. */
  cr_assert_not(seg_of_addr(&found, arena, addr_of_ptr(&found)));
  cr_assert_not(seg_of_addr(&found, arena, addr_of_word(8)));
  arena_leave(arena);
  /* A new segment that may hold references may point anywhere. */
  cr_assert_eq(seg->summary, ZONE_SET_UNIV);
  cr_assert_eq(seg->white, TRACE_SET_EMPTY);
  cr_assert_eq(seg->grey, TRACE_SET_EMPTY);
  cr_assert_eq(seg->buffer, NULL);
  free_seg(seg);
  cr_assert_eq(tseg_finishes, 1);
}

Test(seg, leaf_has_empty_summary, TEST_NEEDS_BARRIER)
{
  Seg seg;
  cr_assert_eq(alloc_seg(&seg, arena->grain_size, RANK_SET_EMPTY, NULL), MPS_RES_OK);
  cr_assert_eq(seg->summary, ZONE_SET_EMPTY);
  arena_enter(arena);
  seg_set_rank_set(seg, RANK_SET_SINGLE(RANK_AMBIG));
  cr_assert_eq(seg->summary, ZONE_SET_UNIV);
  seg_set_summary(seg, (ZoneSet)5);
  cr_assert_eq(seg->summary, (ZoneSet)5);
  seg_set_rank_set(seg, RANK_SET_EMPTY);
  cr_assert_eq(seg->summary, ZONE_SET_EMPTY);
  arena_leave(arena);
  free_seg(seg);
}

Test(seg, free_forgets_segment_and_memory)
{
  Seg seg, found;
  Addr base;
  GC gc;
  cr_assert_eq(alloc_seg(&seg, 2 * arena->grain_size, RANK_SET_EMPTY, NULL), MPS_RES_OK);
  base = seg->base;
  gc = arena->gc;
  cr_assert_not_null(gc);
  cr_assert_eq(ring_length(&gc->seg_ring), 1);
  cr_assert_eq(gc->shield.segs, 1);
  free_seg(seg);
  cr_assert_eq(ring_length(&gc->seg_ring), 0);
  cr_assert_eq(gc->shield.segs, 0);
  arena_enter(arena);
  cr_assert_not(seg_of_addr(&found, arena, base));
  cr_assert_null(arena_pool_of_addr(arena, base));
  arena_leave(arena);
}

Test(seg, failed_class_init_leaves_nothing)
{
  Seg seg = NULL;
  Size committed;
  GC gc;
  /* Make the collector state first, so committed can be compared. */
  arena_enter(arena);
  cr_assert_eq(gc_get(&gc, arena), MPS_RES_OK);
  arena_leave(arena);
  committed = arena->committed - arena->spare_committed;
  tseg_fail_init = true;
  cr_assert_eq(alloc_seg(&seg, 8 * arena->grain_size, RANK_SET_EMPTY, NULL), MPS_RES_MEMORY);
  cr_assert_null(seg);
  cr_assert_eq(arena->committed - arena->spare_committed, committed);
  cr_assert_eq(ring_length(&gc->seg_ring), 0);
  cr_assert_eq(gc->shield.segs, 0);
  tseg_fail_init = false;
  cr_assert_eq(alloc_seg(&seg, 8 * arena->grain_size, RANK_SET_EMPTY, NULL), MPS_RES_OK);
  free_seg(seg);
}

Test(seg, commit_limit_failure_leaves_nothing)
{
  Seg seg = NULL;
  GC gc;
  arena_enter(arena);
  cr_assert_eq(gc_get(&gc, arena), MPS_RES_OK);
  arena_leave(arena);
  cr_assert_eq(mps_arena_commit_limit_set(arena, arena->committed), MPS_RES_OK);
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(alloc_seg(&seg, 64 * arena->grain_size, RANK_SET_EMPTY, NULL),
               MPS_RES_COMMIT_LIMIT);
  cr_assert_null(seg);
  cr_assert_eq(ring_length(&gc->seg_ring), 0);
  cr_assert_eq(mps_arena_commit_limit_set(arena, (size_t)1 << 30), MPS_RES_OK);
  cr_assert_eq(alloc_seg(&seg, 64 * arena->grain_size, RANK_SET_EMPTY, NULL), MPS_RES_OK);
  free_seg(seg);
}

/* Pretend a trace is busy so that colours may be set. */
static void fake_trace_begin(void)
{
  static int dummy;
  arena->gc->busy_traces = TRACE_SET_SINGLE(0);
  arena->gc->traces[0] = (Trace)(void *)&dummy;
}

static void fake_trace_end(void)
{
  arena->gc->busy_traces = TRACE_SET_EMPTY;
  arena->gc->traces[0] = NULL;
}

Test(seg, grey_segments_sit_on_the_ring_of_their_lowest_rank)
{
  Seg exact, weak, both;
  GC gc;
  cr_assert_eq(alloc_seg(&exact, arena->grain_size, RANK_SET_SINGLE(RANK_EXACT), NULL),
               MPS_RES_OK);
  cr_assert_eq(alloc_seg(&weak, arena->grain_size, RANK_SET_SINGLE(RANK_WEAK), NULL),
               MPS_RES_OK);
  cr_assert_eq(alloc_seg(&both, arena->grain_size,
                         RANK_SET_SINGLE(RANK_EXACT) | RANK_SET_SINGLE(RANK_WEAK), NULL),
               MPS_RES_OK);
  gc = arena->gc;
  arena_enter(arena);
  fake_trace_begin();
  seg_set_grey(exact, TRACE_SET_SINGLE(0));
  seg_set_grey(weak, TRACE_SET_SINGLE(0));
  seg_set_grey(both, TRACE_SET_SINGLE(0));
  cr_assert_eq(ring_length(&gc->grey_ring[RANK_EXACT]), 2);
  cr_assert_eq(ring_length(&gc->grey_ring[RANK_WEAK]), 1);
  cr_assert_eq(ring_length(&gc->grey_ring[RANK_AMBIG]), 0);
  /* Setting grey again does not add it twice. */
  seg_set_grey(exact, TRACE_SET_SINGLE(0));
  cr_assert_eq(ring_length(&gc->grey_ring[RANK_EXACT]), 2);
  /* A grey segment whose ranks change moves with them. */
  seg_set_rank_set(both, RANK_SET_SINGLE(RANK_WEAK));
  cr_assert_eq(ring_length(&gc->grey_ring[RANK_EXACT]), 1);
  cr_assert_eq(ring_length(&gc->grey_ring[RANK_WEAK]), 2);
  seg_set_rank_set(exact, RANK_SET_SINGLE(RANK_AMBIG) | RANK_SET_SINGLE(RANK_EXACT));
  cr_assert_eq(ring_length(&gc->grey_ring[RANK_AMBIG]), 1);
  cr_assert_eq(ring_length(&gc->grey_ring[RANK_EXACT]), 0);
  cr_assert(seg_check(exact));
  seg_set_grey(exact, TRACE_SET_EMPTY);
  seg_set_grey(weak, TRACE_SET_EMPTY);
  seg_set_grey(both, TRACE_SET_EMPTY);
  cr_assert_eq(ring_length(&gc->grey_ring[RANK_AMBIG]), 0);
  cr_assert_eq(ring_length(&gc->grey_ring[RANK_WEAK]), 0);
  seg_set_white(weak, TRACE_SET_SINGLE(0));
  seg_set_nailed(weak, TRACE_SET_SINGLE(0));
  cr_assert_eq(weak->white, TRACE_SET_SINGLE(0));
  cr_assert_eq(weak->nailed, TRACE_SET_SINGLE(0));
  seg_set_white(weak, TRACE_SET_EMPTY);
  seg_set_nailed(weak, TRACE_SET_EMPTY);
  fake_trace_end();
  arena_leave(arena);
  free_seg(exact);
  free_seg(weak);
  free_seg(both);
}

static bool write_barrier_up(Seg seg)
{
  return (seg->shield.sm & PROT_DENY_WRITE) != 0;
}

/* barrier.h's rule: a segment with references, no allocation point and a
 * summary narrower than everything is write-protected, so that a store
 * that could widen the summary is noticed; any other is not. */
Test(seg, the_write_barrier_follows_the_summary_and_the_ranks)
{
  Seg seg;
  cr_assert_eq(alloc_seg(&seg, arena->grain_size, RANK_SET_SINGLE(RANK_EXACT), NULL),
               MPS_RES_OK);
  if (!arena->gc->barrier.on)
    cr_skip_test("no hardware barrier on this platform");
  cr_assert_not(write_barrier_up(seg));
  arena_enter(arena);
  seg_set_summary(seg, (ZoneSet)5);
  cr_assert_eq(seg->summary, (ZoneSet)5);
  cr_assert(write_barrier_up(seg), "a narrow summary without a barrier");
  seg_set_summary(seg, ZONE_SET_UNIV);
  cr_assert_not(write_barrier_up(seg));
  seg_set_summary(seg, (ZoneSet)5);
  /* A leaf refers to nothing: no store into it can matter. */
  seg_set_rank_set(seg, RANK_SET_EMPTY);
  cr_assert_eq(seg->summary, ZONE_SET_EMPTY);
  cr_assert_not(write_barrier_up(seg), "a leaf kept its barrier");
  seg_set_rank_set(seg, RANK_SET_SINGLE(RANK_EXACT));
  cr_assert_eq(seg->summary, ZONE_SET_UNIV);
  cr_assert_not(write_barrier_up(seg));
  cr_assert(seg_check(seg));
  arena_leave(arena);
  free_seg(seg);
}

/* With the barrier off, stores into a segment go unseen, so a narrower
 * summary than everything would be a promise nobody keeps. */
Test(seg, without_a_barrier_the_summary_stays_universal)
{
  Seg seg;
  cr_assert_eq(alloc_seg(&seg, arena->grain_size, RANK_SET_SINGLE(RANK_EXACT), NULL),
               MPS_RES_OK);
  arena_enter(arena);
  barrier_disable(arena->gc);
  seg_set_summary(seg, (ZoneSet)5);
  cr_assert_eq(seg->summary, ZONE_SET_UNIV, "a summary no barrier can keep");
  cr_assert_not(write_barrier_up(seg));
  cr_assert(seg_check(seg));
  arena_leave(arena);
  free_seg(seg);
}

Test(seg, generation_counts_its_segments)
{
  pool_gen_s pgen;
  Chain chain;
  Seg a, b;
  Size grain = arena->grain_size;
  arena_enter(arena);
  cr_assert_eq(chain_acquire(&chain, arena, mps_args_none), MPS_RES_OK);
  pool_gen_init(&pgen, pool, chain, 0);
  arena_leave(arena);
  cr_assert_eq(alloc_seg(&a, 2 * grain, RANK_SET_EMPTY, &pgen), MPS_RES_OK);
  cr_assert_eq(alloc_seg(&b, 3 * grain, RANK_SET_EMPTY, &pgen), MPS_RES_OK);
  cr_assert_eq(pgen.total_size, 5 * grain);
  cr_assert_eq(a->gen, &pgen);
  cr_assert_eq(ring_length(&pgen.segs), 2);
  cr_assert(pool_gen_check(&pgen));
  free_seg(a);
  cr_assert_eq(pgen.total_size, 3 * grain);
  free_seg(b);
  cr_assert_eq(pgen.total_size, 0);
  arena_enter(arena);
  pool_gen_finish(&pgen);
  chain_release(chain);
  arena_leave(arena);
}

Test(seg, pool_finish_frees_its_segments)
{
  Seg seg;
  int i;
  for (i = 0; i < 10; ++i)
    cr_assert_eq(alloc_seg(&seg, arena->grain_size * (Size)(i + 1), RANK_SET_EMPTY, NULL),
                 MPS_RES_OK);
  cr_assert_eq(ring_length(&arena->gc->seg_ring), 10);
  /* teardown destroys the pool, whose finish frees them, and then the
   * arena, whose gc_finish checks that none is left. */
}

/* The reports seg_check makes of a segment, through a counting handler
 * (the check itself still answers true: check.h). */
static unsigned seg_check_reports(Seg seg)
{
  reports_install();
  (void)seg_check(seg);
  reports_install_abort();
  return (unsigned)reports_seen();
}

/* Each invariant of seg.c's opening comment, broken alone, is reported
 * once by the cool variety's seg_check (hot checks only the signature). */
#define SEG_BROKEN_REPORTS (CHECK_LEVEL >= 2 ? 1u : 0u)

Test(seg, seg_check_reports_each_broken_invariant)
{
  Seg seg, leaf;
  Addr limit;
  pool_gen_s pgen;
  Chain chain;
  GC gc;
  cr_assert_eq(alloc_seg(&seg, 2 * arena->grain_size, RANK_SET_SINGLE(RANK_EXACT), NULL),
               MPS_RES_OK);
  cr_assert_eq(alloc_seg(&leaf, arena->grain_size, RANK_SET_EMPTY, NULL), MPS_RES_OK);
  gc = arena->gc;
  arena_enter(arena);
  cr_assert_eq(seg_check_reports(seg), 0);
  cr_assert_eq(seg_check_reports(leaf), 0);

  limit = seg->limit;                                              /* 1 */
  seg->limit = seg->base;
  cr_assert_eq(seg_check_reports(seg), SEG_BROKEN_REPORTS, "an empty segment");
  seg->limit = addr_sub(limit, 1);
  cr_assert_eq(seg_check_reports(seg), SEG_BROKEN_REPORTS, "a limit off the grain");
  seg->limit = limit;
  seg->rank_set = RANK_SET_SINGLE(RANK_LIMIT);
  cr_assert_eq(seg_check_reports(seg), SEG_BROKEN_REPORTS, "a rank past the last");
  seg->rank_set = RANK_SET_SINGLE(RANK_EXACT);

  fake_trace_begin();                                              /* 2 */
  leaf->grey = TRACE_SET_SINGLE(0);
  ring_append(&gc->grey_ring[RANK_EXACT], &leaf->grey_ring);
  cr_assert_eq(seg_check_reports(leaf), SEG_BROKEN_REPORTS, "a grey leaf");
  ring_remove(&leaf->grey_ring);
  leaf->grey = TRACE_SET_EMPTY;
  seg->grey = TRACE_SET_SINGLE(0);
  cr_assert_eq(seg_check_reports(seg), SEG_BROKEN_REPORTS, "grey off the rings");
  seg->grey = TRACE_SET_EMPTY;
  fake_trace_end();

  seg->white = TRACE_SET_SINGLE(1);                                /* 3 */
  cr_assert_eq(seg_check_reports(seg), SEG_BROKEN_REPORTS, "white for no trace");
  seg->white = TRACE_SET_EMPTY;
  seg->nailed = TRACE_SET_SINGLE(1);
  cr_assert_eq(seg_check_reports(seg), SEG_BROKEN_REPORTS, "nailed for no trace");
  seg->nailed = TRACE_SET_EMPTY;

  leaf->summary = (ZoneSet)5;                                      /* 4 */
  cr_assert_eq(seg_check_reports(leaf), SEG_BROKEN_REPORTS, "a leaf that refers");
  leaf->summary = ZONE_SET_EMPTY;

  cr_assert_eq(chain_acquire(&chain, arena, mps_args_none), MPS_RES_OK);   /* 5 */
  pool_gen_init(&pgen, pool, chain, 0);
  leaf->gen = &pgen;
  cr_assert_eq(seg_check_reports(leaf), SEG_BROKEN_REPORTS, "a generation, off its ring");
  leaf->gen = NULL;
  ring_append(&pgen.segs, &leaf->gen_ring);
  cr_assert_eq(seg_check_reports(leaf), SEG_BROKEN_REPORTS, "on a ring, no generation");
  ring_remove(&leaf->gen_ring);
  pool_gen_finish(&pgen);
  chain_release(chain);

  cr_assert_eq(seg_check_reports(seg), 0);
  cr_assert_eq(seg_check_reports(leaf), 0);
  arena_leave(arena);
  free_seg(seg);
  free_seg(leaf);
}

/* A segment with references, in an arena with the barrier on (or the
 * test is skipped), the arena entered. */
static Seg barrier_seg(GC *gc_o)
{
  Seg seg;
  cr_assert_eq(alloc_seg(&seg, arena->grain_size, RANK_SET_SINGLE(RANK_EXACT), NULL),
               MPS_RES_OK);
  *gc_o = arena->gc;
  if (!(*gc_o)->barrier.on)
    cr_skip_test("no hardware barrier on this platform");
  arena_enter(arena);
  return seg;
}

/* Invariant 7: the barriers are raised as barrier.h says, and a segment
 * whose protection disagrees is reported. */
Test(seg, seg_check_reports_a_barrier_that_disagrees, TEST_NEEDS_BARRIER)
{
  GC gc;
  Seg seg = barrier_seg(&gc);
  seg->summary = (ZoneSet)5;          /* narrow, but no write barrier */
  cr_assert_eq(seg_check_reports(seg), SEG_BROKEN_REPORTS, "a narrow summary unguarded");
  seg->summary = ZONE_SET_UNIV;
  fake_trace_begin();
  seg_set_grey(seg, TRACE_SET_SINGLE(0));
  gc->barrier.reading = TRACE_SET_SINGLE(0);   /* but no read barrier */
  cr_assert_eq(seg_check_reports(seg), SEG_BROKEN_REPORTS, "grey for a reading trace, unread");
  gc->barrier.reading = TRACE_SET_EMPTY;
  seg_set_grey(seg, TRACE_SET_EMPTY);
  fake_trace_end();
  cr_assert_eq(seg_check_reports(seg), 0);
  arena_leave(arena);
  free_seg(seg);
}

/* A segment grey for a trace that is reading (an incremental one) is
 * read-protected, so that the mutator cannot see its unscanned
 * references; once it is no longer grey, the protection goes. */
Test(seg, a_segment_grey_for_a_reading_trace_has_the_read_barrier, TEST_NEEDS_BARRIER)
{
  GC gc;
  Seg seg = barrier_seg(&gc);
  fake_trace_begin();
  gc->barrier.reading = TRACE_SET_SINGLE(0);
  seg_set_grey(seg, TRACE_SET_SINGLE(0));
  cr_assert_neq(seg->shield.sm & PROT_DENY_READ, 0, "grey for a reading trace, unprotected");
  seg_set_grey(seg, TRACE_SET_EMPTY);
  cr_assert_eq(seg->shield.sm & PROT_DENY_READ, 0, "no longer grey, still protected");
  gc->barrier.reading = TRACE_SET_EMPTY;
  fake_trace_end();
  arena_leave(arena);
  free_seg(seg);
}

/* barrier.h: a new segment's first scans do not keep its summary (the
 * mutator is still filling it), so the barrier goes up only later. */
Test(seg, a_new_segment_waits_before_its_summary_is_kept)
{
  Seg seg;
  cr_assert_eq(alloc_seg(&seg, arena->grain_size, RANK_SET_SINGLE(RANK_EXACT), NULL),
               MPS_RES_OK);
  cr_assert_eq(seg->wb_defer, BARRIER_DEFER_INIT);
  cr_assert_not(barrier_may_keep(seg));
  free_seg(seg);
}

/* Grains of the arena that a pool holds but no segment owns are no
 * segment's, though the arena knows their pool. */
Test(seg, a_pools_grains_outside_segments_are_no_segments)
{
  Addr base;
  Seg found;
  arena_enter(arena);
  cr_assert_eq(arena_alloc(&base, arena, 2 * arena->grain_size, pool), MPS_RES_OK);
  cr_assert_eq(arena_pool_of_addr(arena, base), pool);
  cr_assert_not(seg_of_addr(&found, arena, base));
  cr_assert_not(seg_of_addr(&found, arena, addr_add(base, arena->grain_size + 8)));
  arena_free(arena, base, 2 * arena->grain_size, pool);
  arena_leave(arena);
}

/* A generation's segments lie in its zones (gc_gen_zones): a first
 * generation's in the young zones, an older one's elsewhere, so that a
 * collection of the young condemns few zones.  Made alternately, so that
 * placement by address alone could not put all three right.  In an arena
 * covering every zone, so that each generation's zones have room. */
Test(seg, a_generations_segments_lie_in_its_zones)
{
  pool_gen_s young, old;
  Chain chain;
  Seg segs[3];
  PoolGen gens[3];
  size_t i;
  teardown();
  setup_sized((size_t)256 << 20);
  arena_enter(arena);
  cr_assert_eq(chain_acquire(&chain, arena, mps_args_none), MPS_RES_OK);
  cr_assert_gt(chain->gen_count, 1);
  pool_gen_init(&young, pool, chain, 0);
  pool_gen_init(&old, pool, chain, 1);
  arena_leave(arena);
  gens[0] = &old;
  gens[1] = &young;
  gens[2] = &old;
  cr_assert_eq(gc_gen_zones(&young) & gc_gen_zones(&old), 0);
  for (i = 0; i < 3; ++i) {
    cr_assert_eq(alloc_seg(&segs[i], arena->grain_size, RANK_SET_EMPTY, gens[i]), MPS_RES_OK);
    cr_assert_eq(zone_set_of_range(arena->gc->zone_shift, segs[i]->base, segs[i]->limit)
                 & ~gc_gen_zones(gens[i]), 0, "segment %zu outside its generation's zones", i);
  }
  for (i = 0; i < 3; ++i)
    free_seg(segs[i]);
  arena_enter(arena);
  pool_gen_finish(&young);
  pool_gen_finish(&old);
  chain_release(chain);
  arena_leave(arena);
}

Test(zone, set_of_range)
{
  Shift zs = 20;
  Word z = (Word)1 << zs;
  cr_assert_eq(zone_set_of_range(zs, addr_of_word(0), addr_of_word(1)), (ZoneSet)1);
  cr_assert_eq(zone_set_of_range(zs, addr_of_word(z - 1), addr_of_word(z + 1)), (ZoneSet)3);
  cr_assert_eq(zone_set_of_range(zs, addr_of_word(3 * z), addr_of_word(5 * z)),
               (ZoneSet)0x18);
  /* The last zone of the word, inclusive. */
  cr_assert_eq(zone_set_of_range(zs, addr_of_word((WORD_WIDTH - 1) * z),
                                 addr_of_word(WORD_WIDTH * z)),
               (ZoneSet)1 << (WORD_WIDTH - 1));
  /* Wrapping round the stripe. */
  cr_assert_eq(zone_set_of_range(zs, addr_of_word((WORD_WIDTH - 1) * z),
                                 addr_of_word((WORD_WIDTH + 1) * z)),
               ((ZoneSet)1 << (WORD_WIDTH - 1)) | 1);
  /* Everything, once the range covers the whole stripe. */
  cr_assert_eq(zone_set_of_range(zs, addr_of_word(5), addr_of_word(5 + WORD_WIDTH * z)),
               ZONE_SET_UNIV);
  cr_assert_eq(zone_set_of_range(zs, addr_of_word(z), addr_of_word(z + WORD_WIDTH * z)),
               ZONE_SET_UNIV);
  cr_assert_eq(zone_set_of_range(zs, addr_of_word(z), addr_of_word(WORD_WIDTH * z)),
               ~(ZoneSet)1);
  /* Consistent with zone_of_addr for every single zone. */
  cr_assert_eq(zone_set_of_range(zs, addr_of_word(7 * z + 3), addr_of_word(7 * z + 4)),
               (ZoneSet)1 << zone_of_addr(zs, addr_of_word(7 * z + 3)));
}

/* Misuse, through an aborting handler. */
TestSuite(seg_misuse, TEST_NEEDS_CHECKS);

Test(seg_misuse, grey_leaf_is_refused, .signal = SIGABRT)
{
  Seg seg;
  setup();
  cr_assert_eq(alloc_seg(&seg, arena->grain_size, RANK_SET_EMPTY, NULL), MPS_RES_OK);
  arena_enter(arena);
  fake_trace_begin();
  reports_install_abort();
  seg_set_grey(seg, TRACE_SET_SINGLE(0));
}

Test(seg_misuse, freeing_grey_segment_is_refused, .signal = SIGABRT)
{
  Seg seg;
  setup();
  cr_assert_eq(alloc_seg(&seg, arena->grain_size, RANK_SET_SINGLE(RANK_EXACT), NULL),
               MPS_RES_OK);
  arena_enter(arena);
  fake_trace_begin();
  seg_set_grey(seg, TRACE_SET_SINGLE(0));
  reports_install_abort();
  seg_free(seg);
}

Test(seg_misuse, destroying_arena_with_segments_is_refused, .signal = SIGABRT)
{
  Seg seg;
  setup();
  cr_assert_eq(alloc_seg(&seg, arena->grain_size, RANK_SET_EMPTY, NULL), MPS_RES_OK);
  /* The pool is still alive: gc_finish sees its segment. */
  reports_install_abort();
  mps_arena_destroy(arena);
}

/* A segment of these ranks, the arena entered as a client call would,
 * and misuse to abort: what the caller does next must be refused. */
static Seg misuse_seg(RankSet ranks)
{
  Seg seg;
  setup();
  cr_assert_eq(alloc_seg(&seg, arena->grain_size, ranks, NULL), MPS_RES_OK);
  arena_enter(arena);
  reports_install_abort();
  return seg;
}

Test(seg_misuse, white_for_a_trace_not_running_is_refused, .signal = SIGABRT)
{
  seg_set_white(misuse_seg(RANK_SET_SINGLE(RANK_EXACT)), TRACE_SET_SINGLE(0));
}

Test(seg_misuse, nailed_for_a_trace_not_running_is_refused, .signal = SIGABRT)
{
  seg_set_nailed(misuse_seg(RANK_SET_SINGLE(RANK_EXACT)), TRACE_SET_SINGLE(0));
}

Test(seg_misuse, grey_for_a_trace_not_running_is_refused, .signal = SIGABRT)
{
  seg_set_grey(misuse_seg(RANK_SET_SINGLE(RANK_EXACT)), TRACE_SET_SINGLE(0));
}

/* A leaf refers to nothing (invariant 4): a summary for it is a mistake. */
Test(seg_misuse, a_summary_for_a_leaf_is_refused, .signal = SIGABRT)
{
  seg_set_summary(misuse_seg(RANK_SET_EMPTY), (ZoneSet)5);
}
