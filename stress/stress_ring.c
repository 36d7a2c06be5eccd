/* stress_ring.c: rings used by several threads.
 *
 * Each thread owns two private rings and a pool of nodes it moves between
 * them, checked against a model of counts.  All threads also share one
 * ring under a spinlock: each puts its own nodes on it and takes them off
 * (sometimes while iterating), and whoever holds the lock may check that
 * the ring's length equals the nodes inserted less the nodes removed, and
 * that each thread's nodes on it are the ones it believes it put there.
 *
 * Usage: stress_ring [seed]
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/data/ring.h"
#include "support/testlib.h"
#include "support/testthr.h"

#define THREADS 4
#define ITERATIONS 100000
#define PRIVATE_NODES 32
#define SHARED_NODES 16

typedef struct node_s {
  unsigned owner;
  unsigned ring; /* for private nodes: 0, 1, or 2 for none */
  bool on_shared;
  ring_s link;
} node_s;

typedef struct thread_s {
  unsigned index;
  testlib_rng_s rng;
  ring_s rings[2];
  Count counts[2];
  node_s private_nodes[PRIVATE_NODES];
  node_s shared_nodes[SHARED_NODES];
  /* Protected by shared_lock: */
  Count inserted, removed;
} thread_s;

static thread_s threads[THREADS];
static ring_s shared_ring;
static testthr_spin_s shared_lock = TESTTHR_SPIN_INIT;

/* With the lock held: the shared ring holds exactly the nodes its users
 * believe they put on it. */
static void check_shared(void)
{
  Count on_ring[THREADS] = {0};
  Count expected = 0, seen = 0;
  Ring node, next;
  unsigned t;
  RING_FOR(node, &shared_ring, next) {
    node_s *n = PARENT(node_s, link, node);
    TESTLIB_REQUIRE(ring_check(node));
    TESTLIB_REQUIRE(n->owner < THREADS && n->on_shared);
    ++on_ring[n->owner];
    ++seen;
  }
  for (t = 0; t < THREADS; ++t) {
    TESTLIB_REQUIRE(on_ring[t] == threads[t].inserted - threads[t].removed);
    expected += threads[t].inserted - threads[t].removed;
  }
  TESTLIB_REQUIRE(seen == expected);
  TESTLIB_REQUIRE(ring_length(&shared_ring) == expected);
}

static void check_private(thread_s *th)
{
  unsigned r;
  for (r = 0; r < 2; ++r) {
    Count n = 0;
    Ring node, next;
    RING_FOR(node, &th->rings[r], next) {
      node_s *elt = PARENT(node_s, link, node);
      TESTLIB_REQUIRE(elt->owner == th->index && elt->ring == r);
      ++n;
    }
    TESTLIB_REQUIRE(n == th->counts[r]);
  }
}

/* One step on the private rings: link a free node, unlink a linked one,
 * or iterate a ring moving some of its nodes to the other. */
static void private_step(thread_s *th)
{
  node_s *n = &th->private_nodes[testlib_rng_below(&th->rng, PRIVATE_NODES)];
  unsigned r = (unsigned)testlib_rng_below(&th->rng, 2);
  switch (testlib_rng_below(&th->rng, 3)) {
  case 0:
    if (n->ring == 2) {
      if (testlib_rng_below(&th->rng, 2) == 0)
        ring_append(&th->rings[r], &n->link);
      else
        ring_insert(&th->rings[r], &n->link);
      n->ring = r;
      ++th->counts[r];
    }
    break;
  case 1:
    if (n->ring != 2) {
      ring_remove(&n->link);
      --th->counts[n->ring];
      n->ring = 2;
    }
    break;
  default: {
    Ring node, next;
    RING_FOR(node, &th->rings[r], next) {
      node_s *elt = PARENT(node_s, link, node);
      if (testlib_rng_below(&th->rng, 4) == 0) {
        ring_remove(node);
        ring_append(&th->rings[1 - r], node);
        elt->ring = 1 - r;
        --th->counts[r];
        ++th->counts[1 - r];
      }
    }
    break;
  }
  }
}

/* One step on the shared ring, with the lock held. */
static void shared_step(thread_s *th)
{
  node_s *n = &th->shared_nodes[testlib_rng_below(&th->rng, SHARED_NODES)];
  switch (testlib_rng_below(&th->rng, 4)) {
  case 0:
  case 1:
    if (!n->on_shared) {
      if (testlib_rng_below(&th->rng, 2) == 0)
        ring_append(&shared_ring, &n->link);
      else
        ring_insert(&shared_ring, &n->link);
      n->on_shared = true;
      ++th->inserted;
    } else {
      ring_remove(&n->link);
      n->on_shared = false;
      ++th->removed;
    }
    break;
  case 2: { /* take some of this thread's nodes off while iterating */
    Ring node, next;
    RING_FOR(node, &shared_ring, next) {
      node_s *elt = PARENT(node_s, link, node);
      if (elt->owner == th->index && testlib_rng_below(&th->rng, 3) == 0) {
        ring_remove(node);
        elt->on_shared = false;
        ++th->removed;
      }
    }
    break;
  }
  default:
    check_shared();
    break;
  }
}

static void *worker(void *arg)
{
  thread_s *th = arg;
  unsigned i;
  for (i = 0; i < ITERATIONS; ++i) {
    private_step(th);
    if (i % 64 == 0)
      check_private(th);
    if (i % 4 == 0) {
      testthr_spin_lock(&shared_lock);
      shared_step(th);
      testthr_spin_unlock(&shared_lock);
    }
  }
  check_private(th);
  return NULL;
}

int main(int argc, char **argv)
{
  uint64_t seed = testlib_seed(argc, argv, "stress_ring");
  testthr_s tids[THREADS];
  Count inserted = 0, removed = 0;
  unsigned t, i, r;

  ring_init(&shared_ring);
  for (t = 0; t < THREADS; ++t) {
    thread_s *th = &threads[t];
    th->index = t;
    testlib_rng_init(&th->rng, seed + t + 1);
    for (r = 0; r < 2; ++r) {
      ring_init(&th->rings[r]);
      th->counts[r] = 0;
    }
    for (i = 0; i < PRIVATE_NODES; ++i) {
      th->private_nodes[i].owner = t;
      th->private_nodes[i].ring = 2;
      ring_init(&th->private_nodes[i].link);
    }
    for (i = 0; i < SHARED_NODES; ++i) {
      th->shared_nodes[i].owner = t;
      th->shared_nodes[i].on_shared = false;
      ring_init(&th->shared_nodes[i].link);
    }
  }
  for (t = 0; t < THREADS; ++t)
    testthr_create(&tids[t], worker, &threads[t]);
  for (t = 0; t < THREADS; ++t)
    testthr_join(&tids[t]);

  /* Joining ordered every thread's writes before these reads. */
  check_shared();
  for (t = 0; t < THREADS; ++t) {
    thread_s *th = &threads[t];
    inserted += th->inserted;
    removed += th->removed;
    for (i = 0; i < SHARED_NODES; ++i) {
      if (th->shared_nodes[i].on_shared)
        ring_remove(&th->shared_nodes[i].link);
      ring_finish(&th->shared_nodes[i].link);
    }
    for (i = 0; i < PRIVATE_NODES; ++i) {
      if (th->private_nodes[i].ring != 2)
        ring_remove(&th->private_nodes[i].link);
      ring_finish(&th->private_nodes[i].link);
    }
    for (r = 0; r < 2; ++r) {
      TESTLIB_REQUIRE(ring_is_single(&th->rings[r]));
      ring_finish(&th->rings[r]);
    }
  }
  TESTLIB_REQUIRE(ring_is_single(&shared_ring));
  ring_finish(&shared_ring);
  printf("stress_ring: %d threads, %lu shared insertions, %lu removals: ok\n",
         THREADS, (unsigned long)inserted, (unsigned long)removed);
  return 0;
}
