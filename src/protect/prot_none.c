/* prot_none.c: a protection backend that protects nothing and records
 * what it was asked to do (see design/prot.txt, whose generic
 * implementation also sets no protection; and prot.h).
 *
 * It lets the shield run on any platform, and lets tests see the
 * protection the shield would have applied, without touching memory: the
 * addresses it is given need not be mapped.
 *
 * Invariants of the recorded map (prot_none_check cites them):
 *   prot_none.inv.sig      the signatures of the backend and of its
 *                          generic part are valid, and the generic part's
 *                          class is prot_none's.
 *   prot_none.inv.bound    ranges <= PROT_NONE_RANGES.
 *   prot_none.inv.range    every entry has base < limit and a mode that is
 *                          a non-empty subset of PROT_DENY_ALL.
 *   prot_none.inv.sorted   entries are in increasing address order and do
 *                          not overlap.
 *   prot_none.inv.merged   adjacent entries that touch have different modes.
 */
#include "prot.h"

static ProtNone prot_none_of(Prot prot)
{
  return PARENT(ProtNoneStruct, prot, prot);
}

static bool prot_none_below(Addr a, Addr b)
{
  return addr_word(a) < addr_word(b);
}

static Res prot_none_setup(Prot prot)
{
  ProtNone pn = prot_none_of(prot);
  AVERT(prot_none, pn);
  pn->set_up = true;
  return MPS_RES_OK;
}

/* Rebuild the map with [base, limit) set to `mode`.  The new map is made in
 * a scratch array at most twice the table's size plus one (each old entry
 * yields at most two pieces, plus the new range), sorted by base with an
 * insertion sort (at most 2 * PROT_NONE_RANGES + 1 entries, so bounded),
 * merged, and copied back only if it fits, so an overflow leaves the old
 * map intact. */
static void prot_none_set(Prot prot, Addr base, Addr limit, ProtMode mode)
{
  ProtNone pn = prot_none_of(prot);
  ProtNoneRangeStruct scratch[2 * PROT_NONE_RANGES + 1];
  Count n = 0, merged, i, j;

  AVERT(prot_none, pn);
  AVER(pn->set_up);
  ++pn->sets;

  for (i = 0; i < pn->ranges; ++i) {
    ProtNoneRangeStruct *r = &pn->range[i];
    if (!prot_none_below(r->base, limit) || !prot_none_below(base, r->limit)) {
      scratch[n++] = *r;                     /* no overlap: keep */
      continue;
    }
    if (prot_none_below(r->base, base)) {    /* the part below the new range */
      scratch[n] = *r;
      scratch[n].limit = base;
      ++n;
    }
    if (prot_none_below(limit, r->limit)) {  /* the part above it */
      scratch[n] = *r;
      scratch[n].base = limit;
      ++n;
    }
  }
  if (mode != PROT_DENY_NONE) {
    scratch[n].base = base;
    scratch[n].limit = limit;
    scratch[n].mode = mode;
    ++n;
  }

  for (i = 1; i < n; ++i) {
    ProtNoneRangeStruct r = scratch[i];
    for (j = i; j > 0 && prot_none_below(r.base, scratch[j - 1].base); --j)
      scratch[j] = scratch[j - 1];
    scratch[j] = r;
  }

  merged = 0;
  for (i = 0; i < n; ++i) {
    if (merged > 0 && scratch[merged - 1].limit == scratch[i].base
        && scratch[merged - 1].mode == scratch[i].mode)
      scratch[merged - 1].limit = scratch[i].limit;
    else
      scratch[merged++] = scratch[i];
  }

  if (merged > PROT_NONE_RANGES) {
    pn->overflowed = true;
    return;
  }
  for (i = 0; i < merged; ++i)
    pn->range[i] = scratch[i];
  pn->ranges = merged;
  AVER_CRITICAL(prot_none_check(pn));
}

static const ProtClassStruct prot_none_class = {
  "none",
  prot_none_setup,
  prot_none_set,
};

bool prot_none_check(ProtNone pn)
{
  Count i;
  CHECKS(PROT_NONE_SIG, pn);                              /* .inv.sig */
  if (pn == NULL)
    return true;
  CHECKD(prot, &pn->prot);                                /* .inv.sig */
  CHECKL(pn->prot.klass == &prot_none_class);             /* .inv.sig */
  CHECKL(pn->ranges <= PROT_NONE_RANGES);                 /* .inv.bound */
#if CHECK_LEVEL >= 2
  for (i = 0; i < pn->ranges && i < PROT_NONE_RANGES; ++i) {
    const ProtNoneRangeStruct *r = &pn->range[i];
    CHECKL(prot_none_below(r->base, r->limit));           /* .inv.range */
    CHECKL(r->mode != PROT_DENY_NONE);                    /* .inv.range */
    CHECKL(prot_mode_check(r->mode));                     /* .inv.range */
    if (i > 0) {
      const ProtNoneRangeStruct *prev = &pn->range[i - 1];
      CHECKL(!prot_none_below(r->base, prev->limit));     /* .inv.sorted */
      CHECKL(prev->limit != r->base || prev->mode != r->mode); /* .inv.merged */
    }
  }
#else
  UNUSED(i);
#endif
  return true;
}

Prot prot_none_init(ProtNone pn)
{
  AVER(pn != NULL);
  prot_init(&pn->prot, &prot_none_class);
  pn->set_up = false;
  pn->ranges = 0;
  pn->sets = 0;
  pn->overflowed = false;
  pn->sig = PROT_NONE_SIG;
  AVERT(prot_none, pn);
  return &pn->prot;
}

void prot_none_finish(ProtNone pn)
{
  AVERT(prot_none, pn);
  pn->sig = SIG_INVALID;
  prot_finish(&pn->prot);
}

/* One pass over the sorted map: the parts of [base, limit) that no entry
 * covers are unprotected, the others have their entry's mode. */
bool prot_none_is(ProtNone pn, Addr base, Addr limit, ProtMode mode)
{
  Count i;
  Addr pos = base;
  AVERT(prot_none, pn);
  AVER(prot_none_below(base, limit));
  for (i = 0; i < pn->ranges && prot_none_below(pos, limit); ++i) {
    const ProtNoneRangeStruct *r = &pn->range[i];
    if (!prot_none_below(pos, r->limit))
      continue;                              /* wholly below pos */
    if (!prot_none_below(r->base, limit))
      break;                                 /* wholly above the range */
    if (prot_none_below(pos, r->base) && mode != PROT_DENY_NONE)
      return false;                          /* a gap before r */
    if (r->mode != mode)
      return false;
    pos = r->limit;
  }
  return !prot_none_below(pos, limit) || mode == PROT_DENY_NONE;
}

Count prot_none_sets(ProtNone pn)
{
  AVERT(prot_none, pn);
  return pn->sets;
}

bool prot_none_overflowed(ProtNone pn)
{
  AVERT(prot_none, pn);
  return pn->overflowed;
}
