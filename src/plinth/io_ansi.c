/* io_ansi.c: the I/O module of the plinth over stdio
 * (manual/topic/plinth.rst).  The telemetry stream goes to the file named
 * by MPS_TELEMETRY_FILENAME, or "mpsio.log" when it is unset.  Excluded by
 * CONFIG_PLINTH_NONE.
 */
#ifndef CONFIG_PLINTH_NONE

#include <stdio.h>
#include <stdlib.h>

#include "../../include/mpsio.h"

mps_res_t mps_io_create(mps_io_t *io_o)
{
  const char *name = getenv("MPS_TELEMETRY_FILENAME");
  FILE *f;
  if (name == NULL)
    name = "mpsio.log";
  f = fopen(name, "wb");
  if (f == NULL)
    return MPS_RES_IO;
  *io_o = (mps_io_t)(void *)f;
  return MPS_RES_OK;
}

void mps_io_destroy(mps_io_t io)
{
  (void)fclose((FILE *)(void *)io);
}

mps_res_t mps_io_write(mps_io_t io, void *buf, size_t size)
{
  if (fwrite(buf, 1, size, (FILE *)(void *)io) != size)
    return MPS_RES_IO;
  return MPS_RES_OK;
}

mps_res_t mps_io_flush(mps_io_t io)
{
  return fflush((FILE *)(void *)io) == 0 ? MPS_RES_OK : MPS_RES_IO;
}

#endif /* CONFIG_PLINTH_NONE */
