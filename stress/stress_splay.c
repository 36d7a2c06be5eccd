/* Stress harness for splay trees.
 *
 * Several threads share one tree under a spinlock.  Each thread owns a
 * range of keys: it inserts, deletes and refreshes only its own nodes, so
 * it knows exactly which of its keys are present, while it also searches
 * the whole tree (finds in other ranges, neighbours, first-fit and
 * last-fit on the summaries).  Every thread also runs a private tree
 * without the lock, checked against a private model.  Deep checks
 * (order and every summary) run periodically; at the end the shared
 * tree must hold exactly the nodes the threads say are present.
 *
 * The splay tree is not thread-safe (every search restructures it), so
 * the lock is held for every call on the shared tree, including lookups.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/data/splay.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define STRESS_THREADS 4
#define STRESS_RANGE 256         /* keys per thread */
#define STRESS_OPS 60000         /* operations per thread */
#define STRESS_DEEP_EVERY 1024   /* deep check period, in operations */

typedef struct stress_item_s {
  splay_node_s node;
  unsigned long key;
  unsigned long size;
  unsigned long max_size;
} stress_item_s;

#define STRESS_ITEM(n) PARENT(stress_item_s, node, (n))

static SplayCompare stress_compare(SplayNode node, const void *key)
{
  unsigned long k = *(const unsigned long *)key;
  unsigned long nk = STRESS_ITEM(node)->key;
  return k < nk ? SPLAY_LESS : k > nk ? SPLAY_GREATER : SPLAY_EQUAL;
}

static const void *stress_key(SplayNode node)
{
  return &STRESS_ITEM(node)->key;
}

static unsigned long stress_fresh_max(SplayNode node)
{
  unsigned long m = STRESS_ITEM(node)->size;
  if (node->left != NULL && STRESS_ITEM(node->left)->max_size > m)
    m = STRESS_ITEM(node->left)->max_size;
  if (node->right != NULL && STRESS_ITEM(node->right)->max_size > m)
    m = STRESS_ITEM(node->right)->max_size;
  return m;
}

static void stress_update(SplayTree tree, SplayNode node)
{
  (void)tree;
  STRESS_ITEM(node)->max_size = stress_fresh_max(node);
}

static bool stress_summary_ok(SplayTree tree, SplayNode node)
{
  (void)tree;
  return STRESS_ITEM(node)->max_size == stress_fresh_max(node);
}

static bool stress_fits(SplayTree tree, SplayNode node, void *closure)
{
  (void)tree;
  return STRESS_ITEM(node)->size >= *(unsigned long *)closure;
}

static bool stress_tree_fits(SplayTree tree, SplayNode node, void *closure)
{
  (void)tree;
  return STRESS_ITEM(node)->max_size >= *(unsigned long *)closure;
}

static void stress_tree_init(SplayTree tree)
{
  splay_tree_init(tree, stress_compare, stress_key, stress_update);
  splay_tree_set_summary_check(tree, stress_summary_ok);
}

/* The spinlock guarding the shared tree.  Acquire on taking it and
 * release on dropping it, so that every change one thread makes to the
 * tree (and to its nodes' sizes) is visible to the next holder. */
static testthr_spin_s stress_lock = TESTTHR_SPIN_INIT;
static splay_tree_s stress_shared;

typedef struct stress_thread_s {
  unsigned index;
  testthr_s thread;
  uint64_t seed;
  stress_item_s shared_items[STRESS_RANGE];  /* keys in my range */
  bool shared_present[STRESS_RANGE];
  stress_item_s private_items[STRESS_RANGE];
  bool private_present[STRESS_RANGE];
  unsigned long ops, hits, fits;
} stress_thread_s;

static stress_thread_s stress_threads[STRESS_THREADS];

/* One random operation on a tree of my items; `present` is my model of
 * which are in it.  `mine_only` is false for the shared tree, whose
 * searches can meet other threads' nodes. */
static void stress_step(stress_thread_s *me, testlib_rng_s *rng,
                        SplayTree tree, stress_item_s *items,
                        bool *present, bool mine_only)
{
  unsigned long base = (unsigned long)me->index * STRESS_RANGE;
  unsigned i = (unsigned)testlib_rng_below(rng, STRESS_RANGE);
  SplayNode node, left, right;
  unsigned long key, need;

  switch (testlib_rng_below(rng, 7)) {
  case 0:
  case 1: /* insert, or delete if present */
    if (present[i]) {
      splay_tree_delete(tree, &items[i].node);
      present[i] = false;
    } else {
      items[i].size = testlib_rng_below(rng, 100000);
      TESTLIB_REQUIRE(splay_tree_insert(tree, &items[i].node));
      present[i] = true;
    }
    break;
  case 2: /* find one of mine */
    TESTLIB_REQUIRE(splay_tree_find(tree, &node, &items[i].key) ==
                    present[i]);
    TESTLIB_REQUIRE(!present[i] || node == &items[i].node);
    break;
  case 3: /* find anywhere: a hit must carry the key asked for */
    key = testlib_rng_below(rng, STRESS_THREADS * STRESS_RANGE);
    if (splay_tree_find(tree, &node, &key)) {
      TESTLIB_REQUIRE(STRESS_ITEM(node)->key == key);
      TESTLIB_REQUIRE(!mine_only || present[key - base]);
      ++me->hits;
    }
    break;
  case 4: /* neighbours of a key in my range that is absent */
    if (!present[i]) {
      TESTLIB_REQUIRE(splay_tree_neighbours(tree, &left, &right,
                                            &items[i].key));
      TESTLIB_REQUIRE(left == NULL || STRESS_ITEM(left)->key < items[i].key);
      TESTLIB_REQUIRE(right == NULL ||
                      STRESS_ITEM(right)->key > items[i].key);
      /* My own nodes between them would be nearer: there are none. */
      for (unsigned j = 0; j < STRESS_RANGE; ++j)
        if (present[j])
          TESTLIB_REQUIRE(j < i ? left != NULL &&
                                  STRESS_ITEM(left)->key >= items[j].key
                                : right != NULL &&
                                  STRESS_ITEM(right)->key <= items[j].key);
    }
    break;
  case 5: /* first fit or last fit */
    need = testlib_rng_below(rng, 110000);
    if (testlib_rng_below(rng, 2) == 0
        ? splay_tree_find_first(tree, &node, stress_fits, stress_tree_fits,
                                &need)
        : splay_tree_find_last(tree, &node, stress_fits, stress_tree_fits,
                               &need)) {
      TESTLIB_REQUIRE(STRESS_ITEM(node)->size >= need);
      ++me->fits;
    } else {
      for (unsigned j = 0; j < STRESS_RANGE; ++j)
        TESTLIB_REQUIRE(!present[j] || items[j].size < need);
    }
    break;
  default: /* change the size of one of mine */
    if (present[i]) {
      items[i].size = testlib_rng_below(rng, 100000);
      splay_node_refresh(tree, &items[i].node);
    }
    break;
  }
  ++me->ops;
}

static void *stress_thread_main(void *arg)
{
  stress_thread_s *me = arg;
  splay_tree_s private_s;
  SplayTree private_tree = &private_s;
  testlib_rng_s rng;
  unsigned long base = (unsigned long)me->index * STRESS_RANGE;

  testlib_rng_init(&rng, me->seed);
  stress_tree_init(private_tree);
  for (unsigned i = 0; i < STRESS_RANGE; ++i) {
    splay_node_init(&me->shared_items[i].node);
    me->shared_items[i].key = base + i;
    me->shared_present[i] = false;
    /* The private tree has its own items with the same keys. */
    splay_node_init(&me->private_items[i].node);
    me->private_items[i].key = base + i;
    me->private_present[i] = false;
  }

  for (unsigned n = 0; n < STRESS_OPS; ++n) {
    testthr_spin_lock(&stress_lock);
    stress_step(me, &rng, &stress_shared, me->shared_items,
                me->shared_present, false);
    if (n % STRESS_DEEP_EVERY == 0)
      TESTLIB_REQUIRE(splay_tree_check_deep(&stress_shared));
    testthr_spin_unlock(&stress_lock);

    stress_step(me, &rng, private_tree, me->private_items,
                me->private_present, true);
    if (n % STRESS_DEEP_EVERY == 0)
      TESTLIB_REQUIRE(splay_tree_check_deep(private_tree));
  }

  /* Private tree: iterate in order, deleting everything, against the
   * model. */
  {
    unsigned long key = 0;
    unsigned expect = 0;
    for (SplayNode node = splay_tree_first(private_tree); node != NULL;
         node = splay_tree_next(private_tree, &key)) {
      while (!me->private_present[expect])
        ++expect;
      TESTLIB_REQUIRE(node == &me->private_items[expect].node);
      key = STRESS_ITEM(node)->key;
      splay_tree_delete(private_tree, node);
      me->private_present[expect] = false;
    }
    for (unsigned i = 0; i < STRESS_RANGE; ++i)
      TESTLIB_REQUIRE(!me->private_present[i]);
    TESTLIB_REQUIRE(splay_tree_is_empty(private_tree));
  }
  splay_tree_finish(private_tree);
  return NULL;
}

typedef struct stress_count_s {
  unsigned long nodes;
  unsigned long last;
  bool ordered;
} stress_count_s;

static bool stress_count_visit(SplayTree tree, SplayNode node, void *closure)
{
  stress_count_s *count = closure;
  (void)tree;
  if (count->nodes > 0 && STRESS_ITEM(node)->key <= count->last)
    count->ordered = false;
  count->last = STRESS_ITEM(node)->key;
  ++count->nodes;
  return true;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_splay");
  unsigned long present = 0, ops = 0, hits = 0, fits = 0;
  stress_count_s count = {0, 0, true};

  stress_tree_init(&stress_shared);
  for (unsigned t = 0; t < STRESS_THREADS; ++t) {
    stress_threads[t].index = t;
    stress_threads[t].seed = seed + 0x9E3779B97F4A7C15u * (t + 1);
  }
  for (unsigned t = 0; t < STRESS_THREADS; ++t)
    testthr_create(&stress_threads[t].thread, stress_thread_main,
                   &stress_threads[t]);
  for (unsigned t = 0; t < STRESS_THREADS; ++t)
    (void)testthr_join(&stress_threads[t].thread);

  /* Every thread has finished (join orders its writes before these
   * reads): the shared tree must hold exactly the present nodes. */
  TESTLIB_REQUIRE(splay_tree_check_deep(&stress_shared));
  for (unsigned t = 0; t < STRESS_THREADS; ++t) {
    stress_thread_s *th = &stress_threads[t];
    for (unsigned i = 0; i < STRESS_RANGE; ++i) {
      SplayNode node;
      bool found = splay_tree_find(&stress_shared, &node,
                                   &th->shared_items[i].key);
      TESTLIB_REQUIRE(found == th->shared_present[i]);
      TESTLIB_REQUIRE(!found || node == &th->shared_items[i].node);
      present += th->shared_present[i];
    }
    ops += th->ops;
    hits += th->hits;
    fits += th->fits;
  }
  TESTLIB_REQUIRE(splay_tree_traverse(&stress_shared, stress_count_visit,
                                      &count));
  TESTLIB_REQUIRE(count.ordered);
  TESTLIB_REQUIRE(count.nodes == present);
  splay_tree_finish(&stress_shared);

  printf("stress_splay: %u threads, %lu operations, %lu nodes left, "
         "%lu cross-range hits, %lu fits: ok\n",
         (unsigned)STRESS_THREADS, ops, present, hits, fits);
  return 0;
}
