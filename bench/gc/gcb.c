/* gcb.c: two garbage-collection workloads, the same for every collector.
 *
 * The collector is chosen when this file is compiled: -DGCB_AMC or
 * -DGCB_AMS (gc_mps.h, an MPS pool through an allocation point) or
 * -DGCB_BOEHM (gc_boehm.h, GC_MALLOC).  Each header supplies:
 *
 *   GCB_NAME                    the collector's name, printed
 *   GCB_HEADER                  the member(s) every object starts with
 *   gcb_setup(cold), gcb_teardown()
 *   gcb_root_table(count)       a zeroed table of exact roots
 *   GCB_ALLOC_OBJ(type, var, size, nrefs, init)
 *                               allocate an object whose nrefs pointer
 *                               fields follow the header; init (an
 *                               expression) fills in the fields
 *   GCB_ALLOC_LEAF(type, var, size, init)   the same, with no pointers
 *   gcb_collections()           how many collections have run
 * Local variables may hold references: every collector here scans the
 * stack (conservatively).
 *
 * Workloads (argv[1]):
 *   trees [depth]   binary trees in the manner of Ellis, Kovac and Boehm's
 *       GCBench: a stretch tree of depth+2 built and dropped; a long-lived
 *       tree of the given depth (default 16) and a long-lived leaf array of
 *       500,000 doubles, held in exact roots; then, for each even depth d
 *       from 4 to depth, as many trees of depth d as make twice the nodes
 *       of the stretch tree, built top down (a node, then its children
 *       filled in) and as many built bottom up (children first), each
 *       dropped at once.  At the end the long-lived structures are checked.
 *   mutate [steps]  a table of 200,000 object references (an exact root)
 *       changed at random for the given number of steps (default
 *       4,000,000): 60% of steps replace an entry with a new object (2
 *       references to random entries, a value, 0 to 5 payload words), 30%
 *       point a field of an existing object at a random entry (old objects
 *       come to refer to young ones), 10% read through two references.
 *   retain [MiB]    a long-lived structure of the given size (default 64
 *       MiB) written rarely, beside a stream of short-lived temporaries:
 *       see work_retain.
 * Both are deterministic; the checksum depends only on the workload, so
 * every collector must print the same one.
 *
 * Pauses: mutate and retain read the monotonic clock at every step (of
 * their set-up loops too) and report the longest time between two reads,
 * which is where a collection (or a piece of one) stopped the mutator.
 * Trees takes no such readings: its steps are whole trees.
 *
 * Output: "result name=<workload>-<collector> seconds=... peak_kib=...
 * checksum=... collections=... max_pause_ms=..." for bench/gc/run.sh.
 */
#define _XOPEN_SOURCE 700

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static void gcb_die(const char *what, int code)
{
  fprintf(stderr, "gcb: %s failed (%d)\n", what, code);
  exit(2);
}

#if defined(GCB_AMC) || defined(GCB_AMS)
#include "gc_mps.h"
#elif defined(GCB_BOEHM)
#include "gc_boehm.h"
#else
#error "gcb.c: choose a collector with -DGCB_AMC, -DGCB_AMS or -DGCB_BOEHM"
#endif

/* ---- pauses -------------------------------------------------------- */

static double gcb_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double gcb_tick_last, gcb_tick_max = -1.0;

/* A step boundary: the longest time between two is the longest pause. */
static void gcb_tick(void)
{
  double now = gcb_now();
  if (gcb_tick_last != 0.0 && now - gcb_tick_last > gcb_tick_max)
    gcb_tick_max = now - gcb_tick_last;
  gcb_tick_last = now;
}

/* ---- trees --------------------------------------------------------- */

typedef struct node_s {
  GCB_HEADER
  struct node_s *left, *right;
  int depth, pad;
} node_s;

typedef struct darray_s {
  GCB_HEADER
  size_t len;
  double d[];
} darray_s;

enum { TREES_MIN_DEPTH = 4, TREES_ARRAY = 500000 };

static node_s *node_new(node_s *left, node_s *right, int depth)
{
  node_s *n;
  GCB_ALLOC_OBJ(node_s, n, sizeof *n, 2,
                (n->left = left, n->right = right, n->depth = depth, n->pad = 0));
  return n;
}

/* Fill in the children of n down to depth 0 (recursion depth <= depth). */
static void tree_populate(node_s *n, int depth)
{
  if (depth <= 0)
    return;
  n->left = node_new(NULL, NULL, depth - 1);
  n->right = node_new(NULL, NULL, depth - 1);
  tree_populate(n->left, depth - 1);
  tree_populate(n->right, depth - 1);
}

/* Build children first (recursion depth <= depth). */
static node_s *tree_make(int depth)
{
  node_s *left, *right;
  if (depth <= 0)
    return node_new(NULL, NULL, 0);
  left = tree_make(depth - 1);
  right = tree_make(depth - 1);
  return node_new(left, right, depth);
}

/* Count the nodes, checking each child is one level shallower
 * (recursion depth <= the tree's depth). */
static unsigned long tree_count(const node_s *n)
{
  if (n->left == NULL && n->right == NULL && n->depth == 0)
    return 1;
  if (n->left == NULL || n->right == NULL || n->left->depth != n->depth - 1
      || n->right->depth != n->depth - 1)
    gcb_die("tree shape", n->depth);
  return 1 + tree_count(n->left) + tree_count(n->right);
}

static unsigned long tree_nodes(int depth)
{
  return (2ul << depth) - 1;
}

static uint64_t work_trees(unsigned long arg)
{
  int max_depth = arg != 0 ? (int)arg : 16, stretch = max_depth + 2, d;
  void **roots = gcb_root_table(2);
  uint64_t sum = 0;
  node_s *t;
  darray_s *a;
  size_t i;

  if (max_depth < TREES_MIN_DEPTH || max_depth > 24)
    gcb_die("trees depth (4..24)", max_depth);
  sum += tree_count(tree_make(stretch));

  t = node_new(NULL, NULL, max_depth);
  roots[0] = t;
  tree_populate(t, max_depth);
  t = NULL;
  GCB_ALLOC_LEAF(darray_s, a, sizeof *a + TREES_ARRAY * sizeof(double),
                 (a->len = TREES_ARRAY, memset(a->d, 0, TREES_ARRAY * sizeof(double))));
  roots[1] = a;
  for (i = 0; i < a->len; ++i)
    a->d[i] = 1.0 / (double)(i + 1);
  a = NULL;

  for (d = TREES_MIN_DEPTH; d <= max_depth; d += 2) {
    unsigned long k, iters = 2 * tree_nodes(stretch) / tree_nodes(d);
    for (k = 0; k < iters; ++k) {
      t = node_new(NULL, NULL, d);
      tree_populate(t, d);
    }
    sum += tree_count(t);
    for (k = 0; k < iters; ++k)
      t = tree_make(d);
    sum += tree_count(t) + iters;
  }

  sum += tree_count(roots[0]);
  a = roots[1];
  if (a->len != TREES_ARRAY || a->d[1000] != 1.0 / 1001.0)
    gcb_die("long-lived array", 0);
  {
    double total = 0.0;
    for (i = 0; i < a->len; ++i)
      total += a->d[i];
    sum = sum * 31 + (uint64_t)(total * 1e6);
  }
  return sum;
}

/* ---- mutate -------------------------------------------------------- */

typedef struct mobj_s {
  GCB_HEADER
  struct mobj_s *a, *b;
  uintptr_t value;
  uintptr_t payload[];
} mobj_s;

enum { MUTATE_TABLE = 200000, MUTATE_PAYLOAD_MAX = 5 };

static uint64_t mutate_rng(uint64_t *state)
{
  uint64_t x = *state;   /* xorshift64* */
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1Du;
}

static void mobj_fill(mobj_s *o, mobj_s *a, mobj_s *b, uintptr_t value, size_t payload)
{
  size_t i;
  o->a = a;
  o->b = b;
  o->value = value;
  for (i = 0; i < payload; ++i)
    o->payload[i] = value + i;
}

static mobj_s *mobj_new(mobj_s *a, mobj_s *b, uintptr_t value, size_t payload)
{
  mobj_s *o;
  GCB_ALLOC_OBJ(mobj_s, o, sizeof *o + payload * sizeof(uintptr_t), 2,
                mobj_fill(o, a, b, value, payload));
  return o;
}

static uint64_t work_mutate(unsigned long arg)
{
  unsigned long steps = arg != 0 ? arg : 4000000ul, s;
  mobj_s **table = (mobj_s **)gcb_root_table(MUTATE_TABLE);
  uint64_t rng = 0x243F6A8885A308D3u, sum = 0;
  size_t i;

  for (i = 0; i < MUTATE_TABLE; ++i) {
    gcb_tick();
    table[i] = mobj_new(i > 0 ? table[i - 1] : NULL, NULL, i, i % (MUTATE_PAYLOAD_MAX + 1));
  }
  for (s = 0; s < steps; ++s) {
    uint64_t r = mutate_rng(&rng);
    gcb_tick();
    size_t at = (size_t)(r % MUTATE_TABLE);
    size_t j = (size_t)(r >> 20) % MUTATE_TABLE, k = (size_t)(r >> 40) % MUTATE_TABLE;
    unsigned choice = (unsigned)(r >> 58) % 10;   /* top 6 bits: 0..63 */
    if (choice < 6) {
      table[at] = mobj_new(table[j], table[k], (uintptr_t)(r >> 32),
                           (size_t)(r >> 8) % (MUTATE_PAYLOAD_MAX + 1));
    } else if (choice < 9) {
      if ((r >> 16) & 1)
        table[at]->a = table[j];
      else
        table[at]->b = table[j];
    } else {
      const mobj_s *o = table[at];
      if (o->a != NULL && o->a->b != NULL)
        sum += o->a->b->value;
    }
  }
  for (i = 0; i < MUTATE_TABLE; ++i) {
    const mobj_s *o = table[i];
    sum = sum * 31 + o->value;
    if (o->a != NULL)
      sum += o->a->value;
    if (o->b != NULL)
      sum ^= o->b->value;
  }
  return sum;
}

/* ---- retain -------------------------------------------------------- */

/* A large structure that lives for the whole run, written rarely, beside
 * a stream of short-lived temporaries: what a generational collector
 * with a remembered set is for.  The structure is RETAIN_HEADS lists of
 * records (two references, a value, RETAIN_PAYLOAD payload words) making
 * `arg` MiB (default 64); then RETAIN_STEPS steps each build a list of
 * RETAIN_TEMPS temporaries and drop it, and one step in RETAIN_WRITE
 * also points the `extra` field of a random record at a new record (so
 * old objects come to refer to young ones, and those become old). */
enum {
  RETAIN_HEADS = 4096, RETAIN_PAYLOAD = 4, RETAIN_TEMPS = 8,
  RETAIN_STEPS = 1500000, RETAIN_WRITE = 1024
};

typedef struct rec_s {
  GCB_HEADER
  struct rec_s *next, *extra;
  uintptr_t value;
  uintptr_t payload[RETAIN_PAYLOAD];
} rec_s;

static rec_s *rec_new(rec_s *next, uintptr_t value)
{
  rec_s *r;
  GCB_ALLOC_OBJ(rec_s, r, sizeof *r, 2,
                (r->next = next, r->extra = NULL, r->value = value,
                 r->payload[0] = value, r->payload[1] = value >> 1,
                 r->payload[2] = value >> 2, r->payload[3] = value >> 3));
  return r;
}

static uint64_t work_retain(unsigned long arg)
{
  unsigned long mib = arg != 0 ? arg : 64, records, per_head, i, s;
  rec_s **heads = (rec_s **)gcb_root_table(RETAIN_HEADS);
  uint64_t rng = 0x13198A2E03707344u, sum = 0;

  if (mib > 4096)
    gcb_die("retain size (MiB, up to 4096)", (int)mib);
  /* Counted in 64-byte records whatever the collector's header, so that
   * every collector builds the same structure (and checksum). */
  records = (mib << 20) / 64;
  per_head = records / RETAIN_HEADS + 1;
  for (i = 0; i < RETAIN_HEADS * per_head; ++i) {
    gcb_tick();
    heads[i % RETAIN_HEADS] = rec_new(heads[i % RETAIN_HEADS], i);
  }

  for (s = 0; s < RETAIN_STEPS; ++s) {
    uint64_t r = mutate_rng(&rng);
    gcb_tick();
    rec_s *temp = NULL;
    unsigned t;
    for (t = 0; t < RETAIN_TEMPS; ++t)
      temp = rec_new(temp, (uintptr_t)(r + t));
    sum += temp->next->value;
    if (r % RETAIN_WRITE == 0) {
      rec_s *h = heads[(r >> 8) % RETAIN_HEADS];
      unsigned long hop = (unsigned long)(r >> 24) % per_head;
      while (hop-- > 0 && h->next != NULL)
        h = h->next;
      h->extra = rec_new(NULL, (uintptr_t)(r >> 16));
    }
  }
  for (i = 0; i < RETAIN_HEADS; ++i) {
    const rec_s *h;
    for (h = heads[i]; h != NULL; h = h->next) {
      if (h->payload[3] != h->value >> 3)
        gcb_die("retained record", (int)i);
      sum = sum * 31 + h->value;
      if (h->extra != NULL)
        sum ^= h->extra->value;
    }
  }
  return sum;
}

/* ---- driver -------------------------------------------------------- */

/* The workloads are called through a volatile pointer so that they are
 * never inlined into main, whose local is the cold end of the stack root:
 * the compiler may place main's other locals above it, out of reach. */
typedef uint64_t gcb_work_fn(unsigned long arg);

int main(int argc, char **argv)
{
  const char *work = argc > 1 ? argv[1] : "";
  unsigned long arg = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;
  uint64_t sum;
  struct rusage ru;
  double start;
  int cold;
  gcb_work_fn *volatile work_fn = NULL;

  gcb_setup(&cold);
  start = gcb_now();
  if (strcmp(work, "trees") == 0)
    work_fn = work_trees;
  else if (strcmp(work, "mutate") == 0)
    work_fn = work_mutate;
  else if (strcmp(work, "retain") == 0)
    work_fn = work_retain;
  if (work_fn != NULL)
    sum = work_fn(arg);
  else {
    fprintf(stderr, "usage: gcb trees|mutate|retain [depth|steps|MiB]\n");
    return 2;
  }
  {
    double seconds = gcb_now() - start;
    unsigned long collections = gcb_collections();
    getrusage(RUSAGE_SELF, &ru);
    printf("result name=%s-%s seconds=%.3f peak_kib=%ld checksum=%016llx collections=%lu"
           " max_pause_ms=%.2f\n",
           work, GCB_NAME, seconds, ru.ru_maxrss, (unsigned long long)sum, collections,
           gcb_tick_max * 1e3);
  }
  gcb_teardown();
  return 0;
}
