/* Unit tests for the SNC pool class (src/pool/pool_snc.c) and allocation
 * frames (src/pool/buffer.c): popping a frame discards what was allocated
 * since its push and the memory is reused (the pool stays bounded over
 * many push/allocate/pop rounds, across segments too); objects below the
 * frame survive collections of other pools, are scanned, and their
 * references into AMC follow the objects AMC moves; nested frames and
 * popping an outer frame over inner ones; misuse refused (frames popped
 * twice or out of order, ranks other than exact, formats without pad,
 * mps_alloc); frames on AMC and MVFF are hints that keep the objects.
 * Incremental collection of a heap with SNC: grey SNC segments are
 * read-protected and the mutator's reads fault and scan them; pops,
 * allocation and destroying the point during the collection go through
 * the shield and allocate black; everything live survives.  Segments a
 * pop freed are scanned again once taken for the stack, and a pool walk
 * covers what is committed on the point.
 *
 * Objects are in test/support/objfmt.h's format (as in test_amc.c). */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscmvff.h"
#include "../include/mpscsnc.h"
#include "../include/mpslib.h"
#include "../src/arena/arena.h"
#include "../src/gc/gc.h"
#include "../src/gc/seg.h"
#include "../src/gc/trace.h"
#include "support/objfmt.h"
#include "support/collections.h"
#include "support/checks.h"
#include "support/configs.h"
#include "support/reports.h"

#define W sizeof(mps_word_t)

typedef struct tsnc_s {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t snc, amc;
  mps_ap_t ap, amc_ap;
  mps_root_t root;
  mps_addr_t refs[64];     /* exact root: AMC objects being linked */
} tsnc_s;

static void tsnc_open(tsnc_s *t)
{
  mps_gen_param_s gens[2] = {{256, 0.5}, {512, 0.5}};
  memset(t, 0, sizeof *t);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 32 << 20);
    cr_assert_eq(mps_arena_create_k(&t->arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(objfmt_create(&t->fmt, t->arena, objfmt_scan, true), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&t->chain, t->arena, 2, gens), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
    cr_assert_eq(mps_pool_create_k(&t->snc, t->arena, mps_class_snc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
    cr_assert_eq(mps_pool_create_k(&t->amc, t->arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
    cr_assert_eq(mps_ap_create_k(&t->ap, t->snc, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&t->amc_ap, t->amc, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->root, t->arena, mps_rank_exact(), 0, t->refs,
                                     sizeof t->refs / sizeof t->refs[0]), MPS_RES_OK);
}

static void tsnc_close(tsnc_s *t)
{
  mps_arena_park(t->arena);
  mps_root_destroy(t->root);
  mps_ap_destroy(t->amc_ap);
  if (t->ap != NULL)
    mps_ap_destroy(t->ap);
  mps_pool_destroy(t->amc);
  mps_pool_destroy(t->snc);
  mps_chain_destroy(t->chain);
  mps_fmt_destroy(t->fmt);
  mps_arena_destroy(t->arena);
}

static mps_word_t tsnc_datum(mps_word_t seed, size_t i)
{
  return seed * 2654435761u + i;
}

/* Allocate on `ap` an object whose references are refs[0..nrefs) (read
 * after the reserve, so a collection in the reserve updates them) and
 * whose data derive from `seed`. */
static objfmt_obj tsnc_new(mps_ap_t ap, mps_addr_t *refs, size_t nrefs, size_t ndata,
                    mps_word_t seed)
{
  size_t words = 2 + nrefs + ndata, i;
  mps_addr_t p;
  objfmt_obj obj;
  do {
    cr_assert_eq(mps_reserve(&p, ap, words * W), MPS_RES_OK);
    obj = p;
    obj->header = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    obj->nrefs = nrefs;
    for (i = 0; i < nrefs; ++i)
      obj->slot[i] = (mps_word_t)refs[i];
    for (i = 0; i < ndata; ++i)
      obj->slot[nrefs + i] = tsnc_datum(seed, i);
  } while (!mps_commit(ap, p, words * W));
  return obj;
}

static bool tsnc_ok(objfmt_obj obj, size_t nrefs, size_t ndata, mps_word_t seed)
{
  size_t i;
  if (OBJFMT_TYPE(obj->header) != OBJFMT_T_OBJ || obj->nrefs != nrefs
      || OBJFMT_WORDS(obj->header) != 2 + nrefs + ndata)
    return false;
  for (i = 0; i < ndata; ++i)
    if (obj->slot[nrefs + i] != tsnc_datum(seed, i))
      return false;
  return true;
}

/* ---- Creation and misuse ------------------------------------------------ */

Test(snc, create_needs_a_format_with_pad)
{
  tsnc_s t;
  mps_pool_t pool;
  mps_fmt_t nopad;
  mps_addr_t p;
  tsnc_open(&t);
  cr_assert_eq(mps_pool_create_k(&pool, t.arena, mps_class_snc(), mps_args_none),
               MPS_RES_PARAM);
  cr_assert_eq(objfmt_create(&nopad, t.arena, objfmt_scan, false), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, nopad);
    cr_assert_eq(mps_pool_create_k(&pool, t.arena, mps_class_snc(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  mps_fmt_destroy(nopad);
  /* snc.rst: no in-band headers. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, W);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_HEADER_SIZE, W);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, objfmt_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, objfmt_skip);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, objfmt_pad);
    cr_assert_eq(mps_fmt_create_k(&nopad, t.arena, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  reports_install();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, nopad);
    cr_assert_eq(mps_pool_create_k(&pool, t.arena, mps_class_snc(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  TEST_ASSERT_REPORTED(reports_seen());
  mps_fmt_destroy(nopad);
  /* Allocation points only. */
  cr_assert_eq(mps_alloc(&p, t.snc, 64), MPS_RES_UNIMPL);
  tsnc_close(&t);
}

Test(snc, ap_rank_exact_only)
{
  tsnc_s t;
  mps_ap_t ap;
  tsnc_open(&t);
  /* The default is exact. */
  cr_assert_eq(mps_ap_create_k(&ap, t.snc, mps_args_none), MPS_RES_OK);
  mps_ap_destroy(ap);
  reports_install();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    cr_assert_eq(mps_ap_create_k(&ap, t.snc, args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  TEST_ASSERT_REPORTED(reports_seen());
  reports_install();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    cr_assert_eq(mps_ap_create_k(&ap, t.snc, args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  TEST_ASSERT_REPORTED(reports_seen());
  tsnc_close(&t);
}

Test(snc, frames_popped_twice_or_out_of_order_are_refused)
{
  tsnc_s t;
  mps_frame_t f1, f2;
  objfmt_obj a, b;
  tsnc_open(&t);
  cr_assert_eq(mps_ap_frame_push(&f1, t.ap), MPS_RES_OK);
  a = tsnc_new(t.ap, NULL, 0, 4, 1);
  cr_assert_eq(mps_ap_frame_push(&f2, t.ap), MPS_RES_OK);
  b = tsnc_new(t.ap, NULL, 0, 4, 2);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f2), MPS_RES_OK);
  reports_install();
  cr_assert_eq(mps_ap_frame_pop(t.ap, f2), MPS_RES_FAIL);   /* popped twice */
  TEST_ASSERT_REPORTED(reports_seen());
  /* Refused without effect: a is still there, and b's place is next. */
  cr_assert(tsnc_ok(a, 0, 4, 1));
  cr_assert_eq(tsnc_new(t.ap, NULL, 0, 4, 3), b);
  cr_assert_eq(mps_ap_frame_push(&f2, t.ap), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f1), MPS_RES_OK);
  reports_install();
  cr_assert_eq(mps_ap_frame_pop(t.ap, f2), MPS_RES_FAIL);   /* out of order */
  TEST_ASSERT_REPORTED(reports_seen());
  cr_assert_eq(tsnc_new(t.ap, NULL, 0, 4, 4), a, "the outer pop did not reach a");
  tsnc_close(&t);
}

/* frame.rst: a push between a reserve and its commit may fail; here it
 * does, and the object in flight is committed as if nothing happened. */
Test(snc, a_push_between_reserve_and_commit_is_refused)
{
  tsnc_s t;
  mps_frame_t f;
  mps_addr_t p;
  objfmt_obj obj;
  tsnc_open(&t);
  cr_assert_eq(mps_reserve(&p, t.ap, 4 * W), MPS_RES_OK);
  obj = p;
  obj->header = OBJFMT_HDR(4, OBJFMT_T_OBJ);
  obj->nrefs = 0;
  obj->slot[0] = 11;
  obj->slot[1] = 12;
  reports_install();
  cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_FAIL);
  TEST_ASSERT_REPORTED(reports_seen());
  cr_assert(mps_commit(t.ap, p, 4 * W));
  cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_OK);
  (void)tsnc_new(t.ap, NULL, 0, 3, 1);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f), MPS_RES_OK);
  cr_assert_eq(tsnc_new(t.ap, NULL, 0, 2, 2), (objfmt_obj)((char *)p + 4 * W),
               "the committed object was popped");
  cr_assert_eq(obj->slot[1], 12);
  tsnc_close(&t);
}

Test(snc, a_frame_of_another_ap_is_refused)
{
  tsnc_s t;
  mps_ap_t ap2;
  mps_frame_t f1, f2;
  objfmt_obj a, b;
  tsnc_open(&t);
  cr_assert_eq(mps_ap_create_k(&ap2, t.snc, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_push(&f1, t.ap), MPS_RES_OK);
  a = tsnc_new(t.ap, NULL, 0, 4, 1);
  cr_assert_eq(mps_ap_frame_push(&f2, ap2), MPS_RES_OK);
  b = tsnc_new(ap2, NULL, 0, 4, 2);
  reports_install();
  cr_assert_eq(mps_ap_frame_pop(ap2, f1), MPS_RES_FAIL);
  TEST_ASSERT_REPORTED(reports_seen());
  reports_install();
  cr_assert_eq(mps_ap_frame_pop(t.ap, f2), MPS_RES_FAIL);
  TEST_ASSERT_REPORTED(reports_seen());
  cr_assert(tsnc_ok(a, 0, 4, 1) && tsnc_ok(b, 0, 4, 2));
  /* Each point's own frame pops its own objects only. */
  cr_assert_eq(mps_ap_frame_pop(ap2, f2), MPS_RES_OK);
  cr_assert(tsnc_ok(a, 0, 4, 1));
  cr_assert_eq(tsnc_new(ap2, NULL, 0, 4, 3), b);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f1), MPS_RES_OK);
  cr_assert_eq(tsnc_new(t.ap, NULL, 0, 4, 4), a);
  mps_ap_destroy(ap2);
  tsnc_close(&t);
}

/* ---- Frames ------------------------------------------------------------- */

Test(snc, nested_frames_pop_in_order)
{
  tsnc_s t;
  mps_frame_t f1, f2, f3;
  objfmt_obj a, b, c, d;
  tsnc_open(&t);
  a = tsnc_new(t.ap, NULL, 0, 3, 10);          /* below every frame */
  cr_assert_eq(mps_ap_frame_push(&f1, t.ap), MPS_RES_OK);
  b = tsnc_new(t.ap, NULL, 0, 5, 11);
  cr_assert_eq(mps_ap_frame_push(&f2, t.ap), MPS_RES_OK);
  c = tsnc_new(t.ap, NULL, 0, 7, 12);
  cr_assert_eq(mps_ap_frame_push(&f3, t.ap), MPS_RES_OK);   /* empty frame */
  cr_assert_eq(mps_ap_frame_pop(t.ap, f3), MPS_RES_OK);
  cr_assert(tsnc_ok(c, 0, 7, 12), "an empty frame's pop touched c");
  cr_assert_eq(mps_ap_frame_pop(t.ap, f2), MPS_RES_OK);
  d = tsnc_new(t.ap, NULL, 0, 2, 13);
  cr_assert_eq(d, c, "c's memory is not reused after its frame was popped");
  cr_assert(tsnc_ok(a, 0, 3, 10) && tsnc_ok(b, 0, 5, 11));
  cr_assert_eq(mps_ap_frame_pop(t.ap, f1), MPS_RES_OK);
  cr_assert_eq(tsnc_new(t.ap, NULL, 0, 1, 14), b);
  cr_assert(tsnc_ok(a, 0, 3, 10), "the object below every frame was damaged");
  tsnc_close(&t);
}

Test(snc, many_frames_deep)
{
  tsnc_s t;
  enum { DEPTH = 1000 };
  static mps_frame_t frames[DEPTH];
  static objfmt_obj objs[DEPTH];
  size_t i;
  tsnc_open(&t);
  for (i = 0; i < DEPTH; ++i) {
    cr_assert_eq(mps_ap_frame_push(&frames[i], t.ap), MPS_RES_OK);
    objs[i] = tsnc_new(t.ap, NULL, 0, 1 + i % 90, i);
  }
  for (i = DEPTH; i-- > 0;) {
    cr_assert(tsnc_ok(objs[i], 0, 1 + i % 90, i), "object %zu damaged", i);
    cr_assert_eq(mps_ap_frame_pop(t.ap, frames[i]), MPS_RES_OK);
    if (i % 100 == 0) {
      /* The next object goes where frame i's first one was. */
      cr_assert_eq(mps_ap_frame_push(&frames[i], t.ap), MPS_RES_OK);
      cr_assert_eq(tsnc_new(t.ap, NULL, 0, 1, 0), objs[i]);
      cr_assert_eq(mps_ap_frame_pop(t.ap, frames[i]), MPS_RES_OK);
    }
  }
  tsnc_close(&t);
}

Test(snc, popping_outer_frame_pops_inner_ones_across_segments)
{
  tsnc_s t;
  mps_frame_t outer, inner;
  objfmt_obj first = NULL, o;
  size_t total0, i;
  tsnc_open(&t);
  (void)tsnc_new(t.ap, NULL, 0, 1, 0);
  total0 = mps_pool_total_size(t.snc);
  cr_assert_eq(mps_ap_frame_push(&outer, t.ap), MPS_RES_OK);
  for (i = 0; i < 4000; ++i) {                 /* about 1.3 MiB: many segments */
    o = tsnc_new(t.ap, NULL, 0, 40, i);
    if (i == 0)
      first = o;
    if (i == 2000)
      cr_assert_eq(mps_ap_frame_push(&inner, t.ap), MPS_RES_OK);
  }
  cr_assert_gt(mps_pool_total_size(t.snc), total0 + 1024 * 1024);
  cr_assert_eq(mps_ap_frame_pop(t.ap, outer), MPS_RES_OK);
  /* Everything since the outer push is gone: the next object is where the
   * first one was, and the inner frame cannot be popped any more. */
  cr_assert_eq(tsnc_new(t.ap, NULL, 0, 40, 99), first);
  reports_install();
  cr_assert_eq(mps_ap_frame_pop(t.ap, inner), MPS_RES_FAIL);
  TEST_ASSERT_REPORTED(reports_seen());
  /* The segments are free for reuse. */
  cr_assert_geq(mps_pool_free_size(t.snc), 1024 * 1024);
  tsnc_close(&t);
}

Test(snc, push_alloc_pop_loop_stays_bounded)
{
  tsnc_s t;
  size_t round, i, peak = 0;
  mps_addr_t base = NULL;
  tsnc_open(&t);
  for (round = 0; round < 300; ++round) {
    mps_frame_t f;
    objfmt_obj o;
    cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_OK);
    for (i = 0; i < 150 + round % 50; ++i) {
      o = tsnc_new(t.ap, NULL, 0, 1 + (i * 7 + round) % 300, round * 1000 + i);
      if (i == 0) {
        if (round == 0)
          base = o;
        cr_assert_eq((mps_addr_t)o, base, "round %zu starts elsewhere", round);
      }
    }
    /* A large object (bigger than an ordinary segment) now and then. */
    if (round % 10 == 0)
      (void)tsnc_new(t.ap, NULL, 0, 20000, round);
    if (round == 20)
      peak = mps_pool_total_size(t.snc);
    cr_assert_eq(mps_ap_frame_pop(t.ap, f), MPS_RES_OK);
    if (round > 20)
      cr_assert_leq(mps_pool_total_size(t.snc), peak + 256 * 1024,
                    "the pool grew in round %zu", round);
  }
  tsnc_close(&t);
}

/* After a pop, an object that fits exactly in what is left of the frame's
 * segment goes there, not into a segment the pop freed. */
Test(snc, an_object_fitting_the_rest_of_a_segment_exactly_goes_there)
{
  tsnc_s t;
  mps_frame_t f;
  objfmt_obj a, b, c;
  size_t seg, half;
  tsnc_open(&t);
  (void)tsnc_new(t.ap, NULL, 0, 1, 0);
  seg = mps_pool_total_size(t.snc);             /* one ordinary segment */
  mps_ap_destroy(t.ap);                           /* start again, empty */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
    cr_assert_eq(mps_ap_create_k(&t.ap, t.snc, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  half = seg / 2 / W;                             /* words */
  a = tsnc_new(t.ap, NULL, 0, half - 2, 1);
  cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_OK);
  b = tsnc_new(t.ap, NULL, 0, half + half / 2 - 2, 2);   /* needs another */
  cr_assert_neq((char *)b, (char *)a + half * W);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f), MPS_RES_OK);
  c = tsnc_new(t.ap, NULL, 0, half - 2, 3);
  cr_assert_eq((char *)c, (char *)a + half * W, "an exact fit went elsewhere");
  cr_assert(tsnc_ok(a, 0, half - 2, 1) && tsnc_ok(c, 0, half - 2, 3));
  tsnc_close(&t);
}

Test(snc, destroying_the_ap_frees_its_objects)
{
  tsnc_s t;
  size_t i;
  tsnc_open(&t);
  for (i = 0; i < 2000; ++i)
    (void)tsnc_new(t.ap, NULL, 0, 30, i);
  cr_assert_lt(mps_pool_free_size(t.snc), mps_pool_total_size(t.snc) / 2);
  mps_ap_destroy(t.ap);
  t.ap = NULL;
  cr_assert_eq(mps_pool_free_size(t.snc), mps_pool_total_size(t.snc));
  tsnc_close(&t);
}

/* ---- Collection ---------------------------------------------------------- */

typedef struct tsnc_walk_s {
  mps_pool_t pool;
  size_t objects, pads;
} tsnc_walk_s;

static void tsnc_walk_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  tsnc_walk_s *w = p;
  (void)fmt; (void)s;
  if (pool != w->pool)
    return;
  if (OBJFMT_TYPE(*(mps_word_t *)addr) == OBJFMT_T_OBJ)
    ++w->objects;
  else
    ++w->pads;
}

Test(snc, objects_below_the_frame_survive_and_their_refs_follow_amc)
{
  tsnc_s t;
  enum { N = 300 };
  objfmt_obj holder[N];
  mps_addr_t before[N];
  mps_frame_t f;
  size_t i, moved = 0, k;
  tsnc_walk_s w;
  tsnc_open(&t);
  /* Each SNC object refers to two AMC objects that nothing else refers
   * to; the root slots are cleared as soon as the SNC object holds them. */
  for (i = 0; i < N; ++i) {
    for (k = 0; k < 2; ++k) {
      objfmt_obj amc = tsnc_new(t.amc_ap, NULL, 0, 6, 7000 + 2 * i + k);
      t.refs[k] = amc;
    }
    holder[i] = tsnc_new(t.ap, t.refs, 2, 3, i);
    before[i] = (mps_addr_t)holder[i]->slot[0];
    t.refs[0] = t.refs[1] = NULL;
    if (i == N / 2)
      cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_OK);
  }
  for (k = 0; k < 3; ++k) {
    mps_arena_collect(t.arena);
    mps_arena_release(t.arena);
    /* AMC garbage in between, so that the collections have work. */
    for (i = 0; i < 2000; ++i)
      (void)tsnc_new(t.amc_ap, NULL, 0, 10, i);
  }
  mps_arena_collect(t.arena);
  for (i = 0; i < N; ++i) {
    objfmt_obj a = (objfmt_obj)holder[i]->slot[0], b = (objfmt_obj)holder[i]->slot[1];
    cr_assert(tsnc_ok(holder[i], 2, 3, i), "SNC object %zu damaged", i);
    cr_assert(tsnc_ok(a, 0, 6, 7000 + 2 * i), "AMC object of %zu lost", i);
    cr_assert(tsnc_ok(b, 0, 6, 7000 + 2 * i + 1), "AMC object of %zu lost", i);
    if ((mps_addr_t)a != before[i])
      ++moved;
  }
  cr_assert_gt(moved, 0, "AMC moved nothing: the test shows nothing");
  /* The objects allocated since the push are popped: walks see only the
   * live ones, and the pool no longer keeps their AMC objects. */
  cr_assert_eq(mps_ap_frame_pop(t.ap, f), MPS_RES_OK);
  w.pool = t.snc;
  w.objects = w.pads = 0;
  mps_arena_formatted_objects_walk(t.arena, tsnc_walk_step, &w, 0);
  cr_assert_eq(w.objects, N / 2 + 1);
  for (i = 0; i <= N / 2; ++i)
    cr_assert(tsnc_ok((objfmt_obj)holder[i]->slot[1], 0, 6, 7000 + 2 * i + 1));
  tsnc_close(&t);
}

/* Fill the rest of the AMC allocation point's segment (with one large
 * padding object), so the objects made before are in a segment without a
 * buffer, which a collection condemns. */
static void tsnc_flush_amc(tsnc_s *t)
{
  mps_addr_t p;
  size_t big = 80 * 1024;
  do {
    cr_assert_eq(mps_reserve(&p, t->amc_ap, big), MPS_RES_OK);
    objfmt_pad(p, big);
  } while (!mps_commit(t->amc_ap, p, big));
}

/* AMC objects in the popped range, recognised by their first datum. */
typedef struct tsnc_tagged_s {
  mps_pool_t pool;
  size_t tagged;
} tsnc_tagged_s;

static void tsnc_tagged_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  tsnc_tagged_s *c = p;
  objfmt_obj obj = addr;
  size_t i;
  (void)fmt; (void)s;
  if (pool != c->pool || OBJFMT_TYPE(obj->header) != OBJFMT_T_OBJ || OBJFMT_WORDS(obj->header) != 8)
    return;
  for (i = 0; i < 500; ++i)
    if (obj->slot[0] == tsnc_datum(100000 + i, 0)) {
      ++c->tagged;
      return;
    }
}

/* Popped objects are not scanned: AMC objects that only they refer to
 * die.  And a reserve pending across a collection fails at commit. */
Test(snc, popped_objects_are_not_scanned)
{
  tsnc_s t;
  mps_frame_t f;
  tsnc_tagged_s c;
  size_t i;
  mps_addr_t p;
  tsnc_open(&t);
  cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_OK);
  for (i = 0; i < 500; ++i) {
    t.refs[0] = tsnc_new(t.amc_ap, NULL, 0, 6, 100000 + i);
    (void)tsnc_new(t.ap, t.refs, 1, 2, i);
  }
  t.refs[0] = NULL;
  tsnc_flush_amc(&t);
  mps_arena_collect(t.arena);
  c.pool = t.amc;
  c.tagged = 0;
  mps_arena_formatted_objects_walk(t.arena, tsnc_tagged_step, &c, 0);
  cr_assert_eq(c.tagged, 500, "AMC objects referred to by live SNC objects died");
  mps_arena_release(t.arena);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f), MPS_RES_OK);
  tsnc_flush_amc(&t);
  mps_arena_collect(t.arena);
  c.tagged = 0;
  mps_arena_formatted_objects_walk(t.arena, tsnc_tagged_step, &c, 0);
  cr_assert_eq(c.tagged, 0, "popped SNC objects still keep AMC objects alive");
  mps_arena_release(t.arena);
  cr_assert_eq(mps_reserve(&p, t.ap, 4 * W), MPS_RES_OK);
  memset(p, 0, 4 * W);
  ((objfmt_obj)p)->header = OBJFMT_HDR(4, OBJFMT_T_OBJ);
  mps_arena_collect(t.arena);
  cr_assert(!mps_commit(t.ap, p, 4 * W), "a reserve across a collection committed");
  tsnc_close(&t);
}

/* ---- Frames on pools that ignore them ---------------------------------- */

Test(snc, frames_on_amc_are_hints)
{
  tsnc_s t;
  mps_frame_t f;
  size_t i;
  tsnc_open(&t);
  cr_assert_eq(mps_ap_frame_push(&f, t.amc_ap), MPS_RES_OK);
  for (i = 0; i < 10; ++i)
    t.refs[i] = tsnc_new(t.amc_ap, NULL, 0, 5, 300 + i);
  cr_assert_eq(mps_ap_frame_pop(t.amc_ap, f), MPS_RES_OK);
  /* Reachable objects are kept whatever the frame said. */
  mps_arena_collect(t.arena);
  for (i = 0; i < 10; ++i)
    cr_assert(tsnc_ok(t.refs[i], 0, 5, 300 + i));
  tsnc_close(&t);
}

Test(snc, frames_on_mvff_keep_blocks)
{
  mps_arena_t arena;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_frame_t f;
  mps_addr_t p, q;
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_push(&f, ap), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, ap, 128), MPS_RES_OK);
    memset(p, 0x5a, 128);
  } while (!mps_commit(ap, p, 128));
  cr_assert_eq(mps_ap_frame_pop(ap, f), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&q, ap, 128), MPS_RES_OK);
    memset(q, 0x33, 128);
  } while (!mps_commit(ap, q, 128));
  cr_assert_neq(p, q, "MVFF reused a block the frame pop should have kept");
  cr_assert_eq(((unsigned char *)p)[127], 0x5a);
  mps_ap_destroy(ap);
  mps_free(pool, p, 128);
  mps_free(pool, q, 128);
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
}

Test(snc, walks_and_addr_object_see_live_objects_only)
{
  tsnc_s t;
  mps_frame_t f;
  objfmt_obj a, b;
  mps_addr_t found;
  tsnc_walk_s w;
  tsnc_open(&t);
  a = tsnc_new(t.ap, NULL, 0, 8, 1);
  cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_OK);
  b = tsnc_new(t.ap, NULL, 0, 8, 2);
  cr_assert_eq(mps_addr_object(&found, t.arena, &a->slot[3]), MPS_RES_OK);
  cr_assert_eq(found, (mps_addr_t)a);
  cr_assert_eq(mps_addr_object(&found, t.arena, &b->slot[3]), MPS_RES_OK);
  cr_assert_eq(found, (mps_addr_t)b);
  /* b starts where a ends: its first byte is b's, not a's. */
  cr_assert_eq((char *)b, (char *)a + 10 * W);
  cr_assert_eq(mps_addr_object(&found, t.arena, b), MPS_RES_OK);
  cr_assert_eq(found, (mps_addr_t)b);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f), MPS_RES_OK);
  cr_assert_neq(mps_addr_object(&found, t.arena, &b->slot[3]), MPS_RES_OK);
  mps_arena_park(t.arena);
  w.pool = t.snc;
  w.objects = w.pads = 0;
  mps_arena_formatted_objects_walk(t.arena, tsnc_walk_step, &w, 0);
  cr_assert_eq(w.objects, 1);
  cr_assert_eq(w.pads, 0);
  tsnc_close(&t);
}

/* ---- Incremental collection ---------------------------------------------- */

static GC tsnc_gc(tsnc_s *t)
{
  return ((Arena)t->arena)->gc;
}

static bool tsnc_busy(tsnc_s *t)
{
  /* After loads that may have faulted (a signal handler changed it). */
  atomic_signal_fence(memory_order_seq_cst);
  return tsnc_gc(t)->busy_traces != TRACE_SET_EMPTY;
}

static Count tsnc_read_hits(tsnc_s *t)
{
  atomic_signal_fence(memory_order_seq_cst);
  return tsnc_gc(t)->barrier.read_hits;
}

static Seg tsnc_seg(tsnc_s *t, mps_addr_t p)
{
  Seg seg = NULL;
  cr_assert(seg_of_addr(&seg, (Arena)t->arena, (Addr)p), "an address outside the heap");
  return seg;
}

static bool tsnc_read_protected(Seg seg)
{
  atomic_signal_fence(memory_order_seq_cst);
  return (seg->shield.sm & PROT_DENY_READ) != 0;
}

/* SNC segments read-protected now. */
static size_t tsnc_snc_protected(tsnc_s *t)
{
  Ring node, next;
  size_t n = 0;
  RING_FOR(node, &tsnc_gc(t)->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if (seg->pool == (Pool)t->snc && tsnc_read_protected(seg))
      ++n;
  }
  return n;
}

/* n SNC objects (one reference, five data words from seed + i), each
 * referring to an AMC object (four data words from seed + TSNC_AMC + i)
 * that nothing else refers to. */
#define TSNC_AMC 1000000u
static void tsnc_linked(tsnc_s *t, objfmt_obj *holder, size_t n, mps_word_t seed)
{
  size_t i;
  for (i = 0; i < n; ++i) {
    t->refs[0] = tsnc_new(t->amc_ap, NULL, 0, 4, seed + TSNC_AMC + i);
    holder[i] = tsnc_new(t->ap, t->refs, 1, 5, seed + i);
    t->refs[0] = NULL;
  }
}

/* Check what tsnc_linked made, and, during a trace, that every reference
 * the mutator loads is black: never into a white segment (all references
 * here are exact, so AMC copies every survivor out). */
static void tsnc_check_linked(tsnc_s *t, objfmt_obj *holder, size_t n, mps_word_t seed)
{
  size_t i;
  for (i = 0; i < n; ++i) {
    objfmt_obj amc;
    cr_assert(tsnc_ok(holder[i], 1, 5, seed + i), "SNC object %zu damaged", i);
    amc = (objfmt_obj)holder[i]->slot[0];
    if (tsnc_busy(t))
      cr_assert_eq(tsnc_seg(t, amc)->white & tsnc_gc(t)->busy_traces, 0,
                   "the mutator loaded a reference to a white object");
    cr_assert(tsnc_ok(amc, 0, 4, seed + TSNC_AMC + i), "AMC object of %zu lost", i);
  }
}

/* Start a collection of everything that goes on incrementally, and clamp
 * the arena so that only faults advance it; returns mps_collections. */
static size_t tsnc_start(tsnc_s *t)
{
  size_t collections;
  cr_assert(tsnc_gc(t)->barrier.on, "the read barrier needs the hardware barrier");
  tsnc_flush_amc(t);
  mps_arena_park(t->arena);
  collections = collections_done(t->arena);
  cr_assert_eq(mps_arena_start_collect(t->arena), MPS_RES_OK);
  mps_arena_clamp(t->arena);
  cr_assert(tsnc_busy(t), "a heap with SNC collects incrementally");
  cr_assert_eq(collections_done(t->arena), collections);
  return collections;
}

#define TSNC_INC 3000       /* 64-byte objects: about three segments */

/* Open a heap whose SNC point holds a list of TSNC_INC objects over
 * several segments (their addresses in *holder_o, to free), and start an
 * incremental collection that leaves them grey and read-protected. */
static size_t tsnc_start_with_list(tsnc_s *t, objfmt_obj **holder_o)
{
  size_t collections;
  objfmt_obj *holder = calloc(TSNC_INC, sizeof *holder);
  cr_assert(holder != NULL);
  tsnc_open(t);
  tsnc_linked(t, holder, TSNC_INC, 1);
  collections = tsnc_start(t);
  cr_assert_geq(tsnc_snc_protected(t), 2, "grey SNC segments are read-protected");
  *holder_o = holder;
  return collections;
}

/* The memory above a segment's live objects is laid with padding objects
 * (pool_snc.c's opening comment), so each segment parses as whole objects
 * from its base to its limit. */
Test(snc, a_segment_parses_to_its_limit_after_a_pop)
{
  tsnc_s t;
  mps_frame_t f;
  objfmt_obj a;
  Seg seg;
  mps_addr_t p;
  size_t objects = 0, pads = 0;
  tsnc_open(&t);
  a = tsnc_new(t.ap, NULL, 0, 6, 1);
  cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_OK);
  (void)tsnc_new(t.ap, NULL, 0, 40, 2);
  (void)tsnc_new(t.ap, NULL, 0, 40, 3);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f), MPS_RES_OK);
  mps_arena_park(t.arena);
  seg = tsnc_seg(&t, a);
  for (p = (mps_addr_t)seg->base; (char *)p < (char *)seg->limit; p = objfmt_skip(p)) {
    cr_assert_gt((char *)objfmt_skip(p), (char *)p, "no object at %p", p);
    if (OBJFMT_TYPE(*(mps_word_t *)p) == OBJFMT_T_OBJ)
      ++objects;
    else if (OBJFMT_TYPE(*(mps_word_t *)p) == OBJFMT_T_PAD)
      ++pads;
    else
      cr_assert_fail("neither an object nor padding at %p", p);
  }
  cr_assert_eq(p, (mps_addr_t)seg->limit, "the last object overruns the segment");
  cr_assert_eq(objects, 1, "only a is live");
  cr_assert_geq(pads, 1);
  cr_assert(tsnc_ok(a, 0, 6, 1));
  tsnc_close(&t);
}

Test(snc, a_heap_with_snc_collects_incrementally_and_reads_fault, TEST_NEEDS_INCREMENTS)
{
  tsnc_s t;
  objfmt_obj *holder;
  size_t collections = tsnc_start_with_list(&t, &holder);
  Count hits;

  /* Reading them faults, and each fault scans the segment it touched. */
  hits = tsnc_read_hits(&t);
  tsnc_check_linked(&t, holder, TSNC_INC, 1);
  cr_assert_geq(tsnc_read_hits(&t), hits + 2, "reading SNC objects faulted");
  cr_assert_eq(tsnc_snc_protected(&t), 0, "the faults scanned every SNC segment");
  cr_assert(tsnc_busy(&t), "a clamped arena only scans what the mutator touches");

  mps_arena_park(t.arena);
  cr_assert_eq(collections_done(t.arena), collections + 1);
  tsnc_check_linked(&t, holder, TSNC_INC, 1);
  mps_arena_collect(t.arena);
  tsnc_check_linked(&t, holder, TSNC_INC, 1);
  tsnc_close(&t);
  free(holder);
}

/* A pop during the collection pads the grey segment where the frame
 * began through the shield (no fault, and the segment stays grey: its
 * live part is scanned later), and frees the grey segments above it; what
 * is allocated after it, and in later frames, is black and survives. */
Test(snc, frames_push_and_pop_during_an_incremental_collection, TEST_NEEDS_INCREMENTS)
{
  enum { BELOW = 1500, ABOVE = 3000, AFTER = 500 };
  tsnc_s t;
  objfmt_obj *below = calloc(BELOW, sizeof *below), *above = calloc(ABOVE, sizeof *above);
  objfmt_obj *after = calloc(2 * AFTER, sizeof *after);
  mps_frame_t f, g, h;
  mps_addr_t found;
  size_t collections, total, free0, i;
  Seg fseg;
  Count hits;
  tsnc_walk_s w;
  cr_assert(below != NULL && above != NULL && after != NULL);
  tsnc_open(&t);
  tsnc_linked(&t, below, BELOW, 1);
  cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_OK);
  tsnc_linked(&t, above, ABOVE, 50000);
  collections = tsnc_start(&t);

  /* The frame began inside a segment that is grey now, as are those above. */
  fseg = tsnc_seg(&t, above[0]);
  cr_assert_eq(tsnc_seg(&t, below[BELOW - 1]), fseg, "the frame began in a fresh segment");
  cr_assert(tsnc_read_protected(fseg));
  cr_assert_neq(tsnc_seg(&t, above[ABOVE - 1]), fseg);
  cr_assert(tsnc_read_protected(tsnc_seg(&t, above[ABOVE - 1])));
  total = mps_pool_total_size(t.snc);
  free0 = mps_pool_free_size(t.snc);

  hits = tsnc_read_hits(&t);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f), MPS_RES_OK);
  cr_assert_eq(tsnc_read_hits(&t), hits, "the pop faulted on its own segment");
  cr_assert(tsnc_read_protected(fseg), "the pop scanned the frame's segment");
  cr_assert_geq(mps_pool_free_size(t.snc), free0 + ABOVE * 8 * W,
                "the popped objects' memory is free");
  /* Lookups go through the shield too: popped objects are gone, those
   * below are found. */
  cr_assert_neq(mps_addr_object(&found, t.arena, &above[1]->slot[2]), MPS_RES_OK);
  cr_assert_neq(mps_addr_object(&found, t.arena, &above[ABOVE - 1]->slot[2]), MPS_RES_OK);
  cr_assert_eq(mps_addr_object(&found, t.arena, &below[BELOW - 2]->slot[2]), MPS_RES_OK);
  cr_assert_eq(found, (mps_addr_t)below[BELOW - 2]);
  cr_assert_eq(tsnc_read_hits(&t), hits);

  /* Frames pushed and popped during the collection: their objects go on
   * black segments, so allocating touches nothing protected. */
  cr_assert_eq(mps_ap_frame_push(&g, t.ap), MPS_RES_OK);
  tsnc_linked(&t, after, AFTER, 90000);
  cr_assert_eq(mps_ap_frame_pop(t.ap, g), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_push(&h, t.ap), MPS_RES_OK);
  tsnc_linked(&t, after, AFTER, 95000);
  cr_assert_eq(tsnc_read_hits(&t), hits, "allocation went into a protected segment");
  for (i = 0; i < AFTER; ++i)
    cr_assert_eq(tsnc_seg(&t, after[i])->grey, TRACE_SET_EMPTY, "allocated grey");
  cr_assert_leq(mps_pool_total_size(t.snc), total + 128 * 1024, "the pool grew");
  cr_assert(tsnc_busy(&t));

  tsnc_check_linked(&t, below, BELOW, 1);
  tsnc_check_linked(&t, after, AFTER, 95000);
  mps_arena_park(t.arena);
  cr_assert_eq(collections_done(t.arena), collections + 1);
  w.pool = t.snc;
  w.objects = w.pads = 0;
  mps_arena_formatted_objects_walk(t.arena, tsnc_walk_step, &w, 0);
  cr_assert_eq(w.objects, BELOW + AFTER);
  tsnc_check_linked(&t, below, BELOW, 1);
  tsnc_check_linked(&t, after, AFTER, 95000);
  mps_arena_collect(t.arena);
  tsnc_check_linked(&t, below, BELOW, 1);
  tsnc_check_linked(&t, after, AFTER, 95000);
  cr_assert_eq(mps_ap_frame_pop(t.ap, h), MPS_RES_OK);
  tsnc_check_linked(&t, below, BELOW, 1);
  tsnc_close(&t);
  free(below);
  free(above);
  free(after);
}

/* Allocation and stores during the collection: the fill scans the grey
 * top segment before the buffer goes on in it (no fault, no tail left
 * unused), and what the mutator makes or stores survives. */
Test(snc, allocation_and_stores_during_an_incremental_collection_survive, TEST_NEEDS_INCREMENTS)
{
  enum { OLD = 2500, NEW = 2000, STORES = 100 };
  tsnc_s t;
  objfmt_obj *old = calloc(OLD, sizeof *old), *fresh = calloc(NEW, sizeof *fresh);
  size_t collections, i;
  Seg top;
  Count hits;
  cr_assert(old != NULL && fresh != NULL);
  tsnc_open(&t);
  tsnc_linked(&t, old, OLD, 1);
  collections = tsnc_start(&t);
  top = tsnc_seg(&t, old[OLD - 1]);
  cr_assert(tsnc_read_protected(top), "the buffer's segment is grey");
  cr_assert_neq(tsnc_seg(&t, old[0]), top);

  hits = tsnc_read_hits(&t);
  tsnc_linked(&t, fresh, NEW, 20000);
  cr_assert_eq(tsnc_read_hits(&t), hits, "allocation went into a protected segment");
  cr_assert_eq(tsnc_seg(&t, fresh[0]), top, "the fill left the grey top's tail unused");
  cr_assert_not(tsnc_read_protected(top));
  for (i = 0; i < NEW; ++i)
    cr_assert_eq(tsnc_seg(&t, fresh[i])->grey, TRACE_SET_EMPTY, "allocated grey");

  /* New AMC objects stored into old SNC objects (each store faults first,
   * so it lands in a scanned segment). */
  for (i = 0; i < STORES; ++i) {
    t.refs[0] = tsnc_new(t.amc_ap, NULL, 0, 4, 300000 + i);
    old[i]->slot[0] = (mps_word_t)t.refs[0];
    t.refs[0] = NULL;
  }
  cr_assert_gt(tsnc_read_hits(&t), hits);
  cr_assert(tsnc_busy(&t));

  mps_arena_park(t.arena);
  cr_assert_eq(collections_done(t.arena), collections + 1);
  for (i = 0; i < STORES; ++i) {
    cr_assert(tsnc_ok(old[i], 1, 5, 1 + i));
    cr_assert(tsnc_ok((objfmt_obj)old[i]->slot[0], 0, 4, 300000 + i), "stored %zu lost", i);
  }
  tsnc_check_linked(&t, old + STORES, OLD - STORES, 1 + STORES);
  tsnc_check_linked(&t, fresh, NEW, 20000);
  mps_arena_collect(t.arena);
  tsnc_check_linked(&t, old + STORES, OLD - STORES, 1 + STORES);
  tsnc_check_linked(&t, fresh, NEW, 20000);
  tsnc_close(&t);
  free(old);
  free(fresh);
}

/* A few objects made during each of many incremental collections go on
 * in the same segment: the pool does not grow a segment per collection. */
Test(snc, a_few_objects_per_incremental_collection_stay_in_one_segment, TEST_NEEDS_INCREMENTS)
{
  enum { ROUNDS = 40, EACH = 5 };
  tsnc_s t;
  objfmt_obj holder[ROUNDS * EACH];
  size_t round, total;
  tsnc_open(&t);
  tsnc_linked(&t, holder, EACH, 0);
  total = mps_pool_total_size(t.snc);
  for (round = 1; round < ROUNDS; ++round) {
    (void)tsnc_start(&t);
    cr_assert(tsnc_read_protected(tsnc_seg(&t, holder[0])), "round %zu: not grey", round);
    tsnc_linked(&t, holder + round * EACH, EACH, round * 1000);
    mps_arena_park(t.arena);
  }
  cr_assert_eq(mps_pool_total_size(t.snc), total, "the pool grew");
  for (round = 0; round < ROUNDS; ++round)
    tsnc_check_linked(&t, holder + round * EACH, EACH, round * 1000);
  tsnc_close(&t);
}

/* Destroying the point during the collection frees its grey segments
 * (they need no scan: their objects die with the point). */
Test(snc, destroying_the_ap_during_an_incremental_collection, TEST_NEEDS_INCREMENTS)
{
  tsnc_s t;
  objfmt_obj *holder;
  size_t collections = tsnc_start_with_list(&t, &holder);
  Count hits;
  hits = tsnc_read_hits(&t);
  mps_ap_destroy(t.ap);
  t.ap = NULL;
  cr_assert_eq(tsnc_read_hits(&t), hits);
  cr_assert_eq(tsnc_snc_protected(&t), 0, "free segments are not protected");
  cr_assert_eq(mps_pool_free_size(t.snc), mps_pool_total_size(t.snc));
  cr_assert(tsnc_busy(&t));
  mps_arena_park(t.arena);
  cr_assert_eq(collections_done(t.arena), collections + 1);
  tsnc_close(&t);
  free(holder);
}

/* Segments a pop freed are taken again for the stack, and scanned like
 * any other: the AMC objects that objects in them refer to survive
 * collections, and follow the objects AMC moves. */
Test(snc, objects_in_a_segment_taken_again_are_scanned)
{
  enum { N = 3000 };
  tsnc_s t;
  objfmt_obj *holder = calloc(N, sizeof *holder);
  mps_frame_t f;
  size_t i, k, total;
  cr_assert(holder != NULL);
  tsnc_open(&t);
  (void)tsnc_new(t.ap, NULL, 0, 1, 0);
  cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_OK);
  for (i = 0; i < 4000; ++i)                   /* about 256 KiB: segments */
    (void)tsnc_new(t.ap, NULL, 0, 6, i);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f), MPS_RES_OK);
  total = mps_pool_total_size(t.snc);
  tsnc_linked(&t, holder, N, 1);
  cr_assert_eq(mps_pool_total_size(t.snc), total, "the freed segments were not taken again");
  cr_assert_eq(tsnc_seg(&t, holder[N - 1])->rank_set, RANK_SET_SINGLE(RANK_EXACT));
  for (k = 0; k < 3; ++k) {
    tsnc_flush_amc(&t);
    mps_arena_collect(t.arena);
    mps_arena_release(t.arena);
    /* AMC garbage over whatever the collection freed. */
    for (i = 0; i < 2000; ++i)
      (void)tsnc_new(t.amc_ap, NULL, 0, 10, i);
    tsnc_check_linked(&t, holder, N, 1);
  }
  tsnc_close(&t);
  free(holder);
}

static size_t tsnc_area_objects;
static mps_res_t tsnc_area(mps_ss_t ss, void *base, void *limit, void *closure)
{
  char *p = base;
  (void)ss;
  (void)closure;
  for (; p < (char *)limit; p = objfmt_skip(p))
    if (OBJFMT_TYPE(*(mps_word_t *)p) == OBJFMT_T_OBJ)
      ++tsnc_area_objects;
  cr_assert_eq(p, (char *)limit, "an area does not end at an object boundary");
  return MPS_RES_OK;
}

/* A pool walk covers the objects committed on the point (whose segment's
 * position is still where the buffer began) and those below them. */
Test(snc, a_pool_walk_covers_the_objects_committed_on_the_point)
{
  tsnc_s t;
  size_t i;
  tsnc_open(&t);
  for (i = 0; i < 10; ++i)
    (void)tsnc_new(t.ap, NULL, 0, 3, i);
  mps_arena_park(t.arena);
  tsnc_area_objects = 0;
  cr_assert_eq(mps_pool_walk(t.snc, tsnc_area, NULL), MPS_RES_OK);
  cr_assert_eq(tsnc_area_objects, 10);
  tsnc_close(&t);
}

/* ---- Memory refused (the arena's fault hook) -------------------------- */

/* Refuse the arena's next request for memory (arena_fail_after); and
 * grant them all again. */
static void tsnc_refuse_next(tsnc_s *t)
{
  arena_fail_after((Arena)t->arena, 1);
}

static void tsnc_allow(tsnc_s *t)
{
  arena_fail_after((Arena)t->arena, 0);
}

/* A point's first fill or push makes its stack; refused the memory for
 * it, the fill or push fails with nothing made, and works once memory is
 * back (topic/error.rst). */
Test(snc, a_first_fill_or_push_refused_its_stack_fails_cleanly)
{
  tsnc_s t;
  mps_addr_t p;
  mps_frame_t f;
  objfmt_obj a;
  tsnc_open(&t);
  tsnc_refuse_next(&t);
  cr_assert_eq(mps_reserve(&p, t.ap, 4 * W), MPS_RES_MEMORY);
  tsnc_allow(&t);
  cr_assert_eq(mps_pool_total_size(t.snc), 0);
  tsnc_refuse_next(&t);
  cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_MEMORY);
  tsnc_allow(&t);
  a = tsnc_new(t.ap, NULL, 0, 2, 1);
  cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_OK);
  (void)tsnc_new(t.ap, NULL, 0, 2, 2);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f), MPS_RES_OK);
  cr_assert_eq(tsnc_new(t.ap, NULL, 0, 2, 3), (objfmt_obj)((char *)a + 4 * W));
  cr_assert(tsnc_ok(a, 0, 2, 1));
  tsnc_close(&t);
}

/* A fill that needs a new segment and cannot have one fails, and the
 * pool and the objects on the point are as they were. */
Test(snc, a_fill_refused_a_segment_fails_and_takes_none)
{
  tsnc_s t;
  mps_addr_t p;
  objfmt_obj a;
  size_t seg;
  tsnc_open(&t);
  a = tsnc_new(t.ap, NULL, 0, 3, 1);
  seg = mps_pool_total_size(t.snc);             /* one ordinary segment */
  tsnc_refuse_next(&t);
  /* A whole ordinary segment: more than is left of the first. */
  cr_assert_eq(mps_reserve(&p, t.ap, seg), MPS_RES_MEMORY);
  tsnc_allow(&t);
  cr_assert_eq(mps_pool_total_size(t.snc), seg);
  cr_assert(tsnc_ok(a, 0, 3, 1));
  (void)tsnc_new(t.ap, NULL, 0, seg / W - 2, 2);
  cr_assert_eq(mps_pool_total_size(t.snc), 2 * seg);
  cr_assert(tsnc_ok(a, 0, 3, 1));
  tsnc_close(&t);
}

/* The frame record grows when a push goes deeper than it holds; refused
 * the memory, the push fails and the frames already pushed still pop to
 * where they began. */
Test(snc, a_push_refused_a_larger_frame_record_fails_and_keeps_the_frames)
{
  tsnc_s t;
  enum { DEPTH = 64 };
  mps_frame_t frames[DEPTH], extra;
  objfmt_obj objs[DEPTH];
  mps_res_t res = MPS_RES_OK;
  size_t depth, i;
  tsnc_open(&t);
  /* Push until a push is refused: the first that needs a larger record
   * (a push that needs no memory does not count as a request). */
  for (depth = 0; depth < DEPTH; ++depth) {
    objs[depth] = tsnc_new(t.ap, NULL, 0, 1, depth);
    tsnc_refuse_next(&t);
    res = mps_ap_frame_push(&frames[depth], t.ap);
    tsnc_allow(&t);
    if (res != MPS_RES_OK)
      break;
  }
  cr_assert_eq(res, MPS_RES_MEMORY);
  cr_assert_gt(depth, 1);
  cr_assert_eq(mps_ap_frame_push(&extra, t.ap), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_pop(t.ap, extra), MPS_RES_OK);
  for (i = depth; i-- > 0;) {
    cr_assert_eq(mps_ap_frame_pop(t.ap, frames[i]), MPS_RES_OK);
    cr_assert(tsnc_ok(objs[i], 0, 1, i), "object %zu damaged", i);
    cr_assert_eq(tsnc_new(t.ap, NULL, 0, 1, 99), (objfmt_obj)((char *)objs[i] + 3 * W),
                 "frame %zu popped elsewhere", i);
  }
  tsnc_close(&t);
}

/* A push just after a pop (the buffer then empty) starts its frame where
 * the pop left the segment, so popping it keeps what is below. */
Test(snc, a_frame_pushed_just_after_a_pop_keeps_what_is_below_it)
{
  tsnc_s t;
  mps_frame_t f1, f2, f3;
  objfmt_obj a, b, c;
  tsnc_open(&t);
  cr_assert_eq(mps_ap_frame_push(&f1, t.ap), MPS_RES_OK);
  a = tsnc_new(t.ap, NULL, 0, 3, 1);
  cr_assert_eq(mps_ap_frame_push(&f2, t.ap), MPS_RES_OK);
  b = tsnc_new(t.ap, NULL, 0, 3, 2);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f2), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_push(&f3, t.ap), MPS_RES_OK);
  c = tsnc_new(t.ap, NULL, 0, 3, 3);
  cr_assert_eq(c, b);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f3), MPS_RES_OK);
  cr_assert(tsnc_ok(a, 0, 3, 1), "the object below the frame was damaged");
  cr_assert_eq(tsnc_new(t.ap, NULL, 0, 3, 4), b);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f1), MPS_RES_OK);
  tsnc_close(&t);
}

/* An object larger than an ordinary segment gets a segment of its own
 * size, rounded up to whole grains, and popping it gives that back to the
 * arena. */
Test(snc, an_oversized_object_gets_a_segment_of_its_own_size)
{
  tsnc_s t;
  mps_frame_t f;
  objfmt_obj a;
  size_t seg, words, grain;
  tsnc_open(&t);
  grain = ((Arena)t.arena)->grain_size;
  a = tsnc_new(t.ap, NULL, 0, 1, 1);
  seg = mps_pool_total_size(t.snc);             /* one ordinary segment */
  words = 2 * seg / W + 5;
  cr_assert_eq(mps_ap_frame_push(&f, t.ap), MPS_RES_OK);
  (void)tsnc_new(t.ap, NULL, 0, words - 2, 2);
  cr_assert_eq(mps_pool_total_size(t.snc), seg + (words * W + grain - 1) / grain * grain);
  cr_assert_eq(mps_ap_frame_pop(t.ap, f), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(t.snc), seg);
  cr_assert(tsnc_ok(a, 0, 1, 1));
  tsnc_close(&t);
}
