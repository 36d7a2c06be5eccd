/* thread_macos.c: the operating-system layer of the thread manager for
 * macOS, over Mach (see design/thread-manager.txt, design/prmc.txt and
 * thread.h; thread.c does the bookkeeping).
 *
 * A registration records the thread's Mach port.  thread_suspend stops the
 * thread in the kernel (it nests, so every suspension is matched by one
 * thread_resume); thread_get_state then reads its registers.  A thread
 * that has exited makes thread_suspend fail, which is how it is
 * diagnosed; nothing waits for it.  Suspensions across the process are
 * serialised by a mutex held from thread_os_begin to thread_os_end, so two
 * collecting threads cannot suspend each other.
 *
 * Compiled for x86_64-macos and aarch64-macos; not run in this project's
 * tests (there is no macOS machine in the build).
 */
#if !defined(__APPLE__) || defined(CONFIG_THREAD_SINGLE)
#error "thread_macos.c is for multi-threaded macOS builds: see src/mps.c"
#endif

/* The Mach headers declare names of their own (vm_page_size, vm_copy,
 * vm_map...) that the vm module of this translation unit also uses, with
 * other types.  names.h maps the vm module's names to mps_i_vm_...; the
 * mappings are lifted while the headers are read, so that those declare
 * Mach's names as Mach spells them, and put back after.  Nothing here uses
 * either. */
#undef vm_base
#undef vm_check
#undef vm_check_range
#undef vm_copy
#undef vm_finish
#undef vm_init
#undef vm_limit
#undef vm_map
#undef vm_mapped
#undef vm_page_size
#undef vm_reserved
#undef vm_unmap
#include <mach/mach.h>
#define vm_base mps_i_vm_base
#define vm_check mps_i_vm_check
#define vm_check_range mps_i_vm_check_range
#define vm_copy mps_i_vm_copy
#define vm_finish mps_i_vm_finish
#define vm_init mps_i_vm_init
#define vm_limit mps_i_vm_limit
#define vm_map mps_i_vm_map
#define vm_mapped mps_i_vm_mapped
#define vm_page_size mps_i_vm_page_size
#define vm_reserved mps_i_vm_reserved
#define vm_unmap mps_i_vm_unmap
#include <pthread.h>
#include <string.h>

#include "thread.h"
#include "../base/check.h"

#if defined(__x86_64__)
typedef x86_thread_state64_t thread_macos_state;
#define THREAD_MACOS_FLAVOR x86_THREAD_STATE64
#define THREAD_MACOS_COUNT x86_THREAD_STATE64_COUNT
#define THREAD_MACOS_SP(s) ((Word)(s).__rsp)
#define THREAD_MACOS_RED_ZONE 128
#elif defined(__aarch64__) || defined(__arm64__)
typedef arm_thread_state64_t thread_macos_state;
#define THREAD_MACOS_FLAVOR ARM_THREAD_STATE64
#define THREAD_MACOS_COUNT ARM_THREAD_STATE64_COUNT
#define THREAD_MACOS_SP(s) ((Word)arm_thread_state64_get_sp(s))
#define THREAD_MACOS_RED_ZONE 128
#else
#error "thread_macos.c: no thread-state support for this architecture"
#endif

#define THREAD_MACOS_REGS \
  ((Count)(sizeof(thread_macos_state) / sizeof(Word)))

struct thread_os_s {
  thread_act_t port;
  Word *sp;                       /* stack pointer when suspended */
  Word regs[THREAD_MACOS_REGS];   /* the thread state, as words */
};

static pthread_mutex_t thread_macos_mutex = PTHREAD_MUTEX_INITIALIZER;

bool thread_os_register(struct thread_os_s *os, Word **cold_return)
{
  pthread_t self = pthread_self();
  os->port = pthread_mach_thread_np(self);
  if (os->port == MACH_PORT_NULL)
    return false;
  os->sp = NULL;
  /* The system's stack address is the top, the cold end. */
  *cold_return = (Word *)pthread_get_stackaddr_np(self);
  return *cold_return != NULL;
}

void thread_os_deregister(struct thread_os_s *os)
{
  UNUSED(os);
}

bool thread_os_is_current(struct thread_os_s *os)
{
  return os->port == pthread_mach_thread_np(pthread_self());
}

bool thread_os_same(struct thread_os_s *a, struct thread_os_s *b)
{
  return a->port == b->port;
}

bool thread_os_can_suspend(void)
{
  return true;
}

void thread_os_begin(void)
{
  int err = pthread_mutex_lock(&thread_macos_mutex);
  AVER(err == 0);
  UNUSED(err);
}

void thread_os_end(void)
{
  int err = pthread_mutex_unlock(&thread_macos_mutex);
  AVER(err == 0);
  UNUSED(err);
}

bool thread_os_suspend(struct thread_os_s *os)
{
  thread_macos_state state;
  mach_msg_type_number_t count = THREAD_MACOS_COUNT;
  kern_return_t kr = thread_suspend(os->port);
  if (kr != KERN_SUCCESS)
    return false;                 /* the thread is gone */
  kr = thread_get_state(os->port, THREAD_MACOS_FLAVOR,
                        (thread_state_t)&state, &count);
  if (kr != KERN_SUCCESS) {
    (void)thread_resume(os->port);
    return false;
  }
  memcpy(os->regs, &state, sizeof os->regs);
  os->sp = (Word *)(uintptr_t)(THREAD_MACOS_SP(state) - THREAD_MACOS_RED_ZONE);
  return true;
}

void thread_os_fork_child(struct thread_os_s *os)
{
  /* The child's thread has a Mach port of its own
   * (design/thread-safety.txt, .sol.fork.mach-port). */
  os->port = pthread_mach_thread_np(pthread_self());
}

void thread_os_resume(struct thread_os_s *os)
{
  kern_return_t kr = thread_resume(os->port);
  AVER(kr == KERN_SUCCESS);
  UNUSED(kr);
}

void thread_os_copy_context(struct thread_os_s *to, struct thread_os_s *from)
{
  memcpy(to->regs, from->regs, sizeof to->regs);
  to->sp = from->sp;
}

void thread_os_context(struct thread_os_s *os, Word **base_return,
                       Word **limit_return, Word **sp_return,
                       Word **alt_base_return, Word **alt_limit_return)
{
  *base_return = os->regs;
  *limit_return = os->regs + THREAD_MACOS_REGS;
  *sp_return = os->sp;
  *alt_base_return = *alt_limit_return = NULL;
}

/* The suspender reads the thread's state from outside, so nothing runs
 * on the thread to note an alternate stack: that case is not handled
 * here (a fault hook waiting for a lock on an alternate stack). */
Word thread_os_fault_enter(void *context)
{
  UNUSED(context);
  return 0;
}

void thread_os_fault_leave(Word saved)
{
  UNUSED(saved);
}

void thread_os_fault_signals(void *set)
{
  UNUSED(set);
}
