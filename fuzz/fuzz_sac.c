/* fuzz_sac.c: libFuzzer target for segregated allocation caches
 * (src/pool/sac.h, mps_sac_* and the FAST macros in mps.h).
 *
 * Each input makes an arena, a pool and one cache on it, replays a
 * sequence of allocations, frees and flushes through the functions and
 * the macros, and destroys everything.  A model mirrors
 *   - the live blocks: address, requested size, class, a fill byte; live
 *     blocks must not overlap (over their whole class size), must be owned
 *     by the pool, and must keep their contents;
 *   - each class's stack of cached blocks, exactly (the cache is LIFO, so
 *     a hit must return the model's top block), bounded by cached_count;
 *   - the pool's traffic: with the counting pool (a class local to this
 *     file, every block its own grains) the number of pool allocations and
 *     frees; with MFS and MVFF the bytes in use (total less free), which
 *     must be the live and cached blocks' sizes.
 * After every operation the cache passes sac_check and each class's count
 * equals the model's.  Some operations set the commit limit to what is
 * committed, so that misses may fail with MPS_RES_COMMIT_LIMIT; the model
 * then expects nothing to have changed.  Another has the arena refuse one
 * of its next few requests for memory (arena_fail_after), and may then
 * destroy the cache and make it again at once: a miss, or the cache's
 * creation, may fail with MPS_RES_MEMORY or MPS_RES_RESOURCE only if the
 * refusal fell on it (COMMIT_LIMIT only while a limit is set), changing
 * nothing, and is then tried again and must succeed; a free or a flush
 * the refusal falls on must absorb it.
 *
 * Input: byte 0 picks the pool (bit 0 MFS, else bit 3 MVFF, else the
 * counting pool) and the number of classes (bits 1-2: 1 to 4);
 * then two bytes per class (size step, cached_count 0..4); then two bytes
 * per operation (kind, argument).  A free whose kind has its top bit set
 * frees the block a second time at once (see fuzz_sac_free).  Kind 0xFE
 * (of the kinds that lift the commit limit, the one with bits 3-7 all
 * set, so that few older inputs change meaning) arms the refusal instead:
 * the argument's bits 0-2 are the count less one, and bit 7 asks for the
 * cache to be made again.
 *
 * A miss or a creation that fails leaves the arena's reserved address
 * space (mps_arena_reserved) as it was, and one refused address space
 * (MPS_RES_RESOURCE) needed a new chunk: tried again, it succeeds and
 * grows the arena (the commit limit let the growth be asked for).
 * Byte 0 from 0x40 to 0x7F (bit 6 without bit 7, with which no earlier
 * seed begins) chooses a growing arena, its other bits keeping their
 * meaning: 256 KiB plus 64 KiB times bits 4-5 instead of 1 MiB, an MFS
 * extent of 256 KiB instead of 4 KiB (more than the smallest arena has
 * free, so that the first miss needs a chunk), and overlarge requests 512
 * times further beyond the largest class (up to about 74 KiB: past MVFF's
 * extension of 64 KiB, where it has no smaller one to fall back on), so
 * that misses and the refusals that fall on them ask for new chunks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mpsavm.h"
#include "../include/mpscmfs.h"
#include "../include/mpscmvff.h"
#include "support/reports.h"
#include "support/refusal.h"
#include "../src/arena/arena.h"
#include "../src/pool/sac.h"

#define FUZZ_SAC_REQUIRE(cond) \
  do { if (!(cond)) abort(); } while (0)

#define FUZZ_SAC_MAX_LIVE 48
#define FUZZ_SAC_MAX_CLASSES 4
#define FUZZ_SAC_MAX_CACHED 4
#define FUZZ_SAC_OVERLARGE FUZZ_SAC_MAX_CLASSES   /* class index of overlarge blocks */

/* The counting pool: every block is its own run of grains. */
typedef struct fuzz_sac_pool_s {
  mps_pool_s pool;
  size_t allocs, frees;
} fuzz_sac_pool_s;

static fuzz_sac_pool_s *fuzz_sac_counting(Pool pool)
{
  return PARENT(fuzz_sac_pool_s, pool, pool);
}

static Res fuzz_sac_pool_init(Pool pool, mps_arg_s args[])
{
  (void)args;
  fuzz_sac_counting(pool)->allocs = 0;
  fuzz_sac_counting(pool)->frees = 0;
  return MPS_RES_OK;
}

static void fuzz_sac_pool_finish(Pool pool)
{
  (void)pool;   /* every block is freed before the pool is destroyed */
}

static Res fuzz_sac_pool_alloc(Addr *p_o, Pool pool, Size size)
{
  Res res = arena_alloc(p_o, pool->arena, size_align_up(size, pool->arena->grain_size), pool);
  if (res == MPS_RES_OK)
    ++fuzz_sac_counting(pool)->allocs;
  return res;
}

static void fuzz_sac_pool_free(Pool pool, Addr old, Size size)
{
  arena_free(pool->arena, old, size_align_up(size, pool->arena->grain_size), pool);
  ++fuzz_sac_counting(pool)->frees;
}

static struct mps_pool_class_s fuzz_sac_pool_class = {
  .sig = POOL_CLASS_SIG,
  .name = "fuzz_sac counting",
  .size = sizeof(fuzz_sac_pool_s),
  .init = fuzz_sac_pool_init,
  .finish = fuzz_sac_pool_finish,
  .alloc = fuzz_sac_pool_alloc,
  .free = fuzz_sac_pool_free,
};

typedef struct fuzz_sac_block_s {
  Byte *base;
  size_t request;     /* size asked for */
  size_t size;        /* size of the block: its class's, or aligned request */
  Index klass;        /* or FUZZ_SAC_OVERLARGE */
  Byte fill;
} fuzz_sac_block_s;

typedef enum fuzz_sac_kind_e { FUZZ_SAC_COUNTING, FUZZ_SAC_MFS, FUZZ_SAC_MVFF } fuzz_sac_kind_e;

typedef struct fuzz_sac_model_s {
  fuzz_sac_kind_e kind;
  mps_arena_t arena;
  mps_pool_t pool;
  mps_sac_t sac;
  size_t class_count;
  mps_sac_class_s classes[FUZZ_SAC_MAX_CLASSES];
  size_t max_request;
  fuzz_sac_block_s live[FUZZ_SAC_MAX_LIVE];
  size_t live_count;
  mps_addr_t stack[FUZZ_SAC_MAX_CLASSES][FUZZ_SAC_MAX_CACHED];
  size_t cached[FUZZ_SAC_MAX_CLASSES];
  size_t pool_allocs, pool_frees;   /* expected, counting pool only */
  Byte next_fill;
  bool limited;                     /* a commit limit is set */
  bool grows;                       /* byte 0 chose a growing arena */
} fuzz_sac_model_s;

/* Whether a failure `res` of an operation that asks the pool for memory
 * is one the documentation allows: the arena's refusal, if it fell on
 * the operation, or the commit limit, if one is set. */
static bool fuzz_sac_allowed_failure(const fuzz_sac_model_s *m, mps_res_t res, bool fell)
{
  if (refusal_result(res))
    return fell;
  return res == MPS_RES_COMMIT_LIMIT && m->limited;
}

/* A call that failed left the arena's reserved address space at
 * `reserved`, what it was before: a chunk grown for it went back. */
static void fuzz_sac_reserved_kept(const fuzz_sac_model_s *m, size_t reserved)
{
  FUZZ_SAC_REQUIRE(mps_arena_reserved(m->arena) == reserved);
}

/* A call made again, with nothing refused, after it was refused with
 * `refused` (MPS_RES_OK on a first try), gave `res`: refused address
 * space, it needed a new chunk, and gets one now. */
static void fuzz_sac_retried(const fuzz_sac_model_s *m, mps_res_t refused, mps_res_t res,
                             size_t reserved)
{
  if (refused == MPS_RES_RESOURCE)
    FUZZ_SAC_REQUIRE(res == MPS_RES_OK && mps_arena_reserved(m->arena) > reserved);
}

static Index fuzz_sac_class_of(const fuzz_sac_model_s *m, size_t size)
{
  Index i;
  for (i = 0; i < m->class_count; ++i)
    if (size <= m->classes[i].mps_block_size)
      return i;
  return FUZZ_SAC_OVERLARGE;
}

/* Every byte of the block is its fill: the first is, and each equals the
 * next (one memcmp, as blocks of a growing arena are tens of KiB). */
static bool fuzz_sac_intact(const fuzz_sac_block_s *b)
{
  return b->base[0] == b->fill && memcmp(b->base, b->base + 1, b->request - 1) == 0;
}

static void fuzz_sac_compare(const fuzz_sac_model_s *m)
{
  Sac sac = PARENT(sac_s, pub, m->sac);
  size_t i, j, used = 0;
  FUZZ_SAC_REQUIRE(sac_check(sac));
  for (i = 0; i < m->class_count; ++i) {
    FUZZ_SAC_REQUIRE(sac_cached(sac, i) == m->cached[i]);
    FUZZ_SAC_REQUIRE(m->cached[i] <= m->classes[i].mps_cached_count);
    /* The stack itself, top first, must be the model's. */
    {
      mps_addr_t block = m->sac->_lists[i]._head;
      for (j = m->cached[i]; j > 0; --j) {
        FUZZ_SAC_REQUIRE(block == m->stack[i][j - 1]);
        block = *(mps_addr_t *)block;
      }
      FUZZ_SAC_REQUIRE(block == NULL);
    }
    used += m->cached[i] * m->classes[i].mps_block_size;
  }
  for (i = 0; i < m->live_count; ++i)
    used += m->live[i].size;
  if (m->kind == FUZZ_SAC_MFS) {
    /* Every MFS block is a whole unit: the largest class's size. */
    size_t unit = m->classes[m->class_count - 1].mps_block_size, units = m->live_count;
    for (i = 0; i < m->class_count; ++i)
      units += m->cached[i];
    FUZZ_SAC_REQUIRE(mps_pool_total_size(m->pool) - mps_pool_free_size(m->pool) == units * unit);
  } else if (m->kind == FUZZ_SAC_MVFF) {
    FUZZ_SAC_REQUIRE(mps_pool_total_size(m->pool) - mps_pool_free_size(m->pool) == used);
  } else {
    fuzz_sac_pool_s *cp = fuzz_sac_counting(m->pool);
    FUZZ_SAC_REQUIRE(cp->allocs == m->pool_allocs);
    FUZZ_SAC_REQUIRE(cp->frees == m->pool_frees);
  }
  for (i = 0; i < m->live_count; ++i)
    FUZZ_SAC_REQUIRE(fuzz_sac_intact(&m->live[i]));
}

static void fuzz_sac_alloc(fuzz_sac_model_s *m, size_t request, bool fast)
{
  Index klass = fuzz_sac_class_of(m, request);
  mps_addr_t p = NULL;
  mps_pool_t owner;
  mps_res_t res;
  mps_res_t refused = MPS_RES_OK;
  fuzz_sac_block_s *b;
  size_t i, size, reserved = mps_arena_reserved(m->arena);
  Count countdown;
  bool fell;

  if (m->live_count == FUZZ_SAC_MAX_LIVE)
    return;
again:
  countdown = refusal_countdown(m->arena);
  if (fast)
    MPS_SAC_ALLOC_FAST(res, p, m->sac, request, 0);
  else
    res = mps_sac_alloc(&p, m->sac, request, 0);
  fell = refusal_fell(m->arena, countdown);
  fuzz_sac_retried(m, refused, res, reserved);

  if (klass != FUZZ_SAC_OVERLARGE && m->cached[klass] > 0) {
    /* A hit: the top of the stack, with no request to the arena. */
    FUZZ_SAC_REQUIRE(res == MPS_RES_OK);
    FUZZ_SAC_REQUIRE(refusal_countdown(m->arena) == countdown);
    FUZZ_SAC_REQUIRE(p == m->stack[klass][m->cached[klass] - 1]);
    --m->cached[klass];
  } else {
    /* A miss: the pool's result; on failure nothing changed (which the
     * comparison checks before the retry). */
    if (res != MPS_RES_OK) {
      FUZZ_SAC_REQUIRE(fuzz_sac_allowed_failure(m, res, fell));
      fuzz_sac_reserved_kept(m, reserved);
      if (!fell)
        return;
      /* The refusal was for one request only: the same miss again must
       * succeed, unless the commit limit stops it. */
      fuzz_sac_compare(m);
      refused = res;
      goto again;
    }
    ++m->pool_allocs;
    for (i = 0; i < m->class_count; ++i) {
      size_t j;
      for (j = 0; j < m->cached[i]; ++j)
        FUZZ_SAC_REQUIRE(p != m->stack[i][j]);
    }
  }
  size = klass == FUZZ_SAC_OVERLARGE ? (request + MPS_PF_ALIGN - 1) & ~(size_t)(MPS_PF_ALIGN - 1)
                                     : m->classes[klass].mps_block_size;
  FUZZ_SAC_REQUIRE(((uintptr_t)p & (MPS_PF_ALIGN - 1)) == 0);
  FUZZ_SAC_REQUIRE(mps_addr_pool(&owner, m->arena, p) && owner == m->pool);
  for (i = 0; i < m->live_count; ++i) {
    const fuzz_sac_block_s *o = &m->live[i];
    FUZZ_SAC_REQUIRE((uintptr_t)p + size <= (uintptr_t)o->base
                     || (uintptr_t)o->base + o->size <= (uintptr_t)p);
  }
  b = &m->live[m->live_count++];
  b->base = p;
  b->request = request;
  b->size = size;
  b->klass = klass;
  b->fill = m->next_fill++;
  memset(b->base, b->fill, request);
}

/* `twice`: free the block again at once through mps_sac_free, a client
 * error that cool catches whether the block is cached or gone to the
 * pool: it must be reported, and change nothing (the comparison after
 * the step sees the caches and the pool's traffic as the model has them). */
static void fuzz_sac_free(fuzz_sac_model_s *m, Index which, bool fast, bool twice)
{
  fuzz_sac_block_s b;
  size_t i;
  if (m->live_count == 0)
    return;
  /* The index first: the count's decrement and a read of it in one
   * expression would be unsequenced. */
  i = which % m->live_count;
  b = m->live[i];
  --m->live_count;
  m->live[i] = m->live[m->live_count];
  FUZZ_SAC_REQUIRE(fuzz_sac_intact(&b));
  if (fast)
    MPS_SAC_FREE_FAST(m->sac, b.base, b.request);
  else
    mps_sac_free(m->sac, b.base, b.request);
  if (b.klass != FUZZ_SAC_OVERLARGE && m->cached[b.klass] < m->classes[b.klass].mps_cached_count)
    m->stack[b.klass][m->cached[b.klass]++] = b.base;
  else
    ++m->pool_frees;
  if (twice) {
    mps_lib_assert_fail_t handler = fuzz_reports_begin();
    mps_sac_free(m->sac, b.base, b.request);
    FUZZ_SAC_REQUIRE(fuzz_reports_end(handler) > 0);
  }
}

/* The size an allocation's argument asks for.  A growing arena's
 * overlarge requests lie 512 times further out, so that they take
 * many grains each. */
static size_t fuzz_sac_request(const fuzz_sac_model_s *m, Byte arg)
{
  size_t request = 1 + (size_t)arg * m->max_request / 256;
  size_t largest = m->classes[m->class_count - 1].mps_block_size;
  if (m->grows && request > largest)
    request = largest + (request - largest) * 512;
  return request;
}

/* Every cached block goes back to the pool. */
static void fuzz_sac_flush_model(fuzz_sac_model_s *m)
{
  size_t i;
  for (i = 0; i < m->class_count; ++i) {
    m->pool_frees += m->cached[i];
    m->cached[i] = 0;
  }
}

static void fuzz_sac_flush(fuzz_sac_model_s *m)
{
  mps_sac_flush(m->sac);
  fuzz_sac_flush_model(m);
}

/* Arm the arena to refuse its `count`-th request for memory from now;
 * with `remake`, destroy the cache (its blocks go back to the pool) and
 * make it again, which may be what the refusal falls on. */
static void fuzz_sac_refuse(fuzz_sac_model_s *m, Count count, bool remake)
{
  Count countdown;
  mps_res_t res, refused = MPS_RES_OK;
  size_t reserved;
  arena_fail_after((Arena)m->arena, count);
  if (!remake)
    return;
  /* Destruction cannot fail: if the refusal falls on it (MVFF's frees
   * may ask for a node of its land), it absorbs it. */
  mps_sac_destroy(m->sac);
  fuzz_sac_flush_model(m);
  reserved = mps_arena_reserved(m->arena);
  for (;;) {
    countdown = refusal_countdown(m->arena);
    res = mps_sac_create(&m->sac, m->pool, m->class_count, m->classes);
    fuzz_sac_retried(m, refused, res, reserved);
    if (res == MPS_RES_OK)
      break;
    fuzz_sac_reserved_kept(m, reserved);
    refused = res;
    /* Only the refusal may stop it: the old cache's control memory, just
     * freed, is there for the new one whatever the limit, and once the
     * refusal has fallen the retry must succeed. */
    FUZZ_SAC_REQUIRE(fuzz_sac_allowed_failure(m, res, refusal_fell(m->arena, countdown))
                     && res != MPS_RES_COMMIT_LIMIT);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static fuzz_sac_model_s model;
  fuzz_sac_model_s *m = &model;
  size_t pos, i, step, arena_size = (size_t)1 << 20;

  if (size < 1)
    return 0;
  memset(m, 0, sizeof *m);
  m->grows = (data[0] & 0xC0) == 0x40;
  if (m->grows)
    arena_size = ((size_t)256 << 10) + (size_t)(data[0] >> 4 & 3) * ((size_t)64 << 10);
  m->kind = (data[0] & 1) != 0 ? FUZZ_SAC_MFS
            : (data[0] & 8) != 0 ? FUZZ_SAC_MVFF : FUZZ_SAC_COUNTING;
  m->class_count = 1 + (size_t)((data[0] >> 1) & 3);
  pos = 1;
  step = 0;
  for (i = 0; i < m->class_count; ++i) {
    Byte a = pos < size ? data[pos] : 0;
    Byte c = pos + 1 < size ? data[pos + 1] : 2;
    pos += 2;
    step += MPS_PF_ALIGN * (1 + (size_t)(a % 8));
    m->classes[i].mps_block_size = step;
    m->classes[i].mps_cached_count = c % (FUZZ_SAC_MAX_CACHED + 1);
    m->classes[i].mps_frequency = a;
  }
  /* MFS blocks are one size, so requests stay within the largest class;
   * the others also take overlarge requests. */
  m->max_request = step + (m->kind == FUZZ_SAC_MFS ? 0 : 3 * MPS_PF_ALIGN + 100);

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, arena_size);
    FUZZ_SAC_REQUIRE(mps_arena_create_k(&m->arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  if (m->kind == FUZZ_SAC_MFS) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, step);
      MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, m->grows ? (size_t)256 << 10 : (size_t)4096);
      FUZZ_SAC_REQUIRE(mps_pool_create_k(&m->pool, m->arena, mps_class_mfs(), args) == MPS_RES_OK);
    } MPS_ARGS_END(args);
  } else if (m->kind == FUZZ_SAC_MVFF) {
    FUZZ_SAC_REQUIRE(mps_pool_create_k(&m->pool, m->arena, mps_class_mvff(), mps_args_none)
                     == MPS_RES_OK);
  } else {
    FUZZ_SAC_REQUIRE(mps_pool_create_k(&m->pool, m->arena, &fuzz_sac_pool_class, mps_args_none)
                     == MPS_RES_OK);
  }
  FUZZ_SAC_REQUIRE(mps_sac_create(&m->sac, m->pool, m->class_count, m->classes) == MPS_RES_OK);
  fuzz_sac_compare(m);

  for (; pos + 1 < size; pos += 2) {
    Byte kind = data[pos], arg = data[pos + 1];
    switch (kind % 8) {
    case 0:
    case 1:
      fuzz_sac_alloc(m, fuzz_sac_request(m, arg), (kind & 1) != 0);
      break;
    case 2:
    case 3:
      fuzz_sac_free(m, arg, (kind & 1) != 0, (kind & 0x80) != 0);
      break;
    case 4:
      fuzz_sac_flush(m);
      break;
    case 5:
      /* Misses fail from here on unless the pool has room already. */
      mps_arena_spare_set(m->arena, 0.0);
      FUZZ_SAC_REQUIRE(mps_arena_commit_limit_set(m->arena, mps_arena_committed(m->arena))
                       == MPS_RES_OK);
      m->limited = true;
      break;
    case 6:
      if (kind == 0xFE) {
        fuzz_sac_refuse(m, 1 + (Count)(arg & 7), (arg & 0x80) != 0);
        break;
      }
      FUZZ_SAC_REQUIRE(mps_arena_commit_limit_set(m->arena, (size_t)-1) == MPS_RES_OK);
      m->limited = false;
      break;
    default:
      /* Allocate the same size twice in a row through both paths. */
      fuzz_sac_alloc(m, fuzz_sac_request(m, arg), false);
      fuzz_sac_compare(m);
      fuzz_sac_alloc(m, fuzz_sac_request(m, arg), true);
      break;
    }
    fuzz_sac_compare(m);
  }

  /* Free everything through the cache, then destroy it: the pool must be
   * left with nothing in use. */
  arena_fail_after((Arena)m->arena, 0);
  while (m->live_count > 0)
    fuzz_sac_free(m, 0, (m->live_count & 1) != 0, false);
  fuzz_sac_compare(m);
  mps_sac_destroy(m->sac);
  if (m->kind != FUZZ_SAC_COUNTING) {
    FUZZ_SAC_REQUIRE(mps_pool_free_size(m->pool) == mps_pool_total_size(m->pool));
  } else {
    size_t cached = 0;
    for (i = 0; i < m->class_count; ++i)
      cached += m->cached[i];
    FUZZ_SAC_REQUIRE(fuzz_sac_counting(m->pool)->frees == m->pool_frees + cached);
    FUZZ_SAC_REQUIRE(fuzz_sac_counting(m->pool)->allocs == fuzz_sac_counting(m->pool)->frees);
  }
  mps_pool_destroy(m->pool);
  mps_arena_destroy(m->arena);
  return 0;
}
