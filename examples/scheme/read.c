/* read.c: the reader of the Scheme interpreter demo.
 *
 * Reads the external representation of one datum from a stream: lists
 * (proper and dotted), vectors #( ... ), strings with the escapes \n \t
 * \\ \", characters #\a #\space #\newline #\tab, booleans #t #f #true
 * #false, fixnums (promoted to flonums when too large), flonums,
 * symbols (case-sensitive), and the abbreviations ' ` , ,@.  Comments
 * are ; to the end of the line and #; before a datum.
 *
 * Lists are built front to back: the head and the last pair are held in
 * locals, so the collector sees them as ambiguous references and pins
 * them; every other pair is reachable from the head.  Nesting recurses,
 * bounded by READ_DEPTH_MAX.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scheme.h"

#define READ_DEPTH_MAX 10000

typedef struct read_buf_s {
  char *chars;
  size_t length, size;
} read_buf_s;

/* The token buffer outlives a read aborted by an error, so it is kept
 * here rather than freed on every path. */
static read_buf_s read_buf;

static void read_buf_push(int c)
{
  if (read_buf.length + 1 >= read_buf.size) {
    size_t size = read_buf.size == 0 ? 64 : read_buf.size * 2;
    char *chars = realloc(read_buf.chars, size);
    if (chars == NULL)
      scm_fatal("out of memory in the reader");
    read_buf.chars = chars;
    read_buf.size = size;
  }
  read_buf.chars[read_buf.length++] = (char)c;
  read_buf.chars[read_buf.length] = '\0';
}

static void read_buf_clear(void)
{
  read_buf.length = 0;
  read_buf_push('\0');
  read_buf.length = 0;
}

static int read_getc(read_src_s *stream)
{
  int c;
  if (stream->pushed != EOF) {
    c = stream->pushed;
    stream->pushed = EOF;
    return c;
  }
  if (stream->file != NULL)
    return getc(stream->file);
  if (stream->str[stream->pos] == '\0')
    return EOF;
  return (unsigned char)stream->str[stream->pos++];
}

/* One character of push-back, for both kinds of source. */
static void read_ungetc(read_src_s *stream, int c)
{
  stream->pushed = c;
}

void read_src_file(read_src_s *src, FILE *file)
{
  src->file = file;
  src->str = NULL;
  src->pos = 0;
  src->pushed = EOF;
}

void read_src_string(read_src_s *src, const char *str)
{
  src->file = NULL;
  src->str = str;
  src->pos = 0;
  src->pushed = EOF;
}

static int read_is_delimiter(int c)
{
  return c == EOF || isspace(c) || c == '(' || c == ')' || c == '"' || c == ';';
}

/* Skip white space and comments; return the next character (not
 * consumed). */
static int read_skip(read_src_s *stream)
{
  for (;;) {
    int c = read_getc(stream);
    if (c == ';') {
      while (c != '\n' && c != EOF)
        c = read_getc(stream);
    } else if (c == EOF || !isspace(c)) {
      if (c != EOF)
        read_ungetc(stream, c);
      return c;
    }
  }
}

static obj_t read_obj(read_src_s *stream, unsigned depth);

static obj_t read_number_or_symbol(const char *token)
{
  char *end;
  size_t length = strlen(token);
  int looks_numeric = isdigit((unsigned char)token[0])
    || ((token[0] == '+' || token[0] == '-' || token[0] == '.')
        && isdigit((unsigned char)token[1]))
    || ((token[0] == '+' || token[0] == '-') && token[1] == '.'
        && isdigit((unsigned char)token[2]));
  if (looks_numeric) {
    long long n;
    double d;
    errno = 0;
    n = strtoll(token, &end, 10);
    if (*end == '\0' && errno == 0 && n >= SCM_FIX_MIN && n <= SCM_FIX_MAX)
      return SCM_FIX((intptr_t)n);
    d = strtod(token, &end);
    if (*end == '\0' && end == token + length)
      return heap_flonum(d);
  }
  if (strcmp(token, "+inf.0") == 0)
    return heap_flonum(HUGE_VAL);
  if (strcmp(token, "-inf.0") == 0)
    return heap_flonum(-HUGE_VAL);
  return heap_intern(token);
}

static obj_t read_string(read_src_s *stream)
{
  read_buf_clear();
  for (;;) {
    int c = read_getc(stream);
    if (c == EOF)
      scm_error("end of input inside a string", NULL);
    if (c == '"')
      break;
    if (c == '\\') {
      c = read_getc(stream);
      switch (c) {
      case 'n': c = '\n'; break;
      case 't': c = '\t'; break;
      case 'r': c = '\r'; break;
      case 'a': c = '\a'; break;
      case '0': c = '\0'; break;
      case '\\': case '"': break;
      case EOF: scm_error("end of input inside a string", NULL);
      default: scm_error("unknown escape in a string", SCM_CHAR(c));
      }
    }
    read_buf_push(c);
  }
  return heap_string(read_buf.chars, read_buf.length);
}

/* Read a token whose first characters (already consumed) are first and,
 * unless it is EOF, second. */
static void read_token2(read_src_s *stream, int first, int second)
{
  int c;
  read_buf_clear();
  if (first != EOF)
    read_buf_push(first);
  if (second != EOF)
    read_buf_push(second);
  for (;;) {
    c = read_getc(stream);
    if (read_is_delimiter(c)) {
      if (c != EOF)
        read_ungetc(stream, c);
      return;
    }
    read_buf_push(c);
  }
}

static void read_token(read_src_s *stream, int first)
{
  read_token2(stream, first, EOF);
}

static obj_t read_hash(read_src_s *stream, unsigned depth)
{
  int c = read_getc(stream);
  if (c == '(') {
    /* A vector: read the elements as a list, then copy. */
    obj_t list, vec;
    size_t n = 0, i;
    read_ungetc(stream, c);
    list = read_obj(stream, depth + 1);
    for (vec = list; SCM_IS_PAIR(vec); vec = CDR(vec))
      ++n;
    vec = heap_vector(n, SCM_FALSE);
    for (i = 0; i < n; ++i, list = CDR(list))
      vec->vector.elems[i] = CAR(list);
    return vec;
  }
  if (c == '\\') {
    int first = read_getc(stream);
    if (first == EOF)
      scm_error("end of input in a character", NULL);
    read_token(stream, first);
    if (read_buf.length == 1)
      return SCM_CHAR(read_buf.chars[0]);
    if (strcmp(read_buf.chars, "space") == 0)
      return SCM_CHAR(' ');
    if (strcmp(read_buf.chars, "newline") == 0 || strcmp(read_buf.chars, "linefeed") == 0)
      return SCM_CHAR('\n');
    if (strcmp(read_buf.chars, "tab") == 0)
      return SCM_CHAR('\t');
    if (strcmp(read_buf.chars, "nul") == 0 || strcmp(read_buf.chars, "null") == 0)
      return SCM_CHAR('\0');
    scm_error("unknown character name", heap_string(read_buf.chars, read_buf.length));
  }
  if (c == ';') {
    (void)read_obj(stream, depth + 1); /* datum comment */
    return read_obj(stream, depth + 1);
  }
  read_token(stream, c);
  if (strcmp(read_buf.chars, "t") == 0 || strcmp(read_buf.chars, "true") == 0)
    return SCM_TRUE;
  if (strcmp(read_buf.chars, "f") == 0 || strcmp(read_buf.chars, "false") == 0)
    return SCM_FALSE;
  scm_error("unknown # syntax", heap_string(read_buf.chars, read_buf.length));
}

static obj_t read_list(read_src_s *stream, unsigned depth)
{
  obj_t head = SCM_NIL, tail = SCM_NIL;
  for (;;) {
    int c = read_skip(stream);
    obj_t item, pair;
    if (c == EOF)
      scm_error("end of input inside a list", NULL);
    if (c == ')') {
      (void)read_getc(stream);
      return head;
    }
    if (c == '.') {
      (void)read_getc(stream);
      c = read_getc(stream);
      if (read_is_delimiter(c)) {
        if (c != EOF)
          read_ungetc(stream, c);
        if (tail == SCM_NIL)
          scm_error("nothing before the dot in a list", NULL);
        /* Into a local first: the store must not use an address of
         * tail's field computed before the reader allocated. */
        item = read_obj(stream, depth + 1);
        if (item == SCM_EOF)
          scm_error("end of input inside a list", NULL);
        CDR(tail) = item;
        if (read_skip(stream) != ')')
          scm_error("more than one datum after the dot in a list", NULL);
        (void)read_getc(stream);
        return head;
      }
      read_token2(stream, '.', c);
      item = read_number_or_symbol(read_buf.chars);
    } else {
      item = read_obj(stream, depth + 1);
    }
    if (item == SCM_EOF)
      scm_error("end of input inside a list", NULL);
    pair = heap_pair(item, SCM_NIL);
    if (tail == SCM_NIL)
      head = pair;
    else
      CDR(tail) = pair;
    tail = pair;
  }
}

static obj_t read_abbrev(read_src_s *stream, unsigned depth, int global)
{
  obj_t datum = read_obj(stream, depth + 1);
  if (datum == SCM_EOF)
    scm_error("end of input after a quote", NULL);
  datum = heap_pair(datum, SCM_NIL);
  return heap_pair(heap_globals[global], datum);
}

static obj_t read_obj(read_src_s *stream, unsigned depth)
{
  int c;
  if (depth > READ_DEPTH_MAX)
    scm_error("datum nested too deeply", NULL);
  c = read_skip(stream);
  if (c == EOF)
    return SCM_EOF;
  c = read_getc(stream);
  switch (c) {
  case '(':
    return read_list(stream, depth);
  case ')':
    scm_error("unexpected )", NULL);
  case '"':
    return read_string(stream);
  case '#':
    return read_hash(stream, depth);
  case '\'':
    return read_abbrev(stream, depth, GLOBAL_QUOTE);
  case '`':
    return read_abbrev(stream, depth, GLOBAL_QUASIQUOTE);
  case ',': {
    int next = read_getc(stream);
    if (next == '@')
      return read_abbrev(stream, depth, GLOBAL_UNQUOTE_SPLICING);
    if (next != EOF)
      read_ungetc(stream, next);
    return read_abbrev(stream, depth, GLOBAL_UNQUOTE);
  }
  default:
    read_token(stream, c);
    return read_number_or_symbol(read_buf.chars);
  }
}

obj_t read_datum(read_src_s *stream)
{
  return read_obj(stream, 0);
}

void read_skip_line(read_src_s *src)
{
  int c;
  do
    c = read_getc(src);
  while (c != '\n' && c != EOF);
}
