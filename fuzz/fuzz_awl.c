/* fuzz_awl: programs on a weak-key hash table in an AWL pool, checked
 * against a model after every collection (src/pool/pool_awl.c,
 * manual/pool/awl.rst, topic/weak.rst).
 *
 * The table is two AWL arrays of FW_N slots, each the other's dependent:
 * keys (allocated on a weak allocation point) and values (on an exact
 * one).  Keys are objects in AMC (they move), AMS or AWL; values are AMC
 * objects.  The format's scan method, when a weak key is splatted, deletes
 * the value through the dependent array.  Strong references to keys live
 * in an exact root table, or in an ambiguous one ("pinned": an AMC key is
 * then kept in a nailed segment and must not move).
 *
 * Input byte 0: bit 0 leaves the arena unclamped (collections also start
 * from allocation), bit 1 collects without detaching the allocation
 * points first, bit 7 lets junk refuse memory (below).  Then (op, arg)
 * byte pairs:
 *   insert  slot arg % FW_N: a new key (pool by arg's top bits) and value,
 *           strongly referenced, or only from the table;
 *   delete  clear the slot in both arrays and drop its strong reference;
 *   drop    drop the slot's strong reference (the key becomes weak-only);
 *   pin     move the strong reference to the ambiguous root;
 *   junk    allocate garbage in the key pools; with bit 7 of byte 0 and
 *           of op, first have the arena refuse its (arg / 8 + 1)-th
 *           request for memory from then on (arena_fail_after);
 *   collect detach the allocation points (make new ones, then destroy the
 *           old), and mps_arena_collect.
 * The refused request may fall on an allocation (of the junk, or of an
 * insert's key or value), on the making of an allocation point, or inside
 * a collection (explicit, or started by an allocation), which absorbs it.
 * Only the operation in which it falls may fail, with MPS_RES_MEMORY or
 * MPS_RES_RESOURCE, and then it changes nothing the model tracks: an
 * insert leaves its slot as it was, a point that could not be made is
 * kept.
 * Model, per slot: empty, strong (exact or pinned) or weak-only, with the
 * key's and value's seeds.  After a collection: a strong slot holds the
 * object of its strong reference (and a pinned AMC key its old address),
 * intact, with its value intact; an empty slot is 0 in both arrays; a
 * weak-only slot is 0 in both arrays, whether or not the allocation points
 * were detached first (segments they are filling are condemned too); a key
 * and its value are splatted together.  Except that a collection that
 * absorbed the refusal may keep objects it could not copy where they are,
 * a whole AMC segment of them at worst, and a key it kept is not dead: its
 * slot may then still hold it, where it was, intact with its value, until
 * a collection with every request granted.  Only an AMC key can be kept
 * so, unless the collection was skipped for want of memory for its trace
 * (then mps_collections does not count it, and nothing was collected).
 * Any mismatch aborts.
 */
#include <stdint.h>
#include <stdio.h>
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
#include "support/refusal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define W sizeof(mps_word_t)

#define FW_N 24              /* slots in the table */
#define FW_OPS 400           /* operations per input at most */

/* The format is test/support/objfmt.h's with the scan of
 * test/support/awlarr.h: arrays (awlarr.h's, of FW_N slots) are scanned;
 * an object is a leaf, header, seed, then data derived from the seed. */
#define FW_OBJ_WORDS 4

static void fw_fail(const char *what, size_t i)
{
  fprintf(stderr, "fuzz_awl: slot %zu: %s\n", i, what);
  abort();
}

static mps_res_t fw_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  return awlarr_scan(ss, base, limit, NULL, NULL);
}

enum { FW_EMPTY, FW_STRONG, FW_PINNED, FW_WEAK };

typedef struct fw_s {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t pool[3];        /* AMC, AMS, AWL */
  mps_ap_t ap[3];            /* exact points of each */
  mps_ap_t weak_ap;          /* AWL, weak */
  mps_root_t root, aroot;
  /* The exact root: keys, values, two temporaries, strong[FW_N]. */
  mps_addr_t refs[4 + FW_N];
  mps_addr_t ambig[FW_N];
  /* The model. */
  int state[FW_N];
  int key_pool[FW_N];
  mps_word_t key_seed[FW_N], val_seed[FW_N];
  mps_addr_t pinned_at[FW_N];
  mps_word_t serial;
  Count countdown;           /* arena_fail_after's count before this op */
} fw_s;

#define FW_KEYS 0
#define FW_VALS 1
#define FW_TMP 2
#define FW_TMP2 3
#define FW_STRONG_REF(i) (4 + (i))

static awlarr_s *fw_keys(fw_s *f) { return f->refs[FW_KEYS]; }
static awlarr_s *fw_vals(fw_s *f) { return f->refs[FW_VALS]; }

/* A request refused during this operation: it must be the one
 * arena_fail_after was asked to refuse, and its result must say so. */
static void fw_refused(fw_s *f, mps_res_t res, const char *what)
{
  if (!refusal_fell(f->arena, f->countdown)
      || !refusal_result(res)) {
    fprintf(stderr, "fuzz_awl: %s with result %d, not for the refused request\n", what,
            (int)res);
    abort();
  }
}

static mps_res_t fw_ap_create(mps_ap_t *ap, mps_pool_t pool, mps_rank_t rank)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, rank);
    res = mps_ap_create_k(ap, pool, args);
  } MPS_ARGS_END(args);
  return res;
}

static void fw_ap_make(mps_ap_t *ap, mps_pool_t pool, mps_rank_t rank)
{
  if (fw_ap_create(ap, pool, rank) != MPS_RES_OK)
    fw_fail("cannot make an allocation point", 0);
}

/* Replace a point by a new one; one the arena could not make leaves the
 * old in use. */
static void fw_ap_renew(fw_s *f, mps_ap_t *ap, mps_pool_t pool, mps_rank_t rank)
{
  mps_ap_t fresh;
  mps_res_t res = fw_ap_create(&fresh, pool, rank);
  if (res != MPS_RES_OK) {
    fw_refused(f, res, "an allocation point failed");
    return;
  }
  mps_ap_destroy(*ap);
  *ap = fresh;
}

static void fw_flush(fw_s *f)
{
  int p;
  for (p = 0; p < 3; ++p)
    fw_ap_renew(f, &f->ap[p], f->pool[p], mps_rank_exact());
  fw_ap_renew(f, &f->weak_ap, f->pool[2], mps_rank_weak());
}

/* Allocate into refs[index] (a root) so a collection meanwhile sees it. */
static mps_res_t fw_obj(fw_s *f, mps_ap_t ap, mps_word_t seed, size_t words, size_t index)
{
  mps_addr_t p;
  size_t i;
  do {
    mps_word_t *w;
    mps_res_t res = mps_reserve(&p, ap, words * W);
    if (res != MPS_RES_OK)
      return res;
    w = p;
    w[0] = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    w[1] = seed;
    for (i = 2; i < words; ++i)
      w[i] = seed * 2654435761u + i;
  } while (!mps_commit(ap, p, words * W));
  f->refs[index] = p;
  return MPS_RES_OK;
}

static int fw_obj_ok(mps_word_t *w, mps_word_t seed)
{
  size_t i;
  if (OBJFMT_TYPE(w[0]) != OBJFMT_T_OBJ || OBJFMT_WORDS(w[0]) != FW_OBJ_WORDS
      || w[1] != seed)
    return 0;
  for (i = 2; i < FW_OBJ_WORDS; ++i)
    if (w[i] != seed * 2654435761u + i)
      return 0;
  return 1;
}

static void fw_arr(fw_s *f, mps_ap_t ap, size_t index)
{
  size_t words = AWLARR_WORDS(FW_N);
  mps_addr_t p;
  do {
    if (mps_reserve(&p, ap, words * W) != MPS_RES_OK)
      fw_fail("reserve failed", 0);
    awlarr_init(p, FW_N);
  } while (!mps_commit(ap, p, words * W));
  f->refs[index] = p;
}

static void fw_open(fw_s *f, int unclamped)
{
  mps_gen_param_s gens[2] = {{128, 0.8}, {512, 0.4}};
  int p;
  memset(f, 0, sizeof *f);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 16 << 20);
    if (mps_arena_create_k(&f->arena, mps_arena_class_vm(), args) != MPS_RES_OK)
      fw_fail("arena", 0);
  } MPS_ARGS_END(args);
  if (objfmt_create(&f->fmt, f->arena, fw_scan, true) != MPS_RES_OK)
    fw_fail("format", 0);
  if (mps_chain_create(&f->chain, f->arena, 2, gens) != MPS_RES_OK)
    fw_fail("chain", 0);
  for (p = 0; p < 3; ++p) {
    mps_pool_class_t klass = p == 0 ? mps_class_amc() : p == 1 ? mps_class_ams()
                                                               : mps_class_awl();
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, f->fmt);
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, f->chain);
      if (p == 2)
        MPS_ARGS_ADD(args, MPS_KEY_AWL_FIND_DEPENDENT, awlarr_find_dependent);
      if (mps_pool_create_k(&f->pool[p], f->arena, klass, args) != MPS_RES_OK)
        fw_fail("pool", 0);
    } MPS_ARGS_END(args);
    fw_ap_make(&f->ap[p], f->pool[p], mps_rank_exact());
  }
  fw_ap_make(&f->weak_ap, f->pool[2], mps_rank_weak());
  if (mps_root_create_table(&f->root, f->arena, mps_rank_exact(), 0, f->refs,
                            sizeof f->refs / sizeof f->refs[0]) != MPS_RES_OK
      || mps_root_create_table(&f->aroot, f->arena, mps_rank_ambig(), 0, f->ambig,
                               FW_N) != MPS_RES_OK)
    fw_fail("roots", 0);
  if (!unclamped)
    mps_arena_park(f->arena);
  fw_arr(f, f->weak_ap, FW_KEYS);
  fw_arr(f, f->ap[2], FW_VALS);
  fw_keys(f)->dependent = fw_vals(f);
  fw_vals(f)->dependent = fw_keys(f);
}

static void fw_close(fw_s *f)
{
  int p;
  mps_arena_park(f->arena);
  mps_root_destroy(f->aroot);
  mps_root_destroy(f->root);
  mps_ap_destroy(f->weak_ap);
  for (p = 2; p >= 0; --p) {
    mps_ap_destroy(f->ap[p]);
    mps_pool_destroy(f->pool[p]);
  }
  mps_chain_destroy(f->chain);
  mps_fmt_destroy(f->fmt);
  mps_arena_destroy(f->arena);
}

static void fw_insert(fw_s *f, size_t i, int pool, int strong)
{
  mps_word_t ks = ++f->serial, vs = ++f->serial;
  mps_res_t res;
  /* Both are made before the slot changes, so that a refused request
   * leaves it as it was; the key is held strongly until its value is in,
   * as an automatic collection while the value is made would otherwise
   * splat a weak-only key first. */
  res = fw_obj(f, f->ap[pool], ks, FW_OBJ_WORDS, FW_TMP);
  if (res == MPS_RES_OK)
    res = fw_obj(f, f->ap[0], vs, FW_OBJ_WORDS, FW_TMP2);
  if (res != MPS_RES_OK) {
    f->refs[FW_TMP] = NULL;
    fw_refused(f, res, "an insert failed");
    return;
  }
  f->ambig[i] = NULL;
  fw_keys(f)->slot[i] = (mps_word_t)f->refs[FW_TMP];
  fw_vals(f)->slot[i] = (mps_word_t)f->refs[FW_TMP2];
  f->refs[FW_STRONG_REF(i)] = strong ? f->refs[FW_TMP] : NULL;
  f->refs[FW_TMP] = NULL;
  f->refs[FW_TMP2] = NULL;
  f->state[i] = strong ? FW_STRONG : FW_WEAK;
  f->key_pool[i] = pool;
  f->key_seed[i] = ks;
  f->val_seed[i] = vs;
}

/* The table against the model; `exact_death`: every weak-only key must be
 * gone. */
static void fw_check(fw_s *f, int exact_death)
{
  awlarr_s *keys = fw_keys(f), *vals = fw_vals(f);
  size_t i;
  if (keys->dependent != vals || vals->dependent != keys)
    fw_fail("the arrays lost each other", 0);
  for (i = 0; i < FW_N; ++i) {
    mps_word_t *k = (mps_word_t *)keys->slot[i], *v = (mps_word_t *)vals->slot[i];
    switch (f->state[i]) {
    case FW_EMPTY:
      if (k != NULL || v != NULL)
        fw_fail("an empty slot is not empty", i);
      break;
    case FW_STRONG:
    case FW_PINNED:
      if (k == NULL)
        fw_fail("a strongly referenced key was splatted", i);
      if (f->state[i] == FW_STRONG && (mps_addr_t)k != f->refs[FW_STRONG_REF(i)])
        fw_fail("the key is not its strong reference's object", i);
      if (f->state[i] == FW_PINNED && ((mps_addr_t)k != f->ambig[i]
                                       || (mps_addr_t)k != f->pinned_at[i]))
        fw_fail("a pinned key moved", i);
      if (!fw_obj_ok(k, f->key_seed[i]))
        fw_fail("a live key is damaged", i);
      if (v == NULL || !fw_obj_ok(v, f->val_seed[i]))
        fw_fail("a live key's value is missing or damaged", i);
      break;
    case FW_WEAK:
      if (k == NULL) {
        if (v != NULL)
          fw_fail("a splatted key's value was not deleted", i);
        f->state[i] = FW_EMPTY;
      } else if (exact_death) {
        fw_fail("a key with no strong reference survived a full collection", i);
      } else if (!fw_obj_ok(k, f->key_seed[i]) || v == NULL
                 || !fw_obj_ok(v, f->val_seed[i])) {
        fw_fail("a weak-only key that survived is damaged", i);
      }
      break;
    default:
      fw_fail("bad model state", i);
    }
  }
}

/* After a full collection that absorbed the refusal: a weak-only key
 * still there was kept where it was (fw_check has checked it intact).
 * Unless the collection was skipped (no memory for the trace: mps_collections
 * did not count it), only AMC can have kept one, for want of to-space or
 * of a nailboard; AMS and AWL need no memory to collect. */
static void fw_check_kept(fw_s *f, const mps_word_t before[FW_N], int ran)
{
  size_t i;
  for (i = 0; i < FW_N; ++i) {
    if (f->state[i] != FW_WEAK)
      continue;
    if (fw_keys(f)->slot[i] != before[i])
      fw_fail("a weak-only key kept by a refused collection moved", i);
    if (ran && f->key_pool[i] != 0)
      fw_fail("a collection that ran kept a weak-only key not in AMC", i);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fw_s *f;
  size_t n, ops = 0;
  int unclamped, no_flush, refusals;
  if (size < 1)
    return 0;
  f = malloc(sizeof *f);
  if (f == NULL)
    return 0;
  unclamped = data[0] & 1;
  no_flush = (data[0] >> 1) & 1;
  refusals = (data[0] >> 7) & 1;
  fw_open(f, unclamped);
  for (n = 1; n + 1 < size && ops < FW_OPS; n += 2, ++ops) {
    uint8_t op = data[n], arg = data[n + 1];
    size_t i = (size_t)arg % FW_N;
    f->countdown = refusal_countdown(f->arena);
    switch (op % 8) {
    case 0:
    case 1:     /* insert, strong or (1) weak-only */
      fw_insert(f, i, (arg >> 5) % 3, op % 8 == 0);
      break;
    case 2:     /* delete */
      fw_keys(f)->slot[i] = 0;
      fw_vals(f)->slot[i] = 0;
      f->refs[FW_STRONG_REF(i)] = NULL;
      f->ambig[i] = NULL;
      f->state[i] = FW_EMPTY;
      break;
    case 3:     /* drop the strong reference */
      if (f->state[i] == FW_STRONG || f->state[i] == FW_PINNED) {
        f->refs[FW_STRONG_REF(i)] = NULL;
        f->ambig[i] = NULL;
        f->state[i] = FW_WEAK;
      }
      break;
    case 4:     /* pin */
      if (f->state[i] == FW_STRONG) {
        f->ambig[i] = f->refs[FW_STRONG_REF(i)];
        f->pinned_at[i] = f->ambig[i];
        f->refs[FW_STRONG_REF(i)] = NULL;
        f->state[i] = FW_PINNED;
      }
      break;
    case 5: {   /* junk; perhaps a request refused first */
      size_t k;
      if (refusals && (op & 0x80)) {
        arena_fail_after((Arena)f->arena, (Count)(arg / 8) + 1);
        f->countdown = refusal_countdown(f->arena);
      }
      for (k = 0; k < (size_t)(arg % 64) + 1; ++k) {
        mps_res_t res = fw_obj(f, f->ap[k % 3], 0, FW_OBJ_WORDS + (k % 5), FW_TMP);
        if (res != MPS_RES_OK) {
          fw_refused(f, res, "junk failed");
          break;
        }
      }
      f->refs[FW_TMP] = NULL;
      break;
    }
    default: {  /* collect */
      int flush = !no_flush || (arg & 1);
      mps_word_t before[FW_N], epoch;
      Count armed;
      if (flush)
        fw_flush(f);
      /* mps_arena_collect finishes a collection in progress first: done
       * here, a refusal that falls in the call falls in the full one. */
      mps_arena_park(f->arena);
      memcpy(before, fw_keys(f)->slot, sizeof before);
      armed = refusal_countdown(f->arena);
      epoch = mps_collections(f->arena);
      mps_arena_collect(f->arena);
      if (refusal_fell(f->arena, armed)) {
        fw_check(f, 0);
        fw_check_kept(f, before, mps_collections(f->arena) != epoch);
      } else {
        fw_check(f, 1);   /* buffered segments are condemned too */
      }
      if (unclamped)
        mps_arena_release(f->arena);
      break;
    }
    }
    /* Whatever happened, no strong key may be lost (automatic collections
     * may have run). */
    fw_check(f, 0);
  }
  arena_fail_after((Arena)f->arena, 0);
  f->countdown = 0;
  fw_flush(f);
  mps_arena_collect(f->arena);
  fw_check(f, 1);
  fw_close(f);
  free(f);
  return 0;
}
