/* Unit tests for the MVT pool class: keyword arguments, allocation through
 * points, mps_free and reuse, coalescing, returning memory to the arena,
 * frames, commit-limit failures, misuse, and a fault-injection sweep of
 * the commit limit. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmfs.h"
#include "../include/mpscmvt.h"
#include "../include/mpslib.h"
#include "../src/arena/arena.h"
#include "../src/base/config.h"
#include "../src/pool/abq.h"
#include "support/checks.h"
#include "support/reports.h"

#define GRAIN ((size_t)4096)

static mps_arena_t arena;

static void setup(void)
{
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, GRAIN);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
}

static void teardown(void)
{
  mps_arena_destroy(arena);
}

TestSuite(mvt, .init = setup, .fini = teardown);

/* A pool with max_size `max`, fragmentation limit `frag` and reserve
 * depth `depth` (mean size 32): fill_size is max / frag in whole grains. */
static mps_pool_t make_mvt(size_t max, double frag, size_t depth)
{
  mps_pool_t pool;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MIN_SIZE, (size_t)8);
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, (size_t)32);
    MPS_ARGS_ADD(args, MPS_KEY_MAX_SIZE, max);
    MPS_ARGS_ADD(args, MPS_KEY_MVT_FRAG_LIMIT, frag);
    MPS_ARGS_ADD(args, MPS_KEY_MVT_RESERVE_DEPTH, (mps_word_t)depth);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvt(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  return pool;
}

static mps_ap_t make_ap(mps_pool_t pool)
{
  mps_ap_t ap;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  return ap;
}

/* Reserve, fill with `pattern`, commit, retrying if the commit fails. */
static mps_res_t ap_alloc(mps_addr_t *p_o, mps_ap_t ap, size_t size, unsigned char pattern)
{
  mps_addr_t p;
  mps_res_t res;
  do {
    res = mps_reserve(&p, ap, size);
    if (res != MPS_RES_OK)
      return res;
    memset(p, pattern, size);
  } while (!mps_commit(ap, p, size));
  *p_o = p;
  return MPS_RES_OK;
}

static bool filled_with(mps_addr_t p, size_t size, unsigned char pattern)
{
  const unsigned char *b = p;
  size_t i;
  for (i = 0; i < size; ++i)
    if (b[i] != pattern)
      return false;
  return true;
}

Test(mvt, defaults_create_an_empty_pool)
{
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t p;
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvt(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  cr_assert_eq(mps_pool_free_size(pool), 0);
  cr_assert_eq(mps_mvt_size(pool), 0);
  cr_assert_eq(mps_mvt_free_size(pool), 0);
  ap = make_ap(pool);
  cr_assert_eq(ap_alloc(&p, ap, 32, 1), MPS_RES_OK);
  cr_assert_eq((uintptr_t)p % MPS_PF_ALIGN, 0);
  /* Default fill size: 8192 / 0.3 in whole grains. */
  cr_assert_eq(mps_pool_total_size(pool), (8192 * 10 / 3 + GRAIN) / GRAIN * GRAIN);
  cr_assert_eq(mps_mvt_size(pool), mps_pool_total_size(pool));
  cr_assert_eq(mps_mvt_free_size(pool), mps_pool_free_size(pool));
  mps_free(pool, p, 32);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

static mps_res_t create_with(mps_key_t key, mps_arg_s value)
{
  mps_pool_t pool;
  mps_arg_s args[2];
  mps_res_t res;
  args[0] = value;
  args[0].key = key;
  args[1].key = MPS_KEY_ARGS_END;
  res = mps_pool_create_k(&pool, arena, mps_class_mvt(), args);
  if (res == MPS_RES_OK)
    mps_pool_destroy(pool);
  return res;
}

Test(mvt, bad_keyword_values_are_refused)
{
  mps_arg_s v;
  v.val.align = 4;
  cr_assert_eq(create_with(MPS_KEY_ALIGN, v), sizeof(void *) > 4 ? MPS_RES_PARAM : MPS_RES_OK);
  v.val.align = 24;
  cr_assert_eq(create_with(MPS_KEY_ALIGN, v), MPS_RES_PARAM);
  v.val.align = GRAIN * 2;
  cr_assert_eq(create_with(MPS_KEY_ALIGN, v), MPS_RES_PARAM);
  v.val.align = GRAIN;
  cr_assert_eq(create_with(MPS_KEY_ALIGN, v), MPS_RES_OK);
  v.val.size = 0;
  cr_assert_eq(create_with(MPS_KEY_MIN_SIZE, v), MPS_RES_PARAM);
  /* The sizes are hints (mvt.rst): one given alone beyond a default moves
   * the defaults out of its way. */
  v.val.size = 64;   /* more than the default mean */
  cr_assert_eq(create_with(MPS_KEY_MIN_SIZE, v), MPS_RES_OK);
  v.val.size = 16384;   /* more than the default max */
  cr_assert_eq(create_with(MPS_KEY_MEAN_SIZE, v), MPS_RES_OK);
  v.val.size = 16;   /* less than the default mean */
  cr_assert_eq(create_with(MPS_KEY_MAX_SIZE, v), MPS_RES_OK);
  v.val.size = SIZE_MAX;
  cr_assert_eq(create_with(MPS_KEY_MAX_SIZE, v), MPS_RES_PARAM);
  v.val.d = 0.0;
  cr_assert_eq(create_with(MPS_KEY_MVT_FRAG_LIMIT, v), MPS_RES_PARAM);
  v.val.d = -0.5;
  cr_assert_eq(create_with(MPS_KEY_MVT_FRAG_LIMIT, v), MPS_RES_PARAM);
  v.val.d = 1.01;
  cr_assert_eq(create_with(MPS_KEY_MVT_FRAG_LIMIT, v), MPS_RES_PARAM);
  v.val.d = 1.0;
  cr_assert_eq(create_with(MPS_KEY_MVT_FRAG_LIMIT, v), MPS_RES_OK);
  v.val.d = 0.01;
  cr_assert_eq(create_with(MPS_KEY_MVT_FRAG_LIMIT, v), MPS_RES_OK);
  v.val.count = 0;
  cr_assert_eq(create_with(MPS_KEY_MVT_RESERVE_DEPTH, v), MPS_RES_OK);
}

/* A mean size given alone below the default minimum (the platform's
 * alignment) moves the minimum down to it; and a maximum that the
 * fragmentation limit would make a fill too large for the address space
 * is refused rather than wrapping round. */
Test(mvt, sizes_are_fitted_to_each_other_or_refused)
{
  mps_arg_s v;
  mps_pool_t pool;
  v.val.size = 8;
  cr_assert_eq(create_with(MPS_KEY_MEAN_SIZE, v), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MAX_SIZE, SIZE_MAX / 16);
    MPS_ARGS_ADD(args, MPS_KEY_MVT_FRAG_LIMIT, 0.01);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvt(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
}

/* Only sizes the client gave can contradict each other; a pool made with
 * a large mean alone takes blocks of that size. */
Test(mvt, only_given_sizes_can_contradict)
{
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t p;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MIN_SIZE, (size_t)64);
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, (size_t)32);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvt(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, (size_t)16384);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvt(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  ap = make_ap(pool);
  cr_assert_eq(ap_alloc(&p, ap, 16384, 7), MPS_RES_OK);
  mps_free(pool, p, 16384);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

Test(mvt, the_manual_example_creates_a_pool)
{
  mps_pool_t pool;
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MIN_SIZE, 4);
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, 32);
    MPS_ARGS_ADD(args, MPS_KEY_MAX_SIZE, 1024);
    MPS_ARGS_ADD(args, MPS_KEY_MVT_RESERVE_DEPTH, 256);
    MPS_ARGS_ADD(args, MPS_KEY_MVT_FRAG_LIMIT, 0.5);
    res = mps_pool_create_k(&pool, arena, mps_class_mvt(), args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_OK);
  mps_pool_destroy(pool);
}

Test(mvt, mps_alloc_is_not_supported)
{
  mps_pool_t pool = make_mvt(8192, 0.3, 1024);
  mps_addr_t p = NULL;
  cr_assert_eq(mps_alloc(&p, pool, 32), MPS_RES_UNIMPL);
  cr_assert_null(p);
  mps_pool_destroy(pool);
}

Test(mvt, blocks_of_many_sizes_are_distinct_aligned_and_kept)
{
  enum { N = 600 };
  static const size_t sizes[] = { 16, 32, 48, 64, 80, 96, 1008, 8192, 8208, 30000, 70000 };
  mps_pool_t pool = make_mvt(8192, 0.3, 1024);
  mps_ap_t ap = make_ap(pool);
  static mps_addr_t blocks[N];
  static size_t bsize[N];
  size_t live = 0;
  int i, j;
  for (i = 0; i < N; ++i) {
    bsize[i] = sizes[(size_t)i * 7 % (sizeof sizes / sizeof sizes[0])];
    cr_assert_eq(ap_alloc(&blocks[i], ap, bsize[i], (unsigned char)i), MPS_RES_OK);
    cr_assert_eq((uintptr_t)blocks[i] % MPS_PF_ALIGN, 0);
    live += bsize[i];
  }
  cr_assert_geq(mps_pool_total_size(pool), live);
  cr_assert_leq(mps_pool_free_size(pool), mps_pool_total_size(pool) - live);
  for (i = 0; i < N; ++i) {
    cr_assert(filled_with(blocks[i], bsize[i], (unsigned char)i));
    for (j = i + 1; j < N; ++j) {
      uintptr_t a = (uintptr_t)blocks[i], b = (uintptr_t)blocks[j];
      cr_assert(a + bsize[i] <= b || b + bsize[j] <= a);
    }
  }
  for (i = 0; i < N; i += 2)
    mps_free(pool, blocks[i], bsize[i]);
  for (i = 1; i < N; i += 2)
    cr_assert(filled_with(blocks[i], bsize[i], (unsigned char)i));
  for (i = 1; i < N; i += 2)
    mps_free(pool, blocks[i], bsize[i]);
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

Test(mvt, alignment_keyword_is_honoured)
{
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t p;
  int i;
  /* The sizes, hints, need not be multiples of the alignment: they are
   * rounded up to it. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ALIGN, (mps_align_t)256);
    MPS_ARGS_ADD(args, MPS_KEY_MIN_SIZE, (size_t)100);
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, (size_t)300);
    MPS_ARGS_ADD(args, MPS_KEY_MAX_SIZE, (size_t)1000);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvt(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  ap = make_ap(pool);
  for (i = 0; i < 100; ++i) {
    cr_assert_eq(ap_alloc(&p, ap, 256 * (size_t)(1 + i % 3), 7), MPS_RES_OK);
    cr_assert_eq((uintptr_t)p % 256, 0);
  }
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* allocation.rst: a reservation must be a multiple of the pool's
 * alignment.  With MPS_KEY_ALIGN of 256, one of 128 bytes (a multiple of
 * the platform's alignment only) is reported and refused, and the point
 * still takes one of 256. */
Test(mvt, a_reserve_not_a_multiple_of_the_alignment_keyword_is_refused)
{
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t p;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ALIGN, (mps_align_t)256);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvt(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  ap = make_ap(pool);
  reports_install();
  cr_assert_eq(mps_reserve(&p, ap, 128), MPS_RES_PARAM);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert_eq(ap_alloc(&p, ap, 256, 3), MPS_RES_OK);
  cr_assert_eq((uintptr_t)p % 256, 0);
  mps_free(pool, p, 256);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* fill = 4096 (one grain) with max 2048 and frag 0.5; freed blocks
 * coalesce into the whole grain, which is the only free block that can
 * satisfy a later request of 4096 bytes without growing the pool. */
Test(mvt, freed_blocks_coalesce_and_are_reused)
{
  mps_pool_t pool = make_mvt(2048, 0.5, 1024);
  mps_ap_t ap = make_ap(pool);
  mps_addr_t p[64], q, first;
  int i;
  for (i = 0; i < 64; ++i)
    cr_assert_eq(ap_alloc(&p[i], ap, 64, (unsigned char)i), MPS_RES_OK);
  first = p[0];
  cr_assert_eq(mps_pool_total_size(pool), GRAIN);
  for (i = 0; i < 64; ++i)
    cr_assert_eq((char *)p[i], (char *)first + 64 * i);   /* consecutive */
  mps_ap_destroy(ap);
  for (i = 63; i >= 0; i -= 2)
    mps_free(pool, p[i], 64);
  for (i = 0; i < 64; i += 2)
    mps_free(pool, p[i], 64);
  cr_assert_eq(mps_pool_free_size(pool), GRAIN);
  ap = make_ap(pool);
  cr_assert_eq(ap_alloc(&q, ap, GRAIN, 1), MPS_RES_OK);
  cr_assert_eq(q, first);
  cr_assert_eq(mps_pool_total_size(pool), GRAIN);
  cr_assert_eq(mps_pool_free_size(pool), 0);
  mps_free(pool, q, GRAIN);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

Test(mvt, freed_memory_is_reused_before_the_pool_grows)
{
  enum { N = 2000 };
  static mps_addr_t p[N];
  mps_pool_t pool = make_mvt(1024, 0.3, 100000);
  mps_ap_t ap = make_ap(pool);
  size_t total;
  int round, i;
  for (i = 0; i < N; ++i)
    cr_assert_eq(ap_alloc(&p[i], ap, 48, 3), MPS_RES_OK);
  total = mps_pool_total_size(pool);
  for (round = 0; round < 5; ++round) {
    for (i = 0; i < N; ++i)
      mps_free(pool, p[i], 48);
    for (i = 0; i < N; ++i)
      cr_assert_eq(ap_alloc(&p[i], ap, 48, (unsigned char)round), MPS_RES_OK);
  }
  /* The reserve (100000 * 32 bytes) keeps everything: one region's worth
   * of slack at most. */
  cr_assert_leq(mps_pool_total_size(pool), total + 2 * 4096);
  for (i = 0; i < N; ++i)
    cr_assert(filled_with(p[i], 48, 4));
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* Each free range the pool records takes a node from the pool's node
 * pool (free_land.c), and a range that coalesces gives its node back.
 * Rounds of freeing every other block (a node each) and then the rest
 * (coalescing them all) reuse those nodes: after the first round the
 * arena's committed memory stays where it was. */
Test(mvt, nodes_of_coalesced_free_ranges_are_reused)
{
  enum { N = 2000 };
  static mps_addr_t p[N];
  mps_pool_t pool = make_mvt(1024, 0.3, 100000);
  mps_ap_t ap = make_ap(pool);
  size_t committed = 0;
  int round, i;
  for (i = 0; i < N; ++i)
    cr_assert_eq(ap_alloc(&p[i], ap, 48, 3), MPS_RES_OK);
  for (round = 0; round < 6; ++round) {
    for (i = 0; i < N; i += 2)
      mps_free(pool, p[i], 48);
    for (i = 1; i < N; i += 2)
      mps_free(pool, p[i], 48);
    for (i = 0; i < N; ++i)
      cr_assert_eq(ap_alloc(&p[i], ap, 48, 5), MPS_RES_OK);
    if (round == 0)
      committed = mps_arena_committed(arena);
  }
  cr_assert_leq(mps_arena_committed(arena), committed + GRAIN,
                "committed grew from %zu to %zu", committed,
                mps_arena_committed(arena));
  mps_ap_destroy(ap);
  for (i = 0; i < N; ++i)
    mps_free(pool, p[i], 48);
  mps_pool_destroy(pool);
}

Test(mvt, free_memory_goes_back_to_the_arena)
{
  enum { N = 2000 };
  static mps_addr_t p[N];
  mps_pool_t pool = make_mvt(4096, 1.0, 0);
  mps_ap_t ap = make_ap(pool);
  size_t committed, peak;
  int i;
  mps_arena_spare_set(arena, 0.0);
  committed = mps_arena_committed(arena);
  for (i = 0; i < N; ++i)
    cr_assert_eq(ap_alloc(&p[i], ap, 512, 9), MPS_RES_OK);
  peak = mps_pool_total_size(pool);
  cr_assert_geq(peak, N * 512);
  cr_assert_geq(mps_arena_committed(arena), committed + N * 512);
  mps_ap_destroy(ap);
  for (i = 0; i < N; ++i)
    mps_free(pool, p[i], 512);
  /* Reserve depth 0: all but a few grains of sawdust and splinter go. */
  cr_assert_leq(mps_pool_total_size(pool), 4 * GRAIN);
  cr_assert_leq(mps_arena_committed(arena), committed + 8 * GRAIN);
  cr_assert_leq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

Test(mvt, a_large_block_goes_back_to_the_arena_when_freed)
{
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);
  mps_ap_t ap = make_ap(pool);
  mps_addr_t small, big;
  size_t before;
  cr_assert_eq(ap_alloc(&small, ap, 32, 1), MPS_RES_OK);
  before = mps_pool_total_size(pool);
  cr_assert_eq(ap_alloc(&big, ap, 1 << 20, 2), MPS_RES_OK);
  cr_assert_geq(mps_pool_total_size(pool), before + (1 << 20));
  cr_assert(filled_with(small, 32, 1));
  mps_free(pool, big, 1 << 20);
  cr_assert_leq(mps_pool_total_size(pool), before + GRAIN);
  mps_free(pool, small, 32);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

Test(mvt, frames_push_and_pop_on_an_mvt_point)
{
  mps_pool_t pool = make_mvt(8192, 0.3, 1024);
  mps_ap_t ap = make_ap(pool);
  mps_frame_t f1, f2;
  mps_addr_t a, b, c;
  cr_assert_eq(mps_ap_frame_push(&f1, ap), MPS_RES_OK);
  cr_assert_eq(ap_alloc(&a, ap, 64, 1), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_push(&f2, ap), MPS_RES_OK);
  cr_assert_eq(ap_alloc(&b, ap, 64, 2), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_pop(ap, f2), MPS_RES_OK);
  /* MVT does not reclaim on pop: the blocks stay good. */
  cr_assert(filled_with(a, 64, 1));
  cr_assert(filled_with(b, 64, 2));
  cr_assert_eq(mps_ap_frame_pop(ap, f1), MPS_RES_OK);
  cr_assert_eq(ap_alloc(&c, ap, 64, 3), MPS_RES_OK);
  mps_free(pool, a, 64);
  mps_free(pool, b, 64);
  mps_free(pool, c, 64);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

Test(mvt, commit_limit_failure_leaves_the_pool_usable)
{
  enum { N = 4096 };
  static mps_addr_t p[N];
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);
  mps_ap_t ap = make_ap(pool);
  mps_addr_t q;
  mps_res_t res;
  size_t n = 0, i;
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena) + 16 * GRAIN), MPS_RES_OK);
  while (n < N && (res = ap_alloc(&p[n], ap, 256, (unsigned char)n)) == MPS_RES_OK)
    ++n;
  cr_assert_lt(n, N);
  cr_assert_eq(res, MPS_RES_COMMIT_LIMIT);
  cr_assert_gt(n, 0);
  cr_assert_eq(ap_alloc(&q, ap, 256, 0), MPS_RES_COMMIT_LIMIT);  /* still */
  for (i = 0; i < n; ++i)
    cr_assert(filled_with(p[i], 256, (unsigned char)i));
  for (i = 0; i < n; i += 2)
    mps_free(pool, p[i], 256);
  /* Freed memory serves new requests under the same limit. */
  for (i = 0; i < n; i += 2)
    cr_assert_eq(ap_alloc(&p[i], ap, 256, (unsigned char)i), MPS_RES_OK);
  for (i = 0; i < n; ++i)
    cr_assert(filled_with(p[i], 256, (unsigned char)i));
  cr_assert_eq(mps_arena_commit_limit_set(arena, SIZE_MAX), MPS_RES_OK);
  cr_assert_eq(ap_alloc(&q, ap, 256, 0), MPS_RES_OK);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* A block larger than the fill size comes from the arena, or, when the
 * arena is at its commit limit, from a free block of the pool big enough
 * for it. */
Test(mvt, a_large_block_at_the_commit_limit_comes_from_free_memory)
{
  enum { N = 24 };
  mps_addr_t p[N], big;
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);   /* fill 2 KiB: 1 grain; reserve 32 KiB */
  mps_ap_t ap = make_ap(pool);
  size_t i;
  mps_arena_spare_set(arena, 0.0);
  for (i = 0; i < N; ++i)
    cr_assert_eq(ap_alloc(&p[i], ap, 1024, (unsigned char)i), MPS_RES_OK);
  mps_ap_destroy(ap);           /* no region left in a point */
  for (i = 0; i < N; ++i)
    mps_free(pool, p[i], 1024);
  cr_assert_geq(mps_pool_free_size(pool), 4 * GRAIN, "the reserve keeps free memory");
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  ap = make_ap(pool);
  cr_assert_eq(ap_alloc(&big, ap, 3 * GRAIN, 7), MPS_RES_OK,
               "a large block did not come from the pool's free memory");
  cr_assert(filled_with(big, 3 * GRAIN, 7));
  mps_free(pool, big, 3 * GRAIN);
  cr_assert_eq(mps_arena_commit_limit_set(arena, SIZE_MAX), MPS_RES_OK);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* The queue of reusable blocks is bounded (MVT_ABQ_MAX): with a reserve
 * larger than it can list, a full queue gives its oldest block back to
 * the arena to make room, and its books stay right (mvt_check). */
Test(mvt, a_full_queue_of_reusable_blocks_gives_its_oldest_back)
{
  enum { HOLES = 1100, PER = 9 };
  static mps_addr_t p[HOLES * PER];
  mps_pool_t pool = make_mvt(1024, 0.5, 1000000);   /* reserve 32 MB: the queue's bound first */
  mps_ap_t ap = make_ap(pool);
  size_t i, before;
  for (i = 0; i < HOLES * PER; ++i)
    cr_assert_eq(ap_alloc(&p[i], ap, 1024, (unsigned char)i), MPS_RES_OK);
  mps_ap_destroy(ap);
  before = mps_pool_total_size(pool);
  /* Eight neighbours freed of every nine: holes of 8 KiB, each reusable
   * (twice the fill size), kept apart by the ninth. */
  for (i = 0; i < HOLES * PER; ++i)
    if (i % PER != PER - 1)
      mps_free(pool, p[i], 1024);
  cr_assert_lt(mps_pool_total_size(pool), before, "no block went back from the full queue");
  for (i = PER - 1; i < HOLES * PER; i += PER)
    cr_assert(filled_with(p[i], 1024, (unsigned char)i));
  ap = make_ap(pool);
  for (i = 0; i < HOLES * PER; ++i)
    if (i % PER != PER - 1)
      cr_assert_eq(ap_alloc(&p[i], ap, 1024, (unsigned char)i), MPS_RES_OK);
  for (i = 0; i < HOLES * PER; ++i)
    cr_assert(filled_with(p[i], 1024, (unsigned char)i));
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* Allocates n blocks of 1 KiB through a point of its own and lets the
 * point go with nothing left in it (n a multiple of four: whole one-grain
 * regions), checking that the regions lie side by side, as the arena
 * hands them out; the tests below need blocks to coalesce across them. */
static void side_by_side(mps_pool_t pool, mps_addr_t *p, size_t n)
{
  mps_ap_t ap = make_ap(pool);
  size_t i;
  for (i = 0; i < n; ++i) {
    cr_assert_eq(ap_alloc(&p[i], ap, 1024, (unsigned char)i), MPS_RES_OK);
    cr_assert_eq((char *)p[i], (char *)p[0] + 1024 * i, "the regions are not side by side");
  }
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_free_size(pool), 0);
}

/* The reserve is kept when the rest of the free memory goes back: "the
 * pool will retain sufficient storage to allocate [reserve_depth] blocks
 * of the mean size" (mvt.rst).  The reusable block that takes the pool
 * past the reserve goes back only in part, down to whole grains, so the
 * pool keeps the reserve rounded up to a grain, and those blocks come
 * from it without the pool growing. */
Test(mvt, the_reserve_is_kept_when_free_memory_goes_back)
{
  enum { N = 24 };
  mps_addr_t p[N], q;
  mps_pool_t pool = make_mvt(1024, 0.5, 160);   /* fill 1 grain; reserve 160 * 32 bytes */
  mps_ap_t ap;
  size_t i;
  side_by_side(pool, p, N);
  /* Freed in order, the blocks coalesce into one reusable block after
   * another, each trimmed when it joins the queue; the last free (of six
   * grains) is such a trim, and leaves no smaller free block behind. */
  for (i = 0; i < N; ++i)
    mps_free(pool, p[i], 1024);
  cr_assert_eq(mps_pool_total_size(pool), 2 * GRAIN, "kept %zu", mps_pool_total_size(pool));
  cr_assert_eq(mps_pool_free_size(pool), 2 * GRAIN);
  ap = make_ap(pool);
  for (i = 0; i < 160; ++i) {
    cr_assert_eq(ap_alloc(&q, ap, 32, 1), MPS_RES_OK);
    /* The kept block is still a reusable one, queued: a fill takes all
     * of it, as first fit (up to the fill size) would not. */
    if (i == 0)
      cr_assert_eq(mps_pool_free_size(pool), 0, "the kept block left the queue");
  }
  cr_assert_eq(mps_pool_total_size(pool), 2 * GRAIN, "the reserve did not serve the fills");
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* A reusable block beyond the reserve goes back to the arena in whole
 * grains even when it starts and ends inside grains: what it holds of
 * the grains it shares with live blocks stays as free memory. */
Test(mvt, a_reusable_block_inside_grains_gives_back_its_whole_grains)
{
  enum { N = 16 };
  mps_addr_t p[N];
  mps_pool_t pool = make_mvt(1024, 0.5, 0);   /* fill 1 grain; reuse 8 KiB; no reserve */
  size_t i;
  side_by_side(pool, p, N);
  /* Blocks 1 to 14, block 8 last, so that they coalesce into one
   * reusable block only at the end: 14 KiB from 1 KiB into the first
   * grain to 3 KiB into the fourth. */
  for (i = 1; i < N - 1; ++i)
    if (i != 8)
      mps_free(pool, p[i], 1024);
  cr_assert_eq(mps_pool_total_size(pool), 4 * GRAIN, "a block was reusable too soon");
  mps_free(pool, p[8], 1024);
  cr_assert_eq(mps_pool_total_size(pool), 2 * GRAIN, "the two whole grains did not go back");
  cr_assert_eq(mps_pool_free_size(pool), 6 * 1024);
  cr_assert(filled_with(p[0], 1024, 0));
  cr_assert(filled_with(p[N - 1], 1024, N - 1));
  mps_pool_destroy(pool);
}

/* A fill from free memory (first fit, here because the pool is over its
 * fragmentation limit) gives the point as much of the block it finds as
 * a fill from the arena would, up to the fill size: the point's next
 * blocks come from the same region, side by side, even when another
 * point fills in between (temporal fit). */
Test(mvt, a_first_fit_fill_gives_the_point_the_block_up_to_the_fill_size)
{
  enum { N = 16 };
  mps_addr_t p[N], a[4], b[4];
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);   /* fill 1 grain; reuse 8 KiB */
  mps_ap_t ap_a, ap_b;
  size_t i;
  side_by_side(pool, p, N);
  /* Three of every four blocks: holes of 3 KiB at the grains' starts,
   * too small to be reusable; 3/4 of the pool is free. */
  for (i = 0; i < N; ++i)
    if (i % 4 != 3)
      mps_free(pool, p[i], 1024);
  cr_assert_eq(mps_pool_free_size(pool), 3 * 4 * 1024);
  ap_a = make_ap(pool);
  ap_b = make_ap(pool);
  for (i = 0; i < 4; ++i) {
    cr_assert_eq(ap_alloc(&a[i], ap_a, 256, 1), MPS_RES_OK);
    if (i == 0)
      cr_assert_eq(mps_pool_free_size(pool), 3 * 3 * 1024, "the point did not take the hole");
    cr_assert_eq(ap_alloc(&b[i], ap_b, 256, 2), MPS_RES_OK);
  }
  cr_assert_eq(a[0], p[0]);
  cr_assert_eq(b[0], p[4]);
  for (i = 1; i < 4; ++i) {
    cr_assert_eq((char *)a[i], (char *)a[i - 1] + 256);
    cr_assert_eq((char *)b[i], (char *)b[i - 1] + 256);
  }
  cr_assert_eq(mps_pool_total_size(pool), 4 * GRAIN);
  mps_ap_destroy(ap_a);
  mps_ap_destroy(ap_b);
  mps_pool_destroy(pool);
}

/* A point's unused tail below min_size is sawdust (design/poolmvt.txt):
 * it goes to the land, where it coalesces with its neighbours when they
 * are freed, and is never the splinter (which must be at least min_size
 * and is kept apart from the land).  So once the blocks are freed the
 * whole region is one free block again, and a fill of all of it comes
 * from it. */
Test(mvt, a_tail_below_the_minimum_size_coalesces_with_its_neighbours)
{
  static const size_t sizes[] = { 1024, 1024, 1024, 992 };   /* 32 bytes left */
  mps_addr_t p[4], q;
  mps_pool_t pool;
  mps_ap_t ap;
  size_t i;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MIN_SIZE, (size_t)64);
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, (size_t)64);
    MPS_ARGS_ADD(args, MPS_KEY_MAX_SIZE, (size_t)1024);
    MPS_ARGS_ADD(args, MPS_KEY_MVT_FRAG_LIMIT, 0.5);   /* fill 1 grain */
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvt(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  ap = make_ap(pool);
  for (i = 0; i < 4; ++i)
    cr_assert_eq(ap_alloc(&p[i], ap, sizes[i], (unsigned char)i), MPS_RES_OK);
  cr_assert_eq((char *)p[3], (char *)p[0] + 3 * 1024);
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_total_size(pool), GRAIN);
  cr_assert_eq(mps_pool_free_size(pool), 32);
  for (i = 0; i < 4; ++i)
    mps_free(pool, p[i], sizes[i]);
  ap = make_ap(pool);
  cr_assert_eq(ap_alloc(&q, ap, GRAIN, 5), MPS_RES_OK);
  cr_assert_eq(q, p[0], "the sawdust did not rejoin its neighbours");
  cr_assert_eq(mps_pool_total_size(pool), GRAIN);
  mps_ap_destroy(ap);
  mps_free(pool, q, GRAIN);
  mps_pool_destroy(pool);
}

/* A large block from the arena starts on a grain; one from free memory
 * (at the commit limit) can start and end inside grains.  Freed, its
 * whole grains go back to the arena and its ends, at both sides, are
 * free memory again (design/poolmvt.txt: the splinters go to the free
 * block managers): all of the pool but the one live block is free, and
 * nothing is lost. */
Test(mvt, a_large_free_keeps_both_partial_grains_as_free_memory)
{
  enum { N = 16 };
  mps_addr_t p[N], big;
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);   /* fill 1 grain; reserve 32 KiB */
  mps_ap_t ap;
  size_t i, size = 2 * GRAIN + 1024;
  mps_arena_spare_set(arena, 0.0);
  side_by_side(pool, p, N);
  for (i = 1; i < N; ++i)
    mps_free(pool, p[i], 1024);
  cr_assert_eq(mps_pool_total_size(pool), 4 * GRAIN);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  ap = make_ap(pool);
  cr_assert_eq(ap_alloc(&big, ap, size, 7), MPS_RES_OK);
  cr_assert_eq(big, p[1], "not from the pool's free memory");
  mps_ap_destroy(ap);
  mps_free(pool, big, size);
  cr_assert_eq(mps_pool_total_size(pool), 3 * GRAIN, "the whole grain did not go back");
  cr_assert_eq(mps_pool_free_size(pool), 3 * GRAIN - 1024, "free %zu: memory lost",
               mps_pool_free_size(pool));
  cr_assert(filled_with(p[0], 1024, 0));
  cr_assert_eq(mps_arena_commit_limit_set(arena, SIZE_MAX), MPS_RES_OK);
  mps_free(pool, p[0], 1024);
  mps_pool_destroy(pool);
}

/* The fill size is max_size / frag_limit rounded up to whole grains: a
 * quotient a little above one grain takes two, never one. */
Test(mvt, the_fill_size_rounds_up_a_fraction_of_a_byte)
{
  mps_pool_t pool = make_mvt(2048, 2048.0 / (GRAIN + 0.5), 1024);
  mps_ap_t ap = make_ap(pool);
  mps_addr_t p;
  cr_assert_eq(ap_alloc(&p, ap, 32, 1), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 2 * GRAIN);
  mps_ap_destroy(ap);
  mps_free(pool, p, 32);
  mps_pool_destroy(pool);
}

/* A request for more address space than there is fails with
 * MPS_RES_RESOURCE (it cannot even be rounded up to grains), and the
 * pool and point go on working. */
Test(mvt, a_reserve_larger_than_the_address_space_fails_with_resource)
{
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);
  mps_ap_t ap = make_ap(pool);
  mps_addr_t p, q;
  size_t total;
  cr_assert_eq(ap_alloc(&p, ap, 64, 1), MPS_RES_OK);
  total = mps_pool_total_size(pool);
  cr_assert_eq(mps_reserve(&q, ap, SIZE_MAX & ~(size_t)(MPS_PF_ALIGN - 1)), MPS_RES_RESOURCE);
  cr_assert_eq(mps_pool_total_size(pool), total);
  cr_assert_eq(ap_alloc(&q, ap, 64, 2), MPS_RES_OK);
  cr_assert(filled_with(p, 64, 1));
  mps_free(pool, q, 64);
  mps_free(pool, p, 64);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* Only a block larger than the fill size goes straight back to the
 * arena when freed: one of exactly the fill size is free memory of the
 * pool, and serves the next fill without the pool growing. */
Test(mvt, a_block_of_the_fill_size_stays_in_the_pool_when_freed)
{
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);   /* fill 1 grain */
  mps_ap_t ap = make_ap(pool);
  mps_addr_t p, q;
  cr_assert_eq(ap_alloc(&p, ap, GRAIN, 1), MPS_RES_OK);
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_total_size(pool), GRAIN);
  mps_free(pool, p, GRAIN);
  cr_assert_eq(mps_pool_total_size(pool), GRAIN);
  cr_assert_eq(mps_pool_free_size(pool), GRAIN);
  ap = make_ap(pool);
  cr_assert_eq(ap_alloc(&q, ap, GRAIN, 2), MPS_RES_OK);
  cr_assert_eq(q, p);
  cr_assert_eq(mps_pool_total_size(pool), GRAIN);
  mps_ap_destroy(ap);
  mps_free(pool, q, GRAIN);
  mps_pool_destroy(pool);
}

/* Of two unused tails let go, the larger stays the splinter and the
 * smaller goes to free memory, so the next fill that only the larger
 * can hold comes from it, beside the blocks born before it, and the
 * pool does not grow. */
Test(mvt, the_larger_of_two_tails_stays_the_splinter)
{
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);   /* fill 1 grain */
  mps_ap_t one = make_ap(pool), two = make_ap(pool);
  mps_addr_t a, b, q;
  cr_assert_eq(ap_alloc(&a, one, 1024, 1), MPS_RES_OK);   /* tail 3 KiB */
  cr_assert_eq(ap_alloc(&b, two, 3072, 2), MPS_RES_OK);   /* tail 1 KiB */
  mps_ap_destroy(one);
  mps_ap_destroy(two);
  cr_assert_eq(mps_pool_total_size(pool), 2 * GRAIN);
  cr_assert_eq(mps_pool_free_size(pool), GRAIN);
  one = make_ap(pool);
  cr_assert_eq(ap_alloc(&q, one, 2048, 3), MPS_RES_OK);
  cr_assert_eq((char *)q, (char *)a + 1024, "not from the larger tail");
  cr_assert_eq(mps_pool_total_size(pool), 2 * GRAIN);
  mps_ap_destroy(one);
  mps_free(pool, q, 2048);
  mps_free(pool, b, 3072);
  mps_free(pool, a, 1024);
  mps_pool_destroy(pool);
}

/* The pool is fragmented, and fills from its free memory before the
 * arena's, only when free memory is more than frag_limit of it: at
 * exactly the limit a fill is fresh memory. */
Test(mvt, free_memory_at_the_fragmentation_limit_is_not_yet_fragmented)
{
  enum { N = 8 };
  mps_addr_t p[N], q;
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);   /* fill 1 grain; reuse 2 */
  mps_ap_t ap;
  size_t i;
  side_by_side(pool, p, N);
  for (i = 0; i < N / 2; ++i)
    mps_free(pool, p[i], 1024);
  cr_assert_eq(mps_pool_free_size(pool), GRAIN);   /* half the pool: not reusable */
  ap = make_ap(pool);
  cr_assert_eq(ap_alloc(&q, ap, 256, 1), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 3 * GRAIN);
  cr_assert((char *)q < (char *)p[0] || (char *)q >= (char *)p[0] + 2 * GRAIN,
            "the fill came from free memory");
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* Creates an MVT pool with the arena refusing its n-th request for
 * memory from now (none if n is 0). */
static mps_res_t create_refusing(mps_pool_t *pool_o, Count n)
{
  mps_res_t res;
  arena_fail_after((Arena)arena, n);
  res = mps_pool_create_k(pool_o, arena, mps_class_mvt(), mps_args_none);
  arena_fail_after((Arena)arena, 0);
  return res;
}

/* A pool whose creation the arena refuses, at each of the requests for
 * memory creation makes in turn, is not made, with a result for want of
 * memory, and leaves nothing behind (the arena's destruction would
 * report a pool left on it, such as the land's pool of nodes). */
Test(mvt, a_creation_the_arena_refuses_leaves_nothing)
{
  mps_pool_t pool;
  mps_res_t res;
  Count n;
  /* First one made and destroyed, so that the arena's control memory
   * has grown and each refusal falls on one of the pool's own requests. */
  cr_assert_eq(create_refusing(&pool, 0), MPS_RES_OK);
  mps_pool_destroy(pool);
  for (n = 1; (res = create_refusing(&pool, n)) != MPS_RES_OK; ++n) {
    cr_assert_eq(res, MPS_RES_MEMORY, "request %zu: %d", (size_t)n, res);
    cr_assert(ring_is_single(&((Arena)arena)->pool_ring), "request %zu left a pool", (size_t)n);
  }
  cr_assert_gt(n, 3, "creation made fewer than three requests");
  mps_pool_destroy(pool);
}

/* The deprecated mps_mvt_size and mps_mvt_free_size are for MVT pools:
 * given another, they report it and answer zero. */
Test(mvt, mvt_sizes_of_a_pool_of_another_class_are_refused)
{
  mps_pool_t mfs;
  mps_addr_t p;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, (size_t)64);
    cr_assert_eq(mps_pool_create_k(&mfs, arena, mps_class_mfs(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_alloc(&p, mfs, 64), MPS_RES_OK);
  reports_install();
  cr_assert_eq(mps_mvt_size(mfs), 0);
  cr_assert_eq(mps_mvt_free_size(mfs), 0);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(2));
  mps_free(mfs, p, 64);
  mps_pool_destroy(mfs);
}

/* ---- The available block queue (abq.h), which MVT keeps its reusable
 * blocks in: tested directly, with words for elements. ---- */

static void abq_make(ABQ abq, Count capacity)
{
  Res res;
  arena_enter(arena);
  res = abq_init(abq, arena, capacity, sizeof(Word));
  arena_leave(arena);
  cr_assert_eq(res, MPS_RES_OK);
}

static void abq_unmake(ABQ abq)
{
  arena_enter(arena);
  abq_finish(abq);
  arena_leave(arena);
}

static Word abq_pop_word(ABQ abq)
{
  Word w = 0;
  cr_assert(abq_pop(abq, &w), "the queue is empty");
  return w;
}

/* Elements come out in the order they went in, through many trips round
 * the slots; a full queue takes no more, an empty one gives nothing. */
Test(mvt, abq_is_first_in_first_out_round_its_slots)
{
  abq_s q;
  Word w, in = 1, out = 1;
  int i;
  abq_make(&q, 4);
  cr_assert_not(abq_pop(&q, &w));
  cr_assert_not(abq_peek(&q, &w));
  for (; in <= 4; ++in)
    cr_assert(abq_push(&q, &in));
  cr_assert(abq_is_full(&q));
  w = 99;
  cr_assert_not(abq_push(&q, &w), "a full queue took more");
  cr_assert_not(abq_push_head(&q, &w), "a full queue took more at its head");
  cr_assert_eq(abq_depth(&q), 4);
  for (i = 0; i < 10; ++i) {
    cr_assert(abq_peek(&q, &w));
    cr_assert_eq(w, out);
    cr_assert_eq(abq_pop_word(&q), out++);
    cr_assert(abq_push(&q, &in));
    ++in;
    cr_assert(abq_check(&q));
  }
  while (out < in)
    cr_assert_eq(abq_pop_word(&q), out++);
  cr_assert_eq(abq_depth(&q), 0);
  cr_assert_not(abq_pop(&q, &w));
  abq_unmake(&q);
}

/* An element pushed at the head is the next out, whether the head is at
 * the first slot or not. */
Test(mvt, abq_push_head_puts_an_element_first)
{
  abq_s q;
  Word w;
  abq_make(&q, 3);
  w = 7;
  cr_assert(abq_push(&q, &w));
  w = 6;
  cr_assert(abq_push_head(&q, &w));
  w = 5;
  cr_assert(abq_push_head(&q, &w));
  cr_assert(abq_is_full(&q));
  cr_assert_eq(abq_pop_word(&q), 5);
  cr_assert_eq(abq_pop_word(&q), 6);
  w = 8;
  cr_assert(abq_push(&q, &w));
  w = 6;
  cr_assert(abq_push_head(&q, &w));
  cr_assert_eq(abq_pop_word(&q), 6);
  cr_assert_eq(abq_pop_word(&q), 7);
  cr_assert_eq(abq_pop_word(&q), 8);
  abq_unmake(&q);
}

/* A queue of no slots is always full and always empty. */
Test(mvt, abq_of_no_slots_takes_nothing)
{
  abq_s q;
  Word w = 1;
  abq_make(&q, 0);
  cr_assert(abq_is_full(&q));
  cr_assert_not(abq_push(&q, &w));
  cr_assert_not(abq_push_head(&q, &w));
  cr_assert_not(abq_pop(&q, &w));
  cr_assert_eq(abq_depth(&q), 0);
  abq_unmake(&q);
}

/* A queue whose slots the arena refuses is not made, and says why. */
Test(mvt, abq_whose_slots_cannot_be_had_is_not_made)
{
  abq_s q;
  Res res;
  arena_enter(arena);
  arena_fail_after(arena, 1);
  res = abq_init(&q, arena, 4, sizeof(Word));
  arena_fail_after(arena, 0);
  arena_leave(arena);
  cr_assert_eq(res, MPS_RES_MEMORY);
  abq_make(&q, 4);   /* the arena is still usable */
  abq_unmake(&q);
}

/* A finished queue gives its slots back to the arena's control memory:
 * queues made and finished over and over leave the arena's committed
 * memory where it was. */
Test(mvt, abq_finish_gives_back_the_slots)
{
  abq_s q;
  size_t committed = 0, i;
  mps_arena_spare_set(arena, 0.0);
  for (i = 0; i <= 100; ++i) {
    if (i == 1)
      committed = mps_arena_committed(arena);   /* after a first round */
    abq_make(&q, 1024);
    abq_unmake(&q);
  }
  cr_assert_leq(mps_arena_committed(arena), committed);
}

struct abq_visit {
  Word seen[8];
  Count calls;
  Word stop_at;          /* the visitor stops after this element */
};

/* Deletes the odd elements. */
static bool abq_visit_odd(bool *delete_return, void *element, void *closure)
{
  struct abq_visit *v = closure;
  Word w = *(Word *)element;
  if (v->calls < 8)
    v->seen[v->calls] = w;
  ++v->calls;
  *delete_return = w % 2 == 1;
  return w != v->stop_at;
}

/* Iteration visits oldest first and the survivors close up in order,
 * across the end of the slots; a visitor that says stop is not called
 * again, and the elements it did not see stay. */
Test(mvt, abq_iterate_deletes_in_order_and_stops_when_told)
{
  abq_s q;
  struct abq_visit v = {{0}, 0, 0};
  Word w;
  Count i;
  abq_make(&q, 6);
  for (w = 100; w < 103; ++w)         /* move the head off the first slot */
    cr_assert(abq_push(&q, &w));
  for (i = 0; i < 3; ++i)
    (void)abq_pop_word(&q);
  for (w = 1; w <= 6; ++w)
    cr_assert(abq_push(&q, &w));
  abq_iterate(&q, abq_visit_odd, &v);
  cr_assert_eq(v.calls, 6);
  for (i = 0; i < 6; ++i)
    cr_assert_eq(v.seen[i], i + 1);
  cr_assert_eq(abq_depth(&q), 3);
  cr_assert_eq(abq_pop_word(&q), 2);
  cr_assert_eq(abq_pop_word(&q), 4);
  cr_assert_eq(abq_pop_word(&q), 6);

  for (w = 1; w <= 6; ++w)
    cr_assert(abq_push(&q, &w));
  v.calls = 0;
  v.stop_at = 3;
  abq_iterate(&q, abq_visit_odd, &v);
  cr_assert_eq(v.calls, 3, "the visitor was called after it stopped");
  cr_assert_eq(abq_depth(&q), 4);
  cr_assert_eq(abq_pop_word(&q), 2);
  cr_assert_eq(abq_pop_word(&q), 4);
  cr_assert_eq(abq_pop_word(&q), 5);
  cr_assert_eq(abq_pop_word(&q), 6);
  abq_unmake(&q);
}

Test(mvt, double_free_is_caught_and_refused)
{
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);
  mps_ap_t ap = make_ap(pool);
  mps_addr_t p, q;
  size_t free_size;
  cr_assert_eq(ap_alloc(&p, ap, 128, 1), MPS_RES_OK);
  cr_assert_eq(ap_alloc(&q, ap, 128, 2), MPS_RES_OK);
  mps_ap_destroy(ap);
  mps_free(pool, p, 128);
  free_size = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, p, 128);
  reports_install_abort();
  TEST_ASSERT_REPORTED(reports_seen());
  cr_assert_eq(mps_pool_free_size(pool), free_size);   /* refused */
  cr_assert(filled_with(q, 128, 2));
  mps_free(pool, q, 128);
  mps_pool_destroy(pool);
}

/* The unused tail of a point's region, when the point lets it go, is the
 * pool's splinter (design/poolmvt.txt): the next fill it can hold comes
 * from it, even one that takes it exactly.  And the splinter is free
 * memory, so a free of part of it is a double free, and refused. */
static void splinter_make(mps_pool_t pool, mps_addr_t *p_o)
{
  mps_ap_t ap = make_ap(pool);
  cr_assert_eq(ap_alloc(p_o, ap, 128, 1), MPS_RES_OK);
  mps_ap_destroy(ap);           /* the rest of the region: the splinter */
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool) - 128);
}

Test(mvt, a_fill_the_splinter_holds_exactly_comes_from_it)
{
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);   /* fill 2 KiB: 1 grain */
  size_t total, tail;
  mps_addr_t p, q;
  mps_ap_t ap;
  splinter_make(pool, &p);
  total = mps_pool_total_size(pool);
  tail = total - 128;
  ap = make_ap(pool);
  cr_assert_eq(ap_alloc(&q, ap, tail, 2), MPS_RES_OK);
  cr_assert_eq((char *)q, (char *)p + 128);
  cr_assert_eq(mps_pool_total_size(pool), total);
  cr_assert(filled_with(p, 128, 1));
  mps_ap_destroy(ap);
  mps_free(pool, q, tail);
  mps_free(pool, p, 128);
  mps_pool_destroy(pool);
}

Test(mvt, a_free_inside_the_splinter_is_refused)
{
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);
  size_t free_size;
  mps_addr_t p;
  splinter_make(pool, &p);
  free_size = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, (char *)p + 256, 128);
  reports_install_abort();
  TEST_ASSERT_REPORTED(reports_seen());
  cr_assert_eq(mps_pool_free_size(pool), free_size);
  mps_free(pool, p, 128);
  mps_pool_destroy(pool);
}

Test(mvt, freeing_into_the_wrong_pool_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_pool_t pool = make_mvt(1024, 0.5, 1024), other = make_mvt(1024, 0.5, 1024);
  mps_ap_t ap = make_ap(pool);
  mps_addr_t p;
  reports_install_abort();
  cr_assert_eq(ap_alloc(&p, ap, 64, 1), MPS_RES_OK);
  mps_free(other, p, 64);
}

Test(mvt, freeing_beyond_the_pool_is_caught_and_refused)
{
  mps_pool_t pool = make_mvt(1024, 0.5, 1024);
  mps_ap_t ap = make_ap(pool);
  mps_addr_t p;
  size_t total;
  cr_assert_eq(ap_alloc(&p, ap, 64, 1), MPS_RES_OK);
  total = mps_pool_total_size(pool);
  reports_install();
  mps_free(pool, p, total * 4);   /* runs off the end of the pool's grains */
  reports_install_abort();
  TEST_ASSERT_REPORTED(reports_seen());
  cr_assert_eq(mps_pool_total_size(pool), total);
  cr_assert(filled_with(p, 64, 1));
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* The sweep's workload: two points, mixed sizes (some larger than the
 * fill size), frees interleaved.  Returns the first failure, after
 * freeing everything that was allocated; every failure must be a
 * documented resource result. */
static mps_res_t sweep_workload(mps_pool_t pool, mps_ap_t ap[2])
{
  enum { N = 300 };
  static mps_addr_t p[N];
  static size_t s[N];
  size_t n = 0, i;
  mps_res_t res = MPS_RES_OK;
  for (i = 0; i < N && res == MPS_RES_OK; ++i) {
    size_t size = (i % 37 == 0) ? 20000 + 16 * i : 16 + 16 * (i * 13 % 97);
    res = ap_alloc(&p[n], ap[i & 1], size, (unsigned char)i);
    if (res == MPS_RES_OK) {
      s[n++] = size;
      if (i % 3 == 2) {
        --n;
        cr_assert(filled_with(p[n], s[n], (unsigned char)i));
        mps_free(pool, p[n], s[n]);
      }
    }
  }
  cr_assert_geq(mps_pool_total_size(pool), 0);
  cr_assert_leq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  for (i = 0; i < n; ++i)
    mps_free(pool, p[i], s[i]);
  return res;
}

Test(mvt, fault_injection_sweep_of_the_commit_limit)
{
  size_t base, k, failures = 0;
  mps_arena_spare_set(arena, 0.0);
  {
    /* Warm up: descriptors come from arena control memory, which the
     * arena keeps once it has it. */
    mps_pool_t pool = make_mvt(2048, 0.5, 1280);
    mps_ap_t ap[2];
    ap[0] = make_ap(pool);
    ap[1] = make_ap(pool);
    mps_ap_destroy(ap[1]);
    mps_ap_destroy(ap[0]);
    mps_pool_destroy(pool);
  }
  base = mps_arena_committed(arena);
  for (k = 160; k != (size_t)-1; --k) {
    mps_pool_t pool;
    mps_ap_t ap[2];
    mps_res_t res;
    cr_assert_eq(mps_arena_commit_limit_set(arena, base + k * GRAIN), MPS_RES_OK);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_MAX_SIZE, (size_t)2048);
      MPS_ARGS_ADD(args, MPS_KEY_MVT_FRAG_LIMIT, 0.5);
      MPS_ARGS_ADD(args, MPS_KEY_MVT_RESERVE_DEPTH, (mps_word_t)(k * 8));
      res = mps_pool_create_k(&pool, arena, mps_class_mvt(), args);
    } MPS_ARGS_END(args);
    if (res != MPS_RES_OK) {
      cr_assert(res == MPS_RES_COMMIT_LIMIT || res == MPS_RES_MEMORY, "create: %d", res);
      ++failures;
      continue;
    }
    res = mps_ap_create_k(&ap[0], pool, mps_args_none);
    if (res == MPS_RES_OK) {
      res = mps_ap_create_k(&ap[1], pool, mps_args_none);
      if (res == MPS_RES_OK) {
        res = sweep_workload(pool, ap);
        cr_assert(res == MPS_RES_OK || res == MPS_RES_COMMIT_LIMIT
                  || res == MPS_RES_MEMORY, "workload: %d at k=%zu", res, k);
        if (res != MPS_RES_OK)
          ++failures;
        mps_ap_destroy(ap[1]);
      } else {
        cr_assert(res == MPS_RES_COMMIT_LIMIT || res == MPS_RES_MEMORY);
      }
      mps_ap_destroy(ap[0]);
    } else {
      cr_assert(res == MPS_RES_COMMIT_LIMIT || res == MPS_RES_MEMORY);
    }
    /* Still usable with the limit lifted. */
    cr_assert_eq(mps_arena_commit_limit_set(arena, SIZE_MAX), MPS_RES_OK);
    res = mps_ap_create_k(&ap[0], pool, mps_args_none);
    cr_assert_eq(res, MPS_RES_OK);
    {
      mps_addr_t q;
      cr_assert_eq(ap_alloc(&q, ap[0], 112, 5), MPS_RES_OK);
      mps_free(pool, q, 112);
    }
    mps_ap_destroy(ap[0]);
    cr_assert_leq(mps_pool_free_size(pool), mps_pool_total_size(pool));
    mps_pool_destroy(pool);
    cr_assert_leq(mps_arena_committed(arena), base, "leak at k=%zu", k);
  }
  cr_assert_gt(failures, 10);   /* the sweep did reach the failures */
}

/* Allocation point misuse is reported and refused (docs/user-guide.md):
 * nothing is written through a null out-pointer, no frame is pushed in
 * the middle of a reserve and commit, and the point still works after. */
Test(mvt, allocation_point_misuse_is_refused)
{
  mps_pool_t pool = make_mvt(1024, 0.5, 4);
  mps_ap_t ap = make_ap(pool);
  mps_addr_t p, q;
  mps_frame_t frame;
#if CHECK_LEVEL < 1
  cr_skip_test("reported in the checking varieties");
#endif
  reports_install();
  cr_assert_eq(mps_ap_create_k(NULL, pool, mps_args_none), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(mps_ap_fill(NULL, ap, 64), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), 2);
  cr_assert_eq(mps_reserve(&p, ap, 64), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_push(&frame, ap), MPS_RES_FAIL);
  cr_assert_eq(reports_seen(), 3);
  memset(p, 0x11, 64);
  cr_assert(mps_commit(ap, p, 64));
  cr_assert_eq(mps_ap_frame_push(&frame, ap), MPS_RES_OK);
  cr_assert_eq(ap_alloc(&q, ap, 64, 0x22), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_pop(ap, frame), MPS_RES_OK);
  cr_assert(filled_with(p, 64, 0x11));
  mps_ap_destroy(ap);
  mps_free(pool, p, 64);
  mps_free(pool, q, 64);
  mps_pool_destroy(pool);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 3);
}
