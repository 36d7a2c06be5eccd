/* pool_ams.h: the non-moving mark-and-sweep engine shared by the AMS
 * (scanned objects) and LO (leaf objects) pool classes (design/poolams.txt,
 * design/poollo.txt; manual/pool/ams.rst, pool/lo.rst).
 *
 * Both classes keep formatted objects in segments with per-grain bit
 * tables, never move them, and free unmarked objects at reclaim.  They
 * differ only in whether objects are scanned (AMS segments have rank set
 * {exact} and grey objects; LO segments are leaves, whose marked objects
 * are black at once) and in what the format must supply.  pool_ams.c holds
 * the engine and the AMS classes; pool_lo.c makes the LO class from the
 * pool methods below.
 */
#ifndef pool_ams_h
#define pool_ams_h

#include "../gc/chain.h"
#include "../gc/format.h"
#include "pool.h"

#define AMS_SIG SIG_MAKE(0x130)
#define AMS_SEG_SIG SIG_MAKE(0x131)

typedef struct ams_s {
  mps_pool_s pool;             /* first: a Pool is an AMS */
  Sig sig;
  Format format;
  Shift grain_shift;           /* log2 of the pool's alignment: one bit per grain */
  Chain chain;
  pool_gen_s pgen;             /* the one generation it allocates in */
  bool scannable;              /* AMS: true; LO: false (leaves) */
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
  /* AMS debug only: free grains hold this template (NULL: not debugging). */
  Byte *free_template;
  Size free_template_size;
} ams_s;
typedef struct ams_s *AMS;

bool ams_check(AMS ams);

static inline AMS ams_of_pool(Pool pool) { return PARENT(ams_s, pool, pool); }

/* Set up the engine for `pool`: takes MPS_KEY_FORMAT (which must have the
 * methods `needs`, see format_acquire), MPS_KEY_CHAIN, MPS_KEY_GEN and,
 * for scannable pools, MPS_KEY_AMS_SUPPORT_AMBIGUOUS.  On failure nothing
 * is left. */
Res ams_init_engine(Pool pool, mps_arg_s args[], bool scannable, const char *needs);

/* Pool methods shared by the classes. */
void ams_finish(Pool pool);
Res ams_buffer_fill(Addr *base_o, Addr *limit_o, Pool pool, Buffer buffer, Size size);
void ams_buffer_empty(Pool pool, Buffer buffer, Addr init, Addr limit);
Size ams_total_size(Pool pool);
Size ams_free_size(Pool pool);
bool ams_pool_check(Pool pool);

#endif /* pool_ams_h */
