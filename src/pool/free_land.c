/* free_land.c: the free land of a manual pool (see free_land.h;
 * design/failover.txt, design/cbs.txt).
 *
 * Invariants (free_land_check):
 *   1. the node pool is a genuine pool;
 *   2. the failover is over this CBS and this freelist, and the three
 *      have one alignment.
 */
#include "../../include/mpscmfs.h"
#include "../arena/chunk.h"
#include "free_land.h"

bool free_land_check(FreeLand fl)
{
  CHECKS(FREE_LAND_SIG, fl);
  CHECKU(POOL_SIG, fl->nodes);                                               /* 1 */
  CHECKD(failover, &fl->failover);                                           /* 2 */
  CHECKL(fl->failover.primary == cbs_land(&fl->cbs));
  CHECKL(fl->failover.secondary == freelist_land(&fl->freelist));
  CHECKL(fl->cbs.land.alignment == fl->failover.land.alignment);
  CHECKL(fl->freelist.land.alignment == fl->failover.land.alignment);
  return true;
}

/* CBS descriptors are units of the node pool.  The arena lock is held
 * already, so the lock-held forms are used.  They never make the arena
 * grow: where its chunks have no grain left, the failover's freelist
 * holds the range instead, and the node pool's next extension waits for
 * the pool's own.  A chunk grown for descriptors would stay after a call
 * that then failed (say an MVFF mps_alloc that flushed its quick lists
 * and was refused its extension), since the land goes on using them. */
static void *free_land_node_alloc(void *closure, size_t size)
{
  FreeLand fl = closure;
  Arena arena = fl->nodes->arena;
  Addr p;
  Res res;
  arena_growth_bar(arena);
  res = pool_alloc(&p, fl->nodes, size);
  arena_growth_unbar(arena);
  if (res != MPS_RES_OK)
    return NULL;
  return addr_ptr(p);
}

static void free_land_node_free(void *closure, void *p, size_t size)
{
  FreeLand fl = closure;
  /* While finishing, the whole node pool is about to be destroyed: giving
   * back thousands of descriptors one by one (each checked in cool) would
   * be wasted work. */
  if (!fl->finishing)
    pool_free(fl->nodes, addr_of_ptr(p), size);
}

/* The freelist wrote a description into the pool's free memory. */
static void free_land_scribbled(void *closure, Addr base, Addr limit)
{
  pool_scribbled(closure, base, limit);
}

Res free_land_init(FreeLand fl, Pool pool, Align alignment)
{
  cbs_node_alloc_s node_alloc;
  Arena arena = pool->arena;
  Res res;

  AVER(fl != NULL);
  AVERT(arena, arena);
  AVER(size_is_p2(alignment) && alignment >= FREELIST_MIN_ALIGN);
  fl->finishing = false;
  MPS_ARGS_BEGIN(mfs_args) {
    MPS_ARGS_ADD(mfs_args, MPS_KEY_MFS_UNIT_SIZE, cbs_node_size);
    MPS_ARGS_ADD(mfs_args, MPS_KEY_EXTEND_BY, arena->grain_size);
    res = pool_create(&fl->nodes, arena, mps_class_mfs(), mfs_args);
  } MPS_ARGS_END(mfs_args);
  if (res != MPS_RES_OK)
    return res;
  node_alloc.alloc = free_land_node_alloc;
  node_alloc.free = free_land_node_free;
  node_alloc.closure = fl;
  res = cbs_init(&fl->cbs, alignment, &node_alloc);
  if (res != MPS_RES_OK)
    goto fail_cbs;
  res = freelist_init(&fl->freelist, alignment);
  if (res != MPS_RES_OK)
    goto fail_freelist;
  freelist_set_scribble(&fl->freelist, free_land_scribbled, pool);
  res = failover_init(&fl->failover, cbs_land(&fl->cbs), freelist_land(&fl->freelist));
  if (res != MPS_RES_OK)
    goto fail_failover;
  fl->sig = FREE_LAND_SIG;
  AVERT(free_land, fl);
  return MPS_RES_OK;

fail_failover:
  freelist_finish(&fl->freelist);
fail_freelist:
  cbs_finish(&fl->cbs);
fail_cbs:
  pool_destroy(fl->nodes);
  return res;
}

void free_land_finish(FreeLand fl)
{
  AVERT(free_land, fl);
  fl->sig = SIG_INVALID;
  fl->finishing = true;
  failover_finish(&fl->failover);
  freelist_finish(&fl->freelist);
  cbs_finish(&fl->cbs);
  pool_destroy(fl->nodes);
}

Size free_land_return_pool_grains(Pool pool)
{
  Arena arena = pool->arena;
  Ring node, next;
  Size returned = 0;
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    Index i = chunk->alloc_base;
    while (i < chunk->pages) {
      Index j = i;
      while (j < chunk->pages && bt_get(chunk->alloc_table, j) && chunk->tracts[j].pool == pool)
        ++j;
      if (j == i) {
        ++i;
        continue;
      }
      arena_free(arena, chunk_page_base(chunk, i), chunk_pages_size(chunk, j - i), pool);
      returned += chunk_pages_size(chunk, j - i);
      i = j;
    }
  }
  return returned;
}
