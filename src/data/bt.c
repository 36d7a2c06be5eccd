/* bt.c: bit tables (see design/bt.txt and bt.h).
 *
 * Bit i of a table is bit (i mod WORD_WIDTH) of word (i / WORD_WIDTH).
 * Every operation on a range works a word at a time: each word the range
 * touches is combined with a mask of the range's bits in it
 * (bt_range_mask), and searches skip words with nothing to find in one
 * step and locate a bit in a word with a bit-scan instruction.  No
 * operation loops over single bits.
 *
 * Properties every function keeps (there is no structure to check, so these
 * are what the tests verify):
 *   bt.inv.outside  bits outside the range an operation is given are never
 *                   changed, so several clients can share one table
 *   bt.inv.words    no word is read or written unless the range has a bit
 *                   in it, so a table needs only BT_WORDS(n) words and the
 *                   spare bits of its last word may hold anything
 *
 * Searching upwards goes a word at a time, carrying the run of reset bits
 * that reaches a word's top into the next (bt_find_res_range_low).
 * Searching downwards: a candidate run ends at the highest reset bit; the
 * `length` bits below it are scanned for a set bit.  If there is none the
 * candidate is found; otherwise the search resumes below that set bit.
 * Either way every bit is examined a bounded number of times, so a search
 * is linear in the number of words in the search range.
 */
#include "bt.h"
#include "../base/check.h"

#include <limits.h>

#define BT_INDEX_MASK (WORD_WIDTH - 1)

/* Passed as `flip` to the scans: scanning bt[w] ^ flip for one bits finds
 * set bits (flip 0) or reset bits (flip all ones). */
#define BT_SCAN_SET ((Word)0)
#define BT_SCAN_RES WORD_ONES

#if defined(__GNUC__) && !defined(BT_PORTABLE_BITSCAN)

_Static_assert(sizeof(Word) <= sizeof(unsigned long long),
               "bt.c: the bit-scan builtins take unsigned long long");

/* Index of the lowest / highest one bit of w; w != 0. */
static Shift bt_lowest(Word w)
{
  return (Shift)__builtin_ctzll((unsigned long long)w);
}

static Shift bt_highest(Word w)
{
  return (Shift)(sizeof(unsigned long long) * CHAR_BIT - 1)
         - (Shift)__builtin_clzll((unsigned long long)w);
}

#else /* portable: binary search, log2(WORD_WIDTH) steps */

static Shift bt_lowest(Word w)
{
  Shift index = 0;
  Shift half;
  for (half = WORD_WIDTH / 2; half > 0; half /= 2)
    if ((w & (WORD_ONES >> (WORD_WIDTH - half))) == 0) {
      w >>= half;
      index += half;
    }
  return index;
}

static Shift bt_highest(Word w)
{
  Shift index = 0;
  Shift half;
  for (half = WORD_WIDTH / 2; half > 0; half /= 2)
    if ((w >> half) != 0) {
      w >>= half;
      index += half;
    }
  return index;
}

#endif

/* The builtin only where it is an instruction: on x86 without POPCNT in
 * the target (the default for `cc -c src/mps.c`) it is a call into libgcc
 * for every word counted, as in a sweep of a segment's tables.
 * Elsewhere: sum adjacent 1-, 2- and 4-bit fields, then add
 * the bytes with one multiplication; the constants are repeated bit
 * patterns of any width. */
#if defined(__GNUC__) && !defined(BT_PORTABLE_BITSCAN) \
    && (defined(__POPCNT__) || defined(__aarch64__))

static Count bt_popcount(Word w)
{
  return (Count)__builtin_popcountll((unsigned long long)w);
}

#else

static Count bt_popcount(Word w)
{
  w -= (w >> 1) & (WORD_ONES / 3);
  w = (w & (WORD_ONES / 5)) + ((w >> 2) & (WORD_ONES / 5));
  w = (w + (w >> 4)) & (WORD_ONES / 17);
  return (Count)((w * (WORD_ONES / 255)) >> (WORD_WIDTH - CHAR_BIT));
}

#endif

/* The bits of word w that lie in [base, limit); w must be a word the range
 * touches. */
static Word bt_range_mask(Index w, Index base, Index limit)
{
  Word mask = WORD_ONES;
  if (w == base >> WORD_SHIFT)
    mask &= WORD_ONES << (base & BT_INDEX_MASK);
  if (w == (limit - 1) >> WORD_SHIFT)
    mask &= WORD_ONES >> (BT_INDEX_MASK - ((limit - 1) & BT_INDEX_MASK));
  return mask;
}

Size bt_size(Count length)
{
  return BT_WORDS(length) * sizeof(Word);
}

bool bt_get(BT bt, Index i)
{
  AVER_CRITICAL(bt != NULL);
  return ((bt[i >> WORD_SHIFT] >> (i & BT_INDEX_MASK)) & 1) != 0;
}

void bt_set(BT bt, Index i)
{
  AVER_CRITICAL(bt != NULL);
  bt[i >> WORD_SHIFT] |= (Word)1 << (i & BT_INDEX_MASK);
}

void bt_res(BT bt, Index i)
{
  AVER_CRITICAL(bt != NULL);
  bt[i >> WORD_SHIFT] &= ~((Word)1 << (i & BT_INDEX_MASK));
}

void bt_set_range(BT bt, Index base, Index limit)
{
  Index w;
  AVER(bt != NULL);
  AVER(base < limit);
  for (w = base >> WORD_SHIFT; w <= (limit - 1) >> WORD_SHIFT; ++w)
    bt[w] |= bt_range_mask(w, base, limit);
}

void bt_res_range(BT bt, Index base, Index limit)
{
  Index w;
  AVER(bt != NULL);
  AVER(base < limit);
  for (w = base >> WORD_SHIFT; w <= (limit - 1) >> WORD_SHIFT; ++w)
    bt[w] &= ~bt_range_mask(w, base, limit);
}

bool bt_is_set_range(BT bt, Index base, Index limit)
{
  Index w;
  AVER(bt != NULL);
  AVER(base < limit);
  for (w = base >> WORD_SHIFT; w <= (limit - 1) >> WORD_SHIFT; ++w) {
    Word mask = bt_range_mask(w, base, limit);
    if ((bt[w] & mask) != mask)
      return false;
  }
  return true;
}

bool bt_is_res_range(BT bt, Index base, Index limit)
{
  Index w;
  AVER(bt != NULL);
  AVER(base < limit);
  for (w = base >> WORD_SHIFT; w <= (limit - 1) >> WORD_SHIFT; ++w)
    if ((bt[w] & bt_range_mask(w, base, limit)) != 0)
      return false;
  return true;
}

Count bt_count_res_range(BT bt, Index base, Index limit)
{
  Index w;
  Count count = 0;
  AVER(bt != NULL);
  AVER(base < limit);
  for (w = base >> WORD_SHIFT; w <= (limit - 1) >> WORD_SHIFT; ++w)
    count += bt_popcount(~bt[w] & bt_range_mask(w, base, limit));
  return count;
}

Count bt_filter_range(BT bt, BT keep, BT dropped, Index base, Index limit)
{
  Index w, first, last;
  Count count = 0;
  AVER(bt != NULL);
  AVER(keep != NULL);
  AVER(dropped != NULL);
  AVER(bt != keep && bt != dropped);
  AVER(base < limit);
  first = base >> WORD_SHIFT;
  last = (limit - 1) >> WORD_SHIFT;
  for (w = first; w <= last; ++w) {
    /* Read keep's word before dropped's is written: they may be one. */
    Word drop = bt[w] & ~keep[w];
    if (w == first || w == last)
      drop &= bt_range_mask(w, base, limit);
    if (drop != 0) {
      bt[w] &= ~drop;
      dropped[w] |= drop;
      count += drop == WORD_ONES ? WORD_WIDTH : bt_popcount(drop);
    }
  }
  return count;
}

/* Each word's set bits are taken a run at a time: the reset bits before a
 * run end the run of reset bits carried in from below, and the reset bits
 * after the word's last run carry on into the next word.  Whole words of
 * one kind, the common case in a sweep, take one test. */
Count bt_longest_res_run(BT bt, Index base, Index limit)
{
  Index w, first, last;
  Count longest = 0, run = 0;
  AVER(bt != NULL);
  AVER(base < limit);
  first = base >> WORD_SHIFT;
  last = (limit - 1) >> WORD_SHIFT;
  for (w = first; w <= last; ++w) {
    Word set = bt[w];
    Index pos = 0, end = WORD_WIDTH;
    if (w == first || w == last) {
      set &= bt_range_mask(w, base, limit);
      if (w == first)
        pos = base & BT_INDEX_MASK;
      if (w == last)
        end = ((limit - 1) & BT_INDEX_MASK) + 1;
    } else if (set == 0) {
      run += WORD_WIDTH;
      continue;
    } else if (set == WORD_ONES) {
      if (run > longest)
        longest = run;
      run = 0;
      continue;
    }
    while (set != 0) {
      Shift lo = bt_lowest(set);
      Word above = ~set & (WORD_ONES << lo);
      run += lo - pos;
      if (run > longest)
        longest = run;
      run = 0;
      if (above == 0) {         /* set to the top of the word */
        pos = WORD_WIDTH;
        break;
      }
      pos = bt_lowest(above);
      set &= WORD_ONES << pos;
    }
    if (pos < end)
      run += end - pos;
  }
  return run > longest ? run : longest;
}

/* The lowest index in [base, limit) whose bit, exclusive-ored with `flip`,
 * is one; limit if there is none.  base may equal limit. */
static Index bt_scan_up(BT bt, Index base, Index limit, Word flip)
{
  Index w, last;
  Word bits;
  if (base >= limit)
    return limit;
  w = base >> WORD_SHIFT;
  last = (limit - 1) >> WORD_SHIFT;
  bits = (bt[w] ^ flip) & (WORD_ONES << (base & BT_INDEX_MASK));
  while (bits == 0) {
    if (w == last)
      return limit;
    ++w;
    bits = bt[w] ^ flip;
  }
  /* The bit found may lie in the last word beyond limit (bt.inv.words). */
  return size_min((w << WORD_SHIFT) + bt_lowest(bits), limit);
}

static bool bt_find_bit(Index *i_o, BT bt, Index base, Index limit, Word flip)
{
  Index i;
  /* Critical, as bt_get's: pools call these once per object. */
  AVER_CRITICAL(i_o != NULL);
  AVER_CRITICAL(bt != NULL);
  AVER_CRITICAL(base < limit);
  i = bt_scan_up(bt, base, limit, flip);
  if (i == limit)
    return false;
  *i_o = i;
  return true;
}

bool bt_find_set(Index *i_o, BT bt, Index base, Index limit)
{
  return bt_find_bit(i_o, bt, base, limit, BT_SCAN_SET);
}

bool bt_find_res(Index *i_o, BT bt, Index base, Index limit)
{
  return bt_find_bit(i_o, bt, base, limit, BT_SCAN_RES);
}

/* One more than the highest index in [base, limit) whose bit,
 * exclusive-ored with `flip`, is one; base if there is none.  base may
 * equal limit. */
static Index bt_scan_down(BT bt, Index base, Index limit, Word flip)
{
  Index w, first;
  Word bits;
  if (base >= limit)
    return base;
  w = (limit - 1) >> WORD_SHIFT;
  first = base >> WORD_SHIFT;
  bits = (bt[w] ^ flip)
         & (WORD_ONES >> (BT_INDEX_MASK - ((limit - 1) & BT_INDEX_MASK)));
  while (bits == 0) {
    if (w == first)
      return base;
    --w;
    bits = bt[w] ^ flip;
  }
  return size_max((w << WORD_SHIFT) + bt_highest(bits) + 1, base);
}

/* The low searches go a word at a time, so that a table full of holes too
 * short for `length` costs no more than one without (a fill's search of
 * a swept AMS segment met a dozen such holes a fill, two scans each).
 * Within a word, z has a one for each reset bit of the range; the run of
 * reset bits carried in from the words below (run bits from run_base)
 * goes on through z's lowest ones; a run lying within the word is found
 * by folding z onto itself (y's bit i is set when bits i .. i + k - 1 of
 * z are, and each fold doubles k, up to length); and z's highest ones are
 * the run carried out.  The first run found is the lowest, as runs are
 * met in address order. */
static bool bt_find_res_range_low(Index *base_return, Index *limit_return,
                                  BT bt, Index search_base,
                                  Index search_limit, Count length,
                                  bool whole_run)
{
  Index w, first, last, base, limit, run_base = search_base;
  Count run = 0;
  AVER(base_return != NULL);
  AVER(limit_return != NULL);
  AVER(bt != NULL);
  AVER(search_base < search_limit);
  AVER(length >= 1);
  AVER(length <= search_limit - search_base);
  first = search_base >> WORD_SHIFT;
  last = (search_limit - 1) >> WORD_SHIFT;
  for (w = first; w <= last; ++w) {
    Index w_base = w << WORD_SHIFT;
    Word z = ~bt[w];
    Shift low;
    if (w == first || w == last)
      z &= bt_range_mask(w, search_base, search_limit);
    if (z == 0) {
      run = 0;
      continue;
    }
    if (z == WORD_ONES) {
      if (run == 0)
        run_base = w_base;
      run += WORD_WIDTH;
      if (run >= length) {
        base = run_base;
        goto found;
      }
      continue;
    }
    low = bt_lowest(~z);        /* z's lowest ones; ~z is not 0 */
    if (low > 0) {
      if (run == 0)
        run_base = w_base;      /* bit 0 is reset and in the range */
      if (run + low >= length) {
        base = run_base;
        goto found;
      }
    }
    if (length <= WORD_WIDTH) {
      Word y = z;
      Count k = 1;
      while (k < length) {
        Count fold = k < length - k ? k : length - k;
        y &= y >> fold;
        k += fold;
      }
      if (y != 0) {
        base = w_base + bt_lowest(y);
        goto found;
      }
    }
    /* z's highest ones, above its highest zero. */
    run = WORD_WIDTH - 1 - bt_highest(~z);
    run_base = w_base + WORD_WIDTH - run;
  }
  return false;

found:
  limit = base + length;
  if (whole_run)
    limit = bt_scan_up(bt, limit, search_limit, BT_SCAN_SET);
  *base_return = base;
  *limit_return = limit;
  return true;
}

/* The high searches: as bt_find_res_range_low, downwards. */
static bool bt_find_res_range_high(Index *base_return, Index *limit_return,
                                   BT bt, Index search_base,
                                   Index search_limit, Count length,
                                   bool whole_run)
{
  Index limit = search_limit;
  AVER(base_return != NULL);
  AVER(limit_return != NULL);
  AVER(bt != NULL);
  AVER(search_base < search_limit);
  AVER(length >= 1);
  AVER(length <= search_limit - search_base);
  for (;;) {
    Index set;
    limit = bt_scan_down(bt, search_base, limit, BT_SCAN_RES);
    if (limit - search_base < length)
      return false;
    set = bt_scan_down(bt, limit - length, limit, BT_SCAN_SET);
    if (set == limit - length) {
      if (whole_run)
        set = bt_scan_down(bt, search_base, set, BT_SCAN_SET);
      *base_return = set;
      *limit_return = limit;
      return true;
    }
    limit = set - 1;
  }
}

bool bt_find_short_res_range(Index *base_return, Index *limit_return, BT bt,
                             Index search_base, Index search_limit,
                             Count length)
{
  return bt_find_res_range_low(base_return, limit_return, bt, search_base,
                               search_limit, length, false);
}

bool bt_find_short_res_range_high(Index *base_return, Index *limit_return,
                                  BT bt, Index search_base,
                                  Index search_limit, Count length)
{
  return bt_find_res_range_high(base_return, limit_return, bt, search_base,
                                search_limit, length, false);
}

bool bt_find_long_res_range(Index *base_return, Index *limit_return, BT bt,
                            Index search_base, Index search_limit,
                            Count length)
{
  return bt_find_res_range_low(base_return, limit_return, bt, search_base,
                               search_limit, length, true);
}

bool bt_find_long_res_range_high(Index *base_return, Index *limit_return,
                                 BT bt, Index search_base,
                                 Index search_limit, Count length)
{
  return bt_find_res_range_high(base_return, limit_return, bt, search_base,
                                search_limit, length, true);
}

void bt_copy_range(BT from, BT to, Index base, Index limit)
{
  Index w;
  AVER(from != NULL);
  AVER(to != NULL);
  AVER(base < limit);
  for (w = base >> WORD_SHIFT; w <= (limit - 1) >> WORD_SHIFT; ++w) {
    Word mask = bt_range_mask(w, base, limit);
    to[w] = (to[w] & ~mask) | (from[w] & mask);
  }
}

void bt_copy_invert_range(BT from, BT to, Index base, Index limit)
{
  Index w;
  AVER(from != NULL);
  AVER(to != NULL);
  AVER(base < limit);
  for (w = base >> WORD_SHIFT; w <= (limit - 1) >> WORD_SHIFT; ++w) {
    Word mask = bt_range_mask(w, base, limit);
    to[w] = (to[w] & ~mask) | (~from[w] & mask);
  }
}

/* `count` bits (1 <= count <= WORD_WIDTH) of bt starting at index i, as the
 * low bits of the result; the bits above them are unspecified.  Reads the
 * following word only when the bits reach into it (bt.inv.words). */
static Word bt_get_bits(BT bt, Index i, Count count)
{
  Index w = i >> WORD_SHIFT;
  Shift shift = (Shift)(i & BT_INDEX_MASK);
  Word bits = bt[w] >> shift;
  if (shift != 0 && count > WORD_WIDTH - shift)
    bits |= bt[w + 1] << (WORD_WIDTH - shift);
  return bits;
}

/* One pass per destination word: the source bits for it are gathered from
 * at most two source words, whatever the two ranges' alignments. */
void bt_copy_offset_range(BT from, BT to, Index from_base, Index from_limit,
                          Index to_base, Index to_limit)
{
  Index i = to_base;
  AVER(from != NULL);
  AVER(to != NULL);
  AVER(from != to);
  AVER(from_base < from_limit);
  AVER(to_base < to_limit);
  AVER(from_limit - from_base == to_limit - to_base);
  while (i < to_limit) {
    Shift shift = (Shift)(i & BT_INDEX_MASK);
    Count count = size_min(WORD_WIDTH - shift, to_limit - i);
    Word mask = (WORD_ONES >> (WORD_WIDTH - count)) << shift;
    Word bits = bt_get_bits(from, from_base + (i - to_base), count) << shift;
    Index w = i >> WORD_SHIFT;
    to[w] = (to[w] & ~mask) | (bits & mask);
    i += count;
  }
}
