/* Unit tests for the platform interface (include/mpstd.h;
 * manual/topic/platform.rst): it stands alone; one operating system,
 * architecture and toolchain macro at most each, and MPS_PF_STRING spells
 * the ones defined; the named platform macro is defined exactly for the
 * combinations platform.rst lists; MPS_T_WORD is pointer-sized and
 * agrees with MPS_WORD_WIDTH, MPS_WORD_SHIFT and mps_word_t;
 * MPS_PF_ALIGN is a power of two at least a word, that blocks of the
 * manual pools honour. */
#include "../include/mpstd.h"   /* first: it must need nothing else */

#include <criterion/criterion.h>
#include <limits.h>
#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvff.h"

static int count_defined(const int *flags, size_t n)
{
  int c = 0;
  size_t i;
  for (i = 0; i < n; ++i)
    c += flags[i];
  return c;
}

Test(platform, string_spells_the_aspects)
{
  const int os[] = {
#ifdef MPS_OS_FR
    1,
#else
    0,
#endif
#ifdef MPS_OS_LI
    1,
#else
    0,
#endif
#ifdef MPS_OS_W3
    1,
#else
    0,
#endif
#ifdef MPS_OS_XC
    1,
#else
    0,
#endif
  };
  const int arch[] = {
#ifdef MPS_ARCH_A6
    1,
#else
    0,
#endif
#ifdef MPS_ARCH_I3
    1,
#else
    0,
#endif
#ifdef MPS_ARCH_I6
    1,
#else
    0,
#endif
  };
  const int build[] = {
#ifdef MPS_BUILD_GC
    1,
#else
    0,
#endif
#ifdef MPS_BUILD_LL
    1,
#else
    0,
#endif
#ifdef MPS_BUILD_MV
    1,
#else
    0,
#endif
  };
  static const char *const os_code[] = {"fr", "li", "w3", "xc"};
  static const char *const arch_code[] = {"a6", "i3", "i6"};
  static const char *const build_code[] = {"gc", "ll", "mv"};
  char expect[7] = "anan" "an";
  size_t i;
  cr_assert_leq(count_defined(os, 4), 1);
  cr_assert_leq(count_defined(arch, 3), 1);
  cr_assert_leq(count_defined(build, 3), 1);
  for (i = 0; i < 4; ++i)
    if (os[i])
      memcpy(expect, os_code[i], 2);
  for (i = 0; i < 3; ++i)
    if (arch[i])
      memcpy(expect + 2, arch_code[i], 2);
  for (i = 0; i < 3; ++i)
    if (build[i])
      memcpy(expect + 4, build_code[i], 2);
  cr_assert_str_eq(MPS_PF_STRING, expect);
}

/* The named macros: at most one, and the one whose name is the string. */
Test(platform, named_platform_matches_the_string)
{
  static const char *const named[] = {
#ifdef MPS_PF_FRI3GC
    "fri3gc",
#endif
#ifdef MPS_PF_FRI3LL
    "fri3ll",
#endif
#ifdef MPS_PF_FRI6GC
    "fri6gc",
#endif
#ifdef MPS_PF_FRI6LL
    "fri6ll",
#endif
#ifdef MPS_PF_LIA6GC
    "lia6gc",
#endif
#ifdef MPS_PF_LIA6LL
    "lia6ll",
#endif
#ifdef MPS_PF_LII3GC
    "lii3gc",
#endif
#ifdef MPS_PF_LII6GC
    "lii6gc",
#endif
#ifdef MPS_PF_LII6LL
    "lii6ll",
#endif
#ifdef MPS_PF_W3I3MV
    "w3i3mv",
#endif
#ifdef MPS_PF_W3I6MV
    "w3i6mv",
#endif
#ifdef MPS_PF_XCA6LL
    "xca6ll",
#endif
#ifdef MPS_PF_XCI3GC
    "xci3gc",
#endif
#ifdef MPS_PF_XCI3LL
    "xci3ll",
#endif
#ifdef MPS_PF_XCI6GC
    "xci6gc",
#endif
#ifdef MPS_PF_XCI6LL
    "xci6ll",
#endif
    NULL
  };
  static const char *const listed[] = {
    "fri3gc", "fri3ll", "fri6gc", "fri6ll", "lia6gc", "lia6ll", "lii3gc",
    "lii6gc", "lii6ll", "w3i3mv", "w3i6mv", "xca6ll", "xci3gc", "xci3ll",
    "xci6gc", "xci6ll"
  };
  bool is_listed = false;
  size_t i;
  for (i = 0; i < sizeof listed / sizeof listed[0]; ++i)
    if (strcmp(listed[i], MPS_PF_STRING) == 0)
      is_listed = true;
  if (is_listed) {
    cr_assert(named[0] != NULL, "no MPS_PF_ macro for %s", MPS_PF_STRING);
    cr_assert_str_eq(named[0], MPS_PF_STRING);
    cr_assert(named[1] == NULL, "two MPS_PF_ macros");
  } else {
    cr_assert(named[0] == NULL, "MPS_PF_ macro for an unlisted platform");
  }
#if defined(__linux__) && defined(__x86_64__)
  /* This machine's own platform, spelt out. */
  cr_assert(strncmp(MPS_PF_STRING, "lii6", 4) == 0);
#endif
}

Test(platform, word_and_alignment)
{
  mps_arena_t arena;
  mps_pool_t pool;
  size_t size;
  cr_assert_eq(sizeof(MPS_T_WORD), sizeof(void *));
  cr_assert_eq(sizeof(MPS_T_WORD), sizeof(mps_word_t));
  cr_assert_eq(sizeof(MPS_T_WORD) * CHAR_BIT, MPS_WORD_WIDTH);
  cr_assert_eq(1u << MPS_WORD_SHIFT, MPS_WORD_WIDTH);
  cr_assert_geq(sizeof(MPS_T_ULONGEST), sizeof(unsigned long long));
  cr_assert_geq(sizeof(MPS_T_ULONGEST), sizeof(MPS_T_WORD));
  cr_assert_eq(MPS_PF_ALIGN & (MPS_PF_ALIGN - 1), 0);
  cr_assert_geq(MPS_PF_ALIGN, sizeof(MPS_T_WORD));
  /* The original's values, which clients size their objects by. */
#if MPS_WORD_WIDTH == 64 && defined(MPS_OS_W3)
  cr_assert_eq(MPS_PF_ALIGN, 16);
#elif MPS_WORD_WIDTH == 64 || defined(MPS_OS_W3)
  cr_assert_eq(MPS_PF_ALIGN, 8);
#else
  cr_assert_eq(MPS_PF_ALIGN, 4);
#endif
#if MPS_WORD_WIDTH == 64
  cr_assert_geq(MPS_PF_ALIGN, alignof(double));
#endif
  /* Blocks of a pool with its default alignment are aligned to it. */
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mvff(), mps_args_none), MPS_RES_OK);
  for (size = 1; size <= 4096; size *= 3) {
    mps_addr_t p;
    cr_assert_eq(mps_alloc(&p, pool, size), MPS_RES_OK);
    cr_assert_eq((uintptr_t)p % MPS_PF_ALIGN, 0);
    mps_free(pool, p, size);
  }
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
}
