/* fuzz_ams: graph programs of AMS nodes (with some LO leaves) checked
 * against a model after every collection; see fuzz/support/ams_graph.h.
 * Input byte 0: bit 0 parks the arena (only explicit collections), bit 1
 * uses mps_class_ams_debug (free space checked after each collection),
 * bits 2 and 3 pick the AMS and LO pools' generations. */
#include "support/ams_graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  ams_graph_run(data, size, 0);
  return 0;
}
