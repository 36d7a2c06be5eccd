/* scheme.h: the shared definitions of the Scheme interpreter demo.
 *
 * A small Scheme whose every heap object lives in memory managed by the
 * garbage collector: scanned objects in an AMC pool, leaf objects
 * (strings, flonums) in an AMCZ pool, the bucket vectors of weak hash
 * tables in an AWL pool.  Only the public headers are used.
 *
 * Values.  A value is one word (obj_t).  Its two low bits say what it is:
 *   ...x1  a fixnum: the integer is the word shifted right by one;
 *   ...10  an immediate: the empty list, #f, #t, characters and a few
 *          markers; bits 2-3 give the kind, the bits above the payload;
 *   ...00  a pointer to a heap object (never null in a live value).
 * Heap objects are word aligned, so pointers always have a zero tag, and
 * a scanner fixes exactly the words whose tag is zero and that are not
 * null (SCM_IS_PTR).  The collector sees fixnums and immediates only as
 * ambiguous words on the stack, where any value is allowed.
 *
 * Heap objects start with a type word (enum scm_type).  Every object is
 * at least two words long, so that it can be replaced by a forwarding
 * object of two words (TYPE_FWD2) when it moves.
 */
#ifndef scheme_h
#define scheme_h

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../include/mps.h"

typedef union scm_obj_u *obj_t;

/* ---- Tagged values ---------------------------------------------------- */

#define SCM_TAG_MASK ((mps_word_t)3)
#define SCM_TAG_PTR ((mps_word_t)0)
#define SCM_TAG_IMM ((mps_word_t)2)

#define SCM_WORD(o) ((mps_word_t)(o))
#define SCM_IS_PTR(o) ((SCM_WORD(o) & SCM_TAG_MASK) == SCM_TAG_PTR && (o) != NULL)
#define SCM_IS_FIX(o) ((SCM_WORD(o) & 1) != 0)

/* The fixnum range is half the word's range, so the sum or difference of
 * two fixnums always fits in an intptr_t before it is range-checked. */
#define SCM_FIX_MAX (INTPTR_MAX >> 1)
#define SCM_FIX_MIN (-SCM_FIX_MAX - 1)
#define SCM_FIX(n) ((obj_t)(((mps_word_t)(intptr_t)(n) << 1) | 1))
/* Arithmetic right shift of a negative value is implementation-defined;
 * dividing the even part by two is not. */
#define SCM_FIXVAL(o) (((intptr_t)(SCM_WORD(o) - 1)) / 2)

enum { SCM_IMM_SPECIAL = 0, SCM_IMM_CHAR = 1 };
#define SCM_IMM(kind, payload) \
  ((obj_t)(((mps_word_t)(payload) << 4) | ((mps_word_t)(kind) << 2) | SCM_TAG_IMM))
#define SCM_IS_IMM(o) ((SCM_WORD(o) & SCM_TAG_MASK) == SCM_TAG_IMM)
#define SCM_IMM_KIND(o) ((SCM_WORD(o) >> 2) & 3)
#define SCM_IMM_PAYLOAD(o) (SCM_WORD(o) >> 4)

#define SCM_NIL SCM_IMM(SCM_IMM_SPECIAL, 0)
#define SCM_FALSE SCM_IMM(SCM_IMM_SPECIAL, 1)
#define SCM_TRUE SCM_IMM(SCM_IMM_SPECIAL, 2)
#define SCM_UNSPEC SCM_IMM(SCM_IMM_SPECIAL, 3)  /* value of (if #f #f) */
#define SCM_EOF SCM_IMM(SCM_IMM_SPECIAL, 4)
#define SCM_UNBOUND SCM_IMM(SCM_IMM_SPECIAL, 5) /* unset variable */
/* Markers in hash table buckets; never the value of an expression. */
#define SCM_EMPTY_SLOT SCM_IMM(SCM_IMM_SPECIAL, 6)
#define SCM_DELETED_SLOT SCM_IMM(SCM_IMM_SPECIAL, 7)
#define SCM_CHAR(c) SCM_IMM(SCM_IMM_CHAR, (unsigned char)(c))
#define SCM_IS_CHAR(o) (SCM_IS_IMM(o) && SCM_IMM_KIND(o) == SCM_IMM_CHAR)
#define SCM_CHARVAL(o) ((int)SCM_IMM_PAYLOAD(o))
#define SCM_BOOL(b) ((b) ? SCM_TRUE : SCM_FALSE)
#define SCM_TRUTHY(o) ((o) != SCM_FALSE)

/* ---- Heap objects ----------------------------------------------------- */

typedef mps_word_t scm_type_t;

enum scm_type {
  TYPE_PAIR = 0x51,   /* odd values, so that a stray fixnum or pointer in */
  TYPE_SYMBOL = 0x53, /* a type word is less likely to pass for a type */
  TYPE_VECTOR = 0x55,
  TYPE_CLOSURE = 0x57,
  TYPE_PRIM = 0x59,
  TYPE_FRAME = 0x5B,
  TYPE_STRING = 0x5D, /* AMCZ */
  TYPE_FLONUM = 0x5F, /* AMCZ */
  TYPE_FWD2 = 0x61,   /* forwarding object of two words */
  TYPE_FWD = 0x63,    /* forwarding object of three words or more */
  TYPE_PAD1 = 0x65,   /* padding object of one word */
  TYPE_PAD = 0x67,    /* padding object of two words or more */
  TYPE_TABLE = 0x69,  /* an eq? hash table (AMC) */
  TYPE_BUCKETS = 0x6B, /* a table's keys or values: AMC, or AWL if weak */
  TYPE_PORT = 0x6D    /* an input port (AMC) */
};

typedef struct scm_pair_s {
  scm_type_t type;
  obj_t car, cdr;
} scm_pair_s;

/* The global value lives in the symbol: the global environment is the
 * symbol table. */
typedef struct scm_symbol_s {
  scm_type_t type;
  obj_t name;  /* a string */
  obj_t value; /* global value, or SCM_UNBOUND */
} scm_symbol_s;

typedef struct scm_vector_s {
  scm_type_t type;
  size_t length;
  obj_t elems[]; /* length of them */
} scm_vector_s;

/* names is a proper list: the required parameters, then the rest
 * parameter if rest is #t, then the names of the body's internal
 * definitions.  A call makes a frame with one slot per name. */
typedef struct scm_closure_s {
  scm_type_t type;
  obj_t names;
  obj_t body;  /* list of forms */
  obj_t env;   /* a frame, or SCM_NIL for the global environment */
  obj_t name;  /* a symbol, or #f */
  obj_t nreq;  /* fixnum */
  obj_t rest;  /* #t or #f */
  obj_t nslots; /* fixnum: length of names */
} scm_closure_s;

typedef struct scm_prim_s {
  scm_type_t type;
  size_t index; /* into prims_table; not a reference */
} scm_prim_s;

typedef struct scm_frame_s {
  scm_type_t type;
  size_t length;
  obj_t parent; /* a frame, or SCM_NIL */
  obj_t names;  /* proper list of symbols, at least length long */
  obj_t vals[]; /* length of them */
} scm_frame_s;

typedef struct scm_string_s {
  scm_type_t type;
  size_t length;
  char chars[]; /* length + 1 of them: NUL terminated */
} scm_string_s;

/* The double is kept as bytes so that every object needs only word
 * alignment (a double may need more on some 32-bit targets). */
typedef struct scm_flonum_s {
  scm_type_t type;
  unsigned char bytes[sizeof(double)];
} scm_flonum_s;

/* An eq? hash table: open addressing with linear probing over two
 * parallel bucket vectors, keys and values, so that each can have its own
 * rank (a weak table keeps its weak side on a weak allocation point of the
 * AWL pool).  Keys are hashed by their address, so the table depends on
 * where its keys are: ld records that dependency (heap.c, "Tables").  ld
 * holds no references and is never scanned. */
typedef struct scm_table_s {
  scm_type_t type;
  obj_t weak;   /* fixnum: HEAP_WEAK_KEYS and HEAP_WEAK_VALUES bits */
  obj_t keys;   /* buckets */
  obj_t values; /* buckets */
  mps_ld_s ld;
} scm_table_s;

/* Every word but the type word is a tagged value or a reference, so an
 * object of an AWL pool never holds a bare integer (manual/pool/awl.rst,
 * "Caution").  A slot holds a value, SCM_EMPTY_SLOT (never used) or
 * SCM_DELETED_SLOT (deleted, or its weak key or value died). */
typedef struct scm_buckets_s {
  scm_type_t type;
  obj_t dependent; /* the other vector of the same table, or NULL */
  obj_t length;    /* fixnum: number of slots, a power of two */
  obj_t used;      /* fixnum: slots that are not SCM_EMPTY_SLOT */
  obj_t slots[];
} scm_buckets_s;

/* stream is a C pointer, not a reference: the scanner leaves it alone. */
typedef struct scm_port_s {
  scm_type_t type;
  obj_t name;   /* a string */
  FILE *stream; /* NULL once closed */
} scm_port_s;

typedef struct scm_fwd2_s {
  scm_type_t type;
  obj_t fwd;
} scm_fwd2_s;

typedef struct scm_fwd_s {
  scm_type_t type;
  obj_t fwd;
  size_t size;
} scm_fwd_s;

typedef struct scm_pad1_s {
  scm_type_t type;
} scm_pad1_s;

typedef struct scm_pad_s {
  scm_type_t type;
  size_t size;
} scm_pad_s;

typedef union scm_obj_u {
  scm_type_t type;
  scm_pair_s pair;
  scm_symbol_s symbol;
  scm_vector_s vector;
  scm_closure_s closure;
  scm_prim_s prim;
  scm_frame_s frame;
  scm_string_s string;
  scm_flonum_s flonum;
  scm_table_s table;
  scm_buckets_s buckets;
  scm_port_s port;
  scm_fwd2_s fwd2;
  scm_fwd_s fwd;
  scm_pad1_s pad1;
  scm_pad_s pad;
} scm_obj_u;

#define SCM_TYPE(o) ((o)->type)
#define SCM_HAS_TYPE(o, t) (SCM_IS_PTR(o) && SCM_TYPE(o) == (t))
#define SCM_IS_PAIR(o) SCM_HAS_TYPE(o, TYPE_PAIR)
#define SCM_IS_SYMBOL(o) SCM_HAS_TYPE(o, TYPE_SYMBOL)
#define SCM_IS_STRING(o) SCM_HAS_TYPE(o, TYPE_STRING)
#define SCM_IS_VECTOR(o) SCM_HAS_TYPE(o, TYPE_VECTOR)
#define SCM_IS_FLONUM(o) SCM_HAS_TYPE(o, TYPE_FLONUM)
#define SCM_IS_CLOSURE(o) SCM_HAS_TYPE(o, TYPE_CLOSURE)
#define SCM_IS_PRIM(o) SCM_HAS_TYPE(o, TYPE_PRIM)
#define SCM_IS_TABLE(o) SCM_HAS_TYPE(o, TYPE_TABLE)
#define SCM_IS_PORT(o) SCM_HAS_TYPE(o, TYPE_PORT)
#define SCM_IS_NUMBER(o) (SCM_IS_FIX(o) || SCM_IS_FLONUM(o))

#define CAR(o) ((o)->pair.car)
#define CDR(o) ((o)->pair.cdr)

/* Objects are word aligned; every size handed to the collector is a
 * multiple of the word. */
#define SCM_ALIGN ((size_t)sizeof(mps_word_t))
#define SCM_ALIGN_UP(n) (((n) + SCM_ALIGN - 1) & ~(SCM_ALIGN - 1))

/* ---- heap.c: the collector's client ----------------------------------- */

typedef struct heap_options_s {
  size_t nursery_kb; /* capacity of generation 0 */
  int verbose_gc;    /* print each collection as its message arrives */
} heap_options_s;

extern void heap_init(const heap_options_s *opts, void *stack_cold);
extern void heap_finish(void);
extern obj_t heap_pair(obj_t car, obj_t cdr);
extern obj_t heap_symbol(obj_t name);
extern obj_t heap_vector(size_t length, obj_t fill);
extern obj_t heap_closure(obj_t names, obj_t body, obj_t env, obj_t name, size_t nreq,
                          int rest, size_t nslots);
extern obj_t heap_prim(size_t index);
/* A frame whose first nargs slots come from args (which may point into
 * the value stack: it is read after the allocation) and the rest are
 * SCM_UNBOUND. */
extern obj_t heap_frame(obj_t parent, obj_t names, size_t length, const obj_t *args,
                        size_t nargs);
extern obj_t heap_string(const char *chars, size_t length);
/* A string of length bytes, all NUL, for the caller to fill at once. */
extern obj_t heap_string_blank(size_t length);
extern obj_t heap_flonum(double d);
extern double heap_flonum_value(obj_t flonum);
extern obj_t heap_intern(const char *name);
extern obj_t heap_intern_string(obj_t string);
extern void heap_messages_drain(void);

/* Hash tables keyed by identity (eq?).  Each function takes its
 * arguments as a window of the value stack (an exact root), which it
 * reads again after anything that allocates. */
enum { HEAP_WEAK_KEYS = 1, HEAP_WEAK_VALUES = 2 };
extern obj_t heap_table(int weak);
/* args: table, key; whether the key is present, its value in *value_o. */
extern int heap_table_ref(obj_t *args, obj_t *value_o);
/* args: table, key, value. */
extern void heap_table_set(obj_t *args);
/* args: table, key; whether the key was there. */
extern int heap_table_delete(obj_t *args);
extern size_t heap_table_count(obj_t table);
/* args: table; a fresh list of the keys present. */
extern obj_t heap_table_keys(obj_t *args);
/* How many times a table was rehashed because its location dependency
 * was stale (for the statistics). */
extern unsigned long heap_table_stale_rehashes(void);

/* Input ports.  An open port is registered for finalization, so a port
 * dropped without being closed has its file closed once it dies. */
extern obj_t heap_port_open(obj_t *name_arg);
extern void heap_port_close(obj_t *port_arg);
/* Finalization messages received (each for a port). */
extern unsigned long heap_ports_finalized(void);
extern void heap_collect(void);
extern unsigned long heap_collections(void);
/* Walk the heap checking every object; returns the number walked. */
extern size_t heap_walk_check(void);
extern void heap_stats_print(FILE *stream);

/* The value stack: an exact root holding arguments being evaluated. */
extern obj_t *heap_vstack;
extern size_t heap_vsp;
extern size_t heap_vstack_size;

/* Global references the interpreter keeps in C: an exact root. */
enum {
  GLOBAL_QUOTE, GLOBAL_QUASIQUOTE, GLOBAL_UNQUOTE, GLOBAL_UNQUOTE_SPLICING,
  GLOBAL_LAMBDA, GLOBAL_DEFINE, GLOBAL_IF, GLOBAL_SET, GLOBAL_BEGIN, GLOBAL_LET,
  GLOBAL_LETSTAR, GLOBAL_LETREC, GLOBAL_LETRECSTAR, GLOBAL_COND, GLOBAL_ELSE,
  GLOBAL_ARROW, GLOBAL_AND, GLOBAL_OR, GLOBAL_WHEN, GLOBAL_UNLESS, GLOBAL_DO,
  GLOBAL_CASE, GLOBAL_COUNT
};
extern obj_t heap_globals[GLOBAL_COUNT];

/* ---- read.c ----------------------------------------------------------- */

/* A source of characters: a stream or a string. */
typedef struct read_src_s {
  FILE *file;      /* or NULL */
  const char *str; /* when file is NULL */
  size_t pos;
  int pushed;      /* a pushed-back character, or EOF */
} read_src_s;
extern void read_src_file(read_src_s *src, FILE *file);
extern void read_src_string(read_src_s *src, const char *str);

/* Read one datum; SCM_EOF at end of input.  Syntax errors call
 * scm_error. */
extern obj_t read_datum(read_src_s *src);
/* Skip the rest of the current line (after an error at the REPL). */
extern void read_skip_line(read_src_s *src);

/* ---- print.c ---------------------------------------------------------- */

extern void print_obj(obj_t obj, int write, FILE *stream);
/* The external representation of a number, as number->string makes it. */
extern void print_number(obj_t num, char *buf, size_t size);

/* ---- eval.c ----------------------------------------------------------- */

extern obj_t eval_toplevel(obj_t expr);

/* ---- prims.c ---------------------------------------------------------- */

typedef obj_t (*prims_fn_t)(size_t argc, obj_t *argv);
typedef struct prims_entry_s {
  const char *name;
  prims_fn_t fn;
  size_t min_args;
  size_t max_args; /* PRIMS_VARIADIC for no limit */
} prims_entry_s;
#define PRIMS_VARIADIC ((size_t)-1)
extern const prims_entry_s prims_table[];
extern const size_t prims_count;
extern size_t prims_apply_index; /* index of apply, which eval handles */
extern void prims_install(void);
extern double prims_to_double(obj_t num);

/* ---- main.c ----------------------------------------------------------- */

/* Report an error about obj (which may be NULL) and return to the
 * toplevel.  Never called between mps_reserve and mps_commit. */
extern _Noreturn void scm_error(const char *message, obj_t obj);
extern _Noreturn void scm_fatal(const char *message);
/* Tear down the heap (printing statistics if asked) and exit. */
extern _Noreturn void scm_exit(int code);

#endif /* scheme_h */
