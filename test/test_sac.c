/* Unit tests for segregated allocation caches (mps_sac_*, the FAST
 * macros): class-table validation, blocks from and back to the pool,
 * reuse without pool traffic, the cached_count bound, flush and destroy,
 * overlarge requests, failure at the commit limit, and misuse.
 *
 * Besides MFS and MVFF, the tests use a pool class of their own ("counting pool")
 * that gives every block its own grains and counts its calls, so that
 * pool traffic can be observed exactly and blocks may be of any size. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmfs.h"
#include "../include/mpscmvff.h"
#include "../include/mpscmvt.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/pool/sac.h"
#include "support/checks.h"
#include "support/reports.h"

static mps_arena_t arena;

static void setup(void)
{
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
}

static void teardown(void)
{
  mps_arena_destroy(arena);
}

TestSuite(sac, .init = setup, .fini = teardown);

/* The counting pool. */

typedef struct counting_pool_s {
  mps_pool_s pool;
  size_t allocs, frees;     /* calls of the class's alloc and free */
  size_t last_size;         /* size of the last alloc or free call */
  size_t live;              /* bytes handed out and not freed */
} counting_pool_s;

static counting_pool_s *counting_of(Pool pool)
{
  return PARENT(counting_pool_s, pool, pool);
}

static Res counting_init(Pool pool, mps_arg_s args[])
{
  counting_pool_s *cp = counting_of(pool);
  (void)args;
  cp->allocs = cp->frees = cp->last_size = cp->live = 0;
  return MPS_RES_OK;
}

static void counting_finish(Pool pool)
{
  (void)pool;   /* the tests free every block before destroying the pool */
}

static Res counting_alloc(Addr *p_o, Pool pool, Size size)
{
  counting_pool_s *cp = counting_of(pool);
  Size grains = size_align_up(size, pool->arena->grain_size);
  Res res = arena_alloc(p_o, pool->arena, grains, pool);
  if (res != MPS_RES_OK)
    return res;
  ++cp->allocs;
  cp->last_size = size;
  cp->live += size;
  return MPS_RES_OK;
}

static void counting_free(Pool pool, Addr old, Size size)
{
  counting_pool_s *cp = counting_of(pool);
  arena_free(pool->arena, old, size_align_up(size, pool->arena->grain_size), pool);
  ++cp->frees;
  cp->last_size = size;
  cp->live -= size;
}

static struct mps_pool_class_s counting_class = {
  .sig = POOL_CLASS_SIG,
  .name = "counting",
  .size = sizeof(counting_pool_s),
  .init = counting_init,
  .finish = counting_finish,
  .alloc = counting_alloc,
  .free = counting_free,
};

static mps_pool_t make_counting(void)
{
  mps_pool_t pool;
  cr_assert_eq(mps_pool_create_k(&pool, arena, &counting_class, mps_args_none), MPS_RES_OK);
  return pool;
}

static counting_pool_s *counts(mps_pool_t pool)
{
  return counting_of(pool);
}

static mps_pool_t make_mfs(size_t unit, size_t extend_by)
{
  mps_pool_t pool;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, unit);
    if (extend_by != 0)
      MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, extend_by);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mfs(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  return pool;
}

static size_t cached(mps_sac_t sac, size_t index)
{
  return sac_cached(PARENT(sac_s, pub, sac), index);
}

static mps_sac_t make_sac(mps_pool_t pool, size_t n, mps_sac_class_s *classes)
{
  mps_sac_t sac;
  cr_assert_eq(mps_sac_create(&sac, pool, n, classes), MPS_RES_OK);
  return sac;
}

Test(sac, bad_class_tables_are_refused)
{
  mps_pool_t pool = make_mfs(256, 0);
  mps_sac_t sac;
  mps_sac_class_s ok[2] = {{16, 4, 1}, {64, 4, 1}};
  /* MFS aligns to MPS_PF_ALIGN: the second size is off it by half a word. */
  mps_sac_class_s unaligned[2] = {{2 * MPS_PF_ALIGN, 4, 1}, {2 * MPS_PF_ALIGN + sizeof(void *) / 2, 4, 1}};
  mps_sac_class_s descending[2] = {{64, 4, 1}, {16, 4, 1}};
  mps_sac_class_s equal[2] = {{32, 4, 1}, {32, 4, 1}};
  mps_sac_class_s tiny[1] = {{0, 4, 1}};
  mps_sac_class_s many[MPS_SAC_CLASS_LIMIT + 1];
  size_t i;

  cr_assert_eq(mps_sac_create(&sac, pool, 0, ok), MPS_RES_PARAM);
  cr_assert_eq(mps_sac_create(&sac, pool, 1, NULL), MPS_RES_PARAM);
  cr_assert_eq(mps_sac_create(&sac, pool, 2, unaligned), MPS_RES_PARAM);
  cr_assert_eq(mps_sac_create(&sac, pool, 2, descending), MPS_RES_PARAM);
  cr_assert_eq(mps_sac_create(&sac, pool, 2, equal), MPS_RES_PARAM);
  cr_assert_eq(mps_sac_create(&sac, pool, 1, tiny), MPS_RES_PARAM);
  for (i = 0; i < MPS_SAC_CLASS_LIMIT + 1; ++i) {
    many[i].mps_block_size = (i + 1) * MPS_PF_ALIGN;
    many[i].mps_cached_count = 2;
    many[i].mps_frequency = 1;
  }
  /* Too many classes is MPS_RES_LIMIT (cache.rst); the limit itself is
   * accepted. */
  cr_assert_eq(mps_sac_create(&sac, pool, MPS_SAC_CLASS_LIMIT + 1, many), MPS_RES_LIMIT);
  cr_assert_eq(mps_sac_create(&sac, pool, MPS_SAC_CLASS_LIMIT, many), MPS_RES_OK);
  mps_sac_destroy(sac);
  cr_assert_eq(mps_sac_create(&sac, pool, 2, ok), MPS_RES_OK);
  mps_sac_destroy(sac);
  /* Nothing was taken from the pool by any of this. */
  cr_assert_eq(mps_pool_total_size(pool), 0);
  mps_pool_destroy(pool);
}

/* cache.rst: a cache goes on a pool with mps_alloc and mps_free.  MVT
 * allocates only through allocation points: refused, with nothing made. */
Test(sac, a_pool_without_mps_alloc_is_refused)
{
  mps_pool_t pool;
  mps_sac_t sac = NULL;
  mps_sac_class_s ok[1] = {{64, 4, 1}};
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvt(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_sac_create(&sac, pool, 1, ok), MPS_RES_UNIMPL);
  cr_assert_null(sac);
  mps_pool_destroy(pool);   /* no cache is left on it */
}

/* A pool class like the counting pool but aligned to half a pointer:
 * its blocks could not all hold the link of a cache's stack. */
static Res narrow_init(Pool pool, mps_arg_s args[])
{
  pool->alignment = sizeof(void *) / 2;
  return counting_init(pool, args);
}

/* cache.rst: the blocks a cache keeps hold its stack's link, so a pool
 * whose alignment is below a pointer is refused, with nothing made. */
Test(sac, a_pool_aligned_below_a_pointer_is_refused)
{
  struct mps_pool_class_s narrow_class = counting_class;
  mps_sac_class_s ok[1] = {{64, 4, 1}};
  mps_pool_t pool;
  mps_sac_t sac = NULL;
  narrow_class.name = "narrow";
  narrow_class.init = narrow_init;
  cr_assert_eq(mps_pool_create_k(&pool, arena, &narrow_class, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_sac_create(&sac, pool, 1, ok), MPS_RES_PARAM);
  cr_assert_null(sac);
  mps_pool_destroy(pool);   /* no cache is left on it */
}

/* A cache whose descriptor the arena refuses is not made: the arena's
 * result comes back, the arena is left usable (its lock released), and
 * the next attempt succeeds. */
Test(sac, a_cache_the_arena_cannot_describe_is_not_made)
{
  mps_pool_t pool = make_counting();
  mps_sac_class_s classes[1] = {{64, 4, 1}};
  mps_sac_t sac = NULL;
  mps_addr_t p;
  arena_fail_after((Arena)arena, 1);
  cr_assert_eq(mps_sac_create(&sac, pool, 1, classes), MPS_RES_MEMORY);
  arena_fail_after((Arena)arena, 0);
  cr_assert_null(sac);
  sac = make_sac(pool, 1, classes);
  cr_assert_eq(mps_sac_alloc(&p, sac, 64, 0), MPS_RES_OK);
  mps_sac_free(sac, p, 64);
  mps_sac_destroy(sac);
  cr_assert_eq(counts(pool)->live, 0);
  mps_pool_destroy(pool);
}

Test(sac, function_blocks_come_from_the_pool_and_are_reused)
{
  mps_pool_t pool = make_mfs(64, 0), owner;
  mps_sac_class_s classes[3] = {{16, 8, 1}, {32, 8, 1}, {64, 8, 1}};
  mps_sac_t sac = make_sac(pool, 3, classes);
  mps_addr_t a, b, c, again;
  size_t free_before;

  cr_assert_eq(mps_sac_alloc(&a, sac, 1, 0), MPS_RES_OK);
  cr_assert_eq(mps_sac_alloc(&b, sac, 17, 0), MPS_RES_OK);
  cr_assert_eq(mps_sac_alloc(&c, sac, 64, 0), MPS_RES_OK);
  cr_assert(mps_addr_pool(&owner, arena, a) && owner == pool);
  cr_assert(mps_addr_pool(&owner, arena, b) && owner == pool);
  cr_assert(mps_addr_pool(&owner, arena, c) && owner == pool);
  cr_assert(a != b && b != c && a != c);
  memset(a, 0xA1, 16);
  memset(b, 0xB2, 32);
  memset(c, 0xC3, 64);
  cr_assert_eq(((unsigned char *)a)[15], 0xA1);
  cr_assert_eq(((unsigned char *)b)[31], 0xB2);

  free_before = mps_pool_free_size(pool);
  mps_sac_free(sac, b, 17);
  cr_assert_eq(cached(sac, 1), 1);
  cr_assert_eq(mps_pool_free_size(pool), free_before);   /* kept, not returned */
  /* A request anywhere in (16, 32] is served from class 1: the same block. */
  cr_assert_eq(mps_sac_alloc(&again, sac, 30, 0), MPS_RES_OK);
  cr_assert_eq(again, b);
  cr_assert_eq(cached(sac, 1), 0);
  cr_assert_eq(mps_pool_free_size(pool), free_before);

  mps_sac_free(sac, a, 1);
  mps_sac_free(sac, again, 30);
  mps_sac_free(sac, c, 64);
  cr_assert_eq(cached(sac, 0) + cached(sac, 1) + cached(sac, 2), 3);
  mps_sac_destroy(sac);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

Test(sac, fast_macros_pop_and_push_the_cache)
{
  mps_pool_t pool = make_counting(), owner;
  mps_sac_class_s classes[2] = {{32, 4, 1}, {128, 4, 1}};
  mps_sac_t sac = make_sac(pool, 2, classes);
  mps_addr_t p[4], q;
  mps_res_t res;
  size_t i;

  /* Misses: the macro falls back to the function, which asks the pool
   * for a block of the class's size. */
  for (i = 0; i < 4; ++i) {
    MPS_SAC_ALLOC_FAST(res, p[i], sac, 100, 0);
    cr_assert_eq(res, MPS_RES_OK);
    cr_assert(mps_addr_pool(&owner, arena, p[i]) && owner == pool);
    cr_assert_eq(counts(pool)->last_size, 128);
    memset(p[i], (int)i, 100);
  }
  cr_assert_eq(counts(pool)->allocs, 4);
  for (i = 0; i < 4; ++i)
    MPS_SAC_FREE_FAST(sac, p[i], 100);
  cr_assert_eq(cached(sac, 1), 4);
  cr_assert_eq(counts(pool)->frees, 0);
  /* Hits: last freed first, no pool calls. */
  for (i = 4; i > 0; --i) {
    MPS_SAC_ALLOC_FAST(res, q, sac, 65, 0);
    cr_assert_eq(res, MPS_RES_OK);
    cr_assert_eq(q, p[i - 1]);
  }
  cr_assert_eq(counts(pool)->allocs, 4);
  cr_assert_eq(cached(sac, 1), 0);
  /* Blocks from the macros may be freed by the function and vice versa. */
  for (i = 0; i < 4; ++i)
    mps_sac_free(sac, p[i], 128);
  cr_assert_eq(cached(sac, 1), 4);
  cr_assert_eq(mps_sac_alloc(&q, sac, 128, 0), MPS_RES_OK);
  cr_assert_eq(q, p[3]);
  MPS_SAC_FREE_FAST(sac, q, 128);
  mps_sac_destroy(sac);
  cr_assert_eq(counts(pool)->frees, 4);
  cr_assert_eq(counts(pool)->live, 0);
  mps_pool_destroy(pool);
}

Test(sac, reuse_makes_no_pool_traffic)
{
  enum { N = 10 };
  mps_pool_t pool = make_counting();
  mps_sac_class_s classes[1] = {{32, N, 1}};
  mps_sac_t sac = make_sac(pool, 1, classes);
  mps_addr_t p[N], q[N];
  size_t i, j, round;

  for (i = 0; i < N; ++i)
    cr_assert_eq(mps_sac_alloc(&p[i], sac, 32, 0), MPS_RES_OK);
  for (round = 0; round < 5; ++round) {
    for (i = 0; i < N; ++i)
      mps_sac_free(sac, p[i], 32);
    for (i = 0; i < N; ++i)
      cr_assert_eq(mps_sac_alloc(&q[i], sac, 32, 0), MPS_RES_OK);
    /* The same blocks, in some order. */
    for (i = 0; i < N; ++i) {
      bool found = false;
      for (j = 0; j < N; ++j)
        found = found || q[i] == p[j];
      cr_assert(found);
    }
    memcpy(p, q, sizeof p);
  }
  cr_assert_eq(counts(pool)->allocs, N);
  cr_assert_eq(counts(pool)->frees, 0);
  for (i = 0; i < N; ++i)
    mps_sac_free(sac, p[i], 32);
  mps_sac_destroy(sac);
  cr_assert_eq(counts(pool)->frees, N);
  mps_pool_destroy(pool);
}

Test(sac, cached_count_bounds_each_class)
{
  mps_pool_t pool = make_counting();
  mps_sac_class_s classes[3] = {{16, 3, 5}, {32, 0, 1}, {64, 1, 1}};
  mps_sac_t sac = make_sac(pool, 3, classes);
  mps_addr_t p[5], z, w[2];
  mps_res_t res;
  size_t i;

  for (i = 0; i < 5; ++i)
    cr_assert_eq(mps_sac_alloc(&p[i], sac, 16, 0), MPS_RES_OK);
  for (i = 0; i < 5; ++i) {
    if (i % 2 == 0)
      mps_sac_free(sac, p[i], 16);
    else
      MPS_SAC_FREE_FAST(sac, p[i], 16);
    cr_assert_eq(cached(sac, 0), i < 3 ? i + 1 : 3);
  }
  /* The two frees beyond the bound went straight back, at class size. */
  cr_assert_eq(counts(pool)->frees, 2);
  cr_assert_eq(counts(pool)->last_size, 16);

  /* A cached_count of zero caches nothing. */
  cr_assert_eq(mps_sac_alloc(&z, sac, 20, 0), MPS_RES_OK);
  MPS_SAC_FREE_FAST(sac, z, 20);
  cr_assert_eq(cached(sac, 1), 0);
  cr_assert_eq(counts(pool)->frees, 3);
  cr_assert_eq(counts(pool)->last_size, 32);

  for (i = 0; i < 2; ++i) {
    MPS_SAC_ALLOC_FAST(res, w[i], sac, 64, 0);
    cr_assert_eq(res, MPS_RES_OK);
  }
  MPS_SAC_FREE_FAST(sac, w[0], 64);
  MPS_SAC_FREE_FAST(sac, w[1], 64);
  cr_assert_eq(cached(sac, 2), 1);
  cr_assert_eq(counts(pool)->frees, 4);
  cr_assert_eq(cached(sac, 0), 3);
  mps_sac_destroy(sac);
  cr_assert_eq(counts(pool)->live, 0);
  mps_pool_destroy(pool);
}

/* A block the cache does not keep goes back to the pool at its class's
 * size, the size the pool handed it out at, not the size the client
 * freed it with (here smaller even once aligned). */
Test(sac, a_block_the_class_cannot_keep_goes_back_at_the_class_size)
{
  mps_pool_t pool = make_counting();
  mps_sac_class_s classes[1] = {{128, 0, 1}};
  mps_sac_t sac = make_sac(pool, 1, classes);
  mps_addr_t p;
  cr_assert_eq(mps_sac_alloc(&p, sac, 40, 0), MPS_RES_OK);
  cr_assert_eq(counts(pool)->last_size, 128);
  mps_sac_free(sac, p, 40);
  cr_assert_eq(counts(pool)->frees, 1);
  cr_assert_eq(counts(pool)->last_size, 128);
  cr_assert_eq(counts(pool)->live, 0);
  mps_sac_destroy(sac);
  mps_pool_destroy(pool);
}

Test(sac, flush_returns_every_cached_block)
{
  enum { N = 40 };
  mps_pool_t pool = make_mfs(64, 0);
  mps_sac_class_s classes[2] = {{32, N, 1}, {64, N, 1}};
  mps_sac_t sac = make_sac(pool, 2, classes);
  mps_addr_t p[N];
  size_t i, free_before, total;

  cr_assert_eq(mps_sac_alloc(&p[0], sac, 8, 0), MPS_RES_OK);   /* gets an extent */
  mps_sac_free(sac, p[0], 8);
  mps_sac_flush(sac);
  total = mps_pool_total_size(pool);
  free_before = mps_pool_free_size(pool);
  cr_assert_eq(free_before, total);
  for (i = 0; i < N; ++i)
    cr_assert_eq(mps_sac_alloc(&p[i], sac, i % 2 ? 64 : 32, 0), MPS_RES_OK);
  for (i = 0; i < N; ++i)
    mps_sac_free(sac, p[i], i % 2 ? 64 : 32);
  cr_assert_eq(cached(sac, 0), N / 2);
  cr_assert_eq(cached(sac, 1), N / 2);
  cr_assert_eq(mps_pool_total_size(pool), total);
  cr_assert_eq(mps_pool_free_size(pool), free_before - N * 64);
  mps_sac_flush(sac);
  cr_assert_eq(cached(sac, 0), 0);
  cr_assert_eq(cached(sac, 1), 0);
  cr_assert_eq(mps_pool_free_size(pool), free_before);
  /* Still usable after a flush. */
  cr_assert_eq(mps_sac_alloc(&p[0], sac, 40, 0), MPS_RES_OK);
  mps_sac_free(sac, p[0], 40);
  mps_sac_destroy(sac);
  cr_assert_eq(mps_pool_free_size(pool), free_before);
  mps_pool_destroy(pool);
}

Test(sac, overlarge_requests_bypass_the_cache)
{
  mps_pool_t pool = make_counting();
  mps_sac_class_s classes[2] = {{32, 4, 1}, {64, 4, 1}};
  mps_sac_t sac = make_sac(pool, 2, classes);
  mps_addr_t p, q;
  mps_res_t res;

  cr_assert_eq(mps_sac_alloc(&p, sac, 100, 0), MPS_RES_OK);
  cr_assert_eq(counts(pool)->allocs, 1);
  cr_assert_eq(counts(pool)->last_size, 112 - (MPS_PF_ALIGN == 8 ? 8 : 0));   /* own size, aligned */
  memset(p, 0x5A, 100);
  mps_sac_free(sac, p, 100);
  cr_assert_eq(counts(pool)->frees, 1);
  cr_assert_eq(cached(sac, 0) + cached(sac, 1), 0);
  MPS_SAC_ALLOC_FAST(res, q, sac, 5000, 0);
  cr_assert_eq(res, MPS_RES_OK);
  cr_assert_eq(counts(pool)->allocs, 2);
  cr_assert_eq(counts(pool)->last_size, 5008 - (MPS_PF_ALIGN == 8 ? 8 : 0));
  MPS_SAC_FREE_FAST(sac, q, 5000);
  cr_assert_eq(counts(pool)->frees, 2);
  cr_assert_eq(counts(pool)->live, 0);
  mps_sac_destroy(sac);
  mps_pool_destroy(pool);
}

Test(sac, destroy_with_cached_blocks_returns_them)
{
  mps_pool_t pool = make_mfs(48, 0);
  mps_sac_class_s classes[1] = {{48, 100, 1}};
  mps_sac_t sac = make_sac(pool, 1, classes);
  mps_addr_t p[60], kept;
  size_t i;

  for (i = 0; i < 60; ++i)
    cr_assert_eq(mps_sac_alloc(&p[i], sac, 48, 0), MPS_RES_OK);
  for (i = 0; i < 60; ++i)
    mps_sac_free(sac, p[i], 48);
  cr_assert_eq(mps_sac_alloc(&kept, sac, 48, 0), MPS_RES_OK);
  *(int *)kept = 1234;
  mps_sac_destroy(sac);
  /* Everything but the block still allocated went back. */
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool) - 48);
  cr_assert_eq(*(int *)kept, 1234);   /* destroying the cache leaves it alone */
  mps_free(pool, kept, 48);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

Test(sac, commit_limit_on_a_miss_leaves_the_cache_usable)
{
  mps_pool_t pool;
  mps_sac_class_s classes[1] = {{64, 8, 1}};
  mps_sac_t sac;
  mps_addr_t first, p, q;
  size_t units, i;
  mps_res_t res;

  mps_arena_spare_set(arena, 0.0);   /* no spare memory to fall back on */
  pool = make_mfs(64, 4096);
  sac = make_sac(pool, 1, classes);
  cr_assert_eq(mps_sac_alloc(&first, sac, 64, 0), MPS_RES_OK);
  units = mps_pool_total_size(pool) / 64;
  for (i = 1; i < units; ++i)
    cr_assert_eq(mps_sac_alloc(&p, sac, 64, 0), MPS_RES_OK);   /* leaked until destroy */
  cr_assert_eq(mps_pool_free_size(pool), 0);

  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  res = mps_sac_alloc(&p, sac, 64, 0);
  cr_assert_eq(res, MPS_RES_COMMIT_LIMIT);
  MPS_SAC_ALLOC_FAST(res, p, sac, 64, 0);
  cr_assert_eq(res, MPS_RES_COMMIT_LIMIT);
  cr_assert_eq(cached(sac, 0), 0);
  cr_assert(sac_check(PARENT(sac_s, pub, sac)));

  /* Still usable: a freed block is cached and handed out again. */
  mps_sac_free(sac, first, 64);
  MPS_SAC_ALLOC_FAST(res, q, sac, 64, 0);
  cr_assert_eq(res, MPS_RES_OK);
  cr_assert_eq(q, first);

  cr_assert_eq(mps_arena_commit_limit_set(arena, (size_t)-1), MPS_RES_OK);
  cr_assert_eq(mps_sac_alloc(&p, sac, 64, 0), MPS_RES_OK);
  mps_sac_free(sac, p, 64);
  mps_sac_destroy(sac);
  mps_pool_destroy(pool);
}

Test(sac, caches_with_the_same_classes_share_blocks)
{
  mps_pool_t pool = make_counting();
  mps_sac_class_s classes[2] = {{32, 4, 1}, {256, 4, 1}};
  mps_sac_t a = make_sac(pool, 2, classes), b = make_sac(pool, 2, classes);
  mps_addr_t p, q;
  cr_assert_eq(mps_sac_alloc(&p, a, 200, 0), MPS_RES_OK);
  mps_sac_free(b, p, 200);
  cr_assert_eq(cached(b, 1), 1);
  cr_assert_eq(cached(a, 1), 0);
  cr_assert_eq(mps_sac_alloc(&q, b, 256, 0), MPS_RES_OK);
  cr_assert_eq(q, p);
  mps_sac_free(a, q, 256);
  mps_sac_destroy(a);
  mps_sac_destroy(b);
  cr_assert_eq(counts(pool)->live, 0);
  mps_pool_destroy(pool);
}

Test(sac, misuse_is_reported_and_refused)
{
  mps_pool_t pool = make_counting(), other = make_counting();
  mps_sac_class_s classes[1] = {{64, 4, 1}};
  mps_sac_t sac = make_sac(pool, 1, classes);
  mps_addr_t p = NULL, foreign;

  reports_install();
  cr_assert_eq(mps_sac_alloc(&p, sac, 0, 0), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  mps_sac_free(sac, NULL, 64);
  TEST_ASSERT_REPORTED(reports_seen() - TEST_REPORTS(1));
  cr_assert_eq(cached(sac, 0), 0);

  /* A block of another pool is caught when it reaches the pool, and not
   * handed to the wrong one. */
  reports_install();
  cr_assert_eq(mps_alloc(&foreign, other, 64), MPS_RES_OK);
  mps_sac_free(sac, foreign, 64);
  cr_assert_eq(reports_seen(), 0);       /* cheap path: not looked at yet */
  mps_sac_flush(sac);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert_eq(counts(pool)->frees, 0);
  cr_assert_eq(counts(other)->frees, 0);
  reports_install_abort();
  mps_free(other, foreign, 64);
  mps_sac_destroy(sac);
  mps_pool_destroy(pool);
  mps_pool_destroy(other);
}

/* A free of a misaligned address, or of zero bytes, is reported and
 * refused: nothing is cached or given to the pool, and the block is
 * still the client's to free properly. */
Test(sac, frees_of_misaligned_or_empty_blocks_are_refused)
{
  mps_pool_t pool = make_counting();
  mps_sac_class_s classes[1] = {{64, 4, 1}};
  mps_sac_t sac = make_sac(pool, 1, classes);
  mps_addr_t p, q;
  cr_assert_eq(mps_sac_alloc(&p, sac, 64, 0), MPS_RES_OK);
  reports_install();
  mps_sac_free(sac, (char *)p + 1, 64);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  mps_sac_free(sac, p, 0);
  cr_assert_eq(reports_seen(), TEST_REPORTS(2));
  reports_install_abort();
  cr_assert_eq(cached(sac, 0), 0);
  cr_assert_eq(counts(pool)->frees, 0);
  mps_sac_free(sac, p, 64);
  cr_assert_eq(mps_sac_alloc(&q, sac, 64, 0), MPS_RES_OK);
  cr_assert_eq(q, p);
  mps_sac_free(sac, q, 64);
  mps_sac_destroy(sac);
  cr_assert_eq(counts(pool)->live, 0);
  mps_pool_destroy(pool);
}

/* For the double-free tests: a cache over a new counting pool, with one
 * class of 64-byte blocks and room for `room`, and a block p from it. */
static mps_sac_t make_one_class_with_a_block(mps_pool_t *pool_o, size_t room,
                                             mps_addr_t *p_o)
{
  mps_sac_class_s classes[1] = {{64, room, 1}};
  mps_sac_t sac;
  *pool_o = make_counting();
  sac = make_sac(*pool_o, 1, classes);
  cr_assert_eq(mps_sac_alloc(p_o, sac, 64, 0), MPS_RES_OK);
  return sac;
}

/* The end of a test of one refused free, made with reports_install():
 * the cache and pool go, every block back in the pool, with no report
 * but the one. */
static void destroy_after_one_report(mps_pool_t pool, mps_sac_t sac)
{
  mps_sac_destroy(sac);
  cr_assert_eq(counts(pool)->live, 0);
  mps_pool_destroy(pool);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
}

/* p is on its class's stack (64 bytes, room for 4) and freed again: the
 * free is reported and refused, so the stack is unchanged and p comes out
 * of the cache once, not twice. */
static void second_free_is_refused(mps_pool_t pool, mps_sac_t sac, mps_addr_t p)
{
  mps_addr_t q, r;
  reports_install();
  mps_sac_free(sac, p, 64);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(cached(sac, 0), 1);   /* refused: the stack is unchanged */
  cr_assert_eq(mps_sac_alloc(&q, sac, 64, 0), MPS_RES_OK);
  cr_assert_eq(mps_sac_alloc(&r, sac, 64, 0), MPS_RES_OK);
  cr_assert_eq(q, p);
  cr_assert_neq(r, q);
  mps_sac_free(sac, q, 64);
  mps_sac_free(sac, r, 64);
  destroy_after_one_report(pool, sac);
}

/* Caught in hot too (by the mark mps_sac_free leaves in the block), and
 * refused, so the block is not handed out twice. */
Test(sac, double_free_into_the_cache_is_caught_and_refused)
{
  mps_pool_t pool;
  mps_sac_t sac;
  mps_addr_t p;
#if CHECK_LEVEL < 1
  cr_skip_test("double frees are detected in the checking varieties");
#endif
  sac = make_one_class_with_a_block(&pool, 4, &p);
  mps_sac_free(sac, p, 64);
  second_free_is_refused(pool, sac, p);
}

/* A block freed twice whose class filled up in between: the second free
 * would give the pool a block still on the stack, which the cache would
 * then hand out while the pool does too.  Caught and refused like a
 * double free into a class with room. */
Test(sac, double_free_into_a_full_class_is_caught_and_refused)
{
  mps_pool_t pool;
  mps_sac_t sac;
  mps_addr_t p, q, r;
  size_t frees;
#if CHECK_LEVEL < 1
  cr_skip_test("double frees are detected in the checking varieties");
#endif
  sac = make_one_class_with_a_block(&pool, 2, &p);
  cr_assert_eq(mps_sac_alloc(&q, sac, 64, 0), MPS_RES_OK);
  mps_sac_free(sac, p, 64);
  mps_sac_free(sac, q, 64);
  cr_assert_eq(cached(sac, 0), 2, "the class is full");
  frees = counts(pool)->frees;
  reports_install();
  mps_sac_free(sac, p, 64);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(counts(pool)->frees, frees, "refused: the pool did not get it");
  cr_assert_eq(cached(sac, 0), 2);
  cr_assert_eq(mps_sac_alloc(&r, sac, 64, 0), MPS_RES_OK);
  cr_assert_eq(r, q);
  cr_assert_eq(mps_sac_alloc(&r, sac, 64, 0), MPS_RES_OK);
  cr_assert_eq(r, p);
  mps_sac_free(sac, p, 64);
  mps_sac_free(sac, q, 64);
  destroy_after_one_report(pool, sac);
}

/* MPS_SAC_FREE_FAST pushes a block without marking it, so only cool,
 * which looks for every freed block on its class's stack, catches it
 * freed again by mps_sac_free; refused, the stack is unchanged. */
Test(sac, cool_catches_a_second_free_of_a_block_the_fast_macro_pushed)
{
  mps_pool_t pool;
  mps_sac_t sac;
  mps_addr_t p;
#if CHECK_LEVEL < 2
  cr_skip_test("only cool looks for unmarked blocks on the stack");
#endif
  sac = make_one_class_with_a_block(&pool, 4, &p);
  MPS_SAC_FREE_FAST(sac, p, 64);
  cr_assert_eq(cached(sac, 0), 1);
  second_free_is_refused(pool, sac, p);
}

/* A class of one word has room only for the stack's link: pushing a
 * block must write nothing past it, where the next block lies (MVFF
 * aligned to a word places blocks of one word side by side). */
Test(sac, a_one_word_class_writes_only_the_link)
{
  mps_pool_t pool;
  mps_sac_class_s classes[1] = {{sizeof(void *), 4, 1}};
  mps_sac_t sac;
  mps_addr_t a, b, q;
  size_t i;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ALIGN, (mps_align_t)sizeof(void *));
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  sac = make_sac(pool, 1, classes);
  cr_assert_eq(mps_sac_alloc(&a, sac, sizeof(void *), 0), MPS_RES_OK);
  cr_assert_eq(mps_sac_alloc(&b, sac, sizeof(void *), 0), MPS_RES_OK);
  cr_assert_eq((char *)b, (char *)a + sizeof(void *), "first fit puts them side by side");
  memset(b, 0x6B, sizeof(void *));
  mps_sac_free(sac, a, sizeof(void *));
  for (i = 0; i < sizeof(void *); ++i)
    cr_assert_eq(((unsigned char *)b)[i], 0x6B, "byte %zu of the next block", i);
  cr_assert_eq(mps_sac_alloc(&q, sac, sizeof(void *), 0), MPS_RES_OK);
  cr_assert_eq(q, a);
  mps_sac_free(sac, q, sizeof(void *));
  mps_sac_free(sac, b, sizeof(void *));
  mps_sac_destroy(sac);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

/* Blocks freed and reused, whatever the client left in them, free
 * without a report. */
Test(sac, frees_of_live_blocks_are_never_reported)
{
  mps_pool_t pool = make_counting();
  mps_sac_class_s classes[1] = {{64, 16, 1}};
  mps_sac_t sac = make_sac(pool, 1, classes);
  mps_addr_t b[8];
  size_t i, round;
  reports_install();
  for (round = 0; round < 3; ++round) {
    for (i = 0; i < 8; ++i) {
      cr_assert_eq(mps_sac_alloc(&b[i], sac, 64, 0), MPS_RES_OK);
      if (i % 2 == 0)
        memset(b[i], (int)(i + round), 64);
    }
    for (i = 0; i < 8; ++i)
      mps_sac_free(sac, b[i], 64);
  }
  mps_sac_destroy(sac);
  mps_pool_destroy(pool);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 0);
}

/* Refused, not just reported: the cache's handle stays good. */
Test(sac, destroying_the_pool_under_a_live_cache_is_refused)
{
  mps_pool_t pool;
  mps_sac_class_s classes[1] = {{64, 4, 1}};
  mps_sac_t sac;
  mps_addr_t p;
#if CHECK_LEVEL < 1
  cr_skip_test("reported in the checking varieties");
#endif
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  sac = make_sac(pool, 1, classes);
  reports_install();
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(mps_sac_alloc(&p, sac, 64, 0), MPS_RES_OK);
  mps_sac_free(sac, p, 64);
  mps_sac_destroy(sac);
  mps_pool_destroy(pool);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
}

Test(sac, destroyed_cache_is_not_a_cache, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_pool_t pool = make_counting();
  mps_sac_class_s classes[1] = {{64, 4, 1}};
  mps_sac_t sac = make_sac(pool, 1, classes);
  mps_addr_t p;
  mps_sac_destroy(sac);
  reports_install_abort();
  (void)mps_sac_alloc(&p, sac, 64, 0);
}

/* The pool keeps a ring of its caches, so destroying it while a cache
 * lives is caught (in every checking variety: the aborting handler makes
 * it fatal in hot as well). */
Test(sac, destroying_the_pool_under_a_live_cache_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_pool_t pool;
  mps_sac_class_s classes[1] = {{64, 4, 1}};
  mps_sac_t sac;
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  sac = make_sac(pool, 1, classes);
  (void)sac;
  reports_install_abort();
  mps_pool_destroy(pool);
}

Test(sac, pool_destroy_after_its_caches_is_fine)
{
  mps_pool_t pool;
  mps_sac_class_s classes[1] = {{64, 4, 1}};
  mps_sac_t one, two;
  mps_addr_t p;
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  one = make_sac(pool, 1, classes);
  two = make_sac(pool, 1, classes);
  cr_assert_eq(mps_sac_alloc(&p, one, 64, 0), MPS_RES_OK);
  mps_sac_free(two, p, 64);
  /* Destroyed out of creation order: each leaves the ring alone. */
  mps_sac_destroy(one);
  mps_sac_destroy(two);
  reports_install_abort();
  mps_pool_destroy(pool);
}

static size_t in_use(mps_pool_t pool)
{
  return mps_pool_total_size(pool) - mps_pool_free_size(pool);
}

Test(sac, mvff_blocks_flush_and_overlarge)
{
  mps_pool_t pool, owner;
  mps_sac_class_s classes[3] = {{16, 4, 3}, {64, 4, 2}, {256, 2, 1}};
  mps_sac_t sac;
  mps_addr_t p[4], q;
  size_t big = 1000, big_size = (1000 + MPS_PF_ALIGN - 1) & ~(size_t)(MPS_PF_ALIGN - 1);
  mps_res_t res;
  size_t i;

  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  sac = make_sac(pool, 3, classes);
  cr_assert_eq(mps_sac_alloc(&p[0], sac, 10, 0), MPS_RES_OK);
  cr_assert_eq(mps_sac_alloc(&p[1], sac, 50, 0), MPS_RES_OK);
  MPS_SAC_ALLOC_FAST(res, p[2], sac, 200, 0);
  cr_assert_eq(res, MPS_RES_OK);
  MPS_SAC_ALLOC_FAST(res, p[3], sac, big, 0);
  cr_assert_eq(res, MPS_RES_OK);
  for (i = 0; i < 4; ++i)
    cr_assert(mps_addr_pool(&owner, arena, p[i]) && owner == pool);
  /* Each block is its class's size; the overlarge one its own. */
  cr_assert_eq(in_use(pool), 16 + 64 + 256 + big_size);
  memset(p[3], 0x77, big);

  mps_sac_free(sac, p[0], 10);
  mps_sac_free(sac, p[1], 50);
  MPS_SAC_FREE_FAST(sac, p[2], 200);
  MPS_SAC_FREE_FAST(sac, p[3], big);
  /* The overlarge block went straight back; the others are cached. */
  cr_assert_eq(in_use(pool), 16 + 64 + 256);
  cr_assert_eq(cached(sac, 0) + cached(sac, 1) + cached(sac, 2), 3);
  MPS_SAC_ALLOC_FAST(res, q, sac, 64, 0);
  cr_assert_eq(res, MPS_RES_OK);
  cr_assert_eq(q, p[1]);
  cr_assert_eq(in_use(pool), 16 + 64 + 256);
  MPS_SAC_FREE_FAST(sac, q, 64);
  mps_sac_flush(sac);
  cr_assert_eq(in_use(pool), 0);
  mps_sac_destroy(sac);
  mps_pool_destroy(pool);
}
