/* eval.c: the evaluator of the Scheme interpreter demo.
 *
 * eval_loop interprets the list structure directly.  Every tail position
 * (the branches of if, cond, case, when, unless, and, or, the last form
 * of a body, and the body of a called closure) replaces the expression
 * and environment and goes round the loop instead of recursing, so
 * tail calls run in constant C stack.  Only the evaluation of operators,
 * arguments, tests and non-final body forms recurses; that depth is
 * bounded by EVAL_DEPTH_MAX, past which the program gets an error rather
 * than a crash.
 *
 * Environments.  The global environment is the value slot of each
 * symbol.  A local environment is a chain of frames (scm_frame_s); a
 * frame's names list gives the name of each slot, and an element of it
 * may be a symbol or a binding list whose car is the symbol, so that
 * let, let*, letrec and do can use their own binding lists as names and
 * allocate nothing for them.  Internal definitions at the start of a
 * body get slots in the body's frame, found before the body runs.
 *
 * Memory.  The values of arguments being evaluated wait on the value
 * stack (an exact root), not in C arrays; everything else the evaluator
 * holds is in C locals, which the collector scans ambiguously and so
 * pins.  No field is ever assigned the result of a call that allocates
 * in one expression (the field's address could be computed first):
 * results go through a local.
 */
#include <string.h>

#include "scheme.h"

/* Deep enough for naive recursion over a list of some thousands of
 * elements, shallow enough for a 1 MiB C stack on Windows. */
#define EVAL_DEPTH_MAX 10000
#define EVAL_QQ_DEPTH_MAX 1000
/* The depth bound alone is not enough: frame sizes depend on the compiler
 * and its options (unoptimized, the evaluator's frame is about 7 KiB), so
 * the C stack used is bounded too, measured from the toplevel call, below
 * the main thread's default stack (1 MiB on Windows, 8 MiB on Linux,
 * FreeBSD and macOS).  Stacks grow downwards on every supported target;
 * an inlined toplevel may put its marker a byte below the first frame's. */
#ifdef _WIN32
#define EVAL_STACK_MAX ((uintptr_t)768 * 1024)
#else
#define EVAL_STACK_MAX ((uintptr_t)6 * 1024 * 1024)
#endif

static unsigned eval_depth;
static uintptr_t eval_stack_top;

static obj_t eval(obj_t x, obj_t env);

static void eval_push(obj_t v)
{
  if (heap_vsp >= heap_vstack_size)
    scm_error("value stack overflow", NULL);
  heap_vstack[heap_vsp++] = v;
}

static obj_t eval_frame_name(obj_t names)
{
  obj_t n = CAR(names);
  return SCM_IS_PAIR(n) ? CAR(n) : n;
}

/* The slot of variable sym: in the first frame of env that binds it, or
 * else its global slot.  The pointer is used at once, before anything
 * allocates. */
static obj_t *eval_slot(obj_t sym, obj_t env)
{
  obj_t f;
  for (f = env; f != SCM_NIL; f = f->frame.parent) {
    obj_t names = f->frame.names;
    size_t i;
    for (i = 0; i < f->frame.length; ++i, names = CDR(names))
      if (eval_frame_name(names) == sym)
        return &f->frame.vals[i];
  }
  return &sym->symbol.value;
}

static obj_t eval_lookup(obj_t sym, obj_t env)
{
  obj_t v = *eval_slot(sym, env);
  if (v == SCM_UNBOUND)
    scm_error("unbound variable", sym);
  return v;
}

static obj_t eval_check_list(obj_t x, const char *form)
{
  obj_t l = x;
  while (SCM_IS_PAIR(l))
    l = CDR(l);
  if (l != SCM_NIL)
    scm_error(form, x);
  return x;
}

static obj_t eval_cadr(obj_t x, const char *form)
{
  if (!SCM_IS_PAIR(CDR(x)))
    scm_error(form, x);
  return CAR(CDR(x));
}

/* The name a definition form (define ...) defines. */
static obj_t eval_define_name(obj_t form)
{
  obj_t target = eval_cadr(form, "bad define");
  if (SCM_IS_PAIR(target))
    target = CAR(target);
  if (!SCM_IS_SYMBOL(target))
    scm_error("bad define", form);
  return target;
}

/* Append to the list whose last pair is *tail_io (or start *head_io) the
 * names of the definitions at the start of body, including those inside
 * begin forms there (recursing into begin, bounded by depth).  Returns
 * the number of names added. */
static size_t eval_scan_defines(obj_t body, obj_t *head_io, obj_t *tail_io, unsigned depth)
{
  size_t n = 0;
  if (depth > EVAL_QQ_DEPTH_MAX)
    scm_error("begin nested too deeply", NULL);
  for (; SCM_IS_PAIR(body); body = CDR(body)) {
    obj_t form = CAR(body);
    if (!SCM_IS_PAIR(form))
      continue;
    if (CAR(form) == heap_globals[GLOBAL_DEFINE]) {
      obj_t pair = heap_pair(eval_define_name(form), SCM_NIL);
      if (*tail_io == SCM_NIL)
        *head_io = pair;
      else
        CDR(*tail_io) = pair;
      *tail_io = pair;
      ++n;
    } else if (CAR(form) == heap_globals[GLOBAL_BEGIN]) {
      n += eval_scan_defines(CDR(form), head_io, tail_io, depth + 1);
    }
  }
  return n;
}

/* Whether body has a definition among its forms (cheap test first, so
 * that bodies without any allocate nothing). */
static int eval_has_defines(obj_t body)
{
  for (; SCM_IS_PAIR(body); body = CDR(body)) {
    obj_t form = CAR(body);
    if (SCM_IS_PAIR(form)
        && (CAR(form) == heap_globals[GLOBAL_DEFINE] || CAR(form) == heap_globals[GLOBAL_BEGIN]))
      return 1;
  }
  return 0;
}

/* Make a closure.  params is a lambda list, each element a symbol or a
 * binding list (for named let); the last cdr may be a rest symbol. */
static obj_t eval_make_closure(obj_t params, obj_t body, obj_t env, obj_t name)
{
  obj_t head = SCM_NIL, tail = SCM_NIL, p;
  size_t nreq = 0, nslots;
  int rest = 0;
  for (p = params; SCM_IS_PAIR(p); p = CDR(p)) {
    obj_t sym = CAR(p);
    obj_t pair;
    if (SCM_IS_PAIR(sym))
      sym = CAR(sym);
    if (!SCM_IS_SYMBOL(sym))
      scm_error("bad parameter", sym);
    pair = heap_pair(sym, SCM_NIL);
    if (tail == SCM_NIL)
      head = pair;
    else
      CDR(tail) = pair;
    tail = pair;
    ++nreq;
  }
  if (p != SCM_NIL) {
    obj_t pair;
    if (!SCM_IS_SYMBOL(p))
      scm_error("bad rest parameter", p);
    pair = heap_pair(p, SCM_NIL);
    if (tail == SCM_NIL)
      head = pair;
    else
      CDR(tail) = pair;
    tail = pair;
    rest = 1;
  }
  nslots = nreq + (size_t)rest;
  if (eval_has_defines(body))
    nslots += eval_scan_defines(body, &head, &tail, 0);
  return heap_closure(head, body, env, name, nreq, rest, nslots);
}

/* Evaluate every form of body but the last, and return the last (the
 * caller evaluates it in tail position).  An empty body is unspecified. */
static obj_t eval_body(obj_t body, obj_t env)
{
  if (!SCM_IS_PAIR(body))
    return SCM_UNSPEC;
  while (SCM_IS_PAIR(CDR(body))) {
    (void)eval(CAR(body), env);
    body = CDR(body);
  }
  return CAR(body);
}

/* If body starts with definitions, a frame for them over env; else env. */
static obj_t eval_body_env(obj_t body, obj_t env)
{
  obj_t head = SCM_NIL, tail = SCM_NIL;
  size_t n;
  if (!eval_has_defines(body))
    return env;
  n = eval_scan_defines(body, &head, &tail, 0);
  if (n == 0)
    return env;
  return heap_frame(env, head, n, NULL, 0);
}

static obj_t eval_qq(obj_t t, obj_t env, unsigned depth)
{
  obj_t a, d;
  if (depth > EVAL_QQ_DEPTH_MAX)
    scm_error("quasiquote template too deep", NULL);
  if (!SCM_IS_PAIR(t))
    return t;
  if (CAR(t) == heap_globals[GLOBAL_UNQUOTE])
    return eval(eval_cadr(t, "bad unquote"), env);
  if (SCM_IS_PAIR(CAR(t)) && CAR(CAR(t)) == heap_globals[GLOBAL_UNQUOTE_SPLICING]) {
    obj_t spliced = eval(eval_cadr(CAR(t), "bad unquote-splicing"), env);
    obj_t head = SCM_NIL, tail = SCM_NIL, p;
    d = eval_qq(CDR(t), env, depth + 1);
    for (p = spliced; SCM_IS_PAIR(p); p = CDR(p)) {
      obj_t pair = heap_pair(CAR(p), SCM_NIL);
      if (tail == SCM_NIL)
        head = pair;
      else
        CDR(tail) = pair;
      tail = pair;
    }
    if (tail == SCM_NIL)
      return d;
    CDR(tail) = d;
    return head;
  }
  a = eval_qq(CAR(t), env, depth + 1);
  d = eval_qq(CDR(t), env, depth + 1);
  return heap_pair(a, d);
}

static int eval_eqv(obj_t a, obj_t b)
{
  if (a == b)
    return 1;
  if (SCM_IS_FLONUM(a) && SCM_IS_FLONUM(b))
    return heap_flonum_value(a) == heap_flonum_value(b);
  return 0;
}

static void eval_define(obj_t x, obj_t env)
{
  obj_t target = eval_cadr(x, "bad define");
  obj_t name, value, names;
  size_t i;
  if (SCM_IS_PAIR(target)) {
    name = CAR(target);
    if (!SCM_IS_SYMBOL(name))
      scm_error("bad define", x);
    value = eval_make_closure(CDR(target), CDR(CDR(x)), env, name);
  } else {
    if (!SCM_IS_SYMBOL(target))
      scm_error("bad define", x);
    name = target;
    value = SCM_IS_PAIR(CDR(CDR(x))) ? eval(CAR(CDR(CDR(x))), env) : SCM_UNSPEC;
    if (SCM_IS_CLOSURE(value) && value->closure.name == SCM_FALSE)
      value->closure.name = name;
  }
  if (env == SCM_NIL) {
    name->symbol.value = value;
    return;
  }
  names = env->frame.names;
  for (i = 0; i < env->frame.length; ++i, names = CDR(names)) {
    if (eval_frame_name(names) == name) {
      env->frame.vals[i] = value;
      return;
    }
  }
  scm_error("define not at the start of a body", name);
}

static obj_t eval_loop(obj_t x, obj_t env)
{
  obj_t f;
  size_t base, argc;

  for (;;) {
    obj_t op;
    size_t form;

    if (SCM_IS_SYMBOL(x))
      return eval_lookup(x, env);
    if (!SCM_IS_PAIR(x))
      return x;

    op = CAR(x);
    form = GLOBAL_COUNT;
    if (SCM_IS_SYMBOL(op) && op->symbol.value == SCM_UNBOUND) {
      /* Special form keywords are never bound as variables here (a
       * local of the same name is not looked for: keywords are
       * reserved). */
      for (form = GLOBAL_QUOTE; form < GLOBAL_COUNT; ++form)
        if (heap_globals[form] == op)
          break;
    }
    eval_check_list(x, "bad syntax (improper list)");

    switch (form) {
    case GLOBAL_QUOTE:
      return eval_cadr(x, "bad quote");

    case GLOBAL_QUASIQUOTE:
      return eval_qq(eval_cadr(x, "bad quasiquote"), env, 0);

    case GLOBAL_IF: {
      obj_t rest = CDR(CDR(x));
      if (!SCM_IS_PAIR(rest))
        scm_error("bad if", x);
      if (SCM_TRUTHY(eval(eval_cadr(x, "bad if"), env)))
        x = CAR(rest);
      else
        x = SCM_IS_PAIR(CDR(rest)) ? CAR(CDR(rest)) : SCM_UNSPEC;
      continue;
    }

    case GLOBAL_DEFINE:
      eval_define(x, env);
      return SCM_UNSPEC;

    case GLOBAL_SET: {
      obj_t sym = eval_cadr(x, "bad set!");
      obj_t value;
      obj_t *slot;
      if (!SCM_IS_SYMBOL(sym) || !SCM_IS_PAIR(CDR(CDR(x))))
        scm_error("bad set!", x);
      value = eval(CAR(CDR(CDR(x))), env);
      slot = eval_slot(sym, env);
      if (*slot == SCM_UNBOUND)
        scm_error("set! of an unbound variable", sym);
      *slot = value;
      return SCM_UNSPEC;
    }

    case GLOBAL_LAMBDA:
      if (!SCM_IS_PAIR(CDR(x)))
        scm_error("bad lambda", x);
      return eval_make_closure(CAR(CDR(x)), CDR(CDR(x)), env, SCM_FALSE);

    case GLOBAL_BEGIN:
      x = eval_body(CDR(x), env);
      continue;

    case GLOBAL_LET: {
      obj_t bindings = eval_cadr(x, "bad let");
      obj_t body = CDR(CDR(x));
      obj_t b;
      size_t n = 0;
      if (SCM_IS_SYMBOL(bindings)) {
        /* Named let: a frame binding the name to a closure over that
         * frame, then a call of the closure. */
        obj_t name = bindings;
        obj_t loop_env;
        if (!SCM_IS_PAIR(body))
          scm_error("bad named let", x);
        bindings = CAR(body);
        body = CDR(body);
        base = heap_vsp;
        for (b = eval_check_list(bindings, "bad named let"); b != SCM_NIL; b = CDR(b)) {
          if (!SCM_IS_PAIR(CAR(b)) || !SCM_IS_PAIR(CDR(CAR(b))))
            scm_error("bad named let binding", CAR(b));
          eval_push(eval(CAR(CDR(CAR(b))), env));
        }
        argc = heap_vsp - base;
        /* CDR(x) is (name bindings . body): a list whose first element is
         * the name, so it serves as the frame's names. */
        loop_env = heap_frame(env, CDR(x), 1, NULL, 0);
        f = eval_make_closure(bindings, body, loop_env, name);
        loop_env->frame.vals[0] = f;
        goto call;
      }
      base = heap_vsp;
      for (b = eval_check_list(bindings, "bad let"); b != SCM_NIL; b = CDR(b)) {
        if (!SCM_IS_PAIR(CAR(b)) || !SCM_IS_SYMBOL(CAR(CAR(b))) || !SCM_IS_PAIR(CDR(CAR(b))))
          scm_error("bad let binding", CAR(b));
        eval_push(eval(CAR(CDR(CAR(b))), env));
        ++n;
      }
      if (n > 0) {
        obj_t frame = heap_frame(env, bindings, n, &heap_vstack[base], n);
        env = frame;
      }
      heap_vsp = base;
      env = eval_body_env(body, env);
      x = eval_body(body, env);
      continue;
    }

    case GLOBAL_LETSTAR: {
      obj_t b = eval_check_list(eval_cadr(x, "bad let*"), "bad let*");
      obj_t body = CDR(CDR(x));
      for (; b != SCM_NIL; b = CDR(b)) {
        obj_t value, frame;
        if (!SCM_IS_PAIR(CAR(b)) || !SCM_IS_SYMBOL(CAR(CAR(b))) || !SCM_IS_PAIR(CDR(CAR(b))))
          scm_error("bad let* binding", CAR(b));
        value = eval(CAR(CDR(CAR(b))), env);
        /* The names are the rest of the binding list: only its first
         * element counts, as the frame has one slot. */
        frame = heap_frame(env, b, 1, &value, 1);
        env = frame;
      }
      env = eval_body_env(body, env);
      x = eval_body(body, env);
      continue;
    }

    case GLOBAL_LETREC:
    case GLOBAL_LETRECSTAR: {
      obj_t bindings = eval_check_list(eval_cadr(x, "bad letrec"), "bad letrec");
      obj_t body = CDR(CDR(x));
      obj_t b;
      size_t n = 0, i;
      for (b = bindings; b != SCM_NIL; b = CDR(b)) {
        if (!SCM_IS_PAIR(CAR(b)) || !SCM_IS_SYMBOL(CAR(CAR(b))) || !SCM_IS_PAIR(CDR(CAR(b))))
          scm_error("bad letrec binding", CAR(b));
        ++n;
      }
      if (n > 0) {
        obj_t frame = heap_frame(env, bindings, n, NULL, 0);
        env = frame;
        for (b = bindings, i = 0; b != SCM_NIL; b = CDR(b), ++i) {
          obj_t value = eval(CAR(CDR(CAR(b))), env);
          if (SCM_IS_CLOSURE(value) && value->closure.name == SCM_FALSE)
            value->closure.name = CAR(CAR(b));
          env->frame.vals[i] = value;
        }
      }
      env = eval_body_env(body, env);
      x = eval_body(body, env);
      continue;
    }

    case GLOBAL_COND: {
      obj_t c;
      for (c = CDR(x); c != SCM_NIL; c = CDR(c)) {
        obj_t clause = CAR(c);
        obj_t test;
        if (!SCM_IS_PAIR(clause))
          scm_error("bad cond clause", clause);
        eval_check_list(clause, "bad cond clause");
        if (CAR(clause) == heap_globals[GLOBAL_ELSE])
          break;
        test = eval(CAR(clause), env);
        if (SCM_TRUTHY(test)) {
          if (CDR(clause) == SCM_NIL)
            return test;
          if (CAR(CDR(clause)) == heap_globals[GLOBAL_ARROW]) {
            f = eval(eval_cadr(CDR(clause), "bad cond =>"), env);
            base = heap_vsp;
            eval_push(test);
            argc = 1;
            goto call;
          }
          break;
        }
      }
      if (c == SCM_NIL)
        return SCM_UNSPEC;
      x = eval_body(CDR(CAR(c)), env);
      continue;
    }

    case GLOBAL_CASE: {
      obj_t key = eval(eval_cadr(x, "bad case"), env);
      obj_t c;
      for (c = CDR(CDR(x)); c != SCM_NIL; c = CDR(c)) {
        obj_t clause = CAR(c);
        obj_t d;
        if (!SCM_IS_PAIR(clause))
          scm_error("bad case clause", clause);
        if (CAR(clause) == heap_globals[GLOBAL_ELSE])
          break;
        for (d = CAR(clause); SCM_IS_PAIR(d); d = CDR(d))
          if (eval_eqv(CAR(d), key))
            break;
        if (SCM_IS_PAIR(d))
          break;
      }
      if (c == SCM_NIL)
        return SCM_UNSPEC;
      x = eval_body(CDR(CAR(c)), env);
      continue;
    }

    case GLOBAL_AND:
    case GLOBAL_OR: {
      obj_t l = CDR(x);
      int is_and = form == GLOBAL_AND;
      if (l == SCM_NIL)
        return SCM_BOOL(is_and);
      while (CDR(l) != SCM_NIL) {
        obj_t v = eval(CAR(l), env);
        if (SCM_TRUTHY(v) != is_and)
          return v;
        l = CDR(l);
      }
      x = CAR(l);
      continue;
    }

    case GLOBAL_WHEN:
    case GLOBAL_UNLESS: {
      obj_t test = eval(eval_cadr(x, "bad when/unless"), env);
      if (SCM_TRUTHY(test) != (form == GLOBAL_WHEN))
        return SCM_UNSPEC;
      x = eval_body(CDR(CDR(x)), env);
      continue;
    }

    case GLOBAL_DO: {
      /* (do ((var init step) ...) (test result ...) body ...): each
       * iteration gets a fresh frame, so closures made in the body
       * capture that iteration's variables. */
      obj_t bindings = eval_check_list(eval_cadr(x, "bad do"), "bad do");
      obj_t exit, body, b;
      size_t n = 0, i;
      if (!SCM_IS_PAIR(CDR(CDR(x))) || !SCM_IS_PAIR(CAR(CDR(CDR(x)))))
        scm_error("bad do", x);
      exit = CAR(CDR(CDR(x)));
      body = CDR(CDR(CDR(x)));
      base = heap_vsp;
      for (b = bindings; b != SCM_NIL; b = CDR(b)) {
        if (!SCM_IS_PAIR(CAR(b)) || !SCM_IS_SYMBOL(CAR(CAR(b))) || !SCM_IS_PAIR(CDR(CAR(b))))
          scm_error("bad do binding", CAR(b));
        eval_push(eval(CAR(CDR(CAR(b))), env));
        ++n;
      }
      for (;;) {
        obj_t frame = heap_frame(env, bindings, n, &heap_vstack[base], n);
        heap_vsp = base;
        if (SCM_TRUTHY(eval(CAR(exit), frame))) {
          env = frame;
          x = eval_body(CDR(exit), env);
          break;
        }
        for (b = body; b != SCM_NIL; b = CDR(b))
          (void)eval(CAR(b), frame);
        for (b = bindings, i = 0; b != SCM_NIL; b = CDR(b), ++i) {
          obj_t step = CDR(CDR(CAR(b)));
          eval_push(SCM_IS_PAIR(step) ? eval(CAR(step), frame) : frame->frame.vals[i]);
        }
      }
      continue;
    }

    default:
      break;
    }

    /* An application. */
    f = eval(op, env);
    base = heap_vsp;
    {
      obj_t a;
      for (a = CDR(x); a != SCM_NIL; a = CDR(a))
        eval_push(eval(CAR(a), env));
    }
    argc = heap_vsp - base;

  call:
    if (SCM_IS_PRIM(f)) {
      const prims_entry_s *entry = &prims_table[f->prim.index];
      obj_t result;
      if (f->prim.index == prims_apply_index) {
        /* (apply f a ... list): spread the list onto the value stack and
         * call f there, in tail position. */
        obj_t list;
        size_t i;
        if (argc < 2)
          scm_error("apply needs a procedure and a list", NULL);
        f = heap_vstack[base];
        list = heap_vstack[base + argc - 1];
        for (i = 1; i + 1 < argc; ++i)
          heap_vstack[base + i - 1] = heap_vstack[base + i];
        heap_vsp = base + argc - 2;
        for (; SCM_IS_PAIR(list); list = CDR(list))
          eval_push(CAR(list));
        if (list != SCM_NIL)
          scm_error("apply needs a proper list", NULL);
        argc = heap_vsp - base;
        goto call;
      }
      if (argc < entry->min_args || argc > entry->max_args)
        scm_error("wrong number of arguments to", f);
      result = entry->fn(argc, &heap_vstack[base]);
      heap_vsp = base;
      return result;
    }
    if (SCM_IS_CLOSURE(f)) {
      size_t nreq = (size_t)SCM_FIXVAL(f->closure.nreq);
      size_t nslots = (size_t)SCM_FIXVAL(f->closure.nslots);
      int rest = f->closure.rest == SCM_TRUE;
      obj_t frame;
      if (argc < nreq || (!rest && argc > nreq))
        scm_error("wrong number of arguments to", f);
      if (rest) {
        obj_t list = SCM_NIL;
        size_t i;
        for (i = argc; i > nreq; --i)
          list = heap_pair(heap_vstack[base + i - 1], list);
        heap_vsp = base + nreq;
        eval_push(list);
        argc = nreq + 1;
      }
      frame = heap_frame(f->closure.env, f->closure.names, nslots, &heap_vstack[base], argc);
      heap_vsp = base;
      env = frame;
      x = eval_body(f->closure.body, env);
      continue;
    }
    scm_error("not a procedure", f);
  }
}

static obj_t eval(obj_t x, obj_t env)
{
  obj_t result;
  char here;
  if (++eval_depth > EVAL_DEPTH_MAX
      || ((uintptr_t)&here < eval_stack_top
          && eval_stack_top - (uintptr_t)&here > EVAL_STACK_MAX))
    scm_error("recursion too deep", NULL);
  result = eval_loop(x, env);
  --eval_depth;
  return result;
}

obj_t eval_toplevel(obj_t expr)
{
  char here;
  eval_stack_top = (uintptr_t)&here;
  eval_depth = 0;
  return eval(expr, SCM_NIL);
}
