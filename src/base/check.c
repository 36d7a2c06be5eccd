/* check.c: the failure path of the checking macros (see check.h).
 *
 * With the ANSI plinth, the installed handler receives file, line and
 * condition separately (mps_lib_assert_fail_install).  A client that
 * replaces the plinth (CONFIG_PLINTH_NONE) provides the documented
 * mps_lib_assert_fail(message), so the three are formatted into one
 * message here, on the stack: the failure path must not allocate.
 */
#include "check.h"
#include "../plinth/plinth.h"

#ifdef CONFIG_PLINTH_NONE
static char *check_append(char *out, char *end, const char *s)
{
  while (*s != '\0' && out < end)
    *out++ = *s++;
  return out;
}

static char *check_append_unsigned(char *out, char *end, unsigned n)
{
  char digits[3 * sizeof n + 1];
  size_t i = 0;
  do {
    digits[i++] = (char)('0' + n % 10);
    n /= 10;
  } while (n != 0);
  while (i > 0 && out < end)
    *out++ = digits[--i];
  return out;
}
#endif

void check_fail(const char *file, unsigned line, const char *condition)
{
#ifdef CONFIG_PLINTH_NONE
  char message[512];
  char *end = message + sizeof message - 1;
  char *out = check_append(message, end, file);
  out = check_append(out, end, ":");
  out = check_append_unsigned(out, end, line);
  out = check_append(out, end, ": MPS ASSERTION FAILED: ");
  out = check_append(out, end, condition);
  *out = '\0';
  mps_lib_assert_fail(message);
#else
  plinth_assert_fail(file, line, condition);
#endif
}
