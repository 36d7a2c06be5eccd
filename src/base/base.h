/* base.h: the types and address arithmetic every module uses.
 *
 * Addresses are an opaque pointer type so that arithmetic on them is only
 * done through the helpers below, which keeps pointer/integer conversions
 * in one place.  Sizes, counts and indexes are size_t; Word is as wide as a
 * pointer (mps_word_t).
 */
#ifndef base_h
#define base_h

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../include/mps.h"
#include "config.h"

/* The C library's memory functions.  Built without the ANSI plinth
 * (CONFIG_PLINTH_NONE), the library needs nothing of the C library but
 * what the client's plinth supplies (plinth.rst), so they go through
 * mps_lib_memcpy and its kin; otherwise straight to the C library, which
 * lets the compiler expand the small ones inline. */
#ifdef CONFIG_PLINTH_NONE
#include "../../include/mpslib.h"
#define mem_copy(dest, src, n) ((void)mps_lib_memcpy((dest), (src), (n)))
#define mem_set(dest, c, n) ((void)mps_lib_memset((dest), (c), (n)))
#define mem_cmp(a, b, n) mps_lib_memcmp((a), (b), (n))
#else
#include <string.h>
#define mem_copy(dest, src, n) ((void)memcpy((dest), (src), (n)))
#define mem_set(dest, c, n) ((void)memset((dest), (c), (n)))
#define mem_cmp(a, b, n) memcmp((a), (b), (n))
#endif

/* The length of a string, which the plinth does not offer. */
static inline size_t str_length(const char *s)
{
  size_t n = 0;
  while (s[n] != '\0')
    ++n;
  return n;
}

typedef mps_word_t Word;
typedef unsigned char Byte;
typedef struct addr_opaque *Addr;   /* never dereferenced */
typedef size_t Size;
typedef size_t Align;               /* always a positive power of two */
typedef size_t Count;
typedef size_t Index;
typedef unsigned Shift;
typedef mps_res_t Res;
typedef Word Sig;                   /* structure signature, see check.h */

#define WORD_WIDTH ((Count)MPS_WORD_WIDTH)
#define WORD_SHIFT ((Shift)MPS_WORD_SHIFT)

/* The public platform interface (mpstd.h) must agree with the word this
 * library uses and with config.h's choice of platform modules: checked
 * here, so that every build, the cross-compiled ones included, checks it. */
_Static_assert(sizeof(MPS_T_WORD) == sizeof(Word) && sizeof(Word) == sizeof(void *),
               "mpstd.h: MPS_T_WORD is not a word");
_Static_assert(sizeof(Word) * CHAR_BIT == MPS_WORD_WIDTH
               && ((Word)1 << MPS_WORD_SHIFT) == MPS_WORD_WIDTH,
               "mpstd.h: MPS_WORD_WIDTH or MPS_WORD_SHIFT is wrong");
#if defined(PLATFORM_WIN32) != defined(MPS_OS_W3)
#error "mpstd.h and config.h disagree about Windows"
#endif
#define WORD_ONES ((Word)~(Word)0)

/* Sizes and alignments */
static inline bool size_is_p2(Size s) { return s != 0 && (s & (s - 1)) == 0; }
static inline bool size_is_aligned(Size s, Align a) { return (s & (a - 1)) == 0; }
static inline Size size_align_up(Size s, Align a) { return (s + a - 1) & ~(a - 1); }
static inline Size size_align_down(Size s, Align a) { return s & ~(a - 1); }

/* Addresses */
static inline Word addr_word(Addr a) { return (Word)(uintptr_t)a; }
static inline Addr addr_of_word(Word w) { return (Addr)(uintptr_t)w; }
static inline Addr addr_of_ptr(void *p) { return (Addr)p; }
static inline void *addr_ptr(Addr a) { return (void *)a; }
static inline Addr addr_add(Addr a, Size s) { return addr_of_word(addr_word(a) + s); }
static inline Addr addr_sub(Addr a, Size s) { return addr_of_word(addr_word(a) - s); }
/* Size of [base, limit); base must not exceed limit. */
static inline Size addr_offset(Addr base, Addr limit)
{
  return (Size)(addr_word(limit) - addr_word(base));
}
static inline bool addr_is_aligned(Addr a, Align al) { return (addr_word(a) & (al - 1)) == 0; }
static inline Addr addr_align_up(Addr a, Align al)
{
  return addr_of_word((addr_word(a) + al - 1) & ~(Word)(al - 1));
}
static inline Addr addr_align_down(Addr a, Align al)
{
  return addr_of_word(addr_word(a) & ~(Word)(al - 1));
}
static inline Addr addr_min(Addr a, Addr b) { return addr_word(a) < addr_word(b) ? a : b; }
static inline Addr addr_max(Addr a, Addr b) { return addr_word(a) > addr_word(b) ? a : b; }

/* Words */
static inline Size size_min(Size a, Size b) { return a < b ? a : b; }
static inline Size size_max(Size a, Size b) { return a > b ? a : b; }

/* The index of the lowest set bit of a non-zero word. */
static inline Shift word_lowest_bit(Word m)
{
#if defined(__GNUC__) || defined(__clang__)
  return (Shift)__builtin_ctzll((unsigned long long)m);
#else
  Shift i = 0;
  while ((m & 1) == 0) {
    m >>= 1;
    ++i;
  }
  return i;
#endif
}

/* The index of the highest set bit of a non-zero word: floor(log2 m). */
static inline Shift word_highest_bit(Word m)
{
#if defined(__GNUC__) || defined(__clang__)
  return (Shift)(63 - __builtin_clzll((unsigned long long)m));
#else
  Shift i = 0;
  while ((m >>= 1) != 0)
    ++i;
  return i;
#endif
}

/* Mark a parameter or variable used only in some varieties. */
#define UNUSED(x) ((void)(x))

/* Containing structure of a member pointer (for intrusive rings, trees). */
#define PARENT(type, field, p) \
  ((type *)(void *)((char *)(p) - offsetof(type, field)))

#endif /* base_h */
