/* Unit tests for the tracer (src/gc/trace.c), through a tiny non-moving
 * test pool (test/support/cellpool.h) and the real root functions:
 * reachability from exact, ambiguous and weak roots, cycles, statistics
 * and messages, automatic collection from mps_alloc by chain capacity,
 * the arena states, mps_arena_step, trace_fix's filtering, scan states,
 * the diagnosis of a collection by an unregistered thread, failing root
 * and segment scans, nails, and threads suspended around a dead one or
 * let go by postmortem. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/gc/message.h"
#include "support/cellpool.h"
#include "support/collections.h"
#include "support/configs.h"
#include "support/reports.h"

static mps_arena_t arena;
static mps_pool_t pool;
static mps_chain_t chain;

static void make_pool(mps_rank_t rank)
{
  mps_gen_param_s params[1] = {{64, 0.5}};   /* 64 KiB nursery */
  cr_assert_eq(mps_chain_create(&chain, arena, 1, params), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    MPS_ARGS_ADD(args, MPS_KEY_RANK, rank);
    cr_assert_eq(mps_pool_create_k(&pool, arena, &cellpool_class, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
}

static void setup(void)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)32 << 20);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_OK);
  make_pool(mps_rank_exact());
}

static void teardown(void)
{
  mps_pool_destroy(pool);
  mps_chain_destroy(chain);
  mps_arena_destroy(arena);
}

static mps_word_t *cell(void)
{
  mps_addr_t p;
  cr_assert_eq(mps_alloc(&p, pool, CELLPOOL_SIZE), MPS_RES_OK);
  return p;
}

TestSuite(trace, .init = setup, .fini = teardown);

Test(trace, exact_roots_keep_what_they_reach_and_nothing_else)
{
  mps_addr_t table[2] = {NULL, NULL};
  mps_root_t root;
  mps_word_t *head = NULL, *c;
  int i;
  mps_arena_park(arena);   /* no automatic collection meanwhile */
  /* A list of 100 reachable cells and 300 garbage ones. */
  for (i = 0; i < 100; ++i) {
    c = cell();
    c[0] = (mps_word_t)head;
    c[1] = (mps_word_t)i;   /* small integers are never cells */
    head = c;
  }
  for (i = 0; i < 300; ++i)
    (void)cell();
  table[0] = head;
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, table, 2), MPS_RES_OK);
  cr_assert_eq(cellpool_cells(pool), 400);
  cr_assert_eq(collections_done(arena), 0);
  mps_arena_collect(arena);
  cr_assert_eq(collections_done(arena), 1);
  cr_assert_eq(cellpool_cells(pool), 100);
  cr_assert_eq(arena->state, ARENA_PARKED);
  /* The list is intact and every node is still a cell. */
  for (c = table[0], i = 99; c != NULL; c = (mps_word_t *)c[0], --i) {
    cr_assert(cellpool_is_cell(pool, c));
    cr_assert_eq(c[1], (mps_word_t)i);
  }
  cr_assert_eq(i, -1);
  /* Dropping the root frees everything. */
  table[0] = NULL;
  mps_arena_collect(arena);
  cr_assert_eq(cellpool_cells(pool), 0);
  cr_assert_eq(mps_pool_total_size(pool), 0);   /* empty segments freed */
  mps_root_destroy(root);
}

Test(trace, unreachable_cycles_die_and_reachable_ones_live)
{
  mps_addr_t table[1];
  mps_root_t root;
  mps_word_t *a = cell(), *b = cell(), *c = cell(), *d = cell();
  mps_arena_park(arena);
  a[0] = (mps_word_t)b;
  b[0] = (mps_word_t)a;   /* a <-> b, reachable */
  c[3] = (mps_word_t)d;
  d[3] = (mps_word_t)c;   /* c <-> d, not */
  table[0] = a;
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, table, 1), MPS_RES_OK);
  mps_arena_collect(arena);
  cr_assert(cellpool_is_cell(pool, a));
  cr_assert(cellpool_is_cell(pool, b));
  cr_assert_not(cellpool_is_cell(pool, c));
  cr_assert_not(cellpool_is_cell(pool, d));
  mps_root_destroy(root);
}

Test(trace, ambiguous_roots_pin_through_interior_pointers_and_ignore_junk)
{
  mps_addr_t ambig[3];
  mps_root_t root;
  mps_word_t *a = cell(), *b = cell(), *c = cell();
  mps_arena_park(arena);
  a[0] = (mps_word_t)c;                     /* reached through a */
  ambig[0] = (char *)a + 5;                 /* interior */
  ambig[1] = (char *)b + CELLPOOL_SIZE * 7; /* past b: some free cell or none */
  ambig[2] = (mps_addr_t)(mps_word_t)12345; /* junk */
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_ambig(), 0, ambig, 3), MPS_RES_OK);
  mps_arena_collect(arena);
  cr_assert(cellpool_is_cell(pool, a));
  cr_assert(cellpool_is_cell(pool, c));
  cr_assert_not(cellpool_is_cell(pool, b));
  /* Ambiguous references are never changed. */
  cr_assert_eq(ambig[0], (char *)a + 5);
  cr_assert_eq(ambig[2], (mps_addr_t)(mps_word_t)12345);
  mps_root_destroy(root);
}

Test(trace, weak_roots_are_splatted_only_when_the_referent_dies)
{
  mps_addr_t exact[1], weak[2];
  mps_root_t rexact, rweak;
  mps_word_t *live = cell(), *dead = cell();
  mps_arena_park(arena);
  exact[0] = live;
  weak[0] = live;
  weak[1] = dead;
  cr_assert_eq(mps_root_create_table(&rexact, arena, mps_rank_exact(), 0, exact, 1), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&rweak, arena, mps_rank_weak(), 0, weak, 2), MPS_RES_OK);
  mps_arena_collect(arena);
  cr_assert_eq(weak[0], live);
  cr_assert_null(weak[1]);
  cr_assert_not(cellpool_is_cell(pool, dead));
  mps_root_destroy(rweak);
  mps_root_destroy(rexact);
}

Test(trace, messages_report_start_and_sizes)
{
  mps_addr_t table[1];
  mps_root_t root;
  mps_message_t msg;
  mps_message_type_t type;
  mps_word_t *keep;
  int i;
  mps_arena_park(arena);
  mps_message_type_enable(arena, mps_message_type_gc());
  mps_message_type_enable(arena, mps_message_type_gc_start());
  keep = cell();
  for (i = 0; i < 9; ++i)
    (void)cell();
  table[0] = keep;
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, table, 1), MPS_RES_OK);
  cr_assert_not(mps_message_poll(arena));
  mps_arena_collect(arena);
  cr_assert(mps_message_poll(arena));
  cr_assert(mps_message_queue_type(&type, arena));
  cr_assert_eq(type, mps_message_type_gc_start());
  cr_assert(mps_message_get(&msg, arena, mps_message_type_gc_start()));
  cr_assert_eq(mps_message_type(arena, msg), mps_message_type_gc_start());
  cr_assert_not_null(mps_message_gc_start_why(arena, msg));
  mps_message_discard(arena, msg);
  cr_assert(mps_message_get(&msg, arena, mps_message_type_gc()));
  cr_assert_eq(mps_message_gc_live_size(arena, msg), CELLPOOL_SIZE);
  cr_assert_eq(mps_message_gc_condemned_size(arena, msg), 10 * CELLPOOL_SIZE);
  cr_assert_eq(mps_message_gc_not_condemned_size(arena, msg), 0);
  mps_message_discard(arena, msg);
  cr_assert_not(mps_message_poll(arena));
  /* Disabled: nothing more is posted. */
  mps_message_type_disable(arena, mps_message_type_gc());
  mps_message_type_disable(arena, mps_message_type_gc_start());
  mps_arena_collect(arena);
  cr_assert_not(mps_message_poll(arena));
  cr_assert_eq(collections_done(arena), 2);
  mps_root_destroy(root);
}

Test(trace, allocation_collects_when_the_nursery_is_full_unless_clamped)
{
  mps_addr_t table[1] = {NULL};
  mps_root_t root;
  size_t i, n = (64 * 1024) / CELLPOOL_SIZE;
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, table, 1), MPS_RES_OK);
  mps_arena_clamp(arena);
  for (i = 0; i < n + 100; ++i)
    (void)cell();
  cr_assert_eq(collections_done(arena), 0);          /* clamped */
  cr_assert_eq(cellpool_cells(pool), n + 100);
  mps_arena_release(arena);
  table[0] = cell();                                  /* polls: over capacity */
  cr_assert_eq(collections_done(arena), 1);
  /* Only the new cell and nothing else survives (it was allocated after
   * the collection). */
  cr_assert_eq(cellpool_cells(pool), 1);
  /* Allocation keeps the heap bounded by collecting as it goes. */
  for (i = 0; i < 20 * n; ++i) {
    mps_word_t *c = cell();
    c[0] = (mps_word_t)table[0];
    if (i % 100 == 0)
      table[0] = c;           /* a growing list of every 100th cell */
  }
  cr_assert_geq(collections_done(arena), 15);
  cr_assert_leq(cellpool_cells(pool), 2 * n + 20 * n / 100 + 10);
  mps_root_destroy(root);
}

Test(trace, step_collects_only_when_due_and_clamps_a_parked_arena)
{
  size_t i, n = (64 * 1024) / CELLPOOL_SIZE;
  mps_arena_park(arena);
  cr_assert_not(mps_arena_step(arena, 0.1, 1.0));
  cr_assert_eq(arena->state, ARENA_CLAMPED);
  for (i = 0; i <= n; ++i)
    (void)cell();
  cr_assert_eq(collections_done(arena), 0);
  cr_assert(mps_arena_step(arena, 0.1, 1.0));
  cr_assert_eq(collections_done(arena), 1);
  cr_assert_eq(cellpool_cells(pool), 0);
  cr_assert_not(mps_arena_step(arena, 0.1, 1.0));
  mps_arena_release(arena);
  cr_assert_not(mps_arena_step(arena, 0.0, 0.0));
  cr_assert_eq(arena->state, ARENA_UNCLAMPED);
}

/* A full collection condemns every generation, so each starts counting
 * its new objects again, due or not: a nursery filled to half and a bit
 * before mps_arena_collect is not due after as much again. */
Test(trace, a_full_collection_restarts_every_generation_count)
{
  size_t i, n = (64 * 1024) / CELLPOOL_SIZE;
  mps_arena_park(arena);
  for (i = 0; i < n / 2 + 100; ++i)
    (void)cell();
  mps_arena_collect(arena);
  for (i = 0; i < n / 2 + 100; ++i)
    (void)cell();
  cr_assert_not(mps_arena_step(arena, 0.1, 1.0),
                "the nursery still counted cells from before the collection");
  for (i = 0; i < n / 2; ++i)
    (void)cell();
  cr_assert(mps_arena_step(arena, 0.1, 1.0));
}

/* The gc message's not-condemned size is the collectable memory the
 * collection left alone: here the segments of a pool whose chain was not
 * due. */
Test(trace, a_collection_of_one_chain_reports_the_others_as_not_condemned)
{
  mps_gen_param_s params[1] = {{100000, 0.5}};
  mps_chain_t big;
  mps_pool_t other;
  mps_message_t msg;
  mps_addr_t p;
  size_t i, n = (64 * 1024) / CELLPOOL_SIZE;
  mps_arena_park(arena);
  mps_message_type_enable(arena, mps_message_type_gc());
  cr_assert_eq(mps_chain_create(&big, arena, 1, params), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, big);
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
    cr_assert_eq(mps_pool_create_k(&other, arena, &cellpool_class, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  for (i = 0; i < 10; ++i)
    cr_assert_eq(mps_alloc(&p, other, CELLPOOL_SIZE), MPS_RES_OK);
  for (i = 0; i <= n; ++i)
    (void)cell();
  cr_assert(mps_arena_step(arena, 0.1, 1.0));
  cr_assert(mps_message_get(&msg, arena, mps_message_type_gc()));
  cr_assert_gt(mps_message_gc_condemned_size(arena, msg), 0);
  cr_assert_gt(mps_pool_total_size(other), 0);
  cr_assert_eq(mps_message_gc_not_condemned_size(arena, msg), mps_pool_total_size(other));
  mps_message_discard(arena, msg);
  mps_pool_destroy(other);
  mps_chain_destroy(big);
}

/* The condemn restarts the count of each chain's own due generations
 * only: a chain that was not due keeps, across another chain's
 * collection, what its nursery had taken, and is due once that and what
 * follows pass its capacity. */
Test(trace, a_collection_of_one_chain_leaves_the_others_counts_alone)
{
  mps_gen_param_s params[1] = {{64, 0.5}};
  mps_chain_t second;
  mps_pool_t other;
  mps_addr_t p;
  size_t i, n = (64 * 1024) / CELLPOOL_SIZE;
  mps_arena_park(arena);
  /* Made after the fixture's chain: second on the arena's ring of chains. */
  cr_assert_eq(mps_chain_create(&second, arena, 1, params), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, second);
    cr_assert_eq(mps_pool_create_k(&other, arena, &cellpool_class, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  for (i = 0; i < n / 2 + 100; ++i)
    cr_assert_eq(mps_alloc(&p, other, CELLPOOL_SIZE), MPS_RES_OK);
  for (i = 0; i <= n; ++i)
    (void)cell();
  cr_assert(mps_arena_step(arena, 0.1, 1.0));
  cr_assert_eq(collections_done(arena), 1);
  cr_assert_eq(cellpool_cells(other), n / 2 + 100, "the second chain was condemned");
  for (i = 0; i < n / 2; ++i)
    cr_assert_eq(mps_alloc(&p, other, CELLPOOL_SIZE), MPS_RES_OK);
  cr_assert(mps_arena_step(arena, 0.1, 1.0),
            "the first chain's collection restarted the second chain's count");
  cr_assert_eq(cellpool_cells(other), 0);
  mps_pool_destroy(other);
  mps_chain_destroy(second);
}

/* A root that nails the condemned segment of its cell, as a class with
 * nails would, and leaves the nail for the class to clear. */
static mps_res_t nailing_scan(mps_ss_t mps_ss, void *p, size_t s)
{
  ScanState ss = scan_state_of(mps_ss);
  Seg seg;
  UNUSED(s);
  cr_assert(seg_of_addr(&seg, ss->arena, addr_of_ptr(*(mps_addr_t *)p)));
  cr_assert_neq(seg->white & ss->traces, TRACE_SET_EMPTY);
  seg_set_nailed(seg, seg->nailed | ss->traces);
  return mps_fix(mps_ss, p);
}

/* A nail the class did not clear at reclaim is cleared with the white
 * when the collection ends (trace.c, trace_reclaim): no later trace may
 * find a segment nailed for a trace that is over. */
Test(trace, a_nail_the_class_left_is_cleared_when_the_collection_ends)
{
  mps_addr_t ref;
  mps_root_t root;
  Seg seg;
  mps_arena_park(arena);
  ref = cell();
  cr_assert_eq(mps_root_create(&root, arena, mps_rank_exact(), 0, nailing_scan, &ref, 0),
               MPS_RES_OK);
  mps_arena_collect(arena);
  cr_assert(seg_of_addr(&seg, arena, addr_of_ptr(ref)));
  cr_assert_eq(seg->nailed, TRACE_SET_EMPTY, "a nail outlived its trace");
  cr_assert_eq(seg->white, TRACE_SET_EMPTY);
  mps_arena_collect(arena);
  cr_assert(cellpool_is_cell(pool, ref));
  mps_root_destroy(root);
}

/* arena.rst: mps_arena_collect leaves the arena parked, whatever its
 * state before, so that allocation past the nursery's capacity starts
 * nothing until the arena is released. */
Test(trace, collect_leaves_an_unclamped_arena_parked)
{
  size_t i, n = (64 * 1024) / CELLPOOL_SIZE;
  cr_assert_eq(arena->state, ARENA_UNCLAMPED);
  mps_arena_collect(arena);
  cr_assert_eq(arena->state, ARENA_PARKED);
  for (i = 0; i < 2 * n; ++i)
    (void)cell();
  cr_assert_eq(collections_done(arena), 1, "a parked arena collected");
  mps_arena_release(arena);
  (void)cell();
  cr_assert_eq(collections_done(arena), 2);
}

Test(trace, start_collect_runs_a_full_collection_and_leaves_unclamped)
{
  (void)cell();
  mps_arena_clamp(arena);
  cr_assert_eq(mps_arena_start_collect(arena), MPS_RES_OK);
  cr_assert_eq(collections_done(arena), 1);
  cr_assert_eq(cellpool_cells(pool), 0);
  cr_assert_eq(arena->state, ARENA_UNCLAMPED);
}

/* The gc_start message of the next collection, whose why must contain
 * `cause` (message.rst: a description of why it began). */
static void expect_next_collection_because(const char *cause, const char *not_cause)
{
  mps_message_t msg;
  const char *why;
  cr_assert(mps_message_get(&msg, arena, mps_message_type_gc_start()));
  why = mps_message_gc_start_why(arena, msg);
  cr_assert_not_null(strstr(why, cause), "why: %s", why);
  if (not_cause != NULL)
    cr_assert_null(strstr(why, not_cause), "why: %s", why);
  mps_message_discard(arena, msg);
}

Test(trace, each_collection_says_who_started_it)
{
  size_t i, n = (64 * 1024) / CELLPOOL_SIZE;
  mps_message_type_enable(arena, mps_message_type_gc_start());
  mps_arena_collect(arena);
  expect_next_collection_because("mps_arena_collect", NULL);
  /* A due nursery: collected by a step, then by allocation. */
  for (i = 0; i <= n; ++i)
    (void)cell();
  cr_assert(mps_arena_step(arena, 0.1, 1.0));
  mps_arena_park(arena);
  expect_next_collection_because("mps_arena_step", NULL);
  mps_arena_release(arena);
  for (i = 0; i <= n + 1; ++i)
    (void)cell();
  cr_assert_eq(collections_done(arena), 3);
  expect_next_collection_because("capacity", "mps_arena_step");
  cr_assert_not(mps_message_poll(arena));
}

/* A collection needs no memory to start, since getting memory back is
 * what it is for: its trace lives in the collector's own block, and its
 * messages were made when the last collection ended.  The first one,
 * with no messages made yet and every request refused, still collects,
 * and posts neither message (design/message-gc.txt .req.match); the
 * messages for the next one are made as it ends, so that one posts both
 * though it too is refused memory. */
Test(trace, a_collection_needs_no_memory_and_its_messages_were_made_before_it)
{
  mps_message_t message;
  mps_message_type_enable(arena, mps_message_type_gc_start());
  mps_message_type_enable(arena, mps_message_type_gc());
  (void)cell();
  arena_fail_after(arena, 1);   /* the first message of the first collection */
  cr_assert_eq(mps_arena_start_collect(arena), MPS_RES_OK);
  mps_arena_park(arena);
  cr_assert_eq(collections_done(arena), 1);
  cr_assert_eq(cellpool_cells(pool), 0);
  cr_assert_not(mps_message_poll(arena), "a message without memory for it");
  cr_assert_eq(arena->gc->messages_dropped, 1);
  (void)cell();
  arena_fail_after(arena, 1);
  cr_assert_eq(mps_arena_collect(arena), MPS_RES_OK);
  arena_fail_after(arena, 0);
  cr_assert_eq(collections_done(arena), 2);
  cr_assert_eq(cellpool_cells(pool), 0);
  cr_assert_eq(arena->state, ARENA_PARKED);
  cr_assert(mps_message_get(&message, arena, mps_message_type_gc_start()));
  mps_message_discard(arena, message);
  cr_assert(mps_message_get(&message, arena, mps_message_type_gc()));
  cr_assert_gt(mps_message_gc_condemned_size(arena, message), 0);
  mps_message_discard(arena, message);
  cr_assert_eq(arena->gc->messages_dropped, 1);
}

Test(trace, postmortem_stops_collection)
{
  (void)cell();
  mps_arena_postmortem(arena);
  cr_assert_eq(arena->state, ARENA_POSTMORTEM);
  mps_arena_collect(arena);
  cr_assert_eq(collections_done(arena), 0);
  cr_assert_eq(cellpool_cells(pool), 1);
  /* With no collection in progress, the other states can be had again. */
  mps_arena_park(arena);
  cr_assert_eq(arena->state, ARENA_PARKED);
  mps_arena_release(arena);
  cr_assert_eq(arena->state, ARENA_UNCLAMPED);
}

/* arena.rst: in the postmortem state no collection starts: neither a
 * step, with the nursery over capacity, nor mps_arena_start_collect does
 * any work, and the arena stays postmortem. */
Test(trace, postmortem_stops_steps_and_started_collections)
{
  size_t i, n = (64 * 1024) / CELLPOOL_SIZE;
  mps_arena_park(arena);
  for (i = 0; i <= n; ++i)
    (void)cell();
  mps_arena_postmortem(arena);
  cr_assert_not(mps_arena_step(arena, 0.1, 1.0));
  cr_assert_eq(mps_arena_start_collect(arena), MPS_RES_OK);
  cr_assert_eq(collections_done(arena), 0);
  cr_assert_eq(cellpool_cells(pool), n + 1);
  cr_assert_eq(arena->state, ARENA_POSTMORTEM);
  mps_arena_release(arena);
}

Test(trace, deep_structures_need_no_recursion)
{
  mps_addr_t table[1];
  mps_root_t root;
  mps_word_t *head = NULL;
  int i;
  mps_arena_park(arena);
  for (i = 0; i < 50000; ++i) {
    mps_word_t *c = cell();
    /* Link backwards in address order, so marking runs against the scan
     * direction and segments are scanned repeatedly. */
    c[2] = (mps_word_t)head;
    head = c;
  }
  table[0] = head;
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, table, 1), MPS_RES_OK);
  mps_arena_collect(arena);
  cr_assert_eq(cellpool_cells(pool), 50000);
  table[0] = (mps_addr_t)((mps_word_t *)head)[2];   /* drop the head only */
  mps_arena_collect(arena);
  cr_assert_eq(cellpool_cells(pool), 49999);
  mps_root_destroy(root);
}

Test(trace, two_pools_references_across)
{
  mps_pool_t other;
  mps_addr_t table[1];
  mps_root_t root;
  mps_word_t *a, *b;
  mps_arena_park(arena);
  cr_assert_eq(mps_pool_create_k(&other, arena, &cellpool_class, mps_args_none), MPS_RES_OK);
  a = cell();
  cr_assert_eq(mps_alloc((mps_addr_t *)&b, other, CELLPOOL_SIZE), MPS_RES_OK);
  a[1] = (mps_word_t)b;
  b[1] = (mps_word_t)a;
  table[0] = b;
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, table, 1), MPS_RES_OK);
  mps_arena_collect(arena);
  cr_assert(cellpool_is_cell(pool, a));
  cr_assert(cellpool_is_cell(other, b));
  table[0] = NULL;
  mps_arena_collect(arena);
  cr_assert_not(cellpool_is_cell(pool, a));
  cr_assert_not(cellpool_is_cell(other, b));
  mps_root_destroy(root);
  mps_pool_destroy(other);   /* uses the default chain */
}

Test(trace, fix_leaves_references_outside_the_white_set_alone)
{
  scan_state_s ss;
  Addr ref;
  mps_word_t *c = cell();
  int local;
  arena_enter(arena);
  scan_state_init(&ss, arena, NULL, RANK_EXACT);
  cr_assert(scan_state_check(&ss));
  cr_assert_eq(ss.ss_s._w, ZONE_SET_EMPTY);
  cr_assert_eq(ss.ss_s._zs, arena->gc->zone_shift);
  ref = addr_of_ptr(&local);
  cr_assert_eq(trace_fix(&ss, &ref), MPS_RES_OK);
  cr_assert_eq(ref, addr_of_ptr(&local));
  ref = addr_of_ptr(c);   /* a cell, but nothing is white */
  cr_assert_eq(trace_fix(&ss, &ref), MPS_RES_OK);
  cr_assert_eq(ref, addr_of_ptr(c));
  cr_assert_eq(ss.fixes, 2);
  scan_state_finish(&ss);
  cr_assert_null(trace_current(arena));
  arena_leave(arena);
  cr_assert_eq(mps_rank_ambig(), RANK_AMBIG);
  cr_assert_eq(mps_rank_exact(), RANK_EXACT);
  cr_assert_eq(mps_rank_weak(), RANK_WEAK);
}

/* A registered thread's stack is a root; the collection is started by
 * the main thread, which is not registered: diagnosed. */
static atomic_int trace_helper_state;   /* 0 start, 1 ready, 2 go */

static void *trace_helper(void *arg)
{
  mps_thr_t thr;
  mps_root_t root;
  UNUSED(arg);
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  /* Its stack, from this frame up, is a root. */
  cr_assert_eq(mps_root_create_thread(&root, arena, thr, &thr), MPS_RES_OK);
  /* release: the root exists before the main thread collects */
  atomic_store_explicit(&trace_helper_state, 1, memory_order_release);
  /* acquire: pairs with the main thread's release of 2 */
  while (atomic_load_explicit(&trace_helper_state, memory_order_acquire) != 2)
    sched_yield();
  mps_root_destroy(root);
  mps_thread_dereg(thr);
  return NULL;
}

Test(trace, collection_by_an_unregistered_thread_with_thread_roots_is_diagnosed, TEST_NEEDS_THREADS)
{
  pthread_t t;
  atomic_store_explicit(&trace_helper_state, 0, memory_order_relaxed);
  cr_assert_eq(pthread_create(&t, NULL, trace_helper, NULL), 0);
  /* acquire: see the root the helper made */
  while (atomic_load_explicit(&trace_helper_state, memory_order_acquire) != 1)
    sched_yield();
  reports_install();
  mps_arena_collect(arena);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
  cr_assert_eq(collections_done(arena), 1);   /* it went on regardless */
  /* release: the helper may tidy up now */
  atomic_store_explicit(&trace_helper_state, 2, memory_order_release);
  pthread_join(t, NULL);
}

/* A root whose scan fails as many times as flaky_failures_left says, then
 * fixes its one reference. */
static int flaky_failures_left;

static mps_res_t flaky_scan(mps_ss_t ss, void *p, size_t s)
{
  UNUSED(s);
  if (flaky_failures_left > 0) {
    --flaky_failures_left;
    return MPS_RES_FAIL;
  }
  return mps_fix(ss, p);
}

/* A root scan that fails is tried again, and reported only if it keeps
 * failing; the collection goes on either way. */
Test(trace, a_failed_root_scan_is_tried_again_and_reported_if_it_keeps_failing)
{
  mps_addr_t ref;
  mps_root_t root;
  mps_arena_park(arena);
  ref = cell();
  cr_assert_eq(mps_root_create(&root, arena, mps_rank_exact(), 0, flaky_scan, &ref, 0),
               MPS_RES_OK);
  reports_install();
  flaky_failures_left = 1;
  mps_arena_collect(arena);
  cr_assert_eq(reports_seen(), 0, "a root scan that failed once was reported");
  cr_assert(cellpool_is_cell(pool, ref), "the root was not scanned again");
  flaky_failures_left = 1000;
  mps_arena_collect(arena);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1, "a root scan that kept failing was not reported");
  cr_assert_eq(collections_done(arena), 2);
  mps_root_destroy(root);
}

/* A thread registered here that exits without deregistering (a client
 * error, thread.rst). */
static void *register_and_exit(void *arg)
{
  cr_assert_eq(mps_thread_reg(arg, arena), MPS_RES_OK);
  return NULL;
}

/* A registered thread whose stack is a root, holding one cell there. */
static atomic_int keeper_state;   /* 0 start, 1 ready, 2 go */
static mps_word_t *keeper_cell;

static NOINLINE void keeper_hold(void)
{
  mps_word_t *volatile mine = cell();
  keeper_cell = mine;
  /* release: the cell is made before the main thread collects */
  atomic_store_explicit(&keeper_state, 1, memory_order_release);
  /* acquire: pairs with the main thread's release of 2 */
  while (atomic_load_explicit(&keeper_state, memory_order_acquire) != 2)
    sched_yield();
  cr_assert_eq(mine, keeper_cell);
}

static void *keeper(void *arg)
{
  mps_thr_t thr;
  mps_root_t root;
  UNUSED(arg);
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_thread(&root, arena, thr, &thr), MPS_RES_OK);
  keeper_hold();
  mps_root_destroy(root);
  mps_thread_dereg(thr);
  return NULL;
}

/* The first attempt to suspend the threads for a collection finds one
 * that exited registered, reports it and suspends nothing; the second
 * skips it, so that the collection goes on with every other thread
 * suspended, and scans the live one's stack. */
Test(trace, a_thread_that_exited_registered_does_not_stop_the_others_being_suspended, TEST_NEEDS_THREADS)
{
  pthread_t t;
  mps_thr_t me, dead;
  mps_arena_park(arena);
  cr_assert_eq(mps_thread_reg(&me, arena), MPS_RES_OK);   /* it may collect */
  cr_assert_eq(pthread_create(&t, NULL, register_and_exit, &dead), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
  atomic_store_explicit(&keeper_state, 0, memory_order_relaxed);
  cr_assert_eq(pthread_create(&t, NULL, keeper, NULL), 0);
  /* acquire: see the cell and the root the keeper made */
  while (atomic_load_explicit(&keeper_state, memory_order_acquire) != 1)
    sched_yield();
  reports_install();
  mps_arena_collect(arena);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1, "reports other than the exited thread's");
  cr_assert(cellpool_is_cell(pool, keeper_cell), "the live thread's stack was not scanned");
  cr_assert_eq(collections_done(arena), 1);
  /* release: the keeper may tidy up now */
  atomic_store_explicit(&keeper_state, 2, memory_order_release);
  cr_assert_eq(pthread_join(t, NULL), 0);
  mps_thread_dereg(dead);
  mps_thread_dereg(me);
}

/* A segment class like the cell pool's whose scan fails: leaving the
 * segment grey, or after blackening it (giving up on it). */
static seg_class_s failing_class;
static unsigned failing_scans;
static bool failing_blackens;

static Res failing_scan(bool *total_o, Seg seg, ScanState ss)
{
  UNUSED(total_o);
  ++failing_scans;
  if (failing_blackens)
    seg_set_grey(seg, seg->grey & ~ss->traces);
  return MPS_RES_FAIL;
}

/* Collect with the segment of a cell the root refers to scanned by
 * failing_scan; the cell must survive (its own fix marked it). */
static void collect_with_a_failing_scan(bool blackens)
{
  mps_addr_t table[1];
  mps_root_t root;
  SegClass was;
  Seg seg;
  mps_arena_park(arena);
  table[0] = cell();
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, table, 1), MPS_RES_OK);
  cr_assert(seg_of_addr(&seg, arena, addr_of_ptr(table[0])));
  was = seg->klass;
  failing_class = *was;
  failing_class.scan = failing_scan;
  seg->klass = &failing_class;
  failing_blackens = blackens;
  failing_scans = 0;
  reports_install();
  mps_arena_collect(arena);
  reports_install_abort();
  seg->klass = was;
  cr_assert_eq(collections_done(arena), 1);
  cr_assert(cellpool_is_cell(pool, table[0]));
  mps_root_destroy(root);
}

/* A segment scan that keeps failing is tried TRACE_SCAN_TRIES times,
 * then reported and given up on, and the collection goes on. */
Test(trace, a_segment_scan_that_keeps_failing_is_tried_again_then_reported)
{
  collect_with_a_failing_scan(false);
  cr_assert_eq(failing_scans, 4, "%u scans", failing_scans);
  cr_assert_eq(reports_seen(), 1, "the failure was not reported");
}

/* A class that blackens a segment whose scan failed has given up on it:
 * it is neither scanned again nor reported. */
Test(trace, a_segment_its_class_blackened_after_a_failed_scan_is_left_alone)
{
  collect_with_a_failing_scan(true);
  cr_assert_eq(failing_scans, 1, "%u scans", failing_scans);
  cr_assert_eq(reports_seen(), 0);
}

/* A registered thread that counts for ever, to show it is not suspended. */
static atomic_uint spinner_count;
static atomic_int spinner_ready;

static void *spinner(void *arg)
{
  mps_thr_t thr;
  UNUSED(arg);
  if (mps_thread_reg(&thr, arena) != MPS_RES_OK)
    _exit(20);
  /* release: registered before the collection */
  atomic_store_explicit(&spinner_ready, 1, memory_order_release);
  for (;;)
    atomic_fetch_add_explicit(&spinner_count, 1, memory_order_relaxed);
  return NULL;
}

/* Called by the collection with the spinner suspended: postmortem, and
 * then the spinner must count again within five seconds. */
static mps_res_t postmortem_scan(mps_ss_t ss, void *p, size_t s)
{
  unsigned before;
  int i;
  UNUSED(ss);
  UNUSED(p);
  UNUSED(s);
  mps_arena_postmortem(arena);
  before = atomic_load_explicit(&spinner_count, memory_order_relaxed);
  for (i = 0; i < 5000; ++i) {
    if (atomic_load_explicit(&spinner_count, memory_order_relaxed) != before)
      _exit(0);
    usleep(1000);
  }
  _exit(2);
}

/* guide/debug.rst, arena.rst: mps_arena_postmortem from inside a
 * collection (a scan, as from a debugger stopped in one) lets the threads
 * the collection suspended run, so that they can be inspected.  In a
 * child, since the collection cannot go on afterwards. */
Test(trace, postmortem_inside_a_collection_lets_the_suspended_threads_go)
{
  pid_t pid = fork();
  int status;
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    pthread_t t;
    mps_root_t root;
    if (pthread_create(&t, NULL, spinner, NULL) != 0)
      _exit(10);
    /* acquire: pairs with the spinner's release */
    while (atomic_load_explicit(&spinner_ready, memory_order_acquire) == 0)
      sched_yield();
    if (mps_root_create(&root, arena, mps_rank_exact(), 0, postmortem_scan, NULL, 0)
        != MPS_RES_OK)
      _exit(11);
    mps_arena_collect(arena);
    _exit(13);   /* the root was not scanned */
  }
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status), "the child did not exit (status %d)", status);
  cr_assert_eq(WEXITSTATUS(status), 0, "exit code %d", WEXITSTATUS(status));
}

/* In an arena that never had a collector state, a collection makes it
 * first.  If that is refused, nothing is collected and the result says
 * so, for mps_arena_collect and mps_arena_start_collect alike; the arena
 * collects once memory is there again. */
Test(trace_fresh, a_collection_that_cannot_make_the_collectors_state_says_so)
{
  mps_arena_t fresh;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)8 << 20);
    cr_assert_eq(mps_arena_create_k(&fresh, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_null(((Arena)fresh)->gc);
  arena_fail_after((Arena)fresh, 1);
  cr_assert_eq(mps_arena_collect(fresh), MPS_RES_MEMORY);
  arena_fail_after((Arena)fresh, 1);
  cr_assert_eq(mps_arena_start_collect(fresh), MPS_RES_MEMORY);
  arena_fail_after((Arena)fresh, 0);
  cr_assert_null(((Arena)fresh)->gc);
  cr_assert_eq(collections_done(fresh), 0);
  cr_assert_eq(mps_arena_collect(fresh), MPS_RES_OK);
  cr_assert_eq(collections_done(fresh), 1);
  mps_arena_destroy(fresh);
}
