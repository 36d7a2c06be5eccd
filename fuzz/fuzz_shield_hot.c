/* fuzz_shield_hot.c: fuzz_shield.c against the hot variety (ci/fuzz links
 * every *_hot target with a hot build of the library).
 *
 * In hot, shield_expose and shield_cover of a segment with no protection
 * wanted or applied, and covers that leave a segment synced, run inline
 * in shield.h and count the depths only; cool always takes the
 * out-of-line path and checks the invariants there.  So those fast paths
 * are fuzzed only here.  The model checks are the same. */
#include "fuzz_shield.c"
