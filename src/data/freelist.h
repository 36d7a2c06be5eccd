/* freelist.h: a land kept in the free memory itself (design/freelist.txt).
 *
 * The freelist stores each of its ranges' descriptions inside the range,
 * so it never needs memory of its own and never fails for lack of it.
 * The price: every operation walks a linked list (time proportional to the
 * number of ranges), and the memory of every range in the land must be
 * writable by the freelist while the range is there.
 *
 * The land's alignment must be at least the size of a word (sizeof(Word)),
 * so that the smallest range can hold a link.  A range of one word holds
 * only the link, tagged; larger ranges hold the link and their limit.
 *
 * Class argument for land_init: none (pass NULL).
 */
#ifndef freelist_h
#define freelist_h

#include "land.h"

typedef struct freelist_s *Freelist;

typedef struct freelist_s {
  land_s land;     /* first member: a Freelist is a Land */
  Addr head;       /* base of the lowest range, or FREELIST_END */
  Count count;     /* number of ranges */
  Size size;       /* total size of the ranges */
  Sig sig;         /* FREELIST_SIG (freelist.c) */
} freelist_s;

/* The smallest alignment a freelist accepts. */
#define FREELIST_MIN_ALIGN ((Align)sizeof(Word))

LandClass freelist_class(void);
bool freelist_check(Freelist freelist);

/* land_init(freelist_land(fl), freelist_class(), alignment, NULL). */
Res freelist_init(Freelist freelist, Align alignment);
void freelist_finish(Freelist freelist);
Land freelist_land(Freelist freelist);

#endif /* freelist_h */
