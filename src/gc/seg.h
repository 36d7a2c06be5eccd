/* seg.h: segments -- the unit of memory the collector colours, scans,
 * protects and reclaims (design/seg.txt).
 *
 * A segment is a run of whole grains owned by one pool.  Each grain's
 * tract points at it (tract->p), so seg_of_addr finds it from any address
 * in it, including interior ones, in constant time after the chunk.
 *
 * Pools subclass segments: a pool's segment structure begins with a
 * seg_s, and its SegClass gives the collector the pool-specific methods
 * (whiten, scan, fix, reclaim, walks).  This is how the tracer, below the
 * pool layer, calls pool code.
 *
 * Colour (per trace, a TraceSet each):
 *   white  condemned: objects not yet shown reachable may die;
 *   grey   may refer to white objects and must be scanned;
 *   nailed has ambiguous references into it, so objects are not moved.
 * A segment is grey for a trace only if its rank_set is not empty.
 * Every grey segment is on gc->grey_ring[r] of the lowest rank r in its
 * rank_set, so the tracer finds work in rank order.
 *
 * The summary is the set of zones the segment's references may point
 * into.  Only a scan makes it smaller, and a narrower summary than
 * ZONE_SET_UNIV is kept only under the write barrier (barrier.h), which
 * widens it again when the mutator writes.  With summary ∩ white = ∅ a
 * non-white segment need not be scanned.
 *
 * Every collector access to a segment's memory goes through the shield
 * (seg->shield, shield_expose / shield_cover).
 */
#ifndef seg_h
#define seg_h

#include "gc.h"

#define SEG_SIG SIG_MAKE(0x121)
#define SEG_CLASS_SIG SIG_MAKE(0x122)

typedef struct seg_class_s *SegClass;
typedef struct buffer_s *Buffer;     /* pool/buffer.h */

/* The visitor of a formatted-objects walk (mps_arena_formatted_objects_walk
 * style): called on the client address of every object. */
typedef void (*SegObjectVisitor)(Addr obj, Format format, Pool pool, void *p, Size s);

typedef struct seg_class_s {
  Sig sig;
  const char *name;
  Size size;     /* of the pool's segment structure, seg_s first */
  /* Whether a trace may move the objects of a condemned segment (location
   * dependency counts an epoch only for traces that condemn such). */
  bool moves;
  /* Whether a trace condemning or greying segments of this class may run
   * incrementally (trace.c): its pool never fills a buffer from a white
   * or grey segment, so what the mutator allocates during a trace is
   * black, and it touches a segment's memory only through the shield, so
   * the read barrier never faults inside the pool. */
  bool incremental;
  /* Set up / tear down the class's part of a new segment (its generic
   * part is ready).  finish may be NULL. */
  Res (*init)(Seg seg, Pool pool);
  void (*finish)(Seg seg);
  /* Condemn the segment for `trace`: make it white (seg_set_white) and
   * set up whatever the pool needs to preserve or copy survivors, or
   * decline (leave it unchanged, e.g. because a buffer is attached), and
   * add the condemned bytes to *condemned_io. */
  Res (*whiten)(Seg seg, Trace trace, Size *condemned_io);
  /* Scan the segment's objects with ss (its rank is ss->rank).  Set
   * *total_o to whether every reference in the segment was scanned (so
   * that ss's summary becomes the segment's summary).  The tracer has
   * exposed the segment; the pool blackens it (seg_set_grey(seg, EMPTY)),
   * or leaves it grey if more work appeared in it (e.g. objects copied in
   * by this very scan), in which case the tracer scans it again. */
  Res (*scan)(bool *total_o, Seg seg, ScanState ss);
  /* Fix *ref_io, a reference into this white segment (ss->rank says how:
   * ambiguous fixes never change *ref_io; weak fixes set it to 0 for a
   * dead referent).  NULL for classes that are never condemned. */
  Res (*fix)(Seg seg, ScanState ss, Addr *ref_io);
  /* Free what is still white at the end of the trace; keep survivors.
   * May free the segment itself (seg_free). */
  void (*reclaim)(Seg seg, Trace trace);
  /* Call `visit` on every object (formatted pools; NULL otherwise). */
  void (*walk)(Seg seg, Format format, SegObjectVisitor visit, void *p, Size s);
  /* Call `visit(ss, base, limit, closure)` on areas of formatted objects
   * (mps_pool_walk); NULL if not formatted. */
  Res (*area_walk)(Seg seg, mps_area_scan_t visit, void *closure, ScanState ss);
  /* The client address of the object containing addr (mps_addr_object);
   * MPS_RES_FAIL if none; NULL if the class cannot tell. */
  Res (*addr_object)(Addr *p_o, Seg seg, Addr addr);
  /* Keep every object of this white segment where it is for ss's trace,
   * exact fixes included (trace.c, trace_pin); NULL if the class never
   * moves objects. */
  void (*pin)(Seg seg, ScanState ss);
} seg_class_s;

/* The fields every fix reads (seg_of_addr, trace_fix, the classes' fix
 * methods) come first, in the first 64 bytes on 64-bit targets, so that a
 * fix of a reference into a random segment misses on fewer lines of its
 * descriptor (docs/performance.md, the sweep round). */
typedef struct seg_s {
  Sig sig;
  SegClass klass;
  Pool pool;
  Addr base, limit;           /* grain-aligned; base < limit */
  Buffer buffer;              /* the buffer filling from it, or NULL */
  TraceSet white, grey, nailed;
  RankSet rank_set;           /* ranks of its references; EMPTY: a leaf */
  Arena arena;
  struct ring_s pool_ring;    /* the pool's own list (the pool's to use) */
  struct ring_s gc_ring;      /* in gc->seg_ring */
  struct ring_s grey_ring;    /* in gc->grey_ring[rank] while grey */
  PoolGen gen;                /* its generation (chain.h), or NULL */
  struct ring_s gen_ring;     /* in gen->segs while gen is not NULL */
  ZoneSet summary;            /* see above */
  unsigned wb_defer;          /* boring scans before a barrier (barrier.h) */
  ShieldSegStruct shield;     /* its protection state */
} seg_s;

bool seg_class_check(SegClass klass);
bool seg_check(Seg seg);

/* Make a segment of `size` bytes (a positive multiple of the grain size)
 * for `pool`, of class `klass`, with rank set `rank_set` and generation
 * `gen` (may be NULL; seg_alloc adds the segment to it with
 * pool_gen_seg_add, and seg_free removes it).  Memory from arena_alloc,
 * the structure from arena control memory.  Resource failures return a
 * result and leave nothing. */
Res seg_alloc(Seg *seg_o, SegClass klass, Pool pool, Size size, RankSet rank_set,
              PoolGen gen);
/* Free a segment that is neither grey, attached to a buffer, nor exposed. */
void seg_free(Seg seg);

/* The segment containing `addr`, if any: the fix path's lookup. */
bool seg_of_addr(Seg *seg_o, Arena arena, Addr addr);

static inline Size seg_size(Seg seg) { return addr_offset(seg->base, seg->limit); }
static inline Arena seg_arena(Seg seg) { return seg->arena; }

/* The lowest rank in a non-empty rank set: the grey ring a segment of
 * that rank set is on, and so the rank a step scans it at. */
Rank seg_lowest_rank(RankSet rank_set);

/* Colour changes keep the grey rings in step. */
void seg_set_grey(Seg seg, TraceSet grey);
void seg_set_white(Seg seg, TraceSet white);
void seg_set_nailed(Seg seg, TraceSet nailed);
void seg_set_rank_set(Seg seg, RankSet rank_set);
/* seg_set_grey and these three keep the barriers' rules (barrier.h): the
 * last three may store a wider summary than they were given, and each may
 * raise or lower the protection. */
void seg_set_summary(Seg seg, ZoneSet summary);
void seg_set_buffer(Seg seg, Buffer buffer);

#endif /* seg_h */
