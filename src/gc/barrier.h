/* barrier.h: the write barrier, which keeps segment summaries true while
 * the mutator runs (design/write-barrier.txt, design/shield.txt).
 *
 * A segment's summary (seg.h) is the set of zones its references may
 * point into.  A scan computes one; the mutator can falsify it by storing
 * a reference, so a summary narrower than ZONE_SET_UNIV is kept only
 * while the segment is write-protected.  The first store into it faults;
 * the fault hook here widens the summary to ZONE_SET_UNIV and lowers the
 * protection, and the store runs again.  A collection then scans only the
 * segments whose summary meets the zones it condemned: the old generations
 * the mutator has not written since they were last scanned cost nothing.
 *
 * The rule barrier_update keeps (and seg_check checks): a segment is
 * write-protected (PROT_DENY_WRITE raised on its shield) exactly when
 *   the barrier is on, the segment has references (rank_set not empty),
 *   no buffer is attached (the mutator fills buffers without faults), and
 *   its summary is narrower than ZONE_SET_UNIV.
 * seg_set_summary stores ZONE_SET_UNIV in place of a narrower summary when
 * the other conditions do not hold, so a narrow summary is never left
 * unguarded.
 *
 * Deferral (design/write-barrier.txt, .deferral): protecting a segment
 * and taking its fault costs more than a scan that finds nothing, for a
 * segment the mutator keeps writing.  Each segment counts down scans that
 * found no reference to a condemned zone ("boring" ones); only when the
 * count reaches zero does the tracer keep the narrow summary and so raise
 * the barrier.  Creation, an "interesting" scan and a barrier hit reset
 * the count.
 *
 * The barrier is on only where protection is exact and cheap to ask for:
 * an arena of the VM class (whose memory the library mapped) with grains
 * of whole pages, on a platform with a hardware backend (prot_os.h) and a
 * free fault registration (fault.h).  Otherwise every summary stays
 * ZONE_SET_UNIV and every collection scans every segment with references,
 * as before the barrier existed.  CONFIG_BARRIER_NONE turns it off at
 * build time (to measure what it saves).
 *
 * The read barrier (incremental collection, trace.h).  While a trace runs
 * incrementally, the mutator is black: it holds no reference to a white
 * object.  A grey segment may hold such references, so from the flip
 * until it is scanned it is protected against every access (PROT_DENY_READ,
 * which the hardware turns into no access at all).  The rule: a segment is
 * read-protected exactly when
 *   the barrier is on, and the segment is grey for a trace in `reading`
 *   (the incremental traces past their flip).
 * A buffer does not exempt it, unlike the write barrier: only a buffer
 * filled before the flip can be on a grey segment (pools fill no buffer
 * from a grey one), the flip trapped it, and the mutator's first touch of
 * it scans the segment as any other access would.  The fault hook scans
 * the segment (trace_access), which blackens it and lowers the
 * protection; the access then runs again and sees fixed references.
 *
 * Clients: memory the barrier protects faults on a write by the mutator,
 * which is caught; but a system call asked to write into it (read(2) into
 * a formatted object that has references) fails with EFAULT instead.  Pass
 * system calls buffers outside the automatic pools, or in leaf-only pools
 * (AMCZ, LO), which are never protected.
 */
#ifndef barrier_h
#define barrier_h

#include <stdatomic.h>

#include "../base/base.h"
#include "../protect/fault.h"

/* Whether this build has a hardware barrier at all. */
#if (defined(PLATFORM_WIN32) || defined(PLATFORM_POSIX)) && !defined(CONFIG_BARRIER_NONE)
#define BARRIER_HARDWARE 1
#endif

/* Scans of a segment that must find nothing condemned before its barrier
 * is raised: after its creation, after a scan that found something, and
 * after a barrier hit.  A hit's count of 1 asks for no more than guarding
 * asks anyway (a segment is guarded again only from the summary of a
 * scan that found nothing condemned); it is there so that a larger value
 * would keep a segment the mutator writes to unguarded for longer, as
 * design/write-barrier.txt's deferral describes. */
#define BARRIER_DEFER_INIT 3
#define BARRIER_DEFER_DELAY 3
#define BARRIER_DEFER_HIT 1

/* The barrier's part of the collector's state (gc_s.barrier). */
typedef struct barrier_s {
  bool on;                  /* segments may be protected */
  bool registered;          /* reg is live (on may be cleared before) */
  FaultRegStruct reg;       /* the fault hook's registration */
  unsigned reading;         /* TraceSet (gc.h): traces whose grey segments
                               are read-protected */
  Count hits;               /* write faults handled */
  Count read_hits;          /* read barrier faults handled (segments scanned) */
  Count raises;             /* segments protected */
  Count skips;              /* segments with references a collection did
                               not scan, as their summary missed it */
  Size guarded;             /* bytes in protected segments */
  /* [lo, hi) holds every segment ever protected: the fault hook looks no
   * further, and takes no lock, for an address outside it (another
   * arena's fault, or a client's).  Only widened, under the arena lock;
   * read by the hook without it (barrier.c says why that is enough). */
  _Atomic(Word) lo, hi;
} barrier_s;

struct gc_s;
struct seg_s;

/* Whether a segment is read-protected by the rule above, and whether it
 * should be. */
bool barrier_wants_read(struct seg_s *seg);

/* Whether an arena would have a hardware barrier: then gc_get gives its
 * shield the hardware protection backend. */
bool barrier_wanted(Arena arena);
/* Turn the barrier on for gc (its shield's backend must be the hardware
 * one) if a fault registration is free; otherwise it stays off. */
void barrier_init(struct gc_s *gc);
/* With the arena lock held and every segment gone: stop handling faults.
 * Releases the lock while it waits for fault hooks that are running,
 * since those wait for the lock. */
void barrier_finish(struct gc_s *gc);
bool barrier_check(barrier_s *barrier);

/* Make the segment's protection agree with the rules above. */
void barrier_update(struct seg_s *seg);
/* What seg_set_summary should store for `summary` (see above). */
Word barrier_summary(struct seg_s *seg, Word summary);
/* A scan of seg has just found references into the condemned zones or
 * not: count it towards raising the barrier. */
void barrier_note_scan(struct seg_s *seg, bool interesting);
/* Whether a scan's summary may be kept (the count has run out). */
bool barrier_may_keep(struct seg_s *seg);
/* Lower every barrier (mps_arena_postmortem, or a backend that failed):
 * every summary becomes ZONE_SET_UNIV, nothing is read-protected, and the
 * barrier stays off.  The tracer finishes an incremental trace first
 * unless the arena is postmortem. */
void barrier_disable(struct gc_s *gc);

#endif /* barrier_h */
