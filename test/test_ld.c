/* Unit tests for location dependency (src/gc/ld.c): a dependency with no
 * additions is never stale; an object of an AMC pool that a collection
 * moved is always reported stale, through the recent history and
 * through prehistory; reset makes a dependency fresh; merge carries the
 * source's zones and its older epoch; objects of a non-moving pool (AMS)
 * stay fresh after a collection whenever no AMC segment shared their
 * zone, and a collection that condemns no moving segment (a full one of
 * AMS alone, or one of another chain) starts no new epoch at all, nor
 * counts in mps_collections.  Every block added counts; a merge keeps
 * the destination's own blocks, and an empty source changes nothing;
 * moves before a reset do not count, and beyond the history only zones
 * that ever moved do.  A dependency reset when the collector state could
 * not be made, and a null one, are judged stale.
 *
 * Objects are kept only by an exact table root (the test's thread is not
 * registered), so the collector is free to move every AMC object. */
#include <criterion/criterion.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/arena/chunk.h"
#include "../src/gc/gc.h"
#include "../src/gc/seg.h"
#include "../stress/support/gcobj.c"
#include "support/checks.h"
#include "support/collections.h"
#include "support/reports.h"

enum { TLD_OBJS = 64, TLD_AMS_OBJS = 64 };

static mps_addr_t tld_exact[TLD_OBJS];      /* AMC objects */
static mps_addr_t tld_ams_exact[TLD_AMS_OBJS];

typedef struct tld_s {
  mps_arena_t arena;
  mps_chain_t chain;
  mps_fmt_t fmt;
  mps_pool_t amc, ams;
  mps_ap_t amc_ap, ams_ap;
  mps_root_t root, ams_root;
} tld_s;

/* An arena of arena_size bytes with an AMC and an AMS pool on one chain
 * of the two generations gens. */
static void tld_setup_with(tld_s *t, size_t arena_size, mps_gen_param_s gens[2])
{
  memset(tld_exact, 0, sizeof tld_exact);
  memset(tld_ams_exact, 0, sizeof tld_ams_exact);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, arena_size);
    cr_assert_eq(mps_arena_create_k(&t->arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_chain_create(&t->chain, t->arena, 2, gens), MPS_RES_OK);
  cr_assert_eq(gcobj_fmt_create(&t->fmt, t->arena), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
    cr_assert_eq(mps_pool_create_k(&t->amc, t->arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
    cr_assert_eq(mps_pool_create_k(&t->ams, t->arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&t->amc_ap, t->amc, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&t->ams_ap, t->ams, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->root, t->arena, mps_rank_exact(), 0, tld_exact,
                                     TLD_OBJS), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->ams_root, t->arena, mps_rank_exact(), 0,
                                     tld_ams_exact, TLD_AMS_OBJS), MPS_RES_OK);
}

static void tld_setup(tld_s *t)
{
  mps_gen_param_s gens[2] = {{1024, 0.8}, {4096, 0.4}};
  tld_setup_with(t, (size_t)64 << 20, gens);
}

static void tld_teardown(tld_s *t)
{
  mps_arena_park(t->arena);
  mps_root_destroy(t->ams_root);
  mps_root_destroy(t->root);
  mps_ap_destroy(t->ams_ap);
  mps_ap_destroy(t->amc_ap);
  mps_pool_destroy(t->ams);
  mps_pool_destroy(t->amc);
  mps_fmt_destroy(t->fmt);
  mps_chain_destroy(t->chain);
  mps_arena_destroy(t->arena);
}

/* Make the allocation point leave its segment (AMC never condemns the
 * segment a buffer is filling), with a dead object bigger than what is
 * left of it. */
static void tld_detach(tld_s *t)
{
  mps_addr_t p;
  cr_assert_eq(gcobj_alloc(&p, t->amc_ap, 99999, 0, 40000, NULL), MPS_RES_OK);
}

/* Fill tld_exact with AMC objects (ids from 1), out of the buffer's
 * segment. */
static void tld_fill_amc(tld_s *t)
{
  size_t i;
  for (i = 0; i < TLD_OBJS; ++i) {
    mps_addr_t p;
    cr_assert_eq(gcobj_alloc(&p, t->amc_ap, (mps_word_t)i + 1, 0, 8, NULL), MPS_RES_OK);
    tld_exact[i] = p;
  }
  tld_detach(t);
}

static Word tld_epoch(tld_s *t)
{
  return atomic_load_explicit(&t->arena->gc->ld_history.epoch, memory_order_relaxed);
}

Test(ld, no_additions_never_stale)
{
  tld_s t;
  mps_ld_s ld;
  int k;
  tld_setup(&t);
  tld_fill_amc(&t);
  mps_ld_reset(&ld, t.arena);
  cr_assert(!mps_ld_isstale(&ld, t.arena, tld_exact[0]));
  for (k = 0; k < 3; ++k) {
    mps_arena_collect(t.arena);
    mps_arena_release(t.arena);
    cr_assert(!mps_ld_isstale(&ld, t.arena, tld_exact[0]));
    cr_assert(!mps_ld_isstale_any(&ld, t.arena));
  }
  cr_assert_gt(tld_epoch(&t), 0, "collections of AMC start new epochs");
  tld_teardown(&t);
}

Test(ld, fresh_until_a_collection)
{
  tld_s t;
  mps_ld_s ld;
  tld_setup(&t);
  tld_fill_amc(&t);
  mps_ld_reset(&ld, t.arena);
  mps_ld_add(&ld, t.arena, tld_exact[0]);
  mps_ld_add(&ld, t.arena, tld_exact[1]);
  /* No collection since the reset: nothing can have moved. */
  cr_assert(!mps_ld_isstale(&ld, t.arena, tld_exact[0]));
  cr_assert(!mps_ld_isstale_any(&ld, t.arena));
  tld_teardown(&t);
}

/* Each object in its own dependency; after `collections` collections,
 * every one that moved must be stale; returns how many moved. */
static size_t tld_check_moved(tld_s *t, int collections)
{
  static mps_ld_s lds[TLD_OBJS];
  mps_addr_t before[TLD_OBJS];
  size_t i, moved = 0;
  int k;
  for (i = 0; i < TLD_OBJS; ++i) {
    mps_ld_reset(&lds[i], t->arena);
    mps_ld_add(&lds[i], t->arena, tld_exact[i]);
    before[i] = tld_exact[i];
  }
  for (k = 0; k < collections; ++k) {
    mps_arena_collect(t->arena);
    mps_arena_release(t->arena);
  }
  for (i = 0; i < TLD_OBJS; ++i) {
    cr_assert_eq(gcobj_id(tld_exact[i]), (mps_word_t)i + 1);
    if (tld_exact[i] != before[i]) {
      ++moved;
      cr_assert(mps_ld_isstale(&lds[i], t->arena, tld_exact[i]),
                "object %zu moved from %p to %p but its dependency is fresh", i,
                before[i], tld_exact[i]);
      cr_assert(mps_ld_isstale_any(&lds[i], t->arena));
    }
  }
  return moved;
}

Test(ld, moved_objects_are_stale)
{
  tld_s t;
  int round;
  tld_setup(&t);
  tld_fill_amc(&t);
  for (round = 0; round < 4; ++round)
    cr_assert_gt(tld_check_moved(&t, 1), 0, "a collection of AMC moved something");
  tld_teardown(&t);
}

Test(ld, moved_objects_are_stale_beyond_the_history)
{
  tld_s t;
  tld_setup(&t);
  tld_fill_amc(&t);
  /* More collections than the history has epochs: judged by prehistory. */
  cr_assert_gt(tld_check_moved(&t, LD_HISTORY_LENGTH + 3), 0);
  tld_teardown(&t);
}

Test(ld, reset_makes_fresh)
{
  tld_s t;
  mps_ld_s ld;
  mps_addr_t before;
  tld_setup(&t);
  tld_fill_amc(&t);
  mps_ld_reset(&ld, t.arena);
  before = tld_exact[3];
  mps_ld_add(&ld, t.arena, tld_exact[3]);
  mps_arena_collect(t.arena);
  mps_arena_release(t.arena);
  cr_assert_neq(tld_exact[3], before, "AMC moved the object");
  cr_assert(mps_ld_isstale(&ld, t.arena, tld_exact[3]));
  mps_ld_reset(&ld, t.arena);
  cr_assert(!mps_ld_isstale(&ld, t.arena, tld_exact[3]));
  mps_ld_add(&ld, t.arena, tld_exact[3]);
  cr_assert(!mps_ld_isstale(&ld, t.arena, tld_exact[3]));
  cr_assert(!mps_ld_isstale_any(&ld, t.arena));
  tld_teardown(&t);
}

Test(ld, merge_carries_zones_and_the_older_epoch)
{
  tld_s t;
  mps_ld_s src, dest, empty;
  mps_addr_t before;
  tld_setup(&t);
  tld_fill_amc(&t);
  mps_ld_reset(&src, t.arena);
  mps_ld_reset(&empty, t.arena);
  before = tld_exact[5];
  mps_ld_add(&src, t.arena, tld_exact[5]);
  mps_arena_collect(t.arena);
  mps_arena_release(t.arena);
  cr_assert_neq(tld_exact[5], before);
  /* dest is reset after the collection: fresh on its own. */
  mps_ld_reset(&dest, t.arena);
  mps_ld_add(&dest, t.arena, tld_exact[6]);
  cr_assert(!mps_ld_isstale_any(&dest, t.arena));
  /* An empty source changes nothing. */
  mps_ld_merge(&dest, t.arena, &empty);
  cr_assert(!mps_ld_isstale_any(&dest, t.arena));
  /* The source's object moved after the source's reset: dest is stale. */
  mps_ld_merge(&dest, t.arena, &src);
  cr_assert(mps_ld_isstale(&dest, t.arena, tld_exact[5]));
  cr_assert(mps_ld_isstale_any(&dest, t.arena));
  /* Merging into an empty dependency makes it the source's copy. */
  mps_ld_reset(&empty, t.arena);
  mps_ld_merge(&empty, t.arena, &src);
  cr_assert(mps_ld_isstale_any(&empty, t.arena));
  tld_teardown(&t);
}

Test(ld, merge_then_move_is_stale)
{
  tld_s t;
  mps_ld_s a, b;
  mps_addr_t before;
  tld_setup(&t);
  tld_fill_amc(&t);
  mps_ld_reset(&a, t.arena);
  mps_ld_reset(&b, t.arena);
  mps_ld_add(&a, t.arena, tld_exact[0]);
  before = tld_exact[9];
  mps_ld_add(&b, t.arena, tld_exact[9]);
  mps_ld_merge(&a, t.arena, &b);
  cr_assert(!mps_ld_isstale_any(&a, t.arena));
  mps_arena_collect(t.arena);
  mps_arena_release(t.arena);
  cr_assert_neq(tld_exact[9], before);
  cr_assert(mps_ld_isstale(&a, t.arena, tld_exact[9]));
  tld_teardown(&t);
}

/* The zones of the AMC pool's segments now. */
static ZoneSet tld_amc_zones(tld_s *t)
{
  GC gc = t->arena->gc;
  Ring node, next;
  ZoneSet zones = ZONE_SET_EMPTY;
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if (seg->pool == t->amc)
      zones |= zone_set_of_range(gc->zone_shift, seg->base, seg->limit);
  }
  return zones;
}

Test(ld, non_moving_objects_stay_fresh_outside_moving_zones)
{
  tld_s t;
  static mps_ld_s lds[TLD_AMS_OBJS];
  ZoneSet amc_zones;
  size_t i, outside = 0;
  tld_setup(&t);
  tld_fill_amc(&t);
  /* About 3 MiB of AMS objects: they cover several 1 MiB zones, most of
   * them not shared with the few AMC segments. */
  for (i = 0; i < TLD_AMS_OBJS; ++i) {
    mps_addr_t p;
    cr_assert_eq(gcobj_alloc(&p, t.ams_ap, (mps_word_t)i + 1000, 0, 6000, NULL), MPS_RES_OK);
    tld_ams_exact[i] = p;
    mps_ld_reset(&lds[i], t.arena);
    mps_ld_add(&lds[i], t.arena, p);
  }
  mps_arena_park(t.arena);
  amc_zones = tld_amc_zones(&t);
  cr_assert_neq(amc_zones, ZONE_SET_EMPTY);
  {
    Word epoch = tld_epoch(&t);
    mps_arena_collect(t.arena);   /* condemns AMC and AMS */
    cr_assert_eq(tld_epoch(&t), epoch + 1);
  }
  for (i = 0; i < TLD_AMS_OBJS; ++i) {
    Shift shift = t.arena->gc->zone_shift;
    ZoneSet zone = (ZoneSet)1 << zone_of_addr(shift, (Addr)tld_ams_exact[i]);
    cr_assert_eq(gcobj_id(tld_ams_exact[i]), (mps_word_t)i + 1000);
    if ((zone & amc_zones) == 0) {
      ++outside;
      cr_assert(!mps_ld_isstale(&lds[i], t.arena, tld_ams_exact[i]),
                "AMS object %zu shares no zone with AMC yet is stale", i);
    }
  }
  cr_assert_gt(outside, 0, "some AMS object lies outside the AMC zones");
  mps_arena_release(t.arena);
  tld_teardown(&t);
}

Test(ld, collection_of_only_non_moving_segments_starts_no_epoch)
{
  tld_s t;
  mps_ld_s ld;
  mps_addr_t p;
  Word epoch;
  tld_setup(&t);
  /* No AMC object at all: a full collection condemns only AMS. */
  cr_assert_eq(gcobj_alloc(&p, t.ams_ap, 7, 0, 4, NULL), MPS_RES_OK);
  tld_ams_exact[0] = p;
  mps_ld_reset(&ld, t.arena);
  mps_ld_add(&ld, t.arena, p);
  mps_ap_destroy(t.amc_ap);   /* its buffer would hold an AMC segment */
  cr_assert_eq(mps_ap_create_k(&t.amc_ap, t.amc, mps_args_none), MPS_RES_OK);
  cr_assert_eq(tld_amc_zones(&t), ZONE_SET_EMPTY);
  epoch = tld_epoch(&t);
  mps_arena_collect(t.arena);
  mps_arena_release(t.arena);
  cr_assert_eq(tld_epoch(&t), epoch);
  cr_assert_eq(mps_collections(t.arena), epoch, "arena.rst: only flips that may move count");
  cr_assert_eq(tld_ams_exact[0], p);
  cr_assert(!mps_ld_isstale(&ld, t.arena, p));
  tld_teardown(&t);
}

/* ---- Which zones count, and since when ---------------------------------
 *
 * The tests below pick AMS objects by zone, against the zones the AMC
 * pool's segments had before each collection (a superset of what that
 * collection moved), and assert first that the placement gave them an
 * object of the kind they need. */

/* Fill tld_ams_exact with AMS objects (ids from 1000) of about 48 KiB:
 * several zones' worth. */
static void tld_fill_ams(tld_s *t)
{
  size_t i;
  for (i = 0; i < TLD_AMS_OBJS; ++i) {
    mps_addr_t p;
    cr_assert_eq(gcobj_alloc(&p, t->ams_ap, (mps_word_t)i + 1000, 0, 6000, NULL), MPS_RES_OK);
    tld_ams_exact[i] = p;
  }
}

static ZoneSet tld_zone_of(tld_s *t, mps_addr_t p)
{
  return (ZoneSet)1 << zone_of_addr(t->arena->gc->zone_shift, (Addr)p);
}

/* The index of an AMS object whose zone meets `in` and not `out`. */
static size_t tld_ams_in_zones(tld_s *t, ZoneSet in, ZoneSet out)
{
  size_t i;
  for (i = 0; i < TLD_AMS_OBJS; ++i) {
    ZoneSet zone = tld_zone_of(t, tld_ams_exact[i]);
    if ((zone & in) != 0 && (zone & out) == 0)
      return i;
  }
  cr_assert_fail("no AMS object in zones %#jx outside %#jx", (uintmax_t)in, (uintmax_t)out);
  return 0;
}

static void tld_collect(tld_s *t)
{
  mps_arena_collect(t->arena);
  mps_arena_release(t->arena);
}

/* location.rst: dependencies on many blocks may be added to one; it is
 * stale if any of them moved, whatever was added after it. */
Test(ld, every_block_added_counts)
{
  tld_s t;
  mps_ld_s ld;
  mps_addr_t before;
  size_t k;
  tld_setup(&t);
  tld_fill_amc(&t);
  tld_fill_ams(&t);
  k = tld_ams_in_zones(&t, ZONE_SET_UNIV, tld_amc_zones(&t));
  mps_ld_reset(&ld, t.arena);
  before = tld_exact[2];
  mps_ld_add(&ld, t.arena, tld_exact[2]);
  mps_ld_add(&ld, t.arena, tld_ams_exact[k]);   /* in no zone that moves */
  tld_collect(&t);
  cr_assert_neq(tld_exact[2], before);
  cr_assert(mps_ld_isstale(&ld, t.arena, tld_exact[2]));
  cr_assert(mps_ld_isstale_any(&ld, t.arena));
  tld_teardown(&t);
}

/* location.rst: merging has the effect of adding the source's blocks to
 * the destination, whose own blocks still count. */
Test(ld, merge_keeps_the_destinations_own_blocks)
{
  tld_s t;
  mps_ld_s dest, src;
  mps_addr_t before;
  size_t k;
  tld_setup(&t);
  tld_fill_amc(&t);
  tld_fill_ams(&t);
  k = tld_ams_in_zones(&t, ZONE_SET_UNIV, tld_amc_zones(&t));
  mps_ld_reset(&dest, t.arena);
  mps_ld_reset(&src, t.arena);
  before = tld_exact[4];
  mps_ld_add(&dest, t.arena, tld_exact[4]);
  mps_ld_add(&src, t.arena, tld_ams_exact[k]);
  mps_ld_merge(&dest, t.arena, &src);
  tld_collect(&t);
  cr_assert_neq(tld_exact[4], before);
  cr_assert(!mps_ld_isstale_any(&src, t.arena), "the AMS object's zone did not move");
  cr_assert(mps_ld_isstale(&dest, t.arena, tld_exact[4]));
  tld_teardown(&t);
}

/* A collection that moves AMC objects and frees their nursery segments,
 * then AMS objects allocated into the space (first fit: design/arena.txt)
 * with the AMC survivors elsewhere.  *moved_o: the zones of the AMC
 * segments at the collection; *later_o: those after.  Returns the index
 * of an AMS object in a zone moved then and holding no AMC segment now.
 * The allocation point is made anew first, so that no buffer keeps a
 * nursery segment. */
static size_t tld_collect_then_share(tld_s *t, ZoneSet *moved_o, ZoneSet *later_o)
{
  tld_fill_amc(t);
  mps_ap_destroy(t->amc_ap);
  cr_assert_eq(mps_ap_create_k(&t->amc_ap, t->amc, mps_args_none), MPS_RES_OK);
  *moved_o = tld_amc_zones(t);
  tld_collect(t);
  tld_fill_ams(t);
  *later_o = tld_amc_zones(t);
  return tld_ams_in_zones(t, *moved_o, *later_o);
}

/* Merging a dependency that holds nothing changes nothing, however old
 * its reset: the destination, reset after the collection, stays fresh
 * though its block's zone moved in that collection. */
Test(ld, merging_an_older_empty_dependency_changes_nothing)
{
  tld_s t;
  mps_ld_s old_empty, dest;
  ZoneSet moved, later;
  size_t k;
  tld_setup(&t);
  mps_ld_reset(&old_empty, t.arena);
  k = tld_collect_then_share(&t, &moved, &later);
  mps_ld_reset(&dest, t.arena);
  mps_ld_add(&dest, t.arena, tld_ams_exact[k]);
  mps_ld_merge(&dest, t.arena, &old_empty);
  cr_assert(!mps_ld_isstale(&dest, t.arena, tld_ams_exact[k]));
  cr_assert(!mps_ld_isstale_any(&dest, t.arena));
  tld_teardown(&t);
}

/* A move in a zone before the reset does not count (design/arena.txt:
 * the history remembers what moved since each recent epoch): the AMS
 * object is in a zone of the first collection's AMC segments, and the
 * second, after the reset, moves only the survivors, elsewhere. */
Test(ld, a_move_before_the_reset_does_not_count)
{
  tld_s t;
  mps_ld_s ld;
  ZoneSet moved, later;
  Word epoch;
  size_t k;
  tld_setup(&t);
  k = tld_collect_then_share(&t, &moved, &later);
  mps_ld_reset(&ld, t.arena);
  mps_ld_add(&ld, t.arena, tld_ams_exact[k]);
  epoch = tld_epoch(&t);
  tld_collect(&t);
  cr_assert_eq(tld_epoch(&t), epoch + 1, "the AMC survivors moved again");
  cr_assert(!mps_ld_isstale(&ld, t.arena, tld_ams_exact[k]));
  tld_teardown(&t);
}

/* Beyond the history, a dependency is judged by every zone that ever
 * moved: a block in none of them is still fresh. */
Test(ld, beyond_the_history_a_zone_that_never_moved_is_fresh)
{
  tld_s t;
  mps_ld_s ld;
  ZoneSet ever = ZONE_SET_EMPTY;
  size_t k;
  int round;
  tld_setup(&t);
  tld_fill_amc(&t);
  tld_fill_ams(&t);
  mps_ld_reset(&ld, t.arena);
  for (round = 0; round < LD_HISTORY_LENGTH + 3; ++round) {
    ever |= tld_amc_zones(&t);
    tld_collect(&t);
  }
  cr_assert_gt(tld_epoch(&t), (Word)LD_HISTORY_LENGTH);
  k = tld_ams_in_zones(&t, ZONE_SET_UNIV, ever);
  mps_ld_add(&ld, t.arena, tld_ams_exact[k]);
  cr_assert(!mps_ld_isstale(&ld, t.arena, tld_ams_exact[k]));
  tld_teardown(&t);
}

/* A collection of another chain's non-moving pool alone: the AMC
 * segments, not condemned, moved nothing, so no epoch starts
 * (arena.rst: mps_collections counts only flips in which objects might
 * have moved) and a dependency on an AMC object stays fresh. */
Test(ld, a_collection_that_condemns_no_amc_segment_starts_no_epoch)
{
  tld_s t;
  mps_gen_param_s small[1] = {{256, 0.5}};
  mps_chain_t chain;
  mps_pool_t ams;
  mps_ap_t ap;
  mps_ld_s ld;
  mps_addr_t amc_obj;
  mps_word_t epoch, done;
  size_t i;
  tld_setup(&t);
  tld_fill_amc(&t);
  cr_assert_eq(mps_chain_create(&chain, t.arena, 1, small), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    cr_assert_eq(mps_pool_create_k(&ams, t.arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap, ams, mps_args_none), MPS_RES_OK);
  amc_obj = tld_exact[0];
  mps_ld_reset(&ld, t.arena);
  mps_ld_add(&ld, t.arena, amc_obj);
  epoch = mps_collections(t.arena);
  done = collections_done(t.arena);
  /* Four times the small chain's capacity, all dead. */
  for (i = 0; i < 128; ++i) {
    mps_addr_t p;
    cr_assert_eq(gcobj_alloc(&p, ap, (mps_word_t)i + 5000, 0, 1000, NULL), MPS_RES_OK);
  }
  mps_arena_park(t.arena);
  cr_assert_gt(collections_done(t.arena), done, "the small chain was collected");
  cr_assert_eq(tld_exact[0], amc_obj, "AMC was not condemned");
  cr_assert_eq(mps_collections(t.arena), epoch);
  cr_assert(!mps_ld_isstale(&ld, t.arena, amc_obj));
  mps_ap_destroy(ap);
  mps_pool_destroy(ams);
  mps_chain_destroy(chain);
  tld_teardown(&t);
}

/* An arena with no pools, and so no collector state yet. */
static mps_arena_t tld_bare_arena(void)
{
  mps_arena_t arena;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)16 << 20);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_null(arena->gc);
  return arena;
}

/* A dependency reset when the arena could not make its collector state
 * (the request refused here with arena_fail_after) has no epoch to be
 * judged by: once something is added it is stale, both while the arena
 * still has no collector state and after it has made one, and merged
 * into a fresh dependency it makes that one stale too. */
Test(ld, a_dependency_reset_without_collector_state_is_stale_once_added_to)
{
  mps_arena_t arena = tld_bare_arena();
  mps_ld_s none, fresh;
  mps_addr_t addr = &fresh;   /* any address: only its zone is kept */
  arena_fail_after(arena, 1);
  mps_ld_reset(&none, arena);
  arena_fail_after(arena, 0);
  cr_assert_null(arena->gc, "the refused request was the collector state's");
  cr_assert(!mps_ld_isstale_any(&none, arena), "nothing added: never stale");
  mps_ld_add(&none, arena, addr);
  cr_assert(mps_ld_isstale(&none, arena, addr));
  /* This reset makes the collector state; nothing has moved since. */
  mps_ld_reset(&fresh, arena);
  cr_assert_not_null(arena->gc);
  mps_ld_add(&fresh, arena, addr);
  cr_assert(!mps_ld_isstale(&fresh, arena, addr));
  cr_assert(mps_ld_isstale(&none, arena, addr));
  mps_ld_merge(&fresh, arena, &none);
  cr_assert(mps_ld_isstale_any(&fresh, arena));
  mps_arena_destroy(arena);
}

/* Misuse: a null dependency is reported in every variety that checks;
 * asked whether it is stale the answer is yes, which is never wrong, and
 * a merge from or into one changes nothing. */
Test(ld, a_null_dependency_is_reported_and_judged_stale)
{
  mps_arena_t arena = tld_bare_arena();
  mps_ld_s ld;
  mps_addr_t addr = &ld;
  mps_ld_reset(&ld, arena);
  mps_ld_add(&ld, arena, addr);
  reports_install();
  cr_assert(mps_ld_isstale(NULL, arena, addr));
  cr_assert(mps_ld_isstale_any(NULL, arena));
  mps_ld_merge(&ld, arena, NULL);
  mps_ld_merge(NULL, arena, &ld);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(4));
  cr_assert(!mps_ld_isstale(&ld, arena, addr), "the merges left it as it was");
  mps_arena_destroy(arena);
}

/* In an arena smaller than 64 stripes of 1 MiB, every zone still has
 * grains in it (gc.c, gc_zone_shift), so the nursery has young zones of
 * its own: an object promoted out of it stays where it is, and fresh,
 * through collections of the nursery alone.  With 1 MiB zones an 8 MiB
 * arena held an eighth of the zones, the young ones seldom among them:
 * nurseries then shared zones with old objects, and every collection
 * made every dependency stale. */
Test(ld, old_objects_stay_fresh_through_nursery_collections_in_a_small_arena)
{
  tld_s t;
  mps_ld_s ld;
  mps_addr_t old;
  mps_gen_param_s gens[2] = {{256, 0.8}, {65536, 0.4}};
  Chunk primary;
  int round;
  tld_setup_with(&t, (size_t)8 << 20, gens);
  primary = t.arena->primary;
  cr_assert_geq(addr_offset(primary->base, primary->limit) >> t.arena->gc->zone_shift,
                (Size)WORD_WIDTH, "some zone has no grain in the primary chunk");
  mps_arena_park(t.arena);
  cr_assert_eq(gcobj_alloc(&tld_exact[0], t.amc_ap, 7, 0, 8, NULL), MPS_RES_OK);
  tld_detach(&t);
  cr_assert_eq(mps_arena_collect(t.arena), MPS_RES_OK);   /* promotes it */
  old = tld_exact[0];
  mps_ld_reset(&ld, t.arena);
  mps_ld_add(&ld, t.arena, old);
  for (round = 0; round < 4; ++round) {
    size_t i;
    mps_addr_t p;
    for (i = 0; i < 40; ++i)   /* 320 KiB of garbage: the nursery is due */
      cr_assert_eq(gcobj_alloc(&p, t.amc_ap, 1000 + (mps_word_t)i, 0, 1000, NULL), MPS_RES_OK);
    cr_assert(collections_run_due(t.arena), "round %d: no collection", round);
    cr_assert_eq(tld_exact[0], old, "round %d: the old object moved", round);
    cr_assert_eq(gcobj_id(old), 7);
    cr_assert(!mps_ld_isstale(&ld, t.arena, old), "round %d: the dependency went stale", round);
  }
  tld_teardown(&t);
}
