/* alloc_mps.h: what the MPS variants share: one virtual memory arena with
 * its defaults, and sizes rounded up to BENCH_ALIGN, which the client
 * must do itself for an allocation point and passes back to mps_free. */
#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvff.h"

/* The alignment every allocator here gives: what malloc guarantees on the
 * 64-bit platforms the benchmark runs on.  The pools are asked for it
 * (MPS_KEY_ALIGN), since their default, MPS_PF_ALIGN, is the original
 * MPS's 8 on most of them. */
#define BENCH_ALIGN ((size_t)16)

static inline size_t bench_round(size_t size)
{
  return (size + BENCH_ALIGN - 1) & ~(BENCH_ALIGN - 1);
}

#ifndef BENCH_NO_ARENA
static mps_arena_t bench_arena;

/* An MVFF pool with its defaults but the alignment. */
static inline mps_res_t bench_mvff_create(mps_pool_t *pool_o)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ALIGN, BENCH_ALIGN);
    res = mps_pool_create_k(pool_o, bench_arena, mps_class_mvff(), args);
  } MPS_ARGS_END(args);
  return res;
}

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
