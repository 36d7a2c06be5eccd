/* alloc_glibc.h: the C library's malloc and free (glibc's ptmalloc2). */
static const char bench_allocator[] = "glibc";

static void bench_init(void)
{
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
