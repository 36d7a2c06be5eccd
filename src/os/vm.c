/* vm.c: the platform-independent part of the virtual-memory module
 * (vm.h): the check, the accessors and the bootstrapping copy, shared by
 * vm_posix.c and vm_win32.c.
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
#include "vm.h"

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

void vm_check_range(VM vm, Addr base, Addr limit)
{
  AVERT(vm, vm);
  AVER(addr_is_aligned(base, vm->page_size));
  AVER(addr_is_aligned(limit, vm->page_size));
  AVER(addr_word(vm->base) <= addr_word(base));
  AVER(addr_word(base) < addr_word(limit));
  AVER(addr_word(limit) <= addr_word(vm->limit));
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
