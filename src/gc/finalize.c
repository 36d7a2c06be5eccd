/* finalize.c: finalization (see finalize.h; manual/topic/finalization.rst,
 * design/finalize.txt, design/poolmrg.txt for the original's guardians).
 *
 * A registration is a finalization message made by mps_finalize and not
 * yet posted: its ref field holds the registered reference and it sits on
 * the arena's registration ring (regs) through final_ring.  Making the
 * message at registration means the collector never needs memory to
 * finalize, and registration is the one place that can fail for lack of
 * it (MPS_RES_MEMORY or COMMIT_LIMIT from arena control memory, nothing
 * kept).
 *
 * Registrations are references of rank RANK_FINAL.  The tracer scans rank
 * bands in order (ambiguous, exact, final, weak) and calls finalize_scan
 * after each band's roots.  By the final band every strong path from the
 * roots has been followed, so a registration whose fix reports that the
 * object was white and only now preserved (was_marked false) names an
 * object that is otherwise unreachable: its message is posted (or freed
 * if finalization messages are not enabled) and the registration ends.
 * So each registration is finalized at most once.  What the fix preserved
 * is scanned at its own rank later in the band (grey segments of lower
 * ranks are scanned as soon as they appear), so everything the finalized
 * object refers to stays alive with it, and weak references to it are
 * not splatted in the weak band that follows.
 *
 * A posted finalization message, queued or held by the client until
 * mps_message_discard, keeps its object alive: at the exact band every
 * such message's ref is fixed as an exact root, which also moves it with
 * the object.  After discard, only ordinary references keep the object.
 *
 * An object registered n times has n registrations.  While one message
 * for it is queued or held the object is preserved at the exact band, so
 * the others are not due: the next is posted by the first collection
 * after that message is discarded that finds the object unreachable
 * (finalization.rst allows either behaviour).  An object reachable only
 * from an ambiguous reference is preserved at the ambiguous band and so
 * is never finalized while that reference exists.
 *
 * Destroying a pool ends what finalization holds of it
 * (finalize_pool_destroy): its registrations are dropped without a
 * message, and queued or held messages for its objects are no longer
 * fixed (their pool becomes NULL), though the client may still read their
 * now dangling reference.  finalization.rst calls collecting after such a
 * destroy an error (the safe tear-down parks and destroys the arena
 * next); this keeps it harmless.  It must be done at the destroy: the
 * address of the pool's descriptor, or of its objects, may belong to
 * another pool by the next collection, and a registration or message
 * that kept naming them would then finalize, or keep alive, an object
 * never registered (test_finalize,
 * registration_outlived_by_its_pool_is_not_taken_by_the_next).
 *
 * Invariants (finalize_check, finalize_reg_check):
 *   1. the state is its arena's gc->finalize;
 *   2. count is the number of registrations on regs;
 *   3. every registration is a finalization message of the arena, neither
 *      posted nor held, with a non-NULL ref and the pool it was made in.
 */
#include "finalize.h"
#include "message.h"
#include "seg.h"
#include "trace.h"

/* A fix that fails (a pool short of memory) is tried again this many
 * times before the failure is reported, as the tracer does for roots. */
#define FINALIZE_FIX_TRIES 4

typedef struct finalize_s {
  Sig sig;
  Arena arena;
  struct ring_s regs;           /* registrations: messages via final_ring */
  Count count;                  /* registrations on regs */
} finalize_s;

bool finalize_check(Finalize finalize)
{
  CHECKS(FINALIZE_SIG, finalize);
  CHECKU(ARENA_SIG, finalize->arena);
  CHECKL(finalize->arena->gc != NULL);
  CHECKL(finalize->arena->gc->finalize == finalize);                  /* 1 */
  /* 2: counting the ring is linear; its ends are checked here. */
  CHECKL(ring_check(&finalize->regs));
  CHECKL((finalize->count == 0) == ring_is_single(&finalize->regs));
  return true;
}

static inline bool finalize_reg_check(Finalize finalize, Message message)
{
  CHECKD(message, message);
  CHECKL(message->arena == finalize->arena);                          /* 3 */
  CHECKL(message->type == MESSAGE_TYPE_FINALIZATION);
  CHECKL(!message->posted && !message->held);
  CHECKL(!ring_is_single(&message->final_ring));
  CHECKL(message->ref != NULL);
  CHECKL(message->pool != NULL);
  return true;
}

static Message finalize_reg_of(Ring node)
{
  return PARENT(mps_message_s, final_ring, node);
}

/* End a registration without posting it. */
static void finalize_reg_drop(Finalize finalize, Message message)
{
  AVER(finalize->count > 0);
  ring_remove(&message->final_ring);
  --finalize->count;
  message_destroy(message);
}

/* ---- The public interface -------------------------------------------- */

mps_res_t mps_finalize(mps_arena_t arena, mps_addr_t *ref_p)
{
  Finalize finalize;
  Message message;
  GC gc;
  Seg seg;
  Addr ref;
  void *p;
  Res res;

  AVER(arena != NULL && arena->sig == ARENA_SIG);
  AVER(ref_p != NULL);
  if (ref_p == NULL)
    return MPS_RES_PARAM;
  arena_enter(arena);
  ref = (Addr)*ref_p;
  /* finalization.rst: the block is in an automatically managed pool of
   * this arena, so it lies in a segment the collector can condemn. */
  if (ref == NULL || !seg_of_addr(&seg, arena, ref) || seg->klass->fix == NULL) {
    AVER(ref != NULL && seg_of_addr(&seg, arena, ref) && seg->klass->fix != NULL);
    res = MPS_RES_PARAM;
    goto fail_param;
  }

  /* Everything that can fail comes first, so failure leaves nothing. */
  res = message_create(&message, arena, MESSAGE_TYPE_FINALIZATION);
  if (res != MPS_RES_OK)
    goto fail_message;
  gc = arena->gc;                      /* message_create made it */
  finalize = gc->finalize;
  if (finalize == NULL) {
    res = arena_control_alloc(&p, arena, sizeof(finalize_s));
    if (res != MPS_RES_OK)
      goto fail_state;
    finalize = p;
    finalize->arena = arena;
    ring_init(&finalize->regs);
    finalize->count = 0;
    finalize->sig = FINALIZE_SIG;
    gc->finalize = finalize;
  }
  AVERT(finalize, finalize);

  message->ref = ref;
  message->pool = seg->pool;
  ring_append(&finalize->regs, &message->final_ring);
  ++finalize->count;
  AVER(finalize_reg_check(finalize, message));
  arena_leave(arena);
  return MPS_RES_OK;

fail_state:
  message_destroy(message);
fail_message:
fail_param:
  arena_leave(arena);
  return res;
}

mps_res_t mps_definalize(mps_arena_t arena, mps_addr_t *ref_p)
{
  Finalize finalize;
  Ring node, next;
  Addr ref;
  Res res = MPS_RES_FAIL;

  AVER(arena != NULL && arena->sig == ARENA_SIG);
  AVER(ref_p != NULL);
  if (ref_p == NULL)
    return MPS_RES_PARAM;
  arena_enter(arena);
  /* An incremental collection may have moved the object and fixed the
   * client's references (roots and the exact band come first) while the
   * registrations, fixed in the final band, still hold its old address:
   * finish it, so that the two agree.  (stress_finalize met this once,
   * under qemu-aarch64, among some 3,000 definalizes a run.) */
  if (arena->gc != NULL && arena->state != ARENA_POSTMORTEM)
    trace_park(arena);
  ref = (Addr)*ref_p;
  finalize = arena->gc != NULL ? arena->gc->finalize : NULL;
  if (finalize != NULL) {
    AVERT(finalize, finalize);
    /* Linear, as finalization.rst warns.  One registration ends per
     * call: an object registered twice needs two. */
    RING_FOR(node, &finalize->regs, next) {
      Message message = finalize_reg_of(node);
      if (message->ref == ref) {
        finalize_reg_drop(finalize, message);
        res = MPS_RES_OK;
        break;
      }
    }
  }
  arena_leave(arena);
  return res;
}

mps_message_type_t (mps_message_type_finalization)(void)
{
  return MESSAGE_TYPE_FINALIZATION;
}

void mps_message_finalization_ref(mps_addr_t *ref_o, mps_arena_t arena,
                                  mps_message_t message)
{
  Message held;
  AVER(ref_o != NULL);
  AVER(arena != NULL && arena->sig == ARENA_SIG);
  arena_enter(arena);
  held = message_held_of_type(arena, message, MESSAGE_TYPE_FINALIZATION);
  /* Messages the client holds are fixed with the exact roots, in the
   * step that flips (finalize_scan at RANK_EXACT), so the reference read
   * under the lock is the object's current address even while an
   * incremental collection goes on (design/finalize.txt's .impl.access
   * concern).  Registrations are fixed later: see mps_definalize. */
  *ref_o = (mps_addr_t)held->ref;
  arena_leave(arena);
}

/* ---- The collector's side ---------------------------------------------- */

/* Fix one of finalization's references at `rank` for `trace`; return
 * whether the referent was already preserved (or not condemned). */
static bool finalize_fix(Trace trace, Rank rank, Addr *ref_io)
{
  scan_state_s ss;
  bool was_marked = true;
  unsigned tries;
  Res res = MPS_RES_OK;

  for (tries = 0; tries < FINALIZE_FIX_TRIES; ++tries) {
    scan_state_init(&ss, trace->arena, trace, rank);
    res = trace_fix(&ss, ref_io);
    was_marked = ss.was_marked;
    scan_state_finish(&ss);
    if (res == MPS_RES_OK)
      break;
  }
  if (res != MPS_RES_OK)
    check_fail(__FILE__, (unsigned)__LINE__, "finalization reference fix failed");
  return was_marked;
}

/* After a fix changed `message`'s reference: a transform (transform.c)
 * may have replaced the object by one in another pool, whose destroy the
 * message must then follow. */
static void finalize_follow(Arena arena, Message message, Addr before)
{
  Seg seg;
  if (message->ref != before && seg_of_addr(&seg, arena, message->ref))
    message->pool = seg->pool;
}

static void finalize_fix_message(Message message, void *closure)
{
  Trace trace = closure;
  Addr before = message->ref;
  AVERT(message, message);
  if (message->pool == NULL)
    return;   /* its object went with its pool (finalize_pool_destroy) */
  (void)finalize_fix(trace, RANK_EXACT, &message->ref);
  finalize_follow(trace->arena, message, before);
}

/* The final band: each registration whose fix was the first to preserve
 * its object is due. */
static void finalize_scan_regs(Trace trace, Finalize finalize)
{
  Arena arena = trace->arena;
  Ring node, next;
  RING_FOR(node, &finalize->regs, next) {
    Message message = finalize_reg_of(node);
    Addr before = message->ref;
    Seg seg;
    bool kept;
    AVER(finalize_reg_check(finalize, message));
    /* finalize_pool_destroy ends a registration with its pool, and
     * finalize_follow moves it to the pool of any object a transform put
     * in its place: its object is in a segment of the pool it names. */
    if (!seg_of_addr(&seg, arena, message->ref) || seg->pool != message->pool) {
      AVER(seg_of_addr(&seg, arena, message->ref) && seg->pool == message->pool);
      finalize_reg_drop(finalize, message);
      continue;
    }
    kept = finalize_fix(trace, RANK_FINAL, &message->ref);
    if (message->ref == NULL) {
      /* A transform replaced the object by NULL: nothing to finalize. */
      finalize_reg_drop(finalize, message);
      continue;
    }
    finalize_follow(arena, message, before);
    if (!kept) {
      ring_remove(&message->final_ring);
      --finalize->count;
      message_post(message);    /* freed instead if the type is disabled */
    }
  }
}

void finalize_scan(Trace trace, Rank rank)
{
  Arena arena;
  GC gc;
  AVERT(trace, trace);
  arena = trace->arena;
  gc = arena->gc;
  if (rank == RANK_EXACT) {
    message_visit(arena, MESSAGE_TYPE_FINALIZATION, finalize_fix_message, trace);
  } else if (rank == RANK_FINAL && gc->finalize != NULL) {
    AVERT(finalize, gc->finalize);
    finalize_scan_regs(trace, gc->finalize);
  }
}

/* A message of a pool being destroyed no longer names an object. */
static void finalize_forget_message(Message message, void *closure)
{
  if (message->pool == closure)
    message->pool = NULL;
}

void finalize_pool_destroy(Pool pool)
{
  Arena arena = pool->arena;
  GC gc = gc_of(arena);
  Finalize finalize;
  Ring node, next;
  if (gc == NULL)
    return;
  message_visit(arena, MESSAGE_TYPE_FINALIZATION, finalize_forget_message, pool);
  finalize = gc->finalize;
  if (finalize == NULL)
    return;
  AVERT(finalize, finalize);
  RING_FOR(node, &finalize->regs, next) {
    Message message = finalize_reg_of(node);
    if (message->pool == pool)
      finalize_reg_drop(finalize, message);
  }
}

void finalize_finish(Arena arena)
{
  GC gc = gc_of(arena);
  Finalize finalize;
  Ring node, next;
  if (gc == NULL || gc->finalize == NULL)
    return;
  finalize = gc->finalize;
  AVERT(finalize, finalize);
  RING_FOR(node, &finalize->regs, next)
    finalize_reg_drop(finalize, finalize_reg_of(node));
  AVER(finalize->count == 0);
  finalize->sig = SIG_INVALID;
  ring_finish(&finalize->regs);
  gc->finalize = NULL;
  arena_control_free(arena, finalize, sizeof(finalize_s));
}
