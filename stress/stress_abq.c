/* stress_abq.c: available block queues used by several threads.
 *
 * A queue is not thread-safe: MVT calls it only with the arena lock held.
 * Here four queues, of capacities 0, 1, 5 and 48, are shared by every
 * thread under that lock.  Each thread pushes elements at the tail, each
 * tagged with the thread, the queue and the thread's next serial for that
 * queue; it pops, peeks, iterates (deleting some elements, and sometimes
 * stopping early), and puts popped elements back at the head, either at
 * once or after other threads have used the queue.  Whoever holds the
 * lock checks what must hold whatever the interleaving:
 *   - an element put back at the head comes out before anything else, the
 *     last one put back first;
 *   - every other element comes out in the order its thread pushed it:
 *     the serials of one thread's elements only grow;
 *   - depth and is_full agree with the pushes and removals counted, and a
 *     push is refused exactly when the queue is full;
 *   - a walk sees the elements put back, latest first, then each thread's
 *     pushed elements in increasing serial, as many as it has in the queue.
 * At the end the queues are drained, and every element pushed has come out
 * exactly once: popped and kept, deleted by an iteration, or drained.
 *
 * Each thread also works on two private queues, made and finished over and
 * over with capacities 0 to 40 and elements of 1 to 24 bytes.  Their
 * storage is control memory of the same arena, taken and given back under
 * the lock, so the threads' requests interleave; everything else on them
 * is done without the lock, and checked after every operation against a
 * model deque.  At the end the arena's control memory in use is what it
 * was before the first queue was made.
 *
 * Usage: stress_abq [seed]
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpslib.h"
#include "../src/pool/abq.h"
#include "../fuzz/support/refusal.h"   /* refusal_control_in_use */
#include "support/testlib.h"
#include "support/testthr.h"

#define THREADS 4
#define ITERATIONS 100000
#define PHASE 1024              /* iterations of filling, then of draining */
#define SHARED 4
#define SHARED_MAX 48
#define PRIVATE 2
#define PRIVATE_MAX 40
#define PRIVATE_SIZE_MAX 24
#define PRIVATE_OPS_MAX 400     /* operations on a private queue before it is remade */

static const Count sabq_capacities[SHARED] = {0, 1, 5, SHARED_MAX};
static const Count sabq_private_capacities[] = {0, 1, 2, 3, 8, 17, PRIVATE_MAX};

/* What a shared queue holds.  `check` mixes in the queue, so that an
 * element copied into the wrong queue shows. */
typedef struct sabq_tag_s {
  uint32_t thread, serial, check;
} sabq_tag_s;

/* A shared queue and what the threads know of it: all guarded by the
 * arena lock. */
typedef struct sabq_shared_s {
  abq_s abq;
  Count capacity;
  Count depth;                  /* pushes less removals */
  uint32_t pushed[THREADS];     /* each thread's pushes at the tail */
  uint32_t next[THREADS];       /* no lower serial of the thread's may come out */
  Count tail[THREADS];          /* each thread's elements in, not put back */
  sabq_tag_s back[SHARED_MAX];  /* put back and still in, the latest last */
  Count nback;
  unsigned long pushes, put_back, pops, deleted, refused;
} sabq_shared_s;

typedef struct sabq_private_s {
  abq_s abq;
  bool live;
  Count capacity;
  Size size;
  unsigned serial;              /* of the next element made */
  unsigned ops_left;
  unsigned char model[PRIVATE_MAX][PRIVATE_SIZE_MAX];   /* oldest first */
  Count count;
  unsigned char *element;       /* exactly `size` bytes, so ASan sees overruns */
} sabq_private_s;

typedef struct sabq_thread_s {
  unsigned index;
  testlib_rng_s rng;
  bool holding;                 /* an element popped, to be put back later */
  unsigned held_queue;
  sabq_tag_s held;
  /* Elements of each thread's this one took for good (popped, or deleted
   * by its iterations). */
  unsigned long consumed[THREADS];
  sabq_private_s private_queues[PRIVATE];
  unsigned long private_made, private_ops, private_refused;
} sabq_thread_s;

static Arena sabq_arena;
static sabq_shared_s sabq_shared[SHARED];
static sabq_thread_s sabq_threads[THREADS];

/* The threads are started one after another: each waits for the rest
 * before it begins, so that they run together rather than in turn. */
static atomic_uint sabq_started;

static uint32_t sabq_check_word(unsigned queue, uint32_t thread, uint32_t serial)
{
  return (serial * 0x9E3779B1u) ^ (thread * 0x85EBCA6Bu) ^ (queue * 0xC2B2AE35u)
         ^ 0x5A5A5A5Au;
}

static bool sabq_same(const sabq_tag_s *a, const sabq_tag_s *b)
{
  return a->thread == b->thread && a->serial == b->serial && a->check == b->check;
}

/* With the lock held: depth and fullness agree with the counts. */
static void sabq_check_counts(sabq_shared_s *s)
{
  TESTLIB_REQUIRE(abq_depth(&s->abq) == s->depth);
  TESTLIB_REQUIRE(abq_is_full(&s->abq) == (s->depth == s->capacity));
}

/* With the lock held: `e` came out of the head of queue q (by a pop if
 * `remove`, else a peek). */
static void sabq_came_out(sabq_shared_s *s, unsigned q, const sabq_tag_s *e, bool remove)
{
  TESTLIB_REQUIRE(e->thread < THREADS);
  TESTLIB_REQUIRE(e->check == sabq_check_word(q, e->thread, e->serial));
  if (s->nback > 0) {
    TESTLIB_REQUIRE(sabq_same(e, &s->back[s->nback - 1]));
    if (remove)
      --s->nback;
  } else {
    TESTLIB_REQUIRE(e->serial >= s->next[e->thread]);
    TESTLIB_REQUIRE(e->serial < s->pushed[e->thread]);
    if (remove) {
      s->next[e->thread] = e->serial + 1;
      --s->tail[e->thread];
    }
  }
  if (remove) {
    --s->depth;
    ++s->pops;
  }
}

/* An iteration of a shared queue: a walk if `th` is NULL, else `th`'s
 * iteration, which deletes and stops at random. */
typedef struct sabq_visit_s {
  sabq_shared_s *s;
  unsigned queue;
  sabq_thread_s *th;
  Count visited;
  bool stopped;
  uint32_t floor[THREADS];      /* the least serial the thread's next may have */
  Count seen[THREADS];          /* of the thread's elements not put back */
  bool back_deleted[SHARED_MAX];   /* by place from the head */
  Count tail_deleted[THREADS];
  Count deleted;
} sabq_visit_s;

static bool sabq_visitor(bool *delete_return, void *element, void *closure)
{
  sabq_visit_s *v = closure;
  sabq_shared_s *s = v->s;
  sabq_tag_s e;
  Index place = v->visited;
  TESTLIB_REQUIRE(!v->stopped);
  TESTLIB_REQUIRE(!*delete_return);
  TESTLIB_REQUIRE(place < s->depth);
  memcpy(&e, element, sizeof e);
  TESTLIB_REQUIRE(e.thread < THREADS);
  TESTLIB_REQUIRE(e.check == sabq_check_word(v->queue, e.thread, e.serial));
  if (place < s->nback) {
    TESTLIB_REQUIRE(sabq_same(&e, &s->back[s->nback - 1 - place]));
  } else {
    TESTLIB_REQUIRE(e.serial >= v->floor[e.thread]);
    TESTLIB_REQUIRE(e.serial < s->pushed[e.thread]);
    v->floor[e.thread] = e.serial + 1;
    ++v->seen[e.thread];
  }
  ++v->visited;
  if (v->th == NULL)
    return true;
  if (testlib_rng_below(&v->th->rng, 6) == 0) {
    *delete_return = true;
    ++v->deleted;
    ++v->th->consumed[e.thread];
    if (place < s->nback)
      v->back_deleted[place] = true;
    else
      ++v->tail_deleted[e.thread];
  }
  v->stopped = testlib_rng_below(&v->th->rng, 24) == 0;
  return !v->stopped;
}

/* With the lock held: iterate queue q, and bring the counts up to date
 * with what was deleted. */
static void sabq_iterate(unsigned q, sabq_thread_s *th)
{
  sabq_shared_s *s = &sabq_shared[q];
  sabq_visit_s v;
  Index i, to;
  unsigned t;
  memset(&v, 0, sizeof v);
  v.s = s;
  v.queue = q;
  v.th = th;
  for (t = 0; t < THREADS; ++t)
    v.floor[t] = s->next[t];
  abq_iterate(&s->abq, sabq_visitor, &v);
  TESTLIB_REQUIRE(v.stopped || v.visited == s->depth);
  for (t = 0; t < THREADS; ++t)
    TESTLIB_REQUIRE(v.visited == s->depth ? v.seen[t] == s->tail[t] : v.seen[t] <= s->tail[t]);
  /* back[] is latest last, and the walk met the latest first. */
  for (i = 0, to = 0; i < s->nback; ++i)
    if (!v.back_deleted[s->nback - 1 - i])
      s->back[to++] = s->back[i];
  s->nback = to;
  for (t = 0; t < THREADS; ++t)
    s->tail[t] -= v.tail_deleted[t];
  s->depth -= v.deleted;
  s->deleted += v.deleted;
  sabq_check_counts(s);
}

/* With the lock held: the queue's own check, the counts, and a walk. */
static void sabq_check_shared(unsigned q)
{
  sabq_shared_s *s = &sabq_shared[q];
  Count tails = 0;
  unsigned t;
  TESTLIB_REQUIRE(abq_check(&s->abq));
  sabq_check_counts(s);
  for (t = 0; t < THREADS; ++t)
    tails += s->tail[t];
  TESTLIB_REQUIRE(tails + s->nback == s->depth);
  sabq_iterate(q, NULL);
}

/* With the lock held: push at the head an element popped from queue q.
 * False if the queue is full. */
static bool sabq_put_back(unsigned q, const sabq_tag_s *e)
{
  sabq_shared_s *s = &sabq_shared[q];
  bool room = s->depth < s->capacity;
  TESTLIB_REQUIRE(abq_push_head(&s->abq, e) == room);
  if (room) {
    s->back[s->nback++] = *e;
    ++s->depth;
    ++s->put_back;
  }
  sabq_check_counts(s);
  return room;
}

/* One operation on a shared queue, under the lock.  While `filling`,
 * pushes outnumber pops, so that the queues reach full as well as empty. */
static void sabq_shared_step(sabq_thread_s *th, bool filling)
{
  unsigned q = (unsigned)testlib_rng_below(&th->rng, SHARED);
  sabq_shared_s *s = &sabq_shared[q];
  unsigned op = (unsigned)testlib_rng_below(&th->rng, 16);
  uint32_t me = th->index;
  sabq_tag_s e, again;
  bool any;

  arena_enter(sabq_arena);
  if (th->holding && op < 2) {
    if (sabq_put_back(th->held_queue, &th->held))
      th->holding = false;
  } else if (op < (filling ? 10u : 5u)) {
    bool room = s->depth < s->capacity;
    e.thread = me;
    e.serial = s->pushed[me];
    e.check = sabq_check_word(q, me, e.serial);
    TESTLIB_REQUIRE(abq_push(&s->abq, &e) == room);
    if (room) {
      ++s->pushed[me];
      ++s->tail[me];
      ++s->depth;
      ++s->pushes;
    } else {
      ++s->refused;
    }
    sabq_check_counts(s);
  } else if (op < 13) {
    any = s->depth > 0;
    TESTLIB_REQUIRE(abq_pop(&s->abq, &e) == any);
    if (any) {
      unsigned then = (unsigned)testlib_rng_below(&th->rng, 4);
      sabq_came_out(s, q, &e, true);
      sabq_check_counts(s);
      if (then == 0) {
        /* Back at once: it must be the next out. */
        TESTLIB_REQUIRE(sabq_put_back(q, &e));
        TESTLIB_REQUIRE(abq_peek(&s->abq, &again) && sabq_same(&again, &e));
      } else if (then == 1 && !th->holding) {
        th->holding = true;
        th->held_queue = q;
        th->held = e;
      } else {
        ++th->consumed[e.thread];
      }
    }
  } else if (op < 15) {
    any = s->depth > 0;
    TESTLIB_REQUIRE(abq_peek(&s->abq, &e) == any);
    if (any) {
      sabq_came_out(s, q, &e, false);
      TESTLIB_REQUIRE(abq_peek(&s->abq, &again) && sabq_same(&again, &e));
    }
    sabq_check_counts(s);
  } else {
    sabq_iterate(q, th);
  }
  if (testlib_rng_below(&th->rng, 32) == 0)
    sabq_check_shared(q);
  arena_leave(sabq_arena);
}

/* Fill buf with a new element for private queue p. */
static void sabq_make(sabq_private_s *p, unsigned char *buf)
{
  Index i;
  unsigned serial = p->serial++;
  for (i = 0; i < p->size; ++i)
    buf[i] = (unsigned char)(serial * 0x9Du + i * 0x35u + (serial >> 8));
}

/* A private iteration: for each element, bit 0 of `what` deletes it, bit 1
 * changes it in place, bit 2 stops there. */
typedef struct sabq_private_visit_s {
  sabq_private_s *p;
  const unsigned char *what;
  Count visited;
  bool stopped;
} sabq_private_visit_s;

static bool sabq_private_visitor(bool *delete_return, void *element, void *closure)
{
  sabq_private_visit_s *v = closure;
  sabq_private_s *p = v->p;
  unsigned what;
  Index i;
  TESTLIB_REQUIRE(!v->stopped);
  TESTLIB_REQUIRE(!*delete_return);
  TESTLIB_REQUIRE(v->visited < p->count);
  TESTLIB_REQUIRE(memcmp(element, p->model[v->visited], p->size) == 0);
  what = v->what[v->visited++];
  if (what & 2)
    for (i = 0; i < p->size; ++i)
      ((unsigned char *)element)[i] ^= (unsigned char)(what | 0x10);
  *delete_return = (what & 1) != 0;
  v->stopped = (what & 4) != 0;
  return !v->stopped;
}

static void sabq_private_iterate(sabq_private_s *p, const unsigned char *what)
{
  sabq_private_visit_s v;
  Index from, to, i;
  v.p = p;
  v.what = what;
  v.visited = 0;
  v.stopped = false;
  abq_iterate(&p->abq, sabq_private_visitor, &v);
  TESTLIB_REQUIRE(v.stopped || v.visited == p->count);
  for (from = 0, to = 0; from < p->count; ++from) {
    unsigned w = from < v.visited ? what[from] : 0;
    if (w & 1)
      continue;
    if (w & 2)
      for (i = 0; i < p->size; ++i)
        p->model[from][i] ^= (unsigned char)(w | 0x10);
    if (to != from)
      memcpy(p->model[to], p->model[from], p->size);
    ++to;
  }
  p->count = to;
}

/* The queue holds the model's elements in order. */
static void sabq_private_compare(sabq_private_s *p)
{
  static const unsigned char keep[PRIVATE_MAX];
  TESTLIB_REQUIRE(abq_check(&p->abq));
  TESTLIB_REQUIRE(abq_depth(&p->abq) == p->count);
  TESTLIB_REQUIRE(abq_is_full(&p->abq) == (p->count == p->capacity));
  sabq_private_iterate(p, keep);
}

static void sabq_private_make(sabq_thread_s *th, sabq_private_s *p)
{
  Res res;
  p->capacity = sabq_private_capacities[testlib_rng_below(
      &th->rng, sizeof sabq_private_capacities / sizeof sabq_private_capacities[0])];
  p->size = 1 + (Size)testlib_rng_below(&th->rng, PRIVATE_SIZE_MAX);
  p->count = 0;
  p->ops_left = 1 + (unsigned)testlib_rng_below(&th->rng, PRIVATE_OPS_MAX);
  p->element = malloc(p->size);
  TESTLIB_REQUIRE(p->element != NULL);
  arena_enter(sabq_arena);
  /* Now and then the arena refuses the slots first, within this hold of
   * the lock (so no other thread's request meets the refusal): a queue
   * that needs slots is then not made and takes nothing. */
  if (p->capacity > 0 && testlib_rng_below(&th->rng, 4) == 0) {
    Size in_use = refusal_control_in_use(sabq_arena);
    arena_fail_after(sabq_arena, 1);
    res = abq_init(&p->abq, sabq_arena, p->capacity, p->size);
    arena_fail_after(sabq_arena, 0);
    TESTLIB_REQUIRE(res == MPS_RES_MEMORY);
    TESTLIB_REQUIRE(refusal_control_in_use(sabq_arena) == in_use);
    ++th->private_refused;
  }
  res = abq_init(&p->abq, sabq_arena, p->capacity, p->size);
  arena_leave(sabq_arena);
  TESTLIB_REQUIRE(res == MPS_RES_OK);
  p->live = true;
  ++th->private_made;
  sabq_private_compare(p);
}

static void sabq_private_finish(sabq_private_s *p)
{
  sabq_private_compare(p);
  arena_enter(sabq_arena);
  abq_finish(&p->abq);
  arena_leave(sabq_arena);
  free(p->element);
  p->element = NULL;
  p->live = false;
}

/* One operation on a private queue, without the lock (unless it makes or
 * finishes the queue). */
static void sabq_private_step(sabq_thread_s *th, sabq_private_s *p)
{
  unsigned char what[PRIVATE_MAX];
  bool any = p->count > 0, room = p->count < p->capacity;
  Index i;
  if (!p->live) {
    sabq_private_make(th, p);
    return;
  }
  if (p->ops_left-- == 0) {
    sabq_private_finish(p);
    return;
  }
  switch (testlib_rng_below(&th->rng, 6)) {
  case 0:
    sabq_make(p, p->element);
    TESTLIB_REQUIRE(abq_push(&p->abq, p->element) == room);
    if (room)
      memcpy(p->model[p->count++], p->element, p->size);
    break;
  case 1:
    sabq_make(p, p->element);
    TESTLIB_REQUIRE(abq_push_head(&p->abq, p->element) == room);
    if (room) {
      memmove(p->model[1], p->model[0], sizeof p->model[0] * p->count);
      memcpy(p->model[0], p->element, p->size);
      ++p->count;
    }
    break;
  case 2:
  case 3:
    memset(p->element, 0xEE, p->size);
    TESTLIB_REQUIRE(abq_pop(&p->abq, p->element) == any);
    if (any) {
      TESTLIB_REQUIRE(memcmp(p->element, p->model[0], p->size) == 0);
      --p->count;
      memmove(p->model[0], p->model[1], sizeof p->model[0] * p->count);
    }
    break;
  case 4:
    memset(p->element, 0xEE, p->size);
    TESTLIB_REQUIRE(abq_peek(&p->abq, p->element) == any);
    TESTLIB_REQUIRE(!any || memcmp(p->element, p->model[0], p->size) == 0);
    break;
  default:
    for (i = 0; i < p->count; ++i) {
      unsigned r = (unsigned)testlib_rng_below(&th->rng, 16);
      what[i] = (unsigned char)((r < 3 ? 1 : 0) | (r & 2) | (r == 15 ? 4 : 0));
    }
    sabq_private_iterate(p, what);
    break;
  }
  ++th->private_ops;
  sabq_private_compare(p);
}

static void sabq_wait_for_all(void)
{
  /* relaxed: it orders nothing, as everything shared is under the lock. */
  atomic_fetch_add_explicit(&sabq_started, 1, memory_order_relaxed);
  while (atomic_load_explicit(&sabq_started, memory_order_relaxed) < THREADS)
    testthr_yield();
}

static void *sabq_worker(void *arg)
{
  sabq_thread_s *th = arg;
  unsigned i, k;
  sabq_wait_for_all();
  for (i = 0; i < ITERATIONS; ++i) {
    sabq_private_step(th, &th->private_queues[i % PRIVATE]);
    if (i % 2 == 0)
      sabq_shared_step(th, (i / PHASE) % 2 == 0);
    /* A lock tends to go back to the thread that let go of it: this lets
     * the others have turns between this thread's calls. */
    if (i % 16 == 0)
      testthr_yield();
  }
  /* Nothing may stay held: put it back, or take it if its queue is full. */
  if (th->holding) {
    arena_enter(sabq_arena);
    if (!sabq_put_back(th->held_queue, &th->held))
      ++th->consumed[th->held.thread];
    arena_leave(sabq_arena);
    th->holding = false;
  }
  for (k = 0; k < PRIVATE; ++k)
    if (th->private_queues[k].live)
      sabq_private_finish(&th->private_queues[k]);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_abq");
  mps_arena_t arena;
  testthr_s tids[THREADS];
  unsigned long drained[THREADS] = {0}, made = 0, put_back = 0, deleted = 0, refused = 0;
  unsigned long private_made = 0, private_ops = 0, private_refused = 0;
  Size in_use;
  unsigned q, t, u;

  mps_lib_assert_fail_install(testlib_abort_on_report);
  TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none) == MPS_RES_OK);
  sabq_arena = (Arena)arena;
  arena_enter(sabq_arena);
  in_use = refusal_control_in_use(sabq_arena);
  for (q = 0; q < SHARED; ++q) {
    sabq_shared[q].capacity = sabq_capacities[q];
    TESTLIB_REQUIRE(abq_init(&sabq_shared[q].abq, sabq_arena, sabq_capacities[q],
                             sizeof(sabq_tag_s)) == MPS_RES_OK);
  }
  arena_leave(sabq_arena);
  for (t = 0; t < THREADS; ++t) {
    sabq_threads[t].index = t;
    testlib_rng_init(&sabq_threads[t].rng, seed + t + 1);
  }
  for (t = 0; t < THREADS; ++t)
    testthr_create(&tids[t], sabq_worker, &sabq_threads[t]);
  for (t = 0; t < THREADS; ++t)
    testthr_join(&tids[t]);

  arena_enter(sabq_arena);
  for (q = 0; q < SHARED; ++q) {
    sabq_shared_s *s = &sabq_shared[q];
    sabq_tag_s e;
    sabq_check_shared(q);
    while (abq_pop(&s->abq, &e)) {
      sabq_came_out(s, q, &e, true);
      ++drained[e.thread];
    }
    TESTLIB_REQUIRE(s->depth == 0 && s->nback == 0);
    sabq_check_counts(s);
    TESTLIB_REQUIRE(!abq_peek(&s->abq, &e));
    abq_finish(&s->abq);
    made += s->pushes;
    put_back += s->put_back;
    deleted += s->deleted;
    refused += s->refused;
  }
  /* Every element pushed came out once, whoever took it. */
  for (u = 0; u < THREADS; ++u) {
    unsigned long pushed = 0, out = drained[u];
    for (q = 0; q < SHARED; ++q)
      pushed += sabq_shared[q].pushed[u];
    for (t = 0; t < THREADS; ++t)
      out += sabq_threads[t].consumed[u];
    TESTLIB_REQUIRE(pushed == out);
  }
  TESTLIB_REQUIRE(refusal_control_in_use(sabq_arena) == in_use);
  arena_leave(sabq_arena);
  mps_arena_destroy(arena);

  for (t = 0; t < THREADS; ++t) {
    private_made += sabq_threads[t].private_made;
    private_ops += sabq_threads[t].private_ops;
    private_refused += sabq_threads[t].private_refused;
  }
  TESTLIB_REQUIRE(private_refused > 0);
  printf("stress_abq: %d threads, %lu elements through %d shared queues (%lu put back, "
         "%lu deleted, %lu pushes refused), %lu private queues (%lu refused first), %lu operations: ok\n",
         THREADS, made, SHARED, put_back, deleted, refused, private_made, private_refused,
         private_ops);
  return 0;
}
