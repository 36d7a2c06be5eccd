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
 *   5     push a frame on a point and pop it again
 * The model records every live block (address, size, pattern seed).  A
 * new block must be aligned and overlap no live block; after every
 * operation every live block is sampled for its pattern, and the sizes
 * are checked: total >= allocated >= live, free <= total.  Any mismatch
 * aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvt.h"
#include "support/model.h"
#include "support/reports.h"

#define FUZZ_MVT_GRAIN ((size_t)4096)
#define FUZZ_MVT_MAX_BLOCKS 200

typedef struct fuzz_mvt_block_s {
  unsigned char *base;
  size_t size;
  unsigned char seed;
} fuzz_mvt_block_s;

static fuzz_mvt_block_s fuzz_mvt_blocks[FUZZ_MVT_MAX_BLOCKS];
static size_t fuzz_mvt_count;

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
  size_t pos, max_size, i;
  double frag;
  mps_res_t res;

  if (size < 3)
    return 0;
  max_size = maxes[data[0] % 4];
  frag = (double)(data[1] % 100 + 1) / 100.0;
  fuzz_mvt_count = 0;

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, FUZZ_MVT_GRAIN);
    /* Small, so that cool's walks of the arena's tables stay cheap; the
     * arena grows if the input needs more. */
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 21);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  FUZZ_MVT_REQUIRE(res == MPS_RES_OK);
  mps_arena_spare_set(arena, (double)(data[2] & 1));
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MIN_SIZE, (size_t)16);
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, (size_t)64);
    MPS_ARGS_ADD(args, MPS_KEY_MAX_SIZE, max_size);
    MPS_ARGS_ADD(args, MPS_KEY_MVT_FRAG_LIMIT, frag);
    MPS_ARGS_ADD(args, MPS_KEY_MVT_RESERVE_DEPTH, (mps_word_t)(data[2] >> 1) * 16);
    res = mps_pool_create_k(&pool, arena, mps_class_mvt(), args);
  } MPS_ARGS_END(args);
  FUZZ_MVT_REQUIRE(res == MPS_RES_OK);
  for (i = 0; i < 2; ++i)
    FUZZ_MVT_REQUIRE(mps_ap_create_k(&ap[i], pool, mps_args_none) == MPS_RES_OK);

  for (pos = 3; pos + 3 <= size; pos += 3) {
    unsigned op = data[pos] % 6, a = data[pos + 1], b = data[pos + 2];
    switch (op) {
    case 0:
    case 1: {
      size_t bytes = ((size_t)a << 8 | b) % 2048 + 1;
      if ((a & 0xF0) == 0xF0)
        bytes = ((size_t)b + 1) * 300;   /* up to 76800: large blocks */
      bytes = (bytes + MPS_PF_ALIGN - 1) / MPS_PF_ALIGN * MPS_PF_ALIGN;
      if (fuzz_mvt_count == FUZZ_MVT_MAX_BLOCKS)
        fuzz_mvt_free(pool, a % fuzz_mvt_count);
      res = fuzz_mvt_alloc(ap[op], bytes, (unsigned char)(a ^ b ^ pos));
      FUZZ_MVT_REQUIRE(res == MPS_RES_OK || res == MPS_RES_COMMIT_LIMIT
                       || res == MPS_RES_MEMORY || res == MPS_RES_RESOURCE);
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
      res = mps_ap_create_k(&ap[a & 1], pool, mps_args_none);
      if (res != MPS_RES_OK) {
        /* Control memory is short: lift the limit; it must work then. */
        FUZZ_MVT_REQUIRE(res == MPS_RES_COMMIT_LIMIT || res == MPS_RES_MEMORY);
        FUZZ_MVT_REQUIRE(mps_arena_commit_limit_set(arena, SIZE_MAX) == MPS_RES_OK);
        FUZZ_MVT_REQUIRE(mps_ap_create_k(&ap[a & 1], pool, mps_args_none) == MPS_RES_OK);
      }
      break;
    case 4:
      if (a >= 200)
        FUZZ_MVT_REQUIRE(mps_arena_commit_limit_set(arena, SIZE_MAX) == MPS_RES_OK);
      else
        FUZZ_MVT_REQUIRE(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)
                                                    + (size_t)(a % 32) * FUZZ_MVT_GRAIN)
                         == MPS_RES_OK);
      break;
    default: {
      mps_frame_t frame;
      res = mps_ap_frame_push(&frame, ap[a & 1]);
      FUZZ_MVT_REQUIRE(res == MPS_RES_OK);
      FUZZ_MVT_REQUIRE(mps_ap_frame_pop(ap[a & 1], frame) == MPS_RES_OK);
      break;
    }
    }
    fuzz_mvt_check(pool);
  }

  while (fuzz_mvt_count > 0)
    fuzz_mvt_free(pool, fuzz_mvt_count - 1);
  mps_ap_destroy(ap[0]);
  mps_ap_destroy(ap[1]);
  FUZZ_MVT_REQUIRE(mps_pool_free_size(pool) == mps_pool_total_size(pool));
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
  return 0;
}
