/* mps.h: the main public interface of mps11, an implementation of the
 * Memory Pool System interface.
 *
 * Names, types and documented behaviour follow the MPS reference manual
 * (manual/topic/interface.rst, error.rst).  Only the general types and
 * result codes are here so far; arenas, pools, allocation points, formats
 * and the rest are added module by module.
 */
#ifndef mps_h
#define mps_h

#include <stddef.h>
#include <limits.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* General types (topic/interface.rst) */

/* A word is as wide as an object pointer; uintptr_t is exactly that on
 * every platform mps11 supports, and unlike `unsigned long` it is also
 * right on 64-bit Windows. */
typedef uintptr_t mps_word_t;
typedef int mps_bool_t;
typedef int mps_res_t;
typedef void *mps_addr_t;
typedef size_t mps_align_t;
typedef mps_word_t mps_clock_t;
typedef void (*mps_fun_t)(void);
typedef mps_word_t mps_label_t;

/* Width of mps_word_t in bits, and its base-2 logarithm. */
#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
#define MPS_WORD_WIDTH 64
#define MPS_WORD_SHIFT 6
#elif UINTPTR_MAX == 0xFFFFFFFFu
#define MPS_WORD_WIDTH 32
#define MPS_WORD_SHIFT 5
#else
#error "mps.h: unsupported word width"
#endif

/* Result codes (topic/error.rst).  The numbering is the one existing
 * clients and telemetry decoders see. */
enum {
  MPS_RES_OK = 0,
  MPS_RES_FAIL = 1,
  MPS_RES_RESOURCE = 2,
  MPS_RES_MEMORY = 3,
  MPS_RES_LIMIT = 4,
  MPS_RES_UNIMPL = 5,
  MPS_RES_IO = 6,
  MPS_RES_COMMIT_LIMIT = 7,
  MPS_RES_PARAM = 8
};

#ifdef __cplusplus
}
#endif

#endif /* mps_h */
