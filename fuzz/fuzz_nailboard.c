/* fuzz_nailboard.c: nailboards against a model of one byte per unit.
 *
 * Byte 0 picks the unit (1 byte to 4 KiB), byte 1 where the range starts
 * (a few units past a fixed base, so the base is aligned to the unit but
 * not always to more), bytes 2-3 the number of units: up to 12800, so
 * that counts that are not a multiple of the word width and boards with
 * more than one word of level 1 both occur.  Two boards, A and B, cover
 * the same range, so that find_diff has a board and an `except`.  Boards
 * only record addresses, so the range is not memory of the arena.
 *
 * Then each operation is a byte and its operands: set a unit (at any
 * address in it), or a run of them, to fill whole words; get; ask
 * is_res_range of a range whose ends are anywhere in the board, or a
 * short range from one of them; find_diff either way round between
 * arbitrary ends (from at or past limit included); compare the whole of
 * a board; and make a third board with the arena refusing it, or under a
 * commit limit that leaves it no new memory.  A refused creation must
 * answer MPS_RES_MEMORY or MPS_RES_COMMIT_LIMIT and leave the arena's
 * control memory as it was; made again, the board is empty.  After every
 * operation the boards it used pass nailboard_check and count exactly the
 * nails of their model; at the end both are compared whole.
 *
 * The boards' questions ask about units that meet a range: a range that
 * ends or starts inside a unit includes it (AMC asks of objects, which
 * need not be aligned to the unit).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../src/pool/nailboard.h"
#include "../stress/support/testlib.h"
#include "support/model.h"
#include "support/refusal.h"
#include "support/input.h"

#define FUZZ_NAIL_UNITS 12800        /* more than 3 words of level 1 */
#define FUZZ_NAIL_SHIFT_MAX 12
#define FUZZ_NAIL_BASE ((Word)1 << 28)


typedef struct fuzz_nail_s {
  Arena arena;
  Addr base;
  Shift shift;
  Count units;
  Size bytes;                 /* units << shift */
  Nailboard boards[2];        /* A and B, either one the other's `except` */
  unsigned char nails[2][FUZZ_NAIL_UNITS];
  Count set[2];               /* nails of each, as the board counts them */
} fuzz_nail_s;

/* Control memory handed out and not yet given back. */
/* An offset into the board, in bytes, anywhere in [0, bytes]. */
static Size fuzz_nail_offset(fuzz_nail_s *s, fuzz_input_s *in)
{
  Index unit = fuzz_input_take16(in) % (s->units + 1);
  Size within = fuzz_input_take16(in) & (((Size)1 << s->shift) - 1);
  if (unit == s->units)
    return s->bytes;
  return ((Size)unit << s->shift) + within;
}

/* An address inside the board: its unit and the address. */
static Addr fuzz_nail_addr(Index *unit_o, fuzz_nail_s *s, fuzz_input_s *in)
{
  Index unit = fuzz_input_take16(in) % s->units;
  Size within = fuzz_input_take16(in) & (((Size)1 << s->shift) - 1);
  *unit_o = unit;
  return addr_add(s->base, ((Size)unit << s->shift) + within);
}

/* The units meeting [lo, hi), as [*first_o, *limit_o). */
static void fuzz_nail_units_meeting(Index *first_o, Index *limit_o, fuzz_nail_s *s, Size lo,
                                    Size hi)
{
  Size unit = (Size)1 << s->shift;
  *first_o = lo >> s->shift;
  *limit_o = (hi + unit - 1) >> s->shift;
}

/* Every unit, asked at an address that moves about inside it. */
FUZZ_MODEL static void fuzz_nail_compare(fuzz_nail_s *s, unsigned which)
{
  Nailboard board = s->boards[which];
  Size mask = ((Size)1 << s->shift) - 1;
  Index i;
  for (i = 0; i < s->units; ++i)
    TESTLIB_REQUIRE(nailboard_get(board, addr_add(s->base, ((Size)i << s->shift) + (i * 7 & mask)))
                    == (s->nails[which][i] != 0));
}

FUZZ_MODEL static bool fuzz_nail_model_res(fuzz_nail_s *s, unsigned which, Index first,
                                           Index limit)
{
  Index i;
  for (i = first; i < limit; ++i)
    if (s->nails[which][i])
      return false;
  return true;
}

/* The lowest unit of [first, limit) nailed in `which` and not in the
 * other board, or limit. */
FUZZ_MODEL static Index fuzz_nail_model_diff(fuzz_nail_s *s, unsigned which, Index first,
                                             Index limit)
{
  Index i;
  for (i = first; i < limit; ++i)
    if (s->nails[which][i] && !s->nails[!which][i])
      return i;
  return limit;
}

static void fuzz_nail_set(fuzz_nail_s *s, unsigned which, Index unit, Addr addr)
{
  bool was = nailboard_set(s->boards[which], addr);
  TESTLIB_REQUIRE(was == (s->nails[which][unit] != 0));
  if (!was) {
    s->nails[which][unit] = 1;
    ++s->set[which];
  }
  TESTLIB_REQUIRE(nailboard_get(s->boards[which], addr));
}

static void fuzz_nail_is_res_range(fuzz_nail_s *s, unsigned which, bool nearby,
                                   fuzz_input_s *in)
{
  Size lo = fuzz_nail_offset(s, in), hi;
  Index first, limit;
  if (nearby) {
    /* Short ranges, often within one word of level 0. */
    hi = lo + 1 + fuzz_input_take16(in) % ((Size)64 << s->shift);
    if (hi > s->bytes)
      hi = s->bytes;
  } else {
    hi = fuzz_nail_offset(s, in);
  }
  if (lo > hi) {
    Size t = lo;
    lo = hi;
    hi = t;
  }
  if (lo == hi) {
    if (hi < s->bytes)
      ++hi;
    else
      --lo;
  }
  fuzz_nail_units_meeting(&first, &limit, s, lo, hi);
  TESTLIB_REQUIRE(nailboard_is_res_range(s->boards[which], addr_add(s->base, lo),
                                         addr_add(s->base, hi))
                  == fuzz_nail_model_res(s, which, first, limit));
}

static void fuzz_nail_find_diff(fuzz_nail_s *s, unsigned which, fuzz_input_s *in)
{
  Size from = fuzz_nail_offset(s, in), limit = fuzz_nail_offset(s, in);
  Addr found = NULL;
  Index first, end, want;
  bool got;
  got = nailboard_find_diff(&found, s->boards[which], s->boards[!which],
                            addr_add(s->base, from), addr_add(s->base, limit));
  if (from >= limit) {
    TESTLIB_REQUIRE(!got);
    return;
  }
  fuzz_nail_units_meeting(&first, &end, s, from, limit);
  want = fuzz_nail_model_diff(s, which, first, end);
  TESTLIB_REQUIRE(got == (want < end));
  if (got)
    TESTLIB_REQUIRE(found == addr_add(s->base, (Size)want << s->shift));
}

/* A third board over a range of its own, refused by the arena or made
 * under a commit limit of what the arena has committed; the commit limit
 * can refuse it only when the board needs more control grains. */
static void fuzz_nail_refused(fuzz_nail_s *s, bool limited, fuzz_input_s *in)
{
  Arena arena = s->arena;
  /* Under the limit, boards of up to a quarter of a million units (32 KiB
   * of level 0), more than the arena's first control grains hold; not
   * more, as making and checking a board walks all of it. */
  Shift shift = limited ? 3 : (Shift)(fuzz_input_take8(in) % (FUZZ_NAIL_SHIFT_MAX + 1));
  Count units = 1 + (Count)fuzz_input_take16(in) * (limited ? 4 : 1);
  Addr base = addr_of_word(FUZZ_NAIL_BASE), limit = addr_add(base, (Size)units << shift);
  Size in_use = refusal_control_in_use(arena), committed = arena->committed;
  Size commit_limit = 0;
  Nailboard board = NULL;
  Count before;
  Res res;
  if (limited)
    commit_limit = refusal_limit_entered(arena);
  else
    arena_fail_after(arena, 1);
  before = refusal_countdown((mps_arena_t)arena);
  res = nailboard_create(&board, arena, (Align)1 << shift, base, limit);
  if (limited) {
    refusal_unlimit_entered(arena, commit_limit);
  } else {
    /* Creation asks for one block: the refusal must fall on it. */
    TESTLIB_REQUIRE(refusal_fell((mps_arena_t)arena, before));
    TESTLIB_REQUIRE(res != MPS_RES_OK);
  }
  if (res != MPS_RES_OK) {
    TESTLIB_REQUIRE(limited ? res == MPS_RES_COMMIT_LIMIT : res == MPS_RES_MEMORY);
    TESTLIB_REQUIRE(board == NULL);
    TESTLIB_REQUIRE(refusal_control_in_use(arena) == in_use);
    TESTLIB_REQUIRE(arena->committed <= committed);
    res = nailboard_create(&board, arena, (Align)1 << shift, base, limit);
    TESTLIB_REQUIRE(res == MPS_RES_OK);
  }
  TESTLIB_REQUIRE(nailboard_check(board));
  TESTLIB_REQUIRE(board->set == 0);
  TESTLIB_REQUIRE(nailboard_is_res_range(board, base, limit));
  TESTLIB_REQUIRE(!nailboard_get(board, addr_sub(limit, 1)));
  TESTLIB_REQUIRE(!nailboard_set(board, base));
  TESTLIB_REQUIRE(!nailboard_is_res_range(board, base, limit));
  nailboard_destroy(board, arena);
  TESTLIB_REQUIRE(refusal_control_in_use(arena) == in_use);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static fuzz_nail_s s;
  fuzz_input_s in = {data, size};
  mps_arena_t arena;
  Size in_use;
  unsigned which;

  s.shift = (Shift)(fuzz_input_take8(&in) % (FUZZ_NAIL_SHIFT_MAX + 1));
  s.base = addr_of_word(FUZZ_NAIL_BASE + ((Word)fuzz_input_take8(&in) << s.shift));
  s.units = 1 + fuzz_input_take16(&in) % FUZZ_NAIL_UNITS;
  s.bytes = (Size)s.units << s.shift;
  memset(s.nails, 0, sizeof s.nails);
  s.set[0] = s.set[1] = 0;

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 20);
    TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  s.arena = (Arena)arena;
  arena_enter(s.arena);
  in_use = refusal_control_in_use(s.arena);
  for (which = 0; which < 2; ++which)
    TESTLIB_REQUIRE(nailboard_create(&s.boards[which], s.arena, (Align)1 << s.shift, s.base,
                                     addr_add(s.base, s.bytes))
                    == MPS_RES_OK);

  while (in.size > 0) {
    unsigned op = fuzz_input_take8(&in);
    Index unit;
    Addr addr;
    which = op >> 3 & 1;
    switch (op & 7) {
    case 0:
      addr = fuzz_nail_addr(&unit, &s, &in);
      fuzz_nail_set(&s, which, unit, addr);
      break;
    case 1:
      addr = fuzz_nail_addr(&unit, &s, &in);
      TESTLIB_REQUIRE(nailboard_get(s.boards[which], addr) == (s.nails[which][unit] != 0));
      break;
    case 2:
      fuzz_nail_is_res_range(&s, which, (op & 0x10) != 0, &in);
      break;
    case 3:
      fuzz_nail_find_diff(&s, which, &in);
      break;
    case 4: {   /* a run of units, to fill whole words of level 0 */
      Count run = 1 + fuzz_input_take8(&in);
      addr = fuzz_nail_addr(&unit, &s, &in);
      for (; run > 0 && unit < s.units; --run, ++unit)
        fuzz_nail_set(&s, which, unit, addr_add(s.base, ((Size)unit << s.shift)
                                                + (op >> 4) % ((Size)1 << s.shift)));
      break;
    }
    case 5:
      fuzz_nail_compare(&s, which);
      break;
    default:
      fuzz_nail_refused(&s, (op & 1) != 0, &in);
      break;
    }
    /* The check walks the whole board, so only the board the operation
     * used (both, for find_diff). */
    TESTLIB_REQUIRE(nailboard_check(s.boards[which]));
    TESTLIB_REQUIRE(s.boards[which]->set == s.set[which]);
    if ((op & 7) == 3)
      TESTLIB_REQUIRE(nailboard_check(s.boards[!which]));
  }

  for (which = 0; which < 2; ++which) {
    fuzz_nail_compare(&s, which);
    TESTLIB_REQUIRE(s.boards[which]->set == s.set[which]);
  }
  nailboard_destroy(s.boards[1], s.arena);
  nailboard_destroy(s.boards[0], s.arena);
  TESTLIB_REQUIRE(refusal_control_in_use(s.arena) == in_use);
  arena_leave(s.arena);
  mps_arena_destroy(arena);
  return 0;
}
