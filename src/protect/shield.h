/* shield.h: the shield, which gives the collector the illusion of its own
 * view of memory, separate from the mutator's (see design/shield.txt).
 *
 * Each arena has one shield.  The collector enters it (shield_enter) when
 * it enters the arena and leaves it (shield_leave) on the way out.  Inside,
 * it may:
 *   - raise or lower the shield on a segment for some accesses
 *     (shield_raise, shield_lower): the mutator is to be denied, or again
 *     allowed, those accesses.  Raises and lowers do not nest: a mode is
 *     raised at most once before it is lowered.
 *   - expose a segment for its own access and cover it again
 *     (shield_expose, shield_cover), which nest;
 *   - hold the mutator suspended while it touches memory that cannot be
 *     protected (shield_hold, shield_release).
 * Hardware protection changes are deferred while the mutator is suspended:
 * segments waiting for theirs sit in a bounded queue, which is sorted and
 * flushed, with adjacent segments coalesced into one protection call, when
 * it fills, on shield_flush, and on leaving.
 *
 * The shield suspends and resumes the mutator through hooks its client
 * supplies (the threads module, later); it changes protection through a
 * protection backend (prot.h).
 *
 * Segments are described by a `struct shield_seg_s`, which the segment
 * module embeds.  It has no signature of its own (it is always part of a
 * signed segment) but has a check function.  Every segment is registered
 * with its shield between shield_seg_init and shield_seg_finish.
 */
#ifndef shield_h
#define shield_h

#include "../base/base.h"
#include "../data/ring.h"
#include "prot.h"

/* How many segments may wait for a protection change before the queue is
 * flushed. */
#define SHIELD_QUEUE_LIMIT 32

typedef struct shield_seg_s *ShieldSeg;

typedef struct shield_seg_s {
  Addr base, limit;     /* the memory: base < limit */
  ProtMode pm;          /* protection applied through the backend */
  ProtMode sm;          /* protection the shield wants: the raised modes */
  Count depth;          /* exposes minus covers */
  bool queued;          /* in the shield's queue */
  struct ring_s node;   /* in the shield's ring of segments */
} ShieldSegStruct;

/* Suspend or resume every mutator thread. */
typedef void (*ShieldMutatorFn)(void *closure);

typedef struct shield_s *Shield;

typedef struct shield_s {
  Sig sig;
  Prot prot;                  /* the protection backend */
  ShieldMutatorFn suspend, resume;
  void *closure;              /* passed to suspend and resume */
  bool inside;                /* between shield_enter and shield_leave */
  bool suspended;             /* the mutator is suspended */
  Count holds;                /* shield_hold minus shield_release */
  Count depth;                /* total depth over all segments */
  Count unsynced;             /* segments with pm != sm */
  Count segs;                 /* segments registered */
  struct ring_s seg_ring;     /* the registered segments */
  Count queued;               /* entries used in queue */
  ShieldSeg queue[SHIELD_QUEUE_LIMIT];
} ShieldStruct;

/* `prot` must have been set up (prot_setup).  suspend and resume are
 * called in pairs, each pair within one enter/leave. */
void shield_init(Shield shield, Prot prot, ShieldMutatorFn suspend,
                 ShieldMutatorFn resume, void *closure);
/* Outside the shield, with every segment finished. */
void shield_finish(Shield shield);
bool shield_check(Shield shield);
/* shield_check plus the invariants that need a walk over every segment
 * (linear in the number of segments; for tests and for enter/leave in
 * cool). */
bool shield_check_segs(Shield shield);

/* Register [base, limit) with the shield: unshielded, unprotected. */
void shield_seg_init(Shield shield, ShieldSeg seg, Addr base, Addr limit);
/* Unregister a segment whose shield is lowered and which is covered. */
void shield_seg_finish(Shield shield, ShieldSeg seg);
bool shield_seg_check(ShieldSeg seg);

void shield_enter(Shield shield);
/* Needs every exposure covered and every hold released.  Applies every
 * deferred protection change and resumes the mutator. */
void shield_leave(Shield shield);

/* `mode` is a non-empty set of PROT_DENY_* bits not already raised. */
void shield_raise(Shield shield, ShieldSeg seg, ProtMode mode);
/* `mode` is a non-empty set of PROT_DENY_* bits currently raised. */
void shield_lower(Shield shield, ShieldSeg seg, ProtMode mode);

/* Expose and cover are called around every access the collector makes to
 * a segment's memory: for AMC, around every fix of a condemned object and
 * every copy.  Most find nothing to do but count the depths: expose, when
 * no protection is applied and either none is wanted or the mutator is
 * suspended already; cover, when it leaves the segment synced or already
 * queued.  Those are inline here; the rest goes to shield_expose_full
 * and shield_cover_full (checks, suspension, protection, queue), as does
 * everything in cool, which checks the invariants each time.  (docs/performance.md, session 19: a quarter of
 * stop-the-world AMC's instructions on bench/gc's mutate went to these
 * calls.) */
void shield_expose_full(Shield shield, ShieldSeg seg);
void shield_cover_full(Shield shield, ShieldSeg seg);

static inline void shield_expose(Shield shield, ShieldSeg seg)
{
  if (CHECK_LEVEL < 2 && seg->pm == PROT_DENY_NONE
      && (seg->sm == PROT_DENY_NONE || shield->suspended)) {
    ++seg->depth;
    ++shield->depth;
    return;
  }
  shield_expose_full(shield, seg);
}

static inline void shield_cover(Shield shield, ShieldSeg seg)
{
  if (CHECK_LEVEL < 2 && seg->depth > 1) {
    --seg->depth;
    --shield->depth;
    return;
  }
  if (CHECK_LEVEL < 2 && seg->depth == 1 && (seg->sm == seg->pm || seg->queued)) {
    /* Covered for the last time, and synced or waiting in the queue
     * already: nothing to queue. */
    seg->depth = 0;
    --shield->depth;
    return;
  }
  shield_cover_full(shield, seg);
}

/* Take the hardware protection off segs[0..n) with one protection call,
 * ahead of exposing each: they touch (each one's limit the next one's
 * base), none is exposed, and all have the same protection applied, not
 * none.  The mutator is suspended for it, and they wait in the queue for
 * their protection to be applied again, as covered segments do, so that
 * exposing one later costs no call.  At most SHIELD_QUEUE_LIMIT / 2. */
void shield_lower_run(Shield shield, ShieldSeg *segs, Count n);

void shield_hold(Shield shield);
void shield_release(Shield shield);

/* Apply the protection changes waiting in the queue. */
void shield_flush(Shield shield);

/* Inquiries, for the collector's checks and for tests. */
bool shield_is_inside(Shield shield);
bool shield_is_suspended(Shield shield);
Count shield_queue_length(Shield shield);
/* The queued segments that have no protection applied now but want some
 * (a lowered run, or covered ones waiting for the flush): the collector
 * can still touch them without a protection call.  Up to `max` of them in
 * segs_o; returns how many. */
Count shield_queue_unprotected(Shield shield, ShieldSeg *segs_o, Count max);

#endif /* shield_h */
