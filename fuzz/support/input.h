/* input.h: reading a fuzz input as a stream of bytes, for the targets
 * that decode their operations byte by byte.  An input may end anywhere:
 * fuzz_input_take8 reads zeros past its end, so a decoder needs no length
 * test of its own; fuzz_input_next says when it has ended, for decoders
 * that stop there.  Header only. */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fuzz_input_s {
  const uint8_t *data;
  size_t size;              /* bytes left */
} fuzz_input_s;

/* The next byte in *out, or false when the input is used up. */
static inline bool fuzz_input_next(fuzz_input_s *in, unsigned *out)
{
  if (in->size == 0)
    return false;
  *out = *in->data++;
  --in->size;
  return true;
}

/* The next byte, or zero when the input is used up. */
static inline unsigned fuzz_input_take8(fuzz_input_s *in)
{
  unsigned b = 0;
  (void)fuzz_input_next(in, &b);
  return b;
}

/* The next two bytes, the first the low one. */
static inline unsigned fuzz_input_take16(fuzz_input_s *in)
{
  unsigned low = fuzz_input_take8(in);
  return low | fuzz_input_take8(in) << 8;
}

#endif /* FUZZ_INPUT_H */
