/* fuzz_fork.c: fork registrations and the fork handlers (src/thread/fork.h)
 * against a model.
 *
 * The model is the ordered list of registered hooks (fork.c calls them
 * in registration order) and the set of live arenas.  Each input byte is
 * an operation, the next byte (if any) its operand:
 *   0  toggle registration k (of SLOTS): register it, or deregister it;
 *   1  toggle arena a (of ARENAS): make it, with an MVFF pool holding a
 *      few blocks and this thread registered with a thread root, or
 *      check its blocks and destroy it;
 *   2  fork, at most FORKS times an input.  Every hook logs (slot, phase).
 *      The child must find the log to be PREPARE for every registered
 *      slot in model order, then CHILD for each in the same order, both
 *      global locks free, and every live arena usable (its blocks intact,
 *      a new block allocated and freed, a collection, which scans this
 *      thread's stack only if the thread is still registered in the
 *      child, and the library reports otherwise); it reports by its
 *      exit code.  The parent must find PREPARE then PARENT the same way,
 *      the global locks and its arenas free too;
 *   3  allocate or free a block in arena a.
 * A hook that ran out of turn, a lock left held (the child would wait for
 * ever: an alarm ends it) or a damaged arena fails the run.  At the end
 * of the input everything is deregistered and destroyed.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscmvff.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/thread/fork.h"
#include "../src/thread/lock.h"
#include "support/model.h"

enum { SLOTS = 6, ARENAS = 2, BLOCKS = 8, FORKS = 2, LOG = 4 * SLOTS,
       CHILD_SECONDS = 10 };

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

typedef struct fz_entry_s {
  int slot;
  ForkPhase phase;
} fz_entry_s;

/* What the hooks write: filled in prepare and in parent or child. */
static fz_entry_s fz_log[LOG];
static int fz_logged;

static fork_reg_s fz_regs[SLOTS];
static int fz_slot_ids[SLOTS];

typedef struct fz_arena_s {
  mps_arena_t arena;           /* NULL if not made */
  mps_pool_t pool;
  mps_thr_t thr;               /* this thread, registered */
  mps_root_t root;             /* its stack, up to the input's frame */
  unsigned char *blocks[BLOCKS];
  size_t sizes[BLOCKS];
} fz_arena_s;

typedef struct fz_state_s {
  int order[SLOTS];            /* registered slots, in registration order */
  int registered;
  fz_arena_s arenas[ARENAS];
} fz_state_s;

static void fz_hook(void *closure, ForkPhase phase)
{
  int slot = *(int *)closure;
  if (fz_logged < LOG) {
    fz_log[fz_logged].slot = slot;
    fz_log[fz_logged].phase = phase;
  }
  ++fz_logged;
}

/* The log is PREPARE for every registered slot in order, then `after`
 * for each in the same order. */
FUZZ_MODEL static bool fz_log_matches(const fz_state_s *s, ForkPhase after)
{
  int i;
  if (fz_logged != 2 * s->registered)
    return false;
  for (i = 0; i < s->registered; ++i) {
    if (fz_log[i].slot != s->order[i] || fz_log[i].phase != FORK_PREPARE)
      return false;
    if (fz_log[s->registered + i].slot != s->order[i]
        || fz_log[s->registered + i].phase != after)
      return false;
  }
  return true;
}

static unsigned char fz_pattern(int a, int b)
{
  return (unsigned char)(0x3C + 17 * a + b);
}

static void fz_block_toggle(fz_arena_s *fa, int a, int b, size_t size)
{
  if (fa->blocks[b] != NULL) {
    mps_free(fa->pool, fa->blocks[b], fa->sizes[b]);
    fa->blocks[b] = NULL;
  } else {
    void *p;
    REQUIRE(mps_alloc(&p, fa->pool, size) == MPS_RES_OK);
    memset(p, fz_pattern(a, b), size);
    fa->blocks[b] = p;
    fa->sizes[b] = size;
  }
}

FUZZ_MODEL static bool fz_blocks_intact(const fz_arena_s *fa, int a)
{
  int b;
  size_t k;
  for (b = 0; b < BLOCKS; ++b)
    for (k = 0; fa->blocks[b] != NULL && k < fa->sizes[b]; ++k)
      if (fa->blocks[b][k] != fz_pattern(a, b))
        return false;
  return true;
}

static void fz_arena_toggle(fz_arena_s *fa, int a, void *cold)
{
  int b;
  if (fa->arena != NULL) {
    REQUIRE(fz_blocks_intact(fa, a));
    mps_root_destroy(fa->root);
    mps_thread_dereg(fa->thr);
    mps_pool_destroy(fa->pool);
    mps_arena_destroy(fa->arena);
    memset(fa, 0, sizeof *fa);
    return;
  }
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)4 << 20);
    REQUIRE(mps_arena_create_k(&fa->arena, mps_arena_class_vm(), args) == MPS_RES_OK);
  } MPS_ARGS_END(args);
  REQUIRE(mps_pool_create_k(&fa->pool, fa->arena, mps_class_mvff(), mps_args_none)
          == MPS_RES_OK);
  REQUIRE(mps_thread_reg(&fa->thr, fa->arena) == MPS_RES_OK);
  REQUIRE(mps_root_create_thread(&fa->root, fa->arena, fa->thr, cold) == MPS_RES_OK);
  for (b = 0; b < BLOCKS; b += 2)
    fz_block_toggle(fa, a, b, (size_t)(16 + 40 * b));
}

/* The global locks and every live arena are free and usable; false if
 * not.  (A lock left held makes this wait: in the child the alarm ends
 * it, in the parent libFuzzer's timeout.) */
static bool fz_all_usable(fz_state_s *s)
{
  int a;
  lock_claim_global();
  lock_claim_global_recursive();
  lock_release_global_recursive();
  lock_release_global();
  for (a = 0; a < ARENAS; ++a) {
    fz_arena_s *fa = &s->arenas[a];
    void *p;
    if (fa->arena == NULL)
      continue;
    if (!fz_blocks_intact(fa, a))
      return false;
    if (mps_alloc(&p, fa->pool, 64) != MPS_RES_OK)
      return false;
    mps_free(fa->pool, p, 64);
    mps_arena_collect(fa->arena);
    mps_arena_release(fa->arena);
  }
  return true;
}

/* Written to by a coverage build (ci/fuzz-coverage) only. */
extern int __llvm_profile_write_file(void) __attribute__((weak));

static void fz_fork(fz_state_s *s)
{
  pid_t pid, r;
  int status;
  fz_logged = 0;
  pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    alarm(CHILD_SECONDS);
    if (!fz_log_matches(s, FORK_CHILD))
      code = 1;
    else if (!fz_all_usable(s))
      code = 2;
    if (__llvm_profile_write_file != NULL)
      (void)__llvm_profile_write_file();
    _exit(code);
  }
  /* libFuzzer's timeout alarm interrupts the wait (its handler is not
   * SA_RESTART). */
  while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
    continue;
  REQUIRE(r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  REQUIRE(fz_log_matches(s, FORK_PARENT));
  REQUIRE(fz_all_usable(s));
}

static void fz_slot_toggle(fz_state_s *s, int k)
{
  int i, j;
  for (i = 0; i < s->registered; ++i)
    if (s->order[i] == k)
      break;
  if (i < s->registered) {
    fork_deregister(&fz_regs[k]);
    for (j = i; j + 1 < s->registered; ++j)
      s->order[j] = s->order[j + 1];
    --s->registered;
  } else {
    fz_slot_ids[k] = k;
    REQUIRE(fork_register(&fz_regs[k], fz_hook, &fz_slot_ids[k]) == MPS_RES_OK);
    REQUIRE(fork_reg_check(&fz_regs[k]));
    s->order[s->registered++] = k;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz_state_s s;
  size_t i = 0;
  int forks = 0, a;
  void *cold = &s;             /* the thread roots' cold end */
  memset(&s, 0, sizeof s);
  while (i < size) {
    unsigned op = data[i++];
    unsigned arg = i < size ? data[i++] : 0;
    switch (op % 4) {
    case 0:
      fz_slot_toggle(&s, (int)(arg % SLOTS));
      break;
    case 1:
      a = (int)(arg % ARENAS);
      fz_arena_toggle(&s.arenas[a], a, cold);
      break;
    case 2:
      if (forks < FORKS) {
        ++forks;
        fz_fork(&s);
      }
      break;
    default:
      a = (int)(arg % ARENAS);
      if (s.arenas[a].arena != NULL)
        fz_block_toggle(&s.arenas[a], a, (int)(arg / ARENAS % BLOCKS),
                        (size_t)(8 + (op >> 2) * 24));
      break;
    }
  }
  while (s.registered > 0)
    fz_slot_toggle(&s, s.order[0]);
  for (a = 0; a < ARENAS; ++a)
    if (s.arenas[a].arena != NULL)
      fz_arena_toggle(&s.arenas[a], a, cold);
  return 0;
}
