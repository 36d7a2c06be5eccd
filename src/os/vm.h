/* vm.h: reserving and mapping address space (design/vm.txt).
 *
 * A VM describes one contiguous reservation of address space obtained from
 * the operating system.  Reserving takes address space only; vm_map commits
 * memory (RAM or swap) to page-aligned ranges of it and vm_unmap gives that
 * memory back while keeping the addresses reserved.  The VM arena builds its
 * chunks on this.
 *
 * The descriptor is defined here, not hidden in the .c, so that the arena
 * can embed it in its chunk descriptor.  Clients treat the fields as
 * private and use the functions below.
 *
 * Implementations: vm_posix.c (mmap), vm_win32.c (VirtualAlloc).  Neither
 * allocates heap memory, so a VM can be made before any allocator exists.
 *
 * Bootstrapping (vm_copy): build a VM in a local variable, map its first
 * pages, and copy the descriptor into them.  From then on use the copy;
 * the local is a stale duplicate and must not be finished.
 *
 * Each VM is used by one thread at a time (the arena holds its lock); VMs
 * share no state, so different VMs may be used by different threads at
 * once.
 */
#ifndef vm_h
#define vm_h

#include "../base/base.h"
#include "../base/check.h"

#define VM_SIG SIG_MAKE(0x70)

typedef struct vm_s *VM;

typedef struct vm_s {
  Sig sig;              /* VM_SIG while the reservation is held */
  Size page_size;       /* vm_page_size() when the VM was made */
  Size grain_size;      /* alignment of base and limit */
  Addr base;            /* first usable address, grain-aligned */
  Addr limit;           /* end of the usable addresses, grain-aligned */
  Addr reserve_base;    /* what is held from the OS, which may extend */
  Addr reserve_limit;   /*   beyond [base, limit) by less than a grain */
  Size mapped;          /* bytes of [base, limit) currently mapped */
} vm_s;

/* The granularity of mapping: vm_map and vm_unmap work in whole pages, and
 * an arena's grain size must be a power of two at least this large.  A
 * power of two.
 *
 * On Windows this is the page size (the commit granularity), not the larger
 * allocation granularity: the arena maps and unmaps grains, and a grain
 * only needs to be committable on its own.  The coarser alignment of
 * Windows reservations is handled inside vm_init. */
Size vm_page_size(void);

/* Reserve at least `size` bytes of address space, starting at a multiple
 * of `grain_size` (a power of two, at least vm_page_size()).  The usable
 * range [vm_base, vm_limit) is `size` rounded up to a grain; less than one
 * extra grain may be held beside it (vm_reserved counts it).  Nothing is
 * mapped.  MPS_RES_RESOURCE if the OS cannot supply the address space, in
 * which case *vm is untouched. */
Res vm_init(VM vm, Size size, Size grain_size);

/* Give the whole reservation back, including any pages still mapped.
 * `vm` may live inside the memory it describes (after vm_copy). */
void vm_finish(VM vm);

/* Map [base, limit), page-aligned, inside [vm_base, vm_limit) and wholly
 * unmapped, as readable, writable memory that reads as zero.
 * MPS_RES_MEMORY if the OS refuses; then nothing has changed. */
Res vm_map(VM vm, Addr base, Addr limit);

/* Unmap [base, limit), page-aligned and wholly mapped: the memory goes back
 * to the OS, the addresses stay reserved, and touching them faults.  A
 * later vm_map of them reads as zero again. */
void vm_unmap(VM vm, Addr base, Addr limit);

Addr vm_base(VM vm);
Addr vm_limit(VM vm);
/* Bytes of address space held from the OS, at least vm_limit - vm_base. */
Size vm_reserved(VM vm);
/* Bytes currently mapped. */
Size vm_mapped(VM vm);

/* Copy the descriptor `src` to `dest` (see bootstrapping above). */
void vm_copy(VM dest, VM src);

bool vm_check(VM vm);

/* For the implementations: AVER that [base, limit) is page-aligned and
 * inside [vm_base, vm_limit). */
void vm_check_range(VM vm, Addr base, Addr limit);

#endif /* vm_h */
