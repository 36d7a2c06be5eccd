/* alloc_mps.h: what the MPS variants share: one virtual memory arena with
 * its defaults, and sizes rounded up to the natural alignment (the pools'
 * default alignment, and what malloc guarantees), which the client must
 * do itself for an allocation point and passes back to mps_free. */
#include "../include/mps.h"
#include "../include/mpsavm.h"

static inline size_t bench_round(size_t size)
{
  return (size + MPS_PF_ALIGN - 1) & ~(size_t)(MPS_PF_ALIGN - 1);
}

#ifndef BENCH_NO_ARENA
static mps_arena_t bench_arena;

static void bench_arena_create(void)
{
  mps_res_t res = mps_arena_create_k(&bench_arena, mps_arena_class_vm(), mps_args_none);
  if (res != MPS_RES_OK)
    bench_die("mps_arena_create_k", res);
}
#endif

/* Allocate through an allocation point: the inline reserve/commit macros.
 * A manual pool has no collector to trap the point, so the commit
 * succeeds at once; the loop is the protocol every client writes. */
static inline void *bench_ap_alloc(mps_ap_t ap, size_t size)
{
  mps_addr_t p;
  do {
    mps_res_t res = mps_reserve(&p, ap, size);
    if (res != MPS_RES_OK)
      bench_die("mps_reserve", res);
  } while (!mps_commit(ap, p, size));
  return p;
}
