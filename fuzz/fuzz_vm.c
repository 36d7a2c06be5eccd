/* fuzz_vm.c: libFuzzer target for src/os/vm.h.
 *
 * Each input makes one reservation of a few dozen pages and replays a
 * sequence of map, unmap and write operations on it, mirrored on a model
 * that records which pages are mapped and one byte written into each
 * mapped page.  After every operation the VM must pass vm_check, report
 * exactly the model's mapped bytes, and every mapped page must hold what
 * the model says (zero if nothing was written since it was mapped).
 * Unmapped pages are never touched: that would fault.  The reservation is
 * released at the end of each input.
 *
 * Input: byte 0 chooses the grain (1, 2, 4 or 8 pages) and the size
 * (24 to 55 pages before rounding to the grain); then three bytes per
 * operation: kind, first page, page count.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../src/os/vm.h"

#define FUZZ_VM_MAX_PAGES 64

typedef struct fuzz_vm_model_s {
  Count pages;
  bool mapped[FUZZ_VM_MAX_PAGES];
  Byte value[FUZZ_VM_MAX_PAGES];   /* the byte at fuzz_vm_offset(page) */
} fuzz_vm_model_s;

static Size fuzz_vm_page;

#define FUZZ_VM_REQUIRE(cond) \
  do { if (!(cond)) abort(); } while (0)

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

static void fuzz_vm_compare(VM vm, const fuzz_vm_model_s *model)
{
  Count mapped = 0;
  Index i;
  FUZZ_VM_REQUIRE(vm_check(vm));
  for (i = 0; i < model->pages; ++i) {
    if (!model->mapped[i])
      continue;
    ++mapped;
    FUZZ_VM_REQUIRE(fuzz_vm_page_ptr(vm, i)[fuzz_vm_offset(i)] == model->value[i]);
  }
  FUZZ_VM_REQUIRE(vm_mapped(vm) == mapped * fuzz_vm_page);
}

/* Map the run of unmapped pages starting at `first`, at most `count`
 * long; the interface requires the range to be wholly unmapped. */
static void fuzz_vm_map(VM vm, fuzz_vm_model_s *model, Index first, Count count)
{
  Index i, end = first;
  Res res;
  while (end < model->pages && end < first + count && !model->mapped[end])
    ++end;
  if (end == first)
    return;
  res = vm_map(vm, addr_add(vm_base(vm), first * fuzz_vm_page),
               addr_add(vm_base(vm), end * fuzz_vm_page));
  FUZZ_VM_REQUIRE(res == MPS_RES_OK);
  for (i = first; i < end; ++i) {
    Byte *p = fuzz_vm_page_ptr(vm, i);
    Size j;
    for (j = 0; j < fuzz_vm_page; ++j)
      FUZZ_VM_REQUIRE(p[j] == 0);
    model->mapped[i] = true;
    model->value[i] = 0;
  }
}

/* Unmap the run of mapped pages starting at `first`, at most `count`
 * long. */
static void fuzz_vm_unmap(VM vm, fuzz_vm_model_s *model, Index first, Count count)
{
  Index i, end = first;
  while (end < model->pages && end < first + count && model->mapped[end])
    ++end;
  if (end == first)
    return;
  vm_unmap(vm, addr_add(vm_base(vm), first * fuzz_vm_page),
           addr_add(vm_base(vm), end * fuzz_vm_page));
  for (i = first; i < end; ++i)
    model->mapped[i] = false;
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
  grain = fuzz_vm_page << (data[0] & 3);
  res = vm_init(&vm, (24 + (Size)(data[0] >> 3)) * fuzz_vm_page, grain);
  FUZZ_VM_REQUIRE(res == MPS_RES_OK);
  model.pages = addr_offset(vm_base(&vm), vm_limit(&vm)) / fuzz_vm_page;
  FUZZ_VM_REQUIRE(model.pages <= FUZZ_VM_MAX_PAGES);
  FUZZ_VM_REQUIRE(addr_is_aligned(vm_base(&vm), grain));
  FUZZ_VM_REQUIRE(vm_reserved(&vm) >= model.pages * fuzz_vm_page);
  fuzz_vm_compare(&vm, &model);

  for (k = 1; k + 3 <= size; k += 3) {
    Index first = data[k + 1] % model.pages;
    Count count = (Count)(data[k + 2] % model.pages) + 1;
    switch (data[k] % 3) {
    case 0:
      fuzz_vm_map(&vm, &model, first, count);
      break;
    case 1:
      fuzz_vm_unmap(&vm, &model, first, count);
      break;
    default:
      fuzz_vm_write(&vm, &model, first, count, (Byte)(data[k] | 1));
      break;
    }
    fuzz_vm_compare(&vm, &model);
  }

  vm_finish(&vm);
  return 0;
}
