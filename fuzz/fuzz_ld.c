/* fuzz_ld: location dependency (src/gc/ld.c) against a model of where
 * each dependency's objects were when they were added.
 *
 * One AMC pool (format of stress/support/gcobj.c); the mutator holds its
 * objects only in an exact root table of FLD_SLOTS slots, so every AMC
 * object outside the allocation point's segment may move at each
 * collection.  FLD_LDS dependencies.  The input is a program of
 * two-byte operations: allocate into a slot, drop a slot, add a slot's
 * object to dependency k, collect, leave the buffer's segment (a dead
 * object too big for the rest of it, so the objects before it can move),
 * reset k, merge j into k.
 *
 * The model keeps, per dependency, the objects added since its reset:
 * the slot, the object's id and its address at add time.  After every
 * operation, for every dependency: if some object it holds is still in
 * its slot (same id) at a different address, mps_ld_isstale and
 * mps_ld_isstale_any must say stale (never a false "fresh"); if nothing
 * was added since its reset, or no collection happened since its reset,
 * both must say fresh.  Any mismatch prints and aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../src/gc/gc.h"
#include "../stress/support/gcobj.c"

#define FLD_SLOTS 16
#define FLD_LDS 4
#define FLD_ENTRIES 64     /* per dependency in the model */

typedef struct fld_entry_s {
  unsigned slot;
  mps_word_t id;
  mps_addr_t addr;         /* where it was when added */
} fld_entry_s;

typedef struct fld_model_s {
  fld_entry_s entries[FLD_ENTRIES];
  size_t count;            /* may exceed FLD_ENTRIES: the rest unchecked */
  size_t reset_at;         /* fld_started at the reset (automatic
                            * collections count too) */
} fld_model_s;

typedef struct fld_s {
  mps_arena_t arena;
  mps_chain_t chain;
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_root_t root;
  mps_ld_s lds[FLD_LDS];
  fld_model_s model[FLD_LDS];
  mps_word_t next_id;
  const uint8_t *data;
  size_t size, at;
} fld_s;

/* Collections that have flipped and might have moved objects: what
 * mps_collections counts (arena.rst), counted at the flip, which an
 * incremental collection in progress is past between arena entries.
 * Dependencies go stale at such a flip, not when the collection ends. */
static size_t fld_started(fld_s *f)
{
  return mps_collections(f->arena);
}

static mps_addr_t fld_slots[FLD_SLOTS];

static void fld_fail(const char *what, unsigned k)
{
  fprintf(stderr, "fuzz_ld: dependency %u: %s\n", k, what);
  abort();
}

static uint8_t fld_byte(fld_s *f)
{
  return f->at < f->size ? f->data[f->at++] : 0;
}

static void fld_setup(fld_s *f)
{
  mps_gen_param_s gens[2] = {{256, 0.8}, {1024, 0.4}};
  unsigned k;
  memset(fld_slots, 0, sizeof fld_slots);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)32 << 20);
    if (mps_arena_create_k(&f->arena, mps_arena_class_vm(), args) != MPS_RES_OK)
      abort();
  } MPS_ARGS_END(args);
  if (mps_chain_create(&f->chain, f->arena, 2, gens) != MPS_RES_OK
      || gcobj_fmt_create(&f->fmt, f->arena) != MPS_RES_OK)
    abort();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, f->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, f->chain);
    if (mps_pool_create_k(&f->pool, f->arena, mps_class_amc(), args) != MPS_RES_OK)
      abort();
  } MPS_ARGS_END(args);
  if (mps_ap_create_k(&f->ap, f->pool, mps_args_none) != MPS_RES_OK
      || mps_root_create_table(&f->root, f->arena, mps_rank_exact(), 0, fld_slots,
                               FLD_SLOTS) != MPS_RES_OK)
    abort();
  for (k = 0; k < FLD_LDS; ++k) {
    mps_ld_reset(&f->lds[k], f->arena);
    f->model[k].count = 0;
    f->model[k].reset_at = 0;
  }
  f->next_id = 1;
}

static void fld_teardown(fld_s *f)
{
  mps_arena_park(f->arena);
  mps_root_destroy(f->root);
  mps_ap_destroy(f->ap);
  mps_pool_destroy(f->pool);
  mps_fmt_destroy(f->fmt);
  mps_chain_destroy(f->chain);
  mps_arena_destroy(f->arena);
}

static void fld_model_add(fld_model_s *m, unsigned slot, mps_word_t id, mps_addr_t addr)
{
  if (m->count < FLD_ENTRIES) {
    m->entries[m->count].slot = slot;
    m->entries[m->count].id = id;
    m->entries[m->count].addr = addr;
  }
  ++m->count;
}

static void fld_step(fld_s *f, uint8_t op, uint8_t arg)
{
  unsigned slot = arg % FLD_SLOTS;
  unsigned k = arg % FLD_LDS, j = (arg / FLD_LDS) % FLD_LDS;
  unsigned i;
  mps_addr_t p;
  switch (op % 8) {
  case 0: case 1:   /* allocate into a slot */
    if (gcobj_alloc(&p, f->ap, f->next_id, 0, (size_t)(arg % 32) + 1, NULL) != MPS_RES_OK)
      abort();
    fld_slots[slot] = p;
    ++f->next_id;
    break;
  case 2:           /* drop a slot: its object may die */
    fld_slots[slot] = NULL;
    break;
  case 3:           /* add the object of a slot to dependency k */
    slot = (arg / FLD_LDS) % FLD_SLOTS;
    if (fld_slots[slot] != NULL) {
      mps_ld_add(&f->lds[k], f->arena, fld_slots[slot]);
      fld_model_add(&f->model[k], slot, gcobj_id(fld_slots[slot]), fld_slots[slot]);
    }
    break;
  case 4:           /* collect */
    mps_arena_collect(f->arena);
    mps_arena_release(f->arena);
    break;
  case 5:           /* leave the buffer's segment */
    if (gcobj_alloc(&p, f->ap, f->next_id, 0, 20000, NULL) != MPS_RES_OK)
      abort();
    ++f->next_id;
    break;
  case 6:           /* reset k */
    mps_ld_reset(&f->lds[k], f->arena);
    f->model[k].count = 0;
    f->model[k].reset_at = fld_started(f);
    break;
  case 7:           /* merge j into k */
    mps_ld_merge(&f->lds[k], f->arena, &f->lds[j]);
    if (k != j) {
      fld_model_s *dest = &f->model[k], *src = &f->model[j];
      size_t n = src->count < FLD_ENTRIES ? src->count : FLD_ENTRIES;
      for (i = 0; i < n; ++i)
        fld_model_add(dest, src->entries[i].slot, src->entries[i].id, src->entries[i].addr);
      if (src->count > FLD_ENTRIES)
        dest->count += src->count - FLD_ENTRIES;   /* still unchecked */
      if (src->count > 0 && src->reset_at < dest->reset_at)
        dest->reset_at = src->reset_at;
    }
    break;
  }
}

static void fld_check(fld_s *f)
{
  unsigned k;
  for (k = 0; k < FLD_LDS; ++k) {
    fld_model_s *m = &f->model[k];
    mps_ld_t ld = &f->lds[k];
    size_t i, n = m->count < FLD_ENTRIES ? m->count : FLD_ENTRIES;
    bool moved = false;
    for (i = 0; i < n; ++i) {
      mps_addr_t now = fld_slots[m->entries[i].slot];
      if (now != NULL && gcobj_id(now) == m->entries[i].id && now != m->entries[i].addr)
        moved = true;
    }
    if (moved) {
      if (!mps_ld_isstale(ld, f->arena, NULL))
        fld_fail("an object moved but isstale says fresh", k);
      if (!mps_ld_isstale_any(ld, f->arena))
        fld_fail("an object moved but isstale_any says fresh", k);
    }
    if (m->count == 0 || m->reset_at == fld_started(f)) {
      if (mps_ld_isstale(ld, f->arena, NULL) || mps_ld_isstale_any(ld, f->arena))
        fld_fail("stale with nothing added or no collection since the reset", k);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static fld_s f;
  memset(&f, 0, sizeof f);
  f.data = data;
  f.size = size;
  fld_setup(&f);
  while (f.at < f.size) {
    uint8_t op = fld_byte(&f);
    fld_step(&f, op, fld_byte(&f));
    fld_check(&f);
  }
  fld_teardown(&f);
  return 0;
}
