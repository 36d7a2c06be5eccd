/* refusal.h: what the fuzz targets that arm arena_fail_after (a test
 * hook: src/arena/arena.h) share to judge a refusal.  The hook refuses
 * one request, once: its countdown goes from non-zero to zero when it
 * does.  A target reads the countdown when an operation begins and asks
 * afterwards whether the refusal fell in between, and whether a result
 * is one a refused request may give.  Header only. */
#ifndef FUZZ_REFUSAL_H
#define FUZZ_REFUSAL_H

#include <stdbool.h>
#include <stdlib.h>

#include "../../include/mps.h"
#include "../../src/arena/arena.h"

/* The countdown now: 0 if nothing is armed. */
static inline Count refusal_countdown(mps_arena_t arena)
{
  return ((Arena)arena)->fail_countdown;
}

/* Whether the refusal armed with countdown `before` has fallen since. */
static inline bool refusal_fell(mps_arena_t arena, Count before)
{
  return before > 0 && refusal_countdown(arena) == 0;
}

/* Whether res says what a refused request says: no memory, or no
 * address space for a growth. */
static inline bool refusal_result(mps_res_t res)
{
  return res == MPS_RES_MEMORY || res == MPS_RES_RESOURCE;
}

/* The arena's control memory in use (obtained less free): a refused
 * creation must leave it as it was, and a destruction give back all. */
static inline Size refusal_control_in_use(Arena arena)
{
  return arena->control_size - arena->control.size;
}

/* For a target that calls internal functions inside arena_enter: set
 * the commit limit to what the arena has committed, so that the next
 * request needing a fresh grain fails with MPS_RES_COMMIT_LIMIT, and
 * return the limit to put back with refusal_unlimit_entered. */
static inline Size refusal_limit_entered(Arena arena)
{
  Size limit = arena->commit_limit;
  mps_res_t res;
  arena_leave(arena);
  res = mps_arena_commit_limit_set((mps_arena_t)arena, arena->committed);
  arena_enter(arena);
  if (res != MPS_RES_OK)
    abort();
  return limit;
}

static inline void refusal_unlimit_entered(Arena arena, Size limit)
{
  mps_res_t res;
  arena_leave(arena);
  res = mps_arena_commit_limit_set((mps_arena_t)arena, limit);
  arena_enter(arena);
  if (res != MPS_RES_OK)
    abort();
}

#endif /* FUZZ_REFUSAL_H */
