/* cbs.c: coalescing block structure (see design/cbs.txt, design/land.txt).
 *
 * Each block is a cbs_block_s: a splay node, the block's [base, limit),
 * and max_size, the size of the largest block in the subtree rooted at
 * the node, which the splay tree keeps current through its update hook.
 * The tree's comparison treats a block as equal to every address it
 * contains, so one search finds the block containing an address, and the
 * neighbours search finds the blocks either side of an address in none.
 *
 * Growing a block downwards (on insert) or shrinking it from below (on
 * delete) moves its key, its base.  That is safe without taking it out of
 * the tree: the new base stays above the previous block's limit and below
 * the next block's base, so the tree order is unchanged; the node is then
 * refreshed like any block whose size changed.
 *
 * An insertion usually descends from the root without splaying, and
 * raises the summaries on its path (cbs_insert_descending); a join of
 * both neighbours takes the deeper one's node out on that path
 * (cbs_join_both_on_path).  Otherwise (a deep path) it splays once, to
 * find the neighbours; that leaves one of them at the root and the other
 * at the end of the root's spine on the new range's side.  A join of one
 * neighbour then only raises summaries along that spine, and a new block
 * becomes the root in place, so neither splays again (cbs_block_grown,
 * cbs_insert_at_root).  First-fit finds descend the same way, guided by
 * the summaries (cbs_descend_first), and deletions by key (cbs_descend_to);
 * a find or deletion that shrinks its block recomputes the summaries on
 * its path from the bottom up (cbs_shrunk_on_path), and one that takes
 * the whole block takes its node out there (cbs_delete_on_path); best
 * fit, which finds its block in the size bins, descends to it by key for
 * that path (cbs_path_to).  What still splays: paths deeper than
 * CBS_DESCENT_MAX, deletions from a block's middle (which split it), and
 * the rarer last-fit finds and deletions while iterating.
 *
 * Size bins.  Every block is also on a doubly linked list, that of the
 * bin of its size: CBS_BIN_STEPS bins for each power of two, so a bin's
 * sizes lie within a quarter of each other, and bins are in size order.
 * A block's bin is brought up to date wherever its size changes
 * (cbs_bin_update).  find_best scans the bin of the size asked for, whose
 * blocks may or may not be big enough; if none is, every block of the
 * next bin with any blocks is big enough and smaller than any block of a
 * bin above it, so the smallest of that bin is the best fit.  bin_used
 * finds that next bin a word at a time.
 *
 * Invariants:
 *   1. sig is CBS_SIG, the land is of the CBS class, and the allocator
 *      functions are present.
 *   2. the tree is valid, ordered by base address.
 *   3. count is zero exactly when the tree is empty, and size is zero
 *      exactly when count is.
 *   4. blocks are non-empty, aligned to the land's alignment and isolated:
 *      each block's limit is below the next block's base.
 *   5. each node's max_size is the largest size in its subtree.
 *   6. count and size are the number and total size of the blocks.
 *   7. each block is on the list of the bin of its size, whose bit is set
 *      in bin_used exactly when the list is not empty, and the lists
 *      hold count blocks in all.
 * cbs_check tests 1 to 3; 4 to 7 need a walk and are in cbs_check_deep.
 */
#include "cbs.h"
#include "../base/check.h"

#define CBS_SIG SIG_MAKE(0x32)

typedef struct cbs_block_s {
  splay_node_s node;
  Addr base;
  Addr limit;
  Size max_size;  /* largest block size in this node's subtree */
  struct cbs_block_s *bin_next;    /* in its bin's list */
  struct cbs_block_s **bin_link;   /* what points to it there */
  Index bin;                       /* its bin */
} cbs_block_s;

typedef cbs_block_s *CBSBlock;

const size_t cbs_node_size = sizeof(cbs_block_s);

static CBS cbs_of_land(Land land)
{
  return PARENT(cbs_s, land, land);
}

static CBSBlock cbs_block_of_node(SplayNode node)
{
  return PARENT(cbs_block_s, node, node);
}

static Size cbs_block_size(CBSBlock block)
{
  return addr_offset(block->base, block->limit);
}

static Size cbs_subtree_max(SplayNode node)
{
  return node == NULL ? 0 : cbs_block_of_node(node)->max_size;
}

/* Size bins (see "Size bins" above) */

/* The bin of a positive size: CBS_BIN_STEPS per power of two, by the
 * bits below the highest. */
static Index cbs_bin_of(Size size)
{
  Shift e = word_highest_bit(size);
  Word steps = e >= CBS_BIN_SHIFT ? size >> (e - CBS_BIN_SHIFT) : size << (CBS_BIN_SHIFT - e);
  return ((Index)e << CBS_BIN_SHIFT) + (Index)(steps & (CBS_BIN_STEPS - 1));
}

static void cbs_bin_add(CBS cbs, CBSBlock block)
{
  Index i = cbs_bin_of(cbs_block_size(block));
  block->bin = i;
  block->bin_next = cbs->bin[i];
  block->bin_link = &cbs->bin[i];
  if (block->bin_next != NULL)
    block->bin_next->bin_link = &block->bin_next;
  cbs->bin[i] = block;
  cbs->bin_used[i >> WORD_SHIFT] |= (Word)1 << (i & (WORD_WIDTH - 1));
}

static void cbs_bin_remove(CBS cbs, CBSBlock block)
{
  Index i = block->bin;
  *block->bin_link = block->bin_next;
  if (block->bin_next != NULL)
    block->bin_next->bin_link = block->bin_link;
  if (cbs->bin[i] == NULL)
    cbs->bin_used[i >> WORD_SHIFT] &= ~((Word)1 << (i & (WORD_WIDTH - 1)));
}

/* After a block's size changed. */
static void cbs_bin_update(CBS cbs, CBSBlock block)
{
  if (cbs_bin_of(cbs_block_size(block)) != block->bin) {
    cbs_bin_remove(cbs, block);
    cbs_bin_add(cbs, block);
  }
}

/* The lowest bin above i with any blocks, or CBS_BINS. */
static Index cbs_bin_next_used(CBS cbs, Index i)
{
  Index w;
  Word m;
  if (++i >= CBS_BINS)
    return CBS_BINS;
  w = i >> WORD_SHIFT;
  m = cbs->bin_used[w] & ~(((Word)1 << (i & (WORD_WIDTH - 1))) - 1);
  while (m == 0) {
    if (++w >= CBS_BINS / WORD_WIDTH)
      return CBS_BINS;
    m = cbs->bin_used[w];
  }
  return (w << WORD_SHIFT) + word_lowest_bit(m);
}

/* The key is a pointer to an Addr. */
static SplayCompare cbs_compare(SplayNode node, const void *key)
{
  CBSBlock block = cbs_block_of_node(node);
  Word addr = addr_word(*(const Addr *)key);
  if (addr < addr_word(block->base))
    return SPLAY_LESS;
  if (addr >= addr_word(block->limit))
    return SPLAY_GREATER;
  return SPLAY_EQUAL;
}

static const void *cbs_node_key(SplayNode node)
{
  return &cbs_block_of_node(node)->base;
}

static Size cbs_summary(SplayNode node)
{
  Size size = cbs_block_size(cbs_block_of_node(node));
  size = size_max(size, cbs_subtree_max(node->left));
  return size_max(size, cbs_subtree_max(node->right));
}

static void cbs_update(SplayTree tree, SplayNode node)
{
  UNUSED(tree);
  cbs_block_of_node(node)->max_size = cbs_summary(node);
}

static bool cbs_summary_check(SplayTree tree, SplayNode node)
{
  UNUSED(tree);
  return cbs_block_of_node(node)->max_size == cbs_summary(node);
}

bool cbs_check(CBS cbs)
{
  CHECKS(CBS_SIG, cbs);                                  /* 1 */
  CHECKL(cbs->land.klass == cbs_class());                /* 1 */
  CHECKL(cbs->alloc.alloc != NULL);                      /* 1 */
  CHECKL(cbs->alloc.free != NULL);                       /* 1 */
  CHECKD(splay_tree, &cbs->tree);                        /* 2 */
  CHECKL((cbs->count == 0) == (cbs->tree.root == NULL)); /* 3 */
  CHECKL((cbs->size == 0) == (cbs->count == 0));         /* 3 */
  CHECKL(cbs->descent_max >= 1 && cbs->descent_max <= CBS_DESCENT_MAX);
  return true;
}

typedef struct cbs_deep_s {
  CBS cbs;
  Align alignment;
  Addr prev_limit;   /* limit of the previous block, or NULL */
  Count count;
  Size size;
} cbs_deep_s;

static bool cbs_deep_visit(SplayTree tree, SplayNode node, void *closure)
{
  cbs_deep_s *deep = closure;
  CBSBlock block = cbs_block_of_node(node);
  UNUSED(tree);
  if (addr_word(block->base) >= addr_word(block->limit)             /* 4 */
      || !addr_is_aligned(block->base, deep->alignment)
      || !addr_is_aligned(block->limit, deep->alignment)
      || (deep->prev_limit != NULL
          && addr_word(deep->prev_limit) >= addr_word(block->base)))
    return false;
  if (block->bin != cbs_bin_of(cbs_block_size(block))             /* 7 */
      || *block->bin_link != block
      || (deep->cbs->bin_used[block->bin >> WORD_SHIFT]
          & ((Word)1 << (block->bin & (WORD_WIDTH - 1)))) == 0)
    return false;
  deep->prev_limit = block->limit;
  ++deep->count;
  deep->size += cbs_block_size(block);
  return true;
}

bool cbs_check_deep(CBS cbs)
{
  cbs_deep_s deep;
  if (cbs == NULL || cbs->sig != CBS_SIG)
    return false;
  if (!splay_tree_check_deep(&cbs->tree))                  /* 2, 5 */
    return false;
  deep.cbs = cbs;
  deep.alignment = cbs->land.alignment;
  deep.prev_limit = NULL;
  deep.count = 0;
  deep.size = 0;
  if (!splay_tree_traverse(&cbs->tree, cbs_deep_visit, &deep))
    return false;
  if (deep.count != cbs->count || deep.size != cbs->size)     /* 6 */
    return false;
  {
    Index i;
    Count listed = 0;
    for (i = 0; i < CBS_BINS; ++i) {                           /* 7 */
      CBSBlock block;
      bool used = (cbs->bin_used[i >> WORD_SHIFT] >> (i & (WORD_WIDTH - 1))) & 1;
      if (used != (cbs->bin[i] != NULL))
        return false;
      for (block = cbs->bin[i]; block != NULL; block = block->bin_next) {
        if (block->bin != i || ++listed > cbs->count)
          return false;
      }
    }
    return listed == cbs->count;
  }
}

static bool cbs_land_check(Land land)
{
  return cbs_check(cbs_of_land(land));
}

static Res cbs_land_init(Land land, const void *args)
{
  CBS cbs = cbs_of_land(land);
  const cbs_node_alloc_s *alloc = args;
  AVER(alloc != NULL);
  AVER(alloc->alloc != NULL);
  AVER(alloc->free != NULL);
  splay_tree_init(&cbs->tree, cbs_compare, cbs_node_key, cbs_update);
  splay_tree_set_summary_check(&cbs->tree, cbs_summary_check);
  cbs->alloc = *alloc;
  cbs->count = 0;
  cbs->size = 0;
  cbs->descent_max = CBS_DESCENT_MAX;
  {
    Index i;
    for (i = 0; i < CBS_BINS; ++i)
      cbs->bin[i] = NULL;
    for (i = 0; i < CBS_BINS / WORD_WIDTH; ++i)
      cbs->bin_used[i] = 0;
  }
  cbs->sig = CBS_SIG;
  AVERT(cbs, cbs);
  return MPS_RES_OK;
}

static CBSBlock cbs_block_alloc(CBS cbs)
{
  return cbs->alloc.alloc(cbs->alloc.closure, sizeof(cbs_block_s));
}

static void cbs_block_free(CBS cbs, CBSBlock block)
{
  cbs->alloc.free(cbs->alloc.closure, block, sizeof(cbs_block_s));
}

static void cbs_land_finish(Land land)
{
  CBS cbs = cbs_of_land(land);
  SplayNode node;
  AVERT(cbs, cbs);
  cbs->sig = SIG_INVALID;
  /* Empty the tree from its first node, so that each delete is cheap and
   * nothing is read from a freed node. */
  while ((node = splay_tree_first(&cbs->tree)) != NULL) {
    splay_tree_delete(&cbs->tree, node);
    cbs_block_free(cbs, cbs_block_of_node(node));
  }
  splay_tree_finish(&cbs->tree);
  cbs->count = 0;
  cbs->size = 0;
}

static Size cbs_land_size(Land land)
{
  CBS cbs = cbs_of_land(land);
  AVERT(cbs, cbs);
  return cbs->size;
}

/* A block that an insertion grew is brought up to date without another
 * splay.  The insertion's neighbours search leaves one neighbour at the
 * root and the other, if any, next to it in order: the last node of the
 * root's left subtree (the end of its right spine) or the first of its
 * right subtree (the end of its left spine).  Growing a block can only
 * raise the summaries (max_size) of the nodes above it, so walking down
 * that spine raising each is enough; the walk follows the path the splay
 * just made short.  design/cbs.txt asks only that summaries stay exact. */
static void cbs_block_grown(CBS cbs, CBSBlock block)
{
  SplayNode root = splay_tree_root(&cbs->tree), node;
  Size size = cbs_block_size(block);
  if (root == &block->node) {
    cbs_update(&cbs->tree, root);
    return;
  }
  if (cbs_block_of_node(root)->max_size < size)
    cbs_block_of_node(root)->max_size = size;
  if (addr_word(block->base) < addr_word(cbs_block_of_node(root)->base)) {
    for (node = root->left; node != &block->node; node = node->right) {
      AVER_CRITICAL(node != NULL);
      if (cbs_block_of_node(node)->max_size < size)
        cbs_block_of_node(node)->max_size = size;
    }
  } else {
    for (node = root->right; node != &block->node; node = node->left) {
      AVER_CRITICAL(node != NULL);
      if (cbs_block_of_node(node)->max_size < size)
        cbs_block_of_node(node)->max_size = size;
    }
  }
  cbs_update(&cbs->tree, &block->node);
}

/* A new block between the root and its neighbour in order becomes the
 * root at once, as splay_tree_insert would make it after splaying the
 * same key again (the neighbours search has already put the tree in the
 * shape that splay would find).  The links are splay.h's public node
 * fields, set here as splay_tree_insert sets them. */
static void cbs_insert_at_root(CBS cbs, CBSBlock block)
{
  SplayTree tree = &cbs->tree;
  SplayNode root = splay_tree_root(tree), node = &block->node;
  if (root == NULL) {
    tree->root = node;
  } else if (addr_word(block->base) < addr_word(cbs_block_of_node(root)->base)) {
    node->left = root->left;
    root->left = NULL;
    node->right = root;
  } else {
    node->right = root->right;
    root->right = NULL;
    node->left = root;
  }
  if (root != NULL)
    cbs_update(tree, root);
  cbs_update(tree, node);
  tree->root = node;
}

/* Raise the summaries of path[0..n) (a path from the root) to at least
 * `size`, after a block in all their subtrees grew to it.  A summary is
 * never smaller than its child's, so the walk goes up from the bottom and
 * stops at the first that is big enough: usually near the bottom, where
 * a walk down the whole path was a quarter of MVT's insertions. */
static void cbs_raise_on_path(SplayNode *path, Count n, Size size)
{
  while (n > 0) {
    CBSBlock block = cbs_block_of_node(path[--n]);
    if (block->max_size >= size)
      return;
    block->max_size = size;
  }
}

/* An insertion that fills the whole gap between its neighbours, both on
 * the descent's path (path[0..depth), the left one at left_depth, the
 * right one at right_depth, counting from 1): one block is left of the
 * two.  The deeper neighbour is the path's last node, with no child on the
 * gap's side (a node below it there would be nearer the gap, and the
 * descent would have gone on to it), so it comes out with no rotation: its
 * other child takes its place.  The shallower one takes its range.  The
 * nodes between the two lost a block, so their summaries are recomputed
 * from the bottom up; the kept block only grew, so the nodes above it are
 * raised.  Such joins went to the splay, and were 11% of MVT's insertions
 * on bench/bench.c (docs/performance.md, twelfth round). */
static CBSBlock cbs_join_both_on_path(CBS cbs, SplayNode *path, Count depth,
                                      CBSBlock left, Count left_depth,
                                      CBSBlock right, Count right_depth)
{
  CBSBlock kept, gone;
  SplayNode child, parent;
  Count kept_depth, i;
  if (right_depth > left_depth) {
    kept = left;
    gone = right;
    kept_depth = left_depth;
    AVER_CRITICAL(right->node.left == NULL);
    child = right->node.right;
    left->limit = right->limit;
  } else {
    kept = right;
    gone = left;
    kept_depth = right_depth;
    AVER_CRITICAL(left->node.right == NULL);
    child = left->node.left;
    right->base = left->base;  /* the key moves, the order does not */
  }
  AVER_CRITICAL(depth >= 2 && path[depth - 1] == &gone->node);
  parent = path[depth - 2];
  if (parent->left == &gone->node)
    parent->left = child;
  else
    parent->right = child;
  cbs_bin_remove(cbs, gone);
  cbs_block_free(cbs, gone);
  --cbs->count;
  for (i = depth - 1; i-- > kept_depth;)
    cbs_update(&cbs->tree, path[i]);
  cbs_update(&cbs->tree, &kept->node);
  cbs_raise_on_path(path, kept_depth - 1, cbs_block_size(kept));
  cbs_bin_update(cbs, kept);
  return kept;
}

/* An insertion that joins one neighbour or makes a new block, found by a
 * plain descent from the root with no splay: its nodes keep their places,
 * so nothing is rotated and no summary is recomputed, and a grown or new
 * block only raises the summaries (max_size) of the nodes on the path
 * above it.  A join of both neighbours takes one node out, also without a
 * rotation (cbs_join_both_on_path).  The splay's restructuring is what cost an insertion most of
 * its time (docs/performance.md, ninth round).  A leaf added without
 * splaying raises the tree's splay potential by at most about log n (the
 * subtree sizes along a path fall by at least one per level, so the
 * raises telescope), and a node taken out lowers it, so later splays keep
 * their amortized bound.  The
 * bound on the descent sends deep insertions to the splay, which shortens
 * their path for the next: with 24, MVT ran 7% fewer instructions on
 * bench/bench.c, against 5% with 48, and 3% more with 12.  Returns false,
 * having changed nothing, for cbs_land_insert's splaying path to do: a
 * path longer than the bound (which that splay then shortens), an
 * empty tree, and an overlap (which that path reports).  The bound is
 * CBS_DESCENT_MAX (cbs.h), or lower for a test (cbs_descent_max_set). */
static bool cbs_insert_descending(Res *res_o, Range range_return, CBS cbs,
                                  Addr base, Addr limit)
{
  SplayNode path[CBS_DESCENT_MAX], node = splay_tree_root(&cbs->tree);
  Count depth = 0, left_depth = 0, right_depth = 0, top;
  CBSBlock left = NULL, right = NULL, grown;
  while (node != NULL) {
    CBSBlock block = cbs_block_of_node(node);
    if (depth == cbs->descent_max)
      return false;
    path[depth++] = node;
    if (addr_word(base) < addr_word(block->base)) {
      right = block;
      right_depth = depth;
      node = node->left;
    } else if (addr_word(base) < addr_word(block->limit)) {
      return false;
    } else {
      left = block;
      left_depth = depth;
      node = node->right;
    }
  }
  if (depth == 0 || (right != NULL && addr_word(right->base) < addr_word(limit)))
    return false;
  if (left != NULL && left->limit == base) {
    if (right != NULL && right->base == limit) {
      grown = cbs_join_both_on_path(cbs, path, depth, left, left_depth, right, right_depth);
      range_init(range_return, grown->base, grown->limit);
      cbs->size += addr_offset(base, limit);
      *res_o = MPS_RES_OK;
      return true;
    }
    left->limit = limit;
    grown = left;
    top = left_depth;
  } else if (right != NULL && right->base == limit) {
    right->base = base;  /* the key moves, the order does not (see top) */
    grown = right;
    top = right_depth;
  } else {
    grown = cbs_block_alloc(cbs);
    if (grown == NULL) {
      *res_o = MPS_RES_MEMORY;
      return true;
    }
    splay_node_init(&grown->node);
    grown->base = base;
    grown->limit = limit;
    grown->max_size = addr_offset(base, limit);
    if (addr_word(base) < addr_word(cbs_block_of_node(path[depth - 1])->base))
      path[depth - 1]->left = &grown->node;
    else
      path[depth - 1]->right = &grown->node;
    cbs_bin_add(cbs, grown);
    ++cbs->count;
    top = depth;
  }
  /* A grown block is on the path, at depth top (its subtree below it
   * unchanged); a new one hangs below the path's end.  Either way the
   * first top nodes of the path are every node whose subtree it is in. */
  cbs_raise_on_path(path, top, cbs_block_size(grown));
  if (grown == left || grown == right)
    cbs_bin_update(cbs, grown);
  range_init(range_return, grown->base, grown->limit);
  cbs->size += addr_offset(base, limit);
  *res_o = MPS_RES_OK;
  return true;
}

static Res cbs_land_insert(Range range_return, Land land, Range range)
{
  CBS cbs = cbs_of_land(land);
  Addr base = range_base(range), limit = range_limit(range);
  SplayNode left_node, right_node;
  CBSBlock left = NULL, right = NULL;
  bool join_left, join_right, overlaps;
  Res res;
  AVERT(cbs, cbs);

  if (cbs_insert_descending(&res, range_return, cbs, base, limit))
    return res;

  /* False if base is inside a block; otherwise the blocks either side. */
  overlaps = !splay_tree_neighbours(&cbs->tree, &left_node, &right_node,
                                    &base);
  if (!overlaps) {
    left = left_node == NULL ? NULL : cbs_block_of_node(left_node);
    right = right_node == NULL ? NULL : cbs_block_of_node(right_node);
    overlaps = right != NULL && addr_word(right->base) < addr_word(limit);
  }
  AVER(!overlaps);
  if (overlaps)
    return MPS_RES_FAIL;

  join_left = left != NULL && left->limit == base;
  join_right = right != NULL && right->base == limit;
  if (join_left && join_right) {
    Addr right_limit = right->limit;
    splay_tree_delete(&cbs->tree, &right->node);
    cbs_bin_remove(cbs, right);
    cbs_block_free(cbs, right);
    left->limit = right_limit;
    splay_node_refresh(&cbs->tree, &left->node);
    cbs_bin_update(cbs, left);
    range_init(range_return, left->base, left->limit);
    --cbs->count;
  } else if (join_left) {
    left->limit = limit;
    cbs_block_grown(cbs, left);
    cbs_bin_update(cbs, left);
    range_init(range_return, left->base, left->limit);
  } else if (join_right) {
    right->base = base;  /* the key moves, the order does not (see top) */
    cbs_block_grown(cbs, right);
    cbs_bin_update(cbs, right);
    range_init(range_return, right->base, right->limit);
  } else {
    CBSBlock block = cbs_block_alloc(cbs);
    if (block == NULL)
      return MPS_RES_MEMORY;
    splay_node_init(&block->node);
    block->base = base;
    block->limit = limit;
    block->max_size = addr_offset(base, limit);
    cbs_insert_at_root(cbs, block);
    cbs_bin_add(cbs, block);
    range_init(range_return, base, limit);
    ++cbs->count;
  }
  cbs->size += addr_offset(base, limit);
  return MPS_RES_OK;
}

/* After `block`, the last node of `path` (the first `depth` nodes from
 * the root down to it), shrank: recompute the summaries on the path from
 * the bottom up, instead of splaying the block to the root. */
static void cbs_shrunk_on_path(CBS cbs, SplayNode *path, Count depth)
{
  UNUSED(cbs);
  /* A summary that comes out as it was leaves those above it as they
   * were: the walk stops there. */
  while (depth > 0) {
    CBSBlock block = cbs_block_of_node(path[--depth]);
    Size max = cbs_summary(&block->node);
    if (max == block->max_size)
      return;
    block->max_size = max;
  }
}

/* Take out the whole block at the end of `path` (the first `depth` nodes
 * from the root down to it) without splaying, as the descending
 * insertion adds one: a node with at most one child gives its place to
 * that child; one with two gives it to its successor, the end of its
 * right subtree's left spine, whose own place its right child takes.
 * The summaries are recomputed from the lowest node whose subtree
 * changed up to the heir, and above it until one comes out as it was.
 * False, having changed nothing, if the spine
 * does not fit in the path's room (CBS_DESCENT_MAX): the caller splays.
 * Whole-block deletions were 9% of mvff-alloc's instructions on
 * bench/bench.c in the splay (docs/performance.md, twelfth round). */
static bool cbs_delete_on_path(CBS cbs, SplayNode *path, Count depth)
{
  SplayNode node = path[depth - 1], heir, *link;
  Count end = depth - 1;   /* path[0..end) get new summaries, bottom up */
  if (depth >= 2) {
    SplayNode parent = path[depth - 2];
    link = parent->left == node ? &parent->left : &parent->right;
  } else {
    link = &cbs->tree.root;
  }
  if (node->left == NULL || node->right == NULL) {
    heir = node->left != NULL ? node->left : node->right;
  } else {
    Count spine = depth;   /* path[depth..spine): the spine above the heir */
    heir = node->right;
    while (heir->left != NULL) {
      if (spine == cbs->descent_max)
        return false;
      path[spine++] = heir;
      heir = heir->left;
    }
    if (spine > depth) {
      path[spine - 1]->left = heir->right;
      heir->right = node->right;
    }
    heir->left = node->left;
    path[depth - 1] = heir;
    end = spine;
  }
  *link = heir;
  /* The heir's summary, and those of the spine's nodes under it, must be
   * made afresh; above it, the walk may stop as a shrink's does. */
  while (end > depth - 1)
    cbs_update(&cbs->tree, path[--end]);
  cbs_shrunk_on_path(cbs, path, end);
  return true;
}

/* Remove `range` from `block`, which contains it.  `spare` is a fresh
 * descriptor for the upper fragment if there are fragments on both
 * sides, and is otherwise NULL.  `path`, if `depth` is not 0, is the path
 * from the root to the block (room for CBS_DESCENT_MAX nodes), for a
 * shrink or a whole deletion to use instead of a splay. */
static void cbs_remove(CBS cbs, CBSBlock block, Range range, CBSBlock spare,
                       SplayNode *path, Count depth)
{
  Addr base = range_base(range), limit = range_limit(range);
  Addr block_limit = block->limit;
  bool has_left = base != block->base, has_right = limit != block_limit;

  AVER_CRITICAL(addr_word(block->base) <= addr_word(base));
  AVER_CRITICAL(addr_word(limit) <= addr_word(block_limit));
  AVER_CRITICAL((spare != NULL) == (has_left && has_right));
  if (has_left && has_right) {
    bool inserted;
    block->limit = base;
    splay_node_refresh(&cbs->tree, &block->node);
    cbs_bin_update(cbs, block);
    splay_node_init(&spare->node);
    spare->base = limit;
    spare->limit = block_limit;
    spare->max_size = addr_offset(limit, block_limit);
    inserted = splay_tree_insert(&cbs->tree, &spare->node);
    AVER(inserted);
    UNUSED(inserted);
    cbs_bin_add(cbs, spare);
    ++cbs->count;
  } else if (has_left || has_right) {
    if (has_left)
      block->limit = base;
    else
      block->base = limit;  /* the key moves, the order does not (see top) */
    if (depth > 0)
      cbs_shrunk_on_path(cbs, path, depth);
    else
      splay_node_refresh(&cbs->tree, &block->node);
    cbs_bin_update(cbs, block);
  } else {
    if (depth == 0 || !cbs_delete_on_path(cbs, path, depth))
      splay_tree_delete(&cbs->tree, &block->node);
    cbs_bin_remove(cbs, block);
    cbs_block_free(cbs, block);
    --cbs->count;
  }
  cbs->size -= addr_offset(base, limit);
}

/* The block that holds `addr` (NULL if none does), found by a descent
 * without splaying, its path in path[0..*depth_o); false, having found
 * nothing out, if that is more than CBS_DESCENT_MAX levels down. */
static bool cbs_descend_to(CBSBlock *block_o, SplayNode *path, Count *depth_o,
                           CBS cbs, Addr addr)
{
  SplayNode node = splay_tree_root(&cbs->tree);
  Count depth = 0;
  *block_o = NULL;
  while (node != NULL) {
    CBSBlock block = cbs_block_of_node(node);
    if (depth == cbs->descent_max)
      return false;
    path[depth++] = node;
    if (addr_word(addr) < addr_word(block->base)) {
      node = node->left;
    } else if (addr_word(addr) < addr_word(block->limit)) {
      *block_o = block;
      break;
    } else {
      node = node->right;
    }
  }
  *depth_o = depth;
  return true;
}

static Res cbs_land_delete(Range range_return, Land land, Range range)
{
  CBS cbs = cbs_of_land(land);
  Addr base = range_base(range);
  SplayNode node, path[CBS_DESCENT_MAX];
  CBSBlock block, spare = NULL;
  Count depth;
  AVERT(cbs, cbs);

  /* A deletion (a fill's, usually) shrinks its block or takes it out on
   * the descent's path, as a find does; the deep ones splay. */
  if (!cbs_descend_to(&block, path, &depth, cbs, base)) {
    if (!splay_tree_find(&cbs->tree, &node, &base))
      return MPS_RES_FAIL;
    block = cbs_block_of_node(node);
    depth = 0;
  } else if (block == NULL) {
    return MPS_RES_FAIL;
  }
  if (addr_word(range_limit(range)) > addr_word(block->limit))
    return MPS_RES_FAIL;
  range_init(range_return, block->base, block->limit);
  if (base != block->base && range_limit(range) != block->limit) {
    spare = cbs_block_alloc(cbs);
    if (spare == NULL)
      return MPS_RES_MEMORY;
  }
  cbs_remove(cbs, block, range, spare, path, depth);
  return MPS_RES_OK;
}

typedef struct cbs_iterate_s {
  Land land;
  LandVisitor visitor;
  void *closure;
} cbs_iterate_s;

/* The land's visitor sees a copy of the block's range and cannot reach
 * the tree (the land is busy), as splay_tree_traverse requires. */
static bool cbs_iterate_visit(SplayTree tree, SplayNode node, void *closure)
{
  cbs_iterate_s *it = closure;
  CBSBlock block = cbs_block_of_node(node);
  range_s range;
  UNUSED(tree);
  range_init(&range, block->base, block->limit);
  return it->visitor(it->land, &range, it->closure);
}

static bool cbs_land_iterate(Land land, LandVisitor visitor, void *closure)
{
  CBS cbs = cbs_of_land(land);
  cbs_iterate_s it;
  AVERT(cbs, cbs);
  it.land = land;
  it.visitor = visitor;
  it.closure = closure;
  return splay_tree_traverse(&cbs->tree, cbs_iterate_visit, &it);
}

static bool cbs_land_iterate_and_delete(Land land, LandDeleteVisitor visitor,
                                        void *closure)
{
  CBS cbs = cbs_of_land(land);
  SplayNode node;
  AVERT(cbs, cbs);
  node = splay_tree_first(&cbs->tree);
  while (node != NULL) {
    CBSBlock block = cbs_block_of_node(node);
    Addr key = block->base;  /* outlives the block if it is freed */
    bool delete = false, more;
    range_s range;
    range_init(&range, block->base, block->limit);
    more = visitor(&delete, land, &range, closure);
    if (delete)
      cbs_remove(cbs, block, &range, NULL, NULL, 0);
    if (!more)
      return false;
    node = splay_tree_next(&cbs->tree, &key);
  }
  return true;
}

/* Tests for the fit searches; the closure points to the wanted size. */
static bool cbs_test_node(SplayTree tree, SplayNode node, void *closure)
{
  UNUSED(tree);
  return cbs_block_size(cbs_block_of_node(node)) >= *(Size *)closure;
}

static bool cbs_test_tree(SplayTree tree, SplayNode node, void *closure)
{
  UNUSED(tree);
  return cbs_block_of_node(node)->max_size >= *(Size *)closure;
}

/* Finish a find: report `node` and delete the part find_delete selects.
 * That part is an end or the whole of the block, so no spare is needed.
 * `path` and `depth` as for cbs_remove. */
static void cbs_found(Range range_return, Range old_range_return, CBS cbs,
                      SplayNode node, Size size, LandFindDelete find_delete,
                      SplayNode *path, Count depth)
{
  CBSBlock block = cbs_block_of_node(node);
  range_init(old_range_return, block->base, block->limit);
  land_find_part(range_return, old_range_return, size, find_delete);
  if (find_delete != LAND_FIND_DELETE_NONE)
    cbs_remove(cbs, block, range_return, NULL, path, depth);
}

/* The path from the root down to `block` in path[0..depth), found by a
 * descent without splaying to its base (cbs_descend_to); the depth, or 0
 * if the block is more than CBS_DESCENT_MAX levels down. */
static Count cbs_path_to(SplayNode *path, CBS cbs, CBSBlock block)
{
  CBSBlock found;
  Count depth;
  if (!cbs_descend_to(&found, path, &depth, cbs, block->base))
    return 0;
  AVER_CRITICAL(found == block);
  return depth;
}

/* First fit by a descent without splaying, guided by the summaries: the
 * lowest block of at least `size` is in the left subtree if that holds
 * one, else the node itself if it is big enough, else in the right
 * subtree.  Its path goes to path[0..*depth_o).  False, having found
 * nothing out, if that is more than CBS_DESCENT_MAX levels down; else
 * true, with *block_o NULL if no block is big enough.  Like the descending
 * insertion, this leaves the splaying to the deep cases, which it
 * shortens: a find whose block is then shrunk (the usual case, a fill)
 * only recomputes the summaries on the path. */
static bool cbs_descend_first(CBSBlock *block_o, SplayNode *path, Count *depth_o,
                              CBS cbs, Size size)
{
  SplayNode node = splay_tree_root(&cbs->tree);
  Count depth = 0;
  *block_o = NULL;
  *depth_o = 0;
  if (node == NULL || cbs_block_of_node(node)->max_size < size)
    return true;
  for (;;) {
    CBSBlock block = cbs_block_of_node(node);
    if (depth == cbs->descent_max)
      return false;
    path[depth++] = node;
    if (node->left != NULL && cbs_block_of_node(node->left)->max_size >= size) {
      node = node->left;
    } else if (cbs_block_size(block) >= size) {
      *block_o = block;
      *depth_o = depth;
      return true;
    } else {
      node = node->right;
      AVER_CRITICAL(node != NULL);   /* the summary says a fit is below */
    }
  }
}

static bool cbs_land_find_first(Range range_return, Range old_range_return,
                                Land land, Size size,
                                LandFindDelete find_delete)
{
  CBS cbs = cbs_of_land(land);
  SplayNode node, path[CBS_DESCENT_MAX];
  CBSBlock block;
  Count depth;
  AVERT(cbs, cbs);
  if (cbs_descend_first(&block, path, &depth, cbs, size)) {
    if (block == NULL)
      return false;
    cbs_found(range_return, old_range_return, cbs, &block->node, size, find_delete,
              path, depth);
    return true;
  }
  if (!splay_tree_find_first(&cbs->tree, &node, cbs_test_node,
                             cbs_test_tree, &size))
    return false;
  cbs_found(range_return, old_range_return, cbs, node, size, find_delete, NULL, 0);
  return true;
}

static bool cbs_land_find_last(Range range_return, Range old_range_return,
                               Land land, Size size,
                               LandFindDelete find_delete)
{
  CBS cbs = cbs_of_land(land);
  SplayNode node;
  AVERT(cbs, cbs);
  if (!splay_tree_find_last(&cbs->tree, &node, cbs_test_node,
                            cbs_test_tree, &size))
    return false;
  cbs_found(range_return, old_range_return, cbs, node, size, find_delete, NULL, 0);
  return true;
}

/* Best fit (see "Size bins" above): the smallest block of at least
 * `size` bytes, the lowest of equals. */
static bool cbs_land_find_best(Range range_return, Range old_range_return,
                               Land land, Size size,
                               LandFindDelete find_delete)
{
  CBS cbs = cbs_of_land(land);
  CBSBlock block, best = NULL;
  SplayNode path[CBS_DESCENT_MAX];
  Index i;
  AVERT(cbs, cbs);
  for (i = cbs_bin_of(size); i < CBS_BINS && best == NULL; i = cbs_bin_next_used(cbs, i)) {
    for (block = cbs->bin[i]; block != NULL; block = block->bin_next) {
      Size block_size = cbs_block_size(block);
      if (block_size >= size
          && (best == NULL || block_size < cbs_block_size(best)
              || (block_size == cbs_block_size(best)
                  && addr_word(block->base) < addr_word(best->base))))
        best = block;
    }
  }
  if (best == NULL)
    return false;
  /* A block that the find shrinks or takes out needs its path (see
   * cbs_remove). */
  cbs_found(range_return, old_range_return, cbs, &best->node, size, find_delete, path,
            find_delete == LAND_FIND_DELETE_NONE ? 0 : cbs_path_to(path, cbs, best));
  return true;
}

/* The root's summary is the largest size; the first block of that size
 * is the lowest of the largest, as land.h promises. */
static bool cbs_land_find_largest(Range range_return, Range old_range_return,
                                  Land land, Size size,
                                  LandFindDelete find_delete)
{
  CBS cbs = cbs_of_land(land);
  SplayNode root, node;
  Size largest;
  bool found;
  AVERT(cbs, cbs);
  root = splay_tree_root(&cbs->tree);
  if (root == NULL)
    return false;
  largest = cbs_block_of_node(root)->max_size;
  if (largest < size)
    return false;
  found = splay_tree_find_first(&cbs->tree, &node, cbs_test_node,
                                cbs_test_tree, &largest);
  AVER(found);
  if (!found)
    return false;
  if (find_delete != LAND_FIND_DELETE_NONE)
    find_delete = LAND_FIND_DELETE_ENTIRE;
  cbs_found(range_return, old_range_return, cbs, node, largest,
            find_delete, NULL, 0);
  return true;
}

/* A descent without splaying, as cbs_descend_to's, to any block meeting
 * the range (blocks are disjoint, so the first met settles it).  Past the
 * descent's limit, the splaying search and the next block after the
 * range's base: a deep tree gets its splays, as elsewhere. */
static bool cbs_land_overlaps(Land land, Range range)
{
  CBS cbs = cbs_of_land(land);
  Addr base = range_base(range), limit = range_limit(range);
  SplayNode node = splay_tree_root(&cbs->tree);
  Count depth;
  AVERT(cbs, cbs);
  for (depth = 0; node != NULL && depth < cbs->descent_max; ++depth) {
    CBSBlock block = cbs_block_of_node(node);
    if (addr_word(limit) <= addr_word(block->base))
      node = node->left;
    else if (addr_word(base) >= addr_word(block->limit))
      node = node->right;
    else
      return true;
  }
  if (node == NULL)
    return false;
  if (splay_tree_find(&cbs->tree, &node, &base))
    return true;
  node = splay_tree_next(&cbs->tree, &base);
  return node != NULL && addr_word(cbs_block_of_node(node)->base) < addr_word(limit);
}

static const land_class_s cbs_class_struct = {
  LAND_CLASS_SIG,
  "CBS",
  cbs_land_init,
  cbs_land_finish,
  cbs_land_size,
  cbs_land_insert,
  cbs_land_delete,
  cbs_land_iterate,
  cbs_land_iterate_and_delete,
  cbs_land_find_first,
  cbs_land_find_last,
  cbs_land_find_best,
  cbs_land_find_largest,
  cbs_land_overlaps,
  cbs_land_check,
};

LandClass cbs_class(void)
{
  return &cbs_class_struct;
}

Res cbs_init(CBS cbs, Align alignment, const cbs_node_alloc_s *alloc)
{
  AVER(cbs != NULL);
  return land_init(&cbs->land, cbs_class(), alignment, alloc);
}

void cbs_finish(CBS cbs)
{
  AVERT(cbs, cbs);
  land_finish(&cbs->land);
}

void cbs_descent_max_set(CBS cbs, Count max)
{
  AVERT(cbs, cbs);
  AVER(max >= 1 && max <= CBS_DESCENT_MAX);
  cbs->descent_max = max;
}

Land cbs_land(CBS cbs)
{
  AVERT(cbs, cbs);
  return &cbs->land;
}
