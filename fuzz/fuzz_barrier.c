/* fuzz_barrier: stores into old objects under the write barrier, minor
 * and full collections, and a walk whose visitor stores, checked against
 * a model of every slot (src/gc/barrier.c).
 *
 * Old objects (OLD of them, about 8 KiB each, so several segments) live
 * in an AMS pool whose chain is never due, behind an exact root table; a
 * young object lives in AMC and is referenced only from the slots of old
 * ones.  The arena is parked, so collections happen only when the input
 * asks.  Input: byte 0 seeds identities; then two bytes per operation,
 * the first picking the operation and a slot, the second an old object:
 *   store  a new young object into a slot;
 *   copy   one slot's reference into another (young objects get shared);
 *   clear  a slot;
 *   minor  garbage until the nursery is due, then mps_arena_step;
 *   full   mps_arena_collect;
 *   walk   mps_arena_formatted_objects_walk, whose visitor copies slot 0
 *          of each old object into its slot 1 (a store the barrier cannot
 *          see, since the walk exposes the segment).
 * Checked:
 *   - after a store, the barrier counted a hit exactly when the slot's
 *     segment was protected, and the segment is then unprotected with a
 *     universal summary;
 *   - after every collection and at the end, every slot holds the young
 *     object the model says (identity and payload), or null;
 *   - the remembered set is sound: for each old object in a protected
 *     segment, the zone of every reference it holds is in the segment's
 *     summary;
 *   - the library's own checks (seg_check's barrier rule, in cool).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../src/gc/gc.h"
#include "../src/gc/seg.h"
#include "../test/support/objfmt.h"
#include "support/model.h"

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

#define W sizeof(mps_word_t)
#define OLD 32
#define SLOTS 2
#define OLD_DATA 1000
#define YOUNG_DATA 3
#define MAX_OPS 200

static mps_arena_t arena;
static mps_ap_t young_ap;
static mps_addr_t old[OLD];               /* exact root */
static mps_word_t expect[OLD][SLOTS];     /* young identity in each slot, 0: null */
static mps_word_t next_id;

static mps_addr_t fz_new(mps_ap_t ap, size_t nrefs, size_t ndata, mps_word_t id)
{
  size_t size = (2 + nrefs + ndata) * W;
  mps_addr_t p;
  do {
    REQUIRE(mps_reserve(&p, ap, size) == MPS_RES_OK);
    objfmt_init_id(p, nrefs, ndata, id);
  } while (!mps_commit(ap, p, size));
  return p;
}

FUZZ_MODEL static void fz_intact(mps_addr_t p, size_t nrefs, size_t ndata, mps_word_t id)
{
  REQUIRE(objfmt_is_id(p, nrefs, ndata, id));
}

static Seg fz_seg(mps_addr_t p)
{
  Seg seg;
  REQUIRE(seg_of_addr(&seg, (Arena)arena, (Addr)p));
  return seg;
}

FUZZ_MODEL static void fz_check_all(void)
{
  GC gc = ((Arena)arena)->gc;
  size_t i, s;
  for (i = 0; i < OLD; ++i) {
    objfmt_obj o = old[i];
    Seg seg = fz_seg(o);
    bool guarded = (seg->shield.sm & PROT_DENY_WRITE) != 0;
    fz_intact(o, SLOTS, OLD_DATA, 1 + i);
    for (s = 0; s < SLOTS; ++s) {
      mps_addr_t y = (mps_addr_t)o->slot[s];
      if (expect[i][s] == 0) {
        REQUIRE(y == NULL);
        continue;
      }
      REQUIRE(y != NULL);
      fz_intact(y, 0, YOUNG_DATA, expect[i][s]);
      if (guarded)
        REQUIRE((seg->summary & ((ZoneSet)1 << zone_of_addr(gc->zone_shift, (Addr)y))) != 0);
    }
  }
}

static void fz_visit(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  objfmt_obj obj = addr;
  (void)fmt;
  (void)pool;
  (void)p;
  (void)s;
  if (OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ && obj->nrefs == SLOTS)
    obj->slot[1] = obj->slot[0];
}

static void fz_minor(void)
{
  size_t i;
  mps_addr_t junk;
  for (i = 0; i < 400; ++i) {
    junk = fz_new(young_ap, 0, 12, 0);
    (void)junk;
  }
  REQUIRE(mps_arena_step(arena, 0.0, 1.0));
  mps_arena_park(arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_gen_param_s young_gens[2] = {{32, 0.8}, {256, 0.5}};
  mps_gen_param_s old_gens[1] = {{1 << 20, 0.5}};
  mps_fmt_t fmt_moving, fmt_fixed;
  mps_chain_t young_chain, old_chain;
  mps_pool_t young_pool, old_pool;
  mps_root_t root;
  mps_ap_t ap;
  GC gc;
  size_t i, op;

  if (size < 1)
    return 0;
  next_id = (mps_word_t)data[0] << 8 | 1;
  /* In cool every public call checks the arena, counting through chunk
   * tables as long as the reservation: the default one made those counts
   * most of a run.  The heap here needs little; the arena extends if not. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)4 << 20);
    REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(objfmt_create(&fmt_moving, arena, objfmt_scan, true) == MPS_RES_OK);
  REQUIRE(objfmt_create(&fmt_fixed, arena, objfmt_scan, false) == MPS_RES_OK);
  REQUIRE(mps_chain_create(&young_chain, arena, 2, young_gens) == MPS_RES_OK);
  REQUIRE(mps_chain_create(&old_chain, arena, 1, old_gens) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt_moving);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, young_chain);
    REQUIRE(mps_pool_create_k(&young_pool, arena, mps_class_amc(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt_fixed);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, old_chain);
    REQUIRE(mps_pool_create_k(&old_pool, arena, mps_class_ams(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  memset(old, 0, sizeof old);
  memset(expect, 0, sizeof expect);
  REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, old, OLD) == MPS_RES_OK);
  mps_arena_park(arena);
  REQUIRE(mps_ap_create_k(&ap, old_pool, mps_args_none) == MPS_RES_OK);
  for (i = 0; i < OLD; ++i)
    old[i] = fz_new(ap, SLOTS, OLD_DATA, 1 + i);
  mps_ap_destroy(ap);
  REQUIRE(mps_ap_create_k(&young_ap, young_pool, mps_args_none) == MPS_RES_OK);
  gc = ((Arena)arena)->gc;

  for (op = 0; op < MAX_OPS && 2 + 2 * op < size; ++op) {
    uint8_t a = data[1 + 2 * op], b = data[2 + 2 * op];
    size_t o = b % OLD, s = (a >> 3) % SLOTS;
    objfmt_obj target = old[o];
    switch (a % 8) {
    case 0: case 1: case 2: {
      mps_word_t id = next_id += 2;
      Count hits = gc->barrier.hits;
      bool guarded;
      mps_addr_t y = fz_new(young_ap, 0, YOUNG_DATA, id);
      Seg seg = fz_seg(target);
      guarded = (seg->shield.sm & PROT_DENY_WRITE) != 0;
      target->slot[s] = (mps_word_t)y;
      /* The fault hook, a signal handler, may have changed what the
       * compiler would otherwise assume the store left alone. */
      atomic_signal_fence(memory_order_seq_cst);
      expect[o][s] = id;
      REQUIRE(gc->barrier.hits == hits + (guarded ? 1 : 0));
      REQUIRE((seg->shield.sm & PROT_DENY_WRITE) == 0 && seg->shield.pm == PROT_DENY_NONE);
      REQUIRE(seg->summary == ZONE_SET_UNIV);
      break;
    }
    case 3: {
      size_t from = (size_t)(a >> 4) % OLD;
      target->slot[s] = ((objfmt_obj)old[from])->slot[(a >> 2) % SLOTS];
      expect[o][s] = expect[from][(a >> 2) % SLOTS];
      break;
    }
    case 4:
      target->slot[s] = 0;
      expect[o][s] = 0;
      break;
    case 5:
      fz_minor();
      fz_check_all();
      break;
    case 6:
      mps_arena_collect(arena);
      fz_check_all();
      break;
    default:
      mps_arena_formatted_objects_walk(arena, fz_visit, NULL, 0);
      for (i = 0; i < OLD; ++i)
        expect[i][1] = expect[i][0];
      break;
    }
  }
  fz_minor();
  fz_check_all();

  mps_ap_destroy(young_ap);
  mps_root_destroy(root);
  mps_pool_destroy(old_pool);
  mps_pool_destroy(young_pool);
  mps_chain_destroy(old_chain);
  mps_chain_destroy(young_chain);
  mps_fmt_destroy(fmt_fixed);
  mps_fmt_destroy(fmt_moving);
  mps_arena_destroy(arena);
  return 0;
}
