/* collections.h: the number of collections an arena has completed, moving
 * or not, for tests that need to know whether one ran.  mps_collections
 * counts only the flips in which objects might have moved (arena.rst), so
 * that an arena of non-moving pools reports 0; the arena's own count is
 * read here instead (tests run it with no other thread in the arena). */
#ifndef collections_h
#define collections_h

#include "../../src/arena/arena.h"

static inline mps_word_t collections_done(mps_arena_t arena)
{
  return (mps_word_t)arena->collections;
}

#endif /* collections_h */
