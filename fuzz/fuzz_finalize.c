/* fuzz_finalize: finalization against a model, through the public
 * interface only (topic/finalization.rst, topic/message.rst).
 *
 * Three pools share one arena and one format (stress/support/gcobj.c):
 * AMC (moving), AMS and LO (leaf).  The mutator holds objects only in an
 * exact root table of ROOTS slots and in the finalization messages it
 * holds.  The arena is clamped from the start, so the only collections are
 * the program's own full ones (mps_arena_collect, which leaves it parked).
 * The input is a program: each operation is one byte (its kind) and up to
 * three argument bytes: allocate into a slot, register (mps_finalize) or
 * definalize the object in a slot, link and unlink objects, load through a
 * slot, drop a slot, collect, discard a held message, and resurrect a held
 * message's object into a slot.
 *
 * The model keeps, for each object, its edges, its outstanding
 * registrations and how many held messages name it.  At each collection:
 *   - the objects due are those registered and unreachable from the roots
 *     and the held messages; each gets exactly one message in that
 *     collection (the next full collection finalizes an unreachable
 *     registered object; one registration is used each time), and no
 *     other object gets one (only unreachable objects are finalized);
 *   - every message is taken at once and held, and its reference must be
 *     the object (checked by id and data, wherever it moved);
 *   - the objects still reachable from the roots and held messages are
 *     exactly the objects in the heap afterwards (walked), each intact
 *     with the model's edges; everything else was reclaimed.
 * mps_definalize must succeed exactly when the model has an outstanding
 * registration.  Any mismatch prints a message and aborts.
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
#include "../stress/support/gcobj.c"

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
  size_t objects;
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
  REQUIRE(w->f->recs[r].mark, "an object the model says is dead was not reclaimed");
  REQUIRE(!w->f->recs[r].found, "an object is in the heap twice");
  w->f->recs[r].found = 1;
  ff_check_obj(w->f, addr, r);
  ++w->objects;
}

/* ---- Operations ------------------------------------------------------ */

static void ff_alloc(ff_s *f, unsigned pool, unsigned slot)
{
  unsigned r, i;
  mps_addr_t p;
  size_t nrefs = pool == FF_LO ? 0 : FF_REFS;
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
  REQUIRE(gcobj_alloc(&p, f->ap[pool], f->recs[r].id, nrefs, FF_NDATA, NULL) == MPS_RES_OK,
          "allocation failed");
  ff_roots[slot] = p;
  f->roots[slot] = r;
}

static void ff_collect(ff_s *f)
{
  unsigned r, k, due = 0;
  mps_message_t m;
  ff_walk_s w;
  size_t alive = 0;

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
    mps_ap_destroy(f->ap[k]);
    REQUIRE(mps_ap_create_k(&f->ap[k], f->pool[k], mps_args_none) == MPS_RES_OK, "ap");
  }
  mps_arena_collect(f->arena);

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
    --due;
    REQUIRE(f->nheld < sizeof f->held / sizeof f->held[0], "too many held messages");
    f->held[f->nheld] = m;
    f->held_rec[f->nheld] = r;
    ++f->nheld;
  }
  REQUIRE(due == 0, "an unreachable registered object was not finalized by a full collection");

  /* Everything the roots and the messages reach survives, intact, and
   * nothing else is left in the heap. */
  ff_mark(f, 0);
  for (r = 0; r < FF_RECS; ++r) {
    f->recs[r].found = 0;
    if (f->recs[r].id != 0 && f->recs[r].mark)
      ++alive;
  }
  w.f = f;
  w.objects = 0;
  mps_arena_formatted_objects_walk(f->arena, ff_walk_step, &w, 0);
  REQUIRE(w.objects == alive, "a reachable object is missing from the heap");
  for (r = 0; r < FF_ROOTS; ++r)
    if (f->roots[r] != FF_NONE)
      ff_check_obj(f, ff_roots[r], f->roots[r]);
  for (r = 0; r < f->nheld; ++r) {
    mps_addr_t ref = NULL;
    mps_message_finalization_ref(&ref, f->arena, f->held[r]);
    ff_check_obj(f, ref, f->held_rec[r]);
  }
  /* The dead are forgotten. */
  for (r = 0; r < FF_RECS; ++r)
    if (f->recs[r].id != 0 && !f->recs[r].mark) {
      REQUIRE(f->recs[r].regs == 0, "a dead object is still registered");
      f->recs[r].id = 0;
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
      REQUIRE(mps_finalize(f->arena, &ff_roots[sa]) == MPS_RES_OK, "mps_finalize failed");
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
    ff_collect(f);
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
  ff_collect(&f);
  ff_teardown(&f);
  return 0;
}
