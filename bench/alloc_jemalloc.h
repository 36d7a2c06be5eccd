/* alloc_jemalloc.h: jemalloc, linked with -ljemalloc, which then provides
 * malloc and free for the whole process (Debian builds it unprefixed).
 * Plain free, like the other malloc implementations: a sized free
 * (sdallocx) would be the closer match to the MPS interface, but is not
 * what a malloc client writes. */
#include <jemalloc/jemalloc.h>

static const char bench_allocator[] = "jemalloc";

static void bench_init(void)
{
  /* Proof that this process really runs jemalloc's malloc. */
  const char *version = NULL;
  size_t len = sizeof version;
  if (mallctl("version", &version, &len, NULL, 0) != 0 || version == NULL)
    bench_die("mallctl(\"version\") (is jemalloc linked?)", 0);
  fprintf(stderr, "bench: jemalloc %s\n", version);
}

static void bench_finish(void)
{
}

static void *bench_alloc(size_t size)
{
  void *p = malloc(size);
  if (p == NULL)
    bench_die("malloc", 0);
  return p;
}

static void bench_free(void *p, size_t size)
{
  (void)size;
  free(p);
}
