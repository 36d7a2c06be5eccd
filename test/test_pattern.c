/* Unit tests for allocation patterns (src/gc/pattern.c): the two
 * patterns, begin/end nesting and the result codes (end without begin,
 * end of the wrong pattern, too deep, a pattern not from the library),
 * reset, manual pools' allocation points (codes kept, nothing counted),
 * an allocation point destroyed in a ramp, the nursery allowance while
 * ramping (and its bound), and the collection of everything when a
 * ramp_collect_all ends, at once, after the enclosing ramp, or after the
 * arena is released. */
#include <criterion/criterion.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscmvff.h"
#include "../src/base/config.h"
#include "../src/gc/gc.h"
#include "../stress/support/gcobj.c"
#include "support/checks.h"
#include "support/collections.h"
#include "support/reports.h"

static mps_addr_t tpat_exact[4];

typedef struct tpat_s {
  mps_arena_t arena;
  mps_chain_t chain;
  mps_fmt_t fmt;
  mps_pool_t amc;
  mps_ap_t ap;
  mps_root_t root;
} tpat_s;

/* Nursery capacity of the test chain, in KiB. */
#define TPAT_NURSERY_KIB 1024

static void tpat_setup(tpat_s *t)
{
  mps_gen_param_s gens[2] = {{TPAT_NURSERY_KIB, 0.9}, {64 * 1024, 0.4}};
  memset(tpat_exact, 0, sizeof tpat_exact);
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
  cr_assert_eq(mps_ap_create_k(&t->ap, t->amc, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->root, t->arena, mps_rank_exact(), 0, tpat_exact, 4),
               MPS_RES_OK);
}

static void tpat_teardown(tpat_s *t)
{
  mps_message_t message;
  mps_arena_park(t->arena);
  while (mps_message_get(&message, t->arena, mps_message_type_gc_start()))
    mps_message_discard(t->arena, message);
  while (mps_message_get(&message, t->arena, mps_message_type_gc()))
    mps_message_discard(t->arena, message);
  mps_root_destroy(t->root);
  if (t->ap != NULL)
    mps_ap_destroy(t->ap);
  mps_pool_destroy(t->amc);
  mps_fmt_destroy(t->fmt);
  mps_chain_destroy(t->chain);
  mps_arena_destroy(t->arena);
}

/* Allocate `kib` KiB of dead objects of about 4 KiB each. */
static void tpat_garbage(tpat_s *t, size_t kib)
{
  size_t i;
  for (i = 0; i < kib / 4; ++i) {
    mps_addr_t p;
    cr_assert_eq(gcobj_alloc(&p, t->ap, (mps_word_t)i + 1, 0, 4096 / sizeof(mps_word_t) - 4,
                             NULL),
                 MPS_RES_OK);
  }
}

static Count tpat_ramping(tpat_s *t)
{
  return t->arena->gc->pattern.ramping;
}

Test(pattern, the_two_patterns_are_distinct_and_stable)
{
  cr_assert_not_null(mps_alloc_pattern_ramp());
  cr_assert_not_null(mps_alloc_pattern_ramp_collect_all());
  cr_assert_neq(mps_alloc_pattern_ramp(), mps_alloc_pattern_ramp_collect_all());
  cr_assert_eq(mps_alloc_pattern_ramp(), mps_alloc_pattern_ramp());
}

Test(pattern, begin_end_and_end_without_begin)
{
  tpat_s t;
  mps_alloc_pattern_t ramp = mps_alloc_pattern_ramp();
  tpat_setup(&t);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_FAIL);
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, ramp), MPS_RES_OK);
  cr_assert_eq(tpat_ramping(&t), 1);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_OK);
  cr_assert_eq(tpat_ramping(&t), 0);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_FAIL);
  tpat_teardown(&t);
}

Test(pattern, nesting_matches_like_brackets)
{
  tpat_s t;
  mps_alloc_pattern_t ramp = mps_alloc_pattern_ramp();
  mps_alloc_pattern_t all = mps_alloc_pattern_ramp_collect_all();
  tpat_setup(&t);
  mps_arena_clamp(t.arena);   /* the collect_all end is tested elsewhere */
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, ramp), MPS_RES_OK);
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, all), MPS_RES_OK);
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, ramp), MPS_RES_OK);
  cr_assert_eq(tpat_ramping(&t), 1, "an allocation point counts once");
  /* Innermost is a ramp: ending collect_all would overlap. */
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, all), MPS_RES_FAIL);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_OK);
  /* Now collect_all is innermost: a ramp end is refused, nothing popped. */
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_FAIL);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, all), MPS_RES_OK);
  cr_assert_eq(tpat_ramping(&t), 1);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_OK);
  cr_assert_eq(tpat_ramping(&t), 0);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_FAIL);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, all), MPS_RES_FAIL);
  tpat_teardown(&t);
}

Test(pattern, reset_ends_everything)
{
  tpat_s t;
  mps_alloc_pattern_t ramp = mps_alloc_pattern_ramp();
  tpat_setup(&t);
  cr_assert_eq(mps_ap_alloc_pattern_reset(t.ap), MPS_RES_OK);   /* nothing begun */
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, ramp), MPS_RES_OK);
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, ramp), MPS_RES_OK);
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, ramp), MPS_RES_OK);
  cr_assert_eq(mps_ap_alloc_pattern_reset(t.ap), MPS_RES_OK);
  cr_assert_eq(tpat_ramping(&t), 0);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_FAIL);
  /* Usable again afterwards. */
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, ramp), MPS_RES_OK);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_OK);
  tpat_teardown(&t);
}

/* pattern.rst: a begin always succeeds, so nesting has no limit.  Ends
 * match begins all the way down: within the depth whose order is kept
 * exactly, and beyond it by kind; the ramp_collect_all deep inside still
 * brings its collection once everything has ended. */
Test(pattern, nesting_has_no_limit)
{
  tpat_s t;
  mps_alloc_pattern_t ramp = mps_alloc_pattern_ramp();
  mps_alloc_pattern_t all = mps_alloc_pattern_ramp_collect_all();
  size_t i, depth = 3 * MPS_WORD_WIDTH, before;
  tpat_setup(&t);
  before = collections_done(t.arena);
  for (i = 0; i < depth; ++i)
    cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, i == depth - 5 ? all : ramp), MPS_RES_OK,
                 "begin %zu", i);
  cr_assert_eq(tpat_ramping(&t), 1);
  /* Beyond the kept depth only kinds are matched: the collect-all may
   * end before the four ramps begun inside it. */
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, all), MPS_RES_OK);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_OK);
  /* The one ramp_collect_all is ended above; no other is left deep. */
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, all), MPS_RES_FAIL);
  for (i = 2; i < depth; ++i)
    cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_OK, "end %zu", i);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_FAIL);
  cr_assert_eq(tpat_ramping(&t), 0);
  mps_arena_park(t.arena);     /* the collection may run incrementally */
  cr_assert_gt(collections_done(t.arena), before, "the collect-all brought no collection");
  /* Within the kept depth, the order is checked exactly. */
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, all), MPS_RES_OK);
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, ramp), MPS_RES_OK);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, all), MPS_RES_FAIL);
  cr_assert_eq(mps_ap_alloc_pattern_reset(t.ap), MPS_RES_OK);
  tpat_teardown(&t);
}

/* Reset ends a ramp_collect_all begun beyond the kept depth too, and
 * that brings its collection, as ending it one by one would. */
Test(pattern, reset_beyond_the_kept_depth_still_collects_everything)
{
  tpat_s t;
  mps_alloc_pattern_t ramp = mps_alloc_pattern_ramp();
  mps_alloc_pattern_t all = mps_alloc_pattern_ramp_collect_all();
  size_t i, depth = MPS_WORD_WIDTH + 10, before;
  tpat_setup(&t);
  for (i = 0; i < depth; ++i)
    cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, i == MPS_WORD_WIDTH + 5 ? all : ramp),
                 MPS_RES_OK, "begin %zu", i);
  before = collections_done(t.arena);
  cr_assert_eq(mps_ap_alloc_pattern_reset(t.ap), MPS_RES_OK);
  cr_assert_eq(tpat_ramping(&t), 0);
  mps_arena_park(t.arena);     /* the collection may run incrementally */
  cr_assert_gt(collections_done(t.arena), before,
               "the deep ramp_collect_all ended by reset brought no collection");
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_FAIL);
  tpat_teardown(&t);
}

Test(pattern, manual_pool_keeps_codes_and_counts_nothing)
{
  tpat_s t;
  mps_pool_t mvff;
  mps_ap_t ap;
  mps_alloc_pattern_t all = mps_alloc_pattern_ramp_collect_all();
  size_t before;
  tpat_setup(&t);
  cr_assert_eq(mps_pool_create_k(&mvff, t.arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, mvff, mps_args_none), MPS_RES_OK);
  before = collections_done(t.arena);
  cr_assert_eq(mps_ap_alloc_pattern_end(ap, all), MPS_RES_FAIL);
  cr_assert_eq(mps_ap_alloc_pattern_begin(ap, all), MPS_RES_OK);
  cr_assert_eq(tpat_ramping(&t), 0);
  cr_assert_eq(mps_ap_alloc_pattern_end(ap, all), MPS_RES_OK);
  cr_assert(!t.arena->gc->pattern.full_due, "an ignored pattern asks for nothing");
  mps_arena_park(t.arena);   /* a collection started would finish here */
  cr_assert_eq(collections_done(t.arena), before, "an ignored pattern collects nothing");
  mps_ap_destroy(ap);
  mps_pool_destroy(mvff);
  tpat_teardown(&t);
}

Test(pattern, destroying_an_allocation_point_ends_its_patterns)
{
  tpat_s t;
  tpat_setup(&t);
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, mps_alloc_pattern_ramp()), MPS_RES_OK);
  cr_assert_eq(tpat_ramping(&t), 1);
  mps_ap_destroy(t.ap);
  t.ap = NULL;
  cr_assert_eq(tpat_ramping(&t), 0);
  tpat_teardown(&t);
}

Test(pattern, nursery_collections_wait_during_a_ramp_within_a_bound)
{
  tpat_s t;
  size_t before;
  mps_alloc_pattern_t ramp = mps_alloc_pattern_ramp();
  tpat_setup(&t);
  /* Without a ramp, twice the nursery's capacity brings a collection. */
  before = collections_done(t.arena);
  tpat_garbage(&t, 2 * TPAT_NURSERY_KIB);
  cr_assert_gt(collections_done(t.arena), before);
  /* Within a ramp the same allocation does not. */
  mps_arena_collect(t.arena);
  mps_arena_release(t.arena);
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, ramp), MPS_RES_OK);
  before = collections_done(t.arena);
  tpat_garbage(&t, 2 * TPAT_NURSERY_KIB);
  cr_assert_eq(collections_done(t.arena), before, "the ramp defers the nursery");
  /* But the nursery does not grow without bound. */
  tpat_garbage(&t, 4 * TPAT_NURSERY_KIB);
  cr_assert_gt(collections_done(t.arena), before, "the deferral is bounded");
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_OK);
  tpat_teardown(&t);
}

/* Whether a gc_start message saying a ramp_collect_all asked for it is
 * waiting; discards the gc_start messages it reads. */
static bool tpat_ramp_collection_started(tpat_s *t)
{
  mps_message_t message;
  bool found = false;
  while (mps_message_get(&message, t->arena, mps_message_type_gc_start())) {
    if (strstr(mps_message_gc_start_why(t->arena, message), "ramp_collect_all") != NULL)
      found = true;
    mps_message_discard(t->arena, message);
  }
  return found;
}

Test(pattern, ending_collect_all_collects_everything)
{
  tpat_s t;
  size_t before;
  mps_alloc_pattern_t all = mps_alloc_pattern_ramp_collect_all();
  tpat_setup(&t);
  mps_message_type_enable(t.arena, mps_message_type_gc_start());
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, all), MPS_RES_OK);
  tpat_garbage(&t, 64);
  (void)tpat_ramp_collection_started(&t);
  before = collections_done(t.arena);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, all), MPS_RES_OK);
  cr_assert(tpat_ramp_collection_started(&t));
  /* It may go on incrementally (test_incremental): parking finishes it. */
  mps_arena_park(t.arena);
  cr_assert_eq(collections_done(t.arena), before + 1);
  cr_assert(!t.arena->gc->pattern.full_due, "the request is met");
  tpat_teardown(&t);
}

Test(pattern, collect_all_waits_for_the_enclosing_ramp)
{
  tpat_s t;
  size_t before;
  mps_alloc_pattern_t ramp = mps_alloc_pattern_ramp();
  mps_alloc_pattern_t all = mps_alloc_pattern_ramp_collect_all();
  tpat_setup(&t);
  mps_message_type_enable(t.arena, mps_message_type_gc_start());
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, ramp), MPS_RES_OK);
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, all), MPS_RES_OK);
  before = collections_done(t.arena);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, all), MPS_RES_OK);
  cr_assert_eq(collections_done(t.arena), before, "the outer ramp is still on");
  cr_assert(!tpat_ramp_collection_started(&t));
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_OK);
  cr_assert(tpat_ramp_collection_started(&t));
  mps_arena_park(t.arena);
  cr_assert_eq(collections_done(t.arena), before + 1);
  tpat_teardown(&t);
}

Test(pattern, collect_all_in_a_clamped_arena_waits_for_release)
{
  tpat_s t;
  size_t before;
  mps_alloc_pattern_t all = mps_alloc_pattern_ramp_collect_all();
  tpat_setup(&t);
  mps_message_type_enable(t.arena, mps_message_type_gc_start());
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, all), MPS_RES_OK);
  mps_arena_clamp(t.arena);
  before = collections_done(t.arena);
  cr_assert_eq(mps_ap_alloc_pattern_reset(t.ap), MPS_RES_OK);   /* ends it too */
  cr_assert_eq(collections_done(t.arena), before);
  cr_assert(t.arena->gc->pattern.full_due);
  mps_arena_release(t.arena);
  /* The next allocation slow path polls. */
  tpat_garbage(&t, 128);
  cr_assert_geq(collections_done(t.arena), before + 1);
  cr_assert(tpat_ramp_collection_started(&t));
  cr_assert(!t.arena->gc->pattern.full_due);
  tpat_teardown(&t);
}

Test(pattern, a_client_full_collection_meets_the_request)
{
  tpat_s t;
  mps_alloc_pattern_t all = mps_alloc_pattern_ramp_collect_all();
  tpat_setup(&t);
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, all), MPS_RES_OK);
  mps_arena_clamp(t.arena);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, all), MPS_RES_OK);
  cr_assert(t.arena->gc->pattern.full_due);
  mps_arena_collect(t.arena);
  cr_assert(!t.arena->gc->pattern.full_due);
  tpat_teardown(&t);
}

/* pattern.rst: the pattern is one of the two the library returns.
 * Anything else is reported and refused, and the allocation point's
 * patterns are as they were. */
Test(pattern, a_pattern_not_from_the_library_is_refused)
{
  tpat_s t;
  mps_alloc_pattern_t ramp = mps_alloc_pattern_ramp();
  mps_word_t not_a_pattern[4] = {0, 0, 0, 0};
  mps_alloc_pattern_t bogus = (mps_alloc_pattern_t)(void *)not_a_pattern;
  tpat_setup(&t);
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, ramp), MPS_RES_OK);
  reports_install();
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, bogus), MPS_RES_PARAM);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, bogus), MPS_RES_PARAM);
  cr_assert_eq(mps_ap_alloc_pattern_begin(t.ap, NULL), MPS_RES_PARAM);
  reports_install_abort();
  TEST_ASSERT_REPORTED(reports_seen());
  cr_assert_eq(tpat_ramping(&t), 1);
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_OK, "the ramp is still innermost");
  cr_assert_eq(mps_ap_alloc_pattern_end(t.ap, ramp), MPS_RES_FAIL, "and was the only one");
  tpat_teardown(&t);
}
