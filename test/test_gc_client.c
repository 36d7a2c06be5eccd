/* test_gc_client.c: the collector as a client sees it, through the public
 * interface only, with the test object format of stress/support/gcobj.c
 * (included here, as fuzz_gc does).
 *
 * No thread is registered and no stack is a root: everything the tests
 * keep is in the static exact table `exact` or the ambiguous area
 * `ambig`, so what survives a collection is determined.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsacl.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpsclo.h"
#include "../include/mpscmvff.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/pool/pool_ams.h"
#include "../stress/support/gcobj.c"
#include "support/checks.h"
#include "support/configs.h"
#include "support/reports.h"

enum { T_AMC, T_AMCZ, T_AMS, T_LO, T_POOLS };
enum { T_EXACT = 64, T_AMBIG = 8 };

static mps_addr_t exact[T_EXACT];
static mps_word_t ambig[T_AMBIG];

typedef struct t_gc_s {
  mps_arena_t arena;
  mps_chain_t chain;
  mps_fmt_t fmt;
  mps_pool_t pool[T_POOLS];
  mps_ap_t ap[T_POOLS];
  mps_root_t exact_root, ambig_root;
  gcobj_pool_s verify[T_POOLS];
} t_gc_s;

static void t_setup(t_gc_s *t)
{
  mps_gen_param_s gens[2] = {{128, 0.8}, {512, 0.4}};
  mps_pool_class_t (*const classes[T_POOLS])(void) = {mps_class_amc, mps_class_amcz,
                                                      mps_class_ams, mps_class_lo};
  size_t i;
  memset(exact, 0, sizeof exact);
  memset(ambig, 0, sizeof ambig);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)16 << 20);
    cr_assert_eq(mps_arena_create_k(&t->arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_chain_create(&t->chain, t->arena, 2, gens), MPS_RES_OK);
  cr_assert_eq(gcobj_fmt_create(&t->fmt, t->arena), MPS_RES_OK);
  for (i = 0; i < T_POOLS; ++i) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
      cr_assert_eq(mps_pool_create_k(&t->pool[i], t->arena, classes[i](), args), MPS_RES_OK);
    } MPS_ARGS_END(args);
    cr_assert_eq(mps_ap_create_k(&t->ap[i], t->pool[i], mps_args_none), MPS_RES_OK);
    t->verify[i].pool = t->pool[i];
    t->verify[i].leaf = i == T_AMCZ || i == T_LO;
  }
  cr_assert_eq(mps_root_create_table(&t->exact_root, t->arena, mps_rank_exact(), 0, exact,
                                     T_EXACT), MPS_RES_OK);
  cr_assert_eq(mps_root_create_area(&t->ambig_root, t->arena, mps_rank_ambig(), 0, ambig,
                                    ambig + T_AMBIG, mps_scan_area, NULL), MPS_RES_OK);
}

static void t_teardown(t_gc_s *t)
{
  size_t i;
  mps_arena_park(t->arena);
  mps_root_destroy(t->ambig_root);
  mps_root_destroy(t->exact_root);
  for (i = 0; i < T_POOLS; ++i) {
    if (t->ap[i] != NULL)
      mps_ap_destroy(t->ap[i]);
    mps_pool_destroy(t->pool[i]);
  }
  mps_fmt_destroy(t->fmt);
  mps_chain_destroy(t->chain);
  mps_arena_destroy(t->arena);
}

/* Allocate into exact[slot], the slots initialized from exact[from..]. */
static mps_addr_t t_alloc(t_gc_s *t, unsigned pool, size_t slot, mps_word_t id, size_t nrefs,
                          size_t ndata, const mps_addr_t *from)
{
  mps_addr_t p;
  cr_assert_eq(gcobj_alloc(&p, t->ap[pool], id, nrefs, ndata, from), MPS_RES_OK);
  exact[slot] = p;
  return p;
}

static void t_verify(t_gc_s *t, gcobj_census_s *census)
{
  bool ok = gcobj_verify(t->arena, t->verify, T_POOLS, census);
  cr_assert(ok, "heap verification: %s", census->message);
}

/* ---- the format, on its own ------------------------------------------ */

Test(gc_client, format_methods)
{
  mps_word_t block[16];
  mps_word_t other[16];
  /* A one-word pad and a longer one are skipped by their own size. */
  gcobj_pad(block, sizeof(mps_word_t));
  cr_assert_eq(gcobj_skip(block), (mps_addr_t)&block[1]);
  gcobj_pad(block, 5 * sizeof(mps_word_t));
  cr_assert_eq(gcobj_skip(block), (mps_addr_t)&block[5]);
  cr_assert_null(gcobj_isfwd(block));
  /* Forwarding keeps the size and answers the new address. */
  block[0] = GCOBJ_TAG_OBJ | (mps_word_t)2 << 2 | (mps_word_t)3 << 10;
  block[1] = 7;
  cr_assert_eq(gcobj_skip(block), (mps_addr_t)&block[7]);
  cr_assert_null(gcobj_isfwd(block));
  gcobj_fwd(block, other);
  cr_assert_eq(gcobj_isfwd(block), (mps_addr_t)other);
  cr_assert_eq(gcobj_skip(block), (mps_addr_t)&block[7]);
}

/* ---- collections ----------------------------------------------------- */

Test(gc_client, exact_root_survives_collect)
{
  t_gc_s t;
  gcobj_census_s census;
  size_t i;
  t_setup(&t);
  for (i = 0; i < T_POOLS; ++i)
    t_alloc(&t, (unsigned)i, i, 100 + i, 0, 10, NULL);
  mps_arena_collect(t.arena);
  for (i = 0; i < T_POOLS; ++i) {
    cr_assert_not_null(exact[i]);
    cr_assert_eq(gcobj_id(exact[i]), 100 + i);
    cr_assert(gcobj_intact(exact[i]));
  }
  t_verify(&t, &census);
  cr_assert_geq(census.objects, T_POOLS);
  gcobj_census_finish(&census);
  t_teardown(&t);
}

Test(gc_client, references_between_pools_are_updated)
{
  t_gc_s t;
  gcobj_census_s census;
  unsigned from;
  t_setup(&t);
  /* Each scanned pool's object refers to one object of every pool. */
  for (from = 0; from < T_POOLS; ++from)
    if (from == T_AMC || from == T_AMS) {
      size_t base = from * 8, i;
      for (i = 0; i < T_POOLS; ++i)
        t_alloc(&t, (unsigned)i, base + 1 + i, 1000 + base + i, 0, 3, NULL);
      t_alloc(&t, from, base, 2000 + from, T_POOLS, 2, &exact[base + 1]);
      for (i = 0; i < T_POOLS; ++i)
        exact[base + 1 + i] = NULL;   /* now reachable only through the object */
    }
  mps_arena_collect(t.arena);
  for (from = 0; from < T_POOLS; ++from)
    if (from == T_AMC || from == T_AMS) {
      size_t base = from * 8, i;
      mps_addr_t obj = exact[base];
      cr_assert_eq(gcobj_id(obj), 2000 + from);
      for (i = 0; i < T_POOLS; ++i) {
        mps_addr_t ref = gcobj_ref(obj, i);
        mps_pool_t pool;
        cr_assert_not_null(ref);
        cr_assert_eq(gcobj_id(ref), 1000 + base + i, "slot %zu of the object in pool %u", i,
                     from);
        cr_assert(gcobj_intact(ref));
        cr_assert(mps_addr_pool(&pool, t.arena, ref));
        cr_assert_eq(pool, t.pool[i]);
      }
    }
  t_verify(&t, &census);
  gcobj_census_finish(&census);
  t_teardown(&t);
}

Test(gc_client, garbage_is_reclaimed)
{
  t_gc_s t;
  gcobj_census_s census;
  unsigned pool;
  size_t i;
  t_setup(&t);
  mps_arena_park(t.arena);
  for (pool = 0; pool < T_POOLS; ++pool)
    for (i = 0; i < 2000; ++i)
      t_alloc(&t, pool, 0, 1 + pool * 10000 + i, 0, 6, NULL);
  exact[0] = NULL;
  /* A segment an allocation point is filling is never condemned (the
   * collector's design), so detach the buffers first: then nothing
   * refers to any of the 8000 objects, and a full collection must
   * reclaim them all. */
  for (pool = 0; pool < T_POOLS; ++pool) {
    mps_ap_destroy(t.ap[pool]);
    t.ap[pool] = NULL;
  }
  mps_arena_collect(t.arena);
  t_verify(&t, &census);
  cr_assert_eq(census.objects, 0, "%zu of 8000 dead objects survived a full collection",
               census.objects);
  gcobj_census_finish(&census);
  t_teardown(&t);
}

Test(gc_client, ambiguous_reference_pins_amc_object)
{
  t_gc_s t;
  gcobj_census_s census;
  mps_addr_t pinned, interior;
  size_t i;
  t_setup(&t);
  pinned = t_alloc(&t, T_AMC, 0, 42, 1, 20, NULL);
  interior = t_alloc(&t, T_AMC, 1, 43, 0, 20, NULL);
  ambig[0] = (mps_word_t)pinned;
  ambig[1] = (mps_word_t)interior + 5 * sizeof(mps_word_t) + 3;
  exact[1] = NULL;   /* 43 is now kept only by an interior pointer */
  for (i = 0; i < 3; ++i) {
    /* Garbage around them, so the collector has something to do. */
    size_t k;
    for (k = 0; k < 500; ++k)
      t_alloc(&t, T_AMC, 2, 5000 + i * 1000 + k, 1, 4, NULL);
    exact[2] = NULL;
    mps_arena_collect(t.arena);
    cr_assert_eq(exact[0], pinned, "an ambiguously referenced object moved");
    cr_assert_eq(gcobj_id(pinned), 42);
    cr_assert(gcobj_intact(pinned));
    cr_assert_eq(gcobj_id(interior), 43, "an object kept by an interior pointer was lost");
    cr_assert(gcobj_intact(interior));
    cr_assert_eq(ambig[0], (mps_word_t)pinned, "the collector changed an ambiguous root");
    t_verify(&t, &census);
    cr_assert_not_null(gcobj_census_find(&census, interior));
    gcobj_census_finish(&census);
    mps_arena_release(t.arena);
  }
  t_teardown(&t);
}

/* An AMS object of ambiguous rank reached only late, through an AMC
 * object that an exact root keeps: B (AMC, in the root) -> A (AMS,
 * ambiguous point) -> C (AMC) -> D (AMC).  A's white ambiguous segment
 * makes the collection keep every AMC object in place, so B's segment is
 * nailed and scanned in the exact band, and only that scan reaches A.
 * A's ambiguous fix of C is then a new nail in a segment already
 * scanned: the segment must turn grey again so that C is scanned, or D
 * is reclaimed under C's reference. */
Test(gc_client, a_late_ambiguous_nail_rescans_its_segment)
{
  t_gc_s t;
  gcobj_census_s census;
  gcobj_pool_s verify[T_POOLS + 1];
  mps_pool_t amb;
  mps_ap_t amb_ap;
  mps_addr_t a, b, c, d;
  size_t i;
  t_setup(&t);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
    MPS_ARGS_ADD(args, MPS_KEY_AMS_SUPPORT_AMBIGUOUS, 1);
    cr_assert_eq(mps_pool_create_k(&amb, t.arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    cr_assert_eq(mps_ap_create_k(&amb_ap, amb, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  d = t_alloc(&t, T_AMC, 3, 301, 0, 6, NULL);
  c = t_alloc(&t, T_AMC, 2, 302, 1, 6, &exact[3]);
  cr_assert_eq(gcobj_alloc(&a, amb_ap, 303, 1, 6, &exact[2]), MPS_RES_OK);
  exact[4] = a;
  b = t_alloc(&t, T_AMC, 0, 304, 1, 6, &exact[4]);
  exact[2] = exact[3] = exact[4] = NULL;
  mps_ap_destroy(amb_ap);
  mps_ap_destroy(t.ap[T_AMC]);
  t.ap[T_AMC] = NULL;
  mps_arena_collect(t.arena);

  for (i = 0; i < T_POOLS; ++i)
    verify[i] = t.verify[i];
  verify[T_POOLS].pool = amb;
  verify[T_POOLS].leaf = false;
  cr_assert(gcobj_verify(t.arena, verify, T_POOLS + 1, &census),
            "heap verification: %s", census.message);
  cr_assert_eq(exact[0], b, "an AMC object moved while an ambiguous segment was white");
  cr_assert_eq(gcobj_ref(b, 0), a);
  cr_assert_eq(gcobj_ref(a, 0), c);
  cr_assert_eq(gcobj_ref(c, 0), d);
  cr_assert_not_null(gcobj_census_find(&census, d),
                     "the object behind the late nail's object was reclaimed");
  cr_assert_eq(gcobj_id(d), 301);
  cr_assert(gcobj_intact(d));
  gcobj_census_finish(&census);
  mps_arena_park(t.arena);
  mps_pool_destroy(amb);
  t_teardown(&t);
}

/* An ambiguous word into the unused part of a condemned AMC segment (the
 * free end of the region its allocation point is filling) points at no
 * object, so it keeps nothing in place: the segment's objects still move. */
Test(gc_client, a_stray_ambiguous_word_above_the_objects_pins_nothing)
{
  t_gc_s t;
  mps_addr_t x, stray;
  mps_pool_t found;
  t_setup(&t);
  x = t_alloc(&t, T_AMC, 0, 401, 1, 6, NULL);
  stray = (char *)x + gcobj_size(1, 6) + 64;
  cr_assert(mps_addr_pool(&found, t.arena, stray) && found == t.pool[T_AMC],
            "the word after the object is not in its pool's memory");
  ambig[0] = (mps_word_t)stray;
  mps_arena_collect(t.arena);
  cr_assert_neq(exact[0], x, "a word into the point's free region kept the segment in place");
  cr_assert_eq(gcobj_id(exact[0]), 401);
  cr_assert(gcobj_intact(exact[0]));
  t_teardown(&t);
}

/* What a nailed AMC segment gives back at reclaim: the whole segment when
 * its nails keep nothing (in a pool without interior pointers, an
 * ambiguous word inside an object), and the dead tail after its last
 * kept object, which is free memory of the pool again, not padding. */
Test(gc_client, a_nailed_segment_keeping_nothing_is_freed)
{
  t_gc_s t;
  mps_pool_t amc, found;
  mps_ap_t ap;
  mps_addr_t x;
  t_setup(&t);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
    MPS_ARGS_ADD(args, MPS_KEY_INTERIOR, 0);
    cr_assert_eq(mps_pool_create_k(&amc, t.arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap, amc, mps_args_none), MPS_RES_OK);
  cr_assert_eq(gcobj_alloc(&x, ap, 501, 0, 30, NULL), MPS_RES_OK);
  ambig[0] = (mps_word_t)x + MPS_PF_ALIGN;   /* inside x: not its client pointer */
  mps_ap_destroy(ap);
  cr_assert(mps_addr_pool(&found, t.arena, x) && found == amc);
  mps_arena_collect(t.arena);
  cr_assert_not(mps_addr_pool(&found, t.arena, x) && found == amc,
                "a segment whose nail kept nothing is still the pool's");
  cr_assert_eq(mps_pool_total_size(amc), 0);
  mps_arena_park(t.arena);
  mps_pool_destroy(amc);
  t_teardown(&t);
}

Test(gc_client, a_nailed_segments_dead_tail_is_free_again)
{
  t_gc_s t;
  mps_addr_t x;
  size_t i, tail = 0, free_before, free_after;
  t_setup(&t);
  x = t_alloc(&t, T_AMC, 0, 502, 0, 6, NULL);
  for (i = 0; i < 100; ++i) {
    t_alloc(&t, T_AMC, 1, 600 + i, 0, 6, NULL);
    tail += gcobj_size(0, 6);
  }
  exact[0] = exact[1] = NULL;
  ambig[0] = (mps_word_t)x;    /* keeps x in place, and only x */
  mps_ap_destroy(t.ap[T_AMC]);
  t.ap[T_AMC] = NULL;
  mps_arena_park(t.arena);
  free_before = mps_pool_free_size(t.pool[T_AMC]);
  mps_arena_collect(t.arena);
  free_after = mps_pool_free_size(t.pool[T_AMC]);
  cr_assert_eq(gcobj_id(x), 502);
  cr_assert(gcobj_intact(x));
  cr_assert_geq(free_after, free_before + tail,
                "the dead tail (%zu bytes) did not become free: %zu -> %zu", tail,
                free_before, free_after);
  t_teardown(&t);
}

/* Only a condemned segment of ambiguous rank makes a trace pin what it
 * condemns (trace.c, trace_pin).  An ambiguous AMS object in a pool of
 * another chain, which a collection of the nursery leaves alone, does not
 * keep the nursery's AMC objects from moving. */
Test(gc_client, an_uncondemned_ambiguous_segment_does_not_stop_the_nursery_moving)
{
  mps_gen_param_s big[1] = {{100000, 0.5}};
  t_gc_s t;
  mps_chain_t old_chain;
  mps_pool_t old_pool;
  mps_ap_t aap;
  mps_addr_t holder, before;
  size_t i;
  t_setup(&t);
  mps_arena_park(t.arena);
  cr_assert_eq(mps_chain_create(&old_chain, t.arena, 1, big), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, old_chain);
    cr_assert_eq(mps_pool_create_k(&old_pool, t.arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    cr_assert_eq(mps_ap_create_k(&aap, old_pool, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(gcobj_alloc(&holder, aap, 1, 0, 2, NULL), MPS_RES_OK);
  before = t_alloc(&t, T_AMC, 0, 77, 0, 3, NULL);
  /* Well over the 128 KiB nursery, so that its first segment is full. */
  for (i = 0; i < 4000; ++i)
    t_alloc(&t, T_AMC, 1, 1000 + i, 0, 10, NULL);
  cr_assert(mps_arena_step(t.arena, 0.0, 0.0), "the nursery is not due");
  mps_arena_park(t.arena);
  cr_assert_eq(gcobj_id(exact[0]), 77);
  cr_assert(gcobj_intact(exact[0]));
  cr_assert_neq(exact[0], before, "the nursery's object was pinned");
  mps_ap_destroy(aap);
  mps_pool_destroy(old_pool);
  mps_chain_destroy(old_chain);
  t_teardown(&t);
}

/* One collection at a time: mps_arena_start_collect during an
 * incremental collection finishes that one before it starts its own. */
Test(gc_client, a_collection_started_during_another_finishes_that_one_first, TEST_NEEDS_INCREMENTS)
{
  t_gc_s t;
  mps_message_t message;
  size_t i, done = 0;
  t_setup(&t);
  mps_message_type_enable(t.arena, mps_message_type_gc());
  for (i = 0; i < 20; ++i)
    t_alloc(&t, T_AMC, i, 100 + i, 0, 50, NULL);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert_not(mps_message_poll(t.arena), "the first collection is not incremental");
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  while (mps_message_get(&message, t.arena, mps_message_type_gc())) {
    mps_message_discard(t.arena, message);
    ++done;
  }
  cr_assert_eq(done, 1, "the first collection was not finished");
  mps_arena_park(t.arena);
  cr_assert(mps_message_get(&message, t.arena, mps_message_type_gc()));
  mps_message_discard(t.arena, message);
  for (i = 0; i < 20; ++i) {
    cr_assert_eq(gcobj_id(exact[i]), 100 + i);
    cr_assert(gcobj_intact(exact[i]));
  }
  t_teardown(&t);
}

/* A parked arena with gc messages on, holding a list of TGC_LIST objects
 * of 8 KiB (4 MiB: several quanta of scanning), its head in exact[0]. */
#define TGC_LIST 512

static void tgc_list_make(t_gc_s *t)
{
  size_t i;
  t_setup(t);
  mps_arena_park(t->arena);
  mps_message_type_enable(t->arena, mps_message_type_gc());
  for (i = 0; i < TGC_LIST; ++i)
    t_alloc(t, T_AMC, 0, 1 + i, 1, 1000, &exact[0]);
}

/* The list is whole and in order after the collection. */
static void tgc_list_check(void)
{
  size_t i;
  mps_addr_t p;
  for (i = TGC_LIST, p = exact[0]; i-- > 0; p = gcobj_ref(p, 0)) {
    cr_assert_eq(gcobj_id(p), 1 + i);
    cr_assert(gcobj_intact(p));
  }
  cr_assert_null(p);
}

/* arena.rst: mps_arena_step works on a collection in progress, whether
 * or not anything is due, and for as long as its interval allows: a step
 * with time to spare finishes one that needs several quanta of scanning,
 * and says it did work. */
Test(gc_client, a_step_with_time_to_spare_finishes_a_collection_in_progress, TEST_NEEDS_INCREMENTS)
{
  t_gc_s t;
  tgc_list_make(&t);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  mps_arena_clamp(t.arena);
  cr_assert_not(mps_message_poll(t.arena), "the collection is not incremental");
  cr_assert(mps_arena_step(t.arena, 100.0, 1.0), "no work on the collection in progress");
  cr_assert(mps_message_poll(t.arena), "the step stopped with time and work left");
  tgc_list_check();
  t_teardown(&t);
}

#if defined(CONFIG_INCREMENTAL_NONE) || defined(CONFIG_BARRIER_NONE) || defined(PLATFORM_ANSI)
/* user-guide.md: a library built with CONFIG_INCREMENTAL_NONE, or with no
 * read barrier (CONFIG_BARRIER_NONE, or a platform with neither POSIX nor
 * Windows), runs every collection to its end
 * before the call that started it returns, even the one
 * mps_arena_start_collect starts in a clamped arena whose heap could be
 * collected incrementally anywhere else (the test above). */
Test(gc_client, without_increments_a_started_collection_ends_before_start_collect_returns)
{
  t_gc_s t;
  tgc_list_make(&t);
  mps_arena_clamp(t.arena);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert(mps_message_poll(t.arena), "the collection was left in progress");
  tgc_list_check();
  t_teardown(&t);
}
#endif

/* arena.rst: in the postmortem state objects do not move and nothing
 * is recycled, so mps_arena_park does not finish a collection in
 * progress there. */
Test(gc_client, parking_a_postmortem_arena_finishes_no_collection, TEST_NEEDS_INCREMENTS)
{
  t_gc_s t;
  t_setup(&t);
  mps_message_type_enable(t.arena, mps_message_type_gc());
  t_alloc(&t, T_AMC, 0, 5, 0, 50, NULL);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert_not(mps_message_poll(t.arena), "the collection is not incremental");
  mps_arena_postmortem(t.arena);
  mps_arena_park(t.arena);
  cr_assert_not(mps_message_poll(t.arena), "a postmortem park finished the collection");
  cr_assert_eq(gcobj_id(exact[0]), 5);
  cr_assert(gcobj_intact(exact[0]));
  /* No teardown: the arena stays postmortem while the collection is in
   * progress, and is not safe to go on with (this test's process ends). */
}

Test(gc_client, chain_of_objects_through_all_pools)
{
  t_gc_s t;
  gcobj_census_s census;
  mps_addr_t p;
  size_t i, n = 3000;
  t_setup(&t);
  /* A linked list alternating AMC and AMS, each node also holding an LO
   * leaf, built while allocation starts collections. */
  for (i = 0; i < n; ++i) {
    t_alloc(&t, T_LO, 2, 3 * i + 1, 0, 5, NULL);
    exact[1] = exact[0];
    t_alloc(&t, i % 2 == 0 ? T_AMC : T_AMS, 0, 3 * i + 2, 2, 7, &exact[1]);
  }
  exact[1] = exact[2] = NULL;
  mps_arena_collect(t.arena);
  for (i = n, p = exact[0]; i-- > 0; p = gcobj_ref(p, 0)) {
    cr_assert_not_null(p);
    cr_assert_eq(gcobj_id(p), 3 * i + 2);
    cr_assert(gcobj_intact(p));
    cr_assert_eq(gcobj_id(gcobj_ref(p, 1)), 3 * i + 1);
    cr_assert(gcobj_intact(gcobj_ref(p, 1)));
  }
  cr_assert_null(p);
  t_verify(&t, &census);
  cr_assert_geq(census.objects, 2 * n);
  gcobj_census_finish(&census);
  t_teardown(&t);
}

Test(gc_client, collections_start_from_allocation)
{
  t_gc_s t;
  mps_word_t before;
  size_t i;
  t_setup(&t);
  before = mps_collections(t.arena);
  /* 8 MB through a 128 kB nursery, nearly all of it dead at once. */
  for (i = 0; i < 80000; ++i)
    t_alloc(&t, T_AMC, i % 4, i + 1, 1, 10, NULL);
  cr_assert_gt(mps_collections(t.arena), before, "no collection started in 8 MB of allocation");
  cr_assert_lt(mps_arena_committed(t.arena), (size_t)8 << 20,
               "%zu bytes committed for a few live objects", mps_arena_committed(t.arena));
  t_teardown(&t);
}

Test(gc_client, gc_messages_after_collect)
{
  t_gc_s t;
  mps_message_t message;
  bool start = false, done = false;
  t_setup(&t);
  mps_message_type_enable(t.arena, mps_message_type_gc_start());
  mps_message_type_enable(t.arena, mps_message_type_gc());
  t_alloc(&t, T_AMC, 0, 9, 0, 100, NULL);
  mps_arena_collect(t.arena);
  while (mps_message_get(&message, t.arena, mps_message_type_gc_start())) {
    cr_assert_not_null(mps_message_gc_start_why(t.arena, message));
    mps_message_discard(t.arena, message);
    start = true;
  }
  while (mps_message_get(&message, t.arena, mps_message_type_gc())) {
    cr_assert_geq(mps_message_gc_condemned_size(t.arena, message),
                  mps_message_gc_live_size(t.arena, message));
    mps_message_discard(t.arena, message);
    done = true;
  }
  cr_assert(start, "no gc start message");
  cr_assert(done, "no gc message");
  t_teardown(&t);
}

/* Found by bench/gc (mutate on AMS, 51 s for one collection's aftermath):
 * after a collection leaves an AMS pool's segments full of small holes,
 * each fill searched every segment's allocation table from the start of the
 * pool, so allocation was quadratic in the holes (20000 allocations took
 * 2.7 s in hot, and doubling them took 4.7 times as long).  Kept 32-byte
 * objects alternate with dead holes of 32 and 64 bytes; then 64-byte
 * objects are allocated, which fit only the larger holes.  The work is
 * measured as the grains the fill searches pass over (the pool's own
 * count), not as time: it must stay within a few passes over the pool,
 * where the quadratic search passed over the pool once per fill. */
Test(gc_client, ams_allocation_after_fragmenting_collection_is_not_quadratic)
{
  enum { N = 40000 };
  static mps_addr_t keep[N];
  t_gc_s t;
  mps_root_t root;
  mps_addr_t p;
  AMS ams;
  Count searched, pool_grains;
  size_t i;
  t_setup(&t);
  cr_assert_eq(mps_root_create_table(&root, t.arena, mps_rank_exact(), 0, keep, N),
               MPS_RES_OK);
  mps_arena_park(t.arena);
  for (i = 0; i < N; ++i) {
    cr_assert_eq(gcobj_alloc(&keep[i], t.ap[T_AMS], 3 * i + 1, 0, 2, NULL), MPS_RES_OK);
    cr_assert_eq(gcobj_alloc(&p, t.ap[T_AMS], 3 * i + 2, 0, i % 2 ? 2 : 6, NULL), MPS_RES_OK);
  }
  mps_arena_collect(t.arena);
  ams = ams_of_pool((Pool)t.pool[T_AMS]);
  searched = ams->fill_searched;
  pool_grains = ams->total >> ams->grain_shift;
  for (i = 0; i < N / 2; ++i)
    cr_assert_eq(gcobj_alloc(&p, t.ap[T_AMS], 3 * i + 3, 0, 6, NULL), MPS_RES_OK);
  searched = ams->fill_searched - searched;
  cr_assert_leq(searched, 4 * (Count)pool_grains,
                "%d AMS allocations into a fragmented pool of %zu grains searched %zu grains",
                N / 2, (size_t)pool_grains, (size_t)searched);
  mps_root_destroy(root);
  t_teardown(&t);
}

/* ---- client errors are refused (user-guide.md, varieties) -------------
 *
 * Each test installs a handler that counts and returns, as a hot program's
 * might, makes one kind of bad call, and checks that it was reported and
 * refused: then the arena must still allocate, collect and be destroyed
 * with no further report.  Before these were refused, the bad call went
 * ahead and the later use crashed or reported again. */

/* Allocate in every pool and collect; what the exact root holds must
 * survive intact and the heap must verify. */
static void t_still_works(t_gc_s *t)
{
  gcobj_census_s census;
  size_t i;
  for (i = 0; i < T_POOLS; ++i)
    t_alloc(t, (unsigned)i, i, 500 + i, 0, 6, NULL);
  mps_arena_collect(t->arena);
  mps_arena_release(t->arena);
  for (i = 0; i < T_POOLS; ++i) {
    cr_assert_eq(gcobj_id(exact[i]), 500 + i);
    cr_assert(gcobj_intact(exact[i]));
  }
  t_verify(t, &census);
  gcobj_census_finish(&census);
}

/* Each bad call is reported once and refused with MPS_RES_PARAM. */
#define T_REFUSED(call)                                                       \
  do {                                                                        \
    int before_ = reports_seen();                                             \
    cr_assert_eq((call), MPS_RES_PARAM, "%s", #call);                         \
    cr_assert_eq(reports_seen(), before_ + TEST_REPORTS(1), "%s", #call);     \
  } while (0)

static mps_res_t t_null_scan(mps_ss_t ss, void *base, void *limit, void *closure)
{
  (void)ss;
  (void)base;
  (void)limit;
  (void)closure;
  return MPS_RES_OK;
}

Test(gc_client_misuse, bad_roots_are_refused)
{
  t_gc_s t;
  static mps_addr_t table[8];
  mps_root_t root = NULL;
  mps_thr_t thr;
  int cold;
  t_setup(&t);
  reports_install();
  /* A null area that a collection would scan from address zero. */
  T_REFUSED(mps_root_create_area(&root, t.arena, mps_rank_ambig(), 0, NULL,
                                 (void *)((uintptr_t)1 << 20), mps_scan_area, NULL));
  T_REFUSED(mps_root_create_area(&root, t.arena, mps_rank_exact(), 0, table, table + 4,
                                 NULL, NULL));
  T_REFUSED(mps_root_create_area(&root, t.arena, mps_rank_exact(), 0, table + 4, table,
                                 mps_scan_area, NULL));
  T_REFUSED(mps_root_create_area(&root, t.arena, mps_rank_exact(), 0,
                                 (char *)table + 1, table + 4, t_null_scan, NULL));
  T_REFUSED(mps_root_create_table(&root, t.arena, mps_rank_exact(), 0, NULL, 4));
  T_REFUSED(mps_root_create_table(&root, t.arena, mps_rank_exact(), 0, table,
                                  SIZE_MAX / sizeof(mps_addr_t)));
  T_REFUSED(mps_root_create_table(&root, t.arena, (mps_rank_t)42, 0, table, 8));
  T_REFUSED(mps_root_create_table(&root, t.arena, mps_rank_exact(), (mps_rm_t)0xFF, table,
                                  8));
  T_REFUSED(mps_root_create_fmt(&root, t.arena, mps_rank_exact(), 0, gcobj_scan, table + 4,
                                table));
  T_REFUSED(mps_root_create_thread(&root, t.arena, NULL, &cold));
  /* A root destroyed twice: the second is reported and does nothing. */
  cr_assert_eq(mps_thread_reg(&thr, t.arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&root, t.arena, mps_rank_exact(), 0, table, 8),
               MPS_RES_OK);
  mps_root_destroy(root);
  mps_root_destroy(root);
  cr_assert_eq(reports_seen(), TEST_REPORTS(11));
  mps_thread_dereg(thr);
  t_still_works(&t);
  t_teardown(&t);
  cr_assert_eq(reports_seen(), TEST_REPORTS(11));
}

Test(gc_client_misuse, bad_formats_are_refused)
{
  t_gc_s t;
  mps_fmt_t fmt;
  size_t aligns[3] = {3, 0, (size_t)1 << 30};
  size_t i;
  t_setup(&t);
  reports_install();
  for (i = 0; i < 3; ++i) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, aligns[i]);
      MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, gcobj_scan);
      MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, gcobj_skip);
      T_REFUSED(mps_fmt_create_k(&fmt, t.arena, args));
    } MPS_ARGS_END(args);
  }
  T_REFUSED(mps_fmt_create_A(&fmt, t.arena, NULL));
  t_still_works(&t);
  t_teardown(&t);
  cr_assert_eq(reports_seen(), TEST_REPORTS(4));
}

Test(gc_client_misuse, destroying_what_is_in_use_is_refused)
{
  t_gc_s t;
  t_setup(&t);
  reports_install();
  mps_fmt_destroy(t.fmt);            /* four pools use it */
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  mps_chain_destroy(t.chain);        /* and the chain */
  cr_assert_eq(reports_seen(), TEST_REPORTS(2));
  t_still_works(&t);
  t_teardown(&t);                    /* now in order: all succeed */
  cr_assert_eq(reports_seen(), TEST_REPORTS(2));
}

/* mps_arena_destroy with everything of t_setup still there, then with only
 * a format, a chain, a root, and a thread: each time refused, and the
 * arena is whole afterwards. */
Test(gc_client_misuse, destroying_an_arena_in_use_is_refused)
{
  t_gc_s t;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_root_t root;
  mps_thr_t thr;
  mps_gen_param_s gens[1] = {{64, 0.5}};
  static mps_addr_t table[4];
  int before;
  t_setup(&t);
  reports_install();
  mps_arena_destroy(t.arena);        /* pools, allocation points and all */
  TEST_ASSERT_REPORTED(reports_seen());
  t_still_works(&t);
  cr_assert_eq(gcobj_fmt_create(&fmt, t.arena), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&chain, t.arena, 1, gens), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&root, t.arena, mps_rank_exact(), 0, table, 4),
               MPS_RES_OK);
  cr_assert_eq(mps_thread_reg(&thr, t.arena), MPS_RES_OK);
  t_teardown(&t);                    /* all but the four above */
  before = reports_seen();
  cr_assert_geq(before, TEST_REPORTS(2));
  mps_thread_dereg(thr);
  mps_arena_destroy(t.arena);        /* a root, a format and a chain left */
  TEST_ASSERT_REPORTED(reports_seen() - before);
  mps_root_destroy(root);
  before = reports_seen();
  mps_arena_destroy(t.arena);        /* a format and a chain */
  TEST_ASSERT_REPORTED(reports_seen() - before);
  mps_fmt_destroy(fmt);
  before = reports_seen();
  mps_arena_destroy(t.arena);        /* a chain */
  TEST_ASSERT_REPORTED(reports_seen() - before);
  mps_chain_destroy(chain);
  before = reports_seen();
  mps_arena_destroy(t.arena);        /* nothing left: destroyed */
  cr_assert_eq(reports_seen(), before);
}

Test(gc_client_misuse, destroying_an_arena_with_a_thread_is_refused)
{
  t_gc_s t;
  mps_thr_t thr;
  int before;
  t_setup(&t);
  cr_assert_eq(mps_thread_reg(&thr, t.arena), MPS_RES_OK);
  reports_install();
  t_teardown(&t);                    /* the thread is still registered */
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  mps_thread_dereg(thr);
  before = reports_seen();
  mps_arena_destroy(t.arena);
  cr_assert_eq(reports_seen(), before);
}

/* Handles used again after they were destroyed: the stale signature is
 * reported, and nothing is freed twice. */
Test(gc_client_misuse, destroying_twice_is_refused)
{
  t_gc_s t;
  mps_chain_t chain;
  mps_transform_t transform;
  mps_thr_t thr;
  mps_message_t message;
  mps_gen_param_s gens[1] = {{64, 0.5}};
  mps_bool_t applied;
  t_setup(&t);
  reports_install();
  cr_assert_eq(mps_chain_create(&chain, t.arena, 1, gens), MPS_RES_OK);
  mps_chain_destroy(chain);
  mps_chain_destroy(chain);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert_eq(mps_transform_create(&transform, t.arena), MPS_RES_OK);
  mps_transform_destroy(transform);
  mps_transform_destroy(transform);
  cr_assert_eq(reports_seen(), TEST_REPORTS(2));
  T_REFUSED(mps_transform_apply(&applied, transform));
  cr_assert_eq(mps_thread_reg(&thr, t.arena), MPS_RES_OK);
  mps_thread_dereg(thr);
  mps_thread_dereg(thr);
  cr_assert_eq(reports_seen(), TEST_REPORTS(4));
  mps_message_type_enable(t.arena, mps_message_type_gc());
  t_alloc(&t, T_AMC, 0, 1, 0, 4, NULL);
  mps_arena_collect(t.arena);
  cr_assert(mps_message_get(&message, t.arena, mps_message_type_gc()));
  mps_message_discard(t.arena, message);
  mps_message_discard(t.arena, message);
  cr_assert_eq(reports_seen(), TEST_REPORTS(5));
  t_still_works(&t);
  t_teardown(&t);
  cr_assert_eq(reports_seen(), TEST_REPORTS(5));
}

Test(gc_client_misuse, null_pointers_are_refused)
{
  t_gc_s t;
  t_setup(&t);
  reports_install();
  T_REFUSED(mps_finalize(t.arena, NULL));
  mps_ld_reset(NULL, t.arena);
  cr_assert_eq(reports_seen(), TEST_REPORTS(2));
  mps_ld_add(NULL, t.arena, exact);
  cr_assert_eq(reports_seen(), TEST_REPORTS(3));
  t_still_works(&t);
  t_teardown(&t);
  cr_assert_eq(reports_seen(), TEST_REPORTS(3));
}

Test(gc_client_misuse, client_arena_extend_with_null_base_is_refused)
{
  static mps_word_t chunk[(size_t)1 << 18];   /* 2 MiB on 64-bit */
  mps_arena_t arena;
  mps_pool_t pool;
  mps_addr_t p[64];
  size_t i;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_CL_BASE, chunk);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, sizeof chunk);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_cl(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  reports_install();
  T_REFUSED(mps_arena_extend(arena, NULL, (size_t)1 << 20));
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none),
               MPS_RES_OK);
  for (i = 0; i < 64; ++i) {
    cr_assert_eq(mps_alloc(&p[i], pool, 64 + i * 16), MPS_RES_OK);
    memset(p[i], (int)i, 64 + i * 16);
  }
  for (i = 0; i < 64; ++i)
    mps_free(pool, p[i], 64 + i * 16);
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
}

/* arena.rst: every format must be destroyed before the arena.  With only a
 * format left the destruction is refused, and the format can still be
 * destroyed, then the arena. */
Test(gc_client_misuse, destroying_an_arena_with_only_a_format_left_is_refused)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(gcobj_fmt_create(&fmt, arena), MPS_RES_OK);
  reports_install();
  mps_arena_destroy(arena);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert(mps_arena_has_addr(arena, arena));
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
}

/* message.rst: messages never fetched are discarded when the arena is
 * destroyed; their memory goes back with it, which the arena checks. */
Test(gc_client, messages_never_fetched_go_when_the_arena_is_destroyed)
{
  t_gc_s t;
  t_setup(&t);
  mps_message_type_enable(t.arena, mps_message_type_gc_start());
  mps_message_type_enable(t.arena, mps_message_type_gc());
  t_alloc(&t, T_AMC, 0, 9, 0, 100, NULL);
  mps_arena_collect(t.arena);
  reports_install();
  t_teardown(&t);
  cr_assert_eq(reports_seen(), 0);
}

/* A range's zones run from the zone of its first byte to that of its last
 * (not of its limit), wrapping round the word's zones. */
Test(gc_client, a_range_s_zones_are_those_of_its_first_to_its_last_byte)
{
  const Shift shift = 20;
  const Word mb = (Word)1 << shift;
  cr_assert_eq(zone_set_of_range(shift, addr_of_word(3 * mb), addr_of_word(5 * mb)),
               (ZoneSet)0x18);
  cr_assert_eq(zone_set_of_range(shift, addr_of_word(3 * mb + 16), addr_of_word(3 * mb + 32)),
               (ZoneSet)0x8);
  cr_assert_eq(zone_set_of_range(shift, addr_of_word(2 * mb), addr_of_word(4 * mb + 1)),
               (ZoneSet)0x1C);
  cr_assert_eq(zone_set_of_range(shift, addr_of_word((WORD_WIDTH - 1) * mb),
                                 addr_of_word((WORD_WIDTH + 1) * mb)),
               ((ZoneSet)1 << (WORD_WIDTH - 1)) | 1);
}

/* A pool given no chain goes on the arena's default chain (pool.rst), the
 * collector's own: it goes with the arena, whose destruction finds all
 * its control memory given back and reports nothing. */
Test(gc_client, the_default_chain_goes_with_the_arena)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t p;
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(gcobj_fmt_create(&fmt, arena), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(gcobj_alloc(&p, ap, 1, 0, 4, NULL), MPS_RES_OK);
  mps_arena_collect(arena);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
  mps_fmt_destroy(fmt);
  reports_install();
  mps_arena_destroy(arena);
  cr_assert_eq(reports_seen(), 0);
}
