/* mps.c: the whole library as one translation unit.
 *
 *   cc -std=c11 -O2 -c src/mps.c
 *
 * builds mps11 for the platform it is compiled on, with no build system.
 * The zig build compiles this same file, so there is one list of sources.
 * Platform files are chosen here by the PLATFORM_* macros of config.h; a
 * platform file compiled on the wrong platform stops with #error.
 *
 * Before adding a module, read docs/contributing.md (conventions for
 * modules, tests, fuzz targets and stress harnesses).
 *
 * Static names must be unique across the modules below because they share
 * this translation unit: module prefixes make sure of that.
 */
#include "base/config.h"

/* Base: checking and the plinth */
#include "base/check.c"
#include "base/args.c"
#include "plinth/plinth_ansi.c"
#include "plinth/io_ansi.c"

/* Data structures */
#include "data/ring.c"
#include "data/bt.c"
#include "data/splay.c"

/* Threads and locks */
#if defined(CONFIG_THREAD_SINGLE)
#include "thread/lock_single.c"
#elif defined(PLATFORM_WIN32)
#include "thread/lock_win32.c"
#elif defined(PLATFORM_POSIX)
#include "thread/lock_posix.c"
#endif
#include "thread/lock.c"

/* Protection and the shield */
