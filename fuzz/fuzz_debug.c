/* fuzz_debug.c: a debugging MVFF pool against a model of where the
 * client has damaged memory.
 *
 * Each input builds a VM arena and an mps_class_mvff_debug pool whose
 * alignment, templates (sizes 1 to 12 and 1 to 8, so they often do not
 * divide the fence; or either absent; or no options at all, so the
 * defaults) and spare fraction come from the first bytes, then decodes
 * operations: mps_alloc, mps_free of a live block, damaging one byte of a
 * live block's fence, damaging one byte of memory the model knows was
 * freed (and the pool still owns), mps_pool_check_fenceposts,
 * mps_pool_check_free_space, reserving and committing through an
 * allocation point (unfenced blocks; a fill checks the region it hands
 * out, and the unused part of the old region goes back splatted),
 * destroying the point, frees the debugging class must refuse (a wrong
 * size, an address inside a fenced block or its fences, a double free, a
 * size that wraps round memory), an allocation too large for the fences,
 * and a phase under a commit limit (blocks allocated until the arena
 * refuses, another debugging pool created, blocks freed while the limit
 * holds), and having the arena refuse one of its next few requests for
 * memory (arena_fail_after).  An allocation, a reserve, the point's
 * creation or another pool's may fail with MPS_RES_MEMORY or
 * MPS_RES_RESOURCE only if the refusal fell on it (MPS_RES_COMMIT_LIMIT
 * only under the limit), reporting nothing and handing nothing out, and
 * is then tried again and must succeed; anything else absorbs it.  The
 * refusal is armed only with no damage anywhere and none is made until it
 * falls: it may cost the record of free memory a range, which would hide
 * damage there, so the model then forgets where it may damage, as after
 * the commit-limit phase.  A recording assertion handler collects every report,
 * and after each operation the bytes the reports name (address and
 * length) must be exactly the damaged bytes the model says that operation
 * must find:
 *   alloc        damaged free bytes inside the new block and its fences;
 *   reserve      if it filled, damaged free bytes in the new region;
 *   free         damaged bytes of that block's fences;
 *   the checks   every damaged fence byte / every damaged free byte;
 *   destroy      all of them;
 * and a free, a fill or the point's destruction may also report damaged
 * free bytes in memory it makes the pool give back to the arena, which
 * must then no longer be the pool's.  A refused free must be reported
 * exactly once and change nothing.  Any other assertion aborts, and so
 * does a damaged free byte the pool gave back to the arena without
 * reporting it (topic/debugging.rst: the free template is checked when
 * memory goes back to the arena), and a live block whose contents
 * changed, and so does a free-space report of bytes nobody damaged
 * (MVFF's fallback free list writes into free memory under a commit
 * limit, and must say so: pool.h, scribble_hook).  After each operation
 * the pool's records must also pass pool_debug_check_deep (live extents
 * and free ranges apart, ranges merged, their total).  The arena is
 * destroyed at the end of each input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvff.h"
#include "../include/mpslib.h"
#include "../src/arena/arena.h"
#include "../src/pool/pool_debug.h"
#include "support/model.h"
#include "support/refusal.h"

#define FUZZ_DEBUG_SLOTS 48
#define FUZZ_DEBUG_FILLERS 256
#define FUZZ_DEBUG_FREED 64
#define FUZZ_DEBUG_DAMAGE 256
#define FUZZ_DEBUG_REPORTS 512
/* Damaged bytes an operation can expect: every fence byte, plus free. */
#define FUZZ_DEBUG_EXPECT (FUZZ_DEBUG_SLOTS * 2 * 64 + FUZZ_DEBUG_DAMAGE)

typedef struct fuzz_debug_block_s {
  unsigned char *p;          /* NULL: slot empty */
  size_t size;               /* rounded to the alignment */
  bool fenced;               /* by mps_alloc with fences, not a point */
} fuzz_debug_block_s;

typedef struct fuzz_debug_range_s {
  uintptr_t base, limit;
  bool free;                 /* a report of free space, not of a fence */
} fuzz_debug_range_s;

/* Memory freed through the debugging class, still the pool's and free. */
typedef struct fuzz_debug_freed_s {
  uintptr_t base, limit;
  uintptr_t addr;            /* a block's mps_free arguments, or 0 */
  size_t size;
} fuzz_debug_freed_s;

static const uint8_t *fuzz_debug_data;
static size_t fuzz_debug_size, fuzz_debug_next;
static mps_arena_t fuzz_debug_arena;
static mps_pool_t fuzz_debug_pool;
static mps_ap_t fuzz_debug_ap;          /* NULL until a reserve makes it */
static mps_pool_debug_option_s fuzz_debug_options;
static bool fuzz_debug_no_options;      /* the pool took the defaults */
static size_t fuzz_debug_fence;        /* F: bytes in each fence */
static size_t fuzz_debug_free_size;    /* 0: no free-space checking */
static fuzz_debug_block_s fuzz_debug_block[FUZZ_DEBUG_SLOTS];
static fuzz_debug_block_s fuzz_debug_filler[FUZZ_DEBUG_FILLERS];
static size_t fuzz_debug_filler_count;
static fuzz_debug_freed_s fuzz_debug_freed[FUZZ_DEBUG_FREED];   /* where to damage */
static size_t fuzz_debug_freed_count;
static uintptr_t fuzz_debug_damage[FUZZ_DEBUG_DAMAGE];  /* damaged free bytes */
static size_t fuzz_debug_damage_count;

/* Reports since the last operation, as (address, length). */
static fuzz_debug_range_s fuzz_debug_report[FUZZ_DEBUG_REPORTS];
static size_t fuzz_debug_report_count;
/* Other reports, allowed only while a refused call is being made. */
static bool fuzz_debug_refusing;
static unsigned fuzz_debug_refusals;

static const char fuzz_debug_fence_prefix[] = "fencepost overwritten at 0x";
static const char fuzz_debug_free_prefix[] = "free space overwritten at 0x";

static void fuzz_debug_record(const char *file, unsigned line, const char *cond)
{
  const char *rest;
  fuzz_debug_range_s *r;
  bool free_space;
  (void)file; (void)line;
  if (strncmp(cond, fuzz_debug_fence_prefix, sizeof fuzz_debug_fence_prefix - 1) == 0) {
    rest = cond + sizeof fuzz_debug_fence_prefix - 1;
    free_space = false;
  } else if (strncmp(cond, fuzz_debug_free_prefix, sizeof fuzz_debug_free_prefix - 1) == 0) {
    rest = cond + sizeof fuzz_debug_free_prefix - 1;
    free_space = true;
  } else if (fuzz_debug_refusing) {
    ++fuzz_debug_refusals;
    return;
  } else {
    abort();   /* no other assertion may fire */
  }
  if (fuzz_debug_report_count == FUZZ_DEBUG_REPORTS)
    abort();
  r = &fuzz_debug_report[fuzz_debug_report_count++];
  r->free = free_space;
  {
    char *end;
    r->base = (uintptr_t)strtoull(rest, &end, 16);
    if (strncmp(end, " (", 2) != 0)
      abort();
    r->limit = r->base + (uintptr_t)strtoull(end + 2, NULL, 10);
  }
}

/* Whether `res`, a failure of a call that asks for memory and during
 * which the countdown went from `countdown` to what it is now, is one the
 * documentation allows: the arena's refusal if it fell on the call, or
 * the commit limit while the phase holds one. */
static bool fuzz_debug_allowed_failure(mps_res_t res, Count countdown, bool limited)
{
  if (refusal_result(res))
    return refusal_fell(fuzz_debug_arena, countdown);
  return res == MPS_RES_COMMIT_LIMIT && limited;
}

static unsigned fuzz_debug_byte(void)
{
  return fuzz_debug_next < fuzz_debug_size ? fuzz_debug_data[fuzz_debug_next++] : 0;
}

static int fuzz_debug_compare(const void *a, const void *b)
{
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

/* The reports since the last call must name exactly the `n` bytes in
 * `expected` (any order; n small). */
FUZZ_MODEL static void fuzz_debug_expect(uintptr_t *expected, size_t n)
{
  static uintptr_t got[FUZZ_DEBUG_EXPECT];
  size_t i, count = 0;
  uintptr_t a;
  if (n > 0)
    qsort(expected, n, sizeof expected[0], fuzz_debug_compare);
  for (i = 0; i < fuzz_debug_report_count; ++i) {
    if (fuzz_debug_report[i].limit <= fuzz_debug_report[i].base)
      abort();
    for (a = fuzz_debug_report[i].base; a < fuzz_debug_report[i].limit; ++a) {
      if (count == sizeof got / sizeof got[0])
        abort();
      got[count++] = a;
    }
  }
  if (count != n)
    abort();
  if (n > 0)
    qsort(got, count, sizeof got[0], fuzz_debug_compare);
  for (i = 0; i < n; ++i)
    if (got[i] != expected[i])
      abort();
  fuzz_debug_report_count = 0;
}

static void fuzz_debug_expect_none(void)
{
  fuzz_debug_expect(NULL, 0);
}

/* Damaged fence bytes are found by comparing with the template, which the
 * model knows: the fence bytes of live blocks that differ from it. */
static const unsigned char *fuzz_debug_fence_tpl;
static size_t fuzz_debug_fence_size;

FUZZ_MODEL static size_t fuzz_debug_fence_damage(uintptr_t *out, size_t n, const fuzz_debug_block_s *b)
{
  size_t i, f = fuzz_debug_fence;
  if (!b->fenced)
    return n;
  for (i = 0; i < f; ++i) {
    unsigned char want = fuzz_debug_fence_tpl[i % fuzz_debug_fence_size];
    if (b->p[-(ptrdiff_t)f + (ptrdiff_t)i] != want)
      out[n++] = (uintptr_t)(b->p - f + i);
    if (b->p[b->size + i] != want)
      out[n++] = (uintptr_t)(b->p + b->size + i);
  }
  return n;
}

/* A block's extent: the client's bytes and, if fenced, its fences. */
static uintptr_t fuzz_debug_extent_base(const fuzz_debug_block_s *b)
{
  return (uintptr_t)b->p - (b->fenced ? fuzz_debug_fence : 0);
}

static uintptr_t fuzz_debug_extent_limit(const fuzz_debug_block_s *b)
{
  return (uintptr_t)b->p + b->size + (b->fenced ? fuzz_debug_fence : 0);
}

/* Whether [base, limit) overlaps the extent of a live block or filler
 * other than `self`. */
FUZZ_MODEL static bool fuzz_debug_overlaps_live(uintptr_t base, uintptr_t limit,
                                                const fuzz_debug_block_s *self)
{
  size_t i;
  for (i = 0; i < FUZZ_DEBUG_SLOTS; ++i) {
    const fuzz_debug_block_s *o = &fuzz_debug_block[i];
    if (o->p != NULL && o != self && fuzz_debug_extent_base(o) < limit
        && base < fuzz_debug_extent_limit(o))
      return true;
  }
  for (i = 0; i < fuzz_debug_filler_count; ++i) {
    const fuzz_debug_block_s *o = &fuzz_debug_filler[i];
    if (o->p != NULL && o != self && fuzz_debug_extent_base(o) < limit && base < fuzz_debug_extent_limit(o))
      return true;
  }
  return false;
}

/* A live block still holds what the client wrote: `fill` throughout. */
FUZZ_MODEL static void fuzz_debug_check_contents(const fuzz_debug_block_s *b, unsigned char fill)
{
  size_t i;
  for (i = 0; i < b->size; ++i)
    if (b->p[i] != fill)
      abort();
}

/* Take out of the damage set the bytes in [base, limit), appending them
 * to out. */
FUZZ_MODEL static size_t fuzz_debug_take_damage(uintptr_t *out, size_t n, uintptr_t base,
                                                uintptr_t limit)
{
  size_t i = 0;
  while (i < fuzz_debug_damage_count) {
    uintptr_t a = fuzz_debug_damage[i];
    if (a >= base && a < limit) {
      out[n++] = a;
      fuzz_debug_damage[i] = fuzz_debug_damage[--fuzz_debug_damage_count];
    } else {
      ++i;
    }
  }
  return n;
}

static bool fuzz_debug_owned(uintptr_t a)
{
  mps_pool_t owner;
  return mps_addr_pool(&owner, fuzz_debug_arena, (mps_addr_t)a) && owner == fuzz_debug_pool;
}

static bool fuzz_debug_owned_range(uintptr_t base, uintptr_t limit)
{
  uintptr_t a;
  /* Steps well below any grain size. */
  for (a = base; a < limit; a += 512)
    if (!fuzz_debug_owned(a))
      return false;
  return fuzz_debug_owned(limit - 1);
}

/* Take the free-space reports out of the reports since the last
 * operation: each must name damaged free bytes, which leave the damage
 * set as they leave the pool's record, and lie in [base, limit) (the
 * region the operation handed out) or in memory the pool gave back. */
FUZZ_MODEL static void fuzz_debug_take_free_reports(uintptr_t base, uintptr_t limit)
{
  size_t i = 0, j;
  uintptr_t a;
  while (i < fuzz_debug_report_count) {
    fuzz_debug_range_s r = fuzz_debug_report[i];
    if (!r.free) {
      ++i;
      continue;
    }
    if (r.limit <= r.base)
      abort();
    for (a = r.base; a < r.limit; ++a) {
      for (j = 0; j < fuzz_debug_damage_count && fuzz_debug_damage[j] != a; ++j)
        ;
      if (j == fuzz_debug_damage_count)
        abort();   /* reported, but not damaged */
      if ((a < base || a >= limit) && fuzz_debug_owned(a))
        abort();   /* not handed out, nor given back */
      fuzz_debug_damage[j] = fuzz_debug_damage[--fuzz_debug_damage_count];
    }
    fuzz_debug_report[i] = fuzz_debug_report[--fuzz_debug_report_count];
  }
}

/* Forget what is no longer the pool's: once given back, memory may come
 * back fresh, unsplatted and unrecorded.  Damage in it must have been
 * reported before it went (and so be out of the damage set). */
FUZZ_MODEL static void fuzz_debug_forget_released(void)
{
  size_t i = 0;
  while (i < fuzz_debug_freed_count) {
    if (!fuzz_debug_owned_range(fuzz_debug_freed[i].base, fuzz_debug_freed[i].limit))
      fuzz_debug_freed[i] = fuzz_debug_freed[--fuzz_debug_freed_count];
    else
      ++i;
  }
  for (i = 0; i < fuzz_debug_damage_count; ++i)
    if (!fuzz_debug_owned(fuzz_debug_damage[i]))
      abort();   /* given back to the arena unchecked */
}

/* A new block's extent stops being a place to damage free memory. */
FUZZ_MODEL static void fuzz_debug_unfree(uintptr_t base, uintptr_t limit)
{
  size_t i = 0;
  while (i < fuzz_debug_freed_count) {
    if (fuzz_debug_freed[i].base < limit && base < fuzz_debug_freed[i].limit)
      fuzz_debug_freed[i] = fuzz_debug_freed[--fuzz_debug_freed_count];
    else
      ++i;
  }
}

static void fuzz_debug_add_freed(uintptr_t base, uintptr_t limit, uintptr_t addr, size_t size)
{
  fuzz_debug_freed_s *r;
  if (fuzz_debug_freed_count == FUZZ_DEBUG_FREED || fuzz_debug_free_size == 0)
    return;
  r = &fuzz_debug_freed[fuzz_debug_freed_count++];
  r->base = base;
  r->limit = limit;
  r->addr = addr;
  r->size = size;
}

static size_t fuzz_debug_align;

/* mps_alloc into `b`, filled with `fill`; false if the arena refused
 * (the commit limit, if `limited`, or arena_fail_after's refusal). */
static bool fuzz_debug_alloc_into(fuzz_debug_block_s *b, size_t size, unsigned char fill,
                                  bool limited)
{
  static uintptr_t expected[FUZZ_DEBUG_DAMAGE];
  mps_addr_t p;
  mps_res_t res;
  uintptr_t base, limit;
  size_t n;
  Count countdown = refusal_countdown(fuzz_debug_arena);
  res = mps_alloc(&p, fuzz_debug_pool, size);
  if (res != MPS_RES_OK) {
    if (!fuzz_debug_allowed_failure(res, countdown, limited))
      abort();
    fuzz_debug_take_free_reports(0, 0);
    fuzz_debug_expect_none();
    return false;
  }
  if ((uintptr_t)p % fuzz_debug_align != 0)
    abort();
  b->p = p;
  b->size = (size + fuzz_debug_align - 1) & ~(fuzz_debug_align - 1);
  b->fenced = fuzz_debug_fence > 0;
  base = fuzz_debug_extent_base(b);
  limit = fuzz_debug_extent_limit(b);
  /* Damaged free memory handed out again is reported as it goes. */
  n = fuzz_debug_take_damage(expected, 0, base, limit);
  fuzz_debug_expect(expected, n);
  fuzz_debug_unfree(base, limit);
  if (fuzz_debug_overlaps_live(base, limit, b))
    abort();
  /* The fences hold the template. */
  if (fuzz_debug_fence_damage(expected, 0, b) != 0)
    abort();
  memset(b->p, fill, b->size);
  return true;
}

static void fuzz_debug_alloc(void)
{
  unsigned slot = fuzz_debug_byte() % FUZZ_DEBUG_SLOTS, s = fuzz_debug_byte();
  size_t size = s < 200 ? 1 + s : 1 + (size_t)s * 40;
  fuzz_debug_block_s *b = &fuzz_debug_block[slot];
  if (b->p != NULL)
    return;
  /* Refused only by arena_fail_after, whose refusal is spent: a second
   * try that failed would abort. */
  if (!fuzz_debug_alloc_into(b, size, (unsigned char)slot, false))
    (void)fuzz_debug_alloc_into(b, size, (unsigned char)slot, false);
}

/* mps_free of a live block, whose fences are checked; its extent becomes
 * a place to damage if `record`. */
static void fuzz_debug_free_block(fuzz_debug_block_s *b, unsigned char fill, bool record)
{
  static uintptr_t expected[2 * 64 + 2];
  size_t n;
  n = fuzz_debug_fence_damage(expected, 0, b);
  fuzz_debug_check_contents(b, fill);
  mps_free(fuzz_debug_pool, b->p, b->size);
  fuzz_debug_take_free_reports(0, 0);
  fuzz_debug_expect(expected, n);
  if (record)
    fuzz_debug_add_freed(fuzz_debug_extent_base(b), fuzz_debug_extent_limit(b),
                         (uintptr_t)b->p, b->size);
  b->p = NULL;
}

static void fuzz_debug_free(void)
{
  unsigned slot = fuzz_debug_byte() % FUZZ_DEBUG_SLOTS;
  fuzz_debug_block_s *b = &fuzz_debug_block[slot];
  if (b->p == NULL)
    return;
  fuzz_debug_free_block(b, (unsigned char)slot, true);
}

static void fuzz_debug_damage_fence(void)
{
  fuzz_debug_block_s *b = &fuzz_debug_block[fuzz_debug_byte() % FUZZ_DEBUG_SLOTS];
  unsigned where = fuzz_debug_byte(), mask = fuzz_debug_byte() | 1;
  size_t offset;
  unsigned char *q;
  if (b->p == NULL || !b->fenced)
    return;
  offset = (where >> 1) % fuzz_debug_fence;
  q = (where & 1) ? b->p + b->size + offset : b->p - fuzz_debug_fence + offset;
  *q ^= (unsigned char)mask;
}

static void fuzz_debug_damage_free(void)
{
  unsigned which = fuzz_debug_byte(), off = fuzz_debug_byte() | (fuzz_debug_byte() << 8);
  unsigned mask = fuzz_debug_byte() | 1;
  fuzz_debug_freed_s *r;
  uintptr_t a;
  size_t i;
  if (fuzz_debug_freed_count == 0 || fuzz_debug_damage_count == FUZZ_DEBUG_DAMAGE)
    return;
  if (refusal_countdown(fuzz_debug_arena) != 0)
    return;   /* the refusal may yet cost the record this range */
  r = &fuzz_debug_freed[which % fuzz_debug_freed_count];
  a = r->base + off % (r->limit - r->base);
  if (!fuzz_debug_owned(a))
    return;   /* given back to the arena: not ours to write */
  for (i = 0; i < fuzz_debug_damage_count; ++i)
    if (fuzz_debug_damage[i] == a)
      return;   /* damaged once is enough: a second flip might mend it */
  *(unsigned char *)a ^= (unsigned char)mask;
  fuzz_debug_damage[fuzz_debug_damage_count++] = a;
}

FUZZ_MODEL static size_t fuzz_debug_all_fence_damage(uintptr_t *out)
{
  size_t i, n = 0;
  for (i = 0; i < FUZZ_DEBUG_SLOTS; ++i)
    if (fuzz_debug_block[i].p != NULL) {
      n = fuzz_debug_fence_damage(out, n, &fuzz_debug_block[i]);
      fuzz_debug_check_contents(&fuzz_debug_block[i], (unsigned char)i);
    }
  return n;
}

/* Reserve and commit a block through the allocation point.  A reserve
 * that does not fit the point's region fills it: the unused rest of the
 * old region goes back to the pool splatted, and the new region is
 * checked as an allocation is. */
static void fuzz_debug_reserve(bool limited)
{
  unsigned slot = fuzz_debug_byte() % FUZZ_DEBUG_SLOTS, s = fuzz_debug_byte();
  size_t size = fuzz_debug_align * (s < 224 ? 1 + s % 16 : 16 * (size_t)(s - 223));
  fuzz_debug_block_s *b = &fuzz_debug_block[slot];
  uintptr_t old_alloc, old_limit, limit;
  mps_addr_t p;
  mps_res_t res;
  bool fits;
  Count countdown;
  if (b->p != NULL)
    return;
again:
  if (fuzz_debug_ap == NULL) {
    countdown = refusal_countdown(fuzz_debug_arena);
    res = mps_ap_create_k(&fuzz_debug_ap, fuzz_debug_pool, mps_args_none);
    if (res != MPS_RES_OK) {
      if (!fuzz_debug_allowed_failure(res, countdown, limited))
        abort();
      fuzz_debug_ap = NULL;
      fuzz_debug_expect_none();
      /* A refusal is spent: outside the phase, the next try must work. */
      if (!limited)
        goto again;
      return;
    }
  }
  old_alloc = (uintptr_t)fuzz_debug_ap->alloc;
  old_limit = (uintptr_t)fuzz_debug_ap->limit;
  fits = old_limit != 0 && old_alloc + size > old_alloc && old_alloc + size <= old_limit;
  countdown = refusal_countdown(fuzz_debug_arena);
  res = mps_reserve(&p, fuzz_debug_ap, size);
  if (res != MPS_RES_OK) {
    /* Only a fill fails, and the old region has gone back by then. */
    if (!fuzz_debug_allowed_failure(res, countdown, limited) || fits)
      abort();
    fuzz_debug_take_free_reports(0, 0);
    fuzz_debug_expect_none();
    if (!limited)
      goto again;   /* likewise */
    return;
  }
  if (fits && refusal_countdown(fuzz_debug_arena) != countdown)
    abort();   /* a reserve within the region asks nobody for memory */
  limit = (uintptr_t)fuzz_debug_ap->limit;
  if (fits) {
    if ((uintptr_t)p != old_alloc)
      abort();
  } else {
    size_t i;
    if ((uintptr_t)p % fuzz_debug_align != 0 || limit < (uintptr_t)p + size)
      abort();
    fuzz_debug_take_free_reports((uintptr_t)p, limit);
    for (i = 0; i < fuzz_debug_damage_count; ++i)
      if (fuzz_debug_damage[i] >= (uintptr_t)p && fuzz_debug_damage[i] < limit)
        abort();   /* handed out unreported */
    if (old_alloc < old_limit)
      fuzz_debug_add_freed(old_alloc, old_limit, 0, 0);
    fuzz_debug_unfree((uintptr_t)p, limit);
    if (fuzz_debug_overlaps_live((uintptr_t)p, limit, NULL))
      abort();
  }
  fuzz_debug_expect_none();
  if (!mps_commit(fuzz_debug_ap, p, size))
    abort();
  b->p = p;
  b->size = size;
  b->fenced = false;
  memset(b->p, (int)slot, b->size);
}

/* Destroying the point gives the unused part of its region back. */
static void fuzz_debug_ap_destroy(void)
{
  uintptr_t init, limit;
  if (fuzz_debug_ap == NULL)
    return;
  init = (uintptr_t)fuzz_debug_ap->init;
  limit = (uintptr_t)fuzz_debug_ap->limit;
  mps_ap_destroy(fuzz_debug_ap);
  fuzz_debug_ap = NULL;
  fuzz_debug_take_free_reports(0, 0);
  fuzz_debug_expect_none();
  if (init < limit)
    fuzz_debug_add_freed(init, limit, 0, 0);
}

/* A free the debugging class must refuse: reported once, nothing done. */
static void fuzz_debug_refused_free(void)
{
  unsigned kind = fuzz_debug_byte(), slot = fuzz_debug_byte() % FUZZ_DEBUG_SLOTS;
  unsigned extra = fuzz_debug_byte();
  fuzz_debug_block_s *b = &fuzz_debug_block[slot];
  size_t f = fuzz_debug_fence, a = fuzz_debug_align;
  uintptr_t addr;
  size_t size;
  switch (kind % 4) {
  case 0:   /* a fenced block with another size */
    if (b->p == NULL || !b->fenced)
      return;
    addr = (uintptr_t)b->p;
    size = (extra & 1) && b->size > a ? b->size - a : b->size + a * (1 + (extra >> 1) % 4);
    break;
  case 1: { /* an address inside a fenced block's extent */
    size_t words;
    if (b->p == NULL || !b->fenced)
      return;
    words = (b->size + 2 * f) / a;
    addr = fuzz_debug_extent_base(b) + (extra % words) * a;
    if (addr == (uintptr_t)b->p)
      addr = fuzz_debug_extent_base(b);
    size = a * (1 + (extra >> 5) % 4);
    break;
  }
  case 2: { /* what was freed already, while the record still has it */
    fuzz_debug_freed_s *r;
    if (fuzz_debug_freed_count == 0)
      return;
    r = &fuzz_debug_freed[extra % fuzz_debug_freed_count];
    if (r->addr == 0)
      return;
    addr = r->addr;
    size = r->size;
    break;
  }
  default:  /* a size running off the end of memory */
    if (b->p == NULL)
      return;
    addr = fuzz_debug_extent_base(b);   /* not a fenced block's address */
    size = (size_t)0 - a;
    break;
  }
  fuzz_debug_refusals = 0;
  fuzz_debug_refusing = true;
  mps_free(fuzz_debug_pool, (mps_addr_t)addr, size);
  fuzz_debug_refusing = false;
  if (fuzz_debug_refusals != 1)
    abort();
  fuzz_debug_expect_none();
}

/* Larger than any block with its fences: refused. */
static void fuzz_debug_huge_alloc(void)
{
  mps_addr_t p;
  mps_res_t res = mps_alloc(&p, fuzz_debug_pool, (size_t)0 - fuzz_debug_align - fuzz_debug_byte() % 2);
  if (res == MPS_RES_OK || (fuzz_debug_fence > 0 && res != MPS_RES_RESOURCE))
    abort();
  fuzz_debug_expect_none();
}

static mps_res_t fuzz_debug_create(mps_pool_t *pool_o, mps_pool_debug_option_s *options,
                                   double spare)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ALIGN, fuzz_debug_align);
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, spare);
    if (!fuzz_debug_no_options)
      MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, options);
    res = mps_pool_create_k(pool_o, fuzz_debug_arena, mps_class_mvff_debug(), args);
  } MPS_ARGS_END(args);
  return res;
}

/* Under a commit limit, allocate blocks until the arena refuses (the
 * block's record or the pool's memory), maybe reserve through the point,
 * destroy it or free a block, then free the blocks, while the limit holds
 * or not, trying after each free to make another debugging pool (it
 * fails at each step of its making as control memory comes back).  The
 * record of free memory may then lose ranges it had no node for, so the
 * model forgets where it may damage; it starts with no damage, which the
 * lost ranges could hide.  The bytes: k (bits 0-1 grains above what is
 * committed, 2 another pool, 3 free a slot, 4 and 5 the order of the
 * frees, 6 destroy the point, 7 reserve), count (bit 7: free under the
 * limit), size. */
static void fuzz_debug_limited(void)
{
  unsigned k = fuzz_debug_byte(), count = fuzz_debug_byte(), s = fuzz_debug_byte();
  bool free_limited = (count & 128) != 0;
  size_t size = s < 128 ? fuzz_debug_align * (1 + s % 8) : 1 + (size_t)s * 64;
  size_t saved = mps_arena_commit_limit(fuzz_debug_arena), i;
  /* Another pool only where it can fail: it costs more than the rest. */
  bool other_made = (k & 4) == 0 || !free_limited;
  if (fuzz_debug_damage_count != 0)
    return;
  if (mps_arena_commit_limit_set(fuzz_debug_arena,
                                 mps_arena_committed(fuzz_debug_arena) + (k % 4) * 4096)
      != MPS_RES_OK)
    abort();
  count = (count & 127) * 2;
  /* MVFF's land falls back on a free list when it has no node for a
   * range, and the free list writes headers into the free memory it
   * holds, splitting recorded ranges: the pool's scribble_hook (pool.h)
   * must keep those words from being reported as damage. */
  for (i = 0; i < count && fuzz_debug_filler_count < FUZZ_DEBUG_FILLERS; ++i) {
    fuzz_debug_block_s *b = &fuzz_debug_filler[fuzz_debug_filler_count];
    if (!fuzz_debug_alloc_into(b, size, 0xEE, true))
      break;
    ++fuzz_debug_filler_count;
  }
  if (k & 128)
    fuzz_debug_reserve(true);
  if (k & 64)
    fuzz_debug_ap_destroy();
  if (k & 8) {
    fuzz_debug_block_s *b = &fuzz_debug_block[(k >> 4) % FUZZ_DEBUG_SLOTS];
    if (b->p != NULL)
      fuzz_debug_free_block(b, (unsigned char)((k >> 4) % FUZZ_DEBUG_SLOTS), false);
  }
  /* Every other one first, so that each leaves a range of its own.  Each
   * free gives control memory back, so another pool made after each one
   * finds a little more, until it can be made. */
  for (i = 0; i <= fuzz_debug_filler_count; ++i) {
    fuzz_debug_block_s *b;
    if (!other_made) {
      /* Turn about, a fence template or a free template that needs a
       * grain of control memory of its own, which the limit refuses once
       * the instance can be had, and small ones. */
      static const unsigned char big[5000] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
      mps_pool_debug_option_s options = {big, 40, big + 1, 24};
      mps_pool_t other;
      Count countdown = refusal_countdown(fuzz_debug_arena);
      mps_res_t res;
      if (i % 3 == 0)
        options.fence_size = sizeof big;
      else if (i % 3 == 1)
        options.free_size = sizeof big - 1;
      res = fuzz_debug_create(&other, &options, 0.5);
      if (res == MPS_RES_OK) {
        mps_pool_destroy(other);
        other_made = true;
      } else if (!fuzz_debug_allowed_failure(res, countdown, true)) {
        abort();
      }
      fuzz_debug_expect_none();
    }
    if (i == fuzz_debug_filler_count)
      break;
    if (i == 0 && !free_limited
        && mps_arena_commit_limit_set(fuzz_debug_arena, saved) != MPS_RES_OK)
      abort();
    if (k & 16) {   /* the even ones, then the odd ones */
      size_t half = (fuzz_debug_filler_count + 1) / 2;
      b = &fuzz_debug_filler[i < half ? 2 * i : 2 * (i - half) + 1];
    } else {
      b = &fuzz_debug_filler[(k & 32) ? fuzz_debug_filler_count - 1 - i : i];
    }
    fuzz_debug_free_block(b, 0xEE, false);
  }
  fuzz_debug_filler_count = 0;
  if (mps_arena_commit_limit_set(fuzz_debug_arena, saved) != MPS_RES_OK)
    abort();
  fuzz_debug_freed_count = 0;
}

/* Have the arena refuse its `count`-th request for memory from now. */
static void fuzz_debug_refuse(void)
{
  Count count = 1 + fuzz_debug_byte() % 16;
  if (fuzz_debug_damage_count != 0)
    return;   /* a range lost from the record could hide it */
  arena_fail_after((Arena)fuzz_debug_arena, count);
}

/* Options the class must refuse, before the real pool is made. */
static void fuzz_debug_bad_options(void)
{
  static const unsigned char tpl[4] = {1, 2, 3, 4};
  mps_pool_debug_option_s bad;
  mps_pool_t pool;
  mps_res_t res;
  fuzz_debug_refusals = 0;
  fuzz_debug_refusing = true;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, NULL);
    res = mps_pool_create_k(&pool, fuzz_debug_arena, mps_class_mvff_debug(), args);
  } MPS_ARGS_END(args);
  if (res != MPS_RES_PARAM || fuzz_debug_refusals != 1)
    abort();
  bad.fence_template = NULL;
  bad.fence_size = 4;
  bad.free_template = tpl;
  bad.free_size = 4;
  fuzz_debug_refusals = 0;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, &bad);
    res = mps_pool_create_k(&pool, fuzz_debug_arena, mps_class_mvff_debug(), args);
  } MPS_ARGS_END(args);
  if (res != MPS_RES_PARAM || fuzz_debug_refusals != 1)
    abort();
  bad.fence_template = tpl;
  bad.fence_size = SIZE_MAX / 2;
  fuzz_debug_refusals = 0;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, &bad);
    res = mps_pool_create_k(&pool, fuzz_debug_arena, mps_class_mvff_debug(), args);
  } MPS_ARGS_END(args);
  fuzz_debug_refusing = false;
  if (res != MPS_RES_PARAM || fuzz_debug_refusals != 0)
    abort();
  fuzz_debug_expect_none();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const unsigned char tpl[] = "\x11\x22\x33\x44\x55\x66\x77\x88\x99\xAA\xBB\xCC";
  static const unsigned char default_fence[] = "POST";
  static uintptr_t expected[FUZZ_DEBUG_EXPECT];
  static const size_t aligns[4] = {8, 16, 32, 64};
  static const double spares[4] = {0.0, 0.25, 0.75, 1.0};
  unsigned shape, second, mode;
  size_t n, i;

  fuzz_debug_data = data;
  fuzz_debug_size = size;
  fuzz_debug_next = 0;
  memset(fuzz_debug_block, 0, sizeof fuzz_debug_block);
  fuzz_debug_filler_count = 0;
  fuzz_debug_freed_count = 0;
  fuzz_debug_damage_count = 0;
  fuzz_debug_report_count = 0;
  fuzz_debug_ap = NULL;

  shape = fuzz_debug_byte();
  second = fuzz_debug_byte();
  /* 0 to 4: both templates; 5: no fences; 6: no free-space checks; 7: no
   * options, so the default templates. */
  mode = second >> 5;
  fuzz_debug_align = aligns[shape & 3];
  fuzz_debug_no_options = mode == 7;
  fuzz_debug_fence_tpl = fuzz_debug_no_options ? default_fence : tpl;
  fuzz_debug_fence_size = fuzz_debug_no_options ? 4 : mode == 5 ? 0 : 1 + (shape >> 4) % 12;
  fuzz_debug_free_size = fuzz_debug_no_options ? 4 : mode == 6 ? 0 : 1 + second % 8;
  fuzz_debug_options.fence_template = fuzz_debug_fence_size > 0 ? tpl : NULL;
  fuzz_debug_options.fence_size = fuzz_debug_fence_size;
  fuzz_debug_options.free_template = fuzz_debug_free_size > 0 ? tpl + 3 : NULL;
  fuzz_debug_options.free_size = fuzz_debug_free_size;
  fuzz_debug_fence = (fuzz_debug_fence_size + fuzz_debug_align - 1) & ~(fuzz_debug_align - 1);

  mps_lib_assert_fail_install(fuzz_debug_record);
  /* In cool every public call checks the arena, counting through chunk
   * tables as long as the reservation: the default one made those counts
   * most of a run.  The heap here needs little; the arena extends if not. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)4 << 20);
    if (mps_arena_create_k(&fuzz_debug_arena, mps_arena_class_vm(), args) != MPS_RES_OK)
      abort();
  } MPS_ARGS_END(args);
  if (fuzz_debug_no_options)
    fuzz_debug_bad_options();
  if (fuzz_debug_create(&fuzz_debug_pool, &fuzz_debug_options, spares[(shape >> 2) & 3])
      != MPS_RES_OK)
    abort();

  while (fuzz_debug_next < fuzz_debug_size) {
    unsigned op = fuzz_debug_byte();
    Count countdown = refusal_countdown(fuzz_debug_arena);
    switch (op % 16) {
    case 0:
    case 1:
    case 14:
      fuzz_debug_alloc();
      break;
    case 2:
    case 3:
    case 15:
      fuzz_debug_free();
      break;
    case 4:
      fuzz_debug_damage_fence();
      break;
    case 5:
      fuzz_debug_damage_free();
      break;
    case 6:
      mps_pool_check_fenceposts(fuzz_debug_pool);
      n = fuzz_debug_all_fence_damage(expected);
      fuzz_debug_expect(expected, n);
      break;
    case 7:
      mps_pool_check_free_space(fuzz_debug_pool);
      for (i = 0; i < fuzz_debug_damage_count; ++i)
        expected[i] = fuzz_debug_damage[i];
      fuzz_debug_expect(expected, fuzz_debug_damage_count);
      break;
    case 8:
    case 9:
      fuzz_debug_reserve(false);
      break;
    case 10:
      fuzz_debug_ap_destroy();
      break;
    case 11:
      fuzz_debug_refused_free();
      break;
    case 12:
      fuzz_debug_limited();
      break;
    default:
      /* Only 0xFD, 13 with the high bits all set, arms the refusal:
       * few older inputs hold it, so few change meaning. */
      if (op == 0xFD)
        fuzz_debug_refuse();
      else
        fuzz_debug_huge_alloc();
      break;
    }
    if (refusal_fell(fuzz_debug_arena, countdown))
      fuzz_debug_freed_count = 0;   /* the record may have lost a range */
    fuzz_debug_forget_released();
    /* The pool's records keep their invariants, those that take walks
     * too: a failure is reported, which the next line finds. */
    arena_enter((Arena)fuzz_debug_arena);
    (void)pool_debug_check_deep((Pool)fuzz_debug_pool);
    arena_leave((Arena)fuzz_debug_arena);
    /* Nothing reports between the operations that expect reports. */
    fuzz_debug_expect_none();
  }

  arena_fail_after((Arena)fuzz_debug_arena, 0);
  fuzz_debug_ap_destroy();
  /* Destroying the pool checks everything that is left. */
  n = fuzz_debug_all_fence_damage(expected);
  for (i = 0; i < fuzz_debug_damage_count; ++i)
    expected[n++] = fuzz_debug_damage[i];
  mps_pool_destroy(fuzz_debug_pool);
  fuzz_debug_expect(expected, n);
  mps_arena_destroy(fuzz_debug_arena);
  mps_lib_assert_fail_install(NULL);
  return 0;
}
