/* fuzz_barrier: stores into old objects under the write barrier, minor
 * and full collections, a walk whose visitor stores, the read barrier of
 * incremental collections, and the barrier switched off, checked against
 * a model of every slot (src/gc/barrier.c).
 *
 * Old objects (OLD of them, about 8 KiB each, so several segments) live
 * in an AMS pool whose chain is never due, behind an exact root table; a
 * young object lives in AMC and is referenced only from the slots of old
 * ones.  The arena is parked, or clamped while an incremental trace the
 * input began is busy, so collections happen only when the input asks.
 * Input: byte 0 seeds identities; then two bytes per operation, the first
 * picking the operation and a slot, the second an old object:
 *   store  a new young object into a slot;
 *   copy   one slot's reference into another (young objects get shared);
 *   clear  a slot;
 *   minor  garbage until the nursery is due, then mps_arena_step;
 *   full   mps_arena_collect;
 *   walk   mps_arena_formatted_objects_walk, whose visitor copies slot 0
 *          of each old object into its slot 1 (a store the barrier cannot
 *          see, since the walk exposes the segment);
 *   other  (the walk's code with bit 3 set) one of the operations below,
 *          by bits 4-7.
 * Every operation above first finishes a busy incremental trace (park).
 * The others:
 *   access  read a slot, or store a new young object into it, with an
 *           incremental trace busy (begun now, by mps_arena_start_collect
 *           or by a due nursery and mps_arena_step, if none is); a store
 *           that hits the write barrier may have its lowering refused;
 *   step    mps_arena_step: a quantum of the busy trace;
 *   postmortem  mps_arena_postmortem then mps_arena_park: the barrier is
 *           switched off for good (barrier_disable);
 *   refuse  the system refuses some protection calls (mprotect, replaced
 *           below) while a collection runs: the second byte says which
 *           raises fail, whether a lowering may fail too, and whether a
 *           failed call changed its first page;
 *   foreign a fault on a page of the target's own, which the barrier's
 *           hook must decline, and a hook of the target's takes;
 *   small   a client arena with grains smaller than a page, which has no
 *           barrier: an object there survives a collection.
 * Checked:
 *   - after a store, the barrier counted a hit exactly when the slot's
 *     segment was protected, and the segment is then unprotected with a
 *     universal summary;
 *   - an access faults on the read barrier exactly when the segment was
 *     read-protected, and leaves it neither read-protected nor grey for
 *     the reading trace; what the mutator read is the young object the
 *     model says, and the slot still holds that very reference when the
 *     trace ends (an unfixed reference would have been moved away);
 *   - outside the arena every segment's applied protection is what the
 *     shield wants, and read protection follows the read barrier's rule;
 *   - after a refused lowering for a store, segments under the read
 *     barrier are still read-protected, and later reads of them fault;
 *   - after postmortem or a refused call (and only then) the barrier is
 *     off: nothing protected, nothing guarded, no trace left busy, and
 *     every old object can be read and written with no fault taken;
 *   - after every collection and at the end, every slot holds the young
 *     object the model says (identity and payload), or null;
 *   - the remembered set is sound: for each old object in a protected
 *     segment, the zone of every reference it holds is in the segment's
 *     summary;
 *   - the library's own checks (seg_check's barrier rules, in cool).
 */
#define _DEFAULT_SOURCE   /* syscall(), MAP_ANONYMOUS */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../include/mps.h"
#include "../include/mpsacl.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../src/gc/gc.h"
#include "../src/gc/seg.h"
#include "../src/protect/fault.h"
#include "../src/protect/prot_os.h"
#include "../test/support/objfmt.h"
#include "support/model.h"
#include "support/probe.h"

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

#define W sizeof(mps_word_t)
#define OLD 32
#define SLOTS 2
#define OLD_DATA 1000
#define YOUNG_DATA 3
#define MAX_OPS 200

static mps_arena_t arena;
static mps_ap_t young_ap;
static mps_addr_t old[OLD];               /* exact root */
static mps_word_t expect[OLD][SLOTS];     /* young identity in each slot, 0: null */
static mps_word_t next_id;
/* References the mutator got from a slot during the busy incremental
 * trace, which the slot must still hold when it ends. */
static mps_addr_t seen[OLD][SLOTS];
static bool seen_any;

/* The system's page protection: this definition takes the C library's
 * place in the program, so the backend (prot_posix.c) calls it.  While
 * `armed`, calls are refused after `skip` of them succeed, for `fail` of
 * them: those that take some access away, and if `lowers`, one that gives
 * every access back, if it comes before any other is refused.  A refused
 * call changes nothing, or only the first page of its range if
 * `partial`: the system may have changed part of it (prot_os.h).  After
 * each refused call the arena gives all its memory access again (gc.c,
 * gc_prot_refused), which a system does not refuse, since those calls
 * only merge its mappings; were it refused, the library would stop with
 * an assertion.  Called from the fault hook too, on this thread. */
static struct {
  volatile bool armed, partial, lowers;
  volatile unsigned skip, fail, refused;
} fz_refuse;

int mprotect(void *addr, size_t len, int prot)
{
  bool lowering = prot == (PROT_READ | PROT_WRITE);
  if (fz_refuse.armed && (!lowering || (fz_refuse.lowers && fz_refuse.refused == 0))) {
    if (fz_refuse.skip > 0) {
      --fz_refuse.skip;
    } else if (fz_refuse.fail > 0) {
      size_t page = (size_t)sysconf(_SC_PAGESIZE);
      --fz_refuse.fail;
      ++fz_refuse.refused;
      if (fz_refuse.partial && len > page)
        (void)syscall(SYS_mprotect, addr, page, prot);
      errno = ENOMEM;
      return -1;
    }
  }
  return (int)syscall(SYS_mprotect, addr, len, prot);
}

static mps_addr_t fz_new(mps_ap_t ap, size_t nrefs, size_t ndata, mps_word_t id)
{
  size_t size = (2 + nrefs + ndata) * W;
  mps_addr_t p;
  do {
    REQUIRE(mps_reserve(&p, ap, size) == MPS_RES_OK);
    objfmt_init_id(p, nrefs, ndata, id);
  } while (!mps_commit(ap, p, size));
  return p;
}

FUZZ_MODEL static void fz_intact(mps_addr_t p, size_t nrefs, size_t ndata, mps_word_t id)
{
  REQUIRE(objfmt_is_id(p, nrefs, ndata, id));
}

static Seg fz_seg(mps_addr_t p)
{
  Seg seg;
  REQUIRE(seg_of_addr(&seg, (Arena)arena, (Addr)p));
  return seg;
}

static GC fz_gc(void)
{
  return ((Arena)arena)->gc;
}

static bool fz_busy(void)
{
  return fz_gc()->busy_traces != TRACE_SET_EMPTY;
}

FUZZ_MODEL static void fz_check_all(void)
{
  GC gc = fz_gc();
  size_t i, s;
  for (i = 0; i < OLD; ++i) {
    objfmt_obj o = old[i];
    Seg seg = fz_seg(o);
    bool guarded = (seg->shield.sm & PROT_DENY_WRITE) != 0;
    fz_intact(o, SLOTS, OLD_DATA, 1 + i);
    for (s = 0; s < SLOTS; ++s) {
      mps_addr_t y = (mps_addr_t)o->slot[s];
      if (expect[i][s] == 0) {
        REQUIRE(y == NULL);
        continue;
      }
      REQUIRE(y != NULL);
      fz_intact(y, 0, YOUNG_DATA, expect[i][s]);
      if (guarded)
        REQUIRE((seg->summary & ((ZoneSet)1 << zone_of_addr(gc->zone_shift, (Addr)y))) != 0);
    }
  }
}

/* Outside the arena: the protection applied is the one the shield wants
 * (the fault hook decides by what it wants), and a segment is
 * read-protected exactly by the read barrier's rule (barrier.h). */
FUZZ_MODEL static void fz_check_prot(void)
{
  GC gc = fz_gc();
  Ring node, next;
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    REQUIRE(seg->shield.pm == seg->shield.sm);
    REQUIRE(((seg->shield.sm & PROT_DENY_READ) != 0)
            == (gc->barrier.on && (seg->grey & gc->barrier.reading) != TRACE_SET_EMPTY));
  }
}

/* The barrier is off: nothing is protected in the shield's view nor, as
 * a read and a store into every old object show, in the system's. */
FUZZ_MODEL static void fz_check_off(void)
{
  GC gc = fz_gc();
  Count hits = gc->barrier.hits, read_hits = gc->barrier.read_hits;
  Ring node, next;
  size_t i;
  REQUIRE(!gc->barrier.on && gc->barrier.guarded == 0);
  REQUIRE(gc->barrier.reading == TRACE_SET_EMPTY && !fz_busy());
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    REQUIRE(seg->shield.sm == PROT_DENY_NONE && seg->shield.pm == PROT_DENY_NONE);
    REQUIRE(seg->rank_set == RANK_SET_EMPTY || seg->summary == ZONE_SET_UNIV);
  }
  for (i = 0; i < OLD; ++i) {
    volatile mps_word_t *slot = &((objfmt_obj)old[i])->slot[0];
    *slot = *slot;
  }
  atomic_signal_fence(memory_order_seq_cst);
  REQUIRE(gc->barrier.hits == hits && gc->barrier.read_hits == read_hits);
}

/* Finish the busy incremental trace, if any: every reference the mutator
 * got during it is where it found it (the read barrier fixed it first). */
FUZZ_MODEL static void fz_settle(void)
{
  size_t i, s;
  if (!fz_busy() && !seen_any)
    return;
  mps_arena_park(arena);
  for (i = 0; i < OLD; ++i)
    for (s = 0; s < SLOTS; ++s) {
      if (seen[i][s] != NULL)
        REQUIRE((mps_addr_t)((objfmt_obj)old[i])->slot[s] == seen[i][s]);
      seen[i][s] = NULL;
    }
  seen_any = false;
  fz_check_all();
}

static void fz_visit(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  objfmt_obj obj = addr;
  (void)fmt;
  (void)pool;
  (void)p;
  (void)s;
  if (OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ && obj->nrefs == SLOTS)
    obj->slot[1] = obj->slot[0];
}

/* Garbage until the nursery is due. */
static void fz_garbage(void)
{
  size_t i;
  mps_addr_t junk;
  for (i = 0; i < 400; ++i) {
    junk = fz_new(young_ap, 0, 12, 0);
    (void)junk;
  }
}

static void fz_minor(void)
{
  fz_garbage();
  REQUIRE(mps_arena_step(arena, 0.0, 1.0));
  mps_arena_park(arena);
}

/* Begin an incremental trace, which the clamp then leaves to faults and
 * steps: of everything, or of the due nursery (that one may end within
 * its first quantum). */
static void fz_begin(bool all)
{
  if (all) {
    REQUIRE(mps_arena_start_collect(arena) == MPS_RES_OK);
  } else {
    fz_garbage();
    REQUIRE(mps_arena_step(arena, 0.0, 1.0));
  }
  mps_arena_clamp(arena);
  fz_check_prot();
}

/* After a refused call outside the tracer's own work, every segment the
 * shield counts as read-protected still is: an incremental trace is busy
 * and relies on it (gc.c, gc_prot_refused). */
FUZZ_MODEL static void fz_check_reading_kept(void)
{
  GC gc = fz_gc();
  Ring node, next;
  RING_FOR(node, &gc->seg_ring, next) {
    Seg seg = PARENT(seg_s, gc_ring, node);
    if ((seg->shield.pm & PROT_DENY_READ) != 0)
      REQUIRE(!fuzz_probe_readable(addr_ptr(seg->base)));
  }
}

/* Read slot s of old object o, or store a new young object there, with
 * an incremental trace busy.  If `refuse`, the system refuses to lower
 * the write barrier for the store, should it hit it. */
static void fz_access(size_t o, size_t s, bool store, bool all, bool refuse)
{
  GC gc = fz_gc();
  objfmt_obj target = old[o];
  volatile mps_word_t *slot = &target->slot[s];
  Count read_hits, hits;
  Seg seg;
  bool reading;
  mps_addr_t got;
  mps_word_t id = 0;

  if (!fz_busy()) {
    fz_settle();
    fz_begin(all);
  }
  seg = fz_seg(target);
  refuse = refuse && store;
  if (store) {
    mps_addr_t y;
    bool writing;
    id = next_id += 2;
    y = fz_new(young_ap, 0, YOUNG_DATA, id);
    reading = (seg->shield.pm & PROT_DENY_READ) != 0;
    writing = (seg->shield.pm & PROT_DENY_WRITE) != 0;
    read_hits = gc->barrier.read_hits;
    hits = gc->barrier.hits;
    refuse = refuse && writing && !reading;
    if (refuse) {
      fz_refuse.skip = 0;
      fz_refuse.fail = 1;
      fz_refuse.partial = false;
      fz_refuse.lowers = true;
      fz_refuse.refused = 0;
      fz_refuse.armed = true;
    }
    *slot = (mps_word_t)y;
    atomic_signal_fence(memory_order_seq_cst);
    fz_refuse.armed = false;
    if (refuse) {
      ProtOS po = PARENT(struct prot_os_s, prot, gc->shield.prot);
      REQUIRE(fz_refuse.refused == 1 && prot_os_failure(po) != MPS_RES_OK);
      fz_check_reading_kept();
    }
    REQUIRE(gc->barrier.read_hits == read_hits + (reading ? 1 : 0));
    /* The scan a read fault makes may raise the write barrier, which the
     * store then hits; otherwise it hits exactly what was raised. */
    if (reading)
      REQUIRE(gc->barrier.hits - hits <= 1);
    else
      REQUIRE(gc->barrier.hits == hits + (writing ? 1 : 0));
    if (gc->barrier.hits != hits)
      REQUIRE(seg->summary == ZONE_SET_UNIV);
    REQUIRE(seg->shield.pm == PROT_DENY_NONE && seg->shield.sm == PROT_DENY_NONE);
    expect[o][s] = id;
    got = y;
  } else {
    reading = (seg->shield.pm & PROT_DENY_READ) != 0;
    read_hits = gc->barrier.read_hits;
    got = (mps_addr_t)*slot;
    atomic_signal_fence(memory_order_seq_cst);
    REQUIRE(gc->barrier.read_hits == read_hits + (reading ? 1 : 0));
    REQUIRE((seg->shield.pm & PROT_DENY_READ) == 0);
    id = expect[o][s];
  }
  /* The fault scanned it, or it needed no scan. */
  REQUIRE((seg->grey & gc->barrier.reading) == TRACE_SET_EMPTY);
  fz_check_prot();
  if (id == 0) {
    REQUIRE(got == NULL);
  } else {
    REQUIRE(got != NULL);
    fz_intact(got, 0, YOUNG_DATA, id);     /* may fault on its own segment */
    if (fz_busy()) {
      seen[o][s] = got;
      seen_any = true;
    }
  }
  if (refuse) {
    /* Until the next collection begins, the shield still counts some
     * segments as write-protected that the refusal opened; it then
     * switches the barrier off (trace.c, trace_create). */
    fz_settle();
    mps_arena_collect(arena);
    fz_check_off();
    fz_check_all();
  }
}

/* mps_arena_postmortem outside any operation, then back to work: the
 * barrier stays off for the rest of the run. */
static void fz_postmortem(void)
{
  fz_settle();
  mps_arena_postmortem(arena);
  mps_arena_park(arena);
  fz_check_off();
  fz_check_all();
}

/* A collection during which the system refuses protection calls as
 * `how` says (see fz_refuse).  If it refused one, the barrier is then
 * off, with the incremental trace finished; if not, it is as before. */
static void fz_refused(uint8_t how, bool all)
{
  GC gc = fz_gc();
  ProtOS po = PARENT(struct prot_os_s, prot, gc->shield.prot);
  bool on = gc->barrier.on;
  Res before;
  fz_settle();
  before = prot_os_failure(po);
  if (!all)
    fz_garbage();
  fz_refuse.skip = how & 7;
  fz_refuse.fail = 1 + ((how >> 3) & 3);
  fz_refuse.partial = (how & 0x20) != 0;
  fz_refuse.lowers = (how & 0x40) != 0;
  fz_refuse.refused = 0;
  fz_refuse.armed = true;
  if (all)
    REQUIRE(mps_arena_start_collect(arena) == MPS_RES_OK);
  else
    REQUIRE(mps_arena_step(arena, 0.0, 1.0));
  fz_refuse.armed = false;
  mps_arena_clamp(arena);
  if (fz_refuse.refused > 0) {
    /* The first failure is the one kept. */
    REQUIRE(prot_os_failure(po) == (before != MPS_RES_OK ? before : MPS_RES_MEMORY));
    fz_check_off();
  } else {
    REQUIRE(prot_os_failure(po) == before && gc->barrier.on == on);
    fz_check_prot();
  }
  fz_settle();
  fz_check_all();
}

/* A page of the target's own, protected, and the hook that takes its
 * faults, registered after the arena's (so asked after it) and kept for
 * the process. */
static char *fz_page;
static size_t fz_page_size;
static FaultRegStruct fz_reg;
static volatile unsigned fz_foreign_faults;

static bool fz_foreign_hook(void *closure, Addr addr, bool is_write)
{
  char *p = (char *)addr_ptr(addr);
  (void)closure;
  (void)is_write;
  if (fz_page == NULL || p < fz_page || p >= fz_page + fz_page_size)
    return false;
  REQUIRE(syscall(SYS_mprotect, fz_page, fz_page_size, PROT_READ | PROT_WRITE) == 0);
  ++fz_foreign_faults;
  return true;
}

static void fz_foreign(uint8_t value)
{
  GC gc = fz_gc();
  Count hits = gc->barrier.hits, read_hits = gc->barrier.read_hits;
  unsigned faults;
  if (fz_page == NULL) {
    void *p;
    fz_page_size = (size_t)sysconf(_SC_PAGESIZE);
    p = mmap(NULL, fz_page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    REQUIRE(fault_register(&fz_reg, fz_foreign_hook, NULL) == MPS_RES_OK);
    fz_page = p;
  }
  faults = fz_foreign_faults;
  REQUIRE(syscall(SYS_mprotect, fz_page, fz_page_size, PROT_NONE) == 0);
  *(volatile char *)&fz_page[value] = (char)value;
  atomic_signal_fence(memory_order_seq_cst);
  REQUIRE(fz_foreign_faults == faults + 1 && fz_page[value] == (char)value);
  REQUIRE(gc->barrier.hits == hits && gc->barrier.read_hits == read_hits);
}

/* A client arena whose grains are smaller than a page: no barrier (it
 * could not protect a segment alone), yet an old object's reference keeps
 * its young object through a collection. */
static _Alignas(4096) char fz_small_block[256 << 10];

static void fz_small(mps_word_t id)
{
  mps_gen_param_s gens[1] = {{64, 0.5}};
  mps_arena_t sa;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_root_t root;
  mps_addr_t ref[1];
  GC gc;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_CL_BASE, fz_small_block);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, sizeof fz_small_block);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, (size_t)512);
    REQUIRE(mps_arena_create_k(&sa, mps_arena_class_cl(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(objfmt_create(&fmt, sa, objfmt_scan, true) == MPS_RES_OK);
  REQUIRE(mps_chain_create(&chain, sa, 1, gens) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    REQUIRE(mps_pool_create_k(&pool, sa, mps_class_amc(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  gc = ((Arena)sa)->gc;
  REQUIRE(!gc->barrier.on && !gc->barrier.registered);
  REQUIRE(mps_root_create_table(&root, sa, mps_rank_exact(), 0, ref, 1) == MPS_RES_OK);
  REQUIRE(mps_ap_create_k(&ap, pool, mps_args_none) == MPS_RES_OK);
  ref[0] = fz_new(ap, 1, YOUNG_DATA, id);
  ((objfmt_obj)ref[0])->slot[0] = (mps_word_t)fz_new(ap, 0, YOUNG_DATA, id + 2);
  mps_arena_collect(sa);
  fz_intact(ref[0], 1, YOUNG_DATA, id);
  fz_intact((mps_addr_t)((objfmt_obj)ref[0])->slot[0], 0, YOUNG_DATA, id + 2);
  REQUIRE(!gc->barrier.on && gc->barrier.hits == 0 && gc->barrier.raises == 0);
  mps_ap_destroy(ap);
  mps_root_destroy(root);
  mps_pool_destroy(pool);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(sa);
}

/* The operations of the walk's code with bit 3 set: `sub` is bits 4-7,
 * `b` the second byte. */
static void fz_other(unsigned sub, uint8_t b)
{
  size_t o = b % OLD, s = sub & 1;
  if (sub < 8) {
    fz_access(o, s, (sub & 2) != 0, (sub & 4) != 0, (b & 0x80) != 0);
    return;
  }
  switch (sub) {
  case 8: case 9:
    /* With no trace busy a step may begin one, which must not meet the
     * references seen during the last. */
    if (!fz_busy())
      fz_settle();
    if (mps_arena_step(arena, 0.0, 1.0))
      fz_check_prot();
    if (!fz_busy())
      fz_settle();
    break;
  case 10:
    fz_postmortem();
    break;
  case 11: case 12:
    fz_refused(b, sub == 11);
    break;
  case 13:
    fz_foreign(b);
    break;
  case 14:
    fz_small((mps_word_t)b << 8 | 1);
    break;
  default:
    /* Read every slot of the old object, one access each. */
    fz_access(o, 0, false, (b & 0x80) != 0, false);
    fz_access(o, 1, false, (b & 0x80) != 0, false);
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_gen_param_s young_gens[2] = {{32, 0.8}, {256, 0.5}};
  mps_gen_param_s old_gens[1] = {{1 << 20, 0.5}};
  mps_fmt_t fmt_moving, fmt_fixed;
  mps_chain_t young_chain, old_chain;
  mps_pool_t young_pool, old_pool;
  mps_root_t root;
  mps_ap_t ap;
  GC gc;
  size_t i, op;

  if (size < 1)
    return 0;
  next_id = (mps_word_t)data[0] << 8 | 1;
  /* In cool every public call checks the arena, counting through chunk
   * tables as long as the reservation: the default one made those counts
   * most of a run.  The heap here needs little; the arena extends if not. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)4 << 20);
    REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(objfmt_create(&fmt_moving, arena, objfmt_scan, true) == MPS_RES_OK);
  REQUIRE(objfmt_create(&fmt_fixed, arena, objfmt_scan, false) == MPS_RES_OK);
  REQUIRE(mps_chain_create(&young_chain, arena, 2, young_gens) == MPS_RES_OK);
  REQUIRE(mps_chain_create(&old_chain, arena, 1, old_gens) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt_moving);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, young_chain);
    REQUIRE(mps_pool_create_k(&young_pool, arena, mps_class_amc(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt_fixed);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, old_chain);
    REQUIRE(mps_pool_create_k(&old_pool, arena, mps_class_ams(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  memset(old, 0, sizeof old);
  memset(expect, 0, sizeof expect);
  memset(seen, 0, sizeof seen);
  seen_any = false;
  REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, old, OLD) == MPS_RES_OK);
  mps_arena_park(arena);
  REQUIRE(mps_ap_create_k(&ap, old_pool, mps_args_none) == MPS_RES_OK);
  for (i = 0; i < OLD; ++i)
    old[i] = fz_new(ap, SLOTS, OLD_DATA, 1 + i);
  mps_ap_destroy(ap);
  REQUIRE(mps_ap_create_k(&young_ap, young_pool, mps_args_none) == MPS_RES_OK);
  gc = ((Arena)arena)->gc;

  for (op = 0; op < MAX_OPS && 2 + 2 * op < size; ++op) {
    uint8_t a = data[1 + 2 * op], b = data[2 + 2 * op];
    size_t o = b % OLD, s = (a >> 3) % SLOTS;
    objfmt_obj target = old[o];
    if (a % 16 == 15) {
      fz_other(a >> 4, b);
      continue;
    }
    fz_settle();
    switch (a % 8) {
    case 0: case 1: case 2: {
      mps_word_t id = next_id += 2;
      Count hits = gc->barrier.hits;
      bool guarded;
      mps_addr_t y = fz_new(young_ap, 0, YOUNG_DATA, id);
      Seg seg = fz_seg(target);
      guarded = (seg->shield.sm & PROT_DENY_WRITE) != 0;
      target->slot[s] = (mps_word_t)y;
      /* The fault hook, a signal handler, may have changed what the
       * compiler would otherwise assume the store left alone. */
      atomic_signal_fence(memory_order_seq_cst);
      expect[o][s] = id;
      REQUIRE(gc->barrier.hits == hits + (guarded ? 1 : 0));
      REQUIRE((seg->shield.sm & PROT_DENY_WRITE) == 0 && seg->shield.pm == PROT_DENY_NONE);
      REQUIRE(seg->summary == ZONE_SET_UNIV);
      break;
    }
    case 3: {
      size_t from = (size_t)(a >> 4) % OLD;
      target->slot[s] = ((objfmt_obj)old[from])->slot[(a >> 2) % SLOTS];
      expect[o][s] = expect[from][(a >> 2) % SLOTS];
      break;
    }
    case 4:
      target->slot[s] = 0;
      expect[o][s] = 0;
      break;
    case 5:
      fz_minor();
      fz_check_all();
      break;
    case 6:
      mps_arena_collect(arena);
      fz_check_all();
      break;
    default:
      mps_arena_formatted_objects_walk(arena, fz_visit, NULL, 0);
      for (i = 0; i < OLD; ++i)
        expect[i][1] = expect[i][0];
      break;
    }
  }
  fz_settle();
  fz_minor();
  fz_check_all();

  mps_ap_destroy(young_ap);
  mps_root_destroy(root);
  mps_pool_destroy(old_pool);
  mps_pool_destroy(young_pool);
  mps_chain_destroy(old_chain);
  mps_chain_destroy(young_chain);
  mps_fmt_destroy(fmt_fixed);
  mps_fmt_destroy(fmt_moving);
  mps_arena_destroy(arena);
  return 0;
}
