/* mpscawl.h: the AWL (Automatic Weak Linked) pool class
 * (manual/pool/awl.rst). */
#ifndef mpscawl_h
#define mpscawl_h

#include "mps.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Given an object in the pool, the address of its dependent object (the
 * one its scan may write to when it splats a weak reference), or NULL. */
typedef mps_addr_t (*mps_awl_find_dependent_t)(mps_addr_t addr);

extern mps_pool_class_t mps_class_awl(void);

#ifdef __cplusplus
}
#endif

#endif /* mpscawl_h */
