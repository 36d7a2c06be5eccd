/* testthr_posix.c: testthr.h over POSIX threads. */
#if defined(_WIN32)
#error "testthr_posix.c is for POSIX systems; use testthr_win32.c"
#endif

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "testthr.h"

void testthr_create(testthr_s *t, testthr_fn fn, void *arg)
{
  pthread_t *tid = malloc(sizeof *tid);
  if (tid == NULL || pthread_create(tid, NULL, fn, arg) != 0) {
    fprintf(stderr, "testthr_create: cannot start a thread\n");
    abort();
  }
  t->handle = tid;
  t->fn = fn;
  t->arg = arg;
  t->result = NULL;
}

void *testthr_join(testthr_s *t)
{
  pthread_t *tid = t->handle;
  if (pthread_join(*tid, &t->result) != 0) {
    fprintf(stderr, "testthr_join: cannot join a thread\n");
    abort();
  }
  free(tid);
  t->handle = NULL;
  return t->result;
}

void testthr_yield(void)
{
  (void)sched_yield();
}
