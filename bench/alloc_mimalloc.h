/* alloc_mimalloc.h: mimalloc through its own mi_malloc / mi_free, linked
 * with -lmimalloc (which also takes over malloc for the process).  Plain
 * mi_free, like the other malloc implementations. */
#include <mimalloc.h>

static const char bench_allocator[] = "mimalloc";

static void bench_init(void)
{
  fprintf(stderr, "bench: mimalloc %d\n", mi_version());
}

static void bench_finish(void)
{
}

static void *bench_alloc(size_t size)
{
  void *p = mi_malloc(size);
  if (p == NULL)
    bench_die("mi_malloc", 0);
  return p;
}

static void bench_free(void *p, size_t size)
{
  (void)size;
  mi_free(p);
}
