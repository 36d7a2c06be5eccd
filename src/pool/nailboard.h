/* nailboard.h: nailboards -- the set of addresses in a segment that the
 * collector must not move or reclaim (design/nailboard.txt,
 * design/poolamc.txt).
 *
 * A nailboard covers [base, limit) at a granularity `align` (a power of
 * two): every address in an aligned unit maps to the same nail.  Nails are
 * only ever set, never reset one at a time: a nail records that some
 * reference was seen, and nothing short of the end of the trace (when the
 * whole board is destroyed) can prove there is none.
 *
 * Two questions must be cheap, because AMC asks them for every object of a
 * nailed segment when it scans and reclaims it: "is this unit nailed?" and
 * "is any unit of [b, l) nailed?".  The board keeps a second level with a
 * bit per word of the first, so a range test looks at the two partial words
 * at its ends and a word of the second level per WORD_WIDTH^2 units.
 *
 * The board lives in one block of arena control memory (header and both
 * levels), so making it is one allocation that either fails cleanly or
 * gives everything.
 */
#ifndef nailboard_h
#define nailboard_h

#include "../arena/arena.h"
#include "../data/bt.h"

#define NAILBOARD_SIG SIG_MAKE(0x12C)

typedef struct nailboard_s *Nailboard;

typedef struct nailboard_s {
  Sig sig;
  Addr base, limit;      /* the range covered; base < limit, both aligned */
  Shift align_shift;     /* log2 of the unit */
  Count nails;           /* units: (limit - base) >> align_shift */
  Count level1_bits;     /* words of level 0 = bits of level 1 */
  Count set;             /* nails set so far (for statistics and checks) */
  BT level0;             /* a bit per unit */
  BT level1;             /* a bit per word of level0: any bit set in it */
  Size block_size;       /* bytes of the control block holding it all */
} nailboard_s;

bool nailboard_check(Nailboard board);

/* Make an empty board for [base, limit) with unit `align` (a power of two
 * dividing both).  MPS_RES_MEMORY / COMMIT_LIMIT if control memory cannot
 * be had; nothing is changed then. */
Res nailboard_create(Nailboard *board_o, Arena arena, Align align, Addr base, Addr limit);
void nailboard_destroy(Nailboard board, Arena arena);

/* Nail the unit containing addr (base <= addr < limit).  Returns whether
 * it was nailed already. */
bool nailboard_set(Nailboard board, Addr addr);
/* Whether the unit containing addr is nailed. */
bool nailboard_get(Nailboard board, Addr addr);
/* Whether no unit meeting [base, limit) is nailed; base < limit, both in
 * the board's range (limit may equal the board's limit). */
bool nailboard_is_res_range(Nailboard board, Addr base, Addr limit);
/* The lowest unit meeting [from, limit) nailed in `board` but not in
 * `except`, a board of the same range and unit: its base address (below
 * `from` if `from` is inside it) in *addr_o, or false if there is none.
 * It costs a bit of level 1 per word of level 0 that `board` leaves
 * empty, so a sparse board is searched quickly. */
bool nailboard_find_diff(Addr *addr_o, Nailboard board, Nailboard except, Addr from,
                         Addr limit);

#endif /* nailboard_h */
