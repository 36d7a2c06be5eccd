/* Fuzz target for splay trees.
 *
 * Input: a sequence of 3-byte records (operation, key, value).  Keys are
 * bytes, so one node per possible key suffices; the model is the set of
 * present keys with their values, which, indexed by key, is already a
 * sorted array.  Each node's client summary is the largest value in its
 * subtree, so find_first/find_last ("first/last node with value >= n")
 * and refresh exercise the summaries.  Every result is compared with the
 * model, and the whole tree (order and every summary) is checked after
 * every step.  Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../src/data/splay.h"

#define FUZZ_SPLAY_KEYS 256

typedef struct fuzz_item_s {
  splay_node_s node;
  unsigned key;
  unsigned value;
  unsigned max_value;
} fuzz_item_s;

#define FUZZ_ITEM(n) PARENT(fuzz_item_s, node, (n))

static SplayCompare fuzz_compare(SplayNode node, const void *key)
{
  unsigned k = *(const unsigned *)key, nk = FUZZ_ITEM(node)->key;
  return k < nk ? SPLAY_LESS : k > nk ? SPLAY_GREATER : SPLAY_EQUAL;
}

static const void *fuzz_key(SplayNode node)
{
  return &FUZZ_ITEM(node)->key;
}

static unsigned fuzz_fresh_max(SplayNode node)
{
  unsigned m = FUZZ_ITEM(node)->value;
  if (node->left != NULL && FUZZ_ITEM(node->left)->max_value > m)
    m = FUZZ_ITEM(node->left)->max_value;
  if (node->right != NULL && FUZZ_ITEM(node->right)->max_value > m)
    m = FUZZ_ITEM(node->right)->max_value;
  return m;
}

static void fuzz_update(SplayTree tree, SplayNode node)
{
  (void)tree;
  FUZZ_ITEM(node)->max_value = fuzz_fresh_max(node);
}

static bool fuzz_summary_ok(SplayTree tree, SplayNode node)
{
  (void)tree;
  return FUZZ_ITEM(node)->max_value == fuzz_fresh_max(node);
}

static bool fuzz_test_node(SplayTree tree, SplayNode node, void *closure)
{
  (void)tree;
  return FUZZ_ITEM(node)->value >= *(unsigned *)closure;
}

static bool fuzz_test_tree(SplayTree tree, SplayNode node, void *closure)
{
  (void)tree;
  return FUZZ_ITEM(node)->max_value >= *(unsigned *)closure;
}

typedef struct fuzz_walk_s {
  const bool *present;
  unsigned expect;    /* next key the walk should visit */
  bool ok;
} fuzz_walk_s;

static unsigned fuzz_model_next(const bool *present, unsigned from)
{
  while (from < FUZZ_SPLAY_KEYS && !present[from])
    ++from;
  return from;
}

static bool fuzz_visit(SplayTree tree, SplayNode node, void *closure)
{
  fuzz_walk_s *walk = closure;
  (void)tree;
  walk->expect = fuzz_model_next(walk->present, walk->expect);
  if (FUZZ_ITEM(node)->key != walk->expect)
    walk->ok = false;
  ++walk->expect;
  return true;
}

#define FUZZ_REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

static SplayNode fuzz_node_or_null(fuzz_item_s *items, unsigned k)
{
  return k < FUZZ_SPLAY_KEYS ? &items[k].node : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static fuzz_item_s items[FUZZ_SPLAY_KEYS];
  static bool present[FUZZ_SPLAY_KEYS];
  splay_tree_s tree_s;
  SplayTree tree = &tree_s;
  fuzz_item_s dup;

  for (unsigned k = 0; k < FUZZ_SPLAY_KEYS; ++k) {
    splay_node_init(&items[k].node);
    items[k].key = k;
    items[k].value = 0;
    present[k] = false;
  }
  splay_tree_init(tree, fuzz_compare, fuzz_key, fuzz_update);
  splay_tree_set_summary_check(tree, fuzz_summary_ok);

  for (size_t i = 0; i + 3 <= size; i += 3) {
    unsigned op = data[i] % 10, k = data[i + 1], v = data[i + 2];
    SplayNode node, left, right;
    bool found;

    switch (op) {
    case 0: /* insert */
      if (present[k]) {
        splay_node_init(&dup.node);
        dup.key = k;
        dup.value = v;
        FUZZ_REQUIRE(!splay_tree_insert(tree, &dup.node));
      } else {
        items[k].value = v;
        FUZZ_REQUIRE(splay_tree_insert(tree, &items[k].node));
        present[k] = true;
      }
      break;
    case 1: /* delete */
      if (present[k]) {
        splay_tree_delete(tree, &items[k].node);
        FUZZ_REQUIRE(items[k].node.left == NULL &&
                     items[k].node.right == NULL);
        present[k] = false;
      }
      break;
    case 2: /* find */
      found = splay_tree_find(tree, &node, &k);
      FUZZ_REQUIRE(found == present[k]);
      FUZZ_REQUIRE(!found || node == &items[k].node);
      break;
    case 3: /* neighbours */
      found = splay_tree_neighbours(tree, &left, &right, &k);
      FUZZ_REQUIRE(found == !present[k]);
      if (found) {
        unsigned l = k, r = fuzz_model_next(present, k + 1);
        while (l > 0 && !present[l - 1])
          --l;
        FUZZ_REQUIRE(left == (l > 0 ? &items[l - 1].node : NULL));
        FUZZ_REQUIRE(right == fuzz_node_or_null(items, r));
      }
      break;
    case 4: /* next */
      node = splay_tree_next(tree, &k);
      FUZZ_REQUIRE(node == fuzz_node_or_null(items,
                                             fuzz_model_next(present, k + 1)));
      break;
    case 5: /* find_first */
    case 6: { /* find_last */
      unsigned want = FUZZ_SPLAY_KEYS;
      for (unsigned j = 0; j < FUZZ_SPLAY_KEYS; ++j)
        if (present[j] && items[j].value >= v &&
            (op == 6 || want == FUZZ_SPLAY_KEYS))
          want = j;
      if (op == 5)
        found = splay_tree_find_first(tree, &node, fuzz_test_node,
                                      fuzz_test_tree, &v);
      else
        found = splay_tree_find_last(tree, &node, fuzz_test_node,
                                     fuzz_test_tree, &v);
      FUZZ_REQUIRE(found == (want < FUZZ_SPLAY_KEYS));
      FUZZ_REQUIRE(!found || node == &items[want].node);
      FUZZ_REQUIRE(!found || splay_tree_root(tree) == node);
      break;
    }
    case 7: /* refresh after changing a value */
      if (present[k]) {
        items[k].value = v;
        splay_node_refresh(tree, &items[k].node);
      }
      break;
    case 8: /* first */
      node = splay_tree_first(tree);
      FUZZ_REQUIRE(node == fuzz_node_or_null(items,
                                             fuzz_model_next(present, 0)));
      break;
    default: { /* traverse, stopping never; then iterate with deletion */
      fuzz_walk_s walk = {present, 0, true};
      FUZZ_REQUIRE(splay_tree_traverse(tree, fuzz_visit, &walk));
      FUZZ_REQUIRE(walk.ok);
      FUZZ_REQUIRE(fuzz_model_next(present, walk.expect) == FUZZ_SPLAY_KEYS);
      if (v % 4 == 0) {
        /* Iterate, deleting nodes whose key is a multiple of k + 2. */
        unsigned key = 0;
        for (node = splay_tree_first(tree); node != NULL;
             node = splay_tree_next(tree, &key)) {
          key = FUZZ_ITEM(node)->key;
          FUZZ_REQUIRE(present[key]);
          if (key % (k + 2) == 0) {
            splay_tree_delete(tree, node);
            present[key] = false;
          }
        }
      }
      break;
    }
    }
    FUZZ_REQUIRE(splay_tree_check(tree));
    FUZZ_REQUIRE(splay_tree_check_deep(tree));
    {
      bool any = false;
      for (unsigned j = 0; j < FUZZ_SPLAY_KEYS && !any; ++j)
        any = present[j];
      FUZZ_REQUIRE(splay_tree_is_empty(tree) == !any);
      if (any) {
        unsigned best = 0;
        for (unsigned j = 0; j < FUZZ_SPLAY_KEYS; ++j)
          if (present[j] && items[j].value > best)
            best = items[j].value;
        FUZZ_REQUIRE(FUZZ_ITEM(splay_tree_root(tree))->max_value == best);
      }
    }
  }
  splay_tree_finish(tree);
  return 0;
}
