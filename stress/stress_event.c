/* stress_event.c: threads writing telemetry at once (src/base/event.c).
 *
 * Each worker interns its own strings ("w<worker>-<n>") and labels an
 * address of its own with each label, with the user category on, while
 * one more thread turns the other categories on and off.  At the end the
 * stream (the plinth's default file, mpsio.log in the working directory,
 * removed afterwards) is decoded: every record is whole (event.h's
 * format), every intern and label written is there exactly once, the
 * labels are all different, each label record names an interned label
 * and an address of the same worker, and the filter still has the user
 * category.  A lost, torn or doubled record breaks one of these, and
 * ThreadSanitizer reports any access the global lock fails to order.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpslib.h"
#include "../src/base/event.h"
#include "support/testlib.h"
#include "support/testthr.h"

enum { WORKERS = 4, LABELS = 2000 };

#define STREAM "mpsio.log"

typedef struct worker_s {
  int id;
  uint64_t seed;
  mps_label_t label[LABELS];
  char object[LABELS];       /* the addresses labelled */
} worker_s;

static worker_s workers[WORKERS];
static atomic_int toggling;

static void *work(void *p)
{
  worker_s *w = p;
  testlib_rng_s rng;
  int i;
  testlib_rng_init(&rng, w->seed);
  for (i = 0; i < LABELS; ++i) {
    char name[32];
    snprintf(name, sizeof name, "w%d-%d", w->id, i);
    w->label[i] = mps_telemetry_intern(name);
    mps_telemetry_label(&w->object[i], w->label[i]);
    if (testlib_rng_below(&rng, 64) == 0)
      mps_telemetry_flush();
  }
  return NULL;
}

/* Other categories on and off: none of them is made by these threads,
 * and the user bit must come through every change. */
static void *toggle(void *p)
{
  testlib_rng_s rng;
  testlib_rng_init(&rng, *(uint64_t *)p);
  while (atomic_load_explicit(&toggling, memory_order_relaxed)) {
    mps_word_t bit = (mps_word_t)1 << testlib_rng_below(&rng, EVENT_CAT_USER);
    mps_telemetry_set(bit);
    mps_telemetry_reset(bit);
    testthr_yield();
  }
  return NULL;
}

/* Every label handed out, sorted, with its worker and index. */
typedef struct owner_s {
  mps_label_t label;
  int w, i;
} owner_s;

static owner_s owners[WORKERS * LABELS];

static int owner_cmp(const void *a, const void *b)
{
  mps_label_t x = ((const owner_s *)a)->label, y = ((const owner_s *)b)->label;
  return x < y ? -1 : x > y;
}

static void owners_sort(void)
{
  int w, i;
  for (w = 0; w < WORKERS; ++w)
    for (i = 0; i < LABELS; ++i) {
      owner_s *o = &owners[w * LABELS + i];
      o->label = workers[w].label[i];
      o->w = w;
      o->i = i;
    }
  qsort(owners, WORKERS * LABELS, sizeof owners[0], owner_cmp);
  for (i = 1; i < WORKERS * LABELS; ++i)
    TESTLIB_REQUIRE(owners[i - 1].label < owners[i].label);   /* distinct */
}

static bool find_label(mps_word_t label, int *w_o, int *i_o)
{
  owner_s key, *o;
  key.label = (mps_label_t)label;
  o = bsearch(&key, owners, WORKERS * LABELS, sizeof owners[0], owner_cmp);
  if (o == NULL)
    return false;
  *w_o = o->w;
  *i_o = o->i;
  return true;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_event");
  testthr_s thr[WORKERS], toggler;
  static unsigned char interned[WORKERS][LABELS], labelled[WORKERS][LABELS];
  uint64_t toggle_seed = seed ^ 0x5A5A;
  event_header_s h;
  size_t records = 0;
  FILE *f;
  int w, i;

  mps_lib_assert_fail_install(testlib_abort_on_report);
  (void)remove(STREAM);
  mps_telemetry_set((mps_word_t)1 << EVENT_CAT_USER);
  atomic_store_explicit(&toggling, 1, memory_order_relaxed);
  testthr_create(&toggler, toggle, &toggle_seed);
  for (w = 0; w < WORKERS; ++w) {
    workers[w].id = w;
    workers[w].seed = seed + (uint64_t)w;
    testthr_create(&thr[w], work, &workers[w]);
  }
  for (w = 0; w < WORKERS; ++w)
    testthr_join(&thr[w]);
  atomic_store_explicit(&toggling, 0, memory_order_relaxed);
  testthr_join(&toggler);
  TESTLIB_REQUIRE(mps_telemetry_get() == (mps_word_t)1 << EVENT_CAT_USER);
  mps_telemetry_flush();
  owners_sort();

  f = fopen(STREAM, "rb");
#if EVENT_STREAM
  TESTLIB_REQUIRE(f != NULL);
  while (fread(&h, sizeof h, 1, f) == 1) {
    mps_word_t word[2];
    char string[EVENT_STRING_MAX + 1];
    int wi, ii;
    TESTLIB_REQUIRE(h.size % sizeof(mps_word_t) == 0 && h.size <= sizeof word + EVENT_STRING_MAX);
    if (h.code == EVENT_INTERN) {
      size_t len = h.size - sizeof(mps_word_t);
      char expect[32];
      TESTLIB_REQUIRE(fread(word, sizeof(mps_word_t), 1, f) == 1);
      TESTLIB_REQUIRE(fread(string, 1, len, f) == len);
      string[len] = '\0';
      TESTLIB_REQUIRE(find_label(word[0], &wi, &ii));
      snprintf(expect, sizeof expect, "w%d-%d", wi, ii);
      TESTLIB_REQUIRE(strcmp(string, expect) == 0);
      TESTLIB_REQUIRE(!interned[wi][ii]);
      interned[wi][ii] = 1;
    } else {
      TESTLIB_REQUIRE(h.code == EVENT_LABEL && h.size == sizeof word);
      TESTLIB_REQUIRE(fread(word, sizeof word, 1, f) == 1);
      TESTLIB_REQUIRE(find_label(word[1], &wi, &ii));
      TESTLIB_REQUIRE(word[0] == (mps_word_t)(uintptr_t)&workers[wi].object[ii]);
      TESTLIB_REQUIRE(interned[wi][ii] && !labelled[wi][ii]);
      labelled[wi][ii] = 1;
    }
    ++records;
  }
  TESTLIB_REQUIRE(feof(f));
  fclose(f);
  for (w = 0; w < WORKERS; ++w)
    for (i = 0; i < LABELS; ++i)
      TESTLIB_REQUIRE(interned[w][i] && labelled[w][i]);
  TESTLIB_REQUIRE(records == 2 * (size_t)WORKERS * LABELS);
#else
  /* Rash makes no events, so no stream is ever opened. */
  TESTLIB_REQUIRE(f == NULL);
  (void)h;
  (void)i;
  (void)interned;
  (void)labelled;
  (void)find_label;
#endif
  (void)remove(STREAM);
  printf("stress_event: %d workers, %zu records, all whole and each once\n",
         WORKERS, records);
  return 0;
}
