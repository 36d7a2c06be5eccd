/* land_stress.h: the stress harness shared by stress_cbs, stress_freelist
 * and stress_failover.  Several threads share one land under a spinlock,
 * each returning ranges to it, taking ranges out of its own address slice,
 * and finding and taking ranges as an allocator would.  A model of the
 * land (one flag per alignment unit) is kept under the same lock; every
 * result is checked against it, and periodically and at the end the
 * land's size, its deep check and its exact ranges.  A harness supplies
 * only the land.
 */
#ifndef land_stress_h
#define land_stress_h

#include <stdbool.h>

#include "../../src/data/cbs.h"
#include "../../src/data/land.h"

typedef struct land_stress_spec_s {
  const char *name;
  bool can_fail;          /* steps may make node allocation fail ... */
  bool reports_memory;    /* ... and the land then reports MPS_RES_MEMORY */
  Land (*init)(Align align);
  bool (*deep_check)(void);
  void (*finish)(void);
  void (*set_fail)(bool fail);   /* make node allocation fail, or not */
} land_stress_spec_s;

/* A CBS node allocator over malloc that fails while land_stress_nodes_fail
 * (true) is in force, and the count of its nodes not yet freed.  The
 * harness calls it only under its lock. */
cbs_node_alloc_s land_stress_nodes(void);
void land_stress_nodes_fail(bool fail);
long land_stress_nodes_live(void);

/* Run the harness on the land the spec makes; returns main's result. */
int land_stress_main(int argc, char **argv, const land_stress_spec_s *spec);

#endif /* land_stress_h */
