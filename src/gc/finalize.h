/* finalize.h: finalization -- registering objects, and the collector's
 * side: posting a finalization message for a registered object the
 * collector finds otherwise unreachable (manual/topic/finalization.rst,
 * design/finalize.txt; design/poolmrg.txt describes the original's
 * guardians, which this replaces with a ring of preallocated messages).
 */
#ifndef finalize_h
#define finalize_h

#include "gc.h"

#define FINALIZE_SIG SIG_MAKE(0x140)

/* The arena's registrations (gc->finalize), made at the first
 * mps_finalize. */
typedef struct finalize_s *Finalize;

bool finalize_check(Finalize finalize);

/* The tracer calls this after the roots of each rank band: at RANK_EXACT
 * it fixes the object of every finalization message that is queued or
 * held (they stay alive and follow a move); at RANK_FINAL it fixes every
 * registration and posts the message of each one whose object that fix
 * was the first to preserve. */
void finalize_scan(Trace trace, Rank rank);

/* Before `pool` is destroyed (no trace running): drop its registrations
 * without a message, and stop fixing the references of queued or held
 * finalization messages for its objects (see finalize.c). */
void finalize_pool_destroy(Pool pool);

/* Free every registration (arena destroy; the MPS does not finalize
 * then, finalization.rst). */
void finalize_finish(Arena arena);

#endif /* finalize_h */
