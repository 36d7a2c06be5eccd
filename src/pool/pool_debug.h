/* pool_debug.h: debugging pool classes -- fenceposts and free-space
 * splatting layered over a manual pool class (manual/topic/debugging.rst,
 * design/object-debug.txt).
 *
 * A debugging class is made from a base class (one with alloc/free and
 * optionally allocation points).  An instance is the base instance,
 * padded, followed by the debugging state; the debugging methods wrap the
 * base methods.  The base class needs no cooperation: everything the
 * debugging layer knows about blocks and free space it learns from the
 * calls that pass through it.
 *
 * Reports.  A damaged fencepost or damaged free space is reported through
 * the assertion handler (check_fail) in every variety, with a message
 * naming the first damaged byte and the length of the damaged run:
 *
 *   "fencepost overwritten at 0x<hex> (<n> bytes), block 0x<hex> size <n>"
 *   "free space overwritten at 0x<hex> (<n> bytes)"
 *
 * One report per maximal run of damaged bytes in one fence or one
 * recorded free range.  The memory is not repaired, so damage that is
 * still there is reported again by the next check, except damage found
 * by the check before memory may go back to the arena (below): that
 * leaves the record, or every later free would report it again.
 *
 * A free the class refuses -- a fenced block freed with another size,
 * free memory freed again, a free reaching into a fenced block -- is
 * reported the same way in every variety (naming the condition that
 * failed), and changes nothing.
 *
 * Release.  The free template is also checked when memory goes back to
 * the arena (topic/debugging.rst), which the base class does inside its
 * own methods.  The debugging layer cannot see that moment, and after it
 * the memory may be unmapped, so it checks beforehand, at each free or
 * buffer empty that might make the base give memory back, all the
 * recorded free memory the base could give.  When that might happen is
 * the base class's rule, which its debugging class states.
 */
#ifndef pool_debug_h
#define pool_debug_h

#include <stdatomic.h>

#include "pool.h"

#define POOL_DEBUG_CLASS_SIG SIG_MAKE(0xE0)
#define POOL_DEBUG_SIG SIG_MAKE(0xE1)

/* The start of both messages, for clients that parse reports. */
#define POOL_DEBUG_FENCE_REPORT "fencepost overwritten at 0x"
#define POOL_DEBUG_FREE_REPORT "free space overwritten at 0x"

/* A debugging class.  Static storage (zeroed) until it is first made
 * ready by pool_debug_class_ensure; from then on constant. */
typedef struct pool_debug_class_s {
  pool_class_s klass;        /* first: pool->klass of a debug pool is this */
  Sig sig;
  PoolClass base;            /* the class whose methods do the work */
  Size offset;               /* of the debugging state in an instance */
  atomic_bool ready;         /* klass, base and offset are filled in */
} pool_debug_class_s;
typedef pool_debug_class_s *PoolDebugClass;

bool pool_debug_class_check(PoolDebugClass dc);

/* Every invariant of a debugging pool, those that take walks of its
 * records too (see pool_debug.c): for tests and fuzz targets, with the
 * arena lock held.  Splays the records' trees. */
bool pool_debug_check_deep(Pool pool);

/* Make `dc` (zero-initialized static storage) a debugging class over
 * `base` called `name`, once, and return it.  A base that gives memory
 * back to the arena before it is destroyed must call pool_before_release
 * (pool.h) first, so that free space is checked before it goes.  Safe to call from several threads at once:
 * the first one fills it in under the global lock. */
mps_pool_class_t pool_debug_class_ensure(PoolDebugClass dc, PoolClass base,
                                         const char *name);

#endif /* pool_debug_h */
