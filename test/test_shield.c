/* test_shield.c: unit tests for the shield (src/protect/shield.h) over the
 * recording protection backend (prot_none).
 *
 * The segments are address ranges that are never touched (prot_none does
 * not protect memory), so any addresses will do.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/protect/prot.h"
#include "../src/protect/shield.h"
#include "support/checks.h"
#include "support/reports.h"

#define PAGE ((Size)0x1000)
#define NSEGS (SHIELD_QUEUE_LIMIT + 8)

struct mutator {
  int suspends, resumes;
  bool running;
};

static void mutator_suspend(void *closure)
{
  struct mutator *m = closure;
  cr_assert(m->running, "suspended twice");
  m->running = false;
  ++m->suspends;
}

static void mutator_resume(void *closure)
{
  struct mutator *m = closure;
  cr_assert_not(m->running, "resumed while running");
  m->running = true;
  ++m->resumes;
}

static ProtNoneStruct pn;
static ShieldStruct shield_s;
static Shield shield = &shield_s;
static ShieldSegStruct segs[NSEGS];
static struct mutator mutator;

/* Segment i is pages [2i, 2i+1) normally; adjacent() re-lays the first
 * few to touch each other. */
static void setup(void)
{
  Index i;
  Prot prot = prot_none_init(&pn);
  cr_assert_eq(prot_setup(prot), MPS_RES_OK);
  mutator.suspends = mutator.resumes = 0;
  mutator.running = true;
  shield_init(shield, prot, mutator_suspend, mutator_resume, &mutator);
  for (i = 0; i < NSEGS; ++i) {
    Addr base = addr_of_word((Word)0x100000 + (Word)(2 * i) * PAGE);
    shield_seg_init(shield, &segs[i], base, addr_add(base, PAGE));
  }
  cr_assert(shield_check_segs(shield));
}

/* Hardware protection recorded for segment i. */
static bool recorded(Index i, ProtMode mode)
{
  return prot_none_is(&pn, segs[i].base, segs[i].limit, mode);
}

/* Outside the shield, every segment's recorded protection is its shield
 * mode and the mutator runs. */
static void check_outside(void)
{
  Index i;
  cr_assert(shield_check_segs(shield));
  cr_assert_not(shield_is_inside(shield));
  cr_assert(mutator.running);
  cr_assert_not(prot_none_overflowed(&pn));
  for (i = 0; i < NSEGS; ++i) {
    cr_assert_eq(segs[i].pm, segs[i].sm);
    cr_assert(recorded(i, segs[i].sm), "segment %zu", (size_t)i);
  }
}

/* Segments must be lowered before they are finished, as the segment
 * module will do before freeing one. */
static void teardown(void)
{
  Index i;
  shield_enter(shield);
  for (i = 0; i < NSEGS; ++i)
    if (segs[i].sm != PROT_DENY_NONE)
      shield_lower(shield, &segs[i], segs[i].sm);
  shield_leave(shield);
  check_outside();
  for (i = 0; i < NSEGS; ++i) {
    cr_assert(recorded(i, PROT_DENY_NONE));
    shield_seg_finish(shield, &segs[i]);
  }
  shield_finish(shield);
  prot_none_finish(&pn);
}

/* Into the shield with the mutator suspended (the collector's usual
 * state while it scans), and back out: most tests act in between. */
static void enter_held(void)
{
  shield_enter(shield);
  shield_hold(shield);
}

static void leave_held(void)
{
  shield_release(shield);
  shield_leave(shield);
}

TestSuite(shield, .init = setup, .fini = teardown);

Test(shield, enter_leave_empty)
{
  shield_enter(shield);
  cr_assert(shield_is_inside(shield));
  cr_assert(shield_check_segs(shield));
  shield_leave(shield);
  check_outside();
  cr_assert_eq(mutator.suspends, 0);
  cr_assert_eq(prot_none_sets(&pn), 0);
}

Test(shield, raise_with_mutator_running_applies_at_once)
{
  shield_enter(shield);
  shield_raise(shield, &segs[0], PROT_DENY_WRITE);
  cr_assert(recorded(0, PROT_DENY_WRITE));
  cr_assert(recorded(1, PROT_DENY_NONE));
  cr_assert_eq(prot_none_sets(&pn), 1);
  cr_assert_eq(mutator.suspends, 0);
  cr_assert_eq(shield_queue_length(shield), 0);
  shield_raise(shield, &segs[0], PROT_DENY_READ);
  cr_assert(recorded(0, PROT_DENY_ALL));
  cr_assert(shield_check_segs(shield));
  shield_leave(shield);
  check_outside();
  cr_assert_eq(prot_none_sets(&pn), 2);
}

Test(shield, lower_applies_at_once)
{
  shield_enter(shield);
  shield_raise(shield, &segs[3], PROT_DENY_ALL);
  shield_lower(shield, &segs[3], PROT_DENY_READ);
  cr_assert(recorded(3, PROT_DENY_WRITE));
  cr_assert_eq(segs[3].sm, PROT_DENY_WRITE);
  shield_lower(shield, &segs[3], PROT_DENY_WRITE);
  cr_assert(recorded(3, PROT_DENY_NONE));
  shield_leave(shield);
  check_outside();
}

Test(shield, raise_while_held_is_deferred)
{
  enter_held();
  cr_assert_eq(mutator.suspends, 1);
  cr_assert(shield_is_suspended(shield));
  shield_raise(shield, &segs[2], PROT_DENY_READ);
  cr_assert(recorded(2, PROT_DENY_NONE));    /* not yet */
  cr_assert_eq(shield_queue_length(shield), 1);
  cr_assert(segs[2].queued);
  cr_assert(shield_check_segs(shield));
  shield_release(shield);
  cr_assert(shield_is_suspended(shield));    /* until leave */
  shield_leave(shield);
  cr_assert(recorded(2, PROT_DENY_READ));
  cr_assert_eq(mutator.resumes, 1);
  cr_assert_not(segs[2].queued);
  check_outside();
}

Test(shield, raise_then_lower_while_held_costs_nothing)
{
  enter_held();
  shield_raise(shield, &segs[1], PROT_DENY_WRITE);
  shield_lower(shield, &segs[1], PROT_DENY_WRITE);
  leave_held();
  cr_assert_eq(prot_none_sets(&pn), 0);
  check_outside();
}

Test(shield, expose_lifts_protection_and_cover_restores_it)
{
  shield_enter(shield);
  shield_raise(shield, &segs[4], PROT_DENY_ALL);
  cr_assert(recorded(4, PROT_DENY_ALL));
  shield_leave(shield);
  check_outside();

  shield_enter(shield);
  shield_expose(shield, &segs[4]);
  cr_assert(recorded(4, PROT_DENY_NONE));    /* the collector may touch it */
  cr_assert_eq(mutator.suspends, 1);        /* the mutator may not */
  cr_assert_eq(segs[4].depth, 1);
  shield_expose(shield, &segs[4]);           /* nests */
  cr_assert_eq(shield->depth, 2);
  shield_cover(shield, &segs[4]);
  cr_assert_eq(segs[4].depth, 1);
  cr_assert_eq(shield->depth, 1);
  cr_assert(recorded(4, PROT_DENY_NONE));
  cr_assert_not(segs[4].queued);
  shield_cover(shield, &segs[4]);
  cr_assert(segs[4].queued);                 /* deferred until the flush */
  cr_assert(recorded(4, PROT_DENY_NONE));
  cr_assert(shield_check_segs(shield));
  shield_leave(shield);
  cr_assert(recorded(4, PROT_DENY_ALL));
  cr_assert_eq(mutator.resumes, 1);
  check_outside();
}

/* The common case, inline in hot (shield.h): exposes nest and are counted
 * on the segment and in the total, with no call to the backend. */
Test(shield, expose_unshielded_does_not_suspend)
{
  shield_enter(shield);
  shield_expose(shield, &segs[5]);
  shield_expose(shield, &segs[5]);
  shield_expose(shield, &segs[6]);
  cr_assert_eq(segs[5].depth, 2);
  cr_assert_eq(shield->depth, 3);
  shield_cover(shield, &segs[5]);
  cr_assert_eq(segs[5].depth, 1);
  cr_assert_eq(shield->depth, 2);
  shield_cover(shield, &segs[6]);
  shield_cover(shield, &segs[5]);
  cr_assert_eq(segs[5].depth, 0);
  cr_assert_eq(shield->depth, 0);
  cr_assert_not(segs[5].queued);
  cr_assert(shield_check_segs(shield));
  shield_leave(shield);
  cr_assert_eq(mutator.suspends, 0);
  cr_assert_eq(prot_none_sets(&pn), 0);
  check_outside();
}

Test(shield, raise_while_exposed_waits_for_cover)
{
  shield_enter(shield);
  shield_expose(shield, &segs[6]);
  shield_raise(shield, &segs[6], PROT_DENY_READ);
  cr_assert(recorded(6, PROT_DENY_NONE));
  cr_assert(shield_is_suspended(shield));
  cr_assert(shield_check_segs(shield));
  shield_flush(shield);                      /* cannot sync an exposed one */
  cr_assert(recorded(6, PROT_DENY_NONE));
  shield_cover(shield, &segs[6]);
  shield_flush(shield);
  cr_assert(recorded(6, PROT_DENY_READ));
  cr_assert_eq(shield_queue_length(shield), 0);
  shield_leave(shield);
  check_outside();
}

/* A segment queued for protection and exposed before the queue is
 * flushed: the flush must leave it alone, and the cover protects it. */
Test(shield, a_queued_segment_exposed_before_the_flush_stays_unprotected)
{
  enter_held();
  shield_raise(shield, &segs[4], PROT_DENY_READ);
  cr_assert(segs[4].queued);
  shield_expose(shield, &segs[4]);
  shield_flush(shield);
  cr_assert(recorded(4, PROT_DENY_NONE), "the flush protected an exposed segment");
  cr_assert(shield_check_segs(shield));
  shield_cover(shield, &segs[4]);
  leave_held();
  cr_assert(recorded(4, PROT_DENY_READ));
  check_outside();
}

/* Re-lay segments 0..3 so that they touch: [0,1) [1,2) [2,3) [3,4) pages
 * from a fresh base, for the coalescing tests. */
static void make_adjacent(void)
{
  Index i;
  for (i = 0; i < 4; ++i) {
    Addr base = addr_of_word((Word)0x800000 + (Word)i * PAGE);
    shield_seg_finish(shield, &segs[i]);
    shield_seg_init(shield, &segs[i], base, addr_add(base, PAGE));
  }
}

Test(shield, flush_coalesces_adjacent_segments)
{
  make_adjacent();
  enter_held();
  /* Raised out of address order, to exercise the sort. */
  shield_raise(shield, &segs[2], PROT_DENY_WRITE);
  shield_raise(shield, &segs[0], PROT_DENY_WRITE);
  shield_raise(shield, &segs[3], PROT_DENY_WRITE);
  shield_raise(shield, &segs[1], PROT_DENY_WRITE);
  shield_raise(shield, &segs[9], PROT_DENY_WRITE);  /* not adjacent */
  shield_release(shield);
  cr_assert_eq(prot_none_sets(&pn), 0);
  shield_leave(shield);
  cr_assert_eq(prot_none_sets(&pn), 2);       /* [0..3] and [9] */
  check_outside();
}

Test(shield, a_run_lowered_in_one_call_is_exposed_without_more)
{
  ShieldSeg run[3] = {&segs[0], &segs[1], &segs[2]};
  Count sets;
  Index i;
  make_adjacent();
  shield_enter(shield);
  for (i = 0; i < 4; ++i)
    shield_raise(shield, &segs[i], PROT_DENY_ALL);
  shield_leave(shield);
  check_outside();

  shield_enter(shield);
  sets = prot_none_sets(&pn);
  shield_lower_run(shield, run, 3);
  cr_assert_eq(prot_none_sets(&pn), sets + 1);   /* one call for the three */
  cr_assert_eq(mutator.suspends, 1);             /* which the mutator must not see */
  for (i = 0; i < 3; ++i) {
    cr_assert(recorded(i, PROT_DENY_NONE), "segment %zu", (size_t)i);
    cr_assert(segs[i].queued);
  }
  cr_assert(recorded(3, PROT_DENY_ALL));         /* not in the run */
  cr_assert(shield_check_segs(shield));
  /* Exposing them costs nothing more; the one the collector is done with
   * (lowered for good, as a scan that blackens it does) needs nothing. */
  for (i = 0; i < 2; ++i) {
    shield_expose(shield, &segs[i]);
    shield_cover(shield, &segs[i]);
  }
  shield_lower(shield, &segs[0], PROT_DENY_ALL);
  cr_assert_eq(prot_none_sets(&pn), sets + 1);
  /* The two still raised (one exposed and covered, one never exposed)
   * get their protection back together. */
  shield_leave(shield);
  cr_assert_eq(prot_none_sets(&pn), sets + 2);
  check_outside();
  cr_assert(recorded(0, PROT_DENY_NONE));
  cr_assert(recorded(1, PROT_DENY_ALL));
  cr_assert(recorded(2, PROT_DENY_ALL));
}

Test(shield, a_run_lowered_with_the_queue_nearly_full_is_not_put_back_early)
{
  ShieldSeg run[3] = {&segs[0], &segs[1], &segs[2]};
  Index i;
  make_adjacent();
  shield_enter(shield);
  for (i = 0; i < 3; ++i)
    shield_raise(shield, &segs[i], PROT_DENY_READ);
  shield_leave(shield);
  enter_held();
  /* Fill the queue but for one entry with raises waiting for the flush. */
  for (i = 4; i < 4 + SHIELD_QUEUE_LIMIT - 1; ++i)
    shield_raise(shield, &segs[i], PROT_DENY_WRITE);
  cr_assert_eq(shield_queue_length(shield), SHIELD_QUEUE_LIMIT - 1);
  shield_lower_run(shield, run, 3);
  /* The queue was flushed first, so the run stays lowered in it. */
  cr_assert_eq(shield_queue_length(shield), 3);
  for (i = 0; i < 3; ++i)
    cr_assert(recorded(i, PROT_DENY_NONE), "segment %zu", (size_t)i);
  cr_assert(recorded(4, PROT_DENY_WRITE));
  leave_held();
  check_outside();
}

Test(shield, the_queue_lists_the_segments_still_unprotected)
{
  ShieldSeg out[SHIELD_QUEUE_LIMIT];
  ShieldSeg run[2] = {&segs[0], &segs[1]};
  Count n;
  make_adjacent();
  shield_enter(shield);
  shield_raise(shield, &segs[0], PROT_DENY_READ);
  shield_raise(shield, &segs[1], PROT_DENY_READ);
  shield_leave(shield);
  enter_held();
  cr_assert_eq(shield_queue_unprotected(shield, out, SHIELD_QUEUE_LIMIT), 0);
  /* A raise waiting for the flush, a lowered run, and a segment raised
   * and lowered again (queued, but wanting nothing). */
  shield_raise(shield, &segs[3], PROT_DENY_WRITE);
  shield_lower_run(shield, run, 2);
  shield_raise(shield, &segs[4], PROT_DENY_WRITE);
  shield_lower(shield, &segs[4], PROT_DENY_WRITE);
  cr_assert_eq(shield_queue_length(shield), 4);
  n = shield_queue_unprotected(shield, out, SHIELD_QUEUE_LIMIT);
  cr_assert_eq(n, 3);
  cr_assert(out[0] == &segs[3] && out[1] == &segs[0] && out[2] == &segs[1]);
  cr_assert_eq(shield_queue_unprotected(shield, out, 2), 2, "no more than asked for");
  /* Exposed and covered, it is still listed; after the flush, none is. */
  shield_expose(shield, &segs[0]);
  cr_assert_eq(shield_queue_unprotected(shield, out, SHIELD_QUEUE_LIMIT), 3);
  shield_cover(shield, &segs[0]);
  shield_flush(shield);
  cr_assert_eq(shield_queue_unprotected(shield, out, SHIELD_QUEUE_LIMIT), 0);
  leave_held();
  check_outside();
}

Test(shield, flush_splits_runs_at_mode_changes_and_gaps)
{
  make_adjacent();
  enter_held();
  shield_raise(shield, &segs[0], PROT_DENY_WRITE);
  shield_raise(shield, &segs[1], PROT_DENY_READ);   /* different mode */
  shield_raise(shield, &segs[2], PROT_DENY_READ);
  /* segs[3] is not queued: [0], [1..2] */
  leave_held();
  cr_assert_eq(prot_none_sets(&pn), 2);
  check_outside();
}

Test(shield, full_queue_is_flushed_early)
{
  Index i;
  enter_held();
  for (i = 0; i < NSEGS; ++i) {
    shield_raise(shield, &segs[i], PROT_DENY_READ);
    cr_assert_leq(shield_queue_length(shield), SHIELD_QUEUE_LIMIT);
    cr_assert(shield_check_segs(shield));
  }
  /* The first SHIELD_QUEUE_LIMIT were synced when the queue filled. */
  cr_assert(recorded(0, PROT_DENY_READ));
  cr_assert(recorded(NSEGS - 1, PROT_DENY_NONE));
  leave_held();
  check_outside();
}

Test(shield, finishing_a_queued_segment_dequeues_it)
{
  enter_held();
  shield_raise(shield, &segs[7], PROT_DENY_WRITE);
  shield_lower(shield, &segs[7], PROT_DENY_WRITE);
  cr_assert(segs[7].queued);
  shield_seg_finish(shield, &segs[7]);
  cr_assert_eq(shield_queue_length(shield), 0);
  shield_seg_init(shield, &segs[7], addr_of_word(0x900000),
                  addr_of_word(0x901000));
  leave_held();
  check_outside();
}

/* A raise waiting in the queue, partly lowered before the flush: the
 * part lowered was never applied, so nothing is recorded as applied, and
 * the flush applies what is left. */
Test(shield, lowering_part_of_a_queued_raise_leaves_the_rest_to_the_flush)
{
  enter_held();
  shield_raise(shield, &segs[3], PROT_DENY_ALL);
  shield_lower(shield, &segs[3], PROT_DENY_READ);
  cr_assert(recorded(3, PROT_DENY_NONE));
  cr_assert_eq(segs[3].pm, PROT_DENY_NONE, "protection counted as applied that never was");
  cr_assert(segs[3].queued);
  cr_assert(shield_check_segs(shield));
  leave_held();
  cr_assert(recorded(3, PROT_DENY_WRITE));
  check_outside();
}

/* Finishing one of several queued segments must not take the others out
 * of the queue with it: they still need their protection. */
Test(shield, finishing_one_queued_segment_keeps_the_others_queued)
{
  enter_held();
  shield_raise(shield, &segs[7], PROT_DENY_WRITE);
  shield_lower(shield, &segs[7], PROT_DENY_WRITE);
  shield_raise(shield, &segs[8], PROT_DENY_WRITE);
  cr_assert_eq(shield_queue_length(shield), 2);
  shield_seg_finish(shield, &segs[7]);
  cr_assert_eq(shield_queue_length(shield), 1);
  cr_assert(segs[8].queued);
  cr_assert(shield_check(shield));
  shield_seg_init(shield, &segs[7], addr_of_word(0x900000),
                  addr_of_word(0x901000));
  cr_assert(shield_check_segs(shield));
  leave_held();
  cr_assert(recorded(8, PROT_DENY_WRITE));
  check_outside();
}

/* An exposed segment in the middle of a run of queued neighbours splits
 * the run: the flush protects those either side and leaves it alone. */
Test(shield, a_flushed_run_leaves_an_exposed_neighbour_unprotected)
{
  Index i;
  make_adjacent();
  enter_held();
  for (i = 0; i < 3; ++i)
    shield_raise(shield, &segs[i], PROT_DENY_WRITE);
  shield_expose(shield, &segs[1]);
  shield_flush(shield);
  cr_assert(recorded(0, PROT_DENY_WRITE));
  cr_assert(recorded(1, PROT_DENY_NONE), "the flush protected an exposed segment");
  cr_assert(recorded(2, PROT_DENY_WRITE));
  cr_assert(shield_check_segs(shield));
  shield_cover(shield, &segs[1]);
  leave_held();
  cr_assert(recorded(1, PROT_DENY_WRITE));
  check_outside();
}

/* Raising a second mode of a segment already waiting in the queue leaves
 * one entry for it: the flush would otherwise see it twice, and the queue
 * would fill early. */
Test(shield, a_segment_raised_twice_while_held_is_queued_once)
{
  enter_held();
  shield_raise(shield, &segs[2], PROT_DENY_READ);
  shield_raise(shield, &segs[2], PROT_DENY_WRITE);
  cr_assert_eq(shield_queue_length(shield), 1);
  cr_assert(shield_check_segs(shield));
  leave_held();
  cr_assert(recorded(2, PROT_DENY_ALL));
  cr_assert_eq(prot_none_sets(&pn), 1);
  check_outside();
}

/* A segment that wants no protection needs nothing at its last cover,
 * even with the mutator suspended: queuing it would only take a place. */
Test(shield, a_synced_segment_covered_while_held_is_not_queued)
{
  enter_held();
  shield_expose(shield, &segs[5]);
  shield_cover(shield, &segs[5]);
  cr_assert_eq(shield_queue_length(shield), 0);
  cr_assert_not(segs[5].queued);
  leave_held();
  cr_assert_eq(prot_none_sets(&pn), 0);
  check_outside();
}

/* The queue takes SHIELD_QUEUE_LIMIT raises before any protection call;
 * the next one flushes them. */
Test(shield, the_queue_holds_its_limit_before_it_is_flushed)
{
  Index i;
  enter_held();
  for (i = 0; i < SHIELD_QUEUE_LIMIT; ++i)
    shield_raise(shield, &segs[i], PROT_DENY_READ);
  cr_assert_eq(shield_queue_length(shield), SHIELD_QUEUE_LIMIT);
  cr_assert_eq(prot_none_sets(&pn), 0, "the queue was flushed before it was full");
  shield_raise(shield, &segs[SHIELD_QUEUE_LIMIT], PROT_DENY_READ);
  cr_assert_eq(shield_queue_length(shield), 1);
  cr_assert(recorded(SHIELD_QUEUE_LIMIT - 1, PROT_DENY_READ));
  cr_assert(recorded(SHIELD_QUEUE_LIMIT, PROT_DENY_NONE));
  leave_held();
  check_outside();
}

/* A segment with one mode applied and another waiting in the queue: when
 * the applied one is lowered, the backend must be left with neither, as
 * the shield records, or an expose (which then finds nothing to take
 * off) would leave the collector facing the queued mode. */
Test(shield, lowering_the_applied_mode_under_a_queued_one_leaves_nothing_applied)
{
  shield_enter(shield);
  shield_raise(shield, &segs[3], PROT_DENY_WRITE);   /* applied at once */
  shield_hold(shield);
  shield_raise(shield, &segs[3], PROT_DENY_READ);    /* queued */
  cr_assert(recorded(3, PROT_DENY_WRITE));
  shield_lower(shield, &segs[3], PROT_DENY_WRITE);
  cr_assert(recorded(3, PROT_DENY_NONE), "a mode was applied that had not been");
  cr_assert_eq(segs[3].pm, PROT_DENY_NONE);
  shield_expose(shield, &segs[3]);
  cr_assert(recorded(3, PROT_DENY_NONE));
  shield_cover(shield, &segs[3]);
  leave_held();
  cr_assert(recorded(3, PROT_DENY_READ));
  check_outside();
}

/* Lowering part of a raise that is still queued changes nothing applied,
 * so it costs no protection call; the flush makes one. */
Test(shield, lowering_part_of_a_queued_raise_costs_no_call)
{
  enter_held();
  shield_raise(shield, &segs[3], PROT_DENY_ALL);
  shield_lower(shield, &segs[3], PROT_DENY_WRITE);
  cr_assert_eq(prot_none_sets(&pn), 0);
  leave_held();
  cr_assert_eq(prot_none_sets(&pn), 1);
  cr_assert(recorded(3, PROT_DENY_READ));
  check_outside();
}

/* A run that exactly fills the queue's free places goes in without a
 * flush: the raises already waiting stay unapplied. */
Test(shield, a_run_lowered_into_the_last_places_of_the_queue_does_not_flush_it)
{
  ShieldSeg run[3] = {&segs[0], &segs[1], &segs[2]};
  Index i;
  make_adjacent();
  shield_enter(shield);
  for (i = 0; i < 3; ++i)
    shield_raise(shield, &segs[i], PROT_DENY_READ);
  shield_leave(shield);
  enter_held();
  for (i = 4; i < 4 + SHIELD_QUEUE_LIMIT - 3; ++i)
    shield_raise(shield, &segs[i], PROT_DENY_WRITE);
  shield_lower_run(shield, run, 3);
  cr_assert_eq(shield_queue_length(shield), SHIELD_QUEUE_LIMIT);
  cr_assert(recorded(4, PROT_DENY_NONE), "the queue was flushed with room for the run");
  for (i = 0; i < 3; ++i)
    cr_assert(recorded(i, PROT_DENY_NONE), "segment %zu", (size_t)i);
  leave_held();
  cr_assert(recorded(4, PROT_DENY_WRITE));
  check_outside();
}

Test(shield, broken_invariants_are_reported)
{
#if CHECK_LEVEL < 2
  cr_skip_test("structure checks need CHECK_LEVEL 2");
#endif
  reports_install();
  segs[8].pm = PROT_DENY_WRITE;      /* more than the shield wants: inv 5 */
  cr_assert(shield_seg_check(&segs[8]));
  cr_assert_geq(reports_seen(), 1);
  cr_assert(strstr(atomic_load(&reports_last), "pm & ~seg->sm") != NULL
            || strstr(atomic_load(&reports_last), "queued") != NULL,
            "condition was \"%s\"", atomic_load(&reports_last));
  segs[8].pm = PROT_DENY_NONE;
  reports_install();
  shield->depth = 1;                 /* no segment exposed: inv 6 (and,
                                        outside the shield, inv 4 too) */
  cr_assert(shield_check_segs(shield));
  cr_assert_geq(reports_seen(), 1);
  cr_assert(strstr(atomic_load(&reports_last), "depth == shield->depth") != NULL,
            "condition was \"%s\"", atomic_load(&reports_last));
  shield->depth = 0;
  reports_install();
  cr_assert(shield_check_segs(shield));
  cr_assert_eq(reports_seen(), 0);
  reports_install_abort();
}

Test(shield, each_broken_invariant_is_reported_by_its_own_check)
{
#if CHECK_LEVEL < 2
  cr_skip_test("structure checks need CHECK_LEVEL 2");
#endif
  /* One broken field may fail several checks: each test looks for its
   * own among the reports. */

  /* inv 1: suspended outside. */
  reports_install();
  shield->suspended = true;
  cr_assert(shield_check(shield));
  cr_assert(reports_saw("inside || !shield->suspended"), "%d reports", reports_seen());
  shield->suspended = false;

  /* inv 2: an unsynced segment counted with the mutator running. */
  reports_install();
  shield->unsynced = 1;
  cr_assert(shield_check(shield));
  cr_assert(reports_saw("unsynced == 0 || shield->suspended"), "%d reports", reports_seen());
  shield->unsynced = 0;

  /* inv 7: exposed with protection applied. */
  reports_install();
  segs[8].sm = segs[8].pm = PROT_DENY_WRITE;
  segs[8].depth = 1;
  cr_assert(shield_seg_check(&segs[8]));
  cr_assert(reports_saw("seg->depth == 0 ||"), "%d reports", reports_seen());
  segs[8].depth = 0;

  /* inv 3: unsynced, yet neither exposed nor queued. */
  reports_install();
  segs[8].pm = PROT_DENY_NONE;
  cr_assert(shield_seg_check(&segs[8]));
  cr_assert(reports_saw("seg->queued"), "%d reports", reports_seen());
  segs[8].sm = PROT_DENY_NONE;

  /* inv 10: the count of unsynced segments, with the mutator suspended so
   * that inv 2 holds. */
  enter_held();
  reports_install();
  ++shield->unsynced;
  cr_assert(shield_check_segs(shield));
  cr_assert(reports_saw("unsynced == shield->unsynced"), "%d reports", reports_seen());
  --shield->unsynced;

  /* inv 8: the count of queued segments. */
  shield_raise(shield, &segs[2], PROT_DENY_READ);
  reports_install();
  segs[2].queued = false;
  cr_assert(shield_check_segs(shield));
  cr_assert(reports_saw("queued == shield->queued"), "%d reports", reports_seen());
  segs[2].queued = true;

  reports_install();
  cr_assert(shield_check_segs(shield));
  cr_assert_eq(reports_seen(), 0);
  reports_install_abort();
  leave_held();
  check_outside();
}

/* Misuse: each aborts through an aborting handler. */

Test(shield, leave_while_exposed_aborts, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  shield_enter(shield);
  shield_expose(shield, &segs[0]);
  reports_install_abort();
  shield_leave(shield);
}

Test(shield, double_raise_aborts, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  shield_enter(shield);
  shield_raise(shield, &segs[0], PROT_DENY_READ);
  reports_install_abort();
  shield_raise(shield, &segs[0], PROT_DENY_READ);
}

Test(shield, cover_without_expose_aborts, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  shield_enter(shield);
  reports_install_abort();
  shield_cover(shield, &segs[0]);
}

Test(shield, lower_unraised_aborts, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  shield_enter(shield);
  reports_install_abort();
  shield_lower(shield, &segs[0], PROT_DENY_WRITE);
}

Test(shield, raise_outside_aborts, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  reports_install_abort();
  shield_raise(shield, &segs[0], PROT_DENY_WRITE);
}

Test(shield, release_without_hold_aborts, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  shield_enter(shield);
  reports_install_abort();
  shield_release(shield);
}

Test(shield, entering_twice_aborts, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  shield_enter(shield);
  reports_install_abort();
  shield_enter(shield);
}

Test(shield, leave_while_held_aborts, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  enter_held();
  reports_install_abort();
  shield_leave(shield);
}

/* A cover of a segment never exposed, while another one is: the total
 * depth is positive, so only the segment's own count shows the misuse. */
Test(shield, cover_of_an_unexposed_segment_aborts_while_another_is_exposed,
     .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  shield_enter(shield);
  shield_expose(shield, &segs[1]);
  reports_install_abort();
  shield_cover(shield, &segs[0]);
  /* Not reported: undo the damage so that the test fails for the missing
   * abort, not in the teardown. */
  segs[0].depth = 0;
  shield->depth = 1;
  shield_cover(shield, &segs[1]);
  shield_leave(shield);
}

/* A segment still raised must not be finished: its memory would be
 * handed back with the protection on. */
Test(shield, finishing_a_raised_segment_aborts, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  Addr base = segs[8].base, limit = segs[8].limit;
  shield_enter(shield);
  shield_raise(shield, &segs[8], PROT_DENY_WRITE);
  shield_leave(shield);
  reports_install_abort();
  shield_seg_finish(shield, &segs[8]);
  /* Not reported: register it again, unraised, for the teardown. */
  shield_seg_init(shield, &segs[8], base, limit);
  prot_set(&pn.prot, base, limit, PROT_DENY_NONE);
}

