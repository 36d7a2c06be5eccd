/* fuzz_bt.c: bit tables against a model of one byte per bit.
 *
 * The input gives the tables' length (up to 1024 bits) and a seed for
 * their initial contents, then a sequence of operations with their
 * operands.  Three tables, A, B and C, are used so that the copies have a
 * source and a destination, and the filter a table to keep by and one to
 * drop into.  Each is malloc'd at exactly bt_size(length)
 * so that AddressSanitizer sees a read past its last word; the spare bits
 * of that word start random and must never change.  After every operation
 * all three tables are compared with their models bit by bit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../src/data/bt.h"
#include "../stress/support/testlib.h"
#include "support/input.h"

#define FUZZ_BT_MAX 1024


static bool raw_bit(const Word *t, Index i)
{
  return ((t[i / WORD_WIDTH] >> (i % WORD_WIDTH)) & 1) != 0;
}

typedef struct fuzz_table_s {
  BT bt;
  unsigned char bits[FUZZ_BT_MAX];
  Word spare; /* the last word's bits beyond the length, as they started */
} fuzz_table_s;

static void compare(const fuzz_table_s *t, Count length)
{
  Index i;
  Word spare_mask =
      length % WORD_WIDTH == 0 ? 0 : WORD_ONES << (length % WORD_WIDTH);
  for (i = 0; i < length; ++i)
    TESTLIB_REQUIRE(bt_get(t->bt, i) == t->bits[i]);
  TESTLIB_REQUIRE((t->bt[BT_WORDS(length) - 1] & spare_mask) == t->spare);
}

/* The naive searches.  Runs are counted bit by bit, upwards for the low
 * searches and downwards for the high ones. */
static bool model_find_low(Index *base_return, Index *limit_return,
                           const unsigned char *bits, Index base,
                           Index limit, Count length, bool whole_run)
{
  Index i;
  Count run = 0;
  for (i = base; i < limit; ++i) {
    run = bits[i] ? 0 : run + 1;
    if (run == length) {
      Index end = i + 1;
      while (whole_run && end < limit && !bits[end])
        ++end;
      *base_return = i + 1 - length;
      *limit_return = end;
      return true;
    }
  }
  return false;
}

static bool model_find_high(Index *base_return, Index *limit_return,
                            const unsigned char *bits, Index base,
                            Index limit, Count length, bool whole_run)
{
  Index i;
  Count run = 0;
  for (i = limit; i > base; --i) {
    run = bits[i - 1] ? 0 : run + 1;
    if (run == length) {
      Index start = i - 1;
      while (whole_run && start > base && !bits[start - 1])
        --start;
      *base_return = start;
      *limit_return = i - 1 + length;
      return true;
    }
  }
  return false;
}

typedef bool (*find_fn)(Index *, Index *, BT, Index, Index, Count);

static void check_find(unsigned which, const fuzz_table_s *t, Index base,
                       Index limit, Count length)
{
  static const find_fn finds[4] = {
      bt_find_short_res_range, bt_find_short_res_range_high,
      bt_find_long_res_range, bt_find_long_res_range_high};
  bool high = (which & 1) != 0, whole_run = (which & 2) != 0;
  Index got_base = 7, got_limit = 9, want_base = 7, want_limit = 9;
  bool got = finds[which](&got_base, &got_limit, t->bt, base, limit, length);
  bool want = high ? model_find_high(&want_base, &want_limit, t->bits, base,
                                     limit, length, whole_run)
                   : model_find_low(&want_base, &want_limit, t->bits, base,
                                    limit, length, whole_run);
  TESTLIB_REQUIRE(got == want);
  /* On failure neither result may have been written. */
  TESTLIB_REQUIRE(got_base == want_base);
  TESTLIB_REQUIRE(got_limit == want_limit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static fuzz_table_s tables[3];
  fuzz_input_s in = {data, size};
  Count length = 1 + fuzz_input_take16(&in) % FUZZ_BT_MAX;
  Word spare_mask =
      length % WORD_WIDTH == 0 ? 0 : WORD_ONES << (length % WORD_WIDTH);
  testlib_rng_s rng;
  unsigned t;

  testlib_rng_init(&rng, fuzz_input_take8(&in) + 1);
  for (t = 0; t < 3; ++t) {
    fuzz_table_s *table = &tables[t];
    Index w, i;
    table->bt = malloc(bt_size(length));
    TESTLIB_REQUIRE(table->bt != NULL);
    /* Whole words of one kind as well as mixed ones: the operations
     * take shortcuts for them. */
    for (w = 0; w < BT_WORDS(length); ++w) {
      Word r = (Word)testlib_rng_next(&rng);
      table->bt[w] = r % 4 == 0 ? 0 : r % 4 == 1 ? WORD_ONES : (Word)testlib_rng_next(&rng);
    }
    for (i = 0; i < length; ++i)
      table->bits[i] = raw_bit(table->bt, i);
    table->spare = table->bt[BT_WORDS(length) - 1] & spare_mask;
  }

  while (in.size > 0) {
    unsigned op = fuzz_input_take8(&in);
    fuzz_table_s *to = &tables[op >> 7];
    fuzz_table_s *from = &tables[!(op >> 7)];
    fuzz_table_s *third = &tables[2];
    Index base = fuzz_input_take16(&in) % length;
    Index limit = base + 1 + fuzz_input_take16(&in) % (length - base);
    Index i;
    /* Codes above the last operation's fold back onto the first sixteen,
     * so that each old operation stays as frequent as the new ones. */
    unsigned code = op & 0x1F;
    if (code > 18)
      code &= 0x0F;
    switch (code) {
    case 0: /* set one bit */
      bt_set(to->bt, base);
      to->bits[base] = 1;
      break;
    case 1: /* reset one bit */
      bt_res(to->bt, base);
      to->bits[base] = 0;
      break;
    case 2: /* set a range */
      bt_set_range(to->bt, base, limit);
      for (i = base; i < limit; ++i)
        to->bits[i] = 1;
      break;
    case 3: /* reset a range */
      bt_res_range(to->bt, base, limit);
      for (i = base; i < limit; ++i)
        to->bits[i] = 0;
      break;
    case 4: /* test a range */
    case 5: {
      bool set = true, res = true;
      for (i = base; i < limit; ++i) {
        set = set && to->bits[i];
        res = res && !to->bits[i];
      }
      TESTLIB_REQUIRE(bt_is_set_range(to->bt, base, limit) == set);
      TESTLIB_REQUIRE(bt_is_res_range(to->bt, base, limit) == res);
      break;
    }
    case 6: { /* count */
      Count res = 0;
      for (i = base; i < limit; ++i)
        res += !to->bits[i];
      TESTLIB_REQUIRE(bt_count_res_range(to->bt, base, limit) == res);
      break;
    }
    case 7: /* the four finds; short lengths are the common case */
    case 8:
    case 9:
    case 10: {
      unsigned l = fuzz_input_take8(&in);
      Count span = limit - base;
      Count len = 1 + (l & 0x80 ? (l & 0x7F) : (l & 0x0F)) % span;
      check_find(code - 7, to, base, limit, len);
      break;
    }
    case 11: /* copy */
      bt_copy_range(from->bt, to->bt, base, limit);
      for (i = base; i < limit; ++i)
        to->bits[i] = from->bits[i];
      break;
    case 12: /* copy inverted, sometimes in place */
      if (op & 0x40) {
        bt_copy_invert_range(to->bt, to->bt, base, limit);
        for (i = base; i < limit; ++i)
          to->bits[i] = !to->bits[i];
      } else {
        bt_copy_invert_range(from->bt, to->bt, base, limit);
        for (i = base; i < limit; ++i)
          to->bits[i] = !from->bits[i];
      }
      break;
    case 13: { /* copy to another place: [base, limit) to to_base */
      Count n = limit - base;
      Index to_base = fuzz_input_take16(&in) % (length - n + 1);
      bt_copy_offset_range(from->bt, to->bt, base, limit, to_base,
                           to_base + n);
      for (i = 0; i < n; ++i)
        to->bits[to_base + i] = from->bits[base + i];
      break;
    }
    case 14: { /* read single bits, and find the lowest set and reset ones */
      Index found = 0;
      bool any;
      TESTLIB_REQUIRE(bt_get(to->bt, base) == to->bits[base]);
      TESTLIB_REQUIRE(bt_get(to->bt, limit - 1) == to->bits[limit - 1]);
      for (i = base; i < limit && !to->bits[i]; ++i)
        continue;
      any = bt_find_set(&found, to->bt, base, limit);
      TESTLIB_REQUIRE(any == (i < limit));
      TESTLIB_REQUIRE(!any || found == i);
      for (i = base; i < limit && to->bits[i]; ++i)
        continue;
      any = bt_find_res(&found, to->bt, base, limit);
      TESTLIB_REQUIRE(any == (i < limit));
      TESTLIB_REQUIRE(!any || found == i);
      break;
    }
    case 16: { /* the longest run of reset bits */
      Count longest = 0, run = 0;
      for (i = base; i < limit; ++i) {
        run = to->bits[i] ? 0 : run + 1;
        if (run > longest)
          longest = run;
      }
      TESTLIB_REQUIRE(bt_longest_res_run(to->bt, base, limit) == longest);
      break;
    }
    case 17: { /* filter `to` by `from`, dropping into C, or into `from` */
      fuzz_table_s *dropped = op & 0x40 ? from : third;
      Count count = 0;
      for (i = base; i < limit; ++i)
        if (to->bits[i] && !from->bits[i]) {
          to->bits[i] = 0;
          dropped->bits[i] = 1;
          ++count;
        }
      TESTLIB_REQUIRE(bt_filter_range(to->bt, from->bt, dropped->bt, base, limit) == count);
      break;
    }
    case 18: /* C takes part of A or B, so it is more than what was dropped into it */
      bt_copy_range(to->bt, third->bt, base, limit);
      for (i = base; i < limit; ++i)
        third->bits[i] = to->bits[i];
      break;
    default: { /* every find on the whole table */
      Count len = 1 + fuzz_input_take8(&in) % length;
      unsigned which;
      for (which = 0; which < 4; ++which)
        check_find(which, to, 0, length, len);
      break;
    }
    }
    compare(&tables[0], length);
    compare(&tables[1], length);
    compare(&tables[2], length);
  }

  for (t = 0; t < 3; ++t)
    free(tables[t].bt);
  return 0;
}
