/* gcobj.h: a test object format for the collector, a heap verifier built
 * on the public walking interface, and a shadow graph that tells a test
 * what the heap must look like.  Used by stress_gc (linked in as a stress
 * support file), fuzz_gc and test_gc_client (which include gcobj.c).
 *
 * Everything goes through the public interface (mps.h); nothing here knows
 * how the collector works inside.  See gcobj.c for the object layout.
 */
#ifndef gcobj_h
#define gcobj_h

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../include/mps.h"

/* Limits of the object layout: at most GCOBJ_MAX_REFS reference slots,
 * and fewer than GCOBJ_MAX_DATA data words. */
#define GCOBJ_MAX_REFS 255u
#define GCOBJ_MAX_DATA ((size_t)1 << 20)
/* Alignment of the format: one word, so that one-word pads occur. */
#define GCOBJ_ALIGN sizeof(mps_word_t)
/* "No object" in the shadow graph. */
#define GCOBJ_NONE UINT32_MAX

/* The size in bytes of an object with nrefs slots and ndata data words. */
size_t gcobj_size(size_t nrefs, size_t ndata);

/* Create the format (scan, skip, forward, is-forwarded, pad). */
mps_res_t gcobj_fmt_create(mps_fmt_t *fmt_o, mps_arena_t arena);

/* Allocate an object through ap, with the given id, nrefs reference slots
 * (initialized from refs[0..nrefs) if refs is not null, else null) and
 * ndata data words derived from id.  refs is read again on every attempt
 * of the reserve/commit loop, so it must be memory the collector keeps
 * up to date (a root, or the stack of a thread registered as a root). */
mps_res_t gcobj_alloc(mps_addr_t *p_o, mps_ap_t ap, mps_word_t id,
                      size_t nrefs, size_t ndata, mps_addr_t const *refs);

/* Read an object (which must be a formatted object, not a pad). */
mps_word_t gcobj_id(mps_addr_t obj);
size_t gcobj_nrefs(mps_addr_t obj);
size_t gcobj_ndata(mps_addr_t obj);
mps_addr_t gcobj_ref(mps_addr_t obj, size_t i);
void gcobj_set_ref(mps_addr_t obj, size_t i, mps_addr_t ref);
/* Is the word at obj the header of an object (not a pad or forwarding
 * marker) whose data words are intact? */
bool gcobj_intact(mps_addr_t obj);

/* ---- The heap verifier ---------------------------------------------- */

/* A pool objects may live in; a leaf pool's objects have no slots. */
typedef struct gcobj_pool_s {
  mps_pool_t pool;
  bool leaf;
} gcobj_pool_s;

typedef struct gcobj_census_entry_s {
  mps_addr_t addr;
  mps_addr_t limit;
  mps_pool_t pool;
  mps_word_t id;          /* 0 for a pad */
  size_t nrefs;
  size_t first_ref;       /* index of its first slot in census->refs */
} gcobj_census_entry_s;

typedef struct gcobj_census_s {
  gcobj_census_entry_s *entries;  /* every object and pad walked, by address */
  size_t count, capacity;
  mps_addr_t *refs;               /* copies of every slot, walk order */
  size_t nrefs, refs_capacity;
  size_t objects, pads;           /* how many of each were walked */
  size_t object_bytes, pad_bytes;
  bool failed;                    /* set during the walk, message says why */
  char message[256];
} gcobj_census_s;

/* Walk every formatted object in the arena, which the caller has parked
 * (no mutator may change the heap meanwhile), and check: every object is
 * in one of pools[0..npools), a well-formed object or pad, intact (data
 * words match its id), with no slots if its pool is a leaf pool; objects
 * do not overlap; ids are unique; no forwarding marker is left; every
 * non-null slot holds the base of a walked object (not a pad), and
 * mps_addr_pool agrees with the walk about that object's pool.  Returns
 * true if all hold; else false with census->message saying what failed.
 * The census stays valid (for gcobj_census_find) until finished. */
bool gcobj_verify(mps_arena_t arena, const gcobj_pool_s *pools, size_t npools,
                  gcobj_census_s *census);
/* The entry of the object or pad starting at addr, or null. */
const gcobj_census_entry_s *gcobj_census_find(const gcobj_census_s *census, mps_addr_t addr);
void gcobj_census_finish(gcobj_census_s *census);

/* ---- The shadow graph ----------------------------------------------- */

/* What one object must look like: its id and shape, and for each slot the
 * record of the object it must refer to (or GCOBJ_NONE for null). */
typedef struct gcobj_mobj_s {
  mps_word_t id;          /* 0 when the record is free */
  uint32_t *edges;        /* nrefs entries */
  uint32_t nrefs;
  uint32_t ndata;
  bool movable;           /* in a moving pool (AMC, AMCZ) */
  mps_addr_t last;        /* where a check last found it, or null */
  uint32_t epoch;         /* the check or sweep that last reached it */
  uint32_t next_free;
} gcobj_mobj_s;

/* A pointer the mutator keeps only ambiguously: the base of the record's
 * object when it was stored, and the offset actually stored. */
typedef struct gcobj_mambig_s {
  uint32_t rec;           /* GCOBJ_NONE when the slot holds no pointer */
  mps_addr_t base;
  size_t offset;
  bool keeps_alive;       /* a reference the pool promises to honour */
} gcobj_mambig_s;

typedef struct gcobj_model_s {
  gcobj_mobj_s *objs;
  size_t capacity;
  uint32_t free_head;
  size_t live;            /* records in use */
  uint32_t *roots;        /* nroots: the record each exact root slot refers to */
  size_t nroots;
  gcobj_mambig_s *ambig;  /* nambig */
  size_t nambig;
  uint32_t epoch;
  uint32_t *stack;        /* traversal stack, capacity entries */
  /* 1 (the default): every check reads every reached object's data.
   * n > 1: an object found where the check before found it has only its
   * first and last data words read, except at every n-th check; one that
   * moved or is new is read whole.  A copy is then checked whole as it
   * happens, and damage in place is still found, a few checks late (a
   * fuzz target whose checks run after every step sets this, and 1 again
   * for its last check). */
  unsigned data_every;
  /* statistics of checks */
  unsigned long checks, reached, moved, pinned;
  char message[256];
} gcobj_model_s;

/* Room for capacity objects of at most max_refs slots each. */
bool gcobj_model_init(gcobj_model_s *model, size_t capacity, size_t max_refs,
                      size_t nroots, size_t nambig);
void gcobj_model_finish(gcobj_model_s *model);
/* A new record (its edges all GCOBJ_NONE), or GCOBJ_NONE if the model is
 * full (gcobj_model_sweep may make room). */
uint32_t gcobj_model_new(gcobj_model_s *model, mps_word_t id, size_t nrefs,
                         size_t ndata, bool movable);
/* Free every record not reachable from the roots or from ambiguous
 * pointers that keep their objects alive; returns how many were freed. */
size_t gcobj_model_sweep(gcobj_model_s *model);
/* Check the heap against the model: follow the actual exact root slots
 * roots[0..nroots) and the recorded ambiguous pointers, and require each
 * object reached to have the model's id, shape and intact data, and each
 * slot to refer to the object the model says (compared by id, since
 * objects move), each object to be found at one address, and objects kept
 * by ambiguous pointers to be where they were when the pointer was
 * stored.  Counts objects reached, objects that moved since the check
 * before, and movable objects found pinned.  Nothing may move during the
 * check: call it with the arena parked, or from the only mutator thread
 * with no call into the library meanwhile (the addresses it has seen then
 * stay valid, since a mutator never sees a reference the collector could
 * still move in that collection).  Returns false with model->message on
 * the first mismatch. */
bool gcobj_model_check(gcobj_model_s *model, mps_addr_t const *roots);

#endif /* gcobj_h */
