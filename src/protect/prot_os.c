/* prot_os.c: the platform-independent part of the hardware protection
 * backend (see prot_os.h, design/prot.txt).  The system call itself is
 * prot_os_system, in prot_posix.c or prot_win32.c.
 *
 * Invariants (prot_os_check cites them):
 *   prot_os.inv.sig      the signatures of the backend and of its generic
 *                        part are valid, and the generic part's class is
 *                        this backend's.
 *   prot_os.inv.page     page_size is a power of two.
 *   prot_os.inv.failure  failure is MPS_RES_OK or a failure code, and is
 *                        only a failure code after some set.
 */
#include "prot_os.h"
#include "../os/vm.h"

static ProtOS prot_os_of(Prot prot)
{
  return PARENT(ProtOSStruct, prot, prot);
}

static Res prot_os_setup(Prot prot)
{
  ProtOS po = prot_os_of(prot);
  AVERT(prot_os, po);
  po->set_up = true;
  return MPS_RES_OK;
}

/* The shield cannot take a result: keep the first failure for the owner
 * (see prot_os.h). */
static void prot_os_set(Prot prot, Addr base, Addr limit, ProtMode mode)
{
  ProtOS po = prot_os_of(prot);
  Res res;
  AVERT(prot_os, po);
  AVER(po->set_up);
  ++po->sets;
  res = prot_os_apply(po, base, limit, mode);
  if (res == MPS_RES_OK)
    return;
  if (po->failure == MPS_RES_OK)
    po->failure = res;
  if (po->refused != NULL)
    po->refused(po->refused_closure, base, limit);
}

static const ProtClassStruct prot_os_class = {
  "os",
  prot_os_setup,
  prot_os_set,
};

bool prot_os_check(ProtOS po)
{
  CHECKS(PROT_OS_SIG, po);                                 /* .inv.sig */
  if (po == NULL)
    return true;
  CHECKD(prot, &po->prot);                                 /* .inv.sig */
  CHECKL(po->prot.klass == &prot_os_class);                /* .inv.sig */
  CHECKL(size_is_p2(po->page_size));                       /* .inv.page */
  CHECKL(po->failure == MPS_RES_OK || po->sets > 0);       /* .inv.failure */
  return true;
}

Prot prot_os_init(ProtOS po)
{
  AVER(po != NULL);
  prot_init(&po->prot, &prot_os_class);
  po->page_size = vm_page_size();
  po->set_up = false;
  po->failure = MPS_RES_OK;
  po->sets = 0;
  po->refused = NULL;
  po->refused_closure = NULL;
  po->sig = PROT_OS_SIG;
  AVERT(prot_os, po);
  return &po->prot;
}

void prot_os_finish(ProtOS po)
{
  AVERT(prot_os, po);
  po->sig = SIG_INVALID;
  prot_finish(&po->prot);
}

Res prot_os_apply(ProtOS po, Addr base, Addr limit, ProtMode mode)
{
  AVERT(prot_os, po);
  AVER(prot_mode_check(mode));
  AVER(addr_word(base) < addr_word(limit));
  AVER(addr_is_aligned(base, po->page_size));
  AVER(addr_is_aligned(limit, po->page_size));
  /* The same conditions again for the rash variety, where the AVERs are
   * gone, and for the hot one, whose assertion handler may return. */
  if (!(addr_word(base) < addr_word(limit))
      || !addr_is_aligned(base, po->page_size)
      || !addr_is_aligned(limit, po->page_size)
      || !prot_mode_check(mode))
    return MPS_RES_PARAM;
  return prot_os_system(base, addr_offset(base, limit), mode);
}

void prot_os_on_refusal(ProtOS po, void (*fn)(void *closure, Addr base, Addr limit),
                        void *closure)
{
  AVERT(prot_os, po);
  po->refused = fn;
  po->refused_closure = closure;
}

Res prot_os_failure(ProtOS po)
{
  AVERT(prot_os, po);
  return po->failure;
}

Count prot_os_sets(ProtOS po)
{
  AVERT(prot_os, po);
  return po->sets;
}
