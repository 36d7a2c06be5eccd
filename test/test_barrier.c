/* Unit tests for the write barrier (src/gc/barrier.c): which arenas have
 * it, old segments protected after boring scans, a store into one caught
 * and remembered so that a minor collection keeps the young object it
 * refers to, collections that skip old segments (but not one whose
 * narrow summary meets the condemned zones), stores by a walk's
 * visitor (the thread holds the arena lock), buffers, postmortem, and
 * pools destroyed while protected. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "../include/mps.h"
#include "../include/mpsacl.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpscawl.h"
#include "../src/gc/gc.h"
#include "../src/gc/chain.h"
#include "../src/gc/seg.h"
#include "../src/protect/fault.h"
#include "support/objfmt.h"
#include "support/configs.h"

#if defined(__linux__)
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The system's page protection, replaced in this program so that a test
 * can have the system refuse a call, as prot_os.h allows any to be: while
 * tbar_refusals is positive, a call that gives read and write access back
 * is refused with ENOMEM, as Linux refuses one that would split a mapping
 * when the process has vm.max_map_count of them. */
static atomic_uint tbar_refusals, tbar_refused;

int mprotect(void *addr, size_t len, int prot)
{
  if (prot == (PROT_READ | PROT_WRITE) && atomic_load(&tbar_refusals) > 0) {
    atomic_fetch_sub(&tbar_refusals, 1);
    atomic_fetch_add(&tbar_refused, 1);
    errno = ENOMEM;
    return -1;
  }
  return (int)syscall(SYS_mprotect, addr, len, prot);
}
#endif

#define W sizeof(mps_word_t)
#define OLD 64             /* old objects, in the root table */
#define OLD_DATA 1000      /* data words of each: about 8 KiB, so several segments */

typedef struct tbar_s {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_root_t root;
  mps_addr_t refs[OLD + 2];   /* exact root: the old objects, then spares */
} tbar_s;

static GC tbar_gc(mps_arena_t arena)
{
  return ((Arena)arena)->gc;
}

/* The heap of the tests in `arena`, or in a new VM arena if NULL, with
 * the chain of generations gens[0..count). */
static void tbar_open_chain(tbar_s *t, mps_pool_class_t klass, mps_arena_t arena,
                            mps_gen_param_s *gens, size_t count)
{
  memset(t, 0, sizeof *t);
  t->arena = arena;
  if (arena == NULL) {
    MPS_ARGS_BEGIN(args) {
      /* Room for four periods of the zones (gc_gen_zones). */
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)256 << 20);
      cr_assert_eq(mps_arena_create_k(&t->arena, mps_arena_class_vm(), args), MPS_RES_OK);
    } MPS_ARGS_END(args);
  }
  cr_assert_eq(objfmt_create(&t->fmt, t->arena, objfmt_scan,
                             klass == mps_class_amc() || klass == mps_class_amcz()),
               MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&t->chain, t->arena, count, gens), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
    cr_assert_eq(mps_pool_create_k(&t->pool, t->arena, klass, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&t->ap, t->pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->root, t->arena, mps_rank_exact(), 0, t->refs,
                                     sizeof t->refs / sizeof t->refs[0]), MPS_RES_OK);
  mps_arena_park(t->arena);
}

/* A nursery of 64 KiB, and one generation after it that keeps its own. */
static void tbar_open_in(tbar_s *t, mps_pool_class_t klass, mps_arena_t arena)
{
  mps_gen_param_s gens[2] = {{64, 0.5}, {100000, 0.5}};   /* KiB */
  tbar_open_chain(t, klass, arena, gens, 2);
}

static void tbar_open(tbar_s *t, mps_pool_class_t klass)
{
  tbar_open_in(t, klass, NULL);
}

static void tbar_close(tbar_s *t)
{
  mps_arena_park(t->arena);
  mps_root_destroy(t->root);
  mps_ap_destroy(t->ap);
  mps_pool_destroy(t->pool);
  mps_chain_destroy(t->chain);
  mps_fmt_destroy(t->fmt);
  mps_arena_destroy(t->arena);
}

/* An object of one reference (0) and ndata words from `seed`, stored in
 * *slot before the next MPS call. */
static void tbar_new(mps_ap_t ap, mps_addr_t *slot, size_t ndata, mps_word_t seed)
{
  size_t words = 3 + ndata, i;
  mps_addr_t p;
  do {
    objfmt_obj obj;
    cr_assert_eq(mps_reserve(&p, ap, words * W), MPS_RES_OK);
    obj = p;
    obj->header = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    obj->nrefs = 1;
    obj->slot[0] = 0;
    for (i = 0; i < ndata; ++i)
      obj->slot[1 + i] = seed * 977u + i;
  } while (!mps_commit(ap, p, words * W));
  *slot = p;
}

static bool tbar_ok(mps_addr_t p, size_t ndata, mps_word_t seed)
{
  objfmt_obj obj = p;
  size_t i;
  if (OBJFMT_TYPE(obj->header) != OBJFMT_T_OBJ || obj->nrefs != 1
      || OBJFMT_WORDS(obj->header) != 3 + ndata)
    return false;
  for (i = 0; i < ndata; ++i)
    if (obj->slot[1 + i] != seed * 977u + i)
      return false;
  return true;
}

/* After stores that may have faulted: the fault hook is a signal handler,
 * so the compiler must not assume the collector's state it then reads is
 * unchanged. */
static void tbar_stored(void)
{
  atomic_signal_fence(memory_order_seq_cst);
}

/* Garbage until the nursery is over capacity, then a minor collection. */
static void tbar_minor(tbar_s *t)
{
  size_t i;
  for (i = 0; i < 80; ++i)
    tbar_new(t->ap, &t->refs[OLD + 1], 120, 0);
  t->refs[OLD + 1] = NULL;
  cr_assert(mps_arena_step(t->arena, 0.0, 1.0), "a generation is due");
  mps_arena_park(t->arena);
}

/* n minor collections in a row. */
static void tbar_minors(tbar_s *t, size_t n)
{
  while (n-- > 0)
    tbar_minor(t);
}

static bool tbar_protected(mps_arena_t arena, mps_addr_t p)
{
  Seg seg;
  cr_assert(seg_of_addr(&seg, (Arena)arena, (Addr)p));
  return (seg->shield.sm & PROT_DENY_WRITE) != 0;
}

/* How many of the old objects are in write-protected segments. */
static size_t tbar_old_guarded(tbar_s *t)
{
  size_t i, kept = 0;
  for (i = 0; i < OLD; ++i)
    kept += tbar_protected(t->arena, t->refs[i]);
  return kept;
}

/* barrier.guarded is the size of the write-protected segments, and of
 * no read-protected one. */
static void tbar_guarded_agrees(mps_arena_t arena)
{
  GC gc = tbar_gc(arena);
  Ring node, next;
  Size sum = 0;
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if ((seg->shield.sm & PROT_DENY_WRITE) != 0)
      sum += seg_size(seg);
  }
  cr_assert_eq(gc->barrier.guarded, sum, "guarded %zu, but %zu bytes are write-protected",
               (size_t)gc->barrier.guarded, (size_t)sum);
}

/* Old objects: made, promoted by a full collection, then left alone by
 * enough minor collections for their segments' barriers to go up. */
static void tbar_make_old(tbar_s *t)
{
  size_t i;
  for (i = 0; i < OLD; ++i)
    tbar_new(t->ap, &t->refs[i], OLD_DATA, (mps_word_t)i + 1);
  mps_arena_collect(t->arena);
  for (i = 0; i < BARRIER_DEFER_INIT + 1; ++i)
    tbar_minor(t);
  for (i = 0; i < OLD; ++i)
    cr_assert(tbar_ok(t->refs[i], OLD_DATA, (mps_word_t)i + 1));
}

/* Young objects reachable only from the old ones: each store into an old
 * object faults once per segment (barrier hits rise). */
static void tbar_store_young(tbar_s *t, mps_word_t seed)
{
  GC gc = tbar_gc(t->arena);
  Count hits = gc->barrier.hits;
  size_t i;
  for (i = 0; i < OLD; ++i) {
    tbar_new(t->ap, &t->refs[OLD], 8, seed + (mps_word_t)i);
    ((objfmt_obj)t->refs[i])->slot[0] = (mps_word_t)t->refs[OLD];
  }
  tbar_stored();
  t->refs[OLD] = NULL;
  cr_assert_gt(gc->barrier.hits, hits);
}

/* Minor collections, after which the old objects and the young ones
 * stored into them by tbar_store_young(t, seed) are intact. */
static void tbar_check_young(tbar_s *t, mps_word_t seed)
{
  size_t i;
  for (i = 0; i < 3; ++i)
    tbar_minor(t);
  for (i = 0; i < OLD; ++i) {
    objfmt_obj old = t->refs[i];
    cr_assert(tbar_ok(old, OLD_DATA, (mps_word_t)i + 1));
    cr_assert(tbar_ok((mps_addr_t)old->slot[0], 8, seed + (mps_word_t)i),
              "young object %zu survived through its old referrer", i);
  }
}

/* A client arena over this block (aligned to a page, as a client's mmap
 * would be), with grains of `grain` bytes (0: the default). */
static _Alignas(1 << 16) mps_word_t tbar_block[(size_t)64 << 20 >> 3];

static mps_arena_t tbar_client_arena(size_t grain)
{
  mps_arena_t arena;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_CL_BASE, tbar_block);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, sizeof tbar_block);
    if (grain != 0)
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, grain);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_cl(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  return arena;
}

/* The barrier is wanted wherever segments cover whole pages: in a VM
 * arena, and in a client arena whose grains are whole pages (its default);
 * not in a client arena with smaller grains. */
Test(barrier, on_where_grains_are_whole_pages)
{
  tbar_s t;
  mps_arena_t arena;
  mps_fmt_t fmt;

  tbar_open(&t, mps_class_amc());
  cr_assert(tbar_gc(t.arena)->barrier.on);
  tbar_close(&t);

  arena = tbar_client_arena(0);
  cr_assert_eq(objfmt_create(&fmt, arena, objfmt_scan, true), MPS_RES_OK);
  cr_assert(tbar_gc(arena)->barrier.on);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);

  arena = tbar_client_arena(256);
  cr_assert_eq(objfmt_create(&fmt, arena, objfmt_scan, true), MPS_RES_OK);
  cr_assert_not(tbar_gc(arena)->barrier.on);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}

/* The fault handler's table holds FAULT_SLOTS arenas: one more arena's
 * collector goes without the barrier, and still collects correctly; once
 * an arena with the barrier is destroyed, the next one has it again. */
Test(barrier, an_arena_past_the_fault_tables_size_goes_without_and_collects)
{
  mps_arena_t arena[FAULT_SLOTS + 2];
  mps_fmt_t fmt[FAULT_SLOTS + 2];
  tbar_s t;
  size_t i;

  for (i = 0; i < FAULT_SLOTS; ++i) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 20);
      cr_assert_eq(mps_arena_create_k(&arena[i], mps_arena_class_vm(), args), MPS_RES_OK);
    } MPS_ARGS_END(args);
    cr_assert_eq(objfmt_create(&fmt[i], arena[i], objfmt_scan, true), MPS_RES_OK);
    cr_assert(tbar_gc(arena[i])->barrier.on, "arena %zu", i);
  }
  /* One too many: old objects stay unguarded, and what only they refer
   * to survives the minor collections all the same. */
  tbar_open(&t, mps_class_amc());
  cr_assert_not(tbar_gc(t.arena)->barrier.on);
  tbar_make_old(&t);
  cr_assert_eq(tbar_old_guarded(&t), 0);
  for (i = 0; i < OLD; ++i) {
    tbar_new(t.ap, &t.refs[OLD], 8, 7000 + (mps_word_t)i);
    ((objfmt_obj)t.refs[i])->slot[0] = (mps_word_t)t.refs[OLD];
  }
  t.refs[OLD] = NULL;
  tbar_check_young(&t, 7000);
  cr_assert_eq(tbar_gc(t.arena)->barrier.hits, 0);
  tbar_close(&t);

  mps_fmt_destroy(fmt[0]);
  mps_arena_destroy(arena[0]);
  tbar_open(&t, mps_class_amc());
  cr_assert(tbar_gc(t.arena)->barrier.on, "a slot given back was not taken again");
  tbar_close(&t);
  for (i = 1; i < FAULT_SLOTS; ++i) {
    mps_fmt_destroy(fmt[i]);
    mps_arena_destroy(arena[i]);
  }
}

/* In a client arena, old objects go under the barrier as in a VM arena,
 * stores into them are caught, and what they then refer to survives the
 * minor collections that skip them. */
Test(barrier, client_arena_old_objects_are_guarded)
{
  tbar_s t;
  GC gc;
  Count skips;
  size_t kept;

  tbar_open_in(&t, mps_class_amc(), tbar_client_arena(0));
  gc = tbar_gc(t.arena);
  tbar_make_old(&t);
  kept = tbar_old_guarded(&t);
  cr_assert_gt(kept, 0, "no old object is under the barrier");
  skips = gc->barrier.skips;
  tbar_minor(&t);
  cr_assert_gt(gc->barrier.skips, skips);
  tbar_store_young(&t, 7000);
  tbar_check_young(&t, 7000);
  tbar_close(&t);
}

Test(barrier, store_into_old_object_is_remembered)
{
  tbar_s t;
  GC gc;
  Count skips;
  size_t i, kept = 0;

  tbar_open(&t, mps_class_amc());
  gc = tbar_gc(t.arena);
  tbar_make_old(&t);
  cr_assert_gt(gc->barrier.raises, 0);
  kept = tbar_old_guarded(&t);
  cr_assert_gt(kept, OLD / 2, "most old objects are under the barrier (%zu)", kept);

  /* A collection now skips the old segments. */
  skips = gc->barrier.skips;
  tbar_minor(&t);
  cr_assert_gt(gc->barrier.skips, skips);

  /* Young objects reachable only from old ones: the next minor
   * collections must see them. */
  tbar_store_young(&t, 5000);
  for (i = 0; i < OLD; ++i) {
    Seg seg;
    cr_assert(seg_of_addr(&seg, (Arena)t.arena, (Addr)t.refs[i]));
    cr_assert_eq(seg->shield.sm & PROT_DENY_WRITE, 0);
    cr_assert_eq(seg->summary, ZONE_SET_UNIV, "a store widens the summary");
  }
  tbar_check_young(&t, 5000);
  tbar_close(&t);
}

/* A segment that is not condemned, and whose summary is narrow but meets
 * the condemned zones, must still be scanned.  Three generations: old
 * objects O in the last, each referring to a young object P promoted to
 * the middle one, so that after boring minor collections O's segments
 * are under the barrier with summaries of P's zones.  Then the middle
 * generation goes over its capacity, and a collection condemns it with
 * the nursery but not O's generation: P is reachable only through O. */
Test(barrier, a_narrow_summary_meeting_the_condemned_zones_is_scanned)
{
  mps_gen_param_s gens[3] = {{64, 0.5}, {256, 0.5}, {100000, 0.5}};   /* KiB */
  mps_addr_t young[OLD];
  tbar_s t;
  GC gc;
  size_t i, narrow = 0, moved = 0;

  tbar_open_chain(&t, mps_class_amc(), NULL, gens, 3);
  gc = tbar_gc(t.arena);
  for (i = 0; i < OLD; ++i)
    tbar_new(t.ap, &t.refs[i], OLD_DATA, (mps_word_t)i + 1);
  mps_arena_collect(t.arena);    /* O into the middle generation */
  mps_arena_collect(t.arena);    /* and into the last */
  for (i = 0; i < OLD; ++i) {
    tbar_new(t.ap, &t.refs[OLD], 8, 7000 + (mps_word_t)i);
    ((objfmt_obj)t.refs[i])->slot[0] = (mps_word_t)t.refs[OLD];
  }
  tbar_stored();
  t.refs[OLD] = NULL;
  /* The first minor collection promotes P; the rest find O boring. */
  tbar_minors(&t, BARRIER_DEFER_DELAY + BARRIER_DEFER_INIT + 2);
  for (i = 0; i < OLD; ++i) {
    Seg oseg, pseg;
    young[i] = (mps_addr_t)((objfmt_obj)t.refs[i])->slot[0];
    cr_assert(tbar_ok(young[i], 8, 7000 + (mps_word_t)i));
    cr_assert(seg_of_addr(&oseg, (Arena)t.arena, (Addr)t.refs[i]));
    cr_assert(seg_of_addr(&pseg, (Arena)t.arena, (Addr)young[i]));
    cr_assert_eq(oseg->gen->gen, 2);
    cr_assert_eq(pseg->gen->gen, 1);
    if (oseg->summary != ZONE_SET_UNIV
        && (oseg->summary & zone_set_of_range(gc->zone_shift, pseg->base, pseg->limit)) != 0)
      ++narrow;
  }
  cr_assert_gt(narrow, OLD / 2, "too few old segments have narrow summaries (%zu)", narrow);

  /* 320 KiB of survivors into the middle generation (a list held in
   * refs[OLD], as tbar_minor uses the other spare), then dropped. */
  t.refs[OLD] = NULL;
  for (i = 0; i < 40; ++i) {
    tbar_new(t.ap, &t.refs[OLD + 1], 1000, 0);
    ((objfmt_obj)t.refs[OLD + 1])->slot[0] = (mps_word_t)t.refs[OLD];
    t.refs[OLD] = t.refs[OLD + 1];
  }
  t.refs[OLD + 1] = NULL;
  tbar_minor(&t);
  t.refs[OLD] = NULL;
  tbar_minor(&t);                /* condemns the nursery and the middle generation */
  for (i = 0; i < OLD; ++i) {
    objfmt_obj old = t.refs[i];
    mps_addr_t p = (mps_addr_t)old->slot[0];
    cr_assert(tbar_ok(old, OLD_DATA, (mps_word_t)i + 1));
    cr_assert(tbar_ok(p, 8, 7000 + (mps_word_t)i),
              "the object behind old object %zu was lost", i);
    moved += p != young[i];
  }
  cr_assert_eq(moved, OLD, "the middle generation was not condemned (%zu moved)", moved);
  tbar_close(&t);
}

/* A condemned AMC segment is evacuated and freed: its barrier comes down
 * when it is condemned, so the fixes that copy out of it, each exposing
 * it, cost no protection change. */
Test(barrier, condemned_amc_segments_lose_their_barrier, TEST_NEEDS_INCREMENTS)
{
  tbar_s t;
  GC gc;
  size_t i, guarded = 0, white = 0;

  tbar_open(&t, mps_class_amc());
  gc = tbar_gc(t.arena);
  tbar_make_old(&t);
  for (i = 0; i < OLD; ++i)
    guarded += tbar_protected(t.arena, t.refs[i]);
  cr_assert_gt(guarded, 0, "no old object is under the barrier");
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  {
    Ring node, next;
    RING_FOR(node, &gc->seg_ring, next) {
      Seg seg = PARENT(seg_s, gc_ring, node);
      if (seg->white == TRACE_SET_EMPTY)
        continue;
      ++white;
      cr_assert_eq(seg->shield.sm & PROT_DENY_WRITE, 0);
      cr_assert_eq(seg->summary, ZONE_SET_UNIV);
    }
  }
  cr_assert_gt(white, 0);
  mps_arena_park(t.arena);
  for (i = 0; i < OLD; ++i)
    cr_assert(tbar_ok(t.refs[i], OLD_DATA, (mps_word_t)i + 1));
  tbar_close(&t);
}

/* Old objects in a non-moving pool (AMS) whose chain is never due, young
 * ones in AMC: the remembered set works across pools. */
/* An AMS pool in a chain of its own, whose one generation is never due,
 * so that the AMC pool's minor collections leave it alone; refs[0..OLD)
 * get old objects in it, and no allocation point is left to keep a
 * segment unguarded. */
typedef struct tbar_ams_s {
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t ams;
} tbar_ams_s;

static void tbar_ams_open(tbar_s *t, tbar_ams_s *a)
{
  mps_gen_param_s big = {100000, 0.5};
  mps_ap_t ap;
  size_t i;
  cr_assert_eq(objfmt_create(&a->fmt, t->arena, objfmt_scan, false), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&a->chain, t->arena, 1, &big), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, a->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, a->chain);
    cr_assert_eq(mps_pool_create_k(&a->ams, t->arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap, a->ams, mps_args_none), MPS_RES_OK);
  for (i = 0; i < OLD; ++i)
    tbar_new(ap, &t->refs[i], OLD_DATA, (mps_word_t)i + 1);
  mps_ap_destroy(ap);
}

/* Drop everything, then the AMS pool and the heap of the tests. */
static void tbar_ams_close(tbar_s *t, tbar_ams_s *a)
{
  memset(t->refs, 0, sizeof t->refs);
  mps_arena_collect(t->arena);
  mps_pool_destroy(a->ams);
  mps_chain_destroy(a->chain);
  mps_fmt_destroy(a->fmt);
  tbar_close(t);
}

Test(barrier, old_objects_in_ams)
{
  tbar_s t;
  GC gc;
  tbar_ams_s a;
  size_t i, kept = 0;

  tbar_open(&t, mps_class_amc());
  gc = tbar_gc(t.arena);
  tbar_ams_open(&t, &a);
  tbar_minors(&t, BARRIER_DEFER_INIT + 1);
  kept = tbar_old_guarded(&t);
  cr_assert_eq(kept, OLD);
  for (i = 0; i < OLD; ++i) {
    tbar_new(t.ap, &t.refs[OLD], 8, 7000 + (mps_word_t)i);
    ((objfmt_obj)t.refs[i])->slot[0] = (mps_word_t)t.refs[OLD];
  }
  tbar_stored();
  t.refs[OLD] = NULL;
  cr_assert_gt(gc->barrier.hits, 0);
  tbar_minors(&t, 3);
  for (i = 0; i < OLD; ++i) {
    cr_assert(tbar_ok(t.refs[i], OLD_DATA, (mps_word_t)i + 1));
    cr_assert(tbar_ok((mps_addr_t)((objfmt_obj)t.refs[i])->slot[0], 8, 7000 + (mps_word_t)i));
  }
  tbar_ams_close(&t, &a);
}

/* Old objects are the only referrers of young objects of another chain,
 * whose nursery shares the young zones with the first chain's: the first
 * chain's collections see those references (into condemned zones, but
 * not condemned), and the other chain's collection later keeps the
 * objects and updates the references to their copies. */
Test(barrier, old_objects_keep_another_chains_young_objects)
{
  mps_gen_param_s gens[2] = {{1024, 0.5}, {100000, 0.5}};   /* KiB */
  tbar_s t;
  tbar_ams_s a;
  mps_chain_t chain;
  mps_pool_t other;
  mps_ap_t ap;
  size_t i;

  tbar_open(&t, mps_class_amc());
  tbar_ams_open(&t, &a);
  cr_assert_eq(mps_chain_create(&chain, t.arena, 2, gens), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    cr_assert_eq(mps_pool_create_k(&other, t.arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap, other, mps_args_none), MPS_RES_OK);
  tbar_minors(&t, BARRIER_DEFER_INIT + 1);
  for (i = 0; i < OLD; ++i) {
    tbar_new(ap, &t.refs[OLD], 8, 5000 + (mps_word_t)i);
    ((objfmt_obj)t.refs[i])->slot[0] = (mps_word_t)t.refs[OLD];
  }
  tbar_stored();
  t.refs[OLD] = NULL;
  for (i = 0; i < BARRIER_DEFER_DELAY + 3; ++i)   /* the first chain's */
    tbar_minor(&t);
  /* Now the other chain's nursery is due, and collected. */
  for (i = 0; i < 1200; ++i)
    tbar_new(ap, &t.refs[OLD + 1], 120, 0);
  t.refs[OLD + 1] = NULL;
  cr_assert(mps_arena_step(t.arena, 0.0, 1.0));
  mps_arena_park(t.arena);
  for (i = 0; i < OLD; ++i) {
    mps_addr_t young = (mps_addr_t)((objfmt_obj)t.refs[i])->slot[0];
    Seg seg;
    cr_assert(seg_of_addr(&seg, (Arena)t.arena, (Addr)young),
              "old object %zu refers to memory the collection freed", i);
    cr_assert(tbar_ok(young, 8, 5000 + (mps_word_t)i));
  }
  mps_ap_destroy(ap);
  memset(t.refs, 0, sizeof t.refs);
  mps_arena_collect(t.arena);
  mps_pool_destroy(other);
  mps_chain_destroy(chain);
  tbar_ams_close(&t, &a);
}

/* Old objects guarded, young ones (seed 7000) stored into them, and the
 * minor collection whose scan of the old segments finds the young ones. */
static void tbar_open_after_an_interesting_scan(tbar_s *t, tbar_ams_s *a)
{
  tbar_open(t, mps_class_amc());
  tbar_ams_open(t, a);
  tbar_minors(t, BARRIER_DEFER_INIT + 1);
  tbar_store_young(t, 7000);
  tbar_minor(t);
}

/* A segment whose scan found condemned objects is left unguarded for the
 * next BARRIER_DEFER_DELAY scans (barrier.h), since the mutator has just
 * been storing young references into it, and guarded again once scans
 * find nothing there. */
Test(barrier, a_segment_a_scan_found_young_objects_in_waits_to_be_guarded)
{
  tbar_s t;
  tbar_ams_s a;
  size_t kept;

  tbar_open_after_an_interesting_scan(&t, &a);
  kept = tbar_old_guarded(&t);
  cr_assert_eq(kept, 0, "%zu old objects guarded at once", kept);
  tbar_minors(&t, BARRIER_DEFER_DELAY + 1);
  kept = tbar_old_guarded(&t);
  cr_assert_eq(kept, OLD);
  tbar_check_young(&t, 7000);
  tbar_ams_close(&t, &a);
}

/* A segment an allocation point holds is not guarded, however long the
 * collector finds nothing new in it: the point writes into it at every
 * reserve, and each write would fault (barrier.h). */
Test(barrier, a_point_keeps_its_segment_unguarded_across_collections)
{
  tbar_s t;
  tbar_ams_s a;
  mps_ap_t ap;
  Seg seg;
  Count hits;
  size_t i;

  tbar_open(&t, mps_class_amc());
  tbar_ams_open(&t, &a);
  cr_assert_eq(mps_ap_create_k(&ap, a.ams, mps_args_none), MPS_RES_OK);
  tbar_new(ap, &t.refs[OLD], OLD_DATA, 5);
  cr_assert(seg_of_addr(&seg, (Arena)t.arena, (Addr)t.refs[OLD]));
  for (i = 0; i < BARRIER_DEFER_INIT + BARRIER_DEFER_DELAY + 2; ++i) {
    tbar_minor(&t);
    cr_assert_neq(seg->buffer, NULL);
    cr_assert_eq(seg->shield.sm & PROT_DENY_WRITE, 0, "guarded after collection %zu", i);
  }
  hits = tbar_gc(t.arena)->barrier.hits;
  tbar_new(ap, &t.refs[OLD], OLD_DATA, 6);
  cr_assert_eq(tbar_gc(t.arena)->barrier.hits, hits);
  mps_ap_destroy(ap);
  tbar_ams_close(&t, &a);
}

/* An AWL scan method that copies each object's weak reference, once
 * fixed, into its dependent object (awl.rst lets a scan write there):
 * slot[0] is the weak reference, slot[1] the dependent, a plain word
 * (it is in AMS, which never moves it). */
static mps_res_t tbar_copying_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  MPS_SCAN_BEGIN(ss) {
    while (base < limit) {
      objfmt_obj obj = base;
      if (OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ) {
        mps_addr_t ref = (mps_addr_t)obj->slot[0];
        if (MPS_FIX1(ss, ref)) {
          mps_res_t res = MPS_FIX2(ss, &ref);
          if (res != MPS_RES_OK)
            return res;
          obj->slot[0] = (mps_word_t)ref;
        }
        if (obj->slot[1] != 0)
          ((objfmt_obj)obj->slot[1])->slot[0] = obj->slot[0];
      }
      base = objfmt_skip(base);
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

static mps_addr_t tbar_copying_dependent(mps_addr_t addr)
{
  objfmt_obj obj = addr;
  return OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ ? (mps_addr_t)obj->slot[1] : NULL;
}

/* The scan of a weak AWL object writes a reference into its dependent,
 * an old AMS object under the barrier with a summary that met nothing.
 * The dependent's segment must then be scanned by the next collection of
 * the referent's generation, or the referent dies while it refers to it
 * (design/poolawl.txt: the dependent's summary becomes universal). */
Test(barrier, a_scan_writing_into_a_dependent_object_widens_its_summary)
{
  mps_gen_param_s nursery = {64, 0.5};   /* one generation: survivors stay */
  tbar_s t;
  tbar_ams_s a;
  mps_fmt_t wfmt;
  mps_pool_t awl;
  mps_ap_t weak;
  mps_addr_t p;
  objfmt_obj dep, w;

  tbar_open_chain(&t, mps_class_amc(), NULL, &nursery, 1);
  tbar_ams_open(&t, &a);
  tbar_minors(&t, BARRIER_DEFER_INIT + 1);
  dep = t.refs[0];
  cr_assert(tbar_protected(t.arena, dep), "the dependent is not under the barrier");
  cr_assert_eq(dep->slot[0], 0);
  cr_assert_eq(objfmt_create(&wfmt, t.arena, tbar_copying_scan, false), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, wfmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
    MPS_ARGS_ADD(args, MPS_KEY_AWL_FIND_DEPENDENT, tbar_copying_dependent);
    cr_assert_eq(mps_pool_create_k(&awl, t.arena, mps_class_awl(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    cr_assert_eq(mps_ap_create_k(&weak, awl, args), MPS_RES_OK);
  } MPS_ARGS_END(args);

  tbar_new(t.ap, &t.refs[OLD], 8, 4242);         /* the referent, in AMC */
  do {
    cr_assert_eq(mps_reserve(&p, weak, 4 * W), MPS_RES_OK);
    w = p;
    w->header = OBJFMT_HDR(4, OBJFMT_T_OBJ);
    w->nrefs = 1;
    w->slot[0] = (mps_word_t)t.refs[OLD];
    w->slot[1] = (mps_word_t)dep;
  } while (!mps_commit(weak, p, 4 * W));
  t.refs[1] = p;                                 /* in place of an old object */

  tbar_minor(&t);          /* scans w, which moves the referent into dep */
  cr_assert_eq((mps_addr_t)dep->slot[0], t.refs[OLD], "the scan did not copy the reference");
  t.refs[OLD] = NULL;      /* now only dep refers to it strongly */
  tbar_minor(&t);
  cr_assert_neq(dep->slot[0], 0, "the referent died while dep referred to it");
  cr_assert(tbar_ok((mps_addr_t)dep->slot[0], 8, 4242), "the referent was lost");
  cr_assert_eq(((objfmt_obj)t.refs[1])->slot[0], dep->slot[0]);

  memset(t.refs, 0, sizeof t.refs);
  mps_arena_collect(t.arena);
  mps_ap_destroy(weak);
  mps_pool_destroy(awl);
  mps_fmt_destroy(wfmt);
  tbar_ams_close(&t, &a);
}

/* An old AMS segment under the barrier whose free space an allocation
 * point then fills: the objects made there may refer to anything, so the
 * segment's summary must widen when the point takes it, or, once the
 * point lets it go, the barrier would guard a summary that misses them,
 * and a minor collection would skip the segment and lose the young
 * objects only they refer to. */
Test(barrier, a_point_filling_an_old_segment_widens_its_summary)
{
  tbar_s t;
  tbar_ams_s a;
  mps_ap_t ap;
  Seg seg;
  size_t i, old_segs = 0;

  tbar_open(&t, mps_class_amc());
  tbar_ams_open(&t, &a);
  /* Every other old object dies, leaving holes in the old segments. */
  for (i = 1; i < OLD; i += 2)
    t.refs[i] = NULL;
  mps_arena_collect(t.arena);
  tbar_minors(&t, BARRIER_DEFER_INIT + 1);
  for (i = 0; i < OLD; i += 2)
    cr_assert(tbar_protected(t.arena, t.refs[i]), "old object %zu is not guarded", i);

  /* New AMS objects in the holes, each the only referrer of a young AMC
   * object, stored while the point holds the segment. */
  cr_assert_eq(mps_ap_create_k(&ap, a.ams, mps_args_none), MPS_RES_OK);
  for (i = 1; i < OLD; i += 2) {
    Seg neighbour;
    tbar_new(ap, &t.refs[i], OLD_DATA, 9000 + (mps_word_t)i);
    cr_assert(seg_of_addr(&seg, (Arena)t.arena, (Addr)t.refs[i]));
    cr_assert(seg_of_addr(&neighbour, (Arena)t.arena, (Addr)t.refs[i - 1]));
    old_segs += seg == neighbour;
    tbar_new(t.ap, &t.refs[OLD], 8, 7000 + (mps_word_t)i);
    ((objfmt_obj)t.refs[i])->slot[0] = (mps_word_t)t.refs[OLD];
    t.refs[OLD] = NULL;
  }
  tbar_stored();
  cr_assert_gt(old_segs, 0, "no new object went into an old segment");
  mps_ap_destroy(ap);
  tbar_minors(&t, 3);
  for (i = 1; i < OLD; i += 2)
    cr_assert(tbar_ok((mps_addr_t)((objfmt_obj)t.refs[i])->slot[0], 8, 7000 + (mps_word_t)i),
              "the young object of new object %zu was lost", i);
  tbar_ams_close(&t, &a);
}

/* The visitor of a walk runs with the arena lock held, and the segment
 * it visits is exposed.  Its store into the visited object must widen the
 * summary all the same; its stores into other objects (in segments that
 * are not exposed) fault, and take the path of the hook that must not
 * take the lock. */
static mps_addr_t tbar_young;
static mps_addr_t *tbar_old;

static void tbar_visit(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  objfmt_obj obj = addr;
  size_t i;
  (void)fmt;
  (void)pool;
  (void)s;
  (void)p;
  if (OBJFMT_TYPE(obj->header) != OBJFMT_T_OBJ || OBJFMT_WORDS(obj->header) != 3 + OLD_DATA)
    return;
  obj->slot[0] = (mps_word_t)tbar_young;
  for (i = 0; i < OLD; ++i)
    ((objfmt_obj)tbar_old[i])->slot[0] = (mps_word_t)tbar_young;
}

/* The young object that the walk tests store into every old object. */
static void tbar_walk_young(tbar_s *t)
{
  tbar_new(t->ap, &t->refs[OLD], 8, 9999);
  tbar_young = t->refs[OLD];
  tbar_old = t->refs;
  t->refs[OLD] = NULL;
}

/* After minor collections, every old object still refers to it. */
static void tbar_walk_young_kept(tbar_s *t)
{
  size_t i;
  tbar_young = NULL;
  for (i = 0; i < 3; ++i)
    tbar_minor(t);
  for (i = 0; i < OLD; ++i)
    cr_assert(tbar_ok((mps_addr_t)((objfmt_obj)t->refs[i])->slot[0], 8, 9999),
              "the young object behind old object %zu was lost", i);
}

Test(barrier, walk_visitor_stores)
{
  tbar_s t;
  GC gc;
  Count hits;

  tbar_open(&t, mps_class_amc());
  gc = tbar_gc(t.arena);
  tbar_make_old(&t);
  tbar_walk_young(&t);
  hits = gc->barrier.hits;
  mps_arena_formatted_objects_walk(t.arena, tbar_visit, NULL, 0);
  cr_assert_gt(gc->barrier.hits, hits);
  tbar_walk_young_kept(&t);
  tbar_close(&t);
}

/* An area scanner of mps_pool_walk may change references (pool.rst):
 * each old object gets the young one while its segment is exposed for the
 * walk, which the write barrier does not see, so the walk must widen the
 * segment's summary or the next minor collections lose the young object. */
static mps_res_t tbar_store_area(mps_ss_t ss, void *base, void *limit, void *closure)
{
  mps_word_t *p;
  (void)ss;
  (void)closure;
  for (p = base; p < (mps_word_t *)limit; p += OBJFMT_WORDS(p[0]))
    if (OBJFMT_TYPE(p[0]) == OBJFMT_T_OBJ && OBJFMT_WORDS(p[0]) == 3 + OLD_DATA)
      ((objfmt_obj)p)->slot[0] = (mps_word_t)tbar_young;
  return MPS_RES_OK;
}

Test(barrier, pool_walk_scanner_stores)
{
  tbar_s t;
  GC gc;
  Count hits;
  size_t i;

  tbar_open(&t, mps_class_amc());
  gc = tbar_gc(t.arena);
  tbar_make_old(&t);
  for (i = 0; i < OLD; ++i)
    cr_assert(tbar_protected(t.arena, t.refs[i]));
  tbar_walk_young(&t);
  hits = gc->barrier.hits;
  cr_assert_eq(mps_pool_walk(t.pool, tbar_store_area, NULL), MPS_RES_OK);
  cr_assert_eq(gc->barrier.hits, hits, "the walk's stores went through the barrier");
  tbar_walk_young_kept(&t);
  tbar_close(&t);
}

/* An arena's fault registration goes with it: the table has FAULT_SLOTS
 * (fault.h), and arenas made and destroyed one after another all get the
 * barrier. */
Test(barrier, arenas_made_one_after_another_all_get_it)
{
  size_t i;
  for (i = 0; i < FAULT_SLOTS + 2; ++i) {
    tbar_s t;
    tbar_open(&t, mps_class_amc());
    cr_assert(tbar_gc(t.arena)->barrier.on, "arena %zu has no barrier", i);
    tbar_close(&t);
  }
}

Test(barrier, buffered_segment_is_not_protected)
{
  tbar_s t;
  Ring node, next;
  GC gc;

  tbar_open(&t, mps_class_amc());
  gc = tbar_gc(t.arena);
  tbar_make_old(&t);
  tbar_new(t.ap, &t.refs[OLD], 8, 1);
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if (seg->buffer != NULL) {
      cr_assert_eq(seg->summary, ZONE_SET_UNIV);
      cr_assert_eq(seg->shield.sm & PROT_DENY_WRITE, 0);
    }
  }
  tbar_close(&t);
}

Test(barrier, postmortem_lowers_everything)
{
  tbar_s t;
  GC gc;
  Count hits;
  Ring node, next;
  size_t i;

  tbar_open(&t, mps_class_amc());
  gc = tbar_gc(t.arena);
  tbar_make_old(&t);
  mps_arena_postmortem(t.arena);
  cr_assert_not(gc->barrier.on);
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    cr_assert_eq(seg->shield.sm, PROT_DENY_NONE);
    cr_assert_eq(seg->shield.pm, PROT_DENY_NONE);
  }
  hits = gc->barrier.hits;
  for (i = 0; i < OLD; ++i)
    ((objfmt_obj)t.refs[i])->slot[0] = 0;
  tbar_stored();
  cr_assert_eq(gc->barrier.hits, hits);
  mps_arena_park(t.arena);
  tbar_close(&t);
}

/* The system refuses to lower the barrier for a store (prot_os.h).  The
 * segment stays protected though the shield takes it for exposed, so the
 * store would fault for ever; instead the arena gives its memory access
 * again, and the store and every later one run without a fault.  The
 * later ones, into segments the shield still counts as protected, are
 * seen by no barrier, so the next collection switches the barrier off
 * before it trusts a summary: the young objects they stored survive the
 * minor collections that follow. */
Test(barrier, a_refused_lowering_leaves_the_heap_usable, .timeout = 60)
{
#if !defined(__linux__)
  cr_skip_test("this test replaces mprotect, which it does on Linux only");
#else
  tbar_s t;
  GC gc;
  Count hits;
  mps_addr_t young[OLD];
  size_t i, guarded = 0;

  tbar_open(&t, mps_class_amc());
  gc = tbar_gc(t.arena);
  tbar_make_old(&t);
  for (i = 0; i < OLD; ++i)
    guarded += tbar_protected(t.arena, t.refs[i]);
  cr_assert(tbar_protected(t.arena, t.refs[0]));
  cr_assert_gt(guarded, 1, "the later stores need guarded segments too");
  /* The young objects first (the arena is parked, so they stay where
   * they are), so that only the stores below reach the system. */
  for (i = 0; i < OLD; ++i)
    tbar_new(t.ap, &young[i], 8, 9000 + (mps_word_t)i);
  hits = gc->barrier.hits;
  atomic_store(&tbar_refused, 0);
  atomic_store(&tbar_refusals, 1);
  for (i = 0; i < OLD; ++i)
    ((objfmt_obj)t.refs[i])->slot[0] = (mps_word_t)young[i];
  tbar_stored();
  cr_assert_eq(atomic_load(&tbar_refused), 1, "the system was asked to lower nothing");
  cr_assert_eq(gc->barrier.hits, hits + 1, "only the first store should fault");
  cr_assert(gc_prot_failed(gc));
  tbar_check_young(&t, 9000);
  cr_assert_not(gc->barrier.on);
  tbar_close(&t);
#endif
}

#if defined(__linux__)
/* Old objects, then the first one G made to refer to a young object (the
 * store widens its segment's summary), then a minor collection started by
 * an allocation's poll, which returns as soon as the roots are scanned;
 * the arena is then clamped, so that only faults advance it.  G's segment
 * is grey, and under the read barrier. */
static void tbar_open_grey_old_object(tbar_s *t)
{
  GC gc;
  Seg g;
  size_t n;
  tbar_open(t, mps_class_amc());
  gc = tbar_gc(t->arena);
  tbar_make_old(t);
  tbar_new(t->ap, &t->refs[OLD], 8, 7000);
  ((objfmt_obj)t->refs[0])->slot[0] = (mps_word_t)t->refs[OLD];
  tbar_stored();
  t->refs[OLD] = NULL;
  mps_arena_release(t->arena);
  for (n = 0; gc->busy_traces == TRACE_SET_EMPTY; ++n) {
    cr_assert_lt(n, 10000, "no collection started");
    tbar_new(t->ap, &t->refs[OLD + 1], 120, 0);
    tbar_stored();
  }
  mps_arena_clamp(t->arena);
  t->refs[OLD + 1] = NULL;
  cr_assert(seg_of_addr(&g, (Arena)t->arena, (Addr)t->refs[0]));
  cr_assert_neq(g->shield.pm & PROT_DENY_READ, 0, "G is not under the read barrier");
}

/* Read G's reference, which must fault and get the copy the trace makes
 * of the young object, whatever the system refused meanwhile. */
static void tbar_read_grey_old_object(tbar_s *t)
{
  mps_word_t got = ((objfmt_obj)t->refs[0])->slot[0];
  tbar_stored();
  mps_arena_park(t->arena);
  cr_assert_eq(got, ((objfmt_obj)t->refs[0])->slot[0], "G was read before its scan");
  cr_assert(tbar_ok((mps_addr_t)got, 8, 7000));
}
#endif

/* A read of a grey segment faults once, is counted as a read barrier
 * hit, and its scan lowers the read protection; the guarded size counts
 * the write barrier only, whatever the read barrier raised and lowered. */
Test(barrier, a_read_barrier_hit_is_counted_and_guards_no_bytes, .timeout = 60, TEST_NEEDS_INCREMENTS)
{
#if !defined(__linux__)
  cr_skip_test("the helpers of this test are for Linux only");
#else
  tbar_s t;
  GC gc;
  Count read_hits;

  tbar_open_grey_old_object(&t);
  gc = tbar_gc(t.arena);
  tbar_guarded_agrees(t.arena);
  read_hits = gc->barrier.read_hits;
  tbar_read_grey_old_object(&t);
  cr_assert_eq(gc->barrier.read_hits, read_hits + 1);
  tbar_guarded_agrees(t.arena);
  tbar_close(&t);
#endif
}

/* Postmortem in the middle of an incremental trace lowers the read
 * barrier too: G, grey and unscanned, is then read without a fault.  The
 * arena stays postmortem with its collection in progress, so it is left
 * as it is, as a client that called for a postmortem would. */
Test(barrier, postmortem_during_a_trace_lowers_the_read_barrier, .timeout = 60, TEST_NEEDS_INCREMENTS)
{
#if !defined(__linux__)
  cr_skip_test("the helpers of this test are for Linux only");
#else
  tbar_s t;
  GC gc;
  Ring node, next;
  Count read_hits;

  tbar_open_grey_old_object(&t);
  gc = tbar_gc(t.arena);
  mps_arena_postmortem(t.arena);
  cr_assert_not(gc->barrier.on);
  cr_assert_eq(gc->barrier.reading, TRACE_SET_EMPTY);
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    cr_assert_eq(seg->shield.sm, PROT_DENY_NONE);
  }
  read_hits = gc->barrier.read_hits;
  (void)*(mps_word_t volatile *)&((objfmt_obj)t.refs[0])->slot[0];
  tbar_stored();
  cr_assert_eq(gc->barrier.read_hits, read_hits);
#endif
}

/* A refusal in the fault hook during an incremental trace (gc.c,
 * gc_prot_refused): the arena's memory is opened, but not the grey
 * segments under the read barrier, which the trace still relies on until
 * its next piece of work, which the mutator's next read of one brings.
 * Here the refusal is of the lowering for a store into another old
 * object, W, under the write barrier only. */
Test(barrier, a_refusal_in_the_fault_hook_keeps_the_read_barrier_up, .timeout = 60, TEST_NEEDS_INCREMENTS)
{
#if !defined(__linux__)
  cr_skip_test("this test replaces mprotect, which it does on Linux only");
#else
  tbar_s t;
  Seg g, w;
  size_t i;

  tbar_open_grey_old_object(&t);
  cr_assert(seg_of_addr(&g, (Arena)t.arena, (Addr)t.refs[0]));
  for (i = 1; i < OLD; ++i) {
    cr_assert(seg_of_addr(&w, (Arena)t.arena, (Addr)t.refs[i]));
    if (w != g && tbar_protected(t.arena, t.refs[i]) && (w->shield.pm & PROT_DENY_READ) == 0)
      break;
  }
  cr_assert_lt(i, OLD, "no other old segment under the write barrier only");
  atomic_store(&tbar_refused, 0);
  atomic_store(&tbar_refusals, 1);
  ((objfmt_obj)t.refs[i])->slot[0] = 0;   /* a store into W, refused its lowering */
  tbar_stored();
  cr_assert_eq(atomic_load(&tbar_refused), 1);
  cr_assert(gc_prot_failed(tbar_gc(t.arena)));
  tbar_read_grey_old_object(&t);
  tbar_close(&t);
#endif
}

/* The same, but the refusal is of the lowering of G itself, for the scan
 * its read brings: the refused range is opened last, read barrier or
 * not, so that the scan can read it. */
Test(barrier, a_refused_lowering_of_a_grey_segment_opens_it_for_its_scan, .timeout = 60, TEST_NEEDS_INCREMENTS)
{
#if !defined(__linux__)
  cr_skip_test("this test replaces mprotect, which it does on Linux only");
#else
  tbar_s t;
  tbar_open_grey_old_object(&t);
  atomic_store(&tbar_refused, 0);
  atomic_store(&tbar_refusals, 1);
  tbar_read_grey_old_object(&t);
  cr_assert_eq(atomic_load(&tbar_refused), 1);
  cr_assert(gc_prot_failed(tbar_gc(t.arena)));
  tbar_close(&t);
#endif
}

Test(barrier, destroy_pool_while_protected_then_again)
{
  tbar_s t;
  int round;
  for (round = 0; round < 2; ++round) {
    tbar_open(&t, mps_class_amc());
    tbar_make_old(&t);
    cr_assert(tbar_protected(t.arena, t.refs[0]));
    tbar_close(&t);
  }
}

/* A full collection condemns everything, so AMC copies every object to
 * new segments, which start their count again: none is protected. */
/* An incremental trace needs the barrier to guard grey segments with
 * read protection (trace.c, trace_may_increment): in an arena without it
 * a collection mps_arena_start_collect starts is over on return, and only
 * one that goes on is counted as incremental. */
Test(barrier, a_started_collection_is_incremental_only_with_the_barrier, TEST_NEEDS_INCREMENTS)
{
  tbar_s t;
  size_t i;

  tbar_open_in(&t, mps_class_amc(), tbar_client_arena(256));
  cr_assert_not(tbar_gc(t.arena)->barrier.on);
  for (i = 0; i < OLD; ++i)
    tbar_new(t.ap, &t.refs[i], 100, (mps_word_t)i + 1);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert_eq(tbar_gc(t.arena)->busy_traces, TRACE_SET_EMPTY,
               "a collection went on with no read barrier to guard it");
  cr_assert_eq(tbar_gc(t.arena)->incremental_traces, 0);
  for (i = 0; i < OLD; ++i)
    cr_assert(tbar_ok(t.refs[i], 100, (mps_word_t)i + 1));
  tbar_close(&t);

  tbar_open(&t, mps_class_amc());
  for (i = 0; i < OLD; ++i)
    tbar_new(t.ap, &t.refs[i], 100, (mps_word_t)i + 1);
  mps_arena_collect(t.arena);
  cr_assert_eq(tbar_gc(t.arena)->incremental_traces, 0, "mps_arena_collect stops the world");
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  cr_assert_neq(tbar_gc(t.arena)->busy_traces, TRACE_SET_EMPTY);
  cr_assert_eq(tbar_gc(t.arena)->incremental_traces, 1);
  mps_arena_park(t.arena);
  for (i = 0; i < OLD; ++i)
    cr_assert(tbar_ok(t.refs[i], 100, (mps_word_t)i + 1));
  tbar_close(&t);
}

/* barrier.skips counts the segments with references that a collection
 * left unscanned because their summaries missed it: leaf segments, which
 * no collection scans, are not among them. */
Test(barrier, leaf_segments_left_alone_are_not_counted_as_skipped)
{
  tbar_s t;
  Count skips;
  size_t i;

  tbar_open(&t, mps_class_amcz());
  for (i = 0; i < OLD; ++i)
    tbar_new(t.ap, &t.refs[i], OLD_DATA, (mps_word_t)i + 1);
  mps_arena_collect(t.arena);   /* promoted: left alone by minor collections */
  skips = tbar_gc(t.arena)->barrier.skips;
  tbar_minor(&t);
  cr_assert_eq(tbar_gc(t.arena)->barrier.skips, skips, "leaf segments counted as skipped");
  for (i = 0; i < OLD; ++i)
    cr_assert(tbar_ok(t.refs[i], OLD_DATA, (mps_word_t)i + 1));
  tbar_close(&t);
}

Test(barrier, full_collections_raise_nothing)
{
  tbar_s t;
  GC gc;
  size_t i;

  tbar_open(&t, mps_class_amc());
  gc = tbar_gc(t.arena);
  for (i = 0; i < OLD; ++i)
    tbar_new(t.ap, &t.refs[i], OLD_DATA, (mps_word_t)i + 1);
  for (i = 0; i < 5; ++i)
    mps_arena_collect(t.arena);
  cr_assert_eq(gc->barrier.raises, 0);
  for (i = 0; i < OLD; ++i)
    cr_assert_not(tbar_protected(t.arena, t.refs[i]));
  tbar_close(&t);
}

/* Segments of a chain's first generation go in the young zones, later
 * generations' elsewhere (gc_gen_zones), while the arena has room: so an
 * old segment's references to old objects miss what a minor collection
 * condemns. */
Test(barrier, generations_keep_to_their_zones)
{
  tbar_s t;
  GC gc;
  Ring node, next;
  size_t young = 0, old = 0;
  PoolGen first = NULL;

  tbar_open(&t, mps_class_amc());
  gc = tbar_gc(t.arena);
  tbar_make_old(&t);
  tbar_new(t.ap, &t.refs[OLD], 8, 1);
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    ZoneSet zones = zone_set_of_range(gc->zone_shift, seg->base, seg->limit);
    cr_assert_not_null(seg->gen);
    cr_assert_eq(zones & ~gc_gen_zones(seg->gen), 0, "generation %zu segment outside its zones",
                 (size_t)seg->gen->gen);
    if (seg->gen->gen == 0) {
      ++young;
      first = seg->gen;
    } else
      ++old;
  }
  cr_assert_gt(young, 0);
  cr_assert_gt(old, 0);
  cr_assert_eq(gc_gen_zones(NULL), ZONE_SET_UNIV);
  cr_assert_eq(gc_gen_zones(first) & 1, 0, "zone 0, where null is, is never young");
  cr_assert_eq(gc_gen_zones(first) >> (WORD_WIDTH - 1), 0, "nor the zone of -1");
  tbar_close(&t);
}

/* The fault hook of an arena looks only at addresses in the range it ever
 * protected, without its lock: a store into one arena's protected segment
 * does not wait for another arena whose lock is held (by a collection, say,
 * here by a thread that holds it until the store is done, or 5 s pass). */
static mps_arena_t tbar_other;
static _Atomic int tbar_holding, tbar_stored_flag, tbar_timed_out;

static void *tbar_hold_other(void *arg)
{
  struct timespec ts = {0, 1000000};
  int waited = 0;
  (void)arg;
  arena_enter((Arena)tbar_other);
  atomic_store(&tbar_holding, 1);
  while (!atomic_load(&tbar_stored_flag) && waited < 5000) {
    nanosleep(&ts, NULL);
    ++waited;
  }
  if (!atomic_load(&tbar_stored_flag))
    atomic_store(&tbar_timed_out, 1);
  arena_leave((Arena)tbar_other);
  return NULL;
}

Test(barrier, a_fault_does_not_wait_for_another_arena)
{
  tbar_s t, other;
  pthread_t holder;
  GC gc;
  Count hits;

  /* The other arena first, so that its hook is asked first. */
  tbar_open(&other, mps_class_amc());
  tbar_open(&t, mps_class_amc());
  tbar_other = other.arena;
  gc = tbar_gc(t.arena);
  tbar_make_old(&t);
  cr_assert(tbar_protected(t.arena, t.refs[0]));
  atomic_store(&tbar_holding, 0);
  atomic_store(&tbar_stored_flag, 0);
  atomic_store(&tbar_timed_out, 0);
  cr_assert_eq(pthread_create(&holder, NULL, tbar_hold_other, NULL), 0);
  while (!atomic_load(&tbar_holding))
    sched_yield();
  hits = gc->barrier.hits;
  ((objfmt_obj)t.refs[0])->slot[0] = 0;     /* faults */
  tbar_stored();
  atomic_store(&tbar_stored_flag, 1);
  cr_assert_eq(pthread_join(holder, NULL), 0);
  cr_assert_not(atomic_load(&tbar_timed_out), "the store waited for the other arena's lock");
  cr_assert_eq(gc->barrier.hits, hits + 1);
  tbar_close(&other);
  tbar_close(&t);
}

/* The fault hook's range includes its lower end: a store into the very
 * first word of the lowest segment ever protected is caught like any. */
Test(barrier, a_store_at_the_lowest_protected_address_is_caught)
{
  tbar_s t;
  GC gc;
  Ring node, next;
  Seg low = NULL;
  Count hits;
  mps_word_t volatile *p;

  tbar_open(&t, mps_class_amc());
  gc = tbar_gc(t.arena);
  tbar_make_old(&t);
  tbar_guarded_agrees(t.arena);
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if (addr_word(seg->base) == atomic_load(&gc->barrier.lo))
      low = seg;
  }
  cr_assert_not_null(low, "no segment starts where the range does");
  cr_assert_neq(low->shield.sm & PROT_DENY_WRITE, 0, "the lowest segment is not protected");
  hits = gc->barrier.hits;
  p = (mps_word_t volatile *)low->base;
  *p = *p;                                 /* the first object's header */
  tbar_stored();
  cr_assert_eq(gc->barrier.hits, hits + 1);
  cr_assert_eq(low->shield.sm & PROT_DENY_WRITE, 0);
  tbar_guarded_agrees(t.arena);
  tbar_close(&t);
}

/* After a scan that found young objects, exactly BARRIER_DEFER_DELAY boring
 * scans pass before the barrier goes up again: one fewer leaves it down. */
Test(barrier, the_barrier_returns_after_exactly_the_delay)
{
  tbar_s t;
  tbar_ams_s a;
  size_t kept;

  tbar_open_after_an_interesting_scan(&t, &a);
  tbar_minors(&t, BARRIER_DEFER_DELAY - 1);
  kept = tbar_old_guarded(&t);
  cr_assert_eq(kept, 0, "%zu old objects guarded a scan early", kept);
  tbar_minor(&t);
  kept = tbar_old_guarded(&t);
  cr_assert_eq(kept, OLD);
  tbar_guarded_agrees(t.arena);
  tbar_check_young(&t, 7000);
  tbar_ams_close(&t, &a);
}

/* A store from a thread that does not hold the arena lock waits in the
 * fault hook for whoever holds it: the hook handles the fault under the
 * lock, as the collector may be changing the segment meanwhile.  Here a
 * thread holds it for 100 ms and says when it lets go. */
static mps_arena_t tbar_locked;
static _Atomic int tbar_locked_holding, tbar_locked_leaving;

static void *tbar_hold_locked(void *arg)
{
  struct timespec ts = {0, 100000000};
  (void)arg;
  arena_enter((Arena)tbar_locked);
  atomic_store(&tbar_locked_holding, 1);
  nanosleep(&ts, NULL);
  atomic_store(&tbar_locked_leaving, 1);
  arena_leave((Arena)tbar_locked);
  return NULL;
}

Test(barrier, a_fault_waits_for_the_arena_lock, TEST_NEEDS_THREADS)
{
  tbar_s t;
  pthread_t holder;
  GC gc;
  Count hits;

  tbar_open(&t, mps_class_amc());
  gc = tbar_gc(t.arena);
  tbar_make_old(&t);
  cr_assert(tbar_protected(t.arena, t.refs[0]));
  tbar_locked = t.arena;
  atomic_store(&tbar_locked_holding, 0);
  atomic_store(&tbar_locked_leaving, 0);
  cr_assert_eq(pthread_create(&holder, NULL, tbar_hold_locked, NULL), 0);
  while (!atomic_load(&tbar_locked_holding))
    sched_yield();
  hits = gc->barrier.hits;
  ((objfmt_obj)t.refs[0])->slot[0] = 0;     /* faults, and waits */
  tbar_stored();
  cr_assert(atomic_load(&tbar_locked_leaving), "the hook ran while another thread held the lock");
  cr_assert_eq(pthread_join(holder, NULL), 0);
  cr_assert_eq(gc->barrier.hits, hits + 1);
  tbar_close(&t);
}

/* A walk widens the summaries of the segments it visits (their barrier
 * comes down) without a hit, so their count stays run out: the next
 * scan that finds nothing raises the barrier again at once. */
static void tbar_visit_nothing(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  (void)addr;
  (void)fmt;
  (void)pool;
  (void)p;
  (void)s;
}

Test(barrier, a_walk_lowers_the_barrier_until_the_next_boring_scan)
{
  tbar_s t;
  tbar_ams_s a;
  size_t kept;

  tbar_open(&t, mps_class_amc());
  tbar_ams_open(&t, &a);
  tbar_minors(&t, BARRIER_DEFER_INIT + 1);
  kept = tbar_old_guarded(&t);
  cr_assert_eq(kept, OLD);
  mps_arena_formatted_objects_walk(t.arena, tbar_visit_nothing, NULL, 0);
  kept = tbar_old_guarded(&t);
  cr_assert_eq(kept, 0, "%zu old objects still guarded after the walk", kept);
  tbar_minor(&t);
  kept = tbar_old_guarded(&t);
  cr_assert_eq(kept, OLD, "only %zu old objects guarded again", kept);
  tbar_guarded_agrees(t.arena);
  tbar_ams_close(&t, &a);
}
