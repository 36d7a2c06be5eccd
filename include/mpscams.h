/* mpscams.h: the AMS (Automatic Mark and Sweep) pool class and its
 * debugging variant (manual/pool/ams.rst). */
#ifndef mpscams_h
#define mpscams_h

#include "mps.h"

#ifdef __cplusplus
extern "C" {
#endif

extern mps_pool_class_t mps_class_ams(void);
extern mps_pool_class_t mps_class_ams_debug(void);

#ifdef __cplusplus
}
#endif

#endif /* mpscams_h */
