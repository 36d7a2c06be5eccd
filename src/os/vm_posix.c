/* vm_posix.c: address-space reservation and mapping with mmap, for Linux
 * (glibc and musl), FreeBSD and macOS (see design/vm.txt and vm.h).
 *
 * A reservation is an anonymous private mapping with no access, which
 * takes addresses but no memory.  Mapping replaces part of it with a fresh
 * readable, writable anonymous mapping (MAP_FIXED), and unmapping replaces
 * that again with a no-access one.  Replacing, rather than changing the
 * protection, is what makes the memory really go back to the OS and come
 * back zero-filled on every one of these systems: madvise(MADV_DONTNEED)
 * only guarantees zeroes on Linux.
 *
 * The feature-test macros these calls need (MAP_ANON, MAP_NORESERVE,
 * madvise) are defined at the top of src/mps.c, before the first system
 * header of the translation unit.
 *
 * Invariants: see vm.c.
 */
#include "../base/config.h"

#if !defined(PLATFORM_POSIX)
#error "vm_posix.c is for POSIX platforms: see src/mps.c"
#endif

#include <sys/mman.h>
#include <unistd.h>

#include "vm.h"

#if !defined(MAP_ANON) && defined(MAP_ANONYMOUS)
#define MAP_ANON MAP_ANONYMOUS
#endif
#if !defined(MAP_ANON)
#error "vm_posix.c needs MAP_ANON: check the feature-test macros in src/mps.c"
#endif

/* Reservations are not charged against the commit limit where the OS lets
 * us say so; mappings are, so that a shortage shows up as a failed vm_map
 * rather than as a fault later. */
#if defined(MAP_NORESERVE)
#define VM_RESERVE_FLAGS (MAP_PRIVATE | MAP_ANON | MAP_NORESERVE)
#else
#define VM_RESERVE_FLAGS (MAP_PRIVATE | MAP_ANON)
#endif
#define VM_MAP_FLAGS (MAP_PRIVATE | MAP_ANON)

Size vm_page_size(void)
{
  long size = sysconf(_SC_PAGESIZE);
  /* POSIX requires this to succeed; a failure (-1) becomes a value that
   * is not a power of two, which vm_init refuses. */
  return size > 0 ? (Size)size : 0;
}

/* Give back [base, limit) of a reservation.  False if the OS refused, in
 * which case the range is still held. */
static bool vm_posix_release(Addr base, Addr limit)
{
  return munmap(addr_ptr(base), addr_offset(base, limit)) == 0;
}

Res vm_init(VM vm, Size size, Size grain_size)
{
  Size page_size = vm_page_size();
  Size usable, request;
  void *p;
  Addr reserve_base, reserve_limit, base, limit;

  AVER(vm != NULL);
  AVER(size > 0);
  AVER(size_is_p2(grain_size));
  if (!size_is_p2(page_size))
    return MPS_RES_RESOURCE;
  AVER(grain_size >= page_size);

  /* A request too large to express cannot be reserved either.  Below
   * this bound, usable is at most 2^W - grain_size, so request below is
   * at most 2^W - page_size: no further test is needed. */
  if (size > (Size)-1 - (grain_size - 1))
    return MPS_RES_RESOURCE;
  usable = size_align_up(size, grain_size);
  /* The OS places the reservation at some page boundary; asking for this
   * much guarantees a grain-aligned run of `usable` bytes inside it
   * wherever that is. */
  request = usable + (grain_size - page_size);

  p = mmap(NULL, request, PROT_NONE, VM_RESERVE_FLAGS, -1, 0);
  if (p == MAP_FAILED)
    return MPS_RES_RESOURCE;
  reserve_base = addr_of_ptr(p);
  reserve_limit = addr_add(reserve_base, request);
  base = addr_align_up(reserve_base, grain_size);
  limit = addr_add(base, usable);

  /* Trim the ends.  If the OS will not split the mapping, the slack simply
   * stays reserved and is counted by vm_reserved (vm.inv.slack). */
  if (base != reserve_base && vm_posix_release(reserve_base, base))
    reserve_base = base;
  if (limit != reserve_limit && vm_posix_release(limit, reserve_limit))
    reserve_limit = limit;

  vm->page_size = page_size;
  vm->grain_size = grain_size;
  vm->base = base;
  vm->limit = limit;
  vm->reserve_base = reserve_base;
  vm->reserve_limit = reserve_limit;
  vm->mapped = 0;
  vm->sig = VM_SIG;
  AVERT(vm, vm);
  return MPS_RES_OK;
}

void vm_finish(VM vm)
{
  Addr reserve_base, reserve_limit;
  bool released;

  AVERT(vm, vm);
  /* The descriptor may lie inside the reservation (vm_copy), so read
   * everything needed before giving it back, and do not touch it after. */
  vm->sig = SIG_INVALID;
  reserve_base = vm->reserve_base;
  reserve_limit = vm->reserve_limit;
  released = vm_posix_release(reserve_base, reserve_limit);
  /* munmap of a whole reservation can only fail if the kernel cannot
   * split a mapping that merged with a neighbour; the addresses then leak,
   * which is all that can be done once the caller has let go of them. */
  UNUSED(released);
}

/* Check a range given to vm_map or vm_unmap. */
Res vm_map(VM vm, Addr base, Addr limit)
{
  Size size;
  void *p;

  vm_check_range(vm, base, limit);
  size = addr_offset(base, limit);
  AVER(size <= addr_offset(vm->base, vm->limit) - vm->mapped);

  p = mmap(addr_ptr(base), size, PROT_READ | PROT_WRITE,
           VM_MAP_FLAGS | MAP_FIXED, -1, 0);
  if (p == MAP_FAILED) {
    /* Linux may have removed the old no-access mapping before finding it
     * cannot charge the new one; put the reservation back so the range
     * stays ours.  If even that fails the hole is only a hazard to
     * others' mmap calls, and vm_finish still covers it. */
    void *r = mmap(addr_ptr(base), size, PROT_NONE,
                   VM_RESERVE_FLAGS | MAP_FIXED, -1, 0);
    UNUSED(r);
    return MPS_RES_MEMORY;
  }
  AVER(p == addr_ptr(base));
  vm->mapped += size;
  return MPS_RES_OK;
}

void vm_unmap(VM vm, Addr base, Addr limit)
{
  Size size;
  void *p;

  vm_check_range(vm, base, limit);
  size = addr_offset(base, limit);
  AVER(size <= vm->mapped);

  p = mmap(addr_ptr(base), size, PROT_NONE,
           VM_RESERVE_FLAGS | MAP_FIXED, -1, 0);
  if (p == MAP_FAILED) {
    /* The kernel could not split the mapping (too many mappings).  The
     * pages stay accessible, but at least ask for their memory back;
     * the next vm_map replaces them with fresh zero pages anyway. */
#if defined(MADV_DONTNEED)
    int r = madvise(addr_ptr(base), size, MADV_DONTNEED);
    UNUSED(r);
#endif
  }
  vm->mapped -= size;
}
