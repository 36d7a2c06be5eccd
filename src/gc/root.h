/* root.h: roots -- references the collector must treat as live that are
 * not in any pool (manual/topic/root.rst, design/root.txt).
 *
 * A root has a rank (ambiguous, exact, weak), a mode (MPS_RM_CONST,
 * MPS_RM_PROT: checked and kept, but roots are never protected, so every
 * collection scans every root) and a variety: an area with a scanning
 * function, a table of references (optionally masked), a formatted block,
 * a thread's stack and registers, or a client scanning function.  root_scan applies the
 * scan state to it; the tracer scans every root once per trace, in rank
 * order, at the flip.
 */
#ifndef root_h
#define root_h

#include "gc.h"

#define ROOT_SIG SIG_MAKE(0x124)
#define THR_SIG SIG_MAKE(0x125)

/* A registered thread (mps_thr_t): the thread manager's registration
 * (thread.h) and its place in the arena's books. */
typedef struct mps_thr_s {
  Sig sig;
  Arena arena;
  struct ring_s gc_ring;         /* in gc->thread_ring */
  Thread thread;                 /* thread_size() bytes after this */
} mps_thr_s;
typedef struct mps_thr_s *Thr;

bool thr_check(Thr thr);

bool root_check(Root root);
Rank root_rank(Root root);

/* Scan the root with ss, whose rank is the root's rank.  The zones of the
 * references it fixes are added to the scan state's summary. */
Res root_scan(ScanState ss, Root root);

/* mps_arena_roots_walk's engine: call f on every reference of every exact
 * root, with the arena parked. */
void root_walk_all(Arena arena, mps_roots_stepper_t f, void *p, Size s);

/* Whether any root of the arena has rank `rank` (the tracer skips empty
 * rank bands). */
bool root_any_of_rank(Arena arena, Rank rank);

/* Call `visit` on every root of rank `rank` until one returns a result
 * other than MPS_RES_OK, and return that result (transform.c looks at
 * the ambiguous roots one at a time).  `visit` must not create or
 * destroy roots. */
typedef Res (*RootVisit)(Root root, void *closure);
Res root_each_of_rank(Arena arena, Rank rank, RootVisit visit, void *closure);

/* For the tracer's diagnosis at the flip: whether the arena has a thread
 * root, and whether the calling thread is registered with the arena.  A
 * collection started by an unregistered thread while thread roots exist
 * would miss that thread's references: the tracer reports it through the
 * assertion handler. */
bool root_any_thread_root(Arena arena);
bool thr_current_is_registered(Arena arena);

/* Whether any root scans the registered thread `thr` (mps_thread_dereg
 * refuses to pull a thread out from under its roots). */
bool root_any_of_thread(Arena arena, Thr thr);

/* Check at arena destroy that no roots or threads are left (gc_finish). */
Count root_count(Arena arena);

#endif /* root_h */
