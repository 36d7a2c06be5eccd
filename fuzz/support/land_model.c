/* land_model.c: the shared land model for fuzzing (see land_model.h).
 *
 * Input format: a sequence of 4-byte steps [op, a_lo, a_hi, b].
 *   op & 7          the operation (see land_model_step)
 *   (op >> 3) & 3   find_delete mode for finds
 *   (op >> 5) & 1   make node allocation fail during this step
 *   (op >> 6) & 1   iterate_and_delete rather than iterate (operation 6)
 *   (op >> 7) & 1   find_best rather than delete_absent (operation 7)
 *   a               a unit index (taken modulo the number of units)
 *   b               a size in units, or a pattern for iterate_and_delete
 */
#include "land_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAND_MODEL_REQUIRE(cond)                                        \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf(stderr, "%s:%d: land model mismatch: %s\n", __FILE__,     \
              __LINE__, #cond);                                         \
      abort();                                                          \
    }                                                                   \
  } while (0)

void land_model_init(land_model_s *model, Align align, size_t bytes,
                     land_model_fail_e fail_mode)
{
  LAND_MODEL_REQUIRE(size_is_p2(align) && bytes % align == 0);
  model->buffer = aligned_alloc(4096, size_align_up(bytes, 4096));
  model->present = calloc(bytes / align, 1);
  LAND_MODEL_REQUIRE(model->buffer != NULL && model->present != NULL);
  model->align = align;
  model->units = bytes / align;
  model->total = 0;
  model->fail_mode = fail_mode;
  model->set_fail = NULL;
  model->fail_closure = NULL;
  model->check = NULL;
  model->check_closure = NULL;
}

void land_model_finish(land_model_s *model)
{
  free(model->buffer);
  free(model->present);
  model->buffer = NULL;
  model->present = NULL;
}

void land_model_clear(land_model_s *model)
{
  memset(model->present, 0, model->units);
  model->total = 0;
}

Addr land_model_addr(land_model_s *model, size_t unit)
{
  return addr_add(addr_of_ptr(model->buffer), unit * model->align);
}

static size_t land_model_unit(land_model_s *model, Addr addr)
{
  Size offset = addr_offset(addr_of_ptr(model->buffer), addr);
  LAND_MODEL_REQUIRE(offset % model->align == 0);
  return offset / model->align;
}

static bool land_model_at(land_model_s *model, size_t unit)
{
  return unit < model->units && model->present[unit];
}

/* The maximal run of present units containing `unit`: [*base, *limit). */
static void land_model_run_around(land_model_s *model, size_t unit,
                                  size_t *base, size_t *limit)
{
  size_t b = unit, l = unit;
  while (b > 0 && model->present[b - 1])
    --b;
  while (l < model->units && model->present[l])
    ++l;
  *base = b;
  *limit = l;
}

static void land_model_set(land_model_s *model, size_t base, size_t limit,
                           bool present)
{
  size_t i;
  for (i = base; i < limit; ++i) {
    if (model->present[i] && !present)
      --model->total;
    else if (!model->present[i] && present)
      ++model->total;
    model->present[i] = present;
  }
}

static void land_model_expect_range(land_model_s *model, Range range,
                                    size_t base, size_t limit)
{
  LAND_MODEL_REQUIRE(range_base(range) == land_model_addr(model, base));
  LAND_MODEL_REQUIRE(range_limit(range) == land_model_addr(model, limit));
}

/* Iteration against the model: each range visited must be the next
 * maximal run; stop after `stop_after` visits. */
typedef struct land_model_walk_s {
  land_model_s *model;
  Land land;
  size_t next_unit;    /* runs before this have been visited */
  size_t visits;
  size_t stop_after;
  uint8_t pattern;     /* for iterate_and_delete: bit i%8 deletes visit i */
} land_model_walk_s;

static void land_model_walk_check(land_model_walk_s *w, Land land,
                                  Range range)
{
  land_model_s *model = w->model;
  size_t unit, base, limit;
  LAND_MODEL_REQUIRE(land == w->land);
  LAND_MODEL_REQUIRE(!range_is_empty(range));
  unit = land_model_unit(model, range_base(range));
  while (w->next_unit < model->units && !model->present[w->next_unit])
    ++w->next_unit;
  LAND_MODEL_REQUIRE(unit == w->next_unit);   /* the next run, in order */
  land_model_run_around(model, unit, &base, &limit);
  LAND_MODEL_REQUIRE(base == unit);
  land_model_expect_range(model, range, base, limit);
  w->next_unit = limit;
  ++w->visits;
}

static bool land_model_walk_visit(Land land, Range range, void *closure)
{
  land_model_walk_s *w = closure;
  land_model_walk_check(w, land, range);
  return w->visits < w->stop_after;
}

static bool land_model_walk_delete(bool *delete_return, Land land,
                                   Range range, void *closure)
{
  land_model_walk_s *w = closure;
  size_t bit = w->visits % 8;
  land_model_walk_check(w, land, range);
  LAND_MODEL_REQUIRE(*delete_return == false);
  if ((w->pattern >> bit) & 1) {
    /* Runs are separated by absent units, so removing this one from the
     * model does not change the runs still to be visited. */
    *delete_return = true;
    land_model_set(w->model, land_model_unit(w->model, range_base(range)),
                   land_model_unit(w->model, range_limit(range)), false);
  }
  return w->visits < w->stop_after;
}

static size_t land_model_count_runs(land_model_s *model)
{
  size_t i, runs = 0;
  for (i = 0; i < model->units; ++i)
    if (model->present[i] && (i == 0 || !model->present[i - 1]))
      ++runs;
  return runs;
}

void land_model_compare(land_model_s *model, Land land)
{
  land_model_walk_s w;
  memset(&w, 0, sizeof w);
  w.model = model;
  w.land = land;
  w.stop_after = (size_t)-1;
  LAND_MODEL_REQUIRE(land_iterate(land, land_model_walk_visit, &w));
  LAND_MODEL_REQUIRE(w.visits == land_model_count_runs(model));
  LAND_MODEL_REQUIRE(land_size(land) == model->total * model->align);
  LAND_MODEL_REQUIRE(land_check(land));
  if (model->check != NULL)
    LAND_MODEL_REQUIRE(model->check(model->check_closure));
}

static void land_model_insert(land_model_s *model, Land land, size_t a,
                              size_t b, bool fail)
{
  size_t base = a, limit, free_limit, run_base, run_limit;
  range_s range, got;
  bool needs_node;
  Res res;
  while (base < model->units && model->present[base])
    ++base;
  if (base == model->units)
    return;
  free_limit = base;
  while (free_limit < model->units && !model->present[free_limit])
    ++free_limit;
  limit = base + 1 + b % (free_limit - base);
  needs_node = !land_model_at(model, limit)
               && !(base > 0 && model->present[base - 1]);
  range_init(&range, land_model_addr(model, base),
             land_model_addr(model, limit));
  res = land_insert(&got, land, &range);
  if (fail && needs_node && model->fail_mode == LAND_MODEL_FAIL_REPORT) {
    LAND_MODEL_REQUIRE(res == MPS_RES_MEMORY);
    return;
  }
  LAND_MODEL_REQUIRE(res == MPS_RES_OK);
  land_model_set(model, base, limit, true);
  land_model_run_around(model, base, &run_base, &run_limit);
  land_model_expect_range(model, &got, run_base, run_limit);
}

static void land_model_delete(land_model_s *model, Land land, size_t a,
                              size_t b, bool fail)
{
  size_t unit = a, run_base, run_limit, base, limit, span;
  range_s range, old;
  bool needs_node;
  Res res;
  while (unit < model->units && !model->present[unit])
    ++unit;
  if (unit == model->units)
    return;
  land_model_run_around(model, unit, &run_base, &run_limit);
  /* A sub-range of the run starting at `unit`, b-dependent length. */
  base = unit;
  span = run_limit - base;
  limit = base + 1 + b % span;
  needs_node = base != run_base && limit != run_limit;
  range_init(&range, land_model_addr(model, base),
             land_model_addr(model, limit));
  res = land_delete(&old, land, &range);
  if (fail && needs_node && model->fail_mode == LAND_MODEL_FAIL_REPORT) {
    LAND_MODEL_REQUIRE(res == MPS_RES_MEMORY);
    land_model_expect_range(model, &old, run_base, run_limit);
    return;
  }
  LAND_MODEL_REQUIRE(res == MPS_RES_OK);
  land_model_expect_range(model, &old, run_base, run_limit);
  land_model_set(model, base, limit, false);
}

/* Delete a range that is not wholly in the land: it must fail and change
 * nothing.  The range covers an absent unit at or after `a` and, if b is
 * odd, reaches back into the run before it. */
static void land_model_delete_absent(land_model_s *model, Land land,
                                     size_t a, size_t b)
{
  size_t hole = a, base, limit;
  range_s range, old;
  while (hole < model->units && model->present[hole])
    ++hole;
  if (hole == model->units)
    return;
  base = hole;
  if ((b & 1) != 0)
    while (base > 0 && model->present[base - 1] && base + 8 > hole)
      --base;
  limit = hole + 1 + (b >> 1) % 8;
  if (limit > model->units)
    limit = model->units;
  range_init(&range, land_model_addr(model, base),
             land_model_addr(model, limit));
  LAND_MODEL_REQUIRE(land_delete(&old, land, &range) == MPS_RES_FAIL);
}

typedef enum land_model_find_e {
  LAND_MODEL_FIRST,
  LAND_MODEL_LAST,
  LAND_MODEL_BEST,
  LAND_MODEL_LARGEST
} land_model_find_e;

static void land_model_find(land_model_s *model, Land land,
                            land_model_find_e which, size_t want,
                            LandFindDelete fd)
{
  size_t i = 0, best_base = 0, best_limit = 0;
  bool any = false, found;
  range_s got, old;
  Size size = want * model->align;
  while (i < model->units) {
    size_t b, l;
    if (!model->present[i]) {
      ++i;
      continue;
    }
    land_model_run_around(model, i, &b, &l);
    switch (which) {
    case LAND_MODEL_FIRST:
      if (!any && l - b >= want) {
        best_base = b; best_limit = l; any = true;
      }
      break;
    case LAND_MODEL_LAST:
      if (l - b >= want) {
        best_base = b; best_limit = l; any = true;
      }
      break;
    case LAND_MODEL_BEST:
      /* Strictly smaller only: runs are met in address order, so the
       * lowest of equally small runs stays. */
      if (l - b >= want && (!any || l - b < best_limit - best_base)) {
        best_base = b; best_limit = l; any = true;
      }
      break;
    case LAND_MODEL_LARGEST:
      if (!any || l - b > best_limit - best_base) {
        best_base = b; best_limit = l; any = true;
      }
      break;
    }
    i = l;
  }
  if (which == LAND_MODEL_LARGEST && any && best_limit - best_base < want)
    any = false;
  if (which == LAND_MODEL_FIRST)
    found = land_find_first(&got, &old, land, size, fd);
  else if (which == LAND_MODEL_LAST)
    found = land_find_last(&got, &old, land, size, fd);
  else if (which == LAND_MODEL_BEST)
    found = land_find_best(&got, &old, land, size, fd);
  else
    found = land_find_largest(&got, &old, land, size, fd);
  LAND_MODEL_REQUIRE(found == any);
  if (!found)
    return;
  land_model_expect_range(model, &old, best_base, best_limit);
  if (which == LAND_MODEL_LARGEST && fd != LAND_FIND_DELETE_NONE)
    fd = LAND_FIND_DELETE_ENTIRE;
  switch (fd) {
  case LAND_FIND_DELETE_NONE:
    land_model_expect_range(model, &got, best_base, best_limit);
    break;
  case LAND_FIND_DELETE_LOW:
    land_model_expect_range(model, &got, best_base, best_base + want);
    land_model_set(model, best_base, best_base + want, false);
    break;
  case LAND_FIND_DELETE_HIGH:
    land_model_expect_range(model, &got, best_limit - want, best_limit);
    land_model_set(model, best_limit - want, best_limit, false);
    break;
  case LAND_FIND_DELETE_ENTIRE:
    land_model_expect_range(model, &got, best_base, best_limit);
    land_model_set(model, best_base, best_limit, false);
    break;
  }
}

static void land_model_iterate(land_model_s *model, Land land, size_t b,
                               bool deleting)
{
  land_model_walk_s w;
  size_t runs = land_model_count_runs(model);
  bool completed;
  memset(&w, 0, sizeof w);
  w.model = model;
  w.land = land;
  /* Stop early for small b; b >= 128 walks everything. */
  w.stop_after = b < 128 ? b % 16 + 1 : (size_t)-1;
  w.pattern = (uint8_t)(b * 0x9Du);
  if (deleting)
    completed = land_iterate_and_delete(land, land_model_walk_delete, &w);
  else
    completed = land_iterate(land, land_model_walk_visit, &w);
  LAND_MODEL_REQUIRE(w.visits == (runs < w.stop_after ? runs : w.stop_after));
  LAND_MODEL_REQUIRE(completed == (runs < w.stop_after));
}

/* land_overlaps of the units [a, a + 1 + b % 64), clipped to the model:
 * true exactly when one of them is present.  Asked after every step, so
 * that every input checks it on the land as that step left it. */
static void land_model_overlaps(land_model_s *model, Land land, size_t a, size_t b)
{
  size_t limit = a + 1 + b % 64, u;
  bool any = false;
  range_s range;
  if (limit > model->units)
    limit = model->units;
  for (u = a; u < limit; ++u)
    any = any || model->present[u];
  range_init(&range, land_model_addr(model, a), land_model_addr(model, limit));
  LAND_MODEL_REQUIRE(land_overlaps(land, &range) == any);
}

static void land_model_step(land_model_s *model, Land land,
                            const uint8_t *step)
{
  unsigned kind = step[0] & 7;
  LandFindDelete fd = (LandFindDelete)((step[0] >> 3) & 3);
  bool fail = model->set_fail != NULL && ((step[0] >> 5) & 1) != 0;
  size_t a = ((size_t)step[1] | (size_t)step[2] << 8) % model->units;
  size_t b = step[3];

  if (fail)
    model->set_fail(model->fail_closure, true);
  switch (kind) {
  case 0:
  case 1:  /* inserts twice as likely, so the land fills */
    land_model_insert(model, land, a, b, fail);
    break;
  case 2:
    land_model_delete(model, land, a, b, fail);
    break;
  case 3:
    land_model_find(model, land, LAND_MODEL_FIRST, 1 + b % 32, fd);
    break;
  case 4:
    land_model_find(model, land, LAND_MODEL_LAST, 1 + b % 32, fd);
    break;
  case 5:
    land_model_find(model, land, LAND_MODEL_LARGEST, b % 32, fd);
    break;
  case 6:
    land_model_iterate(model, land, b, (step[0] & 0x40) != 0);
    break;
  default:
    /* delete_absent shares its eighth with find_best through the top
     * bit, so the other operations keep their odds. */
    if ((step[0] & 0x80) != 0)
      land_model_find(model, land, LAND_MODEL_BEST, 1 + b % 32, fd);
    else
      land_model_delete_absent(model, land, a, b);
    break;
  }
  if (fail)
    model->set_fail(model->fail_closure, false);
  land_model_overlaps(model, land, a, (size_t)(step[0] ^ step[3]));
  land_model_compare(model, land);
}

void land_model_run(land_model_s *model, Land land, const uint8_t *data,
                    size_t size)
{
  size_t i;
  LAND_MODEL_REQUIRE(land_alignment(land) == model->align);
  LAND_MODEL_REQUIRE(land_size(land) == 0 && model->total == 0);
  for (i = 0; i + 4 <= size; i += 4)
    land_model_step(model, land, data + i);
}
