/* pool_ams.h: the non-moving mark-and-sweep engine shared by the AMS
 * (scanned objects) and LO (leaf objects) pool classes (design/poolams.txt,
 * design/poollo.txt; manual/pool/ams.rst, pool/lo.rst).
 *
 * The classes keep formatted objects in segments with per-grain bit
 * tables, never move them, and free unmarked objects at reclaim.  They
 * differ in whether objects are scanned (AMS and AWL segments have grey
 * objects and a rank set of one rank, the rank of the allocation point
 * that filled them; LO segments are leaves, whose marked objects are black
 * at once), in the ranks their allocation points may have (AMS: exact, or
 * ambiguous when the pool supports ambiguous references; AWL: exact or
 * weak -- design/poolawl.txt), in what the format must supply, and, for
 * AWL, in a hook around the scan of each object (scan_object, which
 * exposes the object's dependent object).  pool_ams.c holds the engine and
 * the AMS classes; pool_lo.c and pool_awl.c make the LO and AWL classes
 * from the pool methods below.
 */
#ifndef pool_ams_h
#define pool_ams_h

#include "../gc/chain.h"
#include "../gc/format.h"
#include "pool.h"

#define AMS_SIG SIG_MAKE(0x130)
#define AMS_SEG_SIG SIG_MAKE(0x131)

/* Which class the engine serves: what it scans and which keys it takes. */
typedef enum ams_kind_e {
  AMS_KIND_AMS,                /* scanned; MPS_KEY_AMS_SUPPORT_AMBIGUOUS */
  AMS_KIND_LO,                 /* leaves */
  AMS_KIND_AWL                 /* scanned; weak allocation points */
} AMSKind;

typedef struct ams_s *AMS;

/* How many objects a scan may set aside to scan itself (see defer). */
#define AMS_DEFER_MAX 256

typedef struct ams_defer_s {
  Seg seg;                     /* white, not grey for the scan's trace */
  Index i;                     /* the object's first grain, marked */
} ams_defer_s;

/* Scan the one object whose memory is [base, limit) in `seg` (exposed)
 * with ss.  Clear *total_io if the scan may have written references into
 * `seg` that ss did not fix (the summary the tracer would compute from ss
 * would then be wrong). */
typedef Res (*AMSScanObject)(AMS ams, Seg seg, ScanState ss, Addr base, Addr limit,
                             bool *total_io);

typedef struct ams_s {
  mps_pool_s pool;             /* first: a Pool is an AMS */
  Sig sig;
  Format format;
  Shift grain_shift;           /* log2 of the pool's alignment: one bit per grain */
  Chain chain;
  pool_gen_s pgen;             /* the one generation it allocates in */
  AMSKind kind;
  bool scannable;              /* AMS, AWL: true; LO: false (leaves) */
  /* NULL: runs of objects go to the format's scan method whole; else each
   * object is scanned alone through this hook (AWL). */
  AMSScanObject scan_object;
  bool support_ambiguous;      /* MPS_KEY_AMS_SUPPORT_AMBIGUOUS */
  Size seg_size;               /* size of an ordinary new segment */
  struct ring_s seg_ring;      /* every segment, by seg->pool_ring */
  Count seg_count;
  Size total;                  /* bytes in segments */
  Size free;                   /* bytes in free grains */
  /* The fill cursor: the next fill searches fill_seg from grain
   * fill_index first, then the other segments in ring order (NULL: start
   * at the first segment).  See ams_buffer_fill. */
  Seg fill_seg;
  Index fill_index;
  /* Grains the fill searches have passed over, a measure of their work
   * that tests compare with what was allocated (the fill must stay
   * amortised linear: see ams_buffer_fill). */
  Count fill_searched;
  /* While a scan of one of the pool's segments runs (AMS only), its scan
   * state; NULL otherwise.  An object that scan marks in an exact white
   * segment that has been scanned already and is not grey goes on defer
   * instead of greying the segment again, and the scan scans it itself
   * before it returns (ams_drain).  Otherwise the segment would turn grey,
   * be read-protected and fault in the mutator, again and again as
   * marking reached more of its objects (mutate in bench/gc: four faults
   * a segment a collection).  A segment not scanned yet is left to be
   * greyed and scanned whole, in address order, which its first scan
   * does better than a stack would.  defer_count is 0 outside such a
   * scan. */
  ScanState defer_ss;
  Count defer_count;
  ams_defer_s defer[AMS_DEFER_MAX];
  /* AMS debug only: free grains hold this template (NULL: not debugging). */
  Byte *free_template;
  Size free_template_size;
} ams_s;

bool ams_check(AMS ams);

static inline AMS ams_of_pool(Pool pool) { return PARENT(ams_s, pool, pool); }

/* Set up the engine for `pool`: takes MPS_KEY_FORMAT (which must have the
 * methods `needs`, see format_acquire), MPS_KEY_CHAIN, MPS_KEY_GEN and,
 * for AMS, MPS_KEY_AMS_SUPPORT_AMBIGUOUS; sets pool->ap_rank_set for the
 * kind; scan_object is the hook (NULL: none).  On failure nothing is
 * left. */
Res ams_init_engine(Pool pool, mps_arg_s args[], AMSKind kind, const char *needs,
                    AMSScanObject scan_object);

/* Pool methods shared by the classes. */
void ams_finish(Pool pool);
Res ams_buffer_fill(Addr *base_o, Addr *limit_o, Pool pool, Buffer buffer, Size size);
void ams_buffer_empty(Pool pool, Buffer buffer, Addr init, Addr limit);
Size ams_total_size(Pool pool);
Size ams_free_size(Pool pool);
bool ams_pool_check(Pool pool);

#endif /* pool_ams_h */
