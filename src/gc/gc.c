/* gc.c: the collector's per-arena state (see gc.h; design/trace.txt for
 * the state a trace needs, design/shield.txt for the shield's place).
 *
 * The state is made lazily by gc_get, the first time anything in the
 * collector layer is created in an arena, so that arenas used only for
 * manual pools never pay for it.  It lives in arena control memory
 * together with the protection backend its shield drives: the hardware
 * one (prot_os.h) where the write barrier can be on (barrier.h), else the
 * recording one (prot_none.c), which needs no system support and under
 * which nothing is ever raised.
 *
 * Invariants (gc_check):
 *   1. gc->arena is the arena whose gc field points here, and that
 *      arena's gc_finish hook is gc_finish_hook (the arena layer frees it);
 *   2. zone_shift is within the word: zones are stripes of the address;
 *   3. at most TRACE_LIMIT traces are busy, and busy_traces names exactly
 *      the non-NULL entries of traces[];
 *   4. in_collection implies a busy trace (the reentrancy guard is only
 *      up while a trace runs);
 *   5. only enabled_message_types bits below MESSAGE_TYPE_LIMIT are set;
 *   6. the next trace's messages are both made or neither, and a busy
 *      trace is in the collector's room for it (trace_room).
 */
#include "gc.h"
#include "../arena/chunk.h"
#include "chain.h"
#include "finalize.h"
#include "message.h"
#include "seg.h"
#include "trace.h"

/* 1 MiB zones: the 64 (or 32) zones then stripe 64 MiB (32 MiB) of
 * address space, coarse enough that a typical young generation falls in
 * a few zones and MPS_FIX1 rejects most references into older ones.
 * Narrower in an arena whose primary chunk is smaller than the stripe
 * (gc_zone_shift). */
#define GC_ZONE_SHIFT ((Shift)20)

/* The arena's zone width.  Every zone must have grains in the primary
 * chunk, or a generation's zones may have none there: in a 32 MiB arena
 * with 1 MiB zones, half the zones lie outside it, the young zones among
 * them perhaps, and then nurseries fall back to any zone, among old
 * objects, so that every collection makes every location dependency
 * stale and condemns zones the old objects share.  So a zone is at most
 * the chunk's size over the word width (and at least a grain, below which
 * zones cannot place segments: arena_alloc_zoned). */
static Shift gc_zone_shift(Arena arena)
{
  Size size = addr_offset(arena->primary->base, arena->primary->limit);
  Shift shift = GC_ZONE_SHIFT;
  if ((size >> WORD_SHIFT) >> shift == 0)
    shift = word_highest_bit((Word)(size >> WORD_SHIFT));
  return shift > arena->grain_shift ? shift : arena->grain_shift;
}

/* The collector's state and its protection backend, in one control
 * block, so that gc_get makes one allocation that can fail cleanly. */
typedef struct gc_block_s {
  gc_s gc;
  trace_s traces[TRACE_LIMIT];  /* gc.trace_room */
  bool hardware;          /* the shield drives prot_os, not prot */
  ProtNoneStruct prot;
#if defined(BARRIER_HARDWARE)
  ProtOSStruct prot_os;
#endif
} gc_block_s;

#if defined(BARRIER_HARDWARE)
/* Give [base, limit) read and write access. */
static void gc_prot_open(gc_block_s *block, Addr base, Addr limit)
{
  if (addr_word(base) < addr_word(limit)
      && prot_os_apply(&block->prot_os, base, limit, PROT_DENY_NONE) != MPS_RES_OK)
    check_fail(__FILE__, (unsigned)__LINE__,
               "the system refused to give the arena's memory access again");
}

/* The system refused a protection call (prot_os_on_refusal).  Which of
 * the arena's pages are protected is then unknown: a refused call to
 * give access back leaves a segment protected that the shield takes for
 * exposed, and the collector's next touch of it, or the store that
 * faulted on it, would fault for ever.  So every committed grain gets
 * read and write access now, a run of committed grains in address order
 * per call: such calls merge the system's mappings rather than split
 * them (Linux's vm.max_map_count, whose ENOMEM is the likely refusal,
 * limits them).  Segments under the read barrier keep their protection,
 * which an incremental trace still relies on (refused calls in its own
 * work make it finish before the mutator runs again, but one refused
 * elsewhere, a write barrier hit in the fault hook, does not); but not
 * the refused range, whichever it is, and it comes last, when the merges
 * have made room for any split it needs.  Grains the shield believes
 * write-protected are then writable unseen, which is safe because the
 * barrier goes off before the next trace begins (trace.c, trace_create
 * and trace_after_leave). */
static void gc_prot_refused(void *closure, Addr base, Addr limit)
{
  gc_block_s *block = closure;
  Arena arena = block->gc.arena;
  Ring node, next;
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    Index i = 0, j, k;
    while (i < chunk->pages && bt_find_set(&i, chunk->mapped_table, i, chunk->pages)) {
      if (!bt_find_res(&j, chunk->mapped_table, i, chunk->pages))
        j = chunk->pages;
      /* [i, k) is open so far; a read-protected segment ends it. */
      for (k = i; k < j;) {
        Seg seg;
        if (seg_of_addr(&seg, arena, chunk_page_base(chunk, k))
            && (seg->shield.pm & PROT_DENY_READ) != 0) {
          gc_prot_open(block, chunk_page_base(chunk, i), chunk_page_base(chunk, k));
          i = k = chunk_index(chunk, seg->limit);
        } else {
          ++k;
        }
      }
      gc_prot_open(block, chunk_page_base(chunk, i), chunk_page_base(chunk, j));
      i = j;
    }
  }
  gc_prot_open(block, base, limit);
}
#endif

static Prot gc_prot_init(gc_block_s *block, Arena arena)
{
  block->hardware = barrier_wanted(arena);
#if defined(BARRIER_HARDWARE)
  if (block->hardware) {
    Prot prot = prot_os_init(&block->prot_os);
    prot_os_on_refusal(&block->prot_os, gc_prot_refused, block);
    return prot;
  }
#endif
  return prot_none_init(&block->prot);
}

bool gc_prot_failed(GC gc)
{
#if defined(BARRIER_HARDWARE)
  gc_block_s *block = PARENT(gc_block_s, gc, gc);
  return block->hardware && prot_os_failure(&block->prot_os) != MPS_RES_OK;
#else
  UNUSED(gc);
  return false;
#endif
}

static void gc_prot_finish(gc_block_s *block)
{
#if defined(BARRIER_HARDWARE)
  if (block->hardware) {
    prot_os_finish(&block->prot_os);
    return;
  }
#endif
  prot_none_finish(&block->prot);
}

/* The zones of the first generation of a chain of several: an eighth of
 * them, from zone 1.  With 1 MiB zones that is 8 MiB of every 64 MiB of
 * address space (32 MiB of the VM arena's default reservation), room for
 * the nurseries of typical chains.  Beyond it, segments go anywhere
 * (arena_alloc_zoned), which costs only precision.  Zone 0 is left out
 * because a null reference is in it: were the nursery there, every null
 * field of an old object would make its scans "interesting" (barrier.h),
 * and its summary would always meet the nursery.  The last zone, which
 * holds -1 and other small negative words, is not young either. */
#define GC_ZONES_YOUNG (((((ZoneSet)1) << (WORD_WIDTH / 8)) - 1) << 1)

ZoneSet gc_gen_zones(PoolGen gen)
{
  if (gen == NULL)
    return ZONE_SET_UNIV;
  /* A chain of one generation condemns all of it at once: old. */
  return gen->gen == 0 && gen->chain->gen_count > 1 ? GC_ZONES_YOUNG : ~GC_ZONES_YOUNG;
}

ZoneSet zone_set_of_range(Shift zone_shift, Addr base, Addr limit)
{
  Word zbase, zlimit;
  AVER(addr_word(base) < addr_word(limit));
  zbase = addr_word(base) >> zone_shift;
  zlimit = (addr_word(limit) - 1) >> zone_shift;   /* the last zone, inclusive */
  if (zlimit - zbase >= WORD_WIDTH - 1)
    return ZONE_SET_UNIV;
  {
    Index first = (Index)(zbase & (WORD_WIDTH - 1));
    Index last = (Index)(zlimit & (WORD_WIDTH - 1));
    if (first <= last)
      /* the bits first..last: (2^(last+1) - 1) - (2^first - 1), written
       * so that last + 1 == WORD_WIDTH does not shift by the width */
      return ((((Word)1 << last) - 1) | ((Word)1 << last)) & ~(((Word)1 << first) - 1);
    /* wraps round: first..WIDTH-1 and 0..last */
    return ~(((Word)1 << first) - 1) | ((((Word)1 << last) - 1) | ((Word)1 << last));
  }
}

bool gc_check(GC gc)
{
  TraceId ti;
  CHECKS(GC_SIG, gc);
  CHECKU(ARENA_SIG, gc->arena);
  CHECKL(gc->arena->gc == gc);                                  /* 1 */
  CHECKL(gc->zone_shift < WORD_WIDTH);                          /* 2 */
  for (ti = 0; ti < TRACE_LIMIT; ++ti)                          /* 3 */
    CHECKL(((gc->busy_traces & TRACE_SET_SINGLE(ti)) != 0) == (gc->traces[ti] != NULL));
  CHECKL((gc->busy_traces & ~(TraceSet)((1u << TRACE_LIMIT) - 1)) == 0);
  CHECKL(!gc->in_collection || gc->busy_traces != TRACE_SET_EMPTY); /* 4 */
  CHECKL((gc->enabled_message_types & ~(((Word)1 << MESSAGE_TYPE_LIMIT) - 1)) == 0); /* 5 */
  CHECKL((gc->next_start_message == NULL) == (gc->next_end_message == NULL)); /* 6 */
  for (ti = 0; ti < TRACE_LIMIT; ++ti)
    CHECKL(gc->traces[ti] == NULL || gc->traces[ti] == &gc->trace_room[ti]);
  CHECKD(shield, &gc->shield);
  CHECKD(barrier, &gc->barrier);
  CHECKD(thread_set, &gc->threads);
  CHECKD(ld_history, &gc->ld_history);
  CHECKD(pattern_arena, &gc->pattern);
  CHECKD(gcevent, &gc->events);
  return true;
}

/* The shield's mutator hooks.  A registered thread that exited without
 * deregistering makes thread_suspend_all report it (through the assertion
 * handler) and suspend nothing, marking it dead; a second attempt then
 * skips it, so the collection can go on with everyone else stopped.
 * Where threads cannot be suspended (single-threaded builds) there is no
 * other thread to stop. */
static void gc_suspend(void *closure)
{
  GC gc = closure;
  Res res = thread_suspend_all(&gc->threads);
  if (res == MPS_RES_FAIL)
    (void)thread_suspend_all(&gc->threads);
}

static void gc_resume(void *closure)
{
  GC gc = closure;
  if (gc->threads.suspended)
    thread_resume_all(&gc->threads);
}

/* The collector's part of the arena's fork hook (arena.c, arena_fork),
 * called with the arena lock held by the forking thread (prepare,
 * parent) or in the child, where it is the only thread.  No collection
 * has the threads suspended then: suspension happens inside the arena. */
static void gc_fork_hook(Arena arena, ForkPhase phase)
{
  GC gc = arena->gc;
  AVERT(gc, gc);
  AVER(!gc->threads.suspended);
  switch (phase) {
  case FORK_PREPARE:
    thread_set_fork_prepare(&gc->threads);
    break;
  case FORK_PARENT:
    thread_set_fork_parent(&gc->threads);
    break;
  case FORK_CHILD:
    thread_set_fork_child(&gc->threads);
    break;
  }
}

/* The arena's hook at mps_arena_destroy (arena lock held).  Roots,
 * formats, chains and threads are the client's to destroy first; the
 * default chain is the collector's own. */
static bool gc_finish_hook(Arena arena)
{
  GC gc = arena->gc;
  gc_block_s *block;
  Rank rank;
  Count client_chains;

  AVERT(gc, gc);
  AVER(gc->busy_traces == TRACE_SET_EMPTY);
  AVER(!gc->in_collection);
  /* What the client made must be gone first; if anything is left, each
   * kind is reported and nothing is freed, so that the client's handles
   * stay good (arena.h, gc_finish). */
  client_chains = gc->chains_count - (gc->default_chain != NULL ? 1 : 0);
  AVER(gc->roots_count == 0);                /* every root destroyed */
  AVER(gc->formats_count == 0);              /* every format destroyed */
  AVER(gc->threads_count == 0);              /* every thread deregistered */
  AVER(client_chains == 0);                  /* every chain destroyed */
  AVER(ring_is_single(&gc->seg_ring));       /* every pool destroyed */
  if (gc->roots_count != 0 || gc->formats_count != 0 || gc->threads_count != 0
      || client_chains != 0 || !ring_is_single(&gc->seg_ring))
    return false;
  AVER(ring_is_single(&gc->root_ring));
  AVER(ring_is_single(&gc->format_ring));
  AVER(ring_is_single(&gc->thread_ring));
  barrier_finish(gc);                        /* may let go of the lock */
  if (gc->default_chain != NULL) {
    Chain chain = gc->default_chain;
    AVER(chain->pools == 0);
    gc->default_chain = NULL;
    chain_destroy(chain);
  }
  AVER(gc->top_chain == NULL);               /* gone with its last pool */
  AVER(ring_is_single(&gc->chain_ring));     /* every chain destroyed */
  finalize_finish(arena);                    /* registrations are dropped */
  message_queue_empty(arena);
  if (gc->next_start_message != NULL)
    message_destroy(gc->next_start_message);
  if (gc->next_end_message != NULL)
    message_destroy(gc->next_end_message);
  gcevent_finish(gc);                        /* writes out what waits */

  gc->sig = SIG_INVALID;
  ld_history_finish(&gc->ld_history);
  for (rank = 0; rank < RANK_LIMIT; ++rank)
    ring_finish(&gc->grey_ring[rank]);
  ring_finish(&gc->message_held);
  ring_finish(&gc->message_queue);
  ring_finish(&gc->seg_ring);
  ring_finish(&gc->chain_ring);
  ring_finish(&gc->thread_ring);
  ring_finish(&gc->root_ring);
  ring_finish(&gc->format_ring);
  shield_finish(&gc->shield);
  thread_set_finish(&gc->threads);
  block = PARENT(gc_block_s, gc, gc);
  gc_prot_finish(block);
  arena->gc = NULL;
  arena->gc_finish = NULL;
  arena->gc_fork = NULL;
  arena_control_free(arena, block, sizeof(gc_block_s));
  return true;
}

Res gc_get(GC *gc_o, Arena arena)
{
  gc_block_s *block;
  GC gc;
  Prot prot;
  void *p;
  Res res;
  Rank rank;
  TraceId ti;

  AVER(gc_o != NULL);
  AVERT(arena, arena);
  if (arena->gc != NULL) {
    *gc_o = arena->gc;
    return MPS_RES_OK;
  }
  res = arena_control_alloc(&p, arena, sizeof(gc_block_s));
  if (res != MPS_RES_OK)
    return res;
  block = p;
  gc = &block->gc;
  prot = gc_prot_init(block, arena);
  res = prot_setup(prot);
  if (res != MPS_RES_OK) {
    gc_prot_finish(block);
    arena_control_free(arena, block, sizeof(gc_block_s));
    return res;
  }
  gc->arena = arena;
  gc->zone_shift = gc_zone_shift(arena);
  ring_init(&gc->format_ring);
  ring_init(&gc->root_ring);
  ring_init(&gc->chain_ring);
  ring_init(&gc->seg_ring);
  thread_set_init(&gc->threads);
  ring_init(&gc->thread_ring);
  shield_init(&gc->shield, prot, gc_suspend, gc_resume, gc);
  for (rank = 0; rank < RANK_LIMIT; ++rank)
    ring_init(&gc->grey_ring[rank]);
  gc->busy_traces = TRACE_SET_EMPTY;
  gc->incremental_traces = 0;
  gc->trace_room = block->traces;
  gc->next_start_message = NULL;
  gc->next_end_message = NULL;
  gc->messages_dropped = 0;
  for (ti = 0; ti < TRACE_LIMIT; ++ti)
    gc->traces[ti] = NULL;
  gc->default_chain = NULL;
  gc->top_chain = NULL;
  ring_init(&gc->message_queue);
  ring_init(&gc->message_held);
  gc->finalize = NULL;
  gc->enabled_message_types = 0;
  gc->roots_count = 0;
  gc->formats_count = 0;
  gc->chains_count = 0;
  gc->threads_count = 0;
  gc->root_serial = 0;
  gc->format_serial = 0;
  gc->in_collection = false;
  ld_history_init(&gc->ld_history);
  pattern_arena_init(&gc->pattern);
  gcevent_init(&gc->events, arena);
  barrier_init(gc);
  arena->gc = gc;
  arena->gc_finish = gc_finish_hook;
  arena->gc_fork = gc_fork_hook;
  gc->sig = GC_SIG;
  AVERT(gc, gc);
  *gc_o = gc;
  return MPS_RES_OK;
}
