/* mps.h: the main public interface of mps11, an implementation of the
 * Memory Pool System interface.
 *
 * Names, types and documented behaviour follow the MPS reference manual
 * (manual/topic/interface.rst, error.rst).  Only the general types and
 * result codes and keyword arguments are here so far; arenas, pools,
 * allocation points, formats and the rest are added module by module.
 */
#ifndef mps_h
#define mps_h

#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>

#include "mpstd.h"   /* MPS_WORD_WIDTH, MPS_WORD_SHIFT, MPS_PF_ALIGN */

#ifdef __cplusplus
extern "C" {
#endif

/* General types (topic/interface.rst) */

/* A word is as wide as an object pointer; uintptr_t is exactly that on
 * every platform mps11 supports, and unlike `unsigned long` it is also
 * right on 64-bit Windows. */
typedef uintptr_t mps_word_t;
typedef int mps_bool_t;
typedef int mps_res_t;
typedef void *mps_addr_t;
typedef size_t mps_align_t;
typedef mps_word_t mps_clock_t;
typedef void (*mps_fun_t)(void);
typedef mps_word_t mps_label_t;

/* Result codes (topic/error.rst).  The numbering is the one existing
 * clients and telemetry decoders see. */
enum {
  MPS_RES_OK = 0,
  MPS_RES_FAIL = 1,
  MPS_RES_RESOURCE = 2,
  MPS_RES_MEMORY = 3,
  MPS_RES_LIMIT = 4,
  MPS_RES_UNIMPL = 5,
  MPS_RES_IO = 6,
  MPS_RES_COMMIT_LIMIT = 7,
  MPS_RES_PARAM = 8
};

/* The result codes as an X-macro, in the order above: R(X, name, text)
 * for each, name without its MPS_RES_ prefix.  Undocumented; the
 * original's header has it, and its clients' test libraries name results
 * with it. */
#define _mps_RES_ENUM(R, X) \
  R(X, OK, "success") \
  R(X, FAIL, "failure of no other kind") \
  R(X, RESOURCE, "a resource (address space, a system object) ran out") \
  R(X, MEMORY, "memory ran out") \
  R(X, LIMIT, "an internal limit was reached") \
  R(X, UNIMPL, "not implemented") \
  R(X, IO, "input or output failed") \
  R(X, COMMIT_LIMIT, "the arena's commit limit was reached") \
  R(X, PARAM, "a parameter was out of range")

/* Opaque types (topic/interface.rst: pointers to incomplete structures) */
typedef struct mps_arena_s *mps_arena_t;
typedef struct mps_arena_class_s *mps_arena_class_t;
typedef struct mps_pool_s *mps_pool_t;
typedef struct mps_pool_class_s *mps_pool_class_t;
typedef struct mps_chain_s *mps_chain_t;
typedef struct mps_fmt_s *mps_fmt_t;
typedef struct mps_ss_s *mps_ss_t;
typedef unsigned mps_rank_t;

/* Format methods, named here because keyword arguments carry them
 * (topic/format.rst). */
typedef mps_addr_t (*mps_fmt_class_t)(mps_addr_t addr);
typedef void (*mps_fmt_fwd_t)(mps_addr_t old, mps_addr_t new_addr);
typedef mps_addr_t (*mps_fmt_isfwd_t)(mps_addr_t addr);
typedef void (*mps_fmt_pad_t)(mps_addr_t addr, size_t size);
typedef mps_res_t (*mps_fmt_scan_t)(mps_ss_t ss, mps_addr_t base, mps_addr_t limit);
typedef mps_addr_t (*mps_fmt_skip_t)(mps_addr_t addr);

/* Debugging pool options (topic/debugging.rst) */
typedef struct mps_pool_debug_option_s {
  const void *fence_template;
  size_t fence_size;
  const void *free_template;
  size_t free_size;
} mps_pool_debug_option_s;

/* Keyword arguments (topic/keyword.rst)
 *
 * A key is the address of a constant key object, so keys are unique and
 * the library can check that a key is genuine.  Each MPS_KEY_x has a
 * companion MPS_KEY_x_FIELD naming its member of `val`, which is how
 * MPS_ARGS_ADD needs no field name. */
typedef const struct mps_key_s *mps_key_t;

typedef struct mps_arg_s {
  mps_key_t key;
  union {
    mps_bool_t b;
    char c;
    const char *string;
    int i;
    unsigned u;
    long l;
    unsigned long ul;
    size_t size;
    mps_word_t count;
    float f;
    double d;
    mps_addr_t addr;
    void *p;
    mps_fun_t fun;
    mps_align_t align;
    mps_rank_t rank;
    mps_chain_t chain;
    mps_fmt_t format;
    mps_pool_t pool;
    mps_fmt_class_t fmt_class;
    mps_fmt_fwd_t fmt_fwd;
    mps_fmt_isfwd_t fmt_isfwd;
    mps_fmt_pad_t fmt_pad;
    mps_fmt_scan_t fmt_scan;
    mps_fmt_skip_t fmt_skip;
    void *(*addr_method)(void *);
    mps_pool_debug_option_s *pool_debug_options;
  } val;
} mps_arg_s;

extern const struct mps_key_s _mps_key_ARGS_END;
#define MPS_KEY_ARGS_END (&_mps_key_ARGS_END)
extern const struct mps_key_s _mps_key_ALIGN;
#define MPS_KEY_ALIGN (&_mps_key_ALIGN)
#define MPS_KEY_ALIGN_FIELD align
extern const struct mps_key_s _mps_key_AMS_SUPPORT_AMBIGUOUS;
#define MPS_KEY_AMS_SUPPORT_AMBIGUOUS (&_mps_key_AMS_SUPPORT_AMBIGUOUS)
#define MPS_KEY_AMS_SUPPORT_AMBIGUOUS_FIELD b
extern const struct mps_key_s _mps_key_AP_HASH_ARRAYS;
#define MPS_KEY_AP_HASH_ARRAYS (&_mps_key_AP_HASH_ARRAYS)
#define MPS_KEY_AP_HASH_ARRAYS_FIELD b
/* What MPS_KEY_ARENA_EXTENDED and MPS_KEY_ARENA_CONTRACTED are called as
 * (cast to mps_fun_t to pass them); the original's header names the types. */
typedef void (*mps_arena_extended_t)(mps_arena_t arena, void *base, size_t size);
typedef void (*mps_arena_contracted_t)(mps_arena_t arena, void *base, size_t size);
extern const struct mps_key_s _mps_key_ARENA_CONTRACTED;
#define MPS_KEY_ARENA_CONTRACTED (&_mps_key_ARENA_CONTRACTED)
#define MPS_KEY_ARENA_CONTRACTED_FIELD fun
extern const struct mps_key_s _mps_key_ARENA_EXTENDED;
#define MPS_KEY_ARENA_EXTENDED (&_mps_key_ARENA_EXTENDED)
#define MPS_KEY_ARENA_EXTENDED_FIELD fun
extern const struct mps_key_s _mps_key_ARENA_CL_BASE;
#define MPS_KEY_ARENA_CL_BASE (&_mps_key_ARENA_CL_BASE)
#define MPS_KEY_ARENA_CL_BASE_FIELD addr
extern const struct mps_key_s _mps_key_ARENA_GRAIN_SIZE;
#define MPS_KEY_ARENA_GRAIN_SIZE (&_mps_key_ARENA_GRAIN_SIZE)
#define MPS_KEY_ARENA_GRAIN_SIZE_FIELD size
extern const struct mps_key_s _mps_key_ARENA_SIZE;
#define MPS_KEY_ARENA_SIZE (&_mps_key_ARENA_SIZE)
#define MPS_KEY_ARENA_SIZE_FIELD size
/* The original's, not in the manual: accepted, and ignored (mps11 has no
 * arena without zones). */
extern const struct mps_key_s _mps_key_ARENA_ZONED;
#define MPS_KEY_ARENA_ZONED (&_mps_key_ARENA_ZONED)
#define MPS_KEY_ARENA_ZONED_FIELD b
extern const struct mps_key_s _mps_key_AWL_FIND_DEPENDENT;
#define MPS_KEY_AWL_FIND_DEPENDENT (&_mps_key_AWL_FIND_DEPENDENT)
#define MPS_KEY_AWL_FIND_DEPENDENT_FIELD addr_method
extern const struct mps_key_s _mps_key_CHAIN;
#define MPS_KEY_CHAIN (&_mps_key_CHAIN)
#define MPS_KEY_CHAIN_FIELD chain
extern const struct mps_key_s _mps_key_COMMIT_LIMIT;
#define MPS_KEY_COMMIT_LIMIT (&_mps_key_COMMIT_LIMIT)
#define MPS_KEY_COMMIT_LIMIT_FIELD size
extern const struct mps_key_s _mps_key_EXTEND_BY;
#define MPS_KEY_EXTEND_BY (&_mps_key_EXTEND_BY)
#define MPS_KEY_EXTEND_BY_FIELD size
extern const struct mps_key_s _mps_key_FMT_ALIGN;
#define MPS_KEY_FMT_ALIGN (&_mps_key_FMT_ALIGN)
#define MPS_KEY_FMT_ALIGN_FIELD align
extern const struct mps_key_s _mps_key_FMT_CLASS;
#define MPS_KEY_FMT_CLASS (&_mps_key_FMT_CLASS)
#define MPS_KEY_FMT_CLASS_FIELD fmt_class
extern const struct mps_key_s _mps_key_FMT_FWD;
#define MPS_KEY_FMT_FWD (&_mps_key_FMT_FWD)
#define MPS_KEY_FMT_FWD_FIELD fmt_fwd
extern const struct mps_key_s _mps_key_FMT_HEADER_SIZE;
#define MPS_KEY_FMT_HEADER_SIZE (&_mps_key_FMT_HEADER_SIZE)
#define MPS_KEY_FMT_HEADER_SIZE_FIELD size
extern const struct mps_key_s _mps_key_FMT_ISFWD;
#define MPS_KEY_FMT_ISFWD (&_mps_key_FMT_ISFWD)
#define MPS_KEY_FMT_ISFWD_FIELD fmt_isfwd
extern const struct mps_key_s _mps_key_FMT_PAD;
#define MPS_KEY_FMT_PAD (&_mps_key_FMT_PAD)
#define MPS_KEY_FMT_PAD_FIELD fmt_pad
extern const struct mps_key_s _mps_key_FMT_SCAN;
#define MPS_KEY_FMT_SCAN (&_mps_key_FMT_SCAN)
#define MPS_KEY_FMT_SCAN_FIELD fmt_scan
extern const struct mps_key_s _mps_key_FMT_SKIP;
#define MPS_KEY_FMT_SKIP (&_mps_key_FMT_SKIP)
#define MPS_KEY_FMT_SKIP_FIELD fmt_skip
extern const struct mps_key_s _mps_key_FORMAT;
#define MPS_KEY_FORMAT (&_mps_key_FORMAT)
#define MPS_KEY_FORMAT_FIELD format
extern const struct mps_key_s _mps_key_GEN;
#define MPS_KEY_GEN (&_mps_key_GEN)
#define MPS_KEY_GEN_FIELD u
extern const struct mps_key_s _mps_key_INTERIOR;
#define MPS_KEY_INTERIOR (&_mps_key_INTERIOR)
#define MPS_KEY_INTERIOR_FIELD b
/* The original's, not in the manual: accepted, and ignored (AMC gives an
 * object its own segment when it is larger than a segment would be). */
extern const struct mps_key_s _mps_key_LARGE_SIZE;
#define MPS_KEY_LARGE_SIZE (&_mps_key_LARGE_SIZE)
#define MPS_KEY_LARGE_SIZE_FIELD size
extern const struct mps_key_s _mps_key_MEAN_SIZE;
#define MPS_KEY_MEAN_SIZE (&_mps_key_MEAN_SIZE)
#define MPS_KEY_MEAN_SIZE_FIELD size
extern const struct mps_key_s _mps_key_MFS_UNIT_SIZE;
#define MPS_KEY_MFS_UNIT_SIZE (&_mps_key_MFS_UNIT_SIZE)
#define MPS_KEY_MFS_UNIT_SIZE_FIELD size
extern const struct mps_key_s _mps_key_MIN_SIZE;
#define MPS_KEY_MIN_SIZE (&_mps_key_MIN_SIZE)
#define MPS_KEY_MIN_SIZE_FIELD size
extern const struct mps_key_s _mps_key_MAX_SIZE;
#define MPS_KEY_MAX_SIZE (&_mps_key_MAX_SIZE)
#define MPS_KEY_MAX_SIZE_FIELD size
extern const struct mps_key_s _mps_key_MVFF_ARENA_HIGH;
#define MPS_KEY_MVFF_ARENA_HIGH (&_mps_key_MVFF_ARENA_HIGH)
#define MPS_KEY_MVFF_ARENA_HIGH_FIELD b
extern const struct mps_key_s _mps_key_MVFF_FIRST_FIT;
#define MPS_KEY_MVFF_FIRST_FIT (&_mps_key_MVFF_FIRST_FIT)
#define MPS_KEY_MVFF_FIRST_FIT_FIELD b
extern const struct mps_key_s _mps_key_MVFF_SLOT_HIGH;
#define MPS_KEY_MVFF_SLOT_HIGH (&_mps_key_MVFF_SLOT_HIGH)
#define MPS_KEY_MVFF_SLOT_HIGH_FIELD b
extern const struct mps_key_s _mps_key_MVT_FRAG_LIMIT;
#define MPS_KEY_MVT_FRAG_LIMIT (&_mps_key_MVT_FRAG_LIMIT)
#define MPS_KEY_MVT_FRAG_LIMIT_FIELD d
extern const struct mps_key_s _mps_key_MVT_RESERVE_DEPTH;
#define MPS_KEY_MVT_RESERVE_DEPTH (&_mps_key_MVT_RESERVE_DEPTH)
#define MPS_KEY_MVT_RESERVE_DEPTH_FIELD count
extern const struct mps_key_s _mps_key_PAUSE_TIME;
#define MPS_KEY_PAUSE_TIME (&_mps_key_PAUSE_TIME)
#define MPS_KEY_PAUSE_TIME_FIELD d
extern const struct mps_key_s _mps_key_POOL_DEBUG_OPTIONS;
#define MPS_KEY_POOL_DEBUG_OPTIONS (&_mps_key_POOL_DEBUG_OPTIONS)
#define MPS_KEY_POOL_DEBUG_OPTIONS_FIELD pool_debug_options
extern const struct mps_key_s _mps_key_RANK;
#define MPS_KEY_RANK (&_mps_key_RANK)
#define MPS_KEY_RANK_FIELD rank
extern const struct mps_key_s _mps_key_SPARE;
#define MPS_KEY_SPARE (&_mps_key_SPARE)
#define MPS_KEY_SPARE_FIELD d
extern const struct mps_key_s _mps_key_SPARE_COMMIT_LIMIT;
#define MPS_KEY_SPARE_COMMIT_LIMIT (&_mps_key_SPARE_COMMIT_LIMIT)
#define MPS_KEY_SPARE_COMMIT_LIMIT_FIELD size
extern const struct mps_key_s _mps_key_VMW3_TOP_DOWN;
#define MPS_KEY_VMW3_TOP_DOWN (&_mps_key_VMW3_TOP_DOWN)
#define MPS_KEY_VMW3_TOP_DOWN_FIELD b

/* The empty argument list.  Functions never write to a list from which
 * they take nothing, so this constant array may be passed. */
extern const mps_arg_s _mps_args_none[];
#define mps_args_none ((mps_arg_s *)_mps_args_none)

/* The original's header defines these for its macros, and clients use
 * them for their own. */
#define MPS_BEGIN do {
#define MPS_END } while (0)

/* Room for this many arguments (and the terminator) in MPS_ARGS_BEGIN. */
#define MPS_ARGS_MAX 32

/* Called by MPS_ARGS_ADD_FIELD when the list is full; reports through the
 * plinth's assertion handler.  Private to the macros. */
extern void _mps_args_overflow(const char *file, unsigned line);

#define MPS_ARGS_BEGIN(args)                                             \
  do {                                                                   \
    mps_arg_s args[MPS_ARGS_MAX];                                        \
    size_t _mps_n_##args = 0;                                            \
    args[0].key = MPS_KEY_ARGS_END;

#define MPS_ARGS_ADD_FIELD(args, k, field, value)                        \
  do {                                                                   \
    if (_mps_n_##args + 1 >= MPS_ARGS_MAX) {                             \
      _mps_args_overflow(__FILE__, (unsigned)__LINE__);                  \
    } else {                                                             \
      args[_mps_n_##args].key = (k);                                     \
      args[_mps_n_##args].val.field = (value);                           \
      ++_mps_n_##args;                                                   \
      args[_mps_n_##args].key = MPS_KEY_ARGS_END;                        \
    }                                                                    \
  } while (0)

#define MPS_ARGS_ADD(args, k, value) \
  MPS_ARGS_ADD_FIELD(args, k, k##_FIELD, value)

#define MPS_ARGS_END(args) \
  (void)_mps_n_##args;     \
  } while (0)

/* Arenas (topic/arena.rst).  The classes are in mpsavm.h and mpsacl.h. */
extern mps_res_t mps_arena_create_k(mps_arena_t *arena_o, mps_arena_class_t arena_class,
                                    mps_arg_s args[]);
extern void mps_arena_destroy(mps_arena_t arena);
extern mps_res_t mps_arena_extend(mps_arena_t arena, mps_addr_t base, size_t size);

extern size_t mps_arena_commit_limit(mps_arena_t arena);
extern mps_res_t mps_arena_commit_limit_set(mps_arena_t arena, size_t limit);
extern size_t mps_arena_committed(mps_arena_t arena);
extern size_t mps_arena_reserved(mps_arena_t arena);
extern double mps_arena_spare(mps_arena_t arena);
extern void mps_arena_spare_set(mps_arena_t arena, double spare);
extern size_t mps_arena_spare_committed(mps_arena_t arena);
extern double mps_arena_pause_time(mps_arena_t arena);
extern void mps_arena_pause_time_set(mps_arena_t arena, double pause_time);

extern void mps_arena_clamp(mps_arena_t arena);
extern void mps_arena_park(mps_arena_t arena);
extern void mps_arena_release(mps_arena_t arena);
extern void mps_arena_postmortem(mps_arena_t arena);
/* The manual (arena.rst) documents void; the original's header returns a
 * result, and its clients test it.  A result accepts both. */
extern mps_res_t mps_arena_collect(mps_arena_t arena);
extern mps_res_t mps_arena_start_collect(mps_arena_t arena);
extern mps_bool_t mps_arena_step(mps_arena_t arena, double interval, double multiplier);
extern mps_bool_t mps_arena_busy(mps_arena_t arena);
extern mps_bool_t mps_arena_has_addr(mps_arena_t arena, mps_addr_t addr);
extern mps_word_t mps_collections(mps_arena_t arena);

/* Pools (topic/pool.rst) */
typedef mps_pool_class_t mps_class_t;   /* deprecated name */

extern mps_res_t mps_pool_create_k(mps_pool_t *pool_o, mps_arena_t arena,
                                   mps_pool_class_t pool_class, mps_arg_s args[]);
extern void mps_pool_destroy(mps_pool_t pool);
extern size_t mps_pool_total_size(mps_pool_t pool);
extern size_t mps_pool_free_size(mps_pool_t pool);
extern mps_bool_t mps_addr_pool(mps_pool_t *pool_o, mps_arena_t arena, mps_addr_t addr);

/* Allocation (topic/allocation.rst) */
extern mps_res_t mps_alloc(mps_addr_t *p_o, mps_pool_t pool, size_t size);
extern void mps_free(mps_pool_t pool, mps_addr_t addr, size_t size);

/* Allocation points.
 *
 * The owning thread allocates inline with mps_reserve and mps_commit:
 *
 *   reserve: if alloc + size fits below limit, advance alloc and return
 *            the old value (which equals init); else call mps_ap_fill.
 *   commit:  set init = alloc; then, if limit is still non-zero, the
 *            block is committed; else call mps_ap_trip, which says
 *            whether it is.
 *
 * Nothing on this path takes a lock or performs an atomic read-modify-
 * write: the fields are only ever written by the owning thread, except
 * that the collector may set limit to zero ("trap" the point) to make a
 * reserve that has not been committed yet fail, because the collector
 * may have moved or reclaimed objects since.  The collector does that
 * only while the owning thread is stopped by the thread manager, and the
 * stop and restart are a release/acquire handshake on C11 atomics.  So
 * every access to these fields by the collector happens-before or
 * happens-after each access by the owning thread: there is no data race,
 * and plain fields suffice.  What remains is the order of the owning
 * thread's own accesses as seen from the point where it is stopped: the
 * store to init in mps_commit must come before the load of limit, or the
 * thread could be stopped between a load of an old non-zero limit and
 * the store to init, and the collector would see an uninitialized block
 * that the mutator then believes committed.  The compiler must not swap
 * them, and MPS_AP_FENCE is atomic_signal_fence(memory_order_seq_cst),
 * which forbids exactly that at no run-time cost; the processor cannot
 * swap them as seen by its own thread, and stopping a thread makes its
 * earlier stores visible to the thread that stopped it.  Likewise the
 * client's stores initializing the block must precede the store to init,
 * so a second fence comes before it.
 *
 * The addresses are compared as words so that the unfilled state (all
 * three fields null) needs no pointer arithmetic on null pointers. */
typedef struct mps_ap_s *mps_ap_t;

typedef struct mps_ap_s {
  mps_addr_t init;    /* limit of initialized (committed) memory */
  mps_addr_t alloc;   /* limit of allocated (reserved) memory */
  mps_addr_t limit;   /* limit of available memory; null when trapped */
} mps_ap_s;

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#define MPS_AP_FENCE() atomic_signal_fence(memory_order_seq_cst)
#elif defined(__GNUC__)
#define MPS_AP_FENCE() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#elif defined(_MSC_VER)
#include <intrin.h>
#define MPS_AP_FENCE() _ReadWriteBarrier()
#else
#error "mps.h: no compiler fence for the allocation point protocol"
#endif

extern mps_res_t mps_ap_create_k(mps_ap_t *ap_o, mps_pool_t pool, mps_arg_s args[]);
extern void mps_ap_destroy(mps_ap_t ap);
extern mps_res_t mps_reserve(mps_addr_t *p_o, mps_ap_t ap, size_t size);
extern mps_bool_t mps_commit(mps_ap_t ap, mps_addr_t p, size_t size);
extern mps_res_t mps_ap_fill(mps_addr_t *p_o, mps_ap_t ap, size_t size);
extern mps_bool_t mps_ap_trip(mps_ap_t ap, mps_addr_t p, size_t size);

#define mps_reserve(p_o, mps_ap, size)                                          \
  (((mps_word_t)(mps_ap)->alloc + (size) > (mps_word_t)(mps_ap)->alloc          \
    && (mps_word_t)(mps_ap)->alloc + (size) <= (mps_word_t)(mps_ap)->limit)     \
   ? ((mps_ap)->alloc = (mps_addr_t)((mps_word_t)(mps_ap)->alloc + (size)),     \
      *(p_o) = (mps_ap)->init, MPS_RES_OK)                                      \
   : mps_ap_fill(p_o, mps_ap, size))

#define MPS_RESERVE_BLOCK(res_v, p_v, mps_ap, size)                             \
  do {                                                                          \
    mps_word_t _mps_next = (mps_word_t)(mps_ap)->alloc + (size);                \
    if (_mps_next > (mps_word_t)(mps_ap)->alloc                                 \
        && _mps_next <= (mps_word_t)(mps_ap)->limit) {                          \
      (p_v) = (mps_ap)->alloc;                                                  \
      (mps_ap)->alloc = (mps_addr_t)_mps_next;                                  \
      (res_v) = MPS_RES_OK;                                                     \
    } else {                                                                    \
      (res_v) = mps_ap_fill(&(p_v), mps_ap, size);                              \
    }                                                                           \
  } while (0)

#define mps_commit(mps_ap, p, size)                                             \
  (MPS_AP_FENCE(), (mps_ap)->init = (mps_ap)->alloc, MPS_AP_FENCE(),            \
   ((mps_ap)->limit != NULL || mps_ap_trip(mps_ap, p, size)))

/* Allocation frames (topic/frame.rst) */
typedef struct mps_frame_s *mps_frame_t;
extern mps_res_t mps_ap_frame_push(mps_frame_t *frame_o, mps_ap_t ap);
extern mps_res_t mps_ap_frame_pop(mps_ap_t ap, mps_frame_t frame);

/* Segregated allocation caches (topic/cache.rst)
 *
 * A cache keeps free blocks of a manual pool on stacks, one per size
 * class, so that most allocations and frees are a pop or a push.  A cache
 * must be used by one thread at a time (the client synchronizes); only
 * the traffic between the cache and its pool takes the arena lock.
 *
 * The stacks live in struct mps_sac_s below, which the macros
 * MPS_SAC_ALLOC_FAST and MPS_SAC_FREE_FAST read and write in client code.
 * Its fields are therefore part of the binary interface, but they are
 * private to the macros: clients must not use them (hence the leading
 * underscores).  The rest of a cache (its pool, signature and class
 * count) is private to the library and follows this structure.
 *
 *   _lists[i]._size   the block size of class i; requests of at most this
 *                     many bytes (and more than the previous class's) get
 *                     a block of class i
 *   _lists[i]._count  blocks on the stack; never more than _max
 *   _lists[i]._max    the class's cached_count
 *   _lists[i]._head   top of the stack, linked through each block's first
 *                     word; null when _count is zero
 *
 * After the client's classes comes one more entry, the overlarge class,
 * with _size SIZE_MAX and _max zero: its stack is always empty, so a
 * search for a request's class always stops, and an overlarge request
 * always takes the function call to the pool. */
typedef struct mps_sac_class_s {
  size_t mps_block_size;
  size_t mps_cached_count;
  unsigned mps_frequency;
} mps_sac_class_s;

#define MPS_SAC_CLASS_LIMIT ((size_t)8)
/* The original's older name of the class structure. */
#define mps_sac_classes_s mps_sac_class_s

typedef struct _mps_sac_list_s {
  size_t _size;
  size_t _count;
  size_t _max;
  mps_addr_t _head;
} _mps_sac_list_s;

typedef struct mps_sac_s {
  _mps_sac_list_s _lists[MPS_SAC_CLASS_LIMIT + 1];
} mps_sac_s;
typedef struct mps_sac_s *mps_sac_t;

extern mps_res_t mps_sac_create(mps_sac_t *sac_o, mps_pool_t pool, size_t classes_count,
                                mps_sac_class_s *classes);
extern void mps_sac_destroy(mps_sac_t sac);
extern void mps_sac_flush(mps_sac_t sac);
extern mps_res_t mps_sac_alloc(mps_addr_t *p_o, mps_sac_t sac, size_t size, mps_bool_t unused);
extern void mps_sac_free(mps_sac_t sac, mps_addr_t p, size_t size);

/* The common cases inline: a block on the class's stack (alloc), room on
 * the class's stack (free).  Otherwise they call the functions above.
 * Arguments may be evaluated more than once; p_v must be an mps_addr_t. */
#define MPS_SAC_ALLOC_FAST(res_v, p_v, sac, size, unused)                     \
  do {                                                                        \
    size_t _mps_sac_size = (size);                                            \
    _mps_sac_list_s *_mps_sac_l = (sac)->_lists;                              \
    while (_mps_sac_size > _mps_sac_l->_size)                                 \
      ++_mps_sac_l;                                                           \
    if (_mps_sac_l->_head != NULL) {                                          \
      (p_v) = _mps_sac_l->_head;                                              \
      _mps_sac_l->_head = *(mps_addr_t *)_mps_sac_l->_head;                   \
      --_mps_sac_l->_count;                                                   \
      (res_v) = MPS_RES_OK;                                                   \
    } else {                                                                  \
      (res_v) = mps_sac_alloc(&(p_v), sac, _mps_sac_size, unused);            \
    }                                                                         \
  } while (0)

#define MPS_SAC_FREE_FAST(sac, p, size)                                       \
  do {                                                                        \
    size_t _mps_sac_size = (size);                                            \
    mps_addr_t _mps_sac_p = (p);                                              \
    _mps_sac_list_s *_mps_sac_l = (sac)->_lists;                              \
    while (_mps_sac_size > _mps_sac_l->_size)                                 \
      ++_mps_sac_l;                                                           \
    if (_mps_sac_l->_count < _mps_sac_l->_max) {                              \
      *(mps_addr_t *)_mps_sac_p = _mps_sac_l->_head;                          \
      _mps_sac_l->_head = _mps_sac_p;                                         \
      ++_mps_sac_l->_count;                                                   \
    } else {                                                                  \
      mps_sac_free(sac, _mps_sac_p, _mps_sac_size);                           \
    }                                                                         \
  } while (0)

/* The original's older names of the two macros. */
#define MPS_SAC_ALLOC(res_v, p_v, sac, size, unused) \
  MPS_SAC_ALLOC_FAST(res_v, p_v, sac, size, unused)
#define MPS_SAC_FREE(sac, p, size) MPS_SAC_FREE_FAST(sac, p, size)

/* Debugging pools (topic/debugging.rst).  Both report damage through the
 * assertion handler; on a pool of a class without debugging they do
 * nothing. */
extern void mps_pool_check_fenceposts(mps_pool_t pool);
extern void mps_pool_check_free_space(mps_pool_t pool);

/* ---- The garbage collector's interface -------------------------------- */

/* Formats (topic/format.rst).  mps_fmt_create_k takes MPS_KEY_FMT_ALIGN,
 * FMT_HEADER_SIZE, FMT_SCAN, FMT_SKIP, FMT_FWD, FMT_ISFWD, FMT_PAD and
 * FMT_CLASS. */
extern mps_res_t mps_fmt_create_k(mps_fmt_t *fmt_o, mps_arena_t arena, mps_arg_s args[]);
extern void mps_fmt_destroy(mps_fmt_t fmt);
extern mps_bool_t mps_addr_fmt(mps_fmt_t *fmt_o, mps_arena_t arena, mps_addr_t addr);

/* Scanning (topic/scanning.rst).
 *
 * The scan state is the tracer's; clients reach its fields only through
 * these macros.  Memory is divided into MPS_WORD_WIDTH zones, striped by
 * address: the zone of a reference is bits [_zs, _zs + log2 width) of it.
 * _w is the set of zones holding condemned ("white") objects, so MPS_FIX1
 * rejects a reference into any other zone with a shift and a test, and
 * accumulates in _ufs the zones of every reference seen, which becomes the
 * summary of the scanned memory.  MPS_FIX2 calls the tracer through _fix.
 * MPS_SCAN_BEGIN copies the fields into locals so that a scan loop keeps
 * them in registers; MPS_SCAN_END (and MPS_FIX_CALL, around a call that
 * scans with the same state) writes the summary back.  The pair is one
 * statement (do ... while (0)), as in the original's header, so that
 * `MPS_SCAN_END(ss);` may come before an else. */
typedef struct mps_ss_s {
  mps_res_t (*_fix)(mps_ss_t ss, mps_addr_t *ref_io);
  mps_word_t _zs;     /* zone shift */
  mps_word_t _w;      /* white zone set */
  mps_word_t _ufs;    /* zones of the references seen so far */
} mps_ss_s;

#define MPS_SCAN_BEGIN(ss)                                               \
  do {                                                                   \
    mps_ss_t _mps_ss = (ss);                                             \
    mps_word_t _mps_zs = _mps_ss->_zs;                                   \
    mps_word_t _mps_w = _mps_ss->_w;                                     \
    mps_word_t _mps_ufs = _mps_ss->_ufs;                                 \
    mps_word_t _mps_wt;                                                  \
    {

/* A null reference is never interesting (weak.rst: so a reference that
 * MPS_FIX2 leaves null was splatted), and adds no zone to the summary.
 * `ref` is evaluated once. */
#define MPS_FIX1(ss, ref)                                                \
  (_mps_wt = (mps_word_t)(ref),                                          \
   _mps_wt != 0                                                          \
   && (_mps_wt = (mps_word_t)1 << (_mps_wt >> _mps_zs                    \
                                   & (MPS_WORD_WIDTH - 1)),              \
       _mps_ufs |= _mps_wt,                                              \
       (_mps_w & _mps_wt) != 0))

#define MPS_FIX2(ss, ref_io) ((*_mps_ss->_fix)(_mps_ss, (ref_io)))

#define MPS_FIX12(ss, ref_io)                                            \
  (MPS_FIX1(ss, *(ref_io)) ? MPS_FIX2(ss, ref_io) : MPS_RES_OK)

#define MPS_FIX_CALL(ss, call)                                           \
  do {                                                                   \
    _mps_ss->_ufs = _mps_ufs;                                            \
    (call);                                                              \
    _mps_ufs = _mps_ss->_ufs;                                            \
  } while (0)

#define MPS_SCAN_END(ss)                                                 \
    }                                                                    \
    _mps_ss->_ufs = _mps_ufs;                                            \
  } while (0)

/* Deprecated names for the fix macros. */
#define MPS_FIX(ss, ref_io) MPS_FIX12(ss, ref_io)
extern mps_res_t mps_fix(mps_ss_t ss, mps_addr_t *ref_io);

typedef mps_res_t (*mps_area_scan_t)(mps_ss_t ss, void *base, void *limit, void *closure);
typedef struct mps_scan_tag_s {
  mps_word_t mask;
  mps_word_t pattern;
} mps_scan_tag_s;
typedef struct mps_scan_tag_s *mps_scan_tag_t;
extern mps_res_t mps_scan_area(mps_ss_t ss, void *base, void *limit, void *closure);
extern mps_res_t mps_scan_area_masked(mps_ss_t ss, void *base, void *limit, void *closure);
extern mps_res_t mps_scan_area_tagged(mps_ss_t ss, void *base, void *limit, void *closure);
extern mps_res_t mps_scan_area_tagged_or_zero(mps_ss_t ss, void *base, void *limit,
                                              void *closure);

/* Ranks and root modes (topic/root.rst). */
extern mps_rank_t mps_rank_ambig(void);
extern mps_rank_t mps_rank_exact(void);
extern mps_rank_t mps_rank_weak(void);
typedef unsigned mps_rm_t;
#define MPS_RM_CONST      (((mps_rm_t)1 << 0))
#define MPS_RM_PROT       (((mps_rm_t)1 << 1))
#define MPS_RM_PROT_INNER (((mps_rm_t)1 << 2))

/* Threads (topic/thread.rst). */
typedef struct mps_thr_s *mps_thr_t;
extern mps_res_t mps_thread_reg(mps_thr_t *thr_o, mps_arena_t arena);
extern void mps_thread_dereg(mps_thr_t thr);

/* Roots (topic/root.rst). */
typedef struct mps_root_s *mps_root_t;
typedef mps_res_t (*mps_root_scan_t)(mps_ss_t ss, void *p, size_t s);
typedef mps_res_t (*mps_reg_scan_t)(mps_ss_t ss, mps_thr_t thr, void *p, size_t s);
extern mps_res_t mps_root_create(mps_root_t *root_o, mps_arena_t arena, mps_rank_t rank,
                                 mps_rm_t rm, mps_root_scan_t root_scan, void *p, size_t s);
extern mps_res_t mps_root_create_area(mps_root_t *root_o, mps_arena_t arena,
                                      mps_rank_t rank, mps_rm_t rm, void *base, void *limit,
                                      mps_area_scan_t scan_area, void *closure);
extern mps_res_t mps_root_create_area_tagged(mps_root_t *root_o, mps_arena_t arena,
                                             mps_rank_t rank, mps_rm_t rm, void *base,
                                             void *limit, mps_area_scan_t scan_area,
                                             mps_word_t mask, mps_word_t pattern);
extern mps_res_t mps_root_create_table(mps_root_t *root_o, mps_arena_t arena,
                                       mps_rank_t rank, mps_rm_t rm, mps_addr_t *base,
                                       size_t count);
extern mps_res_t mps_root_create_table_masked(mps_root_t *root_o, mps_arena_t arena,
                                              mps_rank_t rank, mps_rm_t rm,
                                              mps_addr_t *base, size_t count,
                                              mps_word_t mask);
extern mps_res_t mps_root_create_table_tagged(mps_root_t *root_o, mps_arena_t arena,
                                              mps_rank_t rank, mps_rm_t rm,
                                              mps_addr_t *base, size_t count,
                                              mps_area_scan_t scan_area,
                                              mps_word_t mask, mps_word_t pattern);
extern mps_res_t mps_root_create_fmt(mps_root_t *root_o, mps_arena_t arena,
                                     mps_rank_t rank, mps_rm_t rm, mps_fmt_scan_t fmt_scan,
                                     mps_addr_t base, mps_addr_t limit);
extern mps_res_t mps_root_create_thread(mps_root_t *root_o, mps_arena_t arena,
                                        mps_thr_t thr, void *cold);
extern mps_res_t mps_root_create_thread_tagged(mps_root_t *root_o, mps_arena_t arena,
                                               mps_rank_t rank, mps_rm_t rm,
                                               mps_thr_t thr, mps_area_scan_t scan_area,
                                               mps_word_t mask, mps_word_t pattern,
                                               void *cold);
extern mps_res_t mps_root_create_thread_scanned(mps_root_t *root_o, mps_arena_t arena,
                                                mps_rank_t rank, mps_rm_t rm,
                                                mps_thr_t thr, mps_area_scan_t scan_area,
                                                void *closure, void *cold);
extern mps_res_t mps_root_create_reg(mps_root_t *root_o, mps_arena_t arena,
                                     mps_rank_t rank, mps_rm_t rm, mps_thr_t thr,
                                     mps_reg_scan_t reg_scan, void *p, size_t s);
extern mps_res_t mps_stack_scan_ambig(mps_ss_t ss, mps_thr_t thr, void *p, size_t s);
extern void mps_root_destroy(mps_root_t root);

/* Generation chains (topic/collection.rst).  Capacity is in kilobytes;
 * mortality is the predicted fraction of a generation that dies. */
typedef struct mps_gen_param_s {
  size_t mps_capacity;
  double mps_mortality;
} mps_gen_param_s;
extern mps_res_t mps_chain_create(mps_chain_t *chain_o, mps_arena_t arena,
                                  size_t gen_count, mps_gen_param_s *gen_params);
extern void mps_chain_destroy(mps_chain_t chain);

/* Messages (topic/message.rst). */
typedef struct mps_message_s *mps_message_t;
typedef unsigned mps_message_type_t;
extern mps_bool_t mps_message_poll(mps_arena_t arena);
extern mps_bool_t mps_message_queue_type(mps_message_type_t *type_o, mps_arena_t arena);
extern mps_bool_t mps_message_get(mps_message_t *message_o, mps_arena_t arena,
                                  mps_message_type_t message_type);
extern void mps_message_discard(mps_arena_t arena, mps_message_t message);
extern mps_message_type_t mps_message_type(mps_arena_t arena, mps_message_t message);
extern void mps_message_type_enable(mps_arena_t arena, mps_message_type_t message_type);
extern void mps_message_type_disable(mps_arena_t arena, mps_message_type_t message_type);
extern mps_clock_t mps_message_clock(mps_arena_t arena, mps_message_t message);
extern mps_message_type_t mps_message_type_gc_start(void);
extern const char *mps_message_gc_start_why(mps_arena_t arena, mps_message_t message);
extern mps_message_type_t mps_message_type_gc(void);
extern size_t mps_message_gc_live_size(mps_arena_t arena, mps_message_t message);
extern size_t mps_message_gc_condemned_size(mps_arena_t arena, mps_message_t message);
extern size_t mps_message_gc_not_condemned_size(mps_arena_t arena, mps_message_t message);

/* Finalization (topic/finalization.rst). */
extern mps_res_t mps_finalize(mps_arena_t arena, mps_addr_t *ref_p);
extern mps_res_t mps_definalize(mps_arena_t arena, mps_addr_t *ref_p);
extern mps_message_type_t mps_message_type_finalization(void);
extern void mps_message_finalization_ref(mps_addr_t *ref_o, mps_arena_t arena,
                                         mps_message_t message);

/* The manual documents the three message types as functions, and they are
 * (their addresses can be taken); the original's header makes them
 * constant expressions, which its clients use as case labels.  So each is
 * also a macro giving its number, the same the function returns. */
#define mps_message_type_finalization() ((mps_message_type_t)0)
#define mps_message_type_gc() ((mps_message_type_t)1)
#define mps_message_type_gc_start() ((mps_message_type_t)2)

/* Location dependency (topic/location.rst).  The structure is public only
 * so that clients can embed it; its words belong to the collector. */
typedef struct mps_ld_s {
  mps_word_t _epoch;
  mps_word_t _rs;
} mps_ld_s;
typedef struct mps_ld_s *mps_ld_t;
extern void mps_ld_reset(mps_ld_t ld, mps_arena_t arena);
extern void mps_ld_add(mps_ld_t ld, mps_arena_t arena, mps_addr_t addr);
extern void mps_ld_merge(mps_ld_t dest_ld, mps_arena_t arena, mps_ld_t src_ld);
extern mps_bool_t mps_ld_isstale(mps_ld_t ld, mps_arena_t arena, mps_addr_t addr);
extern mps_bool_t mps_ld_isstale_any(mps_ld_t ld, mps_arena_t arena);

/* Allocation patterns (topic/pattern.rst). */
typedef struct mps_alloc_pattern_s *mps_alloc_pattern_t;
extern mps_alloc_pattern_t mps_alloc_pattern_ramp(void);
extern mps_alloc_pattern_t mps_alloc_pattern_ramp_collect_all(void);
extern mps_res_t mps_ap_alloc_pattern_begin(mps_ap_t ap, mps_alloc_pattern_t alloc_pattern);
extern mps_res_t mps_ap_alloc_pattern_end(mps_ap_t ap, mps_alloc_pattern_t alloc_pattern);
extern mps_res_t mps_ap_alloc_pattern_reset(mps_ap_t ap);

/* Walks and introspection (topic/arena.rst, pool.rst, format.rst,
 * root.rst). */
typedef void (*mps_formatted_objects_stepper_t)(mps_addr_t addr, mps_fmt_t fmt,
                                                mps_pool_t pool, void *p, size_t s);
extern void mps_arena_formatted_objects_walk(mps_arena_t arena,
                                             mps_formatted_objects_stepper_t f,
                                             void *p, size_t s);
typedef void (*mps_roots_stepper_t)(mps_addr_t *ref, mps_root_t root, void *p, size_t s);
extern void mps_arena_roots_walk(mps_arena_t arena, mps_roots_stepper_t f, void *p, size_t s);
extern mps_res_t mps_pool_walk(mps_pool_t pool, mps_area_scan_t scan_area, void *closure);
extern mps_res_t mps_addr_object(mps_addr_t *p_o, mps_arena_t arena, mps_addr_t addr);

/* Transforms (topic/transform.rst): a table of old and new references;
 * applying it collects the whole heap, replacing every exact or weak
 * reference to an old object by the matching new one, or changes nothing
 * if an old object is referenced ambiguously. */
typedef struct mps_transform_s *mps_transform_t;
extern mps_res_t mps_transform_create(mps_transform_t *transform_o, mps_arena_t arena);
extern mps_res_t mps_transform_add_oldnew(mps_transform_t transform, mps_addr_t *old_array,
                                          mps_addr_t *new_array, size_t count);
extern mps_res_t mps_transform_apply(mps_bool_t *applied_o, mps_transform_t transform);
extern void mps_transform_destroy(mps_transform_t transform);

/* Telemetry (topic/telemetry.rst).  The filter is a set of event
 * categories, one bit each: 0 arena, 1 pool, 2 trace, 3 seg, 4 ref,
 * 5 object, 6 user.  Events are written in the cool and hot varieties
 * only. */
extern mps_word_t mps_telemetry_get(void);
extern void mps_telemetry_set(mps_word_t set_mask);
extern void mps_telemetry_reset(mps_word_t reset_mask);
extern void mps_telemetry_flush(void);
extern mps_label_t mps_telemetry_intern(const char *label);
extern void mps_telemetry_label(mps_addr_t addr, mps_label_t label);

/* Deprecated format creation (topic/deprecated.rst). */
typedef void (*mps_fmt_copy_t)(mps_addr_t old, mps_addr_t new_addr);
typedef struct mps_fmt_A_s {
  mps_align_t align;
  mps_fmt_scan_t scan;
  mps_fmt_skip_t skip;
  mps_fmt_copy_t copy;
  mps_fmt_fwd_t fwd;
  mps_fmt_isfwd_t isfwd;
  mps_fmt_pad_t pad;
} mps_fmt_A_s;
typedef struct mps_fmt_A_s *mps_fmt_A_t;
typedef struct mps_fmt_B_s {
  mps_align_t align;
  mps_fmt_scan_t scan;
  mps_fmt_skip_t skip;
  mps_fmt_copy_t copy;
  mps_fmt_fwd_t fwd;
  mps_fmt_isfwd_t isfwd;
  mps_fmt_pad_t pad;
  mps_fmt_class_t mps_class;
} mps_fmt_B_s;
typedef struct mps_fmt_B_s *mps_fmt_B_t;
typedef struct mps_fmt_auto_header_s {
  mps_align_t align;
  mps_fmt_scan_t scan;
  mps_fmt_skip_t skip;
  mps_fmt_fwd_t fwd;
  mps_fmt_isfwd_t isfwd;
  mps_fmt_pad_t pad;
  size_t mps_headerSize;
} mps_fmt_auto_header_s;
typedef struct mps_fmt_fixed_s {
  mps_align_t align;
  mps_fmt_scan_t scan;
  mps_fmt_fwd_t fwd;
  mps_fmt_isfwd_t isfwd;
  mps_fmt_pad_t pad;
} mps_fmt_fixed_s;
extern mps_res_t mps_fmt_create_A(mps_fmt_t *fmt_o, mps_arena_t arena, mps_fmt_A_s *fmt_A);
extern mps_res_t mps_fmt_create_B(mps_fmt_t *fmt_o, mps_arena_t arena, mps_fmt_B_s *fmt_B);
extern mps_res_t mps_fmt_create_auto_header(mps_fmt_t *fmt_o, mps_arena_t arena,
                                            mps_fmt_auto_header_s *fmt_ah);
extern mps_res_t mps_fmt_create_fixed(mps_fmt_t *fmt_o, mps_arena_t arena,
                                      mps_fmt_fixed_s *fmt_fixed);

/* Deprecated forms still used by existing clients (topic/deprecated.rst).
 * The per-class argument lists are documented there. */
extern mps_res_t mps_arena_create(mps_arena_t *arena_o, mps_arena_class_t arena_class, ...);
extern mps_res_t mps_arena_create_v(mps_arena_t *arena_o, mps_arena_class_t arena_class,
                                    va_list args);
extern mps_res_t mps_pool_create(mps_pool_t *pool_o, mps_arena_t arena,
                                 mps_pool_class_t pool_class, ...);
extern mps_res_t mps_pool_create_v(mps_pool_t *pool_o, mps_arena_t arena,
                                   mps_pool_class_t pool_class, va_list args);
extern mps_res_t mps_ap_create(mps_ap_t *ap_o, mps_pool_t pool, ...);
extern mps_res_t mps_ap_create_v(mps_ap_t *ap_o, mps_pool_t pool, va_list args);
extern size_t mps_arena_spare_commit_limit(mps_arena_t arena);
extern void mps_arena_spare_commit_limit_set(mps_arena_t arena, size_t limit);
/* No longer needed to finish an argument list: does nothing. */
#define MPS_ARGS_DONE(args) ((void)0)

#ifdef __cplusplus
}
#endif

#endif /* mps_h */
