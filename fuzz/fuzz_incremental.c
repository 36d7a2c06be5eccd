/* fuzz_incremental: a mutator changing a graph while collections run
 * incrementally behind the read barrier, checked against a model of the
 * graph (src/gc/trace.c, src/gc/barrier.c).
 *
 * HANDLES slots of an exact root table hold objects of an AMC pool (the
 * only root: nothing is pinned, so every survivor of a trace is copied).
 * Each object has two references and a payload whose first word is its
 * identity; the model keeps, for each identity, the identities its two
 * references should lead to, and for each handle the identity it holds.
 * Input: byte 0 sets the payload size of new objects (so a few or many
 * segments); then two bytes per operation, the first picking the
 * operation, the second handles or a reference:
 *   new      a new object into a handle;
 *   link     handle a's object's reference k := handle b's object;
 *   load     handle a := handle b's object's reference k;
 *   clear    a handle, or a reference;
 *   garbage  allocation until some fills have polled;
 *   start    mps_arena_start_collect;
 *   step     mps_arena_step of no time (one quantum);
 *   park / collect / clamp / release.
 * Checked, after every operation and at the end:
 *   - every object reachable from the handles matches the model
 *     (identity, payload, and where its references lead);
 *   - while a trace is busy, no reference the mutator loads leads into a
 *     white segment (the read barrier let no unfixed reference through);
 *   - a clamped arena does no collection work but what faults force;
 *   - after park nothing is read-protected;
 *   - the library's own checks (seg_check's barrier rules, in cool).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../src/gc/gc.h"
#include "../src/gc/seg.h"
#include "../src/gc/trace.h"
#include "../test/support/objfmt.h"

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

#define W sizeof(mps_word_t)
#define HANDLES 16
#define REFS 2
#define MAX_OBJECTS 1024     /* identities the model can hold */
#define MAX_OPS 300

static mps_arena_t arena;
static mps_ap_t ap;
static mps_addr_t handle[HANDLES];       /* exact root */
static size_t model_handle[HANDLES];      /* identity held, 0: null */
static size_t model_ref[MAX_OBJECTS][REFS];
static size_t next_id;
static size_t ndata;

static GC fz_gc(void)
{
  return ((Arena)arena)->gc;
}

static bool fz_busy(void)
{
  atomic_signal_fence(memory_order_seq_cst);   /* a fault handler may have run */
  return fz_gc()->busy_traces != TRACE_SET_EMPTY;
}

/* A reference the mutator has just loaded: never into a white segment. */
static mps_addr_t fz_loaded(mps_addr_t ref)
{
  Seg seg;
  if (ref == NULL)
    return ref;
  REQUIRE(seg_of_addr(&seg, (Arena)arena, (Addr)ref));
  atomic_signal_fence(memory_order_seq_cst);
  REQUIRE((seg->white & fz_gc()->busy_traces) == 0);
  return ref;
}

static mps_addr_t fz_ref(mps_addr_t obj, size_t k)
{
  return fz_loaded((mps_addr_t)((objfmt_obj)obj)->slot[k]);
}

/* An object of identity id with `data` payload words. */
static mps_addr_t fz_alloc(size_t id, size_t data)
{
  size_t size = (2 + REFS + data) * W;
  mps_addr_t p;
  do {
    REQUIRE(mps_reserve(&p, ap, size) == MPS_RES_OK);
    objfmt_init_id(p, REFS, data, (mps_word_t)id);
  } while (!mps_commit(ap, p, size));
  return p;
}

static mps_addr_t fz_new(size_t id)
{
  return fz_alloc(id, ndata);
}

/* Small garbage, n objects: enough of it fills buffers, and each fill
 * polls (and so advances a trace, unless the arena is clamped). */
static void fz_garbage(size_t n)
{
  mps_addr_t junk;
  size_t i;
  for (i = 0; i < n; ++i) {
    junk = fz_alloc(0, 1);
    (void)junk;
  }
}

/* Check everything reachable from the handles against the model: a
 * depth-first walk with a mark per identity. */
static void fz_check(void)
{
  static mps_addr_t stack[MAX_OBJECTS];
  static bool seen[MAX_OBJECTS];
  size_t top = 0, h, k;
  memset(seen, 0, sizeof seen);
  for (h = 0; h < HANDLES; ++h) {
    mps_addr_t obj = fz_loaded(handle[h]);
    REQUIRE((obj == NULL) == (model_handle[h] == 0));
    if (obj == NULL)
      continue;
    REQUIRE(objfmt_is_id(obj, REFS, ndata, (mps_word_t)model_handle[h]));
    if (!seen[model_handle[h]]) {
      seen[model_handle[h]] = true;
      stack[top++] = obj;
    }
  }
  while (top > 0) {
    mps_addr_t obj = stack[--top];
    size_t id = (size_t)((objfmt_obj)obj)->slot[REFS];
    REQUIRE(id > 0 && id < MAX_OBJECTS);
    REQUIRE(objfmt_is_id(obj, REFS, ndata, (mps_word_t)id));
    for (k = 0; k < REFS; ++k) {
      mps_addr_t to = fz_ref(obj, k);
      size_t to_id = model_ref[id][k];
      REQUIRE((to == NULL) == (to_id == 0));
      if (to == NULL)
        continue;
      REQUIRE(objfmt_is_id(to, REFS, ndata, (mps_word_t)to_id));
      if (!seen[to_id]) {
        seen[to_id] = true;
        stack[top++] = to;
      }
    }
  }
}

static size_t fz_read_protected(void)
{
  GC gc = fz_gc();
  Ring node, next;
  size_t n = 0;
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if ((seg->shield.sm & PROT_DENY_READ) != 0)
      ++n;
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_gen_param_s gens[2] = {{64, 0.8}, {512, 0.5}};
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t pool;
  mps_root_t root;
  size_t op;

  if (size < 1)
    return 0;
  ndata = 1 + (size_t)(data[0] % 4) * 150;   /* 24 B to 9.6 KiB objects */
  next_id = 1;
  memset(handle, 0, sizeof handle);
  memset(model_handle, 0, sizeof model_handle);
  memset(model_ref, 0, sizeof model_ref);
  /* In cool every public call checks the arena, counting through chunk
   * tables as long as the reservation: the default one made those counts
   * most of a run.  The heap here needs little; the arena extends if not. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)4 << 20);
    REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(objfmt_create(&fmt, arena, objfmt_scan, true) == MPS_RES_OK);
  REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    REQUIRE(mps_pool_create_k(&pool, arena, mps_class_amc(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, handle, HANDLES)
          == MPS_RES_OK);
  REQUIRE(mps_ap_create_k(&ap, pool, mps_args_none) == MPS_RES_OK);

  for (op = 0; op < MAX_OPS && 2 + 2 * op < size; ++op) {
    uint8_t a = data[1 + 2 * op], b = data[2 + 2 * op];
    size_t ha = (size_t)(a >> 4) % HANDLES, hb = (size_t)b % HANDLES;
    size_t k = (size_t)(b >> 4) % REFS;
    switch (a % 12) {
    case 0: case 1:
      if (next_id < MAX_OBJECTS) {
        handle[ha] = fz_new(next_id);
        model_handle[ha] = next_id;
        ++next_id;
      }
      break;
    case 2: case 3:
      /* A store into an object that may be grey: the read barrier
       * first, as the protection denies every access. */
      if (handle[ha] != NULL) {
        ((objfmt_obj)handle[ha])->slot[k] = (mps_word_t)handle[hb];
        model_ref[model_handle[ha]][k] = model_handle[hb];
      }
      break;
    case 4: case 5:
      if (handle[hb] != NULL) {
        handle[ha] = fz_ref(handle[hb], k);
        model_handle[ha] = model_ref[model_handle[hb]][k];
      }
      break;
    case 6:
      if (b & 1) {
        handle[ha] = NULL;
        model_handle[ha] = 0;
      } else if (handle[ha] != NULL) {
        ((objfmt_obj)handle[ha])->slot[k] = 0;
        model_ref[model_handle[ha]][k] = 0;
      }
      break;
    case 7:
      fz_garbage(64u + 16u * b);   /* up to 200 KiB */
      break;
    case 8:
      REQUIRE(mps_arena_start_collect(arena) == MPS_RES_OK);
      /* AMC only, a VM arena, exact roots: it runs incrementally. */
      REQUIRE(!fz_gc()->barrier.on || fz_busy());
      break;
    case 9:
      (void)mps_arena_step(arena, 0.0, 1.0);
      break;
    case 10:
      if (b & 1) {
        mps_arena_park(arena);
        REQUIRE(!fz_busy());
        REQUIRE(fz_read_protected() == 0);
      } else {
        mps_arena_collect(arena);
      }
      break;
    default:
      if (b & 1) {
        mps_arena_release(arena);
      } else {
        /* Clamped: allocation does no collection work. */
        Size work;
        mps_arena_clamp(arena);
        work = fz_busy() ? fz_gc()->traces[0]->work : 0;
        fz_garbage(2048);
        if (fz_busy())
          REQUIRE(fz_gc()->traces[0]->work == work);
      }
      break;
    }
    fz_check();
  }
  mps_arena_park(arena);
  REQUIRE(fz_read_protected() == 0);
  fz_check();

  mps_ap_destroy(ap);
  mps_root_destroy(root);
  mps_pool_destroy(pool);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
