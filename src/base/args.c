/* args.c: key objects and keyword-argument lists.
 *
 * Invariants of a list (args_check):
 *   1. every entry's key is a genuine key object (signature ARGS_KEY_SIG);
 *   2. the list ends with MPS_KEY_ARGS_END.
 * args_pick keeps both: it shifts the tail, terminator included, down by
 * one entry.
 */
#include "args.h"

/* Bound on how far args_check searches for the terminator.  Lists built
 * with MPS_ARGS_BEGIN are at most MPS_ARGS_MAX long; hand-built ones may be
 * longer, so this is generous. */
#define ARGS_CHECK_LIMIT 1024

#define ARGS_DEFINE_KEY(k) \
  const struct mps_key_s _mps_key_##k = {ARGS_KEY_SIG, "MPS_KEY_" #k}

ARGS_DEFINE_KEY(ARGS_END);
ARGS_DEFINE_KEY(ALIGN);
ARGS_DEFINE_KEY(AMS_SUPPORT_AMBIGUOUS);
ARGS_DEFINE_KEY(AP_HASH_ARRAYS);
ARGS_DEFINE_KEY(ARENA_CL_BASE);
ARGS_DEFINE_KEY(ARENA_CONTRACTED);
ARGS_DEFINE_KEY(ARENA_EXTENDED);
ARGS_DEFINE_KEY(ARENA_GRAIN_SIZE);
ARGS_DEFINE_KEY(ARENA_SIZE);
ARGS_DEFINE_KEY(ARENA_ZONED);
ARGS_DEFINE_KEY(AWL_FIND_DEPENDENT);
ARGS_DEFINE_KEY(CHAIN);
ARGS_DEFINE_KEY(COMMIT_LIMIT);
ARGS_DEFINE_KEY(EXTEND_BY);
ARGS_DEFINE_KEY(FMT_ALIGN);
ARGS_DEFINE_KEY(FMT_CLASS);
ARGS_DEFINE_KEY(FMT_FWD);
ARGS_DEFINE_KEY(FMT_HEADER_SIZE);
ARGS_DEFINE_KEY(FMT_ISFWD);
ARGS_DEFINE_KEY(FMT_PAD);
ARGS_DEFINE_KEY(FMT_SCAN);
ARGS_DEFINE_KEY(FMT_SKIP);
ARGS_DEFINE_KEY(FORMAT);
ARGS_DEFINE_KEY(GEN);
ARGS_DEFINE_KEY(INTERIOR);
ARGS_DEFINE_KEY(LARGE_SIZE);
ARGS_DEFINE_KEY(MEAN_SIZE);
ARGS_DEFINE_KEY(MFS_UNIT_SIZE);
ARGS_DEFINE_KEY(MIN_SIZE);
ARGS_DEFINE_KEY(MAX_SIZE);
ARGS_DEFINE_KEY(MVFF_ARENA_HIGH);
ARGS_DEFINE_KEY(MVFF_FIRST_FIT);
ARGS_DEFINE_KEY(MVFF_SLOT_HIGH);
ARGS_DEFINE_KEY(MVT_FRAG_LIMIT);
ARGS_DEFINE_KEY(MVT_RESERVE_DEPTH);
ARGS_DEFINE_KEY(PAUSE_TIME);
ARGS_DEFINE_KEY(POOL_DEBUG_OPTIONS);
ARGS_DEFINE_KEY(RANK);
ARGS_DEFINE_KEY(SPARE);
ARGS_DEFINE_KEY(SPARE_COMMIT_LIMIT);
ARGS_DEFINE_KEY(VMW3_TOP_DOWN);

const mps_arg_s _mps_args_none[] = {{MPS_KEY_ARGS_END, {0}}};

void _mps_args_overflow(const char *file, unsigned line)
{
  check_fail(file, line, "MPS_ARGS_ADD: more than MPS_ARGS_MAX - 1 arguments");
}

bool args_key_check(mps_key_t key)
{
  CHECKS(ARGS_KEY_SIG, key);
  CHECKL(key->name != NULL);
  return true;
}

const char *args_key_name(mps_key_t key)
{
  AVERT(args_key, key);
  return key->name;
}

bool args_check(const mps_arg_s args[])
{
  Index i;
  CHECKL(args != NULL);
  for (i = 0; i < ARGS_CHECK_LIMIT; ++i) {
    CHECKD(args_key, args[i].key);                   /* 1 */
    if (args[i].key == MPS_KEY_ARGS_END)             /* 2 */
      return true;
  }
  CHECKL(!"keyword argument list has no MPS_KEY_ARGS_END");
  return true;
}

bool args_pick(mps_arg_s *arg_o, mps_arg_s args[], mps_key_t key)
{
  Index i;
  AVER(arg_o != NULL);
  AVERT(args, args);
  AVERT(args_key, key);
  AVER(key != MPS_KEY_ARGS_END);
  for (i = 0; args[i].key != MPS_KEY_ARGS_END; ++i) {
    if (args[i].key == key) {
      *arg_o = args[i];
      do {   /* close the gap, terminator included */
        args[i] = args[i + 1];
        ++i;
      } while (args[i - 1].key != MPS_KEY_ARGS_END);
      return true;
    }
  }
  return false;
}
