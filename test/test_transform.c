/* Unit tests for transforms (src/gc/transform.c, the rewriting trace of
 * src/gc/trace.c): references from exact roots, from other objects and
 * from weak (AWL) slots to old objects in AMC (moving) and AMS (not
 * moving) become references to the new objects, and the old objects die;
 * an ambiguous reference into an old object (a root, an interior pointer,
 * an ambiguous AMS segment, the stack of a registered thread) refuses the
 * whole transform and nothing changes; the documented results for an
 * arena that is not parked, a collection since creation, a second apply
 * and a failing ambiguous root scanner; client errors reported and
 * refused (an object of a manual pool, an address inside an object, pairs
 * added once applied among them); several add_oldnew calls, pairs in
 * descending order, old == new, count 0, destroy without apply, and no
 * memory kept.
 *
 * Objects are test/support/objfmt.h's (header, nrefs, references, data);
 * the first data word is an identity, so that a test can tell which
 * object a reference reaches after objects have moved.  Weak slots are
 * in test/support/awlarr.h's arrays. */
#include <criterion/criterion.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpscawl.h"
#include "../include/mpscmvff.h"
#include "../include/mpscsnc.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "support/awlarr.h"
#include "support/objfmt.h"
#include "support/reports.h"

#define W sizeof(mps_word_t)
#define NREFS 256

static mps_res_t ttr_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  return awlarr_scan(ss, base, limit, objfmt_scan, NULL);
}

typedef struct ttr_s {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t amc, ams, awl, amb;   /* amb: AMS with ambiguous references */
  mps_ap_t amc_ap, ams_ap, weak_ap, amb_ap;
  mps_root_t root, aroot;
  mps_addr_t refs[NREFS];          /* exact root */
  mps_addr_t ambig[8];             /* ambiguous root */
} ttr_s;

static void ttr_open(ttr_s *t)
{
  mps_gen_param_s gens[2] = {{256, 0.5}, {1024, 0.5}};
  memset(t, 0, sizeof *t);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 32 << 20);
    cr_assert_eq(mps_arena_create_k(&t->arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(objfmt_create(&t->fmt, t->arena, ttr_scan, true), MPS_RES_OK);
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
    MPS_ARGS_ADD(args, MPS_KEY_AWL_FIND_DEPENDENT, awlarr_find_dependent);
    cr_assert_eq(mps_pool_create_k(&t->awl, t->arena, mps_class_awl(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
    MPS_ARGS_ADD(args, MPS_KEY_AMS_SUPPORT_AMBIGUOUS, true);
    cr_assert_eq(mps_pool_create_k(&t->amb, t->arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&t->amc_ap, t->amc, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&t->ams_ap, t->ams, mps_args_none), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    cr_assert_eq(mps_ap_create_k(&t->weak_ap, t->awl, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    cr_assert_eq(mps_ap_create_k(&t->amb_ap, t->amb, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_root_create_table(&t->root, t->arena, mps_rank_exact(), 0, t->refs,
                                     NREFS), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->aroot, t->arena, mps_rank_ambig(), 0, t->ambig,
                                     sizeof t->ambig / sizeof t->ambig[0]), MPS_RES_OK);
  mps_arena_park(t->arena);
}

static void ttr_close(ttr_s *t)
{
  mps_arena_park(t->arena);
  mps_root_destroy(t->aroot);
  mps_root_destroy(t->root);
  mps_ap_destroy(t->amb_ap);
  mps_ap_destroy(t->weak_ap);
  mps_ap_destroy(t->ams_ap);
  mps_ap_destroy(t->amc_ap);
  mps_pool_destroy(t->amb);
  mps_pool_destroy(t->awl);
  mps_pool_destroy(t->ams);
  mps_pool_destroy(t->amc);
  mps_chain_destroy(t->chain);
  mps_fmt_destroy(t->fmt);
  mps_arena_destroy(t->arena);
}

/* An object with nrefs empty references and the identity `id`, stored in
 * *slot (a root slot, so that it lives). */
static void ttr_obj(mps_ap_t ap, mps_addr_t *slot, size_t nrefs, mps_word_t id)
{
  size_t words = 2 + nrefs + 1, i;
  mps_addr_t p;
  do {
    cr_assert_eq(mps_reserve(&p, ap, words * W), MPS_RES_OK);
    ((objfmt_obj)p)->header = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    ((objfmt_obj)p)->nrefs = nrefs;
    for (i = 0; i < nrefs; ++i)
      ((objfmt_obj)p)->slot[i] = 0;
    ((objfmt_obj)p)->slot[nrefs] = id;
    *slot = p;
  } while (!mps_commit(ap, p, words * W));
}

/* A weak array of n empty slots in *slot. */
static void ttr_weak(ttr_s *t, mps_addr_t *slot, size_t n)
{
  mps_addr_t p;
  do {
    cr_assert_eq(mps_reserve(&p, t->weak_ap, AWLARR_WORDS(n) * W), MPS_RES_OK);
    awlarr_init(p, n);
    *slot = p;
  } while (!mps_commit(t->weak_ap, p, AWLARR_WORDS(n) * W));
}

static mps_word_t ttr_id(mps_addr_t obj)
{
  objfmt_obj o = obj;
  cr_assert_eq(OBJFMT_TYPE(o->header), OBJFMT_T_OBJ);
  return o->slot[o->nrefs];
}

static mps_addr_t ttr_ref(mps_addr_t obj, size_t i)
{
  objfmt_obj o = obj;
  cr_assert(i < o->nrefs);
  return (mps_addr_t)o->slot[i];
}

static void ttr_set(mps_addr_t obj, size_t i, mps_addr_t ref)
{
  objfmt_obj o = obj;
  cr_assert(i < o->nrefs);
  o->slot[i] = (mps_word_t)ref;
}

/* How many objects of the heap have identity `id` (the old objects die:
 * nothing refers to them after a transform). */
typedef struct ttr_count_s {
  mps_word_t id;
  unsigned long n;
} ttr_count_s;

static void ttr_count_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  ttr_count_s *c = p;
  objfmt_obj o = addr;
  (void)fmt;
  (void)pool;
  (void)s;
  if (OBJFMT_TYPE(o->header) == OBJFMT_T_OBJ && o->slot[o->nrefs] == c->id)
    ++c->n;
}

static unsigned long ttr_count(ttr_s *t, mps_word_t id)
{
  ttr_count_s c;
  c.id = id;
  c.n = 0;
  mps_arena_formatted_objects_walk(t->arena, ttr_count_step, &c, 0);
  return c.n;
}

/* Apply a transform of the pairs and return what applied_o said. */
static bool ttr_apply(ttr_s *t, mps_addr_t *olds, mps_addr_t *news, size_t n)
{
  mps_transform_t tr;
  mps_bool_t applied = 42;
  cr_assert_eq(mps_transform_create(&tr, t->arena), MPS_RES_OK);
  cr_assert_eq(mps_transform_add_oldnew(tr, olds, news, n), MPS_RES_OK);
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_OK);
  cr_assert(applied == 0 || applied == 1);
  mps_transform_destroy(tr);
  return applied != 0;
}

/* refs[0]: old (id 1); refs[1]: a holder (id 10) referring to old, to an
 * unrelated object (id 3), and to itself; refs[2]: new (id 2), which
 * refers to old as well.  Returns nothing: the objects are in t->refs. */
static void ttr_graph(ttr_s *t, mps_ap_t old_ap, mps_ap_t new_ap)
{
  ttr_obj(old_ap, &t->refs[0], 1, 1);
  ttr_obj(t->amc_ap, &t->refs[1], 3, 10);
  ttr_obj(new_ap, &t->refs[2], 1, 2);
  ttr_obj(t->ams_ap, &t->refs[3], 0, 3);
  ttr_set(t->refs[1], 0, t->refs[0]);
  ttr_set(t->refs[1], 1, t->refs[3]);
  ttr_set(t->refs[1], 2, t->refs[1]);
  ttr_set(t->refs[2], 0, t->refs[0]);
  ttr_set(t->refs[0], 0, t->refs[3]);
}

/* The graph of ttr_graph in AMC and a transform from its old object to its
 * new one, not yet applied; returns the old object's address. */
static mps_addr_t ttr_graph_transform(ttr_s *t, mps_transform_t *tr_o)
{
  mps_addr_t olds[1], news[1];
  ttr_graph(t, t->amc_ap, t->amc_ap);
  olds[0] = t->refs[0];
  news[0] = t->refs[2];
  cr_assert_eq(mps_transform_create(tr_o, t->arena), MPS_RES_OK);
  cr_assert_eq(mps_transform_add_oldnew(*tr_o, olds, news, 1), MPS_RES_OK);
  return olds[0];
}

static void ttr_check_replaced(ttr_s *t)
{
  mps_addr_t holder = t->refs[1];
  cr_assert_eq(ttr_id(t->refs[0]), 2, "the root refers to the new object");
  cr_assert_eq(t->refs[0], t->refs[2]);
  cr_assert_eq(ttr_id(holder), 10);
  cr_assert_eq(ttr_ref(holder, 0), t->refs[2], "the object refers to the new object");
  cr_assert_eq(ttr_ref(holder, 1), t->refs[3], "other references are kept");
  cr_assert_eq(ttr_ref(holder, 2), holder);
  cr_assert_eq(ttr_ref(t->refs[2], 0), t->refs[2], "the new object's own reference too");
  cr_assert_eq(ttr_id(t->refs[3]), 3);
  cr_assert_eq(ttr_count(t, 1), 0, "the old object is dead");
  cr_assert_eq(ttr_count(t, 2), 1);
}

Test(transform, replaces_references_to_amc_objects)
{
  ttr_s t;
  mps_addr_t olds[1], news[1];
  ttr_open(&t);
  ttr_graph(&t, t.amc_ap, t.amc_ap);
  olds[0] = t.refs[0];
  news[0] = t.refs[2];
  cr_assert(ttr_apply(&t, olds, news, 1));
  ttr_check_replaced(&t);
  ttr_close(&t);
}

Test(transform, replaces_references_to_ams_objects)
{
  ttr_s t;
  mps_addr_t olds[1], news[1], new_addr;
  ttr_open(&t);
  ttr_graph(&t, t.ams_ap, t.ams_ap);
  olds[0] = t.refs[0];
  news[0] = new_addr = t.refs[2];
  cr_assert(ttr_apply(&t, olds, news, 1));
  ttr_check_replaced(&t);
  cr_assert_eq(t.refs[0], new_addr, "AMS does not move the new object");
  ttr_close(&t);
}

/* A reference that a transform replaced has changed its address as surely
 * as one a collection moved: a location dependency on the old object is
 * stale afterwards, though AMS moves nothing. */
Test(transform, location_dependency_on_an_old_object_becomes_stale)
{
  ttr_s t;
  mps_addr_t olds[1], news[1], old_addr;
  mps_ld_s ld;
  ttr_open(&t);
  /* Only AMS objects: no collection moves anything. */
  ttr_obj(t.ams_ap, &t.refs[0], 0, 1);
  ttr_obj(t.ams_ap, &t.refs[1], 1, 10);
  ttr_obj(t.ams_ap, &t.refs[2], 0, 2);
  ttr_set(t.refs[1], 0, t.refs[0]);
  olds[0] = old_addr = t.refs[0];
  news[0] = t.refs[2];
  mps_ld_reset(&ld, t.arena);
  mps_ld_add(&ld, t.arena, t.refs[1]);
  mps_arena_collect(t.arena);
  mps_arena_park(t.arena);
  cr_assert_not(mps_ld_isstale(&ld, t.arena, t.refs[1]), "AMS alone moves nothing");
  mps_ld_reset(&ld, t.arena);
  mps_ld_add(&ld, t.arena, old_addr);
  cr_assert_not(mps_ld_isstale(&ld, t.arena, old_addr));
  cr_assert(ttr_apply(&t, olds, news, 1));
  cr_assert_eq(ttr_ref(t.refs[1], 0), t.refs[2]);
  cr_assert(mps_ld_isstale(&ld, t.arena, old_addr));
  ttr_close(&t);
}

Test(transform, old_in_amc_new_in_ams_and_back)
{
  ttr_s t;
  mps_addr_t olds[2], news[2];
  ttr_open(&t);
  ttr_graph(&t, t.amc_ap, t.ams_ap);
  ttr_obj(t.ams_ap, &t.refs[4], 0, 4);     /* old, in AMS */
  ttr_obj(t.amc_ap, &t.refs[5], 0, 5);     /* its new, in AMC */
  t.refs[6] = t.refs[4];
  olds[0] = t.refs[0];
  news[0] = t.refs[2];
  olds[1] = t.refs[4];
  news[1] = t.refs[5];
  cr_assert(ttr_apply(&t, olds, news, 2));
  ttr_check_replaced(&t);
  cr_assert_eq(ttr_id(t.refs[4]), 5);
  cr_assert_eq(ttr_id(t.refs[6]), 5);
  cr_assert_eq(t.refs[4], t.refs[5]);
  cr_assert_eq(ttr_count(&t, 4), 0);
  ttr_close(&t);
}

/* A finalization registration is a reference like any other: after a
 * transform it names the new object, in whichever pool that is, and the
 * new object is finalized once it is unreachable. */
Test(transform, a_finalization_registration_follows_to_the_new_object)
{
  ttr_s t;
  mps_addr_t olds[1], news[1], ref = NULL;
  mps_message_t message;
  ttr_open(&t);
  mps_message_type_enable(t.arena, mps_message_type_finalization());
  ttr_obj(t.amc_ap, &t.refs[0], 0, 1);     /* old, in AMC */
  ttr_obj(t.ams_ap, &t.refs[1], 0, 2);     /* its new, in AMS */
  cr_assert_eq(mps_finalize(t.arena, &t.refs[0]), MPS_RES_OK);
  olds[0] = t.refs[0];
  news[0] = t.refs[1];
  cr_assert(ttr_apply(&t, olds, news, 1));
  cr_assert_eq(t.refs[0], t.refs[1]);
  cr_assert_not(mps_message_poll(t.arena), "the new object is reachable");
  t.refs[0] = t.refs[1] = NULL;
  mps_arena_collect(t.arena);
  cr_assert(mps_message_get(&message, t.arena, mps_message_type_finalization()),
            "the registration was lost in the transform");
  mps_message_finalization_ref(&ref, t.arena, message);
  cr_assert_eq(ttr_id(ref), 2);
  mps_message_discard(t.arena, message);
  mps_arena_collect(t.arena);
  cr_assert_eq(ttr_count(&t, 2), 0);
  ttr_close(&t);
}

/* A registration whose object a transform replaces by NULL names no
 * object any more: it ends without a message, and the collections that
 * follow are undisturbed. */
Test(transform, a_finalization_registration_replaced_by_null_ends)
{
  ttr_s t;
  mps_addr_t olds[1], news[1];
  ttr_open(&t);
  mps_message_type_enable(t.arena, mps_message_type_finalization());
  ttr_obj(t.amc_ap, &t.refs[0], 0, 1);
  cr_assert_eq(mps_finalize(t.arena, &t.refs[0]), MPS_RES_OK);
  olds[0] = t.refs[0];
  news[0] = NULL;
  cr_assert(ttr_apply(&t, olds, news, 1));
  cr_assert_null(t.refs[0]);
  mps_arena_collect(t.arena);
  mps_arena_collect(t.arena);
  cr_assert_not(mps_message_poll(t.arena));
  cr_assert_eq(mps_definalize(t.arena, &olds[0]), MPS_RES_FAIL);
  cr_assert_eq(ttr_count(&t, 1), 0);
  ttr_close(&t);
}

Test(transform, replaces_weak_references)
{
  ttr_s t;
  mps_addr_t olds[3], news[3];
  awlarr weak;
  ttr_open(&t);
  ttr_weak(&t, &t.refs[0], 4);
  ttr_obj(t.amc_ap, &t.refs[1], 0, 1);     /* old, strongly referenced */
  ttr_obj(t.amc_ap, &t.refs[2], 0, 2);     /* its new */
  ttr_obj(t.ams_ap, &t.refs[3], 0, 3);     /* old, only weakly referenced */
  ttr_obj(t.ams_ap, &t.refs[4], 0, 4);     /* its new, also strong */
  ttr_obj(t.amc_ap, &t.refs[5], 0, 5);     /* old, only weakly referenced */
  ttr_obj(t.amc_ap, &t.refs[6], 0, 6);     /* its new, referenced by nothing */
  weak = t.refs[0];
  weak->slot[0] = (mps_word_t)t.refs[1];
  weak->slot[1] = (mps_word_t)t.refs[3];
  weak->slot[2] = (mps_word_t)t.refs[5];
  olds[0] = t.refs[1];
  news[0] = t.refs[2];
  olds[1] = t.refs[3];
  news[1] = t.refs[4];
  olds[2] = t.refs[5];
  news[2] = t.refs[6];
  t.refs[3] = NULL;                        /* leave only the weak references */
  t.refs[5] = NULL;
  t.refs[6] = NULL;
  cr_assert(ttr_apply(&t, olds, news, 3));
  weak = t.refs[0];
  cr_assert_eq(ttr_id(t.refs[1]), 2);
  cr_assert_eq((mps_addr_t)weak->slot[0], t.refs[2], "weak reference to the new object");
  cr_assert_eq((mps_addr_t)weak->slot[1], t.refs[4], "weak reference to the new object");
  cr_assert_eq(weak->slot[2], 0, "new object referenced only weakly: splatted");
  cr_assert_eq(ttr_count(&t, 3), 0);
  cr_assert_eq(ttr_count(&t, 5), 0);
  cr_assert_eq(ttr_count(&t, 6), 0);
  ttr_close(&t);
}

/* An ambiguous reference into the old object refuses the transform, and
 * then nothing changes: no reference, and no object moves. */
static void ttr_refused_case(ttr_s *t, mps_addr_t ambiguous)
{
  mps_addr_t olds[1], news[1], old0, holder;
  old0 = t->refs[0];
  holder = t->refs[1];
  olds[0] = t->refs[0];
  news[0] = t->refs[2];
  t->ambig[3] = ambiguous;
  cr_assert_not(ttr_apply(t, olds, news, 1));
  cr_assert_eq(t->refs[0], old0);
  cr_assert_eq(t->refs[1], holder, "no collection ran");
  cr_assert_eq(ttr_id(t->refs[0]), 1);
  cr_assert_eq(ttr_ref(holder, 0), old0);
  cr_assert_eq(ttr_ref(t->refs[2], 0), old0);
  cr_assert_eq(ttr_count(t, 1), 1);
  /* Without it, a new transform applies. */
  t->ambig[3] = NULL;
  cr_assert(ttr_apply(t, olds, news, 1));
  ttr_check_replaced(t);
}

Test(transform, ambiguous_root_refuses)
{
  ttr_s t;
  ttr_open(&t);
  ttr_graph(&t, t.amc_ap, t.amc_ap);
  ttr_refused_case(&t, t.refs[0]);
  ttr_close(&t);
}

Test(transform, ambiguous_interior_reference_refuses)
{
  ttr_s t;
  ttr_open(&t);
  ttr_graph(&t, t.ams_ap, t.amc_ap);
  ttr_refused_case(&t, (char *)t.refs[0] + 2 * W + 3);
  ttr_close(&t);
}

Test(transform, ambiguous_reference_elsewhere_does_not_refuse)
{
  ttr_s t;
  mps_addr_t olds[1], news[1];
  ttr_open(&t);
  ttr_graph(&t, t.amc_ap, t.amc_ap);
  t.ambig[0] = t.refs[1];                   /* the holder, not the old object */
  t.ambig[1] = (char *)t.refs[0] + 64 * W;  /* past the end of the old object */
  t.ambig[2] = t.refs[2];
  olds[0] = t.refs[0];
  news[0] = t.refs[2];
  cr_assert(ttr_apply(&t, olds, news, 1));
  ttr_check_replaced(&t);
  ttr_close(&t);
}

Test(transform, ambiguous_segment_refuses)
{
  ttr_s t;
  mps_addr_t amb;
  ttr_open(&t);
  ttr_graph(&t, t.amc_ap, t.amc_ap);
  ttr_obj(t.amb_ap, &t.refs[7], 1, 7);
  amb = t.refs[7];
  ttr_set(amb, 0, t.refs[0]);
  {
    mps_addr_t olds[1], news[1], old0 = t.refs[0];
    olds[0] = t.refs[0];
    news[0] = t.refs[2];
    cr_assert_not(ttr_apply(&t, olds, news, 1));
    cr_assert_eq(t.refs[0], old0);
    cr_assert_eq(ttr_ref(t.refs[1], 0), old0);
    cr_assert_eq(ttr_ref(amb, 0), old0);
    /* Once the ambiguous object lets go, it applies. */
    ttr_set(amb, 0, NULL);
    cr_assert(ttr_apply(&t, olds, news, 1));
    ttr_check_replaced(&t);
    cr_assert_eq(t.refs[7], amb, "AMS does not move");
  }
  ttr_close(&t);
}

/* The transform, from a frame below the thread root's cold end holding
 * the old object: the order of one function's locals on the stack is the
 * compiler's, so a local of the test itself might lie above the cold end
 * (it did at -O0) and not be scanned. */
static NOINLINE void stack_refuses_from_deeper_frame(ttr_s *t)
{
  volatile mps_addr_t on_stack = t->refs[0];
  mps_addr_t olds[1], news[1], old0 = t->refs[0];
  olds[0] = t->refs[0];
  news[0] = t->refs[2];
  cr_assert_not(ttr_apply(t, olds, news, 1));
  cr_assert_eq(on_stack, old0);
  cr_assert_eq(t->refs[0], old0);
  cr_assert_eq(ttr_ref(t->refs[1], 0), old0);
}

Test(transform, stack_of_a_registered_thread_refuses)
{
  ttr_s t;
  mps_thr_t thr;
  mps_root_t sroot;
  volatile int cold = 0;
  ttr_open(&t);
  ttr_graph(&t, t.amc_ap, t.amc_ap);
  cr_assert_eq(mps_thread_reg(&thr, t.arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_thread(&sroot, t.arena, thr, (void *)&cold), MPS_RES_OK);
  stack_refuses_from_deeper_frame(&t);
  mps_root_destroy(sroot);
  mps_thread_dereg(thr);
  ttr_close(&t);
  (void)cold;
}

Test(transform, arena_not_parked)
{
  ttr_s t;
  mps_transform_t tr;
  mps_bool_t applied = 42;
  mps_addr_t old0;
  ttr_open(&t);
  old0 = ttr_graph_transform(&t, &tr);
  mps_arena_release(t.arena);
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_LIMIT);
  cr_assert_eq(applied, 42, "applied_o is not updated");
  cr_assert_eq(t.refs[0], old0);
  /* Parked again with no collection in between: it applies. */
  mps_arena_park(t.arena);
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_OK);
  cr_assert_eq(applied, 1);
  mps_transform_destroy(tr);
  ttr_check_replaced(&t);
  ttr_close(&t);
}

/* arena.rst: the parked state is the clamped state with no collection in
 * progress, so a clamped arena with none running is parked. */
Test(transform, clamped_with_no_collection_running_is_parked)
{
  ttr_s t;
  mps_transform_t tr;
  mps_bool_t applied = 42;
  ttr_open(&t);
  (void)ttr_graph_transform(&t, &tr);
  mps_arena_release(t.arena);
  mps_arena_clamp(t.arena);
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_OK);
  cr_assert_eq(applied, 1);
  mps_transform_destroy(tr);
  ttr_check_replaced(&t);
  mps_arena_park(t.arena);
  ttr_close(&t);
}

Test(transform, collection_since_creation)
{
  ttr_s t;
  mps_transform_t tr;
  mps_bool_t applied = 42;
  ttr_open(&t);
  (void)ttr_graph_transform(&t, &tr);
  mps_arena_collect(t.arena);
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_PARAM);
  cr_assert_eq(applied, 42);
  cr_assert_eq(ttr_id(t.refs[0]), 1, "nothing replaced");
  cr_assert_eq(ttr_id(ttr_ref(t.refs[1], 0)), 1);
  mps_transform_destroy(tr);
  ttr_close(&t);
}

Test(transform, applied_once_only)
{
  ttr_s t;
  mps_transform_t tr;
  mps_bool_t applied = 42;
  mps_addr_t olds[1], news[1];
  ttr_open(&t);
  (void)ttr_graph_transform(&t, &tr);
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_OK);
  cr_assert_eq(applied, 1);
  applied = 42;
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_PARAM);
  cr_assert_eq(applied, 42);
  mps_transform_destroy(tr);
  /* A refused one is spent as well. */
  ttr_obj(t.amc_ap, &t.refs[8], 0, 8);
  ttr_obj(t.amc_ap, &t.refs[9], 0, 9);
  t.ambig[0] = t.refs[8];
  olds[0] = t.refs[8];
  news[0] = t.refs[9];
  cr_assert_eq(mps_transform_create(&tr, t.arena), MPS_RES_OK);
  cr_assert_eq(mps_transform_add_oldnew(tr, olds, news, 1), MPS_RES_OK);
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_OK);
  cr_assert_eq(applied, 0);
  t.ambig[0] = NULL;
  applied = 42;
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_PARAM);
  cr_assert_eq(applied, 42);
  mps_transform_destroy(tr);
  ttr_close(&t);
}

Test(transform, client_errors_are_reported_and_refused)
{
  ttr_s t;
  mps_transform_t tr;
  mps_bool_t applied = 42;
  mps_addr_t olds[2], news[2], block;
  mps_pool_t mvff;
  ttr_open(&t);
  ttr_graph(&t, t.amc_ap, t.amc_ap);
  cr_assert_eq(mps_pool_create_k(&mvff, t.arena, mps_class_mvff(), mps_args_none),
               MPS_RES_OK);
  cr_assert_eq(mps_alloc(&block, mvff, 64), MPS_RES_OK);
  cr_assert_eq(mps_transform_create(&tr, t.arena), MPS_RES_OK);
  reports_install();

  /* Old references outside any collected pool. */
  olds[0] = block;
  news[0] = t.refs[2];
  cr_assert_eq(mps_transform_add_oldnew(tr, olds, news, 1), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), 1);
  olds[0] = &t;
  cr_assert_eq(mps_transform_add_oldnew(tr, olds, news, 1), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), 2);
  /* A bad one among good ones: none is added. */
  olds[0] = t.refs[0];
  olds[1] = block;
  news[1] = t.refs[2];
  cr_assert_eq(mps_transform_add_oldnew(tr, olds, news, 2), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), 3);
  /* No arrays. */
  cr_assert_eq(mps_transform_add_oldnew(tr, NULL, news, 1), MPS_RES_PARAM);
  cr_assert_eq(mps_transform_add_oldnew(tr, olds, NULL, 1), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), 5);
  /* No result location. */
  cr_assert_eq(mps_transform_apply(NULL, tr), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), 6);
  /* The same old object twice: refused at apply, nothing changed. */
  olds[0] = olds[1] = t.refs[0];
  news[0] = t.refs[2];
  news[1] = t.refs[3];
  cr_assert_eq(mps_transform_add_oldnew(tr, olds, news, 2), MPS_RES_OK);
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), 7);
  cr_assert_eq(applied, 42);
  cr_assert_eq(ttr_id(t.refs[0]), 1);
  cr_assert_eq(ttr_id(ttr_ref(t.refs[1], 0)), 1);
  mps_transform_destroy(tr);

  /* A pool destroyed between add and apply. */
  {
    mps_pool_t pool;
    mps_ap_t ap;
    mps_addr_t obj;
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
      cr_assert_eq(mps_pool_create_k(&pool, t.arena, mps_class_ams(), args), MPS_RES_OK);
    } MPS_ARGS_END(args);
    cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
    ttr_obj(ap, &t.refs[20], 0, 20);
    obj = t.refs[20];
    t.refs[20] = NULL;
    cr_assert_eq(mps_transform_create(&tr, t.arena), MPS_RES_OK);
    cr_assert_eq(mps_transform_add_oldnew(tr, &obj, &t.refs[2], 1), MPS_RES_OK);
    mps_ap_destroy(ap);
    mps_pool_destroy(pool);
    cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_PARAM);
    cr_assert_eq(reports_seen(), 8);
    cr_assert_eq(applied, 42);
    mps_transform_destroy(tr);
  }
  reports_install_abort();
  mps_free(mvff, block, 64);
  mps_pool_destroy(mvff);
  ttr_close(&t);
}

/* Pairs may be added in any order of their old addresses: two, the
 * higher first, are both replaced. */
Test(transform, two_pairs_added_higher_address_first_are_both_replaced)
{
  ttr_s t;
  mps_addr_t olds[2], news[2];
  size_t high;
  ttr_open(&t);
  ttr_obj(t.amc_ap, &t.refs[0], 0, 1);     /* old */
  ttr_obj(t.amc_ap, &t.refs[1], 0, 2);     /* old */
  ttr_obj(t.amc_ap, &t.refs[2], 0, 3);     /* refs[0]'s new */
  ttr_obj(t.amc_ap, &t.refs[3], 0, 4);     /* refs[1]'s new */
  ttr_obj(t.amc_ap, &t.refs[4], 2, 10);    /* a holder of both olds */
  ttr_set(t.refs[4], 0, t.refs[0]);
  ttr_set(t.refs[4], 1, t.refs[1]);
  high = (char *)t.refs[0] > (char *)t.refs[1] ? 0 : 1;
  olds[0] = t.refs[high];
  news[0] = t.refs[2 + high];
  olds[1] = t.refs[1 - high];
  news[1] = t.refs[3 - high];
  cr_assert_gt((char *)olds[0], (char *)olds[1]);
  cr_assert(ttr_apply(&t, olds, news, 2));
  cr_assert_eq(ttr_id(t.refs[0]), 3);
  cr_assert_eq(ttr_id(t.refs[1]), 4);
  cr_assert_eq(ttr_id(ttr_ref(t.refs[4], 0)), 3);
  cr_assert_eq(ttr_id(ttr_ref(t.refs[4], 1)), 4);
  cr_assert_eq(ttr_count(&t, 1), 0);
  cr_assert_eq(ttr_count(&t, 2), 0);
  ttr_close(&t);
}

/* The ambiguous root of ttr_root_fails_test: its scanner fails while
 * ttr_root_fails is set, and otherwise finds nothing. */
static bool ttr_root_fails;
static mps_res_t ttr_failing_scan(mps_ss_t ss, void *p, size_t s)
{
  (void)ss;
  (void)p;
  (void)s;
  return ttr_root_fails ? MPS_RES_FAIL : MPS_RES_OK;
}

/* A client's root scanner that fails while apply looks for ambiguous
 * references makes the apply fail with its result, and nothing changes;
 * the transform is not spent: it takes more pairs (here the object id 3
 * to itself, which only moves it), and applies once the scanner works. */
Test(transform, a_failing_ambiguous_root_scanner_fails_the_apply)
{
  ttr_s t;
  mps_transform_t tr;
  mps_bool_t applied = 42;
  mps_root_t froot;
  mps_addr_t old0;
  ttr_open(&t);
  old0 = ttr_graph_transform(&t, &tr);
  cr_assert_eq(mps_root_create(&froot, t.arena, mps_rank_ambig(), 0, ttr_failing_scan, NULL, 0),
               MPS_RES_OK);
  ttr_root_fails = true;
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_FAIL);
  ttr_root_fails = false;
  cr_assert_eq(applied, 42);
  cr_assert_eq(t.refs[0], old0, "nothing replaced");
  cr_assert_eq(ttr_ref(t.refs[1], 0), old0);
  cr_assert_eq(mps_transform_add_oldnew(tr, &t.refs[3], &t.refs[3], 1), MPS_RES_OK);
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_OK);
  cr_assert_eq(applied, 1);
  mps_transform_destroy(tr);
  ttr_check_replaced(&t);
  mps_root_destroy(froot);
  ttr_close(&t);
}

/* Apply a transform from `old` (no object's address) to the new object of
 * ttr_graph: reported, refused with MPS_RES_PARAM, and nothing replaced. */
static void ttr_not_an_object_refused(ttr_s *t, mps_addr_t old)
{
  mps_transform_t tr;
  mps_bool_t applied = 42;
  mps_addr_t old0 = t->refs[0];
  cr_assert_eq(mps_transform_create(&tr, t->arena), MPS_RES_OK);
  cr_assert_eq(mps_transform_add_oldnew(tr, &old, &t->refs[2], 1), MPS_RES_OK);
  reports_install();
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_PARAM);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(applied, 42);
  mps_transform_destroy(tr);
  cr_assert_eq(t->refs[0], old0);
  cr_assert_eq(ttr_ref(t->refs[1], 0), old0);
}

/* An old reference must be an object's address (transform.rst).  Two
 * inside an object of a collected pool, where the format's skip reads a
 * data word as a header: a null reference, a header of no words, which
 * the skip does not pass; and an identity that reads as a header of 2^24
 * words, which takes the skip past the segment. */
Test(transform, an_old_reference_inside_an_object_is_refused_at_apply)
{
  ttr_s t;
  objfmt_obj o;
  ttr_open(&t);
  ttr_graph(&t, t.amc_ap, t.amc_ap);
  ttr_obj(t.amc_ap, &t.refs[4], 1, OBJFMT_HDR((mps_word_t)1 << 24, OBJFMT_T_OBJ));
  o = t.refs[4];
  ttr_not_an_object_refused(&t, &o->slot[0]);
  o = t.refs[4];
  ttr_not_an_object_refused(&t, &o->slot[1]);
  ttr_close(&t);
}

Test(transform, several_add_calls)
{
  ttr_s t;
  mps_transform_t tr;
  mps_bool_t applied = 42;
  mps_addr_t olds[100], news[100];
  size_t i, done;
  ttr_open(&t);
  /* 100 old objects (ids 1000+i, alternately AMC and AMS), each held by the
   * root and by a chain object; their new ones (ids 2000+i). */
  for (i = 0; i < 100; ++i) {
    ttr_obj(i % 2 == 0 ? t.amc_ap : t.ams_ap, &t.refs[i], 0, 1000 + i);
    ttr_obj(t.amc_ap, &t.refs[100 + i], 1, 3000 + i);
    ttr_set(t.refs[100 + i], 0, t.refs[i]);
    olds[i] = t.refs[i];
  }
  for (i = 0; i < 100; ++i) {
    ttr_obj(i % 3 == 0 ? t.ams_ap : t.amc_ap, &news[i], 0, 2000 + i);
    t.refs[200 + (i % 50)] = news[i];   /* some new ones also rooted */
  }
  cr_assert_eq(mps_transform_create(&tr, t.arena), MPS_RES_OK);
  /* In batches of 1, 2, 3, ... and in no particular order of addresses. */
  for (i = 1, done = 0; done < 100; ++i) {
    size_t n = i < 100 - done ? i : 100 - done;
    cr_assert_eq(mps_transform_add_oldnew(tr, olds + done, news + done, n), MPS_RES_OK);
    done += n;
  }
  cr_assert_eq(mps_transform_add_oldnew(tr, NULL, NULL, 0), MPS_RES_OK);
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_OK);
  cr_assert_eq(applied, 1);
  mps_transform_destroy(tr);
  for (i = 0; i < 100; ++i) {
    cr_assert_eq(ttr_id(t.refs[i]), 2000 + i);
    cr_assert_eq(ttr_id(t.refs[100 + i]), 3000 + i);
    cr_assert_eq(ttr_ref(t.refs[100 + i], 0), t.refs[i]);
    cr_assert_eq(ttr_count(&t, 1000 + i), 0);
  }
  ttr_close(&t);
}

Test(transform, old_equal_to_new)
{
  ttr_s t;
  mps_addr_t olds[2], news[2];
  ttr_open(&t);
  ttr_graph(&t, t.amc_ap, t.amc_ap);
  olds[0] = news[0] = t.refs[0];
  olds[1] = news[1] = t.refs[3];
  cr_assert(ttr_apply(&t, olds, news, 2));
  cr_assert_eq(ttr_id(t.refs[0]), 1, "kept, and only moved");
  cr_assert_eq(ttr_ref(t.refs[1], 0), t.refs[0]);
  cr_assert_eq(ttr_ref(t.refs[2], 0), t.refs[0]);
  cr_assert_eq(ttr_ref(t.refs[0], 0), t.refs[3]);
  cr_assert_eq(ttr_count(&t, 1), 1);
  ttr_close(&t);
}

Test(transform, count_zero_applies_as_a_collection)
{
  ttr_s t;
  mps_addr_t olds[1], news[1];
  mps_addr_t dead;
  ttr_open(&t);
  ttr_graph(&t, t.amc_ap, t.amc_ap);
  ttr_obj(t.amc_ap, &t.refs[9], 0, 99);
  dead = t.refs[9];
  t.refs[9] = NULL;
  (void)dead;
  cr_assert(ttr_apply(&t, olds, news, 0));
  cr_assert_eq(ttr_id(t.refs[0]), 1);
  cr_assert_eq(ttr_ref(t.refs[1], 0), t.refs[0]);
  cr_assert_eq(ttr_ref(t.refs[2], 0), t.refs[0]);
  cr_assert_eq(ttr_count(&t, 99), 0, "a collection ran");
  ttr_close(&t);
}

Test(transform, destroy_without_apply_keeps_no_memory)
{
  ttr_s t;
  mps_addr_t olds[64], news[64];
  size_t i, committed = 0;
  int round;
  ttr_open(&t);
  for (i = 0; i < 64; ++i) {
    ttr_obj(t.amc_ap, &t.refs[i], 0, i);
    olds[i] = news[i] = t.refs[i];
  }
  for (round = 0; round < 200; ++round) {
    mps_transform_t tr;
    cr_assert_eq(mps_transform_create(&tr, t.arena), MPS_RES_OK);
    for (i = 0; i < (size_t)round % 8; ++i)
      cr_assert_eq(mps_transform_add_oldnew(tr, olds, news, 64), MPS_RES_OK);
    mps_transform_destroy(tr);
    if (round == 10)
      committed = mps_arena_committed(t.arena);
  }
  cr_assert_eq(mps_arena_committed(t.arena), committed, "control memory given back");
  for (i = 0; i < 64; ++i)
    cr_assert_eq(t.refs[i], olds[i], "no collection ran");
  ttr_close(&t);
}

/* transform.rst: old references must be to objects of pools whose blocks
 * are automatically managed.  SNC's are formatted but manual: refused
 * when added, as other blocks outside collected pools are. */
Test(transform, an_object_of_a_manual_formatted_pool_is_refused)
{
  ttr_s t;
  mps_transform_t tr;
  mps_pool_t snc;
  mps_ap_t ap;
  mps_addr_t olds[1], news[1];
  ttr_open(&t);
  ttr_graph(&t, t.amc_ap, t.amc_ap);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    cr_assert_eq(mps_pool_create_k(&snc, t.arena, mps_class_snc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
    cr_assert_eq(mps_ap_create_k(&ap, snc, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  ttr_obj(ap, &olds[0], 0, 30);
  news[0] = t.refs[2];
  cr_assert_eq(mps_transform_create(&tr, t.arena), MPS_RES_OK);
  reports_install();
  cr_assert_eq(mps_transform_add_oldnew(tr, olds, news, 1), MPS_RES_PARAM);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
  mps_transform_destroy(tr);
  mps_ap_destroy(ap);
  mps_pool_destroy(snc);
  ttr_close(&t);
}

/* A transform is applied at most once (transform.rst), so pairs added
 * after it was are reported and refused. */
Test(transform, adding_to_an_applied_transform_is_refused)
{
  ttr_s t;
  mps_transform_t tr;
  mps_bool_t applied = 42;
  mps_addr_t olds[1], news[1];
  ttr_open(&t);
  (void)ttr_graph_transform(&t, &tr);
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_OK);
  cr_assert_eq(applied, 1);
  olds[0] = t.refs[3];
  news[0] = t.refs[1];
  reports_install();
  cr_assert_eq(mps_transform_add_oldnew(tr, olds, news, 1), MPS_RES_PARAM);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
  mps_transform_destroy(tr);
  ttr_close(&t);
}
