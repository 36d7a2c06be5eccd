/* fuzz_cbs.c: the CBS land against the land model
 * (fuzz/support/land_model.h).  Input bits make node allocation fail for
 * a step: an insert or delete that needs a node must then return
 * MPS_RES_MEMORY and leave the land as the model has it.  After every
 * step cbs_check_deep checks the tree order and every subtree summary;
 * at the end, every node must have been freed. */
#include <stdint.h>
#include <stdlib.h>

#include "../src/data/cbs.h"
#include "support/land_model.h"
#include "support/land_model_nodes.h"

static bool fuzz_cbs_check(void *closure)
{
  return cbs_check_deep(closure);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static land_model_s model;
  land_model_nodes_s nodes = {0, false};
  cbs_node_alloc_s alloc = land_model_nodes_alloc(&nodes);
  cbs_s cbs;
  if (model.buffer == NULL)
    land_model_init(&model, 16, 16 * 1024, LAND_MODEL_FAIL_REPORT);
  land_model_clear(&model);
  if (cbs_init(&cbs, 16, &alloc) != MPS_RES_OK)
    abort();
#ifdef FUZZ_CBS_DESCENT_MAX
  cbs_descent_max_set(&cbs, FUZZ_CBS_DESCENT_MAX);
#endif
  model.set_fail = land_model_nodes_set_fail;
  model.fail_closure = &nodes;
  model.check = fuzz_cbs_check;
  model.check_closure = &cbs;
  land_model_run(&model, cbs_land(&cbs), data, size);
  cbs_finish(&cbs);
  if (nodes.live != 0)
    abort();
  return 0;
}
