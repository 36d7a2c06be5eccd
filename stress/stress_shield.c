/* stress_shield.c: shields used from several threads (src/protect/shield.h
 * over the recording backend of src/protect/prot.h).
 *
 * A shield belongs to one arena, and an arena is entered by one thread at a
 * time, so a shield is never used by two threads at once.  This harness
 * runs both arrangements: every thread drives a private shield (one arena
 * per thread: any state the module wrongly shared between shields would
 * show up as a mismatch or a ThreadSanitizer report), and every thread
 * also takes turns on one shared shield under a lock, each turn a whole
 * enter ... leave, with the model of the shared shield kept under the same
 * lock.  After every operation the shield's checks run and each segment's
 * shield mode, depth and recorded protection are compared with a model;
 * after every leave, recorded protection must equal the shield mode of
 * every segment and the mutator must be running.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../include/mpslib.h"
#include "../src/protect/prot.h"
#include "../src/protect/shield.h"
#include "../src/thread/lock.h"
#include "support/testlib.h"
#include "support/testthr.h"

enum { THREADS = 4, TURNS = 300, STEPS = 40, SEGS = SHIELD_QUEUE_LIMIT + 4 };

#define PAGE ((Size)0x1000)

/* One arena's worth: a backend, a shield, segments, and the model. */
struct arena {
  ProtNoneStruct pn;
  ShieldStruct shield;
  ShieldSegStruct seg[SEGS];
  ProtMode sm[SEGS];
  Count depth[SEGS];
  Count holds;
  bool running;        /* the (imaginary) mutator */
  long ops;
};

static void mutator_suspend(void *closure)
{
  struct arena *a = closure;
  TESTLIB_REQUIRE(a->running);
  a->running = false;
}

static void mutator_resume(void *closure)
{
  struct arena *a = closure;
  TESTLIB_REQUIRE(!a->running);
  a->running = true;
}

static void arena_init(struct arena *a, Word where)
{
  Index i;
  Prot prot = prot_none_init(&a->pn);
  TESTLIB_REQUIRE(prot_setup(prot) == MPS_RES_OK);
  shield_init(&a->shield, prot, mutator_suspend, mutator_resume, a);
  for (i = 0; i < SEGS; ++i) {
    /* runs of three touching segments */
    Addr base = addr_of_word(where + (Word)(i + i / 3) * PAGE);
    shield_seg_init(&a->shield, &a->seg[i], base, addr_add(base, PAGE));
    a->sm[i] = PROT_DENY_NONE;
    a->depth[i] = 0;
  }
  a->holds = 0;
  a->running = true;
  a->ops = 0;
}

static void arena_compare(struct arena *a)
{
  Shield shield = &a->shield;
  bool inside = shield_is_inside(shield);
  Index i;
  TESTLIB_REQUIRE(shield_check_segs(shield));
  TESTLIB_REQUIRE(a->running != shield_is_suspended(shield));
  TESTLIB_REQUIRE(inside || a->running);
  TESTLIB_REQUIRE(!prot_none_overflowed(&a->pn));
  for (i = 0; i < SEGS; ++i) {
    ShieldSeg seg = &a->seg[i];
    TESTLIB_REQUIRE(seg->sm == a->sm[i] && seg->depth == a->depth[i]);
    TESTLIB_REQUIRE(prot_none_is(&a->pn, seg->base, seg->limit, seg->pm));
    TESTLIB_REQUIRE(seg->depth == 0 || seg->pm == PROT_DENY_NONE);
    TESTLIB_REQUIRE(inside || prot_none_is(&a->pn, seg->base, seg->limit, a->sm[i]));
  }
}

/* One random operation that the shield's contract allows now. */
static void arena_step(struct arena *a, testlib_rng_s *rng)
{
  Shield shield = &a->shield;
  Index i = (Index)testlib_rng_below(rng, SEGS);
  ShieldSeg seg = &a->seg[i];
  ProtMode mode = (ProtMode)(1 + testlib_rng_below(rng, 3));
  switch (testlib_rng_below(rng, 8)) {
  case 0: case 1:
    if ((a->sm[i] & mode) == 0) {
      shield_raise(shield, seg, mode);
      a->sm[i] |= mode;
    }
    break;
  case 2:
    if ((a->sm[i] & mode) == mode) {
      shield_lower(shield, seg, mode);
      a->sm[i] &= ~mode;
    }
    break;
  case 3:
    shield_expose(shield, seg);
    ++a->depth[i];
    break;
  case 4: case 5:
    if (a->depth[i] > 0) {
      shield_cover(shield, seg);
      --a->depth[i];
    }
    break;
  case 6:
    if (a->holds > 0 && testlib_rng_below(rng, 2) == 0) {
      shield_release(shield);
      --a->holds;
    } else {
      shield_hold(shield);
      ++a->holds;
    }
    break;
  default:
    shield_flush(shield);
    break;
  }
  ++a->ops;
  arena_compare(a);
}

/* A whole visit: enter, some steps, cover and release everything, leave. */
static void arena_visit(struct arena *a, testlib_rng_s *rng)
{
  Index i;
  int s;
  shield_enter(&a->shield);
  arena_compare(a);
  for (s = 0; s < STEPS; ++s)
    arena_step(a, rng);
  for (i = 0; i < SEGS; ++i)
    for (; a->depth[i] > 0; --a->depth[i])
      shield_cover(&a->shield, &a->seg[i]);
  for (; a->holds > 0; --a->holds)
    shield_release(&a->shield);
  shield_leave(&a->shield);
  arena_compare(a);
}

static void arena_finish(struct arena *a)
{
  Index i;
  shield_enter(&a->shield);
  for (i = 0; i < SEGS; ++i)
    if (a->sm[i] != PROT_DENY_NONE) {
      shield_lower(&a->shield, &a->seg[i], a->sm[i]);
      a->sm[i] = PROT_DENY_NONE;
    }
  shield_leave(&a->shield);
  arena_compare(a);
  for (i = 0; i < SEGS; ++i) {
    TESTLIB_REQUIRE(prot_none_is(&a->pn, a->seg[i].base, a->seg[i].limit,
                                 PROT_DENY_NONE));
    shield_seg_finish(&a->shield, &a->seg[i]);
  }
  shield_finish(&a->shield);
  prot_none_finish(&a->pn);
}

static struct arena shared_arena;
static Lock shared_lock;

struct worker {
  int index;
  uint64_t seed;
  long shared_visits;
  long ops;
};

static void *work(void *p)
{
  struct worker *w = p;
  struct arena *own = malloc(sizeof *own);
  testlib_rng_s rng;
  int turn;
  TESTLIB_REQUIRE(own != NULL);
  testlib_rng_init(&rng, w->seed);
  /* Every arena at its own addresses, as separate arenas would be. */
  arena_init(own, (Word)0x10000000 + (Word)w->index * 0x1000000);
  for (turn = 0; turn < TURNS; ++turn) {
    arena_visit(own, &rng);
    if (turn % 3 == 0) {
      lock_claim(shared_lock);
      arena_visit(&shared_arena, &rng);
      lock_release(shared_lock);
      ++w->shared_visits;
    }
  }
  arena_finish(own);
  w->ops = own->ops;
  free(own);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_shield");
  struct worker workers[THREADS];
  testthr_s threads[THREADS];
  long ops = 0, visits = 0;
  int t;

  mps_lib_assert_fail_install(testlib_abort_on_report);
  shared_lock = malloc(lock_size());
  TESTLIB_REQUIRE(shared_lock != NULL);
  TESTLIB_REQUIRE(lock_init(shared_lock) == MPS_RES_OK);
  arena_init(&shared_arena, (Word)0x70000000);

  for (t = 0; t < THREADS; ++t) {
    workers[t].index = t;
    workers[t].seed = seed + (uint64_t)t * 0x9E3779B97F4A7C15u;
    workers[t].shared_visits = 0;
    workers[t].ops = 0;
    testthr_create(&threads[t], work, &workers[t]);
  }
  for (t = 0; t < THREADS; ++t) {
    testthr_join(&threads[t]);
    ops += workers[t].ops;
    visits += workers[t].shared_visits;
  }

  TESTLIB_REQUIRE(visits == (long)THREADS * ((TURNS + 2) / 3));
  TESTLIB_REQUIRE(shared_arena.ops == visits * STEPS);
  ops += shared_arena.ops;
  arena_finish(&shared_arena);
  lock_finish(shared_lock);
  free(shared_lock);
  printf("stress_shield: %d threads, %ld private and shared operations, "
         "%ld shared visits: ok\n", THREADS, ops, visits);
  return 0;
}
