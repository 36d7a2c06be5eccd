/* chain.h: generation chains and the per-pool accounting of generations
 * (manual/topic/collection.rst, design/locus.txt, design/strategy.txt).
 *
 * A chain is a sequence of generations, each with a capacity (bytes) and
 * a predicted mortality.  A pool in a chain has one PoolGen per
 * generation (and the pool class decides which of its segments belong to
 * which: AMC copies survivors of generation i into i+1; the last one
 * keeps its survivors).  Each PoolGen keeps a ring of its segments
 * (seg->gen_ring) and its sizes, which drive collection:
 *
 *   new_size   bytes allocated into the generation since it was last
 *              condemned (buffer fills, mps_alloc);
 *   total_size bytes of segments in the generation.
 *
 * A generation is due for collection when the sum of new_size over its
 * PoolGens exceeds its capacity; chain_due says which generations the
 * next collection should condemn (every generation up to the highest one
 * that is due).
 *
 * The top generation (design/strategy.txt, "topGen"): an arena-wide chain
 * of one generation, gc->top_chain, above every chain.  Pools that
 * promote (AMC, AMCZ) have a PoolGen in it too and promote the survivors
 * of their chain's last generation into it; it keeps its own.  It is not
 * on gc->chain_ring, so no collection of due generations condemns it:
 * only collections of the world do (mps_arena_collect, ramps, and
 * chain_top_due's trigger).
 */
#ifndef chain_h
#define chain_h

#include "gc.h"

#define CHAIN_SIG SIG_MAKE(0x126)
#define POOL_GEN_SIG SIG_MAKE(0x127)

/* The most generations a chain may have. */
#define CHAIN_GEN_LIMIT 16

typedef struct gen_desc_s {
  Size capacity;                /* bytes (mps_capacity is in KiB) */
  double mortality;             /* in [0, 1] */
  struct ring_s pool_gens;      /* PoolGens of this generation */
  Count collections;            /* times condemned */
} gen_desc_s;
typedef struct gen_desc_s *GenDesc;

typedef struct mps_chain_s {
  Sig sig;
  Arena arena;
  struct ring_s gc_ring;        /* in gc->chain_ring */
  Count pools;                  /* pools using it: destroy needs 0 */
  Count gen_count;              /* 1..CHAIN_GEN_LIMIT */
  gen_desc_s gens[CHAIN_GEN_LIMIT];
} mps_chain_s;

typedef struct pool_gen_s {
  Sig sig;
  Pool pool;
  Chain chain;
  Index gen;                    /* index in chain->gens */
  struct ring_s gen_ring;       /* in chain->gens[gen].pool_gens */
  struct ring_s segs;           /* its segments, by seg->gen_ring */
  Size total_size;
  Size new_size;
} pool_gen_s;

bool chain_check(Chain chain);
bool pool_gen_check(PoolGen pgen);

/* For pool classes: take MPS_KEY_CHAIN from args, or the arena's default
 * chain, and count the pool as a user (chain_release undoes). */
Res chain_acquire(Chain *chain_o, Arena arena, mps_arg_s args[]);
void chain_release(Chain chain);
/* Free a chain no pool uses (mps_chain_destroy, and gc_finish for the
 * default chain). */
void chain_destroy(Chain chain);

/* For pools that promote: the arena's top generation (made on first
 * use), counting the pool as a user; `chain` is the pool's own, whose
 * last generation's capacity the top generation's capacity is at least.
 * MPS_RES_MEMORY if it cannot be made.  chain_release undoes. */
Res chain_top_acquire(Chain *top_o, Arena arena, Chain chain);

/* Set up / tear down a PoolGen for generation `gen` of `chain`. */
void pool_gen_init(PoolGen pgen, Pool pool, Chain chain, Index gen);
void pool_gen_finish(PoolGen pgen);

/* Accounting by pools: bytes newly allocated, segments added and
 * removed.  seg_alloc and seg_free call pool_gen_seg_add/remove for a
 * segment made with a generation, so pools call them only to move a
 * segment from one generation to another. */
void pool_gen_account_alloc(PoolGen pgen, Size size);
void pool_gen_seg_add(PoolGen pgen, Seg seg);
void pool_gen_seg_remove(PoolGen pgen, Seg seg);

/* The generations of `chain` to condemn now, as a bit set (bit i =
 * generation i): all of them up to the highest whose new size exceeds its
 * capacity (collection.rst); 0 if none is due. */
Word chain_due(Chain chain);
/* For the tracer: generations `gens` (a chain_due bit set) have been
 * condemned, so their new_size starts again from zero. */
void chain_condemned(Chain chain, Word gens);

/* Whether a collection of the world is due for the top generation: what
 * collections of due generations promoted into it since the last
 * collection of the world exceeds both its capacity and what it held
 * before (so it has doubled).  Each collection of the world then costs
 * about what the top generation took since the last one, and the top
 * generation holds at most about twice its live objects, plus its
 * capacity. */
bool chain_top_due(GC gc);
/* For the tracer: a collection of the world has ended.  What it promoted
 * into the top generation has survived the world, so it is not new there
 * (or the next collection of the world would be due at once). */
void chain_world_collected(GC gc);
/* For pools that promote: undo chain_top_acquire.  The top generation
 * goes when no pool uses it, so that it costs nothing to an arena whose
 * promoting pools are all destroyed. */
void chain_top_release(Chain top);

#endif /* chain_h */
