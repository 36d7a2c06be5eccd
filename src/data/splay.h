/* splay.h: self-adjusting binary search trees with client summaries
 * (design/splay.txt).
 *
 * A tree node is two links embedded in a client structure (recover the
 * structure with PARENT from base.h).  The tree never allocates: the
 * client owns every node.  Keys are opaque to the tree; the client supplies
 * a comparison of a key with a node and a function giving a node's key.
 *
 * Client summaries.  A client may keep, in each node, a summary of the
 * subtree rooted there (the CBS keeps the largest block size).  The
 * optional `update` function recomputes a node's summary from the node's
 * own data and the summaries of its current children (node->left,
 * node->right, either may be NULL).  The tree calls it bottom-up on every
 * node whose subtree changed, so all summaries are correct whenever
 * control returns to the client.  If the client changes a node's data
 * (not its key) it calls splay_node_refresh.
 *
 * Every operation that searches also splays (restructures the tree), so
 * even lookups modify the tree; callers must serialise all calls.  Client
 * functions called by the tree must not call the tree back.
 *
 * Nothing here recurses, and stack use is bounded by a constant.
 */
#ifndef splay_h
#define splay_h

#include "../base/base.h"

typedef struct splay_node_s *SplayNode;
typedef struct splay_tree_s *SplayTree;

/* A node.  No signature: it is embedded in every client block, and the
 * block or the tree carries one.  splay_node_check checks what it can.
 * Clients may read left and right inside `update` and the test functions
 * of find_first/find_last, and must never write them. */
typedef struct splay_node_s {
  struct splay_node_s *left;   /* subtree of smaller keys, or NULL */
  struct splay_node_s *right;  /* subtree of greater keys, or NULL */
} splay_node_s;

/* The key compared with the node's key. */
typedef enum splay_compare_e {
  SPLAY_LESS,     /* key is less than the node's key */
  SPLAY_EQUAL,
  SPLAY_GREATER   /* key is greater than the node's key */
} SplayCompare;

/* Compare `key` with the key of `node`.  Must be a total order. */
typedef SplayCompare (*SplayCompareFn)(SplayNode node, const void *key);
/* The key of `node`, in the form SplayCompareFn accepts. */
typedef const void *(*SplayKeyFn)(SplayNode node);
/* Recompute the summary of `node` from its data and its children's
 * summaries. */
typedef void (*SplayUpdateFn)(SplayTree tree, SplayNode node);
/* Does `node` itself satisfy the client's search? */
typedef bool (*SplayTestNodeFn)(SplayTree tree, SplayNode node, void *closure);
/* Does any node in the subtree rooted at `node` satisfy the search?  Must
 * be exact (neither missing a node nor claiming one that does not pass
 * SplayTestNodeFn); it is normally computed from the node's summary. */
typedef bool (*SplayTestTreeFn)(SplayTree tree, SplayNode node, void *closure);
/* Visit `node` during splay_tree_traverse.  Return false to stop. */
typedef bool (*SplayVisitFn)(SplayTree tree, SplayNode node, void *closure);
/* For splay_tree_check_deep: is the summary stored in `node` what
 * SplayUpdateFn would compute now from the node and its children? */
typedef bool (*SplaySummaryCheckFn)(SplayTree tree, SplayNode node);

/* The tree.  Usually embedded in a client structure.  Fields are private
 * to splay.c. */
typedef struct splay_tree_s {
  Sig sig;                          /* SPLAY_TREE_SIG */
  SplayNode root;                   /* NULL when empty */
  SplayCompareFn compare;
  SplayKeyFn node_key;
  SplayUpdateFn update;             /* NULL: no summaries */
  SplaySummaryCheckFn summary_check; /* NULL: check_deep skips summaries */
} splay_tree_s;

#define SPLAY_TREE_SIG SIG_MAKE(0x20)

/* Nodes */

/* Make `node` ready for splay_tree_insert (both links NULL). */
void splay_node_init(SplayNode node);
/* Cheap local check of one node: non-null, not its own child. */
bool splay_node_check(SplayNode node);

/* Trees */

/* `update` may be NULL when the client keeps no summaries. */
void splay_tree_init(SplayTree tree, SplayCompareFn compare,
                     SplayKeyFn node_key, SplayUpdateFn update);
/* The tree need not be empty: nodes still in it are abandoned to the
 * client, unchanged (their links are not reset). */
void splay_tree_finish(SplayTree tree);
/* Signature and functions; in cool also the order of the root and its
 * children. */
bool splay_tree_check(SplayTree tree);
/* Install a summary checker for splay_tree_check_deep (tests, debugging). */
void splay_tree_set_summary_check(SplayTree tree,
                                  SplaySummaryCheckFn summary_check);
/* Walk the whole tree (no splaying; linear time, constant stack) and
 * return false if the signature is wrong, the in-order keys are not
 * strictly increasing, or (if a summary checker is installed) any node's
 * summary is stale.  Works the same in every variety: it does not use the
 * CHECK macros.  For tests and debugging only. */
bool splay_tree_check_deep(SplayTree tree);

bool splay_tree_is_empty(SplayTree tree);
/* The root node, or NULL when empty.  Does not splay.  The root's summary
 * covers the whole tree. */
SplayNode splay_tree_root(SplayTree tree);

/* Insert `node` (initialised by splay_node_init, or deleted from a tree
 * since, and in no tree) under the key node_key(node).  Returns false and
 * leaves the tree unchanged if a node with an equal key is present. */
bool splay_tree_insert(SplayTree tree, SplayNode node);
/* Remove `node`, which must be in the tree.  Its links are reset so that
 * it can be inserted again. */
void splay_tree_delete(SplayTree tree, SplayNode node);
/* The node whose key equals `key`: true and *node_return set, or false. */
bool splay_tree_find(SplayTree tree, SplayNode *node_return, const void *key);
/* The nodes immediately before and after `key` (NULL where there is
 * none).  Returns false, leaving the outputs unset, if a node with an
 * equal key is present. */
bool splay_tree_neighbours(SplayTree tree, SplayNode *left_return,
                           SplayNode *right_return, const void *key);

/* Iteration in key order:
 *   for (node = splay_tree_first(t); node != NULL;
 *        node = splay_tree_next(t, key_of_node))
 * splay_tree_next returns the first node whose key is greater than `key`
 * (NULL if none); `key` need not be in the tree, so the client may delete
 * the current node between calls, provided the key it passes stays valid
 * (copy it out of the node before freeing the node). */
SplayNode splay_tree_first(SplayTree tree);
SplayNode splay_tree_next(SplayTree tree, const void *key);

/* Visit every node in key order.  During the walk the links of the tree
 * are temporarily rethreaded, so the visitor must not read node links,
 * must not call any function of this tree, and must not change keys or
 * summaries.  Returns false if the visitor stopped the walk (the tree is
 * restored either way). */
bool splay_tree_traverse(SplayTree tree, SplayVisitFn visit, void *closure);

/* The first (last) node in key order that satisfies test_node, using
 * test_tree to skip subtrees with no such node.  True and *node_return
 * set (the node is then the root), or false. */
bool splay_tree_find_first(SplayTree tree, SplayNode *node_return,
                           SplayTestNodeFn test_node,
                           SplayTestTreeFn test_tree, void *closure);
bool splay_tree_find_last(SplayTree tree, SplayNode *node_return,
                          SplayTestNodeFn test_node,
                          SplayTestTreeFn test_tree, void *closure);

/* The client changed data of `node` (in the tree) that its summary
 * depends on, but not its key: recompute every affected summary. */
void splay_node_refresh(SplayTree tree, SplayNode node);

#endif /* splay_h */
