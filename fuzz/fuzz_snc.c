/* fuzz_snc: allocation frames on SNC against a model of frame stacks,
 * with references into AMC that collections move.
 *
 * One arena holds an SNC pool with two allocation points and an AMC pool
 * (a small chain, so collections also start by themselves).  AMC objects
 * are held in an exact root table; SNC objects refer to them.  The input
 * is a program, one byte per operation kind and argument bytes after it:
 *   push      push a frame on allocation point a;
 *   alloc     allocate on a an SNC object of n data words with up to three
 *             references, each taken from an AMC root slot (or null);
 *   big       allocate on a an object larger than an ordinary segment;
 *   pop       pop frame k of a (frames above it go too);
 *   badpop    pop a frame of a that is no longer on its stack: refused,
 *             reported through the assertion handler, nothing changes;
 *   amc       allocate an AMC object into root slot s;
 *   drop      clear root slot s (its object may live on through SNC);
 *   collect   a full collection; or (a bit of the operation byte) one
 *             started with mps_arena_start_collect, which goes on
 *             incrementally in later allocations and read barrier faults
 *             (the checks after each operation read the heap), so pushes,
 *             pops and fills meet grey, read-protected SNC segments.
 * The model keeps, per allocation point, the stack of its live objects
 * (id, size, the ids of the AMC objects they refer to) and its frames (the
 * number of objects below each).  After every operation every live SNC
 * object must be intact and refer to the right AMC objects (wherever AMC
 * moved them), every AMC object in a root slot intact, no two of these
 * objects overlapping, and the pool no larger than its peak of live
 * objects allows (popped memory is reused).  A big object's data is read
 * in samples between periodic whole reads (see fsnc_check_obj).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscsnc.h"
#include "../include/mpslib.h"
#include "../test/support/objfmt.h"
#include "support/model.h"

enum { SLOTS = 16, APS = 2, MAX_OBJS = 2048, MAX_FRAMES = 64, MAX_REFS = 3 };
#define W sizeof(mps_word_t)
#define BIG_WORDS ((size_t)(80 * 1024) / W)

#define REQUIRE(cond, msg)                                                     \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_snc: %s:%d: %s: %s\n", __FILE__, __LINE__, #cond,  \
              (msg));                                                          \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* Objects are in test/support/objfmt.h's format; the first data word is
 * the object's id, the others derive from it. */
static mps_word_t fsnc_datum(mps_word_t id, size_t i)
{
  return i == 0 ? id : id * 40503u + i;
}

/* The roots live outside the heap, as a client's globals would. */
static mps_addr_t fsnc_roots[SLOTS];
static mps_word_t fsnc_slot_id[SLOTS];       /* model: id of the slot's object */
static size_t fsnc_slot_ndata[SLOTS];

typedef struct model_obj_s {
  objfmt_obj addr;                                  /* SNC objects do not move */
  mps_word_t id;
  size_t nrefs, ndata;
  mps_word_t ref_id[MAX_REFS];               /* 0: null */
  size_t ref_ndata[MAX_REFS];
} model_obj_s;

typedef struct model_ap_s {
  mps_ap_t ap;
  model_obj_s objs[MAX_OBJS];
  size_t nobjs;
  mps_frame_t frames[MAX_FRAMES];
  size_t below[MAX_FRAMES];                  /* objects below each frame */
  size_t nframes;
  mps_frame_t popped;                        /* a frame no longer on it */
  int has_popped;
} model_ap_s;

static model_ap_s fsnc_model[APS];
static unsigned fsnc_failures;

static void fsnc_record_assert(const char *file, unsigned line, const char *cond)
{
  (void)file; (void)line; (void)cond;
  ++fsnc_failures;
}

static objfmt_obj fsnc_new(mps_ap_t ap, const mps_word_t *ref_slots, size_t nrefs, size_t ndata,
                    mps_word_t id)
{
  size_t words = 2 + nrefs + ndata, i;
  mps_addr_t p;
  objfmt_obj obj;
  do {
    REQUIRE(mps_reserve(&p, ap, words * W) == MPS_RES_OK, "reserve failed");
    obj = p;
    obj->header = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    obj->nrefs = nrefs;
    /* Read from the root slots after the reserve, which may collect. */
    for (i = 0; i < nrefs; ++i)
      obj->slot[i] = ref_slots[i] < SLOTS ? (mps_word_t)fsnc_roots[ref_slots[i]] : 0;
    for (i = 0; i < ndata; ++i)
      obj->slot[nrefs + i] = fsnc_datum(id, i);
  } while (!mps_commit(ap, p, words * W));
  return obj;
}

/* Reading every word of every big object after every operation cost most
 * of a run, so a big object's data is read whole only on every
 * FSNC_FULL_EVERY-th check and at the end; in between, one word in
 * FSNC_STRIDE, starting at a phase that moves on each check, so that
 * consecutive checks read different words.  A block handed out over a live
 * object is still caught at once, by fsnc_check_disjoint. */
enum { FSNC_FULL_EVERY = 16, FSNC_STRIDE = 61 };
static size_t fsnc_checks;

FUZZ_MODEL static void fsnc_check_obj(objfmt_obj obj, mps_word_t id, size_t nrefs, size_t ndata)
{
  size_t i, step = 1, phase = 0;
  REQUIRE(obj != NULL, "missing object");
  REQUIRE(OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ, "not an object (popped or overwritten?)");
  REQUIRE(OBJFMT_WORDS(obj->header) == 2 + nrefs + ndata, "size changed");
  REQUIRE(obj->nrefs == nrefs, "reference count changed");
  if (ndata > 8 * FSNC_STRIDE && fsnc_checks % FSNC_FULL_EVERY != 0) {
    step = FSNC_STRIDE;
    phase = fsnc_checks % FSNC_STRIDE;
    REQUIRE(obj->slot[nrefs] == fsnc_datum(id, 0), "data damaged");
    REQUIRE(obj->slot[nrefs + ndata - 1] == fsnc_datum(id, ndata - 1), "data damaged");
  }
  for (i = phase; i < ndata; i += step)
    REQUIRE(obj->slot[nrefs + i] == fsnc_datum(id, i), "data damaged");
}

/* Every object the checks can reach: live SNC objects, root objects, and
 * the AMC objects SNC objects refer to (one object may appear many times). */
typedef struct fsnc_extent_s {
  uintptr_t base, limit;
  mps_word_t id;
} fsnc_extent_s;
static fsnc_extent_s fsnc_extents[APS * MAX_OBJS * (1 + MAX_REFS) + SLOTS];
static size_t fsnc_nextents;

FUZZ_MODEL static void fsnc_add_extent(objfmt_obj obj, mps_word_t id, size_t nrefs, size_t ndata)
{
  fsnc_extent_s *e = &fsnc_extents[fsnc_nextents++];
  e->base = (uintptr_t)obj;
  e->limit = e->base + (2 + nrefs + ndata) * W;
  e->id = id;
}

FUZZ_MODEL static int fsnc_extent_cmp(const void *x, const void *y)
{
  const fsnc_extent_s *a = x, *b = y;
  return a->base < b->base ? -1 : a->base > b->base;
}

FUZZ_MODEL static void fsnc_check_disjoint(void)
{
  size_t i;
  uintptr_t limit = 0;
  qsort(fsnc_extents, fsnc_nextents, sizeof fsnc_extents[0], fsnc_extent_cmp);
  for (i = 0; i < fsnc_nextents; ++i) {
    const fsnc_extent_s *e = &fsnc_extents[i];
    if (i > 0 && e->base == e[-1].base && e->id == e[-1].id)
      continue;
    REQUIRE(e->base >= limit, "two live objects overlap");
    limit = e->limit;
  }
}

static size_t fsnc_live_bytes, fsnc_peak_bytes;

FUZZ_MODEL static void fsnc_verify(mps_pool_t snc)
{
  size_t a, i, k, live = 0;
  fsnc_nextents = 0;
  for (k = 0; k < SLOTS; ++k)
    if (fsnc_slot_id[k] != 0) {
      fsnc_check_obj(fsnc_roots[k], fsnc_slot_id[k], 0, fsnc_slot_ndata[k]);
      fsnc_add_extent(fsnc_roots[k], fsnc_slot_id[k], 0, fsnc_slot_ndata[k]);
    } else
      REQUIRE(fsnc_roots[k] == NULL, "an empty root slot was changed");
  for (a = 0; a < APS; ++a) {
    model_ap_s *m = &fsnc_model[a];
    for (i = 0; i < m->nobjs; ++i) {
      model_obj_s *o = &m->objs[i];
      fsnc_check_obj(o->addr, o->id, o->nrefs, o->ndata);
      fsnc_add_extent(o->addr, o->id, o->nrefs, o->ndata);
      live += (2 + o->nrefs + o->ndata) * W;
      for (k = 0; k < o->nrefs; ++k) {
        objfmt_obj ref = (objfmt_obj)o->addr->slot[k];
        if (o->ref_id[k] == 0)
          REQUIRE(ref == NULL, "a null reference changed");
        else {
          fsnc_check_obj(ref, o->ref_id[k], 0, o->ref_ndata[k]);
          fsnc_add_extent(ref, o->ref_id[k], 0, o->ref_ndata[k]);
        }
      }
    }
  }
  fsnc_check_disjoint();
  ++fsnc_checks;
  REQUIRE(live == fsnc_live_bytes, "model accounting");
  /* Popped memory is reused: the pool holds little beyond its peak of
   * live objects (segment tails and one spare segment per point). */
  REQUIRE(mps_pool_total_size(snc) <= 2 * fsnc_peak_bytes + (APS + 2) * 128 * 1024,
          "the SNC pool grew beyond what its live objects need");
  REQUIRE(mps_pool_total_size(snc) - mps_pool_free_size(snc) >= live,
          "the pool counts fewer bytes in use than are live");
}

FUZZ_MODEL static void fsnc_pop_model(model_ap_s *m, size_t k)
{
  size_t i;
  for (i = m->below[k]; i < m->nobjs; ++i)
    fsnc_live_bytes -= (2 + m->objs[i].nrefs + m->objs[i].ndata) * W;
  m->nobjs = m->below[k];
  m->popped = m->frames[k];
  m->has_popped = 1;
  m->nframes = k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t snc, amc;
  mps_ap_t amc_ap;
  mps_root_t root;
  mps_gen_param_s gens[2] = {{128, 0.8}, {256, 0.5}};
  mps_word_t next_id = 1;
  size_t pc = 0, a;

  memset(fsnc_roots, 0, sizeof fsnc_roots);
  memset(fsnc_slot_id, 0, sizeof fsnc_slot_id);
  memset(fsnc_model, 0, sizeof fsnc_model);
  fsnc_live_bytes = fsnc_peak_bytes = 0;
  fsnc_checks = 0;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 16 << 20);
    REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK, "arena");
  } MPS_ARGS_END(args);
  REQUIRE(objfmt_create(&fmt, arena, objfmt_scan, true) == MPS_RES_OK, "format");
  REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK, "chain");
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    REQUIRE(mps_pool_create_k(&snc, arena, mps_class_snc(), args) == MPS_RES_OK, "snc");
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    REQUIRE(mps_pool_create_k(&amc, arena, mps_class_amc(), args) == MPS_RES_OK, "amc");
  } MPS_ARGS_END(args);
  for (a = 0; a < APS; ++a) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
      REQUIRE(mps_ap_create_k(&fsnc_model[a].ap, snc, args) == MPS_RES_OK, "snc ap");
    } MPS_ARGS_END(args);
  }
  REQUIRE(mps_ap_create_k(&amc_ap, amc, mps_args_none) == MPS_RES_OK, "amc ap");
  REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, fsnc_roots, SLOTS)
          == MPS_RES_OK, "root");

  while (pc < size) {
    uint8_t op = data[pc++];
    uint8_t x = pc < size ? data[pc] : 0, y = pc + 1 < size ? data[pc + 1] : 0;
    uint8_t z = pc + 2 < size ? data[pc + 2] : 0;
    model_ap_s *m = &fsnc_model[(op >> 4) & 1];
    switch (op % 9) {
    case 0:   /* push */
      if (m->nframes < MAX_FRAMES) {
        REQUIRE(mps_ap_frame_push(&m->frames[m->nframes], m->ap) == MPS_RES_OK, "push");
        m->below[m->nframes] = m->nobjs;
        ++m->nframes;
        /* Frames are numbered by depth, so a popped frame's handle names
         * the new frame once the stack is as deep again. */
        m->has_popped = 0;
      }
      break;
    case 1:   /* alloc */
    case 2: {
      pc += 3;
      if (m->nobjs < MAX_OBJS) {
        model_obj_s *o = &m->objs[m->nobjs];
        mps_word_t ref_slots[MAX_REFS];
        size_t k;
        o->nrefs = x % (MAX_REFS + 1);
        o->ndata = 1 + y % 64;
        o->id = next_id++;
        for (k = 0; k < o->nrefs; ++k) {
          size_t s = ((size_t)z >> (2 * k)) % (SLOTS + 2);
          ref_slots[k] = s;
          o->ref_id[k] = s < SLOTS ? fsnc_slot_id[s] : 0;
          o->ref_ndata[k] = s < SLOTS ? fsnc_slot_ndata[s] : 0;
        }
        o->addr = fsnc_new(m->ap, ref_slots, o->nrefs, o->ndata, o->id);
        ++m->nobjs;
        fsnc_live_bytes += (2 + o->nrefs + o->ndata) * W;
      }
      break;
    }
    case 3:   /* big */
      if (m->nobjs < MAX_OBJS && x % 4 == 0) {
        model_obj_s *o = &m->objs[m->nobjs];
        o->nrefs = 0;
        o->ndata = BIG_WORDS + x;
        o->id = next_id++;
        o->addr = fsnc_new(m->ap, NULL, 0, o->ndata, o->id);
        ++m->nobjs;
        fsnc_live_bytes += (2 + o->ndata) * W;
      }
      pc += 1;
      break;
    case 4:   /* pop */
      pc += 1;
      if (m->nframes > 0) {
        size_t k = x % m->nframes;
        /* Mostly the innermost frame, as a stack language would. */
        if (y % 2 == 0)
          k = m->nframes - 1;
        REQUIRE(mps_ap_frame_pop(m->ap, m->frames[k]) == MPS_RES_OK, "pop");
        fsnc_pop_model(m, k);
      }
      break;
    case 5:   /* badpop */
      if (m->has_popped) {
        mps_lib_assert_fail_t old = mps_lib_assert_fail_install(fsnc_record_assert);
        fsnc_failures = 0;
        REQUIRE(mps_ap_frame_pop(m->ap, m->popped) == MPS_RES_FAIL,
                "a frame no longer on the stack was popped");
        REQUIRE(fsnc_failures > 0, "a bad pop was not reported");
        mps_lib_assert_fail_install(old);
      }
      break;
    case 6: {   /* amc */
      size_t s = x % SLOTS, ndata = 1 + y % 16;
      mps_word_t id = next_id++;
      pc += 2;
      fsnc_roots[s] = fsnc_new(amc_ap, NULL, 0, ndata, id);
      fsnc_slot_id[s] = id;
      fsnc_slot_ndata[s] = ndata;
      break;
    }
    case 7:   /* drop */
      pc += 1;
      fsnc_roots[x % SLOTS] = NULL;
      fsnc_slot_id[x % SLOTS] = 0;
      break;
    case 8:   /* collect */
      if ((op >> 5) & 1) {
        REQUIRE(mps_arena_start_collect(arena) == MPS_RES_OK, "start_collect");
      } else {
        mps_arena_collect(arena);
        mps_arena_release(arena);
      }
      break;
    }
    if (fsnc_live_bytes > fsnc_peak_bytes)
      fsnc_peak_bytes = fsnc_live_bytes;
    fsnc_verify(snc);
  }
  mps_arena_collect(arena);
  fsnc_checks = 0;   /* so that the last check reads every word */
  fsnc_verify(snc);

  mps_arena_park(arena);
  mps_root_destroy(root);
  mps_ap_destroy(amc_ap);
  for (a = 0; a < APS; ++a)
    mps_ap_destroy(fsnc_model[a].ap);
  REQUIRE(mps_pool_free_size(snc) == mps_pool_total_size(snc),
          "destroying the points left SNC memory in use");
  mps_pool_destroy(amc);
  mps_pool_destroy(snc);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
