/* model.h: FUZZ_MODEL, for a target's own model and checking code.
 *
 * Such a function is compiled without libFuzzer's coverage
 * instrumentation (clang's no_sanitize("coverage"); the sanitizers stay
 * on).  Its loops scan whole tables after every operation, so
 * instrumented they cost most of a run, and libFuzzer counted their trip
 * counts as features: inputs that differed only in how long the model
 * scanned were kept, and the corpus grew with them.  Coverage should
 * measure the library, not the checker.
 *
 * It is also never inlined: clang inlines such a function into an
 * instrumented caller, where its loops are instrumented after all.  A
 * small helper the model calls in its inner loops is better left
 * unmarked: inlined there, it is not instrumented, and as a call it would
 * cost more than it saves.
 */
#ifndef fuzz_model_h
#define fuzz_model_h

#if defined(__clang__)
#define FUZZ_MODEL __attribute__((no_sanitize("coverage"), noinline))
#else
#define FUZZ_MODEL
#endif

/* FUZZ_MODEL for every function between the two, for model code a target
 * includes whole from a support file it shares with the tests (the heap
 * verifier and shadow graph of stress/support/gcobj.c), which cannot carry
 * fuzzing annotations itself.  These may be inlined into each other (their
 * inner loops call small helpers); the target calls the big ones from its
 * own FUZZ_MODEL checks. */
#if defined(__clang__)
#define FUZZ_MODEL_BEGIN                                                       \
  _Pragma("clang attribute push(__attribute__((no_sanitize(\"coverage\"))), apply_to = function)")
#define FUZZ_MODEL_END _Pragma("clang attribute pop")
#else
#define FUZZ_MODEL_BEGIN
#define FUZZ_MODEL_END
#endif

#endif /* fuzz_model_h */
