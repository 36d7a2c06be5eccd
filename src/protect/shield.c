/* shield.c: the shield (see design/shield.txt and shield.h).
 *
 * Vocabulary.  A segment is *synced* when the protection applied to it
 * (pm) is the protection the shield wants for it (sm); *exposed* when its
 * depth (exposes minus covers) is positive; the shield is *inside* between
 * shield_enter and shield_leave.
 *
 * Invariants (shield_check, shield_seg_check and shield_check_segs cite
 * them by number):
 *   1  outside, the mutator is not suspended.
 *   2  if any segment is unsynced, the mutator is suspended: otherwise it
 *      could reach memory the collector means to deny it.
 *   3  an unsynced segment is exposed or queued, so that it will be synced
 *      before the mutator runs again (when covered, or at the flush).
 *   4  outside, the total depth is zero.
 *   5  a segment's pm is a subset of its sm: protection is never more than
 *      asked for (lowering applies at once; raising may wait).
 *   6  total depth (shield.depth) is the sum of the segments' depths.
 *   7  an exposed segment has no protection applied (pm is empty).
 *   8  the queue holds exactly the segments whose queued flag is set, each
 *      once, and is empty outside.
 *   9  holds are only taken inside, and while any is held the mutator is
 *      suspended.
 *  10  shield.unsynced is the number of unsynced segments and shield.segs
 *      the number registered.
 * Together, 3 and 4 mean every segment is synced outside: the mutator runs
 * only with the protection the shield wants (shield.txt, proof.sync).
 *
 * The mutator is suspended as late as possible and resumed only on
 * leaving: at a raise it is not suspended for (the protection is applied
 * at once instead), at an expose of a protected segment (it must not see
 * the segment while the protection is off), and at a hold.  While it is
 * suspended, raised protection waits in the queue, so that a segment
 * raised, exposed and covered several times in one pause costs at most one
 * protection call, and neighbouring segments share one.
 */
#include "shield.h"
#include "../base/check.h"

#define SHIELD_SIG SIG_MAKE(0x60)

static bool shield_seg_synced(ShieldSeg seg)
{
  return seg->pm == seg->sm;
}

bool shield_seg_check(ShieldSeg seg)
{
  /* No signature: the segment is checked as part of its owner. */
  CHECKL(seg != NULL);
  if (seg == NULL)
    return true;
  CHECKL(addr_word(seg->base) < addr_word(seg->limit));
  CHECKL(prot_mode_check(seg->sm));
  CHECKL(prot_mode_check(seg->pm));
  CHECKL((seg->pm & ~seg->sm) == 0);                        /* inv 5 */
  CHECKL(seg->depth == 0 || seg->pm == PROT_DENY_NONE);     /* inv 7 */
  CHECKL(shield_seg_synced(seg) || seg->depth > 0 || seg->queued); /* inv 3 */
  return true;
}

bool shield_check(Shield shield)
{
  CHECKS(SHIELD_SIG, shield);
  if (shield == NULL)
    return true;
  CHECKD(prot, shield->prot);
  CHECKL(shield->suspend != NULL && shield->resume != NULL);
  CHECKL(shield->inside || !shield->suspended);             /* inv 1 */
  CHECKL(shield->unsynced == 0 || shield->suspended);       /* inv 2 */
  CHECKL(shield->inside || shield->depth == 0);             /* inv 4 */
  CHECKL(shield->queued <= SHIELD_QUEUE_LIMIT);             /* inv 8 */
  CHECKL(shield->inside || shield->queued == 0);            /* inv 8 */
  CHECKL(shield->inside || shield->holds == 0);             /* inv 9 */
  CHECKL(shield->holds == 0 || shield->suspended);          /* inv 9 */
  CHECKL(shield->unsynced <= shield->segs);                 /* inv 10 */
  CHECKL(shield->queued <= shield->segs);                   /* inv 8 */
#if CHECK_LEVEL >= 2
  {
    Index i;
    for (i = 0; i < shield->queued && i < SHIELD_QUEUE_LIMIT; ++i) {
      CHECKL(shield->queue[i] != NULL);
      if (shield->queue[i] != NULL)
        CHECKL(shield->queue[i]->queued);                   /* inv 8 */
    }
  }
#endif
  return true;
}

bool shield_check_segs(Shield shield)
{
  Ring node, next;
  Count segs = 0, unsynced = 0, depth = 0, queued = 0;
  CHECKD(shield, shield);
  if (shield == NULL || shield->sig != SHIELD_SIG)
    return true;
  RING_FOR(node, &shield->seg_ring, next) {
    ShieldSeg seg = PARENT(ShieldSegStruct, node, node);
    CHECKD(shield_seg, seg);                                /* inv 3, 5, 7 */
    ++segs;
    depth += seg->depth;
    if (!shield_seg_synced(seg))
      ++unsynced;
    if (seg->queued)
      ++queued;
    CHECKL(shield->inside || shield_seg_synced(seg));       /* 3 and 4 */
  }
  CHECKL(segs == shield->segs);                             /* inv 10 */
  CHECKL(unsynced == shield->unsynced);                     /* inv 10 */
  CHECKL(depth == shield->depth);                           /* inv 6 */
  CHECKL(queued == shield->queued);                         /* inv 8 */
  return true;
}

void shield_init(Shield shield, Prot prot, ShieldMutatorFn suspend,
                 ShieldMutatorFn resume, void *closure)
{
  AVER(shield != NULL);
  AVERT(prot, prot);
  AVER(suspend != NULL);
  AVER(resume != NULL);
  shield->prot = prot;
  shield->suspend = suspend;
  shield->resume = resume;
  shield->closure = closure;
  shield->inside = false;
  shield->suspended = false;
  shield->holds = 0;
  shield->depth = 0;
  shield->unsynced = 0;
  shield->segs = 0;
  ring_init(&shield->seg_ring);
  shield->queued = 0;
  shield->sig = SHIELD_SIG;
  AVERT(shield, shield);
}

void shield_finish(Shield shield)
{
  AVERT(shield, shield);
  AVER(!shield->inside);
  AVER(shield->segs == 0);
  shield->sig = SIG_INVALID;
  ring_finish(&shield->seg_ring);
  shield->prot = NULL;
}

/* Setting pm or sm goes through these so that shield.unsynced stays
 * right (inv 10). */
static void shield_set_modes(Shield shield, ShieldSeg seg, ProtMode pm,
                             ProtMode sm)
{
  if (!shield_seg_synced(seg))
    --shield->unsynced;
  seg->pm = pm;
  seg->sm = sm;
  if (!shield_seg_synced(seg))
    ++shield->unsynced;
}

static void shield_apply(Shield shield, ShieldSeg seg, ProtMode pm)
{
  if (seg->pm != pm) {
    prot_set(shield->prot, seg->base, seg->limit, pm);
    shield_set_modes(shield, seg, pm, seg->sm);
  }
}

static void shield_suspend(Shield shield)
{
  if (!shield->suspended) {
    shield->suspend(shield->closure);
    shield->suspended = true;
  }
}

/* Sort the queue by address (insertion sort: at most SHIELD_QUEUE_LIMIT
 * entries), empty it, and sync every segment that is not exposed (an
 * exposed one is synced when it is covered).  A run of queued segments
 * that touch and want the same protection gets one protection call. */
static void shield_flush_queue(Shield shield)
{
  Index i, j;
  Count n = shield->queued;

  for (i = 1; i < n; ++i) {
    ShieldSeg seg = shield->queue[i];
    for (j = i; j > 0 && addr_word(seg->base) < addr_word(shield->queue[j - 1]->base); --j)
      shield->queue[j] = shield->queue[j - 1];
    shield->queue[j] = seg;
  }

  shield->queued = 0;
  for (i = 0; i < n; ++i)
    shield->queue[i]->queued = false;

  i = 0;
  while (i < n) {
    ShieldSeg first = shield->queue[i];
    Addr limit;
    if (first->depth > 0 || shield_seg_synced(first)) {
      ++i;
      continue;
    }
    /* Extend the run while the next segment continues it. */
    limit = first->limit;
    for (j = i + 1; j < n; ++j) {
      ShieldSeg seg = shield->queue[j];
      if (seg->base != limit || seg->depth > 0 || shield_seg_synced(seg)
          || seg->sm != first->sm)
        break;
      limit = seg->limit;
    }
    prot_set(shield->prot, first->base, limit, first->sm);
    for (; i < j; ++i)
      shield_set_modes(shield, shield->queue[i], shield->queue[i]->sm,
                       shield->queue[i]->sm);
  }
}

/* Called when `seg` may have become unsynced, to restore inv 2 and 3. */
static void shield_queue(Shield shield, ShieldSeg seg)
{
  if (shield_seg_synced(seg) || seg->queued)
    return;
  if (seg->depth > 0) {
    /* Exposed: the protection stays off until it is covered, and the
     * mutator must not see it meanwhile. */
    shield_suspend(shield);
    return;
  }
  if (!shield->suspended) {
    /* Applying the protection now is cheaper than stopping the mutator. */
    shield_apply(shield, seg, seg->sm);
    return;
  }
  if (shield->queued == SHIELD_QUEUE_LIMIT)
    shield_flush_queue(shield);
  shield->queue[shield->queued++] = seg;
  seg->queued = true;
}

/* Take `seg` out of the queue without syncing it. */
static void shield_dequeue(Shield shield, ShieldSeg seg)
{
  Index i;
  for (i = 0; i < shield->queued; ++i) {
    if (shield->queue[i] == seg) {
      shield->queue[i] = shield->queue[--shield->queued];
      seg->queued = false;
      return;
    }
  }
  NOTREACHED;
}

void shield_seg_init(Shield shield, ShieldSeg seg, Addr base, Addr limit)
{
  AVERT(shield, shield);
  AVER(seg != NULL);
  AVER(addr_word(base) < addr_word(limit));
  seg->base = base;
  seg->limit = limit;
  seg->pm = PROT_DENY_NONE;
  seg->sm = PROT_DENY_NONE;
  seg->depth = 0;
  seg->queued = false;
  ring_init(&seg->node);
  ring_append(&shield->seg_ring, &seg->node);
  ++shield->segs;
  AVERT(shield_seg, seg);
}

void shield_seg_finish(Shield shield, ShieldSeg seg)
{
  AVERT(shield, shield);
  AVERT(shield_seg, seg);
  AVER(seg->depth == 0);
  AVER(seg->sm == PROT_DENY_NONE);   /* so pm is none too (inv 5) */
  if (seg->queued)
    shield_dequeue(shield, seg);
  ring_remove(&seg->node);
  ring_finish(&seg->node);
  --shield->segs;
}

void shield_enter(Shield shield)
{
  AVERT(shield, shield);
  AVER(!shield->inside);
  AVER_CRITICAL(shield_check_segs(shield));
  shield->inside = true;
}

void shield_leave(Shield shield)
{
  AVERT(shield, shield);
  AVER(shield->inside);
  AVER(shield->depth == 0);          /* inv 4: every exposure covered */
  AVER(shield->holds == 0);          /* inv 9 */
  shield_flush_queue(shield);
  /* Now every segment is synced (inv 3 with depth 0), so the mutator can
   * run (inv 2), and must (inv 1). */
  AVER(shield->unsynced == 0);
  if (shield->suspended) {
    shield->suspended = false;
    shield->resume(shield->closure);
  }
  shield->inside = false;
  AVER_CRITICAL(shield_check_segs(shield));
}

void shield_raise(Shield shield, ShieldSeg seg, ProtMode mode)
{
  AVERT(shield, shield);
  AVERT(shield_seg, seg);
  AVER(shield->inside);
  AVER(mode != PROT_DENY_NONE && prot_mode_check(mode));
  AVER((seg->sm & mode) == 0);       /* raises do not nest */
  shield_set_modes(shield, seg, seg->pm, seg->sm | mode);  /* keeps inv 5 */
  shield_queue(shield, seg);                               /* inv 2, 3 */
}

void shield_lower(Shield shield, ShieldSeg seg, ProtMode mode)
{
  ProtMode sm;
  AVERT(shield, shield);
  AVERT(shield_seg, seg);
  AVER(shield->inside);
  AVER(mode != PROT_DENY_NONE && prot_mode_check(mode));
  AVER((seg->sm & mode) == mode);    /* only what is raised */
  sm = seg->sm & ~mode;
  /* Removing protection is always safe for the mutator, and inv 5 needs
   * it now.  A segment that was synced stays synced; one that was not is
   * still exposed or queued (inv 3). */
  if ((seg->pm & ~sm) != 0)
    prot_set(shield->prot, seg->base, seg->limit, seg->pm & sm);
  shield_set_modes(shield, seg, seg->pm & sm, sm);
}

void shield_expose_full(Shield shield, ShieldSeg seg)
{
  AVERT(shield, shield);
  AVERT(shield_seg, seg);
  AVER(shield->inside);
  ++seg->depth;
  ++shield->depth;                   /* inv 6 */
  AVER(seg->depth > 0);              /* no wrap */
  if (seg->sm != PROT_DENY_NONE)
    /* The segment is unsynced from here until it is covered (inv 2). */
    shield_suspend(shield);
  shield_apply(shield, seg, PROT_DENY_NONE);               /* inv 7 */
}

void shield_cover_full(Shield shield, ShieldSeg seg)
{
  AVERT(shield, shield);
  AVERT(shield_seg, seg);
  AVER(shield->inside);
  AVER(seg->depth > 0);
  AVER(shield->depth > 0);
  --seg->depth;
  --shield->depth;                   /* inv 6 */
  if (seg->depth == 0)
    shield_queue(shield, seg);       /* inv 3 */
}

void shield_lower_run(Shield shield, ShieldSeg *segs, Count n)
{
  Index i;
  AVERT(shield, shield);
  AVER(shield->inside);
  AVER(segs != NULL);
  AVER(n > 0 && n <= SHIELD_QUEUE_LIMIT / 2);
  for (i = 0; i < n; ++i) {
    AVERT(shield_seg, segs[i]);
    AVER(segs[i]->depth == 0);
    AVER(segs[i]->pm == segs[0]->pm);
    AVER(i == 0 || segs[i]->base == segs[i - 1]->limit);
  }
  AVER(segs[0]->pm != PROT_DENY_NONE);
  /* Room for all of them, so that no flush puts the protection back
   * before they are exposed. */
  if (shield->queued + n > SHIELD_QUEUE_LIMIT)
    shield_flush_queue(shield);
  shield_suspend(shield);            /* inv 2: they are unsynced until covered */
  prot_set(shield->prot, segs[0]->base, segs[n - 1]->limit, PROT_DENY_NONE);
  for (i = 0; i < n; ++i) {
    shield_set_modes(shield, segs[i], PROT_DENY_NONE, segs[i]->sm);
    shield_queue(shield, segs[i]);   /* inv 3 */
  }
}

void shield_hold(Shield shield)
{
  AVERT(shield, shield);
  AVER(shield->inside);
  ++shield->holds;
  shield_suspend(shield);            /* inv 9 */
}

void shield_release(Shield shield)
{
  AVERT(shield, shield);
  AVER(shield->inside);
  AVER(shield->holds > 0);
  /* The mutator stays suspended until leave: resuming it now would only
   * force the queue to be flushed early (shield.txt, impl.delay). */
  --shield->holds;
}

void shield_flush(Shield shield)
{
  AVERT(shield, shield);
  shield_flush_queue(shield);
}

bool shield_is_inside(Shield shield)
{
  AVERT(shield, shield);
  return shield->inside;
}

bool shield_is_suspended(Shield shield)
{
  AVERT(shield, shield);
  return shield->suspended;
}

Count shield_queue_length(Shield shield)
{
  AVERT(shield, shield);
  return shield->queued;
}

Count shield_queue_unprotected(Shield shield, ShieldSeg *segs_o, Count max)
{
  Index i;
  Count n = 0;
  AVERT(shield, shield);
  AVER(segs_o != NULL);
  for (i = 0; i < shield->queued && n < max; ++i) {
    ShieldSeg seg = shield->queue[i];
    if (seg->pm == PROT_DENY_NONE && seg->sm != PROT_DENY_NONE)
      segs_o[n++] = seg;
  }
  return n;
}
