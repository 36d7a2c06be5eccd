/* pool.h: pools and pool classes (design/pool.txt, manual/topic/pool.rst).
 *
 * A pool is an instance of a pool class.  The class is a table of methods
 * and the size of its instance structure, which begins with a pool_s: the
 * generic code allocates the instance from arena control memory, fills in
 * pool_s, and calls the class's init with the client's keyword arguments.
 *
 * Methods a class does not support are NULL: the generic code turns a call
 * to one into MPS_RES_UNIMPL for the client (for example mps_alloc on an
 * MVT pool) rather than jumping through a null pointer.
 *
 * Every method is called with the arena lock held, except fill_fast and
 * free_fast (pool_buffer_methods_s).
 */
#ifndef pool_h
#define pool_h

#include "../../include/mps.h"
#include "../arena/arena.h"
#include "../gc/gc.h"

#define POOL_SIG SIG_MAKE(0x90)
#define POOL_CLASS_SIG SIG_MAKE(0x91)

typedef struct mps_pool_class_s *PoolClass;
typedef struct buffer_s *Buffer;    /* buffer.h */

typedef struct mps_pool_class_s {
  Sig sig;
  const char *name;
  Size size;            /* bytes of the instance, pool_s first */
  /* Parse `args` (taking what it uses) and set up the class's part of
   * `pool`, whose generic part is ready (alignment MPS_PF_ALIGN, which
   * init may change).  On failure, free everything it took. */
  Res (*init)(Pool pool, mps_arg_s args[]);
  /* Give every block and all memory back to the arena. */
  void (*finish)(Pool pool);
  /* mps_alloc / mps_free: `size` is already rounded to the alignment. */
  Res (*alloc)(Addr *p_o, Pool pool, Size size);
  void (*free)(Pool pool, Addr old, Size size);
  /* Allocation points: supply a region [*base_o, *limit_o) of at least
   * `size` bytes for `buffer`, and take back its unused part [init, limit)
   * when the buffer is emptied (init may equal limit). */
  Res (*buffer_fill)(Addr *base_o, Addr *limit_o, Pool pool, Buffer buffer, Size size);
  void (*buffer_empty)(Pool pool, Buffer buffer, Addr init, Addr limit);
  /* mps_pool_total_size / mps_pool_free_size. */
  Size (*total_size)(Pool pool);
  Size (*free_size)(Pool pool);
  /* Debugging classes: check every fencepost / the free-space template,
   * reporting a damaged one through the assertion handler.  NULL for
   * classes without debugging. */
  void (*check_fenceposts)(Pool pool);
  void (*check_free_space)(Pool pool);
  /* The class's own invariants (pool_check calls it in cool). */
  bool (*check)(Pool pool);
} pool_class_s;

/* Allocation-point methods that few classes have, so they are not in the
 * class table (whose initializers are positional): a class that has them
 * points pool->buffer_methods at its table in init (pool_create leaves it
 * NULL).  Each method may be NULL. */
typedef struct pool_buffer_methods_s {
  /* Allocation frames (manual/topic/frame.rst, design/alloc-frame.txt).
   * buffer.c checks the protocol and numbers the frames of a buffer by
   * depth (1 is the outermost).  frame_push records where frame `depth`
   * begins, with the buffer as it stands; frame_pop is called with the
   * buffer emptied and discards everything allocated on it since frame
   * `depth` was pushed (deeper frames go with it).  NULL: frames are
   * hints this class ignores (frame.rst), and only the depth is kept. */
  Res (*frame_push)(Pool pool, Buffer buffer, Count depth);
  Res (*frame_pop)(Pool pool, Buffer buffer, Count depth);
  /* mps_ap_destroy, after the buffer is emptied: drop the class's state
   * for it (buffer->pool_data). */
  void (*finish)(Pool pool, Buffer buffer);
  /* mps_ap_fill itself, for a class that can fill some requests without
   * the arena lock, called WITHOUT the lock by the point's thread with the
   * client's arguments: if buffer_fill_fast_ready (buffer.h) says the
   * point may be refilled so, take a block of exactly `size` bytes from
   * what the class keeps for this buffer alone (buffer->pool_data) and
   * hand it over with buffer_fill_fast_done; otherwise call
   * buffer_fill_with_lock, having changed nothing.  It may touch nothing
   * that another thread may touch.  The region it replaces is not handed
   * to buffer_empty, so only a class whose buffer_empty does nothing when
   * init equals limit may have it.  mps_ap_fill jumps straight to it
   * (buffer->fill), so the common case costs one call. */
  mps_res_t (*fill_fast)(mps_addr_t *p_o, Buffer buffer, size_t size);
  /* mps_free itself, for a class that can free some blocks without the
   * arena lock (not an allocation-point method, but only classes with
   * fill_fast have it so far), called WITHOUT the lock by any thread with
   * the client's arguments: free the block, or call pool_free_with_lock
   * for the locked path, having changed nothing.  It may read only what
   * cannot change while the client owns the block.  mps_free jumps
   * straight to it (pool->free). */
  void (*free_fast)(Pool pool, Addr old, Size size);
} pool_buffer_methods_s;

typedef struct mps_pool_s {
  Sig sig;
  PoolClass klass;
  Arena arena;
  struct ring_s arena_ring;    /* in arena->pool_ring */
  struct ring_s buffer_ring;   /* the pool's allocation points */
  struct ring_s sac_ring;      /* its segregated allocation caches (sac.h) */
  Count serial;
  Align alignment;             /* of every block; a power of two */
  struct mps_fmt_s *format;    /* formatted pools' format, else NULL */
  const pool_buffer_methods_s *buffer_methods;   /* see above, or NULL */
  /* mps_free: buffer_methods->free_fast, or pool_free_with_lock; set by
   * pool_create after the class's init and fixed from then on. */
  void (*free)(Pool pool, Addr old, Size size);
  /* The ranks its allocation points may have (MPS_KEY_RANK of
   * mps_ap_create_k, kept in buffer->rank), set by the class's init.
   * Empty: the class does not take the key, and only its default, exact,
   * is accepted (a pool that never scans its objects ignores it). */
  RankSet ap_rank_set;
  /* Called by the class just before it gives [base, base + size) of its
   * memory back to the arena while the pool lives (pool_before_release),
   * or NULL.  The debugging mixin checks the free-space template there,
   * while the memory can still be read (topic/debugging.rst). */
  void (*release_hook)(Pool pool, Addr base, Size size);
  /* Called by the class after it writes its own bookkeeping into its free
   * memory other than while that memory is being freed (free_land's
   * freelist, when the CBS has no node, splits a free range by writing a
   * header into the rest), or NULL.  The debugging mixin stops expecting
   * its free-space template there. */
  void (*scribble_hook)(Pool pool, Addr base, Addr limit);
} mps_pool_s;

/* For classes that give memory back to the arena before they are
 * destroyed: call just before each arena_free of pool memory. */
static inline void pool_before_release(Pool pool, Addr base, Size size)
{
  if (pool->release_hook != NULL)
    pool->release_hook(pool, base, size);
}

/* For classes that write into their free memory: call after each write
 * of [base, limit). */
static inline void pool_scribbled(Pool pool, Addr base, Addr limit)
{
  if (pool->scribble_hook != NULL)
    pool->scribble_hook(pool, base, limit);
}

bool pool_class_check(PoolClass klass);
bool pool_check(Pool pool);

/* The operations behind mps_pool_create_k, mps_pool_destroy, mps_alloc and
 * mps_free, for callers that hold the arena lock already (a pool class
 * that keeps its own nodes in an internal pool, for example).  Sizes are
 * rounded up to the pool's alignment here. */
Res pool_create(Pool *pool_o, Arena arena, PoolClass klass, mps_arg_s args[]);
void pool_destroy(Pool pool);
Res pool_alloc(Addr *p_o, Pool pool, Size size);
void pool_free(Pool pool, Addr old, Size size);
/* mps_free's locked path: claims the arena lock, checks that the block is
 * the pool's, and frees it with pool_free.  For free_fast to fall back
 * on. */
void pool_free_with_lock(Pool pool, Addr old, Size size);

#endif /* pool_h */
