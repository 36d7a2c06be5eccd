/* gcobj.c: the test object format, heap verifier and shadow graph of
 * gcobj.h.  The format methods follow the contract of topic/format.rst and
 * the worked example of guide/lang.rst (scan, skip, forward, is-forwarded,
 * pad), written for this layout.
 *
 * Layout, in words (mps_word_t), of a block starting at p:
 *   object:     p[0] = 1 | nrefs << 2 | ndata << 10, p[1] = id (non-zero),
 *               p[2 .. 2+nrefs) reference slots (mps_addr_t, null or the
 *               base of an object), then ndata data words, data word i
 *               being gcobj_datum(id, i).
 *   forwarded:  p[0] = 2 | size in words << 2, p[1] = the new address.
 *   pad:        p[0] = 3 | size in words << 2 (one word or more).
 * Invariants:
 *   1. A block is at least one word; an object or forwarding marker at
 *      least two, so the new address of a forwarding marker fits.
 *   2. The low two bits of the first word say which of the three a block
 *      is; 0 never appears there, so a zeroed or wild word is caught.
 *   3. The size of a forwarding marker is the size of the object it
 *      replaced, so skipping it skips the old object.
 * The format methods may not call the library (topic/format.rst), so a
 * block breaking invariant 2 makes them abort: the heap is corrupt and
 * the run must stop there.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcobj.h"

/* Ids of objects whose commit failed and that were made again.  A
 * collection may take an object into the heap when its commit's store to
 * init precedes the flip, and still fail the commit (design/buffer.txt,
 * "Synchronization": the pool scanned a dead object).  That object is
 * garbage with the same id as its retry until the next collection, so the
 * verifier allows a second copy of these ids.  Shared by every thread of
 * a harness: a slot is claimed with a relaxed fetch-add (only uniqueness
 * matters) and read by the verifier after the harness has synchronised
 * with the writers (its lock or barrier orders the stores). */
#define GCOBJ_RETRIED_MAX 4096
static _Atomic mps_word_t gcobj_retried[GCOBJ_RETRIED_MAX];
static atomic_size_t gcobj_retried_count;

static void gcobj_note_retried(mps_word_t id)
{
  size_t i = atomic_fetch_add_explicit(&gcobj_retried_count, 1, memory_order_relaxed);
  if (i < GCOBJ_RETRIED_MAX)
    atomic_store_explicit(&gcobj_retried[i], id, memory_order_relaxed);
}

/* Whether a dead twin of id may be in the heap (true, to be safe, once
 * more retries happened than the table holds). */
static bool gcobj_was_retried(mps_word_t id)
{
  size_t n = atomic_load_explicit(&gcobj_retried_count, memory_order_relaxed), i;
  if (n > GCOBJ_RETRIED_MAX)
    return true;
  for (i = 0; i < n; ++i)
    if (atomic_load_explicit(&gcobj_retried[i], memory_order_relaxed) == id)
      return true;
  return false;
}

enum { GCOBJ_TAG_OBJ = 1, GCOBJ_TAG_FWD = 2, GCOBJ_TAG_PAD = 3 };
#define GCOBJ_TAG(h) ((h) & 3u)
#define GCOBJ_WORDS(h) ((size_t)((h) >> 2))    /* of a marker or pad */
#define GCOBJ_NREFS(h) ((size_t)((h) >> 2 & 0xFFu))
#define GCOBJ_NDATA(h) ((size_t)((h) >> 10))
#define GCOBJ_HEAD 2u                          /* header and id */

static mps_word_t gcobj_datum(mps_word_t id, size_t i)
{
  /* A 64-bit mix (splitmix64's finalizer) of the id and the index, so that
   * a word copied to the wrong place or object is noticed. */
  uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15u + (uint64_t)i + 1;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
  return (mps_word_t)(x ^ (x >> 31));
}

static size_t gcobj_words(mps_word_t h)
{
  return GCOBJ_TAG(h) == GCOBJ_TAG_OBJ ? GCOBJ_HEAD + GCOBJ_NREFS(h) + GCOBJ_NDATA(h)
                                       : GCOBJ_WORDS(h);
}

size_t gcobj_size(size_t nrefs, size_t ndata)
{
  return (GCOBJ_HEAD + nrefs + ndata) * sizeof(mps_word_t);
}

/* ---- Format methods --------------------------------------------------- */

static mps_res_t gcobj_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  MPS_SCAN_BEGIN(ss) {
    mps_word_t *p = base;
    while (p < (mps_word_t *)limit) {
      mps_word_t h = p[0];
      switch (GCOBJ_TAG(h)) {
      case GCOBJ_TAG_OBJ: {
        mps_addr_t *slot = (mps_addr_t *)&p[GCOBJ_HEAD];
        size_t i, n = GCOBJ_NREFS(h);
        for (i = 0; i < n; ++i) {
          if (MPS_FIX1(ss, slot[i])) {
            mps_res_t res = MPS_FIX2(ss, &slot[i]);
            if (res != MPS_RES_OK)
              return res;
          }
        }
        break;
      }
      case GCOBJ_TAG_FWD:
      case GCOBJ_TAG_PAD:
        break;
      default:
        abort();    /* invariant 2 */
      }
      if (gcobj_words(h) == 0)
        abort();    /* invariant 1 */
      p += gcobj_words(h);
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

static mps_addr_t gcobj_skip(mps_addr_t addr)
{
  mps_word_t *p = addr;
  if (GCOBJ_TAG(p[0]) == 0 || gcobj_words(p[0]) == 0)
    abort();        /* invariants 1, 2 */
  return p + gcobj_words(p[0]);
}

static void gcobj_fwd(mps_addr_t old, mps_addr_t new_addr)
{
  mps_word_t *p = old;
  size_t words = gcobj_words(p[0]);
  if (GCOBJ_TAG(p[0]) != GCOBJ_TAG_OBJ || words < 2)
    abort();        /* only objects move; invariant 1 */
  p[0] = GCOBJ_TAG_FWD | (mps_word_t)words << 2;   /* invariant 3 */
  ((mps_addr_t *)p)[1] = new_addr;
}

static mps_addr_t gcobj_isfwd(mps_addr_t addr)
{
  mps_word_t *p = addr;
  return GCOBJ_TAG(p[0]) == GCOBJ_TAG_FWD ? ((mps_addr_t *)p)[1] : NULL;
}

static void gcobj_pad(mps_addr_t addr, size_t size)
{
  mps_word_t *p = addr;
  if (size < sizeof(mps_word_t) || size % sizeof(mps_word_t) != 0)
    abort();        /* the format's alignment is one word */
  p[0] = GCOBJ_TAG_PAD | (mps_word_t)(size / sizeof(mps_word_t)) << 2;
}

mps_res_t gcobj_fmt_create(mps_fmt_t *fmt_o, mps_arena_t arena)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, GCOBJ_ALIGN);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, gcobj_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, gcobj_skip);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_FWD, gcobj_fwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ISFWD, gcobj_isfwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, gcobj_pad);
    res = mps_fmt_create_k(fmt_o, arena, args);
  } MPS_ARGS_END(args);
  return res;
}

/* ---- Objects ---------------------------------------------------------- */

mps_res_t gcobj_alloc(mps_addr_t *p_o, mps_ap_t ap, mps_word_t id,
                      size_t nrefs, size_t ndata, mps_addr_t const *refs)
{
  size_t size = gcobj_size(nrefs, ndata), i;
  mps_addr_t p;
  if (id == 0 || nrefs > GCOBJ_MAX_REFS || ndata >= GCOBJ_MAX_DATA)
    abort();
  do {
    mps_res_t res = mps_reserve(&p, ap, size);
    mps_word_t *w;
    mps_addr_t *slot;
    if (res != MPS_RES_OK)
      return res;     /* p is not an address then */
    w = p;
    slot = (mps_addr_t *)&w[GCOBJ_HEAD];
    w[0] = GCOBJ_TAG_OBJ | (mps_word_t)nrefs << 2 | (mps_word_t)ndata << 10;
    w[1] = id;
    for (i = 0; i < nrefs; ++i)
      slot[i] = refs != NULL ? refs[i] : NULL;
    for (i = 0; i < ndata; ++i)
      w[GCOBJ_HEAD + nrefs + i] = gcobj_datum(id, i);
    if (mps_commit(ap, p, size))
      break;
    gcobj_note_retried(id);
  } while (true);
  *p_o = p;
  return MPS_RES_OK;
}

mps_word_t gcobj_id(mps_addr_t obj)
{
  return ((mps_word_t *)obj)[1];
}

size_t gcobj_nrefs(mps_addr_t obj)
{
  return GCOBJ_NREFS(((mps_word_t *)obj)[0]);
}

size_t gcobj_ndata(mps_addr_t obj)
{
  return GCOBJ_NDATA(((mps_word_t *)obj)[0]);
}

mps_addr_t gcobj_ref(mps_addr_t obj, size_t i)
{
  return ((mps_addr_t *)obj)[GCOBJ_HEAD + i];
}

void gcobj_set_ref(mps_addr_t obj, size_t i, mps_addr_t ref)
{
  ((mps_addr_t *)obj)[GCOBJ_HEAD + i] = ref;
}

/* gcobj_intact, reading only the first and last data words. */
static bool gcobj_intact_ends(mps_addr_t obj)
{
  mps_word_t *w = obj;
  size_t nrefs, ndata;
  if (GCOBJ_TAG(w[0]) != GCOBJ_TAG_OBJ || w[1] == 0)
    return false;
  nrefs = GCOBJ_NREFS(w[0]);
  ndata = GCOBJ_NDATA(w[0]);
  return ndata == 0
         || (w[GCOBJ_HEAD + nrefs] == gcobj_datum(w[1], 0)
             && w[GCOBJ_HEAD + nrefs + ndata - 1] == gcobj_datum(w[1], ndata - 1));
}

bool gcobj_intact(mps_addr_t obj)
{
  mps_word_t *w = obj;
  size_t i, nrefs, ndata;
  if (GCOBJ_TAG(w[0]) != GCOBJ_TAG_OBJ || w[1] == 0)
    return false;
  nrefs = GCOBJ_NREFS(w[0]);
  ndata = GCOBJ_NDATA(w[0]);
  for (i = 0; i < ndata; ++i)
    if (w[GCOBJ_HEAD + nrefs + i] != gcobj_datum(w[1], i))
      return false;
  return true;
}

/* ---- The heap verifier ------------------------------------------------ */

static void gcobj_census_fail(gcobj_census_s *census, const char *what, mps_addr_t addr)
{
  if (!census->failed)
    snprintf(census->message, sizeof census->message, "%s at %p", what, addr);
  census->failed = true;
}

/* The walk's visitor.  It may read only the block it is given and memory
 * the library does not manage, so it copies what the checks after the
 * walk need: the block's extent, pool, id and slots. */
static void gcobj_census_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool,
                              void *p, size_t s)
{
  gcobj_census_s *census = p;
  gcobj_census_entry_s *e;
  mps_word_t *w = addr;
  (void)fmt;
  (void)s;
  if (census->count == census->capacity) {
    size_t cap = census->capacity == 0 ? 1024 : census->capacity * 2;
    gcobj_census_entry_s *grown = realloc(census->entries, cap * sizeof *grown);
    if (grown == NULL) {
      gcobj_census_fail(census, "verifier out of memory", addr);
      return;
    }
    census->entries = grown;
    census->capacity = cap;
  }
  e = &census->entries[census->count++];
  e->addr = addr;
  e->pool = pool;
  e->id = 0;
  e->nrefs = 0;
  e->first_ref = census->nrefs;
  switch (GCOBJ_TAG(w[0])) {
  case GCOBJ_TAG_OBJ: {
    size_t i, n = GCOBJ_NREFS(w[0]);
    e->limit = w + gcobj_words(w[0]);
    e->id = w[1];
    e->nrefs = n;
    ++census->objects;
    census->object_bytes += gcobj_words(w[0]) * sizeof(mps_word_t);
    if (!gcobj_intact(addr))
      gcobj_census_fail(census, "object with damaged data or id", addr);
    if (census->nrefs + n > census->refs_capacity) {
      size_t cap = census->refs_capacity == 0 ? 4096 : census->refs_capacity;
      mps_addr_t *grown;
      while (cap < census->nrefs + n)
        cap *= 2;
      grown = realloc(census->refs, cap * sizeof *grown);
      if (grown == NULL) {
        gcobj_census_fail(census, "verifier out of memory", addr);
        e->nrefs = 0;
        return;
      }
      census->refs = grown;
      census->refs_capacity = cap;
    }
    for (i = 0; i < n; ++i)
      census->refs[census->nrefs++] = ((mps_addr_t *)w)[GCOBJ_HEAD + i];
    break;
  }
  case GCOBJ_TAG_PAD:
    e->limit = w + GCOBJ_WORDS(w[0]);
    ++census->pads;
    census->pad_bytes += GCOBJ_WORDS(w[0]) * sizeof(mps_word_t);
    break;
  case GCOBJ_TAG_FWD:
    e->limit = w + GCOBJ_WORDS(w[0]);
    gcobj_census_fail(census, "forwarding marker visible in a parked heap", addr);
    break;
  default:
    e->limit = w + 1;
    gcobj_census_fail(census, "block with an invalid header", addr);
    break;
  }
}

static int gcobj_entry_cmp(const void *a, const void *b)
{
  uintptr_t x = (uintptr_t)((const gcobj_census_entry_s *)a)->addr;
  uintptr_t y = (uintptr_t)((const gcobj_census_entry_s *)b)->addr;
  return x < y ? -1 : x > y;
}

static int gcobj_id_cmp(const void *a, const void *b)
{
  mps_word_t x = *(const mps_word_t *)a, y = *(const mps_word_t *)b;
  return x < y ? -1 : x > y;
}

const gcobj_census_entry_s *gcobj_census_find(const gcobj_census_s *census, mps_addr_t addr)
{
  size_t lo = 0, hi = census->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    uintptr_t a = (uintptr_t)census->entries[mid].addr;
    if (a == (uintptr_t)addr)
      return &census->entries[mid];
    if (a < (uintptr_t)addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

static bool gcobj_verify_fail(gcobj_census_s *census, const char *what, mps_addr_t addr,
                              mps_word_t id)
{
  snprintf(census->message, sizeof census->message, "%s at %p (object id %lu)", what, addr,
           (unsigned long)id);
  census->failed = true;
  return false;
}

bool gcobj_verify(mps_arena_t arena, const gcobj_pool_s *pools, size_t npools,
                  gcobj_census_s *census)
{
  size_t i, j;
  mps_word_t *ids;
  memset(census, 0, sizeof *census);
  mps_arena_formatted_objects_walk(arena, gcobj_census_step, census, 0);
  if (census->failed)
    return false;
  if (census->count > 1)
    qsort(census->entries, census->count, sizeof *census->entries, gcobj_entry_cmp);

  for (i = 0; i < census->count; ++i) {
    const gcobj_census_entry_s *e = &census->entries[i];
    bool known = false, leaf = false;
    for (j = 0; j < npools; ++j)
      if (pools[j].pool == e->pool) {
        known = true;
        leaf = pools[j].leaf;
      }
    if (!known)
      return gcobj_verify_fail(census, "block in a pool not being verified", e->addr, e->id);
    if (leaf && e->nrefs != 0)
      return gcobj_verify_fail(census, "object with slots in a leaf pool", e->addr, e->id);
    if (i > 0 && (uintptr_t)census->entries[i - 1].limit > (uintptr_t)e->addr)
      return gcobj_verify_fail(census, "block overlapping the one before", e->addr, e->id);
    if (i > 0 && census->entries[i - 1].addr == e->addr)
      return gcobj_verify_fail(census, "block visited twice", e->addr, e->id);
  }

  ids = malloc((census->objects + 1) * sizeof *ids);
  if (ids == NULL)
    return gcobj_verify_fail(census, "verifier out of memory", NULL, 0);
  for (i = 0, j = 0; i < census->count; ++i)
    if (census->entries[i].id != 0)
      ids[j++] = census->entries[i].id;
  qsort(ids, j, sizeof *ids, gcobj_id_cmp);
  for (i = 1; i < j; ++i)
    if (ids[i] == ids[i - 1]
        && !(gcobj_was_retried(ids[i]) && (i + 1 == j || ids[i + 1] != ids[i]))) {
      mps_word_t dup = ids[i];
      free(ids);
      return gcobj_verify_fail(census, "two live copies of one object", NULL, dup);
    }
  free(ids);

  for (i = 0; i < census->count; ++i) {
    const gcobj_census_entry_s *e = &census->entries[i];
    for (j = 0; j < e->nrefs; ++j) {
      mps_addr_t ref = census->refs[e->first_ref + j];
      const gcobj_census_entry_s *target;
      mps_pool_t pool;
      if (ref == NULL)
        continue;
      target = gcobj_census_find(census, ref);
      if (target == NULL)
        return gcobj_verify_fail(census, "slot refers to no walked object", e->addr, e->id);
      if (target->id == 0)
        return gcobj_verify_fail(census, "slot refers to a pad", e->addr, e->id);
      if (!mps_addr_pool(&pool, arena, ref) || pool != target->pool)
        return gcobj_verify_fail(census, "mps_addr_pool disagrees with the walk", ref,
                                 target->id);
    }
  }
  return true;
}

void gcobj_census_finish(gcobj_census_s *census)
{
  free(census->entries);
  free(census->refs);
  memset(census, 0, sizeof *census);
}

/* ---- The shadow graph ------------------------------------------------- */

bool gcobj_model_init(gcobj_model_s *model, size_t capacity, size_t max_refs,
                      size_t nroots, size_t nambig)
{
  size_t i;
  uint32_t *edges;
  memset(model, 0, sizeof *model);
  if (capacity == 0 || capacity >= GCOBJ_NONE || max_refs > GCOBJ_MAX_REFS)
    return false;
  model->objs = calloc(capacity, sizeof *model->objs);
  edges = malloc((capacity * max_refs + 1) * sizeof *edges);
  model->stack = malloc(capacity * sizeof *model->stack);
  model->roots = malloc((nroots + 1) * sizeof *model->roots);
  model->ambig = calloc(nambig + 1, sizeof *model->ambig);
  if (model->objs == NULL || edges == NULL || model->stack == NULL || model->roots == NULL
      || model->ambig == NULL) {
    free(edges);
    gcobj_model_finish(model);
    return false;
  }
  model->capacity = capacity;
  for (i = 0; i < capacity; ++i) {
    model->objs[i].edges = &edges[i * max_refs];
    model->objs[i].next_free = i + 1 < capacity ? (uint32_t)(i + 1) : GCOBJ_NONE;
  }
  model->free_head = 0;
  model->data_every = 1;
  model->nroots = nroots;
  for (i = 0; i < nroots; ++i)
    model->roots[i] = GCOBJ_NONE;
  model->nambig = nambig;
  for (i = 0; i < nambig; ++i)
    model->ambig[i].rec = GCOBJ_NONE;
  return true;
}

void gcobj_model_finish(gcobj_model_s *model)
{
  if (model->objs != NULL)
    free(model->objs[0].edges);   /* the edges of every record, in one block */
  free(model->objs);
  free(model->stack);
  free(model->roots);
  free(model->ambig);
  memset(model, 0, sizeof *model);
}

uint32_t gcobj_model_new(gcobj_model_s *model, mps_word_t id, size_t nrefs, size_t ndata,
                         bool movable)
{
  uint32_t rec = model->free_head, i;
  gcobj_mobj_s *o;
  if (rec == GCOBJ_NONE)
    return GCOBJ_NONE;
  o = &model->objs[rec];
  model->free_head = o->next_free;
  o->id = id;
  o->nrefs = (uint32_t)nrefs;
  o->ndata = (uint32_t)ndata;
  o->movable = movable;
  o->last = NULL;
  o->epoch = 0;
  for (i = 0; i < o->nrefs; ++i)
    o->edges[i] = GCOBJ_NONE;
  ++model->live;
  return rec;
}

static uint32_t gcobj_model_next_epoch(gcobj_model_s *model)
{
  if (++model->epoch == 0) {   /* wrapped: forget every old mark */
    size_t i;
    for (i = 0; i < model->capacity; ++i)
      model->objs[i].epoch = 0;
    model->epoch = 1;
  }
  return model->epoch;
}

size_t gcobj_model_sweep(gcobj_model_s *model)
{
  uint32_t epoch = gcobj_model_next_epoch(model), i;
  size_t sp = 0, freed = 0, k;
  /* Each record is pushed once, when first marked, so the stack needs
   * at most capacity entries. */
#define GCOBJ_MARK(r)                                          \
  do {                                                         \
    uint32_t r_ = (r);                                         \
    if (r_ != GCOBJ_NONE && model->objs[r_].epoch != epoch) {  \
      model->objs[r_].epoch = epoch;                           \
      model->stack[sp++] = r_;                                 \
    }                                                          \
  } while (0)
  for (k = 0; k < model->nroots; ++k)
    GCOBJ_MARK(model->roots[k]);
  for (k = 0; k < model->nambig; ++k)
    if (model->ambig[k].keeps_alive)
      GCOBJ_MARK(model->ambig[k].rec);
  while (sp > 0) {
    gcobj_mobj_s *o = &model->objs[model->stack[--sp]];
    for (i = 0; i < o->nrefs; ++i)
      GCOBJ_MARK(o->edges[i]);
  }
#undef GCOBJ_MARK
  for (i = 0; i < model->capacity; ++i) {
    gcobj_mobj_s *o = &model->objs[i];
    if (o->id != 0 && o->epoch != epoch) {
      o->id = 0;
      o->next_free = model->free_head;
      model->free_head = i;
      --model->live;
      ++freed;
    }
  }
  for (k = 0; k < model->nambig; ++k)
    if (model->ambig[k].rec != GCOBJ_NONE && model->objs[model->ambig[k].rec].id == 0)
      model->ambig[k].rec = GCOBJ_NONE;
  return freed;
}

static bool gcobj_model_fail(gcobj_model_s *model, const char *what, uint32_t rec,
                             mps_addr_t addr)
{
  snprintf(model->message, sizeof model->message, "%s: object id %lu, address %p", what,
           rec == GCOBJ_NONE ? 0ul : (unsigned long)model->objs[rec].id, addr);
  return false;
}

/* Reach record rec at addr: the first time in this check, the object
 * there must be rec's, whole; later, it must be the same address. */
static bool gcobj_model_reach(gcobj_model_s *model, uint32_t rec, mps_addr_t addr,
                              size_t *sp)
{
  gcobj_mobj_s *o = &model->objs[rec];
  mps_word_t *w = addr;
  if (addr == NULL)
    return gcobj_model_fail(model, "a reference the model has is null", rec, addr);
  if (o->epoch == model->epoch)
    return o->last == addr
           || gcobj_model_fail(model, "one object reached at two addresses", rec, addr);
  if (GCOBJ_TAG(w[0]) != GCOBJ_TAG_OBJ)
    return gcobj_model_fail(model, "reference to something not an object", rec, addr);
  if (w[1] != o->id)
    return gcobj_model_fail(model, "reference to the wrong object", rec, addr);
  if (GCOBJ_NREFS(w[0]) != o->nrefs || GCOBJ_NDATA(w[0]) != o->ndata)
    return gcobj_model_fail(model, "object changed shape", rec, addr);
  if (!(model->data_every > 1 && o->last == addr && model->checks % model->data_every != 0
         ? gcobj_intact_ends(addr) : gcobj_intact(addr)))
    return gcobj_model_fail(model, "object data damaged", rec, addr);
  if (o->last != NULL && o->last != addr)
    ++model->moved;
  o->last = addr;
  o->epoch = model->epoch;
  model->stack[(*sp)++] = rec;
  ++model->reached;
  return true;
}

bool gcobj_model_check(gcobj_model_s *model, mps_addr_t const *roots)
{
  size_t sp = 0, k;
  gcobj_model_next_epoch(model);
  ++model->checks;
  /* Ambiguous pointers first: an object they keep must not have moved,
   * so it must be at the recorded base however else it is reached. */
  for (k = 0; k < model->nambig; ++k) {
    const gcobj_mambig_s *a = &model->ambig[k];
    if (a->rec == GCOBJ_NONE || !a->keeps_alive)
      continue;
    if (!gcobj_model_reach(model, a->rec, a->base, &sp))
      return gcobj_model_fail(model, "ambiguously referenced object moved or damaged",
                              a->rec, a->base);
    if (model->objs[a->rec].movable)
      ++model->pinned;
  }
  for (k = 0; k < model->nroots; ++k) {
    if (model->roots[k] == GCOBJ_NONE) {
      if (roots[k] != NULL)
        return gcobj_model_fail(model, "root slot the model has null is not", GCOBJ_NONE,
                                roots[k]);
    } else if (!gcobj_model_reach(model, model->roots[k], roots[k], &sp)) {
      return false;
    }
  }
  while (sp > 0) {
    uint32_t rec = model->stack[--sp], i;
    gcobj_mobj_s *o = &model->objs[rec];
    for (i = 0; i < o->nrefs; ++i) {
      mps_addr_t ref = gcobj_ref(o->last, i);
      if (o->edges[i] == GCOBJ_NONE) {
        if (ref != NULL)
          return gcobj_model_fail(model, "slot the model has null is not", rec, o->last);
      } else if (!gcobj_model_reach(model, o->edges[i], ref, &sp)) {
        return false;
      }
    }
  }
  return true;
}
