/* collections.h: the number of collections an arena has completed, moving
 * or not, for tests and harnesses that need to know whether one ran.
 * mps_collections counts only the flips in which objects might have moved
 * (arena.rst), so that an arena of non-moving pools reports 0; the
 * arena's own count is read here instead, under the arena lock, as
 * collections running on other threads write it. */
#ifndef collections_h
#define collections_h

#include "../../src/arena/arena.h"

static inline mps_word_t collections_done(mps_arena_t arena)
{
  mps_word_t n;
  arena_enter(arena);
  n = (mps_word_t)arena->collections;
  arena_leave(arena);
  return n;
}

/* A collection of the due generations, started by a step and finished by
 * a park: whether exactly one ran. */
static inline bool collections_run_due(mps_arena_t arena)
{
  mps_word_t before = collections_done(arena);
  if (!mps_arena_step(arena, 0.0, 1.0))
    return false;
  mps_arena_park(arena);
  return collections_done(arena) == before + 1;
}

#endif /* collections_h */
