/* stress_fork.c: fork() while other threads are inside the arena
 * (src/thread/fork.h; design/thread-safety.txt, "Fork safety").
 *
 * WORKERS threads churn one arena: each allocates blocks of random sizes
 * from a shared MVFF pool, fills them with a pattern and checks it before
 * freeing them, and replaces objects in its own exact root table of AMC
 * objects (test/support/objfmt.h, identities checked).  A collector thread
 * runs full collections meanwhile (support/gcharness.h).  The main thread
 * (the forker) keeps a heap of its own the same way, plus an AMC object
 * held only on its stack, and forks FORKS times at random moments.
 *
 * Each child must, within CHILD_SECONDS (alarm), with the aborting
 * assertion handler installed, so that any report fails it:
 *   - find the forker's objects and blocks intact;
 *   - collect twice around a burst of allocation (the workers and the
 *     collector are gone: natively their registrations are dead and their
 *     stacks are skipped, so the forker's own stack object must survive);
 *   - free its blocks and allocate again from MVFF.
 * The parent checks each child's exit status, and its own heap after each
 * fork.  A lock left held across fork() shows up as SIGALRM in a child.
 *
 * Natively the threads are registered and their stacks are ambiguous
 * roots.  Under ThreadSanitizer they are not (gcharness.h says why): the
 * heaps, the library calls that may collect and the collections are then
 * made only under the harness spinlock, which the forker does not hold
 * when it forks.
 *
 * Windows has no fork(): there the harness says so and succeeds.
 */
#include <stdio.h>
#include <string.h>

#if defined(_WIN32)

int main(void)
{
  printf("stress_fork: no fork() on Windows: nothing to do\n");
  return 0;
}

#else

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/mpscamc.h"
#include "../include/mpscmvff.h"
#include "support/gcharness.h"

enum { WORKERS = 3, FORKS = 16, ROOTS = 64, BLOCKS = 32, CHILD_SECONDS = 60,
       CHILD_OBJECTS = 20000 };

/* One thread's heap: AMC objects in an exact root table, MVFF blocks in
 * an array of its own.  The forker's is read by its children. */
typedef struct heap_s {
  mps_ap_t ap;
  mps_root_t root;                 /* the table below, exact */
  mps_addr_t refs[ROOTS];
  mps_word_t ids[ROOTS];           /* the identity of refs[i] */
  unsigned char *blocks[BLOCKS];   /* MVFF, or NULL */
  size_t sizes[BLOCKS];
  mps_word_t next_id;
} heap_s;

typedef struct worker_s {
  gcharness_worker_s reg;
  heap_s heap;
  uint64_t seed;
} worker_s;

static gcharness_s harness;
static mps_pool_t amc, mvff;
static atomic_int forks_left;    /* workers stop when it reaches 0 */

static unsigned char block_pattern(const heap_s *heap, size_t i)
{
  return (unsigned char)(0x5A ^ (uintptr_t)heap ^ i);
}

static void heap_init(heap_s *heap, mps_word_t first_id)
{
  memset(heap, 0, sizeof *heap);
  heap->next_id = first_id;
  TESTLIB_REQUIRE(mps_ap_create_k(&heap->ap, amc, mps_args_none) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_root_create_table(&heap->root, harness.arena, mps_rank_exact(), 0,
                                        heap->refs, ROOTS) == MPS_RES_OK);
}

/* Replace root i with a new object (under the harness lock in TSan). */
static void heap_replace(heap_s *heap, size_t i)
{
  mps_word_t id = heap->next_id++;
  gcharness_lock(&harness);
  heap->refs[i] = gcharness_new_id(heap->ap, 1, 2, id);
  heap->ids[i] = id;
  gcharness_unlock(&harness);
}

/* Free block i if it is allocated (checking its pattern), else allocate
 * it with a random size and fill it.  Under TSan the calls take the
 * harness lock too: mps_alloc may do collection work, which reads the AMC
 * allocation points of threads that are not registered. */
static void heap_toggle_block(heap_s *heap, size_t i, testlib_rng_s *rng)
{
  if (heap->blocks[i] != NULL) {
    size_t k;
    for (k = 0; k < heap->sizes[i]; k += 61)
      TESTLIB_REQUIRE(heap->blocks[i][k] == block_pattern(heap, i));
    gcharness_lock(&harness);
    mps_free(mvff, heap->blocks[i], heap->sizes[i]);
    gcharness_unlock(&harness);
    heap->blocks[i] = NULL;
  } else {
    void *p;
    size_t size = 16 + (size_t)testlib_rng_below(rng, 6000);
    gcharness_lock(&harness);
    TESTLIB_REQUIRE(mps_alloc(&p, mvff, size) == MPS_RES_OK);
    gcharness_unlock(&harness);
    memset(p, block_pattern(heap, i), size);
    heap->blocks[i] = p;
    heap->sizes[i] = size;
  }
}

/* Every root object has its identity, every block its pattern. */
static bool heap_intact(heap_s *heap)
{
  size_t i, k;
  bool ok = true;
  gcharness_lock(&harness);
  for (i = 0; i < ROOTS; ++i)
    if (heap->refs[i] != NULL && !objfmt_is_id(heap->refs[i], 1, 2, heap->ids[i]))
      ok = false;
  gcharness_unlock(&harness);
  for (i = 0; i < BLOCKS; ++i)
    for (k = 0; heap->blocks[i] != NULL && k < heap->sizes[i]; k += 61)
      if (heap->blocks[i][k] != block_pattern(heap, i))
        ok = false;
  return ok;
}

static void heap_finish(heap_s *heap)
{
  size_t i;
  for (i = 0; i < BLOCKS; ++i)
    if (heap->blocks[i] != NULL)
      mps_free(mvff, heap->blocks[i], heap->sizes[i]);
  mps_root_destroy(heap->root);
  mps_ap_destroy(heap->ap);
}

static void *worker_body(void *arg, void *cold)
{
  worker_s *w = arg;
  testlib_rng_s rng;
  testlib_rng_init(&rng, w->seed);
  gcharness_worker_enter(&harness, &w->reg, cold);
  /* Relaxed: only a stop request; the joins order what the workers did. */
  while (atomic_load_explicit(&forks_left, memory_order_relaxed) > 0) {
    size_t i = (size_t)testlib_rng_below(&rng, ROOTS);
    heap_replace(&w->heap, i);
    heap_toggle_block(&w->heap, i % BLOCKS, &rng);
  }
  gcharness_worker_leave(&harness, &w->reg);
  return NULL;
}

static void *worker_thread(void *arg)
{
  return testlib_run_below_cold(worker_body, arg);
}

/* The child's whole life (see the top of the file); its exit code says
 * which check failed. */
static int child(heap_s *heap, mps_addr_t pinned, mps_word_t pinned_id)
{
  testlib_rng_s rng;
  mps_addr_t p = NULL;
  size_t i;
  alarm(CHILD_SECONDS);
  /* A worker may have held the harness lock (TSan) when the process was
   * copied; none is left to let it go. */
  testthr_spin_init(&harness.spin);
  if (!heap_intact(heap))
    return 1;
  mps_arena_collect(harness.arena);
  testlib_rng_init(&rng, heap->next_id);
  for (i = 0; i < CHILD_OBJECTS; ++i)
    p = gcharness_new_id(heap->ap, 1, 2, heap->next_id + i);
  heap->refs[0] = p;
  heap->ids[0] = heap->next_id + CHILD_OBJECTS - 1;
  mps_arena_collect(harness.arena);
  if (!heap_intact(heap))
    return 2;
  if (!GCHARNESS_TSAN && !objfmt_is_id(pinned, 1, 2, pinned_id))
    return 3;
  for (i = 0; i < 4 * BLOCKS; ++i)
    heap_toggle_block(heap, i % BLOCKS, &rng);
  if (!heap_intact(heap))
    return 4;
  return 0;
}

static void *forker_body(void *arg, void *cold)
{
  uint64_t seed = *(uint64_t *)arg;
  gcharness_worker_s reg;
  heap_s heap;
  testlib_rng_s rng;
  void *volatile pinned;        /* only here, on this stack (natively) */
  mps_word_t pinned_id = 1;
  int f;
  testlib_rng_init(&rng, seed);
  gcharness_worker_enter(&harness, &reg, cold);
  heap_init(&heap, 1000000);
  pinned = GCHARNESS_TSAN ? NULL : gcharness_new_id(heap.ap, 1, 2, pinned_id);
  for (f = 0; f < FORKS; ++f) {
    unsigned steps = 50 + (unsigned)testlib_rng_below(&rng, 2000), s;
    pid_t pid;
    int status;
    for (s = 0; s < steps; ++s) {
      size_t i = (size_t)testlib_rng_below(&rng, ROOTS);
      heap_replace(&heap, i);
      heap_toggle_block(&heap, i % BLOCKS, &rng);
    }
    fflush(stdout);
    pid = fork();
    TESTLIB_REQUIRE(pid >= 0);
    if (pid == 0)
      _exit(child(&heap, pinned, pinned_id));
    TESTLIB_REQUIRE(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "stress_fork: child %d failed: %s %d%s\n", f,
              WIFEXITED(status) ? "exit code" : "signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
              WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? " (deadlocked)" : "");
      abort();
    }
    TESTLIB_REQUIRE(heap_intact(&heap));
    /* Relaxed: see worker_body. */
    atomic_fetch_sub_explicit(&forks_left, 1, memory_order_relaxed);
  }
  if (!GCHARNESS_TSAN)
    TESTLIB_REQUIRE(objfmt_is_id(pinned, 1, 2, pinned_id));
  gcharness_lock(&harness);
  mps_arena_park(harness.arena);
  heap_finish(&heap);
  mps_arena_release(harness.arena);
  gcharness_unlock(&harness);
  gcharness_worker_leave(&harness, &reg);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_fork");
  mps_gen_param_s gens[2] = {{256, 0.8}, {1024, 0.5}};
  static worker_s workers[WORKERS];
  testthr_s threads[WORKERS], collecting;
  gcharness_collector_s collector;
  mps_fmt_t fmt;
  mps_chain_t chain;
  unsigned i;

  harness.arena = gcharness_arena_create(0);
  gcharness_init(&harness, harness.arena, WORKERS + 1);
  TESTLIB_REQUIRE(objfmt_create(&fmt, harness.arena, objfmt_scan, true) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_chain_create(&chain, harness.arena, 2, gens) == MPS_RES_OK);
  amc = gcharness_pool_create(harness.arena, mps_class_amc(), fmt, chain);
  mvff = gcharness_pool_create(harness.arena, mps_class_mvff(), NULL, NULL);
  atomic_store_explicit(&forks_left, FORKS, memory_order_relaxed);   /* before the threads */

  for (i = 0; i < WORKERS; ++i) {
    heap_init(&workers[i].heap, (mps_word_t)(i + 1) * 10000000);
    workers[i].seed = gcharness_seed(seed, i + 1);
    testthr_create(&threads[i], worker_thread, &workers[i]);
  }
  collector.h = &harness;
  collector.round = gcharness_round_collect;
  collector.spins = 20;
  testthr_create(&collecting, gcharness_collector, &collector);
  testlib_run_below_cold(forker_body, &seed);
  for (i = 0; i < WORKERS; ++i)
    testthr_join(&threads[i]);
  testthr_join(&collecting);

  mps_arena_park(harness.arena);
  for (i = 0; i < WORKERS; ++i) {
    TESTLIB_REQUIRE(heap_intact(&workers[i].heap));
    heap_finish(&workers[i].heap);
  }
  mps_pool_destroy(mvff);
  mps_pool_destroy(amc);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(harness.arena);
  printf("stress_fork: %d forks with %d workers and a collector (%s), %lu collections: ok\n",
         FORKS, WORKERS, GCHARNESS_MODE, gcharness_collects(&harness));
  return 0;
}

#endif /* _WIN32 */
