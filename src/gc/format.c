/* format.c: object formats -- creating and destroying them, the
 * deprecated creation forms, and what pool classes need from them
 * (format.h; manual/topic/format.rst, manual/topic/deprecated.rst).
 *
 * A format is inert data: the collector never calls a format method
 * itself; the pool classes do, on objects in their own segments.  So all
 * this module checks is that the description is well formed and that it
 * is not destroyed while a pool still uses it.
 *
 * Invariants (format_check):
 *   1. the signature is FORMAT_SIG and the arena is genuine;
 *   2. the format is on its arena's format ring;
 *   3. the alignment is a power of two, no larger than the arena grain
 *      (no pool can align an object beyond its own grains);
 *   4. the header is smaller than a grain (an object starts at its
 *      header, which must lie in the same segment as the object).
 */

#include "format.h"
#include "../base/args.h"
#include "../pool/pool.h"

bool format_check(Format format)
{
  CHECKS(FORMAT_SIG, format);                                     /* 1 */
  CHECKU(ARENA_SIG, format->arena);
  CHECKL(!ring_is_single(&format->gc_ring));                      /* 2 */
  CHECKL(size_is_p2(format->alignment));                          /* 3 */
  CHECKL(format->alignment <= format->arena->grain_size);
  CHECKL(format->header_size < format->arena->grain_size);        /* 4 */
  return true;
}

/* The fields of a format before it is made, so that every creation form
 * (keyword or deprecated structure) goes through one checked path. */
typedef struct format_desc_s {
  Align alignment;
  Size header_size;
  mps_fmt_scan_t scan;
  mps_fmt_skip_t skip;
  mps_fmt_fwd_t fwd;
  mps_fmt_isfwd_t isfwd;
  mps_fmt_pad_t pad;
  mps_fmt_class_t klass;
} format_desc_s;

static void format_desc_init(format_desc_s *desc)
{
  mem_set(desc, 0, sizeof *desc);
  desc->alignment = (Align)MPS_PF_ALIGN;
  desc->header_size = 0;
}

/* Make a format from a description.  A bad alignment or header size is
 * a client error: reported, then refused with MPS_RES_PARAM.  Called with
 * the arena lock held. */
static Res format_create(Format *format_o, Arena arena, const format_desc_s *desc)
{
  GC gc;
  Format format;
  void *p;
  Res res;

  AVER(format_o != NULL);
  AVERT(arena, arena);
  AVER(size_is_p2(desc->alignment));
  AVER(desc->alignment <= arena->grain_size);
  AVER(desc->header_size < arena->grain_size);
  /* Pools would lay objects out by this alignment, so a bad one is
   * refused after the report (user-guide.md, varieties). */
  if (!size_is_p2(desc->alignment) || desc->alignment > arena->grain_size
      || desc->header_size >= arena->grain_size)
    return MPS_RES_PARAM;

  res = gc_get(&gc, arena);
  if (res != MPS_RES_OK)
    return res;
  res = arena_control_alloc(&p, arena, sizeof(mps_fmt_s));
  if (res != MPS_RES_OK)
    return res;
  format = p;
  format->arena = arena;
  ring_init(&format->gc_ring);
  format->serial = gc->format_serial++;
  format->pools = 0;
  format->alignment = desc->alignment;
  format->header_size = desc->header_size;
  format->scan = desc->scan;
  format->skip = desc->skip;
  format->fwd = desc->fwd;
  format->isfwd = desc->isfwd;
  format->pad = desc->pad;
  format->klass = desc->klass;
  ring_append(&gc->format_ring, &format->gc_ring);
  ++gc->formats_count;
  format->sig = FORMAT_SIG;
  AVERT(format, format);
  *format_o = format;
  return MPS_RES_OK;
}

static Res format_create_entered(mps_fmt_t *fmt_o, mps_arena_t arena,
                                 const format_desc_s *desc)
{
  Format format = NULL;   /* gcc -O2 cannot tell it is set when res is OK */
  Res res;
  AVER(fmt_o != NULL);
  if (fmt_o == NULL)
    return MPS_RES_PARAM;
  arena_enter(arena);
  res = format_create(&format, arena, desc);
  arena_leave(arena);
  if (res == MPS_RES_OK)
    *fmt_o = format;
  return res;
}

mps_res_t mps_fmt_create_k(mps_fmt_t *fmt_o, mps_arena_t arena, mps_arg_s args[])
{
  format_desc_s desc;
  mps_arg_s arg;

  AVER(fmt_o != NULL);
  AVERT(args, args);
  format_desc_init(&desc);
  if (args_pick(&arg, args, MPS_KEY_FMT_ALIGN))
    desc.alignment = (Align)arg.val.align;
  if (args_pick(&arg, args, MPS_KEY_FMT_HEADER_SIZE))
    desc.header_size = arg.val.size;
  if (args_pick(&arg, args, MPS_KEY_FMT_SCAN))
    desc.scan = arg.val.fmt_scan;
  if (args_pick(&arg, args, MPS_KEY_FMT_SKIP))
    desc.skip = arg.val.fmt_skip;
  if (args_pick(&arg, args, MPS_KEY_FMT_FWD))
    desc.fwd = arg.val.fmt_fwd;
  if (args_pick(&arg, args, MPS_KEY_FMT_ISFWD))
    desc.isfwd = arg.val.fmt_isfwd;
  if (args_pick(&arg, args, MPS_KEY_FMT_PAD))
    desc.pad = arg.val.fmt_pad;
  if (args_pick(&arg, args, MPS_KEY_FMT_CLASS))
    desc.klass = arg.val.fmt_class;
  return format_create_entered(fmt_o, arena, &desc);
}

/* The deprecated forms.  Their `copy` method has been unused since the
 * collector learned to copy objects itself, so it is ignored. */

mps_res_t mps_fmt_create_A(mps_fmt_t *fmt_o, mps_arena_t arena, mps_fmt_A_s *fmt_A)
{
  format_desc_s desc;
  AVER(fmt_A != NULL);
  if (fmt_A == NULL)
    return MPS_RES_PARAM;
  format_desc_init(&desc);
  desc.alignment = (Align)fmt_A->align;
  desc.scan = fmt_A->scan;
  desc.skip = fmt_A->skip;
  desc.fwd = fmt_A->fwd;
  desc.isfwd = fmt_A->isfwd;
  desc.pad = fmt_A->pad;
  return format_create_entered(fmt_o, arena, &desc);
}

mps_res_t mps_fmt_create_B(mps_fmt_t *fmt_o, mps_arena_t arena, mps_fmt_B_s *fmt_B)
{
  format_desc_s desc;
  AVER(fmt_B != NULL);
  if (fmt_B == NULL)
    return MPS_RES_PARAM;
  format_desc_init(&desc);
  desc.alignment = (Align)fmt_B->align;
  desc.scan = fmt_B->scan;
  desc.skip = fmt_B->skip;
  desc.fwd = fmt_B->fwd;
  desc.isfwd = fmt_B->isfwd;
  desc.pad = fmt_B->pad;
  desc.klass = fmt_B->mps_class;
  return format_create_entered(fmt_o, arena, &desc);
}

mps_res_t mps_fmt_create_auto_header(mps_fmt_t *fmt_o, mps_arena_t arena,
                                     mps_fmt_auto_header_s *fmt_ah)
{
  format_desc_s desc;
  AVER(fmt_ah != NULL);
  if (fmt_ah == NULL)
    return MPS_RES_PARAM;
  format_desc_init(&desc);
  desc.alignment = (Align)fmt_ah->align;
  desc.scan = fmt_ah->scan;
  desc.skip = fmt_ah->skip;
  desc.fwd = fmt_ah->fwd;
  desc.isfwd = fmt_ah->isfwd;
  desc.pad = fmt_ah->pad;
  desc.header_size = fmt_ah->mps_headerSize;
  return format_create_entered(fmt_o, arena, &desc);
}

/* Fixed-size objects have no skip method: the pool knows their size. */
mps_res_t mps_fmt_create_fixed(mps_fmt_t *fmt_o, mps_arena_t arena,
                               mps_fmt_fixed_s *fmt_fixed)
{
  format_desc_s desc;
  AVER(fmt_fixed != NULL);
  if (fmt_fixed == NULL)
    return MPS_RES_PARAM;
  format_desc_init(&desc);
  desc.alignment = (Align)fmt_fixed->align;
  desc.scan = fmt_fixed->scan;
  desc.fwd = fmt_fixed->fwd;
  desc.isfwd = fmt_fixed->isfwd;
  desc.pad = fmt_fixed->pad;
  return format_create_entered(fmt_o, arena, &desc);
}

void mps_fmt_destroy(mps_fmt_t fmt)
{
  Arena arena;
  GC gc;
  AVER(fmt != NULL && fmt->sig == FORMAT_SIG);
  /* A stale or foreign handle: nothing of it can be trusted, not even
   * its arena, so there is nothing to do after the report. */
  if (fmt == NULL || fmt->sig != FORMAT_SIG)
    return;
  arena = fmt->arena;
  arena_enter(arena);
  AVERT(format, fmt);
  /* Pools call the format's methods until they are destroyed: refuse,
   * so that the client can destroy them and then try again. */
  AVER(fmt->pools == 0);
  gc = gc_of(arena);
  AVER(gc != NULL && gc->formats_count > 0);
  if (fmt->pools != 0 || gc == NULL || gc->formats_count == 0) {
    arena_leave(arena);
    return;
  }
  fmt->sig = SIG_INVALID;
  ring_remove(&fmt->gc_ring);
  ring_finish(&fmt->gc_ring);
  --gc->formats_count;
  arena_control_free(arena, fmt, sizeof(mps_fmt_s));
  arena_leave(arena);
}

mps_bool_t mps_addr_fmt(mps_fmt_t *fmt_o, mps_arena_t arena, mps_addr_t addr)
{
  Pool pool;
  Format format = NULL;
  AVER(fmt_o != NULL);
  arena_enter(arena);
  pool = arena_pool_of_addr(arena, addr_of_ptr(addr));
  if (pool != NULL)
    format = pool->format;
  arena_leave(arena);
  if (format == NULL)
    return 0;
  *fmt_o = format;
  return 1;
}

/* Whether the format has the method each letter of `needs` names. */
static bool format_has(Format format, const char *needs)
{
  for (; *needs != '\0'; ++needs) {
    switch (*needs) {
    case 's': if (format->scan == NULL) return false; break;
    case 'k': if (format->skip == NULL) return false; break;
    case 'f': if (format->fwd == NULL) return false; break;
    case 'i': if (format->isfwd == NULL) return false; break;
    case 'p': if (format->pad == NULL) return false; break;
    default: NOTREACHED; return false;
    }
  }
  return true;
}

Res format_acquire(Format *format_o, Arena arena, mps_arg_s args[], const char *needs,
                   bool optional)
{
  mps_arg_s arg;
  Format format;

  AVER(format_o != NULL);
  AVERT(arena, arena);
  AVER(needs != NULL);
  if (!args_pick(&arg, args, MPS_KEY_FORMAT)) {
    if (!optional)
      return MPS_RES_PARAM;        /* required (the pool's manual page) */
    *format_o = NULL;
    return MPS_RES_OK;
  }
  format = arg.val.format;
  AVERT(format, format);
  AVER(format->arena == arena);    /* a format serves one arena */
  /* Refused in rash too: the pool would count itself a user of a format
   * that its own arena's destruction does not check, so the format could
   * be freed with the other arena while the pool still calls it. */
  if (format->arena != arena || !format_has(format, needs))
    return MPS_RES_PARAM;
  ++format->pools;
  *format_o = format;
  return MPS_RES_OK;
}

void format_release(Format format)
{
  AVERT(format, format);
  AVER(format->pools > 0);
  --format->pools;
}
