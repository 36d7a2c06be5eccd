/* Unit tests for arenas: the VM and client classes, the commit limit,
 * spare memory, growth, extension callbacks, and the internal grain
 * allocator pools will use. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/resource.h>
#endif

#include "../include/mps.h"
#include "../include/mpsacl.h"
#include "../include/mpsavm.h"
#include "../include/mpscmfs.h"
#include "../src/arena/arena.h"
#include "support/checks.h"
#include "support/configs.h"
#include "support/reports.h"

/* A stand-in owner for grains, as a pool will be. */
static int arena_test_owner;
#define OWNER ((Pool)(void *)&arena_test_owner)

static mps_arena_t make_vm(size_t size)
{
  mps_arena_t arena;
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, size);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_OK);
  return arena;
}

static mps_res_t grab(mps_addr_t *p_o, mps_arena_t arena, size_t size)
{
  Addr base;
  Res res;
  arena_enter(arena);
  res = arena_alloc(&base, arena, size, OWNER);
  arena_leave(arena);
  if (res == MPS_RES_OK)
    *p_o = addr_ptr(base);
  return res;
}

static void drop(mps_arena_t arena, mps_addr_t p, size_t size)
{
  arena_enter(arena);
  arena_free(arena, addr_of_ptr(p), size, OWNER);
  arena_leave(arena);
}

static size_t grain_of(mps_arena_t arena)
{
  return arena->grain_size;
}

Test(arena_vm, defaults_are_as_documented)
{
  mps_arena_t arena;
  cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_geq(mps_arena_reserved(arena), (size_t)256 << 20);
  cr_assert_gt(mps_arena_committed(arena), 0);
  cr_assert_eq(mps_arena_commit_limit(arena), SIZE_MAX);
  cr_assert_eq(mps_arena_spare(arena), 0.75);
  cr_assert_eq(mps_arena_pause_time(arena), 0.1);
  cr_assert_eq(mps_arena_spare_committed(arena), 0);
  cr_assert_eq(mps_collections(arena), 0);
  cr_assert(mps_arena_has_addr(arena, arena));
  cr_assert_not(mps_arena_busy(arena));
  mps_arena_destroy(arena);
}

#if defined(__linux__)
/* Peak resident memory of this process, in KiB (Linux's ru_maxrss). */
static long resident_peak_kib(void)
{
  struct rusage ru;
  cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
  return ru.ru_maxrss;
}

/* A reservation of 4 GiB has a page table of 16 MiB: it is committed
 * (the header), but its pages stay untouched, so they cost no resident
 * memory, until their grains are used. */
Test(arena_vm, a_large_reservation_costs_little_resident_memory, TEST_NEEDS_OS_VM)
{
  long before = resident_peak_kib();
  mps_arena_t arena = make_vm((size_t)4 << 30);
  mps_addr_t p;
  cr_assert_geq(mps_arena_committed(arena), (size_t)16 << 20, "the header is committed");
  cr_assert_eq(grab(&p, arena, 1 << 20), MPS_RES_OK);
  memset(p, 1, 1 << 20);
  cr_assert_lt(resident_peak_kib() - before, 4096);
  drop(arena, p, 1 << 20);
  mps_arena_destroy(arena);
}
#endif

Test(arena_vm, small_sizes_round_up_to_the_minimum)
{
  mps_arena_t arena = make_vm(1);
  cr_assert_geq(mps_arena_reserved(arena), MPS_WORD_WIDTH * grain_of(arena));
  mps_arena_destroy(arena);
}

Test(arena_vm, grain_size_rounds_up_to_a_page_and_must_be_a_power_of_two)
{
  mps_arena_t arena;
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, (size_t)16);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_OK);
  cr_assert_geq(grain_of(arena), 4096);
  mps_arena_destroy(arena);

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, (size_t)65536);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_OK);
  cr_assert_eq(grain_of(arena), 65536);
  mps_arena_destroy(arena);

  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, (size_t)12288);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_PARAM);
}

Test(arena_vm, used_arguments_are_removed_and_others_left)
{
  mps_arena_t arena;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 20);
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, 0.5);
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, (size_t)8);  /* not for arenas */
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
    cr_assert_eq(args[0].key, MPS_KEY_MFS_UNIT_SIZE);
    cr_assert_eq(args[1].key, MPS_KEY_ARGS_END);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_arena_spare(arena), 0.5);
  mps_arena_destroy(arena);
}

Test(arena_vm, bad_spare_and_pause_time_are_rejected)
{
  mps_arena_t arena;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, 1.5);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_PAUSE_TIME, -1.0);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
}

Test(arena_vm, allocation_commits_and_freeing_keeps_spare)
{
  mps_arena_t arena = make_vm((size_t)16 << 20);
  size_t grain = grain_of(arena);
  size_t base_committed = mps_arena_committed(arena);
  mps_addr_t p;
  cr_assert_eq(grab(&p, arena, 10 * grain), MPS_RES_OK);
  cr_assert(((uintptr_t)p & (grain - 1)) == 0);
  cr_assert_eq(mps_arena_committed(arena), base_committed + 10 * grain);
  memset(p, 0xAB, 10 * grain);   /* committed memory is writable */
  drop(arena, p, 10 * grain);
  /* Spare: still committed, unless over the 75% fraction. */
  cr_assert_eq(mps_arena_spare_committed(arena),
               mps_arena_committed(arena) - base_committed);
  cr_assert_leq((double)mps_arena_spare_committed(arena),
                0.75 * (double)mps_arena_committed(arena));
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_arena_spare_committed(arena), 0);
  cr_assert_eq(mps_arena_committed(arena), base_committed);
  mps_arena_destroy(arena);
}

/* A heap shrinking grain by grain stays within the spare fraction after
 * every free, but gives its spare memory back in batches, not at every
 * free once it is over (docs/performance.md, sixth round). */
Test(arena_vm, a_shrinking_heap_gives_spare_memory_back_in_batches)
{
  enum { N = 256 };
  mps_arena_t arena = make_vm((size_t)16 << 20);
  size_t grain = grain_of(arena), i, trims = 0, last;
  static mps_addr_t p[N];
  mps_arena_spare_set(arena, 0.5);
  for (i = 0; i < N; ++i)
    cr_assert_eq(grab(&p[i], arena, grain), MPS_RES_OK);
  last = mps_arena_committed(arena);
  for (i = 0; i < N; ++i) {
    size_t committed, spare;
    drop(arena, p[i], grain);
    committed = mps_arena_committed(arena);
    spare = mps_arena_spare_committed(arena);
    cr_assert_leq((double)spare, 0.5 * (double)committed,
                  "spare memory over the fraction after free %zu", i);
    if (committed < last)
      ++trims;
    last = committed;
  }
  /* Over the bound from about the middle on; one trim per free would
   * make about N / 2. */
  cr_assert_gt(trims, 0);
  cr_assert_lt(trims, N / 8, "%zu trims for %d frees", trims, N);
  mps_arena_destroy(arena);
}

Test(arena_vm, reused_spare_memory_is_not_committed_twice)
{
  mps_arena_t arena = make_vm((size_t)16 << 20);
  size_t grain = grain_of(arena);
  mps_addr_t p, q;
  size_t committed;
  mps_arena_spare_set(arena, 1.0);
  cr_assert_eq(grab(&p, arena, 4 * grain), MPS_RES_OK);
  committed = mps_arena_committed(arena);
  drop(arena, p, 4 * grain);
  cr_assert_eq(mps_arena_spare_committed(arena), 4 * grain);
  cr_assert_eq(grab(&q, arena, 4 * grain), MPS_RES_OK);
  cr_assert_eq(q, p);   /* first fit finds the same grains */
  cr_assert_eq(mps_arena_committed(arena), committed);
  cr_assert_eq(mps_arena_spare_committed(arena), 0);
  drop(arena, q, 4 * grain);
  mps_arena_destroy(arena);
}

Test(arena_vm, commit_limit_refuses_and_arena_stays_usable)
{
  mps_arena_t arena = make_vm((size_t)16 << 20);
  size_t grain = grain_of(arena);
  size_t committed = mps_arena_committed(arena);
  mps_addr_t p;
  cr_assert_eq(mps_arena_commit_limit_set(arena, committed - 1), MPS_RES_FAIL);
  cr_assert_eq(mps_arena_commit_limit(arena), SIZE_MAX);
  cr_assert_eq(mps_arena_commit_limit_set(arena, committed + 2 * grain), MPS_RES_OK);
  cr_assert_eq(grab(&p, arena, 3 * grain), MPS_RES_COMMIT_LIMIT);
  cr_assert_eq(mps_arena_committed(arena), committed);
  cr_assert_eq(grab(&p, arena, 2 * grain), MPS_RES_OK);
  drop(arena, p, 2 * grain);
  cr_assert_eq(mps_arena_commit_limit_set(arena, SIZE_MAX), MPS_RES_OK);
  cr_assert_eq(grab(&p, arena, 3 * grain), MPS_RES_OK);
  drop(arena, p, 3 * grain);
  mps_arena_destroy(arena);
}

/* A 16 MiB VM arena that keeps all its spare memory, with eight grains
 * of it: what it committed before them in *base_committed_o. */
static mps_arena_t vm_with_spare(size_t *base_committed_o, size_t *grain_o)
{
  mps_arena_t arena = make_vm((size_t)16 << 20);
  size_t grain = grain_of(arena);
  mps_addr_t p;
  *base_committed_o = mps_arena_committed(arena);
  *grain_o = grain;
  mps_arena_spare_set(arena, 1.0);
  cr_assert_eq(grab(&p, arena, 8 * grain), MPS_RES_OK);
  drop(arena, p, 8 * grain);
  cr_assert_eq(mps_arena_spare_committed(arena), 8 * grain);
  return arena;
}

Test(arena_vm, lowering_the_limit_sheds_spare_memory)
{
  size_t base_committed, grain;
  mps_arena_t arena = vm_with_spare(&base_committed, &grain);
  mps_addr_t p;
  cr_assert_eq(mps_arena_commit_limit_set(arena, base_committed + 3 * grain), MPS_RES_OK);
  cr_assert_leq(mps_arena_committed(arena), base_committed + 3 * grain);
  cr_assert_eq(mps_arena_spare_committed(arena), 3 * grain);
  /* Spare memory is given up when a new commitment needs the room. */
  cr_assert_eq(grab(&p, arena, 3 * grain), MPS_RES_OK);
  cr_assert_eq(mps_arena_committed(arena), base_committed + 3 * grain);
  drop(arena, p, 3 * grain);
  mps_arena_destroy(arena);
}

static unsigned arena_test_extensions, arena_test_contractions;
static size_t arena_test_extended_size, arena_test_contracted_size;
static void on_extend(mps_arena_t arena, void *base, size_t size)
{
  (void)arena; (void)base;
  ++arena_test_extensions;
  arena_test_extended_size += size;
}
static void on_contract(mps_arena_t arena, void *base, size_t size)
{
  (void)arena; (void)base;
  ++arena_test_contractions;
  arena_test_contracted_size += size;
}

Test(arena_vm, grows_by_new_chunks_and_reports_them)
{
  mps_arena_t arena;
  size_t grain, reserved;
  mps_addr_t p, q;
  arena_test_extensions = arena_test_contractions = 0;
  arena_test_extended_size = arena_test_contracted_size = 0;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 20);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_EXTENDED, (mps_fun_t)on_extend);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_CONTRACTED, (mps_fun_t)on_contract);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(arena_test_extensions, 1);   /* creation counts */
  grain = grain_of(arena);
  reserved = mps_arena_reserved(arena);
  /* More than the whole first chunk: a new chunk must be reserved. */
  cr_assert_eq(grab(&p, arena, (size_t)4 << 20), MPS_RES_OK);
  cr_assert_gt(mps_arena_reserved(arena), reserved);
  cr_assert_eq(arena_test_extensions, 2);
  cr_assert(mps_arena_has_addr(arena, p));
  cr_assert(mps_arena_has_addr(arena, (char *)p + ((size_t)4 << 20) - 1));
  memset(p, 1, (size_t)4 << 20);
  cr_assert_eq(grab(&q, arena, grain), MPS_RES_OK);
  drop(arena, q, grain);
  drop(arena, p, (size_t)4 << 20);
  mps_arena_destroy(arena);
  cr_assert_eq(arena_test_contractions, arena_test_extensions);
  cr_assert_eq(arena_test_contracted_size, arena_test_extended_size);
}

/* A new chunk's own tables count against the commit limit.  Here the
 * first chunk is full and the limit leaves room for the grain asked for
 * but not for the tables of the chunk that would hold it: the growth is
 * refused with MPS_RES_COMMIT_LIMIT and nothing is left reserved or
 * committed; with the limit raised, the same request grows the arena.  A
 * VM arena takes no client memory (mps_arena_extend is for client
 * arenas, arena.rst). */
#define ARENA_TEST_GRAINS 1024
static mps_addr_t arena_test_grains[ARENA_TEST_GRAINS];

/* Fill the first chunk of a fresh 1 MiB arena a grain at a time: how many
 * grains it holds. */
static size_t fill_first_chunk(mps_arena_t arena, size_t grain)
{
  size_t reserved = mps_arena_reserved(arena), n = 0;
  for (;;) {
    cr_assert_lt(n, ARENA_TEST_GRAINS);
    cr_assert_eq(grab(&arena_test_grains[n], arena, grain), MPS_RES_OK);
    if (mps_arena_reserved(arena) != reserved)
      return n;   /* the last one took a new chunk */
    ++n;
  }
}

/* How many grains the first chunk of a fresh 1 MiB arena holds, found by
 * filling one: *arena_io is destroyed, and replaced by a fresh one. */
static size_t grains_of_a_first_chunk(mps_arena_t *arena_io, size_t grain)
{
  size_t n = fill_first_chunk(*arena_io, grain), i;
  for (i = 0; i <= n; ++i)
    drop(*arena_io, arena_test_grains[i], grain);
  mps_arena_destroy(*arena_io);
  *arena_io = make_vm((size_t)1 << 20);
  return n;
}

/* A fresh 1 MiB arena whose first chunk is full, and not one grain more:
 * the next request must grow it.  *n_o grains are in arena_test_grains. */
static mps_arena_t a_full_first_chunk(size_t *grain_o, size_t *n_o)
{
  mps_arena_t arena = make_vm((size_t)1 << 20);
  size_t grain = grain_of(arena), n, i;
  n = grains_of_a_first_chunk(&arena, grain);
  for (i = 0; i < n; ++i)
    cr_assert_eq(grab(&arena_test_grains[i], arena, grain), MPS_RES_OK);
  *grain_o = grain;
  *n_o = n;
  return arena;
}

Test(arena_vm, a_new_chunk_over_the_commit_limit_is_refused_and_nothing_is_kept)
{
  size_t grain, n, i, reserved, committed;
  mps_arena_t arena = a_full_first_chunk(&grain, &n);
  static char client_block[1 << 16];
  mps_addr_t p;
  reserved = mps_arena_reserved(arena);
  committed = mps_arena_committed(arena);
  /* With 4 KiB grains the new chunk's tables take two grains. */
  cr_assert_eq(mps_arena_commit_limit_set(arena, committed + grain), MPS_RES_OK);
  cr_assert_eq(grab(&p, arena, grain), MPS_RES_COMMIT_LIMIT);
  cr_assert_eq(mps_arena_reserved(arena), reserved);
  cr_assert_eq(mps_arena_committed(arena), committed);
  /* Room for the tables but not for the grain as well: the same, whatever
   * the tables take, and the arena does not even try to grow (the second
   * request, the growth, would be refused as address space if it did).
   * Otherwise a call refused address space could, made again, meet the
   * commit limit instead, which a client could not foresee. */
  for (i = 2; i < 8; ++i) {
    mps_res_t res;
    bool tried;
    cr_assert_eq(mps_arena_commit_limit_set(arena, committed + i * grain), MPS_RES_OK);
    arena_fail_after(arena, 2);
    res = grab(&p, arena, grain);
    tried = arena->fail_countdown == 0;
    arena_fail_after(arena, 0);
    if (res != MPS_RES_OK && tried) {
      cr_assert_eq(res, MPS_RES_RESOURCE);
      res = grab(&p, arena, grain);   /* the limit let it try: it fits */
      cr_assert_eq(res, MPS_RES_OK, "tried to grow, then met the limit: %d", res);
    }
    if (res == MPS_RES_OK)
      break;
    cr_assert_eq(res, MPS_RES_COMMIT_LIMIT);
    cr_assert_eq(mps_arena_reserved(arena), reserved, "a refused growth kept its chunk");
    cr_assert_eq(mps_arena_committed(arena), committed);
  }
  cr_assert_lt(i, 8, "no limit let the arena grow");
  cr_assert_gt(mps_arena_reserved(arena), reserved);
  memset(p, 1, grain);
  drop(arena, p, grain);
  reserved = mps_arena_reserved(arena);
  cr_assert_eq(mps_arena_extend(arena, client_block, sizeof client_block), MPS_RES_UNIMPL);
  cr_assert_eq(mps_arena_reserved(arena), reserved);
  for (i = 0; i < n; ++i)
    drop(arena, arena_test_grains[i], grain);
  mps_arena_destroy(arena);
}

/* A request for every grain a fresh first chunk holds fits in it: the
 * arena does not grow for it. */
Test(arena_vm, a_request_for_all_of_a_chunk_s_grains_fits_without_growing)
{
  mps_arena_t arena = make_vm((size_t)1 << 20);
  size_t grain = grain_of(arena), n, reserved, committed;
  mps_addr_t p;
  n = grains_of_a_first_chunk(&arena, grain);
  reserved = mps_arena_reserved(arena);
  committed = mps_arena_committed(arena);
  cr_assert_eq(grab(&p, arena, n * grain), MPS_RES_OK);
  cr_assert_eq(mps_arena_reserved(arena), reserved, "the arena grew for %zu grains", n);
  cr_assert_eq(mps_arena_committed(arena), committed + n * grain);
  drop(arena, p, n * grain);
  mps_arena_destroy(arena);
}

/* A commit limit exactly what is committed less all the spare memory is
 * accepted (arena.rst: only spare memory is given up to make room). */
Test(arena_vm, a_limit_that_all_the_spare_memory_makes_room_for_is_accepted)
{
  size_t base_committed, grain;
  mps_arena_t arena = vm_with_spare(&base_committed, &grain);
  cr_assert_eq(mps_arena_committed(arena), base_committed + 8 * grain);
  cr_assert_eq(mps_arena_commit_limit_set(arena, base_committed), MPS_RES_OK);
  cr_assert_eq(mps_arena_commit_limit(arena), base_committed);
  cr_assert_eq(mps_arena_committed(arena), base_committed);
  cr_assert_eq(mps_arena_spare_committed(arena), 0);
  cr_assert_eq(mps_arena_commit_limit_set(arena, SIZE_MAX), MPS_RES_OK);
  mps_arena_destroy(arena);
}

/* At creation too, a commit limit of what creation commits is accepted
 * (arena.rst: at least what is committed succeeds); one byte less is
 * refused.  Creation commits the same for the same arguments. */
Test(arena_vm, a_commit_limit_at_creation_may_be_exactly_what_creation_commits)
{
  mps_arena_t arena = make_vm((size_t)16 << 20);
  size_t committed = mps_arena_committed(arena);
  mps_res_t res;
  mps_arena_destroy(arena);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)16 << 20);
    MPS_ARGS_ADD(args, MPS_KEY_COMMIT_LIMIT, committed);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  cr_assert_eq(res, MPS_RES_OK);
  cr_assert_eq(mps_arena_committed(arena), committed);
  cr_assert_eq(mps_arena_commit_limit(arena), committed);
  mps_arena_destroy(arena);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)16 << 20);
    MPS_ARGS_ADD(args, MPS_KEY_COMMIT_LIMIT, committed - 1);
    res = mps_arena_create_k(&arena, mps_arena_class_vm(), args);
  } MPS_ARGS_END(args);
  cr_assert_neq(res, MPS_RES_OK);
}

Test(arena_vm, pool_of_addr_follows_ownership)
{
  mps_arena_t arena = make_vm((size_t)4 << 20);
  size_t grain = grain_of(arena);
  mps_addr_t p;
  int local;
  cr_assert_eq(grab(&p, arena, 2 * grain), MPS_RES_OK);
  arena_enter(arena);
  cr_assert_eq(arena_pool_of_addr(arena, addr_of_ptr(p)), OWNER);
  cr_assert_eq(arena_pool_of_addr(arena, addr_add(addr_of_ptr(p), 2 * grain - 1)), OWNER);
  cr_assert_null(arena_pool_of_addr(arena, addr_add(addr_of_ptr(p), 2 * grain)));
  cr_assert_null(arena_pool_of_addr(arena, addr_of_ptr(&local)));
  arena_leave(arena);
  cr_assert_not(mps_arena_has_addr(arena, &local));
  drop(arena, p, 2 * grain);
  arena_enter(arena);
  cr_assert_null(arena_pool_of_addr(arena, addr_of_ptr(p)));
  arena_leave(arena);
  mps_arena_destroy(arena);
}

Test(arena_vm, control_memory_is_reused_and_returned)
{
  mps_arena_t arena = make_vm((size_t)4 << 20);
  void *blocks[100];
  size_t committed;
  int i;
  arena_enter(arena);
  for (i = 0; i < 100; ++i) {
    cr_assert_eq(arena_control_alloc(&blocks[i], arena, 24 + (size_t)i), MPS_RES_OK);
    cr_assert(((uintptr_t)blocks[i] & (ARENA_CONTROL_ALIGN - 1)) == 0);
    memset(blocks[i], i, 24 + (size_t)i);
  }
  for (i = 0; i < 100; ++i)
    cr_assert_eq(((unsigned char *)blocks[i])[23], (unsigned char)i);
  committed = arena->committed;
  for (i = 0; i < 100; i += 2)
    arena_control_free(arena, blocks[i], 24 + (size_t)i);
  for (i = 0; i < 100; i += 2)
    cr_assert_eq(arena_control_alloc(&blocks[i], arena, 24 + (size_t)i), MPS_RES_OK);
  cr_assert_eq(arena->committed, committed);   /* reused, not more */
  for (i = 0; i < 100; ++i)
    arena_control_free(arena, blocks[i], 24 + (size_t)i);
  arena_leave(arena);
  mps_arena_destroy(arena);
}

Test(arena_vm, states_follow_the_documented_transitions)
{
  mps_arena_t arena = make_vm((size_t)1 << 20);
  cr_assert_eq(arena->state, ARENA_UNCLAMPED);
  mps_arena_clamp(arena);
  cr_assert_eq(arena->state, ARENA_CLAMPED);
  mps_arena_park(arena);
  cr_assert_eq(arena->state, ARENA_PARKED);
  mps_arena_release(arena);
  cr_assert_eq(arena->state, ARENA_UNCLAMPED);
  mps_arena_collect(arena);
  cr_assert_eq(arena->state, ARENA_PARKED);
  cr_assert_eq(mps_arena_start_collect(arena), MPS_RES_OK);
  cr_assert_eq(arena->state, ARENA_UNCLAMPED);
  /* The collection may go on incrementally: a step finishes one this
   * small, and then there is nothing to do. */
  (void)mps_arena_step(arena, 0.01, 1.0);
  cr_assert_eq(arena->collections, 2);
  /* With no pool, nothing could move: mps_collections counts only
   * collections in which objects might have moved (arena.rst). */
  cr_assert_eq(mps_collections(arena), 0);
  cr_assert_not(mps_arena_step(arena, 0.01, 1.0));
  mps_arena_destroy(arena);
}

/* Client errors the arena refuses, reporting them where checks are
 * compiled in (support/checks.h), and after which it goes on working. */

/* arena.rst: the spare fraction is between 0 and 1, and the pause time is
 * not negative.  Other values leave the setting as it was. */
Test(arena_vm, settings_out_of_range_are_refused)
{
  mps_arena_t arena = make_vm((size_t)16 << 20);
  reports_install();
  mps_arena_spare_set(arena, 1.5);
  mps_arena_spare_set(arena, -0.25);
  mps_arena_pause_time_set(arena, -1.0);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(3));
  cr_assert_eq(mps_arena_spare(arena), 0.75);
  cr_assert_eq(mps_arena_pause_time(arena), 0.1);
  mps_arena_destroy(arena);
}

/* arena.rst: mps_arena_destroy needs every pool destroyed first.  With one
 * left, the arena stays, and so do the pool and its blocks. */
Test(arena_vm, destroy_with_a_pool_left_is_refused)
{
  mps_arena_t arena = make_vm((size_t)16 << 20);
  mps_pool_t pool;
  mps_addr_t p;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_MFS_UNIT_SIZE, 64);
    cr_assert_eq(mps_pool_create_k(&pool, arena, mps_class_mfs(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  memset(p, 0x5a, 64);
  reports_install();
  mps_arena_destroy(arena);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert(mps_arena_has_addr(arena, p));
  cr_assert_eq(((unsigned char *)p)[63], 0x5a);
  mps_free(pool, p, 64);
  cr_assert_eq(mps_alloc(&p, pool, 64), MPS_RES_OK);
  mps_free(pool, p, 64);
  mps_pool_destroy(pool);
  mps_arena_destroy(arena);
}

/* The same for what the collector holds (arena.rst): with a root left,
 * the arena stays, and the root can still be destroyed, then the arena. */
Test(arena_vm, destroy_with_a_root_left_is_refused)
{
  static mps_addr_t table[1];
  mps_arena_t arena = make_vm((size_t)16 << 20);
  mps_root_t root;
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, table, 1), MPS_RES_OK);
  reports_install();
  mps_arena_destroy(arena);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  cr_assert(mps_arena_has_addr(arena, arena));
  mps_root_destroy(root);
  reports_install();
  mps_arena_destroy(arena);
  reports_install_abort();
  cr_assert_eq(reports_seen(), 0);
}

/* arena.rst: mps_arena_busy is true while the arena is inside an
 * operation, which is while its lock is held. */
Test(arena_vm, busy_while_its_lock_is_held)
{
  mps_arena_t arena = make_vm((size_t)16 << 20);
  cr_assert_not(mps_arena_busy(arena));
  arena_enter(arena);
  cr_assert(mps_arena_busy(arena));
  arena_leave(arena);
  cr_assert_not(mps_arena_busy(arena));
  mps_arena_destroy(arena);
}

/* Client arenas */

static mps_res_t make_cl(mps_arena_t *arena_o, void *base, size_t size)
{
  mps_res_t res;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_CL_BASE, base);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, size);
    res = mps_arena_create_k(arena_o, mps_arena_class_cl(), args);
  } MPS_ARGS_END(args);
  return res;
}

Test(arena_client, needs_a_base_and_a_big_enough_block)
{
  mps_arena_t arena;
  static char small[512];
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 20);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_cl(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  cr_assert_eq(make_cl(&arena, small, sizeof small), MPS_RES_MEMORY);
}

Test(arena_client, allocates_from_client_memory_until_exhausted_then_extends)
{
  size_t size = (size_t)1 << 20;
  char *block = malloc(size), *more = malloc(size);
  mps_arena_t arena;
  mps_addr_t p[256];
  size_t grain, committed, reserved;
  int n = 0, i;
  mps_res_t res;
  cr_assert_eq(make_cl(&arena, block, size), MPS_RES_OK);
  grain = grain_of(arena);
  cr_assert_eq(grain, 8192);   /* documented default */
  reserved = mps_arena_reserved(arena);
  cr_assert_leq(reserved, size);
  cr_assert_gt(reserved, size - 2 * grain);
  committed = mps_arena_committed(arena);
  while ((res = grab(&p[n], arena, grain)) == MPS_RES_OK) {
    cr_assert_geq((char *)p[n], block);
    cr_assert_leq((char *)p[n] + grain, block + size);
    ++n;
  }
  cr_assert_eq(res, MPS_RES_RESOURCE);
  cr_assert_gt(n, 100);
  cr_assert_eq(mps_arena_committed(arena), committed + (size_t)n * grain);
  cr_assert_eq(mps_arena_extend(arena, more, size), MPS_RES_OK);
  cr_assert_gt(mps_arena_reserved(arena), reserved);
  cr_assert_eq(grab(&p[n], arena, grain), MPS_RES_OK);
  cr_assert_geq((char *)p[n], more);
  ++n;
  /* Overlapping memory is refused. */
  cr_assert_eq(mps_arena_extend(arena, block + 4096, 65536), MPS_RES_PARAM);
  /* So is memory at address zero (a checking variety reports it). */
  reports_install();
  cr_assert_eq(mps_arena_extend(arena, NULL, 65536), MPS_RES_PARAM);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(1));
  for (i = 0; i < n; ++i)
    drop(arena, p[i], grain);
  /* Client arenas keep no spare memory: committed falls back. */
  cr_assert_eq(mps_arena_spare_committed(arena), 0);
  mps_arena_spare_set(arena, 0.5);
  cr_assert_eq(mps_arena_spare(arena), 0.5);
  cr_assert_eq(mps_arena_spare_committed(arena), 0);
  mps_arena_destroy(arena);
  free(block);
  free(more);
}

Test(arena_client, commit_limit_counts_grains_in_use)
{
  size_t size = (size_t)1 << 20;
  char *block = malloc(size);
  mps_arena_t arena;
  mps_addr_t p;
  size_t grain, committed;
  cr_assert_eq(make_cl(&arena, block, size), MPS_RES_OK);
  grain = grain_of(arena);
  committed = mps_arena_committed(arena);
  cr_assert_eq(mps_arena_commit_limit_set(arena, committed + grain), MPS_RES_OK);
  cr_assert_eq(grab(&p, arena, 2 * grain), MPS_RES_COMMIT_LIMIT);
  cr_assert_eq(grab(&p, arena, grain), MPS_RES_OK);
  drop(arena, p, grain);
  mps_arena_destroy(arena);
  free(block);
}

/* A new chunk's tables are committed memory too: an extension that
 * would take the arena past its commit limit is refused, and changes
 * nothing (arena.rst: MPS_RES_COMMIT_LIMIT). */
Test(arena_client, an_extension_past_the_commit_limit_is_refused)
{
  size_t size = (size_t)1 << 20;
  char *block = malloc(size), *more = malloc(size);
  mps_arena_t arena;
  mps_addr_t p;
  size_t committed, reserved;
  cr_assert_eq(make_cl(&arena, block, size), MPS_RES_OK);
  committed = mps_arena_committed(arena);
  reserved = mps_arena_reserved(arena);
  cr_assert_eq(mps_arena_commit_limit_set(arena, committed), MPS_RES_OK);
  cr_assert_eq(mps_arena_extend(arena, more, size), MPS_RES_COMMIT_LIMIT);
  cr_assert_eq(mps_arena_committed(arena), committed);
  cr_assert_eq(mps_arena_reserved(arena), reserved);
  cr_assert_eq(mps_arena_commit_limit_set(arena, (size_t)-1), MPS_RES_OK);
  cr_assert_eq(mps_arena_extend(arena, more, size), MPS_RES_OK);
  cr_assert_gt(mps_arena_committed(arena), committed);
  cr_assert_eq(grab(&p, arena, grain_of(arena)), MPS_RES_OK);
  drop(arena, p, grain_of(arena));
  mps_arena_destroy(arena);
  free(block);
  free(more);
}

/* Third round (docs/performance.md): a request that committed spare
 * grains can hold whole takes them, even when a lower run of free but
 * uncommitted grains would hold it too; so it commits nothing and gives
 * up no other spare memory in its place. */
Test(arena_vm, spare_grains_that_fit_are_preferred_to_uncommitted_ones)
{
  mps_arena_t arena = make_vm((size_t)16 << 20);
  size_t grain = grain_of(arena), committed;
  mps_addr_t a, b, c, d, q;
  cr_assert_eq(grab(&a, arena, 8 * grain), MPS_RES_OK);
  cr_assert_eq(grab(&b, arena, grain), MPS_RES_OK);
  cr_assert_eq(grab(&c, arena, 4 * grain), MPS_RES_OK);
  cr_assert_eq(grab(&d, arena, grain), MPS_RES_OK);
  cr_assert((uintptr_t)a < (uintptr_t)c);
  drop(arena, a, 8 * grain);
  mps_arena_spare_set(arena, 0.0);          /* a's grains: free, uncommitted */
  cr_assert_eq(mps_arena_spare_committed(arena), 0);
  mps_arena_spare_set(arena, 1.0);
  drop(arena, c, 4 * grain);                /* c's grains: spare */
  committed = mps_arena_committed(arena);
  cr_assert_eq(mps_arena_spare_committed(arena), 4 * grain);
  cr_assert_eq(grab(&q, arena, 4 * grain), MPS_RES_OK);
  cr_assert_eq(q, c);
  cr_assert_eq(mps_arena_committed(arena), committed);
  cr_assert_eq(mps_arena_spare_committed(arena), 0);
  /* Too big for the spare run: first fit, fresh grains at a's place.
   * The spare grains are given up for them, so that committed memory
   * grows only by what is in use. */
  drop(arena, q, 4 * grain);
  cr_assert_eq(mps_arena_committed(arena), committed);
  cr_assert_eq(grab(&q, arena, 6 * grain), MPS_RES_OK);
  cr_assert_eq(q, a);
  cr_assert_eq(mps_arena_spare_committed(arena), 0, "spare memory kept beside fresh grains");
  cr_assert_eq(mps_arena_committed(arena), committed + 2 * grain);
  drop(arena, q, 6 * grain);
  drop(arena, b, grain);
  drop(arena, d, grain);
  mps_arena_destroy(arena);
}

/* Giving up spare memory finds every committed free grain, however the
 * spare and uncommitted runs interleave across table words, and stops at
 * what it was asked for. */
Test(arena_vm, trimming_finds_scattered_spare_grains)
{
  enum { N = 200 };
  mps_arena_t arena = make_vm((size_t)64 << 20);
  size_t grain = grain_of(arena), base_committed, spare;
  mps_addr_t p[N];
  int i;
  mps_arena_spare_set(arena, 1.0);
  base_committed = mps_arena_committed(arena);
  for (i = 0; i < N; ++i)
    cr_assert_eq(grab(&p[i], arena, grain), MPS_RES_OK);
  /* Free runs of 1, 2, 3 ... grains, each after a grain kept. */
  spare = 0;
  for (i = 0; i < N; ++i)
    if ((i * 7) % 5 < 3) {
      drop(arena, p[i], grain);
      p[i] = NULL;
      spare += grain;
    }
  cr_assert_eq(mps_arena_spare_committed(arena), spare);
  /* Lowering the fraction keeps at most spare * used / (1 - spare). */
  mps_arena_spare_set(arena, 0.5);
  cr_assert_leq(mps_arena_spare_committed(arena),
                mps_arena_committed(arena) - mps_arena_spare_committed(arena));
  cr_assert_gt(mps_arena_spare_committed(arena), 0);
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_arena_spare_committed(arena), 0);
  for (i = 0; i < N; ++i)
    if (p[i] != NULL)
      drop(arena, p[i], grain);
  cr_assert_eq(mps_arena_committed(arena), base_committed);
  mps_arena_destroy(arena);
}

/* arena_alloc_zoned: grains wholly inside stripes of the zones asked
 * for, while there are any; then anywhere (without growing for zones). */
Test(arena_vm, zoned_allocation_keeps_to_its_stripes_then_falls_back)
{
  const Shift shift = 20;                      /* 1 MiB stripes */
  const Word zones = (Word)0x6;                /* zones 1 and 2 */
  mps_arena_t arena = make_vm(256u << 20);
  Addr base[80];
  size_t i, in = 0;

  arena_enter(arena);
  /* 256 KiB blocks: four fit in a stripe, eight in a run of the two. */
  for (i = 0; i < 80; ++i) {
    Word z0, z1;
    cr_assert_eq(arena_alloc_zoned(&base[i], arena, 256u << 10, OWNER, zones, shift),
                 MPS_RES_OK);
    z0 = (addr_word(base[i]) >> shift) & (WORD_WIDTH - 1);
    z1 = ((addr_word(base[i]) + (256u << 10) - 1) >> shift) & (WORD_WIDTH - 1);
    if ((zones >> z0 & 1) && (zones >> z1 & 1))
      ++in;
    else
      cr_assert_geq(i, 24, "block %zu fell back while the zones had room", i);
  }
  /* 256 MiB hold four periods of the 64 stripes (32 on 32-bit), so at
   * least three runs of zones 1 and 2: 24 blocks; the rest fell back. */
  cr_assert_geq(in, 24, "%zu blocks in the zones", in);
  cr_assert_lt(in, 80);
  for (i = 0; i < 80; ++i)
    arena_free(arena, base[i], 256u << 10, OWNER);
  /* A stripe smaller than a grain, or no zones: no preference at all. */
  cr_assert_eq(arena_alloc_zoned(&base[0], arena, 256u << 10, OWNER, 0, shift), MPS_RES_OK);
  arena_free(arena, base[0], 256u << 10, OWNER);
  cr_assert_eq(arena_alloc_zoned(&base[0], arena, 256u << 10, OWNER, zones, 4), MPS_RES_OK);
  arena_free(arena, base[0], 256u << 10, OWNER);
  arena_leave(arena);
  mps_arena_destroy(arena);
}

/* A zoned allocation takes spare grains in its stripes before free
 * grains there that would need committing, as a low one does: the
 * collector's segments otherwise committed fresh grains and gave up as
 * much spare memory elsewhere, paying for it again in page faults
 * (docs/performance.md, the spare zones round).  Spare grains outside its
 * stripes do not tempt it. */
Test(arena_vm, zoned_allocation_prefers_spare_grains_in_its_stripes)
{
  const Shift shift = 20;                      /* 1 MiB stripes */
  mps_arena_t arena = make_vm(256u << 20);
  size_t size = 64u << 10, committed;
  Addr probe, a, b, c, outside, again, more;
  Word zone, zones, other;

  mps_arena_spare_set(arena, 1.0);
  arena_enter(arena);
  /* Two stripes wholly free and inside the chunk, a little above the
   * lowest free grain, and the stripe after them. */
  cr_assert_eq(arena_alloc(&probe, arena, size, OWNER), MPS_RES_OK);
  zone = ((addr_word(probe) >> shift) + 2) & (WORD_WIDTH - 1);
  zones = (Word)1 << zone | (Word)1 << ((zone + 1) & (WORD_WIDTH - 1));
  other = (Word)1 << ((zone + 2) & (WORD_WIDTH - 1));
  arena_free(arena, probe, size, OWNER);
  cr_assert_eq(arena_alloc_zoned(&a, arena, size, OWNER, zones, shift), MPS_RES_OK);
  cr_assert_eq(arena_alloc_zoned(&b, arena, size, OWNER, zones, shift), MPS_RES_OK);
  cr_assert_eq(arena_alloc_zoned(&c, arena, size, OWNER, zones, shift), MPS_RES_OK);
  cr_assert(b == addr_add(a, size) && c == addr_add(b, size), "first fit");
  /* a's grains: free and uncommitted, the first fit in the stripes. */
  arena_free(arena, a, size, OWNER);
  arena_leave(arena);
  mps_arena_spare_set(arena, 0.0);
  mps_arena_spare_set(arena, 1.0);
  arena_enter(arena);
  /* Spare grains outside the stripes, and c's in them. */
  cr_assert_eq(arena_alloc_zoned(&outside, arena, size, OWNER, other, shift), MPS_RES_OK);
  cr_assert(other >> ((addr_word(outside) >> shift) & (WORD_WIDTH - 1)) & 1);
  arena_free(arena, outside, size, OWNER);
  arena_free(arena, c, size, OWNER);
  committed = arena->committed;
  cr_assert_eq(arena->spare_committed, 2 * size);
  cr_assert_eq(arena_alloc_zoned(&again, arena, size, OWNER, zones, shift), MPS_RES_OK);
  cr_assert_eq(again, c, "the spare grains in the stripes were passed over");
  cr_assert_eq(arena->committed, committed, "fresh grains committed beside spare ones");
  cr_assert_eq(arena->spare_committed, size);
  /* No spare run in the stripes, only outside them: first fit in the
   * stripes (a's hole), committed fresh, with as much spare memory given
   * up, the grains outside. */
  cr_assert_eq(arena_alloc_zoned(&more, arena, size, OWNER, zones, shift), MPS_RES_OK);
  cr_assert_eq(more, a, "spare grains taken outside the stripes");
  cr_assert_eq(arena->spare_committed, 0, "spare memory kept beside fresh grains");
  cr_assert_eq(arena->committed, committed);
  arena_free(arena, more, size, OWNER);
  arena_free(arena, again, size, OWNER);
  arena_free(arena, b, size, OWNER);
  arena_leave(arena);
  mps_arena_destroy(arena);
}

/* arena_release_grown gives back the chunks grown since its mark, only
 * once they hold nothing but free control memory, and never one grown
 * before the mark, nor the primary; arena_leave gives back what its call
 * grew and left empty. */
Test(arena_vm, releasing_growth_gives_back_only_empty_chunks_grown_since_the_mark)
{
  mps_arena_t arena = make_vm((size_t)256 << 10);
  size_t grain = grain_of(arena), reserved, grown, big = (size_t)448 << 10;
  size_t committed, control;
  Addr low, first;
  void *block;
  Count mark;

  arena_enter(arena);
  reserved = arena->reserved;
  committed = arena->committed;
  mark = arena->grown;
  cr_assert_eq(arena_alloc(&low, arena, grain, OWNER), MPS_RES_OK);
  /* The primary chunk stays, however empty. */
  arena_free(arena, low, grain, OWNER);
  arena_release_grown(arena, mark);
  cr_assert_eq(arena->reserved, reserved);
  cr_assert_eq(arena_alloc(&first, arena, big, OWNER), MPS_RES_OK);
  cr_assert_gt(arena->reserved, reserved, "the arena did not grow");
  /* The grown chunk still holds `first`: kept. */
  arena_release_grown(arena, mark);
  cr_assert_gt(arena->reserved, reserved, "a chunk in use was given back");
  cr_assert(arena_has_addr(arena, first));
  /* A chunk grown before the mark stays, even once empty. */
  grown = arena->reserved;
  mark = arena->grown;
  arena_free(arena, first, big, OWNER);
  arena_release_grown(arena, mark);
  cr_assert_eq(arena->reserved, grown, "a chunk grown before the mark was given back");
  cr_assert_eq(arena_alloc(&first, arena, big, OWNER), MPS_RES_OK);
  cr_assert_eq(arena->reserved, grown);
  /* A chunk grown for control memory (more than any chunk has free):
   * kept while the memory is in use, and given back with its grains
   * once the memory is free. */
  control = arena->control_size;
  cr_assert_eq(arena_control_alloc(&block, arena, big), MPS_RES_OK);
  cr_assert_gt(arena->reserved, grown, "the control memory did not grow the arena");
  arena_release_grown(arena, mark);
  cr_assert_gt(arena->reserved, grown, "a chunk of control memory in use was given back");
  arena_control_free(arena, block, big);
  arena_release_grown(arena, mark);
  cr_assert_eq(arena->reserved, grown);
  cr_assert_eq(arena->control_size, control, "the free control grains were kept");
  cr_assert(arena_has_addr(arena, first));
  /* The call grew the chunk that held `first`, which is now empty: its
   * leave gives it back, and the books are as they were (`low`'s spare
   * grain went when `first` was committed fresh). */
  arena_free(arena, first, big, OWNER);
  arena_leave(arena);
  cr_assert_eq(mps_arena_reserved(arena), reserved);
  cr_assert_eq(mps_arena_committed(arena), committed);
  cr_assert_eq(mps_arena_spare_committed(arena), 0);
  cr_assert_not(mps_arena_has_addr(arena, addr_ptr(first)));
  mps_arena_destroy(arena);
}

/* Client memory comes as the client left it: the chunk's tables must not
 * take stale bytes for owned, committed or pool-assigned grains.  On a
 * block full of ones every grain after the header is still there to
 * allocate, and each counts as newly committed. */
Test(arena_client, tables_on_dirty_memory_start_empty)
{
  size_t size = (size_t)1 << 20;
  char *block = malloc(size);
  mps_arena_t arena;
  mps_addr_t p[256];
  size_t grain, committed, reserved, n = 0, i;
  cr_assert_not_null(block);
  memset(block, 0xFF, size);
  cr_assert_eq(make_cl(&arena, block, size), MPS_RES_OK);
  grain = grain_of(arena);
  committed = mps_arena_committed(arena);
  reserved = mps_arena_reserved(arena);
  arena_enter(arena);
  cr_assert_null(arena_pool_of_addr(arena, addr_add(addr_of_ptr(block), size - grain)));
  arena_leave(arena);
  while (n < 256 && grab(&p[n], arena, grain) == MPS_RES_OK) {
    cr_assert_eq(mps_arena_committed(arena), committed + (n + 1) * grain);
    ++n;
  }
  cr_assert_eq(n, (reserved - committed) / grain, "%zu grains of %zu", n,
               (reserved - committed) / grain);
  for (i = 0; i < n; ++i)
    drop(arena, p[i], grain);
  mps_arena_destroy(arena);
  free(block);
}

/* arena.rst: an arena whose address space cannot be reserved is refused
 * with MPS_RES_RESOURCE, even when the size cannot be rounded up. */
Test(arena_vm, an_impossible_size_is_refused_with_resource)
{
  mps_arena_t arena;
  size_t sizes[2];
  size_t i;
  sizes[0] = SIZE_MAX;
  sizes[1] = SIZE_MAX / 2 + 1;
  for (i = 0; i < 2; ++i) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, sizes[i]);
      cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args),
                   MPS_RES_RESOURCE, "size %#zx", sizes[i]);
    } MPS_ARGS_END(args);
  }
}

/* arena.rst: a VM arena takes MPS_KEY_VMW3_TOP_DOWN (with effect only on
 * Windows), so it is used and removed from the list (keyword.rst). */
Test(arena_vm, takes_the_windows_top_down_key)
{
  mps_arena_t arena;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, (size_t)1 << 20);
    MPS_ARGS_ADD(args, MPS_KEY_VMW3_TOP_DOWN, (mps_bool_t)1);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
    cr_assert_eq(args[0].key, MPS_KEY_ARGS_END);
  } MPS_ARGS_END(args);
  mps_arena_destroy(arena);
}

/* A chunk added for a small request is still as large as the first one
 * (the policy arena_vm.c states), so that the arena does not grow a grain
 * at a time: arena.rst warns that each extension costs collections. */
Test(arena_vm, a_new_chunk_is_at_least_as_large_as_the_first)
{
  mps_arena_t arena = make_vm((size_t)1 << 20);
  size_t grain = grain_of(arena), first = mps_arena_reserved(arena), n, i;
  n = fill_first_chunk(arena, grain);
  cr_assert_geq(mps_arena_reserved(arena) - first, first);
  for (i = 0; i <= n; ++i)
    drop(arena, arena_test_grains[i], grain);
  mps_arena_destroy(arena);
}

/* Spare memory gives way to the tables of a new chunk as it does to
 * grains: with the commit limit at what is committed, and the spare
 * grains too scattered to hold the request, the arena still grows. */
Test(arena_vm, spare_memory_makes_room_for_a_new_chunk)
{
  mps_arena_t arena = make_vm((size_t)1 << 20);
  size_t grain = grain_of(arena), n, i, reserved, committed;
  mps_addr_t p;
  n = grains_of_a_first_chunk(&arena, grain);
  mps_arena_spare_set(arena, 1.0);
  for (i = 0; i < n; ++i)
    cr_assert_eq(grab(&arena_test_grains[i], arena, grain), MPS_RES_OK);
  for (i = 0; i < n; i += 2)
    drop(arena, arena_test_grains[i], grain);   /* no two spare grains adjacent */
  cr_assert_geq(mps_arena_spare_committed(arena), 8 * grain);
  reserved = mps_arena_reserved(arena);
  committed = mps_arena_committed(arena);
  cr_assert_eq(mps_arena_commit_limit_set(arena, committed), MPS_RES_OK);
  cr_assert_eq(grab(&p, arena, 2 * grain), MPS_RES_OK);
  cr_assert_gt(mps_arena_reserved(arena), reserved);
  cr_assert_leq(mps_arena_committed(arena), committed);
  memset(p, 1, 2 * grain);
  drop(arena, p, 2 * grain);
  for (i = 1; i < n; i += 2)
    drop(arena, arena_test_grains[i], grain);
  mps_arena_destroy(arena);
}

/* arena.rst: the minimum size is MPS_WORD_WIDTH grains, whatever smaller
 * size is asked for (not only the tiniest). */
Test(arena_vm, every_size_below_the_minimum_is_raised_to_it)
{
  mps_arena_t arena = make_vm(1);
  size_t grain = grain_of(arena), minimum = MPS_WORD_WIDTH * grain_of(arena);
  size_t sizes[3];
  size_t i;
  mps_arena_destroy(arena);
  sizes[0] = 2 * grain;
  sizes[1] = minimum / 2;
  sizes[2] = minimum - grain;
  for (i = 0; i < 3; ++i) {
    arena = make_vm(sizes[i]);
    cr_assert_geq(mps_arena_reserved(arena), minimum, "size %zu", sizes[i]);
    mps_arena_destroy(arena);
  }
}

#include "../src/arena/chunk.h"

/* What the VM reservations of an arena's chunks have mapped. */
static size_t mapped_in_chunks(mps_arena_t arena)
{
  Ring node, next;
  size_t mapped = 0;
  RING_FOR(node, &arena->chunk_ring, next)
    mapped += vm_mapped(&PARENT(chunk_s, arena_ring, node)->vm);
  return mapped;
}

/* Committed memory is what the chunks' reservations have mapped: grains
 * given back (beyond the spare fraction) are unmapped, and grains
 * reused are mapped again. */
Test(arena_vm, committed_memory_is_what_is_mapped)
{
  enum { GRAINS = 32 };
  mps_arena_t arena = make_vm((size_t)16 << 20);
  size_t grain = grain_of(arena);
  mps_addr_t p;
  cr_assert_eq(mapped_in_chunks(arena), mps_arena_committed(arena));
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(grab(&p, arena, GRAINS * grain), MPS_RES_OK);
  memset(p, 1, GRAINS * grain);
  cr_assert_eq(mapped_in_chunks(arena), mps_arena_committed(arena));
  drop(arena, p, GRAINS * grain);
  cr_assert_eq(mps_arena_spare_committed(arena), 0);
  cr_assert_eq(mapped_in_chunks(arena), mps_arena_committed(arena));
  cr_assert_eq(grab(&p, arena, GRAINS * grain), MPS_RES_OK);
  cr_assert_eq(mapped_in_chunks(arena), mps_arena_committed(arena));
  drop(arena, p, GRAINS * grain);
  mps_arena_destroy(arena);
}

/* Client arenas: the edges of the client's blocks. */

/* A block whose end would wrap round the address space cannot be client
 * memory: it is refused as a bad parameter before anything is laid over
 * it, at creation and by mps_arena_extend. */
Test(arena_client, a_block_past_the_end_of_the_address_space_is_refused)
{
  size_t size = (size_t)1 << 20;
  char *block = malloc(size);
  void *top = (void *)(UINTPTR_MAX - 8191);
  mps_arena_t arena;
  cr_assert_not_null(block);
  cr_assert_eq(make_cl(&arena, top, 65536), MPS_RES_PARAM);
  cr_assert_eq(make_cl(&arena, block, size), MPS_RES_OK);
  cr_assert_eq(mps_arena_extend(arena, top, 65536), MPS_RES_PARAM);
  mps_arena_destroy(arena);
  free(block);
}

/* Bad arguments are refused as such (arena.rst): no base, a base of
 * NULL, a size of zero, or a grain smaller than a pointer. */
Test(arena_client, a_null_base_no_size_or_a_tiny_grain_is_refused)
{
  size_t size = (size_t)1 << 16;
  char *block = malloc(size);
  mps_arena_t arena;
  cr_assert_not_null(block);
  cr_assert_eq(make_cl(&arena, NULL, size), MPS_RES_PARAM);
  cr_assert_eq(make_cl(&arena, block, 0), MPS_RES_PARAM);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_CL_BASE, block);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, size);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_GRAIN_SIZE, (size_t)4);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_cl(), args), MPS_RES_PARAM);
  } MPS_ARGS_END(args);
  free(block);
}

/* A partial grain at the end of a block is not used: what the arena
 * reserves is whole grains, at creation and for each extension. */
Test(arena_client, a_partial_grain_at_the_end_of_a_block_is_left_out)
{
  size_t grain = 8192;
  char *block = aligned_alloc(grain, 64 * grain + grain);
  char *more = aligned_alloc(grain, 32 * grain + grain);
  mps_arena_t arena;
  cr_assert_not_null(block);
  cr_assert_not_null(more);
  cr_assert_eq(make_cl(&arena, block, 64 * grain + 100), MPS_RES_OK);
  cr_assert_eq(grain_of(arena), grain);
  cr_assert_eq(mps_arena_reserved(arena), 64 * grain);
  cr_assert_eq(mps_arena_extend(arena, more, 32 * grain + 100), MPS_RES_OK);
  cr_assert_eq(mps_arena_reserved(arena), 96 * grain);
  mps_arena_destroy(arena);
  free(block);
  free(more);
}

/* arena.rst: a block too small for the arena's own structures is refused
 * with MPS_RES_MEMORY.  One just big enough for them and no more is too
 * small as well: an arena made must have a grain to allocate. */
Test(arena_client, a_block_its_tables_would_fill_is_too_small)
{
  size_t grain = 8192, k;
  char *block = aligned_alloc(grain, 16 * grain);
  bool refused = false, made = false;
  cr_assert_not_null(block);
  for (k = 1; k <= 16; ++k) {
    mps_arena_t arena;
    mps_addr_t p;
    mps_res_t res = make_cl(&arena, block, k * grain);
    if (res == MPS_RES_MEMORY) {
      cr_assert_not(made, "%zu grains refused after a smaller block was taken", k);
      refused = true;
      continue;
    }
    cr_assert_eq(res, MPS_RES_OK);
    made = true;
    cr_assert_eq(grab(&p, arena, grain), MPS_RES_OK, "no grain in a block of %zu", k);
    drop(arena, p, grain);
    mps_arena_destroy(arena);
  }
  cr_assert(refused && made);
  free(block);
}

/* An extension's tables may take the arena exactly to its commit limit. */
Test(arena_client, an_extension_may_reach_the_commit_limit_exactly)
{
  size_t grain = 8192, size = 128 * grain, before, header;
  char *block = aligned_alloc(grain, size), *more = aligned_alloc(grain, size);
  mps_arena_t arena;
  cr_assert_not_null(block);
  cr_assert_not_null(more);
  /* What the new chunk's tables cost, measured on one arena ... */
  cr_assert_eq(make_cl(&arena, block, size), MPS_RES_OK);
  before = mps_arena_committed(arena);
  cr_assert_eq(mps_arena_extend(arena, more, size), MPS_RES_OK);
  header = mps_arena_committed(arena) - before;
  cr_assert_gt(header, 0);
  mps_arena_destroy(arena);
  /* ... is allowed on another with just that much room left. */
  cr_assert_eq(make_cl(&arena, block, size), MPS_RES_OK);
  cr_assert_eq(mps_arena_committed(arena), before);
  cr_assert_eq(mps_arena_commit_limit_set(arena, before + header), MPS_RES_OK);
  cr_assert_eq(mps_arena_extend(arena, more, size), MPS_RES_OK);
  cr_assert_eq(mps_arena_committed(arena), mps_arena_commit_limit(arena));
  mps_arena_destroy(arena);
  free(block);
  free(more);
}

/* Blocks next to the arena's chunks, on either side, do not overlap
 * them and are taken; a block inside any chunk, not only the first,
 * overlaps it and is refused. */
Test(arena_client, adjacent_blocks_are_taken_and_blocks_inside_any_chunk_refused)
{
  size_t grain = 8192, mb = (size_t)1 << 20;
  char *block = aligned_alloc(grain, 3 * mb);
  mps_arena_t arena;
  cr_assert_not_null(block);
  cr_assert_eq(make_cl(&arena, block + mb, mb), MPS_RES_OK);
  cr_assert_eq(mps_arena_extend(arena, block + 2 * mb, mb), MPS_RES_OK);
  cr_assert_eq(mps_arena_extend(arena, block, mb), MPS_RES_OK);
  cr_assert_eq(mps_arena_reserved(arena), 3 * mb);
  cr_assert_eq(mps_arena_extend(arena, block + mb + 16 * grain, 8 * grain), MPS_RES_PARAM);
  cr_assert_eq(mps_arena_extend(arena, block + 2 * mb + 16 * grain, 8 * grain),
               MPS_RES_PARAM);
  cr_assert_eq(mps_arena_extend(arena, block + 16 * grain, 8 * grain), MPS_RES_PARAM);
  cr_assert_eq(mps_arena_reserved(arena), 3 * mb);
  mps_arena_destroy(arena);
  free(block);
}

/* More of the arena's edges. */

/* The zone, among the word's, of the stripe of 2^shift bytes holding a. */
static Word zone_of(Addr a, Shift shift)
{
  return (addr_word(a) >> shift) & (WORD_WIDTH - 1);
}

/* arena_alloc_zoned: a request of exactly one stripe fits a stripe of its
 * zone, and a request of two stripes fits a run of two adjacent zones;
 * neither falls back while the zones have room. */
Test(arena_vm, zoned_requests_fill_whole_stripes_and_runs_of_adjacent_stripes)
{
  const Shift shift = 20;                      /* 1 MiB stripes */
  mps_arena_t arena = make_vm(256u << 20);
  Addr one, two;
  arena_enter(arena);
  cr_assert_eq(arena_alloc_zoned(&one, arena, (size_t)1 << shift, OWNER, (Word)0x2, shift),
               MPS_RES_OK);
  cr_assert_eq(zone_of(one, shift), 1);
  cr_assert(addr_is_aligned(one, (Size)1 << shift), "a stripe-sized block straddles stripes");
  cr_assert_eq(arena_alloc_zoned(&two, arena, (size_t)2 << shift, OWNER, (Word)0xC, shift),
               MPS_RES_OK);
  cr_assert_eq(zone_of(two, shift), 2);
  cr_assert_eq(zone_of(addr_add(two, ((Size)2 << shift) - 1), shift), 3);
  arena_free(arena, one, (size_t)1 << shift, OWNER);
  arena_free(arena, two, (size_t)2 << shift, OWNER);
  arena_leave(arena);
  mps_arena_destroy(arena);
}

/* An allocation refused at the commit limit changes nothing: the spare
 * grains it would have used (with fresh ones after them) stay free and
 * committed, and a request they hold then gets them without committing. */
Test(arena_vm, an_allocation_refused_at_the_commit_limit_leaves_spare_grains_spare)
{
  mps_arena_t arena = make_vm((size_t)16 << 20);
  size_t grain = grain_of(arena), committed;
  mps_addr_t p, q;
  mps_arena_spare_set(arena, 1.0);
  cr_assert_eq(grab(&p, arena, 2 * grain), MPS_RES_OK);
  drop(arena, p, 2 * grain);
  committed = mps_arena_committed(arena);
  cr_assert_eq(mps_arena_spare_committed(arena), 2 * grain);
  cr_assert_eq(mps_arena_commit_limit_set(arena, committed), MPS_RES_OK);
  cr_assert_eq(grab(&q, arena, 4 * grain), MPS_RES_COMMIT_LIMIT);
  cr_assert_eq(mps_arena_committed(arena), committed);
  cr_assert_eq(mps_arena_spare_committed(arena), 2 * grain);
  cr_assert_eq(grab(&q, arena, 2 * grain), MPS_RES_OK);
  cr_assert_eq(q, p);
  cr_assert_eq(mps_arena_committed(arena), committed);
  cr_assert_eq(mps_arena_spare_committed(arena), 0);
  drop(arena, q, 2 * grain);
  cr_assert_eq(mps_arena_commit_limit_set(arena, SIZE_MAX), MPS_RES_OK);
  mps_arena_destroy(arena);
}

/* The tract of addr, found the long way: in the chunk that holds it. */
static Tract tract_in_its_chunk(mps_arena_t arena, mps_addr_t addr)
{
  Ring node, next;
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    if (chunk_contains(chunk, addr_of_ptr(addr)))
      return &chunk->tracts[chunk_index(chunk, addr_of_ptr(addr))];
  }
  return NULL;
}

/* arena_tract_of_addr remembers the chunk it last looked in; an address
 * in another chunk, or in none, is still looked up where it is. */
Test(arena_vm, tracts_are_found_in_whichever_chunk_holds_them)
{
  mps_arena_t arena = make_vm((size_t)1 << 20);
  size_t grain = grain_of(arena);
  mps_addr_t p, q;
  int local;
  int i;
  cr_assert_eq(grab(&p, arena, grain), MPS_RES_OK);
  cr_assert_eq(grab(&q, arena, (size_t)4 << 20), MPS_RES_OK);   /* a second chunk */
  arena_enter(arena);
  for (i = 0; i < 2; ++i) {
    cr_assert_eq(arena_tract_of_addr(arena, addr_of_ptr(p)), tract_in_its_chunk(arena, p));
    cr_assert_eq(arena_tract_of_addr(arena, addr_of_ptr(q)), tract_in_its_chunk(arena, q));
    cr_assert_eq(arena_tract_of_addr(arena, addr_of_ptr(q))->pool, OWNER);
    cr_assert_null(arena_tract_of_addr(arena, addr_of_ptr(&local)));
  }
  arena_leave(arena);
  drop(arena, q, (size_t)4 << 20);
  drop(arena, p, grain);
  mps_arena_destroy(arena);
}

/* Control memory comes from the arena's grains: at the commit limit it is
 * refused with MPS_RES_COMMIT_LIMIT, both to the arena's own callers and
 * for the collector's state a first root needs, and nothing changes; with
 * the limit raised, both succeed. */
Test(arena_vm, control_memory_refused_at_the_commit_limit_leaves_the_arena_usable)
{
  static mps_addr_t table[1];
  mps_arena_t arena = make_vm((size_t)16 << 20);
  size_t committed = mps_arena_committed(arena);
  mps_root_t root;
  void *block;
  cr_assert_eq(mps_arena_commit_limit_set(arena, committed), MPS_RES_OK);
  arena_enter(arena);
  cr_assert_eq(arena_control_alloc(&block, arena, 64), MPS_RES_COMMIT_LIMIT);
  arena_leave(arena);
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, table, 1),
               MPS_RES_COMMIT_LIMIT);
  cr_assert_eq(mps_arena_committed(arena), committed);
  cr_assert_eq(mps_arena_commit_limit_set(arena, SIZE_MAX), MPS_RES_OK);
  arena_enter(arena);
  cr_assert_eq(arena_control_alloc(&block, arena, 64), MPS_RES_OK);
  arena_control_free(arena, block, 64);
  arena_leave(arena);
  cr_assert_eq(mps_root_create_table(&root, arena, mps_rank_exact(), 0, table, 1),
               MPS_RES_OK);
  mps_root_destroy(root);
  mps_arena_destroy(arena);
}

/* arena.rst: the spare fraction may be anything from 0 to 1 and the pause
 * time anything not negative, ends included, at creation and after. */
Test(arena_vm, settings_at_the_ends_of_their_ranges_are_accepted)
{
  mps_arena_t arena;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, 1.0);
    MPS_ARGS_ADD(args, MPS_KEY_PAUSE_TIME, 0.0);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_arena_spare(arena), 1.0);
  cr_assert_eq(mps_arena_pause_time(arena), 0.0);
  mps_arena_pause_time_set(arena, 2.5);
  cr_assert_eq(mps_arena_pause_time(arena), 2.5);
  mps_arena_pause_time_set(arena, 0.0);
  cr_assert_eq(mps_arena_pause_time(arena), 0.0);
  mps_arena_spare_set(arena, 0.0);
  cr_assert_eq(mps_arena_spare(arena), 0.0);
  mps_arena_destroy(arena);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_SPARE, 0.0);
    cr_assert_eq(mps_arena_create_k(&arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_arena_spare(arena), 0.0);
  mps_arena_destroy(arena);
}

/* Two chunks of a fresh 1 MiB arena that keeps all its spare memory, each
 * with spare grains: eight in the first, 4 MiB in the one grown after. */
static mps_arena_t vm_with_spare_in_two_chunks(size_t *grain_o)
{
  mps_arena_t arena = make_vm((size_t)1 << 20);
  size_t grain = grain_of(arena), reserved = mps_arena_reserved(arena);
  mps_addr_t a, p;
  *grain_o = grain;
  mps_arena_spare_set(arena, 1.0);
  cr_assert_eq(grab(&a, arena, 8 * grain), MPS_RES_OK);
  cr_assert_eq(grab(&p, arena, (size_t)4 << 20), MPS_RES_OK);
  cr_assert_gt(mps_arena_reserved(arena), reserved, "no second chunk");
  drop(arena, a, 8 * grain);
  drop(arena, p, (size_t)4 << 20);
  cr_assert_eq(mps_arena_spare_committed(arena), 8 * grain + ((size_t)4 << 20));
  return arena;
}

/* Giving up spare memory stops once there is as little as asked for: the
 * chunks after the one that got there keep theirs.  Half a grain over the
 * limit costs one whole grain, not every grain of another chunk. */
Test(arena_vm, giving_up_spare_memory_stops_in_the_chunk_where_it_is_enough)
{
  size_t grain, committed, spare;
  mps_arena_t arena = vm_with_spare_in_two_chunks(&grain);
  committed = mps_arena_committed(arena);
  spare = mps_arena_spare_committed(arena);
  cr_assert_eq(mps_arena_commit_limit_set(arena, committed - grain / 2), MPS_RES_OK);
  cr_assert_eq(mps_arena_committed(arena), committed - grain);
  cr_assert_eq(mps_arena_spare_committed(arena), spare - grain);
  cr_assert_eq(mps_arena_commit_limit_set(arena, SIZE_MAX), MPS_RES_OK);
  mps_arena_destroy(arena);
}

/* The chunk of the arena at the highest address. */
static Chunk highest_chunk(mps_arena_t arena)
{
  Ring node, next;
  Chunk highest = NULL;
  RING_FOR(node, &arena->chunk_ring, next) {
    Chunk chunk = PARENT(chunk_s, arena_ring, node);
    if (highest == NULL || addr_word(chunk->base) > addr_word(highest->base))
      highest = chunk;
  }
  return highest;
}

/* arena_alloc_high takes the highest free grains of the arena: the top of
 * its highest chunk, whichever chunk came first. */
Test(arena_vm, high_allocation_takes_the_top_of_the_highest_chunk)
{
  size_t grain;
  mps_arena_t arena = vm_with_spare_in_two_chunks(&grain);
  Chunk top = highest_chunk(arena);
  Addr p;
  arena_enter(arena);
  cr_assert_eq(arena_alloc_high(&p, arena, grain, OWNER), MPS_RES_OK);
  cr_assert_eq(addr_word(p) + grain, addr_word(chunk_page_base(top, top->pages)));
  arena_free(arena, p, grain, OWNER);
  arena_leave(arena);
  mps_arena_destroy(arena);
}

/* A fresh arena whose first three free grains are, in order, free and
 * uncommitted, spare, and free and uncommitted, with nothing committed
 * after them: a request for three grains then commits two stretches. */
static mps_arena_t vm_with_a_spare_grain_between_fresh_ones(size_t *grain_o)
{
  mps_arena_t arena = make_vm((size_t)16 << 20);
  size_t grain = grain_of(arena);
  mps_addr_t a, b, c;
  *grain_o = grain;
  cr_assert_eq(grab(&a, arena, grain), MPS_RES_OK);
  cr_assert_eq(grab(&b, arena, grain), MPS_RES_OK);
  cr_assert_eq(grab(&c, arena, grain), MPS_RES_OK);
  cr_assert_eq((char *)b, (char *)a + grain);
  cr_assert_eq((char *)c, (char *)b + grain);
  mps_arena_spare_set(arena, 0.0);
  drop(arena, a, grain);
  drop(arena, c, grain);
  mps_arena_spare_set(arena, 1.0);
  drop(arena, b, grain);
  cr_assert_eq(mps_arena_spare_committed(arena), grain);
  return arena;
}

/* A request that grows the arena asks four things of it and the system,
 * and each may be refused (arena_fail_after): the request itself
 * (MPS_RES_MEMORY), the new chunk's address space (MPS_RES_RESOURCE),
 * the commit of its header (MPS_RES_MEMORY) and that of the grains
 * (MPS_RES_MEMORY).  Whichever is refused, nothing stays reserved,
 * committed or mapped; there is no fifth; and the request then succeeds. */
Test(arena_vm, each_step_of_a_growth_can_be_refused_and_leaves_nothing)
{
  static const mps_res_t expected[] = {
    MPS_RES_MEMORY, MPS_RES_RESOURCE, MPS_RES_MEMORY, MPS_RES_MEMORY, MPS_RES_OK
  };
  size_t grain, n, i, reserved, committed;
  mps_arena_t arena = a_full_first_chunk(&grain, &n);
  Count refused;
  mps_addr_t p;
  reserved = mps_arena_reserved(arena);
  committed = mps_arena_committed(arena);
  for (refused = 1; refused <= 5; ++refused) {
    mps_res_t res;
    arena_enter(arena);
    arena_fail_after(arena, refused);
    arena_leave(arena);
    res = grab(&p, arena, grain);
    cr_assert_eq(res, expected[refused - 1], "request %u: %d", (unsigned)refused, res);
    if (res == MPS_RES_OK) {
      cr_assert_eq(arena->fail_countdown, 1, "a fifth request was made");
      break;
    }
    cr_assert_eq(arena->fail_countdown, 0);
    cr_assert_eq(mps_arena_reserved(arena), reserved, "request %u kept a chunk", (unsigned)refused);
    cr_assert_eq(mps_arena_committed(arena), committed, "request %u", (unsigned)refused);
    cr_assert_eq(mapped_in_chunks(arena), committed, "request %u", (unsigned)refused);
  }
  arena_fail_after(arena, 0);
  cr_assert_gt(mps_arena_reserved(arena), reserved);
  cr_assert_eq(mapped_in_chunks(arena), mps_arena_committed(arena));
  memset(p, 1, grain);
  drop(arena, p, grain);
  for (i = 0; i < n; ++i)
    drop(arena, arena_test_grains[i], grain);
  mps_arena_destroy(arena);
}

/* When the system refuses to commit part of a request (here injected:
 * arena_fail_after), the stretches already committed for it are given
 * back: the allocation fails with MPS_RES_MEMORY, what is committed and
 * mapped is as before, and the same request then succeeds.  Refusing the
 * first stretch or the second makes no difference. */
Test(arena_vm, a_commit_refused_part_way_gives_back_what_it_had_committed)
{
  Count refused;
  /* Requests counted: the allocation itself, then each stretch. */
  for (refused = 2; refused <= 3; ++refused) {
    size_t grain, committed;
    mps_arena_t arena = vm_with_a_spare_grain_between_fresh_ones(&grain);
    mps_addr_t p;
    committed = mps_arena_committed(arena);
    arena_enter(arena);
    arena_fail_after(arena, refused);
    arena_leave(arena);
    cr_assert_eq(grab(&p, arena, 3 * grain), MPS_RES_MEMORY, "stretch %u", (unsigned)refused - 1);
    cr_assert_eq(mps_arena_committed(arena), committed);
    cr_assert_eq(mps_arena_spare_committed(arena), grain);
    cr_assert_eq(mapped_in_chunks(arena), committed, "stretch %u", (unsigned)refused - 1);
    cr_assert_eq(grab(&p, arena, 3 * grain), MPS_RES_OK);
    memset(p, 1, 3 * grain);
    cr_assert_eq(mapped_in_chunks(arena), mps_arena_committed(arena));
    drop(arena, p, 3 * grain);
    mps_arena_destroy(arena);
  }
}
