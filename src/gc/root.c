/* root.c: roots -- creating and destroying them, scanning them for the
 * tracer, walking them for the client, and the area scanners clients use
 * in their own roots and formats (root.h; manual/topic/root.rst,
 * manual/topic/scanning.rst, manual/topic/deprecated.rst; design/root.txt,
 * design/scan.txt, design/stack-scan.txt).
 *
 * Every way of making a root reduces to one of five varieties:
 *   area    words [base, limit) scanned by an area scanner with a closure
 *           (tables, masked tables, tagged tables and areas; the tag of a
 *           tagged root lives in the root, so its closure stays valid);
 *   fmt     a block of formatted objects scanned by a format scan method;
 *   thread  a registered thread's registers and stack, up to the cold end
 *           the client named, scanned by an area scanner;
 *   reg     the deprecated thread root with a client mps_reg_scan_t;
 *   fun     the deprecated root with a client mps_root_scan_t.
 *
 * Invariants (root_check):
 *   1. the signature is ROOT_SIG and the arena is genuine;
 *   2. the root is on its arena's root ring;
 *   3. the rank is ambiguous, exact or weak (RANK_FINAL is internal);
 *   4. the mode has only MPS_RM_CONST, MPS_RM_PROT, MPS_RM_PROT_INNER;
 *   5. area roots: base <= limit, both word-aligned, a scanner;
 *      fmt roots: base <= limit, a scan method;
 *      thread and reg roots: a genuine registered thread and a scanner.
 */

#include "root.h"
#include "seg.h"
#include "trace.h"

typedef enum root_var_e {
  ROOT_AREA,
  ROOT_FMT,
  ROOT_THREAD,
  ROOT_REG,
  ROOT_FUN
} RootVar;

typedef struct mps_root_s {
  Sig sig;
  Arena arena;
  struct ring_s gc_ring;        /* in gc->root_ring */
  Count serial;
  Rank rank;
  /* Checked and kept, but protects nothing: every collection scans every
   * root (docs/user-guide.md, "Where mps11 departs from the manual"). */
  mps_rm_t mode;
  RootVar var;
  union {
    struct {
      Word *base, *limit;
      mps_area_scan_t scan;
      void *closure;            /* the client's, or &tag */
      mps_scan_tag_s tag;
    } area;
    struct {
      mps_fmt_scan_t scan;
      Addr base, limit;
    } fmt;
    struct {
      Thr thr;
      mps_area_scan_t scan;
      void *closure;            /* the client's, or &tag */
      mps_scan_tag_s tag;
      Word *cold;               /* the client's cold end */
    } thread;
    struct {
      Thr thr;
      mps_reg_scan_t scan;
      void *p;
      size_t s;
    } reg;
    struct {
      mps_root_scan_t scan;
      void *p;
      size_t s;
    } fun;
  } the;
} mps_root_s;

#define ROOT_MODES (MPS_RM_CONST | MPS_RM_PROT | MPS_RM_PROT_INNER)

static inline bool root_rank_ok(Rank rank)
{
  return rank == RANK_AMBIG || rank == RANK_EXACT || rank == RANK_WEAK;
}

static inline bool root_word_aligned(const void *p)
{
  return ((uintptr_t)p & (sizeof(Word) - 1)) == 0;
}

bool root_check(Root root)
{
  CHECKS(ROOT_SIG, root);                                          /* 1 */
  CHECKU(ARENA_SIG, root->arena);
  CHECKL(!ring_is_single(&root->gc_ring));                         /* 2 */
  CHECKL(root_rank_ok(root->rank));                                /* 3 */
  CHECKL((root->mode & ~(mps_rm_t)ROOT_MODES) == 0);               /* 4 */
  switch (root->var) {                                             /* 5 */
  case ROOT_AREA:
    CHECKL(root->the.area.base <= root->the.area.limit);
    CHECKL(root_word_aligned(root->the.area.base));
    CHECKL(root_word_aligned(root->the.area.limit));
    CHECKL(root->the.area.scan != NULL);
    break;
  case ROOT_FMT:
    CHECKL(addr_word(root->the.fmt.base) <= addr_word(root->the.fmt.limit));
    CHECKL(root->the.fmt.scan != NULL);
    break;
  case ROOT_THREAD:
    CHECKU(THR_SIG, root->the.thread.thr);
    CHECKL(root->the.thread.scan != NULL);
    break;
  case ROOT_REG:
    CHECKU(THR_SIG, root->the.reg.thr);
    CHECKL(root->the.reg.scan != NULL);
    break;
  case ROOT_FUN:
    CHECKL(root->the.fun.scan != NULL);
    break;
  default:
    CHECKL(false);
  }
  return true;
}

Rank root_rank(Root root)
{
  AVERT(root, root);
  return root->rank;
}

/* ---- Creating and destroying ------------------------------------------ */

/* Make a root from `proto`, whose variety fields the caller has filled
 * in; the generic fields are set here.  Client errors in the common
 * arguments are reported and refused; the variety's own were checked by
 * the caller. */
static mps_res_t root_create(mps_root_t *root_o, mps_arena_t arena, mps_rank_t rank,
                             mps_rm_t mode, const mps_root_s *proto)
{
  GC gc;
  Root root;
  void *p;
  Res res;

  AVER(root_o != NULL);
  AVER(root_rank_ok((Rank)rank));
  AVER((mode & ~(mps_rm_t)ROOT_MODES) == 0);
  /* A root the collector cannot scan would crash the next collection, so
   * after the report it is refused (user-guide.md, varieties). */
  if (root_o == NULL || !root_rank_ok((Rank)rank) || (mode & ~(mps_rm_t)ROOT_MODES) != 0)
    return MPS_RES_PARAM;
  arena_enter(arena);
  if (proto->var == ROOT_THREAD)
    AVER(proto->the.thread.thr->arena == arena);
  if (proto->var == ROOT_REG)
    AVER(proto->the.reg.thr->arena == arena);
  if ((proto->var == ROOT_THREAD && proto->the.thread.thr->arena != arena)
      || (proto->var == ROOT_REG && proto->the.reg.thr->arena != arena)) {
    res = MPS_RES_PARAM;
    goto fail;
  }
  res = gc_get(&gc, arena);
  if (res != MPS_RES_OK)
    goto fail;
  res = arena_control_alloc(&p, arena, sizeof(mps_root_s));
  if (res != MPS_RES_OK)
    goto fail;
  root = p;
  *root = *proto;
  root->arena = arena;
  ring_init(&root->gc_ring);
  root->serial = gc->root_serial++;
  root->rank = (Rank)rank;
  root->mode = mode;
  /* A tag kept in the root is the closure of its scanner: point at the
   * copy in the root, not at the caller's prototype. */
  if (root->var == ROOT_AREA && proto->the.area.closure == &proto->the.area.tag)
    root->the.area.closure = &root->the.area.tag;
  if (root->var == ROOT_THREAD && proto->the.thread.closure == &proto->the.thread.tag)
    root->the.thread.closure = &root->the.thread.tag;
  ring_append(&gc->root_ring, &root->gc_ring);
  ++gc->roots_count;
  root->sig = ROOT_SIG;
  AVERT(root, root);
  arena_leave(arena);
  *root_o = root;
  return MPS_RES_OK;

fail:
  arena_leave(arena);
  return res;
}

static void root_proto_init(mps_root_s *proto, RootVar var)
{
  mem_set(proto, 0, sizeof *proto);
  proto->var = var;
}

static mps_res_t root_create_area_common(mps_root_t *root_o, mps_arena_t arena,
                                         mps_rank_t rank, mps_rm_t mode, void *base,
                                         void *limit, mps_area_scan_t scan_area,
                                         void *closure, const mps_scan_tag_s *tag)
{
  mps_root_s proto;
  AVER(base != NULL);
  AVER((char *)base <= (char *)limit);
  AVER(root_word_aligned(base));
  AVER(root_word_aligned(limit));
  AVER(scan_area != NULL);
  if (base == NULL || (char *)base > (char *)limit || !root_word_aligned(base)
      || !root_word_aligned(limit) || scan_area == NULL)
    return MPS_RES_PARAM;
  root_proto_init(&proto, ROOT_AREA);
  proto.the.area.base = base;
  proto.the.area.limit = limit;
  proto.the.area.scan = scan_area;
  if (tag != NULL) {
    proto.the.area.tag = *tag;
    proto.the.area.closure = &proto.the.area.tag;
  } else {
    proto.the.area.closure = closure;
  }
  return root_create(root_o, arena, rank, mode, &proto);
}

mps_res_t mps_root_create_area(mps_root_t *root_o, mps_arena_t arena, mps_rank_t rank,
                               mps_rm_t rm, void *base, void *limit,
                               mps_area_scan_t scan_area, void *closure)
{
  return root_create_area_common(root_o, arena, rank, rm, base, limit, scan_area,
                                 closure, NULL);
}

mps_res_t mps_root_create_area_tagged(mps_root_t *root_o, mps_arena_t arena,
                                      mps_rank_t rank, mps_rm_t rm, void *base,
                                      void *limit, mps_area_scan_t scan_area,
                                      mps_word_t mask, mps_word_t pattern)
{
  mps_scan_tag_s tag;
  tag.mask = mask;
  tag.pattern = pattern;
  return root_create_area_common(root_o, arena, rank, rm, base, limit, scan_area,
                                 NULL, &tag);
}

/* The limit of a table of `count` words at `base`, or NULL (after a
 * report) if the table is absent or would run past the end of memory:
 * forming that limit would be undefined, so it is checked first. */
static mps_addr_t *root_table_limit(mps_addr_t *base, size_t count)
{
  AVER(base != NULL);
  AVER(count <= (UINTPTR_MAX - (uintptr_t)base) / sizeof(mps_addr_t));
  if (base == NULL || count > (UINTPTR_MAX - (uintptr_t)base) / sizeof(mps_addr_t))
    return NULL;
  return base + count;
}

mps_res_t mps_root_create_table(mps_root_t *root_o, mps_arena_t arena, mps_rank_t rank,
                                mps_rm_t rm, mps_addr_t *base, size_t count)
{
  mps_addr_t *limit = root_table_limit(base, count);
  if (limit == NULL)
    return MPS_RES_PARAM;
  return root_create_area_common(root_o, arena, rank, rm, base, limit,
                                 mps_scan_area, NULL, NULL);
}

mps_res_t mps_root_create_table_masked(mps_root_t *root_o, mps_arena_t arena,
                                       mps_rank_t rank, mps_rm_t rm, mps_addr_t *base,
                                       size_t count, mps_word_t mask)
{
  mps_scan_tag_s tag;
  mps_addr_t *limit = root_table_limit(base, count);
  if (limit == NULL)
    return MPS_RES_PARAM;
  tag.mask = mask;
  tag.pattern = 0;
  return root_create_area_common(root_o, arena, rank, rm, base, limit,
                                 mps_scan_area_masked, NULL, &tag);
}

mps_res_t mps_root_create_table_tagged(mps_root_t *root_o, mps_arena_t arena,
                                       mps_rank_t rank, mps_rm_t rm, mps_addr_t *base,
                                       size_t count, mps_area_scan_t scan_area,
                                       mps_word_t mask, mps_word_t pattern)
{
  mps_scan_tag_s tag;
  mps_addr_t *limit = root_table_limit(base, count);
  if (limit == NULL)
    return MPS_RES_PARAM;
  tag.mask = mask;
  tag.pattern = pattern;
  return root_create_area_common(root_o, arena, rank, rm, base, limit,
                                 scan_area, NULL, &tag);
}

mps_res_t mps_root_create_fmt(mps_root_t *root_o, mps_arena_t arena, mps_rank_t rank,
                              mps_rm_t rm, mps_fmt_scan_t fmt_scan, mps_addr_t base,
                              mps_addr_t limit)
{
  mps_root_s proto;
  AVER(fmt_scan != NULL);
  AVER(base != NULL);
  AVER((char *)base <= (char *)limit);
  if (fmt_scan == NULL || base == NULL || (char *)base > (char *)limit)
    return MPS_RES_PARAM;
  root_proto_init(&proto, ROOT_FMT);
  proto.the.fmt.scan = fmt_scan;
  proto.the.fmt.base = addr_of_ptr(base);
  proto.the.fmt.limit = addr_of_ptr(limit);
  return root_create(root_o, arena, rank, rm, &proto);
}

static mps_res_t root_create_thread_common(mps_root_t *root_o, mps_arena_t arena,
                                           mps_rank_t rank, mps_rm_t mode, mps_thr_t thr,
                                           mps_area_scan_t scan_area, void *closure,
                                           const mps_scan_tag_s *tag, void *cold)
{
  mps_root_s proto;
  AVER(thr != NULL && thr->sig == THR_SIG);
  AVER(scan_area != NULL);
  AVER(cold != NULL);
  if (thr == NULL || thr->sig != THR_SIG || scan_area == NULL || cold == NULL)
    return MPS_RES_PARAM;
  root_proto_init(&proto, ROOT_THREAD);
  proto.the.thread.thr = thr;
  proto.the.thread.scan = scan_area;
  if (tag != NULL) {
    proto.the.thread.tag = *tag;
    proto.the.thread.closure = &proto.the.thread.tag;
  } else {
    proto.the.thread.closure = closure;
  }
  /* A word that straddles the cold end is not wholly on the stack. */
  proto.the.thread.cold = (Word *)(void *)((uintptr_t)cold & ~(uintptr_t)(sizeof(Word) - 1));
  return root_create(root_o, arena, rank, mode, &proto);
}

mps_res_t mps_root_create_thread(mps_root_t *root_o, mps_arena_t arena, mps_thr_t thr,
                                 void *cold)
{
  /* root.rst: the same as the tagged form with the low bits of a word as
   * the mask and zero as the pattern, so only aligned words are
   * references (as mps_stack_scan_ambig). */
  mps_scan_tag_s tag;
  tag.mask = sizeof(mps_word_t) - 1;
  tag.pattern = 0;
  return root_create_thread_common(root_o, arena, (mps_rank_t)RANK_AMBIG, 0, thr,
                                   mps_scan_area_tagged, NULL, &tag, cold);
}

mps_res_t mps_root_create_thread_tagged(mps_root_t *root_o, mps_arena_t arena,
                                        mps_rank_t rank, mps_rm_t rm, mps_thr_t thr,
                                        mps_area_scan_t scan_area, mps_word_t mask,
                                        mps_word_t pattern, void *cold)
{
  mps_scan_tag_s tag;
  tag.mask = mask;
  tag.pattern = pattern;
  return root_create_thread_common(root_o, arena, rank, rm, thr, scan_area, NULL, &tag,
                                   cold);
}

mps_res_t mps_root_create_thread_scanned(mps_root_t *root_o, mps_arena_t arena,
                                         mps_rank_t rank, mps_rm_t rm, mps_thr_t thr,
                                         mps_area_scan_t scan_area, void *closure,
                                         void *cold)
{
  return root_create_thread_common(root_o, arena, rank, rm, thr, scan_area, closure,
                                   NULL, cold);
}

mps_res_t mps_root_create_reg(mps_root_t *root_o, mps_arena_t arena, mps_rank_t rank,
                              mps_rm_t rm, mps_thr_t thr, mps_reg_scan_t reg_scan,
                              void *p, size_t s)
{
  mps_root_s proto;
  AVER(thr != NULL && thr->sig == THR_SIG);
  AVER(reg_scan != NULL);
  /* The built-in scanner treats every word as a possible reference, so
   * it can only serve an ambiguous root; its p is the cold end. */
  AVER(reg_scan != mps_stack_scan_ambig || ((Rank)rank == RANK_AMBIG && p != NULL));
  if (thr == NULL || thr->sig != THR_SIG || reg_scan == NULL
      || (reg_scan == mps_stack_scan_ambig && ((Rank)rank != RANK_AMBIG || p == NULL)))
    return MPS_RES_PARAM;
  root_proto_init(&proto, ROOT_REG);
  proto.the.reg.thr = thr;
  proto.the.reg.scan = reg_scan;
  proto.the.reg.p = p;
  proto.the.reg.s = s;
  return root_create(root_o, arena, rank, rm, &proto);
}

mps_res_t mps_root_create(mps_root_t *root_o, mps_arena_t arena, mps_rank_t rank,
                          mps_rm_t rm, mps_root_scan_t root_scan, void *p, size_t s)
{
  mps_root_s proto;
  AVER(root_scan != NULL);
  if (root_scan == NULL)
    return MPS_RES_PARAM;
  root_proto_init(&proto, ROOT_FUN);
  proto.the.fun.scan = root_scan;
  proto.the.fun.p = p;
  proto.the.fun.s = s;
  return root_create(root_o, arena, rank, rm, &proto);
}

void mps_root_destroy(mps_root_t root)
{
  Arena arena;
  GC gc;
  AVER(root != NULL && root->sig == ROOT_SIG);
  /* Destroyed already: reported, and the stale handle is left alone. */
  if (root == NULL || root->sig != ROOT_SIG)
    return;
  arena = root->arena;
  arena_enter(arena);
  AVERT(root, root);
  gc = gc_of(arena);
  AVER(gc != NULL && gc->roots_count > 0);
  /* Roots are scanned only inside a collection, which runs within one
   * arena entry, so no scan can be using this one now. */
  AVER(!gc->in_collection);
  root->sig = SIG_INVALID;
  ring_remove(&root->gc_ring);
  ring_finish(&root->gc_ring);
  --gc->roots_count;
  arena_control_free(arena, root, sizeof(mps_root_s));
  arena_leave(arena);
}

/* ---- Area scanners (scanning.rst) ------------------------------------- */

/* The scanners read thread stacks and registers word by word, including
 * the redzones AddressSanitizer puts between locals: as a conservative
 * collector must, so they are exempt from its checks. */
#if defined(__GNUC__) || defined(__clang__)
#define ROOT_SCAN_UNCHECKED __attribute__((no_sanitize_address))
#else
#define ROOT_SCAN_UNCHECKED
#endif

/* How many words ahead root_scan_words prefetches the object of. */
#define ROOT_SCAN_AHEAD 8

/* Which words of an area are references. */
typedef enum root_tag_test_e {
  ROOT_TAG_ANY,           /* every word, after removing the tag bits */
  ROOT_TAG_PATTERN,       /* words whose tag bits equal the pattern */
  ROOT_TAG_PATTERN_OR_ZERO  /* ... or are zero */
} RootTagTest;

/* The one loop behind the four scanners; `test` is a constant at every
 * call, so each scanner gets its own specialised copy.  A reference is
 * fixed with its tag removed and stored back with the tag restored, and
 * only if fixing changed it: an ambiguous root may be read-only
 * (MPS_RM_CONST), and a register area is a copy nobody reads back. */
ROOT_SCAN_UNCHECKED
static inline mps_res_t root_scan_words(mps_ss_t ss, void *base, void *limit, Word mask,
                                        Word pattern, RootTagTest test)
{
  Word *p;
  AVER(ss != NULL);
  AVER(root_word_aligned(base));
  AVER(root_word_aligned(limit));
  AVER((char *)base <= (char *)limit);
  MPS_SCAN_BEGIN(ss) {
    for (p = base; p < (Word *)limit; ++p) {
      Word word = *p;
      Word tag = word & mask;
      mps_addr_t ref;
#if defined(__GNUC__) || defined(__clang__)
      /* A large table's references lead all over the heap, and the fix
       * of one that is white first reads its object (the format's isfwd,
       * for a moving pool): a cache miss each, which was most of the
       * root scan's time (docs/performance.md, the root prefetch round).
       * So the word ROOT_SCAN_AHEAD on is read now, and its object
       * fetched if it lies in a white zone.  Only the zone test is made:
       * a prefetch of a tagged or stale address never faults. */
      if ((Word *)limit - p > ROOT_SCAN_AHEAD) {
        Word ahead = p[ROOT_SCAN_AHEAD] & ~mask;
        if ((_mps_w >> (ahead >> _mps_zs & (MPS_WORD_WIDTH - 1)) & 1) != 0)
          __builtin_prefetch((void *)(uintptr_t)ahead);
      }
#endif
      if (test == ROOT_TAG_PATTERN && tag != pattern)
        continue;
      if (test == ROOT_TAG_PATTERN_OR_ZERO && tag != pattern && tag != 0)
        continue;
      ref = (mps_addr_t)(uintptr_t)(word ^ tag);
      if (MPS_FIX1(ss, ref)) {
        mps_addr_t old = ref;
        mps_res_t res = MPS_FIX2(ss, &ref);
        if (res != MPS_RES_OK)
          return res;
        if (ref != old)
          *p = (Word)(uintptr_t)ref | tag;
      }
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

ROOT_SCAN_UNCHECKED
mps_res_t mps_scan_area(mps_ss_t ss, void *base, void *limit, void *closure)
{
  UNUSED(closure);
  return root_scan_words(ss, base, limit, 0, 0, ROOT_TAG_ANY);
}

ROOT_SCAN_UNCHECKED
mps_res_t mps_scan_area_masked(mps_ss_t ss, void *base, void *limit, void *closure)
{
  mps_scan_tag_t tag = closure;
  AVER(tag != NULL);
  return root_scan_words(ss, base, limit, tag->mask, 0, ROOT_TAG_ANY);
}

ROOT_SCAN_UNCHECKED
mps_res_t mps_scan_area_tagged(mps_ss_t ss, void *base, void *limit, void *closure)
{
  mps_scan_tag_t tag = closure;
  AVER(tag != NULL);
  return root_scan_words(ss, base, limit, tag->mask, tag->pattern, ROOT_TAG_PATTERN);
}

ROOT_SCAN_UNCHECKED
mps_res_t mps_scan_area_tagged_or_zero(mps_ss_t ss, void *base, void *limit,
                                       void *closure)
{
  mps_scan_tag_t tag = closure;
  AVER(tag != NULL);
  return root_scan_words(ss, base, limit, tag->mask, tag->pattern,
                         ROOT_TAG_PATTERN_OR_ZERO);
}

/* ---- Threads ---------------------------------------------------------- */

/* What the thread manager's visitor needs to scan one thread. */
typedef struct root_thread_scan_s {
  mps_ss_t ss;
  mps_area_scan_t scan;
  void *closure;
} root_thread_scan_s;

/* thread_scan_from hands over the captured registers, the stack from the
 * stack pointer to the client's cold end (a root may cover only the frames
 * below some function), and perhaps the part of an alternate signal stack
 * in use. */
static Res root_thread_visit(void *closure, Word *base, Word *limit, ThreadArea area)
{
  root_thread_scan_s *rts = closure;
  UNUSED(area);
  return rts->scan(rts->ss, base, limit, rts->closure);
}

static Res root_scan_thread(mps_ss_t ss, Thr thr, mps_area_scan_t scan, void *closure,
                            Word *cold)
{
  root_thread_scan_s rts;
  Res res;
  AVERT(thr, thr);
  rts.ss = ss;
  rts.scan = scan;
  rts.closure = closure;
  /* The calling thread from where it entered the arena: below that are
   * the collector's own frames (thread_entry_s). */
  res = thread_scan_from(thr->thread, &thr->arena->entry, cold, root_thread_visit, &rts);
  /* A thread that exited registered was reported when the collector
   * tried to suspend it; it has no stack left to scan, and the
   * collection goes on without it. */
  if (res == MPS_RES_FAIL && thread_is_dead(thr->thread))
    return MPS_RES_OK;
  return res;
}

mps_res_t mps_stack_scan_ambig(mps_ss_t ss, mps_thr_t thr, void *p, size_t s)
{
  /* Aligned words only (deprecated.rst): a tag pattern of zero under the
   * mask of the low bits of a word. */
  mps_scan_tag_s tag;
  UNUSED(s);
  AVER(ss != NULL);
  AVER(thr != NULL && thr->sig == THR_SIG);
  AVER(p != NULL);
  AVER(scan_state_of(ss)->rank == RANK_AMBIG);
  tag.mask = sizeof(mps_word_t) - 1;
  tag.pattern = 0;
  return root_scan_thread(ss, thr, mps_scan_area_tagged, &tag,
                          (Word *)(void *)((uintptr_t)p & ~(uintptr_t)(sizeof(Word) - 1)));
}

/* ---- Scanning roots --------------------------------------------------- */

/* Apply the root's scanner.  Scanners add the zones of what they fix to
 * the scan state's summary (_ufs), after whatever it had gathered. */
static Res root_scan_inner(mps_ss_t ss, Root root)
{
  switch (root->var) {
  case ROOT_AREA:
    return root->the.area.scan(ss, root->the.area.base, root->the.area.limit,
                               root->the.area.closure);
  case ROOT_FMT:
    return root->the.fmt.scan(ss, addr_ptr(root->the.fmt.base),
                              addr_ptr(root->the.fmt.limit));
  case ROOT_THREAD:
    return root_scan_thread(ss, root->the.thread.thr, root->the.thread.scan,
                            root->the.thread.closure, root->the.thread.cold);
  case ROOT_REG:
    return root->the.reg.scan(ss, root->the.reg.thr, root->the.reg.p, root->the.reg.s);
  case ROOT_FUN:
    return root->the.fun.scan(ss, root->the.fun.p, root->the.fun.s);
  }
  NOTREACHED;
  return MPS_RES_FAIL;
}

Res root_scan(ScanState ss, Root root)
{
  AVERT(scan_state, ss);
  AVERT(root, root);
  AVER(ss->rank == root->rank);
  return root_scan_inner(scan_state_public(ss), root);
}

bool root_any_of_rank(Arena arena, Rank rank)
{
  GC gc = gc_of(arena);
  Ring node, next;
  if (gc == NULL)
    return false;
  RING_FOR(node, &gc->root_ring, next) {
    if (PARENT(mps_root_s, gc_ring, node)->rank == rank)
      return true;
  }
  return false;
}

Res root_each_of_rank(Arena arena, Rank rank, RootVisit visit, void *closure)
{
  GC gc = gc_of(arena);
  Ring node, next;
  AVER(visit != NULL);
  if (gc == NULL)
    return MPS_RES_OK;
  RING_FOR(node, &gc->root_ring, next) {
    Root root = PARENT(mps_root_s, gc_ring, node);
    if (root->rank == rank) {
      Res res = visit(root, closure);
      if (res != MPS_RES_OK)
        return res;
    }
  }
  return MPS_RES_OK;
}

bool root_any_thread_root(Arena arena)
{
  GC gc = gc_of(arena);
  Ring node, next;
  if (gc == NULL)
    return false;
  RING_FOR(node, &gc->root_ring, next) {
    RootVar var = PARENT(mps_root_s, gc_ring, node)->var;
    if (var == ROOT_THREAD || var == ROOT_REG)
      return true;
  }
  return false;
}

bool root_any_of_thread(Arena arena, Thr thr)
{
  GC gc = gc_of(arena);
  Ring node, next;
  if (gc == NULL)
    return false;
  RING_FOR(node, &gc->root_ring, next) {
    Root root = PARENT(mps_root_s, gc_ring, node);
    if ((root->var == ROOT_THREAD && root->the.thread.thr == thr)
        || (root->var == ROOT_REG && root->the.reg.thr == thr))
      return true;
  }
  return false;
}

Count root_count(Arena arena)
{
  GC gc = gc_of(arena);
  return gc == NULL ? 0 : gc->roots_count;
}

/* ---- Walking roots (mps_arena_roots_walk) ----------------------------- */

/* A scan state whose fix reports references into the collector's
 * segments to the client's stepper instead of tracing them. */
typedef struct root_walk_s {
  scan_state_s ss;              /* first, so the fix can find the rest */
  mps_roots_stepper_t f;
  void *p;
  Size s;
  Root root;                    /* being scanned */
} root_walk_s;

static mps_res_t root_walk_fix(mps_ss_t mps_ss, mps_addr_t *ref_io)
{
  ScanState ss = scan_state_of(mps_ss);
  root_walk_s *rw = PARENT(root_walk_s, ss, ss);
  Seg seg;
  if (seg_of_addr(&seg, ss->arena, addr_of_ptr(*ref_io)))
    rw->f(ref_io, rw->root, rw->p, rw->s);
  return MPS_RES_OK;
}

void root_walk_all(Arena arena, mps_roots_stepper_t f, void *p, Size s)
{
  GC gc = gc_of(arena);
  root_walk_s rw;
  Ring node, next;
  bool entered;

  AVERT(arena, arena);
  AVER(f != NULL);
  if (gc == NULL)
    return;                     /* no collector object, so no roots */
  /* Another thread's registers and stack can only be read while it is
   * suspended: hold the mutator for the walk. */
  entered = !shield_is_inside(&gc->shield);
  if (entered)
    shield_enter(&gc->shield);
  shield_hold(&gc->shield);
  scan_state_init(&rw.ss, arena, NULL, RANK_EXACT);
  /* Every reference reaches the fix, which decides by segment. */
  rw.ss.ss_s._fix = root_walk_fix;
  rw.ss.ss_s._w = ZONE_SET_UNIV;
  rw.f = f;
  rw.p = p;
  rw.s = s;
  RING_FOR(node, &gc->root_ring, next) {
    Root root = PARENT(mps_root_s, gc_ring, node);
    /* Every rank (root.rst: an ambiguous root's references may point
     * inside objects, which the stepper must allow for). */
    rw.ss.rank = root->rank;
    rw.root = root;
    (void)root_scan_inner(scan_state_public(&rw.ss), root);
  }
  scan_state_finish(&rw.ss);
  shield_release(&gc->shield);
  if (entered)
    shield_leave(&gc->shield);
}

void mps_arena_roots_walk(mps_arena_t arena, mps_roots_stepper_t f, void *p, size_t s)
{
  AVER(f != NULL);
  arena_enter(arena);
  /* The walk must see references where the client left them, with no
   * collection moving objects in between (root.rst: parked). */
  AVER(trace_arena_is_parked(arena) || arena->state == ARENA_POSTMORTEM);
  root_walk_all(arena, f, p, (Size)s);
  arena_leave(arena);
}
