/* mpslib.h: the library part of the plinth (manual/topic/plinth.rst).
 *
 * The plinth is what mps11 needs from its environment.  The ANSI
 * implementation in src/plinth/ is built in unless CONFIG_PLINTH_NONE is
 * defined, in which case the client supplies these functions.  They may be
 * called from a protection-fault handler, so they must not call mps11 or
 * touch memory it manages.
 */
#ifndef mpslib_h
#define mpslib_h

#include "mps.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mps_lib_stream_s mps_lib_FILE;

extern int mps_lib_get_EOF(void);
extern mps_lib_FILE *mps_lib_get_stderr(void);
extern mps_lib_FILE *mps_lib_get_stdout(void);
/* The original's header also names the three as expressions. */
#define mps_lib_EOF (mps_lib_get_EOF())
#define mps_lib_stderr (mps_lib_get_stderr())
#define mps_lib_stdout (mps_lib_get_stdout())
extern int mps_lib_fputc(int c, mps_lib_FILE *stream);
extern int mps_lib_fputs(const char *s, mps_lib_FILE *stream);

/* Report an assertion failure described by `message`. */
extern void mps_lib_assert_fail(const char *message);

/* Handlers receive the file, line and condition of the failed check. */
typedef void (*mps_lib_assert_fail_t)(const char *file, unsigned line,
                                      const char *condition);
/* Install `handler` for failed checks; return the previous one.  Part of
 * the ANSI plinth only. */
extern mps_lib_assert_fail_t mps_lib_assert_fail_install(mps_lib_assert_fail_t handler);

extern void *mps_lib_memset(void *s, int c, size_t n);
extern void *mps_lib_memcpy(void *dest, const void *source, size_t n);
extern int mps_lib_memcmp(const void *s1, const void *s2, size_t n);

extern mps_clock_t mps_clock(void);
extern mps_clock_t mps_clocks_per_sec(void);

extern unsigned long mps_lib_telemetry_control(void);

#ifdef __cplusplus
}
#endif

#endif /* mpslib_h */
