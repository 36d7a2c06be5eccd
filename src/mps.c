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

/* Feature-test macros.  A system header fixes what it declares the first
 * time any system header is read, so these must come before the first
 * #include of this translation unit; a module cannot set them itself.
 * _POSIX_C_SOURCE is deliberately not defined: on FreeBSD and macOS it
 * would hide the BSD extensions (MAP_ANON) that the OS modules need.
 *   _DEFAULT_SOURCE    glibc and musl under -std=c11: POSIX 2008 plus
 *                      MAP_ANONYMOUS, MAP_NORESERVE, madvise (os/vm_posix.c)
 *   _DARWIN_C_SOURCE   macOS: keep MAP_ANON, MAP_NORESERVE visible even if
 *                      a POSIX level is requested elsewhere
 *   __BSD_VISIBLE      FreeBSD: the same, should _POSIX_C_SOURCE be defined
 *                      (its headers define it to 1 anyway otherwise)
 * Each is ignored where it means nothing. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#ifndef _DARWIN_C_SOURCE
#define _DARWIN_C_SOURCE 1
#endif
#if defined(__FreeBSD__) && !defined(__BSD_VISIBLE)
#define __BSD_VISIBLE 1
#endif

#include "base/config.h"

/* Base: checking and the plinth */
#include "base/check.c"
#include "base/args.c"
#include "plinth/plinth_ansi.c"
#include "plinth/io_ansi.c"

/* Operating-system services */
#if defined(PLATFORM_WIN32)
#include "os/vm_win32.c"
#elif defined(PLATFORM_POSIX)
#include "os/vm_posix.c"
#else
#include "os/vm_ansi.c"
#endif
#include "os/vm.c"

/* Data structures */
#include "data/ring.c"
#include "data/bt.c"
#include "data/splay.c"
#include "data/range.c"
#include "data/land.c"
#include "data/freelist.c"
#include "data/cbs.c"
#include "data/failover.c"
#include "pool/abq.c"

/* Threads and locks */
#if defined(CONFIG_THREAD_SINGLE)
#include "thread/lock_single.c"
#elif defined(PLATFORM_WIN32)
#include "thread/lock_win32.c"
#elif defined(PLATFORM_POSIX)
#include "thread/lock_posix.c"
#endif
#include "thread/lock.c"
#include "thread/fork.c"
#include "base/event.c"

/* Thread manager */
#if defined(CONFIG_THREAD_SINGLE)
#include "thread/thread_single.c"
#elif defined(PLATFORM_WIN32)
#include "thread/thread_win32.c"
#elif defined(__APPLE__)
#include "thread/thread_macos.c"
#elif defined(PLATFORM_POSIX)
#include "thread/thread_posix.c"
#endif
#include "thread/thread.c"

/* Protection and the shield */
#include "protect/prot_none.c"
#if defined(PLATFORM_WIN32)
#include "protect/prot_win32.c"
#include "protect/fault_win32.c"
#elif defined(PLATFORM_POSIX)
#include "protect/prot_posix.c"
#include "protect/fault_posix.c"
#endif
#if defined(PLATFORM_WIN32) || defined(PLATFORM_POSIX)
#include "protect/prot_os.c"
#include "protect/fault.c"
#endif
#include "protect/shield.c"

/* Arena: chunks, the generic arena and its classes */
#include "arena/chunk.c"
#include "arena/arena.c"
#include "arena/arena_vm.c"
#include "arena/arena_client.c"

/* The collector: its state, segments, chains, messages */
#include "gc/gc.c"
#include "gc/gcevent.c"
#include "gc/seg.c"
#include "gc/barrier.c"
#include "gc/chain.c"
#include "gc/message.c"
#include "gc/format.c"
#include "gc/root.c"
#include "gc/thr.c"
#include "gc/walk.c"
#include "gc/ld.c"
#include "gc/finalize.c"
#include "gc/trace.c"
#include "gc/transform.c"

/* Pools: the generic pool, allocation points, and the pool classes */
#include "pool/pool.c"
#include "pool/buffer.c"
#include "pool/pool_mfs.c"
#include "pool/free_land.c"
#include "pool/pool_mvt.c"
#include "pool/sac.c"
#include "pool/pool_mvff.c"
#include "pool/pool_debug.c"
#include "pool/nailboard.c"
#include "pool/pool_amc.c"
#include "pool/pool_ams.c"
#include "pool/pool_lo.c"
#include "pool/pool_awl.c"
#include "pool/pool_snc.c"
#include "gc/pattern.c"

/* The deprecated interface, over everything above */
#include "api/deprecated.c"
