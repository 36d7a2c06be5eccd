/* testthr_win32.c: testthr.h over Win32 threads (no POSIX emulation). */
#if !defined(_WIN32)
#error "testthr_win32.c is for Windows; use testthr_posix.c"
#endif

#include <windows.h>
#include <stdio.h>
#include <stdlib.h>

#include "testthr.h"

static DWORD WINAPI testthr_start(LPVOID param)
{
  testthr_s *t = param;
  t->result = t->fn(t->arg);
  return 0;
}

void testthr_create(testthr_s *t, testthr_fn fn, void *arg)
{
  HANDLE h;
  t->fn = fn;
  t->arg = arg;
  t->result = NULL;
  h = CreateThread(NULL, 0, testthr_start, t, 0, NULL);
  if (h == NULL) {
    fprintf(stderr, "testthr_create: CreateThread failed (%lu)\n",
            (unsigned long)GetLastError());
    abort();
  }
  t->handle = h;
}

void *testthr_join(testthr_s *t)
{
  if (WaitForSingleObject((HANDLE)t->handle, INFINITE) != WAIT_OBJECT_0) {
    fprintf(stderr, "testthr_join: wait failed\n");
    abort();
  }
  CloseHandle((HANDLE)t->handle);
  t->handle = NULL;
  return t->result;
}

void testthr_yield(void)
{
  SwitchToThread();
}
