/* nailboard.c: nailboards (see nailboard.h, design/nailboard.txt).
 *
 * Invariants (nailboard_check):
 *   1. base < limit, both aligned to the unit, and nails is the number of
 *      units between them;
 *   2. level1 has a bit per word of level0 (level1_bits words of level0);
 *   3. a level1 bit is set exactly when its word of level0 has a bit set
 *      (checked by a walk in cool, bounded by the board's size);
 *   4. set counts the bits of level0 that are set, so set <= nails.
 */
#include "nailboard.h"

static inline Index nailboard_index(Nailboard board, Addr addr)
{
  return (Index)(addr_offset(board->base, addr) >> board->align_shift);
}

/* The index of the lowest set bit of a non-zero word (bounded by the
 * word's width). */
static inline unsigned nailboard_ctz(Word w)
{
  unsigned n = 0;
  AVER_CRITICAL(w != 0);
#if defined(__GNUC__) || defined(__clang__)
  if (sizeof(Word) == sizeof(unsigned long long))
    return (unsigned)__builtin_ctzll((unsigned long long)w);
#endif
  while ((w & 1) == 0) {
    w >>= 1;
    ++n;
  }
  return n;
}

static inline bool nailboard_levels_agree(Nailboard board)
{
  Index w;
  for (w = 0; w < board->level1_bits; ++w) {
    bool any = board->level0[w] != 0;
    if (any != bt_get(board->level1, w))
      return false;
  }
  return true;
}

bool nailboard_check(Nailboard board)
{
  CHECKS(NAILBOARD_SIG, board);
  CHECKL(addr_word(board->base) < addr_word(board->limit));                  /* 1 */
  CHECKL(addr_is_aligned(board->base, (Align)1 << board->align_shift));
  CHECKL(addr_is_aligned(board->limit, (Align)1 << board->align_shift));
  CHECKL(board->nails == addr_offset(board->base, board->limit) >> board->align_shift);
  CHECKL(board->level1_bits == BT_WORDS(board->nails));                    /* 2 */
  CHECKL(board->level0 != NULL && board->level1 != NULL);
  CHECKL(nailboard_levels_agree(board));                                    /* 3 */
  CHECKL(board->set <= board->nails);                                       /* 4 */
  return true;
}

static Shift nailboard_log2(Align align)
{
  Shift s = 0;
  while (((Align)1 << s) < align)
    ++s;
  return s;
}

Res nailboard_create(Nailboard *board_o, Arena arena, Align align, Addr base, Addr limit)
{
  Nailboard board;
  Count nails, words;
  Size header, size;
  void *p;
  Res res;

  AVER(board_o != NULL);
  AVER(size_is_p2(align));
  AVER(addr_word(base) < addr_word(limit));
  AVER(addr_is_aligned(base, align) && addr_is_aligned(limit, align));
  nails = addr_offset(base, limit) / align;
  words = BT_WORDS(nails);
  /* The header is rounded to a word so the tables that follow it are
   * word-aligned, as bit tables must be. */
  header = size_align_up(sizeof(nailboard_s), sizeof(Word));
  size = header + bt_size(nails) + bt_size(words);
  res = arena_control_alloc(&p, arena, size);
  if (res != MPS_RES_OK)
    return res;
  board = p;
  board->base = base;
  board->limit = limit;
  board->align_shift = nailboard_log2(align);
  board->nails = nails;
  board->level1_bits = words;
  board->set = 0;
  board->level0 = (BT)(void *)((char *)p + header);
  board->level1 = (BT)(void *)((char *)p + header + bt_size(nails));
  board->block_size = size;
  bt_res_range(board->level0, 0, nails);
  bt_res_range(board->level1, 0, words);
  /* The last word of level0 may have bits beyond `nails`: the level-1
   * test reads whole words, so they must be zero too. */
  board->level0[words - 1] = 0;
  board->sig = NAILBOARD_SIG;
  AVERT(nailboard, board);
  *board_o = board;
  return MPS_RES_OK;
}

void nailboard_destroy(Nailboard board, Arena arena)
{
  AVERT(nailboard, board);
  board->sig = SIG_INVALID;
  arena_control_free(arena, board, board->block_size);
}

bool nailboard_set(Nailboard board, Addr addr)
{
  Index i;
  AVER_CRITICAL(addr_word(board->base) <= addr_word(addr));
  AVER_CRITICAL(addr_word(addr) < addr_word(board->limit));
  i = nailboard_index(board, addr);
  if (bt_get(board->level0, i))
    return true;
  bt_set(board->level0, i);
  bt_set(board->level1, i >> WORD_SHIFT);
  ++board->set;
  return false;
}

bool nailboard_get(Nailboard board, Addr addr)
{
  AVER_CRITICAL(addr_word(board->base) <= addr_word(addr));
  AVER_CRITICAL(addr_word(addr) < addr_word(board->limit));
  return bt_get(board->level0, nailboard_index(board, addr));
}

bool nailboard_is_res_range(Nailboard board, Addr base, Addr limit)
{
  Index i, j, wi, wj;
  AVER_CRITICAL(addr_word(board->base) <= addr_word(base));
  AVER_CRITICAL(addr_word(base) < addr_word(limit));
  AVER_CRITICAL(addr_word(limit) <= addr_word(board->limit));
  if (board->set == 0)
    return true;   /* the common case for segments nailed by one reference */
  i = nailboard_index(board, base);
  /* The unit containing the last byte of the range, plus one. */
  j = nailboard_index(board, addr_sub(limit, 1)) + 1;
  wi = i >> WORD_SHIFT;
  wj = (j - 1) >> WORD_SHIFT;
  if (wi == wj)
    return bt_is_res_range(board->level0, i, j);
  /* Partial words at the ends through level 0, the whole words between
   * through level 1, so long ranges cost a bit per word of level 0. */
  if (!bt_is_res_range(board->level0, i, (wi + 1) << WORD_SHIFT))
    return false;
  if (!bt_is_res_range(board->level0, wj << WORD_SHIFT, j))
    return false;
  if (wi + 1 < wj && !bt_is_res_range(board->level1, wi + 1, wj))
    return false;
  return true;
}

bool nailboard_find_diff(Addr *addr_o, Nailboard board, Nailboard except, Addr from,
                         Addr limit)
{
  Index i, j, w, wj;
  AVER_CRITICAL(addr_o != NULL);
  AVER_CRITICAL(except->base == board->base && except->limit == board->limit);
  AVER_CRITICAL(except->align_shift == board->align_shift);
  AVER_CRITICAL(addr_word(board->base) <= addr_word(from));
  AVER_CRITICAL(addr_word(limit) <= addr_word(board->limit));
  if (addr_word(from) >= addr_word(limit) || board->set == 0)
    return false;
  i = nailboard_index(board, from);
  j = (Index)((addr_offset(board->base, limit) + ((Size)1 << board->align_shift) - 1)
              >> board->align_shift);
  wj = (j - 1) >> WORD_SHIFT;
  for (w = i >> WORD_SHIFT; w <= wj; ++w) {
    Word bits;
    if (!bt_get(board->level1, w))
      continue;
    bits = board->level0[w] & ~except->level0[w];
    if (w == i >> WORD_SHIFT)   /* drop the units below `from` */
      bits &= ~(Word)0 << (i & (WORD_WIDTH - 1));
    if (bits != 0) {
      Index u = (w << WORD_SHIFT) + (Index)nailboard_ctz(bits);
      if (u >= j)
        return false;
      *addr_o = addr_add(board->base, (Size)u << board->align_shift);
      return true;
    }
  }
  return false;
}
