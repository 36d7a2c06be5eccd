/* fuzz_ring.c: rings against a model of arrays of node ids.
 *
 * A pool of nodes moves between a few rings.  Each input byte picks an
 * operation (append, insert, remove, move, an iteration that removes some
 * nodes, a look at one node's neighbours), the next bytes its operands.
 * After every operation each ring is walked both ways and compared with
 * its model, and every node is checked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../src/data/ring.h"
#include "../stress/support/testlib.h"
#include "support/input.h"

#define FUZZ_RING_NODES 16
#define FUZZ_RING_RINGS 4

typedef struct fuzz_node_s {
  unsigned id;
  ring_s link;
} fuzz_node_s;

typedef struct fuzz_ring_state_s {
  ring_s heads[FUZZ_RING_RINGS];
  fuzz_node_s nodes[FUZZ_RING_NODES];
  /* The model: ids on each ring in order, and the ring of each node
   * (FUZZ_RING_RINGS for none). */
  unsigned order[FUZZ_RING_RINGS][FUZZ_RING_NODES];
  unsigned count[FUZZ_RING_RINGS];
  unsigned where[FUZZ_RING_NODES];
} fuzz_ring_state_s;


static void model_add(fuzz_ring_state_s *s, unsigned r, unsigned id,
                      bool at_end)
{
  unsigned i;
  if (at_end) {
    s->order[r][s->count[r]] = id;
  } else {
    for (i = s->count[r]; i > 0; --i)
      s->order[r][i] = s->order[r][i - 1];
    s->order[r][0] = id;
  }
  ++s->count[r];
  s->where[id] = r;
}

static void model_remove(fuzz_ring_state_s *s, unsigned id)
{
  unsigned r = s->where[id], i, j = 0;
  for (i = 0; i < s->count[r]; ++i)
    if (s->order[r][i] != id)
      s->order[r][j++] = s->order[r][i];
  TESTLIB_REQUIRE(j + 1 == s->count[r]);
  s->count[r] = j;
  s->where[id] = FUZZ_RING_RINGS;
}

static unsigned id_of(Ring node)
{
  return PARENT(fuzz_node_s, link, node)->id;
}

static void compare(fuzz_ring_state_s *s)
{
  unsigned r, id;
  for (r = 0; r < FUZZ_RING_RINGS; ++r) {
    Ring head = &s->heads[r], node, next;
    unsigned i = 0;
    TESTLIB_REQUIRE(ring_check(head));
    RING_FOR(node, head, next) {
      TESTLIB_REQUIRE(i < s->count[r]);
      TESTLIB_REQUIRE(id_of(node) == s->order[r][i]);
      ++i;
    }
    TESTLIB_REQUIRE(i == s->count[r]);
    for (node = ring_prev(head); node != head; node = ring_prev(node)) {
      TESTLIB_REQUIRE(i > 0);
      --i;
      TESTLIB_REQUIRE(id_of(node) == s->order[r][i]);
    }
    TESTLIB_REQUIRE(ring_length(head) == s->count[r]);
    TESTLIB_REQUIRE(ring_is_single(head) == (s->count[r] == 0));
  }
  for (id = 0; id < FUZZ_RING_NODES; ++id) {
    Ring link = &s->nodes[id].link;
    TESTLIB_REQUIRE(ring_check(link));
    TESTLIB_REQUIRE(ring_is_single(link) == (s->where[id] == FUZZ_RING_RINGS));
    if (s->where[id] == FUZZ_RING_RINGS)
      TESTLIB_REQUIRE(ring_check_single(link));
  }
}

/* Look at one node's neighbours, and at its ring seen from it. */
static void check_neighbours(fuzz_ring_state_s *s, unsigned id)
{
  unsigned r = s->where[id], i;
  Ring link = &s->nodes[id].link, head;
  Ring want_next, want_prev;
  if (r == FUZZ_RING_RINGS) {
    TESTLIB_REQUIRE(ring_next(link) == link && ring_prev(link) == link);
    TESTLIB_REQUIRE(ring_length(link) == 0);
    return;
  }
  head = &s->heads[r];
  for (i = 0; s->order[r][i] != id; ++i)
    TESTLIB_REQUIRE(i + 1 < s->count[r]);
  want_prev = i == 0 ? head : &s->nodes[s->order[r][i - 1]].link;
  want_next = i + 1 == s->count[r] ? head
                                   : &s->nodes[s->order[r][i + 1]].link;
  TESTLIB_REQUIRE(ring_next(link) == want_next);
  TESTLIB_REQUIRE(ring_prev(link) == want_prev);
  /* Seen from an element, the head is one more node. */
  TESTLIB_REQUIRE(ring_length(link) == s->count[r]);
}

/* Iterate ring r, removing the nodes at the positions whose bit is set in
 * `mask` (repeating every 8). */
static void iterate_removing(fuzz_ring_state_s *s, unsigned r, unsigned mask)
{
  unsigned seen[FUZZ_RING_NODES];
  unsigned n = 0, i;
  Ring node, next;
  RING_FOR(node, &s->heads[r], next) {
    TESTLIB_REQUIRE(n < s->count[r]);
    TESTLIB_REQUIRE(id_of(node) == s->order[r][n]);
    seen[n] = id_of(node);
    if ((mask >> (n % 8)) & 1)
      ring_remove(node);
    ++n;
  }
  TESTLIB_REQUIRE(n == s->count[r]);
  for (i = 0; i < n; ++i)
    if ((mask >> (i % 8)) & 1)
      model_remove(s, seen[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static fuzz_ring_state_s state;
  fuzz_ring_state_s *s = &state;
  fuzz_input_s in = {data, size};
  unsigned op, a, b, r, id;

  for (r = 0; r < FUZZ_RING_RINGS; ++r) {
    ring_init(&s->heads[r]);
    s->count[r] = 0;
  }
  for (id = 0; id < FUZZ_RING_NODES; ++id) {
    s->nodes[id].id = id;
    ring_init(&s->nodes[id].link);
    s->where[id] = FUZZ_RING_RINGS;
  }

  while (fuzz_input_next(&in, &op) && fuzz_input_next(&in, &a) && fuzz_input_next(&in, &b)) {
    id = a % FUZZ_RING_NODES;
    r = b % FUZZ_RING_RINGS;
    switch (op % 6) {
    case 0: /* append */
    case 1: /* insert */
      if (s->where[id] == FUZZ_RING_RINGS) {
        if (op % 6 == 0)
          ring_append(&s->heads[r], &s->nodes[id].link);
        else
          ring_insert(&s->heads[r], &s->nodes[id].link);
        model_add(s, r, id, op % 6 == 0);
      }
      break;
    case 2: /* remove */
      if (s->where[id] != FUZZ_RING_RINGS) {
        ring_remove(&s->nodes[id].link);
        model_remove(s, id);
      }
      break;
    case 3: /* move to another ring, at either end */
      if (s->where[id] != FUZZ_RING_RINGS) {
        bool at_end = (b & 0x80) != 0;
        ring_remove(&s->nodes[id].link);
        model_remove(s, id);
        if (at_end)
          ring_append(&s->heads[r], &s->nodes[id].link);
        else
          ring_insert(&s->heads[r], &s->nodes[id].link);
        model_add(s, r, id, at_end);
      }
      break;
    case 4: /* iterate, removing some */
      iterate_removing(s, r, a);
      break;
    default: /* look */
      check_neighbours(s, id);
      break;
    }
    compare(s);
  }

  for (id = 0; id < FUZZ_RING_NODES; ++id) {
    if (s->where[id] != FUZZ_RING_RINGS)
      ring_remove(&s->nodes[id].link);
    ring_finish(&s->nodes[id].link);
  }
  for (r = 0; r < FUZZ_RING_RINGS; ++r)
    ring_finish(&s->heads[r]);
  return 0;
}
