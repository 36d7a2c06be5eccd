/* test_root.c: unit tests for roots and the area scanners
 * (src/gc/root.c; manual/topic/root.rst, scanning.rst, deprecated.rst).
 *
 * Most tests drive scanning without a trace: a scan state whose fix
 * records every reference it is given, and can move ("forward") or
 * splat references in a chosen range, shows exactly which words a
 * scanner or a root treats as references, with which tag removed, and
 * what is stored back.  The collection tests at the end check that the
 * same roots keep objects alive through real collections in an AMC pool:
 * every object a root refers to is also in a weak table, which a
 * collection splats for objects that died and updates for objects that
 * moved.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpslib.h"
#include "../src/arena/arena.h"
#include "../src/base/config.h"
#include "../src/gc/root.h"
#include "../src/gc/trace.h"
#include "support/objfmt.h"
#include "support/checks.h"
#include "support/reports.h"
#include "support/configs.h"

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

/* ---- The recording fix ------------------------------------------------ */

#define REC_MAX 256

static struct {
  mps_word_t seen[REC_MAX];     /* references given to the fix, in order */
  size_t count;
  mps_word_t lo, hi;            /* the range that moves or dies */
  mps_word_t delta;             /* moved references move by this */
  bool splat;                   /* ... or die (weak) */
  mps_word_t fail_on;           /* a reference whose fix fails */
} rec;

static void rec_reset(void)
{
  memset(&rec, 0, sizeof rec);
}

static mps_res_t rec_fix(mps_ss_t ss, mps_addr_t *ref_io)
{
  mps_word_t ref = (mps_word_t)*ref_io;
  (void)ss;
  if (rec.count < REC_MAX)
    rec.seen[rec.count] = ref;
  ++rec.count;
  if (rec.fail_on != 0 && ref == rec.fail_on)
    return MPS_RES_FAIL;
  if (ref >= rec.lo && ref < rec.hi)
    *ref_io = rec.splat ? NULL : (mps_addr_t)(ref + rec.delta);
  return MPS_RES_OK;
}

static bool rec_saw(mps_word_t ref)
{
  size_t i;
  for (i = 0; i < rec.count && i < REC_MAX; ++i)
    if (rec.seen[i] == ref)
      return true;
  return false;
}

/* A bare public scan state: every zone white, so every word reaches the
 * fix. */
static void bare_ss_init(mps_ss_s *ss)
{
  ss->_fix = rec_fix;
  ss->_zs = 20;
  ss->_w = ~(mps_word_t)0;
  ss->_ufs = 0;
}

/* A collector scan state with no trace, made to record. */
static void rec_ss_init(scan_state_s *ss, mps_arena_t arena, Rank rank)
{
  scan_state_init(ss, arena, NULL, rank);
  ss->ss_s._fix = rec_fix;
  ss->ss_s._w = ~(mps_word_t)0;
  ss->ss_s._ufs = 0;
}

/* Addresses that look like references, spread over distinct zones. */
#define R(n) ((mps_word_t)0x10000000u + (mps_word_t)(n) * 0x100000u)

/* ---- The area scanners ------------------------------------------------ */

Test(scan_area, fixes_every_non_null_word_and_stores_moved_ones)
{
  mps_ss_s ss;
  mps_word_t area[4] = {R(1), R(2), R(3), 0};
  rec_reset();
  rec.lo = R(2);
  rec.hi = R(3);
  rec.delta = 0x40;
  bare_ss_init(&ss);
  cr_assert_eq(mps_scan_area(&ss, area, area + 4, NULL), MPS_RES_OK);
  /* Every word but the null one, which MPS_FIX1 turns away (weak.rst). */
  cr_assert_eq(rec.count, 3);
  cr_assert_eq(rec.seen[0], R(1));
  cr_assert_eq(rec.seen[1], R(2));
  cr_assert_eq(rec.seen[2], R(3));
  cr_assert_eq(area[0], R(1));
  cr_assert_eq(area[1], R(2) + 0x40);
  cr_assert_eq(area[2], R(3));
  /* The zones of every reference seen are in the summary. */
  cr_assert_neq(ss._ufs & ((mps_word_t)1 << ((R(1) >> 20) & (MPS_WORD_WIDTH - 1))), 0);
  cr_assert_neq(ss._ufs & ((mps_word_t)1 << ((R(3) >> 20) & (MPS_WORD_WIDTH - 1))), 0);
}

Test(scan_area, only_white_zones_reach_the_fix)
{
  mps_ss_s ss;
  mps_word_t area[3] = {R(1), R(2), R(1) + 8};
  rec_reset();
  bare_ss_init(&ss);
  ss._w = (mps_word_t)1 << ((R(1) >> 20) & (MPS_WORD_WIDTH - 1));
  cr_assert_eq(mps_scan_area(&ss, area, area + 3, NULL), MPS_RES_OK);
  cr_assert_eq(rec.count, 2);
  cr_assert_eq(rec.seen[0], R(1));
  cr_assert_eq(rec.seen[1], R(1) + 8);
  cr_assert_neq(ss._ufs & ((mps_word_t)1 << ((R(2) >> 20) & (MPS_WORD_WIDTH - 1))), 0);
}

Test(scan_area, a_failing_fix_stops_the_scan)
{
  mps_ss_s ss;
  mps_word_t area[4] = {R(1), R(2), R(3), R(4)};
  rec_reset();
  rec.fail_on = R(2);
  bare_ss_init(&ss);
  cr_assert_eq(mps_scan_area(&ss, area, area + 4, NULL), MPS_RES_FAIL);
  cr_assert_eq(rec.count, 2);
}

Test(scan_area, masked_removes_and_restores_tags)
{
  mps_ss_s ss;
  mps_scan_tag_s tag = {7, 5};     /* the pattern plays no part */
  mps_word_t area[3] = {R(1) | 3, R(2) | 5, R(3)};
  rec_reset();
  rec.lo = R(1);
  rec.hi = R(3) + 1;
  rec.delta = 0x100;
  bare_ss_init(&ss);
  cr_assert_eq(mps_scan_area_masked(&ss, area, area + 3, &tag), MPS_RES_OK);
  cr_assert_eq(rec.count, 3);
  cr_assert_eq(rec.seen[0], R(1));
  cr_assert_eq(rec.seen[1], R(2));
  cr_assert_eq(rec.seen[2], R(3));
  cr_assert_eq(area[0], (R(1) + 0x100) | 3);
  cr_assert_eq(area[1], (R(2) + 0x100) | 5);
  cr_assert_eq(area[2], R(3) + 0x100);
}

Test(scan_area, tagged_fixes_only_the_pattern)
{
  mps_ss_s ss;
  mps_scan_tag_s tag = {7, 5};
  mps_word_t area[5] = {R(1) | 5, R(2) | 3, R(3), R(4) | 5, 0};
  rec_reset();
  rec.lo = R(0);
  rec.hi = R(10);
  rec.delta = 0x80;
  bare_ss_init(&ss);
  cr_assert_eq(mps_scan_area_tagged(&ss, area, area + 5, &tag), MPS_RES_OK);
  cr_assert_eq(rec.count, 2);
  cr_assert_eq(rec.seen[0], R(1));
  cr_assert_eq(rec.seen[1], R(4));
  cr_assert_eq(area[0], (R(1) + 0x80) | 5);
  cr_assert_eq(area[1], R(2) | 3);
  cr_assert_eq(area[2], R(3));
  cr_assert_eq(area[3], (R(4) + 0x80) | 5);
  cr_assert_eq(area[4], 0);
}

Test(scan_area, tagged_or_zero_also_fixes_untagged_words)
{
  mps_ss_s ss;
  mps_scan_tag_s tag = {7, 3};
  mps_word_t area[4] = {R(1) | 3, R(2) | 5, R(3), R(4) | 1};
  rec_reset();
  rec.lo = R(0);
  rec.hi = R(10);
  rec.delta = 0x80;
  bare_ss_init(&ss);
  cr_assert_eq(mps_scan_area_tagged_or_zero(&ss, area, area + 4, &tag), MPS_RES_OK);
  cr_assert_eq(rec.count, 2);
  cr_assert_eq(rec.seen[0], R(1));
  cr_assert_eq(rec.seen[1], R(3));
  cr_assert_eq(area[0], (R(1) + 0x80) | 3);
  cr_assert_eq(area[1], R(2) | 5);
  cr_assert_eq(area[2], R(3) + 0x80);
  cr_assert_eq(area[3], R(4) | 1);
}

Test(scan_area, a_weak_splat_keeps_the_tag)
{
  mps_ss_s ss;
  mps_scan_tag_s tag = {7, 1};
  mps_word_t area[2] = {R(1) | 1, R(2) | 1};
  rec_reset();
  rec.lo = R(2);
  rec.hi = R(3);
  rec.splat = true;
  bare_ss_init(&ss);
  cr_assert_eq(mps_scan_area_tagged(&ss, area, area + 2, &tag), MPS_RES_OK);
  cr_assert_eq(area[0], R(1) | 1);
  cr_assert_eq(area[1], 1);
}

Test(scan_area, an_empty_area_fixes_nothing)
{
  mps_ss_s ss;
  mps_word_t area[1] = {R(1)};
  mps_scan_tag_s tag = {0, 0};
  rec_reset();
  bare_ss_init(&ss);
  cr_assert_eq(mps_scan_area(&ss, area, area, NULL), MPS_RES_OK);
  cr_assert_eq(mps_scan_area_masked(&ss, area, area, &tag), MPS_RES_OK);
  cr_assert_eq(mps_scan_area_tagged(&ss, area, area, &tag), MPS_RES_OK);
  cr_assert_eq(mps_scan_area_tagged_or_zero(&ss, area, area, &tag), MPS_RES_OK);
  cr_assert_eq(rec.count, 0);
}

/* ---- Root varieties, scanned without a trace -------------------------- */

static mps_word_t table[6];

Test(root, table_roots_scan_their_words)
{
  mps_arena_t arena = make_arena();
  mps_root_t root;
  scan_state_s ss;
  table[0] = R(1);
  table[1] = R(2);
  table[2] = R(3);
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0,
                                     (mps_addr_t *)table, 3), MPS_RES_OK);
  cr_assert(root_check(root));
  cr_assert_eq(root_rank(root), RANK_EXACT);
  cr_assert_eq(root_count(arena), 1);
  cr_assert(root_any_of_rank(arena, RANK_EXACT));
  cr_assert(!root_any_of_rank(arena, RANK_AMBIG));
  cr_assert(!root_any_thread_root(arena));
  rec_reset();
  rec.lo = R(3);
  rec.hi = R(4);
  rec.delta = 0x10;
  rec_ss_init(&ss, arena, RANK_EXACT);
  cr_assert_eq(root_scan(&ss, root), MPS_RES_OK);
  scan_state_finish(&ss);
  cr_assert_eq(rec.count, 3);
  cr_assert_eq(table[2], R(3) + 0x10);
  mps_root_destroy(root);
  cr_assert_eq(root_count(arena), 0);
  mps_arena_destroy(arena);
}

Test(root, masked_and_tagged_tables)
{
  mps_arena_t arena = make_arena();
  mps_root_t masked, tagged;
  scan_state_s ss;
  table[0] = R(1) | 2;
  table[1] = R(2) | 1;
  table[2] = R(3) | 2;
  table[3] = R(4) | 1;
  cr_assert_eq(mps_root_create_table_masked(&masked, arena, mps_rank_ambig(), 0,
                                            (mps_addr_t *)table, 2, 3), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table_tagged(&tagged, arena, mps_rank_ambig(),
                                            MPS_RM_CONST, (mps_addr_t *)table + 2, 2,
                                            mps_scan_area_tagged, 3, 1), MPS_RES_OK);
  rec_reset();
  rec_ss_init(&ss, arena, RANK_AMBIG);
  cr_assert_eq(root_scan(&ss, masked), MPS_RES_OK);
  cr_assert_eq(rec.count, 2);
  cr_assert_eq(rec.seen[0], R(1));
  cr_assert_eq(rec.seen[1], R(2));
  rec_reset();
  cr_assert_eq(root_scan(&ss, tagged), MPS_RES_OK);
  cr_assert_eq(rec.count, 1);
  cr_assert_eq(rec.seen[0], R(4));
  scan_state_finish(&ss);
  /* Nothing moved, so nothing changed. */
  cr_assert_eq(table[0], R(1) | 2);
  cr_assert_eq(table[3], R(4) | 1);
  mps_root_destroy(masked);
  mps_root_destroy(tagged);
  mps_arena_destroy(arena);
}

Test(root, area_roots_with_a_closure_and_tagged)
{
  mps_arena_t arena = make_arena();
  mps_root_t area, tagged;
  scan_state_s ss;
  mps_scan_tag_s tag = {1, 1};
  table[0] = R(1);
  table[1] = R(2) | 1;
  table[2] = R(3) | 1;
  table[3] = R(4);
  /* The closure of an area root is the client's: here a tag structure
   * that the root must not copy. */
  cr_assert_eq(mps_root_create_area(&area, arena, mps_rank_exact(), 0, table, table + 2,
                                    mps_scan_area_tagged, &tag), MPS_RES_OK);
  cr_assert_eq(mps_root_create_area_tagged(&tagged, arena, mps_rank_exact(), 0,
                                           table + 2, table + 4, mps_scan_area_tagged_or_zero,
                                           1, 1), MPS_RES_OK);
  rec_reset();
  rec_ss_init(&ss, arena, RANK_EXACT);
  cr_assert_eq(root_scan(&ss, area), MPS_RES_OK);
  cr_assert_eq(rec.count, 1);
  cr_assert_eq(rec.seen[0], R(2));
  tag.pattern = 0;
  rec_reset();
  cr_assert_eq(root_scan(&ss, area), MPS_RES_OK);
  cr_assert_eq(rec.count, 1);
  cr_assert_eq(rec.seen[0], R(1));
  rec_reset();
  cr_assert_eq(root_scan(&ss, tagged), MPS_RES_OK);
  cr_assert_eq(rec.count, 2);
  cr_assert_eq(rec.seen[0], R(3));
  cr_assert_eq(rec.seen[1], R(4));
  scan_state_finish(&ss);
  mps_root_destroy(area);
  mps_root_destroy(tagged);
  mps_arena_destroy(arena);
}

static mps_addr_t fmt_seen_base, fmt_seen_limit;

static mps_res_t fmt_scan_two(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  mps_addr_t *p;
  fmt_seen_base = base;
  fmt_seen_limit = limit;
  MPS_SCAN_BEGIN(ss) {
    for (p = base; p < (mps_addr_t *)limit; p += 2) {
      mps_res_t res = MPS_FIX12(ss, p);   /* every other word */
      if (res != MPS_RES_OK)
        return res;
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

static void *fun_seen_p;
static size_t fun_seen_s;

static mps_res_t fun_scan(mps_ss_t ss, void *p, size_t s)
{
  mps_addr_t *refs = p;
  size_t i;
  fun_seen_p = p;
  fun_seen_s = s;
  MPS_SCAN_BEGIN(ss) {
    for (i = 0; i < s; ++i) {
      mps_res_t res = MPS_FIX12(ss, &refs[i]);
      if (res != MPS_RES_OK)
        return res;
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

Test(root, fmt_and_function_roots)
{
  mps_arena_t arena = make_arena();
  mps_root_t fmt, fun;
  scan_state_s ss;
  table[0] = R(1);
  table[1] = R(2);
  table[2] = R(3);
  table[3] = R(4);
  cr_assert_eq(mps_root_create_fmt(&fmt, arena, mps_rank_weak(), 0, fmt_scan_two,
                                   table, table + 4), MPS_RES_OK);
  cr_assert_eq(mps_root_create(&fun, arena, mps_rank_weak(), 0, fun_scan, table + 4, 2),
               MPS_RES_OK);
  table[4] = R(5);
  table[5] = R(6);
  rec_reset();
  rec.lo = R(3);
  rec.hi = R(6);
  rec.splat = true;
  rec_ss_init(&ss, arena, RANK_WEAK);
  cr_assert_eq(root_scan(&ss, fmt), MPS_RES_OK);
  cr_assert_eq(fmt_seen_base, (mps_addr_t)table);
  cr_assert_eq(fmt_seen_limit, (mps_addr_t)(table + 4));
  cr_assert_eq(rec.count, 2);
  cr_assert_eq(table[0], R(1));
  cr_assert_eq(table[2], 0);
  cr_assert_eq(table[1], R(2));      /* not a reference to this format */
  cr_assert_eq(root_scan(&ss, fun), MPS_RES_OK);
  cr_assert_eq(fun_seen_p, (void *)(table + 4));
  cr_assert_eq(fun_seen_s, 2);
  cr_assert_eq(table[4], 0);
  cr_assert_eq(table[5], R(6));
  scan_state_finish(&ss);
  mps_root_destroy(fmt);
  mps_root_destroy(fun);
  mps_arena_destroy(arena);
}

Test(root, scanning_adds_the_roots_zones_to_the_scan_states_summary)
{
  mps_arena_t arena = make_arena();
  mps_root_t root;
  scan_state_s ss;
  mps_word_t zone_bit;
  table[0] = R(7);
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0,
                                     (mps_addr_t *)table, 1), MPS_RES_OK);
  rec_reset();
  rec_ss_init(&ss, arena, RANK_EXACT);
  /* The arena's zone width (gc.c: narrower than 1 MiB in a small arena). */
  zone_bit = (mps_word_t)1 << ((R(7) >> ss.ss_s._zs) & (MPS_WORD_WIDTH - 1));
  ss.ss_s._ufs = 1;                  /* gathered before this root */
  cr_assert_eq(root_scan(&ss, root), MPS_RES_OK);
  cr_assert_eq(ss.ss_s._ufs, zone_bit | 1);
  scan_state_finish(&ss);
  mps_root_destroy(root);
  mps_arena_destroy(arena);
}

/* ---- Thread roots ----------------------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#define SCAN_UNCHECKED __attribute__((no_sanitize_address))
#else
#define NOINLINE
#define SCAN_UNCHECKED
#endif

/* The areas a thread root hands its scanner. */
static struct {
  void *base[16], *limit[16];
  size_t count;
  mps_word_t marker;            /* looked for; kept as its complement */
  bool found;
} areas;

static SCAN_UNCHECKED mps_res_t area_recorder(mps_ss_t ss, void *base, void *limit,
                                              void *closure)
{
  mps_word_t *p;
  (void)ss;
  cr_assert_eq(closure, &areas);
  if (areas.count < 16) {
    areas.base[areas.count] = base;
    areas.limit[areas.count] = limit;
  }
  ++areas.count;
  for (p = base; p < (mps_word_t *)limit; ++p)
    if (*p == ~areas.marker)
      areas.found = true;
  return MPS_RES_OK;
}

static mps_root_t self_root;
static mps_arena_t self_arena;

/* A frame below the root's cold end holding the marker. */
static NOINLINE void scan_self_from_deeper_frame(mps_word_t complement)
{
  volatile mps_word_t here[4];
  scan_state_s ss;
  here[1] = ~complement;
  here[0] = here[1];
  rec_reset();
  rec_ss_init(&ss, self_arena, RANK_AMBIG);
  cr_assert_eq(root_scan(&ss, self_root), MPS_RES_OK);
  scan_state_finish(&ss);
  here[1] = 0;
}

Test(root, a_thread_root_scans_the_current_thread_below_its_cold_end)
{
  volatile mps_word_t cold_here = 0;
  mps_thr_t thr;
  self_arena = make_arena();
  cr_assert_eq(mps_thread_reg(&thr, self_arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_thread_scanned(&self_root, self_arena, mps_rank_ambig(), 0,
                                              thr, area_recorder, &areas,
                                              (void *)&cold_here), MPS_RES_OK);
  cr_assert(root_any_thread_root(self_arena));
  memset(&areas, 0, sizeof areas);
  areas.marker = ~(mps_word_t)0x5eed5eed1234;
  scan_self_from_deeper_frame(areas.marker);
  cr_assert(areas.found);
  cr_assert_geq(areas.count, 1);
  /* The stack was cut at the client's cold end, not the thread's. */
  cr_assert((char *)areas.limit[areas.count - 1] <= (char *)&cold_here + sizeof(mps_word_t));
  mps_root_destroy(self_root);
  mps_thread_dereg(thr);
  mps_arena_destroy(self_arena);
  (void)cold_here;
}

static NOINLINE void scan_self_with_default_root(mps_word_t complement)
{
  volatile mps_word_t here[4];
  scan_state_s ss;
  here[2] = ~complement;
  here[0] = here[2];
  rec_reset();
  rec_ss_init(&ss, self_arena, RANK_AMBIG);
  cr_assert_eq(root_scan(&ss, self_root), MPS_RES_OK);
  scan_state_finish(&ss);
  here[2] = 0;
}

Test(root, thread_and_reg_roots_fix_the_stack_ambiguously)
{
  volatile mps_word_t cold_here = 0;
  mps_thr_t thr;
  mps_word_t marker = R(9) + 0x30;
  self_arena = make_arena();
  cr_assert_eq(mps_thread_reg(&thr, self_arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_thread(&self_root, self_arena, thr, (void *)&cold_here),
               MPS_RES_OK);
  cr_assert_eq(root_rank(self_root), RANK_AMBIG);
  scan_self_with_default_root(~marker);
  cr_assert(rec_saw(marker));
  mps_root_destroy(self_root);

  /* The deprecated form, with the built-in scanner: aligned words only. */
  cr_assert_eq(mps_root_create_reg(&self_root, self_arena, mps_rank_ambig(), 0, thr,
                                   mps_stack_scan_ambig, (void *)&cold_here, 0),
               MPS_RES_OK);
  cr_assert(root_any_thread_root(self_arena));
  scan_self_with_default_root(~marker);
  cr_assert(rec_saw(marker));
  scan_self_with_default_root(~(marker + 1));
  cr_assert(!rec_saw(marker + 1));
  mps_root_destroy(self_root);
  mps_thread_dereg(thr);
  mps_arena_destroy(self_arena);
  (void)cold_here;
}

/* The stack scanner's p is the cold end (deprecated.rst); one inside a
 * word is rounded down to that word, as for a thread root, so the stack
 * area it scans is whole words (scanning.rst) and still reaches below. */
Test(root, the_stack_scanner_rounds_an_unaligned_cold_end_down)
{
  volatile mps_word_t cold_here[2] = {0, 0};
  mps_thr_t thr;
  mps_word_t marker = R(10) + 0x40;
  self_arena = make_arena();
  cr_assert_eq(mps_thread_reg(&thr, self_arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_reg(&self_root, self_arena, mps_rank_ambig(), 0, thr,
                                   mps_stack_scan_ambig,
                                   (void *)((char *)&cold_here[1] + 3), 0),
               MPS_RES_OK);
  scan_self_with_default_root(~marker);
  cr_assert(rec_saw(marker));
  mps_root_destroy(self_root);
  mps_thread_dereg(thr);
  mps_arena_destroy(self_arena);
  (void)cold_here;
}

/* A second thread, registered by itself, holding a marker in a frame
 * whose bounds it publishes, until told to stop. */
static struct {
  mps_arena_t arena;
  mps_thr_t thr;
  volatile mps_word_t *frame;   /* its marker frame: 8 words */
  mps_word_t complement;
  atomic_int state;             /* 0 starting, 1 ready, 2 stop */
  atomic_long spins;
} other;

static NOINLINE void other_hold_marker(void)
{
  volatile mps_word_t frame[8];
  size_t i;
  for (i = 0; i < 8; ++i)
    frame[i] = 0;
  frame[2] = ~other.complement;
  other.frame = frame;
  /* seq_cst: the main thread reads frame after seeing state 1. */
  atomic_store(&other.state, 1);
  while (atomic_load(&other.state) != 2)
    atomic_fetch_add_explicit(&other.spins, 1, memory_order_relaxed);
  frame[2] = 0;
}

static void *other_main(void *arg)
{
  (void)arg;
  cr_assert_eq(mps_thread_reg(&other.thr, other.arena), MPS_RES_OK);
  other_hold_marker();
  return NULL;
}

Test(root, a_thread_root_scans_a_suspended_thread_up_to_the_clients_cold_end, TEST_NEEDS_THREADS)
{
  pthread_t t;
  mps_root_t above, below;
  scan_state_s ss;
  GC gc;
  size_t i;

  memset(&other, 0, sizeof other);
  other.arena = make_arena();
  other.complement = ~(mps_word_t)0x0123456789abcdefu;
  cr_assert_eq(pthread_create(&t, NULL, other_main, NULL), 0);
  while (atomic_load(&other.state) != 1)
    sched_yield();
  /* Cold ends above and below the marker's word. */
  cr_assert_eq(mps_root_create_thread_scanned(&above, other.arena, mps_rank_ambig(), 0,
                                              other.thr, area_recorder, &areas,
                                              (void *)(other.frame + 8)), MPS_RES_OK);
  cr_assert_eq(mps_root_create_thread_scanned(&below, other.arena, mps_rank_ambig(), 0,
                                              other.thr, area_recorder, &areas,
                                              (void *)(other.frame + 2)), MPS_RES_OK);
  gc = other.arena->gc;
  cr_assert_eq(thread_suspend_all(&gc->threads), MPS_RES_OK);
  rec_ss_init(&ss, other.arena, RANK_AMBIG);

  memset(&areas, 0, sizeof areas);
  areas.marker = other.complement;
  cr_assert_eq(root_scan(&ss, above), MPS_RES_OK);
  cr_assert(areas.found);

  memset(&areas, 0, sizeof areas);
  areas.marker = other.complement;
  cr_assert_eq(root_scan(&ss, below), MPS_RES_OK);
  /* Registers may hold the marker too, so look at the areas: every stack
   * area ends at or below the cold end, and one ends exactly there. */
  {
    bool cut = false;
    const char *tb = (const char *)other.thr->thread;
    for (i = 0; i < areas.count && i < 16; ++i) {
      const char *b = areas.base[i], *l = areas.limit[i];
      if (b >= tb && l <= tb + thread_size())
        continue;                   /* the captured registers */
      cr_assert((const volatile mps_word_t *)(const void *)l <= other.frame + 2);
      if ((const volatile mps_word_t *)(const void *)l == other.frame + 2)
        cut = true;
    }
    cr_assert(cut);
  }
  scan_state_finish(&ss);
  thread_resume_all(&gc->threads);
  atomic_store(&other.state, 2);
  cr_assert_eq(pthread_join(t, NULL), 0);
  mps_root_destroy(above);
  mps_root_destroy(below);
  /* Any thread may deregister another. */
  mps_thread_dereg(other.thr);
  mps_arena_destroy(other.arena);
}

/* ---- Client errors ---------------------------------------------------- */

Test(root, a_bad_rank_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_root_t root;
  reports_install_abort();
  (void)mps_root_create_table(&root, arena, (mps_rank_t)RANK_FINAL, 0,
                              (mps_addr_t *)table, 1);
}

Test(root, a_rank_out_of_range_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_root_t root;
  reports_install_abort();
  (void)mps_root_create_area(&root, arena, (mps_rank_t)17, 0, table, table + 1,
                             mps_scan_area, NULL);
}

Test(root, a_bad_mode_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_root_t root;
  reports_install_abort();
  (void)mps_root_create_table(&root, arena, mps_rank_exact(), (mps_rm_t)0x40,
                              (mps_addr_t *)table, 1);
}

Test(root, an_unaligned_area_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_root_t root;
  reports_install_abort();
  (void)mps_root_create_area(&root, arena, mps_rank_exact(), 0, (char *)table + 1,
                             table + 2, mps_scan_area, NULL);
}

Test(root, the_stack_scanner_refuses_exact_roots, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_root_t root;
  mps_thr_t thr;
  int cold;
  reports_install_abort();
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  (void)mps_root_create_reg(&root, arena, mps_rank_exact(), 0, thr, mps_stack_scan_ambig,
                            &cold, 0);
}

Test(root, deregistering_a_thread_with_a_root_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_root_t root;
  mps_thr_t thr;
  int cold;
  reports_install_abort();
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_thread(&root, arena, thr, &cold), MPS_RES_OK);
  mps_thread_dereg(thr);
}

Test(root, destroying_an_arena_with_a_root_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  mps_arena_t arena = make_arena();
  mps_root_t root;
  reports_install_abort();
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0,
                                     (mps_addr_t *)table, 1), MPS_RES_OK);
  mps_arena_destroy(arena);
}

Test(root, creation_fails_cleanly_at_the_commit_limit)
{
  mps_arena_t arena = make_arena();
  mps_root_t *all = calloc(100000, sizeof *all);
  mps_root_t root;
  mps_res_t res = MPS_RES_OK;
  size_t made = 0, i;
  cr_assert_not_null(all);
  cr_assert_eq(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)), MPS_RES_OK);
  while (made < 100000) {
    res = mps_root_create_table(&root, arena, mps_rank_exact(), 0, (mps_addr_t *)table, 1);
    if (res != MPS_RES_OK)
      break;
    all[made++] = root;
  }
  cr_assert_neq(res, MPS_RES_OK);
  cr_assert_eq(root_count(arena), made);
  for (i = 0; i < made; ++i) {
    cr_assert(root_check(all[i]));
    mps_root_destroy(all[i]);
  }
  cr_assert_eq(root_count(arena), 0);
  free(all);
  mps_arena_destroy(arena);
}

/* Creating a root takes control memory (the first root of an arena also
 * the collector's state); refused any of it (the arena's fault hook), the
 * creation says so and makes nothing, the roots already made are
 * untouched, and creation works again once memory is back. */
Test(root, a_root_refused_its_memory_is_not_made)
{
  mps_arena_t arena = make_arena();
  mps_root_t first = NULL, refused = NULL, later;
  scan_state_s ss;
  mps_res_t res;
  Count n;
  table[0] = R(1);
  table[1] = R(2);
  for (n = 1;; ++n) {
    arena_fail_after((Arena)arena, n);
    res = mps_root_create_table(&first, arena, mps_rank_exact(), 0, (mps_addr_t *)table, 1);
    arena_fail_after((Arena)arena, 0);
    if (res == MPS_RES_OK)
      break;
    cr_assert_eq(res, MPS_RES_MEMORY, "request %lu refused: %d", (unsigned long)n, res);
    cr_assert_null(first);
    cr_assert_eq(root_count(arena), 0);
  }
  cr_assert_gt(n, 1, "the first root took no memory");
  arena_fail_after((Arena)arena, 1);
  cr_assert_eq(mps_root_create_table(&refused, arena, mps_rank_exact(), 0,
                                     (mps_addr_t *)table + 1, 1), MPS_RES_MEMORY);
  arena_fail_after((Arena)arena, 0);
  cr_assert_null(refused);
  cr_assert_eq(root_count(arena), 1);
  cr_assert(root_check(first));
  rec_reset();
  rec_ss_init(&ss, arena, RANK_EXACT);
  cr_assert_eq(root_scan(&ss, first), MPS_RES_OK);
  scan_state_finish(&ss);
  cr_assert_eq(rec.count, 1);
  cr_assert_eq(rec.seen[0], R(1));
  cr_assert_eq(mps_root_create_table(&later, arena, mps_rank_exact(), 0,
                                     (mps_addr_t *)table + 1, 1), MPS_RES_OK);
  cr_assert_eq(root_count(arena), 2);
  mps_root_destroy(later);
  mps_root_destroy(first);
  mps_arena_destroy(arena);
}

/* An ambiguous reference is never changed by its fix, so a scan of an
 * ambiguous root stores nothing back (root.c: only a reference that
 * fixing changed is stored): a constant root may be read-only memory. */
Test(root, a_constant_ambiguous_root_in_read_only_memory_is_scanned)
{
  mps_arena_t arena = make_arena();
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  mps_word_t *words;
  mps_root_t plain, masked;
  scan_state_s ss;
  void *mem = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(mem, MAP_FAILED);
  words = mem;
  words[0] = R(1);
  words[1] = R(2) | 2;
  words[2] = R(3) | 1;
  cr_assert_eq(mprotect(mem, page, PROT_READ), 0);
  cr_assert_eq(mps_root_create_table(&plain, arena, mps_rank_ambig(), MPS_RM_CONST,
                                     (mps_addr_t *)words, 1), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table_masked(&masked, arena, mps_rank_ambig(), MPS_RM_CONST,
                                            (mps_addr_t *)words + 1, 2, 3), MPS_RES_OK);
  rec_reset();
  rec_ss_init(&ss, arena, RANK_AMBIG);
  cr_assert_eq(root_scan(&ss, plain), MPS_RES_OK);
  cr_assert_eq(root_scan(&ss, masked), MPS_RES_OK);
  scan_state_finish(&ss);
  cr_assert_eq(rec.count, 3);
  cr_assert_eq(rec.seen[1], R(2));
  cr_assert_eq(rec.seen[2], R(3));
  mps_root_destroy(masked);
  mps_root_destroy(plain);
  cr_assert_eq(munmap(mem, page), 0);
  mps_arena_destroy(arena);
}

static struct {
  mps_thr_t thr;
  void *p;
  size_t s;
  size_t calls;
} reg_seen;

static mps_res_t reg_scan_record(mps_ss_t ss, mps_thr_t thr, void *p, size_t s)
{
  (void)ss;
  reg_seen.thr = thr;
  reg_seen.p = p;
  reg_seen.s = s;
  ++reg_seen.calls;
  return MPS_RES_OK;
}

/* deprecated.rst: a register root's scanner is called with the thread
 * and the p and s given at the root's creation. */
Test(root, a_reg_root_hands_its_scanner_the_thread_p_and_s)
{
  mps_arena_t arena = make_arena();
  mps_root_t root;
  mps_thr_t thr;
  scan_state_s ss;
  int closure;
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_reg(&root, arena, mps_rank_exact(), 0, thr,
                                   reg_scan_record, &closure, 17), MPS_RES_OK);
  memset(&reg_seen, 0, sizeof reg_seen);
  rec_reset();
  rec_ss_init(&ss, arena, RANK_EXACT);
  cr_assert_eq(root_scan(&ss, root), MPS_RES_OK);
  scan_state_finish(&ss);
  cr_assert_eq(reg_seen.calls, 1);
  cr_assert_eq(reg_seen.thr, thr);
  cr_assert_eq(reg_seen.p, (void *)&closure);
  cr_assert_eq(reg_seen.s, 17);
  mps_root_destroy(root);
  mps_thread_dereg(thr);
  mps_arena_destroy(arena);
}

/* ---- Roots in real collections (AMC) ---------------------------------- */

/* The objects: four words, the header word of test/support/objfmt.h, an
 * identity, one reference, and a spare word.  They use objfmt.h's scan
 * for that shape (objfmt_scan_id_ref), and its skip, forward,
 * is-forwarded and pad methods: a forwarding object keeps its new address
 * in the identity word; a pad is its header alone. */
#define GW sizeof(mps_word_t)
#define GOBJ_WORDS 4

#define G_OBJS 24
#define G_TAG_MASK ((mps_word_t)7)

static struct {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_thr_t thr;
  mps_root_t weak_root;
  mps_addr_t weak[G_OBJS];       /* every object, weakly */
  mps_word_t id[G_OBJS];
} g;

static void g_open(void)
{
  mps_ap_t ap;
  size_t i;
  memset(&g, 0, sizeof g);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 16 << 20);
    cr_assert_eq(mps_arena_create_k(&g.arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, 8 * GW);  /* room for 3 tag bits */
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, objfmt_scan_id_ref);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, objfmt_skip);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_FWD, objfmt_fwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ISFWD, objfmt_isfwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, objfmt_pad);
    cr_assert_eq(mps_fmt_create_k(&g.fmt, g.arena, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, g.fmt);
    cr_assert_eq(mps_pool_create_k(&g.pool, g.arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_thread_reg(&g.thr, g.arena), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, g.pool, mps_args_none), MPS_RES_OK);
  for (i = 0; i < G_OBJS; ++i) {
    mps_addr_t p;
    size_t size = ((GOBJ_WORDS * GW + 8 * GW - 1) / (8 * GW)) * (8 * GW);
    do {
      mps_word_t *w;
      cr_assert_eq(mps_reserve(&p, ap, size), MPS_RES_OK);
      w = p;
      w[0] = OBJFMT_HDR(size / GW, OBJFMT_T_OBJ);
      w[1] = 0x1d000 + i;
      w[2] = 0;
      w[3] = ~(mps_word_t)i;
      if (size > GOBJ_WORDS * GW)
        objfmt_pad(w + GOBJ_WORDS, size - GOBJ_WORDS * GW);
    } while (!mps_commit(ap, p, size));
    g.weak[i] = p;
    g.id[i] = 0x1d000 + i;
  }
  /* No allocation point keeps its segment out of the collection. */
  mps_ap_destroy(ap);
  cr_assert_eq(mps_root_create_table(&g.weak_root, g.arena, mps_rank_weak(), 0, g.weak,
                                     G_OBJS), MPS_RES_OK);
}

static void g_close(void)
{
  mps_arena_park(g.arena);
  mps_root_destroy(g.weak_root);
  mps_thread_dereg(g.thr);
  mps_pool_destroy(g.pool);
  mps_fmt_destroy(g.fmt);
  mps_arena_destroy(g.arena);
}

/* Object i is alive at `at`, with its identity. */
static void g_assert_alive(size_t i, mps_word_t at)
{
  cr_assert_not_null(g.weak[i], "object %zu died", i);
  cr_assert_eq((mps_word_t)g.weak[i], at, "object %zu: weak %p, strong %p", i, g.weak[i],
               (void *)at);
  cr_assert_eq(((mps_word_t *)at)[1], g.id[i]);
  cr_assert_eq(((mps_word_t *)at)[3], ~(mps_word_t)i);
}

static mps_word_t g_table[8];
static mps_word_t g_area[8];

static mps_res_t g_fun_scan(mps_ss_t ss, void *p, size_t s)
{
  return mps_scan_area(ss, p, (mps_word_t *)p + s, NULL);
}

Test(root_gc, exact_roots_of_every_variety_keep_objects_and_follow_moves)
{
  mps_root_t table, masked, tagged, area, area_tagged, fmt, fun;
  mps_word_t fmt_block[2 * GOBJ_WORDS];
  mps_addr_t before0;
  size_t i;
  g_open();
  /* objects 0-1 in a plain table, 2-3 masked (tags 3, 5), 4-5 in a
   * tagged table (tag 1) beside a fixnum (tag 0) that is not a reference,
   * 6 in an area, 7 in a tagged area, 8-9 in formatted objects, 10 by a
   * client function; 11 and up only weakly. */
  g_table[0] = (mps_word_t)g.weak[0];
  g_table[1] = (mps_word_t)g.weak[1];
  g_table[2] = (mps_word_t)g.weak[2] | 3;
  g_table[3] = (mps_word_t)g.weak[3] | 5;
  g_table[4] = (mps_word_t)g.weak[4] | 1;
  g_table[5] = (mps_word_t)g.weak[5] | 1;
  g_table[6] = (mps_word_t)g.weak[11];          /* tag 0: a fixnum here */
  g_area[0] = (mps_word_t)g.weak[6];
  g_area[1] = (mps_word_t)g.weak[7] | 2;
  g_area[2] = (mps_word_t)g.weak[10];
  for (i = 0; i < 2; ++i) {
    fmt_block[i * GOBJ_WORDS + 0] = OBJFMT_HDR(GOBJ_WORDS, OBJFMT_T_OBJ);
    fmt_block[i * GOBJ_WORDS + 1] = 0;
    fmt_block[i * GOBJ_WORDS + 2] = (mps_word_t)g.weak[8 + i];
    fmt_block[i * GOBJ_WORDS + 3] = 0;
  }
  cr_assert_eq(mps_root_create_table(&table, g.arena, mps_rank_exact(), 0,
                                     (mps_addr_t *)g_table, 2), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table_masked(&masked, g.arena, mps_rank_exact(), 0,
                                            (mps_addr_t *)g_table + 2, 2, G_TAG_MASK),
               MPS_RES_OK);
  cr_assert_eq(mps_root_create_table_tagged(&tagged, g.arena, mps_rank_exact(), 0,
                                            (mps_addr_t *)g_table + 4, 3,
                                            mps_scan_area_tagged, G_TAG_MASK, 1),
               MPS_RES_OK);
  cr_assert_eq(mps_root_create_area(&area, g.arena, mps_rank_exact(), 0, g_area,
                                    g_area + 1, mps_scan_area, NULL), MPS_RES_OK);
  cr_assert_eq(mps_root_create_area_tagged(&area_tagged, g.arena, mps_rank_exact(), 0,
                                           g_area + 1, g_area + 2, mps_scan_area_tagged,
                                           G_TAG_MASK, 2), MPS_RES_OK);
  cr_assert_eq(mps_root_create_fmt(&fmt, g.arena, mps_rank_exact(), 0, objfmt_scan_id_ref,
                                   fmt_block, fmt_block + 2 * GOBJ_WORDS), MPS_RES_OK);
  cr_assert_eq(mps_root_create(&fun, g.arena, mps_rank_exact(), 0, g_fun_scan,
                               g_area + 2, 1), MPS_RES_OK);

  before0 = g.weak[0];
  mps_arena_collect(g.arena);
  /* No ambiguous root: AMC moved the survivors, and the roots followed.
   * (A second collection may copy them back into the memory the first
   * one freed, so look now.) */
  cr_assert_neq(g.weak[0], before0);
  cr_assert_eq(g_table[0], (mps_word_t)g.weak[0]);
  mps_arena_collect(g.arena);

  g_assert_alive(0, g_table[0]);
  g_assert_alive(1, g_table[1]);
  cr_assert_eq(g_table[2] & G_TAG_MASK, 3);
  cr_assert_eq(g_table[3] & G_TAG_MASK, 5);
  g_assert_alive(2, g_table[2] & ~G_TAG_MASK);
  g_assert_alive(3, g_table[3] & ~G_TAG_MASK);
  cr_assert_eq(g_table[4] & G_TAG_MASK, 1);
  g_assert_alive(4, g_table[4] & ~G_TAG_MASK);
  g_assert_alive(5, g_table[5] & ~G_TAG_MASK);
  g_assert_alive(6, g_area[0]);
  cr_assert_eq(g_area[1] & G_TAG_MASK, 2);
  g_assert_alive(7, g_area[1] & ~G_TAG_MASK);
  g_assert_alive(8, fmt_block[2]);
  g_assert_alive(9, fmt_block[GOBJ_WORDS + 2]);
  g_assert_alive(10, g_area[2]);
  /* Only weakly referred to (the fixnum-tagged word is not a reference):
   * dead, and the weak table says so. */
  for (i = 11; i < G_OBJS; ++i)
    cr_assert_null(g.weak[i], "object %zu survived", i);

  /* mps_arena_roots_walk reports each exact reference into the pool. */
  mps_arena_park(g.arena);
  mps_root_destroy(table);
  mps_root_destroy(masked);
  mps_root_destroy(tagged);
  mps_root_destroy(area);
  mps_root_destroy(area_tagged);
  mps_root_destroy(fmt);
  mps_root_destroy(fun);
  g_close();
}

/* What a roots walk saw: references per root (exact, ambiguous, weak). */
typedef struct walked_s {
  mps_root_t roots[3];
  size_t count[3];
} walked_s;

static void roots_stepper(mps_addr_t *ref, mps_root_t root, void *p, size_t s)
{
  walked_s *w = p;
  size_t i, k;
  bool in_pool = false;
  cr_assert_eq(s, 42);
  for (k = 0; k < G_OBJS; ++k)
    in_pool = in_pool || *ref == g.weak[k];
  cr_assert(in_pool, "a reference to %p, not into the pool, was reported", *ref);
  for (i = 0; i < 3 && root != w->roots[i]; ++i)
    ;
  cr_assert_lt(i, 3, "an unknown root was reported");
  ++w->count[i];
}

/* root.rst: the walk visits references into automatic pools from every
 * registered root, ambiguous and weak ones too, and it may be called
 * whenever the arena is parked: clamped with no collection running is
 * the parked state (arena.rst). */
Test(root_gc, roots_walk_visits_every_root_s_references_into_pools)
{
  mps_root_t exact, ambig;
  walked_s w;
  g_open();
  g_table[0] = (mps_word_t)g.weak[0];
  g_table[1] = (mps_word_t)&w;                  /* not in the arena */
  g_table[2] = (mps_word_t)g.weak[1];
  g_table[3] = (mps_word_t)g.weak[2];
  cr_assert_eq(mps_root_create_table(&exact, g.arena, mps_rank_exact(), 0,
                                     (mps_addr_t *)g_table, 3), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&ambig, g.arena, mps_rank_ambig(), 0,
                                     (mps_addr_t *)g_table + 3, 1), MPS_RES_OK);
  mps_arena_park(g.arena);
  memset(&w, 0, sizeof w);
  w.roots[0] = exact;
  w.roots[1] = ambig;
  w.roots[2] = g.weak_root;
  mps_arena_roots_walk(g.arena, roots_stepper, &w, 42);
  cr_assert_eq(w.count[0], 2);
  cr_assert_eq(w.count[1], 1);
  cr_assert_eq(w.count[2], G_OBJS);
  /* Clamped, with no collection in progress: the same walk. */
  mps_arena_release(g.arena);
  mps_arena_clamp(g.arena);
  memset(w.count, 0, sizeof w.count);
  mps_arena_roots_walk(g.arena, roots_stepper, &w, 42);
  cr_assert_eq(w.count[0] + w.count[1] + w.count[2], 3 + G_OBJS);
  mps_arena_park(g.arena);
  mps_root_destroy(exact);
  mps_root_destroy(ambig);
  g_close();
}

static mps_root_t g_thread_root;

/* Keep object `i` in a frame below the root's cold end, in the form the
 * root's scanner accepts, and collect from there. */
static NOINLINE void g_collect_holding(size_t i, mps_word_t tag)
{
  volatile mps_word_t hold[2];
  hold[0] = (mps_word_t)g.weak[i] | tag;
  hold[1] = 0;
  mps_arena_collect(g.arena);
  cr_assert_eq(hold[0], (mps_word_t)g.weak[i] | tag);   /* ambiguous: unchanged */
  hold[0] = 0;
}

static void g_thread_case(int kind)
{
  volatile mps_word_t cold_here = 0;
  mps_addr_t before;
  size_t i;
  g_open();
  switch (kind) {
  case 0:
    cr_assert_eq(mps_root_create_thread(&g_thread_root, g.arena, g.thr,
                                        (void *)&cold_here), MPS_RES_OK);
    break;
  case 1:
    cr_assert_eq(mps_root_create_thread_tagged(&g_thread_root, g.arena, mps_rank_ambig(),
                                               0, g.thr, mps_scan_area_tagged,
                                               G_TAG_MASK, 1, (void *)&cold_here),
                 MPS_RES_OK);
    break;
  case 2:
    cr_assert_eq(mps_root_create_reg(&g_thread_root, g.arena, mps_rank_ambig(), 0, g.thr,
                                     mps_stack_scan_ambig, (void *)&cold_here, 0),
                 MPS_RES_OK);
    break;
  default:
    cr_assert_eq(mps_root_create_thread_scanned(&g_thread_root, g.arena,
                                                mps_rank_ambig(), 0, g.thr,
                                                mps_scan_area_masked,
                                                &(mps_scan_tag_s){G_TAG_MASK, 0},
                                                (void *)&cold_here), MPS_RES_OK);
    break;
  }
  before = g.weak[3];
  g_collect_holding(3, kind == 1 ? 1 : kind == 3 ? 6 : 0);
  /* Pinned by the ambiguous reference: alive where it was. */
  g_assert_alive(3, (mps_word_t)before);
  /* Others may or may not survive (stale words on the stack are
   * ambiguous references too), but any survivor is intact. */
  for (i = 0; i < G_OBJS; ++i)
    if (g.weak[i] != NULL)
      g_assert_alive(i, (mps_word_t)g.weak[i]);
  mps_arena_park(g.arena);
  mps_root_destroy(g_thread_root);
  g_close();
  (void)cold_here;
}

Test(root_gc, a_thread_root_pins_what_the_stack_refers_to) { g_thread_case(0); }
Test(root_gc, a_tagged_thread_root_pins_tagged_references) { g_thread_case(1); }
Test(root_gc, a_reg_root_with_the_stack_scanner_pins) { g_thread_case(2); }
Test(root_gc, a_scanned_thread_root_with_a_masked_scanner_pins) { g_thread_case(3); }

/* root.rst: mps_root_create_thread is the tagged form with the low bits
 * of a word as the mask and zero as the pattern, so a word that is not
 * aligned is no reference, even when it points into an object. */
static size_t g_unaligned_seen, g_aligned_seen;

static void g_thread_stepper(mps_addr_t *ref, mps_root_t root, void *p, size_t s)
{
  (void)p;
  (void)s;
  if (root != g_thread_root)
    return;
  if (((mps_word_t)*ref & (sizeof(mps_word_t) - 1)) != 0)
    ++g_unaligned_seen;
  else
    ++g_aligned_seen;
}

static NOINLINE void g_walk_holding(size_t i)
{
  volatile mps_word_t hold[2];
  hold[0] = (mps_word_t)g.weak[i] + 1;
  hold[1] = (mps_word_t)g.weak[i + 1];
  mps_arena_roots_walk(g.arena, g_thread_stepper, NULL, 0);
  hold[0] = hold[1] = 0;
}

/* With g_thread_root a root of this thread's stack: a roots walk takes
 * the aligned reference g_walk_holding leaves there and no unaligned word;
 * then the root and the heap go. */
static void g_walk_takes_only_aligned_words(void)
{
  mps_arena_park(g.arena);
  g_unaligned_seen = g_aligned_seen = 0;
  g_walk_holding(3);
  cr_assert_eq(g_unaligned_seen, 0, "an unaligned word was taken as a reference");
  cr_assert_geq(g_aligned_seen, 1, "the aligned reference was not seen");
  mps_root_destroy(g_thread_root);
  g_close();
}

Test(root_gc, a_thread_root_takes_only_aligned_words)
{
  volatile mps_word_t cold_here = 0;
  g_open();
  cr_assert_eq(mps_root_create_thread(&g_thread_root, g.arena, g.thr, (void *)&cold_here),
               MPS_RES_OK);
  g_walk_takes_only_aligned_words();
  (void)cold_here;
}

static void *g_register_and_wait(void *arg)
{
  (void)arg;
  cr_assert_eq(mps_thread_reg(&other.thr, g.arena), MPS_RES_OK);
  /* seq_cst: the main thread reads other.thr after seeing state 1. */
  atomic_store(&other.state, 1);
  while (atomic_load(&other.state) != 2)
    sched_yield();
  return NULL;
}

/* The heap, with this thread deregistered and another thread registered
 * (other.thr), which waits until the test process ends. */
static void g_open_with_only_another_thread(pthread_t *t)
{
  g_open();
  mps_thread_dereg(g.thr);
  atomic_store(&other.state, 0);
  cr_assert_eq(pthread_create(t, NULL, g_register_and_wait, NULL), 0);
  while (atomic_load(&other.state) != 1)
    sched_yield();
}

Test(root_gc, an_unregistered_thread_collecting_with_thread_roots_is_reported,
     .signal = SIGABRT, TEST_NEEDS_THREADS)
{
  pthread_t t;
  volatile int cold;
  g_open_with_only_another_thread(&t);
  cr_assert_eq(mps_root_create_thread(&g_thread_root, g.arena, other.thr, (void *)&cold),
               MPS_RES_OK);
  reports_install_abort();
  /* This thread's own stack would go unscanned. */
  mps_arena_collect(g.arena);
}

/* ---- Refusals that leave nothing behind --------------------------------- */

/* A thread root can only be scanned by the arena that suspends the
 * thread, and deprecated.rst's built-in stack scanner is for ambiguous
 * roots only: each is reported and refused, in every variety, with no
 * root made. */
Test(root, a_thread_of_another_arena_and_an_exact_stack_scanner_are_refused)
{
  mps_arena_t arena = make_arena(), other_arena = make_arena();
  mps_lib_assert_fail_t old;
  mps_root_t root = NULL;
  mps_thr_t thr;
  int cold;
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  old = reports_install();
  cr_assert_eq(mps_root_create_thread(&root, other_arena, thr, &cold), MPS_RES_PARAM);
  cr_assert_eq(mps_root_create_reg(&root, other_arena, mps_rank_ambig(), 0, thr,
                                   mps_stack_scan_ambig, &cold, 0), MPS_RES_PARAM);
  cr_assert_eq(mps_root_create_reg(&root, arena, mps_rank_exact(), 0, thr,
                                   mps_stack_scan_ambig, &cold, 0), MPS_RES_PARAM);
  mps_lib_assert_fail_install(old);
  cr_assert_eq(reports_seen(), TEST_REPORTS(3));
  cr_assert_null(root);
  cr_assert_eq(root_count(arena), 0);
  cr_assert_eq(root_count(other_arena), 0);
  mps_thread_dereg(thr);
  mps_arena_destroy(other_arena);
  mps_arena_destroy(arena);
}

/* A thread whose stack is a root stays registered (its root would name a
 * freed description): the deregistration is reported and refused, for
 * the deprecated register root as for a thread root, and succeeds once
 * the root is gone. */
Test(root, a_thread_with_a_root_is_not_deregistered)
{
  mps_arena_t arena = make_arena();
  mps_lib_assert_fail_t old;
  mps_root_t root;
  mps_thr_t thr;
  int cold;
  int kind;
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  for (kind = 0; kind < 2; ++kind) {
    if (kind == 0)
      cr_assert_eq(mps_root_create_thread(&root, arena, thr, &cold), MPS_RES_OK);
    else
      cr_assert_eq(mps_root_create_reg(&root, arena, mps_rank_ambig(), 0, thr,
                                       mps_stack_scan_ambig, &cold, 0), MPS_RES_OK);
    old = reports_install();
    mps_thread_dereg(thr);
    mps_lib_assert_fail_install(old);
    cr_assert_eq(reports_seen(), TEST_REPORTS(1), "root kind %d", kind);
    cr_assert(root_any_of_thread(arena, thr));
    cr_assert(root_check(root));
    mps_root_destroy(root);
    cr_assert_not(root_any_of_thread(arena, thr));
  }
  mps_thread_dereg(thr);
  mps_arena_destroy(arena);
}

/* A stale handle: the second destroy is reported and does nothing, so
 * the other roots and the count stay as they were (root.rst: a root is
 * destroyed once). */
Test(root, destroying_a_root_twice_is_refused)
{
  mps_arena_t arena = make_arena();
  mps_lib_assert_fail_t old;
  mps_root_t once, other_root;
  cr_assert_eq(mps_root_create_table(&once, arena, mps_rank_exact(), 0,
                                     (mps_addr_t *)table, 1), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&other_root, arena, mps_rank_exact(), 0,
                                     (mps_addr_t *)table + 1, 1), MPS_RES_OK);
  mps_root_destroy(once);
  old = reports_install();
  mps_root_destroy(once);
  mps_lib_assert_fail_install(old);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert_eq(root_count(arena), 1);
  cr_assert(root_check(other_root));
  mps_root_destroy(other_root);
  cr_assert_eq(root_count(arena), 0);
  mps_arena_destroy(arena);
}

/* ---- A root's tag is its own ------------------------------------------- */

static NOINLINE void make_masked_table_root(mps_root_t *root_o, mps_arena_t arena)
{
  cr_assert_eq(mps_root_create_table_masked(root_o, arena, mps_rank_ambig(), 0,
                                            (mps_addr_t *)table, 2, 3), MPS_RES_OK);
}

static NOINLINE void scribble_on_the_stack(void)
{
  volatile mps_word_t junk[512];
  size_t i;
  for (i = 0; i < 512; ++i)
    junk[i] = ~(mps_word_t)0;
  (void)junk[0];
}

/* root.rst: the mask is an argument of the call, not memory the client
 * keeps: the stack the root was made on is free to be reused. */
Test(root, a_masked_table_keeps_its_mask_after_the_creating_frame_is_gone)
{
  mps_arena_t arena = make_arena();
  mps_root_t root;
  scan_state_s ss;
  table[0] = R(1) | 2;
  table[1] = R(2) | 1;
  make_masked_table_root(&root, arena);
  scribble_on_the_stack();
  rec_reset();
  rec_ss_init(&ss, arena, RANK_AMBIG);
  cr_assert_eq(root_scan(&ss, root), MPS_RES_OK);
  scan_state_finish(&ss);
  cr_assert_eq(rec.count, 2);
  cr_assert_eq(rec.seen[0], R(1));
  cr_assert_eq(rec.seen[1], R(2));
  mps_root_destroy(root);
  mps_arena_destroy(arena);
}

/* ---- Thread roots: the cold end --------------------------------------- */

/* Every area a thread root handed its scanner is a proper range, and none
 * holds `frame`. */
static void assert_areas_proper_and_miss(const volatile void *frame)
{
  size_t i;
  cr_assert_lt(areas.count, 16);
  for (i = 0; i < areas.count; ++i) {
    const char *b = areas.base[i], *l = areas.limit[i];
    cr_assert_leq((const void *)b, (const void *)l, "area %zu: %p above %p", i,
                  (const void *)b, (const void *)l);
    cr_assert(!((const char *)frame >= b && (const char *)frame < l),
              "area %zu holds a frame above the cold end", i);
  }
}

static mps_root_t deep_root;

/* A root whose cold end is deep in a frame that then returns. */
static NOINLINE void make_root_cold_deep_down(mps_arena_t arena, mps_thr_t thr)
{
  volatile mps_word_t deep[1024];
  deep[0] = 0;
  cr_assert_eq(mps_root_create_thread_scanned(&deep_root, arena, mps_rank_ambig(), 0, thr,
                                              area_recorder, &areas, (void *)&deep[0]),
               MPS_RES_OK);
}

static void ignore_ref(mps_addr_t *ref, mps_root_t root, void *p, size_t s)
{
  (void)ref;
  (void)root;
  (void)p;
  (void)s;
}

/* root.rst: a thread root covers the stack between its cold end and the
 * hot end.  When the thread runs shallower than the cold end there are no
 * such frames: the stack is not scanned at all, not scanned backwards. */
Test(root, a_thread_shallower_than_the_cold_end_has_no_stack_to_scan)
{
  volatile mps_word_t here = 1;
  mps_arena_t arena = make_arena();
  mps_thr_t thr;
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  make_root_cold_deep_down(arena, thr);
  mps_arena_park(arena);
  memset(&areas, 0, sizeof areas);
  mps_arena_roots_walk(arena, ignore_ref, NULL, 0);
  cr_assert_geq(areas.count, 1);      /* the registers */
  assert_areas_proper_and_miss(&here);
  mps_root_destroy(deep_root);
  mps_thread_dereg(thr);
  mps_arena_destroy(arena);
  (void)here;
}

/* A cold end inside a word: that word is not wholly on the stack below
 * the cold end, so the stack area ends at the start of it, a whole number
 * of words (scanning.rst: areas are word-aligned). */
Test(root, an_unaligned_cold_end_is_rounded_down_to_a_word)
{
  volatile mps_word_t cold_here[2] = {0, 0};
  mps_arena_t arena = make_arena();
  mps_thr_t thr;
  bool cut = false;
  size_t i;
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_thread_scanned(&self_root, arena, mps_rank_ambig(), 0, thr,
                                              area_recorder, &areas,
                                              (void *)((char *)&cold_here[1] + 3)),
               MPS_RES_OK);
  mps_arena_park(arena);
  memset(&areas, 0, sizeof areas);
  mps_arena_roots_walk(arena, ignore_ref, NULL, 0);
  cr_assert_lt(areas.count, 16);
  for (i = 0; i < areas.count; ++i) {
    cr_assert_eq((mps_word_t)areas.limit[i] % sizeof(mps_word_t), 0,
                 "area %zu ends inside a word", i);
    if (areas.limit[i] == (void *)&cold_here[1])
      cut = true;
  }
  cr_assert(cut, "the stack was not cut at the word holding the cold end");
  mps_root_destroy(self_root);
  mps_thread_dereg(thr);
  mps_arena_destroy(arena);
  (void)cold_here;
}

/* ---- Register roots in walks and collections -------------------------- */

/* The walk scans each root at its own rank: the deprecated stack scanner
 * accepts only an ambiguous scan (deprecated.rst), and takes only
 * aligned words. */
Test(root_gc, a_reg_root_is_walked_at_its_ambiguous_rank)
{
  volatile mps_word_t cold_here = 0;
  g_open();
  cr_assert_eq(mps_root_create_reg(&g_thread_root, g.arena, mps_rank_ambig(), 0, g.thr,
                                   mps_stack_scan_ambig, (void *)&cold_here, 0),
               MPS_RES_OK);
  g_walk_takes_only_aligned_words();
  (void)cold_here;
}

/* A register root is a thread root too: collecting from a thread that is
 * not registered is reported while one exists. */
Test(root_gc, an_unregistered_thread_collecting_with_a_reg_root_is_reported,
     .signal = SIGABRT, TEST_NEEDS_THREADS)
{
  pthread_t t;
  volatile int cold;
  g_open_with_only_another_thread(&t);
  cr_assert_eq(mps_root_create_reg(&g_thread_root, g.arena, mps_rank_ambig(), 0, other.thr,
                                   mps_stack_scan_ambig, (void *)&cold, 0),
               MPS_RES_OK);
  reports_install_abort();
  mps_arena_collect(g.arena);
}

/* A thread registered here that exits without deregistering. */
static void *g_register_and_exit(void *arg)
{
  mps_thr_t *thr_o = arg;
  cr_assert_eq(mps_thread_reg(thr_o, g.arena), MPS_RES_OK);
  return NULL;
}

/* A thread that exited registered is a client error (thread.rst), which
 * the collection reports when it cannot suspend the thread; its root has
 * no stack left to scan, and the collection goes on with the other roots,
 * with nothing more to report. */
Test(root_gc, a_root_of_a_thread_that_exited_registered_is_skipped, TEST_NEEDS_THREADS)
{
  pthread_t t;
  mps_thr_t dead;
  mps_root_t dead_root, table_root;
  mps_lib_assert_fail_t old;
  g_open();
  cr_assert_eq(pthread_create(&t, NULL, g_register_and_exit, &dead), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
  cr_assert_eq(mps_root_create_thread(&dead_root, g.arena, dead, (void *)&g), MPS_RES_OK);
  g_table[0] = (mps_word_t)g.weak[0];
  cr_assert_eq(mps_root_create_table(&table_root, g.arena, mps_rank_exact(), 0,
                                     (mps_addr_t *)g_table, 1), MPS_RES_OK);
  old = reports_install();
  mps_arena_collect(g.arena);
  mps_lib_assert_fail_install(old);
  cr_assert_eq(reports_seen(), 1, "%d reports", reports_seen());
  g_assert_alive(0, g_table[0]);
  mps_arena_park(g.arena);
  mps_root_destroy(table_root);
  mps_root_destroy(dead_root);
  mps_thread_dereg(dead);
  g_close();
}
