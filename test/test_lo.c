/* Unit tests for the LO pool class (src/pool/pool_lo.c over the engine in
 * src/pool/pool_ams.c): leaf objects referenced from roots or from AMS
 * objects survive in place with their contents, unreferenced ones are
 * reclaimed and their space reused, LO objects are never scanned (a word
 * in one that looks like a reference keeps nothing), ambiguous references
 * keep the containing object, walks, a reserve pending across a
 * collection, and generation arguments.
 *
 * Objects are in test/support/objfmt.h's format, all of type object: an
 * AMS object has a count of references, the references and data; an LO
 * object is its header and data words (LO never scans it). */
#include <criterion/criterion.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscams.h"
#include "../include/mpsclo.h"
#include "../include/mpslib.h"
#include "support/objfmt.h"
#include "support/checks.h"
#include "support/reports.h"

#define W sizeof(mps_word_t)

typedef struct tlo_s {
  mps_arena_t arena;
  mps_fmt_t lo_fmt, ams_fmt;
  mps_chain_t chain;
  mps_pool_t lo, ams;
  mps_ap_t lo_ap, ams_ap;
  mps_root_t root, aroot;
  mps_addr_t refs[64];
  mps_addr_t ambig[8];
} tlo_s;

static void tlo_open(tlo_s *t)
{
  mps_gen_param_s gens[2] = {{256, 0.5}, {1024, 0.5}};
  memset(t, 0, sizeof *t);
  cr_assert_eq(mps_arena_create_k(&t->arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  /* No scan method: LO needs only skip. */
  cr_assert_eq(objfmt_create(&t->lo_fmt, t->arena, NULL, false), MPS_RES_OK);
  cr_assert_eq(objfmt_create(&t->ams_fmt, t->arena, objfmt_scan, false), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&t->chain, t->arena, 2, gens), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->lo_fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
    cr_assert_eq(mps_pool_create_k(&t->lo, t->arena, mps_class_lo(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->ams_fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
    cr_assert_eq(mps_pool_create_k(&t->ams, t->arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&t->lo_ap, t->lo, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&t->ams_ap, t->ams, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->root, t->arena, mps_rank_exact(), 0, t->refs, 64),
               MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->aroot, t->arena, mps_rank_ambig(), 0, t->ambig, 8),
               MPS_RES_OK);
  mps_arena_park(t->arena);
}

static void tlo_close(tlo_s *t)
{
  mps_arena_park(t->arena);
  mps_root_destroy(t->aroot);
  mps_root_destroy(t->root);
  mps_ap_destroy(t->ams_ap);
  mps_ap_destroy(t->lo_ap);
  mps_pool_destroy(t->ams);
  mps_pool_destroy(t->lo);
  mps_chain_destroy(t->chain);
  mps_fmt_destroy(t->ams_fmt);
  mps_fmt_destroy(t->lo_fmt);
  mps_arena_destroy(t->arena);
}

/* Detach both allocation points from their segments. */
static void tlo_flush(tlo_s *t)
{
  mps_ap_destroy(t->lo_ap);
  mps_ap_destroy(t->ams_ap);
  cr_assert_eq(mps_ap_create_k(&t->lo_ap, t->lo, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&t->ams_ap, t->ams, mps_args_none), MPS_RES_OK);
}

/* A leaf of 1 + ndata words; data from seed (or `word` everywhere if not 0). */
static void tlo_leaf(tlo_s *t, mps_addr_t *slot, size_t ndata, mps_word_t seed, mps_word_t word)
{
  size_t words = 1 + ndata, i;
  mps_addr_t p;
  do {
    mps_word_t *w;
    cr_assert_eq(mps_reserve(&p, t->lo_ap, words * W), MPS_RES_OK);
    w = p;
    w[0] = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    for (i = 0; i < ndata; ++i)
      w[1 + i] = word != 0 ? word : seed * 17u + i;
  } while (!mps_commit(t->lo_ap, p, words * W));
  *slot = p;
}

static bool tlo_leaf_ok(mps_addr_t p, size_t ndata, mps_word_t seed)
{
  mps_word_t *w = p;
  size_t i;
  if (OBJFMT_WORDS(w[0]) != 1 + ndata)
    return false;
  for (i = 0; i < ndata; ++i)
    if (w[1 + i] != seed * 17u + i)
      return false;
  return true;
}

/* An AMS object with nrefs references, all null. */
static void tlo_node(tlo_s *t, mps_addr_t *slot, size_t nrefs)
{
  size_t words = 2 + nrefs, i;
  mps_addr_t p;
  do {
    mps_word_t *w;
    cr_assert_eq(mps_reserve(&p, t->ams_ap, words * W), MPS_RES_OK);
    w = p;
    w[0] = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    w[1] = nrefs;
    for (i = 0; i < nrefs; ++i)
      w[2 + i] = 0;
  } while (!mps_commit(t->ams_ap, p, words * W));
  *slot = p;
}

typedef struct tlo_count_s {
  mps_pool_t pool;
  size_t objects;
} tlo_count_s;

static void tlo_count_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  tlo_count_s *c = p;
  (void)addr;
  (void)fmt;
  (void)s;
  if (pool == c->pool)
    ++c->objects;
}

static size_t tlo_count(tlo_s *t, mps_pool_t pool)
{
  tlo_count_s c = {pool, 0};
  mps_arena_formatted_objects_walk(t->arena, tlo_count_step, &c, 0);
  return c.objects;
}

Test(lo, leaves_survive_in_place_from_roots_and_ams)
{
  tlo_s t;
  mps_addr_t leaf[20], node;
  size_t k;
  tlo_open(&t);
  tlo_node(&t, &t.refs[0], 10);
  for (k = 0; k < 20; ++k) {
    tlo_leaf(&t, &t.refs[1 + k], 1 + k, k, 0);
    leaf[k] = t.refs[1 + k];
  }
  node = t.refs[0];
  for (k = 0; k < 10; ++k) {     /* leaves 0..9 only from the AMS node */
    ((mps_word_t *)node)[2 + k] = (mps_word_t)leaf[k];
    t.refs[1 + k] = NULL;
  }
  for (k = 15; k < 20; ++k)       /* 15..19 unreferenced */
    t.refs[1 + k] = NULL;
  tlo_flush(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tlo_count(&t, t.lo), 15);
  for (k = 0; k < 15; ++k)
    cr_assert(tlo_leaf_ok(leaf[k], 1 + k, k), "leaf %zu damaged or moved", k);
  /* Dropping the node drops its leaves. */
  t.refs[0] = NULL;
  mps_arena_collect(t.arena);
  cr_assert_eq(tlo_count(&t, t.lo), 5);
  cr_assert_eq(tlo_count(&t, t.ams), 0);
  for (k = 10; k < 15; ++k)
    cr_assert(tlo_leaf_ok(leaf[k], 1 + k, k));
  tlo_close(&t);
}

Test(lo, leaves_are_not_scanned)
{
  tlo_s t;
  mps_addr_t node, leaf;
  tlo_open(&t);
  tlo_node(&t, &t.refs[0], 0);
  node = t.refs[0];
  /* A leaf full of copies of the node's address: not references. */
  tlo_leaf(&t, &t.refs[1], 8, 0, (mps_word_t)node);
  leaf = t.refs[1];
  t.refs[0] = NULL;
  tlo_flush(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tlo_count(&t, t.ams), 0, "a leaf's words kept an object");
  cr_assert_eq(tlo_count(&t, t.lo), 1);
  cr_assert_eq(((mps_word_t *)leaf)[3], (mps_word_t)node, "a leaf was changed");
  tlo_close(&t);
}

Test(lo, garbage_reclaimed_and_space_reused)
{
  tlo_s t;
  size_t k, total;
  tlo_open(&t);
  for (k = 0; k < 3000; ++k)
    tlo_leaf(&t, &t.refs[k % 2], 40, k, 0);
  tlo_flush(&t);
  cr_assert_geq(mps_pool_total_size(t.lo), 3000 * 41 * W);
  mps_arena_collect(t.arena);
  cr_assert_eq(tlo_count(&t, t.lo), 2);
  cr_assert(tlo_leaf_ok(t.refs[0], 40, 2998) && tlo_leaf_ok(t.refs[1], 40, 2999));
  total = mps_pool_total_size(t.lo);
  cr_assert_leq(total, 128 * 1024, "total %zu after reclaim", total);
  cr_assert_eq(total - mps_pool_free_size(t.lo), 2 * 41 * W);
  for (k = 0; k < mps_pool_free_size(t.lo) / 2 / (41 * W); ++k)
    tlo_leaf(&t, &t.refs[2], 40, k, 0);
  cr_assert_eq(mps_pool_total_size(t.lo), total, "the pool grew instead of reusing");
  cr_assert(tlo_leaf_ok(t.refs[0], 40, 2998) && tlo_leaf_ok(t.refs[1], 40, 2999));
  tlo_close(&t);
}

Test(lo, ambiguous_references)
{
  tlo_s t;
  mps_addr_t a, b, c;
  tlo_open(&t);
  tlo_leaf(&t, &t.refs[0], 30, 1, 0);
  tlo_leaf(&t, &t.refs[1], 30, 2, 0);
  tlo_leaf(&t, &t.refs[2], 30, 3, 0);
  a = t.refs[0], b = t.refs[1], c = t.refs[2];
  memset(t.refs, 0, sizeof t.refs);
  t.ambig[0] = (char *)a + 17 * W + 5;    /* interior, misaligned: keeps a */
  t.ambig[1] = (char *)c + 100 * W;       /* free grains after c: keeps nothing */
  tlo_flush(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tlo_count(&t, t.lo), 1);
  cr_assert(tlo_leaf_ok(a, 30, 1));
  (void)b;
  tlo_close(&t);
}

Test(lo, reserve_pending_across_collection)
{
  tlo_s t;
  mps_addr_t p;
  int tries = 0;
  tlo_open(&t);
  do {
    mps_word_t *w;
    ++tries;
    cr_assert_eq(mps_reserve(&p, t.lo_ap, 4 * W), MPS_RES_OK);
    w = p;
    w[0] = OBJFMT_HDR(4, OBJFMT_T_OBJ);
    w[1] = 17, w[2] = 18, w[3] = 19;
    if (tries == 1)
      mps_arena_collect(t.arena);
  } while (!mps_commit(t.lo_ap, p, 4 * W));
  cr_assert_eq(tries, 2);
  t.refs[0] = p;
  tlo_flush(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tlo_count(&t, t.lo), 1);
  cr_assert(tlo_leaf_ok(p, 3, 1));
  tlo_close(&t);
}

Test(lo, generation_argument)
{
  tlo_s t;
  mps_pool_t pool;
  tlo_open(&t);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.lo_fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
    MPS_ARGS_ADD(args, MPS_KEY_GEN, 1);
    cr_assert_eq(mps_pool_create_k(&pool, t.arena, mps_class_lo(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  mps_pool_destroy(pool);
  reports_install();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.lo_fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
    MPS_ARGS_ADD(args, MPS_KEY_GEN, 2);          /* the chain has two */
    cr_assert_eq(mps_pool_create_k(&pool, t.arena, mps_class_lo(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  /* No skip method: refused. */
  {
    mps_fmt_t fmt;
    cr_assert_eq(mps_fmt_create_k(&fmt, t.arena, mps_args_none), MPS_RES_OK);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
      cr_assert_eq(mps_pool_create_k(&pool, t.arena, mps_class_lo(), args), MPS_RES_PARAM);
    } MPS_ARGS_END(args);
    mps_fmt_destroy(fmt);
  }
  tlo_close(&t);
}
