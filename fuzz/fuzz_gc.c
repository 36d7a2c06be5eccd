/* fuzz_gc: the collector against a shadow graph, through the public
 * interface only.
 *
 * Four pools share one arena, one format (stress/support/gcobj.c) and a
 * small generation chain: AMC, AMCZ (leaf), AMS and LO (leaf).  The
 * mutator holds objects only in an exact root table of ROOTS slots and in
 * an ambiguous root area of AMBIG words (standing for a stack).  The input
 * is a program: each operation is one byte (its kind) and up to three
 * argument bytes.  Operations allocate into a root slot (slots initialized
 * from consecutive root slots inside the reserve/commit loop), link,
 * unlink, load through a slot, copy and drop root slots, store a base or
 * interior pointer, a wild pointer near an object, or a small integer in
 * the ambiguous area, and drive the arena: collect, start a collection,
 * step, clamp, park, release.  One more has the arena refuse one of its
 * next 128 requests for memory (arena_fail_after): an allocation or a
 * start of a collection may then fail, with a result that says so and
 * only in the operation where the refusal fell; whatever the library does
 * with a refusal inside a collection, the checks below must still hold.
 * A refused call is then made again, with nothing refused, and must
 * succeed.  A failed call leaves the arena's reserved address space
 * (mps_arena_reserved) as it was: a growth it was refused, or that it
 * made before a later request was refused, is given back, unless a
 * collection the call ran grew the arena for its copies; even then, no
 * chunk the call grew is left empty.  A failure
 * for want of address space means the call needed a new chunk, so in an
 * arena that cannot collect meanwhile (clamped or parked), the call made
 * again grows the arena.
 *
 * The first byte may instead choose a growing arena (0xC0 to 0xDF, with
 * which none of the seeds made before it began, so they kept their
 * meaning): one of 64 KiB << (byte & 3) (the arena rounds up to its
 * least size, 64 grains) instead of 4 MiB, which the heap soon outgrows,
 * so that allocations, collections and the refusals that fall in them
 * ask for new chunks.  In such an arena, the argument of the sweep
 * operation (bit 7 clear) also chooses, by bits 6 and 5, to toggle an
 * extra exact root of one slot (01) or an extra pool (10) of any of the
 * four classes, with its own allocation point and one object, kept by
 * the extra root if there is one: creating them, during a collection or
 * not, asks the arena for control memory and grains and may be refused.
 *
 * After a collection of everything that no refusal fell on, no object is
 * left that the roots do not reach (through exact slots, and ambiguous
 * words anywhere inside an object, whatever its pool promises): what a
 * refused collection kept must go by the next whole one.
 *
 * The model (gcobj_model_s) mirrors the graph by object id.  After every
 * operation the heap is checked against it: every object reachable from
 * the roots is there, intact, with each slot referring to the object the
 * model says; each object is at one address; an object kept by an
 * ambiguous pointer has not moved (AMC and AMCZ honour interior pointers;
 * AMS and LO only base pointers).  An object is read whole when it moved
 * or is new, at every FUZZ_GC_DATA_EVERY-th check and at the end, and
 * otherwise only its first and last data words: re-reading large objects
 * that had not moved took most of the time.  While the arena is parked
 * (after collect and park), the whole heap is walked and verified too
 * (gcobj_verify), at the first check and then as often as data is read
 * whole.  Any mismatch prints a message and aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpsclo.h"
#include "../src/arena/arena.h"
#include "../src/arena/chunk.h"
#include "../src/gc/gc.h"
#include "support/model.h"

FUZZ_MODEL_BEGIN
#include "../stress/support/gcobj.c"
#include "support/refusal.h"
FUZZ_MODEL_END

enum { FUZZ_GC_ROOTS = 16, FUZZ_GC_AMBIG = 8, FUZZ_GC_RECORDS = 512, FUZZ_GC_MAX_REFS = 4 };
enum { FUZZ_GC_DATA_EVERY = 8 };   /* see gcobj_model_s.data_every */
enum { FUZZ_GC_AMC, FUZZ_GC_AMCZ, FUZZ_GC_AMS, FUZZ_GC_LO, FUZZ_GC_POOLS };

#define REQUIRE(cond, msg)                                                   \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "fuzz_gc: %s:%d: %s: %s\n", __FILE__, __LINE__, #cond, \
              (msg));                                                        \
      abort();                                                               \
    }                                                                        \
  } while (0)

/* The roots live outside the heap, as a client's globals would. */
static mps_addr_t fuzz_gc_roots[FUZZ_GC_ROOTS];
static mps_word_t fuzz_gc_ambig[FUZZ_GC_AMBIG];
/* The extra root's slot: null while that root does not exist. */
static mps_addr_t fuzz_gc_extra;

typedef struct fuzz_gc_s {
  mps_arena_t arena;
  mps_chain_t chain;
  mps_fmt_t fmt;
  mps_pool_t pool[FUZZ_GC_POOLS];
  mps_ap_t ap[FUZZ_GC_POOLS];
  mps_thr_t thread;
  mps_root_t exact, ambig;
  /* A growing arena's extra root and pool, or null; the extra pool is
   * verify_pools[FUZZ_GC_POOLS] while it exists.  extra_id: the id of
   * the object in fuzz_gc_extra. */
  mps_root_t extra_root;
  mps_pool_t extra_pool;
  mps_ap_t extra_ap;
  mps_word_t extra_id;
  gcobj_pool_s verify_pools[FUZZ_GC_POOLS + 1];
  gcobj_model_s model;
  uint32_t kind[FUZZ_GC_RECORDS];   /* pool kind of each model record */
  mps_word_t next_id;
  int parked;                       /* the arena is in the parked state:
                                       1 until the next check walks it, then 2 */
  Count countdown;                  /* arena_fail_after's count before this op */
  bool grows;                       /* the first byte chose a growing arena */
  bool all_collected;               /* this op collected everything, nothing refused */
  /* The collector's state when fuzz_gc_reserved last noted the reserved
   * size: collections finished, and whether a trace was busy. */
  Count collections;
  bool busy;
  Count grown;                      /* arena->grown then */
  const uint8_t *data;
  size_t size, at;
} fuzz_gc_s;

static uint8_t fuzz_gc_byte(fuzz_gc_s *f)
{
  return f->at < f->size ? f->data[f->at++] : 0;
}

static mps_pool_class_t (*const fuzz_gc_classes[FUZZ_GC_POOLS])(void) = {
  mps_class_amc, mps_class_amcz, mps_class_ams, mps_class_lo};

static void fuzz_gc_setup(fuzz_gc_s *f)
{
  static const size_t kb[2] = {64, 256};
  mps_gen_param_s gens[2];
  size_t i, arena_size = (size_t)4 << 20;

  if (f->size > 0 && (f->data[0] & 0xE0) == 0xC0) {
    f->grows = true;
    arena_size = (size_t)64 << 10 << (f->data[0] & 3);
    f->at = 1;
  }
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, arena_size);
    REQUIRE(mps_arena_create_k(&f->arena, mps_arena_class_vm(), args) == MPS_RES_OK, "arena");
  } MPS_ARGS_END(args);
  for (i = 0; i < 2; ++i) {
    gens[i].mps_capacity = kb[i];
    gens[i].mps_mortality = 0.5;
  }
  REQUIRE(mps_chain_create(&f->chain, f->arena, 2, gens) == MPS_RES_OK, "chain");
  REQUIRE(gcobj_fmt_create(&f->fmt, f->arena) == MPS_RES_OK, "format");
  for (i = 0; i < FUZZ_GC_POOLS; ++i) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, f->fmt);
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, f->chain);
      REQUIRE(mps_pool_create_k(&f->pool[i], f->arena, fuzz_gc_classes[i](), args)
              == MPS_RES_OK, "pool");
    } MPS_ARGS_END(args);
    REQUIRE(mps_ap_create_k(&f->ap[i], f->pool[i], mps_args_none) == MPS_RES_OK, "ap");
    f->verify_pools[i].pool = f->pool[i];
    f->verify_pools[i].leaf = i == FUZZ_GC_AMCZ || i == FUZZ_GC_LO;
  }
  REQUIRE(mps_thread_reg(&f->thread, f->arena) == MPS_RES_OK, "thread");
  memset(fuzz_gc_roots, 0, sizeof fuzz_gc_roots);
  memset(fuzz_gc_ambig, 0, sizeof fuzz_gc_ambig);
  fuzz_gc_extra = NULL;
  REQUIRE(mps_root_create_table(&f->exact, f->arena, mps_rank_exact(), 0, fuzz_gc_roots,
                                FUZZ_GC_ROOTS) == MPS_RES_OK, "exact root");
  REQUIRE(mps_root_create_area(&f->ambig, f->arena, mps_rank_ambig(), 0, fuzz_gc_ambig,
                               fuzz_gc_ambig + FUZZ_GC_AMBIG, mps_scan_area, NULL)
          == MPS_RES_OK, "ambiguous root");
  REQUIRE(gcobj_model_init(&f->model, FUZZ_GC_RECORDS, FUZZ_GC_MAX_REFS, FUZZ_GC_ROOTS,
                           FUZZ_GC_AMBIG), "model");
  f->model.data_every = FUZZ_GC_DATA_EVERY;
  f->next_id = 1;
  f->parked = 0;
}

static void fuzz_gc_teardown(fuzz_gc_s *f)
{
  size_t i;
  mps_arena_park(f->arena);
  if (f->extra_root != NULL)
    mps_root_destroy(f->extra_root);
  if (f->extra_pool != NULL) {
    mps_ap_destroy(f->extra_ap);
    mps_pool_destroy(f->extra_pool);
  }
  mps_root_destroy(f->ambig);
  mps_root_destroy(f->exact);
  mps_thread_dereg(f->thread);
  for (i = 0; i < FUZZ_GC_POOLS; ++i) {
    mps_ap_destroy(f->ap[i]);
    mps_pool_destroy(f->pool[i]);
  }
  mps_fmt_destroy(f->fmt);
  mps_chain_destroy(f->chain);
  mps_arena_destroy(f->arena);
  gcobj_model_finish(&f->model);
}

/* The index of the block starting at addr in the census, or
 * census->count. */
static size_t fuzz_gc_census_at(const gcobj_census_s *census, mps_addr_t addr)
{
  const gcobj_census_entry_s *e = gcobj_census_find(census, addr);
  return e != NULL ? (size_t)(e - census->entries) : census->count;
}

/* The index of the object (not pad) in the census that addr falls
 * inside, or census->count. */
static size_t fuzz_gc_census_cover(const gcobj_census_s *census, mps_word_t addr)
{
  size_t lo = 0, hi = census->count;
  while (lo < hi) {   /* the first entry starting above addr */
    size_t mid = lo + (hi - lo) / 2;
    if ((mps_word_t)census->entries[mid].addr <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo > 0 && census->entries[lo - 1].id != 0
      && addr < (mps_word_t)census->entries[lo - 1].limit)
    return lo - 1;
  return census->count;
}

/* Right after a collection of everything that nothing refused: every
 * object walked is reached from the roots.  Ambiguous words keep any
 * object they point inside, in every pool (a pool may honour more than
 * it promises), so this holds whatever the pools do with them. */
FUZZ_MODEL static void fuzz_gc_check_reclaimed(const gcobj_census_s *census)
{
  size_t n = census->count, top = 0, i, j;
  bool *kept = calloc(n + 1, sizeof *kept);
  size_t *stack = malloc((n + 1) * sizeof *stack);
  REQUIRE(kept != NULL && stack != NULL, "out of memory");
  for (i = 0; i < FUZZ_GC_ROOTS + FUZZ_GC_AMBIG + 1; ++i) {
    size_t e = n;
    if (i < FUZZ_GC_ROOTS && fuzz_gc_roots[i] != NULL)
      e = fuzz_gc_census_at(census, fuzz_gc_roots[i]);
    else if (i >= FUZZ_GC_ROOTS && i < FUZZ_GC_ROOTS + FUZZ_GC_AMBIG)
      e = fuzz_gc_census_cover(census, fuzz_gc_ambig[i - FUZZ_GC_ROOTS]);
    else if (i == FUZZ_GC_ROOTS + FUZZ_GC_AMBIG && fuzz_gc_extra != NULL)
      e = fuzz_gc_census_at(census, fuzz_gc_extra);
    if (e < n && !kept[e]) {
      kept[e] = true;
      stack[top++] = e;
    }
  }
  while (top > 0) {   /* the walk checked that every slot is an object's base */
    const gcobj_census_entry_s *e = &census->entries[stack[--top]];
    for (j = 0; j < e->nrefs; ++j) {
      mps_addr_t ref = census->refs[e->first_ref + j];
      size_t t;
      if (ref == NULL)
        continue;
      t = fuzz_gc_census_at(census, ref);
      if (t < n && !kept[t]) {
        kept[t] = true;
        stack[top++] = t;
      }
    }
  }
  for (i = 0; i < n; ++i)
    if (census->entries[i].id != 0 && !kept[i]) {
      fprintf(stderr, "fuzz_gc: object %lu at %p unreachable\n",
              (unsigned long)census->entries[i].id, census->entries[i].addr);
      REQUIRE(kept[i], "a collection of everything that nothing refused kept garbage");
    }
  free(stack);
  free(kept);
}

FUZZ_MODEL static void fuzz_gc_check(fuzz_gc_s *f)
{
  REQUIRE(gcobj_model_check(&f->model, fuzz_gc_roots), f->model.message);
  if (fuzz_gc_extra != NULL) {
    mps_pool_t pool;
    REQUIRE(gcobj_id(fuzz_gc_extra) == f->extra_id && gcobj_intact(fuzz_gc_extra),
            "the extra root's object is damaged");
    REQUIRE(mps_addr_pool(&pool, f->arena, fuzz_gc_extra) && pool == f->extra_pool,
            "the extra root's object is not in the extra pool");
  }
  /* The walk reads every object too: right after the arena is parked,
   * then as often as the model reads data whole. */
  if (f->parked == 1 || f->all_collected
      || (f->parked && f->model.checks % f->model.data_every == 0)) {
    gcobj_census_s census;
    f->parked = 2;
    bool ok = gcobj_verify(f->arena, f->verify_pools,
                           FUZZ_GC_POOLS + (f->extra_pool != NULL), &census);
    REQUIRE(ok, census.message);
    if (f->all_collected)
      fuzz_gc_check_reclaimed(&census);
    /* Every object the check just reached was walked, where it was found. */
    for (size_t r = 0; r < f->model.capacity; ++r) {
      const gcobj_mobj_s *o = &f->model.objs[r];
      const gcobj_census_entry_s *e;
      if (o->id == 0 || o->epoch != f->model.epoch)
        continue;
      e = gcobj_census_find(&census, o->last);
      REQUIRE(e != NULL && e->id == o->id, "reachable object missing from the walk");
    }
    gcobj_census_finish(&census);
  }
}

/* A call failed during this operation: it must be the one
 * arena_fail_after was asked to refuse, its result must say so, and it
 * must have left the reserved address space at `reserved`, what it was
 * before the call (fuzz_gc_reserved).  (AMS and LO segments ask for
 * their tables after their grains: when the tables are refused, a chunk
 * grown for the grains goes back with them when the call leaves the
 * arena, arena_release_grown.)  Only collection work the call did may
 * have grown the arena for good, for the copies it made (an allocation's
 * poll that runs a collection, whose to-space needed a chunk, and then a
 * refused segment for the allocation itself). */
static void fuzz_gc_refused(fuzz_gc_s *f, mps_res_t res, size_t reserved, const char *what)
{
  Arena arena = (Arena)f->arena;
  bool collected = f->busy || arena->collections != f->collections
                   || (arena->gc != NULL && arena->gc->busy_traces != TRACE_SET_EMPTY);
  REQUIRE(refusal_fell(f->arena, f->countdown), what);
  REQUIRE(refusal_result(res), what);
  if (collected) {
    /* What the call grew and kept must hold something: a chunk it left
     * empty goes back (arena_release_grown). */
    Ring node, next;
    REQUIRE(mps_arena_reserved(f->arena) >= reserved, what);
    RING_FOR(node, &arena->chunk_ring, next) {
      Chunk chunk = PARENT(chunk_s, arena_ring, node);
      if (chunk->grown > f->grown)
        REQUIRE(!bt_is_res_range(chunk->alloc_table, chunk->alloc_base, chunk->pages), what);
    }
  } else {
    REQUIRE(mps_arena_reserved(f->arena) == reserved, what);
  }
}

/* The reserved size before a call that may fail, noting the collector's
 * state for fuzz_gc_refused. */
static size_t fuzz_gc_reserved(fuzz_gc_s *f)
{
  Arena arena = (Arena)f->arena;
  f->collections = arena->collections;
  f->busy = arena->gc != NULL && arena->gc->busy_traces != TRACE_SET_EMPTY;
  f->grown = arena->grown;
  return mps_arena_reserved(f->arena);
}

/* The same call made again, with nothing refused, gave `res`: it must
 * succeed, and if the refused call wanted address space (`refused`), it
 * must have grown the arena, unless a collection may have made room
 * meanwhile. */
static void fuzz_gc_retried(fuzz_gc_s *f, mps_res_t refused, mps_res_t res, size_t reserved,
                            const char *what)
{
  REQUIRE(res == MPS_RES_OK, what);
  if (refused == MPS_RES_RESOURCE && ((Arena)f->arena)->state != ARENA_UNCLAMPED)
    REQUIRE(mps_arena_reserved(f->arena) > reserved, what);
}

/* The record of the object at root slot i (which is not null). */
static uint32_t fuzz_gc_rec(fuzz_gc_s *f, size_t i)
{
  uint32_t rec = f->model.roots[i];
  REQUIRE(rec != GCOBJ_NONE && f->model.objs[rec].id == gcobj_id(fuzz_gc_roots[i]),
          "root slot and model disagree");
  return rec;
}

static void fuzz_gc_alloc(fuzz_gc_s *f)
{
  uint8_t a = fuzz_gc_byte(f), b = fuzz_gc_byte(f), c = fuzz_gc_byte(f);
  unsigned kind = a & 3;
  size_t slot = (size_t)(a >> 2) % FUZZ_GC_ROOTS;
  bool leaf = kind == FUZZ_GC_AMCZ || kind == FUZZ_GC_LO;
  size_t nrefs = leaf ? 0 : (size_t)(b & 7) % (FUZZ_GC_MAX_REFS + 1);
  size_t from = (size_t)(b >> 4) % (FUZZ_GC_ROOTS - FUZZ_GC_MAX_REFS + 1);
  size_t ndata = (c & 0x80) ? (size_t)(c & 0x7F) * 97 : (size_t)(c & 15);
  bool init = (b & 8) != 0;
  mps_word_t id = f->next_id++;
  uint32_t rec, i;
  mps_addr_t p;
  mps_res_t res;
  size_t reserved;

  rec = gcobj_model_new(&f->model, id, nrefs, ndata, kind <= FUZZ_GC_AMCZ);
  if (rec == GCOBJ_NONE) {
    gcobj_model_sweep(&f->model);
    rec = gcobj_model_new(&f->model, id, nrefs, ndata, kind <= FUZZ_GC_AMCZ);
    if (rec == GCOBJ_NONE)
      return;
  }
  f->kind[rec] = kind;
  reserved = fuzz_gc_reserved(f);
  res = gcobj_alloc(&p, f->ap[kind], id, nrefs, ndata, init ? &fuzz_gc_roots[from] : NULL);
  if (res != MPS_RES_OK) {
    fuzz_gc_refused(f, res, reserved, "allocation failed");
    fuzz_gc_retried(f, res,
                    gcobj_alloc(&p, f->ap[kind], id, nrefs, ndata,
                                init ? &fuzz_gc_roots[from] : NULL),
                    reserved, "allocation failed again");
  }
  if (init)
    for (i = 0; i < nrefs; ++i)
      f->model.objs[rec].edges[i] = f->model.roots[from + i];
  fuzz_gc_roots[slot] = p;
  f->model.roots[slot] = rec;
}

/* Create the extra root, or destroy it, dropping what it kept. */
static void fuzz_gc_toggle_root(fuzz_gc_s *f)
{
  size_t reserved = fuzz_gc_reserved(f);
  mps_root_t root;
  mps_res_t res;
  if (f->extra_root != NULL) {
    mps_root_destroy(f->extra_root);
    f->extra_root = NULL;
    fuzz_gc_extra = NULL;
    return;
  }
  res = mps_root_create_table(&root, f->arena, mps_rank_exact(), 0, &fuzz_gc_extra, 1);
  if (res != MPS_RES_OK) {
    fuzz_gc_refused(f, res, reserved, "extra root");
    fuzz_gc_retried(f, res,
                    mps_root_create_table(&root, f->arena, mps_rank_exact(), 0, &fuzz_gc_extra,
                                          1),
                    reserved, "extra root failed again");
  }
  f->extra_root = root;
}

/* Create the extra pool of class a & 3, its allocation point and an
 * object of (a >> 2 & 7) * 8192 data words (up to 448 KiB: more than a
 * small arena's chunk, so that it often needs a new one), kept by the
 * extra root if there is one; or destroy the pool.
 * Each call may be refused, and must then succeed when made again. */
static void fuzz_gc_toggle_pool(fuzz_gc_s *f, uint8_t a)
{
  unsigned kind = a & 3;
  size_t ndata = (size_t)(a >> 2 & 7) * 8192, reserved;
  mps_word_t id;
  mps_addr_t p;
  mps_res_t res;
  if (f->extra_pool != NULL) {
    fuzz_gc_extra = NULL;
    mps_ap_destroy(f->extra_ap);
    mps_pool_destroy(f->extra_pool);
    f->extra_pool = NULL;
    return;
  }
  reserved = fuzz_gc_reserved(f);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, f->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, f->chain);
    res = mps_pool_create_k(&f->extra_pool, f->arena, fuzz_gc_classes[kind](), args);
    if (res != MPS_RES_OK) {
      fuzz_gc_refused(f, res, reserved, "extra pool");
      fuzz_gc_retried(f, res,
                      mps_pool_create_k(&f->extra_pool, f->arena, fuzz_gc_classes[kind](),
                                        args),
                      reserved, "extra pool failed again");
    }
  } MPS_ARGS_END(args);
  f->verify_pools[FUZZ_GC_POOLS].pool = f->extra_pool;
  f->verify_pools[FUZZ_GC_POOLS].leaf = kind == FUZZ_GC_AMCZ || kind == FUZZ_GC_LO;
  reserved = fuzz_gc_reserved(f);
  res = mps_ap_create_k(&f->extra_ap, f->extra_pool, mps_args_none);
  if (res != MPS_RES_OK) {
    fuzz_gc_refused(f, res, reserved, "extra allocation point");
    fuzz_gc_retried(f, res, mps_ap_create_k(&f->extra_ap, f->extra_pool, mps_args_none),
                    reserved, "extra allocation point failed again");
  }
  id = f->next_id++;
  reserved = fuzz_gc_reserved(f);
  res = gcobj_alloc(&p, f->extra_ap, id, 0, ndata, NULL);
  if (res != MPS_RES_OK) {
    fuzz_gc_refused(f, res, reserved, "extra object");
    fuzz_gc_retried(f, res, gcobj_alloc(&p, f->extra_ap, id, 0, ndata, NULL), reserved,
                    "extra object failed again");
  }
  if (f->extra_root != NULL) {
    fuzz_gc_extra = p;
    f->extra_id = id;
  }
}

/* The root slot of argument byte x, and whether it holds an object. */
#define FUZZ_GC_SLOT(x) ((size_t)(x) % FUZZ_GC_ROOTS)

static void fuzz_gc_step(fuzz_gc_s *f, uint8_t op)
{
  gcobj_model_s *m = &f->model;
  switch (op % 16) {
  case 0:
  case 1:
  case 2:
    fuzz_gc_alloc(f);
    break;
  case 3: {   /* link: root i's slot s := root j */
    uint8_t a = fuzz_gc_byte(f), s = fuzz_gc_byte(f);
    size_t i = FUZZ_GC_SLOT(a), j = FUZZ_GC_SLOT(a >> 4);
    mps_addr_t obj = fuzz_gc_roots[i];
    if (obj != NULL && gcobj_nrefs(obj) > 0) {
      uint32_t rec = fuzz_gc_rec(f, i);
      s = (uint8_t)(s % gcobj_nrefs(obj));
      gcobj_set_ref(obj, s, fuzz_gc_roots[j]);
      m->objs[rec].edges[s] = m->roots[j];
    }
    break;
  }
  case 4: {   /* unlink: root i's slot s := null */
    uint8_t a = fuzz_gc_byte(f), s = fuzz_gc_byte(f);
    size_t i = FUZZ_GC_SLOT(a);
    mps_addr_t obj = fuzz_gc_roots[i];
    if (obj != NULL && gcobj_nrefs(obj) > 0) {
      uint32_t rec = fuzz_gc_rec(f, i);
      s = (uint8_t)(s % gcobj_nrefs(obj));
      gcobj_set_ref(obj, s, NULL);
      m->objs[rec].edges[s] = GCOBJ_NONE;
    }
    break;
  }
  case 5: {   /* load: root i := root j's slot s */
    uint8_t a = fuzz_gc_byte(f), s = fuzz_gc_byte(f);
    size_t i = FUZZ_GC_SLOT(a), j = FUZZ_GC_SLOT(a >> 4);
    mps_addr_t obj = fuzz_gc_roots[j];
    if (obj != NULL && gcobj_nrefs(obj) > 0) {
      uint32_t rec = fuzz_gc_rec(f, j);
      s = (uint8_t)(s % gcobj_nrefs(obj));
      fuzz_gc_roots[i] = gcobj_ref(obj, s);
      m->roots[i] = m->objs[rec].edges[s];
    }
    break;
  }
  case 6: {   /* copy: root i := root j */
    uint8_t a = fuzz_gc_byte(f);
    size_t i = FUZZ_GC_SLOT(a), j = FUZZ_GC_SLOT(a >> 4);
    fuzz_gc_roots[i] = fuzz_gc_roots[j];
    m->roots[i] = m->roots[j];
    break;
  }
  case 7: {   /* drop: root i := null */
    size_t i = FUZZ_GC_SLOT(fuzz_gc_byte(f));
    fuzz_gc_roots[i] = NULL;
    m->roots[i] = GCOBJ_NONE;
    break;
  }
  case 8: {   /* keep root i ambiguously in word k, at a byte offset */
    uint8_t a = fuzz_gc_byte(f), b = fuzz_gc_byte(f);
    size_t k = (size_t)a % FUZZ_GC_AMBIG, i = FUZZ_GC_SLOT(a >> 3);
    mps_addr_t obj = fuzz_gc_roots[i];
    gcobj_mambig_s *amb = &m->ambig[k];
    if (obj != NULL) {
      uint32_t rec = fuzz_gc_rec(f, i);
      size_t size = gcobj_size(gcobj_nrefs(obj), gcobj_ndata(obj));
      size_t offset = (b & 1) ? 0 : ((size_t)b * 37) % size;
      fuzz_gc_ambig[k] = (mps_word_t)obj + offset;
      amb->rec = rec;
      amb->base = obj;
      amb->offset = offset;
      /* AMC and AMCZ take interior pointers by default; AMS and LO
       * promise only base pointers. */
      amb->keeps_alive = offset == 0 || f->kind[rec] <= FUZZ_GC_AMCZ;
    }
    break;
  }
  case 9: {   /* ambiguous word k := a small integer */
    uint8_t a = fuzz_gc_byte(f);
    size_t k = (size_t)a % FUZZ_GC_AMBIG;
    fuzz_gc_ambig[k] = (mps_word_t)(a >> 3);
    m->ambig[k].rec = GCOBJ_NONE;
    break;
  }
  case 10: {  /* ambiguous word k := a wild address near root i's object */
    uint8_t a = fuzz_gc_byte(f), b = fuzz_gc_byte(f), c = fuzz_gc_byte(f);
    size_t k = (size_t)a % FUZZ_GC_AMBIG, i = FUZZ_GC_SLOT(a >> 3);
    if (fuzz_gc_roots[i] != NULL) {
      mps_word_t delta = (mps_word_t)b << 8 | c;
      fuzz_gc_ambig[k] = (a & 0x80) ? (mps_word_t)fuzz_gc_roots[i] + delta
                                    : (mps_word_t)fuzz_gc_roots[i] - delta;
      m->ambig[k].rec = GCOBJ_NONE;
    }
    break;
  }
  case 11:
    mps_arena_collect(f->arena);
    f->parked = 1;
    f->all_collected = true;   /* unless a refusal fell in it: see the caller */
    break;
  case 12:
    mps_arena_park(f->arena);
    f->parked = 1;
    break;
  case 13:
    mps_arena_release(f->arena);
    f->parked = 0;
    break;
  case 14: {  /* step, clamp or start a collection */
    uint8_t a = fuzz_gc_byte(f);
    if (a < 200)
      (void)mps_arena_step(f->arena, (double)(a % 10) * 0.0001, (double)(a / 10 % 4));
    else if (a < 230)
      mps_arena_clamp(f->arena);
    else {
      size_t reserved = fuzz_gc_reserved(f);
      mps_res_t res = mps_arena_start_collect(f->arena);
      if (res != MPS_RES_OK) {
        fuzz_gc_refused(f, res, reserved, "start collect");
        fuzz_gc_retried(f, res, mps_arena_start_collect(f->arena), reserved,
                        "start collect failed again");
      }
    }
    f->parked = 0;
    break;
  }
  default: {
    uint8_t a = fuzz_gc_byte(f);
    if (a & 0x80)     /* refuse one of the next requests for memory */
      arena_fail_after((Arena)f->arena, (Count)(a & 0x7F) + 1);
    else if (f->grows && (a & 0x60) == 0x20)
      fuzz_gc_toggle_root(f);
    else if (f->grows && (a & 0x60) == 0x40)
      fuzz_gc_toggle_pool(f, a);
    else              /* forget unreachable records; the heap is untouched */
      gcobj_model_sweep(m);
    break;
  }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static fuzz_gc_s f;
  memset(&f, 0, sizeof f);
  f.data = data;
  f.size = size;
  fuzz_gc_setup(&f);
  while (f.at < f.size) {
    f.countdown = refusal_countdown(f.arena);
    f.all_collected = false;
    fuzz_gc_step(&f, fuzz_gc_byte(&f));
    if (refusal_fell(f.arena, f.countdown))
      f.all_collected = false;
    fuzz_gc_check(&f);
  }
  arena_fail_after((Arena)f.arena, 0);
  mps_arena_collect(f.arena);
  f.parked = 1;
  f.all_collected = true;
  f.model.data_every = 1;
  fuzz_gc_check(&f);
  fuzz_gc_teardown(&f);
  return 0;
}
