/* splay.c: splay trees with client summaries (see design/splay.txt and
 * splay.h).
 *
 * Splaying is top-down (Sleator and Tarjan's "top-down splay" with the
 * zig-zig rotation).  The search path is cut into a left tree (nodes
 * before the search key), the middle tree still being searched, and a
 * right tree (nodes after it).  Nodes only ever join the side trees along
 * one spine each: the right spine of the left tree and the left spine of
 * the right tree.  Those spines are kept *reversed* while splaying: the
 * link that will finally point down the spine points back up to the node
 * linked before it.  Reassembly then walks each spine from its deepest
 * node up to its top, restoring the real links and calling `update` on
 * each node after its children are final -- bottom-up order with no
 * stack.  Nodes rotated down inside the middle tree are updated at once;
 * the new root is updated last.
 *
 * Whole-tree walks (traverse, check_deep) use Morris threading: a node's
 * in-order predecessor, which always has a NULL right link, temporarily
 * points back to it, so the walk returns without a stack; every thread is
 * removed before the walk ends.
 *
 * Invariants (splay.inv.N, cited by the check functions):
 *   1. tree->sig == SPLAY_TREE_SIG and compare, node_key are non-null.
 *   2. In-order keys are strictly increasing: every key in a node's left
 *      subtree is before its key, every key in its right subtree after.
 *   3. When control is with the client, every node's summary is what
 *      update would compute from the node and its children.
 *   4. A node is not its own child, and no node appears twice.
 */
#include "splay.h"
#include "../base/check.h"

/* What a splay is looking for.  The modes that do not compare keys steer
 * the search to an end of the tree or to a node passing a client test. */
typedef enum splay_mode_e {
  SPLAY_MODE_KEY,        /* the node with this key */
  SPLAY_MODE_AFTER,      /* nothing equal: neighbours of the key */
  SPLAY_MODE_MIN,        /* the first node */
  SPLAY_MODE_MAX,        /* the last node */
  SPLAY_MODE_FIRST_FIT,  /* the first node passing test_node */
  SPLAY_MODE_LAST_FIT    /* the last node passing test_node */
} splay_mode_e;

typedef struct splay_search_s {
  splay_mode_e mode;
  const void *key;
  SplayTestNodeFn test_node;
  SplayTestTreeFn test_tree;
  void *closure;
} splay_search_s;

bool splay_node_check(SplayNode node)
{
  CHECKL(node != NULL);
  CHECKL(node->left != node);   /* splay.inv.4 */
  CHECKL(node->right != node);  /* splay.inv.4 */
  CHECKL(node->left == NULL || node->left != node->right); /* splay.inv.4 */
  return true;
}

void splay_node_init(SplayNode node)
{
  AVER(node != NULL);
  node->left = NULL;
  node->right = NULL;
}

bool splay_tree_check(SplayTree tree)
{
  CHECKS(SPLAY_TREE_SIG, tree);      /* splay.inv.1 */
  CHECKL(tree->compare != NULL);     /* splay.inv.1 */
  CHECKL(tree->node_key != NULL);    /* splay.inv.1 */
  if (CHECK_LEVEL >= 2 && tree->root != NULL) {
    SplayNode root = tree->root;
    CHECKD(splay_node, root);
    if (root->left != NULL)          /* splay.inv.2 */
      CHECKL(tree->compare(root, tree->node_key(root->left)) == SPLAY_LESS);
    if (root->right != NULL)         /* splay.inv.2 */
      CHECKL(tree->compare(root, tree->node_key(root->right)) ==
             SPLAY_GREATER);
  }
  return true;
}

void splay_tree_init(SplayTree tree, SplayCompareFn compare,
                     SplayKeyFn node_key, SplayUpdateFn update)
{
  AVER(tree != NULL);
  AVER(compare != NULL);
  AVER(node_key != NULL);
  tree->root = NULL;
  tree->compare = compare;
  tree->node_key = node_key;
  tree->update = update;
  tree->summary_check = NULL;
  tree->sig = SPLAY_TREE_SIG;
  AVERT(splay_tree, tree);
}

void splay_tree_finish(SplayTree tree)
{
  AVERT(splay_tree, tree);
  tree->sig = SIG_INVALID;
  tree->root = NULL;
  tree->compare = NULL;
  tree->node_key = NULL;
  tree->update = NULL;
  tree->summary_check = NULL;
}

void splay_tree_set_summary_check(SplayTree tree,
                                  SplaySummaryCheckFn summary_check)
{
  AVERT(splay_tree, tree);
  tree->summary_check = summary_check;
}

bool splay_tree_is_empty(SplayTree tree)
{
  AVERT(splay_tree, tree);
  return tree->root == NULL;
}

SplayNode splay_tree_root(SplayTree tree)
{
  AVERT(splay_tree, tree);
  return tree->root;
}

static void splay_update(SplayTree tree, SplayNode node)
{
  if (tree->update != NULL)
    tree->update(tree, node);
}

/* Where the target lies relative to `node`.  For the fit modes the
 * answer relies on the subtree summaries below `node`, which are correct
 * because the middle tree is only changed by rotations that update at
 * once; the caller has made sure the target lies in the middle tree. */
static ALWAYS_INLINE SplayCompare splay_search_compare(SplayTree tree,
                                                       const splay_search_s *search,
                                                       SplayNode node)
{
  SplayCompare c;
  switch (search->mode) {
  case SPLAY_MODE_KEY:
    return tree->compare(node, search->key);
  case SPLAY_MODE_AFTER:
    /* Treat an equal node as before the key, so the search ends between
     * the node and its successor. */
    c = tree->compare(node, search->key);
    return c == SPLAY_EQUAL ? SPLAY_GREATER : c;
  case SPLAY_MODE_MIN:
    return SPLAY_LESS;
  case SPLAY_MODE_MAX:
    return SPLAY_GREATER;
  case SPLAY_MODE_FIRST_FIT:
    if (node->left != NULL &&
        search->test_tree(tree, node->left, search->closure))
      return SPLAY_LESS;
    if (search->test_node(tree, node, search->closure))
      return SPLAY_EQUAL;
    return SPLAY_GREATER;
  case SPLAY_MODE_LAST_FIT:
    if (node->right != NULL &&
        search->test_tree(tree, node->right, search->closure))
      return SPLAY_GREATER;
    if (search->test_node(tree, node, search->closure))
      return SPLAY_EQUAL;
    return SPLAY_LESS;
  }
  NOTREACHED;
  return SPLAY_EQUAL;
}

/* Splay the subtree *root_io (non-empty) for `search`; *root_io becomes
 * the new subtree root: the target if found, else a neighbour of it.
 * Returns the target compared with the new root (SPLAY_EQUAL: found).
 * When the result is SPLAY_LESS, *before_return (if non-null) receives
 * the node just before the new root; when SPLAY_GREATER, *after_return
 * receives the node just after it (NULL if none).  Those are the other
 * neighbour of a missing target. */
static ALWAYS_INLINE SplayCompare splay_splay(SplayTree tree, SplayNode *root_io,
                                              const splay_search_s *search,
                                              SplayNode *before_return,
                                              SplayNode *after_return)
{
  SplayNode root = *root_io;
  /* Last node linked into the left tree (its right link points back up
   * the reversed spine) and first node linked into the right tree (its
   * left link likewise). */
  SplayNode left_last = NULL, right_first = NULL;
  SplayNode child, next, before, after;
  SplayCompare c, c2;

  AVER_CRITICAL(root != NULL);

/* Move `root` and its left subtree onto the left tree's spine. */
#define SPLAY_LINK_LEFT()                                           \
  do {                                                              \
    next = root->right;                                             \
    root->right = left_last;                                        \
    left_last = root;                                               \
    root = next;                                                    \
  } while (0)
/* Move `root` and its right subtree onto the right tree's spine. */
#define SPLAY_LINK_RIGHT()                                          \
  do {                                                              \
    next = root->left;                                              \
    root->left = right_first;                                       \
    right_first = root;                                             \
    root = next;                                                    \
  } while (0)

  c = splay_search_compare(tree, search, root);
  while (c != SPLAY_EQUAL) {
    if (c == SPLAY_LESS) {
      child = root->left;
      if (child == NULL)
        break;
      c2 = splay_search_compare(tree, search, child);
      if (c2 == SPLAY_LESS && child->left != NULL) {
        /* zig-zig: rotate right, then link right. */
        root->left = child->right;
        splay_update(tree, root);
        child->right = root;
        root = child;
        SPLAY_LINK_RIGHT();
        c = splay_search_compare(tree, search, root);
      } else if (c2 == SPLAY_GREATER && child->right != NULL) {
        /* zig-zag: link right, then link left. */
        SPLAY_LINK_RIGHT();
        SPLAY_LINK_LEFT();
        c = splay_search_compare(tree, search, root);
      } else {
        /* zig: the child is the target or the search ends below it. */
        SPLAY_LINK_RIGHT();
        c = c2;
      }
    } else {
      child = root->right;
      if (child == NULL)
        break;
      c2 = splay_search_compare(tree, search, child);
      if (c2 == SPLAY_GREATER && child->right != NULL) {
        /* zag-zag: rotate left, then link left. */
        root->right = child->left;
        splay_update(tree, root);
        child->left = root;
        root = child;
        SPLAY_LINK_LEFT();
        c = splay_search_compare(tree, search, root);
      } else if (c2 == SPLAY_LESS && child->left != NULL) {
        /* zag-zig: link left, then link right. */
        SPLAY_LINK_LEFT();
        SPLAY_LINK_RIGHT();
        c = splay_search_compare(tree, search, root);
      } else {
        /* zag */
        SPLAY_LINK_LEFT();
        c = c2;
      }
    }
  }

#undef SPLAY_LINK_LEFT
#undef SPLAY_LINK_RIGHT

  /* The deepest spine nodes are the nodes just before and after the
   * middle tree.  On the side where the search fell off the root (the
   * root's subtree there is empty) that makes them the root's neighbour,
   * which is all the callers ask for. */
  before = left_last;
  after = right_first;

  /* Reassemble: unreverse each spine bottom-up, hanging the root's
   * subtrees below its deepest node, updating each node once its
   * children are final. */
  child = root->left;
  while (left_last != NULL) {
    next = left_last->right;
    left_last->right = child;
    splay_update(tree, left_last);
    child = left_last;
    left_last = next;
  }
  root->left = child;
  child = root->right;
  while (right_first != NULL) {
    next = right_first->left;
    right_first->left = child;
    splay_update(tree, right_first);
    child = right_first;
    right_first = next;
  }
  root->right = child;
  splay_update(tree, root);

  *root_io = root;
  if (before_return != NULL)
    *before_return = before;
  if (after_return != NULL)
    *after_return = after;
  return c;
}

static SplayCompare splay_splay_key(SplayTree tree, const void *key)
{
  splay_search_s search = {SPLAY_MODE_KEY, key, NULL, NULL, NULL};
  return splay_splay(tree, &tree->root, &search, NULL, NULL);
}

bool splay_tree_insert(SplayTree tree, SplayNode node)
{
  SplayNode root;
  SplayCompare c;

  AVERT(splay_tree, tree);
  AVER(node != NULL);
  /* A node still linked is probably already in a tree. */
  AVER(node->left == NULL && node->right == NULL);

  if (tree->root == NULL) {
    splay_update(tree, node);
    tree->root = node;
    return true;
  }

  c = splay_splay_key(tree, tree->node_key(node));
  root = tree->root;
  if (c == SPLAY_EQUAL)
    return false;
  if (c == SPLAY_LESS) {
    /* The old root's left subtree is all before the new key. */
    node->left = root->left;
    root->left = NULL;
    node->right = root;
  } else {
    node->right = root->right;
    root->right = NULL;
    node->left = root;
  }
  splay_update(tree, root);
  splay_update(tree, node);
  tree->root = node;
  return true;
}

void splay_tree_delete(SplayTree tree, SplayNode node)
{
  SplayNode left, right;
  SplayCompare c;

  AVERT(splay_tree, tree);
  AVER(node != NULL);
  AVER(tree->root != NULL);

  c = splay_splay_key(tree, tree->node_key(node));
  AVER(c == SPLAY_EQUAL);
  AVER(tree->root == node);

  left = node->left;
  right = node->right;
  if (left == NULL) {
    tree->root = right;
  } else if (right == NULL) {
    tree->root = left;
  } else {
    /* Bring the last node of the left subtree to its top: it then has no
     * right child, and the right subtree hangs there. */
    splay_search_s search = {SPLAY_MODE_MAX, NULL, NULL, NULL, NULL};
    (void)splay_splay(tree, &left, &search, NULL, NULL);
    AVER_CRITICAL(left->right == NULL);
    left->right = right;
    splay_update(tree, left);
    tree->root = left;
  }
  node->left = NULL;
  node->right = NULL;
}

bool splay_tree_find(SplayTree tree, SplayNode *node_return, const void *key)
{
  AVERT(splay_tree, tree);
  AVER(node_return != NULL);
  if (tree->root == NULL)
    return false;
  if (splay_splay_key(tree, key) != SPLAY_EQUAL)
    return false;
  *node_return = tree->root;
  return true;
}

bool splay_tree_neighbours(SplayTree tree, SplayNode *left_return,
                           SplayNode *right_return, const void *key)
{
  SplayNode before, after;
  SplayCompare c;
  splay_search_s search = {SPLAY_MODE_KEY, key, NULL, NULL, NULL};

  AVERT(splay_tree, tree);
  AVER(left_return != NULL);
  AVER(right_return != NULL);

  if (tree->root == NULL) {
    *left_return = NULL;
    *right_return = NULL;
    return true;
  }
  c = splay_splay(tree, &tree->root, &search, &before, &after);
  if (c == SPLAY_EQUAL)
    return false;
  if (c == SPLAY_LESS) {
    *left_return = before;
    *right_return = tree->root;
  } else {
    *left_return = tree->root;
    *right_return = after;
  }
  return true;
}

SplayNode splay_tree_first(SplayTree tree)
{
  splay_search_s search = {SPLAY_MODE_MIN, NULL, NULL, NULL, NULL};
  AVERT(splay_tree, tree);
  if (tree->root == NULL)
    return NULL;
  (void)splay_splay(tree, &tree->root, &search, NULL, NULL);
  return tree->root;
}

SplayNode splay_tree_next(SplayTree tree, const void *key)
{
  SplayNode after;
  splay_search_s search = {SPLAY_MODE_AFTER, key, NULL, NULL, NULL};
  AVERT(splay_tree, tree);
  if (tree->root == NULL)
    return NULL;
  if (splay_splay(tree, &tree->root, &search, NULL, &after) == SPLAY_LESS)
    return tree->root;
  return after;
}

static bool splay_find_fit(SplayTree tree, SplayNode *node_return,
                           splay_search_s *search)
{
  AVERT(splay_tree, tree);
  AVER(node_return != NULL);
  AVER(search->test_node != NULL);
  AVER(search->test_tree != NULL);

  /* The splay assumes the target is in the tree: rule out the empty
   * case here, cheaply, from the root's summary. */
  if (tree->root == NULL ||
      !search->test_tree(tree, tree->root, search->closure))
    return false;
  /* A test_tree that claims a node test_node rejects ends the search at
   * a leaf without EQUAL; report that as not found. */
  if (splay_splay(tree, &tree->root, search, NULL, NULL) != SPLAY_EQUAL)
    return false;
  *node_return = tree->root;
  return true;
}

bool splay_tree_find_first(SplayTree tree, SplayNode *node_return,
                           SplayTestNodeFn test_node,
                           SplayTestTreeFn test_tree, void *closure)
{
  splay_search_s search = {SPLAY_MODE_FIRST_FIT, NULL, test_node, test_tree,
                           closure};
  return splay_find_fit(tree, node_return, &search);
}

bool splay_tree_find_last(SplayTree tree, SplayNode *node_return,
                          SplayTestNodeFn test_node,
                          SplayTestTreeFn test_tree, void *closure)
{
  splay_search_s search = {SPLAY_MODE_LAST_FIT, NULL, test_node, test_tree,
                           closure};
  return splay_find_fit(tree, node_return, &search);
}

void splay_node_refresh(SplayTree tree, SplayNode node)
{
  SplayCompare c;
  AVERT(splay_tree, tree);
  AVER(node != NULL);
  AVER(tree->root != NULL);
  /* Every node whose summary depends on `node` is on the search path to
   * it, so splaying it to the root updates all of them, the node last. */
  c = splay_splay_key(tree, tree->node_key(node));
  AVER(c == SPLAY_EQUAL);
  AVER(tree->root == node);
}

/* One step of a Morris in-order walk from *cur_io.  Returns the next node
 * in order (NULL at the end), and *thread_return is true if that node's
 * right link is, at this moment, a temporary thread rather than a real
 * link.  The walk is restored once it has returned NULL. */
static SplayNode splay_morris_step(SplayNode *cur_io, bool *thread_return)
{
  SplayNode cur = *cur_io;
  while (cur != NULL) {
    if (cur->left == NULL) {
      SplayNode visit = cur;
      SplayNode r = cur->right;
      bool thread = false;
      /* The right link is a thread iff the walk from r's left child
       * rightwards ends at this node. */
      if (r != NULL && r->left != NULL) {
        SplayNode p = r->left;
        while (p->right != NULL && p->right != r)
          p = p->right;
        thread = (p == visit);
      }
      *cur_io = r;
      *thread_return = thread;
      return visit;
    } else {
      SplayNode pred = cur->left;
      while (pred->right != NULL && pred->right != cur)
        pred = pred->right;
      if (pred->right == NULL) {
        pred->right = cur;   /* thread back to cur, then go left */
        cur = cur->left;
      } else {
        SplayNode r = cur->right;
        bool thread = false;
        pred->right = NULL;  /* left subtree done: remove the thread */
        if (r != NULL && r->left != NULL) {
          SplayNode p = r->left;
          while (p->right != NULL && p->right != r)
            p = p->right;
          thread = (p == cur);
        }
        *cur_io = r;
        *thread_return = thread;
        return cur;
      }
    }
  }
  *cur_io = NULL;
  return NULL;
}

bool splay_tree_traverse(SplayTree tree, SplayVisitFn visit, void *closure)
{
  SplayNode cur, node;
  bool thread, going = true;

  AVERT(splay_tree, tree);
  AVER(visit != NULL);

  cur = tree->root;
  /* Once the visitor stops, keep stepping without visiting, to remove
   * the threads. */
  while ((node = splay_morris_step(&cur, &thread)) != NULL)
    if (going)
      going = visit(tree, node, closure);
  return going;
}

bool splay_tree_check_deep(SplayTree tree)
{
  SplayNode cur, node, prev = NULL;
  bool thread, ok = true;

  if (tree == NULL || tree->sig != SPLAY_TREE_SIG ||
      tree->compare == NULL || tree->node_key == NULL)
    return false;                          /* splay.inv.1 */

  cur = tree->root;
  /* Keep walking after a failure so that every thread is removed. */
  while ((node = splay_morris_step(&cur, &thread)) != NULL) {
    if (node->left == node || node->right == node)
      ok = false;                          /* splay.inv.4 */
    if (prev != NULL &&
        tree->compare(node, tree->node_key(prev)) != SPLAY_LESS)
      ok = false;                          /* splay.inv.2, and 4 */
    if (tree->summary_check != NULL) {
      /* The summary checker must see the real links: hide a thread. */
      SplayNode right = node->right;
      if (thread)
        node->right = NULL;
      if (!tree->summary_check(tree, node))
        ok = false;                        /* splay.inv.3 */
      node->right = right;
    }
    prev = node;
  }
  return ok;
}
