/* fuzz_arena: arena grain allocation interleaved with commit-limit and
 * spare changes and (for client arenas) extension, against a model of the
 * live allocations.
 *
 * Input: byte 0 chooses the arena class and its size; then each operation
 * is two bytes (op, argument).  After every operation: the arena's own
 * check (in cool, its books against the chunk tables), every live block
 * inside the arena and disjoint from the others, their contents intact,
 * committed <= commit limit, spare <= committed, spare within the spare
 * fraction for VM arenas and zero for client arenas, owned memory (committed
 * less spare) at least the live bytes, and every failure a documented result
 * that changed nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsacl.h"
#include "../include/mpsavm.h"
#include "../src/arena/arena.h"

#define FUZZ_ARENA_LIVE 64
#define FUZZ_ARENA_BLOCKS 8

static int fuzz_arena_owner;
#define FUZZ_OWNER ((Pool)(void *)&fuzz_arena_owner)

typedef struct live_s {
  Addr base;
  Size size;
  unsigned char fill;
} live_s;

static live_s live[FUZZ_ARENA_LIVE];
static size_t nlive;

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

static void check_block(const live_s *b)
{
  const unsigned char *p = addr_ptr(b->base);
  Size step = b->size / 7 + 1, i;
  for (i = 0; i < b->size; i += step)
    REQUIRE(p[i] == b->fill);
  REQUIRE(p[b->size - 1] == b->fill);
}

static Size live_bytes(void)
{
  Size total = 0;
  size_t i;
  for (i = 0; i < nlive; ++i)
    total += live[i].size;
  return total;
}

static void check_all(Arena arena, bool client)
{
  size_t i, j;
  arena_enter(arena);
  REQUIRE(arena->committed <= arena->commit_limit);
  REQUIRE(arena->spare_committed <= arena->committed);
  REQUIRE(arena->committed - arena->spare_committed >= live_bytes());
  if (client)
    REQUIRE(arena->spare_committed == 0);
  else   /* trimming works in grains, so allow one grain of rounding */
    REQUIRE((double)arena->spare_committed
            <= arena->spare * (double)arena->committed + (double)arena->grain_size);
  for (i = 0; i < nlive; ++i) {
    REQUIRE(arena_has_addr(arena, live[i].base));
    REQUIRE(arena_pool_of_addr(arena, live[i].base) == FUZZ_OWNER);
    for (j = i + 1; j < nlive; ++j)
      REQUIRE(addr_word(addr_add(live[i].base, live[i].size)) <= addr_word(live[j].base)
              || addr_word(addr_add(live[j].base, live[j].size)) <= addr_word(live[i].base));
  }
  arena_leave(arena);
  for (i = 0; i < nlive; ++i)
    check_block(&live[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_arena_t arena;
  void *blocks[FUZZ_ARENA_BLOCKS];
  size_t nblocks = 0, i, grain;
  bool client;
  mps_res_t res;

  if (size < 1)
    return 0;
  client = (data[0] & 1) != 0;
  nlive = 0;
  if (client) {
    size_t bytes = ((size_t)1 << 16) << (data[0] >> 1 & 3);   /* 64 KiB .. 512 KiB */
    blocks[nblocks] = malloc(bytes);
    REQUIRE(blocks[nblocks] != NULL);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_CL_BASE, blocks[nblocks]);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, bytes);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, (size_t)4096);
      res = mps_arena_create_k(&arena, mps_arena_class_cl(), args);
    } MPS_ARGS_END(args);
    ++nblocks;
  } else {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, ((size_t)1 << 20) << (data[0] >> 1 & 3));
      res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
    } MPS_ARGS_END(args);
  }
  REQUIRE(res == MPS_RES_OK);
  grain = arena->grain_size;

  for (i = 1; i + 1 < size; i += 2) {
    uint8_t op = data[i] % 6, arg = data[i + 1];
    switch (op) {
    case 0: {   /* allocate: mostly small, sometimes larger than a chunk */
      Size n = (arg & 0x80) ? (Size)(arg & 0x7F) * 32 + 1 : (Size)(arg & 0x0F) + 1;
      Size before = arena->committed, limit = arena->commit_limit;
      Addr base;
      if (nlive == FUZZ_ARENA_LIVE)
        break;
      arena_enter(arena);
      res = arena_alloc(&base, arena, n * grain, FUZZ_OWNER);
      arena_leave(arena);
      if (res == MPS_RES_OK) {
        REQUIRE(addr_is_aligned(base, grain));
        live[nlive].base = base;
        live[nlive].size = n * grain;
        live[nlive].fill = (unsigned char)(arg ^ i);
        memset(addr_ptr(base), live[nlive].fill, n * grain);
        ++nlive;
      } else {
        REQUIRE(res == MPS_RES_COMMIT_LIMIT || res == MPS_RES_RESOURCE);
        REQUIRE(arena->commit_limit == limit);
        REQUIRE(arena->committed <= before);   /* at most spare was shed */
      }
      break;
    }
    case 1:     /* free a live block */
      if (nlive > 0) {
        size_t k = arg % nlive;
        check_block(&live[k]);
        arena_enter(arena);
        arena_free(arena, live[k].base, live[k].size, FUZZ_OWNER);
        arena_leave(arena);
        live[k] = live[--nlive];
      }
      break;
    case 2: {   /* commit limit: near the committed size, or unlimited */
      size_t committed = mps_arena_committed(arena);
      size_t spare = mps_arena_spare_committed(arena);
      size_t limit = arg == 0xFF ? SIZE_MAX
                     : committed - spare + (size_t)(arg % 24) * grain - (arg & 0x80 ? grain : 0);
      res = mps_arena_commit_limit_set(arena, limit);
      if (limit >= committed - spare)
        REQUIRE(res == MPS_RES_OK);
      else
        REQUIRE(res == MPS_RES_FAIL);
      if (res == MPS_RES_OK)
        REQUIRE(mps_arena_commit_limit(arena) == limit);
      break;
    }
    case 3:     /* spare fraction */
      mps_arena_spare_set(arena, (double)(arg % 5) / 4.0);
      REQUIRE(mps_arena_spare(arena) == (double)(arg % 5) / 4.0);
      break;
    case 4:     /* extend a client arena with a fresh block */
      if (client && nblocks < FUZZ_ARENA_BLOCKS) {
        size_t bytes = (size_t)(arg % 64 + 1) * 4096;
        size_t reserved = mps_arena_reserved(arena);
        blocks[nblocks] = malloc(bytes);
        REQUIRE(blocks[nblocks] != NULL);
        res = mps_arena_extend(arena, blocks[nblocks], bytes);
        ++nblocks;
        if (res == MPS_RES_OK)
          REQUIRE(mps_arena_reserved(arena) > reserved);
        else
          REQUIRE((res == MPS_RES_MEMORY || res == MPS_RES_COMMIT_LIMIT)
                  && mps_arena_reserved(arena) == reserved);
      }
      break;
    default:    /* look at everything */
      break;
    }
    check_all(arena, client);
  }

  while (nlive > 0) {
    --nlive;
    arena_enter(arena);
    arena_free(arena, live[nlive].base, live[nlive].size, FUZZ_OWNER);
    arena_leave(arena);
  }
  mps_arena_destroy(arena);
  while (nblocks > 0)
    free(blocks[--nblocks]);
  return 0;
}
