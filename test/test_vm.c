/* test_vm.c: unit tests of address-space reservation and mapping
 * (src/os/vm.h). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#if defined(__linux__)
#include <errno.h>
#include <sys/mman.h>   /* mincore, to see that unmapping frees memory */
#endif

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/os/vm.h"
#include "support/checks.h"
#include "support/configs.h"
#include "support/reports.h"

static Size page;

static void setup(void)
{
  page = vm_page_size();
}

static void setup_aborting(void)
{
  setup();
  reports_install_abort();
}

TestSuite(vm, .init = setup);

static Byte *bytes(Addr a) { return (Byte *)addr_ptr(a); }

/* Every byte of [base, limit) is `value`. */
static bool all_equal(Addr base, Addr limit, Byte value)
{
  Byte *p = bytes(base), *end = bytes(limit);
  for (; p < end; ++p)
    if (*p != value)
      return false;
  return true;
}

/* The reservation made by vm_init(vm, size, grain) has the promised shape. */
static void assert_shape(VM vm, Size size, Size grain)
{
  Size usable = addr_offset(vm_base(vm), vm_limit(vm));
  cr_assert(vm_check(vm));
  cr_assert(addr_is_aligned(vm_base(vm), grain), "base %p, grain %zu",
            addr_ptr(vm_base(vm)), grain);
  cr_assert(addr_is_aligned(vm_limit(vm), grain));
  cr_assert_geq(usable, size);
  cr_assert_lt(usable - size, grain, "more than a grain of rounding");
  cr_assert_geq(vm_reserved(vm), usable);
  cr_assert_lt(vm_reserved(vm) - usable, grain, "more than a grain of slack");
  cr_assert_eq(vm_mapped(vm), 0);
}

Test(vm, page_size_is_power_of_two)
{
  cr_assert(size_is_p2(page), "page size %zu", page);
  cr_assert_geq(page, 4096);
  cr_assert_eq(vm_page_size(), page, "page size changed between calls");
}

Test(vm, reservations_are_aligned_and_large_enough)
{
  const Size sizes[] = {1, 4096, 3 * 4096 + 1, (Size)1 << 20,
                        ((Size)100 << 20) + 12345};
  const Size grains[] = {0, 1, 2, 16, 256};  /* multiples of the page size */
  size_t i, j;
  for (i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
    for (j = 0; j < sizeof grains / sizeof grains[0]; ++j) {
      vm_s vm;
      Size grain = grains[j] == 0 ? page : page * grains[j];
      Res res = vm_init(&vm, sizes[i], grain);
      cr_assert_eq(res, MPS_RES_OK, "size %zu grain %zu: res %d", sizes[i],
                   grain, res);
      assert_shape(&vm, sizes[i], grain);
      vm_finish(&vm);
    }
  }
}

Test(vm, map_unmap_track_mapped_exactly)
{
  vm_s vm;
  Addr base;
  cr_assert_eq(vm_init(&vm, 16 * page, page), MPS_RES_OK);
  base = vm_base(&vm);

  cr_assert_eq(vm_map(&vm, base, addr_add(base, 3 * page)), MPS_RES_OK);
  cr_assert_eq(vm_mapped(&vm), 3 * page);
  cr_assert_eq(vm_map(&vm, addr_add(base, 10 * page), vm_limit(&vm)), MPS_RES_OK);
  cr_assert_eq(vm_mapped(&vm), 9 * page);
  vm_unmap(&vm, addr_add(base, page), addr_add(base, 2 * page));
  cr_assert_eq(vm_mapped(&vm), 8 * page);
  vm_unmap(&vm, addr_add(base, 12 * page), addr_add(base, 15 * page));
  cr_assert_eq(vm_mapped(&vm), 5 * page);
  cr_assert(vm_check(&vm));
  vm_unmap(&vm, base, addr_add(base, page));
  vm_unmap(&vm, addr_add(base, 2 * page), addr_add(base, 3 * page));
  vm_unmap(&vm, addr_add(base, 10 * page), addr_add(base, 12 * page));
  vm_unmap(&vm, addr_add(base, 15 * page), vm_limit(&vm));
  cr_assert_eq(vm_mapped(&vm), 0);
  /* The reservation does not change as memory comes and goes. */
  cr_assert_eq(vm_reserved(&vm), 16 * page);
  vm_finish(&vm);
}

Test(vm, mapped_memory_is_zero_writable_and_zero_again_after_remap)
{
  vm_s vm;
  Addr base, limit;
  cr_assert_eq(vm_init(&vm, 8 * page, 2 * page), MPS_RES_OK);
  base = vm_base(&vm);
  limit = vm_limit(&vm);

  cr_assert_eq(vm_map(&vm, base, limit), MPS_RES_OK);
  cr_assert(all_equal(base, limit, 0), "fresh mapping is not zero");
  memset(addr_ptr(base), 0xA5, 8 * page);
  cr_assert(all_equal(base, limit, 0xA5), "mapped memory did not keep writes");

  /* Unmap the middle and map it again: it is zero, its neighbours kept
   * their contents. */
  vm_unmap(&vm, addr_add(base, 2 * page), addr_add(base, 5 * page));
  cr_assert_eq(vm_map(&vm, addr_add(base, 2 * page), addr_add(base, 5 * page)),
               MPS_RES_OK);
  cr_assert(all_equal(addr_add(base, 2 * page), addr_add(base, 5 * page), 0),
            "re-mapped memory is not zero");
  cr_assert(all_equal(base, addr_add(base, 2 * page), 0xA5));
  cr_assert(all_equal(addr_add(base, 5 * page), limit, 0xA5));
  vm_finish(&vm);  /* with memory still mapped */
}

#if defined(__linux__)
/* mincore reports residency of each page; unmapping must really give the
 * memory back, not just forbid access to it. */
Test(vm, unmap_returns_memory_to_the_os, TEST_NEEDS_OS_VM)
{
  enum { PAGES = 32 };
  unsigned char resident[PAGES];
  vm_s vm;
  Addr base;
  size_t i;
  cr_assert_eq(vm_init(&vm, PAGES * page, page), MPS_RES_OK);
  base = vm_base(&vm);
  cr_assert_eq(vm_map(&vm, base, vm_limit(&vm)), MPS_RES_OK);
  memset(addr_ptr(base), 1, PAGES * page);
  cr_assert_eq(mincore(addr_ptr(base), PAGES * page, resident), 0);
  for (i = 0; i < PAGES; ++i)
    cr_assert(resident[i] & 1, "page %zu not resident after writing", i);
  vm_unmap(&vm, base, vm_limit(&vm));
  cr_assert_eq(mincore(addr_ptr(base), PAGES * page, resident), 0);
  for (i = 0; i < PAGES; ++i)
    cr_assert(!(resident[i] & 1), "page %zu still resident after unmap", i);
  vm_finish(&vm);
}

/* Linux splits any mapping, so the padding that made room for a
 * grain-aligned range goes back at once and the reservation is exactly the
 * usable range.  Several at a time, so that the OS places them at various
 * offsets from a grain boundary. */
Test(vm, the_padding_goes_back_to_the_os)
{
  enum { N = 8 };
  vm_s vms[N];
  size_t i;
  for (i = 0; i < N; ++i) {
    cr_assert_eq(vm_init(&vms[i], (i + 1) * page, 64 * page), MPS_RES_OK);
    assert_shape(&vms[i], (i + 1) * page, 64 * page);
    cr_assert_eq(vm_reserved(&vms[i]), addr_offset(vm_base(&vms[i]), vm_limit(&vms[i])),
                 "reservation %zu kept %zu bytes of padding", i,
                 vm_reserved(&vms[i]) - addr_offset(vm_base(&vms[i]), vm_limit(&vms[i])));
  }
  for (i = 0; i < N; ++i)
    vm_finish(&vms[i]);
}

/* Finishing gives the whole reservation back: mincore then finds none of
 * its pages mapped (ENOMEM). */
Test(vm, finish_gives_the_addresses_back, TEST_NEEDS_OS_VM)
{
  unsigned char resident[16];
  vm_s vm;
  void *p;
  Size size;
  cr_assert_eq(vm_init(&vm, 16 * page, page), MPS_RES_OK);
  cr_assert_eq(vm_map(&vm, vm_base(&vm), addr_add(vm_base(&vm), 4 * page)), MPS_RES_OK);
  p = addr_ptr(vm_base(&vm));
  size = vm_reserved(&vm);
  cr_assert_eq(size, 16 * page);
  cr_assert_eq(mincore(p, size, resident), 0, "the reservation is not mapped");
  vm_finish(&vm);
  errno = 0;
  cr_assert_eq(mincore(p, size, resident), -1, "the addresses are still held");
  cr_assert_eq(errno, ENOMEM);
}

/* Unmapped addresses are inaccessible (but still ours: see above). */
/* Under AddressSanitizer the fault becomes ASan's own report and abort,
 * so there the test expects no signal and is skipped. */
#if defined(__SANITIZE_ADDRESS__)
#define VM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VM_TEST_ASAN 1
#endif
#endif
#ifdef VM_TEST_ASAN
#define VM_TEST_FAULT_SIGNAL 0
#else
#define VM_TEST_FAULT_SIGNAL SIGSEGV
#endif

Test(vm, unmapped_memory_faults, .signal = VM_TEST_FAULT_SIGNAL, TEST_NEEDS_OS_VM)
{
  vm_s vm;
  Addr base;
#ifdef VM_TEST_ASAN
  cr_skip_test("the fault is AddressSanitizer's to report");
  return;
#endif
  cr_assert_eq(vm_init(&vm, 4 * page, page), MPS_RES_OK);
  base = vm_base(&vm);
  cr_assert_eq(vm_map(&vm, base, vm_limit(&vm)), MPS_RES_OK);
  vm_unmap(&vm, addr_add(base, page), addr_add(base, 2 * page));
  *(volatile Byte *)addr_ptr(base) = 1;  /* still mapped: fine */
  *(volatile Byte *)addr_ptr(addr_add(base, page)) = 1;
  cr_assert_fail("writing to an unmapped page did not fault");
}

/* Not even reading them is allowed. */
Test(vm, reading_unmapped_memory_faults, .signal = VM_TEST_FAULT_SIGNAL, TEST_NEEDS_OS_VM)
{
  vm_s vm;
  Addr base;
#ifdef VM_TEST_ASAN
  cr_skip_test("the fault is AddressSanitizer's to report");
  return;
#endif
  cr_assert_eq(vm_init(&vm, 4 * page, page), MPS_RES_OK);
  base = vm_base(&vm);
  cr_assert_eq(vm_map(&vm, base, vm_limit(&vm)), MPS_RES_OK);
  vm_unmap(&vm, addr_add(base, 2 * page), addr_add(base, 3 * page));
  (void)*(volatile Byte *)addr_ptr(addr_add(base, page));  /* still mapped */
  (void)*(volatile Byte *)addr_ptr(addr_add(base, 2 * page));
  cr_assert_fail("reading an unmapped page did not fault");
}
#endif

/* Bootstrapping: the descriptor moves into the memory it describes and
 * is used, and finished, from there. */
Test(vm, copy_into_own_memory)
{
  vm_s local;
  VM vm;
  Addr base;
  cr_assert_eq(vm_init(&local, 64 * page, 4 * page), MPS_RES_OK);
  base = vm_base(&local);
  cr_assert_eq(vm_map(&local, base, addr_add(base, page)), MPS_RES_OK);
  vm = addr_ptr(base);
  vm_copy(vm, &local);
  cr_assert(vm_check(vm));
  cr_assert_eq(vm_base(vm), vm_base(&local));
  cr_assert_eq(vm_limit(vm), vm_limit(&local));
  cr_assert_eq(vm_reserved(vm), vm_reserved(&local));
  cr_assert_eq(vm_mapped(vm), page);

  cr_assert_eq(vm_map(vm, addr_add(base, 8 * page), addr_add(base, 10 * page)),
               MPS_RES_OK);
  cr_assert_eq(vm_mapped(vm), 3 * page);
  cr_assert_eq(vm_mapped(&local), page, "the copy is independent");
  memset(addr_ptr(addr_add(base, 8 * page)), 7, 2 * page);
  vm_unmap(vm, addr_add(base, 8 * page), addr_add(base, 10 * page));
  cr_assert_eq(vm_mapped(vm), page);
  vm_finish(vm);  /* releases the memory holding *vm itself */
}

/* After a failed vm_init the descriptor is untouched. */
static void assert_cannot_reserve(Size size, Size grain)
{
  vm_s vm, before;
  Res res;
  memset(&vm, 0x5A, sizeof vm);
  before = vm;
  res = vm_init(&vm, size, grain);
  cr_assert_eq(res, MPS_RES_RESOURCE, "size %#zx: res %d", size, res);
  cr_assert_eq(memcmp(&vm, &before, sizeof vm), 0, "descriptor changed");
}

Test(vm, impossible_reservations_fail_with_resource)
{
  /* Too big to express once rounded up to a grain or padded. */
  assert_cannot_reserve((Size)-1, page);
  assert_cannot_reserve((Size)-1 - 16 * page, 64 * page);
  /* Expressible but larger than any address space we run on. */
  assert_cannot_reserve((Size)1 << (WORD_WIDTH - 1), page);
  assert_cannot_reserve(((Size)1 << (WORD_WIDTH - 1)) + ((Size)1 << (WORD_WIDTH - 2)),
                        (Size)1 << 24);
}

Test(vm, huge_reservation_fails_cleanly_or_is_skipped)
{
  /* 2^46 on 64-bit (two shifts so 32-bit builds see no wide shift). */
  Size huge = WORD_WIDTH >= 64 ? (Size)1 << 23 << 23 : (Size)3 << 30;
  vm_s vm;
  Res res = vm_init(&vm, huge, page);
  if (res == MPS_RES_OK) {
    assert_shape(&vm, huge, page);
    vm_finish(&vm);
    cr_skip_test("the OS reserved %#zx bytes of address space; "
                 "the failure path is covered by impossible reservations",
                 huge);
  }
  cr_assert_eq(res, MPS_RES_RESOURCE, "res %d", res);
}

/* Committing far more than RAM plus swap is refused under Linux's default
 * heuristic overcommit (and on Windows); the VM must then be unchanged and
 * the range still reserved and mappable. */
Test(vm, failed_map_changes_nothing)
{
  Size big = WORD_WIDTH >= 64 ? (Size)1 << 21 << 21 : (Size)1 << 30;
  vm_s vm;
  Addr base;
  Res res;
  if (vm_init(&vm, big, page) != MPS_RES_OK)
    cr_skip_test("cannot reserve %#zx bytes to commit", big);
  base = vm_base(&vm);
  cr_assert_eq(vm_map(&vm, base, addr_add(base, page)), MPS_RES_OK);
  *(Byte *)addr_ptr(base) = 42;
  res = vm_map(&vm, addr_add(base, page), vm_limit(&vm));
  if (res == MPS_RES_OK) {
    vm_unmap(&vm, addr_add(base, page), vm_limit(&vm));
    vm_finish(&vm);
    cr_skip_test("the OS committed %#zx bytes (overcommit allowed)", big);
  }
  cr_assert_eq(res, MPS_RES_MEMORY, "res %d", res);
  cr_assert(vm_check(&vm));
  cr_assert_eq(vm_mapped(&vm), page);
  cr_assert_eq(*(Byte *)addr_ptr(base), 42, "existing mapping disturbed");
  /* The range the OS refused can still be mapped piecewise. */
  cr_assert_eq(vm_map(&vm, addr_add(base, page), addr_add(base, 4 * page)),
               MPS_RES_OK);
  cr_assert(all_equal(addr_add(base, page), addr_add(base, 4 * page), 0));
  cr_assert_eq(vm_map(&vm, addr_sub(vm_limit(&vm), page), vm_limit(&vm)),
               MPS_RES_OK);
  *(Byte *)addr_ptr(addr_sub(vm_limit(&vm), 1)) = 1;
  cr_assert_eq(vm_mapped(&vm), 5 * page);
  vm_finish(&vm);
}

Test(vm, mapping_after_finishing_another)
{
  vm_s a, b, c;
  cr_assert_eq(vm_init(&a, 32 * page, page), MPS_RES_OK);
  cr_assert_eq(vm_init(&b, 32 * page, page), MPS_RES_OK);
  cr_assert_eq(vm_map(&a, vm_base(&a), vm_limit(&a)), MPS_RES_OK);
  memset(addr_ptr(vm_base(&a)), 3, 32 * page);
  vm_finish(&a);

  cr_assert_eq(vm_map(&b, vm_base(&b), vm_limit(&b)), MPS_RES_OK);
  cr_assert(all_equal(vm_base(&b), vm_limit(&b), 0));
  memset(addr_ptr(vm_base(&b)), 4, 32 * page);

  /* c may well reuse a's addresses; it must still start out clean. */
  cr_assert_eq(vm_init(&c, 32 * page, page), MPS_RES_OK);
  cr_assert_eq(vm_map(&c, vm_base(&c), vm_limit(&c)), MPS_RES_OK);
  cr_assert(all_equal(vm_base(&c), vm_limit(&c), 0));
  cr_assert(all_equal(vm_base(&b), vm_limit(&b), 4));
  vm_finish(&c);
  vm_finish(&b);
}

/* Misuse is caught by AVER in hot and cool. */

Test(vm, grain_not_power_of_two, .init = setup_aborting, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  vm_s vm;
  (void)vm_init(&vm, 16 * page, 3 * page);
}

Test(vm, grain_below_page, .init = setup_aborting, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  vm_s vm;
  (void)vm_init(&vm, 16 * page, page / 2);
}

Test(vm, zero_size, .init = setup_aborting, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  vm_s vm;
  (void)vm_init(&vm, 0, page);
}

Test(vm, map_unaligned, .init = setup_aborting, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  vm_s vm;
  cr_assert_eq(vm_init(&vm, 16 * page, page), MPS_RES_OK);
  (void)vm_map(&vm, addr_add(vm_base(&vm), 8), addr_add(vm_base(&vm), page));
}

Test(vm, map_outside_reservation, .init = setup_aborting, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  vm_s vm;
  cr_assert_eq(vm_init(&vm, 16 * page, page), MPS_RES_OK);
  (void)vm_map(&vm, vm_limit(&vm), addr_add(vm_limit(&vm), page));
}

Test(vm, map_below_reservation, .init = setup_aborting, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  vm_s vm;
  cr_assert_eq(vm_init(&vm, 16 * page, page), MPS_RES_OK);
  (void)vm_map(&vm, addr_sub(vm_base(&vm), page), addr_add(vm_base(&vm), page));
}

Test(vm, unmap_more_than_mapped, .init = setup_aborting, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  vm_s vm;
  cr_assert_eq(vm_init(&vm, 16 * page, page), MPS_RES_OK);
  cr_assert_eq(vm_map(&vm, vm_base(&vm), addr_add(vm_base(&vm), page)), MPS_RES_OK);
  vm_unmap(&vm, vm_base(&vm), addr_add(vm_base(&vm), 2 * page));
}

Test(vm, use_after_finish, .init = setup_aborting, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  vm_s vm;
  cr_assert_eq(vm_init(&vm, 16 * page, page), MPS_RES_OK);
  vm_finish(&vm);
  (void)vm_mapped(&vm);
}

Test(vm, map_limit_unaligned, .init = setup_aborting, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  vm_s vm;
  cr_assert_eq(vm_init(&vm, 16 * page, page), MPS_RES_OK);
  (void)vm_map(&vm, vm_base(&vm), addr_add(vm_base(&vm), page + 8));
}

Test(vm, map_empty_range, .init = setup_aborting, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  vm_s vm;
  cr_assert_eq(vm_init(&vm, 16 * page, page), MPS_RES_OK);
  (void)vm_map(&vm, addr_add(vm_base(&vm), page), addr_add(vm_base(&vm), page));
}

/* Mapping pages that are mapped already would count them twice. */
Test(vm, map_more_than_unmapped, .init = setup_aborting, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  vm_s vm;
  cr_assert_eq(vm_init(&vm, 4 * page, page), MPS_RES_OK);
  cr_assert_eq(vm_map(&vm, vm_base(&vm), vm_limit(&vm)), MPS_RES_OK);
  (void)vm_map(&vm, vm_base(&vm), addr_add(vm_base(&vm), page));
}

/* vm_init sets every field: a descriptor reused, or left dirty on the
 * stack, starts with nothing mapped. */
Test(vm, a_new_vm_counts_nothing_mapped_whatever_the_descriptor_held)
{
  vm_s vm;
  memset(&vm, 0x5A, sizeof vm);
  cr_assert_eq(vm_init(&vm, 8 * page, 2 * page), MPS_RES_OK);
  cr_assert(vm_check(&vm));
  cr_assert_eq(vm_mapped(&vm), 0);
  cr_assert_eq(vm_map(&vm, vm_base(&vm), vm_limit(&vm)), MPS_RES_OK);
  cr_assert_eq(vm_mapped(&vm), 8 * page);
  vm_finish(&vm);
}

/* vm_check states the invariants of vm.c; a descriptor that breaks one
 * of them is reported.  Those are local checks, made in cool only.
 * Whether vm_check reports `broken` (a copy of a good descriptor with
 * one field changed): */
static bool reported(vm_s broken)
{
  reports_install();
  (void)vm_check(&broken);
  reports_install_abort();
  return reports_seen() > 0;
}

Test(vm, check_reports_a_broken_descriptor)
{
  vm_s vm, broken;
#if CHECK_LEVEL < 2
  cr_skip_test("the invariants are checked only in cool");
#endif
  cr_assert_eq(vm_init(&vm, 16 * page, 4 * page), MPS_RES_OK);
  cr_assert(!reported(vm), "a good descriptor was reported");

  broken = vm;           /* more mapped than there is to map */
  broken.mapped = addr_offset(vm.base, vm.limit) + page;
  cr_assert(reported(broken), "mapped beyond the usable range");

  broken = vm;           /* a whole grain of slack held beside the range */
  broken.reserve_limit = addr_add(vm.reserve_limit, vm.grain_size);
  cr_assert(reported(broken), "a grain of slack");

  broken = vm;           /* grains smaller than pages */
  broken.grain_size = vm.page_size / 2;
  cr_assert(reported(broken), "a grain smaller than a page");

  vm_finish(&vm);
}
