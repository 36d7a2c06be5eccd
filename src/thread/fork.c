/* fork.c: the process's fork handlers and the ring of registrations they
 * call (see fork.h; design/thread-safety.txt, "Fork safety").
 *
 * The ring lives here because fork() is process-wide: it is the one piece
 * of global state besides the global locks, the fault table and the
 * plinth.  It is made on first use, under the global binary lock, which
 * guards every access to it: the handlers hold that lock from prepare to
 * parent, so no registration comes or goes while they walk it, and in the
 * child no other thread exists to race the walk.
 */
#include "fork.h"
#include "lock.h"
#include "../base/event.h"

static struct ring_s fork_ring;
static bool fork_ring_ready = false;   /* fork_ring initialised */

bool fork_reg_check(ForkReg reg)
{
  CHECKS(FORK_REG_SIG, reg);
  CHECKL(reg->hook != NULL);
  CHECKD(ring, &reg->node);
  return true;
}

static void fork_call(ForkPhase phase)
{
  Ring node, next;
  RING_FOR(node, &fork_ring, next) {
    ForkReg reg = PARENT(fork_reg_s, node, node);
    reg->hook(reg->closure, phase);
  }
}

static void fork_prepare(void)
{
  lock_claim_global();
  if (fork_ring_ready)
    fork_call(FORK_PREPARE);
  lock_claim_global_recursive();
}

static void fork_parent(void)
{
  lock_release_global_recursive();
  if (fork_ring_ready)
    fork_call(FORK_PARENT);
  lock_release_global();
}

static void fork_child(void)
{
  lock_global_reset();
  event_fork_child();
  if (fork_ring_ready)
    fork_call(FORK_CHILD);
}

Res fork_register(ForkReg reg, ForkHook hook, void *closure)
{
  Res res;
  AVER(reg != NULL);
  AVER(hook != NULL);
  lock_claim_global();
  if (!fork_ring_ready) {
    ring_init(&fork_ring);
    fork_ring_ready = true;
  }
  res = lock_at_fork(fork_prepare, fork_parent, fork_child);
  if (res == MPS_RES_OK) {
    ring_init(&reg->node);
    reg->hook = hook;
    reg->closure = closure;
    reg->sig = FORK_REG_SIG;
    ring_append(&fork_ring, &reg->node);
    AVERT(fork_reg, reg);
  }
  lock_release_global();
  return res;
}

void fork_deregister(ForkReg reg)
{
  lock_claim_global();
  AVERT(fork_reg, reg);
  ring_remove(&reg->node);
  reg->sig = SIG_INVALID;
  lock_release_global();
  ring_finish(&reg->node);
}
