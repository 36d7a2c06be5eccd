/* fuzz_incremental: a mutator changing a graph while collections run
 * incrementally behind the read barrier, checked against a model of the
 * graph (src/gc/trace.c, src/gc/barrier.c).
 *
 * HANDLES slots of an exact root table hold objects of an AMC pool.
 * Each object has two references and a payload whose first word is its
 * identity; the model keeps, for each identity, the identities its two
 * references should lead to, and for each handle the identity it holds.
 * Objects are also held ambiguously, which pins them: by the slots of an
 * ambiguous root table, and by holders, objects of an AMS pool allocated
 * at the ambiguous rank and kept by an exact root table of their own (a
 * trace that condemns a holder's segment moves no AMC object, trace_pin).
 * The format's scan method fails on demand (trace_scan_seg retries a
 * segment TRACE_SCAN_TRIES times, then reports and gives it up).
 * Input: byte 0 sets the payload size of new objects (so a few or many
 * segments); then two bytes per operation, the first picking the
 * operation (its low four bits), the second handles or a reference:
 *   new      a new object into a handle;
 *   link     handle a's object's reference k := handle b's object;
 *   load     handle a := handle b's object's reference k;
 *   clear    a handle, or a reference;
 *   garbage  allocation until some fills have polled;
 *   start    mps_arena_start_collect;
 *   step     mps_arena_step of no time (one quantum); with the second
 *            byte's top bit, the arena first refuses one of its next 64
 *            requests for memory (arena_fail_after, src/arena/arena.h),
 *            and with 0x40 as well it is only armed, not stepped, so
 *            that the refusal falls on a step, an increment a poll or a
 *            fault makes, a start or a collection (the trace, AMS's
 *            tables, AMC's to-space and nailboards) or an allocation,
 *            whichever asks first;
 *   park / collect / clamp / release;
 *   ambig    an ambiguous root slot := handle a's object, at its base or
 *            inside it, or cleared;
 *   holder   a new holder of handle a's object (or of nothing) into a
 *            holder slot; or a holder slot cleared;
 *   fail     the next one to three objects the format's scan meets (each
 *            after some it scans) make it fail, which the tracer must
 *            retry unseen; or every scan fails from now on, and a
 *            collection must report it if anything is reachable, and
 *            leave the arena parked and consistent (the input ends:
 *            the given-up segments' references were never fixed).
 * An operation that fails must be the one the refusal fell on, say so
 * with MPS_RES_MEMORY or MPS_RES_RESOURCE, and change nothing the model
 * tracks (a new object or holder not made, a start with no trace); one
 * that cannot fail (step, park, collect, a fault) absorbs it, and may do
 * less (AMC keeps in place what it could not copy), but every check
 * below holds all the same.  The last park and checks run disarmed.
 * Checked, after every operation and at the end:
 *   - every object reachable from the handles, the ambiguous slots and
 *     the holders matches the model (identity, payload, and where its
 *     references lead), and each identity is at one address (no object
 *     was copied while an ambiguous reference kept the old copy);
 *   - an object held ambiguously is where it was when it was first held,
 *     and neither the ambiguous slot nor the holder's word changed;
 *   - every reference an object holds is in the zones its segment's
 *     summary remembers (the summaries the write barrier keeps sound);
 *   - while a trace is busy, no reference the mutator loads leads into a
 *     white segment (the read barrier let no unfixed reference through)
 *     unless the segment is nailed for it (kept in place, so its objects
 *     stay white until the reclaim);
 *   - a clamped arena does no collection work but what faults force;
 *   - after park nothing is read-protected;
 *   - the library's own checks (seg_check's barrier rules, in cool).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpslib.h"
#include "../src/arena/arena.h"
#include "../src/gc/gc.h"
#include "../src/gc/seg.h"
#include "../src/gc/trace.h"
#include "../test/support/objfmt.h"
#include "support/refusal.h"

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

#define W sizeof(mps_word_t)
#define HANDLES 16
#define REFS 2
#define MAX_OBJECTS 1024     /* identities the model can hold */
#define MAX_OPS 300
#define AMBIGS 4
#define HOLDERS 4
#define FAIL_ALWAYS ((size_t)1 << 30)

static mps_arena_t arena;
static mps_ap_t ap;
static mps_addr_t handle[HANDLES];       /* exact root */
static size_t model_handle[HANDLES];      /* identity held, 0: null */
static size_t model_ref[MAX_OBJECTS][REFS];
static size_t next_id;
static size_t ndata;

/* Ambiguous holds: the slot, the base of the object it points into (it
 * never moves while held), and that object's identity (0: none). */
static mps_addr_t ambig[AMBIGS];          /* ambiguous root */
static mps_addr_t ambig_base[AMBIGS];
static size_t ambig_off[AMBIGS];
static size_t model_ambig[AMBIGS];
static mps_ap_t holder_ap;                /* AMS, ambiguous rank */
static mps_addr_t holder[HOLDERS];        /* exact root */
static mps_word_t holder_word[HOLDERS];   /* what its slot 0 holds */
static mps_addr_t holder_base[HOLDERS];
static size_t model_holder[HOLDERS];

/* Scan failures to come, and how many objects are scanned before each. */
static size_t fail_left, fail_every, fail_skip;

/* arena_fail_after's countdown when the operation began (or was armed). */
static Count fz_countdown;

static GC fz_gc(void)
{
  return ((Arena)arena)->gc;
}

static bool fz_busy(void)
{
  atomic_signal_fence(memory_order_seq_cst);   /* a fault handler may have run */
  return fz_gc()->busy_traces != TRACE_SET_EMPTY;
}

/* A reference to an AMC object the mutator has just loaded: never into
 * a white segment that is not nailed. */
static mps_addr_t fz_loaded(mps_addr_t ref)
{
  Seg seg;
  if (ref == NULL)
    return ref;
  REQUIRE(seg_of_addr(&seg, (Arena)arena, (Addr)ref));
  atomic_signal_fence(memory_order_seq_cst);
  REQUIRE((seg->white & ~seg->nailed & fz_gc()->busy_traces) == 0);
  return ref;
}

/* The format's scan method, object by object, failing when told to. */
static mps_res_t fz_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  char *p = base;
  if (fail_left == 0)
    return objfmt_scan(ss, base, limit);
  while (p < (char *)limit) {
    char *next = objfmt_skip(p);
    mps_res_t res;
    if (fail_left > 0) {
      if (fail_skip == 0) {
        --fail_left;
        fail_skip = fail_every;
        return MPS_RES_FAIL;
      }
      --fail_skip;
    }
    res = objfmt_scan(ss, p, next);
    if (res != MPS_RES_OK)
      return res;
    p = next;
  }
  return MPS_RES_OK;
}

/* Whether the refusal arena_fail_after was asked for fell during this
 * operation: its countdown went from non-zero to zero. */
static bool fz_fell(void)
{
  return refusal_fell(arena, fz_countdown);
}

/* An operation failed: only the refusal may make it, and it says so. */
static void fz_refused(mps_res_t res)
{
  REQUIRE(fz_fell());
  REQUIRE(refusal_result(res));
}

/* Reference k of obj, loaded by the mutator.  Once loaded (any fault on
 * the way taken), obj's segment remembers its zone, unless the summary
 * is universal: a narrower summary is what lets a collection skip the
 * segment (barrier.h), so one that missed a zone would lose objects. */
static mps_addr_t fz_ref(mps_addr_t obj, size_t k)
{
  mps_addr_t to = fz_loaded((mps_addr_t)((objfmt_obj)obj)->slot[k]);
  Seg seg;
  if (to != NULL) {
    REQUIRE(seg_of_addr(&seg, (Arena)arena, (Addr)obj));
    atomic_signal_fence(memory_order_seq_cst);
    REQUIRE((seg->summary & ((ZoneSet)1 << zone_of_addr(fz_gc()->zone_shift, (Addr)to))) != 0);
  }
  return to;
}

/* An object of identity id with `data` payload words, or NULL if the
 * arena refused the memory. */
static mps_addr_t fz_alloc(size_t id, size_t data)
{
  size_t size = (2 + REFS + data) * W;
  mps_addr_t p;
  mps_res_t res;
  do {
    res = mps_reserve(&p, ap, size);
    if (res != MPS_RES_OK) {
      fz_refused(res);
      return NULL;
    }
    objfmt_init_id(p, REFS, data, (mps_word_t)id);
  } while (!mps_commit(ap, p, size));
  return p;
}

static mps_addr_t fz_new(size_t id)
{
  return fz_alloc(id, ndata);
}

/* Small garbage, n objects: enough of it fills buffers, and each fill
 * polls (and so advances a trace, unless the arena is clamped).  One
 * refused is one fewer. */
static void fz_garbage(size_t n)
{
  mps_addr_t junk;
  size_t i;
  for (i = 0; i < n; ++i) {
    junk = fz_alloc(0, 1);
    (void)junk;
  }
}

/* Check everything reachable from the handles against the model: a
 * depth-first walk with a mark per identity. */
static mps_addr_t fz_stack[MAX_OBJECTS];
static bool fz_seen[MAX_OBJECTS];
static mps_addr_t fz_at[MAX_OBJECTS];
static size_t fz_top;

/* Reached object obj of identity id: intact, and the one copy of it. */
static void fz_reach(mps_addr_t obj, size_t id)
{
  REQUIRE(objfmt_is_id(obj, REFS, ndata, (mps_word_t)id));
  if (fz_seen[id]) {
    REQUIRE(fz_at[id] == obj);
    return;
  }
  fz_seen[id] = true;
  fz_at[id] = obj;
  fz_stack[fz_top++] = obj;
}

static void fz_check(void)
{
  mps_addr_t *stack = fz_stack;
  size_t h, k;
  memset(fz_seen, 0, sizeof fz_seen);
  fz_top = 0;
  for (h = 0; h < HANDLES; ++h) {
    mps_addr_t obj = fz_loaded(handle[h]);
    REQUIRE((obj == NULL) == (model_handle[h] == 0));
    if (obj != NULL)
      fz_reach(obj, model_handle[h]);
  }
  for (h = 0; h < AMBIGS; ++h) {
    REQUIRE((ambig[h] == NULL) == (model_ambig[h] == 0));
    if (ambig[h] == NULL)
      continue;
    REQUIRE((char *)ambig[h] - (char *)ambig_base[h] == (ptrdiff_t)ambig_off[h]);
    fz_reach(fz_loaded(ambig_base[h]), model_ambig[h]);
  }
  for (h = 0; h < HOLDERS; ++h) {
    objfmt_obj hold = holder[h];
    REQUIRE((holder_base[h] == NULL) == (model_holder[h] == 0));
    if (hold == NULL) {
      REQUIRE(model_holder[h] == 0);
      continue;
    }
    REQUIRE(objfmt_is_id(hold, REFS, 1, 0));
    REQUIRE(hold->slot[0] == holder_word[h] && hold->slot[1] == 0);
    if (holder_base[h] != NULL)
      fz_reach(fz_loaded(holder_base[h]), model_holder[h]);
  }
  while (fz_top > 0) {
    mps_addr_t obj = stack[--fz_top];
    size_t id = (size_t)((objfmt_obj)obj)->slot[REFS];
    REQUIRE(id > 0 && id < MAX_OBJECTS);
    REQUIRE(objfmt_is_id(obj, REFS, ndata, (mps_word_t)id));
    for (k = 0; k < REFS; ++k) {
      mps_addr_t to = fz_ref(obj, k);
      size_t to_id = model_ref[id][k];
      REQUIRE((to == NULL) == (to_id == 0));
      if (to == NULL)
        continue;
      fz_reach(to, to_id);
    }
  }
}

/* A new holder in slot h of handle ha's object (at its base, or inside it
 * if `inside`), or of nothing if the handle is empty.  If the arena
 * refuses the memory, the slot keeps its old holder. */
static void fz_hold(size_t h, size_t ha, bool inside)
{
  size_t size = (2 + REFS + 1) * W;
  mps_addr_t p;
  mps_word_t word;
  objfmt_obj hold;
  mps_res_t res;
  do {
    res = mps_reserve(&p, holder_ap, size);
    if (res != MPS_RES_OK) {
      fz_refused(res);
      return;
    }
    hold = p;
    objfmt_init_id(p, REFS, 1, 0);
    /* Read again at each try: a collection in the commit moves it. */
    word = handle[ha] == NULL ? 0 : (mps_word_t)handle[ha] + (inside ? 3 * W : 0);
    hold->slot[0] = word;
  } while (!mps_commit(holder_ap, p, size));
  holder_base[h] = handle[ha];
  holder_word[h] = word;
  holder[h] = p;
  model_holder[h] = model_handle[ha];
}

/* The assertion handler while every scan fails: the one report expected
 * is the tracer's giving up on a segment; any other is a defect. */
static unsigned fz_gave_up;

static void fz_report(const char *file, unsigned line, const char *cond)
{
  (void)file;
  (void)line;
  if (strcmp(cond, "segment scan failed") != 0)
    abort();
  ++fz_gave_up;
}

static bool fz_any_root(void)
{
  size_t h;
  for (h = 0; h < HANDLES; ++h)
    if (handle[h] != NULL)
      return true;
  for (h = 0; h < AMBIGS; ++h)
    if (ambig[h] != NULL)
      return true;
  for (h = 0; h < HOLDERS; ++h)
    if (holder[h] != NULL)
      return true;
  return false;
}

static size_t fz_read_protected(void)
{
  GC gc = fz_gc();
  Ring node, next;
  size_t n = 0;
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if ((seg->shield.sm & PROT_DENY_READ) != 0)
      ++n;
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_gen_param_s gens[2] = {{64, 0.8}, {512, 0.5}};
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t pool, ams;
  mps_root_t root, aroot, hroot;
  size_t op;
  bool gave_up = false;

  if (size < 1)
    return 0;
  ndata = 1 + (size_t)(data[0] % 4) * 150;   /* 24 B to 9.6 KiB objects */
  next_id = 1;
  memset(handle, 0, sizeof handle);
  memset(model_handle, 0, sizeof model_handle);
  memset(model_ref, 0, sizeof model_ref);
  memset(ambig, 0, sizeof ambig);
  memset(ambig_base, 0, sizeof ambig_base);
  memset(ambig_off, 0, sizeof ambig_off);
  memset(model_ambig, 0, sizeof model_ambig);
  memset(holder, 0, sizeof holder);
  memset(holder_word, 0, sizeof holder_word);
  memset(holder_base, 0, sizeof holder_base);
  memset(model_holder, 0, sizeof model_holder);
  fail_left = fail_every = fail_skip = 0;
  /* In cool every public call checks the arena, counting through chunk
   * tables as long as the reservation: the default one made those counts
   * most of a run.  The heap here needs little; the arena extends if not. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)4 << 20);
    REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(objfmt_create(&fmt, arena, fz_scan, true) == MPS_RES_OK);
  REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    REQUIRE(mps_pool_create_k(&pool, arena, mps_class_amc(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    REQUIRE(mps_pool_create_k(&ams, arena, mps_class_ams(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, handle, HANDLES)
          == MPS_RES_OK);
  REQUIRE(mps_root_create_table(&aroot, arena, mps_rank_ambig(), 0, ambig, AMBIGS)
          == MPS_RES_OK);
  REQUIRE(mps_root_create_table(&hroot, arena, mps_rank_exact(), 0, holder, HOLDERS)
          == MPS_RES_OK);
  REQUIRE(mps_ap_create_k(&ap, pool, mps_args_none) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    REQUIRE(mps_ap_create_k(&holder_ap, ams, args) == MPS_RES_OK);
  } MPS_ARGS_END(args);

  for (op = 0; op < MAX_OPS && 2 + 2 * op < size && !gave_up; ++op) {
    uint8_t a = data[1 + 2 * op], b = data[2 + 2 * op];
    size_t ha = (size_t)(a >> 4) % HANDLES, hb = (size_t)b % HANDLES;
    size_t k = (size_t)(b >> 4) % REFS;
    fz_countdown = refusal_countdown(arena);
    switch (a % 16) {
    case 0: case 1:
      if (next_id < MAX_OBJECTS) {
        mps_addr_t obj = fz_new(next_id);
        if (obj != NULL) {
          handle[ha] = obj;
          model_handle[ha] = next_id;
        }
        ++next_id;
      }
      break;
    case 2: case 3:
      /* A store into an object that may be grey: the read barrier
       * first, as the protection denies every access. */
      if (handle[ha] != NULL) {
        ((objfmt_obj)handle[ha])->slot[k] = (mps_word_t)handle[hb];
        model_ref[model_handle[ha]][k] = model_handle[hb];
      }
      break;
    case 4: case 5:
      if (handle[hb] != NULL) {
        handle[ha] = fz_ref(handle[hb], k);
        model_handle[ha] = model_ref[model_handle[hb]][k];
      }
      break;
    case 6:
      if (b & 1) {
        handle[ha] = NULL;
        model_handle[ha] = 0;
      } else if (handle[ha] != NULL) {
        ((objfmt_obj)handle[ha])->slot[k] = 0;
        model_ref[model_handle[ha]][k] = 0;
      }
      break;
    case 7:
      fz_garbage(64u + 16u * b);   /* up to 200 KiB */
      break;
    case 8: {
      mps_res_t res = mps_arena_start_collect(arena);
      if (res != MPS_RES_OK) {
        /* No trace could be made: none is left busy. */
        fz_refused(res);
        REQUIRE(!fz_busy());
      } else {
        /* Incremental classes, a VM arena, no root weaker than exact:
         * it runs incrementally. */
        REQUIRE(!fz_gc()->barrier.on || fz_busy());
      }
      break;
    }
    case 9:
      if (b & 0x80) {
        fz_countdown = (Count)(b & 0x3F) + 1;
        arena_fail_after((Arena)arena, fz_countdown);
      }
      if ((b & 0xC0) != 0xC0)
        (void)mps_arena_step(arena, 0.0, 1.0);
      break;
    case 10:
      if (b & 1) {
        mps_arena_park(arena);
        REQUIRE(!fz_busy());
        REQUIRE(fz_read_protected() == 0);
      } else {
        mps_arena_collect(arena);
      }
      break;
    case 12:   /* an ambiguous slot: at an object, inside it, or cleared */
      hb = b % AMBIGS;
      if (handle[ha] == NULL || (b >> 2) % 4 == 3) {
        ambig[hb] = NULL;
        ambig_base[hb] = NULL;
        model_ambig[hb] = 0;
      } else {
        /* the base, a byte of the first words, or the last byte */
        size_t bytes = (2 + REFS + ndata) * W;
        size_t off = (b >> 2) % 4 == 0 ? 0 : (b >> 2) % 4 == 1 ? (size_t)(1 + (b >> 4)) : bytes - 1;
        ambig_base[hb] = handle[ha];
        ambig_off[hb] = off;
        ambig[hb] = (char *)handle[ha] + off;
        model_ambig[hb] = model_handle[ha];
      }
      break;
    case 13:
      fz_hold(hb % HOLDERS, ha, (b >> 4) & 1);
      break;
    case 14:
      if ((b & 3) != 3) {
        /* One to three failures: no segment fails TRACE_SCAN_TRIES
         * times, so none is given up, and nothing may show. */
        fail_left = 1 + (b & 3);
        fail_every = fail_skip = (size_t)(b >> 2) % 8;
      } else {
        /* Every scan fails: a collection of a heap with anything in it
         * reaches a segment, which it must report and give up, and the
         * collection must still end.  Unfixed references are left
         * behind, so the input ends here. */
        mps_lib_assert_fail_t old;
        bool any = fz_any_root();
        Count before = ((Arena)arena)->collections + (fz_busy() ? 1 : 0);
        fail_left = FAIL_ALWAYS;
        fail_every = fail_skip = 0;
        fz_gave_up = 0;
        old = mps_lib_assert_fail_install(fz_report);
        mps_arena_collect(arena);
        (void)mps_lib_assert_fail_install(old);
        fail_left = 0;
        /* Unless the collection was refused its trace (a busy one
         * before it may have had nothing left to scan). */
        REQUIRE(!any || fz_gave_up > 0
                || (fz_fell() && ((Arena)arena)->collections == before));
        REQUIRE(!fz_busy());
        gave_up = true;
      }
      break;
    case 15:
      holder[hb % HOLDERS] = NULL;
      holder_base[hb % HOLDERS] = NULL;
      model_holder[hb % HOLDERS] = 0;
      break;
    default:
      if (b & 1) {
        mps_arena_release(arena);
      } else {
        /* Clamped: allocation does no collection work. */
        Size work;
        mps_arena_clamp(arena);
        work = fz_busy() ? fz_gc()->traces[0]->work : 0;
        fz_garbage(2048);
        if (fz_busy())
          REQUIRE(fz_gc()->traces[0]->work == work);
      }
      break;
    }
    if (!gave_up)
      fz_check();
  }
  arena_fail_after((Arena)arena, 0);
  mps_arena_park(arena);
  REQUIRE(fz_read_protected() == 0);
  if (!gave_up)
    fz_check();

  mps_ap_destroy(holder_ap);
  mps_ap_destroy(ap);
  mps_root_destroy(hroot);
  mps_root_destroy(aroot);
  mps_root_destroy(root);
  mps_pool_destroy(ams);
  mps_pool_destroy(pool);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
