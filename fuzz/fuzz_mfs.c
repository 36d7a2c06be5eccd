/* fuzz_mfs: MFS allocation and freeing against a model of live units.
 *
 * Input: byte 0 picks the unit size and extent size; then each operation
 * is two bytes: allocate (through mps_alloc, with a size up to the unit),
 * free a live unit (and, with the opcode's top bit, free it again at once:
 * a client error that must be reported and change nothing), lower or lift
 * the commit limit, or look at everything.  Looking, with the opcode's
 * top three bits 110, first has the arena refuse one of its next 1..16
 * requests for memory (arena_fail_after), and with bit 4 of the argument
 * then makes a second pool, allocates and frees a unit of it and destroys
 * it, so that the refusal may fall on a pool's creation.
 * After every operation: units are aligned, inside the pool
 * (mps_addr_pool), pairwise disjoint, their contents intact; the pool
 * grows by one extent of a fixed size at a time, total - free is exactly
 * the live units, and freed units are reused before the pool grows.
 * An allocation or creation fails only with MPS_RES_COMMIT_LIMIT while a
 * commit limit is set, or with MPS_RES_MEMORY or MPS_RES_RESOURCE when
 * the refusal fell on it; then it changes no size and, tried again at
 * once, succeeds (or meets the commit limit).  Frees absorb a refusal.
 * A failed call also leaves the arena's reserved address space
 * (mps_arena_reserved) as it was, and one refused address space
 * (MPS_RES_RESOURCE) needed a new chunk: tried again, it succeeds and
 * grows the arena, the commit limit having let the growth be asked for.
 *
 * Byte 0 from 0xA0 to 0xBF (bits 5-6 01 with bit 7, which meant nothing
 * before; three earlier seeds begin so) chooses a growing arena instead,
 * its bits 0-4 still the unit: byte 1 then picks an extent of 4 KiB << (bits 0-2),
 * up to 512 KiB, and an arena of 256 KiB plus 32 KiB times bits 3-5,
 * instead of 1 MiB, and the operations start at byte 2.  Extents then
 * often need a new chunk, and so do the refusals that fall on them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmfs.h"
#include "../src/arena/arena.h"
#include "support/reports.h"
#include "support/refusal.h"

#define FUZZ_MFS_LIVE 512
#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

typedef struct unit_s {
  unsigned char *p;
  unsigned char fill;
} unit_s;

static unit_s live[FUZZ_MFS_LIVE];
static mps_arena_t fuzz_mfs_arena;
static Count fuzz_mfs_countdown;   /* arena_fail_after's count before this op */
static int fuzz_mfs_limited;       /* a commit limit is set */

/* Whether the request arena_fail_after was asked to refuse was refused
 * since the operation began. */
static int fuzz_mfs_fell(void)
{
  return refusal_fell(fuzz_mfs_arena, fuzz_mfs_countdown);
}

/* A failure the documentation allows: the commit limit while one is set,
 * or the refused request, which must have fallen on this call.  A chunk
 * grown for the call went back: the arena reserved `reserved` before it. */
static void fuzz_mfs_failed(mps_res_t res, int fell_before, size_t reserved)
{
  if (res == MPS_RES_COMMIT_LIMIT)
    REQUIRE(fuzz_mfs_limited);
  else
    REQUIRE(!fell_before && fuzz_mfs_fell()
            && refusal_result(res));
  REQUIRE(mps_arena_reserved(fuzz_mfs_arena) == reserved);
}

/* The second try, with nothing refused, of a call refused with
 * `refused`: refused address space, it must grow the arena now. */
static void fuzz_mfs_retried(mps_res_t refused, mps_res_t res, size_t reserved)
{
  if (refused == MPS_RES_RESOURCE)
    REQUIRE(res == MPS_RES_OK && mps_arena_reserved(fuzz_mfs_arena) > reserved);
  else
    REQUIRE(res == MPS_RES_OK || (res == MPS_RES_COMMIT_LIMIT && fuzz_mfs_limited));
  if (res != MPS_RES_OK)
    REQUIRE(mps_arena_reserved(fuzz_mfs_arena) == reserved);
}

/* Allocate from pool; a refusal fails the first try only, so the second
 * must succeed, or meet the commit limit. */
static mps_res_t fuzz_mfs_alloc(mps_addr_t *p_o, mps_pool_t pool, size_t bytes)
{
  size_t total = mps_pool_total_size(pool), free_size = mps_pool_free_size(pool);
  size_t reserved = mps_arena_reserved(fuzz_mfs_arena);
  int fell_before = fuzz_mfs_fell();
  mps_res_t refused, res = mps_alloc(p_o, pool, bytes);
  if (res == MPS_RES_OK)
    return res;
  fuzz_mfs_failed(res, fell_before, reserved);
  REQUIRE(mps_pool_total_size(pool) == total && mps_pool_free_size(pool) == free_size);
  if (res == MPS_RES_COMMIT_LIMIT)
    return res;
  refused = res;
  res = mps_alloc(p_o, pool, bytes);
  fuzz_mfs_retried(refused, res, reserved);
  return res;
}

/* A second pool, made, used and destroyed while the first is left alone:
 * its creation may be refused, once. */
static void fuzz_mfs_second_pool(mps_pool_t pool, size_t unit, size_t extend_by)
{
  size_t total = mps_pool_total_size(pool), free_size = mps_pool_free_size(pool);
  size_t reserved = mps_arena_reserved(fuzz_mfs_arena);
  mps_pool_t other;
  mps_addr_t p;
  mps_res_t res, refused = MPS_RES_OK;
  int tries, fell_before;
  for (tries = 0; tries < 2; ++tries) {
    fell_before = fuzz_mfs_fell();
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, unit);
      MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, extend_by);
      res = mps_pool_create_k(&other, fuzz_mfs_arena, mps_class_mfs(), args);
    } MPS_ARGS_END(args);
    if (tries > 0)
      fuzz_mfs_retried(refused, res, reserved);
    if (res == MPS_RES_OK)
      break;
    fuzz_mfs_failed(res, fell_before, reserved);
    if (res == MPS_RES_COMMIT_LIMIT)
      return;
    REQUIRE(tries == 0);
    refused = res;
  }
  if (fuzz_mfs_alloc(&p, other, unit) == MPS_RES_OK) {
    REQUIRE(mps_pool_total_size(other) - mps_pool_free_size(other) >= unit);
    memset(p, 0xA5, unit);
    mps_free(other, p, unit);
  }
  REQUIRE(mps_pool_free_size(other) == mps_pool_total_size(other));
  mps_pool_destroy(other);
  REQUIRE(mps_pool_total_size(pool) == total && mps_pool_free_size(pool) == free_size);
}


static int unit_compare(const void *a, const void *b)
{
  uintptr_t x = (uintptr_t)((const unit_s *)a)->p, y = (uintptr_t)((const unit_s *)b)->p;
  return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_arena_t arena;
  mps_pool_t pool, found;
  size_t unit, rounded, extend_by, nlive = 0, i, freed_since_growth = 0;
  size_t extent = 0, last_total = 0, arena_size = (size_t)1 << 20, start = 1;
  mps_res_t res;

  if (size < 1)
    return 0;
  unit = sizeof(void *) + (size_t)(data[0] & 0x1F) * 8;   /* 8 .. 256 bytes */
  rounded = (unit + MPS_PF_ALIGN - 1) & ~(size_t)(MPS_PF_ALIGN - 1);
  extend_by = (size_t)4096 << (data[0] >> 5 & 3);
  if ((data[0] & 0xE0) == 0xA0 && size > 1) {   /* growing */
    extend_by = (size_t)4096 << (data[1] & 7);
    arena_size = ((size_t)256 << 10) + (size_t)(data[1] >> 3 & 7) * ((size_t)32 << 10);
    start = 2;
  }
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, arena_size);
    REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  fuzz_mfs_arena = arena;
  fuzz_mfs_limited = 0;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, unit);
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, extend_by);
    REQUIRE(mps_pool_create_k(&pool, arena, mps_class_mfs(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);

  for (i = start; i + 1 < size; i += 2) {
    uint8_t op = data[i] % 4, arg = data[i + 1];
    fuzz_mfs_countdown = refusal_countdown(arena);
    switch (op) {
    case 0: {   /* allocate */
      mps_addr_t p;
      size_t total = mps_pool_total_size(pool);
      if (nlive == FUZZ_MFS_LIVE)
        break;
      res = fuzz_mfs_alloc(&p, pool, 1 + (size_t)arg % unit);
      if (res == MPS_RES_OK) {
        REQUIRE(((uintptr_t)p & (MPS_PF_ALIGN - 1)) == 0);
        /* A freed unit is reused before the pool asks for more. */
        if (freed_since_growth > 0)
          REQUIRE(mps_pool_total_size(pool) == total);
        if (mps_pool_total_size(pool) > total)
          freed_since_growth = 0;
        else if (freed_since_growth > 0)
          --freed_since_growth;
        live[nlive].p = p;
        live[nlive].fill = (unsigned char)(arg ^ i);
        memset(p, live[nlive].fill, unit);
        ++nlive;
      } else {
        REQUIRE(mps_pool_total_size(pool) == total);
      }
      break;
    }
    case 1:     /* free */
      if (nlive > 0) {
        size_t k = arg % nlive, free_before;
        unsigned char *p = live[k].p;
        mps_free(pool, p, unit);
        live[k] = live[--nlive];
        ++freed_since_growth;
        if (data[i] >= 128) {
          mps_lib_assert_fail_t handler;
          free_before = mps_pool_free_size(pool);
          handler = fuzz_reports_begin();
          mps_free(pool, p, unit);
          REQUIRE(fuzz_reports_end(handler) > 0 && mps_pool_free_size(pool) == free_before);
        }
      }
      break;
    case 2:     /* commit limit: just above committed, or unlimited */
      mps_arena_spare_set(arena, 0.0);
      fuzz_mfs_limited = !(arg & 1);
      if (arg & 1)
        REQUIRE(mps_arena_commit_limit_set(arena, SIZE_MAX) == MPS_RES_OK);
      else
        REQUIRE(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)
                                                  + (size_t)(arg >> 1 & 3) * 4096) == MPS_RES_OK);
      break;
    default:    /* with the top bits 110, refuse a request first */
      if ((data[i] & 0xE0) == 0xC0) {
        arena_fail_after((Arena)arena, (Count)(arg & 0x0F) + 1);
        fuzz_mfs_countdown = refusal_countdown(arena);
        if (arg & 0x10)
          fuzz_mfs_second_pool(pool, unit, extend_by);
      }
      break;
    }
    /* Look at everything. */
    /* The pool grows one extent at a time, every extent the same size. */
    if (mps_pool_total_size(pool) != last_total) {
      size_t delta = mps_pool_total_size(pool) - last_total;
      REQUIRE(mps_pool_total_size(pool) > last_total);
      if (extent == 0)
        extent = delta;
      REQUIRE(delta == extent && extent >= extend_by);
      last_total = mps_pool_total_size(pool);
    }
    REQUIRE(mps_pool_total_size(pool) - mps_pool_free_size(pool) == nlive * rounded);
    qsort(live, nlive, sizeof live[0], unit_compare);
    for (size_t k = 0; k < nlive; ++k) {
      REQUIRE(live[k].p[0] == live[k].fill && live[k].p[unit - 1] == live[k].fill);
      REQUIRE(mps_addr_pool(&found, arena, live[k].p) && found == pool);
      if (k > 0)
        REQUIRE(live[k - 1].p + rounded <= live[k].p);
    }
  }

  arena_fail_after((Arena)arena, 0);
  for (i = 0; i < nlive; ++i)
    mps_free(pool, live[i].p, unit);
  REQUIRE(mps_pool_free_size(pool) == mps_pool_total_size(pool));
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
  return 0;
}
