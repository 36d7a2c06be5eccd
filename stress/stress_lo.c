/* stress_lo.c: threads making, checking and dropping leaf objects of many
 * sizes in an LO pool while another thread collects (src/pool/pool_lo.c).
 *
 * Each of WORKERS threads has an allocation point and an exact root table
 * of SLOTS blobs.  A blob is a header word (test/support/objfmt.h's,
 * type object), an id, and words derived from the id; sizes run from two
 * words to more than an LO segment, so large objects get segments of
 * their own.  The address of every blob is kept outside the heap too: LO
 * never moves objects, and never scans them (each blob's words include
 * the address of the blob in the next slot, which must not keep it alive
 * -- if it did, the final collection would leave bytes behind).  Workers
 * replace a slot with a new blob, check one (address, size, every word),
 * or clear one.  Natively a worker also holds one blob only in a local
 * variable across a few allocations (its stack is an ambiguous root), and
 * checks it after.  The collector thread collects for as long as the
 * workers run.  The threads and the collector loop are
 * stress/support/gcharness.h's; under ThreadSanitizer the heap is shared
 * under its spinlock (and no blob is held only on a stack).
 */
#include <stdatomic.h>
#include <stdio.h>

#include "../include/mps.h"
#include "../include/mpsclo.h"
#include "../test/support/objfmt.h"
#include "support/gcharness.h"
#include "support/testlib.h"
#include "support/testthr.h"
#include "../test/support/collections.h"

#define WORKERS 4
#define SLOTS 32
#define ITERATIONS 3000
#define MIN_COLLECTS 10
#define W sizeof(mps_word_t)

static gcharness_s slo_h;
static mps_pool_t slo_pool;
static atomic_ulong slo_checked;

typedef struct worker_s {
  uint64_t seed;
  mps_addr_t table[SLOTS];
  mps_word_t *addr[SLOTS];     /* outside the heap: where each blob is */
  mps_word_t id[SLOTS];
  size_t words[SLOTS];
} worker_s;

static mps_word_t slo_word(mps_word_t id, size_t i)
{
  return id * 0x9E3779B1u + i;
}

/* A blob of `words` words (at least 3); word 2 holds `other`, a blob
 * address that must not count as a reference. */
static mps_word_t *slo_new(mps_ap_t ap, size_t words, mps_word_t id, mps_addr_t other)
{
  mps_addr_t p;
  size_t i;
  do {
    mps_word_t *b;
    TESTLIB_REQUIRE(mps_reserve(&p, ap, words * W) == MPS_RES_OK);
    b = p;
    b[0] = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    b[1] = id;
    b[2] = (mps_word_t)other;
    for (i = 3; i < words; ++i)
      b[i] = slo_word(id, i);
  } while (!mps_commit(ap, p, words * W));
  return p;
}

static void slo_require_blob(const mps_word_t *b, size_t words, mps_word_t id)
{
  size_t i;
  TESTLIB_REQUIRE(b[0] == OBJFMT_HDR(words, OBJFMT_T_OBJ) && b[1] == id);
  for (i = 3; i < words; ++i)
    TESTLIB_REQUIRE(b[i] == slo_word(id, i));
}

static size_t slo_size(testlib_rng_s *rng)
{
  switch (testlib_rng_below(rng, 16)) {
  case 0:
    return 3 + (size_t)testlib_rng_below(rng, 12000);   /* up to ~96 KiB: own segment */
  case 1: case 2:
    return 3 + (size_t)testlib_rng_below(rng, 1000);
  default:
    return 3 + (size_t)testlib_rng_below(rng, 30);
  }
}

/* Make a blob held only by this function's frame (an ambiguous root:
 * the frame is below the worker's cold end) across more allocation, and
 * check it after.  Returns the next id. */
static mps_word_t slo_hold(mps_ap_t ap, mps_word_t id)
{
  volatile mps_word_t *local = slo_new(ap, 40, ++id, NULL);
  mps_word_t local_id = id;
  unsigned k;
  for (k = 0; k < 20; ++k)
    (void)slo_new(ap, 3 + k * 20, ++id, NULL);
  slo_require_blob((const mps_word_t *)local, 40, local_id);
  return id;
}

/* Called through a volatile pointer so that it is never inlined into the
 * worker, whose own locals may lie above the cold end. */
static mps_word_t (*volatile slo_hold_fn)(mps_ap_t, mps_word_t) = slo_hold;

static void *slo_work(void *arg, void *cold)
{
  worker_s *wk = arg;
  testlib_rng_s rng;
  gcharness_worker_s w;
  mps_root_t table_root;
  mps_ap_t ap;
  mps_word_t next_id = wk->seed & 0xFFFF;
  unsigned it, s;

  testlib_rng_init(&rng, wk->seed);
  gcharness_worker_enter(&slo_h, &w, cold);
  for (s = 0; s < SLOTS; ++s)
    wk->table[s] = NULL, wk->addr[s] = NULL;
  TESTLIB_REQUIRE(mps_root_create_table(&table_root, slo_h.arena, mps_rank_exact(), 0,
                                        wk->table, SLOTS) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_ap_create_k(&ap, slo_pool, mps_args_none) == MPS_RES_OK);

  for (it = 0; it < ITERATIONS || gcharness_collects(&slo_h) < MIN_COLLECTS; ++it) {
    s = (unsigned)testlib_rng_below(&rng, SLOTS);
    switch (testlib_rng_below(&rng, 8)) {
    case 0: case 1: case 2: {
      size_t words = slo_size(&rng);
      gcharness_lock(&slo_h);
      wk->table[s] = slo_new(ap, words, ++next_id, wk->table[(s + 1) % SLOTS]);
      wk->addr[s] = wk->table[s];
      gcharness_unlock(&slo_h);
      wk->id[s] = next_id;
      wk->words[s] = words;
      break;
    }
    case 3: case 4: case 5:
      gcharness_lock(&slo_h);
      TESTLIB_REQUIRE(wk->table[s] == wk->addr[s]);   /* never moved */
      if (wk->addr[s] != NULL) {
        slo_require_blob(wk->addr[s], wk->words[s], wk->id[s]);
        atomic_fetch_add_explicit(&slo_checked, 1, memory_order_relaxed);   /* statistic */
      }
      gcharness_unlock(&slo_h);
      break;
    case 6:
      if (!GCHARNESS_TSAN)
        next_id = (*slo_hold_fn)(ap, next_id);
      break;
    default:
      gcharness_lock(&slo_h);
      wk->table[s] = NULL;
      wk->addr[s] = NULL;
      gcharness_unlock(&slo_h);
      break;
    }
  }
  mps_ap_destroy(ap);
  mps_root_destroy(table_root);
  gcharness_worker_leave(&slo_h, &w);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_lo");
  static worker_s workers[WORKERS];
  gcharness_collector_s collector = {&slo_h, gcharness_round_collect, 200};
  mps_gen_param_s gens[1] = {{8192, 0.8}};
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  unsigned long collects;
  size_t total;
  unsigned i;

  arena = gcharness_arena_create(0);
  /* No scan method: LO needs only skip. */
  TESTLIB_REQUIRE(objfmt_create(&fmt, arena, NULL, false) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&chain, arena, 1, gens) == MPS_RES_OK);
  slo_pool = gcharness_pool_create(arena, mps_class_lo(), fmt, chain);

  gcharness_init(&slo_h, arena, WORKERS);
  atomic_store_explicit(&slo_checked, 0, memory_order_relaxed);
  for (i = 0; i < WORKERS; ++i) {
    workers[i].seed = gcharness_seed(seed, i);
  }
  gcharness_run(slo_work, workers, sizeof workers[0], WORKERS, gcharness_collector,
                &collector);
  collects = gcharness_collects(&slo_h);   /* joined */

  /* No roots are left, and blobs' words are not references: all goes. */
  mps_arena_collect(arena);
  total = mps_pool_total_size(slo_pool);
  printf("stress_lo: %u workers, %lu blobs checked, %lu explicit and %lu collections in all,"
         " %zu bytes left (%s)\n", WORKERS,
         atomic_load_explicit(&slo_checked, memory_order_relaxed),   /* threads joined */
         collects, (unsigned long)collections_done(arena), total,
         GCHARNESS_MODE);
  TESTLIB_REQUIRE(collects > 0);
  TESTLIB_REQUIRE(total == 0);
  mps_pool_destroy(slo_pool);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
