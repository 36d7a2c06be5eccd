/* eventheap.h: the heap the telemetry tests collect (test_event,
 * test_eventcnv): an AMC pool of gcobj objects (stress/support/gcobj.c,
 * which this includes, so a test including this must not include it too)
 * behind an exact root table of the test's `kept`.  Header only, every
 * function static inline; it asserts with Criterion.
 */
#ifndef eventheap_h
#define eventheap_h

#include <criterion/criterion.h>

#include "../../include/mps.h"
#include "../../include/mpsavm.h"
#include "../../include/mpscamc.h"
#include "../../stress/support/gcobj.c"

typedef struct eventheap_s {
  mps_arena_t arena;
  mps_chain_t chain;
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_root_t root;
} eventheap_s;

static inline void eventheap_open(eventheap_s *h, mps_addr_t *kept, size_t nkept)
{
  mps_gen_param_s gens[1] = {{1024, 0.5}};
  cr_assert_eq(mps_arena_create_k(&h->arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&h->chain, h->arena, 1, gens), MPS_RES_OK);
  cr_assert_eq(gcobj_fmt_create(&h->fmt, h->arena), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, h->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, h->chain);
    cr_assert_eq(mps_pool_create_k(&h->pool, h->arena, mps_class_amc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&h->ap, h->pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&h->root, h->arena, mps_rank_exact(), 0, kept, nkept),
               MPS_RES_OK);
}

/* Destroying the arena flushes the stream (telemetry.rst). */
static inline void eventheap_close(eventheap_s *h)
{
  mps_root_destroy(h->root);
  mps_ap_destroy(h->ap);
  mps_pool_destroy(h->pool);
  mps_fmt_destroy(h->fmt);
  mps_chain_destroy(h->chain);
  mps_arena_destroy(h->arena);
}

#endif /* eventheap_h */
