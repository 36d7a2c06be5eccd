/* Unit tests for the AWL pool class (src/pool/pool_awl.c) and allocation
 * point ranks (MPS_KEY_RANK, src/pool/buffer.c): pools and exact and weak
 * allocation points; a weak-key table whose unreferenced keys are splatted
 * by a full collection while strongly referenced keys (in AMC, AMS and
 * AWL) survive and are updated when they move; AMC keys kept by an
 * ambiguous reference (a nailed segment); weak objects kept by strong
 * references only; the dependent object callback, its segment exposed
 * while the scan writes to it, and a dependent outside the arena; bad
 * keywords refused; walks; a scan that writes a reference into a
 * dependent in its own segment.
 *
 * The test format (shared by every pool here) is test/support/objfmt.h's,
 * with the weak-key arrays of test/support/awlarr.h: an array has its
 * dependent array, its length tagged as length * 2 + 1 (awl.rst: not to
 * look like a pointer), then its slots; a slot is a reference or 0.  The
 * scan is awlarr.h's, scanning objects with objfmt_scan, and this test
 * counts what it does to the arrays. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpscawl.h"
#include "../include/mpsclo.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/gc/seg.h"
#include "support/awlarr.h"
#include "support/collections.h"
#include "support/objfmt.h"
#include "support/reports.h"

#define W sizeof(mps_word_t)

/* What the scan method saw. */
static mps_arena_t tawl_arena;          /* to look up segments */
static unsigned long tawl_splats;       /* weak slots the fix splatted */
static unsigned long tawl_dep_writes;   /* writes to a dependent array */
static unsigned long tawl_dep_unexposed;/* ... into a segment not exposed */
static unsigned long tawl_find_calls;   /* calls of find_dependent */

/* Whether the collector has exposed the segment holding addr (or addr is
 * outside the arena, where there is nothing to expose). */
static bool tawl_exposed(void *addr)
{
  Seg seg;
  if (!seg_of_addr(&seg, tawl_arena, addr))
    return true;
  return seg->shield.depth > 0;
}

/* A splat by the scan: counted, and so is the write to the dependent
 * that follows, which must be to an exposed segment. */
static void tawl_splatted(awlarr a, size_t i)
{
  (void)i;
  ++tawl_splats;
  if (a->dependent != NULL) {
    if (!tawl_exposed(a->dependent))
      ++tawl_dep_unexposed;
    ++tawl_dep_writes;
  }
}

static mps_res_t tawl_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  return awlarr_scan(ss, base, limit, objfmt_scan, tawl_splatted);
}

static mps_addr_t tawl_find_dependent(mps_addr_t addr)
{
  awlarr a = addr;
  cr_assert(OBJFMT_TYPE(a->header) == OBJFMT_T_ARR || OBJFMT_TYPE(a->header) == OBJFMT_T_OBJ,
            "find_dependent called on something that is not an object");
  if (OBJFMT_TYPE(a->header) != OBJFMT_T_ARR)
    return NULL;
  ++tawl_find_calls;
  return a->dependent;
}

#define NREFS 256

typedef struct tawl_s {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t amc, ams, awl;
  mps_ap_t amc_ap, ams_ap, awl_ap, weak_ap;
  mps_root_t root, aroot;
  mps_addr_t refs[NREFS];   /* exact root */
  mps_addr_t ambig[8];      /* ambiguous root */
} tawl_s;

static void tawl_open(tawl_s *t)
{
  mps_gen_param_s gens[2] = {{256, 0.5}, {1024, 0.5}};
  memset(t, 0, sizeof *t);
  tawl_splats = tawl_dep_writes = tawl_dep_unexposed = tawl_find_calls = 0;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 32 << 20);
    cr_assert_eq(mps_arena_create_k(&t->arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  tawl_arena = t->arena;
  cr_assert_eq(objfmt_create(&t->fmt, t->arena, tawl_scan, true), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&t->chain, t->arena, 2, gens), MPS_RES_OK);
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
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
    MPS_ARGS_ADD(args, MPS_KEY_AWL_FIND_DEPENDENT, tawl_find_dependent);
    cr_assert_eq(mps_pool_create_k(&t->awl, t->arena, mps_class_awl(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&t->amc_ap, t->amc, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&t->ams_ap, t->ams, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&t->awl_ap, t->awl, mps_args_none), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    cr_assert_eq(mps_ap_create_k(&t->weak_ap, t->awl, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_root_create_table(&t->root, t->arena, mps_rank_exact(), 0, t->refs,
                                     NREFS), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->aroot, t->arena, mps_rank_ambig(), 0, t->ambig,
                                     sizeof t->ambig / sizeof t->ambig[0]), MPS_RES_OK);
  mps_arena_park(t->arena);
}

static void tawl_close(tawl_s *t)
{
  mps_arena_park(t->arena);
  mps_root_destroy(t->aroot);
  mps_root_destroy(t->root);
  mps_ap_destroy(t->weak_ap);
  mps_ap_destroy(t->awl_ap);
  mps_ap_destroy(t->ams_ap);
  mps_ap_destroy(t->amc_ap);
  mps_pool_destroy(t->awl);
  mps_pool_destroy(t->ams);
  mps_pool_destroy(t->amc);
  mps_chain_destroy(t->chain);
  mps_fmt_destroy(t->fmt);
  mps_arena_destroy(t->arena);
}

/* An object with nrefs null references and ndata words from seed, stored
 * in *slot (a root) before anything else is allocated. */
static void tawl_obj(mps_ap_t ap, mps_addr_t *slot, size_t nrefs, size_t ndata,
                     mps_word_t seed)
{
  size_t words = 2 + nrefs + ndata, i;
  mps_addr_t p;
  do {
    objfmt_obj obj;
    cr_assert_eq(mps_reserve(&p, ap, words * W), MPS_RES_OK);
    obj = p;
    obj->header = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    obj->nrefs = nrefs;
    for (i = 0; i < nrefs; ++i)
      obj->slot[i] = 0;
    for (i = 0; i < ndata; ++i)
      obj->slot[nrefs + i] = seed * 31u + i;
  } while (!mps_commit(ap, p, words * W));
  *slot = p;
}

static bool tawl_obj_ok(objfmt_obj obj, size_t ndata, mps_word_t seed)
{
  size_t i;
  if (OBJFMT_TYPE(obj->header) != OBJFMT_T_OBJ
      || OBJFMT_WORDS(obj->header) != 2 + obj->nrefs + ndata)
    return false;
  for (i = 0; i < ndata; ++i)
    if (obj->slot[obj->nrefs + i] != seed * 31u + i)
      return false;
  return true;
}

static void tawl_arr(mps_ap_t ap, mps_addr_t *slot, size_t n)
{
  size_t words = AWLARR_WORDS(n);
  mps_addr_t p;
  do {
    cr_assert_eq(mps_reserve(&p, ap, words * W), MPS_RES_OK);
    awlarr_init(p, n);
  } while (!mps_commit(ap, p, words * W));
  *slot = p;
}

/* ---- the weak table --------------------------------------------------- */

/* A weak-key table of n entries in refs[0] (keys, weak) and refs[1]
 * (values, exact), each the other's dependent.  Key i is allocated on
 * key_ap with seed i, value i on the AMC point with seed 1000 + i; the keys
 * with keep(i) are also held in refs[2 + i] (strong). */
static void tawl_table(tawl_s *t, mps_ap_t key_ap, size_t n, bool (*keep)(size_t))
{
  size_t i;
  awlarr keys, vals;
  cr_assert(n + 3 <= NREFS);
  tawl_arr(t->weak_ap, &t->refs[0], n);
  tawl_arr(t->awl_ap, &t->refs[1], n);
  keys = t->refs[0];
  vals = t->refs[1];
  keys->dependent = vals;
  vals->dependent = keys;
  for (i = 0; i < n; ++i) {
    tawl_obj(key_ap, &t->refs[NREFS - 1], 0, 3, (mps_word_t)i);
    ((awlarr)t->refs[0])->slot[i] = (mps_word_t)t->refs[NREFS - 1];
    if (keep(i))
      t->refs[2 + i] = t->refs[NREFS - 1];
    tawl_obj(t->amc_ap, &t->refs[NREFS - 1], 0, 2, (mps_word_t)(1000 + i));
    ((awlarr)t->refs[1])->slot[i] = (mps_word_t)t->refs[NREFS - 1];
  }
  t->refs[NREFS - 1] = NULL;
}

/* After a full collection: kept keys are present (the same object as the
 * strong reference, intact) with their values; the others are gone from
 * both arrays.  Returns the number of kept keys. */
static size_t tawl_table_check(tawl_s *t, size_t n, bool (*keep)(size_t))
{
  awlarr keys = t->refs[0], vals = t->refs[1];
  size_t i, kept = 0;
  cr_assert_eq(keys->dependent, vals);
  cr_assert_eq(vals->dependent, keys);
  for (i = 0; i < n; ++i) {
    if (keep(i)) {
      cr_assert_eq((mps_addr_t)keys->slot[i], t->refs[2 + i],
                   "key %zu is not its strong reference's object", i);
      cr_assert(tawl_obj_ok((objfmt_obj)keys->slot[i], 3, (mps_word_t)i), "key %zu damaged", i);
      cr_assert_neq(vals->slot[i], 0, "value %zu of a live key deleted", i);
      cr_assert(tawl_obj_ok((objfmt_obj)vals->slot[i], 2, (mps_word_t)(1000 + i)),
                "value %zu damaged", i);
      ++kept;
    } else {
      cr_assert_eq(keys->slot[i], 0, "unreferenced key %zu not splatted", i);
      cr_assert_eq(vals->slot[i], 0, "value %zu of a dead key not deleted", i);
    }
  }
  return kept;
}

static bool tawl_every_third(size_t i) { return i % 3 == 0; }

static void tawl_weak_table_case(tawl_s *t, mps_ap_t *key_ap, size_t n)
{
  size_t kept;
  unsigned long splats;
  tawl_table(t, *key_ap, n, tawl_every_third);
  mps_arena_collect(t->arena);
  kept = tawl_table_check(t, n, tawl_every_third);
  cr_assert_eq(kept, (n + 2) / 3);
  cr_assert_eq(tawl_splats, n - kept, "splats %lu", tawl_splats);
  cr_assert_eq(tawl_dep_writes, n - kept);
  cr_assert_eq(tawl_dep_unexposed, 0, "a dependent written while not exposed");
  cr_assert_gt(tawl_find_calls, 0);
  /* Again: nothing more dies, and the survivors stay correct. */
  splats = tawl_splats;
  mps_arena_collect(t->arena);
  tawl_table_check(t, n, tawl_every_third);
  cr_assert_eq(tawl_splats, splats);
  /* Drop every strong reference: every key goes. */
  memset(&t->refs[2], 0, n * sizeof t->refs[0]);
  mps_arena_collect(t->arena);
  for (size_t i = 0; i < n; ++i) {
    cr_assert_eq(((awlarr)t->refs[0])->slot[i], 0);
    cr_assert_eq(((awlarr)t->refs[1])->slot[i], 0);
  }
}

Test(awl, weak_table_keys_in_amc)
{
  tawl_s t;
  tawl_open(&t);
  tawl_weak_table_case(&t, &t.amc_ap, 200);
  tawl_close(&t);
}

Test(awl, weak_table_keys_in_ams)
{
  tawl_s t;
  tawl_open(&t);
  tawl_weak_table_case(&t, &t.ams_ap, 200);
  tawl_close(&t);
}

Test(awl, weak_table_keys_in_awl)
{
  tawl_s t;
  tawl_open(&t);
  tawl_weak_table_case(&t, &t.awl_ap, 200);
  tawl_close(&t);
}

static bool tawl_all(size_t i) { (void)i; return true; }

Test(awl, weak_references_follow_moved_keys)
{
  tawl_s t;
  mps_addr_t before[50];
  size_t i, moved = 0;
  tawl_open(&t);
  tawl_table(&t, t.amc_ap, 50, tawl_all);
  for (i = 0; i < 50; ++i)
    before[i] = t.refs[2 + i];
  mps_arena_collect(t.arena);
  tawl_table_check(&t, 50, tawl_all);
  for (i = 0; i < 50; ++i)
    if (t.refs[2 + i] != before[i])
      ++moved;
  cr_assert_gt(moved, 0, "no AMC key moved: the test shows nothing");
  cr_assert_eq(tawl_splats, 0);
  tawl_close(&t);
}

Test(awl, ambiguously_referenced_amc_key_is_kept_in_nailed_segment)
{
  tawl_s t;
  awlarr keys;
  tawl_open(&t);
  /* Keys 0..9 in one AMC segment; key 4 is held ambiguously only. */
  tawl_table(&t, t.amc_ap, 10, tawl_every_third);
  keys = t.refs[0];
  t.ambig[0] = (mps_addr_t)keys->slot[4];
  mps_arena_collect(t.arena);
  keys = t.refs[0];
  cr_assert_eq((mps_addr_t)keys->slot[4], t.ambig[0], "nailed key moved or splatted");
  cr_assert(tawl_obj_ok((objfmt_obj)keys->slot[4], 3, 4));
  cr_assert_neq(((awlarr)t.refs[1])->slot[4], 0);
  for (size_t i = 0; i < 10; ++i)
    if (i != 4 && i % 3 != 0)
      cr_assert_eq(keys->slot[i], 0, "key %zu in the nailed segment not splatted", i);
  t.ambig[0] = NULL;
  tawl_close(&t);
}

Test(awl, weak_objects_live_by_strong_references_only)
{
  tawl_s t;
  awlarr a;
  mps_addr_t target;
  tawl_open(&t);
  /* A weak array whose only reference is from another weak array. */
  tawl_arr(t.weak_ap, &t.refs[0], 1);
  tawl_arr(t.weak_ap, &t.refs[1], 1);
  ((awlarr)t.refs[0])->slot[0] = (mps_word_t)t.refs[1];
  t.refs[1] = NULL;
  /* A key object in AWL's exact segments, referenced weakly only. */
  tawl_obj(t.awl_ap, &target, 0, 1, 7);
  a = t.refs[0];
  tawl_arr(t.weak_ap, &t.refs[2], 1);
  ((awlarr)t.refs[2])->slot[0] = (mps_word_t)target;
  (void)a;
  target = NULL;
  mps_arena_collect(t.arena);
  cr_assert_eq(((awlarr)t.refs[0])->slot[0], 0, "a weak array lived by a weak reference");
  cr_assert_eq(((awlarr)t.refs[2])->slot[0], 0, "an AWL object lived by a weak reference");
  tawl_close(&t);
}

static char tawl_outside[AWLARR_WORDS(4) * sizeof(mps_word_t)];

Test(awl, dependent_outside_the_arena)
{
  tawl_s t;
  awlarr out = (awlarr)(void *)tawl_outside, keys;
  size_t i;
  tawl_open(&t);
  out->header = OBJFMT_HDR(AWLARR_WORDS(4), OBJFMT_T_ARR);
  out->dependent = NULL;
  out->length = 4 * 2 + 1;
  for (i = 0; i < 4; ++i)
    out->slot[i] = 0xbad0 + 1;   /* tagged: not references */
  tawl_arr(t.weak_ap, &t.refs[0], 4);
  for (i = 0; i < 4; ++i) {
    tawl_obj(t.ams_ap, &t.refs[10], 0, 1, (mps_word_t)i);
    ((awlarr)t.refs[0])->slot[i] = (mps_word_t)t.refs[10];
    if (i == 2)
      t.refs[5] = t.refs[10];
  }
  t.refs[10] = NULL;
  keys = t.refs[0];
  keys->dependent = out;
  tawl_find_calls = 0;
  mps_arena_collect(t.arena);
  cr_assert_gt(tawl_find_calls, 0);
  cr_assert_eq(tawl_dep_unexposed, 0);
  for (i = 0; i < 4; ++i) {
    if (i == 2) {
      cr_assert_eq((mps_addr_t)keys->slot[i], t.refs[5]);
      cr_assert_eq(out->slot[i], 0xbad0 + 1);
    } else {
      cr_assert_eq(keys->slot[i], 0);
      cr_assert_eq(out->slot[i], 0, "the dependent outside the arena was not written");
    }
  }
  cr_assert_eq(keys->dependent, out, "a reference outside the arena changed");
  tawl_close(&t);
}

Test(awl, default_find_dependent_and_exact_aps)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_ap_t ap, ap2;
  mps_addr_t p;
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  tawl_arena = arena;
  cr_assert_eq(objfmt_create(&fmt, arena, tawl_scan, false), MPS_RES_OK);
  /* Default chain, no find_dependent. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_awl(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
    cr_assert_eq(mps_ap_create_k(&ap2, pool, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  tawl_obj(ap, &p, 0, 4, 1);
  cr_assert(tawl_obj_ok(p, 4, 1));
  tawl_obj(ap2, &p, 0, 4, 2);
  cr_assert(tawl_obj_ok(p, 4, 2));
  cr_assert_gt(mps_pool_total_size(pool), 0);
  cr_assert(mps_pool_free_size(pool) < mps_pool_total_size(pool));
  /* Unreferenced (no roots): a collection frees them all. */
  mps_ap_destroy(ap);
  mps_ap_destroy(ap2);
  mps_arena_collect(arena);
  cr_assert_eq(mps_pool_total_size(pool), 0, "an empty segment was kept");
  mps_pool_destroy(pool);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}

Test(awl, bad_keywords_are_refused)
{
  tawl_s t;
  mps_ap_t ap;
  mps_pool_t pool;
  tawl_open(&t);
  reports_install();
  /* AWL objects may not hold ambiguous references (awl.rst). */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    cr_assert_eq(mps_ap_create_k(&ap, t.awl, args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  /* AMS objects may not hold weak references (ams.rst). */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    cr_assert_eq(mps_ap_create_k(&ap, t.ams, args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  /* Nor AMC's. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    cr_assert_eq(mps_ap_create_k(&ap, t.amc, args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  /* Not a rank at all. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, (mps_rank_t)17);
    cr_assert_eq(mps_ap_create_k(&ap, t.awl, args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  /* A null find_dependent. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_AWL_FIND_DEPENDENT, NULL);
    cr_assert_eq(mps_pool_create_k(&pool, t.arena, mps_class_awl(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  /* A rank given to the pool that its points could not have. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    cr_assert_eq(mps_pool_create_k(&pool, t.arena, mps_class_awl(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  reports_install_abort();
#if CHECK_LEVEL >= 1
  cr_assert_eq(reports_seen(), 5, "each misuse is reported (%d)", reports_seen());
#endif
  /* A generation beyond the chain is refused too (the engine's check). */
  reports_install();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
    MPS_ARGS_ADD(args, MPS_KEY_GEN, 5);
    cr_assert_neq(mps_pool_create_k(&pool, t.arena, mps_class_awl(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  reports_install_abort();
  /* The pools still work. */
  tawl_weak_table_case(&t, &t.awl_ap, 30);
  tawl_close(&t);
}

typedef struct tawl_count_s {
  mps_pool_t pool;
  size_t objects, arrays;
} tawl_count_s;

static void tawl_count_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  tawl_count_s *c = p;
  (void)fmt;
  (void)s;
  if (pool != c->pool)
    return;
  if (OBJFMT_TYPE(*(mps_word_t *)addr) == OBJFMT_T_ARR)
    ++c->arrays;
  else if (OBJFMT_TYPE(*(mps_word_t *)addr) == OBJFMT_T_OBJ)
    ++c->objects;
}

static size_t tawl_area_arrays, tawl_area_objects;
static mps_res_t tawl_area(mps_ss_t ss, void *base, void *limit, void *closure)
{
  char *p = base;
  (void)ss;
  (void)closure;
  while (p < (char *)limit) {
    if (OBJFMT_TYPE(*(mps_word_t *)p) == OBJFMT_T_ARR)
      ++tawl_area_arrays;
    else
      ++tawl_area_objects;
    p += OBJFMT_WORDS(*(mps_word_t *)p) * W;
  }
  return MPS_RES_OK;
}

Test(awl, walks_see_awl_objects)
{
  tawl_s t;
  tawl_count_s c;
  mps_addr_t p;
  tawl_open(&t);
  tawl_table(&t, t.awl_ap, 20, tawl_every_third);
  c.pool = t.awl;
  c.objects = c.arrays = 0;
  mps_arena_formatted_objects_walk(t.arena, tawl_count_step, &c, 0);
  cr_assert_eq(c.arrays, 2);
  cr_assert_eq(c.objects, 20);
  tawl_area_arrays = tawl_area_objects = 0;
  cr_assert_eq(mps_pool_walk(t.awl, tawl_area, NULL), MPS_RES_OK);
  cr_assert_eq(tawl_area_arrays, 2);
  cr_assert_eq(tawl_area_objects, 20);
  cr_assert_eq(mps_addr_object(&p, t.arena, (char *)t.refs[0] + 2 * W), MPS_RES_OK);
  cr_assert_eq(p, t.refs[0]);
  mps_arena_collect(t.arena);
  c.objects = c.arrays = 0;
  mps_arena_formatted_objects_walk(t.arena, tawl_count_step, &c, 0);
  cr_assert_eq(c.arrays, 2);
  cr_assert_eq(c.objects, 7, "dead keys still walked (%zu)", c.objects);
  tawl_close(&t);
}

/* MPS_KEY_RANK belongs to allocation points (awl.rst); a bad rank given
 * to the pool is refused like the other bad keyword values of pool
 * creation, with MPS_RES_PARAM and no report, and the arena stays good. */
Test(awl, a_bad_rank_for_the_pool_is_refused)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_pool_t pool = NULL;
  mps_ap_t ap;
  mps_addr_t p;
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  tawl_arena = arena;
  cr_assert_eq(objfmt_create(&fmt, arena, tawl_scan, false), MPS_RES_OK);
  reports_install();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_RANK, (mps_rank_t)99);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_awl(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  cr_assert_null(pool);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_awl(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, ap, 4 * sizeof(mps_word_t)), MPS_RES_OK);
    objfmt_init_id(p, 1, 1, 7);
  } while (!mps_commit(ap, p, 4 * sizeof(mps_word_t)));
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  cr_assert_eq(reports_seen(), 0);
}

/* ---- a scan that writes into a dependent in its own segment ----------- */

/* The scan of tawl_handoff_from writes tawl_handoff_ref, once, into slot 0
 * of its dependent, tawl_handoff_dep: the scan may write anything into the
 * dependent (awl.rst), here a reference the scan state never fixes.  The
 * dependent is found through these variables, not a field, so that the
 * scan fixes no reference at all. */
static awlarr tawl_handoff_from, tawl_handoff_dep;
static mps_addr_t tawl_handoff_ref;

static mps_res_t tawl_scan_handing_off(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  mps_res_t res = tawl_scan(ss, base, limit);
  if (res == MPS_RES_OK && base == (mps_addr_t)tawl_handoff_from && tawl_handoff_ref != NULL) {
    cr_assert(tawl_exposed(tawl_handoff_dep));
    tawl_handoff_dep->slot[0] = (mps_word_t)tawl_handoff_ref;
    tawl_handoff_ref = NULL;
  }
  return res;
}

static mps_addr_t tawl_handoff_find_dependent(mps_addr_t addr)
{
  return addr == (mps_addr_t)tawl_handoff_from ? tawl_handoff_dep : NULL;
}

/* Garbage over the 1 KiB nursery of pool's chain, then the collection of
 * the due generations, started by a step and finished by the park. */
static void tawl_collect_due(mps_arena_t arena, mps_pool_t pool)
{
  cr_assert_eq(objfmt_garbage(pool, 8, 62), MPS_RES_OK);
  cr_assert(collections_run_due(arena), "no collection of the due generations ran");
}

/* B and then A, whose dependent B is, share an AWL segment; when A is
 * scanned, after B, it writes R into B.  The scan state never sees R, so
 * the segment's summary must not come from the scan state alone: here
 * that scan is the one that lets the barrier keep a narrow summary (the
 * third boring one), and the scan state saw no reference at all.  Were
 * that summary kept, the next collection of R, which only B then keeps,
 * would skip the segment and free R. */
Test(awl, a_reference_a_scan_writes_into_a_dependent_in_its_segment_is_kept)
{
  mps_gen_param_s young[2] = {{1, 0.5}, {100000, 0.5}}, old[1] = {{100000, 0.5}};   /* KiB */
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain_r, chain_awl;
  mps_pool_t pool_r, awl;
  mps_ap_t ap;
  mps_root_t root;
  mps_addr_t refs[3] = {NULL, NULL, NULL}, r, p;
  Seg seg, bseg;
  size_t k;

  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  tawl_arena = arena;
  mps_arena_park(arena);
  cr_assert_eq(objfmt_create(&fmt, arena, tawl_scan_handing_off, false), MPS_RES_OK);
  /* R in AMS, which keeps it in generation 0 and in place; the AWL
   * segment in a generation no collection here condemns. */
  cr_assert_eq(mps_chain_create(&chain_r, arena, 2, young), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&chain_awl, arena, 1, old), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain_r);
    cr_assert_eq(mps_pool_create_k(&pool_r, arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain_awl);
    MPS_ARGS_ADD(args, MPS_KEY_AWL_FIND_DEPENDENT, tawl_handoff_find_dependent);
    cr_assert_eq(mps_pool_create_k(&awl, arena, mps_class_awl(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, refs, 3), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool_r, mps_args_none), MPS_RES_OK);
  tawl_obj(ap, &refs[2], 0, 4, 5);
  mps_ap_destroy(ap);
  cr_assert_eq(mps_ap_create_k(&ap, awl, mps_args_none), MPS_RES_OK);
  tawl_arr(ap, &refs[1], 1);   /* B */
  tawl_arr(ap, &refs[0], 1);   /* A */
  mps_ap_destroy(ap);
  r = refs[2];
  cr_assert_lt((char *)refs[1], (char *)refs[0], "B is not scanned first");
  cr_assert(seg_of_addr(&seg, arena, refs[0]));
  cr_assert(seg_of_addr(&bseg, arena, refs[1]));
  cr_assert_eq(bseg, seg, "A and B in different segments");

  /* Boring scans of the segment until the next may keep its summary. */
  for (k = 0; seg->wb_defer > 1; ++k) {
    cr_assert_lt(k, 8, "the barrier never lets the summary be kept");
    tawl_collect_due(arena, pool_r);
  }
  tawl_handoff_from = refs[0];
  tawl_handoff_dep = refs[1];
  tawl_handoff_ref = r;
  tawl_collect_due(arena, pool_r);
  cr_assert_null(tawl_handoff_ref, "A was not scanned");
  cr_assert_eq((mps_addr_t)tawl_handoff_dep->slot[0], r);

  refs[2] = NULL;   /* only B keeps R now */
  tawl_collect_due(arena, pool_r);
  cr_assert_eq(mps_addr_object(&p, arena, r), MPS_RES_OK, "R, which B refers to, was freed");
  cr_assert(tawl_obj_ok(r, 4, 5));
  cr_assert_eq((mps_addr_t)tawl_handoff_dep->slot[0], r);

  tawl_handoff_from = tawl_handoff_dep = NULL;
  mps_root_destroy(root);
  mps_arena_collect(arena);
  mps_pool_destroy(awl);
  mps_pool_destroy(pool_r);
  mps_chain_destroy(chain_awl);
  mps_chain_destroy(chain_r);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}

/* A dependent object may be in any pool, a leaf pool (LO) too: the scan
 * that splats a key writes to it through the exposed segment, and a leaf
 * segment has no references for a summary to describe. */
Test(awl, a_dependent_in_a_leaf_pool_is_written_by_the_scan)
{
  enum { N = 6 };
  tawl_s t;
  mps_pool_t lo;
  mps_ap_t lo_ap;
  awlarr keys, values;
  size_t i;
  tawl_open(&t);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
    cr_assert_eq(mps_pool_create_k(&lo, t.arena, mps_class_lo(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&lo_ap, lo, mps_args_none), MPS_RES_OK);
  tawl_arr(t.weak_ap, &t.refs[0], N);
  tawl_arr(lo_ap, &t.refs[1], N);               /* kept strongly by the root */
  keys = t.refs[0];
  values = t.refs[1];
  keys->dependent = values;
  for (i = 0; i < N; ++i) {
    tawl_obj(t.ams_ap, &t.refs[10], 0, 1, (mps_word_t)i);
    keys->slot[i] = (mps_word_t)t.refs[10];
    values->slot[i] = (mps_word_t)i * 2 + 1;    /* tagged: not a reference */
    if (i % 2 == 0)
      t.refs[20 + i] = t.refs[10];
  }
  t.refs[10] = NULL;
  mps_arena_collect(t.arena);
  cr_assert_eq(tawl_dep_unexposed, 0);
  for (i = 0; i < N; ++i) {
    if (i % 2 == 0) {
      cr_assert_eq((mps_addr_t)keys->slot[i], t.refs[20 + i]);
      cr_assert_eq(values->slot[i], (mps_word_t)i * 2 + 1);
    } else {
      cr_assert_eq(keys->slot[i], 0, "key %zu was kept", i);
      cr_assert_eq(values->slot[i], 0, "the value of splatted key %zu was kept", i);
    }
  }
  mps_ap_destroy(lo_ap);
  mps_pool_destroy(lo);
  tawl_close(&t);
}

/* ---- In-band headers -------------------------------------------------- */

/* A format with a one-word in-band header holding the block's size: the
 * client's pointer is one word past it (format.rst), and the format's
 * methods and find_dependent see client pointers only.  A client object
 * is an identity (THDR_ID(i)), a reference and a spare word. */
#define THDR_OBJS 40
#define THDR_ID(i) ((mps_word_t)0x7e570000u + (mps_word_t)(i) * 2 + 1)

typedef struct thdr_obj_s {
  mps_word_t id;
  mps_addr_t ref;
  mps_word_t spare;
} thdr_obj_s;

static unsigned long thdr_find_calls, thdr_find_not_client;

#define THDR_SIZE (W + sizeof(thdr_obj_s))

/* Every block is THDR_SIZE: a header word that says otherwise means the
 * method was given something other than a client pointer. */
static mps_addr_t thdr_skip(mps_addr_t client)
{
  mps_word_t size = ((mps_word_t *)client)[-1];
  cr_assert_eq(size, THDR_SIZE, "%p is not a client pointer", client);
  return (char *)client + size;
}

static mps_res_t thdr_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  MPS_SCAN_BEGIN(ss) {
    while (base < limit) {
      thdr_obj_s *obj = base;
      mps_res_t res = MPS_FIX12(ss, &obj->ref);
      if (res != MPS_RES_OK)
        return res;
      base = thdr_skip(base);
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

/* Counts the calls given something other than an object's client
 * pointer (whose identity word is odd, where a header's size is not). */
static mps_addr_t thdr_find_dependent(mps_addr_t client)
{
  ++thdr_find_calls;
  if ((((thdr_obj_s *)client)->id & 1) == 0)
    ++thdr_find_not_client;
  return NULL;
}

static size_t thdr_walked;

static void thdr_count(mps_addr_t client, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  (void)client; (void)fmt; (void)s;
  if (pool == p)
    ++thdr_walked;
}

/* An object whose identity is id and reference ref, returned as its
 * client pointer. */
static thdr_obj_s *thdr_new(mps_ap_t ap, mps_word_t id, mps_addr_t ref)
{
  size_t size = THDR_SIZE;
  mps_addr_t p;
  thdr_obj_s *obj;
  do {
    cr_assert_eq(mps_reserve(&p, ap, size), MPS_RES_OK);
    ((mps_word_t *)p)[0] = size;
    obj = (thdr_obj_s *)((mps_word_t *)p + 1);
    obj->id = id;
    obj->ref = ref;
    obj->spare = 0;
  } while (!mps_commit(ap, p, size));
  return obj;
}

/* A chain of objects kept by a root, with as many dead ones among them,
 * survives a collection whole: the scan reached each object's reference
 * at its client address, and find_dependent was given client pointers. */
Test(awl, objects_with_in_band_headers_are_scanned_at_their_client_addresses)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_root_t root;
  static mps_addr_t head[1];
  thdr_obj_s *obj;
  size_t i;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 16 << 20);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, W);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_HEADER_SIZE, W);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, thdr_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, thdr_skip);
    cr_assert_eq(mps_fmt_create_k(&fmt, arena, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_AWL_FIND_DEPENDENT, thdr_find_dependent);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_awl(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  head[0] = NULL;
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, head, 1),
               MPS_RES_OK);
  mps_arena_park(arena);
  for (i = 0; i < THDR_OBJS; ++i) {
    (void)thdr_new(ap, THDR_ID(THDR_OBJS + i), NULL);       /* dead */
    head[0] = thdr_new(ap, THDR_ID(i), head[0]);
  }
  thdr_find_calls = thdr_find_not_client = 0;
  mps_arena_collect(arena);
  cr_assert_gt(thdr_find_calls, 0);
  cr_assert_eq(thdr_find_not_client, 0, "find_dependent given a header");
  thdr_walked = 0;
  mps_arena_formatted_objects_walk(arena, thdr_count, pool, 0);
  cr_assert_eq(thdr_walked, THDR_OBJS, "%zu objects left", thdr_walked);
  for (i = THDR_OBJS, obj = head[0]; i-- > 0; obj = obj->ref) {
    cr_assert_not_null(obj);
    cr_assert_eq(obj->id, THDR_ID(i));
  }
  cr_assert_null(obj);
  mps_root_destroy(root);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}
