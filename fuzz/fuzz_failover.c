/* fuzz_failover.c: a failover land (CBS primary, freelist secondary)
 * against the land model (fuzz/support/land_model.h).  Input bits make
 * the CBS's node allocation fail for a step; the failover must then still
 * succeed, through the freelist, and the whole must still present exactly
 * the model's isolated ranges in address order.  After every step both
 * lands are checked (the CBS deeply); at the end every node is freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/data/cbs.h"
#include "../src/data/failover.h"
#include "../src/data/freelist.h"
#include "support/land_model.h"
#include "support/land_model_nodes.h"

typedef struct fuzz_failover_s {
  cbs_s cbs;
  freelist_s fl;
  failover_s fo;
} fuzz_failover_s;

static bool fuzz_failover_check(void *closure)
{
  fuzz_failover_s *f = closure;
  return cbs_check_deep(&f->cbs) && failover_check(&f->fo)
         && land_size(failover_land(&f->fo))
            == land_size(cbs_land(&f->cbs))
               + land_size(freelist_land(&f->fl));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static land_model_s model;
  land_model_nodes_s nodes = {0, false};
  cbs_node_alloc_s alloc = land_model_nodes_alloc(&nodes);
  fuzz_failover_s f;
  if (model.buffer == NULL)
    land_model_init(&model, sizeof(Word), 16 * 1024, LAND_MODEL_FAIL_ABSORB);
  land_model_clear(&model);
  if (cbs_init(&f.cbs, sizeof(Word), &alloc) != MPS_RES_OK
      || freelist_init(&f.fl, sizeof(Word)) != MPS_RES_OK
      || failover_init(&f.fo, cbs_land(&f.cbs), freelist_land(&f.fl))
         != MPS_RES_OK)
    abort();
  model.set_fail = land_model_nodes_set_fail;
  model.fail_closure = &nodes;
  model.check = fuzz_failover_check;
  model.check_closure = &f;
  land_model_run(&model, failover_land(&f.fo), data, size);
  failover_finish(&f.fo);
  freelist_finish(&f.fl);
  cbs_finish(&f.cbs);
  if (nodes.live != 0)
    abort();
  return 0;
}
