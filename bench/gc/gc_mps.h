/* gc_mps.h: the MPS collectors for gcb.c: one AMC or AMS pool (chosen by
 * GCB_AMC or GCB_AMS) with one object format, allocated through one
 * allocation point; exact roots are tables registered with
 * mps_root_create_table, and the main thread's registers and stack are an
 * ambiguous root (mps_root_create_thread), so the workload may keep
 * references in local variables as it would with any conservative stack
 * scanner.  The pool has its own chain of three generations (gcb_gens),
 * the same for every workload: a 12 MiB nursery, an intermediate
 * generation that holds a collection's survivors until the next one of it
 * (objects that were merely in construction when the nursery was
 * collected die there), and an old generation for what survives twice.
 *
 * Object layout (a header word, then the fields of gcb.c's structures):
 *   header = tag | nrefs << 2 | size in words << 8
 *   tag 1: an object whose words 1..nrefs are references;
 *   tag 2: a leaf, never scanned (nrefs is 0);
 *   tag 3: a pad of the given size (one word or more);
 *   tag 0: a forwarding marker, the new address in word 1 (every object
 *          is at least two words).
 */
#include "../../include/mps.h"
#include "../../include/mpsavm.h"
/* run.sh names a variant build (amcnb) with -DGCB_NAME. */
#if defined(GCB_AMC)
#include "../../include/mpscamc.h"
#if !defined(GCB_NAME)
#define GCB_NAME "amc"
#endif
#define GCB_CLASS mps_class_amc
#else
#include "../../include/mpscams.h"
#if !defined(GCB_NAME)
#define GCB_NAME "ams"
#endif
#define GCB_CLASS mps_class_ams
#endif

#define GCB_HEADER mps_word_t header;

enum { GCB_TAG_FWD = 0, GCB_TAG_OBJ = 1, GCB_TAG_LEAF = 2, GCB_TAG_PAD = 3 };
#define GCB_WORDS(h) ((size_t)((h) >> 8))

static mps_arena_t gcb_arena;
static mps_fmt_t gcb_fmt;
static mps_pool_t gcb_pool;
static mps_chain_t gcb_chain;
static mps_ap_t gcb_ap;
static mps_thr_t gcb_thread;
static mps_root_t gcb_stack_root;
static mps_root_t gcb_roots[4];
static size_t gcb_nroots;

static mps_res_t gcb_scan(mps_ss_t ss, mps_addr_t base, mps_addr_t limit)
{
  MPS_SCAN_BEGIN(ss) {
    mps_word_t *p = base;
    while (p < (mps_word_t *)limit) {
      mps_word_t h = p[0];
      if ((h & 3) == GCB_TAG_OBJ) {
        size_t i, n = (size_t)(h >> 2 & 0x3F);
        for (i = 1; i <= n; ++i) {
          mps_addr_t *slot = (mps_addr_t *)&p[i];
          if (MPS_FIX1(ss, *slot)) {
            mps_res_t res = MPS_FIX2(ss, slot);
            if (res != MPS_RES_OK)
              return res;
          }
        }
      }
      p += GCB_WORDS(h);
    }
  } MPS_SCAN_END(ss);
  return MPS_RES_OK;
}

static mps_addr_t gcb_skip(mps_addr_t addr)
{
  mps_word_t *p = addr;
  return p + GCB_WORDS(p[0]);
}

static void gcb_fwd(mps_addr_t old, mps_addr_t new_addr)
{
  mps_word_t *p = old;
  p[0] = GCB_TAG_FWD | (mps_word_t)GCB_WORDS(p[0]) << 8;
  ((mps_addr_t *)p)[1] = new_addr;
}

static mps_addr_t gcb_isfwd(mps_addr_t addr)
{
  mps_word_t *p = addr;
  return (p[0] & 3) == GCB_TAG_FWD ? ((mps_addr_t *)p)[1] : NULL;
}

static void gcb_pad(mps_addr_t addr, size_t size)
{
  *(mps_word_t *)addr = GCB_TAG_PAD | (mps_word_t)(size / sizeof(mps_word_t)) << 8;
}

static void gcb_setup(void *cold)
{
  mps_res_t res;
  res = mps_arena_create_k(&gcb_arena, mps_arena_class_vm(), mps_args_none);
  if (res != MPS_RES_OK)
    gcb_die("mps_arena_create_k", res);
  mps_message_type_enable(gcb_arena, mps_message_type_gc());
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ALIGN, sizeof(mps_word_t));
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SCAN, gcb_scan);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_SKIP, gcb_skip);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_FWD, gcb_fwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_ISFWD, gcb_isfwd);
    MPS_ARGS_ADD(args, MPS_KEY_FMT_PAD, gcb_pad);
    res = mps_fmt_create_k(&gcb_fmt, gcb_arena, args);
  } MPS_ARGS_END(args);
  if (res != MPS_RES_OK)
    gcb_die("mps_fmt_create_k", res);
  {
    /* Capacities in KiB.  With the default chain (8 MiB, then 36 MiB that
     * keeps its own survivors) the trees' dead stretch tree and the
     * trees promoted while being built stayed in the second generation
     * until it reached 36 MiB, to be scanned by every collection.  Since
     * a collection condemns every generation up to the highest one over
     * its capacity (collection.rst), a 24 MiB last generation brought
     * collections of the whole heap too often for mutate: 36 MiB. */
    mps_gen_param_s gcb_gens[] = {{12 * 1024, 0.8}, {12 * 1024, 0.5}, {36 * 1024, 0.5}};
    res = mps_chain_create(&gcb_chain, gcb_arena, sizeof gcb_gens / sizeof gcb_gens[0],
                           gcb_gens);
    if (res != MPS_RES_OK)
      gcb_die("mps_chain_create", res);
  }
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, gcb_fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, gcb_chain);
    res = mps_pool_create_k(&gcb_pool, gcb_arena, GCB_CLASS(), args);
  } MPS_ARGS_END(args);
  if (res != MPS_RES_OK)
    gcb_die("mps_pool_create_k", res);
  res = mps_ap_create_k(&gcb_ap, gcb_pool, mps_args_none);
  if (res != MPS_RES_OK)
    gcb_die("mps_ap_create_k", res);
  res = mps_thread_reg(&gcb_thread, gcb_arena);
  if (res != MPS_RES_OK)
    gcb_die("mps_thread_reg", res);
  res = mps_root_create_thread(&gcb_stack_root, gcb_arena, gcb_thread, cold);
  if (res != MPS_RES_OK)
    gcb_die("mps_root_create_thread", res);
}

/* A zeroed table of count references that the collector treats as exact
 * roots (memory outside the heap, as a client's globals would be). */
static void **gcb_root_table(size_t count)
{
  void **table = calloc(count, sizeof *table);
  mps_res_t res;
  if (table == NULL || gcb_nroots == sizeof gcb_roots / sizeof gcb_roots[0])
    gcb_die("root table", 0);
  res = mps_root_create_table(&gcb_roots[gcb_nroots++], gcb_arena, mps_rank_exact(), 0,
                              (mps_addr_t *)table, count);
  if (res != MPS_RES_OK)
    gcb_die("mps_root_create_table", res);
  return table;
}

/* Allocate size bytes (a multiple of the word) holding an object of the
 * tag with nrefs references; init fills in the fields after the header
 * inside the reserve/commit loop. */
#define GCB_ALLOC(type, var, size, tag, nrefs, init)                            \
  do {                                                                          \
    mps_addr_t gcb_p_;                                                          \
    mps_res_t gcb_res_;                                                         \
    do {                                                                        \
      MPS_RESERVE_BLOCK(gcb_res_, gcb_p_, gcb_ap, (size));                      \
      if (gcb_res_ != MPS_RES_OK)                                               \
        gcb_die("mps_reserve", gcb_res_);                                       \
      (var) = (type *)gcb_p_;                                                   \
      (var)->header = (mps_word_t)(tag) | (mps_word_t)(nrefs) << 2              \
                      | (mps_word_t)((size) / sizeof(mps_word_t)) << 8;         \
      init;                                                                     \
    } while (!mps_commit(gcb_ap, gcb_p_, (size)));                              \
  } while (0)

#define GCB_ALLOC_OBJ(type, var, size, nrefs, init) \
  GCB_ALLOC(type, var, size, GCB_TAG_OBJ, nrefs, init)
#define GCB_ALLOC_LEAF(type, var, size, init) \
  GCB_ALLOC(type, var, size, GCB_TAG_LEAF, 0, init)

/* Every collection posts a gc message (enabled in gcb_setup):
 * mps_collections would count only those in which objects might have
 * moved, none for AMS. */
static unsigned long gcb_collections(void)
{
  static unsigned long count;
  mps_message_t message;
  while (mps_message_get(&message, gcb_arena, mps_message_type_gc())) {
    mps_message_discard(gcb_arena, message);
    ++count;
  }
  return count;
}

static void gcb_teardown(void)
{
  size_t i;
  mps_arena_park(gcb_arena);
  for (i = 0; i < gcb_nroots; ++i)
    mps_root_destroy(gcb_roots[i]);
  mps_root_destroy(gcb_stack_root);
  mps_thread_dereg(gcb_thread);
  mps_ap_destroy(gcb_ap);
  mps_pool_destroy(gcb_pool);
  mps_chain_destroy(gcb_chain);
  mps_fmt_destroy(gcb_fmt);
  mps_arena_destroy(gcb_arena);
}
