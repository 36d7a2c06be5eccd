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
 * workers run.  Under ThreadSanitizer the heap is shared under the
 * spinlock, as in stress_amc.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpsclo.h"
#include "../include/mpslib.h"
#include "../test/support/objfmt.h"
#include "support/testlib.h"
#include "support/testthr.h"

#if defined(__SANITIZE_THREAD__)
#define SLO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SLO_TSAN 1
#endif
#endif
#if !defined(SLO_TSAN)
#define SLO_TSAN 0
#endif

#define WORKERS 4
#define SLOTS 32
#define ITERATIONS 3000
#define MIN_COLLECTS 10
#define W sizeof(mps_word_t)

static void slo_abort(const char *file, unsigned line, const char *condition)
{
  fprintf(stderr, "%s:%u: MPS assertion failed: %s\n", file, line, condition);
  abort();
}

static mps_arena_t slo_arena;
static mps_pool_t slo_pool;
static testthr_spin_s slo_spin;
static atomic_int slo_running;
static atomic_ulong slo_checked;
static atomic_ulong slo_collects;

typedef struct worker_s {
  uint64_t seed;
  mps_addr_t table[SLOTS];
  mps_word_t *addr[SLOTS];     /* outside the heap: where each blob is */
  mps_word_t id[SLOTS];
  size_t words[SLOTS];
} worker_s;

static void slo_lock(void)
{
  if (SLO_TSAN)
    testthr_spin_lock(&slo_spin);
}

static void slo_unlock(void)
{
  if (SLO_TSAN)
    testthr_spin_unlock(&slo_spin);
}

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
  mps_thr_t thr = NULL;
  mps_root_t stack_root = NULL, table_root;
  mps_ap_t ap;
  mps_word_t next_id = wk->seed & 0xFFFF;
  unsigned it, s;

  testlib_rng_init(&rng, wk->seed);
  if (!SLO_TSAN) {
    TESTLIB_REQUIRE(mps_thread_reg(&thr, slo_arena) == MPS_RES_OK);
    TESTLIB_REQUIRE(mps_root_create_thread(&stack_root, slo_arena, thr, cold) == MPS_RES_OK);
  }
  for (s = 0; s < SLOTS; ++s)
    wk->table[s] = NULL, wk->addr[s] = NULL;
  TESTLIB_REQUIRE(mps_root_create_table(&table_root, slo_arena, mps_rank_exact(), 0,
                                        wk->table, SLOTS) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_ap_create_k(&ap, slo_pool, mps_args_none) == MPS_RES_OK);

  /* Relaxed: the count only decides how long to go on. */
  for (it = 0; it < ITERATIONS
       || atomic_load_explicit(&slo_collects, memory_order_relaxed) < MIN_COLLECTS; ++it) {
    s = (unsigned)testlib_rng_below(&rng, SLOTS);
    switch (testlib_rng_below(&rng, 8)) {
    case 0: case 1: case 2: {
      size_t words = slo_size(&rng);
      slo_lock();
      wk->table[s] = slo_new(ap, words, ++next_id, wk->table[(s + 1) % SLOTS]);
      wk->addr[s] = wk->table[s];
      slo_unlock();
      wk->id[s] = next_id;
      wk->words[s] = words;
      break;
    }
    case 3: case 4: case 5:
      slo_lock();
      TESTLIB_REQUIRE(wk->table[s] == wk->addr[s]);   /* never moved */
      if (wk->addr[s] != NULL) {
        slo_require_blob(wk->addr[s], wk->words[s], wk->id[s]);
        atomic_fetch_add_explicit(&slo_checked, 1, memory_order_relaxed);   /* statistic */
      }
      slo_unlock();
      break;
    case 6:
      if (!SLO_TSAN)
        next_id = (*slo_hold_fn)(ap, next_id);
      break;
    default:
      slo_lock();
      wk->table[s] = NULL;
      wk->addr[s] = NULL;
      slo_unlock();
      break;
    }
  }
  mps_ap_destroy(ap);
  mps_root_destroy(table_root);
  if (!SLO_TSAN) {
    mps_root_destroy(stack_root);
    mps_thread_dereg(thr);
  }
  atomic_fetch_sub_explicit(&slo_running, 1,
                            memory_order_release);   /* pairs with the collector's acquire */
  return NULL;
}

/* The thread entry: the body runs below the cold end (testlib.h). */
static void *slo_worker(void *arg)
{
  return testlib_run_below_cold(slo_work, arg);
}

static void *slo_collector(void *arg)
{
  mps_thr_t thr = NULL;
  unsigned spin;
  if (!SLO_TSAN)
    TESTLIB_REQUIRE(mps_thread_reg(&thr, slo_arena) == MPS_RES_OK);
  /* Acquire: once the count reaches zero every worker is done. */
  while (atomic_load_explicit(&slo_running, memory_order_acquire) > 0) {
    slo_lock();
    mps_arena_collect(slo_arena);
    mps_arena_release(slo_arena);
    slo_unlock();
    atomic_fetch_add_explicit(&slo_collects, 1,
                              memory_order_relaxed);   /* a count, read by workers */
    for (spin = 0; spin < 200; ++spin)
      testthr_yield();
  }
  if (!SLO_TSAN)
    mps_thread_dereg(thr);
  (void)arg;
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_lo");
  static worker_s workers[WORKERS];
  testthr_s threads[WORKERS], collector;
  mps_gen_param_s gens[1] = {{8192, 0.8}};
  mps_fmt_t fmt;
  mps_chain_t chain;
  unsigned long collects;
  size_t total;
  unsigned i;

  mps_lib_assert_fail_install(slo_abort);
  testthr_spin_init(&slo_spin);
  TESTLIB_REQUIRE(mps_arena_create_k(&slo_arena, mps_arena_class_vm(), mps_args_none)
                  == MPS_RES_OK);
  /* No scan method: LO needs only skip. */
  TESTLIB_REQUIRE(objfmt_create(&fmt, slo_arena, NULL, false) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&chain, slo_arena, 1, gens) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    TESTLIB_REQUIRE(mps_pool_create_k(&slo_pool, slo_arena, mps_class_lo(), args)
                    == MPS_RES_OK);
  } MPS_ARGS_END(args);

  atomic_store_explicit(&slo_running, WORKERS,
                        memory_order_relaxed);   /* before any thread starts */
  atomic_store_explicit(&slo_checked, 0, memory_order_relaxed);
  atomic_store_explicit(&slo_collects, 0, memory_order_relaxed);
  for (i = 0; i < WORKERS; ++i) {
    workers[i].seed = seed + i * 0x9E3779B97F4A7C15u;
    testthr_create(&threads[i], slo_worker, &workers[i]);
  }
  testthr_create(&collector, slo_collector, NULL);
  for (i = 0; i < WORKERS; ++i)
    testthr_join(&threads[i]);
  testthr_join(&collector);
  collects = atomic_load_explicit(&slo_collects, memory_order_relaxed);   /* joined */

  /* No roots are left, and blobs' words are not references: all goes. */
  mps_arena_collect(slo_arena);
  total = mps_pool_total_size(slo_pool);
  printf("stress_lo: %u workers, %lu blobs checked, %lu explicit and %lu collections in all,"
         " %zu bytes left (%s)\n", WORKERS,
         atomic_load_explicit(&slo_checked, memory_order_relaxed),   /* threads joined */
         collects, (unsigned long)mps_collections(slo_arena), total,
         SLO_TSAN ? "TSan: heap shared under a spinlock, no suspension"
                  : "threads suspended and stacks scanned");
  TESTLIB_REQUIRE(collects > 0);
  TESTLIB_REQUIRE(total == 0);
  mps_pool_destroy(slo_pool);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(slo_arena);
  return 0;
}
