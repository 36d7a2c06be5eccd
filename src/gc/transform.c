/* transform.c: transforms (see transform.h; manual/topic/transform.rst,
 * design/transform.txt).
 *
 * The table.  mps_transform_add_oldnew appends (old, new) pairs, growing
 * an array in control memory by doubling; nothing else happens until
 * apply.  Each old reference is the client address of an object in a
 * collected (automatically managed) pool, checked when it is added.
 *
 * Applying, with the arena lock held and the arena parked:
 *   0. prepare: sort the pairs by old address and find, for each old
 *      object, the memory it occupies [lo, hi) (its format's skip; with a
 *      header, lo is before the client address).  Overlapping or repeated
 *      old objects are a client error.
 *   1. with the mutator suspended (a shield hold), look at every ambiguous
 *      reference the collector would see: every ambiguous root (thread
 *      stacks and registers included) and every object of every segment
 *      that holds ambiguous references (AMS with ambiguous allocation
 *      points).  If one points into an old object, the transform is not
 *      applied (*applied_o false) and nothing at all changes: no
 *      collection runs.  Segments are looked at whole, so an ambiguous
 *      reference from a dead object that no collection has freed yet also
 *      refuses the transform.
 *   2. still suspended, a collection of everything as a rewriting trace
 *      (trace.h): before each exact, final or weak reference is fixed, a
 *      reference to an old object becomes the new one, which the normal
 *      fix then preserves (exact) or drops if it is otherwise dead
 *      (weak).  Old objects are then no longer referenced, so they die,
 *      unless something the collector does not rewrite keeps them
 *      (a stale copy in the collector's own stack frames, say).
 *   Rewriting needs every old object to be condemned, or references to it
 *   would not reach the fix: the trace's start hook checks that its
 *   segment is white and refuses rewriting otherwise (a class that
 *   declined to condemn a segment); apply then returns MPS_RES_FAIL, the
 *   collection having run without changing any reference.
 *
 * One substitution per reference: a new reference that is also an old
 * one is not replaced again.
 *
 * Collections move objects, so a table is only good until the next one:
 * apply refuses with MPS_RES_PARAM once any collection has finished since
 * the transform was made, and a transform is applied at most once.
 *
 * The stack.  Phase 1 scans the calling thread's stack when it is a root,
 * from the collector's own frames outwards.  A stale copy of an old
 * address left in one of those frames by earlier work (preparing the
 * table, checking another root) would look like an ambiguous reference
 * and refuse the transform for nothing.  So the work that handles old
 * addresses runs in functions that return before the check, and the
 * stack below is cleared on entry to apply and again before each root is
 * scanned.  (The client's own frames are the client's: transform.rst.)
 *
 * Invariants (transform_check):
 *   1. count <= capacity, and the entries exist exactly when capacity > 0;
 *   2. the creation's count of collections is not ahead of the arena's;
 *   3. once prepared, the entries are sorted by old address and the old
 *      objects are disjoint, lo <= old < hi (cool: checked in full).
 */

#include "transform.h"
#include "format.h"
#include "root.h"
#include "seg.h"
#include "trace.h"
#include "../pool/pool.h"

/* Words of stack cleared before each root is checked: more than the
 * preparation and a root check use below the caller's frame. */
#define TRANSFORM_CLEAR_WORDS 2048

/* One pair.  lo and hi are found at apply (step 0). */
typedef struct transform_entry_s {
  Addr old, new_ref;
  Addr lo, hi;
} transform_entry_s;
typedef transform_entry_s *TransformEntry;

typedef struct mps_transform_s {
  Sig sig;
  Arena arena;
  Count collections;           /* arena->collections at creation */
  TransformEntry entries;      /* control memory, capacity of them */
  Count count, capacity;
  bool spent;                  /* apply has run to a result */
  /* Set while applying (steps 0 to 2). */
  bool prepared;               /* step 0 done: sorted, lo and hi known */
  Shift zone_shift;
  ZoneSet zones;               /* of every [lo, hi) */
  Addr min_lo, max_hi;         /* bounds of every [lo, hi) */
  bool ambiguous;              /* step 1 found an ambiguous reference */
  bool started;                /* the trace's start hook has run */
  bool rewriting;              /* and agreed */
} mps_transform_s;

/* The scan state of step 1, which finds its transform through it. */
typedef struct transform_scan_s {
  scan_state_s ss;
  Transform transform;
} transform_scan_s;

bool transform_check(Transform transform)
{
  CHECKS(TRANSFORM_SIG, transform);
  CHECKU(ARENA_SIG, transform->arena);
  CHECKL(transform->count <= transform->capacity);                           /* 1 */
  CHECKL((transform->entries != NULL) == (transform->capacity > 0));
  CHECKL(transform->collections <= transform->arena->collections);           /* 2 */
  CHECKL(!transform->rewriting || transform->started);
#if CHECK_LEVEL >= 2
  if (transform->prepared) {                                                 /* 3 */
    Index i;
    for (i = 0; i < transform->count; ++i) {
      TransformEntry e = &transform->entries[i];
      CHECKL(addr_word(e->lo) <= addr_word(e->old));
      CHECKL(addr_word(e->old) < addr_word(e->hi));
      CHECKL(i == 0 || addr_word(transform->entries[i - 1].hi) <= addr_word(e->lo));
    }
  }
#endif
  return true;
}

/* Report a client error through the assertion handler; if it returns,
 * the call is refused with MPS_RES_PARAM. */
static Res transform_refuse(unsigned line, const char *what)
{
  check_fail(__FILE__, line, what);
  return MPS_RES_PARAM;
}

/* ---- Finding old objects ------------------------------------------------ */

/* The entry whose old object is exactly `ref`, or NULL. */
static TransformEntry transform_find_old(Transform transform, Addr ref)
{
  Index lo = 0, hi = transform->count;
  while (lo < hi) {
    Index mid = lo + (hi - lo) / 2;
    TransformEntry e = &transform->entries[mid];
    if (addr_word(e->old) == addr_word(ref))
      return e;
    if (addr_word(e->old) < addr_word(ref))
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* Whether `ref` is in the zones and bounds of the old objects: the cheap
 * test before a search. */
static inline bool transform_may_be_old(Transform transform, Addr ref)
{
  if ((transform->zones & ((ZoneSet)1 << zone_of_addr(transform->zone_shift, ref))) == 0)
    return false;
  return addr_word(transform->min_lo) <= addr_word(ref)
         && addr_word(ref) < addr_word(transform->max_hi);
}

/* Whether `ref` points anywhere into an old object (an ambiguous
 * reference pins the object it points into, header included). */
static bool transform_hits_old(Transform transform, Addr ref)
{
  Index lo = 0, hi = transform->count;
  if (!transform_may_be_old(transform, ref))
    return false;
  /* The last entry with e->lo <= ref: the old objects are disjoint and
   * sorted, so it is the only one that can contain ref. */
  while (lo < hi) {
    Index mid = lo + (hi - lo) / 2;
    if (addr_word(transform->entries[mid].lo) <= addr_word(ref))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo > 0 && addr_word(ref) < addr_word(transform->entries[lo - 1].hi);
}

/* ---- Step 0: preparing the table ---------------------------------------- */

static void transform_sift_down(TransformEntry entries, Index root, Count count)
{
  /* Heap sort, so that sorting needs no memory and no recursion. */
  for (;;) {
    Index child = 2 * root + 1;
    transform_entry_s tmp;
    if (child >= count)
      return;
    if (child + 1 < count
        && addr_word(entries[child].old) < addr_word(entries[child + 1].old))
      ++child;
    if (addr_word(entries[root].old) >= addr_word(entries[child].old))
      return;
    tmp = entries[root];
    entries[root] = entries[child];
    entries[child] = tmp;
    root = child;
  }
}

static void transform_sort(TransformEntry entries, Count count)
{
  Index i;
  if (count < 2)
    return;
  for (i = count / 2; i > 0; --i)
    transform_sift_down(entries, i - 1, count);
  for (i = count - 1; i > 0; --i) {
    transform_entry_s tmp = entries[0];
    entries[0] = entries[i];
    entries[i] = tmp;
    transform_sift_down(entries, 0, i);
  }
}

/* The segment of a collected, formatted pool that holds `old`, or NULL:
 * where an old object must be (transform.rst: automatically managed). */
static Seg transform_old_seg(Arena arena, Addr old)
{
  Seg seg;
  Format format;
  if (gc_of(arena) == NULL || !seg_of_addr(&seg, arena, old))
    return NULL;
  format = seg->pool->format;
  if (seg->klass->fix == NULL || format == NULL || format->skip == NULL)
    return NULL;
  if (addr_word(old) < addr_word(seg->base) + format->header_size)
    return NULL;
  return seg;
}

/* Step 0.  Its own frame, which is gone before step 1 looks at the
 * stack.  MPS_RES_PARAM (reported) for a bad table, changing nothing the
 * client can see. */
static NOINLINE Res transform_prepare(Transform transform)
{
  Arena arena = transform->arena;
  GC gc = gc_of(arena);
  Index i;
  bool entered;

  transform->zones = ZONE_SET_EMPTY;
  transform->min_lo = addr_of_word(~(Word)0);
  transform->max_hi = addr_of_word(0);
  if (transform->count == 0) {
    transform->prepared = true;
    return MPS_RES_OK;
  }
  AVER(gc != NULL);   /* add_oldnew found a segment */
  transform->zone_shift = gc->zone_shift;
  transform_sort(transform->entries, transform->count);
  entered = !shield_is_inside(&gc->shield);
  if (entered)
    shield_enter(&gc->shield);
  for (i = 0; i < transform->count; ++i) {
    TransformEntry e = &transform->entries[i];
    Seg seg = transform_old_seg(arena, e->old);
    Format format;
    Addr next;
    if (seg == NULL)
      break;          /* its pool was destroyed since it was added */
    format = seg->pool->format;
    shield_expose(&gc->shield, &seg->shield);
    next = addr_of_ptr((*format->skip)(addr_ptr(e->old)));
    shield_cover(&gc->shield, &seg->shield);
    e->lo = format_base(format, e->old);
    e->hi = format_base(format, next);
    if (addr_word(e->hi) <= addr_word(e->old) || addr_word(e->hi) > addr_word(seg->limit))
      break;          /* not an object */
    if (i > 0 && addr_word(transform->entries[i - 1].hi) > addr_word(e->lo))
      break;          /* the same old object twice, or overlapping ones */
    transform->zones |= zone_set_of_range(gc->zone_shift, e->lo, e->hi);
  }
  if (entered)
    shield_leave(&gc->shield);
  if (i < transform->count)
    return transform_refuse(__LINE__,
                            "mps_transform_apply: an old reference is not an object of a "
                            "collected pool, or is given twice");
  transform->min_lo = transform->entries[0].lo;
  transform->max_hi = transform->entries[transform->count - 1].hi;
  transform->prepared = true;
  return MPS_RES_OK;
}

/* ---- Step 1: ambiguous references ----------------------------------------- */

/* Overwrite the stack below the caller's frame (see the opening note).
 * The volatile stores cannot be left out by the compiler. */
static NOINLINE void transform_clear_stack(void)
{
  Word junk[TRANSFORM_CLEAR_WORDS];
  volatile Word *p = junk;
  Index i;
  for (i = 0; i < TRANSFORM_CLEAR_WORDS; ++i)
    p[i] = 0;
}

/* The fix of step 1: note an ambiguous reference into an old object.
 * Nothing is ever changed, so MPS_RES_OK always. */
static mps_res_t transform_check_fix(mps_ss_t mps_ss, mps_addr_t *ref_io)
{
  ScanState ss = scan_state_of(mps_ss);
  Transform transform = PARENT(transform_scan_s, ss, ss)->transform;
  AVER_CRITICAL(ref_io != NULL);
  AVER_CRITICAL(ss->rank == RANK_AMBIG);
  if (!transform->ambiguous && transform_hits_old(transform, addr_of_ptr(*ref_io)))
    transform->ambiguous = true;
  return MPS_RES_OK;
}

static void transform_scan_init(transform_scan_s *tss, Transform transform)
{
  scan_state_init(&tss->ss, transform->arena, NULL, RANK_AMBIG);
  /* Every reference reaches the fix: the zones of the old objects are
   * tested there, with their bounds. */
  tss->ss.ss_s._fix = transform_check_fix;
  tss->ss.ss_s._w = ZONE_SET_UNIV;
  tss->transform = transform;
}

static Res transform_check_root(Root root, void *closure)
{
  Transform transform = closure;
  transform_scan_s tss;
  Res res;
  transform_clear_stack();
  transform_scan_init(&tss, transform);
  res = root_scan(&tss.ss, root);
  scan_state_finish(&tss.ss);
  return res;
}

/* An area of formatted objects of an ambiguous segment: scanned by the
 * pool's format at the ambiguous rank. */
static mps_res_t transform_check_area(mps_ss_t ss, void *base, void *limit, void *closure)
{
  Format format = closure;
  return (*format->scan)(ss, base, limit);
}

/* Step 1.  MPS_RES_OK with transform->ambiguous saying what it found, or
 * the failure of a client's root scanner. */
static NOINLINE Res transform_find_ambiguous(Transform transform)
{
  Arena arena = transform->arena;
  GC gc = gc_of(arena);
  Ring node, next;
  Res res;

  transform->ambiguous = false;
  if (transform->count == 0)
    return MPS_RES_OK;
  res = root_each_of_rank(arena, RANK_AMBIG, transform_check_root, transform);
  if (res != MPS_RES_OK)
    return res;
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    Format format = seg->pool->format;
    transform_scan_s tss;
    if (transform->ambiguous)
      break;
    if ((seg->rank_set & RANK_SET_SINGLE(RANK_AMBIG)) == 0)
      continue;
    if (seg->klass->area_walk == NULL || format == NULL || format->scan == NULL) {
      /* Ambiguous references the collector cannot show us: assume the
       * worst. */
      transform->ambiguous = true;
      break;
    }
    transform_scan_init(&tss, transform);
    shield_expose(&gc->shield, &seg->shield);
    res = seg->klass->area_walk(seg, transform_check_area, format, &tss.ss);
    shield_cover(&gc->shield, &seg->shield);
    scan_state_finish(&tss.ss);
    if (res != MPS_RES_OK)
      return res;
  }
  return MPS_RES_OK;
}

/* ---- Step 2: the rewriting collection -------------------------------------- */

static bool transform_start(void *closure, Trace trace)
{
  Transform transform = closure;
  TraceSet ts = TRACE_SET_SINGLE(trace->ti);
  Index i;
  AVERT(transform, transform);
  transform->started = true;
  for (i = 0; i < transform->count; ++i) {
    Seg seg;
    if (!seg_of_addr(&seg, transform->arena, transform->entries[i].old)
        || (seg->white & ts) == 0)
      return false;
  }
  transform->rewriting = true;
  return true;
}

static void transform_rewrite(void *closure, Addr *ref_io)
{
  Transform transform = closure;
  TransformEntry e;
  if (!transform_may_be_old(transform, *ref_io))
    return;
  e = transform_find_old(transform, *ref_io);
  if (e != NULL)
    *ref_io = e->new_ref;
}

/* Steps 0 to 2, with the arena lock held, the arena parked, and the
 * transform not spent.  On MPS_RES_OK, *applied_o says whether the
 * references were replaced. */
static Res transform_apply(bool *applied_o, Transform transform)
{
  Arena arena = transform->arena;
  GC gc;
  bool entered, collected = false;
  trace_after_s after;
  Res res;

  res = gc_get(&gc, arena);
  if (res != MPS_RES_OK)
    return res;
  res = transform_prepare(transform);
  if (res != MPS_RES_OK)
    goto done;
  /* From the check to the end of the collection, no mutator thread may
   * copy a reference where the check has already looked. */
  entered = !shield_is_inside(&gc->shield);
  if (entered)
    shield_enter(&gc->shield);
  shield_hold(&gc->shield);
  res = transform_find_ambiguous(transform);
  if (res == MPS_RES_OK && !transform->ambiguous) {
    transform->started = false;
    transform->rewriting = false;
    res = trace_collect_rewriting(arena, transform_start, transform_rewrite, transform,
                                  &after);
    if (res == MPS_RES_OK) {
      collected = true;
      transform->spent = true;
      /* Nothing scanned means nothing referred to anything: vacuously
       * applied.  A refusal means nothing was rewritten. */
      if (transform->started && !transform->rewriting)
        res = MPS_RES_FAIL;
    }
  } else if (res == MPS_RES_OK) {
    transform->spent = true;
  }
  shield_release(&gc->shield);
  if (entered)
    shield_leave(&gc->shield);
  /* A caller already inside the shield (none today) would lose the
   * collection's start and end events, and the barrier check would wait
   * for the next collection; the segment, reference and object events it
   * queued (gcevent.h) would be written with the next flush. */
  if (collected && entered)
    trace_after_leave(arena, &after);
  if (res == MPS_RES_OK)
    *applied_o = !transform->ambiguous;
done:
  transform->prepared = false;
  return res;
}

/* ---- The public interface ----------------------------------------------- */

mps_res_t mps_transform_create(mps_transform_t *transform_o, mps_arena_t arena)
{
  Transform transform;
  void *p;
  Res res;

  AVER(transform_o != NULL);
  AVER(arena != NULL && arena->sig == ARENA_SIG);
  if (transform_o == NULL)
    return MPS_RES_PARAM;
  arena_enter(arena);
  res = arena_control_alloc(&p, arena, sizeof(mps_transform_s));
  if (res == MPS_RES_OK) {
    transform = p;
    transform->arena = arena;
    transform->collections = arena->collections;
    transform->entries = NULL;
    transform->count = 0;
    transform->capacity = 0;
    transform->spent = false;
    transform->prepared = false;
    transform->zone_shift = 0;
    transform->zones = ZONE_SET_EMPTY;
    transform->min_lo = transform->max_hi = addr_of_word(0);
    transform->ambiguous = false;
    transform->started = false;
    transform->rewriting = false;
    transform->sig = TRANSFORM_SIG;
    AVERT(transform, transform);
    *transform_o = transform;
  }
  arena_leave(arena);
  return res;
}

/* Make room for `more` entries: MPS_RES_MEMORY (or the arena's result)
 * with the table unchanged if there is none. */
static Res transform_reserve(Transform transform, Count more)
{
  Count need = transform->count + more, capacity;
  void *p;
  Res res;
  if (need < transform->count || need > (Size)-1 / sizeof(transform_entry_s))
    return MPS_RES_MEMORY;
  if (need <= transform->capacity)
    return MPS_RES_OK;
  capacity = transform->capacity < 16 ? 16 : transform->capacity;
  while (capacity < need)
    capacity = capacity > (Size)-1 / sizeof(transform_entry_s) / 2 ? need : capacity * 2;
  res = arena_control_alloc(&p, transform->arena, capacity * sizeof(transform_entry_s));
  if (res != MPS_RES_OK)
    return res;
  if (transform->count > 0)
    mem_copy(p, transform->entries, transform->count * sizeof(transform_entry_s));
  if (transform->entries != NULL)
    arena_control_free(transform->arena, transform->entries,
                       transform->capacity * sizeof(transform_entry_s));
  transform->entries = p;
  transform->capacity = capacity;
  return MPS_RES_OK;
}

mps_res_t mps_transform_add_oldnew(mps_transform_t transform, mps_addr_t *old_array,
                                   mps_addr_t *new_array, size_t count)
{
  Arena arena;
  Index i;
  Res res;

  AVER(transform != NULL && transform->sig == TRANSFORM_SIG);
  arena = transform->arena;
  arena_enter(arena);
  AVERT(transform, transform);
  if (count > 0 && (old_array == NULL || new_array == NULL)) {
    res = transform_refuse(__LINE__, "mps_transform_add_oldnew: no array");
    goto done;
  }
  if (transform->spent) {
    res = transform_refuse(__LINE__, "mps_transform_add_oldnew: the transform was applied");
    goto done;
  }
  for (i = 0; i < count; ++i) {
    if (transform_old_seg(arena, addr_of_ptr(old_array[i])) == NULL) {
      res = transform_refuse(__LINE__,
                             "mps_transform_add_oldnew: an old reference is not in a "
                             "collected pool");
      goto done;
    }
  }
  res = transform_reserve(transform, count);
  if (res != MPS_RES_OK)
    goto done;
  for (i = 0; i < count; ++i) {
    TransformEntry e = &transform->entries[transform->count + i];
    e->old = addr_of_ptr(old_array[i]);
    e->new_ref = addr_of_ptr(new_array[i]);
    e->lo = e->hi = e->old;
  }
  transform->count += count;
done:
  arena_leave(arena);
  return res;
}

mps_res_t mps_transform_apply(mps_bool_t *applied_o, mps_transform_t transform)
{
  Arena arena;
  bool applied = false;
  Res res;

  /* The frames of this call are then laid over a cleared stack. */
  transform_clear_stack();
  AVER(transform != NULL && transform->sig == TRANSFORM_SIG);
  if (transform == NULL || transform->sig != TRANSFORM_SIG)
    return MPS_RES_PARAM;   /* destroyed, or never made: reported */
  arena = transform->arena;
  arena_enter(arena);
  AVERT(transform, transform);
  /* A scan or format method must not apply a transform. */
  AVER(arena->gc == NULL || !arena->gc->in_collection);
  if (applied_o == NULL)
    res = transform_refuse(__LINE__, "mps_transform_apply: applied_o is NULL");
  else if (!trace_arena_is_parked(arena))
    res = MPS_RES_LIMIT;
  else if (transform->spent || arena->collections != transform->collections)
    res = MPS_RES_PARAM;
  else
    res = transform_apply(&applied, transform);
  arena_leave(arena);
  if (res == MPS_RES_OK)
    *applied_o = applied;
  return res;
}

void mps_transform_destroy(mps_transform_t transform)
{
  Arena arena;
  AVER(transform != NULL && transform->sig == TRANSFORM_SIG);
  /* Destroyed already: reported, and nothing is freed twice. */
  if (transform == NULL || transform->sig != TRANSFORM_SIG)
    return;
  arena = transform->arena;
  arena_enter(arena);
  AVERT(transform, transform);
  if (transform->entries != NULL)
    arena_control_free(arena, transform->entries,
                       transform->capacity * sizeof(transform_entry_s));
  transform->sig = SIG_INVALID;
  arena_control_free(arena, transform, sizeof(mps_transform_s));
  arena_leave(arena);
}
