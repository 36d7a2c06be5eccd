/* stress_freelist.c: several threads share one freelist under a spinlock,
 * each returning ranges to it, taking ranges out of its own address
 * slice, and allocating blocks from anywhere by find_first/last/largest,
 * as a pool would.  The freelist keeps its list inside the ranges, in a
 * buffer the harness never writes.  A model of the land (one flag per
 * alignment unit) is kept under the same lock; every result is checked
 * against it, and periodically and at the end the land's size and its
 * exact ranges.  The freelist needs no memory, so nothing may fail. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/data/freelist.h"
#include "support/testlib.h"
#include "support/land_stress.h"

static void stress_set_fail(bool fail)
{
  TESTLIB_REQUIRE(!fail);
}

static freelist_s stress_freelist;

static Land stress_land_init(Align align)
{
  TESTLIB_REQUIRE(freelist_init(&stress_freelist, align) == MPS_RES_OK);
  return freelist_land(&stress_freelist);
}

/* The freelist has no check beyond land_check; the comparison of its
 * ranges with the model is the deep check. */
static bool stress_land_deep_check(void)
{
  return freelist_check(&stress_freelist);
}

static void stress_land_finish(void)
{
  freelist_finish(&stress_freelist);
}

static const land_stress_spec_s stress_spec = {
  "stress_freelist", false, false,
  stress_land_init, stress_land_deep_check, stress_land_finish, stress_set_fail
};

int main(int argc, char **argv)
{
  return land_stress_main(argc, argv, &stress_spec);
}
