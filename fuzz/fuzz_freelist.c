/* fuzz_freelist.c: the freelist land against the land model
 * (fuzz/support/land_model.h), in word units so that one-word ranges
 * ("grains") occur. */
#include <stdint.h>
#include <stdlib.h>

#include "../src/data/freelist.h"
#include "support/land_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static land_model_s model;
  freelist_s fl;
  if (model.buffer == NULL)
    land_model_init(&model, sizeof(Word), 16 * 1024, LAND_MODEL_FAIL_NEVER);
  land_model_clear(&model);
  if (freelist_init(&fl, sizeof(Word)) != MPS_RES_OK)
    abort();
  land_model_run(&model, freelist_land(&fl), data, size);
  freelist_finish(&fl);
  return 0;
}
