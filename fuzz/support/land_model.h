/* land_model.h: a naive model of a land, shared by the land fuzz targets
 * (fuzz_cbs, fuzz_freelist, fuzz_failover).
 *
 * The model is a real, aligned buffer divided into units of the land's
 * alignment, with one flag per unit saying whether the land should hold
 * it.  Real memory, because the freelist writes its list into the ranges
 * it holds.  land_model_run decodes fuzz input into land operations, only
 * ever inserting units the model says are absent, applies each to the land
 * and to the model, and compares results, the land's size and (by
 * iteration) its exact set of isolated ranges after every step, and asks
 * land_overlaps of a range the step names against the model.  Any
 * mismatch aborts.
 */
#ifndef land_model_h
#define land_model_h

#include <stddef.h>
#include <stdint.h>

#include "../../src/data/land.h"

/* How the land reacts when the harness makes node allocation fail. */
typedef enum land_model_fail_e {
  LAND_MODEL_FAIL_NEVER,   /* the land needs no memory (freelist) */
  LAND_MODEL_FAIL_REPORT,  /* an insert or delete that needs a new node
                              returns MPS_RES_MEMORY and changes nothing
                              (CBS) */
  LAND_MODEL_FAIL_ABSORB   /* every operation succeeds anyway (failover) */
} land_model_fail_e;

typedef struct land_model_s {
  Byte *buffer;           /* units * align bytes, aligned to 4096 */
  Align align;
  size_t units;
  unsigned char *present; /* one flag per unit */
  size_t total;           /* number of units present */
  land_model_fail_e fail_mode;
  /* Called with true before an operation whose input asks for allocation
   * failure and with false after it; NULL if fail_mode is NEVER. */
  void (*set_fail)(void *closure, bool fail);
  void *fail_closure;
  /* Extra consistency check of the land (e.g. cbs_check_deep), or NULL. */
  bool (*check)(void *closure);
  void *check_closure;
} land_model_s;

/* Allocate the buffer and flags for `bytes` of memory in units of `align`
 * (a power of two).  Aborts if memory is short. */
void land_model_init(land_model_s *model, Align align, size_t bytes,
                     land_model_fail_e fail_mode);
void land_model_finish(land_model_s *model);

/* The address of unit `unit` (units may equal model->units). */
Addr land_model_addr(land_model_s *model, size_t unit);

/* Empty the model. */
void land_model_clear(land_model_s *model);

/* Run the operations encoded in data[0..size) on `land`, which must start
 * empty (as must the model) and have the model's alignment.  Every step
 * is checked. */
void land_model_run(land_model_s *model, Land land, const uint8_t *data,
                    size_t size);

/* Compare the land with the model: its size, its isolated ranges (by
 * iteration, in address order), land_check and the model's check hook. */
void land_model_compare(land_model_s *model, Land land);

#endif /* land_model_h */
