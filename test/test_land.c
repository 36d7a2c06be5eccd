/* test_land.c: one scenario table, run against each land implementation
 * (CBS, freelist, failover over both) through the generic interface, so
 * that all three are held to the same contract (src/data/land.h).  The
 * ranges are in a real buffer, because the freelist writes into them. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/data/cbs.h"
#include "../src/data/failover.h"
#include "../src/data/freelist.h"

#define ARENA_SIZE 8192
#define AL 16

typedef enum op_e { INSERT, DELETE, FIRST, LAST, BEST, LARGEST, OVERLAPS, EXPECT, END } op_e;

/* One step.  INSERT a..b: result must be [x,y).  DELETE a..b: result res,
 * and if OK the old range [x,y).  FIRST/LAST/BEST/LARGEST size a, mode fd:
 * found iff res == MPS_RES_OK, range [x,y) and old range [ox,oy).
 * OVERLAPS a..b: land_overlaps is true iff res == MPS_RES_OK.  EXPECT:
 * the land holds exactly the n ranges in `ranges`. */
typedef struct step_s {
  op_e op;
  Size a, b;
  LandFindDelete fd;
  Res res;
  Size x, y, ox, oy;
  size_t n;
  Size ranges[12];
} step_s;

#define NONE LAND_FIND_DELETE_NONE
#define LOW LAND_FIND_DELETE_LOW
#define HIGH LAND_FIND_DELETE_HIGH
#define ENTIRE LAND_FIND_DELETE_ENTIRE
#define OK MPS_RES_OK
#define FAIL MPS_RES_FAIL

static const step_s scenario[] = {
  {EXPECT, 0, 0, NONE, OK, 0, 0, 0, 0, 0, {0}},
  {LARGEST, 0, 0, NONE, FAIL, 0, 0, 0, 0, 0, {0}},
  {INSERT, 256, 512, NONE, OK, 256, 512, 0, 0, 0, {0}},
  {INSERT, 1024, 1536, NONE, OK, 1024, 1536, 0, 0, 0, {0}},
  {INSERT, 16, 64, NONE, OK, 16, 64, 0, 0, 0, {0}},
  {INSERT, 512, 768, NONE, OK, 256, 768, 0, 0, 0, {0}},       /* left */
  {INSERT, 960, 1024, NONE, OK, 960, 1536, 0, 0, 0, {0}},     /* right */
  {EXPECT, 0, 0, NONE, OK, 0, 0, 0, 0, 3, {16, 64, 256, 768, 960, 1536}},
  {INSERT, 768, 960, NONE, OK, 256, 1536, 0, 0, 0, {0}},      /* both */
  {EXPECT, 0, 0, NONE, OK, 0, 0, 0, 0, 2, {16, 64, 256, 1536}},
  {DELETE, 512, 528, NONE, OK, 256, 1536, 0, 0, 0, {0}},      /* split */
  {DELETE, 256, 512, NONE, OK, 256, 512, 0, 0, 0, {0}},       /* whole */
  {DELETE, 528, 544, NONE, OK, 528, 1536, 0, 0, 0, {0}},      /* low end */
  {DELETE, 1520, 1536, NONE, OK, 544, 1536, 0, 0, 0, {0}},    /* high end */
  {DELETE, 400, 560, NONE, FAIL, 0, 0, 0, 0, 0, {0}},         /* partly out */
  {DELETE, 64, 80, NONE, FAIL, 0, 0, 0, 0, 0, {0}},           /* in a gap */
  {DELETE, 16, 80, NONE, FAIL, 0, 0, 0, 0, 0, {0}},           /* runs off */
  {EXPECT, 0, 0, NONE, OK, 0, 0, 0, 0, 2, {16, 64, 544, 1520}},
  {OVERLAPS, 0, 16, NONE, FAIL, 0, 0, 0, 0, 0, {0}},          /* ends at a base */
  {OVERLAPS, 64, 544, NONE, FAIL, 0, 0, 0, 0, 0, {0}},        /* the whole gap */
  {OVERLAPS, 1520, 4096, NONE, FAIL, 0, 0, 0, 0, 0, {0}},     /* after the last */
  {OVERLAPS, 0, 32, NONE, OK, 0, 0, 0, 0, 0, {0}},            /* a low end */
  {OVERLAPS, 48, 560, NONE, OK, 0, 0, 0, 0, 0, {0}},          /* two ranges */
  {OVERLAPS, 528, 560, NONE, OK, 0, 0, 0, 0, 0, {0}},         /* a low end */
  {OVERLAPS, 1504, 1600, NONE, OK, 0, 0, 0, 0, 0, {0}},       /* a high end */
  {OVERLAPS, 800, 816, NONE, OK, 0, 0, 0, 0, 0, {0}},         /* inside */
  {OVERLAPS, 0, 4096, NONE, OK, 0, 0, 0, 0, 0, {0}},          /* around all */
  {INSERT, 2048, 2304, NONE, OK, 2048, 2304, 0, 0, 0, {0}},
  {INSERT, 3072, 4048, NONE, OK, 3072, 4048, 0, 0, 0, {0}},
  {FIRST, 48, 0, NONE, OK, 16, 64, 16, 64, 0, {0}},
  {FIRST, 64, 0, NONE, OK, 544, 1520, 544, 1520, 0, {0}},
  {LAST, 256, 0, NONE, OK, 3072, 4048, 3072, 4048, 0, {0}},
  {LAST, 1008, 0, NONE, FAIL, 0, 0, 0, 0, 0, {0}},
  {BEST, 48, 0, NONE, OK, 16, 64, 16, 64, 0, {0}},            /* exact */
  {BEST, 64, 0, NONE, OK, 2048, 2304, 2048, 2304, 0, {0}},    /* not the first */
  {BEST, 304, 0, NONE, OK, 544, 1520, 544, 1520, 0, {0}},     /* lowest of equals */
  {BEST, 992, 0, NONE, FAIL, 0, 0, 0, 0, 0, {0}},
  {FIRST, 976, 0, LOW, OK, 544, 1520, 544, 1520, 0, {0}},     /* exact fit */
  {FIRST, 64, 0, LOW, OK, 2048, 2112, 2048, 2304, 0, {0}},
  {LAST, 64, 0, HIGH, OK, 3984, 4048, 3072, 4048, 0, {0}},
  {LAST, 16, 0, ENTIRE, OK, 3072, 3984, 3072, 3984, 0, {0}},
  {EXPECT, 0, 0, NONE, OK, 0, 0, 0, 0, 2, {16, 64, 2112, 2304}},
  {INSERT, 4096, 4288, NONE, OK, 4096, 4288, 0, 0, 0, {0}},
  {LARGEST, 256, 0, NONE, FAIL, 0, 0, 0, 0, 0, {0}},
  {LARGEST, 0, 0, NONE, OK, 2112, 2304, 2112, 2304, 0, {0}},  /* lowest of equals */
  {LARGEST, 16, 0, HIGH, OK, 2112, 2304, 2112, 2304, 0, {0}}, /* whole */
  {LARGEST, 0, 0, ENTIRE, OK, 4096, 4288, 4096, 4288, 0, {0}},
  {EXPECT, 0, 0, NONE, OK, 0, 0, 0, 0, 1, {16, 64}},
  {INSERT, 128, 256, NONE, OK, 128, 256, 0, 0, 0, {0}},
  {INSERT, 512, 560, NONE, OK, 512, 560, 0, 0, 0, {0}},
  {BEST, 48, 0, HIGH, OK, 16, 64, 16, 64, 0, {0}},            /* lowest exact fit */
  {BEST, 32, 0, LOW, OK, 512, 544, 512, 560, 0, {0}},         /* not the lowest */
  {EXPECT, 0, 0, NONE, OK, 0, 0, 0, 0, 2, {128, 256, 544, 560}},
  {BEST, 80, 0, ENTIRE, OK, 128, 256, 128, 256, 0, {0}},
  {DELETE, 544, 560, NONE, OK, 544, 560, 0, 0, 0, {0}},
  {EXPECT, 0, 0, NONE, OK, 0, 0, 0, 0, 0, {0}},
  {END, 0, 0, NONE, OK, 0, 0, 0, 0, 0, {0}},
};

static void *arena;

static Addr at(Size offset)
{
  return addr_add(addr_of_ptr(arena), offset);
}

static Size off(Addr addr)
{
  return addr_offset(addr_of_ptr(arena), addr);
}

typedef struct collect_s {
  Size ends[32];
  size_t n;
} collect_s;

static bool collect_visit(Land l, Range r, void *closure)
{
  collect_s *c = closure;
  (void)l;
  cr_assert_lt(c->n, 32);
  c->ends[c->n++] = off(range_base(r));
  c->ends[c->n++] = off(range_limit(r));
  return true;
}

static void run_scenario(Land land)
{
  const step_s *s;
  for (s = scenario; s->op != END; ++s) {
    int i = (int)(s - scenario);
    range_s r, got, old;
    bool found = false;
    switch (s->op) {
    case INSERT:
      range_init(&r, at(s->a), at(s->b));
      cr_assert_eq(land_insert(&got, land, &r), MPS_RES_OK, "step %d", i);
      cr_assert_eq(off(range_base(&got)), s->x, "step %d", i);
      cr_assert_eq(off(range_limit(&got)), s->y, "step %d", i);
      break;
    case DELETE:
      range_init(&r, at(s->a), at(s->b));
      cr_assert_eq(land_delete(&old, land, &r), s->res, "step %d", i);
      if (s->res == MPS_RES_OK) {
        cr_assert_eq(off(range_base(&old)), s->x, "step %d", i);
        cr_assert_eq(off(range_limit(&old)), s->y, "step %d", i);
      }
      break;
    case FIRST:
      found = land_find_first(&got, &old, land, s->a, s->fd);
      break;
    case LAST:
      found = land_find_last(&got, &old, land, s->a, s->fd);
      break;
    case BEST:
      found = land_find_best(&got, &old, land, s->a, s->fd);
      break;
    case LARGEST:
      found = land_find_largest(&got, &old, land, s->a, s->fd);
      break;
    case OVERLAPS:
      range_init(&r, at(s->a), at(s->b));
      cr_assert_eq(land_overlaps(land, &r), s->res == MPS_RES_OK, "step %d", i);
      break;
    case EXPECT: {
      collect_s c;
      Size total = 0;
      size_t k;
      c.n = 0;
      cr_assert(land_iterate(land, collect_visit, &c), "step %d", i);
      cr_assert_eq(c.n, 2 * s->n, "step %d: %zu ranges", i, c.n / 2);
      for (k = 0; k < 2 * s->n; ++k)
        cr_assert_eq(c.ends[k], s->ranges[k], "step %d end %zu", i, k);
      for (k = 0; k < s->n; ++k)
        total += s->ranges[2 * k + 1] - s->ranges[2 * k];
      cr_assert_eq(land_size(land), total, "step %d", i);
      break;
    }
    case END:
      break;
    }
    if (s->op == FIRST || s->op == LAST || s->op == BEST || s->op == LARGEST) {
      cr_assert_eq(found, s->res == MPS_RES_OK, "step %d", i);
      if (found) {
        cr_assert_eq(off(range_base(&got)), s->x, "step %d", i);
        cr_assert_eq(off(range_limit(&got)), s->y, "step %d", i);
        cr_assert_eq(off(range_base(&old)), s->ox, "step %d", i);
        cr_assert_eq(off(range_limit(&old)), s->oy, "step %d", i);
      }
    }
    cr_assert(land_check(land), "step %d", i);
  }
}

static int nodes_live;
static bool nodes_fail;

static void *nodes_alloc(void *closure, size_t size)
{
  (void)closure;
  if (nodes_fail)
    return NULL;
  ++nodes_live;
  return malloc(size);
}

static void nodes_free(void *closure, void *p, size_t size)
{
  (void)closure;
  (void)size;
  --nodes_live;
  free(p);
}

static const cbs_node_alloc_s nodes = {nodes_alloc, nodes_free, NULL};

static void setup(void)
{
  arena = aligned_alloc(4096, ARENA_SIZE);
  cr_assert_not_null(arena);
  nodes_live = 0;
  nodes_fail = false;
}

static void teardown(void)
{
  free(arena);
}

TestSuite(land, .init = setup, .fini = teardown);

/* Each land under test, made over the counting node allocator, and
 * checked when it goes: the CBS's tree, and no node left. */
static Land open_cbs(cbs_s *cbs)
{
  cr_assert_eq(cbs_init(cbs, AL, &nodes), MPS_RES_OK);
  return cbs_land(cbs);
}

static void close_cbs(cbs_s *cbs)
{
  cr_assert(cbs_check_deep(cbs));
  cbs_finish(cbs);
  cr_assert_eq(nodes_live, 0);
}

/* A failover over a CBS primary and a freelist secondary. */
static Land open_failover(failover_s *fo, cbs_s *cbs, freelist_s *fl)
{
  cr_assert_eq(cbs_init(cbs, AL, &nodes), MPS_RES_OK);
  cr_assert_eq(freelist_init(fl, AL), MPS_RES_OK);
  cr_assert_eq(failover_init(fo, cbs_land(cbs), freelist_land(fl)),
               MPS_RES_OK);
  return failover_land(fo);
}

static void close_failover(failover_s *fo, cbs_s *cbs, freelist_s *fl)
{
  failover_finish(fo);
  freelist_finish(fl);
  cbs_finish(cbs);
  cr_assert_eq(nodes_live, 0);
}

Test(land, cbs)
{
  cbs_s cbs;
  run_scenario(open_cbs(&cbs));
  close_cbs(&cbs);
}

Test(land, freelist)
{
  freelist_s fl;
  cr_assert_eq(freelist_init(&fl, AL), MPS_RES_OK);
  run_scenario(freelist_land(&fl));
  freelist_finish(&fl);
}

static void run_failover(bool starve)
{
  cbs_s cbs;
  freelist_s fl;
  failover_s fo;
  Land land = open_failover(&fo, &cbs, &fl);
  nodes_fail = starve;
  run_scenario(land);
  close_failover(&fo, &cbs, &fl);
}

Test(land, failover)
{
  run_failover(false);
}

/* With no node memory at all, the failover behaves the same, entirely
 * through its secondary. */
Test(land, failover_starved)
{
  run_failover(true);
}

/* Random operations checked against a model: a flag per grain of the
 * buffer, set when the grain is in the land.  Every insertion and
 * deletion must report the maximal run of the model around it, every
 * find the run the model says (first, last, smallest or largest, the
 * lowest of equals), and iteration exactly the model's runs.  For the
 * failover, node allocation fails now and then, so that ranges move
 * between the lands in every state of the flush. */
#define GRAINS (ARENA_SIZE / AL)

typedef struct model_s {
  bool in[GRAINS];
  unsigned long seed;
} model_s;

static unsigned model_random(model_s *m, unsigned n)
{
  m->seed = m->seed * 6364136223846793005UL + 1442695040888963407UL;
  return (unsigned)((m->seed >> 33) % n);
}

/* The run of the model's grains around grain g (which is in the land). */
static void model_run(const model_s *m, size_t g, size_t *lo_o, size_t *hi_o)
{
  size_t lo = g, hi = g;
  while (lo > 0 && m->in[lo - 1])
    --lo;
  while (hi < GRAINS && m->in[hi])
    ++hi;
  *lo_o = lo;
  *hi_o = hi;
}

/* The model's runs in address order: the first at or after grain *g_io,
 * or false if there is none; *g_io moves past it. */
static bool model_next_run(const model_s *m, size_t *g_io, size_t *lo_o, size_t *hi_o)
{
  size_t g = *g_io;
  while (g < GRAINS && !m->in[g])
    ++g;
  if (g == GRAINS)
    return false;
  model_run(m, g, lo_o, hi_o);
  *g_io = *hi_o;
  return true;
}

typedef enum pick_e { PICK_FIRST, PICK_LAST, PICK_BEST, PICK_LARGEST } pick_e;

/* The run a find of `size` grains picks, or false. */
static bool model_find(const model_s *m, pick_e pick, size_t size,
                       size_t *lo_o, size_t *hi_o)
{
  size_t g = 0, lo, hi;
  bool found = false;
  while (model_next_run(m, &g, &lo, &hi)) {
    if (hi - lo < size)
      continue;
    if (!found || pick == PICK_LAST
        || (pick == PICK_BEST && hi - lo < *hi_o - *lo_o)
        || (pick == PICK_LARGEST && hi - lo > *hi_o - *lo_o)) {
      *lo_o = lo;
      *hi_o = hi;
    }
    found = true;
  }
  return found;
}

typedef struct collect_all_s {
  Size ends[GRAINS + 1];   /* runs are isolated: at most GRAINS / 2 + 1 */
  size_t n;
} collect_all_s;

static bool collect_visit_all(Land l, Range r, void *closure)
{
  collect_all_s *c = closure;
  (void)l;
  cr_assert_lt(c->n + 1, GRAINS + 1);
  c->ends[c->n++] = off(range_base(r));
  c->ends[c->n++] = off(range_limit(r));
  return true;
}

static void check_against_model(Land land, const model_s *m, int step)
{
  collect_all_s c;
  size_t g = 0, k = 0, lo, hi;
  Size total = 0;
  c.n = 0;
  cr_assert(land_iterate(land, collect_visit_all, &c), "step %d", step);
  while (model_next_run(m, &g, &lo, &hi)) {
    cr_assert_lt(k + 1, c.n + 1, "step %d: too few ranges", step);
    cr_assert_eq(c.ends[k], lo * AL, "step %d: range %zu", step, k / 2);
    cr_assert_eq(c.ends[k + 1], hi * AL, "step %d: range %zu", step, k / 2);
    k += 2;
    total += (hi - lo) * AL;
  }
  cr_assert_eq(c.n, k, "step %d: %zu ranges, want %zu", step, c.n / 2, k / 2);
  cr_assert_eq(land_size(land), total, "step %d", step);
  cr_assert(land_check(land), "step %d", step);
}

static void run_model(Land land, bool flaky_nodes, unsigned long seed)
{
  model_s m;
  int step;
  size_t g;
  for (g = 0; g < GRAINS; ++g)
    m.in[g] = false;
  m.seed = seed;
  for (step = 0; step < 4000; ++step) {
    unsigned op = model_random(&m, 10);
    size_t a = model_random(&m, GRAINS), b, lo, hi;
    range_s r, got, old;
    if (flaky_nodes && model_random(&m, 4) == 0)
      nodes_fail = !nodes_fail;
    if (op < 4) {                               /* insert a gap's part */
      if (m.in[a])
        continue;
      b = a + 1 + model_random(&m, 12);
      for (g = a; g < b && g < GRAINS && !m.in[g]; ++g)
        ;
      b = g;
      range_init(&r, at(a * AL), at(b * AL));
      cr_assert_eq(land_insert(&got, land, &r), MPS_RES_OK, "step %d", step);
      for (g = a; g < b; ++g)
        m.in[g] = true;
      model_run(&m, a, &lo, &hi);
      cr_assert_eq(off(range_base(&got)), lo * AL, "step %d", step);
      cr_assert_eq(off(range_limit(&got)), hi * AL, "step %d", step);
    } else if (op < 7) {                        /* delete, maybe outside */
      bool all = true;
      Res res;
      b = a + 1 + model_random(&m, 8);
      if (b > GRAINS)
        b = GRAINS;
      for (g = a; g < b; ++g)
        all = all && m.in[g];
      range_init(&r, at(a * AL), at(b * AL));
      res = land_delete(&old, land, &r);
      if (!all) {
        cr_assert_eq(res, MPS_RES_FAIL, "step %d", step);
        continue;
      }
      model_run(&m, a, &lo, &hi);
      cr_assert_eq(res, MPS_RES_OK, "step %d", step);
      cr_assert_eq(off(range_base(&old)), lo * AL, "step %d", step);
      cr_assert_eq(off(range_limit(&old)), hi * AL, "step %d", step);
      for (g = a; g < b; ++g)
        m.in[g] = false;
    } else if (op < 9) {                        /* a find */
      pick_e pick = (pick_e)model_random(&m, 4);
      LandFindDelete fd = (LandFindDelete)model_random(&m, 4);
      size_t size = 1 + model_random(&m, 16);
      bool want = model_find(&m, pick, size, &lo, &hi), found;
      switch (pick) {
      case PICK_FIRST:
        found = land_find_first(&got, &old, land, size * AL, fd);
        break;
      case PICK_LAST:
        found = land_find_last(&got, &old, land, size * AL, fd);
        break;
      case PICK_BEST:
        found = land_find_best(&got, &old, land, size * AL, fd);
        break;
      default:
        found = land_find_largest(&got, &old, land, size * AL, fd);
        if (fd != LAND_FIND_DELETE_NONE)
          fd = LAND_FIND_DELETE_ENTIRE;
        if (want)
          size = hi - lo;
        break;
      }
      cr_assert_eq(found, want, "step %d", step);
      if (!found)
        continue;
      cr_assert_eq(off(range_base(&old)), lo * AL, "step %d", step);
      cr_assert_eq(off(range_limit(&old)), hi * AL, "step %d", step);
      if (fd == LAND_FIND_DELETE_HIGH)
        lo = hi - size;
      else if (fd == LAND_FIND_DELETE_LOW)
        hi = lo + size;
      cr_assert_eq(off(range_base(&got)), lo * AL, "step %d", step);
      cr_assert_eq(off(range_limit(&got)), hi * AL, "step %d", step);
      if (fd != LAND_FIND_DELETE_NONE)
        for (g = lo; g < hi; ++g)
          m.in[g] = false;
    } else {                                    /* overlaps */
      bool want = false;
      b = a + 1 + model_random(&m, 8);
      if (b > GRAINS)
        b = GRAINS;
      for (g = a; g < b; ++g)
        want = want || m.in[g];
      range_init(&r, at(a * AL), at(b * AL));
      cr_assert_eq(land_overlaps(land, &r), want, "step %d", step);
    }
    check_against_model(land, &m, step);
  }
  nodes_fail = false;
}

Test(land, cbs_random_operations_match_a_model)
{
  cbs_s cbs;
  run_model(open_cbs(&cbs), false, 1);
  close_cbs(&cbs);
}

/* The same with the descent bounded at one level, so that the CBS's
 * splaying paths take nearly every operation. */
Test(land, cbs_random_operations_match_a_model_when_they_splay)
{
  cbs_s cbs;
  Land land = open_cbs(&cbs);
  cbs_descent_max_set(&cbs, 1);
  run_model(land, false, 2);
  close_cbs(&cbs);
}

Test(land, freelist_random_operations_match_a_model)
{
  freelist_s fl;
  cr_assert_eq(freelist_init(&fl, AL), MPS_RES_OK);
  run_model(freelist_land(&fl), false, 3);
  freelist_finish(&fl);
}

Test(land, failover_random_operations_match_a_model)
{
  cbs_s cbs;
  freelist_s fl;
  failover_s fo;
  run_model(open_failover(&fo, &cbs, &fl), true, 4);
  cr_assert(cbs_check_deep(&cbs));
  close_failover(&fo, &cbs, &fl);
}
