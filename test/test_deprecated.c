/* Unit tests for the deprecated interface: variable-argument creation of
 * arenas, pools and allocation points, the spare commit limit in bytes,
 * MPS_ARGS_DONE and the old MVFF size functions (topic/deprecated.rst). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsacl.h"
#include "../include/mpsavm.h"
#include "../include/mpscmfs.h"
#include "../include/mpscmvff.h"
#include "../include/mpscmvt.h"

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
