/* stress_root.c: threads registering and deregistering with an arena and
 * creating and destroying roots of every kind, while another thread runs
 * full collections (src/gc/root.c, src/gc/thr.c).
 *
 * The collector thread owns an AMC pool: it allocates objects carrying
 * their index, keeps every third one in an exact table root and the rest
 * only in a weak table, and after each mps_arena_collect checks that
 * every kept object is intact (wherever it moved) and every other one
 * is splatted.  WORKERS threads each repeatedly register, make a few
 * roots (tables, masked and tagged tables, areas, formatted blocks,
 * client functions and a root for their own stack) over words of their
 * own that are not references into the arena, hold them for a while,
 * check that no collection changed those words, destroy the roots and
 * deregister -- so roots and threads come and go while the collector
 * scans them.  An assertion handler that aborts is installed.
 *
 * Under ThreadSanitizer the workers do not register: TSan holds back
 * asynchronous signals until its next interception point, so a worker
 * blocked on the arena lock that the collector holds would never take the
 * suspension signal, and the collector would wait for it forever (and
 * TSan would report the reads of a suspended worker's stack as races).
 * There the workers make and destroy the other roots only; the summary
 * says so.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpslib.h"
#include "../test/support/objfmt.h"
#include "support/testlib.h"
#include "support/testthr.h"

#if defined(__SANITIZE_THREAD__)
#define STRESS_ROOT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_ROOT_TSAN 1
#endif
#endif
#if !defined(STRESS_ROOT_TSAN)
#define STRESS_ROOT_TSAN 0
#endif

enum { WORKERS = 3, ROUNDS = 400, COLLECTIONS = 40, OBJS = 600, WORDS = 16 };

/* ---- The objects: header, index, collection, ~index ----------------- */

/* The header word is test/support/objfmt.h's, and so are the skip,
 * forward, is-forwarded and pad methods; the scan is this program's. */
#define OW sizeof(mps_word_t)

static mps_res_t o_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  /* No references inside objects: they are leaves, kept by roots. */
  (void)ss;
  (void)base;
  (void)limit;
  return MPS_RES_OK;
}

/* A formatted block for fmt roots: one object whose words are scanned
 * as a table. */
static mps_res_t block_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  return mps_scan_area(ss, base, limit, NULL);
}

static mps_res_t fun_scan(mps_ss_t ss, void *p, size_t s)
{
  return mps_scan_area(ss, p, (mps_word_t *)p + s, NULL);
}

/* ---- Shared state ----------------------------------------------------- */

static mps_arena_t arena;
static _Atomic int workers_running;
static _Atomic unsigned long roots_made, registrations;

/* ---- Workers ---------------------------------------------------------- */

struct worker {
  uint64_t seed;
  mps_word_t words[WORDS];      /* not references into the arena */
  mps_word_t expect[WORDS];
};

/* Words a root may hold that a collection must not touch: small
 * integers, tagged integers, addresses of static data, null. */
static mps_word_t harmless_word(testlib_rng_s *rng, struct worker *w)
{
  switch (testlib_rng_below(rng, 4)) {
  case 0: return 0;
  case 1: return (mps_word_t)testlib_rng_below(rng, 1u << 20) << 3 | 1;
  case 2: return (mps_word_t)&w->words[testlib_rng_below(rng, WORDS)];
  default: return (mps_word_t)&workers_running;
  }
}

static void *work(void *arg)
{
  struct worker *w = arg;
  testlib_rng_s rng;
  int round;
  volatile mps_word_t cold = 0;
  testlib_rng_init(&rng, w->seed);
  for (round = 0; round < ROUNDS; ++round) {
    mps_thr_t thr = NULL;
    mps_root_t roots[8];
    int n = 0, i;
    mps_rank_t rank = testlib_rng_below(&rng, 2) ? mps_rank_exact() : mps_rank_ambig();
    for (i = 0; i < WORDS; ++i)
      w->expect[i] = w->words[i] = harmless_word(&rng, w);
    if (!STRESS_ROOT_TSAN) {
      TESTLIB_REQUIRE(mps_thread_reg(&thr, arena) == MPS_RES_OK);
      atomic_fetch_add_explicit(&registrations, 1, memory_order_relaxed);
    }
    TESTLIB_REQUIRE(mps_root_create_table(&roots[n++], arena, rank, 0,
                                          (mps_addr_t *)w->words, 4) == MPS_RES_OK);
    TESTLIB_REQUIRE(mps_root_create_table_masked(&roots[n++], arena, rank, 0,
                                                 (mps_addr_t *)w->words + 4, 2, 7)
                    == MPS_RES_OK);
    TESTLIB_REQUIRE(mps_root_create_table_tagged(&roots[n++], arena, rank, 0,
                                                 (mps_addr_t *)w->words + 6, 2,
                                                 mps_scan_area_tagged, 7, 1)
                    == MPS_RES_OK);
    TESTLIB_REQUIRE(mps_root_create_area_tagged(&roots[n++], arena, mps_rank_weak(), 0,
                                                w->words + 8, w->words + 10,
                                                mps_scan_area_tagged_or_zero, 7, 1)
                    == MPS_RES_OK);
    TESTLIB_REQUIRE(mps_root_create_fmt(&roots[n++], arena, rank, 0, block_scan,
                                        w->words + 10, w->words + 12) == MPS_RES_OK);
    TESTLIB_REQUIRE(mps_root_create(&roots[n++], arena, rank, 0, fun_scan,
                                    w->words + 12, 4) == MPS_RES_OK);
    if (!STRESS_ROOT_TSAN) {
      if (testlib_rng_below(&rng, 2))
        TESTLIB_REQUIRE(mps_root_create_thread(&roots[n++], arena, thr, (void *)&cold)
                        == MPS_RES_OK);
      else
        TESTLIB_REQUIRE(mps_root_create_thread_tagged(&roots[n++], arena,
                                                      mps_rank_ambig(), 0, thr,
                                                      mps_scan_area_tagged_or_zero, 7, 0,
                                                      (void *)&cold) == MPS_RES_OK);
    }
    atomic_fetch_add_explicit(&roots_made, (unsigned long)n, memory_order_relaxed);
    for (i = 0; i < 8; ++i)
      testthr_yield();
    /* Destroy in a random order. */
    while (n > 0) {
      int k = (int)testlib_rng_below(&rng, (uint64_t)n);
      mps_root_destroy(roots[k]);
      roots[k] = roots[--n];
    }
    if (!STRESS_ROOT_TSAN)
      mps_thread_dereg(thr);
    for (i = 0; i < WORDS; ++i)
      TESTLIB_REQUIRE(w->words[i] == w->expect[i]);
  }
  (void)cold;
  /* seq_cst: the collector stops after seeing every worker finish. */
  atomic_fetch_sub(&workers_running, 1);
  return NULL;
}

/* ---- The collector ---------------------------------------------------- */

static mps_addr_t kept[OBJS];     /* exact root: every third object */
static mps_addr_t weak[OBJS];     /* weak root: every object */

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_root");
  testlib_rng_s rng;
  static struct worker workers[WORKERS];
  testthr_s threads[WORKERS];
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_thr_t thr;
  mps_root_t kept_root, weak_root;
  unsigned long collections = 0, moved = 0, seen = 0, now, idle = 0;
  int i;

  mps_lib_assert_fail_install(testlib_abort_on_report);
  testlib_rng_init(&rng, seed);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 32 << 20);
    TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  TESTLIB_REQUIRE(objfmt_create(&fmt, arena, o_scan, true) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    TESTLIB_REQUIRE(mps_pool_create_k(&pool, arena, mps_class_amc(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  TESTLIB_REQUIRE(mps_thread_reg(&thr, arena) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_root_create_table(&kept_root, arena, mps_rank_exact(), 0, kept,
                                        OBJS) == MPS_RES_OK);
  TESTLIB_REQUIRE(mps_root_create_table(&weak_root, arena, mps_rank_weak(), 0, weak,
                                        OBJS) == MPS_RES_OK);

  atomic_init(&workers_running, WORKERS);
  for (i = 0; i < WORKERS; ++i) {
    workers[i].seed = testlib_rng_next(&rng);
    testthr_create(&threads[i], work, &workers[i]);
  }

  /* Collect until the workers are done, and at least COLLECTIONS times. */
  while (collections < COLLECTIONS || atomic_load(&workers_running) > 0) {
    size_t k;
    TESTLIB_REQUIRE(mps_ap_create_k(&ap, pool, mps_args_none) == MPS_RES_OK);
    for (k = 0; k < OBJS; ++k) {
      mps_addr_t p;
      do {
        mps_word_t *o;
        TESTLIB_REQUIRE(mps_reserve(&p, ap, 4 * OW) == MPS_RES_OK);
        o = p;
        o[0] = OBJFMT_HDR(4, OBJFMT_T_OBJ);
        o[1] = (mps_word_t)k;
        o[2] = (mps_word_t)collections;
        o[3] = ~(mps_word_t)k;
      } while (!mps_commit(ap, p, 4 * OW));
      kept[k] = (k % 3 == 0) ? p : NULL;
      weak[k] = p;
    }
    /* No buffer: every object can be condemned. */
    mps_ap_destroy(ap);
    mps_arena_collect(arena);
    ++collections;
    testthr_yield();            /* let a worker waiting for the arena in */
    for (k = 0; k < OBJS; ++k) {
      if (k % 3 == 0) {
        mps_word_t *o = kept[k];
        TESTLIB_REQUIRE(o != NULL && weak[k] == kept[k]);
        TESTLIB_REQUIRE(o[0] == OBJFMT_HDR(4, OBJFMT_T_OBJ) && o[1] == k
                        && o[3] == ~(mps_word_t)k);
        TESTLIB_REQUIRE(o[2] == collections - 1);
        ++moved;
      } else {
        TESTLIB_REQUIRE(weak[k] == NULL);
      }
    }
    /* A starved worker is not a stuck one: under an emulator (wine, on a
     * loaded machine) the workers may wait through tens of thousands of
     * collections for the lock.  While none registers, yield once more;
     * give up only when none has for many collections in a row. */
    now = atomic_load_explicit(&registrations, memory_order_relaxed);   /* a count only */
    if (now != seen) {
      seen = now;
      idle = 0;
    } else if (atomic_load(&workers_running) > 0) {
      testthr_yield();
      if (++idle > 100000) {
        fprintf(stderr, "stress_root: the workers made no progress\n");
        abort();
      }
    }
  }
  for (i = 0; i < WORKERS; ++i)
    testthr_join(&threads[i]);

  mps_arena_park(arena);
  mps_root_destroy(kept_root);
  mps_root_destroy(weak_root);
  mps_thread_dereg(thr);
  mps_pool_destroy(pool);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  printf("stress_root: %d workers x %d registrations (%lu in all), %lu roots made, "
         "%lu collections, %lu survivors checked%s\n",
         WORKERS, ROUNDS, atomic_load(&registrations), atomic_load(&roots_made),
         collections, moved,
         STRESS_ROOT_TSAN ? " (ThreadSanitizer: workers not registered, no thread roots)" : "");
  return 0;
}
