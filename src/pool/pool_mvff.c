/* pool_mvff.c: MVFF, the manual variable-size first-fit pool
 * (design/poolmvff.txt, design/failover.txt, design/cbs.txt;
 * manual/pool/mvff.rst, manual/guide/malloc.rst).
 *
 * Free memory is a failover land: a CBS whose block descriptors come from
 * an internal MFS pool, backed by a freelist that keeps its descriptors in
 * the free memory itself, so that inserting a range (mps_free, emptying a
 * buffer) never fails for want of a descriptor.  The memory obtained from
 * the arena is a second CBS (grain-aligned ranges), so that total_size is
 * exact and finish can give every grain back.
 *
 * Placement.  The manual documents two combinations of the three
 * booleans: the defaults (ARENA_HIGH false, SLOT_HIGH false, FIRST_FIT
 * true) are "a simple first-fit allocator", and ARENA_HIGH and SLOT_HIGH
 * true with FIRST_FIT false are "a first-fit allocator that works from
 * the top of memory downwards".  Its one-line descriptions of SLOT_HIGH
 * and FIRST_FIT, read literally, would make the defaults hand out the top
 * of the lowest free block, which is not first fit.  We read them so that
 * both documented combinations mean what the manual says they mean:
 *   FIRST_FIT  true: use the lowest free block that is big enough;
 *              false: use the highest one;
 *   SLOT_HIGH  false: take the block's low end; true: its high end.
 * So the defaults allocate at the lowest address that fits, and the other
 * documented combination at the highest.
 *   ARENA_HIGH is accepted and kept, but the arena offers no choice of
 * placement (arena_alloc is first fit from low addresses), so it changes
 * only which end of free memory goes back to the arena first when the
 * pool gives up spare memory: the low end if true, the high end if false,
 * keeping the memory the allocation policy prefers.
 *
 * Allocation points are filled worst fit (the manual): a fill takes the
 * whole largest free block, so that the client's thread allocates inline
 * for as long as possible.  To keep fills rare, a fill does not settle for
 * a block smaller than fill_min (a few dozen mean-sized objects, at most
 * half of extend_by) while the arena can supply a fresh extension; holes
 * smaller than that are left to mps_alloc and to coalescing.
 *
 * free_size is the free land only.  The unused rest of a buffer's region
 * belongs to its allocation point, whose thread may be allocating from it
 * at this moment without the arena lock, so it counts as in use; it comes
 * back to the free land when the buffer is emptied.
 *
 * Client errors.  Freeing memory that is already free (a double free, or
 * a range overlapping free memory) is reported by the free land's
 * insertion, which refuses it and changes nothing, so a returning
 * assertion handler leaves the pool consistent.  mps_free also checks
 * that the last byte of the block belongs to this pool (the generic code
 * checks the first), and refuses the free if not.
 *
 * Invariants (mvff_check):
 *   1. extend_by is a positive multiple of the arena grain;
 *   2. mean_size is positive and at most extend_by; fill_min is aligned
 *      and at most extend_by;
 *   3. 0 <= spare <= 1;
 *   4. the alignment is at least a pointer and at most a grain, and is
 *      the free land's; the total land's alignment is the grain;
 *   5. the lands and the node pool are valid;
 *   6. free memory is part of the memory obtained: free <= total;
 *   7. total_bytes and free_bytes are the sizes of the two lands.
 */
#include "../../include/mpscmfs.h"
#include "../../include/mpscmvff.h"
#include "../base/args.h"
#include "../data/cbs.h"
#include "../data/failover.h"
#include "../data/freelist.h"
#include "buffer.h"

#define MVFF_SIG SIG_MAKE(0xB0)
#define MVFF_DEFAULT_EXTEND_BY ((Size)65536)
#define MVFF_DEFAULT_MEAN_SIZE ((Size)32)
#define MVFF_DEFAULT_SPARE 0.75
/* A fill wants room for at least this many mean-sized objects. */
#define MVFF_FILL_OBJECTS ((Size)32)

typedef struct mvff_s {
  mps_pool_s pool;          /* first: an MVFF is a pool */
  Size extend_by;           /* grains to ask the arena for, as bytes */
  Size mean_size;           /* the client's hint */
  Size fill_min;            /* see "Allocation points" above */
  double spare;             /* fraction of total that may stay free */
  bool arena_high, slot_high, first_fit;
  Pool nodes;               /* MFS of CBS block descriptors */
  Res node_res;             /* why the last descriptor allocation failed */
  bool finishing;           /* descriptors need not go back one by one */
  cbs_s total_cbs;          /* memory obtained from the arena */
  cbs_s free_cbs;           /* free memory: primary ... */
  freelist_s free_fl;       /* ... secondary ... */
  failover_s free_fo;       /* ... and the land over both */
  Size total_bytes;         /* the size of the total land ... */
  Size free_bytes;          /* ... and of the free land, kept here so that
                             * the spare test on every free is cheap */
  Sig sig;
} mvff_s;
typedef mvff_s *MVFF;

static MVFF mvff_of_pool(Pool pool)
{
  return PARENT(mvff_s, pool, pool);
}

static Land mvff_total_land(MVFF mvff)
{
  return cbs_land(&mvff->total_cbs);
}

static Land mvff_free_land(MVFF mvff)
{
  return failover_land(&mvff->free_fo);
}

static bool mvff_check(Pool pool)
{
  MVFF mvff = mvff_of_pool(pool);
  Size grain;
  CHECKS(MVFF_SIG, mvff);
  grain = pool->arena->grain_size;
  CHECKL(mvff->extend_by > 0 && size_is_aligned(mvff->extend_by, grain));   /* 1 */
  CHECKL(mvff->mean_size > 0 && mvff->mean_size <= mvff->extend_by);        /* 2 */
  CHECKL(size_is_aligned(mvff->fill_min, pool->alignment));
  CHECKL(mvff->fill_min <= mvff->extend_by);
  CHECKL(mvff->spare >= 0.0 && mvff->spare <= 1.0);                          /* 3 */
  CHECKL(pool->alignment >= sizeof(void *) && pool->alignment <= grain);     /* 4 */
  CHECKL(mvff->free_fo.land.alignment == pool->alignment);
  CHECKL(mvff->total_cbs.land.alignment == grain);
  CHECKD(cbs, &mvff->total_cbs);                                             /* 5 */
  CHECKD(failover, &mvff->free_fo);
  CHECKU(POOL_SIG, mvff->nodes);
  CHECKL(mvff->free_bytes <= mvff->total_bytes);                             /* 6 */
  CHECKL(mvff->total_bytes == land_size(mvff_total_land(mvff)));             /* 7 */
  CHECKL(mvff->free_bytes == land_size(mvff_free_land(mvff)));
  return true;
}

/* The CBS node allocator: units of the internal MFS pool.  A failure is
 * remembered so that the client hears the arena's reason (for example
 * MPS_RES_COMMIT_LIMIT) rather than a generic MPS_RES_MEMORY. */
static void *mvff_node_alloc(void *closure, size_t size)
{
  MVFF mvff = closure;
  Addr p;
  Res res = pool_alloc(&p, mvff->nodes, size);
  if (res != MPS_RES_OK) {
    mvff->node_res = res;
    return NULL;
  }
  return addr_ptr(p);
}

static void mvff_node_free(void *closure, void *p, size_t size)
{
  MVFF mvff = closure;
  /* While finishing, the whole node pool is about to be destroyed: giving
   * back thousands of descriptors one by one (each checked in cool) would
   * be wasted work. */
  if (!mvff->finishing)
    pool_free(mvff->nodes, addr_of_ptr(p), size);
}

/* Make sure the node pool holds a free descriptor, so that the next
 * single CBS operation on the total land cannot fail for want of one
 * (nothing else allocates from the node pool in between). */
static Res mvff_reserve_node(MVFF mvff)
{
  Addr p;
  Res res = pool_alloc(&p, mvff->nodes, cbs_node_size);
  if (res != MPS_RES_OK)
    return res;
  pool_free(mvff->nodes, p, cbs_node_size);
  return MPS_RES_OK;
}

static Res mvff_init(Pool pool, mps_arg_s args[])
{
  MVFF mvff = mvff_of_pool(pool);
  Arena arena = pool->arena;
  Size grain = arena->grain_size;
  Size extend_by = MVFF_DEFAULT_EXTEND_BY, mean_size = MVFF_DEFAULT_MEAN_SIZE;
  Align align = MPS_PF_ALIGN;
  double spare = MVFF_DEFAULT_SPARE;
  bool arena_high = false, slot_high = false, first_fit = true;
  cbs_node_alloc_s node_alloc;
  mps_arg_s arg;
  Res res;

  if (args_pick(&arg, args, MPS_KEY_EXTEND_BY))
    extend_by = arg.val.size;
  if (args_pick(&arg, args, MPS_KEY_MEAN_SIZE))
    mean_size = arg.val.size;
  if (args_pick(&arg, args, MPS_KEY_ALIGN))
    align = arg.val.align;
  if (args_pick(&arg, args, MPS_KEY_SPARE))
    spare = arg.val.d;
  if (args_pick(&arg, args, MPS_KEY_MVFF_ARENA_HIGH))
    arena_high = arg.val.b != 0;
  if (args_pick(&arg, args, MPS_KEY_MVFF_SLOT_HIGH))
    slot_high = arg.val.b != 0;
  if (args_pick(&arg, args, MPS_KEY_MVFF_FIRST_FIT))
    first_fit = arg.val.b != 0;

  if (extend_by == 0 || extend_by > SIZE_MAX - grain)
    return MPS_RES_PARAM;
  if (mean_size == 0 || mean_size > extend_by)
    return MPS_RES_PARAM;
  if (!size_is_p2(align) || align < sizeof(void *) || align > grain)
    return MPS_RES_PARAM;
  if (!(spare >= 0.0 && spare <= 1.0))   /* also refuses a NaN */
    return MPS_RES_PARAM;
  AVER(align >= FREELIST_MIN_ALIGN);   /* a pointer is at least a word here */

  extend_by = size_align_up(extend_by, grain);
  mvff->extend_by = extend_by;
  mvff->mean_size = mean_size;
  /* No overflow: mean_size <= extend_by / (2 * MVFF_FILL_OBJECTS) there. */
  if (mean_size > extend_by / (2 * MVFF_FILL_OBJECTS))
    mvff->fill_min = size_align_down(extend_by / 2, align);
  else
    mvff->fill_min = size_align_up(mean_size * MVFF_FILL_OBJECTS, align);
  mvff->spare = spare;
  mvff->arena_high = arena_high;
  mvff->slot_high = slot_high;
  mvff->first_fit = first_fit;
  mvff->node_res = MPS_RES_OK;
  mvff->finishing = false;
  mvff->total_bytes = 0;
  mvff->free_bytes = 0;
  pool->alignment = align;

  MPS_ARGS_BEGIN(mfs_args) {
    MPS_ARGS_ADD(mfs_args, MPS_KEY_MFS_UNIT_SIZE, cbs_node_size);
    MPS_ARGS_ADD(mfs_args, MPS_KEY_EXTEND_BY, grain);
    res = pool_create(&mvff->nodes, arena, mps_class_mfs(), mfs_args);
  } MPS_ARGS_END(mfs_args);
  if (res != MPS_RES_OK)
    return res;

  node_alloc.alloc = mvff_node_alloc;
  node_alloc.free = mvff_node_free;
  node_alloc.closure = mvff;
  res = cbs_init(&mvff->total_cbs, grain, &node_alloc);
  if (res != MPS_RES_OK)
    goto fail_total;
  res = cbs_init(&mvff->free_cbs, align, &node_alloc);
  if (res != MPS_RES_OK)
    goto fail_free_cbs;
  res = freelist_init(&mvff->free_fl, align);
  if (res != MPS_RES_OK)
    goto fail_free_fl;
  res = failover_init(&mvff->free_fo, cbs_land(&mvff->free_cbs),
                      freelist_land(&mvff->free_fl));
  if (res != MPS_RES_OK)
    goto fail_failover;
  mvff->sig = MVFF_SIG;
  return MPS_RES_OK;

fail_failover:
  freelist_finish(&mvff->free_fl);
fail_free_fl:
  cbs_finish(&mvff->free_cbs);
fail_free_cbs:
  cbs_finish(&mvff->total_cbs);
fail_total:
  pool_destroy(mvff->nodes);
  return res;
}

static bool mvff_give_back_visit(Land land, Range range, void *closure)
{
  Pool pool = closure;
  UNUSED(land);
  arena_free(pool->arena, range_base(range), range_size(range), pool);
  return true;
}

static void mvff_finish(Pool pool)
{
  MVFF mvff = mvff_of_pool(pool);
  AVERT(pool, pool);
  mvff->sig = SIG_INVALID;
  mvff->finishing = true;
  /* The free land first: its freelist lives in memory about to go back. */
  failover_finish(&mvff->free_fo);
  freelist_finish(&mvff->free_fl);
  cbs_finish(&mvff->free_cbs);
  (void)land_iterate(mvff_total_land(mvff), mvff_give_back_visit, pool);
  cbs_finish(&mvff->total_cbs);
  pool_destroy(mvff->nodes);
}

/* Get at least `size` bytes more from the arena and add them to the
 * free land.  On failure nothing has changed but, perhaps, the node pool
 * (which may have grown by an extent). */
static Res mvff_extend(MVFF mvff, Size size)
{
  Pool pool = &mvff->pool;
  Arena arena = pool->arena;
  Size grain = arena->grain_size, need, want;
  range_s range, joined;
  Addr base;
  Res res;

  if (size > SIZE_MAX - grain)
    return MPS_RES_RESOURCE;   /* no address space could hold it */
  need = size_align_up(size, grain);
  want = size_max(need, mvff->extend_by);

  /* Before taking memory, so that recording it cannot fail. */
  res = mvff_reserve_node(mvff);
  if (res != MPS_RES_OK)
    return res;
  res = arena_alloc(&base, arena, want, pool);
  if (res != MPS_RES_OK && want > need) {
    /* Perhaps just enough for this request fits (design/poolmvff.txt). */
    want = need;
    res = arena_alloc(&base, arena, want, pool);
  }
  if (res != MPS_RES_OK)
    return res;

  range_init_size(&range, base, want);
  mvff->node_res = MPS_RES_OK;
  res = land_insert(&joined, mvff_total_land(mvff), &range);
  AVER(res == MPS_RES_OK);   /* the node was reserved */
  if (res != MPS_RES_OK) {
    arena_free(arena, base, want, pool);
    return mvff->node_res != MPS_RES_OK ? mvff->node_res : res;
  }
  /* The failover falls back to its freelist: this cannot fail. */
  res = land_insert(&joined, mvff_free_land(mvff), &range);
  AVER(res == MPS_RES_OK);
  UNUSED(res);
  mvff->total_bytes += want;
  mvff->free_bytes += want;
  return MPS_RES_OK;
}

/* Give whole free grains back to the arena while more than the spare
 * fraction of the pool's memory is free. */
static void mvff_reduce(MVFF mvff)
{
  Pool pool = &mvff->pool;
  Arena arena = pool->arena;
  Size grain = arena->grain_size;
  Size total = mvff->total_bytes, free = mvff->free_bytes;
  Size goal, returned = 0;
  double excess;

  if ((double)free <= mvff->spare * (double)total)
    return;
  /* Returning x bytes leaves free - x of total - x: enough once
   * free - x <= spare * (total - x), that is x >= excess / (1 - spare)
   * (spare < 1 here, or the test above would have returned). */
  excess = ((double)free - mvff->spare * (double)total) / (1.0 - mvff->spare);
  if (excess >= (double)free)
    goal = free;
  else
    goal = (Size)excess + 1;
  goal = size_align_up(size_min(goal, SIZE_MAX - grain), grain);

  while (returned < goal) {
    range_s block, old, part, deleted;
    Addr base, limit;
    Size size;
    Res res;
    if (!land_find_largest(&block, &old, mvff_free_land(mvff), grain,
                           LAND_FIND_DELETE_NONE))
      break;
    base = addr_align_up(range_base(&block), grain);
    limit = addr_align_down(range_limit(&block), grain);
    if (addr_word(base) >= addr_word(limit))
      break;   /* the largest block holds no whole grain: nor does any */
    size = size_min(addr_offset(base, limit), goal - returned);
    if (mvff->arena_high)
      range_init_size(&part, base, size);
    else
      range_init(&part, addr_sub(limit, size), limit);
    /* The total land may need a descriptor to split a range; without one,
     * keep the memory (giving it back is only an economy). */
    if (mvff_reserve_node(mvff) != MPS_RES_OK)
      break;
    res = land_delete(&deleted, mvff_total_land(mvff), &part);
    AVER(res == MPS_RES_OK);
    if (res != MPS_RES_OK)
      break;
    /* The failover deletes without failing: fragments it cannot describe
     * in the CBS go to the freelist. */
    res = land_delete(&deleted, mvff_free_land(mvff), &part);
    AVER(res == MPS_RES_OK);
    UNUSED(res);
    arena_free(arena, range_base(&part), size, pool);
    mvff->total_bytes -= size;
    mvff->free_bytes -= size;
    returned += size;
  }
}

/* Find and take `size` bytes for mps_alloc by the placement policy. */
static bool mvff_find(Range found, MVFF mvff, Size size)
{
  range_s old;
  LandFindDelete which = mvff->slot_high ? LAND_FIND_DELETE_HIGH : LAND_FIND_DELETE_LOW;
  if (mvff->first_fit)
    return land_find_first(found, &old, mvff_free_land(mvff), size, which);
  return land_find_last(found, &old, mvff_free_land(mvff), size, which);
}

static Res mvff_alloc(Addr *p_o, Pool pool, Size size)
{
  MVFF mvff = mvff_of_pool(pool);
  range_s found;
  Res res;
  AVER(p_o != NULL);
  AVER(size > 0);
  if (!mvff_find(&found, mvff, size)) {
    res = mvff_extend(mvff, size);
    if (res != MPS_RES_OK)
      return res;
    if (!mvff_find(&found, mvff, size)) {
      NOTREACHED;   /* the extension alone is big enough */
      return MPS_RES_FAIL;
    }
  }
  mvff->free_bytes -= size;
  *p_o = range_base(&found);
  return MPS_RES_OK;
}

/* Whether the last byte of [old, old + size) is also this pool's (the
 * generic code checked the first).  Together with the free land's refusal
 * of anything overlapping free memory, this keeps a wrong size from
 * adding someone else's memory to the pool. */
static bool mvff_block_is_ours(Pool pool, Addr old, Size size)
{
  return addr_word(old) + size > addr_word(old)
         && arena_pool_of_addr(pool->arena, addr_add(old, size - 1)) == pool;
}

static void mvff_free(Pool pool, Addr old, Size size)
{
  MVFF mvff = mvff_of_pool(pool);
  range_s range, joined;
  bool ours;
  Res res;
  AVER(old != NULL);
  AVER(size > 0);
  ours = mvff_block_is_ours(pool, old, size);
  AVER(ours);
  if (!ours)
    return;
  range_init_size(&range, old, size);
  /* A range overlapping free memory is refused by the land, which reports
   * it through the assertion handler and changes nothing. */
  res = land_insert(&joined, mvff_free_land(mvff), &range);
  if (res != MPS_RES_OK)
    return;
  mvff->free_bytes += size;
  mvff_reduce(mvff);
}

/* Worst fit: the largest free block, so the allocation point runs inline
 * for as long as possible.  See "Allocation points" above for fill_min. */
static Res mvff_buffer_fill(Addr *base_o, Addr *limit_o, Pool pool,
                            Buffer buffer, Size size)
{
  MVFF mvff = mvff_of_pool(pool);
  Land free_land = mvff_free_land(mvff);
  Size want = size_max(size, mvff->fill_min);
  range_s found, old;
  Res res;
  UNUSED(buffer);
  AVER(size > 0);

  if (!land_find_largest(&found, &old, free_land, want, LAND_FIND_DELETE_ENTIRE)) {
    res = mvff_extend(mvff, want);
    if (res != MPS_RES_OK) {
      /* No fresh memory: a smaller block will do, or just enough more. */
      if (want > size
          && (land_find_largest(&found, &old, free_land, size, LAND_FIND_DELETE_ENTIRE)
              || (mvff_extend(mvff, size) == MPS_RES_OK
                  && land_find_largest(&found, &old, free_land, size,
                                       LAND_FIND_DELETE_ENTIRE))))
        goto found;
      return res;
    }
    if (!land_find_largest(&found, &old, free_land, want, LAND_FIND_DELETE_ENTIRE)) {
      NOTREACHED;
      return MPS_RES_FAIL;
    }
  }
found:
  mvff->free_bytes -= range_size(&found);
  *base_o = range_base(&found);
  *limit_o = range_limit(&found);
  return MPS_RES_OK;
}

static void mvff_buffer_empty(Pool pool, Buffer buffer, Addr init, Addr limit)
{
  MVFF mvff = mvff_of_pool(pool);
  range_s range, joined;
  Res res;
  UNUSED(buffer);
  if (init == limit)
    return;
  range_init(&range, init, limit);
  /* Fails only if the client freed part of the unused region, which the
   * land reports; the overlapping rest then stays out of the pool. */
  res = land_insert(&joined, mvff_free_land(mvff), &range);
  if (res == MPS_RES_OK) {
    mvff->free_bytes += range_size(&range);
    mvff_reduce(mvff);
  }
}

static Size mvff_total_size(Pool pool)
{
  return mvff_of_pool(pool)->total_bytes;
}

static Size mvff_free_size(Pool pool)
{
  return mvff_of_pool(pool)->free_bytes;
}

static struct mps_pool_class_s mvff_class_s = {
  POOL_CLASS_SIG, "MVFF", sizeof(mvff_s),
  mvff_init, mvff_finish, mvff_alloc, mvff_free,
  mvff_buffer_fill, mvff_buffer_empty,
  mvff_total_size, mvff_free_size,
  NULL, NULL,
  mvff_check
};

mps_pool_class_t mps_class_mvff(void)
{
  return &mvff_class_s;
}
