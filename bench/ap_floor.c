/* ap_floor.c: the least an allocation point can cost, for the "ap-floor"
 * row of bench/run.sh.  It defines the three library functions the
 * benchmark's allocation-point client calls (mps_ap_fill, mps_ap_trip and
 * mps_free, with their mps.h prototypes) over mimalloc, doing nothing a
 * pool would not have to: a fill hands out a region of exactly the size
 * reserved, as MVFF's does (docs/performance.md, "What MVFF does now"),
 * and a free goes straight to mi_free.  No arena, no checks, no pool.
 *
 * It is compiled on its own, like the library, so that the client's
 * calls are real calls.  The row's time against mimalloc's is what the
 * documented protocol (reserve inline, fill out of line, commit inline)
 * costs a client whose pool is as fast as mimalloc: a floor under
 * mvff-ap's ratio.  It is never linked with src/mps.c. */
#include <mimalloc.h>

#include "../include/mps.h"

mps_res_t mps_ap_fill(mps_addr_t *p_o, mps_ap_t ap, size_t size)
{
  char *p = mi_malloc(size);
  if (p == NULL)
    return MPS_RES_MEMORY;
  ap->init = p;
  ap->alloc = p + size;
  ap->limit = p + size;
  *p_o = p;
  return MPS_RES_OK;
}

/* Never called: nothing traps the point, so every commit succeeds inline. */
mps_bool_t mps_ap_trip(mps_ap_t ap, mps_addr_t p, size_t size)
{
  (void)ap;
  (void)p;
  (void)size;
  return 1;
}

void mps_free(mps_pool_t pool, mps_addr_t addr, size_t size)
{
  (void)pool;
  (void)size;
  mi_free(addr);
}
