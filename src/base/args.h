/* args.h: keyword arguments inside the library (manual/topic/keyword.rst).
 *
 * Create functions take their arguments out of the client's list with
 * args_pick, which removes what it takes: the documented contract is that
 * on return the list holds only the arguments that were not used.
 */
#ifndef args_h
#define args_h

#include "check.h"

#define ARGS_KEY_SIG SIG_MAKE(0x01)

/* A key object.  Keys are compared by address; the signature lets
 * args_check tell a genuine key from a stray pointer. */
struct mps_key_s {
  Sig sig;
  const char *name;
};

/* Key name, for diagnostics. */
const char *args_key_name(mps_key_t key);

bool args_key_check(mps_key_t key);

/* Every key in `args` is genuine and the list ends within MPS_ARGS_MAX
 * entries of an unbounded client array (a list without its terminator is
 * the likeliest client error). */
bool args_check(const mps_arg_s args[]);

/* If `key` is in `args`, copy its argument to *arg_o, remove it from the
 * list (the rest move down, keeping their order) and return true.
 * Otherwise return false and leave both untouched. */
bool args_pick(mps_arg_s *arg_o, mps_arg_s args[], mps_key_t key);

#endif /* args_h */
