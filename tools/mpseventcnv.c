/* mpseventcnv.c: print a telemetry stream as text (manual/topic/
 * telemetry.rst describes the program; tools/eventdec.h the output).
 *
 *   mpseventcnv [-f FILE] [-s] [-h]
 *
 * FILE defaults to the one the library writes when nothing else is said:
 * $MPS_TELEMETRY_FILENAME, or mpsio.log (src/plinth/io_ansi.c).  -s prints
 * a count of each type of event instead of the events.  Exit status: 0,
 * 1 for a malformed stream (the events before the bad record are still
 * printed, since the end of a stream is what a crash leaves torn), 2 for
 * a bad command line or a file that cannot be read or written.
 *
 * Build: cc -Iinclude tools/mpseventcnv.c tools/eventdec.c -o mpseventcnv
 * on the kind of machine that wrote the stream.  The tests include this
 * file with MPSEVENTCNV_NO_MAIN defined, to run cnv_main in process.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventdec.h"

#define CNV_DEFAULT_FILE "mpsio.log"

static const char cnv_usage[] =
  "usage: mpseventcnv [-f FILE] [-s] [-h]\n"
  "Print the MPS telemetry stream in FILE, one event a line:\n"
  "clock (hex), event name, then name=value for each field.\n"
  "  -f FILE  the stream (default: $MPS_TELEMETRY_FILENAME, else " CNV_DEFAULT_FILE ")\n"
  "  -s       print how many events of each type, not the events\n"
  "  -h       print this message\n";

/* The whole of `name` into a malloc'd block; false with errno set. */
static bool cnv_read(const char *name, unsigned char **data_o, size_t *size_o)
{
  FILE *f = fopen(name, "rb");
  bool ok;
  int e;
  if (f == NULL)
    return false;
  ok = eventdec_read(f, data_o, size_o);
  e = errno;
  fclose(f);
  errno = e;
  return ok;
}

/* The program, writing to `out` and `err` so the tests can run it. */
static int cnv_main(int argc, char **argv, FILE *out, FILE *err)
{
  const char *name = getenv("MPS_TELEMETRY_FILENAME");
  bool summary = false;
  unsigned char *data;
  size_t size;
  eventdec_s dec;
  eventdec_res_e res;
  int i;
  if (name == NULL)
    name = CNV_DEFAULT_FILE;
  for (i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "-h") == 0) {
      fputs(cnv_usage, out);
      return 0;
    } else if (strcmp(argv[i], "-s") == 0) {
      summary = true;
    } else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
      name = argv[++i];
    } else if (strncmp(argv[i], "-f", 2) == 0 && argv[i][2] != '\0') {
      name = argv[i] + 2;
    } else {
      fprintf(err, "mpseventcnv: unexpected argument \"%s\"\n%s", argv[i], cnv_usage);
      return 2;
    }
  }
  if (!cnv_read(name, &data, &size)) {
    fprintf(err, "mpseventcnv: %s: %s\n", name, strerror(errno));
    return 2;
  }
  eventdec_init(&dec, data, size);
  res = eventdec_print(out, &dec, summary);
  free(data);
  if (fflush(out) != 0 || ferror(out)) {
    fprintf(err, "mpseventcnv: cannot write the output\n");
    return 2;
  }
  switch (res) {
  case EVENTDEC_OK:
    return 0;
  case EVENTDEC_MALFORMED:
    fprintf(err, "mpseventcnv: %s: %s\n", name, dec.error);
    return 1;
  case EVENTDEC_NO_MEMORY:
    break;
  }
  fprintf(err, "mpseventcnv: out of memory\n");
  return 2;
}

#ifndef MPSEVENTCNV_NO_MAIN
int main(int argc, char **argv)
{
  return cnv_main(argc, argv, stdout, stderr);
}
#endif
