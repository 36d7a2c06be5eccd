/* stress_awl.c: threads keeping weak-key tables in AWL pools while
 * another thread collects (src/pool/pool_awl.c, manual/pool/awl.rst).
 *
 * WORKERS threads each have their own allocation points (exact ones on
 * AMC, AMS and AWL pools, and a weak one on the AWL pool) and their own
 * weak-key table: two AWL arrays of SLOTS slots, keys (weak) and values
 * (exact), each the other's dependent, whose scan method deletes a value
 * when its key is splatted.  Keys are objects in any of the three pools,
 * values AMC objects; an exact root table holds the two arrays and the
 * strong references to keys.  The model, per slot: empty, strong (the key
 * is also in the root) or weak-only, with the key's and value's stamps.
 * Workers insert strong or weak-only keys, delete entries, drop strong
 * references, and check the table against the model whenever a
 * collection has finished since their last check: a strong key is
 * present, is its strong reference's object (AMC keys move, so this checks
 * that weak references are updated), and is intact with its value; an
 * empty slot is empty; a weak-only slot is empty in both arrays or intact
 * (stacks are ambiguous roots natively, so a dead key may be kept).  At the
 * end, with no thread registered and no allocation point left, main
 * collects and every weak-only key must be gone and every strong one
 * present.
 *
 * The threads and the collector loop are stress/support/gcharness.h's:
 * natively every thread is registered and its stack is
 * an ambiguous root; under ThreadSanitizer threads are not suspended, so
 * the heap is touched only under the harness spinlock, under which the
 * collector also collects.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "../include/mps.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpscawl.h"
#include "../test/support/awlarr.h"
#include "../test/support/objfmt.h"
#include "support/gcharness.h"
#include "support/testlib.h"
#include "support/testthr.h"
#include "../test/support/collections.h"

#define WORKERS 4
#define SLOTS 32
#define ITERATIONS 4000
#define MIN_COLLECTS 10
#define W sizeof(mps_word_t)

/* The format is test/support/objfmt.h's with the scan of
 * test/support/awlarr.h: arrays (awlarr.h's, of SLOTS slots) are scanned;
 * an object is a leaf, header, stamp, two words derived from the stamp. */
#define OBJ_WORDS 4

static mps_res_t sawl_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  return awlarr_scan(ss, base, limit, NULL, NULL);
}

static gcharness_s sawl_h;
static mps_pool_t sawl_pools[3];   /* AMC, AMS, AWL */
static atomic_ulong sawl_checks;

enum { S_EMPTY, S_STRONG, S_WEAK };

/* The root table: keys, values, a temporary, then strong references. */
#define R_KEYS 0
#define R_VALS 1
#define R_TMP 2
#define R_STRONG(i) (3 + (i))

typedef struct worker_s {
  unsigned index;
  uint64_t seed;
  mps_root_t table_root;
  mps_addr_t table[3 + SLOTS];
  int state[SLOTS];
  mps_word_t key_stamp[SLOTS], val_stamp[SLOTS];
  mps_word_t serial;
} worker_s;

/* Into wk->table[R_TMP]; call with the lock held. */
static void sawl_obj(worker_s *wk, mps_ap_t ap, mps_word_t stamp)
{
  mps_addr_t p;
  do {
    mps_word_t *w;
    TESTLIB_REQUIRE(mps_reserve(&p, ap, OBJ_WORDS * W) == MPS_RES_OK);
    w = p;
    w[0] = OBJFMT_HDR(OBJ_WORDS, OBJFMT_T_OBJ);
    w[1] = stamp;
    w[2] = stamp * 2654435761u;
    w[3] = ~stamp;
  } while (!mps_commit(ap, p, OBJ_WORDS * W));
  wk->table[R_TMP] = p;
}

static int sawl_obj_ok(const mps_word_t *w, mps_word_t stamp)
{
  return w[0] == OBJFMT_HDR(OBJ_WORDS, OBJFMT_T_OBJ) && w[1] == stamp
         && w[2] == stamp * 2654435761u && w[3] == ~stamp;
}

static void sawl_arr(worker_s *wk, mps_ap_t ap, size_t index)
{
  mps_addr_t p;
  size_t words = AWLARR_WORDS(SLOTS);
  gcharness_lock(&sawl_h);
  do {
    TESTLIB_REQUIRE(mps_reserve(&p, ap, words * W) == MPS_RES_OK);
    awlarr_init(p, SLOTS);
  } while (!mps_commit(ap, p, words * W));
  wk->table[index] = p;
  gcharness_unlock(&sawl_h);
}

static void sawl_check(worker_s *wk, int exact_death)
{
  awlarr_s *keys, *vals;
  size_t i;
  gcharness_lock(&sawl_h);
  keys = wk->table[R_KEYS];
  vals = wk->table[R_VALS];
  TESTLIB_REQUIRE(keys->dependent == vals && vals->dependent == keys);
  for (i = 0; i < SLOTS; ++i) {
    /* The key first: once read it is on the stack, which keeps it.  A
     * collection can stop this thread between the two reads, so the
     * compiler must not load the value first (seen on aarch64: a value
     * read before the splat beside a key read after it); the suspension
     * itself orders the thread against the collector. */
    mps_word_t *k = (mps_word_t *)keys->slot[i];
    mps_word_t *v;
    atomic_signal_fence(memory_order_seq_cst);
    v = (mps_word_t *)vals->slot[i];
    switch (wk->state[i]) {
    case S_EMPTY:
      TESTLIB_REQUIRE(k == NULL && v == NULL);
      break;
    case S_STRONG:
      TESTLIB_REQUIRE(k != NULL && (mps_addr_t)k == wk->table[R_STRONG(i)]);
      TESTLIB_REQUIRE(sawl_obj_ok(k, wk->key_stamp[i]));
      TESTLIB_REQUIRE(v != NULL && sawl_obj_ok(v, wk->val_stamp[i]));
      break;
    default:
      if (k == NULL) {
        TESTLIB_REQUIRE(v == NULL);   /* deleted with its key */
        wk->state[i] = S_EMPTY;
      } else {
        TESTLIB_REQUIRE(!exact_death);
        TESTLIB_REQUIRE(sawl_obj_ok(k, wk->key_stamp[i]));
        TESTLIB_REQUIRE(v != NULL && sawl_obj_ok(v, wk->val_stamp[i]));
      }
      break;
    }
  }
  gcharness_unlock(&sawl_h);
  atomic_fetch_add_explicit(&sawl_checks, 1, memory_order_relaxed);   /* a statistic */
}

static void *sawl_work(void *arg, void *cold)
{
  worker_s *wk = arg;
  testlib_rng_s rng;
  gcharness_worker_s w;
  mps_ap_t ap[3], weak_ap;
  unsigned long seen = 0, now;
  unsigned it, i;

  testlib_rng_init(&rng, wk->seed);
  gcharness_worker_enter(&sawl_h, &w, cold);
  for (i = 0; i < 3 + SLOTS; ++i)
    wk->table[i] = NULL;
  for (i = 0; i < SLOTS; ++i)
    wk->state[i] = S_EMPTY;
  TESTLIB_REQUIRE(mps_root_create_table(&wk->table_root, sawl_h.arena, mps_rank_exact(), 0,
                                        wk->table, 3 + SLOTS) == MPS_RES_OK);
  for (i = 0; i < 3; ++i)
    TESTLIB_REQUIRE(mps_ap_create_k(&ap[i], sawl_pools[i], mps_args_none) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    TESTLIB_REQUIRE(mps_ap_create_k(&weak_ap, sawl_pools[2], args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  sawl_arr(wk, weak_ap, R_KEYS);
  sawl_arr(wk, ap[2], R_VALS);
  gcharness_lock(&sawl_h);
  ((awlarr_s *)wk->table[R_KEYS])->dependent = wk->table[R_VALS];
  ((awlarr_s *)wk->table[R_VALS])->dependent = wk->table[R_KEYS];
  gcharness_unlock(&sawl_h);

  for (it = 0; it < ITERATIONS || gcharness_collects(&sawl_h) < MIN_COLLECTS; ++it) {
    i = (unsigned)testlib_rng_below(&rng, SLOTS);
    switch (testlib_rng_below(&rng, 8)) {
    case 0: case 1: case 2: case 3: {   /* insert, strong or weak-only */
      int strong = testlib_rng_below(&rng, 3) != 0;
      unsigned pool = (unsigned)testlib_rng_below(&rng, 3);
      mps_word_t ks = ++wk->serial, vs = ++wk->serial;
      gcharness_lock(&sawl_h);
      sawl_obj(wk, ap[pool], ks);
      ((awlarr_s *)wk->table[R_KEYS])->slot[i] = (mps_word_t)wk->table[R_TMP];
      /* Held strongly until its value is in: a collection while the
       * value is made (segments being filled are condemned too) would
       * otherwise splat a weak-only key before its value exists. */
      wk->table[R_STRONG(i)] = wk->table[R_TMP];
      sawl_obj(wk, ap[0], vs);
      ((awlarr_s *)wk->table[R_VALS])->slot[i] = (mps_word_t)wk->table[R_TMP];
      if (!strong)
        wk->table[R_STRONG(i)] = NULL;
      wk->table[R_TMP] = NULL;
      gcharness_unlock(&sawl_h);
      wk->state[i] = strong ? S_STRONG : S_WEAK;
      wk->key_stamp[i] = ks;
      wk->val_stamp[i] = vs;
      break;
    }
    case 4:     /* delete */
      gcharness_lock(&sawl_h);
      ((awlarr_s *)wk->table[R_KEYS])->slot[i] = 0;
      ((awlarr_s *)wk->table[R_VALS])->slot[i] = 0;
      wk->table[R_STRONG(i)] = NULL;
      gcharness_unlock(&sawl_h);
      wk->state[i] = S_EMPTY;
      break;
    case 5:     /* drop the strong reference */
      if (wk->state[i] == S_STRONG) {
        gcharness_lock(&sawl_h);
        wk->table[R_STRONG(i)] = NULL;
        gcharness_unlock(&sawl_h);
        wk->state[i] = S_WEAK;
      }
      break;
    default:
      break;
    }
    /* After each collection (explicit or started by allocation), the
     * table against the model. */
    now = (unsigned long)collections_done(sawl_h.arena);
    if (now != seen) {
      seen = now;
      sawl_check(wk, 0);
    }
  }
  sawl_check(wk, 0);

  mps_ap_destroy(weak_ap);
  for (i = 0; i < 3; ++i)
    mps_ap_destroy(ap[i]);
  /* The table root stays for main's last check. */
  gcharness_worker_leave(&sawl_h, &w);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_awl");
  static worker_s workers[WORKERS];
  gcharness_collector_s collector = {&sawl_h, gcharness_round_collect, 200};
  mps_gen_param_s gens[2] = {{512, 0.8}, {2048, 0.4}};
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  unsigned long collects;
  size_t total;
  unsigned i, p;

  arena = gcharness_arena_create(0);
  TESTLIB_REQUIRE(objfmt_create(&fmt, arena, sawl_scan, true) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  sawl_pools[0] = gcharness_pool_create(arena, mps_class_amc(), fmt, chain);
  sawl_pools[1] = gcharness_pool_create(arena, mps_class_ams(), fmt, chain);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    MPS_ARGS_ADD(args, MPS_KEY_AWL_FIND_DEPENDENT, awlarr_find_dependent);
    TESTLIB_REQUIRE(mps_pool_create_k(&sawl_pools[2], arena, mps_class_awl(), args)
                    == MPS_RES_OK);
  } MPS_ARGS_END(args);

  gcharness_init(&sawl_h, arena, WORKERS);
  atomic_store_explicit(&sawl_checks, 0, memory_order_relaxed);
  for (i = 0; i < WORKERS; ++i) {
    workers[i].index = i;
    workers[i].seed = gcharness_seed(seed, i);
  }
  gcharness_run(sawl_work, workers, sizeof workers[0], WORKERS, gcharness_collector,
                &collector);
  collects = gcharness_collects(&sawl_h);   /* joined */

  /* No thread registered, no allocation point: the collection is exact,
   * so every weak-only key goes and every strong one stays. */
  mps_arena_collect(arena);
  for (i = 0; i < WORKERS; ++i)
    sawl_check(&workers[i], 1);
  for (i = 0; i < WORKERS; ++i)
    mps_root_destroy(workers[i].table_root);
  mps_arena_collect(arena);
  total = mps_pool_total_size(sawl_pools[1]) + mps_pool_total_size(sawl_pools[2]);
  printf("stress_awl: %u workers, %lu table checks, %lu explicit and %lu collections in all,"
         " %zu bytes left in AMS and AWL (%s)\n", WORKERS,
         atomic_load_explicit(&sawl_checks, memory_order_relaxed),   /* threads joined */
         collects, (unsigned long)collections_done(arena), total,
         GCHARNESS_MODE);
  TESTLIB_REQUIRE(collects > 0);
  TESTLIB_REQUIRE(total == 0);
  for (p = 3; p-- > 0;)
    mps_pool_destroy(sawl_pools[p]);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
