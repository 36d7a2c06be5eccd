/* probe.h: whether the process may read a byte, asked without touching it.
 *
 * For fuzz targets that check protection (fuzz_barrier, fuzz_vm): a read
 * of a protected page would fault, and the fault would be the library's
 * to handle or a crash.  Asking the kernel to copy the byte into a pipe
 * instead fails with EFAULT when the page may not be read.  POSIX only,
 * like the targets.
 */
#ifndef fuzz_probe_h
#define fuzz_probe_h

#include <stdbool.h>

/* Make the probe's pipe now.  Optional: the first probe makes it.  A
 * target that probes while it limits the process's resources calls this
 * first, outside the limits. */
void fuzz_probe_init(void);

/* Whether the byte at p can be read.  Aborts on any other failure. */
bool fuzz_probe_readable(const void *p);

#endif /* fuzz_probe_h */
