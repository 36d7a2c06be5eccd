/* alloc_mfs.h: a size-class front of MFS pools for blocks up to 4 KiB,
 * and one MVFF pool (mps_alloc / mps_free) behind it for larger blocks,
 * which MFS cannot serve without wasting most of a unit.  Classes: every
 * 16 bytes up to 128, then four per doubling up to 4096 (28 pools), so a
 * block wastes at most a quarter of its class.  MFS keeps its memory
 * until the pool is destroyed, so each class holds its own peak. */
#include "alloc_mps.h"
#include "../include/mpscmfs.h"
#include "../include/mpscmvff.h"

#define BENCH_MFS_MAX 4096
#define BENCH_MFS_CLASSES 28

static const char bench_allocator[] = "mfs+mvff";
static mps_pool_t bench_class_pool[BENCH_MFS_CLASSES];
static size_t bench_class_size[BENCH_MFS_CLASSES];
/* The class of a size, indexed by the size in 16-byte units rounded up. */
static unsigned char bench_class_of[BENCH_MFS_MAX / 16 + 1];
static mps_pool_t bench_large;

static void bench_init(void)
{
  size_t n = 0, size, step, i, c;
  mps_res_t res;
  bench_arena_create();
  for (size = 16; size <= 128; size += 16)
    bench_class_size[n++] = size;
  for (step = 32, size = 128; size < BENCH_MFS_MAX; step *= 2)
    for (i = 0; i < 4; ++i)
      bench_class_size[n++] = size += step;
  if (n != BENCH_MFS_CLASSES || bench_class_size[n - 1] != BENCH_MFS_MAX)
    bench_die("MFS class table", (int)n);
  for (c = 0; c < n; ++c) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, bench_class_size[c]);
      res = mps_pool_create_k(&bench_class_pool[c], bench_arena, mps_class_mfs(), args);
    } MPS_ARGS_END(args);
    if (res != MPS_RES_OK)
      bench_die("MFS pool", res);
  }
  for (i = 0, c = 0; i <= BENCH_MFS_MAX / 16; ++i) {
    while (bench_class_size[c] < i * 16)
      ++c;
    bench_class_of[i] = (unsigned char)c;
  }
  res = bench_mvff_create(&bench_large);
  if (res != MPS_RES_OK)
    bench_die("MVFF pool", res);
}

static void bench_finish(void)
{
  size_t c;
  for (c = 0; c < BENCH_MFS_CLASSES; ++c)
    mps_pool_destroy(bench_class_pool[c]);
  mps_pool_destroy(bench_large);
  mps_arena_destroy(bench_arena);
}

static void *bench_alloc(size_t size)
{
  mps_addr_t p;
  mps_res_t res;
  if (size <= BENCH_MFS_MAX) {
    unsigned c = bench_class_of[(size + 15) / 16];
    res = mps_alloc(&p, bench_class_pool[c], bench_class_size[c]);
  } else {
    res = mps_alloc(&p, bench_large, size);
  }
  if (res != MPS_RES_OK)
    bench_die("mps_alloc", res);
  return p;
}

static void bench_free(void *p, size_t size)
{
  if (size <= BENCH_MFS_MAX) {
    unsigned c = bench_class_of[(size + 15) / 16];
    mps_free(bench_class_pool[c], p, bench_class_size[c]);
  } else {
    mps_free(bench_large, p, size);
  }
}
