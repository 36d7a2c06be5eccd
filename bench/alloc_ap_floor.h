/* alloc_ap_floor.h: the allocation-point protocol over mimalloc (see
 * ap_floor.c): the client's side is mvff-ap's, word for word (the
 * mps_reserve / mps_commit macros, mps_free with the rounded size), and
 * the pool behind it is mimalloc's mi_malloc / mi_free. */
#define BENCH_NO_ARENA   /* alloc_mps.h: no arena here */
#include "alloc_mps.h"

static const char bench_allocator[] = "ap-floor";
static mps_ap_s floor_ap_s;   /* a point needs only its three fields here */
static mps_ap_t bench_ap;

/* The point is set here, not in an initializer, so that the client loads
 * it as mvff-ap's does rather than using a constant address. */
static void bench_init(void)
{
  bench_ap = &floor_ap_s;
}

static void bench_finish(void)
{
}

static void *bench_alloc(size_t size)
{
  return bench_ap_alloc(bench_ap, bench_round(size));
}

static void bench_free(void *p, size_t size)
{
  mps_free(NULL, p, bench_round(size));
}
