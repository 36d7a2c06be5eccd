/* mpscamc.h: the AMC (Automatic Mostly-Copying) and AMCZ (its never-
 * scanned variant) pool classes (manual/pool/amc.rst, pool/amcz.rst). */
#ifndef mpscamc_h
#define mpscamc_h

#include "mps.h"

#ifdef __cplusplus
extern "C" {
#endif

extern mps_pool_class_t mps_class_amc(void);
extern mps_pool_class_t mps_class_amcz(void);

/* Deprecated: call f on every object in the pool (with the arena parked). */
typedef void (*mps_amc_apply_stepper_t)(mps_addr_t addr, void *p, size_t s);
extern void mps_amc_apply(mps_pool_t pool, mps_amc_apply_stepper_t f, void *p, size_t s);

#ifdef __cplusplus
}
#endif

#endif /* mpscamc_h */
