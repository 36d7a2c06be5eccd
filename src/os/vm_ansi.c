/* vm_ansi.c: the virtual-memory module for a platform with no virtual
 * memory the library knows how to ask for (PLATFORM_ANSI: neither POSIX
 * nor Windows; see design/vm.txt and vm.h), built from the C library's
 * malloc alone.
 *
 * A reservation is one malloc'd block, so it takes memory, not just
 * addresses, from the start: a VM arena on such a platform should be
 * given an MPS_KEY_ARENA_SIZE near what it will use (or be a client
 * arena).  Mapping only zeroes the range, keeping the promise that mapped
 * memory comes back zero-filled (vm_posix.c); unmapping gives nothing back
 * but is counted, so that the arena's books (committed, spare, the commit
 * limit) work as on other platforms.
 *
 * The block's address is kept in the word just below `base`, inside the
 * slack that aligning the block leaves, and read back by vm_finish.  The
 * descriptor records [base, limit) as the reservation: the slack, less
 * than a grain plus that word, belongs to the C library.
 *
 * Invariants: see vm.c.
 */
#include "../base/config.h"

#if !defined(PLATFORM_ANSI)
#error "vm_ansi.c is for platforms with neither POSIX nor Windows: see src/mps.c"
#endif

#include <stdlib.h>
#include <string.h>

#include "vm.h"

/* The unit of mapping: any power of two would do, since nothing is
 * protected on this platform (prot_none.c); the usual page size keeps
 * grains and arena tables as they are elsewhere. */
#define VM_ANSI_PAGE_SIZE ((Size)4096)

Size vm_page_size(void)
{
  return VM_ANSI_PAGE_SIZE;
}

/* Where vm_init left the block's address for vm_finish. */
static void **vm_ansi_block_slot(Addr base)
{
  return (void **)addr_ptr(addr_sub(base, sizeof(void *)));
}

Res vm_init(VM vm, Size size, Size grain_size)
{
  Size usable, request;
  void *p;
  Addr base;

  AVER(vm != NULL);
  AVER(size > 0);
  AVER(size_is_p2(grain_size));
  AVER(grain_size >= VM_ANSI_PAGE_SIZE);

  /* As in vm_posix.c: a size too large to express cannot be had.  The
   * request adds a grain, so that a grain-aligned run of `usable` bytes
   * with a word below it fits wherever malloc puts the block. */
  if (size > (Size)-1 - 2 * grain_size)
    return MPS_RES_RESOURCE;
  usable = size_align_up(size, grain_size);
  request = usable + grain_size + sizeof(void *);
  p = malloc(request);
  if (p == NULL)
    return MPS_RES_RESOURCE;
  base = addr_align_up(addr_add(addr_of_ptr(p), sizeof(void *)), grain_size);
  *vm_ansi_block_slot(base) = p;

  vm->page_size = VM_ANSI_PAGE_SIZE;
  vm->grain_size = grain_size;
  vm->base = base;
  vm->limit = addr_add(base, usable);
  vm->reserve_base = vm->base;
  vm->reserve_limit = vm->limit;
  vm->mapped = 0;
  vm->sig = VM_SIG;
  AVERT(vm, vm);
  return MPS_RES_OK;
}

void vm_finish(VM vm)
{
  void *p;
  bool ok;
  AVERT(vm, vm);
  /* The descriptor may lie inside the block (vm_copy): read what is
   * needed first, and do not touch it after. */
  vm->sig = SIG_INVALID;
  p = *vm_ansi_block_slot(vm->base);
  /* Where vm_init put the block: anything else means the word was
   * overwritten, and freeing it would corrupt the C library's heap, so
   * the block is then left alone. */
  ok = p != NULL
       && addr_word(addr_of_ptr(p)) <= addr_word(vm->base) - sizeof(void *)
       && addr_offset(addr_of_ptr(p), vm->base) < vm->grain_size + sizeof(void *);
  AVER(ok);
  if (ok)
    free(p);
}

Res vm_map(VM vm, Addr base, Addr limit)
{
  Size size;
  vm_check_range(vm, base, limit);
  size = addr_offset(base, limit);
  AVER(size <= addr_offset(vm->base, vm->limit) - vm->mapped);
  (void)memset(addr_ptr(base), 0, size);
  vm->mapped += size;
  return MPS_RES_OK;
}

void vm_unmap(VM vm, Addr base, Addr limit)
{
  Size size;
  vm_check_range(vm, base, limit);
  size = addr_offset(base, limit);
  AVER(size <= vm->mapped);
  vm->mapped -= size;
}
