/* chunk.c: chunk layout and page tables (see chunk.h, design/arena.txt).
 *
 * Invariants (chunk_check):
 *   1. base < limit, both grain-aligned, and pages == (limit - base) >> grain_shift;
 *   2. the header grains [0, alloc_base) are owned and committed, and the
 *      header fits in them;
 *   3. an owned grain is committed (alloc_table is a subset of mapped_table);
 *   4. a grain no one owns has no pool in its tract.
 * 3 and 4 cost a pass over the tables, so they are checked only in the
 * deep (cool) check, and then only over the first CHUNK_CHECK_PAGES grains
 * to keep a checking build usable with large chunks.
 */

#include "chunk.h"

#define CHUNK_CHECK_PAGES ((Count)4096)

/* Space for the descriptor and tables, each part word-aligned. */
Size chunk_header_size(Size prefix, Count pages)
{
  Size size = size_align_up(prefix, sizeof(Word));
  size += size_align_up(sizeof(chunk_s), sizeof(Word));
  size += 2 * bt_size(pages);
  size += pages * sizeof(tract_s);
  return size;
}

bool chunk_check(Chunk chunk)
{
  CHECKS(CHUNK_SIG, chunk);
  CHECKL(addr_word(chunk->base) < addr_word(chunk->limit));                  /* 1 */
  CHECKL(addr_is_aligned(chunk->base, (Align)1 << chunk->grain_shift));
  CHECKL(addr_is_aligned(chunk->limit, (Align)1 << chunk->grain_shift));
  CHECKL(chunk->pages == addr_offset(chunk->base, chunk->limit) >> chunk->grain_shift);
  CHECKL(0 < chunk->alloc_base && chunk->alloc_base <= chunk->pages);        /* 2 */
  CHECKL(addr_word(addr_of_ptr(chunk->tracts + chunk->pages))
         <= addr_word(chunk_page_base(chunk, chunk->alloc_base)));
  CHECKL(bt_is_set_range(chunk->alloc_table, 0, chunk->alloc_base));
  CHECKL(bt_is_set_range(chunk->mapped_table, 0, chunk->alloc_base));
  if (chunk->arena != NULL)
    CHECKU(ARENA_SIG, chunk->arena);
#if CHECK_LEVEL >= 2
  {
    Index i;
    Count n = size_min(chunk->pages, CHUNK_CHECK_PAGES);
    for (i = chunk->alloc_base; i < n; ++i) {
      bool owned = bt_get(chunk->alloc_table, i);
      CHECKL(!owned || bt_get(chunk->mapped_table, i));                     /* 3 */
      CHECKL(owned || chunk->tracts[i].pool == NULL);                       /* 4 */
    }
  }
#endif
  return true;
}

Chunk chunk_init(Addr base, Addr limit, Shift grain_shift, Size prefix, bool zeroed)
{
  Size grain = (Size)1 << grain_shift;
  Count pages;
  Size header;
  Byte *p;
  Chunk chunk;

  AVER(addr_is_aligned(base, grain));
  AVER(addr_is_aligned(limit, grain));
  AVER(addr_word(base) < addr_word(limit));
  pages = addr_offset(base, limit) >> grain_shift;
  header = size_align_up(chunk_header_size(prefix, pages), grain);
  AVER(header < addr_offset(base, limit));

  p = addr_ptr(base);
  p += size_align_up(prefix, sizeof(Word));
  chunk = (Chunk)(void *)p;
  p += size_align_up(sizeof(chunk_s), sizeof(Word));
  chunk->alloc_table = (BT)(void *)p;
  p += bt_size(pages);
  chunk->mapped_table = (BT)(void *)p;
  p += bt_size(pages);
  chunk->tracts = (Tract)(void *)p;

  chunk->arena = NULL;
  ring_init(&chunk->arena_ring);
  chunk->base = base;
  chunk->limit = limit;
  chunk->grain_shift = grain_shift;
  chunk->pages = pages;
  chunk->alloc_base = header >> grain_shift;
  chunk->grown = 0;
  /* Client memory is not zeroed, so clear the tables explicitly.  The
   * bit tables are small and searched whole: cleared either way. */
  bt_res_range(chunk->alloc_table, 0, pages);
  bt_res_range(chunk->mapped_table, 0, pages);
  bt_set_range(chunk->alloc_table, 0, chunk->alloc_base);
  bt_set_range(chunk->mapped_table, 0, chunk->alloc_base);
  if (!zeroed)
    mem_set(chunk->tracts, 0, pages * sizeof(tract_s));
  chunk->vm.sig = SIG_INVALID;   /* a VM chunk copies its VM in afterwards */
  chunk->sig = CHUNK_SIG;
  AVERT(chunk, chunk);
  return chunk;
}

void chunk_finish(Chunk chunk)
{
  AVERT(chunk, chunk);
  chunk->sig = SIG_INVALID;
  ring_finish(&chunk->arena_ring);
}
