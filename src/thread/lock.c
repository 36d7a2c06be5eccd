/* lock.c: the platform-independent half of the lock module: ownership,
 * claim counting, misuse detection and the global locks (see
 * design/lock.txt, design/thread-safety.txt and lock.h).  The blocking
 * itself is done by the operating-system layer in lock_posix.c,
 * lock_win32.c or lock_single.c, which src/mps.c includes before this
 * file so that `struct lock_os_s` is complete here.
 *
 * Thread identity: the address of a _Thread_local byte.  Each live thread
 * has its own copy, so the address is distinct among live threads; it
 * needs no operating-system call and is never 0, which stands for "no
 * owner".  (A thread that has exited may have its address reused by a new
 * thread, but a lock held by an exited thread is already a client error.)
 *
 * Invariants of a lock (lock_check cites them):
 *   lock.inv.sig      the signature is LOCK_SIG.
 *   lock.inv.free     owner == 0 exactly when no thread holds the lock,
 *                     and then count == 0 (checked only by the holder: see
 *                     below).
 *   lock.inv.count    while held, 1 <= count <= LOCK_CLAIM_LIMIT.
 *   lock.inv.binary   `binary` says the outermost claim was lock_claim;
 *                     binary claims never nest, so at most that one of
 *                     the count claims is binary.  (Enforced where claims
 *                     are made and released; it is not a relation between
 *                     fields that a check could test.)
 *
 * Memory ordering.  The operating-system lock orders everything done
 * inside a critical section before everything done inside the next one,
 * so `count` and `binary`, which only the holder reads or writes, are plain
 * fields.  `owner` is atomic because threads that do not hold the lock read
 * it: to ask whether they hold it themselves (lock_is_held, the misuse
 * checks) or in lock_check.  Relaxed order is enough for every access:
 *  - only the holder writes its own identity, and clears it before
 *    releasing; by coherence a thread's load sees its own latest store or a
 *    later one, and any later store is by another thread and so is 0 or
 *    that thread's identity.  So a thread reads its own identity exactly
 *    when it holds the lock, whatever the order of other threads' stores;
 *  - a value read by a non-holder is used only to say "not mine", so
 *    seeing a stale one does no harm;
 *  - the store of 0 comes before lock_os_release, and the next holder
 *    reads owner after lock_os_acquire, so the operating system's
 *    release/acquire pair already makes the 0 visible to it.
 */
#include <stdatomic.h>

#include "lock.h"
#include "../base/check.h"

#define LOCK_SIG SIG_MAKE(0x50)

struct lock_s {
  Sig sig;
  _Atomic(uintptr_t) owner;     /* identity of the holder, or 0 */
  Count count;                  /* claims by the holder; holder only */
  bool binary;                  /* outermost claim binary; holder only */
  struct lock_os_s os;
};

static _Thread_local char lock_thread_tag;

static uintptr_t lock_self(void)
{
  return (uintptr_t)(void *)&lock_thread_tag;
}

static uintptr_t lock_owner(Lock lock)
{
  /* relaxed: see "Memory ordering" above. */
  return atomic_load_explicit(&lock->owner, memory_order_relaxed);
}

static void lock_set_owner(Lock lock, uintptr_t owner)
{
  /* relaxed: the holder's own stores; see "Memory ordering" above. */
  atomic_store_explicit(&lock->owner, owner, memory_order_relaxed);
}

/* LOCK_OBEYED(cond): true if the discipline condition holds; if it does
 * not, report it like a failed AVER and yield false, so the caller can
 * return without touching the lock -- a program whose handler returns
 * then finds the lock just as it was.  In rash nothing is checked. */
#if CHECK_LEVEL >= 1
#define LOCK_OBEYED(cond) \
  ((cond) ? true : (check_fail(__FILE__, (unsigned)__LINE__, #cond), false))
#else
#define LOCK_OBEYED(cond) (CHECK_NOEVAL(cond), true)
#endif

bool lock_check(Lock lock)
{
  CHECKS(LOCK_SIG, lock);                          /* lock.inv.sig */
  /* Only the holder can read count and binary without a race, so the
   * other invariants are checked when the caller is the holder. */
  if (lock != NULL && lock_owner(lock) == lock_self()) {
    CHECKL(lock->count >= 1);                      /* lock.inv.count */
    CHECKL(lock->count <= LOCK_CLAIM_LIMIT);       /* lock.inv.count */
  }
  return true;
}

size_t lock_size(void)
{
  return sizeof(struct lock_s);
}

/* Make a free lock whose OS part is already initialised. */
static void lock_fields_init(Lock lock)
{
  /* relaxed: no other thread can know of the lock before init returns,
   * and the client's publication of it supplies the ordering. */
  atomic_init(&lock->owner, (uintptr_t)0);
  lock->count = 0;                                 /* lock.inv.free */
  lock->binary = false;
  lock->sig = LOCK_SIG;
}

Res lock_init(Lock lock)
{
  AVER(lock != NULL);
  if (!lock_os_init(&lock->os))
    return MPS_RES_RESOURCE;
  lock_fields_init(lock);
  AVERT(lock, lock);
  return MPS_RES_OK;
}

void lock_finish(Lock lock)
{
  AVERT(lock, lock);
  if (!LOCK_OBEYED(lock_owner(lock) == 0))         /* lock.inv.free */
    return;
  lock->sig = SIG_INVALID;
  lock_os_finish(&lock->os);
}

/* Take the OS lock and record the first claim. */
static void lock_take(Lock lock, uintptr_t self, bool binary)
{
  lock_os_acquire(&lock->os);
  /* The previous holder cleared owner before its release, which the
   * acquire above has made visible. */
  AVER(lock_owner(lock) == 0);                     /* lock.inv.free */
  AVER(lock->count == 0);                          /* lock.inv.free */
  lock->count = 1;
  lock->binary = binary;
  lock_set_owner(lock, self);
}

/* Forget the last claim and give up the OS lock. */
static void lock_give(Lock lock)
{
  lock->count = 0;
  lock->binary = false;
  lock_set_owner(lock, 0);                         /* before the release */
  lock_os_release(&lock->os);
}

void lock_claim(Lock lock)
{
  uintptr_t self = lock_self();
  AVERT(lock, lock);
  /* A binary claim by the holder would wait for itself for ever. */
  if (!LOCK_OBEYED(lock_owner(lock) != self))
    return;
  lock_take(lock, self, true);
}

void lock_release(Lock lock)
{
  AVERT(lock, lock);
  if (!LOCK_OBEYED(lock_owner(lock) == lock_self()))
    return;
  /* Only the outermost binary claim may be released binarily, and only
   * once the recursive claims nested inside it are released. */
  if (!LOCK_OBEYED(lock->binary && lock->count == 1))  /* lock.inv.binary */
    return;
  lock_give(lock);
}

void lock_claim_recursive(Lock lock)
{
  uintptr_t self = lock_self();
  AVERT(lock, lock);
  if (lock_owner(lock) == self) {
    if (!LOCK_OBEYED(lock->count < LOCK_CLAIM_LIMIT))  /* lock.inv.count */
      return;
    ++lock->count;
    return;
  }
  lock_take(lock, self, false);
}

void lock_release_recursive(Lock lock)
{
  AVERT(lock, lock);
  if (!LOCK_OBEYED(lock_owner(lock) == lock_self()))
    return;
  /* With a binary outermost claim, the last claim is binary and must be
   * released with lock_release. */
  if (!LOCK_OBEYED(!lock->binary || lock->count > 1))  /* lock.inv.binary */
    return;
  if (lock->count > 1)
    --lock->count;
  else
    lock_give(lock);
}

bool lock_is_held(Lock lock)
{
  AVERT(lock, lock);
  return lock_owner(lock) == lock_self();
}

/* The global locks.  They are the library's one piece of global state
 * besides the assertion handler: they need no allocation, and are
 * initialised by whichever thread first uses one, exactly once (the OS
 * layer's once primitive also orders the initialisation before every
 * use).  Initialising them cannot fail, so the claims need no Res. */
static struct lock_s lock_global_binary;
static struct lock_s lock_global_recursive;

static void lock_global_init(void)
{
  lock_os_reset(&lock_global_binary.os);
  lock_fields_init(&lock_global_binary);
  lock_os_reset(&lock_global_recursive.os);
  lock_fields_init(&lock_global_recursive);
}

static Lock lock_global(Lock which)
{
  lock_os_global_once(lock_global_init);
  return which;
}

void lock_claim_global(void)
{
  lock_claim(lock_global(&lock_global_binary));
}

void lock_release_global(void)
{
  lock_release(lock_global(&lock_global_binary));
}

void lock_claim_global_recursive(void)
{
  lock_claim_recursive(lock_global(&lock_global_recursive));
}

void lock_release_global_recursive(void)
{
  lock_release_recursive(lock_global(&lock_global_recursive));
}

/* After fork(): the child's only thread is a copy of the one that forked,
 * which held every lock across the fork (fork.c).  Some platforms refuse
 * to unlock a mutex there (it records the parent's thread as its owner),
 * so a lock is made afresh instead, free, keeping nothing of the parent's
 * claim. */
void lock_reset(Lock lock)
{
  AVERT(lock, lock);
  lock_os_reset(&lock->os);
  lock_fields_init(lock);
}

void lock_global_reset(void)
{
  lock_os_global_once(lock_global_init);   /* so the once is not pending */
  lock_global_init();
}

Res lock_at_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
  AVER(prepare != NULL && parent != NULL && child != NULL);
  return lock_os_setup(prepare, parent, child);
}
