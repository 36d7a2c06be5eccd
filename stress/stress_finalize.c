/* stress_finalize.c: several threads registering, definalizing and
 * dropping finalizable objects in AMC and AMS while collections run, and
 * a finalizer thread taking the messages (topic/finalization.rst).
 *
 * Every object has a unique id (support/gcobj.c), and per id the harness
 * counts registrations that stand (mps_finalize minus successful
 * mps_definalize), whether the object has been dropped, and the
 * finalization messages seen.  The checks:
 *   - only unreachable objects are finalized: a message's object has been
 *     dropped by its worker;
 *   - at most once per registration: messages never exceed registrations;
 *   - mps_definalize succeeds exactly when the worker's object has a
 *     registration standing (a rooted object cannot be finalized, so the
 *     worker's own count is exact);
 *   - the object named by a message is intact (id and data);
 *   - at the end, after every worker has dropped everything and the
 *     collections have gone quiet, every registration has had exactly one
 *     message.
 *
 * Threading: workers keep their objects only in their own exact root
 * tables, and no thread is registered or has its stack as a root (so the
 * harness runs unchanged under TSan, as stress_gc's TSan mode does).  A
 * harness lock (heap_lock) is held around everything that reads or writes
 * objects or root slots, and around explicit collections; collections
 * that allocation starts run inside the allocating thread's hold.  The
 * library calls that only take the arena lock -- mps_finalize and
 * mps_definalize (given the root slot's address: the library reads it
 * under its lock), mps_message_get, mps_message_discard -- run outside it,
 * concurrently with other threads' allocation and collections.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "support/gcobj.h"
#include "support/testlib.h"
#include "support/testthr.h"

enum { WORKERS = 3, OPS = 30000, ROOTS = 32, IDS = OPS + 1, COLLECT_EVERY = 2000,
       MAX_REGS = 3 };
enum { POOL_AMC, POOL_AMS, POOLS };

static mps_arena_t arena;
static mps_pool_t pools[POOLS];
static testthr_spin_s heap_lock = TESTTHR_SPIN_INIT;
static uint64_t seed;

/* Per id (worker * IDS + serial).  Writers and readers are ordered by
 * the arena lock as well (a registration precedes, through it, the
 * collection that finalizes the object and the get that finds the
 * message), but the counters are read by another thread, so each access
 * is atomic: release on the writer's side, acquire on the reader's, so
 * the reader never sees a message before the registration or drop that
 * caused it. */
static atomic_int regs[WORKERS * IDS];      /* registrations standing or used */
static atomic_int dropped[WORKERS * IDS];
static atomic_int messages[WORKERS * IDS];
static atomic_int workers_done;
static atomic_long total_messages, total_regs, total_definalized;

static void heap_enter(void) { testthr_spin_lock(&heap_lock); }
static void heap_leave(void) { testthr_spin_unlock(&heap_lock); }

static void collect(void)
{
  heap_enter();
  mps_arena_collect(arena);
  mps_arena_release(arena);
  heap_leave();
}

/* Take every queued finalization message and check it; return how many. */
static long drain(void)
{
  mps_message_t m;
  long n = 0;
  while (mps_message_get(&m, arena, mps_message_type_finalization())) {
    mps_addr_t ref = NULL;
    mps_word_t id;
    int seen, made;
    heap_enter();      /* the object may move in a collection otherwise */
    mps_message_finalization_ref(&ref, arena, m);
    TESTLIB_REQUIRE(ref != NULL);
    TESTLIB_REQUIRE(gcobj_intact(ref));
    id = gcobj_id(ref);
    heap_leave();
    TESTLIB_REQUIRE(id >= 1 && id < (mps_word_t)WORKERS * IDS);
    /* acquire: pairs with the worker's release of its drop. */
    TESTLIB_REQUIRE(atomic_load_explicit(&dropped[id], memory_order_acquire) == 1);
    /* acq_rel: the count is the finalizer's own, and ordered after the
     * registrations it is compared with. */
    seen = atomic_fetch_add_explicit(&messages[id], 1, memory_order_acq_rel) + 1;
    made = atomic_load_explicit(&regs[id], memory_order_acquire);
    TESTLIB_REQUIRE(seen <= made);
    mps_message_discard(arena, m);
    ++n;
  }
  /* relaxed: a statistic, read after the threads are joined. */
  atomic_fetch_add_explicit(&total_messages, n, memory_order_relaxed);
  return n;
}

static void *finalizer(void *arg)
{
  unsigned long rounds = 0;
  (void)arg;
  /* acquire: the workers' release of their completion. */
  while (atomic_load_explicit(&workers_done, memory_order_acquire) < WORKERS) {
    (void)drain();
    if (++rounds % 64 == 0)
      collect();
    testthr_yield();
  }
  return NULL;
}

typedef struct worker_s {
  unsigned index;
  testthr_s thr;
} worker_s;

static void *worker(void *arg)
{
  worker_s *w = arg;
  testlib_rng_s rng;
  mps_addr_t *roots;
  mps_root_t root;
  mps_ap_t aps[POOLS];
  mps_word_t ids[ROOTS];
  int standing[ROOTS];
  unsigned k, s, serial = 0, op;

  testlib_rng_init(&rng, seed * 0x9E3779B97F4A7C15u + w->index + 1);
  roots = calloc(ROOTS, sizeof *roots);
  TESTLIB_REQUIRE(roots != NULL);
  TESTLIB_REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, roots, ROOTS)
                  == MPS_RES_OK);
  for (k = 0; k < POOLS; ++k)
    TESTLIB_REQUIRE(mps_ap_create_k(&aps[k], pools[k], mps_args_none) == MPS_RES_OK);
  for (s = 0; s < ROOTS; ++s) {
    ids[s] = 0;
    standing[s] = 0;
  }

  for (op = 0; op < OPS; ++op) {
    unsigned choice = (unsigned)testlib_rng_below(&rng, 10);
    s = (unsigned)testlib_rng_below(&rng, ROOTS);
    if (ids[s] == 0 || choice < 3) {
      /* Allocate into slot s; the old object there is dropped. */
      mps_addr_t p;
      mps_word_t id = (mps_word_t)w->index * IDS + ++serial;
      unsigned pool = (unsigned)testlib_rng_below(&rng, POOLS);
      heap_enter();
      if (ids[s] != 0)
        /* release: pairs with the finalizer's acquire. */
        atomic_store_explicit(&dropped[ids[s]], 1, memory_order_release);
      roots[s] = NULL;
      TESTLIB_REQUIRE(gcobj_alloc(&p, aps[pool], id, 0, 1 + (size_t)testlib_rng_below(&rng, 6),
                                  NULL) == MPS_RES_OK);
      roots[s] = p;
      heap_leave();
      ids[s] = id;
      standing[s] = 0;
    } else if (choice < 7) {
      if (standing[s] < MAX_REGS) {
        /* release: the count is up before any collection could use it. */
        atomic_fetch_add_explicit(&regs[ids[s]], 1, memory_order_release);
        TESTLIB_REQUIRE(mps_finalize(arena, &roots[s]) == MPS_RES_OK);
        ++standing[s];
        atomic_fetch_add_explicit(&total_regs, 1, memory_order_relaxed);
      }
    } else if (choice < 8) {
      mps_res_t res = mps_definalize(arena, &roots[s]);
      TESTLIB_REQUIRE((res == MPS_RES_OK) == (standing[s] > 0));
      if (res == MPS_RES_OK) {
        --standing[s];
        /* release: as for registration. */
        atomic_fetch_sub_explicit(&regs[ids[s]], 1, memory_order_release);
        atomic_fetch_add_explicit(&total_definalized, 1, memory_order_relaxed);
      }
    } else {
      heap_enter();
      atomic_store_explicit(&dropped[ids[s]], 1, memory_order_release);
      roots[s] = NULL;
      heap_leave();
      ids[s] = 0;
    }
    if (w->index == 0 && op % COLLECT_EVERY == COLLECT_EVERY - 1)
      collect();
  }

  /* Drop everything. */
  heap_enter();
  for (s = 0; s < ROOTS; ++s)
    if (ids[s] != 0) {
      atomic_store_explicit(&dropped[ids[s]], 1, memory_order_release);
      roots[s] = NULL;
    }
  for (k = 0; k < POOLS; ++k)
    mps_ap_destroy(aps[k]);
  mps_root_destroy(root);
  heap_leave();
  free(roots);
  /* release: publishes this worker's counts to the finalizer. */
  atomic_fetch_add_explicit(&workers_done, 1, memory_order_release);
  return NULL;
}

int main(int argc, char **argv)
{
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_gen_param_s gens[2] = {{512, 0.6}, {2048, 0.5}};
  worker_s workers[WORKERS];
  testthr_s fin;
  unsigned k, quiet = 0, rounds = 0;
  size_t id;
  long standing = 0;

  seed = testlib_seed(argc, argv, "stress_finalize");
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)64 << 20);
    TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  TESTLIB_REQUIRE(gcobj_fmt_create(&fmt, arena) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  for (k = 0; k < POOLS; ++k) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
      TESTLIB_REQUIRE(mps_pool_create_k(&pools[k], arena,
                                        k == POOL_AMC ? mps_class_amc() : mps_class_ams(),
                                        args) == MPS_RES_OK);
    } MPS_ARGS_END(args);
  }
  mps_message_type_enable(arena, mps_message_type_finalization());

  testthr_create(&fin, finalizer, NULL);
  for (k = 0; k < WORKERS; ++k) {
    workers[k].index = k;
    testthr_create(&workers[k].thr, worker, &workers[k]);
  }
  for (k = 0; k < WORKERS; ++k)
    (void)testthr_join(&workers[k].thr);
  (void)testthr_join(&fin);

  /* Everything is dropped: collect until no message comes for a while.
   * An object registered n times gets its messages one collection after
   * another. */
  while (quiet < 3 && rounds < 100) {
    collect();
    quiet = drain() == 0 ? quiet + 1 : 0;
    ++rounds;
  }
  for (id = 0; id < (size_t)WORKERS * IDS; ++id) {
    int made = atomic_load_explicit(&regs[id], memory_order_acquire);
    int seen = atomic_load_explicit(&messages[id], memory_order_acquire);
    if (made != seen)
      fprintf(stderr, "stress_finalize: id %zu: %d registrations, %d messages\n", id, made,
              seen);
    TESTLIB_REQUIRE(made == seen);
    standing += made;
  }
  printf("stress_finalize: %d workers x %d ops: %ld registrations, %ld definalized, "
         "%ld messages (%ld expected), %u closing collections\n",
         WORKERS, OPS, atomic_load_explicit(&total_regs, memory_order_relaxed),
         atomic_load_explicit(&total_definalized, memory_order_relaxed),
         atomic_load_explicit(&total_messages, memory_order_relaxed), standing, rounds);

  mps_arena_park(arena);
  for (k = 0; k < POOLS; ++k)
    mps_pool_destroy(pools[k]);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
