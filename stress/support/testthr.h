/* testthr.h: the least thread interface the stress harnesses need, so that
 * they run unchanged on POSIX and Windows (under wine in the cross step).
 * testthr_posix.c and testthr_win32.c implement it; the build picks one.
 */
#ifndef testthr_h
#define testthr_h

typedef void *(*testthr_fn)(void *arg);

typedef struct testthr_s {
  void *handle;   /* pthread_t or HANDLE, boxed */
  testthr_fn fn;
  void *arg;
  void *result;
} testthr_s;

/* Start fn(arg) on a new thread; abort the program if that fails. */
void testthr_create(testthr_s *t, testthr_fn fn, void *arg);
/* Wait for the thread to end and return what fn returned. */
void *testthr_join(testthr_s *t);
/* Let another thread run. */
void testthr_yield(void);

#endif /* testthr_h */
