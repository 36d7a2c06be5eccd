/* Unit tests for the collector's telemetry (src/gc/gcevent.c, and the
 * events of seg.c, trace.c, pool_amc.c and pool_ams.c; manual/topic/
 * telemetry.rst): a collection of an AMC heap writes a make before every
 * free of a segment, scans only of segments that exist, and one copy per
 * object it moves (their bytes are the survivors' the gc message
 * reports), each new address inside a segment made; every condemned
 * segment, AMC's or AMS's, is reclaimed once, with the bytes it kept in
 * place and freed matching the gc message and the pool's sizes, and AMC
 * says which objects it kept in place (pinned by an ambiguous reference,
 * or for want of to-space); the stream keeps the order and clocks
 * the events were made in; a queue too small for a collection counts what
 * it dropped; an incremental collection writes its events too, read
 * barrier faults and all; and an event made while the mutator is held
 * waits until it runs, or until the arena is destroyed, and with no
 * room at all its drop count goes out before the next event written.
 * Each Criterion test runs in a process of its own, so each starts with
 * no stream.  Rash writes nothing. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../include/mps.h"
#include "../include/mpscams.h"
#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/base/event.h"
#include "../src/gc/gc.h"
#include "../tools/eventdec.c"
#include "support/evtest.h"
#include "support/configs.h"
#include "support/reports.h"

#define TGE_COLLECTOR ((1u << EVENT_CAT_SEG) | (1u << EVENT_CAT_REF) | (1u << EVENT_CAT_OBJECT))
#define TGE_NREFS 2
#define TGE_NDATA 3
#define TGE_KEPT 64          /* roots, each the head of a list */
#define TGE_LIST 4           /* live objects per list */
#define TGE_JUNK 8           /* dead objects per live one */
#define TGE_JUNK_DATA 40     /* words of each */

static char tge_path[EVTEST_PATH_MAX];

typedef struct tge_stream_s {
  unsigned char *bytes;
  eventdec_event_s *ev;
  size_t n;
} tge_stream_s;

/* The bytes the stream holds so far, after a flush. */
static size_t tge_stream_size(void)
{
  struct stat st;
  mps_telemetry_flush();
  cr_assert_eq(stat(tge_path, &st), 0);
  return (size_t)st.st_size;
}

/* Decode the whole stream, which must be well formed. */
static void tge_read(tge_stream_s *s)
{
  FILE *f = fopen(tge_path, "rb");
  size_t size, capacity = 0;
  eventdec_s dec;
  eventdec_event_s ev;
  int r;
  cr_assert(f != NULL);
  cr_assert(eventdec_read(f, &s->bytes, &size));
  fclose(f);
  remove(tge_path);
  s->ev = NULL;
  s->n = 0;
  eventdec_init(&dec, s->bytes, size);
  while ((r = eventdec_next(&dec, &ev)) == 1) {
    if (s->n == capacity) {
      capacity = capacity == 0 ? 1024 : 2 * capacity;
      s->ev = realloc(s->ev, capacity * sizeof *s->ev);
      cr_assert(s->ev != NULL);
    }
    s->ev[s->n++] = ev;
  }
  cr_assert_eq(r, 0, "%s", dec.error);
}

static void tge_free(tge_stream_s *s)
{
  free(s->ev);
  free(s->bytes);
}

/* TGE_KEPT lists of TGE_LIST objects each from the roots, all of one
 * size, among garbage of another size, enough to fill several segments
 * (so the collection frees those without a buffer) and well short of
 * the chain's capacity (so none starts by itself).  Returns how many
 * objects are live. */
static size_t tge_fill_n(evtest_heap_s *h, mps_addr_t *kept, size_t list, size_t junk_n)
{
  mps_word_t id = 1;
  size_t i, j;
  for (i = 0; i < TGE_KEPT; ++i) {
    kept[i] = NULL;
    for (j = 0; j < list; ++j) {
      mps_addr_t refs[TGE_NREFS] = {kept[i], NULL};
      mps_addr_t junk;
      size_t k;
      for (k = 0; k < junk_n; ++k)
        cr_assert_eq(gcobj_alloc(&junk, h->ap, id++, 0, TGE_JUNK_DATA, NULL), MPS_RES_OK);
      cr_assert_eq(gcobj_alloc(&kept[i], h->ap, id++, TGE_NREFS, TGE_NDATA, refs),
                   MPS_RES_OK);
    }
  }
  return TGE_KEPT * list;
}

static size_t tge_fill(evtest_heap_s *h, mps_addr_t *kept)
{
  return tge_fill_n(h, kept, TGE_LIST, TGE_JUNK);
}

static void tge_open(evtest_heap_s *h, mps_addr_t *kept)
{
  evtest_heap_open(h, kept, TGE_KEPT);
  mps_message_type_enable(h->arena, mps_message_type_gc());
}

/* The bytes the collection's gc message says survived. */
static size_t tge_live(mps_arena_t arena)
{
  mps_message_t msg;
  size_t live;
  cr_assert(mps_message_get(&msg, arena, mps_message_type_gc()));
  live = mps_message_gc_live_size(arena, msg);
  mps_message_discard(arena, msg);
  return live;
}

/* ---- A model of the segments the stream says exist ---------------------- */

#define TGE_SEGS_MAX 4096

typedef struct tge_segs_s {
  mps_word_t seg[TGE_SEGS_MAX], base[TGE_SEGS_MAX], size[TGE_SEGS_MAX];
  size_t n;
} tge_segs_s;

static size_t tge_segs_find(const tge_segs_s *m, mps_word_t seg)
{
  size_t i;
  for (i = 0; i < m->n; ++i)
    if (m->seg[i] == seg)
      return i;
  return m->n;
}

static bool tge_segs_hold(const tge_segs_s *m, mps_word_t addr)
{
  size_t i;
  for (i = 0; i < m->n; ++i)
    if (addr >= m->base[i] && addr - m->base[i] < m->size[i])
      return true;
  return false;
}

/* What the events in [from, to) of the stream say, checked against the
 * segments made before them. */
typedef struct tge_counts_s {
  size_t allocs, frees, seg_scans, root_scans, copies, copied;
  size_t reclaims, reclaimed_segs;  /* SegReclaims, and their segments' bytes */
  size_t kept_objects, kept, freed; /* their sums */
  size_t preserves, preserved;      /* ObjectPreserves, and their bytes */
  size_t dropped[EVENT_CAT_LIMIT];
  size_t made[EVENT_CAT_LIMIT];   /* events of the category, not Dropped */
  bool root_scanned;              /* the heap's root, at the exact rank */
} tge_counts_s;

/* Walk the whole stream, keeping the model of segments; count the events
 * at offsets in [from, to).  Every free must follow its segment's make,
 * every scan and copy must name segments that exist, and the clocks of
 * the collector's events must never go back.  A `lossy` stream (events
 * were dropped) may miss makes and frees, so the model is not checked. */
static void tge_check(tge_counts_s *c, const tge_stream_s *s, size_t from, size_t to,
                      mps_root_t root, bool lossy)
{
  static tge_segs_s m;
  uint64_t clock = 0;
  size_t i;
  memset(c, 0, sizeof *c);
  m.n = 0;
  for (i = 0; i < s->n; ++i) {
    const eventdec_event_s *ev = &s->ev[i];
    const mps_word_t *w = ev->word;
    bool in = ev->offset >= from && ev->offset < to;
    size_t k;
    if (ev->type->category == EVENT_CAT_TRACE)
      continue;
    cr_assert_geq(ev->clock, clock, "event %zu (%s) went back in time", i, ev->type->name);
    clock = ev->clock;
    switch (ev->type->code) {
    case EVENT_SEG_ALLOC:
      k = tge_segs_find(&m, w[0]);
      cr_assert(lossy || k == m.n, "segment %#jx made twice", (uintmax_t)w[0]);
      cr_assert_lt(k, TGE_SEGS_MAX);
      cr_assert_gt(w[3], 0);
      m.seg[k] = w[0];
      m.base[k] = w[2];
      m.size[k] = w[3];
      m.n += k == m.n;
      c->allocs += in;
      break;
    case EVENT_SEG_FREE:
      k = tge_segs_find(&m, w[0]);
      cr_assert(lossy || k < m.n, "segment %#jx freed but not made", (uintmax_t)w[0]);
      c->frees += in;
      if (k == m.n)
        break;
      --m.n;
      m.seg[k] = m.seg[m.n];
      m.base[k] = m.base[m.n];
      m.size[k] = m.size[m.n];
      break;
    case EVENT_SCAN_SEG:
      cr_assert(lossy || tge_segs_find(&m, w[0]) < m.n, "scan of a segment not there");
      cr_assert_lt(w[1], 4, "rank %ju", (uintmax_t)w[1]);
      c->seg_scans += in;
      break;
    case EVENT_SCAN_ROOT:
      if (w[0] == (mps_word_t)(uintptr_t)root && w[1] == mps_rank_exact())
        c->root_scanned |= in;
      c->root_scans += in;
      break;
    case EVENT_OBJECT_COPY:
      cr_assert(lossy || tge_segs_hold(&m, w[0]), "a copy from outside every segment");
      cr_assert(lossy || tge_segs_hold(&m, w[1]), "a copy to outside every segment");
      cr_assert_eq(w[2], gcobj_size(TGE_NREFS, TGE_NDATA));
      c->copies += in;
      c->copied += in ? w[2] : 0;
      break;
    case EVENT_SEG_RECLAIM:
      k = tge_segs_find(&m, w[0]);
      cr_assert(lossy || k < m.n, "reclaim of a segment not there");
      if (k < m.n) {
        cr_assert_leq(w[2] + w[3], m.size[k], "kept and freed more than the segment");
        c->reclaimed_segs += in ? m.size[k] : 0;
      }
      cr_assert_leq(w[1], w[2], "more objects kept than bytes");
      c->reclaims += in;
      c->kept_objects += in ? w[1] : 0;
      c->kept += in ? w[2] : 0;
      c->freed += in ? w[3] : 0;
      break;
    case EVENT_OBJECT_PRESERVE:
      cr_assert(lossy || tge_segs_hold(&m, w[0]), "an object kept outside every segment");
      cr_assert_gt(w[1], 0);
      c->preserves += in;
      c->preserved += in ? w[1] : 0;
      break;
    case EVENT_DROPPED:
      cr_assert(in, "a drop outside the collection");
      cr_assert_lt(w[1], EVENT_CAT_LIMIT);
      cr_assert_gt(w[2], 0);
      c->dropped[w[1]] += w[2];
      continue;
    default:
      cr_assert_fail("%s: not in the filter", ev->type->name);
    }
    c->made[ev->type->category] += in;
  }
  /* The stream runs to the arena's destruction: every pool is gone. */
  cr_assert(lossy || m.n == 0, "%zu segments made and never freed", m.n);
}

/* ---- Tests -------------------------------------------------------------- */

/* A full collection of a heap, with the collector's categories in the
 * filter; the stream is then read and checked (tge_check) with the
 * collection's events counted. */
typedef struct tge_run_s {
  size_t live;                 /* the gc message's survivors */
  size_t condemned;            /* and what it condemned */
  size_t in_use_before;        /* the pool's total less free size, */
  size_t in_use_after;         /* before and after the collection */
  size_t n;                    /* objects tge_fill kept */
  size_t from, to;             /* the collection's events are between */
  tge_stream_s s;
  tge_counts_s c;
} tge_run_s;

static size_t tge_in_use(mps_pool_t pool)
{
  return mps_pool_total_size(pool) - mps_pool_free_size(pool);
}

/* Collect the heap, and read the gc message. */
static void tge_run_collect(tge_run_s *r, evtest_heap_s *h)
{
  mps_message_t msg;
  r->from = tge_stream_size();
  r->in_use_before = tge_in_use(h->pool);
  mps_arena_collect(h->arena);
  r->in_use_after = tge_in_use(h->pool);
  r->to = tge_stream_size();
  mps_arena_release(h->arena);
  cr_assert(mps_message_get(&msg, h->arena, mps_message_type_gc()));
  r->live = mps_message_gc_live_size(h->arena, msg);
  r->condemned = mps_message_gc_condemned_size(h->arena, msg);
  mps_message_discard(h->arena, msg);
}

/* Close the heap, then read and check the stream. */
static void tge_run_close(tge_run_s *r, evtest_heap_s *h, bool lossy)
{
  evtest_heap_close(h);
  tge_read(&r->s);
  tge_check(&r->c, &r->s, r->from, r->to, h->root, lossy);
}

/* tge_fill's heap, collected with the queue limited to `limit` records
 * (its capacity if 0). */
static void tge_collect(tge_run_s *r, Count limit)
{
  static mps_addr_t kept[TGE_KEPT];
  evtest_heap_s h;
  evtest_stream_setup(tge_path);
  mps_telemetry_set(TGE_COLLECTOR);
  tge_open(&h, kept);
  r->n = tge_fill(&h, kept);
  if (limit > 0)
    gcevent_limit_set(((Arena)h.arena)->gc, limit);
  tge_run_collect(r, &h);
  cr_assert_eq(r->live, r->n * gcobj_size(TGE_NREFS, TGE_NDATA));
  tge_run_close(r, &h, limit > 0);
}

/* What every collection's reclaim events must say (event.h): each
 * condemned segment is reclaimed once; what they freed is what left the
 * pool's in-use bytes, less the copies that came into it; and every
 * survivor was either copied or kept in place, one object event each in
 * a moving pool (`moving`). */
static void tge_accounts(const tge_run_s *r, bool moving)
{
  const tge_counts_s *c = &r->c;
  cr_assert_eq(c->dropped[EVENT_CAT_SEG] + c->dropped[EVENT_CAT_OBJECT], 0,
               "the queue dropped events: the sums mean nothing");
  cr_assert_eq(c->reclaimed_segs, r->condemned,
               "the segments reclaimed are not the ones condemned");
  cr_assert_eq(c->freed, r->in_use_before - r->in_use_after + c->copied,
               "freed %zu; in use %zu before, %zu after, %zu copied",
               c->freed, r->in_use_before, r->in_use_after, c->copied);
  cr_assert_eq(c->kept + c->copied, r->live);
  if (moving) {
    cr_assert_eq(c->preserves, c->kept_objects);
    cr_assert_eq(c->preserved, c->kept);
  } else {
    cr_assert_eq(c->preserves + c->copies, 0, "a marking pool moves nothing");
  }
}

Test(gcevent, a_collection_writes_segments_scans_and_copies)
{
  tge_run_s r;
  tge_counts_s *c = &r.c;
  tge_collect(&r, 0);
  if (EVENT_STREAM) {
    cr_assert_eq(c->copies, r.n);
    cr_assert_eq(c->copied, r.live);
    cr_assert_gt(c->frees, 0, "the collection freed no from-space");
    cr_assert_gt(c->allocs, 0, "the collection made no to-space");
    cr_assert_gt(c->seg_scans, 0);
    cr_assert(c->root_scanned, "no scan of the root");
    cr_assert_eq(c->dropped[EVENT_CAT_SEG] + c->dropped[EVENT_CAT_REF]
                 + c->dropped[EVENT_CAT_OBJECT], 0);
  } else {
    cr_assert_eq(r.s.n, 0);
  }
  tge_free(&r.s);
}

/* Nothing pins an object, so the collection keeps none in place: every
 * condemned segment is reclaimed, the ones a buffer still fills freeing
 * nothing, the others all they held. */
Test(gcevent, an_amc_collection_reclaims_every_segment_it_condemned)
{
  tge_run_s r;
  tge_collect(&r, 0);
  if (EVENT_STREAM) {
    cr_assert_gt(r.c.reclaims, 1);
    cr_assert_eq(r.c.kept, 0);
    cr_assert_eq(r.c.preserves, 0);
    cr_assert_gt(r.c.freed, 0);
    tge_accounts(&r, true);
  } else {
    cr_assert_eq(r.s.n, 0);
  }
  tge_free(&r.s);
}

/* evtest_heap_open's heap, of another class, or (`interior` false) of
 * AMC with only client pointers keeping objects. */
static void tge_heap_open(evtest_heap_s *h, mps_addr_t *kept, mps_pool_class_t klass,
                          bool interior)
{
  mps_gen_param_s gens[1] = {{1024, 0.5}};
  cr_assert_eq(mps_arena_create_k(&h->arena, mps_arena_class_vm(), mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_chain_create(&h->chain, h->arena, 1, gens), MPS_RES_OK);
  cr_assert_eq(gcobj_fmt_create(&h->fmt, h->arena), MPS_RES_OK);
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_FORMAT, h->fmt);
    MPS_ARGS_ADD(args, MPS_KEY_CHAIN, h->chain);
    if (!interior)
      MPS_ARGS_ADD(args, MPS_KEY_INTERIOR, false);
    cr_assert_eq(mps_pool_create_k(&h->pool, h->arena, klass, args), MPS_RES_OK);
  } MPS_ARGS_END(args);
  cr_assert_eq(mps_ap_create_k(&h->ap, h->pool, mps_args_none), MPS_RES_OK);
  cr_assert_eq(mps_root_create_table(&h->root, h->arena, mps_rank_exact(), 0, kept, TGE_KEPT),
               MPS_RES_OK);
  mps_message_type_enable(h->arena, mps_message_type_gc());
}

/* The ObjectPreserve of `addr` among the collection's events, or NULL. */
static const eventdec_event_s *tge_preserve_of(const tge_run_s *r, mps_addr_t addr)
{
  size_t i;
  for (i = 0; i < r->s.n && r->s.ev[i].offset < r->to; ++i)
    if (r->s.ev[i].offset >= r->from && r->s.ev[i].type->code == EVENT_OBJECT_PRESERVE
        && r->s.ev[i].word[0] == (mps_word_t)(uintptr_t)addr)
      return &r->s.ev[i];
  return NULL;
}

/* An ambiguous reference nails the segment of a live object and of a
 * dead one: both stay where they are, with an ObjectPreserve each, and
 * so does every other survivor in that segment. */
Test(gcevent, an_object_pinned_by_an_ambiguous_root_is_preserved)
{
  static mps_addr_t kept[TGE_KEPT], pins[2];
  evtest_heap_s h;
  tge_run_s r;
  mps_root_t ambig;
  mps_addr_t junk;
  const eventdec_event_s *ev;
  size_t size = gcobj_size(TGE_NREFS, TGE_NDATA), junk_size = gcobj_size(0, TGE_JUNK_DATA);
  evtest_stream_setup(tge_path);
  mps_telemetry_set(TGE_COLLECTOR);
  tge_open(&h, kept);
  /* In the first segment, with kept[0], and not the one a buffer fills. */
  cr_assert_eq(gcobj_alloc(&junk, h.ap, 1u << 20, 0, TGE_JUNK_DATA, NULL), MPS_RES_OK);
  r.n = tge_fill(&h, kept);
  pins[0] = kept[0];
  pins[1] = junk;
  cr_assert_eq(mps_root_create_table(&ambig, h.arena, mps_rank_ambig(), 0, pins, 2),
               MPS_RES_OK);
  tge_run_collect(&r, &h);
  cr_assert_eq(kept[0], pins[0], "a pinned object moved");
  cr_assert_eq(r.live, r.n * size + junk_size);
  mps_root_destroy(ambig);
  tge_run_close(&r, &h, false);
  if (EVENT_STREAM) {
    ev = tge_preserve_of(&r, pins[0]);
    cr_assert_not_null(ev, "no ObjectPreserve of the pinned live object");
    cr_assert_eq(ev->word[1], size);
    ev = tge_preserve_of(&r, junk);
    cr_assert_not_null(ev, "no ObjectPreserve of the pinned dead object");
    cr_assert_eq(ev->word[1], junk_size);
    cr_assert_gt(r.c.copies, 0, "nothing was copied: every segment nailed?");
    cr_assert_eq(r.c.copies + r.c.preserves, r.n + 1);
    tge_accounts(&r, true);
  } else {
    cr_assert_eq(r.s.n, 0);
  }
  tge_free(&r.s);
}

#define TGE_BIG_DATA 10000   /* words: a segment of its own (pool_amc.c) */

/* Where only client pointers keep objects, an ambiguous reference into
 * the middle of a dead object nails its segment and keeps nothing: the
 * segment is reclaimed, freeing the object, and then freed. */
Test(gcevent, an_amc_segment_nailed_but_keeping_nothing_is_freed)
{
  static mps_addr_t kept[TGE_KEPT], pin[1];
  evtest_heap_s h;
  tge_run_s r;
  mps_root_t ambig;
  mps_addr_t big;
  mps_word_t seg = 0, base = 0;
  size_t i, reclaimed_at = 0, freed_at = 0;
  evtest_stream_setup(tge_path);
  mps_telemetry_set(TGE_COLLECTOR);
  tge_heap_open(&h, kept, mps_class_amc(), false);
  cr_assert_eq(gcobj_alloc(&big, h.ap, 1u << 20, 0, TGE_BIG_DATA, NULL), MPS_RES_OK);
  r.n = tge_fill(&h, kept);
  pin[0] = (char *)big + 2 * sizeof(mps_word_t);
  cr_assert_eq(mps_root_create_table(&ambig, h.arena, mps_rank_ambig(), 0, pin, 1),
               MPS_RES_OK);
  tge_run_collect(&r, &h);
  cr_assert_eq(r.live, r.n * gcobj_size(TGE_NREFS, TGE_NDATA));
  mps_root_destroy(ambig);
  tge_run_close(&r, &h, false);
  if (!EVENT_STREAM) {
    cr_assert_eq(r.s.n, 0);
    tge_free(&r.s);
    return;
  }
  for (i = 0; i < r.s.n; ++i) {
    const eventdec_event_s *ev = &r.s.ev[i];
    if (ev->type->code == EVENT_SEG_ALLOC && ev->word[2] <= (mps_word_t)(uintptr_t)big
        && (mps_word_t)(uintptr_t)big - ev->word[2] < ev->word[3]) {
      seg = ev->word[0];
      base = ev->word[2];
    } else if (ev->type->code == EVENT_SEG_RECLAIM && ev->word[0] == seg && seg != 0) {
      cr_assert_eq(reclaimed_at, 0, "reclaimed twice");
      reclaimed_at = i;
      cr_assert_eq(ev->word[1], 0);
      cr_assert_eq(ev->word[2], 0);
      /* The object, and what the buffer put in the segment's tail. */
      cr_assert_geq(ev->word[3], (mps_word_t)(uintptr_t)big - base
                                 + gcobj_size(0, TGE_BIG_DATA));
    } else if (ev->type->code == EVENT_SEG_FREE && ev->word[0] == seg && seg != 0) {
      freed_at = i;
      break;
    }
  }
  cr_assert_neq(seg, 0, "no segment made for the object");
  cr_assert_gt(reclaimed_at, 0, "the nailed segment was not reclaimed");
  cr_assert_gt(freed_at, reclaimed_at, "the nailed segment was not freed after");
  cr_assert_lt(r.s.ev[freed_at].offset, r.to, "freed after the collection");
  cr_assert_null(tge_preserve_of(&r, big));
  tge_accounts(&r, true);
  tge_free(&r.s);
}

/* With no memory for to-space, AMC keeps the survivors in place, and
 * says so object by object.  It may keep every object of a segment
 * (pool_amc.c, "nailed whole"), so the heap is small enough for the
 * queue to hold an event for each. */
Test(gcevent, an_amc_collection_without_to_space_preserves_in_place)
{
  static mps_addr_t kept[TGE_KEPT];
  evtest_heap_s h;
  tge_run_s r;
  size_t i;
  evtest_stream_setup(tge_path);
  mps_telemetry_set(TGE_COLLECTOR);
  tge_open(&h, kept);
  r.n = tge_fill_n(&h, kept, 1, 3);
  cr_assert_eq(mps_arena_commit_limit_set(h.arena, mps_arena_committed(h.arena)), MPS_RES_OK);
  tge_run_collect(&r, &h);
  for (i = 0; i < TGE_KEPT; ++i)
    cr_assert(gcobj_intact(kept[i]));
  tge_run_close(&r, &h, false);
  if (EVENT_STREAM) {
    cr_assert_gt(r.c.preserves, 0, "nothing kept in place");
    cr_assert_geq(r.c.copies + r.c.preserves, r.n);
    tge_accounts(&r, true);
  } else {
    cr_assert_eq(r.s.n, 0);
  }
  tge_free(&r.s);
}

/* AMS marks: the survivors stay, counted by the segment, and the dead
 * objects' bytes are what the pool has free again. */
Test(gcevent, an_ams_collection_accounts_for_kept_and_freed_bytes)
{
  static mps_addr_t kept[TGE_KEPT];
  evtest_heap_s h;
  tge_run_s r;
  evtest_stream_setup(tge_path);
  mps_telemetry_set(TGE_COLLECTOR);
  tge_heap_open(&h, kept, mps_class_ams(), true);
  r.n = tge_fill(&h, kept);
  tge_run_collect(&r, &h);
  cr_assert_eq(r.live, r.n * gcobj_size(TGE_NREFS, TGE_NDATA));
  tge_run_close(&r, &h, false);
  if (EVENT_STREAM) {
    cr_assert_gt(r.c.reclaims, 1);
    cr_assert_eq(r.c.kept_objects, r.n);
    cr_assert_eq(r.c.kept, r.live);
    cr_assert_gt(r.c.freed, 0);
    tge_accounts(&r, false);
  } else {
    cr_assert_eq(r.s.n, 0);
  }
  tge_free(&r.s);
}

/* Only the categories in the filter are queued and written. */
Test(gcevent, a_category_left_out_is_not_written)
{
  static mps_addr_t kept[TGE_KEPT];
  evtest_heap_s h;
  tge_stream_s s;
  size_t i, copies = 0;
  evtest_stream_setup(tge_path);
  mps_telemetry_set(1u << EVENT_CAT_OBJECT);
  tge_open(&h, kept);
  (void)tge_fill(&h, kept);
  mps_arena_collect(h.arena);
  mps_arena_release(h.arena);
  evtest_heap_close(&h);
  tge_read(&s);
  for (i = 0; i < s.n; ++i) {
    cr_assert_eq(s.ev[i].type->code, EVENT_OBJECT_COPY, "%s", s.ev[i].type->name);
    ++copies;
  }
  cr_assert_eq(copies, EVENT_STREAM ? TGE_KEPT * TGE_LIST : 0);
  tge_free(&s);
}

/* A queue of 16 records overflows: what it kept is written, then how many
 * of each category were dropped; with the copies written, the object
 * drops make up every object moved. */
Test(gcevent, a_full_queue_counts_what_it_dropped)
{
  tge_run_s r;
  tge_counts_s *c = &r.c;
  size_t cat, i, written = 0, dropped = 0;
  unsigned last = 0;
  tge_collect(&r, 16);
  for (cat = 0; cat < EVENT_CAT_LIMIT; ++cat) {
    written += c->made[cat];
    dropped += c->dropped[cat];
  }
  if (EVENT_STREAM) {
    /* The whole collection ran with the mutator held. */
    cr_assert_eq(written, 16);
    cr_assert_gt(dropped, 0);
    cr_assert_eq(c->copies + c->dropped[EVENT_CAT_OBJECT], r.n);
    /* The drop counts come last. */
    for (i = 0; i < r.s.n && r.s.ev[i].offset < r.to; ++i)
      last = r.s.ev[i].type->code;
    cr_assert_eq(last, EVENT_DROPPED);
  } else {
    cr_assert_eq(r.s.n, 0);
  }
  tge_free(&r.s);
}

/* The limit can be the queue's capacity and no more. */
Test(gcevent, the_limit_is_at_most_the_capacity)
{
  static mps_addr_t kept[TGE_KEPT];
  evtest_heap_s h;
  GC gc;
  evtest_stream_setup(tge_path);
  tge_open(&h, kept);
  gc = ((Arena)h.arena)->gc;
  cr_assert_eq(gc->events.capacity, EVENT_STREAM ? GCEVENT_CAPACITY : 0);
  cr_assert_eq(gc->events.limit, gc->events.capacity);
  gcevent_limit_set(gc, 0);
  cr_assert_eq(gc->events.limit, 0);
  gcevent_limit_set(gc, gc->events.capacity);
  cr_assert(gcevent_check(&gc->events));
  evtest_heap_close(&h);
}

/* An incremental collection gives the mutator back between steps; each
 * time, what it made is written.  Reading the heap between steps takes
 * read barrier faults, whose work is written as they return. */
Test(gcevent, an_incremental_collection_writes_its_events, TEST_NEEDS_INCREMENTS)
{
  static mps_addr_t kept[TGE_KEPT];
  evtest_heap_s h;
  tge_stream_s s;
  tge_counts_s c;
  GC gc;
  size_t live, from, to, n, i, start = 0, end = 0, steps = 0;
  evtest_stream_setup(tge_path);
  mps_telemetry_set(TGE_COLLECTOR | (1u << EVENT_CAT_TRACE));
  tge_open(&h, kept);
  gc = ((Arena)h.arena)->gc;
  n = tge_fill(&h, kept);
  from = tge_stream_size();
  cr_assert_eq(mps_arena_start_collect(h.arena), MPS_RES_OK);
  while (gc->busy_traces != TRACE_SET_EMPTY) {
    size_t k;
    for (k = steps % TGE_KEPT; k < TGE_KEPT; k += 7)
      cr_assert(gcobj_intact(kept[k]));
    (void)mps_arena_step(h.arena, 0.0, 1.0);
    ++steps;
    atomic_signal_fence(memory_order_seq_cst);
  }
  to = tge_stream_size();
  cr_assert_gt(gc->incremental_traces, 0, "the collection ran stop-the-world");
  live = tge_live(h.arena);
  evtest_heap_close(&h);
  tge_read(&s);
  tge_check(&c, &s, from, to, h.root, false);
  for (i = 0; i < s.n; ++i) {
    if (s.ev[i].type->code == EVENT_TRACE_START)
      start = i;
    if (s.ev[i].type->code == EVENT_TRACE_END)
      end = i;
  }
  if (EVENT_STREAM) {
    cr_assert_eq(c.copies, n);
    cr_assert_eq(c.copied, live);
    cr_assert_gt(c.seg_scans, 0);
    cr_assert_gt(c.frees, 0);
    cr_assert(c.root_scanned, "no scan of the root");
    /* Start, the trace's events, end. */
    cr_assert_lt(start, end);
    for (i = 0; i < s.n; ++i)
      if (s.ev[i].type->code == EVENT_SCAN_SEG || s.ev[i].type->code == EVENT_OBJECT_COPY)
        cr_assert(i > start && i < end, "%s outside the trace", s.ev[i].type->name);
  } else {
    cr_assert_eq(s.n, 0);
  }
  tge_free(&s);
}

/* An event made while the mutator is held waits in the queue, and goes
 * out before the next one written once it runs, with its own clock. */
Test(gcevent, an_event_made_while_the_mutator_is_held_waits)
{
  static mps_addr_t kept[TGE_KEPT];
  evtest_heap_s h;
  tge_stream_s s;
  GC gc;
  Word first = 0x1000, second = 0x2000;
  size_t before;
  evtest_stream_setup(tge_path);
  mps_telemetry_set(1u << EVENT_CAT_SEG);
  tge_open(&h, kept);
  gc = ((Arena)h.arena)->gc;
  before = tge_stream_size();
  shield_enter(&gc->shield);
  shield_hold(&gc->shield);
  cr_assert(shield_is_suspended(&gc->shield));
  gcevent_emit(gc, EVENT_CAT_SEG, EVENT_SEG_FREE, 1, &first);
  cr_assert_eq(gc->events.length, EVENT_STREAM ? 1 : 0);
  shield_release(&gc->shield);
  shield_leave(&gc->shield);
  cr_assert_eq(tge_stream_size(), before, "written while the mutator was held");
  gcevent_emit(gc, EVENT_CAT_SEG, EVENT_SEG_FREE, 1, &second);
  cr_assert_eq(gc->events.length, 0);
  cr_assert(!EVENT_STREAM || tge_stream_size() > before);
  evtest_heap_close(&h);
  tge_read(&s);
  if (EVENT_STREAM) {
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.ev[0].word[0], first);
    cr_assert_eq(s.ev[1].word[0], second);
    cr_assert_leq(s.ev[0].clock, s.ev[1].clock);
  } else {
    cr_assert_eq(s.n, 0);
  }
  tge_free(&s);
}

/* Hold the mutator, make one ObjectPreserve of `addr`, and let it go:
 * nothing else writes it meanwhile. */
static void tge_emit_held(GC gc, Word addr)
{
  Word words[2];
  words[0] = addr;
  words[1] = 16;
  shield_enter(&gc->shield);
  shield_hold(&gc->shield);
  gcevent_emit(gc, EVENT_CAT_OBJECT, EVENT_OBJECT_PRESERVE, 2, words);
  shield_release(&gc->shield);
  shield_leave(&gc->shield);
}

/* An event still waiting when the arena is destroyed is written then
 * (gcevent.h): only object events are in the filter, and the teardown
 * makes none that would write it first. */
Test(gcevent, an_event_still_waiting_at_the_arena_destruction_is_written)
{
  static mps_addr_t kept[TGE_KEPT];
  evtest_heap_s h;
  tge_stream_s s;
  GC gc;
  size_t before;
  evtest_stream_setup(tge_path);
  mps_telemetry_set(1u << EVENT_CAT_OBJECT);
  tge_open(&h, kept);
  gc = ((Arena)h.arena)->gc;
  before = tge_stream_size();
  tge_emit_held(gc, 0x3000);
  cr_assert_eq(gc->events.length, EVENT_STREAM ? 1 : 0);
  cr_assert_eq(tge_stream_size(), before);
  evtest_heap_close(&h);
  tge_read(&s);
  if (EVENT_STREAM) {
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.ev[0].type->code, EVENT_OBJECT_PRESERVE);
    cr_assert_eq(s.ev[0].word[0], 0x3000);
  } else {
    cr_assert_eq(s.n, 0);
  }
  tge_free(&s);
}

/* A queue with no room drops everything made while the mutator is held;
 * the count goes out before the next event written, in the order they
 * happened. */
Test(gcevent, with_no_room_the_drops_are_written_before_the_next_event)
{
  static mps_addr_t kept[TGE_KEPT];
  evtest_heap_s h;
  tge_stream_s s;
  GC gc;
  mps_arena_t arena;
  Word words[2] = {0x5000, 16};
  evtest_stream_setup(tge_path);
  mps_telemetry_set(1u << EVENT_CAT_OBJECT);
  tge_open(&h, kept);
  arena = h.arena;
  gc = ((Arena)h.arena)->gc;
  gcevent_limit_set(gc, 0);
  tge_emit_held(gc, 0x4000);
  tge_emit_held(gc, 0x4001);
  cr_assert_eq(gc->events.length, 0);
  gcevent_emit(gc, EVENT_CAT_OBJECT, EVENT_OBJECT_PRESERVE, 2, words);
  evtest_heap_close(&h);
  tge_read(&s);
  if (EVENT_STREAM) {
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.ev[0].type->code, EVENT_DROPPED);
    cr_assert_eq(s.ev[0].word[0], (mps_word_t)(uintptr_t)arena);
    cr_assert_eq(s.ev[0].word[1], EVENT_CAT_OBJECT);
    cr_assert_eq(s.ev[0].word[2], 2);
    cr_assert_eq(s.ev[1].type->code, EVENT_OBJECT_PRESERVE);
    cr_assert_eq(s.ev[1].word[0], 0x5000);
  } else {
    cr_assert_eq(s.n, 0);
  }
  tge_free(&s);
}

/* A new limit writes first what the old one dropped: the count does not
 * wait in a queue with room again (gcevent.c, invariant 3), and goes out
 * before what follows. */
Test(gcevent, a_new_limit_writes_what_the_old_one_dropped)
{
  static mps_addr_t kept[TGE_KEPT];
  evtest_heap_s h;
  tge_stream_s s;
  GC gc;
  Word words[2] = {0x5000, 16};
  size_t before;
  evtest_stream_setup(tge_path);
  mps_telemetry_set(1u << EVENT_CAT_OBJECT);
  tge_open(&h, kept);
  gc = ((Arena)h.arena)->gc;
  gcevent_limit_set(gc, 0);
  tge_emit_held(gc, 0x4000);
  tge_emit_held(gc, 0x4001);
  before = tge_stream_size();
  gcevent_limit_set(gc, gc->events.capacity);
  cr_assert(!EVENT_STREAM || tge_stream_size() > before, "the drops were not written");
  cr_assert(gcevent_check(&gc->events));
  gcevent_emit(gc, EVENT_CAT_OBJECT, EVENT_OBJECT_PRESERVE, 2, words);
  evtest_heap_close(&h);
  tge_read(&s);
  if (EVENT_STREAM) {
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.ev[0].type->code, EVENT_DROPPED);
    cr_assert_eq(s.ev[0].word[2], 2);
    cr_assert_eq(s.ev[1].type->code, EVENT_OBJECT_PRESERVE);
  } else {
    cr_assert_eq(s.n, 0);
  }
  tge_free(&s);
}

/* A queued event is written with the clock of when it was made: earlier
 * than a label written directly while it waited. */
Test(gcevent, a_queued_event_keeps_the_clock_it_was_made_at)
{
  static mps_addr_t kept[TGE_KEPT];
  evtest_heap_s h;
  tge_stream_s s;
  GC gc;
  Word seg = 0x7000;
  const eventdec_event_s *freed = NULL, *label = NULL;
  mps_clock_t clock;
  size_t i;
  evtest_stream_setup(tge_path);
  mps_telemetry_set((1u << EVENT_CAT_SEG) | (1u << EVENT_CAT_USER));
  tge_open(&h, kept);
  gc = ((Arena)h.arena)->gc;
  shield_enter(&gc->shield);
  shield_hold(&gc->shield);
  gcevent_emit(gc, EVENT_CAT_SEG, EVENT_SEG_FREE, 1, &seg);
  /* Each clock strictly later than the one before. */
  clock = mps_clock();
  while (mps_clock() == clock)
    ;
  mps_telemetry_label(&seg, 1);
  clock = mps_clock();
  while (mps_clock() == clock)
    ;
  shield_release(&gc->shield);
  shield_leave(&gc->shield);
  gcevent_flush(gc);
  evtest_heap_close(&h);
  tge_read(&s);
  for (i = 0; i < s.n; ++i) {
    if (s.ev[i].type->code == EVENT_SEG_FREE && s.ev[i].word[0] == seg)
      freed = &s.ev[i];
    else if (s.ev[i].type->code == EVENT_LABEL)
      label = &s.ev[i];
  }
  if (EVENT_STREAM) {
    cr_assert(freed != NULL && label != NULL);
    cr_assert_gt(freed->offset, label->offset, "the queued event was not kept back");
    cr_assert_lt(freed->clock, label->clock, "written with the clock of its writing");
  } else {
    cr_assert_eq(s.n, 0);
  }
  tge_free(&s);
}

/* Writing the queue while the mutator is held is what it is there to
 * prevent: a checking build stops it. */
Test(gcevent, writing_the_queue_while_the_mutator_is_held_is_refused, .signal = SIGABRT)
{
  static mps_addr_t kept[TGE_KEPT];
  evtest_heap_s h;
  GC gc;
  if (CHECK_LEVEL < 1)
    abort();   /* rash checks nothing, and keeps no queue to write */
  evtest_stream_setup(tge_path);
  tge_open(&h, kept);
  gc = ((Arena)h.arena)->gc;
  reports_install_abort();
  shield_enter(&gc->shield);
  shield_hold(&gc->shield);
  gcevent_flush(gc);
}
