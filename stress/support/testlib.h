/* testlib.h: seeded randomness and failure reporting shared by the unit
 * tests, fuzz targets and stress harnesses.
 *
 * Every randomised run prints its seed; setting MPS11_SEED (or passing the
 * seed as the first argument to a stress harness) replays it exactly.
 */
#ifndef testlib_h
#define testlib_h

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* xorshift64*: small, fast, and good enough to drive workloads. */
typedef struct testlib_rng_s {
  uint64_t state;
} testlib_rng_s;

static inline void testlib_rng_init(testlib_rng_s *rng, uint64_t seed)
{
  rng->state = seed != 0 ? seed : 0x9E3779B97F4A7C15u;
}

static inline uint64_t testlib_rng_next(testlib_rng_s *rng)
{
  uint64_t x = rng->state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng->state = x;
  return x * 0x2545F4914F6CDD1Du;
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t testlib_rng_below(testlib_rng_s *rng, uint64_t n)
{
  return testlib_rng_next(rng) % n;
}

/* The seed for this run: argv[1] if given, else MPS11_SEED, else the
 * clock.  Printed so that a failure can be replayed. */
static inline uint64_t testlib_seed(int argc, char **argv, const char *who)
{
  uint64_t seed;
  const char *s = argc > 1 ? argv[1] : getenv("MPS11_SEED");
  if (s != NULL)
    seed = (uint64_t)strtoull(s, NULL, 0);
  else
    seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
  printf("%s: seed %llu (replay with MPS11_SEED=%llu)\n", who,
         (unsigned long long)seed, (unsigned long long)seed);
  fflush(stdout);
  return seed;
}

/* Stop the run with a message naming the place and condition. */
#define TESTLIB_REQUIRE(cond)                                             \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "%s:%d: requirement failed: %s\n", __FILE__,        \
              __LINE__, #cond);                                           \
      fflush(stderr);                                                     \
      abort();                                                            \
    }                                                                     \
  } while (0)

/* An assertion handler for mps_lib_assert_fail_install that ends the
 * run: hot's default handler prints and returns, so a report would
 * otherwise pass unnoticed. */
static inline void testlib_abort_on_report(const char *file, unsigned line, const char *cond)
{
  fprintf(stderr, "%s:%u: MPS ASSERTION FAILED: %s\n", file, line, cond);
  fflush(stderr);
  abort();
}

/* A thread root covers the stack from the hot end to the cold end the
 * client gives.  The address of a local of the function that does the
 * work is not a safe cold end: the compiler may place that frame's other
 * locals (mps_alloc's result, say) above it, where no scan reaches them
 * (seen with clang on aarch64: a cell held only there was reclaimed).
 * So a worker's body runs here, in a frame below the one whose local
 * marks the cold end, called through a volatile pointer so that it
 * cannot be inlined into that frame. */
typedef void *testlib_body_fn(void *arg, void *cold);

static inline void *testlib_run_below_cold(testlib_body_fn *body, void *arg)
{
  volatile int marker = 0;
  testlib_body_fn *volatile call = body;
  return call(arg, (void *)&marker);
}

#endif /* testlib_h */
