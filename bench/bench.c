/* bench.c: a manual-allocation workload, the same for every allocator.
 *
 * The allocator is chosen when this file is compiled (-DBENCH_GLIBC,
 * -DBENCH_JEMALLOC, -DBENCH_MIMALLOC, -DBENCH_MVFF_AP, -DBENCH_MVFF_ALLOC,
 * -DBENCH_MVFF_SAC, -DBENCH_MVT, -DBENCH_MFS or -DBENCH_AP_FLOOR), one
 * binary per allocator, because jemalloc and mimalloc replace malloc in
 * any process they are linked into.  Each alloc_*.h supplies the same small interface:
 *
 *   bench_allocator            its name, printed
 *   bench_init(), bench_finish()   set up and tear down (arena, pools)
 *   bench_alloc(size) -> ptr   never NULL (an allocator failure exits)
 *   bench_free(ptr, size)      size is the size asked for at allocation
 *
 * The functions are static and inline-able, so that each allocator is
 * called the way a real client would call it (MPS allocation points with
 * the mps_reserve / mps_commit macros, malloc through the PLT).
 *
 * The workload (deterministic from the seed, which is printed):
 *   - sizes: 70% 16..64 bytes, 20% 65..256, 8% 257..4 KiB, 1.9% 4..32 KiB,
 *     0.1% 32..512 KiB (log-uniform within the last three bands), so most
 *     blocks are small but most bytes are in the rare large ones;
 *   - a working set of live blocks whose target count rises and falls
 *     twice between SLOTS/8 and SLOTS (a triangle wave): below the target
 *     a step allocates, above it frees a random live block, at it replaces
 *     a random live block (free, then allocate), so lifetimes are mixed;
 *   - bursts of short-lived temporaries (about one step in 512: 32..511
 *     blocks of at most 4 KiB, freed all together, last-in-first-out or
 *     first-in-first-out in turn), as a parser or a request handler makes.
 * Every block gets a tag written into its first and last 8 bytes and into
 * 8 bytes of every 4 KiB page in between, so that every page of a block is
 * touched (peak RSS counts all the memory an allocator handed out) while
 * the cost of the allocator, not of memset, dominates.  Each free first
 * reads them back and checks them, and folds them into a checksum: it
 * depends only on the workload, so every allocator must print the same.
 *
 * Output: one line "result name=... seconds=... peak_kib=... ..." for the
 * runner (bench/run.sh), which takes the best time of several runs.
 */
#define _XOPEN_SOURCE 700

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static void bench_die(const char *what, int code)
{
  fprintf(stderr, "bench: %s failed (%d)\n", what, code);
  exit(2);
}

#if defined(BENCH_GLIBC)
#include "alloc_glibc.h"
#elif defined(BENCH_JEMALLOC)
#include "alloc_jemalloc.h"
#elif defined(BENCH_MIMALLOC)
#include "alloc_mimalloc.h"
#elif defined(BENCH_MVFF_AP)
#include "alloc_mvff_ap.h"
#elif defined(BENCH_MVFF_ALLOC)
#include "alloc_mvff_alloc.h"
#elif defined(BENCH_MVT)
#include "alloc_mvt.h"
#elif defined(BENCH_MFS)
#include "alloc_mfs.h"
#elif defined(BENCH_MVFF_SAC)
#include "alloc_mvff_sac.h"
#elif defined(BENCH_AP_FLOOR)
#include "alloc_ap_floor.h"
#else
#error "bench.c: choose an allocator with -DBENCH_<NAME>"
#endif

#define SLOTS ((size_t)65536)   /* most live blocks in the working set */
#define TEMPS_MAX 512           /* most temporaries in one burst */
#define DEFAULT_STEPS 4000000UL
#define DEFAULT_SEED 20240611UL
#define PAGE 4096

typedef struct block_s {
  unsigned char *p;
  size_t size;
  uint64_t tag;
} block_s;

static uint64_t rng_state;

/* xorshift64*: fast, and its whole state is one word seeded from the
 * printed seed, so a run is reproducible. */
static uint64_t rng(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1DULL;
}

/* A size from the mix above; temporaries stay within the first three
 * bands (at most 4 KiB). */
static size_t pick_size(int temporary)
{
  uint64_t r = rng();
  unsigned band = (unsigned)(r % (temporary ? 980 : 1000));
  uint64_t u = r >> 20;
  unsigned e;
  if (band < 700)
    return 16 + (size_t)(u % 49);
  if (band < 900)
    return 65 + (size_t)(u % 192);
  if (band < 980)
    e = 8 + (unsigned)(u % 4);            /* (256, 4096] */
  else if (band < 999)
    e = 12 + (unsigned)(u % 3);           /* (4 KiB, 32 KiB] */
  else
    e = 15 + (unsigned)(u % 4);           /* (32 KiB, 512 KiB] */
  return ((size_t)1 << e) + 1 + (size_t)((u >> 4) % ((uint64_t)1 << e));
}

static void put64(unsigned char *p, uint64_t v)
{
  memcpy(p, &v, sizeof v);
}

static uint64_t get64(const unsigned char *p)
{
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* The stride words stop 16 bytes short of the end so that none overlaps
 * the last word (sizes are at least 16). */
static void block_write(const block_s *b)
{
  size_t off;
  for (off = 0; off + 16 <= b->size; off += PAGE)
    put64(b->p + off, b->tag ^ off);
  put64(b->p + b->size - 8, b->tag ^ b->size);
}

static uint64_t checksum;
static unsigned long long allocs, frees;
static size_t live_bytes, live_bytes_peak;

static void block_check(const block_s *b)
{
  size_t off;
  uint64_t v;
  for (off = 0; off + 16 <= b->size; off += PAGE) {
    v = get64(b->p + off);
    if (v != (b->tag ^ off))
      goto corrupt;
    checksum = (checksum ^ v) * 0x100000001B3ULL;
  }
  v = get64(b->p + b->size - 8);
  if (v != (b->tag ^ b->size))
    goto corrupt;
  checksum = (checksum ^ v) * 0x100000001B3ULL;
  return;
corrupt:
  fprintf(stderr, "bench: block %p of %zu bytes corrupted (free number %llu)\n",
          (void *)b->p, b->size, frees);
  exit(3);
}

static void block_new(block_s *b, size_t size)
{
  b->size = size;
  b->p = bench_alloc(size);
  b->tag = (allocs + 1) * 0x9E3779B97F4A7C15ULL ^ rng_state;
  ++allocs;
  block_write(b);
  live_bytes += size;
  if (live_bytes > live_bytes_peak)
    live_bytes_peak = live_bytes;
}

static void block_delete(block_s *b)
{
  block_check(b);
  bench_free(b->p, b->size);
  ++frees;
  live_bytes -= b->size;
}

static block_s live[SLOTS];
static size_t live_count;

/* Free the live block at i, keeping the array dense. */
static void live_delete(size_t i)
{
  block_delete(&live[i]);
  live[i] = live[--live_count];
}

static void burst(void)
{
  block_s temp[TEMPS_MAX];
  size_t n = 32 + (size_t)(rng() % (TEMPS_MAX - 32)), i;
  for (i = 0; i < n; ++i)
    block_new(&temp[i], pick_size(1));
  if (rng() & 1) {
    for (i = n; i-- > 0;)
      block_delete(&temp[i]);
  } else {
    for (i = 0; i < n; ++i)
      block_delete(&temp[i]);
  }
}

/* The target working-set size at a step: two periods of a triangle wave
 * between SLOTS/8 and SLOTS over the run. */
static size_t target(unsigned long step, unsigned long steps)
{
  unsigned long period = steps / 2 > 0 ? steps / 2 : 1;
  unsigned long phase = step % period, half = period / 2 > 0 ? period / 2 : 1;
  size_t lo = SLOTS / 8, span = SLOTS - lo;
  unsigned long up = phase < half ? phase : period - phase;
  if (up > half)
    up = half;
  return lo + (size_t)((double)span * (double)up / (double)half);
}

static void workload(unsigned long steps)
{
  unsigned long step;
  for (step = 0; step < steps; ++step) {
    size_t t = target(step, steps);
    if (live_count < t) {
      block_new(&live[live_count++], pick_size(0));
    } else if (live_count > t) {
      live_delete((size_t)(rng() % live_count));
    } else {
      live_delete((size_t)(rng() % live_count));
      block_new(&live[live_count++], pick_size(0));
    }
    if ((rng() & 511) == 0)
      burst();
  }
  while (live_count > 0)
    live_delete(live_count - 1);
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
  unsigned long seed = argc > 1 ? strtoul(argv[1], NULL, 0) : DEFAULT_SEED;
  unsigned long steps = argc > 2 ? strtoul(argv[2], NULL, 0) : DEFAULT_STEPS;
  struct rusage ru;
  double t0, t1;

  rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;   /* never zero for xorshift */
  if (rng_state == 0)
    rng_state = 1;
  t0 = now();
  bench_init();
  workload(steps);
  bench_finish();
  t1 = now();
  if (allocs != frees)
    bench_die("balance of allocations and frees", (int)(allocs - frees));
  getrusage(RUSAGE_SELF, &ru);
  printf("result name=%s seed=%lu steps=%lu seconds=%.4f peak_kib=%ld "
         "allocs=%llu live_peak_kib=%zu checksum=%016llx\n",
         bench_allocator, seed, steps, t1 - t0, ru.ru_maxrss, allocs,
         live_bytes_peak >> 10, (unsigned long long)checksum);
  return 0;
}
