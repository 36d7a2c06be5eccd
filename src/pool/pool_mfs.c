/* pool_mfs.c: MFS, the manual fixed-size pool (design/poolmfs.txt,
 * manual/pool/mfs.rst).
 *
 * Every block is one unit of unit_size bytes.  Units come from extents of
 * extend_by bytes obtained from the arena; free units form a stack linked
 * through their first word, so allocation and freeing are a pop and a
 * push.  Extents are recorded in arena control memory and all go back to
 * the arena when the pool is destroyed (MFS never returns memory sooner).
 *
 * Invariants (mfs_check):
 *   1. unit_size is at least a word and a multiple of the alignment;
 *   2. extend_by is a multiple of the arena grain and holds a unit;
 *   3. free_count units are free, and total = extents * extend_by.
 *   4. a free unit of two words or more holds the mark mfs_mark in its
 *      second word.
 * A double free is refused in hot and cool: a freed unit with a mark
 * (invariant 4) is confirmed free by a walk of the free stack, so that
 * client data that happens to equal the mark costs a walk but is never
 * reported, and allocation clears the mark so that a live unit rarely
 * matches.  In cool, mps_free also checks that the block is a unit
 * boundary of one of the pool's extents and not free whatever its size,
 * which costs a walk of the extents and the free stack every time.
 */
#include "../../include/mpscmfs.h"
#include "../base/args.h"
#include "pool.h"

#define MFS_SIG SIG_MAKE(0xA0)
#define MFS_DEFAULT_EXTEND_BY ((Size)65536)
#define MFS_MARK ((Word)0xC2B2AE3D27D4EB4FULL)

typedef struct mfs_extent_s {
  struct mfs_extent_s *next;
  Addr base;
} mfs_extent_s;

typedef struct mfs_s {
  mps_pool_s pool;          /* first: an MFS is a pool */
  Size unit_size;
  Size extend_by;
  Count units_per_extent;
  Addr free_head;           /* top of the free stack, or NULL */
  Count free_count;
  mfs_extent_s *extents;
  Count extent_count;
  Word mark_key;            /* the pool's address ^ MFS_MARK (mfs_mark) */
  bool marked;              /* units have room for the mark, and this
                             * variety checks (invariant 4) */
  Sig sig;
} mfs_s;
typedef mfs_s *MFS;

static MFS mfs_of_pool(Pool pool)
{
  return PARENT(mfs_s, pool, pool);
}

/* The mark of a free unit: its address and the pool's, so that a unit of
 * another pool, or one moved by the client, never carries this pool's. */
static inline Word mfs_mark(MFS mfs, Addr unit)
{
  return addr_word(unit) ^ mfs->mark_key;
}

static inline Word *mfs_words(Addr unit)
{
  return addr_ptr(unit);
}

static bool mfs_check(Pool pool)
{
  MFS mfs = mfs_of_pool(pool);
  CHECKS(MFS_SIG, mfs);
  CHECKL(mfs->unit_size >= sizeof(Word));                                    /* 1 */
  CHECKL(size_is_aligned(mfs->unit_size, pool->alignment));
  CHECKL(size_is_aligned(mfs->extend_by, pool->arena->grain_size));          /* 2 */
  CHECKL(mfs->units_per_extent == mfs->extend_by / mfs->unit_size);
  CHECKL(mfs->units_per_extent >= 1);
  CHECKL(mfs->free_count <= mfs->extent_count * mfs->units_per_extent);      /* 3 */
  CHECKL((mfs->free_count == 0) == (mfs->free_head == NULL));
  CHECKL(mfs->mark_key == ((Word)(uintptr_t)mfs ^ MFS_MARK));                 /* 4 */
  CHECKL(mfs->marked == (CHECK_LEVEL >= 1 && mfs->unit_size >= 2 * sizeof(Word)));
  CHECKL(!mfs->marked || mfs->free_head == NULL
         || mfs_words(mfs->free_head)[1] == mfs_mark(mfs, mfs->free_head));
  return true;
}

static Res mfs_init(Pool pool, mps_arg_s args[])
{
  MFS mfs = mfs_of_pool(pool);
  Size grain = pool->arena->grain_size;
  Size unit, extend_by = MFS_DEFAULT_EXTEND_BY;
  mps_arg_s arg;

  if (!args_pick(&arg, args, MPS_KEY_MFS_UNIT_SIZE))
    return MPS_RES_PARAM;   /* required (pool/mfs.rst) */
  unit = arg.val.size;
  if (unit < sizeof(Word) || unit > SIZE_MAX / 2)
    return MPS_RES_PARAM;
  unit = size_align_up(unit, pool->alignment);
  if (args_pick(&arg, args, MPS_KEY_EXTEND_BY))
    extend_by = arg.val.size;
  if (extend_by < unit)
    extend_by = unit;
  if (extend_by > SIZE_MAX - grain)
    return MPS_RES_PARAM;
  extend_by = size_align_up(extend_by, grain);

  mfs->unit_size = unit;
  mfs->extend_by = extend_by;
  mfs->units_per_extent = extend_by / unit;
  mfs->free_head = NULL;
  mfs->free_count = 0;
  mfs->extents = NULL;
  mfs->extent_count = 0;
  mfs->mark_key = (Word)(uintptr_t)mfs ^ MFS_MARK;
  mfs->marked = CHECK_LEVEL >= 1 && unit >= 2 * sizeof(Word);   /* rash checks nothing */
  mfs->sig = MFS_SIG;
  return MPS_RES_OK;
}

static void mfs_finish(Pool pool)
{
  MFS mfs = mfs_of_pool(pool);
  Arena arena = pool->arena;
  while (mfs->extents != NULL) {
    mfs_extent_s *extent = mfs->extents;
    mfs->extents = extent->next;
    arena_free(arena, extent->base, mfs->extend_by, pool);
    arena_control_free(arena, extent, sizeof *extent);
  }
  mfs->sig = SIG_INVALID;
}

/* Get an extent from the arena and push all its units. */
static Res mfs_extend(MFS mfs)
{
  Pool pool = &mfs->pool;
  Arena arena = pool->arena;
  mfs_extent_s *extent;
  void *p;
  Addr base;
  Index i;
  Res res;

  res = arena_control_alloc(&p, arena, sizeof *extent);
  if (res != MPS_RES_OK)
    return res;
  res = arena_alloc(&base, arena, mfs->extend_by, pool);
  if (res != MPS_RES_OK) {
    arena_control_free(arena, p, sizeof *extent);
    return res;
  }
  extent = p;
  extent->base = base;
  extent->next = mfs->extents;
  mfs->extents = extent;
  ++mfs->extent_count;
  /* Push in reverse, so units are handed out in address order. */
  for (i = mfs->units_per_extent; i > 0; --i) {
    Addr unit = addr_add(base, (i - 1) * mfs->unit_size);
    *(Addr *)addr_ptr(unit) = mfs->free_head;
    if (mfs->marked)
      mfs_words(unit)[1] = mfs_mark(mfs, unit);
    mfs->free_head = unit;
  }
  mfs->free_count += mfs->units_per_extent;
  return MPS_RES_OK;
}

static Res mfs_alloc(Addr *p_o, Pool pool, Size size)
{
  MFS mfs = mfs_of_pool(pool);
  Addr unit;
  Res res;
  AVER(size <= mfs->unit_size);   /* MFS blocks are all one size */
  if (size > mfs->unit_size)
    return MPS_RES_PARAM;
  if (mfs->free_head == NULL) {
    res = mfs_extend(mfs);
    if (res != MPS_RES_OK)
      return res;
  }
  unit = mfs->free_head;
  mfs->free_head = *(Addr *)addr_ptr(unit);
  if (mfs->marked)
    mfs_words(unit)[1] = 0;   /* so a live unit rarely costs a walk */
  --mfs->free_count;
  *p_o = unit;
  return MPS_RES_OK;
}

/* Whether `unit` is on the free stack: a walk of up to free_count units. */
static bool mfs_is_free(MFS mfs, Addr unit)
{
  Addr free;
  for (free = mfs->free_head; free != NULL; free = *(Addr *)addr_ptr(free))
    if (free == unit)
      return true;
  return false;
}

/* Whether `old` starts a unit of one of the extents and is not free. */
static bool mfs_block_is_allocated(MFS mfs, Addr old)
{
  mfs_extent_s *extent;
  bool in_extent = false;
  for (extent = mfs->extents; extent != NULL; extent = extent->next) {
    if (addr_word(extent->base) <= addr_word(old)
        && addr_word(old) < addr_word(extent->base) + mfs->units_per_extent * mfs->unit_size) {
      in_extent = addr_offset(extent->base, old) % mfs->unit_size == 0;
      break;
    }
  }
  return in_extent && !mfs_is_free(mfs, old);
}

static void mfs_free(Pool pool, Addr old, Size size)
{
  MFS mfs = mfs_of_pool(pool);
  bool bad;
  AVER(size <= mfs->unit_size);
  UNUSED(size);
  if (CHECK_LEVEL >= 2)
    bad = !mfs_block_is_allocated(mfs, old);
  else
    bad = CHECK_LEVEL >= 1 && mfs->marked && mfs_words(old)[1] == mfs_mark(mfs, old)
          && mfs_is_free(mfs, old);
  AVER(!bad);   /* freed twice, or not a unit of this pool */
  if (bad)
    return;     /* refused: pushing it again would make the stack a cycle */
  *(Addr *)addr_ptr(old) = mfs->free_head;
  if (mfs->marked)
    mfs_words(old)[1] = mfs_mark(mfs, old);
  mfs->free_head = old;
  ++mfs->free_count;
}

static Size mfs_total_size(Pool pool)
{
  MFS mfs = mfs_of_pool(pool);
  return mfs->extent_count * mfs->extend_by;
}

static Size mfs_free_size(Pool pool)
{
  MFS mfs = mfs_of_pool(pool);
  /* Free units, and the tail of each extent too small for a unit. */
  return mfs->free_count * mfs->unit_size
         + mfs->extent_count * (mfs->extend_by - mfs->units_per_extent * mfs->unit_size);
}

static struct mps_pool_class_s mfs_class_s = {
  POOL_CLASS_SIG, "MFS", sizeof(mfs_s),
  mfs_init, mfs_finish, mfs_alloc, mfs_free,
  NULL, NULL,                 /* no allocation points (pool/mfs.rst) */
  mfs_total_size, mfs_free_size,
  NULL, NULL,
  mfs_check
};

mps_pool_class_t mps_class_mfs(void)
{
  return &mfs_class_s;
}
