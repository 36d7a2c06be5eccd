/* freelist.c: a land kept in the free memory itself (see
 * design/freelist.txt).
 *
 * The ranges form a singly linked list in address order.  The first word
 * of each range holds the base of the next range (or FREELIST_END) with
 * the low bit used as a tag: set for a "grain", a range of exactly one
 * word, which has room for nothing else; clear for a "block", whose second
 * word holds its limit.  Range bases are word-aligned, so the low bit of a
 * link is otherwise always zero.  FREELIST_END (address zero) marks the
 * end of the list: no range can start at address zero.
 *
 * Invariants:
 *   1. sig is FREELIST_SIG and the land is of the freelist class.
 *   2. the alignment is at least FREELIST_MIN_ALIGN.
 *   3. head is FREELIST_END exactly when count is zero, and size is zero
 *      exactly when count is zero.
 *   4. the ranges on the list are in increasing address order, non-empty,
 *      and isolated: each one's limit is below the next one's base.
 *   5. count and size are the number and total size of the ranges.
 * Invariants 4 and 5 take a walk of the list to check, so freelist_check
 * does not test them; the land tests compare the list with a model.
 */
#include "freelist.h"
#include "../base/check.h"

#define FREELIST_SIG SIG_MAKE(0x33)
#define FREELIST_END ((Addr)0)
#define FREELIST_GRAIN_TAG ((Word)1)

static Word *freelist_words(Addr base)
{
  return (Word *)addr_ptr(base);
}

static bool freelist_is_grain(Addr base)
{
  return (freelist_words(base)[0] & FREELIST_GRAIN_TAG) != 0;
}

static Addr freelist_next(Addr base)
{
  return addr_of_word(freelist_words(base)[0] & ~FREELIST_GRAIN_TAG);
}

static Addr freelist_limit(Addr base)
{
  if (freelist_is_grain(base))
    return addr_add(base, sizeof(Word));
  return addr_of_word(freelist_words(base)[1]);
}

/* Write the description of [base, limit) followed by `next`. */
static void freelist_write(Freelist fl, Addr base, Addr limit, Addr next)
{
  Word *words = freelist_words(base);
  Size size = addr_offset(base, limit);
  AVER_CRITICAL(size >= sizeof(Word));
  AVER_CRITICAL(next == FREELIST_END
                || addr_word(limit) < addr_word(next));
  if (size == sizeof(Word)) {
    words[0] = addr_word(next) | FREELIST_GRAIN_TAG;
  } else {
    words[0] = addr_word(next);
    words[1] = addr_word(limit);
  }
  if (fl->scribble != NULL)
    fl->scribble(fl->scribble_closure, base,
                 addr_add(base, size == sizeof(Word) ? sizeof(Word) : 2 * sizeof(Word)));
}

/* Change the link of the range at `base` (or the head, if `base` is
 * FREELIST_END) to `next`, keeping its limit. */
static void freelist_link(Freelist fl, Addr base, Addr next)
{
  if (base == FREELIST_END)
    fl->head = next;
  else
    freelist_write(fl, base, freelist_limit(base), next);
}

static Freelist freelist_of_land(Land land)
{
  return PARENT(freelist_s, land, land);
}

bool freelist_check(Freelist freelist)
{
  CHECKS(FREELIST_SIG, freelist);                               /* 1 */
  CHECKL(freelist->land.klass == freelist_class());             /* 1 */
  CHECKL(freelist->land.alignment >= FREELIST_MIN_ALIGN);       /* 2 */
  CHECKL((freelist->head == FREELIST_END) == (freelist->count == 0)); /* 3 */
  CHECKL((freelist->size == 0) == (freelist->count == 0));      /* 3 */
  return true;
}

static bool freelist_land_check(Land land)
{
  return freelist_check(freelist_of_land(land));
}

static Res freelist_land_init(Land land, const void *args)
{
  Freelist fl = freelist_of_land(land);
  AVER(args == NULL);
  AVER(land->alignment >= FREELIST_MIN_ALIGN);
  if (land->alignment < FREELIST_MIN_ALIGN)
    return MPS_RES_PARAM;
  fl->head = FREELIST_END;
  fl->count = 0;
  fl->size = 0;
  fl->scribble = NULL;
  fl->scribble_closure = NULL;
  fl->sig = FREELIST_SIG;
  AVERT(freelist, fl);
  return MPS_RES_OK;
}

/* The memory of the ranges belongs to the client: forgetting the list is
 * all there is to do. */
static void freelist_land_finish(Land land)
{
  Freelist fl = freelist_of_land(land);
  AVERT(freelist, fl);
  fl->sig = SIG_INVALID;
  fl->head = FREELIST_END;
  fl->count = 0;
  fl->size = 0;
}

static Size freelist_land_size(Land land)
{
  Freelist fl = freelist_of_land(land);
  AVERT(freelist, fl);
  return fl->size;
}

static Res freelist_land_insert(Range range_return, Land land, Range range)
{
  Freelist fl = freelist_of_land(land);
  Addr prev = FREELIST_END, next = fl->head;
  Addr base = range_base(range), limit = range_limit(range);
  Addr prev_limit = FREELIST_END;
  bool join_left, join_right, overlaps;
  AVERT(freelist, fl);

  /* Find prev, the last range below base, and next, the one after it. */
  while (next != FREELIST_END && addr_word(next) < addr_word(base)) {
    prev = next;
    next = freelist_next(next);
  }
  if (prev != FREELIST_END)
    prev_limit = freelist_limit(prev);

  overlaps = (prev != FREELIST_END
              && addr_word(prev_limit) > addr_word(base))
             || (next != FREELIST_END
                 && addr_word(next) < addr_word(limit));
  AVER(!overlaps);
  if (overlaps)
    return MPS_RES_FAIL;

  join_left = prev != FREELIST_END && prev_limit == base;
  join_right = next == limit;
  if (join_left && join_right) {
    Addr next_limit = freelist_limit(next);
    freelist_write(fl, prev, next_limit, freelist_next(next));
    range_init(range_return, prev, next_limit);
    --fl->count;
  } else if (join_left) {
    freelist_write(fl, prev, limit, next);
    range_init(range_return, prev, limit);
  } else if (join_right) {
    Addr next_limit = freelist_limit(next);
    freelist_write(fl, base, next_limit, freelist_next(next));
    freelist_link(fl, prev, base);
    range_init(range_return, base, next_limit);
  } else {
    freelist_write(fl, base, limit, next);
    freelist_link(fl, prev, base);
    range_init(range_return, base, limit);
    ++fl->count;
  }
  fl->size += addr_offset(base, limit);
  return MPS_RES_OK;
}

/* Remove `range` from the range at `cur`, which contains it and follows
 * `prev` (FREELIST_END if cur is first).  The fragments left either side
 * of `range` stay on the list in place of `cur`. */
static void freelist_remove(Freelist fl, Addr prev, Addr cur, Range range)
{
  Addr cur_limit = freelist_limit(cur);
  Addr after = freelist_next(cur);
  Addr base = range_base(range), limit = range_limit(range);
  bool has_left = base != cur, has_right = limit != cur_limit;

  AVER_CRITICAL(addr_word(cur) <= addr_word(base));
  AVER_CRITICAL(addr_word(limit) <= addr_word(cur_limit));
  if (has_right) {
    freelist_write(fl, limit, cur_limit, after);
    after = limit;
  }
  if (has_left)
    freelist_write(fl, cur, base, after);
  else
    freelist_link(fl, prev, after);
  if (has_left && has_right)
    ++fl->count;
  else if (!has_left && !has_right)
    --fl->count;
  fl->size -= range_size(range);
}

static Res freelist_land_delete(Range range_return, Land land, Range range)
{
  Freelist fl = freelist_of_land(land);
  Addr prev = FREELIST_END, cur = fl->head;
  Addr base = range_base(range);
  Addr cur_limit;
  AVERT(freelist, fl);

  while (cur != FREELIST_END
         && addr_word(freelist_limit(cur)) <= addr_word(base)) {
    prev = cur;
    cur = freelist_next(cur);
  }
  if (cur == FREELIST_END || addr_word(cur) > addr_word(base))
    return MPS_RES_FAIL;
  cur_limit = freelist_limit(cur);
  if (addr_word(range_limit(range)) > addr_word(cur_limit))
    return MPS_RES_FAIL;
  range_init(range_return, cur, cur_limit);
  freelist_remove(fl, prev, cur, range);
  return MPS_RES_OK;
}

static bool freelist_land_iterate(Land land, LandVisitor visitor,
                                  void *closure)
{
  Freelist fl = freelist_of_land(land);
  Addr cur;
  AVERT(freelist, fl);
  for (cur = fl->head; cur != FREELIST_END; cur = freelist_next(cur)) {
    range_s range;
    range_init(&range, cur, freelist_limit(cur));
    if (!visitor(land, &range, closure))
      return false;
  }
  return true;
}

static bool freelist_land_iterate_and_delete(Land land,
                                             LandDeleteVisitor visitor,
                                             void *closure)
{
  Freelist fl = freelist_of_land(land);
  Addr prev = FREELIST_END, cur = fl->head;
  AVERT(freelist, fl);
  while (cur != FREELIST_END) {
    /* Read the link now: once a range is deleted its memory is the
     * client's again. */
    Addr next = freelist_next(cur);
    bool delete = false, more;
    range_s range;
    range_init(&range, cur, freelist_limit(cur));
    more = visitor(&delete, land, &range, closure);
    if (delete) {
      freelist_link(fl, prev, next);
      --fl->count;
      fl->size -= range_size(&range);
    } else {
      prev = cur;
    }
    if (!more)
      return false;
    cur = next;
  }
  return true;
}

/* Finish a find: report the block at `cur` (after `prev`) and delete the
 * part of it that find_delete selects. */
static void freelist_found(Range range_return, Range old_range_return,
                           Freelist fl, Addr prev, Addr cur, Size size,
                           LandFindDelete find_delete)
{
  range_init(old_range_return, cur, freelist_limit(cur));
  land_find_part(range_return, old_range_return, size, find_delete);
  if (find_delete != LAND_FIND_DELETE_NONE)
    freelist_remove(fl, prev, cur, range_return);
}

static bool freelist_land_find_first(Range range_return,
                                     Range old_range_return, Land land,
                                     Size size, LandFindDelete find_delete)
{
  Freelist fl = freelist_of_land(land);
  Addr prev = FREELIST_END, cur;
  AVERT(freelist, fl);
  for (cur = fl->head; cur != FREELIST_END; cur = freelist_next(cur)) {
    if (addr_offset(cur, freelist_limit(cur)) >= size) {
      freelist_found(range_return, old_range_return, fl, prev, cur, size,
                     find_delete);
      return true;
    }
    prev = cur;
  }
  return false;
}

/* Which block a whole scan keeps (freelist_scan). */
typedef enum freelist_pick_e {
  FREELIST_PICK_LAST,       /* the highest of at least `size` bytes */
  FREELIST_PICK_SMALLEST,   /* the smallest of at least `size`, lowest of equals */
  FREELIST_PICK_LARGEST     /* the largest of any size, lowest of equals */
} freelist_pick_e;

/* Scan the whole list for the block `pick` says, and set *found_o, its
 * predecessor *prev_o and its size *size_o; false if there is none.  The
 * comparisons are strict, so that the lowest of equal blocks wins. */
static bool freelist_scan(Addr *found_o, Addr *prev_o, Size *size_o, Freelist fl,
                          Size size, freelist_pick_e pick)
{
  Addr prev = FREELIST_END, cur;
  Addr found = FREELIST_END, found_prev = FREELIST_END;
  Size found_size = 0;
  for (cur = fl->head; cur != FREELIST_END; prev = cur, cur = freelist_next(cur)) {
    Size cur_size = addr_offset(cur, freelist_limit(cur));
    bool better;
    if (pick != FREELIST_PICK_LARGEST && cur_size < size)
      continue;
    if (pick == FREELIST_PICK_LAST)
      better = true;
    else if (pick == FREELIST_PICK_SMALLEST)
      better = found == FREELIST_END || cur_size < found_size;
    else
      better = cur_size > found_size;
    if (better) {
      found = cur;
      found_prev = prev;
      found_size = cur_size;
    }
  }
  *found_o = found;
  *prev_o = found_prev;
  *size_o = found_size;
  return found != FREELIST_END;
}

/* A find of the block `pick` says among those of at least `size`. */
static bool freelist_find_picked(Range range_return, Range old_range_return,
                                 Land land, Size size, LandFindDelete find_delete,
                                 freelist_pick_e pick)
{
  Freelist fl = freelist_of_land(land);
  Addr found, prev;
  Size found_size;
  AVERT(freelist, fl);
  if (!freelist_scan(&found, &prev, &found_size, fl, size, pick))
    return false;
  freelist_found(range_return, old_range_return, fl, prev, found, size, find_delete);
  return true;
}

static bool freelist_land_find_last(Range range_return,
                                    Range old_range_return, Land land,
                                    Size size, LandFindDelete find_delete)
{
  return freelist_find_picked(range_return, old_range_return, land, size,
                              find_delete, FREELIST_PICK_LAST);
}

static bool freelist_land_find_best(Range range_return,
                                    Range old_range_return, Land land,
                                    Size size, LandFindDelete find_delete)
{
  return freelist_find_picked(range_return, old_range_return, land, size,
                              find_delete, FREELIST_PICK_SMALLEST);
}

static bool freelist_land_find_largest(Range range_return,
                                       Range old_range_return, Land land,
                                       Size size, LandFindDelete find_delete)
{
  Freelist fl = freelist_of_land(land);
  Addr found, prev;
  Size found_size;
  AVERT(freelist, fl);
  if (!freelist_scan(&found, &prev, &found_size, fl, size, FREELIST_PICK_LARGEST)
      || found_size < size)
    return false;
  if (find_delete != LAND_FIND_DELETE_NONE)
    find_delete = LAND_FIND_DELETE_ENTIRE;
  freelist_found(range_return, old_range_return, fl, prev, found, found_size,
                 find_delete);
  return true;
}

/* The list is in address order: the first range ending above the base
 * is the only one that can meet the range. */
static bool freelist_land_overlaps(Land land, Range range)
{
  Freelist fl = freelist_of_land(land);
  Addr cur = fl->head;
  AVERT(freelist, fl);
  while (cur != FREELIST_END
         && addr_word(freelist_limit(cur)) <= addr_word(range_base(range)))
    cur = freelist_next(cur);
  return cur != FREELIST_END && addr_word(cur) < addr_word(range_limit(range));
}

static const land_class_s freelist_class_struct = {
  LAND_CLASS_SIG,
  "freelist",
  freelist_land_init,
  freelist_land_finish,
  freelist_land_size,
  freelist_land_insert,
  freelist_land_delete,
  freelist_land_iterate,
  freelist_land_iterate_and_delete,
  freelist_land_find_first,
  freelist_land_find_last,
  freelist_land_find_best,
  freelist_land_find_largest,
  freelist_land_overlaps,
  freelist_land_check,
};

LandClass freelist_class(void)
{
  return &freelist_class_struct;
}

Res freelist_init(Freelist freelist, Align alignment)
{
  AVER(freelist != NULL);
  return land_init(&freelist->land, freelist_class(), alignment, NULL);
}

void freelist_set_scribble(Freelist freelist,
                           void (*scribble)(void *closure, Addr base, Addr limit),
                           void *closure)
{
  AVERT(freelist, freelist);
  freelist->scribble = scribble;
  freelist->scribble_closure = closure;
}

void freelist_finish(Freelist freelist)
{
  AVERT(freelist, freelist);
  land_finish(&freelist->land);
}

Land freelist_land(Freelist freelist)
{
  AVERT(freelist, freelist);
  return &freelist->land;
}
