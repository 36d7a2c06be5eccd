/* mpscmvff.h: the MVFF (Manual Variable First Fit) pool class and its
 * debugging variant (manual/pool/mvff.rst). */
#ifndef mpscmvff_h
#define mpscmvff_h

#include "mps.h"

#ifdef __cplusplus
extern "C" {
#endif

extern mps_pool_class_t mps_class_mvff(void);
extern mps_pool_class_t mps_class_mvff_debug(void);

/* Deprecated: mps_pool_total_size and mps_pool_free_size. */
extern size_t mps_mvff_size(mps_pool_t pool);
extern size_t mps_mvff_free_size(mps_pool_t pool);

#ifdef __cplusplus
}
#endif

#endif /* mpscmvff_h */
