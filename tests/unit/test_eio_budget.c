/* test_eio_budget: what an Engine.IO session really costs and the node's memory budget: real
 * allocation costs, the budget shared by sessions, the transport's bytes, shedding the largest,
 * bytes held outside sessions, volatile packets dropped first. */
#include "eio_fixture.h"
#include "eio_session.h"
#include "util_alloc.h"

#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- memory: real costs, the node budget, the transport's bytes, volatile packets ---- */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

START_TEST(alloc_cost_vectors)
{
    /* glibc on 64-bit: request + 8, rounded up to 16, at least 32; mmap'd from 128 KiB on. */
    ck_assert_uint_eq(util_alloc_cost(0), 32);
    ck_assert_uint_eq(util_alloc_cost(24), 32);
    ck_assert_uint_eq(util_alloc_cost(25), 48);
    ck_assert_uint_eq(util_alloc_cost(54), 64);
    ck_assert_uint_eq(util_alloc_cost(56), 64);
    ck_assert_uint_eq(util_alloc_cost(57), 80);
    ck_assert_uint_eq(util_alloc_cost(1000), 1008);
    ck_assert_uint_eq(util_alloc_cost(131071), 131088);
    ck_assert_uint_eq(util_alloc_cost(131072), 135168);
    ck_assert_uint_eq(util_alloc_cost(200000), 200704);
    /* A message: header (32) + headroom (14) + wire. */
    ck_assert_uint_eq(sizeof(eio_msg), 32);
    eio_msg *m = eio_msg_new(EIO_MESSAGE, false, "2[\"m\"]", 6); /* 42["m"]: 7 wire bytes */
    ck_assert_uint_eq(m->len, 7);
    ck_assert_uint_eq(eio_msg_cost(m), 64);
    eio_msg_unref(m);
#ifndef UNDER_ASAN
    /* What glibc really does (ASan's allocator differs): usable size + its 8-byte header. */
    for (size_t n = 0; n < 5000; n++) {
        void *p = malloc(n);
        ck_assert_msg(util_alloc_cost(n) == malloc_usable_size(p) + 8,
                      "n=%zu: cost %zu, glibc chunk %zu", n, util_alloc_cost(n),
                      malloc_usable_size(p) + 8);
        free(p);
    }
#endif
}
END_TEST

START_TEST(slow_consumer_of_small_events)
{
    /* The case: 7-byte events 42["m"] to a client that does not read. The default bound
     * holds each at 64 bytes + its slot: about 230,000 of them (16 MiB), not 2.4 million. */
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    size_t sent = 0;
    for (;;) {
        eio_msg *m = eio_msg_new(EIO_MESSAGE, false, "2[\"m\"]", 6);
        int rc = eio_session_send(s, m);
        eio_msg_unref(m);
        if (rc != 0)
            break;
        sent++;
        ck_assert_uint_le(eio_session_memory(s), EIO_DEFAULT_MAX_QUEUE);
    }
    ck_assert_uint_ge(sent, EIO_DEFAULT_MAX_QUEUE / (64 + 16));
    ck_assert_uint_le(sent, EIO_DEFAULT_MAX_QUEUE / 64);
    assert_closed(s, &r, EIO_REASON_SLOW_CONSUMER);
    ck_assert_uint_eq(eio_session_memory(s), 0); /* the queue was dropped; a big ring freed */
    eio_session_free(s);
}
END_TEST

/* A session on budget b with its open packet taken. */
static eio_session *budget_session(eio_budget *b, size_t bound, rec *r)
{
    eio_config cfg = cfg_default();
    cfg.budget = b;
    cfg.max_queue_bytes = bound;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, r);
    take_open_ws(s, &cfg);
    return s;
}

START_TEST(budget_counts_shared_message_once)
{
    /* A broadcast queued on 100 sessions costs the node its size once plus a slot per session;
     * each session is charged its full cost (it alone may keep it alive). */
    eio_budget *b = eio_budget_new(0);
    enum { N = 100 };
    static rec r[N];
    eio_session *v[N];
    for (int i = 0; i < N; i++)
        v[i] = budget_session(b, EIO_DEFAULT_MAX_QUEUE, &r[i]);
    ck_assert_uint_eq(eio_budget_used(b), N * RING8_COST); /* open packets gone, rings kept */
    eio_msg *m = eio_msg_new(EIO_MESSAGE, false, "123456789", 9);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(eio_session_send(v[i], m), 0);
    ck_assert_uint_eq(m->qrefs, N);
    ck_assert_uint_eq(eio_budget_used(b), N * RING8_COST + MSG10_COST);
    ck_assert_uint_eq(eio_session_memory(v[0]), RING8_COST + MSG10_COST);
    for (int i = 0; i < N - 1; i++)
        eio_msg_unref(eio_session_pop(v[i]));
    ck_assert_uint_eq(eio_budget_used(b), N * RING8_COST + MSG10_COST); /* one queue still has it */
    eio_msg_unref(eio_session_pop(v[N - 1]));
    ck_assert_uint_eq(eio_budget_used(b), N * RING8_COST);
    ck_assert_uint_eq(m->qrefs, 0);
    /* Closing and freeing gives everything back. */
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(eio_session_send(v[i], m), 0);
    for (int i = 0; i < N; i++) {
        eio_session_close(v[i], EIO_REASON_TRANSPORT_CLOSE);
        eio_session_free(v[i]);
    }
    ck_assert_uint_eq(eio_budget_used(b), 0);
    ck_assert_uint_eq(m->refs, 1);
    eio_msg_unref(m);
    eio_budget_free(b);
}
END_TEST

START_TEST(ring_freed_after_burst)
{
    /* A burst's big ring is not kept once the queue drains; a small ring is. */
    eio_budget *b = eio_budget_new(0);
    rec r;
    eio_session *s = budget_session(b, EIO_DEFAULT_MAX_QUEUE, &r);
    eio_msg *m = eio_msg_new(EIO_MESSAGE, false, "123456789", 9);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(eio_session_send(s, m), 0);
    ck_assert_uint_eq(eio_session_memory(s), 1000 * MSG10_COST + util_alloc_cost(1024 * 8));
    ck_assert_uint_eq(eio_budget_used(b), MSG10_COST + util_alloc_cost(1024 * 8));
    for (int i = 0; i < 1000; i++)
        eio_msg_unref(eio_session_pop(s));
    ck_assert_uint_eq(eio_session_memory(s), 0);
    ck_assert_uint_eq(eio_budget_used(b), 0);
    ck_assert_int_eq(eio_session_send(s, m), 0); /* works again from an empty ring */
    eio_msg_unref(eio_session_pop(s));
    ck_assert_uint_eq(eio_session_memory(s), RING8_COST); /* small: kept */
    eio_session_free(s);
    ck_assert_uint_eq(eio_budget_used(b), 0);
    eio_msg_unref(m);
    eio_budget_free(b);
}
END_TEST

START_TEST(transport_bytes_charged)
{
    /* What the transport holds (a write the kernel did not take, a polling answer) counts in the
     * session's bound and the node's budget; setting it never closes the session. */
    eio_budget *b = eio_budget_new(100000);
    rec r;
    size_t bound = RING8_COST + 150 + 2 * MSG10_COST;
    eio_session *s = budget_session(b, bound, &r);
    size_t base = eio_budget_used(b);
    eio_session_hold(s, EIO_HOLD_TX, 1000);
    ck_assert_uint_eq(eio_session_memory(s), RING8_COST + 1000);
    ck_assert_uint_eq(eio_budget_used(b), base + 1000);
    ck_assert_int_eq(r.closes, 0); /* over its bound, but not closed by the setter */
    eio_session_hold(s, EIO_HOLD_TX, 100);
    ck_assert_uint_eq(eio_budget_used(b), base + 100);
    eio_session_hold(s, EIO_HOLD_APP, 30);
    eio_session_hold(s, EIO_HOLD_RX, 20);
    ck_assert_uint_eq(eio_session_held(s, EIO_HOLD_TX), 100);
    ck_assert_uint_eq(eio_session_held(s, EIO_HOLD_RX), 20);
    ck_assert_uint_eq(eio_session_held(s, EIO_HOLD_APP), 30);
    ck_assert_uint_eq(eio_session_memory(s), RING8_COST + 150);
    ck_assert_uint_eq(eio_budget_used(b), base + 150);
    /* The next send counts them: two messages fit (80 + 150 + 2 x 64), a third does not. */
    ck_assert_int_eq(eio_session_send_message(s, "123456789", 9, false), 0);
    ck_assert_int_eq(eio_session_send_message(s, "123456789", 9, false), 0);
    ck_assert_int_eq(eio_session_send_message(s, "123456789", 9, false), -1);
    assert_closed(s, &r, EIO_REASON_SLOW_CONSUMER);
    /* Still held until the transport says so, or the session is freed. */
    ck_assert_uint_eq(eio_budget_used(b), base + 150);
    eio_session_hold(s, EIO_HOLD_TX, 0);
    ck_assert_uint_eq(eio_budget_used(b), base + 50);
    eio_session_free(s);
    ck_assert_uint_eq(eio_budget_used(b), 0);
    /* The setter is counted in the budget at once; it sheds at the next send. */
    rec r2, r3;
    eio_session *s2 = budget_session(b, EIO_DEFAULT_MAX_QUEUE, &r2);
    eio_session *s3 = budget_session(b, EIO_DEFAULT_MAX_QUEUE, &r3);
    eio_session_hold(s2, EIO_HOLD_TX, 200000);
    ck_assert(eio_budget_over(b));
    ck_assert_int_eq(r2.closes, 0);
    ck_assert_int_eq(eio_session_send_message(s3, "x", 1, false), 0); /* s2 is shed, not s3 */
    assert_closed(s2, &r2, EIO_REASON_SLOW_CONSUMER);
    ck_assert_int_eq(r3.closes, 0);
    ck_assert_uint_eq(eio_budget_shed(b), 1);
    eio_session_free(s2);
    ck_assert(!eio_budget_over(b));
    eio_session_free(s3);
    ck_assert_uint_eq(eio_budget_used(b), 0);
    eio_budget_free(b);
}
END_TEST

/* The real cost of the ring n queued messages grew (powers of two from 8). */
static size_t ring_cost_for_msgs(size_t n)
{
    size_t cap = 8;
    while (cap < n)
        cap *= 2;
    return util_alloc_cost(cap * sizeof(void *));
}

START_TEST(budget_sheds_largest_first)
{
    /* Ten sessions holding 1..10 units; the budget goes over: the largest are closed until it is
     * at most 7/8 of its max, the smaller ones keep their queues. */
    enum { N = 10, UNIT = 20 };
    size_t max = 10; /* just above what they hold: every message and each one's ring */
    for (int i = 1; i <= N; i++)
        max += (size_t)i * UNIT * MSG10_COST + ring_cost_for_msgs((size_t)i * UNIT);
    eio_budget *b = eio_budget_new(max);
    ck_assert_uint_eq(eio_budget_max(b), max);
    static rec r[N];
    eio_session *v[N];
    for (int i = 0; i < N; i++)
        v[i] = budget_session(b, EIO_DEFAULT_MAX_QUEUE, &r[i]);
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < (i + 1) * UNIT; k++)
            ck_assert_int_eq(eio_session_send_message(v[i], "123456789", 9, false), 0);
    }
    ck_assert_uint_eq(eio_budget_shed(b), 0);
    ck_assert_uint_eq(eio_budget_used(b), max - 10);
    ck_assert(eio_budget_over(b)); /* above 7/8 of max: a node refuses new sessions */
    /* The smallest session now grows by a lot: the budget goes over. */
    int k = 0;
    while (eio_budget_shed(b) == 0) {
        ck_assert_int_lt(k++, 6 * UNIT);
        ck_assert_int_eq(eio_session_send_message(v[0], "123456789", 9, false), 0);
    }
    ck_assert_uint_le(eio_budget_used(b), max - max / 8);
    /* Closed: the largest (the last ones); open: the others, with their queues. */
    int closed = 0;
    for (int i = N - 1; i >= 0; i--) {
        if (eio_session_state(v[i]) == EIO_ST_CLOSED) {
            ck_assert_ptr_eq(r[i].reason, EIO_REASON_SLOW_CONSUMER);
            closed++;
            ck_assert_msg(i >= N - closed, "session %d closed before a larger one", i);
        } else {
            ck_assert_uint_gt(eio_session_queued(v[i]), 0);
        }
    }
    ck_assert_uint_eq(eio_budget_shed(b), (uint64_t)closed);
    ck_assert_int_eq(eio_session_state(v[0]), EIO_ST_OPEN);
    for (int i = 0; i < N; i++)
        eio_session_free(v[i]);
    ck_assert_uint_eq(eio_budget_used(b), 0);
    eio_budget_free(b);
}
END_TEST

START_TEST(budget_over_predicate)
{
    ck_assert(!eio_budget_over(NULL));
    eio_budget *b = eio_budget_new(8000);
    rec r;
    eio_session *s = budget_session(b, EIO_DEFAULT_MAX_QUEUE, &r);
    ck_assert(!eio_budget_over(b));
    eio_session_hold(s, EIO_HOLD_RX, 7000 - RING8_COST); /* exactly 7/8 */
    ck_assert(!eio_budget_over(b));
    eio_session_hold(s, EIO_HOLD_RX, 7001 - RING8_COST);
    ck_assert(eio_budget_over(b));
    eio_session_hold(s, EIO_HOLD_RX, 0);
    ck_assert(!eio_budget_over(b));
    eio_session_free(s);
    eio_budget_free(b);
    /* No max: accounting only, never over. */
    b = eio_budget_new(0);
    s = budget_session(b, EIO_DEFAULT_MAX_QUEUE, &r);
    eio_session_hold(s, EIO_HOLD_RX, (size_t)1 << 40);
    ck_assert(!eio_budget_over(b));
    eio_session_free(s);
    eio_budget_free(b);
}
END_TEST

START_TEST(budget_take_give_outside_sessions)
{
    ck_assert(eio_budget_take(NULL, 1000)); /* no budget: always granted */
    eio_budget_give(NULL, 1000);
    eio_budget *b = eio_budget_new(8000);
    rec r;
    eio_session *s = budget_session(b, EIO_DEFAULT_MAX_QUEUE, &r);
    size_t base = eio_budget_used(b);
    ck_assert(eio_budget_take(b, 8000 - base)); /* exactly the max: granted */
    ck_assert_uint_eq(eio_budget_used(b), 8000);
    ck_assert(!eio_budget_take(b, 1)); /* one more: refused, nothing charged */
    ck_assert_uint_eq(eio_budget_used(b), 8000);
    ck_assert_uint_eq(eio_budget_shed(b), 0); /* no session is shed for a request body */
    ck_assert_int_eq(r.closes, 0);
    eio_budget_give(b, 8000 - base);
    ck_assert_uint_eq(eio_budget_used(b), base);
    ck_assert(!eio_budget_take(b, SIZE_MAX)); /* no overflow */
    ck_assert_uint_eq(eio_budget_used(b), base);
    eio_session_free(s);
    ck_assert_uint_eq(eio_budget_used(b), 0);
    eio_budget_free(b);
    /* No max: accounting only. */
    b = eio_budget_new(0);
    ck_assert(eio_budget_take(b, (size_t)1 << 40));
    ck_assert_uint_eq(eio_budget_used(b), (size_t)1 << 40);
    eio_budget_give(b, (size_t)1 << 40);
    ck_assert_uint_eq(eio_budget_used(b), 0);
    eio_budget_free(b);
}
END_TEST

START_TEST(volatile_dropped_first)
{
    /* Volatile packets are refused past half the bound, and dropped from the queue (whole, with
     * their attachments) before a regular send would close the session. */
    eio_config cfg = cfg_default();
    cfg.max_queue_bytes = RING16_COST + 16 * MSG10_COST; /* 1168; half: 584 */
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    eio_msg *reg = eio_msg_new(EIO_MESSAGE, false, "regular00", 9);
    eio_msg *head = eio_msg_new(EIO_MESSAGE, false, "5-volatil", 9);
    eio_msg *att = eio_msg_new(EIO_MESSAGE, true, "attachmnt0", 10); /* binary: 10 wire bytes */
    ck_assert_uint_eq(eio_msg_cost(att), MSG10_COST);
    eio_msg *pkt[2] = {head, att};
    ck_assert_int_eq(eio_session_send(s, reg), 0);
    ck_assert_int_eq(eio_session_send_volatile(s, pkt, 2), 0);
    ck_assert_int_eq(eio_session_send(s, reg), 0);
    ck_assert_int_eq(eio_session_send_volatile(s, pkt, 2), 0);
    /* Six messages and an 8-slot ring: 80 + 6 x 64 = 464; two more would be 592 > 584. */
    ck_assert_int_eq(eio_session_send_volatile(s, pkt, 2), -1);
    ck_assert_uint_eq(eio_session_volatile_dropped(s), 1);
    ck_assert_uint_eq(eio_session_queued(s), 6);
    /* The first volatile packet's head leaves (after the regular message before it): its
     * attachment stays queued, since the client is reading that packet. */
    eio_msg_unref(eio_session_pop(s));
    eio_msg_unref(eio_session_pop(s));
    ck_assert_uint_eq(eio_session_queued(s), 4); /* att, reg, head, att */
    for (int i = 0; i < 12; i++)
        ck_assert_int_eq(eio_session_send(s, reg), 0);
    ck_assert_uint_eq(eio_session_memory(s), cfg.max_queue_bytes);
    /* One more regular message: the second volatile packet (head and attachment) goes. */
    ck_assert_int_eq(eio_session_send(s, reg), 0);
    ck_assert_int_eq(r.closes, 0);
    ck_assert_uint_eq(eio_session_volatile_dropped(s), 2);
    ck_assert_uint_eq(eio_session_queued(s), 15);
    /* Order: the first packet's attachment, then the regular messages. */
    eio_msg *got = eio_session_pop(s);
    ck_assert_ptr_eq(got, att);
    eio_msg_unref(got);
    while ((got = eio_session_pop(s))) {
        ck_assert_ptr_eq(got, reg);
        eio_msg_unref(got);
    }
    /* Only regular messages, and the bound reached: the next one closes the session. */
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(eio_session_send(s, reg), 0);
    ck_assert_int_eq(eio_session_send(s, reg), -1);
    assert_closed(s, &r, EIO_REASON_SLOW_CONSUMER);
    ck_assert_int_eq(eio_session_send_volatile(s, pkt, 2), -1);
    eio_session_free(s);
    ck_assert_uint_eq(reg->refs, 1);
    ck_assert_uint_eq(head->refs, 1);
    ck_assert_uint_eq(att->refs, 1);
    ck_assert_uint_eq(reg->qrefs + head->qrefs + att->qrefs, 0);
    eio_msg_unref(reg);
    eio_msg_unref(head);
    eio_msg_unref(att);
}
END_TEST

static Suite *budget_suite(void)
{
    Suite *s = suite_create("eio_budget");
    TCase *tc;
    tc = tcase_create("memory");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, alloc_cost_vectors);
    tcase_add_test(tc, slow_consumer_of_small_events);
    tcase_add_test(tc, budget_counts_shared_message_once);
    tcase_add_test(tc, ring_freed_after_burst);
    tcase_add_test(tc, transport_bytes_charged);
    tcase_add_test(tc, budget_sheds_largest_first);
    tcase_add_test(tc, budget_over_predicate);
    tcase_add_test(tc, budget_take_give_outside_sessions);
    tcase_add_test(tc, volatile_dropped_first);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(budget_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
