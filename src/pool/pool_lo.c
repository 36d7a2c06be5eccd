/* pool_lo.c: the LO (Leaf Object) pool class (design/poollo.txt;
 * manual/pool/lo.rst).
 *
 * LO is AMS without scanning: the same non-moving mark-and-sweep engine
 * (pool_ams.h, pool_ams.c) with leaf segments (an empty rank set), so the
 * collector never scans them, a fixed object is black at once, and the
 * format needs only a skip method.  Ambiguous references are always
 * allowed: they keep the object containing them, checked against the
 * allocation table.  Everything else -- allocation points, generations,
 * walks, reclaim -- is the engine's, and its invariants are LO's
 * (pool_ams.c); LO adds none.
 */
#include "../../include/mpsclo.h"
#include "pool_ams.h"

static Res lo_init(Pool pool, mps_arg_s args[])
{
  /* manual/pool/lo.rst: the format must provide a skip method. */
  return ams_init_engine(pool, args, AMS_KIND_LO, "k", NULL);
}

/* Designated initializers: methods not named here are NULL. */
static struct mps_pool_class_s lo_pool_class_s = {
  .sig = POOL_CLASS_SIG, .name = "LO", .size = sizeof(ams_s),
  .init = lo_init, .finish = ams_finish,
  /* no mps_alloc / mps_free */
  .buffer_fill = ams_buffer_fill, .buffer_empty = ams_buffer_empty,
  .total_size = ams_total_size, .free_size = ams_free_size,
  .check = ams_pool_check
};

mps_pool_class_t mps_class_lo(void)
{
  return &lo_pool_class_s;
}
