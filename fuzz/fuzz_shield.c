/* fuzz_shield.c: the shield, over the recording protection backend,
 * against a model of each segment's shield mode and depth.
 *
 * Each operation takes two input bytes: the first picks the operation (low
 * four bits) and a protection mode (the rest), the second a segment.  There
 * are more segments than the shield's queue holds, laid out in runs of four
 * that touch, so queue overflow and coalescing both happen.  An operation
 * the shield's contract forbids at that point (raising a mode already
 * raised, covering an unexposed segment, leaving while exposed, ...) is
 * skipped: misuse is the unit tests' business.
 *
 * After every operation: shield_check_segs (the cool build aborts on any
 * failed check); the model's shield mode and depth equal the segment's;
 * every segment's recorded protection equals its pm; an exposed segment
 * is recorded unprotected (including those a run lowering took the
 * protection off in one call); and outside the shield, every segment's
 * recorded protection equals the model's shield mode and the mutator is
 * running; and the queue's list of segments still unprotected is exactly
 * the queued ones recorded unprotected that the model wants protected.
 * Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../src/base/config.h"
#include "../src/protect/prot.h"
#include "../src/protect/shield.h"

#define FUZZ_SHIELD_SEGS (SHIELD_QUEUE_LIMIT + 8)
#define FUZZ_SHIELD_PAGE ((Size)0x1000)

struct fuzz_shield_mutator {
  bool running;
  unsigned long suspends;
};

static void fuzz_shield_suspend(void *closure)
{
  struct fuzz_shield_mutator *m = closure;
  if (!m->running)
    abort();
  m->running = false;
  ++m->suspends;
}

static void fuzz_shield_resume(void *closure)
{
  struct fuzz_shield_mutator *m = closure;
  if (m->running)
    abort();
  m->running = true;
}

struct fuzz_shield_model {
  ProtMode sm;
  Count depth;
};

static ProtNoneStruct fuzz_shield_pn;
static ShieldStruct fuzz_shield_shield;
static ShieldSegStruct fuzz_shield_seg[FUZZ_SHIELD_SEGS];

static Addr fuzz_shield_base(Index i)
{
  /* Runs of four touching segments, one page apart between runs. */
  return addr_of_word((Word)0x10000000 + (Word)(i + i / 4) * FUZZ_SHIELD_PAGE);
}

/* shield_queue_unprotected lists each queued segment that is recorded
 * unprotected while the model wants it protected, once, and nothing
 * else: what it lists the collector may touch without a protection
 * call. */
static void fuzz_shield_compare_unprotected(Shield shield,
                                            const struct fuzz_shield_model *model)
{
  ShieldSeg listed[SHIELD_QUEUE_LIMIT];
  Count n = shield_queue_unprotected(shield, listed, SHIELD_QUEUE_LIMIT), expected = 0;
  Index i, j;
  for (i = 0; i < FUZZ_SHIELD_SEGS; ++i) {
    ShieldSeg seg = &fuzz_shield_seg[i];
    if (seg->queued && model[i].sm != PROT_DENY_NONE
        && prot_none_is(&fuzz_shield_pn, seg->base, seg->limit, PROT_DENY_NONE))
      ++expected;
  }
  if (n != expected)
    abort();
  for (i = 0; i < n; ++i) {
    Index k = (Index)(listed[i] - fuzz_shield_seg);
    if (k >= FUZZ_SHIELD_SEGS || !listed[i]->queued || model[k].sm == PROT_DENY_NONE
        || !prot_none_is(&fuzz_shield_pn, listed[i]->base, listed[i]->limit, PROT_DENY_NONE))
      abort();
    for (j = 0; j < i; ++j)
      if (listed[j] == listed[i])
        abort();
  }
}

static void fuzz_shield_compare(Shield shield, const struct fuzz_shield_model *model,
                                bool inside, Count holds,
                                const struct fuzz_shield_mutator *mutator)
{
  Index i;
  Count depth = 0;
  if (!shield_check_segs(shield))
    abort();
  if (shield_is_inside(shield) != inside || shield->holds != holds)
    abort();
  if (mutator->running == shield_is_suspended(shield))
    abort();
  if (!inside && !mutator->running)
    abort();
  if (holds > 0 && mutator->running)
    abort();
  if (shield_queue_length(shield) > SHIELD_QUEUE_LIMIT)
    abort();
  if (prot_none_overflowed(&fuzz_shield_pn))
    abort();
  for (i = 0; i < FUZZ_SHIELD_SEGS; ++i) {
    ShieldSeg seg = &fuzz_shield_seg[i];
    if (seg->sm != model[i].sm || seg->depth != model[i].depth)
      abort();
    depth += seg->depth;
    if (!prot_none_is(&fuzz_shield_pn, seg->base, seg->limit, seg->pm))
      abort();
    if (seg->depth > 0
        && !prot_none_is(&fuzz_shield_pn, seg->base, seg->limit, PROT_DENY_NONE))
      abort();
    if (!inside
        && !prot_none_is(&fuzz_shield_pn, seg->base, seg->limit, model[i].sm))
      abort();
    /* The mutator may only run when nothing is less protected than the
     * shield wants. */
    if (mutator->running && seg->pm != seg->sm)
      abort();
  }
  if (shield->depth != depth || (!inside && depth != 0))
    abort();
  fuzz_shield_compare_unprotected(shield, model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  Shield shield = &fuzz_shield_shield;
  struct fuzz_shield_model model[FUZZ_SHIELD_SEGS];
  struct fuzz_shield_mutator mutator = {true, 0};
  bool inside = false;
  Count holds = 0, depth = 0;
  Prot prot;
  size_t i;
  Index s;

  prot = prot_none_init(&fuzz_shield_pn);
  if (prot_setup(prot) != MPS_RES_OK)
    abort();
  shield_init(shield, prot, fuzz_shield_suspend, fuzz_shield_resume, &mutator);
  for (s = 0; s < FUZZ_SHIELD_SEGS; ++s) {
    Addr base = fuzz_shield_base(s);
    shield_seg_init(shield, &fuzz_shield_seg[s], base,
                    addr_add(base, FUZZ_SHIELD_PAGE));
    model[s].sm = PROT_DENY_NONE;
    model[s].depth = 0;
  }
  fuzz_shield_compare(shield, model, inside, holds, &mutator);

  for (i = 0; i + 1 < size && i < 8192; i += 2) {
    unsigned op = data[i] & 15;
    ProtMode mode = (ProtMode)(1 + (data[i] >> 4) % 3);
    Index k = data[i + 1] % FUZZ_SHIELD_SEGS;
    ShieldSeg seg = &fuzz_shield_seg[k];
    struct fuzz_shield_model *m = &model[k];
    switch (op) {
    case 0:
      if (!inside) {
        shield_enter(shield);
        inside = true;
      }
      break;
    case 1:
      if (inside && depth == 0 && holds == 0) {
        shield_leave(shield);
        inside = false;
      }
      break;
    case 2: case 3:
      if (inside && (m->sm & mode) == 0) {
        shield_raise(shield, seg, mode);
        m->sm |= mode;
      }
      break;
    case 4:
      if (inside && (m->sm & mode) == mode) {
        shield_lower(shield, seg, mode);
        m->sm &= ~mode;
      }
      break;
    case 5: case 6:
      if (inside && m->depth < 100) {
        shield_expose(shield, seg);
        ++m->depth;
        ++depth;
      }
      break;
    case 7: case 8:
      if (inside && m->depth > 0) {
        shield_cover(shield, seg);
        --m->depth;
        --depth;
      }
      break;
    case 9:
      if (inside) {
        shield_hold(shield);
        ++holds;
      }
      break;
    case 10:
      if (inside && holds > 0) {
        shield_release(shield);
        --holds;
      }
      break;
    case 11:
      shield_flush(shield);
      break;
    case 12:
      /* Replace the segment, as the segment module does on freeing. */
      if (m->depth == 0 && m->sm == PROT_DENY_NONE) {
        Addr base = seg->base, limit = seg->limit;
        shield_seg_finish(shield, seg);
        shield_seg_init(shield, seg, base, limit);
      }
      break;
    case 13: {
      /* Lower a run of up to three touching segments from k within its
       * group of four, if the contract allows: none exposed, all with the
       * same protection applied, not none.  The model does not change:
       * the run waits for its protection in the queue. */
      ShieldSeg run[3];
      Count n = 1 + (data[i] >> 4) % 3, j;
      bool ok = inside;
      if (k % 4 + n > 4 || k + n > FUZZ_SHIELD_SEGS)
        n = 1;
      for (j = 0; j < n && ok; ++j) {
        run[j] = &fuzz_shield_seg[k + j];
        ok = run[j]->depth == 0 && run[j]->pm == seg->pm && seg->pm != PROT_DENY_NONE;
      }
      if (ok)
        shield_lower_run(shield, run, n);
      break;
    }
    default:
      break;
    }
    fuzz_shield_compare(shield, model, inside, holds, &mutator);
  }

  /* Wind down: cover, release, leave, then lower everything. */
  if (inside) {
    for (s = 0; s < FUZZ_SHIELD_SEGS; ++s)
      for (; model[s].depth > 0; --model[s].depth)
        shield_cover(shield, &fuzz_shield_seg[s]);
    for (; holds > 0; --holds)
      shield_release(shield);
    shield_leave(shield);
  }
  fuzz_shield_compare(shield, model, false, 0, &mutator);
  shield_enter(shield);
  for (s = 0; s < FUZZ_SHIELD_SEGS; ++s) {
    if (model[s].sm != PROT_DENY_NONE)
      shield_lower(shield, &fuzz_shield_seg[s], model[s].sm);
    model[s].sm = PROT_DENY_NONE;
  }
  shield_leave(shield);
  fuzz_shield_compare(shield, model, false, 0, &mutator);
  for (s = 0; s < FUZZ_SHIELD_SEGS; ++s)
    shield_seg_finish(shield, &fuzz_shield_seg[s]);
  shield_finish(shield);
  prot_none_finish(&fuzz_shield_pn);
  return 0;
}
