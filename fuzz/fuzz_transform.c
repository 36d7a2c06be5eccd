/* fuzz_transform: transforms (src/gc/transform.c) against a model graph.
 *
 * Input: each operation is three bytes.  Allocate an object in AMC or AMS
 * into an exact root slot; link one object's field to another; copy or
 * clear a root slot; point a weak slot (an AWL weak array held by its own
 * root) at an object; point an ambiguous root, or the field of a holder
 * (an AMS object allocated at the ambiguous rank, which the collector
 * scans ambiguously), at an object, inside it, or nowhere; add an
 * (old, new) pair to the current transform (new may be null); apply it;
 * apply with one request for memory refused (arena_fail_after: if the
 * apply fails, nothing has changed); collect (which makes the current
 * transform stale); try to apply with
 * the arena unparked; apply an empty transform.  Client errors, each of
 * which must be reported and refused: adding an old reference the
 * arena's collected pools do not hold, or no arrays; adding an old object
 * a second time (refused when the transform is applied, every time); and
 * applying without applied_o.  The arena is parked throughout, so
 * collections happen only when asked.
 *
 * Every object carries its identity.  The model is the graph by identity,
 * with which objects are still present (allocated, and not freed by a
 * collection).  Applying in the model: if an ambiguous root or a holder
 * points into an old object, nothing changes (and no object moves),
 * whether or not the holder is still reachable; otherwise every
 * root slot, field and weak slot holding an old object holds its new one
 * instead (one substitution), then the collection frees what is not
 * reachable by strong references and clears the weak slots of what it
 * freed.  A collection since the transform was made gives MPS_RES_PARAM,
 * an unparked arena MPS_RES_LIMIT, each leaving applied_o alone.  After
 * every apply and collection the heap reachable from the roots must be
 * the model's graph, identity by identity, and so must the weak slots.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpscawl.h"
#include "../src/arena/arena.h"
#include "../test/support/awlarr.h"
#include "../test/support/objfmt.h"
#include "support/reports.h"
#include "support/refusal.h"

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

#define W sizeof(mps_word_t)

#define SLOTS 16
#define AMBIGS 4
#define HOLDERS 4
#define WEAKS 8
#define MAX_REFS 3
#define MAX_OBJS 600
#define MAX_PAIRS 64

typedef struct node_s {
  unsigned nrefs;
  int ref[MAX_REFS];        /* ids, -1 for null */
  bool present;             /* allocated and not yet freed */
  bool reached;             /* scratch of the reachability pass */
  unsigned seen;            /* check pass that visited it */
} node_s;

static node_s nodes[MAX_OBJS];
static unsigned node_count, pass;
static mps_addr_t slots[SLOTS];          /* the exact root table */
static int slot_id[SLOTS];
static mps_addr_t ambig[AMBIGS];         /* the ambiguous root table */
static int ambig_id[AMBIGS];             /* the object it points into, or -1 */
static mps_addr_t holders[HOLDERS];      /* an exact root for the holders */
static int holder_id[HOLDERS];           /* the object its field points into, or -1 */
static mps_word_t holder_field[HOLDERS]; /* what that field holds */
static mps_addr_t holder_base[HOLDERS];  /* where that object was then */
static mps_addr_t weak_holder[1];        /* an exact root for the weak array */
static int weak_id[WEAKS];
static int map_new[MAX_OBJS];            /* the pending transform: old -> new */
static bool map_has[MAX_OBJS];
static unsigned pair_count;
static mps_transform_t transform;        /* the pending transform, or NULL */
static bool transform_stale;             /* a collection since it was made */
static bool transform_twice;             /* an old object was added twice */
static mps_word_t fz_stray;              /* memory no pool holds */

static mps_res_t fz_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  return awlarr_scan(ss, base, limit, objfmt_scan, NULL);
}

static size_t fz_words(unsigned nrefs) { return 2 + nrefs + 1; }
static mps_word_t *fz_id_word(objfmt_obj obj) { return &obj->slot[obj->nrefs]; }

static void fz_check_obj(objfmt_obj obj, int id)
{
  REQUIRE(id >= 0 && (unsigned)id < node_count && nodes[id].present);
  REQUIRE(obj != NULL && ((mps_word_t)obj & (W - 1)) == 0);
  REQUIRE(OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ);
  REQUIRE(obj->nrefs == nodes[id].nrefs);
  REQUIRE(OBJFMT_WORDS(obj->header) == fz_words(nodes[id].nrefs));
  REQUIRE(*fz_id_word(obj) == (mps_word_t)id);
}

/* Check everything reachable from (obj, id) against the model; iterative,
 * with a stack bounded by the number of objects. */
static void fz_check_from(objfmt_obj root, int root_id)
{
  static objfmt_obj stack_obj[MAX_OBJS];
  static int stack_id[MAX_OBJS];
  size_t sp = 0;
  if (nodes[root_id].seen == pass)
    return;
  nodes[root_id].seen = pass;
  stack_obj[sp] = root;
  stack_id[sp++] = root_id;
  while (sp > 0) {
    objfmt_obj obj = stack_obj[--sp];
    int id = stack_id[sp];
    unsigned i;
    fz_check_obj(obj, id);
    for (i = 0; i < nodes[id].nrefs; ++i) {
      int child = nodes[id].ref[i];
      objfmt_obj cobj = (objfmt_obj)obj->slot[i];
      if (child < 0) {
        REQUIRE(cobj == NULL);
        continue;
      }
      fz_check_obj(cobj, child);
      if (nodes[child].seen != pass) {
        nodes[child].seen = pass;
        REQUIRE(sp < MAX_OBJS);
        stack_obj[sp] = cobj;
        stack_id[sp++] = child;
      }
    }
  }
}

static void fz_check_all(void)
{
  awlarr weak = weak_holder[0];
  size_t k;
  ++pass;
  for (k = 0; k < SLOTS; ++k) {
    if (slot_id[k] < 0)
      REQUIRE(slots[k] == NULL);
    else
      fz_check_from(slots[k], slot_id[k]);
  }
  REQUIRE(OBJFMT_TYPE(weak->header) == OBJFMT_T_ARR && weak->length == WEAKS * 2 + 1);
  for (k = 0; k < WEAKS; ++k) {
    if (weak_id[k] < 0)
      REQUIRE(weak->slot[k] == 0);
    else
      fz_check_obj((objfmt_obj)weak->slot[k], weak_id[k]);
  }
  for (k = 0; k < AMBIGS; ++k)
    if (ambig_id[k] >= 0)
      REQUIRE(nodes[ambig_id[k]].present);
  /* An ambiguous reference is never changed, and keeps what it points into. */
  for (k = 0; k < HOLDERS; ++k) {
    objfmt_obj h = holders[k];
    REQUIRE(OBJFMT_TYPE(h->header) == OBJFMT_T_OBJ && h->nrefs == 1);
    REQUIRE(h->slot[0] == holder_field[k]);
    /* The object is still there: nothing it pins may move. */
    if (holder_id[k] >= 0)
      fz_check_obj(holder_base[k], holder_id[k]);
  }
}

/* A collection in the model: what strong references and ambiguous roots
 * do not reach is freed, and weak slots to it are cleared. */
static void fz_model_collect(void)
{
  static int stack[MAX_OBJS];
  size_t sp = 0, k;
  unsigned id;
  for (id = 0; id < node_count; ++id)
    nodes[id].reached = false;
  for (k = 0; k < SLOTS + AMBIGS + HOLDERS; ++k) {
    int r = k < SLOTS ? slot_id[k]
            : k < SLOTS + AMBIGS ? ambig_id[k - SLOTS] : holder_id[k - SLOTS - AMBIGS];
    if (r >= 0 && !nodes[r].reached) {
      nodes[r].reached = true;
      stack[sp++] = r;
    }
  }
  while (sp > 0) {
    int n = stack[--sp];
    unsigned i;
    for (i = 0; i < nodes[n].nrefs; ++i) {
      int c = nodes[n].ref[i];
      if (c >= 0 && !nodes[c].reached) {
        nodes[c].reached = true;
        REQUIRE(sp < MAX_OBJS);
        stack[sp++] = c;
      }
    }
  }
  for (id = 0; id < node_count; ++id)
    if (!nodes[id].reached)
      nodes[id].present = false;
  for (k = 0; k < WEAKS; ++k)
    if (weak_id[k] >= 0 && !nodes[weak_id[k]].present)
      weak_id[k] = -1;
}

static int fz_model_map(int id)
{
  return id >= 0 && map_has[id] ? map_new[id] : id;
}

/* Whether an ambiguous root or holder points into an old object of the
 * table. */
static bool fz_model_ambiguous(void)
{
  size_t k;
  for (k = 0; k < AMBIGS; ++k)
    if (ambig_id[k] >= 0 && map_has[ambig_id[k]])
      return true;
  for (k = 0; k < HOLDERS; ++k)
    if (holder_id[k] >= 0 && map_has[holder_id[k]])
      return true;
  return false;
}

static void fz_model_rewrite(void)
{
  unsigned id, i;
  size_t k;
  for (k = 0; k < SLOTS; ++k)
    slot_id[k] = fz_model_map(slot_id[k]);
  for (k = 0; k < WEAKS; ++k)
    weak_id[k] = fz_model_map(weak_id[k]);
  for (id = 0; id < node_count; ++id)
    if (nodes[id].present)
      for (i = 0; i < nodes[id].nrefs; ++i)
        nodes[id].ref[i] = fz_model_map(nodes[id].ref[i]);
}

static void fz_forget_pairs(void)
{
  unsigned id;
  for (id = 0; id < node_count; ++id)
    map_has[id] = false;
  pair_count = 0;
  transform = NULL;
  transform_stale = false;
  transform_twice = false;
}

/* An apply the model expects to be refused as a client error: reported
 * once, applied_o untouched. */
static void fz_apply_refused(mps_transform_t t)
{
  mps_bool_t applied = 7;
  mps_lib_assert_fail_t old = fuzz_reports_begin();
  mps_res_t res = mps_transform_apply(&applied, t);
  REQUIRE(fuzz_reports_end(old) == 1);
  REQUIRE(res == MPS_RES_PARAM && applied == 7);
}

static void fz_alloc(mps_ap_t ap, unsigned s, unsigned nrefs)
{
  int id = (int)node_count++;
  node_s *n = &nodes[id];
  size_t words = fz_words(nrefs), i;
  mps_addr_t p;
  n->nrefs = nrefs;
  n->present = true;
  n->seen = 0;
  for (i = 0; i < MAX_REFS; ++i)
    n->ref[i] = -1;
  map_has[id] = false;
  do {
    objfmt_obj obj;
    REQUIRE(mps_reserve(&p, ap, words * W) == MPS_RES_OK);
    obj = p;
    obj->header = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    obj->nrefs = nrefs;
    for (i = 0; i < nrefs; ++i)
      obj->slot[i] = 0;
    *fz_id_word(obj) = (mps_word_t)id;
  } while (!mps_commit(ap, p, words * W));
  slots[s] = p;
  slot_id[s] = id;
}

/* The model's collection, for one that absorbed a refused request for
 * memory: with no to-space, or no nailboard for a segment, AMC keeps
 * objects in place, a whole segment of them at worst, and an object it
 * keeps is not dead, so a weak slot to it stays (weak references are
 * cleared only for objects the collection found dead; keeping more is
 * allowed, as an ambiguous reference does).  Such an object must be
 * intact, and is present again in the model. */
static void fz_model_collect_refused(void)
{
  awlarr weak = weak_holder[0];
  int before[WEAKS];
  size_t k;
  memcpy(before, weak_id, sizeof before);
  fz_model_collect();
  for (k = 0; k < WEAKS; ++k)
    if (before[k] >= 0 && weak_id[k] < 0 && weak->slot[k] != 0) {
      nodes[before[k]].present = true;
      weak_id[k] = before[k];
    }
}

/* Apply the pending transform; with `refuse` not 0, the arena refuses
 * its refuse-th request for memory meanwhile (arena_fail_after).  If the
 * apply then fails, with no memory or no address space, nothing the
 * client can see has changed, and the transform is given up. */
static void fz_apply(mps_arena_t arena, unsigned refuse)
{
  mps_bool_t applied = 7;
  mps_addr_t before[SLOTS];
  mps_res_t res;
  bool ambiguous, fell;
  Count armed;
  if (transform == NULL)
    REQUIRE(mps_transform_create(&transform, arena) == MPS_RES_OK);
  memcpy(before, slots, sizeof before);
  ambiguous = fz_model_ambiguous();
  if (transform_twice && !transform_stale) {
    fz_apply_refused(transform);
    fz_apply_refused(transform);   /* and again: it stays refused */
    REQUIRE(memcmp(before, slots, sizeof before) == 0);
    mps_transform_destroy(transform);
    fz_forget_pairs();
    fz_check_all();
    return;
  }
  armed = transform_stale ? 0 : refuse;
  arena_fail_after((Arena)arena, armed);
  res = mps_transform_apply(&applied, transform);
  fell = refusal_fell(arena, armed);
  if (fell && res != MPS_RES_OK) {
    REQUIRE(refusal_result(res) && applied == 7);
    arena_fail_after((Arena)arena, 0);
    mps_transform_destroy(transform);
    fz_forget_pairs();
    fz_check_all();
    return;
  }
  arena_fail_after((Arena)arena, 0);
  if (transform_stale) {
    REQUIRE(res == MPS_RES_PARAM && applied == 7);
  } else if (ambiguous) {
    REQUIRE(res == MPS_RES_OK && applied == 0);
    /* Nothing changed: no collection ran, so nothing moved either. */
    REQUIRE(memcmp(before, slots, sizeof before) == 0);
  } else {
    REQUIRE(res == MPS_RES_OK && applied == 1);
    fz_model_rewrite();
    if (fell)
      fz_model_collect_refused();
    else
      fz_model_collect();
  }
  /* A second apply is refused. */
  applied = 7;
  REQUIRE(mps_transform_apply(&applied, transform) == MPS_RES_PARAM && applied == 7);
  mps_transform_destroy(transform);
  fz_forget_pairs();
  fz_check_all();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t amc, ams, awl;
  mps_ap_t amc_ap, ams_ap, weak_ap, holder_ap;
  mps_root_t root, aroot, wroot, hroot;
  mps_gen_param_s gens[2] = {{64, 0.8}, {256, 0.5}};
  size_t i, k;
  mps_addr_t p;

  node_count = 0;
  pass = 0;
  for (k = 0; k < SLOTS; ++k) {
    slots[k] = NULL;
    slot_id[k] = -1;
  }
  for (k = 0; k < AMBIGS; ++k) {
    ambig[k] = NULL;
    ambig_id[k] = -1;
  }
  for (k = 0; k < WEAKS; ++k)
    weak_id[k] = -1;
  for (k = 0; k < HOLDERS; ++k) {
    holder_id[k] = -1;
    holder_field[k] = 0;
  }
  fz_forget_pairs();

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 4 << 20);
    REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  mps_arena_park(arena);
  REQUIRE(objfmt_create(&fmt, arena, fz_scan, true) == MPS_RES_OK);
  REQUIRE(mps_chain_create(&chain, arena, 2, gens) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    REQUIRE(mps_pool_create_k(&amc, arena, mps_class_amc(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    REQUIRE(mps_pool_create_k(&ams, arena, mps_class_ams(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    MPS_ARGS_ADD(args, MPS_KEY_AWL_FIND_DEPENDENT, awlarr_find_dependent);
    REQUIRE(mps_pool_create_k(&awl, arena, mps_class_awl(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(mps_ap_create_k(&amc_ap, amc, mps_args_none) == MPS_RES_OK);
  REQUIRE(mps_ap_create_k(&ams_ap, ams, mps_args_none) == MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    REQUIRE(mps_ap_create_k(&holder_ap, ams, args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    REQUIRE(mps_ap_create_k(&weak_ap, awl, args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(mps_root_create_table(&root, arena, mps_rank_exact(), 0, slots, SLOTS)
          == MPS_RES_OK);
  REQUIRE(mps_root_create_table(&aroot, arena, mps_rank_ambig(), 0, ambig, AMBIGS)
          == MPS_RES_OK);
  REQUIRE(mps_root_create_table(&wroot, arena, mps_rank_exact(), 0, weak_holder, 1)
          == MPS_RES_OK);
  do {
    REQUIRE(mps_reserve(&p, weak_ap, AWLARR_WORDS(WEAKS) * W) == MPS_RES_OK);
    awlarr_init(p, WEAKS);
    weak_holder[0] = p;
  } while (!mps_commit(weak_ap, p, AWLARR_WORDS(WEAKS) * W));
  /* Each holder: one field, then an id word no node has. */
  for (k = 0; k < HOLDERS; ++k) {
    do {
      objfmt_obj h;
      REQUIRE(mps_reserve(&p, holder_ap, fz_words(1) * W) == MPS_RES_OK);
      h = p;
      h->header = OBJFMT_HDR(fz_words(1), OBJFMT_T_OBJ);
      h->nrefs = 1;
      h->slot[0] = 0;
      h->slot[1] = ~(mps_word_t)0;
      holders[k] = p;
    } while (!mps_commit(holder_ap, p, fz_words(1) * W));
  }
  REQUIRE(mps_root_create_table(&hroot, arena, mps_rank_exact(), 0, holders, HOLDERS)
          == MPS_RES_OK);

  for (i = 0; i + 3 <= size; i += 3) {
    unsigned op = data[i] % 10, a = data[i + 1], b = data[i + 2];
    unsigned sa = a % SLOTS, sb = b % SLOTS;
    switch (op) {
    case 0:
    case 1:   /* allocate in AMC or AMS */
      if (node_count < MAX_OBJS)
        fz_alloc(op == 0 ? amc_ap : ams_ap, sa, b % (MAX_REFS + 1));
      break;
    case 2:   /* link slots[sa].ref[f] = slots[sb] (maybe null) */
      if (slot_id[sa] >= 0 && nodes[slot_id[sa]].nrefs > 0) {
        unsigned f = (a / SLOTS) % nodes[slot_id[sa]].nrefs;
        ((objfmt_obj)slots[sa])->slot[f] = (mps_word_t)slots[sb];
        nodes[slot_id[sa]].ref[f] = slot_id[sb];
      }
      break;
    case 3:   /* copy a root, or drop one */
      if (a & 0x80) {
        slots[sb] = NULL;
        slot_id[sb] = -1;
      } else {
        slots[sb] = slots[sa];
        slot_id[sb] = slot_id[sa];
      }
      break;
    case 4: { /* a weak slot */
      awlarr weak = weak_holder[0];
      unsigned w = a % WEAKS;
      weak->slot[w] = (mps_word_t)slots[sb];
      weak_id[w] = slot_id[sb];
      break;
    }
    case 5: { /* an ambiguous root or holder: at an object, inside it, or cleared */
      unsigned k2 = a % AMBIGS;
      if (b & 0x80) {
        objfmt_obj h = holders[k2 % HOLDERS];
        if (slot_id[sb] < 0 || (a & 0x80)) {
          h->slot[0] = 0;
          holder_id[k2 % HOLDERS] = -1;
        } else {
          size_t bytes = fz_words(nodes[slot_id[sb]].nrefs) * W;
          h->slot[0] = (mps_word_t)slots[sb] + (a / AMBIGS) % bytes;
          holder_id[k2 % HOLDERS] = slot_id[sb];
          holder_base[k2 % HOLDERS] = slots[sb];
        }
        holder_field[k2 % HOLDERS] = h->slot[0];
      } else if (slot_id[sb] < 0 || (a & 0x80)) {
        ambig[k2] = NULL;
        ambig_id[k2] = -1;
      } else {
        size_t bytes = fz_words(nodes[slot_id[sb]].nrefs) * W;
        ambig[k2] = (char *)slots[sb] + (a / AMBIGS) % bytes;
        ambig_id[k2] = slot_id[sb];
      }
      break;
    }
    case 6:   /* add a pair: old slots[sa], new slots[sb] (maybe null) */
      if ((a >> 4 & 7) == 7) {
        /* Client errors: an old object a second time (refused at the
         * apply), or at once an old reference no collected pool holds, or
         * no arrays; those two change nothing. */
        mps_addr_t old = slots[sa], new_ref = slots[sb];
        mps_lib_assert_fail_t prev;
        if (transform == NULL)
          REQUIRE(mps_transform_create(&transform, arena) == MPS_RES_OK);
        if ((b >> 4) % 3 == 0 && slot_id[sa] >= 0 && map_has[slot_id[sa]]) {
          REQUIRE(mps_transform_add_oldnew(transform, &old, &new_ref, 1) == MPS_RES_OK);
          transform_twice = true;
          break;
        }
        prev = fuzz_reports_begin();
        if ((b >> 4) % 3 == 1) {
          old = &fz_stray;
          REQUIRE(mps_transform_add_oldnew(transform, &old, &new_ref, 1) == MPS_RES_PARAM);
        } else {
          REQUIRE(mps_transform_add_oldnew(transform, NULL, NULL, 1) == MPS_RES_PARAM);
        }
        REQUIRE(fuzz_reports_end(prev) == 1);
        break;
      }
      if (slot_id[sa] >= 0 && !map_has[slot_id[sa]] && pair_count < MAX_PAIRS) {
        mps_addr_t old = slots[sa], new_ref = slots[sb];
        if (transform == NULL)
          REQUIRE(mps_transform_create(&transform, arena) == MPS_RES_OK);
        REQUIRE(mps_transform_add_oldnew(transform, &old, &new_ref, 1) == MPS_RES_OK);
        map_has[slot_id[sa]] = true;
        map_new[slot_id[sa]] = slot_id[sb];
        ++pair_count;
      }
      break;
    case 7:   /* apply; with a's top bit, request b % 16 + 1 refused */
      fz_apply(arena, a >= 128 ? 1 + b % 16 : 0);
      break;
    case 8:   /* collect: a pending transform is stale from now on */
      mps_arena_collect(arena);
      fz_model_collect();
      if (transform != NULL)
        transform_stale = true;
      fz_check_all();
      break;
    case 9:
      if ((b & 7) == 7) {
        /* Apply without applied_o: a client error, refused at once. */
        mps_transform_t t = transform;
        mps_lib_assert_fail_t prev = fuzz_reports_begin();
        if (t == NULL)
          REQUIRE(mps_transform_create(&t, arena) == MPS_RES_OK);
        REQUIRE(mps_transform_apply(NULL, t) == MPS_RES_PARAM);
        REQUIRE(fuzz_reports_end(prev) == 1);
        if (transform == NULL)
          mps_transform_destroy(t);
        fz_check_all();
      } else if (b & 1) {
        /* Apply on an unparked arena: refused, nothing changes.  Nothing
         * allocates before the arena is parked again, so no collection
         * starts in between. */
        mps_bool_t applied = 7;
        mps_transform_t t = transform;
        if (t == NULL)
          REQUIRE(mps_transform_create(&t, arena) == MPS_RES_OK);
        mps_arena_release(arena);
        REQUIRE(mps_transform_apply(&applied, t) == MPS_RES_LIMIT && applied == 7);
        mps_arena_park(arena);
        if (transform == NULL)
          mps_transform_destroy(t);
      } else {
        /* An empty transform of its own applies as a collection. */
        mps_transform_t t;
        mps_bool_t applied = 7;
        REQUIRE(mps_transform_create(&t, arena) == MPS_RES_OK);
        REQUIRE(mps_transform_add_oldnew(t, NULL, NULL, 0) == MPS_RES_OK);
        REQUIRE(mps_transform_apply(&applied, t) == MPS_RES_OK && applied == 1);
        mps_transform_destroy(t);
        fz_model_collect();
        if (transform != NULL)
          transform_stale = true;
        fz_check_all();
      }
      break;
    }
  }
  fz_apply(arena, 0);

  mps_arena_park(arena);
  mps_root_destroy(hroot);
  mps_root_destroy(wroot);
  mps_root_destroy(aroot);
  mps_root_destroy(root);
  mps_ap_destroy(weak_ap);
  mps_ap_destroy(holder_ap);
  mps_ap_destroy(ams_ap);
  mps_ap_destroy(amc_ap);
  mps_pool_destroy(awl);
  mps_pool_destroy(ams);
  mps_pool_destroy(amc);
  mps_chain_destroy(chain);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
  return 0;
}
