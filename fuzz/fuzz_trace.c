/* fuzz_trace: a graph program on the tracer's test pool (cells of four
 * reference words, test/support/cellpool.h) against a model graph.
 *
 * Input: byte 0 picks the options (a tiny or a large nursery; whether
 * allocation runs with the arena unclamped, so that collections also
 * start by themselves from mps_alloc).  Then each operation is three
 * bytes: allocate a cell into an exact root slot or into a field of a
 * cell, link or unlink a field, copy or clear a root slot, point an
 * ambiguous root at a cell (perhaps at an interior address, perhaps at
 * junk), point a weak root at a cell, or collect.
 *
 * The model knows every cell by identity and address.  After each
 * collection, whether explicit or started by an allocation, exactly the
 * cells reachable from the exact roots and those pinned by the ambiguous
 * ones (and what they reach) must still be allocated, with every field
 * unchanged; every other cell must have been reclaimed; a weak root must
 * still hold a surviving referent and must have been cleared for a dead
 * one; and the pool must hold no other cell.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../test/support/cellpool.h"
#include "../test/support/collections.h"

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

#define SLOTS 16
#define AMBIGS 4
#define WEAKS 4
#define MAX_CELLS 3000

typedef struct node_s {
  mps_word_t *addr;
  int ref[CELLPOOL_WORDS];   /* model ids, -1 for 0 */
  bool alive;                /* allocated and not yet reclaimed */
  bool reached;              /* by the current reachability pass */
} node_s;

static node_s nodes[MAX_CELLS];
static int node_count;
static int live[MAX_CELLS], live_count;
static mps_addr_t slots[SLOTS];
static int slot_id[SLOTS];
static mps_addr_t ambig[AMBIGS];
static mps_addr_t weak[WEAKS];
static int weak_id[WEAKS];
static int stack[MAX_CELLS];

static mps_arena_t arena;
static mps_pool_t pool;

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

/* Mark the model's reachable cells (no recursion: an explicit stack). */
static void model_reach(void)
{
  int i, k, sp = 0;
  for (i = 0; i < node_count; ++i)
    nodes[i].reached = false;
  for (i = 0; i < SLOTS; ++i)
    reach_from(slot_id[i], &sp);
  for (i = 0; i < AMBIGS; ++i)
    reach_from(cell_containing(ambig[i]), &sp);
  while (sp > 0) {
    int id = stack[--sp];
    for (k = 0; k < CELLPOOL_WORDS; ++k)
      reach_from(nodes[id].ref[k], &sp);
  }
}

/* After a collection that ran with the reachability computed before it:
 * survivors intact, the dead gone, weak roots right, nothing else.
 * `fresh` is a cell allocated since the collection (by the allocation
 * that started it), which may reuse a dead cell's place; else NULL. */
static void check_collection(mps_addr_t fresh)
{
  int i, k, survivors = 0;
  for (i = 0; i < live_count; ++i) {
    node_s *n = &nodes[live[i]];
    if (n->reached) {
      REQUIRE(cellpool_is_cell(pool, n->addr));
      for (k = 0; k < CELLPOOL_WORDS; ++k)
        REQUIRE(n->addr[k] == (n->ref[k] < 0 ? 0 : (mps_word_t)nodes[n->ref[k]].addr));
      ++survivors;
    } else {
      REQUIRE(!cellpool_is_cell(pool, n->addr) || (mps_addr_t)n->addr == fresh);
      n->alive = false;
    }
  }
  for (i = 0; i < WEAKS; ++i) {
    if (weak_id[i] < 0) {
      REQUIRE(weak[i] == NULL);
    } else if (nodes[weak_id[i]].reached) {
      REQUIRE(weak[i] == nodes[weak_id[i]].addr);
    } else {
      REQUIRE(weak[i] == NULL);
      weak_id[i] = -1;
    }
  }
  REQUIRE(cellpool_cells(pool) == (Count)survivors + (fresh != NULL));
  rebuild_live();
}

static int alloc_cell(bool unclamped)
{
  mps_addr_t p;
  mps_word_t before = collections_done(arena);
  int id;
  if (node_count == MAX_CELLS)
    return -1;
  /* A collection started by this allocation happens before the new cell
   * exists, with the heap as it is now. */
  model_reach();
  if (unclamped)
    mps_arena_release(arena);
  REQUIRE(mps_alloc(&p, pool, CELLPOOL_SIZE) == MPS_RES_OK);
  if (unclamped)
    mps_arena_park(arena);
  if (collections_done(arena) != before)
    check_collection(p);
  id = node_count++;
  nodes[id].addr = p;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_root_t rexact, rambig, rweak;
  mps_chain_t chain;
  mps_gen_param_s params[1];
  bool unclamped;
  size_t i;

  if (size < 1)
    return 0;
  unclamped = (data[0] & 1) != 0;
  params[0].mps_capacity = (data[0] & 2) ? 1 : 1024;   /* KiB */
  params[0].mps_mortality = 0.5;

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

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)8 << 20);
    REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(mps_chain_create(&chain, arena, 1, params) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    REQUIRE(mps_pool_create_k(&pool, arena, &cellpool_class, args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(mps_root_create_table(&rexact, arena, mps_rank_exact(), 0, slots, SLOTS)
          == MPS_RES_OK);
  REQUIRE(mps_root_create_table(&rambig, arena, mps_rank_ambig(), 0, ambig, AMBIGS)
          == MPS_RES_OK);
  REQUIRE(mps_root_create_table(&rweak, arena, mps_rank_weak(), 0, weak, WEAKS)
          == MPS_RES_OK);
  mps_arena_park(arena);

  for (i = 1; i + 3 <= size; i += 3) {
    unsigned op = data[i] % 8, a = data[i + 1], b = data[i + 2];
    int x, y, id;
    switch (op) {
    case 0:   /* allocate into a root slot */
      id = alloc_cell(unclamped);
      if (id >= 0) {
        slots[a % SLOTS] = nodes[id].addr;
        slot_id[a % SLOTS] = id;
      }
      break;
    case 1:   /* allocate into a field of a cell */
      x = pick(a);
      id = alloc_cell(unclamped);
      /* x may have died in a collection the allocation started */
      if (id >= 0 && x >= 0 && nodes[x].alive)
        set_field(x, b % CELLPOOL_WORDS, id);
      break;
    case 2:   /* link or unlink */
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
      y = pick(b);
      weak[a % WEAKS] = y < 0 ? NULL : nodes[y].addr;
      weak_id[a % WEAKS] = y;
      break;
    case 6:   /* clear an ambiguous root */
      ambig[a % AMBIGS] = NULL;
      break;
    case 7:   /* collect */
      model_reach();
      mps_arena_collect(arena);
      check_collection(NULL);
      break;
    }
  }
  model_reach();
  mps_arena_collect(arena);
  check_collection(NULL);

  mps_root_destroy(rweak);
  mps_root_destroy(rambig);
  mps_root_destroy(rexact);
  mps_pool_destroy(pool);
  mps_chain_destroy(chain);
  mps_arena_destroy(arena);
  return 0;
}
