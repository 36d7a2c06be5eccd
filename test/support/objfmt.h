/* objfmt.h: the client object format of the pool tests (test_amc,
 * test_ams, test_awl, test_lo, test_snc, test_walk, test_root, fuzz_amc,
 * fuzz_awl, fuzz_snc, fuzz_barrier, stress_amc, stress_ams, stress_awl,
 * stress_lo, stress_snc, stress_root, stress_barrier).  Header only, every
 * function static inline, so each program gets its own copy and an unused
 * method costs no warning.
 *
 * Every object starts with a header word: its size in words shifted left
 * two bits, and a two-bit type in the bits below.  An object of type
 * OBJFMT_T_OBJ goes on with its number of references, the references
 * (each a word: an address or 0), then data words the format never reads.
 * When an object moves, its header takes type OBJFMT_T_FWD and its second
 * word the new address, so every object is at least two words long.  A pad
 * is its header alone (type OBJFMT_T_PAD), so one-word gaps can be padded.
 * OBJFMT_T_ARR is left to the weak-key arrays of the AWL programs, whose
 * layout and scan are in test/support/awlarr.h.
 *
 * The skip, forward, is-forwarded and pad methods read and write only the
 * header and the second word.  So a program whose objects have another
 * body (an identity word where nrefs would be, or no references) keeps
 * those four and passes another scan method to objfmt_create: its own,
 * or objfmt_scan_id_ref for the identity-and-one-reference objects.
 */
#ifndef objfmt_h
#define objfmt_h

#include <stdbool.h>
#include <stddef.h>

#include "../../include/mps.h"

enum { OBJFMT_T_OBJ = 0, OBJFMT_T_FWD = 1, OBJFMT_T_PAD = 2, OBJFMT_T_ARR = 3 };

#define OBJFMT_HDR(words, type) (((mps_word_t)(words) << 2) | (mps_word_t)(type))
#define OBJFMT_WORDS(h) ((size_t)((h) >> 2))
#define OBJFMT_TYPE(h) ((int)((h) & 3))

typedef struct objfmt_obj_s {
  mps_word_t header;
  mps_word_t nrefs;     /* the new address once forwarded */
  mps_word_t slot[1];   /* nrefs references, then data */
} objfmt_obj_s;
typedef objfmt_obj_s *objfmt_obj;

/* The scan method, adding the number of objects met to *objects unless
 * it is NULL: test_ams checks that a collection scanned every live one. */
static inline mps_res_t objfmt_scan_counting(mps_ss_t ss, mps_addr_t base, mps_addr_t limit,
                                             unsigned long *objects)
{
  MPS_SCAN_BEGIN(ss) {
    char *p = base;
    while (p < (char *)limit) {
      objfmt_obj obj = (objfmt_obj)(void *)p;
      if (objects != NULL)
        ++*objects;
      if (OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ) {
        mps_word_t i;
        for (i = 0; i < obj->nrefs; ++i) {
          /* Fixed through a copy: the field is a word, not an mps_addr_t. */
          mps_addr_t ref = (mps_addr_t)obj->slot[i];
          mps_res_t res = MPS_FIX12(ss, &ref);
          if (res != MPS_RES_OK)
            return res;
          obj->slot[i] = (mps_word_t)ref;
        }
      }
      p += OBJFMT_WORDS(obj->header) * sizeof(mps_word_t);
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

static inline mps_res_t objfmt_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  return objfmt_scan_counting(ss, base, limit, NULL);
}

/* The scan method of test_root's and test_walk's objects, which keep an
 * identity where nrefs would be (four words: header, identity, one
 * reference, a spare word).  The identity must survive collections for
 * the tests to tell objects apart, so only the third word is fixed. */
static inline mps_res_t objfmt_scan_id_ref(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  MPS_SCAN_BEGIN(ss) {
    mps_word_t *p = base;
    while (p < (mps_word_t *)limit) {
      if (OBJFMT_TYPE(p[0]) == OBJFMT_T_OBJ) {
        mps_res_t res = MPS_FIX12(ss, (mps_addr_t *)&p[2]);
        if (res != MPS_RES_OK)
          return res;
      }
      p += OBJFMT_WORDS(p[0]);
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

static inline mps_addr_t objfmt_skip(mps_addr_t addr)
{
  return (char *)addr + OBJFMT_WORDS(*(mps_word_t *)addr) * sizeof(mps_word_t);
}

static inline void objfmt_fwd(mps_addr_t old, mps_addr_t new_addr)
{
  objfmt_obj obj = old;
  obj->header = OBJFMT_HDR(OBJFMT_WORDS(obj->header), OBJFMT_T_FWD);
  obj->nrefs = (mps_word_t)new_addr;
}

static inline mps_addr_t objfmt_isfwd(mps_addr_t addr)
{
  objfmt_obj obj = addr;
  return OBJFMT_TYPE(obj->header) == OBJFMT_T_FWD ? (mps_addr_t)obj->nrefs : NULL;
}

static inline void objfmt_pad(mps_addr_t addr, size_t size)
{
  *(mps_word_t *)addr = OBJFMT_HDR(size / sizeof(mps_word_t), OBJFMT_T_PAD);
}

/* Objects that carry an identity (fuzz_barrier, stress_barrier): nrefs
 * null references, then ndata words, the first the identity and the rest
 * derived from it, so that an object moved, freed or overwritten shows. */
static inline mps_word_t objfmt_id_word(mps_word_t id, size_t i)
{
  return id * 0x9E3779B1u + i;
}

/* Fill the block at p (inside a reserve/commit loop). */
static inline void objfmt_init_id(mps_addr_t p, size_t nrefs, size_t ndata, mps_word_t id)
{
  objfmt_obj obj = p;
  size_t i;
  obj->header = OBJFMT_HDR(2 + nrefs + ndata, OBJFMT_T_OBJ);
  obj->nrefs = nrefs;
  for (i = 0; i < nrefs; ++i)
    obj->slot[i] = 0;
  obj->slot[nrefs] = id;
  for (i = 1; i < ndata; ++i)
    obj->slot[nrefs + i] = objfmt_id_word(id, i);
}

/* n objects of ndata data words and no references in pool, through a
 * point of their own that goes with them, so that their bytes count in
 * the pool's generation at once and no buffer stays: garbage, for tests
 * that need a generation over its capacity.  The first failure, if any. */
static inline mps_res_t objfmt_garbage(mps_pool_t pool, size_t n, size_t ndata)
{
  size_t size = (2 + ndata) * sizeof(mps_word_t), k;
  mps_res_t res;
  mps_addr_t p;
  mps_ap_t ap;
  res = mps_ap_create_k(&ap, pool, mps_args_none);
  if (res != MPS_RES_OK)
    return res;
  for (k = 0; k < n && res == MPS_RES_OK; ++k) {
    do {
      res = mps_reserve(&p, ap, size);
      if (res != MPS_RES_OK)
        break;
      objfmt_init_id(p, 0, ndata, k);
    } while (!mps_commit(ap, p, size));
  }
  mps_ap_destroy(ap);
  return res;
}

/* Whether p is such an object, intact, with identity id. */
static inline bool objfmt_is_id(mps_addr_t p, size_t nrefs, size_t ndata, mps_word_t id)
{
  objfmt_obj obj = p;
  size_t i;
  if (OBJFMT_TYPE(obj->header) != OBJFMT_T_OBJ || obj->nrefs != nrefs
      || OBJFMT_WORDS(obj->header) != 2 + nrefs + ndata || obj->slot[nrefs] != id)
    return false;
  for (i = 1; i < ndata; ++i)
    if (obj->slot[nrefs + i] != objfmt_id_word(id, i))
      return false;
  return true;
}

/* Make the format, aligned to a word so that one-word pads occur.  scan
 * is NULL for leaf pools (LO needs only skip).  moving adds forward,
 * is-forwarded and pad: AMC needs all three and SNC the pad, while AMS
 * and LO never move or pad, and their tests use formats without them. */
static inline mps_res_t objfmt_create(mps_fmt_t *fmt_o, mps_arena_t arena, mps_fmt_scan_t scan,
                                      bool moving)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, sizeof(mps_word_t));
    if (scan != NULL)
      MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, objfmt_skip);
    if (moving) {
      MPS_ARGS_ADD(args, MPS_KEY_FMT_FWD, objfmt_fwd);
      MPS_ARGS_ADD(args, MPS_KEY_FMT_ISFWD, objfmt_isfwd);
      MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, objfmt_pad);
    }
    res = mps_fmt_create_k(fmt_o, arena, args);
  } MPS_ARGS_END(args);
  return res;
}

#endif /* objfmt_h */
