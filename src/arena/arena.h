/* arena.h: the arena -- top-level state and the source of memory for
 * pools (design/arena.txt, design/arenavm.txt; manual/topic/arena.rst).
 *
 * An arena manages one or more chunks: contiguous stretches of address
 * space, each a whole number of grains.  Every grain has a tract that
 * says which pool owns it.  Pools get memory from the arena in whole
 * grains with arena_alloc and give it back with arena_free; arena
 * structures such as pool descriptors come from arena_control_alloc.
 *
 * Committed memory is memory backed by RAM or swap: for a VM arena the
 * mapped grains, for a client arena the grains in use.  Spare memory is
 * committed but owned by no pool: the VM arena keeps some so that a grain
 * freed and soon reused is not unmapped and mapped again, up to the spare
 * fraction of committed memory.  Committed memory never exceeds the
 * commit limit.
 *
 * Every function here except the public mps_arena_* ones must be called
 * with the arena lock held (arena_enter / arena_leave).
 */
#ifndef arena_h
#define arena_h

#include "../base/check.h"
#include "../data/freelist.h"
#include "../data/ring.h"
#include "../thread/fork.h"
#include "../thread/lock.h"
#include "../thread/thread.h"

typedef struct mps_arena_s *Arena;
typedef struct mps_arena_class_s *ArenaClass;
typedef struct mps_pool_s *Pool;     /* defined by the pool module */
typedef struct chunk_s *Chunk;       /* defined in chunk.h */

#define ARENA_SIG SIG_MAKE(0x80)
#define ARENA_CLASS_SIG SIG_MAKE(0x81)

/* Collection states (manual/topic/arena.rst, "Arena states"). */
typedef enum arena_state_e {
  ARENA_UNCLAMPED,
  ARENA_CLAMPED,
  ARENA_PARKED,
  ARENA_POSTMORTEM
} ArenaState;

/* What distinguishes the VM arena from the client arena. */
typedef struct mps_arena_class_s {
  Sig sig;
  const char *name;
  /* Make the first chunk, with room for the arena structure (and its lock)
   * at the start of its header, and initialize nothing else.  The
   * generic code has picked the common arguments already. */
  Res (*create)(Arena *arena_o, Size size, Size grain_size, mps_arg_s args[]);
  /* Add a chunk of at least `size` usable bytes and return it.
   * MPS_RES_RESOURCE if there is no more address space (always, for the
   * client arena). */
  Res (*grow)(Chunk *chunk_o, Arena arena, Size size);
  /* What growing for `size` would commit at once, beside the grains: the
   * new chunk's header (0 if the class cannot grow).  arena_alloc checks
   * the commit limit for both before it grows, so that it does not grow
   * only to be refused by the limit afterwards. */
  Size (*grow_header)(Arena arena, Size size);
  /* Add client memory to the arena (mps_arena_extend). */
  Res (*extend)(Arena arena, Addr base, Size size);
  /* Commit / decommit grains [base, limit) of a chunk. */
  Res (*map)(Chunk chunk, Index base, Index limit);
  void (*unmap)(Chunk chunk, Index base, Index limit);
  /* Give a chunk's address space back to where it came from. */
  void (*chunk_release)(Chunk chunk);
  /* Whether freed grains may stay committed as spare memory. */
  bool keeps_spare;
} arena_class_s;

/* The arena.  It lives in the header of its first chunk (the primary),
 * followed by the storage for its lock. */
typedef struct mps_arena_s {
  Sig sig;
  ArenaClass klass;
  Lock lock;                 /* lock_size() bytes after this structure */
  Size grain_size;           /* power of two; every allocation's unit */
  Shift grain_shift;         /* log2(grain_size) */
  Size reserved;             /* address space held, every chunk */
  Size committed;            /* see above; includes chunk headers */
  Size commit_limit;
  Size spare_committed;      /* committed grains owned by no pool */
  double spare;              /* the spare fraction, in [0, 1] */
  double pause_time;         /* seconds; >= 0 */
  Size extend_by;            /* smallest chunk the VM arena adds */
  struct ring_s chunk_ring;  /* every chunk, in address order */
  Chunk primary;             /* the chunk holding this structure */
  Chunk last_chunk;          /* arena_tract_of_addr's cache, or NULL */
  struct ring_s pool_ring;   /* every pool, in creation order */
  Count pool_serial;         /* serial number of the next pool */
  struct freelist_s control; /* free control memory (arena_control_alloc) */
  Size control_size;         /* grains obtained for control memory */
  /* Chunks grown for allocations, ever (chunk->grown numbers them), and
   * that count when the lock was last claimed (arena_enter), so that
   * arena_leave can give back what a call grew and left empty. */
  Count grown, grown_at_entry;
  /* Nested bars on growth (arena_growth_bar): while positive, requests
   * are served only from the chunks the arena has.  Under the lock; zero
   * whenever the lock is free. */
  Count growth_barred;
  ArenaState state;
  Count collections;         /* collections completed */
  /* Fault injection for tests (arena_fail_after): requests for memory
   * until the next one refused; 0 refuses none. */
  Count fail_countdown;
  /* The collector's state (src/gc/gc.h), made on first use by the gc
   * layer, which sets gc_finish so that mps_arena_destroy can check and
   * free it without the arena layer calling upwards.  gc_finish returns
   * false, after reporting, and frees nothing if the client has not yet
   * destroyed what it made (so the destruction is refused). */
  struct gc_s *gc;
  bool (*gc_finish)(Arena arena);
  /* The collector's part of the arena's fork hook (arena.c, arena_fork),
   * set with gc_finish: NULL until the collector exists. */
  void (*gc_fork)(Arena arena, ForkPhase phase);
  /* The arena on the process's ring of fork registrations (fork.h), from
   * arena_init until mps_arena_destroy has let go of the lock. */
  fork_reg_s fork;
  bool fork_claimed;         /* the forking thread claimed the lock to fork */
  mps_arena_extended_t extended;     /* client callbacks (mps.h) */
  mps_arena_contracted_t contracted;
  /* Where the thread holding the lock entered, once the arena has a
   * collector (arena_enter; thread.h); hot is NULL otherwise. */
  thread_entry_s entry;
} mps_arena_s;

bool arena_check(Arena arena);
bool arena_class_check(ArenaClass klass);

/* Claim and release the arena lock around every entry from the client.
 * arena_enter is inlined into the entry function so that, with
 * __builtin_unwind_init, that function's frame (which lasts until
 * arena_leave) holds every callee-save register of the client's; the
 * entry it saves for the collector's scan of this thread starts below it
 * (thread_entry_s).  Compilers without the builtin rely on the entry's
 * register spill alone. */
void arena_enter_claim(Arena arena);
static ALWAYS_INLINE void arena_enter(Arena arena)
{
#if defined(__GNUC__) || defined(__clang__)
  __builtin_unwind_init();
#endif
  arena_enter_claim(arena);
}
void arena_leave(Arena arena);

/* Refuse the n-th request for memory from now, and grant the rest; n = 0
 * refuses none.  The requests counted are each call of arena_alloc (and
 * its variants) and of arena_control_alloc, refused with MPS_RES_MEMORY,
 * and within arena_alloc each growth of the arena, refused as the system
 * refusing address space (MPS_RES_RESOURCE), the commit of the grown
 * chunk's header, refused as the system refusing memory (MPS_RES_MEMORY;
 * VM arenas only), and each stretch of grains
 * committed, refused as the system refusing memory (MPS_RES_MEMORY), so
 * that a commit can fail part way.  For tests that fail every allocation
 * site of a workload in turn: the commit limit cannot reach a request
 * served from memory the arena already holds. */
void arena_fail_after(Arena arena, Count n);
/* Whether this request is the one arena_fail_after asked to refuse: for
 * the arena classes' own requests to the system within a growth (the new
 * chunk's header, which arena_vm.c commits). */
bool arena_injected_failure(Arena arena);

/* Allocate `size` bytes (a positive multiple of the grain size) of
 * committed, grain-aligned memory for `pool` (NULL for the arena itself).
 * MPS_RES_COMMIT_LIMIT if committing it would pass the commit limit even
 * after giving up spare memory, MPS_RES_RESOURCE if there is no address
 * space for it, MPS_RES_MEMORY if the OS will not commit it.  On failure
 * nothing has changed, except that spare memory may have been given up
 * in the attempt. */
Res arena_alloc(Addr *base_o, Arena arena, Size size, Pool pool);
/* As arena_alloc, preferring the highest free grains to the lowest
 * (MVFF's MPS_KEY_MVFF_ARENA_HIGH). */
Res arena_alloc_high(Addr *base_o, Arena arena, Size size, Pool pool);
/* As arena_alloc, preferring grains whose every address lies in a stripe
 * of `zones`: address bit patterns a >> zone_shift taken modulo the word
 * width (the collector's zones, gc.h).  Where no such grains are free,
 * with or without growing the arena, any grains will do.  The collector
 * keeps young and old generations in different zones with it, so that
 * old segments' summaries miss the young zones. */
Res arena_alloc_zoned(Addr *base_o, Arena arena, Size size, Pool pool, Word zones,
                      Shift zone_shift);

/* Give back memory allocated to `pool` by arena_alloc: any whole-grain
 * part of one or more allocations, even across adjacent chunks. */
void arena_free(Arena arena, Addr base, Size size, Pool pool);

/* Bar the arena from growing, until the matching arena_growth_unbar:
 * arena_alloc and its variants, and so arena_control_alloc, then take
 * only grains the arena already has, and refuse a request that would
 * need a new chunk (MPS_RES_RESOURCE).  For memory a caller can do
 * without: the free land's descriptors (free_land.c; the failover's
 * freelist holds ranges then) and MVFF's scratch for sorting a flush.
 * A chunk grown for them would outlast a call that then failed, since it
 * holds descriptors the pool still uses (arena_release_grown cannot give
 * it back). */
static inline void arena_growth_bar(Arena arena)
{
  ++arena->growth_barred;
}
static inline void arena_growth_unbar(Arena arena)
{
  AVER(arena->growth_barred > 0);
  --arena->growth_barred;
}

/* Give back every chunk grown since arena->grown was `mark` that holds
 * nothing now, once its wholly free control grains are given back too;
 * never the primary chunk nor the client's.  arena_leave calls it, so
 * that a call that made the arena grow and then failed at a later
 * request (the control memory of a segment's tables, of an MFS extent's
 * record, of a pool's parts) leaves the arena's reserved size as it found
 * it.  A chunk grown and released within arena_alloc is already gone. */
void arena_release_grown(Arena arena, Count mark);

/* The pool that owns the grain containing `addr`, or NULL if the address
 * is not in the arena or is in a grain no pool owns. */
Pool arena_pool_of_addr(Arena arena, Addr addr);

/* The tract of the grain containing `addr`, or NULL if the address is in
 * no chunk or in a grain that is not owned by a pool.  For the segment
 * module's lookup from a reference (the fix path): it must be quick. */
typedef struct tract_s *Tract;
Tract arena_tract_of_addr(Arena arena, Addr addr);

/* The primary chunk's bounds and tract table, which stay where they are
 * for the arena's life, so that a pool may keep a copy and look up tracts
 * WITHOUT the arena lock (chunk_tract_lookup in chunk.h), for addresses
 * whose grains cannot change owner meanwhile (a block the caller owns, as
 * in a pool's free_fast).  A copy saves the lookup the loads of the arena
 * and its primary chunk. */
typedef struct arena_tract_table_s {
  Addr base, limit;
  Shift grain_shift;
  Tract tracts;
} arena_tract_table_s;
void arena_primary_table(arena_tract_table_s *table_o, Arena arena);

/* Whether `addr` is in one of the arena's chunks. */
bool arena_has_addr(Arena arena, Addr addr);

/* Memory for arena structures (pool descriptors, allocation points...),
 * aligned to ARENA_CONTROL_ALIGN, from grains the arena owns.
 * MPS_RES_MEMORY or MPS_RES_COMMIT_LIMIT on failure. */
#define ARENA_CONTROL_ALIGN ((Align)(2 * sizeof(Word)))
Res arena_control_alloc(void **p_o, Arena arena, Size size);
void arena_control_free(Arena arena, void *p, Size size);

/* Give up spare memory until at most `target` bytes remain spare. */
void arena_spare_trim(Arena arena, Size target);

/* For the classes: set up the generic fields of a new arena whose primary
 * chunk is `chunk` (already initialized) and which lives at `arena`. */
Res arena_init(Arena arena, ArenaClass klass, Chunk primary, Size grain_size);
/* Add or remove a chunk from the arena's books (reserved, committed). */
void arena_chunk_attach(Arena arena, Chunk chunk);
void arena_chunk_detach(Arena arena, Chunk chunk);

/* Bytes of header an arena needs in its primary chunk. */
Size arena_header_size(void);

#endif /* arena_h */
