/* testthr.h: the least thread interface the stress harnesses need, so that
 * they run unchanged on POSIX and Windows (under wine in the cross step).
 * testthr_posix.c and testthr_win32.c implement it; the build picks one.
 */
#ifndef testthr_h
#define testthr_h

#include <stdatomic.h>

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

/* A spinlock for the harnesses' own shared state (not the library's).
 * Taking it is an acquire, so the holder sees everything the previous
 * holder wrote inside it; dropping it is a release, publishing this
 * holder's writes to the next. */
typedef struct testthr_spin_s {
  atomic_flag flag;
} testthr_spin_s;

#define TESTTHR_SPIN_INIT {ATOMIC_FLAG_INIT}

static inline void testthr_spin_init(testthr_spin_s *spin)
{
  /* relaxed: made before any thread that uses it is started. */
  atomic_flag_clear_explicit(&spin->flag, memory_order_relaxed);
}

static inline void testthr_spin_lock(testthr_spin_s *spin)
{
  while (atomic_flag_test_and_set_explicit(&spin->flag, memory_order_acquire))
    testthr_yield();
}

static inline void testthr_spin_unlock(testthr_spin_s *spin)
{
  atomic_flag_clear_explicit(&spin->flag, memory_order_release);
}

#endif /* testthr_h */
