/* arena.c: the generic arena (see arena.h, design/arena.txt,
 * manual/topic/arena.rst).
 *
 * Invariants (arena_check):
 *   1. grain_size is a power of two and 1 << grain_shift;
 *   2. spare_committed <= committed <= commit_limit;
 *   3. 0 <= spare <= 1 and pause_time >= 0;
 *   4. the primary chunk is in the chunk ring and holds the arena;
 *   5. an arena whose class keeps no spare memory has none.
 * Deep check: committed and spare_committed agree with the chunks' tables
 * (arena_books_agree), and the chunks are in address order, disjoint.
 * That costs a pass over every chunk's tables, so it is not part of
 * arena_check, which every entry to the arena makes (there it took 87% of
 * the time of test_mvff in cool).  The books and the tables change only in
 * this file, so ARENA_BOOKS_CHECK runs it at the end of each operation
 * that changes them instead: a mistake is caught by the operation that
 * made it.
 *
 * Allocation is first fit over the chunks' alloc_tables, a word at a time
 * (bt_find_short_res_range), or first fit within stripes of some zones for
 * the collector's segments (arena_alloc_zoned), except that a low or a
 * zoned allocation first takes the lowest run of spare grains (free and
 * still committed) that holds it whole, if there is one where it may go:
 * that needs no commit, and so no page faults and no spare memory given
 * up in its place (docs/performance.md, third round and the spare zones
 * round).  The grains found are claimed in the table
 * before anything is committed, so that giving up spare memory to stay
 * under the commit limit cannot take them; if committing fails the claim
 * is undone and nothing has changed.
 */
#include <float.h>
#include <stdint.h>

#include "../../include/mps.h"
#include "../base/args.h"
#include "../base/event.h"
#include "chunk.h"

#define ARENA_DEFAULT_SPARE 0.75
#define ARENA_DEFAULT_PAUSE_TIME 0.1

bool arena_class_check(ArenaClass klass)
{
  CHECKS(ARENA_CLASS_SIG, klass);
  CHECKL(klass->name != NULL);
  CHECKL(klass->create != NULL && klass->grow != NULL && klass->grow_header != NULL);
  CHECKL(klass->extend != NULL);
  CHECKL(klass->map != NULL && klass->unmap != NULL && klass->chunk_release != NULL);
  return true;
}

#if CHECK_LEVEL >= 2
/* The books (committed, spare_committed) against the chunk tables. */
static bool arena_books_agree(Arena arena)
{
  Ring node, next;
  Size mapped = 0, spare = 0;
  Addr prev_limit = addr_of_word(0);
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    Count unmapped = bt_count_res_range(chunk->mapped_table, 0, chunk->pages);
    Count unowned = bt_count_res_range(chunk->alloc_table, 0, chunk->pages);
    if (addr_word(chunk->base) < addr_word(prev_limit))
      return false;
    prev_limit = chunk->limit;
    mapped += chunk_pages_size(chunk, chunk->pages - unmapped);
    /* Unowned grains are committed or not; owned ones always are. */
    spare += chunk_pages_size(chunk, unowned - unmapped);
  }
  return mapped == arena->committed && spare == arena->spare_committed;
}
#define ARENA_BOOKS_CHECK(arena) AVER(arena_books_agree(arena))
#else
#define ARENA_BOOKS_CHECK(arena) ((void)(arena))
#endif

bool arena_check(Arena arena)
{
  CHECKS(ARENA_SIG, arena);
  CHECKD(arena_class, arena->klass);
  CHECKL(size_is_p2(arena->grain_size));                                     /* 1 */
  CHECKL(arena->grain_size == (Size)1 << arena->grain_shift);
  CHECKL(arena->spare_committed <= arena->committed);                        /* 2 */
  CHECKL(arena->committed <= arena->commit_limit);
  CHECKL(arena->spare >= 0.0 && arena->spare <= 1.0);                        /* 3 */
  CHECKL(arena->pause_time >= 0.0);
  CHECKL(arena->primary != NULL);                                            /* 4 */
  CHECKL(chunk_contains(arena->primary, addr_of_ptr(arena)));
  CHECKL(arena->klass->keeps_spare || arena->spare_committed == 0);          /* 5 */
  CHECKL(arena->state <= ARENA_POSTMORTEM);
  return true;
}

void arena_enter_claim(Arena arena)
{
  AVER(arena != NULL && arena->sig == ARENA_SIG);
  lock_claim(arena->lock);
  AVERT(arena, arena);
  arena->grown_at_entry = arena->grown;
  /* Only a collector scans threads; manual pools' slow paths skip the
   * spill. */
  if (arena->gc != NULL)
    thread_entry_save(&arena->entry);
}

void arena_leave(Arena arena)
{
  AVERT(arena, arena);
  AVER(arena->growth_barred == 0);
  if (arena->grown != arena->grown_at_entry)
    arena_release_grown(arena, arena->grown_at_entry);
  arena->entry.hot = NULL;
  lock_release(arena->lock);
}

Size arena_header_size(void)
{
  return size_align_up(sizeof(mps_arena_s), sizeof(Word)) + lock_size();
}

static Chunk arena_chunk_of_addr(Arena arena, Addr addr)
{
  Ring node, next;
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    if (chunk_contains(chunk, addr))
      return chunk;
  }
  return NULL;
}

void arena_chunk_attach(Arena arena, Chunk chunk)
{
  Ring node, next;
  AVERT(chunk, chunk);
  AVER(chunk->arena == NULL);
  /* Keep the ring in address order (arena_books_agree relies on it). */
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk other = PARENT(chunk_s, arena_ring, node);
    AVER(addr_word(chunk->limit) <= addr_word(other->base)
         || addr_word(other->limit) <= addr_word(chunk->base));
    if (addr_word(chunk->base) < addr_word(other->base))
      break;
  }
  ring_append(node, &chunk->arena_ring);   /* before `node`: see ring.h */
  chunk->arena = arena;
  arena->reserved += chunk->vm.sig == VM_SIG ? vm_reserved(&chunk->vm)
                                             : addr_offset(chunk->base, chunk->limit);
  arena->committed += chunk_pages_size(chunk, chunk->alloc_base);
  if (arena->sig == ARENA_SIG)
    ARENA_BOOKS_CHECK(arena);
  if (arena->extended != NULL && arena->sig == ARENA_SIG)
    arena->extended((mps_arena_t)arena, addr_ptr(chunk->base),
                    addr_offset(chunk->base, chunk->limit));
}

void arena_chunk_detach(Arena arena, Chunk chunk)
{
  Count unmapped;
  AVERT(chunk, chunk);
  AVER(chunk->arena == arena);
  /* Only the header may still be owned: every pool is gone. */
  AVER(bt_is_res_range(chunk->alloc_table, chunk->alloc_base, chunk->pages)
       || chunk->alloc_base == chunk->pages);
  unmapped = bt_count_res_range(chunk->mapped_table, 0, chunk->pages);
  arena->spare_committed -= chunk_pages_size(chunk, chunk->pages - unmapped - chunk->alloc_base);
  arena->committed -= chunk_pages_size(chunk, chunk->pages - unmapped);
  arena->reserved -= chunk->vm.sig == VM_SIG ? vm_reserved(&chunk->vm)
                                             : addr_offset(chunk->base, chunk->limit);
  if (arena->contracted != NULL)
    arena->contracted((mps_arena_t)arena, addr_ptr(chunk->base),
                      addr_offset(chunk->base, chunk->limit));
  if (arena->last_chunk == chunk)
    arena->last_chunk = NULL;
  ring_remove(&chunk->arena_ring);
  chunk->arena = NULL;
  if (arena->sig == ARENA_SIG)
    ARENA_BOOKS_CHECK(arena);
}

/* The arena across fork() (fork.h).  Before it, the forking thread claims
 * the lock, so that no other thread is inside the arena when the process
 * is copied; the parent then lets it go.  The child's copy of the lock
 * still looks held, by a thread that is not there, so it is made afresh.
 * The arena's structure is not checked: mps_arena_destroy invalidates it
 * before it deregisters (see there), and the lock is all this touches.
 *
 * A thread that forks from inside the arena (from a format method or a
 * walk's callback, holding the lock) is reported, in every variety, and
 * nothing else is done: the parent must not let go of a lock its caller still holds, and
 * in the child the same thread will return into the operation, which
 * still needs the lock and whatever state it left.  (The collector's
 * part, which would find the threads suspended, is skipped too: such a
 * child should do no more than exit or exec.) */
static void arena_fork(void *closure, ForkPhase phase)
{
  Arena arena = closure;
  if (phase == FORK_PREPARE) {
    arena->fork_claimed = !lock_is_held(arena->lock);
    if (!arena->fork_claimed)
      check_fail(__FILE__, (unsigned)__LINE__,
                 "fork() called from inside the arena (a callback with its lock held)");
  }
  if (!arena->fork_claimed)
    return;
  switch (phase) {
  case FORK_PREPARE:
    lock_claim(arena->lock);
    if (arena->gc_fork != NULL)
      arena->gc_fork(arena, phase);
    break;
  case FORK_PARENT:
    if (arena->gc_fork != NULL)
      arena->gc_fork(arena, phase);
    lock_release(arena->lock);
    break;
  case FORK_CHILD:
    lock_reset(arena->lock);
    if (arena->gc_fork != NULL)
      arena->gc_fork(arena, phase);
    break;
  }
}

Res arena_init(Arena arena, ArenaClass klass, Chunk primary, Size grain_size)
{
  Res res;
  AVERT(arena_class, klass);
  AVERT(chunk, primary);
  AVER(size_is_p2(grain_size));
  AVER(chunk_contains(primary, addr_of_ptr(arena)));

  arena->klass = klass;
  arena->lock = (Lock)(void *)((Byte *)arena + size_align_up(sizeof(mps_arena_s), sizeof(Word)));
  res = lock_init(arena->lock);
  if (res != MPS_RES_OK)
    return res;
  arena->grain_size = grain_size;
  arena->grain_shift = 0;
  while (((Size)1 << arena->grain_shift) < grain_size)
    ++arena->grain_shift;
  arena->reserved = 0;
  arena->committed = 0;
  arena->commit_limit = SIZE_MAX;
  arena->spare_committed = 0;
  arena->spare = ARENA_DEFAULT_SPARE;
  arena->pause_time = ARENA_DEFAULT_PAUSE_TIME;
  arena->extend_by = addr_offset(primary->base, primary->limit);
  ring_init(&arena->chunk_ring);
  ring_init(&arena->pool_ring);
  arena->pool_serial = 0;
  arena->control_size = 0;
  arena->grown = arena->grown_at_entry = 0;
  arena->growth_barred = 0;
  arena->state = ARENA_UNCLAMPED;
  arena->collections = 0;
  arena->fail_countdown = 0;
  arena->gc = NULL;
  arena->entry.hot = NULL;
  arena->gc_finish = NULL;
  arena->gc_fork = NULL;
  arena->fork_claimed = false;
  arena->last_chunk = NULL;
  arena->extended = NULL;
  arena->contracted = NULL;
  res = freelist_init(&arena->control, ARENA_CONTROL_ALIGN);
  if (res != MPS_RES_OK) {
    lock_finish(arena->lock);
    return res;
  }
  res = fork_register(&arena->fork, arena_fork, arena);
  if (res != MPS_RES_OK) {
    freelist_finish(&arena->control);
    lock_finish(arena->lock);
    return res;
  }
  arena->primary = primary;
  arena_chunk_attach(arena, primary);
  arena->sig = ARENA_SIG;
  return MPS_RES_OK;
}

/* The spare bits of word w of a chunk's tables: grains that no one owns
 * but that are still committed. */
static inline Word arena_spare_word(Chunk chunk, Index w)
{
  return chunk->mapped_table[w] & ~chunk->alloc_table[w];
}

/* The lowest run of spare grains that starts in [from, limit), clipped to
 * limit: a word at a time, so long stretches of owned or uncommitted
 * grains cost a word test each (arena_chunk_trim and the spare search
 * both used to step bit by bit, which dominated the benchmark's
 * instructions: docs/performance.md, third round). */
static bool arena_chunk_next_spare(Index *base_o, Index *limit_o, Chunk chunk,
                                   Index from, Index limit)
{
  Index i = from, w;
  Word m;
  if (i >= limit)
    return false;
  /* The first spare bit at or after i. */
  w = i >> WORD_SHIFT;
  m = arena_spare_word(chunk, w) & (WORD_ONES << (i & (WORD_WIDTH - 1)));
  while (m == 0) {
    ++w;
    if ((w << WORD_SHIFT) >= limit)
      return false;
    m = arena_spare_word(chunk, w);
  }
  i = (w << WORD_SHIFT) + (Index)word_lowest_bit(m);
  if (i >= limit)
    return false;
  *base_o = i;
  /* The first non-spare bit after it. */
  m = ~arena_spare_word(chunk, w) & (WORD_ONES << (i & (WORD_WIDTH - 1)));
  while (m == 0) {
    ++w;
    if ((w << WORD_SHIFT) >= limit) {
      *limit_o = limit;
      return true;
    }
    m = ~arena_spare_word(chunk, w);
  }
  i = (w << WORD_SHIFT) + (Index)word_lowest_bit(m);
  *limit_o = i < limit ? i : limit;
  return true;
}

/* The lowest run of `pages` spare grains in a chunk. */
static bool arena_chunk_find_spare(Index *base_o, Chunk chunk, Index from, Index to,
                                   Count pages)
{
  Index i = from, base, limit;
  while (arena_chunk_next_spare(&base, &limit, chunk, i, to)) {
    if (limit - base >= pages) {
      *base_o = base;
      return true;
    }
    i = limit;
  }
  return false;
}

void arena_fail_after(Arena arena, Count n)
{
  AVERT(arena, arena);
  arena->fail_countdown = n;
}

bool arena_injected_failure(Arena arena)
{
  if (arena->fail_countdown == 0)
    return false;
  return --arena->fail_countdown == 0;
}

/* Where arena_alloc_placed may put grains: anywhere, low or high, or
 * only in stripes of some zones. */
typedef struct arena_place_s {
  bool high;
  Word zones;          /* ~0: anywhere */
  Shift zone_shift;
} arena_place_s;

/* Whether the stripe holding addr has a zone in place->zones. */
static bool arena_in_zones(const arena_place_s *place, Addr addr)
{
  Index zone = (Index)((addr_word(addr) >> place->zone_shift) & (WORD_WIDTH - 1));
  return (place->zones & ((Word)1 << zone)) != 0;
}

/* The start of the stripe after the one holding a, or limit if that is
 * sooner (or the address space ends first). */
static Addr arena_stripe_next(Addr a, Word stripe, Addr limit)
{
  Word n = (addr_word(a) | (stripe - 1)) + 1;
  return n == 0 || n > addr_word(limit) ? limit : (Addr)(uintptr_t)n;
}

/* First fit of `pages` free grains of chunk lying wholly in runs of
 * stripes of the zones, or if `spare`, of spare grains (free and still
 * committed) there.  Stripes are whole grains (arena_alloc_zoned
 * checks), so a run's ends are grain boundaries. */
static bool arena_chunk_find_zoned(Index *base_o, Index *limit_o, Chunk chunk, Count pages,
                                   const arena_place_s *place, bool spare)
{
  Word stripe = (Word)1 << place->zone_shift;
  Addr a = chunk_page_base(chunk, chunk->alloc_base);
  while (addr_word(a) < addr_word(chunk->limit)) {
    Addr next = arena_stripe_next(a, stripe, chunk->limit);
    Index b, l;
    if (arena_in_zones(place, a)) {
      while (addr_word(next) < addr_word(chunk->limit) && arena_in_zones(place, next))
        next = arena_stripe_next(next, stripe, chunk->limit);
      b = chunk_index(chunk, a);
      l = chunk_index(chunk, next);
      if (l - b >= pages && spare && arena_chunk_find_spare(base_o, chunk, b, l, pages)) {
        *limit_o = *base_o + pages;
        return true;
      }
      if (l - b >= pages && !spare
          && bt_find_short_res_range(base_o, limit_o, chunk->alloc_table, b, l, pages))
        return true;
    }
    a = next;
  }
  return false;
}

/* Find `pages` free grains: first fit over the chunks in address order,
 * or, if `high`, the highest such grains (chunks in reverse order, the
 * highest run in each), for pools that ask for high addresses; or the
 * first fit in the zones of a zoned placement. */
static bool arena_find_free(Chunk *chunk_o, Index *base_o, Index *limit_o,
                            Arena arena, Count pages, const arena_place_s *place)
{
  bool high = place->high;
  Ring node = high ? ring_prev(&arena->chunk_ring) : ring_next(&arena->chunk_ring);
  /* Low placement prefers spare grains that hold the request whole: they
   * need no commit, so no fresh page faults and no giving up of other
   * spare memory to stand in for them (see arena_alloc_placed).  High
   * placement is a pool's documented policy and keeps strict order. */
  /* Zoned placement prefers spare grains in its zones for the same
   * reason.  Without that, a collector's segment committed fresh grains
   * and arena_alloc_placed gave up as much spare memory elsewhere: on AMC
   * mutate (bench/gc), 4,600 commits and 3,000 trims, each paid again in
   * page faults (docs/performance.md, the spare zones round). */
  if (place->zones != ~(Word)0) {
    bool spare = arena->spare_committed >= ((Size)pages << arena->grain_shift);
    for (;;) {
      Ring n, next;
      RING_FOR(n, &arena->chunk_ring, next) {
        Chunk chunk = PARENT(chunk_s, arena_ring, n);
        if (chunk->pages - chunk->alloc_base >= pages
            && arena_chunk_find_zoned(base_o, limit_o, chunk, pages, place, spare)) {
          *chunk_o = chunk;
          return true;
        }
      }
      if (!spare)
        return false;
      spare = false;
    }
  }
  if (!high && arena->spare_committed >= ((Size)pages << arena->grain_shift)) {
    Ring n, next;
    RING_FOR(n, &arena->chunk_ring, next) {
      Chunk chunk = PARENT(chunk_s, arena_ring, n);
      Index base;
      if (chunk->pages - chunk->alloc_base >= pages
          && arena_chunk_find_spare(&base, chunk, chunk->alloc_base, chunk->pages, pages)) {
        *chunk_o = chunk;
        *base_o = base;
        *limit_o = base + pages;
        return true;
      }
    }
  }
  for (; node != &arena->chunk_ring; node = high ? ring_prev(node) : ring_next(node)) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    bool found;
    if (chunk->pages - chunk->alloc_base < pages)
      continue;
    if (high)
      found = bt_find_short_res_range_high(base_o, limit_o, chunk->alloc_table,
                                           chunk->alloc_base, chunk->pages, pages);
    else
      found = bt_find_short_res_range(base_o, limit_o, chunk->alloc_table,
                                      chunk->alloc_base, chunk->pages, pages);
    if (found) {
      *chunk_o = chunk;
      return true;
    }
  }
  return false;
}

/* Decommit committed grains that no one owns in [base, limit) of a
 * chunk, up to `want` bytes, lowest first; returns the bytes given up. */
static Size arena_chunk_trim(Arena arena, Chunk chunk, Index base, Index limit, Size want)
{
  Size done = 0;
  Index i = base, mb, ml;
  while (done < want && arena_chunk_next_spare(&mb, &ml, chunk, i, limit)) {
    Size size = chunk_pages_size(chunk, ml - mb);
    if (size > want - done) {
      ml = mb + ((want - done + chunk_pages_size(chunk, 1) - 1) >> chunk->grain_shift);
      size = chunk_pages_size(chunk, ml - mb);
    }
    arena->klass->unmap(chunk, mb, ml);
    bt_res_range(chunk->mapped_table, mb, ml);
    arena->committed -= size;
    arena->spare_committed -= size;
    done += size;
    i = ml;
  }
  return done;
}

void arena_spare_trim(Arena arena, Size target)
{
  Ring node, next;
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    if (arena->spare_committed <= target)
      break;
    (void)arena_chunk_trim(arena, chunk, chunk->alloc_base, chunk->pages,
                           arena->spare_committed - target);
  }
}

/* When spare memory is over its bound, it is cut to this much below the
 * bound (1/8 of it), not to the bound: a shrinking heap then gives memory
 * back in a few batches instead of a grain or two at every free (on
 * bench/bench.c, 26 trims instead of 2,355 and 3,290 unmappings instead of
 * 5,388 for the same bytes; docs/performance.md, sixth round). */
#define ARENA_SPARE_SLACK_SHIFT 3

/* Keep spare memory within the spare fraction f of committed memory.
 * Giving up spare memory shrinks committed memory too, so the target is
 * computed from the memory in use, u = committed - spare: s / (u + s) <= f
 * exactly when s <= f u / (1 - f). */
static void arena_spare_enforce(Arena arena)
{
  Size used = arena->committed - arena->spare_committed;
  double target;
  if (!arena->klass->keeps_spare)
    target = 0.0;
  else if (arena->spare >= 1.0)
    return;
  else
    target = arena->spare * (double)used / (1.0 - arena->spare);
  if ((double)arena->spare_committed > target) {
    Size bound = (Size)target;
    arena_spare_trim(arena, bound - (bound >> ARENA_SPARE_SLACK_SHIFT));
  }
}

/* Commit the uncommitted grains of [base, limit).  The mapped_table is
 * updated only once everything has succeeded, so that on failure the
 * stretches mapped so far can be found again and unmapped. */
static Res arena_commit_range(Arena arena, Chunk chunk, Index base, Index limit)
{
  Index i = base, fb, fl;
  Res res = MPS_RES_OK;
  while (i < limit && bt_find_long_res_range(&fb, &fl, chunk->mapped_table, i, limit, 1)) {
    /* An injected failure stands for the system refusing to commit. */
    res = arena_injected_failure(arena) ? MPS_RES_MEMORY : arena->klass->map(chunk, fb, fl);
    if (res != MPS_RES_OK)
      break;
    i = fl;
  }
  if (res != MPS_RES_OK) {
    Index stop = fb;   /* the stretch that failed: everything before it was mapped */
    i = base;
    while (i < stop && bt_find_long_res_range(&fb, &fl, chunk->mapped_table, i, stop, 1)) {
      arena->klass->unmap(chunk, fb, fl);
      i = fl;
    }
    return res;
  }
  bt_set_range(chunk->mapped_table, base, limit);
  return MPS_RES_OK;
}

static Res arena_alloc_placed(Addr *base_o, Arena arena, Size size, Pool pool,
                              const arena_place_s *place)
{
  static const arena_place_s anywhere = {false, ~(Word)0, 0};
  Chunk chunk, grown = NULL;
  Index base, limit, i;
  Count pages, unmapped;
  Size need, room, header;
  Res res;

  AVER(base_o != NULL);
  AVERT(arena, arena);
  AVER(size > 0);
  AVER(size_is_aligned(size, arena->grain_size));

  if (arena_injected_failure(arena))
    return MPS_RES_MEMORY;
  pages = size >> arena->grain_shift;
  /* A zoned placement falls back to any grains before the arena grows:
   * address space is cheap, but a chunk grown for zones alone would
   * leave most of itself unused. */
  if (!arena_find_free(&chunk, &base, &limit, arena, pages, place)
      && (place->zones == ~(Word)0
          || !arena_find_free(&chunk, &base, &limit, arena, pages, &anywhere))) {
    if (arena->growth_barred > 0)
      return MPS_RES_RESOURCE;
    /* A new chunk's header and grains all need committing: if even giving
     * up every spare grain would not make room, do not grow for nothing. */
    room = arena->commit_limit - arena->committed + arena->spare_committed;
    header = arena->klass->grow_header(arena, size);
    if (header > room || size > room - header)
      return MPS_RES_COMMIT_LIMIT;
    /* An injected failure stands for the system refusing address space. */
    res = arena_injected_failure(arena) ? MPS_RES_RESOURCE
                                        : arena->klass->grow(&grown, arena, size);
    if (res != MPS_RES_OK)
      return res;
    grown->grown = ++arena->grown;
    if (!arena_find_free(&chunk, &base, &limit, arena, pages, place)
        && (place->zones == ~(Word)0
            || !arena_find_free(&chunk, &base, &limit, arena, pages, &anywhere))) {
      res = MPS_RES_RESOURCE;
      goto failGrown;
    }
  }

  /* Claim the grains first so that trimming spare memory leaves them be. */
  unmapped = bt_count_res_range(chunk->mapped_table, base, limit);
  need = chunk_pages_size(chunk, unmapped);
  bt_set_range(chunk->alloc_table, base, limit);
  arena->spare_committed -= size - need;

  /* Spare memory stands in for fresh memory, never beside it: when these
   * grains need committing although spare grains are committed elsewhere
   * (too few or too scattered to hold the request), give up as much spare
   * memory first, so that committed memory grows only with the memory in
   * use.  Otherwise a pool whose requests do not fit the holes it left
   * would keep both the holes and the fresh grains (docs/performance.md). */
  if (need > 0 && arena->spare_committed > 0)
    arena_spare_trim(arena, arena->spare_committed - size_min(need, arena->spare_committed));

  if (need > 0) {
    if (need > arena->commit_limit - arena->committed) {
      Size over = need - (arena->commit_limit - arena->committed);
      if (over <= arena->spare_committed)
        arena_spare_trim(arena, arena->spare_committed - over);
      if (need > arena->commit_limit - arena->committed) {
        res = MPS_RES_COMMIT_LIMIT;
        goto failCommit;
      }
    }
    res = arena_commit_range(arena, chunk, base, limit);
    if (res != MPS_RES_OK)
      goto failCommit;
    arena->committed += need;
  }

  for (i = base; i < limit; ++i) {
    chunk->tracts[i].pool = pool;
    chunk->tracts[i].p = NULL;
  }
  *base_o = chunk_page_base(chunk, base);
  ARENA_BOOKS_CHECK(arena);
  return MPS_RES_OK;

failCommit:
  bt_res_range(chunk->alloc_table, base, limit);
  arena->spare_committed += size - need;
failGrown:
  /* A chunk grown for this allocation goes back, so failure changes
   * nothing but, perhaps, the amount of spare memory. */
  if (grown != NULL) {
    arena_chunk_detach(arena, grown);
    arena->klass->chunk_release(grown);
  }
  ARENA_BOOKS_CHECK(arena);
  return res;
}

Res arena_alloc(Addr *base_o, Arena arena, Size size, Pool pool)
{
  arena_place_s place = {false, ~(Word)0, 0};
  return arena_alloc_placed(base_o, arena, size, pool, &place);
}

Res arena_alloc_high(Addr *base_o, Arena arena, Size size, Pool pool)
{
  arena_place_s place = {true, ~(Word)0, 0};
  return arena_alloc_placed(base_o, arena, size, pool, &place);
}

Res arena_alloc_zoned(Addr *base_o, Arena arena, Size size, Pool pool, Word zones,
                      Shift zone_shift)
{
  arena_place_s place = {false, zones, zone_shift};
  AVER(zone_shift < WORD_WIDTH);
  /* Stripes smaller than a grain, or no zones at all: no preference. */
  if (zone_shift < arena->grain_shift || zones == 0)
    place.zones = ~(Word)0;
  return arena_alloc_placed(base_o, arena, size, pool, &place);
}

void arena_free(Arena arena, Addr base, Size size, Pool pool)
{
  Addr limit;

  AVERT(arena, arena);
  AVER(size > 0);
  AVER(addr_is_aligned(base, arena->grain_size));
  AVER(size_is_aligned(size, arena->grain_size));
  limit = addr_add(base, size);
  /* Chunks can be adjacent in the address space, and a pool may have
   * merged memory from two of them, so free chunk by chunk. */
  while (addr_word(base) < addr_word(limit)) {
    Chunk chunk = arena_chunk_of_addr(arena, base);
    Addr part_limit;
    Index b, l, i;
    AVER(chunk != NULL);
    if (chunk == NULL)
      return;
    part_limit = addr_min(limit, chunk->limit);
    b = chunk_index(chunk, base);
    l = chunk_index(chunk, addr_sub(part_limit, 1)) + 1;
    AVER(b >= chunk->alloc_base);
    AVER(bt_is_set_range(chunk->alloc_table, b, l));
    for (i = b; i < l; ++i) {
      AVER(chunk->tracts[i].pool == pool);
      chunk->tracts[i].pool = NULL;
      chunk->tracts[i].p = NULL;
    }
    bt_res_range(chunk->alloc_table, b, l);
    arena->spare_committed += addr_offset(base, part_limit);
    base = part_limit;
  }
  arena_spare_enforce(arena);
  ARENA_BOOKS_CHECK(arena);
}

/* The first run of whole grains of free control memory in `chunk`. */
typedef struct arena_control_find_s {
  Chunk chunk;
  Size grain;
  bool found;
  range_s grains;
} arena_control_find_s;

static bool arena_control_find_visit(Land land, Range range, void *closure)
{
  arena_control_find_s *f = closure;
  Addr base = range_base(range), limit = range_limit(range);
  UNUSED(land);
  if (addr_word(base) < addr_word(f->chunk->base))
    base = f->chunk->base;
  if (addr_word(limit) > addr_word(f->chunk->limit))
    limit = f->chunk->limit;
  base = addr_align_up(base, f->grain);
  limit = addr_align_down(limit, f->grain);
  if (addr_word(base) < addr_word(limit)) {
    range_init(&f->grains, base, limit);
    f->found = true;
    return false;
  }
  return true;
}

void arena_release_grown(Arena arena, Count mark)
{
  Ring node, next;
  AVERT(arena, arena);
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    arena_control_find_s f;
    if (chunk->grown <= mark)
      continue;
    f.chunk = chunk;
    f.grain = arena->grain_size;
    for (;;) {
      range_s old;
      Res res;
      f.found = false;
      (void)land_iterate(freelist_land(&arena->control), arena_control_find_visit, &f);
      if (!f.found)
        break;
      /* A freelist keeps its records in the free memory: deleting never
       * needs any. */
      res = land_delete(&old, freelist_land(&arena->control), &f.grains);
      AVER(res == MPS_RES_OK);
      UNUSED(res);
      arena_free(arena, range_base(&f.grains), range_size(&f.grains), NULL);
      arena->control_size -= range_size(&f.grains);
    }
    if (bt_is_res_range(chunk->alloc_table, chunk->alloc_base, chunk->pages)) {
      /* Detaching takes its spare grains off the books; releasing unmaps. */
      arena_chunk_detach(arena, chunk);
      arena->klass->chunk_release(chunk);
    }
  }
  ARENA_BOOKS_CHECK(arena);
}

Tract arena_tract_of_addr(Arena arena, Addr addr)
{
  Chunk chunk = arena->last_chunk;
  Tract tract;
  if (chunk == NULL || !chunk_contains(chunk, addr)) {
    chunk = arena_chunk_of_addr(arena, addr);
    if (chunk == NULL)
      return NULL;
    arena->last_chunk = chunk;  /* references tend to cluster by chunk */
  }
  tract = &chunk->tracts[chunk_index(chunk, addr)];
  return tract->pool != NULL ? tract : NULL;
}

void arena_primary_table(arena_tract_table_s *table_o, Arena arena)
{
  Chunk chunk = arena->primary;
  AVERT(arena, arena);
  table_o->base = chunk->base;
  table_o->limit = chunk->limit;
  table_o->grain_shift = chunk->grain_shift;
  table_o->tracts = chunk->tracts;
}

Pool arena_pool_of_addr(Arena arena, Addr addr)
{
  Chunk chunk = arena_chunk_of_addr(arena, addr);
  Index i;
  if (chunk == NULL)
    return NULL;
  i = chunk_index(chunk, addr);
  if (!bt_get(chunk->alloc_table, i))
    return NULL;
  return chunk->tracts[i].pool;
}

bool arena_has_addr(Arena arena, Addr addr)
{
  return arena_chunk_of_addr(arena, addr) != NULL;
}

Res arena_control_alloc(void **p_o, Arena arena, Size size)
{
  range_s found, block;
  Land land = freelist_land(&arena->control);
  Res res;

  AVER(p_o != NULL);
  AVERT(arena, arena);
  AVER(size > 0);
  if (arena_injected_failure(arena))
    return MPS_RES_MEMORY;
  size = size_align_up(size, ARENA_CONTROL_ALIGN);
  if (!land_find_first(&found, &block, land, size, LAND_FIND_DELETE_LOW)) {
    /* Take more grains for control memory and try again. */
    Size grains = size_align_up(size, arena->grain_size);
    Addr base;
    range_s more;
    res = arena_alloc(&base, arena, grains, NULL);
    if (res != MPS_RES_OK)
      return res;
    range_init_size(&more, base, grains);
    res = land_insert(&block, land, &more);
    AVER(res == MPS_RES_OK);   /* a freelist never needs memory */
    arena->control_size += grains;
    if (!land_find_first(&found, &block, land, size, LAND_FIND_DELETE_LOW)) {
      NOTREACHED;
      return MPS_RES_FAIL;
    }
  }
  *p_o = addr_ptr(range_base(&found));
  return MPS_RES_OK;
}

void arena_control_free(Arena arena, void *p, Size size)
{
  range_s range, block;
  Res res;
  AVERT(arena, arena);
  AVER(p != NULL);
  AVER(size > 0);
  range_init_size(&range, addr_of_ptr(p), size_align_up(size, ARENA_CONTROL_ALIGN));
  res = land_insert(&block, freelist_land(&arena->control), &range);
  AVER(res == MPS_RES_OK);
  UNUSED(res);
}

/* Give back the control grains when the arena is destroyed: every control
 * block must have been freed, so each free range is whole grains. */
static bool arena_control_release_visit(bool *delete_return, Land land, Range range, void *closure)
{
  Arena arena = closure;
  UNUSED(land);
  AVER(range_is_aligned(range, arena->grain_size));
  arena_free(arena, range_base(range), range_size(range), NULL);
  arena->control_size -= range_size(range);
  *delete_return = true;
  return true;
}

/* Public interface */

mps_res_t mps_arena_create_k(mps_arena_t *arena_o, mps_arena_class_t arena_class,
                             mps_arg_s args[])
{
  Arena arena;
  ArenaClass klass = arena_class;
  mps_arg_s arg;
  Size size = 0, grain_size = 0;
  Res res;

  AVER(arena_o != NULL);
  AVERT(arena_class, klass);
  AVERT(args, args);

  if (args_pick(&arg, args, MPS_KEY_ARENA_SIZE))
    size = arg.val.size;
  if (args_pick(&arg, args, MPS_KEY_ARENA_GRAIN_SIZE)) {
    grain_size = arg.val.size;
    if (!size_is_p2(grain_size))
      return MPS_RES_PARAM;
  }
  res = klass->create(&arena, size, grain_size, args);
  if (res != MPS_RES_OK)
    return res;
  {
    Word words[2];
    words[0] = (Word)(uintptr_t)arena;
    words[1] = (Word)arena->reserved;
    event_emit(EVENT_CAT_ARENA, EVENT_ARENA_CREATE, 2, words);
  }

  if (args_pick(&arg, args, MPS_KEY_SPARE)) {
    if (!(arg.val.d >= 0.0 && arg.val.d <= 1.0)) {
      res = MPS_RES_PARAM;
      goto failArgs;
    }
    arena->spare = arg.val.d;
  }
  if (args_pick(&arg, args, MPS_KEY_PAUSE_TIME)) {
    if (!(arg.val.d >= 0.0)) {
      res = MPS_RES_PARAM;
      goto failArgs;
    }
    arena->pause_time = arg.val.d;
  }
  if (args_pick(&arg, args, MPS_KEY_COMMIT_LIMIT)) {
    if (arg.val.size < arena->committed) {
      res = MPS_RES_COMMIT_LIMIT;
      goto failArgs;
    }
    arena->commit_limit = arg.val.size;
  }
  /* Deprecated: the spare limit in bytes relative to the commit limit. */
  if (args_pick(&arg, args, MPS_KEY_SPARE_COMMIT_LIMIT))
    arena->spare = arg.val.size >= arena->commit_limit
                   ? 1.0 : (double)arg.val.size / (double)arena->commit_limit;
  if (args_pick(&arg, args, MPS_KEY_ARENA_EXTENDED))
    arena->extended = (mps_arena_extended_t)arg.val.fun;
  if (args_pick(&arg, args, MPS_KEY_ARENA_CONTRACTED))
    arena->contracted = (mps_arena_contracted_t)arg.val.fun;
  /* Creation counts as the first extension (topic/arena.rst). */
  if (arena->extended != NULL)
    arena->extended((mps_arena_t)arena, addr_ptr(arena->primary->base),
                    addr_offset(arena->primary->base, arena->primary->limit));
  AVERT(arena, arena);
  *arena_o = (mps_arena_t)arena;
  return MPS_RES_OK;

failArgs:
  arena->contracted = NULL;
  mps_arena_destroy((mps_arena_t)arena);
  return res;
}

void mps_arena_destroy(mps_arena_t arena)
{
  Ring node, next;
  Chunk primary;
  ArenaClass klass;

  arena_enter(arena);
  /* Everything made in the arena must have been destroyed first
   * (arena.rst).  If not, the destruction is refused after the report,
   * so that the client's handles stay good and it can clean up and try
   * again (user-guide.md, varieties).  Pools are checked here, and with
   * them their allocation points; the collector checks the rest. */
  AVER(ring_is_single(&arena->pool_ring));
  if (!ring_is_single(&arena->pool_ring)) {
    arena_leave(arena);
    return;
  }
  /* The collector checks that its roots, formats, chains and threads were
   * destroyed, and gives back its control memory. */
  if (arena->gc_finish != NULL && !arena->gc_finish(arena)) {
    arena_leave(arena);
    return;
  }
  AVER(arena->gc == NULL);
  (void)land_iterate_and_delete(freelist_land(&arena->control),
                                arena_control_release_visit, arena);
  AVER(arena->control_size == 0);
  freelist_finish(&arena->control);
  arena->spare = 0.0;
  arena_spare_trim(arena, 0);
  ARENA_BOOKS_CHECK(arena);

  /* Release every chunk but the primary, which holds the arena itself. */
  klass = arena->klass;
  primary = arena->primary;
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    if (chunk == primary)
      continue;
    arena_chunk_detach(arena, chunk);
    klass->chunk_release(chunk);
  }
  arena_chunk_detach(arena, primary);
  ring_finish(&arena->chunk_ring);
  ring_finish(&arena->pool_ring);
  arena->sig = SIG_INVALID;
  lock_release(arena->lock);
  /* Only now, holding no arena lock (fork.h: lock order).  Until the
   * deregistration, a fork may still claim and release the lock. */
  fork_deregister(&arena->fork);
  lock_finish(arena->lock);
  klass->chunk_release(primary);
  {
    Word word = (Word)(uintptr_t)arena;
    event_emit(EVENT_CAT_ARENA, EVENT_ARENA_DESTROY, 1, &word);
  }
  /* telemetry.rst: destroying the arenas is what flushes the stream. */
  event_flush();
}

mps_res_t mps_arena_extend(mps_arena_t arena, mps_addr_t base, size_t size)
{
  Res res;
  arena_enter(arena);
  AVER(base != NULL);
  AVER(size > 0);
  /* The class would lay a chunk out at address zero: refused. */
  if (base == NULL || size == 0) {
    arena_leave(arena);
    return MPS_RES_PARAM;
  }
  res = arena->klass->extend(arena, addr_of_ptr(base), size);
  arena_leave(arena);
  return res;
}

size_t mps_arena_commit_limit(mps_arena_t arena)
{
  size_t limit;
  arena_enter(arena);
  limit = arena->commit_limit;
  arena_leave(arena);
  return limit;
}

mps_res_t mps_arena_commit_limit_set(mps_arena_t arena, size_t limit)
{
  Res res = MPS_RES_OK;
  arena_enter(arena);
  if (limit < arena->committed) {
    /* Only spare memory can be given up to make room. */
    Size excess = arena->committed - limit;
    if (excess <= arena->spare_committed)
      arena_spare_trim(arena, arena->spare_committed - excess);
  }
  if (limit >= arena->committed)
    arena->commit_limit = limit;
  else
    res = MPS_RES_FAIL;
  ARENA_BOOKS_CHECK(arena);
  arena_leave(arena);
  return res;
}

size_t mps_arena_committed(mps_arena_t arena)
{
  size_t committed;
  arena_enter(arena);
  committed = arena->committed;
  arena_leave(arena);
  return committed;
}

size_t mps_arena_reserved(mps_arena_t arena)
{
  size_t reserved;
  arena_enter(arena);
  reserved = arena->reserved;
  arena_leave(arena);
  return reserved;
}

double mps_arena_spare(mps_arena_t arena)
{
  double spare;
  arena_enter(arena);
  spare = arena->spare;
  arena_leave(arena);
  return spare;
}

void mps_arena_spare_set(mps_arena_t arena, double spare)
{
  arena_enter(arena);
  AVER(spare >= 0.0 && spare <= 1.0);
  if (spare >= 0.0 && spare <= 1.0) {
    arena->spare = spare;
    arena_spare_enforce(arena);
  }
  ARENA_BOOKS_CHECK(arena);
  arena_leave(arena);
}

size_t mps_arena_spare_committed(mps_arena_t arena)
{
  size_t spare;
  arena_enter(arena);
  spare = arena->spare_committed;
  arena_leave(arena);
  return spare;
}

double mps_arena_pause_time(mps_arena_t arena)
{
  double t;
  arena_enter(arena);
  t = arena->pause_time;
  arena_leave(arena);
  return t;
}

void mps_arena_pause_time_set(mps_arena_t arena, double pause_time)
{
  arena_enter(arena);
  AVER(pause_time >= 0.0);
  if (pause_time >= 0.0)
    arena->pause_time = pause_time;
  arena_leave(arena);
}

mps_bool_t mps_arena_has_addr(mps_arena_t arena, mps_addr_t addr)
{
  bool has;
  AVER(arena != NULL && arena->sig == ARENA_SIG);
  /* A recursive claim, as in the original: its clients ask from a heap
   * walk's stepper, which runs with the arena's lock held.  Nothing here
   * allocates, so the rest of arena_enter is not needed. */
  lock_claim_recursive(arena->lock);
  AVERT(arena, arena);
  has = arena_has_addr(arena, addr_of_ptr(addr));
  lock_release_recursive(arena->lock);
  return has;
}

/* The arena states and collection functions (mps_arena_clamp, park,
 * release, postmortem, collect, start_collect, step) are the tracer's:
 * src/gc/trace.c. */

mps_bool_t mps_arena_busy(mps_arena_t arena)
{
  /* Documented for use from a debugger or signal handler: no lock. */
  AVER(arena != NULL && arena->sig == ARENA_SIG);
  return lock_is_held(arena->lock) ? 1 : 0;
}
