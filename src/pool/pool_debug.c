/* pool_debug.c: the debugging mixin -- fenceposts and free-space
 * splatting over any manual pool class (see pool_debug.h;
 * manual/topic/debugging.rst, manual/pool/mvff.rst, design/object-debug.txt).
 *
 * Layout.  A debug pool's instance is the base class's instance, padded to
 * the alignment of pool_debug_s, then a pool_debug_s.  The base methods
 * receive the same Pool and find their own structure at its start, as
 * they would in a base instance; the debugging methods find theirs at the
 * class's offset.
 *
 * Fenceposts.  A block of `size` bytes allocated with mps_alloc is a base
 * block of size + 2F bytes, where F is fence_size rounded up to the pool's
 * alignment (so the client's block stays aligned): a fence of F bytes, the
 * client's block, another fence.  Each fence is filled with the fence
 * template repeated from the fence's first byte.  Alignment slop inside
 * the client's block is not fenced: the generic pool rounds the size up
 * before any class sees it, so the requested size is not known here.
 * Every fenced block is recorded (client address and size) in a splay
 * tree keyed by address whose nodes come from arena control memory: four
 * words per live block, and O(log n) amortized work per mps_alloc and
 * mps_free.  If no node can be had, the allocation fails with the result
 * code and the pool is as it was.  mps_free checks the block's two fences
 * and mps_pool_check_fenceposts checks every fence; so does destroying the
 * pool.
 *
 * Allocation points.  The client allocates inline from a buffer, so blocks
 * made through an allocation point have no fences and are not recorded.
 * A free of a block that is not a recorded fenced block is taken to be
 * such a block: it must lie in the pool's memory and must not overlap any
 * fenced block (fences included), which catches a wrong address inside or
 * next to a fenced block.  Free space splatting applies to allocation
 * points in full: the region a buffer is filled with is checked like any
 * allocation, and the unused part handed back when it is emptied is
 * splatted and recorded.
 *
 * Free space.  Memory freed through this layer (whole base blocks, fences
 * included, and unused buffer parts) is filled with the free template
 * (laid by absolute address: the byte at address a is template[a mod
 * free_size], so ranges splatted at different times join seamlessly) and
 * only then given to the base class.  The base class may write its own
 * bookkeeping into free memory as it takes it (MFS links free units through
 * their first word and marks them in their second), so after the base call
 * the region is scanned again and only the words that still hold the
 * template wholly are recorded, as ranges
 * in a second splay tree (coalesced; four words of control memory per
 * range).  Allocation and buffer fills check the recorded part of the
 * memory they hand out and drop it from the record; mps_pool_check_free_space
 * and pool destruction check every recorded range.  Memory the base pool
 * got fresh from the arena was never splatted and is not checked.  No
 * method is needed from the base class to find its free space, at the
 * price of the record.  A base class that writes into free memory other
 * than while the memory is being freed (free_land's freelist, which the
 * land falls back on when the CBS has no node, splits a free range by
 * writing a new header into the rest) says so through the pool's
 * scribble_hook (pool.h), and those words leave the record unchecked
 * (debug_scribble_hook).  If a range node cannot be had, that range is
 * simply not recorded (it is counted in `unrecorded`): the record may lose
 * memory, never hold memory in use.
 *
 * Release to the arena.  The template must also be checked when memory
 * goes back to the arena (topic/debugging.rst; topic/error.rst lists the
 * assertion), and afterwards it may be unmapped.  So the mixin sets the
 * pool's release_hook (pool.h), which the base class calls just before it
 * gives a range back (pool_before_release): the recorded free memory in
 * that range is checked there, damage reported, and the range leaves the
 * record (debug_release_hook).  After each base call, recorded memory in
 * grains the pool no longer owns is dropped (debug_free_prune): none, for
 * a base that calls the hook.
 *
 * Reports go through check_fail, in every variety (the client asked for
 * this class to be told about damage), one per run of damaged bytes; see
 * pool_debug.h for the messages.  They are made with the arena lock held.
 *
 * Invariants (pool_debug_class_check, debug_check):
 *   1. the class wraps a genuine non-debugging class; the instance size is
 *      the base size rounded up to pool_debug_s, plus pool_debug_s;
 *   2. a template is present exactly when its size is non-zero; F is 0
 *      when fence_size is 0, else fence_size rounded up to the alignment;
 *   3. with F = 0 no block is recorded as live;
 *   4. live blocks' extents [base - F, base + size + F) are disjoint and
 *      their sizes positive multiples of the alignment;
 *   5. recorded free ranges are non-empty, disjoint and not adjacent
 *      (inserts coalesce), and none overlaps a live block's extent;
 *   6. free_recorded is the total size of the recorded ranges, and the
 *      record is empty when free_size is 0.
 * 4, 5 and 6's total take walks of both trees: pool_debug_check_deep
 * checks them, for tests and fuzz targets; the cheap check covers 1-3 and
 * 6's emptiness condition.
 */

#include "../../include/mpscmvff.h"
#include "../base/args.h"
#include "../data/splay.h"
#include "../thread/lock.h"
#include "buffer.h"
#include "pool_debug.h"

#define DEBUG_REPORT_MAX 160

typedef struct pool_debug_s {
  Sig sig;
  Byte *fence_template;      /* copy in control memory, or NULL */
  Size fence_size;
  Byte *free_template;       /* copy in control memory, or NULL */
  Size free_size;
  Size fence;                /* F: bytes of each fence */
  splay_tree_s live;         /* debug_block_s by client address */
  Count live_count;
  splay_tree_s free;         /* debug_range_s by base address */
  Count range_count;
  Size free_recorded;        /* bytes in the free record */
  Size unrecorded;           /* bytes splatted but not recorded (no node) */
  Size base_total;           /* base total size after the last base call */
} pool_debug_s;
typedef pool_debug_s *PoolDebug;

/* A live fenced block.  No signature: a tree node whose tree carries one. */
typedef struct debug_block_s {
  splay_node_s node;
  Addr base;                 /* the client's address */
  Size size;                 /* the client's size, rounded to the alignment */
} debug_block_s;

/* A recorded range of splatted free memory.  No signature, as above. */
typedef struct debug_range_s {
  splay_node_s node;
  Addr base;
  Addr limit;
} debug_range_s;

static Res debug_init(Pool pool, mps_arg_s args[]);

/* ---- classes and instances ---- */

static PoolDebugClass debug_class_of(Pool pool)
{
  return PARENT(pool_debug_class_s, klass, pool->klass);
}

static PoolDebug debug_of_pool(Pool pool)
{
  return (PoolDebug)(void *)((char *)pool + debug_class_of(pool)->offset);
}

bool pool_debug_class_check(PoolDebugClass dc)
{
  CHECKS(POOL_DEBUG_CLASS_SIG, dc);
  CHECKD(pool_class, &dc->klass);                                            /* 1 */
  CHECKD(pool_class, dc->base);
  CHECKL(dc->klass.init == debug_init && dc->base->init != debug_init);
  CHECKL(dc->offset >= dc->base->size);
  CHECKL(size_is_aligned(dc->offset, _Alignof(pool_debug_s)));
  CHECKL(dc->klass.size == dc->offset + sizeof(pool_debug_s));
  return true;
}

/* ---- templates: filling, scanning, reporting ---- */

/* Fill [base, limit) with `tpl` repeated, the byte at base being
 * tpl[phase]. */
static void debug_fill(Addr base, Addr limit, const Byte *tpl, Size tsize, Size phase)
{
  Byte *p = addr_ptr(base);
  Size left = addr_offset(base, limit);
  while (left > 0) {
    Size n = size_min(left, tsize - phase);
    mem_copy(p, tpl + phase, n);
    p += n;
    left -= n;
    phase = 0;
  }
}

/* Find the first run of bytes in [base, limit) that differ from `tpl`
 * laid as in debug_fill: true and the run in [*run_base_o, *run_limit_o),
 * or false if the whole range holds the template. */
static bool debug_find_damage(Addr *run_base_o, Addr *run_limit_o, Addr base, Addr limit,
                              const Byte *tpl, Size tsize, Size phase)
{
  const Byte *p = addr_ptr(base), *end = addr_ptr(limit);
  const Byte *bad;
  /* Skip matching pieces with memcmp, the common case. */
  while (p < end) {
    Size n = size_min((Size)(end - p), tsize - phase);
    if (mem_cmp(p, tpl + phase, n) != 0)
      break;
    p += n;
    phase = 0;
  }
  if (p == end)
    return false;
  while (*p == tpl[phase]) {   /* a mismatch lies in this piece */
    ++p;
    phase = (phase + 1) % tsize;
  }
  bad = p;
  while (p < end && *p != tpl[phase]) {
    ++p;
    phase = (phase + 1) % tsize;
  }
  *run_base_o = addr_of_ptr((void *)(uintptr_t)bad);
  *run_limit_o = addr_of_ptr((void *)(uintptr_t)p);
  return true;
}

typedef struct debug_msg_s {
  char *out;
  char *end;                 /* room for the terminator after this */
} debug_msg_s;

static void debug_msg_str(debug_msg_s *m, const char *s)
{
  while (*s != '\0' && m->out < m->end)
    *m->out++ = *s++;
}

static void debug_msg_num(debug_msg_s *m, Word n, unsigned radix)
{
  char digits[sizeof(Word) * 8];
  Index i = 0;
  do {
    digits[i++] = "0123456789abcdef"[n % radix];
    n /= radix;
  } while (n != 0);
  while (i > 0 && m->out < m->end)
    *m->out++ = digits[--i];
}

/* Report every damaged run in [base, limit), on the stack: the failure
 * path must not allocate.  `block` is the fenced block, or NULL for free
 * space. */
static Count debug_report_damage(Addr base, Addr limit, const Byte *tpl, Size tsize, Size phase,
                                 Addr block, Size size)
{
  Count reports = 0;
  Addr run_base, run_limit;
  while (base != limit
         && debug_find_damage(&run_base, &run_limit, base, limit, tpl, tsize, phase)) {
    char text[DEBUG_REPORT_MAX];
    debug_msg_s m;
    m.out = text;
    m.end = text + sizeof text - 1;
    debug_msg_str(&m, block != NULL ? POOL_DEBUG_FENCE_REPORT : POOL_DEBUG_FREE_REPORT);
    debug_msg_num(&m, addr_word(run_base), 16);
    debug_msg_str(&m, " (");
    debug_msg_num(&m, addr_offset(run_base, run_limit), 10);
    debug_msg_str(&m, " bytes)");
    if (block != NULL) {
      debug_msg_str(&m, ", block 0x");
      debug_msg_num(&m, addr_word(block), 16);
      debug_msg_str(&m, " size ");
      debug_msg_num(&m, size, 10);
    }
    *m.out = '\0';
    check_fail(__FILE__, (unsigned)__LINE__, text);
    ++reports;
    phase = (phase + addr_offset(base, run_limit)) % tsize;
    base = run_limit;
  }
  return reports;
}

static Size debug_free_phase(PoolDebug d, Addr a)
{
  return (Size)(addr_word(a) % d->free_size);
}

static void debug_splat(PoolDebug d, Addr base, Addr limit)
{
  debug_fill(base, limit, d->free_template, d->free_size, debug_free_phase(d, base));
}

static void debug_check_fences(PoolDebug d, Addr block, Size size)
{
  Size f = d->fence;
  debug_report_damage(addr_sub(block, f), block, d->fence_template, d->fence_size, 0, block, size);
  debug_report_damage(addr_add(block, size), addr_add(block, size + f), d->fence_template,
                      d->fence_size, 0, block, size);
}

/* ---- the two trees ---- */

static debug_block_s *debug_block_of(SplayNode node)
{
  return PARENT(debug_block_s, node, node);
}

static debug_range_s *debug_range_of(SplayNode node)
{
  return PARENT(debug_range_s, node, node);
}

static const void *debug_key(Addr a)
{
  return (const void *)addr_ptr(a);
}

static SplayCompare debug_compare_words(const void *key, Addr node_key)
{
  Word k = (Word)(uintptr_t)key, n = addr_word(node_key);
  return k < n ? SPLAY_LESS : k > n ? SPLAY_GREATER : SPLAY_EQUAL;
}

static SplayCompare debug_block_compare(SplayNode node, const void *key)
{
  return debug_compare_words(key, debug_block_of(node)->base);
}

static const void *debug_block_key(SplayNode node)
{
  return debug_key(debug_block_of(node)->base);
}

static SplayCompare debug_range_compare(SplayNode node, const void *key)
{
  return debug_compare_words(key, debug_range_of(node)->base);
}

static const void *debug_range_key(SplayNode node)
{
  return debug_key(debug_range_of(node)->base);
}

/* The node with the greatest key not above `a`, or NULL. */
static SplayNode debug_at_or_before(SplayTree tree, Addr a)
{
  SplayNode node = NULL, left, right;
  if (!splay_tree_neighbours(tree, &left, &right, debug_key(a))) {
    bool found = splay_tree_find(tree, &node, debug_key(a));
    AVER(found);
    return node;
  }
  return left;
}

/* The first recorded free range overlapping [base, limit), or NULL. */
static debug_range_s *debug_range_first_overlap(PoolDebug d, Addr base, Addr limit)
{
  SplayNode node = debug_at_or_before(&d->free, base);
  if (node != NULL && addr_word(debug_range_of(node)->limit) > addr_word(base))
    return debug_range_of(node);
  node = splay_tree_next(&d->free, debug_key(base));
  if (node != NULL && addr_word(debug_range_of(node)->base) < addr_word(limit))
    return debug_range_of(node);
  return NULL;
}

/* Whether [base, limit) overlaps a live block's extent.  Extents are
 * disjoint and ordered like their keys, so only the last block starting
 * (fence included) below `limit` can reach `base`. */
static bool debug_live_overlaps(PoolDebug d, Addr base, Addr limit)
{
  SplayNode node;
  debug_block_s *block;
  if (d->fence == 0)
    return false;
  node = debug_at_or_before(&d->live, addr_sub(addr_add(limit, d->fence), 1));
  if (node == NULL)
    return false;
  block = debug_block_of(node);
  return addr_word(block->base) + block->size + d->fence > addr_word(base);
}

static void debug_range_release(Arena arena, PoolDebug d, debug_range_s *range)
{
  splay_tree_delete(&d->free, &range->node);
  --d->range_count;
  arena_control_free(arena, range, sizeof *range);
}

/* Add [base, limit), disjoint from the record, coalescing with
 * neighbours.  Moving a node's key to an adjacent range keeps the order,
 * because ranges are disjoint. */
static void debug_free_record(Pool pool, PoolDebug d, Addr base, Addr limit)
{
  SplayNode ln = debug_at_or_before(&d->free, base);
  SplayNode rn = splay_tree_next(&d->free, debug_key(base));
  debug_range_s *left = ln != NULL ? debug_range_of(ln) : NULL;
  debug_range_s *right = rn != NULL ? debug_range_of(rn) : NULL;
  void *p;

  AVER_CRITICAL(left == NULL || addr_word(left->limit) <= addr_word(base));
  AVER_CRITICAL(right == NULL || addr_word(right->base) >= addr_word(limit));
  if (left != NULL && left->limit == base) {
    if (right != NULL && right->base == limit) {
      left->limit = right->limit;
      debug_range_release(pool->arena, d, right);
    } else {
      left->limit = limit;
    }
  } else if (right != NULL && right->base == limit) {
    right->base = base;
  } else if (arena_control_alloc(&p, pool->arena, sizeof(debug_range_s)) == MPS_RES_OK) {
    debug_range_s *range = p;
    splay_node_init(&range->node);
    range->base = base;
    range->limit = limit;
    (void)splay_tree_insert(&d->free, &range->node);
    ++d->range_count;
  } else {
    d->unrecorded += addr_offset(base, limit);
    return;
  }
  d->free_recorded += addr_offset(base, limit);
}

/* Record the parts of [base, limit) that still hold the free template
 * after the base class has taken it. */
static void debug_free_record_intact(Pool pool, PoolDebug d, Addr base, Addr limit)
{
  Addr run_base, run_limit;
  while (base != limit) {
    if (!debug_find_damage(&run_base, &run_limit, base, limit, d->free_template,
                           d->free_size, debug_free_phase(d, base))) {
      debug_free_record(pool, d, base, limit);
      return;
    }
    /* The base class writes whole words.  A word it wrote may still
     * match the template in some bytes by chance (MFS's mark word does
     * one time in 32), and a later write of it by the class (MFS clears
     * the mark as it hands the unit out) would then be taken for damage:
     * so such a word is left out whole. */
    run_base = addr_align_down(run_base, sizeof(Word));
    if (addr_word(run_base) < addr_word(base))
      run_base = base;
    run_limit = addr_align_up(run_limit, sizeof(Word));
    if (addr_word(run_limit) > addr_word(limit))
      run_limit = limit;
    if (run_base != base)
      debug_free_record(pool, d, base, run_base);
    base = run_limit;
  }
}

/* Drop [base, limit) from the record, first checking what is recorded of
 * it if `check`. */
static void debug_free_drop(Pool pool, PoolDebug d, Addr base, Addr limit, bool check)
{
  debug_range_s *range = debug_range_first_overlap(d, base, limit);
  while (range != NULL) {
    Addr rb = range->base, rl = range->limit;
    Addr ib = addr_max(rb, base), il = addr_min(rl, limit);
    SplayNode next;
    if (check)
      debug_report_damage(ib, il, d->free_template, d->free_size, debug_free_phase(d, ib),
                          NULL, 0);
    d->free_recorded -= addr_offset(ib, il);
    if (addr_word(rb) < addr_word(base) && addr_word(rl) > addr_word(limit)) {
      void *p;
      range->limit = base;
      if (arena_control_alloc(&p, pool->arena, sizeof(debug_range_s)) == MPS_RES_OK) {
        debug_range_s *high = p;
        splay_node_init(&high->node);
        high->base = limit;
        high->limit = rl;
        (void)splay_tree_insert(&d->free, &high->node);
        ++d->range_count;
      } else {
        /* Forget the upper part: the record may lose memory. */
        d->unrecorded += addr_offset(limit, rl);
        d->free_recorded -= addr_offset(limit, rl);
      }
      return;
    }
    if (addr_word(rb) < addr_word(base))
      range->limit = base;
    else if (addr_word(rl) > addr_word(limit))
      range->base = limit;   /* moves up within its own old extent */
    else
      debug_range_release(pool->arena, d, range);
    if (addr_word(rl) >= addr_word(limit))
      return;
    next = splay_tree_next(&d->free, debug_key(rb));
    range = next != NULL && addr_word(debug_range_of(next)->base) < addr_word(limit)
            ? debug_range_of(next) : NULL;
  }
}

/* [base, limit) is about to be handed out: check what is recorded of it
 * and drop that from the record. */
static void debug_free_take(Pool pool, PoolDebug d, Addr base, Addr limit)
{
  debug_free_drop(pool, d, base, limit, true);
}

/* The base is about to give [base, base + size) back to the arena
 * (pool.h, release_hook): check the recorded free memory there while it
 * can be read, and drop it from the record. */
static void debug_release_hook(Pool pool, Addr base, Size size)
{
  PoolDebug d = debug_of_pool(pool);
  if (d->free_size > 0 && d->range_count > 0)
    debug_free_drop(pool, d, base, addr_add(base, size), true);
}

/* The base wrote its own bookkeeping into [base, limit) of its free
 * memory (pool.h, scribble_hook): the template is not expected there any
 * more.  Nothing is checked: the words were overwritten by the pool, not
 * the client. */
static void debug_scribble_hook(Pool pool, Addr base, Addr limit)
{
  PoolDebug d = debug_of_pool(pool);
  if (d->free_size > 0 && d->range_count > 0)
    debug_free_drop(pool, d, base, limit, false);
}

/* Whether every grain of [base, limit) still belongs to the pool. */
static bool debug_owned(Pool pool, Addr base, Addr limit)
{
  Size grain = pool->arena->grain_size;
  Addr g;
  for (g = addr_align_down(base, grain); addr_word(g) < addr_word(limit); g = addr_add(g, grain))
    if (arena_pool_of_addr(pool->arena, g) != pool)
      return false;
  return true;
}

/* The base pool gave memory back to the arena: drop the recorded memory
 * in grains it no longer owns (none if the base called the release hook,
 * which checked it before it went). */
static void debug_free_prune(Pool pool, PoolDebug d)
{
  Size grain = pool->arena->grain_size;
  SplayNode node = splay_tree_first(&d->free);
  while (node != NULL) {
    debug_range_s *range = debug_range_of(node);
    Addr rb = range->base, rl = range->limit;
    if (!debug_owned(pool, rb, rl)) {
      Addr g;
      d->free_recorded -= addr_offset(rb, rl);
      debug_range_release(pool->arena, d, range);
      for (g = addr_align_down(rb, grain); addr_word(g) < addr_word(rl); g = addr_add(g, grain))
        if (arena_pool_of_addr(pool->arena, g) == pool)
          debug_free_record(pool, d, addr_max(g, rb), addr_min(addr_add(g, grain), rl));
    }
    node = splay_tree_next(&d->free, debug_key(rb));
  }
}

/* After every base call that may get or give back memory.  Returns
 * whether the base pool gave memory back to the arena. */
static bool debug_note_base_total(Pool pool, PoolDebug d)
{
  PoolClass base = debug_class_of(pool)->base;
  Size total;
  bool shrank;
  if (base->total_size == NULL)
    return false;
  total = base->total_size(pool);
  shrank = total < d->base_total;
  if (shrank && d->range_count > 0)
    debug_free_prune(pool, d);
  d->base_total = total;
  return shrank;
}

/* The memory the base class has in use (its total less its free size) in
 * *in_use_o, or false if it cannot say. */
static bool debug_base_in_use(Size *in_use_o, Pool pool)
{
  PoolClass base = debug_class_of(pool)->base;
  Size total, free;
  if (base->total_size == NULL || base->free_size == NULL)
    return false;
  total = base->total_size(pool);
  free = base->free_size(pool);
  if (free > total)
    return false;
  *in_use_o = total - free;
  return true;
}

/* [base, limit), splatted, has just been given to the base class, which
 * had `in_use` bytes in use before if `sized`: record what is intact of
 * it, reading only grains the pool still owns (the base may have passed
 * some straight back to the arena).  A base that refused the range (it
 * overlaps the base's free memory: a free of a wrong size, or of part of
 * a buffer's unused rest) has as much in use as before, and the range,
 * which may hold a live block, stays out of the record: recorded, the
 * block's own free would be refused as a double free, and its contents
 * reported as damage. */
static void debug_after_give_back(Pool pool, PoolDebug d, Addr base, Addr limit,
                                  bool sized, Size in_use)
{
  Size grain = pool->arena->grain_size, now;
  Addr g;
  bool shrank = debug_note_base_total(pool, d);
  if (d->free_size == 0)
    return;
  if (sized && debug_base_in_use(&now, pool) && now >= in_use)
    return;
  if (!shrank) {
    debug_free_record_intact(pool, d, base, limit);
    return;
  }
  for (g = addr_align_down(base, grain); addr_word(g) < addr_word(limit); g = addr_add(g, grain))
    if (arena_pool_of_addr(pool->arena, g) == pool)
      debug_free_record_intact(pool, d, addr_max(g, base), addr_min(addr_add(g, grain), limit));
}

/* ---- checks ---- */

static bool debug_check(Pool pool)
{
  PoolDebugClass dc = debug_class_of(pool);
  PoolDebug d = debug_of_pool(pool);
  CHECKD(pool_debug_class, dc);                                              /* 1 */
  CHECKS(POOL_DEBUG_SIG, d);
  if (dc->base->check != NULL)
    CHECKL(dc->base->check(pool));
  CHECKL((d->fence_template == NULL) == (d->fence_size == 0));               /* 2 */
  CHECKL((d->free_template == NULL) == (d->free_size == 0));
  CHECKL(d->fence_size == 0
         ? d->fence == 0
         : d->fence == size_align_up(d->fence_size, pool->alignment));
  CHECKL(d->fence > 0 || d->live_count == 0);                                /* 3 */
  CHECKD(splay_tree, &d->live);
  CHECKD(splay_tree, &d->free);
  CHECKL(d->free_size > 0 || (d->range_count == 0 && d->free_recorded == 0)); /* 6 */
  return true;
}

/* Invariants 4 to 6 over both trees, walked in address order side by
 * side: each range is checked against the live extent that ends first
 * after its base, the only one that could overlap it. */
bool pool_debug_check_deep(Pool pool)
{
  PoolDebug d;
  SplayNode live, node;
  Addr live_lo = NULL, live_hi = NULL, prev = NULL;
  Count blocks = 0, ranges = 0;
  Size recorded = 0;
  bool is_debug = pool != NULL && pool->klass->init == debug_init;
  CHECKL(is_debug);
  if (!is_debug)
    return false;   /* no records to walk */
  CHECKL(debug_check(pool));
  d = debug_of_pool(pool);
  for (node = splay_tree_first(&d->live); node != NULL;                       /* 4 */
       node = splay_tree_next(&d->live, debug_key(debug_block_of(node)->base))) {
    debug_block_s *b = debug_block_of(node);
    CHECKL(b->size > 0 && size_is_aligned(b->size, pool->alignment));
    CHECKL(addr_word(b->base) >= d->fence);
    CHECKL(prev == NULL || addr_word(prev) <= addr_word(b->base) - d->fence);
    prev = addr_add(b->base, b->size + d->fence);
    ++blocks;
  }
  CHECKL(blocks == d->live_count);
  prev = NULL;
  live = splay_tree_first(&d->live);
  for (node = splay_tree_first(&d->free); node != NULL;                       /* 5 */
       node = splay_tree_next(&d->free, debug_key(debug_range_of(node)->base))) {
    debug_range_s *r = debug_range_of(node);
    CHECKL(addr_word(r->base) < addr_word(r->limit));
    CHECKL(prev == NULL || addr_word(prev) < addr_word(r->base));   /* apart */
    prev = r->limit;
    /* The first live extent that ends after this range's base. */
    while (live != NULL) {
      debug_block_s *b = debug_block_of(live);
      live_lo = addr_sub(b->base, d->fence);
      live_hi = addr_add(b->base, b->size + d->fence);
      if (addr_word(live_hi) > addr_word(r->base))
        break;
      live = splay_tree_next(&d->live, debug_key(b->base));
    }
    CHECKL(live == NULL || addr_word(live_lo) >= addr_word(r->limit));
    recorded += addr_offset(r->base, r->limit);
    ++ranges;
  }
  CHECKL(ranges == d->range_count);                                          /* 6 */
  CHECKL(recorded == d->free_recorded);
  return true;
}

/* ---- methods ---- */

static Res debug_copy_template(Byte **copy_o, Arena arena, const void *tpl, Size size)
{
  void *p;
  Res res;
  *copy_o = NULL;
  if (size == 0)
    return MPS_RES_OK;
  res = arena_control_alloc(&p, arena, size);
  if (res != MPS_RES_OK)
    return res;
  mem_copy(p, tpl, size);
  *copy_o = p;
  return MPS_RES_OK;
}

static Res debug_init(Pool pool, mps_arg_s args[])
{
  static const Byte default_fence[4] = {0x50, 0x4F, 0x53, 0x54};   /* "POST" */
  static const Byte default_free[4] = {0x46, 0x52, 0x45, 0x45};    /* "FREE" */
  PoolDebugClass dc = debug_class_of(pool);
  PoolDebug d = debug_of_pool(pool);
  Arena arena = pool->arena;
  const void *fence_tpl = default_fence, *free_tpl = default_free;
  Size fence_size = sizeof default_fence, free_size = sizeof default_free;
  Byte *fence_copy, *free_copy;
  mps_arg_s arg;
  Res res;

  /* Taken first, so the base class never sees it. */
  if (args_pick(&arg, args, MPS_KEY_POOL_DEBUG_OPTIONS)) {
    const mps_pool_debug_option_s *options = arg.val.pool_debug_options;
    AVER(options != NULL);
    if (options == NULL)
      return MPS_RES_PARAM;
    AVER(options->fence_size == 0 || options->fence_template != NULL);
    AVER(options->free_size == 0 || options->free_template != NULL);
    if ((options->fence_size != 0 && options->fence_template == NULL)
        || (options->free_size != 0 && options->free_template == NULL)
        || options->fence_size > SIZE_MAX / 4)
      return MPS_RES_PARAM;
    fence_tpl = options->fence_template;
    fence_size = options->fence_size;
    free_tpl = options->free_template;
    free_size = options->free_size;
  }
  /* Copied, so the client's templates need not outlive this call. */
  res = debug_copy_template(&fence_copy, arena, fence_tpl, fence_size);
  if (res != MPS_RES_OK)
    return res;
  res = debug_copy_template(&free_copy, arena, free_tpl, free_size);
  if (res != MPS_RES_OK)
    goto fail_free;

  /* Valid, with no features yet, before the base init runs: it may check
   * the pool, which calls debug_check. */
  d->fence_template = NULL;
  d->fence_size = 0;
  d->free_template = NULL;
  d->free_size = 0;
  d->fence = 0;
  splay_tree_init(&d->live, debug_block_compare, debug_block_key, NULL);
  d->live_count = 0;
  splay_tree_init(&d->free, debug_range_compare, debug_range_key, NULL);
  d->range_count = 0;
  d->free_recorded = 0;
  d->unrecorded = 0;
  d->base_total = 0;
  d->sig = POOL_DEBUG_SIG;

  res = dc->base->init(pool, args);
  if (res != MPS_RES_OK)
    goto fail_base;

  d->fence_template = fence_copy;
  d->fence_size = fence_size;
  d->free_template = free_copy;
  d->free_size = free_size;
  d->fence = fence_size == 0 ? 0 : size_align_up(fence_size, pool->alignment);
  if (dc->base->total_size != NULL)
    d->base_total = dc->base->total_size(pool);
  pool->release_hook = debug_release_hook;
  pool->scribble_hook = debug_scribble_hook;
  return MPS_RES_OK;

fail_base:
  d->sig = SIG_INVALID;
  splay_tree_finish(&d->free);
  splay_tree_finish(&d->live);
  if (free_copy != NULL)
    arena_control_free(arena, free_copy, free_size);
fail_free:
  if (fence_copy != NULL)
    arena_control_free(arena, fence_copy, fence_size);
  return res;
}

static bool debug_check_block_visit(SplayTree tree, SplayNode node, void *closure)
{
  debug_block_s *block = debug_block_of(node);
  UNUSED(tree);
  debug_check_fences(closure, block->base, block->size);
  return true;
}

static void debug_check_fenceposts(Pool pool)
{
  PoolDebug d = debug_of_pool(pool);
  if (d->fence > 0)
    (void)splay_tree_traverse(&d->live, debug_check_block_visit, d);
}

static bool debug_check_range_visit(SplayTree tree, SplayNode node, void *closure)
{
  PoolDebug d = closure;
  debug_range_s *range = debug_range_of(node);
  UNUSED(tree);
  debug_report_damage(range->base, range->limit, d->free_template, d->free_size,
                      debug_free_phase(d, range->base), NULL, 0);
  return true;
}

static void debug_check_free_space(Pool pool)
{
  PoolDebug d = debug_of_pool(pool);
  if (d->free_size > 0)
    (void)splay_tree_traverse(&d->free, debug_check_range_visit, d);
}

static void debug_finish(Pool pool)
{
  PoolDebugClass dc = debug_class_of(pool);
  PoolDebug d = debug_of_pool(pool);
  Arena arena = pool->arena;
  SplayNode node;

  /* The last chance to see damage (topic/debugging.rst: fenceposts are
   * checked when the pool is destroyed). */
  debug_check_fenceposts(pool);
  debug_check_free_space(pool);
  while ((node = splay_tree_root(&d->live)) != NULL) {
    splay_tree_delete(&d->live, node);
    arena_control_free(arena, debug_block_of(node), sizeof(debug_block_s));
  }
  d->live_count = 0;
  while ((node = splay_tree_root(&d->free)) != NULL)
    debug_range_release(arena, d, debug_range_of(node));
  d->free_recorded = 0;
  if (d->fence_template != NULL)
    arena_control_free(arena, d->fence_template, d->fence_size);
  if (d->free_template != NULL)
    arena_control_free(arena, d->free_template, d->free_size);
  d->fence_template = NULL;
  d->fence_size = 0;
  d->free_template = NULL;
  d->free_size = 0;
  d->fence = 0;
  /* The base finish may still check the pool, so the signature and the
   * trees stay valid until it is done. */
  dc->base->finish(pool);
  d->sig = SIG_INVALID;
  splay_tree_finish(&d->free);
  splay_tree_finish(&d->live);
}

static Res debug_alloc(Addr *p_o, Pool pool, Size size)
{
  PoolDebug d = debug_of_pool(pool);
  PoolClass base = debug_class_of(pool)->base;
  Size f = d->fence;
  debug_block_s *block = NULL;
  Addr p;
  void *node;
  Res res;

  if (f > 0) {
    if (size > SIZE_MAX - 2 * f)
      return MPS_RES_RESOURCE;
    /* The record's node first, so failing leaves nothing to undo. */
    res = arena_control_alloc(&node, pool->arena, sizeof(debug_block_s));
    if (res != MPS_RES_OK)
      return res;
    block = node;
  }
  res = base->alloc(&p, pool, size + 2 * f);
  (void)debug_note_base_total(pool, d);
  if (res != MPS_RES_OK) {
    if (block != NULL)
      arena_control_free(pool->arena, block, sizeof *block);
    return res;
  }
  if (d->free_size > 0)
    debug_free_take(pool, d, p, addr_add(p, size + 2 * f));
  if (block != NULL) {
    debug_fill(p, addr_add(p, f), d->fence_template, d->fence_size, 0);
    p = addr_add(p, f);
    debug_fill(addr_add(p, size), addr_add(p, size + f), d->fence_template, d->fence_size, 0);
    splay_node_init(&block->node);
    block->base = p;
    block->size = size;
    (void)splay_tree_insert(&d->live, &block->node);
    ++d->live_count;
  }
  *p_o = p;
  return MPS_RES_OK;
}

/* A free the debugging class refuses is reported in every variety, as
 * damage is: a client uses this class to be told about its mistakes,
 * rash included.  True when `cond` holds. */
#define DEBUG_INSIST(cond) \
  ((cond) ? true : (check_fail(__FILE__, (unsigned)__LINE__, #cond), false))

static void debug_free(Pool pool, Addr old, Size size)
{
  PoolDebug d = debug_of_pool(pool);
  PoolClass base = debug_class_of(pool)->base;
  Size f = d->fence;
  debug_block_s *block = NULL;
  SplayNode node;
  Addr rbase = old, rlimit;
  bool is_free, sized = false;
  Size in_use = 0;

  if (f > 0 && splay_tree_find(&d->live, &node, debug_key(old))) {
    block = debug_block_of(node);
    /* The size must be the one it was allocated with. */
    if (!DEBUG_INSIST(block->size == size))
      return;
    rbase = addr_sub(old, f);
    rlimit = addr_add(old, size + f);
  } else {
    bool overlaps;
    if (!DEBUG_INSIST(size <= WORD_ONES - addr_word(old)))
      return;   /* wraps round the address space */
    rlimit = addr_add(old, size);
    /* The generic code checked only the first grain: a range running past
     * the pool's memory would be splatted below, over another pool's
     * blocks or the arena's own memory, before the base refused it. */
    if (!DEBUG_INSIST(debug_owned(pool, old, rlimit)))
      return;
    /* Not a fenced block, so it came from an allocation point: it must
     * not reach into a fenced block or its fences. */
    overlaps = debug_live_overlaps(d, old, rlimit);
    if (!DEBUG_INSIST(!overlaps))
      return;
  }
  /* Freeing free memory: a double free, or a wrong size. */
  is_free = debug_range_first_overlap(d, rbase, rlimit) != NULL;
  if (!DEBUG_INSIST(!is_free))
    return;

  if (block != NULL) {
    debug_check_fences(d, old, size);
    splay_tree_delete(&d->live, &block->node);
    --d->live_count;
    arena_control_free(pool->arena, block, sizeof *block);
  }
  if (d->free_size > 0) {
    sized = debug_base_in_use(&in_use, pool);
    debug_splat(d, rbase, rlimit);
  }
  base->free(pool, rbase, addr_offset(rbase, rlimit));
  debug_after_give_back(pool, d, rbase, rlimit, sized, in_use);
}

static Res debug_buffer_fill(Addr *base_o, Addr *limit_o, Pool pool, Buffer buffer, Size size)
{
  PoolDebug d = debug_of_pool(pool);
  PoolClass base = debug_class_of(pool)->base;
  Res res = base->buffer_fill(base_o, limit_o, pool, buffer, size);
  (void)debug_note_base_total(pool, d);
  if (res == MPS_RES_OK && d->free_size > 0)
    debug_free_take(pool, d, *base_o, *limit_o);
  return res;
}

static void debug_buffer_empty(Pool pool, Buffer buffer, Addr init, Addr limit)
{
  PoolDebug d = debug_of_pool(pool);
  PoolClass base = debug_class_of(pool)->base;
  bool sized = false;
  Size in_use = 0;
  if (d->free_size > 0) {
    sized = debug_base_in_use(&in_use, pool);
    debug_splat(d, init, limit);
  }
  base->buffer_empty(pool, buffer, init, limit);
  debug_after_give_back(pool, d, init, limit, sized, in_use);
}

/* ---- making classes ---- */

static void debug_class_fill(PoolDebugClass dc, PoolClass base, const char *name)
{
  pool_class_s *k = &dc->klass;
  AVERT(pool_class, base);
  AVER(base->init != debug_init);   /* no debugging over debugging */
  dc->base = base;
  dc->offset = size_align_up(base->size, _Alignof(pool_debug_s));
  k->name = name;
  k->size = dc->offset + sizeof(pool_debug_s);
  k->init = debug_init;
  k->finish = debug_finish;
  k->alloc = base->alloc != NULL ? debug_alloc : NULL;
  k->free = base->free != NULL ? debug_free : NULL;
  k->buffer_fill = base->buffer_fill != NULL ? debug_buffer_fill : NULL;
  k->buffer_empty = base->buffer_empty != NULL ? debug_buffer_empty : NULL;
  /* Sizes are the base pool's, fences included. */
  k->total_size = base->total_size;
  k->free_size = base->free_size;
  k->check_fenceposts = debug_check_fenceposts;
  k->check_free_space = debug_check_free_space;
  k->check = debug_check;
  k->sig = POOL_CLASS_SIG;
  dc->sig = POOL_DEBUG_CLASS_SIG;
}

mps_pool_class_t pool_debug_class_ensure(PoolDebugClass dc, PoolClass base,
                                         const char *name)
{
  AVER(dc != NULL);
  /* Acquire: pairs with the release store below, so a thread that sees
   * the flag set also sees every field written before it. */
  if (!atomic_load_explicit(&dc->ready, memory_order_acquire)) {
    lock_claim_global();
    /* Relaxed: the global lock orders this with the store below made by
     * any earlier holder. */
    if (!atomic_load_explicit(&dc->ready, memory_order_relaxed)) {
      debug_class_fill(dc, base, name);
      /* Release: publishes the filled class to the fast path above. */
      atomic_store_explicit(&dc->ready, true, memory_order_release);
    }
    lock_release_global();
  }
  AVER(dc->base == base);
  return &dc->klass;
}

/* ---- the debugging classes of the library ---- */

/* Zero-initialized static storage, which is a valid unset `ready` flag;
 * filled on first use. */
static pool_debug_class_s debug_mvff_class;

mps_pool_class_t mps_class_mvff_debug(void)
{
  return pool_debug_class_ensure(&debug_mvff_class, mps_class_mvff(), "MVFFDebug");
}

/* ---- the public checking functions ---- */

/* Both do nothing on a pool of a class without debugging
 * (topic/debugging.rst). */
void mps_pool_check_fenceposts(mps_pool_t pool)
{
  AVER(pool != NULL && pool->sig == POOL_SIG);
  arena_enter(pool->arena);
  AVERT(pool, pool);
  if (pool->klass->check_fenceposts != NULL)
    pool->klass->check_fenceposts(pool);
  arena_leave(pool->arena);
}

void mps_pool_check_free_space(mps_pool_t pool)
{
  AVER(pool != NULL && pool->sig == POOL_SIG);
  arena_enter(pool->arena);
  AVERT(pool, pool);
  if (pool->klass->check_free_space != NULL)
    pool->klass->check_free_space(pool);
  arena_leave(pool->arena);
}
