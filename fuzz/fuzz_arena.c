/* fuzz_arena: arena grain allocation -- low, high and zoned -- and control
 * memory, interleaved with commit-limit, spare and pause-time changes,
 * (for client arenas) extension, creation with every option, and client
 * errors, against a model of the live blocks and of the chunks the arena
 * said it gained and lost (the extended/contracted callbacks).  An op 11
 * whose op byte has bits 5-7 010 arms arena_fail_after with a small
 * count from its argument (0 disarms), so that the arena refuses one of
 * its next requests for memory: the call of an allocation of grains or
 * control memory, a growth, a stretch committed, or inside making a pool
 * or a chain (op 10).
 *
 * Refusals: an operation fails with no memory or (where it had to grow)
 * no address space only if the countdown reached zero during it, and
 * otherwise only for a real shortage (no address space, or a commit
 * limit the input set).  One that was refused changed nothing -- no
 * grain changed owner, no chunk kept, no control grains taken for control
 * memory, no pool or chain left behind -- and is made once more at once,
 * which must be served as the model predicts.  An allocation of grains
 * that succeeds counted down exactly its call, its growth and its
 * stretches committed (arena.h), and one of control memory that fit its
 * call alone; a refusal falling on an allocation of either is never made
 * good, though making a chain may absorb one (the collector does without
 * its telemetry queue).  Frees, limits, extension and destruction count
 * nothing.  The refusal is disarmed before the teardown.
 *
 * Input: byte 0 chooses the arena class and its size; then each operation
 * is an op byte and an argument byte (the zoned allocation takes one more).
 * Every allocation's placement is checked against a brute-force search of
 * a snapshot of the chunks' tables taken before it: the lowest fit
 * (spare grains first, when there is enough spare memory), the highest
 * fit, or the lowest fit lying wholly in the requested zones, falling back
 * to the lowest fit anywhere only when no zoned fit exists (arena.h).  A
 * failed allocation must leave every grain's owner as it was.
 *
 * After every operation: the arena's own check (in cool, its books against
 * the chunk tables), every live block and control block inside the arena,
 * in a chunk the arena reported, disjoint from the others, owned by its
 * pool (control memory by none), contents intact; the owned grains exactly
 * the live blocks' plus the control grains; committed <= commit limit,
 * spare <= committed, spare within the spare fraction for VM arenas and
 * zero for client arenas, owned memory (committed less spare) at least the
 * live bytes.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsacl.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvff.h"
#include "../src/arena/chunk.h"
#include "../src/gc/gc.h"
#include "support/model.h"
#include "support/reports.h"
#include "support/refusal.h"

#define FUZZ_ARENA_LIVE 64
#define FUZZ_ARENA_CONTROL 32
#define FUZZ_ARENA_BLOCKS 8
#define FUZZ_ARENA_EXTENTS 1024
#define FUZZ_ARENA_SNAP 64

/* Two stand-in pools, so that a grain handed to the wrong one shows. */
static int fuzz_arena_owners[2];
#define FUZZ_OWNER(k) ((Pool)(void *)&fuzz_arena_owners[(k) & 1])

typedef struct live_s {
  Addr base;
  Size size;
  Pool owner;
  unsigned char fill;
} live_s;

typedef struct control_s {
  void *p;
  Size size;
  unsigned char fill;
} control_s;

/* A chunk the arena reported through its callbacks. */
typedef struct extent_s {
  mps_arena_t arena;
  Addr base;
  Size size;
} extent_s;

static live_s live[FUZZ_ARENA_LIVE];
static size_t nlive;
static control_s control[FUZZ_ARENA_CONTROL];
static size_t ncontrol;
static extent_s extents[FUZZ_ARENA_EXTENTS];
static size_t nextents;
static unsigned long contractions;

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

static void fa_extended(mps_arena_t arena, void *base, size_t size)
{
  REQUIRE(nextents < FUZZ_ARENA_EXTENTS);
  extents[nextents].arena = arena;
  extents[nextents].base = addr_of_ptr(base);
  extents[nextents].size = size;
  ++nextents;
}

/* Only what was reported as gained may be reported as lost, exactly. */
static void fa_contracted(mps_arena_t arena, void *base, size_t size)
{
  size_t i;
  for (i = 0; i < nextents; ++i)
    if (extents[i].arena == arena && extents[i].base == addr_of_ptr(base)
        && extents[i].size == size) {
      extents[i] = extents[--nextents];
      ++contractions;
      return;
    }
  abort();
}

FUZZ_MODEL static size_t extents_of(mps_arena_t arena, Size *total_o)
{
  size_t i, n = 0;
  Size total = 0;
  for (i = 0; i < nextents; ++i)
    if (extents[i].arena == arena) {
      ++n;
      total += extents[i].size;
    }
  if (total_o != NULL)
    *total_o = total;
  return n;
}

FUZZ_MODEL static bool in_extent(mps_arena_t arena, Addr base, Size size)
{
  size_t i;
  for (i = 0; i < nextents; ++i)
    if (extents[i].arena == arena
        && addr_word(extents[i].base) <= addr_word(base)
        && addr_word(base) + size <= addr_word(extents[i].base) + extents[i].size)
      return true;
  return false;
}

/* A block's contents are its fill byte at eight sample points and its
 * last byte.  Filling it all would fault in every page of blocks of
 * several MiB, which cost most of a run and tests nothing more: overlap
 * is the model's to find, and the samples show a block handed out twice
 * or unmapped under its owner. */
FUZZ_MODEL static void set_fill(unsigned char *p, Size size, unsigned char fill)
{
  Size step = size / 7 + 1, i;
  for (i = 0; i < size; i += step)
    p[i] = fill;
  p[size - 1] = fill;
}

FUZZ_MODEL static void check_fill(const unsigned char *p, Size size, unsigned char fill)
{
  Size step = size / 7 + 1, i;
  for (i = 0; i < size; i += step)
    REQUIRE(p[i] == fill);
  REQUIRE(p[size - 1] == fill);
}

FUZZ_MODEL static Size live_bytes(void)
{
  Size total = 0;
  size_t i;
  for (i = 0; i < nlive; ++i)
    total += live[i].size;
  return total;
}

FUZZ_MODEL static Size control_bytes(void)
{
  Size total = 0;
  size_t i;
  for (i = 0; i < ncontrol; ++i)
    total += size_align_up(control[i].size, ARENA_CONTROL_ALIGN);
  return total;
}

/* A bit of a chunk table, read by the model itself. */
FUZZ_MODEL static unsigned table_bit(const Word *table, Index i)
{
  return (unsigned)(table[i >> WORD_SHIFT] >> (i & (WORD_WIDTH - 1))) & 1;
}

FUZZ_MODEL static bool disjoint(Addr a, Size as, Addr b, Size bs)
{
  return addr_word(a) + as <= addr_word(b) || addr_word(b) + bs <= addr_word(a);
}

/* Owned grains of a chunk past its header, a word of the table at a time. */
FUZZ_MODEL static Count owned_grains(Chunk chunk)
{
  Count n = 0;
  Index i = chunk->alloc_base;
  for (; i < chunk->pages && (i & (WORD_WIDTH - 1)) != 0; ++i)
    n += table_bit(chunk->alloc_table, i);
  for (; i + WORD_WIDTH <= chunk->pages; i += WORD_WIDTH)
    n += (Count)__builtin_popcountll((unsigned long long)chunk->alloc_table[i >> WORD_SHIFT]);
  for (; i < chunk->pages; ++i)
    n += table_bit(chunk->alloc_table, i);
  return n;
}

FUZZ_MODEL static int control_cmp(const void *x, const void *y)
{
  Word a = addr_word(addr_of_ptr(((const control_s *)x)->p));
  Word b = addr_word(addr_of_ptr(((const control_s *)y)->p));
  return a < b ? -1 : a > b;
}

FUZZ_MODEL static bool in_live(Addr addr)
{
  size_t i;
  for (i = 0; i < nlive; ++i)
    if (addr_word(live[i].base) <= addr_word(addr)
        && addr_word(addr) < addr_word(live[i].base) + live[i].size)
      return true;
  return false;
}

/* The lowest free control memory of `size` bytes as the model sees it
 * (first fit over the control grains -- owned grains in no live block --
 * less the control blocks, adjacent grains running together), or NULL. */
FUZZ_MODEL static Addr control_fit(Arena arena, Size size)
{
  control_s sorted[FUZZ_ARENA_CONTROL];
  Ring node, next;
  Word lo = 0, hi = 0, found = 0;
  size_t k = 0;
  memcpy(sorted, control, ncontrol * sizeof *sorted);
  qsort(sorted, ncontrol, sizeof *sorted, control_cmp);
  /* Look in [lo, hi) for a gap between the control blocks. */
#define FA_RUN_DONE() do { \
    Word cur_ = lo; \
    for (; k < ncontrol && addr_word(addr_of_ptr(sorted[k].p)) < hi; ++k) { \
      Word b_ = addr_word(addr_of_ptr(sorted[k].p)); \
      if (found == 0 && b_ >= cur_ && b_ - cur_ >= size) found = cur_; \
      cur_ = b_ + size_align_up(sorted[k].size, ARENA_CONTROL_ALIGN); \
    } \
    if (found == 0 && hi > cur_ && hi - cur_ >= size) found = cur_; \
  } while (0)
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    Index i;
    for (i = chunk->alloc_base; i < chunk->pages && found == 0; ++i) {
      Addr g = chunk_page_base(chunk, i);
      if (!table_bit(chunk->alloc_table, i) || in_live(g))
        continue;
      if (addr_word(g) != hi) {
        if (hi != lo)
          FA_RUN_DONE();
        lo = addr_word(g);
      }
      hi = addr_word(g) + arena->grain_size;
    }
  }
  if (found == 0 && hi != lo)
    FA_RUN_DONE();
#undef FA_RUN_DONE
  return found == 0 ? NULL : (Addr)(uintptr_t)found;
}

/* The model: what the arena's state must be between operations. */
typedef struct model_s {
  bool client;
  size_t limit;          /* commit limit */
  double spare;          /* spare fraction */
  double pause;          /* pause time */
  Size control_size;     /* control grains: only ever grows */
  bool control_exact;    /* all control memory is the model's */
} model_s;

FUZZ_MODEL static void check_all(mps_arena_t arena, const model_s *m)
{
  Arena a = arena;
  size_t i, j;
  Count owned = 0;
  Ring node, next;
  arena_tract_table_s table;
  Size extent_total;
  size_t nchunks = 0;

  REQUIRE(!mps_arena_busy(arena));
  arena_enter(a);
  REQUIRE(mps_arena_busy(arena));
  REQUIRE(a->committed <= a->commit_limit);
  REQUIRE(a->commit_limit == m->limit);
  REQUIRE(a->spare == m->spare);
  REQUIRE(a->pause_time == m->pause);
  REQUIRE(a->control_size == m->control_size);
  REQUIRE(a->spare_committed <= a->committed);
  REQUIRE(a->committed - a->spare_committed >= live_bytes() + a->control_size);
  REQUIRE(control_bytes() <= a->control_size);
  if (m->client)
    REQUIRE(a->spare_committed == 0);
  else   /* trimming works in grains, so allow one grain of rounding */
    REQUIRE((double)a->spare_committed
            <= a->spare * (double)a->committed + (double)a->grain_size);

  /* Every chunk was reported, and the reports are of chunks only. */
  RING_FOR(node, &a->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    REQUIRE(in_extent(arena, chunk->base, addr_offset(chunk->base, chunk->limit)));
    owned += owned_grains(chunk);
    ++nchunks;
  }
  REQUIRE(extents_of(arena, &extent_total) == nchunks);
  if (m->client)
    REQUIRE(a->reserved == extent_total);
  else
    REQUIRE(a->reserved >= extent_total);
  /* Owned grains are the live blocks' and the control grains, no more. */
  REQUIRE(owned == ((live_bytes() + a->control_size) >> a->grain_shift));

  arena_primary_table(&table, a);
  for (i = 0; i < nlive; ++i) {
    Addr base = live[i].base, last = addr_add(base, live[i].size - 1);
    Tract t = arena_tract_of_addr(a, base);
    REQUIRE(in_extent(arena, base, live[i].size));
    REQUIRE(arena_pool_of_addr(a, base) == live[i].owner);
    REQUIRE(arena_pool_of_addr(a, last) == live[i].owner);
    REQUIRE(t != NULL && t->pool == live[i].owner);
    REQUIRE(arena_tract_of_addr(a, last) != NULL
            && arena_tract_of_addr(a, last)->pool == live[i].owner);
    if (addr_word(base) >= addr_word(table.base) && addr_word(base) < addr_word(table.limit)) {
      REQUIRE(chunk_tract_lookup(&table, base, live[i].owner) == t);
      REQUIRE(chunk_tract_lookup(&table, base,
                                 live[i].owner == FUZZ_OWNER(0) ? FUZZ_OWNER(1)
                                                                : FUZZ_OWNER(0)) == NULL);
    } else {
      REQUIRE(chunk_tract_lookup(&table, base, live[i].owner) == NULL);
    }
    for (j = i + 1; j < nlive; ++j)
      REQUIRE(disjoint(base, live[i].size, live[j].base, live[j].size));
    for (j = 0; j < ncontrol; ++j)
      REQUIRE(disjoint(base, live[i].size, addr_of_ptr(control[j].p), control[j].size));
  }
  for (i = 0; i < ncontrol; ++i) {
    Addr base = addr_of_ptr(control[i].p), last = addr_add(base, control[i].size - 1);
    REQUIRE(addr_is_aligned(base, ARENA_CONTROL_ALIGN));
    REQUIRE(in_extent(arena, base, control[i].size));
    REQUIRE(arena_pool_of_addr(a, base) == NULL && arena_pool_of_addr(a, last) == NULL);
    REQUIRE(arena_tract_of_addr(a, base) == NULL && arena_tract_of_addr(a, last) == NULL);
    for (j = i + 1; j < ncontrol; ++j)
      REQUIRE(disjoint(base, control[i].size, addr_of_ptr(control[j].p), control[j].size));
  }
  /* An address in no chunk. */
  REQUIRE(!arena_has_addr(a, addr_of_ptr(&fuzz_arena_owners[0])));
  REQUIRE(arena_pool_of_addr(a, addr_of_ptr(&fuzz_arena_owners[0])) == NULL);
  REQUIRE(arena_tract_of_addr(a, addr_of_ptr(&fuzz_arena_owners[0])) == NULL);
  arena_leave(a);

  REQUIRE(!mps_arena_has_addr(arena, &fuzz_arena_owners[0]));
  for (i = 0; i < nlive; ++i) {
    REQUIRE(mps_arena_has_addr(arena, addr_ptr(live[i].base)));
    check_fill(addr_ptr(live[i].base), live[i].size, live[i].fill);
  }
  for (i = 0; i < ncontrol; ++i)
    check_fill(control[i].p, control[i].size, control[i].fill);
  REQUIRE(mps_arena_pause_time(arena) == m->pause);
}

/* A copy of the chunks' tables, for checking where an allocation went. */
#define SNAP_OWNED 1
#define SNAP_MAPPED 2
typedef struct snap_chunk_s {
  Addr base;
  Index alloc_base;
  Count pages;
  Shift shift;
  unsigned char *state;
} snap_chunk_s;

typedef struct snap_s {
  size_t n;
  bool whole;            /* every chunk is in it */
  snap_chunk_s c[FUZZ_ARENA_SNAP];
} snap_s;

FUZZ_MODEL static void snap_take(snap_s *s, Arena arena)
{
  Ring node, next;
  s->n = 0;
  s->whole = true;
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    snap_chunk_s *c;
    Index i;
    if (s->n == FUZZ_ARENA_SNAP) {
      s->whole = false;
      break;
    }
    c = &s->c[s->n++];
    c->base = chunk->base;
    c->alloc_base = chunk->alloc_base;
    c->pages = chunk->pages;
    c->shift = chunk->grain_shift;
    c->state = malloc(chunk->pages);
    REQUIRE(c->state != NULL);
    for (i = 0; i < chunk->pages; ++i)
      c->state[i] = (unsigned char)((table_bit(chunk->alloc_table, i) ? SNAP_OWNED : 0)
                                    | (table_bit(chunk->mapped_table, i) ? SNAP_MAPPED : 0));
  }
}

FUZZ_MODEL static void snap_free(snap_s *s)
{
  while (s->n > 0)
    free(s->c[--s->n].state);
}

FUZZ_MODEL static snap_chunk_s *snap_chunk_of(snap_s *s, Addr addr)
{
  size_t k;
  for (k = 0; k < s->n; ++k) {
    snap_chunk_s *c = &s->c[k];
    if (addr_word(c->base) <= addr_word(addr)
        && addr_word(addr) < addr_word(c->base) + ((Word)c->pages << c->shift))
      return c;
  }
  return NULL;
}

/* What a fit may be made of. */
typedef enum fit_e { FIT_FREE, FIT_SPARE, FIT_ZONED, FIT_ZONED_SPARE } fit_e;

typedef struct fit_s {
  fit_e kind;
  bool high;
  Word zones;
  Shift zone_shift;
} fit_s;

FUZZ_MODEL static bool snap_grain_fits(const snap_chunk_s *c, Index i, const fit_s *f)
{
  Word addr;
  if (c->state[i] & SNAP_OWNED)
    return false;
  if ((f->kind == FIT_SPARE || f->kind == FIT_ZONED_SPARE) && !(c->state[i] & SNAP_MAPPED))
    return false;
  if (f->kind == FIT_ZONED || f->kind == FIT_ZONED_SPARE) {
    addr = addr_word(c->base) + ((Word)i << c->shift);
    return (f->zones >> ((addr >> f->zone_shift) & (WORD_WIDTH - 1)) & 1) != 0;
  }
  return true;
}

/* The lowest (or highest) base of `pages` grains of one chunk, past its
 * header, that all fit; NULL if there is none.  By brute force. */
FUZZ_MODEL static Addr snap_fit(const snap_s *s, Count pages, const fit_s *f)
{
  size_t k;
  for (k = 0; k < s->n; ++k) {
    const snap_chunk_s *c = &s->c[f->high ? s->n - 1 - k : k];
    Count run = 0;
    Index i;
    if (f->high) {
      for (i = c->pages; i > c->alloc_base; --i) {
        run = snap_grain_fits(c, i - 1, f) ? run + 1 : 0;
        if (run == pages)
          return addr_add(c->base, (Size)(i - 1) << c->shift);
      }
    } else {
      for (i = c->alloc_base; i < c->pages; ++i) {
        run = snap_grain_fits(c, i, f) ? run + 1 : 0;
        if (run == pages)
          return addr_add(c->base, (Size)(i + 1 - pages) << c->shift);
      }
    }
  }
  return NULL;
}

/* How an allocation was asked for. */
typedef struct ask_s {
  bool high;
  bool zoned;            /* a zone preference the arena must honour */
  Word zones;
  Shift zone_shift;
} ask_s;

/* Where the allocation should have gone in snapshot s, given the spare
 * memory at the time. */
FUZZ_MODEL static Addr expected_base(const snap_s *s, Count pages, const ask_s *ask, Size spare, Shift grain_shift)
{
  fit_s f = {FIT_FREE, false, 0, 0};
  Addr b = NULL;
  if (ask->high) {
    f.high = true;
    return snap_fit(s, pages, &f);
  }
  if (ask->zoned) {
    /* Spare grains in the stripes first, as anywhere else. */
    f.kind = spare >= ((Size)pages << grain_shift) ? FIT_ZONED_SPARE : FIT_ZONED;
    f.zones = ask->zones;
    f.zone_shift = ask->zone_shift;
    b = snap_fit(s, pages, &f);
    if (b == NULL && f.kind == FIT_ZONED_SPARE) {
      f.kind = FIT_ZONED;
      b = snap_fit(s, pages, &f);
    }
    if (b != NULL)
      return b;
  }
  if (spare >= ((Size)pages << grain_shift)) {
    f.kind = FIT_SPARE;
    b = snap_fit(s, pages, &f);
    if (b != NULL)
      return b;
  }
  f.kind = FIT_FREE;
  return snap_fit(s, pages, &f);
}

/* The stretches of uncommitted grains in [i, i + pages) of a snapshot's
 * chunk: each is one request to commit, which the arena may refuse. */
FUZZ_MODEL static Count snap_stretches(const snap_chunk_s *c, Index i, Count pages)
{
  Count n = 0;
  Index k;
  for (k = i; k < i + pages; ++k)
    if (!(c->state[k] & SNAP_MAPPED) && (k == i || (c->state[k - 1] & SNAP_MAPPED)))
      ++n;
  return n;
}

/* Why an operation that asks the arena for memory may fail: a refusal
 * (arena_fail_after) that fell on it, as no memory or, where the arena
 * had to grow, no address space; or else only a real shortage -- no
 * address space, or the commit limit where the client set one. */
static bool failure_allowed(Res res, bool fell, size_t limit)
{
  if (fell)
    return refusal_result(res);
  return res == MPS_RES_RESOURCE || (res == MPS_RES_COMMIT_LIMIT && limit != SIZE_MAX);
}

/* Allocate per `ask` and check the placement and, on failure, that no
 * grain changed owner.  Each call, growth and stretch committed counts
 * down towards an armed refusal; whether one fell here is the result. */
static bool op_alloc(mps_arena_t arena, Size pages, Pool owner, const ask_s *ask,
                     unsigned char fill)
{
  Arena a = arena;
  Size size = pages << a->grain_shift;
  Size before = a->committed, limit = a->commit_limit, spare = a->spare_committed;
  fit_s any = {FIT_FREE, false, 0, 0};
  snap_s *s = malloc(sizeof *s), *after = malloc(sizeof *after);
  size_t reported = nextents;
  Count countdown;
  bool fell;
  Addr base;
  Res res;

  REQUIRE(s != NULL && after != NULL);
  arena_enter(a);
  countdown = refusal_countdown(arena);
  snap_take(s, a);
  if (ask->high)
    res = arena_alloc_high(&base, a, size, owner);
  else if (ask->zoned || ask->zone_shift != 0)
    res = arena_alloc_zoned(&base, a, size, owner, ask->zones, ask->zone_shift);
  else
    res = arena_alloc(&base, a, size, owner);
  snap_take(after, a);
  fell = refusal_fell(arena, countdown);
  arena_leave(a);

  if (res == MPS_RES_OK) {
    snap_chunk_s *c = snap_chunk_of(s, base);
    REQUIRE(!fell);   /* a refused request is never made good */
    REQUIRE(addr_is_aligned(base, a->grain_size));
    if (c != NULL) {
      Index i = (Index)(addr_offset(c->base, base) >> c->shift), k;
      REQUIRE(i >= c->alloc_base && i + pages <= c->pages);
      for (k = i; k < i + pages; ++k)
        REQUIRE(!(c->state[k] & SNAP_OWNED));
      if (s->whole)
        REQUIRE(base == expected_base(s, pages, ask, spare, a->grain_shift));
      /* The call itself, then one request per stretch it committed. */
      if (countdown != 0)
        REQUIRE(countdown - refusal_countdown(arena) == 1 + snap_stretches(c, i, pages));
    } else if (s->whole && after->whole) {
      /* Grown: only when nothing was free anywhere; then the new chunk
       * is searched as the old ones were. */
      snap_chunk_s *g = snap_chunk_of(after, base);
      Index i, k;
      REQUIRE(snap_fit(s, pages, &any) == NULL);
      REQUIRE(g != NULL);
      i = (Index)(addr_offset(g->base, base) >> g->shift);
      for (k = i; k < i + pages; ++k)
        g->state[k] = (unsigned char)(g->state[k] & ~SNAP_OWNED);
      REQUIRE(base == expected_base(after, pages, ask, 0, a->grain_shift));
      /* The call, the growth, the commit of the new chunk's header (VM
       * arenas: a client arena cannot grow), and the new grains, all
       * uncommitted. */
      if (countdown != 0)
        REQUIRE(countdown - refusal_countdown(arena) == 4);
    }
    REQUIRE(nlive < FUZZ_ARENA_LIVE);
    live[nlive].base = base;
    live[nlive].size = size;
    live[nlive].owner = owner;
    live[nlive].fill = fill;
    set_fill(addr_ptr(base), size, fill);
    ++nlive;
  } else {
    size_t k;
    REQUIRE(failure_allowed(res, fell, limit));
    REQUIRE(a->commit_limit == limit);
    REQUIRE(a->committed <= before);   /* at most spare was shed */
    /* No address space: only when it had to grow. */
    if (res == MPS_RES_RESOURCE && s->whole)
      REQUIRE(snap_fit(s, pages, &any) == NULL);
    /* Refused at the call itself: before it touched anything, so never
     * for want of address space, which only a growth reports. */
    if (countdown == 1)
      REQUIRE(res == MPS_RES_MEMORY && a->committed == before
              && a->spare_committed == spare);
    /* A chunk grown for it and given back was reported both ways. */
    REQUIRE(nextents == reported);
    /* Nothing changed owner, and any chunk grown for it went back. */
    REQUIRE(s->n == after->n);
    for (k = 0; k < s->n; ++k) {
      Index i;
      REQUIRE(s->c[k].base == after->c[k].base && s->c[k].pages == after->c[k].pages);
      for (i = 0; i < s->c[k].pages; ++i)
        REQUIRE((s->c[k].state[i] & SNAP_OWNED) == (after->c[k].state[i] & SNAP_OWNED));
    }
  }
  snap_free(s);
  snap_free(after);
  free(s);
  free(after);
  return fell;
}

static Size alloc_pages(uint8_t arg)
{
  return (arg & 0x80) ? (Size)(arg & 0x7F) * 32 + 1 : (Size)(arg & 0x0F) + 1;
}

/* A zone set from a byte: single zones, runs, sparse patterns, none, all. */
static Word zone_set(uint8_t b)
{
  switch (b & 7) {
  case 0: return (Word)1 << (b >> 3);
  case 1: return ((Word)1 << (b >> 3 & 31)) - 1 + ((Word)1 << (b >> 3 & 31));
  case 2: return (Word)0x0101010101010101ull << (b >> 3 & 7);
  case 3: return (Word)((b | 1ull) * 0x9E3779B97F4A7C15ull);
  case 4: return (Word)((b | 1ull) * 0x9E3779B97F4A7C15ull) & (Word)(0xC3A5ull * b);
  case 5: return 0;
  case 6: return ~(Word)0;
  default: return ~((Word)1 << (b >> 3));
  }
}

/* A client error: it must be reported; the caller checks it changed
 * nothing. */
#define CLIENT_ERROR(call) do { \
    mps_lib_assert_fail_t old_ = fuzz_reports_begin(); \
    call; \
    REQUIRE(fuzz_reports_end(old_) > 0); \
  } while (0)

/* Take `arg`'s amount of control memory: first fit over the control
 * grains, or fresh grains when none fits.  The call counts towards an
 * armed refusal, and so does the allocation of grains it makes; whether
 * one fell here is the result. */
static bool op_control(mps_arena_t arena, model_s *m, uint8_t arg, size_t pos)
{
  Arena a = arena;
  Size n = (arg & 0x80) ? (Size)(arg & 0x7F) * 97 + 1 : (Size)(arg & 0x3F) * 8 + 1;
  Size aligned = size_align_up(n, ARENA_CONTROL_ALIGN);
  size_t committed = mps_arena_committed(arena);
  Count countdown;
  bool fell;
  Addr fit;
  void *p;
  Res res;
  if (ncontrol == FUZZ_ARENA_CONTROL)
    return false;
  arena_enter(a);
  countdown = refusal_countdown(arena);
  fit = control_fit(a, aligned);
  res = arena_control_alloc(&p, a, n);
  fell = refusal_fell(arena, countdown);
  arena_leave(a);
  if (res == MPS_RES_OK) {
    Size grew = a->control_size - m->control_size;
    REQUIRE(!fell);
    if (m->control_exact && fit != NULL)   /* first fit, no new grains */
      REQUIRE(addr_of_ptr(p) == fit && grew == 0);
    else if (m->control_exact)
      REQUIRE(grew == size_align_up(aligned, a->grain_size));
    else
      REQUIRE(grew == 0 || grew == size_align_up(aligned, a->grain_size));
    /* The call, and any grains it took: at least one more request. */
    if (countdown != 0)
      REQUIRE(grew == 0 ? countdown - refusal_countdown(arena) == 1
                        : countdown - refusal_countdown(arena) >= 2);
    m->control_size = a->control_size;
    control[ncontrol].p = p;
    control[ncontrol].size = n;
    control[ncontrol].fill = (unsigned char)(arg ^ pos ^ 0x5A);
    memset(p, control[ncontrol].fill, n);
    ++ncontrol;
  } else {
    REQUIRE(failure_allowed(res, fell, m->limit));
    /* Unrefused, it fails only when it had to take grains. */
    REQUIRE(fell || !m->control_exact || fit == NULL);
    REQUIRE(mps_arena_committed(arena) <= committed);
    if (countdown == 1)   /* refused at the call, before any growth */
      REQUIRE(res == MPS_RES_MEMORY && mps_arena_committed(arena) == committed);
  }
  return fell;
}

/* Make and destroy another arena with one option, good or bad. */
static void op_create(bool client, uint8_t arg)
{
  mps_arena_t other = NULL;
  void *block = NULL;
  size_t bytes = (size_t)1 << 17;
  size_t before = nextents;
  unsigned long contracted = contractions;
  double d = (double)(arg >> 3) / 32.0;
  mps_res_t want = MPS_RES_OK, res;

  MPS_ARGS_BEGIN(args) {
    if (client) {
      block = malloc(bytes);
      REQUIRE(block != NULL);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_CL_BASE, block);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, bytes);
    } else {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 20);
    }
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_EXTENDED, (mps_fun_t)fa_extended);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_CONTRACTED, (mps_fun_t)fa_contracted);
    switch (arg & 7) {
    case 0: MPS_ARGS_ADD(args, MPS_KEY_SPARE, d); break;
    case 1:
      MPS_ARGS_ADD(args, MPS_KEY_SPARE, arg & 8 ? -d - 0.5 : (arg & 16 ? NAN : 1.0 + d + 1e-9));
      want = MPS_RES_PARAM;
      break;
    case 2: MPS_ARGS_ADD(args, MPS_KEY_PAUSE_TIME, d * 4.0); break;
    case 3:
      MPS_ARGS_ADD(args, MPS_KEY_PAUSE_TIME, arg & 8 ? NAN : -d - 1e-9);
      want = MPS_RES_PARAM;
      break;
    case 4:   /* less than the header already committed */
      MPS_ARGS_ADD(args, MPS_KEY_COMMIT_LIMIT, (size_t)(arg >> 3));
      want = MPS_RES_COMMIT_LIMIT;
      break;
    case 5: MPS_ARGS_ADD(args, MPS_KEY_COMMIT_LIMIT, (size_t)(arg >> 3) << 20 | (size_t)1 << 25); break;
    case 6:
      MPS_ARGS_ADD(args, MPS_KEY_COMMIT_LIMIT, (size_t)1 << 25);
      MPS_ARGS_ADD(args, MPS_KEY_SPARE_COMMIT_LIMIT, (size_t)(arg >> 3) << 20);
      break;
    default:
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, (size_t)4096 + 8 * (size_t)(arg >> 3) + 1);
      want = MPS_RES_PARAM;
      break;
    }
    res = mps_arena_create_k(&other, client ? mps_arena_class_cl() : mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);

  REQUIRE(res == want);
  if (res != MPS_RES_OK) {
    /* Neither gained nor lost as far as the client was told. */
    REQUIRE(nextents == before && contractions == contracted);
  } else {
    REQUIRE(nextents == before + 1 && extents_of(other, NULL) == 1);
    switch (arg & 7) {
    case 0: REQUIRE(mps_arena_spare(other) == d); break;
    case 2: REQUIRE(mps_arena_pause_time(other) == d * 4.0); break;
    case 5: REQUIRE(mps_arena_commit_limit(other) == ((size_t)(arg >> 3) << 20 | (size_t)1 << 25)); break;
    case 6:
      REQUIRE(mps_arena_commit_limit(other) == (size_t)1 << 25);
      REQUIRE(mps_arena_spare(other) == (double)((size_t)(arg >> 3) << 20) / (double)((size_t)1 << 25));
      break;
    default: break;
    }
    REQUIRE(mps_arena_committed(other) <= mps_arena_commit_limit(other));
    mps_arena_destroy(other);
    REQUIRE(nextents == before && contractions == contracted + 1);
  }
  free(block);
}

/* Destroying an arena with a pool or a chain in it is refused.  Making
 * the pool or chain asks for memory, so an armed refusal may fall on it:
 * the result says whether it made it fail.  (A chain may absorb one: the
 * collector's state, made with the first, does without its telemetry
 * queue if it must.)  Destroying, and the refused destruction, ask for
 * nothing, and leave the countdown be. */
static bool op_refused_destroy(mps_arena_t arena, model_s *m, uint8_t arg)
{
  Arena a = arena;
  mps_pool_t pool = NULL;
  mps_chain_t chain = NULL;
  mps_res_t res;
  size_t committed, reserved;
  Count countdown = refusal_countdown(arena);
  bool had_gc = a->gc != NULL, fell, ambiguous;

  if (arg & 1) {
    res = mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none);
  } else {
    m->control_exact = false;   /* the collector's, which stay */
    mps_gen_param_s gen = {1024, 0.5};
    res = mps_chain_create(&chain, arena, 1, &gen);
  }
  fell = refusal_fell(arena, countdown);
  /* A collector's state made here without its telemetry queue
   * (gcevent_init does without it) may have absorbed the refusal there:
   * then a failure after it is the chain's own, for the reasons any
   * request may fail (the commit limit, say).  Or the queue was refused
   * for the commit limit, and the refusal fell on the chain.  Either may
   * be so. */
  ambiguous = fell && EVENT_STREAM && !had_gc && a->gc != NULL && a->gc->events.capacity == 0;
  if (res != MPS_RES_OK) {
    REQUIRE(failure_allowed(res, fell, m->limit)
            || (ambiguous && failure_allowed(res, false, m->limit)));
    /* Nothing half made is left behind: no pool, no chain. */
    REQUIRE(ring_is_single(&a->pool_ring));
    REQUIRE(a->gc == NULL || ring_is_single(&a->gc->chain_ring));
    m->control_size = a->control_size;   /* what it took stays */
    return fell;
  }
  countdown = refusal_countdown(arena);
  committed = mps_arena_committed(arena);
  reserved = mps_arena_reserved(arena);
  CLIENT_ERROR(mps_arena_destroy(arena));
  REQUIRE(mps_arena_committed(arena) == committed && mps_arena_reserved(arena) == reserved);
  if (pool != NULL)
    mps_pool_destroy(pool);
  else
    mps_chain_destroy(chain);
  REQUIRE(refusal_countdown(arena) == countdown);
  /* The descriptors' control memory stays the arena's. */
  REQUIRE(a->control_size >= m->control_size);
  m->control_size = a->control_size;
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_arena_t arena;
  Arena a;
  void *blocks[FUZZ_ARENA_BLOCKS];
  size_t nblocks = 0, pos = 1, grain;
  model_s m;
  mps_res_t res;

  if (size < 1)
    return 0;
  m.client = (data[0] & 1) != 0;
  nlive = 0;
  ncontrol = 0;
  nextents = 0;
  contractions = 0;
  if (m.client) {
    size_t bytes = ((size_t)1 << 16) << (data[0] >> 1 & 3);   /* 64 KiB .. 512 KiB */
    blocks[nblocks] = malloc(bytes);
    REQUIRE(blocks[nblocks] != NULL);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_CL_BASE, blocks[nblocks]);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, bytes);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, (size_t)4096);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_EXTENDED, (mps_fun_t)fa_extended);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_CONTRACTED, (mps_fun_t)fa_contracted);
      res = mps_arena_create_k(&arena, mps_arena_class_cl(), args);
    } MPS_ARGS_END(args);
    ++nblocks;
  } else {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, ((size_t)1 << 20) << (data[0] >> 1 & 3));
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_EXTENDED, (mps_fun_t)fa_extended);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_CONTRACTED, (mps_fun_t)fa_contracted);
      res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
    } MPS_ARGS_END(args);
  }
  REQUIRE(res == MPS_RES_OK);
  REQUIRE(extents_of(arena, NULL) == 1);
  a = arena;
  grain = a->grain_size;
  m.limit = mps_arena_commit_limit(arena);
  m.spare = mps_arena_spare(arena);
  m.pause = mps_arena_pause_time(arena);
  m.control_size = a->control_size;
  m.control_exact = true;
  check_all(arena, &m);

  while (pos + 1 < size) {
    uint8_t op = data[pos] % 12, arg = data[pos + 1];
    Count countdown = refusal_countdown(arena);
    pos += 2;
    switch (op) {
    case 0: {   /* allocate low, or high: mostly small, sometimes more than a chunk */
      ask_s ask = {false, false, 0, 0};
      if (nlive == FUZZ_ARENA_LIVE)
        break;
      ask.high = (data[pos - 2] & 0x80) != 0;
      /* Refused: it changed nothing, so asking again must be served
       * (or fail for a real shortage) as it would have been. */
      if (op_alloc(arena, alloc_pages(arg), FUZZ_OWNER(data[pos - 2] >> 6),
                   &ask, (unsigned char)(arg ^ pos)))
        op_alloc(arena, alloc_pages(arg), FUZZ_OWNER(data[pos - 2] >> 6),
                 &ask, (unsigned char)(arg ^ pos ^ 0xFF));
      break;
    }
    case 1:     /* free a live block, or part of one, or two adjacent ones */
      if (nlive > 0) {
        size_t k = arg % nlive, j;
        live_s *b = &live[k];
        Size pages = b->size / grain, cut = (Size)(arg >> 5) % pages;
        check_fill(addr_ptr(b->base), b->size, b->fill);
        if (cut > 0 && (data[pos - 2] & 0x80)) {   /* the first `cut` grains */
          arena_enter(a);
          arena_free(a, b->base, cut * grain, b->owner);
          arena_leave(a);
          b->base = addr_add(b->base, cut * grain);
          b->size -= cut * grain;
          set_fill(addr_ptr(b->base), b->size, b->fill);   /* new samples */
          break;
        }
        for (j = 0; j < nlive; ++j)
          if (j != k && live[j].owner == b->owner
              && addr_add(b->base, b->size) == live[j].base)
            break;
        arena_enter(a);
        if (j < nlive && (data[pos - 2] & 0x40)) {   /* one free for both */
          arena_free(a, b->base, b->size + live[j].size, b->owner);
          arena_leave(a);
          live[j] = live[--nlive];
          if (k == nlive)
            k = j;
        } else {
          arena_free(a, b->base, b->size, b->owner);
          arena_leave(a);
        }
        live[k] = live[--nlive];
      }
      break;
    case 2: {   /* commit limit: near the committed size, or unlimited */
      size_t committed = mps_arena_committed(arena);
      size_t spare = mps_arena_spare_committed(arena);
      size_t limit = arg == 0xFF ? SIZE_MAX
                     : committed - spare + (size_t)(arg % 24) * grain - (arg & 0x80 ? grain : 0);
      res = mps_arena_commit_limit_set(arena, limit);
      if (limit >= committed - spare) {
        REQUIRE(res == MPS_RES_OK);
        REQUIRE(mps_arena_commit_limit(arena) == limit);
        m.limit = limit;
        /* Only spare memory went, and only as much as was needed. */
        REQUIRE(committed - mps_arena_committed(arena) == spare - mps_arena_spare_committed(arena));
        /* Just enough went: limits here are whole grains. */
        REQUIRE(mps_arena_committed(arena) == (limit >= committed ? committed : limit));
      } else {
        REQUIRE(res == MPS_RES_FAIL);
        REQUIRE(mps_arena_committed(arena) == committed
                && mps_arena_spare_committed(arena) == spare);
      }
      break;
    }
    case 3:     /* spare fraction, sometimes out of range */
      if (arg % 7 < 5) {
        m.spare = (double)(arg % 7) / 4.0;
        mps_arena_spare_set(arena, m.spare);
        REQUIRE(mps_arena_spare(arena) == m.spare);
      } else {
        size_t spare = mps_arena_spare_committed(arena);
        double bad = arg & 0x80 ? NAN : (arg % 7 == 5 ? -0.25 : 1.0 + (double)arg / 256.0);
        CLIENT_ERROR(mps_arena_spare_set(arena, bad));
        REQUIRE(mps_arena_spare_committed(arena) == spare);
      }
      break;
    case 4: {   /* extend a client arena with a fresh block; client errors */
      size_t reserved = mps_arena_reserved(arena), n = nextents;
      if (arg >= 0xF0) {
        if (arg & 1)
          CLIENT_ERROR(res = mps_arena_extend(arena, NULL, 4096));
        else
          CLIENT_ERROR(res = mps_arena_extend(arena, &m, 0));
        REQUIRE(res == MPS_RES_PARAM);
      } else if (!m.client) {
        res = mps_arena_extend(arena, &m, sizeof m);
        REQUIRE(res == MPS_RES_UNIMPL);
      } else if (arg >= 0xE0) {    /* memory the arena has already */
        res = mps_arena_extend(arena, (char *)blocks[0] + 64, 8192);
        REQUIRE(res == MPS_RES_PARAM);
      } else if (nblocks < FUZZ_ARENA_BLOCKS) {
        size_t bytes = (size_t)(arg % 64 + 1) * 4096;
        blocks[nblocks] = malloc(bytes);
        REQUIRE(blocks[nblocks] != NULL);
        res = mps_arena_extend(arena, blocks[nblocks], bytes);
        ++nblocks;
        if (res == MPS_RES_OK) {
          REQUIRE(mps_arena_reserved(arena) > reserved && nextents == n + 1);
          break;
        }
        REQUIRE(res == MPS_RES_MEMORY || res == MPS_RES_COMMIT_LIMIT);
      }
      REQUIRE(mps_arena_reserved(arena) == reserved && nextents == n);
      break;
    }
    case 5: {   /* zoned allocation: one more byte for the zones */
      ask_s ask = {false, false, 0, 0};
      uint8_t zb = pos < size ? data[pos++] : 0;
      if (nlive == FUZZ_ARENA_LIVE)
        break;
      ask.zones = zone_set(zb);
      /* From a stripe of half a grain (no preference) to many chunks. */
      ask.zone_shift = (Shift)(a->grain_shift - 1 + (arg >> 4));
      ask.zoned = ask.zone_shift >= a->grain_shift && ask.zones != 0 && ask.zones != ~(Word)0;
      if (op_alloc(arena, (arg & 8) ? (Size)(arg & 7) * 24 + 1 : (Size)(arg & 7) + 1,
                   FUZZ_OWNER(arg), &ask, (unsigned char)(zb ^ pos)))
        op_alloc(arena, (arg & 8) ? (Size)(arg & 7) * 24 + 1 : (Size)(arg & 7) + 1,
                 FUZZ_OWNER(arg), &ask, (unsigned char)(zb ^ pos ^ 0xFF));
      break;
    }
    case 6:     /* control memory; refused, once more */
      if (op_control(arena, &m, arg, pos))
        op_control(arena, &m, arg, pos ^ 0xFF);
      break;
    case 7:     /* give control memory back */
      if (ncontrol > 0) {
        size_t k = arg % ncontrol;
        check_fill(control[k].p, control[k].size, control[k].fill);
        arena_enter(a);
        arena_control_free(a, control[k].p, control[k].size);
        arena_leave(a);
        control[k] = control[--ncontrol];
      }
      break;
    case 8:     /* pause time, sometimes bad */
      if (arg & 0x80) {
        CLIENT_ERROR(mps_arena_pause_time_set(arena, arg & 0x40 ? NAN : -(double)arg));
      } else {
        m.pause = (double)arg / 8.0;
        mps_arena_pause_time_set(arena, m.pause);
      }
      break;
    case 9:     /* another arena, with an option */
      op_create((arg & 0x80) != 0 ? !m.client : m.client, arg);
      break;
    case 10:    /* refused, once more */
      if (op_refused_destroy(arena, &m, arg))
        op_refused_destroy(arena, &m, arg);
      break;
    default:    /* look at everything; with the op byte's bits 5-7 010,
                 * have the arena refuse one of its next requests */
      if ((data[pos - 2] & 0xE0) == 0x40) {
        countdown = (arg & 0x80) ? (Count)(arg & 0x1F) : (Count)(arg & 7) + 1;
        arena_fail_after(a, countdown);   /* 0: none after all */
      }
      break;
    }
    /* Only an allocation (of grains, control memory, a pool or a chain)
     * asks the arena for memory: nothing else counts down. */
    if (op != 0 && op != 5 && op != 6 && op != 10)
      REQUIRE(refusal_countdown(arena) == countdown);
    check_all(arena, &m);
  }

  arena_fail_after(a, 0);

  while (ncontrol > 0) {
    --ncontrol;
    arena_enter(a);
    arena_control_free(a, control[ncontrol].p, control[ncontrol].size);
    arena_leave(a);
  }
  while (nlive > 0) {
    --nlive;
    arena_enter(a);
    arena_free(a, live[nlive].base, live[nlive].size, live[nlive].owner);
    arena_leave(a);
  }
  mps_arena_destroy(arena);
  REQUIRE(nextents == 0);   /* every chunk reported lost */
  while (nblocks > 0)
    free(blocks[--nblocks]);
  return 0;
}
