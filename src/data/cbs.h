/* cbs.h: coalescing block structure -- a land in a splay tree
 * (design/cbs.txt).
 *
 * Each range of the land is a block descriptor (a node of a splay tree
 * keyed by base address) that also holds the size of the largest block in
 * its subtree, so that find_first, find_last and find_largest take time
 * logarithmic (amortized) in the number of blocks.  Each block is also on
 * the list of its size bin (CBS_BIN_STEPS bins per doubling), so that
 * find_best looks only at the blocks of the bin of the size asked for and
 * of the next bin that has any.  The block descriptors
 * come from a node allocator the client supplies.  An operation that
 * needs a new descriptor (inserting a range that touches no block, or
 * deleting from the middle of a block) allocates it before changing
 * anything: if the allocator returns NULL, the operation returns
 * MPS_RES_MEMORY and the land is unchanged.  Nothing else allocates:
 * coalescing, shrinking or removing a block only frees.
 *
 * Class argument for land_init: a const cbs_node_alloc_s *, copied.
 */
#ifndef cbs_h
#define cbs_h

#include "land.h"
#include "splay.h"

/* Where block descriptors come from.  alloc returns `size` bytes aligned
 * for any object, or NULL if it has none; free takes back a descriptor
 * with the size it was allocated with.  Both receive `closure`. */
typedef struct cbs_node_alloc_s {
  void *(*alloc)(void *closure, size_t size);
  void (*free)(void *closure, void *p, size_t size);
  void *closure;
} cbs_node_alloc_s;

typedef struct cbs_s *CBS;

#define CBS_BIN_SHIFT 2
#define CBS_BIN_STEPS ((Count)1 << CBS_BIN_SHIFT)
#define CBS_BINS (WORD_WIDTH * CBS_BIN_STEPS)

/* The deepest node an operation reaches by descending from the root
 * without splaying; deeper ones splay (cbs.c, cbs_insert_descending). */
#define CBS_DESCENT_MAX 24

typedef struct cbs_s {
  land_s land;            /* first member: a CBS is a Land */
  splay_tree_s tree;      /* of cbs_block_s, by base address */
  cbs_node_alloc_s alloc;
  Count count;            /* number of blocks */
  Size size;              /* total size of the blocks */
  Count descent_max;      /* 1..CBS_DESCENT_MAX: see cbs_descent_max_set */
  struct cbs_block_s *bin[CBS_BINS];   /* each bin's list of blocks */
  Word bin_used[CBS_BINS / WORD_WIDTH];   /* bit set: that list is not empty */
  Sig sig;                /* CBS_SIG (cbs.c) */
} cbs_s;

/* The size of a block descriptor, the only size CBS asks its allocator
 * for (so that a pool of fixed-size units can serve it). */
extern const size_t cbs_node_size;

LandClass cbs_class(void);
bool cbs_check(CBS cbs);
/* For tests and fuzz targets: splay for paths deeper than `max` (1 to
 * CBS_DESCENT_MAX) instead, so that small trees take the splaying paths
 * that otherwise only large ones reach. */
void cbs_descent_max_set(CBS cbs, Count max);
/* Walk every block and check what cbs_check cannot afford to: the tree
 * order, every subtree summary, the blocks isolated, non-empty and
 * aligned, and count and size.  Linear time; for tests and debugging.
 * Returns false on the first inconsistency, in every variety. */
bool cbs_check_deep(CBS cbs);

/* land_init(cbs_land(cbs), cbs_class(), alignment, alloc). */
Res cbs_init(CBS cbs, Align alignment, const cbs_node_alloc_s *alloc);
/* Frees every block descriptor. */
void cbs_finish(CBS cbs);
Land cbs_land(CBS cbs);

#endif /* cbs_h */
