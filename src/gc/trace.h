/* trace.h: the tracer -- condemning, the flip, scanning grey segments and
 * roots in rank order, fixing references, reclaiming (design/trace.txt,
 * design/scan.txt, design/fix.txt, design/collection.txt,
 * design/strategy.txt).
 *
 * A trace is a state machine advanced by trace_step, one bounded step at
 * a time: the condemn, the flip, the roots of one rank band, one grey
 * segment, the move to the next band, or the reclaim.
 *
 *   INIT        made; nothing condemned yet
 *   UNFLIPPED   condemned: white segments chosen, white zone set known;
 *               every scannable non-white segment whose summary meets the
 *               white zones is grey
 *   FLIPPED     buffers trapped; the roots and grey segments of each rank
 *               band scanned in turn, lowest rank first
 *   RECLAIM     no grey segment left: white segments reclaimed
 *   FINISHED    statistics posted (gc message); the trace can be freed
 *
 * Every step runs with the mutator suspended (shield_hold).  A trace runs
 * either stop-the-world, from INIT to FINISHED within one arena entry, or
 * incrementally (design/collection.txt): the mutator runs again once the
 * ambiguous and exact roots are scanned, and later arena entries (polls
 * on allocation, mps_arena_step, and read barrier faults) take further
 * steps.  Between steps the mutator is black: it holds no reference to a
 * white object.  Grey segments may hold such references, so they are
 * read-protected (barrier.h), and a fault scans the segment before the
 * access goes on.  The mutator allocates black: pools attach buffers only
 * to segments that are neither white nor grey (seg.h, incremental).
 * trace.c says when a trace may run incrementally.
 *
 * The scan state (ScanState) is what scan methods receive as mps_ss_t:
 * the public mps_ss_s comes first.
 */
#ifndef trace_h
#define trace_h

#include "gc.h"

#define TRACE_SIG SIG_MAKE(0x128)
#define SCAN_STATE_SIG SIG_MAKE(0x129)

/* A rewriting trace (trace_collect_rewriting, for transform.c): every
 * reference fixed at a rank above ambiguous is first offered to the
 * TraceRewrite, which may replace it; the normal fix then applies to
 * whatever it leaves.  The TraceRewriteStart is called once, when the
 * first scan state of the trace is made: after the condemn, before any
 * reference is fixed.  If it returns false the trace goes on as a plain
 * collection. */
typedef bool (*TraceRewriteStart)(void *closure, Trace trace);
typedef void (*TraceRewrite)(void *closure, Addr *ref_io);

/* What a trace condemns: every collectable segment, or the generations
 * chain_due reports for each chain. */
typedef enum trace_condemn_e {
  TRACE_CONDEMN_ALL,
  TRACE_CONDEMN_DUE
} TraceCondemn;

typedef enum trace_state_e {
  TRACE_INIT,
  TRACE_UNFLIPPED,
  TRACE_FLIPPED,
  TRACE_RECLAIM,
  TRACE_FINISHED
} TraceState;

typedef struct trace_s {
  Sig sig;
  Arena arena;
  TraceId ti;
  TraceState state;
  const char *why;              /* reason, for the gc_start message */
  ZoneSet white;                /* zones of the condemned segments */
  Rank band;                    /* rank being scanned after the flip */
  bool band_rooted;             /* the roots of the band are scanned */
  TraceCondemn how;             /* what to condemn */
  bool want_incremental;        /* asked to run incrementally */
  bool incremental;             /* runs incrementally (decided at the condemn) */
  Size work;                    /* bytes of segments scanned */
  Size step_left;               /* what trace_advance's budget has left */
  Size condemned;               /* bytes condemned */
  Size not_condemned;           /* bytes in collectable pools not condemned */
  Size preserved_in_place;      /* bytes kept where they were */
  Size forwarded;               /* bytes copied */
  Count segs_scanned, roots_scanned, fixes, copies, nails;
  Message start_message, end_message;  /* to post, or NULL (gc.h) */
  TraceRewriteStart rewrite_start;  /* not yet called, else NULL */
  TraceRewrite rewrite;         /* NULL unless a rewriting trace */
  void *rewrite_closure;
} trace_s;

typedef struct scan_state_s {
  struct mps_ss_s ss_s;         /* first: an mps_ss_t is a ScanState */
  Sig sig;
  Arena arena;
  Trace trace;
  TraceSet traces;              /* the traces this scan is for */
  Rank rank;                    /* of the references being scanned */
  ZoneSet white;                /* = trace->white (also ss_s._w) */
  ZoneSet fixed_summary;        /* zones of the references after fixing */
  bool was_marked;              /* set by fix: referent already preserved */
  Count fixes;                  /* calls to the fix method */
  TraceRewrite rewrite;         /* the trace's, above the ambiguous rank */
  void *rewrite_closure;
} scan_state_s;

bool trace_check(Trace trace);
bool scan_state_check(ScanState ss);

/* The scan state as the client sees it and back. */
static inline mps_ss_t scan_state_public(ScanState ss) { return &ss->ss_s; }
static inline ScanState scan_state_of(mps_ss_t mps_ss)
{
  return PARENT(scan_state_s, ss_s, mps_ss);
}

/* Set up a scan state for `trace` at `rank` (trace may be NULL for walks
 * that only visit references). */
void scan_state_init(ScanState ss, Arena arena, Trace trace, Rank rank);
void scan_state_finish(ScanState ss);
/* The zones the references scanned so far point into, once fixed: a
 * summary for what was scanned (seg_set_summary). */
ZoneSet scan_state_summary(ScanState ss);

/* The generic fix: find the segment, ignore references to non-white
 * ones, else call the segment class's fix. */
Res trace_fix(ScanState ss, Addr *ref_io);

/* For pools: record that a copy or an in-place preservation happened,
 * and that a segment became grey because of it. */
void trace_note_forwarded(Trace trace, Size size);
void trace_note_preserved(Trace trace, Size size);

/* Called on allocation slow paths (mps_ap_fill, mps_alloc) with the
 * arena lock held: start and run a collection if a generation is due and
 * the arena is unclamped.  Never fails: a collection that cannot start
 * for lack of memory is skipped. */
void trace_poll(Arena arena);

/* Run a collection of everything now as a rewriting trace (above).  The
 * caller holds the arena lock, no collection is running, and the arena is
 * not postmortem.  MPS_RES_* if the trace cannot be made, with nothing
 * changed and `start` not called.  If the caller is inside the shield
 * (holding the mutator), what a collection does on leaving it is left to
 * the caller: on MPS_RES_OK, `after_o` is filled in for
 * trace_after_leave, to be called once the caller has left. */
typedef struct trace_after_s {
  bool started, ended;       /* the trace started, ended, in this work */
  Word start[2], end[2];     /* the telemetry events' words */
} trace_after_s;
Res trace_collect_rewriting(Arena arena, TraceRewriteStart start, TraceRewrite rewrite,
                            void *closure, trace_after_s *after_o);
/* What follows a collection once the mutator runs again: the collection's
 * telemetry events, with those its work kept back (gcevent.h), and
 * turning the barrier off if the system refused a protection change. */
void trace_after_leave(Arena arena, const trace_after_s *after);

/* Finish the busy trace, if any, now (mps_arena_park, and whatever needs
 * a heap no trace is working on: walks, pool destruction).  The caller
 * holds the arena lock and is outside the collector. */
void trace_park(Arena arena);

/* Whether the arena is in the parked state as arena.rst defines it: the
 * clamped state with no collection in progress.  mps_arena_park gets
 * there, but so does clamping (or stepping) an arena with no trace busy.
 * Walks and transforms need only that nothing can move meanwhile. */
bool trace_arena_is_parked(Arena arena);

/* The read barrier's fault (barrier.c): the mutator touched `seg`, grey
 * for an incremental trace past its flip; or SNC's fill is about to give
 * the mutator such a segment (pool_snc.c).  Scan it, which blackens it
 * and lowers its read protection.  The caller holds the arena lock and is
 * outside the collector. */
void trace_access(Arena arena, Seg seg);

/* The busy trace, or NULL (pools: e.g. AMC's buffer fill for forwarding
 * must know the trace). */
Trace trace_current(Arena arena);

#endif /* trace_h */
