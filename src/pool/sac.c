/* sac.c: segregated allocation caches (see sac.h; manual/topic/cache.rst;
 * there is no design note for caches, the manual is the specification).
 *
 * Policy.  An allocation of class i pops class i's stack; when it is
 * empty (a miss) it takes one block of the class's size from the pool.
 * A free of class i pushes onto class i's stack unless it already holds
 * cached_count blocks, in which case the block goes straight back to the
 * pool.  So a class never holds more than its cached_count, a
 * cached_count of zero caches nothing, and the cache holds no more than
 * the client has freed into it.  Overlarge requests (above the largest
 * class) always go to the pool at their own size.  The frequency hint is
 * accepted and not used: every class is bounded by its own cached_count
 * and a miss costs one pool call whatever the class, so there is no
 * budget shared between classes for relative frequencies to divide.
 *
 * Invariants (sac_check):
 *   1. the cache belongs to a genuine pool;
 *   2. 1 <= class_count <= MPS_SAC_CLASS_LIMIT; class sizes strictly
 *      ascend, are multiples of the pool's alignment, and the smallest
 *      holds a pointer;
 *   3. entry class_count is the overlarge sentinel: size SIZE_MAX, no
 *      blocks, _max zero (so the macros' class search always stops there);
 *   4. every class holds at most _max blocks, and its stack is empty
 *      exactly when its count is zero;
 *   5. every cached block is aligned to the pool and owned by it (checked
 *      when blocks go back to the pool, which is the only time the arena
 *      lock is held to look them up);
 *   6. the cache is on its pool's ring of caches, so that destroying the
 *      pool while the cache lives is caught (pool_destroy); checked only
 *      with the arena lock held, which guards the ring.
 *
 * Client errors caught: a bad class table (MPS_RES_PARAM, too many
 * classes MPS_RES_LIMIT), a zero size, a null or misaligned block, and a
 * block freed twice into the same class.  In cool mps_sac_free walks the
 * class's stack for every block, whether it would push it or give it to
 * the pool (its class full).  In hot, a block that mps_sac_free
 * pushes carries a mark in its second word (classes of two words or
 * more), and a block freed with the mark is confirmed by the walk, so
 * that client data equal to the mark is never reported; mps_sac_alloc
 * clears the mark.  MPS_SAC_FREE_FAST is inlined in the client and its
 * layout is fixed by mps.h, so it neither marks nor checks: a block it
 * pushed and that is freed again is caught only in cool, and only by
 * mps_sac_free.  A block freed into a
 * cache on another pool is found when it reaches the pool (invariant 5)
 * and then left alone.
 */

#include "sac.h"

#define SAC_MARK ((Word)0x94D049BB133111EBULL)

/* The mark of a block on a stack: its address and the cache's, so that
 * a block of another cache never carries this one's. */
static inline Word sac_mark(Sac sac, mps_addr_t p)
{
  return (Word)(uintptr_t)p ^ sac->mark_key;
}

static inline bool sac_list_marks(const _mps_sac_list_s *list)
{
  return list->_size >= 2 * sizeof(Word);
}

bool sac_check(Sac sac)
{
  Index i;
  CHECKS(SAC_SIG, sac);
  CHECKU(POOL_SIG, sac->pool);                                                /* 1 */
  /* The ring is the pool's, changed under the arena lock by other
   * threads' caches coming and going, so it is read only with the lock:
   * the cache's own operations check it without (stress_sac). */
  CHECKL(!lock_is_held(sac->pool->arena->lock) || !ring_is_single(&sac->pool_ring)); /* 6 */
  CHECKL(sac->class_count >= 1 && sac->class_count <= MPS_SAC_CLASS_LIMIT);   /* 2 */
  CHECKL(sac->pub._lists[0]._size >= sizeof(mps_addr_t));
  for (i = 0; i < sac->class_count; ++i) {
    const _mps_sac_list_s *list = &sac->pub._lists[i];
    CHECKL(size_is_aligned(list->_size, sac->pool->alignment));
    CHECKL(list->_size < sac->pub._lists[i + 1]._size);
    CHECKL(list->_count <= list->_max);                                       /* 4 */
    CHECKL((list->_count == 0) == (list->_head == NULL));
    CHECKL(list->_head == NULL
           || addr_is_aligned(addr_of_ptr(list->_head), sac->pool->alignment));
  }
  CHECKL(sac->pub._lists[i]._size == SIZE_MAX);                               /* 3 */
  CHECKL(sac->pub._lists[i]._max == 0);
  CHECKL(sac->pub._lists[i]._count == 0 && sac->pub._lists[i]._head == NULL);
  CHECKL(sac->mark_key == ((Word)(uintptr_t)sac ^ SAC_MARK));
  return true;
}

/* The cache behind a client's handle, or NULL if the handle is not a
 * cache (reported; the caller then refuses the operation). */
static Sac sac_of_client(mps_sac_t mps_sac)
{
  Sac sac;
  AVER(mps_sac != NULL);
  if (mps_sac == NULL)
    return NULL;
  sac = PARENT(sac_s, pub, mps_sac);
  AVERT(sac, sac);
  return sac->sig == SAC_SIG ? sac : NULL;
}

Count sac_cached(Sac sac, Index index)
{
  AVERT(sac, sac);
  AVER(index < sac->class_count);
  return sac->pub._lists[index]._count;
}

/* The list for requests of `size` bytes: the smallest class that holds
 * them, or the overlarge sentinel. */
static _mps_sac_list_s *sac_list_of_size(Sac sac, Size size)
{
  _mps_sac_list_s *list = sac->pub._lists;
  while (size > list->_size)
    ++list;
  return list;
}

static bool sac_is_overlarge(Sac sac, const _mps_sac_list_s *list)
{
  return list == &sac->pub._lists[sac->class_count];
}

/* Whether `p` is on the stack of `list`: a walk of up to cached_count
 * blocks, so mps_sac_free does it in hot only for a marked block. */
static inline bool sac_list_holds(const _mps_sac_list_s *list, mps_addr_t p)
{
  mps_addr_t block = list->_head;
  Count n;
  for (n = 0; n < list->_count; ++n) {
    if (block == p)
      return true;
    block = *(mps_addr_t *)block;
  }
  return false;
}

/* Give one block of `size` bytes back to the pool; the arena lock is held.
 * A block the pool does not own (freed into the wrong cache, or not a
 * block at all) is reported and left alone (invariant 5). */
static void sac_pool_free(Sac sac, mps_addr_t p, Size size)
{
  Pool pool = sac->pool;
  Pool owner = arena_pool_of_addr(pool->arena, addr_of_ptr(p));
  AVER(owner == pool);
  if (owner == pool)
    pool_free(pool, addr_of_ptr(p), size);
}

mps_res_t mps_sac_create(mps_sac_t *sac_o, mps_pool_t pool, size_t classes_count,
                         mps_sac_class_s *classes)
{
  Arena arena;
  Sac sac;
  void *p;
  Index i;
  Res res;

  AVER(sac_o != NULL);
  AVER(pool != NULL && pool->sig == POOL_SIG);
  if (sac_o == NULL || pool == NULL || pool->sig != POOL_SIG)
    return MPS_RES_PARAM;
  arena = pool->arena;
  arena_enter(arena);
  AVERT(pool, pool);

  /* Validate everything before taking any memory (cache.rst lists the
   * constraints on the class table). */
  if (pool->klass->alloc == NULL) {
    res = MPS_RES_UNIMPL;     /* the cache needs mps_alloc and mps_free */
    goto fail;
  }
  if (pool->alignment < sizeof(mps_addr_t)) {
    res = MPS_RES_PARAM;      /* blocks must hold the stack's link word */
    goto fail;
  }
  if (classes_count == 0 || classes == NULL) {
    res = MPS_RES_PARAM;
    goto fail;
  }
  if (classes_count > MPS_SAC_CLASS_LIMIT) {
    res = MPS_RES_LIMIT;      /* documented: combine some classes */
    goto fail;
  }
  for (i = 0; i < classes_count; ++i) {
    Size size = classes[i].mps_block_size;
    if (size < sizeof(mps_addr_t) || size == SIZE_MAX
        || !size_is_aligned(size, pool->alignment)
        || (i > 0 && size <= classes[i - 1].mps_block_size)) {
      res = MPS_RES_PARAM;
      goto fail;
    }
  }

  res = arena_control_alloc(&p, arena, sizeof(sac_s));
  if (res != MPS_RES_OK)
    goto fail;
  sac = p;
  mem_set(sac, 0, sizeof *sac);
  for (i = 0; i < classes_count; ++i) {
    sac->pub._lists[i]._size = classes[i].mps_block_size;
    sac->pub._lists[i]._max = classes[i].mps_cached_count;
    sac->pub._lists[i]._count = 0;
    sac->pub._lists[i]._head = NULL;
  }
  for (; i <= MPS_SAC_CLASS_LIMIT; ++i) {
    /* The sentinel, and the unused entries after it, take every size. */
    sac->pub._lists[i]._size = SIZE_MAX;
    sac->pub._lists[i]._max = 0;
    sac->pub._lists[i]._count = 0;
    sac->pub._lists[i]._head = NULL;
  }
  sac->pool = pool;
  ring_init(&sac->pool_ring);
  ring_append(&pool->sac_ring, &sac->pool_ring);
  sac->class_count = classes_count;
  sac->mark_key = (Word)(uintptr_t)sac ^ SAC_MARK;
  sac->sig = SAC_SIG;
  AVERT(sac, sac);
  arena_leave(arena);
  *sac_o = &sac->pub;
  return MPS_RES_OK;

fail:
  arena_leave(arena);
  return res;
}

/* Empty every stack into the pool.  The arena lock is held. */
static void sac_flush_locked(Sac sac)
{
  Index i;
  for (i = 0; i < sac->class_count; ++i) {
    _mps_sac_list_s *list = &sac->pub._lists[i];
    while (list->_count > 0) {
      mps_addr_t block = list->_head;
      list->_head = *(mps_addr_t *)block;
      --list->_count;
      sac_pool_free(sac, block, list->_size);
    }
    /* A stack whose links were overwritten by the client (a block used
     * after it was freed) shows up as a stack longer than its count. */
    AVER(list->_head == NULL);
    list->_head = NULL;
  }
}

void mps_sac_flush(mps_sac_t mps_sac)
{
  Sac sac;
  Arena arena;
  sac = sac_of_client(mps_sac);
  if (sac == NULL)
    return;
  arena = sac->pool->arena;
  arena_enter(arena);
  sac_flush_locked(sac);
  arena_leave(arena);
}

void mps_sac_destroy(mps_sac_t mps_sac)
{
  Sac sac;
  Arena arena;
  sac = sac_of_client(mps_sac);
  if (sac == NULL)
    return;
  arena = sac->pool->arena;
  arena_enter(arena);
  sac_flush_locked(sac);
  sac->sig = SIG_INVALID;
  ring_remove(&sac->pool_ring);
  ring_finish(&sac->pool_ring);
  arena_control_free(arena, sac, sizeof(sac_s));
  arena_leave(arena);
}

mps_res_t mps_sac_alloc(mps_addr_t *p_o, mps_sac_t mps_sac, size_t size, mps_bool_t unused)
{
  Sac sac;
  _mps_sac_list_s *list;
  Arena arena;
  Addr block;
  Res res;

  UNUSED(unused);   /* obsolete (cache.rst) */
  AVER(p_o != NULL);
  sac = sac_of_client(mps_sac);
  AVER(size > 0);
  if (sac == NULL || size == 0)
    return MPS_RES_PARAM;

  list = sac_list_of_size(sac, size);
  if (list->_count > 0) {
    mps_addr_t p = list->_head;
    list->_head = *(mps_addr_t *)p;
    --list->_count;
    if (sac_list_marks(list))
      ((Word *)p)[1] = 0;   /* so a live block rarely costs a walk */
    *p_o = p;
    return MPS_RES_OK;
  }

  /* A miss: a block of the class's size, or the request's own size if it
   * is overlarge, straight from the pool.  Nothing in the cache changes,
   * so on failure it is as it was. */
  arena = sac->pool->arena;
  arena_enter(arena);
  res = pool_alloc(&block, sac->pool, sac_is_overlarge(sac, list) ? size : list->_size);
  arena_leave(arena);
  if (res != MPS_RES_OK)
    return res;
  *p_o = addr_ptr(block);
  return MPS_RES_OK;
}

void mps_sac_free(mps_sac_t mps_sac, mps_addr_t p, size_t size)
{
  Sac sac;
  _mps_sac_list_s *list;
  Arena arena;

  sac = sac_of_client(mps_sac);
  if (sac == NULL)
    return;
  AVER(p != NULL);
  AVER(size > 0);
  AVER(addr_is_aligned(addr_of_ptr(p), sac->pool->alignment));
  if (p == NULL || size == 0 || !addr_is_aligned(addr_of_ptr(p), sac->pool->alignment))
    return;   /* refused: nothing has changed */

  list = sac_list_of_size(sac, size);
  if (!sac_is_overlarge(sac, list)) {
    /* A block already on the stack was freed twice: pushing it again
     * would make the stack a cycle, and giving it to the pool (the class
     * full) would leave the pool's free memory on the stack, to be handed
     * out twice. */
    bool freed_twice = CHECK_LEVEL >= 2
                       || (CHECK_LEVEL >= 1 && sac_list_marks(list)
                           && ((Word *)p)[1] == sac_mark(sac, p));
    if (freed_twice)
      freed_twice = sac_list_holds(list, p);
    AVER(!freed_twice);
    if (freed_twice)
      return;
  }
  if (list->_count < list->_max) {
    bool marks = sac_list_marks(list);
    *(mps_addr_t *)p = list->_head;
    if (marks)
      ((Word *)p)[1] = sac_mark(sac, p);
    list->_head = p;
    ++list->_count;
    return;
  }

  /* The class is full (or caches nothing, or the block is overlarge). */
  arena = sac->pool->arena;
  arena_enter(arena);
  sac_pool_free(sac, p, sac_is_overlarge(sac, list) ? size : list->_size);
  arena_leave(arena);
}
