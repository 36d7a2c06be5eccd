/* gcharness.h: the shell shared by the collector harnesses whose workers
 * mutate a heap while a collector thread collects (stress_amc, stress_ams,
 * stress_awl, stress_barrier, stress_fork, stress_incremental, stress_lo,
 * stress_snc, stress_trace), and the workers' half of it by
 * stress_transform, whose transformer thread is its own.  Header only, every function static
 * inline.
 *
 * Natively the workers are registered threads whose stacks are ambiguous
 * roots, and collections suspend them wherever they are.  Under
 * ThreadSanitizer (which would see the collector's reads as races and
 * delivers the suspend signal late) they are not registered: every heap
 * access and every collection happens under the harness spinlock
 * (gcharness_lock).
 */
#ifndef gcharness_h
#define gcharness_h

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../include/mps.h"
#include "../../include/mpsavm.h"
#include "../../include/mpslib.h"
#include "../../test/support/objfmt.h"
#include "testlib.h"
#include "testthr.h"

#if defined(__SANITIZE_THREAD__)
#define GCHARNESS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GCHARNESS_TSAN 1
#endif
#endif
#if !defined(GCHARNESS_TSAN)
#define GCHARNESS_TSAN 0
#endif

/* What the harness prints of how its threads shared the heap. */
#define GCHARNESS_MODE                                                      \
  (GCHARNESS_TSAN ? "TSan: heap shared under a spinlock, no suspension"     \
                  : "threads suspended and stacks scanned")

typedef struct gcharness_s {
  mps_arena_t arena;
  testthr_spin_s spin;          /* TSan: the heap's owner */
  atomic_int running;           /* workers still working */
  atomic_ulong collects;        /* the collector thread's rounds */
} gcharness_s;

/* The library's assertion handler for the harnesses: report and abort. */
static inline void gcharness_abort(const char *file, unsigned line, const char *condition)
{
  fprintf(stderr, "%s:%u: MPS assertion failed: %s\n", file, line, condition);
  abort();
}

/* The harness's VM arena (`size` bytes of address space, or the default
 * if 0), with gcharness_abort installed first so that a failure while
 * making it is reported too. */
static inline mps_arena_t gcharness_arena_create(size_t size)
{
  mps_arena_t arena;
  mps_lib_assert_fail_install(gcharness_abort);
  MPS_ARGS_BEGIN(args) {
    if (size != 0)
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, size);
    TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  return arena;
}

/* A pool of `klass` with objects of `fmt` in generations of `chain`;
 * either may be NULL, for none. */
static inline mps_pool_t gcharness_pool_create(mps_arena_t arena, mps_pool_class_t klass,
                                               mps_fmt_t fmt, mps_chain_t chain)
{
  mps_pool_t pool;
  MPS_ARGS_BEGIN(args) {
    if (fmt != NULL)
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    if (chain != NULL)
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    TESTLIB_REQUIRE(mps_pool_create_k(&pool, arena, klass, args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  return pool;
}

/* Before any thread starts. */
static inline void gcharness_init(gcharness_s *h, mps_arena_t arena, int workers)
{
  h->arena = arena;
  testthr_spin_init(&h->spin);
  /* Relaxed: before any thread starts, which publishes them. */
  atomic_store_explicit(&h->running, workers, memory_order_relaxed);
  atomic_store_explicit(&h->collects, 0, memory_order_relaxed);
}

static inline void gcharness_lock(gcharness_s *h)
{
  if (GCHARNESS_TSAN)
    testthr_spin_lock(&h->spin);
}

static inline void gcharness_unlock(gcharness_s *h)
{
  if (GCHARNESS_TSAN)
    testthr_spin_unlock(&h->spin);
}

/* Whether any worker is still working.  Acquire: once it says no, every
 * worker's last heap access happened before. */
static inline int gcharness_working(gcharness_s *h)
{
  return atomic_load_explicit(&h->running, memory_order_acquire) > 0;
}

/* The collector thread's rounds so far.  Relaxed: the count only decides
 * how long workers go on. */
static inline unsigned long gcharness_collects(gcharness_s *h)
{
  return atomic_load_explicit(&h->collects, memory_order_relaxed);
}

/* A worker's registration: natively its thread, and its stack from the
 * hot end to `cold` as an ambiguous root. */
typedef struct gcharness_worker_s {
  mps_thr_t thr;
  mps_root_t stack_root;
} gcharness_worker_s;

static inline void gcharness_worker_enter(gcharness_s *h, gcharness_worker_s *w, void *cold)
{
  w->thr = NULL;
  w->stack_root = NULL;
  if (!GCHARNESS_TSAN) {
    TESTLIB_REQUIRE(mps_thread_reg(&w->thr, h->arena) == MPS_RES_OK);
    TESTLIB_REQUIRE(mps_root_create_thread(&w->stack_root, h->arena, w->thr, cold)
                    == MPS_RES_OK);
  }
}

static inline void gcharness_worker_leave(gcharness_s *h, gcharness_worker_s *w)
{
  if (!GCHARNESS_TSAN) {
    mps_root_destroy(w->stack_root);
    mps_thread_dereg(w->thr);
  }
  atomic_fetch_sub_explicit(&h->running, 1,
                            memory_order_release);   /* pairs with the collector's acquire */
}

/* The collector thread's body: while any worker works, one round of
 * `round` (under the harness lock), the arena released again, then
 * `spins` yields so the workers get the heap. */
typedef void gcharness_round_fn(mps_arena_t arena, unsigned round);

static inline void gcharness_collect(gcharness_s *h, gcharness_round_fn *round_fn,
                                     unsigned spins)
{
  mps_thr_t thr = NULL;
  unsigned spin, round = 0;
  if (!GCHARNESS_TSAN)
    TESTLIB_REQUIRE(mps_thread_reg(&thr, h->arena) == MPS_RES_OK);
  while (gcharness_working(h)) {
    gcharness_lock(h);
    round_fn(h->arena, ++round);
    mps_arena_release(h->arena);
    gcharness_unlock(h);
    atomic_fetch_add_explicit(&h->collects, 1,
                              memory_order_relaxed);   /* a count, read by workers */
    for (spin = 0; spin < spins; ++spin)
      testthr_yield();
  }
  if (!GCHARNESS_TSAN)
    mps_thread_dereg(thr);
}

/* A round of nothing but a full collection. */
static inline void gcharness_round_collect(mps_arena_t arena, unsigned round)
{
  mps_arena_collect(arena);
  (void)round;
}

/* What a collector thread of gcharness_collect is given. */
typedef struct gcharness_collector_s {
  gcharness_s *h;
  gcharness_round_fn *round;
  unsigned spins;
} gcharness_collector_s;

static inline void *gcharness_collector(void *arg)
{
  gcharness_collector_s *c = arg;
  gcharness_collect(c->h, c->round, c->spins);
  return NULL;
}

/* The i-th worker's seed, from the run's. */
static inline uint64_t gcharness_seed(uint64_t seed, unsigned i)
{
  return seed + i * 0x9E3779B97F4A7C15u;
}

/* Run `workers` threads of `work` (below the cold end: testlib.h), the
 * i-th on args + i * size, and one of `collector` on collector_arg, and
 * wait for them all. */
#define GCHARNESS_MAX_WORKERS 16

typedef struct gcharness_body_s {
  testlib_body_fn *work;
  void *arg;
} gcharness_body_s;

static inline void *gcharness_body(void *arg)
{
  gcharness_body_s *b = arg;
  return testlib_run_below_cold(b->work, b->arg);
}

static inline void gcharness_run(testlib_body_fn *work, void *args, size_t size,
                                 unsigned workers, testthr_fn collector, void *collector_arg)
{
  testthr_s threads[GCHARNESS_MAX_WORKERS], collecting;
  gcharness_body_s bodies[GCHARNESS_MAX_WORKERS];   /* live until joined */
  unsigned i;
  TESTLIB_REQUIRE(workers <= GCHARNESS_MAX_WORKERS);
  for (i = 0; i < workers; ++i) {
    bodies[i].work = work;
    bodies[i].arg = (char *)args + i * size;
    testthr_create(&threads[i], gcharness_body, &bodies[i]);
  }
  testthr_create(&collecting, collector, collector_arg);
  for (i = 0; i < workers; ++i)
    testthr_join(&threads[i]);
  testthr_join(&collecting);
}

/* An object with an identity (test/support/objfmt.h), by ap. */
static inline mps_addr_t gcharness_new_id(mps_ap_t ap, size_t nrefs, size_t ndata,
                                          mps_word_t id)
{
  size_t size = (2 + nrefs + ndata) * sizeof(mps_word_t);
  mps_addr_t p;
  do {
    TESTLIB_REQUIRE(mps_reserve(&p, ap, size) == MPS_RES_OK);
    objfmt_init_id(p, nrefs, ndata, id);
  } while (!mps_commit(ap, p, size));
  return p;
}

#endif /* gcharness_h */
