/* stress_failover.c: several threads share one failover land (a CBS
 * primary over a freelist secondary) under a spinlock, each returning
 * ranges to it, taking ranges out of its own address slice, and
 * allocating blocks from anywhere by find_first/last/largest, as a pool
 * would.  One step in eight makes the CBS's node allocation fail; the
 * failover must still succeed every time, through the freelist.  A model
 * of the land (one flag per alignment unit) is kept under the same lock;
 * every result is checked against it, and periodically and at the end the
 * land's size, the CBS's deep check, the two lands' sizes adding up, and
 * the exact ranges (merged from both lands). */
#include <stdint.h>
#include <stdio.h>

#include "../src/data/cbs.h"
#include "../src/data/failover.h"
#include "../src/data/freelist.h"
#include "support/testlib.h"
#include "support/land_stress.h"

static cbs_s stress_cbs;
static freelist_s stress_freelist;
static failover_s stress_failover;

static Land stress_land_init(Align align)
{
  cbs_node_alloc_s alloc = land_stress_nodes();
  TESTLIB_REQUIRE(cbs_init(&stress_cbs, align, &alloc) == MPS_RES_OK);
  TESTLIB_REQUIRE(freelist_init(&stress_freelist, align) == MPS_RES_OK);
  TESTLIB_REQUIRE(failover_init(&stress_failover, cbs_land(&stress_cbs),
                                freelist_land(&stress_freelist))
                  == MPS_RES_OK);
  return failover_land(&stress_failover);
}

static bool stress_land_deep_check(void)
{
  return cbs_check_deep(&stress_cbs)
         && land_size(failover_land(&stress_failover))
            == land_size(cbs_land(&stress_cbs))
               + land_size(freelist_land(&stress_freelist));
}

static void stress_land_finish(void)
{
  failover_finish(&stress_failover);
  freelist_finish(&stress_freelist);
  cbs_finish(&stress_cbs);
  TESTLIB_REQUIRE(land_stress_nodes_live() == 0);
}

static const land_stress_spec_s stress_spec = {
  "stress_failover", true, false,
  stress_land_init, stress_land_deep_check, stress_land_finish, land_stress_nodes_fail
};

int main(int argc, char **argv)
{
  return land_stress_main(argc, argv, &stress_spec);
}
