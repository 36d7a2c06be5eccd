/* mpstd.h: the platform interface (manual/topic/platform.rst).
 *
 * The platform is three pairs of letters: operating system, processor
 * architecture, compiler toolchain.  Each aspect the compiler reveals is
 * a macro (MPS_OS_*, MPS_ARCH_*, MPS_BUILD_*), the whole platform is
 * MPS_PF_STRING, and where the combination is one platform.rst names, its
 * MPS_PF_* macro is defined too.  mps11 also builds on combinations the
 * manual does not name (Windows with Clang or GCC, Linux on IA-32 with
 * Clang): they get the aspect macros and MPS_PF_STRING only.  Also the
 * word type and its width, and the natural alignment, which mps.h uses.
 */
#ifndef mpstd_h
#define mpstd_h

#include <stdint.h>

/* Operating system. */
#if defined(__linux__)
#define MPS_OS_LI
#define MPS_PF_OS_ "li"
#elif defined(__FreeBSD__)
#define MPS_OS_FR
#define MPS_PF_OS_ "fr"
#elif defined(__APPLE__) && defined(__MACH__)
#define MPS_OS_XC
#define MPS_PF_OS_ "xc"
#elif defined(_WIN32)
#define MPS_OS_W3
#define MPS_PF_OS_ "w3"
#else
#define MPS_PF_OS_ "an"   /* none of the above: ANSI C only */
#endif

/* Processor architecture. */
#if defined(__x86_64__) || defined(_M_X64)
#define MPS_ARCH_I6
#define MPS_PF_ARCH_ "i6"
#elif defined(__i386__) || defined(_M_IX86)
#define MPS_ARCH_I3
#define MPS_PF_ARCH_ "i3"
#elif defined(__aarch64__) || defined(_M_ARM64)
#define MPS_ARCH_A6
#define MPS_PF_ARCH_ "a6"
#else
#define MPS_PF_ARCH_ "an"
#endif

/* Compiler toolchain.  Clang defines __GNUC__ too, so it is tested first;
 * clang-cl defines _MSC_VER and __clang__, and counts as Clang. */
#if defined(__clang__)
#define MPS_BUILD_LL
#define MPS_PF_BUILD_ "ll"
#elif defined(__GNUC__)
#define MPS_BUILD_GC
#define MPS_PF_BUILD_ "gc"
#elif defined(_MSC_VER)
#define MPS_BUILD_MV
#define MPS_PF_BUILD_ "mv"
#else
#define MPS_PF_BUILD_ "an"
#endif

#define MPS_PF_STRING MPS_PF_OS_ MPS_PF_ARCH_ MPS_PF_BUILD_

/* The platforms platform.rst names. */
#if defined(MPS_OS_FR) && defined(MPS_ARCH_I3) && defined(MPS_BUILD_GC)
#define MPS_PF_FRI3GC
#elif defined(MPS_OS_FR) && defined(MPS_ARCH_I3) && defined(MPS_BUILD_LL)
#define MPS_PF_FRI3LL
#elif defined(MPS_OS_FR) && defined(MPS_ARCH_I6) && defined(MPS_BUILD_GC)
#define MPS_PF_FRI6GC
#elif defined(MPS_OS_FR) && defined(MPS_ARCH_I6) && defined(MPS_BUILD_LL)
#define MPS_PF_FRI6LL
#elif defined(MPS_OS_LI) && defined(MPS_ARCH_A6) && defined(MPS_BUILD_GC)
#define MPS_PF_LIA6GC
#elif defined(MPS_OS_LI) && defined(MPS_ARCH_A6) && defined(MPS_BUILD_LL)
#define MPS_PF_LIA6LL
#elif defined(MPS_OS_LI) && defined(MPS_ARCH_I3) && defined(MPS_BUILD_GC)
#define MPS_PF_LII3GC
#elif defined(MPS_OS_LI) && defined(MPS_ARCH_I6) && defined(MPS_BUILD_GC)
#define MPS_PF_LII6GC
#elif defined(MPS_OS_LI) && defined(MPS_ARCH_I6) && defined(MPS_BUILD_LL)
#define MPS_PF_LII6LL
#elif defined(MPS_OS_W3) && defined(MPS_ARCH_I3) && defined(MPS_BUILD_MV)
#define MPS_PF_W3I3MV
#elif defined(MPS_OS_W3) && defined(MPS_ARCH_I6) && defined(MPS_BUILD_MV)
#define MPS_PF_W3I6MV
#elif defined(MPS_OS_XC) && defined(MPS_ARCH_A6) && defined(MPS_BUILD_LL)
#define MPS_PF_XCA6LL
#elif defined(MPS_OS_XC) && defined(MPS_ARCH_I3) && defined(MPS_BUILD_GC)
#define MPS_PF_XCI3GC
#elif defined(MPS_OS_XC) && defined(MPS_ARCH_I3) && defined(MPS_BUILD_LL)
#define MPS_PF_XCI3LL
#elif defined(MPS_OS_XC) && defined(MPS_ARCH_I6) && defined(MPS_BUILD_GC)
#define MPS_PF_XCI6GC
#elif defined(MPS_OS_XC) && defined(MPS_ARCH_I6) && defined(MPS_BUILD_LL)
#define MPS_PF_XCI6LL
#endif

/* The word: as wide as an object pointer (mps.h's mps_word_t is
 * uintptr_t, the same type).  The widest unsigned integer type. */
#define MPS_T_WORD uintptr_t
#define MPS_T_ULONGEST uintmax_t

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
#define MPS_WORD_WIDTH 64
#define MPS_WORD_SHIFT 6
#elif UINTPTR_MAX == 0xFFFFFFFFu
#define MPS_WORD_WIDTH 32
#define MPS_WORD_SHIFT 5
#else
#error "mpstd.h: unsupported word width"
#endif

/* Natural alignment of the platform: the original MPS's value on each
 * platform, since clients size their objects by it (a format or pool left
 * at its default alignment takes only multiples of it): 16 on 64-bit
 * Windows, as its malloc gives; 8 on the other 64-bit platforms and on
 * 32-bit Windows; 4 on other 32-bit platforms.  A client that keeps
 * types needing more (long double, vector types) asks for it with
 * MPS_KEY_ALIGN or MPS_KEY_FMT_ALIGN. */
#if MPS_WORD_WIDTH == 64 && defined(MPS_OS_W3)
#define MPS_PF_ALIGN 16
#elif MPS_WORD_WIDTH == 64 || defined(MPS_OS_W3)
#define MPS_PF_ALIGN 8
#else
#define MPS_PF_ALIGN 4
#endif

#endif /* mpstd_h */
