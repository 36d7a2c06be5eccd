/* fuzz_lo: graph programs mostly of LO leaves (of every size, some larger
 * than a segment), referenced from AMS nodes and from exact and ambiguous
 * roots, checked against a model after every collection, some of which
 * have the arena refuse one request for memory (arena_fail_after) during
 * the collection or the operations after it; see fuzz/support/ams_graph.h
 * for the program, the refusals and byte 0. */
#include "support/ams_graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  ams_graph_run(data, size, 1);
  return 0;
}
