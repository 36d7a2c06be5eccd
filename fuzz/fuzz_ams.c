/* fuzz_ams: graph programs of AMS nodes (with some LO leaves) checked
 * against a model after every collection, some of which have the arena
 * refuse one request for memory (arena_fail_after) during the collection
 * or the operations after it; see fuzz/support/ams_graph.h for the
 * program, the refusals and byte 0. */
#include "support/ams_graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  ams_graph_run(data, size, 0);
  return 0;
}
