/* pool_mvff.c: MVFF, the manual variable-size first-fit pool
 * (design/poolmvff.txt, design/failover.txt, design/cbs.txt;
 * manual/pool/mvff.rst, manual/guide/malloc.rst).
 *
 * Where free memory is.  Most of it is in the free land (free_land.h: a
 * CBS over a freelist, so that inserting a range never fails for want of
 * a descriptor).  The rest is in the quick lists and the slabs.  The
 * quick lists are one LIFO list per size for small blocks (every multiple
 * of the alignment from two words up to quick_max, at most MVFF_QUICK_MAX
 * bytes), linked through the blocks' first word.  mps_free of such a
 * block pushes it on its list, which touches neither the land's splay
 * tree nor the arena; that is what makes the free of a small block cheap
 * (docs/performance.md).  The lists serve fills, so a pool with no
 * allocation point frees into the land: mps_alloc flushes every list
 * before it searches, so a listed block would only wait for that (8% of
 * mvff-alloc's time on bench/bench.c, docs/performance.md, twelfth
 * round).  The slabs are grains that allocation points
 * carve blocks of one slab class from: one class per size up to
 * MVFF_SMALL_MAX bytes, then eight per doubling up to MVFF_SLAB_MAX (see
 * "Slabs" below); their free blocks are on their own lists.  Lists and
 * slabs are free memory like the land's: free_size counts them.  The
 * debugging class (pool_debug.c) gets neither, so that MVFF writes
 * nothing into free memory there.  Listed blocks do not coalesce, so they
 * go back into the land ("flushed") whenever that matters:
 *   - all of them before mps_alloc searches the land, so that mps_alloc
 *     is exactly first fit over all free memory outside the slabs, which
 *     are the allocation points' (see "Slabs");
 *   - the lists of sizes above MVFF_SMALL_MAX when a fill finds nothing
 *     in the land and they hold a sixteenth of the pool, and all of them
 *     when the arena then refuses an extension;
 *   - all of them when the pool holds more free memory than its spare
 *     fraction and the land alone cannot give back enough.
 * The pool's memory from the arena is counted (total_bytes) and not
 * otherwise recorded: finish finds its grains in the arena's tables.
 *
 * Placement for mps_alloc.  The manual documents two combinations of the
 * three booleans: the defaults (ARENA_HIGH false, SLOT_HIGH false,
 * FIRST_FIT true) are "a simple first-fit allocator", and ARENA_HIGH and
 * SLOT_HIGH true with FIRST_FIT false are "a first-fit allocator that
 * works from the top of memory downwards".  Its one-line descriptions of
 * SLOT_HIGH and FIRST_FIT, read literally, would make the defaults hand
 * out the top of the lowest free block, which is not first fit.  We read
 * them so that both documented combinations mean what the manual says:
 *   FIRST_FIT  true: use the lowest free block that is big enough;
 *              false: use the highest one;
 *   SLOT_HIGH  false: take the block's low end; true: its high end.
 *   ARENA_HIGH true: extensions come from the highest free grains of the
 *              arena (arena_alloc_high), else the lowest; and the pool
 *              gives back its low memory first, else its high memory,
 *              keeping the memory the policy prefers.
 *
 * Allocation points.  The manual says buffers are filled worst fit (the
 * whole largest free block), to make inline allocation last.  We do not:
 * measured on bench/bench.c, worst fit made the pool four times the size
 * of the live data (docs/performance.md), because a client that only
 * allocates through a point reuses a hole only once it is the largest free
 * block.  Nor do we hand out more than was asked for, except as a last
 * resort: the point would place whatever the client reserves next in the
 * rest, so small blocks would end up among medium ones, spread over many
 * more pages than their bytes need.  The benchmark's own reads of its
 * blocks then cost four times as much as with mimalloc, whose sizes each
 * keep to pages of their own (docs/performance.md, fourth round).  So a
 * fill for `size` bytes takes, first that works:
 *   1. (sizes with a quick list) a block of exactly `size` bytes from its
 *      list: freed memory is reused at once and without a search;
 *   2. (sizes up to slab_max, with the quick lists on) a block of a slab
 *      of the size's class, through the point's cache (see "Slabs" and
 *      "Caches"); the point's region is `size` bytes of it;
 *   3. (other listed sizes) the smallest listed block bigger than `size`:
 *      such sizes seldom recur exactly, so their lists would otherwise
 *      only wait for a flush;
 *   4. (no step: large blocks used to take fresh grains outside the land,
 *      see "Large blocks")
 *   5. for a size above MVFF_SMALL_MAX, the smallest free block of the
 *      land that holds it, the lowest of equals (land_find_best): first
 *      fit cut the large holes up, so that the benchmark's largest blocks
 *      found none and the pool grew while a fifth of it was free (best
 *      fit took 1.6 MiB off its peak, docs/performance.md, eighth round);
 *      for a smaller size, the lowest free block that holds it;
 *   6. as 5, after flushing the quick lists of sizes above MVFF_SMALL_MAX
 *      into the land, if the lists hold a sixteenth of the pool and at
 *      least extend_by bytes (mvff_flush_at);
 *   7. a fresh extension, then as 5;
 *   8. if that failed: as 5, after flushing every list and slab.
 * Each of these takes exactly `size` bytes and puts what is left over
 * (of a listed block, of the last grain of an extension) back at once:
 * onto its quick list if that is not a small size, else into the land.
 * Only a small fill served by 5 to 8 (no slab could be had, or there are
 * no quick lists) takes up to fill_size bytes (mean_size *
 * MVFF_FILL_OBJECTS, 4 KiB by default), or the whole block when it is
 * less than twice that.  The unused part of a region, if any, goes back
 * the same way when the buffer is emptied.
 *
 * Slabs.  A slab is MVFF_SLAB_BYTES (or more grains, for at least
 * MVFF_SLAB_BLOCKS blocks) of the pool's grains, with its descriptor at
 * its base and blocks of one class on a grid after it.  Slabs are carved
 * from zones: MVFF_ZONE_BYTES of grains taken from the arena as the land's
 * extensions are (so MPS_KEY_MVFF_ARENA_HIGH places them too), which go
 * back once no slab is left in them.  Slabs taken one by one from the
 * arena sat among the land's extensions and kept its holes apart; kept
 * together, the benchmark's peak fell by 0.33 MiB on average over 16
 * seeds (docs/performance.md, eleventh round).  A zone's grains that no slab
 * holds are free memory of the pool.  A slab too large for a quarter of a
 * zone, or for which no zone can be had (the commit limit), takes grains
 * of its own from the arena, which go back with it.  Every size up to
 * MVFF_SMALL_MAX is a class; above it, up to slab_max (MVFF_SLAB_MAX, or
 * MVFF_SMALL_MAX when the alignment is coarser than the steps), each
 * doubling has MVFF_CLASS_STEPS classes, whose blocks have the largest
 * size in the class, so at most an eighth is wasted (mvff_slab_class).
 * Without classes, sizes of 257 bytes to 4 KiB took a search of the land
 * and the lock at every fill and free (docs/performance.md, seventh
 * round).  Each grain's tract points at its slab's record (mvff_rec_s:
 * what a free without the lock reads and writes of the slab, in a dense
 * table), so mps_free finds the slab of a block in the arena's table.  A freed block goes back onto its
 * slab's own list, never into the land, so small blocks keep to few pages
 * of their own, as they do in mimalloc: with freed small blocks flushed
 * into the land and carved up by other sizes, the benchmark's own reads
 * of its blocks cost more (docs/performance.md, seventh round).  A slab
 * whose blocks are all free goes back to its zone (or the arena) at once.  Its free
 * blocks are free memory, but trims leave them alone (mvff_free_loose):
 * they can only go back with the whole slab.  Nor does anything else take
 * them: a slab never turns into ordinary memory while it has a block out,
 * because a free without the lock may be on its way to it (see
 * "Lock-free frees").  So mps_alloc is first fit over the memory outside
 * the slabs, and a pool used only through mps_alloc has no slabs at all.
 * A slab's descriptor and the tail after its grid count as free memory
 * in free_size (not in trims), so that a pool with nothing allocated is
 * all free.  A free is a slab's only if it is a whole block of the grid
 * of a live slab of its size.  Any other range that reaches into a
 * slab's or a zone's grains is refused as a client error: a block freed
 * with the wrong size, or a piece of a slab's block left in a buffer
 * (which only a client breaking the allocation-point protocol can make;
 * the block stays in use for the slab).  So the land and the lists never
 * hold memory of slabs' or zones' grains.
 * Small lists stay out of the fill-time flush (6): flushed, their blocks
 * would be carved by medium fills.
 *
 * Flushing sorts the listed blocks by address, so that neighbours go
 * into the land as one range and the rest in one ascending sweep: all at
 * once in scratch grains from the arena when there are more than
 * MVFF_FLUSH_BATCH (a radix sort, which needs the second half of the
 * scratch), else (or when the arena has no memory to spare) in batches of
 * MVFF_FLUSH_BATCH on the stack (a heapsort).
 *
 * Large blocks are freed into the land like any block that has no list,
 * and come from it first fit.  Until small blocks had slabs, a freed large
 * block gave its grains straight back to the arena, since small fills cut
 * up large holes in the land; with slabs that only made the arena unmap
 * and map again (docs/performance.md, seventh round: 5,089 mmap calls and
 * 31,000 page faults, against 2,009 and 13,900 now).
 *
 * Extensions.  While the arena holds spare memory (grains that pools gave
 * back and that are still committed), the pool extends itself by what it
 * needs and no more than fill_size, so that the arena hands back those
 * scattered grains before it commits fresh ones; otherwise by extend_by.
 *
 * Giving memory back.  When more than the spare fraction of the pool is
 * free, the pool returns whole grains to the arena until it is not, and
 * then extend_by bytes more if it can (hysteresis): returning exactly down
 * to the threshold would have the next few frees return a grain each and
 * the next allocation extend again.
 *
 * Caches.  Each allocation point has a cache of blocks of slab classes
 * (mvff_cache_s), which its fills take from without the arena lock
 * (pool.h: fill_fast): a fill then costs no lock, no search and no call
 * into the pool, which was most of the cost of mvff-ap beside the
 * client's own reads (docs/performance.md, sixth round).  When a point's
 * cache has no block of a class, the fill takes the blocks of the class
 * freed without the lock since they were last taken, still without the
 * lock (mvff_cache_take_frees, see "Lock-free frees"); then the cache's
 * untouched rest of a slab; only then does a locked fill move a slab's
 * whole free list, or else its whole untouched rest, into it, at no cost
 * per block (mvff_slab_fill_cache).  The cache's blocks count as in use by
 * their slab; they go back to it when the point is destroyed.  A block
 * freed twice while in a cache is not recognised (its mark is not
 * confirmed by any list the lock guards, and the cache is its thread's
 * alone).
 *
 * Lock-free frees.  mps_free of a whole block of a slab takes no lock
 * in hot and rash (pool.h: free_fast; mvff_free_fast).  It finds the
 * slab's record through the pool's copy of the primary chunk's table
 * (arena_primary_table), which stays put, and what it reads there and in
 * the record (not the descriptor) cannot change while the client owns the
 * block.  It pushes the block, marked as listed, onto the record's atomic
 * `remote` list, and the record, when its list was empty, onto its
 * class's atomic list in remote_slabs[].  Such
 * blocks count as in use until they are taken, in one of two ways, each
 * of which exchanges a class's list for an empty one and then each slab's
 * list, so that a slab and its blocks have one taker at a time:
 *   - a fill whose cache has no block of the class takes them all into
 *     the cache, without the lock (mvff_cache_take_frees): in use still,
 *     now by the cache.  So blocks freed recently are handed out again
 *     while their lines are likely cached, and most fills of a point that
 *     frees its own blocks take no lock (docs/performance.md, tenth
 *     round);
 *   - the locked methods take them in (mvff_collect_class), in order,
 *     onto the slabs' own lists, and release slabs that are then empty: a
 *     slab goes only when its last block is back, so no free can be on
 *     its way to it.  They do so only when needed: every class before the
 *     pool takes more memory from the arena (a new slab, mvff_extend) and
 *     before anything that reports or gives back the pool's memory (sizes,
 *     trims through them, destruction); the block's class before a locked
 *     free or a buffer's rest of a slab size (which looks for the block on
 *     the lists).  A block
 * whose mark says it may be free already, or that is beyond the slab's
 * rest pointer, takes the locked path, which looks properly.  Cool keeps
 * every free locked, to check it against all free memory.  Memory
 * orders are argued at each atomic access.
 *
 * free_size counts the land, the quick lists and the slabs' free blocks
 * (and their descriptors and tails, see "Slabs").  The unused rest of a
 * buffer's region and its cache belong to its allocation point, whose
 * thread may be allocating from them at this moment without the arena
 * lock, so they count as in use until the buffer is emptied or destroyed,
 * and flushes and trims leave them alone.
 *
 * Client errors.  mps_free checks that the last byte of the block belongs
 * to this pool (the generic code checks the first).  A block freed twice
 * while it is still on its quick list is recognised by a mark word that
 * the list keeps in the block's second word (confirmed by a walk of the
 * lists, so client data that happens to look like a mark is no error),
 * in every checking variety; so is a block the land holds (freed twice,
 * flushed in between), before it would be listed (land_overlaps, a
 * descent of the CBS); so is a block of a slab freed twice while it
 * is on its slab's lists or its remote list (not yet taken by a fill,
 * whose cache holds it until it is handed out again), or that the slab
 * never handed out; and so is a range that reaches into slabs' or zones'
 * grains without being a whole block of its slab, such as a slab's block
 * freed with a size of another class (mvff_in_slab_grains: in every
 * variety, since such a free would put live slab memory into the land).
 * A block of the land freed with the wrong size is caught only where it
 * overlaps free memory (below).  In cool,
 * every free is also checked against all free memory (the land, the
 * lists and the slabs), which catches any overlap.
 * In hot a free of a small block overlapping free memory in some other
 * way is not caught (the land still refuses one that reaches it).  Every
 * refused free changes nothing, so a returning assertion handler leaves
 * the pool consistent.
 *
 * Invariants (mvff_check):
 *   1. extend_by is a positive multiple of the arena grain;
 *   2. mean_size is positive and at most extend_by; fill_size is aligned,
 *      positive and at most extend_by;
 *   3. 0 <= spare <= 1, and keep_bytes is spare of total_bytes;
 *   4. the alignment is at least a pointer and at most a grain, is
 *      1 << align_shift, and is the free land's;
 *   5. the free land is valid;
 *   6. total_bytes is whole grains, and free memory (land and lists) is
 *      part of it;
 *   7. free_bytes is the size of the land;
 *   8. quick lists are used only for sizes in [quick_min, quick_max]:
 *      quick_min is two words or more, aligned; quick_max is at most
 *      MVFF_QUICK_LISTS alignments (0 when no size qualifies); the lists
 *      hold quick_count blocks of quick_bytes bytes in all, of which
 *      small_count blocks of small_bytes bytes of small sizes; the mark
 *      key is the pool's own (a moved or copied pool's is not);
 *   9. slab_bytes is the grains of every slab, part of the pool's memory
 *      outside the land and the lists, and slab_free_bytes, the blocks
 *      on their lists and in their rests, is part of it;
 *  10. a slab with free blocks or a rest is its class's current slab or
 *      listed, so that fills find it (a walk of the slabs: cool only, and
 *      only the first MVFF_CHECK_SLABS);
 *  11. (in the same walk) a slab's record has its first block and its
 *      class, and its first block is slab_head bytes from its base, as
 *      free_fast and mvff_rec_slab assume;
 *  12. zones hold zone_bytes of the pool's memory, of which
 *      zone_free_bytes are no slab's; the rest is slabs'; each zone's
 *      grains of slabs and those it gave back are within its size, and a
 *      zone with no slab has gone back; the record of zones' free grains
 *      (zone_rec) has no first block and has handed out nothing.
 */
#include <stdatomic.h>

#include "../../include/mpscmvff.h"
#include "../base/args.h"
#include "../arena/chunk.h"
#include "../data/bt.h"
#include "buffer.h"
#include "free_land.h"

#define MVFF_SIG SIG_MAKE(0xB0)
#define MVFF_DEFAULT_EXTEND_BY ((Size)65536)
#define MVFF_DEFAULT_MEAN_SIZE ((Size)32)
#define MVFF_DEFAULT_SPARE 0.75
/* A fill cut from a larger block holds this many mean-sized objects. */
#define MVFF_FILL_OBJECTS ((Size)128)
/* Quick lists: the largest block size they take, and how many, so that
 * they reach it at the finest alignment, a pointer's (the default,
 * MPS_PF_ALIGN, is one on most platforms). */
#define MVFF_QUICK_MAX ((Size)4096)
#define MVFF_QUICK_LISTS ((Count)(MVFF_QUICK_MAX / sizeof(void *)))
/* Folded into the mark word of a listed block (see "Client errors"). */
#define MVFF_QUICK_MARK ((Word)0x9E3779B97F4A7C15ULL)
/* See mvff_flush_at. */
#define MVFF_FLUSH_FRACTION ((Size)16)
/* Small sizes: carved from slabs of their own, and kept out of the
 * fill-time flush.  Larger listed sizes seldom recur exactly: a fill that
 * misses their exact list takes a larger listed block. */
#define MVFF_SMALL_MAX ((Size)256)
/* Small sizes, by size / alignment - 1 (the alignment is at least a
 * pointer). */
#define MVFF_SMALL_SIZES ((Count)(MVFF_SMALL_MAX / sizeof(void *)))
/* Slab classes (see "Slabs"): every small size, then MVFF_CLASS_STEPS
 * sizes per doubling above MVFF_SMALL_MAX up to MVFF_SLAB_MAX, so that a
 * block of those sizes wastes at most an eighth of its class. */
#define MVFF_SLAB_MAX ((Size)4096)
#define MVFF_CLASS_STEPS ((Count)8)
#define MVFF_CLASS_DOUBLINGS ((Count)4)   /* 256 -> 4096 */
#define MVFF_SLAB_CLASSES (MVFF_SMALL_SIZES + MVFF_CLASS_DOUBLINGS * MVFF_CLASS_STEPS)
_Static_assert(MVFF_SLAB_CLASSES <= 256, "pool_mvff.c: a slab class fits in a byte");
/* A slab is this many bytes (rounded up to grains), and holds at least
 * MVFF_SLAB_BLOCKS blocks (see "Slabs" above). */
#define MVFF_SLAB_BYTES ((Size)16384)
#define MVFF_SLAB_BLOCKS ((Size)16)

/* A cache refill gathers the free lists of further slabs until it has
 * this much (mvff_slab_fill_cache). */
#define MVFF_REFILL_BYTES ((Size)2048)
/* A slab's grid starts at a multiple of this (a cache line, commonly), so
 * that blocks of a power-of-two size up to it each keep to one line, and
 * larger ones start on one. */
#define MVFF_SLAB_HEAD_ALIGN ((Size)64)
/* A flush sorts this many listed blocks at a time, in an array on the
 * stack (see mvff_flush). */
#define MVFF_FLUSH_BATCH ((Count)256)

/* mvff_check walks at most this many slabs (invariant 10). */
#define MVFF_CHECK_SLABS ((Count)64)

typedef struct mvff_s {
  mps_pool_s pool;          /* first: an MVFF is a pool */
  /* The arena's primary chunk table, fixed for the arena's life: free_fast
   * finds a block's tract here without the lock (arena_primary_table). */
  arena_tract_table_s tracts;
  Size extend_by;           /* grains to ask the arena for, as bytes */
  Size mean_size;           /* the client's hint */
  Size fill_size;           /* see "Allocation points" above */
  double spare;             /* fraction of total that may stay free */
  bool arena_high, slot_high, first_fit;
  free_land_s free_land;    /* free memory but the quick lists */
  Size total_bytes;         /* memory obtained from the arena */
  Size free_bytes;          /* the size of the free land */
  Size keep_bytes;          /* spare * total_bytes */
  Size trim_at;             /* free memory above which to give some back */
  Count grain_walk_skip;    /* trims before mvff_reduce may walk again */
  Addr grain_hint;          /* a grain wholly free when noted, or NULL */
  Shift align_shift;        /* log2 of the alignment */
  Size quick_min, quick_max;
  Size quick_bytes;         /* in the quick lists, in all */
  Count quick_count;
  Size small_bytes;         /* of which in lists of small sizes */
  Count small_count;
  Addr quick[MVFF_QUICK_LISTS];   /* list heads, by size / alignment - 1 */
  Word quick_empty[BT_WORDS(MVFF_QUICK_LISTS)];   /* bit set: list empty */
  /* Slabs, by size / alignment - 1 (see "Slabs" above). */
  Size slab_max;                  /* largest size with a slab class, or 0 */
  Count slab_units;               /* slab_max >> align_shift (mvff_ap_fill) */
  /* Fixed at init, so free_fast and fill_fast read them without the lock:
   * the class of each size up to slab_max, by size / alignment - 1, and
   * each class's sizes (mvff_class_s). */
  uint8_t slab_class[MVFF_QUICK_LISTS];
  _Alignas(8) struct mvff_class_s {
    uint16_t size;          /* of its blocks (mvff_slab_class_of) */
    uint16_t span;          /* sizes in [size - span, size] have the
                             * class */
    uint32_t magic;         /* 2^32 / size + 1 (see mvff_on_grid) */
  } classes[MVFF_SLAB_CLASSES];
  Size slab_head;                 /* from a slab's base to its first block */
  Word mark_key;                  /* the pool's address ^ MVFF_QUICK_MARK
                                   * (mvff_quick_mark), fixed at init */
  struct mvff_slab_s *slab_current[MVFF_SLAB_CLASSES];   /* fills take from it first */
  ring_s slab_partial[MVFF_SLAB_CLASSES];  /* other slabs with free blocks */
  ring_s slabs;                   /* every slab */
  ring_s zones;                   /* every zone (see "Slabs") */
  /* The record that the tracts of zones' free grains point at: its first
   * block is NULL and it has handed out nothing, so free_fast leaves a
   * free there to the locked path, which refuses it.  Made with the first
   * zone. */
  struct mvff_rec_s *zone_rec;
  Size zone_bytes;                /* the grains of every zone */
  Size zone_free_bytes;           /* of which no slab's */
  Size slab_bytes;                /* the grains of every slab */
  Size slab_free_bytes;           /* on slabs' free lists and in their rests */
  Size slab_overhead;             /* slabs' descriptors and tails */
  /* Slabs with blocks freed without the lock, by slab class: their
   * records, linked through remote_next (see "Lock-free frees"). */
  _Atomic(struct mvff_rec_s *) remote_slabs[MVFF_SLAB_CLASSES];
  struct mvff_rec_s *rec_free;    /* records of no slab, through remote_next */
  struct mvff_rec_block_s *rec_blocks;   /* where records are */
  Sig sig;
} mvff_s;
typedef mvff_s *MVFF;

/* A slab's record: what free_fast reads and writes of a slab, 32 bytes in
 * a block of records, so that a free without the lock finds it on a line
 * shared with another slab's record, among few pages, rather than on a
 * line of its own on the slab's first page, which missed the L2 on a
 * quarter of the frees (docs/performance.md, tenth round).  Every grain
 * of the slab's tract points at it (tract->p).  A record changes slab
 * only once its slab is gone, when no free can be on its way to it (see
 * "Lock-free frees"). */
typedef struct mvff_rec_s {
  /* Blocks freed without the lock, linked through their first words as
   * free's are: their number, the first freed (the list's tail) and the
   * last (its head), in one word (see MVFF_REMOTE_FIELD), so that taking
   * them in reads none of them.  Aligned so that a record is on one line,
   * whatever the size of a pointer. */
  _Alignas(32) _Atomic(uint64_t) remote;
  Addr first;               /* the slab's first block (its descriptor is
                             * slab_head bytes below), or NULL */
  struct mvff_rec_s *remote_next;   /* in mvff->remote_slabs[], or free */
  /* The rest, never handed out, is from `bump` bytes after the slab's
   * first block to its limit.  Atomic only because free_fast reads it
   * without the lock; written under the lock, relaxed. */
  _Atomic(uint32_t) bump;
  uint8_t cls;              /* the slab's class */
} mvff_rec_s;
typedef mvff_rec_s *MVFFRec;
_Static_assert(sizeof(mvff_rec_s) == 32, "pool_mvff.c: a record is 32 bytes");

/* Records come in blocks of control memory of 4 KiB (so that the arena's
 * control grains hold them without waste) that stay until the pool is
 * destroyed, records aligned to their size within them. */
#define MVFF_REC_BLOCK_BYTES ((Size)4096)
typedef struct mvff_rec_block_s {
  struct mvff_rec_block_s *next;
  mvff_rec_s *recs;         /* MVFF_REC_BLOCK_RECS of them, in `space` */
  char space[MVFF_REC_BLOCK_BYTES - 2 * sizeof(void *)];
} mvff_rec_block_s;
#define MVFF_REC_BLOCK_RECS \
  ((Count)((sizeof(((mvff_rec_block_s *)0)->space) - sizeof(mvff_rec_s)) / sizeof(mvff_rec_s)))
_Static_assert(sizeof(mvff_rec_block_s) == MVFF_REC_BLOCK_BYTES, "pool_mvff.c: a block of records is 4 KiB");

/* A slab: grains that only blocks of one slab class are carved from, on a
 * grid from `first`.  Its descriptor is at its base; its record holds
 * what free_fast needs.  live + free_count + the blocks of its rest are
 * all the blocks of [first, limit); a slab is in its size's partial ring
 * (`listed`) exactly when it has free blocks and is not its size's
 * current slab. */
typedef struct mvff_slab_s {
  Size size;                /* of every block */
  Addr first;               /* the grid of blocks, up to limit */
  MVFFRec rec;
  MVFF mvff;                /* the owner */
  ring_s pool_ring;         /* in mvff->slabs */
  ring_s partial_ring;      /* in mvff->slab_partial[] while listed */
  Size bytes;               /* the slab's grains, descriptor included */
  Addr limit;
  Addr free;                /* freed blocks, LIFO through the first word,
                             * marked as quick-listed blocks are */
  Addr free_tail;           /* the last of them, or NULL */
  Count free_count;
  Count live;               /* handed out (to the client or a cache) */
  struct mvff_zone_s *zone; /* whose grains it has, or NULL: its own */
  bool listed;
} mvff_slab_s;
typedef mvff_slab_s *MVFFSlab;

/* A zone (see "Slabs"): grains of the pool's that slabs are carved from,
 * in arena control memory.  A set bit is a grain of a slab, or one given
 * back to the arena (mvff_zones_trim); the rest are free. */
#define MVFF_ZONE_BYTES ((Size)1 << 20)
#define MVFF_ZONE_GRAINS_MAX ((Count)256)
typedef struct mvff_zone_s {
  ring_s ring;              /* in mvff->zones */
  Addr base;
  Count grains;             /* of the zone, at most MVFF_ZONE_GRAINS_MAX */
  Count used;               /* grains of slabs: more than 0 */
  Count gone;               /* grains given back to the arena */
  Word table[BT_WORDS(MVFF_ZONE_GRAINS_MAX)];
} mvff_zone_s;
typedef mvff_zone_s *MVFFZone;

/* A record's remote word: from the top, the count of blocks on the
 * remote list (16 bits), then the offsets in bytes from the slab's first
 * block of the list's tail and of its head (24 bits each).  A list that
 * is not empty counts at least one block, so 0 is the empty list.  They
 * fit: see mvff_slab_new.  Offsets from the first block are what
 * free_fast has computed already for its checks. */
#define MVFF_REMOTE_FIELD ((uint64_t)0xFFFFFF)
#define MVFF_REMOTE_ONE ((uint64_t)1 << 48)
#define MVFF_REMOTE_COUNT_MAX ((Count)0xFFFF)

/* The block at a remote word's offset `field` of the slab whose first
 * block is `first`. */
static inline Addr mvff_remote_block(Addr first, uint64_t field)
{
  return addr_add(first, (Size)field);
}

/* The slab of a record that has one. */
static inline struct mvff_slab_s *mvff_rec_slab(MVFF mvff, MVFFRec rec)
{
  return addr_ptr(addr_sub(rec->first, mvff->slab_head));
}

/* relaxed: every write is under the arena lock, which orders it for the
 * locked readers; free_fast needs only a value no older than the fill
 * that handed out the block it frees (see "Lock-free frees"). */
static inline Addr mvff_slab_bump(MVFFSlab slab)
{
  return addr_add(slab->first,
                  atomic_load_explicit(&slab->rec->bump, memory_order_relaxed));
}

static inline void mvff_slab_set_bump(MVFFSlab slab, Addr bump)
{
  atomic_store_explicit(&slab->rec->bump, (uint32_t)addr_offset(slab->first, bump),
                        memory_order_relaxed);
}

/* Whether the block `offset` bytes from the first of a grid of `size`-byte
 * blocks starts one: a multiply for the division (on the free path), with
 * magic = 2^32 / size + 1, exact because offset * size < 2^32 (see
 * mvff_slab_new): then floor(offset * magic / 2^32) = floor(offset / size). */
static inline bool mvff_on_grid(Word offset, Size size, uint64_t magic)
{
  return (((uint64_t)offset * magic) >> 32) * size == (uint64_t)offset;
}

static inline bool mvff_slab_on_grid(MVFF mvff, MVFFSlab slab, Addr block)
{
  Index i = mvff->slab_class[(slab->size >> mvff->align_shift) - 1];
  return mvff_on_grid(addr_offset(slab->first, block), slab->size, mvff->classes[i].magic);
}

/* An allocation point's own blocks of slab classes (see "Caches"): only
 * its thread touches them, with or without the arena lock. */
typedef struct mvff_cache_s {
  Addr head[MVFF_SLAB_CLASSES];  /* LIFO lists by slab class, linked
                                  * through each block's first word */
  Addr bump[MVFF_SLAB_CLASSES];  /* and, after each list, the blocks of */
  Addr bump_limit[MVFF_SLAB_CLASSES];   /* [bump, bump_limit) */
} mvff_cache_s;
typedef mvff_cache_s *MVFFCache;

static struct mps_pool_class_s mvff_class_s;
static const pool_buffer_methods_s mvff_buffer_methods;

static MVFF mvff_of_pool(Pool pool)
{
  return PARENT(mvff_s, pool, pool);
}

static Land mvff_land(MVFF mvff)
{
  return free_land_land(&mvff->free_land);
}

static inline bool mvff_quick_takes(MVFF mvff, Size size)
{
  return size <= mvff->quick_max && size >= mvff->quick_min;
}

static inline Index mvff_slab_class(MVFF mvff, Size size);

static bool mvff_check(Pool pool)
{
  MVFF mvff = mvff_of_pool(pool);
  Size grain;
  CHECKS(MVFF_SIG, mvff);
  grain = pool->arena->grain_size;
  CHECKL(mvff->extend_by > 0 && size_is_aligned(mvff->extend_by, grain));   /* 1 */
  CHECKL(mvff->mean_size > 0 && mvff->mean_size <= mvff->extend_by);        /* 2 */
  CHECKL(size_is_aligned(mvff->fill_size, pool->alignment));
  CHECKL(mvff->fill_size > 0 && mvff->fill_size <= mvff->extend_by);
  CHECKL(mvff->spare >= 0.0 && mvff->spare <= 1.0);                          /* 3 */
  CHECKL(mvff->keep_bytes <= mvff->total_bytes);
  CHECKL(pool->alignment >= sizeof(void *) && pool->alignment <= grain);     /* 4 */
  CHECKL(pool->alignment == (Size)1 << mvff->align_shift);
  CHECKL(land_alignment(mvff_land(mvff)) == pool->alignment);
  CHECKD(free_land, &mvff->free_land);                                       /* 5 */
  CHECKL(size_is_aligned(mvff->total_bytes, grain));                         /* 6 */
  CHECKL(mvff->free_bytes <= mvff->total_bytes);
  CHECKL(mvff->quick_bytes <= mvff->total_bytes - mvff->free_bytes);
  CHECKL(mvff->free_bytes == land_size(mvff_land(mvff)));                    /* 7 */
  CHECKL(mvff->quick_min >= 2 * sizeof(Word));                               /* 8 */
  CHECKL(size_is_aligned(mvff->quick_min, pool->alignment));
  CHECKL(mvff->mark_key == ((Word)(uintptr_t)mvff ^ MVFF_QUICK_MARK));
  CHECKL(mvff->quick_max <= (MVFF_QUICK_LISTS << mvff->align_shift));
  CHECKL(mvff->quick_max == 0 || mvff->quick_min <= mvff->quick_max);
  CHECKL((mvff->quick_count == 0) == (mvff->quick_bytes == 0));
  CHECKL(mvff->quick_count * mvff->quick_min <= mvff->quick_bytes);
  CHECKL(mvff->small_count <= mvff->quick_count && mvff->small_bytes <= mvff->quick_bytes);
  CHECKL((mvff->small_count == 0) == (mvff->small_bytes == 0));
  CHECKL(mvff->slab_bytes <= mvff->total_bytes);                            /* 9 */
  CHECKL(mvff->slab_free_bytes + mvff->slab_overhead <= mvff->slab_bytes);
  CHECKL(ring_is_single(&mvff->slabs) == (mvff->slab_bytes == 0));
  CHECKL(size_is_aligned(mvff->slab_max, pool->alignment));   /* free_fast relies on it */
  CHECKL(mvff->slab_units == mvff->slab_max >> mvff->align_shift);
  CHECKL(mvff->zone_free_bytes <= mvff->zone_bytes);                        /* 12 */
  CHECKL(mvff->zone_bytes <= mvff->total_bytes);
  CHECKL(mvff->zone_bytes - mvff->zone_free_bytes <= mvff->slab_bytes);
  CHECKL(ring_is_single(&mvff->zones) == (mvff->zone_bytes == 0));
  CHECKL(mvff->zone_rec == NULL
         || (mvff->zone_rec->first == NULL
             && atomic_load_explicit(&mvff->zone_rec->bump, memory_order_relaxed) == 0));
#if CHECK_LEVEL >= 2
  {
    Ring node, next;
    Count n = 0;
    RING_FOR(node, &mvff->slabs, next) {                                    /* 10 */
      MVFFSlab slab = PARENT(mvff_slab_s, pool_ring, node);
      if (++n > MVFF_CHECK_SLABS)
        break;
      CHECKL(slab->listed || mvff->slab_current[mvff_slab_class(mvff, slab->size)] == slab
             || (slab->free == NULL && mvff_slab_bump(slab) == slab->limit));
      CHECKL(slab->rec != NULL && slab->rec->first == slab->first          /* 11 */
             && slab->rec->cls == mvff_slab_class(mvff, slab->size)
             && slab->first == addr_add(addr_of_ptr(slab), mvff->slab_head));
    }
    n = 0;
    RING_FOR(node, &mvff->zones, next) {                                    /* 12 */
      MVFFZone zone = PARENT(mvff_zone_s, ring, node);
      if (++n > MVFF_CHECK_SLABS)
        break;
      CHECKL(zone->used > 0 && zone->used + zone->gone <= zone->grains
             && zone->grains <= MVFF_ZONE_GRAINS_MAX);
    }
  }
#endif
  return true;
}

/* Quick lists */

static inline Index mvff_quick_index(MVFF mvff, Size size)
{
  return (Index)(size >> mvff->align_shift) - 1;
}

/* The slab class of an aligned size of at most slab_max (see "Slabs"),
 * worked out for init's tables. */
static Index mvff_slab_class_of(MVFF mvff, Size size)
{
  Size base = MVFF_SMALL_MAX, step;
  Index k = 0;
  if (size <= MVFF_SMALL_MAX)
    return mvff_quick_index(mvff, size);
  while (size > 2 * base) {
    base *= 2;
    ++k;
  }
  step = base / MVFF_CLASS_STEPS;
  return MVFF_SMALL_SIZES + k * MVFF_CLASS_STEPS + (Index)((size - base + step - 1) / step) - 1;
}

/* The size of a slab class's blocks: the largest size in the class. */
static Size mvff_slab_class_size_of(MVFF mvff, Index i)
{
  Size base;
  if (i < MVFF_SMALL_SIZES)
    return (Size)(i + 1) << mvff->align_shift;
  i -= MVFF_SMALL_SIZES;
  base = MVFF_SMALL_MAX << (i / MVFF_CLASS_STEPS);
  return base + (i % MVFF_CLASS_STEPS + 1) * (base / MVFF_CLASS_STEPS);
}

static inline Index mvff_slab_class(MVFF mvff, Size size)
{
  return mvff->slab_class[mvff_quick_index(mvff, size)];
}

static inline Size mvff_slab_class_size(MVFF mvff, Index i)
{
  return mvff->classes[i].size;
}

/* The mark a listed block keeps in its second word: its address and the
 * pool's, so that a block of another pool never carries this pool's. */
static inline Word mvff_quick_mark(MVFF mvff, Addr block)
{
  return addr_word(block) ^ mvff->mark_key;
}

static inline Word *mvff_words(Addr block)
{
  return addr_ptr(block);
}

static void mvff_quick_push(MVFF mvff, Addr block, Size size)
{
  Index i = mvff_quick_index(mvff, size);
  Word *w = mvff_words(block);
  if (mvff->quick[i] == NULL)
    bt_res(mvff->quick_empty, i);
  w[0] = addr_word(mvff->quick[i]);
  w[1] = mvff_quick_mark(mvff, block);
  mvff->quick[i] = block;
  mvff->quick_bytes += size;
  ++mvff->quick_count;
  if (size <= MVFF_SMALL_MAX) {
    mvff->small_bytes += size;
    ++mvff->small_count;
  }
}

/* Take a listed block of at least `size` bytes, the smallest there is
 * (best fit among the lists), and set *block_size_o to its size. */
static Addr mvff_quick_take(Size *block_size_o, MVFF mvff, Size size, bool exact)
{
  Index i, limit;
  Addr block;
  Word *w;
  Size block_size;
  AVER(mvff_quick_takes(mvff, size));
  i = mvff_quick_index(mvff, size);
  if (exact ? mvff->quick[i] == NULL
      : !bt_find_short_res_range(&i, &limit, mvff->quick_empty, i,
                                 mvff_quick_index(mvff, mvff->quick_max) + 1, 1))
    return NULL;
  block = mvff->quick[i];
  block_size = (Size)(i + 1) << mvff->align_shift;
  w = mvff_words(block);
  mvff->quick[i] = addr_of_word(w[0]);
  if (mvff->quick[i] == NULL)
    bt_set(mvff->quick_empty, i);
  w[1] = 0;   /* no longer listed: a later free must not look freed twice */
  mvff->quick_bytes -= block_size;
  --mvff->quick_count;
  if (block_size <= MVFF_SMALL_MAX) {
    mvff->small_bytes -= block_size;
    --mvff->small_count;
  }
  *block_size_o = block_size;
  return block;
}

/* Whether [base, base + size) overlaps a listed block: a walk of every
 * list, so it is done only in cool, or when a mark says it may. */
static bool mvff_quick_overlaps(MVFF mvff, Addr base, Size size)
{
  Word lo = addr_word(base), hi = lo + size;
  Count left = mvff->quick_count;
  Index i;
  for (i = 0; left > 0 && i < MVFF_QUICK_LISTS; ++i) {
    Size block_size = (Size)(i + 1) << mvff->align_shift;
    Addr block;
    for (block = mvff->quick[i]; block != NULL; block = addr_of_word(mvff_words(block)[0])) {
      Word b = addr_word(block);
      --left;
      if (b < hi && lo < b + block_size)
        return true;
    }
  }
  return false;
}

/* Sort a flush batch (block addresses) in place: a heapsort, so no
 * recursion and no worst case. */
static void mvff_batch_sort(Word *b, Count n)
{
  Count start = n / 2, end = n;
  while (end > 1) {
    Word t;
    Count root, child;
    if (start > 0) {
      --start;
    } else {
      --end;
      t = b[end]; b[end] = b[0]; b[0] = t;
    }
    root = start;
    while ((child = 2 * root + 1) < end) {
      if (child + 1 < end && b[child + 1] > b[child])
        ++child;
      if (b[root] >= b[child])
        break;
      t = b[root]; b[root] = b[child]; b[child] = t;
      root = child;
    }
  }
}

/* Insert a batch of blocks taken off the lists into the land.  Each
 * block holds its size in its second word (see mvff_flush).  Sorted,
 * blocks that touch go in as one range, and the rest go in in address
 * order, which a splay tree serves more cheaply than a scattered order
 * (each search starts near where the previous one left the root). */
/* Sort n block addresses (aligned to 1 << shift) in b, using tmp (n
 * words) as well: a least-significant-digit radix sort, eight bits of the
 * offset from the lowest address at a time, which costs a few passes over
 * the array where a heapsort of tens of thousands of addresses costs
 * dozens of cache-unfriendly comparisons each. */
static void mvff_radix_sort(Word *b, Word *tmp, Count n, Shift shift)
{
  Word lo = WORD_ONES, hi = 0, span;
  Count count[256];
  Index i;
  Shift digit;
  Word *from = b, *to = tmp, *t;
  for (i = 0; i < n; ++i) {
    if (b[i] < lo) lo = b[i];
    if (b[i] > hi) hi = b[i];
  }
  span = (hi - lo) >> shift;
  for (digit = 0; digit == 0 || (digit < WORD_WIDTH && (span >> digit) != 0); digit += 8) {
    Count sum = 0;
    for (i = 0; i < 256; ++i)
      count[i] = 0;
    for (i = 0; i < n; ++i)
      ++count[(((from[i] - lo) >> shift) >> digit) & 255];
    for (i = 0; i < 256; ++i) {
      Count c = count[i];
      count[i] = sum;
      sum += c;
    }
    for (i = 0; i < n; ++i)
      to[count[(((from[i] - lo) >> shift) >> digit) & 255]++] = from[i];
    t = from; from = to; to = t;
  }
  if (from != b)
    for (i = 0; i < n; ++i)
      b[i] = from[i];
}

/* The whole grains of `range`, [*lo_o, *hi_o): whether there are any. */
static inline bool mvff_whole_grains(Addr *lo_o, Addr *hi_o, Range range, Size grain)
{
  *lo_o = addr_align_up(range_base(range), grain);
  *hi_o = addr_align_down(range_limit(range), grain);
  return addr_word(*lo_o) < addr_word(*hi_o);
}

/* The land has just made `joined`.  If it holds a whole grain, note the
 * one at the end placement uses less, for a trim whose largest block
 * holds none (mvff_reduce), which tries it before walking the land. */
static inline void mvff_note_joined(MVFF mvff, Range joined)
{
  Addr lo, hi;
  if (mvff_whole_grains(&lo, &hi, joined, mvff->pool.arena->grain_size))
    mvff->grain_hint = mvff->arena_high ? lo : addr_sub(hi, mvff->pool.arena->grain_size);
}

/* Put [base, limit), if not empty, into the land, counting it there.
 * Refused only if it overlaps free memory in the land (reported by the
 * land): it is then dropped, keeping the land consistent. */
static void mvff_land_give(MVFF mvff, Addr base, Addr limit)
{
  range_s range, joined;
  if (base == limit)
    return;
  range_init(&range, base, limit);
  if (land_insert(&joined, mvff_land(mvff), &range) == MPS_RES_OK) {
    mvff->free_bytes += range_size(&range);
    mvff_note_joined(mvff, &joined);
  }
}

static void mvff_batch_insert(MVFF mvff, Word *b, Word *tmp, Count n)
{
  Index i = 0;
  if (tmp != NULL)
    mvff_radix_sort(b, tmp, n, mvff->align_shift);
  else
    mvff_batch_sort(b, n);
#if CHECK_LEVEL >= 2
  /* The insertions below are correct in any order, so only this shows a
   * sort that went wrong (and made every flush slow). */
  for (i = 1; i < n; ++i)
    AVER(b[i - 1] < b[i]);
  i = 0;
#endif
  while (i < n) {
    Word base = b[i], limit = base + mvff_words(addr_of_word(base))[1];
    for (++i; i < n && b[i] == limit; ++i)
      limit += mvff_words(addr_of_word(b[i]))[1];
    /* A refusal is a free that hot could not catch, reported now. */
    mvff_land_give(mvff, addr_of_word(base), addr_of_word(limit));
  }
}

/* Give back what is left over of a block or region, [base, limit): onto
 * its quick list if it has one and is not a small size (whose blocks
 * come from slabs), else into the land. */
static void mvff_give_back(MVFF mvff, Addr base, Addr limit)
{
  Size size = addr_offset(base, limit);
  if (size == 0)
    return;
  if (size > MVFF_SMALL_MAX && mvff_quick_takes(mvff, size)
      && addr_is_aligned(base, mvff->pool.alignment))
    mvff_quick_push(mvff, base, size);
  else
    mvff_land_give(mvff, base, limit);
}

/* Move listed blocks into the land, where they coalesce, a batch at a
 * time: every list if `all`, else only the lists of sizes above
 * MVFF_SMALL_MAX (see "Slabs").  A block taken off
 * its list keeps its size in its second word until it is inserted: that
 * also unmarks it (a size is never a mark that the lists confirm), as in
 * mvff_quick_take. */
static void mvff_flush(MVFF mvff, bool all)
{
  Word stack[MVFF_FLUSH_BATCH];
  Word *batch = stack, *tmp = NULL;
  Count n = 0, cap = MVFF_FLUSH_BATCH;
  Arena arena = mvff->pool.arena;
  Size scratch = 0;
  Addr scratch_base = NULL;
  Count count = all ? mvff->quick_count : mvff->quick_count - mvff->small_count;
  Index i;
  /* Many blocks: sort them all at once in scratch grains from the arena,
   * so that they go into the land in one ascending sweep, which the splay
   * tree serves at a small constant cost per insertion.  Sorted only in
   * stack batches, each batch spans the whole pool and every insertion
   * splays down from far away (docs/performance.md, third round: 36% of
   * the benchmark's instructions were these insertions).  If the arena
   * cannot spare the scratch memory without growing, the stack batches
   * still work: the land's descriptors could take grains of a chunk grown
   * for the scratch and keep it after a call that then fails (see
   * arena_growth_bar). */
  if (count > MVFF_FLUSH_BATCH
      && count <= (SIZE_MAX - arena->grain_size) / (2 * sizeof(Word))) {
    Size bytes = size_align_up(2 * count * sizeof(Word), arena->grain_size);
    Res res;
    arena_growth_bar(arena);
    res = arena_alloc(&scratch_base, arena, bytes, NULL);
    arena_growth_unbar(arena);
    if (res == MPS_RES_OK) {
      batch = addr_ptr(scratch_base);
      tmp = batch + count;
      cap = count;
      scratch = bytes;
    }
  }
  for (i = 0; count > 0 && i < MVFF_QUICK_LISTS; ++i) {
    Size size = (Size)(i + 1) << mvff->align_shift;
    Addr block;
    if (!all && size <= MVFF_SMALL_MAX)
      continue;
    if (mvff->quick[i] != NULL)
      bt_set(mvff->quick_empty, i);
    while ((block = mvff->quick[i]) != NULL) {
      mvff->quick[i] = addr_of_word(mvff_words(block)[0]);
      mvff_words(block)[1] = size;
      mvff->quick_bytes -= size;
      --mvff->quick_count;
      if (size <= MVFF_SMALL_MAX) {
        mvff->small_bytes -= size;
        --mvff->small_count;
      }
      --count;
      batch[n] = addr_word(block);
      if (++n == cap) {
        mvff_batch_insert(mvff, batch, tmp, n);
        n = 0;
      }
    }
  }
  mvff_batch_insert(mvff, batch, tmp, n);
  if (scratch > 0)
    arena_free(arena, scratch_base, scratch, NULL);
}

#if CHECK_LEVEL >= 2
static bool mvff_slabs_overlap(MVFF mvff, Word lo, Word hi);

typedef struct mvff_overlap_s {
  Word lo, hi;
  bool found;
} mvff_overlap_s;

static bool mvff_overlap_visit(Land land, Range range, void *closure)
{
  mvff_overlap_s *o = closure;
  UNUSED(land);
  if (addr_word(range_base(range)) < o->hi && o->lo < addr_word(range_limit(range))) {
    o->found = true;
    return false;
  }
  return true;
}

/* Whether [base, base + size) overlaps any free memory (cool only: a walk
 * of the whole land, every list and every slab). */
static bool mvff_overlaps_free(MVFF mvff, Addr base, Size size)
{
  mvff_overlap_s o;
  o.lo = addr_word(base);
  o.hi = o.lo + size;
  o.found = false;
  (void)land_iterate(mvff_land(mvff), mvff_overlap_visit, &o);
  return o.found || mvff_slabs_overlap(mvff, o.lo, o.hi)
         || mvff_quick_overlaps(mvff, base, size);
}
#endif

/* How much the lists may hold before a fill that the land cannot serve
 * flushes them: a sixteenth of the pool, and at least extend_by.  Each
 * flushed block costs a splay insertion; the lower the bound, the sooner
 * blocks leave the lists before they are reused (docs/performance.md). */
static inline Size mvff_flush_at(MVFF mvff)
{
  return size_max(mvff->extend_by, mvff->total_bytes / MVFF_FLUSH_FRACTION);
}

/* All the pool's free memory: the land, the lists and the slabs. */
static inline Size mvff_free_all(MVFF mvff)
{
  return mvff->free_bytes + mvff->quick_bytes + mvff->slab_free_bytes;
}

/* The free memory that trims act on: the land and the lists.  A slab's
 * free blocks go back only with the whole slab, as soon as it is empty. */
static inline Size mvff_free_loose(MVFF mvff)
{
  return mvff->free_bytes + mvff->quick_bytes;
}

/* Whether a flush of everything would move anything into the land. */
static inline bool mvff_anything_outside_land(MVFF mvff)
{
  return mvff->quick_count > 0;
}

static void mvff_set_total(MVFF mvff, Size total)
{
  mvff->total_bytes = total;
  mvff->keep_bytes = mvff->spare >= 1.0 ? total : (Size)(mvff->spare * (double)total);
  mvff->trim_at = mvff->keep_bytes;
}

static Res mvff_init(Pool pool, mps_arg_s args[])
{
  MVFF mvff = mvff_of_pool(pool);
  Arena arena = pool->arena;
  Size grain = arena->grain_size;
  Size extend_by = MVFF_DEFAULT_EXTEND_BY, mean_size = MVFF_DEFAULT_MEAN_SIZE;
  Align align = MPS_PF_ALIGN;
  double spare = MVFF_DEFAULT_SPARE;
  bool arena_high = false, slot_high = false, first_fit = true;
  mps_arg_s arg;
  Index i;
  Res res;

  bool has_extend_by = args_pick(&arg, args, MPS_KEY_EXTEND_BY);
  if (has_extend_by)
    extend_by = arg.val.size;
  if (args_pick(&arg, args, MPS_KEY_MEAN_SIZE))
    mean_size = arg.val.size;
  /* mvff.rst: the mean size is a hint, and nothing breaks when it is
   * wrong, so a mean above the default extension raises the extension
   * rather than refusing the pool; only a given pair can contradict. */
  if (!has_extend_by && mean_size > extend_by)
    extend_by = mean_size;
  if (args_pick(&arg, args, MPS_KEY_ALIGN))
    align = arg.val.align;
  if (args_pick(&arg, args, MPS_KEY_SPARE))
    spare = arg.val.d;
  if (args_pick(&arg, args, MPS_KEY_MVFF_ARENA_HIGH))
    arena_high = arg.val.b != 0;
  if (args_pick(&arg, args, MPS_KEY_MVFF_SLOT_HIGH))
    slot_high = arg.val.b != 0;
  if (args_pick(&arg, args, MPS_KEY_MVFF_FIRST_FIT))
    first_fit = arg.val.b != 0;

  if (extend_by == 0 || extend_by > SIZE_MAX - grain)
    return MPS_RES_PARAM;
  if (mean_size == 0 || mean_size > extend_by)
    return MPS_RES_PARAM;
  if (!size_is_p2(align) || align < sizeof(void *) || align > grain)
    return MPS_RES_PARAM;
  if (!(spare >= 0.0 && spare <= 1.0))   /* also refuses a NaN */
    return MPS_RES_PARAM;

  extend_by = size_align_up(extend_by, grain);
  mvff->extend_by = extend_by;
  mvff->mean_size = mean_size;
  /* No overflow: mean_size <= extend_by / (2 * MVFF_FILL_OBJECTS) there. */
  if (mean_size > extend_by / (2 * MVFF_FILL_OBJECTS))
    mvff->fill_size = size_max(size_align_down(extend_by / 2, align), align);
  else
    mvff->fill_size = size_align_up(mean_size * MVFF_FILL_OBJECTS, align);
  mvff->spare = spare;
  mvff->grain_walk_skip = 0;
  mvff->grain_hint = NULL;
  mvff->arena_high = arena_high;
  mvff->slot_high = slot_high;
  mvff->first_fit = first_fit;
  mvff->free_bytes = 0;
  mvff_set_total(mvff, 0);
  mvff->align_shift = 0;
  while (((Size)1 << mvff->align_shift) < align)
    ++mvff->align_shift;
  mvff->quick_min = size_align_up(2 * sizeof(Word), align);
  mvff->quick_max = size_min(MVFF_QUICK_MAX, MVFF_QUICK_LISTS << mvff->align_shift);
  /* No quick lists if blocks this aligned are never small, or under the
   * debugging class (pool_debug.c), whose free-space template then covers
   * every freed block whole: the lists write into the blocks they hold. */
  if (mvff->quick_min > mvff->quick_max || pool->klass != &mvff_class_s)
    mvff->quick_max = 0;
  mvff->quick_bytes = 0;
  mvff->quick_count = 0;
  mvff->small_bytes = 0;
  mvff->small_count = 0;
  for (i = 0; i < MVFF_QUICK_LISTS; ++i)
    mvff->quick[i] = NULL;
  /* Slabs come with the quick lists.  Classes above MVFF_SMALL_MAX only
   * when their steps are aligned. */
  if (mvff->quick_max == 0)
    mvff->slab_max = 0;
  else if (align <= MVFF_SMALL_MAX / MVFF_CLASS_STEPS)
    mvff->slab_max = size_min(MVFF_SLAB_MAX, mvff->quick_max);
  else
    mvff->slab_max = size_min(MVFF_SMALL_MAX, mvff->quick_max);
  /* No size above the aligned part has a class (an alignment above
   * MVFF_SMALL_MAX leaves none); aligned, it bounds rounded sizes too. */
  mvff->slab_max = size_align_down(mvff->slab_max, align);
  mvff->slab_units = mvff->slab_max >> mvff->align_shift;
  for (i = 0; i < MVFF_SLAB_CLASSES; ++i) {
    mvff->slab_current[i] = NULL;
    ring_init(&mvff->slab_partial[i]);
    /* A class's size is at least two words; those above MVFF_SLAB_MAX
     * (of a coarse alignment) are above slab_max, so never used: zero. */
    Size csize = mvff_slab_class_size_of(mvff, i);
    if (csize <= MVFF_SLAB_MAX) {
      /* The next smaller class in use: the first stepped class follows
       * MVFF_SMALL_MAX's, not the last small index, which for an
       * alignment above a word is a larger size that no size maps to. */
      Size below = i == 0 ? 0
                   : i == MVFF_SMALL_SIZES ? MVFF_SMALL_MAX
                   : mvff_slab_class_size_of(mvff, i - 1);
      AVER(below < csize);
      mvff->classes[i].size = (uint16_t)csize;
      mvff->classes[i].span = (uint16_t)(csize - below - 1);
      mvff->classes[i].magic = (uint32_t)(((uint64_t)1 << 32) / csize + 1);
    } else {
      mvff->classes[i].size = mvff->classes[i].span = 0;
      mvff->classes[i].magic = 0;
    }
  }
  mvff->mark_key = (Word)(uintptr_t)mvff ^ MVFF_QUICK_MARK;
  mvff->slab_head = size_align_up(sizeof(mvff_slab_s), size_max(align, MVFF_SLAB_HEAD_ALIGN));
  mvff->rec_free = NULL;
  mvff->rec_blocks = NULL;
  for (i = 0; i < MVFF_QUICK_LISTS; ++i) {
    Size size = (Size)(i + 1) << mvff->align_shift;
    mvff->slab_class[i] = size <= mvff->slab_max ? (uint8_t)mvff_slab_class_of(mvff, size) : 0;
  }
  ring_init(&mvff->slabs);
  ring_init(&mvff->zones);
  mvff->zone_rec = NULL;
  mvff->zone_bytes = 0;
  mvff->zone_free_bytes = 0;
  mvff->slab_bytes = 0;
  mvff->slab_free_bytes = 0;
  mvff->slab_overhead = 0;
  for (i = 0; i < MVFF_SLAB_CLASSES; ++i)
    atomic_init(&mvff->remote_slabs[i], NULL);
  bt_set_range(mvff->quick_empty, 0, MVFF_QUICK_LISTS);
  arena_primary_table(&mvff->tracts, arena);
  pool->alignment = align;
  /* Caches hold quick-list blocks, so they come with the lists. */
  if (mvff->quick_max > 0)
    pool->buffer_methods = &mvff_buffer_methods;

  res = free_land_init(&mvff->free_land, pool, align);
  if (res != MPS_RES_OK)
    return res;
  mvff->sig = MVFF_SIG;
  return MPS_RES_OK;
}

static void mvff_slabs_forget(MVFF mvff);
static void mvff_recs_finish(MVFF mvff);
static void mvff_flush_everything(MVFF mvff);
static void mvff_collect(MVFF mvff);
static void mvff_zones_forget(MVFF mvff);
static void mvff_zones_trim(MVFF mvff);

static void mvff_finish(Pool pool)
{
  MVFF mvff = mvff_of_pool(pool);
  Size returned;
  AVERT(pool, pool);
  mvff->sig = SIG_INVALID;
  /* The quick lists, the slabs and the freelist live in the memory about
   * to go back: forget them first. */
  mvff_collect(mvff);
  mvff_slabs_forget(mvff);
  mvff_zones_forget(mvff);
  mvff_recs_finish(mvff);
  free_land_finish(&mvff->free_land);
  returned = free_land_return_pool_grains(pool);
  AVER(returned == mvff->total_bytes);
  UNUSED(returned);
}

/* Grains from the arena for the pool, placed as ARENA_HIGH says. */
static Res mvff_arena_alloc(Addr *base_o, MVFF mvff, Size size)
{
  Pool pool = &mvff->pool;
  if (mvff->arena_high)
    return arena_alloc_high(base_o, pool->arena, size, pool);
  return arena_alloc(base_o, pool->arena, size, pool);
}

/* Get at least `size` bytes more from the arena and add them to the
 * free land.  On failure nothing has changed. */
static Res mvff_extend(MVFF mvff, Size size)
{
  Pool pool = &mvff->pool;
  Arena arena = pool->arena;
  Size grain = arena->grain_size, need, want;
  range_s range, joined;
  Addr base;
  Res res;

  if (size > SIZE_MAX - grain)
    return MPS_RES_RESOURCE;   /* no address space could hold it */
  /* Slabs emptied by frees not yet taken in go back first: to their zone,
   * and a zone with no slab left to the arena, where this extension may
   * find its grains. */
  mvff_collect(mvff);
  need = size_align_up(size, grain);
  /* While the arena holds spare memory, take no more than needed, so
   * that the scattered grains this pool and others gave back are reused
   * before fresh ones (which would add to the memory in use). */
  if (arena->spare_committed >= need)
    want = size_max(need, size_align_up(mvff->fill_size, grain));
  else
    want = size_max(need, mvff->extend_by);
  res = mvff_arena_alloc(&base, mvff, want);
  if (res != MPS_RES_OK && want > need) {
    /* Perhaps just enough for this request fits (design/poolmvff.txt). */
    want = need;
    res = mvff_arena_alloc(&base, mvff, want);
  }
  if (res != MPS_RES_OK)
    return res;

  range_init_size(&range, base, want);
  /* The failover falls back to its freelist: this cannot fail. */
  res = land_insert(&joined, mvff_land(mvff), &range);
  AVER(res == MPS_RES_OK);
  UNUSED(res);
  mvff->free_bytes += want;
  mvff_set_total(mvff, mvff->total_bytes + want);
  return MPS_RES_OK;
}

/* For mvff_reduce: a free block of the land that holds a whole grain,
 * the lowest one if `lowest`, else the highest. */
typedef struct mvff_whole_grain_s {
  Size grain;
  bool lowest;
  bool found;
  Count visited;
  range_s block;
} mvff_whole_grain_s;

static bool mvff_whole_grain_visit(Land land, Range range, void *closure)
{
  mvff_whole_grain_s *w = closure;
  Addr lo, hi;
  UNUSED(land);
  ++w->visited;
  if (mvff_whole_grains(&lo, &hi, range, w->grain)) {
    w->block = *range;
    w->found = true;
    return !w->lowest;
  }
  return true;
}

/* Give whole free grains of the land back to the arena: enough that no
 * more than keep_bytes of the pool is free, and then up to extend_by more
 * (see "Giving memory back" above).  Largest blocks first, so that the
 * arena gets long runs, from the end the placement policy uses less. */
static void mvff_reduce(MVFF mvff)
{
  Pool pool = &mvff->pool;
  Arena arena = pool->arena;
  Size grain = arena->grain_size;
  Size total = mvff->total_bytes, free = mvff_free_loose(mvff);
  Size goal, returned = 0;
  double excess;

  if (free <= mvff->keep_bytes)
    return;
  /* Returning x bytes leaves free - x of total - x: enough once
   * free - x <= spare * (total - x), that is x >= excess / (1 - spare)
   * (spare < 1 here, or keep_bytes would be total). */
  excess = ((double)free - mvff->spare * (double)total) / (1.0 - mvff->spare);
  if (excess >= (double)free)
    goal = free;
  else
    goal = (Size)excess + 1;
  goal = goal + size_min(mvff->extend_by, free - size_min(goal, free));
  goal = size_align_up(size_min(goal, SIZE_MAX - grain), grain);

  while (returned < goal) {
    range_s block, old, part, deleted;
    Addr base, limit;
    Size size;
    Res res;
    if (!land_find_largest(&block, &old, mvff_land(mvff), grain, LAND_FIND_DELETE_NONE))
      break;
    if (!mvff_whole_grains(&base, &limit, &block, grain)) {
      /* The largest block (at least a grain, fewer than two) holds no
       * whole grain, but a smaller one may span one.  Stopping here kept
       * such a block free above the spare fraction (a pool with spare 0
       * kept a whole free grain) until more was freed.  The grain that a
       * free noted last (mvff_note_joined) is tried first: a delete of a
       * range not wholly free changes nothing.  Else a walk of the land
       * finds one, preferring the end of the pool that placement uses
       * less.  A walk is not tried again for as many trims as it visited
       * blocks, so that it costs a trim O(1) amortized: a fragmented pool
       * over its spare fraction would otherwise walk its land at nearly
       * every free (bench/bench.c's mvff-sac: 11.9 million visits in 3,783
       * walks).  A whole grain no free has noted may then stay free for
       * that many trims. */
      mvff_whole_grain_s w;
      if (mvff->grain_hint != NULL) {
        range_init_size(&part, mvff->grain_hint, grain);
        mvff->grain_hint = NULL;
        if (land_delete(&deleted, mvff_land(mvff), &part) == MPS_RES_OK) {
          size = grain;
          goto release;
        }
      }
      if (mvff->grain_walk_skip > 0) {
        --mvff->grain_walk_skip;
        break;
      }
      w.grain = grain;
      w.lowest = mvff->arena_high;
      w.found = false;
      w.visited = 0;
      (void)land_iterate(mvff_land(mvff), mvff_whole_grain_visit, &w);
      mvff->grain_walk_skip = w.visited;
      if (!w.found)
        break;
      (void)mvff_whole_grains(&base, &limit, &w.block, grain);
    }
    size = size_min(addr_offset(base, limit), goal - returned);
    if (mvff->arena_high)
      range_init_size(&part, base, size);
    else
      range_init(&part, addr_sub(limit, size), limit);
    /* The failover deletes without failing: fragments it cannot describe
     * in the CBS go to the freelist. */
    res = land_delete(&deleted, mvff_land(mvff), &part);
    AVER(res == MPS_RES_OK);
    if (res != MPS_RES_OK)
      break;
  release:
    pool_before_release(pool, range_base(&part), size);
    arena_free(arena, range_base(&part), size, pool);
    mvff->free_bytes -= size;
    mvff_set_total(mvff, mvff->total_bytes - size);
    returned += size;
  }
}

/* More than the spare fraction is free: give some back, from the land
 * alone if that is enough, else after flushing the lists.  If even that
 * leaves too much free (no whole grains), try again only once more has
 * been freed. */
static void mvff_trim(MVFF mvff)
{
  mvff_reduce(mvff);
  if (mvff_free_loose(mvff) > mvff->keep_bytes && mvff->quick_count > 0) {
    mvff_flush(mvff, true);
    mvff_reduce(mvff);
  }
  mvff_zones_trim(mvff);
  mvff->trim_at = size_max(mvff->keep_bytes, mvff_free_loose(mvff));
}

static inline void mvff_maybe_trim(MVFF mvff)
{
  if (mvff_free_loose(mvff) > mvff->trim_at)
    mvff_trim(mvff);
}

/* Slabs (see "Slabs" above) */

static inline MVFFSlab mvff_slab_of_pool_ring(Ring node)
{
  return PARENT(mvff_slab_s, pool_ring, node);
}

/* Point the tract of every grain of the pool's [base, limit) at `p`. */
static void mvff_set_tracts(MVFF mvff, Addr base, Addr limit, void *p)
{
  Arena arena = mvff->pool.arena;
  Addr grain;
  for (grain = base; addr_word(grain) < addr_word(limit);
       grain = addr_add(grain, arena->grain_size)) {
    Tract tract = arena_tract_of_addr(arena, grain);
    AVER(tract != NULL && tract->pool == &mvff->pool);
    tract->p = p;
  }
}

static void mvff_slab_set_tracts(MVFF mvff, MVFFSlab slab, void *p)
{
  mvff_set_tracts(mvff, addr_of_ptr(slab), addr_add(addr_of_ptr(slab), slab->bytes), p);
}

/* A record for a new slab, or NULL if there is no control memory for a
 * block of them. */
static MVFFRec mvff_rec_get(MVFF mvff)
{
  MVFFRec rec = mvff->rec_free;
  if (rec == NULL) {
    mvff_rec_block_s *block;
    void *p;
    Index i;
    if (arena_control_alloc(&p, mvff->pool.arena, sizeof(mvff_rec_block_s)) != MPS_RES_OK)
      return NULL;
    block = p;
    block->recs = (mvff_rec_s *)addr_ptr(addr_align_up(addr_of_ptr(block->space),
                                                       sizeof(mvff_rec_s)));
    block->next = mvff->rec_blocks;
    mvff->rec_blocks = block;
    for (i = 0; i < MVFF_REC_BLOCK_RECS; ++i) {
      block->recs[i].first = NULL;
      block->recs[i].remote_next = mvff->rec_free;
      mvff->rec_free = &block->recs[i];
    }
    rec = mvff->rec_free;
  }
  mvff->rec_free = rec->remote_next;
  return rec;
}

static void mvff_rec_put(MVFF mvff, MVFFRec rec)
{
  rec->first = NULL;
  rec->remote_next = mvff->rec_free;
  mvff->rec_free = rec;
}

/* For mvff_finish: the records' blocks go back. */
static void mvff_recs_finish(MVFF mvff)
{
  while (mvff->rec_blocks != NULL) {
    mvff_rec_block_s *block = mvff->rec_blocks;
    mvff->rec_blocks = block->next;
    arena_control_free(mvff->pool.arena, block, sizeof(mvff_rec_block_s));
  }
  mvff->rec_free = NULL;
}

/* The grains of a zone in this arena: MVFF_ZONE_BYTES, or fewer of
 * larger grains, at most MVFF_ZONE_GRAINS_MAX. */
static Count mvff_zone_grains(MVFF mvff)
{
  Size grain = mvff->pool.arena->grain_size;
  Count n = (Count)(MVFF_ZONE_BYTES / grain);
  return n > MVFF_ZONE_GRAINS_MAX ? MVFF_ZONE_GRAINS_MAX : n;
}

/* A record for a slab whose first block is `first` (NULL: none) and
 * whose class is cls, nothing freed and nothing handed out. */
static void mvff_rec_init(MVFFRec rec, Addr first, Index cls)
{
  atomic_init(&rec->remote, (uint64_t)0);
  rec->first = first;
  rec->remote_next = NULL;
  atomic_init(&rec->bump, (uint32_t)0);
  rec->cls = (uint8_t)cls;
}

/* A new zone, all of it free, its grains' tracts pointing at zone_rec
 * (made with the first zone); or NULL if there is no control memory or
 * the arena cannot commit the zone. */
static MVFFZone mvff_zone_new(MVFF mvff)
{
  Arena arena = mvff->pool.arena;
  Count grains = mvff_zone_grains(mvff);
  Size bytes = (Size)grains << arena->grain_shift;
  MVFFZone zone;
  Addr base;
  void *p;
  if (mvff->zone_rec == NULL) {
    mvff->zone_rec = mvff_rec_get(mvff);
    if (mvff->zone_rec == NULL)
      return NULL;
    mvff_rec_init(mvff->zone_rec, NULL, 0);
  }
  if (arena_control_alloc(&p, arena, sizeof(mvff_zone_s)) != MPS_RES_OK)
    return NULL;
  if (mvff_arena_alloc(&base, mvff, bytes) != MPS_RES_OK) {
    arena_control_free(arena, p, sizeof(mvff_zone_s));
    return NULL;
  }
  zone = p;
  ring_init(&zone->ring);
  ring_append(&mvff->zones, &zone->ring);
  zone->base = base;
  zone->grains = grains;
  zone->used = 0;
  zone->gone = 0;
  bt_res_range(zone->table, 0, MVFF_ZONE_GRAINS_MAX);
  mvff_set_tracts(mvff, base, addr_add(base, bytes), mvff->zone_rec);
  mvff->zone_bytes += bytes;
  mvff->zone_free_bytes += bytes;
  mvff_set_total(mvff, mvff->total_bytes + bytes);
  return zone;
}

/* `bytes` (whole grains) for a slab from a zone, the first in the ring
 * with room, or a new one; else (a slab too large for a quarter of a
 * zone, no zone to be had) grains of its own from the arena, which then
 * count in the pool's total here.  *zone_o is the zone, or NULL. */
static Res mvff_slab_grains(Addr *base_o, MVFFZone *zone_o, MVFF mvff, Size bytes)
{
  Arena arena = mvff->pool.arena;
  Count n = (Count)(bytes >> arena->grain_shift);
  Ring node, next;
  MVFFZone zone = NULL;
  Index base = 0, limit = n;
  Res res;
  if (n * 4 <= mvff_zone_grains(mvff)) {
    RING_FOR(node, &mvff->zones, next) {
      MVFFZone z = PARENT(mvff_zone_s, ring, node);
      if (z->grains - z->used - z->gone >= n
          && bt_find_short_res_range(&base, &limit, z->table, 0, z->grains, n)) {
        zone = z;
        break;
      }
    }
    if (zone == NULL)
      zone = mvff_zone_new(mvff);   /* base and limit are 0 and n */
    if (zone != NULL) {
      bt_set_range(zone->table, base, limit);
      zone->used += n;
      mvff->zone_free_bytes -= bytes;
      *base_o = addr_add(zone->base, (Size)base << arena->grain_shift);
      *zone_o = zone;
      return MPS_RES_OK;
    }
  }
  res = mvff_arena_alloc(base_o, mvff, bytes);
  if (res == MPS_RES_OK) {
    mvff_set_total(mvff, mvff->total_bytes + bytes);
    *zone_o = NULL;
  }
  return res;
}

/* Give back to the arena the zone's free grains [base, limit), whose bits
 * the caller has dealt with. */
static void mvff_zone_give_back(MVFF mvff, MVFFZone zone, Index base, Index limit)
{
  Shift shift = mvff->pool.arena->grain_shift;
  Size bytes = (Size)(limit - base) << shift;
  mvff->zone_bytes -= bytes;
  mvff->zone_free_bytes -= bytes;
  mvff_set_total(mvff, mvff->total_bytes - bytes);
  pool_before_release(&mvff->pool, addr_add(zone->base, (Size)base << shift), bytes);
  arena_free(mvff->pool.arena, addr_add(zone->base, (Size)base << shift), bytes, &mvff->pool);
}

/* A zone with no slab left: its free grains go back to the arena, and
 * so does its descriptor. */
static void mvff_zone_release(MVFF mvff, MVFFZone zone)
{
  Index base = 0, limit;
  AVER(zone->used == 0);
  while (base < zone->grains
         && bt_find_long_res_range(&base, &limit, zone->table, base, zone->grains, 1)) {
    mvff_zone_give_back(mvff, zone, base, limit);
    base = limit;
  }
  ring_remove(&zone->ring);
  ring_finish(&zone->ring);
  arena_control_free(mvff->pool.arena, zone, sizeof(mvff_zone_s));
}

/* A gone slab's grains back to its zone, and a zone with no slab left to
 * the arena; or grains of its own to the arena. */
static void mvff_slab_grains_free(MVFF mvff, Addr base, Size bytes, MVFFZone zone)
{
  Arena arena = mvff->pool.arena;
  Index i;
  if (zone == NULL) {
    mvff_set_total(mvff, mvff->total_bytes - bytes);
    pool_before_release(&mvff->pool, base, bytes);
    arena_free(arena, base, bytes, &mvff->pool);
    return;
  }
  i = (Index)(addr_offset(zone->base, base) >> arena->grain_shift);
  AVER(bt_is_set_range(zone->table, i, i + (bytes >> arena->grain_shift)));
  bt_res_range(zone->table, i, i + (bytes >> arena->grain_shift));
  zone->used -= bytes >> arena->grain_shift;
  mvff->zone_free_bytes += bytes;
  if (zone->used == 0)
    mvff_zone_release(mvff, zone);
  else
    mvff_zones_trim(mvff);
}

/* Whether the pool's free memory that can go back (the land's, the
 * lists' and the zones' free grains) is over what the spare fraction
 * keeps. */
static inline bool mvff_zones_over_spare(MVFF mvff)
{
  return mvff_free_loose(mvff) + mvff->zone_free_bytes > mvff->keep_bytes;
}

/* While mvff_zones_over_spare, give back runs of the zones' free grains,
 * which then are no longer the zones' (MPS_KEY_SPARE: a pool whose slabs
 * are few and scattered over zones must not keep whole zones). */
static void mvff_zones_trim(MVFF mvff)
{
  Ring node, next;
  if (!mvff_zones_over_spare(mvff))
    return;
  RING_FOR(node, &mvff->zones, next) {
    MVFFZone zone = PARENT(mvff_zone_s, ring, node);
    Index base = 0, limit;
    while (mvff_zones_over_spare(mvff) && base < zone->grains
           && bt_find_long_res_range(&base, &limit, zone->table, base, zone->grains, 1)) {
      bt_set_range(zone->table, base, limit);
      zone->gone += limit - base;
      mvff_zone_give_back(mvff, zone, base, limit);
      base = limit;
    }
  }
}

/* For mvff_finish: the zones' descriptors go (their grains go back with
 * the pool's). */
static void mvff_zones_forget(MVFF mvff)
{
  Ring node, next;
  RING_FOR(node, &mvff->zones, next) {
    MVFFZone zone = PARENT(mvff_zone_s, ring, node);
    ring_remove(&zone->ring);
    ring_finish(&zone->ring);
    arena_control_free(mvff->pool.arena, zone, sizeof(mvff_zone_s));
  }
  mvff->zone_bytes = 0;
  mvff->zone_free_bytes = 0;
  mvff->zone_rec = NULL;   /* its block goes with the records' */
}

/* A new slab for blocks of `size` bytes, every block in its rest, or NULL
 * if the arena has no memory for one, or the arena's grains make a slab
 * too large for its record (then the size's fills take blocks from the
 * land). */
static MVFFSlab mvff_slab_new(MVFF mvff, Size size)
{
  Pool pool = &mvff->pool;
  Size head = mvff->slab_head;
  Size bytes = size_align_up(size_max(MVFF_SLAB_BYTES, head + size * MVFF_SLAB_BLOCKS),
                             pool->arena->grain_size);
  Count blocks = (bytes - head) / size;
  MVFFSlab slab;
  MVFFRec rec;
  MVFFZone zone;
  Addr base;
  /* The remote word counts blocks in 16 bits and places them in 24; the
   * grid check needs offset * size < 2^32. */
  if (blocks > MVFF_REMOTE_COUNT_MAX)
    blocks = MVFF_REMOTE_COUNT_MAX;
  if (bytes > MVFF_REMOTE_FIELD || (uint64_t)bytes * size >= (uint64_t)1 << 32)
    return NULL;
  rec = mvff_rec_get(mvff);
  if (rec == NULL)
    return NULL;
  if (mvff_slab_grains(&base, &zone, mvff, bytes) != MPS_RES_OK) {
    mvff_rec_put(mvff, rec);
    return NULL;
  }
  slab = addr_ptr(base);
  slab->mvff = mvff;
  ring_init(&slab->pool_ring);
  ring_init(&slab->partial_ring);
  slab->size = size;
  slab->bytes = bytes;
  slab->first = addr_add(base, head);
  slab->rec = rec;
  mvff_rec_init(rec, slab->first, mvff_slab_class(mvff, size));
  slab->limit = addr_add(slab->first, blocks * size);
  slab->free = NULL;
  slab->free_tail = NULL;
  slab->free_count = 0;
  slab->live = 0;
  slab->zone = zone;
  slab->listed = false;
  mvff_slab_set_tracts(mvff, slab, rec);
  ring_append(&mvff->slabs, &slab->pool_ring);
  mvff->slab_bytes += bytes;
  mvff->slab_free_bytes += blocks * size;
  mvff->slab_overhead += bytes - blocks * size;
  return slab;
}

static void mvff_slab_unlist(MVFFSlab slab)
{
  if (slab->listed) {
    ring_remove(&slab->partial_ring);
    slab->listed = false;
  }
}

/* Take the slab off the pool's books (its memory is the caller's). */
static void mvff_slab_forget(MVFF mvff, MVFFSlab slab)
{
  Index i = mvff_slab_class(mvff, slab->size);
  mvff_slab_unlist(slab);
  if (mvff->slab_current[i] == slab)
    mvff->slab_current[i] = NULL;
  ring_remove(&slab->pool_ring);
  ring_finish(&slab->pool_ring);
  ring_finish(&slab->partial_ring);
  mvff->slab_bytes -= slab->bytes;
  mvff->slab_overhead -= slab->bytes - addr_offset(slab->first, slab->limit);
  mvff->slab_free_bytes -= slab->free_count * slab->size
                           + addr_offset(mvff_slab_bump(slab), slab->limit);
  mvff_rec_put(mvff, slab->rec);
  slab->rec = NULL;
}

/* For mvff_finish: every slab's memory goes back with the pool's. */
static void mvff_slabs_forget(MVFF mvff)
{
  Ring node, next;
  RING_FOR(node, &mvff->slabs, next)
    mvff_slab_forget(mvff, mvff_slab_of_pool_ring(node));
  AVER(mvff->slab_bytes == 0 && mvff->slab_free_bytes == 0 && mvff->slab_overhead == 0);
}

/* The slab of which [block, block + size) is a whole block, or NULL: the
 * block is then ordinary memory of the pool (from the land or a list, or
 * part of a slab's block, which only a point used against its protocol
 * makes: see "Slabs"). */
static MVFFSlab mvff_slab_of(MVFF mvff, Addr block, Size size)
{
  Tract tract;
  MVFFSlab slab;
  if (ring_is_single(&mvff->slabs))
    return NULL;
  tract = arena_tract_of_addr(mvff->pool.arena, block);
  if (tract == NULL || tract->p == NULL || tract->p == mvff->zone_rec)
    return NULL;
  slab = mvff_rec_slab(mvff, tract->p);
  AVER_CRITICAL(slab->mvff == mvff && slab->rec == tract->p);
  if (slab->size != size || addr_word(block) < addr_word(slab->first)
      || addr_word(block) >= addr_word(slab->limit)
      || !mvff_slab_on_grid(mvff, slab, block))
    return NULL;
  return slab;
}

/* Whether `block` is on its slab's free list: a walk, done only when the
 * block's mark says that it may be. */
static bool mvff_slab_lists(MVFFSlab slab, Addr block)
{
  Addr b;
  for (b = slab->free; b != NULL; b = addr_of_word(mvff_words(b)[0]))
    if (b == block)
      return true;
  return false;
}

/* After blocks of the slab came back: an empty slab goes back to its
 * zone (or the arena) at once (so a pool with nothing allocated has no
 * slab and no zone, and all its memory counts as free); any other that is
 * not its size's current slab is listed for fills. */
static void mvff_slab_freed(MVFF mvff, MVFFSlab slab)
{
  Index i = mvff_slab_class(mvff, slab->size);
  bool current = mvff->slab_current[i] == slab;
  if (slab->live == 0) {
    Size bytes = slab->bytes;
    MVFFZone zone = slab->zone;
    /* Grains that stay the pool's (in a zone) must lead no free to the
     * slab's record: the arena clears the others' tracts. */
    if (zone != NULL)
      mvff_slab_set_tracts(mvff, slab, mvff->zone_rec);
    mvff_slab_forget(mvff, slab);
    mvff_slab_grains_free(mvff, addr_of_ptr(slab), bytes, zone);
    /* A smaller pool may keep less free. */
    mvff_maybe_trim(mvff);
  } else if (!current && !slab->listed) {
    ring_append(&mvff->slab_partial[i], &slab->partial_ring);
    slab->listed = true;
  }
}

static void mvff_slab_free(MVFF mvff, MVFFSlab slab, Addr block)
{
  Word *w = mvff_words(block);
  AVER_CRITICAL(slab->live > 0);
  w[0] = addr_word(slab->free);
  w[1] = mvff_quick_mark(mvff, block);
  if (slab->free == NULL)
    slab->free_tail = block;
  slab->free = block;
  ++slab->free_count;
  --slab->live;
  mvff->slab_free_bytes += slab->size;
  mvff_slab_freed(mvff, slab);
}

/* Lock-free frees (see "Lock-free frees" above) */

/* The two ways of taking blocks freed without the lock (see "Lock-free
 * frees") share this protocol: exchanging a class's list for an empty one
 * makes the caller the only taker of its records, and exchanging each
 * record's word for 0 the only owner of its blocks. */

/* The records of class i with blocks freed without the lock, as a list
 * through remote_next, now the caller's alone; NULL if there are none. */
static inline MVFFRec mvff_class_take(MVFF mvff, Index i)
{
  /* relaxed: only a hint; the exchange below is what synchronizes. */
  if (atomic_load_explicit(&mvff->remote_slabs[i], memory_order_relaxed) == NULL)
    return NULL;
  /* acquire: each record's remote_next, written before its push. */
  return atomic_exchange_explicit(&mvff->remote_slabs[i], NULL, memory_order_acquire);
}

/* A record of such a list: its remote word (never 0: a record is pushed
 * only by the free that made its list non-empty, and only a taker empties
 * it), and in *next_o the next record of the list, read first: once the
 * word is 0 again, the next free pushes the record anew, writing
 * remote_next. */
static inline uint64_t mvff_rec_take(MVFFRec *next_o, MVFFRec rec)
{
  uint64_t remote;
  *next_o = rec->remote_next;
  /* acq_rel: acquire the links and marks the freeing threads wrote
   * before their pushes; release so that the free that finds the list
   * empty, and so writes remote_next, comes after the read above. */
  remote = atomic_exchange_explicit(&rec->remote, (uint64_t)0, memory_order_acq_rel);
  AVER_CRITICAL(remote != 0);
  return remote;
}

/* Take in the blocks of slab class i freed without the lock since the
 * last time: onto their slabs' lists, as mvff_slab_free would have put
 * them.  Called with the lock held. */
static void mvff_collect_class(MVFF mvff, Index i)
{
  MVFFRec rec = mvff_class_take(mvff, i);
  while (rec != NULL) {
    MVFFRec next;
    uint64_t remote = mvff_rec_take(&next, rec);
    MVFFSlab slab = mvff_rec_slab(mvff, rec);
    Addr head = mvff_remote_block(rec->first, remote & MVFF_REMOTE_FIELD);
    Addr tail = mvff_remote_block(rec->first, (remote >> 24) & MVFF_REMOTE_FIELD);
    Count n = (Count)(remote >> 48);
    /* The list goes onto the slab's whole, in the order of the frees (the
     * last first), as the locked frees would have left it.  A count gone
     * wrong (a client's free that free_fast could not tell from a good
     * one) must not release a slab with blocks out. */
    AVER(n <= slab->live);
    if (remote != 0 && n <= slab->live) {
      /* The tail's link is null already (its free found the list empty):
       * write it only to join a list. */
      if (slab->free == NULL)
        slab->free_tail = tail;
      else
        mvff_words(tail)[0] = addr_word(slab->free);
      slab->free = head;
      slab->free_count += n;
      slab->live -= n;
      mvff->slab_free_bytes += n * slab->size;
    }
    mvff_slab_freed(mvff, slab);
    rec = next;
  }
}

/* Take in the frees made without the lock of every class (before the
 * pool reports or gives back memory, or takes more from the arena). */
static void mvff_collect(MVFF mvff)
{
  Index i;
  for (i = 0; i < MVFF_SLAB_CLASSES; ++i)
    mvff_collect_class(mvff, i);
}

/* Free a whole block of a slab without the lock, or return false having
 * changed nothing.  Everything it reads is fixed while the client owns the
 * block: the primary chunk's table, the block's tract (its pool and
 * slab), and the slab's size and grid; and bump, whose value is at least
 * as new as the fill that handed out the block.  Anything else, and a
 * block whose mark says it may be free already, is for the locked path.
 * Not in cool, which checks every free against all free memory. */
static inline bool mvff_free_unlocked(Pool pool, Addr old, Size size)
{
#if CHECK_LEVEL >= 2
  UNUSED(pool);
  UNUSED(old);
  UNUSED(size);
  return false;
#else
  MVFF mvff = mvff_of_pool(pool);
  Tract tract;
  MVFFRec rec, top;
  _Atomic(MVFFRec) *stack;
  const struct mvff_class_s *cls;
  Addr first;
  Word *w, offset;
  uint64_t remote;
  tract = chunk_tract_lookup(&mvff->tracts, old, pool);
  if (tract == NULL || tract->p == NULL)
    return false;
  rec = tract->p;
  /* The descriptor is not read: the record's first block and class are
   * enough.  The block is below the rest (an address below the first
   * block wraps round), its size has the slab's class (a zero size wraps
   * round and has not), and it is on the grid, which a misaligned one is
   * not. */
  first = rec->first;
  offset = addr_word(old) - addr_word(first);
  if (offset >= atomic_load_explicit(&rec->bump, memory_order_relaxed))
    return false;
  cls = &mvff->classes[rec->cls];
  if (size + cls->span - cls->size > cls->span
      || !mvff_on_grid(offset, cls->size, cls->magic))
    return false;
  w = mvff_words(old);
  if (w[1] == mvff_quick_mark(mvff, old))
    return false;
  w[1] = mvff_quick_mark(mvff, old);
  /* relaxed: the CAS below rereads it. */
  remote = atomic_load_explicit(&rec->remote, memory_order_relaxed);
  do {
    w[0] = remote == 0 ? 0 : addr_word(mvff_remote_block(first, remote & MVFF_REMOTE_FIELD));
    /* acq_rel: release the link and mark above to the taker; acquire so
     * that, finding the list empty, this comes after the taker's read of
     * remote_next.  One more block, this one the head; the first is the
     * tail too. */
  } while (!atomic_compare_exchange_weak_explicit(
             &rec->remote, &remote,
             remote == 0 ? MVFF_REMOTE_ONE | (uint64_t)offset << 24 | offset
                         : ((remote + MVFF_REMOTE_ONE) & ~MVFF_REMOTE_FIELD) | offset,
             memory_order_acq_rel, memory_order_relaxed));
  if (remote != 0)
    return true;   /* the record is waiting in remote_slabs[] already */
  stack = &mvff->remote_slabs[rec->cls];
  top = atomic_load_explicit(stack, memory_order_relaxed);
  do {
    rec->remote_next = top;
    /* release: remote_next, for the taker's acquire. */
  } while (!atomic_compare_exchange_weak_explicit(stack, &top, rec,
                                                  memory_order_release,
                                                  memory_order_relaxed));
  return true;
#endif
}

/* mps_free (pool.h: free_fast). */
static void mvff_free_fast(Pool pool, Addr old, Size size)
{
  if (!mvff_free_unlocked(pool, old, size))
    pool_free_with_lock(pool, old, size);
}

/* Fill the empty cache list of the slab class whose blocks are `size`
 * bytes: with the current slab's whole free list, and further listed
 * slabs' lists until the cache holds MVFF_REFILL_BYTES (frees scattered
 * over many slabs leave each with a short list, and a refill takes the
 * lock); else with the current slab's whole untouched rest; else from
 * the first listed slab, else a new one.  False if there is none and the
 * arena has no memory for one.  Moving a list costs nothing per block:
 * each slab knows its list's tail. */
static bool mvff_slab_fill_cache(MVFF mvff, MVFFCache cache, Size size)
{
  Index i = mvff_slab_class(mvff, size);
  MVFFSlab slab = mvff->slab_current[i];
  bool collected = false;
  Size taken = 0;
  AVER(cache->head[i] == NULL && cache->bump[i] == cache->bump_limit[i]);
  for (;;) {
    if (slab != NULL && slab->free != NULL) {
      Size bytes = slab->free_count * size;
      /* A slab's list ends in a null link: join it only to a list. */
      if (cache->head[i] != NULL)
        mvff_words(slab->free_tail)[0] = addr_word(cache->head[i]);
      cache->head[i] = slab->free;
      slab->free = NULL;
      slab->free_tail = NULL;
      slab->live += slab->free_count;
      slab->free_count = 0;
      mvff->slab_free_bytes -= bytes;
      taken += bytes;
      if (taken >= MVFF_REFILL_BYTES)
        return true;
    }
    /* Go on to a listed slab only from one used up, which its blocks'
     * frees will list again: one with a rest, neither current nor
     * listed, would keep it from fills. */
    if (taken > 0 && (ring_is_single(&mvff->slab_partial[i])
                      || mvff_slab_bump(slab) != slab->limit))
      return true;
    if (taken == 0 && slab != NULL && mvff_slab_bump(slab) != slab->limit) {
      Size bytes = addr_offset(mvff_slab_bump(slab), slab->limit);
      cache->bump[i] = mvff_slab_bump(slab);
      cache->bump_limit[i] = slab->limit;
      mvff_slab_set_bump(slab, slab->limit);
      slab->live += bytes / size;
      mvff->slab_free_bytes -= bytes;
      return true;
    }
    /* The current slab has nothing (more) free: all its blocks are in
     * use, or freed and not taken in yet. */
    if (!ring_is_single(&mvff->slab_partial[i])) {
      slab = PARENT(mvff_slab_s, partial_ring, ring_next(&mvff->slab_partial[i]));
      mvff_slab_unlist(slab);
    } else if (!collected) {
      /* Before a new slab, the frees pending on this class's slabs (and
       * any other's: one list holds them all). */
      mvff_collect(mvff);
      collected = true;
      slab = mvff->slab_current[i];
      continue;
    } else {
      slab = mvff_slab_new(mvff, size);
      if (slab == NULL)
        return false;
    }
    mvff->slab_current[i] = slab;
  }
}

/* A cache's untouched blocks [base, limit), of a slab class whose blocks
 * are `size` bytes: back into their slab, whose last blocks they are, or
 * if they are no slab's
 * (never, while a cache holds a slab's blocks; kept for safety), to the
 * pool as ordinary free memory. */
static void mvff_slab_take_back(MVFF mvff, Addr base, Addr limit, Size size)
{
  MVFFSlab slab;
  Size bytes = addr_offset(base, limit);
  if (bytes == 0)
    return;
  slab = mvff_slab_of(mvff, base, size);
  if (slab == NULL) {
    mvff_give_back(mvff, base, limit);
    mvff_maybe_trim(mvff);
    return;
  }
  AVER(slab->limit == limit && mvff_slab_bump(slab) == limit);
  mvff_slab_set_bump(slab, base);
  slab->live -= bytes / size;
  mvff->slab_free_bytes += bytes;
  mvff_slab_freed(mvff, slab);
}

/* Everything free but the slabs into the land, for a search of all of
 * it (see "Slabs" for why slabs stay). */
static void mvff_flush_everything(MVFF mvff)
{
  if (mvff->quick_count > 0)
    mvff_flush(mvff, true);
}

#if CHECK_LEVEL >= 2
/* Whether [lo, hi) overlaps a free block of a slab (cool only: a walk of
 * every slab). */
static bool mvff_slabs_overlap(MVFF mvff, Word lo, Word hi)
{
  Ring node, next;
  RING_FOR(node, &mvff->slabs, next) {
    MVFFSlab slab = mvff_slab_of_pool_ring(node);
    Addr b;
    Addr bump = mvff_slab_bump(slab);
    if (bump != slab->limit
        && addr_word(bump) < hi && lo < addr_word(slab->limit))
      return true;
    for (b = slab->free; b != NULL; b = addr_of_word(mvff_words(b)[0]))
      if (addr_word(b) < hi && lo < addr_word(b) + slab->size)
        return true;
  }
  RING_FOR(node, &mvff->zones, next) {
    MVFFZone zone = PARENT(mvff_zone_s, ring, node);
    Shift shift = mvff->pool.arena->grain_shift;
    Word zlo = addr_word(zone->base), zhi = zlo + ((Word)zone->grains << shift);
    if (zlo < hi && lo < zhi) {
      Word from = lo > zlo ? lo : zlo, to = hi < zhi ? hi : zhi;
      /* Grains of no slab in [from, to) are free. */
      if (!bt_is_set_range(zone->table, (Index)((from - zlo) >> shift),
                           (Index)((to - zlo - 1) >> shift) + 1))
        return true;
    }
  }
  return false;
}
#endif

/* Find and take `size` bytes for mps_alloc by the placement policy. */
static bool mvff_find(Range found, MVFF mvff, Size size)
{
  range_s old;
  LandFindDelete which = mvff->slot_high ? LAND_FIND_DELETE_HIGH : LAND_FIND_DELETE_LOW;
  if (mvff->first_fit)
    return land_find_first(found, &old, mvff_land(mvff), size, which);
  return land_find_last(found, &old, mvff_land(mvff), size, which);
}

static Res mvff_alloc(Addr *p_o, Pool pool, Size size)
{
  MVFF mvff = mvff_of_pool(pool);
  range_s found;
  Res res;
  AVER(p_o != NULL);
  AVER(size > 0);
  /* First fit over all free memory, so the lists and slabs go into the
   * land. */
  if (mvff_anything_outside_land(mvff))
    mvff_flush_everything(mvff);
  if (!mvff_find(&found, mvff, size)) {
    res = mvff_extend(mvff, size);
    if (res != MPS_RES_OK)
      return res;
    if (!mvff_find(&found, mvff, size)) {
      NOTREACHED;   /* the extension alone is big enough */
      return MPS_RES_FAIL;
    }
  }
  mvff->free_bytes -= size;
  *p_o = range_base(&found);
  return MPS_RES_OK;
}

/* Whether the last byte of [old, old + size) is also this pool's (the
 * generic code checked the grain of the first, so a block within one
 * grain needs no second look).  Together with the checks against free
 * memory, this keeps a wrong size from adding someone else's memory to
 * the pool. */
static bool mvff_block_is_ours(Pool pool, Addr old, Size size)
{
  Word first = addr_word(old), last = first + size - 1;
  Shift shift = pool->arena->grain_shift;
  if (last < first)
    return false;
  if ((first >> shift) == (last >> shift))
    return true;
  return arena_pool_of_addr(pool->arena, addr_of_word(last)) == pool;
}

/* Whether [old, old + size), which is no whole block of a live slab of
 * its size, reaches into grains that slabs or zones hold (their tracts
 * point at a record): a zone's free grains, which no block of the
 * client's ever touches, or a slab's block freed with the wrong size, or
 * its descriptor or tail.  The land's and the lists' blocks are never in
 * such grains (an emptied buffer's rest that is part of a slab's block is
 * refused, not given to the land), so the free would put memory of the
 * slab into the land under its live blocks.  The first and the last
 * grain are enough for a slab's block freed with a wrong size (its first
 * grain is the slab's) and for a land's block freed with one that runs
 * into a slab.  A range over a whole zone between ordinary grains is
 * caught only where it covers free memory (in cool, any; see "Client
 * errors"). */
static bool mvff_in_slab_grains(MVFF mvff, Addr old, Size size)
{
  Arena arena = mvff->pool.arena;
  Addr last = addr_add(old, size - 1);
  Tract tract;
  if (ring_is_single(&mvff->slabs) && mvff->zone_rec == NULL)
    return false;
  tract = arena_tract_of_addr(arena, old);
  if (tract != NULL && tract->p != NULL)
    return true;
  tract = arena_tract_of_addr(arena, last);
  return tract != NULL && tract->p != NULL;
}

/* Whether a free of [old, old + size), a block of `slab` or NULL, must be
 * refused because the block is free already, or is no block of the slab
 * or zone it reaches into (see "Client errors"). */
static bool mvff_free_refused(MVFF mvff, MVFFSlab slab, Addr old, Size size)
{
  bool twice = false;
  if (slab != NULL)
    twice = addr_word(old) >= addr_word(mvff_slab_bump(slab))   /* never handed out */
            || (mvff_words(old)[1] == mvff_quick_mark(mvff, old)
                && mvff_slab_lists(slab, old));
  else if (mvff_in_slab_grains(mvff, old, size))
    twice = true;   /* never handed out, or not as this block */
  else if (mvff_quick_takes(mvff, size))
    twice = mvff_words(old)[1] == mvff_quick_mark(mvff, old)
            && mvff_quick_overlaps(mvff, old, size);
#if CHECK_LEVEL >= 2
  if (!twice)
    twice = mvff_overlaps_free(mvff, old, size);
#endif
  AVER(!twice);
  return twice;
}

/* For mps_free and an emptied buffer: free [old, old + size) if it is a
 * whole block of a slab, or refuse it if it is free already (see "Client
 * errors"), and return true; return false if it is ordinary memory, for
 * the caller to free. */
static bool mvff_free_to_slab_or_refuse(MVFF mvff, Addr old, Size size)
{
  MVFFSlab slab = NULL;
  /* An unaligned size (a buffer's rest after a client's unaligned
   * reserve) is no slab block, and has no class. */
  if (size <= mvff->slab_max && size_is_aligned(size, mvff->pool.alignment))
    slab = mvff_slab_of(mvff, old, mvff_slab_class_size(mvff, mvff_slab_class(mvff, size)));
  if (mvff_free_refused(mvff, slab, old, size))
    return true;
  if (slab == NULL)
    return false;
  mvff_slab_free(mvff, slab, old);
  return true;
}

static void mvff_free(Pool pool, Addr old, Size size)
{
  MVFF mvff = mvff_of_pool(pool);
  bool ours;
  AVER(old != NULL);
  AVER(size > 0);
  ours = mvff_block_is_ours(pool, old, size);
  AVER(ours);
  if (!ours)
    return;
  /* So that a block of a slab freed twice is found listed.  No other
   * block is ever on a remote list. */
  if (size <= mvff->slab_max)
    mvff_collect_class(mvff, mvff_slab_class(mvff, size));
  if (mvff_free_to_slab_or_refuse(mvff, old, size))
    return;   /* slabs' free memory does not call for a trim */
  /* No allocation point, no lists (see "Where free memory is"). */
  if (mvff_quick_takes(mvff, size) && !ring_is_single(&pool->buffer_ring)) {
#if CHECK_LEVEL >= 1
    /* A block the land holds already (freed twice, the first time flushed
     * since): listed, it would be handed out by both, and its link would
     * overwrite a freelist's own.  Cool found it above. */
    range_s range;
    bool in_land;
    range_init_size(&range, old, size);
    in_land = land_overlaps(mvff_land(mvff), &range);
    AVER(!in_land);
    if (in_land)
      return;
#endif
    mvff_quick_push(mvff, old, size);
  } else {
    range_s range, joined;
    range_init_size(&range, old, size);
    /* A range overlapping free memory is refused by the land, which
     * reports it through the assertion handler and changes nothing. */
    if (land_insert(&joined, mvff_land(mvff), &range) != MPS_RES_OK)
      return;
    mvff->free_bytes += size;
    mvff_note_joined(mvff, &joined);
  }
  mvff_maybe_trim(mvff);
}

/* Take a region for a buffer from the land: the lowest block that holds
 * `size` bytes, and of it exactly `size` bytes, or for a small size up to
 * fill_size bytes, or the whole block if it is less than twice that (see
 * "Allocation points"). */
static bool mvff_land_take(Range region_o, MVFF mvff, Size size)
{
  Land land = mvff_land(mvff);
  Size want = size_max(size, mvff->fill_size), take;
  range_s found, old;
  Res res;
  /* Exactly `size` bytes, best fit, which leaves the larger holes whole
   * for later large blocks (see "Allocation points"); the find deletes
   * them itself, from the low end, so no split and no second search. */
  if (size > MVFF_SMALL_MAX)
    return land_find_best(region_o, &old, land, size, LAND_FIND_DELETE_LOW);
  if (!land_find_first(&found, &old, land, size, LAND_FIND_DELETE_NONE))
    return false;
  take = range_size(&old);
  if (take / 2 >= want)
    take = want;
  range_init_size(region_o, range_base(&old), take);
  /* The low end of a block: no split, so no descriptor is needed. */
  res = land_delete(&found, land, region_o);
  AVER(res == MPS_RES_OK);
  return res == MPS_RES_OK;
}

/* Caches (see "Caches" above).  A list's blocks are linked through their
 * first word, as on the quick lists; they are not free. */

/* The blocks of slab class i freed without the lock since they were last
 * taken, as one list (NULL if there are none), for the cache's empty list
 * of the class, without the lock.  They count as in use by their slabs
 * both on the remote lists and in the cache, so nothing else changes.
 * The protocol is mvff_class_take's and mvff_rec_take's
 * (docs/performance.md,
 * tenth round: freed blocks come back while their lines are cached,
 * and the locked refill and collect are spared). */
static NOINLINE Addr mvff_cache_take_frees(MVFF mvff, Index i)
{
  MVFFRec rec = mvff_class_take(mvff, i);
  Addr list = NULL;
  while (rec != NULL) {
    MVFFRec next;
    uint64_t remote = mvff_rec_take(&next, rec);
    Addr first = rec->first;
    if (remote != 0) {
      /* Its tail's link is null (see mvff_collect_class). */
      if (list != NULL)
        mvff_words(mvff_remote_block(first, (remote >> 24) & MVFF_REMOTE_FIELD))[0]
          = addr_word(list);
      list = mvff_remote_block(first, remote & MVFF_REMOTE_FIELD);
    }
    rec = next;
  }
  return list;
}

/* Hand out `block`, the head of the cache's list of slab class i. */
static inline void mvff_cache_pop(MVFFCache cache, Index i, Addr block)
{
  Word *w = mvff_words(block);
  Addr next = addr_of_word(w[0]);
  cache->head[i] = next;
  /* It came marked from its slab's list: a later free must not find the
   * mark.  Its line is loaded already, for the link. */
  w[1] = 0;
  /* The next fill of this class reads the next block's link: a block
   * freed a while ago is seldom in the cache, and that miss was most of
   * a fill's time (docs/performance.md, eighth round).  Start it now.
   * At the list's end it prefetches address 0: a prefetch never faults,
   * and that costs less than a test on every fill. */
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(addr_ptr(next), 1);
#endif
}

/* Take a block of slab class i, whose blocks are `size` bytes, from the
 * cache: its list, else the blocks freed without the lock, else its
 * untouched rest of a slab.  Freed blocks before the rest, so that memory
 * already touched is used again first. */
static inline bool mvff_cache_take(Addr *block_o, MVFFCache cache, MVFF mvff,
                                   Index i, Size size)
{
  Addr block = cache->head[i];
  if (block == NULL)
    block = mvff_cache_take_frees(mvff, i);
  if (block != NULL) {
    mvff_cache_pop(cache, i, block);
  } else {
    block = cache->bump[i];
    if (addr_offset(block, cache->bump_limit[i]) < size)
      return false;
    cache->bump[i] = addr_add(block, size);
  }
  *block_o = block;
  return true;
}

/* mvff_ap_fill when the cache's list of the class is empty: out of line,
 * so that the usual fill makes no call and saves no registers. */
static NOINLINE mps_res_t mvff_ap_fill_more(mps_addr_t *p_o, Buffer buffer, size_t size)
{
  MVFF mvff = mvff_of_pool(buffer->pool);
  Index i = mvff_slab_class(mvff, size);
  Addr block;
  if (mvff_cache_take(&block, buffer->pool_data, mvff, i, mvff_slab_class_size(mvff, i)))
    return buffer_fill_fast_done(p_o, buffer, block, size);
  return buffer_fill_with_lock(p_o, buffer, size);
}

/* mps_ap_fill (pool.h: fill_fast): from the buffer's own cache without
 * the arena lock, else the locked path.  Besides the buffer and its cache
 * it reads only the pool's alignment and class tables, fixed since init,
 * and its atomic lists of freed blocks.  The size in alignment units,
 * rotated rather than shifted, is one test of all three conditions: a
 * misaligned size's low bits rotate to the top, so it is too large, as is
 * a zero size once 1 is taken off; an aligned one is its quick index
 * plus 1. */
static mps_res_t mvff_ap_fill(mps_addr_t *p_o, Buffer buffer, size_t size)
{
  Pool pool = buffer->pool;
  MVFF mvff = mvff_of_pool(pool);
  MVFFCache cache = buffer->pool_data;
  Shift shift = mvff->align_shift;   /* > 0 (a pointer at least): no shift by the width */
  Word units = (Word)size >> shift | (Word)size << (WORD_WIDTH - shift);
  if (cache != NULL && units - 1 < mvff->slab_units && buffer_fill_fast_ready(buffer)) {
    Index i = mvff->slab_class[units - 1];
    Addr block = cache->head[i];
    if (block == NULL)
      return mvff_ap_fill_more(p_o, buffer, size);
    mvff_cache_pop(cache, i, block);
    return buffer_fill_fast_done(p_o, buffer, block, size);
  }
  return buffer_fill_with_lock(p_o, buffer, size);
}

/* The buffer's cache, made on its first small fill; NULL if the class
 * has none or there is no control memory for it (every small fill of the
 * point then takes the lock and no slab). */
static MVFFCache mvff_cache(MVFF mvff, Buffer buffer)
{
  MVFFCache cache = buffer->pool_data;
  void *p;
  Index i;
  if (cache != NULL || mvff->pool.buffer_methods != &mvff_buffer_methods)
    return cache;
  if (arena_control_alloc(&p, mvff->pool.arena, sizeof(mvff_cache_s)) != MPS_RES_OK)
    return NULL;
  cache = p;
  for (i = 0; i < MVFF_SLAB_CLASSES; ++i)
    cache->head[i] = cache->bump[i] = cache->bump_limit[i] = NULL;
  buffer->pool_data = cache;
  return cache;
}

/* mps_ap_destroy: the cache's blocks go back to their slabs, or as
 * ordinary blocks to the quick lists. */
static void mvff_buffer_finish(Pool pool, Buffer buffer)
{
  MVFF mvff = mvff_of_pool(pool);
  MVFFCache cache = buffer->pool_data;
  Index i;
  if (cache == NULL)
    return;
  mvff_collect(mvff);
  for (i = 0; i < MVFF_SLAB_CLASSES; ++i) {
    Size size = mvff_slab_class_size(mvff, i);
    Addr block = cache->head[i];
    while (block != NULL) {
      Addr next = addr_of_word(mvff_words(block)[0]);
      MVFFSlab slab = mvff_slab_of(mvff, block, size);
      if (slab != NULL)
        mvff_slab_free(mvff, slab, block);
      else
        mvff_quick_push(mvff, block, size);
      block = next;
    }
    mvff_slab_take_back(mvff, cache->bump[i], cache->bump_limit[i], size);
  }
  buffer->pool_data = NULL;
  arena_control_free(pool->arena, cache, sizeof(mvff_cache_s));
  mvff_maybe_trim(mvff);
}

static const pool_buffer_methods_s mvff_buffer_methods = {
  NULL, NULL, mvff_buffer_finish, mvff_ap_fill, mvff_free_fast
};

static Res mvff_buffer_fill(Addr *base_o, Addr *limit_o, Pool pool,
                            Buffer buffer, Size size)
{
  MVFF mvff = mvff_of_pool(pool);
  range_s region;
  Addr block = NULL;
  Res res;
  AVER(size > 0);

  if (mvff_quick_takes(mvff, size)) {
    Size block_size;
    MVFFCache cache = size <= mvff->slab_max ? mvff_cache(mvff, buffer) : NULL;
    Index i = cache != NULL ? mvff_slab_class(mvff, size) : 0;
    Size class_size = cache != NULL ? mvff_slab_class_size(mvff, i) : size;
    /* The cache may have blocks of this size if the fast path declined
     * because the point still held part of a larger region. */
    if (cache == NULL || !mvff_cache_take(&block, cache, mvff, i, class_size)) {
      block = mvff_quick_take(&block_size, mvff, size, true);        /* 1 */
      if (block == NULL && cache != NULL                              /* 2 */
          && mvff_slab_fill_cache(mvff, cache, class_size))
        (void)mvff_cache_take(&block, cache, mvff, i, class_size);
    }
    if (block == NULL && size > MVFF_SMALL_MAX) {                     /* 3 */
      block = mvff_quick_take(&block_size, mvff, size, false);
      if (block != NULL)
        mvff_give_back(mvff, addr_add(block, size), addr_add(block, block_size));
    }
  }
  if (block != NULL) {
    *base_o = block;
    *limit_o = addr_add(block, size);
    return MPS_RES_OK;
  }
  if (mvff_land_take(&region, mvff, size))                            /* 5 */
    goto found;
  if (mvff->quick_bytes - mvff->small_bytes >= mvff_flush_at(mvff)) {  /* 6 */
    mvff_flush(mvff, false);
    if (mvff_land_take(&region, mvff, size))
      goto found;
  }
  res = mvff_extend(mvff, size);                                      /* 7 */
  if (res != MPS_RES_OK) {
    /* No fresh memory: what the lists and slabs hold may coalesce into
     * enough. */
    if (mvff_anything_outside_land(mvff)) {                           /* 8 */
      mvff_flush_everything(mvff);
      if (mvff_land_take(&region, mvff, size))
        goto found;
    }
    return res;
  }
  if (!mvff_land_take(&region, mvff, size)) {
    NOTREACHED;   /* the extension alone is big enough */
    return MPS_RES_FAIL;
  }
found:
  mvff->free_bytes -= range_size(&region);
  *base_o = range_base(&region);
  *limit_o = range_limit(&region);
  return MPS_RES_OK;
}

static void mvff_buffer_empty(Pool pool, Buffer buffer, Addr init, Addr limit)
{
  MVFF mvff = mvff_of_pool(pool);
  Size size;
  UNUSED(buffer);
  if (init == limit)
    return;
  size = addr_offset(init, limit);
  if (size <= mvff->slab_max && size_is_aligned(size, mvff->pool.alignment))
    mvff_collect_class(mvff, mvff_slab_class(mvff, size));   /* as in mvff_free */
  /* An unused block of a slab goes back to it; part of a slab's block is
   * refused (see "Slabs"); any other rest is ordinary memory.  The client
   * may have freed part of the unused region, which is then free already:
   * reported, and the whole rest stays out of the pool. */
  if (mvff_free_to_slab_or_refuse(mvff, init, size))
    return;
  /* As any left-over part (mvff_give_back).  A rest left unaligned by a
   * client's unaligned reserve goes to the land, which reports it. */
  mvff_give_back(mvff, init, limit);
  mvff_maybe_trim(mvff);
}

/* Both take in the frees made without the lock first, so that they count
 * (and empty slabs go back). */
static Size mvff_total_size(Pool pool)
{
  MVFF mvff = mvff_of_pool(pool);
  mvff_collect(mvff);
  return mvff->total_bytes;
}

/* The slabs' descriptors and tails, and zones' grains of no slab, count
 * as free: with nothing allocated, all of the pool is free. */
static Size mvff_free_size(Pool pool)
{
  MVFF mvff = mvff_of_pool(pool);
  mvff_collect(mvff);
  return mvff_free_all(mvff) + mvff->slab_overhead + mvff->zone_free_bytes;
}

static struct mps_pool_class_s mvff_class_s = {
  POOL_CLASS_SIG, "MVFF", sizeof(mvff_s),
  mvff_init, mvff_finish, mvff_alloc, mvff_free,
  mvff_buffer_fill, mvff_buffer_empty,
  mvff_total_size, mvff_free_size,
  NULL, NULL,
  mvff_check
};

mps_pool_class_t mps_class_mvff(void)
{
  return &mvff_class_s;
}
