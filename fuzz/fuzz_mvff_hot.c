/* fuzz_mvff_hot.c: fuzz_mvff.c against the hot variety (ci/fuzz links
 * every *_hot target with a hot build of the library).
 *
 * Cool checks every free against all of the pool's free memory, so it
 * takes the lock for every free and never runs MVFF's lock-free free
 * (pool_mvff.c, "Lock-free frees"): the slab remote lists, their lazy
 * take-in and the cache refills that gather several slabs' lists are
 * exercised only here.  The model checks are the same; only the pool's
 * own deep checks are fewer. */
#include "fuzz_mvff.c"
