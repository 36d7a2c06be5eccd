/* transform.h: transforms -- replacing every reference to a set of old
 * objects by a reference to a matching new object, through a collection
 * (manual/topic/transform.rst, design/transform.txt).
 *
 * The public interface is mps_transform_create, _add_oldnew, _apply and
 * _destroy in mps.h.  A transform is a table of (old, new) pairs in the
 * arena's control memory.  Applying it first looks for ambiguous
 * references to the old objects (they cannot be changed, so the whole
 * transform is then refused and nothing changes), then runs a collection
 * of everything as a rewriting trace (trace.h) whose rewriter replaces
 * each old reference by its new one before the normal fix.
 */
#ifndef transform_h
#define transform_h

#include "gc.h"

#define TRANSFORM_SIG SIG_MAKE(0x180)

typedef struct mps_transform_s *Transform;

bool transform_check(Transform transform);

#endif /* transform_h */
