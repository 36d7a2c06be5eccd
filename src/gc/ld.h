/* ld.h: the collector's side of location dependency -- the arena's
 * epoch and its history of moved zones (manual/topic/location.rst,
 * design/arena.txt "Location dependencies").
 *
 * An epoch is a count of the flips of traces that could move objects.
 * The history says, for each of the last few epochs, which zones held
 * objects that may have moved since then; an older epoch is judged by
 * the union of everything that ever moved.  The client's mps_ld_s (two
 * words in mps.h) holds the epoch of its last reset and the zones of the
 * addresses added since.
 *
 * The history is written only at the flip, with the arena lock held; it
 * is read by mps_ld_add / mps_ld_isstale without the lock (location.rst
 * makes them cheap and thread-safe), so its words are atomics.  ld.c
 * says which orders and why.
 *
 * This header does not include gc.h: gc.h embeds ld_history_s in the
 * collector's state.
 */
#ifndef ld_h
#define ld_h

#include <stdatomic.h>

#include "../base/base.h"

#define LD_HISTORY_SIG SIG_MAKE(0x160)

/* Epochs the history distinguishes.  A location dependency reset within
 * the last LD_HISTORY_LENGTH - 1 epochs is judged by the zones moved
 * since its own epoch; an older one by every zone that ever moved. */
#define LD_HISTORY_LENGTH 8

typedef struct ld_history_s {
  Sig sig;
  _Atomic Word epoch;                          /* flips that could move */
  _Atomic Word prehistory;                     /* zones that ever moved */
  _Atomic Word history[LD_HISTORY_LENGTH];     /* [e % length]: zones moved
                                                * since epoch e */
} ld_history_s;

bool ld_history_check(ld_history_s *history);
/* For gc_get and the gc's finish: epoch 0, nothing moved yet. */
void ld_history_init(ld_history_s *history);
void ld_history_finish(ld_history_s *history);

/* The tracer's hook at the flip of `trace` (arena lock held, mutator
 * stopped, before any object moves): if the trace condemned segments
 * whose objects may move, record their zones and start a new epoch. */
struct trace_s;
void ld_trace_flip(struct trace_s *trace);

#endif /* ld_h */
