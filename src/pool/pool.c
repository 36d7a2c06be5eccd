/* pool.c: the generic pool and the public pool and allocation functions
 * (see pool.h, design/pool.txt, manual/topic/pool.rst, allocation.rst).
 *
 * Invariants (pool_check):
 *   1. the class is genuine and the instance at least a pool_s;
 *   2. the pool belongs to a genuine arena, on whose pool ring it is;
 *   3. the alignment is a power of two no larger than the arena grain.
 *
 * Client errors caught here, in every checking variety: a null or
 * unaligned block, a zero size, and a block that this pool does not own
 * (freeing into the wrong pool, or memory from elsewhere).  Double frees
 * are caught by the classes, which know what is free.
 */

#include "buffer.h"
#include "../base/event.h"
#include "../gc/finalize.h"
#include "../gc/trace.h"

bool pool_class_check(PoolClass klass)
{
  CHECKS(POOL_CLASS_SIG, klass);                                 /* 1 */
  CHECKL(klass->name != NULL);
  CHECKL(klass->size >= sizeof(mps_pool_s));
  CHECKL(klass->init != NULL && klass->finish != NULL);
  CHECKL((klass->buffer_fill == NULL) == (klass->buffer_empty == NULL));
  /* A class that allocates must free; one may free without allocating
   * (MVT: blocks come from allocation points, go back by mps_free). */
  CHECKL(klass->alloc == NULL || klass->free != NULL);
  return true;
}

bool pool_check(Pool pool)
{
  CHECKS(POOL_SIG, pool);
  CHECKD(pool_class, pool->klass);                               /* 1 */
  CHECKU(ARENA_SIG, pool->arena);                                /* 2 */
  CHECKL(!ring_is_single(&pool->arena_ring));
  CHECKL(size_is_p2(pool->alignment));                           /* 3 */
  CHECKL(pool->alignment <= pool->arena->grain_size);
  if (pool->klass->check != NULL)
    CHECKL(pool->klass->check(pool));
  return true;
}

Res pool_create(Pool *pool_o, Arena arena, PoolClass klass, mps_arg_s args[])
{
  Pool pool;
  void *p;
  Res res;

  AVER(pool_o != NULL);
  AVERT(arena, arena);
  AVERT(pool_class, klass);
  AVERT(args, args);
  res = arena_control_alloc(&p, arena, klass->size);
  if (res != MPS_RES_OK)
    return res;
  mem_set(p, 0, klass->size);
  pool = p;
  pool->klass = klass;
  pool->arena = arena;
  ring_init(&pool->arena_ring);
  ring_init(&pool->buffer_ring);
  ring_init(&pool->sac_ring);
  pool->serial = arena->pool_serial;
  pool->alignment = MPS_PF_ALIGN;
  pool->format = NULL;
  /* On the ring and signed before init, so the class can use pool_check. */
  ring_append(&arena->pool_ring, &pool->arena_ring);
  pool->sig = POOL_SIG;
  res = klass->init(pool, args);
  if (res != MPS_RES_OK) {
    pool->sig = SIG_INVALID;
    ring_remove(&pool->arena_ring);
    ring_finish(&pool->buffer_ring);
    ring_finish(&pool->sac_ring);
    arena_control_free(arena, p, klass->size);
    return res;
  }
  pool->free = pool->buffer_methods != NULL && pool->buffer_methods->free_fast != NULL
               ? pool->buffer_methods->free_fast : pool_free_with_lock;
  AVERT(pool, pool);
  ++arena->pool_serial;
  *pool_o = pool;
  return MPS_RES_OK;
}

/* Whether the pool may be destroyed: its allocation points and caches
 * must go first (pool.rst), else their handles would dangle. */
static bool pool_may_destroy(Pool pool)
{
  bool no_aps = ring_is_single(&pool->buffer_ring);
  bool no_sacs = ring_is_single(&pool->sac_ring);
  AVER(no_aps);
  AVER(no_sacs);
  return no_aps && no_sacs;
}

void pool_destroy(Pool pool)
{
  Arena arena = pool->arena;
  PoolClass klass = pool->klass;
  AVERT(pool, pool);
  AVER(ring_is_single(&pool->buffer_ring));
  AVER(ring_is_single(&pool->sac_ring));
  klass->finish(pool);
  pool->sig = SIG_INVALID;
  ring_remove(&pool->arena_ring);
  ring_finish(&pool->arena_ring);
  ring_finish(&pool->buffer_ring);
  ring_finish(&pool->sac_ring);
  arena_control_free(arena, pool, klass->size);
}

Res pool_alloc(Addr *p_o, Pool pool, Size size)
{
  Res res;
  AVERT(pool, pool);
  AVER(size > 0);
  if (pool->klass->alloc == NULL)
    return MPS_RES_UNIMPL;   /* the class allocates only through points */
  if (size > SIZE_MAX - pool->alignment)
    return MPS_RES_RESOURCE;
  res = pool->klass->alloc(p_o, pool, size_align_up(size, pool->alignment));
  AVER_CRITICAL(res != MPS_RES_OK || addr_is_aligned(*p_o, pool->alignment));
  return res;
}

void pool_free(Pool pool, Addr old, Size size)
{
  AVERT(pool, pool);
  AVER(old != NULL);
  AVER(size > 0);
  AVER(pool->klass->free != NULL);
  AVER(addr_is_aligned(old, pool->alignment));
  AVER(size <= SIZE_MAX - pool->alignment);
  /* Refused if the handler returns: a misaligned block would split a
   * class's free blocks off their grid, and a size that wraps round when
   * aligned would reach the class as zero. */
  if (old == NULL || size == 0 || pool->klass->free == NULL
      || !addr_is_aligned(old, pool->alignment) || size > SIZE_MAX - pool->alignment)
    return;
  pool->klass->free(pool, old, size_align_up(size, pool->alignment));
}

mps_res_t mps_pool_create_k(mps_pool_t *pool_o, mps_arena_t arena,
                            mps_pool_class_t pool_class, mps_arg_s args[])
{
  Pool pool;
  Res res;
  AVER(pool_o != NULL);
  AVER(pool_class != NULL && pool_class->sig == POOL_CLASS_SIG);
  if (pool_o == NULL || pool_class == NULL || pool_class->sig != POOL_CLASS_SIG)
    return MPS_RES_PARAM;
  arena_enter(arena);
  res = pool_create(&pool, arena, pool_class, args);
  if (res == MPS_RES_OK) {
    Word words[3];
    words[0] = (Word)(uintptr_t)pool;
    words[1] = (Word)(uintptr_t)arena;
    words[2] = (Word)(uintptr_t)pool_class;
    event_emit(EVENT_CAT_POOL, EVENT_POOL_INIT, 3, words);
  }
  arena_leave(arena);
  if (res == MPS_RES_OK)
    *pool_o = (mps_pool_t)pool;
  return res;
}

void mps_pool_destroy(mps_pool_t pool)
{
  Arena arena;
  AVER(pool != NULL && pool->sig == POOL_SIG);
  if (pool == NULL || pool->sig != POOL_SIG)
    return;   /* destroyed already, or never a pool */
  arena = pool->arena;
  arena_enter(arena);
  if (!pool_may_destroy(pool)) {
    arena_leave(arena);
    return;
  }
  {
    Word word = (Word)(uintptr_t)pool;
    event_emit(EVENT_CAT_POOL, EVENT_POOL_FINISH, 1, &word);
  }
  /* An automatic pool's segments may be white or grey for an incremental
   * collection in progress: it finishes first. */
  if (pool->format != NULL && arena->state != ARENA_POSTMORTEM)
    trace_park(arena);
  finalize_pool_destroy(pool);
  pool_destroy(pool);
  arena_leave(arena);
}

size_t mps_pool_total_size(mps_pool_t pool)
{
  Size size;
  AVER(pool != NULL && pool->sig == POOL_SIG);
  if (pool == NULL || pool->sig != POOL_SIG)
    return 0;
  arena_enter(pool->arena);
  AVERT(pool, pool);
  size = pool->klass->total_size != NULL ? pool->klass->total_size(pool) : 0;
  arena_leave(pool->arena);
  return size;
}

size_t mps_pool_free_size(mps_pool_t pool)
{
  Size size;
  AVER(pool != NULL && pool->sig == POOL_SIG);
  if (pool == NULL || pool->sig != POOL_SIG)
    return 0;
  arena_enter(pool->arena);
  AVERT(pool, pool);
  size = pool->klass->free_size != NULL ? pool->klass->free_size(pool) : 0;
  arena_leave(pool->arena);
  return size;
}

mps_bool_t mps_addr_pool(mps_pool_t *pool_o, mps_arena_t arena, mps_addr_t addr)
{
  Pool pool;
  AVER(pool_o != NULL);
  arena_enter(arena);
  pool = arena_pool_of_addr(arena, addr_of_ptr(addr));
  arena_leave(arena);
  if (pool == NULL)
    return 0;
  *pool_o = (mps_pool_t)pool;
  return 1;
}

mps_res_t mps_alloc(mps_addr_t *p_o, mps_pool_t pool, size_t size)
{
  Addr p;
  Res res;
  AVER(p_o != NULL);
  AVER(pool != NULL && pool->sig == POOL_SIG);
  if (p_o == NULL || pool == NULL || pool->sig != POOL_SIG)
    return MPS_RES_PARAM;
  arena_enter(pool->arena);
  AVER(size > 0);
  if (size == 0) {
    res = MPS_RES_PARAM;
  } else {
    trace_poll(pool->arena);   /* an allocation slow path: collect if due */
    res = pool_alloc(&p, pool, size);
    if (res == MPS_RES_OK)
      *p_o = addr_ptr(p);
  }
  arena_leave(pool->arena);
  return res;
}

NOINLINE void pool_free_with_lock(Pool pool, Addr old, Size size)
{
  Pool owner;
  arena_enter(pool->arena);
  /* The block must be this pool's: catches frees into the wrong pool and
   * of memory that no pool owns.  Such a free is ignored if the assertion
   * handler returns, so nothing is corrupted. */
  owner = arena_pool_of_addr(pool->arena, old);
  AVER(owner == pool);
  AVER(size > 0);
  if (owner == pool && size > 0)
    pool_free(pool, old, size);
  arena_leave(pool->arena);
}

/* mps_free with its check reported (see mps_free). */
static NOINLINE void pool_free_checked(Pool pool, Addr old, Size size)
{
  AVER(pool != NULL && pool->sig == POOL_SIG);
  pool->free(pool, old, size);
}

void mps_free(mps_pool_t pool, mps_addr_t addr, size_t size)
{
  /* The check is tested here and reported in pool_free_checked, whose
   * report is a call the handler may return from: so both ways are tail
   * calls, with no registers saved.  pool->free is the class's free_fast
   * if it has one (pool.h). */
  if (CHECK_LEVEL >= 1 && (pool == NULL || pool->sig != POOL_SIG))
    pool_free_checked(pool, addr_of_ptr(addr), size);
  else
    pool->free(pool, addr_of_ptr(addr), size);
}
