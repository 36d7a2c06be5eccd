/* fuzz_prot.c: the hardware protection backend and the fault handler
 * (src/protect/prot_os.h, src/protect/fault.h) against a model of each
 * page's protection and contents.
 *
 * The region is FUZZ_PROT_PAGES pages of mapped memory.  Each operation
 * takes two input bytes: the first picks the operation (low two bits), a
 * protection mode (next two bits) and a value (the rest); the second a
 * page and, for set, how many pages from it.  Operations:
 *   set    apply the mode to a run of pages (model: those pages get it);
 *   read   read a byte of a page;
 *   write  write a byte of a page (model: the page's byte changes).
 * A read faults exactly when the model denies reads of the page, a write
 * when it denies anything (no system has write-only pages).  The hook
 * records the fault, unprotects the faulting page and claims it; the
 * model's page becomes unprotected.  After each access: one fault if the
 * model said so and none otherwise, at the accessed address, a write
 * reported as one where the platform tells (and a read as one), the value
 * read equal to the model's.
 *
 * After every operation the protection of every page is compared with the
 * model by probing: read the page (a fault is expected exactly when reads
 * are denied), put its mode back, write its byte back (a fault exactly
 * when anything is denied), put its mode back.  Then the backend's check.
 * Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../src/base/config.h"
#include "../src/os/vm.h"
#include "../src/protect/fault.h"
#include "../src/protect/prot_os.h"

#define FUZZ_PROT_PAGES 4
#define FUZZ_PROT_OPS 256

static vm_s fuzz_prot_vm;
static ProtOSStruct fuzz_prot_po;
static Size fuzz_prot_page;
static Addr fuzz_prot_base;

/* What the hook saw, since the last fuzz_prot_expect. */
static volatile unsigned fuzz_prot_faults;
static volatile Word fuzz_prot_addr;
static volatile int fuzz_prot_write;
static volatile int fuzz_prot_hook_failed;

static bool fuzz_prot_hook(void *closure, Addr addr, bool is_write)
{
  ProtOS po = closure;
  Addr page;
  if (addr_word(addr) < addr_word(fuzz_prot_base)
      || addr_word(addr) >= addr_word(vm_limit(&fuzz_prot_vm)))
    return false;
  ++fuzz_prot_faults;
  fuzz_prot_addr = addr_word(addr);
  fuzz_prot_write = is_write;
  page = addr_align_down(addr, fuzz_prot_page);
  if (prot_os_apply(po, page, addr_add(page, fuzz_prot_page), PROT_DENY_NONE)
      != MPS_RES_OK)
    fuzz_prot_hook_failed = 1;
  return true;
}

static Addr fuzz_prot_at(Index page, Index offset)
{
  return addr_add(fuzz_prot_base, page * fuzz_prot_page + offset);
}

/* The byte each page's contents are modelled by. */
static Addr fuzz_prot_cell(Index page)
{
  return fuzz_prot_at(page, 64 + page * 8);
}

static void fuzz_prot_set(Index page, Count pages, ProtMode mode)
{
  if (prot_os_apply(&fuzz_prot_po, fuzz_prot_at(page, 0),
                    fuzz_prot_at(page + pages, 0), mode) != MPS_RES_OK)
    abort();
}

/* After an access of `addr`: did it fault exactly when `faults` says? */
static void fuzz_prot_expect(bool faults, Addr addr, bool is_write)
{
  if (fuzz_prot_hook_failed)
    abort();
  if (fuzz_prot_faults != (faults ? 1u : 0u))
    abort();
  if (faults) {
    if (fuzz_prot_addr != addr_word(addr))
      abort();
    if (fault_write_known() ? fuzz_prot_write != is_write : !fuzz_prot_write)
      abort();
  }
  fuzz_prot_faults = 0;
}

static bool fuzz_prot_read_faults(ProtMode mode)
{
  return (mode & PROT_DENY_READ) != 0;
}

static bool fuzz_prot_write_faults(ProtMode mode)
{
  return mode != PROT_DENY_NONE;
}

static void fuzz_prot_compare(const ProtMode *mode, const Byte *value)
{
  Index i;
  for (i = 0; i < FUZZ_PROT_PAGES; ++i) {
    Addr cell = fuzz_prot_cell(i);
    if (*(volatile Byte *)addr_ptr(cell) != value[i])
      abort();
    fuzz_prot_expect(fuzz_prot_read_faults(mode[i]), cell, false);
    fuzz_prot_set(i, 1, mode[i]);
    *(volatile Byte *)addr_ptr(cell) = value[i];
    fuzz_prot_expect(fuzz_prot_write_faults(mode[i]), cell, true);
    fuzz_prot_set(i, 1, mode[i]);
  }
  if (!prot_os_check(&fuzz_prot_po) || prot_os_failure(&fuzz_prot_po) != MPS_RES_OK)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  ProtMode mode[FUZZ_PROT_PAGES] = {0};
  Byte value[FUZZ_PROT_PAGES] = {0};
  FaultRegStruct reg;
  size_t i;

  fuzz_prot_page = vm_page_size();
  if (vm_init(&fuzz_prot_vm, FUZZ_PROT_PAGES * fuzz_prot_page, fuzz_prot_page)
      != MPS_RES_OK)
    abort();
  fuzz_prot_base = vm_base(&fuzz_prot_vm);
  if (vm_map(&fuzz_prot_vm, fuzz_prot_base, vm_limit(&fuzz_prot_vm)) != MPS_RES_OK)
    abort();
  if (prot_setup(prot_os_init(&fuzz_prot_po)) != MPS_RES_OK)
    abort();
  if (fault_register(&reg, fuzz_prot_hook, &fuzz_prot_po) != MPS_RES_OK)
    abort();
  fuzz_prot_faults = 0;
  fuzz_prot_hook_failed = 0;

  for (i = 0; i + 1 < size && i / 2 < FUZZ_PROT_OPS; i += 2) {
    unsigned op = data[i] & 3;
    ProtMode m = (ProtMode)((data[i] >> 2) & 3);
    Byte v = (Byte)(data[i] >> 4);
    Index page = data[i + 1] % FUZZ_PROT_PAGES;
    Addr cell = fuzz_prot_cell(page);
    Count pages, j;

    switch (op) {
    case 0:
    case 3:
      pages = 1 + (Count)(data[i + 1] / FUZZ_PROT_PAGES) % (FUZZ_PROT_PAGES - page);
      fuzz_prot_set(page, pages, m);
      for (j = page; j < page + pages; ++j)
        mode[j] = m;
      break;
    case 1:
      if (*(volatile Byte *)addr_ptr(cell) != value[page])
        abort();
      fuzz_prot_expect(fuzz_prot_read_faults(mode[page]), cell, false);
      if (fuzz_prot_read_faults(mode[page]))
        mode[page] = PROT_DENY_NONE;
      break;
    default:
      *(volatile Byte *)addr_ptr(cell) = v;
      value[page] = v;
      fuzz_prot_expect(fuzz_prot_write_faults(mode[page]), cell, true);
      if (fuzz_prot_write_faults(mode[page]))
        mode[page] = PROT_DENY_NONE;
      break;
    }
    fuzz_prot_compare(mode, value);
  }

  fault_unregister(&reg);
  prot_os_finish(&fuzz_prot_po);
  vm_finish(&fuzz_prot_vm);
  return 0;
}
