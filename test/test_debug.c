/* Unit tests for the debugging mixin (pool_debug.c): fencepost and free
 * templates in memory, custom templates, features turned off, damaged
 * fences and free space reported with their addresses (at mps_free, at
 * the explicit checks, at allocation and at pool destruction), clean runs
 * reporting nothing, alignment, sizes, client errors (bad options among
 * them), and no memory kept by refused, failed or finished work.  The
 * generic tests use MFS as the base, wrapped here with
 * pool_debug_class_ensure (and base classes of their own: one that writes
 * words into free memory, one that gives memory back unannounced);
 * the mvff_debug suite tests mps_class_mvff_debug itself: variable sizes,
 * MPS_KEY_ALIGN, coalesced free space, allocation points, and memory going
 * back to the arena (its free space checked before it goes, through a
 * free or a buffer empty, with no spare and with the default). */
#include <criterion/criterion.h>
#include <signal.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmfs.h"
#include "../include/mpscmvff.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/arena/arena.h"
#include "../src/pool/pool_debug.h"
#include "support/reports.h"

#define UNIT ((size_t)256)
/* These tests' layouts (a 16-byte fence for "POST", MFS's link and mark
 * inside the fence) are for pools aligned to 16 bytes, so their base
 * classes ask for it (MFS through tmfs_class, the shedding class, and
 * mps_class_mvff_debug given MPS_KEY_ALIGN); the default alignment,
 * MPS_PF_ALIGN, has its own test in mvff_debug. */
#define TEST_ALIGN ((size_t)16)
/* What MFS writes into a unit it takes back: its link and its mark. */
#define MFS_OWN (2 * sizeof(void *))

static mps_arena_t arena;
static pool_debug_class_s mfs_debug_class;

/* ---- a recording assertion handler ---- */

/* The mixin formats its reports on the library's stack, so each one's
 * text is copied here before the handler returns; reports.h counts them. */
enum { MAX_REPORTS = 64 };
static char reports[MAX_REPORTS][200];

static void record_assert(const char *file, unsigned line, const char *cond)
{
  int n = reports_seen();
  if (n < MAX_REPORTS)
    snprintf(reports[n], sizeof reports[0], "%s", cond);
  reports_record(file, line, cond);
}

/* The address named by report i, which must be of the given kind. */
static uintptr_t report_addr(int i, const char *prefix)
{
  cr_assert(i < reports_seen() && i < MAX_REPORTS);
  cr_assert(strncmp(reports[i], prefix, strlen(prefix)) == 0, "report %d: %s", i, reports[i]);
  return (uintptr_t)strtoull(reports[i] + strlen(prefix), NULL, 16);
}

static size_t report_len(int i)
{
  const char *p = strstr(reports[i], " (");
  cr_assert(p != NULL);
  return (size_t)strtoull(p + 2, NULL, 10);
}

static void setup(void)
{
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  reports_install();
  mps_lib_assert_fail_install(record_assert);
}

static void teardown(void)
{
  mps_arena_destroy(arena);
}

/* MFS, aligned to TEST_ALIGN: MFS rounds its unit to the pool's
 * alignment, which its init finds set. */
static struct mps_pool_class_s tmfs_class;

static Res tmfs_init(Pool pool, mps_arg_s args[])
{
  pool->alignment = TEST_ALIGN;
  return ((PoolClass)mps_class_mfs())->init(pool, args);
}

static mps_pool_class_t mfs_debug(void)
{
  if (tmfs_class.init == NULL) {
    tmfs_class = *(PoolClass)mps_class_mfs();
    tmfs_class.init = tmfs_init;
  }
  return pool_debug_class_ensure(&mfs_debug_class, &tmfs_class, "MFS debug");
}

static mps_pool_t make_pool(mps_pool_debug_option_s *options)
{
  mps_pool_t pool;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, UNIT);
    if (options != NULL)
      MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, options);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mfs_debug(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  return pool;
}

/* The pool's records keep every invariant, those that take walks too
 * (pool_debug_check_deep): a failure is reported through the handler. */
static void deep_check(mps_pool_t pool)
{
  arena_enter((Arena)arena);
  (void)pool_debug_check_deep((Pool)pool);
  arena_leave((Arena)arena);
}

/* Whether [p, p + n) holds `tpl` repeated from its first byte. */
static int holds_from(const unsigned char *p, size_t n, const char *tpl, size_t tsize)
{
  size_t i;
  for (i = 0; i < n; ++i)
    if (p[i] != (unsigned char)tpl[i % tsize])
      return 0;
  return 1;
}

/* Whether [p, p + n) holds `tpl` laid by absolute address. */
static int holds_absolute(const unsigned char *p, size_t n, const char *tpl, size_t tsize)
{
  size_t i;
  for (i = 0; i < n; ++i)
    if (p[i] != (unsigned char)tpl[((uintptr_t)(p + i)) % tsize])
      return 0;
  return 1;
}

TestSuite(debug, .init = setup, .fini = teardown);

Test(debug, default_templates_surround_and_fill)
{
  mps_pool_t pool = make_pool(NULL);
  unsigned char *p;
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, 48), MPS_RES_OK);
  p = a;
  cr_assert_eq((uintptr_t)p % TEST_ALIGN, 0);
  /* "POST" rounded up to the alignment on each side. */
  cr_assert(memcmp(p - TEST_ALIGN, "POSTPOSTPOSTPOST", TEST_ALIGN) == 0);
  cr_assert(memcmp(p + 48, "POSTPOSTPOSTPOST", TEST_ALIGN) == 0);
  memset(p, 0xAB, 48);
  mps_free(pool, p, 48);
  /* The whole base block is splatted, except MFS's link and mark. */
  cr_assert(holds_absolute(p - TEST_ALIGN + MFS_OWN,
                           48 + 2 * TEST_ALIGN - MFS_OWN, "FREE", 4));
  cr_assert(memcmp(p, "FREE", 4) == 0);
  mps_pool_check_fenceposts(pool);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

Test(debug, custom_templates_that_do_not_divide_the_fence)
{
  mps_pool_debug_option_s options = {"fencepost", 9, "abc", 3};
  mps_pool_t pool = make_pool(&options);
  unsigned char *p;
  mps_addr_t a;
  /* 9 bytes round up to 16: one template and the start of another. */
  cr_assert_eq(mps_alloc(&a, pool, 32), MPS_RES_OK);
  p = a;
  cr_assert(holds_from(p - 16, 16, "fencepost", 9));
  cr_assert(holds_from(p + 32, 16, "fencepost", 9));
  mps_free(pool, p, 32);
  cr_assert(holds_absolute(p - 16 + MFS_OWN, 64 - MFS_OWN, "abc", 3));
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

/* A free template of odd size is laid by absolute address whatever the
 * address of the block freed.  Units are 256 bytes apart, 1 modulo 3, so
 * three neighbouring units start in each phase of a 3-byte template: a
 * phase taken wrongly, or not kept as the fill wraps round the template,
 * shows in at least two of them. */
Test(debug, an_odd_free_template_is_laid_by_address_in_every_phase)
{
  mps_pool_debug_option_s options = {"POST", 4, "abc", 3};
  mps_pool_t pool = make_pool(&options);
  mps_addr_t a[3];
  int i;
  for (i = 0; i < 3; ++i)
    cr_assert_eq(mps_alloc(&a[i], pool, UNIT - 32), MPS_RES_OK);
  for (i = 1; i < 3; ++i)
    cr_assert_eq((char *)a[i] - (char *)a[i - 1], (ptrdiff_t)UNIT, "neighbouring units");
  for (i = 0; i < 3; ++i) {
    unsigned char *base = (unsigned char *)a[i] - 16;
    mps_free(pool, a[i], UNIT - 32);
    cr_assert(holds_absolute(base + MFS_OWN, UNIT - MFS_OWN, "abc", 3),
              "unit %d, its base %zu modulo 3", i, (size_t)((uintptr_t)base % 3));
  }
  mps_pool_check_free_space(pool);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

Test(debug, templates_are_copied_at_creation)
{
  char fence[4] = {'W', 'X', 'Y', 'Z'};
  mps_pool_debug_option_s options = {fence, 4, "free", 4};
  mps_pool_t pool = make_pool(&options);
  mps_addr_t a;
  memset(fence, 0, sizeof fence);
  cr_assert_eq(mps_alloc(&a, pool, 16), MPS_RES_OK);
  cr_assert(holds_from((unsigned char *)a - 16, 16, "WXYZ", 4));
  mps_free(pool, a, 16);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

Test(debug, fence_size_zero_means_no_fences)
{
  mps_pool_debug_option_s options = {NULL, 0, "FREE", 4};
  mps_pool_t pool = make_pool(&options);
  mps_addr_t a, b;
  /* With no fences a block may be the whole unit, and units abut. */
  cr_assert_eq(mps_alloc(&a, pool, UNIT), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, UNIT), MPS_RES_OK);
  cr_assert_eq((char *)b - (char *)a, (ptrdiff_t)UNIT);
  mps_free(pool, a, UNIT);
  cr_assert(holds_absolute((unsigned char *)a + MFS_OWN, UNIT - MFS_OWN, "FREE", 4));
  mps_free(pool, b, UNIT);
  mps_pool_check_fenceposts(pool);
  mps_pool_check_free_space(pool);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

Test(debug, free_size_zero_means_no_splatting)
{
  mps_pool_debug_option_s options = {"POST", 4, NULL, 0};
  mps_pool_t pool = make_pool(&options);
  unsigned char *p;
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  p = a;
  memset(p, 0x5A, 64);
  mps_free(pool, p, 64);
  cr_assert_eq(p[8], 0x5A);
  cr_assert_eq(p[63], 0x5A);
  /* The fences are not splatted either. */
  cr_assert(memcmp(p + 64, "POST", 4) == 0);
  /* Writing to free memory goes unnoticed, as asked. */
  p[10] = 0;
  mps_pool_check_free_space(pool);
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  mps_free(pool, a, 64);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

Test(debug, underwrite_reported_at_free_and_at_check)
{
  mps_pool_t pool = make_pool(NULL);
  unsigned char *p;
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, 40), MPS_RES_OK);
  p = a;
  p[-1] = 'x';
  mps_pool_check_fenceposts(pool);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FENCE_REPORT), (uintptr_t)(p - 1));
  cr_assert_eq(report_len(0), 1);
  /* The message names the block and its size too. */
  cr_assert(strstr(reports[0], "size 48") != NULL, "%s", reports[0]);
  mps_free(pool, p, 40);
  cr_assert_eq(reports_seen(), 2);
  cr_assert_eq(report_addr(1, POOL_DEBUG_FENCE_REPORT), (uintptr_t)(p - 1));
  /* Freed, the fence is free space now and holds the template. */
  mps_pool_check_fenceposts(pool);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 2);
  mps_pool_destroy(pool);
}

Test(debug, overwrite_reported_at_free_and_at_check)
{
  mps_pool_t pool = make_pool(NULL);
  unsigned char *p;
  mps_addr_t a, other;
  cr_assert_eq(mps_alloc(&other, pool, 16), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  p = a;
  memset(p + 64 + 3, 0, 5);      /* five bytes inside the after-fence */
  mps_pool_check_fenceposts(pool);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FENCE_REPORT), (uintptr_t)(p + 67));
  cr_assert_eq(report_len(0), 5);
  mps_free(pool, p, 64);
  cr_assert_eq(reports_seen(), 2);
  cr_assert_eq(report_addr(1, POOL_DEBUG_FENCE_REPORT), (uintptr_t)(p + 67));
  mps_free(pool, other, 16);
  cr_assert_eq(reports_seen(), 2);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 2);
}

Test(debug, damage_in_both_fences_gives_two_reports)
{
  mps_pool_t pool = make_pool(NULL);
  unsigned char *p;
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, 32), MPS_RES_OK);
  p = a;
  p[-16] = 0;
  p[32 + 15] = 0;
  mps_free(pool, p, 32);
  cr_assert_eq(reports_seen(), 2);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FENCE_REPORT), (uintptr_t)(p - 16));
  cr_assert_eq(report_addr(1, POOL_DEBUG_FENCE_REPORT), (uintptr_t)(p + 47));
  mps_pool_destroy(pool);
}

/* A report gives the damaged run's length in decimal; a fence report
 * also names the block by its address (in hex) and its size. */
Test(debug, reports_give_lengths_in_decimal_and_name_the_block)
{
  mps_pool_t pool = make_pool(NULL);
  unsigned char *p, *q;
  mps_addr_t a, b;
  char block[64];
  cr_assert_eq(mps_alloc(&a, pool, 48), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 48), MPS_RES_OK);
  p = a;
  q = b;
  memset(p + 48, 0, 12);
  mps_pool_check_fenceposts(pool);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FENCE_REPORT), (uintptr_t)(p + 48));
  cr_assert_eq(report_len(0), 12);
  snprintf(block, sizeof block, "block 0x%" PRIxPTR " size 48", (uintptr_t)p);
  cr_assert(strstr(reports[0], block) != NULL, "%s lacks %s", reports[0], block);
  mps_free(pool, q, 48);
  memset(q + 8, 0, 20);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 2);
  cr_assert_eq(report_addr(1, POOL_DEBUG_FREE_REPORT), (uintptr_t)(q + 8));
  cr_assert_eq(report_len(1), 20);
  mps_free(pool, p, 48);
  mps_pool_destroy(pool);
}

Test(debug, damaged_fence_reported_at_destroy)
{
  mps_pool_t pool = make_pool(NULL);
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, 32), MPS_RES_OK);
  ((unsigned char *)a)[32] ^= 1;
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FENCE_REPORT), (uintptr_t)a + 32);
}

Test(debug, write_to_freed_memory_reported_by_check_and_at_reuse)
{
  mps_pool_t pool = make_pool(NULL);
  unsigned char *p;
  mps_addr_t a, b;
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  p = a;
  mps_free(pool, p, 64);
  p[20] = 'Z';
  p[21] = 'Z';
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FREE_REPORT), (uintptr_t)(p + 20));
  cr_assert_eq(report_len(0), 2);
  mps_pool_check_fenceposts(pool);
  cr_assert_eq(reports_seen(), 1);
  /* MFS reuses the unit at once; the free space is checked as it goes. */
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq(b, a);
  cr_assert_eq(reports_seen(), 2);
  cr_assert_eq(report_addr(1, POOL_DEBUG_FREE_REPORT), (uintptr_t)(p + 20));
  /* Allocated again, it is no longer free space. */
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 2);
  mps_free(pool, b, 64);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 2);
}

Test(debug, write_to_freed_memory_reported_at_destroy)
{
  mps_pool_t pool = make_pool(NULL);
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  mps_free(pool, a, 64);
  ((unsigned char *)a)[63] = 0;
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FREE_REPORT), (uintptr_t)a + 63);
}

Test(debug, clean_run_reports_nothing)
{
  enum { N = 600 };
  static mps_addr_t blocks[N];
  mps_pool_t pool = make_pool(NULL);
  unsigned seed = 12345;
  int i, round;
  for (round = 0; round < 4; ++round) {
    for (i = 0; i < N; ++i) {
      size_t size = 1 + (seed = seed * 1103515245u + 12345u) % (UNIT - 2 * TEST_ALIGN);
      cr_assert_eq(mps_alloc(&blocks[i], pool, size), MPS_RES_OK);
      memset(blocks[i], i & 0xFF, size);
      mps_free(pool, blocks[i], size);
      cr_assert_eq(mps_alloc(&blocks[i], pool, 24), MPS_RES_OK);
      memset(blocks[i], 0xEE, 24);
    }
    mps_pool_check_fenceposts(pool);
    mps_pool_check_free_space(pool);
    deep_check(pool);
    for (i = round % 2; i < N; i += 2)
      mps_free(pool, blocks[i], 24);
    mps_pool_check_free_space(pool);
    deep_check(pool);
    for (i = 1 - round % 2; i < N; i += 2)
      mps_free(pool, blocks[i], 24);
    deep_check(pool);
  }
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

Test(debug, sizes_count_fences_as_allocated)
{
  mps_pool_t pool = make_pool(NULL);
  mps_addr_t a;
  size_t total0, free0;
  cr_assert_eq(mps_pool_total_size(pool), 0);
  cr_assert_eq(mps_alloc(&a, pool, 16), MPS_RES_OK);
  total0 = mps_pool_total_size(pool);
  free0 = mps_pool_free_size(pool);
  cr_assert(total0 > 0);
  cr_assert_eq(free0 + UNIT, total0);   /* MFS: one unit in use */
  mps_free(pool, a, 16);
  cr_assert_eq(mps_pool_free_size(pool), total0);
  cr_assert_eq(mps_pool_total_size(pool), total0);
  mps_pool_destroy(pool);
}

Test(debug, mps_addr_pool_finds_the_debug_pool)
{
  mps_pool_t pool = make_pool(NULL), found;
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, 16), MPS_RES_OK);
  cr_assert(mps_addr_pool(&found, arena, a));
  cr_assert_eq(found, pool);
  mps_free(pool, a, 16);
  mps_pool_destroy(pool);
}

Test(debug, checks_do_nothing_on_a_pool_without_debugging)
{
  mps_pool_t pool;
  mps_addr_t a;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, (size_t)64);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mfs(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  mps_free(pool, a, 64);
  /* Past MFS's link and mark, which cool's pool check reads. */
  memset((char *)a + MFS_OWN, 0x11, 64 - MFS_OWN);
  mps_pool_check_fenceposts(pool);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_pool_destroy(pool);
}

Test(debug, the_class_is_a_valid_pool_class_over_its_base)
{
  PoolDebugClass dc = (PoolDebugClass)(void *)mfs_debug();
  cr_assert(pool_debug_class_check(dc));
  cr_assert_eq(dc->base, &tmfs_class);
  cr_assert(dc->klass.size > mps_class_mfs()->size);
  cr_assert_eq((mps_pool_class_t)mfs_debug(), &dc->klass);
}

/* The result of making (and destroying) a pool with these options, which
 * may be NULL. */
static mps_res_t try_make_pool(mps_pool_debug_option_s *options)
{
  mps_pool_t pool;
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, UNIT);
    MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, options);
    res = mps_pool_create_k(&pool, arena, mfs_debug(), args);
  } MPS_ARGS_END(args);
  if (res == MPS_RES_OK)
    mps_pool_destroy(pool);
  return res;
}

Test(debug, a_missing_template_is_refused)
{
  mps_pool_debug_option_s options = {NULL, 4, "FREE", 4};
  cr_assert_eq(try_make_pool(&options), MPS_RES_PARAM);
  /* Refused in every variety, reported in the checking ones. */
  cr_assert_eq(reports_seen(), CHECK_LEVEL >= 1 ? 1 : 0);
}

Test(debug, a_missing_free_template_is_refused)
{
  mps_pool_debug_option_s options = {"POST", 4, NULL, 4};
  cr_assert_eq(try_make_pool(&options), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), CHECK_LEVEL >= 1 ? 1 : 0);
}

Test(debug, missing_debug_options_are_refused)
{
  cr_assert_eq(try_make_pool(NULL), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), CHECK_LEVEL >= 1 ? 1 : 0);
}

/* A fence so big that no block's size with two of them could be
 * represented is a bad parameter, not a want of memory. */
Test(debug, a_fence_too_big_for_any_block_is_refused)
{
  mps_pool_debug_option_s options = {"POST", SIZE_MAX / 4 + 1, "FREE", 4};
  cr_assert_eq(try_make_pool(&options), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

Test(debug, base_class_errors_pass_through)
{
  mps_pool_t pool;
  /* MFS needs its unit size, debugging or not. */
  cr_assert_eq(mps_pool_create_k(&pool, arena, mfs_debug(), mps_args_none), MPS_RES_PARAM);
}

Test(debug, wrong_size_free_is_refused)
{
  mps_pool_t pool = make_pool(NULL);
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, 32), MPS_RES_OK);
  mps_free(pool, a, 64);
  cr_assert_eq(reports_seen(), 1);
  /* Refused: the block is still live and fenced. */
  cr_assert(memcmp((char *)a + 32, "POST", 4) == 0);
  mps_free(pool, a, 32);
  cr_assert_eq(reports_seen(), 1);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1);
}

/* A size smaller than the block's is refused too: accepted, it would
 * leave the block's top and after-fence out of the free. */
Test(debug, a_free_with_a_smaller_size_is_refused)
{
  mps_pool_t pool = make_pool(NULL);
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, 32), MPS_RES_OK);
  memset(a, 0x3C, 32);
  mps_free(pool, a, 16);
  cr_assert_eq(reports_seen(), 1);
  /* Still live: its contents and its fence are untouched. */
  cr_assert_eq(((unsigned char *)a)[16], 0x3C);
  cr_assert(memcmp((char *)a + 32, "POST", 4) == 0);
  mps_free(pool, a, 32);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1, "%d: %s", reports_seen(), reports[1]);
}

Test(debug, double_free_is_refused)
{
  mps_pool_t pool = make_pool(NULL);
  mps_addr_t a, b, c;
  cr_assert_eq(mps_alloc(&a, pool, 32), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 32), MPS_RES_OK);
  mps_free(pool, a, 32);
  mps_free(pool, a, 32);
  cr_assert_eq(reports_seen(), 1);
  /* The pool is intact: the unit is handed out once. */
  cr_assert_eq(mps_alloc(&c, pool, 32), MPS_RES_OK);
  cr_assert_eq(c, a);
  cr_assert_eq(mps_alloc(&c, pool, 32), MPS_RES_OK);
  cr_assert_neq(c, a);
  cr_assert_neq(c, b);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1);
}

Test(debug, free_inside_a_fenced_block_is_refused)
{
  mps_pool_t pool = make_pool(NULL);
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  mps_free(pool, (char *)a + 16, 16);
  cr_assert_eq(reports_seen(), 1);
  mps_free(pool, a, 64);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1);
}

/* A free whose size would take it round the end of the address space is
 * refused (reported in every variety) before anything is splatted.  With
 * no fences, the block is taken for one from an allocation point. */
Test(debug, a_free_wrapping_round_memory_is_refused)
{
  mps_pool_debug_option_s options = {NULL, 0, "FREE", 4};
  mps_pool_t pool = make_pool(&options);
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, UNIT), MPS_RES_OK);
  memset(a, 0x3C, UNIT);
  mps_free(pool, a, SIZE_MAX - 64);
  cr_assert_eq(reports_seen(), 1, "%d reports", reports_seen());
  cr_assert_eq(((unsigned char *)a)[UNIT - 1], 0x3C);
  mps_free(pool, a, UNIT);
  mps_pool_check_free_space(pool);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1, "%d reports", reports_seen());
}

Test(debug, damaged_fence_aborts_with_an_aborting_handler, .signal = SIGABRT)
{
  mps_pool_t pool = make_pool(NULL);
  mps_addr_t a;
  cr_assert_eq(mps_alloc(&a, pool, 32), MPS_RES_OK);
  ((unsigned char *)a)[-3] = 0;
  reports_install_abort();
  mps_free(pool, a, 32);
}

/* ---- a base class that writes into free memory ---- */

/* MFS-like, of 64-byte blocks in one grain: it stamps the first word of
 * every freed block (as MFS marks a free unit) and clears the stamp when
 * it hands the block out again, keeping its free list out of line. */
enum { STAMP_BLOCKS = 16, STAMP_SIZE = 64 };
#define STAMP ((Word)0x1111111111111111ULL)

typedef struct stamp_pool_s {
  mps_pool_s pool;
  Addr base;                     /* its grain, or NULL */
  Count used;                    /* blocks carved so far */
  Addr free[STAMP_BLOCKS];
  Count free_count;
} stamp_pool_s;

static stamp_pool_s *stamp_of(Pool pool)
{
  return PARENT(stamp_pool_s, pool, pool);
}

static Res stamp_init(Pool pool, mps_arg_s args[])
{
  stamp_pool_s *sp = stamp_of(pool);
  (void)args;
  sp->base = NULL;
  sp->used = sp->free_count = 0;
  return MPS_RES_OK;
}

static void stamp_finish(Pool pool)
{
  stamp_pool_s *sp = stamp_of(pool);
  if (sp->base != NULL)
    arena_free(pool->arena, sp->base, pool->arena->grain_size, pool);
}

static Res stamp_alloc(Addr *p_o, Pool pool, Size size)
{
  stamp_pool_s *sp = stamp_of(pool);
  Addr p;
  if (size > STAMP_SIZE)
    return MPS_RES_PARAM;
  if (sp->free_count > 0) {
    p = sp->free[--sp->free_count];
    *(Word *)p = 0;
  } else {
    if (sp->base == NULL) {
      Res res = arena_alloc(&sp->base, pool->arena, pool->arena->grain_size, pool);
      if (res != MPS_RES_OK)
        return res;
    }
    if (sp->used == STAMP_BLOCKS)
      return MPS_RES_RESOURCE;
    p = addr_add(sp->base, sp->used++ * STAMP_SIZE);
  }
  *p_o = p;
  return MPS_RES_OK;
}

static void stamp_free(Pool pool, Addr old, Size size)
{
  stamp_pool_s *sp = stamp_of(pool);
  (void)size;
  *(Word *)old = STAMP;
  sp->free[sp->free_count++] = old;
}

static Size stamp_total(Pool pool)
{
  return stamp_of(pool)->base != NULL ? pool->arena->grain_size : 0;
}

static struct mps_pool_class_s stamp_class = {
  .sig = POOL_CLASS_SIG,
  .name = "stamp",
  .size = sizeof(stamp_pool_s),
  .init = stamp_init,
  .finish = stamp_finish,
  .alloc = stamp_alloc,
  .free = stamp_free,
  .total_size = stamp_total,
};
static pool_debug_class_s stamp_debug_class;

static mps_pool_t make_stamp_pool(mps_pool_debug_option_s *options)
{
  mps_pool_t pool;
  MPS_ARGS_BEGIN(args) {
    if (options != NULL)
      MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, options);
    cr_assert_eq(mps_pool_create_k(&pool, arena,
                                   pool_debug_class_ensure(&stamp_debug_class, &stamp_class,
                                                           "stamp debug"),
                                   args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  return pool;
}

/* A word that the base class wrote into free memory may match the free
 * template in some of its bytes; when the class rewrites the word as it
 * hands the block out, those bytes must not be taken for damage.  Free
 * templates of eight bytes that match the stamp in all but the last byte,
 * or all but the first. */
static void stamp_matching_template_is_not_damage(const char *tpl)
{
  mps_pool_debug_option_s options = {NULL, 0, tpl, 8};
  mps_pool_t pool = make_stamp_pool(&options);
  mps_addr_t a, b;
  cr_assert_eq(mps_alloc(&a, pool, STAMP_SIZE), MPS_RES_OK);
  memset(a, 0x77, STAMP_SIZE);
  mps_free(pool, a, STAMP_SIZE);
  cr_assert_eq(*(Word *)a, STAMP);
  cr_assert(holds_absolute((unsigned char *)a + sizeof(Word), STAMP_SIZE - sizeof(Word),
                           tpl, 8));
  mps_pool_check_free_space(pool);
  cr_assert_eq(mps_alloc(&b, pool, STAMP_SIZE), MPS_RES_OK);
  cr_assert_eq(b, a);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_free(pool, b, STAMP_SIZE);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

Test(debug, a_word_the_base_wrote_is_not_recorded_from_its_start)
{
  stamp_matching_template_is_not_damage("\x11\x11\x11\x11\x11\x11\x11\x5A");
}

Test(debug, a_word_the_base_wrote_is_not_recorded_to_its_end)
{
  stamp_matching_template_is_not_damage("\x5A\x11\x11\x11\x11\x11\x11\x11");
}

/* ---- memory kept ---- */

/* Run `round` many times: the arena's committed memory (its control
 * memory, where the class keeps its records and template copies, among
 * it) is the same after the last round as after the first few, which
 * warm the arena's free lists up. */
static void rounds_keep_no_memory(void (*round)(void))
{
  size_t committed = 0;
  int i;
  for (i = 0; i < 200; ++i) {
    round();
    if (i == 4)
      committed = mps_arena_committed(arena);
  }
  cr_assert_eq(mps_arena_committed(arena), committed, "%zu then %zu",
               committed, (size_t)mps_arena_committed(arena));
}

static char big_fence[4096], big_free[4096];
static mps_pool_debug_option_s big_options = {big_fence, sizeof big_fence,
                                              big_free, sizeof big_free};

/* The base class refuses the pool (MFS has no unit size), after the
 * class has copied both templates. */
static void refused_creation_round(void)
{
  mps_pool_t pool;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, &big_options);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mfs_debug(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
}

Test(debug, pools_the_base_class_refuses_keep_no_memory)
{
  rounds_keep_no_memory(refused_creation_round);
}

/* A pool with big templates, and one destroyed with live fenced blocks
 * and recorded free space among them. */
static void destroy_round(void)
{
  mps_pool_t pool = make_pool(&big_options);
  mps_addr_t a[64];
  int i;
  mps_pool_destroy(pool);
  pool = make_pool(NULL);
  for (i = 0; i < 64; ++i)
    cr_assert_eq(mps_alloc(&a[i], pool, 16), MPS_RES_OK);
  for (i = 0; i < 64; i += 2)
    mps_free(pool, a[i], 16);
  mps_pool_destroy(pool);
}

Test(debug, destroyed_pools_keep_no_memory)
{
  rounds_keep_no_memory(destroy_round);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

/* Fenced blocks allocated and freed, and allocations the base class
 * refuses (the stamp class's blocks are too small for 64 bytes and their
 * fences). */
static void alloc_free_round(void)
{
  mps_pool_t pool = make_pool(NULL), stamp = make_stamp_pool(NULL);
  mps_addr_t a;
  int i;
  for (i = 0; i < 64; ++i) {
    cr_assert_eq(mps_alloc(&a, pool, 16), MPS_RES_OK);
    mps_free(pool, a, 16);
    cr_assert_eq(mps_alloc(&a, stamp, 64), MPS_RES_PARAM);
  }
  mps_pool_destroy(stamp);
  mps_pool_destroy(pool);
}

Test(debug, frees_and_refused_allocations_keep_no_memory)
{
  rounds_keep_no_memory(alloc_free_round);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

/* ---- a base class that gives memory back without the release hook ---- */

/* Two grains carved in turn, never reused; freeing a block that lies
 * wholly in the second grain gives that grain back to the arena at once,
 * without calling pool_before_release (pool.h), as a class may.  The
 * mixin then notices the shrink only by the base's total size. */
typedef struct shed_pool_s {
  mps_pool_s pool;
  Addr base;                     /* its two grains, or NULL */
  Size used;                     /* bytes carved so far */
  bool shed;                     /* the second grain given back */
} shed_pool_s;

static shed_pool_s *shed_of(Pool pool)
{
  return PARENT(shed_pool_s, pool, pool);
}

static Res shed_init(Pool pool, mps_arg_s args[])
{
  shed_pool_s *sp = shed_of(pool);
  (void)args;
  pool->alignment = TEST_ALIGN;
  sp->base = NULL;
  sp->used = 0;
  sp->shed = false;
  return MPS_RES_OK;
}

static void shed_finish(Pool pool)
{
  shed_pool_s *sp = shed_of(pool);
  Size grain = pool->arena->grain_size;
  if (sp->base != NULL)
    arena_free(pool->arena, sp->base, sp->shed ? grain : 2 * grain, pool);
}

static Res shed_alloc(Addr *p_o, Pool pool, Size size)
{
  shed_pool_s *sp = shed_of(pool);
  Size grain = pool->arena->grain_size;
  if (sp->base == NULL) {
    Res res = arena_alloc(&sp->base, pool->arena, 2 * grain, pool);
    if (res != MPS_RES_OK)
      return res;
  }
  if (sp->shed || size > 2 * grain - sp->used)
    return MPS_RES_RESOURCE;
  *p_o = addr_add(sp->base, sp->used);
  sp->used += size;
  return MPS_RES_OK;
}

static void shed_free(Pool pool, Addr old, Size size)
{
  shed_pool_s *sp = shed_of(pool);
  Addr second = addr_add(sp->base, pool->arena->grain_size);
  (void)size;
  if (!sp->shed && addr_word(old) >= addr_word(second)) {
    arena_free(pool->arena, second, pool->arena->grain_size, pool);
    sp->shed = true;
  }
}

static Size shed_total(Pool pool)
{
  shed_pool_s *sp = shed_of(pool);
  Size grain = pool->arena->grain_size;
  return sp->base == NULL ? 0 : sp->shed ? grain : 2 * grain;
}

static struct mps_pool_class_s shed_class = {
  .sig = POOL_CLASS_SIG,
  .name = "shed",
  .size = sizeof(shed_pool_s),
  .init = shed_init,
  .finish = shed_finish,
  .alloc = shed_alloc,
  .free = shed_free,
  .total_size = shed_total,
};
static pool_debug_class_s shed_debug_class;

/* A recorded free range that straddles the grain the base gave back
 * keeps its part in the grain still owned: damage there is still found
 * by the check (and at destruction).  The base blocks: a to 64 bytes
 * below the boundary, x across it, y above it. */
static mps_pool_t make_shed_pool(void)
{
  mps_pool_t pool;
  cr_assert_eq(mps_pool_create_k(&pool, arena,
                                 pool_debug_class_ensure(&shed_debug_class, &shed_class,
                                                         "shed debug"),
                                 mps_args_none), MPS_RES_OK);
  return pool;
}

Test(debug, the_owned_part_of_a_range_stays_checked_when_a_base_gives_back_unannounced)
{
  mps_pool_t pool = make_shed_pool();
  size_t grain = arena->grain_size;
  mps_addr_t a, x, y;
  unsigned char *bad;
  cr_assert_eq(mps_alloc(&a, pool, grain - 64 - 32), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&x, pool, 128 - 32), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&y, pool, 32), MPS_RES_OK);
  cr_assert_eq((char *)x - 16, (char *)a - 16 + grain - 64, "x's base block straddles");
  mps_free(pool, x, 128 - 32);
  bad = (unsigned char *)x + 16;        /* 32 bytes below the boundary */
  *bad = 'x';
  mps_free(pool, y, 32);                /* the second grain goes back */
  cr_assert_eq(mps_pool_total_size(pool), grain);
  deep_check(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 1, "%d reports", reports_seen());
  cr_assert_eq(report_addr(0, POOL_DEBUG_FREE_REPORT), (uintptr_t)bad);
  mps_free(pool, a, grain - 64 - 32);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 2, "%d reports", reports_seen());
}

/* The base grows at the first allocation and gives its second grain back
 * at the first free there, with no free before: the class notes the
 * base's size after allocations too, so it sees the shrink, and neither
 * reads nor records the grain that went back (with no spare, the arena
 * unmaps it at once). */
Test(debug, a_grain_given_back_at_the_first_free_is_neither_read_nor_recorded)
{
  mps_pool_t pool = make_shed_pool();
  size_t grain = arena->grain_size;
  mps_addr_t a, y;
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_alloc(&a, pool, grain - 32), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&y, pool, 32), MPS_RES_OK);
  cr_assert_eq((char *)y, (char *)a + grain, "y's base block starts the second grain");
  mps_free(pool, y, 32);
  cr_assert_eq(mps_pool_total_size(pool), grain);
  deep_check(pool);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_free(pool, a, grain - 32);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

/* ---- mps_class_mvff_debug ---- */

TestSuite(mvff_debug, .init = setup, .fini = teardown);

/* align 0: TEST_ALIGN. */
static mps_pool_t make_mvff(size_t align, double spare, mps_pool_debug_option_s *options)
{
  mps_pool_t pool;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ALIGN, align != 0 ? align : TEST_ALIGN);
    if (spare >= 0.0)
      MPS_ARGS_ADD(args, MPS_KEY_SPARE, spare);
    if (options != NULL)
      MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, options);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff_debug(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  return pool;
}

/* At the default alignment, MPS_PF_ALIGN (8 on most platforms): "POST"
 * rounds to one alignment on each side of the block, which is aligned,
 * and damage just outside the block, on either side, is reported with
 * its address when the block is freed. */
Test(mvff_debug, the_default_alignment_gets_fences_of_its_own_size)
{
  mps_pool_t pool;
  unsigned char *p;
  mps_addr_t a;
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff_debug(), mps_args_none),
               MPS_RES_OK);
  cr_assert_eq(mps_alloc(&a, pool, 3 * MPS_PF_ALIGN), MPS_RES_OK);
  p = a;
  cr_assert_eq((uintptr_t)p % MPS_PF_ALIGN, 0);
  cr_assert(holds_from(p - MPS_PF_ALIGN, MPS_PF_ALIGN, "POST", 4));
  cr_assert(holds_from(p + 3 * MPS_PF_ALIGN, MPS_PF_ALIGN, "POST", 4));
  p[-1] = 'x';
  p[3 * MPS_PF_ALIGN] = 'x';
  mps_free(pool, p, 3 * MPS_PF_ALIGN);
  cr_assert_eq(reports_seen(), 2, "%d reports", reports_seen());
  cr_assert_eq(report_addr(0, POOL_DEBUG_FENCE_REPORT), (uintptr_t)(p - 1));
  cr_assert_eq(report_addr(1, POOL_DEBUG_FENCE_REPORT), (uintptr_t)(p + 3 * MPS_PF_ALIGN));
  mps_pool_destroy(pool);
}

Test(mvff_debug, class_is_the_mixin_over_mvff)
{
  PoolDebugClass dc = (PoolDebugClass)(void *)mps_class_mvff_debug();
  cr_assert(pool_debug_class_check(dc));
  cr_assert_eq(dc->base, mps_class_mvff());
  cr_assert_eq(mps_class_mvff_debug(), mps_class_mvff_debug());
}

Test(mvff_debug, default_templates_and_whole_block_splatted)
{
  mps_pool_t pool = make_mvff(0, -1.0, NULL);
  unsigned char *p;
  mps_addr_t a, keep;
  cr_assert_eq(mps_alloc(&keep, pool, 8), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&a, pool, 100), MPS_RES_OK);
  p = a;
  cr_assert_eq((uintptr_t)p % TEST_ALIGN, 0);
  cr_assert(memcmp(p - 16, "POSTPOSTPOSTPOST", 16) == 0);
  /* 100 bytes round to 112; the fence follows the rounded block. */
  cr_assert(memcmp(p + 112, "POSTPOSTPOSTPOST", 16) == 0);
  mps_free(pool, p, 100);
  /* MVFF keeps its free list out of line: the whole block is FREE. */
  cr_assert(holds_absolute(p - 16, 144, "FREE", 4));
  mps_pool_check_free_space(pool);
  mps_free(pool, keep, 8);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

Test(mvff_debug, alignment_key_sets_fence_rounding_and_block_alignment)
{
  mps_pool_t pool = make_mvff(64, -1.0, NULL);
  mps_addr_t a[10];
  int i;
  for (i = 0; i < 10; ++i) {
    cr_assert_eq(mps_alloc(&a[i], pool, (size_t)(1 + 37 * i)), MPS_RES_OK);
    cr_assert_eq((uintptr_t)a[i] % 64, 0);
    cr_assert(holds_from((unsigned char *)a[i] - 64, 64, "POST", 4));
  }
  for (i = 0; i < 10; ++i)
    mps_free(pool, a[i], (size_t)(1 + 37 * i));
  mps_pool_check_free_space(pool);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

Test(mvff_debug, coalesced_free_space_is_checked_and_damage_found_at_reuse)
{
  mps_pool_t pool = make_mvff(0, 1.0, NULL);
  mps_addr_t a, b, c, d;
  unsigned char *pb;
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 64), MPS_RES_OK);
  mps_free(pool, a, 64);
  mps_free(pool, b, 64);   /* coalesces with a's block */
  pb = b;
  pb[-16] = 0;             /* b's old before-fence, now free space */
  pb[70] = 0;
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 2);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FREE_REPORT), (uintptr_t)(pb - 16));
  cr_assert_eq(report_addr(1, POOL_DEBUG_FREE_REPORT), (uintptr_t)(pb + 70));
  /* First fit: a block as big as both reuses their memory. */
  cr_assert_eq(mps_alloc(&d, pool, 160), MPS_RES_OK);
  cr_assert_eq(d, a);
  cr_assert_eq(reports_seen(), 4);
  cr_assert_eq(report_addr(2, POOL_DEBUG_FREE_REPORT), (uintptr_t)(pb - 16));
  cr_assert_eq(report_addr(3, POOL_DEBUG_FREE_REPORT), (uintptr_t)(pb + 70));
  mps_free(pool, d, 160);
  mps_free(pool, c, 64);
  mps_pool_check_free_space(pool);
  mps_pool_check_fenceposts(pool);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 4);
}

/* At the commit limit the free land's node pool cannot grow, and the land
 * falls back on a freelist that describes free ranges in their own memory
 * (free_land.c).  Frees and allocations there (still at the limit: the
 * freed blocks' records make room for the new ones) keep the pool usable,
 * and those descriptions are not reported as damage. */
Test(mvff_debug, free_ranges_described_in_place_are_not_damage)
{
  enum { N = 4000 };
  static mps_addr_t p[N];
  mps_pool_t pool = make_mvff(0, 1.0, NULL);
  mps_addr_t q[N / 4];
  size_t i, limit = mps_arena_commit_limit(arena);
  mps_arena_spare_set(arena, 0.0);
  for (i = 0; i < N; ++i)
    cr_assert_eq(mps_alloc(&p[i], pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  for (i = 0; i < N; i += 4) {    /* ranges of two blocks, none touching */
    mps_free(pool, p[i], 64);
    mps_free(pool, p[i + 1], 64);
  }
  for (i = 0; i < N / 4; ++i)     /* the low half of each range */
    cr_assert_eq(mps_alloc(&q[i], pool, 64), MPS_RES_OK);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 0, "%d reports, the first: %s", reports_seen(), reports[0]);
  cr_assert_eq(mps_arena_commit_limit_set(arena, limit), MPS_RES_OK);
  for (i = 0; i < N / 4; ++i)
    mps_free(pool, q[i], 64);
  for (i = 0; i < N; i += 4) {
    mps_free(pool, p[i + 2], 64);
    mps_free(pool, p[i + 3], 64);
  }
  mps_pool_check_free_space(pool);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d reports, the first: %s", reports_seen(), reports[0]);
}

/* As above, but with the free-space record able to grow at the limit: its
 * nodes are the arena's control memory, which the arena keeps once taken,
 * so a pool that recorded many ranges and was destroyed leaves room for
 * them.  The freed ranges are then recorded, and the freelist's new
 * descriptions, written as allocations split those ranges, fall inside
 * recorded free memory: the pool says so (free_land.c's scribble hook), or
 * the check below would take them for the client's writes. */
Test(mvff_debug, in_place_descriptions_of_recorded_ranges_are_not_damage)
{
  enum { N = 2000, FILLERS = 4096 };
  static mps_addr_t p[N], filler[FILLERS];
  mps_addr_t q[N / 4];
  mps_pool_t warm, pool;
  size_t i, fillers;
  mps_arena_spare_set(arena, 0.0);
  warm = make_mvff(0, 0.0, NULL);
  for (i = 0; i < N; ++i)
    cr_assert_eq(mps_alloc(&p[i], warm, 64), MPS_RES_OK);
  for (i = 0; i < N; i += 2)
    mps_free(warm, p[i], 64);
  mps_pool_destroy(warm);
  pool = make_mvff(0, 0.0, NULL);
  for (i = 0; i < N; ++i)
    cr_assert_eq(mps_alloc(&p[i], pool, 64), MPS_RES_OK);
  /* Fill the rest of the pool's last extension, whose block is in the CBS
   * and would be found before the freelist's ranges. */
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  for (fillers = 0; fillers < FILLERS; ++fillers)
    if (mps_alloc(&filler[fillers], pool, 64) != MPS_RES_OK)
      break;
  cr_assert_lt(fillers, FILLERS);
  /* Freed from the top down, the lowest ranges are the last, which find
   * the CBS's node pool used up and go to the freelist; first fit then
   * splits them there. */
  for (i = N; i > 0; i -= 4) {
    mps_free(pool, p[i - 4], 64);
    mps_free(pool, p[i - 3], 64);
  }
  for (i = 0; i < N / 4; ++i) {   /* first fit: the freed blocks, in turn */
    size_t j = 0;
    cr_assert_eq(mps_alloc(&q[i], pool, 64), MPS_RES_OK);
    while (j < N && q[i] != p[j])
      ++j;
    cr_assert(j < N && j % 4 < 2, "block %zu is not one of the freed blocks", i);
  }
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 0, "%d reports, the first: %s", reports_seen(), reports[0]);
  for (i = 0; i < N / 4; ++i)
    mps_free(pool, q[i], 64);
  for (i = 0; i < N; i += 4) {
    mps_free(pool, p[i + 2], 64);
    mps_free(pool, p[i + 3], 64);
  }
  for (i = 0; i < fillers; ++i)
    mps_free(pool, filler[i], 64);
  mps_pool_check_free_space(pool);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d reports, the first: %s", reports_seen(), reports[0]);
}

Test(mvff_debug, allocation_points_splat_what_they_give_back)
{
  mps_pool_t pool = make_mvff(0, 1.0, NULL);
  mps_ap_t ap;
  mps_addr_t p, objs[20];
  unsigned char *limit;
  int i;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  for (i = 0; i < 20; ++i) {
    do {
      cr_assert_eq(mps_reserve(&p, ap, 48), MPS_RES_OK);
      memset(p, 0x77, 48);
    } while (!mps_commit(ap, p, 48));
    objs[i] = p;
  }
  limit = (unsigned char *)objs[19] + 48;
  /* Blocks from an allocation point are not fenced, and may be freed. */
  mps_free(pool, objs[3], 48);
  cr_assert(holds_absolute(objs[3], 48, "FREE", 4));
  mps_ap_destroy(ap);
  /* The unused rest of the buffer came back splatted. */
  cr_assert(holds_absolute(limit, 64, "FREE", 4));
  mps_pool_check_free_space(pool);
  mps_pool_check_fenceposts(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  limit[5] = 1;
  ((unsigned char *)objs[3])[0] = 1;
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 2);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FREE_REPORT), (uintptr_t)objs[3]);
  cr_assert_eq(report_addr(1, POOL_DEBUG_FREE_REPORT), (uintptr_t)(limit + 5));
  for (i = 0; i < 20; ++i)
    if (i != 3)
      mps_free(pool, objs[i], 48);
  mps_pool_destroy(pool);
}

/* The unused rest of a buffer comes back splatted to its last byte, and
 * a write there is found by the check. */
Test(mvff_debug, a_buffer_s_whole_rest_is_splatted_when_it_is_emptied)
{
  mps_pool_t pool = make_mvff(0, 1.0, NULL);
  mps_ap_t ap;
  mps_addr_t p;
  unsigned char *init, *limit;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, ap, 64), MPS_RES_OK);
  } while (!mps_commit(ap, p, 64));
  init = (unsigned char *)p + 64;
  limit = ap->limit;
  cr_assert_gt(limit - init, 64, "a rest to give back");
  mps_ap_destroy(ap);
  cr_assert(holds_absolute(init, (size_t)(limit - init), "FREE", 4));
  limit[-1] = 0;
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 1, "%d reports", reports_seen());
  cr_assert_eq(report_addr(0, POOL_DEBUG_FREE_REPORT), (uintptr_t)(limit - 1));
  limit[-1] = (unsigned char)"FREE"[(uintptr_t)(limit - 1) % 4];
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1, "%d reports", reports_seen());
}

/* With no free template nothing is splatted: the unused rest of a
 * buffer comes back as it was, and so does a block freed. */
Test(mvff_debug, with_no_free_template_a_buffer_s_rest_is_left_as_it_was)
{
  mps_pool_debug_option_s options = {"POST", 4, NULL, 0};
  mps_pool_t pool = make_mvff(0, 1.0, &options);
  mps_ap_t ap;
  mps_addr_t p;
  unsigned char *init, before[256];
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, ap, 64), MPS_RES_OK);
    memset(p, 0x5E, 64);
  } while (!mps_commit(ap, p, 64));
  init = (unsigned char *)p + 64;
  cr_assert_geq((size_t)((unsigned char *)ap->limit - init), sizeof before, "a rest to give back");
  memcpy(before, init, sizeof before);
  mps_ap_destroy(ap);
  cr_assert(memcmp(init, before, sizeof before) == 0);
  mps_free(pool, p, 64);
  cr_assert_eq(((unsigned char *)p)[63], 0x5E);
  mps_pool_check_free_space(pool);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

Test(mvff_debug, memory_given_back_to_the_arena_leaves_the_record)
{
  mps_pool_t pool = make_mvff(0, 0.0, NULL);
  enum { N = 64 };
  mps_addr_t a[N];
  size_t big = 3 * 65536;
  int i;
  for (i = 0; i < N; ++i)
    cr_assert_eq(mps_alloc(&a[i], pool, big), MPS_RES_OK);
  cr_assert(mps_pool_total_size(pool) >= N * big);
  for (i = 0; i < N; ++i)
    mps_free(pool, a[i], big);
  /* With no spare allowed, MVFF gave (nearly) everything back. */
  cr_assert(mps_pool_total_size(pool) < big);
  mps_pool_check_free_space(pool);
  /* And the arena can reuse it for another pool without complaint. */
  {
    mps_pool_t other = make_mvff(0, -1.0, NULL);
    mps_addr_t b;
    cr_assert_eq(mps_alloc(&b, other, big), MPS_RES_OK);
    memset(b, 0, big);
    mps_pool_check_free_space(pool);
    mps_free(other, b, big);
    mps_pool_destroy(other);
  }
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

/* The pool's growth at a buffer fill is noted as at an allocation: a free
 * that then gives memory back to the arena (with no spare, at once) is
 * seen to, and the memory gone is neither read nor recorded (the arena,
 * with no spare either, unmaps it).  The fill is the pool's first call, so
 * it is what grows the pool. */
Test(mvff_debug, memory_given_back_after_a_fill_grew_the_pool_is_not_recorded)
{
  mps_pool_t pool = make_mvff(0, 0.0, NULL);
  size_t big = 3 * 65536, total;
  mps_ap_t ap;
  mps_addr_t p;
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, ap, big), MPS_RES_OK);
  } while (!mps_commit(ap, p, big));
  total = mps_pool_total_size(pool);
  cr_assert_geq(total, big);
  mps_free(pool, p, big);
  cr_assert_lt(mps_pool_total_size(pool), total, "memory went back");
  deep_check(pool);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

Test(mvff_debug, fence_damage_reported_with_the_block)
{
  mps_pool_t pool = make_mvff(0, -1.0, NULL);
  mps_addr_t a;
  unsigned char *p;
  cr_assert_eq(mps_alloc(&a, pool, 200), MPS_RES_OK);
  p = a;
  p[208 + 2] = 'q';
  p[-16] = 'q';
  mps_pool_check_fenceposts(pool);
  cr_assert_eq(reports_seen(), 2);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FENCE_REPORT), (uintptr_t)(p - 16));
  cr_assert_eq(report_addr(1, POOL_DEBUG_FENCE_REPORT), (uintptr_t)(p + 210));
  cr_assert(strstr(reports[1], "size 208") != NULL, "%s", reports[1]);
  mps_free(pool, p, 200);
  cr_assert_eq(reports_seen(), 4);
  mps_pool_check_free_space(pool);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 4);
}

Test(mvff_debug, sizes_still_work)
{
  mps_pool_t pool = make_mvff(0, -1.0, NULL);
  mps_addr_t a;
  size_t total, free_before;
  cr_assert_eq(mps_alloc(&a, pool, 1000), MPS_RES_OK);
  total = mps_pool_total_size(pool);
  free_before = mps_pool_free_size(pool);
  cr_assert(total >= 1008 + 32);
  cr_assert(free_before <= total - (1008 + 32));
  mps_free(pool, a, 1000);
  cr_assert(mps_pool_free_size(pool) >= free_before + 1008 + 32
            || mps_pool_total_size(pool) < total);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

static bool owned_by(mps_pool_t pool, const void *p)
{
  mps_pool_t owner;
  return mps_addr_pool(&owner, arena, (mps_addr_t)p) && owner == pool;
}

/* What the release tests start from: RELEASE_BLOCKS blocks of
 * RELEASE_SIZE bytes, then block 3 freed and one byte of it overwritten.
 * Returns that byte. */
enum { RELEASE_BLOCKS = 8, RELEASE_SIZE = 8192 };

static unsigned char *release_setup(mps_pool_t pool, mps_addr_t a[RELEASE_BLOCKS])
{
  unsigned char *bad;
  int i;
  for (i = 0; i < RELEASE_BLOCKS; ++i)
    cr_assert_eq(mps_alloc(&a[i], pool, RELEASE_SIZE), MPS_RES_OK);
  mps_free(pool, a[3], RELEASE_SIZE);
  bad = (unsigned char *)a[3] + 1;
  cr_assert(owned_by(pool, bad));
  *bad = 'x';
  return bad;
}

/* topic/debugging.rst: the free template is checked when memory goes back
 * to the arena.  Eight fenced blocks of 8 KiB, one freed and written to,
 * then the rest freed: the damaged byte goes back to the arena with the
 * rest, and is reported (once) before it goes. */
static void dangling_write_reported_on_release(double spare)
{
  mps_pool_t pool = make_mvff(0, spare, NULL);
  mps_addr_t a[RELEASE_BLOCKS];
  unsigned char *bad = release_setup(pool, a);
  int i;
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  for (i = 0; i < RELEASE_BLOCKS; ++i)
    if (i != 3)
      mps_free(pool, a[i], RELEASE_SIZE);
  /* The scenario: the damaged memory did go back. */
  cr_assert(!owned_by(pool, bad));
  cr_assert_eq(reports_seen(), 1, "%d reports", reports_seen());
  cr_assert_eq(report_addr(0, POOL_DEBUG_FREE_REPORT), (uintptr_t)bad);
  cr_assert_eq(report_len(0), 1);
  mps_pool_check_free_space(pool);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1);
}

Test(mvff_debug, free_space_checked_before_release_with_no_spare)
{
  dangling_write_reported_on_release(0.0);
}

Test(mvff_debug, free_space_checked_before_release_with_the_default_spare)
{
  dangling_write_reported_on_release(-1.0);
}

/* Damage in a grain that a live block still shares cannot go back with
 * it, so frees leave it to the explicit check, however often they trim. */
Test(mvff_debug, damage_next_to_a_live_block_waits_for_the_check)
{
  mps_pool_t pool = make_mvff(0, 0.0, NULL);
  mps_addr_t a[RELEASE_BLOCKS];
  unsigned char *bad = release_setup(pool, a);   /* shares its grain with a[2] */
  int i;
  for (i = 4; i < RELEASE_BLOCKS; ++i)
    mps_free(pool, a[i], RELEASE_SIZE);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FREE_REPORT), (uintptr_t)bad);
  /* Freeing a[2] lets the grain go: checked first, reported again. */
  mps_free(pool, a[2], RELEASE_SIZE);
  cr_assert_eq(reports_seen(), 2);
  cr_assert_eq(report_addr(1, POOL_DEBUG_FREE_REPORT), (uintptr_t)bad);
  for (i = 0; i < 2; ++i)
    mps_free(pool, a[i], RELEASE_SIZE);
  cr_assert(!owned_by(pool, bad));
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 2);
}

/* The unused rest of a buffer goes back through buffer empty, which may
 * also make the pool give memory back: a freed block whose grain the
 * buffer's region kept in the pool goes with it, checked first. */
Test(mvff_debug, free_space_checked_before_release_by_a_buffer_empty)
{
  mps_pool_t pool = make_mvff(0, 0.0, NULL);
  mps_ap_t ap;
  mps_addr_t a, p;
  unsigned char *bad;
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, ap, 32), MPS_RES_OK);
  } while (!mps_commit(ap, p, 32));
  mps_free(pool, a, 64);
  mps_free(pool, p, 32);
  bad = (unsigned char *)a + 8;
  cr_assert(owned_by(pool, bad));   /* the buffer's rest shares its grain */
  *bad = 'x';
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_ap_destroy(ap);
  cr_assert(!owned_by(pool, bad));
  cr_assert_eq(reports_seen(), 1, "%d reports", reports_seen());
  cr_assert_eq(report_addr(0, POOL_DEBUG_FREE_REPORT), (uintptr_t)bad);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1);
}

/* A clean workload with no spare: every free may give memory back, and
 * none may report; the records keep their invariants after every
 * operation. */
Test(mvff_debug, clean_run_with_no_spare_reports_nothing)
{
  mps_pool_t pool = make_mvff(0, 0.0, NULL);
  enum { N = 200 };
  mps_addr_t a[N], p;
  size_t sizes[N];
  mps_ap_t ap;
  unsigned seed = 12345;
  int i, round;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  for (i = 0; i < N; ++i)
    a[i] = NULL;
  for (round = 0; round < 4000; ++round) {
    seed = seed * 1103515245u + 12345u;
    i = (int)((seed >> 8) % N);
    if (a[i] != NULL) {
      mps_free(pool, a[i], sizes[i]);
      a[i] = NULL;
    } else {
      sizes[i] = 1 + (seed >> 16) % ((seed & 1) ? 200 : 20000);
      if (seed & 2) {
        sizes[i] = (sizes[i] + TEST_ALIGN - 1) & ~(size_t)(TEST_ALIGN - 1);
        do {
          cr_assert_eq(mps_reserve(&p, ap, sizes[i]), MPS_RES_OK);
          memset(p, 0x5A, sizes[i]);
        } while (!mps_commit(ap, p, sizes[i]));
        a[i] = p;
      } else {
        cr_assert_eq(mps_alloc(&a[i], pool, sizes[i]), MPS_RES_OK);
        memset(a[i], 0xA5, sizes[i]);
      }
    }
    deep_check(pool);
  }
  mps_ap_destroy(ap);
  deep_check(pool);
  for (i = 0; i < N; ++i)
    if (a[i] != NULL)
      mps_free(pool, a[i], sizes[i]);
  mps_pool_check_free_space(pool);
  mps_pool_check_fenceposts(pool);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
}

/* A free that is no fenced block's (a block from an allocation point, as
 * far as the class can tell) must not reach a fenced block's fences: one
 * covering the fence before a block, and one starting in the fence after
 * it, are refused, and the fences stay intact. */
Test(mvff_debug, frees_reaching_into_a_fenced_block_s_fences_are_refused)
{
  mps_pool_t pool = make_mvff(0, 1.0, NULL);
  mps_addr_t keep, a;
  unsigned char *p;
  cr_assert_eq(mps_alloc(&keep, pool, 16), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  p = a;
  cr_assert_eq((char *)a, (char *)keep + 16 + 16 + 16, "the blocks' extents abut");
  mps_free(pool, p - 16, 16);
  cr_assert_eq(reports_seen(), 1, "the fence before");
  mps_free(pool, p + 64, 16);
  cr_assert_eq(reports_seen(), 2, "the fence after");
  mps_pool_check_fenceposts(pool);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 2);
  mps_free(pool, a, 64);
  mps_free(pool, keep, 16);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 2);
}

/* Allocating the low part of a recorded free range leaves the rest
 * recorded: damage there is still found by the check. */
Test(mvff_debug, the_rest_of_a_free_range_stays_checked_after_a_reuse)
{
  mps_pool_t pool = make_mvff(0, 1.0, NULL);
  mps_addr_t a, b, c;
  unsigned char *bad;
  cr_assert_eq(mps_alloc(&a, pool, 256), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 64), MPS_RES_OK);
  mps_free(pool, a, 256);
  bad = (unsigned char *)a + 200;
  *bad = 0;
  cr_assert_eq(mps_alloc(&b, pool, 64), MPS_RES_OK);
  cr_assert_eq(b, a, "first fit reuses the low end");
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FREE_REPORT), (uintptr_t)bad);
  mps_free(pool, b, 64);
  mps_free(pool, c, 64);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 2, "and at destruction");
}

/* Free ranges that meet are one range in the record: damage across the
 * place where two freed blocks' extents met is one run, reported once.
 * b..e are freed so that c's range grows down to take b's, and d's
 * joins the ranges on both its sides. */
Test(mvff_debug, damage_where_freed_blocks_met_is_one_run)
{
  mps_pool_t pool = make_mvff(0, 1.0, NULL);
  mps_addr_t blk[6];
  unsigned char *bc, *de;
  int i;
  for (i = 0; i < 6; ++i)
    cr_assert_eq(mps_alloc(&blk[i], pool, 64), MPS_RES_OK);
  for (i = 1; i < 6; ++i)
    cr_assert_eq((char *)blk[i], (char *)blk[i - 1] + 96, "the blocks' extents abut");
  mps_free(pool, blk[2], 64);
  mps_free(pool, blk[1], 64);   /* only its right neighbour is free */
  mps_free(pool, blk[4], 64);
  mps_free(pool, blk[3], 64);   /* free on both sides */
  bc = (unsigned char *)blk[2] - 16;   /* where b's extent met c's */
  de = (unsigned char *)blk[4] - 16;
  memset(bc - 2, 0, 4);
  memset(de - 2, 0, 4);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 2, "%d reports, the first: %s", reports_seen(), reports[0]);
  cr_assert_eq(report_addr(0, POOL_DEBUG_FREE_REPORT), (uintptr_t)(bc - 2));
  cr_assert_eq(report_len(0), 4);
  cr_assert_eq(report_addr(1, POOL_DEBUG_FREE_REPORT), (uintptr_t)(de - 2));
  cr_assert_eq(report_len(1), 4);
  mps_free(pool, blk[0], 64);
  mps_free(pool, blk[5], 64);
  mps_pool_destroy(pool);
}

/* Memory going back to the arena from the top of a recorded range leaves
 * the range's low part, in a grain a live block keeps, recorded: damage
 * there is still found by the check.  b's extent straddles a grain
 * boundary with no whole grain in it, so its free gives nothing back;
 * c's free, with no spare allowed, gives back every grain from that
 * boundary up, and the top of b's range with them. */
Test(mvff_debug, the_low_rest_of_a_range_stays_checked_when_its_top_goes_back)
{
  mps_pool_t pool = make_mvff(0, 0.0, NULL);
  size_t grain = arena->grain_size;
  mps_addr_t a, b, c;
  unsigned char *bad;
  uintptr_t g;
  cr_assert_eq(mps_alloc(&a, pool, grain - 1024 - 32), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&b, pool, 2048 - 32), MPS_RES_OK);
  cr_assert_eq(mps_alloc(&c, pool, 3 * grain), MPS_RES_OK);
  g = ((uintptr_t)b - 16 + grain - 1) & ~(uintptr_t)(grain - 1);
  cr_assert_eq(g, (uintptr_t)b - 16 + 1024, "b's extent straddles a grain boundary");
  cr_assert_eq((char *)c, (char *)b + 2048, "c follows b");
  mps_free(pool, b, 2048 - 32);
  cr_assert(owned_by(pool, (void *)g));
  bad = (unsigned char *)b + 8;
  *bad = 'x';
  mps_free(pool, c, 3 * grain);
  cr_assert(!owned_by(pool, (void *)g), "the grains from the boundary up went back");
  cr_assert(owned_by(pool, bad));
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), 1, "%d reports", reports_seen());
  cr_assert_eq(report_addr(0, POOL_DEBUG_FREE_REPORT), (uintptr_t)bad);
  mps_free(pool, a, grain - 1024 - 32);
  mps_pool_destroy(pool);
}

/* A block whose fences would take it past the end of memory is refused
 * with MPS_RES_RESOURCE, not wrapped round to a small one. */
Test(mvff_debug, a_size_the_fences_would_overflow_is_refused)
{
  mps_pool_t pool = make_mvff(0, 1.0, NULL);
  mps_addr_t p;
  cr_assert_eq(mps_alloc(&p, pool, SIZE_MAX - 40), MPS_RES_RESOURCE);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_pool_destroy(pool);
}

/* A free that starts in the pool and runs past its memory is refused, in
 * every variety, before anything is splatted: the block of another pool
 * just above it keeps its contents.  (The generic code checks only the
 * first grain, and the class used to splat the whole range before MVFF
 * refused it.)  Both pools take their memory from the top of the arena,
 * so that the debugging pool's lies just below the other's. */
Test(mvff_debug, a_free_running_past_the_pool_is_refused_before_it_is_splatted)
{
  mps_pool_t pool, other;
  mps_addr_t a, q;
  size_t grain = arena->grain_size, i;
  char *end;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MVFF_ARENA_HIGH, 1);
    cr_assert_eq(mps_pool_create_k(&other, arena, mps_class_mvff(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_alloc(&q, other, 64), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, 2 * grain);
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, 1.0);
    MPS_ARGS_ADD(args, MPS_KEY_MVFF_ARENA_HIGH, 1);
    MPS_ARGS_ADD(args, MPS_KEY_ALIGN, TEST_ALIGN);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff_debug(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_alloc(&a, pool, 64), MPS_RES_OK);
  end = (char *)a - 16 + 2 * grain;
  cr_assert_eq(end, (char *)q, "the other pool's block follows this pool's memory");
  memset(q, 0x55, 64);
  mps_free(pool, end - 64, 128);
  cr_assert_eq(reports_seen(), 1, "%d reports", reports_seen());
  for (i = 0; i < 64; ++i)
    cr_assert_eq(((unsigned char *)q)[i], 0x55, "byte %zu of the other pool's block", i);
  mps_free(other, q, 64);
  mps_free(pool, a, 64);
  mps_pool_check_free_space(pool);
  mps_pool_destroy(other);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), 1, "%d reports", reports_seen());
}

/* A free that MVFF refuses (a wrong size, running from a live block into
 * free memory) is reported in the checking varieties; the block stays
 * live, so the class must not record it as free space: its contents are
 * no damage, and its right free later is no double free. */
Test(mvff_debug, a_free_the_base_refuses_leaves_the_block_live)
{
  mps_pool_t pool = make_mvff(0, 1.0, NULL);
  int expected = CHECK_LEVEL >= 1 ? 1 : 0;
  mps_ap_t ap;
  mps_addr_t p;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, ap, 4096), MPS_RES_OK);
  } while (!mps_commit(ap, p, 4096));
  mps_ap_destroy(ap);
  cr_assert_geq(mps_pool_free_size(pool), 4096, "free memory follows the block");
  mps_free(pool, p, 8192);
  cr_assert_eq(reports_seen(), expected, "%d reports", reports_seen());
  memset(p, 0x43, 4096);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), expected, "%d reports: %s", reports_seen(), reports[expected]);
  mps_free(pool, p, 4096);
  cr_assert_eq(reports_seen(), expected, "%d reports: %s", reports_seen(), reports[expected]);
  mps_pool_check_free_space(pool);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), expected, "%d reports", reports_seen());
}

/* The client freed part of a buffer's unused rest (a client error that
 * MVFF cannot see), so MVFF refuses the rest when the buffer is emptied
 * (reported in the checking varieties), and that rest stays out of the
 * pool.  Nor may the class record it as free space: the part freed is
 * handed out again, and its new owner's writes are no damage. */
Test(mvff_debug, a_buffer_rest_the_base_refuses_stays_out_of_the_record)
{
  mps_pool_t pool = make_mvff(0, 1.0, NULL);
  int expected = CHECK_LEVEL >= 1 ? 1 : 0;
  mps_ap_t ap;
  mps_addr_t p, q;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, ap, 64), MPS_RES_OK);
  } while (!mps_commit(ap, p, 64));
  cr_assert_geq((size_t)((char *)ap->limit - (char *)p), 1024 + 64, "a region of a fill's size");
  mps_free(pool, (char *)p + 1024, 64);
  cr_assert_eq(reports_seen(), 0, "%d: %s", reports_seen(), reports[0]);
  mps_ap_destroy(ap);
  cr_assert_eq(reports_seen(), expected, "%d reports", reports_seen());
  /* First fit: the part freed, with its fences. */
  cr_assert_eq(mps_alloc(&q, pool, 32), MPS_RES_OK);
  cr_assert_eq((char *)q, (char *)p + 1024 + 16);
  memset(q, 0x21, 32);
  mps_pool_check_free_space(pool);
  cr_assert_eq(reports_seen(), expected, "%d reports: %s", reports_seen(), reports[expected]);
  mps_free(pool, q, 32);
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
  cr_assert_eq(reports_seen(), expected, "%d reports: %s", reports_seen(), reports[expected]);
}
