/* arena_client.c: the client arena class (manual/topic/arena.rst "Client
 * arenas").
 *
 * The client supplies the memory, at creation and with mps_arena_extend.
 * Nothing is mapped or unmapped: "committed" counts the grains in use,
 * header included, which is what a VM arena would have mapped.  Freed
 * grains are never kept as spare memory, and the arena cannot grow by
 * itself.
 */
#include "../../include/mpsacl.h"
#include "../base/args.h"
#include "chunk.h"

#define ARENA_CLIENT_DEFAULT_GRAIN ((Size)8192)

static struct mps_arena_class_s arena_client_class_s;

/* Lay a chunk over the grain-aligned part of [base, base + size). */
static Res arena_client_chunk(Chunk *chunk_o, Arena arena, Addr base, Size size,
                              Size grain, Shift shift, Size prefix)
{
  Addr lo, hi;
  Size header;
  if (addr_word(base) > UINTPTR_MAX - size)
    return MPS_RES_PARAM;
  lo = addr_align_up(base, grain);
  hi = addr_align_down(addr_add(base, size), grain);
  if (addr_word(hi) <= addr_word(lo))
    return MPS_RES_MEMORY;
  header = size_align_up(chunk_header_size(prefix, addr_offset(lo, hi) >> shift), grain);
  if (header >= addr_offset(lo, hi))
    return MPS_RES_MEMORY;   /* documented: too small for the arena's structures */
  if (arena != NULL && header > arena->commit_limit - arena->committed)
    return MPS_RES_COMMIT_LIMIT;
  *chunk_o = chunk_init(lo, hi, shift, prefix, false);
  return MPS_RES_OK;
}

static Res arena_client_create(Arena *arena_o, Size size, Size grain_size, mps_arg_s args[])
{
  mps_arg_s arg;
  Shift shift = 0;
  Chunk chunk;
  Arena arena;
  Res res;

  if (!args_pick(&arg, args, MPS_KEY_ARENA_CL_BASE) || arg.val.addr == NULL || size == 0)
    return MPS_RES_PARAM;
  if (grain_size == 0)
    grain_size = ARENA_CLIENT_DEFAULT_GRAIN;
  if (grain_size < sizeof(void *))
    return MPS_RES_PARAM;
  while (((Size)1 << shift) < grain_size)
    ++shift;
  res = arena_client_chunk(&chunk, NULL, addr_of_ptr(arg.val.addr), size, grain_size,
                           shift, arena_header_size());
  if (res != MPS_RES_OK)
    return res;
  arena = (Arena)addr_ptr(chunk->base);
  res = arena_init(arena, &arena_client_class_s, chunk, grain_size);
  if (res != MPS_RES_OK) {
    chunk_finish(chunk);
    return res;
  }
  *arena_o = arena;
  return MPS_RES_OK;
}

static Res arena_client_grow(Chunk *chunk_o, Arena arena, Size size)
{
  UNUSED(chunk_o);
  UNUSED(arena);
  UNUSED(size);
  return MPS_RES_RESOURCE;   /* only mps_arena_extend adds client memory */
}

static Size arena_client_grow_header(Arena arena, Size size)
{
  UNUSED(arena);
  UNUSED(size);
  return 0;
}

static Res arena_client_extend(Arena arena, Addr base, Size size)
{
  Chunk chunk;
  Ring node, next;
  Res res;
  /* The new memory must not overlap memory the arena has already. */
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk other = PARENT(chunk_s, arena_ring, node);
    if (addr_word(base) < addr_word(other->limit)
        && addr_word(other->base) < addr_word(base) + size)
      return MPS_RES_PARAM;
  }
  res = arena_client_chunk(&chunk, arena, base, size, arena->grain_size,
                           arena->grain_shift, 0);
  if (res != MPS_RES_OK)
    return res;
  arena_chunk_attach(arena, chunk);
  return MPS_RES_OK;
}

static Res arena_client_map(Chunk chunk, Index base, Index limit)
{
  UNUSED(chunk);
  UNUSED(base);
  UNUSED(limit);
  return MPS_RES_OK;   /* client memory is always there */
}

static void arena_client_unmap(Chunk chunk, Index base, Index limit)
{
  UNUSED(chunk);
  UNUSED(base);
  UNUSED(limit);
}

static void arena_client_chunk_release(Chunk chunk)
{
  chunk_finish(chunk);   /* the memory stays the client's */
}

static struct mps_arena_class_s arena_client_class_s = {
  ARENA_CLASS_SIG, "client",
  arena_client_create, arena_client_grow, arena_client_grow_header, arena_client_extend,
  arena_client_map, arena_client_unmap, arena_client_chunk_release,
  false
};

mps_arena_class_t mps_arena_class_cl(void)
{
  return &arena_client_class_s;
}
