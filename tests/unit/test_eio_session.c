/* test_eio_session: the Engine.IO session state machine driven with injected time, per its header
 * (its memory accounting and the node budget: test_eio_budget.c; shared helpers: eio_fixture.c). */
#include "eio_fixture.h"
#include "eio_session.h"
#include "util_alloc.h"

#include <check.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- open ---- */

START_TEST(config_defaults)
{
    eio_config cfg;
    memset(&cfg, 0xff, sizeof cfg);
    eio_config_defaults(&cfg);
    ck_assert_uint_eq(cfg.ping_interval_ms, 25000);
    ck_assert_uint_eq(cfg.ping_timeout_ms, 20000);
    ck_assert_uint_eq(cfg.max_payload, 1000000);
}
END_TEST

START_TEST(open_packet_polling)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert_int_eq(eio_session_transport(s), EIO_TR_POLLING);
    ck_assert_ptr_null(eio_session_close_reason(s));
    ck_assert_uint_eq(eio_session_queued(s), 1);
    ck_assert_uint_gt(eio_session_queued_bytes(s), 0);
    take_open_polling(s, &cfg);
    ck_assert_uint_eq(eio_session_queued(s), 0);
    ck_assert_uint_eq(eio_session_queued_bytes(s), 0);
    ck_assert_int_eq(r.closes, 0);
    eio_session_free(s);
    ck_assert_int_eq(r.closes, 0); /* free does not run on_close */
}
END_TEST

START_TEST(open_packet_custom_config)
{
    eio_config cfg = cfg_default();
    cfg.ping_interval_ms = 300;
    cfg.ping_timeout_ms = 200;
    cfg.max_payload = 12345;
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg); /* checks the three numbers against cfg */
    eio_session_free(s);
}
END_TEST

START_TEST(open_packet_websocket)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    ck_assert_int_eq(eio_session_transport(s), EIO_TR_WEBSOCKET);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert_uint_eq(eio_session_queued(s), 1);
    take_open_ws(s, &cfg);
    ck_assert_ptr_null(eio_session_pop(s));
    eio_session_free(s);
}
END_TEST

START_TEST(sid_format_and_unique)
{
    enum { N = 200 };
    eio_config cfg = cfg_default();
    static char sids[N][EIO_SID_LEN + 1];
    for (int i = 0; i < N; i++) {
        rec r;
        eio_session *s = session_new(&cfg, i % 2 ? EIO_TR_WEBSOCKET : EIO_TR_POLLING, &r);
        const char *sid = eio_session_sid(s);
        ck_assert_uint_eq(strlen(sid), EIO_SID_LEN);
        ck_assert_uint_eq(EIO_SID_LEN, 27);
        for (const char *c = sid; *c; c++)
            ck_assert_msg((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                              (*c >= '0' && *c <= '9') || *c == '-' || *c == '_',
                          "sid \"%s\" is not URL-safe", sid);
        ck_assert_ptr_eq(eio_session_sid(s), sid); /* stable */
        memcpy(sids[i], sid, EIO_SID_LEN + 1);
        for (int k = 0; k < i; k++)
            ck_assert_str_ne(sids[k], sids[i]);
        eio_session_free(s);
    }
}
END_TEST

START_TEST(userdata_get_set)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    ck_assert_ptr_eq(eio_session_userdata(s), &r);
    int other;
    eio_session_set_userdata(s, &other);
    ck_assert_ptr_eq(eio_session_userdata(s), &other);
    eio_session_free(s);
    eio_session_free(NULL);
}
END_TEST

/* ---- heartbeat ---- */

START_TEST(ping_at_interval)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    uint64_t clock = T0;
    ck_assert_uint_le(eio_session_next_wakeup(s), T0 + cfg.ping_interval_ms);
    run_until(s, &clock, T0 + cfg.ping_interval_ms - 1);
    ck_assert_uint_eq(eio_session_queued(s), 0);
    run_until(s, &clock, T0 + cfg.ping_interval_ms);
    ck_assert_uint_eq(eio_session_queued(s), 1);
    ck_assert_uint_eq(eio_session_queued_bytes(s), 1);
    ASSERT_POP_TEXT(s, "2");
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert_int_eq(r.closes, 0);
    eio_session_free(s);
}
END_TEST

START_TEST(ping_timeout_closes)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    uint64_t clock = T0, ping = T0 + cfg.ping_interval_ms;
    run_until(s, &clock, ping);
    ASSERT_POP_TEXT(s, "2");
    ck_assert_uint_le(eio_session_next_wakeup(s), ping + cfg.ping_timeout_ms);
    run_until(s, &clock, ping + cfg.ping_timeout_ms - 1);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert_int_eq(r.closes, 0);
    run_until(s, &clock, ping + cfg.ping_timeout_ms);
    assert_closed(s, &r, EIO_REASON_PING_TIMEOUT);
    /* Nothing more happens afterwards. */
    eio_session_tick(s, ping + 10 * cfg.ping_interval_ms);
    ck_assert_int_eq(r.closes, 1);
    eio_session_free(s);
}
END_TEST

START_TEST(pong_resets_timeout)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    uint64_t clock = T0, ping = T0 + cfg.ping_interval_ms;
    run_until(s, &clock, ping);
    ASSERT_POP_TEXT(s, "2");
    uint64_t pong = ping + cfg.ping_timeout_ms - 1;
    run_until(s, &clock, pong);
    eio_packet p = text_packet(EIO_PONG, "");
    ck_assert_int_eq(eio_session_on_packet(s, &p, pong), 0);
    run_until(s, &clock, ping + cfg.ping_timeout_ms + 10);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert_int_eq(r.closes, 0);
    /* The next ping comes at the latest one interval after the pong. */
    run_until(s, &clock, pong + cfg.ping_interval_ms);
    ck_assert_uint_eq(eio_session_queued(s), 1);
    ASSERT_POP_TEXT(s, "2");
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    eio_session_free(s);
}
END_TEST

START_TEST(heartbeat_many_intervals)
{
    eio_config cfg = cfg_default();
    cfg.ping_interval_ms = 1000;
    cfg.ping_timeout_ms = 500;
    const uint64_t delay = 300; /* the client answers each ping this late */
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    uint64_t clock = T0, prev_ping = T0, last_pong = T0;
    for (int k = 0; k < 10; k++) {
        /* Advance wakeup by wakeup until the ping appears. */
        while (eio_session_queued(s) == 0) {
            uint64_t w = eio_session_next_wakeup(s);
            ck_assert_uint_ne(w, UINT64_MAX);
            ck_assert_uint_le(w, last_pong + cfg.ping_interval_ms);
            if (w > clock)
                clock = w;
            eio_session_tick(s, clock);
        }
        ck_assert_uint_ge(clock, prev_ping + cfg.ping_interval_ms);
        ck_assert_uint_le(clock, last_pong + cfg.ping_interval_ms);
        ASSERT_POP_TEXT(s, "2");
        prev_ping = clock;
        run_until(s, &clock, prev_ping + delay);
        ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
        ck_assert_uint_eq(eio_session_queued(s), 0);
        eio_packet p = text_packet(EIO_PONG, "");
        ck_assert_int_eq(eio_session_on_packet(s, &p, clock), 0);
        last_pong = clock;
    }
    ck_assert_int_eq(r.closes, 0);
    /* The client stops answering: closed pingTimeout after the next ping, never later. */
    run_until(s, &clock, last_pong + cfg.ping_interval_ms + cfg.ping_timeout_ms);
    assert_closed(s, &r, EIO_REASON_PING_TIMEOUT);
    eio_session_free(s);
}
END_TEST

START_TEST(ping_goes_to_held_get)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    uint64_t clock = T0;
    ck_assert_int_eq(eio_session_poll_get(s, T0), EIO_POLL_HOLD);
    ck_assert(!eio_session_poll_ready(s));
    int w0 = r.writables;
    run_until(s, &clock, T0 + cfg.ping_interval_ms);
    ck_assert(eio_session_poll_ready(s));
    ck_assert_int_gt(r.writables, w0);
    util_buf b = UTIL_BUF_INIT;
    ck_assert_uint_eq(eio_session_poll_take(s, &b), 1);
    ASSERT_BODY(&b, "2");
    ck_assert_int_eq(post_str(s, clock + 5, "3"), EIO_POST_OK);
    run_until(s, &clock, T0 + cfg.ping_interval_ms + cfg.ping_timeout_ms + 1);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(ping_timeout_answers_held_get)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    uint64_t clock = T0, ping = T0 + cfg.ping_interval_ms;
    run_until(s, &clock, ping);
    util_buf b = UTIL_BUF_INIT;
    get_ready(s, ping, &b);
    ASSERT_BODY(&b, "2");
    ck_assert_int_eq(eio_session_poll_get(s, ping + 1), EIO_POLL_HOLD);
    run_until(s, &clock, ping + cfg.ping_timeout_ms);
    assert_closed(s, &r, EIO_REASON_PING_TIMEOUT);
    ck_assert(eio_session_poll_pending(s));
    ck_assert(eio_session_poll_ready(s));
    ck_assert_int_eq(eio_session_close_reply(s), EIO_CLOSE);
    util_buf_reset(&b);
    eio_session_poll_take(s, &b);
    ASSERT_BODY(&b, "1");
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(vanished_polling_client_is_reaped)
{
    /* No request ever comes after the handshake: the server's own timer closes the session. */
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    uint64_t clock = T0;
    run_until(s, &clock, T0 + cfg.ping_interval_ms + cfg.ping_timeout_ms - 1);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    run_until(s, &clock, T0 + cfg.ping_interval_ms + cfg.ping_timeout_ms);
    assert_closed(s, &r, EIO_REASON_PING_TIMEOUT);
    eio_session_free(s);
}
END_TEST

/* ---- polling ---- */

START_TEST(post_delivers_messages)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(post_str(s, T0 + 1, "4hello\036bAQID\0364\0364wörld"), EIO_POST_OK);
    ck_assert_int_eq(r.nmsgs, 4);
    ck_assert_int_eq(r.bad_args, 0);
    ck_assert(!r.msgs[0].binary);
    ck_assert_uint_eq(r.msgs[0].data.len, 5);
    ck_assert_mem_eq(r.msgs[0].data.data, "hello", 5);
    ck_assert(r.msgs[1].binary);
    ck_assert_uint_eq(r.msgs[1].data.len, 3);
    ck_assert_mem_eq(r.msgs[1].data.data, "\x01\x02\x03", 3);
    ck_assert(!r.msgs[2].binary);
    ck_assert_uint_eq(r.msgs[2].data.len, 0);
    ck_assert_uint_eq(r.msgs[3].data.len, strlen("wörld"));
    ck_assert_mem_eq(r.msgs[3].data.data, "wörld", strlen("wörld"));
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert_int_eq(r.closes, 0);
    rec_free(&r);
    eio_session_free(s);
}
END_TEST

static const char *const k_bad_posts[] = {"abc", "",     "4hello\x1e",  "4hello\0369",
                                          "bAQ", "\x1e", "4a\036\0364b"};

START_TEST(post_parse_error_closes)
{
    const char *body = k_bad_posts[_i];
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(post_str(s, T0 + 1, body), EIO_POST_PARSE);
    assert_closed(s, &r, EIO_REASON_PARSE_ERROR);
    ck_assert_int_eq(r.nmsgs, 0); /* nothing of an invalid payload is delivered */
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 2), EIO_POLL_BAD);
    ck_assert_int_eq(post_str(s, T0 + 3, "4x"), EIO_POST_BAD);
    ck_assert_int_eq(r.closes, 1);
    rec_free(&r);
    eio_session_free(s);
}
END_TEST

START_TEST(get_waits_for_data)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert(!eio_session_poll_pending(s));
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 1), EIO_POLL_HOLD);
    ck_assert(eio_session_poll_pending(s));
    ck_assert(!eio_session_poll_ready(s));
    int w0 = r.writables;
    ck_assert_int_eq(eio_session_send_message(s, "x", 1, false), 0);
    ck_assert_int_gt(r.writables, w0);
    ck_assert(eio_session_poll_ready(s));
    util_buf b = UTIL_BUF_INIT;
    ck_assert_uint_eq(eio_session_poll_take(s, &b), 1);
    ASSERT_BODY(&b, "4x");
    ck_assert(!eio_session_poll_pending(s));
    ck_assert_uint_eq(eio_session_queued(s), 0);
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(binary_on_polling_is_base64)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_send_message(s, "\x01\x02\x03", 3, true), 0);
    ck_assert_int_eq(eio_session_send_message(s, "t", 1, false), 0);
    ck_assert_int_eq(eio_session_send_message(s, "\xff", 1, true), 0);
    ck_assert_int_eq(eio_session_send_message(s, "", 0, true), 0);
    util_buf b = UTIL_BUF_INIT;
    ck_assert_uint_eq(get_ready(s, T0 + 1, &b), 4);
    ASSERT_BODY(&b, "bAQID\0364t\036b/w==\036b");
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

/* Decodes a GET body into packets appended to all (as "T:data" strings with T = 0..6 or b). */
static int append_packet(const eio_packet *p, void *ud)
{
    util_buf *all = ud;
    util_buf_putc(all, p->binary ? 'b' : (uint8_t)('0' + p->type));
    util_buf_putc(all, ':');
    util_buf_append(all, p->data, p->len);
    util_buf_putc(all, '|');
    return 0;
}

/* A polling answer carries at most poll_max_packets packets (python-engineio clients refuse a
 * payload of more than 16); the rest follows in the next answers, in order. */
START_TEST(batching_packet_count_bounded)
{
    eio_config cfg = cfg_default();
    ck_assert_uint_eq(cfg.poll_max_packets, 16);
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(eio_session_send_message(s, "m", 1, false), 0);
    util_buf b = UTIL_BUF_INIT;
    const size_t per_body[] = {16, 16, 8};
    for (int k = 0; k < 3; k++)
        ck_assert_uint_eq(get_ready(s, T0 + 1 + (uint64_t)k, &b), per_body[k]);
    ck_assert_uint_eq(eio_session_queued(s), 0);
    /* 0: no limit. */
    cfg.poll_max_packets = 0;
    eio_session *u = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(u, &cfg);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(eio_session_send_message(u, "m", 1, false), 0);
    ck_assert_uint_eq(get_ready(u, T0 + 1, &b), 40);
    util_buf_free(&b);
    eio_session_free(s);
    eio_session_free(u);
}
END_TEST

START_TEST(batching_bounded_ordered_complete)
{
    eio_config cfg = cfg_default();
    cfg.max_payload = 50;
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    /* The open packet alone is longer than max_payload: it is still sent, alone. */
    take_open_polling(s, &cfg);
    util_buf want = UTIL_BUF_INIT, all = UTIL_BUF_INIT, b = UTIL_BUF_INIT;
    for (int i = 0; i < 12; i++) {
        char m[16];
        snprintf(m, sizeof m, "msg%05d", i); /* polling form "4msg0000i": 9 bytes */
        ck_assert_int_eq(eio_session_send_message(s, m, 8, false), 0);
        util_buf_printf(&want, "4:%s|", m);
    }
    ck_assert_uint_eq(eio_session_queued(s), 12);
    ck_assert_uint_eq(eio_session_queued_bytes(s), 12 * 9);
    /* 5 packets take 5*9 + 4 separators = 49 bytes; a sixth would not fit. */
    const size_t per_body[] = {5, 5, 2};
    for (int k = 0; k < 3; k++) {
        size_t n = get_ready(s, T0 + 1 + (uint64_t)k, &b);
        ck_assert_uint_le(b.len, cfg.max_payload);
        ck_assert_uint_eq(n, per_body[k]);
        ck_assert_uint_eq(b.len, n * 9 + (n - 1));
        ck_assert_int_eq(eio_decode_payload(b.data, b.len, append_packet, &all), 0);
    }
    ck_assert_uint_eq(eio_session_queued(s), 0);
    ck_assert_uint_eq(eio_session_queued_bytes(s), 0);
    ck_assert_uint_eq(all.len, want.len);
    ck_assert_mem_eq(all.data, want.data, want.len);
    util_buf_free(&want);
    util_buf_free(&all);
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(batching_counts_base64_length)
{
    /* Binary messages count by their polling form: 6 bytes -> "b" + 8 base64 chars = 9. */
    eio_config cfg = cfg_default();
    cfg.max_payload = 20;
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(eio_session_send_message(s, "abcdef", 6, true), 0);
    util_buf b = UTIL_BUF_INIT;
    const size_t per_body[] = {2, 2, 1};
    for (int k = 0; k < 3; k++) {
        ck_assert_uint_eq(get_ready(s, T0 + 1, &b), per_body[k]);
        ck_assert_uint_le(b.len, cfg.max_payload);
    }
    ASSERT_BODY(&b, "bYWJjZGVm");
    ck_assert_uint_eq(eio_session_queued(s), 0);
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(oversized_packet_sent_alone)
{
    eio_config cfg = cfg_default();
    cfg.max_payload = 50;
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    char big[100];
    memset(big, 'z', sizeof big);
    ck_assert_int_eq(eio_session_send_message(s, "a", 1, false), 0);
    ck_assert_int_eq(eio_session_send_message(s, big, sizeof big, false), 0);
    ck_assert_int_eq(eio_session_send_message(s, "b", 1, false), 0);
    util_buf b = UTIL_BUF_INIT;
    ck_assert_uint_eq(get_ready(s, T0 + 1, &b), 1);
    ASSERT_BODY(&b, "4a");
    ck_assert_uint_eq(get_ready(s, T0 + 2, &b), 1);
    ck_assert_uint_eq(b.len, 101);
    ck_assert_int_eq(b.data[0], '4');
    ck_assert_mem_eq(b.data + 1, big, sizeof big);
    ck_assert_uint_eq(get_ready(s, T0 + 3, &b), 1);
    ASSERT_BODY(&b, "4b");
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(second_get_is_dup_and_closes)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 1), EIO_POLL_HOLD);
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 2), EIO_POLL_DUP);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_CLOSED);
    ck_assert_int_eq(r.closes, 1);
    ck_assert_int_eq(r.bad_args, 0);
    ck_assert_int_eq(eio_session_close_reply(s), EIO_CLOSE);
    ck_assert(eio_session_poll_pending(s));
    ck_assert(eio_session_poll_ready(s));
    util_buf b = UTIL_BUF_INIT;
    eio_session_poll_take(s, &b);
    ASSERT_BODY(&b, "1");
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 3), EIO_POLL_BAD);
    ck_assert_int_eq(post_str(s, T0 + 4, "4x"), EIO_POST_BAD);
    ck_assert_int_eq(r.closes, 1);
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(post_close_answers_held_get_with_noop)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 1), EIO_POLL_HOLD);
    ck_assert_int_eq(post_str(s, T0 + 2, "1"), EIO_POST_OK);
    assert_closed(s, &r, EIO_REASON_TRANSPORT_CLOSE);
    ck_assert_int_eq(eio_session_close_reply(s), EIO_NOOP);
    ck_assert(eio_session_poll_ready(s));
    util_buf b = UTIL_BUF_INIT;
    eio_session_poll_take(s, &b);
    ASSERT_BODY(&b, "6");
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 3), EIO_POLL_BAD);
    ck_assert_int_eq(post_str(s, T0 + 4, "4x"), EIO_POST_BAD);
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(poll_abort_closes)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 1), EIO_POLL_HOLD);
    eio_session_poll_abort(s);
    assert_closed(s, &r, EIO_REASON_TRANSPORT_CLOSE);
    ck_assert(!eio_session_poll_pending(s));
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 2), EIO_POLL_BAD);
    eio_session_free(s);
}
END_TEST

/* A forwarded GET whose node link closed frees the slot: the session stays open, and what was
 * queued meanwhile goes to the next GET. */
START_TEST(poll_release_keeps_session)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 1), EIO_POLL_HOLD);
    eio_session_poll_release(s);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert(!eio_session_poll_pending(s));
    ck_assert_int_eq(eio_session_send_message(s, "x", 1, false), 0);
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 2), EIO_POLL_HOLD);
    ck_assert(eio_session_poll_ready(s));
    util_buf b = UTIL_BUF_INIT;
    eio_session_poll_take(s, &b);
    ASSERT_BODY(&b, "4x");
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(server_close_answers_held_get)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 1), EIO_POLL_HOLD);
    int w0 = r.writables;
    /* A server-initiated close is graceful: the held GET gets the close packet, then it is over. */
    eio_session_close(s, EIO_REASON_FORCED_CLOSE);
    ck_assert(eio_session_closing(s));
    ck_assert_int_eq(r.closes, 0);
    ck_assert_int_gt(r.writables, w0); /* the held GET must be answered */
    ck_assert_int_eq(eio_session_send_message(s, "late", 4, false), -1);
    ck_assert(eio_session_poll_ready(s));
    util_buf b = UTIL_BUF_INIT;
    eio_session_poll_take(s, &b);
    ASSERT_BODY(&b, "1");
    assert_closed(s, &r, EIO_REASON_FORCED_CLOSE);
    eio_session_close(s, EIO_REASON_SHUTDOWN); /* no effect */
    assert_closed(s, &r, EIO_REASON_FORCED_CLOSE);
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

/* A graceful close sends what was queued first; the close packet follows in the next answer. */
START_TEST(graceful_close_drains_queue_polling)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_send_message(s, "bye", 3, false), 0);
    eio_session_close(s, EIO_REASON_SHUTDOWN);
    ck_assert_int_eq(r.closes, 0);
    util_buf b = UTIL_BUF_INIT;
    get_ready(s, T0 + 1, &b);
    ASSERT_BODY(&b, "4bye");
    ck_assert_int_eq(r.closes, 0);
    util_buf_reset(&b);
    get_ready(s, T0 + 2, &b); /* the close packet alone, in the next answer */
    ASSERT_BODY(&b, "1");
    assert_closed(s, &r, EIO_REASON_SHUTDOWN);
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

/* On a WebSocket the session closes once the transport reports everything written; an error
 * close in the meantime is immediate; without anything queued the close is immediate too. */
START_TEST(graceful_close_drains_queue_websocket)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    ck_assert_int_eq(eio_session_send_message(s, "bye", 3, false), 0);
    eio_session_close(s, EIO_REASON_FORCED_CLOSE);
    ck_assert(eio_session_closing(s));
    eio_session_flushed(s); /* not yet: still queued */
    ck_assert_int_eq(r.closes, 0);
    ASSERT_POP_TEXT(s, "4bye");
    eio_session_flushed(s);
    assert_closed(s, &r, EIO_REASON_FORCED_CLOSE);
    rec_free(&r);
    eio_session_free(s);

    s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    ck_assert_int_eq(eio_session_send_message(s, "x", 1, false), 0);
    eio_session_close(s, EIO_REASON_FORCED_CLOSE);
    eio_session_close(s, EIO_REASON_TRANSPORT_CLOSE);
    assert_closed(s, &r, EIO_REASON_TRANSPORT_CLOSE);
    ck_assert_uint_eq(eio_session_queued(s), 0);
    rec_free(&r);
    eio_session_free(s);

    s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    eio_session_close(s, EIO_REASON_SHUTDOWN);
    assert_closed(s, &r, EIO_REASON_SHUTDOWN);
    rec_free(&r);
    eio_session_free(s);
}
END_TEST

/* A client must never send open or ping over polling: the POST is refused and the session closed,
 * and packets after the bad one are not delivered. */
START_TEST(post_forbidden_packet_is_parse_error)
{
    static const char *const bodies[] = {"2", "0", "2probe",
                                         "4a\x1e"
                                         "2\x1e"
                                         "4b"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        eio_config cfg = cfg_default();
        rec r;
        eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
        take_open_polling(s, &cfg);
        ck_assert_int_eq(post_str(s, T0 + 1, bodies[i]), EIO_POST_PARSE);
        assert_closed(s, &r, EIO_REASON_PARSE_ERROR);
        ck_assert_int_le(r.nmsgs, 1);
        rec_free(&r);
        eio_session_free(s);
    }
}
END_TEST

/* ---- upgrade ---- */

/* A ping queued while the client switches to its WebSocket cannot be answered before the upgrade
 * completes: its pong deadline is held during the upgrade and runs again from the upgrade. */
START_TEST(slow_upgrade_is_not_a_ping_timeout)
{
    eio_config cfg = cfg_default();
    cfg.ping_interval_ms = 300;
    cfg.ping_timeout_ms = 200;
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0 + 10), 0);
    eio_packet probe = text_packet(EIO_PING, "probe");
    ck_assert_int_eq(eio_session_upgrade_packet(s, &probe, T0 + 20), EIO_UPG_PROBE);
    uint64_t clock = T0 + 20;
    run_until(s, &clock, T0 + 2000); /* the ping at 300 waits; no close for 2 s */
    ck_assert_int_eq(r.closes, 0);
    eio_packet upgrade = text_packet(EIO_UPGRADE, "");
    ck_assert_int_eq(eio_session_upgrade_packet(s, &upgrade, T0 + 2000), EIO_UPG_DONE);
    ck_assert_uint_eq(eio_session_next_wakeup(s), T0 + 2200);
    eio_session_tick(s, T0 + 2199);
    ck_assert_int_eq(r.closes, 0);
    eio_session_tick(s, T0 + 2200); /* still no pong: now it is a ping timeout */
    assert_closed(s, &r, EIO_REASON_PING_TIMEOUT);
    rec_free(&r);
    eio_session_free(s);
}
END_TEST

/* A probe that never sends the upgrade packet is abandoned after upgrade_timeout_ms: the glue is
 * told to close it and the session goes on over polling, delivering what was queued. */
START_TEST(upgrade_timeout_abandons_probe)
{
    eio_config cfg = cfg_default();
    cfg.upgrade_timeout_ms = 1000;
    cfg.ping_interval_ms = 60000;
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0 + 10), 0);
    eio_packet probe = text_packet(EIO_PING, "probe");
    ck_assert_int_eq(eio_session_upgrade_packet(s, &probe, T0 + 20), EIO_UPG_PROBE);
    ck_assert_int_eq(eio_session_send_message(s, "queued", 6, false), 0);
    ck_assert_uint_eq(eio_session_next_wakeup(s), T0 + 1010);
    eio_session_tick(s, T0 + 1009);
    ck_assert_int_eq(r.upgrade_timeouts, 0);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_UPGRADING);
    eio_session_tick(s, T0 + 1010);
    ck_assert_int_eq(r.upgrade_timeouts, 1);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert_int_eq(eio_session_transport(s), EIO_TR_POLLING);
    util_buf b = UTIL_BUF_INIT;
    get_ready(s, T0 + 1011, &b);
    ASSERT_BODY(&b, "4queued");
    util_buf_free(&b);
    ck_assert_int_eq(r.bad_args, 0);
    rec_free(&r);
    eio_session_free(s);
}
END_TEST

START_TEST(upgrade_flow)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 1), EIO_POLL_HOLD);
    ck_assert(!eio_session_poll_ready(s));

    ck_assert_int_eq(eio_session_upgrade_begin(s, T0), 0);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_UPGRADING);
    ck_assert_int_eq(eio_session_transport(s), EIO_TR_POLLING);
    eio_packet probe = text_packet(EIO_PING, "probe");
    int w0 = r.writables;
    ck_assert_int_eq(eio_session_upgrade_packet(s, &probe, T0 + 2), EIO_UPG_PROBE);
    /* The held GET is answered with a noop at once, and so is every GET until the upgrade ends. */
    ck_assert(eio_session_poll_ready(s));
    ck_assert_int_gt(r.writables, w0);
    util_buf b = UTIL_BUF_INIT;
    ck_assert_uint_eq(eio_session_poll_take(s, &b), 1);
    ASSERT_BODY(&b, "6");
    ck_assert_int_eq(eio_session_send_message(s, "during", 6, false), 0);
    get_ready(s, T0 + 3, &b);
    ASSERT_BODY(&b, "6");
    /* POSTs still work while upgrading (the session is polling until the upgrade packet). */
    ck_assert_int_eq(post_str(s, T0 + 3, "4posted"), EIO_POST_OK);
    ck_assert_int_eq(r.nmsgs, 1);
    ck_assert_mem_eq(r.msgs[0].data.data, "posted", 6);

    eio_packet upgrade = text_packet(EIO_UPGRADE, "");
    ck_assert_int_eq(eio_session_upgrade_packet(s, &upgrade, T0 + 4), EIO_UPG_DONE);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert_int_eq(eio_session_transport(s), EIO_TR_WEBSOCKET);
    /* What was queued while upgrading goes out on the WebSocket; nothing was lost. */
    ck_assert_uint_eq(eio_session_queued(s), 1);
    ASSERT_POP_TEXT(s, "4during");
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 5), EIO_POLL_BAD);
    ck_assert_int_eq(post_str(s, T0 + 6, "4x"), EIO_POST_BAD);
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0), -1);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert_int_eq(eio_session_transport(s), EIO_TR_WEBSOCKET);
    ck_assert_int_eq(r.closes, 0);
    ck_assert_int_eq(r.nmsgs, 1);

    /* The session now lives on the WebSocket. */
    eio_packet msg = text_packet(EIO_MESSAGE, "on ws");
    ck_assert_int_eq(eio_session_on_packet(s, &msg, T0 + 7), 0);
    ck_assert_int_eq(r.nmsgs, 2);
    ck_assert_mem_eq(r.msgs[1].data.data, "on ws", 5);
    ck_assert_int_eq(eio_session_send_message(s, "after", 5, false), 0);
    ASSERT_POP_TEXT(s, "4after");
    rec_free(&r);
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(upgrade_done_answers_held_get)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0), 0);
    eio_packet probe = text_packet(EIO_PING, "probe");
    ck_assert_int_eq(eio_session_upgrade_packet(s, &probe, T0 + 1), EIO_UPG_PROBE);
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 2), EIO_POLL_HOLD);
    eio_packet upgrade = text_packet(EIO_UPGRADE, "");
    int w0 = r.writables;
    ck_assert_int_eq(eio_session_upgrade_packet(s, &upgrade, T0 + 3), EIO_UPG_DONE);
    ck_assert(eio_session_poll_pending(s));
    ck_assert(eio_session_poll_ready(s));
    ck_assert_int_gt(r.writables, w0);
    util_buf b = UTIL_BUF_INIT;
    eio_session_poll_take(s, &b);
    ASSERT_BODY(&b, "6");
    ck_assert(!eio_session_poll_pending(s));
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(ping_during_upgrade_reaches_websocket)
{
    eio_config cfg = cfg_default();
    cfg.upgrade_timeout_ms = 2 * cfg.ping_interval_ms; /* the upgrade outlives the first ping */
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0), 0);
    eio_packet probe = text_packet(EIO_PING, "probe");
    ck_assert_int_eq(eio_session_upgrade_packet(s, &probe, T0 + 1), EIO_UPG_PROBE);
    uint64_t clock = T0 + 1, ping = T0 + cfg.ping_interval_ms;
    run_until(s, &clock, ping);
    /* The ping is not lost to a noop GET: it waits for the WebSocket. */
    util_buf b = UTIL_BUF_INIT;
    get_ready(s, ping, &b);
    ASSERT_BODY(&b, "6");
    eio_packet upgrade = text_packet(EIO_UPGRADE, "");
    ck_assert_int_eq(eio_session_upgrade_packet(s, &upgrade, ping + 10), EIO_UPG_DONE);
    ASSERT_POP_TEXT(s, "2");
    eio_packet pong = text_packet(EIO_PONG, "");
    ck_assert_int_eq(eio_session_on_packet(s, &pong, ping + 20), 0);
    run_until(s, &clock, ping + cfg.ping_timeout_ms + 1);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert_int_eq(r.closes, 0);
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(upgrade_begin_refused)
{
    eio_config cfg = cfg_default();
    rec r;
    /* Already upgrading: the second WebSocket is refused, the first probe goes on. */
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0), 0);
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0), -1);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_UPGRADING);
    eio_packet probe = text_packet(EIO_PING, "probe");
    ck_assert_int_eq(eio_session_upgrade_packet(s, &probe, T0 + 1), EIO_UPG_PROBE);
    eio_session_free(s);

    /* A WebSocket session has nothing to upgrade. */
    s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0), -1);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    eio_session_free(s);

    /* A closed session neither, nor one that is closing. */
    s = session_new(&cfg, EIO_TR_POLLING, &r);
    eio_session_close(s, EIO_REASON_FORCED_CLOSE);
    ck_assert(eio_session_closing(s));
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0), -1);
    eio_session_free(s);
    s = session_new(&cfg, EIO_TR_POLLING, &r);
    eio_session_close(s, EIO_REASON_PING_TIMEOUT);
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0), -1);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_CLOSED);
    ck_assert_int_eq(r.closes, 1);
    eio_session_free(s);
}
END_TEST

START_TEST(upgrade_abort_keeps_polling)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0), 0);
    eio_packet probe = text_packet(EIO_PING, "probe");
    ck_assert_int_eq(eio_session_upgrade_packet(s, &probe, T0 + 1), EIO_UPG_PROBE);
    eio_session_upgrade_abort(s);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert_int_eq(eio_session_transport(s), EIO_TR_POLLING);
    ck_assert_int_eq(r.closes, 0);
    /* Polling works as before: a GET waits for data and gets it (no more noops). */
    ck_assert_int_eq(eio_session_poll_get(s, T0 + 2), EIO_POLL_HOLD);
    ck_assert(!eio_session_poll_ready(s));
    ck_assert_int_eq(eio_session_send_message(s, "x", 1, false), 0);
    ck_assert(eio_session_poll_ready(s));
    util_buf b = UTIL_BUF_INIT;
    eio_session_poll_take(s, &b);
    ASSERT_BODY(&b, "4x");
    ck_assert_int_eq(post_str(s, T0 + 3, "4y"), EIO_POST_OK);
    ck_assert_int_eq(r.nmsgs, 1);
    /* And a new upgrade may start. */
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0), 0);
    ck_assert_int_eq(eio_session_state(s), EIO_ST_UPGRADING);
    rec_free(&r);
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

START_TEST(upgrade_bad_probe_fails)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    ck_assert_int_eq(eio_session_upgrade_begin(s, T0), 0);
    eio_packet bad = text_packet(EIO_MESSAGE, "hello");
    ck_assert_int_eq(eio_session_upgrade_packet(s, &bad, T0 + 1), EIO_UPG_FAIL);
    ck_assert_int_ne(eio_session_state(s), EIO_ST_CLOSED);
    ck_assert_int_eq(eio_session_transport(s), EIO_TR_POLLING);
    eio_session_upgrade_abort(s); /* the glue closes the probe WebSocket */
    ck_assert_int_eq(eio_session_state(s), EIO_ST_OPEN);
    ck_assert_int_eq(eio_session_transport(s), EIO_TR_POLLING);
    ck_assert_int_eq(r.closes, 0);
    ck_assert_int_eq(eio_session_send_message(s, "x", 1, false), 0);
    util_buf b = UTIL_BUF_INIT;
    get_ready(s, T0 + 2, &b);
    ASSERT_BODY(&b, "4x");
    util_buf_free(&b);
    eio_session_free(s);
}
END_TEST

/* ---- websocket and queue ---- */

START_TEST(ws_packets_delivered)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    eio_packet t = text_packet(EIO_MESSAGE, "hi");
    eio_packet b = {EIO_MESSAGE, true, (const uint8_t *)"\x00\x01", 2};
    ck_assert_int_eq(eio_session_on_packet(s, &t, T0 + 1), 0);
    ck_assert_int_eq(eio_session_on_packet(s, &b, T0 + 2), 0);
    ck_assert_int_eq(r.nmsgs, 2);
    ck_assert_int_eq(r.bad_args, 0);
    ck_assert(!r.msgs[0].binary);
    ck_assert_uint_eq(r.msgs[0].data.len, 2);
    ck_assert_mem_eq(r.msgs[0].data.data, "hi", 2);
    ck_assert(r.msgs[1].binary);
    ck_assert_uint_eq(r.msgs[1].data.len, 2);
    ck_assert_mem_eq(r.msgs[1].data.data, "\x00\x01", 2);
    eio_packet close = text_packet(EIO_CLOSE, "");
    ck_assert_int_eq(eio_session_on_packet(s, &close, T0 + 3), 0);
    assert_closed(s, &r, EIO_REASON_TRANSPORT_CLOSE);
    ck_assert_int_eq(r.nmsgs, 2);
    rec_free(&r);
    eio_session_free(s);
}
END_TEST

START_TEST(ws_binary_wire_form)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    ck_assert_int_eq(eio_session_send_message(s, "\x01\x02\x03", 3, true), 0);
    ck_assert_int_eq(eio_session_send_message(s, "text", 4, false), 0);
    ck_assert_uint_eq(eio_session_queued(s), 2);
    ck_assert_uint_eq(eio_session_queued_bytes(s), 3 + 5);
    assert_pop(s, true, "\x01\x02\x03", 3); /* raw bytes: no 'b', no base64 */
    ASSERT_POP_TEXT(s, "4text");
    ck_assert_ptr_null(eio_session_pop(s));
    ck_assert_uint_eq(eio_session_queued_bytes(s), 0);
    eio_session_free(s);
}
END_TEST

START_TEST(send_shares_message)
{
    eio_config cfg = cfg_default();
    rec r1, r2, r3;
    eio_session *a = session_new(&cfg, EIO_TR_WEBSOCKET, &r1);
    eio_session *b = session_new(&cfg, EIO_TR_POLLING, &r2);
    eio_session *c = session_new(&cfg, EIO_TR_WEBSOCKET, &r3);
    take_open_ws(a, &cfg);
    eio_msg *m = eio_msg_new(EIO_MESSAGE, false, "shared", 6);
    ck_assert_int_eq(eio_session_send(a, m), 0);
    ck_assert_int_eq(eio_session_send(b, m), 0);
    ck_assert_int_eq(eio_session_send(c, m), 0);
    ck_assert_uint_eq(m->refs, 4); /* the caller keeps its own reference */
    eio_msg *got = eio_session_pop(a);
    ck_assert_ptr_eq(got, m); /* the very same frame, not a copy */
    eio_msg_unref(got);
    ck_assert_uint_eq(m->refs, 3);
    eio_session_free(b); /* frees its queue */
    ck_assert_uint_eq(m->refs, 2);
    eio_session_close(c, EIO_REASON_FORCED_CLOSE);
    ck_assert_int_eq(eio_session_send(c, m), -1); /* closed: nothing queued */
    eio_session_free(c);
    ck_assert_uint_eq(m->refs, 1);
    eio_session_free(a);
    eio_msg_unref(m);
}
END_TEST

START_TEST(send_after_close_fails)
{
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    eio_session_close(s, EIO_REASON_SHUTDOWN);
    assert_closed(s, &r, EIO_REASON_SHUTDOWN);
    size_t q = eio_session_queued(s);
    ck_assert_int_eq(eio_session_send_message(s, "x", 1, false), -1);
    ck_assert_uint_le(eio_session_queued(s), q);
    ck_assert_int_eq(r.closes, 1);
    eio_session_free(s);
}
END_TEST

START_TEST(queue_limit_closes)
{
    /* The bound counts real memory: ten messages of 10 wire bytes take 10 x 64 + a 16-slot ring;
     * an eleventh does not fit, and the session is closed as a slow consumer. */
    eio_config cfg = cfg_default();
    cfg.max_queue_bytes = 10 * MSG10_COST + RING16_COST;
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(eio_session_send_message(s, "123456789", 9, false), 0);
    ck_assert_uint_eq(eio_session_queued_bytes(s), 100);
    ck_assert_uint_eq(eio_session_memory(s), cfg.max_queue_bytes);
    ck_assert_int_eq(r.closes, 0);
    ck_assert_int_eq(eio_session_send_message(s, "123456789", 9, false), -1);
    assert_closed(s, &r, EIO_REASON_SLOW_CONSUMER);
    ck_assert_str_eq(EIO_REASON_SLOW_CONSUMER, "slow consumer");
    ck_assert_uint_eq(eio_session_queued(s), 0);
    ck_assert_int_eq(eio_session_send_message(s, "x", 1, false), -1);
    ck_assert_int_eq(r.closes, 1);
    eio_session_free(s);
}
END_TEST

START_TEST(queue_limit_on_polling)
{
    /* A polling client that stops fetching is disconnected once it holds more than its bound. */
    eio_config cfg = cfg_default();
    cfg.max_queue_bytes = 4000;
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_POLLING, &r);
    take_open_polling(s, &cfg);
    eio_msg *m = eio_msg_new(EIO_MESSAGE, false, "0123456789012345678", 19); /* 20 wire bytes */
    ck_assert_uint_eq(eio_msg_cost(m), 80);                                  /* 66 -> 80 */
    int sent = 0;
    while (eio_session_send(s, m) == 0) {
        ck_assert_int_lt(++sent, 1000);
        ck_assert_uint_le(eio_session_memory(s), cfg.max_queue_bytes);
    }
    /* 47 x 80 + a 64-slot ring (512 -> 528) = 4288 > 4000; 46 x 80 + 528 = 4208 > 4000 too; with a
     * 32-slot ring (256 -> 272), 31 x 80 + 272 = 2752, and the 64-slot ring is needed from 33 on:
     * 45 x 80 + 528 = 4128 > 4000, 43 x 80 + 528 = 3968 fits. */
    ck_assert_int_eq(sent, 43);
    assert_closed(s, &r, EIO_REASON_SLOW_CONSUMER);
    eio_session_free(s);
    ck_assert_uint_eq(m->refs, 1);
    eio_msg_unref(m);
}
END_TEST

START_TEST(send_many_queues_in_order)
{
    /* A burst of 40 messages (past the ring's first capacities, wrapping once) in one call: the
     * same frames, in order, one writable notification, the caller keeps its references. */
    eio_config cfg = cfg_default();
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    eio_msg *m[40];
    char text[8];
    for (int i = 0; i < 40; i++) {
        int n = snprintf(text, sizeof text, "m%d", i);
        m[i] = eio_msg_new(EIO_MESSAGE, false, text, (size_t)n);
    }
    /* Leave the ring's head mid-array first, so the burst wraps around its end. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(eio_session_send(s, m[0]), 0);
    for (int i = 0; i < 5; i++)
        eio_msg_unref(eio_session_pop(s));
    int w0 = r.writables;
    ck_assert_int_eq(eio_session_send_many(s, m, 3), 0);
    ck_assert_int_eq(r.writables, w0 + 1);
    ck_assert_int_eq(eio_session_send_many(s, m + 3, 37), 0);
    ck_assert_int_eq(r.writables, w0 + 1); /* not empty before: no new notification */
    ck_assert_uint_eq(eio_session_queued(s), 40);
    for (int i = 0; i < 40; i++) {
        eio_msg *got = eio_session_pop(s);
        ck_assert_ptr_eq(got, m[i]);
        ck_assert_uint_eq(m[i]->refs, 2);
        eio_msg_unref(got);
    }
    ck_assert_ptr_null(eio_session_pop(s));
    ck_assert_int_eq(eio_session_send_many(s, m, 0), 0);
    ck_assert_uint_eq(eio_session_queued(s), 0);
    eio_session_free(s);
    for (int i = 0; i < 40; i++) {
        ck_assert_uint_eq(m[i]->refs, 1);
        eio_msg_unref(m[i]);
    }
}
END_TEST

START_TEST(send_many_limit_and_closed)
{
    /* The bound met partway: the session closes as a slow consumer, -1. */
    eio_config cfg = cfg_default();
    cfg.max_queue_bytes = 10 * MSG10_COST + RING16_COST;
    rec r;
    eio_session *s = session_new(&cfg, EIO_TR_WEBSOCKET, &r);
    take_open_ws(s, &cfg);
    eio_msg *m = eio_msg_new(EIO_MESSAGE, false, "123456789", 9); /* 10 wire bytes */
    eio_msg *v[12];
    for (int i = 0; i < 12; i++)
        v[i] = m;
    ck_assert_int_eq(eio_session_send_many(s, v, 10), 0); /* exactly the bound */
    for (int i = 0; i < 10; i++)
        eio_msg_unref(eio_session_pop(s));
    ck_assert_int_eq(eio_session_send_many(s, v, 12), -1);
    assert_closed(s, &r, EIO_REASON_SLOW_CONSUMER);
    ck_assert_uint_eq(eio_session_queued(s), 0);
    ck_assert_int_eq(eio_session_send_many(s, v, 1), -1); /* closed: nothing queued */
    eio_session_free(s);
    ck_assert_uint_eq(m->refs, 1);
    ck_assert_uint_eq(m->qrefs, 0);
    eio_msg_unref(m);
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("eio_session");
    TCase *tc = tcase_create("open");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, config_defaults);
    tcase_add_test(tc, open_packet_polling);
    tcase_add_test(tc, open_packet_custom_config);
    tcase_add_test(tc, open_packet_websocket);
    tcase_add_test(tc, sid_format_and_unique);
    tcase_add_test(tc, userdata_get_set);
    suite_add_tcase(s, tc);

    tc = tcase_create("heartbeat");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, ping_at_interval);
    tcase_add_test(tc, ping_timeout_closes);
    tcase_add_test(tc, pong_resets_timeout);
    tcase_add_test(tc, heartbeat_many_intervals);
    tcase_add_test(tc, ping_goes_to_held_get);
    tcase_add_test(tc, ping_timeout_answers_held_get);
    tcase_add_test(tc, vanished_polling_client_is_reaped);
    suite_add_tcase(s, tc);

    tc = tcase_create("polling");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, post_delivers_messages);
    tcase_add_loop_test(tc, post_parse_error_closes, 0,
                        (int)(sizeof k_bad_posts / sizeof k_bad_posts[0]));
    tcase_add_test(tc, get_waits_for_data);
    tcase_add_test(tc, binary_on_polling_is_base64);
    tcase_add_test(tc, batching_bounded_ordered_complete);
    tcase_add_test(tc, batching_counts_base64_length);
    tcase_add_test(tc, oversized_packet_sent_alone);
    tcase_add_test(tc, second_get_is_dup_and_closes);
    tcase_add_test(tc, post_close_answers_held_get_with_noop);
    tcase_add_test(tc, poll_abort_closes);
    tcase_add_test(tc, poll_release_keeps_session);
    tcase_add_test(tc, batching_packet_count_bounded);
    tcase_add_test(tc, server_close_answers_held_get);
    tcase_add_test(tc, graceful_close_drains_queue_polling);
    tcase_add_test(tc, graceful_close_drains_queue_websocket);
    tcase_add_test(tc, post_forbidden_packet_is_parse_error);
    suite_add_tcase(s, tc);

    tc = tcase_create("upgrade");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, upgrade_flow);
    tcase_add_test(tc, upgrade_done_answers_held_get);
    tcase_add_test(tc, ping_during_upgrade_reaches_websocket);
    tcase_add_test(tc, upgrade_begin_refused);
    tcase_add_test(tc, upgrade_abort_keeps_polling);
    tcase_add_test(tc, upgrade_bad_probe_fails);
    tcase_add_test(tc, upgrade_timeout_abandons_probe);
    tcase_add_test(tc, slow_upgrade_is_not_a_ping_timeout);
    suite_add_tcase(s, tc);

    tc = tcase_create("queue");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, ws_packets_delivered);
    tcase_add_test(tc, ws_binary_wire_form);
    tcase_add_test(tc, send_shares_message);
    tcase_add_test(tc, send_after_close_fails);
    tcase_add_test(tc, queue_limit_closes);
    tcase_add_test(tc, queue_limit_on_polling);
    tcase_add_test(tc, send_many_queues_in_order);
    tcase_add_test(tc, send_many_limit_and_closed);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(session_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
