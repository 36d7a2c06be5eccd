/* alloc_mvt.h: one MVT pool, allocation through an allocation point, frees
 * by mps_free with the (rounded) size.  The size hints describe the
 * workload's common blocks (most are 16..256 bytes); the maximum is the
 * documented default, so the rare larger blocks take MVT's large-block
 * path straight to the arena. */
#include "alloc_mps.h"
#include "../include/mpscmvt.h"

static const char bench_allocator[] = "mvt";
static mps_pool_t bench_pool;
static mps_ap_t bench_ap;

static void bench_init(void)
{
  mps_res_t res;
  bench_arena_create();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MIN_SIZE, 16);
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, 64);
    MPS_ARGS_ADD(args, MPS_KEY_MAX_SIZE, 8192);
    MPS_ARGS_ADD(args, MPS_KEY_ALIGN, BENCH_ALIGN);
    res = mps_pool_create_k(&bench_pool, bench_arena, mps_class_mvt(), args);
  } MPS_ARGS_END(args);
  if (res != MPS_RES_OK)
    bench_die("MVT pool", res);
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
