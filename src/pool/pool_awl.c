/* pool_awl.c: the AWL (Automatic Weak Linked) pool class
 * (design/poolawl.txt; manual/pool/awl.rst, topic/weak.rst,
 * guide/advanced.rst).
 *
 * AWL is the mark-and-sweep engine of pool_ams.c (pool_ams.h) with two
 * differences:
 *   - allocation points may be weak (MPS_KEY_RANK mps_rank_weak()): the
 *     objects they allocate live in segments of rank set {weak}, which
 *     the tracer scans in the weak band, after every strong reference has
 *     been fixed, so that a fix of a reference to an object no strong
 *     reference kept returns NULL (the engine's weak fix, and AMC's);
 *   - each object may have a dependent object, found by the client's
 *     MPS_KEY_AWL_FIND_DEPENDENT method, which the format's scan method may
 *     write to while it scans the object (typically to delete the value
 *     of a weak key that was splatted).  The engine scans AWL objects one
 *     at a time through awl_scan_object, which exposes the segment holding
 *     the dependent object for the duration of that one scan and marks the
 *     segment's summary universal, since the client may write anything
 *     into it (design/poolawl.txt, .fun.scan.pass.repeat.object.dependent).
 * A dependent object outside the arena's segments needs no exposing.
 *
 * The dependent object's segment may be under the write barrier, or grey
 * and read-protected during an incremental trace: the exposure lets the
 * scan at it either way.  A weak segment the mutator touches during an
 * incremental trace is scanned at once, at the exact rank (trace.c,
 * trace_access_rank), so its references to objects that die in this trace
 * are cut by the next one.
 *
 * Invariants (awl_check; the engine's are in pool_ams.c):
 *   1. the pool is an engine pool of kind AWL whose scan hook is
 *      awl_scan_object;
 *   2. find_dependent is never NULL (the default finds none).
 */
#include "../../include/mpscawl.h"
#include "../base/args.h"
#include "../gc/seg.h"
#include "../gc/trace.h"
#include "pool_ams.h"

#define AWL_SIG SIG_MAKE(0x150)

typedef struct awl_s {
  ams_s ams;                   /* first: an AWL pool is an engine pool */
  Sig sig;
  mps_awl_find_dependent_t find_dependent;
} awl_s;
typedef struct awl_s *AWL;

static struct mps_pool_class_s awl_pool_class_s;

static inline AWL awl_of_ams(AMS ams) { return PARENT(awl_s, ams, ams); }

bool awl_check(AWL awl);

static Res awl_scan_object(AMS ams, Seg seg, ScanState ss, Addr base, Addr limit,
                           bool *total_io);

bool awl_check(AWL awl)
{
  CHECKS(AWL_SIG, awl);
  CHECKD(ams, &awl->ams);
  CHECKL(awl->ams.pool.klass == &awl_pool_class_s);                          /* 1 */
  CHECKL(awl->ams.kind == AMS_KIND_AWL);
  CHECKL(awl->ams.scan_object == awl_scan_object);
  CHECKL(awl->find_dependent != NULL);                                       /* 2 */
  return true;
}

static bool awl_pool_check(Pool pool)
{
  return awl_check(awl_of_ams(ams_of_pool(pool)));
}

/* The default of MPS_KEY_AWL_FIND_DEPENDENT (awl.rst): no dependent. */
static mps_addr_t awl_no_dependent(mps_addr_t addr)
{
  UNUSED(addr);
  return NULL;
}

/* Scan one object, its dependent object's segment exposed. */
static Res awl_scan_object(AMS ams, Seg seg, ScanState ss, Addr base, Addr limit,
                           bool *total_io)
{
  AWL awl = awl_of_ams(ams);
  Format format = ams->format;
  Shield shield = &seg->arena->gc->shield;
  Addr client = format_client(format, base);
  Addr dependent = addr_of_ptr((*awl->find_dependent)(addr_ptr(client)));
  Seg dseg = NULL;
  Res res;

  AVER_CRITICAL(awl->sig == AWL_SIG);
  if (dependent != NULL && seg_of_addr(&dseg, seg->arena, dependent)) {
    shield_expose(shield, &dseg->shield);
    /* The scan may write anything there (.dependent.summary). */
    if (dseg->rank_set != RANK_SET_EMPTY)
      seg_set_summary(dseg, ZONE_SET_UNIV);
    /* ... including into the segment being scanned, behind the scan
     * state's back. */
    if (dseg == seg)
      *total_io = false;
  } else {
    dseg = NULL;   /* outside the arena: nothing to expose */
  }
  res = (*format->scan)(scan_state_public(ss), addr_ptr(client),
                        addr_ptr(format_client(format, limit)));
  if (dseg != NULL)
    shield_cover(shield, &dseg->shield);
  return res;
}

static Res awl_init(Pool pool, mps_arg_s args[])
{
  mps_awl_find_dependent_t find_dependent = awl_no_dependent;
  AWL awl = awl_of_ams(ams_of_pool(pool));
  mps_arg_s arg;
  Res res;

  AVERT(args, args);
  if (args_pick(&arg, args, MPS_KEY_AWL_FIND_DEPENDENT)) {
    find_dependent = (mps_awl_find_dependent_t)arg.val.addr_method;
    AVER(find_dependent != NULL);
    if (find_dependent == NULL)
      return MPS_RES_PARAM;
  }
  /* awl.rst takes MPS_KEY_RANK on allocation points, not pools; one given
   * here anyway must at least be a rank those points could have, so that
   * a mistaken value is refused like the other bad keyword values. */
  if (args_pick(&arg, args, MPS_KEY_RANK)
      && arg.val.rank != RANK_EXACT && arg.val.rank != RANK_WEAK)
    return MPS_RES_PARAM;
  /* Signed before the engine is set up, which checks the pool once its
   * own part is signed (and so calls awl_pool_check). */
  awl->find_dependent = find_dependent;
  awl->sig = AWL_SIG;
  /* awl.rst: the format needs scan and skip methods. */
  res = ams_init_engine(pool, args, AMS_KIND_AWL, "sk", awl_scan_object);
  if (res != MPS_RES_OK) {
    awl->sig = SIG_INVALID;
    return res;
  }
  AVERT(awl, awl);
  return MPS_RES_OK;
}

static void awl_finish(Pool pool)
{
  AWL awl = awl_of_ams(ams_of_pool(pool));
  AVERT(awl, awl);
  awl->sig = SIG_INVALID;
  ams_finish(pool);
}

/* Designated initializers: methods not named here are NULL. */
static struct mps_pool_class_s awl_pool_class_s = {
  .sig = POOL_CLASS_SIG, .name = "AWL", .size = sizeof(awl_s),
  .init = awl_init, .finish = awl_finish,
  /* no mps_alloc / mps_free */
  .buffer_fill = ams_buffer_fill, .buffer_empty = ams_buffer_empty,
  .total_size = ams_total_size, .free_size = ams_free_size,
  .check = awl_pool_check
};

mps_pool_class_t mps_class_awl(void)
{
  return &awl_pool_class_s;
}
