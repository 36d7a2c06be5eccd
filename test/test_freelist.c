/* test_freelist.c: unit tests of the freelist land (src/data/freelist.h).
 * The ranges are in a real buffer, because the freelist writes its list
 * into them. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/data/freelist.h"
#include "support/checks.h"
#include "support/landcheck.h"
#include "support/reports.h"

#define ARENA_SIZE 4096
#define W ((Size)sizeof(Word))

static void *arena;
static freelist_s fl;
static Land land;

static Addr at(Size offset)
{
  return addr_add(addr_of_ptr(arena), offset);
}

static void setup(void)
{
  arena = aligned_alloc(4096, ARENA_SIZE);
  cr_assert_not_null(arena);
  memset(arena, 0xA5, ARENA_SIZE);
  cr_assert_eq(freelist_init(&fl, W), MPS_RES_OK);
  land = freelist_land(&fl);
}

static void teardown(void)
{
  freelist_finish(&fl);
  free(arena);
}

static void insert(Size base, Size limit, Size want_base, Size want_limit)
{
  range_s r, got;
  range_init(&r, at(base), at(limit));
  cr_assert_eq(land_insert(&got, land, &r), MPS_RES_OK);
  cr_assert_eq(range_base(&got), at(want_base), "insert [%zu,%zu)", base, limit);
  cr_assert_eq(range_limit(&got), at(want_limit), "insert [%zu,%zu)", base, limit);
  cr_assert(land_check(land));
}

/* The land holds exactly the ranges in want (base, limit pairs), one
 * list element each. */
static void expect(const Size *want, size_t n)
{
  landcheck_expect(land, addr_of_ptr(arena), want, n);
  cr_assert_eq(fl.count, n / 2);
}

TestSuite(freelist, .init = setup, .fini = teardown);

Test(freelist, starts_empty)
{
  range_s r, old;
  expect(NULL, 0);
  cr_assert_not(land_find_largest(&r, &old, land, 0, LAND_FIND_DELETE_NONE));
  cr_assert_not(land_find_first(&r, &old, land, W, LAND_FIND_DELETE_NONE));
}

Test(freelist, insert_coalesces)
{
  insert(256, 512, 256, 512);
  insert(1024, 1536, 1024, 1536);
  { static const Size w[] = {256, 512, 1024, 1536}; expect(w, 4); }
  insert(512, 640, 256, 640);                   /* joins on the left */
  insert(896, 1024, 896, 1536);                 /* joins on the right */
  { static const Size w[] = {256, 640, 896, 1536}; expect(w, 4); }
  insert(640, 896, 256, 1536);                  /* joins both */
  { static const Size w[] = {256, 1536}; expect(w, 2); }
  insert(64, 128, 64, 128);                     /* new lowest range */
  insert(2048, 2056, 2048, 2056);               /* new highest range */
  { static const Size w[] = {64, 128, 256, 1536, 2048, 2056}; expect(w, 6); }
}

Test(freelist, grains)
{
  /* One-word ranges can hold only a tagged link. */
  insert(8 * W, 9 * W, 8 * W, 9 * W);
  insert(10 * W, 11 * W, 10 * W, 11 * W);
  insert(12 * W, 13 * W, 12 * W, 13 * W);
  { static Size w[6]; w[0] = 8 * W; w[1] = 9 * W; w[2] = 10 * W;
    w[3] = 11 * W; w[4] = 12 * W; w[5] = 13 * W; expect(w, 6); }
  insert(9 * W, 10 * W, 8 * W, 11 * W);         /* grain + grain + grain */
  { static Size w[4]; w[0] = 8 * W; w[1] = 11 * W; w[2] = 12 * W;
    w[3] = 13 * W; expect(w, 4); }
}

Test(freelist, delete_splits_and_reports_block)
{
  range_s r, old;
  insert(0, 1024, 0, 1024);
  range_init(&r, at(256), at(256 + W));
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_OK);
  cr_assert_eq(range_base(&old), at(0));
  cr_assert_eq(range_limit(&old), at(1024));
  { static Size w[4]; w[0] = 0; w[1] = 256; w[2] = 256 + W; w[3] = 1024;
    expect(w, 4); }
  /* Leave a one-word grain on the left. */
  range_init(&r, at(W), at(256));
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_OK);
  cr_assert_eq(range_limit(&old), at(256));
  { static Size w[4]; w[0] = 0; w[1] = W; w[2] = 256 + W; w[3] = 1024;
    expect(w, 4); }
  /* Delete a whole range, then the grain. */
  range_init(&r, at(256 + W), at(1024));
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_OK);
  range_init(&r, at(0), at(W));
  cr_assert_eq(land_delete(&r, land, &r), MPS_RES_OK);   /* aliasing */
  cr_assert_eq(range_base(&r), at(0));
  cr_assert_eq(range_limit(&r), at(W));
  expect(NULL, 0);
}

Test(freelist, delete_absent_fails_unchanged)
{
  range_s r, old;
  insert(0, 256, 0, 256);
  insert(512, 768, 512, 768);
  range_init(&r, at(128), at(640));           /* spans a gap */
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_FAIL);
  range_init(&r, at(256), at(512));           /* wholly in the gap */
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_FAIL);
  range_init(&r, at(768), at(1024));          /* above everything */
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_FAIL);
  range_init(&r, at(200), at(264));           /* runs off the end */
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_FAIL);
  { static const Size w[] = {0, 256, 512, 768}; expect(w, 4); }
}

static bool stop_after_first(Land l, Range r, void *closure)
{
  (void)l;
  (void)r;
  ++*(int *)closure;
  return false;
}

Test(freelist, iterate_stops)
{
  int visits = 0;
  insert(0, 64, 0, 64);
  insert(128, 192, 128, 192);
  cr_assert_not(land_iterate(land, stop_after_first, &visits));
  cr_assert_eq(visits, 1);
}

/* Delete every second range; stop after `limit` visits. */
typedef struct every_other_s {
  int visits, limit;
} every_other_s;

static bool every_other(bool *delete_return, Land l, Range r, void *closure)
{
  every_other_s *eo = closure;
  (void)l;
  (void)r;
  *delete_return = eo->visits % 2 == 0;
  ++eo->visits;
  return eo->visits < eo->limit;
}

Test(freelist, iterate_and_delete)
{
  every_other_s eo = {0, 100};
  insert(0, 64, 0, 64);
  insert(128, 192, 128, 192);
  insert(256, 320, 256, 320);
  insert(384, 448, 384, 448);
  insert(512, 576, 512, 576);
  cr_assert(land_iterate_and_delete(land, every_other, &eo));
  cr_assert_eq(eo.visits, 5);
  { static const Size w[] = {128, 192, 384, 448}; expect(w, 4); }
  eo.visits = 0;
  eo.limit = 1;
  cr_assert_not(land_iterate_and_delete(land, every_other, &eo));
  { static const Size w[] = {384, 448}; expect(w, 2); }
}

/* Deletes the ranges whose bit is set in the closure's mask, by visit. */
static bool delete_masked(bool *delete_return, Land l, Range r, void *closure)
{
  unsigned *mask = closure;
  (void)l;
  (void)r;
  *delete_return = (*mask & 1) != 0;
  *mask >>= 1;
  return true;
}

/* Deletions in a row: each relinks the last range kept, not the range
 * just deleted, whose memory is the client's again. */
Test(freelist, iterate_and_delete_of_neighbours_in_a_row)
{
  unsigned mask = 0x1e;   /* all but the first and the last */
  insert(0, 64, 0, 64);
  insert(128, 192, 128, 192);
  insert(256, 320, 256, 320);
  insert(384, 448, 384, 448);
  insert(512, 576, 512, 576);
  insert(640, 704, 640, 704);
  cr_assert(land_iterate_and_delete(land, delete_masked, &mask));
  { static const Size w[] = {0, 64, 640, 704}; expect(w, 4); }
  mask = 0x1;   /* the head, then nothing */
  cr_assert(land_iterate_and_delete(land, delete_masked, &mask));
  { static const Size w[] = {640, 704}; expect(w, 2); }
}

Test(freelist, find_first_and_last)
{
  range_s r, old;
  insert(0, 64, 0, 64);
  insert(128, 384, 128, 384);
  insert(512, 576, 512, 576);
  insert(1024, 1536, 1024, 1536);
  insert(2048, 2112, 2048, 2112);

  cr_assert(land_find_first(&r, &old, land, 64, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at(0));
  cr_assert(range_equal(&r, &old));
  cr_assert(land_find_first(&r, &old, land, 128, LAND_FIND_DELETE_LOW));
  cr_assert_eq(range_base(&r), at(128));
  cr_assert_eq(range_limit(&r), at(256));
  cr_assert_eq(range_limit(&old), at(384));
  cr_assert(land_find_last(&r, &old, land, 128, LAND_FIND_DELETE_HIGH));
  cr_assert_eq(range_base(&r), at(1408));
  cr_assert_eq(range_limit(&r), at(1536));
  cr_assert_eq(range_base(&old), at(1024));
  cr_assert(land_find_last(&r, &old, land, 64, LAND_FIND_DELETE_ENTIRE));
  cr_assert_eq(range_base(&r), at(2048));
  cr_assert(range_equal(&r, &old));
  cr_assert_not(land_find_first(&r, &old, land, 512, LAND_FIND_DELETE_LOW));
  { static const Size w[] = {0, 64, 256, 384, 512, 576, 1024, 1408};
    expect(w, 8); }
}

Test(freelist, find_best_takes_the_smallest_fit_lowest_first)
{
  range_s r, old;
  insert(0, 256, 0, 256);
  insert(512, 576, 512, 576);
  insert(1024, 1152, 1024, 1152);
  insert(2048, 2112, 2048, 2112);
  /* 64 fits all four: the lowest of the two smallest. */
  cr_assert(land_find_best(&r, &old, land, 64, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at(512));
  cr_assert(range_equal(&r, &old));
  /* 80 fits only the blocks of 128 and 256: the 128, though higher. */
  cr_assert(land_find_best(&r, &old, land, 80, LAND_FIND_DELETE_HIGH));
  cr_assert_eq(range_base(&r), at(1072));
  cr_assert_eq(range_limit(&r), at(1152));
  cr_assert_eq(range_base(&old), at(1024));
  cr_assert(land_find_best(&r, &old, land, 64, LAND_FIND_DELETE_ENTIRE));
  cr_assert_eq(range_base(&r), at(512));
  cr_assert_not(land_find_best(&r, &old, land, 272, LAND_FIND_DELETE_LOW));
  { static const Size w[] = {0, 256, 1024, 1072, 2048, 2112}; expect(w, 6); }
}

Test(freelist, find_largest_prefers_lowest)
{
  range_s r, old;
  insert(0, 64, 0, 64);
  insert(128, 384, 128, 384);
  insert(512, 768, 512, 768);
  cr_assert_not(land_find_largest(&r, &old, land, 512, LAND_FIND_DELETE_NONE));
  cr_assert(land_find_largest(&r, &old, land, 0, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at(128));
  /* LOW acts as ENTIRE for find_largest. */
  cr_assert(land_find_largest(&r, &old, land, 64, LAND_FIND_DELETE_LOW));
  cr_assert_eq(range_base(&r), at(128));
  cr_assert_eq(range_limit(&r), at(384));
  cr_assert(land_find_largest(&r, &old, land, 0, LAND_FIND_DELETE_HIGH));
  cr_assert_eq(range_base(&r), at(512));
  cr_assert_eq(range_limit(&r), at(768));
  { static const Size w[] = {0, 64}; expect(w, 2); }
}

Test(freelist, overlapping_insert_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  range_s r;
  insert(256, 512, 256, 512);
  reports_install_abort();
  range_init(&r, at(500 & ~(W - 1)), at(600));
  (void)land_insert(&r, land, &r);
}

Test(freelist, overlap_reported_and_land_unchanged)
{
  range_s r, got;
  insert(256, 512, 256, 512);
  reports_install();
  range_init(&r, at(128), at(1024));            /* covers the range */
  cr_assert_eq(land_insert(&got, land, &r), MPS_RES_FAIL);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  { static const Size w[] = {256, 512}; expect(w, 2); }
}

/* An insertion reaching into the range below it, from above its base, is
 * refused the same way in every variety. */
Test(freelist, overlap_from_above_reported_and_land_unchanged)
{
  range_s r, got;
  insert(256, 512, 256, 512);
  insert(1024, 1536, 1024, 1536);
  reports_install();
  range_init(&r, at(504), at(640));             /* its top word and on */
  cr_assert_eq(land_insert(&got, land, &r), MPS_RES_FAIL);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  range_init(&r, at(1528), at(2048));
  cr_assert_eq(land_insert(&got, land, &r), MPS_RES_FAIL);
  cr_assert_eq(reports_seen(), TEST_REPORTS(2));
  { static const Size w[] = {256, 512, 1024, 1536}; expect(w, 4); }
}

Test(freelist, unaligned_range_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  range_s r;
  reports_install_abort();
  range_init(&r, at(1), at(64));
  (void)land_insert(&r, land, &r);
}

Test(freelist, small_alignment_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  freelist_s small;
  reports_install_abort();
  (void)freelist_init(&small, W / 2);
}

/* One-word fragments left by a deletion, below or above, are kept as
 * grains; a two-word range has room for its limit and is a block. */
Test(freelist, deletions_leave_grains_either_side)
{
  range_s r, old;
  insert(0, 4 * W, 0, 4 * W);
  range_init(&r, at(W), at(3 * W));
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_OK);
  { static Size w[4]; w[0] = 0; w[1] = W; w[2] = 3 * W; w[3] = 4 * W;
    expect(w, 4); }
  insert(8 * W, 16 * W, 8 * W, 16 * W);
  range_init(&r, at(8 * W), at(15 * W));        /* leaves the top word */
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_OK);
  cr_assert_eq(range_base(&old), at(8 * W));
  cr_assert_eq(range_limit(&old), at(16 * W));
  { static Size w[6]; w[0] = 0; w[1] = W; w[2] = 3 * W; w[3] = 4 * W;
    w[4] = 15 * W; w[5] = 16 * W; expect(w, 6); }
  insert(20 * W, 22 * W, 20 * W, 22 * W);      /* two words: a block */
  insert(24 * W, 26 * W, 24 * W, 26 * W);
  { static Size w[10]; w[0] = 0; w[1] = W; w[2] = 3 * W; w[3] = 4 * W;
    w[4] = 15 * W; w[5] = 16 * W; w[6] = 20 * W; w[7] = 22 * W;
    w[8] = 24 * W; w[9] = 26 * W; expect(w, 10); }
}

Test(freelist, overlaps_is_half_open)
{
  static const Size probes[][3] = {
    /* base, limit, overlaps [256, 512) or [1024, 1536) */
    {0, 256, 0}, {128, 264, 1}, {256, 512, 1}, {504, 520, 1},
    {512, 1024, 0}, {600, 1032, 1}, {1528, 2048, 1}, {1536, 2048, 0},
    {264, 272, 1}, {0, 4096, 1},
  };
  size_t i;
  insert(256, 512, 256, 512);
  insert(1024, 1536, 1024, 1536);
  for (i = 0; i < sizeof probes / sizeof probes[0]; ++i) {
    range_s r;
    range_init(&r, at(probes[i][0]), at(probes[i][1]));
    cr_assert_eq(land_overlaps(land, &r), probes[i][2] != 0, "[%zu, %zu)",
                 probes[i][0], probes[i][1]);
  }
}

/* A visitor that moves each range it visits into another freelist over
 * the same memory, which rewrites the range's first words. */
static freelist_s other_fl;

static bool move_to_other(bool *delete_return, Land l, Range r, void *closure)
{
  range_s got;
  (void)l;
  (void)closure;
  cr_assert_eq(land_insert(&got, freelist_land(&other_fl), r), MPS_RES_OK);
  *delete_return = true;
  return true;
}

Test(freelist, iterate_and_delete_lets_the_visitor_reuse_the_range)
{
  Land other;
  cr_assert_eq(freelist_init(&other_fl, W), MPS_RES_OK);
  other = freelist_land(&other_fl);
  insert(0, 64, 0, 64);
  insert(128, 128 + W, 128, 128 + W);
  insert(256, 320, 256, 320);
  insert(384, 448, 384, 448);
  cr_assert(land_iterate_and_delete(land, move_to_other, NULL));
  expect(NULL, 0);
  { static Size w[8]; w[0] = 0; w[1] = 64; w[2] = 128; w[3] = 128 + W;
    w[4] = 256; w[5] = 320; w[6] = 384; w[7] = 448;
    landcheck_expect(other, addr_of_ptr(arena), w, 8); }
  freelist_finish(&other_fl);
}

/* The cheap invariants freelist_check tests are CHECKLs, so only in
 * cool; each is broken on its own here, and put right again. */
Test(freelist, check_notices_head_and_size_out_of_step_with_count)
{
  Addr head;
  if (CHECK_LEVEL < 2)
    cr_skip_test("freelist_check's invariants are CHECKLs, cool only");
  insert(256, 512, 256, 512);
  head = fl.head;
  reports_install();
  fl.head = (Addr)0;                 /* an empty list of one range */
  (void)freelist_check(&fl);
  cr_assert_eq(reports_seen(), 1);
  fl.head = head;
  reports_install();
  fl.size = 0;                       /* a range of no size */
  (void)freelist_check(&fl);
  cr_assert_eq(reports_seen(), 1);
  fl.size = 256;
  reports_install();
  cr_assert(freelist_check(&fl));
  cr_assert_eq(reports_seen(), 0);
}

/* The refusal is a result code, so it holds in rash too. */
Test(freelist, small_alignment_is_refused)
{
  freelist_s small;
  reports_install();
  cr_assert_eq(freelist_init(&small, W / 2), MPS_RES_PARAM);
  TEST_ASSERT_REPORTED(reports_seen());
}

static bool insert_from_visitor(Land l, Range r, void *closure)
{
  range_s more, got;
  (void)r;
  (void)closure;
  range_init(&more, at(1024), at(1088));
  (void)land_insert(&got, l, &more);
  return true;
}

Test(freelist, reentry_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  insert(0, 64, 0, 64);
  reports_install_abort();
  (void)land_iterate(land, insert_from_visitor, NULL);
}

/* Where the freelist said it wrote (freelist_set_scribble), as a byte map
 * of the buffer. */
static unsigned char scribbled[ARENA_SIZE];
static unsigned scribbles;

static void note_scribble(void *closure, Addr base, Addr limit)
{
  Size b = addr_offset(addr_of_ptr(arena), base), l = addr_offset(addr_of_ptr(arena), limit);
  cr_assert_eq(closure, &fl, "the closure given");
  cr_assert(b < l && l <= ARENA_SIZE && (l - b == W || l - b == 2 * W), "[%zu,%zu)", b, l);
  memset(&scribbled[b], 1, l - b);
  ++scribbles;
}

/* The debugging pools keep a free-space template in memory a freelist may
 * hold (pool_debug.c): every byte it changes must be one it reported. */
Test(freelist, every_write_into_the_ranges_is_reported)
{
  range_s r, old;
  Size i, seed = 12345;
  memset(scribbled, 0, sizeof scribbled);
  scribbles = 0;
  freelist_set_scribble(&fl, note_scribble, &fl);
  insert(0, 64, 0, 64);
  insert(128, 128 + W, 128, 128 + W);       /* one word: a tagged link */
  insert(64, 96, 0, 96);                    /* joins below */
  insert(256, 512, 256, 512);
  insert(112, 128, 112, 128 + W);           /* joins above */
  range_init(&r, at(288), at(320));         /* splits a range */
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_OK);
  range_init(&r, at(256), at(264));         /* shortens one from below */
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_OK);
  /* Random inserts of absent words and deletes of present ones over the
   * rest (held: which words of [1024, 3072) the list holds). */
  for (i = 0; i < 400; ++i) {
    static bool held[2048 / sizeof(Word)];
    Size b, l, k;
    bool all = true, none = true, add;
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    b = (seed >> 33) % 2048 / W;
    l = b + 1 + (seed >> 20) % 16;
    if (l > 2048 / W)
      continue;
    for (k = b; k < l; ++k) {
      all = all && held[k];
      none = none && !held[k];
    }
    add = ((seed >> 60) & 1) != 0;
    if (add ? !none : !all)
      continue;
    range_init(&r, at(1024 + b * W), at(1024 + l * W));
    if (add)
      cr_assert_eq(land_insert(&old, land, &r), MPS_RES_OK);
    else
      cr_assert_eq(land_delete(&old, land, &r), MPS_RES_OK);
    for (k = b; k < l; ++k)
      held[k] = add;
    cr_assert(land_check(land));
  }
  cr_assert(scribbles > 0);
  for (i = 0; i < ARENA_SIZE; ++i)
    if (((unsigned char *)arena)[i] != 0xA5)
      cr_assert(scribbled[i], "byte %zu changed unreported", i);
}
