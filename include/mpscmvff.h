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

#ifdef __cplusplus
}
#endif

#endif /* mpscmvff_h */
