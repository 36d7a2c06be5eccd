/* Unit tests for location dependency (src/gc/ld.c): a dependency with no
 * additions is never stale; an object of an AMC pool that a collection
 * moved is always reported stale, through the recent history and
 * through prehistory; reset makes a dependency fresh; merge carries the
 * source's zones and its older epoch; objects of a non-moving pool (AMS)
 * stay fresh after a collection whenever no AMC segment shared their
 * zone, and a collection that condemns no moving segment starts no new
 * epoch at all.
 *
 * Objects are kept only by an exact table root (the test's thread is not
 * registered), so the collector is free to move every AMC object. */
#include <criterion/criterion.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../src/base/config.h"
#include "../src/gc/gc.h"
#include "../src/gc/seg.h"
#include "../stress/support/gcobj.c"

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

static void tld_setup(tld_s *t)
{
  mps_gen_param_s gens[2] = {{1024, 0.8}, {4096, 0.4}};
  memset(tld_exact, 0, sizeof tld_exact);
  memset(tld_ams_exact, 0, sizeof tld_ams_exact);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)64 << 20);
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
  cr_assert_eq(tld_ams_exact[0], p);
  cr_assert(!mps_ld_isstale(&ld, t.arena, p));
  tld_teardown(&t);
}
