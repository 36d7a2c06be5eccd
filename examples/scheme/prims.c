/* prims.c: the primitive procedures of the Scheme interpreter demo.
 *
 * A primitive gets its arguments as argv[0..argc), a window of the value
 * stack, which is an exact root: when a primitive allocates, the
 * collector may move the objects its arguments refer to and updates
 * argv.  So a primitive reads argv[i] again after every allocation
 * instead of keeping a pointer into an argument (such as a string's
 * characters) across one.  The evaluator checks the argument count
 * against the table before the call.
 *
 * Fixnum arithmetic that leaves the fixnum range, and any arithmetic
 * with a flonum, gives a flonum.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scheme.h"

size_t prims_apply_index;

/* ---- Checking arguments ------------------------------------------------- */

static void prims_check(int ok, const char *message, obj_t obj)
{
  if (!ok)
    scm_error(message, obj);
}

static intptr_t prims_int(obj_t o)
{
  prims_check(SCM_IS_FIX(o), "expected an integer", o);
  return SCM_FIXVAL(o);
}

static size_t prims_index(obj_t o, size_t limit)
{
  intptr_t i = prims_int(o);
  prims_check(i >= 0 && (uintptr_t)i < limit, "index out of range", o);
  return (size_t)i;
}

static obj_t prims_pair(obj_t o)
{
  prims_check(SCM_IS_PAIR(o), "expected a pair", o);
  return o;
}

static obj_t prims_string(obj_t o)
{
  prims_check(SCM_IS_STRING(o), "expected a string", o);
  return o;
}

static obj_t prims_vector(obj_t o)
{
  prims_check(SCM_IS_VECTOR(o), "expected a vector", o);
  return o;
}

double prims_to_double(obj_t num)
{
  if (SCM_IS_FIX(num))
    return (double)SCM_FIXVAL(num);
  prims_check(SCM_IS_FLONUM(num), "expected a number", num);
  return heap_flonum_value(num);
}

static obj_t prims_make_int(intptr_t n)
{
  if (n >= SCM_FIX_MIN && n <= SCM_FIX_MAX)
    return SCM_FIX(n);
  return heap_flonum((double)n);
}

/* ---- Numbers -------------------------------------------------------------- */

enum { PRIMS_ADD, PRIMS_SUB, PRIMS_MUL };

static obj_t prims_arith2(int op, obj_t a, obj_t b)
{
  if (SCM_IS_FIX(a) && SCM_IS_FIX(b)) {
    intptr_t x = SCM_FIXVAL(a), y = SCM_FIXVAL(b);
    switch (op) {
    case PRIMS_ADD:
      return prims_make_int(x + y); /* cannot overflow: fixnums are half width */
    case PRIMS_SUB:
      return prims_make_int(x - y);
    default: {
      uintptr_t ux = x < 0 ? (uintptr_t)0 - (uintptr_t)x : (uintptr_t)x;
      uintptr_t uy = y < 0 ? (uintptr_t)0 - (uintptr_t)y : (uintptr_t)y;
      if (ux == 0 || uy <= (uintptr_t)SCM_FIX_MAX / ux)
        return SCM_FIX(x * y);
      return heap_flonum((double)x * (double)y);
    }
    }
  }
  {
    double x = prims_to_double(a), y = prims_to_double(b);
    switch (op) {
    case PRIMS_ADD: return heap_flonum(x + y);
    case PRIMS_SUB: return heap_flonum(x - y);
    default: return heap_flonum(x * y);
    }
  }
}

static obj_t prims_fold(int op, obj_t start, size_t argc, obj_t *argv)
{
  obj_t acc = start;
  size_t i;
  for (i = 0; i < argc; ++i) {
    obj_t r = prims_arith2(op, acc, argv[i]);
    acc = r;
  }
  return acc;
}

static obj_t p_add(size_t argc, obj_t *argv)
{
  if (argc == 1)
    (void)prims_to_double(argv[0]);
  return prims_fold(PRIMS_ADD, SCM_FIX(0), argc, argv);
}

static obj_t p_mul(size_t argc, obj_t *argv)
{
  if (argc == 1)
    (void)prims_to_double(argv[0]);
  return prims_fold(PRIMS_MUL, SCM_FIX(1), argc, argv);
}

static obj_t p_sub(size_t argc, obj_t *argv)
{
  if (argc == 1)
    return prims_arith2(PRIMS_SUB, SCM_FIX(0), argv[0]);
  return prims_fold(PRIMS_SUB, argv[0], argc - 1, argv + 1);
}

static obj_t prims_div2(obj_t a, obj_t b)
{
  if (SCM_IS_FIX(a) && SCM_IS_FIX(b)) {
    intptr_t x = SCM_FIXVAL(a), y = SCM_FIXVAL(b);
    prims_check(y != 0, "division by zero", a);
    if (x % y == 0)
      return prims_make_int(x / y);
  }
  return heap_flonum(prims_to_double(a) / prims_to_double(b));
}

static obj_t p_div(size_t argc, obj_t *argv)
{
  obj_t acc;
  size_t i;
  if (argc == 1)
    return prims_div2(SCM_FIX(1), argv[0]);
  acc = argv[0];
  for (i = 1; i < argc; ++i) {
    obj_t r = prims_div2(acc, argv[i]);
    acc = r;
  }
  return acc;
}

enum { PRIMS_QUOTIENT, PRIMS_REMAINDER, PRIMS_MODULO };

static obj_t prims_intdiv(int op, obj_t a, obj_t b)
{
  intptr_t x = prims_int(a), y = prims_int(b);
  intptr_t r;
  prims_check(y != 0, "division by zero", a);
  switch (op) {
  case PRIMS_QUOTIENT:
    return prims_make_int(x / y);
  case PRIMS_REMAINDER:
    return SCM_FIX(x % y);
  default:
    r = x % y;
    if (r != 0 && (r < 0) != (y < 0))
      r += y;
    return SCM_FIX(r);
  }
}

static obj_t p_quotient(size_t argc, obj_t *argv)
{
  (void)argc;
  return prims_intdiv(PRIMS_QUOTIENT, argv[0], argv[1]);
}

static obj_t p_remainder(size_t argc, obj_t *argv)
{
  (void)argc;
  return prims_intdiv(PRIMS_REMAINDER, argv[0], argv[1]);
}

static obj_t p_modulo(size_t argc, obj_t *argv)
{
  (void)argc;
  return prims_intdiv(PRIMS_MODULO, argv[0], argv[1]);
}

enum { PRIMS_EQ, PRIMS_LT, PRIMS_GT, PRIMS_LE, PRIMS_GE };

static int prims_compare2(int op, obj_t a, obj_t b)
{
  if (SCM_IS_FIX(a) && SCM_IS_FIX(b)) {
    intptr_t x = SCM_FIXVAL(a), y = SCM_FIXVAL(b);
    switch (op) {
    case PRIMS_EQ: return x == y;
    case PRIMS_LT: return x < y;
    case PRIMS_GT: return x > y;
    case PRIMS_LE: return x <= y;
    default: return x >= y;
    }
  } else {
    double x = prims_to_double(a), y = prims_to_double(b);
    switch (op) {
    case PRIMS_EQ: return x == y;
    case PRIMS_LT: return x < y;
    case PRIMS_GT: return x > y;
    case PRIMS_LE: return x <= y;
    default: return x >= y;
    }
  }
}

static obj_t prims_compare(int op, size_t argc, obj_t *argv)
{
  size_t i;
  int result = 1;
  if (argc == 1)
    (void)prims_to_double(argv[0]);
  for (i = 0; i + 1 < argc; ++i)
    if (!prims_compare2(op, argv[i], argv[i + 1]))
      result = 0; /* keep going, so every argument is checked */
  return SCM_BOOL(result);
}

static obj_t p_num_eq(size_t argc, obj_t *argv) { return prims_compare(PRIMS_EQ, argc, argv); }
static obj_t p_lt(size_t argc, obj_t *argv) { return prims_compare(PRIMS_LT, argc, argv); }
static obj_t p_gt(size_t argc, obj_t *argv) { return prims_compare(PRIMS_GT, argc, argv); }
static obj_t p_le(size_t argc, obj_t *argv) { return prims_compare(PRIMS_LE, argc, argv); }
static obj_t p_ge(size_t argc, obj_t *argv) { return prims_compare(PRIMS_GE, argc, argv); }

static obj_t p_min_max(size_t argc, obj_t *argv, int want_max)
{
  obj_t best = argv[0];
  int inexact = SCM_IS_FLONUM(argv[0]);
  size_t i;
  (void)prims_to_double(best);
  for (i = 1; i < argc; ++i) {
    if (SCM_IS_FLONUM(argv[i]))
      inexact = 1;
    if (prims_compare2(want_max ? PRIMS_GT : PRIMS_LT, argv[i], best))
      best = argv[i];
  }
  if (inexact && SCM_IS_FIX(best))
    return heap_flonum((double)SCM_FIXVAL(best));
  return best;
}

static obj_t p_min(size_t argc, obj_t *argv) { return p_min_max(argc, argv, 0); }
static obj_t p_max(size_t argc, obj_t *argv) { return p_min_max(argc, argv, 1); }

static obj_t p_abs(size_t argc, obj_t *argv)
{
  (void)argc;
  if (SCM_IS_FIX(argv[0]))
    return prims_make_int(SCM_FIXVAL(argv[0]) < 0 ? -SCM_FIXVAL(argv[0]) : SCM_FIXVAL(argv[0]));
  return heap_flonum(fabs(prims_to_double(argv[0])));
}

static obj_t p_number_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(SCM_IS_NUMBER(argv[0]));
}

static obj_t p_integer_p(size_t argc, obj_t *argv)
{
  (void)argc;
  if (SCM_IS_FIX(argv[0]))
    return SCM_TRUE;
  if (SCM_IS_FLONUM(argv[0])) {
    double d = heap_flonum_value(argv[0]);
    return SCM_BOOL(isfinite(d) && d == floor(d));
  }
  return SCM_FALSE;
}

static obj_t p_zero_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(prims_to_double(argv[0]) == 0.0);
}

static obj_t p_positive_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(prims_to_double(argv[0]) > 0.0);
}

static obj_t p_negative_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(prims_to_double(argv[0]) < 0.0);
}

static obj_t p_even_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(prims_int(argv[0]) % 2 == 0);
}

static obj_t p_odd_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(prims_int(argv[0]) % 2 != 0);
}

static obj_t p_exact_to_inexact(size_t argc, obj_t *argv)
{
  (void)argc;
  return heap_flonum(prims_to_double(argv[0]));
}

static obj_t p_inexact_to_exact(size_t argc, obj_t *argv)
{
  double d;
  (void)argc;
  if (SCM_IS_FIX(argv[0]))
    return argv[0];
  d = prims_to_double(argv[0]);
  prims_check(d == floor(d) && d >= (double)SCM_FIX_MIN && d <= (double)SCM_FIX_MAX,
              "no exact integer for", argv[0]);
  return SCM_FIX((intptr_t)d);
}

static obj_t prims_round(obj_t num, double (*fn)(double))
{
  if (SCM_IS_FIX(num))
    return num;
  return heap_flonum(fn(prims_to_double(num)));
}

/* Round half to even, as Scheme's round does. */
static double prims_round_even(double d)
{
  double r = floor(d + 0.5);
  if (r - d == 0.5 && fmod(r, 2.0) != 0.0)
    r -= 1.0;
  return r;
}

static obj_t p_floor(size_t argc, obj_t *argv) { (void)argc; return prims_round(argv[0], floor); }
static obj_t p_ceiling(size_t argc, obj_t *argv) { (void)argc; return prims_round(argv[0], ceil); }
static obj_t p_truncate(size_t argc, obj_t *argv) { (void)argc; return prims_round(argv[0], trunc); }
static obj_t p_round(size_t argc, obj_t *argv)
{
  (void)argc;
  return prims_round(argv[0], prims_round_even);
}

static obj_t p_sqrt(size_t argc, obj_t *argv)
{
  double d;
  (void)argc;
  d = prims_to_double(argv[0]);
  if (SCM_IS_FIX(argv[0]) && d >= 0) {
    intptr_t r = (intptr_t)sqrt(d);
    while (r * r > SCM_FIXVAL(argv[0]))
      --r;
    while ((r + 1) * (r + 1) <= SCM_FIXVAL(argv[0]))
      ++r;
    if (r * r == SCM_FIXVAL(argv[0]))
      return SCM_FIX(r);
  }
  return heap_flonum(sqrt(d));
}

static obj_t p_number_to_string(size_t argc, obj_t *argv)
{
  char buf[64];
  (void)argc;
  (void)prims_to_double(argv[0]);
  print_number(argv[0], buf, sizeof buf);
  return heap_string(buf, strlen(buf));
}

static obj_t p_string_to_number(size_t argc, obj_t *argv)
{
  char buf[64];
  char *end;
  obj_t s = prims_string(argv[0]);
  long long n;
  double d;
  (void)argc;
  if (s->string.length == 0 || s->string.length >= sizeof buf)
    return SCM_FALSE;
  memcpy(buf, s->string.chars, s->string.length + 1);
  n = strtoll(buf, &end, 10);
  if (*end == '\0' && n >= SCM_FIX_MIN && n <= SCM_FIX_MAX)
    return SCM_FIX((intptr_t)n);
  d = strtod(buf, &end);
  if (*end == '\0')
    return heap_flonum(d);
  return SCM_FALSE;
}

/* ---- Pairs and lists -------------------------------------------------------- */

static obj_t p_cons(size_t argc, obj_t *argv)
{
  (void)argc;
  return heap_pair(argv[0], argv[1]);
}

static obj_t p_car(size_t argc, obj_t *argv) { (void)argc; return CAR(prims_pair(argv[0])); }
static obj_t p_cdr(size_t argc, obj_t *argv) { (void)argc; return CDR(prims_pair(argv[0])); }

static obj_t p_cadr(size_t argc, obj_t *argv)
{
  (void)argc;
  return CAR(prims_pair(CDR(prims_pair(argv[0]))));
}

static obj_t p_cddr(size_t argc, obj_t *argv)
{
  (void)argc;
  return CDR(prims_pair(CDR(prims_pair(argv[0]))));
}

static obj_t p_caar(size_t argc, obj_t *argv)
{
  (void)argc;
  return CAR(prims_pair(CAR(prims_pair(argv[0]))));
}

static obj_t p_cdar(size_t argc, obj_t *argv)
{
  (void)argc;
  return CDR(prims_pair(CAR(prims_pair(argv[0]))));
}

static obj_t p_caddr(size_t argc, obj_t *argv)
{
  (void)argc;
  return CAR(prims_pair(CDR(prims_pair(CDR(prims_pair(argv[0]))))));
}

static obj_t p_set_car(size_t argc, obj_t *argv)
{
  (void)argc;
  CAR(prims_pair(argv[0])) = argv[1];
  return SCM_UNSPEC;
}

static obj_t p_set_cdr(size_t argc, obj_t *argv)
{
  (void)argc;
  CDR(prims_pair(argv[0])) = argv[1];
  return SCM_UNSPEC;
}

static obj_t p_list(size_t argc, obj_t *argv)
{
  obj_t list = SCM_NIL;
  size_t i;
  for (i = argc; i > 0; --i)
    list = heap_pair(argv[i - 1], list);
  return list;
}

static size_t prims_length(obj_t list)
{
  size_t n = 0;
  obj_t l;
  for (l = list; SCM_IS_PAIR(l); l = CDR(l))
    ++n;
  prims_check(l == SCM_NIL, "expected a proper list", list);
  return n;
}

static obj_t p_length(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_FIX(prims_length(argv[0]));
}

/* Copies of every list but the last, which is shared. */
static obj_t p_append(size_t argc, obj_t *argv)
{
  obj_t head = SCM_NIL, tail = SCM_NIL;
  size_t i;
  if (argc == 0)
    return SCM_NIL;
  for (i = 0; i + 1 < argc; ++i) {
    obj_t l;
    (void)prims_length(argv[i]);
    for (l = argv[i]; SCM_IS_PAIR(l); l = CDR(l)) {
      obj_t pair = heap_pair(CAR(l), SCM_NIL);
      if (tail == SCM_NIL)
        head = pair;
      else
        CDR(tail) = pair;
      tail = pair;
    }
  }
  if (tail == SCM_NIL)
    return argv[argc - 1];
  CDR(tail) = argv[argc - 1];
  return head;
}

static obj_t p_reverse(size_t argc, obj_t *argv)
{
  obj_t result = SCM_NIL, l;
  (void)argc;
  (void)prims_length(argv[0]);
  for (l = argv[0]; SCM_IS_PAIR(l); l = CDR(l))
    result = heap_pair(CAR(l), result);
  return result;
}

static obj_t p_list_tail(size_t argc, obj_t *argv)
{
  obj_t l = argv[0];
  intptr_t k = prims_int(argv[1]);
  (void)argc;
  for (; k > 0; --k)
    l = CDR(prims_pair(l));
  return l;
}

static obj_t p_list_ref(size_t argc, obj_t *argv)
{
  obj_t l = argv[0];
  intptr_t k = prims_int(argv[1]);
  (void)argc;
  for (; k > 0; --k)
    l = CDR(prims_pair(l));
  return CAR(prims_pair(l));
}

static int prims_eqv(obj_t a, obj_t b)
{
  if (a == b)
    return 1;
  if (SCM_IS_FLONUM(a) && SCM_IS_FLONUM(b))
    return heap_flonum_value(a) == heap_flonum_value(b);
  return 0;
}

/* Recursion follows cars; cdrs are followed in a loop.  The depth bound
 * turns a pathological car-nesting into an error, not a crash. */
static int prims_equal(obj_t a, obj_t b, unsigned depth)
{
  prims_check(depth < 10000, "structure too deep for equal?", NULL);
  for (;;) {
    size_t i;
    if (prims_eqv(a, b))
      return 1;
    if (!SCM_IS_PTR(a) || !SCM_IS_PTR(b) || SCM_TYPE(a) != SCM_TYPE(b))
      return 0;
    switch (SCM_TYPE(a)) {
    case TYPE_PAIR:
      if (!prims_equal(CAR(a), CAR(b), depth + 1))
        return 0;
      a = CDR(a);
      b = CDR(b);
      continue;
    case TYPE_STRING:
      return a->string.length == b->string.length
        && memcmp(a->string.chars, b->string.chars, a->string.length) == 0;
    case TYPE_VECTOR:
      if (a->vector.length != b->vector.length)
        return 0;
      for (i = 0; i < a->vector.length; ++i)
        if (!prims_equal(a->vector.elems[i], b->vector.elems[i], depth + 1))
          return 0;
      return 1;
    default:
      return 0;
    }
  }
}

static obj_t p_eq_p(size_t argc, obj_t *argv) { (void)argc; return SCM_BOOL(argv[0] == argv[1]); }
static obj_t p_eqv_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(prims_eqv(argv[0], argv[1]));
}
static obj_t p_equal_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(prims_equal(argv[0], argv[1], 0));
}

enum { PRIMS_BY_EQ, PRIMS_BY_EQV, PRIMS_BY_EQUAL };

static int prims_same(int how, obj_t a, obj_t b)
{
  switch (how) {
  case PRIMS_BY_EQ: return a == b;
  case PRIMS_BY_EQV: return prims_eqv(a, b);
  default: return prims_equal(a, b, 0);
  }
}

static obj_t prims_member(int how, obj_t x, obj_t list)
{
  obj_t l;
  for (l = list; SCM_IS_PAIR(l); l = CDR(l))
    if (prims_same(how, x, CAR(l)))
      return l;
  return SCM_FALSE;
}

static obj_t prims_assoc(int how, obj_t x, obj_t alist)
{
  obj_t l;
  for (l = alist; SCM_IS_PAIR(l); l = CDR(l))
    if (SCM_IS_PAIR(CAR(l)) && prims_same(how, x, CAR(CAR(l))))
      return CAR(l);
  return SCM_FALSE;
}

static obj_t p_memq(size_t argc, obj_t *argv) { (void)argc; return prims_member(PRIMS_BY_EQ, argv[0], argv[1]); }
static obj_t p_memv(size_t argc, obj_t *argv) { (void)argc; return prims_member(PRIMS_BY_EQV, argv[0], argv[1]); }
static obj_t p_member(size_t argc, obj_t *argv) { (void)argc; return prims_member(PRIMS_BY_EQUAL, argv[0], argv[1]); }
static obj_t p_assq(size_t argc, obj_t *argv) { (void)argc; return prims_assoc(PRIMS_BY_EQ, argv[0], argv[1]); }
static obj_t p_assv(size_t argc, obj_t *argv) { (void)argc; return prims_assoc(PRIMS_BY_EQV, argv[0], argv[1]); }
static obj_t p_assoc(size_t argc, obj_t *argv) { (void)argc; return prims_assoc(PRIMS_BY_EQUAL, argv[0], argv[1]); }

/* ---- Type predicates --------------------------------------------------------- */

static obj_t p_null_p(size_t argc, obj_t *argv) { (void)argc; return SCM_BOOL(argv[0] == SCM_NIL); }
static obj_t p_pair_p(size_t argc, obj_t *argv) { (void)argc; return SCM_BOOL(SCM_IS_PAIR(argv[0])); }
static obj_t p_symbol_p(size_t argc, obj_t *argv) { (void)argc; return SCM_BOOL(SCM_IS_SYMBOL(argv[0])); }
static obj_t p_string_p(size_t argc, obj_t *argv) { (void)argc; return SCM_BOOL(SCM_IS_STRING(argv[0])); }
static obj_t p_vector_p(size_t argc, obj_t *argv) { (void)argc; return SCM_BOOL(SCM_IS_VECTOR(argv[0])); }
static obj_t p_char_p(size_t argc, obj_t *argv) { (void)argc; return SCM_BOOL(SCM_IS_CHAR(argv[0])); }
static obj_t p_not(size_t argc, obj_t *argv) { (void)argc; return SCM_BOOL(argv[0] == SCM_FALSE); }

static obj_t p_boolean_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(argv[0] == SCM_TRUE || argv[0] == SCM_FALSE);
}

static obj_t p_procedure_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(SCM_IS_CLOSURE(argv[0]) || SCM_IS_PRIM(argv[0]));
}

static obj_t p_list_p(size_t argc, obj_t *argv)
{
  obj_t l;
  (void)argc;
  for (l = argv[0]; SCM_IS_PAIR(l); l = CDR(l))
    ;
  return SCM_BOOL(l == SCM_NIL);
}

/* ---- Vectors ----------------------------------------------------------------- */

static obj_t p_vector(size_t argc, obj_t *argv)
{
  obj_t vec = heap_vector(argc, SCM_FALSE);
  size_t i;
  for (i = 0; i < argc; ++i)
    vec->vector.elems[i] = argv[i];
  return vec;
}

static obj_t p_make_vector(size_t argc, obj_t *argv)
{
  intptr_t n = prims_int(argv[0]);
  prims_check(n >= 0, "negative vector length", argv[0]);
  return heap_vector((size_t)n, argc > 1 ? argv[1] : SCM_FALSE);
}

static obj_t p_vector_length(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_FIX(prims_vector(argv[0])->vector.length);
}

static obj_t p_vector_ref(size_t argc, obj_t *argv)
{
  obj_t vec = prims_vector(argv[0]);
  (void)argc;
  return vec->vector.elems[prims_index(argv[1], vec->vector.length)];
}

static obj_t p_vector_set(size_t argc, obj_t *argv)
{
  obj_t vec = prims_vector(argv[0]);
  (void)argc;
  vec->vector.elems[prims_index(argv[1], vec->vector.length)] = argv[2];
  return SCM_UNSPEC;
}

static obj_t p_vector_fill(size_t argc, obj_t *argv)
{
  obj_t vec = prims_vector(argv[0]);
  size_t i;
  (void)argc;
  for (i = 0; i < vec->vector.length; ++i)
    vec->vector.elems[i] = argv[1];
  return SCM_UNSPEC;
}

static obj_t p_vector_to_list(size_t argc, obj_t *argv)
{
  obj_t list = SCM_NIL;
  size_t i;
  (void)argc;
  for (i = prims_vector(argv[0])->vector.length; i > 0; --i)
    list = heap_pair(argv[0]->vector.elems[i - 1], list);
  return list;
}

static obj_t p_list_to_vector(size_t argc, obj_t *argv)
{
  size_t n = prims_length(argv[0]), i;
  obj_t vec = heap_vector(n, SCM_FALSE);
  obj_t l = argv[0];
  (void)argc;
  for (i = 0; i < n; ++i, l = CDR(l))
    vec->vector.elems[i] = CAR(l);
  return vec;
}

/* ---- Strings, symbols and characters ------------------------------------------ */

static obj_t p_string_length(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_FIX(prims_string(argv[0])->string.length);
}

static obj_t p_string_ref(size_t argc, obj_t *argv)
{
  obj_t s = prims_string(argv[0]);
  (void)argc;
  return SCM_CHAR(s->string.chars[prims_index(argv[1], s->string.length)]);
}

static obj_t p_string_append(size_t argc, obj_t *argv)
{
  size_t total = 0, i, at = 0;
  obj_t result;
  for (i = 0; i < argc; ++i)
    total += prims_string(argv[i])->string.length;
  result = heap_string_blank(total);
  /* argv is read again after the allocation: the strings may have moved. */
  for (i = 0; i < argc; ++i) {
    memcpy(result->string.chars + at, argv[i]->string.chars, argv[i]->string.length);
    at += argv[i]->string.length;
  }
  return result;
}

static obj_t p_substring(size_t argc, obj_t *argv)
{
  size_t length = prims_string(argv[0])->string.length;
  size_t start = prims_index(argv[1], length + 1);
  size_t end = argc > 2 ? prims_index(argv[2], length + 1) : length;
  obj_t result;
  prims_check(start <= end, "substring start after end", argv[1]);
  result = heap_string_blank(end - start);
  memcpy(result->string.chars, argv[0]->string.chars + start, end - start);
  return result;
}

static obj_t p_string_copy(size_t argc, obj_t *argv)
{
  obj_t result;
  (void)argc;
  result = heap_string_blank(prims_string(argv[0])->string.length);
  memcpy(result->string.chars, argv[0]->string.chars, argv[0]->string.length);
  return result;
}

static int prims_string_cmp(obj_t a, obj_t b)
{
  size_t la = prims_string(a)->string.length, lb = prims_string(b)->string.length;
  int c = memcmp(a->string.chars, b->string.chars, la < lb ? la : lb);
  if (c != 0)
    return c;
  return la < lb ? -1 : la > lb;
}

static obj_t p_string_eq(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(prims_string_cmp(argv[0], argv[1]) == 0);
}

static obj_t p_string_lt(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(prims_string_cmp(argv[0], argv[1]) < 0);
}

static obj_t p_string(size_t argc, obj_t *argv)
{
  obj_t result;
  size_t i;
  for (i = 0; i < argc; ++i)
    prims_check(SCM_IS_CHAR(argv[i]), "expected a character", argv[i]);
  result = heap_string_blank(argc);
  for (i = 0; i < argc; ++i)
    result->string.chars[i] = (char)SCM_CHARVAL(argv[i]);
  return result;
}

static obj_t p_string_to_list(size_t argc, obj_t *argv)
{
  obj_t list = SCM_NIL;
  size_t i;
  (void)argc;
  for (i = prims_string(argv[0])->string.length; i > 0; --i)
    list = heap_pair(SCM_CHAR(argv[0]->string.chars[i - 1]), list);
  return list;
}

static obj_t p_list_to_string(size_t argc, obj_t *argv)
{
  size_t n = prims_length(argv[0]), i;
  obj_t result, l;
  (void)argc;
  for (l = argv[0]; SCM_IS_PAIR(l); l = CDR(l))
    prims_check(SCM_IS_CHAR(CAR(l)), "expected a character", CAR(l));
  result = heap_string_blank(n);
  for (i = 0, l = argv[0]; i < n; ++i, l = CDR(l))
    result->string.chars[i] = (char)SCM_CHARVAL(CAR(l));
  return result;
}

static obj_t p_symbol_to_string(size_t argc, obj_t *argv)
{
  (void)argc;
  prims_check(SCM_IS_SYMBOL(argv[0]), "expected a symbol", argv[0]);
  return argv[0]->symbol.name; /* strings are immutable: sharing is safe */
}

static obj_t p_string_to_symbol(size_t argc, obj_t *argv)
{
  (void)argc;
  return heap_intern_string(prims_string(argv[0]));
}

static obj_t p_char_to_integer(size_t argc, obj_t *argv)
{
  (void)argc;
  prims_check(SCM_IS_CHAR(argv[0]), "expected a character", argv[0]);
  return SCM_FIX(SCM_CHARVAL(argv[0]));
}

static obj_t p_integer_to_char(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_CHAR(prims_index(argv[0], 256));
}

/* ---- Output, errors and the collector --------------------------------------------- */

static obj_t p_display(size_t argc, obj_t *argv)
{
  (void)argc;
  print_obj(argv[0], 0, stdout);
  return SCM_UNSPEC;
}

static obj_t p_write(size_t argc, obj_t *argv)
{
  (void)argc;
  print_obj(argv[0], 1, stdout);
  return SCM_UNSPEC;
}

static obj_t p_newline(size_t argc, obj_t *argv)
{
  (void)argc;
  (void)argv;
  putchar('\n');
  return SCM_UNSPEC;
}

static obj_t p_error(size_t argc, obj_t *argv)
{
  obj_t irritants = p_list(argc - 1, argv + 1);
  fflush(stdout);
  fputs("error: ", stderr);
  print_obj(argv[0], 0, stderr);
  for (; SCM_IS_PAIR(irritants); irritants = CDR(irritants)) {
    putc(' ', stderr);
    print_obj(CAR(irritants), 1, stderr);
  }
  scm_error(NULL, NULL);
}

static obj_t p_exit(size_t argc, obj_t *argv)
{
  scm_exit(argc > 0 ? (int)prims_int(argv[0]) : 0);
}

static obj_t p_gc(size_t argc, obj_t *argv)
{
  (void)argc;
  (void)argv;
  heap_collect();
  return SCM_UNSPEC;
}

static obj_t p_gc_stats(size_t argc, obj_t *argv)
{
  (void)argc;
  (void)argv;
  heap_stats_print(stdout);
  return SCM_UNSPEC;
}

static obj_t p_gc_count(size_t argc, obj_t *argv)
{
  (void)argc;
  (void)argv;
  return SCM_FIX(heap_collections());
}

static obj_t p_heap_check(size_t argc, obj_t *argv)
{
  (void)argc;
  (void)argv;
  return SCM_FIX(heap_walk_check());
}

/* ---- Hash tables and ports ------------------------------------------------ */

static obj_t prims_hashtable(obj_t o)
{
  prims_check(SCM_IS_TABLE(o), "expected a hashtable", o);
  return o;
}

static obj_t prims_open_port(obj_t o)
{
  prims_check(SCM_IS_PORT(o), "expected a port", o);
  prims_check(o->port.stream != NULL, "port is closed", o);
  return o;
}

static obj_t p_make_eq_hashtable(size_t argc, obj_t *argv)
{
  (void)argc;
  (void)argv;
  return heap_table(0);
}

static obj_t p_make_weak_key_hashtable(size_t argc, obj_t *argv)
{
  (void)argc;
  (void)argv;
  return heap_table(HEAP_WEAK_KEYS);
}

static obj_t p_make_weak_value_hashtable(size_t argc, obj_t *argv)
{
  (void)argc;
  (void)argv;
  return heap_table(HEAP_WEAK_VALUES);
}

static obj_t p_hashtable_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(SCM_IS_TABLE(argv[0]));
}

static obj_t p_hashtable_set(size_t argc, obj_t *argv)
{
  (void)argc;
  prims_hashtable(argv[0]);
  heap_table_set(argv);
  return SCM_UNSPEC;
}

static obj_t p_hashtable_ref(size_t argc, obj_t *argv)
{
  obj_t value;
  prims_hashtable(argv[0]);
  if (heap_table_ref(argv, &value))
    return value;
  /* Read after the lookup, which may have allocated. */
  return argc > 2 ? argv[2] : SCM_FALSE;
}

static obj_t p_hashtable_contains_p(size_t argc, obj_t *argv)
{
  obj_t value;
  (void)argc;
  prims_hashtable(argv[0]);
  return SCM_BOOL(heap_table_ref(argv, &value));
}

static obj_t p_hashtable_delete(size_t argc, obj_t *argv)
{
  (void)argc;
  prims_hashtable(argv[0]);
  (void)heap_table_delete(argv);
  return SCM_UNSPEC;
}

static obj_t p_hashtable_count(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_FIX(heap_table_count(prims_hashtable(argv[0])));
}

static obj_t p_hashtable_keys(size_t argc, obj_t *argv)
{
  (void)argc;
  prims_hashtable(argv[0]);
  return heap_table_keys(argv);
}

static obj_t p_hashtable_stale_rehashes(size_t argc, obj_t *argv)
{
  (void)argc;
  (void)argv;
  return SCM_FIX(heap_table_stale_rehashes());
}

static obj_t p_open_input_file(size_t argc, obj_t *argv)
{
  (void)argc;
  prims_string(argv[0]);
  return heap_port_open(argv);
}

static obj_t p_read_char(size_t argc, obj_t *argv)
{
  int c;
  (void)argc;
  c = getc(prims_open_port(argv[0])->port.stream);
  return c == EOF ? SCM_EOF : SCM_CHAR(c);
}

static obj_t p_peek_char(size_t argc, obj_t *argv)
{
  FILE *stream;
  int c;
  (void)argc;
  stream = prims_open_port(argv[0])->port.stream;
  c = getc(stream);
  if (c == EOF)
    return SCM_EOF;
  (void)ungetc(c, stream);
  return SCM_CHAR(c);
}

/* The line goes into a C buffer first: a string can only be allocated
 * once its length is known. */
static obj_t p_read_line(size_t argc, obj_t *argv)
{
  static char *buf;
  static size_t cap;
  FILE *stream;
  size_t n = 0;
  int c;
  (void)argc;
  stream = prims_open_port(argv[0])->port.stream;
  for (;;) {
    c = getc(stream);
    if (c == EOF || c == '\n')
      break;
    if (n == cap) {
      size_t new_cap = cap == 0 ? 128 : cap * 2;
      char *new_buf = realloc(buf, new_cap);
      if (new_buf == NULL)
        scm_error("out of memory for a line", NULL);
      buf = new_buf;
      cap = new_cap;
    }
    buf[n++] = (char)c;
  }
  if (c == EOF && n == 0)
    return SCM_EOF;
  return heap_string(buf, n);
}

static obj_t p_close_port(size_t argc, obj_t *argv)
{
  (void)argc;
  prims_check(SCM_IS_PORT(argv[0]), "expected a port", argv[0]);
  heap_port_close(argv);
  return SCM_UNSPEC;
}

static obj_t p_port_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(SCM_IS_PORT(argv[0]));
}

static obj_t p_port_open_p(size_t argc, obj_t *argv)
{
  (void)argc;
  prims_check(SCM_IS_PORT(argv[0]), "expected a port", argv[0]);
  return SCM_BOOL(argv[0]->port.stream != NULL);
}

static obj_t p_eof_object_p(size_t argc, obj_t *argv)
{
  (void)argc;
  return SCM_BOOL(argv[0] == SCM_EOF);
}

static obj_t p_finalized_port_count(size_t argc, obj_t *argv)
{
  (void)argc;
  (void)argv;
  return SCM_FIX(heap_ports_finalized());
}

static obj_t p_apply(size_t argc, obj_t *argv)
{
  /* The evaluator intercepts apply before calling this. */
  (void)argc;
  (void)argv;
  scm_fatal("apply reached its table entry");
}

const prims_entry_s prims_table[] = {
  {"+", p_add, 0, PRIMS_VARIADIC},
  {"-", p_sub, 1, PRIMS_VARIADIC},
  {"*", p_mul, 0, PRIMS_VARIADIC},
  {"/", p_div, 1, PRIMS_VARIADIC},
  {"quotient", p_quotient, 2, 2},
  {"remainder", p_remainder, 2, 2},
  {"modulo", p_modulo, 2, 2},
  {"=", p_num_eq, 1, PRIMS_VARIADIC},
  {"<", p_lt, 1, PRIMS_VARIADIC},
  {">", p_gt, 1, PRIMS_VARIADIC},
  {"<=", p_le, 1, PRIMS_VARIADIC},
  {">=", p_ge, 1, PRIMS_VARIADIC},
  {"min", p_min, 1, PRIMS_VARIADIC},
  {"max", p_max, 1, PRIMS_VARIADIC},
  {"abs", p_abs, 1, 1},
  {"number?", p_number_p, 1, 1},
  {"integer?", p_integer_p, 1, 1},
  {"zero?", p_zero_p, 1, 1},
  {"positive?", p_positive_p, 1, 1},
  {"negative?", p_negative_p, 1, 1},
  {"even?", p_even_p, 1, 1},
  {"odd?", p_odd_p, 1, 1},
  {"exact->inexact", p_exact_to_inexact, 1, 1},
  {"inexact->exact", p_inexact_to_exact, 1, 1},
  {"inexact", p_exact_to_inexact, 1, 1},
  {"exact", p_inexact_to_exact, 1, 1},
  {"floor", p_floor, 1, 1},
  {"ceiling", p_ceiling, 1, 1},
  {"truncate", p_truncate, 1, 1},
  {"round", p_round, 1, 1},
  {"sqrt", p_sqrt, 1, 1},
  {"number->string", p_number_to_string, 1, 1},
  {"string->number", p_string_to_number, 1, 1},
  {"cons", p_cons, 2, 2},
  {"car", p_car, 1, 1},
  {"cdr", p_cdr, 1, 1},
  {"cadr", p_cadr, 1, 1},
  {"cddr", p_cddr, 1, 1},
  {"caar", p_caar, 1, 1},
  {"cdar", p_cdar, 1, 1},
  {"caddr", p_caddr, 1, 1},
  {"set-car!", p_set_car, 2, 2},
  {"set-cdr!", p_set_cdr, 2, 2},
  {"list", p_list, 0, PRIMS_VARIADIC},
  {"length", p_length, 1, 1},
  {"append", p_append, 0, PRIMS_VARIADIC},
  {"reverse", p_reverse, 1, 1},
  {"list-tail", p_list_tail, 2, 2},
  {"list-ref", p_list_ref, 2, 2},
  {"memq", p_memq, 2, 2},
  {"memv", p_memv, 2, 2},
  {"member", p_member, 2, 2},
  {"assq", p_assq, 2, 2},
  {"assv", p_assv, 2, 2},
  {"assoc", p_assoc, 2, 2},
  {"eq?", p_eq_p, 2, 2},
  {"eqv?", p_eqv_p, 2, 2},
  {"equal?", p_equal_p, 2, 2},
  {"null?", p_null_p, 1, 1},
  {"pair?", p_pair_p, 1, 1},
  {"list?", p_list_p, 1, 1},
  {"symbol?", p_symbol_p, 1, 1},
  {"string?", p_string_p, 1, 1},
  {"vector?", p_vector_p, 1, 1},
  {"char?", p_char_p, 1, 1},
  {"boolean?", p_boolean_p, 1, 1},
  {"procedure?", p_procedure_p, 1, 1},
  {"not", p_not, 1, 1},
  {"vector", p_vector, 0, PRIMS_VARIADIC},
  {"make-vector", p_make_vector, 1, 2},
  {"vector-length", p_vector_length, 1, 1},
  {"vector-ref", p_vector_ref, 2, 2},
  {"vector-set!", p_vector_set, 3, 3},
  {"vector-fill!", p_vector_fill, 2, 2},
  {"vector->list", p_vector_to_list, 1, 1},
  {"list->vector", p_list_to_vector, 1, 1},
  {"string-length", p_string_length, 1, 1},
  {"string-ref", p_string_ref, 2, 2},
  {"string-append", p_string_append, 0, PRIMS_VARIADIC},
  {"substring", p_substring, 2, 3},
  {"string-copy", p_string_copy, 1, 1},
  {"string=?", p_string_eq, 2, 2},
  {"string<?", p_string_lt, 2, 2},
  {"string", p_string, 0, PRIMS_VARIADIC},
  {"string->list", p_string_to_list, 1, 1},
  {"list->string", p_list_to_string, 1, 1},
  {"symbol->string", p_symbol_to_string, 1, 1},
  {"string->symbol", p_string_to_symbol, 1, 1},
  {"char->integer", p_char_to_integer, 1, 1},
  {"integer->char", p_integer_to_char, 1, 1},
  {"display", p_display, 1, 1},
  {"write", p_write, 1, 1},
  {"newline", p_newline, 0, 0},
  {"error", p_error, 1, PRIMS_VARIADIC},
  {"exit", p_exit, 0, 1},
  {"gc", p_gc, 0, 0},
  {"gc-stats", p_gc_stats, 0, 0},
  {"gc-count", p_gc_count, 0, 0},
  {"heap-check", p_heap_check, 0, 0},
  {"make-eq-hashtable", p_make_eq_hashtable, 0, 0},
  {"make-weak-key-hashtable", p_make_weak_key_hashtable, 0, 0},
  {"make-weak-value-hashtable", p_make_weak_value_hashtable, 0, 0},
  {"hashtable?", p_hashtable_p, 1, 1},
  {"hashtable-set!", p_hashtable_set, 3, 3},
  {"hashtable-ref", p_hashtable_ref, 2, 3},
  {"hashtable-contains?", p_hashtable_contains_p, 2, 2},
  {"hashtable-delete!", p_hashtable_delete, 2, 2},
  {"hashtable-count", p_hashtable_count, 1, 1},
  {"hashtable-keys", p_hashtable_keys, 1, 1},
  {"hashtable-stale-rehashes", p_hashtable_stale_rehashes, 0, 0},
  {"open-input-file", p_open_input_file, 1, 1},
  {"read-char", p_read_char, 1, 1},
  {"peek-char", p_peek_char, 1, 1},
  {"read-line", p_read_line, 1, 1},
  {"close-port", p_close_port, 1, 1},
  {"close-input-port", p_close_port, 1, 1},
  {"port?", p_port_p, 1, 1},
  {"port-open?", p_port_open_p, 1, 1},
  {"eof-object?", p_eof_object_p, 1, 1},
  {"finalized-port-count", p_finalized_port_count, 0, 0},
  {"apply", p_apply, 2, PRIMS_VARIADIC},
};

const size_t prims_count = sizeof prims_table / sizeof prims_table[0];

/* Procedures written in Scheme, loaded after the primitives. */
static const char prims_prelude[] =
  "(define (map f l . ls)"
  "  (if (null? ls)"
  "      (let loop ((l l) (acc '()))"
  "        (if (pair? l) (loop (cdr l) (cons (f (car l)) acc)) (reverse acc)))"
  "      (let loop ((ls (cons l ls)) (acc '()))"
  "        (if (memq '() ls) (reverse acc)"
  "            (loop (map cdr ls) (cons (apply f (map car ls)) acc))))))"
  "(define (for-each f l . ls)"
  "  (if (null? ls)"
  "      (let loop ((l l)) (if (pair? l) (begin (f (car l)) (loop (cdr l)))))"
  "      (let loop ((ls (cons l ls)))"
  "        (if (not (memq '() ls))"
  "            (begin (apply f (map car ls)) (loop (map cdr ls)))))))"
  "(define (filter p l)"
  "  (let loop ((l l) (acc '()))"
  "    (cond ((null? l) (reverse acc))"
  "          ((p (car l)) (loop (cdr l) (cons (car l) acc)))"
  "          (else (loop (cdr l) acc)))))"
  "(define (fold-left f acc l)"
  "  (if (null? l) acc (fold-left f (f acc (car l)) (cdr l))))"
  "(define (fold-right f acc l)"
  "  (if (null? l) acc (f (car l) (fold-right f acc (cdr l)))))"
  "(define (list-copy l) (map (lambda (x) x) l))"
  "(define (vector-map f v) (list->vector (map f (vector->list v))))"
  "(define (vector-for-each f v) (for-each f (vector->list v)))";

void prims_install(void)
{
  static const char *const keywords[GLOBAL_COUNT] = {
    "quote", "quasiquote", "unquote", "unquote-splicing", "lambda", "define", "if",
    "set!", "begin", "let", "let*", "letrec", "letrec*", "cond", "else", "=>", "and",
    "or", "when", "unless", "do", "case"};
  read_src_s src;
  size_t i;
  for (i = 0; i < GLOBAL_COUNT; ++i) {
    obj_t sym = heap_intern(keywords[i]);
    heap_globals[i] = sym;
  }
  for (i = 0; i < prims_count; ++i) {
    obj_t sym = heap_intern(prims_table[i].name);
    obj_t prim = heap_prim(i);
    sym->symbol.value = prim;
    if (prims_table[i].fn == p_apply)
      prims_apply_index = i;
  }
  read_src_string(&src, prims_prelude);
  for (;;) {
    obj_t form = read_datum(&src);
    if (form == SCM_EOF)
      break;
    (void)eval_toplevel(form);
  }
}
