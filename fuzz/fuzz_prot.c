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
 *   write  write a byte of a page (model: the page's byte changes);
 *   other  one of the rarer operations below, chosen by bits 2-4.
 * A read faults exactly when the model denies reads of the page, a write
 * when it denies anything (no system has write-only pages).  The hook
 * records the fault, unprotects the faulting page and claims it; the
 * model's page becomes unprotected.  After each access: one fault if the
 * model said so and none otherwise, at the accessed address, a write
 * reported as one where the platform tells (and a read as one), the value
 * read equal to the model's.
 *
 * The rarer operations (bits 5-7 are their argument):
 *   table    set a run of pages through the function table (prot_set)
 *            rather than prot_os_apply: the model as for set, and the
 *            backend's count of sets goes up by one;
 *   misuse   prot_os_apply with a misaligned base or limit, an empty or
 *            inverted range, or a mode outside PROT_DENY_ALL: exactly one
 *            report from the assertion handler (none in rash), the result
 *            MPS_RES_PARAM, and the pages unchanged;
 *   hole     protect a range of which part is not mapped at all (a fresh
 *            mapping with its second page unmapped): MPS_RES_MEMORY, or
 *            through the table of a second backend, whose first failure
 *            the model keeps;
 *   file     protect a shared mapping of a file opened read-only: denying
 *            writes or everything succeeds, allowing writes fails with
 *            MPS_RES_FAIL (directly, or as the second backend's failure);
 *            then a read of the page faults exactly when the mode denies
 *            reads (the hook then allows reads only) and sees the file;
 *   unaligned  prot_os_system itself with a misaligned base, which
 *            prot_os_apply never passes on: MPS_RES_PARAM, pages unchanged;
 *   decline  access a page outside the region, protected by the backend:
 *            the hook must decline a fault there, and the fault must reach
 *            the handler that was installed before the fault module's (the
 *            target installs one first, standing in for a client's), once,
 *            at the accessed address.
 *
 * After every operation the protection of every page is compared with the
 * model by probing: read the page (a fault is expected exactly when reads
 * are denied), put its mode back, write its byte back (a fault exactly
 * when anything is denied), put its mode back.  Then the backends' checks,
 * counts of sets through the table and first failures.  Any mismatch
 * aborts.
 */
#define _DEFAULT_SOURCE 1   /* MAP_ANON, mkstemp */

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../src/base/config.h"
#include "../src/os/vm.h"
#include "../src/protect/fault.h"
#include "../src/protect/prot_os.h"
#include "support/reports.h"

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
/* Faults the hook was asked about and declined. */
static volatile unsigned fuzz_prot_declined;

/* A page outside the region that the hook handles too, during the file
 * operation, by setting it to `fuzz_prot_extra_fix` (a file mapped
 * read-only cannot be given write access). */
static volatile Word fuzz_prot_extra_base;
static volatile ProtMode fuzz_prot_extra_fix;

/* The stand-in for a client's handler, below the fault module's: it
 * handles faults on `fuzz_prot_client_page` while that is not 0, and
 * gives every other fault to the action it replaced (the sanitizer's). */
static volatile Word fuzz_prot_client_page;
static volatile unsigned fuzz_prot_client_faults;
static volatile Word fuzz_prot_client_addr;
static struct sigaction fuzz_prot_below[2];
static const int fuzz_prot_signal[2] = {SIGSEGV, SIGBUS};

/* The page of the decline operation, and a read-only file descriptor for
 * the file operation, both made once per process. */
static Addr fuzz_prot_outside;
static int fuzz_prot_file = -1;

static bool fuzz_prot_hook(void *closure, Addr addr, bool is_write)
{
  ProtOS po = closure;
  ProtMode fix = PROT_DENY_NONE;
  Addr page = addr_align_down(addr, fuzz_prot_page);
  if (addr_word(addr) >= addr_word(fuzz_prot_base)
      && addr_word(addr) < addr_word(vm_limit(&fuzz_prot_vm))) {
    fix = PROT_DENY_NONE;
  } else if (fuzz_prot_extra_base != 0
             && addr_word(page) == fuzz_prot_extra_base) {
    fix = fuzz_prot_extra_fix;
  } else {
    ++fuzz_prot_declined;
    return false;
  }
  ++fuzz_prot_faults;
  fuzz_prot_addr = addr_word(addr);
  fuzz_prot_write = is_write;
  if (prot_os_apply(po, page, addr_add(page, fuzz_prot_page), fix)
      != MPS_RES_OK)
    fuzz_prot_hook_failed = 1;
  return true;
}

static void fuzz_prot_client(int sig, siginfo_t *info, void *context)
{
  Word page = fuzz_prot_client_page;
  Word a = (Word)info->si_addr;
  size_t i;
  (void)context;
  if (page != 0 && a >= page && a < page + fuzz_prot_page) {
    ++fuzz_prot_client_faults;
    fuzz_prot_client_addr = a;
    if (mprotect((void *)page, fuzz_prot_page, PROT_READ | PROT_WRITE) != 0)
      fuzz_prot_hook_failed = 1;
    return;
  }
  /* Not the page we protected: a real crash.  Put the replaced action
   * back and let the access fault again, so the sanitizer reports it. */
  for (i = 0; i < 2; ++i)
    if (fuzz_prot_signal[i] == sig)
      (void)sigaction(sig, &fuzz_prot_below[i], NULL);
}

/* Once per process, before the fault module installs its handler (at
 * the first fault_register), so that ours is what it chains to. */
static void fuzz_prot_once(void)
{
  static bool done = false;
  struct sigaction sa;
  char name[] = "/tmp/fuzz_prot.XXXXXX";
  Byte buf[256];
  Index i;
  int fd;
  void *p;

  if (done)
    return;
  done = true;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fuzz_prot_client;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  for (i = 0; i < 2; ++i)
    if (sigaction(fuzz_prot_signal[i], &sa, &fuzz_prot_below[i]) != 0)
      abort();

  p = mmap(NULL, fuzz_prot_page, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANON, -1, 0);
  if (p == MAP_FAILED)
    abort();
  fuzz_prot_outside = addr_of_ptr(p);

  /* A page of known bytes, then opened again read-only and unlinked, so
   * nothing is left behind and no one can write it. */
  fd = mkstemp(name);
  if (fd < 0)
    abort();
  for (i = 0; i < sizeof buf; ++i)
    buf[i] = (Byte)(i * 7 + 3);
  for (i = 0; i < fuzz_prot_page; i += sizeof buf)
    if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
      abort();
  fuzz_prot_file = open(name, O_RDONLY);
  if (fuzz_prot_file < 0 || unlink(name) != 0 || close(fd) != 0)
    abort();
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

/* The model of the backends beyond the pages' modes. */
struct fuzz_prot_model {
  ProtMode mode[FUZZ_PROT_PAGES];
  Byte value[FUZZ_PROT_PAGES];
  Count sets;                   /* through fuzz_prot_po's table */
  ProtOSStruct other;           /* a backend that is made to fail */
  Count other_sets;
  Res other_failure;
};

static void fuzz_prot_compare(struct fuzz_prot_model *m)
{
  Index i;
  for (i = 0; i < FUZZ_PROT_PAGES; ++i) {
    Addr cell = fuzz_prot_cell(i);
    if (*(volatile Byte *)addr_ptr(cell) != m->value[i])
      abort();
    fuzz_prot_expect(fuzz_prot_read_faults(m->mode[i]), cell, false);
    fuzz_prot_set(i, 1, m->mode[i]);
    *(volatile Byte *)addr_ptr(cell) = m->value[i];
    fuzz_prot_expect(fuzz_prot_write_faults(m->mode[i]), cell, true);
    fuzz_prot_set(i, 1, m->mode[i]);
  }
  if (fuzz_prot_declined != 0 || fuzz_prot_client_faults != 0)
    abort();
  if (!prot_os_check(&fuzz_prot_po) || prot_os_failure(&fuzz_prot_po) != MPS_RES_OK
      || prot_os_sets(&fuzz_prot_po) != m->sets)
    abort();
  if (!prot_os_check(&m->other) || prot_os_failure(&m->other) != m->other_failure
      || prot_os_sets(&m->other) != m->other_sets)
    abort();
}

/* A set through the second backend's table, which is to fail with
 * `expected`: the first such failure is the one it keeps. */
static void fuzz_prot_other_set(struct fuzz_prot_model *m, Addr base,
                                Addr limit, ProtMode mode, Res expected)
{
  prot_set(&m->other.prot, base, limit, mode);
  ++m->other_sets;
  if (m->other_failure == MPS_RES_OK)
    m->other_failure = expected;
}

static void fuzz_prot_misuse(Index page, unsigned variant, unsigned arg)
{
  Index next = page + 1;  /* a page of the region, or its limit */
  Index off = 1 + (Index)arg * 61 % (fuzz_prot_page - 1);
  mps_lib_assert_fail_t old;
  unsigned reports;
  Res res;

  old = fuzz_reports_begin();
  switch (variant) {
  case 0:
    res = prot_os_apply(&fuzz_prot_po, fuzz_prot_at(page, off),
                        fuzz_prot_at(next, 0), PROT_DENY_ALL);
    break;
  case 1:
    res = prot_os_apply(&fuzz_prot_po, fuzz_prot_at(page, 0),
                        fuzz_prot_at(page, off), PROT_DENY_ALL);
    break;
  case 2:
    res = prot_os_apply(&fuzz_prot_po, fuzz_prot_at(page, 0),
                        fuzz_prot_at(page, 0), PROT_DENY_ALL);
    break;
  case 3:
    res = prot_os_apply(&fuzz_prot_po, fuzz_prot_at(next, 0),
                        fuzz_prot_at(page, 0), PROT_DENY_ALL);
    break;
  default:
    res = prot_os_apply(&fuzz_prot_po, fuzz_prot_at(page, 0),
                        fuzz_prot_at(next, 0), PROT_DENY_ALL + 1 + arg);
    break;
  }
  reports = fuzz_reports_end(old);
  if (res != MPS_RES_PARAM || reports != (CHECK_LEVEL >= 1 ? 1u : 0u))
    abort();
}

static void fuzz_prot_hole(struct fuzz_prot_model *m, unsigned arg, ProtMode mode)
{
  Byte *p = mmap(NULL, 2 * fuzz_prot_page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANON, -1, 0);
  Addr base, limit;
  /* Made afresh each time: a hole kept for long would be filled by the
   * next mmap of its size, the sanitizer's for one. */
  if (p == MAP_FAILED || munmap(p + fuzz_prot_page, fuzz_prot_page) != 0)
    abort();
  base = addr_of_ptr((arg & 1) ? p + fuzz_prot_page : p);
  limit = addr_of_ptr(p + 2 * fuzz_prot_page);
  if (arg & 2)
    fuzz_prot_other_set(m, base, limit, mode, MPS_RES_MEMORY);
  else if (prot_os_apply(&fuzz_prot_po, base, limit, mode) != MPS_RES_MEMORY)
    abort();
  if (munmap(p, fuzz_prot_page) != 0)
    abort();
}

static void fuzz_prot_file_op(struct fuzz_prot_model *m, unsigned arg,
                              ProtMode mode, Index off)
{
  Byte *p = mmap(NULL, fuzz_prot_page, PROT_READ, MAP_SHARED, fuzz_prot_file, 0);
  Addr base = addr_of_ptr(p), limit = addr_add(base, fuzz_prot_page);
  Res expected = mode == PROT_DENY_NONE ? MPS_RES_FAIL : MPS_RES_OK;
  Byte got;

  if (p == MAP_FAILED)
    abort();
  if ((arg & 1) && expected != MPS_RES_OK)
    fuzz_prot_other_set(m, base, limit, mode, expected);
  else if (prot_os_apply(&fuzz_prot_po, base, limit, mode) != expected)
    abort();
  fuzz_prot_extra_fix = PROT_DENY_WRITE;
  fuzz_prot_extra_base = addr_word(base);
  got = *(volatile Byte *)(p + off);
  fuzz_prot_extra_base = 0;
  if (got != (Byte)(off % 256 * 7 + 3))
    abort();
  /* A failure leaves the protection unspecified (prot_os.h). */
  if (expected == MPS_RES_OK)
    fuzz_prot_expect(fuzz_prot_read_faults(mode), addr_add(base, off), false);
  else if (fuzz_prot_hook_failed)
    abort();
  fuzz_prot_faults = 0;
  if (munmap(p, fuzz_prot_page) != 0)
    abort();
}

static void fuzz_prot_decline(unsigned arg, ProtMode mode, Byte v,
                              Byte *outside_value)
{
  Byte *cell = (Byte *)addr_ptr(fuzz_prot_outside) + 128;
  bool is_write = arg & 1;
  bool faults = is_write ? fuzz_prot_write_faults(mode)
                         : fuzz_prot_read_faults(mode);
  if (prot_os_apply(&fuzz_prot_po, fuzz_prot_outside,
                    addr_add(fuzz_prot_outside, fuzz_prot_page), mode)
      != MPS_RES_OK)
    abort();
  fuzz_prot_client_page = addr_word(fuzz_prot_outside);
  if (is_write) {
    *(volatile Byte *)cell = v;
    *outside_value = v;
  } else if (*(volatile Byte *)cell != *outside_value) {
    abort();
  }
  fuzz_prot_client_page = 0;
  if (fuzz_prot_hook_failed || fuzz_prot_faults != 0
      || fuzz_prot_declined != (faults ? 1u : 0u)
      || fuzz_prot_client_faults != (faults ? 1u : 0u))
    abort();
  if (faults && fuzz_prot_client_addr != (Word)cell)
    abort();
  fuzz_prot_declined = 0;
  fuzz_prot_client_faults = 0;
  if (*(volatile Byte *)cell != *outside_value)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct fuzz_prot_model model;
  struct fuzz_prot_model *m = &model;
  Byte outside_value = 0;
  FaultRegStruct reg;
  size_t i;

  fuzz_prot_page = vm_page_size();
  fuzz_prot_once();
  if (vm_init(&fuzz_prot_vm, FUZZ_PROT_PAGES * fuzz_prot_page, fuzz_prot_page)
      != MPS_RES_OK)
    abort();
  fuzz_prot_base = vm_base(&fuzz_prot_vm);
  if (vm_map(&fuzz_prot_vm, fuzz_prot_base, vm_limit(&fuzz_prot_vm)) != MPS_RES_OK)
    abort();
  if (prot_setup(prot_os_init(&fuzz_prot_po)) != MPS_RES_OK)
    abort();
  if (prot_setup(prot_os_init(&m->other)) != MPS_RES_OK)
    abort();
  for (i = 0; i < FUZZ_PROT_PAGES; ++i) {
    m->mode[i] = PROT_DENY_NONE;
    m->value[i] = 0;
  }
  m->sets = 0;
  m->other_sets = 0;
  m->other_failure = MPS_RES_OK;
  if (fault_register(&reg, fuzz_prot_hook, &fuzz_prot_po) != MPS_RES_OK)
    abort();
  fuzz_prot_faults = 0;
  fuzz_prot_hook_failed = 0;
  fuzz_prot_declined = 0;
  fuzz_prot_client_faults = 0;
  /* The outside page keeps its contents between inputs: start afresh. */
  if (mprotect(addr_ptr(fuzz_prot_outside), fuzz_prot_page,
               PROT_READ | PROT_WRITE) != 0)
    abort();
  ((volatile Byte *)addr_ptr(fuzz_prot_outside))[128] = 0;

  for (i = 0; i + 1 < size && i / 2 < FUZZ_PROT_OPS; i += 2) {
    unsigned op = data[i] & 3;
    ProtMode mode = (ProtMode)((data[i] >> 2) & 3);
    Byte v = (Byte)(data[i] >> 4);
    unsigned arg = data[i] >> 5;
    Index page = data[i + 1] % FUZZ_PROT_PAGES;
    Count pages = 1 + (Count)(data[i + 1] / FUZZ_PROT_PAGES) % (FUZZ_PROT_PAGES - page);
    Addr cell = fuzz_prot_cell(page);
    Count j;

    if (op == 3) {
      /* The rarer operations: bits 2-4 pick one, bits 5-7 are its
       * argument, the second byte its page and (or) mode. */
      ProtMode mode2 = (ProtMode)((data[i + 1] >> 4) & 3);
      switch ((data[i] >> 2) & 7) {
      case 0:
      case 1:
        prot_set(&fuzz_prot_po.prot, fuzz_prot_at(page, 0),
                 fuzz_prot_at(page + pages, 0), arg & 3);
        ++m->sets;
        for (j = page; j < page + pages; ++j)
          m->mode[j] = arg & 3;
        break;
      case 2:
        fuzz_prot_misuse(page, (data[i + 1] >> 2) % 5, arg);
        break;
      case 3:
        fuzz_prot_hole(m, arg, mode2);
        break;
      case 4:
        fuzz_prot_file_op(m, arg, mode2,
                          (Index)data[i + 1] * 13 % fuzz_prot_page);
        break;
      case 5:
        if (prot_os_system(fuzz_prot_at(page, 1 + (Index)arg * 509 % (fuzz_prot_page - 1)),
                           fuzz_prot_page, mode2) != MPS_RES_PARAM)
          abort();
        break;
      case 6:
        fuzz_prot_decline(arg, mode2, data[i + 1], &outside_value);
        break;
      default:
        fuzz_prot_set(page, pages, mode2);
        for (j = page; j < page + pages; ++j)
          m->mode[j] = mode2;
        break;
      }
    } else if (op == 0) {
      fuzz_prot_set(page, pages, mode);
      for (j = page; j < page + pages; ++j)
        m->mode[j] = mode;
    } else if (op == 1) {
      if (*(volatile Byte *)addr_ptr(cell) != m->value[page])
        abort();
      fuzz_prot_expect(fuzz_prot_read_faults(m->mode[page]), cell, false);
      if (fuzz_prot_read_faults(m->mode[page]))
        m->mode[page] = PROT_DENY_NONE;
    } else {
      *(volatile Byte *)addr_ptr(cell) = v;
      m->value[page] = v;
      fuzz_prot_expect(fuzz_prot_write_faults(m->mode[page]), cell, true);
      if (fuzz_prot_write_faults(m->mode[page]))
        m->mode[page] = PROT_DENY_NONE;
    }
    fuzz_prot_compare(m);
  }

  fault_unregister(&reg);
  prot_os_finish(&m->other);
  prot_os_finish(&fuzz_prot_po);
  vm_finish(&fuzz_prot_vm);
  return 0;
}
