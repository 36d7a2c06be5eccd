/* model.h: FUZZ_MODEL, for a target's own model and checking code.
 *
 * Such a function is compiled without libFuzzer's coverage
 * instrumentation (clang's no_sanitize("coverage"); the sanitizers stay
 * on).  Its loops scan whole tables after every operation, so
 * instrumented they cost most of a run, and libFuzzer counted their trip
 * counts as features: inputs that differed only in how long the model
 * scanned were kept, and the corpus grew with them.  Coverage should
 * measure the library, not the checker.
 */
#ifndef fuzz_model_h
#define fuzz_model_h

#if defined(__clang__)
#define FUZZ_MODEL __attribute__((no_sanitize("coverage")))
#else
#define FUZZ_MODEL
#endif

#endif /* fuzz_model_h */
