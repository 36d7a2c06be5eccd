/* stress_transform.c: threads building and checking linked lists in an
 * AMC pool while another thread parks the arena, replaces some of their
 * cells by new versions through transforms, and collects
 * (src/gc/transform.c).
 *
 * WORKERS threads each have an exact root table of list heads.  A cell
 * refers to the next cell and to a blob whose words are derived from the
 * cell's value; it also holds its list, index, value, a serial number
 * unique to the cell, and a version whose number sets the cell's size
 * (a new version of a cell has a different size, as when a class gains a
 * field).  Cells never change once made.  Workers build lists, walk them
 * checking every cell (list, index, blob, the size its version implies,
 * and the list's sum kept outside the heap), or drop them.
 *
 * The transformer thread alternates full collections with transform
 * rounds: park; for a few workers, pick some cells of one list and make a
 * copy of each with the next version (a new serial, the same list, index,
 * value, next and blob); add the pairs; apply; then, if it was applied,
 * check that no list of any worker still reaches a replaced cell (by
 * serial, since an old cell's memory is reused once it is dead); release.
 *
 * The workers' half of the shell is stress/support/gcharness.h's; the
 * transformer thread (which parks the arena and takes each worker's own
 * lock) is this harness's.  Natively, every worker is registered with its
 * stack as an ambiguous root, and apply suspends the workers wherever
 * they are.  A worker may then hold a cell in a register or a stack slot,
 * and a transform with that cell among its old ones is refused: the
 * harness counts refusals, and needs some transforms applied.  Under
 * ThreadSanitizer, threads are not suspended (see gcharness.h), so there
 * each worker touches the heap only while holding the harness spinlock,
 * under which the transformer does its whole round, and references live
 * across library calls only in the exact root tables; no root is
 * ambiguous, so every transform must apply.  Elsewhere a worker's lists
 * are guarded by its own spinlock, which the transformer takes to copy
 * cells and to check.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "../include/mps.h"
#include "../include/mpscamc.h"
#include "../test/support/objfmt.h"
#include "support/gcharness.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define WORKERS 4
#define LISTS 8
#define ITERATIONS 3000
#define MIN_ROUNDS 8         /* workers go on until this many transform rounds */
#define MAX_LEN 40
#define BLOB_WORDS 3
#define MAX_PAIRS 96

#define W sizeof(mps_word_t)

/* A cell: header, nrefs (2), next, blob, list, index, value, serial,
 * version, then version % 3 spare words.  A blob: header, nrefs (0),
 * BLOB_WORDS words. */
enum { C_NEXT, C_BLOB, C_LIST, C_INDEX, C_VALUE, C_SERIAL, C_VERSION, C_FIXED = 2 + 7 };

static size_t stf_cell_words(mps_word_t version)
{
  return C_FIXED + (size_t)(version % 3);
}

static gcharness_s stf_h;
static mps_pool_t stf_cells, stf_blobs;
static atomic_ulong stf_checked;       /* cells checked, in total */
static atomic_ulong stf_upgraded_seen; /* cells checked with version > 0 */
static atomic_ulong stf_rounds;        /* transform rounds finished */
static atomic_ulong stf_serial;        /* the next cell serial */

typedef struct worker_s {
  unsigned index;
  uint64_t seed;
  testthr_spin_s spin;           /* natively: its lists' owner */
  bool active;                   /* its table is a root (under the lock) */
  atomic_int wanted;             /* the transformer is waiting for the lock */
  mps_addr_t table[LISTS + 2];   /* list heads, then two scratch slots */
  mps_word_t sum[LISTS], len[LISTS];
} worker_s;

static worker_s stf_workers[WORKERS];

/* Taken by a worker around every touch of its lists. */
static void stf_lock(worker_s *wk)
{
  testthr_spin_lock(GCHARNESS_TSAN ? &stf_h.spin : &wk->spin);
}

static void stf_unlock(worker_s *wk)
{
  testthr_spin_unlock(GCHARNESS_TSAN ? &stf_h.spin : &wk->spin);
}

/* Taken by the transformer to look at a worker's lists; under TSan it
 * already holds the harness lock for its whole round. */
static void stf_lock_other(worker_s *wk)
{
  if (!GCHARNESS_TSAN) {
    /* Relaxed: only a hint that makes the worker step back between
     * operations, since the spinlock itself is not fair. */
    atomic_store_explicit(&wk->wanted, 1, memory_order_relaxed);
    testthr_spin_lock(&wk->spin);
    atomic_store_explicit(&wk->wanted, 0, memory_order_relaxed);
  }
}

static void stf_unlock_other(worker_s *wk)
{
  if (!GCHARNESS_TSAN)
    testthr_spin_unlock(&wk->spin);
}

static mps_word_t stf_blob_word(mps_word_t value, unsigned i)
{
  return value * 0x9E3779B1u + i;
}

static mps_word_t stf_new_serial(void)
{
  /* Relaxed: only uniqueness matters, which the atomic add gives. */
  return (mps_word_t)atomic_fetch_add_explicit(&stf_serial, 1, memory_order_relaxed);
}

/* Allocate a cell of `version` with the given fields (next and blob read
 * from *next_from and *blob_from again on every retry, since they may be
 * root slots that a collection updates). */
static mps_addr_t stf_new_cell(mps_ap_t ap, mps_addr_t *next_from, mps_addr_t *blob_from,
                               mps_word_t list, mps_word_t index, mps_word_t value,
                               mps_word_t version)
{
  size_t words = stf_cell_words(version), i;
  mps_word_t serial = stf_new_serial();
  mps_addr_t p;
  do {
    objfmt_obj obj;
    TESTLIB_REQUIRE(mps_reserve(&p, ap, words * W) == MPS_RES_OK);
    obj = p;
    obj->header = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    obj->nrefs = 2;
    obj->slot[C_NEXT] = (mps_word_t)*next_from;
    obj->slot[C_BLOB] = (mps_word_t)*blob_from;
    obj->slot[C_LIST] = list;
    obj->slot[C_INDEX] = index;
    obj->slot[C_VALUE] = value;
    obj->slot[C_SERIAL] = serial;
    obj->slot[C_VERSION] = version;
    for (i = C_FIXED; i < words; ++i)
      ((mps_word_t *)p)[i] = 0;
  } while (!mps_commit(ap, p, words * W));
  return p;
}

static mps_addr_t stf_new_blob(mps_ap_t ap, mps_word_t value)
{
  mps_addr_t p;
  unsigned i;
  do {
    objfmt_obj obj;
    TESTLIB_REQUIRE(mps_reserve(&p, ap, (2 + BLOB_WORDS) * W) == MPS_RES_OK);
    obj = p;
    obj->header = OBJFMT_HDR(2 + BLOB_WORDS, OBJFMT_T_OBJ);
    obj->nrefs = 0;
    for (i = 0; i < BLOB_WORDS; ++i)
      obj->slot[i] = stf_blob_word(value, i);
  } while (!mps_commit(ap, p, (2 + BLOB_WORDS) * W));
  return p;
}

static void stf_build(worker_s *wk, mps_ap_t cell_ap, mps_ap_t blob_ap, unsigned l,
                      unsigned len, testlib_rng_s *rng)
{
  unsigned k;
  stf_lock(wk);
  wk->table[l] = NULL;
  stf_unlock(wk);
  wk->sum[l] = 0;
  for (k = 0; k < len; ++k) {
    mps_word_t value = testlib_rng_next(rng) & 0xFFFFFF;
    stf_lock(wk);
    wk->table[LISTS] = stf_new_blob(blob_ap, value);
    wk->table[l] = stf_new_cell(cell_ap, &wk->table[l], &wk->table[LISTS],
                                wk->index * LISTS + l, k, value, 0);
    wk->table[LISTS] = NULL;
    stf_unlock(wk);
    wk->sum[l] += value;
  }
  wk->len[l] = len;
}

static void stf_check(worker_s *wk, unsigned l)
{
  mps_word_t sum = 0, n = 0;
  unsigned long upgraded = 0;
  objfmt_obj cell;
  stf_lock(wk);
  for (cell = wk->table[l]; cell != NULL; cell = (objfmt_obj)cell->slot[C_NEXT]) {
    objfmt_obj blob = (objfmt_obj)cell->slot[C_BLOB];
    unsigned i;
    TESTLIB_REQUIRE(OBJFMT_TYPE(cell->header) == OBJFMT_T_OBJ && cell->nrefs == 2);
    TESTLIB_REQUIRE(OBJFMT_WORDS(cell->header) == stf_cell_words(cell->slot[C_VERSION]));
    TESTLIB_REQUIRE(cell->slot[C_LIST] == wk->index * LISTS + l);
    TESTLIB_REQUIRE(cell->slot[C_INDEX] == wk->len[l] - 1 - n);
    TESTLIB_REQUIRE(OBJFMT_TYPE(blob->header) == OBJFMT_T_OBJ
                    && OBJFMT_WORDS(blob->header) == 2 + BLOB_WORDS);
    for (i = 0; i < BLOB_WORDS; ++i)
      TESTLIB_REQUIRE(blob->slot[i] == stf_blob_word(cell->slot[C_VALUE], i));
    if (cell->slot[C_VERSION] > 0)
      ++upgraded;
    sum += cell->slot[C_VALUE];
    ++n;
  }
  stf_unlock(wk);
  TESTLIB_REQUIRE(n == wk->len[l]);
  TESTLIB_REQUIRE(sum == wk->sum[l]);
  /* Relaxed: statistics only. */
  atomic_fetch_add_explicit(&stf_checked, (unsigned long)n, memory_order_relaxed);
  atomic_fetch_add_explicit(&stf_upgraded_seen, upgraded, memory_order_relaxed);
}

static void *stf_work(void *arg, void *cold)
{
  worker_s *wk = arg;
  testlib_rng_s rng;
  gcharness_worker_s w;
  mps_root_t table_root;
  mps_ap_t cell_ap, blob_ap;
  unsigned it, l;

  testlib_rng_init(&rng, wk->seed);
  gcharness_worker_enter(&stf_h, &w, cold);
  TESTLIB_REQUIRE(mps_root_create_table(&table_root, stf_h.arena, mps_rank_exact(), 0,
                                        wk->table, LISTS + 2) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_ap_create_k(&cell_ap, stf_cells, mps_args_none) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_ap_create_k(&blob_ap, stf_blobs, mps_args_none) == MPS_RES_OK);

  /* Relaxed: the count only decides how long to go on. */
  for (it = 0; it < ITERATIONS
       || atomic_load_explicit(&stf_rounds, memory_order_relaxed) < MIN_ROUNDS; ++it) {
    /* Relaxed: a hint (stf_lock_other). */
    while (atomic_load_explicit(&wk->wanted, memory_order_relaxed))
      testthr_yield();
    l = (unsigned)testlib_rng_below(&rng, LISTS);
    switch (testlib_rng_below(&rng, 8)) {
    case 0: case 1:
      stf_build(wk, cell_ap, blob_ap, l, 1 + (unsigned)testlib_rng_below(&rng, MAX_LEN),
                &rng);
      break;
    case 7:
      stf_lock(wk);
      wk->table[l] = NULL;
      stf_unlock(wk);
      wk->len[l] = wk->sum[l] = 0;
      break;
    default:
      stf_check(wk, l);
      break;
    }
  }
  for (l = 0; l < LISTS; ++l)
    stf_check(wk, l);

  mps_ap_destroy(blob_ap);
  mps_ap_destroy(cell_ap);
  /* From here its lists are not roots: the transformer leaves them. */
  stf_lock(wk);
  wk->active = false;
  mps_root_destroy(table_root);
  stf_unlock(wk);
  gcharness_worker_leave(&stf_h, &w);
  return NULL;
}

/* The transformer's tables; not roots: the arena is parked from before
 * the first new cell is made until after the transform is applied. */
static mps_addr_t stf_olds[MAX_PAIRS], stf_news[MAX_PAIRS];
static mps_word_t stf_old_serials[MAX_PAIRS];

/* Copy up to `room` cells of one list of `wk` as new versions into the
 * tables from index `at`; returns how many. */
static unsigned stf_pick(worker_s *wk, mps_ap_t ap, testlib_rng_s *rng, unsigned at,
                         unsigned room, bool keep)
{
  unsigned l = (unsigned)testlib_rng_below(rng, LISTS), n = 0;
  unsigned every = 1 + (unsigned)testlib_rng_below(rng, 4);
  objfmt_obj cell;
  unsigned k = 0;
  stf_lock_other(wk);
  if (!wk->active) {
    if (!keep)
      stf_unlock_other(wk);
    return 0;
  }
  for (cell = wk->table[l]; cell != NULL && n < room;
       cell = (objfmt_obj)cell->slot[C_NEXT], ++k) {
    mps_addr_t next, blob;
    if (k % every != 0)
      continue;
    next = (mps_addr_t)cell->slot[C_NEXT];
    blob = (mps_addr_t)cell->slot[C_BLOB];
    stf_olds[at + n] = cell;
    stf_old_serials[at + n] = cell->slot[C_SERIAL];
    stf_news[at + n] = stf_new_cell(ap, &next, &blob, cell->slot[C_LIST],
                                    cell->slot[C_INDEX], cell->slot[C_VALUE],
                                    cell->slot[C_VERSION] + 1);
    ++n;
  }
  if (!keep)
    stf_unlock_other(wk);
  return n;
}

static bool stf_was_replaced(mps_word_t serial, unsigned count)
{
  unsigned i;
  for (i = 0; i < count; ++i)
    if (stf_old_serials[i] == serial)
      return true;
  return false;
}

/* After an applied transform: no worker's list reaches a replaced cell.
 * Returns how many cells of a new version the lists reach.  The lists of
 * worker `held` are already locked by the caller. */
static unsigned long stf_check_none_old(unsigned count, unsigned held)
{
  unsigned w, l;
  unsigned long upgraded = 0;
  for (w = 0; w < WORKERS; ++w) {
    worker_s *wk = &stf_workers[w];
    if (w != held)
      stf_lock_other(wk);
    for (l = 0; wk->active && l < LISTS; ++l) {
      objfmt_obj cell;
      for (cell = wk->table[l]; cell != NULL; cell = (objfmt_obj)cell->slot[C_NEXT]) {
        TESTLIB_REQUIRE(!stf_was_replaced(cell->slot[C_SERIAL], count));
        if (cell->slot[C_VERSION] > 0)
          ++upgraded;
      }
    }
    if (w != held)
      stf_unlock_other(wk);
  }
  return upgraded;
}

typedef struct transformer_s {
  uint64_t seed;
  unsigned long applied, refused, replaced, upgraded;
} transformer_s;

/* One round; returns the number of pairs. */
static unsigned stf_round(transformer_s *tf, mps_ap_t ap, testlib_rng_s *rng)
{
  mps_transform_t transform;
  mps_bool_t applied = 7;
  unsigned count = 0, first, i;

  gcharness_lock(&stf_h);
  mps_arena_park(stf_h.arena);
  TESTLIB_REQUIRE(mps_transform_create(&transform, stf_h.arena) == MPS_RES_OK);
  first = (unsigned)testlib_rng_below(rng, WORKERS);
  for (i = 0; i < 3; ++i) {
    /* Distinct workers, so that no old cell is given twice.  The first
     * is kept out of its lists until the transform is applied and
     * checked, so that the cells picked from it are still there, in their
     * new versions; the others go on. */
    worker_s *wk = &stf_workers[(first + i) % WORKERS];
    unsigned n = stf_pick(wk, ap, rng, count, MAX_PAIRS / 3, i == 0);
    TESTLIB_REQUIRE(mps_transform_add_oldnew(transform, stf_olds + count, stf_news + count, n)
                    == MPS_RES_OK);
    count += n;
  }
  TESTLIB_REQUIRE(mps_transform_apply(&applied, transform) == MPS_RES_OK);
  TESTLIB_REQUIRE(applied == 0 || applied == 1);
  mps_transform_destroy(transform);
  if (applied) {
    ++tf->applied;
    tf->replaced += count;
    tf->upgraded += stf_check_none_old(count, first);
  } else {
    ++tf->refused;
  }
  stf_unlock_other(&stf_workers[first]);
  mps_arena_release(stf_h.arena);
  gcharness_unlock(&stf_h);
  return count;
}

static void *stf_transformer(void *arg)
{
  transformer_s *tf = arg;
  testlib_rng_s rng;
  mps_thr_t thr = NULL;
  mps_ap_t ap;
  unsigned spin;
  testlib_rng_init(&rng, tf->seed);
  /* Registered, since collections by an unregistered thread are refused
   * while thread roots exist, but with no stack root: its tables hold the
   * old cells. */
  if (!GCHARNESS_TSAN)
    TESTLIB_REQUIRE(mps_thread_reg(&thr, stf_h.arena) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_ap_create_k(&ap, stf_cells, mps_args_none) == MPS_RES_OK);
  while (gcharness_working(&stf_h)) {
    if (testlib_rng_below(&rng, 3) == 0) {
      gcharness_lock(&stf_h);
      mps_arena_collect(stf_h.arena);
      mps_arena_release(stf_h.arena);
      gcharness_unlock(&stf_h);
    } else {
      /* Only rounds that had cells to replace count. */
      if (stf_round(tf, ap, &rng) > 0)
        atomic_fetch_add_explicit(&stf_rounds, 1,
                                  memory_order_relaxed);   /* a count, read by workers */
    }
    for (spin = 0; spin < 10; ++spin)
      testthr_yield();
  }
  mps_ap_destroy(ap);
  if (!GCHARNESS_TSAN)
    mps_thread_dereg(thr);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_transform");
  mps_arena_t arena;
  transformer_s tf = {0, 0, 0, 0, 0};
  mps_gen_param_s gens[2] = {{1024, 0.8}, {4096, 0.5}};
  mps_fmt_t fmt;
  mps_chain_t chain;
  unsigned long upgraded;
  unsigned i, l;

  arena = gcharness_arena_create(0);
  TESTLIB_REQUIRE(objfmt_create(&fmt, arena, objfmt_scan, true) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  stf_cells = gcharness_pool_create(arena, mps_class_amc(), fmt, chain);
  stf_blobs = gcharness_pool_create(arena, mps_class_amcz(), fmt, chain);

  gcharness_init(&stf_h, arena, WORKERS);
  /* Relaxed: before any thread starts. */
  atomic_store_explicit(&stf_checked, 0, memory_order_relaxed);
  atomic_store_explicit(&stf_upgraded_seen, 0, memory_order_relaxed);
  atomic_store_explicit(&stf_rounds, 0, memory_order_relaxed);
  atomic_store_explicit(&stf_serial, 1, memory_order_relaxed);
  for (i = 0; i < WORKERS; ++i) {
    worker_s *wk = &stf_workers[i];
    wk->index = i;
    wk->seed = gcharness_seed(seed, i);
    testthr_spin_init(&wk->spin);
    wk->active = true;
    atomic_store_explicit(&wk->wanted, 0, memory_order_relaxed);   /* before it starts */
    for (l = 0; l < LISTS + 2; ++l)
      wk->table[l] = NULL;
    for (l = 0; l < LISTS; ++l)
      wk->len[l] = wk->sum[l] = 0;
  }
  tf.seed = seed ^ 0x5DEECE66Du;
  gcharness_run(stf_work, stf_workers, sizeof stf_workers[0], WORKERS, stf_transformer, &tf);
  /* Relaxed: the threads are joined. */
  upgraded = atomic_load_explicit(&stf_upgraded_seen, memory_order_relaxed);

  printf("stress_transform: %u workers, %lu cells checked (%lu of a new version);"
         " %lu transforms applied (%lu cells replaced, %lu new versions in the lists after),"
         " %lu refused; %lu collections (%s)\n",
         WORKERS, atomic_load_explicit(&stf_checked, memory_order_relaxed), upgraded,
         tf.applied, tf.replaced, tf.upgraded, tf.refused, (unsigned long)mps_collections(arena),
         GCHARNESS_MODE);
  TESTLIB_REQUIRE(tf.applied > 0 && tf.replaced > 0);
  TESTLIB_REQUIRE(tf.upgraded > 0);
  if (GCHARNESS_TSAN)
    TESTLIB_REQUIRE(tf.refused == 0);   /* no ambiguous root */
  mps_pool_destroy(stf_blobs);
  mps_pool_destroy(stf_cells);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
