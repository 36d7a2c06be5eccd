/* stress_ld.c: location dependencies used by several threads while the
 * allocation of the others keeps starting collections that move objects
 * (src/gc/ld.c; manual/topic/location.rst).
 *
 * WORKERS threads share one arena, one AMC pool (format
 * support/gcobj.c) with a small nursery, so that allocation collects
 * often.  Each thread has its own allocation point, its own exact root
 * table of SLOTS objects, and one dependency per slot (plus one that is
 * reset and never added to).  A thread repeatedly: allocates garbage;
 * replaces a slot's object; depends on a slot's object (reset, read its
 * address through the root, add it, remember the address); checks a
 * slot: reads the object's current address through the root FIRST, then
 * asks mps_ld_isstale / mps_ld_isstale_any -- if the address differs
 * from the remembered one, the object moved before the question was
 * asked, so the answer must be "stale" (never a false "fresh").  The
 * dependency never added to must always be fresh.  A stale dependency is
 * reset and depends again.
 *
 * The dependency calls take no lock and race with the flips of
 * collections run by other threads: that is what ThreadSanitizer checks.
 * As in stress_gc, under TSan no thread is registered and every access
 * to the heap or to a root table (allocation, reading a slot) happens
 * under one harness lock, under which collections therefore also run;
 * the dependency calls stay outside it.  Elsewhere each thread registers
 * and makes its stack an ambiguous root.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "support/gcobj.h"
#include "support/testlib.h"
#include "support/testthr.h"

#if defined(__SANITIZE_THREAD__)
#define STRESS_LD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_LD_TSAN 1
#endif
#endif
#if !defined(STRESS_LD_TSAN)
#define STRESS_LD_TSAN 0
#endif

enum { WORKERS = 4, OPS = 100000, SLOTS = 16 };

static mps_arena_t arena;
static mps_pool_t pool;

/* Under TSan: every access to the heap and to root tables. */
static testthr_spin_s heap_lock = TESTTHR_SPIN_INIT;

static void heap_enter(void)
{
  if (STRESS_LD_TSAN)
    testthr_spin_lock(&heap_lock);
}

static void heap_leave(void)
{
  if (STRESS_LD_TSAN)
    testthr_spin_unlock(&heap_lock);
}

typedef struct worker_s {
  unsigned index;
  uint64_t seed;
  testthr_s thread;
  mps_addr_t roots[SLOTS];      /* an exact root table */
  mps_ld_s lds[SLOTS];
  mps_addr_t added[SLOTS];      /* where lds[i]'s object was when added, or NULL
                                 * (a number: not a root) */
  mps_word_t added_id[SLOTS];
  unsigned long moved, stale, false_stale, checks, allocs;
} worker_s;

static mps_word_t worker_alloc(worker_s *w, mps_ap_t ap, testlib_rng_s *rng)
{
  mps_addr_t p;
  mps_word_t id = ((mps_word_t)w->index << 24) | (mps_word_t)++w->allocs;
  TESTLIB_REQUIRE(gcobj_alloc(&p, ap, id, 0, (size_t)testlib_rng_below(rng, 1024) + 1, NULL)
                  == MPS_RES_OK);
  (void)p;
  return id;
}

/* Depend on slot i's object: reset first, so that a flip between reading
 * the address and adding it makes the dependency stale, not wrong. */
static void worker_depend(worker_s *w, size_t i)
{
  mps_addr_t addr;
  mps_ld_reset(&w->lds[i], arena);
  heap_enter();
  addr = w->roots[i];
  w->added_id[i] = addr != NULL ? gcobj_id(addr) : 0;
  heap_leave();
  w->added[i] = addr;
  if (addr != NULL)
    mps_ld_add(&w->lds[i], arena, addr);
}

static void worker_check(worker_s *w, size_t i)
{
  mps_addr_t now;
  mps_word_t id;
  bool moved, stale, stale_any;
  if (w->added[i] == NULL)
    return;
  heap_enter();
  now = w->roots[i];
  id = now != NULL ? gcobj_id(now) : 0;
  heap_leave();
  TESTLIB_REQUIRE(id == w->added_id[i]);   /* the slot is only replaced after a reset */
  moved = now != w->added[i];
  stale = mps_ld_isstale(&w->lds[i], arena, now);
  stale_any = mps_ld_isstale_any(&w->lds[i], arena);
  ++w->checks;
  if (moved && (!stale || !stale_any)) {
    fprintf(stderr, "stress_ld: worker %u slot %zu: object moved %p -> %p but the "
            "dependency is fresh (isstale %d, isstale_any %d)\n",
            w->index, i, w->added[i], now, (int)stale, (int)stale_any);
    abort();
  }
  if (moved)
    ++w->moved;
  if (stale) {
    ++w->stale;
    if (!moved)
      ++w->false_stale;
    worker_depend(w, i);
  }
}

static void worker_run(worker_s *w)
{
  testlib_rng_s rng;
  mps_ap_t ap;
  mps_root_t root;
  mps_ld_s empty;
  size_t i;
  unsigned long op;

  testlib_rng_init(&rng, w->seed);
  TESTLIB_REQUIRE(mps_ap_create_k(&ap, pool, mps_args_none) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, w->roots, SLOTS)
                  == MPS_RES_OK);
  mps_ld_reset(&empty, arena);
  for (i = 0; i < SLOTS; ++i)
    w->added[i] = NULL;
  for (op = 0; op < OPS; ++op) {
    size_t slot = (size_t)testlib_rng_below(&rng, SLOTS);
    switch (testlib_rng_below(&rng, 4)) {
    case 0: {       /* replace the object in a slot, then depend on it */
      mps_addr_t p;
      mps_word_t id = ((mps_word_t)w->index << 24) | (mps_word_t)++w->allocs;
      heap_enter();
      TESTLIB_REQUIRE(gcobj_alloc(&p, ap, id, 0, (size_t)testlib_rng_below(&rng, 16) + 1,
                                  NULL) == MPS_RES_OK);
      w->roots[slot] = p;
      heap_leave();
      worker_depend(w, slot);
      break;
    }
    case 1:         /* garbage, which brings collections */
      heap_enter();
      (void)worker_alloc(w, ap, &rng);
      heap_leave();
      break;
    default:
      worker_check(w, slot);
      break;
    }
    TESTLIB_REQUIRE(!mps_ld_isstale_any(&empty, arena));
  }
  heap_enter();
  mps_root_destroy(root);
  mps_ap_destroy(ap);
  heap_leave();
}

static void (*volatile worker_body)(worker_s *) = worker_run;

static void *worker_main(void *arg)
{
  worker_s *w = arg;
  mps_thr_t thread = NULL;
  mps_root_t stack_root = NULL;
  void *cold = &thread;
  if (!STRESS_LD_TSAN) {
    TESTLIB_REQUIRE(mps_thread_reg(&thread, arena) == MPS_RES_OK);
    TESTLIB_REQUIRE(mps_root_create_thread(&stack_root, arena, thread, cold) == MPS_RES_OK);
  }
  worker_body(w);
  if (!STRESS_LD_TSAN) {
    mps_root_destroy(stack_root);
    mps_thread_dereg(thread);
  }
  return NULL;
}

int main(int argc, char **argv)
{
  static worker_s workers[WORKERS];
  mps_gen_param_s gens[2] = {{256, 0.8}, {1024, 0.4}};
  uint64_t seed = testlib_seed(argc, argv, "stress_ld");
  mps_chain_t chain;
  mps_fmt_t fmt;
  unsigned long moved = 0, stale = 0, false_stale = 0, checks = 0, allocs = 0;
  size_t i;

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)32 << 20);
    TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  TESTLIB_REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  TESTLIB_REQUIRE(gcobj_fmt_create(&fmt, arena) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    TESTLIB_REQUIRE(mps_pool_create_k(&pool, arena, mps_class_amc(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);

  for (i = 0; i < WORKERS; ++i) {
    workers[i].index = (unsigned)i;
    workers[i].seed = seed + i * 0x9E3779B97F4A7C15u;
    testthr_create(&workers[i].thread, worker_main, &workers[i]);
  }
  for (i = 0; i < WORKERS; ++i) {
    testthr_join(&workers[i].thread);
    moved += workers[i].moved;
    stale += workers[i].stale;
    false_stale += workers[i].false_stale;
    checks += workers[i].checks;
    allocs += workers[i].allocs;
  }
  printf("stress_ld: %d workers (%s), %lu allocations, %lu collections, %lu checks, "
         "%lu moved (all stale), %lu stale of which %lu without a move\n",
         WORKERS,
         STRESS_LD_TSAN ? "TSan: heap under a lock, dependency calls outside"
                        : "registered, stacks scanned",
         allocs, (unsigned long)mps_collections(arena), checks, moved, stale, false_stale);

  /* The harness tested nothing if no dependency ever saw its object move. */
  TESTLIB_REQUIRE(mps_collections(arena) > 0);
  TESTLIB_REQUIRE(moved > 0);
  mps_arena_park(arena);
  mps_pool_destroy(pool);
  mps_fmt_destroy(fmt);
  mps_chain_destroy(chain);
  mps_arena_destroy(arena);
  return 0;
}
