/* mpscmvt.h: the MVT (Manual Variable Temporal) pool class
 * (manual/pool/mvt.rst, manual/topic/deprecated.rst). */
#ifndef mpscmvt_h
#define mpscmvt_h

#include "mps.h"

#ifdef __cplusplus
extern "C" {
#endif

extern mps_pool_class_t mps_class_mvt(void);

/* Deprecated: mps_pool_total_size and mps_pool_free_size do the same. */
extern size_t mps_mvt_size(mps_pool_t pool);
extern size_t mps_mvt_free_size(mps_pool_t pool);

#ifdef __cplusplus
}
#endif

#endif /* mpscmvt_h */
