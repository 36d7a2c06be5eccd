/* chain.c: generation chains and per-pool generation accounting (see
 * chain.h; design/locus.txt, design/strategy.txt;
 * manual/topic/collection.rst).
 *
 * A chain only describes generations; the bytes are counted per pool in
 * PoolGens, which pools keep one per generation and update as they
 * allocate (new_size) and as segments come and go (total_size).  The
 * tracer asks chain_due which generations are over capacity and, having
 * condemned them, tells the chain with chain_condemned so that their
 * new_size starts again from zero.
 *
 * The top generation (chain.h) is a chain like the others, of one
 * generation, kept in gc->top_chain instead of on gc->chain_ring and not
 * counted in gc->chains_count: the collector owns it, as it owns the
 * default chain.  It is made with the first pool that promotes and
 * destroyed with the last.
 *
 * Invariants (chain_check, pool_gen_check):
 *   1. a chain has 1..CHAIN_GEN_LIMIT generations, each with a positive
 *      capacity and a mortality in [0, 1];
 *   2. a PoolGen's gen is a generation of its chain, and it is on that
 *      generation's pool_gens ring;
 *   3. a PoolGen's total_size is the sum of the sizes of the segments on
 *      its ring (checked by walking, in cool).
 */
#include "chain.h"
#include "../base/args.h"
#include "pattern.h"
#include "seg.h"

/* While an allocation point is in a ramp (pattern.c), the first
 * generation of a chain is due only once it has taken this many times
 * its capacity: the ramp's objects get time to die before a collection
 * copies them, and the nursery still cannot grow without bound. */
#define CHAIN_RAMP_ALLOWANCE 4

/* The arena's default chain (manual/topic/collection.rst: pools made
 * without MPS_KEY_CHAIN share one): a small nursery whose objects mostly
 * die, and an intermediate generation that survivors are promoted into.
 * Capacities in KiB, as in mps_gen_param_s. */
static mps_gen_param_s chain_default_params[] = {
  {8 * 1024, 0.85},
  {36 * 1024, 0.45}
};

bool chain_check(Chain chain)
{
  Index i;
  CHECKS(CHAIN_SIG, chain);
  CHECKU(ARENA_SIG, chain->arena);
  CHECKL(chain->gen_count >= 1 && chain->gen_count <= CHAIN_GEN_LIMIT);  /* 1 */
  for (i = 0; i < chain->gen_count; ++i) {
    CHECKL(chain->gens[i].capacity > 0);
    CHECKL(chain->gens[i].mortality >= 0.0 && chain->gens[i].mortality <= 1.0);
    CHECKL(ring_check(&chain->gens[i].pool_gens));
  }
  return true;
}

bool pool_gen_check(PoolGen pgen)
{
  CHECKS(POOL_GEN_SIG, pgen);
  CHECKU(POOL_SIG, pgen->pool);
  CHECKU(CHAIN_SIG, pgen->chain);
  CHECKL(pgen->gen < pgen->chain->gen_count);                            /* 2 */
  CHECKL(!ring_is_single(&pgen->gen_ring));
#if CHECK_LEVEL >= 2
  {                                                                      /* 3 */
    Ring node, next;
    Size total = 0;
    RING_FOR(node, &pgen->segs, next) {
      Seg seg = PARENT(seg_s, gen_ring, node);
      CHECKL(seg->gen == pgen);
      total += seg_size(seg);
    }
    CHECKL(total == pgen->total_size);
  }
#endif
  return true;
}

/* The top generation's mortality: a statistic no decision uses yet. */
#define CHAIN_TOP_MORTALITY 0.5

/* Make a chain; the parameters have been checked.  `listed`: on
 * gc->chain_ring, so collections of due generations consider it (every
 * chain but the top generation). */
static Res chain_create(Chain *chain_o, Arena arena, size_t gen_count,
                        const mps_gen_param_s *params, bool listed)
{
  GC gc;
  Chain chain;
  void *p;
  Res res;
  Index i;

  res = gc_get(&gc, arena);
  if (res != MPS_RES_OK)
    return res;
  res = arena_control_alloc(&p, arena, sizeof(mps_chain_s));
  if (res != MPS_RES_OK)
    return res;
  chain = p;
  chain->arena = arena;
  ring_init(&chain->gc_ring);
  chain->pools = 0;
  chain->gen_count = gen_count;
  for (i = 0; i < gen_count; ++i) {
    /* KiB to bytes, saturating: a capacity past the address space is
     * as good as infinite. */
    size_t kib = params[i].mps_capacity;
    chain->gens[i].capacity = kib > (Size)-1 / 1024 ? (Size)-1 : kib * 1024;
    chain->gens[i].mortality = params[i].mps_mortality;
    ring_init(&chain->gens[i].pool_gens);
    chain->gens[i].collections = 0;
  }
  if (listed) {
    ring_append(&gc->chain_ring, &chain->gc_ring);
    ++gc->chains_count;
  }
  chain->sig = CHAIN_SIG;
  AVERT(chain, chain);
  *chain_o = chain;
  return MPS_RES_OK;
}

void chain_destroy(Chain chain)
{
  Arena arena;
  GC gc;
  Index i;
  AVERT(chain, chain);
  AVER(chain->pools == 0);
  arena = chain->arena;
  gc = arena->gc;
  chain->sig = SIG_INVALID;
  for (i = 0; i < chain->gen_count; ++i)
    ring_finish(&chain->gens[i].pool_gens);   /* no PoolGen left: pools == 0 */
  if (chain != gc->top_chain) {
    ring_remove(&chain->gc_ring);
    AVER(gc->chains_count > 0);
    --gc->chains_count;
  }
  ring_finish(&chain->gc_ring);
  arena_control_free(arena, chain, sizeof(mps_chain_s));
}

mps_res_t mps_chain_create(mps_chain_t *chain_o, mps_arena_t arena, size_t gen_count,
                           mps_gen_param_s *gen_params)
{
  Res res;
  Index i;
  AVER(chain_o != NULL);
  AVER(arena != NULL && arena->sig == ARENA_SIG);
  AVER(gen_count >= 1 && gen_count <= CHAIN_GEN_LIMIT);
  AVER(gen_params != NULL);
  if (gen_count < 1 || gen_count > CHAIN_GEN_LIMIT || gen_params == NULL)
    return MPS_RES_PARAM;
  for (i = 0; i < gen_count; ++i) {
    AVER(gen_params[i].mps_capacity > 0);
    AVER(gen_params[i].mps_mortality >= 0.0 && gen_params[i].mps_mortality <= 1.0);
    if (gen_params[i].mps_capacity == 0
        || !(gen_params[i].mps_mortality >= 0.0 && gen_params[i].mps_mortality <= 1.0))
      return MPS_RES_PARAM;
  }
  arena_enter(arena);
  res = chain_create(chain_o, arena, gen_count, gen_params, true);
  arena_leave(arena);
  return res;
}

void mps_chain_destroy(mps_chain_t chain)
{
  Arena arena;
  AVER(chain != NULL && chain->sig == CHAIN_SIG);
  /* Destroyed already, or never a chain: its arena cannot be trusted,
   * so there is nothing to do after the report. */
  if (chain == NULL || chain->sig != CHAIN_SIG)
    return;
  arena = chain->arena;
  arena_enter(arena);
  AVERT(chain, chain);
  /* Every pool using it must have been destroyed (collection.rst). */
  AVER(chain->pools == 0);
  /* The default chain belongs to the arena, not to the client. */
  AVER(chain != arena->gc->default_chain);
  if (chain->pools == 0 && chain != arena->gc->default_chain)
    chain_destroy(chain);
  arena_leave(arena);
}

Res chain_acquire(Chain *chain_o, Arena arena, mps_arg_s args[])
{
  mps_arg_s arg;
  Chain chain;
  GC gc;
  Res res;

  AVER(chain_o != NULL);
  AVERT(arena, arena);
  if (args_pick(&arg, args, MPS_KEY_CHAIN)) {
    chain = arg.val.chain;
    AVER(chain != NULL && chain->sig == CHAIN_SIG);
    if (chain == NULL || chain->sig != CHAIN_SIG)
      return MPS_RES_PARAM;
    AVER(chain->arena == arena);   /* a chain serves only its own arena */
    if (chain->arena != arena)
      return MPS_RES_PARAM;
  } else {
    res = gc_get(&gc, arena);
    if (res != MPS_RES_OK)
      return res;
    if (gc->default_chain == NULL) {
      res = chain_create(&gc->default_chain, arena,
                         sizeof chain_default_params / sizeof chain_default_params[0],
                         chain_default_params, true);
      if (res != MPS_RES_OK)
        return res;
    }
    chain = gc->default_chain;
  }
  AVERT(chain, chain);
  ++chain->pools;
  *chain_o = chain;
  return MPS_RES_OK;
}

Res chain_top_acquire(Chain *top_o, Arena arena, Chain chain)
{
  GC gc = arena->gc;
  Size last;
  AVER(top_o != NULL);
  AVERT(chain, chain);
  AVER(chain->arena == arena);
  last = chain->gens[chain->gen_count - 1].capacity;
  if (gc->top_chain == NULL) {
    mps_gen_param_s param;
    Res res;
    param.mps_capacity = 1;     /* raised to `last` below */
    param.mps_mortality = CHAIN_TOP_MORTALITY;
    res = chain_create(&gc->top_chain, arena, 1, &param, false);
    if (res != MPS_RES_OK)
      return res;
  }
  AVERT(chain, gc->top_chain);
  /* Not the sum of the chains' last generations: a client that splits
   * its pools over chains should not wait longer for the world. */
  if (gc->top_chain->gens[0].capacity < last)
    gc->top_chain->gens[0].capacity = last;
  ++gc->top_chain->pools;
  *top_o = gc->top_chain;
  return MPS_RES_OK;
}

void chain_top_release(Chain top)
{
  GC gc;
  AVERT(chain, top);
  gc = top->arena->gc;
  AVER(top == gc->top_chain);
  chain_release(top);
  if (top->pools == 0) {
    chain_destroy(top);    /* while gc->top_chain still says so */
    gc->top_chain = NULL;
  }
}

void chain_release(Chain chain)
{
  AVERT(chain, chain);
  AVER(chain->pools > 0);
  --chain->pools;
}

void pool_gen_init(PoolGen pgen, Pool pool, Chain chain, Index gen)
{
  AVER(pgen != NULL);
  AVERT(pool, pool);
  AVERT(chain, chain);
  AVER(gen < chain->gen_count);
  pgen->pool = pool;
  pgen->chain = chain;
  pgen->gen = gen;
  ring_init(&pgen->gen_ring);
  ring_append(&chain->gens[gen].pool_gens, &pgen->gen_ring);
  ring_init(&pgen->segs);
  pgen->total_size = 0;
  pgen->new_size = 0;
  pgen->sig = POOL_GEN_SIG;
  AVERT(pool_gen, pgen);
}

void pool_gen_finish(PoolGen pgen)
{
  AVERT(pool_gen, pgen);
  /* The pool frees its segments first (seg_free takes them off). */
  AVER(ring_is_single(&pgen->segs));
  AVER(pgen->total_size == 0);
  pgen->sig = SIG_INVALID;
  ring_finish(&pgen->segs);
  ring_remove(&pgen->gen_ring);
  ring_finish(&pgen->gen_ring);
}

void pool_gen_account_alloc(PoolGen pgen, Size size)
{
  AVERT(pool_gen, pgen);
  /* Saturate rather than wrap: past the address space it is due anyway. */
  pgen->new_size = size > (Size)-1 - pgen->new_size ? (Size)-1 : pgen->new_size + size;
}

void pool_gen_seg_add(PoolGen pgen, Seg seg)
{
  AVERT(pool_gen, pgen);
  AVERT(seg, seg);
  AVER(seg->gen == NULL);
  AVER(seg->pool == pgen->pool);
  seg->gen = pgen;
  ring_append(&pgen->segs, &seg->gen_ring);
  pgen->total_size += seg_size(seg);                                     /* 3 */
}

void pool_gen_seg_remove(PoolGen pgen, Seg seg)
{
  AVERT(pool_gen, pgen);
  AVER(seg != NULL && seg->gen == pgen);
  AVER(pgen->total_size >= seg_size(seg));
  ring_remove(&seg->gen_ring);
  seg->gen = NULL;
  pgen->total_size -= seg_size(seg);                                     /* 3 */
}

/* Over every pool in generation `i` of `chain`: the bytes allocated into
 * it since it was last condemned (new_size), or, if `total`, the bytes of
 * its segments (total_size).  Saturating. */
static Size chain_gen_sum(Chain chain, Index i, bool total)
{
  Ring node, next;
  Size sum = 0;
  RING_FOR(node, &chain->gens[i].pool_gens, next) {
    PoolGen pgen = PARENT(pool_gen_s, gen_ring, node);
    Size size = total ? pgen->total_size : pgen->new_size;
    sum = size > (Size)-1 - sum ? (Size)-1 : sum + size;
  }
  return sum;
}

Word chain_due(Chain chain)
{
  Word due = 0;
  Index i;
  AVERT(chain, chain);
  for (i = 0; i < chain->gen_count; ++i) {
    Size capacity = chain->gens[i].capacity;
    if (i == 0 && pattern_is_ramping(chain->arena->gc))
      capacity = capacity > (Size)-1 / CHAIN_RAMP_ALLOWANCE ? (Size)-1
                                                            : capacity * CHAIN_RAMP_ALLOWANCE;
    /* collection.rst: every generation up to the highest one over its
     * capacity, whether or not those below it are. */
    if (chain_gen_sum(chain, i, false) > capacity)
      due = ((Word)2 << i) - 1;
  }
  return due;
}

void chain_condemned(Chain chain, Word gens)
{
  Index i;
  AVERT(chain, chain);
  AVER((gens >> chain->gen_count) == 0);
  for (i = 0; i < chain->gen_count; ++i) {
    Ring node, next;
    if ((gens & ((Word)1 << i)) == 0)
      continue;
    ++chain->gens[i].collections;
    RING_FOR(node, &chain->gens[i].pool_gens, next) {
      PoolGen pgen = PARENT(pool_gen_s, gen_ring, node);
      pgen->new_size = 0;
    }
  }
}

void chain_world_collected(GC gc)
{
  Ring node, next;
  if (gc->top_chain == NULL)
    return;
  AVERT(chain, gc->top_chain);
  RING_FOR(node, &gc->top_chain->gens[0].pool_gens, next) {
    PoolGen pgen = PARENT(pool_gen_s, gen_ring, node);
    pgen->new_size = 0;
  }
}

bool chain_top_due(GC gc)
{
  Chain top = gc->top_chain;
  Size promoted, before;
  if (top == NULL)
    return false;
  AVERT(chain, top);
  promoted = chain_gen_sum(top, 0, false);
  /* What it held before those promotions: mostly what survived the last
   * collection of the world, since nothing else takes from it. */
  before = chain_gen_sum(top, 0, true);
  before -= promoted < before ? promoted : before;
  return promoted > top->gens[0].capacity && promoted > before;
}
