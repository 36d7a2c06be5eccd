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
 * Invariants (vm_check):
 *   vm.inv.sizes    page_size and grain_size are powers of two and
 *                   page_size <= grain_size
 *   vm.inv.range    reserve_base <= base < limit <= reserve_limit
 *   vm.inv.align    base and limit are grain-aligned; reserve_base and
 *                   reserve_limit are page-aligned
 *   vm.inv.slack    less than a grain is held outside [base, limit)
 *   vm.inv.mapped   mapped is page-aligned and at most limit - base
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

bool vm_check(VM vm)
{
  CHECKS(VM_SIG, vm);
  CHECKL(size_is_p2(vm->page_size));                               /* vm.inv.sizes */
  CHECKL(size_is_p2(vm->grain_size));                              /* vm.inv.sizes */
  CHECKL(vm->page_size <= vm->grain_size);                         /* vm.inv.sizes */
  CHECKL(addr_word(vm->reserve_base) <= addr_word(vm->base));      /* vm.inv.range */
  CHECKL(addr_word(vm->base) < addr_word(vm->limit));              /* vm.inv.range */
  CHECKL(addr_word(vm->limit) <= addr_word(vm->reserve_limit));    /* vm.inv.range */
  CHECKL(addr_is_aligned(vm->base, vm->grain_size));               /* vm.inv.align */
  CHECKL(addr_is_aligned(vm->limit, vm->grain_size));              /* vm.inv.align */
  CHECKL(addr_is_aligned(vm->reserve_base, vm->page_size));        /* vm.inv.align */
  CHECKL(addr_is_aligned(vm->reserve_limit, vm->page_size));       /* vm.inv.align */
  CHECKL(addr_offset(vm->reserve_base, vm->reserve_limit)          /* vm.inv.slack */
         - addr_offset(vm->base, vm->limit) < vm->grain_size);
  CHECKL(size_is_aligned(vm->mapped, vm->page_size));              /* vm.inv.mapped */
  CHECKL(vm->mapped <= addr_offset(vm->base, vm->limit));          /* vm.inv.mapped */
  return true;
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
static void vm_win32_check_range(VM vm, Addr base, Addr limit)
{
  AVERT(vm, vm);
  AVER(addr_is_aligned(base, vm->page_size));
  AVER(addr_is_aligned(limit, vm->page_size));
  AVER(addr_word(vm->base) <= addr_word(base));
  AVER(addr_word(base) < addr_word(limit));
  AVER(addr_word(limit) <= addr_word(vm->limit));
}

Res vm_map(VM vm, Addr base, Addr limit)
{
  Size size;

  vm_win32_check_range(vm, base, limit);
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

  vm_win32_check_range(vm, base, limit);
  size = addr_offset(base, limit);
  AVER(size <= vm->mapped);

  /* Decommitting a committed range of our own reservation does not fail
   * (it needs no memory); the result is kept only for the checks. */
  decommitted = VirtualFree(addr_ptr(base), size, MEM_DECOMMIT);
  AVER(decommitted);
  UNUSED(decommitted);
  vm->mapped -= size;
}

Addr vm_base(VM vm)
{
  AVERT(vm, vm);
  return vm->base;
}

Addr vm_limit(VM vm)
{
  AVERT(vm, vm);
  return vm->limit;
}

Size vm_reserved(VM vm)
{
  AVERT(vm, vm);
  return addr_offset(vm->reserve_base, vm->reserve_limit);
}

Size vm_mapped(VM vm)
{
  AVERT(vm, vm);
  return vm->mapped;
}

void vm_copy(VM dest, VM src)
{
  AVER(dest != NULL);
  AVERT(vm, src);
  *dest = *src;
}
