/* gc.h: the collector's per-arena state, and the small types every
 * collector module shares (design/trace.txt, design/seg.txt,
 * design/scan.txt; manual/topic/collection.rst).
 *
 * Layering: src/gc/ sits between src/arena/ and src/pool/.  It knows
 * pools only as `Pool` (arena.h) and reaches pool-specific behaviour
 * through segment classes (seg.h), which the pool classes supply.  The
 * pool layer calls down into it (trace_poll from allocation, seg_alloc,
 * pool_gen accounting).
 *
 * The state hangs off the arena (arena->gc), made by gc_get on first use
 * and freed by the arena's gc_finish hook at mps_arena_destroy, which is
 * where the "everything was destroyed first" checks for roots, formats,
 * chains and threads happen.
 *
 * Everything here is touched only with the arena lock held.
 */
#ifndef gc_h
#define gc_h

#include "../arena/arena.h"
#include "../protect/shield.h"
#include "../thread/thread.h"
#include "barrier.h"
#include "gcevent.h"
#include "ld.h"
#include "pattern.h"

#define GC_SIG SIG_MAKE(0x120)

/* Ranks, in the order the tracer processes them (design/trace.txt): every
 * ambiguous reference is fixed before any exact one, every exact one
 * before any weak one.  RANK_FINAL is for finalization (issue 5). */
typedef enum rank_e {
  RANK_AMBIG = 0,     /* = mps_rank_ambig() */
  RANK_EXACT = 1,     /* = mps_rank_exact() */
  RANK_FINAL = 2,
  RANK_WEAK = 3,      /* = mps_rank_weak() */
  RANK_LIMIT = 4
} Rank;
typedef unsigned RankSet;           /* bit r set: rank r */
#define RANK_SET_EMPTY ((RankSet)0)
#define RANK_SET_SINGLE(r) ((RankSet)1 << (r))

/* Traces.  The structure allows TRACE_LIMIT concurrent traces, each a bit
 * in a TraceSet; this implementation runs one at a time (TRACE_LIMIT 1)
 * but every colour is a TraceSet so that more can be added. */
#define TRACE_LIMIT 1
typedef unsigned TraceId;
typedef unsigned TraceSet;
#define TRACE_SET_EMPTY ((TraceSet)0)
#define TRACE_SET_SINGLE(ti) ((TraceSet)1 << (ti))

/* Zones: the address space striped into WORD_WIDTH zones of
 * 2^zone_shift bytes (see mps_ss_s in mps.h).  A ZoneSet is a bit per
 * zone. */
typedef Word ZoneSet;
#define ZONE_SET_EMPTY ((ZoneSet)0)
#define ZONE_SET_UNIV (~(ZoneSet)0)
static inline Index zone_of_addr(Shift zone_shift, Addr addr)
{
  return (Index)((addr_word(addr) >> zone_shift) & (WORD_WIDTH - 1));
}
/* The zones overlapping [base, limit); base < limit. */
ZoneSet zone_set_of_range(Shift zone_shift, Addr base, Addr limit);

typedef struct trace_s *Trace;           /* trace.h */
typedef struct seg_s *Seg;               /* seg.h */
typedef struct mps_fmt_s *Format;        /* format.h */
typedef struct mps_root_s *Root;         /* root.h */
typedef struct mps_chain_s *Chain;       /* chain.h */
typedef struct pool_gen_s *PoolGen;      /* chain.h */
typedef struct mps_message_s *Message;   /* message.h */
typedef struct scan_state_s *ScanState;  /* trace.h */

/* The collector's state for one arena. */
typedef struct gc_s {
  Sig sig;
  Arena arena;
  Shift zone_shift;              /* see zones above */
  struct ring_s format_ring;     /* every format (format.c) */
  struct ring_s root_ring;       /* every root (root.c) */
  struct ring_s chain_ring;      /* every chain (chain.c) */
  struct ring_s seg_ring;        /* every segment (seg.c) */
  struct thread_set_s threads;   /* registered threads (mps_thread_reg) */
  struct ring_s thread_ring;     /* every mps_thr_s, for the final check */
  ShieldStruct shield;           /* every collector access to a segment */
  barrier_s barrier;             /* the write barrier's state (barrier.c) */
  struct ring_s grey_ring[RANK_LIMIT]; /* grey segments, by their rank */
  TraceSet busy_traces;          /* traces in progress */
  Count incremental_traces;      /* traces that ran incrementally (a statistic) */
  Trace traces[TRACE_LIMIT];     /* busy ones, else NULL */
  /* Room for each trace, made with the collector's state (gc.c), and the
   * gc_start and gc messages for the next trace, made after the last one
   * ended (or NULL: that trace posts none, design/message-gc.txt
   * .lifecycle): a collection never waits for memory to start, since it
   * is how memory is got back. */
  struct trace_s *trace_room;
  Message next_start_message, next_end_message;
  Count messages_dropped;        /* pairs not posted for want of memory */
  Chain default_chain;           /* for pools created without a chain */
  Chain top_chain;               /* the top generation (chain.h), or NULL */
  struct ring_s message_queue;   /* posted and not yet got (message.c) */
  struct ring_s message_held;    /* got and not yet discarded (message.c) */
  struct finalize_s *finalize;   /* registrations (finalize.c), or NULL */
  Word enabled_message_types;    /* bit per mps_message_type_t */
  Count roots_count, formats_count, chains_count, threads_count;
  Count root_serial, format_serial;
  bool in_collection;            /* collector work under way: no reentry */
  ld_history_s ld_history;       /* epochs and moved zones (ld.c) */
  pattern_arena_s pattern;       /* allocation patterns (pattern.c) */
  gcevent_s events;              /* telemetry kept back (gcevent.c) */
} gc_s;
typedef struct gc_s *GC;

/* The arena's collector state, made on first use.  MPS_RES_MEMORY (or
 * COMMIT_LIMIT) if it cannot be made; the arena is then unchanged. */
Res gc_get(GC *gc_o, Arena arena);
/* The state if it exists, else NULL (for paths that need nothing when no
 * collector object was ever made: allocation polling, destroy). */
static inline GC gc_of(Arena arena) { return arena->gc; }
bool gc_check(GC gc);
/* The zones where segments of generation gen (NULL: of none) should go:
 * the first generation of a chain apart from the later ones, so that
 * references from old segments to old objects miss the zones a minor
 * collection condemns, and their summaries let it skip them (barrier.h). */
ZoneSet gc_gen_zones(PoolGen gen);
/* Whether the hardware protection backend has had a call refused. */
bool gc_prot_failed(GC gc);

#endif /* gc_h */
