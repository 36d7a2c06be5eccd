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

typedef struct fuzz_gc_s {
  mps_arena_t arena;
  mps_chain_t chain;
  mps_fmt_t fmt;
  mps_pool_t pool[FUZZ_GC_POOLS];
  mps_ap_t ap[FUZZ_GC_POOLS];
  mps_thr_t thread;
  mps_root_t exact, ambig;
  gcobj_pool_s verify_pools[FUZZ_GC_POOLS];
  gcobj_model_s model;
  uint32_t kind[FUZZ_GC_RECORDS];   /* pool kind of each model record */
  mps_word_t next_id;
  int parked;                       /* the arena is in the parked state:
                                       1 until the next check walks it, then 2 */
  Count countdown;                  /* arena_fail_after's count before this op */
  const uint8_t *data;
  size_t size, at;
} fuzz_gc_s;

static uint8_t fuzz_gc_byte(fuzz_gc_s *f)
{
  return f->at < f->size ? f->data[f->at++] : 0;
}

static void fuzz_gc_setup(fuzz_gc_s *f)
{
  static const size_t kb[2] = {64, 256};
  mps_gen_param_s gens[2];
  size_t i;
  mps_pool_class_t (*const classes[FUZZ_GC_POOLS])(void) = {
    mps_class_amc, mps_class_amcz, mps_class_ams, mps_class_lo};

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)4 << 20);
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
      REQUIRE(mps_pool_create_k(&f->pool[i], f->arena, classes[i](), args) == MPS_RES_OK,
              "pool");
    } MPS_ARGS_END(args);
    REQUIRE(mps_ap_create_k(&f->ap[i], f->pool[i], mps_args_none) == MPS_RES_OK, "ap");
    f->verify_pools[i].pool = f->pool[i];
    f->verify_pools[i].leaf = i == FUZZ_GC_AMCZ || i == FUZZ_GC_LO;
  }
  REQUIRE(mps_thread_reg(&f->thread, f->arena) == MPS_RES_OK, "thread");
  memset(fuzz_gc_roots, 0, sizeof fuzz_gc_roots);
  memset(fuzz_gc_ambig, 0, sizeof fuzz_gc_ambig);
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

FUZZ_MODEL static void fuzz_gc_check(fuzz_gc_s *f)
{
  REQUIRE(gcobj_model_check(&f->model, fuzz_gc_roots), f->model.message);
  /* The walk reads every object too: right after the arena is parked,
   * then as often as the model reads data whole. */
  if (f->parked == 1
      || (f->parked && f->model.checks % f->model.data_every == 0)) {
    gcobj_census_s census;
    f->parked = 2;
    bool ok = gcobj_verify(f->arena, f->verify_pools, FUZZ_GC_POOLS, &census);
    REQUIRE(ok, census.message);
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

/* A request refused during this operation: it must be the one
 * arena_fail_after was asked to refuse, and its result must say so. */
static void fuzz_gc_refused(fuzz_gc_s *f, mps_res_t res, const char *what)
{
  REQUIRE(refusal_fell(f->arena, f->countdown), what);
  REQUIRE(refusal_result(res), what);
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

  rec = gcobj_model_new(&f->model, id, nrefs, ndata, kind <= FUZZ_GC_AMCZ);
  if (rec == GCOBJ_NONE) {
    gcobj_model_sweep(&f->model);
    rec = gcobj_model_new(&f->model, id, nrefs, ndata, kind <= FUZZ_GC_AMCZ);
    if (rec == GCOBJ_NONE)
      return;
  }
  f->kind[rec] = kind;
  res = gcobj_alloc(&p, f->ap[kind], id, nrefs, ndata, init ? &fuzz_gc_roots[from] : NULL);
  if (res != MPS_RES_OK) {
    /* The record is left unreachable: the model's next sweep drops it. */
    fuzz_gc_refused(f, res, "allocation failed");
    return;
  }
  if (init)
    for (i = 0; i < nrefs; ++i)
      f->model.objs[rec].edges[i] = f->model.roots[from + i];
  fuzz_gc_roots[slot] = p;
  f->model.roots[slot] = rec;
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
      mps_res_t res = mps_arena_start_collect(f->arena);
      if (res != MPS_RES_OK)
        fuzz_gc_refused(f, res, "start collect");
    }
    f->parked = 0;
    break;
  }
  default: {
    uint8_t a = fuzz_gc_byte(f);
    if (a & 0x80)     /* refuse one of the next requests for memory */
      arena_fail_after((Arena)f->arena, (Count)(a & 0x7F) + 1);
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
    f.countdown = ((Arena)f.arena)->fail_countdown;
    fuzz_gc_step(&f, fuzz_gc_byte(&f));
    fuzz_gc_check(&f);
  }
  arena_fail_after((Arena)f.arena, 0);
  mps_arena_collect(f.arena);
  f.parked = 1;
  f.model.data_every = 1;
  fuzz_gc_check(&f);
  fuzz_gc_teardown(&f);
  return 0;
}
