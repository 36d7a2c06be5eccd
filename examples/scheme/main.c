/* main.c: the driver of the Scheme interpreter demo.
 *
 *   scheme [--stats] [--verbose-gc] [--nursery=KB] [FILE...]
 *
 * With files, each is read and evaluated form by form ("-" is standard
 * input); an error abandons the form, reports to stderr and goes on
 * with the next form (a syntax error abandons the rest of the file).
 * Without files it is a REPL on standard input, printing each value.
 * After each toplevel form the collector's messages are drained into
 * the statistics that --stats prints to stderr at exit.  The exit
 * status is 1 if any form failed, 0 otherwise.
 *
 * Errors return to the toplevel with longjmp.  They are never raised
 * between mps_reserve and mps_commit (see heap.c), so no allocation
 * point is left half way through the protocol.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheme.h"

static jmp_buf main_toplevel;
static int main_toplevel_set;
static int main_in_reader;
static int main_errors;
static int main_stats;

void scm_error(const char *message, obj_t obj)
{
  /* Output to stdout so far must come before the message. */
  fflush(stdout);
  if (message != NULL) {
    fprintf(stderr, "error: %s", message);
    if (obj != NULL) {
      fputs(": ", stderr);
      print_obj(obj, 1, stderr);
    }
  }
  putc('\n', stderr);
  if (!main_toplevel_set)
    scm_fatal("error outside any toplevel form");
  longjmp(main_toplevel, 1);
}

void scm_fatal(const char *message)
{
  fflush(stdout);
  fprintf(stderr, "scheme: fatal: %s\n", message);
  exit(70);
}

void scm_exit(int code)
{
  fflush(stdout);
  if (main_stats)
    heap_stats_print(stderr);
  heap_finish();
  exit(code);
}

enum { MAIN_EOF, MAIN_OK, MAIN_EVAL_ERROR, MAIN_READ_ERROR };

/* Read and evaluate one toplevel form.  The locals set after setjmp are
 * not used after a longjmp back to it, so none needs to be volatile. */
static int main_one(read_src_s *src, int repl)
{
  obj_t form, value;
  heap_vsp = 0;
  if (setjmp(main_toplevel) != 0) {
    heap_vsp = 0;
    ++main_errors;
    heap_messages_drain();
    return main_in_reader ? MAIN_READ_ERROR : MAIN_EVAL_ERROR;
  }
  main_toplevel_set = 1;
  main_in_reader = 1;
  form = read_datum(src);
  main_in_reader = 0;
  if (form == SCM_EOF)
    return MAIN_EOF;
  value = eval_toplevel(form);
  if (repl && value != SCM_UNSPEC) {
    print_obj(value, 1, stdout);
    putchar('\n');
  }
  fflush(stdout);
  heap_messages_drain();
  return MAIN_OK;
}

static void main_run(FILE *file, int repl)
{
  read_src_s src;
  read_src_file(&src, file);
  for (;;) {
    int r;
    if (repl) {
      fputs("> ", stdout);
      fflush(stdout);
    }
    r = main_one(&src, repl);
    if (r == MAIN_EOF)
      break;
    if (r == MAIN_READ_ERROR) {
      if (!repl)
        break;
      read_skip_line(&src);
    }
  }
  if (repl)
    putchar('\n');
}

/* Called through a volatile pointer so that it is never inlined into
 * main: the cold end of the stack root is a local of main, and the
 * compiler may place main's other locals above it, out of the root's
 * reach, so nothing that can hold a reference may live in main's frame. */
static void (*volatile main_run_fn)(FILE *, int) = main_run;

static void main_install(void)
{
  if (setjmp(main_toplevel) != 0)
    scm_fatal("error in the prelude");
  main_toplevel_set = 1;
  prims_install();
  heap_messages_drain();
}

static void main_usage(void)
{
  fputs("usage: scheme [--stats] [--verbose-gc] [--nursery=KB] [FILE...]\n", stderr);
  exit(2);
}

int main(int argc, char **argv)
{
  /* The cold end of the stack for the collector: every frame that can
   * hold a reference is younger than this one. */
  void *marker = &marker;
  heap_options_s opts;
  int i, files = 0;

  opts.nursery_kb = 1024;
  opts.verbose_gc = 0;
  for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; ++i) {
    if (strcmp(argv[i], "--stats") == 0) {
      main_stats = 1;
    } else if (strcmp(argv[i], "--verbose-gc") == 0) {
      opts.verbose_gc = 1;
    } else if (strncmp(argv[i], "--nursery=", 10) == 0) {
      char *end;
      unsigned long kb = strtoul(argv[i] + 10, &end, 10);
      if (*end != '\0' || kb == 0)
        main_usage();
      opts.nursery_kb = kb;
    } else if (strcmp(argv[i], "--") == 0) {
      ++i;
      break;
    } else {
      main_usage();
    }
  }

  heap_init(&opts, &marker);
  main_install();

  for (; i < argc; ++i) {
    FILE *file;
    ++files;
    if (strcmp(argv[i], "-") == 0) {
      main_run_fn(stdin, 0);
      continue;
    }
    file = fopen(argv[i], "r");
    if (file == NULL) {
      fprintf(stderr, "scheme: cannot open %s\n", argv[i]);
      ++main_errors;
      continue;
    }
    main_run_fn(file, 0);
    fclose(file);
  }
  if (files == 0)
    main_run_fn(stdin, 1);

  scm_exit(main_errors > 0 ? 1 : 0);
}
