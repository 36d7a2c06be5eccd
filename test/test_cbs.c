/* test_cbs.c: unit tests of the coalescing block structure
 * (src/data/cbs.h): node allocation and its failure, summaries, and
 * behaviour the generic land scenarios (test_land.c) do not reach. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/data/cbs.h"
#include "support/checks.h"
#include "support/landcheck.h"
#include "support/reports.h"

/* A malloc-backed node allocator that counts live nodes and can be told
 * to fail. */
typedef struct nodes_s {
  int live;
  int allocs;
  bool fail;
} nodes_s;

static void *nodes_alloc(void *closure, size_t size)
{
  nodes_s *n = closure;
  cr_assert_eq(size, cbs_node_size);
  if (n->fail)
    return NULL;
  ++n->live;
  ++n->allocs;
  return malloc(size);
}

static void nodes_free(void *closure, void *p, size_t size)
{
  nodes_s *n = closure;
  cr_assert_eq(size, cbs_node_size);
  --n->live;
  free(p);
}

static nodes_s nodes;
static cbs_s cbs;
static Land land;

#define BASE ((Word)1 << 20)

static Addr at(Word offset)
{
  return addr_of_word(BASE + offset);
}

static void setup(void)
{
  cbs_node_alloc_s alloc = {nodes_alloc, nodes_free, &nodes};
  nodes.live = 0;
  nodes.allocs = 0;
  nodes.fail = false;
  cr_assert_eq(cbs_init(&cbs, 16, &alloc), MPS_RES_OK);
  land = cbs_land(&cbs);
}

static void teardown(void)
{
  cbs_finish(&cbs);
  cr_assert_eq(nodes.live, 0, "cbs_finish leaked %d nodes", nodes.live);
}

static Res insert(Word base, Word limit, range_s *got)
{
  range_s r;
  range_init(&r, at(base), at(limit));
  return land_insert(got, land, &r);
}

static Res delete(Word base, Word limit, range_s *got)
{
  range_s r;
  range_init(&r, at(base), at(limit));
  return land_delete(got, land, &r);
}

TestSuite(cbs, .init = setup, .fini = teardown);

Test(cbs, one_node_per_isolated_block)
{
  range_s got;
  cr_assert_eq(insert(0, 64, &got), MPS_RES_OK);
  cr_assert_eq(insert(128, 192, &got), MPS_RES_OK);
  cr_assert_eq(nodes.live, 2);
  cr_assert_eq(insert(64, 128, &got), MPS_RES_OK);   /* joins both */
  cr_assert_eq(nodes.live, 1, "coalescing frees the absorbed node");
  cr_assert_eq(range_base(&got), at(0));
  cr_assert_eq(range_limit(&got), at(192));
  cr_assert_eq(cbs.count, 1);
  cr_assert(cbs_check_deep(&cbs));
}

Test(cbs, insert_without_memory_changes_nothing)
{
  range_s got;
  cr_assert_eq(insert(0, 64, &got), MPS_RES_OK);
  nodes.fail = true;
  cr_assert_eq(insert(256, 320, &got), MPS_RES_MEMORY);
  cr_assert_eq(land_size(land), 64);
  cr_assert_eq(cbs.count, 1);
  /* Coalescing needs no node, so it still works. */
  cr_assert_eq(insert(64, 128, &got), MPS_RES_OK);
  cr_assert_eq(range_limit(&got), at(128));
  cr_assert_eq(land_size(land), 128);
  cr_assert(cbs_check_deep(&cbs));
}

Test(cbs, delete_from_middle_without_memory_changes_nothing)
{
  range_s got;
  cr_assert_eq(insert(0, 1024, &got), MPS_RES_OK);
  nodes.fail = true;
  cr_assert_eq(delete(256, 512, &got), MPS_RES_MEMORY);
  /* The block is still reported, so the caller can fall back. */
  cr_assert_eq(range_base(&got), at(0));
  cr_assert_eq(range_limit(&got), at(1024));
  cr_assert_eq(land_size(land), 1024);
  /* Deleting from either end, or the whole block, needs no node. */
  cr_assert_eq(delete(0, 128, &got), MPS_RES_OK);
  cr_assert_eq(delete(896, 1024, &got), MPS_RES_OK);
  cr_assert_eq(land_size(land), 768);
  cr_assert_eq(delete(128, 896, &got), MPS_RES_OK);
  cr_assert_eq(land_size(land), 0);
  cr_assert_eq(nodes.live, 0);
  nodes.fail = false;
  cr_assert(cbs_check_deep(&cbs));
}

Test(cbs, delete_splits_with_new_node)
{
  range_s got;
  cr_assert_eq(insert(0, 1024, &got), MPS_RES_OK);
  cr_assert_eq(delete(256, 512, &got), MPS_RES_OK);
  cr_assert_eq(nodes.live, 2);
  cr_assert_eq(cbs.count, 2);
  cr_assert_eq(delete(512, 1024, &got), MPS_RES_OK);
  cr_assert_eq(range_base(&got), at(512));
  cr_assert_eq(nodes.live, 1);
  cr_assert_eq(delete(304, 400, &got), MPS_RES_FAIL);
  cr_assert_eq(delete(0, 272, &got), MPS_RES_FAIL);
  cr_assert(cbs_check_deep(&cbs));
}

Test(cbs, find_with_memory_failure_still_deletes)
{
  range_s r, old;
  cr_assert_eq(insert(0, 64, &r), MPS_RES_OK);
  cr_assert_eq(insert(128, 512, &r), MPS_RES_OK);
  nodes.fail = true;
  cr_assert(land_find_first(&r, &old, land, 128, LAND_FIND_DELETE_LOW));
  cr_assert_eq(range_base(&r), at(128));
  cr_assert(land_find_last(&r, &old, land, 64, LAND_FIND_DELETE_HIGH));
  cr_assert_eq(range_limit(&r), at(512));
  cr_assert(land_find_largest(&r, &old, land, 0, LAND_FIND_DELETE_ENTIRE));
  cr_assert_eq(range_base(&r), at(256));
  cr_assert_eq(range_limit(&r), at(448));
  cr_assert_eq(land_size(land), 64);
  nodes.fail = false;
  cr_assert(cbs_check_deep(&cbs));
}

/* Many blocks of varied sizes: every find agrees with a linear scan, and
 * the summaries stay correct as the tree is splayed around. */
Test(cbs, finds_match_linear_scan)
{
  enum { N = 200 };
  static Word sizes[N];
  range_s r, old;
  unsigned seed = 12345;
  Word base = 0;
  int i, trial;
  for (i = 0; i < N; ++i) {
    seed = seed * 1103515245u + 12345u;
    sizes[i] = 16 * (1 + (seed >> 16) % 64);
    cr_assert_eq(insert(base, base + sizes[i], &r), MPS_RES_OK);
    base += sizes[i] + 16;
  }
  cr_assert_eq(cbs.count, N);
  for (trial = 0; trial < 70; ++trial) {
    Word want = 16 * (Word)(1 + trial);
    Word first = 0, last = 0, largest = 0, largest_at = 0, off = 0;
    Word best = 0, best_at = 0;
    bool any = false;
    for (i = 0; i < N; ++i) {
      if (sizes[i] >= want) {
        if (!any)
          first = off;
        last = off;
        if (!any || sizes[i] < best) {
          best = sizes[i];
          best_at = off;
        }
        any = true;
      }
      if (sizes[i] > largest) {
        largest = sizes[i];
        largest_at = off;
      }
      off += sizes[i] + 16;
    }
    cr_assert_eq(land_find_first(&r, &old, land, want, LAND_FIND_DELETE_NONE), any);
    if (any)
      cr_assert_eq(range_base(&r), at(first));
    cr_assert_eq(land_find_last(&r, &old, land, want, LAND_FIND_DELETE_NONE), any);
    if (any)
      cr_assert_eq(range_base(&r), at(last));
    cr_assert_eq(land_find_best(&r, &old, land, want, LAND_FIND_DELETE_NONE), any);
    if (any)
      cr_assert_eq(range_base(&r), at(best_at), "best fit for %lu", (unsigned long)want);
    cr_assert(land_find_largest(&r, &old, land, 0, LAND_FIND_DELETE_NONE));
    cr_assert_eq(range_base(&r), at(largest_at));
    cr_assert(cbs_check_deep(&cbs));
  }
}

/* Blocks change bins as they grow, shrink, join and split; best fit
 * (deleting what it finds) keeps matching a scan of the blocks, and the
 * deep check keeps finding every block on its bin's list. */
Test(cbs, best_fit_follows_blocks_across_bins)
{
  enum { SLOTS = 256, UNIT = 16 };
  static bool free_unit[SLOTS];
  unsigned seed = 4242;
  int step, i;
  range_s r, old;
  for (step = 0; step < 3000; ++step) {
    int a, b;
    seed = seed * 1103515245u + 12345u;
    a = (int)((seed >> 8) % SLOTS);
    b = a + 1 + (int)((seed >> 20) % 8);
    if (b > SLOTS)
      b = SLOTS;
    if (seed & 1) {
      /* Free the units of [a, b) that are in use, one stretch at a time. */
      for (i = a; i < b; ++i) {
        int j = i;
        while (j < b && !free_unit[j])
          ++j;
        if (j > i) {
          cr_assert_eq(insert((Word)i * UNIT, (Word)j * UNIT, &r), MPS_RES_OK);
          for (; i < j; ++i)
            free_unit[i] = true;
        }
      }
    } else {
      /* Best fit for (b - a) units, checked against a scan, and taken. */
      Size want = (Size)(b - a) * UNIT, best = 0;
      Word best_at = 0;
      bool any = false;
      for (i = 0; i < SLOTS;) {
        int j = i;
        while (j < SLOTS && free_unit[j])
          ++j;
        if (j > i && (Size)(j - i) * UNIT >= want
            && (!any || (Size)(j - i) * UNIT < best)) {
          best = (Size)(j - i) * UNIT;
          best_at = (Word)i * UNIT;
          any = true;
        }
        i = j > i ? j : i + 1;
      }
      cr_assert_eq(land_find_best(&r, &old, land, want,
                                  (seed & 2) ? LAND_FIND_DELETE_LOW : LAND_FIND_DELETE_HIGH), any);
      if (any) {
        Word lo = (Word)(addr_word(range_base(&r)) - BASE) / UNIT;
        cr_assert_eq(range_base(&old), at(best_at));
        cr_assert_eq(range_size(&old), best);
        cr_assert_eq(range_size(&r), want);
        for (i = (int)lo; i < (int)lo + b - a; ++i)
          free_unit[i] = false;
      }
    }
    cr_assert(cbs_check_deep(&cbs), "step %d", step);
  }
}

static bool delete_odd(bool *delete_return, Land l, Range r, void *closure)
{
  int *i = closure;
  (void)l;
  (void)r;
  *delete_return = (*i)++ % 2 == 1;
  return true;
}

Test(cbs, iterate_and_delete_frees_nodes)
{
  range_s r;
  int i = 0;
  Word b;
  for (b = 0; b < 64 * 32; b += 64)
    cr_assert_eq(insert(b, b + 32, &r), MPS_RES_OK);
  cr_assert_eq(nodes.live, 32);
  cr_assert(land_iterate_and_delete(land, delete_odd, &i));
  cr_assert_eq(i, 32);
  cr_assert_eq(nodes.live, 16);
  cr_assert_eq(land_size(land), 16 * 32);
  cr_assert(cbs_check_deep(&cbs));
}

Test(cbs, overlapping_insert_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  range_s got;
  cr_assert_eq(insert(0, 64, &got), MPS_RES_OK);
  reports_install_abort();
  (void)insert(32, 128, &got);
}

Test(cbs, insert_over_later_block_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  range_s got;
  cr_assert_eq(insert(256, 320, &got), MPS_RES_OK);
  reports_install_abort();
  (void)insert(0, 512, &got);
}

Test(cbs, missing_allocator_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  cbs_s other;
  cbs_node_alloc_s none = {NULL, NULL, NULL};
  reports_install_abort();
  (void)cbs_init(&other, 16, &none);
}

/* Insertions that join a neighbour, or that add a block beside the
 * root, update the summaries without another splay (cbs.c,
 * cbs_block_grown and cbs_insert_at_root).  Grains of 16 bytes go in
 * in a scrambled order, so that each case happens with the neighbour
 * at the root and deep in the tree; after every insertion the tree and
 * its summaries must be exact and the largest block must be found. */
static void joins_in_any_order(void)
{
  enum { N = 509 };   /* prime, so the stride below visits every unit */
  bool in[N];
  range_s r, old;
  Word i, k;
  for (i = 0; i < N; ++i)
    in[i] = false;
  for (k = 0; k < N; ++k) {
    Word u = (k * 211) % N, b, e, largest = 0, run = 0;
    Size size = 16;
    if (in[u])
      continue;   /* went in with its neighbour below */
    if (u % 3 == 2 && u + 1 < N && !in[u + 1])
      size = 32;   /* sometimes two units at once */
    cr_assert_eq(insert(u * 16, u * 16 + size, &r), MPS_RES_OK);
    in[u] = true;
    if (size == 32)
      in[u + 1] = true;
    /* The block the insertion reports: the whole run of units around it. */
    for (b = u; b > 0 && in[b - 1]; --b)
      ;
    for (e = u; e < N && in[e]; ++e)
      ;
    cr_assert_eq(range_base(&r), at(b * 16));
    cr_assert_eq(range_limit(&r), at(e * 16));
    cr_assert(cbs_check_deep(&cbs));
    for (i = 0; i < N; ++i) {
      run = in[i] ? run + 1 : 0;
      if (run > largest)
        largest = run;
    }
    cr_assert(land_find_largest(&r, &old, land, 0, LAND_FIND_DELETE_NONE));
    cr_assert_eq(range_size(&r), largest * 16);
    cr_assert(land_find_first(&r, &old, land, largest * 16, LAND_FIND_DELETE_NONE));
    if (largest < N)
      cr_assert(!land_find_first(&r, &old, land, (largest + 1) * 16, LAND_FIND_DELETE_NONE));
  }
  cr_assert_eq(nodes.live, 1);
  cr_assert_eq(land_size(land), N * 16);
}

Test(cbs, joins_in_any_order_keep_summaries_exact)
{
  joins_in_any_order();
}

/* The same with the descent bounded at one and at two levels
 * (cbs_descent_max_set), so that nearly every insertion splays: joins of
 * one neighbour raise the summaries along the spine the splay left
 * (cbs_block_grown), joins of both take the right block out of the tree,
 * and new blocks become the root in place.  Bench-sized trees reach
 * these paths; tests of this size otherwise would not. */
Test(cbs, joins_in_any_order_keep_summaries_exact_when_every_insertion_splays)
{
  cbs_descent_max_set(&cbs, 1);
  joins_in_any_order();
}

Test(cbs, joins_in_any_order_keep_summaries_exact_when_most_insertions_splay)
{
  cbs_descent_max_set(&cbs, 2);
  joins_in_any_order();
}

/* The height of the tree under `node` (splay.h's links are public). */
static Count height(SplayNode node)
{
  Count l, r;
  if (node == NULL)
    return 0;
  l = height(node->left);
  r = height(node->right);
  return 1 + (l > r ? l : r);
}

/* Insertions that join one neighbour or make a new block descend without
 * splaying (cbs.c, cbs_insert_descending), so blocks inserted in address
 * order make a path; past the descent's bound an insertion splays, which
 * shortens it.  Both ways, and joins at the far end of a long path, keep
 * the summaries exact and the finds right. */
Test(cbs, ordered_insertions_past_the_descent_bound_stay_exact)
{
  enum { N = 200 };
  range_s r, old;
  Word i;
  Count tallest = 0;
  for (i = 0; i < N; ++i) {
    cr_assert_eq(insert(i * 64, i * 64 + 16 + (i % 3) * 16, &r), MPS_RES_OK);
    cr_assert(cbs_check_deep(&cbs));
    if (height(splay_tree_root(&cbs.tree)) > tallest)
      tallest = height(splay_tree_root(&cbs.tree));
  }
  /* Longer than the descent's bound (24), so some insertions splayed. */
  cr_assert_geq(tallest, 25, "ordered insertions built no long path (height %lu)",
                (unsigned long)tallest);
  /* Without those splays, address order would leave one path of N. */
  cr_assert_lt(height(splay_tree_root(&cbs.tree)), N / 2,
               "the deep insertions did not shorten the path (height %lu)",
               (unsigned long)height(splay_tree_root(&cbs.tree)));
  cr_assert_eq(cbs.count, N);
  /* The largest blocks are those with i % 3 == 2 (48 bytes). */
  cr_assert(land_find_largest(&r, &old, land, 0, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_size(&r), 48);
  cr_assert_eq(range_base(&r), at(2 * 64));
  /* Grow the highest block to the largest by a join at the end of its
   * path, then join every gap from the top down. */
  cr_assert_eq(insert((N - 1) * 64 + 16 + ((N - 1) % 3) * 16, N * 64 + 512, &r), MPS_RES_OK);
  cr_assert(cbs_check_deep(&cbs));
  cr_assert(land_find_largest(&r, &old, land, 0, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at((N - 1) * 64));
  for (i = N - 1; i > 0; --i) {
    Word gap = (i - 1) * 64 + 16 + ((i - 1) % 3) * 16;
    cr_assert_eq(insert(gap, i * 64, &r), MPS_RES_OK);
    cr_assert_eq(range_base(&r), at((i - 1) * 64));
    cr_assert_eq(range_limit(&r), at(N * 64 + 512));
    cr_assert(cbs_check_deep(&cbs));
  }
  cr_assert_eq(cbs.count, 1);
  cr_assert_eq(nodes.live, 1);
  cr_assert_eq(land_size(land), N * 64 + 512);
}

/* First-fit finds descend without splaying (cbs_descend_first), and a
 * find that shrinks its block then recomputes the summaries on its path
 * only.  Against a model of the blocks: every find takes the lowest block
 * big enough, and the summaries stay exact, for trees both shallow and
 * deeper than the descent's bound. */
static void first_fit_finds_that_shrink(void)
{
  enum { N = 300 };
  Word base[N], limit[N];
  range_s r, old;
  Word i, k, seed = 12345;
  bool in[N];
  for (i = 0; i < N; ++i) {
    base[i] = i * 4096;
    limit[i] = base[i] + 16 * (1 + (i * 37) % 200);
    in[i] = false;
  }
  /* Half in a scattered order, the rest in address order, which builds
   * paths deeper than the descent's bound. */
  for (i = 0; i < N / 2; ++i) {
    Word j = (i * 7) % N;
    cr_assert_eq(insert(base[j], limit[j], &r), MPS_RES_OK);
    in[j] = true;
  }
  for (i = 0; i < N; ++i)
    if (!in[i])
      cr_assert_eq(insert(base[i], limit[i], &r), MPS_RES_OK);
  cr_assert(cbs_check_deep(&cbs));
  for (k = 0; k < 2000; ++k) {
    Size size;
    Word lowest = N;
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    size = 16 * (1 + (Size)((seed >> 33) % 220));
    for (i = 0; i < N; ++i)
      if (limit[i] - base[i] >= size) {
        lowest = i;
        break;
      }
    if (lowest == N) {
      cr_assert(!land_find_first(&r, &old, land, size, LAND_FIND_DELETE_NONE));
      continue;
    }
    cr_assert(land_find_first(&r, &old, land, size, LAND_FIND_DELETE_LOW));
    cr_assert_eq(range_base(&old), at(base[lowest]));
    cr_assert_eq(range_limit(&old), at(limit[lowest]));
    cr_assert_eq(range_base(&r), at(base[lowest]));
    cr_assert_eq(range_size(&r), size);
    base[lowest] += size;
    if (base[lowest] == limit[lowest]) {   /* gone from the land for good */
      base[lowest] = lowest * 4096;
      limit[lowest] = base[lowest];
    }
    cr_assert(cbs_check_deep(&cbs));
    if (k % 50 == 49) {   /* give some blocks back, joining their rests */
      Word j = (seed >> 40) % N;
      range_s got;
      if (base[j] > j * 4096) {
        cr_assert_eq(insert(j * 4096, base[j], &got), MPS_RES_OK);
        base[j] = j * 4096;
        cr_assert(cbs_check_deep(&cbs));
      }
    }
  }
}

Test(cbs, first_fit_finds_that_shrink_keep_summaries_exact)
{
  first_fit_finds_that_shrink();
}

/* The same where finds and deletions deeper than one level splay. */
Test(cbs, first_fit_finds_that_shrink_keep_summaries_exact_when_they_splay)
{
  cbs_descent_max_set(&cbs, 1);
  first_fit_finds_that_shrink();
}

/* Past the descent's bound, land_overlaps splays to the range's base and
 * then looks at the next block (cbs_land_overlaps); with the bound at one
 * level nearly every test goes that way.  Every range of whole grains
 * over and between the blocks must agree with a model of them. */
Test(cbs, overlaps_agree_with_the_blocks_when_the_descent_is_cut_short)
{
  enum { N = 16, SPAN = N * 64 + 64 };
  bool held[SPAN / 16];
  range_s r;
  Word i, j, a, b;
  cbs_descent_max_set(&cbs, 1);
  for (i = 0; i < SPAN / 16; ++i)
    held[i] = false;
  for (i = 0; i < N; ++i) {
    Word k = (i * 7) % N;   /* scattered, so the tree is not one path */
    cr_assert_eq(insert(k * 64 + 16, k * 64 + 48, &r), MPS_RES_OK);
    held[k * 4 + 1] = held[k * 4 + 2] = true;
  }
  /* Bases in a scrambled order (29 is prime to SPAN / 16), so that the
   * root is rarely already the block a range starts in. */
  for (j = 0; j < SPAN / 16; ++j) {
    a = (j * 29) % (SPAN / 16);
    for (b = a + 1; b <= SPAN / 16 && b <= a + 6; ++b) {
      bool want = false;
      for (i = a; i < b; ++i)
        want = want || held[i];
      range_init(&r, at(a * 16), at(b * 16));
      cr_assert_eq(land_overlaps(land, &r), want, "[%lu, %lu)",
                   (unsigned long)(a * 16), (unsigned long)(b * 16));
    }
  }
  cr_assert(cbs_check_deep(&cbs));
}

typedef struct stop_at_s {
  int visits, stop;
} stop_at_s;

/* Deletes every block it sees and stops at the stop'th. */
static bool delete_until(bool *delete_return, Land l, Range r, void *closure)
{
  stop_at_s *s = closure;
  (void)l;
  (void)r;
  *delete_return = true;
  return ++s->visits < s->stop;
}

Test(cbs, iterate_and_delete_stops_when_the_visitor_says)
{
  stop_at_s s = {0, 3};
  range_s r, old;
  Word b;
  for (b = 0; b < 64 * 8; b += 64)
    cr_assert_eq(insert(b, b + 32, &r), MPS_RES_OK);
  cr_assert_not(land_iterate_and_delete(land, delete_until, &s));
  cr_assert_eq(s.visits, 3);
  /* The third block went too: its deletion was asked with the stop. */
  cr_assert_eq(cbs.count, 5);
  cr_assert_eq(nodes.live, 5);
  cr_assert(land_find_first(&r, &old, land, 16, LAND_FIND_DELETE_NONE));
  cr_assert_eq(range_base(&r), at(3 * 64));
  cr_assert(cbs_check_deep(&cbs));
}

/* Deletions whose block is deeper than the descent's bound splay to it
 * (cbs_land_delete).  With the bound at one level, deletions of a low
 * end, a high end, a middle and a whole block, and of ranges in no
 * block, in blocks spread over the tree, against a model. */
Test(cbs, deletions_past_the_descent_bound_stay_exact)
{
  enum { N = 32, STRIDE = 256, LEN = 128 };
  Word lo[N], hi[N], k;
  Size total = N * LEN;
  range_s r;
  cbs_descent_max_set(&cbs, 1);
  for (k = 0; k < N; ++k) {
    Word j = (k * 11) % N;
    lo[j] = j * STRIDE;
    hi[j] = lo[j] + LEN;
    cr_assert_eq(insert(lo[j], hi[j], &r), MPS_RES_OK);
  }
  for (k = 0; k < N; ++k) {
    Word j = (k * 13) % N;
    Word cut = lo[j] + 16 * (1 + k % 4);
    /* A range in the gap after the block, and one running off it. */
    cr_assert_eq(delete(hi[j], hi[j] + 16, &r), MPS_RES_FAIL);
    cr_assert_eq(delete(hi[j] - 16, hi[j] + 16, &r), MPS_RES_FAIL);
    switch (k % 4) {
    case 0:   /* the low end */
      cr_assert_eq(delete(lo[j], cut, &r), MPS_RES_OK);
      cr_assert_eq(range_limit(&r), at(hi[j]));
      total -= cut - lo[j];
      lo[j] = cut;
      break;
    case 1:   /* the high end */
      cr_assert_eq(delete(cut, hi[j], &r), MPS_RES_OK);
      cr_assert_eq(range_base(&r), at(lo[j]));
      total -= hi[j] - cut;
      hi[j] = cut;
      break;
    case 2:   /* the middle: the low fragment stays, the high is deleted next */
      cr_assert_eq(delete(cut, cut + 16, &r), MPS_RES_OK);
      cr_assert_eq(range_base(&r), at(lo[j]));
      cr_assert_eq(range_limit(&r), at(hi[j]));
      cr_assert_eq(delete(cut + 16, hi[j], &r), MPS_RES_OK);
      cr_assert_eq(range_base(&r), at(cut + 16));
      total -= hi[j] - cut;
      hi[j] = cut;
      break;
    default:  /* the whole block */
      cr_assert_eq(delete(lo[j], hi[j], &r), MPS_RES_OK);
      cr_assert_eq(range_base(&r), at(lo[j]));
      cr_assert_eq(range_limit(&r), at(hi[j]));
      total -= hi[j] - lo[j];
      hi[j] = lo[j];
      break;
    }
    cr_assert_eq(land_size(land), total);
    cr_assert(cbs_check_deep(&cbs), "after deletion %lu", (unsigned long)k);
  }
  cr_assert_eq(cbs.count, N - N / 4);
}

/* An overlapping insertion is refused, in every variety, whether it
 * starts inside a block or runs over one, and changes nothing. */
Test(cbs, overlap_reported_and_land_unchanged)
{
  range_s got;
  cr_assert_eq(insert(256, 320, &got), MPS_RES_OK);
  cr_assert_eq(insert(1024, 1088, &got), MPS_RES_OK);
  reports_install();
  cr_assert_eq(insert(0, 512, &got), MPS_RES_FAIL);      /* covers a block */
  cr_assert_eq(insert(288, 352, &got), MPS_RES_FAIL);    /* starts inside */
  cr_assert_eq(insert(320, 1040, &got), MPS_RES_FAIL);   /* joins, runs over */
  cr_assert_eq(reports_seen(), TEST_REPORTS(3));
  cr_assert_eq(land_size(land), 128);
  cr_assert_eq(cbs.count, 2);
  cr_assert_eq(nodes.live, 2);
  cr_assert(cbs_check_deep(&cbs));
}

/* A join that makes its block the largest raises the summaries of every
 * node above it.  After a splay the joined block may be the root, or at
 * the end of the spine on either side of it (cbs_block_grown).  Each
 * block of trees of several shapes is grown in turn at either end, so
 * that the splay leaves it in each of those places; the joins in
 * joins_in_any_order rarely make the largest block at the end of the
 * root's left spine. */
Test(cbs, a_join_after_a_splay_makes_the_largest_block_findable)
{
  enum { N = 24 };
  static const Word strides[] = {1, 5, 7, 11, 13, 17};
  range_s r, old;
  size_t s;
  Word i, k;
  cbs_descent_max_set(&cbs, 1);
  for (s = 0; s < sizeof strides / sizeof strides[0]; ++s) {
    for (i = 0; i < N; ++i) {
      Word j = (i * strides[s]) % N;
      cr_assert_eq(insert(j * 64, j * 64 + 16, &r), MPS_RES_OK);
    }
    for (k = 0; k < N; ++k) {
      cr_assert_eq(insert(k * 64 + 16, k * 64 + 48, &r), MPS_RES_OK);
      cr_assert_eq(range_base(&r), at(k * 64));
      cr_assert(cbs_check_deep(&cbs), "stride %zu, block %lu", s, (unsigned long)k);
      cr_assert(land_find_first(&r, &old, land, 48, LAND_FIND_DELETE_NONE));
      cr_assert_eq(range_base(&r), at(k * 64));
      cr_assert_eq(delete(k * 64 + 16, k * 64 + 48, &r), MPS_RES_OK);
      if (k == 0)
        continue;
      /* The same grown at its base: a join of the right neighbour. */
      cr_assert_eq(insert(k * 64 - 32, k * 64, &r), MPS_RES_OK);
      cr_assert_eq(range_limit(&r), at(k * 64 + 16));
      cr_assert(cbs_check_deep(&cbs), "stride %zu, block %lu", s, (unsigned long)k);
      cr_assert(land_find_first(&r, &old, land, 48, LAND_FIND_DELETE_NONE));
      cr_assert_eq(range_base(&r), at(k * 64 - 32));
      cr_assert_eq(delete(k * 64 - 32, k * 64, &r), MPS_RES_OK);
    }
    for (i = 0; i < N; ++i)
      cr_assert_eq(delete(i * 64, i * 64 + 16, &r), MPS_RES_OK);
    cr_assert_eq(cbs.count, 0);
  }
}

/* An empty range is a client error, in insert as in delete. */
Test(cbs, empty_range_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  range_s got;
  reports_install_abort();
  (void)insert(64, 64, &got);
}

/* So is a find of no bytes (only find_largest takes a size of zero). */
Test(cbs, find_of_nothing_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  range_s r, old;
  cr_assert_eq(insert(0, 64, &r), MPS_RES_OK);
  reports_install_abort();
  (void)land_find_first(&r, &old, land, 0, LAND_FIND_DELETE_LOW);
}

/* Past the descent's bound an isolated insertion gets its node after the
 * splay (cbs_land_insert); without one it is refused as out of memory,
 * which a failover takes as its cue to use the secondary, and never as
 * an overlap.  Nothing changes, wherever the range falls. */
Test(cbs, insert_without_memory_changes_nothing_when_it_splays)
{
  static const Word spots[] = {128, 384, 832, 2048, 16, 3072};
  range_s got;
  size_t i;
  cbs_descent_max_set(&cbs, 1);
  for (i = 0; i < 6; ++i)
    cr_assert_eq(insert(i * 512 + 192, i * 512 + 256, &got), MPS_RES_OK);
  nodes.fail = true;
  for (i = 0; i < sizeof spots / sizeof spots[0]; ++i) {
    cr_assert_eq(insert(spots[i], spots[i] + 32, &got), MPS_RES_MEMORY, "at %lu",
                 (unsigned long)spots[i]);
    cr_assert_eq(cbs.count, 6);
    cr_assert_eq(land_size(land), 6 * 64);
    cr_assert(cbs_check_deep(&cbs));
  }
  nodes.fail = false;
}

/* A range off the land's alignment (16) is a client error. */
Test(cbs, unaligned_range_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  range_s got;
  reports_install_abort();
  (void)insert(8, 64, &got);
}

/* So is a find of a size off it, which would leave a block unaligned. */
Test(cbs, find_of_unaligned_size_is_caught, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  range_s r, old;
  cr_assert_eq(insert(0, 64, &r), MPS_RES_OK);
  reports_install_abort();
  (void)land_find_first(&r, &old, land, 24, LAND_FIND_DELETE_LOW);
}
