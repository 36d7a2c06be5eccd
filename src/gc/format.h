/* format.h: object formats (manual/topic/format.rst).
 *
 * A format is the client's description of its objects: the methods the
 * collector calls to scan, skip, forward, recognise forwarding markers,
 * pad, and classify them.  With a header size h, the client's references
 * point h bytes after the start of each object in memory, and the methods
 * take and return such client addresses; pools convert with
 * format_client / format_base.
 *
 * Methods the client did not supply are NULL here (pools that need one
 * refuse the format with MPS_RES_PARAM at pool creation).
 */
#ifndef format_h
#define format_h

#include "gc.h"

#define FORMAT_SIG SIG_MAKE(0x123)

typedef struct mps_fmt_s {
  Sig sig;
  Arena arena;
  struct ring_s gc_ring;       /* in gc->format_ring */
  Count serial;
  Count pools;                 /* pools using it: destroy needs 0 */
  Align alignment;             /* MPS_KEY_FMT_ALIGN, a power of two */
  Size header_size;            /* MPS_KEY_FMT_HEADER_SIZE */
  mps_fmt_scan_t scan;
  mps_fmt_skip_t skip;
  mps_fmt_fwd_t fwd;
  mps_fmt_isfwd_t isfwd;
  mps_fmt_pad_t pad;
  mps_fmt_class_t klass;
} mps_fmt_s;

bool format_check(Format format);

/* For pool classes: take MPS_KEY_FORMAT from args (required unless
 * `optional`), check it has the methods `needs` lists (a string of
 * letters: 's'can, 'k' skip, 'f'wd, 'i'sfwd, 'p'ad), and count the pool
 * as a user.  format_release undoes it at pool finish. */
Res format_acquire(Format *format_o, Arena arena, mps_arg_s args[], const char *needs,
                   bool optional);
void format_release(Format format);

static inline Addr format_client(Format format, Addr base)
{
  return addr_add(base, format->header_size);
}
static inline Addr format_base(Format format, Addr client)
{
  return addr_sub(client, format->header_size);
}

#endif /* format_h */
