/* alloc_mvff_alloc.h: one MVFF pool with its defaults, mps_alloc and
 * mps_free (the pool rounds sizes up to its alignment itself). */
#include "alloc_mps.h"
#include "../include/mpscmvff.h"

static const char bench_allocator[] = "mvff-alloc";
static mps_pool_t bench_pool;

static void bench_init(void)
{
  mps_res_t res;
  bench_arena_create();
  res = bench_mvff_create(&bench_pool);
  if (res != MPS_RES_OK)
    bench_die("MVFF pool", res);
}

static void bench_finish(void)
{
  mps_pool_destroy(bench_pool);
  mps_arena_destroy(bench_arena);
}

static void *bench_alloc(size_t size)
{
  mps_addr_t p;
  mps_res_t res = mps_alloc(&p, bench_pool, size);
  if (res != MPS_RES_OK)
    bench_die("mps_alloc", res);
  return p;
}

static void bench_free(void *p, size_t size)
{
  mps_free(bench_pool, p, size);
}
