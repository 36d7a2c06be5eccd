/* ams_graph.h: graph programs on the non-moving AMS and LO pools, checked
 * against a model, shared by fuzz_ams and fuzz_lo.
 *
 * ams_graph_run decodes the input into operations on an AMS pool of nodes
 * (with references; some as big as a segment or more) and an LO pool of
 * leaves: allocate into an exact root slot (also under a commit limit),
 * link a node's field to a node or leaf, copy or clear a slot, point an
 * ambiguous root into an object, just past one, or at a dead object's
 * place, rewrite an object's data, check or walk the heap between
 * collections, write into a free grain of the debugging pool, or collect
 * (optionally after detaching the allocation points).  The model is the
 * graph by identity, with every object's address kept outside the heap.
 * After each collection every object reachable in the model (from the
 * exact roots, the ambiguous roots and node fields) must be at its
 * original address with its identity, size, data and fields intact,
 * nothing else may be left (a collection condemns every segment, those of
 * attached allocation points too), every object the formatted-objects
 * walk and mps_pool_walk visit must be well formed and at its model
 * address, mps_addr_object must find the object at an address, or none
 * where none is, and the pools' total and free sizes must count the
 * reachable objects (exactly, with the points detached).  Any mismatch
 * aborts.
 *
 * A collect whose first argument is 10xxxxxx also has the arena refuse
 * one of its next 32 requests for memory (arena_fail_after, a test hook:
 * src/arena/arena.h), counted from the collection or, with 0x20, from
 * just after it; before the collection, with the second argument's top
 * bit, the collection is started incrementally (mps_arena_start_collect)
 * and stepped up to seven times.  So the refusal falls on the collection
 * (the trace it makes, or the incremental one before it), on the
 * allocation points made again after it, or on what follows: an
 * allocation (a segment, its tables, a buffer fill, the collection an
 * unparked arena starts or advances there), the allocation point a
 * refusal left unmade, the next collection.  An
 * operation that fails must be the one the refusal fell on, say so with
 * MPS_RES_MEMORY or MPS_RES_RESOURCE (or, under a commit limit,
 * MPS_RES_COMMIT_LIMIT), and change nothing the model tracks; the others
 * absorb it.  A collection a refusal fell on may keep objects the model
 * calls dead (all of them if it could not start): each kept object must
 * be intact and keep what it refers to, and the pools' sizes count it; a
 * later collection that no refusal falls on must reclaim it (the last
 * collection of each input runs with the hook disarmed).
 *
 * Byte 0: bit 0 parks the arena (only explicit collections), bit 1 uses
 * mps_class_ams_debug (free space checked after some collections), bits 2
 * and 3 pick the AMS and LO pools' generations, bit 4 passes
 * MPS_KEY_AMS_SUPPORT_AMBIGUOUS with bit 5's value (and makes an
 * allocation point of ambiguous rank, which only a pool that supports
 * them takes), bit 6 puts a plain AMS pool on the arena's default chain
 * and gives a debugging one its own free template (none if bit 7), and
 * bit 7 first tries pool creations that must be refused.
 */
#ifndef ams_graph_h
#define ams_graph_h

#include <stddef.h>
#include <stdint.h>

/* lo_heavy: most allocations make leaves (fuzz_lo); otherwise most make
 * nodes (fuzz_ams). */
void ams_graph_run(const uint8_t *data, size_t size, int lo_heavy);

#endif /* ams_graph_h */
