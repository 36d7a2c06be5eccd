/* pool_mvt.c: MVT, the manual variable temporal-fit pool
 * (design/poolmvt.txt, manual/pool/mvt.rst, manual/topic/deprecated.rst).
 *
 * Blocks are allocated only through allocation points and freed with
 * mps_free.  Temporal fit: a point that runs dry is refilled with a large
 * contiguous region, so that blocks allocated one after another sit side
 * by side; they tend to die together, and freed neighbours coalesce into
 * large free blocks again.  Reuse of freed memory is put off until it has
 * coalesced into a block of at least reuse_size bytes, which then joins
 * the back of the available block queue (ABQ, abq.h): the oldest such
 * block is the next one handed to a point.
 *
 * Where memory is:
 *   - the land (free_land.h: a failover of a CBS, whose descriptors
 *     come from an internal MFS pool, over a freelist for when that pool
 *     cannot grow) holds all free memory except the splinter;
 *   - the ABQ names some blocks of the land: the reusable ones;
 *   - the splinter is the largest unused tail a point has handed back
 *     (at least min_size): the next fill that fits takes it, so that the
 *     blocks it holds are born soon after their neighbours;
 *   - everything else in the pool's grains is allocated, or lies in an
 *     allocation point.
 *
 * Sizes derived from the keyword arguments:
 *   fill_size    max_size / frag_limit, rounded up to whole grains: the
 *                region taken from the arena for a point;
 *   reuse_size   2 * fill_size: a free block this large is reusable, and
 *                always holds at least one whole grain;
 *   reserve_size reserve_depth * mean_size: bytes of reusable blocks the
 *                pool keeps for itself; beyond that, the oldest reusable
 *                blocks go back to the arena.
 *
 * Filling a point with a request of `size` bytes, first that works:
 *   1. size > fill_size (a large block, beyond what the pool is tuned
 *      for): a fresh region of whole grains from the arena, or failing
 *      that the first free block that fits;
 *   2. the splinter, if it fits;
 *   3. the oldest reusable block (the whole block);
 *   4. if free memory is more than frag_limit of the pool (fragmented),
 *      first fit: the lowest free block that fits, up to fill_size of it;
 *   5. fill_size fresh bytes from the arena;
 *   6. first fit as in 4, whatever the fragmentation (resources are short);
 *   7. fail with the arena's result code.
 * Freeing: the block joins the land, coalescing with its neighbours; a
 * block larger than fill_size instead gives its whole grains straight
 * back to the arena (large blocks have lifetimes of their own), and only
 * its ends join the land.
 *
 * Where this simplifies the design note:
 *   - "Oldest fit" in the contingency search is first fit (lowest
 *     address): the land keeps no ages.  The manual describes the fallback
 *     as first fit.
 *   - The reserve is counted in bytes of reusable blocks rather than by a
 *     queue length; a block that would take the kept bytes past the
 *     reserve is returned in part, down to whole grains.  The queue is
 *     still bounded (reserve_size / fill_size + 2 entries, at most
 *     MVT_ABQ_MAX) and, when full, its oldest block is returned.
 *   - The arena takes back any whole-grain part of the pool's memory, so
 *     there are no segments to keep track of: free memory is returned in
 *     whole grains wherever it lies, and on destroy the pool gives back
 *     every grain the arena says it owns.
 *   - Reusable blocks taken out of the ABQ's view (first fit takes part of
 *     one) simply leave the queue; they rejoin it when they coalesce again.
 *
 * Client errors caught (AVER, and the free is refused): freeing memory
 * not wholly in the pool's grains, memory that is the splinter, and
 * memory already in the land (the land reports the overlap).  Freeing
 * memory that lies unused in an allocation point is not detected.
 *
 * Invariants (mvt_check):
 *   1. the alignment is at least a pointer; min <= mean <= max, aligned;
 *   2. fill_size is whole grains and at least max_size; reuse_size is
 *      twice it;
 *   3. 0 < frag_limit <= 1;
 *   4. every ABQ entry is a whole block of the land of at least fill_size
 *      bytes, and abq_size is their total;
 *   5. the splinter is empty, or aligned, of at least min_size and less
 *      than reuse_size bytes, and in no block of the land;
 *   6. total is the grains the pool holds from the arena, and the free
 *      memory (land and splinter) is part of it.
 */
#include "../../include/mpscmvt.h"
#include "../base/args.h"
#include "abq.h"
#include "buffer.h"
#include "free_land.h"

#define MVT_SIG SIG_MAKE(0xC0)

/* Documented defaults (pool/mvt.rst); the minimum size's is MPS_PF_ALIGN. */
#define MVT_DEFAULT_MEAN_SIZE ((Size)32)
#define MVT_DEFAULT_MAX_SIZE ((Size)8192)
#define MVT_DEFAULT_RESERVE_DEPTH ((Count)1024)
#define MVT_DEFAULT_FRAG_LIMIT 0.3

/* Bound on the queue, so that a huge reserve does not cost a huge array
 * of control memory. */
#define MVT_ABQ_MAX ((Count)1024)

typedef struct mvt_s {
  mps_pool_s pool;          /* first: an MVT is a pool */
  Size min_size;
  Size mean_size;
  Size max_size;
  Count reserve_depth;
  double frag_limit;
  Size fill_size;
  Size reuse_size;
  Size reserve_size;
  free_land_s free_land;    /* the land */
  abq_s abq;                /* of range_s: reusable blocks, oldest first */
  Size abq_size;
  range_s splinter;
  Size total;
  Sig sig;
} mvt_s;
typedef mvt_s *MVT;

static MVT mvt_of_pool(Pool pool)
{
  return PARENT(mvt_s, pool, pool);
}

static Land mvt_land(MVT mvt)
{
  return free_land_land(&mvt->free_land);
}

static Size mvt_free_bytes(MVT mvt)
{
  return land_size(mvt_land(mvt)) + range_size(&mvt->splinter);
}

static bool mvt_check(Pool pool)
{
  MVT mvt = mvt_of_pool(pool);
  Size grain = pool->arena->grain_size;
  Size splinter = range_size(&mvt->splinter);
  CHECKS(MVT_SIG, mvt);
  CHECKL(pool->alignment >= sizeof(void *));                                 /* 1 */
  CHECKL(0 < mvt->min_size && mvt->min_size <= mvt->mean_size);
  CHECKL(mvt->mean_size <= mvt->max_size);
  CHECKL(size_is_aligned(mvt->min_size, pool->alignment));
  CHECKL(size_is_aligned(mvt->mean_size, pool->alignment));
  CHECKL(size_is_aligned(mvt->max_size, pool->alignment));
  CHECKL(size_is_aligned(mvt->fill_size, grain));                            /* 2 */
  CHECKL(mvt->fill_size >= mvt->max_size);
  CHECKL(mvt->reuse_size == 2 * mvt->fill_size);
  CHECKL(mvt->frag_limit > 0.0 && mvt->frag_limit <= 1.0);                   /* 3 */
  CHECKD(abq, &mvt->abq);                                                    /* 4 */
  CHECKL(mvt->abq.element_size == sizeof(range_s));
  CHECKL(mvt->abq_size >= abq_depth(&mvt->abq) * mvt->fill_size);
  CHECKL(mvt->abq_size <= land_size(mvt_land(mvt)));
  CHECKL(splinter == 0                                                       /* 5 */
         || (range_is_aligned(&mvt->splinter, pool->alignment)
             && splinter >= mvt->min_size && splinter < mvt->reuse_size));
  CHECKL(size_is_aligned(mvt->total, grain));                                /* 6 */
  CHECKL(mvt_free_bytes(mvt) <= mvt->total);
  CHECKD(free_land, &mvt->free_land);
  return true;
}

static Res mvt_init(Pool pool, mps_arg_s args[])
{
  MVT mvt = mvt_of_pool(pool);
  Arena arena = pool->arena;
  Size grain = arena->grain_size;
  Align align = MPS_PF_ALIGN;
  Size min_size = MPS_PF_ALIGN, mean_size = MVT_DEFAULT_MEAN_SIZE;
  Size max_size = MVT_DEFAULT_MAX_SIZE, fill_size, reserve_size;
  Count depth = MVT_DEFAULT_RESERVE_DEPTH, capacity;
  double frag_limit = MVT_DEFAULT_FRAG_LIMIT, fill, reserve;
  mps_arg_s arg;
  Res res;

  if (args_pick(&arg, args, MPS_KEY_ALIGN))
    align = arg.val.align;
  bool has_min = args_pick(&arg, args, MPS_KEY_MIN_SIZE);
  if (has_min)
    min_size = arg.val.size;
  bool has_mean = args_pick(&arg, args, MPS_KEY_MEAN_SIZE);
  if (has_mean)
    mean_size = arg.val.size;
  bool has_max = args_pick(&arg, args, MPS_KEY_MAX_SIZE);
  if (has_max)
    max_size = arg.val.size;
  /* mvt.rst: the three sizes are hints and nothing breaks when they are
   * wrong, so a default gives way to the sizes the client did give (min
   * <= mean <= max); only given sizes that contradict each other are
   * refused. */
  if (!has_max && max_size < size_max(min_size, mean_size))
    max_size = size_max(min_size, mean_size);
  if (!has_mean && mean_size > max_size)
    mean_size = max_size;
  if (!has_mean && mean_size < min_size)
    mean_size = min_size;
  if (!has_min && min_size > mean_size)
    min_size = mean_size;
  if (args_pick(&arg, args, MPS_KEY_MVT_RESERVE_DEPTH))
    depth = arg.val.count;
  if (args_pick(&arg, args, MPS_KEY_MVT_FRAG_LIMIT))
    frag_limit = arg.val.d;

  if (!size_is_p2(align) || align < sizeof(void *) || align > grain)
    return MPS_RES_PARAM;
  if (min_size == 0 || min_size > mean_size || mean_size > max_size
      || max_size > SIZE_MAX / 8)
    return MPS_RES_PARAM;
  /* Written so that a NaN fails too.  Zero is excluded (pool/mvt.rst). */
  if (!(frag_limit > 0.0 && frag_limit <= 1.0))
    return MPS_RES_PARAM;
  min_size = size_align_up(min_size, align);
  mean_size = size_align_up(mean_size, align);
  max_size = size_align_up(max_size, align);
  fill = (double)max_size / frag_limit;
  if (!(fill < (double)(SIZE_MAX / 8)))
    return MPS_RES_PARAM;
  fill_size = (Size)fill;
  if ((double)fill_size < fill)
    ++fill_size;
  fill_size = size_align_up(size_max(fill_size, max_size), grain);
  reserve = (double)depth * (double)mean_size;
  reserve_size = reserve < (double)(SIZE_MAX / 2) ? (Size)reserve : SIZE_MAX / 2;
  capacity = size_min(reserve_size / fill_size + 2, MVT_ABQ_MAX);

  res = free_land_init(&mvt->free_land, pool, align);
  if (res != MPS_RES_OK)
    return res;
  res = abq_init(&mvt->abq, arena, capacity, sizeof(range_s));
  if (res != MPS_RES_OK)
    goto fail_abq;

  pool->alignment = align;
  mvt->min_size = min_size;
  mvt->mean_size = mean_size;
  mvt->max_size = max_size;
  mvt->reserve_depth = depth;
  mvt->frag_limit = frag_limit;
  mvt->fill_size = fill_size;
  mvt->reuse_size = 2 * fill_size;
  mvt->reserve_size = reserve_size;
  mvt->abq_size = 0;
  range_init(&mvt->splinter, NULL, NULL);
  mvt->total = 0;
  mvt->sig = MVT_SIG;
  AVERT(pool, pool);
  return MPS_RES_OK;

fail_abq:
  free_land_finish(&mvt->free_land);
  return res;
}

static void mvt_finish(Pool pool)
{
  MVT mvt = mvt_of_pool(pool);
  Size returned;
  AVERT(pool, pool);
  mvt->sig = SIG_INVALID;
  abq_finish(&mvt->abq);
  free_land_finish(&mvt->free_land);
  /* Only free memory is recorded, so give back every grain the arena
   * says is the pool's (allocated blocks included). */
  returned = free_land_return_pool_grains(pool);
  AVER(returned == mvt->total);
  mvt->total -= returned;
}

/* Fresh memory: `size` bytes rounded up to whole grains. */
static Res mvt_arena_get(Range region_o, MVT mvt, Size size)
{
  Pool pool = &mvt->pool;
  Size grain = pool->arena->grain_size;
  Addr base;
  Res res;
  if (size > SIZE_MAX - grain)
    return MPS_RES_RESOURCE;
  size = size_align_up(size, grain);
  res = arena_alloc(&base, pool->arena, size, pool);
  if (res != MPS_RES_OK)
    return res;
  mvt->total += size;
  range_init_size(region_o, base, size);
  return MPS_RES_OK;
}

typedef struct mvt_forget_s {
  Range block;
  Size removed;
} mvt_forget_s;

static bool mvt_forget_visit(bool *delete_return, void *element, void *closure)
{
  mvt_forget_s *forget = closure;
  Range entry = element;
  if (range_nests(forget->block, entry)) {
    *delete_return = true;
    forget->removed += range_size(entry);
  }
  return true;
}

/* Drop the queue's entries inside `block`: they were blocks of the land
 * that have coalesced into it, or that are being taken out of the land. */
static void mvt_abq_forget(MVT mvt, Range block)
{
  mvt_forget_s forget;
  forget.block = block;
  forget.removed = 0;
  abq_iterate(&mvt->abq, mvt_forget_visit, &forget);
  mvt->abq_size -= forget.removed;
}

/* Give the whole grains of [base, limit), which lie in one block of the
 * land, back to the arena; what is left of the block stays in the land.
 * Returns whether anything went back. */
static bool mvt_return_grains(MVT mvt, Addr base, Addr limit)
{
  Pool pool = &mvt->pool;
  Size grain = pool->arena->grain_size;
  range_s part, old;
  base = addr_align_up(base, grain);
  limit = addr_align_down(limit, grain);
  if (addr_word(base) >= addr_word(limit))
    return false;
  range_init(&part, base, limit);
  /* Splitting the block needs a descriptor; the failover land finds a
   * place for the pieces even when the CBS cannot have one. */
  if (land_delete(&old, mvt_land(mvt), &part) != MPS_RES_OK)
    return false;
  arena_free(pool->arena, base, range_size(&part), pool);
  mvt->total -= range_size(&part);
  return true;
}

/* Keep no more reusable memory than the reserve: return the oldest
 * reusable blocks, the last of them only in part. */
static void mvt_reserve_trim(MVT mvt)
{
  range_s head;
  while (mvt->abq_size > mvt->reserve_size && abq_pop(&mvt->abq, &head)) {
    Size excess = mvt->abq_size - mvt->reserve_size;
    Size size = range_size(&head);
    mvt->abq_size -= size;
    if (excess >= size) {
      (void)mvt_return_grains(mvt, range_base(&head), range_limit(&head));
    } else {
      /* Keep the low part, which covers the reserve, and return the
       * whole grains above it. */
      Addr cut = addr_align_up(addr_sub(range_limit(&head), excess),
                               mvt->pool.arena->grain_size);
      if (mvt_return_grains(mvt, cut, range_limit(&head)))
        range_set_limit(&head, cut);
      if (range_size(&head) >= mvt->fill_size) {
        (void)abq_push_head(&mvt->abq, &head);   /* just popped: room */
        mvt->abq_size += range_size(&head);
      }
      break;
    }
  }
}

/* Make `range` free: it joins the land, and if it coalesces into a
 * reusable block, that block goes to the back of the queue. */
static void mvt_insert(MVT mvt, Range range)
{
  range_s joined, oldest;
  /* Overlapping free memory (a double free) is reported by the land,
   * which then changes nothing. */
  if (land_insert(&joined, mvt_land(mvt), range) != MPS_RES_OK)
    return;
  if (range_size(&joined) < mvt->reuse_size)
    return;
  if (range_size(&joined) > range_size(range))
    mvt_abq_forget(mvt, &joined);
  /* A full queue makes room by returning its oldest block. */
  if (abq_is_full(&mvt->abq) && abq_pop(&mvt->abq, &oldest)) {
    mvt->abq_size -= range_size(&oldest);
    (void)mvt_return_grains(mvt, range_base(&oldest), range_limit(&oldest));
  }
  if (abq_push(&mvt->abq, &joined))
    mvt->abq_size += range_size(&joined);
  mvt_reserve_trim(mvt);
}

/* Take a block of at least `size` bytes out of the land, first fit, and
 * up to `want` bytes of it. */
static bool mvt_land_take(Range region_o, MVT mvt, Size size, Size want)
{
  range_s found, old, part;
  if (!land_find_first(&found, &old, mvt_land(mvt), size, LAND_FIND_DELETE_NONE))
    return false;
  range_init_size(&part, range_base(&old), size_min(range_size(&old), size_max(want, size)));
  /* The low end of a block: no split, so no memory needed. */
  if (land_delete(&found, mvt_land(mvt), &part) != MPS_RES_OK)
    return false;
  mvt_abq_forget(mvt, &old);
  range_copy(region_o, &part);
  return true;
}

static bool mvt_fragmented(MVT mvt)
{
  return (double)mvt_free_bytes(mvt) > mvt->frag_limit * (double)mvt->total;
}

static Res mvt_buffer_fill(Addr *base_o, Addr *limit_o, Pool pool, Buffer buffer, Size size)
{
  MVT mvt = mvt_of_pool(pool);
  range_s region, old;
  Res res;

  AVERT(pool, pool);
  AVERT(buffer, buffer);
  AVER(size > 0);

  if (size > mvt->fill_size) {                                      /* 1 */
    res = mvt_arena_get(&region, mvt, size);
    if (res != MPS_RES_OK && !mvt_land_take(&region, mvt, size, size))
      return res;
    goto found;
  }
  if (range_size(&mvt->splinter) >= size) {                         /* 2 */
    range_copy(&region, &mvt->splinter);
    range_init(&mvt->splinter, NULL, NULL);
    goto found;
  }
  while (abq_pop(&mvt->abq, &region)) {                             /* 3 */
    mvt->abq_size -= range_size(&region);
    res = land_delete(&old, mvt_land(mvt), &region);
    AVER(res == MPS_RES_OK);   /* invariant 4: a whole block */
    if (res == MPS_RES_OK)
      goto found;
  }
  if (mvt_fragmented(mvt) && mvt_land_take(&region, mvt, size, mvt->fill_size))
    goto found;                                                     /* 4 */
  res = mvt_arena_get(&region, mvt, mvt->fill_size);                /* 5 */
  if (res == MPS_RES_OK)
    goto found;
  if (mvt_land_take(&region, mvt, size, mvt->fill_size))            /* 6 */
    goto found;
  return res;                                                       /* 7 */

found:
  AVER(range_size(&region) >= size);
  *base_o = range_base(&region);
  *limit_o = range_limit(&region);
  return MPS_RES_OK;
}

static void mvt_buffer_empty(Pool pool, Buffer buffer, Addr init, Addr limit)
{
  MVT mvt = mvt_of_pool(pool);
  range_s rest, old;
  Size size = addr_offset(init, limit);
  AVERT(pool, pool);
  AVERT(buffer, buffer);
  if (size == 0)
    return;
  range_init(&rest, init, limit);
  /* Sawdust (below min_size) and reusable blocks go to the land; a larger
   * tail than the splinter replaces it, to be used by the next fill. */
  if (size >= mvt->min_size && size < mvt->reuse_size
      && size > range_size(&mvt->splinter)) {
    range_copy(&old, &mvt->splinter);
    range_copy(&mvt->splinter, &rest);
    if (!range_is_empty(&old))
      mvt_insert(mvt, &old);
    return;
  }
  mvt_insert(mvt, &rest);
}

/* Every grain of [base, limit) is the pool's. */
static bool mvt_owns(MVT mvt, Addr base, Addr limit)
{
  Pool pool = &mvt->pool;
  Size grain = pool->arena->grain_size;
  Addr p;
  for (p = addr_align_down(base, grain); addr_word(p) < addr_word(limit); p = addr_add(p, grain))
    if (arena_pool_of_addr(pool->arena, p) != pool)
      return false;
  return true;
}

static void mvt_free(Pool pool, Addr old, Size size)
{
  MVT mvt = mvt_of_pool(pool);
  Size grain = pool->arena->grain_size;
  Addr limit = addr_add(old, size);
  range_s block;
  bool ok;

  AVERT(pool, pool);
  ok = addr_word(limit) > addr_word(old) && mvt_owns(mvt, old, limit);
  AVER(ok);   /* the whole block is in the pool's memory */
  if (!ok)
    return;
  range_init(&block, old, limit);
  ok = !range_overlaps(&block, &mvt->splinter);
  AVER(ok);   /* not free already: the splinter is free */
  if (!ok)
    return;

  if (size > mvt->fill_size) {
    /* Large: its whole grains go straight back to the arena. */
    Addr base = addr_align_up(old, grain), top = addr_align_down(limit, grain);
    if (addr_word(base) < addr_word(top)) {
      arena_free(pool->arena, base, addr_offset(base, top), pool);
      mvt->total -= addr_offset(base, top);
      if (old != base) {
        range_init(&block, old, base);
        mvt_insert(mvt, &block);
      }
      if (top != limit) {
        range_init(&block, top, limit);
        mvt_insert(mvt, &block);
      }
      return;
    }
  }
  mvt_insert(mvt, &block);
}

static Size mvt_total_size(Pool pool)
{
  return mvt_of_pool(pool)->total;
}

static Size mvt_free_size(Pool pool)
{
  return mvt_free_bytes(mvt_of_pool(pool));
}

static struct mps_pool_class_s mvt_class_s = {
  POOL_CLASS_SIG, "MVT", sizeof(mvt_s),
  mvt_init, mvt_finish,
  NULL,                       /* no mps_alloc: allocation points only */
  mvt_free,
  mvt_buffer_fill, mvt_buffer_empty,
  mvt_total_size, mvt_free_size,
  NULL, NULL,
  mvt_check
};

mps_pool_class_t mps_class_mvt(void)
{
  return &mvt_class_s;
}

/* The deprecated MVT-only forms of the generic size functions. */
static Size mvt_public_size(mps_pool_t pool, bool want_free)
{
  Size size = 0;
  AVER(pool != NULL && pool->sig == POOL_SIG);
  arena_enter(pool->arena);
  AVERT(pool, pool);
  AVER(pool->klass == &mvt_class_s);
  if (pool->klass == &mvt_class_s)
    size = want_free ? mvt_free_size(pool) : mvt_total_size(pool);
  arena_leave(pool->arena);
  return size;
}

size_t mps_mvt_size(mps_pool_t pool)
{
  return mvt_public_size(pool, false);
}

size_t mps_mvt_free_size(mps_pool_t pool)
{
  return mvt_public_size(pool, true);
}
