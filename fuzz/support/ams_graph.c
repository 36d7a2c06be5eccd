/* ams_graph.c: see ams_graph.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/mps.h"
#include "../../include/mpsavm.h"
#include "../../include/mpscams.h"
#include "../../include/mpsclo.h"
#include "../../include/mpslib.h"
#include "../../src/arena/arena.h"
#include "ams_graph.h"
#include "model.h"
#include "refusal.h"

#define AG_REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

#define W sizeof(mps_word_t)
#define AG_SLOTS 16
#define AG_AMBIGS 4
#define AG_MAX_REFS 4
#define AG_MAX_OBJS 1500
#define AG_BIG_WORDS 9000   /* a leaf bigger than an LO segment */
#define AG_FREE_CHECK_EVERY 4
#define AG_MEDIUM_WORDS 700  /* a step of a node's size; 12 of them pass a segment */
#define AG_MEDIUM_MAX 16     /* medium and big nodes a run may make */

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
  unsigned walked;             /* the check pass whose walk visited it */
  bool freed;                  /* reclaimed by a collection of everything */
} ag_obj_s;

static ag_obj_s ag_objs[AG_MAX_OBJS];
static unsigned ag_count, ag_pass;
static mps_addr_t ag_slots[AG_SLOTS];     /* the exact root table */
static int ag_slot_id[AG_SLOTS];
static mps_addr_t ag_ambig[AG_AMBIGS];    /* the ambiguous root table */
static int ag_ambig_id[AG_AMBIGS];
/* >= 0: the word was in no object when stored (a free grain, a buffer's
 * unused region): it keeps whatever object is allocated over it later,
 * one with an id at least this. */
static int ag_ambig_from[AG_AMBIGS];
static bool ag_ambig_ok;                  /* the AMS pool accepts them */
static unsigned ag_mediums;
static mps_arena_t ag_arena;
static mps_pool_t ag_ams, ag_lo;
static size_t ag_template_size;           /* the AMS debug pool's free template */
static const unsigned char *ag_template;

/* What the assertion handler saw while one was installed. */
static unsigned ag_reports;
static char ag_report[128];

/* arena_fail_after's countdown when the operation began: a request was
 * refused during it if that was not 0 and the countdown is 0 now. */
static Count ag_before;

static bool ag_fell(void)
{
  return refusal_fell(ag_arena, ag_before);
}

/* Something failed: only the refused request excuses it, and only with a
 * result that says memory or address space ran out. */
static void ag_refused(mps_res_t res)
{
  AG_REQUIRE(ag_fell());
  AG_REQUIRE(refusal_result(res));
}

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

/* Allocate into the slot; false (and nothing in the model) when the
 * reserve fails, which only `may_fail` (any shortage) or a refusal that
 * fell in this operation allows: *res_o says why. */
static bool ag_alloc(mps_ap_t ap, unsigned slot, int kind, unsigned nrefs, unsigned ndata,
                     mps_word_t salt, bool may_fail, mps_res_t *res_o)
{
  ag_obj_s *o;
  unsigned id, i;
  size_t bytes;
  mps_addr_t p;
  if (ag_count == AG_MAX_OBJS)
    return false;
  id = ag_count;
  o = &ag_objs[id];
  o->kind = kind;
  o->nrefs = nrefs;
  o->ndata = ndata;
  for (i = 0; i < AG_MAX_REFS; ++i)
    o->ref[i] = -1;
  o->salt = salt;
  o->seen = 0;
  o->walked = 0;
  o->freed = false;
  bytes = ag_words(o) * W;
  do {
    mps_res_t res = mps_reserve(&p, ap, bytes);
    if (res != MPS_RES_OK) {
      if (!may_fail)
        ag_refused(res);
      *res_o = res;
      return false;
    }
    ag_write(o, p, id);
  } while (!mps_commit(ap, p, bytes));
  ++ag_count;
  o->addr = p;
  ag_slots[slot] = p;
  ag_slot_id[slot] = (int)id;
  return true;
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

/* The latest object with an id >= from whose memory holds `addr` (the one
 * there now, if any is), or -1. */
FUZZ_MODEL static int ag_cover(mps_addr_t addr, unsigned from)
{
  unsigned id;
  for (id = ag_count; id-- > from;) {
    const ag_obj_s *o = &ag_objs[id];
    if ((mps_word_t *)addr >= o->addr && (mps_word_t *)addr < o->addr + ag_words(o))
      return (int)id;
  }
  return -1;
}

/* A new pass marking what the model says is reachable; the count. */
FUZZ_MODEL static unsigned ag_mark_reachable(void)
{
  unsigned k, reachable = 0, top = 0;
  ++ag_pass;
  for (k = 0; k < AG_SLOTS; ++k)
    reachable += ag_reach(ag_slot_id[k], &top);
  for (k = 0; k < AG_AMBIGS; ++k) {
    reachable += ag_reach(ag_ambig_id[k], &top);
    if (ag_ambig_from[k] >= 0)
      reachable += ag_reach(ag_cover(ag_ambig[k], (unsigned)ag_ambig_from[k]), &top);
  }
  return reachable;
}

typedef struct ag_walk_s {
  mps_pool_t ams, lo;
  unsigned visited;
  bool mark;                   /* note each object visited, once, in this pass */
} ag_walk_s;

/* One object the walks found: it is in the model, at its address, of its
 * pool's kind; the model's record. */
FUZZ_MODEL static ag_obj_s *ag_walk_obj(const mps_word_t *obj, bool in_ams)
{
  mps_word_t id;
  ag_obj_s *o;
  AG_REQUIRE((obj[0] & 3) == (in_ams ? AG_NODE : AG_LEAF));
  id = (obj[0] & 3) == AG_NODE ? obj[2 + obj[1]] : obj[1];
  AG_REQUIRE(id < ag_count);
  o = &ag_objs[id];
  AG_REQUIRE(o->addr == obj && !o->freed);
  AG_REQUIRE(obj[0] >> 2 == ag_words(o));
  return o;
}

FUZZ_MODEL static void ag_walk_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  ag_walk_s *w = p;
  ag_obj_s *o;
  (void)fmt;
  (void)s;
  AG_REQUIRE(pool == w->ams || pool == w->lo);
  o = ag_walk_obj(addr, pool == w->ams);
  if (w->mark) {
    AG_REQUIRE(o->walked != ag_pass);
    o->walked = ag_pass;
  }
  ++w->visited;
}

/* mps_pool_walk's areas: each a run of whole objects of the pool. */
typedef struct ag_area_s {
  bool in_ams;
  unsigned visited;
} ag_area_s;

FUZZ_MODEL static mps_res_t ag_area_step(mps_ss_t ss, void *base, void *limit, void *closure)
{
  ag_area_s *a = closure;
  mps_word_t *p = base;
  (void)ss;
  AG_REQUIRE(p < (mps_word_t *)limit);
  while (p < (mps_word_t *)limit) {
    (void)ag_walk_obj(p, a->in_ams);
    ++a->visited;
    p += p[0] >> 2;
  }
  AG_REQUIRE(p == limit);
  return MPS_RES_OK;
}

/* The pool's in-use bytes against what the model says is in it:
 * everything reachable at least, and (exact) nothing else. */
FUZZ_MODEL static void ag_check_sizes(mps_pool_t pool, size_t reachable_bytes, bool exact)
{
  size_t total = mps_pool_total_size(pool), free = mps_pool_free_size(pool);
  AG_REQUIRE(free <= total);
  AG_REQUIRE(total - free >= reachable_bytes);
  if (exact)
    AG_REQUIRE(total - free == reachable_bytes);
}

/* An object's memory as the model says it is: header, identity, data
 * and fields. */
FUZZ_MODEL static void ag_check_intact(const ag_obj_s *o, unsigned id)
{
  mps_word_t *p = o->addr;
  size_t i, idi = ag_id_index(o);
  AG_REQUIRE(p[0] == (((mps_word_t)ag_words(o) << 2) | (mps_word_t)o->kind));
  AG_REQUIRE(p[idi] == id);
  for (i = 0; i < o->ndata; ++i)
    AG_REQUIRE(p[idi + 1 + i] == ag_data_word(o->salt, (unsigned)i));
  if (o->kind == AG_NODE) {
    AG_REQUIRE(p[1] == o->nrefs);
    for (i = 0; i < o->nrefs; ++i)
      AG_REQUIRE(p[2 + i] == (o->ref[i] < 0 ? 0 : (mps_word_t)ag_objs[o->ref[i]].addr));
  }
}

/* Check the heap against the model.  `exact`: right after a collection,
 * which condemns every segment (those buffers are filling too), so
 * nothing unreachable may be left -- unless `refused`: a request for
 * memory was refused during it, and it may have kept objects the model
 * calls dead (a collection it could not start keeps them all).  Each
 * kept object must be intact, and what it refers to kept with it (its
 * references are as good as any); a later collection that no refusal
 * falls on must reclaim it.  The objects the walk does not find are
 * reclaimed.  `detached`: no
 * buffer is attached either, so the pools' in-use bytes are the objects'
 * alone, the kept ones' included. */
FUZZ_MODEL static void ag_check(mps_arena_t arena, mps_pool_t ams, mps_pool_t lo, bool exact,
                                bool detached, bool refused)
{
  unsigned id, reachable, kept = 0;
  size_t bytes[2] = {0, 0};
  ag_walk_s w = {ams, lo, 0, true};
  reachable = ag_mark_reachable();
  for (id = 0; id < ag_count; ++id) {
    ag_obj_s *o = &ag_objs[id];
    mps_word_t *p = o->addr;
    mps_addr_t found;
    if (o->seen != ag_pass)
      continue;
    AG_REQUIRE(!o->freed);
    bytes[o->kind] += ag_words(o) * W;
    ag_check_intact(o, id);
    AG_REQUIRE(mps_addr_object(&found, arena, p + ag_words(o) - 1) == MPS_RES_OK);
    AG_REQUIRE(found == p);
  }
  mps_arena_formatted_objects_walk(arena, ag_walk_step, &w, 0);
  AG_REQUIRE(w.visited >= reachable);
  if (exact) {
    for (id = 0; id < ag_count; ++id) {
      ag_obj_s *o = &ag_objs[id];
      unsigned i;
      if (o->seen == ag_pass) {
        AG_REQUIRE(o->walked == ag_pass);
        continue;
      }
      if (o->walked != ag_pass) {
        o->freed = true;
        continue;
      }
      AG_REQUIRE(refused);
      ++kept;
      bytes[o->kind] += ag_words(o) * W;
      ag_check_intact(o, id);
      for (i = 0; i < o->nrefs; ++i)
        AG_REQUIRE(o->ref[i] < 0 || ag_objs[o->ref[i]].walked == ag_pass);
    }
    AG_REQUIRE(w.visited == reachable + kept);
  }
  ag_check_sizes(ams, bytes[AG_NODE], detached);
  ag_check_sizes(lo, bytes[AG_LEAF], detached);
}

/* Both walks must find the same objects (the arena is parked). */
FUZZ_MODEL static void ag_check_pool_walk(mps_arena_t arena, mps_pool_t ams, mps_pool_t lo)
{
  ag_walk_s w = {ams, lo, 0, false};
  ag_area_s a_ams = {true, 0}, a_lo = {false, 0};
  AG_REQUIRE(mps_pool_walk(ams, ag_area_step, &a_ams) == MPS_RES_OK);
  AG_REQUIRE(mps_pool_walk(lo, ag_area_step, &a_lo) == MPS_RES_OK);
  mps_arena_formatted_objects_walk(arena, ag_walk_step, &w, 0);
  AG_REQUIRE(a_ams.visited + a_lo.visited == w.visited);
}

/* mps_addr_object at `addr`: the object there if it is reachable, none
 * where no object is, either where a dead one may not be reclaimed yet.
 * Call after ag_mark_reachable. */
FUZZ_MODEL static void ag_probe(mps_arena_t arena, mps_addr_t addr)
{
  int cov = ag_cover(addr, 0);
  mps_addr_t found;
  mps_res_t res = mps_addr_object(&found, arena, addr);
  if (cov >= 0 && ag_objs[cov].seen == ag_pass)
    AG_REQUIRE(res == MPS_RES_OK && found == ag_objs[cov].addr);
  else if (cov < 0 || ag_objs[cov].freed)
    AG_REQUIRE(res != MPS_RES_OK);
  else if (res == MPS_RES_OK)
    AG_REQUIRE(found == ag_objs[cov].addr);
}

static bool ag_in_pool(mps_addr_t addr, mps_pool_t pool)
{
  mps_pool_t p;
  return mps_addr_pool(&p, ag_arena, addr) && p == pool;
}

/* Point ambiguous root r at `addr`: into a reachable object, or where no
 * object is (it then keeps what is allocated there later).  Not into a
 * dead object that may not be reclaimed yet: that would revive objects
 * its references no longer keep.  When the AMS pool takes no ambiguous
 * references, only into a reachable LO object: the root keeps that
 * object, so its grains stay LO's, whereas a place where no object is
 * may become the AMS pool's by the next collection (fuzz_lo found an
 * ambiguous root past an LO object's end that a new AMS segment later
 * covered). */
static void ag_set_ambig(unsigned r, mps_addr_t addr)
{
  int cov;
  if (!ag_ambig_ok && ag_in_pool(addr, ag_ams))
    return;
  ag_mark_reachable();
  cov = ag_cover(addr, 0);
  if (!ag_ambig_ok && !(cov >= 0 && ag_objs[cov].seen == ag_pass))
    return;
  if (cov >= 0 && ag_objs[cov].seen == ag_pass) {
    ag_ambig_id[r] = cov;
    ag_ambig_from[r] = -1;
  } else if (cov < 0 || ag_objs[cov].freed) {
    ag_ambig_id[r] = -1;
    ag_ambig_from[r] = (int)ag_count;
  } else {
    return;
  }
  ag_ambig[r] = addr;
}

static void ag_record(const char *file, unsigned line, const char *condition)
{
  (void)file;
  (void)line;
  ++ag_reports;
  snprintf(ag_report, sizeof ag_report, "%s", condition);
}

/* A byte written into a free grain of the debugging pool must be reported
 * by mps_pool_check_free_space, once, at its address.  No buffer is
 * attached (the caller detached them) and the arena is parked, so a grain
 * no object is in (nor a dead one that may not be reclaimed) is free and
 * stays so. */
static void ag_damage(mps_addr_t addr)
{
  int cov;
  unsigned char *b = addr, old;
  mps_lib_assert_fail_t prev;
  char want[sizeof ag_report];
  if (ag_template_size == 0 || !ag_in_pool(addr, ag_ams))
    return;
  cov = ag_cover(addr, 0);
  if (cov >= 0 && !ag_objs[cov].freed)
    return;
  /* The template is laid by address. */
  AG_REQUIRE(*b == ag_template[(uintptr_t)b % ag_template_size]);
  old = *b;
  ag_reports = 0;
  prev = mps_lib_assert_fail_install(ag_record);
  *b = (unsigned char)(old ^ 0xFF);
  mps_pool_check_free_space(ag_ams);
  *b = old;
  mps_lib_assert_fail_install(prev);
  snprintf(want, sizeof want, "free space overwritten at 0x%lx (1 bytes)",
           (unsigned long)(uintptr_t)b);
  AG_REQUIRE(ag_reports == 1 && strcmp(ag_report, want) == 0);
}

/* Pool creations the engine must refuse, leaving nothing behind (the
 * format and chain are destroyed at the end of the run, which fails if
 * a refusal kept a reference). */
static void ag_refusals(mps_arena_t arena, mps_fmt_t ams_fmt, mps_fmt_t lo_fmt, mps_chain_t chain)
{
  mps_pool_debug_option_s bad = {NULL, 0, NULL, 4};
  mps_lib_assert_fail_t prev = mps_lib_assert_fail_install(ag_record);
  mps_pool_t pool;
  unsigned k;
  ag_reports = 0;
  for (k = 0; k < 7; ++k) {
    unsigned before = ag_reports;
    bool debug = k >= 4;
    mps_res_t res;
    MPS_ARGS_BEGIN(args) {
      if (k != 0 && k != 4)
        MPS_ARGS_ADD(args, MPS_KEY_FORMAT, k == 1 ? lo_fmt : ams_fmt);
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, k == 2 ? NULL : chain);
      if (k == 3)
        MPS_ARGS_ADD(args, MPS_KEY_GEN, 7);
      if (k == 5)
        MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, NULL);
      if (k == 6)
        MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, &bad);
      res = mps_pool_create_k(&pool, arena, debug ? mps_class_ams_debug() : mps_class_ams(), args);
    } MPS_ARGS_END(args);
    AG_REQUIRE(res == MPS_RES_PARAM);
    /* No format, or one without a scan method: refused silently; the
     * rest are client errors, reported. */
    AG_REQUIRE((ag_reports > before) == (k != 0 && k != 1 && k != 4));
  }
  mps_lib_assert_fail_install(prev);
  /* A template too big for the control memory there is room for: the
   * commit limit is kept, and a refusal leaves nothing. */
  {
    static unsigned char big[1 << 16];
    mps_pool_debug_option_s options = {NULL, 0, big, sizeof big};
    size_t committed = mps_arena_committed(arena);
    mps_res_t res;
    AG_REQUIRE(mps_arena_commit_limit_set(arena, committed) == MPS_RES_OK);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, ams_fmt);
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
      MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, &options);
      res = mps_pool_create_k(&pool, arena, mps_class_ams_debug(), args);
    } MPS_ARGS_END(args);
    AG_REQUIRE(mps_arena_committed(arena) <= committed);
    AG_REQUIRE(res == MPS_RES_OK || res == MPS_RES_COMMIT_LIMIT || res == MPS_RES_RESOURCE
               || res == MPS_RES_MEMORY);
    if (res == MPS_RES_OK)
      mps_pool_destroy(pool);
    AG_REQUIRE(mps_arena_commit_limit_set(arena, (size_t)-1) == MPS_RES_OK);
  }
}

/* An allocation point of ambiguous rank: the pool must take it exactly
 * when it supports ambiguous references (or NULL, when a refusal fell on
 * it).  Its nodes' fields are scanned ambiguously, so they keep what they
 * refer to as exact ones do. */
static mps_ap_t ag_ambig_point(mps_pool_t ams)
{
  mps_ap_t ap = NULL;
  mps_res_t res;
  mps_lib_assert_fail_t prev = mps_lib_assert_fail_install(ag_record);
  ag_reports = 0;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    res = mps_ap_create_k(&ap, ams, args);
  } MPS_ARGS_END(args);
  mps_lib_assert_fail_install(prev);
  if (ag_ambig_ok && res != MPS_RES_OK) {
    ag_refused(res);
    return NULL;
  }
  AG_REQUIRE((res == MPS_RES_OK) == ag_ambig_ok);
  AG_REQUIRE(ag_ambig_ok || (res == MPS_RES_PARAM && ag_reports == 1));
  return res == MPS_RES_OK ? ap : NULL;
}

/* The run makes an ambiguous-rank point (the pool took it). */
static bool ag_has_ambig_point;

/* The allocation point in *ap_io, made again if a refusal left it
 * unmade; NULL if a refusal falls on that too. */
static mps_ap_t ag_point(mps_ap_t *ap_io, mps_pool_t pool, bool ambig)
{
  if (*ap_io == NULL) {
    if (ambig) {
      *ap_io = ag_ambig_point(pool);
    } else {
      mps_res_t res = mps_ap_create_k(ap_io, pool, mps_args_none);
      if (res != MPS_RES_OK) {
        ag_refused(res);
        *ap_io = NULL;
      }
    }
  }
  return *ap_io;
}

/* Detach the allocation points (the ambiguous one if there is one), and
 * make them again, so that what their buffers held is committed space. */
static void ag_points_destroy(mps_ap_t ams_ap, mps_ap_t lo_ap, mps_ap_t ambig_ap)
{
  if (ams_ap != NULL)
    mps_ap_destroy(ams_ap);
  if (lo_ap != NULL)
    mps_ap_destroy(lo_ap);
  if (ambig_ap != NULL)
    mps_ap_destroy(ambig_ap);
}

static void ag_points_create(mps_ap_t *ams_ap_o, mps_ap_t *lo_ap_o, mps_ap_t *ambig_ap_o,
                             mps_pool_t ams, mps_pool_t lo)
{
  *ams_ap_o = NULL;
  *lo_ap_o = NULL;
  *ambig_ap_o = NULL;
  (void)ag_point(ams_ap_o, ams, false);
  (void)ag_point(lo_ap_o, lo, false);
  if (ag_has_ambig_point)
    (void)ag_point(ambig_ap_o, ams, true);
}

void ams_graph_run(const uint8_t *data, size_t size, int lo_heavy)
{
  static const unsigned char custom_tpl[5] = {0x66, 0x52, 0x65, 0x65, 0x21};
  static const unsigned char default_tpl[4] = {0x46, 0x52, 0x45, 0x45};   /* the library's */
  mps_arena_t arena;
  mps_fmt_t ams_fmt, lo_fmt;
  mps_chain_t chain;
  mps_pool_t ams, lo;
  mps_ap_t ams_ap, lo_ap, ambig_ap = NULL;
  mps_root_t root, aroot;
  mps_gen_param_s gens[2] = {{64, 0.8}, {256, 0.5}};
  mps_pool_debug_option_s options = {NULL, 0, custom_tpl, sizeof custom_tpl};
  bool parked, debug, set_ambig, alt;
  size_t i, k, collections = 0;

  if (size < 1)
    return;
  parked = (data[0] & 1) != 0;
  debug = (data[0] & 2) != 0;
  set_ambig = (data[0] & 0x10) != 0;
  alt = (data[0] & 0x40) != 0;
  ag_ambig_ok = !set_ambig || (data[0] & 0x20) != 0;
  ag_count = 0;
  ag_pass = 0;
  ag_mediums = 0;
  for (k = 0; k < AG_SLOTS; ++k) {
    ag_slots[k] = NULL;
    ag_slot_id[k] = -1;
  }
  for (k = 0; k < AG_AMBIGS; ++k) {
    ag_ambig[k] = NULL;
    ag_ambig_id[k] = -1;
    ag_ambig_from[k] = -1;
  }
  ag_template = default_tpl;
  ag_template_size = debug ? sizeof default_tpl : 0;
  if (debug && alt) {
    if (data[0] & 0x80)
      options.free_size = 0;
    ag_template = custom_tpl;
    ag_template_size = options.free_size;
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
  if (data[0] & 0x80)
    ag_refusals(arena, ams_fmt, lo_fmt, chain);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, ams_fmt);
    /* Else the arena's default chain, and the pool picks the generation. */
    if (debug || !alt) {
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
      MPS_ARGS_ADD(args, MPS_KEY_GEN, (data[0] >> 2) & 1);
    }
    if (set_ambig)
      MPS_ARGS_ADD(args, MPS_KEY_AMS_SUPPORT_AMBIGUOUS, ag_ambig_ok);
    if (debug && alt)
      MPS_ARGS_ADD(args, MPS_KEY_POOL_DEBUG_OPTIONS, &options);
    AG_REQUIRE(mps_pool_create_k(&ams, arena, debug ? mps_class_ams_debug() : mps_class_ams(),
                                 args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, lo_fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    MPS_ARGS_ADD(args, MPS_KEY_GEN, (data[0] >> 3) & 1);
    AG_REQUIRE(mps_pool_create_k(&lo, arena, mps_class_lo(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  ag_arena = arena;
  ag_ams = ams;
  ag_lo = lo;
  ag_before = 0;
  AG_REQUIRE(mps_ap_create_k(&ams_ap, ams, mps_args_none) == MPS_RES_OK);
  AG_REQUIRE(mps_ap_create_k(&lo_ap, lo, mps_args_none) == MPS_RES_OK);
  if (set_ambig)
    ambig_ap = ag_ambig_point(ams);
  ag_has_ambig_point = ambig_ap != NULL;
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
    /* The top quarter of the collect codes are the rarer operations. */
    if (op == 7 && data[i] >= 192)
      op = 8 + ((data[i] >> 3) & 7);
    ag_before = refusal_countdown(arena);
    switch (op) {
    case 0: case 1: case 10: {    /* allocate: a node or a leaf, weighted */
      bool leaf = lo_heavy ? (op != 1 || (b & 1)) : (op != 0 && (b & 1));
      bool ok;
      mps_res_t res = MPS_RES_OK;
      size_t committed = 0;       /* the limit */
      unsigned ndata;
      mps_ap_t ap;
      if (op == 10 && ag_point(&ams_ap, ams, false) != NULL) {
        mps_addr_t p;
        /* No segment can hold this: refused before anything is taken
         * (as a shortage of memory if the refusal fell on it). */
        res = mps_reserve(&p, ams_ap, ~(size_t)(W - 1));
        AG_REQUIRE(res == MPS_RES_RESOURCE || (res == MPS_RES_MEMORY && ag_fell()));
        res = MPS_RES_OK;
      }
      if (op == 10) {             /* under a commit limit a little above what is committed */
        /* Room for an ordinary segment or not, and a few pages more. */
        committed = mps_arena_committed(arena) + (a % 4) * 4096 + (a >> 2) % 2 * 65536;
        AG_REQUIRE(mps_arena_commit_limit_set(arena, committed) == MPS_RES_OK);
      }
      if (leaf) {
        ap = ag_point(&lo_ap, lo, false);
        ok = ap != NULL && ag_alloc(ap, sa, AG_LEAF, 0, b >= 250 ? AG_BIG_WORDS : b % 40, a ^ b,
                                    op == 10, &res);
      } else {
        /* Now and then a node of some segment's size, or more. */
        ndata = (b / 5) % 6;
        if (b >= 240 && ag_mediums < AG_MEDIUM_MAX) {
          ++ag_mediums;
          ndata = (b - 239) * AG_MEDIUM_WORDS;
        }
        if (ag_has_ambig_point && (a & 0x80))
          ap = ag_point(&ambig_ap, ams, true);
        else
          ap = ag_point(&ams_ap, ams, false);
        ok = ap != NULL && ag_alloc(ap, sa, AG_NODE, b % (AG_MAX_REFS + 1), ndata, a ^ b,
                                    op == 10, &res);
      }
      if (op == 10) {
        AG_REQUIRE(mps_arena_committed(arena) <= committed);
        AG_REQUIRE(ok || res == MPS_RES_COMMIT_LIMIT || res == MPS_RES_RESOURCE
                   || res == MPS_RES_MEMORY);
        AG_REQUIRE(mps_arena_commit_limit_set(arena, (size_t)-1) == MPS_RES_OK);
      }
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
        if (!ag_ambig_ok && ag_objs[idb].kind == AG_NODE)
          break;
        ag_ambig[r] = (char *)ag_objs[idb].addr + (a / 4) % (words * W);
        ag_ambig_id[r] = idb;
      }
      ag_ambig_from[r] = -1;
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
    case 8:              /* check without a collection: buffers hold committed objects */
    case 9:              /* walk the pools' areas */
      ag_check(arena, ams, lo, false, false, false);
      if (op == 9) {
        mps_arena_park(arena);   /* mps_pool_walk needs it */
        ag_check_pool_walk(arena, ams, lo);
      } else {
        ag_mark_reachable();
        if (idb >= 0)   /* just past an object: often a buffer's unused region */
          ag_probe(arena, ag_objs[idb].addr + ag_words(&ag_objs[idb]));
        if (ag_count > 0)
          ag_probe(arena, ag_objs[ag_count - 1 - a % ag_count].addr);
      }
      if (!parked)
        mps_arena_release(arena);
      break;
    case 11:             /* an ambiguous root just past slot b's object */
      if (idb >= 0)
        ag_set_ambig(a % AG_AMBIGS, ag_objs[idb].addr + ag_words(&ag_objs[idb]));
      break;
    case 12:             /* an ambiguous root at any object's place, dead or not */
      if (ag_count > 0)
        ag_set_ambig(b % AG_AMBIGS, ag_objs[ag_count - 1 - a % ag_count].addr + (b / 4) % 3);
      break;
    case 13: {           /* damage free space of the debugging pool */
      mps_addr_t addr;
      if (ag_template_size == 0 || ag_count == 0)
        break;
      ag_points_destroy(ams_ap, lo_ap, ambig_ap);
      mps_arena_park(arena);
      addr = idb >= 0 ? (mps_addr_t)(ag_objs[idb].addr + ag_words(&ag_objs[idb]))
                      : (mps_addr_t)((char *)ag_objs[ag_count - 1 - a % ag_count].addr + a % 8);
      ag_damage(addr);
      ag_points_create(&ams_ap, &lo_ap, &ambig_ap, ams, lo);
      if (!parked)
        mps_arena_release(arena);
      break;
    }
    default: {           /* collect, maybe with the points detached first */
      bool flush = (b & 1) != 0;
      /* a = 10xxxxxx: one of the next 32 requests for memory is refused
       * (arena_fail_after), counted from the collection, or with a's 0x20
       * from just after it (its points made again, the operations that
       * follow).  Counted from the collection, b's top bit first starts
       * it incrementally and gives it up to seven steps. */
      bool refuse = (a & 0xC0) == 0x80, after = refuse && (a & 0x20) != 0;
      Count n = (Count)(a & 0x1F) + 1;
      if (flush)
        ag_points_destroy(ams_ap, lo_ap, ambig_ap);
      if (refuse && !after) {
        arena_fail_after((Arena)arena, n);
        ag_before = n;
        if (b & 0x80) {
          unsigned steps = (b >> 1) & 7;
          mps_res_t res = mps_arena_start_collect(arena);
          if (res != MPS_RES_OK)
            ag_refused(res);
          while (steps-- > 0)
            (void)mps_arena_step(arena, 0.0, 1.0);
        }
      }
      /* Finishes any collection in progress, then collects everything. */
      mps_arena_collect(arena);
      ag_check(arena, ams, lo, true, flush, ag_fell());
      if (after) {
        arena_fail_after((Arena)arena, n);
        ag_before = n;
      }
      /* The library's check of every free byte was most of a run when made
       * after every collection.  Damage to free space stays until a fill
       * hands the grains out, which checks them too, or a later check
       * here (after every AG_FREE_CHECK_EVERY-th collection, and at the
       * end) finds it; only damage in a segment freed in between is lost. */
      if (debug && collections++ % AG_FREE_CHECK_EVERY == 0)
        mps_pool_check_free_space(ams);
      if (flush)
        ag_points_create(&ams_ap, &lo_ap, &ambig_ap, ams, lo);
      if (!parked)
        mps_arena_release(arena);
      break;
    }
    }
  }
  /* The last collection has no refusal: whatever one kept must go now. */
  arena_fail_after((Arena)arena, 0);
  ag_before = 0;
  ag_points_destroy(ams_ap, lo_ap, ambig_ap);
  mps_arena_collect(arena);
  ag_check(arena, ams, lo, true, true, false);
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
