/* fuzz_mvt: the MVT pool against a model of its live blocks.
 *
 * Input: three bytes choose the pool's max size, fragmentation limit and
 * reserve depth; then each operation is an opcode byte and two argument
 * bytes:
 *   0, 1  reserve and commit a block on point 0 or 1 (size from the
 *         arguments; now and then larger than the pool's fill size)
 *   2     mps_free a live block, checking its contents first; with the
 *         opcode's top bit, free it again at once: a client error that
 *         must be reported and change nothing
 *   3     destroy and recreate one point
 *   4     set the commit limit to a few grains above what is committed,
 *         or lift it
 *   5     push a frame on a point and pop it again; with the opcode's
 *         top bit, the first argument's top bits 10 and the second's 11,
 *         first have the arena refuse one of its next 1..16 requests for
 *         memory (arena_fail_after); then with bit 5 of the second
 *         argument make a second pool with a point and a block and
 *         destroy them, and with bit 4 renew the point, so that the
 *         refusal may fall on a pool's or a point's creation, a fill,
 *         the frame, or whatever comes next
 * The model records every live block (address, size, pattern seed).  A
 * new block must be aligned and overlap no live block; after every
 * operation every live block is sampled for its pattern, and the sizes
 * are checked: total >= allocated >= live, free <= total.  A reserve, a
 * pool's or a point's creation or a frame's push fails only with
 * MPS_RES_COMMIT_LIMIT while a commit limit is set, or with MPS_RES_MEMORY
 * or MPS_RES_RESOURCE when the refusal fell on it; a failed reserve
 * leaves the pool no larger, and each, tried again at once, succeeds (or
 * meets the commit limit).  Frees and pops absorb a refusal.  Any
 * mismatch aborts.
 *
 * Every failed call leaves the arena's reserved address space
 * (mps_arena_reserved) as it was: a chunk it grew before a later request
 * was refused goes back.  A call refused address space (MPS_RES_RESOURCE)
 * needed a new chunk, so tried again it succeeds and grows the arena: the
 * commit limit was checked before the growth was asked for.
 *
 * The first byte may instead choose a growing arena (0x20 to 0x3F, with
 * which no earlier seed begins, so the corpus kept its meaning; its low
 * two bits still pick the max size): 256 KiB plus 32 KiB times bits 2-4,
 * instead of 2 MiB, so that fills, large blocks and the refusals that
 * fall in them ask for new chunks far more often.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvt.h"
#include "../src/arena/arena.h"
#include "support/model.h"
#include "support/reports.h"
#include "support/refusal.h"

#define FUZZ_MVT_GRAIN ((size_t)4096)
#define FUZZ_MVT_MAX_BLOCKS 200

typedef struct fuzz_mvt_block_s {
  unsigned char *base;
  size_t size;
  unsigned char seed;
} fuzz_mvt_block_s;

static fuzz_mvt_block_s fuzz_mvt_blocks[FUZZ_MVT_MAX_BLOCKS];
static size_t fuzz_mvt_count;
static mps_arena_t fuzz_mvt_arena;
static Count fuzz_mvt_countdown;   /* arena_fail_after's count before this op */
static int fuzz_mvt_limited;       /* a commit limit is set */
static size_t fuzz_mvt_max_size;   /* the pool's parameters, from the input */
static double fuzz_mvt_frag;
static mps_word_t fuzz_mvt_depth;

/* What a call that may be refused is judged against: whether the refusal
 * had fallen before it began, and the arena's reserved address space. */
typedef struct fuzz_mvt_call_s {
  int fell_before;
  size_t reserved;
} fuzz_mvt_call_s;

#define FUZZ_MVT_REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

static unsigned char fuzz_mvt_byte(const fuzz_mvt_block_s *b, size_t i)
{
  return (unsigned char)(b->seed + i * 7);
}

FUZZ_MODEL static void fuzz_mvt_fill(fuzz_mvt_block_s *b)
{
  size_t i;
  for (i = 0; i < b->size; ++i)
    b->base[i] = fuzz_mvt_byte(b, i);
}

FUZZ_MODEL static void fuzz_mvt_check_all_of(const fuzz_mvt_block_s *b)
{
  size_t i;
  for (i = 0; i < b->size; ++i)
    FUZZ_MVT_REQUIRE(b->base[i] == fuzz_mvt_byte(b, i));
}

FUZZ_MODEL static void fuzz_mvt_check_sample(const fuzz_mvt_block_s *b)
{
  size_t at[4], i;
  at[0] = 0;
  at[1] = b->size - 1;
  at[2] = b->size / 2;
  at[3] = (b->size * 5) / 8;
  for (i = 0; i < 4; ++i)
    FUZZ_MVT_REQUIRE(b->base[at[i]] == fuzz_mvt_byte(b, at[i]));
}

/* The block being added, b, overlaps no live block. */
FUZZ_MODEL static void fuzz_mvt_check_disjoint(const fuzz_mvt_block_s *b)
{
  size_t i;
  for (i = 0; i < fuzz_mvt_count; ++i) {
    const fuzz_mvt_block_s *o = &fuzz_mvt_blocks[i];
    FUZZ_MVT_REQUIRE(b->base + b->size <= o->base || o->base + o->size <= b->base);
  }
}

static mps_res_t fuzz_mvt_alloc(mps_ap_t ap, size_t size, unsigned char seed)
{
  fuzz_mvt_block_s *b = &fuzz_mvt_blocks[fuzz_mvt_count];
  mps_addr_t p;
  mps_res_t res;
  do {
    res = mps_reserve(&p, ap, size);
    if (res != MPS_RES_OK)
      return res;
    b->base = p;
    b->size = size;
    b->seed = seed;
    fuzz_mvt_fill(b);
  } while (!mps_commit(ap, p, size));
  FUZZ_MVT_REQUIRE((uintptr_t)p % MPS_PF_ALIGN == 0);
  fuzz_mvt_check_disjoint(b);
  ++fuzz_mvt_count;
  return MPS_RES_OK;
}

/* Whether the request arena_fail_after was asked to refuse was refused
 * since the operation began. */
static int fuzz_mvt_fell(void)
{
  return refusal_fell(fuzz_mvt_arena, fuzz_mvt_countdown);
}

static fuzz_mvt_call_s fuzz_mvt_begin(void)
{
  fuzz_mvt_call_s call;
  call.fell_before = fuzz_mvt_fell();
  call.reserved = mps_arena_reserved(fuzz_mvt_arena);
  return call;
}

/* A failure the documentation allows: the commit limit while one is set,
 * or the refused request, which must have fallen during this call.
 * Either way a chunk grown for the call went back. */
static void fuzz_mvt_failed(const fuzz_mvt_call_s *call, mps_res_t res)
{
  if (res == MPS_RES_COMMIT_LIMIT)
    FUZZ_MVT_REQUIRE(fuzz_mvt_limited);
  else
    FUZZ_MVT_REQUIRE(!call->fell_before && fuzz_mvt_fell()
                     && refusal_result(res));
  FUZZ_MVT_REQUIRE(mps_arena_reserved(fuzz_mvt_arena) == call->reserved);
}

/* A second try, with nothing refused now, of a call that failed with
 * `refused`.  Refused address space, it needed a new chunk and must get
 * one now; the commit limit cannot stop it, having let the growth be
 * asked for. */
static void fuzz_mvt_retried(const fuzz_mvt_call_s *call, mps_res_t refused, mps_res_t res)
{
  if (refused == MPS_RES_RESOURCE)
    FUZZ_MVT_REQUIRE(res == MPS_RES_OK
                     && mps_arena_reserved(fuzz_mvt_arena) > call->reserved);
  else
    FUZZ_MVT_REQUIRE(res == MPS_RES_OK
                     || (res == MPS_RES_COMMIT_LIMIT && fuzz_mvt_limited));
  if (res != MPS_RES_OK)
    FUZZ_MVT_REQUIRE(mps_arena_reserved(fuzz_mvt_arena) == call->reserved);
}

/* Reserve and commit a block; a refused request fails the first try
 * only, and changes nothing the model sees. */
static mps_res_t fuzz_mvt_alloc_checked(mps_pool_t pool, mps_ap_t ap, size_t size,
                                        unsigned char seed)
{
  size_t total = mps_pool_total_size(pool);
  fuzz_mvt_call_s call = fuzz_mvt_begin();
  mps_res_t refused, res = fuzz_mvt_alloc(ap, size, seed);
  if (res == MPS_RES_OK)
    return res;
  fuzz_mvt_failed(&call, res);
  /* It may give back empty segments to make room under the limit, but
   * keeps nothing it got for the block. */
  FUZZ_MVT_REQUIRE(mps_pool_total_size(pool) <= total);
  if (res == MPS_RES_COMMIT_LIMIT)
    return res;
  refused = res;
  res = fuzz_mvt_alloc(ap, size, seed);
  fuzz_mvt_retried(&call, refused, res);
  return res;
}

/* Make point *ap_o; if it is refused, try again at once. */
static void fuzz_mvt_ap_create(mps_ap_t *ap_o, mps_pool_t pool)
{
  fuzz_mvt_call_s call = fuzz_mvt_begin();
  mps_res_t res = mps_ap_create_k(ap_o, pool, mps_args_none);
  if (res == MPS_RES_OK)
    return;
  fuzz_mvt_failed(&call, res);
  if (res != MPS_RES_COMMIT_LIMIT) {
    mps_res_t refused = res;
    res = mps_ap_create_k(ap_o, pool, mps_args_none);
    fuzz_mvt_retried(&call, refused, res);
    if (res == MPS_RES_OK)
      return;
  }
  /* Control memory is short under the limit: lift it; it must work then. */
  FUZZ_MVT_REQUIRE(mps_arena_commit_limit_set(fuzz_mvt_arena, SIZE_MAX) == MPS_RES_OK);
  fuzz_mvt_limited = 0;
  FUZZ_MVT_REQUIRE(mps_ap_create_k(ap_o, pool, mps_args_none) == MPS_RES_OK);
}

/* Push a frame and pop it again; the push may be refused, once. */
static void fuzz_mvt_frame(mps_ap_t ap)
{
  mps_frame_t frame;
  fuzz_mvt_call_s call = fuzz_mvt_begin();
  mps_res_t res = mps_ap_frame_push(&frame, ap);
  if (res != MPS_RES_OK) {
    mps_res_t refused = res;
    fuzz_mvt_failed(&call, res);
    res = mps_ap_frame_push(&frame, ap);
    fuzz_mvt_retried(&call, refused, res);
    if (res != MPS_RES_OK)
      return;
  }
  FUZZ_MVT_REQUIRE(mps_ap_frame_pop(ap, frame) == MPS_RES_OK);
}

static mps_res_t fuzz_mvt_pool_create(mps_pool_t *pool_o)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MIN_SIZE, (size_t)16);
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, (size_t)64);
    MPS_ARGS_ADD(args, MPS_KEY_MAX_SIZE, fuzz_mvt_max_size);
    MPS_ARGS_ADD(args, MPS_KEY_MVT_FRAG_LIMIT, fuzz_mvt_frag);
    MPS_ARGS_ADD(args, MPS_KEY_MVT_RESERVE_DEPTH, fuzz_mvt_depth);
    res = mps_pool_create_k(pool_o, fuzz_mvt_arena, mps_class_mvt(), args);
  } MPS_ARGS_END(args);
  return res;
}

/* A second pool with a point and a block, made and destroyed while the
 * first is left alone: its creation, its point's and its first fill may
 * each be where the refusal falls; each is tried again once then.  A
 * commit limit in the way ends it early. */
static void fuzz_mvt_second_pool(mps_pool_t pool)
{
  size_t total = mps_pool_total_size(pool), free_size = mps_pool_free_size(pool);
  mps_pool_t other;
  mps_ap_t ap = NULL;
  mps_addr_t p;
  mps_res_t res, refused;
  fuzz_mvt_call_s call = fuzz_mvt_begin();
  res = fuzz_mvt_pool_create(&other);
  if (res != MPS_RES_OK) {
    fuzz_mvt_failed(&call, res);
    if (res == MPS_RES_COMMIT_LIMIT)
      return;
    refused = res;
    res = fuzz_mvt_pool_create(&other);
    fuzz_mvt_retried(&call, refused, res);
    if (res != MPS_RES_OK)
      return;
  }
  call = fuzz_mvt_begin();
  res = mps_ap_create_k(&ap, other, mps_args_none);
  if (res != MPS_RES_OK) {
    fuzz_mvt_failed(&call, res);
    refused = res;
    res = res == MPS_RES_COMMIT_LIMIT ? res : mps_ap_create_k(&ap, other, mps_args_none);
    fuzz_mvt_retried(&call, refused, res);
  }
  if (res == MPS_RES_OK) {
    call = fuzz_mvt_begin();
    res = mps_reserve(&p, ap, 64);
    if (res != MPS_RES_OK) {
      fuzz_mvt_failed(&call, res);
      FUZZ_MVT_REQUIRE(mps_pool_total_size(other) == 0);
      refused = res;
      res = res == MPS_RES_COMMIT_LIMIT ? res : mps_reserve(&p, ap, 64);
      fuzz_mvt_retried(&call, refused, res);
    }
    if (res == MPS_RES_OK) {
      memset(p, 0x5A, 64);
      if (mps_commit(ap, p, 64))
        mps_free(other, p, 64);
    }
    mps_ap_destroy(ap);
  }
  mps_pool_destroy(other);
  FUZZ_MVT_REQUIRE(mps_pool_total_size(pool) == total && mps_pool_free_size(pool) == free_size);
}

static void fuzz_mvt_free(mps_pool_t pool, size_t i)
{
  fuzz_mvt_block_s *b = &fuzz_mvt_blocks[i];
  fuzz_mvt_check_all_of(b);
  mps_free(pool, b->base, b->size);
  fuzz_mvt_blocks[i] = fuzz_mvt_blocks[--fuzz_mvt_count];
}

/* Free block i, then again at once: the second free must be reported
 * and refused, the pool's free size unchanged. */
static void fuzz_mvt_free_twice(mps_pool_t pool, size_t i)
{
  unsigned char *base = fuzz_mvt_blocks[i].base;
  size_t size = fuzz_mvt_blocks[i].size, free_before;
  mps_lib_assert_fail_t handler;
  fuzz_mvt_free(pool, i);
  free_before = mps_pool_free_size(pool);
  handler = fuzz_reports_begin();
  mps_free(pool, base, size);
  FUZZ_MVT_REQUIRE(fuzz_reports_end(handler) > 0);
  FUZZ_MVT_REQUIRE(mps_pool_free_size(pool) == free_before);
}

FUZZ_MODEL static void fuzz_mvt_check(mps_pool_t pool)
{
  size_t i, live = 0, total, free_size;
  for (i = 0; i < fuzz_mvt_count; ++i) {
    fuzz_mvt_check_sample(&fuzz_mvt_blocks[i]);
    live += fuzz_mvt_blocks[i].size;
  }
  total = mps_pool_total_size(pool);
  free_size = mps_pool_free_size(pool);
  FUZZ_MVT_REQUIRE(total >= live);
  FUZZ_MVT_REQUIRE(free_size <= total);
  FUZZ_MVT_REQUIRE(total - free_size >= live);
  FUZZ_MVT_REQUIRE(total % FUZZ_MVT_GRAIN == 0);
  FUZZ_MVT_REQUIRE(mps_mvt_size(pool) == total);
  FUZZ_MVT_REQUIRE(mps_mvt_free_size(pool) == free_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const size_t maxes[4] = { 256, 1024, 4096, 8192 };
  mps_arena_t arena;
  mps_pool_t pool;
  mps_ap_t ap[2];
  size_t pos, max_size, i, arena_size = (size_t)1 << 21;
  double frag;
  mps_res_t res;

  if (size < 3)
    return 0;
  max_size = maxes[data[0] % 4];
  frag = (double)(data[1] % 100 + 1) / 100.0;
  fuzz_mvt_count = 0;
  if ((data[0] & 0xE0) == 0x20)
    arena_size = ((size_t)256 << 10) + (size_t)(data[0] >> 2 & 7) * ((size_t)32 << 10);

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, FUZZ_MVT_GRAIN);
    /* Small, so that cool's walks of the arena's tables stay cheap; the
     * arena grows if the input needs more. */
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, arena_size);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  FUZZ_MVT_REQUIRE(res == MPS_RES_OK);
  fuzz_mvt_arena = arena;
  fuzz_mvt_limited = 0;
  mps_arena_spare_set(arena, (double)(data[2] & 1));
  fuzz_mvt_max_size = max_size;
  fuzz_mvt_frag = frag;
  fuzz_mvt_depth = (mps_word_t)(data[2] >> 1) * 16;
  FUZZ_MVT_REQUIRE(fuzz_mvt_pool_create(&pool) == MPS_RES_OK);
  for (i = 0; i < 2; ++i)
    FUZZ_MVT_REQUIRE(mps_ap_create_k(&ap[i], pool, mps_args_none) == MPS_RES_OK);

  for (pos = 3; pos + 3 <= size; pos += 3) {
    unsigned op = data[pos] % 6, a = data[pos + 1], b = data[pos + 2];
    fuzz_mvt_countdown = refusal_countdown(arena);
    switch (op) {
    case 0:
    case 1: {
      size_t bytes = ((size_t)a << 8 | b) % 2048 + 1;
      if ((a & 0xF0) == 0xF0)
        bytes = ((size_t)b + 1) * 300;   /* up to 76800: large blocks */
      bytes = (bytes + MPS_PF_ALIGN - 1) / MPS_PF_ALIGN * MPS_PF_ALIGN;
      if (fuzz_mvt_count == FUZZ_MVT_MAX_BLOCKS)
        fuzz_mvt_free(pool, a % fuzz_mvt_count);
      fuzz_mvt_alloc_checked(pool, ap[op], bytes, (unsigned char)(a ^ b ^ pos));
      break;
    }
    case 2:
      if (fuzz_mvt_count > 0 && data[pos] >= 128)
        fuzz_mvt_free_twice(pool, ((size_t)a << 8 | b) % fuzz_mvt_count);
      else if (fuzz_mvt_count > 0)
        fuzz_mvt_free(pool, ((size_t)a << 8 | b) % fuzz_mvt_count);
      break;
    case 3:
      mps_ap_destroy(ap[a & 1]);
      fuzz_mvt_ap_create(&ap[a & 1], pool);
      break;
    case 4:
      fuzz_mvt_limited = a < 200;
      if (a >= 200)
        FUZZ_MVT_REQUIRE(mps_arena_commit_limit_set(arena, SIZE_MAX) == MPS_RES_OK);
      else
        FUZZ_MVT_REQUIRE(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)
                                                    + (size_t)(a % 32) * FUZZ_MVT_GRAIN)
                         == MPS_RES_OK);
      break;
    default:
      if (data[pos] >= 128 && (a & 0xC0) == 0x80 && (b & 0xC0) == 0xC0) {
        arena_fail_after((Arena)arena, (Count)(b & 0x0F) + 1);
        fuzz_mvt_countdown = refusal_countdown(arena);
        if (b & 0x20)
          fuzz_mvt_second_pool(pool);
        if (b & 0x10) {
          mps_ap_destroy(ap[a & 1]);
          fuzz_mvt_ap_create(&ap[a & 1], pool);
        }
      }
      fuzz_mvt_frame(ap[a & 1]);
      break;
    }
    fuzz_mvt_check(pool);
  }

  arena_fail_after((Arena)arena, 0);
  while (fuzz_mvt_count > 0)
    fuzz_mvt_free(pool, fuzz_mvt_count - 1);
  mps_ap_destroy(ap[0]);
  mps_ap_destroy(ap[1]);
  FUZZ_MVT_REQUIRE(mps_pool_free_size(pool) == mps_pool_total_size(pool));
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
  return 0;
}
