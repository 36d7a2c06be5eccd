/* fault.c: the registrations of fault hooks and the dispatch of faults
 * to them (see fault.h).  The platform files catch the faults.
 *
 * The table.  Each slot holds one hook and its closure, a state, and a
 * count of threads inside the slot's hook.  A slot goes
 *   FREE --register--> CLAIMED --(hook, closure stored)--> LIVE
 *   LIVE --unregister--> DRAINING --(busy reaches 0)--> FREE.
 * Only the thread that claimed a slot changes it until it is FREE again.
 * A fault handler, on any thread and at any moment (it interrupts
 * whatever the thread was doing, perhaps a registration), increments
 * busy, then reads the state, and calls the hook only if it is LIVE.
 * Unregistering stores DRAINING, then waits for busy to be 0.  Both sides
 * use sequentially consistent accesses for these two steps (a store, then
 * a load of the other's variable): in the single total order either the
 * handler's load of the state follows the DRAINING store (and it does not
 * call the hook) or unregister's load of busy follows the increment (and
 * it waits).  Weaker orders would allow both loads to see old values.
 * Every access here is lock-free (atomic_uint and pointers are, on every
 * target), so it is safe in a signal handler, including one that
 * interrupted this thread in the middle of fault_register.
 *
 * Installation.  fault_install_state goes UNINSTALLED -> INSTALLING ->
 * INSTALLED (or back to UNINSTALLED if the system refuses); the thread
 * that moves it to INSTALLING installs, others wait for it.
 *
 * Invariants (fault_reg_check cites them):
 *   fault.inv.sig    a registration's signature is valid.
 *   fault.inv.slot   its slot is in the table and not FREE.
 */
#include <stdatomic.h>

#include "fault.h"

enum {
  FAULT_SLOT_FREE,
  FAULT_SLOT_CLAIMED,
  FAULT_SLOT_LIVE,
  FAULT_SLOT_DRAINING
};

enum {
  FAULT_UNINSTALLED,
  FAULT_INSTALLING,
  FAULT_INSTALLED
};

typedef struct fault_slot_s {
  atomic_uint state;
  atomic_uint busy;              /* handlers between increment and decrement */
  _Atomic(FaultHook) hook;
  _Atomic(void *) closure;
} FaultSlotStruct;

/* Zero is FREE and UNINSTALLED: static atomics start zeroed, which is a
 * valid state for them. */
static FaultSlotStruct fault_slot[FAULT_SLOTS];
static atomic_uint fault_install_state;

bool fault_reg_check(FaultReg reg)
{
  CHECKS(FAULT_REG_SIG, reg);                               /* .inv.sig */
  if (reg == NULL)
    return true;
  CHECKL(reg->slot < FAULT_SLOTS);                          /* .inv.slot */
  /* Relaxed: a check, which orders nothing. */
  CHECKL(reg->slot >= FAULT_SLOTS
         || atomic_load_explicit(&fault_slot[reg->slot].state,
                                 memory_order_relaxed)
            != FAULT_SLOT_FREE);                            /* .inv.slot */
  return true;
}

static Res fault_ensure_installed(void)
{
  for (;;) {
    /* Acquire: pairs with the release below, so that a thread seeing
     * INSTALLED sees whatever the installer recorded. */
    unsigned state = atomic_load_explicit(&fault_install_state,
                                          memory_order_acquire);
    if (state == FAULT_INSTALLED)
      return MPS_RES_OK;
    if (state == FAULT_UNINSTALLED) {
      unsigned expected = FAULT_UNINSTALLED;
      /* Acquire on success: we read what a failed earlier install left.
       * Relaxed on failure: we loop and load again with acquire. */
      if (atomic_compare_exchange_strong_explicit(
              &fault_install_state, &expected, FAULT_INSTALLING,
              memory_order_acquire, memory_order_relaxed)) {
        Res res = fault_install();
        /* Release: publishes the platform's saved state to threads that
         * see INSTALLED. */
        atomic_store_explicit(&fault_install_state,
                              res == MPS_RES_OK ? FAULT_INSTALLED
                                                : FAULT_UNINSTALLED,
                              memory_order_release);
        return res;
      }
    }
    fault_yield();            /* another thread is installing */
  }
}

Res fault_register(FaultReg reg, FaultHook hook, void *closure)
{
  Index i;
  Res res;

  AVER(reg != NULL);
  AVER(hook != NULL);

  res = fault_ensure_installed();
  if (res != MPS_RES_OK)
    return res;

  for (i = 0; i < FAULT_SLOTS; ++i) {
    FaultSlotStruct *slot = &fault_slot[i];
    unsigned expected = FAULT_SLOT_FREE;
    /* Acquire on success: pairs with the release that freed the slot, so
     * our stores below come after every use of the old hook.  Relaxed on
     * failure: we only move on. */
    if (atomic_compare_exchange_strong_explicit(
            &slot->state, &expected, FAULT_SLOT_CLAIMED,
            memory_order_acquire, memory_order_relaxed)) {
      /* Relaxed: published by the release store of LIVE below. */
      atomic_store_explicit(&slot->hook, hook, memory_order_relaxed);
      atomic_store_explicit(&slot->closure, closure, memory_order_relaxed);
      /* Sequentially consistent (hence release): a handler that sees
       * LIVE sees the hook and closure. */
      atomic_store_explicit(&slot->state, FAULT_SLOT_LIVE,
                            memory_order_seq_cst);
      reg->slot = i;
      reg->sig = FAULT_REG_SIG;
      AVERT(fault_reg, reg);
      return MPS_RES_OK;
    }
  }
  return MPS_RES_LIMIT;
}

void fault_unregister(FaultReg reg)
{
  FaultSlotStruct *slot;

  AVERT(fault_reg, reg);
  slot = &fault_slot[reg->slot];
  reg->sig = SIG_INVALID;
  /* Relaxed: only this thread changes a slot it claimed. */
  AVER(atomic_load_explicit(&slot->state, memory_order_relaxed)
       == FAULT_SLOT_LIVE);
  /* Sequentially consistent, with the load of busy: see the top. */
  atomic_store_explicit(&slot->state, FAULT_SLOT_DRAINING,
                        memory_order_seq_cst);
  while (atomic_load_explicit(&slot->busy, memory_order_seq_cst) != 0)
    fault_yield();
  /* Release: every handler's use of the hook (ended by its release
   * decrement, which our load of 0 acquired) comes before the slot can
   * be claimed and overwritten. */
  atomic_store_explicit(&slot->state, FAULT_SLOT_FREE, memory_order_release);
}

bool fault_dispatch(Addr addr, bool is_write)
{
  Index i;
  for (i = 0; i < FAULT_SLOTS; ++i) {
    FaultSlotStruct *slot = &fault_slot[i];
    bool handled = false;
    /* Sequentially consistent, with the load of the state: see the top. */
    atomic_fetch_add_explicit(&slot->busy, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&slot->state, memory_order_seq_cst)
        == FAULT_SLOT_LIVE) {
      /* Relaxed: ordered after the store of LIVE we just read. */
      FaultHook hook = atomic_load_explicit(&slot->hook, memory_order_relaxed);
      void *closure = atomic_load_explicit(&slot->closure,
                                           memory_order_relaxed);
      handled = hook(closure, addr, is_write);
    }
    /* Release: our use of the hook and closure happens before an
     * unregister that sees busy fall to 0 lets them go. */
    atomic_fetch_sub_explicit(&slot->busy, 1, memory_order_release);
    if (handled)
      return true;
  }
  return false;
}
