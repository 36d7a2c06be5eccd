/* arena_vm.c: the virtual memory arena class (design/arenavm.txt,
 * manual/topic/arena.rst "Virtual memory arenas").
 *
 * Each chunk is one VM reservation.  The chunk header (and, in the
 * primary chunk, the arena before it) is mapped when the chunk is made;
 * other grains are mapped when first allocated and stay mapped as spare
 * memory when freed, until the spare fraction or the commit limit says
 * otherwise.  When no chunk has room, the arena reserves another chunk at
 * least as large as the first.
 */
#include "../../include/mpsavm.h"
#include "../base/args.h"
#include "chunk.h"

#define ARENA_VM_DEFAULT_SIZE ((Size)256 << 20)

static struct mps_arena_class_s arena_vm_class_s;

/* The header of a chunk of `size` bytes (grain-aligned) with `prefix`
 * bytes before its descriptor: what making the chunk commits. */
static Size arena_vm_header_size(Size size, Size grain, Shift shift, Size prefix)
{
  return size_align_up(chunk_header_size(prefix, size >> shift), grain);
}

/* Reserve a chunk of `size` usable bytes with `prefix` bytes before its
 * descriptor, and map its header.  Checks the commit limit when `arena`
 * is given (not for the primary chunk, which makes the arena). */
static Res arena_vm_chunk_create(Chunk *chunk_o, Arena arena, Size size,
                                 Size grain, Shift shift, Size prefix)
{
  vm_s vm;
  Size header;
  Chunk chunk;
  Res res;

  res = vm_init(&vm, size, grain);
  if (res != MPS_RES_OK)
    return res;
  header = arena_vm_header_size(addr_offset(vm.base, vm.limit), grain, shift, prefix);
  if (header >= addr_offset(vm.base, vm.limit)) {
    res = MPS_RES_MEMORY;
    goto failHeader;
  }
  if (arena != NULL && header > arena->commit_limit - arena->committed) {
    Size over = header - (arena->commit_limit - arena->committed);
    if (over <= arena->spare_committed)
      arena_spare_trim(arena, arena->spare_committed - over);
    if (header > arena->commit_limit - arena->committed) {
      res = MPS_RES_COMMIT_LIMIT;
      goto failHeader;
    }
  }
  /* An injected failure stands for the system refusing the commit. */
  res = arena != NULL && arena_injected_failure(arena)
        ? MPS_RES_MEMORY : vm_map(&vm, vm.base, addr_add(vm.base, header));
  if (res != MPS_RES_OK)
    goto failHeader;
  chunk = chunk_init(vm.base, vm.limit, shift, prefix, true);
  vm_copy(&chunk->vm, &vm);
  *chunk_o = chunk;
  return MPS_RES_OK;

failHeader:
  vm_finish(&vm);
  return res;
}

static Res arena_vm_create(Arena *arena_o, Size size, Size grain_size, mps_arg_s args[])
{
  Size page = vm_page_size();
  Shift shift = 0;
  Chunk chunk;
  Arena arena;
  mps_arg_s arg;
  Res res;

  /* Windows-only placement hint; address order does not matter here. */
  (void)args_pick(&arg, args, MPS_KEY_VMW3_TOP_DOWN);

  if (grain_size < page)
    grain_size = page;   /* documented: rounded up to the page size */
  while (((Size)1 << shift) < grain_size)
    ++shift;
  if (size == 0)
    size = ARENA_VM_DEFAULT_SIZE;
  if (size < WORD_WIDTH * grain_size)
    size = WORD_WIDTH * grain_size;   /* documented minimum */
  if (size > SIZE_MAX - grain_size)
    return MPS_RES_RESOURCE;
  size = size_align_up(size, grain_size);

  res = arena_vm_chunk_create(&chunk, NULL, size, grain_size, shift, arena_header_size());
  if (res != MPS_RES_OK)
    return res;
  arena = (Arena)addr_ptr(chunk->base);
  res = arena_init(arena, &arena_vm_class_s, chunk, grain_size);
  if (res != MPS_RES_OK) {
    vm_s vm = chunk->vm;
    chunk_finish(chunk);
    vm_finish(&vm);
    return res;
  }
  *arena_o = arena;
  return MPS_RES_OK;
}

/* The size of the chunk arena_vm_grow reserves for `size` bytes of
 * grains; false if it cannot be expressed. */
static bool arena_vm_grow_size(Size *chunk_size_o, Arena arena, Size size)
{
  Size chunk_size = size, header;
  int i;

  /* The chunk must hold `size` after its own header, whose size depends
   * on the chunk's: compute it for `size`, then again for the enlarged
   * chunk, and add a grain of slack for what the second round added. */
  for (i = 0; i < 2; ++i) {
    header = size_align_up(chunk_header_size(0, (chunk_size >> arena->grain_shift) + 1),
                           arena->grain_size);
    if (size > SIZE_MAX - header - arena->grain_size)
      return false;
    chunk_size = size + header;
  }
  chunk_size += arena->grain_size;   /* slack for the last round's growth */
  if (chunk_size < arena->extend_by)
    chunk_size = arena->extend_by;
  *chunk_size_o = chunk_size;
  return true;
}

static Res arena_vm_grow(Chunk *chunk_o, Arena arena, Size size)
{
  Size chunk_size;
  Chunk chunk;
  Res res;

  if (!arena_vm_grow_size(&chunk_size, arena, size))
    return MPS_RES_RESOURCE;
  res = arena_vm_chunk_create(&chunk, arena, chunk_size, arena->grain_size,
                              arena->grain_shift, 0);
  if (res != MPS_RES_OK)
    return res;
  arena_chunk_attach(arena, chunk);
  *chunk_o = chunk;
  return MPS_RES_OK;
}

static Size arena_vm_grow_header(Arena arena, Size size)
{
  Size chunk_size;
  /* A size that cannot be expressed needs no header: growing fails. */
  if (!arena_vm_grow_size(&chunk_size, arena, size))
    return 0;
  return arena_vm_header_size(chunk_size, arena->grain_size, arena->grain_shift, 0);
}

static Res arena_vm_extend(Arena arena, Addr base, Size size)
{
  UNUSED(arena);
  UNUSED(base);
  UNUSED(size);
  return MPS_RES_UNIMPL;   /* only client arenas take client memory */
}

static Res arena_vm_map(Chunk chunk, Index base, Index limit)
{
  return vm_map(&chunk->vm, chunk_page_base(chunk, base), chunk_page_base(chunk, limit));
}

static void arena_vm_unmap(Chunk chunk, Index base, Index limit)
{
  vm_unmap(&chunk->vm, chunk_page_base(chunk, base), chunk_page_base(chunk, limit));
}

static void arena_vm_chunk_release(Chunk chunk)
{
  vm_s vm = chunk->vm;   /* the descriptor lives in memory about to go */
  chunk_finish(chunk);
  vm_finish(&vm);
}

static struct mps_arena_class_s arena_vm_class_s = {
  ARENA_CLASS_SIG, "VM",
  arena_vm_create, arena_vm_grow, arena_vm_grow_header, arena_vm_extend,
  arena_vm_map, arena_vm_unmap, arena_vm_chunk_release,
  true
};

mps_arena_class_t mps_arena_class_vm(void)
{
  return &arena_vm_class_s;
}
