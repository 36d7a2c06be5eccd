/* lock.h: binary and recursive locks, and the two global locks (see
 * design/lock.txt and design/thread-safety.txt).
 *
 * A lock is claimed either binarily (lock_claim / lock_release: a thread
 * that already holds it must not claim it so again) or recursively
 * (lock_claim_recursive / lock_release_recursive: nests to any depth up to
 * LOCK_CLAIM_LIMIT).  A recursive claim may also nest inside a binary claim
 * by the same thread, so that a function that claims recursively can be
 * called both from outside and from inside a binary critical section; each
 * release must then match its own claim, innermost first.
 *
 * Every lock records which thread holds it and how many claims that thread
 * has made, in every variety, so that lock_is_held answers for the calling
 * thread and, when checking is on, misuse is reported through the
 * assertion handler: claiming binarily a lock one already holds, releasing
 * a lock one does not hold, a release that does not match the innermost
 * claim, and finishing a lock that is held.  A misuse that is reported
 * leaves the lock exactly as it was (the operating system is not called),
 * so a program whose assertion handler returns can carry on.
 *
 * The storage for a lock is allocated by the client of this module, which
 * asks lock_size() how much is needed; the structure is private to the
 * lock module because its contents differ between platforms.
 */
#ifndef lock_h
#define lock_h

#include "../base/base.h"

typedef struct lock_s *Lock;

/* The deepest nesting of claims a thread may make on one lock.  Deeper
 * nesting is reported as misuse; it guards the count from wrapping. */
#define LOCK_CLAIM_LIMIT ((Count)1 << 24)

/* Bytes needed to hold a lock; any malloc-aligned block of this size. */
size_t lock_size(void);

/* Make `lock` (lock_size() bytes) a lock held by no thread.  Returns
 * MPS_RES_RESOURCE, leaving the memory unused, if the operating system
 * cannot provide one. */
Res lock_init(Lock lock);
/* Destroy a lock that no thread holds. */
void lock_finish(Lock lock);
bool lock_check(Lock lock);

void lock_claim(Lock lock);
void lock_release(Lock lock);
void lock_claim_recursive(Lock lock);
void lock_release_recursive(Lock lock);

/* Whether the calling thread holds `lock` (by any kind of claim). */
bool lock_is_held(Lock lock);

/* The global binary lock and the global recursive lock: no client
 * allocates or initialises them; they are made on first use.  Design
 * rule (thread-safety.txt): do not claim the binary global lock while
 * holding the recursive one. */
void lock_claim_global(void);
void lock_release_global(void);
void lock_claim_global_recursive(void);
void lock_release_global_recursive(void);

/* Fork support (fork.c drives it; design/thread-safety.txt, "Fork
 * safety").  lock_reset makes a lock fresh and free in the child after
 * fork(), whatever claim the parent had on it; lock_global_reset does that
 * for both global locks.  lock_at_fork registers the process's fork
 * handlers, the first time only, on POSIX (a no-op elsewhere), and returns
 * MPS_RES_RESOURCE, having registered nothing, if the system cannot. */
void lock_reset(Lock lock);
void lock_global_reset(void);
Res lock_at_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/* The operating-system layer, provided by exactly one of lock_posix.c,
 * lock_win32.c and lock_single.c, and used only by lock.c.  Each defines
 * `struct lock_os_s`.  lock.c checks the ownership discipline first, so
 * acquire and release are called only for a correct claim or release. */
struct lock_os_s;
bool lock_os_init(struct lock_os_s *os);      /* false: no resources */
void lock_os_finish(struct lock_os_s *os);
/* Make `os` a fresh free lock whatever state it was in, without any call
 * that can fail: for the global locks and for the child after fork(). */
void lock_os_reset(struct lock_os_s *os);
void lock_os_acquire(struct lock_os_s *os);
void lock_os_release(struct lock_os_s *os);
/* Run `init` exactly once in the process, however many threads race to
 * the first use of a global lock; every caller returns after it ran. */
void lock_os_global_once(void (*init)(void));
/* Register fork handlers, the first time only (POSIX); nothing elsewhere.
 * MPS_RES_RESOURCE if the system cannot, with nothing registered. */
Res lock_os_setup(void (*prepare)(void), void (*parent)(void),
                  void (*child)(void));

#endif /* lock_h */
