/* bt.h: bit tables (design/bt.txt).
 *
 * A bit table of length n maps each index in [0, n) to one bit, "set" (1)
 * or "reset" (0).  It is an array of words in memory the client supplies:
 * bt_size(n) bytes, word-aligned.  The table stores neither its length nor
 * a signature (it is a bare array, so nothing could hold one), and its
 * initial contents are whatever the memory held: clients usually start with
 * bt_res_range(bt, 0, n).  The bits of the last word beyond n are never
 * read as part of a result and never written.
 *
 * Ranges are half-open, [base, limit), and never empty: every function
 * taking one requires base < limit (AVER).  They must lie within the table
 * (limit <= n); that cannot be checked, because the table does not know n.
 */
#ifndef bt_h
#define bt_h

#include "../base/base.h"

typedef Word *BT;

/* Words needed for a table of n bits; a constant expression when n is one,
 * so it can size arrays.  Cannot overflow. */
#define BT_WORDS(n) \
  (((Count)(n) >> WORD_SHIFT) + (((Count)(n) & (WORD_WIDTH - 1)) != 0))

/* Bytes needed for a table of `length` bits. */
Size bt_size(Count length);

bool bt_get(BT bt, Index i);
void bt_set(BT bt, Index i);
void bt_res(BT bt, Index i);

void bt_set_range(BT bt, Index base, Index limit);
void bt_res_range(BT bt, Index base, Index limit);
bool bt_is_set_range(BT bt, Index base, Index limit);
bool bt_is_res_range(BT bt, Index base, Index limit);
/* Number of reset bits in [base, limit). */
Count bt_count_res_range(BT bt, Index base, Index limit);

/* Reset every bit of bt in [base, limit) whose bit in `keep` is reset,
 * and set it in `dropped`; return how many were reset.  keep and dropped
 * may be one table; bt must be another.  (A sweep: the allocated grains
 * that no mark keeps become free.) */
Count bt_filter_range(BT bt, BT keep, BT dropped, Index base, Index limit);
/* The length of the longest run of reset bits in [base, limit), 0 if all
 * are set. */
Count bt_longest_res_run(BT bt, Index base, Index limit);

/* Searches for a run of at least `length` reset bits lying within
 * [search_base, search_limit); 1 <= length <= search_limit - search_base.
 * On success they store the run found in *base_return and *limit_return
 * and return true; otherwise they return false and store nothing.
 *
 *   short:      the range of exactly `length` bits with the least limit
 *   short_high: the range of exactly `length` bits with the greatest base
 *   long:       of the runs of at least `length` bits, the one with the
 *               least base, all of it (up to search_limit)
 *   long_high:  of the runs of at least `length` bits, the one with the
 *               greatest limit, all of it (down to search_base)
 */
bool bt_find_short_res_range(Index *base_return, Index *limit_return, BT bt,
                             Index search_base, Index search_limit,
                             Count length);
bool bt_find_short_res_range_high(Index *base_return, Index *limit_return,
                                  BT bt, Index search_base,
                                  Index search_limit, Count length);
bool bt_find_long_res_range(Index *base_return, Index *limit_return, BT bt,
                            Index search_base, Index search_limit,
                            Count length);
bool bt_find_long_res_range_high(Index *base_return, Index *limit_return,
                                 BT bt, Index search_base,
                                 Index search_limit, Count length);

/* The lowest set (reset) bit in [base, limit) (base < limit): its index
 * in *i_o, or false if there is none.  A word at a time, as the searches
 * above, and cheaper than a search for a run of one. */
bool bt_find_set(Index *i_o, BT bt, Index base, Index limit);
bool bt_find_res(Index *i_o, BT bt, Index base, Index limit);

/* Copy bits [base, limit) of `from` to the same positions of `to`, as they
 * are or inverted.  `from` and `to` may be the same table. */
void bt_copy_range(BT from, BT to, Index base, Index limit);
void bt_copy_invert_range(BT from, BT to, Index base, Index limit);
/* Copy bits [from_base, from_limit) of `from` to [to_base, to_limit) of
 * `to`; the ranges have the same length and the tables are different. */
void bt_copy_offset_range(BT from, BT to, Index from_base, Index from_limit,
                          Index to_base, Index to_limit);

#endif /* bt_h */
