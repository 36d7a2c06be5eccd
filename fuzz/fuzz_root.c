/* fuzz_root.c: the area scanners and table, area, function and formatted
 * roots against a model of which words must be fixed, with what, and
 * what must be stored back
 * (src/gc/root.c; manual/topic/scanning.rst, root.rst).
 *
 * Each operation, decoded from the input, fills an array of words (some
 * of them addresses in a range the fix treats as condemned, with random
 * tags; others arbitrary), picks a mask, a pattern, a white zone set, what
 * the fix does to condemned references (move them by an offset, or splat
 * them as a weak fix does), and optionally a call at which the fix fails.
 * It then either calls one of the four mps_scan_area* functions directly
 * with a bare scan state, or makes a root over the array (one of the
 * table/area kinds, or a function or formatted root whose client scanner
 * scans it as mps_scan_area_tagged_or_zero does) and scans it with
 * root_scan, through a collector scan state.  The model predicts, word by word: whether the word is a
 * candidate (the scanner's tag test), the untagged reference, whether it
 * is in a white zone (so reaches the fix), the fix's answer, and the word
 * stored back (untouched unless the fix changed the reference, else the
 * new reference with the old tag).  The sequence of fix calls, the result,
 * the array and the summary of zones seen must all agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../src/gc/root.h"
#include "../src/gc/trace.h"

#define FR_WORDS 24
#define FR_ZONE_SHIFT 20

typedef struct fuzz_input_s {
  const uint8_t *data;
  size_t size;
} fuzz_input_s;

static bool fr_byte(fuzz_input_s *in, unsigned *out)
{
  if (in->size == 0)
    return false;
  *out = *in->data++;
  --in->size;
  return true;
}

static mps_word_t fr_word(fuzz_input_s *in)
{
  mps_word_t w = 0;
  unsigned b, i;
  for (i = 0; i < sizeof(mps_word_t); ++i) {
    if (!fr_byte(in, &b))
      b = 0;
    w = (w << 8) | b;
  }
  return w;
}

/* What the fix does, and what it saw. */
static struct {
  mps_word_t lo, hi;            /* condemned references */
  mps_word_t delta;             /* moved by this */
  bool splat;                   /* ... or set to 0 */
  size_t fail_at;               /* the call that fails (0: none) */
  mps_word_t calls[FR_WORDS];
  size_t ncalls;
} fr;

static mps_res_t fr_fix(mps_ss_t ss, mps_addr_t *ref_io)
{
  mps_word_t ref = (mps_word_t)*ref_io;
  (void)ss;
  if (fr.ncalls >= FR_WORDS)
    abort();                    /* more calls than words */
  fr.calls[fr.ncalls++] = ref;
  if (fr.fail_at != 0 && fr.ncalls == fr.fail_at)
    return MPS_RES_FAIL;
  if (ref >= fr.lo && ref < fr.hi)
    *ref_io = fr.splat ? NULL : (mps_addr_t)(ref + fr.delta);
  return MPS_RES_OK;
}

static mps_word_t fr_zone_bit(mps_word_t ref)
{
  return (mps_word_t)1 << ((ref >> FR_ZONE_SHIFT) & (MPS_WORD_WIDTH - 1));
}

enum {
  FR_SCAN_AREA, FR_SCAN_MASKED, FR_SCAN_TAGGED, FR_SCAN_TAGGED_OR_ZERO,
  FR_ROOT_TABLE, FR_ROOT_MASKED, FR_ROOT_TAGGED, FR_ROOT_AREA_TAGGED,
  FR_ROOT_FUN, FR_ROOT_FMT, FR_OPS
};

/* The client's scanners of a function root (mps_root_create) and a
 * formatted root (mps_root_create_fmt): both scan the words as
 * mps_scan_area_tagged_or_zero does, with this tag, so the model is that
 * scanner's. */
static mps_scan_tag_s fr_client_tag;

static mps_res_t fr_root_fun(mps_ss_t ss, void *p, size_t s)
{
  mps_word_t *words = p;
  return mps_scan_area_tagged_or_zero(ss, words, words + s, &fr_client_tag);
}

static mps_res_t fr_root_fmt(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  return mps_scan_area_tagged_or_zero(ss, base, limit, &fr_client_tag);
}

static mps_arena_t fr_arena;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_input_s in = {data, size};
  unsigned op;

  if (fr_arena == NULL) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 1 << 20);
      if (mps_arena_create_k(&fr_arena, mps_arena_class_vm(), args) != MPS_RES_OK)
        abort();
    } MPS_ARGS_END(args);
  }

  while (fr_byte(&in, &op)) {
    mps_word_t words[FR_WORDS], expect[FR_WORDS], calls[FR_WORDS];
    mps_word_t mask, pattern, white, ufs = 0;
    unsigned b, n, i, kind, test;
    size_t ncalls = 0;
    mps_res_t expect_res = MPS_RES_OK, res;
    mps_scan_tag_s tag;

    kind = op % FR_OPS;
    if (!fr_byte(&in, &n))
      break;
    n %= FR_WORDS + 1;
    /* Masks: mostly a few low bits (real tags), sometimes any byte's. */
    if (!fr_byte(&in, &b))
      break;
    mask = (b & 0x80) ? (mps_word_t)(b & 0x7f) : (((mps_word_t)1 << (b % 5)) - 1);
    if (!fr_byte(&in, &b))
      break;
    pattern = (mps_word_t)b & mask;
    if (b & 0x80)
      pattern = (mps_word_t)b & 0x7f;     /* may have bits outside the mask */
    white = fr_word(&in);
    memset(&fr, 0, sizeof fr);
    fr.lo = (mps_word_t)0x40000000u;
    fr.hi = fr.lo + ((mps_word_t)1 << 26);
    if (!fr_byte(&in, &b))
      break;
    fr.splat = (b & 1) != 0;
    fr.delta = (mps_word_t)(b >> 1) << 12;
    if (!fr_byte(&in, &b))
      break;
    fr.fail_at = (b & 0xe0) == 0xe0 ? (size_t)(b & 0x1f) : 0;

    for (i = 0; i < n; ++i) {
      mps_word_t w = fr_word(&in);
      /* Half the words are condemned-looking references with a tag. */
      if (w & 1)
        w = fr.lo + ((w >> 8) & (((mps_word_t)1 << 26) - 1) & ~(mps_word_t)127)
            + ((w >> 1) & 127);
      words[i] = w;
    }

    /* The model. */
    switch (kind) {
    case FR_SCAN_AREA: case FR_ROOT_TABLE:
      test = 0; mask = 0; break;
    case FR_SCAN_MASKED: case FR_ROOT_MASKED:
      test = 0; break;
    case FR_SCAN_TAGGED: case FR_ROOT_TAGGED:
      test = 1; break;
    default:
      test = 2; break;          /* tagged or zero */
    }
    for (i = 0; i < n; ++i) {
      mps_word_t w = words[i], t = w & mask, ref = w ^ t, moved;
      expect[i] = w;
      if (expect_res != MPS_RES_OK)
        continue;
      if (test == 1 && t != pattern)
        continue;
      if (test == 2 && t != pattern && t != 0)
        continue;
      /* A null reference is never fixed and adds no zone (weak.rst:
       * MPS_FIX1 turns it away). */
      if (ref == 0)
        continue;
      ufs |= fr_zone_bit(ref);
      if ((white & fr_zone_bit(ref)) == 0)
        continue;
      calls[ncalls++] = ref;
      if (fr.fail_at != 0 && ncalls == fr.fail_at) {
        expect_res = MPS_RES_FAIL;
        continue;
      }
      moved = (ref >= fr.lo && ref < fr.hi) ? (fr.splat ? 0 : ref + fr.delta) : ref;
      if (moved != ref)
        expect[i] = moved | t;
    }

    /* The implementation. */
    tag.mask = mask;
    tag.pattern = pattern;
    if (kind < FR_ROOT_TABLE) {
      mps_ss_s ss;
      ss._fix = fr_fix;
      ss._zs = FR_ZONE_SHIFT;
      ss._w = white;
      ss._ufs = 0;
      switch (kind) {
      case FR_SCAN_AREA: res = mps_scan_area(&ss, words, words + n, NULL); break;
      case FR_SCAN_MASKED: res = mps_scan_area_masked(&ss, words, words + n, &tag); break;
      case FR_SCAN_TAGGED: res = mps_scan_area_tagged(&ss, words, words + n, &tag); break;
      default: res = mps_scan_area_tagged_or_zero(&ss, words, words + n, &tag); break;
      }
      /* The summary is only complete for a scan that finished. */
      if (res == MPS_RES_OK && ss._ufs != ufs)
        abort();
    } else {
      mps_root_t root;
      scan_state_s ss;
      Rank rank = fr.splat ? RANK_WEAK : RANK_EXACT;
      mps_rank_t mrank = fr.splat ? mps_rank_weak() : mps_rank_exact();
      mps_addr_t *table = (mps_addr_t *)(void *)words;
      switch (kind) {
      case FR_ROOT_TABLE:
        res = mps_root_create_table(&root, fr_arena, mrank, 0, table, n);
        break;
      case FR_ROOT_MASKED:
        res = mps_root_create_table_masked(&root, fr_arena, mrank, 0, table, n, mask);
        break;
      case FR_ROOT_TAGGED:
        res = mps_root_create_table_tagged(&root, fr_arena, mrank, 0, table, n,
                                           mps_scan_area_tagged, mask, pattern);
        break;
      case FR_ROOT_FUN:
        fr_client_tag = tag;
        res = mps_root_create(&root, fr_arena, mrank, 0, fr_root_fun, words, n);
        break;
      case FR_ROOT_FMT:
        fr_client_tag = tag;
        res = mps_root_create_fmt(&root, fr_arena, mrank, 0, fr_root_fmt,
                                  (mps_addr_t)words, (mps_addr_t)(words + n));
        break;
      default:
        res = mps_root_create_area_tagged(&root, fr_arena, mrank, MPS_RM_CONST, words,
                                          words + n, mps_scan_area_tagged_or_zero, mask,
                                          pattern);
        break;
      }
      if (res != MPS_RES_OK)
        abort();
      if (!root_check(root) || root_rank(root) != rank || root_count(fr_arena) != 1)
        abort();
      scan_state_init(&ss, fr_arena, NULL, rank);
      ss.ss_s._fix = fr_fix;
      ss.ss_s._w = white;
      ss.ss_s._ufs = 0;
      res = root_scan(&ss, root);
      if (res == MPS_RES_OK && ss.ss_s._ufs != ufs)
        abort();
      scan_state_finish(&ss);
      mps_root_destroy(root);
      if (root_count(fr_arena) != 0)
        abort();
    }

    if (res != expect_res || fr.ncalls != ncalls)
      abort();
    for (i = 0; i < ncalls; ++i)
      if (fr.calls[i] != calls[i])
        abort();
    for (i = 0; i < n; ++i)
      if (words[i] != expect[i])
        abort();
  }
  return 0;
}
