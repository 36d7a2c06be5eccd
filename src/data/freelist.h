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
  /* Told of every description the freelist writes into the memory it
   * holds ([base, limit): one or two words), or NULL; see
   * freelist_set_scribble. */
  void (*scribble)(void *closure, Addr base, Addr limit);
  void *scribble_closure;
  Sig sig;         /* FREELIST_SIG (freelist.c) */
} freelist_s;

/* The smallest alignment a freelist accepts. */
#define FREELIST_MIN_ALIGN ((Align)sizeof(Word))

LandClass freelist_class(void);
bool freelist_check(Freelist freelist);

/* land_init(freelist_land(fl), freelist_class(), alignment, NULL). */
Res freelist_init(Freelist freelist, Align alignment);

/* From now on, call scribble(closure, base, limit) after each write of a
 * range's description into [base, limit) of the free memory itself: the
 * owner of that memory may be keeping a record of what it holds (the
 * debugging pools' free-space template, pool_debug.c). */
void freelist_set_scribble(Freelist freelist,
                           void (*scribble)(void *closure, Addr base, Addr limit),
                           void *closure);
void freelist_finish(Freelist freelist);
Land freelist_land(Freelist freelist);

#endif /* freelist_h */
