/* awlarr.h: the weak-key arrays of the AWL programs (test_awl, fuzz_awl,
 * stress_awl), objects of the fourth type of test/support/objfmt.h,
 * OBJFMT_T_ARR.  Header only, every function static inline, like
 * objfmt.h.
 *
 * An array is its header word, its dependent array (or NULL), its length
 * tagged as length * 2 + 1 (awl.rst: so that it does not look like a
 * reference), then its slots, each a reference or 0.  A weak-key table is
 * two arrays, each the other's dependent: keys, allocated on a weak
 * allocation point, and values, on an exact one.  When the scan of the
 * keys splats a slot, it deletes the value in the same slot of the
 * dependent, which AWL exposes while it scans.
 *
 * Only the layout and that scan are shared.  What the programs check
 * around them stays in each: test_awl counts splats and writes to the
 * dependent and checks its exposure (through awlarr_scan's splatted
 * callback), and asserts on every call of its find-dependent method.
 */
#ifndef awlarr_h
#define awlarr_h

#include <stddef.h>

#include "../../include/mps.h"
#include "objfmt.h"

typedef struct awlarr_s {
  mps_word_t header;            /* OBJFMT_HDR(AWLARR_WORDS(n), OBJFMT_T_ARR) */
  struct awlarr_s *dependent;
  mps_word_t length;            /* tagged: n * 2 + 1 */
  mps_word_t slot[];            /* n: the programs' tables differ in size */
} awlarr_s;
typedef awlarr_s *awlarr;

#define AWLARR_WORDS(n) (3 + (n))

/* Make the block at p an array of n empty slots with no dependent: the
 * body of each program's reserve/commit loop, which differ in what they
 * do when the reserve fails. */
static inline void awlarr_init(mps_addr_t p, size_t n)
{
  awlarr a = p;
  size_t i;
  a->header = OBJFMT_HDR(AWLARR_WORDS(n), OBJFMT_T_ARR);
  a->dependent = NULL;
  a->length = (mps_word_t)n * 2 + 1;
  for (i = 0; i < n; ++i)
    a->slot[i] = 0;
}

/* Called when the fix has splatted slot i of a, before the same slot of
 * a's dependent is cleared, so that test_awl can count the splat and
 * check that the dependent is exposed for the write. */
typedef void (*awlarr_splat_t)(awlarr a, size_t i);

/* The scan method of the AWL programs, less their own checks.  An array's
 * dependent is fixed like any reference; a slot is fixed only if it is
 * not 0 and MPS_FIX1 says it may be white, and if the fix splats it, the
 * same slot of the dependent (if any) is cleared too.  Objects
 * (OBJFMT_T_OBJ) are scanned by obj_scan, or are leaves if it is NULL
 * (fuzz_awl's and stress_awl's keep a seed where objfmt_scan would read
 * nrefs).  splatted may be NULL. */
static inline mps_res_t awlarr_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit,
                                    mps_fmt_scan_t obj_scan, awlarr_splat_t splatted)
{
  MPS_SCAN_BEGIN(ss) {
    char *p = base;
    while (p < (char *)limit) {
      mps_word_t h = *(mps_word_t *)(void *)p;
      if (OBJFMT_TYPE(h) == OBJFMT_T_OBJ && obj_scan != NULL) {
        mps_res_t res;
        MPS_FIX_CALL(ss, res = obj_scan(ss, p, objfmt_skip(p)));
        if (res != MPS_RES_OK)
          return res;
      } else if (OBJFMT_TYPE(h) == OBJFMT_T_ARR) {
        awlarr a = (awlarr)(void *)p;
        size_t i, n = (size_t)(a->length >> 1);
        mps_addr_t dep = a->dependent;
        mps_res_t res = MPS_FIX12(ss, &dep);
        if (res != MPS_RES_OK)
          return res;
        a->dependent = dep;
        for (i = 0; i < n; ++i) {
          mps_addr_t ref = (mps_addr_t)a->slot[i];
          if (ref == NULL || !MPS_FIX1(ss, ref))
            continue;
          res = MPS_FIX2(ss, &ref);
          if (res != MPS_RES_OK)
            return res;
          if (ref == NULL) {
            if (splatted != NULL)
              splatted(a, i);
            if (a->dependent != NULL)
              a->dependent->slot[i] = 0;
          }
          a->slot[i] = (mps_word_t)ref;
        }
      }
      p += OBJFMT_WORDS(h) * sizeof(mps_word_t);
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

/* The find-dependent method (MPS_KEY_AWL_FIND_DEPENDENT): an array's
 * dependent, and none for anything else. */
static inline mps_addr_t awlarr_find_dependent(mps_addr_t addr)
{
  awlarr a = addr;
  return OBJFMT_TYPE(a->header) == OBJFMT_T_ARR ? a->dependent : NULL;
}

#endif /* awlarr_h */
