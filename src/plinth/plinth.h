/* plinth.h: what the library uses of the plinth beyond mpslib.h.
 *
 * The ANSI plinth (plinth_ansi.c) reports a failed check through the
 * handler installed with mps_lib_assert_fail_install, which takes file,
 * line and condition separately.  With CONFIG_PLINTH_NONE the client's
 * mps_lib_assert_fail(message) is used instead (see check.c).
 */
#ifndef plinth_h
#define plinth_h

#include "../../include/mpslib.h"

#ifndef CONFIG_PLINTH_NONE
void plinth_assert_fail(const char *file, unsigned line, const char *condition);
#endif

#endif /* plinth_h */
