/* stress_vm.c: several threads reserving, mapping, writing, unmapping and
 * releasing their own VMs at once (src/os/vm.h).
 *
 * VMs share no state, so what this exercises is the operating system's
 * handling of concurrent changes to one address space: every thread checks
 * that its pages keep what it wrote, that fresh pages read zero (so no
 * other thread's memory ever shows up in its range), and that vm_mapped
 * agrees with its own record.  A shared counter of mapped bytes must be
 * back at zero when everyone has finished.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/os/vm.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define THREADS 4
#define ROUNDS 48
#define OPS 40
#define MAX_PAGES 64

static Size page;

/* Bytes mapped by all threads.  Relaxed: it is only a tally; the final
 * read happens after every thread is joined, which orders it. */
static atomic_size_t total_mapped;
static atomic_size_t peak_mapped;
static atomic_ulong maps_done;

typedef struct worker_s {
  testthr_s thread;
  unsigned id;
  uint64_t seed;
} worker_s;

typedef struct state_s {
  vm_s vm;
  Count pages;
  bool mapped[MAX_PAGES];
  Byte mark[MAX_PAGES];   /* what the page's first and last bytes hold */
} state_s;

static Byte *page_ptr(state_s *s, Index i)
{
  return (Byte *)addr_ptr(addr_add(vm_base(&s->vm), i * page));
}

static void note_mapped(Size delta, bool add)
{
  if (add) {
    Size now = atomic_fetch_add_explicit(&total_mapped, delta,
                                         memory_order_relaxed) + delta;
    /* Relaxed: a statistic only, read after the joins. */
    Size peak = atomic_load_explicit(&peak_mapped, memory_order_relaxed);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&peak_mapped, &peak, now,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
      ;
  } else {
    Size before = atomic_fetch_sub_explicit(&total_mapped, delta,
                                            memory_order_relaxed);
    TESTLIB_REQUIRE(before >= delta);
  }
}

static void verify(state_s *s)
{
  Count mapped = 0;
  Index i;
  TESTLIB_REQUIRE(vm_check(&s->vm));
  for (i = 0; i < s->pages; ++i) {
    Byte *p;
    if (!s->mapped[i])
      continue;
    ++mapped;
    p = page_ptr(s, i);
    TESTLIB_REQUIRE(p[0] == s->mark[i]);
    TESTLIB_REQUIRE(p[page - 1] == s->mark[i]);
  }
  TESTLIB_REQUIRE(vm_mapped(&s->vm) == mapped * page);
}

static void map_run(state_s *s, Index first, Count count, Byte mark)
{
  Index i, end = first;
  while (end < s->pages && end < first + count && !s->mapped[end])
    ++end;
  if (end == first)
    return;
  TESTLIB_REQUIRE(vm_map(&s->vm, addr_add(vm_base(&s->vm), first * page),
                         addr_add(vm_base(&s->vm), end * page)) == MPS_RES_OK);
  note_mapped((end - first) * page, true);
  atomic_fetch_add_explicit(&maps_done, 1, memory_order_relaxed); /* tally */
  for (i = first; i < end; ++i) {
    Byte *p = page_ptr(s, i);
    TESTLIB_REQUIRE(p[0] == 0 && p[page / 2] == 0 && p[page - 1] == 0);
    p[0] = mark;
    p[page - 1] = mark;
    s->mapped[i] = true;
    s->mark[i] = mark;
  }
}

static void unmap_run(state_s *s, Index first, Count count)
{
  Index i, end = first;
  while (end < s->pages && end < first + count && s->mapped[end])
    ++end;
  if (end == first)
    return;
  vm_unmap(&s->vm, addr_add(vm_base(&s->vm), first * page),
           addr_add(vm_base(&s->vm), end * page));
  note_mapped((end - first) * page, false);
  for (i = first; i < end; ++i)
    s->mapped[i] = false;
}

static void *worker(void *arg)
{
  worker_s *w = arg;
  testlib_rng_s rng;
  unsigned round;
  testlib_rng_init(&rng, w->seed);

  for (round = 0; round < ROUNDS; ++round) {
    state_s s = {0};
    /* Grains up to 32 pages, beyond the 64 KiB granularity of Windows
     * reservations, so that the aligning slack is exercised there too. */
    Size grain = page << testlib_rng_below(&rng, 6);
    Size size = (Size)(testlib_rng_below(&rng, MAX_PAGES / 2) + 8) * page;
    unsigned op;
    TESTLIB_REQUIRE(vm_init(&s.vm, size, grain) == MPS_RES_OK);
    TESTLIB_REQUIRE(addr_is_aligned(vm_base(&s.vm), grain));
    s.pages = addr_offset(vm_base(&s.vm), vm_limit(&s.vm)) / page;
    TESTLIB_REQUIRE(s.pages * page >= size && s.pages <= MAX_PAGES);

    for (op = 0; op < OPS; ++op) {
      Index first = (Index)testlib_rng_below(&rng, s.pages);
      Count count = (Count)testlib_rng_below(&rng, 8) + 1;
      /* Marks are never zero and differ between threads and rounds. */
      Byte mark = (Byte)(1 + (w->id * 61 + round * 7 + op) % 255);
      if (testlib_rng_below(&rng, 3) != 0)
        map_run(&s, first, count, mark);
      else
        unmap_run(&s, first, count);
      verify(&s);
    }

    /* Release some pages explicitly and the rest with the reservation. */
    if (round % 2 == 0) {
      Index i;
      for (i = 0; i < s.pages; ++i)
        if (s.mapped[i])
          unmap_run(&s, i, 1);
      TESTLIB_REQUIRE(vm_mapped(&s.vm) == 0);
    } else {
      note_mapped(vm_mapped(&s.vm), false);
    }
    vm_finish(&s.vm);
  }
  return NULL;
}

int main(int argc, char **argv)
{
  worker_s workers[THREADS];
  uint64_t seed = testlib_seed(argc, argv, "stress_vm");
  unsigned i;

  page = vm_page_size();
  TESTLIB_REQUIRE(size_is_p2(page));
  atomic_init(&total_mapped, 0);
  atomic_init(&peak_mapped, 0);
  atomic_init(&maps_done, 0);

  for (i = 0; i < THREADS; ++i) {
    workers[i].id = i;
    workers[i].seed = seed ^ ((uint64_t)(i + 1) * 0x9E3779B97F4A7C15u);
    testthr_create(&workers[i].thread, worker, &workers[i]);
  }
  for (i = 0; i < THREADS; ++i)
    testthr_join(&workers[i].thread);

  /* Relaxed: the joins above order every thread's updates before this. */
  TESTLIB_REQUIRE(atomic_load_explicit(&total_mapped, memory_order_relaxed) == 0);
  printf("stress_vm: %d threads x %d VMs, %lu maps, peak %zu KiB mapped, "
         "all returned\n", THREADS, ROUNDS,
         atomic_load_explicit(&maps_done, memory_order_relaxed),
         atomic_load_explicit(&peak_mapped, memory_order_relaxed) / 1024);
  return 0;
}
