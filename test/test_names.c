/* test_names.c: a client may name its own functions as it likes.
 *
 * The library's modules name their external functions ring_init, vm_map,
 * lock_claim and so on; src/base/names.h maps each to mps_i_<name> (see
 * there, and ci/names, which checks every name the library defines).
 * This client defines functions of the short names, as any program might,
 * and then uses the arena, a manual pool and a collected one.  Were any
 * of the names still the library's, this program would fail to link
 * against the static library (a duplicate definition), and against the
 * shared one (build.zig runs this test linked both ways) the library's
 * own calls would reach these functions, which count the calls and
 * return nonsense.
 *
 * Only public headers are included: a library header would bring
 * names.h, which would rename these definitions too. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stddef.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscmvff.h"
#include "support/objfmt.h"

static unsigned long tnames_calls;

/* The client's own functions, with signatures of its own.  Each name is
 * one a module of the library uses internally, on the paths run below. */
#define TNAMES_CLIENT_FUNCTION(name) \
  int name(int x); \
  int name(int x) { ++tnames_calls; return x + 1; }
TNAMES_CLIENT_FUNCTION(arena_alloc)
TNAMES_CLIENT_FUNCTION(arena_free)
TNAMES_CLIENT_FUNCTION(arena_init)
TNAMES_CLIENT_FUNCTION(buffer_check)
TNAMES_CLIENT_FUNCTION(check_fail)
TNAMES_CLIENT_FUNCTION(chunk_init)
TNAMES_CLIENT_FUNCTION(event_emit)
TNAMES_CLIENT_FUNCTION(land_insert)
TNAMES_CLIENT_FUNCTION(lock_claim)
TNAMES_CLIENT_FUNCTION(lock_init)
TNAMES_CLIENT_FUNCTION(lock_release)
TNAMES_CLIENT_FUNCTION(message_post)
TNAMES_CLIENT_FUNCTION(pool_alloc)
TNAMES_CLIENT_FUNCTION(pool_create)
TNAMES_CLIENT_FUNCTION(pool_free)
TNAMES_CLIENT_FUNCTION(ring_append)
TNAMES_CLIENT_FUNCTION(ring_init)
TNAMES_CLIENT_FUNCTION(seg_alloc)
TNAMES_CLIENT_FUNCTION(splay_tree_insert)
TNAMES_CLIENT_FUNCTION(thread_register)
TNAMES_CLIENT_FUNCTION(trace_fix)
TNAMES_CLIENT_FUNCTION(trace_poll)
TNAMES_CLIENT_FUNCTION(vm_init)
TNAMES_CLIENT_FUNCTION(vm_map)

enum { TNAMES_CELLS = 2000 };

Test(names, a_client_function_named_like_an_internal_one_is_left_alone)
{
  mps_arena_t arena;
  mps_pool_t mvff, amc;
  mps_fmt_t fmt;
  mps_ap_t ap;
  mps_thr_t thr;
  mps_root_t root;
  mps_message_t message;
  mps_addr_t blocks[64];
  mps_addr_t list[1] = {NULL};
  objfmt_obj cell;
  size_t i, n;

  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);

  /* A manual pool: allocation, free and the free land. */
  cr_assert_eq(mps_pool_create_k(&mvff, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  for (i = 0; i < 64; ++i)
    cr_assert_eq(mps_alloc(&blocks[i], mvff, 16 + 64 * i), MPS_RES_OK);
  for (i = 0; i < 64; i += 2)
    mps_free(mvff, blocks[i], 16 + 64 * i);
  for (i = 1; i < 64; i += 2)
    mps_free(mvff, blocks[i], 16 + 64 * i);
  mps_pool_destroy(mvff);

  /* A collected pool: a list of cells, each holding the one allocated
   * before it, reachable from a root; collected with the list moving. */
  cr_assert_eq(objfmt_create(&fmt, arena, objfmt_scan, true), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, fmt);
    cr_assert_eq(mps_pool_create_k(&amc, arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&ap, amc, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_thread_reg(&thr, arena), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, list, 1), MPS_RES_OK);
  mps_message_type_enable(arena, mps_message_type_gc());
  for (i = 0; i < TNAMES_CELLS; ++i) {
    mps_addr_t p;
    do {
      cr_assert_eq(mps_reserve(&p, ap, 4 * sizeof(mps_word_t)), MPS_RES_OK);
      cell = p;
      cell->header = OBJFMT_HDR(4, OBJFMT_T_OBJ);
      cell->nrefs = 1;
      cell->slot[0] = (mps_word_t)list[0];
      cell->slot[1] = i;
    } while (!mps_commit(ap, p, 4 * sizeof(mps_word_t)));
    list[0] = p;
  }
  mps_arena_collect(arena);
  cr_assert(mps_message_get(&message, arena, mps_message_type_gc()),
            "the collection posted no message");
  mps_message_discard(arena, message);
  mps_arena_release(arena);

  n = 0;
  for (cell = list[0]; cell != NULL; cell = (objfmt_obj)cell->slot[0]) {
    cr_assert_eq(OBJFMT_TYPE(cell->header), OBJFMT_T_OBJ);
    cr_assert_eq(cell->slot[1], TNAMES_CELLS - 1 - n);
    ++n;
  }
  cr_assert_eq(n, TNAMES_CELLS);

  mps_root_destroy(root);
  mps_thread_dereg(thr);
  mps_ap_destroy(ap);
  mps_pool_destroy(amc);
  mps_fmt_destroy(fmt);
  mps_arena_destroy(arena);

  cr_assert_eq(tnames_calls, 0, "the library called %lu client functions", tnames_calls);
}
