/* Unit tests for the AMS pool class and its debugging variant
 * (src/pool/pool_ams.c): reachable objects survive intact and never move,
 * unreachable ones are reclaimed and their space reused, ambiguous
 * references keep the object containing them while stray words keep
 * nothing, MPS_KEY_AMS_SUPPORT_AMBIGUOUS, generations by MPS_KEY_GEN,
 * walks, commit-limit failure, a reserve pending across a collection,
 * allocation points of ambiguous rank (MPS_KEY_RANK: their objects' words
 * keep what they point into; refused without ambiguous support; never in
 * the segments of exact ones; weak refused), a scan that fails part way
 * through grey objects scanned together, the summary of a condemned
 * segment scanned twice in one collection, objects a scan sets aside to
 * scan itself (every grain black; past the bound; not across ranks; its
 * segment's summary taking the zones of what the scan copied),
 * where fills go (the lowest hole after a collection, a tail given back,
 * below the cursor, a tail joining freed garbage), freed grains holding
 * no starts, an allocation point's unused space in collections and walks,
 * and the debugging free-space template (checked as fills hand it out,
 * laid by address).
 *
 * Objects are in test/support/objfmt.h's format (all of type object:
 * AMS neither moves nor pads), with data words derived from a seed. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/gc/chain.h"
#include "../src/gc/seg.h"
#include "support/objfmt.h"
#include "support/collections.h"
#include "support/checks.h"
#include "support/reports.h"

#define W sizeof(mps_word_t)

static unsigned long tams_scanned;   /* objects scanned */

static mps_res_t tams_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  return objfmt_scan_counting(ss, base, limit, &tams_scanned);
}

typedef struct tams_s {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_root_t root, aroot;
  mps_addr_t refs[64];     /* exact root */
  mps_addr_t ambig[8];     /* ambiguous root */
} tams_s;

static void tams_open_args(tams_s *t, mps_pool_class_t klass, mps_arg_s *extra)
{
  mps_gen_param_s gens[2] = {{256, 0.5}, {1024, 0.5}};
  memset(t, 0, sizeof *t);
  tams_scanned = 0;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 16 << 20);
    cr_assert_eq(mps_arena_create_k(&t->arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(objfmt_create(&t->fmt, t->arena, tams_scan, false), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&t->chain, t->arena, 2, gens), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
    for (; extra != NULL && extra->key != MPS_KEY_ARGS_END; ++extra) {
      args[_mps_n_args++] = *extra;
      args[_mps_n_args].key = MPS_KEY_ARGS_END;
    }
    cr_assert_eq(mps_pool_create_k(&t->pool, t->arena, klass, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&t->ap, t->pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->root, t->arena, mps_rank_exact(), 0, t->refs,
                                     sizeof t->refs / sizeof t->refs[0]), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->aroot, t->arena, mps_rank_ambig(), 0, t->ambig,
                                     sizeof t->ambig / sizeof t->ambig[0]), MPS_RES_OK);
}

static void tams_open(tams_s *t)
{
  tams_open_args(t, mps_class_ams(), NULL);
}

static void tams_close(tams_s *t)
{
  mps_arena_park(t->arena);
  mps_root_destroy(t->aroot);
  mps_root_destroy(t->root);
  mps_ap_destroy(t->ap);
  mps_pool_destroy(t->pool);
  mps_chain_destroy(t->chain);
  mps_fmt_destroy(t->fmt);
  mps_arena_destroy(t->arena);
}

/* Detach the allocation point from its segment by making it again (so
 * its unused tail is free space again). */
static void tams_flush(tams_s *t)
{
  mps_ap_destroy(t->ap);
  cr_assert_eq(mps_ap_create_k(&t->ap, t->pool, mps_args_none), MPS_RES_OK);
}

static void tams_new(mps_ap_t ap, mps_addr_t *slot, size_t nrefs, size_t ndata,
                     mps_word_t seed)
{
  size_t words = 2 + nrefs + ndata, i;
  mps_addr_t p;
  do {
    objfmt_obj obj;
    cr_assert_eq(mps_reserve(&p, ap, words * W), MPS_RES_OK);
    obj = p;
    obj->header = OBJFMT_HDR(words, OBJFMT_T_OBJ);
    obj->nrefs = nrefs;
    for (i = 0; i < nrefs; ++i)
      obj->slot[i] = 0;
    for (i = 0; i < ndata; ++i)
      obj->slot[nrefs + i] = seed * 31u + i;
  } while (!mps_commit(ap, p, words * W));
  *slot = p;
}

static bool tams_data_ok(objfmt_obj obj, size_t ndata, mps_word_t seed)
{
  size_t i;
  if (OBJFMT_WORDS(obj->header) != 2 + obj->nrefs + ndata)
    return false;
  for (i = 0; i < ndata; ++i)
    if (obj->slot[obj->nrefs + i] != seed * 31u + i)
      return false;
  return true;
}

/* A list of n cells, cell k referring to cell k-1; addresses recorded. */
static void tams_list(tams_s *t, mps_addr_t *head, size_t n, size_t ndata, mps_addr_t *addrs)
{
  size_t k;
  *head = NULL;
  for (k = 0; k < n; ++k) {
    t->refs[63] = *head;
    tams_new(t->ap, &t->refs[62], 1, ndata, (mps_word_t)k);
    ((objfmt_obj)t->refs[62])->slot[0] = (mps_word_t)t->refs[63];
    *head = t->refs[62];
    if (addrs != NULL)
      addrs[k] = *head;
  }
  t->refs[62] = t->refs[63] = NULL;
}

static void tams_list_check(mps_addr_t head, size_t n, size_t ndata, mps_addr_t *addrs)
{
  size_t k = n;
  objfmt_obj obj = head;
  while (obj != NULL) {
    cr_assert(k > 0, "list longer than made");
    --k;
    cr_assert(tams_data_ok(obj, ndata, (mps_word_t)k), "cell %zu damaged", k);
    if (addrs != NULL)
      cr_assert_eq((mps_addr_t)obj, addrs[k], "cell %zu moved", k);
    obj = (objfmt_obj)obj->slot[0];
  }
  cr_assert_eq(k, 0, "list shorter than made");
}

typedef struct tams_count_s {
  mps_pool_t pool;
  size_t objects, bytes;
} tams_count_s;

static void tams_count_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  tams_count_s *c = p;
  (void)fmt;
  (void)s;
  if (pool != c->pool)
    return;
  ++c->objects;
  c->bytes += OBJFMT_WORDS(*(mps_word_t *)addr) * W;
}

static tams_count_s tams_count(tams_s *t)
{
  tams_count_s c = {t->pool, 0, 0};
  mps_arena_formatted_objects_walk(t->arena, tams_count_step, &c, 0);
  return c;
}

/* The debugging reports are formatted on the library's stack, so their
 * text must be copied before the handler returns; reports.h counts them. */
static char tams_last_failure[200];
static void tams_copy_report(const char *file, unsigned line, const char *condition)
{
  strncpy(tams_last_failure, condition, sizeof tams_last_failure - 1);
  reports_record(file, line, condition);
}

static void tams_install_copying(void)
{
  reports_install();
  mps_lib_assert_fail_install(tams_copy_report);
}

Test(ams, list_survives_in_place)
{
  tams_s t;
  mps_addr_t addrs[600];
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_list(&t, &t.refs[0], 600, 5, addrs);
  tams_flush(&t);
  tams_scanned = 0;
  mps_arena_collect(t.arena);
  tams_list_check(t.refs[0], 600, 5, addrs);
  cr_assert_geq(tams_scanned, 600, "every live object is scanned (%lu)", tams_scanned);
  mps_arena_collect(t.arena);
  tams_list_check(t.refs[0], 600, 5, addrs);
  cr_assert_eq(tams_count(&t).objects, 600);
  tams_close(&t);
}

/* The gc message's live size counts what AMS kept: objects kept in place
 * are preserved as much as copied ones (manual/topic/collection.rst). */
Test(ams, the_gc_message_counts_what_stayed_alive)
{
  tams_s t;
  mps_message_t msg;
  size_t live, messages = 0;
  tams_open(&t);
  mps_arena_park(t.arena);
  mps_message_type_enable(t.arena, mps_message_type_gc());
  tams_list(&t, &t.refs[0], 500, 6, NULL);       /* 500 cells of 9 words */
  tams_list(&t, &t.refs[1], 300, 6, NULL);
  t.refs[1] = NULL;                              /* garbage */
  tams_flush(&t);
  mps_arena_collect(t.arena);
  while (mps_message_get(&msg, t.arena, mps_message_type_gc())) {
    live = mps_message_gc_live_size(t.arena, msg);
    cr_assert_geq(live, 500 * 9 * W, "live %zu", live);
    cr_assert_lt(live, 800 * 9 * W, "the garbage is not live (%zu)", live);
    cr_assert_geq(mps_message_gc_condemned_size(t.arena, msg), live);
    mps_message_discard(t.arena, msg);
    ++messages;
  }
  cr_assert_eq(messages, 1, "one collection, one message");
  tams_close(&t);
}

/* A scan that fails once, at a chosen object, having fixed the objects
 * before it in the same call. */
static mps_addr_t tams_fail_at;

static mps_res_t tams_scan_failing(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  char *p;
  for (p = base; p < (char *)limit; p += OBJFMT_WORDS(*(mps_word_t *)p) * W) {
    mps_res_t res;
    if (p == tams_fail_at) {
      tams_fail_at = NULL;
      return MPS_RES_FAIL;
    }
    res = tams_scan(ss, p, p + OBJFMT_WORDS(*(mps_word_t *)p) * W);
    if (res != MPS_RES_OK)
      return res;
  }
  return MPS_RES_OK;
}

/* Grey objects that lie side by side are scanned in one call.  n
 * children, then n parents after them in one run, each held by the root
 * and referring to its child alone, in the pool remade with a format
 * whose scan fails once, at parent fail_at; after a full collection every
 * child survives, and the parents keep all their grains. */
static void tams_failing_scan_case(size_t n, size_t fail_at)
{
  tams_s t;
  mps_addr_t kids[64];
  size_t k;
  mps_fmt_t fmt;
  cr_assert_leq(n, 64);
  tams_open(&t);
  mps_arena_park(t.arena);
  mps_ap_destroy(t.ap);
  mps_pool_destroy(t.pool);
  cr_assert_eq(objfmt_create(&fmt, t.arena, tams_scan_failing, false), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
    cr_assert_eq(mps_pool_create_k(&t.pool, t.arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&t.ap, t.pool, mps_args_none), MPS_RES_OK);
  for (k = 0; k < n; ++k) {
    tams_new(t.ap, &t.refs[k], 0, 3, (mps_word_t)k);
    kids[k] = t.refs[k];
  }
  for (k = 0; k < n; ++k) {
    tams_new(t.ap, &t.refs[k], 1, 0, 0);
    ((objfmt_obj)t.refs[k])->slot[0] = (mps_word_t)kids[k];
    if (k > 0)
      cr_assert_eq((char *)t.refs[k], (char *)t.refs[k - 1] + 3 * W, "parents side by side");
  }
  tams_flush(&t);
  tams_fail_at = t.refs[fail_at];
  mps_arena_collect(t.arena);
  cr_assert_null(tams_fail_at, "the scan failed once");
  cr_assert_eq(tams_count(&t).objects, 2 * n);
  cr_assert_eq(mps_pool_total_size(t.pool) - mps_pool_free_size(t.pool), n * 8 * W,
               "the parents keep only part of their grains");
  for (k = 0; k < n; ++k) {
    cr_assert_eq((mps_addr_t)((objfmt_obj)t.refs[k])->slot[0], kids[k]);
    cr_assert(tams_data_ok(kids[k], 3, (mps_word_t)k), "child %zu damaged", k);
  }
  /* tams_close, with the second format as well. */
  mps_root_destroy(t.aroot);
  mps_root_destroy(t.root);
  mps_ap_destroy(t.ap);
  mps_pool_destroy(t.pool);
  mps_fmt_destroy(fmt);
  mps_chain_destroy(t.chain);
  mps_fmt_destroy(t.fmt);
  mps_arena_destroy(t.arena);
}

/* When the call fails part way, every object of it is scanned again, so
 * what only the later ones refer to survives. */
Test(ams, a_scan_failing_part_way_through_adjacent_objects_is_redone)
{
  tams_failing_scan_case(40, 20);
}

/* When it fails at the first object of the run, before anything was fixed
 * that would bring the scan back below the run, the failed run itself
 * must be scanned again. */
Test(ams, a_scan_failing_at_the_first_of_adjacent_objects_is_redone)
{
  tams_failing_scan_case(20, 0);
}

/* A list over many segments, each cell referring to the one made before
 * it, held only by its last cell: marking crosses from each segment into
 * the one below, and every cell survives, unmoved and intact. */
Test(ams, a_list_across_many_segments_survives)
{
  enum { N = 12000 };   /* 64-byte cells: 750 KiB */
  tams_s t;
  static mps_addr_t addrs[N];
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_list(&t, &t.refs[0], N, 5, addrs);
  tams_flush(&t);
  cr_assert_gt((char *)addrs[N - 1] - (char *)addrs[0], 8 * 65536, "the list spans segments");
  tams_scanned = 0;
  mps_arena_collect(t.arena);
  tams_list_check(t.refs[0], N, 5, addrs);
  cr_assert_geq(tams_scanned, N, "every cell is scanned (%lu)", tams_scanned);
  cr_assert_eq(tams_count(&t).objects, N);
  mps_arena_collect(t.arena);
  tams_list_check(t.refs[0], N, 5, addrs);
  cr_assert_eq(tams_count(&t).objects, N);
  tams_close(&t);
}

/* A chain that zig-zags between the segments of two allocation points,
 * held by its first cell: each scan of one segment marks the next cell in
 * the other, which has been scanned already, so that cell is scanned at
 * once by the scan that marked it (pool_ams.h, defer), not by greying the
 * segment again; past the bound on that, the rest are greyed.  Every cell
 * survives intact. */
Test(ams, a_chain_between_two_segments_survives)
{
  /* Cells from each point, of three words: two segments of 64 KiB hold
   * more than the drain's bound. */
  enum { N = 6000 };
  tams_s t;
  mps_ap_t ap2;
  static mps_addr_t cells[2 * N];
  size_t k;
  tams_open(&t);
  mps_arena_park(t.arena);
  cr_assert_eq(mps_ap_create_k(&ap2, t.pool, mps_args_none), MPS_RES_OK);
  /* cells[2k] from the first point, cells[2k + 1] from the second; each
   * refers to the next, and the root holds cells[0] only. */
  for (k = 0; k < 2 * N; ++k) {
    tams_new(k % 2 == 0 ? t.ap : ap2, &t.refs[1], 1, 0, 0);
    cells[k] = t.refs[1];
    if (k > 0)
      ((objfmt_obj)cells[k - 1])->slot[0] = (mps_word_t)cells[k];
    else
      t.refs[0] = cells[0];
  }
  t.refs[1] = NULL;
  mps_ap_destroy(ap2);
  tams_flush(&t);
  for (k = 0; k < 2; ++k) {
    size_t i;
    mps_arena_collect(t.arena);
    cr_assert_eq(tams_count(&t).objects, 2 * N);
    for (i = 0; i < 2 * N; ++i) {
      objfmt_obj obj = cells[i];
      cr_assert(tams_data_ok(obj, 0, 0), "cell %zu damaged", i);
      cr_assert_eq((mps_addr_t)obj->slot[0], i + 1 < 2 * N ? cells[i + 1] : NULL);
    }
    /* A cell scanned by the scan that marked it is black in every grain,
     * as one its own segment's scan blackens: none of it is freed. */
    cr_assert_eq(mps_pool_total_size(t.pool) - mps_pool_free_size(t.pool), 2 * N * 3 * W,
                 "cells lost grains");
  }
  tams_close(&t);
}

Test(ams, garbage_is_reclaimed_and_reused)
{
  tams_s t;
  size_t k, total, used_before, used_after;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_list(&t, &t.refs[0], 100, 3, NULL);
  for (k = 0; k < 4000; ++k) {
    tams_new(t.ap, &t.refs[1], 0, 20, 7);
    if (k % 3 == 0)   /* interleaved survivors, so segments stay */
      tams_new(t.ap, &t.refs[2 + k % 50], 0, 1, k);
  }
  t.refs[1] = NULL;
  tams_flush(&t);
  total = mps_pool_total_size(t.pool);
  used_before = total - mps_pool_free_size(t.pool);
  cr_assert_geq(total, 4000 * 22 * W);
  cr_assert_eq(tams_count(&t).objects, 100 + 4000 + 1334);
  mps_arena_collect(t.arena);
  used_after = mps_pool_total_size(t.pool) - mps_pool_free_size(t.pool);
  cr_assert_eq(tams_count(&t).objects, 100 + 50, "only the reachable remain");
  cr_assert_eq(used_after, (100 * 6 + 50 * 3) * W, "in use %zu -> %zu", used_before,
               used_after);
  tams_list_check(t.refs[0], 100, 3, NULL);
  /* The freed space is used again before the pool grows. */
  total = mps_pool_total_size(t.pool);
  cr_assert_gt(mps_pool_free_size(t.pool), 64 * 1024);
  for (k = 0; k < mps_pool_free_size(t.pool) / 2 / (22 * W); ++k)
    tams_new(t.ap, &t.refs[1], 0, 20, 9);
  cr_assert_eq(mps_pool_total_size(t.pool), total, "pool grew instead of reusing");
  tams_list_check(t.refs[0], 100, 3, NULL);
  /* Nothing reachable: every segment is given back. */
  memset(t.refs, 0, sizeof t.refs);
  tams_flush(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 0);
  cr_assert_eq(mps_pool_total_size(t.pool), 0);
  cr_assert_eq(mps_pool_free_size(t.pool), 0);
  tams_close(&t);
}

/* Fills resume where the last one ended (the fill cursor) but still go
 * round every segment before the pool grows, and a buffer's unused tail,
 * given back, counts as free again: here the only free space left is the
 * tail of a segment behind the cursor, and it is used. */
/* An object larger than an ordinary segment (64 KiB) and not a whole
 * number of grains gets a segment of its own, rounded up to grains; it
 * survives in place while referenced, and its segment goes when it dies. */
Test(ams, a_large_object_gets_a_segment_of_its_own)
{
  tams_s t;
  size_t before, ndata = 100 * 1024 / W + 3;
  mps_addr_t where;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_new(t.ap, &t.refs[0], 0, 4, 1);           /* an ordinary segment */
  tams_flush(&t);
  before = mps_pool_total_size(t.pool);
  tams_new(t.ap, &t.refs[1], 0, ndata, 2);
  where = t.refs[1];
  tams_flush(&t);
  cr_assert_geq(mps_pool_total_size(t.pool) - before, (2 + ndata) * W);
  cr_assert_lt(mps_pool_total_size(t.pool) - before, (2 + ndata) * W + 64 * 1024);
  mps_arena_collect(t.arena);
  cr_assert_eq(t.refs[1], where);
  cr_assert(tams_data_ok(t.refs[1], ndata, 2), "the large object was damaged");
  t.refs[1] = NULL;
  mps_arena_collect(t.arena);
  cr_assert_eq(mps_pool_total_size(t.pool), before, "its segment was kept");
  cr_assert(tams_data_ok(t.refs[0], 4, 1));
  tams_close(&t);
}

Test(ams, fill_wraps_round_to_space_behind_the_cursor)
{
  enum { WORDS = 64, N = 16 };
  tams_s t;
  mps_ap_t ap2;
  mps_addr_t a, b, p;
  size_t total, k;
  tams_open(&t);
  mps_arena_park(t.arena);
  cr_assert_eq(mps_ap_create_k(&ap2, t.pool, mps_args_none), MPS_RES_OK);
  tams_new(t.ap, &a, 0, WORDS - 2, 1);       /* t.ap takes a whole segment */
  tams_new(ap2, &b, 0, WORDS - 2, 2);        /* ap2 another; the cursor is past it */
  total = mps_pool_total_size(t.pool);
  cr_assert_eq(mps_pool_free_size(t.pool), 0);
  /* Give back the first segment's tail: only it is free. */
  mps_ap_destroy(t.ap);
  cr_assert_eq(mps_pool_free_size(t.pool), total / 2 - WORDS * W);
  /* Use up ap2's segment; the next fill must come round to that tail. */
  for (k = 1; k < total / 2 / (WORDS * W); ++k)
    tams_new(ap2, &p, 0, WORDS - 2, k);
  cr_assert_eq(mps_pool_free_size(t.pool), total / 2 - WORDS * W);
  tams_new(ap2, &p, 0, WORDS - 2, 3);
  cr_assert_eq((char *)p, (char *)a + WORDS * W, "the tail was not reused first");
  for (k = 0; k < N; ++k)
    tams_new(ap2, &p, 0, WORDS - 2, k);
  cr_assert_eq(mps_pool_total_size(t.pool), total, "pool grew instead of reusing");
  mps_ap_destroy(ap2);
  cr_assert_eq(mps_ap_create_k(&t.ap, t.pool, mps_args_none), MPS_RES_OK);
  tams_close(&t);
}

Test(ams, cycles_and_shared_structure)
{
  tams_s t;
  objfmt_obj a, b, c;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_new(t.ap, &t.refs[0], 2, 2, 1);
  tams_new(t.ap, &t.refs[1], 2, 2, 2);
  tams_new(t.ap, &t.refs[2], 2, 2, 3);
  a = t.refs[0], b = t.refs[1], c = t.refs[2];
  a->slot[0] = (mps_word_t)b;   /* a -> b -> c -> a, and c -> c */
  b->slot[0] = (mps_word_t)c;
  c->slot[0] = (mps_word_t)a;
  c->slot[1] = (mps_word_t)c;
  t.refs[1] = t.refs[2] = NULL;
  /* A dead cycle. */
  tams_new(t.ap, &t.refs[3], 1, 2, 4);
  ((objfmt_obj)t.refs[3])->slot[0] = (mps_word_t)t.refs[3];
  t.refs[3] = NULL;
  tams_flush(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 3);
  cr_assert(tams_data_ok(a, 2, 1) && tams_data_ok(b, 2, 2) && tams_data_ok(c, 2, 3));
  cr_assert_eq((objfmt_obj)a->slot[0], b);
  cr_assert_eq((objfmt_obj)c->slot[0], a);
  tams_close(&t);
}

Test(ams, ambiguous_references_keep_containing_object)
{
  tams_s t;
  mps_addr_t a, b, c, d, e;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_new(t.ap, &t.refs[0], 1, 6, 10);   /* a: referenced by its base */
  tams_new(t.ap, &t.refs[1], 0, 6, 11);   /* b: by an interior pointer */
  tams_new(t.ap, &t.refs[2], 0, 6, 12);   /* c: unreferenced */
  tams_new(t.ap, &t.refs[3], 0, 6, 13);   /* d: only from a (exact) */
  tams_new(t.ap, &t.refs[4], 0, 6, 14);   /* e: by a misaligned pointer */
  a = t.refs[0], b = t.refs[1], c = t.refs[2], d = t.refs[3], e = t.refs[4];
  ((objfmt_obj)a)->slot[0] = (mps_word_t)d;
  memset(t.refs, 0, sizeof t.refs);
  t.ambig[0] = a;
  t.ambig[1] = (char *)b + 3 * W;
  t.ambig[2] = (char *)e + W + 1;
  t.ambig[3] = (mps_addr_t)(mps_word_t)0x10;   /* not in the arena */
  tams_flush(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 4, "a, b, d, e kept; c reclaimed");
  cr_assert(tams_data_ok(a, 6, 10) && tams_data_ok(b, 6, 11));
  cr_assert(tams_data_ok(d, 6, 13) && tams_data_ok(e, 6, 14));
  (void)c;
  tams_close(&t);
}

Test(ams, stray_ambiguous_words_keep_nothing)
{
  tams_s t;
  mps_addr_t a, free_word;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_new(t.ap, &t.refs[0], 0, 4, 1);
  tams_new(t.ap, &t.refs[1], 0, 4, 2);
  a = t.refs[0];
  /* Past everything committed: free grains of the segment. */
  free_word = (char *)t.refs[1] + 64 * W;
  t.refs[1] = NULL;
  tams_flush(&t);
  t.ambig[0] = free_word;
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 1, "a stray word kept an object");
  cr_assert(tams_data_ok(a, 4, 1));
  /* The free grain is still free: the next objects may land there. */
  tams_new(t.ap, &t.refs[1], 0, 4, 3);
  cr_assert(tams_data_ok(a, 4, 1));
  tams_close(&t);
}

Test(ams, support_ambiguous_false_refuses_ambiguous_references)
{
  tams_s t;
  mps_arg_s extra[2];
  extra[0].key = MPS_KEY_AMS_SUPPORT_AMBIGUOUS;
  extra[0].val.b = 0;
  extra[1].key = MPS_KEY_ARGS_END;
  tams_open_args(&t, mps_class_ams(), extra);
  mps_arena_park(t.arena);
  tams_new(t.ap, &t.refs[0], 0, 4, 1);
  tams_flush(&t);
  /* Exact references only: fine. */
  reports_install();
  mps_arena_collect(t.arena);
  cr_assert_eq(reports_seen(), 0);
  t.ambig[0] = t.refs[0];
  mps_arena_collect(t.arena);
  reports_install_abort();
  TEST_ASSERT_REPORTED(reports_seen());   /* an ambiguous reference was accepted */
  if (CHECK_LEVEL >= 1)
    cr_assert(strstr(reports_last, "support_ambiguous") != NULL, "%s", reports_last);
  t.ambig[0] = NULL;
  cr_assert(tams_data_ok(t.refs[0], 4, 1));
  tams_close(&t);
}

Test(ams, an_exact_reference_into_an_object_is_reported_and_keeps_nothing)
{
  tams_s t;
  mps_addr_t a;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_new(t.ap, &t.refs[0], 0, 4, 1);
  tams_new(t.ap, &t.refs[1], 0, 4, 2);
  a = t.refs[1];
  tams_flush(&t);
  /* Two words into the object: aligned, allocated, but no object's start. */
  t.refs[1] = (char *)a + 2 * sizeof(mps_word_t);
  reports_install();
  mps_arena_collect(t.arena);
  reports_install_abort();
  TEST_ASSERT_REPORTED(reports_seen());   /* an exact reference to no object's start */
  if (CHECK_LEVEL >= 1)
    cr_assert(strstr(reports_last, "is_start") != NULL, "%s", reports_last);
  cr_assert_eq(t.refs[1], (char *)a + 2 * sizeof(mps_word_t), "the reference was changed");
  t.refs[1] = NULL;
  cr_assert(tams_data_ok(t.refs[0], 4, 1));
  cr_assert_eq(tams_count(&t).objects, 1, "the object referred into was kept");
  tams_close(&t);
}

static size_t tams_area_objects;
static mps_res_t tams_area(mps_ss_t ss, void *base, void *limit, void *closure)
{
  char *p = base;
  (void)ss;
  (void)closure;
  while (p < (char *)limit) {
    ++tams_area_objects;
    p += OBJFMT_WORDS(*(mps_word_t *)p) * W;
  }
  cr_assert_eq(p, (char *)limit, "an area does not end at an object boundary");
  return MPS_RES_OK;
}

Test(ams, walks_and_addr_object)
{
  tams_s t;
  mps_addr_t p, keep;
  size_t k;
  tams_open(&t);
  mps_arena_park(t.arena);
  for (k = 0; k < 40; ++k)
    tams_new(t.ap, &t.refs[k], 0, k % 7, k);
  /* Uncommitted space of the buffer is not an object. */
  cr_assert_eq(tams_count(&t).objects, 40);
  cr_assert_eq(mps_addr_object(&p, t.arena, (char *)t.refs[39] + 2 * W), MPS_RES_OK);
  cr_assert_eq(p, t.refs[39]);
  cr_assert_eq(mps_addr_object(&p, t.arena, (char *)t.refs[39] + 200 * W), MPS_RES_FAIL);
  tams_area_objects = 0;
  cr_assert_eq(mps_pool_walk(t.pool, tams_area, NULL), MPS_RES_OK);
  cr_assert_eq(tams_area_objects, 40);
  /* After the buffer is gone and a collection freed every other one. */
  tams_flush(&t);
  for (k = 0; k < 40; k += 2)
    t.refs[k] = NULL;
  keep = t.refs[21];
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 20);
  tams_area_objects = 0;
  cr_assert_eq(mps_pool_walk(t.pool, tams_area, NULL), MPS_RES_OK);
  cr_assert_eq(tams_area_objects, 20);
  cr_assert_eq(mps_addr_object(&p, t.arena, (char *)keep + W), MPS_RES_OK);
  cr_assert_eq(p, keep);
  cr_assert_eq(mps_addr_object(&p, t.arena, (char *)keep - W), MPS_RES_FAIL,
               "a reclaimed object was found");
  tams_close(&t);
}

Test(ams, generation_chosen_by_key)
{
  /* Two pools on one chain: one allocating in generation 0 (capacity 256
   * KiB), one in generation 1 (1 MiB).  Filling generation 1 past
   * generation 0's capacity must not make a collection due. */
  tams_s t;
  mps_pool_t pool1;
  mps_ap_t ap1;
  mps_word_t collections;
  size_t k;
  tams_open(&t);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
    MPS_ARGS_ADD(args, MPS_KEY_GEN, 1);
    cr_assert_eq(mps_pool_create_k(&pool1, t.arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap1, pool1, mps_args_none), MPS_RES_OK);
  mps_arena_release(t.arena);
  collections = collections_done(t.arena);
  for (k = 0; k < 600; ++k)            /* about 600 KiB, all garbage */
    tams_new(ap1, &t.refs[0], 0, 126, k);
  cr_assert_eq(collections_done(t.arena), collections, "generation 1 collected too early");
  for (k = 0; k < 600; ++k)
    tams_new(t.ap, &t.refs[0], 0, 126, k);
  cr_assert_gt(collections_done(t.arena), collections, "generation 0 never collected");
  t.refs[0] = NULL;
  mps_arena_park(t.arena);
  mps_ap_destroy(ap1);
  mps_pool_destroy(pool1);
  tams_close(&t);
}

Test(ams, automatic_collection_bounds_the_heap)
{
  tams_s t;
  size_t k;
  mps_addr_t addrs[50];
  tams_open(&t);
  tams_list(&t, &t.refs[0], 50, 2, addrs);
  for (k = 0; k < 20000; ++k)          /* about 10 MiB of garbage */
    tams_new(t.ap, &t.refs[1], 0, 62, k);
  cr_assert_gt(collections_done(t.arena), 0);
  cr_assert_lt(mps_pool_total_size(t.pool), 4 << 20, "total %zu", mps_pool_total_size(t.pool));
  mps_arena_park(t.arena);
  tams_list_check(t.refs[0], 50, 2, addrs);
  tams_close(&t);
}

/* An AMC pool beside the AMS pool, on the same chain, with a moving
 * format of its own in *fmt_o. */
static mps_pool_t tams_amc_beside(tams_s *t, mps_fmt_t *fmt_o)
{
  mps_pool_t amc;
  cr_assert_eq(objfmt_create(fmt_o, t->arena, objfmt_scan, true), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, *fmt_o);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
    cr_assert_eq(mps_pool_create_k(&amc, t->arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  return amc;
}

/* arena.rst: mps_collections counts the collections in which objects
 * might have moved, so with only AMS, a non-moving pool, it stays 0 while
 * collections run; once an AMC pool has objects, it counts. */
Test(ams, collections_of_non_moving_pools_are_not_counted)
{
  tams_s t;
  mps_fmt_t fmt;
  mps_pool_t amc;
  mps_ap_t ap;
  tams_open(&t);
  tams_new(t.ap, &t.refs[0], 0, 4, 1);
  mps_arena_collect(t.arena);
  mps_arena_collect(t.arena);
  cr_assert_eq(collections_done(t.arena), 2);
  cr_assert_eq(mps_collections(t.arena), 0);
  amc = tams_amc_beside(&t, &fmt);
  cr_assert_eq(mps_ap_create_k(&ap, amc, mps_args_none), MPS_RES_OK);
  tams_new(ap, &t.refs[1], 0, 4, 2);
  mps_ap_destroy(ap);
  mps_arena_collect(t.arena);
  cr_assert_eq(collections_done(t.arena), 3);
  cr_assert_eq(mps_collections(t.arena), 1);
  t.refs[1] = NULL;
  mps_arena_park(t.arena);
  mps_pool_destroy(amc);
  mps_fmt_destroy(fmt);
  tams_close(&t);
}

Test(ams, commit_limit_leaves_pool_usable)
{
  tams_s t;
  mps_addr_t p;
  size_t big = 512 * 1024;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_list(&t, &t.refs[0], 50, 2, NULL);
  cr_assert_eq(mps_arena_commit_limit_set(t.arena, mps_arena_committed(t.arena)), MPS_RES_OK);
  cr_assert_eq(mps_reserve(&p, t.ap, big), MPS_RES_COMMIT_LIMIT);
  tams_list_check(t.refs[0], 50, 2, NULL);
  mps_arena_collect(t.arena);                 /* a collection still works */
  tams_list_check(t.refs[0], 50, 2, NULL);
  cr_assert_eq(mps_arena_commit_limit_set(t.arena, (size_t)1 << 30), MPS_RES_OK);
  cr_assert_eq(mps_reserve(&p, t.ap, big), MPS_RES_OK);
  memset(p, 0, big);
  ((objfmt_obj)p)->header = OBJFMT_HDR(big / W, OBJFMT_T_OBJ);
  cr_assert(mps_commit(t.ap, p, big));
  tams_list_check(t.refs[0], 50, 2, NULL);
  tams_close(&t);
}

/* Fill in a reserved five-word object with one reference, to ref, and
 * two data words: the object the commit tests leave pending. */
static void tams_init_pending(mps_addr_t p, mps_addr_t ref)
{
  objfmt_obj obj = p;
  obj->header = OBJFMT_HDR(5, OBJFMT_T_OBJ);
  obj->nrefs = 1;
  obj->slot[0] = (mps_word_t)ref;
  obj->slot[1] = 77;
  obj->slot[2] = 78;
}

Test(ams, reserve_pending_across_collection_fails_at_commit)
{
  tams_s t;
  mps_addr_t p;
  int tries = 0;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_new(t.ap, &t.refs[0], 0, 3, 5);
  do {
    ++tries;
    cr_assert_eq(mps_reserve(&p, t.ap, 5 * W), MPS_RES_OK);
    tams_init_pending(p, t.refs[0]);
    if (tries == 1)
      mps_arena_collect(t.arena);   /* between reserve and commit */
  } while (!mps_commit(t.ap, p, 5 * W));
  cr_assert_eq(tries, 2, "the commit after a collection succeeded");
  t.refs[1] = p;
  tams_flush(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 2);
  cr_assert_eq(((objfmt_obj)t.refs[1])->slot[0], (mps_word_t)t.refs[0]);
  cr_assert(tams_data_ok(t.refs[0], 3, 5));
  tams_close(&t);
}

/* The segment the allocation point is filling is condemned like the
 * others: its dead objects go although the point stays attached, its
 * live ones stay where they are, and the point goes on working. */
Test(ams, garbage_in_the_allocation_points_segment_is_reclaimed)
{
  tams_s t;
  mps_addr_t addrs[100];
  size_t k;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_list(&t, &t.refs[0], 100, 3, addrs);
  for (k = 0; k < 300; ++k)
    tams_new(t.ap, &t.refs[1], 0, 2, 7);
  t.refs[1] = NULL;
  cr_assert_eq(tams_count(&t).objects, 400);
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 100, "the point's segment kept its garbage");
  tams_list_check(t.refs[0], 100, 3, addrs);
  tams_list(&t, &t.refs[2], 40, 1, NULL);
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 140);
  tams_list_check(t.refs[0], 100, 3, addrs);
  tams_list_check(t.refs[2], 40, 1, NULL);
  tams_close(&t);
}

/* A mutator stopped inside mps_commit after its store to init: the
 * collection takes the object into the segment with the other committed
 * ones, and the trip that follows fails the commit and leaves the point
 * usable. */
Test(ams, commit_interrupted_after_storing_init)
{
  tams_s t;
  mps_addr_t p;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_new(t.ap, &t.refs[0], 0, 3, 5);
  cr_assert_eq(mps_reserve(&p, t.ap, 5 * W), MPS_RES_OK);
  tams_init_pending(p, t.refs[0]);
  t.ap->init = t.ap->alloc;   /* the first half of mps_commit */
  mps_arena_collect(t.arena);
  cr_assert_null(t.ap->limit, "the flip did not trap the point");
  cr_assert_not(mps_ap_trip(t.ap, p, 5 * W), "a commit across the flip succeeded");
  tams_new(t.ap, &t.refs[1], 1, 1, 6);
  ((objfmt_obj)t.refs[1])->slot[0] = (mps_word_t)t.refs[0];
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 2, "the abandoned object was not reclaimed");
  cr_assert_eq(((objfmt_obj)t.refs[1])->slot[0], (mps_word_t)t.refs[0]);
  cr_assert(tams_data_ok(t.refs[0], 3, 5));
  tams_close(&t);
}

/* A mutator stopped between reserve and commit stores init when it runs
 * again, and its trip may wait for the arena while another collection
 * runs: that collection must not take the block for an object, as its
 * reference was read before the first flip (here to an object that flip
 * reclaimed).  The block is held ambiguously, as the thread's registers
 * would hold it. */
Test(ams, block_initialized_after_a_flip_is_no_object_before_the_trip)
{
  tams_s t;
  mps_addr_t p;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_new(t.ap, &t.refs[0], 0, 3, 5);
  cr_assert_eq(mps_reserve(&p, t.ap, 5 * W), MPS_RES_OK);
  tams_init_pending(p, t.refs[0]);
  t.refs[0] = NULL;             /* only the pending block refers to it */
  t.ambig[0] = p;
  mps_arena_collect(t.arena);   /* reclaims it; the point is trapped */
  cr_assert_null(t.ap->limit, "the flip did not trap the point");
  t.ap->init = t.ap->alloc;     /* the first half of mps_commit */
  mps_arena_collect(t.arena);   /* before the trip gets the arena */
  cr_assert_eq(tams_count(&t).objects, 0, "the block became an object");
  cr_assert_not(mps_ap_trip(t.ap, p, 5 * W), "a commit across the flip succeeded");
  t.ambig[0] = NULL;
  tams_new(t.ap, &t.refs[1], 0, 1, 6);
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 1);
  cr_assert(tams_data_ok(t.refs[1], 1, 6));
  tams_close(&t);
}

Test(ams, format_without_scan_is_refused)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_pool_t pool;
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, objfmt_skip);
    cr_assert_eq(mps_fmt_create_k(&fmt, arena, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_ams(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}

Test(ams, default_chain_and_no_mps_alloc)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_addr_t p;
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, tams_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, objfmt_skip);
    cr_assert_eq(mps_fmt_create_k(&fmt, arena, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_UNIMPL);
  cr_assert_eq(mps_pool_total_size(pool), 0);
  mps_pool_destroy(pool);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}

/* ams.rst: on the arena's default chain "an appropriate generation is
 * used".  Objects that never move are kept out of the nursery (chain.c
 * makes it 8 MiB; the next generation holds 36 MiB), so a nursery's worth
 * of garbage makes no collection due, but the next generation's does. */
Test(ams, the_default_chain_puts_objects_beyond_the_nursery)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t slot = NULL;
  mps_root_t root;
  mps_word_t before;
  size_t k;
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(objfmt_create(&fmt, arena, tams_scan, false), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_ams(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, &slot, 1), MPS_RES_OK);
  before = collections_done(arena);
  for (k = 0; k < 4 * 1024; ++k)                 /* 16 MiB, all garbage */
    tams_new(ap, &slot, 0, 510, k);
  cr_assert_eq(collections_done(arena), before, "collected as a nursery");
  for (k = 0; k < 8 * 1024; ++k)                 /* 32 MiB more */
    tams_new(ap, &slot, 0, 510, k);
  cr_assert_gt(collections_done(arena), before, "never collected");
  mps_arena_park(arena);
  mps_root_destroy(root);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}

/* Open an AMS debug pool with the free-space template tpl of `size`
 * bytes (no fenceposts), the arena parked. */
static void tams_open_debug(tams_s *t, const char *tpl, size_t size)
{
  mps_pool_debug_option_s options = {NULL, 0, tpl, size};
  mps_arg_s extra[2];
  extra[0].key = MPS_KEY_POOL_DEBUG_OPTIONS;
  extra[0].val.pool_debug_options = &options;
  extra[1].key = MPS_KEY_ARGS_END;
  tams_open_args(t, mps_class_ams_debug(), extra);
  mps_arena_park(t->arena);
}

Test(ams_debug, dead_object_overwrite_is_reported)
{
  tams_s t;
  static const char tpl[] = "DEADBEEF";
  objfmt_obj dead;
  tams_open_debug(&t, tpl, 8);
  tams_list(&t, &t.refs[0], 20, 2, NULL);
  tams_new(t.ap, &t.refs[1], 0, 4, 1);
  dead = t.refs[1];
  t.refs[1] = NULL;
  tams_flush(&t);
  tams_install_copying();
  mps_arena_collect(t.arena);
  mps_pool_check_free_space(t.pool);
  cr_assert_eq(reports_seen(), 0, "intact free space reported: %s", tams_last_failure);
  cr_assert_eq(memcmp((char *)dead + (8 - (mps_word_t)dead % 8) % 8, tpl, 8), 0,
               "a dead object was not laid with the template");
  dead->slot[2] = 12345;   /* a write through a dangling reference */
  mps_pool_check_free_space(t.pool);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
  cr_assert(strstr(tams_last_failure, "free space overwritten at 0x") != NULL, "%s",
            tams_last_failure);
  tams_list_check(t.refs[0], 20, 2, NULL);
  tams_close(&t);
}

static RankSet tams_rank_set_of(mps_arena_t arena, mps_addr_t addr)
{
  Seg seg;
  cr_assert(seg_of_addr(&seg, arena, addr));
  return seg->rank_set;
}

Test(ams, rank_ambig_allocation_point_keeps_what_its_words_point_into)
{
  tams_s t;
  mps_ap_t aap;
  objfmt_obj holder;
  size_t k;
  tams_open(&t);
  mps_arena_park(t.arena);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    cr_assert_eq(mps_ap_create_k(&aap, t.pool, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  /* Targets on the exact point; a holder of ambiguous words on the
   * ambiguous one: an interior pointer (an exact reference could not be
   * one), a base pointer, and a stray integer. */
  for (k = 0; k < 4; ++k)
    tams_new(t.ap, &t.refs[1 + k], 0, 3, (mps_word_t)k);
  tams_new(aap, &t.refs[0], 3, 2, 99);
  holder = t.refs[0];
  holder->slot[0] = (mps_word_t)((char *)t.refs[1] + 3 * W);
  holder->slot[1] = (mps_word_t)t.refs[2];
  holder->slot[2] = 12345;
  cr_assert_eq(tams_rank_set_of(t.arena, holder), 1u << mps_rank_ambig(),
               "an ambiguous object in a segment of another rank");
  cr_assert_eq(tams_rank_set_of(t.arena, t.refs[1]), 1u << mps_rank_exact());
  for (k = 0; k < 4; ++k)
    t.refs[1 + k] = NULL;
  mps_ap_destroy(aap);
  tams_flush(&t);
  mps_arena_collect(t.arena);
  /* The holder and the two targets of its words; the other two die. */
  cr_assert_eq(tams_count(&t).objects, 3, "objects %zu", tams_count(&t).objects);
  cr_assert(tams_data_ok((objfmt_obj)((char *)holder->slot[0] - 3 * W), 3, 0));
  cr_assert(tams_data_ok((objfmt_obj)holder->slot[1], 3, 1));
  cr_assert_eq(holder->slot[2], 12345, "an ambiguous word was changed");
  cr_assert(tams_data_ok(holder, 2, 99));
  t.refs[0] = NULL;
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 0);
  tams_close(&t);
}

/* An ambiguous object condemned with what it points at in AMC is reached
 * only through an exact root, which is scanned (and the AMC object's own
 * exact root with it) before the ambiguous object is.  The AMC object must
 * stay where the ambiguous word points, and alive for as long as that word
 * is: a copy would leave the word at the old one. */
Test(ams, rank_ambig_holder_condemned_with_its_amc_target_keeps_it_in_place)
{
  tams_s t;
  mps_fmt_t mfmt;
  mps_pool_t amc;
  mps_ap_t aap, map;
  objfmt_obj holder, target;
  size_t k;
  tams_open(&t);
  mps_arena_park(t.arena);
  amc = tams_amc_beside(&t, &mfmt);
  cr_assert_eq(mps_ap_create_k(&map, amc, mps_args_none), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    cr_assert_eq(mps_ap_create_k(&aap, t.pool, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  /* Other AMC objects around it, exactly referenced, which may move. */
  for (k = 0; k < 8; ++k)
    tams_new(map, &t.refs[2 + k], 0, 2, (mps_word_t)(10 + k));
  tams_new(map, &t.refs[1], 0, 3, 7);
  tams_new(aap, &t.refs[0], 1, 1, 99);
  target = t.refs[1];
  holder = t.refs[0];
  holder->slot[0] = (mps_word_t)target;
  /* Detached, so that both segments are condemned. */
  mps_ap_destroy(aap);
  mps_ap_destroy(map);
  mps_arena_collect(t.arena);
  cr_assert_eq((objfmt_obj)t.refs[1], target, "an ambiguously referenced object moved");
  cr_assert_eq((objfmt_obj)holder->slot[0], target, "an ambiguous word was changed");
  cr_assert(tams_data_ok(target, 3, 7), "the object the ambiguous word points at is damaged");
  for (k = 0; k < 8; ++k)
    cr_assert(tams_data_ok(t.refs[2 + k], 2, (mps_word_t)(10 + k)));
  /* Only the ambiguous word keeps it now. */
  t.refs[1] = NULL;
  mps_arena_collect(t.arena);
  mps_arena_collect(t.arena);
  cr_assert(tams_data_ok(target, 3, 7), "an ambiguously referenced object was freed");
  cr_assert(tams_data_ok(holder, 1, 99));
  for (k = 0; k < 8; ++k)
    cr_assert(tams_data_ok(t.refs[2 + k], 2, (mps_word_t)(10 + k)));
  memset(t.refs, 0, sizeof t.refs);
  mps_arena_collect(t.arena);
  mps_pool_destroy(amc);
  mps_fmt_destroy(mfmt);
  tams_close(&t);
}

Test(ams, rank_ambig_refused_without_ambiguous_support_and_weak_refused)
{
  tams_s t;
  mps_ap_t ap;
  mps_arg_s extra[2];
  extra[0].key = MPS_KEY_AMS_SUPPORT_AMBIGUOUS;
  extra[0].val.b = 0;
  extra[1].key = MPS_KEY_ARGS_END;
  tams_open_args(&t, mps_class_ams(), extra);
  reports_install();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    cr_assert_eq(mps_ap_create_k(&ap, t.pool, args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    cr_assert_eq(mps_ap_create_k(&ap, t.pool, args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  reports_install_abort();
#if CHECK_LEVEL >= 1
  cr_assert_eq(reports_seen(), 2);
#endif
  /* Exact, said explicitly, is the default. */
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
    cr_assert_eq(mps_ap_create_k(&ap, t.pool, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  tams_new(ap, &t.refs[0], 0, 2, 5);
  cr_assert_eq(tams_rank_set_of(t.arena, t.refs[0]), 1u << mps_rank_exact());
  mps_ap_destroy(ap);
  mps_arena_collect(t.arena);
  cr_assert(tams_data_ok(t.refs[0], 2, 5));
  tams_close(&t);
}

/* Garbage in `pool` over its chain's 1 KiB nursery, then the collection
 * of the due generations that a step starts, finished by the park. */
static void tams_collect_due(mps_arena_t arena, mps_pool_t pool)
{
  cr_assert_eq(objfmt_garbage(pool, 8, 62), MPS_RES_OK);
  cr_assert(collections_run_due(arena), "no collection of the due generations ran");
}

/* A parked arena large enough for every zone, so that each generation
 * gets its own (gc_gen_zones): the summary tests place objects by zone. */
static mps_arena_t tams_zoned_arena(void)
{
  mps_arena_t arena;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)256 << 20);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  mps_arena_park(arena);
  return arena;
}

static mps_pool_t tams_pool_in(mps_arena_t arena, mps_pool_class_t klass, mps_fmt_t fmt,
                               mps_chain_t chain)
{
  mps_pool_t pool;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    cr_assert_eq(mps_pool_create_k(&pool, arena, klass, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  return pool;
}

/* A condemned segment is scanned once per batch of its objects marked:
 * X, which the root reaches, in the exact band, and then Y, which only
 * finalization reaches, in the final band.  Each scan sees only the
 * objects it scans, so it keeps the zones of the old summary too.
 * Otherwise the second scan's summary, which the barrier may keep (the
 * scans meet nothing condemned), would miss R, in another chain's zones,
 * which X refers to: that chain's collection would then skip the segment
 * and free R. */
Test(ams, a_segment_scanned_again_in_a_collection_keeps_the_zones_its_first_scan_found)
{
  mps_gen_param_s gens_a[2] = {{1, 0.5}, {100000, 0.5}}, gens_b[1] = {{1, 0.5}};   /* KiB */
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain_a, chain_b;
  mps_pool_t pool_a, pool_b;
  mps_ap_t ap;
  mps_root_t root;
  mps_addr_t refs[3] = {NULL, NULL, NULL}, x, y, r, p;
  Seg seg, yseg, rseg;
  ZoneSet summary, rzones;
  size_t k;

  arena = tams_zoned_arena();
  cr_assert_eq(objfmt_create(&fmt, arena, objfmt_scan, false), MPS_RES_OK);
  /* X and Y in the young zones, R in the old ones. */
  cr_assert_eq(mps_chain_create(&chain_a, arena, 2, gens_a), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&chain_b, arena, 1, gens_b), MPS_RES_OK);
  pool_a = tams_pool_in(arena, mps_class_ams(), fmt, chain_a);
  pool_b = tams_pool_in(arena, mps_class_ams(), fmt, chain_b);
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, refs, 3),
               MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap, pool_b, mps_args_none), MPS_RES_OK);
  tams_new(ap, &refs[2], 0, 4, 1);
  mps_ap_destroy(ap);
  cr_assert_eq(mps_ap_create_k(&ap, pool_a, mps_args_none), MPS_RES_OK);
  tams_new(ap, &refs[0], 1, 4, 2);
  tams_new(ap, &refs[1], 0, 4, 3);
  mps_ap_destroy(ap);
  x = refs[0];
  y = refs[1];
  r = refs[2];
  ((objfmt_obj)x)->slot[0] = (mps_word_t)r;
  refs[2] = NULL;
  cr_assert(seg_of_addr(&seg, (Arena)arena, (Addr)x));
  cr_assert(seg_of_addr(&yseg, (Arena)arena, (Addr)y));
  cr_assert_eq(yseg, seg, "X and Y in different segments");
  cr_assert(seg_of_addr(&rseg, (Arena)arena, (Addr)r));
  rzones = zone_set_of_range(((Arena)arena)->gc->zone_shift, rseg->base, rseg->limit);

  /* Collections of X's chain: every scan of its segment boring, until
   * the barrier may keep its summary. */
  for (k = 0; k < BARRIER_DEFER_INIT; ++k)
    tams_collect_due(arena, pool_a);
  cr_assert_eq(seg->wb_defer, 0, "a scan of X's segment met a condemned zone");

  refs[1] = NULL;
  cr_assert_eq(mps_finalize(arena, &y), MPS_RES_OK);
  tams_collect_due(arena, pool_a);
  cr_assert_eq(mps_addr_object(&p, arena, y), MPS_RES_OK, "finalization did not keep Y");
  summary = seg->summary;

  tams_collect_due(arena, pool_b);
  cr_assert_eq((mps_addr_t)((objfmt_obj)x)->slot[0], r);
  cr_assert_eq(mps_addr_object(&p, arena, r), MPS_RES_OK, "R, which X refers to, was freed");
  cr_assert(tams_data_ok(r, 4, 1));
  cr_assert(tams_data_ok(x, 4, 2));
  cr_assert_neq(summary & rzones, 0, "the second scan forgot the zones of the first");

  refs[0] = NULL;
  mps_arena_collect(arena);
  mps_root_destroy(root);
  mps_pool_destroy(pool_a);
  mps_pool_destroy(pool_b);
  mps_chain_destroy(chain_a);
  mps_chain_destroy(chain_b);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}

/* An object that only a later segment's scan reaches, after its own
 * segment's scan, is scanned by the scan that marked it (pool_ams.h,
 * defer), and its segment's summary must take the zones that scan saw:
 * that scan copied its AMC referent A out of the nursery's zones into the
 * older generation's, where nothing of the segment referred before.  The
 * summary the barrier keeps (the segment's scans met nothing condemned
 * until then) would otherwise miss A's copy, and a collection of that
 * generation would skip the segment and free the copy it refers to. */
Test(ams, an_object_scanned_where_it_was_marked_widens_its_segments_summary)
{
  mps_gen_param_s gens_s[1] = {{100000, 0.5}}, gens_c[2] = {{100000, 0.5}, {100000, 0.5}};
  mps_gen_param_s gens_d[1] = {{1, 0.5}};   /* KiB */
  mps_arena_t arena;
  mps_fmt_t fmt, mfmt;
  mps_chain_t chain_s, chain_c, chain_d;
  mps_pool_t pool, amc, pool_d;
  mps_ap_t ap, ap2, map;
  mps_root_t root;
  mps_addr_t refs[2] = {NULL, NULL}, o, a;
  objfmt_obj z;
  Seg seg, zseg, aseg;
  ZoneSet young;
  Shift zone_shift;
  size_t k;

  arena = tams_zoned_arena();
  cr_assert_eq(objfmt_create(&fmt, arena, objfmt_scan, false), MPS_RES_OK);
  cr_assert_eq(objfmt_create(&mfmt, arena, objfmt_scan, true), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&chain_s, arena, 1, gens_s), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&chain_c, arena, 2, gens_c), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&chain_d, arena, 1, gens_d), MPS_RES_OK);
  pool = tams_pool_in(arena, mps_class_ams(), fmt, chain_s);
  amc = tams_pool_in(arena, mps_class_amc(), mfmt, chain_c);
  pool_d = tams_pool_in(arena, mps_class_ams(), fmt, chain_d);
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, refs, 2),
               MPS_RES_OK);

  /* Q (refs[0]) and O in one segment, Z (refs[1]) in another: a second
   * point's fill finds the first's segment taken.  O refers to A, in
   * AMC's nursery; only Z refers to O. */
  cr_assert_eq(mps_ap_create_k(&map, amc, mps_args_none), MPS_RES_OK);
  tams_new(map, &a, 0, 4, 1);
  mps_ap_destroy(map);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&ap2, pool, mps_args_none), MPS_RES_OK);
  tams_new(ap, &refs[0], 0, 4, 2);
  tams_new(ap, &o, 1, 4, 3);
  tams_new(ap2, &refs[1], 1, 4, 4);
  ((objfmt_obj)o)->slot[0] = (mps_word_t)a;
  z = refs[1];
  z->slot[0] = (mps_word_t)o;
  mps_ap_destroy(ap);
  mps_ap_destroy(ap2);
  cr_assert(seg_of_addr(&seg, (Arena)arena, (Addr)o));
  cr_assert(seg_of_addr(&zseg, (Arena)arena, (Addr)z));
  cr_assert_neq(zseg, seg, "Z in O's segment");
  cr_assert(seg_of_addr(&aseg, (Arena)arena, (Addr)a));
  young = gc_gen_zones(aseg->gen);
  zone_shift = ((Arena)arena)->gc->zone_shift;

  /* Collections of another chain, in other zones: each scans O's segment
   * whole and meets nothing condemned, until the barrier keeps the zones
   * it saw, A's only. */
  for (k = 0; k < BARRIER_DEFER_INIT; ++k)
    tams_collect_due(arena, pool_d);
  cr_assert_eq(seg->wb_defer, 0, "a scan of O's segment met a condemned zone");
  if (((Arena)arena)->gc->barrier.on)
    cr_assert_eq(seg->summary & ~young, 0, "O's segment refers beyond the nursery");

  /* Everything condemned: the root greys Q's segment first, then Z's,
   * whose scan marks O and scans it at once, copying A. */
  mps_arena_collect(arena);
  cr_assert(tams_data_ok(o, 4, 3));
  a = (mps_addr_t)((objfmt_obj)o)->slot[0];
  cr_assert(tams_data_ok(a, 4, 1), "O's referent damaged");
  cr_assert(seg_of_addr(&aseg, (Arena)arena, (Addr)a));
  cr_assert_eq(aseg->pool, (Pool)amc);
  cr_assert_eq((ZoneSet)1 << zone_of_addr(zone_shift, (Addr)a) & young, 0,
               "A was not copied out of the nursery's zones");
  cr_assert_neq(seg->summary & (ZoneSet)1 << zone_of_addr(zone_shift, (Addr)a), 0,
                "O's segment's summary misses the zone of A's copy");

  refs[0] = refs[1] = NULL;
  mps_arena_collect(arena);
  mps_root_destroy(root);
  mps_pool_destroy(pool);
  mps_pool_destroy(amc);
  mps_pool_destroy(pool_d);
  mps_chain_destroy(chain_s);
  mps_chain_destroy(chain_c);
  mps_chain_destroy(chain_d);
  mps_fmt_destroy(fmt);
  mps_fmt_destroy(mfmt);
  mps_arena_destroy(arena);
}

/* An exact object refers to an object of an ambiguous segment that the
 * collection has already scanned (for another object an ambiguous root
 * holds).  That object must be scanned at its segment's rank, ambiguous:
 * its interior pointer keeps what it points into, and is not an exact
 * reference to no object's start. */
Test(ams, an_object_of_an_ambiguous_segment_reached_late_is_scanned_ambiguously)
{
  tams_s t;
  mps_ap_t aap;
  objfmt_obj target, late, exact;
  tams_open(&t);
  mps_arena_park(t.arena);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_ambig());
    cr_assert_eq(mps_ap_create_k(&aap, t.pool, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  tams_new(t.ap, &t.refs[1], 0, 3, 1);           /* the target */
  tams_new(t.ap, &t.refs[0], 1, 2, 2);           /* exact, held by the root */
  tams_new(aap, &t.ambig[0], 0, 2, 3);           /* scans the ambiguous segment */
  tams_new(aap, &t.refs[2], 1, 2, 4);            /* late: reached only from exact */
  target = t.refs[1];
  exact = t.refs[0];
  late = t.refs[2];
  late->slot[0] = (mps_word_t)((char *)target + 3 * W);
  exact->slot[0] = (mps_word_t)late;
  t.refs[1] = t.refs[2] = NULL;
  mps_ap_destroy(aap);
  tams_flush(&t);
  reports_install();
  mps_arena_collect(t.arena);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 0, "%s", reports_last);
  cr_assert_eq(tams_count(&t).objects, 4, "objects %zu", tams_count(&t).objects);
  cr_assert(tams_data_ok(target, 3, 1), "the object the interior pointer keeps is damaged");
  cr_assert_eq(late->slot[0], (mps_word_t)((char *)target + 3 * W));
  cr_assert(tams_data_ok(late, 2, 4) && tams_data_ok(exact, 2, 2));
  t.ambig[0] = NULL;
  tams_close(&t);
}

/* Two holders, each referring to more objects of the other's segment
 * than a scan sets aside (AMS_DEFER_MAX, pool_ams.h): whichever segment
 * is scanned second sets aside as many as it may and greys the other
 * segment again for the rest.  Every object survives. */
Test(ams, a_holder_of_more_references_than_a_scan_sets_aside_keeps_them_all)
{
  enum { N = 300 };
  tams_s t;
  mps_ap_t ap2;
  static mps_addr_t a[N], b[N];
  objfmt_obj ha, hb;
  size_t k;
  tams_open(&t);
  mps_arena_park(t.arena);
  cr_assert_eq(mps_ap_create_k(&ap2, t.pool, mps_args_none), MPS_RES_OK);
  for (k = 0; k < N; ++k) {
    tams_new(t.ap, &a[k], 0, 1, (mps_word_t)k);
    tams_new(ap2, &b[k], 0, 1, (mps_word_t)(N + k));
  }
  tams_new(t.ap, &t.refs[0], N, 0, 0);
  tams_new(ap2, &t.refs[1], N, 0, 0);
  ha = t.refs[0];
  hb = t.refs[1];
  for (k = 0; k < N; ++k) {
    ha->slot[k] = (mps_word_t)b[k];
    hb->slot[k] = (mps_word_t)a[k];
  }
  mps_ap_destroy(ap2);
  tams_flush(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 2 * N + 2);
  for (k = 0; k < N; ++k) {
    cr_assert(tams_data_ok(a[k], 1, (mps_word_t)k), "a[%zu] damaged", k);
    cr_assert(tams_data_ok(b[k], 1, (mps_word_t)(N + k)), "b[%zu] damaged", k);
  }
  cr_assert_eq(mps_pool_total_size(t.pool) - mps_pool_free_size(t.pool),
               (2 * N * 3 + 2 * (N + 2)) * W);
  tams_close(&t);
}

/* Grains a collection freed hold no object start: an object made over
 * several dead ones is one object, to mps_addr_object and to an
 * ambiguous reference into it where a dead one began.  In `klass`: the
 * debugging variant reclaims by another path (it lays the template). */
static void tams_object_over_dead_ones(mps_pool_class_t klass)
{
  tams_s t;
  mps_addr_t dead[4], big, p;
  size_t k;
  tams_open_args(&t, klass, NULL);
  mps_arena_park(t.arena);
  tams_new(t.ap, &t.refs[0], 0, 2, 1);      /* kept, so the segment stays */
  for (k = 0; k < 4; ++k)
    tams_new(t.ap, &dead[k], 0, 2, 10 + k);  /* four words each */
  tams_flush(&t);
  mps_arena_collect(t.arena);
  tams_new(t.ap, &t.refs[1], 0, 14, 2);     /* sixteen words, over all four */
  big = t.refs[1];
  cr_assert_eq(big, dead[0], "the object was not made over the dead ones");
  cr_assert_eq(mps_addr_object(&p, t.arena, (char *)dead[2] + W), MPS_RES_OK);
  cr_assert_eq(p, big, "a dead object's start is still a start");
  t.refs[1] = NULL;
  t.ambig[0] = (char *)dead[2] + W;
  tams_flush(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 2);
  cr_assert(tams_data_ok(big, 14, 2), "the object an ambiguous word points into");
  cr_assert(tams_data_ok(t.refs[0], 2, 1));
  t.ambig[0] = NULL;
  tams_close(&t);
}

Test(ams, an_object_made_over_dead_ones_is_one_object)
{
  tams_object_over_dead_ones(mps_class_ams());
}

Test(ams_debug, an_object_made_over_dead_ones_is_one_object)
{
  tams_object_over_dead_ones(mps_class_ams_debug());
}

/* An allocation point that goes on right after objects already in its
 * segment: walks see both, and nothing of the point's unused space. */
Test(ams, walks_stop_where_an_allocation_points_region_begins)
{
  tams_s t;
  size_t k;
  tams_open(&t);
  mps_arena_park(t.arena);
  for (k = 0; k < 10; ++k)
    tams_new(t.ap, &t.refs[k], 0, 3, k);
  tams_flush(&t);                            /* the tail is the next fill */
  for (k = 10; k < 15; ++k)
    tams_new(t.ap, &t.refs[k], 0, 3, k);
  cr_assert_eq((char *)t.refs[10], (char *)t.refs[9] + 5 * W,
               "the point did not go on right after the others");
  cr_assert_eq(tams_count(&t).objects, 15);
  tams_area_objects = 0;
  cr_assert_eq(mps_pool_walk(t.pool, tams_area, NULL), MPS_RES_OK);
  cr_assert_eq(tams_area_objects, 15);
  for (k = 0; k < 15; ++k)
    cr_assert(tams_data_ok(t.refs[k], 3, k));
  tams_close(&t);
}

/* A collection with an allocation point attached: the point's unused
 * space is neither preserved (the gc message's live size is that of the
 * live objects) nor freed (the free size is as before). */
Test(ams, an_allocation_points_unused_space_is_neither_live_nor_freed)
{
  tams_s t;
  mps_message_t msg;
  size_t free_before;
  tams_open(&t);
  mps_arena_park(t.arena);
  mps_message_type_enable(t.arena, mps_message_type_gc());
  tams_list(&t, &t.refs[0], 50, 3, NULL);        /* 50 cells of 6 words */
  free_before = mps_pool_free_size(t.pool);
  mps_arena_collect(t.arena);
  cr_assert(mps_message_get(&msg, t.arena, mps_message_type_gc()));
  cr_assert_eq(mps_message_gc_live_size(t.arena, msg), 50 * 6 * W, "live %zu",
               mps_message_gc_live_size(t.arena, msg));
  mps_message_discard(t.arena, msg);
  cr_assert_eq(mps_pool_free_size(t.pool), free_before, "the point's space was freed");
  tams_list(&t, &t.refs[1], 20, 3, NULL);
  mps_arena_collect(t.arena);
  tams_list_check(t.refs[0], 50, 3, NULL);
  tams_list_check(t.refs[1], 20, 3, NULL);
  cr_assert_eq(tams_count(&t).objects, 70);
  tams_close(&t);
}

/* After a collection frees anything, fills start again from the first
 * segment, so the lowest hole is filled first (the opening comment of
 * pool_ams.c), not the space after the last fill. */
Test(ams, after_a_collection_fills_start_again_at_the_lowest_hole)
{
  enum { N = 300, WORDS = 32 };              /* 256-byte cells: two segments */
  tams_s t;
  mps_addr_t hole = NULL;
  size_t k;
  tams_open(&t);
  mps_arena_park(t.arena);
  for (k = 0; k < N; ++k) {
    tams_new(t.ap, &t.refs[1], 1, WORDS - 3, k);
    ((objfmt_obj)t.refs[1])->slot[0] = (mps_word_t)t.refs[0];
    t.refs[0] = t.refs[1];
    if (k == 20)
      tams_new(t.ap, &hole, 0, WORDS - 2, 0);   /* garbage */
  }
  t.refs[1] = NULL;
  tams_flush(&t);
  cr_assert_gt(mps_pool_total_size(t.pool), 64 * 1024, "one segment");
  mps_arena_collect(t.arena);
  tams_new(t.ap, &t.refs[1], 0, WORDS - 2, 1);
  cr_assert_eq(t.refs[1], hole, "the lowest hole was not filled first");
  cr_assert_eq(tams_count(&t).objects, N + 1);
  tams_close(&t);
}

/* A fill whose cursor has nothing after it in its segment, with no other
 * segment, comes back to the space below the cursor before the pool
 * grows. */
Test(ams, a_fill_comes_back_below_the_cursor_before_the_pool_grows)
{
  tams_s t;
  mps_addr_t g1, g2;
  size_t rest, total;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_new(t.ap, &t.refs[0], 0, 2, 1);
  tams_new(t.ap, &g1, 0, 6, 2);              /* garbage: 8 words */
  tams_new(t.ap, &t.refs[1], 0, 2, 3);
  tams_new(t.ap, &g2, 0, 62, 4);             /* garbage: 64 words */
  tams_new(t.ap, &t.refs[2], 0, 2, 5);
  tams_flush(&t);
  rest = mps_pool_free_size(t.pool);
  tams_new(t.ap, &t.refs[3], 0, rest / W - 2, 6);   /* the rest of the segment */
  cr_assert_eq(mps_pool_free_size(t.pool), 0);
  total = mps_pool_total_size(t.pool);
  mps_arena_collect(t.arena);
  cr_assert_eq(mps_pool_free_size(t.pool), 72 * W);
  tams_new(t.ap, &t.refs[4], 0, 62, 7);      /* first fit: the second hole */
  cr_assert_eq(t.refs[4], g2);
  tams_new(t.ap, &t.refs[5], 0, 6, 8);       /* only the first is left, below */
  cr_assert_eq(t.refs[5], g1, "the space below the cursor was not used");
  cr_assert_eq(mps_pool_total_size(t.pool), total, "the pool grew");
  tams_close(&t);
}

/* The unused tail of a point given back just above garbage a collection
 * freed joins it: one free run, which a fill can take whole. */
Test(ams, a_tail_given_back_beside_freed_garbage_is_one_run)
{
  tams_s t;
  mps_addr_t first_dead = NULL, p;
  size_t k, total, free_size;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_list(&t, &t.refs[0], 100, 3, NULL);
  for (k = 0; k < 300; ++k) {
    tams_new(t.ap, &p, 0, 2, k);
    if (k == 0)
      first_dead = p;
  }
  mps_arena_collect(t.arena);                /* the point is attached */
  tams_flush(&t);
  total = mps_pool_total_size(t.pool);
  cr_assert_eq(total, 64 * 1024, "one segment");
  free_size = mps_pool_free_size(t.pool);
  tams_new(t.ap, &t.refs[1], 0, free_size / W - 2, 1);
  cr_assert_eq(t.refs[1], first_dead);
  cr_assert_eq(mps_pool_total_size(t.pool), total, "the pool grew");
  tams_list_check(t.refs[0], 100, 3, NULL);
  mps_arena_collect(t.arena);
  tams_list_check(t.refs[0], 100, 3, NULL);
  tams_close(&t);
}

/* A segment given back wholly unused (a reserve never committed) goes at
 * the next collection, and later fills do without it. */
Test(ams, a_segment_left_wholly_unused_goes_at_the_next_collection)
{
  tams_s t;
  mps_addr_t p;
  tams_open(&t);
  mps_arena_park(t.arena);
  cr_assert_eq(mps_reserve(&p, t.ap, 4 * W), MPS_RES_OK);
  cr_assert_gt(mps_pool_total_size(t.pool), 0);
  tams_flush(&t);                            /* the reserve is abandoned */
  cr_assert_eq(mps_pool_free_size(t.pool), mps_pool_total_size(t.pool));
  mps_arena_collect(t.arena);
  cr_assert_eq(mps_pool_total_size(t.pool), 0);
  tams_new(t.ap, &t.refs[0], 0, 4, 1);
  tams_flush(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tams_count(&t).objects, 1);
  cr_assert(tams_data_ok(t.refs[0], 4, 1));
  tams_close(&t);
}

/* On an allocation point, an address at the end of one committed object
 * is the start of the next. */
Test(ams, an_address_at_an_objects_end_on_the_point_is_the_next_ones)
{
  tams_s t;
  mps_addr_t p;
  tams_open(&t);
  mps_arena_park(t.arena);
  tams_new(t.ap, &t.refs[0], 0, 2, 1);
  tams_new(t.ap, &t.refs[1], 0, 2, 2);
  cr_assert_eq((char *)t.refs[1], (char *)t.refs[0] + 4 * W);
  cr_assert_eq(mps_addr_object(&p, t.arena, t.refs[1]), MPS_RES_OK);
  cr_assert_eq(p, t.refs[1]);
  cr_assert_eq(mps_addr_object(&p, t.arena, (char *)t.refs[1] - 1), MPS_RES_OK);
  cr_assert_eq(p, t.refs[0]);
  tams_close(&t);
}

/* Debugging: a write to a dead object's memory is reported when a fill
 * hands those grains out again, with no check of the free space asked. */
Test(ams_debug, a_write_to_free_space_is_reported_when_a_fill_hands_it_out)
{
  tams_s t;
  objfmt_obj dead;
  tams_open_debug(&t, "DEADBEEF", 8);
  tams_new(t.ap, &t.refs[0], 0, 4, 1);
  tams_new(t.ap, &t.refs[1], 0, 4, 2);
  dead = t.refs[1];
  t.refs[1] = NULL;
  tams_flush(&t);
  mps_arena_collect(t.arena);
  dead->slot[3] = 12345;                     /* through a dangling reference */
  tams_install_copying();
  tams_new(t.ap, &t.refs[1], 0, 4, 3);
  reports_install_abort();
  cr_assert_eq((objfmt_obj)t.refs[1], dead, "the fill did not hand out the dead grains");
  cr_assert_eq(reports_seen(), 1);
  cr_assert(strstr(tams_last_failure, "free space overwritten at 0x") != NULL, "%s",
            tams_last_failure);
  cr_assert(tams_data_ok(t.refs[0], 4, 1));
  tams_close(&t);
}

/* Debugging: a template whose size is no power of two is laid by address,
 * so free space laid at different times (a new segment, dead objects, a
 * tail given back) all checks out. */
Test(ams_debug, a_template_of_an_odd_size_checks_out_wherever_it_was_laid)
{
  tams_s t;
  mps_addr_t p;
  size_t k;
  tams_open_debug(&t, "ABCDE", 5);
  for (k = 0; k < 30; ++k) {
    tams_new(t.ap, &t.refs[k], 0, k % 4, k);
    tams_new(t.ap, &p, 0, 1 + k % 3, k);     /* garbage between them */
  }
  tams_flush(&t);
  tams_install_copying();
  mps_arena_collect(t.arena);
  mps_pool_check_free_space(t.pool);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 0, "intact free space reported: %s", tams_last_failure);
  cr_assert_eq(tams_count(&t).objects, 30);
  for (k = 0; k < 30; ++k)
    cr_assert(tams_data_ok(t.refs[k], k % 4, k));
  tams_close(&t);
}

/* A point's unused tail, given back, is what the next fill offers first
 * (as first fit would), ahead of space in segments after it. */
Test(ams, a_tail_given_back_is_offered_to_the_next_fill_first)
{
  tams_s t;
  mps_ap_t ap2;
  mps_addr_t p, last;
  tams_open(&t);
  mps_arena_park(t.arena);
  cr_assert_eq(mps_ap_create_k(&ap2, t.pool, mps_args_none), MPS_RES_OK);
  tams_new(t.ap, &t.refs[0], 0, 2, 1);       /* t.ap takes a segment */
  tams_new(ap2, &t.refs[1], 0, 2, 2);        /* ap2 the next one */
  last = t.refs[1];
  tams_flush(&t);                            /* a tail in the first segment */
  mps_ap_destroy(ap2);                       /* and in the second */
  tams_new(t.ap, &p, 0, 2, 3);
  cr_assert_eq((char *)p, (char *)last + 4 * W, "the tail just given back was not used");
  tams_close(&t);
}

/* A full collection condemns every chain's segments, so it restarts every
 * chain's counts, those of chains past the 32 a collection of due
 * generations looks at too: otherwise a chain's nursery would still be
 * over its capacity after everything in it was collected. */
Test(ams, a_full_collection_restarts_the_counts_of_every_chain)
{
  enum { CHAINS = 34 };
  mps_gen_param_s gens[1] = {{1, 0.5}};   /* KiB */
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chains[CHAINS];
  mps_pool_t pools[CHAINS];
  mps_ap_t ap;
  mps_addr_t junk;
  size_t i, k;
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  mps_arena_park(arena);
  cr_assert_eq(objfmt_create(&fmt, arena, objfmt_scan, false), MPS_RES_OK);
  for (i = 0; i < CHAINS; ++i) {
    cr_assert_eq(mps_chain_create(&chains[i], arena, 1, gens), MPS_RES_OK);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chains[i]);
      cr_assert_eq(mps_pool_create_k(&pools[i], arena, mps_class_ams(), args), MPS_RES_OK);
    } MPS_ARGS_END(args);
    cr_assert_eq(mps_ap_create_k(&ap, pools[i], mps_args_none), MPS_RES_OK);
    for (k = 0; k < 8; ++k)
      tams_new(ap, &junk, 0, 62, k);   /* 4 KiB of garbage */
    mps_ap_destroy(ap);
    cr_assert_neq(chain_due(chains[i]), 0);
  }
  mps_arena_collect(arena);
  for (i = 0; i < CHAINS; ++i) {
    cr_assert_eq(chains[i]->gens[0].collections, 1, "chain %zu was not counted", i);
    cr_assert_eq(chain_due(chains[i]), 0, "chain %zu is still due", i);
    cr_assert_eq(mps_pool_total_size(pools[i]) - mps_pool_free_size(pools[i]), 0);
  }
  for (i = 0; i < CHAINS; ++i) {
    mps_pool_destroy(pools[i]);
    mps_chain_destroy(chains[i]);
  }
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}
