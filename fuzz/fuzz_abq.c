/* fuzz_abq.c: the available block queue against a model deque (an array
 * of elements, oldest first).
 *
 * Byte 0 picks the capacity (0 to 40: a queue of capacity 0 is always
 * full and always empty), byte 1 the element size (1 to 48 bytes, so that
 * sizes that are not a multiple of a word occur).  Then each operation is
 * a byte and its operands: push, push at the head, pop, peek, iterate
 * with a byte per element saying whether the visitor deletes it, changes
 * it in place and stops there, and make a second queue with the arena
 * refusing it, or under a commit limit that leaves it no new memory.
 *
 * Elements pass in and out through buffers of exactly the element size,
 * so that AddressSanitizer sees a copy of too many bytes.  Each pushed
 * element is new: its bytes depend on a serial number, so that a lost,
 * repeated or reordered element shows.  After every operation the queue
 * passes abq_check, its depth and fullness agree with the model, and a
 * walk (an iteration that keeps everything) sees the model's elements in
 * order.  At the end, finishing the queue gives back all the control
 * memory it took.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../src/pool/abq.h"
#include "../stress/support/testlib.h"
#include "support/model.h"
#include "support/refusal.h"
#include "support/input.h"

#define FUZZ_ABQ_CAPACITY 40
#define FUZZ_ABQ_SIZE 48


typedef struct fuzz_abq_s {
  Arena arena;
  abq_s abq;
  Count capacity;
  Size size;
  unsigned serial;              /* of the next element made */
  unsigned char model[FUZZ_ABQ_CAPACITY][FUZZ_ABQ_SIZE];
  Count count;
  unsigned char *element;       /* `size` bytes, malloc'd */
} fuzz_abq_s;

/* What the visitor does to each element it is given: the input's byte
 * for it, and what it saw. */
#define FUZZ_ABQ_DELETE 1
#define FUZZ_ABQ_CHANGE 2
#define FUZZ_ABQ_STOP 4

typedef struct fuzz_abq_visit_s {
  fuzz_abq_s *s;
  const unsigned char *what;   /* a byte per element of the model */
  Count visited;
  bool stopped;
} fuzz_abq_visit_s;

/* Fill buf with a new element. */
static void fuzz_abq_make(fuzz_abq_s *s, unsigned char *buf)
{
  Index i;
  unsigned serial = s->serial++;
  for (i = 0; i < s->size; ++i)
    buf[i] = (unsigned char)(serial * 0x9Du + i * 0x35u + (serial >> 8));
}

/* Each element in turn, which must be the model's next, treated as the
 * input says.  Nothing after a stop may be visited. */
static bool fuzz_abq_visitor(bool *delete_return, void *element, void *closure)
{
  fuzz_abq_visit_s *v = closure;
  fuzz_abq_s *s = v->s;
  unsigned what;
  Index i;
  TESTLIB_REQUIRE(!v->stopped);
  TESTLIB_REQUIRE(!*delete_return);
  TESTLIB_REQUIRE(v->visited < s->count);
  TESTLIB_REQUIRE(memcmp(element, s->model[v->visited], s->size) == 0);
  what = v->what[v->visited];
  ++v->visited;
  if (what & FUZZ_ABQ_CHANGE)
    for (i = 0; i < s->size; ++i)
      ((unsigned char *)element)[i] ^= (unsigned char)(what | 1);
  if (what & FUZZ_ABQ_DELETE)
    *delete_return = true;
  v->stopped = (what & FUZZ_ABQ_STOP) != 0;
  return !v->stopped;
}

/* The model after an iteration that visited the first `visited`
 * elements. */
FUZZ_MODEL static void fuzz_abq_model_iterate(fuzz_abq_s *s, const unsigned char *what,
                                              Count visited)
{
  Index from, to = 0, i;
  for (from = 0; from < s->count; ++from) {
    unsigned w = from < visited ? what[from] : 0;
    if (w & FUZZ_ABQ_DELETE)
      continue;
    if (w & FUZZ_ABQ_CHANGE)
      for (i = 0; i < s->size; ++i)
        s->model[from][i] ^= (unsigned char)(w | 1);
    if (to != from)
      memcpy(s->model[to], s->model[from], s->size);
    ++to;
  }
  s->count = to;
}

static void fuzz_abq_iterate(fuzz_abq_s *s, fuzz_input_s *in)
{
  unsigned char what[FUZZ_ABQ_CAPACITY];
  fuzz_abq_visit_s v;
  Index i;
  for (i = 0; i < s->count; ++i)
    what[i] = (unsigned char)fuzz_input_take8(in);
  v.s = s;
  v.what = what;
  v.visited = 0;
  v.stopped = false;
  abq_iterate(&s->abq, fuzz_abq_visitor, &v);
  /* It visits until the visitor stops it, or every element. */
  TESTLIB_REQUIRE(v.stopped || v.visited == s->count);
  fuzz_abq_model_iterate(s, what, v.visited);
}

/* A walk that keeps everything must see the model. */
FUZZ_MODEL static void fuzz_abq_compare(fuzz_abq_s *s)
{
  static const unsigned char keep[FUZZ_ABQ_CAPACITY];
  fuzz_abq_visit_s v;
  v.s = s;
  v.what = keep;
  v.visited = 0;
  v.stopped = false;
  TESTLIB_REQUIRE(abq_check(&s->abq));
  TESTLIB_REQUIRE(abq_depth(&s->abq) == s->count);
  TESTLIB_REQUIRE(abq_is_full(&s->abq) == (s->count == s->capacity));
  abq_iterate(&s->abq, fuzz_abq_visitor, &v);
  TESTLIB_REQUIRE(v.visited == s->count);
  TESTLIB_REQUIRE(abq_depth(&s->abq) == s->count);
}

static void fuzz_abq_push(fuzz_abq_s *s, bool at_head)
{
  bool room = s->count < s->capacity;
  fuzz_abq_make(s, s->element);
  TESTLIB_REQUIRE((at_head ? abq_push_head : abq_push)(&s->abq, s->element) == room);
  if (!room)
    return;
  if (at_head) {
    memmove(s->model[1], s->model[0], sizeof s->model[0] * s->count);
    memcpy(s->model[0], s->element, s->size);
  } else {
    memcpy(s->model[s->count], s->element, s->size);
  }
  ++s->count;
}

static void fuzz_abq_pop(fuzz_abq_s *s, bool pop)
{
  bool any = s->count > 0;
  memset(s->element, 0xEE, s->size);
  TESTLIB_REQUIRE((pop ? abq_pop : abq_peek)(&s->abq, s->element) == any);
  if (!any)
    return;
  TESTLIB_REQUIRE(memcmp(s->element, s->model[0], s->size) == 0);
  if (pop) {
    --s->count;
    memmove(s->model[0], s->model[1], sizeof s->model[0] * s->count);
  }
}

/* A second queue, refused by the arena or made under a commit limit of
 * what the arena has committed (which refuses it only if it needs more
 * control grains); made, it fills to its capacity and no further. */
static void fuzz_abq_second(fuzz_abq_s *s, bool limited, fuzz_input_s *in)
{
  Arena arena = s->arena;
  Size size = 1 + fuzz_input_take8(in) % FUZZ_ABQ_SIZE;
  /* Under the limit, up to three megabytes, more than the arena's control
   * grains hold. */
  Count capacity = limited ? fuzz_input_take16(in) : fuzz_input_take8(in) % (FUZZ_ABQ_CAPACITY + 1);
  Size in_use = refusal_control_in_use(arena), committed = arena->committed;
  Size commit_limit = 0;
  unsigned char *element = malloc(size);
  abq_s other;
  Count before, i;
  Res res;
  TESTLIB_REQUIRE(element != NULL);
  if (limited)
    commit_limit = refusal_limit_entered(arena);
  else
    arena_fail_after(arena, 1);
  before = refusal_countdown((mps_arena_t)arena);
  res = abq_init(&other, arena, capacity, size);
  if (limited) {
    refusal_unlimit_entered(arena, commit_limit);
  } else {
    /* Storage is one block, and a queue of capacity 0 has none to
     * refuse. */
    TESTLIB_REQUIRE((res == MPS_RES_OK) == (capacity == 0));
    if (capacity > 0)
      TESTLIB_REQUIRE(refusal_fell((mps_arena_t)arena, before));
    arena_fail_after(arena, 0);
  }
  if (res != MPS_RES_OK) {
    TESTLIB_REQUIRE(limited ? res == MPS_RES_COMMIT_LIMIT : res == MPS_RES_MEMORY);
    TESTLIB_REQUIRE(refusal_control_in_use(arena) == in_use);
    TESTLIB_REQUIRE(arena->committed <= committed);
    TESTLIB_REQUIRE(abq_init(&other, arena, capacity, size) == MPS_RES_OK);
  }
  TESTLIB_REQUIRE(abq_check(&other));
  TESTLIB_REQUIRE(abq_depth(&other) == 0);
  TESTLIB_REQUIRE(!abq_peek(&other, element));
  for (i = 0; i < capacity && i < 2 * FUZZ_ABQ_CAPACITY; ++i) {
    TESTLIB_REQUIRE(!abq_is_full(&other));
    memset(element, (int)i, size);
    TESTLIB_REQUIRE(abq_push(&other, element));
  }
  TESTLIB_REQUIRE(abq_depth(&other) == i);
  if (i == capacity) {
    TESTLIB_REQUIRE(abq_is_full(&other));
    TESTLIB_REQUIRE(!abq_push(&other, element) && !abq_push_head(&other, element));
  }
  if (i > 0) {
    TESTLIB_REQUIRE(abq_pop(&other, element));
    TESTLIB_REQUIRE(element[0] == 0 && element[size - 1] == 0);
  }
  abq_finish(&other);
  TESTLIB_REQUIRE(refusal_control_in_use(arena) == in_use);
  free(element);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static fuzz_abq_s s;
  fuzz_input_s in = {data, size};
  mps_arena_t arena;
  Size in_use;

  s.capacity = fuzz_input_take8(&in) % (FUZZ_ABQ_CAPACITY + 1);
  s.size = 1 + fuzz_input_take8(&in) % FUZZ_ABQ_SIZE;
  s.serial = 0;
  s.count = 0;
  s.element = malloc(s.size);
  TESTLIB_REQUIRE(s.element != NULL);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 20);
    TESTLIB_REQUIRE(mps_arena_create_k(&arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  s.arena = (Arena)arena;
  arena_enter(s.arena);
  in_use = refusal_control_in_use(s.arena);
  TESTLIB_REQUIRE(abq_init(&s.abq, s.arena, s.capacity, s.size) == MPS_RES_OK);

  while (in.size > 0) {
    unsigned op = fuzz_input_take8(&in);
    switch (op % 8) {
    case 0:
    case 1:
      fuzz_abq_push(&s, op % 8 == 1);
      break;
    case 2:
    case 3:
      fuzz_abq_pop(&s, op % 8 == 2);
      break;
    case 4:
    case 5:
      fuzz_abq_iterate(&s, &in);
      break;
    default:
      fuzz_abq_second(&s, op % 8 == 7, &in);
      break;
    }
    fuzz_abq_compare(&s);
  }

  abq_finish(&s.abq);
  TESTLIB_REQUIRE(refusal_control_in_use(s.arena) == in_use);
  arena_leave(s.arena);
  mps_arena_destroy(arena);
  free(s.element);
  return 0;
}
