/* fuzz_finalize: finalization against a model, through the public
 * interface (topic/finalization.rst, topic/message.rst) and one test hook,
 * arena_fail_after (src/arena/arena.h).
 *
 * Three pools share one arena and one format (stress/support/gcobj.c):
 * AMC (moving), AMS and LO (leaf).  The mutator holds objects only in an
 * exact root table of ROOTS slots and in the finalization messages it
 * holds.  The arena is clamped from the start, so the only collections are
 * the program's own full ones (mps_arena_collect, which leaves it parked).
 * The input is a program: each operation is one byte (its kind) and three
 * argument bytes: allocate into a slot, register (mps_finalize) or
 * definalize the object in a slot, link and unlink objects, load through a
 * slot, drop a slot, collect, discard a held message, and resurrect a held
 * message's object into a slot.  A collect whose first argument has its
 * top bit set also has the arena refuse one of its next 32 requests for
 * memory (arena_fail_after), armed before the collection or, with the
 * third argument's 0x40, after it, so that the refusal falls on the
 * collection (its allocation points made again, its trace and messages,
 * AMC's to-space) or on whatever comes next: an allocation (a buffer fill,
 * or the allocation point a refusal left unmade), a registration, the
 * next collection.  With the third argument's top bit (and not 0x40) the
 * collection is first started incrementally (mps_arena_start_collect) and
 * stepped up to seven times, the arena clamped again meanwhile, before
 * the full collection, which finishes it and collects again.
 *
 * The model keeps, for each object, its edges, its outstanding
 * registrations and how many held messages name it.  An operation that
 * fails must be the one the refusal fell on, say so with MPS_RES_MEMORY or
 * MPS_RES_RESOURCE, and change nothing the model tracks.  At each
 * collection:
 *   - the objects due are those registered and unreachable from the roots
 *     and the held messages; each gets at most one message in that
 *     collection (one registration is used each time), and no other
 *     object gets one (only unreachable objects are finalized, never
 *     twice for one registration); unless the refusal fell on
 *     mps_arena_collect itself (one in the incremental collection before
 *     it is made good by the full one), every object due gets one;
 *   - every message is taken at once and held, and its reference must be
 *     the object (checked by id and data, wherever it moved);
 *   - the objects still reachable from the roots and held messages are
 *     all in the heap afterwards (walked), each intact with the model's
 *     edges.  Unless the refusal fell on mps_arena_collect, nothing else
 *     is: everything else was reclaimed.  If it did, the collection may
 *     have kept more (AMC, short of to-space, keeps objects in place, as
 *     many as a segment's), and if it could not start its trace (no
 *     collection ran in the operation) it changed nothing: no message,
 *     nothing reclaimed.  An object kept must be one the model knows,
 *     intact, with everything it refers to kept too, and if it was due
 *     and got no message it is still registered, so that a later
 *     collection finalizes it once it is found unreachable (the last
 *     collection of each input runs with the hook disarmed).  An object
 *     reclaimed must have no registration left.
 * mps_definalize must succeed exactly when the model has an outstanding
 * registration; after the last collection every object's registrations
 * are taken back one by one, so that each the model counts, and no other,
 * must still be there.  Any mismatch prints a message and aborts.
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
#include "../stress/support/gcobj.c"
#include "../test/support/collections.h"
#include "support/refusal.h"

enum { FF_ROOTS = 12, FF_RECS = 256, FF_REFS = 2, FF_NDATA = 3 };
enum { FF_AMC, FF_AMS, FF_LO, FF_POOLS };
#define FF_NONE 0xFFFFu
#define FF_ID_SHIFT 10          /* id = serial << FF_ID_SHIFT | record */

#define REQUIRE(cond, msg)                                                        \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "fuzz_finalize: %s:%d: %s: %s\n", __FILE__, __LINE__, #cond, \
              (msg));                                                             \
      abort();                                                                    \
    }                                                                             \
  } while (0)

/* The roots live outside the heap, as a client's globals would. */
static mps_addr_t ff_roots[FF_ROOTS];

typedef struct ff_rec_s {
  mps_word_t id;                /* 0: free */
  unsigned pool;
  unsigned edges[FF_REFS];      /* records, or FF_NONE (leaf: none) */
  unsigned regs;                /* outstanding registrations */
  unsigned held;                /* held messages naming it */
  int mark, due, found;
  mps_addr_t addr;              /* where the last collection's walk found it */
} ff_rec_s;

typedef struct ff_s {
  mps_arena_t arena;
  mps_chain_t chain;
  mps_fmt_t fmt;
  mps_pool_t pool[FF_POOLS];
  mps_ap_t ap[FF_POOLS];
  mps_root_t root;
  ff_rec_s recs[FF_RECS];
  unsigned roots[FF_ROOTS];     /* records, or FF_NONE */
  mps_message_t held[FF_RECS * 2];
  unsigned held_rec[FF_RECS * 2];
  size_t nheld;
  mps_word_t serial;
  const uint8_t *data;
  size_t size, at;
} ff_s;

static uint8_t ff_byte(ff_s *f)
{
  return f->at < f->size ? f->data[f->at++] : 0;
}

static unsigned ff_rec_of_id(ff_s *f, mps_word_t id)
{
  unsigned r = (unsigned)(id & ((1u << FF_ID_SHIFT) - 1));
  REQUIRE(r < FF_RECS && f->recs[r].id == id, "an object id the model does not know");
  return r;
}

/* Whether the request arena_fail_after was asked to refuse was refused
 * since its countdown read `before`. */
static int ff_fell(ff_s *f, Count before)
{
  return refusal_fell(f->arena, before);
}

/* An operation failed: the refusal must have fallen on it, and its
 * result must say that memory or address space ran out. */
static void ff_refused(ff_s *f, Count before, mps_res_t res, const char *what)
{
  REQUIRE(ff_fell(f, before), what);
  REQUIRE(refusal_result(res), what);
}

/* Make pool k's allocation point; a refusal may leave it without one
 * until the next try. */
static void ff_ap_create(ff_s *f, unsigned k)
{
  Count before = refusal_countdown(f->arena);
  mps_res_t res = mps_ap_create_k(&f->ap[k], f->pool[k], mps_args_none);
  if (res != MPS_RES_OK) {
    ff_refused(f, before, res, "allocation point creation failed");
    f->ap[k] = NULL;
  }
}

static void ff_setup(ff_s *f)
{
  mps_gen_param_s gens[1] = {{1024, 0.5}};
  mps_pool_class_t classes[FF_POOLS];
  unsigned k;
  classes[FF_AMC] = mps_class_amc();
  classes[FF_AMS] = mps_class_ams();
  classes[FF_LO] = mps_class_lo();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)16 << 20);
    REQUIRE(mps_arena_create_k(&f->arena, mps_arena_class_vm(), args) == MPS_RES_OK, "arena");
  } MPS_ARGS_END(args);
  mps_arena_clamp(f->arena);
  REQUIRE(gcobj_fmt_create(&f->fmt, f->arena) == MPS_RES_OK, "format");
  REQUIRE(mps_chain_create(&f->chain, f->arena, 1, gens) == MPS_RES_OK, "chain");
  for (k = 0; k < FF_POOLS; ++k) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, f->fmt);
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, f->chain);
      REQUIRE(mps_pool_create_k(&f->pool[k], f->arena, classes[k], args) == MPS_RES_OK, "pool");
    } MPS_ARGS_END(args);
    REQUIRE(mps_ap_create_k(&f->ap[k], f->pool[k], mps_args_none) == MPS_RES_OK, "ap");
  }
  memset(ff_roots, 0, sizeof ff_roots);
  REQUIRE(mps_root_create_table(&f->root, f->arena, mps_rank_exact(), 0, ff_roots,
                                FF_ROOTS) == MPS_RES_OK, "root");
  for (k = 0; k < FF_ROOTS; ++k)
    f->roots[k] = FF_NONE;
  mps_message_type_enable(f->arena, mps_message_type_finalization());
}

static void ff_teardown(ff_s *f)
{
  unsigned k;
  size_t i;
  /* Discard half of the held messages; arena destroy frees the rest. */
  for (i = 0; i < f->nheld; i += 2)
    mps_message_discard(f->arena, f->held[i]);
  mps_arena_park(f->arena);
  mps_root_destroy(f->root);
  for (k = 0; k < FF_POOLS; ++k) {
    if (f->ap[k] != NULL)
      mps_ap_destroy(f->ap[k]);
    mps_pool_destroy(f->pool[k]);
  }
  mps_chain_destroy(f->chain);
  mps_fmt_destroy(f->fmt);
  mps_arena_destroy(f->arena);
}

/* ---- Reachability in the model ------------------------------------- */

static void ff_mark_from(ff_s *f, unsigned r)
{
  unsigned stack[FF_RECS];
  size_t n = 0;
  if (r == FF_NONE || f->recs[r].mark)
    return;
  f->recs[r].mark = 1;
  stack[n++] = r;
  while (n > 0) {
    ff_rec_s *rec = &f->recs[stack[--n]];
    unsigned i;
    for (i = 0; i < FF_REFS; ++i) {
      unsigned e = rec->edges[i];
      if (e != FF_NONE && !f->recs[e].mark) {
        f->recs[e].mark = 1;
        stack[n++] = e;
      }
    }
  }
}

/* Mark what the roots and the held messages reach (and, if with_due, the
 * objects due in this collection). */
static void ff_mark(ff_s *f, int with_due)
{
  unsigned r;
  for (r = 0; r < FF_RECS; ++r)
    f->recs[r].mark = 0;
  for (r = 0; r < FF_ROOTS; ++r)
    ff_mark_from(f, f->roots[r]);
  for (r = 0; r < FF_RECS; ++r)
    if (f->recs[r].id != 0 && (f->recs[r].held > 0 || (with_due && f->recs[r].due)))
      ff_mark_from(f, r);
}

/* ---- Checking the heap ---------------------------------------------- */

static void ff_check_obj(ff_s *f, mps_addr_t obj, unsigned r)
{
  ff_rec_s *rec = &f->recs[r];
  unsigned i;
  REQUIRE(obj != NULL, "a reference the model has is null");
  REQUIRE(gcobj_intact(obj), "object damaged");
  REQUIRE(gcobj_id(obj) == rec->id, "object has the wrong id");
  REQUIRE(gcobj_nrefs(obj) == (rec->pool == FF_LO ? 0u : (unsigned)FF_REFS), "wrong shape");
  for (i = 0; i < gcobj_nrefs(obj); ++i) {
    mps_addr_t ref = gcobj_ref(obj, i);
    if (rec->edges[i] == FF_NONE)
      REQUIRE(ref == NULL, "slot should be null");
    else
      REQUIRE(ref != NULL && gcobj_id(ref) == f->recs[rec->edges[i]].id,
              "slot refers to the wrong object");
  }
}

typedef struct ff_walk_s {
  ff_s *f;
  int refused;                  /* a refusal fell on the collection */
} ff_walk_s;

static void ff_walk_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  ff_walk_s *w = p;
  unsigned r;
  (void)fmt;
  (void)pool;
  (void)s;
  if ((*(mps_word_t *)addr & 3u) != 1u)
    return;                             /* a pad */
  r = ff_rec_of_id(w->f, gcobj_id(addr));
  REQUIRE(w->f->recs[r].mark || w->refused,
          "an object the model says is dead was not reclaimed");
  REQUIRE(!w->f->recs[r].found, "an object is in the heap twice");
  w->f->recs[r].found = 1;
  w->f->recs[r].addr = addr;
  ff_check_obj(w->f, addr, r);
}

/* ---- Operations ------------------------------------------------------ */

static void ff_alloc(ff_s *f, unsigned pool, unsigned slot)
{
  unsigned r, i;
  mps_addr_t p;
  mps_res_t res;
  Count before;
  size_t nrefs = pool == FF_LO ? 0 : FF_REFS;
  if (f->ap[pool] == NULL) {
    ff_ap_create(f, pool);
    if (f->ap[pool] == NULL)
      return;
  }
  for (r = 0; r < FF_RECS; ++r)
    if (f->recs[r].id == 0)
      break;
  if (r == FF_RECS)
    return;                             /* the model is full until a collection */
  ++f->serial;
  memset(&f->recs[r], 0, sizeof f->recs[r]);
  f->recs[r].id = (f->serial << FF_ID_SHIFT) | r;
  f->recs[r].pool = pool;
  for (i = 0; i < FF_REFS; ++i)
    f->recs[r].edges[i] = FF_NONE;
  before = refusal_countdown(f->arena);
  res = gcobj_alloc(&p, f->ap[pool], f->recs[r].id, nrefs, FF_NDATA, NULL);
  if (res != MPS_RES_OK) {
    ff_refused(f, before, res, "allocation failed");
    f->recs[r].id = 0;
    return;
  }
  ff_roots[slot] = p;
  f->roots[slot] = r;
}

/* A full collection; with `start` not 0, one started incrementally first
 * and given start - 1 steps. */
static void ff_collect(ff_s *f, unsigned start)
{
  unsigned r, k, i, due = 0;
  mps_message_t m;
  mps_res_t res;
  ff_walk_s w;
  Count before;
  mps_word_t collections;
  int refused, ran;

  /* Which registered objects are unreachable now? */
  ff_mark(f, 0);
  for (r = 0; r < FF_RECS; ++r) {
    ff_rec_s *rec = &f->recs[r];
    rec->due = rec->id != 0 && rec->regs > 0 && !rec->mark;
    due += (unsigned)rec->due;
  }
  /* No object may sit in a segment a buffer is filling (those are never
   * condemned): make the allocation points again. */
  for (k = 0; k < FF_POOLS; ++k) {
    if (f->ap[k] != NULL)
      mps_ap_destroy(f->ap[k]);
    ff_ap_create(f, k);
  }
  collections = collections_done(f->arena);
  if (start > 0) {
    before = refusal_countdown(f->arena);
    res = mps_arena_start_collect(f->arena);
    if (res != MPS_RES_OK)
      ff_refused(f, before, res, "start collect");
    /* Unclamped, the next allocation could collect behind the model's back. */
    mps_arena_clamp(f->arena);
    for (i = 1; i < start; ++i)
      (void)mps_arena_step(f->arena, 0.0, 1.0);
  }
  /* Only a refusal in mps_arena_collect excuses the checks below: one in
   * the incremental collection before it is made good by the full one,
   * which finishes it and then collects again. */
  before = refusal_countdown(f->arena);
  mps_arena_collect(f->arena);
  refused = ff_fell(f, before);
  ran = collections_done(f->arena) != collections;
  REQUIRE(ran || refused, "a collection did not run");

  while (mps_message_get(&m, f->arena, mps_message_type_finalization())) {
    mps_addr_t ref = NULL;
    REQUIRE(mps_message_type(f->arena, m) == mps_message_type_finalization(), "type");
    mps_message_finalization_ref(&ref, f->arena, m);
    REQUIRE(ref != NULL && gcobj_intact(ref), "finalized object damaged");
    r = ff_rec_of_id(f, gcobj_id(ref));
    REQUIRE(f->recs[r].due, "finalized an object that was reachable, or not registered");
    REQUIRE(f->recs[r].regs > 0, "more messages than registrations");
    f->recs[r].due = 0;                 /* one message per collection */
    --f->recs[r].regs;
    ++f->recs[r].held;
    REQUIRE(due > 0, "more messages than objects due");
    REQUIRE(ran, "a message from a collection that could not start");
    --due;
    REQUIRE(f->nheld < sizeof f->held / sizeof f->held[0], "too many held messages");
    f->held[f->nheld] = m;
    f->held_rec[f->nheld] = r;
    ++f->nheld;
  }
  /* A collection that absorbed a refusal may have kept an object due
   * (it then keeps its registration: checked below). */
  REQUIRE(due == 0 || refused,
          "an unreachable registered object was not finalized by a full collection");

  /* Everything the roots and the messages reach survives, intact, and
   * unless a refusal fell on the collection, nothing else is left in the
   * heap. */
  ff_mark(f, 0);
  for (r = 0; r < FF_RECS; ++r)
    f->recs[r].found = 0;
  w.f = f;
  w.refused = refused;
  mps_arena_formatted_objects_walk(f->arena, ff_walk_step, &w, 0);
  for (r = 0; r < FF_RECS; ++r) {
    ff_rec_s *rec = &f->recs[r];
    if (rec->id == 0)
      continue;
    REQUIRE(rec->found || !rec->mark, "a reachable object is missing from the heap");
    /* A collection that could not start its trace changed nothing. */
    REQUIRE(rec->found || ran, "a collection that could not start reclaimed an object");
    /* What a kept object refers to was kept with it: its scan fixed it. */
    if (rec->found)
      for (i = 0; i < FF_REFS; ++i)
        REQUIRE(rec->edges[i] == FF_NONE || f->recs[rec->edges[i]].found,
                "an object kept refers to one reclaimed");
  }
  for (r = 0; r < FF_ROOTS; ++r)
    if (f->roots[r] != FF_NONE)
      ff_check_obj(f, ff_roots[r], f->roots[r]);
  for (r = 0; r < f->nheld; ++r) {
    mps_addr_t ref = NULL;
    mps_message_finalization_ref(&ref, f->arena, f->held[r]);
    ff_check_obj(f, ref, f->held_rec[r]);
  }
  /* The reclaimed are forgotten; an object kept though unreachable stays
   * in the model until a collection reclaims or finalizes it. */
  for (r = 0; r < FF_RECS; ++r)
    if (f->recs[r].id != 0 && !f->recs[r].found) {
      REQUIRE(f->recs[r].regs == 0, "a registered object was reclaimed");
      f->recs[r].id = 0;
    }
}

/* After the last collection (the arena parked, so nothing moves): the
 * library holds exactly the registrations the model counts, even those of
 * an object only a message or nothing reaches, and even after a
 * registration was refused.  Each is taken back in turn; an object that
 * had any is registered once more, so that destroying its pool still has
 * a registration to drop. */
static void ff_definalize_all(ff_s *f)
{
  unsigned r;
  for (r = 0; r < FF_RECS; ++r) {
    mps_addr_t ref = f->recs[r].addr;
    unsigned regs = f->recs[r].regs;
    if (f->recs[r].id == 0)
      continue;
    for (; f->recs[r].regs > 0; --f->recs[r].regs)
      REQUIRE(mps_definalize(f->arena, &ref) == MPS_RES_OK, "a registration was lost");
    REQUIRE(mps_definalize(f->arena, &ref) == MPS_RES_FAIL, "a registration too many");
    if (regs > 0) {
      REQUIRE(mps_finalize(f->arena, &ref) == MPS_RES_OK, "mps_finalize failed");
      f->recs[r].regs = 1;
    }
  }
}

static void ff_step(ff_s *f, uint8_t op)
{
  unsigned a = ff_byte(f), b = ff_byte(f), c = ff_byte(f);
  unsigned sa = a % FF_ROOTS, sb = b % FF_ROOTS, i = c % FF_REFS;
  unsigned ra = f->roots[sa], rb = f->roots[sb];
  mps_res_t res;
  switch (op % 11) {
  case 0: case 1:                                   /* allocate */
    ff_alloc(f, b % FF_POOLS, sa);
    break;
  case 2:                                           /* register */
    if (ra != FF_NONE) {
      Count before = refusal_countdown(f->arena);
      res = mps_finalize(f->arena, &ff_roots[sa]);
      if (res != MPS_RES_OK)
        ff_refused(f, before, res, "mps_finalize failed");
      else
        ++f->recs[ra].regs;
    }
    break;
  case 3:                                           /* definalize */
    if (ra != FF_NONE) {
      res = mps_definalize(f->arena, &ff_roots[sa]);
      REQUIRE((res == MPS_RES_OK) == (f->recs[ra].regs > 0), "mps_definalize's result");
      REQUIRE(res == MPS_RES_OK || res == MPS_RES_FAIL, "mps_definalize's result code");
      if (res == MPS_RES_OK)
        --f->recs[ra].regs;
    }
    break;
  case 4:                                           /* link: a's slot i := b */
    if (ra != FF_NONE && f->recs[ra].pool != FF_LO) {
      gcobj_set_ref(ff_roots[sa], i, ff_roots[sb]);
      f->recs[ra].edges[i] = rb;
    }
    break;
  case 5:                                           /* unlink */
    if (ra != FF_NONE && f->recs[ra].pool != FF_LO) {
      gcobj_set_ref(ff_roots[sa], i, NULL);
      f->recs[ra].edges[i] = FF_NONE;
    }
    break;
  case 6:                                           /* load: a := b's slot i */
    if (rb != FF_NONE && f->recs[rb].pool != FF_LO) {
      ff_roots[sa] = gcobj_ref(ff_roots[sb], i);
      f->roots[sa] = f->recs[rb].edges[i];
    }
    break;
  case 7:                                           /* drop */
    ff_roots[sa] = NULL;
    f->roots[sa] = FF_NONE;
    break;
  case 8:                                           /* collect */
    if (a & 0x80) {
      /* One of the next requests for memory is refused, from the
       * collection on or from the next operation on. */
      Count n = (Count)(b & 0x1F) + 1;
      if (c & 0x40) {
        ff_collect(f, 0);
        arena_fail_after((Arena)f->arena, n);
      } else {
        arena_fail_after((Arena)f->arena, n);
        ff_collect(f, (c & 0x80) ? 1 + (c & 7) : 0);
      }
    } else {
      ff_collect(f, 0);
    }
    break;
  case 9:                                           /* discard a held message */
    if (f->nheld > 0) {
      size_t j = b % f->nheld;
      --f->recs[f->held_rec[j]].held;
      mps_message_discard(f->arena, f->held[j]);
      --f->nheld;
      f->held[j] = f->held[f->nheld];
      f->held_rec[j] = f->held_rec[f->nheld];
    }
    break;
  case 10:                                          /* resurrect into a */
    if (f->nheld > 0) {
      size_t j = b % f->nheld;
      mps_message_finalization_ref(&ff_roots[sa], f->arena, f->held[j]);
      f->roots[sa] = f->held_rec[j];
    }
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static ff_s f;
  memset(&f, 0, sizeof f);
  f.data = data;
  f.size = size;
  ff_setup(&f);
  while (f.at < f.size)
    ff_step(&f, ff_byte(&f));
  /* The last collection has no refusal: whatever one kept or left
   * registered must now be reclaimed or finalized. */
  arena_fail_after((Arena)f.arena, 0);
  ff_collect(&f, 0);
  ff_definalize_all(&f);
  ff_teardown(&f);
  return 0;
}
