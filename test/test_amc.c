/* Unit tests for the AMC and AMCZ pool classes (src/pool/pool_amc.c) and
 * nailboards (src/pool/nailboard.c): survival with contents and links,
 * reclamation, moving and updating exact references, pinning by
 * ambiguous references (interior or not), AMCZ never scanned, collection
 * under the commit limit (emergency preservation, segments kept whole),
 * a reserve pending across a collection, weak references and
 * finalization (also in nailed segments), promotion through the
 * generations, pool sizes and free tails, MPS_KEY_EXTEND_BY, walks (also
 * of a point's committed objects), scans that fail and are made again,
 * a collection refused memory at any one request, allocation during an
 * incremental collection, automatic collection, and the summary of a
 * segment scanned again in a collection for what it took after its scan.
 *
 * Objects are in test/support/objfmt.h's format: header, number of
 * references, references, data. */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../src/base/config.h"
#include "../src/gc/chain.h"
#include "../src/gc/seg.h"
#include "../src/pool/nailboard.h"
#include "support/checks.h"
#include "support/collections.h"
#include "support/configs.h"
#include "support/objfmt.h"
#include "support/reports.h"

#define W sizeof(mps_word_t)

static unsigned long tamc_scans;   /* calls of the scan method */

/* A scan method that fails (as when a fix fails) the first
 * tamc_flaky_left times it is given the object whose first data word is
 * tamc_flaky_tag's, before fixing anything: the collector must scan it
 * again. */
static mps_word_t tamc_flaky_tag;
static unsigned tamc_flaky_left;

static bool tamc_has_flaky(mps_addr_t base, mps_addr_t limit)
{
  char *p;
  for (p = base; p < (char *)limit; p += OBJFMT_WORDS(*(mps_word_t *)(void *)p) * W) {
    objfmt_obj obj = (void *)p;
    if (OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ && OBJFMT_WORDS(obj->header) > 2 + obj->nrefs
        && obj->slot[obj->nrefs] == tamc_flaky_tag * 31u)
      return true;
  }
  return false;
}

static mps_res_t tamc_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  ++tamc_scans;
  if (tamc_flaky_left > 0 && tamc_has_flaky(base, limit)) {
    --tamc_flaky_left;
    return MPS_RES_MEMORY;
  }
  return objfmt_scan(ss, base, limit);
}

typedef struct tamc_s {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_root_t root, aroot;
  mps_addr_t refs[64];     /* exact root */
  mps_addr_t ambig[8];     /* ambiguous root */
} tamc_s;

/* An arena of arena_size bytes, and a pool whose chain has the
 * gen_count generations `gens` and whose format has `scan` as its scan
 * method (NULL: none). */
static void tamc_open_in(tamc_s *t, size_t arena_size, size_t gen_count, mps_gen_param_s gens[],
                         mps_pool_class_t klass, bool interior, size_t extend_by,
                         mps_fmt_scan_t scan)
{
  memset(t, 0, sizeof *t);
  tamc_scans = 0;
  tamc_flaky_left = 0;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, arena_size);
    cr_assert_eq(mps_arena_create_k(&t->arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(objfmt_create(&t->fmt, t->arena, scan, true), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&t->chain, t->arena, gen_count, gens), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t->chain);
    MPS_ARGS_ADD(args, MPS_KEY_INTERIOR, interior);
    if (extend_by != 0)
      MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, extend_by);
    cr_assert_eq(mps_pool_create_k(&t->pool, t->arena, klass, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&t->ap, t->pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->root, t->arena, mps_rank_exact(), 0, t->refs,
                                     sizeof t->refs / sizeof t->refs[0]), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&t->aroot, t->arena, mps_rank_ambig(), 0, t->ambig,
                                     sizeof t->ambig / sizeof t->ambig[0]), MPS_RES_OK);
}

/* In 16 MiB, with a nursery of 64 KiB and a second generation of 256. */
static void tamc_open_scan(tamc_s *t, mps_pool_class_t klass, bool interior, size_t extend_by,
                           mps_fmt_scan_t scan)
{
  mps_gen_param_s gens[2] = {{64, 0.5}, {256, 0.5}};
  tamc_open_in(t, 16 << 20, 2, gens, klass, interior, extend_by, scan);
}

static void tamc_open(tamc_s *t, mps_pool_class_t klass, bool interior, size_t extend_by)
{
  tamc_open_scan(t, klass, interior, extend_by, tamc_scan);
}

static void tamc_close(tamc_s *t)
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

/* Allocate an object with nrefs null references and ndata data words
 * derived from `seed`, storing it in *slot before any other MPS call. */
static void tamc_new(mps_ap_t ap, mps_addr_t *slot, size_t nrefs, size_t ndata,
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

static bool tamc_data_ok(objfmt_obj obj, size_t ndata, mps_word_t seed)
{
  size_t i;
  if (OBJFMT_TYPE(obj->header) != OBJFMT_T_OBJ
      || OBJFMT_WORDS(obj->header) != 2 + obj->nrefs + ndata)
    return false;
  for (i = 0; i < ndata; ++i)
    if (obj->slot[obj->nrefs + i] != seed * 31u + i)
      return false;
  return true;
}

/* A list of n cells: cell k has one reference (to cell k-1) and data. */
static void tamc_list(tamc_s *t, mps_addr_t *head, size_t n, size_t ndata)
{
  size_t k;
  *head = NULL;
  for (k = 0; k < n; ++k) {
    t->refs[63] = *head;
    tamc_new(t->ap, &t->refs[62], 1, ndata, (mps_word_t)k);
    ((objfmt_obj)t->refs[62])->slot[0] = (mps_word_t)t->refs[63];
    *head = t->refs[62];
  }
  t->refs[62] = t->refs[63] = NULL;
}

static void tamc_list_check(mps_addr_t head, size_t n, size_t ndata)
{
  size_t k = n;
  objfmt_obj obj = head;
  while (obj != NULL) {
    cr_assert(k > 0, "list longer than made");
    --k;
    cr_assert(tamc_data_ok(obj, ndata, (mps_word_t)k), "cell %zu damaged", k);
    obj = (objfmt_obj)obj->slot[0];
  }
  cr_assert_eq(k, 0, "list shorter than made");
}

/* Objects visited by mps_amc_apply whose first data word is `tag`. */
typedef struct tamc_count_s {
  mps_word_t tag;
  size_t objects, pads, tagged;
} tamc_count_s;

static void tamc_count_step(mps_addr_t addr, void *p, size_t s)
{
  tamc_count_s *c = p;
  objfmt_obj obj = addr;
  (void)s;
  if (OBJFMT_TYPE(obj->header) == OBJFMT_T_OBJ) {
    ++c->objects;
    if (OBJFMT_WORDS(obj->header) > 2 + obj->nrefs && obj->slot[obj->nrefs] == c->tag * 31u)
      ++c->tagged;
  } else {
    cr_assert_eq(OBJFMT_TYPE(obj->header), OBJFMT_T_PAD,
                 "forwarding object left after a collection");
    ++c->pads;
  }
}

static tamc_count_s tamc_count(tamc_s *t, mps_word_t tag)
{
  tamc_count_s c = {tag, 0, 0, 0};
  mps_arena_park(t->arena);
  mps_amc_apply(t->pool, tamc_count_step, &c, 0);
  return c;
}

/* Fill the rest of the allocation point's segment, so that the objects
 * made before are in a segment that can be condemned. */
static void tamc_flush_segment(tamc_s *t)
{
  mps_addr_t p;
  size_t big = 80 * 1024;
  do {
    cr_assert_eq(mps_reserve(&p, t->ap, big), MPS_RES_OK);
    memset(p, 0, 2 * W);
    objfmt_pad(p, big);
  } while (!mps_commit(t->ap, p, big));
}

/* The nailboard tests' set-up: a new arena, entered, and a board of
 * 8-byte units over [base, base + size), which need not be the arena's
 * memory (a board only records addresses).  tnail_close destroys both. */
static void tnail_open(mps_arena_t *arena_o, Nailboard *board_o, Addr base, Size size)
{
  cr_assert_eq(mps_arena_create_k(arena_o, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  arena_enter(*arena_o);
  cr_assert_eq(nailboard_create(board_o, *arena_o, 8, base, addr_add(base, size)), MPS_RES_OK);
}

static void tnail_close(mps_arena_t arena, Nailboard board)
{
  nailboard_destroy(board, arena);
  arena_leave(arena);
  mps_arena_destroy(arena);
}

/* A board, and a second one over the same range for find_diff's
 * `except`. */
static void tnail_open_pair(mps_arena_t *arena_o, Nailboard *board_o, Nailboard *except_o,
                            Addr base, Addr limit)
{
  tnail_open(arena_o, board_o, base, addr_offset(base, limit));
  cr_assert_eq(nailboard_create(except_o, *arena_o, 8, base, limit), MPS_RES_OK);
}

static void tnail_close_pair(mps_arena_t arena, Nailboard board, Nailboard except)
{
  nailboard_destroy(except, arena);
  tnail_close(arena, board);
}

Test(nailboard, ranges)
{
  mps_arena_t arena;
  Nailboard board;
  Addr base;
  Size size = 64 * 1024;
  Index i;
  base = addr_of_word(0x100000);
  tnail_open(&arena, &board, base, size);
  cr_assert(nailboard_is_res_range(board, base, addr_add(base, size)));
  cr_assert(!nailboard_set(board, addr_add(base, 8 * 700 + 3)));
  cr_assert(nailboard_set(board, addr_add(base, 8 * 700)), "same unit nailed twice");
  cr_assert(nailboard_get(board, addr_add(base, 8 * 700 + 7)));
  cr_assert(!nailboard_get(board, addr_add(base, 8 * 701)));
  /* Ranges around the nail, short and long, crossing level-1 words. */
  for (i = 0; i < 700; i += 13)
    cr_assert(nailboard_is_res_range(board, addr_add(base, 8 * i), addr_add(base, 8 * 700)));
  for (i = 0; i <= 700; i += 13)
    cr_assert(!nailboard_is_res_range(board, addr_add(base, 8 * i), addr_add(base, 8 * 701)));
  cr_assert(!nailboard_is_res_range(board, base, addr_add(base, size)));
  cr_assert(nailboard_is_res_range(board, addr_add(base, 8 * 701), addr_add(base, size)));
  cr_assert(nailboard_check(board));
  tnail_close(arena, board);
}

/* A range that starts in the word of level 0 holding a nail, and ends
 * in a later word, meets the nail: the partial word at the start counts. */
Test(nailboard, a_range_starting_in_a_nailed_word_meets_the_nail)
{
  mps_arena_t arena;
  Nailboard board;
  Addr base = addr_of_word(0x100000);
  tnail_open(&arena, &board, base, 64 * 1024);
  (void)nailboard_set(board, addr_add(base, 8 * 700));   /* unit 60 of word 10 */
  cr_assert_not(nailboard_is_res_range(board, addr_add(base, 8 * 690), addr_add(base, 8 * 800)));
  cr_assert_not(nailboard_is_res_range(board, addr_add(base, 8 * 700), addr_add(base, 8 * 900)));
  cr_assert(nailboard_is_res_range(board, addr_add(base, 8 * 701), addr_add(base, 8 * 900)));
  tnail_close(arena, board);
}

/* find_diff answers only units in [from, limit), and none of `except`. */
Test(nailboard, find_diff_looks_only_in_its_range)
{
  mps_arena_t arena;
  Nailboard board, except;
  Addr base = addr_of_word(0x100000), limit = addr_add(base, 8 * 4096), found;
  tnail_open_pair(&arena, &board, &except, base, limit);
  cr_assert_not(nailboard_find_diff(&found, board, except, base, limit));
  (void)nailboard_set(board, addr_add(base, 8 * 5));
  (void)nailboard_set(board, addr_add(base, 8 * 70));
  (void)nailboard_set(board, addr_add(base, 8 * 200));
  (void)nailboard_set(except, addr_add(base, 8 * 70));
  cr_assert(nailboard_find_diff(&found, board, except, base, limit));
  cr_assert_eq(found, addr_add(base, 8 * 5));
  /* From just above the lowest, in the same word of level 0. */
  cr_assert(nailboard_find_diff(&found, board, except, addr_add(base, 8 * 6), limit));
  cr_assert_eq(found, addr_add(base, 8 * 200), "found %p", (void *)found);
  /* A limit at the unit found, or just inside the same word. */
  cr_assert_not(nailboard_find_diff(&found, board, except, addr_add(base, 8 * 6),
                                    addr_add(base, 8 * 200)));
  cr_assert_not(nailboard_find_diff(&found, board, except, addr_add(base, 8 * 6),
                                    addr_add(base, 8 * 195)));
  cr_assert_not(nailboard_find_diff(&found, board, except, addr_add(base, 8 * 201), limit));
  tnail_close_pair(arena, board, except);
}

/* The limit of find_diff bounds it from above but not below the unit
 * found: a limit just past it, in the same word of level 0, or inside it,
 * still finds it. */
Test(nailboard, find_diff_finds_a_unit_just_below_or_meeting_its_limit)
{
  mps_arena_t arena;
  Nailboard board, except;
  Addr base = addr_of_word(0x100000), limit = addr_add(base, 8 * 4096), found;
  tnail_open_pair(&arena, &board, &except, base, limit);
  (void)nailboard_set(board, addr_add(base, 8 * 5));
  (void)nailboard_set(board, addr_add(base, 8 * 200));   /* unit 8 of word 3 */
  cr_assert(nailboard_find_diff(&found, board, except, addr_add(base, 8 * 6),
                                addr_add(base, 8 * 201)));
  cr_assert_eq(found, addr_add(base, 8 * 200), "found %p", (void *)found);
  found = NULL;
  cr_assert(nailboard_find_diff(&found, board, except, addr_add(base, 8 * 6),
                                addr_add(base, 8 * 200 + 4)));
  cr_assert_eq(found, addr_add(base, 8 * 200), "found %p", (void *)found);
  tnail_close_pair(arena, board, except);
}

/* A range whose ends are in the words either side of a nailed word meets
 * the nail: the one whole word between the ends is tested through level 1. */
Test(nailboard, a_nail_in_the_one_word_between_a_ranges_ends_is_met)
{
  mps_arena_t arena;
  Nailboard board;
  Addr base = addr_of_word(0x100000);
  tnail_open(&arena, &board, base, 64 * 1024);
  (void)nailboard_set(board, addr_add(base, 8 * 700));   /* unit 60 of word 10 */
  cr_assert_not(nailboard_is_res_range(board, addr_add(base, 8 * 600), addr_add(base, 8 * 710)));
  cr_assert_not(nailboard_is_res_range(board, addr_add(base, 8 * 600), addr_add(base, 8 * 770)));
  cr_assert(nailboard_is_res_range(board, addr_add(base, 8 * 701), addr_add(base, 8 * 900)));
  tnail_close(arena, board);
}

/* A board made in a control block that a full board of the same size held
 * just before starts empty in both levels, also beyond its last nail in
 * the last word of level 0 (its nails, 150, do not fill that word). */
Test(nailboard, a_board_in_a_reused_block_starts_empty)
{
  mps_arena_t arena;
  Nailboard full, board;
  Addr base = addr_of_word(0x100000);
  Index i;
  /* 192 nails take the same block as 150: three words in each level. */
  tnail_open(&arena, &full, base, 8 * 192);
  for (i = 0; i < 192; ++i)
    (void)nailboard_set(full, addr_add(base, 8 * i));
  nailboard_destroy(full, arena);
  cr_assert_eq(nailboard_create(&board, arena, 8, base, addr_add(base, 8 * 150)), MPS_RES_OK);
  cr_assert(nailboard_check(board));
  (void)nailboard_set(board, base);   /* so that the board is not empty */
  cr_assert(nailboard_check(board));
  cr_assert(nailboard_is_res_range(board, addr_add(base, 8), addr_add(base, 8 * 150)));
  cr_assert_not(nailboard_is_res_range(board, base, addr_add(base, 8 * 150)));
  (void)nailboard_set(board, addr_add(base, 8 * 149));   /* the last unit */
  cr_assert(nailboard_get(board, addr_add(base, 8 * 149)));
  cr_assert_not(nailboard_is_res_range(board, addr_add(base, 8 * 100), addr_add(base, 8 * 150)));
  cr_assert(nailboard_check(board));
  tnail_close(arena, board);
}

Test(amc, list_survives_and_moves)
{
  tamc_s t;
  mps_addr_t old;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_message_t msg;
  tamc_list(&t, &t.refs[0], 500, 5);
  old = t.refs[0];
  tamc_flush_segment(&t);
  mps_message_type_enable(t.arena, mps_message_type_gc());
  mps_arena_collect(t.arena);
  tamc_list_check(t.refs[0], 500, 5);
  cr_assert_neq(t.refs[0], old, "an exactly referenced object was not moved");
  /* The copies are reported as live: 500 cells of 8 words each. */
  cr_assert(mps_message_get(&msg, t.arena, mps_message_type_gc()));
  cr_assert_geq(mps_message_gc_live_size(t.arena, msg), 500 * 8 * W);
  cr_assert_geq(mps_message_gc_condemned_size(t.arena, msg), 500 * 8 * W);
  mps_message_discard(t.arena, msg);
  cr_assert(tamc_scans > 0);
  old = t.refs[0];
  mps_arena_collect(t.arena);
  tamc_list_check(t.refs[0], 500, 5);
  cr_assert_eq(tamc_count(&t, 0).objects, 500);
  tamc_close(&t);
}

Test(amc, garbage_is_reclaimed)
{
  tamc_s t;
  size_t k, before, after;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  tamc_list(&t, &t.refs[0], 100, 3);
  for (k = 0; k < 8000; ++k)
    tamc_new(t.ap, &t.refs[1], 0, 20, 7);
  t.refs[1] = NULL;
  tamc_flush_segment(&t);
  before = mps_pool_total_size(t.pool);
  cr_assert(before >= 8000 * 22 * W);
  mps_arena_collect(t.arena);
  after = mps_pool_total_size(t.pool);
  cr_assert_lt(after, before / 4, "total %zu -> %zu", before, after);
  cr_assert_leq(mps_pool_free_size(t.pool), after);
  tamc_list_check(t.refs[0], 100, 3);
  cr_assert_eq(tamc_count(&t, 0).objects, 100);
  /* Nothing left at all: the pool gives back every segment but the
   * allocation point's. */
  t.refs[0] = NULL;
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tamc_count(&t, 0).objects, 0);
  cr_assert_leq(mps_pool_total_size(t.pool), 96 * 1024);   /* the 80 KiB flush segment */
  tamc_close(&t);
}

Test(amc, ambiguous_reference_pins)
{
  tamc_s t;
  objfmt_obj a, b, c, d;
  mps_addr_t b_addr;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  tamc_new(t.ap, &t.refs[0], 1, 4, 100);   /* a: ambiguously referenced */
  tamc_new(t.ap, &t.refs[1], 0, 4, 101);   /* b: unreferenced neighbour */
  tamc_new(t.ap, &t.refs[2], 0, 4, 102);   /* c: exactly referenced */
  tamc_new(t.ap, &t.refs[3], 0, 4, 103);   /* d: referenced from a */
  a = t.refs[0];
  b = t.refs[1];
  c = t.refs[2];
  d = t.refs[3];
  a->slot[0] = (mps_word_t)d;
  b_addr = b;
  t.ambig[0] = a;
  t.refs[0] = t.refs[1] = t.refs[3] = NULL;
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);
  /* a stays, intact; the segment is nailed, so c and d stay in place
   * too (exact fixes into a nailed segment preserve). */
  cr_assert(tamc_data_ok(a, 4, 100));
  cr_assert_eq(t.refs[2], (mps_addr_t)c, "exact reference into a nailed segment moved");
  cr_assert(tamc_data_ok(c, 4, 102));
  cr_assert_eq(a->slot[0], (mps_word_t)d);
  cr_assert(tamc_data_ok(d, 4, 103));
  /* b died: it is padding now. */
  cr_assert_eq(OBJFMT_TYPE(*(mps_word_t *)b_addr), OBJFMT_T_PAD);
  cr_assert_eq(tamc_count(&t, 101).tagged, 0);
  cr_assert_eq(tamc_count(&t, 100).tagged, 1);
  /* Without the ambiguous reference, a dies and c moves. */
  t.ambig[0] = NULL;
  mps_arena_collect(t.arena);
  cr_assert_eq(tamc_count(&t, 100).tagged, 0);
  cr_assert_eq(tamc_count(&t, 103).tagged, 0);
  cr_assert_neq(t.refs[2], (mps_addr_t)c);
  cr_assert(tamc_data_ok(t.refs[2], 4, 102));
  tamc_close(&t);
}

static void tamc_interior(bool interior)
{
  tamc_s t;
  objfmt_obj a;
  tamc_open(&t, mps_class_amc(), interior, 0);
  mps_arena_park(t.arena);
  tamc_new(t.ap, &t.refs[0], 0, 8, 200);
  tamc_new(t.ap, &t.refs[1], 0, 8, 201);
  a = t.refs[0];
  t.ambig[0] = (char *)a + 3 * W;         /* interior, aligned */
  t.ambig[1] = (char *)t.refs[1] + 1;     /* interior, unaligned */
  t.refs[0] = t.refs[1] = NULL;
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);
  if (interior) {
    cr_assert(tamc_data_ok(a, 8, 200));
    cr_assert_eq(tamc_count(&t, 200).tagged, 1);
    cr_assert_eq(tamc_count(&t, 201).tagged, 1);
  } else {
    cr_assert_eq(tamc_count(&t, 200).tagged, 0);
    cr_assert_eq(tamc_count(&t, 201).tagged, 0);
  }
  tamc_close(&t);
}

Test(amc, interior_pointers_pin) { tamc_interior(true); }
Test(amc, interior_pointers_ignored_when_not_interior) { tamc_interior(false); }

Test(amc, stray_ambiguous_words_are_harmless)
{
  tamc_s t;
  size_t k;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  tamc_list(&t, &t.refs[0], 200, 2);
  /* Ambiguous words pointing everywhere in and around the pool's memory:
   * at the list's cells, past the used part of segments, at headers. */
  for (k = 0; k < 8; ++k)
    t.ambig[k] = (char *)t.refs[0] + (k * 4096 + k * 8 + k) - 4 * 4096;
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);
  tamc_list_check(t.refs[0], 200, 2);
  mps_arena_collect(t.arena);
  tamc_list_check(t.refs[0], 200, 2);
  tamc_close(&t);
}

Test(amcz, never_scanned_but_moves)
{
  tamc_s t;
  mps_addr_t old;
  size_t k;
  tamc_open(&t, mps_class_amcz(), true, 0);
  mps_arena_park(t.arena);
  for (k = 0; k < 20; ++k)
    tamc_new(t.ap, &t.refs[k], 0, 30, 300 + k);
  for (k = 0; k < 1000; ++k)
    tamc_new(t.ap, &t.refs[40], 0, 30, 1);
  old = t.refs[0];
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(tamc_scans, 0, "AMCZ called the scan method");
  cr_assert_neq(t.refs[0], old);
  for (k = 0; k < 20; ++k)
    cr_assert(tamc_data_ok(t.refs[k], 30, 300 + k));
  cr_assert_eq(tamc_count(&t, 1).tagged, 1);   /* only refs[40]'s */
  tamc_close(&t);
}

/* pool/amcz.rst: AMCZ's format need not have a scan method. */
Test(amcz, a_format_without_a_scan_method_will_do)
{
  tamc_s t;
  mps_addr_t old;
  tamc_open_scan(&t, mps_class_amcz(), true, 0, NULL);
  mps_arena_park(t.arena);
  tamc_new(t.ap, &t.refs[0], 0, 30, 310);
  old = t.refs[0];
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);
  cr_assert_neq(t.refs[0], old);
  cr_assert(tamc_data_ok(t.refs[0], 30, 310));
  tamc_close(&t);
}

/* The addresses of a list's cells, head first. */
static size_t tamc_cells(mps_addr_t head, mps_addr_t *cells, size_t max)
{
  size_t n = 0;
  objfmt_obj obj;
  for (obj = head; obj != NULL && n < max; obj = (objfmt_obj)obj->slot[0])
    cells[n++] = obj;
  return n;
}

/* The commit-limit tests' heap, in a parked pool: t->refs[0], a list of
 * n cells of 6 words, and t->refs[1], one of 50 cells of 1. */
static void tamc_open_two_lists(tamc_s *t, size_t n)
{
  tamc_open(t, mps_class_amc(), true, 0);
  mps_arena_park(t->arena);
  tamc_list(t, &t->refs[0], n, 6);
  tamc_list(t, &t->refs[1], 50, 1);
  tamc_flush_segment(t);
}

static void tamc_two_lists_check(tamc_s *t, size_t n)
{
  tamc_list_check(t->refs[0], n, 6);
  tamc_list_check(t->refs[1], 50, 1);
}

/* With no spare memory kept and the commit limit `slack` bytes above what
 * is committed, a collection runs, keeps both lists whole, and commits
 * no more than the limit. */
static void tamc_collect_under_a_limit(tamc_s *t, size_t n, size_t slack)
{
  mps_word_t collections;
  mps_arena_spare_set(t->arena, 0.0);
  cr_assert_eq(mps_arena_commit_limit_set(t->arena, mps_arena_committed(t->arena) + slack),
               MPS_RES_OK);
  collections = mps_collections(t->arena);
  mps_arena_collect(t->arena);
  cr_assert_eq(mps_collections(t->arena), collections + 1, "the collection did not run");
  tamc_two_lists_check(t, n);
  cr_assert_leq(mps_arena_committed(t->arena), mps_arena_commit_limit(t->arena));
}

/* With memory again, the next collection copies normally. */
static void tamc_collect_without_a_limit(tamc_s *t, size_t n)
{
  cr_assert_eq(mps_arena_commit_limit_set(t->arena, (size_t)1 << 30), MPS_RES_OK);
  mps_arena_collect(t->arena);
  tamc_two_lists_check(t, n);
}

Test(amc, commit_limit_during_collection)
{
  tamc_s t;
  enum { N = 3000 };
  static mps_addr_t before[N], after[N];
  size_t k, stayed = 0, moved = 0;
  tamc_open_two_lists(&t, N);
  cr_assert_eq(tamc_cells(t.refs[0], before, N), N);
  /* Room for the collector's own structures and a to-space segment or
   * two, too little to copy the list (about 190 KiB): to-space runs out
   * during the collection. */
  tamc_collect_under_a_limit(&t, N, 144 * 1024);
  cr_assert_eq(tamc_cells(t.refs[0], after, N), N);
  for (k = 0; k < N; ++k) {
    if (after[k] == before[k])
      ++stayed;
    else
      ++moved;
  }
  cr_assert_gt(stayed, 0, "nothing was preserved in place");
  cr_assert_gt(moved, 0, "nothing was copied");
  tamc_collect_without_a_limit(&t, N);
  tamc_close(&t);
}

/* Fill in a reserved six-word object with one reference, to ref, and
 * the data words tag, 0, 0: the object the commit tests leave pending. */
static void tamc_init_pending(mps_addr_t p, mps_addr_t ref, mps_word_t tag)
{
  objfmt_obj obj = p;
  obj->header = OBJFMT_HDR(6, OBJFMT_T_OBJ);
  obj->nrefs = 1;
  obj->slot[0] = (mps_word_t)ref;
  obj->slot[1] = tag;
  obj->slot[2] = obj->slot[3] = 0;
}

/* After a commit the trip failed: the point allocates again, and the
 * next collection fixes a new object's reference to the list of 50. */
static void tamc_point_still_works(tamc_s *t)
{
  tamc_new(t->ap, &t->refs[1], 1, 2, 5);
  ((objfmt_obj)t->refs[1])->slot[0] = (mps_word_t)t->refs[0];
  mps_arena_collect(t->arena);
  cr_assert_eq((mps_addr_t)((objfmt_obj)t->refs[1])->slot[0], t->refs[0]);
  tamc_list_check(t->refs[0], 50, 2);
}

/* Reserve, and collect before the commit, which must then fail once; the
 * retry commits.  Through the macros, or through the function forms of
 * mps_reserve and mps_commit (a client may call them with the names in
 * parentheses, or through their addresses), which must keep the same
 * protocol: a reserve advances alloc, and a commit across a collection
 * fails through the trip.  Returns the committed object. */
static mps_addr_t tamc_reserve_across_collection(tamc_s *t, size_t size, bool functions)
{
  mps_addr_t p;
  size_t tries = 0;
  objfmt_obj obj;
  do {
    if (functions)
      cr_assert_eq((mps_reserve)(&p, t->ap, size), MPS_RES_OK);
    else
      cr_assert_eq(mps_reserve(&p, t->ap, size), MPS_RES_OK);
    cr_assert_eq(t->ap->alloc, (mps_addr_t)((char *)p + size));
    obj = p;
    tamc_init_pending(p, t->refs[0], 0);
    if (tries == 0)
      mps_arena_collect(t->arena);   /* moves the list under the reserve */
    ++tries;
    /* A retry must refer to the list where it is now. */
    obj->slot[0] = (mps_word_t)t->refs[0];
  } while (functions ? !(mps_commit)(t->ap, p, size) : !mps_commit(t->ap, p, size));
  cr_assert_eq(tries, 2, "the commit across the collection did not fail");
  cr_assert_eq(t->ap->init, t->ap->alloc);
  return p;
}

Test(amc, reserve_pending_across_collection)
{
  tamc_s t;
  objfmt_obj obj;
  tamc_open(&t, mps_class_amc(), true, 0);
  tamc_list(&t, &t.refs[0], 50, 2);
  t.refs[1] = tamc_reserve_across_collection(&t, 6 * W, false);
  mps_arena_collect(t.arena);
  obj = t.refs[1];
  cr_assert_eq(OBJFMT_TYPE(obj->header), OBJFMT_T_OBJ);
  cr_assert_eq((mps_addr_t)obj->slot[0], t.refs[0]);
  tamc_list_check(t.refs[0], 50, 2);
  tamc_close(&t);
}

Test(amc, function_forms_of_reserve_and_commit_keep_the_protocol)
{
  tamc_s t;
  mps_addr_t p, q;
  size_t size = 6 * W;
  objfmt_obj obj;
  tamc_open(&t, mps_class_amc(), true, 0);
  tamc_list(&t, &t.refs[0], 50, 2);
  p = tamc_reserve_across_collection(&t, size, true);
  t.refs[1] = p;
  /* The next reserve follows it in the same region. */
  cr_assert_eq((mps_reserve)(&q, t.ap, size), MPS_RES_OK);
  cr_assert_eq(q, (mps_addr_t)((char *)p + size));
  tamc_init_pending(q, t.refs[0], 0);
  cr_assert((mps_commit)(t.ap, q, size));
  t.refs[2] = q;
  /* A reserve larger than the room the region has left is not made
   * inline: the pool gives a new region that holds it. */
  {
    size_t words = (size_t)((char *)t.ap->limit - (char *)t.ap->alloc) / W + 2;
    objfmt_obj big;
    do {
      cr_assert_eq((mps_reserve)(&q, t.ap, words * W), MPS_RES_OK);
      cr_assert_leq((char *)t.ap->alloc, (char *)t.ap->limit);
      big = q;
      memset(big, 0, words * W);
      big->header = OBJFMT_HDR(words, OBJFMT_T_OBJ);
      big->nrefs = 1;
    } while (!(mps_commit)(t.ap, q, words * W));
  }
  /* A size that would take the address past the top of memory is not
   * reserved inline by either form: it goes to the pool, which refuses. */
  cr_assert_neq((mps_reserve)(&q, t.ap, (size_t)0 - W), MPS_RES_OK);
  cr_assert_neq(mps_reserve(&q, t.ap, (size_t)0 - W), MPS_RES_OK);
  cr_assert_eq(t.ap->init, t.ap->alloc);
  mps_arena_collect(t.arena);
  obj = t.refs[1];
  cr_assert_eq((mps_addr_t)obj->slot[0], t.refs[0]);
  obj = t.refs[2];
  cr_assert_eq((mps_addr_t)obj->slot[0], t.refs[0]);
  tamc_list_check(t.refs[0], 50, 2);
  tamc_close(&t);
}

/* The segment an allocation point is filling is condemned like any other:
 * its dead objects go at the next collection although the point keeps
 * filling it, and the point goes on working afterwards. */
Test(amc, garbage_in_the_allocation_points_segment_is_reclaimed)
{
  tamc_s t;
  size_t k;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  tamc_list(&t, &t.refs[0], 100, 3);
  for (k = 0; k < 500; ++k)
    tamc_new(t.ap, &t.refs[1], 0, 4, 7);
  t.refs[1] = NULL;
  cr_assert_eq(tamc_count(&t, 0).objects, 600);
  mps_arena_collect(t.arena);
  cr_assert_eq(tamc_count(&t, 0).objects, 100, "the point's segment kept its garbage");
  tamc_list_check(t.refs[0], 100, 3);
  tamc_list(&t, &t.refs[2], 50, 2);
  mps_arena_collect(t.arena);
  cr_assert_eq(tamc_count(&t, 0).objects, 150);
  tamc_list_check(t.refs[0], 100, 3);
  tamc_list_check(t.refs[2], 50, 2);
  tamc_close(&t);
}

/* A mutator stopped inside mps_commit, after its store to init but before
 * it tests limit: the collection takes the just-committed object into the
 * pool with the others, and the trip that follows must still fail the
 * commit and leave the point usable (the object is abandoned). */
Test(amc, commit_interrupted_after_storing_init)
{
  tamc_s t;
  mps_addr_t p;
  size_t size = 6 * W;
  tamc_open(&t, mps_class_amc(), true, 0);
  tamc_list(&t, &t.refs[0], 50, 2);
  cr_assert_eq(mps_reserve(&p, t.ap, size), MPS_RES_OK);
  tamc_init_pending(p, t.refs[0], 0);
  t.ap->init = t.ap->alloc;   /* the first half of mps_commit */
  mps_arena_collect(t.arena);
  cr_assert_null(t.ap->limit, "the flip did not trap the point");
  cr_assert_not(mps_ap_trip(t.ap, p, size), "a commit across the flip succeeded");
  tamc_list_check(t.refs[0], 50, 2);
  tamc_point_still_works(&t);
  tamc_close(&t);
}

/* A mutator stopped between reserve and commit stores init when it runs
 * again, and its trip may then wait for the arena while another
 * collection runs.  That collection must not take the block for an
 * object: it was written from references read before the first flip, so
 * scanning it (here it is held ambiguously, as the thread's registers
 * would hold it) would fix stale references.  Seen in stress_amc. */
Test(amc, block_initialized_after_a_flip_is_no_object_before_the_trip)
{
  tamc_s t;
  mps_addr_t p;
  size_t size = 6 * W;
  tamc_open(&t, mps_class_amc(), true, 0);
  tamc_list(&t, &t.refs[0], 50, 2);
  cr_assert_eq(mps_reserve(&p, t.ap, size), MPS_RES_OK);
  tamc_init_pending(p, t.refs[0], 77 * 31u);   /* the tag tamc_count looks for */
  t.ambig[0] = p;
  mps_arena_collect(t.arena);   /* the list moves; the point is trapped */
  cr_assert_null(t.ap->limit, "the flip did not trap the point");
  t.ap->init = t.ap->alloc;     /* the first half of mps_commit */
  mps_arena_collect(t.arena);   /* before the trip gets the arena */
  cr_assert_eq(tamc_count(&t, 77).tagged, 0, "the block became an object");
  cr_assert_not(mps_ap_trip(t.ap, p, size), "a commit across the flip succeeded");
  cr_assert_eq(tamc_count(&t, 77).tagged, 0);
  t.ambig[0] = NULL;
  tamc_list_check(t.refs[0], 50, 2);
  tamc_point_still_works(&t);
  tamc_close(&t);
}

/* A parked amc pool with a weak root `w` of two words, and two new
 * objects of 3 words: t->refs[0] tagged `tag`, and w[1] tagged tag + 1,
 * which only the weak root refers to. */
static void tamc_open_with_weak_pair(tamc_s *t, mps_root_t *weak, mps_addr_t *w,
                                     mps_word_t tag)
{
  tamc_open(t, mps_class_amc(), true, 0);
  cr_assert_eq(mps_root_create_table(weak, t->arena, mps_rank_weak(), 0, w, 2), MPS_RES_OK);
  mps_arena_park(t->arena);
  tamc_new(t->ap, &t->refs[0], 0, 3, tag);
  tamc_new(t->ap, &w[1], 0, 3, tag + 1);
}

Test(amc, weak_references_splat_dead_objects)
{
  tamc_s t;
  mps_root_t weak;
  mps_addr_t w[2];
  tamc_open_with_weak_pair(&t, &weak, w, 400);
  w[0] = t.refs[0];
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(w[0], t.refs[0], "weak reference to a live object not updated");
  cr_assert(tamc_data_ok(w[0], 3, 400));
  cr_assert_null(w[1], "weak reference to a dead object not splatted");
  mps_root_destroy(weak);
  tamc_close(&t);
}

Test(amc, large_objects_and_walks)
{
  tamc_s t;
  size_t k;
  tamc_open(&t, mps_class_amc(), true, 8192);
  mps_arena_park(t.arena);
  for (k = 0; k < 8; ++k)
    tamc_new(t.ap, &t.refs[k], 1, 5000 + k * 100, 500 + k);   /* > extend_by */
  for (k = 0; k + 1 < 8; ++k)
    ((objfmt_obj)t.refs[k])->slot[0] = (mps_word_t)t.refs[k + 1];
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);
  for (k = 0; k < 8; ++k) {
    cr_assert(tamc_data_ok(t.refs[k], 5000 + k * 100, 500 + k));
    if (k + 1 < 8)
      cr_assert_eq((mps_addr_t)((objfmt_obj)t.refs[k])->slot[0], t.refs[k + 1]);
  }
  cr_assert_eq(tamc_count(&t, 503).tagged, 1);
  cr_assert_eq(tamc_count(&t, 0).objects, 8);
  tamc_close(&t);
}

Test(amc, automatic_collections)
{
  tamc_s t;
  size_t k;
  mps_word_t before;
  tamc_open(&t, mps_class_amc(), true, 0);
  before = mps_collections(t.arena);
  tamc_list(&t, &t.refs[0], 300, 4);
  for (k = 0; k < 40000; ++k) {
    tamc_new(t.ap, &t.refs[1], 1, 6, 9);
    /* Some garbage points at the live list, so it is scanned and fixed. */
    ((objfmt_obj)t.refs[1])->slot[0] = (mps_word_t)t.refs[0];
    if (k % 5000 == 0)
      tamc_list_check(t.refs[0], 300, 4);
  }
  cr_assert_gt(mps_collections(t.arena), before, "no collection was triggered");
  tamc_list_check(t.refs[0], 300, 4);
  cr_assert_lt(mps_pool_total_size(t.pool), (size_t)40000 * 9 * W / 2,
               "total %zu", mps_pool_total_size(t.pool));
  tamc_close(&t);
}

/* pool/amc.rst, "Hash arrays": what a point created with
 * MPS_KEY_AP_HASH_ARRAYS allocates does not count towards the nursery's
 * new size, so however much it allocates, no collection falls due; the
 * same allocation through an ordinary point brings collections. */
static mps_word_t tamc_collections_after(bool hash_arrays)
{
  tamc_s t;
  mps_ap_t ap;
  mps_word_t before, after;
  size_t k;
  tamc_open(&t, mps_class_amc(), true, 0);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_AP_HASH_ARRAYS, hash_arrays);
    cr_assert_eq(mps_ap_create_k(&ap, t.pool, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  before = mps_collections(t.arena);
  /* 2 MiB of arrays that stay alive (listed from refs[0]), 32 times
   * the nursery's capacity (64 KiB). */
  for (k = 0; k < 2048; ++k) {
    tamc_new(ap, &t.refs[1], 1, 125, k);
    ((objfmt_obj)t.refs[1])->slot[0] = (mps_word_t)t.refs[0];
    t.refs[0] = t.refs[1];
  }
  after = mps_collections(t.arena);
  for (k = 2048; k-- > 0;) {
    objfmt_obj obj = t.refs[0];
    cr_assert(tamc_data_ok(obj, 125, k), "array %zu was corrupted", k);
    t.refs[0] = (mps_addr_t)obj->slot[0];
  }
  cr_assert_null(t.refs[0]);
  mps_ap_destroy(ap);
  tamc_close(&t);
  return after - before;
}

Test(amc, hash_array_points_bring_no_collection)
{
  cr_assert_eq(tamc_collections_after(true), 0);
  cr_assert_gt(tamc_collections_after(false), 0,
               "the same allocation through an ordinary point brought none");
}

/* Two objects in one segment: a, kept in place by an ambiguous
 * reference, and b, which nothing strong refers to.  The segment is
 * nailed, but b is not kept: a weak reference to it is splatted. */
Test(amc, a_weak_reference_into_a_nailed_segment_is_splatted_if_not_kept)
{
  tamc_s t;
  mps_root_t weak;
  mps_addr_t w[2];
  tamc_open_with_weak_pair(&t, &weak, w, 410);
  t.ambig[0] = t.refs[0];
  w[0] = t.refs[0];
  t.refs[0] = NULL;
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);
  cr_assert_eq(w[0], t.ambig[0], "a weak reference to a pinned object changed");
  cr_assert(tamc_data_ok(w[0], 3, 410));
  cr_assert_null(w[1], "a weak reference to a dead object in a nailed segment survived");
  cr_assert_eq(tamc_count(&t, 411).tagged, 0);
  mps_root_destroy(weak);
  tamc_close(&t);
}

/* A parked amc pool whose finalization messages are enabled, and two new
 * objects of 3 words: t->refs[0] tagged `tag`, t->refs[1] tag + 1. */
static void tamc_open_finalizing(tamc_s *t, mps_word_t tag)
{
  tamc_open(t, mps_class_amc(), true, 0);
  mps_arena_park(t->arena);
  mps_message_type_enable(t->arena, mps_message_type_finalization());
  tamc_new(t->ap, &t->refs[0], 0, 3, tag);
  tamc_new(t->ap, &t->refs[1], 0, 3, tag + 1);
}

/* Registers obj for finalization. */
static void tamc_finalize(tamc_s *t, mps_addr_t obj)
{
  mps_addr_t fin = obj;
  cr_assert_eq(mps_finalize(t->arena, &fin), MPS_RES_OK);
}

/* With the point's segment flushed, a collection finalizes one object,
 * of 3 words tagged `tag`: the message's reference is to it (not at
 * `not_at`, the address it had before the collection copied it, where
 * that is given). */
static void tamc_collect_finalizes_one(tamc_s *t, mps_word_t tag, mps_addr_t not_at)
{
  mps_message_t msg;
  mps_addr_t ref;
  size_t messages = 0;
  tamc_flush_segment(t);
  mps_arena_collect(t->arena);
  while (mps_message_get(&msg, t->arena, mps_message_type_finalization())) {
    mps_message_finalization_ref(&ref, t->arena, msg);
    cr_assert(tamc_data_ok(ref, 3, tag), "a reachable object was finalized");
    if (not_at != NULL)
      cr_assert_neq(ref, not_at);
    mps_message_discard(t->arena, msg);
    ++messages;
  }
  cr_assert_eq(messages, 1, "%zu finalization messages", messages);
}

/* An unreachable object registered for finalization, next to a pinned
 * one in the same segment, is finalized: the nailed segment did not
 * keep it before the final band preserved it. */
Test(amc, an_unreachable_object_in_a_nailed_segment_is_finalized)
{
  tamc_s t;
  tamc_open_finalizing(&t, 420);
  t.ambig[0] = t.refs[0];
  tamc_finalize(&t, t.refs[1]);
  t.refs[0] = t.refs[1] = NULL;
  tamc_collect_finalizes_one(&t, 421, NULL);
  cr_assert(tamc_data_ok(t.ambig[0], 3, 420));
  tamc_close(&t);
}

/* An exact reference found only after a nailed segment was scanned marks
 * an object in it: the segment must be scanned again, for that object.
 * Segment S holds a (pinned) and c; segment U holds y and d.  a -> y -> c
 * -> d: S's scan copies y, and only the copy's scan, after S's, reaches
 * c, which is kept in place and must be scanned so that d is kept too.
 * The first scan of the object tagged `flaky` fails (0: none does): a
 * scan that failed is made again, wherever it was. */
static void tamc_chain_through_a_nailed_segment(mps_word_t flaky)
{
  tamc_s t;
  objfmt_obj a, c, y;
  mps_addr_t d_old;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  tamc_new(t.ap, &t.refs[0], 1, 3, 430);   /* a */
  tamc_new(t.ap, &t.refs[1], 1, 3, 431);   /* c */
  tamc_flush_segment(&t);
  tamc_new(t.ap, &t.refs[2], 1, 3, 432);   /* y */
  tamc_new(t.ap, &t.refs[3], 0, 3, 433);   /* d */
  tamc_flush_segment(&t);
  a = t.refs[0];
  c = t.refs[1];
  y = t.refs[2];
  d_old = t.refs[3];
  a->slot[0] = (mps_word_t)y;
  y->slot[0] = (mps_word_t)c;
  c->slot[0] = (mps_word_t)d_old;
  t.ambig[0] = a;
  memset(t.refs, 0, 4 * sizeof t.refs[0]);
  tamc_flaky_tag = flaky;
  tamc_flaky_left = flaky != 0 ? 1 : 0;
  mps_arena_collect(t.arena);
  cr_assert_eq(tamc_flaky_left, 0, "the object tagged %lu was never scanned",
               (unsigned long)flaky);
  cr_assert(tamc_data_ok(a, 3, 430));
  y = (objfmt_obj)a->slot[0];
  cr_assert_neq((mps_addr_t)y, t.refs[2], "y was not copied");
  cr_assert(tamc_data_ok(y, 3, 432));
  cr_assert_eq((objfmt_obj)y->slot[0], c, "c moved out of a nailed segment");
  cr_assert(tamc_data_ok(c, 3, 431));
  cr_assert_neq((mps_addr_t)c->slot[0], d_old, "c's reference to d was not fixed");
  cr_assert(tamc_data_ok((objfmt_obj)c->slot[0], 3, 433));
  cr_assert_eq(tamc_count(&t, 433).tagged, 1);
  tamc_close(&t);
}

Test(amc, an_object_marked_after_its_nailed_segment_was_scanned_is_scanned)
{
  tamc_chain_through_a_nailed_segment(0);
}

/* a's scan, in the walk of the newly nailed S. */
Test(amc, a_failed_scan_of_a_pinned_object_is_made_again)
{
  tamc_chain_through_a_nailed_segment(430);
}

/* y's scan, in the Cheney scan of to-space. */
Test(amc, a_failed_scan_of_a_copy_is_made_again)
{
  tamc_chain_through_a_nailed_segment(432);
}

/* c's scan, in the sweep of S for the objects marked after its walk. */
Test(amc, a_failed_scan_of_an_object_marked_in_a_nailed_segment_is_made_again)
{
  tamc_chain_through_a_nailed_segment(431);
}

/* The gc message's live size counts what a nailed segment kept in place
 * (all of it: two objects), though nothing was copied. */
Test(amc, objects_kept_in_place_count_as_live)
{
  tamc_s t;
  mps_message_t msg;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  mps_message_type_enable(t.arena, mps_message_type_gc());
  tamc_new(t.ap, &t.ambig[0], 0, 1000, 440);
  tamc_new(t.ap, &t.ambig[1], 0, 1000, 441);
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);
  cr_assert(tamc_data_ok(t.ambig[0], 1000, 440));
  cr_assert(tamc_data_ok(t.ambig[1], 1000, 441));
  cr_assert(mps_message_get(&msg, t.arena, mps_message_type_gc()));
  cr_assert_geq(mps_message_gc_live_size(t.arena, msg), 2 * 1002 * W);
  mps_message_discard(t.arena, msg);
  tamc_close(&t);
}

/* What an allocation point has committed is in use: the pool's free
 * size never counts the region a point is filling. */
Test(amc, a_points_region_is_not_free)
{
  tamc_s t;
  size_t k;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  for (k = 0; k < 100; ++k)
    tamc_new(t.ap, &t.refs[k % 8], 0, 30, 450);
  cr_assert_geq(mps_pool_total_size(t.pool) - mps_pool_free_size(t.pool), 100 * 32 * W,
                "total %zu, free %zu", mps_pool_total_size(t.pool),
                mps_pool_free_size(t.pool));
  tamc_close(&t);
}

/* Of two registered objects in a segment that is copied, the one
 * unreachable is finalized (its copy is the message's reference) and the
 * one the root keeps is not, though the root's fix copied it first. */
Test(amc, only_the_unreachable_registered_object_is_finalized)
{
  tamc_s t;
  mps_addr_t old;
  tamc_open_finalizing(&t, 490);
  tamc_finalize(&t, t.refs[0]);
  old = t.refs[1];
  tamc_finalize(&t, old);
  t.refs[1] = NULL;
  tamc_collect_finalizes_one(&t, 491, old);
  cr_assert(tamc_data_ok(t.refs[0], 3, 490));
  tamc_close(&t);
}

/* With no memory at all to spare when a collection starts, neither
 * to-space nor (soon) nailboards can be had: segments are kept whole,
 * and each must still be scanned, so that what the kept objects refer to
 * is kept too. */
Test(amc, a_collection_with_no_memory_to_spare_keeps_everything_reachable)
{
  tamc_s t;
  enum { N = 3000 };
  tamc_open_two_lists(&t, N);
  tamc_collect_under_a_limit(&t, N, 0);
  tamc_collect_without_a_limit(&t, N);
  tamc_close(&t);
}

/* With the arena released, allocation (of garbage, into t.refs[3]) until
 * it brings a collection; the arena is parked again after it. */
static void tamc_allocate_until_a_collection(tamc_s *t)
{
  mps_word_t collections;
  size_t k;
  mps_arena_release(t->arena);
  collections = mps_collections(t->arena);
  for (k = 0; k < 100000 && mps_collections(t->arena) == collections; ++k)
    tamc_new(t->ap, &t->refs[3], 0, 20, 7);
  cr_assert_gt(mps_collections(t->arena), collections, "allocation brought no collection");
  mps_arena_park(t->arena);
}

/* Survivors of a collection are promoted out of the nursery into the top
 * generation (the chain has only the nursery), which only collections of
 * the world condemn, and what a collection of the world promotes is not
 * new there, so the collections that allocation brings afterwards
 * condemn only the nursery: a list that has survived two full
 * collections stays where it is.  What such a collection copies into the
 * last to-space segment of the full one (reused: the nursery's survivors
 * go to the top generation too) must not hide that segment's old objects
 * from the scan: the list's last cell, in that segment, is given the only
 * reference to a new object, which must be kept and the reference
 * updated. */
Test(amc, survivors_stay_put_while_only_the_nursery_is_collected)
{
  enum { N = 3000 };   /* 12-word cells: 281 KiB, over the top generation's 64 */
  static mps_addr_t before[N], after[N];
  mps_gen_param_s gens[1] = {{64, 0.5}};
  tamc_s t;
  objfmt_obj tail;
  mps_addr_t young;
  size_t k;
  tamc_open_in(&t, 16 << 20, 1, gens, mps_class_amc(), true, 0, tamc_scan);
  mps_arena_park(t.arena);
  for (k = 0; k < N; ++k) {
    t.refs[63] = t.refs[0];
    tamc_new(t.ap, &t.refs[0], 2, 8, (mps_word_t)k);
    ((objfmt_obj)t.refs[0])->slot[0] = (mps_word_t)t.refs[63];
  }
  t.refs[63] = NULL;
  mps_arena_collect(t.arena);
  mps_arena_collect(t.arena);
  cr_assert_eq(tamc_cells(t.refs[0], before, N), N);
  tail = before[N - 1];   /* copied last */
  tamc_new(t.ap, &t.refs[1], 0, 3, 5460);   /* copied first, from the root */
  tamc_new(t.ap, &t.refs[2], 0, 3, 5461);
  young = t.refs[2];
  tail->slot[1] = (mps_word_t)young;
  t.refs[2] = NULL;
  tamc_allocate_until_a_collection(&t);
  cr_assert_eq(tamc_cells(t.refs[0], after, N), N);
  for (k = 0; k < N; ++k)
    cr_assert_eq(after[k], before[k], "cell %zu of an old list moved", k);
  tamc_list_check(t.refs[0], N, 8);
  cr_assert_neq((mps_addr_t)tail->slot[1], young, "the old cell's reference was not fixed");
  cr_assert(tamc_data_ok((objfmt_obj)tail->slot[1], 3, 5461));
  cr_assert_eq(tamc_count(&t, 5461).tagged, 1);
  cr_assert(tamc_data_ok(t.refs[1], 3, 5460));
  tamc_close(&t);
}

/* The chain's last generation promotes its survivors into the top
 * generation (chain.h), which collections of due generations never
 * condemn, however old: list A, promoted there by two full collections,
 * stays where it is while automatic collections condemn the nursery and
 * then the chain's last generation too, to promote list B through them.
 * A collection of the world condemns the top generation: A moves. */
Test(amc, the_top_generation_takes_the_last_generations_survivors_and_only_the_world_condemns_it)
{
  enum { N = 3000 };   /* 8-word cells: 188 KiB */
  static mps_addr_t a_before[N], a_after[N], b_before[N], b_after[N];
  tamc_s t;
  Count last_gen_collections;
  size_t k, moved = 0;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  tamc_list(&t, &t.refs[0], N, 6);
  mps_arena_collect(t.arena);
  mps_arena_collect(t.arena);
  cr_assert_eq(tamc_cells(t.refs[0], a_before, N), N);
  /* B, 2 x 188 KiB, takes the last generation (256 KiB) over its
   * capacity once promoted, so a collection condemns it. */
  tamc_list(&t, &t.refs[1], N, 6);
  tamc_list(&t, &t.refs[2], N, 6);
  cr_assert_eq(tamc_cells(t.refs[1], b_before, N), N);
  last_gen_collections = t.chain->gens[1].collections;
  for (k = 0; k < 8 && t.chain->gens[1].collections == last_gen_collections; ++k)
    tamc_allocate_until_a_collection(&t);
  cr_assert_gt(t.chain->gens[1].collections, last_gen_collections,
               "no collection condemned the chain's last generation");
  cr_assert_eq(tamc_cells(t.refs[0], a_after, N), N);
  for (k = 0; k < N; ++k)
    cr_assert_eq(a_after[k], a_before[k], "cell %zu of A moved", k);
  cr_assert_eq(tamc_cells(t.refs[1], b_after, N), N);
  cr_assert_neq(b_after[0], b_before[0], "B was not collected");
  mps_arena_collect(t.arena);
  cr_assert_eq(tamc_cells(t.refs[0], a_after, N), N);
  for (k = 0; k < N; ++k)
    moved += a_after[k] != a_before[k];
  cr_assert_eq(moved, N, "a collection of the world left %zu cells of A", N - moved);
  tamc_list_check(t.refs[0], N, 6);
  tamc_list_check(t.refs[1], N, 6);
  tamc_list_check(t.refs[2], N, 6);
  tamc_close(&t);
}

/* Objects that outlive a nursery collection and then die pile up in the
 * top generation, which only collections of the world reclaim: one comes
 * by itself once the top generation has taken more than its capacity
 * (the chain's last generation's) and more than it held before.  Here
 * the chain has only a 64 KiB nursery, and each collection promotes the
 * last 48 KiB allocated; without such collections, 16 MiB of allocation
 * leaves over 6 MiB of them dead in the top generation. */
Test(amc, dead_objects_in_the_top_generation_bring_a_collection_of_the_world)
{
  enum { KEEP = 48, DATA = 126 };   /* 1 KiB objects */
  mps_gen_param_s gens[1] = {{64, 0.5}};
  tamc_s t;
  mps_message_t msg;
  size_t k, worlds = 0, peak = 0;
  tamc_open_in(&t, 64 << 20, 1, gens, mps_class_amc(), true, 0, tamc_scan);
  mps_message_type_enable(t.arena, mps_message_type_gc_start());
  for (k = 0; k < 16 * 1024; ++k) {
    tamc_new(t.ap, &t.refs[k % KEEP], 0, DATA, (mps_word_t)k);
    while (mps_message_get(&msg, t.arena, mps_message_type_gc_start())) {
      if (strstr(mps_message_gc_start_why(t.arena, msg), "top generation") != NULL)
        ++worlds;
      mps_message_discard(t.arena, msg);
    }
    if (mps_pool_total_size(t.pool) > peak)
      peak = mps_pool_total_size(t.pool);
  }
  cr_assert_lt(peak, (size_t)4 << 20, "the pool reached %zu bytes", peak);
  cr_assert_gt(worlds, 0, "no collection of the world");
  for (k = 0; k < KEEP; ++k)   /* the last object made into each slot */
    cr_assert(tamc_data_ok(t.refs[k], DATA, (mps_word_t)((16 * 1024 - 1 - k) / KEEP * KEEP + k)),
              "object %zu damaged", k);
  tamc_close(&t);
}

/* A collection of one chain's nursery leaves another chain's pool alone,
 * but scans it: the objects its allocation point has committed refer to
 * the condemned pool, and must be scanned up to the committed limit
 * though the segment is neither condemned nor detached from the point. */
Test(amc, a_points_uncondemned_segment_is_scanned_to_its_committed_objects)
{
  tamc_s t;
  mps_gen_param_s gens[1] = {{100 * 1024, 0.5}};   /* never due here */
  mps_chain_t chain;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_addr_t young, holder;
  tamc_open(&t, mps_class_amc(), true, 0);
  cr_assert_eq(mps_chain_create(&chain, t.arena, 1, gens), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    cr_assert_eq(mps_pool_create_k(&pool, t.arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  mps_arena_park(t.arena);
  tamc_new(t.ap, &t.refs[0], 0, 3, 470);
  young = t.refs[0];
  tamc_new(ap, &t.refs[1], 1, 3, 471);
  holder = t.refs[1];
  ((objfmt_obj)holder)->slot[0] = (mps_word_t)young;
  t.refs[0] = NULL;
  tamc_allocate_until_a_collection(&t);
  cr_assert_eq(t.refs[1], holder, "an object of the other chain's pool moved");
  cr_assert_neq((mps_addr_t)((objfmt_obj)holder)->slot[0], young,
                "the reference in the point's committed object was not fixed");
  cr_assert(tamc_data_ok((objfmt_obj)((objfmt_obj)holder)->slot[0], 3, 470));
  cr_assert_eq(tamc_count(&t, 470).tagged, 1);
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
  mps_chain_destroy(chain);
  tamc_close(&t);
}

/* A segment that a collection frees is forgotten as the one whose free
 * tail fills use: a segment made later, perhaps for another pool in the
 * same control memory, is not taken for it. */
Test(amc, a_freed_segment_is_not_filled_again)
{
  tamc_s t;
  mps_pool_t other, found;
  mps_ap_t ap;
  mps_addr_t kept;
  tamc_open(&t, mps_class_amc(), true, 0);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
    cr_assert_eq(mps_pool_create_k(&other, t.arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  mps_arena_park(t.arena);
  tamc_new(t.ap, &t.refs[0], 0, 3, 480);   /* garbage, alone in its segment */
  t.refs[0] = NULL;
  mps_ap_destroy(t.ap);
  mps_arena_collect(t.arena);
  cr_assert_eq(mps_pool_total_size(t.pool), 0, "the dead segment was not freed");
  /* A segment of the other pool, left with a free tail and no point. */
  cr_assert_eq(mps_ap_create_k(&ap, other, mps_args_none), MPS_RES_OK);
  tamc_new(ap, &kept, 0, 3, 481);
  t.refs[1] = kept;
  mps_ap_destroy(ap);
  cr_assert_eq(mps_ap_create_k(&t.ap, t.pool, mps_args_none), MPS_RES_OK);
  tamc_new(t.ap, &t.refs[2], 0, 3, 482);
  cr_assert(mps_addr_pool(&found, t.arena, t.refs[2]));
  cr_assert_eq(found, t.pool, "an object was allocated in another pool's segment");
  cr_assert(tamc_data_ok(t.refs[1], 3, 481));
  mps_pool_destroy(other);
  tamc_close(&t);
}

/* Two allocation points of one pool fill different regions: what one
 * commits, the other never overwrites. */
Test(amc, two_points_of_a_pool_do_not_share_memory)
{
  tamc_s t;
  mps_ap_t ap2;
  size_t k;
  tamc_open(&t, mps_class_amc(), true, 0);
  cr_assert_eq(mps_ap_create_k(&ap2, t.pool, mps_args_none), MPS_RES_OK);
  mps_arena_park(t.arena);
  for (k = 0; k < 32; ++k)
    tamc_new(k % 2 == 0 ? t.ap : ap2, &t.refs[k], 0, 5, 600 + k);
  for (k = 0; k < 32; ++k)
    cr_assert(tamc_data_ok(t.refs[k], 5, 600 + k), "object %zu was overwritten", k);
  mps_arena_collect(t.arena);
  for (k = 0; k < 32; ++k)
    cr_assert(tamc_data_ok(t.refs[k], 5, 600 + k), "object %zu was lost", k);
  mps_ap_destroy(ap2);
  tamc_close(&t);
}

/* guide/debug.rst and arena.rst: mps_arena_postmortem, called on the
 * thread that holds the arena lock (here a scan method, as from a
 * debugger stopped in one), lets the lock go, so that the arena can then
 * be asked where an address lies.  In a child, since the interrupted
 * collection cannot go on afterwards. */
static mps_arena_t tamc_pm_arena;
static mps_pool_t tamc_pm_pool;

static mps_res_t tamc_pm_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  mps_pool_t found = NULL;
  int code = 0;
  (void)ss;
  (void)limit;
  mps_arena_postmortem(tamc_pm_arena);
  if (!mps_arena_has_addr(tamc_pm_arena, base))
    code = 2;
  else if (!mps_addr_pool(&found, tamc_pm_arena, base) || found != tamc_pm_pool)
    code = 3;
  else if (mps_arena_has_addr(tamc_pm_arena, &found))
    code = 4;
  _exit(code);
}

Test(amc, postmortem_from_a_scan_lets_the_arena_be_asked)
{
  pid_t pid = fork();
  int status;
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    tamc_s t;
    tamc_open(&t, mps_class_amc(), true, 0);
    tamc_pm_arena = t.arena;
    {
      mps_fmt_t fmt;
      mps_ap_t ap;
      if (objfmt_create(&fmt, t.arena, tamc_pm_scan, true) != MPS_RES_OK)
        _exit(10);
      MPS_ARGS_BEGIN(args) {
        MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
        MPS_ARGS_ADD(args, MPS_KEY_CHAIN, t.chain);
        if (mps_pool_create_k(&tamc_pm_pool, t.arena, mps_class_amc(), args) != MPS_RES_OK)
          _exit(11);
      } MPS_ARGS_END(args);
      if (mps_ap_create_k(&ap, tamc_pm_pool, mps_args_none) != MPS_RES_OK)
        _exit(12);
      tamc_new(ap, &t.refs[0], 1, 2, 5);
      mps_arena_collect(t.arena);
    }
    _exit(13);   /* the scan method never ran */
  }
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status), "the child did not exit (status %d)", status);
  cr_assert_eq(WEXITSTATUS(status), 0, "exit code %d", WEXITSTATUS(status));
}

Test(amc, no_mps_alloc)
{
  tamc_s t;
  mps_addr_t p;
  tamc_open(&t, mps_class_amc(), true, 0);
  cr_assert_eq(mps_alloc(&p, t.pool, 64), MPS_RES_UNIMPL);
  tamc_close(&t);
}

Test(amc, format_without_fwd_is_refused)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_pool_t pool;
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, tamc_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, objfmt_skip);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, objfmt_pad);
    cr_assert_eq(mps_fmt_create_k(&fmt, arena, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_amc(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}

Test(amc, apply_needs_parked_arena, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  tamc_s t;
  tamc_count_s c = {0, 0, 0, 0};
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_release(t.arena);
  reports_install_abort();
  mps_amc_apply(t.pool, tamc_count_step, &c, 0);
}

/* An area scanner counting the test format's objects. */
static mps_res_t tamc_area_count(mps_ss_t ss, void *base, void *limit, void *closure)
{
  size_t *n = closure;
  char *p;
  (void)ss;
  for (p = base; p < (char *)limit; p += OBJFMT_WORDS(*(mps_word_t *)(void *)p) * W)
    if (OBJFMT_TYPE(*(mps_word_t *)(void *)p) == OBJFMT_T_OBJ)
      ++*n;
  return MPS_RES_OK;
}

static void tamc_formatted_count(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p,
                                 size_t s)
{
  size_t *n = p;
  (void)fmt;
  (void)s;
  (void)pool;
  if (OBJFMT_TYPE(*(mps_word_t *)addr) == OBJFMT_T_OBJ)
    ++*n;
}

Test(amc, walks_and_addr_object)
{
  tamc_s t;
  mps_addr_t found;
  size_t areas = 0, formatted = 0, k;
  objfmt_obj a;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  tamc_list(&t, &t.refs[0], 40, 3);
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);
  a = t.refs[0];
  cr_assert_eq(mps_addr_object(&found, t.arena, (char *)a + 2 * W + 3), MPS_RES_OK);
  cr_assert_eq(found, (mps_addr_t)a);
  cr_assert_eq(mps_addr_object(&found, t.arena, a), MPS_RES_OK);
  cr_assert_eq(found, (mps_addr_t)a);
  /* Each cell from its first and its last byte, though the first is
   * also where the cell before it ends. */
  for (k = 0; k < 40; ++k, a = (objfmt_obj)a->slot[0]) {
    cr_assert_eq(mps_addr_object(&found, t.arena, a), MPS_RES_OK);
    cr_assert_eq(found, (mps_addr_t)a, "cell %zu found from its base as %p", k, found);
    cr_assert_eq(mps_addr_object(&found, t.arena, (char *)a + 6 * W - 1), MPS_RES_OK);
    cr_assert_eq(found, (mps_addr_t)a);
  }
  cr_assert_null(a);
  cr_assert_eq(mps_pool_walk(t.pool, tamc_area_count, &areas), MPS_RES_OK);
  cr_assert_eq(areas, 40);
  mps_arena_formatted_objects_walk(t.arena, tamc_formatted_count, &formatted, 0);
  cr_assert_eq(formatted, 40);
  tamc_close(&t);
}

/* pool/amc.rst: MPS_KEY_EXTEND_BY is the least size of the segments the
 * pool asks for, also when it is larger than the pool would choose. */
Test(amc, segments_are_at_least_extend_by)
{
  tamc_s t;
  size_t extend_by = 512 * 1024;
  tamc_open(&t, mps_class_amc(), true, extend_by);
  mps_arena_park(t.arena);
  tamc_new(t.ap, &t.refs[0], 0, 3, 700);
  cr_assert_geq(mps_pool_total_size(t.pool), extend_by, "total %zu",
                mps_pool_total_size(t.pool));
  tamc_close(&t);
}

/* The walks, mps_addr_object and mps_amc_apply see the objects an
 * allocation point has committed in the segment it is still filling
 * (nothing was collected, so that is where all of them are). */
Test(amc, walks_see_the_objects_a_point_has_committed)
{
  tamc_s t;
  tamc_count_s c;
  mps_addr_t found;
  size_t areas = 0, formatted = 0, k;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  for (k = 0; k < 10; ++k)
    tamc_new(t.ap, &t.refs[k], 0, 3, 710 + k);
  c = tamc_count(&t, 719);
  cr_assert_eq(c.objects, 10);
  cr_assert_eq(c.tagged, 1);
  cr_assert_eq(mps_pool_walk(t.pool, tamc_area_count, &areas), MPS_RES_OK);
  cr_assert_eq(areas, 10);
  mps_arena_formatted_objects_walk(t.arena, tamc_formatted_count, &formatted, 0);
  cr_assert_eq(formatted, 10);
  for (k = 0; k < 10; ++k) {
    cr_assert_eq(mps_addr_object(&found, t.arena, (char *)t.refs[k] + W), MPS_RES_OK,
                 "object %zu not found", k);
    cr_assert_eq(found, t.refs[k]);
  }
  tamc_close(&t);
}

/* What an allocation point leaves unused when it is destroyed is the
 * segment's free tail again: the pool counts it free, and the next point
 * allocates there, with no new segment. */
Test(amc, a_destroyed_points_unused_part_is_filled_again)
{
  tamc_s t;
  size_t total;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  tamc_new(t.ap, &t.refs[0], 0, 3, 720);
  mps_ap_destroy(t.ap);
  total = mps_pool_total_size(t.pool);
  cr_assert_eq(total - mps_pool_free_size(t.pool), 5 * W);
  cr_assert_eq(mps_ap_create_k(&t.ap, t.pool, mps_args_none), MPS_RES_OK);
  tamc_new(t.ap, &t.refs[1], 0, 3, 721);
  cr_assert_eq(t.refs[1], (mps_addr_t)((char *)t.refs[0] + 5 * W));
  cr_assert_eq(mps_pool_total_size(t.pool), total, "a new segment was made");
  cr_assert(tamc_data_ok(t.refs[0], 3, 720));
  tamc_close(&t);
}

/* Two points fill two segments; when both are destroyed, the pool's free
 * size is both segments' unused parts: all but the two objects. */
Test(amc, the_free_size_counts_every_segments_unused_part)
{
  tamc_s t;
  mps_ap_t ap2;
  tamc_open(&t, mps_class_amc(), true, 0);
  cr_assert_eq(mps_ap_create_k(&ap2, t.pool, mps_args_none), MPS_RES_OK);
  mps_arena_park(t.arena);
  tamc_new(t.ap, &t.refs[0], 0, 3, 730);
  tamc_new(ap2, &t.refs[1], 0, 5, 731);
  mps_ap_destroy(ap2);
  mps_ap_destroy(t.ap);
  cr_assert_eq(mps_pool_total_size(t.pool) - mps_pool_free_size(t.pool), 12 * W,
               "total %zu, free %zu", mps_pool_total_size(t.pool),
               mps_pool_free_size(t.pool));
  cr_assert_eq(mps_ap_create_k(&t.ap, t.pool, mps_args_none), MPS_RES_OK);
  tamc_close(&t);
}

/* A segment that was to-space is condemned at the next collection; there
 * an ambiguous reference keeps only its first object, and the rest, its
 * tail, becomes its free tail again.  The segment goes on working: later
 * collections keep the object and the pool can still be checked. */
Test(amc, a_former_to_space_segment_kept_by_one_object_goes_on_working)
{
  tamc_s t;
  objfmt_obj head;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  tamc_list(&t, &t.refs[0], 200, 3);
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);   /* the list, head first, in to-space */
  head = t.refs[0];
  head->slot[0] = 0;            /* the rest of the list is dead */
  t.ambig[0] = head;
  t.refs[0] = NULL;
  mps_arena_collect(t.arena);
  cr_assert(tamc_data_ok(head, 3, 199));
  cr_assert_eq(tamc_count(&t, 0).objects, 1);
  mps_arena_collect(t.arena);
  cr_assert(tamc_data_ok(head, 3, 199));
  cr_assert_eq(tamc_count(&t, 0).objects, 1);
  tamc_close(&t);
}

/* A generation's to-space segment that a later collection frees (all of
 * it dead, nothing copied into that generation then) is forgotten as
 * to-space: a segment of another pool, made afterwards perhaps in the
 * same control memory, never receives this pool's copies. */
Test(amc, a_freed_to_space_segment_receives_no_copies)
{
  tamc_s t;
  mps_gen_param_s gens[1] = {{100 * 1024, 0.5}};   /* never due here */
  mps_chain_t chain;
  mps_pool_t other, found;
  mps_ap_t ap;
  size_t k;
  tamc_open(&t, mps_class_amc(), true, 0);
  cr_assert_eq(mps_chain_create(&chain, t.arena, 1, gens), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, chain);
    cr_assert_eq(mps_pool_create_k(&other, t.arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  mps_arena_park(t.arena);
  tamc_new(t.ap, &t.refs[0], 0, 3, 740);
  tamc_flush_segment(&t);
  mps_arena_collect(t.arena);   /* copied into the second generation */
  t.refs[0] = NULL;
  mps_arena_collect(t.arena);   /* which is all dead, and freed */
  /* Segments of the other pool, one an object, with no point. */
  cr_assert_eq(mps_ap_create_k(&ap, other, mps_args_none), MPS_RES_OK);
  for (k = 0; k < 6; ++k)
    tamc_new(ap, &t.refs[8 + k], 0, 9000, 741);
  mps_ap_destroy(ap);
  tamc_new(t.ap, &t.refs[1], 0, 3, 742);
  tamc_allocate_until_a_collection(&t);   /* copies refs[1] to the second */
  cr_assert(tamc_data_ok(t.refs[1], 3, 742));
  cr_assert(mps_addr_pool(&found, t.arena, t.refs[1]));
  cr_assert_eq(found, t.pool, "a copy went to another pool's segment");
  for (k = 0; k < 6; ++k)
    cr_assert(tamc_data_ok(t.refs[8 + k], 9000, 741));
  mps_pool_destroy(other);
  mps_chain_destroy(chain);
  tamc_close(&t);
}

/* ---- Summaries of segments scanned more than once in a collection ---- */

/* A collection scans a segment again for what was copied into it, or
 * marked in it, after its last scan, and such a scan sees only that: the
 * segment's summary must still cover the references the earlier scans
 * saw.  A summary narrower than universal is kept only where the write
 * barrier guards it (barrier.h), once a few scans have found nothing
 * condemned, and only a later collection that condemns what the lost
 * references point at, without condemning the segment, misses them: a
 * collection of another chain.  So these tests have two chains, and an
 * arena of 64 MiB, whose address space holds every zone, the nursery's
 * among them (gc.c), so that nurseries and older generations are in
 * different zones, and scans of the one can find nothing condemned in
 * the other. */

/* A second pool of t's format and its point, whose chain has one
 * generation (its segments in the older generations' zones) or two (its
 * first in the nursery's), the first of 100 KiB: not due before the test
 * makes garbage in it. */
typedef struct tamc_other_s {
  mps_chain_t chain;
  mps_pool_t pool;
  mps_ap_t ap;
} tamc_other_s;

/* t's chain: a nursery of 64 KiB and a second generation of gen1_kib. */
static void tamc_open_zoned(tamc_s *t, size_t gen1_kib, tamc_other_s *o, size_t other_gens)
{
  mps_gen_param_s gens[2] = {{64, 0.5}, {0, 0.5}};
  mps_gen_param_s other[2] = {{100, 0.5}, {1000, 0.5}};
  gens[1].mps_capacity = gen1_kib;
  tamc_open_in(t, 64 << 20, 2, gens, mps_class_amc(), true, 0, tamc_scan);
  mps_arena_park(t->arena);
  cr_assert_eq(mps_chain_create(&o->chain, t->arena, other_gens, other), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, o->chain);
    cr_assert_eq(mps_pool_create_k(&o->pool, t->arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&o->ap, o->pool, mps_args_none), MPS_RES_OK);
  mps_message_type_enable(t->arena, mps_message_type_finalization());
}

static void tamc_close_zoned(tamc_s *t, tamc_other_s *o)
{
  mps_arena_park(t->arena);
  mps_ap_destroy(o->ap);
  mps_pool_destroy(o->pool);
  mps_chain_destroy(o->chain);
  tamc_close(t);
}

/* A collection of the due generations, after 200 KiB of garbage in
 * `pool` made its chain's nursery due. */
static void tamc_collect_due(tamc_s *t, mps_pool_t pool)
{
  cr_assert_eq(objfmt_garbage(pool, 200, 126), MPS_RES_OK);
  cr_assert(collections_run_due(t->arena), "no collection of the due generations ran");
}

/* An object made through a point of its own, which goes with it, so that
 * no buffer keeps its segment once it is collected. */
static void tamc_new_alone(mps_pool_t pool, mps_addr_t *slot, size_t nrefs, size_t ndata,
                           mps_word_t seed)
{
  mps_ap_t ap;
  cr_assert_eq(mps_ap_create_k(&ap, pool, mps_args_none), MPS_RES_OK);
  tamc_new(ap, slot, nrefs, ndata, seed);
  mps_ap_destroy(ap);
}

static bool tamc_same_seg(tamc_s *t, mps_addr_t p, mps_addr_t q)
{
  Seg a, b;
  return seg_of_addr(&a, (Arena)t->arena, p) && seg_of_addr(&b, (Arena)t->arena, q) && a == b;
}

/* The one finalization message a collection posted: its object. */
static mps_addr_t tamc_finalized(tamc_s *t)
{
  mps_message_t msg;
  mps_addr_t ref;
  cr_assert(mps_message_get(&msg, t->arena, mps_message_type_finalization()),
            "nothing was finalized");
  mps_message_finalization_ref(&ref, t->arena, msg);
  mps_message_discard(t->arena, msg);
  cr_assert_not(mps_message_poll(t->arena), "more than one message");
  return ref;
}

/* T, generation 1's to-space, holds a, whose reference is to x in the
 * other chain, in the older generations' zones: no nursery collection
 * finds it condemned, and after a few of them the barrier keeps T's
 * summary.  The last one copies b, which a root refers to, into T, and
 * so scans T from its base, then f, which only finalization keeps: in
 * the final band, after every exact scan, so that T is scanned again
 * from its Cheney mark.  That scan sees f alone, but a's reference is
 * still in T: a collection of the other chain scans T and fixes it. */
Test(amc, a_to_space_segment_scanned_again_still_covers_what_it_held)
{
  tamc_s t;
  tamc_other_s o;
  objfmt_obj a;
  mps_addr_t x;
  int k;
  tamc_open_zoned(&t, 256, &o, 1);
  tamc_new(o.ap, &t.refs[1], 0, 3, 770);   /* x */
  x = t.refs[1];
  tamc_new(t.ap, &t.refs[0], 1, 3, 771);   /* a */
  ((objfmt_obj)t.refs[0])->slot[0] = (mps_word_t)x;
  t.refs[1] = NULL;
  for (k = 0; k < 6; ++k)
    tamc_collect_due(&t, t.pool);
  a = t.refs[0];
  tamc_new(t.ap, &t.refs[1], 0, 3, 772);   /* b */
  tamc_new(t.ap, &t.refs[2], 0, 3, 773);   /* f */
  tamc_finalize(&t, t.refs[2]);
  t.refs[2] = NULL;
  tamc_collect_due(&t, t.pool);
  cr_assert_eq(t.refs[0], (mps_addr_t)a, "a moved, with the nursery");
  cr_assert(tamc_same_seg(&t, a, t.refs[1]), "b was not copied into a's segment");
  cr_assert(tamc_same_seg(&t, a, tamc_finalized(&t)), "f was not copied into a's segment");
  tamc_collect_due(&t, o.pool);
  cr_assert_eq(t.refs[0], (mps_addr_t)a, "a moved, with the other chain");
  cr_assert_neq((mps_addr_t)a->slot[0], x, "a's reference to x was not fixed");
  cr_assert(tamc_data_ok((objfmt_obj)a->slot[0], 3, 770));
  cr_assert(tamc_data_ok(a, 3, 771));
  tamc_close_zoned(&t, &o);
}

/* N, generation 1's to-space, holds p and q.  Nursery collections scan N
 * until the barrier guards it; the last of them promotes j, over
 * generation 1's capacity.  Then p is given a reference to x, in the
 * other chain's nursery, a store the barrier catches, so that one more
 * scan that finds nothing condemned lets it keep N's summary again.  The
 * next collection condemns both generations of this chain, and so N,
 * but nothing in the nurseries' zones: this chain's nursery has no
 * segment left, as its objects were made through points that are gone.
 * An ambiguous reference nails N at p, which N's first scan covers;
 * finalization then marks q, registered and otherwise unreachable, so
 * that N is scanned again, in the final band, for q alone.  p's
 * reference is still in N: a collection of the other chain scans N and
 * fixes it. */
Test(amc, a_nailed_segment_scanned_again_still_covers_what_it_kept)
{
  tamc_s t;
  tamc_other_s o;
  objfmt_obj p;
  mps_addr_t q, x;
  int k;
  tamc_open_zoned(&t, 16, &o, 2);
  mps_ap_destroy(t.ap);
  tamc_new_alone(t.pool, &t.refs[0], 1, 3, 780);   /* p */
  tamc_new_alone(t.pool, &t.refs[1], 0, 3, 781);   /* q */
  for (k = 0; k < 6; ++k)
    tamc_collect_due(&t, t.pool);
  tamc_new_alone(t.pool, &t.refs[2], 0, 3000, 782);   /* j, 24 KiB */
  tamc_collect_due(&t, t.pool);
  p = t.refs[0];
  q = t.refs[1];
  cr_assert(tamc_same_seg(&t, p, q), "p and q were not copied into one segment");
  tamc_new(o.ap, &t.refs[3], 0, 3, 783);   /* x */
  x = t.refs[3];
  p->slot[0] = (mps_word_t)x;
  t.ambig[0] = p;
  tamc_finalize(&t, q);
  memset(t.refs, 0, 4 * sizeof t.refs[0]);
  cr_assert(collections_run_due(t.arena), "generation 1 was not due");
  cr_assert_eq(tamc_finalized(&t), q, "q was not finalized in place");
  tamc_collect_due(&t, o.pool);
  cr_assert_neq((mps_addr_t)p->slot[0], x, "p's reference to x was not fixed");
  cr_assert(tamc_data_ok((objfmt_obj)p->slot[0], 3, 783));
  cr_assert(tamc_data_ok(p, 3, 780));
  cr_assert_eq(mps_ap_create_k(&t.ap, t.pool, mps_args_none), MPS_RES_OK);
  tamc_close_zoned(&t, &o);
}

/* seg.h, incremental: the mutator allocates black, never into a segment
 * the collection in progress has condemned.  The point's segment is
 * condemned while the point fills it; the object the point makes while
 * the collection goes on (the arena clamped, so that it does: no gc
 * message yet) is outside it, and survives. */
Test(amc, a_point_allocates_outside_the_condemned_segments_during_a_collection,
     TEST_NEEDS_INCREMENTS)
{
  tamc_s t;
  mps_message_t msg;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  mps_message_type_enable(t.arena, mps_message_type_gc());
  tamc_list(&t, &t.refs[0], 50, 2);
  cr_assert_eq(mps_arena_start_collect(t.arena), MPS_RES_OK);
  mps_arena_clamp(t.arena);
  cr_assert_not(mps_message_get(&msg, t.arena, mps_message_type_gc()),
                "the collection did not go on");
  tamc_new(t.ap, &t.refs[1], 1, 2, 750);
  ((objfmt_obj)t.refs[1])->slot[0] = (mps_word_t)t.refs[0];
  mps_arena_park(t.arena);
  cr_assert(mps_message_get(&msg, t.arena, mps_message_type_gc()));
  mps_message_discard(t.arena, msg);
  cr_assert(tamc_data_ok(t.refs[1], 2, 750));
  cr_assert_eq((mps_addr_t)((objfmt_obj)t.refs[1])->slot[0], t.refs[0]);
  tamc_list_check(t.refs[0], 50, 2);
  cr_assert_eq(tamc_count(&t, 750).tagged, 1);
  tamc_close(&t);
}

/* A zero MPS_KEY_EXTEND_BY is a client error: reported in a checking
 * variety, and refused with MPS_RES_PARAM in every variety. */
Test(amc, a_zero_extend_by_is_refused)
{
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_res_t res;
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(objfmt_create(&fmt, arena, tamc_scan, true), MPS_RES_OK);
  reports_install();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, 0);
    res = mps_pool_create_k(&pool, arena, mps_class_amc(), args);
  } MPS_ARGS_END(args);
  reports_install_abort();
  cr_assert_eq(res, MPS_RES_PARAM);
  TEST_ASSERT_REPORTED(reports_seen());
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);
}

/* A collection whose n-th request for memory is refused (arena_fail_after,
 * as when the system has no more), for each n in turn: whether what fails
 * is a to-space segment or a nailboard (the first, second or third of a
 * segment's), the collection keeps every object, and the pinned ones
 * where they are.  Segment S holds a and b, both ambiguously referenced
 * (the second fix meets S nailed), and c, exactly referenced; a refers
 * to e, in U with d, which a root refers to. */
static bool tamc_collect_refusing(Count n)
{
  tamc_s t;
  objfmt_obj a, b;
  bool finished;
  int pass;
  mps_word_t collections;
  tamc_open(&t, mps_class_amc(), true, 0);
  mps_arena_park(t.arena);
  tamc_new(t.ap, &t.ambig[0], 1, 3, 760);   /* a */
  tamc_new(t.ap, &t.ambig[1], 0, 3, 761);   /* b */
  tamc_new(t.ap, &t.refs[0], 0, 3, 762);    /* c */
  tamc_flush_segment(&t);
  tamc_new(t.ap, &t.refs[1], 0, 3, 763);    /* d */
  tamc_new(t.ap, &t.refs[2], 0, 3, 764);    /* e */
  tamc_flush_segment(&t);
  a = t.ambig[0];
  b = t.ambig[1];
  a->slot[0] = (mps_word_t)t.refs[2];
  t.refs[2] = NULL;
  collections = collections_done(t.arena);
  arena_fail_after((Arena)t.arena, n);
  /* Whatever is refused, the collection runs (it needs no memory to
   * start: trace.c) and pins what it cannot copy. */
  cr_assert_eq(mps_arena_collect(t.arena), MPS_RES_OK, "request %lu", (unsigned long)n);
  finished = ((Arena)t.arena)->fail_countdown != 0;
  arena_fail_after((Arena)t.arena, 0);
  cr_assert_eq(collections_done(t.arena), collections + 1, "request %lu", (unsigned long)n);
  for (pass = 0; pass < 2; ++pass) {
    cr_assert_eq(t.ambig[0], (mps_addr_t)a);
    cr_assert(tamc_data_ok(a, 3, 760), "a damaged (request %lu refused)", (unsigned long)n);
    cr_assert(tamc_data_ok(b, 3, 761), "b damaged (request %lu refused)", (unsigned long)n);
    cr_assert(tamc_data_ok(t.refs[0], 3, 762), "c lost (request %lu refused)", (unsigned long)n);
    cr_assert(tamc_data_ok(t.refs[1], 3, 763), "d lost (request %lu refused)", (unsigned long)n);
    cr_assert(tamc_data_ok((objfmt_obj)a->slot[0], 3, 764), "e lost (request %lu refused)",
              (unsigned long)n);
    cr_assert_eq(mps_arena_collect(t.arena), MPS_RES_OK);   /* with memory again */
  }
  tamc_close(&t);
  return finished;
}

Test(amc, a_collection_refused_any_one_request_for_memory_keeps_everything)
{
  Count n;
  for (n = 1; n < 1000; ++n)
    if (tamc_collect_refusing(n))
      return;
  cr_assert_fail("the collection made more than 1000 requests");
}
