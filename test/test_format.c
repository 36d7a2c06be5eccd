/* test_format.c: unit tests for object formats (src/gc/format.c;
 * manual/topic/format.rst, deprecated.rst).
 *
 * Formats are checked through their internal structure (format.h): each
 * creation form must carry the client's methods, alignment and header
 * size into it, defaults must be those the manual gives, and pool
 * classes' format_acquire must count users so that destroying a format
 * in use is refused.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmfs.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/gc/format.h"
#include "support/checks.h"
#include "support/reports.h"

static mps_arena_t make_arena(void)
{
  mps_arena_t arena;
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 1 << 20);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_OK);
  return arena;
}

/* Distinct methods, so that each field can be told apart. */
static mps_res_t t_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  (void)ss;
  (void)base;
  (void)limit;
  return MPS_RES_OK;
}
static mps_addr_t t_skip(mps_addr_t addr) { return (char *)addr + 16; }
static void t_fwd(mps_addr_t old, mps_addr_t new_addr)
{
  (void)old;
  (void)new_addr;
}
static mps_addr_t t_isfwd(mps_addr_t addr)
{
  (void)addr;
  return NULL;
}
static void t_pad(mps_addr_t addr, size_t size)
{
  (void)addr;
  (void)size;
}
static mps_addr_t t_class(mps_addr_t addr) { return addr; }
static void t_copy(mps_addr_t old, mps_addr_t new_addr)
{
  (void)old;
  (void)new_addr;
}

Test(format, keyword_creation_carries_every_method)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t fmt;
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, 32);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_HEADER_SIZE, 8);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, t_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, t_skip);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_FWD, t_fwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ISFWD, t_isfwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, t_pad);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_CLASS, t_class);
    res = mps_fmt_create_k(&fmt, arena, args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_OK);
  cr_assert(format_check(fmt));
  cr_assert_eq(fmt->alignment, 32);
  cr_assert_eq(fmt->header_size, 8);
  cr_assert_eq(fmt->scan, t_scan);
  cr_assert_eq(fmt->skip, t_skip);
  cr_assert_eq(fmt->fwd, t_fwd);
  cr_assert_eq(fmt->isfwd, t_isfwd);
  cr_assert_eq(fmt->pad, t_pad);
  cr_assert_eq(fmt->klass, t_class);
  cr_assert_eq(fmt->pools, 0);
  cr_assert(format_client(fmt, (Addr)0x1000) == (Addr)0x1008);
  cr_assert(format_base(fmt, (Addr)0x1008) == (Addr)0x1000);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}

Test(format, keyword_defaults_are_the_manuals)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t fmt;
  cr_assert_eq(mps_fmt_create_k(&fmt, arena, mps_args_none), MPS_RES_OK);
  cr_assert_eq(fmt->alignment, MPS_PF_ALIGN);
  cr_assert_eq(fmt->header_size, 0);
  cr_assert_null(fmt->scan);
  cr_assert_null(fmt->skip);
  cr_assert_null(fmt->fwd);
  cr_assert_null(fmt->isfwd);
  cr_assert_null(fmt->pad);
  cr_assert_null(fmt->klass);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}

Test(format, deprecated_forms)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t a, b, ah, fx;
  mps_fmt_A_s fa = {8, t_scan, t_skip, t_copy, t_fwd, t_isfwd, t_pad};
  mps_fmt_B_s fb = {16, t_scan, t_skip, t_copy, t_fwd, t_isfwd, t_pad, t_class};
  mps_fmt_auto_header_s fah = {8, t_scan, t_skip, t_fwd, t_isfwd, t_pad, 16};
  mps_fmt_fixed_s ffx = {64, t_scan, t_fwd, t_isfwd, t_pad};

  cr_assert_eq(mps_fmt_create_A(&a, arena, &fa), MPS_RES_OK);
  cr_assert_eq(a->alignment, 8);
  cr_assert_eq(a->scan, t_scan);
  cr_assert_eq(a->skip, t_skip);
  cr_assert_eq(a->fwd, t_fwd);
  cr_assert_eq(a->isfwd, t_isfwd);
  cr_assert_eq(a->pad, t_pad);
  cr_assert_null(a->klass);
  cr_assert_eq(a->header_size, 0);

  cr_assert_eq(mps_fmt_create_B(&b, arena, &fb), MPS_RES_OK);
  cr_assert_eq(b->alignment, 16);
  cr_assert_eq(b->klass, t_class);
  cr_assert_eq(b->skip, t_skip);

  cr_assert_eq(mps_fmt_create_auto_header(&ah, arena, &fah), MPS_RES_OK);
  cr_assert_eq(ah->header_size, 16);
  cr_assert_eq(ah->pad, t_pad);
  cr_assert_null(ah->klass);

  cr_assert_eq(mps_fmt_create_fixed(&fx, arena, &ffx), MPS_RES_OK);
  cr_assert_eq(fx->alignment, 64);
  cr_assert_null(fx->skip);
  cr_assert_eq(fx->isfwd, t_isfwd);

  /* Four distinct formats, each with its own serial number. */
  cr_assert_neq(a->serial, b->serial);
  cr_assert_neq(ah->serial, fx->serial);
  mps_fmt_destroy(a);
  mps_fmt_destroy(b);
  mps_fmt_destroy(ah);
  mps_fmt_destroy(fx);
  mps_arena_destroy(arena);
}

Test(format, acquire_checks_methods_and_counts_users)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t full, bare;
  Format got;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, t_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, t_skip);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_FWD, t_fwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ISFWD, t_isfwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, t_pad);
    cr_assert_eq(mps_fmt_create_k(&full, arena, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_fmt_create_k(&bare, arena, mps_args_none), MPS_RES_OK);

  /* Required and absent. */
  cr_assert_eq(format_acquire(&got, arena, mps_args_none, "sk", false), MPS_RES_PARAM);
  /* Optional and absent. */
  got = full;
  cr_assert_eq(format_acquire(&got, arena, mps_args_none, "sk", true), MPS_RES_OK);
  cr_assert_null(got);

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, bare);
    cr_assert_eq(format_acquire(&got, arena, args, "s", false), MPS_RES_PARAM);
    cr_assert_eq(bare->pools, 0);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, bare);
    /* Needing nothing, a bare format will do. */
    cr_assert_eq(format_acquire(&got, arena, args, "", false), MPS_RES_OK);
    cr_assert_eq(got, bare);
    cr_assert_eq(bare->pools, 1);
    /* The key was taken out of the list. */
    cr_assert_eq(args[0].key, MPS_KEY_ARGS_END);
  } MPS_ARGS_END(args);
  format_release(bare);
  cr_assert_eq(bare->pools, 0);

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, full);
    cr_assert_eq(format_acquire(&got, arena, args, "skfip", false), MPS_RES_OK);
    cr_assert_eq(got, full);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, full);
    cr_assert_eq(format_acquire(&got, arena, args, "sk", false), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(full->pools, 2);
  format_release(full);
  format_release(full);
  mps_fmt_destroy(full);
  mps_fmt_destroy(bare);
  mps_arena_destroy(arena);
}

Test(format, addr_fmt_is_false_outside_formatted_pools)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t fmt = NULL;
  mps_pool_t pool;
  void *block;
  int local = 0;
  cr_assert(!mps_addr_fmt(&fmt, arena, &local));
  cr_assert_null(fmt);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, 64);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mfs(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_alloc(&block, pool, 64), MPS_RES_OK);
  cr_assert(!mps_addr_fmt(&fmt, arena, block));
  cr_assert_null(fmt);
  mps_free(pool, block, 64);
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
}

Test(format, destroying_a_format_in_use_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t fmt;
  Format got;
  reports_install_abort();
  cr_assert_eq(mps_fmt_create_k(&fmt, arena, mps_args_none), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    cr_assert_eq(format_acquire(&got, arena, args, "", false), MPS_RES_OK);
  } MPS_ARGS_END(args);
  mps_fmt_destroy(fmt);
}

Test(format, a_bad_alignment_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t fmt;
  reports_install_abort();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, 24);
    (void)mps_fmt_create_k(&fmt, arena, args);
  } MPS_ARGS_END(args);
}

Test(format, destroying_an_arena_with_a_format_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t fmt;
  reports_install_abort();
  cr_assert_eq(mps_fmt_create_k(&fmt, arena, mps_args_none), MPS_RES_OK);
  mps_arena_destroy(arena);
}

/* Create a format with this alignment and header size; the result. */
static mps_res_t try_format(mps_arena_t arena, size_t align, size_t header)
{
  mps_fmt_t fmt = NULL;
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, align);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_HEADER_SIZE, header);
    res = mps_fmt_create_k(&fmt, arena, args);
  } MPS_ARGS_END(args);
  if (res == MPS_RES_OK) {
    cr_assert(format_check(fmt));
    mps_fmt_destroy(fmt);
  } else {
    cr_assert_null(fmt);
  }
  return res;
}

/* An alignment or header no pool could lay objects out by is reported,
 * and refused with MPS_RES_PARAM when the handler returns (in rash too,
 * without the report).  The largest of each that a grain allows is
 * accepted. */
Test(format, alignments_and_headers_beyond_a_grain_are_refused)
{
  mps_arena_t arena = make_arena();
  size_t grain = arena->grain_size;
  reports_install();
  cr_assert_eq(try_format(arena, 24, 0), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  reports_install();
  cr_assert_eq(try_format(arena, 2 * grain, 0), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  reports_install();
  cr_assert_eq(try_format(arena, 8, grain), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  reports_install();
  cr_assert_eq(try_format(arena, grain, grain - 8), MPS_RES_OK);
  cr_assert_eq(reports_seen(), 0);
  reports_install_abort();
  mps_arena_destroy(arena);
}

/* Each method a pool class names in `needs` is required: a format
 * lacking any one of them is refused without counting a user, and the
 * same format serves a pool that needs only the others. */
Test(format, a_format_missing_any_needed_method_is_refused)
{
  static const char all[] = "skfip";
  mps_arena_t arena = make_arena();
  size_t missing;
  for (missing = 0; missing < sizeof all - 1; ++missing) {
    char others[sizeof all];
    size_t i, n = 0;
    mps_fmt_t fmt;
    Format got = NULL;
    for (i = 0; i < sizeof all - 1; ++i)
      if (i != missing)
        others[n++] = all[i];
    others[n] = '\0';
    MPS_ARGS_BEGIN(args) {
      if (all[missing] != 's')
        MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, t_scan);
      if (all[missing] != 'k')
        MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, t_skip);
      if (all[missing] != 'f')
        MPS_ARGS_ADD(args, MPS_KEY_FMT_FWD, t_fwd);
      if (all[missing] != 'i')
        MPS_ARGS_ADD(args, MPS_KEY_FMT_ISFWD, t_isfwd);
      if (all[missing] != 'p')
        MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, t_pad);
      cr_assert_eq(mps_fmt_create_k(&fmt, arena, args), MPS_RES_OK);
    } MPS_ARGS_END(args);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
      cr_assert_eq(format_acquire(&got, arena, args, all, false), MPS_RES_PARAM,
                   "a format without '%c' accepted", all[missing]);
    } MPS_ARGS_END(args);
    cr_assert_eq(fmt->pools, 0);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
      cr_assert_eq(format_acquire(&got, arena, args, others, false), MPS_RES_OK);
    } MPS_ARGS_END(args);
    cr_assert_eq(got, fmt);
    format_release(fmt);
    mps_fmt_destroy(fmt);
  }
  mps_arena_destroy(arena);
}

/* Destroying a format a pool still uses is reported, and refused when the
 * handler returns: the format stays whole for the pool, and can be
 * destroyed once the pool lets go of it. */
Test(format, destroying_a_format_in_use_is_refused)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t fmt;
  Format got;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, t_scan);
    cr_assert_eq(mps_fmt_create_k(&fmt, arena, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    cr_assert_eq(format_acquire(&got, arena, args, "s", false), MPS_RES_OK);
  } MPS_ARGS_END(args);
  reports_install();
  mps_fmt_destroy(fmt);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert(format_check(fmt), "the format was destroyed under its pool");
  cr_assert_eq(fmt->scan, t_scan);
  cr_assert_eq(fmt->pools, 1);
  format_release(fmt);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);   /* checks that no format is left */
}

/* A format serves the arena it was made in: a pool of another arena
 * giving it is reported, and refused when the handler returns, without
 * counting a user (otherwise destroying the format's own arena would free
 * it under that pool). */
Test(format, a_format_of_another_arena_is_refused)
{
  mps_arena_t arena = make_arena(), other = make_arena();
  mps_fmt_t fmt;
  Format got = NULL;
  mps_res_t res;
  cr_assert_eq(mps_fmt_create_k(&fmt, other, mps_args_none), MPS_RES_OK);
  reports_install();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    res = format_acquire(&got, arena, args, "", false);
  } MPS_ARGS_END(args);
  reports_install_abort();
  cr_assert_eq(res, MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert_null(got);
  cr_assert_eq(fmt->pools, 0);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(other);
  mps_arena_destroy(arena);
}

Test(format, creation_fails_cleanly_at_the_commit_limit)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t fmt;
  mps_res_t res = MPS_RES_OK;
  size_t made = 0, i;
  mps_fmt_t *all = calloc(100000, sizeof *all);
  cr_assert_not_null(all);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  /* Control memory runs out at some point; every format made before that
   * stays good, and the arena stays usable. */
  while (made < 100000) {
    res = mps_fmt_create_k(&fmt, arena, mps_args_none);
    if (res != MPS_RES_OK)
      break;
    all[made++] = fmt;
  }
  cr_assert_neq(res, MPS_RES_OK);
  for (i = 0; i < made; ++i) {
    cr_assert(format_check(all[i]));
    mps_fmt_destroy(all[i]);
  }
  cr_assert_eq(mps_arena_commit_limit_set(arena, (size_t)1 << 30), MPS_RES_OK);
  cr_assert_eq(mps_fmt_create_k(&fmt, arena, mps_args_none), MPS_RES_OK);
  mps_fmt_destroy(fmt);
  free(all);
  mps_arena_destroy(arena);
}

/* Every field each deprecated form describes reaches the format, and
 * those it cannot describe are left at their defaults.  The alignments
 * differ from MPS_PF_ALIGN, so that a form that dropped one would show. */
Test(format, each_deprecated_form_carries_every_field_it_has)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t b, ah, fx;
  mps_fmt_B_s fb = {32, t_scan, t_skip, t_copy, t_fwd, t_isfwd, t_pad, t_class};
  mps_fmt_auto_header_s fah = {32, t_scan, t_skip, t_fwd, t_isfwd, t_pad, 8};
  mps_fmt_fixed_s ffx = {32, t_scan, t_fwd, t_isfwd, t_pad};
  cr_assert_neq(MPS_PF_ALIGN, 32);

  cr_assert_eq(mps_fmt_create_B(&b, arena, &fb), MPS_RES_OK);
  cr_assert_eq(b->alignment, 32);
  cr_assert_eq(b->header_size, 0);
  cr_assert_eq(b->scan, t_scan);
  cr_assert_eq(b->skip, t_skip);
  cr_assert_eq(b->fwd, t_fwd);
  cr_assert_eq(b->isfwd, t_isfwd);
  cr_assert_eq(b->pad, t_pad);
  cr_assert_eq(b->klass, t_class);

  cr_assert_eq(mps_fmt_create_auto_header(&ah, arena, &fah), MPS_RES_OK);
  cr_assert_eq(ah->alignment, 32);
  cr_assert_eq(ah->header_size, 8);
  cr_assert_eq(ah->scan, t_scan);
  cr_assert_eq(ah->skip, t_skip);
  cr_assert_eq(ah->fwd, t_fwd);
  cr_assert_eq(ah->isfwd, t_isfwd);
  cr_assert_eq(ah->pad, t_pad);
  cr_assert_null(ah->klass);

  cr_assert_eq(mps_fmt_create_fixed(&fx, arena, &ffx), MPS_RES_OK);
  cr_assert_eq(fx->alignment, 32);
  cr_assert_eq(fx->header_size, 0);
  cr_assert_eq(fx->scan, t_scan);
  cr_assert_null(fx->skip);
  cr_assert_eq(fx->fwd, t_fwd);
  cr_assert_eq(fx->isfwd, t_isfwd);
  cr_assert_eq(fx->pad, t_pad);
  cr_assert_null(fx->klass);

  mps_fmt_destroy(b);
  mps_fmt_destroy(ah);
  mps_fmt_destroy(fx);
  mps_arena_destroy(arena);
}

/* A missing description, or nowhere to store the format, is reported and
 * refused with MPS_RES_PARAM (in rash too, without the report); destroying
 * a null format is reported and does nothing.  The arena is left with no
 * format, so that destroying it succeeds. */
Test(format, null_arguments_are_refused)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t fmt = NULL;

  reports_install();
  cr_assert_eq(mps_fmt_create_A(&fmt, arena, NULL), MPS_RES_PARAM);
  cr_assert_eq(mps_fmt_create_B(&fmt, arena, NULL), MPS_RES_PARAM);
  cr_assert_eq(mps_fmt_create_auto_header(&fmt, arena, NULL), MPS_RES_PARAM);
  cr_assert_eq(mps_fmt_create_fixed(&fmt, arena, NULL), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), TEST_REPORTS(4));
  cr_assert_null(fmt);

  reports_install();
  cr_assert_eq(mps_fmt_create_k(NULL, arena, mps_args_none), MPS_RES_PARAM);
  TEST_ASSERT_REPORTED(reports_seen());

  reports_install();
  mps_fmt_destroy(NULL);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));

  reports_install_abort();
  mps_arena_destroy(arena);
}

/* The format check finds an alignment that is not a power of two or is
 * beyond a grain (inv 3), and a header that has grown to a grain (inv 4). */
Test(format, the_check_finds_a_bad_alignment_or_header)
{
#if CHECK_LEVEL < 2
  cr_skip_test("structure checks need CHECK_LEVEL 2");
#endif
  mps_arena_t arena = make_arena();
  mps_fmt_t fmt;
  cr_assert_eq(mps_fmt_create_k(&fmt, arena, mps_args_none), MPS_RES_OK);
  reports_install();
  fmt->alignment = 24;
  cr_assert(format_check(fmt));
  cr_assert_eq(reports_seen(), 1);
  reports_install();
  fmt->alignment = 2 * arena->grain_size;
  cr_assert(format_check(fmt));
  cr_assert_eq(reports_seen(), 1);
  fmt->alignment = MPS_PF_ALIGN;
  reports_install();
  fmt->header_size = arena->grain_size;
  cr_assert(format_check(fmt));
  cr_assert_eq(reports_seen(), 1);
  fmt->header_size = 0;
  reports_install();
  cr_assert(format_check(fmt));
  cr_assert_eq(reports_seen(), 0);
  reports_install_abort();
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}

/* Releasing a format no pool acquired is a pool class's error. */
Test(format, releasing_an_unused_format_aborts, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_fmt_t fmt;
  cr_assert_eq(mps_fmt_create_k(&fmt, arena, mps_args_none), MPS_RES_OK);
  reports_install_abort();
  format_release(fmt);
}
