/* test_io.c: unit tests for the plinth's I/O module over stdio
 * (src/plinth/io_ansi.c; include/mpsio.h, manual/topic/plinth.rst): the
 * stream the telemetry goes to.  It is a file named by
 * MPS_TELEMETRY_FILENAME, or "mpsio.log" in the working directory when that
 * is unset, made afresh; what is written reaches it by a flush or when the
 * stream is destroyed; a failure of the file is MPS_RES_IO.
 *
 * Criterion runs each test in a process of its own, so a test may set
 * the environment and the working directory as it needs.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/mpsio.h"

enum { IO_PATH_MAX = 64, IO_READ_MAX = 256 };

/* Each test's directory of its own in /tmp, and the file in it that
 * MPS_TELEMETRY_FILENAME names; both are removed after the test. */
static char io_dir[IO_PATH_MAX], io_path[IO_PATH_MAX];

static void setup(void)
{
  strcpy(io_dir, "/tmp/mps11-test-io-XXXXXX");
  cr_assert_not_null(mkdtemp(io_dir));
  cr_assert_lt(snprintf(io_path, IO_PATH_MAX, "%s/stream", io_dir), IO_PATH_MAX);
  cr_assert_eq(setenv("MPS_TELEMETRY_FILENAME", io_path, 1), 0);
}

static void teardown(void)
{
  char log[IO_PATH_MAX + 16];
  (void)snprintf(log, sizeof log, "%s/mpsio.log", io_dir);
  (void)remove(io_path);
  (void)remove(log);
  (void)rmdir(io_dir);
}

TestSuite(io, .init = setup, .fini = teardown);

/* What the file at `path` holds now, as a string (it must be short). */
static const char *contents(const char *path)
{
  static char buf[IO_READ_MAX];
  size_t n;
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "no file %s", path);
  n = fread(buf, 1, sizeof buf - 1, f);
  cr_assert_eq(fclose(f), 0);
  buf[n] = '\0';
  return buf;
}

static void write_text(mps_io_t io, const char *text)
{
  char copy[IO_READ_MAX];
  strcpy(copy, text);
  cr_assert_eq(mps_io_write(io, copy, strlen(copy)), MPS_RES_OK);
}

/* A whole stream's life: made, written `text` (with no flush), and
 * destroyed. */
static void stream_of(const char *text)
{
  mps_io_t io;
  cr_assert_eq(mps_io_create(&io), MPS_RES_OK);
  write_text(io, text);
  mps_io_destroy(io);
}

Test(io, what_is_written_reaches_the_named_file_at_a_flush)
{
  mps_io_t io;
  cr_assert_eq(mps_io_create(&io), MPS_RES_OK);
  write_text(io, "mps");
  write_text(io, "io");
  cr_assert_eq(mps_io_flush(io), MPS_RES_OK);
  cr_assert_str_eq(contents(io_path), "mpsio");
  write_text(io, "!");
  mps_io_destroy(io);
  cr_assert_str_eq(contents(io_path), "mpsio!");
}

/* Destroying the stream writes out what it still held. */
Test(io, destroying_the_stream_writes_out_the_rest)
{
  stream_of("unflushed");
  cr_assert_str_eq(contents(io_path), "unflushed");
}

/* A stream made over an existing file starts it afresh. */
Test(io, a_new_stream_replaces_what_the_file_held)
{
  FILE *f = fopen(io_path, "wb");
  cr_assert_not_null(f);
  cr_assert_geq(fputs("an earlier run's stream", f), 0);
  cr_assert_eq(fclose(f), 0);
  stream_of("new");
  cr_assert_str_eq(contents(io_path), "new");
}

Test(io, without_the_variable_the_stream_is_mpsio_log_in_the_working_directory)
{
  cr_assert_eq(chdir(io_dir), 0);
  cr_assert_eq(unsetenv("MPS_TELEMETRY_FILENAME"), 0);
  stream_of("default");
  cr_assert_str_eq(contents("mpsio.log"), "default");
}

Test(io, a_file_that_cannot_be_made_is_an_io_error)
{
  mps_io_t io;
  cr_assert_eq(setenv("MPS_TELEMETRY_FILENAME", "/nonexistent-dir/mpsio.log", 1), 0);
  cr_assert_eq(mps_io_create(&io), MPS_RES_IO);
}

/* /dev/full (Linux, the BSDs) takes a file open and refuses every
 * write: a write too large to buffer fails at once, a buffered one at the
 * flush. */
Test(io, writes_and_flushes_that_fail_are_io_errors)
{
  enum { BIG = 1 << 20 };
  static char big[BIG];
  char one[] = "x";
  mps_io_t io;
  if (access("/dev/full", W_OK) != 0)
    cr_skip_test("no /dev/full here");
  cr_assert_eq(setenv("MPS_TELEMETRY_FILENAME", "/dev/full", 1), 0);
  cr_assert_eq(mps_io_create(&io), MPS_RES_OK);
  cr_assert_eq(mps_io_write(io, big, BIG), MPS_RES_IO, "a failed write was taken");
  (void)mps_io_write(io, one, 1);
  cr_assert_eq(mps_io_flush(io), MPS_RES_IO, "a failed flush was taken");
  mps_io_destroy(io);
}
