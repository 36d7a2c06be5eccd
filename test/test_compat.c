/* Clients written to the original MPS's headers rather than to the manual.
 * Where the two differ and one declaration can serve both, include/ takes
 * it (docs/user-guide.md, "Clients written to the original's headers"): so each
 * form the original's header allows beyond the manual is used here, the
 * way its own example clients use it, and must compile and behave.  What
 * the manual documents is test_interface's. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscmvff.h"
#include "../include/mpslib.h"
#include "support/objfmt.h"

/* The scan of the test's root: the reference its closure points at,
 * fixed in the if's branch.  The else needs MPS_SCAN_BEGIN ...
 * MPS_SCAN_END(ss); to be one statement. */
static unsigned long compat_scans;

static mps_res_t compat_root_scan(mps_ss_t ss, void *p, size_t s)
{
  mps_res_t res = MPS_RES_OK;
  (void)s;
  if (p != NULL)
    MPS_SCAN_BEGIN(ss) {
      ++compat_scans;
      res = MPS_FIX12(ss, (mps_addr_t *)p);
    } MPS_SCAN_END(ss);
  else
    res = MPS_RES_PARAM;
  return res;
}

typedef struct compat_s {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_ap_t ap;
} compat_s;

static void compat_open(compat_s *t)
{
  cr_assert_eq(mps_arena_create_k(&t->arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(objfmt_create(&t->fmt, t->arena, objfmt_scan, true), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, t->fmt);
    /* The original's key for AMC's large objects: accepted. */
    MPS_ARGS_ADD(args, MPS_KEY_LARGE_SIZE, (size_t)8192);
    cr_assert_eq(mps_pool_create_k(&t->pool, t->arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&t->ap, t->pool, mps_args_none), MPS_RES_OK);
}

static void compat_close(compat_s *t)
{
  mps_ap_destroy(t->ap);
  mps_pool_destroy(t->pool);
  mps_fmt_destroy(t->fmt);
  mps_arena_destroy(t->arena);
}

static mps_addr_t compat_new(compat_s *t, mps_word_t id)
{
  mps_addr_t p;
  size_t size = 4 * sizeof(mps_word_t);
  do {
    cr_assert_eq(mps_reserve(&p, t->ap, size), MPS_RES_OK);
    objfmt_init_id(p, 0, 2, id);
  } while (!mps_commit(t->ap, p, size));
  return p;
}

Test(compat, collect_returns_a_result)
{
  compat_s t;
  mps_res_t res;
  compat_open(&t);
  res = mps_arena_collect(t.arena);
  cr_assert_eq(res, MPS_RES_OK);
  compat_close(&t);
}

Test(compat, scan_begin_and_end_make_one_statement)
{
  compat_s t;
  mps_root_t root;
  mps_addr_t ref, old;
  compat_open(&t);
  ref = old = compat_new(&t, 41);
  compat_scans = 0;
  cr_assert_eq(mps_root_create(&root, t.arena, mps_rank_exact(), 0, compat_root_scan, &ref, 0),
               MPS_RES_OK);
  mps_arena_park(t.arena);
  cr_assert_eq(mps_arena_collect(t.arena), MPS_RES_OK);
  cr_assert_gt(compat_scans, 0, "the root was not scanned");
  /* The only reference is exact: AMC moves the object, and the fix in
   * the scan block updated the root. */
  cr_assert_neq(ref, old, "the object did not move");
  cr_assert(objfmt_is_id(ref, 0, 2, 41), "the object was lost");
  mps_root_destroy(root);
  compat_close(&t);
}

Test(compat, message_types_are_constant_expressions)
{
  compat_s t;
  mps_message_type_t type;
  mps_message_t message;
  int gcs = 0, starts = 0;
  /* What the functions return, and what the macros give. */
  cr_assert_eq((mps_message_type_gc)(), mps_message_type_gc());
  cr_assert_eq((mps_message_type_gc_start)(), mps_message_type_gc_start());
  cr_assert_eq((mps_message_type_finalization)(), mps_message_type_finalization());
  compat_open(&t);
  mps_message_type_enable(t.arena, mps_message_type_gc());
  mps_message_type_enable(t.arena, mps_message_type_gc_start());
  (void)compat_new(&t, 1);
  cr_assert_eq(mps_arena_collect(t.arena), MPS_RES_OK);
  while (mps_message_queue_type(&type, t.arena)) {
    cr_assert(mps_message_get(&message, t.arena, type));
    switch (type) {
    case mps_message_type_gc():
      ++gcs;
      break;
    case mps_message_type_gc_start():
      ++starts;
      break;
    default:
      cr_assert_fail("a message of type %u", type);
    }
    mps_message_discard(t.arena, message);
  }
  cr_assert_eq(gcs, 1);
  cr_assert_eq(starts, 1);
  compat_close(&t);
}

static unsigned long compat_extended_calls;

static void compat_extended(mps_arena_t arena, void *base, size_t size)
{
  (void)arena;
  cr_assert(base != NULL && size > 0);
  ++compat_extended_calls;
}

Test(compat, the_original_s_arena_keys_and_types)
{
  mps_arena_t arena;
  mps_arena_extended_t extended = compat_extended;
  compat_extended_calls = 0;
  MPS_ARGS_BEGIN(args) {
    /* Accepted, and changes nothing. */
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_ZONED, 0);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_EXTENDED, (mps_fun_t)extended);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(compat_extended_calls, 1, "the callback is called for the first chunk");
  mps_arena_destroy(arena);
}

Test(compat, the_original_s_names_for_caches)
{
  mps_arena_t arena;
  mps_pool_t pool;
  mps_sac_t sac;
  mps_sac_classes_s classes[2] = {{32, 8, 1}, {128, 4, 1}};
  mps_addr_t p;
  mps_res_t res;
  /* A size_t, as the original's header has it, for %zu and comparisons
   * with sizes. */
  cr_assert_eq(sizeof MPS_SAC_CLASS_LIMIT, sizeof(size_t));
  cr_assert_eq(MPS_SAC_CLASS_LIMIT, (size_t)8);
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_sac_create(&sac, pool, 2, classes), MPS_RES_OK);
  MPS_SAC_ALLOC(res, p, sac, 24, 0);
  cr_assert_eq(res, MPS_RES_OK);
  memset(p, 0xA5, 24);
  MPS_SAC_FREE(sac, p, 24);
  mps_sac_destroy(sac);
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
}

Test(compat, the_original_s_plinth_expressions_and_block_macros)
{
  int n = 0;
  mps_arg_s arg;
  cr_assert_eq(mps_lib_EOF, mps_lib_get_EOF());
  cr_assert_eq(mps_lib_stderr, mps_lib_get_stderr());
  cr_assert_eq(mps_lib_stdout, mps_lib_get_stdout());
  if (n == 0)
    MPS_BEGIN ++n; MPS_END;
  else
    n = -1;
  cr_assert_eq(n, 1);
  /* Two members of the argument union that the original's has. */
  arg.val.f = 0.5f;
  cr_assert_eq(arg.val.f, 0.5f);
  arg.val.pool = NULL;
  cr_assert_null(arg.val.pool);
}

/* _mps_RES_ENUM lists every result code, in order, as the original's
 * test library uses it: a row macro given an argument and each name. */
#define COMPAT_RES_NAME(X, ident, doc) { #ident, MPS_RES_##ident, doc },
static const struct {
  const char *name;
  mps_res_t res;
  const char *doc;
} compat_res[] = {_mps_RES_ENUM(COMPAT_RES_NAME, unused)};

Test(compat, the_result_enumeration_lists_every_code_in_order)
{
  size_t i, n = sizeof compat_res / sizeof compat_res[0];
  cr_assert_eq(n, 9);
  for (i = 0; i < n; ++i) {
    cr_assert_eq(compat_res[i].res, (mps_res_t)i, "%s", compat_res[i].name);
    cr_assert_gt(strlen(compat_res[i].doc), 0);
  }
  cr_assert_str_eq(compat_res[MPS_RES_COMMIT_LIMIT].name, "COMMIT_LIMIT");
  cr_assert_str_eq(compat_res[MPS_RES_PARAM].name, "PARAM");
}
