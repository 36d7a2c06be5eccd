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
 * An operation byte of EXT_BASE or more is one of these (fsnc_ext):
 *   walk      mps_arena_formatted_objects_walk, and mps_pool_walk: each
 *             sees every live SNC object once and nothing else;
 *   addr      mps_addr_object in, or just past, a live object, or in a
 *             popped one: the live object holding it, or MPS_RES_FAIL;
 *   hold      start a collection and run the next operations with no
 *             heap reads in between, so that they meet grey segments;
 *   starve    commit-limit failures of segments, stacks and frame tables,
 *             or one request for memory refused (fsnc_starve);
 *   recreate  destroy a point with its frames pushed, and make another;
 *   huge      a reserve no segment can hold: MPS_RES_RESOURCE;
 *   badpool   formats SNC must refuse.
 * The model keeps, per allocation point, the stack of its live objects
 * (id, size, the ids of the AMC objects they refer to) and its frames (the
 * number of objects below each).  After every operation every live SNC
 * object must be intact and refer to the right AMC objects (wherever AMC
 * moved them), every AMC object in a root slot intact, no two of these
 * objects overlapping, and the pool no larger than its peak of live
 * objects allows (popped memory is reused); a pop must stop counting its
 * objects' memory as in use.  A big object's data is read
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
#include "../src/arena/arena.h"
#include "../test/support/objfmt.h"
#include "support/model.h"
#include "support/refusal.h"

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

/* Make an object on ap, or say why the reserve failed. */
static mps_res_t fsnc_try_new(objfmt_obj *obj_o, mps_ap_t ap, const mps_word_t *ref_slots,
                              size_t nrefs, size_t ndata, mps_word_t id)
{
  size_t words = 2 + nrefs + ndata, i;
  mps_addr_t p;
  objfmt_obj obj;
  do {
    mps_res_t res = mps_reserve(&p, ap, words * W);
    if (res != MPS_RES_OK)
      return res;
    obj = p;
    obj->header = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    obj->nrefs = nrefs;
    /* Read from the root slots after the reserve, which may collect. */
    for (i = 0; i < nrefs; ++i)
      obj->slot[i] = ref_slots[i] < SLOTS ? (mps_word_t)fsnc_roots[ref_slots[i]] : 0;
    for (i = 0; i < ndata; ++i)
      obj->slot[nrefs + i] = fsnc_datum(id, i);
  } while (!mps_commit(ap, p, words * W));
  *obj_o = obj;
  return MPS_RES_OK;
}

static objfmt_obj fsnc_new(mps_ap_t ap, const mps_word_t *ref_slots, size_t nrefs, size_t ndata,
                           mps_word_t id)
{
  objfmt_obj obj;
  REQUIRE(fsnc_try_new(&obj, ap, ref_slots, nrefs, ndata, id) == MPS_RES_OK, "reserve failed");
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

FUZZ_MODEL static size_t fsnc_obj_bytes(const model_obj_s *o)
{
  return (2 + o->nrefs + o->ndata) * W;
}

/* Bytes the pool counts in use: on stacks, below their positions or in a
 * buffer's region. */
static size_t fsnc_in_use(mps_pool_t snc)
{
  return mps_pool_total_size(snc) - mps_pool_free_size(snc);
}

/* Without `read`, only what the pool reports is checked: the heap is not
 * touched, so an incremental collection stays where it is (see hold). */
FUZZ_MODEL static void fsnc_verify(mps_pool_t snc, int read)
{
  size_t a, i, k, live = 0;
  fsnc_nextents = 0;
  for (a = 0; a < APS && !read; ++a)
    for (i = 0; i < fsnc_model[a].nobjs; ++i)
      live += fsnc_obj_bytes(&fsnc_model[a].objs[i]);
  for (k = 0; k < SLOTS && read; ++k)
    if (fsnc_slot_id[k] != 0) {
      fsnc_check_obj(fsnc_roots[k], fsnc_slot_id[k], 0, fsnc_slot_ndata[k]);
      fsnc_add_extent(fsnc_roots[k], fsnc_slot_id[k], 0, fsnc_slot_ndata[k]);
    } else
      REQUIRE(fsnc_roots[k] == NULL, "an empty root slot was changed");
  for (a = 0; a < APS && read; ++a) {
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
  if (read) {
    fsnc_check_disjoint();
    ++fsnc_checks;
  }
  REQUIRE(live == fsnc_live_bytes, "model accounting");
  /* Popped memory is reused: the pool holds little beyond its peak of
   * live objects (segment tails and one spare segment per point). */
  REQUIRE(mps_pool_total_size(snc) <= 2 * fsnc_peak_bytes + (APS + 2) * 128 * 1024,
          "the SNC pool grew beyond what its live objects need");
  REQUIRE(fsnc_in_use(snc) >= live,
          "the pool counts fewer bytes in use than are live");
}

/* Addresses in objects that were popped, for addr_object to ask about:
 * by then they may be padding, a free segment, a newer object, or memory
 * the pool gave back. */
enum { DEAD = 8 };
static uintptr_t fsnc_dead[DEAD];
static size_t fsnc_ndead;

/* The objects of m from `from` on die. */
FUZZ_MODEL static void fsnc_kill(model_ap_s *m, size_t from)
{
  size_t i;
  if (from < m->nobjs) {
    const model_obj_s *last = &m->objs[m->nobjs - 1];
    fsnc_dead[fsnc_ndead++ % DEAD] = (uintptr_t)m->objs[from].addr;
    fsnc_dead[fsnc_ndead++ % DEAD] = (uintptr_t)last->addr + fsnc_obj_bytes(last) - W;
  }
  for (i = from; i < m->nobjs; ++i)
    fsnc_live_bytes -= fsnc_obj_bytes(&m->objs[i]);
  m->nobjs = from;
}

/* The place of the first object the last operation, a pop, freed on m
 * (if that object was not big), for the next operation to find reused. */
typedef struct fsnc_refill_s {
  model_ap_s *m;
  uintptr_t addr;
  size_t bytes;
} fsnc_refill_s;
static fsnc_refill_s fsnc_refill;

FUZZ_MODEL static void fsnc_pop_model(model_ap_s *m, size_t k)
{
  if (m->below[k] < m->nobjs && m->objs[m->below[k]].ndata < BIG_WORDS) {
    fsnc_refill.m = m;
    fsnc_refill.addr = (uintptr_t)m->objs[m->below[k]].addr;
    fsnc_refill.bytes = fsnc_obj_bytes(&m->objs[m->below[k]]);
  }
  fsnc_kill(m, m->below[k]);
  m->popped = m->frames[k];
  m->has_popped = 1;
  m->nframes = k;
}

/* ---- Extended operations (an operation byte of EXT_BASE or more) ---- */

static mps_arena_t fsnc_arena;
static mps_pool_t fsnc_snc;
static mps_fmt_t fsnc_fmt;
static unsigned fsnc_hold;     /* operations still to run with no heap reads */

/* What a walk saw of SNC, to compare with the model's live objects. */
static uintptr_t fsnc_seen[APS * MAX_OBJS], fsnc_want[APS * MAX_OBJS];
static size_t fsnc_nseen;

FUZZ_MODEL static int fsnc_uintptr_cmp(const void *x, const void *y)
{
  uintptr_t a = *(const uintptr_t *)x, b = *(const uintptr_t *)y;
  return a < b ? -1 : a > b;
}

FUZZ_MODEL static void fsnc_saw(uintptr_t addr)
{
  REQUIRE(fsnc_nseen < APS * MAX_OBJS, "a walk visited more SNC objects than are live");
  fsnc_seen[fsnc_nseen++] = addr;
}

/* Every live object seen once, and nothing else: no popped object, pad or
 * uncommitted memory. */
FUZZ_MODEL static void fsnc_check_seen(const char *what)
{
  size_t a, i, n = 0;
  for (a = 0; a < APS; ++a)
    for (i = 0; i < fsnc_model[a].nobjs; ++i)
      fsnc_want[n++] = (uintptr_t)fsnc_model[a].objs[i].addr;
  REQUIRE(fsnc_nseen == n, what);
  qsort(fsnc_seen, n, sizeof fsnc_seen[0], fsnc_uintptr_cmp);
  qsort(fsnc_want, n, sizeof fsnc_want[0], fsnc_uintptr_cmp);
  for (i = 0; i < n; ++i)
    REQUIRE(fsnc_seen[i] == fsnc_want[i], what);
}

enum { FSNC_WALK_S = 0x5c };   /* passed through to the stepper */

FUZZ_MODEL static void fsnc_walk_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p,
                                      size_t s)
{
  REQUIRE(p == &fsnc_nseen && s == FSNC_WALK_S, "the stepper's closure changed");
  if (pool != fsnc_snc)
    return;                     /* AMC's objects */
  REQUIRE(fmt == fsnc_fmt, "an SNC object walked with another format");
  fsnc_saw((uintptr_t)addr);
}

FUZZ_MODEL static mps_res_t fsnc_area_step(mps_ss_t ss, void *base, void *limit, void *closure)
{
  char *p = base;
  (void)ss;
  REQUIRE(closure == &fsnc_nseen, "the area scanner's closure changed");
  while (p < (char *)limit) {
    objfmt_obj obj = (objfmt_obj)(void *)p;
    REQUIRE(OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ && OBJFMT_WORDS(obj->header) >= 2,
            "a pool walk met something that is no live object");
    fsnc_saw((uintptr_t)p);
    p += OBJFMT_WORDS(obj->header) * W;
  }
  REQUIRE(p == (char *)limit, "a walked area ends inside an object");
  return MPS_RES_OK;
}

/* The live SNC object holding addr, or NULL. */
FUZZ_MODEL static uintptr_t fsnc_live_at(uintptr_t addr)
{
  size_t a, i;
  for (a = 0; a < APS; ++a)
    for (i = 0; i < fsnc_model[a].nobjs; ++i) {
      const model_obj_s *o = &fsnc_model[a].objs[i];
      if (addr >= (uintptr_t)o->addr && addr - (uintptr_t)o->addr < fsnc_obj_bytes(o))
        return (uintptr_t)o->addr;
    }
  return 0;
}

/* mps_addr_object on an SNC address finds the live object holding it, and
 * fails for one in no live object (popped, padding, a free segment). */
static void fsnc_addr_query(uintptr_t addr)
{
  mps_pool_t pool;
  mps_addr_t obj = NULL;
  mps_res_t res;
  uintptr_t want = fsnc_live_at(addr);
  if (!mps_addr_pool(&pool, fsnc_arena, (mps_addr_t)addr) || pool != fsnc_snc) {
    REQUIRE(want == 0, "a live SNC object is outside the pool");
    return;                     /* given back, perhaps to AMC now */
  }
  res = mps_addr_object(&obj, fsnc_arena, (mps_addr_t)addr);
  if (want != 0)
    REQUIRE(res == MPS_RES_OK && (uintptr_t)obj == want,
            "addr_object did not find the live object holding the address");
  else
    REQUIRE(res == MPS_RES_FAIL, "addr_object found an object where none is live");
}

/* Under a commit limit with nothing left to commit: a big object needs a
 * new segment and fails; extra points (x bit 0: until control memory runs
 * out, else x bits 1-2 of them) push and allocate, and their stacks,
 * frame tables and segments may fail too; then x bits 4-7 pushes on m,
 * so that its frame table may have to grow.  Whatever succeeds is kept
 * and checked, and the extra points, destroyed with their frames and
 * objects, leave the pool as it was: what they took from the free list
 * is back, free.
 * Or, with `refuse`, the same work with the arena refusing its refuse-th
 * request for memory instead (arena_fail_after): any one step may then
 * fail, with no memory or no address space, and the rest succeed; at
 * most three extra points, and the pool may grow, but what they took is
 * back, free. */
enum { FSNC_EXTRA = 48 };

/* A failure of a step of the starved work, which began with the
 * refusal's countdown at `before`: at the commit limit any step may fail;
 * with a refusal armed, only the step it fell in, and so only one step,
 * since the countdown stays at zero once it has fallen. */
static bool fsnc_starved(mps_res_t res, unsigned refuse, Count before)
{
  if (refuse != 0)
    return refusal_result(res) && refusal_fell(fsnc_arena, before);
  return res == MPS_RES_COMMIT_LIMIT;
}

static void fsnc_starve(model_ap_s *m, uint8_t x, unsigned refuse, mps_word_t *next_id)
{
  size_t limit = mps_arena_commit_limit(fsnc_arena), total, in_use, nextra = 0, i;
  mps_ap_t extra[FSNC_EXTRA];
  mps_addr_t p;
  mps_res_t res;
  Count before;

  /* No collection may need memory meanwhile. */
  mps_arena_park(fsnc_arena);
  if (refuse != 0) {
    arena_fail_after((Arena)fsnc_arena, refuse);
  } else {
    REQUIRE(mps_arena_commit_limit_set(fsnc_arena, mps_arena_committed(fsnc_arena)
                                       - mps_arena_spare_committed(fsnc_arena)) == MPS_RES_OK,
            "commit limit");
    REQUIRE(mps_reserve(&p, m->ap, BIG_WORDS * W) == MPS_RES_COMMIT_LIMIT,
            "a big object got a segment beyond the commit limit");
  }
  total = mps_pool_total_size(fsnc_snc);
  in_use = fsnc_in_use(fsnc_snc);
  /* Refusing one request leaves the rest to succeed: "until control
   * memory runs out" would then be every extra point, each with a new
   * segment, past what fsnc_check allows the pool beyond its objects. */
  while (nextra < ((x & 1) && refuse == 0 ? FSNC_EXTRA : (size_t)(x >> 1) % 4)) {
    before = refusal_countdown(fsnc_arena);
    res = mps_ap_create_k(&extra[nextra], fsnc_snc, mps_args_none);
    if (res != MPS_RES_OK) {
      REQUIRE(fsnc_starved(res, refuse, before), "a point failed otherwise than starved");
      break;
    }
    ++nextra;
  }
  for (i = 0; i < nextra; ++i) {
    mps_frame_t frame;
    objfmt_obj obj;
    mps_word_t id = (*next_id)++;
    /* A fill or a push may be the first to need the point's stack. */
    if ((x >> 3) & 1) {
      before = refusal_countdown(fsnc_arena);
      res = mps_ap_frame_push(&frame, extra[i]);
      REQUIRE(res == MPS_RES_OK || fsnc_starved(res, refuse, before), "push starved");
    }
    before = refusal_countdown(fsnc_arena);
    res = fsnc_try_new(&obj, extra[i], NULL, 0, 1 + i % 8, id);
    if (res == MPS_RES_OK)
      fsnc_check_obj(obj, id, 0, 1 + i % 8);
    else
      REQUIRE(fsnc_starved(res, refuse, before), "reserve starved");
    before = refusal_countdown(fsnc_arena);
    res = mps_ap_frame_push(&frame, extra[i]);
    REQUIRE(res == MPS_RES_OK || fsnc_starved(res, refuse, before), "push starved");
  }
  for (i = 0; i < (size_t)(x >> 4) && m->nframes < MAX_FRAMES; ++i) {
    before = refusal_countdown(fsnc_arena);
    res = mps_ap_frame_push(&m->frames[m->nframes], m->ap);
    if (res != MPS_RES_OK) {
      REQUIRE(fsnc_starved(res, refuse, before), "push starved");
      break;
    }
    m->below[m->nframes++] = m->nobjs;
    m->has_popped = 0;
  }
  for (i = 0; i < nextra; ++i)
    mps_ap_destroy(extra[i]);
  REQUIRE(refuse != 0 || mps_pool_total_size(fsnc_snc) == total,
          "points made and destroyed under the limit changed the pool's size");
  REQUIRE(fsnc_in_use(fsnc_snc) == in_use,
          "destroyed points left memory in use, or took some of the others'");
  arena_fail_after((Arena)fsnc_arena, 0);
  REQUIRE(mps_arena_commit_limit_set(fsnc_arena, limit) == MPS_RES_OK, "commit limit");
  mps_arena_release(fsnc_arena);
}

/* Formats SNC refuses (snc.rst): no pad method, no scan method, or
 * headers (an assertion, reported).  The refused format must be left
 * free to destroy. */
static void fsnc_bad_pool(uint8_t x)
{
  mps_fmt_t bad;
  mps_pool_t pool;
  mps_res_t res;
  mps_lib_assert_fail_t old;
  switch (x % 3) {
  case 0:
    REQUIRE(objfmt_create(&bad, fsnc_arena, objfmt_scan, false) == MPS_RES_OK, "format");
    break;
  case 1:
    REQUIRE(objfmt_create(&bad, fsnc_arena, NULL, true) == MPS_RES_OK, "format");
    break;
  default:
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, W);
      MPS_ARGS_ADD(args, MPS_KEY_FMT_HEADER_SIZE, W);
      MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, objfmt_scan);
      MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, objfmt_skip);
      MPS_ARGS_ADD(args, MPS_KEY_FMT_FWD, objfmt_fwd);
      MPS_ARGS_ADD(args, MPS_KEY_FMT_ISFWD, objfmt_isfwd);
      MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, objfmt_pad);
      REQUIRE(mps_fmt_create_k(&bad, fsnc_arena, args) == MPS_RES_OK, "format");
    } MPS_ARGS_END(args);
    break;
  }
  old = mps_lib_assert_fail_install(fsnc_record_assert);
  fsnc_failures = 0;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, bad);
    res = mps_pool_create_k(&pool, fsnc_arena, mps_class_snc(), args);
  } MPS_ARGS_END(args);
  REQUIRE(res == MPS_RES_PARAM, "SNC accepted a format it cannot use");
  REQUIRE((x % 3 == 2) == (fsnc_failures > 0), "a pool with headers was not reported");
  fsnc_failures = 0;
  mps_fmt_destroy(bad);
  REQUIRE(fsnc_failures == 0, "the refused format was still held by the pool");
  mps_lib_assert_fail_install(old);
}

enum { EXT_BASE = 216 };   /* 24 * 9: below it, op % 9 as before */

static void fsnc_ext(uint8_t ext, model_ap_s *m, const uint8_t *data, size_t size, size_t *pc,
                     mps_word_t *next_id)
{
  uint8_t x = *pc < size ? data[*pc] : 0, y = *pc + 1 < size ? data[*pc + 1] : 0;
  switch (ext % 8) {
  case 0:   /* walk: every live object once, and nothing popped */
    fsnc_nseen = 0;
    mps_arena_formatted_objects_walk(fsnc_arena, fsnc_walk_step, &fsnc_nseen, FSNC_WALK_S);
    fsnc_check_seen("the formatted walk differs from the live objects");
    break;
  case 1:   /* pool walk: the areas hold exactly the live objects */
    fsnc_nseen = 0;
    mps_arena_park(fsnc_arena);
    REQUIRE(mps_pool_walk(fsnc_snc, fsnc_area_step, &fsnc_nseen) == MPS_RES_OK, "pool walk");
    mps_arena_release(fsnc_arena);
    fsnc_check_seen("the pool walk differs from the live objects");
    break;
  case 2: {   /* addr_object: object y of m, at its base, word x / 4 or just past it
               * (x % 4 = 0, 1, 2); else a dead address */
    uintptr_t addr = fsnc_dead[y % DEAD];
    *pc += 2;
    if (m->nobjs > 0 && x % 4 != 3) {
      const model_obj_s *o = &m->objs[(size_t)y % m->nobjs];
      size_t bytes = fsnc_obj_bytes(o);
      addr = (uintptr_t)o->addr + (x % 4 == 0 ? 0 : x % 4 == 1 ? (x >> 2) * W % bytes : bytes);
    }
    if (addr != 0)
      fsnc_addr_query(addr);
    break;
  }
  case 3:   /* hold: start a collection, and let the next operations meet grey segments */
    *pc += 1;
    REQUIRE(mps_arena_start_collect(fsnc_arena) == MPS_RES_OK, "start_collect");
    fsnc_hold = 2 + x % 4;   /* this operation's check and the next ones' */
    break;
  case 4:   /* starve: at the commit limit, or (ext bit 4) one request refused */
    *pc += (ext & 16) ? 2 : 1;
    fsnc_starve(m, x, (ext & 16) ? 1u + y % 32 : 0, next_id);
    break;
  case 5: {   /* destroy m's point with its frames, and make another */
    size_t before = fsnc_in_use(fsnc_snc), live = fsnc_live_bytes;
    mps_ap_destroy(m->ap);
    fsnc_kill(m, 0);
    live -= fsnc_live_bytes;
    REQUIRE(before - fsnc_in_use(fsnc_snc) >= live,
            "destroying a point kept its objects' memory in use");
    m->nframes = 0;
    m->has_popped = 0;
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
      REQUIRE(mps_ap_create_k(&m->ap, fsnc_snc, args) == MPS_RES_OK, "snc ap");
    } MPS_ARGS_END(args);
    break;
  }
  case 6: {   /* a reserve too big for any segment the arena could give */
    mps_addr_t p;
    REQUIRE(mps_reserve(&p, m->ap, (size_t)-1 & ~(W - 1)) == MPS_RES_RESOURCE,
            "a reserve of nearly the whole address space");
    break;
  }
  default:
    *pc += 1;
    fsnc_bad_pool(x);
    break;
  }
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
  fsnc_refill_s refill;

  memset(fsnc_roots, 0, sizeof fsnc_roots);
  memset(fsnc_slot_id, 0, sizeof fsnc_slot_id);
  memset(fsnc_model, 0, sizeof fsnc_model);
  memset(fsnc_dead, 0, sizeof fsnc_dead);
  fsnc_ndead = 0;
  fsnc_live_bytes = fsnc_peak_bytes = 0;
  fsnc_checks = 0;
  fsnc_hold = 0;
  fsnc_refill.m = NULL;
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
  fsnc_arena = arena;
  fsnc_snc = snc;
  fsnc_fmt = fmt;

  while (pc < size) {
    uint8_t op = data[pc++];
    uint8_t x = pc < size ? data[pc] : 0, y = pc + 1 < size ? data[pc + 1] : 0;
    uint8_t z = pc + 2 < size ? data[pc + 2] : 0;
    model_ap_s *m = &fsnc_model[(op >> 4) & 1];
    refill = fsnc_refill;
    fsnc_refill.m = NULL;
    if (op >= EXT_BASE)
      fsnc_ext((uint8_t)(op - EXT_BASE), &fsnc_model[((op - EXT_BASE) >> 3) & 1], data, size,
               &pc, &next_id);
    else switch (op % 9) {
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
        /* Made right after a pop, an object of the size of the first one
         * it freed takes its place: in the frame's segment, where the
         * position went back (a grey one is scanned for it), or in the
         * lowest segment the pop freed, which heads the free list. */
        if (refill.m == m && fsnc_obj_bytes(o) == refill.bytes)
          REQUIRE((uintptr_t)o->addr == refill.addr,
                  "an object made right after a pop did not reuse the place it freed");
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
        size_t k = x % m->nframes, before, live = fsnc_live_bytes;
        mps_frame_t empty;
        /* Mostly the innermost frame, as a stack language would. */
        if (y % 2 == 0)
          k = m->nframes - 1;
        /* An empty frame first: its pop frees nothing, and leaves the
         * buffer detached, so that the pool counts in use only what lies
         * below the stacks' positions. */
        REQUIRE(mps_ap_frame_push(&empty, m->ap) == MPS_RES_OK, "push");
        REQUIRE(mps_ap_frame_pop(m->ap, empty) == MPS_RES_OK, "pop");
        before = fsnc_in_use(snc);
        REQUIRE(mps_ap_frame_pop(m->ap, m->frames[k]) == MPS_RES_OK, "pop");
        fsnc_pop_model(m, k);
        /* What was allocated since the push is no longer in use, whichever
         * segments it was in. */
        REQUIRE(before - fsnc_in_use(snc) >= live - fsnc_live_bytes,
                "a pop kept memory of its objects in use");
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
    if (fsnc_hold > 0)
      --fsnc_hold;
    fsnc_verify(snc, fsnc_hold == 0);
  }
  mps_arena_collect(arena);
  fsnc_checks = 0;   /* so that the last check reads every word */
  fsnc_verify(snc, 1);

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
