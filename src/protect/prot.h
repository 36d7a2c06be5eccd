/* prot.h: the memory-protection backend interface the shield drives (see
 * design/prot.txt).
 *
 * A backend is an object: a `struct prot_s` holding a table of functions,
 * embedded first in the backend's own structure.  The shield is given one
 * at init, so protection state (and, for the recording backend, what it
 * recorded) belongs to the arena that owns the shield, not to the process.
 *
 * A protection mode is the set of accesses that are *denied*; the names
 * say so, and keep clear of the POSIX PROT_READ/PROT_WRITE, which grant.
 *
 * Backends: prot_none.c protects nothing and records the last mode set on
 * every address range, for tests.  Hardware backends come later.
 */
#ifndef prot_h
#define prot_h

#include "../base/base.h"
#include "../base/check.h"

typedef unsigned ProtMode;

#define PROT_DENY_NONE  ((ProtMode)0)
#define PROT_DENY_READ  ((ProtMode)1)  /* may also deny writes (prot.txt) */
#define PROT_DENY_WRITE ((ProtMode)2)
#define PROT_DENY_ALL   (PROT_DENY_READ | PROT_DENY_WRITE)

#define PROT_SIG SIG_MAKE(0x58)

typedef struct prot_s *Prot;

typedef struct prot_class_s {
  const char *name;
  /* Once per backend object, before the first set.  MPS_RES_* on
   * failure of the system, leaving the backend unset-up. */
  Res (*setup)(Prot prot);
  /* Deny the accesses in `mode` to [base, limit), and allow the others. */
  void (*set)(Prot prot, Addr base, Addr limit, ProtMode mode);
} ProtClassStruct;

typedef const ProtClassStruct *ProtClass;

struct prot_s {
  Sig sig;
  ProtClass klass;
};

static inline bool prot_mode_check(ProtMode mode)
{
  return (mode & ~PROT_DENY_ALL) == 0;
}

static inline bool prot_check(Prot prot)
{
  CHECKS(PROT_SIG, prot);
  CHECKL(prot->klass != NULL);
  CHECKL(prot->klass->setup != NULL && prot->klass->set != NULL);
  return true;
}

/* For backends' init functions: the generic part, signature last. */
static inline void prot_init(Prot prot, ProtClass klass)
{
  AVER(prot != NULL);
  AVER(klass != NULL && klass->setup != NULL && klass->set != NULL);
  prot->klass = klass;
  prot->sig = PROT_SIG;
}

static inline void prot_finish(Prot prot)
{
  AVERT(prot, prot);
  prot->sig = SIG_INVALID;
  prot->klass = NULL;
}

static inline Res prot_setup(Prot prot)
{
  AVERT(prot, prot);
  return prot->klass->setup(prot);
}

static inline void prot_set(Prot prot, Addr base, Addr limit, ProtMode mode)
{
  AVERT(prot, prot);
  AVER(addr_word(base) < addr_word(limit));
  AVER(prot_mode_check(mode));
  prot->klass->set(prot, base, limit, mode);
}

/* The recording backend (prot_none.c).  It protects nothing: it keeps,
 * as a map from addresses to modes, the last mode set on every address, so
 * that a test can compare it with what the shield believes.  The map holds
 * only protected ranges, disjoint and sorted, with equal neighbours merged,
 * so a handful of segments needs a handful of entries.  If a set would need
 * more than PROT_NONE_RANGES entries, the set is not recorded and
 * prot_none_overflowed says so from then on. */
#define PROT_NONE_RANGES 64
#define PROT_NONE_SIG SIG_MAKE(0x59)

typedef struct prot_none_range_s {
  Addr base, limit;
  ProtMode mode;                /* never PROT_DENY_NONE */
} ProtNoneRangeStruct;

typedef struct prot_none_s *ProtNone;

typedef struct prot_none_s {
  struct prot_s prot;           /* the generic part, first */
  Sig sig;
  bool set_up;                  /* prot_setup has been called */
  Count ranges;
  ProtNoneRangeStruct range[PROT_NONE_RANGES];
  Count sets;                   /* how many times set was called */
  bool overflowed;
} ProtNoneStruct;

/* Make `pn` a backend with every address unprotected; return its Prot. */
Prot prot_none_init(ProtNone pn);
void prot_none_finish(ProtNone pn);
bool prot_none_check(ProtNone pn);
/* Whether every address in [base, limit) has mode `mode`. */
bool prot_none_is(ProtNone pn, Addr base, Addr limit, ProtMode mode);
/* The number of calls of set so far. */
Count prot_none_sets(ProtNone pn);
bool prot_none_overflowed(ProtNone pn);

#endif /* prot_h */
