/* test_ring.c: unit tests of the intrusive ring (src/data/ring.h). */
#include <criterion/criterion.h>
#include <signal.h>

#include "../include/mpslib.h"
#include "../src/base/config.h"
#include "../src/data/ring.h"
#include "support/checks.h"
#include "support/reports.h"

typedef struct elt_s {
  int id;
  ring_s link;
} elt_s;

#define ELTS 8

static ring_s head;
static elt_s elts[ELTS];

static void setup(void)
{
  int i;
  ring_init(&head);
  for (i = 0; i < ELTS; ++i) {
    elts[i].id = i;
    ring_init(&elts[i].link);
  }
}

/* The ids on `ring` in iteration order are exactly ids[0..n), and the prev
 * links give them in reverse. */
static void assert_ring(Ring ring, const int *ids, size_t n)
{
  Ring node, next;
  size_t i = 0;
  RING_FOR(node, ring, next) {
    cr_assert_lt(i, n, "ring has more than %zu elements", n);
    cr_assert_eq(PARENT(elt_s, link, node)->id, ids[i], "position %zu", i);
    cr_assert(ring_check(node));
    ++i;
  }
  cr_assert_eq(i, n);
  cr_assert_eq(ring_length(ring), n);
  cr_assert_eq(ring_is_single(ring), n == 0);
  for (node = ring_prev(ring); node != ring; node = ring_prev(node)) {
    cr_assert_gt(i, 0);
    --i;
    cr_assert_eq(PARENT(elt_s, link, node)->id, ids[i]);
  }
  cr_assert_eq(i, 0);
}

static void setup_aborting(void)
{
  setup();
  reports_install_abort();
}

TestSuite(ring, .init = setup);

Test(ring, init_is_single)
{
  cr_assert(ring_check(&head));
  cr_assert(ring_check_single(&head));
  cr_assert(ring_is_single(&head));
  cr_assert_eq(ring_length(&head), 0);
  cr_assert_eq(ring_next(&head), &head);
  cr_assert_eq(ring_prev(&head), &head);
  cr_assert_eq(head.next, &head);
  cr_assert_eq(head.prev, &head);
}

Test(ring, for_over_empty_ring_runs_no_body)
{
  Ring node, next;
  int runs = 0;
  RING_FOR(node, &head, next)
    ++runs;
  cr_assert_eq(runs, 0);
}

Test(ring, append_keeps_order)
{
  static const int want[] = {0, 1, 2, 3};
  int i;
  for (i = 0; i < 4; ++i)
    ring_append(&head, &elts[i].link);
  assert_ring(&head, want, 4);
  cr_assert_eq(ring_next(&head), &elts[0].link);
  cr_assert_eq(ring_prev(&head), &elts[3].link);
  cr_assert_eq(ring_next(&elts[3].link), &head);
  cr_assert_eq(ring_prev(&elts[0].link), &head);
}

Test(ring, insert_puts_first)
{
  static const int want[] = {3, 2, 1, 0};
  int i;
  for (i = 0; i < 4; ++i)
    ring_insert(&head, &elts[i].link);
  assert_ring(&head, want, 4);
}

Test(ring, insert_and_append_mixed)
{
  static const int want[] = {4, 2, 0, 1, 3};
  ring_append(&head, &elts[0].link);
  ring_append(&head, &elts[1].link);
  ring_insert(&head, &elts[2].link);
  ring_append(&head, &elts[3].link);
  ring_insert(&head, &elts[4].link);
  assert_ring(&head, want, 5);
}

Test(ring, single_element)
{
  static const int want[] = {5};
  ring_append(&head, &elts[5].link);
  assert_ring(&head, want, 1);
  cr_assert(!ring_is_single(&elts[5].link));
  cr_assert_eq(ring_next(&elts[5].link), &head);
  cr_assert_eq(ring_prev(&elts[5].link), &head);
  ring_remove(&elts[5].link);
  assert_ring(&head, NULL, 0);
  cr_assert(ring_check_single(&elts[5].link));
}

Test(ring, remove_first_middle_last)
{
  static const int after_middle[] = {0, 1, 3, 4};
  static const int after_first[] = {1, 3, 4};
  static const int after_last[] = {1, 3};
  int i;
  for (i = 0; i < 5; ++i)
    ring_append(&head, &elts[i].link);
  ring_remove(&elts[2].link);
  assert_ring(&head, after_middle, 4);
  cr_assert(ring_is_single(&elts[2].link));
  ring_remove(&elts[0].link);
  assert_ring(&head, after_first, 3);
  ring_remove(&elts[4].link);
  assert_ring(&head, after_last, 2);
  cr_assert(ring_check_single(&elts[0].link));
  cr_assert(ring_check_single(&elts[4].link));
}

Test(ring, removed_node_can_join_another_ring)
{
  static const int first[] = {0, 2};
  static const int second[] = {1};
  ring_s other;
  ring_init(&other);
  ring_append(&head, &elts[0].link);
  ring_append(&head, &elts[1].link);
  ring_append(&head, &elts[2].link);
  ring_remove(&elts[1].link);
  ring_append(&other, &elts[1].link);
  assert_ring(&head, first, 2);
  assert_ring(&other, second, 1);
}

Test(ring, for_allows_removing_every_node)
{
  Ring node, next;
  int i, seen = 0;
  for (i = 0; i < ELTS; ++i)
    ring_append(&head, &elts[i].link);
  RING_FOR(node, &head, next) {
    cr_assert_eq(PARENT(elt_s, link, node)->id, seen);
    ring_remove(node);
    ++seen;
  }
  cr_assert_eq(seen, ELTS);
  assert_ring(&head, NULL, 0);
  for (i = 0; i < ELTS; ++i)
    cr_assert(ring_check_single(&elts[i].link));
}

Test(ring, for_allows_removing_some_nodes)
{
  static const int odd[] = {1, 3, 5, 7};
  Ring node, next;
  int i, seen = 0;
  for (i = 0; i < ELTS; ++i)
    ring_append(&head, &elts[i].link);
  RING_FOR(node, &head, next) {
    if (PARENT(elt_s, link, node)->id % 2 == 0)
      ring_remove(node);
    ++seen;
  }
  cr_assert_eq(seen, ELTS);
  assert_ring(&head, odd, 4);
}

Test(ring, any_node_can_head_the_ring)
{
  /* Rings have no distinguished head: seen from an element, the head is
   * just another node. */
  Ring node, next;
  int i;
  Count n = 0;
  for (i = 0; i < 3; ++i)
    ring_append(&head, &elts[i].link);
  cr_assert_eq(ring_length(&elts[1].link), 3);
  RING_FOR(node, &elts[1].link, next)
    ++n;
  cr_assert_eq(n, 3);
  cr_assert_eq(ring_next(&elts[1].link), &elts[2].link);
  cr_assert_eq(ring_next(&elts[2].link), &head);
}

Test(ring, parent_recovers_element)
{
  ring_append(&head, &elts[6].link);
  cr_assert_eq(PARENT(elt_s, link, ring_next(&head)), &elts[6]);
}

Test(ring, finish_single_clears_links)
{
  ring_finish(&elts[0].link);
  cr_assert_null(elts[0].link.next);
  cr_assert_null(elts[0].link.prev);
  ring_finish(&head);
  cr_assert_null(head.next);
}

Test(ring, check_reports_broken_links)
{
  ring_s a, b;
  if (CHECK_LEVEL < 2)
    cr_skip_test("ring_check only checks links at CHECK_LEVEL 2");
  reports_install();
  ring_init(&a);
  ring_init(&b);
  ring_append(&a, &b);
  reports_install();
  cr_assert(ring_check(&a));
  cr_assert_eq(reports_seen(), 0);
  b.prev = &b; /* a->next->prev != a */
  (void)ring_check(&a);
  cr_assert_eq(reports_seen(), 1);
  reports_install();
  (void)ring_check_single(&a);
  cr_assert_gt(reports_seen(), 0, "a non-singleton passed ring_check_single");
}

/* ring.inv.prev on its own: here only the predecessor's next link is
 * wrong, and ring.inv.next still holds. */
Test(ring, check_reports_a_broken_prev_link)
{
  ring_s a, b, c;
  if (CHECK_LEVEL < 2)
    cr_skip_test("ring_check only checks links at CHECK_LEVEL 2");
  reports_install();
  ring_init(&a);
  ring_init(&b);
  ring_init(&c);
  ring_append(&a, &b);
  ring_append(&a, &c);   /* a -> b -> c -> a */
  reports_install();
  c.next = &b;           /* a->prev->next != a, a->next->prev == a */
  (void)ring_check(&a);
  cr_assert_eq(reports_seen(), 1);
}

Test(ring_misuse, finish_of_non_single_ring_aborts,
     .init = setup_aborting, .signal = SIGABRT, TEST_NEEDS_CHECKS)
{
  ring_append(&head, &elts[0].link);
  ring_finish(&head);
}

/* The remaining misuse is caught by AVER_CRITICAL, in cool only.  A
 * counting handler lets each test see the report and go on. */
static void setup_counting(void)
{
  setup();
  reports_install();
  if (CHECK_LEVEL < 2)
    cr_skip_test("ring operations check their nodes at CHECK_LEVEL 2 only");
}

Test(ring_misuse, use_after_finish_is_reported, .init = setup_counting)
{
  ring_finish(&head);
  cr_assert_null(ring_next(&head));
  cr_assert_gt(reports_seen(), 0);
}

Test(ring_misuse, append_of_linked_node_is_reported, .init = setup_counting)
{
  ring_s other;
  ring_init(&other);
  ring_append(&head, &elts[0].link);
  cr_assert_eq(reports_seen(), 0);
  ring_append(&other, &elts[0].link);
  cr_assert_gt(reports_seen(), 0);
}

Test(ring_misuse, insert_of_linked_node_is_reported, .init = setup_counting)
{
  ring_s other;
  ring_init(&other);
  ring_insert(&head, &elts[0].link);
  cr_assert_eq(reports_seen(), 0);
  ring_insert(&other, &elts[0].link);
  cr_assert_gt(reports_seen(), 0);
}

Test(ring_misuse, remove_of_single_node_is_reported, .init = setup_counting)
{
  ring_remove(&elts[0].link);
  cr_assert_gt(reports_seen(), 0);
  cr_assert(ring_is_single(&elts[0].link));
}
