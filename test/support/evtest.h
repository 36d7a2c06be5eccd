/* evtest.h: what the telemetry tests (test_event, test_eventcnv) share: a
 * fresh file for the stream, and the heap they collect, an AMC pool of
 * gcobj objects (stress/support/gcobj.c, which this includes, so a test
 * including this must not include it too) behind an exact root table of
 * the test's `kept`.  Header only, every function static inline; it
 * asserts with Criterion.
 */
#ifndef evtest_h
#define evtest_h

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../include/mps.h"
#include "../../include/mpsavm.h"
#include "../../include/mpscamc.h"
#include "../../stress/support/gcobj.c"

#define EVTEST_PATH_MAX 64

/* An empty file of our own in /tmp, its name into `path`. */
static inline void evtest_temp(char path[EVTEST_PATH_MAX])
{
  int fd;
  strcpy(path, "/tmp/mps11-test-event-XXXXXX");
  fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
}

/* A fresh file for the stream, named before anything can open it. */
static inline void evtest_stream_setup(char path[EVTEST_PATH_MAX])
{
  evtest_temp(path);
  cr_assert_eq(setenv("MPS_TELEMETRY_FILENAME", path, 1), 0);
}

typedef struct evtest_heap_s {
  mps_arena_t arena;
  mps_chain_t chain;
  mps_fmt_t fmt;
  mps_pool_t pool;
  mps_ap_t ap;
  mps_root_t root;
} evtest_heap_s;

static inline void evtest_heap_open(evtest_heap_s *h, mps_addr_t *kept, size_t nkept)
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
static inline void evtest_heap_close(evtest_heap_s *h)
{
  mps_root_destroy(h->root);
  mps_ap_destroy(h->ap);
  mps_pool_destroy(h->pool);
  mps_fmt_destroy(h->fmt);
  mps_chain_destroy(h->chain);
  mps_arena_destroy(h->arena);
}

#endif /* evtest_h */
