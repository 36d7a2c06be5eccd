/* fuzz_mvff.c: an MVFF pool against a shadow model of its live blocks.
 *
 * Each input builds a VM arena and an MVFF pool with placement options
 * taken from the first byte, then decodes operations: mps_alloc (small,
 * medium or large sizes), mps_free of a live block (and at once again:
 * the double free must be reported and change nothing; or a misaligned,
 * zero-sized or foreign free instead, likewise), reserve/commit on one
 * of two allocation points, destroying and recreating an allocation
 * point, setting the commit limit or having the arena refuse one of its
 * next requests for memory (arena_fail_after: it may fall on a free or a
 * flush, which cannot fail, and must then be absorbed), setting the
 * arena's spare fraction, and a churn of hundreds of small blocks freed
 * in a scrambled order and then flushed.  Every live block is in the
 * model with its address, size and fill byte.  After every operation:
 * blocks are aligned, do not overlap, keep their contents; the pool's
 * total size covers the live bytes plus its free size; and (in cool,
 * where this is built; fuzz_mvff_hot.c builds it hot) every public call
 * has run the pool's checks.  A call that may ask the arena for memory
 * (an allocation, a reserve, making a point) may fail with
 * MPS_RES_COMMIT_LIMIT while a commit limit is set, and with
 * MPS_RES_MEMORY or MPS_RES_RESOURCE only if the armed refusal fell in
 * it: it must then have changed nothing the model holds (an allocation
 * nothing in use either), and the same call again must succeed, the
 * refusal being for one request only.  A failed call leaves the arena's
 * reserved address space (mps_arena_reserved) as it was, whatever it
 * grew for before the refused request; one refused for want of address
 * space (MPS_RES_RESOURCE) needed a new chunk, so the call made again
 * must succeed and grow the arena.  (A free may grow it too, when the
 * free land needs a node: that is no failure.)  Setting the commit limit
 * or the spare fraction never grows it, and setting the spare fraction
 * gives spare memory back at once: committed memory goes down by exactly
 * the spare memory given up, all of it for a fraction of 0.
 *
 * The first byte may instead choose a growing arena (0xC0 to 0xDF, which
 * none of the seeds made before it began, so they kept their meaning),
 * and the placement options are then the second byte: the arena starts
 * at 256 KiB << (byte & 1), which the target's larger blocks and the
 * pool's extensions soon outgrow, so that allocations, fills and the
 * refusals that fall in them ask for new chunks.  In such an arena the
 * operation on allocation points may also (bit 1 of its argument) make
 * or destroy a second MVFF pool, with one block of up to 512 KiB:
 * creating the pool asks for control memory, and its block for grains.
 *
 * At the end, after the frees, the pool must still serve a small and a
 * large block, with nothing refused.  Once the pool is gone and the spare
 * fraction is 0, only the chunks' headers and the arena's control memory
 * stay committed: what the pool gave back was decommitted.  The arena is
 * destroyed at the end of each input (ASan checks for leaks). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvff.h"
#include "../src/arena/arena.h"
#include "../src/arena/chunk.h"
#include "support/model.h"
#include "support/reports.h"
#include "support/refusal.h"

#define FUZZ_MVFF_SLOTS 128

typedef struct fuzz_mvff_block_s {
  unsigned char *p;
  size_t size;
  unsigned char fill;
} fuzz_mvff_block_s;

typedef struct fuzz_mvff_s {
  const uint8_t *data;
  size_t size, next;
  mps_arena_t arena;
  mps_pool_t pool;
  mps_ap_t ap[2];
  size_t align;
  fuzz_mvff_block_s block[FUZZ_MVFF_SLOTS];
  unsigned char serial;
  unsigned churns;
  bool limited;              /* a commit limit below SIZE_MAX is set */
  bool grows;                /* the first byte chose a growing arena */
  mps_pool_t extra;          /* a growing arena's second pool, or NULL */
} fuzz_mvff_s;

/* One call that may ask the arena for memory, made until it succeeds or
 * meets the commit limit: the refusal's countdown and the reserved
 * address space when the latest attempt began, and what the refused
 * attempt before it gave (MPS_RES_OK if none was refused). */
typedef struct fuzz_mvff_try_s {
  Count countdown;
  size_t reserved;
  mps_res_t refused;
} fuzz_mvff_try_s;

static unsigned fuzz_mvff_byte(fuzz_mvff_s *f)
{
  return f->next < f->size ? f->data[f->next++] : 0;
}

static size_t fuzz_mvff_size(fuzz_mvff_s *f)
{
  unsigned kind = fuzz_mvff_byte(f), a = fuzz_mvff_byte(f), b = fuzz_mvff_byte(f);
  size_t size;
  switch (kind % 8) {
  case 0: size = 1 + (a % 64); break;
  case 7: size = ((size_t)a << 11) + ((size_t)b << 3) + 1; break;   /* up to ~512 kB */
  default: size = 1 + (((size_t)a << 8) | b) % 4096; break;
  }
  return size;
}

FUZZ_MODEL static fuzz_mvff_block_s *fuzz_mvff_empty_slot(fuzz_mvff_s *f)
{
  size_t i;
  for (i = 0; i < FUZZ_MVFF_SLOTS; ++i)
    if (f->block[i].p == NULL)
      return &f->block[i];
  return NULL;
}

static void fuzz_mvff_record(fuzz_mvff_s *f, fuzz_mvff_block_s *b, void *p, size_t size)
{
  b->p = p;
  b->size = size;
  b->fill = ++f->serial;
  memset(p, b->fill, size);
}

/* Compare with a run of the fill byte a page at a time: a byte loop
 * under coverage instrumentation would dominate the run time. */
FUZZ_MODEL static void fuzz_mvff_check_contents(const fuzz_mvff_block_s *b, bool every_byte)
{
  static unsigned char pattern[4096];
  size_t i;
  if (!every_byte) {
    size_t step = 1 + b->size / 16;
    for (i = 0; i < b->size; i += step)
      if (b->p[i] != b->fill)
        abort();
    if (b->p[b->size - 1] != b->fill)
      abort();
    return;
  }
  memset(pattern, b->fill, sizeof pattern);
  for (i = 0; i < b->size; i += sizeof pattern) {
    size_t n = b->size - i < sizeof pattern ? b->size - i : sizeof pattern;
    if (memcmp(b->p + i, pattern, n) != 0)
      abort();
  }
}

FUZZ_MODEL static int fuzz_mvff_cmp(const void *x, const void *y)
{
  const fuzz_mvff_block_s *a = *(fuzz_mvff_block_s *const *)x;
  const fuzz_mvff_block_s *b = *(fuzz_mvff_block_s *const *)y;
  return (uintptr_t)a->p < (uintptr_t)b->p ? -1 : (uintptr_t)a->p > (uintptr_t)b->p;
}

FUZZ_MODEL static void fuzz_mvff_check(fuzz_mvff_s *f)
{
  fuzz_mvff_block_s *live[FUZZ_MVFF_SLOTS];
  size_t n = 0, i, live_bytes = 0, total, free_bytes;
  for (i = 0; i < FUZZ_MVFF_SLOTS; ++i) {
    fuzz_mvff_block_s *b = &f->block[i];
    if (b->p == NULL)
      continue;
    if ((uintptr_t)b->p % f->align != 0)
      abort();
    fuzz_mvff_check_contents(b, false);
    live[n++] = b;
    live_bytes += (b->size + f->align - 1) / f->align * f->align;
  }
  qsort(live, n, sizeof live[0], fuzz_mvff_cmp);
  for (i = 1; i < n; ++i)
    if ((uintptr_t)live[i - 1]->p + live[i - 1]->size > (uintptr_t)live[i]->p)
      abort();
  total = mps_pool_total_size(f->pool);
  free_bytes = mps_pool_free_size(f->pool);
  if (free_bytes > total || total - free_bytes < live_bytes)
    abort();
}

/* What the pool has in use: its blocks, points' regions and overheads. */
static size_t fuzz_mvff_used(fuzz_mvff_s *f)
{
  return mps_pool_total_size(f->pool) - mps_pool_free_size(f->pool);
}

static void fuzz_mvff_try_begin(fuzz_mvff_s *f, fuzz_mvff_try_s *t)
{
  t->countdown = refusal_countdown(f->arena);
  t->reserved = mps_arena_reserved(f->arena);
}

/* Judge a failed attempt of the call `t`: true if the refusal fell in
 * it, when the caller tries again (the retry meets no refusal, so it may
 * fail only at the commit limit, and not even there after a refusal of
 * address space: the limit let that growth be tried); false if the
 * commit limit stopped it.  Any other failure aborts, and so does one
 * that kept address space it grew. */
static bool fuzz_mvff_refused(fuzz_mvff_s *f, mps_res_t res, fuzz_mvff_try_s *t)
{
  if (mps_arena_reserved(f->arena) != t->reserved)
    abort();
  if (refusal_result(res)) {
    if (!refusal_fell(f->arena, t->countdown))
      abort();   /* refused early, late, twice, or with nothing armed */
    t->refused = res;
    fuzz_mvff_check(f);
    return true;
  }
  if (res != MPS_RES_COMMIT_LIMIT || !f->limited || t->refused == MPS_RES_RESOURCE)
    abort();
  return false;
}

/* The call `t` succeeded: if an attempt before was refused address
 * space, it needed a new chunk, which this one must have made. */
static void fuzz_mvff_done(fuzz_mvff_s *f, const fuzz_mvff_try_s *t)
{
  if (t->refused == MPS_RES_RESOURCE && mps_arena_reserved(f->arena) <= t->reserved)
    abort();
}

/* mps_alloc, tried again after a refusal; a failed allocation must have
 * put nothing in use. */
static mps_res_t fuzz_mvff_alloc(fuzz_mvff_s *f, mps_addr_t *p_o, size_t size)
{
  fuzz_mvff_try_s t = {0, 0, MPS_RES_OK};
  mps_res_t res;
  size_t used;
  do {
    fuzz_mvff_try_begin(f, &t);
    used = fuzz_mvff_used(f);
    res = mps_alloc(p_o, f->pool, size);
    if (res != MPS_RES_OK && fuzz_mvff_used(f) != used)
      abort();
  } while (res != MPS_RES_OK && fuzz_mvff_refused(f, res, &t));
  if (res == MPS_RES_OK)
    fuzz_mvff_done(f, &t);
  return res;
}

static void fuzz_mvff_free(fuzz_mvff_s *f, fuzz_mvff_block_s *b)
{
  fuzz_mvff_check_contents(b, true);
  mps_free(f->pool, b->p, b->size);
  b->p = NULL;
}

/* A client error every checking variety catches: a block freed again at
 * once, while it is still free (on a quick list, its slab's list, a remote
 * list or in the land), or gone back to its zone or the arena.  It must
 * be reported, and refused: the pool's free size stays as it was. */
/* A bad free that every checking variety refuses before it touches the
 * pool, of a live block that stays live: misaligned inside it, of size
 * zero, or of memory no pool owns.  Reported; the block's contents and
 * the pool's free size stay as they were. */
static void fuzz_mvff_bad_free(fuzz_mvff_s *f, fuzz_mvff_block_s *b, unsigned how)
{
  static unsigned char foreign[256];
  size_t free_before = mps_pool_free_size(f->pool);
  mps_lib_assert_fail_t handler = fuzz_reports_begin();
  switch (how % 3) {
  case 0:
    mps_free(f->pool, b->p + 1 + how % (f->align - 1), b->size - 1);
    break;
  case 1:
    mps_free(f->pool, b->p, 0);
    break;
  default:
    mps_free(f->pool, foreign + (64 - (uintptr_t)foreign % 64), 64);
    break;
  }
  if (fuzz_reports_end(handler) == 0 || mps_pool_free_size(f->pool) != free_before)
    abort();
  fuzz_mvff_check_contents(b, true);
}

static void fuzz_mvff_free_twice(fuzz_mvff_s *f, fuzz_mvff_block_s *b)
{
  unsigned char *p = b->p;
  size_t size = b->size, free_before;
  mps_lib_assert_fail_t handler;
  fuzz_mvff_free(f, b);
  free_before = mps_pool_free_size(f->pool);
  handler = fuzz_reports_begin();
  mps_free(f->pool, p, size);
  if (fuzz_reports_end(handler) == 0 || mps_pool_free_size(f->pool) != free_before)
    abort();
}

/* Allocate up to FUZZ_MVFF_CHURN small blocks, check and free them in a
 * scrambled order (so that more than 256 sit on the pool's quick lists),
 * then allocate once more, which flushes the lists into the land: the
 * flush that sorts in scratch grains (pool_mvff.c, mvff_flush).  The
 * blocks are outside the model; the checks after the step see that the
 * pool's books still cover the model's live blocks.
 *
 * Only the first FUZZ_MVFF_BIG_CHURNS churns of an input are that big;
 * later ones free at most FUZZ_MVFF_SMALL_CHURN blocks, within the quick
 * lists.  A cool free checks the block against all of the pool's free
 * memory, so a big churn costs hundreds of such checks, and inputs held
 * several (one operation in eleven is a churn): replaying the corpus took
 * longer than a CI run, leaving no time to fuzz. */
#define FUZZ_MVFF_CHURN 384
#define FUZZ_MVFF_BIG_CHURNS 1
#define FUZZ_MVFF_SMALL_CHURN 64
FUZZ_MODEL static size_t fuzz_mvff_gcd(size_t a, size_t b)
{
  while (b != 0) {
    size_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

static void fuzz_mvff_churn(fuzz_mvff_s *f)
{
  static unsigned char *p[FUZZ_MVFF_CHURN];
  static size_t sz[FUZZ_MVFF_CHURN];
  size_t n = 257 + fuzz_mvff_byte(f) % 128, got = 0, i, stride;
  unsigned shape = fuzz_mvff_byte(f);
  mps_addr_t q;
  mps_res_t res;
  if (n > FUZZ_MVFF_CHURN)
    n = FUZZ_MVFF_CHURN;
  if (++f->churns > FUZZ_MVFF_BIG_CHURNS)
    n = 1 + n % FUZZ_MVFF_SMALL_CHURN;
  for (got = 0; got < n; ++got) {
    mps_addr_t a;
    sz[got] = 16 + 16 * ((got * (shape | 1)) % (1 + shape % 16));
    res = fuzz_mvff_alloc(f, &a, sz[got]);
    if (res != MPS_RES_OK)
      break;
    p[got] = a;
    memset(p[got], (int)(got & 0xFF), sz[got]);
  }
  /* A stride prime to got visits every block once. */
  stride = 1 + 2 * (shape % 64);
  while (got > 0 && fuzz_mvff_gcd(stride, got) != 1)
    ++stride;
  for (i = 0; i < got; ++i) {
    size_t j = (i * stride) % got;
    if (p[j][0] != (unsigned char)(j & 0xFF) || p[j][sz[j] - 1] != (unsigned char)(j & 0xFF))
      abort();
    mps_free(f->pool, p[j], sz[j]);
  }
  if (fuzz_mvff_alloc(f, &q, 16) == MPS_RES_OK)
    mps_free(f->pool, q, 16);
}

/* A growing arena's second pool: made, with one block of 4 KiB to
 * 512 KiB (bits 2 to 4 of `k`, less up to 24 bytes by bits 5 and 6),
 * placed high or low (bit 7), each call made again after a refusal; or
 * destroyed, with its block. */
static void fuzz_mvff_extra(fuzz_mvff_s *f, unsigned k)
{
  fuzz_mvff_try_s t = {0, 0, MPS_RES_OK};
  size_t size = ((size_t)4096 << ((k >> 2) & 7)) - 8 * ((k >> 5) & 3);
  mps_addr_t p;
  mps_res_t res;
  if (f->extra != NULL) {
    mps_pool_destroy(f->extra);
    f->extra = NULL;
    return;
  }
  do {
    fuzz_mvff_try_begin(f, &t);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_MVFF_ARENA_HIGH, (k & 0x80) != 0);
      res = mps_pool_create_k(&f->extra, f->arena, mps_class_mvff(), args);
    } MPS_ARGS_END(args);
    if (res != MPS_RES_OK)
      f->extra = NULL;
  } while (res != MPS_RES_OK && fuzz_mvff_refused(f, res, &t));
  if (res != MPS_RES_OK)
    return;
  fuzz_mvff_done(f, &t);
  t.refused = MPS_RES_OK;
  do {
    fuzz_mvff_try_begin(f, &t);
    res = mps_alloc(&p, f->extra, size);
  } while (res != MPS_RES_OK && fuzz_mvff_refused(f, res, &t));
  if (res != MPS_RES_OK)
    return;
  fuzz_mvff_done(f, &t);
  memset(p, 0xA5, size);   /* the arena gave memory that can be written */
}

static void fuzz_mvff_step(fuzz_mvff_s *f)
{
  unsigned op = fuzz_mvff_byte(f);
  fuzz_mvff_block_s *b;
  mps_addr_t p;
  mps_res_t res = MPS_RES_OK;
  size_t size, committed, spare;
  size_t reserved = mps_arena_reserved(f->arena);
  fuzz_mvff_try_s t = {0, 0, MPS_RES_OK};
  switch (op % 11) {
  case 0: case 1: case 2:   /* mps_alloc */
    size = fuzz_mvff_size(f);
    b = fuzz_mvff_empty_slot(f);
    if (b == NULL)
      break;
    if (fuzz_mvff_alloc(f, &p, size) == MPS_RES_OK)
      fuzz_mvff_record(f, b, p, size);
    break;
  case 3: case 4: {         /* mps_free; with the top bit, twice; with
                             * the next, a bad free of the block */
    unsigned k = fuzz_mvff_byte(f);
    b = &f->block[k % FUZZ_MVFF_SLOTS];
    if (b->p != NULL && (op & 0x80) != 0)
      fuzz_mvff_free_twice(f, b);
    else if (b->p != NULL && (op & 0x40) != 0)
      fuzz_mvff_bad_free(f, b, k / FUZZ_MVFF_SLOTS + op);
    else if (b->p != NULL)
      fuzz_mvff_free(f, b);
    break;
  }
  case 5: case 6: {         /* reserve/commit on one of the points */
    mps_ap_t ap = f->ap[op & 1];
    size = fuzz_mvff_size(f);
    size = (size + f->align - 1) / f->align * f->align;
    b = fuzz_mvff_empty_slot(f);
    if (b == NULL || ap == NULL)
      break;
    for (;;) {
      fuzz_mvff_try_begin(f, &t);
      res = mps_reserve(&p, ap, size);
      if (res != MPS_RES_OK) {
        if (fuzz_mvff_refused(f, res, &t))
          continue;
        break;
      }
      memset(p, 0, size);
      if (mps_commit(ap, p, size))
        break;
    }
    if (res == MPS_RES_OK) {
      fuzz_mvff_done(f, &t);
      fuzz_mvff_record(f, b, p, size);
    }
    break;
  }
  case 7: {                 /* destroy or recreate a point; in a growing
                             * arena, with bit 1, the second pool */
    unsigned k = fuzz_mvff_byte(f), i = k & 1;
    if (f->grows && (k & 2) != 0) {
      fuzz_mvff_extra(f, k);
    } else if (f->ap[i] != NULL) {
      mps_ap_destroy(f->ap[i]);
      f->ap[i] = NULL;
    } else {
      do {
        fuzz_mvff_try_begin(f, &t);
        res = mps_ap_create_k(&f->ap[i], f->pool, mps_args_none);
        if (res != MPS_RES_OK)
          f->ap[i] = NULL;
      } while (res != MPS_RES_OK && fuzz_mvff_refused(f, res, &t));
      if (res == MPS_RES_OK)
        fuzz_mvff_done(f, &t);
    }
    break;
  }
  case 8: {                 /* the commit limit: just above use, or none;
                             * with the top bit, a refused request instead */
    unsigned k = fuzz_mvff_byte(f);
    size_t limit = k >= 200 ? SIZE_MAX : mps_arena_committed(f->arena) + (size_t)k * 4096;
    if (op & 0x80) {
      arena_fail_after((Arena)f->arena, (Count)(k & 0x3F) + 1);
    } else {
      if (mps_arena_commit_limit_set(f->arena, limit) != MPS_RES_OK)
        abort();
      f->limited = limit != SIZE_MAX;
    }
    if (mps_arena_reserved(f->arena) != reserved)
      abort();
    break;
  }
  case 9: {                 /* the arena's spare fraction */
    unsigned k = fuzz_mvff_byte(f);
    committed = mps_arena_committed(f->arena);
    spare = mps_arena_spare_committed(f->arena);
    mps_arena_spare_set(f->arena, k / 255.0);
    if (mps_arena_spare_committed(f->arena) > spare
        || (k == 0 && mps_arena_spare_committed(f->arena) != 0)
        || committed - mps_arena_committed(f->arena)
           != spare - mps_arena_spare_committed(f->arena)
        || mps_arena_reserved(f->arena) != reserved)
      abort();
    break;
  }
  case 10:                  /* churn: hundreds of small frees, then a flush */
    fuzz_mvff_churn(f);
    break;
  }
}

/* With no pool left and a spare fraction of 0, every grain the pools had
 * is decommitted: only the chunks' headers and the grains the arena took
 * for control memory stay committed. */
static void fuzz_mvff_given_back(fuzz_mvff_s *f)
{
  Arena arena = (Arena)f->arena;
  size_t kept = arena->control_size;
  Ring node, next;
  mps_arena_spare_set(f->arena, 0.0);
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    kept += chunk_pages_size(chunk, chunk->alloc_base);
  }
  if (mps_arena_spare_committed(f->arena) != 0 || mps_arena_committed(f->arena) != kept)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static fuzz_mvff_s f;
  unsigned options;
  size_t i, arena_size = (size_t)4 << 20;
  mps_addr_t p;
  memset(&f, 0, sizeof f);
  f.data = data;
  f.size = size;
  options = fuzz_mvff_byte(&f);
  if ((options & 0xE0) == 0xC0) {
    f.grows = true;
    arena_size = (size_t)256 << 10 << (options & 1);
    options = fuzz_mvff_byte(&f);
  }

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, arena_size);
    if (mps_arena_create_k(&f.arena, mps_arena_class_vm(), args) != MPS_RES_OK)
      abort();
  } MPS_ARGS_END(args);
  f.align = (options & 0x08) ? 64 : MPS_PF_ALIGN;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, (size_t)4096 << (options & 0x07));
    MPS_ARGS_ADD(args, MPS_KEY_ALIGN, (mps_align_t)f.align);
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, (double)((options >> 4) & 3) / 3.0);
    if (options & 0x40) {   /* the documented top-down combination */
      MPS_ARGS_ADD(args, MPS_KEY_MVFF_ARENA_HIGH, 1);
      MPS_ARGS_ADD(args, MPS_KEY_MVFF_SLOT_HIGH, 1);
      MPS_ARGS_ADD(args, MPS_KEY_MVFF_FIRST_FIT, 0);
    }
    if (mps_pool_create_k(&f.pool, f.arena, mps_class_mvff(), args) != MPS_RES_OK)
      abort();
  } MPS_ARGS_END(args);
  if (mps_ap_create_k(&f.ap[0], f.pool, mps_args_none) != MPS_RES_OK)
    abort();

  while (f.next < f.size) {
    fuzz_mvff_step(&f);
    fuzz_mvff_check(&f);
  }

  /* Free half of what is left, or (for inputs of odd length) all of it,
   * so that both paths out are exercised: freeing, and destroying a pool
   * with live blocks.  With nothing allocated and no allocation point, all
   * of the pool's memory is free (slabs, lists and land alike). */
  arena_fail_after((Arena)f.arena, 0);
  if (mps_arena_commit_limit_set(f.arena, SIZE_MAX) != MPS_RES_OK)
    abort();
  for (i = 0; i < FUZZ_MVFF_SLOTS; i += (f.size & 1) ? 1 : 2)
    if (f.block[i].p != NULL)
      fuzz_mvff_free(&f, &f.block[i]);
  fuzz_mvff_check(&f);
  /* With nothing refused and no limit, the pool serves a small block and
   * one larger than the first chunk (a growing arena grows for it), apart
   * from the blocks still live; slot 0 was freed just now. */
  for (i = 0; i < 2; ++i) {
    size_t want = i == 0 ? 24 : (size_t)600 << 10;
    if (fuzz_mvff_alloc(&f, &p, want) != MPS_RES_OK)
      abort();
    fuzz_mvff_record(&f, &f.block[0], p, want);
    fuzz_mvff_check(&f);
    fuzz_mvff_free(&f, &f.block[0]);
  }
  for (i = 0; i < 2; ++i)
    if (f.ap[i] != NULL)
      mps_ap_destroy(f.ap[i]);
  if ((f.size & 1) && mps_pool_free_size(f.pool) != mps_pool_total_size(f.pool))
    abort();
  mps_pool_destroy(f.pool);
  if (f.extra != NULL)
    mps_pool_destroy(f.extra);
  fuzz_mvff_given_back(&f);
  mps_arena_destroy(f.arena);
  return 0;
}
