/* Unit tests for splay trees: every operation, summaries with
 * find_first/find_last/refresh, iteration with deletion, and misuse. */
#include <criterion/criterion.h>
#include <signal.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/data/splay.h"
#include "support/checks.h"
#include "support/reports.h"

/* A client node: key, a size, and the largest size in its subtree. */
typedef struct item_s {
  splay_node_s node;
  unsigned long key;
  unsigned long size;
  unsigned long max_size;
} item_s;

#define ITEM(n) PARENT(item_s, node, (n))

static unsigned long test_updates;

static SplayCompare item_compare(SplayNode node, const void *key)
{
  unsigned long k = *(const unsigned long *)key;
  unsigned long nk = ITEM(node)->key;
  return k < nk ? SPLAY_LESS : k > nk ? SPLAY_GREATER : SPLAY_EQUAL;
}

static const void *item_key(SplayNode node)
{
  return &ITEM(node)->key;
}

static unsigned long item_fresh_max(SplayNode node)
{
  unsigned long m = ITEM(node)->size;
  if (node->left != NULL && ITEM(node->left)->max_size > m)
    m = ITEM(node->left)->max_size;
  if (node->right != NULL && ITEM(node->right)->max_size > m)
    m = ITEM(node->right)->max_size;
  return m;
}

static void item_update(SplayTree tree, SplayNode node)
{
  (void)tree;
  ++test_updates;
  ITEM(node)->max_size = item_fresh_max(node);
}

static bool item_summary_ok(SplayTree tree, SplayNode node)
{
  (void)tree;
  return ITEM(node)->max_size == item_fresh_max(node);
}

static bool item_fits(SplayTree tree, SplayNode node, void *closure)
{
  (void)tree;
  return ITEM(node)->size >= *(unsigned long *)closure;
}

static bool item_tree_fits(SplayTree tree, SplayNode node, void *closure)
{
  (void)tree;
  return ITEM(node)->max_size >= *(unsigned long *)closure;
}

#define N 200

static item_s items[N];
static splay_tree_s tree_s;
static SplayTree tree = &tree_s;

/* Items i have key 10*i + 10 and a pseudo-random size. */
static void setup_items(void)
{
  unsigned long x = 12345;
  for (size_t i = 0; i < N; ++i) {
    splay_node_init(&items[i].node);
    items[i].key = 10 * i + 10;
    x = x * 1103515245u + 12345u;
    items[i].size = (x >> 8) % 1000;
    items[i].max_size = 0;
  }
  splay_tree_init(tree, item_compare, item_key, item_update);
  splay_tree_set_summary_check(tree, item_summary_ok);
}

/* Insert all items in a scrambled order. */
static void insert_all(void)
{
  for (size_t j = 0; j < N; ++j) {
    size_t i = (j * 73) % N;   /* 73 is prime to N: a permutation */
    cr_assert(splay_tree_insert(tree, &items[i].node));
  }
  cr_assert(splay_tree_check_deep(tree));
}

static bool item_in_tree(size_t i)
{
  SplayNode found;
  return splay_tree_find(tree, &found, &items[i].key) &&
         found == &items[i].node;
}

Test(splay, empty_tree)
{
  SplayNode a = &items[0].node, b = &items[0].node, found;
  unsigned long key = 5, need = 0;
  setup_items();
  cr_assert(splay_tree_check(tree));
  cr_assert(splay_tree_check_deep(tree));
  cr_assert(splay_tree_is_empty(tree));
  cr_assert_null(splay_tree_root(tree));
  cr_assert_null(splay_tree_first(tree));
  cr_assert_null(splay_tree_next(tree, &key));
  cr_assert_not(splay_tree_find(tree, &found, &key));
  cr_assert(splay_tree_neighbours(tree, &a, &b, &key));
  cr_assert_null(a);
  cr_assert_null(b);
  cr_assert_not(splay_tree_find_first(tree, &found, item_fits,
                                      item_tree_fits, &need));
  cr_assert_not(splay_tree_find_last(tree, &found, item_fits,
                                     item_tree_fits, &need));
  splay_tree_finish(tree);
}

Test(splay, insert_find_and_duplicates)
{
  SplayNode found;
  item_s dup;
  setup_items();
  for (size_t j = 0; j < N; ++j) {
    size_t i = (j * 73) % N;
    cr_assert(splay_tree_insert(tree, &items[i].node));
    cr_assert_eq(splay_tree_root(tree), &items[i].node);
    cr_assert(splay_tree_check_deep(tree));
  }
  cr_assert_not(splay_tree_is_empty(tree));
  splay_node_init(&dup.node);
  dup.key = items[17].key;
  dup.size = 1;
  cr_assert_not(splay_tree_insert(tree, &dup.node));
  cr_assert_null(dup.node.left);
  cr_assert_null(dup.node.right);
  cr_assert(splay_tree_check_deep(tree));
  for (size_t i = 0; i < N; ++i) {
    unsigned long missing = items[i].key + 5;
    cr_assert(item_in_tree(i));
    cr_assert_eq(splay_tree_root(tree), &items[i].node);
    cr_assert_not(splay_tree_find(tree, &found, &missing));
  }
  {
    unsigned long low = 0, high = 100000;
    cr_assert_not(splay_tree_find(tree, &found, &low));
    cr_assert_not(splay_tree_find(tree, &found, &high));
  }
  cr_assert(splay_tree_check_deep(tree));
  splay_tree_finish(tree);
}

Test(splay, delete_and_reinsert)
{
  setup_items();
  insert_all();
  for (size_t j = 0; j < N; j += 3) {
    size_t i = (j * 37) % N;
    splay_tree_delete(tree, &items[i].node);
    cr_assert_null(items[i].node.left);
    cr_assert_null(items[i].node.right);
    cr_assert(splay_tree_check_deep(tree));
  }
  for (size_t i = 0; i < N; ++i) {
    bool deleted = false;
    for (size_t j = 0; j < N; j += 3)
      if ((j * 37) % N == i)
        deleted = true;
    cr_assert_eq(item_in_tree(i), !deleted, "item %zu", i);
  }
  for (size_t j = 0; j < N; j += 3)
    cr_assert(splay_tree_insert(tree, &items[(j * 37) % N].node));
  for (size_t i = 0; i < N; ++i)
    cr_assert(item_in_tree(i));
  /* Delete everything, including the root each time and leaves. */
  for (size_t i = 0; i < N; ++i)
    splay_tree_delete(tree, &items[(i * 11) % N].node);
  cr_assert(splay_tree_is_empty(tree));
  cr_assert(splay_tree_check_deep(tree));
  splay_tree_finish(tree);
}

Test(splay, neighbours_everywhere)
{
  SplayNode a, b;
  unsigned long key;
  setup_items();
  insert_all();
  key = 5;      /* before the first */
  cr_assert(splay_tree_neighbours(tree, &a, &b, &key));
  cr_assert_null(a);
  cr_assert_eq(b, &items[0].node);
  key = 10 * N + 5;   /* after the last */
  cr_assert(splay_tree_neighbours(tree, &a, &b, &key));
  cr_assert_eq(a, &items[N - 1].node);
  cr_assert_null(b);
  for (size_t i = 0; i + 1 < N; ++i) {
    key = items[i].key + 1 + i % 9;
    cr_assert(splay_tree_neighbours(tree, &a, &b, &key));
    cr_assert_eq(a, &items[i].node, "i %zu", i);
    cr_assert_eq(b, &items[i + 1].node, "i %zu", i);
    cr_assert(splay_tree_check_deep(tree));
    cr_assert_not(splay_tree_neighbours(tree, &a, &b, &items[i].key));
  }
  splay_tree_finish(tree);
}

/* Gaps asked for in a scrambled order, so that a search ends as often at
 * the gap's left neighbour (the right one then comes from the splay's
 * right tree) as at its right. */
Test(splay, neighbours_in_any_order)
{
  SplayNode a, b;
  unsigned long key;
  setup_items();
  insert_all();
  for (size_t j = 0; j + 1 < N; ++j) {
    size_t i = (j * 61) % (N - 1);   /* 61 is prime to N - 1 */
    key = items[i].key + 1 + j % 9;
    cr_assert(splay_tree_neighbours(tree, &a, &b, &key));
    cr_assert_eq(a, &items[i].node, "i %zu", i);
    cr_assert_eq(b, &items[i + 1].node, "i %zu", i);
    cr_assert(splay_tree_check_deep(tree));
  }
  splay_tree_finish(tree);
}

Test(splay, neighbours_single_node)
{
  SplayNode a, b;
  unsigned long key;
  setup_items();
  cr_assert(splay_tree_insert(tree, &items[3].node));
  key = 1;
  cr_assert(splay_tree_neighbours(tree, &a, &b, &key));
  cr_assert_null(a);
  cr_assert_eq(b, &items[3].node);
  key = 1000;
  cr_assert(splay_tree_neighbours(tree, &a, &b, &key));
  cr_assert_eq(a, &items[3].node);
  cr_assert_null(b);
  splay_tree_finish(tree);
}

Test(splay, iterate_in_order)
{
  size_t count = 0;
  unsigned long key = 0;
  setup_items();
  insert_all();
  for (SplayNode n = splay_tree_first(tree); n != NULL;
       n = splay_tree_next(tree, &key)) {
    cr_assert_eq(n, &items[count].node);
    key = ITEM(n)->key;
    ++count;
  }
  cr_assert_eq(count, N);
  /* next from a key that is not in the tree */
  key = items[5].key + 3;
  cr_assert_eq(splay_tree_next(tree, &key), &items[6].node);
  key = 0;
  cr_assert_eq(splay_tree_next(tree, &key), &items[0].node);
  cr_assert(splay_tree_check_deep(tree));
  splay_tree_finish(tree);
}

Test(splay, delete_during_iteration)
{
  size_t count = 0;
  unsigned long key;
  setup_items();
  insert_all();
  /* Delete every other node as it is visited. */
  for (SplayNode n = splay_tree_first(tree); n != NULL;
       n = splay_tree_next(tree, &key)) {
    cr_assert_eq(n, &items[count].node);
    key = ITEM(n)->key;
    if (count % 2 == 0)
      splay_tree_delete(tree, n);
    cr_assert(splay_tree_check_deep(tree));
    ++count;
  }
  cr_assert_eq(count, N);
  for (size_t i = 0; i < N; ++i)
    cr_assert_eq(item_in_tree(i), i % 2 == 1);
  /* Now delete every node as it is visited: the tree ends empty. */
  count = 0;
  for (SplayNode n = splay_tree_first(tree); n != NULL;
       n = splay_tree_next(tree, &key)) {
    key = ITEM(n)->key;
    splay_tree_delete(tree, n);
    ++count;
  }
  cr_assert_eq(count, N / 2);
  cr_assert(splay_tree_is_empty(tree));
  splay_tree_finish(tree);
}

typedef struct visit_s {
  size_t count;
  size_t stop_at;
  unsigned long last;
  bool ordered;
} visit_s;

static bool test_visit(SplayTree t, SplayNode node, void *closure)
{
  visit_s *v = closure;
  cr_assert_eq(t, tree);
  if (v->count > 0 && ITEM(node)->key <= v->last)
    v->ordered = false;
  v->last = ITEM(node)->key;
  ++v->count;
  return v->count != v->stop_at;
}

Test(splay, traverse_visits_in_order_and_restores)
{
  visit_s v = {0, 0, 0, true};
  setup_items();
  cr_assert(splay_tree_traverse(tree, test_visit, &v));
  cr_assert_eq(v.count, 0);
  insert_all();
  (void)splay_tree_first(tree);   /* a degenerate shape, then a random */
  cr_assert(splay_tree_traverse(tree, test_visit, &v));
  cr_assert_eq(v.count, N);
  cr_assert(v.ordered);
  cr_assert(splay_tree_check_deep(tree));
  v = (visit_s){0, 57, 0, true};
  cr_assert_not(splay_tree_traverse(tree, test_visit, &v));
  cr_assert_eq(v.count, 57);
  cr_assert_eq(v.last, items[56].key);
  cr_assert(splay_tree_check_deep(tree));
  for (size_t i = 0; i < N; ++i)
    cr_assert(item_in_tree(i));
  splay_tree_finish(tree);
}

/* A traversal the visitor stops, wherever it stops, leaves every link
 * of the tree as it found it: no Morris thread is left behind (one would
 * hide a left subtree from later walks). */
Test(splay, traverse_stopped_anywhere_leaves_the_links_alone)
{
  static SplayNode left[N], right[N];
  unsigned long middle;
  SplayNode found;
  setup_items();
  insert_all();
  middle = items[N / 2].key;
  cr_assert(splay_tree_find(tree, &found, &middle));   /* subtrees both sides */
  for (size_t i = 0; i < N; ++i) {
    left[i] = items[i].node.left;
    right[i] = items[i].node.right;
  }
  for (size_t stop = 1; stop < N; stop += 7) {
    visit_s v = {0, stop, 0, true};
    cr_assert_not(splay_tree_traverse(tree, test_visit, &v));
    cr_assert_eq(v.count, stop);
    for (size_t i = 0; i < N; ++i) {
      cr_assert_eq(items[i].node.left, left[i], "stop %zu, item %zu", stop, i);
      cr_assert_eq(items[i].node.right, right[i], "stop %zu, item %zu", stop, i);
    }
  }
  splay_tree_finish(tree);
}

static size_t linear_first(unsigned long need)
{
  for (size_t i = 0; i < N; ++i)
    if (items[i].size >= need)
      return i;
  return N;
}

static size_t linear_last(unsigned long need)
{
  for (size_t i = N; i > 0; --i)
    if (items[i - 1].size >= need)
      return i - 1;
  return N;
}

Test(splay, find_first_and_last_with_summaries)
{
  SplayNode found;
  setup_items();
  insert_all();
  for (unsigned long need = 0; need <= 1001; need += 7) {
    size_t first = linear_first(need), last = linear_last(need);
    bool ok = splay_tree_find_first(tree, &found, item_fits,
                                    item_tree_fits, &need);
    cr_assert_eq(ok, first < N, "need %lu", need);
    if (ok) {
      cr_assert_eq(found, &items[first].node, "need %lu", need);
      cr_assert_eq(splay_tree_root(tree), found);
    }
    cr_assert(splay_tree_check_deep(tree));
    ok = splay_tree_find_last(tree, &found, item_fits, item_tree_fits,
                              &need);
    cr_assert_eq(ok, last < N, "need %lu", need);
    if (ok)
      cr_assert_eq(found, &items[last].node, "need %lu", need);
    cr_assert(splay_tree_check_deep(tree));
  }
  splay_tree_finish(tree);
}

Test(splay, summaries_follow_the_tree)
{
  unsigned long best = 0;
  setup_items();
  insert_all();
  for (size_t i = 0; i < N; ++i)
    if (items[i].size > best)
      best = items[i].size;
  cr_assert_gt(test_updates, 0);
  cr_assert_eq(ITEM(splay_tree_root(tree))->max_size, best);
  /* After deleting the largest, the root summary drops. */
  for (size_t i = 0; i < N; ++i)
    if (items[i].size == best)
      splay_tree_delete(tree, &items[i].node);
  cr_assert(splay_tree_check_deep(tree));
  cr_assert_lt(ITEM(splay_tree_root(tree))->max_size, best);
  splay_tree_finish(tree);
}

Test(splay, refresh_after_changing_data)
{
  SplayNode found;
  unsigned long need = 5000;
  setup_items();
  insert_all();
  cr_assert_not(splay_tree_find_first(tree, &found, item_fits,
                                      item_tree_fits, &need));
  /* Grow a deep node (not the root) without telling the tree: the deep
   * check must notice the stale summaries. */
  (void)splay_tree_first(tree);
  items[N - 1].size = 6000;
  cr_assert_not(splay_tree_check_deep(tree));
  splay_node_refresh(tree, &items[N - 1].node);
  cr_assert(splay_tree_check_deep(tree));
  cr_assert(splay_tree_find_first(tree, &found, item_fits, item_tree_fits,
                                  &need));
  cr_assert_eq(found, &items[N - 1].node);
  /* Shrink it again; refresh, and it no longer fits. */
  (void)splay_tree_first(tree);
  items[N - 1].size = 1;
  splay_node_refresh(tree, &items[N - 1].node);
  cr_assert(splay_tree_check_deep(tree));
  cr_assert_not(splay_tree_find_first(tree, &found, item_fits,
                                      item_tree_fits, &need));
  splay_tree_finish(tree);
}

Test(splay, check_deep_detects_disorder)
{
  unsigned long k;
  setup_items();
  insert_all();
  k = items[10].key;
  items[10].key = items[150].key + 1;   /* out of order, still unique */
  cr_assert_not(splay_tree_check_deep(tree));
  items[10].key = k;
  cr_assert(splay_tree_check_deep(tree));
  splay_tree_finish(tree);
  cr_assert_not(splay_tree_check_deep(tree));
}

/* Keys must be strictly increasing: a key equal to the one before it is
 * as wrong as one out of order (two nodes a search cannot tell apart). */
Test(splay, check_deep_detects_a_repeated_key)
{
  unsigned long k;
  setup_items();
  insert_all();
  k = items[11].key;
  items[11].key = items[10].key;
  cr_assert_not(splay_tree_check_deep(tree));
  items[11].key = k;
  cr_assert(splay_tree_check_deep(tree));
  splay_tree_finish(tree);
}

Test(splay, no_update_function)
{
  SplayNode a, b;
  unsigned long key = 25;
  setup_items();
  splay_tree_finish(tree);
  splay_tree_init(tree, item_compare, item_key, NULL);
  test_updates = 0;
  insert_all();
  cr_assert_eq(test_updates, 0);
  cr_assert(splay_tree_neighbours(tree, &a, &b, &key));
  cr_assert_eq(a, &items[1].node);
  cr_assert_eq(b, &items[2].node);
  splay_tree_delete(tree, &items[1].node);
  cr_assert(splay_tree_check_deep(tree));
  splay_tree_finish(tree);
}

Test(splay_misuse, delete_absent_node, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  setup_items();
  insert_all();
  splay_tree_delete(tree, &items[0].node);
  reports_install_abort();
  splay_tree_delete(tree, &items[0].node);
}

Test(splay_misuse, insert_linked_node, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  setup_items();
  insert_all();
  reports_install_abort();
  /* The root has children: it is obviously still in a tree. */
  splay_tree_insert(tree, splay_tree_root(tree));
}

Test(splay_misuse, use_after_finish, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  setup_items();
  splay_tree_finish(tree);
  reports_install_abort();
  (void)splay_tree_is_empty(tree);
}

Test(splay_misuse, init_without_compare, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  reports_install_abort();
  splay_tree_init(tree, NULL, item_key, NULL);
}

Test(splay_misuse, root_order_checked_in_cool)
{
  if (CHECK_LEVEL < 2)
    cr_skip_test("root ordering is checked only in cool");
  setup_items();
  insert_all();
  cr_assert(item_in_tree(100));   /* the root now has both children */
  cr_assert(splay_tree_check(tree));
  /* Put the root's left child's key after the root's. */
  ITEM(splay_tree_root(tree)->left)->key = 100000;
  reports_install();
  (void)splay_tree_check(tree);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
}

/* The same for the root's right child, put before the root. */
Test(splay_misuse, root_right_order_checked_in_cool)
{
  if (CHECK_LEVEL < 2)
    cr_skip_test("root ordering is checked only in cool");
  setup_items();
  insert_all();
  cr_assert(item_in_tree(100));   /* the root now has both children */
  cr_assert(splay_tree_check(tree));
  ITEM(splay_tree_root(tree)->right)->key = 1;
  reports_install();
  (void)splay_tree_check(tree);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
}
