/* config.h: build configuration -- variety and platform.
 *
 * Varieties (manual/guide/build.rst, design/config.txt):
 *   CONFIG_VAR_COOL  every check on, deep structure checks; an assertion
 *                    failure aborts.
 *   CONFIG_VAR_HOT   optimized; cheap checks (AVER, signature checks) on;
 *                    the default when nothing is defined.
 *   CONFIG_VAR_RASH  no checks at all.
 * Exactly one is in force.  Everything else derives from this file, so no
 * other source tests CONFIG_VAR_* directly.
 */
#ifndef config_h
#define config_h

#if defined(CONFIG_VAR_COOL) + defined(CONFIG_VAR_HOT) + defined(CONFIG_VAR_RASH) > 1
#error "config.h: define at most one of CONFIG_VAR_COOL, CONFIG_VAR_HOT, CONFIG_VAR_RASH"
#endif
#if !defined(CONFIG_VAR_COOL) && !defined(CONFIG_VAR_RASH) && !defined(CONFIG_VAR_HOT)
#define CONFIG_VAR_HOT
#endif

/* CHECK_LEVEL: 0 no checks (rash); 1 cheap checks and signatures (hot);
 * 2 every check, recursing into child structures (cool). */
#if defined(CONFIG_VAR_COOL)
#define CHECK_LEVEL 2
#define VARIETY_NAME "cool"
#elif defined(CONFIG_VAR_HOT)
#define CHECK_LEVEL 1
#define VARIETY_NAME "hot"
#else
#define CHECK_LEVEL 0
#define VARIETY_NAME "rash"
#endif

/* NOINLINE: keep a slow path out of line, so that the fast path of its
 * caller (mps_ap_fill, mps_free) saves few registers and stays short. */
#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define NOINLINE __declspec(noinline)
#else
#define NOINLINE
#endif

/* ALWAYS_INLINE: a small static function on a hot loop that the compiler
 * would otherwise call out of line (splay.c's search comparison, called
 * at every level of every splay). */
#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define ALWAYS_INLINE __forceinline
#else
#define ALWAYS_INLINE inline
#endif

/* COLD: a function that runs only when something has gone wrong (a failed
 * check), kept out of line and out of the way, so that the fast paths
 * that test for it (mps_ap_fill, mps_free) need not save registers for a
 * call they almost never make. */
#if defined(__GNUC__) || defined(__clang__)
#define COLD __attribute__((cold, noinline))
#else
#define COLD NOINLINE
#endif

/* Platform families.  Platform code lives only in files named for their
 * platform (lock_posix.c, lock_win32.c, ...); those files #error when
 * compiled elsewhere, and src/mps.c picks the right ones with the
 * PLATFORM_* macros below.  CONFIG_PLATFORM_ANSI builds the fallback for
 * a platform with neither POSIX nor Windows on any machine, using the C
 * library alone (vm_ansi.c, one thread, no protection), so that it can be
 * tested where it is not needed. */
#if defined(CONFIG_PLATFORM_ANSI)
#define PLATFORM_ANSI 1
#elif defined(_WIN32)
#define PLATFORM_WIN32 1
#elif defined(__unix__) || defined(__APPLE__)
#define PLATFORM_POSIX 1
#else
#define PLATFORM_ANSI 1  /* no OS services: single-threaded fallbacks */
#endif

/* CONFIG_THREAD_SINGLE: the client promises one thread; locks become
 * counters that still check ownership discipline. */
#if defined(PLATFORM_ANSI) && !defined(CONFIG_THREAD_SINGLE)
#define CONFIG_THREAD_SINGLE 1
#endif

/* Internal external names go under the MPS's prefix (names.h says why). */
#include "names.h"

/* The interface is declared here, before any module defines it, with
 * default visibility, so that a shared library compiled with
 * -fvisibility=hidden (build.zig does) exports the documented names and
 * nothing else: the internal mps_i_ names stay inside it, where calls to
 * them are direct and a client's definition cannot replace them.  A
 * definition keeps the visibility of its first declaration.  ci/exports
 * checks the result.  Without -fvisibility=hidden every name is exported,
 * as before.  COFF has no visibility; Windows builds skip the pragma. */
#if defined(__GNUC__) && !defined(_WIN32)
#pragma GCC visibility push(default)
#endif
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
#include "../../include/mpsio.h"
#include "../../include/mpslib.h"
#if defined(__GNUC__) && !defined(_WIN32)
#pragma GCC visibility pop
#endif

#endif /* config_h */
