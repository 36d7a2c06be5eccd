/* chunk.h: a contiguous stretch of arena address space and its page
 * table (design/arena.txt: chunks and tracts).
 *
 * A chunk is a whole number of grains, [base, limit).  Its first grains
 * hold its header: whatever the arena class puts first (the arena
 * structure itself, for the primary chunk), then this descriptor, then
 * two bit tables and a table of tracts, one per grain:
 *
 *   alloc_table   set: the grain is owned, by a pool or by the arena
 *   mapped_table  set: the grain is committed
 *   tracts[i]     the owning pool (NULL for free grains and arena grains)
 *
 * The header's own grains are owned and committed from the start.
 * Committed but unowned grains are the arena's spare memory.
 */
#ifndef chunk_h
#define chunk_h

#include "../data/bt.h"
#include "../os/vm.h"
#include "arena.h"

#define CHUNK_SIG SIG_MAKE(0x82)

/* One grain's owner.  `p` is the owner's own word for the grain (a later
 * segment module keeps its segment here). */
typedef struct tract_s {
  Pool pool;
  void *p;
} tract_s;
typedef struct tract_s *Tract;

typedef struct chunk_s {
  Sig sig;
  Arena arena;               /* set when the chunk joins an arena */
  struct ring_s arena_ring;  /* in arena->chunk_ring */
  Addr base, limit;          /* grain-aligned bounds of the whole chunk */
  Shift grain_shift;
  Count pages;               /* grains in [base, limit) */
  Index alloc_base;          /* grains [0, alloc_base) are the header */
  BT alloc_table;
  BT mapped_table;
  Tract tracts;
  struct vm_s vm;            /* the reservation, for VM chunks */
  /* arena->grown once this chunk grew the arena for an allocation; 0
   * for the primary chunk and for memory the client added. */
  Count grown;
} chunk_s;

bool chunk_check(Chunk chunk);

/* Bytes of header for a chunk of `pages` grains whose class puts `prefix`
 * bytes before the descriptor (not yet rounded to a grain). */
Size chunk_header_size(Size prefix, Count pages);

/* Lay out a chunk over [base, limit) with its descriptor `prefix` bytes
 * after base.  The header grains must already be committed; nothing else
 * needs to be.  `zeroed`: they read as zero already (fresh VM mappings,
 * vm.h), so the tract table is left untouched: its pages then cost no
 * resident memory until their grains are first used, which for a large
 * reservation is most of the header.  Returns the descriptor. */
Chunk chunk_init(Addr base, Addr limit, Shift grain_shift, Size prefix, bool zeroed);
void chunk_finish(Chunk chunk);

/* The tract of `addr` in a copy of the primary chunk's table
 * (arena_primary_table), or NULL if it is outside the chunk or its grain
 * is not owned by `pool` (which is not NULL: so a grain of no pool fails
 * the same comparison). */
static inline Tract chunk_tract_lookup(const arena_tract_table_s *table, Addr addr, Pool pool)
{
  Tract tract;
  if (addr_word(addr) < addr_word(table->base) || addr_word(addr) >= addr_word(table->limit))
    return NULL;
  tract = &table->tracts[addr_offset(table->base, addr) >> table->grain_shift];
  return tract->pool == pool ? tract : NULL;
}

static inline bool chunk_contains(Chunk chunk, Addr addr)
{
  return addr_word(chunk->base) <= addr_word(addr)
         && addr_word(addr) < addr_word(chunk->limit);
}

static inline Index chunk_index(Chunk chunk, Addr addr)
{
  return (Index)(addr_offset(chunk->base, addr) >> chunk->grain_shift);
}

static inline Addr chunk_page_base(Chunk chunk, Index i)
{
  return addr_add(chunk->base, (Size)i << chunk->grain_shift);
}

/* Bytes in `pages` grains of this chunk. */
static inline Size chunk_pages_size(Chunk chunk, Count pages)
{
  return (Size)pages << chunk->grain_shift;
}

#endif /* chunk_h */
