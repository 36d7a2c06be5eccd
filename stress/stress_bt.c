/* stress_bt.c: bit tables used by several threads.
 *
 * All threads allocate from one shared table under a spinlock, the way an
 * arena allocates pages: find a run of reset bits with one of the four
 * searches, set it, later check it is still set and reset it.  Whoever
 * holds the lock may check that the table's set bits number exactly what
 * the threads hold.  Each thread also works on a private table checked
 * against a model of one byte per bit.
 *
 * Usage: stress_bt [seed]
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/data/bt.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define THREADS 4
#define ITERATIONS 50000
#define SHARED_BITS 1091  /* not a multiple of the word width; too few
                           * for every thread to hold MAX_CLAIMS claims */
#define PRIVATE_BITS 509
#define MAX_CLAIMS 64
#define MAX_CLAIM 24

typedef struct claim_s {
  Index base, limit;
} claim_s;

typedef struct thread_s {
  testlib_rng_s rng;
  Word private_table[BT_WORDS(PRIVATE_BITS)];
  unsigned char model[PRIVATE_BITS];
  claim_s claims[MAX_CLAIMS];
  Count nclaims;
  Count claimed, released, failed;
  /* Protected by shared_lock: bits of the shared table this thread holds. */
  Count held;
} thread_s;

static thread_s threads[THREADS];
static Word shared_table[BT_WORDS(SHARED_BITS)];
static testthr_spin_s shared_lock = TESTTHR_SPIN_INIT;

/* With the lock held: the set bits are exactly those the threads hold. */
static void check_shared(void)
{
  Count held = 0;
  unsigned t;
  for (t = 0; t < THREADS; ++t)
    held += threads[t].held;
  TESTLIB_REQUIRE(SHARED_BITS - bt_count_res_range(shared_table, 0,
                                                   SHARED_BITS) == held);
}

/* With the lock held: take a run of 1..MAX_CLAIM reset bits.  Which
 * search is used varies; a long search's answer is checked to be a whole
 * run, and only `length` bits of it are taken. */
static void claim(thread_s *th)
{
  Count length = 1 + testlib_rng_below(&th->rng, MAX_CLAIM);
  unsigned how = (unsigned)testlib_rng_below(&th->rng, 4);
  Index base, limit;
  bool found;
  switch (how) {
  case 0:
    found = bt_find_short_res_range(&base, &limit, shared_table, 0,
                                    SHARED_BITS, length);
    break;
  case 1:
    found = bt_find_short_res_range_high(&base, &limit, shared_table, 0,
                                         SHARED_BITS, length);
    break;
  case 2:
    found = bt_find_long_res_range(&base, &limit, shared_table, 0,
                                   SHARED_BITS, length);
    break;
  default:
    found = bt_find_long_res_range_high(&base, &limit, shared_table, 0,
                                        SHARED_BITS, length);
    break;
  }
  if (!found) {
    ++th->failed;
    return;
  }
  TESTLIB_REQUIRE(base < limit && limit <= SHARED_BITS);
  TESTLIB_REQUIRE(bt_is_res_range(shared_table, base, limit));
  if (how < 2) {
    TESTLIB_REQUIRE(limit - base == length);
  } else {
    TESTLIB_REQUIRE(limit - base >= length);
    TESTLIB_REQUIRE(base == 0 || bt_get(shared_table, base - 1));
    TESTLIB_REQUIRE(limit == SHARED_BITS || bt_get(shared_table, limit));
    if (how == 2)
      limit = base + length;
    else
      base = limit - length;
  }
  bt_set_range(shared_table, base, limit);
  th->claims[th->nclaims].base = base;
  th->claims[th->nclaims].limit = limit;
  ++th->nclaims;
  th->held += length;
  ++th->claimed;
}

/* With the lock held: give back one claim, which must still be set. */
static void release(thread_s *th)
{
  Index i = testlib_rng_below(&th->rng, th->nclaims);
  claim_s c = th->claims[i];
  TESTLIB_REQUIRE(bt_is_set_range(shared_table, c.base, c.limit));
  bt_res_range(shared_table, c.base, c.limit);
  th->claims[i] = th->claims[--th->nclaims];
  th->held -= c.limit - c.base;
  ++th->released;
}

/* One operation on the private table and its model. */
static void private_step(thread_s *th)
{
  Index base = testlib_rng_below(&th->rng, PRIVATE_BITS);
  Index limit = base + 1 + testlib_rng_below(&th->rng, PRIVATE_BITS - base);
  Index i, found_base, found_limit;
  switch (testlib_rng_below(&th->rng, 4)) {
  case 0:
    bt_set_range(th->private_table, base, limit);
    for (i = base; i < limit; ++i)
      th->model[i] = 1;
    break;
  case 1:
    bt_res_range(th->private_table, base, limit);
    for (i = base; i < limit; ++i)
      th->model[i] = 0;
    break;
  case 2:
    bt_copy_invert_range(th->private_table, th->private_table, base, limit);
    for (i = base; i < limit; ++i)
      th->model[i] = !th->model[i];
    break;
  default:
    if (bt_find_long_res_range(&found_base, &found_limit, th->private_table,
                               base, limit, 1)) {
      for (i = base; i < found_base; ++i)
        TESTLIB_REQUIRE(th->model[i]);
      for (i = found_base; i < found_limit; ++i)
        TESTLIB_REQUIRE(!th->model[i]);
      TESTLIB_REQUIRE(found_limit == limit || th->model[found_limit]);
    } else {
      for (i = base; i < limit; ++i)
        TESTLIB_REQUIRE(th->model[i]);
    }
    break;
  }
}

static void check_private(thread_s *th)
{
  Index i;
  Count res = 0;
  for (i = 0; i < PRIVATE_BITS; ++i) {
    TESTLIB_REQUIRE(bt_get(th->private_table, i) == th->model[i]);
    res += !th->model[i];
  }
  TESTLIB_REQUIRE(bt_count_res_range(th->private_table, 0, PRIVATE_BITS)
                  == res);
}

static void *worker(void *arg)
{
  thread_s *th = arg;
  unsigned i;
  for (i = 0; i < ITERATIONS; ++i) {
    private_step(th);
    if (i % 256 == 0)
      check_private(th);
    if (i % 2 == 0) {
      testthr_spin_lock(&shared_lock);
      if (th->nclaims == MAX_CLAIMS
          || (th->nclaims > 0 && testlib_rng_below(&th->rng, 2) == 0))
        release(th);
      else
        claim(th);
      if (i % 16 == 0)
        check_shared();
      testthr_spin_unlock(&shared_lock);
    }
  }
  check_private(th);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_bt");
  testthr_s tids[THREADS];
  Count claimed = 0, failed = 0;
  unsigned t;

  bt_res_range(shared_table, 0, SHARED_BITS);
  for (t = 0; t < THREADS; ++t) {
    thread_s *th = &threads[t];
    testlib_rng_init(&th->rng, seed + t + 1);
    bt_res_range(th->private_table, 0, PRIVATE_BITS);
  }
  for (t = 0; t < THREADS; ++t)
    testthr_create(&tids[t], worker, &threads[t]);
  for (t = 0; t < THREADS; ++t)
    testthr_join(&tids[t]);

  /* Joining ordered every thread's writes before these reads. */
  check_shared();
  for (t = 0; t < THREADS; ++t) {
    thread_s *th = &threads[t];
    claimed += th->claimed;
    failed += th->failed;
    while (th->nclaims > 0)
      release(th);
    TESTLIB_REQUIRE(th->held == 0);
  }
  TESTLIB_REQUIRE(bt_is_res_range(shared_table, 0, SHARED_BITS));
  printf("stress_bt: %d threads, %lu claims, %lu searches found nothing: ok\n",
         THREADS, (unsigned long)claimed, (unsigned long)failed);
  return 0;
}
