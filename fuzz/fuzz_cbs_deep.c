/* fuzz_cbs_deep.c: fuzz_cbs.c with the CBS's descent bound at 2
 * (cbs_descent_max_set), so that the trees a fuzz input can build take
 * the splaying paths: insertions that join one neighbour or both, or make
 * a new root, after a splay; deletions and first-fit finds that splay.
 * With the usual bound (24) only trees far larger than an input makes
 * reach them.  The model checks are the same. */
#define FUZZ_CBS_DESCENT_MAX 2
#include "fuzz_cbs.c"
