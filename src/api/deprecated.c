/* deprecated.c: the deprecated interface that existing clients still use
 * (manual/topic/deprecated.rst), written on top of the current one.
 *
 * The variable-argument creation functions pass each documented class's
 * arguments, in its documented order, as the keyword arguments the
 * keyword function takes.  A class with no documented variable arguments
 * takes none, and none are read for it (reading one the client did not
 * pass is undefined).
 */
#include <stdarg.h>

#include "../../include/mps.h"
#include "../../include/mpsacl.h"
#include "../../include/mpsavm.h"
#include "../../include/mpscamc.h"
#include "../../include/mpscams.h"
#include "../../include/mpscawl.h"
#include "../../include/mpsclo.h"
#include "../../include/mpscmfs.h"
#include "../../include/mpscmvff.h"
#include "../../include/mpscmvt.h"
#include "../../include/mpscsnc.h"
#include "../arena/arena.h"
#include "../base/args.h"
#include "../pool/pool.h"

mps_res_t mps_arena_create_v(mps_arena_t *arena_o, mps_arena_class_t arena_class, va_list varargs)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    if (arena_class == mps_arena_class_vm()) {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, va_arg(varargs, size_t));
    } else if (arena_class == mps_arena_class_cl()) {
      size_t size = va_arg(varargs, size_t);
      mps_addr_t base = va_arg(varargs, mps_addr_t);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, size);
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_CL_BASE, base);
    }
    res = mps_arena_create_k(arena_o, arena_class, args);
  } MPS_ARGS_END(args);
  return res;
}

mps_res_t mps_arena_create(mps_arena_t *arena_o, mps_arena_class_t arena_class, ...)
{
  mps_res_t res;
  va_list varargs;
  va_start(varargs, arena_class);
  res = mps_arena_create_v(arena_o, arena_class, varargs);
  va_end(varargs);
  return res;
}

/* The MVFF arguments, after the debug options if any. */
static void deprecated_mvff_args(mps_arg_s args[], size_t *n, va_list *varargs)
{
  size_t extend_by = va_arg(*varargs, size_t);
  size_t mean_size = va_arg(*varargs, size_t);
  mps_align_t align = va_arg(*varargs, mps_align_t);
  mps_bool_t slot_high = va_arg(*varargs, mps_bool_t);
  mps_bool_t arena_high = va_arg(*varargs, mps_bool_t);
  mps_bool_t first_fit = va_arg(*varargs, mps_bool_t);
  args[*n].key = MPS_KEY_EXTEND_BY;      args[(*n)++].val.size = extend_by;
  args[*n].key = MPS_KEY_MEAN_SIZE;      args[(*n)++].val.size = mean_size;
  args[*n].key = MPS_KEY_ALIGN;          args[(*n)++].val.align = align;
  args[*n].key = MPS_KEY_MVFF_SLOT_HIGH; args[(*n)++].val.b = slot_high;
  args[*n].key = MPS_KEY_MVFF_ARENA_HIGH; args[(*n)++].val.b = arena_high;
  args[*n].key = MPS_KEY_MVFF_FIRST_FIT; args[(*n)++].val.b = first_fit;
}

mps_res_t mps_pool_create_v(mps_pool_t *pool_o, mps_arena_t arena,
                            mps_pool_class_t pool_class, va_list varargs)
{
  mps_arg_s args[16];
  size_t n = 0;
  va_list copy;
  va_copy(copy, varargs);
  if (pool_class == mps_class_mfs()) {
    size_t extend_by = va_arg(copy, size_t);
    size_t unit_size = va_arg(copy, size_t);
    args[n].key = MPS_KEY_EXTEND_BY;     args[n++].val.size = extend_by;
    args[n].key = MPS_KEY_MFS_UNIT_SIZE; args[n++].val.size = unit_size;
  } else if (pool_class == mps_class_mvff()) {
    deprecated_mvff_args(args, &n, &copy);
  } else if (pool_class == mps_class_mvff_debug()) {
    mps_pool_debug_option_s *options = va_arg(copy, mps_pool_debug_option_s *);
    args[n].key = MPS_KEY_POOL_DEBUG_OPTIONS; args[n++].val.pool_debug_options = options;
    deprecated_mvff_args(args, &n, &copy);
  } else if (pool_class == mps_class_amc() || pool_class == mps_class_amcz()) {
    mps_fmt_t format = va_arg(copy, mps_fmt_t);
    mps_chain_t chain = va_arg(copy, mps_chain_t);
    args[n].key = MPS_KEY_FORMAT; args[n++].val.format = format;
    args[n].key = MPS_KEY_CHAIN;  args[n++].val.chain = chain;
  } else if (pool_class == mps_class_ams() || pool_class == mps_class_ams_debug()) {
    mps_fmt_t format;
    mps_chain_t chain;
    mps_bool_t ambiguous;
    if (pool_class == mps_class_ams_debug()) {
      mps_pool_debug_option_s *options = va_arg(copy, mps_pool_debug_option_s *);
      args[n].key = MPS_KEY_POOL_DEBUG_OPTIONS; args[n++].val.pool_debug_options = options;
    }
    format = va_arg(copy, mps_fmt_t);
    chain = va_arg(copy, mps_chain_t);
    ambiguous = va_arg(copy, mps_bool_t);
    args[n].key = MPS_KEY_FORMAT; args[n++].val.format = format;
    args[n].key = MPS_KEY_CHAIN;  args[n++].val.chain = chain;
    args[n].key = MPS_KEY_AMS_SUPPORT_AMBIGUOUS; args[n++].val.b = ambiguous;
  } else if (pool_class == mps_class_awl()) {
    mps_fmt_t format = va_arg(copy, mps_fmt_t);
    mps_awl_find_dependent_t find_dependent = va_arg(copy, mps_awl_find_dependent_t);
    args[n].key = MPS_KEY_FORMAT; args[n++].val.format = format;
    args[n].key = MPS_KEY_AWL_FIND_DEPENDENT; args[n++].val.addr_method = find_dependent;
  } else if (pool_class == mps_class_lo() || pool_class == mps_class_snc()) {
    mps_fmt_t format = va_arg(copy, mps_fmt_t);
    args[n].key = MPS_KEY_FORMAT; args[n++].val.format = format;
  } else if (pool_class == mps_class_mvt()) {
    size_t min_size = va_arg(copy, size_t);
    size_t mean_size = va_arg(copy, size_t);
    size_t max_size = va_arg(copy, size_t);
    mps_word_t depth = va_arg(copy, mps_word_t);
    mps_word_t frag_percent = va_arg(copy, mps_word_t);
    args[n].key = MPS_KEY_MIN_SIZE;          args[n++].val.size = min_size;
    args[n].key = MPS_KEY_MEAN_SIZE;         args[n++].val.size = mean_size;
    args[n].key = MPS_KEY_MAX_SIZE;          args[n++].val.size = max_size;
    args[n].key = MPS_KEY_MVT_RESERVE_DEPTH; args[n++].val.count = depth;
    /* A percentage here, a fraction for the keyword (deprecated.rst). */
    if (frag_percent > 100) {
      va_end(copy);
      return MPS_RES_PARAM;
    }
    args[n].key = MPS_KEY_MVT_FRAG_LIMIT;    args[n++].val.d = (double)frag_percent / 100.0;
  }
  va_end(copy);
  args[n].key = MPS_KEY_ARGS_END;
  return mps_pool_create_k(pool_o, arena, pool_class, args);
}

mps_res_t mps_pool_create(mps_pool_t *pool_o, mps_arena_t arena, mps_pool_class_t pool_class, ...)
{
  mps_res_t res;
  va_list varargs;
  va_start(varargs, pool_class);
  res = mps_pool_create_v(pool_o, arena, pool_class, varargs);
  va_end(varargs);
  return res;
}

/* Only the classes whose points may have another rank than exact take
 * the rank (deprecated.rst); the rest take nothing. */
mps_res_t mps_ap_create_v(mps_ap_t *ap_o, mps_pool_t pool, va_list varargs)
{
  mps_res_t res;
  PoolClass klass;
  AVER(pool != NULL && pool->sig == POOL_SIG);
  klass = pool->klass;
  if (klass == mps_class_ams() || klass == mps_class_ams_debug() || klass == mps_class_awl()
      || klass == mps_class_snc()) {
    va_list copy;
    mps_rank_t rank;
    va_copy(copy, varargs);
    rank = va_arg(copy, mps_rank_t);
    va_end(copy);
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_RANK, rank);
      res = mps_ap_create_k(ap_o, pool, args);
    } MPS_ARGS_END(args);
  } else {
    res = mps_ap_create_k(ap_o, pool, mps_args_none);
  }
  return res;
}

mps_res_t mps_ap_create(mps_ap_t *ap_o, mps_pool_t pool, ...)
{
  mps_res_t res;
  va_list varargs;
  va_start(varargs, pool);
  res = mps_ap_create_v(ap_o, pool, varargs);
  va_end(varargs);
  return res;
}

size_t mps_arena_spare_commit_limit(mps_arena_t arena)
{
  size_t limit;
  arena_enter(arena);
  limit = (size_t)((double)arena->committed * arena->spare);
  arena_leave(arena);
  return limit;
}

void mps_arena_spare_commit_limit_set(mps_arena_t arena, size_t limit)
{
  size_t committed = mps_arena_committed(arena);
  mps_arena_spare_set(arena, limit >= committed ? 1.0 : (double)limit / (double)committed);
}

size_t mps_mvff_size(mps_pool_t pool)
{
  return mps_pool_total_size(pool);
}

size_t mps_mvff_free_size(mps_pool_t pool)
{
  return mps_pool_free_size(pool);
}
