/* stress_cbs.c: several threads share one CBS under a spinlock, each
 * returning ranges to it, taking ranges out of its own address slice, and
 * allocating blocks from anywhere by find_first/last/largest, as a pool
 * would.  A model of the land (one flag per alignment unit) is kept under
 * the same lock; every result is checked against it, and periodically and
 * at the end the land's size, its deep check (tree order and summaries)
 * and its exact ranges.  One step in eight makes node allocation fail: an
 * insert or delete that needs a node must then return MPS_RES_MEMORY and
 * change nothing.  At the end every node must have been freed. */
#include <stdint.h>
#include <stdio.h>

#include "../src/data/cbs.h"
#include "support/testlib.h"
#include "support/land_stress.h"

static cbs_s stress_cbs;

static Land stress_land_init(Align align)
{
  cbs_node_alloc_s alloc = land_stress_nodes();
  TESTLIB_REQUIRE(cbs_init(&stress_cbs, align, &alloc) == MPS_RES_OK);
  return cbs_land(&stress_cbs);
}

static bool stress_land_deep_check(void)
{
  return cbs_check_deep(&stress_cbs);
}

static void stress_land_finish(void)
{
  cbs_finish(&stress_cbs);
  TESTLIB_REQUIRE(land_stress_nodes_live() == 0);
}

static const land_stress_spec_s stress_spec = {
  "stress_cbs", true, true,
  stress_land_init, stress_land_deep_check, stress_land_finish, land_stress_nodes_fail
};

int main(int argc, char **argv)
{
  return land_stress_main(argc, argv, &stress_spec);
}
