/* Unit tests for generation chains and PoolGen accounting
 * (src/gc/chain.c): creation and its parameter checks, the default
 * chain, chain_due over several pools and during a ramp, chain_condemned,
 * a chain of another arena (or none) refused, and the checks at destroy;
 * the top generation and when a collection of the world is due; and the
 * tracer's policy for automatic collections over such
 * generations (trace_due_is_ripe), and gc_check's invariants on busy
 * traces. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/gc/chain.h"
#include "../src/gc/gc.h"
#include "../src/gc/trace.h"
#include "../src/pool/pool.h"
#include "support/checks.h"
#include "support/reports.h"

static Res tchain_pool_init(Pool pool, mps_arg_s args[])
{
  UNUSED(pool);
  UNUSED(args);
  return MPS_RES_OK;
}

static void tchain_pool_finish(Pool pool) { UNUSED(pool); }

static pool_class_s tchain_pool_class = {
  POOL_CLASS_SIG, "test-chain-pool", sizeof(mps_pool_s), tchain_pool_init,
  tchain_pool_finish, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

static mps_arena_t arena;

static void setup(void)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)16 << 20);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_OK);
}

static void teardown(void) { mps_arena_destroy(arena); }

static Pool make_pool(void)
{
  mps_pool_t pool;
  cr_assert_eq(mps_pool_create_k(&pool, arena, &tchain_pool_class, mps_args_none),
               MPS_RES_OK);
  return (Pool)pool;
}

/* A pool's acquisition of chain through MPS_KEY_CHAIN (the arena
 * entered), as pool creation makes it. */
static void tchain_acquire(mps_chain_t chain)
{
  mps_arg_s args[2];
  Chain got;
  args[0].key = MPS_KEY_CHAIN;
  args[0].val.chain = chain;
  args[1].key = MPS_KEY_ARGS_END;
  cr_assert_eq(chain_acquire(&got, arena, args), MPS_RES_OK);
  cr_assert_eq(got, chain);
  cr_assert_eq(args[0].key, MPS_KEY_ARGS_END);   /* taken from the list */
}

/* The start of a test of a pool's two generations of `chain`: the arena
 * entered, the chain acquired, the generations made. */
static void tchain_open_two(mps_chain_t chain, Pool pool, pool_gen_s *g0, pool_gen_s *g1)
{
  arena_enter(arena);
  tchain_acquire(chain);
  pool_gen_init(g0, pool, chain, 0);
  pool_gen_init(g1, pool, chain, 1);
}

/* The end of a test of a pool's two generations of `chain`, acquired
 * with the arena entered: the generations go (their segments' sizes were
 * the test's own), then the acquisition, the lock, the pool and the
 * chain. */
static void tchain_finish_two(mps_chain_t chain, Pool pool, pool_gen_s *g0, pool_gen_s *g1)
{
  g0->total_size = g1->total_size = 0;
  pool_gen_finish(g0);
  pool_gen_finish(g1);
  chain_release(chain);
  arena_leave(arena);
  mps_pool_destroy((mps_pool_t)pool);
  mps_chain_destroy(chain);
}

TestSuite(chain, .init = setup, .fini = teardown);

Test(chain, create_converts_capacity_and_keeps_parameters)
{
  mps_gen_param_s params[3] = {{100, 0.9}, {200, 0.5}, {300, 0.0}};
  mps_chain_t chain;
  cr_assert_eq(mps_chain_create(&chain, arena, 3, params), MPS_RES_OK);
  cr_assert(chain_check(chain));
  cr_assert_eq(chain->gen_count, 3);
  cr_assert_eq(chain->gens[0].capacity, (Size)100 * 1024);
  cr_assert_eq(chain->gens[2].capacity, (Size)300 * 1024);
  cr_assert_eq(chain->gens[1].mortality, 0.5);
  cr_assert_eq(chain->pools, 0);
  cr_assert_eq(arena->gc->chains_count, 1);
  mps_chain_destroy(chain);
  cr_assert_eq(arena->gc->chains_count, 0);
  cr_assert(ring_is_single(&arena->gc->chain_ring));
}

Test(chain, due_follows_new_size_against_capacity)
{
  mps_gen_param_s params[3] = {{1, 0.9}, {2, 0.5}, {4, 0.5}};
  mps_chain_t chain;
  pool_gen_s a0, a1, a2, b0;
  Pool pa = make_pool(), pb = make_pool();

  cr_assert_eq(mps_chain_create(&chain, arena, 3, params), MPS_RES_OK);
  arena_enter(arena);
  tchain_acquire(chain);
  tchain_acquire(chain);
  cr_assert_eq(chain->pools, 2);
  pool_gen_init(&a0, pa, chain, 0);
  pool_gen_init(&a1, pa, chain, 1);
  pool_gen_init(&a2, pa, chain, 2);
  pool_gen_init(&b0, pb, chain, 0);

  cr_assert_eq(chain_due(chain), 0);
  pool_gen_account_alloc(&a0, 600);
  pool_gen_account_alloc(&b0, 424);
  cr_assert_eq(chain_due(chain), 0);        /* exactly at capacity: not over */
  pool_gen_account_alloc(&b0, 1);
  cr_assert_eq(chain_due(chain), 1);        /* the two pools together */
  /* Generation 2 due but not 1: every generation up to the highest due
   * one (collection.rst). */
  pool_gen_account_alloc(&a2, 5000);
  cr_assert_eq(chain_due(chain), 7);
  pool_gen_account_alloc(&a1, 3000);
  cr_assert_eq(chain_due(chain), 7);
  chain_condemned(chain, 3);
  cr_assert_eq(a0.new_size, 0);
  cr_assert_eq(b0.new_size, 0);
  cr_assert_eq(a1.new_size, 0);
  cr_assert_eq(a2.new_size, 5000);
  cr_assert_eq(chain->gens[0].collections, 1);
  cr_assert_eq(chain->gens[2].collections, 0);
  cr_assert_eq(chain_due(chain), 7);        /* a later one brings those below */
  /* Saturation rather than wrap-around, in each pool and in their sum,
   * with nothing else due. */
  chain_condemned(chain, 7);
  cr_assert_eq(chain_due(chain), 0);
  pool_gen_account_alloc(&a0, (Size)-1);
  pool_gen_account_alloc(&a0, 10);
  cr_assert_eq(a0.new_size, (Size)-1);
  pool_gen_account_alloc(&b0, 10);
  cr_assert_eq(chain_due(chain), 1);

  pool_gen_finish(&a0);
  pool_gen_finish(&a1);
  pool_gen_finish(&a2);
  pool_gen_finish(&b0);
  chain_release(chain);
  chain_release(chain);
  arena_leave(arena);
  mps_pool_destroy((mps_pool_t)pa);
  mps_pool_destroy((mps_pool_t)pb);
  mps_chain_destroy(chain);
}

Test(chain, default_chain_is_shared_and_destroyed_with_arena)
{
  Chain c1, c2;
  arena_enter(arena);
  cr_assert_eq(chain_acquire(&c1, arena, mps_args_none), MPS_RES_OK);
  cr_assert_eq(chain_acquire(&c2, arena, mps_args_none), MPS_RES_OK);
  cr_assert_eq(c1, c2);
  cr_assert_eq(c1, arena->gc->default_chain);
  cr_assert(c1->gen_count >= 1);
  cr_assert_eq(c1->pools, 2);
  chain_release(c1);
  chain_release(c2);
  arena_leave(arena);
  /* teardown: gc_finish destroys it; nothing left to report. */
}

Test(chain, huge_capacity_saturates)
{
  mps_gen_param_s params[1] = {{(size_t)-1, 0.5}};
  mps_chain_t chain;
  cr_assert_eq(mps_chain_create(&chain, arena, 1, params), MPS_RES_OK);
  cr_assert_eq(chain->gens[0].capacity, (Size)-1);
  mps_chain_destroy(chain);
}

/* Misuse: refused through the assertion handler. */

Test(chain, bad_parameters_are_refused)
{
  mps_gen_param_s zero[1] = {{0, 0.5}};
  mps_gen_param_s mort[1] = {{10, 1.5}};
  mps_gen_param_s many[CHAIN_GEN_LIMIT + 1];
  mps_chain_t chain;
  size_t i;
  for (i = 0; i <= CHAIN_GEN_LIMIT; ++i) {
    many[i].mps_capacity = 1;
    many[i].mps_mortality = 0.5;
  }
  reports_install();
  cr_assert_eq(mps_chain_create(&chain, arena, 1, zero), MPS_RES_PARAM);
  cr_assert_eq(mps_chain_create(&chain, arena, 1, mort), MPS_RES_PARAM);
  cr_assert_eq(mps_chain_create(&chain, arena, 0, many), MPS_RES_PARAM);
  cr_assert_eq(mps_chain_create(&chain, arena, CHAIN_GEN_LIMIT + 1, many), MPS_RES_PARAM);
  cr_assert_eq(mps_chain_create(&chain, arena, 1, NULL), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), TEST_REPORTS(5));
  reports_install_abort();
  cr_assert_eq(mps_chain_create(&chain, arena, CHAIN_GEN_LIMIT, many), MPS_RES_OK);
  mps_chain_destroy(chain);
}

/* collection.rst: a mortality is a fraction from 0 to 1, both ends
 * included; anything outside is refused. */
Test(chain, mortality_is_allowed_from_zero_to_one_inclusive)
{
  mps_gen_param_s ends[2] = {{10, 0.0}, {10, 1.0}};
  mps_gen_param_s negative[1] = {{10, -0.1}};
  mps_chain_t chain;
  cr_assert_eq(mps_chain_create(&chain, arena, 2, ends), MPS_RES_OK);
  cr_assert_eq(chain->gens[0].mortality, 0.0);
  cr_assert_eq(chain->gens[1].mortality, 1.0);
  mps_chain_destroy(chain);
  reports_install();
  cr_assert_eq(mps_chain_create(&chain, arena, 1, negative), MPS_RES_PARAM);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
}

Test(chain, destroying_chain_in_use_is_refused)
{
  mps_gen_param_s params[1] = {{10, 0.5}};
  mps_chain_t chain;
  cr_assert_eq(mps_chain_create(&chain, arena, 1, params), MPS_RES_OK);
  arena_enter(arena);
  tchain_acquire(chain);
  arena_leave(arena);
  reports_install();
  mps_chain_destroy(chain);          /* refused: still there */
  TEST_ASSERT_REPORTED(reports_seen());
  reports_install_abort();
  cr_assert_eq(chain->sig, CHAIN_SIG);
  arena_enter(arena);
  chain_release(chain);
  arena_leave(arena);
  mps_chain_destroy(chain);
}

/* A pool's chain argument that acquiring refuses with MPS_RES_PARAM,
 * handing out no chain; returns the reports it made. */
static int tchain_acquire_refused(mps_chain_t chain)
{
  mps_arg_s args[2];
  Chain got = NULL;
  args[0].key = MPS_KEY_CHAIN;
  args[0].val.chain = chain;
  args[1].key = MPS_KEY_ARGS_END;
  reports_install();
  arena_enter(arena);
  cr_assert_eq(chain_acquire(&got, arena, args), MPS_RES_PARAM);
  arena_leave(arena);
  reports_install_abort();
  cr_assert_null(got);
  return reports_seen();
}

/* collection.rst: a pool's chain is one of its own arena's. */
Test(chain, a_chain_of_another_arena_is_refused)
{
  mps_gen_param_s params[1] = {{10, 0.5}};
  mps_arena_t other;
  mps_chain_t chain;
  MPS_ARGS_BEGIN(oargs) {
    MPS_ARGS_ADD(oargs, MPS_KEY_ARENA_SIZE, (size_t)16 << 20);
    cr_assert_eq(mps_arena_create_k(&other, mps_arena_class_vm(), oargs), MPS_RES_OK);
  } MPS_ARGS_END(oargs);
  cr_assert_eq(mps_chain_create(&chain, other, 1, params), MPS_RES_OK);
  TEST_ASSERT_REPORTED(tchain_acquire_refused(chain));
  cr_assert_eq(chain->pools, 0, "not counted as used");
  mps_chain_destroy(chain);
  mps_arena_destroy(other);
}

/* A chain destroyed twice: the second destroy is reported and does
 * nothing (the arena's count of chains stays right). */
Test(chain, destroying_a_chain_twice_is_refused)
{
  mps_gen_param_s params[1] = {{10, 0.5}};
  mps_chain_t chain, other;
  cr_assert_eq(mps_chain_create(&other, arena, 1, params), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&chain, arena, 1, params), MPS_RES_OK);
  mps_chain_destroy(chain);
  reports_install();
  mps_chain_destroy(chain);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert_eq(arena->gc->chains_count, 1);
  mps_chain_destroy(other);
  cr_assert(ring_is_single(&arena->gc->chain_ring));
}

/* A null chain passed as MPS_KEY_CHAIN is reported and refused, and no
 * chain is counted as used. */
Test(chain, a_null_chain_is_refused)
{
  cr_assert_eq(tchain_acquire_refused(NULL), TEST_REPORTS(1));
}

/* The policy of pattern.c and chain.c (design/strategy.txt leaves it to
 * the implementation): while an allocation point is in a ramp, the
 * nursery alone may take more than its capacity, and a bounded amount.
 * (The arena is marked as ramping directly: this pool class has no
 * allocation points.) */
Test(chain, a_ramp_gives_the_nursery_alone_an_allowance)
{
  mps_gen_param_s params[2] = {{1, 0.9}, {2, 0.5}};
  mps_chain_t chain;
  pool_gen_s g0, g1;
  Pool pool = make_pool();
  cr_assert_eq(mps_chain_create(&chain, arena, 2, params), MPS_RES_OK);
  tchain_open_two(chain, pool, &g0, &g1);
  pool_gen_account_alloc(&g0, 2048);       /* twice its capacity */
  cr_assert_eq(chain_due(chain), 1);
  ++arena->gc->pattern.ramping;
  cr_assert_eq(chain_due(chain), 0, "the ramp defers the nursery");
  pool_gen_account_alloc(&g0, 4096);       /* six times */
  cr_assert_eq(chain_due(chain), 1, "within a bound");
  chain_condemned(chain, 1);
  pool_gen_account_alloc(&g1, 3 * 1024);   /* over gen 1's capacity */
  cr_assert_eq(chain_due(chain), 3, "gen 1 has no allowance");
  --arena->gc->pattern.ramping;
  chain_condemned(chain, 3);
  tchain_finish_two(chain, pool, &g0, &g1);
}

/* A nursery of a quarter of the address space: a ramp's allowance, a
 * multiple of at least four, would wrap round to nothing if it did not
 * saturate, and the first byte would make the nursery due. */
Test(chain, a_ramp_allowance_on_a_huge_nursery_saturates)
{
  mps_gen_param_s params[2] = {{((Size)-1 / 4 + 1) / 1024, 0.9}, {2, 0.5}};
  mps_chain_t chain;
  pool_gen_s g0, g1;
  Pool pool = make_pool();
  cr_assert_eq(mps_chain_create(&chain, arena, 2, params), MPS_RES_OK);
  tchain_open_two(chain, pool, &g0, &g1);
  ++arena->gc->pattern.ramping;
  pool_gen_account_alloc(&g0, 1);
  cr_assert_eq(chain_due(chain), 0);
  --arena->gc->pattern.ramping;
  chain_condemned(chain, 1);
  tchain_finish_two(chain, pool, &g0, &g1);
}

/* The tracer's policy for automatic collections (trace.c,
 * trace_due_is_ripe): with the arena entered, whether an allocation's
 * poll starts a collection now.  One it starts is finished here.  The
 * pools of these tests have no segments, so such a collection condemns
 * nothing, but it restarts the count of the due generations. */
static bool tchain_poll_collects(void)
{
  Count before = arena->collections;
  trace_poll(arena);
  if (trace_current(arena) == NULL && arena->collections == before)
    return false;
  trace_park(arena);
  cr_assert_eq(arena->collections, before + 1);
  return true;
}

/* A due nursery is collected once it has taken an eighth of what the
 * older generations hold outside guarded segments: the collection scans
 * those, so it waits until it is worth their scan. */
Test(chain, an_automatic_collection_waits_for_an_eighth_of_the_unguarded_old_bytes)
{
  mps_gen_param_s params[2] = {{1, 0.9}, {100000, 0.5}};
  mps_chain_t chain;
  pool_gen_s g0, g1;
  Pool pool = make_pool();
  Size guarded;

  cr_assert_eq(mps_chain_create(&chain, arena, 2, params), MPS_RES_OK);
  tchain_open_two(chain, pool, &g0, &g1);
  /* The size of segments the older generation would hold: only the
   * policy reads it. */
  g1.total_size = 80 * 1024;
  pool_gen_account_alloc(&g0, 2048);
  cr_assert_eq(chain_due(chain), 1);
  cr_assert_not(tchain_poll_collects(), "2 KiB is less than an eighth of 80 KiB");
  pool_gen_account_alloc(&g0, 10 * 1024 - 2048);
  cr_assert(tchain_poll_collects(), "10 KiB is an eighth of 80 KiB");
  cr_assert_eq(g0.new_size, 0);
  /* With half the old bytes guarded, an eighth of the other half will do. */
  guarded = arena->gc->barrier.guarded;
  arena->gc->barrier.guarded = guarded + 40 * 1024;
  pool_gen_account_alloc(&g0, 4 * 1024);
  cr_assert_not(tchain_poll_collects());
  pool_gen_account_alloc(&g0, 1024);
  cr_assert(tchain_poll_collects(), "guarded bytes held it back");
  arena->gc->barrier.guarded = guarded;
  tchain_finish_two(chain, pool, &g0, &g1);
}

/* An older generation that is due counts as fresh, whatever its chain's
 * place on the arena's ring: here the second chain's, whose first
 * generation took nothing, with a first chain of nothing due. */
Test(chain, a_due_older_generation_of_a_later_chain_needs_no_wait)
{
  mps_gen_param_s idle[1] = {{1000, 0.5}};
  mps_gen_param_s params[2] = {{1, 0.9}, {16, 0.5}};
  mps_chain_t first, chain;
  pool_gen_s g0, g1;
  Pool pool = make_pool();

  cr_assert_eq(mps_chain_create(&first, arena, 1, idle), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&chain, arena, 2, params), MPS_RES_OK);
  tchain_open_two(chain, pool, &g0, &g1);
  pool_gen_account_alloc(&g1, 20 * 1024);
  g1.total_size = 200 * 1024;
  cr_assert_eq(chain_due(first), 0);
  cr_assert_eq(chain_due(chain), 3);
  cr_assert(tchain_poll_collects(), "the due generation was weighed as old");
  cr_assert_eq(g1.new_size, 0);
  tchain_finish_two(chain, pool, &g0, &g1);
  mps_chain_destroy(first);
}

/* The top generation (chain.h): one arena-wide chain of one generation,
 * made for the first pool that promotes and gone with the last, off the
 * ring of chains that collections of due generations consider, with the
 * largest capacity of the pools' chains' last generations. */
Test(chain, the_top_generation_is_shared_while_pools_use_it)
{
  mps_gen_param_s small[2] = {{1, 0.9}, {100, 0.5}};
  mps_gen_param_s big[1] = {{300, 0.5}};
  mps_chain_t a, b;
  Chain top, again;
  Ring node, next;
  cr_assert_eq(mps_chain_create(&a, arena, 2, small), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&b, arena, 1, big), MPS_RES_OK);
  arena_enter(arena);
  cr_assert_null(arena->gc->top_chain);
  cr_assert_eq(chain_top_acquire(&top, arena, a), MPS_RES_OK);
  cr_assert_eq(top, arena->gc->top_chain);
  cr_assert_eq(top->gen_count, 1);
  cr_assert_eq(top->gens[0].capacity, (Size)100 * 1024);
  RING_FOR(node, &arena->gc->chain_ring, next)
    cr_assert_neq(PARENT(mps_chain_s, gc_ring, node), top, "the top generation is on the ring");
  cr_assert_eq(arena->gc->chains_count, 2);
  cr_assert_eq(chain_top_acquire(&again, arena, b), MPS_RES_OK);
  cr_assert_eq(again, top);
  cr_assert_eq(top->gens[0].capacity, (Size)300 * 1024);
  cr_assert_eq(chain_top_acquire(&again, arena, a), MPS_RES_OK);
  cr_assert_eq(top->gens[0].capacity, (Size)300 * 1024, "the capacity went down");
  cr_assert_eq(top->pools, 3);
  chain_top_release(top);
  chain_top_release(top);
  cr_assert_eq(arena->gc->top_chain, top);
  chain_top_release(top);
  cr_assert_null(arena->gc->top_chain);
  arena_leave(arena);
  mps_chain_destroy(a);
  mps_chain_destroy(b);
}

/* A collection of the world is due once the top generation has taken,
 * from collections of due generations, more than its capacity and more
 * than it held before; what a collection of the world promotes into it
 * does not count.  The tracer's poll then collects the world. */
/* Whether a collection of the world is due with `t0` holding `before`
 * bytes besides what it took since the last one.  (Its sizes are the
 * test's own, with no segments, so they are put back before a check of
 * t0 can see them.) */
static bool tchain_top_due_holding(pool_gen_s *t0, Size before)
{
  bool due;
  t0->total_size = before + t0->new_size;
  due = chain_top_due(arena->gc);
  t0->total_size = 0;
  return due;
}

Test(chain, a_collection_of_the_world_is_due_when_the_top_generation_has_doubled)
{
  mps_gen_param_s params[1] = {{4, 0.5}};   /* 4 KiB */
  mps_chain_t chain;
  Chain top;
  pool_gen_s t0;
  Pool pool = make_pool();
  Count collections;
  bool collected;
  cr_assert_eq(mps_chain_create(&chain, arena, 1, params), MPS_RES_OK);
  arena_enter(arena);
  cr_assert_not(chain_top_due(arena->gc), "no top generation yet");
  cr_assert_eq(chain_top_acquire(&top, arena, chain), MPS_RES_OK);
  pool_gen_init(&t0, pool, top, 0);
  pool_gen_account_alloc(&t0, 4096);
  cr_assert_not(tchain_top_due_holding(&t0, 0), "exactly at capacity: not over");
  pool_gen_account_alloc(&t0, 1);
  cr_assert(tchain_top_due_holding(&t0, 0));
  cr_assert_not(tchain_top_due_holding(&t0, 10000), "4097 new bytes on 10000 held");
  pool_gen_account_alloc(&t0, 10000 - 4097);
  cr_assert_not(tchain_top_due_holding(&t0, 10000), "exactly doubled: not over");
  pool_gen_account_alloc(&t0, 1);
  cr_assert(tchain_top_due_holding(&t0, 10000));
  chain_world_collected(arena->gc);
  cr_assert_eq(t0.new_size, 0);
  cr_assert_not(tchain_top_due_holding(&t0, 10000));
  /* The poll's collection of the world: counted, and the count starts
   * again (the pool has no segments: nothing is condemned). */
  pool_gen_account_alloc(&t0, 30000);
  collections = top->gens[0].collections;
  t0.total_size = 10000 + t0.new_size;
  collected = tchain_poll_collects();
  t0.total_size = 0;
  cr_assert(collected, "no collection of the world");
  cr_assert_eq(top->gens[0].collections, collections + 1);
  cr_assert_eq(t0.new_size, 0);
  cr_assert_not(tchain_top_due_holding(&t0, 10000));
  pool_gen_finish(&t0);
  chain_top_release(top);
  arena_leave(arena);
  mps_pool_destroy((mps_pool_t)pool);
  mps_chain_destroy(chain);
}

/* mps_arena_step starts a collection of the world when one is due, in a
 * clamped arena too (arena.rst: a step does work whatever the state). */
Test(chain, a_step_collects_the_world_when_the_top_generation_has_doubled)
{
  mps_gen_param_s params[1] = {{4, 0.5}};
  mps_chain_t chain;
  Chain top;
  pool_gen_s t0;
  Pool pool = make_pool();
  mps_message_t message;
  bool worked;
  cr_assert_eq(mps_chain_create(&chain, arena, 1, params), MPS_RES_OK);
  mps_message_type_enable(arena, mps_message_type_gc_start());
  mps_arena_clamp(arena);
  arena_enter(arena);
  cr_assert_eq(chain_top_acquire(&top, arena, chain), MPS_RES_OK);
  pool_gen_init(&t0, pool, top, 0);
  pool_gen_account_alloc(&t0, 4096);
  arena_leave(arena);
  t0.total_size = t0.new_size;   /* no segments: the test's own sizes */
  worked = mps_arena_step(arena, 0.0, 1.0);
  t0.total_size = 0;
  cr_assert_not(worked, "a step with nothing due worked");
  cr_assert_eq(top->gens[0].collections, 0);
  arena_enter(arena);
  pool_gen_account_alloc(&t0, 1);
  arena_leave(arena);
  t0.total_size = t0.new_size;
  worked = mps_arena_step(arena, 0.0, 1.0);
  t0.total_size = 0;
  cr_assert(worked);
  cr_assert_eq(top->gens[0].collections, 1);
  cr_assert(mps_message_get(&message, arena, mps_message_type_gc_start()));
  cr_assert_not_null(strstr(mps_message_gc_start_why(arena, message), "top generation"));
  mps_message_discard(arena, message);
  arena_enter(arena);
  pool_gen_finish(&t0);
  chain_top_release(top);
  arena_leave(arena);
  mps_pool_destroy((mps_pool_t)pool);
  mps_chain_destroy(chain);
}

/* The top generation is old for trace_due_is_ripe: never condemned by a
 * collection of due generations, it is scanned by them where unguarded,
 * so the nursery waits for an eighth of it. */
Test(chain, an_automatic_collection_waits_for_an_eighth_of_the_top_generation)
{
  mps_gen_param_s params[2] = {{1, 0.9}, {100000, 0.5}};
  mps_chain_t chain;
  Chain top;
  pool_gen_s g0, g1, t0;
  Pool pool = make_pool();
  cr_assert_eq(mps_chain_create(&chain, arena, 2, params), MPS_RES_OK);
  tchain_open_two(chain, pool, &g0, &g1);
  cr_assert_eq(chain_top_acquire(&top, arena, chain), MPS_RES_OK);
  pool_gen_init(&t0, pool, top, 0);
  pool_gen_account_alloc(&g0, 2048);
  cr_assert_eq(chain_due(chain), 1);
  t0.total_size = 80 * 1024;
  cr_assert_not(tchain_poll_collects(), "2 KiB is less than an eighth of 80 KiB");
  t0.total_size = 0;
  pool_gen_account_alloc(&g0, 10 * 1024 - 2048);
  t0.total_size = 80 * 1024;
  cr_assert(tchain_poll_collects(), "10 KiB is an eighth of 80 KiB");
  t0.total_size = 0;
  pool_gen_finish(&t0);
  chain_top_release(top);
  tchain_finish_two(chain, pool, &g0, &g1);
}

/* gc_check's invariants 3 and 4 (gc.c): a trace marked busy that the
 * collector does not have, and the reentrancy guard up with no trace
 * busy, are each reported, in the varieties whose checks look past the
 * signatures. */
Test(chain, the_collector_check_reports_busy_marks_without_a_trace)
{
  GC gc;
  arena_enter(arena);
  cr_assert_eq(gc_get(&gc, arena), MPS_RES_OK);
  reports_install();
  cr_assert(gc_check(gc));
  cr_assert_eq(reports_seen(), 0);
  gc->in_collection = true;
  cr_assert(gc_check(gc));
  gc->in_collection = false;
  cr_assert_eq(reports_seen(), CHECK_LEVEL >= 2 ? 1 : 0, "the guard up with no trace");
  gc->busy_traces = TRACE_SET_SINGLE(0);
  cr_assert(gc_check(gc));
  gc->busy_traces = TRACE_SET_EMPTY;
  cr_assert_eq(reports_seen(), CHECK_LEVEL >= 2 ? 2 : 0, "a busy mark with no trace");
  reports_install_abort();
  arena_leave(arena);
}

TestSuite(chain_misuse, TEST_NEEDS_CHECKS);

Test(chain_misuse, arena_destroy_with_chain_left, .signal = SIGABRT)
{
  mps_gen_param_s params[1] = {{10, 0.5}};
  mps_chain_t chain;
  setup();
  cr_assert_eq(mps_chain_create(&chain, arena, 1, params), MPS_RES_OK);
  reports_install_abort();
  mps_arena_destroy(arena);
}
