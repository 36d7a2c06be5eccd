/* fuzz_amc: a graph program run on an AMC pool against a model graph.
 *
 * Input: byte 0 picks the pool's class (AMC, or AMCZ, whose objects have
 * no fields) and options (MPS_KEY_INTERIOR, segment size,
 * whether the arena is parked so that only explicit collections happen,
 * whether explicit collections run under a commit limit that leaves
 * almost no room to copy, whether requests for memory may be refused).
 * Then each operation is three bytes: allocate an object into a root
 * slot, link or unlink a field, copy or clear a root slot, point an
 * ambiguous root at an object (maybe at an interior address), write an
 * object's data, or collect.  With bit 7 of byte 0, a collect whose first
 * argument byte has its top bit set first has the arena refuse its n-th
 * request for memory from then on (arena_fail_after), n being 1 + the
 * second argument byte % 64, then replaces the allocation point by a new
 * one if the first has bit 6 set, and collects unless it has bit 5 set
 * (the refusal then waits for what comes next).  The refusal may fall on an
 * allocation, the making of the point, or inside a collection (explicit,
 * or started by an allocation), which absorbs it, keeping in place what
 * it cannot copy.  Only the operation where it falls may fail, with
 * MPS_RES_MEMORY or MPS_RES_RESOURCE, and then it changes nothing the
 * model holds: an allocation leaves its slot and the graph as they were,
 * a point that could not be made leaves the old one in use.
 *
 * The heap lives behind a table of exact roots and a table of ambiguous
 * ones; every object carries its identity and data derived from it.  The
 * model is the same graph by identity.  After every collection (and at
 * the end) everything reachable from the roots in the model is checked
 * in the heap: identity, size, data and every field's referent; objects
 * held by an ambiguous root that pins them must be at the very address
 * the root holds.  mps_amc_apply must visit every reachable object, and
 * only well-formed objects and padding; mps_arena_formatted_objects_walk
 * and mps_pool_walk must visit exactly the objects it does;
 * mps_addr_object must find every reachable object from its last word;
 * and the pool's size, less its free size, must hold the reachable
 * objects.  Between collections of the world, an object in the arena's
 * top generation (src/gc/chain.h) stays where it is: after every other
 * operation, each root slot it held before that still holds the same
 * object holds it at the same address, unless a collection of the world
 * was under way or began.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../src/arena/arena.h"
#include "../src/gc/chain.h"
#include "../src/gc/seg.h"
#include "../src/gc/trace.h"
#include "../test/support/objfmt.h"
#include "support/refusal.h"

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

#define W sizeof(mps_word_t)

#define SLOTS 16
#define AMBIGS 4
#define MAX_REFS 4
#define MAX_OBJS 1500

typedef struct node_s {
  unsigned nrefs, ndata;
  int ref[MAX_REFS];       /* ids, -1 for null */
  mps_word_t salt;         /* the data words are made from it */
  unsigned seen;           /* check pass that visited it */
} node_s;

static node_s nodes[MAX_OBJS];
static unsigned node_count, pass;
static size_t reachable_bytes;       /* of the objects the last check reached */
static mps_addr_t slots[SLOTS];      /* the exact root table */
static int slot_id[SLOTS];
static mps_addr_t ambig[AMBIGS];     /* the ambiguous root table */
static int ambig_id[AMBIGS];         /* -1: holds nothing the model keeps */
static mps_word_t ambig_base[AMBIGS];
static bool interior;
static Count countdown;              /* arena_fail_after's count before this op */

/* Objects are in test/support/objfmt.h's format: header, nrefs,
 * refs[nrefs], id, data[ndata - 1].  Forward and pad are the shared
 * methods, after checking what the collector promises to call them with. */
static void fz_fwd(mps_addr_t old, mps_addr_t new_addr)
{
  REQUIRE(OBJFMT_TYPE(*(mps_word_t *)old) == OBJFMT_T_OBJ);
  objfmt_fwd(old, new_addr);
}

static void fz_pad(mps_addr_t addr, size_t size)
{
  REQUIRE(size >= W && size % W == 0);
  objfmt_pad(addr, size);
}

static mps_word_t fz_data(const node_s *n, unsigned i)
{
  return n->salt * 2654435761u + i;
}

static mps_word_t *fz_id_word(objfmt_obj obj) { return &obj->slot[obj->nrefs]; }

/* Whether the object at p is in the arena's top generation. */
static bool fz_in_top(mps_arena_t arena, mps_addr_t p)
{
  Arena a = (Arena)arena;
  Seg seg;
  bool in_top;
  arena_enter(a);
  in_top = a->gc->top_chain != NULL && seg_of_addr(&seg, a, (Addr)p) && seg->gen != NULL
           && seg->gen->chain == a->gc->top_chain;
  arena_leave(a);
  return in_top;
}

/* Collections of the world begun so far, counting one under way (whose
 * objects may still move) as not yet over: +1 while it runs. */
static Count fz_worlds(mps_arena_t arena)
{
  Arena a = (Arena)arena;
  Trace trace;
  Count n;
  arena_enter(a);
  trace = trace_current(a);
  n = a->gc->top_chain == NULL ? 0 : a->gc->top_chain->gens[0].collections;
  if (trace != NULL && trace->how == TRACE_CONDEMN_ALL)
    n += 1u << 20;   /* never equal to a count taken when none runs */
  arena_leave(a);
  return n;
}

/* The object is well formed, has identity id and the model's data. */
static void fz_check_obj(objfmt_obj obj, int id)
{
  node_s *n = &nodes[id];
  unsigned i;
  REQUIRE(obj != NULL && ((mps_word_t)obj & (W - 1)) == 0);
  REQUIRE(OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ);
  REQUIRE(obj->nrefs == n->nrefs);
  REQUIRE(OBJFMT_WORDS(obj->header) == 2 + n->nrefs + n->ndata);
  REQUIRE(*fz_id_word(obj) == (mps_word_t)id);
  for (i = 1; i < n->ndata; ++i)
    REQUIRE(fz_id_word(obj)[i] == fz_data(n, i));
}

/* Check everything reachable from (obj, id); iterative, with an explicit
 * stack bounded by the number of objects. */
static size_t fz_check_from(objfmt_obj root, int root_id)
{
  static objfmt_obj stack_obj[MAX_OBJS];
  static int stack_id[MAX_OBJS];
  size_t sp = 0, visited = 0;
  if (nodes[root_id].seen == pass)
    return 0;
  nodes[root_id].seen = pass;
  stack_obj[sp] = root;
  stack_id[sp++] = root_id;
  while (sp > 0) {
    objfmt_obj obj = stack_obj[--sp];
    int id = stack_id[sp];
    unsigned i;
    fz_check_obj(obj, id);
    ++visited;
    reachable_bytes += (2 + nodes[id].nrefs + nodes[id].ndata) * W;
    for (i = 0; i < nodes[id].nrefs; ++i) {
      int child = nodes[id].ref[i];
      objfmt_obj cobj = (objfmt_obj)obj->slot[i];
      if (child < 0) {
        REQUIRE(cobj == NULL);
        continue;
      }
      fz_check_obj(cobj, child);
      if (nodes[child].seen != pass) {
        nodes[child].seen = pass;
        REQUIRE(sp < MAX_OBJS);
        stack_obj[sp] = cobj;
        stack_id[sp++] = child;
      }
    }
  }
  return visited;
}

typedef struct walk_s {
  size_t objects;
  mps_pool_t pool;
} walk_s;

static void fz_apply_step(mps_addr_t addr, void *p, size_t s)
{
  walk_s *w = p;
  objfmt_obj obj = addr;
  (void)s;
  if (OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ) {
    REQUIRE(obj->nrefs <= MAX_REFS);
    REQUIRE(OBJFMT_WORDS(obj->header) >= 3 + obj->nrefs);
    REQUIRE(*fz_id_word(obj) < node_count);
    ++w->objects;
  } else {
    REQUIRE(OBJFMT_TYPE(obj->header) == OBJFMT_T_PAD);
  }
}

/* The arena's walk: this pool's objects, the same as the pool's, and
 * perhaps padding (deprecated.rst leaves that to the pool class). */
static void fz_walk_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  walk_s *w = p;
  int type = OBJFMT_TYPE(((objfmt_obj)addr)->header);
  (void)fmt;
  (void)s;
  REQUIRE(pool == w->pool);
  REQUIRE(type == OBJFMT_T_OBJ || type == OBJFMT_T_PAD);
  if (type == OBJFMT_T_OBJ)
    ++w->objects;
}

/* The pool's walk hands over areas, which hold objects and padding. */
static mps_res_t fz_area_step(mps_ss_t ss, void *base, void *limit, void *closure)
{
  walk_s *w = closure;
  mps_addr_t p = base;
  (void)ss;
  REQUIRE(base < limit);
  while (p < limit) {
    objfmt_obj obj = p;
    REQUIRE(OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ
            || OBJFMT_TYPE(obj->header) == OBJFMT_T_PAD);
    if (OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ)
      ++w->objects;
    p = objfmt_skip(p);
  }
  REQUIRE(p == limit);
  return MPS_RES_OK;
}

/* From every root slot's last word, mps_addr_object finds its object. */
static void fz_check_addr_object(mps_arena_t arena)
{
  size_t k;
  mps_addr_t found;
  for (k = 0; k < SLOTS; ++k) {
    if (slot_id[k] >= 0) {
      const node_s *n = &nodes[slot_id[k]];
      char *last = (char *)slots[k] + (1 + n->nrefs + n->ndata) * W;
      REQUIRE(mps_addr_object(&found, arena, last) == MPS_RES_OK);
      REQUIRE(found == slots[k]);
    }
  }
  /* Memory the arena does not manage holds no object. */
  REQUIRE(mps_addr_object(&found, arena, &found) != MPS_RES_OK);
}

static void fz_check_all(mps_arena_t arena, mps_pool_t pool, bool parked)
{
  size_t k, reachable = 0, total, free_size;
  walk_s w = {0}, aw = {0, pool}, pw = {0, pool};
  ++pass;
  reachable_bytes = 0;
  for (k = 0; k < AMBIGS; ++k)
    if (ambig_id[k] >= 0)
      reachable += fz_check_from((objfmt_obj)ambig_base[k], ambig_id[k]);
  for (k = 0; k < SLOTS; ++k) {
    if (slot_id[k] < 0)
      REQUIRE(slots[k] == NULL);
    else
      reachable += fz_check_from(slots[k], slot_id[k]);
  }
  mps_arena_park(arena);
  mps_amc_apply(pool, fz_apply_step, &w, 0);
  REQUIRE(w.objects >= reachable);
  mps_arena_formatted_objects_walk(arena, fz_walk_step, &aw, 0);
  REQUIRE(aw.objects == w.objects);
  REQUIRE(mps_pool_walk(pool, fz_area_step, &pw) == MPS_RES_OK);
  REQUIRE(pw.objects == w.objects);
  fz_check_addr_object(arena);
  total = mps_pool_total_size(pool);
  free_size = mps_pool_free_size(pool);
  REQUIRE(free_size <= total && total - free_size >= reachable_bytes);
  if (!parked)
    mps_arena_release(arena);
}

/* A request refused during this operation: it must be the one
 * arena_fail_after was asked to refuse, and its result must say so. */
static void fz_refused(mps_arena_t arena, mps_res_t res)
{
  REQUIRE(refusal_fell(arena, countdown));
  REQUIRE(refusal_result(res));
}

/* Allocate an object for the next node and store it in slots[s] at once;
 * if the arena refuses, the node is not made. */
static void fz_alloc(mps_arena_t arena, mps_ap_t ap, unsigned s, unsigned nrefs,
                     unsigned ndata)
{
  int id = (int)node_count;
  node_s *n = &nodes[id];
  size_t words = 2 + nrefs + ndata, i;
  mps_addr_t p;
  n->nrefs = nrefs;
  n->ndata = ndata;
  n->salt = (mps_word_t)id * 3u + 1u;
  n->seen = 0;
  for (i = 0; i < MAX_REFS; ++i)
    n->ref[i] = -1;
  do {
    objfmt_obj obj;
    mps_res_t res = mps_reserve(&p, ap, words * W);
    if (res != MPS_RES_OK) {
      fz_refused(arena, res);
      return;
    }
    obj = p;
    obj->header = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    obj->nrefs = nrefs;
    for (i = 0; i < nrefs; ++i)
      obj->slot[i] = 0;
    *fz_id_word(obj) = (mps_word_t)id;
    for (i = 1; i < ndata; ++i)
      fz_id_word(obj)[i] = fz_data(n, (unsigned)i);
  } while (!mps_commit(ap, p, words * W));
  ++node_count;
  slots[s] = p;
  slot_id[s] = id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_root_t root, aroot;
  mps_gen_param_s gens[2] = {{32, 0.8}, {128, 0.5}};
  bool parked, tight, zero, refusals;
  size_t i, k;

  if (size < 1)
    return 0;
  interior = (data[0] & 1) != 0;
  parked = (data[0] & 4) != 0;
  tight = (data[0] & 8) != 0;
  zero = (data[0] & 16) != 0;   /* AMCZ: no object has fields */
  refusals = (data[0] & 128) != 0;
  node_count = 0;
  pass = 0;
  for (k = 0; k < SLOTS; ++k) {
    slots[k] = NULL;
    slot_id[k] = -1;
  }
  for (k = 0; k < AMBIGS; ++k) {
    ambig[k] = NULL;
    ambig_id[k] = -1;
    ambig_base[k] = 0;
  }

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 4 << 20);
    REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, W);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, objfmt_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, objfmt_skip);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_FWD, fz_fwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ISFWD, objfmt_isfwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, fz_pad);
    REQUIRE(mps_fmt_create_k(&fmt, arena, args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    MPS_ARGS_ADD(args, MPS_KEY_INTERIOR, interior);
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, (data[0] & 2) ? 4096 : 16384);
    REQUIRE(mps_pool_create_k(&pool, arena, zero ? mps_class_amcz() : mps_class_amc(), args)
            == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(mps_ap_create_k(&ap, pool, mps_args_none) == MPS_RES_OK);
  REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, slots, SLOTS)
          == MPS_RES_OK);
  REQUIRE(mps_root_create_table(&aroot, arena, mps_rank_ambig(), 0, ambig, AMBIGS)
          == MPS_RES_OK);
  if (parked)
    mps_arena_park(arena);

  for (i = 1; i + 3 <= size; i += 3) {
    unsigned op = data[i] % 8, a = data[i + 1], b = data[i + 2];
    unsigned sa = a % SLOTS, sb = b % SLOTS;
    mps_addr_t top_addr[SLOTS];   /* slots holding a top object, else NULL */
    int top_id[SLOTS];
    Count worlds = fz_worlds(arena);
    for (k = 0; k < SLOTS; ++k) {
      top_addr[k] = slot_id[k] >= 0 && fz_in_top(arena, slots[k]) ? slots[k] : NULL;
      top_id[k] = slot_id[k];
    }
    countdown = refusal_countdown(arena);
    switch (op) {
    case 0:
    case 1:   /* allocate; big objects now and then */
      if (node_count < MAX_OBJS)
        fz_alloc(arena, ap, sa, zero ? 0 : b % (MAX_REFS + 1),
                 1 + (b / 5) % 6 + (op == 1 && b > 240 ? 3000 : 0));
      break;
    case 2:   /* link slots[sa].ref[f] = slots[sb] */
      if (slot_id[sa] >= 0 && nodes[slot_id[sa]].nrefs > 0) {
        unsigned f = (a / SLOTS) % nodes[slot_id[sa]].nrefs;
        ((objfmt_obj)slots[sa])->slot[f] = (mps_word_t)slots[sb];
        nodes[slot_id[sa]].ref[f] = slot_id[sb];
      }
      break;
    case 3:   /* unlink */
      if (slot_id[sa] >= 0 && nodes[slot_id[sa]].nrefs > 0) {
        unsigned f = (b % MAX_REFS) % nodes[slot_id[sa]].nrefs;
        ((objfmt_obj)slots[sa])->slot[f] = 0;
        nodes[slot_id[sa]].ref[f] = -1;
      }
      break;
    case 4:   /* copy a root, or drop one */
      if (a & 0x80) {
        slots[sb] = NULL;
        slot_id[sb] = -1;
      } else {
        slots[sb] = slots[sa];
        slot_id[sb] = slot_id[sa];
      }
      break;
    case 5: { /* an ambiguous root: at the object, inside it, or cleared */
      unsigned k2 = b % AMBIGS, where = (b / AMBIGS) % 4;
      if (slot_id[sa] < 0 || where == 3) {
        ambig[k2] = (a & 0x80) ? (void *)(uintptr_t)(a * 0x10001u) : NULL;   /* stray */
        ambig_id[k2] = -1;
      } else {
        size_t words = 2 + nodes[slot_id[sa]].nrefs + nodes[slot_id[sa]].ndata;
        size_t off = where == 0 ? 0 : where == 1 ? (words - 1) * W : W + 1;
        ambig[k2] = (char *)slots[sa] + off;
        ambig_base[k2] = (mps_word_t)slots[sa];
        /* Only pointers that pin keep the object alive in the model. */
        ambig_id[k2] = (off == 0 || interior) ? slot_id[sa] : -1;
      }
      break;
    }
    case 6: { /* collect; perhaps refuse a request, renew the point first */
      size_t limit = mps_arena_commit_limit(arena);
      if (refusals && (a & 0x80)) {
        arena_fail_after((Arena)arena, (Count)(b % 64) + 1);
        countdown = refusal_countdown(arena);
        if (a & 0x40) {
          mps_ap_t fresh;
          mps_res_t res = mps_ap_create_k(&fresh, pool, mps_args_none);
          if (res == MPS_RES_OK) {
            mps_ap_destroy(ap);
            ap = fresh;
          } else {
            fz_refused(arena, res);
          }
        }
        if (a & 0x20)
          break;
      }
      if (tight)
        (void)mps_arena_commit_limit_set(arena, mps_arena_committed(arena) + 16384);
      mps_arena_collect(arena);
      if (tight)
        REQUIRE(mps_arena_commit_limit_set(arena, limit) == MPS_RES_OK);
      if (!parked)
        mps_arena_release(arena);
      fz_check_all(arena, pool, parked);
      break;
    }
    case 7:   /* rewrite an object's data (same values: the model keeps them) */
      if (slot_id[sa] >= 0) {
        node_s *n = &nodes[slot_id[sa]];
        unsigned j;
        for (j = 1; j < n->ndata; ++j)
          fz_id_word((objfmt_obj)slots[sa])[j] = fz_data(n, j);
      }
      break;
    }
    if (op != 6 && fz_worlds(arena) == worlds)
      for (k = 0; k < SLOTS; ++k)
        if (top_addr[k] != NULL && slot_id[k] == top_id[k])
          REQUIRE(slots[k] == top_addr[k]);
  }
  arena_fail_after((Arena)arena, 0);
  mps_arena_collect(arena);
  fz_check_all(arena, pool, true);

  mps_root_destroy(aroot);
  mps_root_destroy(root);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
