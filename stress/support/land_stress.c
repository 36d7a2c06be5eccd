/* land_stress.c: the shared land stress harness (see land_stress.h). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../src/data/range.h"
#include "land_stress.h"
#include "testlib.h"
#include "testthr.h"

static const land_stress_spec_s *stress_spec;

/* Node memory (land_stress.h).  Touched only under the harness lock. */
static bool stress_nodes_failing;
static long stress_nodes_count;

static void *stress_node_alloc(void *closure, size_t size)
{
  void *p;
  (void)closure;
  if (stress_nodes_failing)
    return NULL;
  p = malloc(size);
  TESTLIB_REQUIRE(p != NULL);
  ++stress_nodes_count;
  return p;
}

static void stress_node_free(void *closure, void *p, size_t size)
{
  (void)closure;
  (void)size;
  --stress_nodes_count;
  free(p);
}

cbs_node_alloc_s land_stress_nodes(void)
{
  cbs_node_alloc_s alloc = {stress_node_alloc, stress_node_free, NULL};
  return alloc;
}

void land_stress_nodes_fail(bool fail)
{
  stress_nodes_failing = fail;
}

long land_stress_nodes_live(void)
{
  return stress_nodes_count;
}
static Land stress_land;

#define STRESS_THREADS 4
#define STRESS_ALIGN ((Size)16)
#define STRESS_SLICE_UNITS 1024                    /* units per thread */
#define STRESS_UNITS (STRESS_THREADS * STRESS_SLICE_UNITS)
#define STRESS_OPS 60000                           /* per thread */
#define STRESS_CHECK_EVERY 500                     /* full comparisons */
#define STRESS_HELD_MAX 48                         /* ranges a thread holds */

/* The lock around the land and its model (testthr.h says its orders). */
static testthr_spin_s stress_lock_flag = TESTTHR_SPIN_INIT;

/* Lock, and make node allocation fail inside if `fail`.  The flag is
 * read only by the land, under the lock, so it needs no atomics. */
static void stress_enter(bool fail)
{
  testthr_spin_lock(&stress_lock_flag);
  stress_spec->set_fail(fail);
}

static void stress_leave(void)
{
  stress_spec->set_fail(false);
  testthr_spin_unlock(&stress_lock_flag);
}

/* Everything below the lock line is shared and touched only under the
 * lock: the land, the model of it (one flag per unit) and the total. */
static Byte *stress_memory;
static unsigned char stress_present[STRESS_UNITS];
static size_t stress_total;

static Addr stress_addr(size_t unit)
{
  return addr_add(addr_of_ptr(stress_memory), unit * STRESS_ALIGN);
}

static size_t stress_unit(Addr addr)
{
  Size offset = addr_offset(addr_of_ptr(stress_memory), addr);
  TESTLIB_REQUIRE(offset % STRESS_ALIGN == 0);
  return offset / STRESS_ALIGN;
}

static void stress_set(size_t base, size_t limit, bool present)
{
  size_t i;
  for (i = base; i < limit; ++i) {
    TESTLIB_REQUIRE(stress_present[i] != present);
    stress_present[i] = present;
  }
  if (present)
    stress_total += limit - base;
  else
    stress_total -= limit - base;
}

/* The maximal run of present units around `unit`. */
static void stress_run(size_t unit, size_t *base, size_t *limit)
{
  size_t b = unit, l = unit;
  while (b > 0 && stress_present[b - 1])
    --b;
  while (l < STRESS_UNITS && stress_present[l])
    ++l;
  *base = b;
  *limit = l;
}

static void stress_require_range(Range range, size_t base, size_t limit)
{
  TESTLIB_REQUIRE(range_base(range) == stress_addr(base));
  TESTLIB_REQUIRE(range_limit(range) == stress_addr(limit));
}

typedef struct stress_walk_s {
  size_t next;
  size_t ranges;
} stress_walk_s;

static bool stress_walk_visit(Land land, Range range, void *closure)
{
  stress_walk_s *w = closure;
  size_t unit = stress_unit(range_base(range)), base, limit;
  (void)land;
  while (w->next < STRESS_UNITS && !stress_present[w->next])
    ++w->next;
  TESTLIB_REQUIRE(unit == w->next);
  stress_run(unit, &base, &limit);
  TESTLIB_REQUIRE(base == unit);
  stress_require_range(range, base, limit);
  w->next = limit;
  ++w->ranges;
  return true;
}

/* Under the lock: the land is consistent and holds exactly the model. */
static void stress_compare(void)
{
  stress_walk_s w = {0, 0};
  size_t i, runs = 0;
  TESTLIB_REQUIRE(land_check(stress_land));
  TESTLIB_REQUIRE(stress_spec->deep_check());
  TESTLIB_REQUIRE(land_size(stress_land) == stress_total * STRESS_ALIGN);
  TESTLIB_REQUIRE(land_iterate(stress_land, stress_walk_visit, &w));
  for (i = 0; i < STRESS_UNITS; ++i)
    if (stress_present[i] && (i == 0 || !stress_present[i - 1]))
      ++runs;
  TESTLIB_REQUIRE(w.ranges == runs);
}

/* A thread's own state: the ranges (in units) it has taken out of the
 * land or not yet put in.  Every unit is either in the land or held by
 * exactly one thread, so inserts can never overlap. */
typedef struct stress_thread_s {
  testthr_s thr;
  testlib_rng_s rng;
  size_t held[STRESS_HELD_MAX][2];
  size_t nheld;
  unsigned long inserts, deletes, finds, found, refused;
} stress_thread_s;

static stress_thread_s stress_threads[STRESS_THREADS];

static void stress_hold(stress_thread_s *t, size_t base, size_t limit)
{
  if (base == limit)
    return;
  TESTLIB_REQUIRE(t->nheld < STRESS_HELD_MAX);
  t->held[t->nheld][0] = base;
  t->held[t->nheld][1] = limit;
  ++t->nheld;
}

static void stress_unhold(stress_thread_s *t, size_t i)
{
  t->held[i][0] = t->held[t->nheld - 1][0];
  t->held[i][1] = t->held[t->nheld - 1][1];
  --t->nheld;
}

/* Return part of a held range to the land, like freeing a block. */
static void stress_insert(stress_thread_s *t, bool fail)
{
  size_t i, hb, hl, base, limit, span, jb, jl;
  range_s range, joined;
  bool needs_node;
  Res res;
  if (t->nheld == 0)
    return;
  i = (size_t)testlib_rng_below(&t->rng, t->nheld);
  hb = t->held[i][0];
  hl = t->held[i][1];
  span = hl - hb;
  /* Room for two remainders?  Otherwise free it all. */
  if (t->nheld + 1 < STRESS_HELD_MAX && span > 1) {
    base = hb + (size_t)testlib_rng_below(&t->rng, span);
    limit = base + 1 + (size_t)testlib_rng_below(&t->rng, hl - base);
  } else {
    base = hb;
    limit = hl;
  }
  range_init(&range, stress_addr(base), stress_addr(limit));
  stress_enter(fail);
  needs_node = !(base > 0 && stress_present[base - 1])
               && !(limit < STRESS_UNITS && stress_present[limit]);
  res = land_insert(&joined, stress_land, &range);
  if (fail && needs_node && stress_spec->reports_memory) {
    TESTLIB_REQUIRE(res == MPS_RES_MEMORY);
    stress_leave();
    ++t->refused;
    return;
  }
  TESTLIB_REQUIRE(res == MPS_RES_OK);
  stress_set(base, limit, true);
  stress_run(base, &jb, &jl);
  stress_require_range(&joined, jb, jl);
  stress_leave();
  stress_unhold(t, i);
  stress_hold(t, hb, base);
  stress_hold(t, limit, hl);
  ++t->inserts;
}

/* Take a present range starting in this thread's slice out of the land,
 * like allocating at a chosen address. */
static void stress_delete(stress_thread_s *t, size_t slice, bool fail)
{
  size_t unit = slice * STRESS_SLICE_UNITS
                + (size_t)testlib_rng_below(&t->rng, STRESS_SLICE_UNITS);
  size_t rb, rl, limit;
  range_s range, old;
  bool needs_node;
  Res res;
  if (t->nheld + 1 >= STRESS_HELD_MAX)
    return;
  stress_enter(fail);
  /* The first present unit at or after the chosen one in the slice. */
  while (unit < (slice + 1) * STRESS_SLICE_UNITS && !stress_present[unit])
    ++unit;
  if (unit == (slice + 1) * STRESS_SLICE_UNITS) {
    stress_leave();
    return;
  }
  stress_run(unit, &rb, &rl);
  limit = unit + 1 + (size_t)testlib_rng_below(&t->rng, size_min(rl - unit, 64));
  range_init(&range, stress_addr(unit), stress_addr(limit));
  needs_node = unit != rb && limit != rl;
  res = land_delete(&old, stress_land, &range);
  stress_require_range(&old, rb, rl);
  if (fail && needs_node && stress_spec->reports_memory) {
    TESTLIB_REQUIRE(res == MPS_RES_MEMORY);
    stress_leave();
    ++t->refused;
    return;
  }
  TESTLIB_REQUIRE(res == MPS_RES_OK);
  stress_set(unit, limit, false);
  stress_leave();
  stress_hold(t, unit, limit);
  ++t->deletes;
}

/* Under the lock: the model's best fit for `want` units, the smallest
 * run of at least that many, the lowest of equals; false if none. */
static bool stress_best(size_t want, size_t *base_return,
                        size_t *limit_return)
{
  size_t i = 0, b, l;
  bool any = false;
  while (i < STRESS_UNITS) {
    if (!stress_present[i]) {
      ++i;
      continue;
    }
    stress_run(i, &b, &l);
    /* Runs come in address order, so only a strictly smaller one may
     * displace the lowest of equals. */
    if (l - b >= want && (!any || l - b < *limit_return - *base_return)) {
      *base_return = b;
      *limit_return = l;
      any = true;
    }
    i = l;
  }
  return any;
}

/* Allocate a block by search, as a pool would. */
static void stress_find(stress_thread_s *t, bool fail)
{
  unsigned how = (unsigned)testlib_rng_below(&t->rng, 4);
  LandFindDelete fd = (LandFindDelete)(1 + testlib_rng_below(&t->rng, 3));
  size_t want = 1 + (size_t)testlib_rng_below(&t->rng, 24);
  size_t ob, ol, b, l, best_base = 0, best_limit = 0;
  range_s got, old;
  bool found, best_any = false;
  if (t->nheld >= STRESS_HELD_MAX)
    return;
  stress_enter(fail);
  if (how == 0)
    found = land_find_first(&got, &old, stress_land, want * STRESS_ALIGN, fd);
  else if (how == 1)
    found = land_find_last(&got, &old, stress_land, want * STRESS_ALIGN, fd);
  else if (how == 2)
    found = land_find_largest(&got, &old, stress_land, want * STRESS_ALIGN, fd);
  else {
    best_any = stress_best(want, &best_base, &best_limit);
    found = land_find_best(&got, &old, stress_land, want * STRESS_ALIGN, fd);
    TESTLIB_REQUIRE(found == best_any);
  }
  if (found) {
    ob = stress_unit(range_base(&old));
    ol = stress_unit(range_limit(&old));
    stress_run(ob, &b, &l);
    TESTLIB_REQUIRE(b == ob && l == ol && ol - ob >= want);
    TESTLIB_REQUIRE(how != 3 || (ob == best_base && ol == best_limit));
    b = stress_unit(range_base(&got));
    l = stress_unit(range_limit(&got));
    TESTLIB_REQUIRE(ob <= b && l <= ol);
    TESTLIB_REQUIRE(how == 2 || fd == LAND_FIND_DELETE_ENTIRE
                    ? (b == ob && l == ol) : l - b == want);
    stress_set(b, l, false);
  }
  stress_leave();
  if (found) {
    stress_hold(t, b, l);
    ++t->found;
  }
  ++t->finds;
}

static void *stress_worker(void *arg)
{
  stress_thread_s *t = arg;
  size_t slice = (size_t)(t - stress_threads);
  unsigned long op;
  for (op = 0; op < STRESS_OPS; ++op) {
    unsigned r = (unsigned)testlib_rng_below(&t->rng, 100);
    bool fail = stress_spec->can_fail && testlib_rng_below(&t->rng, 8) == 0;
    if (r < 40)
      stress_insert(t, fail);
    else if (r < 70)
      stress_delete(t, slice, fail);
    else
      stress_find(t, fail);
    if (op % STRESS_CHECK_EVERY == 0) {
      testthr_spin_lock(&stress_lock_flag);
      stress_compare();
      testthr_spin_unlock(&stress_lock_flag);
    }
  }
  return NULL;
}

int land_stress_main(int argc, char **argv, const land_stress_spec_s *spec)
{
  uint64_t seed = testlib_seed(argc, argv, spec->name);
  unsigned long inserts = 0, deletes = 0, finds = 0, found = 0, refused = 0;
  size_t i;
  stress_spec = spec;
  stress_memory = malloc(STRESS_UNITS * STRESS_ALIGN + STRESS_ALIGN);
  TESTLIB_REQUIRE(stress_memory != NULL);
  /* malloc aligns to at least 16 on the supported platforms; make sure. */
  TESTLIB_REQUIRE(addr_is_aligned(addr_of_ptr(stress_memory), STRESS_ALIGN));
  stress_land = stress_spec->init(STRESS_ALIGN);
  for (i = 0; i < STRESS_THREADS; ++i) {
    stress_thread_s *t = &stress_threads[i];
    testlib_rng_init(&t->rng, seed + 0x9E3779B97F4A7C15u * (i + 1));
    t->nheld = 0;
    /* Each thread starts holding its own slice. */
    stress_hold(t, i * STRESS_SLICE_UNITS, (i + 1) * STRESS_SLICE_UNITS);
  }
  for (i = 0; i < STRESS_THREADS; ++i)
    testthr_create(&stress_threads[i].thr, stress_worker, &stress_threads[i]);
  for (i = 0; i < STRESS_THREADS; ++i) {
    stress_thread_s *t = &stress_threads[i];
    testthr_join(&t->thr);
    inserts += t->inserts;
    deletes += t->deletes;
    finds += t->finds;
    found += t->found;
    refused += t->refused;
  }
  stress_compare();
  /* Return everything: the land must end up as one range, all of it. */
  for (i = 0; i < STRESS_THREADS; ++i) {
    stress_thread_s *t = &stress_threads[i];
    while (t->nheld > 0) {
      range_s range, joined;
      range_init(&range, stress_addr(t->held[0][0]),
                 stress_addr(t->held[0][1]));
      TESTLIB_REQUIRE(land_insert(&joined, stress_land, &range) == MPS_RES_OK);
      stress_set(t->held[0][0], t->held[0][1], true);
      stress_unhold(t, 0);
    }
  }
  stress_compare();
  TESTLIB_REQUIRE(land_size(stress_land) == STRESS_UNITS * STRESS_ALIGN);
  stress_spec->finish();
  free(stress_memory);
  printf("%s: %d threads, %lu inserts, %lu deletes, %lu finds (%lu found), "
         "%lu refused for memory: ok\n", spec->name, STRESS_THREADS,
         inserts, deletes, finds, found, refused);
  return 0;
}
