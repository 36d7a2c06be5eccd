/* heap.c: the Scheme interpreter's use of the memory manager.
 *
 * It follows the integration walk-through (manual/guide/lang.rst):
 *   - one virtual memory arena;
 *   - an AMC pool for every object that holds references, and an AMCZ
 *     pool for the leaf objects (strings and flonums), each with its own
 *     format and allocation point, sharing one generation chain;
 *   - the main thread registered, its stack and registers an ambiguous
 *     root whose cold end is a local variable of main;
 *   - exact roots for the tables the interpreter keeps in C: the
 *     globals (an area scanned for zero-tagged words), the value stack
 *     (a scanning function, because only its used part is live) and the
 *     symbol table (a table of references, re-registered when it grows);
 *   - GC messages enabled and drained after each toplevel form into the
 *     statistics that --stats prints.
 *
 * Invariants (see scheme.h for the value representation):
 *   1. Every committed object in either pool is scannable and skippable:
 *      its type word is set and its size fields are final before
 *      mps_commit, and nothing changes an object's size afterwards.
 *   2. Every object is at least two words, so the forwarding method can
 *      always overwrite it; objects of exactly two words become
 *      TYPE_FWD2, longer ones TYPE_FWD, which records the size.
 *   3. Every word of a root or of a scanned object is a tagged value or
 *      (symbol table only) null, so fixing exactly the zero-tagged
 *      non-null words is exact.
 *   4. Nothing that can fail or collect runs between mps_reserve and
 *      mps_commit: the only code there stores into the new block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/mps.h"
#include "../../include/mpsavm.h"
#include "../../include/mpscamc.h"
#include "scheme.h"

static mps_arena_t heap_arena;
static mps_chain_t heap_chain;
static mps_fmt_t heap_obj_fmt, heap_leaf_fmt;
static mps_pool_t heap_obj_pool, heap_leaf_pool;
static mps_ap_t heap_obj_ap, heap_leaf_ap;
static mps_thr_t heap_thread;
static mps_root_t heap_stack_root, heap_globals_root, heap_vstack_root, heap_symtab_root;
static int heap_verbose_gc;

obj_t heap_globals[GLOBAL_COUNT];
obj_t *heap_vstack;
size_t heap_vsp;
size_t heap_vstack_size = (size_t)1 << 18;

static void heap_check(mps_res_t res, const char *what)
{
  if (res != MPS_RES_OK) {
    fprintf(stderr, "scheme: %s failed (mps_res_t %d)\n", what, res);
    exit(EXIT_FAILURE);
  }
}

/* ---- The format methods ------------------------------------------------ */

static size_t heap_size_of(obj_t obj)
{
  switch (SCM_TYPE(obj)) {
  case TYPE_PAIR:
    return SCM_ALIGN_UP(sizeof(scm_pair_s));
  case TYPE_SYMBOL:
    return SCM_ALIGN_UP(sizeof(scm_symbol_s));
  case TYPE_VECTOR:
    return SCM_ALIGN_UP(offsetof(scm_vector_s, elems) + obj->vector.length * sizeof(obj_t));
  case TYPE_CLOSURE:
    return SCM_ALIGN_UP(sizeof(scm_closure_s));
  case TYPE_PRIM:
    return SCM_ALIGN_UP(sizeof(scm_prim_s));
  case TYPE_FRAME:
    return SCM_ALIGN_UP(offsetof(scm_frame_s, vals) + obj->frame.length * sizeof(obj_t));
  case TYPE_STRING:
    return SCM_ALIGN_UP(offsetof(scm_string_s, chars) + obj->string.length + 1);
  case TYPE_FLONUM:
    return SCM_ALIGN_UP(sizeof(scm_flonum_s));
  case TYPE_FWD2:
    return SCM_ALIGN_UP(sizeof(scm_fwd2_s));
  case TYPE_FWD:
    return obj->fwd.size;
  case TYPE_PAD1:
    return SCM_ALIGN_UP(sizeof(scm_pad1_s));
  case TYPE_PAD:
    return obj->pad.size;
  default:
    fprintf(stderr, "scheme: bad type word %#lx at %p in the heap\n",
            (unsigned long)SCM_TYPE(obj), (void *)obj);
    abort();
  }
}

static mps_addr_t heap_skip(mps_addr_t base)
{
  return (char *)base + heap_size_of(base);
}

/* Fix one reference held in an lvalue of type obj_t, skipping fixnums and
 * immediates (invariant 3).  The copy through an mps_addr_t avoids
 * reading an obj_t through another type. */
#define HEAP_FIX(ref)                                                   \
  do {                                                                  \
    obj_t _heap_o = (ref);                                              \
    if (SCM_IS_PTR(_heap_o)) {                                          \
      mps_addr_t _heap_a = _heap_o;                                     \
      mps_res_t _heap_res = MPS_FIX12(ss, &_heap_a);                    \
      if (_heap_res != MPS_RES_OK)                                      \
        return _heap_res;                                               \
      (ref) = _heap_a;                                                  \
    }                                                                   \
  } while (0)

static mps_res_t heap_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  MPS_SCAN_BEGIN(ss) {
    char *p = base;
    while (p < (char *)limit) {
      obj_t obj = (obj_t)(void *)p;
      size_t i;
      switch (SCM_TYPE(obj)) {
      case TYPE_PAIR:
        HEAP_FIX(obj->pair.car);
        HEAP_FIX(obj->pair.cdr);
        break;
      case TYPE_SYMBOL:
        HEAP_FIX(obj->symbol.name);
        HEAP_FIX(obj->symbol.value);
        break;
      case TYPE_VECTOR:
        for (i = 0; i < obj->vector.length; ++i)
          HEAP_FIX(obj->vector.elems[i]);
        break;
      case TYPE_CLOSURE:
        HEAP_FIX(obj->closure.names);
        HEAP_FIX(obj->closure.body);
        HEAP_FIX(obj->closure.env);
        HEAP_FIX(obj->closure.name);
        /* nreq, rest and nslots are fixnums and immediates */
        break;
      case TYPE_FRAME:
        HEAP_FIX(obj->frame.parent);
        HEAP_FIX(obj->frame.names);
        for (i = 0; i < obj->frame.length; ++i)
          HEAP_FIX(obj->frame.vals[i]);
        break;
      case TYPE_PRIM:
      case TYPE_FWD2:
      case TYPE_FWD:
      case TYPE_PAD1:
      case TYPE_PAD:
        break;
      default:
        /* Strings and flonums belong to the AMCZ pool, which is never
         * scanned; anything else here is a corrupt heap. */
        fprintf(stderr, "scheme: scanning bad type word %#lx at %p\n",
                (unsigned long)SCM_TYPE(obj), (void *)obj);
        abort();
      }
      p += heap_size_of(obj);
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

static void heap_fwd(mps_addr_t old, mps_addr_t new_addr)
{
  obj_t obj = old;
  size_t size = heap_size_of(obj);
  if (size < SCM_ALIGN_UP(sizeof(scm_fwd2_s))) {
    fprintf(stderr, "scheme: object of %lu bytes too small to forward\n", (unsigned long)size);
    abort();
  }
  if (size == SCM_ALIGN_UP(sizeof(scm_fwd2_s))) {
    obj->fwd2.type = TYPE_FWD2;
    obj->fwd2.fwd = new_addr;
  } else {
    obj->fwd.type = TYPE_FWD;
    obj->fwd.fwd = new_addr;
    obj->fwd.size = size;
  }
}

static mps_addr_t heap_isfwd(mps_addr_t addr)
{
  obj_t obj = addr;
  switch (SCM_TYPE(obj)) {
  case TYPE_FWD2:
    return obj->fwd2.fwd;
  case TYPE_FWD:
    return obj->fwd.fwd;
  default:
    return NULL;
  }
}

static void heap_pad(mps_addr_t addr, size_t size)
{
  obj_t obj = addr;
  if (size == SCM_ALIGN_UP(sizeof(scm_pad1_s))) {
    obj->pad1.type = TYPE_PAD1;
  } else {
    obj->pad.type = TYPE_PAD;
    obj->pad.size = size;
  }
}

/* ---- Roots -------------------------------------------------------------- */

/* Only the used part of the value stack holds live references; the slots
 * above heap_vsp are stale and must not be fixed. */
static mps_res_t heap_vstack_scan(mps_ss_t ss, void *p, size_t s)
{
  (void)p;
  (void)s;
  MPS_SCAN_BEGIN(ss) {
    size_t i;
    for (i = 0; i < heap_vsp; ++i)
      HEAP_FIX(heap_vstack[i]);
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

/* The symbol table: open addressing by the hash of the name, so probing
 * does not depend on addresses, which change when symbols move.  The
 * table is malloc'd memory registered as a table root; every entry is
 * null or a symbol. */
static mps_addr_t *heap_symtab;
static size_t heap_symtab_size, heap_symtab_count;

static size_t heap_hash(const char *s, size_t length)
{
  size_t h = 2166136261u;
  size_t i;
  for (i = 0; i < length; ++i)
    h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

/* The slot holding the symbol called name, or the empty slot where it
 * would go.  Allocates nothing. */
static size_t heap_symtab_find(const char *name, size_t length)
{
  size_t mask = heap_symtab_size - 1;
  size_t i = heap_hash(name, length) & mask;
  for (;;) {
    obj_t sym = heap_symtab[i];
    if (sym == NULL)
      return i;
    if (sym->symbol.name->string.length == length
        && memcmp(sym->symbol.name->string.chars, name, length) == 0)
      return i;
    i = (i + 1) & mask;
  }
}

static mps_addr_t *heap_symtab_new(size_t size, mps_root_t *root_o)
{
  mps_addr_t *table = malloc(size * sizeof *table);
  size_t i;
  if (table == NULL)
    scm_fatal("out of memory for the symbol table");
  /* The root may be scanned as soon as it exists: fill it first. */
  for (i = 0; i < size; ++i)
    table[i] = NULL;
  heap_check(mps_root_create_table(root_o, heap_arena, mps_rank_exact(), 0, table, size),
             "mps_root_create_table (symbol table)");
  return table;
}

/* Double the table.  The old table stays registered until every symbol
 * is in the new one, so each symbol is reachable from a root at every
 * instant; the old root goes before its memory does. */
static void heap_symtab_grow(void)
{
  mps_addr_t *old = heap_symtab;
  size_t old_size = heap_symtab_size;
  mps_root_t old_root = heap_symtab_root;
  size_t i;

  heap_symtab = heap_symtab_new(old_size * 2, &heap_symtab_root);
  heap_symtab_size = old_size * 2;
  for (i = 0; i < old_size; ++i) {
    obj_t sym = old[i];
    if (sym != NULL) {
      size_t slot = heap_symtab_find(sym->symbol.name->string.chars,
                                     sym->symbol.name->string.length);
      heap_symtab[slot] = sym;
    }
  }
  mps_root_destroy(old_root);
  free(old);
}

static void heap_symtab_insert(obj_t sym)
{
  size_t slot = heap_symtab_find(sym->symbol.name->string.chars,
                                 sym->symbol.name->string.length);
  heap_symtab[slot] = sym;
  ++heap_symtab_count;
  if (heap_symtab_count * 2 > heap_symtab_size)
    heap_symtab_grow();
}

obj_t heap_intern(const char *name)
{
  size_t length = strlen(name);
  size_t slot = heap_symtab_find(name, length);
  obj_t sym = heap_symtab[slot];
  if (sym == NULL) {
    obj_t string = heap_string(name, length);
    sym = heap_symbol(string);
    heap_symtab_insert(sym);
  }
  return sym;
}

/* Strings are immutable in this Scheme, so a new symbol shares the string
 * it was made from.  The caller holds string in a local, so it is pinned
 * and its characters stay put while the symbol is allocated. */
obj_t heap_intern_string(obj_t string)
{
  size_t slot = heap_symtab_find(string->string.chars, string->string.length);
  obj_t sym = heap_symtab[slot];
  if (sym == NULL) {
    sym = heap_symbol(string);
    heap_symtab_insert(sym);
  }
  return sym;
}

/* ---- Allocation ---------------------------------------------------------- */

/* Each constructor runs the reserve/commit loop: the block is initialized
 * completely between the two (invariant 1), from arguments the caller
 * holds, and initialized again if mps_commit reports that the collector
 * ran (and may have moved what the arguments refer to) meanwhile. */

static void heap_oom(void)
{
  scm_error("out of memory", NULL);
}

obj_t heap_pair(obj_t car, obj_t cdr)
{
  size_t size = SCM_ALIGN_UP(sizeof(scm_pair_s));
  mps_addr_t p;
  obj_t obj;
  do {
    if (mps_reserve(&p, heap_obj_ap, size) != MPS_RES_OK)
      heap_oom();
    obj = p;
    obj->pair.type = TYPE_PAIR;
    obj->pair.car = car;
    obj->pair.cdr = cdr;
  } while (!mps_commit(heap_obj_ap, p, size));
  return obj;
}

obj_t heap_symbol(obj_t name)
{
  size_t size = SCM_ALIGN_UP(sizeof(scm_symbol_s));
  mps_addr_t p;
  obj_t obj;
  do {
    if (mps_reserve(&p, heap_obj_ap, size) != MPS_RES_OK)
      heap_oom();
    obj = p;
    obj->symbol.type = TYPE_SYMBOL;
    obj->symbol.name = name;
    obj->symbol.value = SCM_UNBOUND;
  } while (!mps_commit(heap_obj_ap, p, size));
  return obj;
}

obj_t heap_vector(size_t length, obj_t fill)
{
  size_t size, i;
  mps_addr_t p;
  obj_t obj;
  if (length > ((size_t)1 << 28))
    scm_error("vector too long", SCM_FIX(length));
  size = SCM_ALIGN_UP(offsetof(scm_vector_s, elems) + length * sizeof(obj_t));
  do {
    if (mps_reserve(&p, heap_obj_ap, size) != MPS_RES_OK)
      heap_oom();
    obj = p;
    obj->vector.type = TYPE_VECTOR;
    obj->vector.length = length;
    for (i = 0; i < length; ++i)
      obj->vector.elems[i] = fill;
  } while (!mps_commit(heap_obj_ap, p, size));
  return obj;
}

obj_t heap_closure(obj_t names, obj_t body, obj_t env, obj_t name, size_t nreq, int rest,
                   size_t nslots)
{
  size_t size = SCM_ALIGN_UP(sizeof(scm_closure_s));
  mps_addr_t p;
  obj_t obj;
  do {
    if (mps_reserve(&p, heap_obj_ap, size) != MPS_RES_OK)
      heap_oom();
    obj = p;
    obj->closure.type = TYPE_CLOSURE;
    obj->closure.names = names;
    obj->closure.body = body;
    obj->closure.env = env;
    obj->closure.name = name;
    obj->closure.nreq = SCM_FIX(nreq);
    obj->closure.rest = SCM_BOOL(rest);
    obj->closure.nslots = SCM_FIX(nslots);
  } while (!mps_commit(heap_obj_ap, p, size));
  return obj;
}

obj_t heap_prim(size_t index)
{
  size_t size = SCM_ALIGN_UP(sizeof(scm_prim_s));
  mps_addr_t p;
  obj_t obj;
  do {
    if (mps_reserve(&p, heap_obj_ap, size) != MPS_RES_OK)
      heap_oom();
    obj = p;
    obj->prim.type = TYPE_PRIM;
    obj->prim.index = index;
  } while (!mps_commit(heap_obj_ap, p, size));
  return obj;
}

obj_t heap_frame(obj_t parent, obj_t names, size_t length, const obj_t *args, size_t nargs)
{
  size_t size = SCM_ALIGN_UP(offsetof(scm_frame_s, vals) + length * sizeof(obj_t));
  size_t i;
  mps_addr_t p;
  obj_t obj;
  do {
    if (mps_reserve(&p, heap_obj_ap, size) != MPS_RES_OK)
      heap_oom();
    obj = p;
    obj->frame.type = TYPE_FRAME;
    obj->frame.length = length;
    obj->frame.parent = parent;
    obj->frame.names = names;
    for (i = 0; i < nargs; ++i)
      obj->frame.vals[i] = args[i];
    for (; i < length; ++i)
      obj->frame.vals[i] = SCM_UNBOUND;
  } while (!mps_commit(heap_obj_ap, p, size));
  return obj;
}

/* chars must not point into the heap: a collection during the reserve
 * could move the object they belong to. */
obj_t heap_string(const char *chars, size_t length)
{
  obj_t obj = heap_string_blank(length);
  memcpy(obj->string.chars, chars, length);
  return obj;
}

obj_t heap_string_blank(size_t length)
{
  size_t size;
  mps_addr_t p;
  obj_t obj;
  if (length > ((size_t)1 << 30))
    scm_error("string too long", SCM_FIX(length));
  size = SCM_ALIGN_UP(offsetof(scm_string_s, chars) + length + 1);
  do {
    if (mps_reserve(&p, heap_leaf_ap, size) != MPS_RES_OK)
      heap_oom();
    obj = p;
    obj->string.type = TYPE_STRING;
    obj->string.length = length;
    /* Zero the whole block, so no uninitialized byte is ever copied. */
    memset(obj->string.chars, 0, size - offsetof(scm_string_s, chars));
  } while (!mps_commit(heap_leaf_ap, p, size));
  return obj;
}

obj_t heap_flonum(double d)
{
  size_t size = SCM_ALIGN_UP(sizeof(scm_flonum_s));
  mps_addr_t p;
  obj_t obj;
  do {
    if (mps_reserve(&p, heap_leaf_ap, size) != MPS_RES_OK)
      heap_oom();
    obj = p;
    obj->flonum.type = TYPE_FLONUM;
    memcpy(obj->flonum.bytes, &d, sizeof d);
  } while (!mps_commit(heap_leaf_ap, p, size));
  return obj;
}

double heap_flonum_value(obj_t flonum)
{
  double d;
  memcpy(&d, flonum->flonum.bytes, sizeof d);
  return d;
}

/* ---- Messages and statistics ------------------------------------------------ */

#define HEAP_REASONS 8

static struct {
  unsigned long starts;      /* gc_start messages */
  unsigned long collections; /* gc messages: finished collections */
  unsigned long long condemned, live, not_condemned;
  struct {
    char why[120];
    unsigned long count;
  } reasons[HEAP_REASONS];
  size_t reason_count;
} heap_stats;

static void heap_note_reason(const char *why)
{
  size_t i;
  if (why == NULL)
    why = "(no reason given)";
  for (i = 0; i < heap_stats.reason_count; ++i) {
    if (strcmp(heap_stats.reasons[i].why, why) == 0) {
      ++heap_stats.reasons[i].count;
      return;
    }
  }
  if (i == HEAP_REASONS)
    i = HEAP_REASONS - 1; /* the last entry collects the rest */
  else
    ++heap_stats.reason_count;
  if (heap_stats.reasons[i].count == 0) {
    strncpy(heap_stats.reasons[i].why, why, sizeof heap_stats.reasons[i].why - 1);
    heap_stats.reasons[i].why[sizeof heap_stats.reasons[i].why - 1] = '\0';
  }
  ++heap_stats.reasons[i].count;
}

void heap_messages_drain(void)
{
  mps_message_type_t type;
  while (mps_message_queue_type(&type, heap_arena)) {
    mps_message_t message;
    if (!mps_message_get(&message, heap_arena, type))
      break;
    if (type == mps_message_type_gc_start()) {
      const char *why = mps_message_gc_start_why(heap_arena, message);
      ++heap_stats.starts;
      heap_note_reason(why);
      if (heap_verbose_gc)
        fprintf(stderr, "[gc start: %s]\n", why != NULL ? why : "?");
    } else if (type == mps_message_type_gc()) {
      size_t condemned = mps_message_gc_condemned_size(heap_arena, message);
      size_t live = mps_message_gc_live_size(heap_arena, message);
      size_t not_condemned = mps_message_gc_not_condemned_size(heap_arena, message);
      ++heap_stats.collections;
      heap_stats.condemned += condemned;
      heap_stats.live += live;
      heap_stats.not_condemned += not_condemned;
      if (heap_verbose_gc)
        fprintf(stderr, "[gc: condemned %lu, live %lu, not condemned %lu]\n",
                (unsigned long)condemned, (unsigned long)live, (unsigned long)not_condemned);
    }
    mps_message_discard(heap_arena, message);
  }
}

void heap_collect(void)
{
  mps_arena_collect(heap_arena);
  /* mps_arena_collect leaves the arena parked. */
  mps_arena_release(heap_arena);
}

/* Walk every object in both pools with the arena parked, checking that
 * each has a type word its pool may hold: a corrupt skip method, size
 * field or type word shows up here rather than as a wrong answer later.
 * The stepper reads only the object it is given (other objects may be
 * behind a barrier, and the walk holds the arena). */
typedef struct heap_walk_s {
  size_t objects, bad;
} heap_walk_s;

static void heap_walk_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  heap_walk_s *walk = p;
  obj_t obj = addr;
  int ok;
  (void)fmt;
  (void)s;
  ++walk->objects;
  switch (SCM_TYPE(obj)) {
  case TYPE_PAIR: case TYPE_SYMBOL: case TYPE_VECTOR: case TYPE_CLOSURE:
  case TYPE_PRIM: case TYPE_FRAME:
    ok = pool == heap_obj_pool;
    break;
  case TYPE_STRING: case TYPE_FLONUM:
    ok = pool == heap_leaf_pool;
    break;
  case TYPE_FWD2: case TYPE_FWD: case TYPE_PAD1: case TYPE_PAD:
    ok = 1;
    break;
  default:
    ok = 0;
    break;
  }
  if (!ok) {
    ++walk->bad;
    fprintf(stderr, "scheme: heap walk: type word %#lx at %p in the wrong pool\n",
            (unsigned long)SCM_TYPE(obj), (void *)obj);
  }
}

size_t heap_walk_check(void)
{
  heap_walk_s walk = {0, 0};
  mps_arena_park(heap_arena);
  mps_arena_formatted_objects_walk(heap_arena, heap_walk_step, &walk, 0);
  mps_arena_release(heap_arena);
  if (walk.bad > 0)
    scm_fatal("heap walk found bad objects");
  return walk.objects;
}

unsigned long heap_collections(void)
{
  return (unsigned long)mps_collections(heap_arena);
}

void heap_stats_print(FILE *stream)
{
  size_t i;
  heap_messages_drain();
  fprintf(stream, "gc: %lu collections started, %lu finished (mps_collections %lu)\n",
          heap_stats.starts, heap_stats.collections,
          (unsigned long)mps_collections(heap_arena));
  fprintf(stream, "gc: condemned %llu bytes, live %llu bytes, not condemned %llu bytes\n",
          heap_stats.condemned, heap_stats.live, heap_stats.not_condemned);
  if (heap_stats.condemned > 0)
    fprintf(stream, "gc: survival rate %.1f%%\n",
            100.0 * (double)heap_stats.live / (double)heap_stats.condemned);
  for (i = 0; i < heap_stats.reason_count; ++i)
    fprintf(stream, "gc: %lu x %s\n", heap_stats.reasons[i].count, heap_stats.reasons[i].why);
  fprintf(stream, "arena: committed %lu bytes, reserved %lu bytes\n",
          (unsigned long)mps_arena_committed(heap_arena),
          (unsigned long)mps_arena_reserved(heap_arena));
}

/* ---- Setting up and tearing down ------------------------------------------- */

static void heap_fmt_create(mps_fmt_t *fmt_o, int scanned)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, SCM_ALIGN);
    if (scanned)
      MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, heap_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, heap_skip);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_FWD, heap_fwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ISFWD, heap_isfwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, heap_pad);
    res = mps_fmt_create_k(fmt_o, heap_arena, args);
  } MPS_ARGS_END(args);
  heap_check(res, "mps_fmt_create_k");
}

static void heap_pool_create(mps_pool_t *pool_o, mps_pool_class_t pool_class, mps_fmt_t fmt)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, heap_chain);
    res = mps_pool_create_k(pool_o, heap_arena, pool_class, args);
  } MPS_ARGS_END(args);
  heap_check(res, "mps_pool_create_k");
}

void heap_init(const heap_options_s *opts, void *stack_cold)
{
  mps_gen_param_s gens[2];
  mps_res_t res;
  size_t i;

  heap_verbose_gc = opts->verbose_gc;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)64 << 20);
    res = mps_arena_create_k(&heap_arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  heap_check(res, "mps_arena_create_k");

  gens[0].mps_capacity = opts->nursery_kb;
  gens[0].mps_mortality = 0.85;
  gens[1].mps_capacity = opts->nursery_kb * 8;
  gens[1].mps_mortality = 0.45;
  heap_check(mps_chain_create(&heap_chain, heap_arena, 2, gens), "mps_chain_create");

  heap_fmt_create(&heap_obj_fmt, 1);
  heap_fmt_create(&heap_leaf_fmt, 0);
  heap_pool_create(&heap_obj_pool, mps_class_amc(), heap_obj_fmt);
  heap_pool_create(&heap_leaf_pool, mps_class_amcz(), heap_leaf_fmt);
  heap_check(mps_ap_create_k(&heap_obj_ap, heap_obj_pool, mps_args_none), "mps_ap_create_k");
  heap_check(mps_ap_create_k(&heap_leaf_ap, heap_leaf_pool, mps_args_none), "mps_ap_create_k");

  heap_check(mps_thread_reg(&heap_thread, heap_arena), "mps_thread_reg");
  heap_check(mps_root_create_thread(&heap_stack_root, heap_arena, heap_thread, stack_cold),
             "mps_root_create_thread");

  for (i = 0; i < GLOBAL_COUNT; ++i)
    heap_globals[i] = SCM_NIL;
  heap_check(mps_root_create_area_tagged(&heap_globals_root, heap_arena, mps_rank_exact(), 0,
                                         heap_globals, heap_globals + GLOBAL_COUNT,
                                         mps_scan_area_tagged, SCM_TAG_MASK, SCM_TAG_PTR),
             "mps_root_create_area_tagged (globals)");

  heap_vstack = malloc(heap_vstack_size * sizeof *heap_vstack);
  if (heap_vstack == NULL)
    scm_fatal("out of memory for the value stack");
  heap_vsp = 0;
  heap_check(mps_root_create(&heap_vstack_root, heap_arena, mps_rank_exact(), 0,
                             heap_vstack_scan, NULL, 0),
             "mps_root_create (value stack)");

  heap_symtab_size = 256;
  heap_symtab_count = 0;
  heap_symtab = heap_symtab_new(heap_symtab_size, &heap_symtab_root);

  mps_message_type_enable(heap_arena, mps_message_type_gc());
  mps_message_type_enable(heap_arena, mps_message_type_gc_start());
}

/* Everything goes in the reverse order of creation, with the arena
 * parked so that no collection is running. */
void heap_finish(void)
{
  heap_messages_drain();
  mps_arena_park(heap_arena);
  mps_root_destroy(heap_symtab_root);
  mps_root_destroy(heap_vstack_root);
  mps_root_destroy(heap_globals_root);
  mps_root_destroy(heap_stack_root);
  mps_thread_dereg(heap_thread);
  mps_ap_destroy(heap_leaf_ap);
  mps_ap_destroy(heap_obj_ap);
  mps_pool_destroy(heap_leaf_pool);
  mps_pool_destroy(heap_obj_pool);
  mps_fmt_destroy(heap_leaf_fmt);
  mps_fmt_destroy(heap_obj_fmt);
  mps_chain_destroy(heap_chain);
  mps_arena_destroy(heap_arena);
  free(heap_symtab);
  free(heap_vstack);
}
