/* probe.c: readability probes through a pipe (probe.h).
 *
 * One pipe per process, both ends non-blocking so that a full pipe shows
 * up as a failed write, not a hang.  The probed bytes are drained in
 * batches of PIPE_BUF, which any pipe holds.
 */
#define _DEFAULT_SOURCE 1   /* PIPE_BUF under -std=c11 */

#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

static int probe_fds[2] = {-1, -1};

#define PROBE_REQUIRE(cond) \
  do { if (!(cond)) abort(); } while (0)

void fuzz_probe_init(void)
{
  if (probe_fds[0] >= 0)
    return;
  PROBE_REQUIRE(pipe(probe_fds) == 0);
  PROBE_REQUIRE(fcntl(probe_fds[0], F_SETFL, O_NONBLOCK) == 0);
  PROBE_REQUIRE(fcntl(probe_fds[1], F_SETFL, O_NONBLOCK) == 0);
}

bool fuzz_probe_readable(const void *p)
{
  static char drain[PIPE_BUF];
  static size_t piped = 0;
  ssize_t n;
  fuzz_probe_init();
  n = write(probe_fds[1], p, 1);
  if (n < 0) {
    PROBE_REQUIRE(errno == EFAULT);
    return false;
  }
  PROBE_REQUIRE(n == 1);
  if (++piped == sizeof drain) {
    PROBE_REQUIRE(read(probe_fds[0], drain, piped) == (ssize_t)piped);
    piped = 0;
  }
  return true;
}
