/* configs.h: tests of something a build configuration leaves out.
 *
 * build.zig runs the unit tests also against the library built with
 * CONFIG_THREAD_SINGLE (the client promises one thread: there is no other
 * thread to suspend, scan or find dead, and no fork hooks), with
 * CONFIG_INCREMENTAL_NONE (every collection runs to its end when it
 * starts), with CONFIG_BARRIER_NONE (no protection: summaries stay
 * universal, and with no read barrier nothing is incremental either) and
 * with CONFIG_PLATFORM_ANSI (the C library alone: all three of those),
 * and defines the macro for the tests too.  A test of what is absent says so
 * with one of these, as a Test() option: it is then skipped, and reported
 * as skipped, in those configurations only.
 */
#ifndef TEST_CONFIGS_H
#define TEST_CONFIGS_H

#include "../../src/base/config.h"

#if defined(CONFIG_THREAD_SINGLE)
#define TEST_NEEDS_THREADS .disabled = 1
#else
#define TEST_NEEDS_THREADS .disabled = 0
#endif

#if defined(CONFIG_INCREMENTAL_NONE) || defined(CONFIG_BARRIER_NONE) \
    || defined(PLATFORM_ANSI)
#define TEST_NEEDS_INCREMENTS .disabled = 1
#else
#define TEST_NEEDS_INCREMENTS .disabled = 0
#endif

#if defined(CONFIG_BARRIER_NONE) || defined(PLATFORM_ANSI)
#define TEST_NEEDS_BARRIER .disabled = 1
#else
#define TEST_NEEDS_BARRIER .disabled = 0
#endif

/* The operating system's virtual memory: reserved addresses that cost no
 * memory, unmapped pages that fault and whose memory goes back.
 * vm_ansi.c has only malloc. */
#if defined(PLATFORM_ANSI)
#define TEST_NEEDS_OS_VM .disabled = 1
#else
#define TEST_NEEDS_OS_VM .disabled = 0
#endif

#endif /* TEST_CONFIGS_H */
