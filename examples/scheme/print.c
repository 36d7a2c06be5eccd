/* print.c: the printer of the Scheme interpreter demo.
 *
 * display (write == 0) prints strings and characters raw; write prints
 * them as the reader reads them.  Printing allocates nothing, so no
 * object moves while it runs.  Lists are followed along their cdrs in a
 * loop and into their cars by recursion, bounded by PRINT_DEPTH_MAX
 * (deeper structure prints as "...").
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scheme.h"

#define PRINT_DEPTH_MAX 10000

/* The shortest %g form that reads back as the same double, with ".0"
 * added when it would otherwise look like an integer. */
static void print_flonum(double d, char *buf, size_t size)
{
  int prec;
  if (isnan(d)) {
    snprintf(buf, size, "+nan.0");
    return;
  }
  if (isinf(d)) {
    snprintf(buf, size, d > 0 ? "+inf.0" : "-inf.0");
    return;
  }
  for (prec = 1; prec <= 17; ++prec) {
    snprintf(buf, size, "%.*g", prec, d);
    if (strtod(buf, NULL) == d)
      break;
  }
  /* %g switches to an exponent as soon as the digits run out, so 750250
   * would print as 7.5025e+05: write numbers below 1e21 in full. */
  if (strchr(buf, 'e') != NULL && fabs(d) >= 1e-5 && fabs(d) < 1e21) {
    int exp10 = (int)floor(log10(fabs(d)));
    int decimals = prec - 1 - exp10;
    snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 0, d);
  }
  if (strpbrk(buf, ".e") == NULL && strlen(buf) + 3 <= size)
    strcat(buf, ".0");
}

void print_number(obj_t num, char *buf, size_t size)
{
  if (SCM_IS_FIX(num))
    snprintf(buf, size, "%lld", (long long)SCM_FIXVAL(num));
  else
    print_flonum(heap_flonum_value(num), buf, size);
}

static void print_string(obj_t str, int write, FILE *stream)
{
  size_t i;
  if (!write) {
    fwrite(str->string.chars, 1, str->string.length, stream);
    return;
  }
  putc('"', stream);
  for (i = 0; i < str->string.length; ++i) {
    char c = str->string.chars[i];
    switch (c) {
    case '"': fputs("\\\"", stream); break;
    case '\\': fputs("\\\\", stream); break;
    case '\n': fputs("\\n", stream); break;
    case '\t': fputs("\\t", stream); break;
    default: putc(c, stream); break;
    }
  }
  putc('"', stream);
}

static void print_char(int c, int write, FILE *stream)
{
  if (!write) {
    putc(c, stream);
    return;
  }
  switch (c) {
  case ' ': fputs("#\\space", stream); break;
  case '\n': fputs("#\\newline", stream); break;
  case '\t': fputs("#\\tab", stream); break;
  case '\0': fputs("#\\nul", stream); break;
  default: fprintf(stream, "#\\%c", c); break;
  }
}

static void print_rec(obj_t obj, int write, FILE *stream, unsigned depth)
{
  char buf[64];
  size_t i;
  if (depth > PRINT_DEPTH_MAX) {
    fputs("...", stream);
    return;
  }
  if (SCM_IS_FIX(obj)) {
    print_number(obj, buf, sizeof buf);
    fputs(buf, stream);
    return;
  }
  if (SCM_IS_IMM(obj)) {
    if (SCM_IS_CHAR(obj))
      print_char(SCM_CHARVAL(obj), write, stream);
    else if (obj == SCM_NIL)
      fputs("()", stream);
    else if (obj == SCM_TRUE)
      fputs("#t", stream);
    else if (obj == SCM_FALSE)
      fputs("#f", stream);
    else if (obj == SCM_EOF)
      fputs("#<eof>", stream);
    else if (obj == SCM_UNBOUND)
      fputs("#<unbound>", stream);
    else
      fputs("#<unspecified>", stream);
    return;
  }
  switch (SCM_TYPE(obj)) {
  case TYPE_PAIR:
    putc('(', stream);
    for (;;) {
      print_rec(CAR(obj), write, stream, depth + 1);
      obj = CDR(obj);
      if (!SCM_IS_PAIR(obj))
        break;
      putc(' ', stream);
    }
    if (obj != SCM_NIL) {
      fputs(" . ", stream);
      print_rec(obj, write, stream, depth + 1);
    }
    putc(')', stream);
    break;
  case TYPE_SYMBOL:
    fwrite(obj->symbol.name->string.chars, 1, obj->symbol.name->string.length, stream);
    break;
  case TYPE_STRING:
    print_string(obj, write, stream);
    break;
  case TYPE_FLONUM:
    print_number(obj, buf, sizeof buf);
    fputs(buf, stream);
    break;
  case TYPE_VECTOR:
    fputs("#(", stream);
    for (i = 0; i < obj->vector.length; ++i) {
      if (i > 0)
        putc(' ', stream);
      print_rec(obj->vector.elems[i], write, stream, depth + 1);
    }
    putc(')', stream);
    break;
  case TYPE_CLOSURE:
    if (SCM_IS_SYMBOL(obj->closure.name)) {
      fputs("#<procedure ", stream);
      print_rec(obj->closure.name, 0, stream, depth + 1);
      putc('>', stream);
    } else {
      fputs("#<procedure>", stream);
    }
    break;
  case TYPE_PRIM:
    fprintf(stream, "#<primitive %s>", prims_table[obj->prim.index].name);
    break;
  case TYPE_FRAME:
    fputs("#<environment>", stream);
    break;
  case TYPE_TABLE:
    fprintf(stream, "#<hashtable %lu>", (unsigned long)heap_table_count(obj));
    break;
  case TYPE_PORT:
    fputs("#<port ", stream);
    print_string(obj->port.name, 1, stream);
    fputs(obj->port.stream != NULL ? ">" : " closed>", stream);
    break;
  default:
    fprintf(stream, "#<bad object %p>", (void *)obj);
    break;
  }
}

void print_obj(obj_t obj, int write, FILE *stream)
{
  print_rec(obj, write, stream, 0);
}
