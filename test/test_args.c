/* Unit tests for keyword arguments: the public macros and args_pick. */
#include <criterion/criterion.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpslib.h"
#include "../src/base/args.h"
#include "support/reports.h"

static size_t args_length(const mps_arg_s args[])
{
  size_t n = 0;
  while (args[n].key != MPS_KEY_ARGS_END)
    ++n;
  return n;
}

Test(args, macros_build_a_terminated_list_in_order)
{
  char base[16];
  MPS_ARGS_BEGIN(args) {
    cr_assert_eq(args_length(args), 0);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)6553600);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_CL_BASE, (mps_addr_t)base);
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, 0.25);
    MPS_ARGS_ADD_FIELD(args, MPS_KEY_GEN, u, 3u);
    cr_assert_eq(args_length(args), 4);
    cr_assert(args_check(args));
    cr_assert_eq(args[0].key, MPS_KEY_ARENA_SIZE);
    cr_assert_eq(args[0].val.size, 6553600);
    cr_assert_eq(args[1].val.addr, (mps_addr_t)base);
    cr_assert_eq(args[2].val.d, 0.25);
    cr_assert_eq(args[3].val.u, 3u);
  } MPS_ARGS_END(args);
}

Test(args, nested_blocks_are_independent)
{
  MPS_ARGS_BEGIN(outer) {
    MPS_ARGS_ADD(outer, MPS_KEY_MEAN_SIZE, (size_t)32);
    MPS_ARGS_BEGIN(inner) {
      MPS_ARGS_ADD(inner, MPS_KEY_ALIGN, (mps_align_t)16);
      MPS_ARGS_ADD(inner, MPS_KEY_EXTEND_BY, (size_t)4096);
      cr_assert_eq(args_length(inner), 2);
    } MPS_ARGS_END(inner);
    cr_assert_eq(args_length(outer), 1);
    cr_assert_eq(outer[0].val.size, 32);
  } MPS_ARGS_END(outer);
}

Test(args, pick_removes_the_used_argument_and_keeps_order)
{
  MPS_ARGS_BEGIN(args) {
    mps_arg_s arg;
    MPS_ARGS_ADD(args, MPS_KEY_MIN_SIZE, (size_t)8);
    MPS_ARGS_ADD(args, MPS_KEY_MEAN_SIZE, (size_t)64);
    MPS_ARGS_ADD(args, MPS_KEY_MAX_SIZE, (size_t)1024);
    cr_assert(args_pick(&arg, args, MPS_KEY_MEAN_SIZE));
    cr_assert_eq(arg.key, MPS_KEY_MEAN_SIZE);
    cr_assert_eq(arg.val.size, 64);
    cr_assert_eq(args_length(args), 2);
    cr_assert_eq(args[0].key, MPS_KEY_MIN_SIZE);
    cr_assert_eq(args[1].key, MPS_KEY_MAX_SIZE);
    cr_assert_eq(args[1].val.size, 1024);
    /* Taking the rest leaves the documented "all used" state. */
    cr_assert(args_pick(&arg, args, MPS_KEY_MAX_SIZE));
    cr_assert(args_pick(&arg, args, MPS_KEY_MIN_SIZE));
    cr_assert_eq(args[0].key, MPS_KEY_ARGS_END);
  } MPS_ARGS_END(args);
}

Test(args, pick_of_absent_key_changes_nothing)
{
  MPS_ARGS_BEGIN(args) {
    mps_arg_s arg;
    memset(&arg, 0xA5, sizeof arg);
    MPS_ARGS_ADD(args, MPS_KEY_MIN_SIZE, (size_t)8);
    cr_assert_not(args_pick(&arg, args, MPS_KEY_RANK));
    cr_assert_eq(args_length(args), 1);
    cr_assert_eq(args[0].val.size, 8);
    cr_assert_eq(((unsigned char *)&arg)[0], 0xA5);
  } MPS_ARGS_END(args);
}

Test(args, pick_takes_the_first_of_repeated_keys)
{
  MPS_ARGS_BEGIN(args) {
    mps_arg_s arg;
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, (size_t)1);
    MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, (size_t)2);
    cr_assert(args_pick(&arg, args, MPS_KEY_EXTEND_BY));
    cr_assert_eq(arg.val.size, 1);
    cr_assert(args_pick(&arg, args, MPS_KEY_EXTEND_BY));
    cr_assert_eq(arg.val.size, 2);
    cr_assert_not(args_pick(&arg, args, MPS_KEY_EXTEND_BY));
  } MPS_ARGS_END(args);
}

Test(args, none_is_empty_and_never_written)
{
  mps_arg_s arg;
  cr_assert_eq(mps_args_none[0].key, MPS_KEY_ARGS_END);
  cr_assert(args_check(mps_args_none));
  cr_assert_not(args_pick(&arg, mps_args_none, MPS_KEY_ARENA_SIZE));
}

Test(args, hand_built_list_as_in_the_manual)
{
  mps_arg_s args[3];
  mps_arg_s arg;
  char base[8];
  args[0].key = MPS_KEY_ARENA_SIZE;
  args[0].val.size = 100;
  args[1].key = MPS_KEY_ARENA_CL_BASE;
  args[1].val.addr = base;
  args[2].key = MPS_KEY_ARGS_END;
  cr_assert(args_pick(&arg, args, MPS_KEY_ARENA_CL_BASE));
  cr_assert_eq(arg.val.addr, (mps_addr_t)base);
  cr_assert_eq(args[1].key, MPS_KEY_ARGS_END);
}

Test(args, key_names_identify_keys)
{
  cr_assert_str_eq(args_key_name(MPS_KEY_ARENA_SIZE), "MPS_KEY_ARENA_SIZE");
  cr_assert_str_eq(args_key_name(MPS_KEY_MVT_FRAG_LIMIT), "MPS_KEY_MVT_FRAG_LIMIT");
}

Test(args, too_many_arguments_are_reported_not_written)
{
  reports_install();
  MPS_ARGS_BEGIN(args) {
    int i;
    for (i = 0; i < MPS_ARGS_MAX + 5; ++i)
      MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, (size_t)i);
    cr_assert_eq(args_length(args), MPS_ARGS_MAX - 1);
    cr_assert_eq(reports_seen(), 6);
  } MPS_ARGS_END(args);
}

Test(args, a_forged_key_is_caught_in_cool)
{
  static const struct { Sig sig; const char *name; } forged = {0, "forged"};
  mps_arg_s args[2];
#if CHECK_LEVEL < 2
  cr_skip_test("key signatures in lists are checked only in cool");
#endif
  reports_install();
  args[0].key = (mps_key_t)(const void *)&forged;
  args[1].key = MPS_KEY_ARGS_END;
  (void)args_check(args);
  cr_assert_gt(reports_seen(), 0);
}

/* The overflow is reported where MPS_ARGS_ADD was written, through the
 * installed handler (plinth.rst: file, line and condition). */
Test(args, overflow_is_reported_at_the_clients_file_and_line)
{
  unsigned line = 0;
  reports_install();
  MPS_ARGS_BEGIN(args) {
    int i;
    for (i = 0; i < MPS_ARGS_MAX; ++i) {
      line = __LINE__ + 1;
      MPS_ARGS_ADD(args, MPS_KEY_EXTEND_BY, (size_t)i);
    }
    cr_assert_eq(args_length(args), MPS_ARGS_MAX - 1);
  } MPS_ARGS_END(args);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 1);
  cr_assert_str_eq(reports_last_file, __FILE__);
  cr_assert_eq(reports_last_line, line);
  cr_assert_not_null(reports_last);
  cr_assert_not_null(strstr(reports_last, "MPS_ARGS_ADD"), "condition: %s",
                     reports_last);
}

/* keyword.rst: a list must end with MPS_KEY_ARGS_END; one that does not
 * (within any plausible length) fails the check. */
Test(args, a_list_with_no_end_is_caught_in_cool)
{
  static mps_arg_s args[2048];
  size_t i;
#if CHECK_LEVEL < 2
  cr_skip_test("list invariants are checked only in cool");
#endif
  for (i = 0; i < sizeof args / sizeof args[0]; ++i) {
    args[i].key = MPS_KEY_EXTEND_BY;
    args[i].val.size = i;
  }
  reports_install();
  (void)args_check(args);
  reports_install_abort();
  cr_assert_gt(reports_seen(), 0);
}
