/* Unit tests for the MVFF pool class: keyword arguments, placement for
 * the two documented combinations of the MVFF booleans, coalescing,
 * extension, spare memory going back to the arena, allocation points and
 * frames, quick lists and large blocks, ARENA_HIGH, the commit limit
 * (including a fault-injection sweep), and client errors (double,
 * overlapping and wrong-pool frees). */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvff.h"
#include "../include/mpslib.h"
#include "../src/arena/arena.h"
#include "../src/base/config.h"
#include "support/checks.h"
#include "support/reports.h"

static mps_arena_t arena;
static size_t grain;

static void setup(void)
{
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  grain = arena->grain_size;
}

static void teardown(void)
{
  mps_arena_destroy(arena);
}

TestSuite(mvff, .init = setup, .fini = teardown);

static mps_pool_t make_pool(size_t extend_by, double spare, int arena_high,
                            int slot_high, int first_fit)
{
  mps_pool_t pool;
  MPS_ARGS_BEGIN(args) {
    if (extend_by != 0)
      MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, extend_by);
    if (spare >= 0.0)
      MPS_ARGS_ADD(args, MPS_KEY_SPARE, spare);
    MPS_ARGS_ADD(args, MPS_KEY_MVFF_ARENA_HIGH, arena_high);
    MPS_ARGS_ADD(args, MPS_KEY_MVFF_SLOT_HIGH, slot_high);
    MPS_ARGS_ADD(args, MPS_KEY_MVFF_FIRST_FIT, first_fit);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  return pool;
}

/* A fill of exactly `size` bytes and its commit, both of which must
 * succeed: how these tests take one block from an allocation point. */
static void fill_commit(mps_addr_t *p_o, mps_ap_t ap, size_t size)
{
  cr_assert_eq(mps_ap_fill(p_o, ap, size), MPS_RES_OK);
  cr_assert(mps_commit(ap, *p_o, size));
}

/* n blocks of `size` bytes from the point, block i filled with the byte
 * i & 0xFF, so that a test can tell later whether any was handed out
 * again while in use. */
static void fill_marked(mps_addr_t *blocks, size_t n, mps_ap_t ap, size_t size)
{
  size_t i;
  for (i = 0; i < n; ++i) {
    fill_commit(&blocks[i], ap, size);
    memset(blocks[i], (int)(i & 0xFF), size);
  }
}

/* With the arena keeping no spare memory (so that committed memory shows
 * what the pool holds), a new point of `pool` and n blocks of `size`
 * bytes from it, marked by fill_marked. */
static mps_ap_t marked_point(mps_pool_t pool, mps_addr_t *blocks, size_t n, size_t size)
{
  mps_ap_t ap;
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_marked(blocks, n, ap, size);
  return ap;
}

/* Check that each of the blocks fill_marked made still holds its mark,
 * and free it: all but those whose indices `skip` lists (nskip of them,
 * in increasing order). */
static void free_marked(mps_pool_t pool, mps_addr_t *blocks, size_t n, size_t size,
                        const size_t *skip, size_t nskip)
{
  size_t i, j = 0;
  for (i = 0; i < n; ++i) {
    if (j < nskip && i == skip[j]) {
      ++j;
      continue;
    }
    cr_assert_eq(((unsigned char *)blocks[i])[0], (unsigned char)(i & 0xFF));
    cr_assert_eq(((unsigned char *)blocks[i])[size - 1], (unsigned char)(i & 0xFF));
    mps_free(pool, blocks[i], size);
  }
}

/* n blocks of `size` bytes by mps_alloc, and their frees. */
static void alloc_blocks(mps_pool_t pool, mps_addr_t *blocks, size_t n, size_t size)
{
  size_t i;
  for (i = 0; i < n; ++i)
    cr_assert_eq(mps_alloc(&blocks[i], pool, size), MPS_RES_OK);
}

static void free_blocks(mps_pool_t pool, mps_addr_t *blocks, size_t n, size_t size)
{
  size_t i;
  for (i = 0; i < n; ++i)
    mps_free(pool, blocks[i], size);
}

typedef struct block_s {
  mps_addr_t p;
  size_t size;
} block_s;

/* The end of a test: the n blocks still in use are freed, in order, and
 * then all the pool holds must be free; the pool goes. */
static void free_each_and_destroy(mps_pool_t pool, const block_s *blocks, size_t n)
{
  size_t i;
  for (i = 0; i < n; ++i)
    mps_free(pool, blocks[i].p, blocks[i].size);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

static mps_res_t try_create(mps_key_t key, mps_arg_s value)
{
  mps_pool_t pool;
  mps_res_t res;
  mps_arg_s args[2];
  args[0] = value;
  args[0].key = key;
  args[1].key = MPS_KEY_ARGS_END;
  res = mps_pool_create_k(&pool, arena, mps_class_mvff(), args);
  if (res == MPS_RES_OK)
    mps_pool_destroy(pool);
  return res;
}

static mps_arg_s sz(size_t s) { mps_arg_s a; a.key = NULL; a.val.size = s; return a; }
static mps_arg_s al(mps_align_t s) { mps_arg_s a; a.key = NULL; a.val.align = s; return a; }
static mps_arg_s dbl(double d) { mps_arg_s a; a.key = NULL; a.val.d = d; return a; }

/* A pool with one keyword argument (its value made by sz, al or dbl) and
 * spare 1.0, so that the pool keeps all the memory freed in it. */
static mps_pool_t make_pool_with(mps_key_t key, mps_arg_s value)
{
  mps_pool_t pool;
  mps_arg_s args[3];
  args[0] = value;
  args[0].key = key;
  args[1].key = MPS_KEY_SPARE;
  args[1].val.d = 1.0;
  args[2].key = MPS_KEY_ARGS_END;
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), args), MPS_RES_OK);
  return pool;
}

Test(mvff, defaults_are_as_documented)
{
  mps_pool_t pool;
  mps_addr_t p, q;
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  cr_assert_eq(mps_pool_free_size(pool), 0);
  cr_assert_eq(mps_alloc(&p, pool, 1), MPS_RES_OK);
  cr_assert_eq((uintptr_t)p % MPS_PF_ALIGN, 0);
  /* extend_by 65536 (rounded to the grain). */
  cr_assert_eq(mps_pool_total_size(pool), ((size_t)65536 + grain - 1) / grain * grain);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool) - MPS_PF_ALIGN);
  /* First fit from the bottom by default. */
  cr_assert_eq(mps_alloc(&q, pool, 1), MPS_RES_OK);
  cr_assert_eq((char *)q, (char *)p + MPS_PF_ALIGN);
  mps_free(pool, p, 1);
  mps_free(pool, q, 1);
  mps_pool_destroy(pool);
}

Test(mvff, bad_keyword_values_are_refused)
{
  cr_assert_eq(try_create(MPS_KEY_EXTEND_BY, sz(0)), MPS_RES_PARAM);
  cr_assert_eq(try_create(MPS_KEY_EXTEND_BY, sz(SIZE_MAX)), MPS_RES_PARAM);
  cr_assert_eq(try_create(MPS_KEY_EXTEND_BY, sz(32)), MPS_RES_OK);   /* rounded up to a grain */
  cr_assert_eq(try_create(MPS_KEY_MEAN_SIZE, sz(0)), MPS_RES_PARAM);
  /* A hint (mvff.rst): a mean above the default extension raises it. */
  cr_assert_eq(try_create(MPS_KEY_MEAN_SIZE, sz(65537)), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    mps_pool_t pool;
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, (size_t)65536);
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, (size_t)65537);   /* > the given extend_by */
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  cr_assert_eq(try_create(MPS_KEY_MEAN_SIZE, sz(8)), MPS_RES_OK);
  cr_assert_eq(try_create(MPS_KEY_ALIGN, al(0)), MPS_RES_PARAM);
  cr_assert_eq(try_create(MPS_KEY_ALIGN, al(24)), MPS_RES_PARAM);        /* not a power of 2 */
  cr_assert_eq(try_create(MPS_KEY_ALIGN, al(sizeof(void *) / 2)), MPS_RES_PARAM);
  cr_assert_eq(try_create(MPS_KEY_ALIGN, al(2 * grain)), MPS_RES_PARAM);
  cr_assert_eq(try_create(MPS_KEY_ALIGN, al(grain)), MPS_RES_OK);
  cr_assert_eq(try_create(MPS_KEY_ALIGN, al(sizeof(void *))), MPS_RES_OK);
  cr_assert_eq(try_create(MPS_KEY_SPARE, dbl(-0.01)), MPS_RES_PARAM);
  cr_assert_eq(try_create(MPS_KEY_SPARE, dbl(1.01)), MPS_RES_PARAM);
  cr_assert_eq(try_create(MPS_KEY_SPARE, dbl(NAN)), MPS_RES_PARAM);
  cr_assert_eq(try_create(MPS_KEY_SPARE, dbl(0.0)), MPS_RES_OK);
  cr_assert_eq(try_create(MPS_KEY_SPARE, dbl(1.0)), MPS_RES_OK);
}

Test(mvff, keywords_are_consumed)
{
  mps_pool_t pool;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, (size_t)8192);
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, (size_t)64);
    MPS_ARGS_ADD(args, MPS_KEY_ALIGN, (mps_align_t)16);
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, 0.5);
    MPS_ARGS_ADD(args, MPS_KEY_MVFF_ARENA_HIGH, 0);
    MPS_ARGS_ADD(args, MPS_KEY_MVFF_SLOT_HIGH, 0);
    MPS_ARGS_ADD(args, MPS_KEY_MVFF_FIRST_FIT, 1);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), args), MPS_RES_OK);
    cr_assert_eq(args[0].key, MPS_KEY_ARGS_END);
  } MPS_ARGS_END(args);
  mps_pool_destroy(pool);
}

Test(mvff, alignment_keyword_aligns_blocks)
{
  mps_pool_t pool;
  mps_addr_t p[20];
  int i;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ALIGN, (mps_align_t)256);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  for (i = 0; i < 20; ++i) {
    cr_assert_eq(mps_alloc(&p[i], pool, (size_t)(1 + i * 13)), MPS_RES_OK);
    cr_assert_eq((uintptr_t)p[i] % 256, 0);
  }
  for (i = 0; i < 20; ++i)
    mps_free(pool, p[i], (size_t)(1 + i * 13));
  mps_pool_destroy(pool);
}

Test(mvff, first_fit_from_the_bottom_by_default)
{
  mps_pool_t pool = make_pool(0, -1.0, 0, 0, 1);
  mps_addr_t p[8], q;
  int i;
  for (i = 0; i < 8; ++i) {
    cr_assert_eq(mps_alloc(&p[i], pool, 64), MPS_RES_OK);
    if (i > 0)
      cr_assert_eq((char *)p[i], (char *)p[i - 1] + 64);
  }
  /* Holes at 2 and 5: the lower one is used first; a block too big for
   * either goes after the last. */
  mps_free(pool, p[5], 64);
  mps_free(pool, p[2], 64);
  cr_assert_eq(mps_alloc(&q, pool, 128), MPS_RES_OK);
  cr_assert_eq((char *)q, (char *)p[7] + 64);
  mps_free(pool, q, 128);
  cr_assert_eq(mps_alloc(&q, pool, 32), MPS_RES_OK);
  cr_assert_eq(q, p[2]);
  cr_assert_eq(mps_alloc(&q, pool, 32), MPS_RES_OK);
  cr_assert_eq((char *)q, (char *)p[2] + 32);
  cr_assert_eq(mps_alloc(&q, pool, 64), MPS_RES_OK);
  cr_assert_eq(q, p[5]);
  mps_pool_destroy(pool);
}

Test(mvff, top_down_combination_works_from_the_top)
{
  mps_pool_t pool = make_pool(0, -1.0, 1, 1, 0);
  mps_addr_t p[8], q;
  int i;
  for (i = 0; i < 8; ++i) {
    cr_assert_eq(mps_alloc(&p[i], pool, 64), MPS_RES_OK);
    if (i > 0)
      cr_assert_eq((char *)p[i], (char *)p[i - 1] - 64);
  }
  /* The first block is at the very top of the extension. */
  cr_assert_eq(((uintptr_t)p[0] + 64) % grain, 0);
  mps_free(pool, p[5], 64);
  mps_free(pool, p[2], 64);
  /* The higher hole first, from its top end. */
  cr_assert_eq(mps_alloc(&q, pool, 32), MPS_RES_OK);
  cr_assert_eq((char *)q, (char *)p[2] + 32);
  cr_assert_eq(mps_alloc(&q, pool, 32), MPS_RES_OK);
  cr_assert_eq(q, p[2]);
  cr_assert_eq(mps_alloc(&q, pool, 64), MPS_RES_OK);
  cr_assert_eq(q, p[5]);
  cr_assert_eq(mps_alloc(&q, pool, 64), MPS_RES_OK);
  cr_assert_eq((char *)q, (char *)p[7] - 64);
  mps_pool_destroy(pool);
}

Test(mvff, freed_neighbours_coalesce)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_addr_t a, b, c, d, q;
  size_t total;
  cr_assert_eq(mps_alloc(&a, pool, 100), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 200), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 300), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&d, pool, 8), MPS_RES_OK);
  total = mps_pool_total_size(pool);
  /* Free in an order that joins on both sides. */
  mps_free(pool, a, 100);
  mps_free(pool, c, 300);
  mps_free(pool, b, 200);
  cr_assert_eq(mps_alloc(&q, pool, 600), MPS_RES_OK);
  cr_assert_eq(q, a);
  cr_assert_eq(mps_pool_total_size(pool), total);
  mps_free(pool, q, 600);
  mps_free(pool, d, 8);
  /* Everything has coalesced into the one extension. */
  cr_assert_eq(mps_alloc(&q, pool, total), MPS_RES_OK);
  cr_assert_eq(q, a);
  cr_assert_eq(mps_pool_total_size(pool), total);
  mps_pool_destroy(pool);
}

/* Many small neighbours freed in a scrambled order sit on several quick
 * lists (a point exists, so frees are listed); the flush before mps_alloc
 * sorts them all at once (more blocks than one batch here) and they
 * coalesce whole, with the land too. */
Test(mvff, many_listed_neighbours_coalesce_when_flushed)
{
  enum { N = 3000 };
  mps_pool_t pool = make_pool(1 << 20, 1.0, 0, 0, 1);
  static mps_addr_t p[N];
  size_t i, total, span;
  mps_addr_t q;
  mps_ap_t ap;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  for (i = 0; i < N; ++i)
    cr_assert_eq(mps_alloc(&p[i], pool, 16 + 16 * (i % 3)), MPS_RES_OK);
  for (i = 1; i < N; ++i)   /* contiguous: first fit in one extension */
    cr_assert_eq((char *)p[i], (char *)p[i - 1] + 16 + 16 * ((i - 1) % 3));
  span = (size_t)((char *)p[N - 1] - (char *)p[0]) + 16 + 16 * ((N - 1) % 3);
  total = mps_pool_total_size(pool);
  for (i = 0; i < N; ++i) {
    size_t j = (i * 1999) % N;   /* 1999 is prime to N: a permutation */
    mps_free(pool, p[j], 16 + 16 * (j % 3));
  }
  cr_assert_eq(mps_pool_free_size(pool), total);
  cr_assert_eq(mps_alloc(&q, pool, span), MPS_RES_OK);
  cr_assert_eq(q, p[0]);
  cr_assert_eq(mps_pool_total_size(pool), total);
  mps_free(pool, q, span);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* A flush of many listed blocks sorts them all at once in scratch grains
 * from the arena (pool_mvff.c, mvff_flush); when the commit limit leaves
 * no room for those, it sorts them in batches on the stack instead, and
 * the blocks must coalesce all the same, with nothing committed. */
Test(mvff, flush_without_scratch_memory_still_coalesces)
{
  enum { N = 3000 };
  mps_pool_t pool = make_pool(1 << 20, 1.0, 0, 0, 1);
  static mps_addr_t p[N];
  size_t i, total, span, committed, limit;
  mps_addr_t q;
  mps_ap_t ap;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);   /* frees are listed */
  for (i = 0; i < N; ++i)
    cr_assert_eq(mps_alloc(&p[i], pool, 16 + 16 * (i % 3)), MPS_RES_OK);
  span = (size_t)((char *)p[N - 1] - (char *)p[0]) + 16 + 16 * ((N - 1) % 3);
  total = mps_pool_total_size(pool);
  for (i = 0; i < N; ++i) {
    size_t j = (i * 1999) % N;
    mps_free(pool, p[j], 16 + 16 * (j % 3));
  }
  mps_arena_spare_set(arena, 0.0);
  committed = mps_arena_committed(arena);
  limit = mps_arena_commit_limit(arena);
  cr_assert_eq(mps_arena_commit_limit_set(arena, committed), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&q, pool, span), MPS_RES_OK);
  cr_assert_eq(q, p[0]);
  cr_assert_eq(mps_arena_committed(arena), committed);
  cr_assert_eq(mps_pool_total_size(pool), total);
  cr_assert_eq(mps_pool_free_size(pool), total - span);
  cr_assert_eq(mps_arena_commit_limit_set(arena, limit), MPS_RES_OK);
  mps_free(pool, q, span);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* Listed blocks spread over more than 2^16 alignment units: the flush's
 * radix sort needs three passes (an odd number, so its result is in the
 * second array and must be copied back), and every block must still
 * coalesce. */
Test(mvff, flush_sorts_blocks_spread_over_megabytes)
{
  enum { N = 2000, SIZE = 1024 };
  mps_pool_t pool = make_pool(4 << 20, 1.0, 0, 0, 1);
  static mps_addr_t p[N];
  size_t i, total, span = (size_t)N * SIZE;
  mps_addr_t q;
  mps_ap_t ap;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);   /* frees are listed */
  for (i = 0; i < N; ++i)
    cr_assert_eq(mps_alloc(&p[i], pool, SIZE), MPS_RES_OK);
  for (i = 1; i < N; ++i)
    cr_assert_eq((char *)p[i], (char *)p[i - 1] + SIZE);
  total = mps_pool_total_size(pool);
  for (i = 0; i < N; ++i) {
    size_t j = (i * 1999 + 7) % N;   /* 1999 is prime to 2000 */
    mps_free(pool, p[j], SIZE);
  }
  cr_assert_eq(mps_pool_free_size(pool), total);
  cr_assert_eq(mps_alloc(&q, pool, span), MPS_RES_OK);
  cr_assert_eq(q, p[0]);
  cr_assert_eq(mps_pool_total_size(pool), total);
  mps_free(pool, q, span);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

Test(mvff, pool_extends_for_small_and_large_blocks)
{
  mps_pool_t pool = make_pool(4 * 4096, 1.0, 0, 0, 1);
  size_t ext = (4 * 4096 + grain - 1) / grain * grain;
  size_t big = 10 * ext + 1;
  mps_addr_t p[64], q;
  int i;
  for (i = 0; i < 64; ++i) {
    cr_assert_eq(mps_alloc(&p[i], pool, ext / 8), MPS_RES_OK);
    memset(p[i], i, ext / 8);
  }
  cr_assert_eq(mps_pool_total_size(pool), 8 * ext);
  cr_assert_eq(mps_pool_free_size(pool), 0);
  /* Bigger than extend_by: just enough grains. */
  cr_assert_eq(mps_alloc(&q, pool, big), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 8 * ext + (big + grain - 1) / grain * grain);
  memset(q, 0xAB, big);
  for (i = 0; i < 64; ++i)
    cr_assert_eq(((unsigned char *)p[i])[ext / 8 - 1], (unsigned char)i);
  mps_free(pool, q, big);
  for (i = 0; i < 64; ++i)
    mps_free(pool, p[i], ext / 8);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

Test(mvff, spare_memory_goes_back_to_the_arena)
{
  enum { N = 32 };
  mps_pool_t pool;
  mps_addr_t p[N];
  size_t in_use0, block = 3 * grain;
  int i;
  mps_arena_spare_set(arena, 0.0);   /* so that committed shows it */
  in_use0 = mps_arena_committed(arena);
  pool = make_pool(0, 0.5, 0, 0, 1);
  for (i = 0; i < N; ++i)
    cr_assert_eq(mps_alloc(&p[i], pool, block), MPS_RES_OK);
  cr_assert_geq(mps_pool_total_size(pool), N * block);
  cr_assert_geq(mps_arena_committed(arena), in_use0 + N * block);
  for (i = 0; i < N; ++i) {
    size_t free, total;
    mps_free(pool, p[i], block);
    free = mps_pool_free_size(pool);
    total = mps_pool_total_size(pool);
    cr_assert_leq(free, total);
    cr_assert_leq((double)free, 0.5 * (double)total + (double)grain,
                  "free %zu of %zu after %d frees", free, total, i + 1);
  }
  /* Whole grains only: nothing at all is left, of the 96 grains, but the
   * pool's own record (about two grains: its quick lists' heads and slab
   * classes) and the land's descriptors. */
  cr_assert_eq(mps_pool_total_size(pool), 0);
  cr_assert_lt(mps_arena_committed(arena), in_use0 + 5 * grain);
  mps_pool_destroy(pool);
}

Test(mvff, spare_one_keeps_everything_and_zero_keeps_nothing)
{
  mps_pool_t keep = make_pool(0, 1.0, 0, 0, 1);
  mps_pool_t none = make_pool(0, 0.0, 0, 0, 1);
  mps_addr_t a, b, c;
  size_t total;
  cr_assert_eq(mps_alloc(&a, keep, 5 * grain), MPS_RES_OK);
  total = mps_pool_total_size(keep);
  mps_free(keep, a, 5 * grain);
  cr_assert_eq(mps_pool_total_size(keep), total);
  cr_assert_eq(mps_pool_free_size(keep), total);
  cr_assert_eq(mps_alloc(&b, none, 8), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, none, 8), MPS_RES_OK);
  mps_free(none, b, 8);
  /* Only the grain holding c stays. */
  cr_assert_eq(mps_pool_total_size(none), grain);
  cr_assert_eq(mps_pool_free_size(none), grain - (8 + MPS_PF_ALIGN - 1) / MPS_PF_ALIGN * MPS_PF_ALIGN);
  mps_free(none, c, 8);
  cr_assert_eq(mps_pool_total_size(none), 0);
  mps_pool_destroy(keep);
  mps_pool_destroy(none);
}

Test(mvff, allocation_points_keep_contents)
{
  enum { N = 20000 };
  static mps_addr_t blocks[N];
  static size_t sizes[N];
  mps_pool_t pool = make_pool(0, -1.0, 0, 0, 1);
  mps_ap_t ap;
  unsigned rng = 12345;
  size_t live = 0;
  int i;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  for (i = 0; i < N; ++i) {
    mps_addr_t p;
    size_t size;
    rng = rng * 1103515245u + 12345u;
    size = (i % 500 == 7) ? 100000 : 8 + ((rng >> 16) % 400);
    size = (size + MPS_PF_ALIGN - 1) & ~(size_t)(MPS_PF_ALIGN - 1);
    do {
      cr_assert_eq(mps_reserve(&p, ap, size), MPS_RES_OK);
      memset(p, i & 0xFF, size);
    } while (!mps_commit(ap, p, size));
    cr_assert_eq((uintptr_t)p % MPS_PF_ALIGN, 0);
    blocks[i] = p;
    sizes[i] = size;
    live += size;
    /* Free some of them through mps_free too: a mixed pool. */
    if (i % 3 == 2) {
      mps_free(pool, blocks[i - 1], sizes[i - 1]);
      live -= sizes[i - 1];
      sizes[i - 1] = 0;
    }
  }
  cr_assert_geq(mps_pool_total_size(pool), live + mps_pool_free_size(pool));
  for (i = 0; i < N; ++i) {
    unsigned char *b = blocks[i];
    if (sizes[i] == 0)
      continue;
    cr_assert_eq(b[0], (unsigned char)(i & 0xFF));
    cr_assert_eq(b[sizes[i] - 1], (unsigned char)(i & 0xFF));
  }
  mps_ap_destroy(ap);
  for (i = 0; i < N; ++i)
    if (sizes[i] != 0)
      mps_free(pool, blocks[i], sizes[i]);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

/* The blocks on the grid of the slab whose first block is `first`: its
 * descriptor is at the start of its grains, and it holds `bytes`. */
static size_t slab_grid_bytes(mps_addr_t first, size_t bytes, size_t size)
{
  size_t head = (size_t)((uintptr_t)first % grain);
  return (bytes - head) / size * size;
}

/* a and b of `size` bytes, side by side, and then c of 64 bytes, which
 * keeps the two apart from the free rest of the extension. */
static void alloc_side_by_side(mps_pool_t pool, mps_addr_t *a_o, mps_addr_t *b_o, size_t size,
                               mps_addr_t *c_o)
{
  cr_assert_eq(mps_alloc(a_o, pool, size), MPS_RES_OK);
  cr_assert_eq(mps_alloc(b_o, pool, size), MPS_RES_OK);
  cr_assert_eq(mps_alloc(c_o, pool, 64), MPS_RES_OK);
  cr_assert_eq((char *)*b_o, (char *)*a_o + size);
}

/* With no allocation point, a small free goes into the land at once (a
 * quick list would only hold it until the next mps_alloc flushed it), so
 * a point made afterwards finds it on no list and takes a slab's block;
 * the land has it, joined with its free neighbour, for mps_alloc. */
Test(mvff, frees_without_a_point_go_into_the_land)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, b, c, p;
  size_t free0;
  alloc_side_by_side(pool, &a, &b, 64, &c);
  free0 = mps_pool_free_size(pool);
  mps_free(pool, a, 64);
  mps_free(pool, b, 64);
  cr_assert_eq(mps_pool_free_size(pool), free0 + 128);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 64);
  cr_assert((char *)p < (char *)a || (char *)p >= (char *)a + 128,
            "the fill took a block freed before the point was made");
  mps_ap_destroy(ap);
  cr_assert_eq(mps_alloc(&p, pool, 128), MPS_RES_OK);
  cr_assert_eq(p, a, "the two frees are one free block of the land");
  mps_free(pool, p, 128);
  mps_free(pool, c, 64);
  mps_pool_destroy(pool);
}

/* Allocation points get exactly the size they ask for: small sizes from
 * their quick list or their slab, others from their quick list or first
 * fit from the land (not worst fit: see pool_mvff.c). */
Test(mvff, fills_take_exactly_the_size_medium_from_the_best_hole_small_from_slabs)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, hole, c, p, q, r;
  size_t total, free0, slab, grid, over;
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&hole, pool, 8000), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 64), MPS_RES_OK);
  total = mps_pool_total_size(pool);
  mps_free(pool, hole, 8000);   /* too big for a quick list: into the land */
  free0 = mps_pool_free_size(pool);
  cr_assert_eq(free0, total - 128);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  /* A medium fill (too big for a slab class): best fit, the hole rather
   * than the larger free block after c, and exactly the size asked for,
   * so the point can place nothing else there. */
  fill_commit(&p, ap, 5008);
  cr_assert_eq(p, hole);
  cr_assert_eq(mps_pool_free_size(pool), free0 - 5008);
  cr_assert_eq(mps_pool_total_size(pool), total);
  /* A small fill with nothing listed: a slab of its own, fresh from the
   * arena (not the rest of the hole), at least 16 KiB, whose blocks all go
   * to the point's cache, in use until the point goes; the next small
   * fill of that size is the next block of the slab. */
  fill_commit(&q, ap, 64);
  cr_assert((char *)q < (char *)hole || (char *)q >= (char *)hole + 8000);
  /* The pool grew by the slab's zone (or the slab alone, without one). */
  slab = mps_pool_total_size(pool) - total;
  cr_assert_geq(slab, 16384);
  cr_assert_eq(slab % grain, 0);
  grid = slab_grid_bytes(q, 16384, 64);
  cr_assert_lt(16384 - grid, 256, "the slab's descriptor takes %zu bytes", 16384 - grid);
  /* Its descriptor and tail, and the rest of its zone, count as free. */
  over = slab - grid;
  cr_assert_eq(mps_pool_free_size(pool), free0 - 5008 + over);
  fill_commit(&r, ap, 64);
  cr_assert_eq((char *)r, (char *)q + 64);
  cr_assert_eq(mps_pool_free_size(pool), free0 - 5008 + over);
  /* The rest of the cache goes back to the slab with the point. */
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_free_size(pool), free0 - 5008 + slab - 128);
  /* A small block of the pool's land freed while the pool has a point
   * goes on its quick list, counted as free, and the next fill of that
   * size takes it before the slab. */
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  mps_free(pool, a, 64);
  fill_commit(&p, ap, 64);
  cr_assert_eq(p, a);
  /* A slab's block freed goes back to its slab, and a fill of its size
   * gets it again (through the cache, which took the slab's free list). */
  fill_commit(&p, ap, 64);
  cr_assert_eq((char *)p, (char *)q + 128);
  mps_free(pool, r, 64);
  mps_free(pool, p, 64);
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_free_size(pool), free0 - 5008 + slab - 64);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 64);
  cr_assert_eq((char *)p, (char *)q + 128, "the last block freed comes first");
  fill_commit(&r, ap, 64);
  cr_assert_eq((char *)r, (char *)q + 64);
  mps_ap_destroy(ap);
  mps_free(pool, a, 64);
  mps_free(pool, hole, 5008);
  mps_free(pool, c, 64);
  mps_free(pool, q, 64);
  mps_free(pool, r, 64);
  mps_free(pool, p, 64);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  /* With every block of the slab back, the slab went back to the arena,
   * and mps_alloc, first fit over the lists and the land, finds the whole
   * pool coalesced. */
  cr_assert_eq(mps_pool_total_size(pool), total);
  cr_assert_eq(mps_alloc(&p, pool, total), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), total);
  mps_free(pool, p, total);
  mps_pool_destroy(pool);
}

/* Fills too big for slabs take the smallest free block that holds them,
 * the lowest of equals (best fit), which keeps the larger holes whole
 * for later large blocks; mps_alloc keeps to first fit. */
Test(mvff, large_fills_take_the_smallest_hole_that_holds_them)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, big, b, small, c, p, q, r;
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&big, pool, 20000), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&small, pool, 6000), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 64), MPS_RES_OK);
  cr_assert((char *)big < (char *)small, "mps_alloc placed the blocks upwards");
  mps_free(pool, big, 20000);
  mps_free(pool, small, 6000);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 5008);
  cr_assert_eq(p, small, "not the lower, larger hole");
  fill_commit(&q, ap, 7008);
  cr_assert_eq(q, big, "the larger hole, now the smallest that holds it");
  memset(p, 1, 5008);
  memset(q, 2, 7008);
  mps_ap_destroy(ap);
  /* mps_alloc is first fit: the rest of the big hole, below the rest of
   * the small one. */
  cr_assert_eq(mps_alloc(&r, pool, 512), MPS_RES_OK);
  cr_assert_eq((char *)r, (char *)big + 7008);
  free_each_and_destroy(pool, (const block_s[]){{r, 512}, {p, 5008}, {q, 7008},
                                                 {a, 64}, {b, 64}, {c, 64}}, 6);
}

/* A slab all of whose blocks are freed goes back to the arena at once;
 * mps_alloc leaves slabs with blocks in use alone. */
Test(mvff, empty_slabs_go_back_and_mps_alloc_leaves_slabs_alone)
{
  enum { N = 200 };
  mps_pool_t pool = make_pool(0, 0.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t blocks[N], big;
  size_t i;
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_marked(blocks, N, ap, 256);
  /* 200 blocks of 256 bytes take more than one 16 KiB slab. */
  cr_assert_gt(mps_pool_total_size(pool), 16384);
  mps_ap_destroy(ap);
  for (i = 0; i < N; ++i)
    mps_free(pool, blocks[i], 256);
  /* A pool that may keep nothing free keeps no slab. */
  cr_assert_eq(mps_pool_total_size(pool), 0);
  cr_assert_eq(mps_pool_free_size(pool), 0);
  /* Again, and mps_alloc with half the blocks still in use. */
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_marked(blocks, N, ap, 256);
  mps_ap_destroy(ap);
  for (i = 0; i < N; i += 2)
    mps_free(pool, blocks[i], 256);
  cr_assert_eq(mps_alloc(&big, pool, 100 * 1024), MPS_RES_OK);
  memset(big, 0xEE, 100 * 1024);
  for (i = 1; i < N; i += 2) {
    cr_assert_eq(((unsigned char *)blocks[i])[0], (unsigned char)i);
    cr_assert_eq(((unsigned char *)blocks[i])[255], (unsigned char)i);
    mps_free(pool, blocks[i], 256);
  }
  mps_free(pool, big, 100 * 1024);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

/* Blocks freed all over several slabs (without the lock, in hot and
 * rash) are handed out again before the pool takes a new slab: a refill
 * gathers the lists of several slabs, and takes in pending frees first. */
Test(mvff, frees_scattered_over_slabs_are_reused_before_a_new_slab)
{
  enum { N = 2000 };
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  static mps_addr_t blocks[N], again[N / 2];
  size_t i, j, total;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_marked(blocks, N, ap, 64);
  total = mps_pool_total_size(pool);
  cr_assert_gt(total, 4 * 16384, "2000 blocks of 64 bytes fill several slabs");
  for (i = 0; i < N; i += 2)
    mps_free(pool, blocks[i], 64);
  for (j = 0; j < N / 2; ++j) {
    fill_commit(&again[j], ap, 64);
    memset(again[j], 0xAB, 64);
  }
  cr_assert_eq(mps_pool_total_size(pool), total, "no new slab for the freed blocks");
  /* The blocks still in use were not handed out again. */
  for (i = 1; i < N; i += 2) {
    cr_assert_eq(((unsigned char *)blocks[i])[0], (unsigned char)(i & 0xFF));
    cr_assert_eq(((unsigned char *)blocks[i])[63], (unsigned char)(i & 0xFF));
  }
  mps_ap_destroy(ap);
  for (i = 1; i < N; i += 2)
    mps_free(pool, blocks[i], 64);
  for (j = 0; j < N / 2; ++j)
    mps_free(pool, again[j], 64);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

/* In hot and rash, blocks freed without the lock come back to the next
 * fills of their class before the point's untouched rest of a slab, all
 * of them (the fill takes every slab's pending list at once), and go
 * back to their slabs with the point's cache when it is destroyed.  Cool
 * frees under the lock onto the slabs' lists, which a refill reaches
 * only once the rest is used up. */
Test(mvff, frees_without_the_lock_come_back_before_the_rest)
{
  enum { N = 600, FREED = 6 };
  static const size_t freed[FREED] = { 10, 20, 300, 310, 550, 590 };
  mps_pool_t pool = make_pool(0, 0.0, 0, 0, 1);
  mps_ap_t ap;
  static mps_addr_t blocks[N];
  mps_addr_t again[FREED];
  size_t i, j, total;
#if CHECK_LEVEL >= 2
  cr_skip_test("cool frees every block under the lock");
#endif
  /* Three 16 KiB slabs of 64-byte blocks, the last with a rest. */
  ap = marked_point(pool, blocks, N, 64);
  total = mps_pool_total_size(pool);
  for (i = 0; i < FREED; ++i)
    mps_free(pool, blocks[freed[i]], 64);
  for (j = 0; j < FREED; ++j) {
    fill_commit(&again[j], ap, 64);
    for (i = 0; i < FREED && again[j] != blocks[freed[i]]; ++i)
      ;
    cr_assert_lt(i, FREED, "fill %zu handed out %p, not a freed block", j, again[j]);
    for (i = 0; i < j; ++i)
      cr_assert_neq(again[i], again[j], "a freed block handed out twice");
    memset(again[j], 0xC3, 64);
  }
  cr_assert_eq(mps_pool_total_size(pool), total);
  /* Freed again, and one fill takes them all into the point's cache,
   * which destroying the point gives back. */
  for (j = 0; j < FREED; ++j)
    mps_free(pool, again[j], 64);
  fill_commit(&again[0], ap, 64);
  mps_ap_destroy(ap);
  mps_free(pool, again[0], 64);
  free_marked(pool, blocks, N, 64, freed, FREED);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  cr_assert_eq(mps_pool_total_size(pool), 0, "every slab went back");
  mps_pool_destroy(pool);
}

/* A free without the lock records its block by its offset from the
 * slab's first block, so the first block itself is offset 0: the empty
 * remote list is told by the word's count, not by its offsets.  A slab's
 * first block freed alone must come back to the next fill; freed first
 * (the list's tail) and then its neighbour, both must come back, last
 * freed first; and freed alone, it must count as free once the pool takes
 * it in under the lock (a size query does). */
Test(mvff, first_blocks_of_slabs_freed_without_the_lock_come_back)
{
  enum { N = 600 };
  mps_pool_t pool = make_pool(0, 0.0, 0, 0, 1);
  mps_ap_t ap;
  static mps_addr_t blocks[N];
  mps_addr_t again[2];
  size_t second, free_before;
#if CHECK_LEVEL >= 2
  cr_skip_test("cool frees every block under the lock");
#endif
  ap = marked_point(pool, blocks, N, 64);
  /* The second slab's first block: the first not just after the one
   * handed out before it. */
  for (second = 1; second < N; ++second)
    if ((char *)blocks[second] != (char *)blocks[second - 1] + 64)
      break;
  cr_assert_lt(second, N - 1, "600 blocks of 64 bytes fill more than one slab");
  mps_free(pool, blocks[0], 64);
  fill_commit(&again[0], ap, 64);
  cr_assert_eq(again[0], blocks[0], "a first block freed alone comes back");
  mps_free(pool, blocks[0], 64);
  mps_free(pool, blocks[1], 64);
  fill_commit(&again[0], ap, 64);
  fill_commit(&again[1], ap, 64);
  cr_assert_eq(again[0], blocks[1], "the last block freed comes back first");
  cr_assert_eq(again[1], blocks[0], "the first block of a slab comes back");
  memset(blocks[0], 0, 64);
  memset(blocks[1], 1, 64);
  free_before = mps_pool_free_size(pool);
  mps_free(pool, blocks[second], 64);
  cr_assert_eq(mps_pool_free_size(pool), free_before + 64,
               "a first block freed alone is taken in and counted");
  mps_ap_destroy(ap);
  free_marked(pool, blocks, N, 64, &second, 1);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  cr_assert_eq(mps_pool_total_size(pool), 0, "every slab went back");
  mps_pool_destroy(pool);
}

/* Slabs come from zones of 1 MiB of grains (with this arena's 4 KiB
 * grains): slabs of several classes share one, whose free grains count as
 * free memory; a zone with no slab left goes back; and a pool that keeps
 * no spare memory gives back a zone's free grains at once. */
Test(mvff, slabs_share_zones_which_go_back_when_empty)
{
  enum { N = 64 };
  static const size_t sizes[] = { 16, 32, 64, 1024 };
  enum { SIZES = sizeof sizes / sizeof sizes[0] };
  mps_pool_t keep = make_pool(0, 1.0, 0, 0, 1), none = make_pool(0, 0.0, 0, 0, 1);
  mps_ap_t ap;
  static mps_addr_t blocks[SIZES][N];
  char *lo = NULL, *hi = NULL;
  size_t c, i, live = 0;
  cr_assert_eq(grain, 4096, "the test assumes 4 KiB grains");
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_ap_create_k(&ap, keep, mps_args_none), MPS_RES_OK);
  for (c = 0; c < SIZES; ++c) {
    fill_marked(blocks[c], N, ap, sizes[c]);
    for (i = 0; i < N; ++i) {
      char *b = blocks[c][i];
      if (lo == NULL || b < lo)
        lo = b;
      if (hi == NULL || b + sizes[c] > hi)
        hi = b + sizes[c];
    }
    live += N * sizes[c];
  }
  cr_assert_eq(mps_pool_total_size(keep), (size_t)1 << 20, "one zone holds four slabs");
  cr_assert_leq((size_t)(hi - lo), (size_t)1 << 20, "the slabs lie in one zone");
  mps_ap_destroy(ap);
  /* Only the blocks handed out are in use: the rest of the zone is free. */
  cr_assert_eq(mps_pool_free_size(keep), mps_pool_total_size(keep) - live);
  for (c = 0; c < SIZES; ++c)
    free_marked(keep, blocks[c], N, sizes[c], NULL, 0);
  cr_assert_eq(mps_pool_total_size(keep), 0, "the zone went back with its last slab");
  /* Spare 0: once one slab of two is gone, the zone keeps only the other. */
  cr_assert_eq(mps_ap_create_k(&ap, none, mps_args_none), MPS_RES_OK);
  fill_marked(blocks[0], N, ap, 16);
  fill_marked(blocks[1], N, ap, 1024);
  mps_ap_destroy(ap);
  free_marked(none, blocks[1], N, 1024, NULL, 0);
  cr_assert_leq(mps_pool_total_size(none), (size_t)16384,
                "a zone's free grains go back when the pool keeps no spare");
  cr_assert_eq(mps_pool_free_size(none), mps_pool_total_size(none) - N * 16);
  free_marked(none, blocks[0], N, 16, NULL, 0);
  cr_assert_eq(mps_pool_total_size(none), 0);
  mps_pool_destroy(keep);
  mps_pool_destroy(none);
}

/* Slabs' records (what a free without the lock reads of a slab) come in
 * blocks of 126 and are used again once their slabs go back: over 126
 * slabs at once, every block freed and the slabs released, then as many
 * again, must keep every block intact and leave the pool all free. */
Test(mvff, slab_records_come_in_blocks_and_are_used_again)
{
  enum { CLASSES = 16, BYTES = 160 * 1024, PER = BYTES / 16 };
  mps_pool_t pool = make_pool(0, 0.0, 0, 0, 1);
  mps_ap_t ap;
  static mps_addr_t blocks[CLASSES][PER];
  size_t c, i, round;
  mps_arena_spare_set(arena, 0.0);
  for (round = 0; round < 2; ++round) {
    cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
    for (c = 0; c < CLASSES; ++c)
      for (i = 0; i < BYTES / (16 * (c + 1)); ++i) {
        size_t size = 16 * (c + 1);
        fill_commit(&blocks[c][i], ap, size);
        memset(blocks[c][i], (int)((c + i + round) & 0xFF), size);
      }
    /* 160 KiB of each class: ten 16 KiB slabs each, 160 in all. */
    cr_assert_gt(mps_pool_total_size(pool), (size_t)130 * 16384);
    for (c = 0; c < CLASSES; ++c)
      for (i = 0; i < BYTES / (16 * (c + 1)); ++i) {
        size_t size = 16 * (c + 1);
        unsigned char *b = blocks[c][i];
        cr_assert_eq(b[0], (unsigned char)((c + i + round) & 0xFF));
        cr_assert_eq(b[size - 1], (unsigned char)((c + i + round) & 0xFF));
        mps_free(pool, b, size);
      }
    /* The point's cache holds blocks and rests until it goes. */
    mps_ap_destroy(ap);
    cr_assert_eq(mps_pool_total_size(pool), 0, "every slab went back");
  }
  mps_pool_destroy(pool);
}

/* Grains too large for a slab's record (its offsets are 24 bits) make no
 * slabs: small fills then come from the pool's free memory, and work. */
Test(mvff, grains_too_large_for_slabs_leave_small_fills_to_the_land,
     .init = NULL, .fini = NULL)
{
  enum { N = 500 };
  mps_arena_t big;
  mps_pool_t pool;
  mps_ap_t ap;
  static mps_addr_t blocks[N];
  size_t i;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, (size_t)1 << 25);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 27);
    cr_assert_eq(mps_arena_create_k(&big, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_pool_create_k(&pool, big, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  for (i = 0; i < N; ++i) {
    size_t size = 16 + 16 * (i % 16);
    fill_commit(&blocks[i], ap, size);
    memset(blocks[i], (int)(i & 0xFF), size);
  }
  /* One grain of free memory holds them all: no slab took a grain. */
  cr_assert_eq(mps_pool_total_size(pool), (size_t)1 << 25);
  for (i = 0; i < N; ++i) {
    size_t size = 16 + 16 * (i % 16);
    cr_assert_eq(((unsigned char *)blocks[i])[size - 1], (unsigned char)(i & 0xFF));
    mps_free(pool, blocks[i], size);
  }
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
  mps_arena_destroy(big);
}

/* A slab whose blocks a point gave back unused, and to which blocks were
 * then freed, is refilled from, list and rest, before any new slab is
 * made, even while other slabs of its class have free blocks too. */
Test(mvff, a_slab_with_free_blocks_and_a_rest_is_not_forgotten)
{
  enum { N = 300, FREED = 10, AGAIN = 200 };
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  static mps_addr_t blocks[N], again[AGAIN + 2 * FREED];
  size_t i, total;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_marked(blocks, N, ap, 64);
  /* A 16 KiB slab holds fewer than 256 blocks of 64 bytes: the first
   * is used up, and the point gives the second's rest back. */
  mps_ap_destroy(ap);
  total = mps_pool_total_size(pool);
  for (i = 0; i < FREED; ++i) {
    mps_free(pool, blocks[i], 64);          /* the first slab: listed */
    mps_free(pool, blocks[N - 1 - i], 64);  /* the second: current */
  }
  (void)mps_pool_free_size(pool);   /* takes in frees made without the lock */
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  for (i = 0; i < AGAIN + 2 * FREED; ++i)
    fill_commit(&again[i], ap, 64);
  cr_assert_eq(mps_pool_total_size(pool), total, "a new slab while the second's rest waited");
  mps_ap_destroy(ap);
  for (i = 0; i < AGAIN + 2 * FREED; ++i)
    mps_free(pool, again[i], 64);
  for (i = FREED; i < N - FREED; ++i)
    mps_free(pool, blocks[i], 64);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

/* Slabs emptied by frees go back to the arena before the pool asks it for
 * more, so a large block after them needs no more committed memory. */
Test(mvff, slabs_emptied_by_frees_go_back_before_the_pool_grows)
{
  enum { N = 1024 };
  mps_pool_t pool = make_pool(0, 0.0, 0, 0, 1);
  mps_ap_t ap;
  static mps_addr_t blocks[N];
  mps_addr_t big;
  size_t i, committed;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_marked(blocks, N, ap, 64);
  committed = mps_arena_committed(arena);
  /* 64 KiB of blocks in four full slabs and a fifth whose rest the
   * point keeps; the full ones empty. */
  for (i = 0; i < N; ++i)
    mps_free(pool, blocks[i], 64);
  cr_assert_eq(mps_alloc(&big, pool, 32768), MPS_RES_OK);
  memset(big, 0x5A, 32768);
  cr_assert_leq(mps_arena_committed(arena), committed);
  mps_free(pool, big, 32768);
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  mps_pool_destroy(pool);
}

/* Sizes above 256 bytes, up to 4 KiB, share slab classes, eight per
 * doubling: a block takes its class's size in the slab, but the point's
 * region is exactly the size asked for, and mps_free takes the size the
 * client asked for. */
Test(mvff, medium_sizes_share_slab_classes)
{
  mps_pool_t pool = make_pool(0, 0.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p, q, r, t;
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 304);
  cr_assert_eq((char *)ap->limit, (char *)p + 304);
  fill_commit(&q, ap, 320);
  cr_assert_eq((char *)q, (char *)p + 320, "304 and 320 are one class of 320");
  fill_commit(&r, ap, 2112);
  fill_commit(&t, ap, 2304);
  cr_assert_eq((char *)t, (char *)r + 2304, "2112 and 2304 are one class of 2304");
  cr_assert(((char *)r >= (char *)p + 16384 || (char *)p >= (char *)r + 16 * 2304),
            "different classes share a slab");
  memset(p, 1, 304);
  memset(q, 2, 320);
  memset(r, 3, 2112);
  memset(t, 4, 2304);
  cr_assert_eq(((unsigned char *)p)[303], 1);
  cr_assert_eq(((unsigned char *)r)[2111], 3);
  mps_ap_destroy(ap);
  mps_free(pool, p, 304);
  mps_free(pool, q, 320);
  mps_free(pool, r, 2112);
  mps_free(pool, t, 2304);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  cr_assert_eq(mps_pool_total_size(pool), 0, "the empty slabs went back");
  mps_pool_destroy(pool);
}

Test(mvff, small_fills_of_different_sizes_use_different_slabs)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p[6];
  size_t sizes[6] = {32, 48, 32, 48, 32, 48}, i, slab;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  for (i = 0; i < 6; ++i) {
    fill_commit(&p[i], ap, sizes[i]);
  }
  /* Each size carves its own slab in address order. */
  cr_assert_eq((char *)p[2], (char *)p[0] + 32);
  cr_assert_eq((char *)p[4], (char *)p[2] + 32);
  cr_assert_eq((char *)p[3], (char *)p[1] + 48);
  cr_assert_eq((char *)p[5], (char *)p[3] + 48);
  /* Slabs of 16 KiB, each with its descriptor before its grid. */
  slab = 16384;
  cr_assert_geq(mps_pool_total_size(pool), 2 * slab);
  cr_assert((char *)p[1] >= (char *)p[0] + slab - 256 || (char *)p[0] >= (char *)p[1] + slab - 256);
  mps_ap_destroy(ap);
  for (i = 0; i < 6; ++i)
    mps_free(pool, p[i], sizes[i]);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

/* A small fill that can have no slab takes fill_size bytes (mean_size
 * times 128) of the lowest block that holds it if the block is at least
 * twice that, else the whole block: with a hole of exactly twice 4 KiB,
 * 4 KiB; with a mean size of 16, 2 KiB of a hole of 8000 bytes; with the
 * default mean size (32), all of a hole of 8000.  When the point goes,
 * what it did not use goes back.  `pool` keeps all its spare memory. */
static void small_fill_from_a_hole(mps_pool_t pool, size_t hole_size, size_t taken)
{
  mps_ap_t ap;
  mps_addr_t a, hole, c, p;
  size_t free0, limit = mps_arena_commit_limit(arena);
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&hole, pool, hole_size), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 64), MPS_RES_OK);
  mps_free(pool, hole, hole_size);
  free0 = mps_pool_free_size(pool);
  /* No memory for a slab: no spare, and nothing above what is committed. */
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 64);
  cr_assert_eq(p, hole, "the lowest hole");
  cr_assert_eq((char *)ap->limit, (char *)hole + taken);
  cr_assert_eq(mps_pool_free_size(pool), free0 - taken);
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_free_size(pool), free0 - 64);
  cr_assert_eq(mps_arena_commit_limit_set(arena, limit), MPS_RES_OK);
  free_each_and_destroy(pool, (const block_s[]){{a, 64}, {p, 64}, {c, 64}}, 3);
}

Test(mvff, a_small_fill_without_a_slab_takes_a_hole_and_empty_gives_back_the_rest)
{
  small_fill_from_a_hole(make_pool(0, 1.0, 0, 0, 1), 8000, 8000);
}

/* A point still holding part of a larger region (a small fill without a
 * slab) takes the lock for its next fill even when its cache has blocks of
 * that size; that fill leaves the cache as it is, and every block comes
 * back when the point goes. */
Test(mvff, a_locked_fill_with_blocks_cached_keeps_the_cache)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t hole, p, q, r, s;
  size_t free0, rest;
  cr_assert_eq(mps_alloc(&hole, pool, 8000), MPS_RES_OK);
  mps_free(pool, hole, 8000);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  /* 64-byte blocks: a slab, whose blocks the cache takes; the commit
   * limit leaves room for the slab but not for a zone, so no zone has
   * room for the next slab either. */
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena) + 16384 + 4 * grain),
               MPS_RES_OK);
  fill_commit(&p, ap, 64);
  free0 = mps_pool_free_size(pool);
  /* 48-byte blocks cannot get a slab: a region from the hole. */
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  fill_commit(&q, ap, 48);
  cr_assert_eq(q, hole);
  /* Leave 16 bytes of the region, too few for the next block. */
  rest = (size_t)((char *)ap->limit - (char *)ap->alloc);
  cr_assert_gt(rest, 64, "the region is only the block");
  do {
    cr_assert_eq(mps_reserve(&r, ap, rest - 16), MPS_RES_OK);
  } while (!mps_commit(ap, r, rest - 16));
  cr_assert_eq((char *)r, (char *)hole + 48);
  fill_commit(&s, ap, 64);
  mps_ap_destroy(ap);
  mps_free(pool, p, 64);
  mps_free(pool, q, 48);
  mps_free(pool, r, rest - 16);
  mps_free(pool, s, 64);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  cr_assert_geq(mps_pool_total_size(pool), 8000);
  (void)free0;
  mps_arena_commit_limit_set(arena, (size_t)1 << 30);
  mps_pool_destroy(pool);
}

/* A freed large block stays in the land (with spare 1.0), where the next
 * large fill that fits takes it; with spare 0 its grains go back. */
Test(mvff, large_blocks_are_reused_from_the_land)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_pool_t none = make_pool(0, 0.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p, q;
  size_t size = 40 * grain + 16, total0;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  total0 = mps_pool_total_size(pool);
  do {
    cr_assert_eq(mps_reserve(&p, ap, size), MPS_RES_OK);
    memset(p, 3, size);
  } while (!mps_commit(ap, p, size));
  /* Just enough whole grains. */
  cr_assert_eq(mps_pool_total_size(pool), total0 + 41 * grain);
  mps_free(pool, p, size);
  cr_assert_eq(mps_pool_total_size(pool), total0 + 41 * grain);
  do {
    cr_assert_eq(mps_reserve(&q, ap, 30 * grain), MPS_RES_OK);
  } while (!mps_commit(ap, q, 30 * grain));
  cr_assert_eq(q, p);
  cr_assert_eq(mps_pool_total_size(pool), total0 + 41 * grain);
  mps_free(pool, q, 30 * grain);
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  cr_assert_eq(mps_ap_create_k(&ap, none, mps_args_none), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, ap, size), MPS_RES_OK);
  } while (!mps_commit(ap, p, size));
  mps_free(none, p, size);
  cr_assert_eq(mps_pool_total_size(none), 0);
  mps_ap_destroy(ap);
  mps_pool_destroy(none);
  mps_pool_destroy(pool);
}

Test(mvff, a_large_fill_of_whole_grains_leaves_nothing_over)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p, q;
  size_t size = 40 * grain;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, size);
  cr_assert_eq(mps_pool_total_size(pool), size);
  cr_assert_eq(mps_pool_free_size(pool), 0);
  /* Not whole grains: the rest of the last grain is free in the land. */
  fill_commit(&q, ap, size + 16);
  cr_assert_eq(mps_pool_total_size(pool), 2 * size + grain);
  cr_assert_eq(mps_pool_free_size(pool), grain - 16);
  mps_ap_destroy(ap);
  mps_free(pool, p, size);
  mps_free(pool, q, size + 16);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

Test(mvff, arena_high_takes_memory_from_the_top)
{
  mps_pool_t low = make_pool(0, -1.0, 0, 0, 1);
  mps_pool_t high = make_pool(0, -1.0, 1, 0, 1);
  mps_addr_t a, b;
  cr_assert_eq(mps_alloc(&a, low, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, high, 64), MPS_RES_OK);
  /* The default pool extends from the lowest free grains, the other from
   * the highest. */
  cr_assert_gt((uintptr_t)b, (uintptr_t)a);
  mps_free(low, a, 64);
  mps_free(high, b, 64);
  mps_pool_destroy(high);
  mps_pool_destroy(low);
}

Test(mvff, reserve_bigger_than_extend_by)
{
  mps_pool_t pool = make_pool(8192, -1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p;
  size_t size = 1000 * 1000;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, ap, size), MPS_RES_OK);
    memset(p, 7, size);
  } while (!mps_commit(ap, p, size));
  cr_assert_geq(mps_pool_total_size(pool), size);
  mps_ap_destroy(ap);
  mps_free(pool, p, size);
  mps_pool_destroy(pool);
}

/* mps_alloc is first fit over all free memory outside the slabs: blocks
 * freed onto the quick lists (a point exists) are found, coalesced, by
 * the next mps_alloc, below the untouched rest of the extension. */
Test(mvff, mps_alloc_finds_blocks_on_the_quick_lists_first_fit)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, b, c, q;
  size_t total;
  alloc_side_by_side(pool, &a, &b, 1024, &c);
  total = mps_pool_total_size(pool);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  mps_free(pool, a, 1024);
  mps_free(pool, b, 1024);
  cr_assert_eq(mps_alloc(&q, pool, 2048), MPS_RES_OK);
  cr_assert_eq(q, a, "the two listed blocks, joined, are the lowest fit");
  cr_assert_eq(mps_pool_total_size(pool), total);
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{q, 2048}, {c, 64}}, 2);
}

/* So does a single listed block: mps_alloc flushes the lists however
 * little they hold. */
Test(mvff, mps_alloc_finds_a_single_listed_block)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, b, q;
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  mps_free(pool, a, 64);                   /* listed */
  cr_assert_eq(mps_alloc(&q, pool, 64), MPS_RES_OK);
  cr_assert_eq(q, a, "the listed block is the lowest fit");
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{q, 64}, {b, 64}}, 2);
}

/* A trim (spare 0.25, extend_by one grain) gives back whole grains of a
 * freed block until no more than the spare fraction is free, and then
 * extend_by more (hysteresis): 8 of the block's 10 grains, of 20.  The
 * default pool keeps the block's low end, ARENA_HIGH its high end (the
 * memory each placement prefers), and mps_alloc finds it there. */
static void trim_keeps_the_preferred_end(int arena_high)
{
  mps_pool_t pool = make_pool(grain, 0.25, arena_high, 0, 1);
  mps_addr_t k, x, q;
  mps_pool_t owner;
  char *kept;
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_alloc(&k, pool, 10 * grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&x, pool, 10 * grain), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 20 * grain);
  mps_free(pool, x, 10 * grain);
  cr_assert_eq(mps_pool_total_size(pool), 12 * grain,
               "6 2/3 grains leave a quarter free; rounded up, and one more");
  cr_assert_eq(mps_pool_free_size(pool), 2 * grain);
  kept = arena_high ? (char *)x + 8 * grain : (char *)x;
  cr_assert(mps_addr_pool(&owner, arena, kept) && owner == pool,
            "the preferred end of the block stays");
  cr_assert(!mps_addr_pool(&owner, arena,
                           arena_high ? (char *)x + 7 * grain : (char *)x + 2 * grain),
            "the other end went back");
  cr_assert_eq(mps_alloc(&q, pool, 2 * grain), MPS_RES_OK);
  cr_assert_eq(q, kept);
  cr_assert_eq(mps_pool_total_size(pool), 12 * grain);
  mps_free(pool, q, 2 * grain);
  mps_free(pool, k, 10 * grain);
  mps_pool_destroy(pool);
}

Test(mvff, trims_keep_the_low_end_and_give_back_extend_by_more)
{
  trim_keeps_the_preferred_end(0);
}

Test(mvff, trims_with_arena_high_keep_the_high_end)
{
  trim_keeps_the_preferred_end(1);
}

/* ARENA_HIGH takes the pool's memory from the top of the arena's free
 * grains, and the default from the bottom: so a high pool's first block,
 * though made first, lies above a low pool's made after it. */
Test(mvff, arena_high_pools_take_memory_from_the_top)
{
  mps_pool_t high = make_pool(grain, 0.0, 1, 0, 1);
  mps_pool_t low = make_pool(grain, 0.0, 0, 0, 1);
  mps_addr_t h, l;
  cr_assert_eq(mps_alloc(&h, high, 4 * grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&l, low, 4 * grain), MPS_RES_OK);
  cr_assert_gt((char *)h, (char *)l + 4 * grain);
  mps_free(high, h, 4 * grain);
  mps_free(low, l, 4 * grain);
  mps_pool_destroy(high);
  mps_pool_destroy(low);
}

/* Blocks freed onto the quick lists (a point exists) count as free, so a
 * pool that keeps no spare memory flushes them into the land when the
 * land alone has nothing whole to give back: once every block is freed,
 * the pool holds nothing. */
Test(mvff, a_trim_flushes_the_quick_lists)
{
  enum { N = 8 };
  mps_pool_t pool = make_pool(0, 0.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p[N];
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  alloc_blocks(pool, p, N, 2048);
  free_blocks(pool, p, N, 2048);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
}

/* While the arena holds spare committed memory, a pool extends itself by
 * what the request needs (at most a fill's worth), not by extend_by, so
 * that the arena's spare grains are used before fresh ones. */
Test(mvff, extensions_take_only_what_is_needed_while_the_arena_has_spare)
{
  mps_pool_t first = make_pool(0, 0.0, 0, 0, 1), pool;
  mps_addr_t a, p;
  cr_assert_eq(mps_alloc(&a, first, 64 * grain), MPS_RES_OK);
  mps_free(first, a, 64 * grain);
  cr_assert_eq(mps_pool_total_size(first), 0);
  cr_assert_geq(mps_arena_spare_committed(arena), grain, "the arena keeps what came back");
  pool = make_pool(0, 1.0, 0, 0, 1);
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), grain);
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
  mps_pool_destroy(first);
}

/* design/poolmvff.txt: an extension of extend_by that the arena refuses
 * is tried again for just the request. */
Test(mvff, a_refused_extension_is_tried_again_at_the_request_s_size)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_addr_t p, q;
  size_t limit = mps_arena_commit_limit(arena);
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena) + 2 * grain),
               MPS_RES_OK);
  cr_assert_eq(mps_alloc(&p, pool, grain + 64), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 2 * grain);
  cr_assert_eq(mps_alloc(&q, pool, 2 * grain), MPS_RES_COMMIT_LIMIT);
  cr_assert_eq(mps_arena_commit_limit_set(arena, limit), MPS_RES_OK);
  mps_free(pool, p, grain + 64);
  mps_pool_destroy(pool);
}

/* A fill the land cannot serve, while the quick lists of medium sizes
 * hold at least extend_by, flushes them and is served from what they
 * held: the pool does not grow. */
Test(mvff, a_fill_flushes_full_medium_lists_before_the_pool_grows)
{
  enum { N = 16 };
  mps_pool_t pool = make_pool(4 * grain, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p[N], q;
  size_t total;
  alloc_blocks(pool, p, N, 2048);
  total = mps_pool_total_size(pool);
  cr_assert_eq(mps_pool_free_size(pool), total - N * 2048, "the land is empty");
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  free_blocks(pool, p, N, 2048);
  fill_commit(&q, ap, 8192);
  cr_assert_eq(mps_pool_total_size(pool), total);
  memset(q, 0x3C, 8192);
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{q, 8192}}, 1);
}

/* A fill the land cannot serve and the arena refuses to extend for
 * (the commit limit) flushes every list, and is served from the listed
 * blocks coalesced, though they hold less than the flush bound. */
Test(mvff, a_fill_the_arena_refuses_is_served_from_the_lists_coalesced)
{
  enum { N = 8 };
  mps_pool_t pool = make_pool(4 * grain, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p[N], q;
  size_t limit = mps_arena_commit_limit(arena);
  mps_arena_spare_set(arena, 0.0);
  alloc_blocks(pool, p, N, 2048);
  cr_assert_eq(mps_pool_free_size(pool), 0, "the extension is used up");
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  free_blocks(pool, p + 2, 4, 2048);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  fill_commit(&q, ap, 8192);
  cr_assert_eq(q, p[2]);
  cr_assert_eq(mps_arena_commit_limit_set(arena, limit), MPS_RES_OK);
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{q, 8192}, {p[0], 2048}, {p[1], 2048},
                                                 {p[6], 2048}, {p[7], 2048}}, 5);
}

Test(mvff, a_small_fill_takes_fill_size_of_a_hole_twice_that)
{
  small_fill_from_a_hole(make_pool_with(MPS_KEY_MEAN_SIZE, sz(32)), 8192, 4096);
}

Test(mvff, the_mean_size_sets_how_much_a_small_fill_takes)
{
  small_fill_from_a_hole(make_pool_with(MPS_KEY_MEAN_SIZE, sz(16)), 8000, 2048);
}

/* With an alignment too coarse for the stepped slab classes (64 bytes),
 * sizes above 256 bytes have quick lists but no slabs: a fill of such a
 * size with no block of its own size listed takes the smallest larger
 * listed block, and lists the rest for the next fill. */
Test(mvff, a_medium_fill_without_a_slab_class_takes_a_larger_listed_block)
{
  mps_pool_t pool = make_pool_with(MPS_KEY_ALIGN, al(64));
  mps_ap_t ap;
  mps_addr_t a, b, small, p, q;
  size_t free0;
  cr_assert_eq(mps_alloc(&a, pool, 2048), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&small, pool, 1024), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&q, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  mps_free(pool, a, 2048);
  mps_free(pool, small, 1024);
  free0 = mps_pool_free_size(pool);
  fill_commit(&p, ap, 512);
  cr_assert_eq(p, small, "the smallest listed block that holds it");
  cr_assert_eq(mps_pool_free_size(pool), free0 - 512);
  fill_commit(&p, ap, 512);
  cr_assert_eq((char *)p, (char *)small + 512, "its rest, listed");
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{small, 512}, {p, 512}, {b, 64}, {q, 64}},
                        4);
}

/* With spare 0 a pool keeps no whole free grain, even when its largest
 * free block holds none (it is under two grains and straddles a grain
 * boundary) and a smaller free block is a whole grain: that grain goes
 * back at once.  The pool used to stop at the largest block and keep it. */
Test(mvff, a_whole_free_grain_goes_back_though_the_largest_free_block_holds_none)
{
  mps_pool_t pool = make_pool(3 * grain, 0.0, 0, 0, 1);
  mps_addr_t a, b, c, d;
  mps_arena_spare_set(arena, 0.0);
  /* One extension of three grains: a, then b to a little short of the
   * second grain's end, c to its end, then d the third grain. */
  cr_assert_eq(mps_alloc(&a, pool, 128), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 2 * grain - 256), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 128), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&d, pool, grain), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 3 * grain);
  cr_assert_eq((char *)d, (char *)a + 2 * grain);
  cr_assert_eq((uintptr_t)a % grain, 0);
  mps_free(pool, b, 2 * grain - 256);   /* no whole grain: all kept */
  cr_assert_eq(mps_pool_total_size(pool), 3 * grain);
  mps_free(pool, d, grain);
  cr_assert_eq(mps_pool_total_size(pool), 2 * grain);
  cr_assert_eq(mps_pool_free_size(pool), 2 * grain - 256);
  mps_free(pool, a, 128);
  mps_free(pool, c, 128);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  mps_pool_destroy(pool);
}

/* As above, when no free noted the free grain: a trim walks the land for
 * it.  Here the grain noted last (x's) is allocated again by then, and
 * the free that brings the pool over its spare fraction makes a block of
 * nearly two grains that holds none. */
Test(mvff, a_trim_walks_for_a_whole_free_grain_no_free_noted)
{
  mps_pool_t pool = make_pool(8 * grain, 0.25, 0, 0, 1);
  mps_addr_t a, b, c, x, g, w, f, x2;
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_alloc(&a, pool, 128), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 2 * grain - 256), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 128), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&x, pool, grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&g, pool, grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&w, pool, grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&f, pool, 3 * grain), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 8 * grain);
  cr_assert_eq((uintptr_t)a % grain, 0);
  cr_assert_eq((char *)w, (char *)a + 4 * grain);
  mps_free(pool, w, grain);                 /* under the spare fraction */
  mps_free(pool, x, grain);
  cr_assert_eq(mps_pool_total_size(pool), 8 * grain);
  cr_assert_eq(mps_alloc(&x2, pool, grain), MPS_RES_OK);
  cr_assert_eq(x2, x, "first fit takes x's grain again");
  mps_free(pool, b, 2 * grain - 256);       /* over it: w's grain goes */
  cr_assert_eq(mps_pool_total_size(pool), 7 * grain);
  mps_free(pool, a, 128);
  mps_free(pool, c, 128);
  mps_free(pool, x2, grain);
  mps_free(pool, g, grain);
  mps_free(pool, f, 3 * grain);
  mps_pool_destroy(pool);
}

/* A walk gives back one block's grains and is then skipped for as many
 * trims as it visited blocks (three here: the blocker and two free
 * grains), but no longer: the grain it left is found by the walk of the
 * third trim after it.  Every free grain's hint is stale by then. */
Test(mvff, a_trim_walks_again_once_its_skipped_trims_are_counted)
{
  mps_pool_t pool = make_pool(12 * grain, 0.25, 0, 0, 1);
  mps_addr_t a, b, c, x, s1, g1, s2, g2, s3, t[6], u, f, x2;
  size_t i;
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_alloc(&a, pool, 128), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 2 * grain - 256), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 128), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&x, pool, grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&s1, pool, grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&g1, pool, grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&s2, pool, grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&g2, pool, grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&s3, pool, grain), MPS_RES_OK);
  for (i = 0; i < 6; ++i)
    cr_assert_eq(mps_alloc(&t[i], pool, 128), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&u, pool, grain - 6 * 128), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&f, pool, 3 * grain), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 12 * grain);
  cr_assert_eq((uintptr_t)a % grain, 0);
  cr_assert_eq((char *)f, (char *)a + 9 * grain);
  /* Three free grains, exactly the spare fraction (0.25 of 12): no trim.
   * The hint names x's grain, which is then allocated again. */
  mps_free(pool, g2, grain);
  mps_free(pool, g1, grain);
  mps_free(pool, x, grain);
  cr_assert_eq(mps_alloc(&x2, pool, grain), MPS_RES_OK);
  cr_assert_eq(x2, x, "first fit takes x's grain again");
  /* The blocker (nearly two grains, holding none) brings the pool over:
   * the walk visits it, g1 and g2, and gives back g2's grain only. */
  mps_free(pool, b, 2 * grain - 256);
  cr_assert_eq(mps_pool_total_size(pool), 11 * grain);
  /* Each small free is a trim that finds no grain by the largest block or
   * a hint; the first two are within the walk's count, the third walks. */
  mps_free(pool, t[0], 128);
  mps_free(pool, t[2], 128);
  cr_assert_eq(mps_pool_total_size(pool), 11 * grain, "g1's grain kept while skipped");
  mps_free(pool, t[4], 128);
  cr_assert_eq(mps_pool_total_size(pool), 10 * grain, "g1's grain found by a new walk");
  mps_free(pool, a, 128);
  mps_free(pool, c, 128);
  mps_free(pool, x2, grain);
  mps_free(pool, s1, grain);
  mps_free(pool, s2, grain);
  mps_free(pool, s3, grain);
  mps_free(pool, t[1], 128);
  mps_free(pool, t[3], 128);
  mps_free(pool, t[5], 128);
  mps_free(pool, u, grain - 6 * 128);
  mps_free(pool, f, 3 * grain);
  mps_pool_destroy(pool);
}

Test(mvff, frames_are_accepted_and_misuse_caught)
{
#if CHECK_LEVEL < 1
  cr_skip_test("rash checks nothing");
#else
  mps_pool_t pool = make_pool(0, -1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_frame_t f1, f2;
  mps_addr_t p;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_push(&f1, ap), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, ap, 64), MPS_RES_OK);
  } while (!mps_commit(ap, p, 64));
  cr_assert_eq(mps_ap_frame_push(&f2, ap), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_pop(ap, f2), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_pop(ap, f1), MPS_RES_OK);
  /* Manual pool: the block survives the pop. */
  memset(p, 1, 64);
  reports_install();
  cr_assert_eq(mps_ap_frame_pop(ap, f1), MPS_RES_FAIL);   /* popped twice */
  cr_assert_geq(reports_seen(), 1);
  cr_assert_eq(mps_ap_frame_push(&f1, ap), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_push(&f2, ap), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_pop(ap, f1), MPS_RES_OK);
  reports_install();
  cr_assert_eq(mps_ap_frame_pop(ap, f2), MPS_RES_FAIL);   /* out of order */
  cr_assert_geq(reports_seen(), 1);
  mps_ap_destroy(ap);
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
#endif
}

/* MVFF keeps no record of frames, so push and pop are the point's own
 * business: they must complete while another thread holds the arena's
 * lock.  The holder waits up to two seconds for them; a push that took
 * the lock would wait for the holder instead, and the holder would time
 * out without seeing them done. */
typedef struct frame_holder_s {
  atomic_int held;       /* the holder has the lock */
  atomic_int done;       /* the frames were pushed and popped */
  atomic_int seen;       /* the holder saw them done before letting go */
} frame_holder_s;

static void *frame_lock_holder(void *closure)
{
  frame_holder_s *h = closure;
  struct timespec ms = {0, 1000000};
  int i;
  arena_enter(arena);
  atomic_store(&h->held, 1);
  for (i = 0; i < 2000 && !atomic_load(&h->done); ++i)
    nanosleep(&ms, NULL);
  atomic_store(&h->seen, atomic_load(&h->done));
  arena_leave(arena);
  return NULL;
}

Test(mvff, frames_take_no_lock)
{
  mps_pool_t pool = make_pool(0, -1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_frame_t f1, f2;
  mps_addr_t p;
  frame_holder_s h = {0, 0, 0};
  pthread_t holder;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 64);
  cr_assert_eq(pthread_create(&holder, NULL, frame_lock_holder, &h), 0);
  while (!atomic_load(&h.held))
    sched_yield();
  cr_assert_eq(mps_ap_frame_push(&f1, ap), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_push(&f2, ap), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_pop(ap, f2), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_pop(ap, f1), MPS_RES_OK);
  atomic_store(&h.done, 1);
  cr_assert_eq(pthread_join(holder, NULL), 0);
  cr_assert(atomic_load(&h.seen), "a frame push or pop waited for the arena lock");
  /* The frames popped, and the block allocated before them is kept. */
  memset(p, 3, 64);
  mps_ap_destroy(ap);
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
}

/* A reserve of a zero or misaligned size is a client error: reported in
 * the checking varieties, refused with MPS_RES_PARAM in all, and the point
 * stays usable.  Sizes below, among and above the slab classes, through
 * a point whose cache is live, so that the fill's fast path sees each
 * first (it must pass them all to the locked path). */
Test(mvff, reserves_of_zero_or_misaligned_sizes_are_refused)
{
  static const size_t bad[] = { 0, 1, MPS_PF_ALIGN / 2, MPS_PF_ALIGN + 1, 63, 4095, 4097,
                                65537 };
  /* Sizes whose classes the cache then holds blocks of, so that a fast
   * path taking a misaligned size for its rounded-down class would
   * succeed. */
  static const size_t cached[] = { MPS_PF_ALIGN, 2 * MPS_PF_ALIGN, 64, 4096 };
  mps_pool_t pool = make_pool(0, 0.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p, q, held[sizeof cached / sizeof cached[0]];
  size_t i;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  for (i = 0; i < sizeof cached / sizeof cached[0]; ++i)
    fill_commit(&held[i], ap, cached[i]);
  fill_commit(&q, ap, 64);
  memset(q, 0x5A, 64);
  reports_install();
  for (i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    reports_install();
    cr_assert_eq(mps_reserve(&p, ap, bad[i]), MPS_RES_PARAM, "a reserve of %zu bytes", bad[i]);
    if (CHECK_LEVEL >= 1)
      cr_assert_geq(reports_seen(), 1, "a reserve of %zu bytes is reported", bad[i]);
  }
  reports_install();
  fill_commit(&p, ap, 64);
  cr_assert_neq(p, q);
  cr_assert_eq(((unsigned char *)q)[63], 0x5A);
  mps_ap_destroy(ap);
  mps_free(pool, p, 64);
  mps_free(pool, q, 64);
  for (i = 0; i < sizeof cached / sizeof cached[0]; ++i)
    mps_free(pool, held[i], cached[i]);
  cr_assert_eq(reports_seen(), 0);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

Test(mvff, double_free_is_reported_and_refused)
{
#if CHECK_LEVEL < 1
  cr_skip_test("rash checks nothing");
#else
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_addr_t a, b, c, q;
  size_t free;
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 64), MPS_RES_OK);
  mps_free(pool, b, 64);
  free = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, b, 64);                     /* double free */
  cr_assert_geq(reports_seen(), 1);
  cr_assert_eq(mps_pool_free_size(pool), free);
  /* Still consistent: b's place is handed out once, a and c intact. */
  reports_install();
  memset(a, 0x11, 64);
  memset(c, 0x33, 64);
  cr_assert_eq(mps_alloc(&q, pool, 64), MPS_RES_OK);
  cr_assert_eq(q, b);
  memset(q, 0x22, 64);
  cr_assert_eq(((unsigned char *)a)[63], 0x11);
  cr_assert_eq(((unsigned char *)c)[0], 0x33);
  mps_free(pool, a, 64);
  mps_free(pool, q, 64);
  mps_free(pool, c, 64);
  cr_assert_eq(reports_seen(), 0);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
#endif
}

/* A block of a slab freed twice, or one the slab never handed out, is
 * reported and refused in every checking variety, and the slab carries
 * on: each block is handed out once. */
Test(mvff, double_free_of_a_slab_block_is_reported_and_refused)
{
#if CHECK_LEVEL < 1
  cr_skip_test("rash checks nothing");
#else
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, b, c, p, q;
  size_t free;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&a, ap, 32);
  fill_commit(&b, ap, 32);
  mps_ap_destroy(ap);          /* the slab's rest is its own again */
  mps_free(pool, b, 32);
  free = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, b, 32);                         /* on the slab's list */
  cr_assert_geq(reports_seen(), 1);
  cr_assert_eq(mps_pool_free_size(pool), free);
  reports_install();
  mps_free(pool, (char *)a + 64, 32);            /* never handed out */
  cr_assert_geq(reports_seen(), 1);
  cr_assert_eq(mps_pool_free_size(pool), free);
  reports_install();
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 32);
  cr_assert_eq(p, b);
  fill_commit(&q, ap, 32);
  cr_assert_eq((char *)q, (char *)a + 64);
  fill_commit(&c, ap, 32);
  cr_assert_eq((char *)c, (char *)a + 96);
  mps_ap_destroy(ap);
  mps_free(pool, a, 32);
  mps_free(pool, p, 32);
  mps_free(pool, q, 32);
  mps_free(pool, c, 32);
  cr_assert_eq(reports_seen(), 0);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  cr_assert_eq(mps_pool_total_size(pool), 0, "the empty slab went back");
  mps_pool_destroy(pool);
#endif
}

/* Any overlap with free memory is caught only in cool (a walk of all free
 * memory); hot catches a block freed again while on its quick list. */
Test(mvff, overlapping_free_is_reported_and_refused_in_cool)
{
  mps_pool_t pool;
  mps_addr_t a, b, c, q;
  size_t free;
#if CHECK_LEVEL < 2
  cr_skip_test("the overlap check exists only in cool");
#endif
  pool = make_pool(0, 1.0, 0, 0, 1);
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 64), MPS_RES_OK);
  mps_free(pool, b, 64);                     /* on its quick list */
  free = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, (char *)a + 32, 64);        /* overlaps the listed block */
  cr_assert_geq(reports_seen(), 1);
  cr_assert_eq(mps_pool_free_size(pool), free);
  reports_install();
  mps_free(pool, (char *)c + 32, 5000);      /* overlaps the land's tail */
  cr_assert_geq(reports_seen(), 1);
  cr_assert_eq(mps_pool_free_size(pool), free);
  reports_install();
  cr_assert_eq(mps_alloc(&q, pool, 64), MPS_RES_OK);
  cr_assert_eq(q, b);
  mps_free(pool, a, 64);
  mps_free(pool, q, 64);
  mps_free(pool, c, 64);
  cr_assert_eq(reports_seen(), 0);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

/* Free [p, p + size), a client error with reports_install()'s recorder: it must
 * be reported in the checking varieties and change no free size. */
static void free_is_refused(mps_pool_t pool, mps_addr_t p, size_t size)
{
  size_t free = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, p, size);
  if (CHECK_LEVEL >= 1)
    cr_assert_geq(reports_seen(), 1, "a bad free of %p is reported", p);
  cr_assert_eq(mps_pool_free_size(pool), free, "a bad free of %p changes nothing", p);
}

/* A free of grains of a slab zone that no slab holds (memory never handed
 * out) is reported in the checking varieties and refused in all: through
 * the zones' own record in hot and rash (whose free without the lock
 * leaves it to the locked path), and also as an overlap with free memory
 * in cool.  So is a free of a slab's block after its slab went back to
 * the zone. */
Test(mvff, frees_of_a_zone_s_free_grains_are_refused)
{
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t p, q;
  char *zone_end;
  pool = make_pool(0, 1.0, 0, 0, 1);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 64);
  fill_commit(&q, ap, 1024);   /* a second slab, after the first */
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_total_size(pool), (size_t)1 << 20, "the slabs' zone");
  /* The zone starts at the first slab, its first grain; its last grain
   * is free. */
  zone_end = (char *)p - (uintptr_t)p % grain + ((size_t)1 << 20);
  reports_install();
  free_is_refused(pool, zone_end - grain, 64);
  /* The second slab goes back to the zone: freeing its block again is a
   * free of the zone's free grains. */
  reports_install();
  mps_free(pool, q, 1024);
  cr_assert_eq(reports_seen(), 0);
  cr_assert_eq(mps_pool_total_size(pool), (size_t)1 << 20);
  free_is_refused(pool, q, 1024);
  reports_install();
  mps_free(pool, p, 64);
  cr_assert_eq(reports_seen(), 0);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  mps_pool_destroy(pool);
}

/* A slab's block freed with the size of another class, or with no slab
 * size at all, and a free of a slab's descriptor, would put live memory
 * of the slab into the land, where the next allocation would take it from
 * under the slab's blocks: refused in every variety (reported in the
 * checking ones).  The blocks stay live and intact, and their right frees
 * still empty the pool. */
Test(mvff, wrong_size_frees_of_slab_blocks_are_refused)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, b, c, q[4];
  char *slab_base;
  size_t i;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&a, ap, 64);
  fill_commit(&b, ap, 64);
  fill_commit(&c, ap, 64);
  mps_ap_destroy(ap);
  cr_assert_eq((char *)b, (char *)a + 64);
  memset(b, 0x5B, 64);
  slab_base = (char *)a - (uintptr_t)a % grain;
  cr_assert_lt(slab_base, (char *)a, "the slab's descriptor comes first");
  reports_install();
  free_is_refused(pool, a, 128);      /* another class, over b */
  free_is_refused(pool, a, 32);       /* a smaller class */
  free_is_refused(pool, a, 5000);     /* larger than any slab class */
  free_is_refused(pool, slab_base, 64);
  reports_install();
  /* Nothing of the slab was given to the land: new blocks of those sizes
   * come from elsewhere. */
  cr_assert_eq(mps_alloc(&q[0], pool, 128), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&q[1], pool, 32), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&q[2], pool, 5000), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&q[3], pool, 64), MPS_RES_OK);
  for (i = 0; i < 4; ++i)
    cr_assert((char *)q[i] >= slab_base + 16384 || (char *)q[i] < slab_base,
              "block %zu at %p is in the slab at %p", i, q[i], (void *)slab_base);
  for (i = 0; i < 64; ++i)
    cr_assert_eq(((unsigned char *)b)[i], 0x5B);
  mps_free(pool, a, 64);
  mps_free(pool, b, 64);
  mps_free(pool, c, 64);
  mps_free(pool, q[0], 128);
  mps_free(pool, q[1], 32);
  mps_free(pool, q[2], 5000);
  mps_free(pool, q[3], 64);
  cr_assert_eq(reports_seen(), 0);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

/* A free inside a slab block, off the slab's grid, is reported and
 * refused in every variety: in hot and rash the free without the lock
 * finds it off the grid and leaves it to the locked path, which refuses
 * it.  Taken, it would go on the slab's list, to be handed out over the
 * blocks on either side. */
Test(mvff, a_free_off_a_slab_s_grid_is_refused)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, b, q;
  size_t i;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&a, ap, 64);
  fill_commit(&b, ap, 64);
  cr_assert_eq((char *)b, (char *)a + 64);
  memset(a, 0x3A, 64);
  memset(b, 0x5B, 64);
  reports_install();
  free_is_refused(pool, (char *)a + 16, 64);   /* over the end of a and the start of b */
  free_is_refused(pool, (char *)b + 48, 64);
  reports_install();
  /* Nothing of a or b is handed out again. */
  for (i = 0; i < 8; ++i) {
    fill_commit(&q, ap, 64);
    cr_assert((char *)q + 64 <= (char *)a || (char *)q >= (char *)b + 64,
              "block %p overlaps a or b", q);
  }
  for (i = 0; i < 64; ++i) {
    cr_assert_eq(((unsigned char *)a)[i], 0x3A);
    cr_assert_eq(((unsigned char *)b)[i], 0x5B);
  }
  mps_ap_destroy(ap);
  cr_assert_eq(reports_seen(), 0);
  mps_pool_destroy(pool);
}

/* Ranges that start in the land's blocks and reach into a slab's zone,
 * with no free memory of the land in them (which the land would refuse
 * anyway): one that ends in the zone's slab, refused in every variety,
 * and one that covers the whole zone and ends in a later block, refused
 * in cool, which checks every free against all free memory (the zone's
 * free grains). */
Test(mvff, frees_reaching_from_the_land_into_a_zone_are_refused)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t low, mid, a, high;
  char *zone_base;
  size_t gap;
  cr_assert_eq(mps_alloc(&low, pool, 64), MPS_RES_OK);
  /* The rest of the land's first extension, first fit. */
  gap = mps_pool_free_size(pool);
  cr_assert_eq(mps_alloc(&mid, pool, gap), MPS_RES_OK);
  cr_assert_eq((char *)mid, (char *)low + 64);
  cr_assert_eq(mps_pool_free_size(pool), 0);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&a, ap, 64);
  mps_ap_destroy(ap);
  /* The arena hands out its lowest grains first: the zone is above the
   * extension. */
  zone_base = (char *)a - (uintptr_t)a % grain;
  cr_assert_leq((char *)mid + gap, zone_base);
  cr_assert_eq(mps_alloc(&high, pool, (size_t)2 << 20), MPS_RES_OK);
  cr_assert_geq((char *)high, zone_base + ((size_t)1 << 20));
  reports_install();
  free_is_refused(pool, mid, (size_t)((char *)a - (char *)mid) + 64);
  if (CHECK_LEVEL >= 2)
    free_is_refused(pool, mid, (size_t)((char *)high - (char *)mid) + 64);
  reports_install();
  mps_free(pool, a, 64);
  mps_free(pool, low, 64);
  mps_free(pool, mid, gap);
  mps_free(pool, high, (size_t)2 << 20);
  cr_assert_eq(reports_seen(), 0);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

/* A block freed twice, with the lists flushed into the land in between
 * (mps_alloc flushes them): the second free would list a block the land
 * holds, so that both handed it out.  Refused in the checking varieties,
 * through the land (hot) or the walk of all free memory (cool). */
Test(mvff, double_free_after_a_flush_is_refused)
{
#if CHECK_LEVEL < 1
  cr_skip_test("rash checks nothing");
#else
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, b, c, p, q;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&a, pool, 2240), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq((char *)b, (char *)a + 2240, "b bounds a's hole");
  mps_free(pool, a, 2240);                 /* listed */
  cr_assert_eq(mps_alloc(&c, pool, 5000), MPS_RES_OK);   /* flushes */
  cr_assert((char *)c >= (char *)b + 64);
  reports_install();
  free_is_refused(pool, a, 2240);
  reports_install();
  /* Handed out once: by the land, and not by the lists too. */
  fill_commit(&p, ap, 2240);
  cr_assert_eq(mps_alloc(&q, pool, 2240), MPS_RES_OK);
  cr_assert(p == a || q == a);
  cr_assert_neq(p, q);
  mps_ap_destroy(ap);
  mps_free(pool, p, 2240);
  mps_free(pool, q, 2240);
  mps_free(pool, b, 64);
  mps_free(pool, c, 5000);
  cr_assert_eq(reports_seen(), 0);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
#endif
}

/* The first class above MVFF_SMALL_MAX (257..288 bytes) takes only its
 * own sizes on the free without the lock: freed with size zero or with a
 * size of another class, its block is refused like any other's (hot's
 * lock-free free once took every size up to 288 for it, zero included).
 * So is a block of any stepped class freed with the largest size of the
 * class below; with its own class's smallest size it is freed. */
Test(mvff, frees_of_stepped_class_blocks_take_only_their_class_s_sizes)
{
  /* Classes and the largest size of the class below each. */
  static const size_t sizes[][2] = {{288, 256}, {320, 288}, {512, 480}, {576, 512},
                                    {4096, 3840}};
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p;
  size_t i;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  reports_install();
  for (i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
    size_t size = sizes[i][0], below = sizes[i][1];
    fill_commit(&p, ap, size);
    memset(p, 0xA5, size);
    free_is_refused(pool, p, 0);
    free_is_refused(pool, p, 16);
    free_is_refused(pool, p, below);
    cr_assert_eq(((unsigned char *)p)[size - 1], 0xA5);
    reports_install();
    mps_free(pool, p, below + 1);         /* the class's smallest */
    cr_assert_eq(reports_seen(), 0, "a free of %zu bytes of a %zu-byte block", below + 1, size);
  }
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

Test(mvff, double_free_aborts_with_an_aborting_handler, .signal = SIGABRT,
     .disabled = CHECK_LEVEL < 1)   /* rash checks nothing */
{
  mps_pool_t pool = make_pool(0, -1.0, 0, 0, 1);
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  mps_free(pool, a, 64);
  reports_install_abort();
  mps_free(pool, a, 64);
}

Test(mvff, free_into_the_wrong_pool_is_refused)
{
#if CHECK_LEVEL < 1
  cr_skip_test("rash checks nothing");
#else
  mps_pool_t one = make_pool(0, 1.0, 0, 0, 1);
  mps_pool_t two = make_pool(0, 1.0, 0, 0, 1);
  mps_addr_t a, b;
  size_t free_two;
  cr_assert_eq(mps_alloc(&a, one, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, two, 64), MPS_RES_OK);
  free_two = mps_pool_free_size(two);
  reports_install();
  mps_free(two, a, 64);
  cr_assert_geq(reports_seen(), 1);
  cr_assert_eq(mps_pool_free_size(two), free_two);
  reports_install();
  mps_free(one, a, 64);
  mps_free(two, b, 64);
  cr_assert_eq(reports_seen(), 0);
  mps_pool_destroy(one);
  mps_pool_destroy(two);
#endif
}

Test(mvff, free_running_past_the_pool_is_refused)
{
#if CHECK_LEVEL < 1
  cr_skip_test("rash checks nothing");
#else
  mps_pool_t pool = make_pool(grain, 1.0, 0, 0, 1);
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, grain), MPS_RES_OK);
  cr_assert_eq(mps_pool_free_size(pool), 0);
  reports_install();
  /* The pool's only grain and the next, which it does not own. */
  mps_free(pool, a, 2 * grain);
  cr_assert_geq(reports_seen(), 1);
  cr_assert_eq(mps_pool_free_size(pool), 0);
  cr_assert_eq(mps_pool_total_size(pool), grain);
  reports_install_abort();
  mps_free(pool, a, grain);
  cr_assert_eq(mps_pool_free_size(pool), grain);
  mps_pool_destroy(pool);
#endif
}

Test(mvff, commit_limit_failures_leave_the_pool_usable)
{
  enum { N = 1000 };
  static mps_addr_t p[N];
  mps_pool_t pool = make_pool(0, -1.0, 0, 0, 1);
  size_t total, free;
  mps_res_t res = MPS_RES_OK;
  int n, i;
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena) + 40 * grain),
               MPS_RES_OK);
  for (n = 0; n < N; ++n) {
    res = mps_alloc(&p[n], pool, 1000);
    if (res != MPS_RES_OK)
      break;
    memset(p[n], n & 0xFF, 1000);
  }
  cr_assert_eq(res, MPS_RES_COMMIT_LIMIT);
  cr_assert_gt(n, 10);
  total = mps_pool_total_size(pool);
  free = mps_pool_free_size(pool);
  /* The failure changed nothing. */
  cr_assert_eq(mps_alloc(&p[n], pool, 100000), MPS_RES_COMMIT_LIMIT);
  cr_assert_eq(mps_pool_total_size(pool), total);
  cr_assert_eq(mps_pool_free_size(pool), free);
  for (i = 0; i < n; i += 2)
    mps_free(pool, p[i], 1000);
  for (i = 0; i < n; i += 2) {
    cr_assert_eq(mps_alloc(&p[i], pool, 1000), MPS_RES_OK);
    memset(p[i], i & 0xFF, 1000);
  }
  for (i = 0; i < n; ++i)
    cr_assert_eq(((unsigned char *)p[i])[999], (unsigned char)(i & 0xFF));
  for (i = 0; i < n; ++i)
    mps_free(pool, p[i], 1000);
  mps_pool_destroy(pool);
}

/* Fault injection: the same mixed workload with the commit limit at every
 * grain from "plenty" down to "nothing spare".  Every failure is a
 * documented result code; afterwards the pool works, and destroying it
 * gives back exactly what it took. */
enum { SWEEP_OPS = 400, SWEEP_SLOTS = 64 };

typedef struct sweep_block_s {
  unsigned char *p;
  size_t size;
  unsigned char fill;
} sweep_block_s;

static void sweep_check(sweep_block_s *b)
{
  size_t i;
  for (i = 0; i < b->size; i += 61)
    cr_assert_eq(b->p[i], b->fill);
  cr_assert_eq(b->p[b->size - 1], b->fill);
}

static int sweep_ok_failure(mps_res_t res)
{
  return res == MPS_RES_COMMIT_LIMIT || res == MPS_RES_MEMORY || res == MPS_RES_RESOURCE;
}

static size_t sweep_run(mps_pool_t pool, mps_ap_t ap, sweep_block_s *slots)
{
  unsigned rng = 2024;
  size_t failures = 0;
  int op;
  for (op = 0; op < SWEEP_OPS; ++op) {
    sweep_block_s *b;
    size_t size;
    mps_addr_t p;
    mps_res_t res;
    rng = rng * 1103515245u + 12345u;
    b = &slots[(rng >> 8) % SWEEP_SLOTS];
    if (b->p != NULL) {
      sweep_check(b);
      mps_free(pool, b->p, b->size);
      b->p = NULL;
      continue;
    }
    size = 8 + (rng >> 16) % 3000;
    if ((rng & 31) == 0)
      size = 70000 + (rng >> 20);
    size = (size + MPS_PF_ALIGN - 1) & ~(size_t)(MPS_PF_ALIGN - 1);
    if ((rng >> 5) & 1) {
      res = mps_alloc(&p, pool, size);
    } else {
      do {
        res = mps_reserve(&p, ap, size);
        if (res != MPS_RES_OK)
          break;
        memset(p, (int)(op & 0xFF), size);
      } while (!mps_commit(ap, p, size));
    }
    if (res != MPS_RES_OK) {
      cr_assert(sweep_ok_failure(res), "undocumented result %d", res);
      ++failures;
      continue;
    }
    b->p = p;
    b->size = size;
    b->fill = (unsigned char)(op & 0xFF);
    memset(p, b->fill, size);
    cr_assert_leq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  }
  return failures;
}

Test(mvff, fault_injection_sweep_over_the_commit_limit)
{
  static sweep_block_s slots[SWEEP_SLOTS];
  size_t base_committed, plenty, step, failures_seen = 0;
  mps_pool_t pool;
  mps_ap_t ap;
  int i;

  mps_arena_spare_set(arena, 0.0);
  /* Warm up the arena's control memory (the pool, the point and its
   * cache of small blocks), then measure. */
  pool = make_pool(0, -1.0, 0, 0, 1);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  {
    mps_addr_t p;
    do {
      cr_assert_eq(mps_reserve(&p, ap, 64), MPS_RES_OK);
    } while (!mps_commit(ap, p, 64));
    mps_free(pool, p, 64);
  }
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
  base_committed = mps_arena_committed(arena);

  /* How much the workload needs with no limit. */
  pool = make_pool(0, -1.0, 0, 0, 1);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  memset(slots, 0, sizeof slots);
  cr_assert_eq(sweep_run(pool, ap, slots), 0);
  plenty = mps_arena_committed(arena) - base_committed + 8 * grain;
  mps_ap_destroy(ap);
  for (i = 0; i < SWEEP_SLOTS; ++i)
    if (slots[i].p != NULL)
      mps_free(pool, slots[i].p, slots[i].size);
  mps_pool_destroy(pool);
  cr_assert_eq(mps_arena_committed(arena), base_committed);

  for (step = plenty / grain + 1; step-- > 0;) {
    mps_addr_t p;
    cr_assert_eq(mps_arena_commit_limit_set(arena, SIZE_MAX), MPS_RES_OK);
    pool = make_pool(0, -1.0, 0, 0, 1);
    cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
    cr_assert_eq(mps_arena_commit_limit_set(arena, base_committed + step * grain), MPS_RES_OK);
    memset(slots, 0, sizeof slots);
    failures_seen += sweep_run(pool, ap, slots);
    /* Blocks from before are intact; the pool still works in full. */
    cr_assert_eq(mps_arena_commit_limit_set(arena, SIZE_MAX), MPS_RES_OK);
    for (i = 0; i < SWEEP_SLOTS; ++i)
      if (slots[i].p != NULL)
        sweep_check(&slots[i]);
    cr_assert_eq(mps_alloc(&p, pool, 100000), MPS_RES_OK);
    memset(p, 5, 100000);
    do {
      cr_assert_eq(mps_reserve(&p, ap, 64), MPS_RES_OK);
    } while (!mps_commit(ap, p, 64));
    mps_free(pool, p, 64);
    mps_ap_destroy(ap);
    for (i = 0; i < SWEEP_SLOTS; ++i)
      if (slots[i].p != NULL) {
        sweep_check(&slots[i]);
        mps_free(pool, slots[i].p, slots[i].size);
      }
    cr_assert_leq(mps_pool_free_size(pool), mps_pool_total_size(pool));
    mps_pool_destroy(pool);
    cr_assert_eq(mps_arena_committed(arena), base_committed, "step %zu", step);
  }
  cr_assert_gt(failures_seen, 0);
}

/* The generic pool's refusals (docs/user-guide.md, the paragraph after
 * the varieties table): each bad call is reported, does nothing, and
 * leaves the pool and arena usable. */

static void mvff_still_works(mps_pool_t pool)
{
  mps_addr_t p;
  cr_assert_eq(mps_alloc(&p, pool, 40), MPS_RES_OK);
  memset(p, 0x5A, 40);
  mps_free(pool, p, 40);
}

Test(mvff, misaligned_free_is_refused)
{
  mps_pool_t pool;
  mps_addr_t p, q;
  size_t free_before;
#if CHECK_LEVEL < 1
  cr_skip_test("reported in the checking varieties");
#endif
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&q, pool, 64), MPS_RES_OK);
  memset(q, 0x33, 64);
  free_before = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, (char *)p + 1, 63);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(mps_pool_free_size(pool), free_before);
  cr_assert_eq(((unsigned char *)q)[0], 0x33);
  mps_free(pool, p, 64);
  mps_free(pool, q, 64);
  mvff_still_works(pool);
  mps_pool_destroy(pool);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
}

Test(mvff, destroying_a_pool_with_a_live_point_is_refused)
{
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t p;
#if CHECK_LEVEL < 1
  cr_skip_test("reported in the checking varieties");
#endif
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  reports_install();
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1);
  /* Nothing was destroyed: the point and the pool still work. */
  do {
    cr_assert_eq(mps_reserve(&p, ap, 32), MPS_RES_OK);
  } while (!mps_commit(ap, p, 32));
  mvff_still_works(pool);
  mps_ap_destroy(ap);
  mps_free(pool, p, 32);
  mps_pool_destroy(pool);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
}

Test(mvff, a_destroyed_pool_is_refused)
{
  mps_pool_t pool, other;
#if CHECK_LEVEL < 1
  cr_skip_test("reported in the checking varieties");
#endif
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_pool_create_k(&other, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  mps_pool_destroy(pool);
  reports_install();
  /* The pool's descriptor is arena control memory, still mapped while
   * the arena lives, so its cleared signature is what the check reads. */
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  cr_assert_eq(mps_pool_free_size(pool), 0);
  cr_assert_eq(reports_seen(), 3);
  mvff_still_works(other);
  mps_pool_destroy(other);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 3);
}

Test(mvff, null_out_pointers_and_classes_are_refused)
{
  mps_pool_t pool, bad = NULL;
#if CHECK_LEVEL < 1
  cr_skip_test("reported in the checking varieties");
#endif
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  reports_install();
  cr_assert_eq(mps_alloc(NULL, pool, 16), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(mps_pool_create_k(&bad, arena, NULL, mps_args_none), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), 2);
  cr_assert_null(bad);
  cr_assert_eq(mps_pool_create_k(NULL, arena, mps_class_mvff(), mps_args_none),
               MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), 3);
  mvff_still_works(pool);
  mps_pool_destroy(pool);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 3);
}

/* A size so large that rounding it up to the alignment would wrap round
 * is refused, and the pool goes on working. */
Test(mvff, a_size_that_would_wrap_when_aligned_is_refused)
{
  mps_pool_t pool;
  mps_addr_t p;
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&p, pool, SIZE_MAX), MPS_RES_RESOURCE);
  cr_assert_eq(mps_alloc(&p, pool, SIZE_MAX - 1), MPS_RES_RESOURCE);
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  mps_free(pool, p, 64);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

/* Frees of sizes no block can have are refused, and the block stays in
 * use: one that would wrap round when aligned, and one that would run
 * past the top of the address space. */
Test(mvff, a_free_whose_size_wraps_round_is_refused)
{
  mps_pool_t pool;
  mps_addr_t below, p;
  size_t free_size;
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  /* The block a wrapped range would end in is the pool's too. */
  cr_assert_eq(mps_alloc(&below, pool, 16384), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  cr_assert_gt((char *)p, (char *)below + 4096);
  memset(p, 0x3c, 64);
  free_size = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, p, SIZE_MAX);
  mps_free(pool, p, SIZE_MAX - 4095);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(2));
  cr_assert_eq(mps_pool_free_size(pool), free_size);
  cr_assert_eq(((unsigned char *)p)[63], 0x3c);
  mps_free(pool, p, 64);
  mps_free(pool, below, 16384);
  mps_pool_destroy(pool);
}

/* A block of a slab that the slab never handed out (the point that took
 * the slab's rest gave it back when it was destroyed) cannot be freed. */
Test(mvff, a_slab_block_never_handed_out_cannot_be_freed)
{
  mps_pool_t pool = make_pool(0, -1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p, q;
  size_t free_size;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 32);
  mps_ap_destroy(ap);
  free_size = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, (char *)p + 32, 32);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert_eq(mps_pool_free_size(pool), free_size);
  /* The next point gets that block after p, not a second copy of it. */
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&q, ap, 32);
  cr_assert_eq((char *)q, (char *)p + 32);
  mps_ap_destroy(ap);
  mps_free(pool, q, 32);
  mps_free(pool, p, 32);
  mps_pool_destroy(pool);
}

/* With 32-byte alignment the stepped classes' steps (32 bytes a step
 * above 256) are aligned, so sizes above 256 still have slabs: a fill of
 * 288 bytes takes a slab from a zone, and the next is its next block. */
Test(mvff, an_alignment_of_32_keeps_the_stepped_slab_classes)
{
  mps_pool_t pool = make_pool_with(MPS_KEY_ALIGN, al(32));
  mps_ap_t ap;
  mps_addr_t p, q;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 288);
  fill_commit(&q, ap, 288);
  cr_assert_eq((char *)q, (char *)p + 288);
  cr_assert_eq(mps_pool_total_size(pool), (size_t)1 << 20, "the slab's zone");
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{p, 288}, {q, 288}}, 2);
}

/* A listed block cut for a fill leaves a rest of 256 bytes, a small size
 * (whose fills come from slabs): the rest goes into the land, not onto
 * its quick list, so the next fill of 256 bytes takes a slab's block. */
Test(mvff, a_left_over_of_a_small_size_goes_to_the_land)
{
  mps_pool_t pool = make_pool_with(MPS_KEY_ALIGN, al(64));   /* no slab above 256 */
  mps_ap_t ap;
  mps_addr_t a, b, p, q, r;
  cr_assert_eq(mps_alloc(&a, pool, 768), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  mps_free(pool, a, 768);                   /* listed */
  fill_commit(&p, ap, 512);
  cr_assert_eq(p, a, "the listed block, cut");
  fill_commit(&q, ap, 256);
  cr_assert((char *)q < (char *)a || (char *)q >= (char *)a + 768,
            "the 256-byte rest was listed and handed out");
  mps_ap_destroy(ap);
  cr_assert_eq(mps_alloc(&r, pool, 256), MPS_RES_OK);
  cr_assert_eq((char *)r, (char *)a + 512, "the rest is in the land");
  free_each_and_destroy(pool, (const block_s[]){{p, 512}, {q, 256}, {r, 256}, {b, 64}}, 4);
}

/* A fill the land cannot serve flushes the lists of medium sizes when
 * they hold the bound exactly (extend_by here), and is served from them
 * without growing the pool; the lists of small sizes stay, and a fill of
 * such a size still takes its listed block. */
Test(mvff, a_fill_flushes_medium_lists_holding_exactly_the_bound_but_not_small_ones)
{
  enum { N = 8 };
  mps_pool_t pool = make_pool(4 * grain, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p[N], s, fill, q, r;
  size_t size = 4 * grain / N, total;
  alloc_blocks(pool, p, N, size);          /* the first extension, whole */
  cr_assert_eq(mps_alloc(&s, pool, 256), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&fill, pool, 4 * grain - 256), MPS_RES_OK);
  total = mps_pool_total_size(pool);
  cr_assert_eq(total, 8 * grain);
  cr_assert_eq(mps_pool_free_size(pool), 0, "the land is empty");
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  free_blocks(pool, p, N, size);           /* extend_by on medium lists */
  mps_free(pool, s, 256);                  /* a small list */
  fill_commit(&q, ap, 2 * grain);
  cr_assert_eq(q, p[0], "the medium lists, flushed and coalesced");
  cr_assert_eq(mps_pool_total_size(pool), total);
  fill_commit(&r, ap, 256);
  cr_assert_eq(r, s, "the small list was not flushed");
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{q, 2 * grain}, {r, 256}, {fill, 4 * grain - 256}},
                        3);
}

/* The fill-time flush waits until the medium lists hold extend_by, even
 * when that is more than a sixteenth of the pool: with less listed the
 * fill extends the pool and the blocks stay listed for fills of their
 * size. */
Test(mvff, a_fill_leaves_medium_lists_under_extend_by_listed)
{
  enum { N = 8 };
  mps_pool_t pool = make_pool(4 * grain, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p[N], fill, q, r;
  size_t size = 4 * grain / N;
  alloc_blocks(pool, p, N, size);
  cr_assert_eq(mps_alloc(&fill, pool, 4 * grain), MPS_RES_OK);
  cr_assert_eq(mps_pool_free_size(pool), 0, "the land is empty");
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  free_blocks(pool, p, N / 2, size);       /* 2 grains listed, of 8 */
  fill_commit(&q, ap, 2 * grain);
  cr_assert_neq(q, p[0], "the lists were flushed below extend_by");
  cr_assert_gt(mps_pool_total_size(pool), 8 * grain);
  fill_commit(&r, ap, size);
  cr_assert_eq(r, p[N / 2 - 1], "the last block freed is still listed");
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{q, 2 * grain}, {r, size}, {fill, 4 * grain},
                                                 {p[4], size}, {p[5], size}, {p[6], size},
                                                 {p[7], size}}, 7);
}

/* With 8-byte alignment (the default on most platforms) the slab classes
 * still end at 4096 bytes (slab_max: the quick lists reach it at a
 * pointer's alignment); a fill just above it, through a point whose cache
 * holds blocks of every small class, is no class's: two such fills come
 * one after the other from the land. */
Test(mvff, fills_just_above_the_largest_slab_class_come_from_the_land)
{
  mps_pool_t pool = make_pool_with(MPS_KEY_ALIGN, al(8));
  mps_ap_t ap;
  static mps_addr_t primed[256 / 8];
  mps_addr_t q, r;
  size_t size, n = 0;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  for (size = 16; size <= 256; size += 8)
    fill_commit(&primed[n++], ap, size);
  fill_commit(&q, ap, 4104);
  fill_commit(&r, ap, 4104);
  cr_assert_eq((char *)r, (char *)q + 4104, "a fill of 4104 bytes took a cached block");
  mps_ap_destroy(ap);
  mps_free(pool, q, 4104);
  mps_free(pool, r, 4104);
  for (size = 16, n = 0; size <= 256; size += 8)
    mps_free(pool, primed[n++], size);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

/* A point's unused rest of a region goes back when the point is
 * destroyed, and a pool that keeps no spare memory then gives back the
 * whole grains it makes free at once. */
Test(mvff, a_point_s_unused_rest_is_trimmed_when_the_point_goes)
{
  mps_pool_t pool = make_pool(0, 0.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, p;
  size_t limit = mps_arena_commit_limit(arena);
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  cr_assert_eq((uintptr_t)a % grain, 0);
  cr_assert_gt(mps_pool_total_size(pool), 2 * grain);
  /* No memory for a slab: the fill takes a region of the land. */
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 64);
  cr_assert_eq((char *)p, (char *)a + 64);
  cr_assert_gt((size_t)((char *)ap->limit - (char *)p), 64, "the region is more than the block");
  cr_assert_eq(mps_arena_commit_limit_set(arena, limit), MPS_RES_OK);
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_total_size(pool), grain, "only the grain of a and p stays");
  mps_free(pool, p, 64);
  mps_free(pool, a, 64);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  mps_pool_destroy(pool);
}

/* While the arena holds spare memory, an extension takes what the
 * request needs but at least a fill's worth (mean_size * 128, here two
 * grains' worth), not extend_by. */
Test(mvff, extensions_while_the_arena_has_spare_take_a_fill_s_worth)
{
  mps_pool_t first = make_pool(0, 0.0, 0, 0, 1), pool;
  mps_addr_t a, p;
  size_t fill = (64 * 128 + grain - 1) / grain * grain;
  cr_assert_eq(mps_alloc(&a, first, 64 * grain), MPS_RES_OK);
  mps_free(first, a, 64 * grain);
  cr_assert_geq(mps_arena_spare_committed(arena), fill, "the arena keeps what came back");
  pool = make_pool_with(MPS_KEY_MEAN_SIZE, sz(64));
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), fill);
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
  mps_pool_destroy(first);
}

/* Spare memory in the arena of exactly what a request needs is enough
 * for the extension to take only that.  Both pools are made first: a
 * pool's descriptor may take spare memory. */
Test(mvff, spare_memory_of_exactly_the_need_limits_the_extension)
{
  mps_pool_t first = make_pool(grain, 0.0, 0, 0, 1), pool = make_pool(0, 1.0, 0, 0, 1);
  mps_addr_t a, p;
  size_t spare;
  cr_assert_eq(mps_alloc(&a, first, grain), MPS_RES_OK);
  mps_free(first, a, grain);
  spare = mps_arena_spare_committed(arena);
  cr_assert_geq(spare, grain);
  cr_assert_lt(spare, 65536, "less than extend_by");
  cr_assert_eq(mps_alloc(&p, pool, spare), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), spare);
  mps_free(pool, p, spare);
  mps_pool_destroy(pool);
  mps_pool_destroy(first);
}

/* A request so large that its extension, rounded up to whole grains,
 * would wrap round is refused as no address space could hold it, and the
 * pool goes on working (the generic code lets it through: it is within
 * the alignment of the top). */
Test(mvff, a_request_within_a_grain_of_the_top_of_memory_is_refused)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_addr_t p;
  cr_assert_eq(mps_alloc(&p, pool, SIZE_MAX - 2 * MPS_PF_ALIGN + 1), MPS_RES_RESOURCE);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
}

/* A trim that gives back grains of the land also gives back the zones'
 * free grains while the land's, the lists' and the zones' free memory
 * together exceed the spare fraction, though the zones' alone do not. */
Test(mvff, a_trim_gives_back_zones_free_grains_counting_the_land_s_too)
{
  mps_pool_t pool = make_pool(grain, 0.5, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p, big;
  size_t total;
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_alloc(&big, pool, (size_t)2 << 20), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 64);
  mps_ap_destroy(ap);
  total = mps_pool_total_size(pool);
  cr_assert_eq(total, (size_t)3 << 20, "the land's extension and a zone");
  mps_free(pool, big, (size_t)2 << 20);
  cr_assert_lt(mps_pool_total_size(pool), (size_t)3 << 19);
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
}

/* A small fill larger than fill_size (a mean size of 1 makes that 128
 * bytes) still gets a region of its whole size from a hole: 256 bytes of
 * one of 8000. */
Test(mvff, a_small_fill_above_fill_size_gets_its_whole_size)
{
  mps_pool_t pool = make_pool_with(MPS_KEY_MEAN_SIZE, sz(1));
  mps_ap_t ap;
  mps_addr_t a, hole, c, p;
  size_t limit = mps_arena_commit_limit(arena);
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&hole, pool, 8000), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 64), MPS_RES_OK);
  mps_free(pool, hole, 8000);
  /* No memory for a slab: the fill takes a region of the hole. */
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 256);
  cr_assert_eq(p, hole);
  cr_assert_eq((char *)ap->limit, (char *)hole + 256);
  memset(p, 0x6D, 256);
  cr_assert_eq(mps_arena_commit_limit_set(arena, limit), MPS_RES_OK);
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{a, 64}, {p, 256}, {c, 64}}, 3);
}

/* A zone of 256 grains holds exactly 64 slabs of 16 KiB: the 64th takes
 * the zone's last four grains, not a new zone. */
Test(mvff, a_zone_s_last_grains_make_its_last_slab)
{
  enum { MAX = 64 * 256 };
  static mps_addr_t blocks[MAX];
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  size_t n = 0, slabs = 0, i;
  cr_assert_eq(grain, 4096, "the test assumes 4 KiB grains");
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  /* Each slab's blocks follow one another; its first is not right after
   * the last of the slab before (a descriptor is between). */
  while (slabs < 64) {
    cr_assert_lt(n, MAX);
    fill_commit(&blocks[n], ap, 64);
    if (n == 0 || (char *)blocks[n] != (char *)blocks[n - 1] + 64)
      ++slabs;
    ++n;
  }
  cr_assert_eq(mps_pool_total_size(pool), (size_t)1 << 20, "the 64 slabs share one zone");
  mps_ap_destroy(ap);
  for (i = 0; i < n; ++i)
    mps_free(pool, blocks[i], 64);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  mps_pool_destroy(pool);
}

/* A slab's going back, with its zone, makes the pool smaller, so its
 * spare fraction keeps less: the land's free grains over it go back at
 * once, not at the next free of the land. */
Test(mvff, a_slab_going_back_trims_the_land)
{
  mps_pool_t pool = make_pool(grain, 0.5, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, c, p;
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_alloc(&a, pool, (size_t)768 << 10), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, (size_t)256 << 10), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 64);
  mps_ap_destroy(ap);
  cr_assert_eq(mps_pool_total_size(pool), (size_t)2 << 20, "the land's 1 MiB and a zone");
  mps_free(pool, a, (size_t)768 << 10);     /* under half of 2 MiB */
  cr_assert_eq(mps_pool_total_size(pool), (size_t)2 << 20);
  mps_free(pool, p, 64);                     /* the zone goes: 1 MiB left */
  cr_assert_lt(mps_pool_total_size(pool), (size_t)1 << 20, "the land was not trimmed");
  cr_assert_leq((double)mps_pool_free_size(pool),
                0.5 * (double)mps_pool_total_size(pool) + (double)grain);
  mps_free(pool, c, (size_t)256 << 10);
  mps_pool_destroy(pool);
}

/* A slab holds at least 16 blocks after its descriptor: for the class of
 * 4096 bytes that is more than 16 grains' worth (with 4 KiB grains), and
 * 16 fills of that size lie one after the other. */
Test(mvff, a_slab_of_the_largest_class_holds_sixteen_blocks)
{
  enum { N = 16 };
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p[N];
  size_t i;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  for (i = 0; i < N; ++i) {
    fill_commit(&p[i], ap, 4096);
    if (i > 0)
      cr_assert_eq((char *)p[i], (char *)p[i - 1] + 4096, "block %zu is in another slab", i);
  }
  mps_ap_destroy(ap);
  for (i = 0; i < N; ++i)
    mps_free(pool, p[i], 4096);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  mps_pool_destroy(pool);
}

/* A block freed onto its slab's list is marked in its second word.  A
 * slab that went back to its zone and is made again on the same grains
 * hands out the same addresses fresh, the old marks still in them: such
 * a block is in use, and its free is no double free (the mark is only a
 * hint, confirmed by a walk of the slab's list). */
Test(mvff, a_fresh_slab_block_holding_an_old_mark_is_freed)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p, k, q;
  size_t free_before;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 64);
  fill_commit(&k, ap, 1024);   /* another slab keeps the zone */
  mps_ap_destroy(ap);
  mps_free(pool, p, 64);       /* marked; its slab goes back to the zone */
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&q, ap, 64);
  cr_assert_eq(q, p, "the new slab is on the old one's grains");
  free_before = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, q, 64);
  cr_assert_eq(reports_seen(), 0, "a block in use was taken for a free one");
  cr_assert_eq(mps_pool_free_size(pool), free_before + 64);
  mps_ap_destroy(ap);
  mps_free(pool, k, 1024);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  mps_pool_destroy(pool);
}

/* A range that starts in the last block of a slab of its own grains (the
 * commit limit left no room for a zone) and runs into the land's block
 * just above the slab is refused: its first grain is the slab's.  Nothing
 * in it is free, so no other check can tell. */
Test(mvff, a_free_from_a_slab_s_last_block_into_the_land_is_refused)
{
  static mps_addr_t blocks[16384 / 64];
  mps_pool_t pool = make_pool(grain, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t l;
  size_t limit = mps_arena_commit_limit(arena), head, n, i;
  char *slab_end;
  cr_assert_eq(grain, 4096, "the test assumes 4 KiB grains");
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena) + 16384 + 4 * grain),
               MPS_RES_OK);
  fill_commit(&blocks[0], ap, 64);
  cr_assert_eq(mps_pool_total_size(pool), 16384, "a slab of its own grains");
  head = (uintptr_t)blocks[0] % grain;
  n = (16384 - head) / 64;
  for (i = 1; i < n; ++i) {
    fill_commit(&blocks[i], ap, 64);
    cr_assert_eq((char *)blocks[i], (char *)blocks[i - 1] + 64);
  }
  slab_end = (char *)blocks[0] - head + 16384;
  cr_assert_eq(mps_arena_commit_limit_set(arena, limit), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&l, pool, grain), MPS_RES_OK);
  cr_assert_eq((char *)l, slab_end, "the land's grain is just above the slab");
  reports_install();
  free_is_refused(pool, blocks[n - 1], (size_t)(slab_end - (char *)blocks[n - 1]) + 64);
  reports_install();
  mps_ap_destroy(ap);
  for (i = 0; i < n; ++i)
    mps_free(pool, blocks[i], 64);
  mps_free(pool, l, grain);
  cr_assert_eq(reports_seen(), 0);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

/* The same for a block of the land: a zone that went back to the arena
 * (kept committed as spare memory) and came back as the land's extension
 * still holds the mark of a slab's block freed at the same address.  A
 * block handed out there by mps_alloc is in use, and its free onto a
 * quick list (a point exists) is no double free: the mark is confirmed
 * by a walk of the lists. */
Test(mvff, a_land_block_holding_an_old_mark_is_freed)
{
  mps_pool_t pool = make_pool(grain, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t p, f, q;
  size_t head, free_before;
  mps_arena_spare_set(arena, 1.0);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 64);
  mps_ap_destroy(ap);
  head = (uintptr_t)p % grain;
  mps_free(pool, p, 64);       /* marked; the slab and its zone go back */
  cr_assert_eq(mps_pool_total_size(pool), 0);
  cr_assert_eq(mps_alloc(&f, pool, head), MPS_RES_OK);
  cr_assert_eq((char *)f, (char *)p - head, "the extension is on the zone's first grain");
  cr_assert_eq(mps_alloc(&q, pool, 64), MPS_RES_OK);
  cr_assert_eq(q, p);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  free_before = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, q, 64);
  cr_assert_eq(reports_seen(), 0, "a block in use was taken for a listed one");
  cr_assert_eq(mps_pool_free_size(pool), free_before + 64);
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{f, head}}, 1);
}

/* A pool with extend_by `extend_by`, mean size `mean_size` and spare 1.0,
 * whose only free memory is one block of `hole` bytes (it took that much
 * from the arena for one block and got it back), and the region that an
 * allocation point's first fill of `size` bytes then gets when there is
 * no memory for a slab: its size.  The pool goes. */
static size_t region_of_a_fill_without_a_slab(size_t extend_by, size_t mean_size,
                                              size_t hole, size_t size)
{
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t h, p;
  size_t region, limit = mps_arena_commit_limit(arena);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, extend_by);
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, mean_size);
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, 1.0);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_alloc(&h, pool, hole), MPS_RES_OK);
  mps_free(pool, h, hole);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, size);
  cr_assert_eq(p, h, "the low end of the one free block");
  region = (size_t)((char *)ap->limit - (char *)p);
  cr_assert_eq(mps_arena_commit_limit_set(arena, limit), MPS_RES_OK);
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{p, size}}, 1);
  return region;
}

/* A mean size too large for MVFF_FILL_OBJECTS (128) of them to fit in
 * half an extension makes a small fill without a slab take half an
 * extension: 32 KiB of a 128 KiB block, with extend_by 64 KiB and a mean
 * of 1 KiB (the whole block only if it were under twice that).  A mean
 * of 200 bytes, whose 128 fit, makes it take 25,600 bytes. */
Test(mvff, a_large_mean_size_makes_small_fills_take_half_an_extension)
{
  cr_assert_eq(region_of_a_fill_without_a_slab(65536, 1024, 131072, 64), 32768);
  cr_assert_eq(region_of_a_fill_without_a_slab(65536, 200, 131072, 64), 25600);
}

/* MVFF_SMALL_MAX (256 bytes) is a small size: without a slab its fill
 * takes fill_size (4 KiB with the default mean) of the lowest block that
 * holds it, where a larger size gets exactly its size. */
Test(mvff, a_fill_of_256_bytes_without_a_slab_takes_fill_size)
{
  cr_assert_eq(region_of_a_fill_without_a_slab(65536, 32, 131072, 256), 4096);
  cr_assert_eq(region_of_a_fill_without_a_slab(65536, 32, 131072, 272), 272);
}

/* With an alignment of 128 or 256 bytes (above a slab's cache-line
 * head alignment), sizes up to 256 bytes still come from slabs, whose
 * blocks have the pool's alignment: the slab's first block too. */
Test(mvff, slab_blocks_of_a_coarse_alignment_are_aligned)
{
  size_t align;
  for (align = 128; align <= 256; align *= 2) {
    mps_pool_t pool = make_pool_with(MPS_KEY_ALIGN, al(align));
    mps_ap_t ap;
    mps_addr_t blocks[4];
    size_t i;
    cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
    fill_marked(blocks, 4, ap, align);
    cr_assert_eq(mps_pool_total_size(pool), (size_t)1 << 20, "a slab's zone");
    for (i = 0; i < 4; ++i) {
      cr_assert_eq((uintptr_t)blocks[i] % align, 0);
      if (i > 0)
        cr_assert_eq((char *)blocks[i], (char *)blocks[i - 1] + align, "the slab's next block");
    }
    mps_ap_destroy(ap);
    free_marked(pool, blocks, 4, align, NULL, 0);
    cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
    mps_pool_destroy(pool);
  }
}

/* A medium fill with no slab class (alignment 64) and no listed block of
 * its size takes a larger listed block even when that is on the list of
 * the largest quick size, 4096 bytes, and lists the rest. */
Test(mvff, a_medium_fill_takes_a_listed_block_of_the_largest_quick_size)
{
  mps_pool_t pool = make_pool_with(MPS_KEY_ALIGN, al(64));
  mps_ap_t ap;
  mps_addr_t a, b, p, q;
  cr_assert_eq(mps_alloc(&a, pool, 4096), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  mps_free(pool, a, 4096);                 /* listed */
  fill_commit(&p, ap, 3072);
  cr_assert_eq(p, a, "the listed block of 4096 bytes, cut");
  fill_commit(&q, ap, 1024);
  cr_assert_eq((char *)q, (char *)a + 3072, "its rest, listed");
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{p, 3072}, {q, 1024}, {b, 64}}, 3);
}

/* MVFF_SMALL_MAX (256 bytes) is a small size on the quick lists too.
 * With no memory for a slab, a fill of 256 bytes takes a listed block of
 * exactly its size, but never cuts a larger listed one (512 bytes): the
 * next such fill takes a region of the land. */
Test(mvff, fills_of_256_bytes_without_a_slab_take_only_their_own_listed_blocks)
{
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, b, c, p, q;
  size_t limit = mps_arena_commit_limit(arena);
  cr_assert_eq(mps_alloc(&a, pool, 512), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 256), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  mps_free(pool, a, 512);                  /* listed */
  mps_free(pool, c, 256);                  /* listed */
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  fill_commit(&p, ap, 256);
  cr_assert_eq(p, c, "the listed block of its size");
  fill_commit(&q, ap, 256);
  cr_assert((char *)q < (char *)a || (char *)q >= (char *)a + 512,
            "a larger listed block was cut for a small size");
  cr_assert_eq(mps_arena_commit_limit_set(arena, limit), MPS_RES_OK);
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{p, 256}, {q, 256}, {b, 64}}, 3);
}

/* A block of a slab freed twice, the first time without the lock (hot
 * and rash; cool takes the lock for every free), is refused the second
 * time: the locked free takes in the frees of its class before it looks
 * for the block on its slab's list.  Nothing changes, and the block is
 * handed out once again. */
Test(mvff, a_slab_block_freed_twice_after_a_free_without_the_lock_is_refused)
{
#if CHECK_LEVEL < 1
  cr_skip_test("rash checks nothing");
#else
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  mps_addr_t a, b, p, q;
  size_t free0;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&a, ap, 32);
  fill_commit(&b, ap, 32);
  free0 = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, b, 32);
  cr_assert_eq(reports_seen(), 0);
  mps_free(pool, b, 32);                   /* no size query in between */
  cr_assert_geq(reports_seen(), 1, "the second free was not reported");
  cr_assert_eq(mps_pool_free_size(pool), free0 + 32);
  reports_install();
  mps_ap_destroy(ap);                      /* the slab's rest is its own again */
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 32);
  cr_assert_eq(p, b, "the slab's list holds the block");
  fill_commit(&q, ap, 32);
  cr_assert_neq(q, b, "the block was handed out twice");
  mps_ap_destroy(ap);
  cr_assert_eq(reports_seen(), 0);
  free_each_and_destroy(pool, (const block_s[]){{a, 32}, {p, 32}, {q, 32}}, 3);
#endif
}

/* Before a fill makes a new slab, the pool takes in the frees made
 * without the lock, of every class: a slab of another class that they
 * emptied goes back to its zone, whose grains then hold the new slab.
 * Here a zone is full (64 slabs of 16 KiB: two of 256-byte blocks, then
 * 62 of 64-byte ones), every block of its first slab is freed (in cool
 * under the lock, so that the slab goes back at once), and the 65th slab
 * takes that slab's grains rather than a new zone. */
Test(mvff, a_new_slab_takes_the_grains_of_a_slab_emptied_by_frees_without_the_lock)
{
  enum { MAX = 64 * 256 };
  static mps_addr_t xs[MAX], ys[MAX];
  mps_pool_t pool = make_pool(0, 1.0, 0, 0, 1);
  mps_ap_t ap;
  size_t nx = 0, ny = 0, slabs, per = 0, start = 0, i;
  char *base;
  cr_assert_eq(grain, 4096, "the test assumes 4 KiB grains");
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  /* The first slab of 256-byte blocks, used up, and one block of the
   * next (a descriptor is between them). */
  do {
    cr_assert_lt(nx, MAX);
    fill_commit(&xs[nx], ap, 256);
    ++nx;
  } while (nx == 1 || (char *)xs[nx - 1] == (char *)xs[nx - 2] + 256);
  slabs = 2;
  /* Slabs of 64-byte blocks up to the zone's 64th, used up: each holds
   * per blocks (counted in the first), from start on. */
  for (;;) {
    cr_assert_lt(ny, MAX);
    fill_commit(&ys[ny], ap, 64);
    if (ny == 0 || (char *)ys[ny] != (char *)ys[ny - 1] + 64) {
      if (slabs == 3)
        per = ny - start;
      ++slabs;
      start = ny;
    }
    ++ny;
    if (slabs == 64 && ny - start == per)
      break;
  }
  cr_assert_eq(mps_pool_total_size(pool), (size_t)1 << 20, "64 slabs in one zone");
  base = (char *)xs[0];
  for (i = 0; i + 1 < nx; ++i)             /* the first slab's blocks */
    mps_free(pool, xs[i], 256);
  fill_commit(&ys[ny], ap, 64);
  cr_assert((char *)ys[ny] >= base - 16384 && (char *)ys[ny] < base + 16384,
            "the new slab is not in the emptied slab's grains");
  ++ny;
  cr_assert_eq(mps_pool_total_size(pool), (size_t)1 << 20, "a new zone was taken");
  mps_ap_destroy(ap);
  mps_free(pool, xs[nx - 1], 256);
  for (i = 0; i < ny; ++i)
    mps_free(pool, ys[i], 64);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  mps_pool_destroy(pool);
}

/* The pool's total after one small fill from a point, in a new arena of
 * `grain_size` grains: a zone's grains, or the slab's own. */
static size_t total_after_a_small_fill(size_t grain_size)
{
  mps_arena_t a;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t p;
  size_t total;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, grain_size);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 24);
    cr_assert_eq(mps_arena_create_k(&a, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_pool_create_k(&pool, a, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  fill_commit(&p, ap, 64);
  total = mps_pool_total_size(pool);
  mps_ap_destroy(ap);
  mps_free(pool, p, 64);
  cr_assert_eq(mps_pool_total_size(pool), 0, "the slab went back");
  mps_pool_destroy(pool);
  mps_arena_destroy(a);
  return total;
}

/* A slab comes from a zone (1 MiB of grains) while the zone holds at
 * least four slabs: with 256 KiB grains a one-grain slab takes a zone of
 * four; with 512 KiB grains (a zone of two) it takes its own grain. */
Test(mvff, a_slab_takes_a_zone_that_holds_four_such_slabs, .init = NULL, .fini = NULL)
{
  cr_assert_eq(total_after_a_small_fill((size_t)1 << 18), (size_t)1 << 20);
  cr_assert_eq(total_after_a_small_fill((size_t)1 << 19), (size_t)1 << 19);
}

/* With an alignment of 8 bytes there are quick lists (512 of them, a
 * pointer's alignment apart) up to 4096 bytes, as with 16: larger blocks
 * freed while a point exists go into the land, where neighbours coalesce
 * at once, and a large fill finds them joined. */
Test(mvff, an_alignment_of_8_lists_blocks_only_up_to_4096_bytes)
{
  mps_pool_t pool = make_pool_with(MPS_KEY_ALIGN, al(8));
  mps_ap_t ap;
  mps_addr_t a, b, c, p;
  cr_assert_eq(mps_alloc(&a, pool, 5000), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 5000), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 64), MPS_RES_OK);
  cr_assert_eq((char *)b, (char *)a + 5000);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  mps_free(pool, a, 5000);
  mps_free(pool, b, 5000);
  fill_commit(&p, ap, 10000);
  cr_assert_eq(p, a, "the two blocks, joined, are the smallest hole that holds it");
  mps_ap_destroy(ap);
  free_each_and_destroy(pool, (const block_s[]){{p, 10000}, {c, 64}}, 2);
}

/* A trim gives back the largest free blocks first, so that the arena
 * gets long runs: with spare 0.5, a free block of 2 grains below one of 6
 * (15 grains in all), the trim that the second free calls for gives back
 * 3 grains (what puts it over the spare fraction, and extend_by more,
 * rounded up to grains), all of them the high end of the larger block;
 * the smaller stays. */
Test(mvff, a_trim_gives_back_the_largest_free_block_first)
{
  mps_pool_t pool = make_pool(grain, 0.5, 0, 0, 1);
  mps_addr_t a, k1, b, k2, q;
  mps_pool_t owner;
  cr_assert_eq(mps_alloc(&a, pool, 2 * grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&k1, pool, grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 6 * grain), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&k2, pool, 6 * grain), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 15 * grain);
  cr_assert_lt((char *)a, (char *)b);
  mps_free(pool, a, 2 * grain);
  cr_assert_eq(mps_pool_total_size(pool), 15 * grain, "within the spare fraction");
  mps_free(pool, b, 6 * grain);
  cr_assert_eq(mps_pool_total_size(pool), 12 * grain);
  cr_assert(mps_addr_pool(&owner, arena, a) && owner == pool, "the smaller block went back");
  cr_assert(mps_addr_pool(&owner, arena, (char *)b + 2 * grain) && owner == pool);
  cr_assert(!mps_addr_pool(&owner, arena, (char *)b + 3 * grain), "the larger block stayed");
  cr_assert_eq(mps_alloc(&q, pool, 2 * grain), MPS_RES_OK);
  cr_assert_eq(q, a);
  free_each_and_destroy(pool, (const block_s[]){{q, 2 * grain}, {k1, grain}, {k2, 6 * grain}}, 3);
}

/* While the zones' free grains put the pool over its spare fraction,
 * runs of them go back, lowest first, and no more once it is within it.
 * A full zone of 64 slabs (256-byte blocks) in a pool with spare 0.5:
 * its last slab goes, then its first 32; the 33rd slab's going puts it
 * over, and the run of the first 32 slabs' grains (half the zone) goes
 * back; the last slab's grains stay. */
Test(mvff, zones_give_back_free_grains_only_down_to_the_spare_fraction)
{
  enum { MAX = 64 * 64 };
  static mps_addr_t blocks[MAX];
  size_t starts[65];
  mps_pool_t pool = make_pool(0, 0.5, 0, 0, 1);
  mps_ap_t ap;
  size_t n = 0, slabs = 0, s, i;
  cr_assert_eq(grain, 4096, "the test assumes 4 KiB grains");
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  while (slabs < 64) {
    cr_assert_lt(n, MAX);
    fill_commit(&blocks[n], ap, 256);
    if (n == 0 || (char *)blocks[n] != (char *)blocks[n - 1] + 256)
      starts[slabs++] = n;
    ++n;
  }
  starts[64] = n;
  mps_ap_destroy(ap);                      /* the last slab's rest is its own again */
  cr_assert_eq(mps_pool_total_size(pool), (size_t)1 << 20, "64 slabs in one zone");
  for (i = starts[63]; i < starts[64]; ++i)
    mps_free(pool, blocks[i], 256);
  cr_assert_eq(mps_pool_total_size(pool), (size_t)1 << 20);
  for (s = 0; s < 32; ++s)
    for (i = starts[s]; i < starts[s + 1]; ++i)
      mps_free(pool, blocks[i], 256);
  cr_assert_eq(mps_pool_total_size(pool), (size_t)1 << 19,
               "half the zone went back, and no more");
  for (i = starts[32]; i < starts[63]; ++i)
    mps_free(pool, blocks[i], 256);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  mps_pool_destroy(pool);
}
