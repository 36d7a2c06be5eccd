/* check.h: assertions and structure checking (design/check.txt).
 *
 * Every structure that crosses a module boundary carries a signature word
 * `sig`, set last in its init function and cleared first in its finish
 * function, and has a `<prefix>_check` function returning bool.  Check
 * functions are lists of the structure's invariants:
 *
 *   CHECKS(SIG, p)   p is non-null and p->sig == SIG       (hot and cool)
 *   CHECKL(cond)     a local invariant                      (cool only)
 *   CHECKD(type, p)  recurse: type##_check(p)               (cool only)
 *   CHECKU(SIG, p)   a parent's signature only, never recursing, so that
 *                    parent/child links cannot make checks loop (cool only)
 *
 * Assertions in code:
 *   AVER(cond)           hot and cool; cheap conditions only
 *   AVER_CRITICAL(cond)  cool only; for the allocation and scanning paths
 *   AVERT(type, p)       AVER(type##_check(p)): the signature in hot, the
 *                        full check in cool
 *
 * In rash nothing is evaluated, but every condition is still compiled
 * inside sizeof so disabled checks keep type-checking and cannot rot.
 *
 * A failed check calls the plinth's assertion handler with file, line and
 * condition (check_fail).  If the handler returns -- the documented hot
 * behaviour -- execution continues, and a check function that found a
 * failure still returns true so the enclosing AVERT does not report twice.
 */
#ifndef check_h
#define check_h

#include "base.h"

/* Report a failed check.  Returns only if the installed handler returns. */
COLD void check_fail(const char *file, unsigned line, const char *condition);

#define CHECK_NOEVAL(cond) ((void)sizeof((cond) ? 1 : 0))

#define CHECK_REPORT(cond) \
  ((cond) ? (void)0 : check_fail(__FILE__, (unsigned)__LINE__, #cond))

#if CHECK_LEVEL >= 1
#define AVER(cond) CHECK_REPORT(cond)
#define AVERT(type, p) CHECK_REPORT(type##_check(p))
#define CHECKS(signature, p) CHECK_REPORT((p) != NULL && (p)->sig == (signature))
#else
#define AVER(cond) CHECK_NOEVAL(cond)
#define AVERT(type, p) CHECK_NOEVAL(type##_check(p))
#define CHECKS(signature, p) CHECK_NOEVAL((p) != NULL && (p)->sig == (signature))
#endif

#if CHECK_LEVEL >= 2
#define AVER_CRITICAL(cond) CHECK_REPORT(cond)
#define CHECKL(cond) CHECK_REPORT(cond)
#define CHECKD(type, p) CHECK_REPORT(type##_check(p))
#define CHECKU(signature, p) CHECK_REPORT((p) != NULL && (p)->sig == (signature))
#else
#define AVER_CRITICAL(cond) CHECK_NOEVAL(cond)
#define CHECKL(cond) CHECK_NOEVAL(cond)
#define CHECKD(type, p) CHECK_NOEVAL(type##_check(p))
#define CHECKU(signature, p) CHECK_NOEVAL((p) != NULL && (p)->sig == (signature))
#endif

/* Code that must never run; reported in every checking variety. */
#define NOTREACHED \
  check_fail(__FILE__, (unsigned)__LINE__, "unreachable code reached")

/* Signatures are distinct words; each module defines its own as
 * SIG_MAKE(n) with a module-unique n, so that a stale or foreign pointer is
 * unlikely to carry a valid one.  SIG_INVALID is stored by finish
 * functions. */
#define SIG_MAKE(n) ((Sig)(0x519E0000u + (n)))
#define SIG_INVALID ((Sig)0x51915BADu)

#endif /* check_h */
