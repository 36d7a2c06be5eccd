/* alloc_mvff_ap.h: one MVFF pool with its defaults, allocation through an
 * allocation point, frees by mps_free with the (rounded) size. */
#include "alloc_mps.h"
#include "../include/mpscmvff.h"

static const char bench_allocator[] = "mvff-ap";
static mps_pool_t bench_pool;
static mps_ap_t bench_ap;

static void bench_init(void)
{
  mps_res_t res;
  bench_arena_create();
  res = bench_mvff_create(&bench_pool);
  if (res != MPS_RES_OK)
    bench_die("MVFF pool", res);
  res = mps_ap_create_k(&bench_ap, bench_pool, mps_args_none);
  if (res != MPS_RES_OK)
    bench_die("allocation point", res);
}

static void bench_finish(void)
{
  mps_ap_destroy(bench_ap);
  mps_pool_destroy(bench_pool);
  mps_arena_destroy(bench_arena);
}

static void *bench_alloc(size_t size)
{
  return bench_ap_alloc(bench_ap, bench_round(size));
}

static void bench_free(void *p, size_t size)
{
  mps_free(bench_pool, p, bench_round(size));
}
