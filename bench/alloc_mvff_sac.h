/* alloc_mvff_sac.h: one MVFF pool with its defaults behind a segregated
 * allocation cache (topic/cache.rst), through the MPS_SAC_ALLOC_FAST and
 * MPS_SAC_FREE_FAST macros: the documented way to put a malloc-like
 * interface on a manual pool (guide/malloc.rst).  A cache has at most
 * MPS_SAC_CLASS_LIMIT (8) classes, and a block takes its whole class, so
 * the classes are a trade: exact for the commonest sizes (16 to 64
 * bytes, 70% of blocks), then 128 and 256, then 1 and 4 KiB, which
 * waste up to half of a block.  Larger blocks are "overlarge" and go
 * straight to the pool.  Each class caches up to 256 blocks. */
#include "alloc_mps.h"
#include "../include/mpscmvff.h"

static const char bench_allocator[] = "mvff-sac";
static mps_pool_t bench_pool;
static mps_sac_t bench_sac;

static void bench_init(void)
{
  static const size_t sizes[] = {16, 32, 48, 64, 128, 256, 1024, 4096};
  mps_sac_class_s classes[sizeof sizes / sizeof sizes[0]];
  mps_res_t res;
  size_t i;
  bench_arena_create();
  res = bench_mvff_create(&bench_pool);
  if (res != MPS_RES_OK)
    bench_die("MVFF pool", res);
  for (i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
    classes[i].mps_block_size = sizes[i];
    classes[i].mps_cached_count = 256;
    classes[i].mps_frequency = 1;
  }
  res = mps_sac_create(&bench_sac, bench_pool, sizeof sizes / sizeof sizes[0], classes);
  if (res != MPS_RES_OK)
    bench_die("mps_sac_create", res);
}

static void bench_finish(void)
{
  mps_sac_destroy(bench_sac);
  mps_pool_destroy(bench_pool);
  mps_arena_destroy(bench_arena);
}

static void *bench_alloc(size_t size)
{
  mps_addr_t p;
  mps_res_t res;
  MPS_SAC_ALLOC_FAST(res, p, bench_sac, bench_round(size), 0);
  if (res != MPS_RES_OK)
    bench_die("mps_sac_alloc", res);
  return p;
}

static void bench_free(void *p, size_t size)
{
  MPS_SAC_FREE_FAST(bench_sac, p, bench_round(size));
}
