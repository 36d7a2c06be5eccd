/* stress_prot.c: protection faults on several threads at once, against a
 * thread that keeps changing protection (src/protect/prot_os.h and
 * src/protect/fault.h).
 *
 * A region of PAGES pages is shared.  Each worker thread owns one word on
 * every page and, STEPS times, increments its word on a random page (a
 * read, then a write).  Meanwhile the protector thread denies writes, or
 * all access, to random runs of pages.  The hook, called on the faulting
 * thread, unprotects the faulting page and claims the fault; it is
 * thread-safe because it only makes a system call and counts with an
 * atomic.  A second hook, registered first, declines every fault, so
 * every fault also passes through a hook that does not handle it.
 *
 * At the end every worker's words must add up to STEPS: an increment lost
 * or repeated by a mishandled fault shows up.  The count of faults must be
 * positive, or nothing was tested.  Faults from outside the region would
 * be passed on to the default action and end the run.
 *
 * ThreadSanitizer copes: it runs the handler of a synchronous signal
 * (SIGSEGV) at once, on the faulting thread, and the hook's accesses are
 * an atomic and a system call.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../include/mpslib.h"
#include "../src/os/vm.h"
#include "../src/protect/fault.h"
#include "../src/protect/prot_os.h"
#include "support/testlib.h"
#include "support/testthr.h"

enum { WORKERS = 3, PAGES = 16, STEPS = 50000, YIELD_EVERY = 32 };

static vm_s region;
static ProtOSStruct po;
static Size page;
static Addr base;

static atomic_ulong faults;       /* claimed by the hook */
static atomic_ulong declined;     /* seen by the declining hook */
static atomic_ulong protections;  /* protections applied */
static atomic_int hook_failed;
static atomic_int workers_done;
static atomic_int protector_started;

static bool in_region(Addr addr)
{
  return addr_word(addr) >= addr_word(base)
         && addr_word(addr) < addr_word(vm_limit(&region));
}

static bool hook_unprotect(void *closure, Addr addr, bool is_write)
{
  ProtOS p = closure;
  Addr pg;
  UNUSED(is_write);
  if (!in_region(addr))
    return false;
  pg = addr_align_down(addr, page);
  if (prot_os_apply(p, pg, addr_add(pg, page), PROT_DENY_NONE) != MPS_RES_OK)
    /* Relaxed: a flag read after the threads are joined. */
    atomic_store_explicit(&hook_failed, 1, memory_order_relaxed);
  /* Relaxed: a count, read after the threads are joined. */
  atomic_fetch_add_explicit(&faults, 1, memory_order_relaxed);
  return true;
}

static bool hook_decline(void *closure, Addr addr, bool is_write)
{
  UNUSED(closure);
  UNUSED(is_write);
  if (in_region(addr))
    /* Relaxed: a count, read after the threads are joined. */
    atomic_fetch_add_explicit(&declined, 1, memory_order_relaxed);
  return false;
}

static volatile Word *word_of(Index worker, Index pg)
{
  return (volatile Word *)addr_ptr(
      addr_add(base, pg * page + worker * sizeof(Word)));
}

struct worker {
  Index index;
  testlib_rng_s rng;
};

static void *worker_main(void *arg)
{
  struct worker *w = arg;
  long i;
  /* Relaxed: only a start signal; it orders nothing. */
  while (!atomic_load_explicit(&protector_started, memory_order_relaxed))
    testthr_yield();
  for (i = 0; i < STEPS; ++i) {
    Index pg = (Index)testlib_rng_below(&w->rng, PAGES);
    volatile Word *word = word_of(w->index, pg);
    *word = *word + 1;
    if (i % YIELD_EVERY == 0)
      testthr_yield();      /* give the protector turns */
  }
  /* Release: pairs with the protector's acquire, though it only stops. */
  atomic_fetch_add_explicit(&workers_done, 1, memory_order_release);
  return NULL;
}

static void *protector_main(void *arg)
{
  testlib_rng_s *rng = arg;
  /* Relaxed: see worker_main. */
  atomic_store_explicit(&protector_started, 1, memory_order_relaxed);
  /* Acquire: see worker_main. */
  while (atomic_load_explicit(&workers_done, memory_order_acquire) < WORKERS) {
    Index first = (Index)testlib_rng_below(rng, PAGES);
    Count n = 1 + (Count)testlib_rng_below(rng, PAGES - first);
    ProtMode mode = testlib_rng_below(rng, 4) == 0 ? PROT_DENY_ALL : PROT_DENY_WRITE;
    Res res = prot_os_apply(&po, addr_add(base, first * page),
                            addr_add(base, (first + n) * page), mode);
    TESTLIB_REQUIRE(res == MPS_RES_OK);
    /* Relaxed: a count, read after the threads are joined. */
    atomic_fetch_add_explicit(&protections, 1, memory_order_relaxed);
    testthr_yield();
  }
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_prot");
  testthr_s thr[WORKERS + 1];
  struct worker w[WORKERS];
  testlib_rng_s prng;
  FaultRegStruct reg_decline, reg;
  Index i, pg;

  mps_lib_assert_fail_install(testlib_abort_on_report);
  page = vm_page_size();
  TESTLIB_REQUIRE(vm_init(&region, PAGES * page, page) == MPS_RES_OK);
  base = vm_base(&region);
  TESTLIB_REQUIRE(vm_map(&region, base, vm_limit(&region)) == MPS_RES_OK);
  TESTLIB_REQUIRE(prot_setup(prot_os_init(&po)) == MPS_RES_OK);
  TESTLIB_REQUIRE(fault_register(&reg_decline, hook_decline, NULL) == MPS_RES_OK);
  TESTLIB_REQUIRE(fault_register(&reg, hook_unprotect, &po) == MPS_RES_OK);

  testlib_rng_init(&prng, seed);
  for (i = 0; i < WORKERS; ++i) {
    w[i].index = i;
    testlib_rng_init(&w[i].rng, seed + 1 + i);
  }
  testthr_create(&thr[WORKERS], protector_main, &prng);
  for (i = 0; i < WORKERS; ++i)
    testthr_create(&thr[i], worker_main, &w[i]);
  for (i = 0; i <= WORKERS; ++i)
    testthr_join(&thr[i]);

  TESTLIB_REQUIRE(prot_os_apply(&po, base, vm_limit(&region), PROT_DENY_NONE)
                  == MPS_RES_OK);
  /* Relaxed: the joins ordered every update before these loads. */
  TESTLIB_REQUIRE(atomic_load_explicit(&hook_failed, memory_order_relaxed) == 0);
  for (i = 0; i < WORKERS; ++i) {
    Word sum = 0;
    for (pg = 0; pg < PAGES; ++pg)
      sum += *word_of(i, pg);
    if (sum != STEPS) {
      fprintf(stderr, "stress_prot: worker %u made %lu increments, not %d\n",
              (unsigned)i, (unsigned long)sum, STEPS);
      abort();
    }
  }
  TESTLIB_REQUIRE(atomic_load_explicit(&faults, memory_order_relaxed) > 0);
  TESTLIB_REQUIRE(atomic_load_explicit(&declined, memory_order_relaxed)
                  == atomic_load_explicit(&faults, memory_order_relaxed));

  fault_unregister(&reg);
  fault_unregister(&reg_decline);
  prot_os_finish(&po);
  vm_finish(&region);
  printf("stress_prot: %d workers x %d increments, %lu protections, "
         "%lu faults handled: ok\n", WORKERS, STEPS,
         atomic_load_explicit(&protections, memory_order_relaxed),
         atomic_load_explicit(&faults, memory_order_relaxed));
  return 0;
}
