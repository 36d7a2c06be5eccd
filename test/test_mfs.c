/* Unit tests for the MFS pool class and the generic pool functions it
 * exercises (mps_pool_create_k, mps_alloc, mps_free, sizes, mps_addr_pool,
 * wrong-pool and double frees). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmfs.h"
#include "../include/mpslib.h"
#include "../src/arena/arena.h"
#include "../src/base/config.h"
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

TestSuite(mfs, .init = setup, .fini = teardown);

Test(mfs, unit_size_is_required_and_at_least_a_word)
{
  mps_pool_t pool;
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mfs(), mps_args_none), MPS_RES_PARAM);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, (size_t)1);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mfs(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
}

Test(mfs, blocks_are_distinct_aligned_and_keep_their_contents)
{
  enum { N = 5000 };
  mps_pool_t pool = make_mfs(40, 0);
  static mps_addr_t blocks[N];
  int i;
  for (i = 0; i < N; ++i) {
    cr_assert_eq(mps_alloc(&blocks[i], pool, 40), MPS_RES_OK);
    cr_assert(((uintptr_t)blocks[i] & (MPS_PF_ALIGN - 1)) == 0);
    memset(blocks[i], i & 0xFF, 40);
  }
  for (i = 0; i < N; ++i) {
    unsigned char *b = blocks[i];
    cr_assert_eq(b[0], (unsigned char)(i & 0xFF));
    cr_assert_eq(b[39], (unsigned char)(i & 0xFF));
  }
  /* Units do not overlap: sorted addresses are at least a unit apart. */
  for (i = 1; i < N; ++i) {
    uintptr_t a = (uintptr_t)blocks[i - 1], b = (uintptr_t)blocks[i];
    cr_assert(a + 40 <= b || b + 40 <= a);
  }
  for (i = 0; i < N; ++i)
    mps_free(pool, blocks[i], 40);
  mps_pool_destroy(pool);
}

Test(mfs, freed_units_are_reused_before_the_pool_grows)
{
  mps_pool_t pool = make_mfs(64, 65536);
  mps_addr_t a, b;
  size_t total;
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  total = mps_pool_total_size(pool);
  cr_assert_eq(total, 65536);
  mps_free(pool, a, 64);
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq(a, b);
  cr_assert_eq(mps_pool_total_size(pool), total);
  mps_free(pool, b, 64);
  mps_pool_destroy(pool);
}

Test(mfs, sizes_account_for_extents_and_free_units)
{
  mps_pool_t pool = make_mfs(100, 4096);
  mps_addr_t p[100];
  size_t unit, per_extent;
  int i;
  cr_assert_eq(mps_pool_total_size(pool), 0);
  cr_assert_eq(mps_pool_free_size(pool), 0);
  for (i = 0; i < 100; ++i)
    cr_assert_eq(mps_alloc(&p[i], pool, 100), MPS_RES_OK);
  unit = 112;   /* 100 rounded up to MPS_PF_ALIGN on 64-bit platforms */
  if (MPS_PF_ALIGN == 8)
    unit = 104;
  per_extent = 4096 / unit;
  cr_assert_eq(mps_pool_total_size(pool) % 4096, 0);
  cr_assert_eq(mps_pool_total_size(pool) - mps_pool_free_size(pool), 100 * unit);
  cr_assert_eq(mps_pool_total_size(pool), 4096 * ((100 + per_extent - 1) / per_extent));
  for (i = 0; i < 100; ++i)
    mps_free(pool, p[i], 100);
  cr_assert_eq(mps_pool_free_size(pool), mps_pool_total_size(pool));
  mps_pool_destroy(pool);
}

Test(mfs, destroying_the_pool_returns_its_memory)
{
  /* Measured once the pool exists: its descriptor lives in control
   * memory, which the arena keeps until it is destroyed. */
  mps_pool_t pool = make_mfs(32, 1 << 20);
  size_t committed = mps_arena_committed(arena);
  mps_addr_t p;
  int i;
  for (i = 0; i < 50000; ++i)
    cr_assert_eq(mps_alloc(&p, pool, 32), MPS_RES_OK);
  cr_assert_gt(mps_arena_committed(arena), committed + (1 << 20));
  mps_pool_destroy(pool);
  mps_arena_spare_set(arena, 0.0);
  cr_assert_leq(mps_arena_committed(arena), committed);
}

Test(mfs, addr_pool_identifies_blocks)
{
  mps_pool_t pool = make_mfs(16, 0), other = make_mfs(16, 0), found;
  mps_addr_t p;
  int local;
  cr_assert_eq(mps_alloc(&p, pool, 16), MPS_RES_OK);
  cr_assert(mps_addr_pool(&found, arena, p));
  cr_assert_eq(found, pool);
  cr_assert_not(mps_addr_pool(&found, arena, &local));
  mps_free(pool, p, 16);
  mps_pool_destroy(other);
  mps_pool_destroy(pool);
}

Test(mfs, no_allocation_points)
{
  mps_pool_t pool = make_mfs(16, 0);
  mps_ap_t ap;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_UNIMPL);
  mps_pool_destroy(pool);
}

Test(mfs, commit_limit_failure_leaves_the_pool_usable)
{
  mps_pool_t pool = make_mfs(64, 65536);
  mps_addr_t p;
  size_t n = 0;
  mps_res_t res;
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena) + 2 * 65536), MPS_RES_OK);
  while ((res = mps_alloc(&p, pool, 64)) == MPS_RES_OK)
    ++n;
  cr_assert_eq(res, MPS_RES_COMMIT_LIMIT);
  cr_assert_gt(n, 0);
  cr_assert_leq(n, 2 * 65536 / 64);
  mps_free(pool, p, 64);   /* the last good block: reusable at once */
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_arena_commit_limit_set(arena, SIZE_MAX), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  mps_pool_destroy(pool);
}

/* An extension needs a descriptor (control memory) and the extent's
 * grains: when the arena refuses either, the allocation fails with its
 * result, the pool has taken nothing, and the next allocation works. */
Test(mfs, an_extension_the_arena_refuses_fails_the_allocation)
{
  mps_pool_t pool = make_mfs(64, 4096);
  mps_addr_t p = NULL;
  Count n;
  for (n = 1; n <= 2; ++n) {
    arena_fail_after((Arena)arena, n);
    cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_MEMORY, "request %zu refused", (size_t)n);
    arena_fail_after((Arena)arena, 0);
    cr_assert_null(p);
    cr_assert_eq(mps_pool_total_size(pool), 0);
    cr_assert_eq(mps_pool_free_size(pool), 0);
  }
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 4096);
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
}

/* The control memory an extension or a pool takes goes back with it: an
 * extension refused after its descriptor was had, or a pool destroyed
 * with its extents, leaves the arena's committed memory where it was,
 * however many times it happens. */
Test(mfs, refused_extensions_and_destroyed_pools_leave_no_control_memory)
{
  enum { ROUNDS = 1000 };
  mps_pool_t pool = make_mfs(64, 4096);
  mps_addr_t p;
  size_t committed = 0, i;
  mps_arena_spare_set(arena, 0.0);
  for (i = 0; i <= ROUNDS; ++i) {
    if (i == 1)
      committed = mps_arena_committed(arena);   /* after a first round */
    arena_fail_after((Arena)arena, 2);          /* the extent's grains */
    cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_MEMORY);
    arena_fail_after((Arena)arena, 0);
  }
  cr_assert_leq(mps_arena_committed(arena), committed, "refused extensions leaked");
  mps_pool_destroy(pool);
  for (i = 0; i <= ROUNDS; ++i) {
    if (i == 1)
      committed = mps_arena_committed(arena);
    pool = make_mfs(64, 4096);
    cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
    mps_pool_destroy(pool);
  }
  cr_assert_leq(mps_arena_committed(arena), committed, "destroyed pools leaked");
}

Test(mfs, freeing_into_the_wrong_pool_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_pool_t pool = make_mfs(16, 0), other = make_mfs(16, 0);
  mps_addr_t p;
  reports_install_abort();
  cr_assert_eq(mps_alloc(&p, pool, 16), MPS_RES_OK);
  mps_free(other, p, 16);
}

Test(mfs, freeing_foreign_memory_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_pool_t pool = make_mfs(16, 0);
  static char foreign[64];
  reports_install_abort();
  mps_free(pool, foreign + 16, 16);
}

/* A double free is reported in hot and cool, and refused if the handler
 * returns, so the free stack never holds a unit twice and the unit is
 * never handed out to two clients (pool/mfs.rst; docs/user-guide.md). */
Test(mfs, double_free_is_caught_and_refused)
{
  mps_pool_t pool = make_mfs(16, 0);
  mps_addr_t p, q, r, s;
  size_t free_before;
#if CHECK_LEVEL < 1
  cr_skip_test("double frees are detected in the checking varieties");
#endif
  cr_assert_eq(mps_alloc(&p, pool, 16), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&q, pool, 16), MPS_RES_OK);
  mps_free(pool, p, 16);
  free_before = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, p, 16);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(mps_pool_free_size(pool), free_before);
  /* The pool still works: p comes back once, then a fresh unit. */
  mps_lib_assert_fail_install(reports_record);
  cr_assert_eq(mps_alloc(&r, pool, 16), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&s, pool, 16), MPS_RES_OK);
  cr_assert_neq(r, s);
  cr_assert(r == p || s == p);
  mps_free(pool, r, 16);
  mps_free(pool, s, 16);
  mps_free(pool, q, 16);
  mps_pool_destroy(pool);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
}

/* MFS blocks are all one size: a request for more than the unit is
 * reported, and refused with MPS_RES_PARAM if the handler returns (in
 * rash too, without the report); the pool goes on working. */
Test(mfs, a_block_larger_than_the_unit_is_refused)
{
  mps_pool_t pool = make_mfs(32, 0);
  mps_addr_t p = NULL, q;
  reports_install();
  cr_assert_eq(mps_alloc(&p, pool, 33), MPS_RES_PARAM);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert_null(p);
  cr_assert_eq(mps_alloc(&q, pool, 32), MPS_RES_OK);
  mps_free(pool, q, 32);
  mps_pool_destroy(pool);
}

/* A unit asked for as one word is rounded up to MPS_PF_ALIGN.  Where that
 * is two words (64-bit Windows) the unit has room for the mark, and its
 * double free is refused as any other is; where it is one word (the other
 * 64-bit platforms) only cool's walk of the free stack finds it. */
Test(mfs, double_free_of_a_unit_asked_for_as_one_word_is_refused, TEST_NEEDS_CHECKS)
{
  mps_pool_t pool = make_mfs(sizeof(void *), 0);
  mps_addr_t p, q, r;
  int expected = MPS_PF_ALIGN >= 2 * sizeof(void *) ? TEST_REPORTS(1) : CHECK_LEVEL >= 2;
  cr_assert_eq(mps_alloc(&p, pool, sizeof(void *)), MPS_RES_OK);
  mps_free(pool, p, sizeof(void *));
  reports_install();
  mps_free(pool, p, sizeof(void *));
  cr_assert_eq(reports_seen(), expected);
  if (expected == 0) {   /* not refused: the unit is on the stack twice */
    mps_pool_destroy(pool);
    reports_install_abort();
    return;
  }
  cr_assert_eq(mps_alloc(&q, pool, sizeof(void *)), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&r, pool, sizeof(void *)), MPS_RES_OK);
  cr_assert_neq(q, r);
  mps_free(pool, q, sizeof(void *));
  mps_free(pool, r, sizeof(void *));
  mps_pool_destroy(pool);
  reports_install_abort();
  cr_assert_eq(reports_seen(), expected);
}

/* Live units whose second word the client fills with anything, or leaves
 * as the pool left it, free without a report. */
Test(mfs, frees_of_live_units_are_never_reported)
{
  mps_pool_t pool = make_mfs(32, 0);
  mps_addr_t b[64];
  size_t i;
  reports_install();
  for (i = 0; i < 64; ++i) {
    cr_assert_eq(mps_alloc(&b[i], pool, 32), MPS_RES_OK);
    if (i % 2 == 0)
      memset(b[i], (int)i, 32);
  }
  for (i = 0; i < 64; ++i)
    mps_free(pool, b[i], 32);
  for (i = 0; i < 64; ++i)
    cr_assert_eq(mps_alloc(&b[i], pool, 32), MPS_RES_OK);
  for (i = 64; i > 0; --i)
    mps_free(pool, b[i - 1], 32);
  mps_pool_destroy(pool);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 0);
}

/* A live unit whose second word holds exactly the mark a free unit of
 * its address carries (client data can) costs the free a walk of the free
 * stack, which finds it is not free: no report, and it is freed. */
Test(mfs, a_live_unit_holding_the_mark_frees_without_a_report)
{
  mps_pool_t pool = make_mfs(32, 0);
  mps_addr_t p, q;
  size_t free_before;
  void *mark;
  cr_assert_eq(mps_alloc(&p, pool, 32), MPS_RES_OK);
  mps_free(pool, p, 32);
  memcpy(&mark, (char *)p + sizeof(void *), sizeof mark);   /* the pool's mark */
  cr_assert_eq(mps_alloc(&q, pool, 32), MPS_RES_OK);
  cr_assert_eq(q, p);   /* the stack is LIFO */
  memcpy((char *)q + sizeof(void *), &mark, sizeof mark);
  free_before = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, q, 32);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 0);
  cr_assert_eq(mps_pool_free_size(pool), free_before + 32);
  mps_pool_destroy(pool);
}

/* A unit larger than extend_by: each extent is made big enough for one
 * unit, in whole grains, and the units are whole and distinct. */
Test(mfs, a_unit_larger_than_extend_by_gets_an_extent_of_its_own)
{
  enum { UNIT = 3 * 4096 + 64 };
  mps_pool_t pool = make_mfs(UNIT, 4096);
  mps_addr_t p[3];
  int i;
  for (i = 0; i < 3; ++i) {
    cr_assert_eq(mps_alloc(&p[i], pool, UNIT), MPS_RES_OK);
    memset(p[i], i + 1, UNIT);
  }
  for (i = 0; i < 3; ++i) {
    unsigned char *b = p[i];
    cr_assert(b[0] == i + 1 && b[UNIT - 1] == i + 1, "unit %d overwritten", i);
  }
  cr_assert_eq(mps_pool_total_size(pool) % 4096, 0);
  cr_assert_eq(mps_pool_total_size(pool) - mps_pool_free_size(pool), 3 * (size_t)UNIT);
  for (i = 0; i < 3; ++i)
    mps_free(pool, p[i], UNIT);
  mps_pool_destroy(pool);
}

/* Without MPS_KEY_EXTEND_BY the pool takes extents of 65536 bytes
 * (pool/mfs.rst), and the next only when the first is used up. */
Test(mfs, the_default_extent_is_65536_bytes)
{
  enum { UNIT = 64, PER = 65536 / UNIT };
  static mps_addr_t p[PER + 1];
  mps_pool_t pool = make_mfs(UNIT, 0);
  size_t i;
  for (i = 0; i < PER; ++i)
    cr_assert_eq(mps_alloc(&p[i], pool, UNIT), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 65536);
  cr_assert_eq(mps_pool_free_size(pool), 0);
  cr_assert_eq(mps_alloc(&p[PER], pool, UNIT), MPS_RES_OK);
  cr_assert_eq(mps_pool_total_size(pool), 2 * 65536);
  for (i = 0; i <= PER; ++i)
    mps_free(pool, p[i], UNIT);
  mps_pool_destroy(pool);
}

/* extend_by is rounded up to whole grains: the pool takes memory from the
 * arena in grains only. */
Test(mfs, extend_by_is_rounded_up_to_whole_grains)
{
  mps_pool_t pool = make_mfs(64, 5000);
  mps_addr_t p;
  size_t total;
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  total = mps_pool_total_size(pool);
  cr_assert_gt(total, 5000);
  cr_assert_eq(total % 4096, 0, "an extent of %zu bytes", total);
  cr_assert_eq(mps_pool_free_size(pool), total - 64);
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
}

/* Sizes that cannot be rounded up to the alignment or the grain are
 * refused rather than wrapping round to nothing. */
Test(mfs, sizes_too_large_to_round_up_are_refused)
{
  mps_pool_t pool;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, SIZE_MAX);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mfs(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, (size_t)64);
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, SIZE_MAX);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mfs(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  pool = make_mfs(64, 0);   /* the arena is still usable */
  mps_pool_destroy(pool);
}

/* In cool, mps_free checks that the block starts a unit: an address
 * inside a unit, or in the tail of an extent too short for one, is
 * reported and refused. */
Test(mfs, freeing_an_address_that_starts_no_unit_is_caught_in_cool)
{
  enum { UNIT = 48 };
  mps_pool_t pool = make_mfs(UNIT, 4096);
  mps_addr_t p, q;
  size_t extent, free_before;
  char *tail;
#if CHECK_LEVEL < 2
  cr_skip_test("whether a block starts a unit is checked in cool only");
#endif
  cr_assert_eq(mps_alloc(&p, pool, UNIT), MPS_RES_OK);   /* the extent's first unit */
  cr_assert_eq(mps_alloc(&q, pool, UNIT), MPS_RES_OK);
  cr_assert_eq((char *)q, (char *)p + UNIT);
  extent = mps_pool_total_size(pool);
  cr_assert_neq(extent % UNIT, 0, "no tail to free");
  tail = (char *)p + extent / UNIT * UNIT;
  free_before = mps_pool_free_size(pool);
  reports_install();
  mps_free(pool, (char *)q + 16, UNIT);
  cr_assert_eq(reports_seen(), 1, "inside a unit");
  mps_free(pool, tail, UNIT);
  cr_assert_eq(reports_seen(), 2, "the tail of the extent");
  reports_install_abort();
  cr_assert_eq(mps_pool_free_size(pool), free_before);
  mps_free(pool, q, UNIT);
  mps_free(pool, p, UNIT);
  cr_assert_eq(mps_pool_free_size(pool), extent);
  mps_pool_destroy(pool);
}

Test(mfs, destroying_an_arena_with_a_live_pool_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  reports_install_abort();
  (void)make_mfs(16, 0);
  mps_arena_destroy(arena);
}
