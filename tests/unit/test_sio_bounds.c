/* test_sio_bounds: the Socket.IO server model through the fake host (sio_fake_host.h): what a
 * client can make it hold or do is bounded: attachments awaited (time and bytes), floods of
 * refused or pointless packets, and volatile packets queued as one group. */
#include "sio_fake_host.h"

/* Log lines captured while a test runs, on a clock of its own (fresh limiter windows). */
static util_buf g_log;
static uint64_t g_log_now = 5000000000ull;

static uint64_t log_now(void)
{
    return g_log_now;
}

static void log_sink(const char *line, size_t len, void *ud)
{
    (void)ud;
    util_buf_append(&g_log, line, len);
}

static void log_begin(void)
{
    g_log_now += 1000000;
    util_buf_reset(&g_log);
    util_log_set_clock(log_now);
    util_log_set_sink(log_sink, NULL);
}

/* Lines of the captured log containing needle. */
static int log_count(const char *needle)
{
    util_buf_putc(&g_log, 0);
    g_log.len--;
    int n = 0;
    for (const char *p = (const char *)g_log.data; p && (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void log_end(void)
{
    util_log_set_sink(NULL, NULL);
    util_log_set_clock(NULL);
    util_buf_free(&g_log);
}

START_TEST(attachments_timeout_closes)
{
    /* A binary packet whose attachments never come: closed after attachment_timeout_ms. */
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    ck_assert_uint_eq(cfg.attachment_timeout_ms, 30000);
    ck_assert_uint_eq(cfg.limits.max_attachment_bytes, 1000000);
    fx_init_with(&cfg, &k_ops_full);
    fconn *fc = open_conn();
    connect_nsp(fc, "/", NULL);
    int armed = armed_timers();
    feed(fc, "452-[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
    ck_assert_int_eq(armed_timers(), armed + 1);
    ck_assert_uint_gt(fc->held, 0);
    size_t header = fc->held;
    feed_bin(fc, "0123456789", 10);
    ck_assert_uint_gt(fc->held, header + 10);
    ck_assert_int_eq(armed_timers(), armed + 1); /* one timer for the whole packet */
    advance(29999);
    ck_assert_int_eq(fc->n_close, 0);
    advance(1);
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "parse error");
    ck_assert_int_eq(H.n_ev, 0);
    close_conn(fc, "parse error");
    fx_finish();
}
END_TEST

START_TEST(attachments_complete_cancel_timer)
{
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    fx_init_with(&cfg, &k_ops_full);
    fconn *fc = open_conn();
    connect_nsp(fc, "/", NULL);
    int armed = armed_timers();
    for (int round = 0; round < 3; round++) {
        feed(fc, "451-[\"up\",{\"_placeholder\":true,\"num\":0}]");
        ck_assert_int_eq(armed_timers(), armed + 1);
        advance(20000);
        feed_bin(fc, "abc", 3);
        ck_assert_int_eq(armed_timers(), armed);
        ck_assert_uint_eq(fc->held, 0);
    }
    advance(60000);
    ck_assert_int_eq(fc->n_close, 0);
    ck_assert_int_eq(H.n_ev, 3);
    ck_assert_int_eq(fc->n_hold, 6); /* held, then released, per packet */
    fx_finish();
}
END_TEST

START_TEST(attachments_bytes_bounded)
{
    /* What a pending binary packet holds (its JSON and the attachments so far, at their real
     * cost) is bounded: past it, the session is closed at once. */
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    cfg.limits.max_attachment_bytes = 6000;
    fx_init_with(&cfg, &k_ops_full);
    fconn *fc = open_conn();
    connect_nsp(fc, "/", NULL);
    static uint8_t blob[1500];
    memset(blob, 7, sizeof blob);
    feed(fc, "453-[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1},"
             "{\"_placeholder\":true,\"num\":2}]");
    feed_bin(fc, blob, sizeof blob);
    feed_bin(fc, blob, sizeof blob);
    ck_assert_int_eq(fc->n_close, 0);
    ck_assert_uint_le(fc->held, 6000);
    feed_bin(fc, blob, sizeof blob); /* a third one is over */
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "parse error");
    ck_assert_uint_eq(fc->held, 0); /* dropped */
    ck_assert_int_eq(H.n_ev, 0);
    close_conn(fc, "parse error");
    /* A JSON header too big to wait (its jansson tree counted): refused before any attachment. */
    fc = open_conn();
    connect_nsp(fc, "/", NULL);
    util_buf big = UTIL_BUF_INIT;
    util_buf_puts(&big, "451-[\"up\",{\"_placeholder\":true,\"num\":0}");
    for (int i = 0; i < 200; i++)
        util_buf_puts(&big, ",[]");
    util_buf_puts(&big, "]");
    util_buf_putc(&big, 0);
    feed(fc, (const char *)big.data);
    util_buf_free(&big);
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "parse error");
    close_conn(fc, "parse error");
    fx_finish();
}
END_TEST

START_TEST(flood_of_repeated_connects_closes)
{
    /* The 200,000 "40" frames: the session is closed once it has sent more than
     * max_ignored_packets of them within 10 s, with one log line saying so, and at most the
     * limiter's burst of "second CONNECT" lines. */
    log_begin();
    fx_init();
    fconn *fc = open_conn();
    connect_nsp(fc, "/", NULL);
    size_t out = fc->n_out;
    int fed = 0;
    while (fc->n_close == 0 && fed < 200000) {
        feed(fc, "40");
        fed++;
    }
    ck_assert_int_eq(fed, 101);
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "packet flood");
    ck_assert_ptr_eq(fc->close_reason, EIO_REASON_PACKET_FLOOD);
    ck_assert_uint_eq(fc->n_out, out); /* nothing answered */
    for (int i = 0; i < 1000; i++)
        feed(fc, "40"); /* ignored once closing */
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_int_eq(log_count("second CONNECT"), UTIL_LOG_RL_BURST);
    ck_assert_int_eq(log_count("refused or pointless packets"), 1);
    close_conn(fc, "packet flood");
    log_end();
    fx_finish();
}
END_TEST

START_TEST(flood_window_and_kinds)
{
    /* The count is per 10 s window; CONNECTs to an unknown namespace (each answered) and events
     * or DISCONNECTs for a namespace not connected count too; acks that match nothing do not
     * (a late ack is normal). */
    log_begin();
    fx_init();
    fconn *fc = open_conn();
    connect_nsp(fc, "/", NULL);
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 100; i++)
            feed(fc, "43/chat,5[]"); /* not counted: acks that match nothing */
        for (int i = 0; i < 25; i++) {
            feed(fc, "42/chat,[\"x\"]");
            feed(fc, "41/chat,");
            feed(fc, "40");
            feed(fc, "40");
        }
        ck_assert_int_eq(fc->n_close, 0);
        advance(SIO_FLOOD_WINDOW_MS);
    }
    for (int i = 0; i < 40; i++)
        feed(fc, "40/nope");
    ck_assert_str_eq(last_text(fc), "44/nope,{\"message\":\"Invalid namespace\"}");
    for (int i = 0; i < 60; i++)
        feed(fc, "40");
    ck_assert_int_eq(fc->n_close, 0);
    size_t out = fc->n_out;
    feed(fc, "40/nope");
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "packet flood");
    ck_assert_uint_eq(fc->n_out, out); /* the 101st is not answered */
    close_conn(fc, "packet flood");
    log_end();
    fx_finish();
}
END_TEST

START_TEST(volatile_packet_as_one_group)
{
    /* With the host's send_volatile, a volatile packet and its attachments are one call (kept or
     * dropped together); a refused group queues nothing. */
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    fx_init_with(&cfg, &k_ops_full);
    fconn *fc[2];
    sio_socket *s[2];
    open_n(2, fc, s);
    fc[1]->refuse_volatile = true;
    sio_bcast_opts o = {NULL, 0, NULL, 0, SIO_BC_VOLATILE};
    const uint8_t b[] = {1, 2};
    ck_assert_int_eq(sio_nsp_emit(H.root, &o, "bin",
                                  json_pack("[o,o]", sio_binary_new(b, 1), sio_binary_new(b, 2))),
                     1);
    ck_assert_int_eq(fc[0]->n_vol_groups, 1);
    ck_assert_uint_eq(fc[0]->vol_groups[0], 3);
    expect_out(fc[0], 1,
               "452-[\"bin\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
    expect_bin(fc[0], 2, b, 1);
    expect_bin(fc[0], 3, b, 2);
    ck_assert_uint_eq(fc[1]->n_out, 1); /* only its CONNECT reply */
    sio_nsp_emit(H.root, &o, "tick", NULL);
    ck_assert_int_eq(fc[0]->n_vol_groups, 2);
    ck_assert_uint_eq(fc[0]->vol_groups[1], 1);
    fx_finish();
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("sio_bounds");
    TCase *tc = tcase_create("bounds");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, attachments_timeout_closes);
    tcase_add_test(tc, attachments_complete_cancel_timer);
    tcase_add_test(tc, attachments_bytes_bounded);
    tcase_add_test(tc, flood_of_repeated_connects_closes);
    tcase_add_test(tc, flood_window_and_kinds);
    tcase_add_test(tc, volatile_packet_as_one_group);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(make_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
