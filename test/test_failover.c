/* test_failover.c: unit tests of the failover land (src/data/failover.h)
 * over a CBS primary, whose node allocation the tests can make fail, and
 * a freelist secondary in a real buffer.  Each test drives one of the
 * cases listed at the top of failover.c and checks which land ended up
 * holding what. */
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/data/cbs.h"
#include "../src/data/failover.h"
#include "../src/data/freelist.h"
#include "support/checks.h"
#include "support/landcheck.h"
#include "support/reports.h"

#define ARENA_SIZE 8192
#define A 16  /* alignment */

static bool nodes_fail;
static int nodes_live;
/* Most nodes live at once, like a node pool that has run dry: a node
 * freed can then be had again. */
static int nodes_budget;

static void *nodes_alloc(void *closure, size_t size)
{
  (void)closure;
  if (nodes_fail || nodes_live >= nodes_budget)
    return NULL;
  ++nodes_live;
  return malloc(size);
}

static void nodes_free(void *closure, void *p, size_t size)
{
  (void)closure;
  (void)size;
  --nodes_live;
  free(p);
}

static void *arena;
static cbs_s cbs;
static freelist_s fl;
static failover_s fo;
static Land land, primary, secondary;

static Addr at(Size offset)
{
  return addr_add(addr_of_ptr(arena), offset);
}

static void setup(void)
{
  cbs_node_alloc_s alloc = {nodes_alloc, nodes_free, NULL};
  arena = aligned_alloc(4096, ARENA_SIZE);
  cr_assert_not_null(arena);
  nodes_fail = false;
  nodes_live = 0;
  nodes_budget = INT_MAX;
  cr_assert_eq(cbs_init(&cbs, A, &alloc), MPS_RES_OK);
  cr_assert_eq(freelist_init(&fl, A), MPS_RES_OK);
  primary = cbs_land(&cbs);
  secondary = freelist_land(&fl);
  cr_assert_eq(failover_init(&fo, primary, secondary), MPS_RES_OK);
  land = failover_land(&fo);
}

static void teardown(void)
{
  failover_finish(&fo);
  freelist_finish(&fl);
  cbs_finish(&cbs);
  cr_assert_eq(nodes_live, 0);
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
  cr_assert(cbs_check_deep(&cbs));
}

static void delete(Size base, Size limit, Size old_base, Size old_limit)
{
  range_s r, old;
  range_init(&r, at(base), at(limit));
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_OK);
  cr_assert_eq(range_base(&old), at(old_base));
  cr_assert_eq(range_limit(&old), at(old_limit));
  cr_assert(cbs_check_deep(&cbs));
}

/* `l` holds exactly the ranges in want (base, limit pairs), in order. */
static void expect(Land l, const Size *want, size_t n)
{
  landcheck_expect(l, addr_of_ptr(arena), want, n);
}

/* Two ranges in each land, interleaved in address order: [512,576) and
 * [2048,2112) in the primary, [0,64) and [1024,1088) in the secondary,
 * whose node allocation is left failing. */
static void insert_two_in_each(void)
{
  insert(512, 576, 512, 576);          /* primary */
  insert(2048, 2112, 2048, 2112);      /* primary */
  nodes_fail = true;
  insert(0, 64, 0, 64);                /* secondary, below both */
  insert(1024, 1088, 1024, 1088);      /* secondary, between */
}

TestSuite(failover, .init = setup, .fini = teardown);

Test(failover, uses_primary_while_memory_lasts)
{
  insert(0, 64, 0, 64);
  insert(128, 256, 128, 256);
  { static const Size w[] = {0, 64, 128, 256};
    expect(land, w, 4); expect(primary, w, 4); }
  expect(secondary, NULL, 0);
}

Test(failover, insert_fails_over_to_secondary)
{
  insert(0, 64, 0, 64);
  nodes_fail = true;
  insert(128, 256, 128, 256);          /* isolated: needs a node */
  insert(512, 576, 512, 576);
  insert(256, 320, 128, 320);          /* joins the secondary range */
  { static const Size w[] = {0, 64, 128, 320, 512, 576};
    expect(land, w, 6); }
  { static const Size w[] = {0, 64}; expect(primary, w, 2); }
  { static const Size w[] = {128, 320, 512, 576}; expect(secondary, w, 4); }
}

Test(failover, flush_moves_secondary_back)
{
  range_s r, old;
  nodes_fail = true;
  insert(128, 256, 128, 256);
  insert(512, 576, 512, 576);
  { static const Size w[] = {128, 256, 512, 576}; expect(secondary, w, 4); }
  nodes_fail = false;
  /* Any operation flushes first; a find that deletes nothing will do. */
  cr_assert(land_find_first(&r, &old, land, A, LAND_FIND_DELETE_NONE));
  expect(secondary, NULL, 0);
  { static const Size w[] = {128, 256, 512, 576}; expect(primary, w, 4); }
}

Test(failover, primary_join_pulls_in_secondary_neighbour)
{
  insert(0, 64, 0, 64);
  nodes_fail = true;
  insert(128, 192, 128, 192);          /* secondary */
  /* Touches [0,64) in the primary (join: no node) and [128,192) in the
   * secondary, which must move across so the land reports one range. */
  insert(64, 128, 0, 192);
  { static const Size w[] = {0, 192};
    expect(land, w, 2); expect(primary, w, 2); }
  expect(secondary, NULL, 0);
}

/* The mirror image: the secondary's range is below the inserted one. */
Test(failover, primary_join_pulls_in_secondary_neighbour_below)
{
  insert(128, 192, 128, 192);
  nodes_fail = true;
  insert(0, 64, 0, 64);                /* secondary */
  insert(64, 128, 0, 192);
  { static const Size w[] = {0, 192};
    expect(land, w, 2); expect(primary, w, 2); }
  expect(secondary, NULL, 0);
}

Test(failover, split_without_memory_reinserts_fragments)
{
  insert(0, 1024, 0, 1024);
  nodes_fail = true;
  /* Splitting [0,1024) needs a node: the whole block is deleted and both
   * fragments re-inserted; with no nodes they land in the secondary. */
  delete(256, 512, 0, 1024);
  { static const Size w[] = {0, 256, 512, 1024};
    expect(land, w, 4); expect(secondary, w, 4); }
  expect(primary, NULL, 0);
  cr_assert_eq(nodes_live, 0);
}

Test(failover, split_then_recover)
{
  insert(0, 64, 0, 64);
  insert(1024, 2048, 1024, 2048);
  nodes_fail = true;
  /* ... the split of [1024,2048) needs a new node: the block is deleted
   * and its fragments, needing nodes, go to the secondary.  Once memory
   * is back, the next operation flushes them to the primary. */
  delete(1280, 1536, 1024, 2048);
  { static const Size w[] = {0, 64, 1024, 1280, 1536, 2048};
    expect(land, w, 6); }
  { static const Size w[] = {1024, 1280, 1536, 2048};
    expect(secondary, w, 4); }
  nodes_fail = false;
  delete(1536, 1600, 1536, 2048);      /* flushes, then deletes */
  expect(secondary, NULL, 0);
  { static const Size w[] = {0, 64, 1024, 1280, 1600, 2048};
    expect(primary, w, 6); }
}

Test(failover, delete_from_secondary_and_absent)
{
  range_s r, old;
  insert(0, 64, 0, 64);
  nodes_fail = true;
  insert(256, 512, 256, 512);
  delete(256, 320, 256, 512);          /* the secondary's range */
  { static const Size w[] = {320, 512}; expect(secondary, w, 2); }
  range_init(&r, at(64), at(128));     /* in neither */
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_FAIL);
  range_init(&r, at(0), at(320));      /* spans both and a gap */
  cr_assert_eq(land_delete(&old, land, &r), MPS_RES_FAIL);
  { static const Size w[] = {0, 64, 320, 512}; expect(land, w, 4); }
}

Test(failover, finds_choose_across_lands)
{
  range_s r, old;
  insert(1024, 1280, 1024, 1280);      /* primary, 256 */
  nodes_fail = true;
  insert(0, 128, 0, 128);              /* secondary, 128 */
  insert(2048, 2304, 2048, 2304);      /* secondary, 256 */
  insert(3072, 3136, 3072, 3136);      /* secondary, 64 */
  cr_assert(land_find_first(&r, &old, land, 128, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at(0));
  cr_assert(land_find_first(&r, &old, land, 192, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at(1024));
  cr_assert(land_find_last(&r, &old, land, 128, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at(2048));
  cr_assert(land_find_last(&r, &old, land, 16, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at(3072));
  /* Best fit looks in both: the 128 of the secondary for 96, and for 160
   * the lower of the two of 256, in the primary. */
  cr_assert(land_find_best(&r, &old, land, 96, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at(0));
  cr_assert(land_find_best(&r, &old, land, 160, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at(1024));
  cr_assert(land_find_best(&r, &old, land, 64, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at(3072));
  cr_assert_not(land_find_best(&r, &old, land, 272, LAND_FIND_DELETE_NONE));
  /* Equal largest in both: the lower, in the primary, wins. */
  cr_assert(land_find_largest(&r, &old, land, 0, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at(1024));
  /* Deleting finds take from the land that had the range. */
  cr_assert(land_find_last(&r, &old, land, 128, LAND_FIND_DELETE_HIGH));
  cr_assert_eq(range_base(&r), at(2176));
  cr_assert_eq(range_limit(&old), at(2304));
  cr_assert(land_find_first(&r, &old, land, 64, LAND_FIND_DELETE_LOW));
  cr_assert_eq(range_base(&r), at(0));
  cr_assert_eq(range_limit(&r), at(64));
  { static const Size w[] = {64, 128, 2048, 2176, 3072, 3136};
    expect(secondary, w, 6); }
  cr_assert(land_find_largest(&r, &old, land, 0, LAND_FIND_DELETE_LOW));
  cr_assert_eq(range_base(&r), at(1024));
  cr_assert_eq(range_limit(&r), at(1280));
  expect(primary, NULL, 0);
  cr_assert_not(land_find_first(&r, &old, land, 256, LAND_FIND_DELETE_NONE));
}

Test(failover, iteration_merges_address_order)
{
  insert_two_in_each();
  insert(4096, 4160, 4096, 4160);      /* secondary, above */
  { static const Size w[] = {0, 64, 512, 576, 1024, 1088, 2048, 2112,
                             4096, 4160};
    expect(land, w, 10); }
}

typedef struct every_other_s {
  int visits;
  Size seen[8];
} every_other_s;

/* Records the base of the range visited, for the visitors below. */
static void note_visit(every_other_s *eo, Range r)
{
  cr_assert_lt(eo->visits, 8);
  eo->seen[eo->visits++] = addr_offset(addr_of_ptr(arena), range_base(r));
}

static bool every_other(bool *delete_return, Land l, Range r, void *closure)
{
  every_other_s *eo = closure;
  (void)l;
  *delete_return = eo->visits % 2 == 0;
  note_visit(eo, r);
  return true;
}

/* Over insert_two_in_each's ranges, `visitor` (which records in an
 * every_other_s) sees each of the four once, in address order across
 * the lands. */
static void iterate_and_delete_visits_in_order(LandDeleteVisitor visitor)
{
  every_other_s eo;
  memset(&eo, 0, sizeof eo);
  insert_two_in_each();
  cr_assert(land_iterate_and_delete(land, visitor, &eo));
  cr_assert_eq(eo.visits, 4);
  cr_assert_eq(eo.seen[0], 0);
  cr_assert_eq(eo.seen[1], 512);
  cr_assert_eq(eo.seen[2], 1024);
  cr_assert_eq(eo.seen[3], 2048);
}

Test(failover, iterate_and_delete_across_lands)
{
  iterate_and_delete_visits_in_order(every_other);
  { static const Size w[] = {512, 576, 2048, 2112}; expect(land, w, 4); }
}

Test(failover, overlap_with_secondary_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  range_s r;
  nodes_fail = true;
  insert(256, 512, 256, 512);          /* secondary (flushes keep failing) */
  reports_install_abort();
  range_init(&r, at(128), at(1024));
  (void)land_insert(&r, land, &r);
}

/* A range over a secondary range is refused in every variety, even where
 * the primary could take it by joining one of its own. */
Test(failover, overlap_with_secondary_reported_and_land_unchanged)
{
  range_s r, got;
  insert(1024, 1088, 1024, 1088);      /* primary */
  nodes_fail = true;
  insert(256, 512, 256, 512);          /* secondary */
  reports_install();
  range_init(&r, at(128), at(1024));   /* over it, and touching the primary's */
  cr_assert_eq(land_insert(&got, land, &r), MPS_RES_FAIL);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  { static const Size w[] = {1024, 1088}; expect(primary, w, 2); }
  { static const Size w[] = {256, 512}; expect(secondary, w, 2); }
}

Test(failover, mismatched_alignment_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  freelist_s other;
  failover_s fo2;
  cr_assert_eq(freelist_init(&other, 2 * A), MPS_RES_OK);
  reports_install_abort();
  (void)failover_init(&fo2, primary, freelist_land(&other));
}

/* Ties between the lands go to the lower range, wherever it is: here the
 * secondary's (failover_better). */
Test(failover, equal_fits_across_lands_go_to_the_lower)
{
  range_s r, old;
  insert(2048, 2304, 2048, 2304);      /* primary, 256 */
  nodes_fail = true;
  insert(0, 256, 0, 256);              /* secondary, 256 */
  insert(4096, 4160, 4096, 4160);      /* secondary, 64 */
  cr_assert(land_find_best(&r, &old, land, 192, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&old), at(0));
  cr_assert(land_find_largest(&r, &old, land, 0, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&old), at(0));
  cr_assert_eq(range_limit(&old), at(256));
  /* A deleting find takes the range from the secondary. */
  cr_assert(land_find_best(&r, &old, land, 256, LAND_FIND_DELETE_ENTIRE));
  cr_assert_eq(range_base(&r), at(0));
  { static const Size w[] = {4096, 4160}; expect(secondary, w, 2); }
  { static const Size w[] = {2048, 2304}; expect(primary, w, 2); }
}

static bool count_keeping(bool *delete_return, Land l, Range r, void *closure)
{
  (void)l;
  note_visit(closure, r);
  *delete_return = false;
  return true;
}

/* Secondary ranges that the visitor keeps are visited once, in their
 * place between the primary's: a later gap's walk of the secondary
 * skips those visited before it. */
Test(failover, iterate_and_delete_visits_kept_ranges_once)
{
  iterate_and_delete_visits_in_order(count_keeping);
  { static const Size w[] = {0, 64, 512, 576, 1024, 1088, 2048, 2112};
    expect(land, w, 8); }
}

typedef struct stop_after_s {
  int visits, stop;
} stop_after_s;

static bool stop_after(Land l, Range r, void *closure)
{
  stop_after_s *s = closure;
  (void)l;
  (void)r;
  return ++s->visits < s->stop;
}

static bool stop_after_keeping(bool *delete_return, Land l, Range r,
                               void *closure)
{
  *delete_return = false;
  return stop_after(l, r, closure);
}

/* A visitor's stop, at a range of either land, ends the merged walk and
 * is reported; a walk the visitor never stops reports true. */
Test(failover, iteration_stops_where_the_visitor_says)
{
  int stop;
  insert_two_in_each();
  insert(4096, 4160, 4096, 4160);      /* secondary */
  for (stop = 1; stop <= 6; ++stop) {
    stop_after_s s = {0, stop};
    cr_assert_eq(land_iterate(land, stop_after, &s), stop > 5, "stop %d", stop);
    cr_assert_eq(s.visits, stop > 5 ? 5 : stop, "stop %d", stop);
    s.visits = 0;
    cr_assert_eq(land_iterate_and_delete(land, stop_after_keeping, &s), stop > 5,
                 "stop %d", stop);
    cr_assert_eq(s.visits, stop > 5 ? 5 : stop, "stop %d", stop);
  }
  cr_assert_eq(land_size(land), 5 * 64);
}

/* A range over a primary range is refused in every variety, and the
 * secondary is not asked to take it instead. */
Test(failover, overlap_with_primary_reported_and_land_unchanged)
{
  range_s r, got;
  insert(1024, 1088, 1024, 1088);      /* primary */
  reports_install();
  range_init(&r, at(1056), at(1152));  /* starts inside it */
  cr_assert_eq(land_insert(&got, land, &r), MPS_RES_FAIL);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  { static const Size w[] = {1024, 1088}; expect(primary, w, 2); }
  expect(secondary, NULL, 0);
}

/* When the primary's nodes run out, a split deletes the whole block, which
 * gives a node back: the low fragment, put back first, takes it in the
 * primary, and only the high one goes to the secondary. */
Test(failover, split_with_one_node_short_keeps_a_fragment_in_primary)
{
  insert(0, 1024, 0, 1024);
  nodes_budget = 1;
  delete(256, 512, 0, 1024);
  { static const Size w[] = {0, 256, 512, 1024}; expect(land, w, 4); }
  { static const Size w[] = {0, 256}; expect(primary, w, 2); }
  { static const Size w[] = {512, 1024}; expect(secondary, w, 2); }
  cr_assert_eq(nodes_live, 1);
}

/* Both lands' ranges alternate, the primary's lowest, and one gap holds
 * two of the secondary's: a stop at any range, of either land, ends the
 * walk there, with no later range visited, whether the stop comes in a
 * gap's walk of the secondary or at a primary range before one. */
Test(failover, iteration_stops_at_any_range_of_either_land)
{
  int stop;
  insert(0, 64, 0, 64);                /* primary */
  insert(2048, 2112, 2048, 2112);      /* primary */
  nodes_fail = true;
  insert(512, 576, 512, 576);          /* secondary, two in one gap */
  insert(1024, 1088, 1024, 1088);
  insert(4096, 4160, 4096, 4160);      /* secondary, above the primary's */
  for (stop = 1; stop <= 6; ++stop) {
    stop_after_s s = {0, stop};
    cr_assert_eq(land_iterate(land, stop_after, &s), stop > 5, "stop %d", stop);
    cr_assert_eq(s.visits, stop > 5 ? 5 : stop, "stop %d", stop);
    s.visits = 0;
    cr_assert_eq(land_iterate_and_delete(land, stop_after_keeping, &s), stop > 5,
                 "stop %d", stop);
    cr_assert_eq(s.visits, stop > 5 ? 5 : stop, "stop %d", stop);
  }
  { static const Size w[] = {512, 576, 1024, 1088, 4096, 4160};
    expect(secondary, w, 6); }
}
