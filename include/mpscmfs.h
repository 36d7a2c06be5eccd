/* mpscmfs.h: the MFS (Manual Fixed Small) pool class (manual/pool/mfs.rst). */
#ifndef mpscmfs_h
#define mpscmfs_h

#include "mps.h"

#ifdef __cplusplus
extern "C" {
#endif

extern mps_pool_class_t mps_class_mfs(void);

#ifdef __cplusplus
}
#endif

#endif /* mpscmfs_h */
