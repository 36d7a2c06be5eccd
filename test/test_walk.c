/* test_walk.c: unit tests for the heap walks (src/gc/walk.c):
 * mps_arena_formatted_objects_walk, mps_pool_walk, mps_addr_object and
 * mps_addr_fmt, over AMC and AMCZ pools (manual/topic/deprecated.rst,
 * pool.rst, arena.rst, format.rst).
 *
 * The objects are in the shape test_root uses: four words, the header
 * word of test/support/objfmt.h (whose objfmt_scan_id_ref, skip, forward,
 * is-forwarded and pad methods they use), an identity, one reference, a
 * spare word.  Each walk is checked against what the test allocated:
 * which identities are visited, in which pool, with which format, and
 * (after a collection) that only survivors are.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscmvff.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "support/objfmt.h"
#include "support/checks.h"
#include "support/reports.h"

#define WW sizeof(mps_word_t)
#define WOBJ_WORDS 4
#define ID_BASE ((mps_word_t)0x1d0000)

#define NOBJ 300

static struct {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_pool_t amc, amcz;
  mps_ap_t ap, apz;
  mps_root_t root;
  mps_addr_t refs[NOBJ];        /* exact root: the objects kept */
} w;

static mps_addr_t w_alloc(mps_ap_t ap, mps_word_t id, mps_addr_t ref)
{
  mps_addr_t p;
  size_t size = WOBJ_WORDS * WW;
  do {
    mps_word_t *o;
    cr_assert_eq(mps_reserve(&p, ap, size), MPS_RES_OK);
    o = p;
    o[0] = OBJFMT_HDR(WOBJ_WORDS, OBJFMT_T_OBJ);
    o[1] = id;
    o[2] = (mps_word_t)ref;
    o[3] = 0;
  } while (!mps_commit(ap, p, size));
  return p;
}

/* Objects 0..NOBJ-1 alternate between AMC (even) and AMCZ (odd); the
 * exact root holds those whose index is a multiple of `keep_every` (all
 * of them with 1).  AMC objects refer to the previous AMCZ object. */
static void w_open(size_t keep_every)
{
  size_t i;
  mps_addr_t prev = NULL;
  memset(&w, 0, sizeof w);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 16 << 20);
    cr_assert_eq(mps_arena_create_k(&w.arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(objfmt_create(&w.fmt, w.arena, objfmt_scan_id_ref, true), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, w.fmt);
    cr_assert_eq(mps_pool_create_k(&w.amc, w.arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, w.fmt);
    cr_assert_eq(mps_pool_create_k(&w.amcz, w.arena, mps_class_amcz(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&w.ap, w.amc, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&w.apz, w.amcz, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&w.root, w.arena, mps_rank_exact(), 0, w.refs, NOBJ),
               MPS_RES_OK);
  for (i = 0; i < NOBJ; ++i) {
    mps_addr_t p = (i % 2 == 0) ? w_alloc(w.ap, ID_BASE + i, prev)
                                : w_alloc(w.apz, ID_BASE + i, NULL);
    if (i % 2 == 1)
      prev = p;
    if (i % keep_every == 0)
      w.refs[i] = p;
  }
}

static void w_close(void)
{
  mps_arena_park(w.arena);
  mps_root_destroy(w.root);
  mps_ap_destroy(w.ap);
  mps_ap_destroy(w.apz);
  mps_pool_destroy(w.amc);
  mps_pool_destroy(w.amcz);
  mps_fmt_destroy(w.fmt);
  mps_arena_destroy(w.arena);
}

/* ---- mps_arena_formatted_objects_walk --------------------------------- */

static struct {
  unsigned char seen[NOBJ];
  size_t objects, pads, others;
} tally;

static void count_object(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  mps_word_t *o = addr;
  cr_assert_eq(p, &tally);
  cr_assert_eq(s, 7);
  cr_assert_eq(fmt, w.fmt);
  switch (OBJFMT_TYPE(o[0])) {
  case OBJFMT_T_OBJ: {
    size_t i = (size_t)(o[1] - ID_BASE);
    cr_assert_lt(i, NOBJ);
    cr_assert_eq(pool, (i % 2 == 0) ? w.amc : w.amcz, "object %zu in the wrong pool", i);
    ++tally.seen[i];
    ++tally.objects;
    break;
  }
  case OBJFMT_T_PAD:
    ++tally.pads;
    break;
  default:
    ++tally.others;     /* a forwarding object: never, between collections */
  }
}

Test(walk, formatted_objects_walk_visits_every_object_once)
{
  size_t i;
  w_open(1);
  memset(&tally, 0, sizeof tally);
  mps_arena_formatted_objects_walk(w.arena, count_object, &tally, 7);
  cr_assert_eq(tally.objects, NOBJ);
  cr_assert_eq(tally.others, 0);
  for (i = 0; i < NOBJ; ++i)
    cr_assert_eq(tally.seen[i], 1, "object %zu seen %u times", i, tally.seen[i]);
  w_close();
}

/* The original MPS's clients ask mps_arena_has_addr from a walk's
 * stepper, which runs with the arena locked (its own walk test does): it
 * answers there as outside. */
static size_t has_addr_yes;

static void ask_has_addr(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  (void)fmt;
  (void)pool;
  (void)s;
  cr_assert(mps_arena_has_addr(p, addr), "%p is not the arena's", addr);
  cr_assert_not(mps_arena_has_addr(p, &has_addr_yes));
  ++has_addr_yes;
}

Test(walk, a_stepper_may_ask_whether_the_arena_has_an_address)
{
  w_open(1);
  has_addr_yes = 0;
  mps_arena_formatted_objects_walk(w.arena, ask_has_addr, w.arena, 0);
  cr_assert_geq(has_addr_yes, NOBJ);
  w_close();
}

Test(walk, after_a_collection_only_survivors_are_visited)
{
  size_t i;
  w_open(3);
  /* Detach the allocation points so every segment is condemned. */
  mps_ap_destroy(w.ap);
  mps_ap_destroy(w.apz);
  mps_arena_collect(w.arena);
  cr_assert_eq(mps_ap_create_k(&w.ap, w.amc, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&w.apz, w.amcz, mps_args_none), MPS_RES_OK);
  memset(&tally, 0, sizeof tally);
  mps_arena_formatted_objects_walk(w.arena, count_object, &tally, 7);
  cr_assert_eq(tally.others, 0);
  for (i = 0; i < NOBJ; ++i) {
    /* Kept by the root; odd ones also by the AMC object after them
     * (i + 1), when that one is kept. */
    bool live = i % 3 == 0 || (i % 2 == 1 && i + 1 < NOBJ && (i + 1) % 3 == 0);
    cr_assert_eq(tally.seen[i], live ? 1 : 0, "object %zu seen %u times", i,
                 tally.seen[i]);
  }
  w_close();
}

/* ---- mps_pool_walk ---------------------------------------------------- */

static size_t area_objects, area_calls;
static mps_res_t area_result;

static mps_res_t count_area(mps_ss_t ss, void *base, void *limit, void *closure)
{
  mps_word_t *p;
  cr_assert_eq(closure, &area_calls);
  ++area_calls;
  MPS_SCAN_BEGIN(ss) {
    for (p = base; p < (mps_word_t *)limit; p += OBJFMT_WORDS(p[0])) {
      cr_assert_neq(OBJFMT_TYPE(p[0]), OBJFMT_T_FWD);
      if (OBJFMT_TYPE(p[0]) == OBJFMT_T_OBJ) {
        mps_addr_t ref = (mps_addr_t)p[2];
        ++area_objects;
        /* Fixing is allowed and changes nothing. */
        cr_assert_eq(MPS_FIX12(ss, &ref), MPS_RES_OK);
        cr_assert_eq(ref, (mps_addr_t)p[2]);
      }
    }
  } MPS_SCAN_END(ss);
  return area_result;
}

Test(walk, pool_walk_covers_each_pools_objects)
{
  w_open(1);
  mps_arena_park(w.arena);
  area_objects = area_calls = 0;
  area_result = MPS_RES_OK;
  cr_assert_eq(mps_pool_walk(w.amc, count_area, &area_calls), MPS_RES_OK);
  cr_assert_eq(area_objects, NOBJ / 2);
  cr_assert_geq(area_calls, 1);
  area_objects = area_calls = 0;
  cr_assert_eq(mps_pool_walk(w.amcz, count_area, &area_calls), MPS_RES_OK);
  cr_assert_eq(area_objects, NOBJ / 2);
  /* A visitor's failure stops the walk and is returned. */
  area_objects = area_calls = 0;
  area_result = MPS_RES_FAIL;
  cr_assert_eq(mps_pool_walk(w.amc, count_area, &area_calls), MPS_RES_FAIL);
  cr_assert_eq(area_calls, 1);
  /* Clamped with no collection running is parked too (arena.rst). */
  mps_arena_release(w.arena);
  mps_arena_clamp(w.arena);
  area_objects = area_calls = 0;
  area_result = MPS_RES_OK;
  cr_assert_eq(mps_pool_walk(w.amc, count_area, &area_calls), MPS_RES_OK);
  cr_assert_eq(area_objects, NOBJ / 2);
  mps_arena_release(w.arena);
  w_close();
}

static mps_res_t fail_first_area(mps_ss_t ss, void *base, void *limit, void *closure)
{
  size_t *calls = closure;
  (void)ss;
  (void)base;
  (void)limit;
  return (*calls)++ == 0 ? MPS_RES_FAIL : MPS_RES_OK;
}

/* The walk stops at the first area its scanner refuses, and returns that
 * result although the later areas would have been accepted. */
Test(walk, pool_walk_stops_at_the_first_refusal)
{
  size_t i, calls = 0;
  w_open(1);
  for (i = 0; i < 2000; ++i)          /* 64 KiB and more: several segments */
    (void)w_alloc(w.ap, ID_BASE + NOBJ + i, NULL);
  mps_arena_park(w.arena);
  area_objects = area_calls = 0;
  area_result = MPS_RES_OK;
  cr_assert_eq(mps_pool_walk(w.amc, count_area, &area_calls), MPS_RES_OK);
  cr_assert_gt(area_calls, 1, "one area only: nothing to test");
  cr_assert_eq(mps_pool_walk(w.amc, fail_first_area, &calls), MPS_RES_FAIL);
  cr_assert_eq(calls, 1);
  w_close();
}

Test(walk, pool_walk_needs_a_parked_arena, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  w_open(1);
  reports_install_abort();
  area_result = MPS_RES_OK;
  (void)mps_pool_walk(w.amc, count_area, &area_calls);
}

Test(walk, pool_walk_of_a_manual_pool_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_pool_t mvff;
  w_open(1);
  cr_assert_eq(mps_pool_create_k(&mvff, w.arena, mps_class_mvff(), mps_args_none),
               MPS_RES_OK);
  mps_arena_park(w.arena);
  reports_install_abort();
  (void)mps_pool_walk(mvff, count_area, &area_calls);
}

/* ---- mps_addr_object and mps_addr_fmt --------------------------------- */

Test(walk, addr_object_finds_the_object_from_any_address_in_it)
{
  mps_pool_t mvff;
  mps_addr_t found, block;
  mps_fmt_t fmt;
  int local;
  size_t i;
  w_open(1);
  for (i = 0; i < NOBJ; i += 37) {
    char *obj = w.refs[i];
    size_t off;
    for (off = 0; off < WOBJ_WORDS * WW; off += 5) {
      found = NULL;
      cr_assert_eq(mps_addr_object(&found, w.arena, obj + off), MPS_RES_OK);
      cr_assert_eq(found, (mps_addr_t)obj, "object %zu offset %zu", i, off);
    }
    cr_assert(mps_addr_fmt(&fmt, w.arena, obj + 3));
    cr_assert_eq(fmt, w.fmt);
  }
  /* Not in the arena at all. */
  cr_assert_eq(mps_addr_object(&found, w.arena, &local), MPS_RES_FAIL);
  /* In a pool that cannot say. */
  cr_assert_eq(mps_pool_create_k(&mvff, w.arena, mps_class_mvff(), mps_args_none),
               MPS_RES_OK);
  cr_assert_eq(mps_alloc(&block, mvff, 64), MPS_RES_OK);
  cr_assert_eq(mps_addr_object(&found, w.arena, block), MPS_RES_UNIMPL);
  cr_assert(!mps_addr_fmt(&fmt, w.arena, block));
  mps_free(mvff, block, 64);
  mps_pool_destroy(mvff);
  w_close();
}

Test(walk, addr_object_fails_where_an_object_was_moved_from)
{
  mps_addr_t old, found;
  w_open(1);
  old = w.refs[0];
  mps_ap_destroy(w.ap);
  mps_ap_destroy(w.apz);
  mps_arena_collect(w.arena);
  /* No ambiguous reference, so it moved; the copy is an object. */
  cr_assert_neq(w.refs[0], old);
  cr_assert_eq(mps_addr_object(&found, w.arena, w.refs[0]), MPS_RES_OK);
  cr_assert_eq(found, w.refs[0]);
  /* The from-space was freed and nothing has been allocated since. */
  cr_assert_eq(mps_addr_object(&found, w.arena, old), MPS_RES_FAIL);
  cr_assert_eq(mps_ap_create_k(&w.ap, w.amc, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&w.apz, w.amcz, mps_args_none), MPS_RES_OK);
  w_close();
}

Test(walk, walks_of_an_arena_without_a_collector_do_nothing)
{
  mps_arena_t arena;
  mps_addr_t found;
  int local;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 1 << 20);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  memset(&tally, 0, sizeof tally);
  mps_arena_formatted_objects_walk(arena, count_object, &tally, 7);
  cr_assert_eq(tally.objects + tally.pads + tally.others, 0);
  cr_assert_eq(mps_addr_object(&found, arena, &local), MPS_RES_FAIL);
  mps_arena_destroy(arena);
}
