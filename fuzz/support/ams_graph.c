/* ams_graph.c: see ams_graph.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/mps.h"
#include "../../include/mpsavm.h"
#include "../../include/mpscams.h"
#include "../../include/mpsclo.h"
#include "ams_graph.h"
#include "model.h"

#define AG_REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

#define W sizeof(mps_word_t)
#define AG_SLOTS 16
#define AG_AMBIGS 4
#define AG_MAX_REFS 4
#define AG_MAX_OBJS 1500
#define AG_BIG_WORDS 9000   /* a leaf bigger than an LO segment */
#define AG_FREE_CHECK_EVERY 4

/* Objects: header (words << 2 | kind), then
 *   node: nrefs, refs[nrefs], id, data...
 *   leaf: id, data...
 * The data words are made from the object's salt. */
enum { AG_NODE = 0, AG_LEAF = 1 };

typedef struct ag_obj_s {
  int kind;
  unsigned nrefs, ndata;
  int ref[AG_MAX_REFS];        /* ids, -1 for null */
  mps_word_t salt;
  mps_word_t *addr;            /* where it is: AMS and LO never move */
  unsigned seen;               /* the check pass that reached it */
} ag_obj_s;

static ag_obj_s ag_objs[AG_MAX_OBJS];
static unsigned ag_count, ag_pass;
static mps_addr_t ag_slots[AG_SLOTS];     /* the exact root table */
static int ag_slot_id[AG_SLOTS];
static mps_addr_t ag_ambig[AG_AMBIGS];    /* the ambiguous root table */
static int ag_ambig_id[AG_AMBIGS];

static mps_word_t ag_data_word(mps_word_t salt, unsigned i)
{
  return salt * 0x9E3779B1u + i;
}

static size_t ag_words(const ag_obj_s *o)
{
  return o->kind == AG_NODE ? 3 + o->nrefs + o->ndata : 2 + o->ndata;
}

/* Index of the id word. */
static size_t ag_id_index(const ag_obj_s *o)
{
  return o->kind == AG_NODE ? 2 + o->nrefs : 1;
}

static mps_res_t ag_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  MPS_SCAN_BEGIN(ss) {
    mps_word_t *p = base;
    while (p < (mps_word_t *)limit) {
      if ((p[0] & 3) == AG_NODE) {
        mps_word_t i;
        for (i = 0; i < p[1]; ++i) {
          mps_addr_t ref = (mps_addr_t)p[2 + i];   /* a word: fixed through a copy */
          mps_res_t res = MPS_FIX12(ss, &ref);
          if (res != MPS_RES_OK)
            return res;
          p[2 + i] = (mps_word_t)ref;
        }
      }
      p += p[0] >> 2;
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

static mps_addr_t ag_skip(mps_addr_t addr)
{
  return (mps_word_t *)addr + (*(mps_word_t *)addr >> 2);
}

static void ag_write(ag_obj_s *o, mps_word_t *p, unsigned id)
{
  size_t i, idi = ag_id_index(o);
  p[0] = ((mps_word_t)ag_words(o) << 2) | (mps_word_t)o->kind;
  if (o->kind == AG_NODE) {
    p[1] = o->nrefs;
    for (i = 0; i < o->nrefs; ++i)
      p[2 + i] = 0;
  }
  p[idi] = id;
  for (i = 0; i < o->ndata; ++i)
    p[idi + 1 + i] = ag_data_word(o->salt, (unsigned)i);
}

static void ag_alloc(mps_ap_t ap, unsigned slot, int kind, unsigned nrefs, unsigned ndata,
                     mps_word_t salt)
{
  ag_obj_s *o;
  unsigned id, i;
  size_t bytes;
  mps_addr_t p;
  if (ag_count == AG_MAX_OBJS)
    return;
  id = ag_count++;
  o = &ag_objs[id];
  o->kind = kind;
  o->nrefs = nrefs;
  o->ndata = ndata;
  for (i = 0; i < AG_MAX_REFS; ++i)
    o->ref[i] = -1;
  o->salt = salt;
  o->seen = 0;
  bytes = ag_words(o) * W;
  do {
    AG_REQUIRE(mps_reserve(&p, ap, bytes) == MPS_RES_OK);
    ag_write(o, p, id);
  } while (!mps_commit(ap, p, bytes));
  o->addr = p;
  ag_slots[slot] = p;
  ag_slot_id[slot] = (int)id;
}

/* Mark every object reachable from `id` with the current pass; the work
 * list is bounded by the object count (each is pushed once). */
static unsigned ag_stack[AG_MAX_OBJS];
FUZZ_MODEL static unsigned ag_reach(int id, unsigned *top)
{
  unsigned n = 0;
  if (id < 0 || ag_objs[id].seen == ag_pass)
    return 0;
  ag_objs[id].seen = ag_pass;
  ag_stack[(*top)++] = (unsigned)id;
  ++n;
  while (*top > 0) {
    ag_obj_s *o = &ag_objs[ag_stack[--*top]];
    unsigned i;
    if (o->kind != AG_NODE)
      continue;
    for (i = 0; i < o->nrefs; ++i) {
      int r = o->ref[i];
      if (r >= 0 && ag_objs[r].seen != ag_pass) {
        ag_objs[r].seen = ag_pass;
        ag_stack[(*top)++] = (unsigned)r;
        ++n;
      }
    }
  }
  return n;
}

typedef struct ag_walk_s {
  mps_pool_t ams, lo;
  unsigned visited;
} ag_walk_s;

FUZZ_MODEL static void ag_walk_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  ag_walk_s *w = p;
  mps_word_t *obj = addr, id;
  ag_obj_s *o;
  (void)fmt;
  (void)s;
  AG_REQUIRE(pool == w->ams || pool == w->lo);
  AG_REQUIRE((obj[0] & 3) == (pool == w->ams ? AG_NODE : AG_LEAF));
  id = (obj[0] & 3) == AG_NODE ? obj[2 + obj[1]] : obj[1];
  AG_REQUIRE(id < ag_count);
  o = &ag_objs[id];
  AG_REQUIRE(o->addr == obj);
  AG_REQUIRE(obj[0] >> 2 == ag_words(o));
  ++w->visited;
}

/* Check the heap against the model; `exact`: nothing unreachable may be
 * left (every segment was condemned). */
FUZZ_MODEL static void ag_check(mps_arena_t arena, mps_pool_t ams, mps_pool_t lo, bool exact)
{
  unsigned k, id, reachable = 0, top = 0;
  ag_walk_s w = {ams, lo, 0};
  ++ag_pass;
  for (k = 0; k < AG_SLOTS; ++k)
    reachable += ag_reach(ag_slot_id[k], &top);
  for (k = 0; k < AG_AMBIGS; ++k)
    reachable += ag_reach(ag_ambig_id[k], &top);
  for (id = 0; id < ag_count; ++id) {
    ag_obj_s *o = &ag_objs[id];
    mps_word_t *p = o->addr;
    size_t i, idi = ag_id_index(o);
    mps_addr_t found;
    if (o->seen != ag_pass)
      continue;
    AG_REQUIRE(p[0] == (((mps_word_t)ag_words(o) << 2) | (mps_word_t)o->kind));
    AG_REQUIRE(p[idi] == id);
    for (i = 0; i < o->ndata; ++i)
      AG_REQUIRE(p[idi + 1 + i] == ag_data_word(o->salt, (unsigned)i));
    if (o->kind == AG_NODE) {
      AG_REQUIRE(p[1] == o->nrefs);
      for (i = 0; i < o->nrefs; ++i)
        AG_REQUIRE(p[2 + i] == (o->ref[i] < 0 ? 0 : (mps_word_t)ag_objs[o->ref[i]].addr));
    }
    AG_REQUIRE(mps_addr_object(&found, arena, p + ag_words(o) - 1) == MPS_RES_OK);
    AG_REQUIRE(found == p);
  }
  mps_arena_formatted_objects_walk(arena, ag_walk_step, &w, 0);
  AG_REQUIRE(w.visited >= reachable);
  if (exact)
    AG_REQUIRE(w.visited == reachable);
}

void ams_graph_run(const uint8_t *data, size_t size, int lo_heavy)
{
  mps_arena_t arena;
  mps_fmt_t ams_fmt, lo_fmt;
  mps_chain_t chain;
  mps_pool_t ams, lo;
  mps_ap_t ams_ap, lo_ap;
  mps_root_t root, aroot;
  mps_gen_param_s gens[2] = {{64, 0.8}, {256, 0.5}};
  bool parked, debug;
  size_t i, k, collections = 0;

  if (size < 1)
    return;
  parked = (data[0] & 1) != 0;
  debug = (data[0] & 2) != 0;
  ag_count = 0;
  ag_pass = 0;
  for (k = 0; k < AG_SLOTS; ++k) {
    ag_slots[k] = NULL;
    ag_slot_id[k] = -1;
  }
  for (k = 0; k < AG_AMBIGS; ++k) {
    ag_ambig[k] = NULL;
    ag_ambig_id[k] = -1;
  }

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 8 << 20);
    AG_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, W);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, ag_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, ag_skip);
    AG_REQUIRE(mps_fmt_create_k(&ams_fmt, arena, args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, W);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, ag_skip);
    AG_REQUIRE(mps_fmt_create_k(&lo_fmt, arena, args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  AG_REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, ams_fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    MPS_ARGS_ADD(args, MPS_KEY_GEN, (data[0] >> 2) & 1);
    AG_REQUIRE(mps_pool_create_k(&ams, arena, debug ? mps_class_ams_debug() : mps_class_ams(),
                                 args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, lo_fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    MPS_ARGS_ADD(args, MPS_KEY_GEN, (data[0] >> 3) & 1);
    AG_REQUIRE(mps_pool_create_k(&lo, arena, mps_class_lo(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  AG_REQUIRE(mps_ap_create_k(&ams_ap, ams, mps_args_none) == MPS_RES_OK);
  AG_REQUIRE(mps_ap_create_k(&lo_ap, lo, mps_args_none) == MPS_RES_OK);
  AG_REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, ag_slots, AG_SLOTS)
             == MPS_RES_OK);
  AG_REQUIRE(mps_root_create_table(&aroot, arena, mps_rank_ambig(), 0, ag_ambig, AG_AMBIGS)
             == MPS_RES_OK);
  if (parked)
    mps_arena_park(arena);

  for (i = 1; i + 3 <= size; i += 3) {
    unsigned op = data[i] % 8, a = data[i + 1], b = data[i + 2];
    unsigned sa = a % AG_SLOTS, sb = b % AG_SLOTS;
    int ida = ag_slot_id[sa], idb = ag_slot_id[sb];
    switch (op) {
    case 0: case 1: {    /* allocate: a node or a leaf, weighted */
      bool leaf = lo_heavy ? (op == 0 || (b & 1)) : (op == 1 && (b & 1));
      if (leaf)
        ag_alloc(lo_ap, sa, AG_LEAF, 0, b >= 250 ? AG_BIG_WORDS : b % 40, a ^ b);
      else
        ag_alloc(ams_ap, sa, AG_NODE, b % (AG_MAX_REFS + 1), (b / 5) % 6, a ^ b);
      break;
    }
    case 2: {            /* link field b/16 of the node in slot a to slot b's object */
      ag_obj_s *o;
      unsigned f;
      if (ida < 0 || ag_objs[ida].kind != AG_NODE || ag_objs[ida].nrefs == 0)
        break;
      o = &ag_objs[ida];
      f = (b / 16) % o->nrefs;
      o->ref[f] = idb;
      o->addr[2 + f] = idb < 0 ? 0 : (mps_word_t)ag_objs[idb].addr;
      break;
    }
    case 3:              /* copy a slot */
      ag_slots[sb] = ag_slots[sa];
      ag_slot_id[sb] = ida;
      break;
    case 4:              /* clear a slot */
      ag_slots[sa] = NULL;
      ag_slot_id[sa] = -1;
      break;
    case 5: {            /* an ambiguous root into slot b's object, or a stray word */
      unsigned r = a % AG_AMBIGS;
      if (idb < 0) {
        ag_ambig[r] = (b & 1) ? NULL : (mps_addr_t)(uintptr_t)(0x1000 + a);
        ag_ambig_id[r] = -1;
      } else {
        size_t words = ag_words(&ag_objs[idb]);
        ag_ambig[r] = (char *)ag_objs[idb].addr + (a / 4) % (words * W);
        ag_ambig_id[r] = idb;
      }
      break;
    }
    case 6: {            /* rewrite the data of slot a's object */
      ag_obj_s *o;
      size_t idi, d;
      if (ida < 0)
        break;
      o = &ag_objs[ida];
      o->salt = b;
      idi = ag_id_index(o);
      for (d = 0; d < o->ndata; ++d)
        o->addr[idi + 1 + d] = ag_data_word(o->salt, (unsigned)d);
      break;
    }
    default: {           /* collect, maybe with the points detached first */
      bool flush = (b & 1) != 0;
      if (flush) {
        mps_ap_destroy(ams_ap);
        mps_ap_destroy(lo_ap);
      }
      mps_arena_collect(arena);
      ag_check(arena, ams, lo, flush);
      /* The library's check of every free byte was most of a run when made
       * after every collection.  Damage to free space stays until a fill
       * hands the grains out, which checks them too, or a later check
       * here (after every AG_FREE_CHECK_EVERY-th collection, and at the
       * end) finds it; only damage in a segment freed in between is lost. */
      if (debug && collections++ % AG_FREE_CHECK_EVERY == 0)
        mps_pool_check_free_space(ams);
      if (flush) {
        AG_REQUIRE(mps_ap_create_k(&ams_ap, ams, mps_args_none) == MPS_RES_OK);
        AG_REQUIRE(mps_ap_create_k(&lo_ap, lo, mps_args_none) == MPS_RES_OK);
      }
      if (!parked)
        mps_arena_release(arena);
      break;
    }
    }
  }
  mps_ap_destroy(ams_ap);
  mps_ap_destroy(lo_ap);
  mps_arena_collect(arena);
  ag_check(arena, ams, lo, true);
  if (debug)
    mps_pool_check_free_space(ams);

  mps_root_destroy(aroot);
  mps_root_destroy(root);
  mps_pool_destroy(lo);
  mps_pool_destroy(ams);
  mps_chain_destroy(chain);
  mps_fmt_destroy(lo_fmt);
  mps_fmt_destroy(ams_fmt);
  mps_arena_destroy(arena);
}
