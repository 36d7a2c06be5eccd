/* Unit tests for incremental collection (src/gc/trace.c, the read barrier
 * in src/gc/barrier.c): a collection that mps_arena_start_collect begins
 * goes on across arena entries, the mutator reading the heap meanwhile
 * only through the read barrier, and never sees a reference to a white
 * object; what it allocates and stores meanwhile survives; polls, steps
 * and faults advance the trace, a clamped arena only faults; AMS and AWL
 * collect incrementally too, weak references are cut unless the mutator
 * reads them during the trace, and what it copies from a weak root
 * survives; heaps the read barrier cannot guard are collected
 * stop-the-world; walks, pool destruction, postmortem and a refused
 * protection change end or lower it, and a postmortem arena stays so
 * while it is in progress. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsacl.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpscawl.h"
#include "../include/mpscmvff.h"
#include "../src/gc/gc.h"
#include "../src/gc/seg.h"
#include "../src/gc/trace.h"
#include "../src/protect/prot_os.h"
#include "support/awlarr.h"
#include "support/objfmt.h"
#include "support/collections.h"

#define W sizeof(mps_word_t)
#define NREFS 3            /* two children in the tree, and a spare link */
#define NDATA 3            /* the identity and two words made from it */
#define ROOTS 4

typedef struct tinc_s {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_root_t root;
  mps_addr_t refs[ROOTS];    /* exact root */
  bool moving;               /* the pool copies survivors (AMC) */
} tinc_s;

static GC tinc_gc(tinc_s *t)
{
  return ((Arena)t->arena)->gc;
}

static bool tinc_busy(tinc_s *t)
{
  /* After loads that may have faulted (a signal handler changed it). */
  atomic_signal_fence(memory_order_seq_cst);
  return tinc_gc(t)->busy_traces != TRACE_SET_EMPTY;
}

/* An arena, a format, a chain and a pool of `klass` (AMC, or AMS) with an
 * allocation point and an exact root table. */
/* A client arena's memory for tinc_open_client, aligned as a client's
 * mmap would be. */
static _Alignas(1 << 16) mps_word_t tinc_block[(size_t)64 << 20 >> 3];

/* The heap of the tests in a new VM arena, or a client arena over
 * tinc_block if `client`; `grain` is the VM arena's grain size, or 0 for
 * the default. */
static void tinc_open_in(tinc_s *t, mps_pool_class_t klass, bool client, size_t grain)
{
  mps_gen_param_s gens[2] = {{1024, 0.5}, {100000, 0.5}};   /* KiB */
  memset(t, 0, sizeof *t);
  t->moving = klass == mps_class_amc();
  MPS_ARGS_BEGIN(args) {
    if (client) {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_CL_BASE, tinc_block);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, sizeof tinc_block);
    } else {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)256 << 20);
      if (grain != 0)
        MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, grain);
    }
    cr_assert_eq(mps_arena_create_k(&t->arena,
                                    client ? mps_arena_class_cl() : mps_arena_class_vm(), args),
                 MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(objfmt_create(&t->fmt, t->arena, objfmt_scan, true), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&t->chain, t->arena, 2, gens), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
    cr_assert_eq(mps_pool_create_k(&t->pool, t->arena, klass, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&t->ap, t->pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->root, t->arena, mps_rank_exact(), 0, t->refs,
                                     ROOTS), MPS_RES_OK);
  cr_assert(tinc_gc(t)->barrier.on, "the read barrier needs the hardware barrier");
}

static void tinc_open_class(tinc_s *t, mps_pool_class_t klass)
{
  tinc_open_in(t, klass, false, 0);
}

static void tinc_open(tinc_s *t)
{
  tinc_open_class(t, mps_class_amc());
}

static void tinc_close(tinc_s *t)
{
  mps_arena_park(t->arena);
  mps_root_destroy(t->root);
  if (t->ap != NULL)
    mps_ap_destroy(t->ap);
  if (t->pool != NULL)
    mps_pool_destroy(t->pool);
  mps_chain_destroy(t->chain);
  mps_fmt_destroy(t->fmt);
  mps_arena_destroy(t->arena);
}

/* A node: NREFS null references and identity id; stored in *slot before
 * the next call into the library. */
static void tinc_new(tinc_s *t, mps_addr_t *slot, mps_word_t id)
{
  size_t size = (2 + NREFS + NDATA) * W;
  mps_addr_t p;
  do {
    cr_assert_eq(mps_reserve(&p, t->ap, size), MPS_RES_OK);
    objfmt_init_id(p, NREFS, NDATA, id);
  } while (!mps_commit(t->ap, p, size));
  *slot = p;
}

static mps_addr_t tinc_ref(mps_addr_t node, size_t i)
{
  return (mps_addr_t)((objfmt_obj)node)->slot[i];
}

static void tinc_set(mps_addr_t node, size_t i, mps_addr_t ref)
{
  ((objfmt_obj)node)->slot[i] = (mps_word_t)ref;
}

/* A complete binary tree of n nodes in heap order (node i's children are
 * 2i+1 and 2i+2), identities from base, in *slot (a root's slot).  The
 * nodes are held in a table root while it is built. */
static void tinc_tree(tinc_s *t, mps_addr_t *slot, size_t n, mps_word_t base)
{
  mps_addr_t *nodes = calloc(n, sizeof *nodes);
  mps_root_t root;
  size_t i;
  cr_assert(nodes != NULL);
  cr_assert_eq(mps_root_create_table(&root, t->arena, mps_rank_exact(), 0, nodes, n),
               MPS_RES_OK);
  for (i = 0; i < n; ++i)
    tinc_new(t, &nodes[i], base + i);
  for (i = 0; 2 * i + 1 < n; ++i) {
    tinc_set(nodes[i], 0, nodes[2 * i + 1]);
    if (2 * i + 2 < n)
      tinc_set(nodes[i], 1, nodes[2 * i + 2]);
  }
  *slot = nodes[0];
  mps_root_destroy(root);
  free(nodes);
}

/* Whether the mutator may hold ref: in AMC, during a trace, never a
 * reference into a white segment, as the only references in these tests
 * are exact (so nothing is nailed and every survivor is copied out).  In
 * AMS survivors stay where they are, white segments included. */
static void tinc_check_black(tinc_s *t, mps_addr_t ref)
{
  Seg seg;
  cr_assert(seg_of_addr(&seg, (Arena)t->arena, (Addr)ref), "a reference outside the heap");
  if (t->moving)
    cr_assert_eq(seg->white & tinc_gc(t)->busy_traces, 0,
                 "the mutator loaded a reference to a white object");
}

/* Walk the tree at root of n nodes from base, checking every node and
 * every reference loaded; `extra` nodes hang off the spare link of the
 * first ones (tinc_extras).  Returns the number of nodes seen. */
static size_t tinc_walk(tinc_s *t, mps_addr_t root, size_t n, mps_word_t base,
                        mps_word_t extra_base, size_t extras)
{
  mps_addr_t *stack = malloc(n * sizeof *stack);
  size_t top = 0, seen = 0, index;
  cr_assert(stack != NULL);
  stack[top++] = root;
  while (top > 0) {
    mps_addr_t node = stack[--top];
    mps_addr_t child;
    size_t c;
    tinc_check_black(t, node);
    index = ((objfmt_obj)node)->slot[NREFS] - base;
    cr_assert(index < n, "node identity %lu out of range", (unsigned long)index);
    cr_assert(objfmt_is_id(node, NREFS, NDATA, base + index), "node %lu damaged",
              (unsigned long)index);
    ++seen;
    for (c = 0; c < 2; ++c) {
      child = tinc_ref(node, c);
      cr_assert_eq(child == NULL, 2 * index + 1 + c >= n, "node %lu child %lu",
                   (unsigned long)index, (unsigned long)c);
      if (child != NULL)
        stack[top++] = child;
    }
    child = tinc_ref(node, 2);
    if (index < extras) {
      cr_assert(child != NULL);
      tinc_check_black(t, child);
      cr_assert(objfmt_is_id(child, NREFS, NDATA, extra_base + index), "extra %lu",
                (unsigned long)index);
    } else {
      cr_assert_null(child);
    }
  }
  free(stack);
  return seen;
}

/* Segments read-protected now. */
static size_t tinc_read_protected(tinc_s *t)
{
  GC gc = tinc_gc(t);
  Ring node, next;
  size_t n = 0;
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if ((seg->shield.sm & PROT_DENY_READ) != 0)
      ++n;
  }
  return n;
}

static Count tinc_read_hits(tinc_s *t)
{
  atomic_signal_fence(memory_order_seq_cst);
  return tinc_gc(t)->barrier.read_hits;
}

#define TREE 20000          /* nodes: 1.25 MiB, about twenty segments */

static void tinc_start_collect_case(bool client)
{
  tinc_s t;
  size_t collections;
  tinc_open_in(&t, mps_class_amc(), client, 0);
  tinc_tree(&t, &t.refs[0], TREE, 1);
  mps_arena_park(t.arena);
  collections = collections_done(t.arena);

  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t), "the collection goes on after start_collect");
  cr_assert_eq(collections_done(t.arena), collections);
  cr_assert_gt(tinc_read_protected(&t), 0, "grey segments are read-protected");
  /* The root was fixed at the flip: its object was copied. */
  tinc_check_black(&t, t.refs[0]);

  cr_assert_eq(tinc_walk(&t, t.refs[0], TREE, 1, 0, 0), TREE);
  cr_assert_gt(tinc_read_hits(&t), 0, "reading the tree faulted");

  mps_arena_park(t.arena);
  cr_assert_not(tinc_busy(&t));
  cr_assert_eq(collections_done(t.arena), collections + 1);
  cr_assert_eq(tinc_read_protected(&t), 0);
  cr_assert_eq(tinc_walk(&t, t.refs[0], TREE, 1, 0, 0), TREE);
  tinc_close(&t);
}

Test(incremental, start_collect_returns_with_the_heap_behind_the_read_barrier)
{
  tinc_start_collect_case(false);
}

/* A client arena whose grains are whole pages has the barrier, so its
 * collections are incremental too (glossary: the MPS collects
 * incrementally but for mps_arena_collect). */
Test(incremental, a_client_arena_collects_incrementally)
{
  tinc_start_collect_case(true);
}

/* The flip fixes the root, so the client holds the copy's address while
 * the registration, fixed only in the final band, still holds the old
 * one: definalize must find it all the same (stress_finalize met this
 * once under qemu). */
Test(incremental, definalize_during_the_trace_finds_the_moved_object)
{
  tinc_s t;
  mps_addr_t old;
  tinc_open(&t);
  tinc_tree(&t, &t.refs[0], TREE, 1);
  cr_assert_eq(mps_finalize(t.arena, &t.refs[0]), MPS_RES_OK);
  mps_arena_park(t.arena);
  old = t.refs[0];
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t), "the collection goes on after start_collect");
  cr_assert_neq(t.refs[0], old, "the root was fixed at the flip: its object moved");
  cr_assert_eq(mps_definalize(t.arena, &t.refs[0]), MPS_RES_OK);
  cr_assert_eq(mps_definalize(t.arena, &t.refs[0]), MPS_RES_FAIL);
  tinc_close(&t);
}

Test(incremental, allocation_and_stores_during_the_trace_survive_it)
{
  tinc_s t;
  size_t i, collections;
  mps_addr_t node;
  tinc_open(&t);
  tinc_tree(&t, &t.refs[0], TREE, 1);
  mps_arena_park(t.arena);
  collections = collections_done(t.arena);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));

  /* A second tree made while the first is being collected. */
  mps_arena_clamp(t.arena);
  tinc_tree(&t, &t.refs[1], 3000, 100000);
  /* New objects stored into old ones, which are grey or not yet copied:
   * each store goes through the read barrier first. */
  for (i = 0; i < 500; ++i) {
    size_t index = i, path[32], depth = 0;
    while (index > 0) {
      path[depth++] = index;
      index = (index - 1) / 2;
    }
    node = t.refs[0];
    while (depth > 0) {
      size_t child = path[--depth];
      node = tinc_ref(node, child % 2 == 1 ? 0 : 1);
    }
    tinc_new(&t, &t.refs[2], 200000 + i);
    /* Reload after the allocation (which may have faulted nothing, but
     * the protocol only promises the reference in the root). */
    tinc_set(node, 2, t.refs[2]);
    t.refs[2] = NULL;
  }
  cr_assert(tinc_busy(&t), "a clamped arena does not advance the trace by allocating");
  mps_arena_park(t.arena);
  cr_assert_eq(collections_done(t.arena), collections + 1);
  cr_assert_eq(tinc_walk(&t, t.refs[0], TREE, 1, 200000, 500), TREE);
  cr_assert_eq(tinc_walk(&t, t.refs[1], 3000, 100000, 0, 0), 3000);
  mps_arena_collect(t.arena);
  cr_assert_eq(tinc_walk(&t, t.refs[0], TREE, 1, 200000, 500), TREE);
  tinc_close(&t);
}

Test(incremental, allocation_polls_finish_the_trace)
{
  tinc_s t;
  size_t polls = 0, collections;
  mps_addr_t junk;
  tinc_open(&t);
  tinc_tree(&t, &t.refs[0], 4 * TREE, 1);
  mps_arena_park(t.arena);
  collections = collections_done(t.arena);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));
  /* Garbage until the collection is over: each fill polls. */
  while (collections_done(t.arena) == collections) {
    tinc_new(&t, &junk, 7);
    ++polls;
    cr_assert_lt(polls, 1000000, "the trace never finished");
  }
  cr_assert_gt(polls, 1000, "the collection was over after %lu allocations",
               (unsigned long)polls);
  cr_assert_eq(tinc_walk(&t, t.refs[0], 4 * TREE, 1, 0, 0), 4 * TREE);
  tinc_close(&t);
}

/* A tree of 4 * TREE nodes at refs[0], a collection started on it, and
 * the arena clamped, so that only faults and steps advance it. */
static void tinc_start_clamped(tinc_s *t)
{
  tinc_open(t);
  tinc_tree(t, &t->refs[0], 4 * TREE, 1);
  mps_arena_park(t->arena);
  cr_assert_eq(mps_arena_start_collect(t->arena), MPS_RES_OK);
  mps_arena_clamp(t->arena);
}

Test(incremental, a_clamped_arena_only_scans_what_the_mutator_touches)
{
  tinc_s t;
  Size work;
  size_t steps = 0;
  mps_addr_t junk;
  int i;
  tinc_start_clamped(&t);
  work = tinc_gc(&t)->traces[0]->work;
  for (i = 0; i < 20000; ++i)
    tinc_new(&t, &junk, 7);
  cr_assert(tinc_busy(&t));
  cr_assert_eq(tinc_gc(&t)->traces[0]->work, work, "allocation scanned nothing");
  /* A read of a grey object scans its segment, and only that. */
  (void)*(mps_word_t volatile *)&((objfmt_obj)t.refs[0])->slot[0];
  atomic_signal_fence(memory_order_seq_cst);
  cr_assert_gt(tinc_gc(&t)->traces[0]->work, work);
  cr_assert_leq(tinc_gc(&t)->traces[0]->work, work + ((Size)1 << 20));
  /* Steps do the rest, a quantum at a time. */
  while (tinc_busy(&t)) {
    cr_assert(mps_arena_step(t.arena, 0.0, 1.0));
    ++steps;
  }
  cr_assert_gt(steps, 1, "a step of no time still does one quantum, not everything");
  cr_assert_eq(t.arena->state, ARENA_CLAMPED);
  cr_assert_eq(tinc_walk(&t, t.refs[0], 4 * TREE, 1, 0, 0), 4 * TREE);
  tinc_close(&t);
}

Test(incremental, a_fault_also_scans_the_to_space_its_scan_copied_into)
{
  tinc_s t;
  Trace trace;
  Count scanned;
  tinc_start_clamped(&t);
  trace = tinc_gc(&t)->traces[0];
  scanned = trace->segs_scanned;
  /* The root's copy is grey: reading it scans its segment, which copies
   * the children into to-space until that is full and more is made.
   * The new to-space is still unprotected in the shield's queue, so the
   * fault scans it too rather than protect it. */
  (void)*(mps_word_t volatile *)&((objfmt_obj)t.refs[0])->slot[0];
  atomic_signal_fence(memory_order_seq_cst);
  cr_assert_eq(tinc_read_hits(&t), 1);
  cr_assert_geq(trace->segs_scanned, scanned + 2, "only the segment read was scanned");
  cr_assert_leq(trace->segs_scanned, scanned + 1 + SHIELD_QUEUE_LIMIT);
  mps_arena_park(t.arena);
  cr_assert_eq(tinc_walk(&t, t.refs[0], 4 * TREE, 1, 0, 0), 4 * TREE);
  tinc_close(&t);
}

Test(incremental, ambiguous_references_pin_what_they_refer_to)
{
  tinc_s t;
  mps_thr_t thr;
  mps_root_t stack_root;
  mps_addr_t volatile pinned;
  mps_addr_t was;
  tinc_open(&t);
  cr_assert_eq(mps_thread_reg(&thr, t.arena), MPS_RES_OK);
  /* The whole of this frame, where `pinned` is, is below its address. */
  cr_assert_eq(mps_root_create_thread(&stack_root, t.arena, thr,
                                      __builtin_frame_address(0)), MPS_RES_OK);
  tinc_tree(&t, &t.refs[0], TREE, 1);
  mps_arena_park(t.arena);
  pinned = tinc_ref(tinc_ref(t.refs[0], 0), 1);   /* node 4, on the stack */
  was = pinned;
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));
  cr_assert(objfmt_is_id(pinned, NREFS, NDATA, 1 + 4));
  cr_assert_eq(tinc_ref(tinc_ref(t.refs[0], 0), 1), was, "a pinned object does not move");
  mps_arena_park(t.arena);
  cr_assert_eq(tinc_ref(tinc_ref(t.refs[0], 0), 1), was);
  cr_assert_eq(tinc_walk(&t, t.refs[0], TREE, 1, 0, 0), TREE);
  mps_root_destroy(stack_root);
  mps_thread_dereg(thr);
  tinc_close(&t);
}

static void tinc_count(mps_addr_t obj, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  (void)fmt;
  (void)pool;
  (void)s;
  /* Padding may be visited too (deprecated.rst). */
  if (OBJFMT_TYPE(((objfmt_obj)obj)->header) == OBJFMT_T_OBJ)
    ++*(size_t *)p;
}

Test(incremental, a_walk_or_destroying_the_pool_finishes_it)
{
  tinc_s t;
  size_t collections, objects = 0;
  tinc_open(&t);
  tinc_tree(&t, &t.refs[0], TREE, 1);
  mps_arena_park(t.arena);
  collections = collections_done(t.arena);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));
  mps_arena_formatted_objects_walk(t.arena, tinc_count, &objects, 0);
  cr_assert_not(tinc_busy(&t));
  cr_assert_eq(collections_done(t.arena), collections + 1);
  cr_assert_eq(objects, TREE, "the walk saw %lu objects, not the survivors once each",
               (unsigned long)objects);

  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));
  t.refs[0] = NULL;
  mps_ap_destroy(t.ap);
  t.ap = NULL;
  cr_assert(tinc_busy(&t));
  mps_pool_destroy(t.pool);
  t.pool = NULL;
  cr_assert_not(tinc_busy(&t));
  cr_assert_eq(collections_done(t.arena), collections + 2);
  tinc_close(&t);
}

/* A weak root is client memory the read barrier cannot guard, so a heap
 * with one collects stop-the-world (trace_may_increment).  Every pool
 * class is incremental now: SNC's case is in test_snc.c. */
Test(incremental, a_weak_root_makes_collections_stop_the_world)
{
  tinc_s t;
  mps_root_t weak;
  mps_addr_t weak_refs[1] = {NULL};
  size_t collections;
  tinc_open(&t);
  tinc_tree(&t, &t.refs[0], TREE, 1);

  /* Without it, incremental; then a weak root rules it out. */
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));
  mps_arena_park(t.arena);
  cr_assert_eq(mps_root_create_table(&weak, t.arena, mps_rank_weak(), 0, weak_refs, 1),
               MPS_RES_OK);
  collections = collections_done(t.arena);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert_not(tinc_busy(&t));
  cr_assert_eq(collections_done(t.arena), collections + 1);
  mps_root_destroy(weak);
  cr_assert_eq(tinc_walk(&t, t.refs[0], TREE, 1, 0, 0), TREE);
  tinc_close(&t);
}

/* What the mutator reads from a weak root is an ordinary reference: null
 * if it was splatted, else its object is alive (weak.rst, root.rst).
 * Copied into an exact root, which a collection under way has already
 * scanned, the object must outlive that collection, though nothing else
 * refers to it; a weak root scanned only after the mutator ran would be
 * the object's only fix, and would cut it.  AMS, so that the segment
 * outlives the object and a freed object shows. */
Test(incremental, an_object_copied_from_a_weak_root_during_a_collection_survives_it)
{
  tinc_s t;
  mps_root_t weak;
  mps_addr_t weak_refs[1] = {NULL}, copy, p;
  tinc_open_class(&t, mps_class_ams());
  cr_assert_eq(mps_root_create_table(&weak, t.arena, mps_rank_weak(), 0, weak_refs, 1),
               MPS_RES_OK);
  tinc_tree(&t, &t.refs[0], 100, 1);
  tinc_new(&t, &weak_refs[0], 500);
  tinc_tree(&t, &t.refs[2], 100, 1000);
  mps_arena_park(t.arena);

  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  mps_arena_clamp(t.arena);
  t.refs[1] = weak_refs[0];
  while (tinc_busy(&t))
    (void)mps_arena_step(t.arena, 0.0, 1.0);
  copy = t.refs[1];
  cr_assert(weak_refs[0] == NULL || weak_refs[0] == copy);
  if (copy != NULL) {
    cr_assert_eq(mps_addr_object(&p, t.arena, copy), MPS_RES_OK,
                 "the copy of a weak reference refers to a freed object");
    cr_assert_eq(p, copy);
    cr_assert(objfmt_is_id(copy, NREFS, NDATA, 500));
    mps_arena_collect(t.arena);
    cr_assert(objfmt_is_id(t.refs[1], NREFS, NDATA, 500));
  }
  cr_assert_eq(tinc_walk(&t, t.refs[0], 100, 1, 0, 0), 100);
  cr_assert_eq(tinc_walk(&t, t.refs[2], 100, 1000, 0, 0), 100);
  mps_root_destroy(weak);
  tinc_close(&t);
}

Test(incremental, ams_collects_incrementally_and_allocates_black)
{
  tinc_s t;
  size_t collections;
  tinc_open_class(&t, mps_class_ams());
  tinc_tree(&t, &t.refs[0], TREE, 1);
  tinc_tree(&t, &t.refs[1], TREE, 50000);
  t.refs[1] = NULL;                        /* garbage for the collection */
  mps_arena_park(t.arena);
  collections = collections_done(t.arena);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));
  cr_assert_gt(tinc_read_protected(&t), 0);
  /* Reading marks and scans; a new tree goes into segments the trace is
   * not working on. */
  cr_assert_eq(tinc_walk(&t, t.refs[0], TREE, 1, 0, 0), TREE);
  cr_assert_gt(tinc_read_hits(&t), 0);
  mps_arena_clamp(t.arena);
  tinc_tree(&t, &t.refs[2], 3000, 100000);
  cr_assert(tinc_busy(&t), "allocating while clamped did no work");
  mps_arena_park(t.arena);
  cr_assert_eq(collections_done(t.arena), collections + 1);
  cr_assert_eq(tinc_walk(&t, t.refs[0], TREE, 1, 0, 0), TREE);
  cr_assert_eq(tinc_walk(&t, t.refs[2], 3000, 100000, 0, 0), 3000);
  /* The dropped tree was reclaimed: what is allocated is the live trees,
   * and at most a segment more (a buffer's region counts as allocated). */
  cr_assert_leq(mps_pool_total_size(t.pool) - mps_pool_free_size(t.pool),
                (size_t)(TREE + 3000) * (2 + NREFS + NDATA) * W + 64 * 1024);
  tinc_close(&t);
}

/* The longest run of grey segments at `rank`, in the grey ring's order,
 * that trace_lower_run could lower in one call: each the next in memory,
 * all with the same protection, which is not none. */
static size_t tinc_longest_protected_grey_run(tinc_s *t, Rank rank)
{
  GC gc = tinc_gc(t);
  Ring node, next;
  Seg last = NULL;
  size_t run = 0, longest = 0;
  RING_FOR(node, &gc->grey_ring[rank], next) {
    Seg seg = PARENT(seg_s, grey_ring, node);
    if (seg->shield.pm == PROT_DENY_NONE)
      run = 0;
    else if (run > 0 && seg->base == last->limit
             && seg->shield.pm == last->shield.pm)
      ++run;
    else
      run = 1;
    if (run > longest)
      longest = run;
    last = seg;
  }
  return longest;
}

/* Finishing an incremental trace (a park) unprotects runs of grey
 * segments with no budget to end a run: only the run's length bound keeps
 * trace_lower_run inside its array.  64 AMS segments, each with one object
 * that only a root table reaches, turn grey together at the flip, in
 * address order.  They lie next to each other only if no grain of the
 * arena's control memory (their tables) falls between them: where the
 * chain's zones begin at the chunk's first free grain, the next control
 * grain is the one after the sixteenth segment.  So the control memory
 * for all their tables is taken, and given back to the control freelist,
 * first. */
Test(incremental, finishing_a_trace_lowers_long_runs_of_grey_segments_in_bounded_batches)
{
  enum { SEGS = 64 };
  static mps_addr_t firsts[SEGS];
  mps_word_t ids[SEGS];
  tinc_s t;
  mps_root_t root;
  Seg seg, prev = NULL;
  size_t k = 0, collections;
  mps_word_t id = 1;
  Arena arena;
  void *control;
  Size control_size;
  tinc_open_in(&t, mps_class_ams(), false, (size_t)64 << 10);
  arena = (Arena)t.arena;
  arena_enter(arena);
  cr_assert_eq(arena_control_alloc(&control, arena, (size_t)512 << 10), MPS_RES_OK);
  arena_control_free(arena, control, (size_t)512 << 10);
  control_size = arena->control_size;
  arena_leave(arena);
  memset(firsts, 0, sizeof firsts);
  cr_assert_eq(mps_root_create_table(&root, t.arena, mps_rank_exact(), 0, firsts, SEGS),
               MPS_RES_OK);
  mps_arena_park(t.arena);
  /* The first object of each new segment is kept; the rest is garbage. */
  while (k < SEGS) {
    tinc_new(&t, &t.refs[0], id);
    cr_assert(seg_of_addr(&seg, (Arena)t.arena, (Addr)t.refs[0]));
    if (seg != prev) {
      ids[k] = id;
      firsts[k++] = t.refs[0];
      prev = seg;
    }
    ++id;
    cr_assert_lt(id, (mps_word_t)SEGS * 65536, "AMS filled no new segment");
  }
  t.refs[0] = NULL;
  cr_assert_eq(arena->control_size, control_size, "a segment's tables took a control grain");
  collections = collections_done(t.arena);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));
  cr_assert_gt(tinc_longest_protected_grey_run(&t, RANK_EXACT), SHIELD_QUEUE_LIMIT / 2,
               "the test needs a run longer than trace_lower_run's bound");
  mps_arena_park(t.arena);
  cr_assert_eq(collections_done(t.arena), collections + 1);
  cr_assert_eq(tinc_read_protected(&t), 0);
  for (k = 0; k < SEGS; ++k)
    cr_assert(objfmt_is_id(firsts[k], NREFS, NDATA, ids[k]),
              "object %zu damaged", k);
  mps_root_destroy(root);
  tinc_close(&t);
}

/* An incremental trace that condemns an AMS object of ambiguous rank
 * pins the AMC segments it condemns at the flip (trace.c, trace_pin):
 * their objects stay put through the read barrier's scans and the steps,
 * so the ambiguous word still points at its object. */
Test(incremental, an_ambiguous_rank_object_keeps_its_amc_target_in_place)
{
  tinc_s t;
  mps_pool_t ams;
  mps_ap_t aap;
  objfmt_obj holder, target;
  mps_addr_t p;
  size_t size = (2 + 1 + 1) * W, collections;
  tinc_open(&t);
  t.moving = false;   /* pinned: survivors stay in white segments (tinc_check_black) */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
    cr_assert_eq(mps_pool_create_k(&ams, t.arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    cr_assert_eq(mps_ap_create_k(&aap, ams, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  tinc_tree(&t, &t.refs[0], TREE, 1);
  tinc_new(&t, &t.refs[1], 777);
  do {
    cr_assert_eq(mps_reserve(&p, aap, size), MPS_RES_OK);
    objfmt_init_id(p, 1, 1, 778);
    ((objfmt_obj)p)->slot[0] = (mps_word_t)t.refs[1];
  } while (!mps_commit(aap, p, size));
  t.refs[2] = p;
  holder = p;
  target = t.refs[1];
  mps_ap_destroy(aap);   /* so that the holder's segment is condemned too */
  mps_arena_park(t.arena);
  collections = collections_done(t.arena);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t), "the collection did not run incrementally");
  /* The mutator reads through the read barrier meanwhile. */
  cr_assert_eq(tinc_walk(&t, t.refs[0], TREE, 1, 0, 0), TREE);
  cr_assert_eq((objfmt_obj)holder->slot[0], target);
  cr_assert_eq((objfmt_obj)t.refs[1], target, "an ambiguously referenced object moved");
  mps_arena_park(t.arena);
  cr_assert_eq(collections_done(t.arena), collections + 1);
  cr_assert_eq((objfmt_obj)t.refs[1], target, "an ambiguously referenced object moved");
  cr_assert_eq((objfmt_obj)holder->slot[0], target, "an ambiguous word was changed");
  cr_assert_eq(OBJFMT_TYPE(target->header), OBJFMT_T_OBJ);
  cr_assert_eq(target->slot[NREFS], 777);
  cr_assert_eq(tinc_walk(&t, t.refs[0], TREE, 1, 0, 0), TREE);
  /* Only the ambiguous word keeps it now. */
  t.refs[1] = NULL;
  mps_arena_collect(t.arena);
  cr_assert_eq(OBJFMT_TYPE(target->header), OBJFMT_T_OBJ);
  cr_assert_eq(target->slot[NREFS], 777, "an ambiguously referenced object was freed");
  t.refs[2] = NULL;
  mps_arena_park(t.arena);
  mps_pool_destroy(ams);
  tinc_close(&t);
}

Test(incremental, a_debugging_check_reads_protected_segments_through_the_shield)
{
  tinc_s t;
  mps_pool_t debug;
  mps_ap_t debug_ap;
  static const char tpl[8] = "FREEfree";
  mps_pool_debug_option_s options = {NULL, 0, tpl, 8};
  Count hits;
  size_t i;
  tinc_open(&t);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
    MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, &options);
    cr_assert_eq(mps_pool_create_k(&debug, t.arena, mps_class_ams_debug(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&debug_ap, debug, mps_args_none), MPS_RES_OK);
  /* Live objects, each after a dead one, so segments have free space to
   * check once collected. */
  for (i = 0; i < 4000; ++i) {
    mps_addr_t p;
    size_t size = (2 + NREFS + NDATA) * W;
    do {
      cr_assert_eq(mps_reserve(&p, debug_ap, size), MPS_RES_OK);
      objfmt_init_id(p, NREFS, NDATA, 1 + i);
      ((objfmt_obj)p)->slot[0] = (mps_word_t)t.refs[0];
    } while (!mps_commit(debug_ap, p, size));
    if (i % 2 == 0)
      t.refs[0] = p;
  }
  mps_ap_destroy(debug_ap);
  mps_arena_collect(t.arena);             /* free space, under the template */
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));
  cr_assert_gt(tinc_read_protected(&t), 0);
  hits = tinc_read_hits(&t);
  mps_pool_check_free_space(debug);       /* reports nothing, faults nothing */
  cr_assert_eq(tinc_read_hits(&t), hits, "the check went through the shield");
  cr_assert(tinc_busy(&t), "and did no collection work");
  mps_arena_park(t.arena);
  t.refs[0] = NULL;
  mps_pool_destroy(debug);
  tinc_close(&t);
}

/* A weak table in AWL (test/support/awlarr.h) of SLOTS references to AMC
 * objects, the even ones also held strongly. */
#define WEAK_SLOTS 64

static mps_res_t tinc_awl_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  return awlarr_scan(ss, base, limit, objfmt_scan, NULL);
}

typedef struct tinc_weak_s {
  tinc_s t;
  mps_fmt_t awl_fmt;
  mps_pool_t awl;
  mps_ap_t weak_ap;
  mps_root_t strong_root;
  mps_addr_t strong[WEAK_SLOTS / 2];
} tinc_weak_s;

static void tinc_weak_open(tinc_weak_s *w)
{
  size_t i, size = AWLARR_WORDS(WEAK_SLOTS) * W;
  mps_addr_t p;
  awlarr table;
  tinc_open(&w->t);
  cr_assert_eq(objfmt_create(&w->awl_fmt, w->t.arena, tinc_awl_scan, false), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, w->awl_fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, w->t.chain);
    MPS_ARGS_ADD(args, MPS_KEY_AWL_FIND_DEPENDENT, awlarr_find_dependent);
    cr_assert_eq(mps_pool_create_k(&w->awl, w->t.arena, mps_class_awl(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    cr_assert_eq(mps_ap_create_k(&w->weak_ap, w->awl, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  memset(w->strong, 0, sizeof w->strong);
  cr_assert_eq(mps_root_create_table(&w->strong_root, w->t.arena, mps_rank_exact(), 0,
                                     w->strong, WEAK_SLOTS / 2), MPS_RES_OK);
  do {
    cr_assert_eq(mps_reserve(&p, w->weak_ap, size), MPS_RES_OK);
    awlarr_init(p, WEAK_SLOTS);
  } while (!mps_commit(w->weak_ap, p, size));
  w->t.refs[3] = p;
  for (i = 0; i < WEAK_SLOTS; ++i) {
    tinc_new(&w->t, &w->t.refs[2], 7000 + i);
    table = w->t.refs[3];
    table->slot[i] = (mps_word_t)w->t.refs[2];
    if (i % 2 == 0)
      w->strong[i / 2] = w->t.refs[2];
  }
  w->t.refs[2] = NULL;
  mps_arena_park(w->t.arena);
}

static void tinc_weak_close(tinc_weak_s *w)
{
  mps_arena_park(w->t.arena);
  w->t.refs[3] = NULL;
  mps_root_destroy(w->strong_root);
  mps_ap_destroy(w->weak_ap);
  mps_pool_destroy(w->awl);
  mps_fmt_destroy(w->awl_fmt);
  tinc_close(&w->t);
}

/* How many odd slots still hold their object; every slot holds its own
 * object or NULL, and every even one its object. */
static size_t tinc_weak_check(tinc_weak_s *w)
{
  awlarr table = w->t.refs[3];
  size_t i, odd = 0;
  for (i = 0; i < WEAK_SLOTS; ++i) {
    mps_addr_t ref = (mps_addr_t)table->slot[i];
    if (i % 2 == 0)
      cr_assert_eq(ref, w->strong[i / 2]);
    if (ref != NULL) {
      cr_assert(objfmt_is_id(ref, NREFS, NDATA, 7000 + i), "slot %lu", (unsigned long)i);
      if (i % 2 == 1)
        ++odd;
    }
  }
  return odd;
}

Test(incremental, weak_references_are_cut_by_an_incremental_collection)
{
  tinc_weak_s w;
  tinc_weak_open(&w);
  cr_assert_eq(tinc_weak_check(&w), WEAK_SLOTS / 2);
  cr_assert_eq(mps_arena_start_collect(w.t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&w.t), "AMC and AWL with exact roots collect incrementally");
  while (tinc_busy(&w.t))
    (void)mps_arena_step(w.t.arena, 0.0, 1.0);
  cr_assert_eq(tinc_weak_check(&w), 0, "the objects only the table held died");
  tinc_weak_close(&w);
}

Test(incremental, a_weak_table_read_during_the_trace_keeps_its_objects_until_the_next)
{
  tinc_weak_s w;
  size_t kept;
  tinc_weak_open(&w);
  cr_assert_eq(mps_arena_start_collect(w.t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&w.t));
  /* The read scans the table at once, at the exact rank: its references
   * hold their objects for this trace (and it sees them intact). */
  kept = tinc_weak_check(&w);
  cr_assert_eq(kept, WEAK_SLOTS / 2);
  mps_arena_park(w.t.arena);
  cr_assert_eq(tinc_weak_check(&w), WEAK_SLOTS / 2);
  mps_arena_collect(w.t.arena);
  cr_assert_eq(tinc_weak_check(&w), 0);
  tinc_weak_close(&w);
}

/* A weak table that a scan greys during the exact band (it is reachable
 * only through an AMC object) must wait for the weak band, even when the
 * end of a step finds it queued without its read protection: scanned
 * earlier, its references to objects that are reachable but not yet
 * marked -- here from the far end of a list longer than a step's work --
 * would be cut. */
#define TINC_LIST 60000            /* nodes: about 3.7 MiB, several steps */
Test(incremental, a_weak_table_greyed_during_the_exact_band_waits_for_its_band)
{
  tinc_weak_s w;
  tinc_s *t = &w.t;
  mps_addr_t tail;
  awlarr table;
  size_t i, steps = 0;
  tinc_weak_open(&w);
  /* The table behind an AMC object; the even slots' objects held by the
   * first nodes of the list (its far end from the root), not by a root. */
  tinc_new(t, &t->refs[0], 1);
  tinc_set(t->refs[0], 2, t->refs[3]);
  t->refs[3] = NULL;
  for (i = 0; i < TINC_LIST; ++i) {
    tinc_new(t, &t->refs[2], 100000 + i);
    tinc_set(t->refs[2], 0, t->refs[1]);
    if (i < WEAK_SLOTS / 2)
      tinc_set(t->refs[2], 1, w.strong[i]);
    t->refs[1] = t->refs[2];
  }
  t->refs[2] = NULL;
  memset(w.strong, 0, sizeof w.strong);
  cr_assert_eq(mps_arena_start_collect(t->arena), MPS_RES_OK);
  cr_assert(tinc_busy(t));
  while (tinc_busy(t)) {
    (void)mps_arena_step(t->arena, 0.0, 1.0);
    ++steps;
  }
  cr_assert_gt(steps, 2, "the trace took too few steps to test anything");
  table = (awlarr)tinc_ref(t->refs[0], 2);
  for (tail = t->refs[1], i = TINC_LIST; i > WEAK_SLOTS / 2; --i)
    tail = tinc_ref(tail, 0);
  for (i = WEAK_SLOTS / 2; i-- > 0; tail = tinc_ref(tail, 0)) {
    cr_assert(objfmt_is_id(tail, NREFS, NDATA, 100000 + i));
    cr_assert_not_null((mps_addr_t)table->slot[2 * i], "slot %zu was cut", 2 * i);
    cr_assert_eq((mps_addr_t)table->slot[2 * i], tinc_ref(tail, 1));
    cr_assert(objfmt_is_id((mps_addr_t)table->slot[2 * i], NREFS, NDATA, 7000 + 2 * i));
  }
  cr_assert_null(tail);
  t->refs[0] = t->refs[1] = NULL;
  tinc_weak_close(&w);
}

/* mps_alloc is an allocation slow path like a buffer fill: a collection
 * in progress advances there, so a client that allocates only from manual
 * pools meanwhile still sees it finish. */
Test(incremental, a_collection_advances_through_mps_alloc)
{
  tinc_s t;
  mps_pool_t mvff;
  mps_addr_t p;
  size_t n = 0;
  tinc_open(&t);
  tinc_tree(&t, &t.refs[0], TREE, 1);
  cr_assert_eq(mps_pool_create_k(&mvff, t.arena, mps_class_mvff(), mps_args_none),
               MPS_RES_OK);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));
  while (tinc_busy(&t) && n < 100000) {
    cr_assert_eq(mps_alloc(&p, mvff, 64), MPS_RES_OK);
    mps_free(mvff, p, 64);
    ++n;
  }
  cr_assert_not(tinc_busy(&t), "%zu allocations and the collection is still running", n);
  cr_assert_eq(tinc_walk(&t, t.refs[0], TREE, 1, 0, 0), TREE);
  mps_pool_destroy(mvff);
  tinc_close(&t);
}

Test(incremental, postmortem_lowers_the_read_barrier)
{
  tinc_s t;
  tinc_open(&t);
  tinc_tree(&t, &t.refs[0], TREE, 1);
  mps_arena_park(t.arena);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert_gt(tinc_read_protected(&t), 0);
  mps_arena_postmortem(t.arena);
  cr_assert_eq(tinc_read_protected(&t), 0);
  cr_assert_not(tinc_gc(&t)->barrier.on);
  /* Readable, though not necessarily collected: nothing faults. */
  (void)*(mps_word_t volatile *)&((objfmt_obj)t.refs[0])->slot[0];
  cr_assert_eq(tinc_read_hits(&t), 0);
}

/* A postmortem arena with a collection in progress stays postmortem
 * whatever the client parks, clamps or releases: the collection must not
 * go on with the barrier down (arena.rst: memory may be inconsistent), and
 * a parked arena would claim that none is in progress.  Allocation, which
 * polls, advances nothing either. */
Test(incremental, a_postmortem_arena_in_a_collection_stays_postmortem)
{
  tinc_s t;
  Size work;
  mps_addr_t p;
  size_t i;
  tinc_open(&t);
  tinc_tree(&t, &t.refs[0], TREE, 1);
  mps_arena_park(t.arena);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));
  mps_arena_postmortem(t.arena);
  work = tinc_gc(&t)->traces[0]->work;
  mps_arena_park(t.arena);
  cr_assert_eq(((Arena)t.arena)->state, ARENA_POSTMORTEM, "parked with a collection in progress");
  mps_arena_clamp(t.arena);
  cr_assert_eq(((Arena)t.arena)->state, ARENA_POSTMORTEM);
  mps_arena_release(t.arena);
  cr_assert_eq(((Arena)t.arena)->state, ARENA_POSTMORTEM);
  for (i = 0; i < 1000; ++i)
    tinc_new(&t, &p, 7);
  cr_assert(tinc_busy(&t));
  cr_assert_eq(tinc_gc(&t)->traces[0]->work, work, "the collection went on");
}

Test(incremental, a_refused_protection_change_finishes_the_trace)
{
  tinc_s t;
  size_t collections;
  ProtOS po;
  tinc_open(&t);
  tinc_tree(&t, &t.refs[0], 4 * TREE, 1);
  mps_arena_park(t.arena);
  collections = collections_done(t.arena);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));
  /* As if the system had refused an mprotect: some grey segment might be
   * unguarded, so the next piece of work finishes the trace, and the
   * barrier goes off once the mutator runs again. */
  po = PARENT(struct prot_os_s, prot, tinc_gc(&t)->shield.prot);
  cr_assert_gt(prot_os_sets(po), 0);
  po->failure = MPS_RES_MEMORY;
  cr_assert(mps_arena_step(t.arena, 0.0, 1.0));
  cr_assert_not(tinc_busy(&t));
  cr_assert_eq(collections_done(t.arena), collections + 1);
  cr_assert_not(tinc_gc(&t)->barrier.on);
  cr_assert_eq(tinc_read_protected(&t), 0);
  cr_assert_eq(tinc_walk(&t, t.refs[0], 4 * TREE, 1, 0, 0), 4 * TREE);
  /* Without the barrier, collections stop the world. */
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert_not(tinc_busy(&t));
  cr_assert_eq(collections_done(t.arena), collections + 2);
  tinc_close(&t);
}

Test(incremental, finalization_during_the_trace)
{
  tinc_s t;
  mps_message_t message;
  mps_addr_t ref;
  size_t found = 0;
  tinc_open(&t);
  mps_message_type_enable(t.arena, mps_message_type_finalization());
  tinc_tree(&t, &t.refs[0], TREE, 1);
  tinc_new(&t, &t.refs[1], 424242);
  ref = t.refs[1];
  cr_assert_eq(mps_finalize(t.arena, &ref), MPS_RES_OK);
  ref = NULL;
  t.refs[1] = NULL;
  mps_arena_park(t.arena);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(tinc_busy(&t));
  while (tinc_busy(&t))
    (void)mps_arena_step(t.arena, 0.0, 1.0);
  while (mps_message_get(&message, t.arena, mps_message_type_finalization())) {
    mps_message_finalization_ref(&ref, t.arena, message);
    cr_assert(objfmt_is_id(ref, NREFS, NDATA, 424242), "the finalized object is intact");
    ++found;
    mps_message_discard(t.arena, message);
  }
  cr_assert_eq(found, 1);
  cr_assert_eq(tinc_walk(&t, t.refs[0], TREE, 1, 0, 0), TREE);
  tinc_close(&t);
}
