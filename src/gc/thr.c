/* thr.c: registering client threads with an arena -- mps_thread_reg and
 * mps_thread_dereg over the thread manager (root.h, src/thread/thread.h;
 * manual/topic/thread.rst, design/thread-manager.txt).
 *
 * An mps_thr_s is the arena's record of one registration: it sits in
 * arena control memory immediately followed by the thread manager's
 * Thread (thread_size() bytes), so one allocation serves both and
 * registration fails cleanly or not at all.  The Thread is on
 * gc->threads, which is what the collector suspends at a collection and
 * what thread roots scan.
 *
 * Invariants (thr_check):
 *   1. the signature is THR_SIG and the arena is genuine;
 *   2. thr->thread is the storage just after the structure (rounded to
 *      the control alignment) and is a genuine registration;
 *   3. the record is on its arena's thread ring.
 */
#include "root.h"

/* Where the thread manager's part starts: after the record, aligned as
 * arena control memory is, which is enough for any thread_s. */
static inline Size thr_head_size(void)
{
  return size_align_up(sizeof(mps_thr_s), ARENA_CONTROL_ALIGN);
}

static inline Size thr_total_size(void)
{
  return thr_head_size() + (Size)thread_size();
}

bool thr_check(Thr thr)
{
  CHECKS(THR_SIG, thr);                                            /* 1 */
  CHECKU(ARENA_SIG, thr->arena);
  CHECKL((void *)thr->thread == (void *)((char *)thr + thr_head_size())); /* 2 */
  CHECKD(thread, thr->thread);
  CHECKL(!ring_is_single(&thr->gc_ring));                          /* 3 */
  return true;
}

mps_res_t mps_thread_reg(mps_thr_t *thr_o, mps_arena_t arena)
{
  GC gc;
  Thr thr;
  void *p;
  Res res;

  AVER(thr_o != NULL);
  if (thr_o == NULL)
    return MPS_RES_PARAM;
  arena_enter(arena);
  res = gc_get(&gc, arena);
  if (res != MPS_RES_OK)
    goto fail_gc;
  res = arena_control_alloc(&p, arena, thr_total_size());
  if (res != MPS_RES_OK)
    goto fail_alloc;
  thr = p;
  thr->thread = (Thread)(void *)((char *)p + thr_head_size());
  res = thread_register(thr->thread);
  if (res != MPS_RES_OK)
    goto fail_register;
  thr->arena = arena;
  ring_init(&thr->gc_ring);
  ring_append(&gc->thread_ring, &thr->gc_ring);
  /* The set is not suspended: collections run inside one arena entry,
   * and we hold the arena lock. */
  thread_set_add(&gc->threads, thr->thread);
  ++gc->threads_count;
  thr->sig = THR_SIG;
  AVERT(thr, thr);
  arena_leave(arena);
  *thr_o = thr;
  return MPS_RES_OK;

fail_register:
  arena_control_free(arena, p, thr_total_size());
fail_alloc:
fail_gc:
  arena_leave(arena);
  return res;
}

/* Any thread may deregister a registration (thread.rst allows cleaning
 * up after a thread that exited), but the roots that scan it must go
 * first: they would otherwise scan freed memory. */
void mps_thread_dereg(mps_thr_t thr)
{
  Arena arena;
  GC gc;

  AVER(thr != NULL && thr->sig == THR_SIG);
  /* Deregistered already: the stale handle is reported and left alone. */
  if (thr == NULL || thr->sig != THR_SIG)
    return;
  arena = thr->arena;
  arena_enter(arena);
  AVERT(thr, thr);
  gc = gc_of(arena);
  AVER(gc != NULL && gc->threads_count > 0);
  AVER(!root_any_of_thread(arena, thr));
  if (gc == NULL || gc->threads_count == 0 || root_any_of_thread(arena, thr)) {
    arena_leave(arena);
    return;
  }
  thr->sig = SIG_INVALID;
  thread_set_remove(&gc->threads, thr->thread);
  thread_deregister(thr->thread);
  ring_remove(&thr->gc_ring);
  ring_finish(&thr->gc_ring);
  --gc->threads_count;
  arena_control_free(arena, thr, thr_total_size());
  arena_leave(arena);
}

bool thr_current_is_registered(Arena arena)
{
  GC gc = gc_of(arena);
  Ring node, next;
  if (gc == NULL)
    return false;
  RING_FOR(node, &gc->thread_ring, next) {
    Thr thr = PARENT(mps_thr_s, gc_ring, node);
    if (thread_is_current(thr->thread))
      return true;
  }
  return false;
}
