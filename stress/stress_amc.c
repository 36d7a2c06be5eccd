/* stress_amc.c: threads building and mutating linked lists in an AMC pool
 * (cells) and an AMCZ pool (leaf blobs) while another thread collects
 * (src/pool/pool_amc.c).
 *
 * WORKERS threads each have their own two allocation points and an exact
 * root table of list heads.  A cell refers to the next cell and to a blob
 * whose words are derived from the cell's value; each list's sum of
 * values is kept outside the heap.  Workers repeatedly build a list, walk
 * one and check its length, indices, blobs and sum, rewrite one's values
 * (and blobs), or drop one.  The collector thread runs full collections
 * for as long as the workers run; the pools' small chain also makes the
 * workers' own allocation start collections.  Every collection moves
 * objects under the workers, so any reference not fixed, any object lost
 * or damaged by a copy, or a reserve committed across a collection shows
 * up as a bad list.
 *
 * The threads and the collector loop are stress/support/gcharness.h's.
 * Natively, every thread is registered and its stack is an ambiguous root
 * (so the cell a worker is looking at is pinned), and the collector stops
 * the workers wherever they are.  Under ThreadSanitizer, threads are not
 * suspended (TSan delivers the suspend signal only at its interception
 * points, and would see the collector's reads of objects as races), so
 * there each worker touches the heap only while holding the harness
 * spinlock, under which the collector also collects, and references live
 * across library calls only in the exact root tables.  The summary line
 * says which.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "../include/mps.h"
#include "../include/mpscamc.h"
#include "../test/support/objfmt.h"
#include "support/gcharness.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define WORKERS 4
#define LISTS 8
#define ITERATIONS 8000
#define MIN_COLLECTS 10      /* workers go on until the collector has done these */
#define MAX_LEN 60
#define BLOB_WORDS 4

#define W sizeof(mps_word_t)

/* Objects are in test/support/objfmt.h's format.  A cell: header, nrefs
 * (2), next, blob, list, index, value.  A blob: header, nrefs (0),
 * BLOB_WORDS words. */
enum { C_NEXT, C_BLOB, C_LIST, C_INDEX, C_VALUE, C_WORDS = 2 + 5 };

static gcharness_s samc_h;
static mps_pool_t samc_cells, samc_blobs;
static atomic_ulong samc_checked;      /* cells checked, in total */

static mps_word_t samc_blob_word(mps_word_t value, unsigned i)
{
  return value * 0x9E3779B1u + i;
}

typedef struct worker_s {
  unsigned index;
  uint64_t seed;
  mps_addr_t table[LISTS + 2];   /* list heads, then two scratch slots */
  mps_word_t sum[LISTS], len[LISTS];
} worker_s;

/* Allocate an object of `words` words with `nrefs` references copied from
 * the table slots refs_from[..] (read again on every retry, since a
 * collection may have moved them), and data from `data`. */
static mps_addr_t samc_new(mps_ap_t ap, worker_s *wk, size_t words, mps_word_t nrefs,
                           const unsigned *refs_from, const mps_word_t *data)
{
  mps_addr_t p;
  size_t i;
  do {
    objfmt_obj obj;
    TESTLIB_REQUIRE(mps_reserve(&p, ap, words * W) == MPS_RES_OK);
    obj = p;
    obj->header = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    obj->nrefs = nrefs;
    for (i = 0; i < nrefs; ++i)
      obj->slot[i] = (mps_word_t)wk->table[refs_from[i]];
    for (i = nrefs; i + 2 < words; ++i)
      obj->slot[i] = data[i - nrefs];
  } while (!mps_commit(ap, p, words * W));
  return p;
}

static void samc_build(worker_s *wk, mps_ap_t cell_ap, mps_ap_t blob_ap, unsigned l,
                       unsigned len, testlib_rng_s *rng)
{
  unsigned k;
  gcharness_lock(&samc_h);
  wk->table[l] = NULL;
  gcharness_unlock(&samc_h);
  wk->sum[l] = 0;
  for (k = 0; k < len; ++k) {
    mps_word_t value = testlib_rng_next(rng) & 0xFFFFFF, blob[BLOB_WORDS], cell[3];
    unsigned i, from[2] = {l, LISTS};
    for (i = 0; i < BLOB_WORDS; ++i)
      blob[i] = samc_blob_word(value, i);
    gcharness_lock(&samc_h);
    wk->table[LISTS] = samc_new(blob_ap, wk, 2 + BLOB_WORDS, 0, NULL, blob);
    cell[0] = wk->index * LISTS + l;
    cell[1] = k;
    cell[2] = value;
    wk->table[l] = samc_new(cell_ap, wk, C_WORDS, 2, from, cell);
    wk->table[LISTS] = NULL;
    gcharness_unlock(&samc_h);
    wk->sum[l] += value;
  }
  wk->len[l] = len;
}

static void samc_check(worker_s *wk, unsigned l)
{
  mps_word_t sum = 0, n = 0;
  objfmt_obj cell;
  gcharness_lock(&samc_h);
  for (cell = wk->table[l]; cell != NULL; cell = (objfmt_obj)cell->slot[C_NEXT]) {
    objfmt_obj blob = (objfmt_obj)cell->slot[C_BLOB];
    unsigned i;
    TESTLIB_REQUIRE(OBJFMT_TYPE(cell->header) == OBJFMT_T_OBJ
                    && OBJFMT_WORDS(cell->header) == C_WORDS);
    TESTLIB_REQUIRE(cell->nrefs == 2);
    TESTLIB_REQUIRE(cell->slot[C_LIST] == wk->index * LISTS + l);
    TESTLIB_REQUIRE(cell->slot[C_INDEX] == wk->len[l] - 1 - n);
    TESTLIB_REQUIRE(OBJFMT_TYPE(blob->header) == OBJFMT_T_OBJ
                    && OBJFMT_WORDS(blob->header) == 2 + BLOB_WORDS);
    for (i = 0; i < BLOB_WORDS; ++i)
      TESTLIB_REQUIRE(blob->slot[i] == samc_blob_word(cell->slot[C_VALUE], i));
    sum += cell->slot[C_VALUE];
    ++n;
  }
  gcharness_unlock(&samc_h);
  TESTLIB_REQUIRE(n == wk->len[l]);
  TESTLIB_REQUIRE(sum == wk->sum[l]);
  atomic_fetch_add_explicit(&samc_checked, (unsigned long)n,
                            memory_order_relaxed);   /* a statistic only */
}

/* Rewrite every value of a list in place, with its blob's words. */
static void samc_mutate(worker_s *wk, unsigned l, mps_word_t delta)
{
  objfmt_obj cell;
  gcharness_lock(&samc_h);
  wk->sum[l] = 0;
  for (cell = wk->table[l]; cell != NULL; cell = (objfmt_obj)cell->slot[C_NEXT]) {
    objfmt_obj blob = (objfmt_obj)cell->slot[C_BLOB];
    unsigned i;
    cell->slot[C_VALUE] = (cell->slot[C_VALUE] + delta) & 0xFFFFFF;
    for (i = 0; i < BLOB_WORDS; ++i)
      blob->slot[i] = samc_blob_word(cell->slot[C_VALUE], i);
    wk->sum[l] += cell->slot[C_VALUE];
  }
  gcharness_unlock(&samc_h);
}

static void *samc_work(void *arg, void *cold)
{
  worker_s *wk = arg;
  testlib_rng_s rng;
  gcharness_worker_s w;
  mps_root_t table_root;
  mps_ap_t cell_ap, blob_ap;
  unsigned it, l;

  testlib_rng_init(&rng, wk->seed);
  gcharness_worker_enter(&samc_h, &w, cold);
  for (l = 0; l < LISTS + 2; ++l)
    wk->table[l] = NULL;
  TESTLIB_REQUIRE(mps_root_create_table(&table_root, samc_h.arena, mps_rank_exact(), 0,
                                        wk->table, LISTS + 2) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_ap_create_k(&cell_ap, samc_cells, mps_args_none) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_ap_create_k(&blob_ap, samc_blobs, mps_args_none) == MPS_RES_OK);
  for (l = 0; l < LISTS; ++l)
    wk->len[l] = wk->sum[l] = 0;

  for (it = 0; it < ITERATIONS || gcharness_collects(&samc_h) < MIN_COLLECTS; ++it) {
    l = (unsigned)testlib_rng_below(&rng, LISTS);
    switch (testlib_rng_below(&rng, 8)) {
    case 0: case 1: case 2:
      samc_build(wk, cell_ap, blob_ap, l, 1 + (unsigned)testlib_rng_below(&rng, MAX_LEN),
                 &rng);
      break;
    case 3: case 4: case 5:
      samc_check(wk, l);
      break;
    case 6:
      samc_mutate(wk, l, testlib_rng_next(&rng));
      break;
    default:
      gcharness_lock(&samc_h);
      wk->table[l] = NULL;
      gcharness_unlock(&samc_h);
      wk->len[l] = wk->sum[l] = 0;
      break;
    }
  }
  for (l = 0; l < LISTS; ++l)
    samc_check(wk, l);

  mps_ap_destroy(blob_ap);
  mps_ap_destroy(cell_ap);
  mps_root_destroy(table_root);
  gcharness_worker_leave(&samc_h, &w);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_amc");
  static worker_s workers[WORKERS];
  gcharness_collector_s collector = {&samc_h, gcharness_round_collect, 200};
  mps_gen_param_s gens[2] = {{1024, 0.8}, {4096, 0.5}};
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  unsigned long collects;
  unsigned i;

  arena = gcharness_arena_create(0);
  TESTLIB_REQUIRE(objfmt_create(&fmt, arena, objfmt_scan, true) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  samc_cells = gcharness_pool_create(arena, mps_class_amc(), fmt, chain);
  samc_blobs = gcharness_pool_create(arena, mps_class_amcz(), fmt, chain);

  gcharness_init(&samc_h, arena, WORKERS);
  atomic_store_explicit(&samc_checked, 0, memory_order_relaxed);   /* before the threads */
  for (i = 0; i < WORKERS; ++i) {
    workers[i].index = i;
    workers[i].seed = gcharness_seed(seed, i);
  }
  gcharness_run(samc_work, workers, sizeof workers[0], WORKERS, gcharness_collector,
                &collector);
  collects = gcharness_collects(&samc_h);   /* joined */

  printf("stress_amc: %u workers, %lu cells checked, %lu explicit and %lu collections in all"
         " (%s)\n", WORKERS,
         atomic_load_explicit(&samc_checked, memory_order_relaxed),   /* threads joined */
         collects, (unsigned long)mps_collections(arena), GCHARNESS_MODE);
  TESTLIB_REQUIRE(collects > 0);
  mps_pool_destroy(samc_blobs);
  mps_pool_destroy(samc_cells);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
