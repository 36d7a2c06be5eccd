/* stress_nailboard.c: nailboards used by several threads.
 *
 * AMC uses a nailboard only with the arena lock held.  Here two boards, A
 * and B, of one range and unit are shared by every thread under that lock,
 * as are the nails of both (a byte per unit).  Each thread nails units of
 * its own, those whose index leaves its number modulo the thread count, so
 * that the threads' nails share the words of both levels: in A, in B or in
 * both, one at a time or a run at once.  Whoever holds the lock asks get,
 * is_res_range and find_diff (either board against the other) of units and
 * ranges anywhere, and checks every answer against the nails of all the
 * threads; now and then it compares the whole of both boards, and walks
 * every difference with find_diff as AMC's reclaim does.  As nails are
 * never taken out, the boards are destroyed and made again with a new
 * range and unit once they fill (a trace ending) and now and then anyway.
 *
 * Each thread also has two private boards of one range and unit, made and
 * destroyed over and over: a board lives in arena control memory, taken
 * and given back under the lock, so the threads' requests interleave.
 * Everything else on them is done without the lock, checked against a
 * byte per unit, with find_diff between the two.  At the end the arena's
 * control memory in use is what it was before the first board was made.
 *
 * Ranges are of 1 to 9000 units (so that level 1 has up to three words on
 * a 64-bit machine), units of 1 byte to 4 KiB; boards only record
 * addresses, so a range is not memory of the arena.  A question about a
 * range covers every unit that meets it, as AMC asks of objects that need
 * not be aligned to the unit.
 *
 * Usage: stress_nailboard [seed]
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpslib.h"
#include "../src/pool/nailboard.h"
#include "../fuzz/support/refusal.h"   /* refusal_control_in_use */
#include "support/testlib.h"
#include "support/testthr.h"

#define THREADS 4
#define ITERATIONS 40000
#define UNITS_MAX 9000
#define SHIFT_MAX 12
#define BASE ((Word)1 << 28)
#define PRIVATE_OPS_MAX 800     /* operations on private boards before they are remade */
#define RUN_MAX 200             /* units nailed at once, to fill words */

/* Two boards of one range and unit, with their nails. */
typedef struct snail_pair_s {
  Nailboard boards[2];          /* each the other's `except` for find_diff */
  Addr base;
  Shift shift;
  Count units;
  Size bytes;                   /* units << shift */
  unsigned char nails[2][UNITS_MAX];
  Count set[2];
} snail_pair_s;

typedef struct snail_thread_s {
  unsigned index;
  testlib_rng_s rng;
  snail_pair_s own;             /* private boards */
  bool live;
  unsigned ops_left;
  unsigned long nails, questions, made, refused;
} snail_thread_s;

static Arena snail_arena;
static snail_pair_s snail_shared;   /* guarded by the arena lock */
static unsigned long snail_shared_made;   /* likewise */
static snail_thread_s snail_threads[THREADS];

/* The threads are started one after another: each waits for the rest
 * before it begins, so that they run together rather than in turn. */
static atomic_uint snail_started;

/* A new range and unit: now and then a few units, or a few words of them,
 * so that boards of one partial word and ranges ending inside the last
 * word of level 0 both occur; the base is aligned to the unit but not
 * always to more. */
static void snail_geometry(snail_pair_s *pair, testlib_rng_s *rng)
{
  switch (testlib_rng_below(rng, 6)) {
  case 0:
    pair->units = 1 + (Count)testlib_rng_below(rng, 8);
    break;
  case 1:
    pair->units = 1 + (Count)testlib_rng_below(rng, 3 * WORD_WIDTH);
    break;
  default:
    pair->units = 1 + (Count)testlib_rng_below(rng, UNITS_MAX);
    break;
  }
  pair->shift = (Shift)testlib_rng_below(rng, SHIFT_MAX + 1);
  pair->base = addr_of_word(BASE + ((Word)testlib_rng_below(rng, 64) << pair->shift));
  pair->bytes = (Size)pair->units << pair->shift;
}

/* With the lock held: make board `which` of the pair, empty. */
static void snail_create(snail_pair_s *pair, unsigned which)
{
  Nailboard board;
  TESTLIB_REQUIRE(nailboard_create(&pair->boards[which], snail_arena, (Align)1 << pair->shift,
                                   pair->base, addr_add(pair->base, pair->bytes))
                  == MPS_RES_OK);
  board = pair->boards[which];
  memset(pair->nails[which], 0, pair->units);
  pair->set[which] = 0;
  TESTLIB_REQUIRE(nailboard_check(board));
  TESTLIB_REQUIRE(board->set == 0);
  TESTLIB_REQUIRE(nailboard_is_res_range(board, pair->base, addr_add(pair->base, pair->bytes)));
}

/* A byte offset into the range, anywhere in [0, bytes]. */
static Size snail_offset(snail_pair_s *pair, testlib_rng_s *rng)
{
  return (Size)testlib_rng_below(rng, pair->bytes + 1);
}

/* An address anywhere in the unit. */
static Addr snail_addr(snail_pair_s *pair, Index unit, testlib_rng_s *rng)
{
  Size within = (Size)testlib_rng_below(rng, (Size)1 << pair->shift);
  return addr_add(pair->base, ((Size)unit << pair->shift) + within);
}

static void snail_nail(snail_pair_s *pair, unsigned which, Index unit, testlib_rng_s *rng)
{
  Nailboard board = pair->boards[which];
  bool was = nailboard_set(board, snail_addr(pair, unit, rng));
  TESTLIB_REQUIRE(was == (pair->nails[which][unit] != 0));
  if (!was) {
    pair->nails[which][unit] = 1;
    ++pair->set[which];
  }
  TESTLIB_REQUIRE(board->set == pair->set[which]);
  TESTLIB_REQUIRE(nailboard_get(board, snail_addr(pair, unit, rng)));
}

static void snail_get(snail_pair_s *pair, testlib_rng_s *rng)
{
  unsigned which = (unsigned)testlib_rng_below(rng, 2);
  Index unit = (Index)testlib_rng_below(rng, pair->units);
  TESTLIB_REQUIRE(nailboard_get(pair->boards[which], snail_addr(pair, unit, rng))
                  == (pair->nails[which][unit] != 0));
}

/* Whether any unit meeting [lo, hi) is nailed in the board; lo < hi. */
static void snail_is_res_range(snail_pair_s *pair, testlib_rng_s *rng)
{
  unsigned which = (unsigned)testlib_rng_below(rng, 2);
  Size lo = (Size)testlib_rng_below(rng, pair->bytes), hi;
  Index first, limit, u;
  bool res = true;
  /* Mostly short ranges: a board soon has a nail in most long ones. */
  if (testlib_rng_below(rng, 4) != 0) {
    Count span = (Count)(2 * WORD_WIDTH) >> testlib_rng_below(rng, 4);
    hi = lo + 1 + (Size)testlib_rng_below(rng, (Size)span << pair->shift);
  } else {
    hi = lo + 1 + (Size)testlib_rng_below(rng, pair->bytes - lo);
  }
  if (hi > pair->bytes)
    hi = pair->bytes;
  first = lo >> pair->shift;
  limit = ((hi - 1) >> pair->shift) + 1;
  for (u = first; u < limit; ++u)
    if (pair->nails[which][u])
      res = false;
  TESTLIB_REQUIRE(nailboard_is_res_range(pair->boards[which], addr_add(pair->base, lo),
                                         addr_add(pair->base, hi))
                  == res);
}

/* The lowest unit of [first, limit) nailed in `which` but not the other,
 * or limit. */
static Index snail_model_diff(snail_pair_s *pair, unsigned which, Index first, Index limit)
{
  Index u;
  for (u = first; u < limit; ++u)
    if (pair->nails[which][u] && !pair->nails[!which][u])
      return u;
  return limit;
}

/* find_diff of [lo, hi), which may be empty or inverted. */
static void snail_find_diff(snail_pair_s *pair, unsigned which, Size lo, Size hi)
{
  Size unit = (Size)1 << pair->shift;
  Addr found = NULL;
  bool any = nailboard_find_diff(&found, pair->boards[which], pair->boards[!which],
                                 addr_add(pair->base, lo), addr_add(pair->base, hi));
  Index first, limit, want;
  if (lo >= hi) {
    TESTLIB_REQUIRE(!any);
    return;
  }
  first = lo >> pair->shift;
  limit = (hi + unit - 1) >> pair->shift;
  want = snail_model_diff(pair, which, first, limit);
  TESTLIB_REQUIRE(any == (want < limit));
  if (any)
    TESTLIB_REQUIRE(found == addr_add(pair->base, (Size)want << pair->shift));
}

/* Every unit, asked at an address that moves about in it; then every
 * difference either way, found one after another as AMC's reclaim finds
 * the nailed objects of a segment. */
static void snail_compare(snail_pair_s *pair)
{
  Size mask = ((Size)1 << pair->shift) - 1;
  Addr limit = addr_add(pair->base, pair->bytes);
  unsigned which;
  Index u;
  for (which = 0; which < 2; ++which) {
    Nailboard board = pair->boards[which];
    Addr from = pair->base, found;
    Count diffs = 0, want = 0;
    TESTLIB_REQUIRE(nailboard_check(board));
    TESTLIB_REQUIRE(board->set == pair->set[which]);
    TESTLIB_REQUIRE(nailboard_is_res_range(board, pair->base, limit) == (pair->set[which] == 0));
    for (u = 0; u < pair->units; ++u) {
      Addr addr = addr_add(pair->base, ((Size)u << pair->shift) + (u * 7 & mask));
      TESTLIB_REQUIRE(nailboard_get(board, addr) == (pair->nails[which][u] != 0));
      want += pair->nails[which][u] && !pair->nails[!which][u];
    }
    while (nailboard_find_diff(&found, board, pair->boards[!which], from, limit)) {
      Index unit = (Index)(addr_offset(pair->base, found) >> pair->shift);
      TESTLIB_REQUIRE(addr_word(found) >= addr_word(from));
      TESTLIB_REQUIRE(unit < pair->units && snail_model_diff(pair, which, unit, pair->units) == unit);
      ++diffs;
      TESTLIB_REQUIRE(diffs <= want);
      from = addr_add(found, mask + 1);
    }
    TESTLIB_REQUIRE(diffs == want);
  }
}

/* A question of a pair at random. */
static void snail_ask(snail_pair_s *pair, testlib_rng_s *rng)
{
  switch (testlib_rng_below(rng, 6)) {
  case 0:
  case 1:
    snail_get(pair, rng);
    break;
  case 2:
  case 3:
    snail_is_res_range(pair, rng);
    break;
  case 4: {
    /* Short ranges, often inside one word of level 0. */
    Size lo = snail_offset(pair, rng);
    Size hi = lo + (Size)testlib_rng_below(rng, (Size)(3 * WORD_WIDTH) << pair->shift);
    snail_find_diff(pair, (unsigned)testlib_rng_below(rng, 2), lo,
                    hi < pair->bytes ? hi : pair->bytes);
    break;
  }
  default:
    snail_find_diff(pair, (unsigned)testlib_rng_below(rng, 2), snail_offset(pair, rng),
                    snail_offset(pair, rng));
    break;
  }
}

/* Nail the unit in A (`where` 0), B (1) or both (2). */
static void snail_nail_some(snail_pair_s *pair, Index unit, testlib_rng_s *rng, unsigned where)
{
  if (where != 1)
    snail_nail(pair, 0, unit, rng);
  if (where != 0)
    snail_nail(pair, 1, unit, rng);
}

/* With the lock held: destroy the shared boards and make them again. */
static void snail_shared_renew(testlib_rng_s *rng)
{
  unsigned which;
  snail_compare(&snail_shared);
  for (which = 0; which < 2; ++which)
    nailboard_destroy(snail_shared.boards[which], snail_arena);
  snail_geometry(&snail_shared, rng);
  for (which = 0; which < 2; ++which)
    snail_create(&snail_shared, which);
  ++snail_shared_made;
}

/* One operation on the shared boards, under the lock. */
static void snail_shared_step(snail_thread_s *th)
{
  snail_pair_s *pair = &snail_shared;
  testlib_rng_s *rng = &th->rng;
  arena_enter(snail_arena);
  if (testlib_rng_below(rng, 3) == 0) {
    /* My units are index, index + THREADS, ... */
    Count mine = pair->units > th->index ? (pair->units - 1 - th->index) / THREADS + 1 : 0;
    if (mine > 0) {
      Index k = (Index)testlib_rng_below(rng, mine);
      unsigned where = (unsigned)testlib_rng_below(rng, 3);
      Count run = testlib_rng_below(rng, 32) == 0 ? 1 + (Count)testlib_rng_below(rng, RUN_MAX) : 1;
      for (; run > 0 && k < mine; --run, ++k) {
        snail_nail_some(pair, th->index + k * THREADS, rng, where);
        ++th->nails;
      }
    }
  } else {
    snail_ask(pair, rng);
    ++th->questions;
  }
  if (testlib_rng_below(rng, 256) == 0)
    snail_compare(pair);
  if (pair->set[0] * 4 > pair->units * 3 || testlib_rng_below(rng, 2000) == 0)
    snail_shared_renew(rng);
  arena_leave(snail_arena);
}

/* Make the private boards, each under the lock on its own, so that other
 * threads' requests fall between. */
static void snail_private_make(snail_thread_s *th)
{
  unsigned which;
  snail_geometry(&th->own, &th->rng);
  for (which = 0; which < 2; ++which) {
    arena_enter(snail_arena);
    /* Now and then the arena refuses the board's first request, within
     * this hold of the lock: nothing is made and nothing is taken. */
    if (testlib_rng_below(&th->rng, 4) == 0) {
      Size in_use = refusal_control_in_use(snail_arena);
      Nailboard board = NULL;
      Res res;
      arena_fail_after(snail_arena, 1);
      res = nailboard_create(&board, snail_arena, (Align)1 << th->own.shift, th->own.base,
                             addr_add(th->own.base, th->own.bytes));
      arena_fail_after(snail_arena, 0);
      TESTLIB_REQUIRE(res == MPS_RES_MEMORY && board == NULL);
      TESTLIB_REQUIRE(refusal_control_in_use(snail_arena) == in_use);
      ++th->refused;
    }
    snail_create(&th->own, which);
    arena_leave(snail_arena);
  }
  th->ops_left = 1 + (unsigned)testlib_rng_below(&th->rng, PRIVATE_OPS_MAX);
  th->live = true;
  ++th->made;
}

static void snail_private_destroy(snail_thread_s *th)
{
  unsigned which;
  snail_compare(&th->own);
  for (which = 0; which < 2; ++which) {
    arena_enter(snail_arena);
    nailboard_destroy(th->own.boards[which], snail_arena);
    arena_leave(snail_arena);
  }
  th->live = false;
}

/* One operation on the private boards, without the lock unless it makes
 * or destroys them. */
static void snail_private_step(snail_thread_s *th)
{
  snail_pair_s *pair = &th->own;
  testlib_rng_s *rng = &th->rng;
  if (!th->live) {
    snail_private_make(th);
    return;
  }
  if (th->ops_left-- == 0) {
    snail_private_destroy(th);
    return;
  }
  if (testlib_rng_below(rng, 3) == 0) {
    Index unit = (Index)testlib_rng_below(rng, pair->units);
    unsigned where = (unsigned)testlib_rng_below(rng, 3);
    Count run = testlib_rng_below(rng, 32) == 0 ? 1 + (Count)testlib_rng_below(rng, RUN_MAX) : 1;
    for (; run > 0 && unit < pair->units; --run, ++unit) {
      snail_nail_some(pair, unit, rng, where);
      ++th->nails;
    }
  } else {
    snail_ask(pair, rng);
    ++th->questions;
  }
  if (testlib_rng_below(rng, 128) == 0)
    snail_compare(pair);
}

static void snail_wait_for_all(void)
{
  /* relaxed: it orders nothing, as everything shared is under the lock. */
  atomic_fetch_add_explicit(&snail_started, 1, memory_order_relaxed);
  while (atomic_load_explicit(&snail_started, memory_order_relaxed) < THREADS)
    testthr_yield();
}

static void *snail_worker(void *arg)
{
  snail_thread_s *th = arg;
  unsigned i;
  snail_wait_for_all();
  for (i = 0; i < ITERATIONS; ++i) {
    snail_private_step(th);
    if (i % 2 == 0)
      snail_shared_step(th);
    /* A lock tends to go back to the thread that let go of it: this lets
     * the others have turns between this thread's calls. */
    if (i % 16 == 0)
      testthr_yield();
  }
  if (th->live)
    snail_private_destroy(th);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_nailboard");
  mps_arena_t arena;
  testthr_s tids[THREADS];
  testlib_rng_s rng;
  unsigned long nails = 0, questions = 0, made = 0, refused = 0;
  Size in_use;
  unsigned t, which;

  mps_lib_assert_fail_install(testlib_abort_on_report);
  TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none) == MPS_RES_OK);
  snail_arena = (Arena)arena;
  testlib_rng_init(&rng, seed);
  arena_enter(snail_arena);
  in_use = refusal_control_in_use(snail_arena);
  snail_geometry(&snail_shared, &rng);
  for (which = 0; which < 2; ++which)
    snail_create(&snail_shared, which);
  snail_shared_made = 1;
  arena_leave(snail_arena);
  for (t = 0; t < THREADS; ++t) {
    snail_threads[t].index = t;
    testlib_rng_init(&snail_threads[t].rng, seed + t + 1);
  }
  for (t = 0; t < THREADS; ++t)
    testthr_create(&tids[t], snail_worker, &snail_threads[t]);
  for (t = 0; t < THREADS; ++t)
    testthr_join(&tids[t]);

  arena_enter(snail_arena);
  snail_compare(&snail_shared);
  for (which = 0; which < 2; ++which)
    nailboard_destroy(snail_shared.boards[which], snail_arena);
  TESTLIB_REQUIRE(refusal_control_in_use(snail_arena) == in_use);
  arena_leave(snail_arena);
  mps_arena_destroy(arena);

  for (t = 0; t < THREADS; ++t) {
    nails += snail_threads[t].nails;
    questions += snail_threads[t].questions;
    made += snail_threads[t].made;
    refused += snail_threads[t].refused;
  }
  TESTLIB_REQUIRE(refused > 0);
  printf("stress_nailboard: %d threads, %lu nails, %lu questions, %lu shared and %lu "
         "private pairs of boards, %lu boards refused first: ok\n",
         THREADS, nails, questions, snail_shared_made, made, refused);
  return 0;
}
