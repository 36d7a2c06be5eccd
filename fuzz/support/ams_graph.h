/* ams_graph.h: graph programs on the non-moving AMS and LO pools, checked
 * against a model, shared by fuzz_ams and fuzz_lo.
 *
 * ams_graph_run decodes the input into operations on an AMS pool of nodes
 * (with references) and an LO pool of leaves: allocate into an exact root
 * slot, link a node's field to a node or leaf, copy or clear a slot, point
 * an ambiguous root into an object (at its base or inside it), rewrite an
 * object's data, or collect (optionally after detaching the allocation
 * points, so every segment can be condemned).  The model is the graph by
 * identity, with every object's address kept outside the heap.  After
 * each collection every object reachable in the model (from the exact
 * roots, the ambiguous roots and node fields) must be at its original
 * address with its identity, size, data and fields intact, every object
 * the formatted-objects walk visits must be well formed and at its
 * model address, and after a collection with detached allocation points
 * exactly the reachable objects must remain.  Any mismatch aborts.
 */
#ifndef ams_graph_h
#define ams_graph_h

#include <stddef.h>
#include <stdint.h>

/* lo_heavy: most allocations make leaves (fuzz_lo); otherwise most make
 * nodes (fuzz_ams). */
void ams_graph_run(const uint8_t *data, size_t size, int lo_heavy);

#endif /* ams_graph_h */
