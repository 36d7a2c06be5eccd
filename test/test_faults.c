/* test_faults.c: every request for memory in a workload refused in turn.
 *
 * arena_fail_after (src/arena/arena.h) makes the arena refuse its n-th
 * request for memory from then on, as if the system had no more.  Each
 * test runs a workload once for each n, from 1 until a run finishes with
 * no request refused, so that every allocation site the workload reaches
 * fails once: those that take fresh grains from the arena and those that
 * take control memory it already holds, which a commit-limit sweep (as in
 * test_mvff and test_mvt) cannot reach.
 *
 * At each failure the workload stops, and the test checks what a client
 * of a production memory manager counts on (topic/error.rst): the result
 * says that memory ran out; nothing the client already had is lost or
 * damaged; the arena and its pools go on working once memory is back
 * (the same work now succeeds); and everything can then be destroyed, the
 * arena last, which in checking builds also checks its books.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsacl.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpscawl.h"
#include "../include/mpsclo.h"
#include "../include/mpscmfs.h"
#include "../include/mpscmvff.h"
#include "../include/mpscmvt.h"
#include "../include/mpscsnc.h"
#include "../src/arena/arena.h"
#include "../fuzz/support/refusal.h"
#include "../stress/support/gcobj.c"
#include "support/configs.h"

/* More than any workload here makes: a run that still has requests left
 * to count at its end has reached every site. */
#define SWEEP_LIMIT 4000

/* ---- The sweep -------------------------------------------------------- */

/* Every workload's arena: a VM arena that starts at 1 MiB, so that it
 * grows under the work, or, when sweep_client is set, a client arena on a
 * block of CLIENT_SIZE from malloc, which cannot grow. */
#define CLIENT_SIZE ((size_t)32 << 20)
static bool sweep_client;
static void *sweep_block;

static mps_arena_t sweep_arena_create(void)
{
  mps_arena_t arena;
  if (sweep_client) {
    sweep_block = malloc(CLIENT_SIZE);
    cr_assert_not_null(sweep_block);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_CL_BASE, sweep_block);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, CLIENT_SIZE);
      cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_cl(), args), MPS_RES_OK);
    } MPS_ARGS_END(args);
  } else {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 20);
      cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
    } MPS_ARGS_END(args);
  }
  return arena;
}

static void sweep_arena_destroy(mps_arena_t arena)
{
  mps_arena_destroy(arena);
  free(sweep_block);
  sweep_block = NULL;
}

/* A workload: open makes what needs no fault (the arena), run does the
 * work that may be refused and returns the first failure, check looks at
 * what is left after a failure or at the end, and close destroys it all. */
typedef struct workload_s {
  void (*open)(void *w);
  mps_res_t (*run)(void *w);
  void (*check)(void *w);
  void (*close)(void *w);
  mps_arena_t (*arena)(void *w);
} workload_s;

/* Refuse request n of the workload's run; returns whether the run ended
 * before its n-th request. */
static bool sweep_once(const workload_s *load, void *w, Count n)
{
  Arena arena;
  mps_res_t res;
  bool finished;

  load->open(w);
  arena = (Arena)load->arena(w);
  arena_fail_after(arena, n);
  res = load->run(w);
  finished = arena->fail_countdown != 0;
  arena_fail_after(arena, 0);
  if (finished)
    cr_assert_eq(res, MPS_RES_OK, "run with nothing refused failed: %d", res);
  else
    /* The run may have gone on after a refusal that the library handled
     * itself (a collection that kept objects in place, say); what it
     * returns must then be success, or the refusal: no memory, or no
     * address space where the arena could not grow. */
    cr_assert(res == MPS_RES_OK || res == MPS_RES_MEMORY || res == MPS_RES_RESOURCE,
              "request %lu refused: the run returned %d", (unsigned long)n, res);
  load->check(w);
  /* Memory is back: the same work goes on from where it stopped. */
  res = load->run(w);
  cr_assert_eq(res, MPS_RES_OK, "after request %lu was refused, the run failed again: %d",
               (unsigned long)n, res);
  load->check(w);
  load->close(w);
  return finished;
}

static Count sweep(const workload_s *load, void *w)
{
  Count n;
  for (n = 1; n < SWEEP_LIMIT; ++n)
    if (sweep_once(load, w, n))
      return n;
  cr_assert_fail("the workload made more than %d requests", SWEEP_LIMIT);
  return 0;
}

/* ---- The collector ---------------------------------------------------- */

/* The pools the root table's objects are in (the first GC_HELD), and SNC,
 * whose objects live on a stack of frames that each round pops.  AWL's
 * objects refer weakly: what they alone refer to dies and is splatted. */
enum { GC_AMC, GC_AMCZ, GC_AMS, GC_LO, GC_AWL, GC_HELD, GC_SNC = GC_HELD, GC_POOLS };
enum { GC_SLOTS = 48, GC_ROUNDS = 6, GC_PER_ROUND = 40 };

/* Which objects the workload holds: slot i of the exact root refers to
 * the object with id ids[i] (0: nothing).  Static because the roots are
 * registered with the arena. */
static mps_addr_t gc_exact[GC_SLOTS];
static mps_word_t gc_ambig[4];

typedef struct gc_world_s {
  mps_arena_t arena;
  mps_chain_t chain;
  mps_fmt_t fmt;
  mps_pool_t pool[GC_POOLS];
  mps_ap_t ap[GC_POOLS];
  mps_root_t exact_root, ambig_root;
  mps_thr_t thread;
  gcobj_pool_s verify[GC_POOLS];
  mps_word_t ids[GC_SLOTS];
  mps_word_t next_id;
  int round;                /* rounds done */
  int finalized;            /* objects registered for finalization */
} gc_world_s;

static mps_arena_t gc_arena(void *p)
{
  return ((gc_world_s *)p)->arena;
}

static void gc_open(void *p)
{
  gc_world_s *w = p;
  memset(w, 0, sizeof *w);
  memset(gc_exact, 0, sizeof gc_exact);
  memset(gc_ambig, 0, sizeof gc_ambig);
  w->next_id = 1;
  w->arena = sweep_arena_create();
}

/* Make what is not made yet: a rerun after a failure resumes here. */
static mps_res_t gc_make(gc_world_s *w)
{
  static mps_pool_class_t (*const classes[GC_POOLS])(void) = {
      mps_class_amc, mps_class_amcz, mps_class_ams, mps_class_lo, mps_class_awl,
      mps_class_snc};
  mps_gen_param_s gens[2] = {{64, 0.8}, {256, 0.4}};
  mps_res_t res;
  size_t i;

  if (w->chain == NULL && (res = mps_chain_create(&w->chain, w->arena, 2, gens)) != MPS_RES_OK)
    return res;
  if (w->fmt == NULL && (res = gcobj_fmt_create(&w->fmt, w->arena)) != MPS_RES_OK)
    return res;
  for (i = 0; i < GC_POOLS; ++i) {
    if (w->pool[i] == NULL) {
      MPS_ARGS_BEGIN(args) {
        MPS_ARGS_ADD(args, MPS_KEY_FORMAT, w->fmt);
        if (i != GC_SNC)
          MPS_ARGS_ADD(args, MPS_KEY_CHAIN, w->chain);
        res = mps_pool_create_k(&w->pool[i], w->arena, classes[i](), args);
      } MPS_ARGS_END(args);
      if (res != MPS_RES_OK) {
        cr_assert_null(w->pool[i]);
        return res;
      }
      w->verify[i].pool = w->pool[i];
      w->verify[i].leaf = i == GC_AMCZ || i == GC_LO;
    }
    if (w->ap[i] == NULL) {
      MPS_ARGS_BEGIN(args) {
        if (i == GC_AWL)
          MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
        if (i == GC_SNC)
          MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
        res = mps_ap_create_k(&w->ap[i], w->pool[i], args);
      } MPS_ARGS_END(args);
      if (res != MPS_RES_OK)
        return res;
    }
  }
  if (w->exact_root == NULL
      && (res = mps_root_create_table(&w->exact_root, w->arena, mps_rank_exact(), 0, gc_exact,
                                      GC_SLOTS)) != MPS_RES_OK)
    return res;
  if (w->ambig_root == NULL
      && (res = mps_root_create_area(&w->ambig_root, w->arena, mps_rank_ambig(), 0, gc_ambig,
                                     gc_ambig + 4, mps_scan_area, NULL)) != MPS_RES_OK)
    return res;
  if (w->thread == NULL && (res = mps_thread_reg(&w->thread, w->arena)) != MPS_RES_OK)
    return res;
  mps_message_type_enable(w->arena, mps_message_type_finalization());
  mps_message_type_enable(w->arena, mps_message_type_gc());
  return MPS_RES_OK;
}

/* One object in slot `slot`, referring to the objects of two other slots
 * (leaf pools: none); what the slot held becomes garbage. */
static mps_res_t gc_new(gc_world_s *w, size_t slot, unsigned pool)
{
  mps_addr_t refs[2], p;
  bool leaf = w->verify[pool].leaf;
  mps_res_t res;
  refs[0] = gc_exact[(slot + 7) % GC_SLOTS];
  refs[1] = gc_exact[(slot * 5 + 3) % GC_SLOTS];
  res = gcobj_alloc(&p, w->ap[pool], w->next_id, leaf ? 0 : 2, 3 + slot % 5,
                    leaf ? NULL : refs);
  if (res != MPS_RES_OK)
    return res;
  gc_exact[slot] = p;
  w->ids[slot] = w->next_id++;
  return MPS_RES_OK;
}

/* A frame on the SNC stack with a few objects referring to held ones,
 * popped at once: SNC takes segments for its stack and gives them back. */
static mps_res_t gc_snc_frame(gc_world_s *w)
{
  mps_frame_t frame;
  mps_addr_t p;
  mps_res_t res;
  int i;
  if ((res = mps_ap_frame_push(&frame, w->ap[GC_SNC])) != MPS_RES_OK)
    return res;
  for (i = 0; i < 3; ++i) {
    mps_addr_t refs[2] = {gc_exact[(size_t)i], gc_exact[(size_t)i + 1]};
    /* The frame's objects are not held: their ids are never checked. */
    res = gcobj_alloc(&p, w->ap[GC_SNC], w->next_id++, 2, 200, refs);
    if (res != MPS_RES_OK)
      return res;
  }
  return mps_ap_frame_pop(w->ap[GC_SNC], frame);
}

/* Replace an AMC object of the table by a fresh copy with another id,
 * through a transform (transform.rst); every slot that held the old one
 * then holds the new one, unless an ambiguous reference refused it. */
static mps_res_t gc_transform(gc_world_s *w)
{
  size_t slot = (size_t)w->round * 5 % GC_SLOTS / GC_HELD * GC_HELD;   /* an AMC slot */
  mps_addr_t old = gc_exact[slot], copy, refs[2];
  mps_transform_t transform;
  mps_bool_t applied;
  bool was_old[GC_SLOTS];
  mps_res_t res;
  size_t i;
  if (old == NULL)
    return MPS_RES_OK;
  refs[0] = gcobj_ref(old, 0);
  refs[1] = gcobj_ref(old, 1);
  res = gcobj_alloc(&copy, w->ap[GC_AMC], w->next_id, 2, 4, refs);
  if (res != MPS_RES_OK)
    return res;
  /* Transforms are made and applied in a parked arena (transform.rst). */
  mps_arena_park(w->arena);
  if ((res = mps_transform_create(&transform, w->arena)) != MPS_RES_OK) {
    mps_arena_release(w->arena);
    return res;
  }
  res = mps_transform_add_oldnew(transform, &old, &copy, 1);
  if (res == MPS_RES_OK) {
    for (i = 0; i < GC_SLOTS; ++i)
      was_old[i] = gc_exact[i] == old;
    res = mps_transform_apply(&applied, transform);
    if (res == MPS_RES_OK && applied)
      for (i = 0; i < GC_SLOTS; ++i)
        if (was_old[i])
          w->ids[i] = w->next_id;
  }
  mps_transform_destroy(transform);
  mps_arena_release(w->arena);
  ++w->next_id;
  return res;
}

static mps_res_t gc_run(void *p)
{
  gc_world_s *w = p;
  mps_res_t res = gc_make(w);
  if (res != MPS_RES_OK)
    return res;
  for (; w->round < GC_ROUNDS; ++w->round) {
    int i;
    for (i = 0; i < GC_PER_ROUND; ++i) {
      size_t slot = (size_t)(w->round * GC_PER_ROUND + i) * 11 % GC_SLOTS;
      res = gc_new(w, slot, (unsigned)(slot % GC_HELD));
      if (res != MPS_RES_OK)
        return res;
    }
    /* Registering an object for finalization needs memory of its own. */
    if (w->finalized <= w->round) {
      size_t slot = (size_t)w->round * 7 % GC_SLOTS;
      res = mps_finalize(w->arena, &gc_exact[slot]);
      if (res != MPS_RES_OK)
        return res;
      ++w->finalized;
    }
    if ((res = gc_snc_frame(w)) != MPS_RES_OK)
      return res;
    if (w->round % 3 == 2 && (res = gc_transform(w)) != MPS_RES_OK)
      return res;
    /* An ambiguous reference pins what it refers to, an AMC object too. */
    gc_ambig[w->round % 4] = (mps_word_t)gc_exact[(size_t)w->round % GC_SLOTS];
    if (w->round % 2 == 1) {
      /* No result: a collection short of memory must still end well. */
      mps_arena_collect(w->arena);
      mps_arena_release(w->arena);
    } else {
      res = mps_arena_start_collect(w->arena);
      if (res != MPS_RES_OK)
        return res;
      while (mps_arena_step(w->arena, 0.0, 0.0))
        ;
    }
  }
  return MPS_RES_OK;
}

/* Every object a root holds is there, whole, with its id, and the heap
 * has no damage (gcobj_verify); a collection now succeeds and keeps them. */
static void gc_check_held(gc_world_s *w)
{
  gcobj_census_s census;
  size_t i;
  mps_arena_park(w->arena);
  cr_assert(gcobj_verify(w->arena, w->verify, GC_POOLS, &census), "heap: %s", census.message);
  gcobj_census_finish(&census);
  for (i = 0; i < GC_SLOTS; ++i) {
    if (w->ids[i] == 0) {
      cr_assert_null(gc_exact[i]);
      continue;
    }
    cr_assert_not_null(gc_exact[i]);
    cr_assert_eq(gcobj_id(gc_exact[i]), w->ids[i], "slot %zu", i);
    cr_assert(gcobj_intact(gc_exact[i]), "slot %zu", i);
  }
  mps_arena_release(w->arena);
}

static void gc_check(void *p)
{
  gc_world_s *w = p;
  gc_check_held(w);
  mps_arena_collect(w->arena);
  mps_arena_release(w->arena);
  gc_check_held(w);
}

static void gc_close(void *p)
{
  gc_world_s *w = p;
  mps_message_t message;
  size_t i;
  mps_arena_park(w->arena);
  while (mps_message_get(&message, w->arena, mps_message_type_finalization()))
    mps_message_discard(w->arena, message);
  while (mps_message_get(&message, w->arena, mps_message_type_gc()))
    mps_message_discard(w->arena, message);
  while (mps_message_get(&message, w->arena, mps_message_type_gc_start()))
    mps_message_discard(w->arena, message);
  if (w->thread != NULL)
    mps_thread_dereg(w->thread);
  if (w->ambig_root != NULL)
    mps_root_destroy(w->ambig_root);
  if (w->exact_root != NULL)
    mps_root_destroy(w->exact_root);
  for (i = 0; i < GC_POOLS; ++i) {
    if (w->ap[i] != NULL)
      mps_ap_destroy(w->ap[i]);
    if (w->pool[i] != NULL)
      mps_pool_destroy(w->pool[i]);
  }
  if (w->fmt != NULL)
    mps_fmt_destroy(w->fmt);
  if (w->chain != NULL)
    mps_chain_destroy(w->chain);
  sweep_arena_destroy(w->arena);
}

static const workload_s gc_load = {gc_open, gc_run, gc_check, gc_close, gc_arena};

/* An object larger than the arena's first chunk needs a segment that
 * makes the arena grow.  Where a request after the grains is refused (the
 * tables AMS, LO and AWL keep in control memory), the segment gives the
 * grains back, and arena_leave the chunk grown for them
 * (arena_release_grown): the refused allocation leaves the arena's
 * reserved memory as it was, and the retry succeeds. */
Test(faults, a_refused_segment_gives_back_the_chunk_grown_for_it)
{
  static mps_pool_class_t (*const classes[])(void) = {
      mps_class_amc, mps_class_ams, mps_class_lo, mps_class_awl};
  const mps_word_t words = ((size_t)448 << 10) / sizeof(mps_word_t);
  size_t c;
  for (c = 0; c < sizeof classes / sizeof classes[0]; ++c) {
    Count n, undone = 0;
    for (n = 1; n < 64; ++n) {
      mps_arena_t arena;
      mps_fmt_t fmt;
      mps_pool_t pool;
      mps_ap_t ap;
      mps_addr_t p;
      mps_res_t res;
      size_t reserved, committed;
      bool fell;
      MPS_ARGS_BEGIN(args) {
        MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)256 << 10);
        cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
      } MPS_ARGS_END(args);
      cr_assert_eq(gcobj_fmt_create(&fmt, arena), MPS_RES_OK);
      MPS_ARGS_BEGIN(args) {
        MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
        cr_assert_eq(mps_pool_create_k(&pool, arena, classes[c](), args), MPS_RES_OK);
      } MPS_ARGS_END(args);
      cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
      mps_arena_park(arena);
      reserved = mps_arena_reserved(arena);
      committed = mps_arena_committed(arena);
      cr_assert_lt(reserved, words * sizeof(mps_word_t), "the object must need a chunk of its own");
      arena_fail_after((Arena)arena, n);
      res = gcobj_alloc(&p, ap, 1, 0, words, NULL);
      fell = ((Arena)arena)->fail_countdown == 0;
      arena_fail_after((Arena)arena, 0);
      if (res != MPS_RES_OK) {
        cr_assert(fell, "class %zu: failed with nothing refused: %d", c, res);
        cr_assert(res == MPS_RES_MEMORY || res == MPS_RES_RESOURCE);
        cr_assert_eq(mps_arena_reserved(arena), reserved,
                     "class %zu, request %lu refused: the arena kept a chunk grown for it", c,
                     (unsigned long)n);
        cr_assert_leq(mps_arena_committed(arena), committed);
        ++undone;
        cr_assert_eq(gcobj_alloc(&p, ap, 1, 0, words, NULL), MPS_RES_OK);
      }
      cr_assert_gt(mps_arena_reserved(arena), reserved);
      mps_ap_destroy(ap);
      mps_pool_destroy(pool);
      mps_fmt_destroy(fmt);
      mps_arena_destroy(arena);
      if (!fell)
        break;
    }
    cr_assert_lt(n, 64);
    cr_assert_gt(undone, 0, "class %zu: no request was refused", c);
  }
}

/* What faults_grow_sweep makes, one call at a time. */
typedef enum { GROW_MVT_POOL, GROW_MFS_EXTENT } grow_call_e;

/* Make `call` in a 256 KiB arena again and again, each time refusing
 * every request of it in turn until it succeeds, until the arena has
 * grown three times.  A call that takes control memory first (a pool's
 * descriptor, an MFS extent's record) may grow the arena for it and then
 * be refused a later request: it must fail cleanly and leave the arena's
 * reserved size as it found it (arena_leave gives back what it grew).
 * Returns how many refused calls had grown the arena. */
static Count faults_grow_sweep(grow_call_e call, size_t taken)
{
  enum { CALLS_MAX = 1000 };
  static mps_pool_t pools[CALLS_MAX];
  mps_arena_t arena;
  mps_pool_t mfs = NULL, other = NULL;
  Count calls, made = 0, grown_then_refused = 0;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)256 << 10);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  if (taken > 0) {
    /* Grains taken first, so that the control memory and the grains run
     * out at another point of the sweep. */
    mps_addr_t p;
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, (size_t)4096);
      cr_assert_eq(mps_pool_create_k(&other, arena, mps_class_mvff(), args), MPS_RES_OK);
    } MPS_ARGS_END(args);
    cr_assert_eq(mps_alloc(&p, other, taken * 4096), MPS_RES_OK);
  }
  if (call == GROW_MFS_EXTENT) {
    MPS_ARGS_BEGIN(args) {   /* one grain a block, so every block an extent */
      MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, (size_t)4096);
      MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, (size_t)4096);
      cr_assert_eq(mps_pool_create_k(&mfs, arena, mps_class_mfs(), args), MPS_RES_OK);
    } MPS_ARGS_END(args);
  }
  for (calls = 0; calls < CALLS_MAX && ((Arena)arena)->grown < 3; ++calls) {
    Count n;
    for (n = 1;; ++n) {
      size_t reserved = mps_arena_reserved(arena);
      Count grown = ((Arena)arena)->grown;
      mps_addr_t p;
      mps_res_t res;
      bool fell;
      cr_assert_lt(n, 100, "call %lu never succeeded", (unsigned long)calls);
      arena_fail_after((Arena)arena, n);
      if (call == GROW_MVT_POOL)
        res = mps_pool_create_k(&pools[made], arena, mps_class_mvt(), mps_args_none);
      else
        res = mps_alloc(&p, mfs, 4096);
      fell = ((Arena)arena)->fail_countdown == 0;
      arena_fail_after((Arena)arena, 0);
      if (res == MPS_RES_OK) {
        if (call == GROW_MVT_POOL)
          ++made;
        break;
      }
      cr_assert(fell, "call %lu failed with nothing refused: %d", (unsigned long)calls, res);
      cr_assert(res == MPS_RES_MEMORY || res == MPS_RES_RESOURCE);
      cr_assert_eq(mps_arena_reserved(arena), reserved,
                   "call %lu, request %lu refused: the arena kept a chunk grown for it",
                   (unsigned long)calls, (unsigned long)n);
      if (((Arena)arena)->grown != grown)
        ++grown_then_refused;
    }
  }
  cr_assert_lt(calls, CALLS_MAX, "the arena never grew three times");
  while (made > 0)
    mps_pool_destroy(pools[--made]);
  if (mfs != NULL)
    mps_pool_destroy(mfs);
  if (other != NULL)
    mps_pool_destroy(other);
  mps_arena_destroy(arena);
  return grown_then_refused;
}

Test(faults, a_refused_pool_creation_gives_back_a_chunk_grown_for_its_descriptor)
{
  cr_assert_gt(faults_grow_sweep(GROW_MVT_POOL, 0), 0, "no refused pool creation grew the arena");
}

Test(faults, a_refused_mfs_extent_gives_back_a_chunk_grown_for_its_record)
{
  /* The record comes first: only where the control memory runs out
   * with the grains does it grow the arena, so the grains other memory
   * takes first move that point through the sweep. */
  Count grown_then_refused = 0;
  size_t taken;
  for (taken = 0; taken < 64; ++taken)
    grown_then_refused += faults_grow_sweep(GROW_MFS_EXTENT, taken);
  cr_assert_gt(grown_then_refused, 0, "no refused MFS allocation grew the arena");
}

/* A full arena; an MVFF pool with blocks of `size` on its quick lists
 * (every other one of FLUSH_BLOCKS freed).  Returns the pool; the
 * arena's grains are all in use.  `fit` is how many 4 KiB blocks the
 * arena held beside the small ones, found by the first call (0). */
enum { FLUSH_BLOCKS = 600 };   /* 300 listed: more than a flush sorts on the stack */

static mps_pool_t faults_flush_world(mps_arena_t *arena_o, mps_addr_t *blocks, size_t size,
                                     Count *fit)
{
  mps_arena_t arena;
  mps_pool_t pool;
  mps_ap_t ap;   /* a point, so that mps_free lists blocks (pool_mvff.c) */
  mps_addr_t p;
  size_t reserved;
  Count i;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)256 << 10);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, (size_t)4096);
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, 1.0);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  for (i = 0; i < FLUSH_BLOCKS; ++i) {
    cr_assert_eq(mps_alloc(&blocks[i], pool, size), MPS_RES_OK);
    memset(blocks[i], (int)(i & 0xFF), size);
  }
  reserved = mps_arena_reserved(arena);
  if (*fit == 0) {
    /* Fill the arena once to learn how many blocks fit before it grows. */
    while (mps_arena_reserved(arena) == reserved) {
      cr_assert_eq(mps_alloc(&p, pool, 4096), MPS_RES_OK);
      ++*fit;
    }
    --*fit;
    cr_assert_gt(*fit, 0);
  } else {
    for (i = 0; i < *fit; ++i)
      cr_assert_eq(mps_alloc(&p, pool, 4096), MPS_RES_OK);
    cr_assert_eq(mps_arena_reserved(arena), reserved, "the blocks that fit made the arena grow");
  }
  for (i = 0; i < FLUSH_BLOCKS; i += 2) {
    mps_free(pool, blocks[i], size);
    blocks[i] = NULL;
  }
  mps_ap_destroy(ap);
  *arena_o = arena;
  return pool;
}

/* mps_alloc flushes MVFF's quick lists into its free land before it
 * searches, and the land needs descriptors for the blocks.  In a full
 * arena they once made the arena grow; when the pool's extension was
 * then refused, the call failed but the chunk stayed, holding the
 * descriptors.  Now the descriptors never grow the arena (the failover's
 * freelist holds the ranges instead), so a refused call leaves the arena
 * as it was, and the pool goes on working. */
Test(faults, a_refused_mvff_allocation_that_flushed_its_quick_lists_leaves_the_arena_as_it_was)
{
  static const size_t sizes[] = {64, 512};   /* a small size, and one above MVFF_SMALL_MAX */
  size_t s;
  for (s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
    Count fit = 0, n, refused = 0;
    mps_arena_t arena;
    mps_addr_t blocks[FLUSH_BLOCKS], p;
    mps_pool_t pool = faults_flush_world(&arena, blocks, sizes[s], &fit);
    mps_pool_destroy(pool);
    mps_arena_destroy(arena);
    for (n = 1;; ++n) {
      size_t reserved, total;
      mps_res_t res;
      bool fell;
      Count i;
      cr_assert_lt(n, 1000, "size %zu: the allocation never succeeded", sizes[s]);
      pool = faults_flush_world(&arena, blocks, sizes[s], &fit);
      reserved = mps_arena_reserved(arena);
      total = mps_pool_total_size(pool);
      arena_fail_after((Arena)arena, n);
      res = mps_alloc(&p, pool, 8192);
      fell = ((Arena)arena)->fail_countdown == 0;
      arena_fail_after((Arena)arena, 0);
      if (res != MPS_RES_OK) {
        cr_assert(fell, "size %zu: failed with nothing refused: %d", sizes[s], res);
        cr_assert(res == MPS_RES_MEMORY || res == MPS_RES_RESOURCE);
        cr_assert_eq(mps_arena_reserved(arena), reserved,
                     "size %zu, request %lu refused: the arena grew by %zu bytes", sizes[s],
                     (unsigned long)n, mps_arena_reserved(arena) - reserved);
        cr_assert_eq(mps_pool_total_size(pool), total);
        ++refused;
        cr_assert_eq(mps_alloc(&p, pool, 8192), MPS_RES_OK, "size %zu: no recovery", sizes[s]);
      }
      /* The blocks still held keep their contents. */
      for (i = 1; i < FLUSH_BLOCKS; i += 2) {
        const unsigned char *b = blocks[i];
        size_t j;
        for (j = 0; j < sizes[s]; ++j)
          cr_assert_eq(b[j], i & 0xFF, "size %zu: block %lu damaged", sizes[s], (unsigned long)i);
      }
      mps_pool_destroy(pool);
      mps_arena_destroy(arena);
      if (!fell)
        break;
    }
    cr_assert_gt(refused, 0, "size %zu: no refusal made the allocation fail", sizes[s]);
  }
}

Test(faults, each_request_of_a_collecting_workload_refused_in_turn_loses_nothing)
{
  gc_world_s w;
  Count n = sweep(&gc_load, &w);
  /* Pools, roots, a thread, finalization and collections: each needs
   * memory of its own, so the sweep passed many sites. */
  cr_assert_gt(n, 40, "only %lu requests", (unsigned long)n);
}

/* ---- The manual pools ------------------------------------------------- */

/* Blocks of every manual pool and every way to allocate: mps_alloc from
 * MVFF, its debugging class and MFS; allocation points on MVFF and MVT;
 * a segregated allocation cache on MVFF; frames.  Frees as well, since a
 * free may need memory (a range table's node) that is not there. */
enum { K_MVFF, K_DEBUG, K_MFS, K_MVFF_AP, K_MVT_AP, K_SAC, K_KINDS };
enum { M_BLOCKS = 64, M_STEPS = 360, M_MFS_UNIT = 48 };

typedef struct m_block_s {
  mps_addr_t p;             /* NULL: the slot is empty */
  size_t size;
  unsigned char fill;       /* every byte of the block */
} m_block_s;

typedef struct m_world_s {
  mps_arena_t arena;
  mps_pool_t mvff, debug, mfs, mvt;
  mps_ap_t mvff_ap, mvt_ap;
  mps_sac_t sac;
  m_block_s block[K_KINDS][M_BLOCKS];
  int step;                 /* steps done */
} m_world_s;

static mps_arena_t m_arena(void *p)
{
  return ((m_world_s *)p)->arena;
}

static void m_open(void *p)
{
  m_world_s *m = p;
  memset(m, 0, sizeof *m);
  m->arena = sweep_arena_create();
}

static mps_res_t m_pool(mps_pool_t *pool_io, mps_arena_t arena, mps_pool_class_t klass,
                        mps_arg_s args[])
{
  mps_res_t res;
  if (*pool_io != NULL)
    return MPS_RES_OK;
  res = mps_pool_create_k(pool_io, arena, klass, args);
  if (res != MPS_RES_OK)
    cr_assert_null(*pool_io, "a failed creation handed out a pool");
  return res;
}

static mps_res_t m_make(m_world_s *m)
{
  static const char fence[] = "fence.fence.";
  static const char free_fill[] = "\xdd";
  mps_pool_debug_option_s debug = {fence, sizeof fence - 1, free_fill, 1};
  mps_sac_class_s classes[3] = {{32, 16, 4}, {128, 8, 2}, {512, 4, 1}};
  mps_res_t res;

  if ((res = m_pool(&m->mvff, m->arena, mps_class_mvff(), mps_args_none)) != MPS_RES_OK)
    return res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, &debug);
    res = m_pool(&m->debug, m->arena, mps_class_mvff_debug(), args);
  } MPS_ARGS_END(args);
  if (res != MPS_RES_OK)
    return res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, M_MFS_UNIT);
    res = m_pool(&m->mfs, m->arena, mps_class_mfs(), args);
  } MPS_ARGS_END(args);
  if (res != MPS_RES_OK)
    return res;
  if ((res = m_pool(&m->mvt, m->arena, mps_class_mvt(), mps_args_none)) != MPS_RES_OK)
    return res;
  if (m->mvff_ap == NULL && (res = mps_ap_create_k(&m->mvff_ap, m->mvff, mps_args_none))
                                 != MPS_RES_OK)
    return res;
  if (m->mvt_ap == NULL && (res = mps_ap_create_k(&m->mvt_ap, m->mvt, mps_args_none))
                                != MPS_RES_OK)
    return res;
  if (m->sac == NULL && (res = mps_sac_create(&m->sac, m->mvff, 3, classes)) != MPS_RES_OK)
    return res;
  return MPS_RES_OK;
}

/* Mostly small blocks, some of a few KiB and now and then a large one, so
 * that the pools take fresh grains throughout and not only at first. */
static size_t m_size(int kind, int step)
{
  size_t size;
  if (kind == K_MFS)
    return M_MFS_UNIT;
  if (kind == K_SAC)
    return (size_t)8 << (step % 7);            /* 8 to 512: every class, and none */
  if (step % 37 == 0)
    size = (size_t)40 << 10;
  else if (step % 5 == 0)
    size = (size_t)1000 + (size_t)step * 13;
  else
    size = (size_t)16 + (size_t)(step * 24) % 200;
  /* Allocation points take only sizes aligned for their pool. */
  return (size + MPS_PF_ALIGN - 1) & ~(size_t)(MPS_PF_ALIGN - 1);
}

static mps_res_t m_reserve(mps_addr_t *p_o, mps_ap_t ap, size_t size)
{
  do {
    mps_res_t res = mps_reserve(p_o, ap, size);
    if (res != MPS_RES_OK)
      return res;
  } while (!mps_commit(ap, *p_o, size));
  return MPS_RES_OK;
}

static mps_res_t m_alloc(m_world_s *m, int kind, mps_addr_t *p_o, size_t size)
{
  switch (kind) {
  case K_MVFF:
    return mps_alloc(p_o, m->mvff, size);
  case K_DEBUG:
    return mps_alloc(p_o, m->debug, size);
  case K_MFS:
    return mps_alloc(p_o, m->mfs, size);
  case K_MVFF_AP:
    return m_reserve(p_o, m->mvff_ap, size);
  case K_MVT_AP:
    return m_reserve(p_o, m->mvt_ap, size);
  default:
    return mps_sac_alloc(p_o, m->sac, size, 0);
  }
}

static void m_free(m_world_s *m, int kind, m_block_s *b)
{
  switch (kind) {
  case K_MVFF:
  case K_MVFF_AP:
    mps_free(m->mvff, b->p, b->size);
    break;
  case K_DEBUG:
    mps_free(m->debug, b->p, b->size);
    break;
  case K_MFS:
    mps_free(m->mfs, b->p, b->size);
    break;
  case K_MVT_AP:
    mps_free(m->mvt, b->p, b->size);
    break;
  default:
    mps_sac_free(m->sac, b->p, b->size);
    break;
  }
  b->p = NULL;
}

static mps_res_t m_run(void *p)
{
  m_world_s *m = p;
  mps_res_t res = m_make(m);
  if (res != MPS_RES_OK)
    return res;
  for (; m->step < M_STEPS; ++m->step) {
    int kind = m->step % K_KINDS;
    /* Slots are reused after about two rounds of kinds, so blocks die
     * young and old, and frees interleave with allocations. */
    m_block_s *b = &m->block[kind][(m->step / K_KINDS) * 7 % M_BLOCKS];
    size_t size = m_size(kind, m->step);
    if (b->p != NULL)
      m_free(m, kind, b);
    res = m_alloc(m, kind, &b->p, size);
    if (res != MPS_RES_OK) {
      b->p = NULL;
      return res;
    }
    b->size = size;
    b->fill = (unsigned char)(m->step | 1);
    memset(b->p, b->fill, size);
    /* A frame around a few blocks left to the pool's destruction. */
    if (m->step % 50 == 49) {
      mps_frame_t frame;
      mps_addr_t q;
      int i;
      if ((res = mps_ap_frame_push(&frame, m->mvff_ap)) != MPS_RES_OK)
        return res;
      for (i = 0; i < 3; ++i)
        if ((res = m_reserve(&q, m->mvff_ap, 64)) != MPS_RES_OK)
          return res;
      if ((res = mps_ap_frame_pop(m->mvff_ap, frame)) != MPS_RES_OK)
        return res;
    }
  }
  return MPS_RES_OK;
}

/* Every block holds what was written to it; the debugging pool's fences
 * and freed memory are untouched; the pools' sizes add up. */
static void m_check(void *p)
{
  m_world_s *m = p;
  mps_pool_t pools[4] = {m->mvff, m->debug, m->mfs, m->mvt};
  int kind, i;
  size_t j;
  for (kind = 0; kind < K_KINDS; ++kind)
    for (i = 0; i < M_BLOCKS; ++i) {
      m_block_s *b = &m->block[kind][i];
      if (b->p == NULL)
        continue;
      for (j = 0; j < b->size; ++j)
        cr_assert_eq(((unsigned char *)b->p)[j], b->fill, "kind %d block %d byte %zu", kind,
                     i, j);
    }
  if (m->debug != NULL) {
    mps_pool_check_fenceposts(m->debug);
    mps_pool_check_free_space(m->debug);
  }
  for (i = 0; i < 4; ++i)
    if (pools[i] != NULL)
      cr_assert_leq(mps_pool_free_size(pools[i]), mps_pool_total_size(pools[i]));
}

static void m_close(void *p)
{
  m_world_s *m = p;
  int kind, i;
  for (kind = 0; kind < K_KINDS; ++kind)
    for (i = 0; i < M_BLOCKS; ++i)
      if (m->block[kind][i].p != NULL)
        m_free(m, kind, &m->block[kind][i]);
  if (m->sac != NULL)
    mps_sac_destroy(m->sac);
  if (m->mvt_ap != NULL)
    mps_ap_destroy(m->mvt_ap);
  if (m->mvff_ap != NULL)
    mps_ap_destroy(m->mvff_ap);
  if (m->mvt != NULL)
    mps_pool_destroy(m->mvt);
  if (m->mfs != NULL)
    mps_pool_destroy(m->mfs);
  if (m->debug != NULL)
    mps_pool_destroy(m->debug);
  if (m->mvff != NULL)
    mps_pool_destroy(m->mvff);
  sweep_arena_destroy(m->arena);
}

static const workload_s m_load = {m_open, m_run, m_check, m_close, m_arena};

Test(faults, each_request_of_the_manual_pools_refused_in_turn_loses_nothing)
{
  static m_world_s m;       /* static: the block table is large for a stack */
  Count n = sweep(&m_load, &m);
  cr_assert_gt(n, 40, "only %lu requests", (unsigned long)n);
}

/* The same in client arenas, which cannot grow: the arena's memory is
 * refused at other places, and what the workloads get is the block's. */
Test(faults, each_request_of_a_collecting_workload_in_a_client_arena_refused_in_turn_loses_nothing)
{
  gc_world_s w;
  sweep_client = true;
  cr_assert_gt(sweep(&gc_load, &w), 40);
}

Test(faults, each_request_of_the_manual_pools_in_a_client_arena_refused_in_turn_loses_nothing)
{
  static m_world_s m;
  sweep_client = true;
  cr_assert_gt(sweep(&m_load, &m), 40);
}

/* ---- Pool creation ---------------------------------------------------- */

/* How a class of faults_pool_cases is created. */
typedef enum { FAULTS_NO_CHAIN, FAULTS_OWN_CHAIN, FAULTS_DEFAULT_CHAIN } faults_chain_e;
typedef struct faults_pool_case_s {
  const char *name;
  mps_pool_class_t (*klass)(void);
  bool formatted;             /* takes MPS_KEY_FORMAT */
  faults_chain_e chain;       /* MPS_KEY_CHAIN, or the arena's default */
  mps_pool_debug_option_s *debug;
  size_t unit_size;           /* MPS_KEY_MFS_UNIT_SIZE, or 0 */
} faults_pool_case_s;

static mps_res_t faults_pool_create(mps_pool_t *pool_o, mps_arena_t arena,
                                    const faults_pool_case_s *pc, mps_fmt_t fmt,
                                    mps_chain_t chain)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    if (pc->formatted)
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    if (pc->chain == FAULTS_OWN_CHAIN)
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    if (pc->debug != NULL)
      MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, pc->debug);
    if (pc->unit_size != 0)
      MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, pc->unit_size);
    res = mps_pool_create_k(pool_o, arena, pc->klass(), args);
  } MPS_ARGS_END(args);
  return res;
}

/* A pool of every class, debugging classes included, is created with
 * each of its requests refused in turn.  A refused creation returns a
 * result that says memory ran out, hands out no pool, and leaves the
 * arena's control memory and reservation as they were; the creation that
 * is refused nothing succeeds, and the pool's destruction then gives
 * back all the control memory it took.  (Debugging pools copy their
 * templates into control memory, so they have a request more.) */
Test(faults, a_refused_pool_creation_of_every_class_leaves_nothing)
{
  static const char fence[] = "fence";
  static const char free_fill[] = "free";
  static mps_pool_debug_option_s debug = {fence, sizeof fence - 1, free_fill,
                                          sizeof free_fill - 1};
  static mps_pool_debug_option_s debug_free_only = {NULL, 0, free_fill, sizeof free_fill - 1};
  static const faults_pool_case_s cases[] = {
    {"mfs", mps_class_mfs, false, FAULTS_NO_CHAIN, NULL, 64},
    {"mvff", mps_class_mvff, false, FAULTS_NO_CHAIN, NULL, 0},
    {"mvff_debug", mps_class_mvff_debug, false, FAULTS_NO_CHAIN, &debug, 0},
    {"mvt", mps_class_mvt, false, FAULTS_NO_CHAIN, NULL, 0},
    {"amc", mps_class_amc, true, FAULTS_OWN_CHAIN, NULL, 0},
    {"amcz", mps_class_amcz, true, FAULTS_OWN_CHAIN, NULL, 0},
    {"ams", mps_class_ams, true, FAULTS_OWN_CHAIN, NULL, 0},
    {"ams_debug", mps_class_ams_debug, true, FAULTS_OWN_CHAIN, &debug_free_only, 0},
    {"lo", mps_class_lo, true, FAULTS_OWN_CHAIN, NULL, 0},
    {"awl", mps_class_awl, true, FAULTS_OWN_CHAIN, NULL, 0},
    {"snc", mps_class_snc, true, FAULTS_NO_CHAIN, NULL, 0},
    /* Last: the arena's default chain is made on first use and kept. */
    {"ams_debug, default chain", mps_class_ams_debug, true, FAULTS_DEFAULT_CHAIN,
     &debug_free_only, 0},
  };
  mps_arena_t arena = sweep_arena_create();
  mps_gen_param_s gens[1] = {{256, 0.5}};
  mps_chain_t chain;
  mps_fmt_t fmt;
  size_t c;
  cr_assert_eq(mps_chain_create(&chain, arena, 1, gens), MPS_RES_OK);
  cr_assert_eq(gcobj_fmt_create(&fmt, arena), MPS_RES_OK);
  for (c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
    const faults_pool_case_s *pc = &cases[c];
    Count n, refused = 0;
    for (n = 1;; ++n) {
      Size control = refusal_control_in_use((Arena)arena);
      size_t reserved = mps_arena_reserved(arena);
      mps_pool_t pool = NULL;
      mps_res_t res;
      bool fell;
      cr_assert_lt(n, 100, "%s: creation never succeeded", pc->name);
      arena_fail_after((Arena)arena, n);
      res = faults_pool_create(&pool, arena, pc, fmt, chain);
      fell = refusal_fell(arena, n);
      arena_fail_after((Arena)arena, 0);
      if (res == MPS_RES_OK) {
        cr_assert(!fell, "%s: request %lu was refused, yet the creation succeeded",
                  pc->name, (unsigned long)n);
        mps_pool_destroy(pool);
        if (pc->chain == FAULTS_DEFAULT_CHAIN) {
          /* The default chain stays with the arena, and only it: a second
           * pool on it leaves nothing more. */
          control = refusal_control_in_use((Arena)arena);
          cr_assert_eq(faults_pool_create(&pool, arena, pc, fmt, chain), MPS_RES_OK);
          mps_pool_destroy(pool);
        }
        cr_assert_eq(refusal_control_in_use((Arena)arena), control,
                     "%s: the destroyed pool kept control memory", pc->name);
        break;
      }
      ++refused;
      cr_assert(fell, "%s: failed with nothing refused: %d", pc->name, res);
      cr_assert(refusal_result(res), "%s: %d", pc->name, res);
      cr_assert_null(pool, "%s: a refused creation handed out a pool", pc->name);
      cr_assert_eq(refusal_control_in_use((Arena)arena), control,
                   "%s, request %lu refused: control memory lost", pc->name, (unsigned long)n);
      cr_assert_eq(mps_arena_reserved(arena), reserved, "%s, request %lu refused", pc->name,
                   (unsigned long)n);
    }
    cr_assert_gt(refused, 0, "%s: its creation made no request", pc->name);
  }
  mps_fmt_destroy(fmt);
  mps_chain_destroy(chain);
  mps_arena_destroy(arena);
}
