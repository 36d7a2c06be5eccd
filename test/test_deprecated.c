/* Unit tests for the deprecated interface: variable-argument creation of
 * arenas, pools (manual and automatic classes) and allocation points
 * (with their rank), the spare commit limit in bytes,
 * MPS_ARGS_DONE and the old MVFF size functions (topic/deprecated.rst). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsacl.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpscawl.h"
#include "../include/mpsclo.h"
#include "../include/mpscmfs.h"
#include "../include/mpscmvff.h"
#include "../include/mpscmvt.h"
#include "../include/mpscsnc.h"
#include "support/objfmt.h"

Test(deprecated, vm_arena_with_its_size)
{
  mps_arena_t arena;
  cr_assert_eq(mps_arena_create(&arena, mps_arena_class_vm(), (size_t)8 << 20), MPS_RES_OK);
  cr_assert_geq(mps_arena_reserved(arena), (size_t)8 << 20);
  cr_assert_lt(mps_arena_reserved(arena), (size_t)16 << 20);
  mps_arena_destroy(arena);
}

Test(deprecated, client_arena_with_size_then_base)
{
  size_t size = (size_t)1 << 20;
  void *block = malloc(size);
  mps_arena_t arena;
  mps_pool_t pool;
  mps_addr_t p;
  cr_assert_eq(mps_arena_create(&arena, mps_arena_class_cl(), size, block), MPS_RES_OK);
  cr_assert_leq(mps_arena_reserved(arena), size);
  cr_assert_eq(mps_pool_create(&pool, arena, mps_class_mfs(), (size_t)8192, (size_t)64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  cr_assert((char *)p >= (char *)block && (char *)p < (char *)block + size);
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
  free(block);
}

static mps_arena_t arena;
static void setup(void)
{
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
}
static void teardown(void)
{
  mps_arena_destroy(arena);
}

Test(deprecated_pools, mfs_takes_extend_by_then_unit_size, .init = setup, .fini = teardown)
{
  mps_pool_t pool;
  mps_addr_t p;
  cr_assert_eq(mps_pool_create(&pool, arena, mps_class_mfs(), (size_t)(1 << 16), (size_t)48), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&p, pool, 48), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 1 << 16);   /* one extent of extend_by */
  mps_free(pool, p, 48);
  mps_pool_destroy(pool);
}

Test(deprecated_pools, mvff_takes_its_six_arguments, .init = setup, .fini = teardown)
{
  mps_pool_t pool;
  mps_addr_t p, q;
  cr_assert_eq(mps_pool_create(&pool, arena, mps_class_mvff(), (size_t)65536, (size_t)32,
                               (mps_align_t)64, (mps_bool_t)0, (mps_bool_t)0, (mps_bool_t)1),
               MPS_RES_OK);
  cr_assert_eq(mps_alloc(&p, pool, 8), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&q, pool, 8), MPS_RES_OK);
  /* The alignment argument took effect. */
  cr_assert(((uintptr_t)p & 63) == 0 && ((uintptr_t)q & 63) == 0);
  cr_assert_eq(mps_mvff_size(pool), mps_pool_total_size(pool));
  cr_assert_eq(mps_mvff_free_size(pool), mps_pool_free_size(pool));
  mps_free(pool, p, 8);
  mps_free(pool, q, 8);
  mps_pool_destroy(pool);
}

Test(deprecated_pools, mvff_debug_takes_options_first, .init = setup, .fini = teardown)
{
  mps_pool_t pool;
  mps_addr_t p;
  static const char fence[] = "FENCEPOST";
  static const char freed[] = "GONE";
  mps_pool_debug_option_s options = {fence, 8, freed, 4};
  cr_assert_eq(mps_pool_create(&pool, arena, mps_class_mvff_debug(), &options, (size_t)65536,
                               (size_t)32, (mps_align_t)16, (mps_bool_t)0, (mps_bool_t)0,
                               (mps_bool_t)1),
               MPS_RES_OK);
  cr_assert_eq(mps_alloc(&p, pool, 32), MPS_RES_OK);
  /* The fence before the block carries the template given. */
  cr_assert_eq(memcmp((char *)p - 16, "FENCEPOSFENCEPOS", 16), 0);
  mps_free(pool, p, 32);
  mps_pool_check_fenceposts(pool);
  mps_pool_destroy(pool);
}

Test(deprecated_pools, mvt_frag_limit_is_a_percentage, .init = setup, .fini = teardown)
{
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t p;
  cr_assert_eq(mps_pool_create(&pool, arena, mps_class_mvt(), (size_t)16, (size_t)64,
                               (size_t)4096, (mps_word_t)32, (mps_word_t)50),
               MPS_RES_OK);
  cr_assert_eq(mps_ap_create(&ap, pool), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, ap, 64), MPS_RES_OK);
    memset(p, 1, 64);
  } while (!mps_commit(ap, p, 64));
  mps_ap_destroy(ap);
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
  /* Over 100 per cent is not a fragmentation limit. */
  cr_assert_eq(mps_pool_create(&pool, arena, mps_class_mvt(), (size_t)16, (size_t)64,
                               (size_t)4096, (mps_word_t)32, (mps_word_t)101),
               MPS_RES_PARAM);
}

Test(deprecated_pools, spare_commit_limit_in_bytes, .init = setup, .fini = teardown)
{
  size_t committed = mps_arena_committed(arena);
  mps_arena_spare_set(arena, 0.5);
  cr_assert_eq(mps_arena_spare_commit_limit(arena), committed / 2);
  mps_arena_spare_commit_limit_set(arena, committed / 4);
  cr_assert_float_eq(mps_arena_spare(arena), (double)(committed / 4) / (double)committed, 1e-9);
  mps_arena_spare_commit_limit_set(arena, committed * 2);
  cr_assert_eq(mps_arena_spare(arena), 1.0);
}

Test(deprecated, spare_commit_limit_key_is_relative_to_the_commit_limit)
{
  mps_arena_t a;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_COMMIT_LIMIT, (size_t)64 << 20);
    MPS_ARGS_ADD(args, MPS_KEY_SPARE_COMMIT_LIMIT, (size_t)16 << 20);
    MPS_ARGS_DONE(args);
    cr_assert_eq(mps_arena_create_k(&a, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_arena_spare(a), 0.25);
  mps_arena_destroy(a);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_COMMIT_LIMIT, (size_t)64 << 20);
    MPS_ARGS_ADD(args, MPS_KEY_SPARE_COMMIT_LIMIT, (size_t)128 << 20);
    cr_assert_eq(mps_arena_create_k(&a, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_arena_spare(a), 1.0);
  mps_arena_destroy(a);
}

Test(deprecated, class_t_names_a_pool_class)
{
  mps_class_t klass = mps_class_mfs();
  cr_assert_eq(klass, mps_class_mfs());
}

/* ---- The automatic classes (deprecated.rst, mps_pool_create and
 * mps_ap_create) ---- */

typedef struct tdep_gc_s {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_root_t root;
  mps_addr_t refs[4];   /* an exact root */
} tdep_gc_s;

static void tdep_open(tdep_gc_s *t)
{
  mps_gen_param_s gens[1] = {{256, 0.5}};
  memset(t, 0, sizeof *t);
  cr_assert_eq(mps_arena_create_k(&t->arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(objfmt_create(&t->fmt, t->arena, objfmt_scan, true), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&t->chain, t->arena, 1, gens), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->root, t->arena, mps_rank_exact(), 0, t->refs,
                                     sizeof t->refs / sizeof t->refs[0]), MPS_RES_OK);
}

static void tdep_close(tdep_gc_s *t)
{
  mps_root_destroy(t->root);
  mps_chain_destroy(t->chain);
  mps_fmt_destroy(t->fmt);
  mps_arena_destroy(t->arena);
}

/* An object with one reference `ref` and one data word `data`, stored in
 * *slot before any other call. */
static void tdep_new(mps_ap_t ap, mps_addr_t *slot, mps_addr_t ref, mps_word_t data)
{
  mps_addr_t p;
  do {
    objfmt_obj obj;
    cr_assert_eq(mps_reserve(&p, ap, 4 * sizeof(mps_word_t)), MPS_RES_OK);
    obj = p;
    obj->header = OBJFMT_HDR(4, OBJFMT_T_OBJ);
    obj->nrefs = 1;
    obj->slot[0] = (mps_word_t)ref;
    obj->slot[1] = data;
  } while (!mps_commit(ap, p, 4 * sizeof(mps_word_t)));
  *slot = p;
}

static mps_addr_t tdep_no_dependent(mps_addr_t addr)
{
  (void)addr;
  return NULL;
}

/* Each class takes its documented arguments in their documented order:
 * the pool is made with the given format (its objects report it), and
 * keeps what the root refers to through a collection. */
static void tdep_class(mps_pool_class_t klass)
{
  tdep_gc_s t;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_fmt_t fmt = NULL;
  mps_pool_debug_option_s options = {"POSTPOST", 8, "FREEFREE", 8};
  mps_res_t res;
  tdep_open(&t);
  if (klass == mps_class_amc() || klass == mps_class_amcz())
    res = mps_pool_create(&pool, t.arena, klass, t.fmt, t.chain);
  else if (klass == mps_class_ams())
    res = mps_pool_create(&pool, t.arena, klass, t.fmt, t.chain, (mps_bool_t)1);
  else if (klass == mps_class_ams_debug())
    res = mps_pool_create(&pool, t.arena, klass, &options, t.fmt, t.chain, (mps_bool_t)1);
  else if (klass == mps_class_awl())
    res = mps_pool_create(&pool, t.arena, klass, t.fmt, tdep_no_dependent);
  else
    res = mps_pool_create(&pool, t.arena, klass, t.fmt);
  cr_assert_eq(res, MPS_RES_OK);
  if (klass == mps_class_ams() || klass == mps_class_ams_debug() || klass == mps_class_awl()
      || klass == mps_class_snc())
    res = mps_ap_create(&ap, pool, mps_rank_exact());
  else
    res = mps_ap_create(&ap, pool);
  cr_assert_eq(res, MPS_RES_OK);
  tdep_new(ap, &t.refs[0], NULL, 77);
  cr_assert_eq(mps_addr_fmt(&fmt, t.arena, t.refs[0]), 1);
  cr_assert_eq(fmt, t.fmt);
  mps_arena_collect(t.arena);
  cr_assert_eq(((objfmt_obj)t.refs[0])->slot[1], 77);
  mps_ap_destroy(ap);
  t.refs[0] = NULL;
  mps_arena_park(t.arena);
  mps_pool_destroy(pool);
  tdep_close(&t);
}

Test(deprecated_gc, amc_takes_format_then_chain) { tdep_class(mps_class_amc()); }
Test(deprecated_gc, amcz_takes_format_then_chain) { tdep_class(mps_class_amcz()); }
Test(deprecated_gc, ams_takes_format_chain_and_ambiguous) { tdep_class(mps_class_ams()); }
Test(deprecated_gc, ams_debug_takes_options_first) { tdep_class(mps_class_ams_debug()); }
Test(deprecated_gc, awl_takes_format_then_find_dependent) { tdep_class(mps_class_awl()); }
Test(deprecated_gc, lo_takes_format) { tdep_class(mps_class_lo()); }
Test(deprecated_gc, snc_takes_format) { tdep_class(mps_class_snc()); }

/* The rank given to mps_ap_create is the point's: a weak AWL point's
 * reference to an otherwise dead AMC object is splatted, an exact one's
 * keeps it. */
static mps_word_t tdep_awl_ref_after_collect(mps_rank_t rank)
{
  tdep_gc_s t;
  mps_pool_t amc, awl;
  mps_ap_t amc_ap, awl_ap;
  mps_word_t ref;
  tdep_open(&t);
  cr_assert_eq(mps_pool_create(&amc, t.arena, mps_class_amc(), t.fmt, t.chain), MPS_RES_OK);
  cr_assert_eq(mps_pool_create(&awl, t.arena, mps_class_awl(), t.fmt,
                               tdep_no_dependent), MPS_RES_OK);
  cr_assert_eq(mps_ap_create(&amc_ap, amc), MPS_RES_OK);
  cr_assert_eq(mps_ap_create(&awl_ap, awl, rank), MPS_RES_OK);
  tdep_new(amc_ap, &t.refs[1], NULL, 5);
  tdep_new(awl_ap, &t.refs[0], t.refs[1], 6);
  t.refs[1] = NULL;
  mps_arena_collect(t.arena);
  ref = ((objfmt_obj)t.refs[0])->slot[0];
  if (ref != 0)
    cr_assert_eq(((objfmt_obj)ref)->slot[1], 5);
  t.refs[0] = NULL;
  mps_arena_park(t.arena);
  mps_ap_destroy(awl_ap);
  mps_ap_destroy(amc_ap);
  mps_pool_destroy(awl);
  mps_pool_destroy(amc);
  tdep_close(&t);
  return ref;
}

Test(deprecated_gc, ap_create_passes_the_rank)
{
  cr_assert_eq(tdep_awl_ref_after_collect(mps_rank_weak()), 0,
               "a weak point's reference kept a dead object");
  cr_assert_neq(tdep_awl_ref_after_collect(mps_rank_exact()), 0,
                "an exact point's reference was splatted");
}

/* And AMS's ambiguous flag reaches the pool: with it, a point of
 * ambiguous rank may be made, whose objects' references pin what they
 * refer to.  The AMC object is referred to only by the AMS object, so it
 * stays where it is if and only if the reference was ambiguous. */
static bool tdep_ams_target_stays(mps_rank_t rank)
{
  tdep_gc_s t;
  mps_pool_t amc, ams;
  mps_ap_t amc_ap, ams_ap;
  mps_word_t target, after;
  tdep_open(&t);
  cr_assert_eq(mps_pool_create(&amc, t.arena, mps_class_amc(), t.fmt, t.chain), MPS_RES_OK);
  cr_assert_eq(mps_pool_create(&ams, t.arena, mps_class_ams(), t.fmt, t.chain, (mps_bool_t)1),
               MPS_RES_OK);
  cr_assert_eq(mps_ap_create(&amc_ap, amc), MPS_RES_OK);
  cr_assert_eq(mps_ap_create(&ams_ap, ams, rank), MPS_RES_OK);
  tdep_new(amc_ap, &t.refs[1], NULL, 5);
  tdep_new(ams_ap, &t.refs[0], t.refs[1], 6);
  target = (mps_word_t)t.refs[1];
  t.refs[1] = NULL;
  mps_arena_collect(t.arena);
  after = ((objfmt_obj)t.refs[0])->slot[0];
  cr_assert_eq(((objfmt_obj)after)->slot[1], 5);
  t.refs[0] = NULL;
  mps_arena_park(t.arena);
  mps_ap_destroy(ams_ap);
  mps_ap_destroy(amc_ap);
  mps_pool_destroy(ams);
  mps_pool_destroy(amc);
  tdep_close(&t);
  return after == target;
}

Test(deprecated_gc, ams_takes_the_ambiguous_flag_and_its_points_the_rank)
{
  cr_assert(tdep_ams_target_stays(mps_rank_ambig()), "an ambiguous reference did not pin");
  cr_assert_not(tdep_ams_target_stays(mps_rank_exact()), "an exact reference pinned");
}

/* mvff.rst: extend_by is the size of block the pool asks the arena for,
 * so the first small allocation takes at least that much. */
Test(deprecated_pools, mvff_extends_by_its_first_argument, .init = setup, .fini = teardown)
{
  mps_pool_t pool;
  mps_addr_t p;
  cr_assert_eq(mps_pool_create(&pool, arena, mps_class_mvff(), (size_t)1 << 18, (size_t)32,
                               (mps_align_t)8, (mps_bool_t)0, (mps_bool_t)0, (mps_bool_t)1),
               MPS_RES_OK);
  cr_assert_eq(mps_alloc(&p, pool, 8), MPS_RES_OK);
  cr_assert_geq(mps_pool_total_size(pool), (size_t)1 << 18);
  mps_free(pool, p, 8);
  mps_pool_destroy(pool);
}

/* mvff.rst: arena_high takes blocks from the top of the arena, slot_high
 * allocates from the top of free blocks.  The two are set differently
 * in each pool, so a mix-up of the two arguments shows.  The arena-high
 * pool is made first: were it low, it would take the lowest grains. */
Test(deprecated_pools, mvff_slot_high_and_arena_high_are_distinct, .init = setup,
     .fini = teardown)
{
  mps_pool_t top, bottom;
  mps_addr_t t1, t2, b1, b2;
  cr_assert_eq(mps_pool_create(&top, arena, mps_class_mvff(), (size_t)65536, (size_t)32,
                               (mps_align_t)8, (mps_bool_t)0, (mps_bool_t)1, (mps_bool_t)1),
               MPS_RES_OK);
  cr_assert_eq(mps_pool_create(&bottom, arena, mps_class_mvff(), (size_t)65536, (size_t)32,
                               (mps_align_t)8, (mps_bool_t)1, (mps_bool_t)0, (mps_bool_t)1),
               MPS_RES_OK);
  cr_assert_eq(mps_alloc(&t1, top, 8), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&t2, top, 8), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b1, bottom, 8), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b2, bottom, 8), MPS_RES_OK);
  cr_assert_gt((uintptr_t)t1, (uintptr_t)b1, "the arena-high pool is below the other");
  cr_assert_gt((uintptr_t)t2, (uintptr_t)t1, "slot-low allocation went down");
  cr_assert_lt((uintptr_t)b2, (uintptr_t)b1, "slot-high allocation went up");
  mps_free(top, t1, 8);
  mps_free(top, t2, 8);
  mps_free(bottom, b1, 8);
  mps_free(bottom, b2, 8);
  mps_pool_destroy(bottom);
  mps_pool_destroy(top);
}

/* deprecated.rst: the MVT fragmentation limit is a percentage, so 100 is
 * the largest allowed. */
Test(deprecated_pools, mvt_frag_limit_of_100_is_allowed, .init = setup, .fini = teardown)
{
  mps_pool_t pool;
  cr_assert_eq(mps_pool_create(&pool, arena, mps_class_mvt(), (size_t)16, (size_t)64,
                               (size_t)4096, (mps_word_t)32, (mps_word_t)100),
               MPS_RES_OK);
  mps_pool_destroy(pool);
}

/* The debugging options passed first to mps_pool_create reach the AMS
 * debug pool: the space of a dead object is laid with the free-space
 * template given (debugging.rst). */
Test(deprecated_gc, ams_debug_options_reach_the_pool)
{
  static const char tpl[] = "FREEfree";
  mps_pool_debug_option_s options = {NULL, 0, tpl, 8};
  tdep_gc_s t;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t dead;
  tdep_open(&t);
  cr_assert_eq(mps_pool_create(&pool, t.arena, mps_class_ams_debug(), &options, t.fmt,
                               t.chain, (mps_bool_t)0), MPS_RES_OK);
  cr_assert_eq(mps_ap_create(&ap, pool, mps_rank_exact()), MPS_RES_OK);
  mps_arena_park(t.arena);
  tdep_new(ap, &t.refs[0], NULL, 1);
  tdep_new(ap, &t.refs[1], NULL, 2);
  dead = t.refs[1];
  t.refs[1] = NULL;
  mps_ap_destroy(ap);   /* its buffer no longer holds the dead object */
  mps_arena_collect(t.arena);
  cr_assert_eq(memcmp(dead, tpl, 8), 0, "the dead object was not laid with the template");
  cr_assert_eq(((objfmt_obj)t.refs[0])->slot[1], 1);
  t.refs[0] = NULL;
  mps_arena_park(t.arena);
  mps_pool_destroy(pool);
  tdep_close(&t);
}
