/* fuzz_debug.c: a debugging MVFF pool against a model of where the
 * client has damaged memory.
 *
 * Each input builds a VM arena and an mps_class_mvff_debug pool whose
 * alignment, templates (sizes 1 to 12 and 1 to 8, so they often do not
 * divide the fence) and spare fraction come from the first bytes, then
 * decodes operations: mps_alloc, mps_free of a live block, damaging one
 * byte of a live block's fence, damaging one byte of memory the model
 * knows was freed (and the pool still owns), mps_pool_check_fenceposts,
 * mps_pool_check_free_space.  A recording assertion handler collects every
 * report, and after each operation the bytes the reports name (address
 * and length) must be exactly the damaged bytes the model says that
 * operation must find:
 *   alloc        damaged free bytes inside the new block and its fences;
 *   free         damaged bytes of that block's fences, and any damaged
 *                free bytes (checked before the pool may give memory back
 *                to the arena, which drops them from its record);
 *   the checks   every damaged fence byte / every damaged free byte;
 *   destroy      all of them.
 * Any other assertion aborts, and so does a damaged free byte the pool
 * gave back to the arena without reporting it (topic/debugging.rst: the
 * free template is checked when memory goes back to the arena).  The
 * arena is destroyed at the end of each input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvff.h"
#include "../include/mpslib.h"

#define FUZZ_DEBUG_SLOTS 48
#define FUZZ_DEBUG_FREED 64
#define FUZZ_DEBUG_DAMAGE 256
#define FUZZ_DEBUG_REPORTS 512
/* Damaged bytes an operation can expect: every fence byte, plus free. */
#define FUZZ_DEBUG_EXPECT (FUZZ_DEBUG_SLOTS * 2 * 64 + FUZZ_DEBUG_DAMAGE)

typedef struct fuzz_debug_block_s {
  unsigned char *p;          /* NULL: slot empty */
  size_t size;               /* rounded to the alignment */
} fuzz_debug_block_s;

typedef struct fuzz_debug_range_s {
  uintptr_t base, limit;
  bool free;                 /* a report of free space, not of a fence */
} fuzz_debug_range_s;

static const uint8_t *fuzz_debug_data;
static size_t fuzz_debug_size, fuzz_debug_next;
static mps_arena_t fuzz_debug_arena;
static mps_pool_t fuzz_debug_pool;
static size_t fuzz_debug_fence;        /* F: bytes in each fence */
static fuzz_debug_block_s fuzz_debug_block[FUZZ_DEBUG_SLOTS];
static fuzz_debug_range_s fuzz_debug_freed[FUZZ_DEBUG_FREED];   /* where to damage */
static size_t fuzz_debug_freed_count;
static uintptr_t fuzz_debug_damage[FUZZ_DEBUG_DAMAGE];  /* damaged free bytes */
static size_t fuzz_debug_damage_count;

/* Reports since the last operation, as (address, length). */
static fuzz_debug_range_s fuzz_debug_report[FUZZ_DEBUG_REPORTS];
static size_t fuzz_debug_report_count;

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
static void fuzz_debug_expect(uintptr_t *expected, size_t n)
{
  static uintptr_t got[FUZZ_DEBUG_EXPECT];
  size_t i, count = 0;
  uintptr_t a;
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
  qsort(got, count, sizeof got[0], fuzz_debug_compare);
  qsort(expected, n, sizeof expected[0], fuzz_debug_compare);
  for (i = 0; i < n; ++i)
    if (got[i] != expected[i])
      abort();
  fuzz_debug_report_count = 0;
}

/* Damaged fence bytes are found by comparing with the template, which the
 * model knows: the fence bytes of live blocks that differ from it. */
static const unsigned char *fuzz_debug_fence_tpl;
static size_t fuzz_debug_fence_size;

static size_t fuzz_debug_fence_damage(uintptr_t *out, size_t n, const fuzz_debug_block_s *b)
{
  size_t i, f = fuzz_debug_fence;
  for (i = 0; i < f; ++i) {
    unsigned char want = fuzz_debug_fence_tpl[i % fuzz_debug_fence_size];
    if (b->p[-(ptrdiff_t)f + (ptrdiff_t)i] != want)
      out[n++] = (uintptr_t)(b->p - f + i);
    if (b->p[b->size + i] != want)
      out[n++] = (uintptr_t)(b->p + b->size + i);
  }
  return n;
}

/* Take out of the damage set the bytes in [base, limit), appending them
 * to out. */
static size_t fuzz_debug_take_damage(uintptr_t *out, size_t n, uintptr_t base, uintptr_t limit)
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

static bool fuzz_debug_owned_range(const fuzz_debug_range_s *r)
{
  uintptr_t a;
  /* Steps well below any grain size. */
  for (a = r->base; a < r->limit; a += 512)
    if (!fuzz_debug_owned(a))
      return false;
  return fuzz_debug_owned(r->limit - 1);
}

/* Take the free-space reports out of the reports since the last
 * operation: each must name damaged free bytes, which leave the damage
 * set as they leave the pool's record. */
static void fuzz_debug_take_free_reports(void)
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
      fuzz_debug_damage[j] = fuzz_debug_damage[--fuzz_debug_damage_count];
    }
    fuzz_debug_report[i] = fuzz_debug_report[--fuzz_debug_report_count];
  }
}

/* Forget what is no longer the pool's: once given back, memory may come
 * back fresh, unsplatted and unrecorded.  Damage in it must have been
 * reported before it went (and so be out of the damage set). */
static void fuzz_debug_forget_released(void)
{
  size_t i = 0;
  while (i < fuzz_debug_freed_count) {
    if (!fuzz_debug_owned_range(&fuzz_debug_freed[i]))
      fuzz_debug_freed[i] = fuzz_debug_freed[--fuzz_debug_freed_count];
    else
      ++i;
  }
  for (i = 0; i < fuzz_debug_damage_count; ++i)
    if (!fuzz_debug_owned(fuzz_debug_damage[i]))
      abort();   /* given back to the arena unchecked */
}

/* A new block's extent stops being a place to damage free memory. */
static void fuzz_debug_unfree(uintptr_t base, uintptr_t limit)
{
  size_t i = 0;
  while (i < fuzz_debug_freed_count) {
    if (fuzz_debug_freed[i].base < limit && base < fuzz_debug_freed[i].limit)
      fuzz_debug_freed[i] = fuzz_debug_freed[--fuzz_debug_freed_count];
    else
      ++i;
  }
}

static size_t fuzz_debug_align;

static void fuzz_debug_alloc(void)
{
  static uintptr_t expected[FUZZ_DEBUG_DAMAGE];
  unsigned slot = fuzz_debug_byte() % FUZZ_DEBUG_SLOTS, s = fuzz_debug_byte();
  size_t size = s < 200 ? 1 + s : 1 + (size_t)s * 40;
  fuzz_debug_block_s *b = &fuzz_debug_block[slot];
  mps_addr_t p;
  uintptr_t base, limit;
  size_t i, n;
  if (b->p != NULL)
    return;
  if (mps_alloc(&p, fuzz_debug_pool, size) != MPS_RES_OK)
    abort();
  if ((uintptr_t)p % fuzz_debug_align != 0)
    abort();
  b->p = p;
  b->size = (size + fuzz_debug_align - 1) & ~(fuzz_debug_align - 1);
  base = (uintptr_t)b->p - fuzz_debug_fence;
  limit = (uintptr_t)b->p + b->size + fuzz_debug_fence;
  /* Damaged free memory handed out again is reported as it goes. */
  n = fuzz_debug_take_damage(expected, 0, base, limit);
  fuzz_debug_expect(expected, n);
  fuzz_debug_unfree(base, limit);
  /* The fences hold the template. */
  for (i = 0; i < FUZZ_DEBUG_SLOTS; ++i)
    if (fuzz_debug_block[i].p != NULL && i != slot) {
      uintptr_t ob = (uintptr_t)fuzz_debug_block[i].p - fuzz_debug_fence;
      uintptr_t ol = (uintptr_t)fuzz_debug_block[i].p + fuzz_debug_block[i].size + fuzz_debug_fence;
      if (ob < limit && base < ol)
        abort();   /* extents overlap */
    }
  if (fuzz_debug_fence_damage(expected, 0, b) != 0)
    abort();
  memset(b->p, (int)slot, b->size);
}

static void fuzz_debug_free(void)
{
  static uintptr_t expected[2 * 64 + 2];
  fuzz_debug_block_s *b = &fuzz_debug_block[fuzz_debug_byte() % FUZZ_DEBUG_SLOTS];
  size_t n;
  if (b->p == NULL)
    return;
  n = fuzz_debug_fence_damage(expected, 0, b);
  mps_free(fuzz_debug_pool, b->p, b->size);
  fuzz_debug_take_free_reports();
  fuzz_debug_expect(expected, n);
  if (fuzz_debug_freed_count < FUZZ_DEBUG_FREED) {
    fuzz_debug_range_s *r = &fuzz_debug_freed[fuzz_debug_freed_count++];
    r->base = (uintptr_t)b->p - fuzz_debug_fence;
    r->limit = (uintptr_t)b->p + b->size + fuzz_debug_fence;
  }
  b->p = NULL;
}

static void fuzz_debug_damage_fence(void)
{
  fuzz_debug_block_s *b = &fuzz_debug_block[fuzz_debug_byte() % FUZZ_DEBUG_SLOTS];
  unsigned where = fuzz_debug_byte(), mask = fuzz_debug_byte() | 1;
  size_t offset = (where >> 1) % fuzz_debug_fence;
  unsigned char *q;
  if (b->p == NULL)
    return;
  q = (where & 1) ? b->p + b->size + offset : b->p - fuzz_debug_fence + offset;
  *q ^= (unsigned char)mask;
}

static void fuzz_debug_damage_free(void)
{
  unsigned which = fuzz_debug_byte(), off = fuzz_debug_byte() | (fuzz_debug_byte() << 8);
  unsigned mask = fuzz_debug_byte() | 1;
  fuzz_debug_range_s *r;
  uintptr_t a;
  size_t i;
  if (fuzz_debug_freed_count == 0 || fuzz_debug_damage_count == FUZZ_DEBUG_DAMAGE)
    return;
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

static size_t fuzz_debug_all_fence_damage(uintptr_t *out)
{
  size_t i, n = 0;
  for (i = 0; i < FUZZ_DEBUG_SLOTS; ++i)
    if (fuzz_debug_block[i].p != NULL)
      n = fuzz_debug_fence_damage(out, n, &fuzz_debug_block[i]);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const unsigned char tpl[] = "\x11\x22\x33\x44\x55\x66\x77\x88\x99\xAA\xBB\xCC";
  static uintptr_t expected[FUZZ_DEBUG_EXPECT];
  static const size_t aligns[4] = {8, 16, 32, 64};
  static const double spares[4] = {0.0, 0.25, 0.75, 1.0};
  mps_pool_debug_option_s options;
  unsigned shape;
  size_t n, i;

  fuzz_debug_data = data;
  fuzz_debug_size = size;
  fuzz_debug_next = 0;
  memset(fuzz_debug_block, 0, sizeof fuzz_debug_block);
  fuzz_debug_freed_count = 0;
  fuzz_debug_damage_count = 0;
  fuzz_debug_report_count = 0;

  shape = fuzz_debug_byte();
  fuzz_debug_align = aligns[shape & 3];
  fuzz_debug_fence_tpl = tpl;
  fuzz_debug_fence_size = 1 + (shape >> 4) % 12;
  options.fence_template = tpl;
  options.fence_size = fuzz_debug_fence_size;
  options.free_template = tpl + 3;
  options.free_size = 1 + fuzz_debug_byte() % 8;
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
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ALIGN, fuzz_debug_align);
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, spares[(shape >> 2) & 3]);
    MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, &options);
    if (mps_pool_create_k(&fuzz_debug_pool, fuzz_debug_arena, mps_class_mvff_debug(), args)
        != MPS_RES_OK)
      abort();
  } MPS_ARGS_END(args);

  while (fuzz_debug_next < fuzz_debug_size) {
    switch (fuzz_debug_byte() % 8) {
    case 0:
    case 1:
      fuzz_debug_alloc();
      break;
    case 2:
    case 3:
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
    default:
      mps_pool_check_free_space(fuzz_debug_pool);
      for (i = 0; i < fuzz_debug_damage_count; ++i)
        expected[i] = fuzz_debug_damage[i];
      fuzz_debug_expect(expected, fuzz_debug_damage_count);
      break;
    }
    fuzz_debug_forget_released();
    /* Nothing reports between the operations that expect reports. */
    fuzz_debug_expect(expected, 0);
  }

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
