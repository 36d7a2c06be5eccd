/* fuzz_trace: a graph program on the tracer's test pool (cells of four
 * reference words, test/support/cellpool.h) against a model graph.
 *
 * Input: byte 0 picks the options: a tiny or a large nursery; whether
 * allocation runs with the arena unclamped, so that collections also
 * start by themselves from mps_alloc; whether there is a weak root (a
 * trace with one never runs incrementally, so without it a collection
 * that starts over an empty heap stays busy across operations); and
 * whether a second cell pool exists, on a chain of its own that is never
 * due, so that a collection of the due generations leaves it out (and
 * whether that chain comes after as many others as a collection
 * considers, so that it is not even looked at); and whether an SNC pool
 * holds one object, whose segment is scanned but never condemned, with
 * a reference to a cell.
 * Then each operation is three bytes: allocate a cell into an exact root
 * slot or into a field of a cell, link or unlink a field, copy or clear a
 * root slot, point an ambiguous root at a cell (perhaps at an interior
 * address, perhaps at junk) or clear it (and point the SNC object's
 * reference at a cell or at nothing), point a weak root at a cell,
 * collect, start
 * a collection, step, clamp / release / park the arena, begin or end an
 * allocation pattern (ramps) on an allocation point of an LO pool,
 * allocate garbage there, apply a transform of garbage there,
 * try a collection with control memory exhausted under a commit limit,
 * or collect with a root whose scan fails (a client error).  A collect,
 * a start or a step whose first argument byte has its top bit set also
 * has the arena refuse one of its next 32 requests for memory
 * (arena_fail_after, src/arena/arena.h), armed before the operation, or
 * after it with 0x40 as well, so that the refusal falls on the
 * collection (its trace and messages) or on whatever asks next: a cell's
 * segment, the LO pool's buffer, a poll's collection, a transform, the
 * failing root.  (The commit limit's operation withdraws a refusal still
 * pending: it makes memory run out its own way.)
 *
 * The model knows every cell by identity and address, and what the
 * arena should do: which collections start (a generation is due when the
 * bytes allocated in it since its last condemn exceed its capacity, which
 * a ramp raises; a ramp_collect_all that ended makes the next poll with no
 * ramp left collect everything),
 * and what each one condemns.  Each time a collection finishes, the cells
 * it condemned that were unreachable when it started (from the roots,
 * through the ambiguous ones, and for a collection of the due
 * generations from every cell of the pool it left out, and from the SNC
 * object) must have been reclaimed, and every other cell must be
 * allocated with every field unchanged; the SNC object must be
 * unchanged; a weak root must still hold a surviving referent and must
 * have been cleared for a dead one; and the pools must hold no other
 * cell.  A collection that stays busy across operations may only have
 * started over an empty heap (cells are not incremental), and then frees
 * nothing.  A collection that could not start for lack of memory must
 * leave everything as it was, with the commit limit respected, and the
 * next one, with the limit raised, must run.
 * An operation that fails for the refusal must be the one it fell on,
 * say so with MPS_RES_MEMORY or MPS_RES_RESOURCE, and change nothing (a
 * collection that could not make its trace did nothing at all); one
 * that cannot fail absorbs it.  A collection that finished reclaimed
 * exactly what the model says even where the refusal fell: a trace takes
 * all its memory when it is made (trace.c, trace_create), and the cell
 * pool asks for none while it is scanned or fixed, so a refusal can stop
 * a collection from starting but cannot make one keep a dead cell.  The
 * last collection of each input runs disarmed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpsclo.h"
#include "../include/mpscsnc.h"
#include "../test/support/cellpool.h"
#include "../test/support/collections.h"
#include "../test/support/objfmt.h"
#include "support/reports.h"
#include "support/refusal.h"

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

#define SLOTS 16
#define AMBIGS 4
#define WEAKS 4
#define MAX_CELLS 3000
#define PATTERN_MAX 80      /* deep enough to pass the kept order's depth */
#define RAMP_ALLOWANCE 4    /* how much more a ramping nursery takes (chain.c) */
#define FILL_CHAINS 1024
#define FILL_ROOTS 1024
#define EXTRA_CHAINS 40     /* beyond the chains one collection considers */
#define HUGE_KIB ((size_t)1 << 30)   /* a capacity no generation reaches */
#define SCAN_FAIL_ALWAYS 1000000
#define FAR_CHAINS 32       /* as many as a collection considers (trace.c) */
#define SNC_ID 77

typedef struct node_s {
  mps_word_t *addr;
  int pool;                  /* 0 or 1 */
  int ref[CELLPOOL_WORDS];   /* model ids, -1 for 0 */
  bool alive;                /* allocated and not yet reclaimed */
  bool reached;              /* by the current reachability pass */
} node_s;

/* What a finished collection condemned: nothing (a trace that started
 * over an empty heap), everything, or the due generations (the first
 * pool only: the second pool's chain is never due). */
typedef enum kind_e { KIND_NONE, KIND_ALL, KIND_DUE } kind_e;

typedef enum state_e { ST_PARKED, ST_CLAMPED, ST_UNCLAMPED } state_e;

static node_s nodes[MAX_CELLS];
static int node_count;
static int live[MAX_CELLS], live_count;
static mps_addr_t slots[SLOTS];
static int slot_id[SLOTS];
static mps_addr_t ambig[AMBIGS];
static mps_addr_t weak[WEAKS];
static int weak_id[WEAKS];
static int stack[MAX_CELLS];

/* Reachability when the operation began, as each kind of collection
 * sees it, for the cells that existed then. */
static bool snap_all[MAX_CELLS], snap_due[MAX_CELLS];
static int snap_count;
static mps_word_t pre_done;
static bool pre_busy;
static int pre_cells;

static mps_arena_t arena;
static mps_pool_t pools[2];
static int pool_count;
static mps_fmt_t fmt;
static mps_pool_t lo;       /* formatted, for its allocation point's patterns */
static mps_ap_t ap;
static bool has_weak;
static bool unclamped;      /* the option: allocate with the arena unclamped */
static state_e state;
static size_t capacity;     /* bytes, of the first pool's generation */
static size_t a_new;        /* bytes allocated in it since its last condemn */
static bool full_due;       /* a ramp_collect_all ended since the last full collection */
static bool pattern[PATTERN_MAX];   /* the point's patterns: collect_all or not */
static int pattern_depth;

/* The failing root's one reference and how many scans of it fail. */
static mps_addr_t scan_ref;
static int scan_ref_id = -1;
static int scan_fails;

/* The SNC object (or NULL) and the cell its one reference holds. */
static objfmt_obj snc_obj;
static int snc_ref_id = -1;

/* arena_fail_after's countdown when the operation began (or was armed). */
static Count op_countdown;

static mps_chain_t far_chain[FAR_CHAINS];
static mps_chain_t fill_chain[FILL_CHAINS];
static mps_root_t fill_root[FILL_ROOTS];
static mps_addr_t fill_area[FILL_ROOTS];

static void rebuild_live(void)
{
  int i;
  live_count = 0;
  for (i = 0; i < node_count; ++i)
    if (nodes[i].alive)
      live[live_count++] = i;
}

static int pick(unsigned b)
{
  if (live_count == 0)
    return -1;
  return live[b % (unsigned)live_count];
}

/* The live cell an ambiguous reference falls in, or -1. */
static int cell_containing(mps_addr_t p)
{
  int i;
  for (i = 0; i < live_count; ++i) {
    char *base = (char *)nodes[live[i]].addr;
    if ((char *)p >= base && (char *)p < base + CELLPOOL_SIZE)
      return live[i];
  }
  return -1;
}

static void reach_from(int id, int *sp)
{
  if (id < 0 || nodes[id].reached)
    return;
  REQUIRE(nodes[id].alive);   /* the model never refers to a dead cell */
  nodes[id].reached = true;
  stack[(*sp)++] = id;
}

/* Mark the model's reachable cells (no recursion: an explicit stack);
 * with `second_is_root`, every cell of the second pool is a root, as it
 * is for a collection that does not condemn that pool. */
static void model_reach(bool second_is_root)
{
  int i, k, sp = 0;
  for (i = 0; i < node_count; ++i)
    nodes[i].reached = false;
  for (i = 0; i < SLOTS; ++i)
    reach_from(slot_id[i], &sp);
  for (i = 0; i < AMBIGS; ++i)
    reach_from(cell_containing(ambig[i]), &sp);
  reach_from(scan_ref_id, &sp);
  reach_from(snc_ref_id, &sp);
  if (second_is_root)
    for (i = 0; i < live_count; ++i)
      if (nodes[live[i]].pool == 1)
        reach_from(live[i], &sp);
  while (sp > 0) {
    int id = stack[--sp];
    for (k = 0; k < CELLPOOL_WORDS; ++k)
      reach_from(nodes[id].ref[k], &sp);
  }
}

/* Whether the refusal arena_fail_after was asked for fell during this
 * operation: its countdown went from non-zero to zero. */
static bool op_refusal_fell(void)
{
  return refusal_fell(arena, op_countdown);
}

/* Something failed: only the refusal may make it, and it says so. */
static void refused(mps_res_t res)
{
  REQUIRE(op_refusal_fell());
  REQUIRE(refusal_result(res));
}

/* One of the next n (1 to 32, from byte a) requests is refused. */
static void arm(unsigned a)
{
  op_countdown = (Count)(a & 0x1F) + 1;
  arena_fail_after((Arena)arena, op_countdown);
}

static bool busy(void)
{
  return trace_current((Arena)arena) != NULL;
}

static int cells_in_pools(void)
{
  int i, n = 0;
  for (i = 0; i < pool_count; ++i)
    n += (int)cellpool_cells(pools[i]);
  return n;
}

/* Before an operation that may finish or start a collection. */
static void prepare(void)
{
  int i;
  model_reach(false);
  for (i = 0; i < node_count; ++i)
    snap_all[i] = nodes[i].reached;
  model_reach(true);
  for (i = 0; i < node_count; ++i)
    snap_due[i] = nodes[i].reached;
  snap_count = node_count;
  pre_done = collections_done(arena);
  pre_busy = busy();
  pre_cells = cells_in_pools();
}

/* After a collection of `kind` that started with the reachability
 * prepare recorded: survivors intact, the dead gone, weak roots right,
 * nothing else.  `fresh` is a cell of pool `fresh_pool` allocated since
 * (by the allocation that started it), which may reuse a dead cell's
 * place; else NULL.  KIND_NONE checks that everything is as it was. */
static void check_collection(kind_e kind, mps_addr_t fresh, int fresh_pool)
{
  int i, k, survivors[2] = {0, 0};
  for (i = 0; i < live_count; ++i) {
    int id = live[i];
    node_s *n = &nodes[id];
    bool keep = kind == KIND_NONE || id >= snap_count
                || (kind == KIND_ALL ? snap_all[id] : snap_due[id]);
    if (keep) {
      REQUIRE(cellpool_is_cell(pools[n->pool], n->addr));
      for (k = 0; k < CELLPOOL_WORDS; ++k)
        REQUIRE(n->addr[k] == (n->ref[k] < 0 ? 0 : (mps_word_t)nodes[n->ref[k]].addr));
      ++survivors[n->pool];
    } else {
      REQUIRE(!cellpool_is_cell(pools[n->pool], n->addr)
              || ((mps_addr_t)n->addr == fresh && n->pool == fresh_pool));
      n->alive = false;
    }
  }
  for (i = 0; i < WEAKS; ++i) {
    if (weak_id[i] < 0) {
      REQUIRE(weak[i] == NULL);
    } else if (nodes[weak_id[i]].alive) {
      REQUIRE(weak[i] == nodes[weak_id[i]].addr);
    } else {
      REQUIRE(weak[i] == NULL);
      weak_id[i] = -1;
    }
  }
  if (snc_obj != NULL) {
    REQUIRE(objfmt_is_id(snc_obj, 1, 1, SNC_ID));
    REQUIRE(snc_obj->slot[0] == (snc_ref_id < 0 ? 0 : (mps_word_t)nodes[snc_ref_id].addr));
  }
  if (fresh != NULL)
    ++survivors[fresh_pool];
  for (i = 0; i < pool_count; ++i)
    REQUIRE(cellpool_cells(pools[i]) == (Count)survivors[i]);
  rebuild_live();
}

/* After the operation: check each collection that finished, and a
 * collection left busy.  `kind` is what a collection the operation
 * started condemns; `expect` whether one must have started (-1: the
 * model cannot say). */
static void settle(kind_e kind, int expect, mps_addr_t fresh, int fresh_pool)
{
  mps_word_t done = collections_done(arena) - pre_done;
  bool now_busy = busy(), started;
  /* A collection busy across operations started over an empty heap:
   * it frees nothing.  If the operation's own collection followed it,
   * the check of that one covers both. */
  if (pre_busy && done > 0 && --done == 0)
    check_collection(KIND_NONE, fresh, fresh_pool);
  REQUIRE(!(pre_busy && done == 0 && !now_busy && collections_done(arena) == pre_done));
  REQUIRE(done <= 1);
  started = done == 1 || (now_busy && (!pre_busy || collections_done(arena) != pre_done));
  /* The refusal, where it fell, may have kept one from starting (its
   * trace could not be made), never made one start. */
  if (expect >= 0 && (!pre_busy || collections_done(arena) != pre_done))
    REQUIRE(started == (expect != 0) || (!started && op_refusal_fell()));
  if (started) {
    /* Every condemn starts the first pool's generation afresh. */
    a_new = 0;
    if (kind == KIND_ALL)
      full_due = false;
  }
  if (done == 1)
    check_collection(kind, fresh, fresh_pool);
  if (started && now_busy)
    REQUIRE(pre_cells == 0);   /* only over an empty heap can it be incremental */
  /* A collection refused its trace did nothing. */
  if (op_refusal_fell() && done == 0 && !now_busy)
    check_collection(KIND_NONE, fresh, fresh_pool);
}

/* Whether the first pool's generation is due: a ramp lets the nursery
 * take more first. */
static bool a_due(void)
{
  return a_new > (pattern_depth > 0 ? capacity * RAMP_ALLOWANCE : capacity);
}

/* Whether a poll collects everything: a ramp_collect_all ended, and no
 * ramp holds it back. */
static bool full_ready(void)
{
  return full_due && pattern_depth == 0;
}

static void set_state(state_e to)
{
  switch (to) {
  case ST_PARKED: mps_arena_park(arena); break;
  case ST_CLAMPED: mps_arena_clamp(arena); break;
  case ST_UNCLAMPED: mps_arena_release(arena); break;
  }
  state = to;
}

/* Allocate a cell in pool pl.  It may fail only if `may_fail` (a commit
 * limit is in force); then -1, as for a full model. */
static int alloc_cell(int pl, bool may_fail)
{
  mps_addr_t p;
  mps_res_t res;
  state_e was = state;
  bool polls;
  int id, expect;
  kind_e kind;
  if (node_count == MAX_CELLS)
    return -1;
  if (pl >= pool_count)
    pl = 0;
  /* A collection started by this allocation happens before the new cell
   * exists, with the heap as it is now. */
  prepare();
  polls = unclamped || state == ST_UNCLAMPED;
  kind = full_ready() ? KIND_ALL : KIND_DUE;
  expect = polls && !pre_busy ? (full_ready() || a_due()) : 0;
  if (polls && state != ST_UNCLAMPED)
    mps_arena_release(arena);
  res = mps_alloc(&p, pools[pl], CELLPOOL_SIZE);
  if (polls && was != ST_UNCLAMPED)
    set_state(was);
  if (res != MPS_RES_OK) {
    if (!may_fail || (res != MPS_RES_COMMIT_LIMIT && res != MPS_RES_MEMORY))
      refused(res);
    settle(kind, may_fail ? -1 : expect, NULL, 0);
    return -1;
  }
  /* Under a commit limit the poll's collection may fail to start. */
  settle(kind, may_fail ? -1 : expect, p, pl);
  if (pl == 0)
    a_new += CELLPOOL_SIZE;
  id = node_count++;
  nodes[id].addr = p;
  nodes[id].pool = pl;
  for (int k = 0; k < CELLPOOL_WORDS; ++k) {
    REQUIRE(((mps_word_t *)p)[k] == 0);
    nodes[id].ref[k] = -1;
  }
  nodes[id].alive = true;
  live[live_count++] = id;
  return id;
}

static void set_field(int id, unsigned k, int target)
{
  nodes[id].ref[k] = target;
  nodes[id].addr[k] = target < 0 ? 0 : (mps_word_t)nodes[target].addr;
}

static void op_collect(void)
{
  prepare();
  mps_arena_collect(arena);
  state = ST_PARKED;
  settle(KIND_ALL, 1, NULL, 0);
}

static void op_start_collect(void)
{
  mps_res_t res;
  prepare();
  res = mps_arena_start_collect(arena);
  if (res != MPS_RES_OK)
    refused(res);
  state = ST_UNCLAMPED;
  settle(KIND_ALL, res == MPS_RES_OK, NULL, 0);
}

static void op_step(unsigned b)
{
  mps_bool_t work;
  bool due;
  prepare();
  due = a_due();
  work = mps_arena_step(arena, (b & 1) ? 0.0 : 0.001, 1.0);
  /* Work there is if a collection is busy or some generation is due
   * (even if the collection is then refused its trace). */
  REQUIRE((work != 0) == (pre_busy || due));
  if (state == ST_PARKED)
    state = ST_CLAMPED;
  settle(KIND_DUE, pre_busy ? 0 : due, NULL, 0);
}

/* An object of the LO pool through its allocation point, never
 * referred to: garbage.  Its buffer is attached to a segment when a
 * collection flips, and its fills poll.  NULL if the memory was
 * refused. */
static mps_addr_t junk_object(size_t ndata, mps_word_t id)
{
  size_t size = (2 + ndata) * sizeof(mps_word_t);
  mps_addr_t p;
  bool committed;
  do {
    kind_e kind = full_ready() ? KIND_ALL : KIND_DUE;
    mps_res_t res;
    prepare();
    res = mps_reserve(&p, ap, size);
    if (res != MPS_RES_OK) {
      refused(res);
      settle(kind, -1, NULL, 0);
      return NULL;
    }
    objfmt_init_id(p, 0, ndata, id);
    committed = mps_commit(ap, p, size);
    settle(kind, -1, NULL, 0);
  } while (!committed);   /* a collection flipped meanwhile */
  return p;
}

static void op_junk(unsigned n)
{
  unsigned i;
  for (i = 0; i <= n; ++i)
    (void)junk_object(1 + (i * 97u) % 512u, i);
}

/* A transform of one garbage object into another: a rewriting
 * collection of everything that must change no cell, applied only in a
 * parked arena.  No ambiguous root can point into the LO pool. */
static void op_transform(void)
{
  mps_addr_t old = junk_object(2, 1), new_obj = junk_object(3, 2);
  mps_transform_t transform;
  mps_bool_t applied = false;
  mps_res_t res;
  bool parked, ran;
  if (old == NULL || new_obj == NULL)
    return;
  prepare();
  parked = state == ST_PARKED || (state == ST_CLAMPED && !pre_busy);
  res = mps_transform_create(&transform, arena);
  if (res != MPS_RES_OK) {
    refused(res);
    return;
  }
  res = mps_transform_add_oldnew(transform, &old, &new_obj, 1);
  if (res != MPS_RES_OK) {
    refused(res);
    mps_transform_destroy(transform);
    return;
  }
  res = mps_transform_apply(&applied, transform);
  ran = parked;
  if (!parked) {
    REQUIRE(res == MPS_RES_LIMIT);
  } else if (res == MPS_RES_MEMORY || res == MPS_RES_RESOURCE) {
    /* Refused its tables or its trace: no collection. */
    refused(res);
    ran = false;
  } else {
    /* MPS_RES_FAIL: the old object's segment was not condemned, so the
     * collection ran without rewriting. */
    REQUIRE(res == MPS_RES_FAIL || (res == MPS_RES_OK && applied));
  }
  settle(KIND_ALL, ran, NULL, 0);
  mps_transform_destroy(transform);
}

static void op_pattern(unsigned a)
{
  bool collect_all = false;
  int i;
  prepare();
  switch (a % 4) {
  case 0:
  case 1:
    if (pattern_depth == PATTERN_MAX)
      return;
    pattern[pattern_depth] = (a & 1) != 0;
    REQUIRE(mps_ap_alloc_pattern_begin(ap, pattern[pattern_depth]
                                           ? mps_alloc_pattern_ramp_collect_all()
                                           : mps_alloc_pattern_ramp()) == MPS_RES_OK);
    ++pattern_depth;
    settle(KIND_ALL, 0, NULL, 0);
    return;
  case 2:
    if (pattern_depth == 0)
      return;
    --pattern_depth;
    collect_all = pattern[pattern_depth];
    REQUIRE(mps_ap_alloc_pattern_end(ap, collect_all ? mps_alloc_pattern_ramp_collect_all()
                                                     : mps_alloc_pattern_ramp())
            == MPS_RES_OK);
    break;
  case 3:
    for (i = 0; i < pattern_depth; ++i)
      collect_all |= pattern[i];
    pattern_depth = 0;
    REQUIRE(mps_ap_alloc_pattern_reset(ap) == MPS_RES_OK);
    break;
  }
  full_due |= collect_all;
  /* The full collection starts now if the arena is unclamped and no
   * collection is busy; otherwise at a later poll. */
  settle(KIND_ALL, pre_busy ? 0 : (full_ready() && state == ST_UNCLAMPED), NULL, 0);
}

/* Take every byte of control memory under a commit limit at the
 * committed size: chains (after the *chains_o made already), then roots,
 * smaller, for what chains leave.  Then give back the last `give` roots,
 * so that making a trace fails at one of its three allocations (the
 * trace, then its two messages), or not at all.  The count of each. */
static void fill_control(unsigned give, int *chains_o, int *roots_o)
{
  mps_gen_param_s huge = {HUGE_KIB, 0.5};
  int chains = *chains_o, roots = 0;
  mps_res_t res = MPS_RES_OK;
  while (chains < FILL_CHAINS) {
    res = mps_chain_create(&fill_chain[chains], arena, 1, &huge);
    if (res != MPS_RES_OK)
      break;
    ++chains;
  }
  REQUIRE(res == MPS_RES_OK || res == MPS_RES_COMMIT_LIMIT);
  while (roots < FILL_ROOTS) {
    fill_area[roots] = NULL;
    res = mps_root_create_table(&fill_root[roots], arena, mps_rank_exact(), 0,
                                &fill_area[roots], 1);
    if (res != MPS_RES_OK)
      break;
    ++roots;
  }
  REQUIRE(res == MPS_RES_OK || res == MPS_RES_COMMIT_LIMIT);
  while (give > 0 && roots > 0) {
    mps_root_destroy(fill_root[--roots]);
    --give;
  }
  *chains_o = chains;
  *roots_o = roots;
}

/* A collection tried with control memory exhausted: by a collect, a
 * start, an allocation's poll, or a step. */
static void op_tight(unsigned a, unsigned b)
{
  size_t limit0 = mps_arena_commit_limit(arena);
  size_t spare0 = mps_arena_spare_commit_limit(arena);
  int chains, roots, i, id = -1;
  mps_word_t before;
  bool tried = false;
  mps_res_t res;

  /* The commit limit is this operation's refusal: one from
   * arena_fail_after would make its failures ambiguous. */
  arena_fail_after((Arena)arena, 0);
  op_countdown = 0;

  /* One collection at a time: the busy one first. */
  prepare();
  set_state(ST_PARKED);
  settle(KIND_NONE, -1, NULL, 0);

  /* More chains than a collection considers, at times: the first pool's
   * is the first of them, so it is still considered. */
  for (chains = 0; chains < ((a & 4) ? EXTRA_CHAINS : 0); ++chains) {
    mps_gen_param_s huge = {HUGE_KIB, 0.5};
    REQUIRE(mps_chain_create(&fill_chain[chains], arena, 1, &huge) == MPS_RES_OK);
  }
  mps_arena_spare_commit_limit_set(arena, 0);
  REQUIRE(mps_arena_commit_limit_set(arena, mps_arena_committed(arena)) == MPS_RES_OK);
  fill_control(b % 8, &chains, &roots);

  prepare();
  before = collections_done(arena);
  switch (a % 4) {
  case 0:
    tried = true;
    mps_arena_collect(arena);
    settle(KIND_ALL, -1, NULL, 0);
    break;
  case 1:
    tried = true;
    res = mps_arena_start_collect(arena);
    state = ST_UNCLAMPED;
    REQUIRE(res == MPS_RES_OK || res == MPS_RES_COMMIT_LIMIT || res == MPS_RES_MEMORY);
    /* Started (and over, or busy), or nothing happened. */
    REQUIRE((res == MPS_RES_OK) == (collections_done(arena) != before || busy()));
    settle(KIND_ALL, -1, NULL, 0);
    break;
  case 2:
    tried = full_ready() || a_due();
    set_state(ST_UNCLAMPED);
    id = alloc_cell((a >> 3) & 1, true);
    if (id >= 0) {
      slots[(b >> 3) % SLOTS] = nodes[id].addr;
      slot_id[(b >> 3) % SLOTS] = id;
    }
    break;
  case 3:
    tried = a_due();
    REQUIRE((mps_arena_step(arena, 0.0, 1.0) != 0) == tried);
    if (state == ST_PARKED)
      state = ST_CLAMPED;
    settle(KIND_DUE, -1, NULL, 0);
    break;
  }
  REQUIRE(mps_arena_committed(arena) <= mps_arena_commit_limit(arena));
  /* Whatever did not happen changed nothing. */
  if (collections_done(arena) == before && !busy()) {
    prepare();
    check_collection(KIND_NONE, NULL, 0);
  }

  for (i = 0; i < roots; ++i)
    mps_root_destroy(fill_root[i]);
  for (i = 0; i < chains; ++i)
    mps_chain_destroy(fill_chain[i]);
  REQUIRE(mps_arena_commit_limit_set(arena, limit0) == MPS_RES_OK);
  mps_arena_spare_commit_limit_set(arena, spare0);

  /* With the limit raised, a collection runs. */
  if (tried && collections_done(arena) == before && !busy()) {
    prepare();
    mps_arena_collect(arena);
    state = ST_PARKED;
    REQUIRE(collections_done(arena) == before + 1);
    settle(KIND_ALL, 1, NULL, 0);
  }
}

static mps_res_t failing_scan(mps_ss_t ss, void *p, size_t s)
{
  mps_res_t res;
  (void)p;
  (void)s;
  MPS_SCAN_BEGIN(ss) {
    res = MPS_FIX12(ss, &scan_ref);
  } MPS_SCAN_END(ss);
  if (res != MPS_RES_OK)
    return res;
  if (scan_fails > 0) {
    --scan_fails;
    return MPS_RES_FAIL;
  }
  return MPS_RES_OK;
}

/* A collection with a root whose scan fails: once (tried again, and no
 * report), or always (reported once, and the collection goes on).  Its
 * one reference was fixed at each try, so what it refers to lives. */
static void op_failing_root(unsigned a, unsigned b)
{
  mps_root_t root;
  mps_lib_assert_fail_t old;
  unsigned reports;
  bool always = a % 3 == 2, ran;
  mps_res_t res;

  prepare();
  set_state(ST_PARKED);
  settle(KIND_NONE, -1, NULL, 0);

  scan_ref_id = pick(b);
  scan_ref = scan_ref_id < 0 ? NULL : nodes[scan_ref_id].addr;
  scan_fails = always ? SCAN_FAIL_ALWAYS : (int)(a % 3);
  res = mps_root_create(&root, arena, mps_rank_exact(), 0, failing_scan, NULL, 0);
  if (res != MPS_RES_OK) {
    refused(res);
  } else {
    prepare();
    old = fuzz_reports_begin();
    mps_arena_collect(arena);
    reports = fuzz_reports_end(old);
    state = ST_PARKED;
    /* A collection refused its trace scanned nothing. */
    ran = collections_done(arena) != pre_done;
    REQUIRE(ran || op_refusal_fell());
    REQUIRE(reports == (always && ran ? 1u : 0u));
    REQUIRE(scan_ref == (scan_ref_id < 0 ? NULL : (mps_addr_t)nodes[scan_ref_id].addr));
    settle(KIND_ALL, ran, NULL, 0);
    mps_root_destroy(root);
  }
  scan_ref = NULL;
  scan_ref_id = -1;
  scan_fails = 0;
}

/* The postmortem state, which ends the input: no collection runs or
 * starts, no step works, and nothing is recycled. */
static void op_postmortem(void)
{
  mps_word_t before;
  prepare();
  set_state(ST_PARKED);
  settle(KIND_NONE, -1, NULL, 0);
  before = collections_done(arena);
  mps_arena_postmortem(arena);
  mps_arena_collect(arena);
  (void)mps_arena_start_collect(arena);
  REQUIRE(!mps_arena_step(arena, 0.0, 1.0));
  REQUIRE(!busy() && collections_done(arena) == before);
  prepare();
  check_collection(KIND_NONE, NULL, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_root_t rexact, rambig, rweak = NULL;
  mps_chain_t chains[3];   /* the pools', and the ramps' pool's */
  mps_pool_t snc = NULL;
  mps_fmt_t snc_fmt = NULL;
  mps_ap_t snc_ap = NULL;
  bool far;
  mps_gen_param_s huge = {HUGE_KIB, 0.5};
  mps_gen_param_s params[1];
  size_t i;
  int pl;
  bool postmortem = false;

  if (size < 1)
    return 0;
  unclamped = (data[0] & 1) != 0;
  params[0].mps_capacity = (data[0] & 2) ? 1 : 1024;   /* KiB */
  params[0].mps_mortality = 0.5;
  capacity = params[0].mps_capacity * 1024;
  has_weak = (data[0] & 4) == 0;
  pool_count = (data[0] & 8) ? 2 : 1;
  far = pool_count == 2 && (data[0] & 16) != 0;

  node_count = live_count = 0;
  for (i = 0; i < SLOTS; ++i) {
    slots[i] = NULL;
    slot_id[i] = -1;
  }
  for (i = 0; i < AMBIGS; ++i)
    ambig[i] = NULL;
  for (i = 0; i < WEAKS; ++i) {
    weak[i] = NULL;
    weak_id[i] = -1;
  }
  a_new = 0;
  full_due = false;
  pattern_depth = 0;
  scan_ref = NULL;
  scan_ref_id = -1;
  scan_fails = 0;
  snc_obj = NULL;
  snc_ref_id = -1;

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)8 << 20);
    REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(mps_chain_create(&chains[0], arena, 1, params) == MPS_RES_OK);
  for (pl = 0; pl < pool_count; ++pl) {
    if (pl == 1) {
      if (far)
        for (i = 0; i < FAR_CHAINS; ++i)
          REQUIRE(mps_chain_create(&far_chain[i], arena, 1, &huge) == MPS_RES_OK);
      REQUIRE(mps_chain_create(&chains[1], arena, 1, &huge) == MPS_RES_OK);
    }
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chains[pl]);
      REQUIRE(mps_pool_create_k(&pools[pl], arena, &cellpool_class, args) == MPS_RES_OK);
    } MPS_ARGS_END(args);
  }
  REQUIRE(mps_chain_create(&chains[2], arena, 1, &huge) == MPS_RES_OK);
  REQUIRE(objfmt_create(&fmt, arena, NULL, false) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chains[2]);
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    REQUIRE(mps_pool_create_k(&lo, arena, mps_class_lo(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(mps_ap_create_k(&ap, lo, mps_args_none) == MPS_RES_OK);
  if (data[0] & 32) {
    mps_addr_t p;
    size_t bytes = (2 + 1 + 1) * sizeof(mps_word_t);
    REQUIRE(objfmt_create(&snc_fmt, arena, objfmt_scan, true) == MPS_RES_OK);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, snc_fmt);
      REQUIRE(mps_pool_create_k(&snc, arena, mps_class_snc(), args) == MPS_RES_OK);
    } MPS_ARGS_END(args);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
      REQUIRE(mps_ap_create_k(&snc_ap, snc, args) == MPS_RES_OK);
    } MPS_ARGS_END(args);
    do {
      REQUIRE(mps_reserve(&p, snc_ap, bytes) == MPS_RES_OK);
      objfmt_init_id(p, 1, 1, SNC_ID);
    } while (!mps_commit(snc_ap, p, bytes));
    snc_obj = p;
  }
  REQUIRE(mps_root_create_table(&rexact, arena, mps_rank_exact(), 0, slots, SLOTS)
          == MPS_RES_OK);
  REQUIRE(mps_root_create_table(&rambig, arena, mps_rank_ambig(), 0, ambig, AMBIGS)
          == MPS_RES_OK);
  if (has_weak)
    REQUIRE(mps_root_create_table(&rweak, arena, mps_rank_weak(), 0, weak, WEAKS)
            == MPS_RES_OK);
  mps_arena_park(arena);
  state = ST_PARKED;

  for (i = 1; i + 3 <= size && !postmortem; i += 3) {
    unsigned op = data[i] % 16, a = data[i + 1], b = data[i + 2];
    int x, y, id;
    op_countdown = refusal_countdown(arena);
    /* A collect, start or step may arm a refusal, before or after. */
    if (op >= 7 && op <= 9 && (a & 0xC0) == 0x80)
      arm(a);
    switch (op) {
    case 0:   /* allocate into a root slot */
      id = alloc_cell((int)(b & 1), false);
      if (id >= 0) {
        slots[a % SLOTS] = nodes[id].addr;
        slot_id[a % SLOTS] = id;
      }
      break;
    case 1:   /* allocate into a field of a cell */
    case 14:
      x = pick(a);
      id = alloc_cell((int)(b >> 7), false);
      /* x may have died in a collection the allocation started */
      if (id >= 0 && x >= 0 && nodes[x].alive)
        set_field(x, b % CELLPOOL_WORDS, id);
      break;
    case 2:   /* link or unlink */
    case 15:
      x = pick(a);
      y = (b >> 2) == 0 ? -1 : pick(b >> 2);
      if (x >= 0)
        set_field(x, b % CELLPOOL_WORDS, y);
      break;
    case 3:   /* copy or clear a root slot */
      if (b & 1) {
        slots[a % SLOTS] = NULL;
        slot_id[a % SLOTS] = -1;
      } else {
        slots[a % SLOTS] = slots[(b >> 1) % SLOTS];
        slot_id[a % SLOTS] = slot_id[(b >> 1) % SLOTS];
      }
      break;
    case 4:   /* an ambiguous root: a cell, inside one, or junk */
      y = pick(b);
      if (y < 0 || (a & 0xC0) == 0xC0)
        ambig[a % AMBIGS] = (mps_addr_t)(uintptr_t)((uintptr_t)b * 4099u + 1);
      else
        ambig[a % AMBIGS] = (char *)nodes[y].addr + ((a >> 2) % CELLPOOL_SIZE);
      break;
    case 5:   /* a weak root */
      if (!has_weak)
        break;
      y = pick(b);
      weak[a % WEAKS] = y < 0 ? NULL : nodes[y].addr;
      weak_id[a % WEAKS] = y;
      break;
    case 6:   /* clear an ambiguous root; point the SNC object's reference */
      ambig[a % AMBIGS] = NULL;
      if (snc_obj != NULL && (b & 1)) {
        snc_ref_id = (b >> 1) == 0 ? -1 : pick(b >> 1);
        snc_obj->slot[0] = snc_ref_id < 0 ? 0 : (mps_word_t)nodes[snc_ref_id].addr;
      }
      break;
    case 7:
      op_collect();
      break;
    case 8:
      op_start_collect();
      break;
    case 9:
      op_step(b);
      break;
    case 10:   /* clamp, release or park; or postmortem, and the end */
      if (a % 8 == 7) {
        op_postmortem();
        postmortem = true;
        break;
      }
      prepare();
      set_state((state_e)(a % 3));
      settle(KIND_NONE, pre_busy ? -1 : 0, NULL, 0);
      break;
    case 11:
      if (a % 8 < 4)
        op_pattern(a);
      else if (a % 8 < 6)
        op_junk(a >> 3);
      else
        op_transform();
      break;
    case 12:
      op_tight(a, b);
      break;
    case 13:
      op_failing_root(a, b);
      break;
    }
    if (op >= 7 && op <= 9 && (a & 0xC0) == 0xC0)
      arm(a);
  }
  arena_fail_after((Arena)arena, 0);
  op_countdown = 0;
  if (!postmortem)
    op_collect();

  while (pattern_depth > 0) {
    --pattern_depth;
    REQUIRE(mps_ap_alloc_pattern_end(ap, pattern[pattern_depth]
                                         ? mps_alloc_pattern_ramp_collect_all()
                                         : mps_alloc_pattern_ramp()) == MPS_RES_OK);
  }
  if (rweak != NULL)
    mps_root_destroy(rweak);
  mps_root_destroy(rambig);
  mps_root_destroy(rexact);
  if (snc != NULL) {
    mps_ap_destroy(snc_ap);
    mps_pool_destroy(snc);
    mps_fmt_destroy(snc_fmt);
  }
  mps_ap_destroy(ap);
  mps_pool_destroy(lo);
  mps_fmt_destroy(fmt);
  mps_chain_destroy(chains[2]);
  for (pl = pool_count - 1; pl >= 0; --pl) {
    mps_pool_destroy(pools[pl]);
    mps_chain_destroy(chains[pl]);
    if (pl == 1 && far)
      for (i = 0; i < FAR_CHAINS; ++i)
        mps_chain_destroy(far_chain[i]);
  }
  mps_arena_destroy(arena);
  return 0;
}
