/* demo.c: a small mps11 client using only the public interface.
 *
 * It counts the words of a text many times over with a hash table whose
 * nodes live in an MFS pool (fixed size) and whose strings live in an MVFF
 * pool, allocated through an allocation point (mps_reserve / mps_commit).
 * After each round it frees every node and string, so the pools churn.
 * It prints the most frequent words, pool and arena statistics, and what
 * happens when the commit limit is too low.  Until the garbage collector
 * and the Scheme interpreter land, this is the demo of the README.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmfs.h"
#include "../include/mpscmvff.h"

static const char text[] =
  "the memory pool system is a flexible and adaptable memory manager "
  "among its many advantages are an incremental garbage collector with "
  "very low pause times and an extremely robust implementation the "
  "memory pool system provides manual pools and automatic pools and the "
  "client chooses the policy of each pool for the objects it holds "
  "allocation points let a thread allocate without taking a lock and "
  "the arena returns memory to the operating system when it is spare";

typedef struct node_s {
  struct node_s *next;
  char *word;          /* in the MVFF pool */
  size_t length;
  unsigned long count;
} node_s;

#define BUCKETS 97

typedef struct table_s {
  node_s *bucket[BUCKETS];
  mps_pool_t nodes;    /* MFS */
  mps_pool_t strings;  /* MVFF */
  mps_ap_t ap;         /* on strings */
  size_t words;
} table_s;

static void die(const char *what, mps_res_t res)
{
  fprintf(stderr, "demo: %s failed (mps_res_t %d)\n", what, res);
  exit(1);
}

static unsigned long hash(const char *s, size_t n)
{
  unsigned long h = 5381;
  while (n-- > 0)
    h = h * 33 + (unsigned char)*s++;
  return h;
}

/* Copy a word into the string pool with the allocation point protocol:
 * reserve, initialize, commit; retry if the commit reports a trap. */
static char *intern(table_s *t, const char *s, size_t n)
{
  size_t size = (n + 1 + MPS_PF_ALIGN - 1) & ~(size_t)(MPS_PF_ALIGN - 1);
  mps_addr_t p;
  do {
    mps_res_t res = mps_reserve(&p, t->ap, size);
    if (res != MPS_RES_OK)
      die("mps_reserve", res);
    memcpy(p, s, n);
    ((char *)p)[n] = '\0';
  } while (!mps_commit(t->ap, p, size));
  return p;
}

static mps_res_t count_word(table_s *t, const char *s, size_t n)
{
  node_s **b = &t->bucket[hash(s, n) % BUCKETS], *node;
  mps_addr_t p;
  mps_res_t res;
  for (node = *b; node != NULL; node = node->next)
    if (node->length == n && memcmp(node->word, s, n) == 0) {
      ++node->count;
      return MPS_RES_OK;
    }
  res = mps_alloc(&p, t->nodes, sizeof(node_s));
  if (res != MPS_RES_OK)
    return res;
  node = p;
  node->word = intern(t, s, n);
  node->length = n;
  node->count = 1;
  node->next = *b;
  *b = node;
  ++t->words;
  return MPS_RES_OK;
}

static void clear(table_s *t)
{
  size_t i;
  for (i = 0; i < BUCKETS; ++i) {
    node_s *node = t->bucket[i];
    while (node != NULL) {
      node_s *next = node->next;
      size_t size = (node->length + 1 + MPS_PF_ALIGN - 1) & ~(size_t)(MPS_PF_ALIGN - 1);
      mps_free(t->strings, node->word, size);
      mps_free(t->nodes, node, sizeof(node_s));
      node = next;
    }
    t->bucket[i] = NULL;
  }
  t->words = 0;
}

static void count_text(table_s *t, unsigned repeat)
{
  unsigned r;
  for (r = 0; r < repeat; ++r) {
    const char *s = text;
    while (*s != '\0') {
      size_t n = strcspn(s, " ");
      mps_res_t res = count_word(t, s, n);
      if (res != MPS_RES_OK)
        die("mps_alloc", res);
      s += n;
      s += strspn(s, " ");
    }
  }
}

static void print_top(table_s *t, int k)
{
  int shown;
  unsigned long last = (unsigned long)-1;
  printf("  most frequent words:");
  for (shown = 0; shown < k; ) {
    unsigned long best = 0;
    size_t i;
    node_s *node;
    for (i = 0; i < BUCKETS; ++i)
      for (node = t->bucket[i]; node != NULL; node = node->next)
        if (node->count > best && node->count < last)
          best = node->count;
    if (best == 0)
      break;
    for (i = 0; i < BUCKETS && shown < k; ++i)
      for (node = t->bucket[i]; node != NULL && shown < k; node = node->next)
        if (node->count == best) {
          printf(" %s(%lu)", node->word, node->count);
          ++shown;
        }
    last = best;
  }
  printf("\n");
}

int main(void)
{
  mps_arena_t arena;
  table_s t;
  mps_res_t res;
  unsigned round;

  memset(&t, 0, sizeof t);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)32 << 20);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  if (res != MPS_RES_OK)
    die("mps_arena_create_k", res);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, sizeof(node_s));
    res = mps_pool_create_k(&t.nodes, arena, mps_class_mfs(), args);
  } MPS_ARGS_END(args);
  if (res != MPS_RES_OK)
    die("MFS pool", res);
  res = mps_pool_create_k(&t.strings, arena, mps_class_mvff(), mps_args_none);
  if (res != MPS_RES_OK)
    die("MVFF pool", res);
  res = mps_ap_create_k(&t.ap, t.strings, mps_args_none);
  if (res != MPS_RES_OK)
    die("allocation point", res);

  printf("mps11 demo: counting words with an MFS pool of nodes and an MVFF pool of strings\n");
  for (round = 1; round <= 3; ++round) {
    count_text(&t, 1000 * round);
    printf("round %u: %zu distinct words\n", round, t.words);
    print_top(&t, 5);
    printf("  MFS  total %zu bytes, free %zu\n", mps_pool_total_size(t.nodes),
           mps_pool_free_size(t.nodes));
    printf("  MVFF total %zu bytes, free %zu\n", mps_pool_total_size(t.strings),
           mps_pool_free_size(t.strings));
    clear(&t);
  }
  printf("arena: reserved %zu KiB, committed %zu KiB, spare %zu KiB\n",
         mps_arena_reserved(arena) >> 10, mps_arena_committed(arena) >> 10,
         mps_arena_spare_committed(arena) >> 10);

  /* Resource limits are results, not crashes: with no room to commit
   * more, allocation fails cleanly and the arena stays usable. */
  mps_arena_spare_set(arena, 0.0);
  res = mps_arena_commit_limit_set(arena, mps_arena_committed(arena));
  if (res != MPS_RES_OK)
    die("mps_arena_commit_limit_set", res);
  {
    mps_addr_t p;
    size_t n = 0;
    while ((res = mps_alloc(&p, t.nodes, sizeof(node_s))) == MPS_RES_OK)
      ++n;
    printf("with the commit limit at the committed size: %zu more nodes, then %s\n", n,
           res == MPS_RES_COMMIT_LIMIT ? "MPS_RES_COMMIT_LIMIT" : "another result");
  }
  mps_arena_commit_limit_set(arena, (size_t)-1);

  mps_ap_destroy(t.ap);
  mps_pool_destroy(t.strings);
  mps_pool_destroy(t.nodes);
  mps_arena_destroy(arena);
  printf("done: every pool and the arena destroyed\n");
  return 0;
}
