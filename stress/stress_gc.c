/* stress_gc.c: mutator threads building and changing object graphs in AMC,
 * AMS and LO while the collector runs, all through the public interface.
 *
 * WORKERS threads share one arena, one format (support/gcobj.c), a small
 * generation chain (so that allocation starts collections) and the three
 * pools; each thread registers itself, makes its stack an ambiguous root
 * (mps_root_create_thread), keeps its graph reachable from its own exact
 * root table, and allocates through its own allocation points.  Threads
 * link only their own objects, so a graph has one writer.  Each thread
 * also keeps a few objects only in a local array (on its stack), as
 * pinned pointers.  A shadow graph per thread (gcobj_model_s) says what
 * the thread's heap must look like.
 *
 * Every CHECK_EVERY operations a thread parks the arena and checks its
 * graph against its model: ids, data, edges (by id), objects kept only on
 * the stack unmoved.  Now and then worker 0 runs a full collection, and it
 * also stops the other workers at a safe point, parks the arena and
 * verifies the whole heap (gcobj_verify).  Parking, collecting and
 * releasing are serialized by one harness lock, because park and release
 * do not nest.  The summary counts collections, objects that moved
 * between checks, and stack-pinned AMC objects found in place after a
 * collection.
 *
 * Under ThreadSanitizer no thread is registered and no stack is a root:
 * TSan delivers the collector's suspend signal only at its own
 * interception points, so a thread blocked on the arena lock would never
 * stop, and it would report the collector's reads of a running thread's
 * objects as races.  There each worker touches the heap only while
 * holding the harness lock (under which collections also run), keeps
 * references across library calls only in its root table, and keeps its
 * pinned objects in an ambiguous area root (mps_root_create_area) instead
 * of on its stack.  The summary says which mode ran.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpsclo.h"
#include "support/gcobj.h"
#include "support/testlib.h"
#include "support/testthr.h"

#if defined(__SANITIZE_THREAD__)
#define STRESS_GC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_GC_TSAN 1
#endif
#endif
#if !defined(STRESS_GC_TSAN)
#define STRESS_GC_TSAN 0
#endif

enum { WORKERS = 4, OPS = 100000, CHECK_EVERY = 250, COLLECT_EVERY = 1500,
       VERIFY_EVERY = 3000, ROOTS = 32, PINS = 4, RECORDS = 2048, MAX_REFS = 4 };
enum { POOL_AMC, POOL_AMS, POOL_LO, POOLS };

static mps_arena_t arena;
static mps_pool_t pools[POOLS];
static gcobj_pool_s verify_pools[POOLS];

/* Serializes park/check/release, collect/release and park/verify/release
 * between threads (see above); under TSan, also every access to the heap. */
static testthr_spin_s gc_lock = TESTTHR_SPIN_INIT;

static void heap_enter(void)
{
  if (STRESS_GC_TSAN)
    testthr_spin_lock(&gc_lock);
}

static void heap_leave(void)
{
  if (STRESS_GC_TSAN)
    testthr_spin_unlock(&gc_lock);
}

/* Stopping the workers for a whole-heap verification: worker 0 raises
 * stop; each other worker, at the top of its loop, counts itself in
 * stopped and waits for stop to fall, then counts itself out.  A worker
 * that has finished counts itself in finished for good. */
static atomic_int stop;
static atomic_int stopped;
static atomic_int finished;

typedef struct worker_s {
  unsigned index;
  uint64_t seed;
  testthr_s thread;
  unsigned long checks, moved, pinned, verifies, collects, allocs;
} worker_s;

/* Wait at a safe point while worker 0 verifies the heap.  The acquire
 * loads see worker 0's release of stop; the release in the increment of
 * stopped publishes this worker's writes to its objects to the verifier,
 * which loads stopped with acquire. */
static void stop_point(void)
{
  if (atomic_load_explicit(&stop, memory_order_acquire) == 0)
    return;
  atomic_fetch_add_explicit(&stopped, 1, memory_order_acq_rel);
  while (atomic_load_explicit(&stop, memory_order_acquire) != 0)
    testthr_yield();
  atomic_fetch_sub_explicit(&stopped, 1, memory_order_acq_rel);
}

static void verify_heap(worker_s *w)
{
  gcobj_census_s census;
  bool ok;
  /* seq_cst store and loads: the raise must be seen by workers before the
   * count is trusted, in one total order with their increments. */
  atomic_store_explicit(&stop, 1, memory_order_seq_cst);
  while (atomic_load_explicit(&stopped, memory_order_seq_cst)
         + atomic_load_explicit(&finished, memory_order_seq_cst) < WORKERS - 1)
    testthr_yield();
  testthr_spin_lock(&gc_lock);
  mps_arena_park(arena);
  ok = gcobj_verify(arena, verify_pools, POOLS, &census);
  if (!ok) {
    fprintf(stderr, "stress_gc: heap verification failed: %s\n", census.message);
    abort();
  }
  gcobj_census_finish(&census);
  mps_arena_release(arena);
  testthr_spin_unlock(&gc_lock);
  ++w->verifies;
  /* release: the workers' acquire loads of stop see the verifier done.
   * Then wait until every worker has left the stop point, so that the
   * next raise cannot count a worker that is on its way out. */
  atomic_store_explicit(&stop, 0, memory_order_release);
  while (atomic_load_explicit(&stopped, memory_order_acquire) != 0)
    testthr_yield();
}

typedef struct pin_s {
  mps_word_t collections;   /* mps_collections when pinned */
  bool counted;
} pin_s;

/* The body of a worker, in a frame below the one whose address is the
 * cold end of the stack root, so that stack_pins[] is inside the scanned
 * area.  Under TSan the pins are in an ambiguous area root instead. */
static void worker_run(worker_s *w)
{
  volatile mps_addr_t stack_pins[PINS] = {NULL};
  mps_addr_t *area_pins = NULL;
  mps_root_t area_root = NULL;
  volatile mps_addr_t *pins = stack_pins;
  pin_s pin_info[PINS];
  mps_addr_t *roots;
  mps_root_t root;
  mps_ap_t aps[POOLS];
  gcobj_model_s model;
  testlib_rng_s rng;
  mps_word_t seq = 0;
  size_t i, k;
  unsigned long op;

  testlib_rng_init(&rng, w->seed);
  roots = calloc(ROOTS, sizeof *roots);
  TESTLIB_REQUIRE(roots != NULL);
  TESTLIB_REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, roots, ROOTS)
                  == MPS_RES_OK);
  for (i = 0; i < POOLS; ++i)
    TESTLIB_REQUIRE(mps_ap_create_k(&aps[i], pools[i], mps_args_none) == MPS_RES_OK);
  TESTLIB_REQUIRE(gcobj_model_init(&model, RECORDS, MAX_REFS, ROOTS, PINS));
  if (STRESS_GC_TSAN) {
    area_pins = calloc(PINS, sizeof *area_pins);
    TESTLIB_REQUIRE(area_pins != NULL);
    TESTLIB_REQUIRE(mps_root_create_area(&area_root, arena, mps_rank_ambig(), 0, area_pins,
                                         area_pins + PINS, mps_scan_area, NULL) == MPS_RES_OK);
    pins = area_pins;
  }
  for (k = 0; k < PINS; ++k)
    pin_info[k].counted = true;

  for (op = 1; op <= OPS; ++op) {
    uint64_t r = testlib_rng_next(&rng);
    size_t a = (size_t)(r >> 8) % ROOTS, b = (size_t)(r >> 16) % ROOTS;
    mps_addr_t obj;
    stop_point();
    heap_enter();
    obj = roots[b];
    switch (r % 16) {
    case 0: case 1: case 2: case 3: case 4: case 5: {   /* allocate into root a */
      unsigned which = (unsigned)(r >> 24) % 10;
      unsigned pool = which < 5 ? POOL_AMC : which < 8 ? POOL_AMS : POOL_LO;
      size_t nrefs = pool == POOL_LO ? 0 : (size_t)(r >> 32) % (MAX_REFS + 1);
      size_t from = (size_t)(r >> 36) % (ROOTS - MAX_REFS + 1);
      size_t ndata = (r >> 40) % 64 == 0 ? 600 + (size_t)(r >> 46) % 1500
                                         : (size_t)(r >> 46) % 12;
      mps_word_t id = (mps_word_t)(w->index + 1) << 24 | ++seq;
      uint32_t rec = gcobj_model_new(&model, id, nrefs, ndata, pool == POOL_AMC);
      mps_addr_t p;
      if (rec == GCOBJ_NONE) {
        gcobj_model_sweep(&model);
        rec = gcobj_model_new(&model, id, nrefs, ndata, pool == POOL_AMC);
        TESTLIB_REQUIRE(rec != GCOBJ_NONE);
      }
      TESTLIB_REQUIRE(gcobj_alloc(&p, aps[pool], id, nrefs, ndata, &roots[from])
                      == MPS_RES_OK);
      for (i = 0; i < nrefs; ++i)
        model.objs[rec].edges[i] = model.roots[from + i];
      roots[a] = p;
      model.roots[a] = rec;
      ++w->allocs;
      break;
    }
    case 6: case 7:   /* link: root b's slot := root a */
      if (obj != NULL && gcobj_nrefs(obj) > 0) {
        size_t s = (size_t)(r >> 32) % gcobj_nrefs(obj);
        gcobj_set_ref(obj, s, roots[a]);
        model.objs[model.roots[b]].edges[s] = model.roots[a];
      }
      break;
    case 8:           /* unlink */
      if (obj != NULL && gcobj_nrefs(obj) > 0) {
        size_t s = (size_t)(r >> 32) % gcobj_nrefs(obj);
        gcobj_set_ref(obj, s, NULL);
        model.objs[model.roots[b]].edges[s] = GCOBJ_NONE;
      }
      break;
    case 9: case 10:  /* load: root a := root b's slot */
      if (obj != NULL && gcobj_nrefs(obj) > 0) {
        size_t s = (size_t)(r >> 32) % gcobj_nrefs(obj);
        roots[a] = gcobj_ref(obj, s);
        model.roots[a] = model.objs[model.roots[b]].edges[s];
      }
      break;
    case 11:          /* drop root a */
      roots[a] = NULL;
      model.roots[a] = GCOBJ_NONE;
      break;
    case 12: {        /* pin: keep root b's object on the stack only */
      k = (size_t)(r >> 32) % PINS;
      if (obj != NULL) {
        pins[k] = obj;
        model.ambig[k].rec = model.roots[b];
        model.ambig[k].base = obj;
        model.ambig[k].offset = 0;
        model.ambig[k].keeps_alive = true;
        pin_info[k].collections = mps_collections(arena);
        pin_info[k].counted = !model.objs[model.roots[b]].movable;
        roots[b] = NULL;
        model.roots[b] = GCOBJ_NONE;
      }
      break;
    }
    case 13:          /* unpin */
      k = (size_t)(r >> 32) % PINS;
      pins[k] = NULL;
      model.ambig[k].rec = GCOBJ_NONE;
      pin_info[k].counted = true;
      break;
    default:          /* copy root b to root a */
      roots[a] = roots[b];
      model.roots[a] = model.roots[b];
      break;
    }
    heap_leave();

    if (op % CHECK_EVERY == 0) {
      mps_word_t collections;
      bool ok;
      testthr_spin_lock(&gc_lock);
      mps_arena_park(arena);
      collections = mps_collections(arena);
      ok = gcobj_model_check(&model, roots);
      mps_arena_release(arena);
      testthr_spin_unlock(&gc_lock);
      if (!ok) {
        fprintf(stderr, "stress_gc: worker %u: %s\n", w->index, model.message);
        abort();
      }
      for (k = 0; k < PINS; ++k) {
        /* The collector never rewrites an ambiguous reference. */
        if (model.ambig[k].rec != GCOBJ_NONE)
          TESTLIB_REQUIRE(pins[k] == model.ambig[k].base);
      }
      for (k = 0; k < PINS; ++k)
        if (!pin_info[k].counted && model.ambig[k].rec != GCOBJ_NONE
            && collections > pin_info[k].collections) {
          pin_info[k].counted = true;
          ++w->pinned;
        }
      ++w->checks;
    }
    if (w->index == 0 && op % COLLECT_EVERY == 0) {
      testthr_spin_lock(&gc_lock);
      mps_arena_collect(arena);
      mps_arena_release(arena);
      testthr_spin_unlock(&gc_lock);
      ++w->collects;
    }
    if (w->index == 0 && op % VERIFY_EVERY == 0)
      verify_heap(w);
  }

  w->moved = model.moved;
  gcobj_model_finish(&model);
  for (i = 0; i < POOLS; ++i)
    mps_ap_destroy(aps[i]);
  mps_root_destroy(root);
  free(roots);
  if (STRESS_GC_TSAN) {
    mps_root_destroy(area_root);
    free(area_pins);
  }
  for (k = 0; k < PINS; ++k)
    stack_pins[k] = NULL;
}

/* Called through a volatile pointer so that it cannot be inlined into
 * worker_main, whose local marks the cold end of the stack. */
static void (*volatile worker_body)(worker_s *) = worker_run;

static void *worker_main(void *arg)
{
  worker_s *w = arg;
  mps_thr_t thread = NULL;
  mps_root_t stack_root = NULL;
  void *cold = &thread;
  if (!STRESS_GC_TSAN) {
    TESTLIB_REQUIRE(mps_thread_reg(&thread, arena) == MPS_RES_OK);
    TESTLIB_REQUIRE(mps_root_create_thread(&stack_root, arena, thread, cold) == MPS_RES_OK);
  }
  worker_body(w);
  if (!STRESS_GC_TSAN) {
    mps_root_destroy(stack_root);
    mps_thread_dereg(thread);
  }
  /* release: nothing of this worker's is touched after this. */
  atomic_fetch_add_explicit(&finished, 1, memory_order_release);
  return NULL;
}

int main(int argc, char **argv)
{
  static worker_s workers[WORKERS];
  mps_gen_param_s gens[2] = {{256, 0.8}, {1024, 0.4}};
  mps_pool_class_t (*const classes[POOLS])(void) = {mps_class_amc, mps_class_ams, mps_class_lo};
  uint64_t seed = testlib_seed(argc, argv, "stress_gc");
  mps_chain_t chain;
  mps_fmt_t fmt;
  gcobj_census_s census;
  unsigned long checks = 0, moved = 0, pinned = 0, verifies = 0, collects = 0, allocs = 0;
  size_t i;

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)32 << 20);
    TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  TESTLIB_REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  TESTLIB_REQUIRE(gcobj_fmt_create(&fmt, arena) == MPS_RES_OK);
  for (i = 0; i < POOLS; ++i) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
      TESTLIB_REQUIRE(mps_pool_create_k(&pools[i], arena, classes[i](), args) == MPS_RES_OK);
    } MPS_ARGS_END(args);
    verify_pools[i].pool = pools[i];
    verify_pools[i].leaf = i == POOL_LO;
  }

  for (i = 0; i < WORKERS; ++i) {
    workers[i].index = (unsigned)i;
    workers[i].seed = seed + i * 0x9E3779B97F4A7C15u;
    testthr_create(&workers[i].thread, worker_main, &workers[i]);
  }
  for (i = 0; i < WORKERS; ++i) {
    testthr_join(&workers[i].thread);
    checks += workers[i].checks;
    moved += workers[i].moved;
    pinned += workers[i].pinned;
    verifies += workers[i].verifies;
    collects += workers[i].collects;
    allocs += workers[i].allocs;
  }

  /* With every root gone, a full collection must leave the heap sound. */
  mps_arena_collect(arena);
  TESTLIB_REQUIRE(gcobj_verify(arena, verify_pools, POOLS, &census));
  printf("stress_gc: %d workers (%s), %lu allocations, %lu collections (%lu requested), "
         "%lu graph checks, %lu heap verifications, %lu objects moved, %lu pinned "
         "objects in place after a collection; %lu objects left after the last collection\n",
         WORKERS,
         STRESS_GC_TSAN ? "TSan: heap shared under a lock, pins in an area root"
                        : "registered, stacks scanned",
         allocs, (unsigned long)mps_collections(arena), collects, checks, verifies,
         moved, pinned, (unsigned long)census.objects);
  gcobj_census_finish(&census);

  for (i = 0; i < POOLS; ++i)
    mps_pool_destroy(pools[i]);
  mps_fmt_destroy(fmt);
  mps_chain_destroy(chain);
  mps_arena_destroy(arena);
  return 0;
}
