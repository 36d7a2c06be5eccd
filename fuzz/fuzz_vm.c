/* fuzz_vm.c: libFuzzer target for src/os/vm.h.
 *
 * Each input makes one reservation of a few dozen pages and replays a
 * sequence of operations on it, mirrored on a model that records which
 * pages are mapped, which pages can be read (mapped ones, and unmapped
 * ones that an unmap under a limit left readable), and one byte written
 * into each mapped page.  After every operation the VM must pass
 * vm_check, report exactly the model's mapped bytes and its reserved
 * bytes from the start, still hold every page of [vm_base, vm_limit) as
 * some mapping (mincore), every mapped page must hold what the model says
 * (zero if nothing was written since it was mapped), and every unmapped
 * page the model calls readable must read zero.  After each operation
 * that maps or unmaps, every unmapped page must also be readable exactly
 * when the model says so, probed by write(2)ing one byte from it into a
 * pipe, which fails with EFAULT instead of faulting (support/probe.c).
 * The reservation is released at the end of each input.
 *
 * Input: byte 0 chooses the grain (1, 2, 4 or 8 pages) and the size
 * (24 to 55 pages before rounding to the grain); then three bytes per
 * operation: kind, first page, page count.  The kind byte modulo 6 picks
 * the operation, the kind byte divided by 6 is its argument:
 *   0 map      the run of unmapped pages at `first`: MPS_RES_OK, all zero
 *   1 unmap    the run of mapped pages at `first`: no longer resident,
 *              not readable
 *   2 write    the kind byte (made odd) into each mapped page of the range
 *   3 map under a limit, the address-space limit (RLIMIT_AS) if the
 *              argument is even, else the data limit (RLIMIT_DATA): each
 *              soft limit is lowered below what the process already uses
 *              for the one call and put back at once, so that the OS
 *              refuses new mappings.  MPS_RES_MEMORY and the descriptor
 *              byte for byte as it was, and no page of the range became
 *              readable; or, where the OS ignores the limit, a map as
 *              above.  On Linux the address-space limit must refuse it.
 *   4 unmap under a limit (as for 3): the mapped count drops as for an
 *              unmap and the pages are no longer resident either way, but
 *              when the OS refuses to replace them (on Linux: under
 *              RLIMIT_AS, and only then) they stay readable, as zeroes.
 *   5 reserve  a second VM, which must fail with MPS_RES_RESOURCE and
 *              leave its descriptor untouched: if the argument is 0 mod
 *              3, a size fewer than 2^31 pages (2^15 on 32-bit) below
 *              the top of the address space (too large to express once
 *              padded, or to obtain); if 1, a
 *              small size under RLIMIT_AS (on Linux it must fail; where
 *              it succeeds it is checked and finished); if 2, a small
 *              size under RLIMIT_DATA, which on Linux must succeed, since
 *              a reservation is not writable memory.
 * Limits are process-wide: each is restored straight after the one VM
 * call, or by the assertion handler if a check fails inside it, so that
 * nothing else in the process (the sanitizer's allocator above all) runs
 * under it, and no later input starts under it.
 */
#define _DEFAULT_SOURCE 1   /* MAP_ANON, mincore */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../include/mpslib.h"
#include "../src/os/vm.h"
#include "support/probe.h"

#define FUZZ_VM_MAX_PAGES 64

typedef struct fuzz_vm_model_s {
  Count pages;
  Size reserved;                    /* vm_reserved just after vm_init */
  bool mapped[FUZZ_VM_MAX_PAGES];
  bool readable[FUZZ_VM_MAX_PAGES]; /* always true where mapped */
  Byte value[FUZZ_VM_MAX_PAGES];    /* the byte at fuzz_vm_offset(page) */
} fuzz_vm_model_s;

static Size fuzz_vm_page;

#define FUZZ_VM_REQUIRE(cond) \
  do { if (!(cond)) abort(); } while (0)

/* The limit lowered by fuzz_vm_limit, while it is: a failed check inside
 * the VM call puts it back before the report, which the sanitizer cannot
 * print (it maps memory for the stack trace) under the limit. */
static int fuzz_vm_limit_resource;
static struct rlimit fuzz_vm_limit_old;
static bool fuzz_vm_limit_active;
static mps_lib_assert_fail_t fuzz_vm_assert_next;
static bool fuzz_vm_ready;   /* the probe and the handler are set up */

/* Where in a page the model's byte lives: it varies from page to page so
 * that a page mapped at the wrong address is noticed. */
static Size fuzz_vm_offset(Index i)
{
  return (i * 977 + 13) % fuzz_vm_page;
}

static Byte *fuzz_vm_page_ptr(VM vm, Index i)
{
  return (Byte *)addr_ptr(addr_add(vm_base(vm), i * fuzz_vm_page));
}

/* No page of [first, end) is resident: called straight after an unmap,
 * before anything reads those pages (a read of a discarded page makes
 * the zero page resident there). */
static void fuzz_vm_require_discarded(VM vm, Index first, Index end)
{
  unsigned char vec[FUZZ_VM_MAX_PAGES];
  Index i;
  FUZZ_VM_REQUIRE(mincore(fuzz_vm_page_ptr(vm, first),
                          (end - first) * fuzz_vm_page, (void *)vec) == 0);
  for (i = 0; i < end - first; ++i)
    FUZZ_VM_REQUIRE((vec[i] & 1) == 0);
}

/* `probe`: whether the operation could have changed which pages are
 * readable (probing every page is most of the target's time). */
static void fuzz_vm_compare(VM vm, const fuzz_vm_model_s *model, bool probe)
{
  unsigned char vec[FUZZ_VM_MAX_PAGES];
  Count mapped = 0;
  Index i;
  FUZZ_VM_REQUIRE(vm_check(vm));
  FUZZ_VM_REQUIRE(vm_reserved(vm) == model->reserved);
  /* mincore fails with ENOMEM if any page of the range has no mapping at
   * all, i.e. if part of the reservation was lost to the OS. */
  FUZZ_VM_REQUIRE(mincore(addr_ptr(vm_base(vm)), model->pages * fuzz_vm_page,
                          (void *)vec) == 0);
  for (i = 0; i < model->pages; ++i) {
    Byte *p = fuzz_vm_page_ptr(vm, i) + fuzz_vm_offset(i);
    if (model->mapped[i]) {
      ++mapped;
      FUZZ_VM_REQUIRE(*p == model->value[i]);
    } else {
      FUZZ_VM_REQUIRE(!probe || fuzz_probe_readable(p) == model->readable[i]);
      if (model->readable[i])
        FUZZ_VM_REQUIRE(*p == 0);
    }
  }
  FUZZ_VM_REQUIRE(vm_mapped(vm) == mapped * fuzz_vm_page);
}

static void fuzz_vm_unlimit(void)
{
  fuzz_vm_limit_active = false;
  FUZZ_VM_REQUIRE(setrlimit(fuzz_vm_limit_resource, &fuzz_vm_limit_old) == 0);
}

static void fuzz_vm_assert_fail(const char *file, unsigned line,
                                const char *condition)
{
  if (fuzz_vm_limit_active)
    fuzz_vm_unlimit();
  fuzz_vm_assert_next(file, line, condition);
}

/* Lower the soft `resource` limit to one page, which every process is
 * already past, until fuzz_vm_unlimit.  Nothing but the one VM call may
 * run in between. */
static void fuzz_vm_limit(int resource)
{
  struct rlimit lim;
  FUZZ_VM_REQUIRE(getrlimit(resource, &fuzz_vm_limit_old) == 0);
  fuzz_vm_limit_resource = resource;
  lim = fuzz_vm_limit_old;
  lim.rlim_cur = fuzz_vm_page;
  fuzz_vm_limit_active = true;
  FUZZ_VM_REQUIRE(setrlimit(resource, &lim) == 0);
}

/* The end of the run of pages from `first`, at most `count` long, whose
 * mapped state is `mapped`. */
static Index fuzz_vm_run(const fuzz_vm_model_s *model, Index first,
                         Count count, bool mapped)
{
  Index end = first;
  while (end < model->pages && end < first + count
         && model->mapped[end] == mapped)
    ++end;
  return end;
}

/* [first, end) has just been mapped: it must read as zero. */
static void fuzz_vm_now_mapped(VM vm, fuzz_vm_model_s *model, Index first,
                               Index end)
{
  Index i;
  for (i = first; i < end; ++i) {
    Byte *p = fuzz_vm_page_ptr(vm, i);
    Size j;
    for (j = 0; j < fuzz_vm_page; ++j)
      FUZZ_VM_REQUIRE(p[j] == 0);
    model->mapped[i] = true;
    model->readable[i] = true;
    model->value[i] = 0;
  }
}

/* Map the run of unmapped pages starting at `first`, at most `count`
 * long; the interface requires the range to be wholly unmapped. */
static void fuzz_vm_map(VM vm, fuzz_vm_model_s *model, Index first, Count count)
{
  Index end = fuzz_vm_run(model, first, count, false);
  Res res;
  if (end == first)
    return;
  res = vm_map(vm, addr_add(vm_base(vm), first * fuzz_vm_page),
               addr_add(vm_base(vm), end * fuzz_vm_page));
  FUZZ_VM_REQUIRE(res == MPS_RES_OK);
  fuzz_vm_now_mapped(vm, model, first, end);
}

/* As fuzz_vm_map, with the soft `resource` limit below current use. */
static void fuzz_vm_map_limited(VM vm, fuzz_vm_model_s *model, Index first,
                                Count count, int resource)
{
  Index i, end = fuzz_vm_run(model, first, count, false);
  unsigned char before[sizeof(vm_s)];
  Res res;
  if (end == first)
    return;
  memcpy(before, vm, sizeof(vm_s));
  fuzz_vm_limit(resource);
  res = vm_map(vm, addr_add(vm_base(vm), first * fuzz_vm_page),
               addr_add(vm_base(vm), end * fuzz_vm_page));
  fuzz_vm_unlimit();
  if (res == MPS_RES_OK) {
#if defined(__linux__)
    FUZZ_VM_REQUIRE(resource != RLIMIT_AS);
#endif
    fuzz_vm_now_mapped(vm, model, first, end);
    return;
  }
  FUZZ_VM_REQUIRE(res == MPS_RES_MEMORY);
  FUZZ_VM_REQUIRE(memcmp(before, vm, sizeof(vm_s)) == 0);
  /* Pages left readable by an earlier unmap under a limit may have been
   * put back to no access; none may have been opened. */
  for (i = first; i < end; ++i) {
    bool readable = fuzz_probe_readable(fuzz_vm_page_ptr(vm, i));
    FUZZ_VM_REQUIRE(model->readable[i] || !readable);
    model->readable[i] = readable;
  }
}

/* Unmap the run of mapped pages starting at `first`, at most `count`
 * long. */
static void fuzz_vm_unmap(VM vm, fuzz_vm_model_s *model, Index first, Count count)
{
  Index i, end = fuzz_vm_run(model, first, count, true);
  if (end == first)
    return;
  vm_unmap(vm, addr_add(vm_base(vm), first * fuzz_vm_page),
           addr_add(vm_base(vm), end * fuzz_vm_page));
  fuzz_vm_require_discarded(vm, first, end);
  for (i = first; i < end; ++i) {
    FUZZ_VM_REQUIRE(!fuzz_probe_readable(fuzz_vm_page_ptr(vm, i)));
    model->mapped[i] = false;
    model->readable[i] = false;
  }
}

/* As fuzz_vm_unmap, with the soft `resource` limit below current use.
 * vm_unmap cannot report a failure; where the OS would not replace the
 * pages they must at least have been discarded. */
static void fuzz_vm_unmap_limited(VM vm, fuzz_vm_model_s *model, Index first,
                                  Count count, int resource)
{
  Index i, end = fuzz_vm_run(model, first, count, true);
  if (end == first)
    return;
  fuzz_vm_limit(resource);
  vm_unmap(vm, addr_add(vm_base(vm), first * fuzz_vm_page),
           addr_add(vm_base(vm), end * fuzz_vm_page));
  fuzz_vm_unlimit();
  fuzz_vm_require_discarded(vm, first, end);
  for (i = first; i < end; ++i) {
    bool readable = fuzz_probe_readable(fuzz_vm_page_ptr(vm, i));
#if defined(__linux__)
    FUZZ_VM_REQUIRE(readable == (resource == RLIMIT_AS));
#endif
    model->mapped[i] = false;
    model->readable[i] = readable;
  }
}

/* Write `value` into every mapped page of [first, first + count). */
static void fuzz_vm_write(VM vm, fuzz_vm_model_s *model, Index first,
                          Count count, Byte value)
{
  Index i;
  for (i = first; i < model->pages && i < first + count; ++i) {
    if (!model->mapped[i])
      continue;
    fuzz_vm_page_ptr(vm, i)[fuzz_vm_offset(i)] = value;
    model->value[i] = value;
  }
}

/* Try to make a second VM that should not (or, variant 2, should) be
 * made; `a` and `b` are the operation's raw page bytes. */
static void fuzz_vm_reserve(unsigned variant, Byte a, Byte b)
{
  Size grain = fuzz_vm_page << (a & 7);
  Size size = (Size)(b + 1) * fuzz_vm_page;
  int resource = variant == 1 ? RLIMIT_AS : RLIMIT_DATA;
  unsigned char before[sizeof(vm_s)];
  vm_s other;
  Res res;

  memset(&other, 0x5A, sizeof other);
  memcpy(before, &other, sizeof other);
  if (variant == 0) {
    /* The gap below the top stays under 2^31 pages on 64-bit (2^15 on
     * 32-bit), far less than any OS keeps out of a process's reach. */
    Shift shift = (Shift)((a >> 3) % (WORD_WIDTH / 2 - 8));
    size = (Size)-1 - (((Size)b * fuzz_vm_page) << shift);
    res = vm_init(&other, size, grain);
  } else {
    fuzz_vm_limit(resource);
    res = vm_init(&other, size, grain);
    fuzz_vm_unlimit();
  }
#if defined(__linux__)
  FUZZ_VM_REQUIRE((res == MPS_RES_OK) == (variant == 2));
#else
  FUZZ_VM_REQUIRE(res != MPS_RES_OK || variant != 0);
#endif
  if (res != MPS_RES_OK) {
    FUZZ_VM_REQUIRE(res == MPS_RES_RESOURCE);
    FUZZ_VM_REQUIRE(memcmp(before, &other, sizeof other) == 0);
    return;
  }
  FUZZ_VM_REQUIRE(vm_check(&other));
  FUZZ_VM_REQUIRE(addr_is_aligned(vm_base(&other), grain));
  FUZZ_VM_REQUIRE(addr_offset(vm_base(&other), vm_limit(&other))
                  == size_align_up(size, grain));
  FUZZ_VM_REQUIRE(vm_reserved(&other)
                  >= addr_offset(vm_base(&other), vm_limit(&other)));
  FUZZ_VM_REQUIRE(vm_mapped(&other) == 0);
  vm_finish(&other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  vm_s vm;
  fuzz_vm_model_s model = {0};
  Size grain;
  Res res;
  size_t k;

  if (size < 1)
    return 0;
  fuzz_vm_page = vm_page_size();
  if (!fuzz_vm_ready) {
    fuzz_vm_ready = true;
    fuzz_probe_init();   /* not under a limit */
    fuzz_vm_assert_next = mps_lib_assert_fail_install(fuzz_vm_assert_fail);
  }
  grain = fuzz_vm_page << (data[0] & 3);
  res = vm_init(&vm, (24 + (Size)(data[0] >> 3)) * fuzz_vm_page, grain);
  FUZZ_VM_REQUIRE(res == MPS_RES_OK);
  model.pages = addr_offset(vm_base(&vm), vm_limit(&vm)) / fuzz_vm_page;
  FUZZ_VM_REQUIRE(model.pages <= FUZZ_VM_MAX_PAGES);
  FUZZ_VM_REQUIRE(addr_is_aligned(vm_base(&vm), grain));
  model.reserved = vm_reserved(&vm);
  FUZZ_VM_REQUIRE(model.reserved >= model.pages * fuzz_vm_page);
  fuzz_vm_compare(&vm, &model, true);

  for (k = 1; k + 3 <= size; k += 3) {
    Index first = data[k + 1] % model.pages;
    Count count = (Count)(data[k + 2] % model.pages) + 1;
    unsigned arg = data[k] / 6;
    int resource = arg % 2 == 0 ? RLIMIT_AS : RLIMIT_DATA;
    switch (data[k] % 6) {
    case 0:
      fuzz_vm_map(&vm, &model, first, count);
      break;
    case 1:
      fuzz_vm_unmap(&vm, &model, first, count);
      break;
    case 2:
      fuzz_vm_write(&vm, &model, first, count, (Byte)(data[k] | 1));
      break;
    case 3:
      fuzz_vm_map_limited(&vm, &model, first, count, resource);
      break;
    case 4:
      fuzz_vm_unmap_limited(&vm, &model, first, count, resource);
      break;
    default:
      fuzz_vm_reserve(arg % 3, data[k + 1], data[k + 2]);
      break;
    }
    fuzz_vm_compare(&vm, &model, data[k] % 6 != 2 && data[k] % 6 != 5);
  }

  vm_finish(&vm);
  return 0;
}
