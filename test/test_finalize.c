/* Unit tests for finalization (src/gc/finalize.c; topic/finalization.rst):
 * objects in AMC, AMCZ, AMS and LO registered, dropped and collected give
 * exactly one message per registration, whose reference is the object
 * (at its new address if it moved) and whose contents stay intact while
 * the message is queued or held; nothing is finalized while reachable
 * from a root, from another object or from an ambiguous reference; the
 * finalized object's children and weak references to it survive until
 * the message is discarded; definalization, double registration, the
 * message type disabled, resurrection, commit-limit failure, arena
 * destroy with registrations and messages outstanding, and misuse.
 *
 * Objects are support/gcobj.c's (included, as test_gc_client does): each
 * has a unique id and data derived from it, so an intact object is
 * recognised wherever it moved. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mps.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpscawl.h"
#include "../include/mpsclo.h"
#include "../include/mpscmvff.h"
#include "../include/mpscsnc.h"
#include "../include/mpslib.h"
#include "../stress/support/gcobj.c"
#include "support/checks.h"
#include "support/reports.h"

enum { P_AMC, P_AMCZ, P_AMS, P_LO, P_AWL, NPOOLS };
enum { NROOTS = 64, NAMBIG = 8, NWEAK = 8 };

typedef struct tf_s {
  mps_arena_t arena;
  mps_fmt_t fmt;
  mps_chain_t chain;
  mps_pool_t pool[NPOOLS];
  mps_ap_t ap[NPOOLS];
  mps_root_t root, aroot, wroot;
  mps_addr_t refs[NROOTS];     /* exact root */
  mps_addr_t ambig[NAMBIG];    /* ambiguous root */
  mps_addr_t weak[NWEAK];      /* weak root */
} tf_s;

static tf_s tf;

static const bool tf_leaf[NPOOLS] = {false, true, false, true, false};

static void tf_open(size_t arena_size)
{
  mps_gen_param_s gens[2] = {{256, 0.5}, {1024, 0.5}};
  mps_pool_class_t classes[NPOOLS];
  int k;
  memset(&tf, 0, sizeof tf);
  classes[P_AMC] = mps_class_amc();
  classes[P_AMCZ] = mps_class_amcz();
  classes[P_AMS] = mps_class_ams();
  classes[P_LO] = mps_class_lo();
  classes[P_AWL] = mps_class_awl();
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, arena_size);
    cr_assert_eq(mps_arena_create_k(&tf.arena, mps_arena_class_vm(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(gcobj_fmt_create(&tf.fmt, tf.arena), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&tf.chain, tf.arena, 2, gens), MPS_RES_OK);
  for (k = 0; k < NPOOLS; ++k) {
    MPS_ARGS_BEGIN(args) {
      MPS_ARGS_ADD(args, MPS_KEY_FORMAT, tf.fmt);
      MPS_ARGS_ADD(args, MPS_KEY_CHAIN, tf.chain);
      if (k == P_AMS)
        MPS_ARGS_ADD(args, MPS_KEY_AMS_SUPPORT_AMBIGUOUS, 1);
      cr_assert_eq(mps_pool_create_k(&tf.pool[k], tf.arena, classes[k], args), MPS_RES_OK);
    } MPS_ARGS_END(args);
    cr_assert_eq(mps_ap_create_k(&tf.ap[k], tf.pool[k], mps_args_none), MPS_RES_OK);
  }
  cr_assert_eq(mps_root_create_table(&tf.root, tf.arena, mps_rank_exact(), 0, tf.refs,
                                     NROOTS), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&tf.aroot, tf.arena, mps_rank_ambig(), 0, tf.ambig,
                                     NAMBIG), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&tf.wroot, tf.arena, mps_rank_weak(), 0, tf.weak,
                                     NWEAK), MPS_RES_OK);
}

static void setup(void)
{
  tf_open((size_t)32 << 20);
  mps_message_type_enable(tf.arena, mps_message_type_finalization());
}

static void tf_close(void)
{
  int k;
  mps_arena_park(tf.arena);
  mps_root_destroy(tf.wroot);
  mps_root_destroy(tf.aroot);
  mps_root_destroy(tf.root);
  for (k = 0; k < NPOOLS; ++k) {
    mps_ap_destroy(tf.ap[k]);
    mps_pool_destroy(tf.pool[k]);
  }
  mps_chain_destroy(tf.chain);
  mps_fmt_destroy(tf.fmt);
  mps_arena_destroy(tf.arena);
}

static void teardown(void) { tf_close(); }

/* A new object in pool k with id `id` into tf.refs[slot]. */
static void tf_new(int k, size_t slot, mps_word_t id)
{
  mps_addr_t p;
  size_t nrefs = tf_leaf[k] ? 0 : 2;
  cr_assert_eq(gcobj_alloc(&p, tf.ap[k], id, nrefs, 5, NULL), MPS_RES_OK);
  tf.refs[slot] = p;
}

/* A full collection.  The allocation points are made again first, so
 * that no object sits in a segment a buffer is filling (which is never
 * condemned). */
static void tf_collect(void)
{
  int k;
  for (k = 0; k < NPOOLS; ++k) {
    mps_ap_destroy(tf.ap[k]);
    cr_assert_eq(mps_ap_create_k(&tf.ap[k], tf.pool[k], mps_args_none), MPS_RES_OK);
  }
  mps_arena_collect(tf.arena);
}

/* Get every queued finalization message into got[] (at most max); return
 * how many. */
static size_t tf_get_all(mps_message_t got[], size_t max)
{
  size_t n = 0;
  mps_message_t m;
  while (mps_message_get(&m, tf.arena, mps_message_type_finalization())) {
    cr_assert(n < max, "more finalization messages than expected");
    got[n++] = m;
  }
  return n;
}

static mps_addr_t tf_ref(mps_message_t m)
{
  mps_addr_t ref = NULL;
  mps_message_finalization_ref(&ref, tf.arena, m);
  cr_assert_not_null(ref);
  return ref;
}

static void tf_discard_all(mps_message_t got[], size_t n)
{
  size_t i;
  for (i = 0; i < n; ++i)
    mps_message_discard(tf.arena, got[i]);
}

/* How many objects with id `id` exist in the heap (0 once reclaimed). */
typedef struct tf_count_s {
  mps_word_t id;
  size_t found;
} tf_count_s;

static void tf_count_step(mps_addr_t addr, mps_fmt_t fmt, mps_pool_t pool, void *p, size_t s)
{
  tf_count_s *c = p;
  (void)fmt;
  (void)pool;
  (void)s;
  if ((*(mps_word_t *)addr & 3u) == 1u && gcobj_id(addr) == c->id)
    ++c->found;
}

static size_t tf_count(mps_word_t id)
{
  tf_count_s c = {id, 0};
  mps_arena_park(tf.arena);
  mps_arena_formatted_objects_walk(tf.arena, tf_count_step, &c, 0);
  mps_arena_release(tf.arena);
  return c.found;
}

TestSuite(finalize, .init = setup, .fini = teardown);

/* For each pool: half of the registered objects are dropped; exactly
 * those are finalized, once each; their contents stay intact while the
 * messages are held, across more collections that move AMC objects; after
 * the discard they are reclaimed. */
static void tf_drop_half(int k)
{
  enum { N = 20 };
  mps_message_t got[N];
  bool seen[N];
  size_t n, i;
  mps_word_t base = 1000;
  memset(seen, 0, sizeof seen);
  for (i = 0; i < N; ++i) {
    tf_new(k, i, base + i);
    cr_assert_eq(mps_finalize(tf.arena, &tf.refs[i]), MPS_RES_OK);
  }
  for (i = 0; i < N; i += 2)
    tf.refs[i] = NULL;                   /* drop the even ones */
  tf_collect();
  n = tf_get_all(got, N);
  cr_assert_eq(n, N / 2, "pool %d: %zu messages for %d dropped objects", k, n, N / 2);
  for (i = 0; i < n; ++i) {
    mps_addr_t ref = tf_ref(got[i]);
    mps_word_t id;
    cr_assert_eq(mps_message_type(tf.arena, got[i]), mps_message_type_finalization());
    cr_assert_eq(mps_message_clock(tf.arena, got[i]), 0);  /* message.rst */
    cr_assert(gcobj_intact(ref));
    id = gcobj_id(ref);
    cr_assert(id >= base && id < base + N && (id - base) % 2 == 0,
              "finalized object %lu was reachable", (unsigned long)id);
    cr_assert_not(seen[id - base], "object %lu finalized twice", (unsigned long)id);
    seen[id - base] = true;
  }
  /* Held messages keep their objects intact, wherever they move. */
  tf_collect();
  tf_collect();
  cr_assert_not(mps_message_poll(tf.arena));
  for (i = 0; i < n; ++i) {
    mps_addr_t ref = tf_ref(got[i]);
    cr_assert(gcobj_intact(ref));
    cr_assert_eq(tf_count(gcobj_id(ref)), 1);
  }
  for (i = 1; i < N; i += 2) {
    cr_assert(gcobj_intact(tf.refs[i]));
    cr_assert_eq(gcobj_id(tf.refs[i]), base + i);
  }
  tf_discard_all(got, n);
  tf_collect();
  cr_assert_not(mps_message_poll(tf.arena));
  for (i = 0; i < N; i += 2)
    cr_assert_eq(tf_count(base + i), 0, "object %zu not reclaimed after discard", i);
  for (i = 1; i < N; i += 2)
    cr_assert_eq(tf_count(base + i), 1);
  /* The live ones are still registered: dropping them finalizes them. */
  for (i = 1; i < N; i += 2)
    tf.refs[i] = NULL;
  tf_collect();
  n = tf_get_all(got, N);
  cr_assert_eq(n, N / 2);
  tf_discard_all(got, n);
}

Test(finalize, amc_drop_half) { tf_drop_half(P_AMC); }
Test(finalize, amcz_drop_half) { tf_drop_half(P_AMCZ); }
Test(finalize, ams_drop_half) { tf_drop_half(P_AMS); }
Test(finalize, lo_drop_half) { tf_drop_half(P_LO); }
Test(finalize, awl_drop_half) { tf_drop_half(P_AWL); }

/* Queued (not yet got) messages keep their objects too, and the reference
 * follows an AMC object that moves. */
Test(finalize, queued_message_keeps_and_follows_object)
{
  mps_message_t got[1];
  mps_addr_t before;
  tf_new(P_AMC, 0, 7);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  tf.refs[0] = NULL;
  tf_collect();
  cr_assert(mps_message_poll(tf.arena));
  tf_collect();
  tf_collect();
  cr_assert_eq(tf_get_all(got, 1), 1);
  before = tf_ref(got[0]);
  cr_assert(gcobj_intact(before));
  cr_assert_eq(gcobj_id(before), 7);
  tf_collect();
  cr_assert(gcobj_intact(tf_ref(got[0])));
  cr_assert_eq(gcobj_id(tf_ref(got[0])), 7);
  tf_discard_all(got, 1);
}

/* Reachable through another object: not finalized until unlinked.  An
 * unregistered child of a finalized object stays alive while the message
 * is held.  When a registered parent and its registered child die
 * together both are finalized (in the same collection here: registrations
 * are judged one by one, as design/poolmrg.txt's guardians were). */
static void tf_chain(int k)
{
  mps_message_t got[2];
  mps_addr_t parent;
  size_t n, i;
  bool seen1 = false, seen2 = false;
  tf_new(P_AMC, 0, 1);                       /* the rooted parent */
  tf_new(k, 1, 2);                           /* registered child */
  gcobj_set_ref(tf.refs[0], 0, tf.refs[1]);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[1]), MPS_RES_OK);
  tf.refs[1] = NULL;
  tf_collect();
  tf_collect();
  cr_assert_not(mps_message_poll(tf.arena), "finalized while reachable from an object");
  cr_assert(gcobj_intact(gcobj_ref(tf.refs[0], 0)));
  gcobj_set_ref(tf.refs[0], 0, NULL);        /* unlink */
  tf_collect();
  cr_assert_eq(tf_get_all(got, 2), 1);
  cr_assert_eq(gcobj_id(tf_ref(got[0])), 2);
  tf_discard_all(got, 1);

  /* A registered parent with an unregistered child. */
  tf_new(k, 1, 3);
  gcobj_set_ref(tf.refs[0], 0, tf.refs[1]);
  tf.refs[1] = NULL;
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  tf.refs[0] = NULL;
  tf_collect();
  cr_assert_eq(tf_get_all(got, 2), 1);
  tf_collect();
  parent = tf_ref(got[0]);
  cr_assert(gcobj_intact(parent));
  cr_assert_eq(gcobj_id(parent), 1);
  cr_assert(gcobj_intact(gcobj_ref(parent, 0)));
  cr_assert_eq(gcobj_id(gcobj_ref(parent, 0)), 3);
  tf_discard_all(got, 1);
  tf_collect();
  cr_assert_eq(tf_count(1), 0);
  cr_assert_eq(tf_count(3), 0);

  /* Both registered, both unreachable. */
  tf_new(P_AMS, 0, 4);
  tf_new(k, 1, 5);
  gcobj_set_ref(tf.refs[0], 1, tf.refs[1]);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[1]), MPS_RES_OK);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  tf.refs[0] = tf.refs[1] = NULL;
  tf_collect();
  n = tf_get_all(got, 2);
  cr_assert_eq(n, 2);
  for (i = 0; i < n; ++i) {
    mps_word_t id = gcobj_id(tf_ref(got[i]));
    seen1 |= id == 4;
    seen2 |= id == 5;
  }
  cr_assert(seen1 && seen2);
  tf_discard_all(got, n);
  tf_collect();
  cr_assert_not(mps_message_poll(tf.arena));
  cr_assert_eq(tf_count(4), 0);
  cr_assert_eq(tf_count(5), 0);
}

Test(finalize, reachable_from_object_amc) { tf_chain(P_AMC); }
Test(finalize, reachable_from_object_ams) { tf_chain(P_AMS); }
Test(finalize, reachable_from_object_lo) { tf_chain(P_LO); }
Test(finalize, reachable_from_object_awl) { tf_chain(P_AWL); }

/* An ambiguous reference keeps the object from finalization. */
static void tf_ambig(int k)
{
  mps_message_t got[1];
  tf_new(k, 0, 5);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  tf.ambig[3] = tf.refs[0];
  tf.refs[0] = NULL;
  tf_collect();
  tf_collect();
  cr_assert_not(mps_message_poll(tf.arena), "finalized while ambiguously referenced");
  cr_assert(gcobj_intact(tf.ambig[3]));  /* pinned: not moved */
  tf.ambig[3] = NULL;
  tf_collect();
  cr_assert_eq(tf_get_all(got, 1), 1);
  cr_assert_eq(gcobj_id(tf_ref(got[0])), 5);
  tf_discard_all(got, 1);
}

Test(finalize, ambiguous_reference_amc) { tf_ambig(P_AMC); }
Test(finalize, ambiguous_reference_ams) { tf_ambig(P_AMS); }

Test(finalize, definalize)
{
  mps_message_t got[4];
  mps_addr_t never;
  tf_new(P_AMC, 0, 1);
  tf_new(P_AMS, 1, 2);
  tf_new(P_AMS, 2, 3);
  never = tf.refs[2];
  cr_assert_eq(mps_definalize(tf.arena, &never), MPS_RES_FAIL);  /* not registered */
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[1]), MPS_RES_OK);
  tf_collect();                                  /* moves the AMC object */
  cr_assert_eq(mps_definalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  cr_assert_eq(mps_definalize(tf.arena, &tf.refs[0]), MPS_RES_FAIL);
  cr_assert_eq(mps_definalize(tf.arena, &tf.refs[2]), MPS_RES_FAIL);
  tf.refs[0] = tf.refs[1] = tf.refs[2] = NULL;
  tf_collect();
  cr_assert_eq(tf_get_all(got, 4), 1);
  cr_assert_eq(gcobj_id(tf_ref(got[0])), 2);
  tf_discard_all(got, 1);
  tf_collect();
  cr_assert_eq(tf_count(1), 0);
  cr_assert_eq(tf_count(3), 0);
  /* Definalizing a finalized object fails: its registration ended. */
  tf_new(P_AMC, 0, 4);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  tf.refs[1] = tf.refs[0];
  tf.refs[0] = NULL;
  tf.ambig[0] = NULL;
  mps_arena_collect(tf.arena);   /* reachable from refs[1]: nothing */
  cr_assert_not(mps_message_poll(tf.arena));
  cr_assert_eq(mps_definalize(tf.arena, &tf.refs[1]), MPS_RES_OK);
  tf.refs[1] = NULL;
}

/* Registered twice: finalized at most twice (finalization.rst).  Here the
 * second message follows only after the first is discarded. */
Test(finalize, double_registration)
{
  mps_message_t got[4];
  size_t total = 0, n;
  int round;
  tf_new(P_AMS, 0, 9);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  tf.refs[0] = NULL;
  for (round = 0; round < 4; ++round) {
    tf_collect();
    n = tf_get_all(got, 4);
    total += n;
    cr_assert_leq(total, 2);
    while (n > 0) {
      --n;
      cr_assert_eq(gcobj_id(tf_ref(got[n])), 9);
      mps_message_discard(tf.arena, got[n]);
    }
  }
  cr_assert_eq(total, 2, "each registration of an unreachable object is finalized");
  cr_assert_eq(tf_count(9), 0);
}

/* One definalize ends one of two registrations. */
Test(finalize, definalize_one_of_two)
{
  mps_message_t got[4];
  size_t total = 0, n;
  int round;
  tf_new(P_AMC, 0, 9);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  cr_assert_eq(mps_definalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  tf.refs[0] = NULL;
  for (round = 0; round < 3; ++round) {
    tf_collect();
    n = tf_get_all(got, 4);
    total += n;
    tf_discard_all(got, n);
  }
  cr_assert_eq(total, 1);
}

/* Weak references to a finalized object are not splatted while its
 * message lives; afterwards they are. */
Test(finalize, weak_reference_survives_until_discard)
{
  mps_message_t got[1];
  tf_new(P_AMS, 0, 11);
  tf.weak[0] = tf.refs[0];
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  tf.refs[0] = NULL;
  tf_collect();
  cr_assert_eq(tf_get_all(got, 1), 1);
  cr_assert_eq(tf.weak[0], tf_ref(got[0]));
  cr_assert(gcobj_intact(tf.weak[0]));
  tf_discard_all(got, 1);
  tf_collect();
  cr_assert_null(tf.weak[0]);
}

/* The same with the weak reference in an AWL object of a weak allocation
 * point, whose segment turns grey in the exact band (an exact root
 * reaches it): it must not be scanned before the final band, or its
 * reference would be splatted just before finalization keeps the object. */
Test(finalize, weak_reference_in_an_awl_object_survives_until_discard)
{
  mps_message_t got[1];
  mps_ap_t weak_ap;
  mps_addr_t holder;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_weak());
    cr_assert_eq(mps_ap_create_k(&weak_ap, tf.pool[P_AWL], args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  tf_new(P_AMC, 1, 13);
  cr_assert_eq(gcobj_alloc(&holder, weak_ap, 14, 2, 5, &tf.refs[1]), MPS_RES_OK);
  tf.refs[0] = holder;
  mps_ap_destroy(weak_ap);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[1]), MPS_RES_OK);
  tf.refs[1] = NULL;
  tf_collect();
  cr_assert_eq(tf_get_all(got, 1), 1);
  cr_assert_eq(gcobj_ref(tf.refs[0], 0), tf_ref(got[0]),
               "a weak reference to an object kept for finalization was splatted");
  cr_assert_eq(gcobj_id(tf_ref(got[0])), 13);
  tf_discard_all(got, 1);
  tf_collect();
  cr_assert_null(gcobj_ref(tf.refs[0], 0));
  cr_assert_eq(gcobj_id(tf.refs[0]), 14);
}

/* Resurrection and registering again. */
Test(finalize, resurrect_and_register_again)
{
  mps_message_t got[1];
  tf_new(P_AMC, 0, 12);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  tf.refs[0] = NULL;
  tf_collect();
  cr_assert_eq(tf_get_all(got, 1), 1);
  mps_message_finalization_ref(&tf.refs[5], tf.arena, got[0]);
  tf_discard_all(got, 1);
  tf_collect();
  cr_assert_not(mps_message_poll(tf.arena));
  cr_assert(gcobj_intact(tf.refs[5]));
  cr_assert_eq(gcobj_id(tf.refs[5]), 12);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[5]), MPS_RES_OK);
  tf.refs[5] = NULL;
  tf_collect();
  cr_assert_eq(tf_get_all(got, 1), 1);
  cr_assert_eq(gcobj_id(tf_ref(got[0])), 12);
  tf_discard_all(got, 1);
}

/* Not enabled: no message, the registration is used up, and the object
 * dies.  Disabling flushes queued messages, whose objects then die. */
Test(finalize, type_disabled)
{
  mps_message_t got[2];
  mps_message_type_disable(tf.arena, mps_message_type_finalization());
  tf_new(P_AMC, 0, 21);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  tf.refs[0] = NULL;
  tf_collect();
  cr_assert_not(mps_message_poll(tf.arena));
  tf_collect();
  cr_assert_eq(tf_count(21), 0);
  mps_message_type_enable(tf.arena, mps_message_type_finalization());
  tf_collect();
  cr_assert_not(mps_message_poll(tf.arena));

  tf_new(P_AMS, 0, 22);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  tf.refs[0] = NULL;
  tf_collect();
  cr_assert(mps_message_poll(tf.arena));
  mps_message_type_disable(tf.arena, mps_message_type_finalization());
  cr_assert_not(mps_message_poll(tf.arena));
  tf_collect();
  cr_assert_eq(tf_count(22), 0);
  mps_message_type_enable(tf.arena, mps_message_type_finalization());
  cr_assert_eq(tf_get_all(got, 2), 0);
}

/* Registration that cannot get memory fails with a result and leaves
 * nothing: exactly the registrations that succeeded exist (each can be
 * definalized once, and one more definalize fails), and the arena keeps
 * working. */
Test(finalize, commit_limit)
{
  enum { MAX = 200000 };
  mps_message_t got[2];
  size_t ok = 0, i;
  mps_res_t res = MPS_RES_OK;
  tf_new(P_AMS, 0, 1);
  tf_new(P_AMC, 1, 2);
  mps_arena_spare_set(tf.arena, 0.0);
  cr_assert_eq(mps_arena_commit_limit_set(tf.arena, mps_arena_committed(tf.arena)),
               MPS_RES_OK);
  while (ok < MAX) {
    res = mps_finalize(tf.arena, &tf.refs[0]);
    if (res != MPS_RES_OK)
      break;
    ++ok;
  }
  cr_assert(res == MPS_RES_COMMIT_LIMIT || res == MPS_RES_MEMORY,
            "registration never failed (%zu made)", ok);
  cr_assert_eq(mps_arena_commit_limit_set(tf.arena, (size_t)-1), MPS_RES_OK);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[1]), MPS_RES_OK);
  for (i = 0; i < ok; ++i)
    cr_assert_eq(mps_definalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  cr_assert_eq(mps_definalize(tf.arena, &tf.refs[0]), MPS_RES_FAIL);
  tf.refs[0] = tf.refs[1] = NULL;
  tf_collect();
  cr_assert_eq(tf_get_all(got, 2), 1);
  cr_assert_eq(gcobj_id(tf_ref(got[0])), 2);
  tf_discard_all(got, 1);
  tf_collect();
  cr_assert_eq(tf_count(1), 0);
  cr_assert_eq(tf_count(2), 0);
}

/* A pool destroyed with a registration outstanding, and another pool
 * whose first object lands where the registered one was: the
 * registration belongs to the pool it was made in, so the next
 * collection drops it without a message, and the new pool's object there,
 * dead but never registered, is reclaimed without one too. */
static mps_pool_t tf_pool(mps_pool_class_t klass, mps_ap_t *ap_o)
{
  mps_pool_t pool;
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, tf.fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, tf.chain);
    cr_assert_eq(mps_pool_create_k(&pool, tf.arena, klass, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(ap_o, pool, mps_args_none), MPS_RES_OK);
  return pool;
}

/* An AMS pool whose first object, with identity `id`, is registered for
 * finalization and then dropped; returns that object's address. */
static mps_addr_t tf_registered_in_new_pool(mps_pool_t *pool_o, mps_ap_t *ap_o, mps_word_t id)
{
  mps_addr_t obj, addr;
  *pool_o = tf_pool(mps_class_ams(), ap_o);
  cr_assert_eq(gcobj_alloc(&obj, *ap_o, id, 2, 5, NULL), MPS_RES_OK);
  addr = obj;
  cr_assert_eq(mps_finalize(tf.arena, &obj), MPS_RES_OK);
  return addr;
}

/* An AMS pool, made after another was destroyed, whose first object (id
 * `id`, dead at once) lands where the other's first object was: the same
 * class and object, so its first segment takes the grains given back.
 * Its allocation point is made again, so that no buffer holds it. */
static mps_pool_t tf_pool_in_place_of(mps_addr_t old_addr, mps_word_t id, mps_ap_t *ap_o)
{
  mps_pool_t pool = tf_pool(mps_class_ams(), ap_o), found;
  mps_addr_t obj;
  cr_assert_eq(gcobj_alloc(&obj, *ap_o, id, 2, 5, NULL), MPS_RES_OK);
  cr_assert_eq(obj, old_addr, "the new pool's first object is elsewhere: %p, not %p",
               obj, old_addr);
  cr_assert(mps_addr_pool(&found, tf.arena, old_addr) && found == pool);
  mps_ap_destroy(*ap_o);
  cr_assert_eq(mps_ap_create_k(ap_o, pool, mps_args_none), MPS_RES_OK);
  return pool;
}

Test(finalize, registration_outlived_by_its_pool_is_not_taken_by_the_next)
{
  mps_pool_t old_pool, new_pool, found;
  mps_ap_t old_ap, new_ap;
  mps_addr_t old_addr;
  mps_message_t got[1];
  old_addr = tf_registered_in_new_pool(&old_pool, &old_ap, 7);
  mps_arena_park(tf.arena);
  mps_ap_destroy(old_ap);
  mps_pool_destroy(old_pool);
  cr_assert_not(mps_addr_pool(&found, tf.arena, old_addr));
  /* Its object is dead: only the stale registration would name it. */
  new_pool = tf_pool_in_place_of(old_addr, 8, &new_ap);
  mps_arena_release(tf.arena);
  tf_collect();
  cr_assert_not(mps_message_get(&got[0], tf.arena, mps_message_type_finalization()),
                "a finalization message for an object that was never registered");
  tf_collect();   /* and the registration is gone, not just kept */
  cr_assert_not(mps_message_poll(tf.arena));
  mps_arena_park(tf.arena);
  mps_ap_destroy(new_ap);
  mps_pool_destroy(new_pool);
}

/* The same with the message already queued when its pool goes: the
 * message stays the client's, but its reference no longer keeps alive
 * whatever the next pool puts at that address. */
Test(finalize, queued_message_outlived_by_its_pool_keeps_nothing_of_the_next)
{
  mps_pool_t old_pool, new_pool;
  mps_ap_t old_ap, new_ap;
  mps_addr_t old_addr;
  mps_message_t got[1];
  old_addr = tf_registered_in_new_pool(&old_pool, &old_ap, 9);
  mps_ap_destroy(old_ap);
  cr_assert_eq(mps_ap_create_k(&old_ap, old_pool, mps_args_none), MPS_RES_OK);
  tf_collect();
  cr_assert(mps_message_poll(tf.arena), "the dead object was not finalized");
  mps_arena_park(tf.arena);
  mps_ap_destroy(old_ap);
  mps_pool_destroy(old_pool);
  new_pool = tf_pool_in_place_of(old_addr, 10, &new_ap);
  mps_arena_release(tf.arena);
  tf_collect();
  cr_assert_eq(tf_count(10), 0, "the old pool's message kept the new pool's object");
  /* The message is still there to be read and discarded. */
  cr_assert(mps_message_get(&got[0], tf.arena, mps_message_type_finalization()));
  cr_assert_eq(tf_ref(got[0]), old_addr);
  mps_message_discard(tf.arena, got[0]);
  mps_arena_park(tf.arena);
  mps_ap_destroy(new_ap);
  mps_pool_destroy(new_pool);
}

/* Destroying one pool ends what finalization holds of that pool only:
 * another pool's registration still finalizes its object, and another
 * pool's queued message still keeps its object (finalization.rst). */
Test(finalize, destroying_a_pool_leaves_other_pools_registrations_and_messages)
{
  mps_pool_t pool;
  mps_ap_t ap;
  mps_message_t got[2];
  mps_addr_t obj;
  pool = tf_pool(mps_class_ams(), &ap);
  cr_assert_eq(gcobj_alloc(&obj, ap, 30, 2, 5, NULL), MPS_RES_OK);
  tf.refs[2] = obj;                    /* alive, and registered, until its pool goes */
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[2]), MPS_RES_OK);
  tf_new(P_AMS, 0, 31);                /* finalized before the destroy */
  tf_new(P_AMC, 1, 32);                /* registered across it */
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[1]), MPS_RES_OK);
  tf.refs[0] = NULL;
  tf_collect();
  cr_assert_eq(tf_count(31), 1);
  mps_arena_park(tf.arena);
  tf.refs[2] = NULL;
  mps_ap_destroy(ap);
  mps_pool_destroy(pool);
  mps_arena_release(tf.arena);
  /* Still queued, it keeps object 31 through another collection. */
  tf_collect();
  cr_assert_eq(tf_count(31), 1, "a queued message of another pool stopped keeping its object");
  cr_assert_eq(tf_get_all(got, 2), 1);
  cr_assert_eq(gcobj_id(tf_ref(got[0])), 31);
  cr_assert(gcobj_intact(tf_ref(got[0])));
  tf_discard_all(got, 1);
  /* Object 32 is still registered: dropping it finalizes it. */
  tf.refs[1] = NULL;
  tf_collect();
  cr_assert_eq(tf_get_all(got, 2), 1, "a registration of another pool ended with it");
  cr_assert_eq(gcobj_id(tf_ref(got[0])), 32);
  tf_discard_all(got, 1);
}

/* A transform that replaces an object with a held finalization message
 * by one in another pool moves the message with it: the old pool may
 * then go, and the message still keeps the new object alive until it is
 * discarded. */
Test(finalize, a_held_message_follows_a_transform_to_another_pool)
{
  mps_pool_t pool;
  mps_ap_t ap;
  mps_message_t got[1];
  mps_transform_t tr;
  mps_bool_t applied = 0;
  mps_addr_t olds[1], news[1];
  olds[0] = tf_registered_in_new_pool(&pool, &ap, 40);
  mps_ap_destroy(ap);
  tf_collect();
  cr_assert_eq(tf_get_all(got, 1), 1);
  cr_assert_eq(tf_ref(got[0]), olds[0]);
  tf_new(P_AMC, 0, 41);
  news[0] = tf.refs[0];
  mps_arena_park(tf.arena);
  cr_assert_eq(mps_transform_create(&tr, tf.arena), MPS_RES_OK);
  cr_assert_eq(mps_transform_add_oldnew(tr, olds, news, 1), MPS_RES_OK);
  cr_assert_eq(mps_transform_apply(&applied, tr), MPS_RES_OK);
  mps_transform_destroy(tr);
  cr_assert(applied);
  /* The collection that rewrote it may also have moved the new object. */
  cr_assert_eq(tf_ref(got[0]), tf.refs[0]);
  mps_pool_destroy(pool);
  mps_arena_release(tf.arena);
  tf.refs[0] = NULL;
  tf_collect();
  cr_assert_eq(tf_count(41), 1, "the held message no longer keeps the new object");
  cr_assert(gcobj_intact(tf_ref(got[0])));
  cr_assert_eq(gcobj_id(tf_ref(got[0])), 41);
  tf_discard_all(got, 1);
  tf_collect();
  cr_assert_eq(tf_count(41), 0);
}

/* Arena destroy with registrations, queued and held messages: the
 * teardown must not complain (it checks that all control memory came
 * back). */
Test(finalize, destroy_with_everything_outstanding)
{
  mps_message_t got[1];
  size_t i;
  for (i = 0; i < 6; ++i) {
    tf_new((int)(i % NPOOLS), i, 100 + i);
    cr_assert_eq(mps_finalize(tf.arena, &tf.refs[i]), MPS_RES_OK);
  }
  tf.refs[0] = tf.refs[1] = NULL;
  tf_collect();
  cr_assert(mps_message_get(&got[0], tf.arena, mps_message_type_finalization()));
  cr_assert(mps_message_poll(tf.arena));   /* one queued, one held */
}

/* finalization.rst: the block must be in an automatically managed pool
 * of the arena.  A block of a manual pool (MVFF, and SNC, whose blocks
 * are scanned but lie in segments no collection condemns), an address
 * outside the arena and a null reference are reported and refused in
 * every variety, and nothing is registered. */

/* Misuse: no place to read the reference from.  Reported, and refused
 * with MPS_RES_PARAM by both functions. */
Test(finalize, null_reference_pointers_are_refused)
{
  reports_install();
  cr_assert_eq(mps_finalize(tf.arena, NULL), MPS_RES_PARAM);
  cr_assert_eq(mps_definalize(tf.arena, NULL), MPS_RES_PARAM);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(2));
}

Test(finalize, a_block_outside_the_collected_pools_is_refused)
{
  mps_pool_t mvff, snc;
  mps_ap_t snc_ap;
  mps_addr_t manual, stacked, outside = &tf, none = NULL;
  cr_assert_eq(mps_pool_create_k(&mvff, tf.arena, mps_class_mvff(), mps_args_none),
               MPS_RES_OK);
  cr_assert_eq(mps_alloc(&manual, mvff, 64), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, tf.fmt);
    cr_assert_eq(mps_pool_create_k(&snc, tf.arena, mps_class_snc(), args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_RANK, mps_rank_exact());
    cr_assert_eq(mps_ap_create_k(&snc_ap, snc, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(gcobj_alloc(&stacked, snc_ap, 50, 2, 5, NULL), MPS_RES_OK);
  reports_install();
  cr_assert_eq(mps_finalize(tf.arena, &manual), MPS_RES_PARAM);
  cr_assert_eq(mps_finalize(tf.arena, &stacked), MPS_RES_PARAM);
  cr_assert_eq(mps_finalize(tf.arena, &outside), MPS_RES_PARAM);
  cr_assert_eq(mps_finalize(tf.arena, &none), MPS_RES_PARAM);
  reports_install_abort();
  cr_assert_eq(reports_seen(), TEST_REPORTS(4));
  cr_assert_eq(mps_definalize(tf.arena, &manual), MPS_RES_FAIL);
  cr_assert_eq(mps_definalize(tf.arena, &stacked), MPS_RES_FAIL);
  cr_assert_eq(mps_definalize(tf.arena, &outside), MPS_RES_FAIL);
  mps_free(mvff, manual, 64);
  mps_pool_destroy(mvff);
  mps_ap_destroy(snc_ap);
  mps_pool_destroy(snc);
}

/* ---- Misuse: reported through the assertion handler ---------------- */

TestSuite(finalize_misuse, TEST_NEEDS_CHECKS);

Test(finalize_misuse, ref_of_a_gc_message, .signal = SIGABRT)
{
  mps_message_t m;
  setup();
  mps_message_type_enable(tf.arena, mps_message_type_gc());
  tf_collect();
  cr_assert(mps_message_get(&m, tf.arena, mps_message_type_gc()));
  reports_install_abort();
  {
    mps_addr_t ref;
    mps_message_finalization_ref(&ref, tf.arena, m);
  }
}

Test(finalize_misuse, gc_accessor_on_finalization_message, .signal = SIGABRT)
{
  mps_message_t m[1];
  setup();
  tf_new(P_AMS, 0, 1);
  cr_assert_eq(mps_finalize(tf.arena, &tf.refs[0]), MPS_RES_OK);
  tf.refs[0] = NULL;
  tf_collect();
  cr_assert_eq(tf_get_all(m, 1), 1);
  reports_install_abort();
  (void)mps_message_gc_live_size(tf.arena, m[0]);
}

Test(finalize_misuse, block_in_a_manual_pool, .signal = SIGABRT)
{
  mps_pool_t mvff;
  mps_addr_t p;
  setup();
  cr_assert_eq(mps_pool_create_k(&mvff, tf.arena, mps_class_mvff(), mps_args_none),
               MPS_RES_OK);
  cr_assert_eq(mps_alloc(&p, mvff, 64), MPS_RES_OK);
  reports_install_abort();
  (void)mps_finalize(tf.arena, &p);
}
