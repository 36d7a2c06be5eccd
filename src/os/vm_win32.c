/* vm_win32.c: address-space reservation and mapping with VirtualAlloc
 * (see design/vm.txt and vm.h).
 *
 * Windows distinguishes reserving addresses (MEM_RESERVE) from committing
 * memory to them (MEM_COMMIT), which is exactly the split vm.h asks for:
 * vm_map commits, vm_unmap decommits (the memory goes back to the system,
 * the addresses stay reserved), and newly committed pages are zero.
 *
 * Two granularities matter.  Commits work in pages (dwPageSize), and that
 * is what vm_page_size reports, because the arena maps and unmaps grains
 * and only needs each grain to be committable on its own.  Reservations
 * start at multiples of the allocation granularity (dwAllocationGranularity,
 * usually 64 KiB), so a grain no larger than that is aligned for free.  For
 * a larger grain we reserve `grain - granularity` extra bytes and keep them:
 * Windows can only release a reservation whole, and releasing and
 * re-reserving at the aligned address could lose a race with another
 * thread.  The slack is less than a grain and is counted by vm_reserved.
 *
 * Invariants: see vm.c.
 */
#include "../base/config.h"

#if !defined(PLATFORM_WIN32)
#error "vm_win32.c is for Windows: see src/mps.c"
#endif

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "vm.h"

Size vm_page_size(void)
{
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  return (Size)si.dwPageSize;
}

/* The alignment of every reservation's base. */
static Size vm_win32_reserve_granularity(void)
{
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  return (Size)si.dwAllocationGranularity;
}

Res vm_init(VM vm, Size size, Size grain_size)
{
  Size page_size = vm_page_size();
  Size granularity = vm_win32_reserve_granularity();
  Size usable, slack, request;
  void *p;
  Addr reserve_base, base;

  AVER(vm != NULL);
  AVER(size > 0);
  AVER(size_is_p2(grain_size));
  AVER(size_is_p2(page_size));
  AVER(grain_size >= page_size);

  /* A request too large to express cannot be reserved either. */
  if (size > (Size)-1 - (grain_size - 1))
    return MPS_RES_RESOURCE;
  usable = size_align_up(size, grain_size);
  slack = grain_size > granularity ? grain_size - granularity : 0;
  if (usable > (Size)-1 - slack)
    return MPS_RES_RESOURCE;
  request = usable + slack;

  p = VirtualAlloc(NULL, request, MEM_RESERVE, PAGE_NOACCESS);
  if (p == NULL)
    return MPS_RES_RESOURCE;
  reserve_base = addr_of_ptr(p);
  base = addr_align_up(reserve_base, grain_size);

  vm->page_size = page_size;
  vm->grain_size = grain_size;
  vm->base = base;
  vm->limit = addr_add(base, usable);
  vm->reserve_base = reserve_base;
  vm->reserve_limit = addr_add(reserve_base, request);
  vm->mapped = 0;
  vm->sig = VM_SIG;
  AVERT(vm, vm);
  return MPS_RES_OK;
}

void vm_finish(VM vm)
{
  void *reserve_base;
  BOOL released;

  AVERT(vm, vm);
  /* The descriptor may lie inside the reservation (vm_copy), so read
   * what is needed before giving it back, and do not touch it after. */
  vm->sig = SIG_INVALID;
  reserve_base = addr_ptr(vm->reserve_base);
  /* Releasing also decommits whatever is still committed.  It fails only
   * for an address that is not the base of a reservation, which the
   * signature check above rules out; nothing could be done about it now
   * anyway. */
  released = VirtualFree(reserve_base, 0, MEM_RELEASE);
  UNUSED(released);
}

/* Check a range given to vm_map or vm_unmap. */
Res vm_map(VM vm, Addr base, Addr limit)
{
  Size size;

  vm_check_range(vm, base, limit);
  size = addr_offset(base, limit);
  AVER(size <= addr_offset(vm->base, vm->limit) - vm->mapped);

  /* Committing fails as a whole (commit limit reached), leaving the
   * range reserved and uncommitted. */
  if (VirtualAlloc(addr_ptr(base), size, MEM_COMMIT, PAGE_READWRITE) == NULL)
    return MPS_RES_MEMORY;
  vm->mapped += size;
  return MPS_RES_OK;
}

void vm_unmap(VM vm, Addr base, Addr limit)
{
  Size size;
  BOOL decommitted;

  vm_check_range(vm, base, limit);
  size = addr_offset(base, limit);
  AVER(size <= vm->mapped);

  /* Decommitting a committed range of our own reservation does not fail
   * (it needs no memory); the result is kept only for the checks. */
  decommitted = VirtualFree(addr_ptr(base), size, MEM_DECOMMIT);
  AVER(decommitted);
  UNUSED(decommitted);
  vm->mapped -= size;
}
