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
 * root_scan, through a collector scan state.  The model predicts, word
 * by word: whether the word is a candidate (the scanner's tag test), the
 * untagged reference, whether it is in a white zone (so reaches the fix),
 * the fix's answer, and the word stored back (untouched unless the fix
 * changed the reference, else the new reference with the old tag).  The
 * sequence of fix calls, the result, the array and the summary of zones
 * seen must all agree.
 *
 * Thread roots (mps_root_create_thread, _tagged, _scanned, and the
 * deprecated mps_root_create_reg) are made over the fuzzing thread itself,
 * with the cold end inside an array of the operation's own frame that
 * holds the words: the scan covers them and whatever the frames below
 * hold, which nobody can predict.  So the fix moves nothing there (a real
 * stack word might lie in the condemned range) and the model is weaker:
 * every word it says is a candidate in a white zone must reach the fix,
 * anything reaching the fix has no tag bits and is in a white zone, a
 * failing fix stops the scan and is the result, and an area scanner the
 * client provides is given its closure and areas of whole words none of
 * which crosses the cold end, one of them ending there and starting no
 * lower than the scanner's own frame.  A cold end below the stack leaves
 * only the registers to scan.
 *
 * A thread that exited registered is marked dead by a suspension, which
 * reports it; its root then scans as empty.
 *
 * Other operations hold several roots at once (the books: counts, ranks,
 * which roots scan the thread, visiting by rank, refusing to deregister
 * a thread under its roots), walk roots (in arenas with no collector, no
 * segments, or one segment holding an object the table refers to), make
 * roots until a commit limit stops them or the arena refuses one request
 * for memory (arena_fail_after), or commit the client errors root.c
 * reports and refuses.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscams.h"
#include "../src/gc/root.h"
#include "../src/gc/trace.h"
#include "support/reports.h"
#include "support/input.h"

#define FR_WORDS 24

/* The thread operations' frames must really be below their callers'. */
#if defined(__GNUC__) || defined(__clang__)
#define FR_NOINLINE __attribute__((noinline))
#else
#define FR_NOINLINE
#endif


static mps_word_t fr_word(fuzz_input_s *in)
{
  mps_word_t w = 0;
  unsigned b, i;
  for (i = 0; i < sizeof(mps_word_t); ++i) {
    if (!fuzz_input_next(in, &b))
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

static mps_arena_t fr_arena;    /* the arena the roots are made in */

/* The zone of ref.  Zones are the arena's (narrower than 1 MiB in this
 * small arena: gc.c), in the scan states made through it and in those
 * the area scanners are given here alike. */
static mps_word_t fr_zone_bit(mps_word_t ref)
{
  return (mps_word_t)1 << ((ref >> fr_arena->gc->zone_shift) & (MPS_WORD_WIDTH - 1));
}

/* Whether a scanner passes word w to MPS_FIX1, and the reference it
 * passes.  The tag test: every word (test 0, the mask being 0 for the
 * plain scanner), only those whose tag is the pattern (1), or those and
 * untagged ones (2: tagged or zero).  A null reference is never a
 * candidate: it adds no zone and is never fixed (weak.rst: MPS_FIX1
 * turns it away). */
static bool fr_candidate(mps_word_t w, mps_word_t mask, mps_word_t pattern, unsigned test,
                         mps_word_t *ref_o)
{
  mps_word_t t = w & mask;
  if ((test == 1 && t != pattern) || (test == 2 && t != pattern && t != 0))
    return false;
  *ref_o = w ^ t;
  return *ref_o != 0;
}

/* The fix while a thread root is scanned: it sees the real stack, so it
 * only notes which planted candidates came by. */
static struct {
  bool on;
  mps_word_t mask;              /* no reference may keep these bits */
  mps_word_t want[FR_WORDS];
  bool seen[FR_WORDS];
  size_t nwant;
  size_t ncalls, fail_at;
} frt;

static mps_res_t fr_fix_thread(mps_ss_t ss, mps_word_t ref)
{
  size_t i;
  /* MPS_FIX1 passes only a non-null reference in a white zone. */
  if (ref == 0 || (ref & frt.mask) != 0 || (ss->_w & fr_zone_bit(ref)) == 0)
    abort();
  ++frt.ncalls;
  if (frt.fail_at != 0 && frt.ncalls > frt.fail_at)
    abort();                    /* the scan went on after a failure */
  for (i = 0; i < frt.nwant; ++i)
    if (frt.want[i] == ref)
      frt.seen[i] = true;
  return frt.ncalls == frt.fail_at ? MPS_RES_FAIL : MPS_RES_OK;
}

static mps_res_t fr_fix(mps_ss_t ss, mps_addr_t *ref_io)
{
  mps_word_t ref = (mps_word_t)*ref_io;
  if (frt.on)
    return fr_fix_thread(ss, ref);
  if (fr.ncalls >= FR_WORDS)
    abort();                    /* more calls than words */
  fr.calls[fr.ncalls++] = ref;
  if (fr.fail_at != 0 && fr.ncalls == fr.fail_at)
    return MPS_RES_FAIL;
  if (ref >= fr.lo && ref < fr.hi)
    *ref_io = fr.splat ? NULL : (mps_addr_t)(ref + fr.delta);
  return MPS_RES_OK;
}

enum {
  FR_SCAN_AREA, FR_SCAN_MASKED, FR_SCAN_TAGGED, FR_SCAN_TAGGED_OR_ZERO,
  FR_ROOT_TABLE, FR_ROOT_MASKED, FR_ROOT_TAGGED, FR_ROOT_AREA_TAGGED,
  FR_ROOT_FUN, FR_ROOT_FMT, FR_ROOT_AREA,
  FR_THREAD, FR_THREAD_TAGGED, FR_THREAD_SCANNED, FR_REG_AMBIG, FR_REG_CLIENT,
  FR_BOOKS, FR_MISUSE, FR_OPS
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

static mps_thr_t fr_thr;        /* this thread, registered with fr_arena */
static mps_arena_t fr_arena2;   /* another arena ... */
static mps_thr_t fr_thr2;       /* ... and this thread registered with it */
static mps_arena_t fr_arena3;   /* for dead threads and a commit limit */
static mps_arena_t fr_bare;     /* never given a root or thread */
static mps_arena_t fr_nogc;     /* held at its commit limit from the start */

/* A collector scan state of fr_arena for `rank`, fixing with fr_fix and
 * condemning the zones `white`, with a zone summary already gathered
 * (which a root scan must keep); that summary. */
static mps_word_t fr_scan_state(scan_state_s *ss, Rank rank, mps_word_t white)
{
  mps_word_t before = white * (mps_word_t)0x9e3779b97f4a7c15u;
  scan_state_init(ss, fr_arena, NULL, rank);
  ss->ss_s._fix = fr_fix;
  ss->ss_s._w = white;
  ss->ss_s._ufs = before;
  return before;
}

/* A cold end here is below every stack (static storage lies below the
 * stacks on the supported systems), so no stack is scanned. */
static mps_word_t fr_far[2];

/* What an area scanner the client gives a thread root must be given. */
static struct {
  mps_word_t *cold;             /* the root's cold end, aligned down */
  mps_word_t *buf;              /* the planted words, just below it */
  bool far;                     /* cold is fr_far */
  bool tag_closure;             /* the closure is a copy of tag ... */
  mps_scan_tag_s tag;
  void *closure;                /* ... or this */
  mps_area_scan_t inner;        /* what scans the area */
  size_t ncold;                 /* areas ending at the cold end */
} frs;

static mps_res_t fr_thread_area(mps_ss_t ss, void *base, void *limit, void *closure)
{
  volatile mps_word_t here = 0;
  mps_word_t *b = base, *l = limit;
  if (frs.tag_closure) {
    const mps_scan_tag_s *t = closure;
    if (t == NULL || t->mask != frs.tag.mask || t->pattern != frs.tag.pattern)
      abort();
  } else if (closure != frs.closure) {
    abort();
  }
  if (b > l || ((uintptr_t)b | (uintptr_t)l) % sizeof(mps_word_t) != 0)
    abort();
  if (b < frs.cold && l > frs.cold)
    abort();                    /* past the cold end */
  if (l == frs.cold) {
    /* The stack: live frames only, and the planted words. */
    if (frs.far || b > frs.buf || (uintptr_t)b <= (uintptr_t)&here)
      abort();
    ++frs.ncold;
  }
  return frs.inner(ss, base, limit, closure);
}

/* The deprecated register scanner a client gives mps_root_create_reg:
 * either the built-in one, or its own answer without scanning. */
static struct {
  void *p;
  size_t s;
  bool ambig;
  mps_res_t res;
  size_t calls;
} frr;

static mps_res_t fr_reg_scan(mps_ss_t ss, mps_thr_t thr, void *p, size_t s)
{
  if (thr != fr_thr || p != frr.p || s != frr.s)
    abort();
  ++frr.calls;
  if (frr.ambig)
    return mps_stack_scan_ambig(ss, thr, p, s);
  return frr.res;
}

/* Whether the books of fr_arena show `count` roots, of which `per[r]`
 * have rank r, and whether some scan this thread. */
static bool fr_books(Count count, const Count per[RANK_LIMIT], bool thread)
{
  Rank r;
  if (root_count(fr_arena) != count || root_any_thread_root(fr_arena) != thread
      || root_any_of_thread(fr_arena, fr_thr) != thread
      || root_any_of_thread(fr_arena, fr_thr2))
    return false;
  for (r = 0; r < RANK_LIMIT; ++r)
    if (root_any_of_rank(fr_arena, r) != (per[r] != 0))
      return false;
  return true;
}

static const Count fr_books_none[RANK_LIMIT];

/* Make a thread root (or a register root) whose cold end is just above
 * the `n` words planted in this frame, or below the stack, scan it and
 * hold the fix, the client's scanners and the result to the model. */
static FR_NOINLINE void fr_thread_op(fuzz_input_s *in, unsigned kind, unsigned n,
                                     const mps_word_t *words, mps_word_t mask,
                                     mps_word_t pattern, mps_word_t white, size_t fail_at)
{
  volatile mps_word_t buf[FR_WORDS + 1];
  unsigned where = 0, how = 0, i, test = 1;
  mps_area_scan_t scan_area = mps_scan_area_tagged;
  Rank rank = RANK_AMBIG;
  mps_rm_t rm = 0;
  mps_word_t want_ufs = 0, before, ufs, s = white >> 3;
  Count per[RANK_LIMIT] = {0};
  char *cold;
  mps_root_t root;
  scan_state_s ss;
  mps_res_t res;
  bool entered;

  (void)fuzz_input_next(in, &where);
  (void)fuzz_input_next(in, &how);
  memset(&frs, 0, sizeof frs);
  memset(&frr, 0, sizeof frr);
  memset(&frt, 0, sizeof frt);
  for (i = 0; i <= FR_WORDS; ++i)
    buf[i] = i < n ? words[i] : 0;
  frs.far = (where & 0x18) == 0x18;
  /* A cold end inside a word leaves that word out. */
  cold = (frs.far ? (char *)&fr_far[1] : (char *)&buf[n]) + (where & 7);
  frs.cold = frs.far ? &fr_far[1] : (mps_word_t *)&buf[n];
  frs.buf = (mps_word_t *)&buf[0];
  entered = (where & 0x20) != 0;
  if (kind == FR_THREAD_TAGGED || kind == FR_THREAD_SCANNED || kind == FR_REG_CLIENT) {
    rank = (Rank)((where >> 6) % 3);
    if (rank == RANK_FINAL)
      rank = RANK_WEAK;
  }
  if (how & 0x80)
    rm = MPS_RM_CONST;

  switch (kind) {
  case FR_THREAD:
  case FR_REG_AMBIG:
    mask = sizeof(mps_word_t) - 1;
    pattern = 0;
    break;
  case FR_THREAD_TAGGED:
    frs.inner = (how & 1) ? mps_scan_area_tagged_or_zero : mps_scan_area_tagged;
    test = (how & 1) ? 2 : 1;
    frs.tag_closure = true;
    frs.tag.mask = mask;
    frs.tag.pattern = pattern;
    scan_area = (how & 2) ? fr_thread_area : frs.inner;
    break;
  case FR_THREAD_SCANNED:
    switch (how & 3) {
    case 0: frs.inner = mps_scan_area; test = 0; mask = 0; break;
    case 1: frs.inner = mps_scan_area_masked; test = 0; break;
    case 2: frs.inner = mps_scan_area_tagged; break;
    default: frs.inner = mps_scan_area_tagged_or_zero; test = 2; break;
    }
    fr_client_tag.mask = mask;
    fr_client_tag.pattern = pattern;
    frs.closure = &fr_client_tag;
    scan_area = fr_thread_area;
    break;
  default:                      /* FR_REG_CLIENT */
    frr.p = cold;
    frr.s = (size_t)s;
    frr.ambig = rank == RANK_AMBIG && (how & 1) != 0;
    frr.res = (how & 6) == 2   ? MPS_RES_FAIL
              : (how & 6) == 4 ? MPS_RES_MEMORY
                               : MPS_RES_OK;
    mask = sizeof(mps_word_t) - 1;
    pattern = 0;
    break;
  }

  /* The model: the planted candidates in a white zone. */
  frt.mask = mask;
  frt.fail_at = fail_at;
  for (i = 0; i < n && !frs.far; ++i) {
    mps_word_t ref;
    if (!fr_candidate(words[i], mask, pattern, test, &ref))
      continue;
    want_ufs |= fr_zone_bit(ref);
    if ((white & fr_zone_bit(ref)) != 0)
      frt.want[frt.nwant++] = ref;
  }
  if (kind == FR_REG_CLIENT && !frr.ambig) {
    frt.nwant = 0;              /* the client's scanner scans nothing */
    want_ufs = 0;
  }

  switch (kind) {
  case FR_THREAD:
    res = mps_root_create_thread(&root, fr_arena, fr_thr, cold);
    break;
  case FR_THREAD_TAGGED:
    res = mps_root_create_thread_tagged(&root, fr_arena, (mps_rank_t)rank, rm, fr_thr,
                                        scan_area, mask, pattern, cold);
    break;
  case FR_THREAD_SCANNED:
    res = mps_root_create_thread_scanned(&root, fr_arena, (mps_rank_t)rank, rm, fr_thr,
                                         scan_area, &fr_client_tag, cold);
    break;
  case FR_REG_AMBIG:
    res = mps_root_create_reg(&root, fr_arena, mps_rank_ambig(), rm, fr_thr,
                              mps_stack_scan_ambig, cold, (size_t)s);
    break;
  default:
    res = mps_root_create_reg(&root, fr_arena, (mps_rank_t)rank, rm, fr_thr, fr_reg_scan,
                              cold, (size_t)s);
    break;
  }
  if (res != MPS_RES_OK)
    abort();
  per[rank] = 1;
  if (!root_check(root) || root_rank(root) != rank || !fr_books(1, per, true))
    abort();

  before = fr_scan_state(&ss, rank, white);
  frt.on = true;
  /* Scanned from inside the arena, the thread is scanned from where it
   * entered; from outside, from the scan's own frame. */
  if (entered)
    arena_enter(fr_arena);
  res = root_scan(&ss, root);
  if (entered)
    arena_leave(fr_arena);
  frt.on = false;
  ufs = ss.ss_s._ufs;
  scan_state_finish(&ss);
  if ((ufs & before) != before)
    abort();

  if (kind == FR_REG_CLIENT && frr.calls != 1)
    abort();
  if (kind == FR_REG_CLIENT && !frr.ambig) {
    if (res != frr.res || frt.ncalls != 0 || ufs != before)
      abort();
  } else if (frt.fail_at != 0 && frt.ncalls == frt.fail_at) {
    if (res != MPS_RES_FAIL)
      abort();
  } else {
    if (res != MPS_RES_OK || (ufs & want_ufs) != want_ufs)
      abort();
    for (i = 0; i < frt.nwant; ++i)
      if (!frt.seen[i])
        abort();
    /* A client's area scanner saw the stack once, unless it was cut off. */
    if (scan_area == fr_thread_area && frs.ncold != (frs.far ? 0u : 1u))
      abort();
  }
  /* A thread root stores nothing back here: the fix moved nothing. */
  for (i = 0; i < n; ++i)
    if (buf[i] != words[i])
      abort();

  mps_root_destroy(root);
  if (!fr_books(0, fr_books_none, false))
    abort();
}

/* Several roots at once: the books, visiting by rank, walking, and the
 * thread that cannot be deregistered under its roots. */
#define FR_BOOKS_MAX 8

static struct {
  mps_root_t roots[FR_BOOKS_MAX];
  Rank rank[FR_BOOKS_MAX];
  bool thread[FR_BOOKS_MAX];
  bool visited[FR_BOOKS_MAX];
  size_t n;
  Rank want;
  size_t visits, fail_at;
} frb;

static Res fr_books_visit(Root root, void *closure)
{
  size_t i;
  if (closure != &frb || root_rank(root) != frb.want)
    abort();
  for (i = 0; i < frb.n && frb.roots[i] != root; ++i)
    ;
  if (i == frb.n || frb.visited[i])
    abort();                    /* not ours, or twice */
  frb.visited[i] = true;
  ++frb.visits;
  return frb.visits == frb.fail_at ? MPS_RES_MEMORY : MPS_RES_OK;
}

/* fr_arena has no segments, so a walk has nothing to show. */
static void fr_walk_step(mps_addr_t *ref, mps_root_t root, void *p, size_t s)
{
  (void)ref; (void)root; (void)p; (void)s;
  abort();
}

/* A walk of a table root in an arena with one segment: the stepper gets
 * exactly the words that point into it, where they are, and the root.
 * The object is a leaf of two words, the first its size, in an AMS pool
 * of a parked arena, so it stays put. */
static mps_arena_t fr_seg_arena;
static mps_addr_t fr_obj;

static mps_res_t fr_obj_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  (void)ss; (void)base; (void)limit;
  return MPS_RES_OK;
}

static mps_addr_t fr_obj_skip(mps_addr_t p)
{
  return (char *)p + *(mps_word_t *)p;
}

static void fr_obj_pad(mps_addr_t p, size_t size)
{
  *(mps_word_t *)p = size;
}

static void fr_seg_init(void)
{
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t p;
  size_t size = 2 * sizeof(mps_word_t);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 1 << 20);
    if (mps_arena_create_k(&fr_seg_arena, mps_arena_class_vm(), args) != MPS_RES_OK)
      abort();
  } MPS_ARGS_END(args);
  mps_arena_park(fr_seg_arena);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, sizeof(mps_word_t));
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, fr_obj_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, fr_obj_skip);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, fr_obj_pad);
    if (mps_fmt_create_k(&fmt, fr_seg_arena, args) != MPS_RES_OK)
      abort();
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    if (mps_pool_create_k(&pool, fr_seg_arena, mps_class_ams(), args) != MPS_RES_OK)
      abort();
  } MPS_ARGS_END(args);
  if (mps_ap_create_k(&ap, pool, mps_args_none) != MPS_RES_OK)
    abort();
  do {
    if (mps_reserve(&p, ap, size) != MPS_RES_OK)
      abort();
    ((mps_word_t *)p)[0] = size;
    ((mps_word_t *)p)[1] = 0;
  } while (!mps_commit(ap, p, size));
  fr_obj = p;
}

/* The stepper is given the reference itself, not necessarily where the
 * root keeps it (the scanners fix a copy with the tag removed), so it is
 * held to the values: each word into the segment exactly once. */
static struct {
  mps_root_t root;
  size_t want[2], seen[2];      /* words at fr_obj, and inside it */
} frw;

static void fr_walk_seg_step(mps_addr_t *ref, mps_root_t root, void *p, size_t s)
{
  if (p != &frw || s != FR_WORDS || root != frw.root)
    abort();
  if (*ref == fr_obj)
    ++frw.seen[0];
  else if (*ref == (char *)fr_obj + sizeof(mps_word_t))
    ++frw.seen[1];
  else
    abort();
}

static void fr_walk_seg_op(fuzz_input_s *in)
{
  mps_addr_t table[FR_WORDS];
  unsigned b = 0, i;
  bool ambig;
  memset(&frw, 0, sizeof frw);
  (void)fuzz_input_next(in, &b);
  /* Only an ambiguous root may point inside an object. */
  ambig = (b & 0x10) == 0;
  for (i = 0; i < FR_WORDS; ++i) {
    unsigned c = (b + i * 7) % 5;
    if (c == 1 && !ambig)
      c = 0;
    if (c < 2)
      ++frw.want[c];
    table[i] = c == 0 ? fr_obj
             : c == 1 ? (char *)fr_obj + sizeof(mps_word_t)
             : c == 2 ? NULL
             : (mps_addr_t)(uintptr_t)(16 * (i + 1));
  }
  if (mps_root_create_table(&frw.root, fr_seg_arena,
                            ambig ? mps_rank_ambig() : mps_rank_exact(), 0, table,
                            FR_WORDS) != MPS_RES_OK)
    abort();
  mps_arena_roots_walk(fr_seg_arena, fr_walk_seg_step, &frw, FR_WORDS);
  mps_root_destroy(frw.root);
  if (frw.seen[0] != frw.want[0] || frw.seen[1] != frw.want[1])
    abort();
}

/* An arena that never had a root or thread has none to find or walk. */
static Res fr_bare_visit(Root root, void *closure)
{
  (void)root; (void)closure;
  abort();
}

static void fr_bare_op(void)
{
  Rank r;
  if (root_count(fr_bare) != 0 || root_any_thread_root(fr_bare)
      || root_any_of_thread(fr_bare, fr_thr))
    abort();
  for (r = 0; r < RANK_LIMIT; ++r)
    if (root_any_of_rank(fr_bare, r)
        || root_each_of_rank(fr_bare, r, fr_bare_visit, NULL) != MPS_RES_OK)
      abort();
  mps_arena_roots_walk(fr_bare, fr_walk_step, NULL, 0);
}

/* The first root of an arena makes its collector object: if there is no
 * memory for that, the failure is passed on and leaves no root. */
static void fr_nogc_op(mps_word_t *words)
{
  mps_root_t sentinel = (mps_root_t)(void *)&fr_far[0], root = sentinel;
  mps_res_t res = mps_root_create_table(&root, fr_nogc, mps_rank_exact(), 0,
                                        (mps_addr_t *)(void *)words, 1);
  if (res == MPS_RES_OK) {
    mps_root_destroy(root);     /* there was room after all */
    return;
  }
  if (root != sentinel || root_count(fr_nogc) != 0)
    abort();
}

/* Roots until control memory runs out, under a commit limit, or, if
 * `refuse` is not 0, until the arena refuses its refuse-th request for
 * memory (arena_fail_after), which may fall on a root's control block or
 * on memory for the control pool behind it, and so on one of the first
 * `refuse` roots.  Either failure is passed on and leaves no root
 * behind; a refusal is MPS_RES_MEMORY, and the next root is made. */
#define FR_MANY 512
static mps_root_t fr_many[FR_MANY];

static void fr_limit_op(mps_word_t *words, unsigned refuse)
{
  mps_root_t sentinel = (mps_root_t)(void *)&fr_far[0], root = sentinel;
  mps_res_t res = MPS_RES_OK;
  size_t n = 0, i;
  if (refuse != 0)
    arena_fail_after((Arena)fr_arena3, refuse);
  else if (mps_arena_commit_limit_set(fr_arena3, mps_arena_committed(fr_arena3)) != MPS_RES_OK)
    abort();
  while (n < FR_MANY) {
    res = mps_root_create_table(&root, fr_arena3, mps_rank_exact(), 0,
                                (mps_addr_t *)(void *)words, 1);
    if (res != MPS_RES_OK)
      break;
    fr_many[n++] = root;
    root = sentinel;
  }
  if (res != MPS_RES_OK && (root != sentinel || root_count(fr_arena3) != n))
    abort();
  if (refuse != 0) {
    if (res != MPS_RES_MEMORY || n >= refuse)
      abort();
    /* The refusal was the only one. */
    res = mps_root_create_table(&root, fr_arena3, mps_rank_exact(), 0,
                                (mps_addr_t *)(void *)words, 1);
    if (res != MPS_RES_OK || root_count(fr_arena3) != n + 1)
      abort();
    fr_many[n++] = root;
  }
  for (i = 0; i < n; ++i)
    mps_root_destroy(fr_many[i]);
  if (root_count(fr_arena3) != 0
      || mps_arena_commit_limit_set(fr_arena3, (size_t)-1) != MPS_RES_OK)
    abort();
}

/* A thread that exited registered: the suspension reports it, and its
 * root then scans as empty instead of failing the collection. */
static void *fr_dead_main(void *p)
{
  mps_thr_t *thr_o = p;
  if (mps_thread_reg(thr_o, fr_arena3) != MPS_RES_OK)
    *thr_o = NULL;
  return NULL;
}

static bool fr_dead_done;

static void fr_dead_op(void)
{
  volatile mps_word_t local[2] = {0, 0};
  mps_thr_t thr = NULL;
  mps_root_t root;
  scan_state_s ss;
  pthread_t t;
  unsigned reports = fuzz_reports_count;
  Res res;
  if (pthread_create(&t, NULL, fr_dead_main, &thr) != 0 || pthread_join(t, NULL) != 0
      || thr == NULL)
    abort();
  if (mps_root_create_thread(&root, fr_arena3, thr, (void *)&local[1]) != MPS_RES_OK)
    abort();
  if (thread_suspend_all(&gc_of(fr_arena3)->threads) != MPS_RES_FAIL
      || fuzz_reports_count == reports || !thread_is_dead(thr->thread))
    abort();
  memset(&frt, 0, sizeof frt);
  scan_state_init(&ss, fr_arena3, NULL, RANK_AMBIG);
  ss.ss_s._fix = fr_fix;
  ss.ss_s._w = ZONE_SET_UNIV;
  ss.ss_s._ufs = 0;
  frt.on = true;
  res = root_scan(&ss, root);
  frt.on = false;
  if (res != MPS_RES_OK || frt.ncalls != 0 || ss.ss_s._ufs != 0)
    abort();
  scan_state_finish(&ss);
  mps_root_destroy(root);
  mps_thread_dereg(thr);
  if (root_count(fr_arena3) != 0)
    abort();
}

static FR_NOINLINE void fr_books_op(fuzz_input_s *in, mps_word_t *words, unsigned n)
{
  volatile mps_word_t local[2] = {0, 0};
  Count per[RANK_LIMIT] = {0};
  size_t nthread = 0, i;
  unsigned b = 0, k, r;
  mps_lib_assert_fail_t old;

  memset(&frb, 0, sizeof frb);
  (void)fuzz_input_next(in, &b);
  if (b & 0x80) {
    fr_bare_op();
    fr_walk_seg_op(in);
    fr_nogc_op(words);
    /* Bit 6 asks for a refusal instead of a commit limit; bits 3 to 5
     * say which request. */
    fr_limit_op(words, (b & 0x40) ? 1 + ((b >> 3) & 7) : 0);
  }
  for (k = 1 + b % FR_BOOKS_MAX; frb.n < k;) {
    mps_root_t root;
    mps_res_t res;
    Rank rank = RANK_AMBIG;
    bool thread = false;
    unsigned c = 0;
    (void)fuzz_input_next(in, &c);
    switch (c % 5) {
    case 0: case 1: case 2:
      rank = c % 5 == 2 ? RANK_WEAK : (Rank)(c % 5);
      res = mps_root_create_table(&root, fr_arena, (mps_rank_t)rank, 0,
                                  (mps_addr_t *)(void *)words, n);
      break;
    case 3:
      thread = true;
      res = mps_root_create_thread(&root, fr_arena, fr_thr, (void *)&local[1]);
      break;
    default:
      thread = true;
      res = mps_root_create_reg(&root, fr_arena, mps_rank_ambig(), 0, fr_thr,
                                mps_stack_scan_ambig, (void *)&local[1], 0);
      break;
    }
    if (res != MPS_RES_OK)
      abort();
    frb.roots[frb.n] = root;
    frb.rank[frb.n] = rank;
    frb.thread[frb.n] = thread;
    ++frb.n;
    ++per[rank];
    nthread += thread;
    if (!fr_books(frb.n, per, nthread != 0))
      abort();
  }

  for (r = 0; r < RANK_LIMIT; ++r) {
    Res res;
    size_t expect;
    bool failed;
    b = 0;
    (void)fuzz_input_next(in, &b);
    frb.want = r;
    frb.visits = 0;
    frb.fail_at = b % (FR_BOOKS_MAX + 2);
    memset(frb.visited, 0, sizeof frb.visited);
    res = root_each_of_rank(fr_arena, r, fr_books_visit, &frb);
    failed = frb.fail_at != 0 && frb.fail_at <= per[r];
    expect = failed ? frb.fail_at : per[r];
    if (frb.visits != expect || res != (failed ? MPS_RES_MEMORY : MPS_RES_OK))
      abort();
  }

  mps_arena_roots_walk(fr_arena, fr_walk_step, NULL, 0);

  if (nthread != 0) {
    old = fuzz_reports_begin();
    mps_thread_dereg(fr_thr);
    if (fuzz_reports_end(old) == 0 || !thr_check(fr_thr))
      abort();
  }

  while (frb.n > 0) {
    b = 0;
    (void)fuzz_input_next(in, &b);
    i = b % frb.n;
    mps_root_destroy(frb.roots[i]);
    --per[frb.rank[i]];
    nthread -= frb.thread[i];
    --frb.n;
    frb.roots[i] = frb.roots[frb.n];
    frb.rank[i] = frb.rank[frb.n];
    frb.thread[i] = frb.thread[frb.n];
    if (!fr_books(frb.n, per, nthread != 0))
      abort();
  }
}

static mps_res_t fr_fmt_none(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  (void)ss; (void)base; (void)limit;
  return MPS_RES_OK;
}

/* A client error root.c reports and refuses: MPS_RES_PARAM, no root, and
 * the root handle untouched. */
static FR_NOINLINE void fr_misuse_op(fuzz_input_s *in, mps_word_t *words)
{
  mps_root_t sentinel = (mps_root_t)(void *)&fr_far[0], root = sentinel;
  volatile mps_word_t local[2] = {0, 0};
  void *cold = (void *)&local[1];
  mps_addr_t *table = (mps_addr_t *)(void *)words;
  char *w = (char *)words;
  size_t huge = (size_t)((UINTPTR_MAX - (uintptr_t)words) / sizeof(mps_addr_t)) + 1;
  mps_thr_s fake;
  mps_rank_t exact = mps_rank_exact();
  mps_res_t res = MPS_RES_OK;
  mps_lib_assert_fail_t old;
  unsigned b;

  if (!fuzz_input_next(in, &b))
    return;
  memset(&fake, 0, sizeof fake);
  old = fuzz_reports_begin();
  switch (b % 30) {
  case 0: res = mps_root_create_table(NULL, fr_arena, exact, 0, table, 1); break;
  case 1:
    res = mps_root_create_table(&root, fr_arena, (mps_rank_t)RANK_FINAL, 0, table, 1);
    break;
  case 2:
    res = mps_root_create_table(&root, fr_arena, (mps_rank_t)(7 + b), 0, table, 1);
    break;
  case 3:
    res = mps_root_create_table(&root, fr_arena, exact, (mps_rm_t)1 << (3 + b % 8), table,
                                1);
    break;
  case 4:
    res = mps_root_create_area(&root, fr_arena, exact, 0, NULL, NULL, mps_scan_area,
                               NULL);
    break;
  case 5:
    res = mps_root_create_area(&root, fr_arena, exact, 0, words + 1, words, mps_scan_area,
                               NULL);
    break;
  case 6:
    res = mps_root_create_area(&root, fr_arena, exact, 0, w + 1 + b % 7, words + 2,
                               mps_scan_area, NULL);
    break;
  case 7:
    res = mps_root_create_area_tagged(&root, fr_arena, exact, 0, words, w + 9 + b % 7,
                                      mps_scan_area_tagged, 7, 0);
    break;
  case 8:
    res = mps_root_create_area(&root, fr_arena, exact, 0, words, words + 1, NULL, NULL);
    break;
  case 9: res = mps_root_create_table(&root, fr_arena, exact, 0, NULL, 1); break;
  case 10: res = mps_root_create_table(&root, fr_arena, exact, 0, table, huge); break;
  case 11:
    res = mps_root_create_table_masked(&root, fr_arena, exact, 0, table, huge, 7);
    break;
  case 12:
    res = mps_root_create_table_tagged(&root, fr_arena, exact, 0, table, huge,
                                       mps_scan_area_tagged, 7, 0);
    break;
  case 13:
    res = mps_root_create_fmt(&root, fr_arena, exact, 0, NULL, words, words + 1);
    break;
  case 14:
    res = mps_root_create_fmt(&root, fr_arena, exact, 0, fr_fmt_none, NULL, words);
    break;
  case 15:
    res = mps_root_create_fmt(&root, fr_arena, exact, 0, fr_fmt_none, w + 1 + b % 8,
                              words);
    break;
  case 16: res = mps_root_create_thread(&root, fr_arena, NULL, cold); break;
  case 17: res = mps_root_create_thread(&root, fr_arena, &fake, cold); break;
  case 18: res = mps_root_create_thread(&root, fr_arena, fr_thr, NULL); break;
  case 19:
    res = mps_root_create_thread_tagged(&root, fr_arena, exact, 0, fr_thr, NULL, 7, 0,
                                        cold);
    break;
  case 20:
    res = mps_root_create_thread_scanned(&root, fr_arena, exact, 0, fr_thr2,
                                         fr_thread_area, NULL, cold);
    break;
  case 21:
    res = mps_root_create_thread_tagged(&root, fr_arena, (mps_rank_t)RANK_FINAL, 0,
                                        fr_thr, mps_scan_area_tagged, 7, 0, cold);
    break;
  case 22:
    res = mps_root_create_reg(&root, fr_arena, exact, 0, fr_thr, NULL, cold, 0);
    break;
  case 23:
    res = mps_root_create_reg(&root, fr_arena, exact, 0, fr_thr, mps_stack_scan_ambig,
                              cold, 0);
    break;
  case 24:
    res = mps_root_create_reg(&root, fr_arena, mps_rank_ambig(), 0, fr_thr,
                              mps_stack_scan_ambig, NULL, 0);
    break;
  case 25:
    res = mps_root_create_reg(&root, fr_arena, mps_rank_ambig(), 0, fr_thr2,
                              mps_stack_scan_ambig, cold, 0);
    break;
  case 26:
    res = mps_root_create_reg(&root, fr_arena, mps_rank_ambig(), 0, &fake, fr_reg_scan,
                              cold, 0);
    break;
  case 27: res = mps_root_create(&root, fr_arena, exact, 0, NULL, words, 1); break;
  case 28:
    /* A thread costs a millisecond or two: one per input. */
    if (!fr_dead_done) {
      fr_dead_done = true;
      fr_dead_op();
      res = MPS_RES_PARAM;
      break;
    }
    /* fall through */
  default: {
    /* Destroyed twice: the second is reported and ignored. */
    mps_root_t r;
    (void)fuzz_reports_end(old);
    if (mps_root_create_table(&r, fr_arena, exact, 0, table, 1) != MPS_RES_OK)
      abort();
    mps_root_destroy(r);
    old = fuzz_reports_begin();
    mps_root_destroy(r);
    res = MPS_RES_PARAM;
    break;
  }
  }
  if (fuzz_reports_end(old) == 0 || res != MPS_RES_PARAM || root != sentinel
      || !fr_books(0, fr_books_none, false))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_input_s in = {data, size};
  unsigned op;

  fr_dead_done = false;

  if (fr_arena == NULL) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 1 << 20);
      if (mps_arena_create_k(&fr_arena, mps_arena_class_vm(), args) != MPS_RES_OK
          || mps_arena_create_k(&fr_arena2, mps_arena_class_vm(), args) != MPS_RES_OK
          || mps_arena_create_k(&fr_arena3, mps_arena_class_vm(), args) != MPS_RES_OK
          || mps_arena_create_k(&fr_bare, mps_arena_class_vm(), args) != MPS_RES_OK
          || mps_arena_create_k(&fr_nogc, mps_arena_class_vm(), args) != MPS_RES_OK)
        abort();
    } MPS_ARGS_END(args);
    if (mps_thread_reg(&fr_thr, fr_arena) != MPS_RES_OK
        || mps_thread_reg(&fr_thr2, fr_arena2) != MPS_RES_OK)
      abort();
    /* Walking roots wants the arena parked; nothing here collects. */
    mps_arena_park(fr_arena);
    mps_arena_park(fr_bare);
    fr_seg_init();
    if (mps_arena_commit_limit_set(fr_nogc, mps_arena_committed(fr_nogc)) != MPS_RES_OK)
      abort();
  }

  while (fuzz_input_next(&in, &op)) {
    mps_word_t words[FR_WORDS], expect[FR_WORDS], calls[FR_WORDS];
    mps_word_t mask, pattern, white, ufs = 0;
    unsigned b, n, i, kind, test;
    size_t ncalls = 0;
    mps_res_t expect_res = MPS_RES_OK, res;
    mps_scan_tag_s tag;

    kind = op % FR_OPS;
    if (!fuzz_input_next(&in, &n))
      break;
    n %= FR_WORDS + 1;
    /* Masks: mostly a few low bits (real tags), sometimes any byte's. */
    if (!fuzz_input_next(&in, &b))
      break;
    mask = (b & 0x80) ? (mps_word_t)(b & 0x7f) : (((mps_word_t)1 << (b % 5)) - 1);
    if (!fuzz_input_next(&in, &b))
      break;
    pattern = (mps_word_t)b & mask;
    if (b & 0x80)
      pattern = (mps_word_t)b & 0x7f;     /* may have bits outside the mask */
    white = fr_word(&in);
    memset(&fr, 0, sizeof fr);
    fr.lo = (mps_word_t)0x40000000u;
    fr.hi = fr.lo + ((mps_word_t)1 << 26);
    if (!fuzz_input_next(&in, &b))
      break;
    fr.splat = (b & 1) != 0;
    fr.delta = (mps_word_t)(b >> 1) << 12;
    if (!fuzz_input_next(&in, &b))
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

    if (kind >= FR_BOOKS) {
      if (kind == FR_BOOKS)
        fr_books_op(&in, words, n);
      else
        fr_misuse_op(&in, words);
      continue;
    }
    if (kind >= FR_THREAD) {
      fr_thread_op(&in, kind, n, words, mask, pattern, white, fr.fail_at);
      continue;
    }

    /* The model. */
    switch (kind) {
    case FR_SCAN_AREA: case FR_ROOT_TABLE:
      test = 0; mask = 0; break;
    case FR_SCAN_MASKED: case FR_ROOT_MASKED:
      test = 0; break;
    case FR_SCAN_TAGGED: case FR_ROOT_TAGGED: case FR_ROOT_AREA:
      test = 1; break;
    default:
      test = 2; break;          /* tagged or zero */
    }
    for (i = 0; i < n; ++i) {
      mps_word_t w = words[i], t = w & mask, ref, moved;
      expect[i] = w;
      if (expect_res != MPS_RES_OK || !fr_candidate(w, mask, pattern, test, &ref))
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
      ss._zs = fr_arena->gc->zone_shift;
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
      Count per[RANK_LIMIT] = {0};
      mps_word_t before;
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
      case FR_ROOT_AREA:
        /* The client's closure, which it keeps: its tag. */
        fr_client_tag = tag;
        res = mps_root_create_area(&root, fr_arena, mrank, 0, words, words + n,
                                   mps_scan_area_tagged, &fr_client_tag);
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
      per[rank] = 1;
      if (!fr_books(1, per, false))
        abort();
      /* What the scan state had gathered before the root stays. */
      before = fr_scan_state(&ss, rank, white);
      res = root_scan(&ss, root);
      if (res == MPS_RES_OK ? ss.ss_s._ufs != (ufs | before)
                            : (ss.ss_s._ufs & before) != before)
        abort();
      scan_state_finish(&ss);
      mps_root_destroy(root);
      if (!fr_books(0, fr_books_none, false))
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
