/* gc_boehm.h: the Boehm-Demers-Weiser collector for gcb.c (Debian's
 * libgc, -lgc), used as its documentation says: GC_MALLOC for objects with
 * pointers, GC_MALLOC_ATOMIC for leaves, uncollectable memory for root
 * tables; it scans the stack and registers itself.  Its defaults are kept
 * (including parallel marking, if the library was built with it). */
#include <gc.h>

#define GCB_NAME "boehm"
#define GCB_HEADER

static void gcb_setup(void *cold)
{
  (void)cold;
  GC_INIT();
}

static void **gcb_root_table(size_t count)
{
  void **table = GC_MALLOC_UNCOLLECTABLE(count * sizeof *table);
  if (table == NULL)
    gcb_die("GC_MALLOC_UNCOLLECTABLE", 0);
  return table;   /* zeroed by the collector */
}

#define GCB_ALLOC_WITH(fn, type, var, size, init) \
  do {                                            \
    (var) = (type *)fn(size);                     \
    if ((var) == NULL)                            \
      gcb_die(#fn, 0);                            \
    init;                                         \
  } while (0)

#define GCB_ALLOC_OBJ(type, var, size, nrefs, init) \
  GCB_ALLOC_WITH(GC_MALLOC, type, var, size, init)
#define GCB_ALLOC_LEAF(type, var, size, init) \
  GCB_ALLOC_WITH(GC_MALLOC_ATOMIC, type, var, size, init)

static unsigned long gcb_collections(void)
{
  return (unsigned long)GC_get_gc_no();
}

static void gcb_teardown(void)
{
}
