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
 *     statistics that --stats prints;
 *   - eq? hash tables hashed by address, each with a location dependency
 *     (manual/topic/location.rst) telling it when a collection may have
 *     moved its keys, so that it rehashes then;
 *   - an AWL pool (manual/pool/awl.rst) for the bucket vectors of weak
 *     tables, the weak side allocated on a weak allocation point, each
 *     vector the dependent object of the other so that its scan can
 *     delete a whole entry when a weak reference is splatted;
 *   - input ports registered for finalization (manual/topic/
 *     finalization.rst): a port that dies open has its file closed when
 *     its finalization message is drained.
 *
 * Invariants (see scheme.h for the value representation):
 *   1. Every committed object in any pool is scannable and skippable:
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
 *   5. The AWL pool holds only buckets and padding; every word of a
 *      bucket vector after its type word is a tagged value, null or a
 *      reference (manual/pool/awl.rst, "Caution").
 *   6. A key or value slot of a table is SCM_EMPTY_SLOT, SCM_DELETED_SLOT
 *      or a value; a key slot is SCM_DELETED_SLOT exactly when its value
 *      slot is (the AWL scan deletes both halves of an entry at once).
 *   7. Every key of a table that is a reference was added to the table's
 *      location dependency before its address was hashed to place it,
 *      and after the dependency was last reset.
 *   8. A port with an open stream is registered for finalization exactly
 *      once (or its finalization message is on its way); a closed port
 *      has a null stream.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/mps.h"
#include "../../include/mpsavm.h"
#include "../../include/mpscamc.h"
#include "../../include/mpscawl.h"
#include "scheme.h"

static mps_arena_t heap_arena;
static mps_chain_t heap_chain;
static mps_fmt_t heap_obj_fmt, heap_leaf_fmt, heap_awl_fmt;
static mps_pool_t heap_obj_pool, heap_leaf_pool, heap_awl_pool;
static mps_ap_t heap_obj_ap, heap_leaf_ap;
/* Allocation points of the AWL pool, one per rank. */
static mps_ap_t heap_awl_exact_ap, heap_awl_weak_ap;
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
  case TYPE_TABLE:
    return SCM_ALIGN_UP(sizeof(scm_table_s));
  case TYPE_BUCKETS:
    return SCM_ALIGN_UP(offsetof(scm_buckets_s, slots)
                        + (size_t)SCM_FIXVAL(obj->buckets.length) * sizeof(obj_t));
  case TYPE_PORT:
    return SCM_ALIGN_UP(sizeof(scm_port_s));
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
      case TYPE_TABLE:
        /* weak is a fixnum; ld holds no references. */
        HEAP_FIX(obj->table.keys);
        HEAP_FIX(obj->table.values);
        break;
      case TYPE_BUCKETS: {
        /* The buckets of a strong table: all exact. */
        size_t length = (size_t)SCM_FIXVAL(obj->buckets.length);
        HEAP_FIX(obj->buckets.dependent);
        for (i = 0; i < length; ++i)
          HEAP_FIX(obj->buckets.slots[i]);
        break;
      }
      case TYPE_PORT:
        /* stream is a C pointer, not a reference. */
        HEAP_FIX(obj->port.name);
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

/* The AWL pool's scan method: buckets and padding only (invariant 5).
 * The same code scans both ranks.  In a weak vector, fixing a reference
 * to an object that is dead gives null (the reference is "splatted"):
 * the slot, and the same slot of the dependent vector (the other half of
 * the table), become SCM_DELETED_SLOT, so the whole entry goes
 * (invariant 6).  AWL exposes the dependent object while this runs
 * (manual/pool/awl.rst, "Dependent objects"); the reference to it is
 * itself weak in a weak vector, so it may be null. */
static mps_res_t heap_awl_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  MPS_SCAN_BEGIN(ss) {
    char *p = base;
    while (p < (char *)limit) {
      obj_t obj = (obj_t)(void *)p;
      switch (SCM_TYPE(obj)) {
      case TYPE_BUCKETS: {
        size_t length = (size_t)SCM_FIXVAL(obj->buckets.length);
        size_t i;
        obj_t dependent;
        HEAP_FIX(obj->buckets.dependent);
        dependent = obj->buckets.dependent;
        for (i = 0; i < length; ++i) {
          obj_t v = obj->buckets.slots[i];
          if (SCM_IS_PTR(v)) {
            mps_addr_t a = v;
            mps_res_t res = MPS_FIX12(ss, &a);
            if (res != MPS_RES_OK)
              return res;
            if (a == NULL) {
              obj->buckets.slots[i] = SCM_DELETED_SLOT;
              if (dependent != NULL)
                dependent->buckets.slots[i] = SCM_DELETED_SLOT;
            } else {
              obj->buckets.slots[i] = a;
            }
          }
        }
        break;
      }
      case TYPE_PAD1:
      case TYPE_PAD:
        break;
      default:
        fprintf(stderr, "scheme: scanning bad type word %#lx at %p in the AWL pool\n",
                (unsigned long)SCM_TYPE(obj), (void *)obj);
        abort();
      }
      p += heap_size_of(obj);
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

static mps_addr_t heap_awl_find_dependent(mps_addr_t addr)
{
  obj_t obj = addr;
  if (SCM_TYPE(obj) != TYPE_BUCKETS)
    return NULL;
  return obj->buckets.dependent;
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

/* ---- Tables ------------------------------------------------------------- */

/* An eq? table hashes the address of a key that is a reference, and the
 * word of a fixnum or an immediate.  Moving a key changes its hash, so
 * the table keeps a location dependency (scm_table_s.ld) on every key it
 * placed by address (invariant 7) and follows manual/topic/location.rst:
 * a lookup that misses asks whether the dependency on that key is stale,
 * and if so rehashes the whole table from the keys' current addresses
 * and finds the key during the rehash.  A hit needs no test: the key
 * compared equal by identity.
 *
 * A strong table keeps its two bucket vectors in the AMC pool.  A weak
 * table keeps them in the AWL pool, the weak side (keys, values or both)
 * allocated on the weak allocation point; there the vectors are each
 * other's dependent object, so heap_awl_scan deletes an entry whose weak
 * half died.  Deleted slots are skipped by lookups and counts and
 * dropped when the table is rehashed. */

#define HEAP_TABLE_ABSENT ((size_t)-1)
#define HEAP_TABLE_MIN_LENGTH ((size_t)8)

static unsigned long heap_stale_rehashes;

static size_t heap_word_hash(mps_word_t w)
{
  size_t h = (size_t)w;
  h ^= h >> 16;
  h *= (size_t)0x45d9f3bu;
  h ^= h >> 16;
  h *= (size_t)0x45d9f3bu;
  h ^= h >> 16;
  return h;
}

/* The hash of key for table.  When depend is set and key is a reference
 * the table now depends on where key is, so the dependency is added
 * first: a collection between hashing and adding would go unnoticed
 * (manual/topic/location.rst, "Adding dependencies"). */
static size_t heap_table_hash(obj_t table, obj_t key, int depend)
{
  if (depend && SCM_IS_PTR(key))
    mps_ld_add(&table->table.ld, heap_arena, key);
  return heap_word_hash(SCM_WORD(key));
}

static size_t heap_buckets_length(obj_t buckets)
{
  return (size_t)SCM_FIXVAL(buckets->buckets.length);
}

static obj_t heap_buckets(mps_ap_t ap, size_t length)
{
  size_t size = SCM_ALIGN_UP(offsetof(scm_buckets_s, slots) + length * sizeof(obj_t));
  size_t i;
  mps_addr_t p;
  obj_t obj;
  do {
    if (mps_reserve(&p, ap, size) != MPS_RES_OK)
      heap_oom();
    obj = p;
    obj->buckets.type = TYPE_BUCKETS;
    obj->buckets.dependent = NULL;
    obj->buckets.length = SCM_FIX(length);
    obj->buckets.used = SCM_FIX(0);
    for (i = 0; i < length; ++i)
      obj->buckets.slots[i] = SCM_EMPTY_SLOT;
  } while (!mps_commit(ap, p, size));
  return obj;
}

/* Fresh key and value vectors for a table of the given weakness.  The
 * keys are held in a local (pinned) while the values are allocated. */
static void heap_buckets_pair(int weak, size_t length, obj_t *keys_o, obj_t *values_o)
{
  obj_t keys, values;
  if (weak == 0) {
    keys = heap_buckets(heap_obj_ap, length);
    values = heap_buckets(heap_obj_ap, length);
  } else {
    keys = heap_buckets((weak & HEAP_WEAK_KEYS) ? heap_awl_weak_ap : heap_awl_exact_ap,
                        length);
    values = heap_buckets((weak & HEAP_WEAK_VALUES) ? heap_awl_weak_ap : heap_awl_exact_ap,
                          length);
    keys->buckets.dependent = values;
    values->buckets.dependent = keys;
  }
  *keys_o = keys;
  *values_o = values;
}

/* The slot of key in keys, or HEAP_TABLE_ABSENT; *free_o gets the slot a
 * new entry for key would take: the first deleted slot on its probe
 * sequence, else the empty slot that ends the sequence.  The load limit
 * (heap_table_set) leaves an empty slot, so the sequence ends. */
static size_t heap_buckets_probe(obj_t keys, obj_t key, size_t hash, size_t *free_o)
{
  size_t length = heap_buckets_length(keys);
  size_t mask = length - 1;
  size_t i = hash & mask, n;
  size_t free_slot = HEAP_TABLE_ABSENT;
  for (n = 0; n < length; ++n, i = (i + 1) & mask) {
    obj_t k = keys->buckets.slots[i];
    if (k == key)
      return i;
    if (k == SCM_EMPTY_SLOT) {
      if (free_slot == HEAP_TABLE_ABSENT)
        free_slot = i;
      break;
    }
    if (k == SCM_DELETED_SLOT && free_slot == HEAP_TABLE_ABSENT)
      free_slot = i;
  }
  *free_o = free_slot;
  return HEAP_TABLE_ABSENT;
}

static int heap_slot_live(obj_t k)
{
  return k != SCM_EMPTY_SLOT && k != SCM_DELETED_SLOT;
}

size_t heap_table_count(obj_t table)
{
  obj_t keys = table->table.keys;
  size_t length = heap_buckets_length(keys), i, count = 0;
  for (i = 0; i < length; ++i)
    if (heap_slot_live(keys->buckets.slots[i]))
      ++count;
  return count;
}

/* The length for a table of count entries: at most half full. */
static size_t heap_table_length_for(size_t count)
{
  size_t length = HEAP_TABLE_MIN_LENGTH;
  while (count * 2 > length)
    length *= 2;
  return length;
}

/* Rebuild the table at *tablep with vectors of the given length, from
 * its keys' current addresses: the dependency is reset once the new
 * vectors exist (their allocation may collect) and each key added again
 * before it is hashed (invariant 7).  Nothing allocates while entries are
 * copied, so the weak references read from the old vectors stay valid.
 * Returns the new slot of *keyp, found by identity while copying, or
 * HEAP_TABLE_ABSENT: a second lookup might find the dependency stale
 * again (manual/topic/location.rst).  keyp may be NULL. */
static size_t heap_table_rehash(obj_t *tablep, size_t length, obj_t *keyp)
{
  obj_t keys, values, old_keys, old_values, table, key;
  size_t old_length, i, used = 0, found = HEAP_TABLE_ABSENT;

  heap_buckets_pair((int)SCM_FIXVAL((*tablep)->table.weak), length, &keys, &values);
  table = *tablep;
  key = keyp != NULL ? *keyp : SCM_EMPTY_SLOT;
  old_keys = table->table.keys;
  old_values = table->table.values;
  old_length = heap_buckets_length(old_keys);
  mps_ld_reset(&table->table.ld, heap_arena);
  for (i = 0; i < old_length; ++i) {
    obj_t k = old_keys->buckets.slots[i];
    obj_t v = old_values->buckets.slots[i];
    size_t slot;
    if (!heap_slot_live(k) || !heap_slot_live(v))
      continue;
    (void)heap_buckets_probe(keys, k, heap_table_hash(table, k, 1), &slot);
    keys->buckets.slots[slot] = k;
    values->buckets.slots[slot] = v;
    ++used;
    if (k == key)
      found = slot;
  }
  keys->buckets.used = SCM_FIX(used);
  values->buckets.used = SCM_FIX(used);
  table->table.keys = keys;
  table->table.values = values;
  return found;
}

/* The slot of *keyp in the table at *tablep, or HEAP_TABLE_ABSENT.  Only
 * a miss on a reference asks whether the dependency is stale: the answer
 * may be a false "yes", which would cost a needless rehash on a hit. */
static size_t heap_table_find(obj_t *tablep, obj_t *keyp)
{
  obj_t table = *tablep, key = *keyp;
  size_t free_slot;
  size_t i = heap_buckets_probe(table->table.keys, key, heap_table_hash(table, key, 0),
                                &free_slot);
  if (i != HEAP_TABLE_ABSENT || !SCM_IS_PTR(key)
      || !mps_ld_isstale(&table->table.ld, heap_arena, key))
    return i;
  ++heap_stale_rehashes;
  return heap_table_rehash(tablep, heap_table_length_for(heap_table_count(table)), keyp);
}

obj_t heap_table(int weak)
{
  size_t size = SCM_ALIGN_UP(sizeof(scm_table_s));
  obj_t keys, values, obj;
  mps_addr_t p;
  heap_buckets_pair(weak, HEAP_TABLE_MIN_LENGTH, &keys, &values);
  do {
    if (mps_reserve(&p, heap_obj_ap, size) != MPS_RES_OK)
      heap_oom();
    /* Zero the dependency's words too, so that no uninitialized word is
     * copied before mps_ld_reset sets them. */
    memset(p, 0, size);
    obj = p;
    obj->table.type = TYPE_TABLE;
    obj->table.weak = SCM_FIX(weak);
    obj->table.keys = keys;
    obj->table.values = values;
  } while (!mps_commit(heap_obj_ap, p, size));
  mps_ld_reset(&obj->table.ld, heap_arena);
  return obj;
}

int heap_table_ref(obj_t *args, obj_t *value_o)
{
  size_t i = heap_table_find(&args[0], &args[1]);
  if (i == HEAP_TABLE_ABSENT)
    return 0;
  *value_o = args[0]->table.values->buckets.slots[i];
  return 1;
}

void heap_table_set(obj_t *args)
{
  obj_t table, key, keys, values;
  size_t i = heap_table_find(&args[0], &args[1]);
  size_t length, used;
  if (i != HEAP_TABLE_ABSENT) {
    args[0]->table.values->buckets.slots[i] = args[2];
    return;
  }
  /* Grow (or purge deleted slots) before the load passes three
   * quarters, so a probe always meets an empty slot. */
  keys = args[0]->table.keys;
  length = heap_buckets_length(keys);
  used = (size_t)SCM_FIXVAL(keys->buckets.used);
  if ((used + 1) * 4 > length * 3)
    (void)heap_table_rehash(&args[0], heap_table_length_for(heap_table_count(args[0]) + 1),
                            NULL);
  /* The key is absent (a rehash keeps the set of keys), and nothing
   * allocates from here on, so its probe sequence is the one just
   * searched or a fresh one. */
  table = args[0];
  key = args[1];
  keys = table->table.keys;
  values = table->table.values;
  (void)heap_buckets_probe(keys, key, heap_table_hash(table, key, 1), &i);
  if (i == HEAP_TABLE_ABSENT)
    scm_fatal("hash table without a free slot");
  if (keys->buckets.slots[i] == SCM_EMPTY_SLOT) {
    used = (size_t)SCM_FIXVAL(keys->buckets.used) + 1;
    keys->buckets.used = SCM_FIX(used);
    values->buckets.used = SCM_FIX(used);
  }
  keys->buckets.slots[i] = key;
  values->buckets.slots[i] = args[2];
}

int heap_table_delete(obj_t *args)
{
  size_t i = heap_table_find(&args[0], &args[1]);
  if (i == HEAP_TABLE_ABSENT)
    return 0;
  args[0]->table.keys->buckets.slots[i] = SCM_DELETED_SLOT;
  args[0]->table.values->buckets.slots[i] = SCM_DELETED_SLOT;
  return 1;
}

/* The vectors are read through args again after each allocation: a
 * strong table's vectors may move. */
obj_t heap_table_keys(obj_t *args)
{
  obj_t list = SCM_NIL;
  size_t i;
  for (i = 0; i < heap_buckets_length(args[0]->table.keys); ++i) {
    obj_t k = args[0]->table.keys->buckets.slots[i];
    if (heap_slot_live(k))
      list = heap_pair(k, list);
  }
  return list;
}

unsigned long heap_table_stale_rehashes(void)
{
  return heap_stale_rehashes;
}

/* ---- Ports and finalization ---------------------------------------------- */

/* A port is registered for finalization as soon as it has a stream
 * (invariant 8), so a port dropped without close-port still gets its
 * file closed: its finalization message arrives when a collection finds
 * it otherwise dead, and heap_messages_drain closes the stream.
 * close-port closes at once and deregisters, since nothing is left to
 * finalize (manual/guide/advanced.rst describes the same scheme).
 * Finalization is the backstop, never the only way to close. */

static unsigned long heap_port_finalized_count;

obj_t heap_port_open(obj_t *name_arg)
{
  size_t size = SCM_ALIGN_UP(sizeof(scm_port_s));
  mps_addr_t p, ref;
  obj_t obj;
  FILE *stream;
  do {
    if (mps_reserve(&p, heap_obj_ap, size) != MPS_RES_OK)
      heap_oom();
    obj = p;
    obj->port.type = TYPE_PORT;
    obj->port.name = *name_arg;
    obj->port.stream = NULL;
  } while (!mps_commit(heap_obj_ap, p, size));
  /* The port exists before the file is opened, so an allocation failure
   * cannot leak a stream. */
  stream = fopen(obj->port.name->string.chars, "r");
  if (stream == NULL && (errno == EMFILE || errno == ENFILE)) {
    /* Out of file handles: ports that died open may hold some.  A full
     * collection posts their finalization messages and the drain closes
     * their files (the emergency measure of topic/finalization.rst). */
    heap_collect();
    stream = fopen(obj->port.name->string.chars, "r");
  }
  if (stream == NULL)
    scm_error("cannot open file", obj->port.name);
  obj->port.stream = stream;
  ref = obj;
  if (mps_finalize(heap_arena, &ref) != MPS_RES_OK) {
    (void)fclose(stream);
    obj->port.stream = NULL;
    scm_error("cannot register a port for finalization", NULL);
  }
  return obj;
}

void heap_port_close(obj_t *port_arg)
{
  obj_t port = *port_arg;
  mps_addr_t ref = port;
  if (port->port.stream == NULL)
    return;
  (void)fclose(port->port.stream);
  port->port.stream = NULL;
  /* This fails only if the port's finalization message was already
   * posted (it died and a weak reference brought it back); the drain
   * then finds the stream closed and does nothing. */
  (void)mps_definalize(heap_arena, &ref);
}

unsigned long heap_ports_finalized(void)
{
  return heap_port_finalized_count;
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
    } else if (type == mps_message_type_finalization()) {
      /* Only ports are registered.  The message keeps the port alive
       * until it is discarded below; after that the port is garbage
       * again (nothing else refers to it) and goes at a later
       * collection.  Every message is counted, so that a test sees a
       * closed port that was not deregistered; a port closed meanwhile
       * has nothing left to do. */
      mps_addr_t ref;
      obj_t port;
      mps_message_finalization_ref(&ref, heap_arena, message);
      port = ref;
      if (!SCM_IS_PORT(port))
        scm_fatal("finalization message for an object that is not a port");
      ++heap_port_finalized_count;
      if (port->port.stream != NULL) {
        (void)fclose(port->port.stream);
        port->port.stream = NULL;
      }
      if (heap_verbose_gc)
        fprintf(stderr, "[finalized a port]\n");
    }
    mps_message_discard(heap_arena, message);
  }
}


/* A full collection.  Its messages are drained at once, so that the
 * ports it finalized are closed (and counted) before the caller goes
 * on. */
void heap_collect(void)
{
  mps_arena_collect(heap_arena);
  /* mps_arena_collect leaves the arena parked. */
  mps_arena_release(heap_arena);
  heap_messages_drain();
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
  case TYPE_PRIM: case TYPE_FRAME: case TYPE_TABLE: case TYPE_PORT:
    ok = pool == heap_obj_pool;
    break;
  case TYPE_BUCKETS: /* a strong table's, or a weak table's */
    ok = pool == heap_obj_pool || pool == heap_awl_pool;
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
  fprintf(stream, "tables: %lu rehashes for a stale location dependency\n", heap_stale_rehashes);
  fprintf(stream, "ports: %lu finalized\n", heap_port_finalized_count);
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

/* The allocation points, one per pool and rank. */
static void heap_aps_create(void)
{
  mps_res_t res;
  heap_check(mps_ap_create_k(&heap_obj_ap, heap_obj_pool, mps_args_none), "mps_ap_create_k");
  heap_check(mps_ap_create_k(&heap_leaf_ap, heap_leaf_pool, mps_args_none), "mps_ap_create_k");
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
    res = mps_ap_create_k(&heap_awl_exact_ap, heap_awl_pool, args);
  } MPS_ARGS_END(args);
  heap_check(res, "mps_ap_create_k (AWL, exact)");
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    res = mps_ap_create_k(&heap_awl_weak_ap, heap_awl_pool, args);
  } MPS_ARGS_END(args);
  heap_check(res, "mps_ap_create_k (AWL, weak)");
}

static void heap_aps_destroy(void)
{
  mps_ap_destroy(heap_awl_weak_ap);
  mps_ap_destroy(heap_awl_exact_ap);
  mps_ap_destroy(heap_leaf_ap);
  mps_ap_destroy(heap_obj_ap);
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

  /* The AWL pool of weak tables' buckets: it never moves them, so each
   * vector can be the dependent object of the other. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, SCM_ALIGN);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, heap_awl_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, heap_skip);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, heap_pad);
    res = mps_fmt_create_k(&heap_awl_fmt, heap_arena, args);
  } MPS_ARGS_END(args);
  heap_check(res, "mps_fmt_create_k (AWL)");
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, heap_awl_fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, heap_chain);
    MPS_ARGS_ADD(args, MPS_KEY_AWL_FIND_DEPENDENT, heap_awl_find_dependent);
    res = mps_pool_create_k(&heap_awl_pool, heap_arena, mps_class_awl(), args);
  } MPS_ARGS_END(args);
  heap_check(res, "mps_pool_create_k (AWL)");
  heap_aps_create();

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
  /* Before any port can become finalizable. */
  mps_message_type_enable(heap_arena, mps_message_type_finalization());
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
  heap_aps_destroy();
  mps_pool_destroy(heap_awl_pool);
  mps_pool_destroy(heap_leaf_pool);
  mps_pool_destroy(heap_obj_pool);
  mps_fmt_destroy(heap_awl_fmt);
  mps_fmt_destroy(heap_leaf_fmt);
  mps_fmt_destroy(heap_obj_fmt);
  mps_chain_destroy(heap_chain);
  mps_arena_destroy(heap_arena);
  free(heap_symtab);
  free(heap_vstack);
}
