/* fuzz_lo: graph programs mostly of LO leaves (of every size, some larger
 * than a segment), referenced from AMS nodes and from exact and ambiguous
 * roots, checked against a model after every collection; see
 * fuzz/support/ams_graph.h for the program and byte 0. */
#include "support/ams_graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  ams_graph_run(data, size, 1);
  return 0;
}
