/* test_bt.c: unit tests of bit tables (src/data/bt.h).
 *
 * Most tests run an operation on every range of a table whose length is
 * not a multiple of the word width (so ranges within one word, across word
 * boundaries, over whole words, and at the very start and end are all
 * covered) and compare the table with a model of one byte per bit.  The
 * table sits between two guard words, and the spare bits of its last word
 * hold a pattern, so a write outside the range is seen.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#if defined(__linux__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/data/bt.h"
#include "../stress/support/testlib.h"
#include "support/checks.h"
#include "support/reports.h"

#define N (3 * WORD_WIDTH + 5)  /* bits in the main test table */
#define NF (2 * WORD_WIDTH + 7) /* smaller table for the cubic find tests */
#define GUARD ((Word)0x5A5A5A5A)

static Word store[BT_WORDS(N) + 2];
static Word other_store[BT_WORDS(N) + 2];
static BT table = store + 1;
static BT other = other_store + 1;
static unsigned char model[N];
static testlib_rng_s rng;

static bool raw_bit(const Word *t, Index i)
{
  return ((t[i / WORD_WIDTH] >> (i % WORD_WIDTH)) & 1) != 0;
}

/* Fill a table's words (guards and spare bits too) at random, with set
 * bits in proportion `density` / 8, and record its first n bits in
 * `bits` if that is not NULL. */
static void fill(Word *st, Count n, unsigned density, unsigned char *bits)
{
  Index i;
  Count words = BT_WORDS(n);
  st[0] = GUARD;
  st[words + 1] = GUARD;
  for (i = 1; i <= words; ++i) {
    Word w = 0;
    Index b;
    for (b = 0; b < WORD_WIDTH; ++b)
      if (testlib_rng_below(&rng, 8) < density)
        w |= (Word)1 << b;
    st[i] = w;
  }
  if (bits != NULL)
    for (i = 0; i < n; ++i)
      bits[i] = raw_bit(st + 1, i);
}

/* The table matches the model, its guards are intact, and the spare bits
 * of its last word still equal `spare`. */
static void assert_table(const Word *st, Count n, const unsigned char *bits,
                         Word spare_before)
{
  Index i;
  Count words = BT_WORDS(n);
  Word spare_mask = n % WORD_WIDTH == 0
                        ? 0 : WORD_ONES << (n % WORD_WIDTH);
  for (i = 0; i < n; ++i)
    cr_assert_eq(raw_bit(st + 1, i), bits[i], "bit %zu", i);
  cr_assert_eq(st[0], GUARD, "guard below overwritten");
  cr_assert_eq(st[words + 1], GUARD, "guard above overwritten");
  cr_assert_eq(st[words] & spare_mask, spare_before & spare_mask,
               "spare bits overwritten");
}

static void setup(void)
{
  testlib_rng_init(&rng, 0xB17AB1E);
}

static void setup_aborting(void)
{
  setup();
  reports_install_abort();
}

TestSuite(bt, .init = setup);

Test(bt, size)
{
  cr_assert_eq(bt_size(0), 0);
  cr_assert_eq(bt_size(1), sizeof(Word));
  cr_assert_eq(bt_size(WORD_WIDTH - 1), sizeof(Word));
  cr_assert_eq(bt_size(WORD_WIDTH), sizeof(Word));
  cr_assert_eq(bt_size(WORD_WIDTH + 1), 2 * sizeof(Word));
  cr_assert_eq(bt_size(N), 4 * sizeof(Word));
  cr_assert_eq(BT_WORDS(SIZE_MAX), SIZE_MAX / WORD_WIDTH + 1,
               "BT_WORDS overflowed");
}

Test(bt, single_bits)
{
  Index i, j;
  unsigned density;
  for (density = 0; density <= 8; density += 8) {
    for (i = 0; i < N; ++i) {
      bool was;
      fill(store, N, density, model);
      was = model[i];
      cr_assert_eq(bt_get(table, i), was);
      bt_set(table, i);
      model[i] = 1;
      cr_assert(bt_get(table, i));
      bt_res(table, i);
      model[i] = 0;
      cr_assert(!bt_get(table, i));
      for (j = 0; j < N; ++j)
        cr_assert_eq(bt_get(table, j), model[j]);
      assert_table(store, N, model, density == 0 ? 0 : WORD_ONES);
    }
  }
}

/* Apply `op` to every range of a random table and compare with the model,
 * where `value` is the bit the range should hold afterwards (or -1 to copy
 * from `other`, -2 to copy the inverse). */
static void every_range(void (*op)(Index, Index), int value)
{
  Index base, limit, i;
  unsigned char from[N];
  for (base = 0; base < N; ++base)
    for (limit = base + 1; limit <= N; ++limit) {
      Word spare;
      fill(store, N, 4, model);
      fill(other_store, N, 4, from);
      spare = store[BT_WORDS(N)];
      op(base, limit);
      for (i = base; i < limit; ++i)
        model[i] = value >= 0 ? (unsigned char)value
                   : value == -1 ? from[i] : (unsigned char)!from[i];
      assert_table(store, N, model, spare);
    }
}

static void do_set_range(Index base, Index limit)
{
  bt_set_range(table, base, limit);
}

static void do_res_range(Index base, Index limit)
{
  bt_res_range(table, base, limit);
}

static void do_copy_range(Index base, Index limit)
{
  bt_copy_range(other, table, base, limit);
}

static void do_copy_invert_range(Index base, Index limit)
{
  bt_copy_invert_range(other, table, base, limit);
}

Test(bt, set_range_every_range) { every_range(do_set_range, 1); }
Test(bt, res_range_every_range) { every_range(do_res_range, 0); }
Test(bt, copy_range_every_range) { every_range(do_copy_range, -1); }
Test(bt, copy_invert_range_every_range)
{
  every_range(do_copy_invert_range, -2);
}

Test(bt, copy_invert_range_in_place)
{
  Index i;
  Word spare;
  fill(store, N, 3, model);
  spare = store[BT_WORDS(N)];
  bt_copy_invert_range(table, table, 3, N - 2);
  for (i = 3; i < N - 2; ++i)
    model[i] = !model[i];
  assert_table(store, N, model, spare);
}

/* Densities from nearly all reset to nearly all set, so that long all-set
 * and all-reset ranges occur. */
static const unsigned densities[] = {0, 1, 4, 7, 8};

Test(bt, is_set_is_res_and_count_every_range)
{
  size_t d;
  Index base, limit, i;
  for (d = 0; d < sizeof densities / sizeof densities[0]; ++d) {
    /* Sparse patterns: flip only a few bits of an all-set or all-reset
     * table, so that long uniform ranges are common. */
    Word spare;
    fill(store, N, densities[d], model);
    if (densities[d] == 1 || densities[d] == 7)
      for (i = 0; i < N; ++i)
        model[i] = testlib_rng_below(&rng, 40) == 0 ? densities[d] == 1
                                                    : densities[d] == 7;
    for (i = 0; i < N; ++i)
      if (model[i])
        bt_set(table, i);
      else
        bt_res(table, i);
    spare = store[BT_WORDS(N)];
    for (base = 0; base < N; ++base)
      for (limit = base + 1; limit <= N; ++limit) {
        bool all_set = true, all_res = true;
        Count res = 0;
        for (i = base; i < limit; ++i) {
          all_set = all_set && model[i];
          all_res = all_res && !model[i];
          res += !model[i];
        }
        cr_assert_eq(bt_is_set_range(table, base, limit), all_set,
                     "is_set [%zu, %zu)", base, limit);
        cr_assert_eq(bt_is_res_range(table, base, limit), all_res,
                     "is_res [%zu, %zu)", base, limit);
        cr_assert_eq(bt_count_res_range(table, base, limit), res,
                     "count [%zu, %zu)", base, limit);
      }
    assert_table(store, N, model, spare);
  }
}

Test(bt, range_tests_at_word_edges)
{
  /* One set bit at each end of a word boundary. */
  bt_res_range(table, 0, N);
  bt_set(table, WORD_WIDTH - 1);
  cr_assert(bt_is_res_range(table, 0, WORD_WIDTH - 1));
  cr_assert(!bt_is_res_range(table, 0, WORD_WIDTH));
  cr_assert(bt_is_res_range(table, WORD_WIDTH, N));
  cr_assert(bt_is_set_range(table, WORD_WIDTH - 1, WORD_WIDTH));
  cr_assert(!bt_is_set_range(table, WORD_WIDTH - 1, WORD_WIDTH + 1));
  cr_assert_eq(bt_count_res_range(table, 0, N), N - 1);
  bt_set(table, N - 1);
  cr_assert(!bt_is_res_range(table, WORD_WIDTH, N));
  cr_assert(bt_is_res_range(table, WORD_WIDTH, N - 1));
  cr_assert_eq(bt_count_res_range(table, N - 1, N), 0);
  cr_assert_eq(bt_count_res_range(table, 0, N), N - 2);
}

/* The answers a search should give, found from the runs of reset bits of
 * the model within [base, limit). */
typedef struct expect_s {
  bool found;
  Index base, limit;
} expect_s;

typedef struct run_s {
  Index base, limit;
} run_s;

static size_t model_runs(run_s *runs, const unsigned char *bits, Index base,
                         Index limit)
{
  size_t n = 0;
  Index i = base;
  while (i < limit) {
    if (bits[i]) {
      ++i;
      continue;
    }
    runs[n].base = i;
    while (i < limit && !bits[i])
      ++i;
    runs[n].limit = i;
    ++n;
  }
  return n;
}

typedef bool (*find_fn)(Index *, Index *, BT, Index, Index, Count);

static void check_find(find_fn find, const char *name, Index base,
                       Index limit, Count length, expect_s want)
{
  Index found_base = 12345, found_limit = 54321;
  bool found = find(&found_base, &found_limit, table, base, limit, length);
  cr_assert_eq(found, want.found, "%s [%zu, %zu) length %zu: found %d",
               name, base, limit, length, found);
  if (found) {
    cr_assert_eq(found_base, want.base, "%s [%zu, %zu) length %zu: base",
                 name, base, limit, length);
    cr_assert_eq(found_limit, want.limit, "%s [%zu, %zu) length %zu: limit",
                 name, base, limit, length);
  } else {
    cr_assert_eq(found_base, 12345, "%s wrote its result on failure", name);
    cr_assert_eq(found_limit, 54321, "%s wrote its result on failure", name);
  }
}

static void check_all_finds(Index base, Index limit, Count length,
                            const run_s *runs, size_t nruns)
{
  expect_s low = {false, 0, 0}, high = {false, 0, 0};
  size_t r;
  for (r = 0; r < nruns; ++r)
    if (runs[r].limit - runs[r].base >= length) {
      low.found = true;
      low.base = runs[r].base;
      low.limit = runs[r].limit;
      break;
    }
  for (r = nruns; r > 0; --r)
    if (runs[r - 1].limit - runs[r - 1].base >= length) {
      high.found = true;
      high.base = runs[r - 1].base;
      high.limit = runs[r - 1].limit;
      break;
    }
  check_find(bt_find_long_res_range, "long", base, limit, length, low);
  check_find(bt_find_long_res_range_high, "long_high", base, limit, length,
             high);
  low.limit = low.base + length;
  high.base = high.limit - length;
  check_find(bt_find_short_res_range, "short", base, limit, length, low);
  check_find(bt_find_short_res_range_high, "short_high", base, limit, length,
             high);
}

/* A table of runs of random lengths, up to a little over a word; half of
 * them are short, so that runs separated by a single bit are common. */
static void fill_runs(Count n, unsigned char *bits)
{
  Index i = 0;
  unsigned char value = (unsigned char)testlib_rng_below(&rng, 2);
  while (i < n) {
    Count run = 1 + testlib_rng_below(&rng, testlib_rng_below(&rng, 2) == 0
                                                ? 4 : WORD_WIDTH + 8);
    for (; run > 0 && i < n; --run, ++i) {
      bits[i] = value;
      if (value)
        bt_set(table, i);
      else
        bt_res(table, i);
    }
    value = !value;
  }
}

Test(bt, find_every_range_and_length)
{
  static unsigned char bits[NF];
  run_s runs[NF];
  int pattern;
  for (pattern = 0; pattern < 8; ++pattern) {
    Index base, limit;
    /* Spare bits reset, so a search that strays past the table's end
     * would find them. */
    fill(store, N, 0, NULL);
    fill_runs(NF, bits);
    for (base = 0; base < NF; ++base)
      for (limit = base + 1; limit <= NF; ++limit) {
        size_t nruns = model_runs(runs, bits, base, limit);
        Count length;
        for (length = 1; length <= limit - base; ++length)
          check_all_finds(base, limit, length, runs, nruns);
      }
  }
}

Test(bt, find_in_empty_and_full_tables)
{
  expect_s none = {false, 0, 0};
  expect_s first = {true, 0, 5}, last = {true, N - 5, N};
  expect_s all = {true, 0, N};
  bt_res_range(table, 0, N);
  check_find(bt_find_short_res_range, "short", 0, N, 5, first);
  check_find(bt_find_short_res_range_high, "short_high", 0, N, 5, last);
  check_find(bt_find_long_res_range, "long", 0, N, 5, all);
  check_find(bt_find_long_res_range_high, "long_high", 0, N, 5, all);
  check_find(bt_find_long_res_range, "long", 0, N, N, all);
  check_find(bt_find_short_res_range_high, "short_high", 0, N, N, all);
  bt_set_range(table, 0, N);
  check_find(bt_find_short_res_range, "short", 0, N, 1, none);
  check_find(bt_find_short_res_range_high, "short_high", 0, N, 1, none);
  check_find(bt_find_long_res_range, "long", 0, N, 1, none);
  check_find(bt_find_long_res_range_high, "long_high", 0, N, 1, none);
}

Test(bt, find_short_and_long_differ)
{
  expect_s e;
  bt_set_range(table, 0, N);
  bt_res_range(table, 10, 14);
  bt_res_range(table, 40, 60);
  bt_res_range(table, 100, 103);
  e = (expect_s){true, 10, 14};
  check_find(bt_find_short_res_range, "short", 0, N, 4, e);
  check_find(bt_find_long_res_range, "long", 0, N, 4, e);
  e = (expect_s){true, 40, 45};
  check_find(bt_find_short_res_range, "short", 0, N, 5, e);
  e = (expect_s){true, 40, 60};
  check_find(bt_find_long_res_range, "long", 0, N, 5, e);
  check_find(bt_find_long_res_range_high, "long_high", 0, N, 5, e);
  e = (expect_s){true, 55, 60};
  check_find(bt_find_short_res_range_high, "short_high", 0, N, 5, e);
  e = (expect_s){true, 100, 103};
  check_find(bt_find_short_res_range_high, "short_high", 0, N, 3, e);
  check_find(bt_find_long_res_range_high, "long_high", 0, N, 3, e);
  /* The search range cuts the run [40, 60). */
  e = (expect_s){true, 45, 50};
  check_find(bt_find_long_res_range, "long", 45, 50, 2, e);
  check_find(bt_find_long_res_range_high, "long_high", 45, 50, 2, e);
  e = (expect_s){true, 45, 47};
  check_find(bt_find_short_res_range, "short", 45, 50, 2, e);
  e = (expect_s){true, 48, 50};
  check_find(bt_find_short_res_range_high, "short_high", 45, 50, 2, e);
  e = (expect_s){false, 0, 0};
  check_find(bt_find_long_res_range, "long", 0, N, 21, e);
  check_find(bt_find_short_res_range_high, "short_high", 0, N, 21, e);
}

Test(bt, find_at_table_edges)
{
  static Word spare_states[] = {0, WORD_ONES};
  size_t s;
  for (s = 0; s < 2; ++s) {
    expect_s e;
    /* Spare bits reset and set: neither may change the answer. */
    table[BT_WORDS(N) - 1] = spare_states[s];
    bt_set_range(table, 0, N);
    bt_res_range(table, N - 3, N);
    e = (expect_s){true, N - 3, N};
    check_find(bt_find_short_res_range, "short", 0, N, 3, e);
    check_find(bt_find_long_res_range, "long", 0, N, 2, e);
    check_find(bt_find_long_res_range_high, "long_high", 0, N, 1, e);
    e = (expect_s){true, N - 2, N};
    check_find(bt_find_short_res_range_high, "short_high", 0, N, 2, e);
    e = (expect_s){false, 0, 0};
    check_find(bt_find_short_res_range, "short", 0, N, 4, e);
    check_find(bt_find_long_res_range, "long", 0, N - 3, 1, e);
    bt_set_range(table, 0, N);
    bt_res_range(table, 0, 3);
    e = (expect_s){true, 0, 3};
    check_find(bt_find_long_res_range, "long", 0, N, 3, e);
    check_find(bt_find_short_res_range_high, "short_high", 0, N, 3, e);
    check_find(bt_find_long_res_range_high, "long_high", 0, N, 1, e);
    e = (expect_s){true, 1, 3};
    check_find(bt_find_long_res_range_high, "long_high", 1, N, 1, e);
  }
}

Test(bt, find_across_word_boundary)
{
  expect_s e = {true, WORD_WIDTH - 2, WORD_WIDTH + 3};
  bt_set_range(table, 0, N);
  bt_res_range(table, WORD_WIDTH - 2, WORD_WIDTH + 3);
  check_find(bt_find_long_res_range, "long", 0, N, 5, e);
  check_find(bt_find_long_res_range_high, "long_high", 0, N, 5, e);
  check_find(bt_find_short_res_range, "short", 0, N, 5, e);
  check_find(bt_find_short_res_range_high, "short_high", 0, N, 5, e);
}

/* A run reaching a word's top does not go on through a following word
 * whose bits are all set: the reset bits after that word start afresh. */
Test(bt, find_does_not_carry_a_run_over_a_set_word)
{
  expect_s none = {false, 0, 0};
  expect_s above = {true, 2 * WORD_WIDTH, 2 * WORD_WIDTH + 3};
  bt_set_range(table, 0, N);
  bt_res_range(table, WORD_WIDTH - 3, WORD_WIDTH);
  bt_res_range(table, 2 * WORD_WIDTH, 2 * WORD_WIDTH + 3);
  check_find(bt_find_short_res_range, "short", 0, N, 5, none);
  check_find(bt_find_long_res_range, "long", 0, N, 4, none);
  check_find(bt_find_short_res_range_high, "short_high", 0, N, 5, none);
  check_find(bt_find_long_res_range_high, "long_high", 0, N, 4, none);
  check_find(bt_find_long_res_range, "long", WORD_WIDTH, N, 3, above);
  check_find(bt_find_short_res_range, "short", WORD_WIDTH - 1, N, 3, above);
}

Test(bt, find_skips_whole_words)
{
  /* A large table, full but for one run far from both ends. */
  enum { BIG = 64 * 64 + 3 };
  static Word big[BT_WORDS(BIG)];
  Index b = 0, l = 0;
  bt_set_range(big, 0, BIG);
  bt_res_range(big, 3000, 3010);
  cr_assert(bt_find_short_res_range(&b, &l, big, 0, BIG, 10));
  cr_assert_eq(b, 3000);
  cr_assert_eq(l, 3010);
  cr_assert(bt_find_long_res_range_high(&b, &l, big, 0, BIG, 2));
  cr_assert_eq(b, 3000);
  cr_assert_eq(l, 3010);
  cr_assert(!bt_find_long_res_range(&b, &l, big, 0, BIG, 11));
  cr_assert(!bt_find_short_res_range_high(&b, &l, big, 0, BIG, 11));
  cr_assert_eq(bt_count_res_range(big, 0, BIG), 10);
  cr_assert(bt_is_set_range(big, 0, 3000));
  cr_assert(bt_is_set_range(big, 3010, BIG));
}

Test(bt, find_set_and_find_res_every_range)
{
  unsigned density, want;
  Index base, limit, i, found;
  for (density = 0; density <= 8; density += 2) {
    fill(store, N, density, model);
    for (base = 0; base < N; ++base)
      for (limit = base + 1; limit <= N; ++limit)
        for (want = 0; want < 2; ++want) {
          bool any;
          for (i = base; i < limit && model[i] != want; ++i)
            continue;
          found = N + 1;
          any = want ? bt_find_set(&found, table, base, limit)
                     : bt_find_res(&found, table, base, limit);
          cr_assert_eq(any, i < limit, "[%zu, %zu) density %u, bit %u", (size_t)base,
                       (size_t)limit, density, want);
          if (i < limit)
            cr_assert_eq(found, i);
          else
            cr_assert_eq(found, N + 1, "nothing stored when none is found");
        }
  }
}

/* As fill, but each word is all reset, all set, or random, so that whole
 * words of one kind sit beside mixed ones. */
static void fill_words(Word *st, Count n, unsigned char *bits)
{
  Index i;
  fill(st, n, 4, NULL);
  for (i = 1; i <= BT_WORDS(n); ++i) {
    unsigned kind = testlib_rng_below(&rng, 3);
    if (kind < 2)
      st[i] = kind == 0 ? 0 : WORD_ONES;
  }
  for (i = 0; i < n; ++i)
    bits[i] = raw_bit(st + 1, i);
}

Test(bt, longest_res_run_every_range)
{
  unsigned density;
  Index base, limit, i;
  for (density = 0; density <= 16; ++density) {
    /* Densities above 8: words of one kind. */
    if (density <= 8)
      fill(store, N, density, model);
    else
      fill_words(store, N, model);
    for (base = 0; base < N; ++base)
      for (limit = base + 1; limit <= N; ++limit) {
        Count longest = 0, run = 0;
        for (i = base; i < limit; ++i) {
          run = model[i] ? 0 : run + 1;
          longest = run > longest ? run : longest;
        }
        cr_assert_eq(bt_longest_res_run(table, base, limit), longest,
                     "[%zu, %zu) density %u", (size_t)base, (size_t)limit, density);
      }
  }
}

/* Runs that end exactly at a word's top bit, or begin at its bottom, carry
 * on into the next word. */
Test(bt, longest_res_run_across_words)
{
  fill(store, N, 8, model);
  bt_res_range(table, WORD_WIDTH - 3, 2 * WORD_WIDTH + 1);
  cr_assert_eq(bt_longest_res_run(table, 0, N), WORD_WIDTH + 4);
  bt_res_range(table, 0, N);
  cr_assert_eq(bt_longest_res_run(table, 1, N), N - 1);
  bt_set(table, WORD_WIDTH - 1);
  cr_assert_eq(bt_longest_res_run(table, 0, N), N - WORD_WIDTH);
}

Test(bt, filter_range_every_range)
{
  static Word drop_store[BT_WORDS(N) + 2];
  BT drop = drop_store + 1;
  unsigned char keep[N], dropped[N];
  Index base, limit, i;
  for (base = 0; base < N; ++base)
    for (limit = base + 1; limit <= N; ++limit) {
      Count count = 0;
      Word spare, drop_spare;
      if (limit % 2 == 0) {
        fill(store, N, 5, model);
        fill(other_store, N, 3, keep);
      } else {
        fill_words(store, N, model);
        fill_words(other_store, N, keep);
      }
      fill(drop_store, N, 2, dropped);
      spare = store[BT_WORDS(N)];
      drop_spare = drop_store[BT_WORDS(N)];
      for (i = base; i < limit; ++i)
        if (model[i] && !keep[i]) {
          model[i] = 0;
          dropped[i] = 1;
          ++count;
        }
      cr_assert_eq(bt_filter_range(table, other, drop, base, limit), count,
                   "[%zu, %zu)", (size_t)base, (size_t)limit);
      assert_table(store, N, model, spare);
      assert_table(drop_store, N, dropped, drop_spare);
      assert_table(other_store, N, keep, other_store[BT_WORDS(N)]);
    }
}

/* The table kept by may also be the one dropped into. */
Test(bt, filter_range_into_the_keeping_table)
{
  unsigned char keep[N];
  Index i;
  Count count = 0;
  Word spare, keep_spare;
  fill(store, N, 5, model);
  fill(other_store, N, 3, keep);
  spare = store[BT_WORDS(N)];
  keep_spare = other_store[BT_WORDS(N)];
  for (i = 0; i < N; ++i)
    if (model[i] && !keep[i]) {
      model[i] = 0;
      keep[i] = 1;
      ++count;
    }
  cr_assert_eq(bt_filter_range(table, other, other, 0, N), count);
  assert_table(store, N, model, spare);
  assert_table(other_store, N, keep, keep_spare);
}

/* Copy [from_base, from_base + length) of `other` to `table` at to_base. */
static void check_copy_offset(Index from_base, Index to_base, Count length)
{
  unsigned char from[N];
  Index i;
  Word spare;
  fill(store, N, 4, model);
  fill(other_store, N, 4, from);
  spare = store[BT_WORDS(N)];
  bt_copy_offset_range(other, table, from_base, from_base + length, to_base,
                       to_base + length);
  for (i = 0; i < length; ++i)
    model[to_base + i] = from[from_base + i];
  assert_table(store, N, model, spare);
}

Test(bt, copy_offset_range)
{
  static const Index offsets[] = {0, 1, 7, WORD_WIDTH - 1, WORD_WIDTH,
                                  WORD_WIDTH + 1, 2 * WORD_WIDTH + 3, N - 1};
  Index from_base;
  size_t o;
  for (from_base = 0; from_base < N; ++from_base)
    for (o = 0; o < sizeof offsets / sizeof offsets[0]; ++o) {
      Index to_base = offsets[o];
      Count length;
      for (length = 1; length <= N - size_max(from_base, to_base); ++length)
        check_copy_offset(from_base, to_base, length);
    }
}

/* bt.inv.words: a table whose last word ends a page, with an inaccessible
 * page after it, so that any read past the table faults.  Offset copies
 * gather a destination word from two source words; the second must be
 * read only when the bits reach into it. */
#define NE (2 * WORD_WIDTH)

Test(bt, operations_read_no_word_past_the_table)
{
#if defined(__linux__) || defined(__APPLE__)
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  char *mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  BT edge;
  unsigned char bits[NE];
  Index base, limit, to_base, i;
  cr_assert_neq(mem, MAP_FAILED);
  cr_assert_eq(mprotect(mem + page, page, PROT_NONE), 0);
  edge = (BT)(void *)(mem + page - bt_size(NE));
  for (i = 0; i < NE; ++i) {
    bits[i] = testlib_rng_below(&rng, 2) != 0;
    if (bits[i])
      bt_set(edge, i);
    else
      bt_res(edge, i);
  }
  /* Copies out of the table's end, at every alignment of the
   * destination, then back into it. */
  for (base = 0; base < NE; ++base)
    for (to_base = 0; to_base < WORD_WIDTH; ++to_base) {
      Word spare;
      Count length = NE - base;
      fill(store, N, 4, model);
      spare = store[BT_WORDS(N)];
      bt_copy_offset_range(edge, table, base, NE, to_base, to_base + length);
      for (i = 0; i < length; ++i)
        model[to_base + i] = bits[base + i];
      assert_table(store, N, model, spare);
      bt_copy_offset_range(table, edge, to_base, to_base + length, base, NE);
      for (i = 0; i < NE; ++i)
        cr_assert_eq(bt_get(edge, i), bits[i], "bit %zu", (size_t)i);
    }
  /* The searches and counts, over every range that ends at the table's
   * end. */
  for (base = 0; base < NE; ++base) {
    Index b, l;
    limit = NE;
    (void)bt_is_set_range(edge, base, limit);
    (void)bt_is_res_range(edge, base, limit);
    (void)bt_count_res_range(edge, base, limit);
    (void)bt_longest_res_run(edge, base, limit);
    (void)bt_find_set(&b, edge, base, limit);
    (void)bt_find_res(&b, edge, base, limit);
    (void)bt_find_short_res_range(&b, &l, edge, base, limit, 1);
    (void)bt_find_long_res_range(&b, &l, edge, base, limit, 1);
    (void)bt_find_short_res_range_high(&b, &l, edge, base, limit, 1);
    (void)bt_find_long_res_range_high(&b, &l, edge, base, limit, 1);
  }
  cr_assert_eq(munmap(mem, 2 * page), 0);
#else
  cr_skip_test("needs mmap and mprotect");
#endif
}

TestSuite(bt_misuse, TEST_NEEDS_CHECKS);

Test(bt_misuse, empty_range_aborts, .init = setup_aborting,
     .signal = SIGABRT)
{
  bt_set_range(table, 5, 5);
}

Test(bt_misuse, reversed_range_aborts, .init = setup_aborting,
     .signal = SIGABRT)
{
  (void)bt_is_res_range(table, 6, 5);
}

Test(bt_misuse, find_of_zero_bits_aborts, .init = setup_aborting,
     .signal = SIGABRT)
{
  Index b, l;
  bt_res_range(table, 0, N);
  (void)bt_find_short_res_range(&b, &l, table, 0, N, 0);
}

Test(bt_misuse, find_longer_than_range_aborts, .init = setup_aborting,
     .signal = SIGABRT)
{
  Index b, l;
  bt_res_range(table, 0, N);
  (void)bt_find_long_res_range_high(&b, &l, table, 10, 20, 11);
}

Test(bt_misuse, copy_offset_of_unequal_ranges_aborts,
     .init = setup_aborting, .signal = SIGABRT)
{
  bt_copy_offset_range(other, table, 0, 10, 20, 31);
}

Test(bt_misuse, copy_offset_within_one_table_aborts,
     .init = setup_aborting, .signal = SIGABRT)
{
  bt_copy_offset_range(table, table, 0, 10, 20, 30);
}

Test(bt_misuse, low_find_longer_than_range_aborts, .init = setup_aborting,
     .signal = SIGABRT)
{
  Index b, l;
  bt_res_range(table, 0, N);
  (void)bt_find_long_res_range(&b, &l, table, 10, 20, 11);
}

Test(bt_misuse, high_find_of_zero_bits_aborts, .init = setup_aborting,
     .signal = SIGABRT)
{
  Index b, l;
  bt_res_range(table, 0, N);
  (void)bt_find_short_res_range_high(&b, &l, table, 0, N, 0);
}

/* Each operation on a range refuses an empty one, and, the handler
 * having returned, changes nothing. */
Test(bt_misuse, every_range_operation_refuses_an_empty_range, .init = setup)
{
  static Word drop_store[BT_WORDS(N) + 2];
  unsigned char keep[N], dropped[N];
  Word spare, other_spare, drop_spare;
  fill(store, N, 4, model);
  fill(other_store, N, 4, keep);
  fill(drop_store, N, 4, dropped);
  spare = store[BT_WORDS(N)];
  other_spare = other_store[BT_WORDS(N)];
  drop_spare = drop_store[BT_WORDS(N)];
  reports_install();
  bt_set_range(table, 5, 5);
  cr_assert_eq(reports_seen(), 1, "set_range");
  bt_res_range(table, 5, 5);
  cr_assert_eq(reports_seen(), 2, "res_range");
  (void)bt_is_set_range(table, 5, 5);
  cr_assert_eq(reports_seen(), 3, "is_set_range");
  (void)bt_is_res_range(table, 5, 5);
  cr_assert_eq(reports_seen(), 4, "is_res_range");
  (void)bt_count_res_range(table, 5, 5);
  cr_assert_eq(reports_seen(), 5, "count_res_range");
  (void)bt_longest_res_run(table, 5, 5);
  cr_assert_eq(reports_seen(), 6, "longest_res_run");
  (void)bt_filter_range(table, other, drop_store + 1, 5, 5);
  cr_assert_eq(reports_seen(), 7, "filter_range");
  bt_copy_range(other, table, 5, 5);
  cr_assert_eq(reports_seen(), 8, "copy_range");
  bt_copy_invert_range(other, table, 5, 5);
  cr_assert_eq(reports_seen(), 9, "copy_invert_range");
  assert_table(store, N, model, spare);
  assert_table(other_store, N, keep, other_spare);
  assert_table(drop_store, N, dropped, drop_spare);
}
