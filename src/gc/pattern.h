/* pattern.h: allocation patterns -- ramps on allocation points and what
 * the collection policy makes of them (manual/topic/pattern.rst,
 * design/strategy.txt "Ramps").
 *
 * Each allocation point keeps a stack of the patterns begun on it and not
 * yet ended (pattern_ap_s, embedded in buffer_s).  The arena counts the
 * allocation points of formatted pools that are inside at least one
 * pattern (pattern_arena_s, embedded in the collector state), and the
 * policy reads the count: chain_due lets the nursery grow further while
 * it is not zero, and trace_poll starts a collection of everything once a
 * ramp_collect_all has ended and no pattern is left.
 *
 * This header includes only base.h: buffer.h and gc.h embed its
 * structures.  Everything here runs with the arena lock held.
 */
#ifndef pattern_h
#define pattern_h

#include "../base/base.h"

#define PATTERN_SIG SIG_MAKE(0x161)

/* Patterns whose order an allocation point keeps, one bit each.  Deeper
 * ones are only counted by kind: pattern.rst says a begin always
 * succeeds, so nesting has no limit, and only the order of ends beyond
 * this depth goes unchecked. */
#define PATTERN_DEPTH_LIMIT WORD_WIDTH

/* An allocation point's patterns.  Embedded in buffer_s, checked by its
 * owner through pattern_ap_check; no signature of its own. */
typedef struct pattern_ap_s {
  Count depth;          /* patterns begun and not ended */
  Word collect_all;     /* bit i: the pattern at depth i + 1 is
                         * ramp_collect_all (else ramp) */
  Count deep_ramp;      /* patterns begun beyond PATTERN_DEPTH_LIMIT: */
  Count deep_collect_all; /* ramps and ramp_collect_alls */
  bool counted;         /* counted in its arena's pattern_arena_s */
} pattern_ap_s;

/* The arena's side.  Embedded in gc_s. */
typedef struct pattern_arena_s {
  Count ramping;        /* allocation points counted (pattern_ap_s) */
  bool full_due;        /* a ramp_collect_all ended since the last
                         * collection of everything */
} pattern_arena_s;

bool pattern_ap_check(pattern_ap_s *pap);
bool pattern_arena_check(pattern_arena_s *parena);
void pattern_arena_init(pattern_arena_s *parena);

/* For buffer.c: a new allocation point has no pattern; one being
 * destroyed ends its patterns (no collection is started for them). */
void pattern_ap_init(pattern_ap_s *pap);
struct buffer_s;
void pattern_ap_finish(struct buffer_s *buffer);

/* For the policy (chain.c, trace.c).  gc may be NULL. */
struct gc_s;
bool pattern_is_ramping(struct gc_s *gc);
/* Whether the collection of everything that a ramp_collect_all asked for
 * should run now (it waits until no allocation point is in a pattern). */
bool pattern_full_collection_due(struct gc_s *gc);
/* A collection of everything has condemned: the request is met. */
void pattern_full_collection_done(struct gc_s *gc);

#endif /* pattern_h */
