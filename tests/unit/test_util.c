/* test_util: util_buf, util_base64, util_rand_id, the rate-limited log lines and util_prom. */
#include "util_alloc.h"
#include "util_base64.h"
#include "util_buf.h"
#include "util_log.h"
#include "util_prom.h"
#include "util_rand.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(buf_append_and_grow)
{
    util_buf b = UTIL_BUF_INIT;
    ck_assert_ptr_null(b.data);
    util_buf_append(&b, "", 0);
    ck_assert_uint_eq(b.len, 0);
    for (int i = 0; i < 10000; i++)
        util_buf_putc(&b, (uint8_t)i);
    ck_assert_uint_eq(b.len, 10000);
    ck_assert_uint_ge(b.cap, b.len);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(b.data[i], (uint8_t)i);
    util_buf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
    util_buf_free(&b); /* a freed buffer is empty and may be freed again */
}
END_TEST

START_TEST(buf_puts_printf)
{
    util_buf b = UTIL_BUF_INIT;
    util_buf_puts(&b, "ab");
    util_buf_printf(&b, "%d-%s", 42, "x");
    ck_assert_uint_eq(b.len, 6);
    ck_assert_mem_eq(b.data, "ab42-x", 6);
    /* Longer than the printf's stack buffer. */
    char big[1000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    util_buf_printf(&b, "[%s]", big);
    ck_assert_uint_eq(b.len, 6 + 2 + 999);
    ck_assert_int_eq(b.data[6], '[');
    ck_assert_int_eq(b.data[6 + 1 + 998], 'q');
    ck_assert_int_eq(b.data[b.len - 1], ']');
    util_buf_free(&b);
}
END_TEST

START_TEST(buf_reserve_consume_reset)
{
    util_buf b = UTIL_BUF_INIT;
    util_buf_reserve(&b, 100);
    ck_assert_uint_ge(b.cap, 100);
    ck_assert_uint_eq(b.len, 0);
    uint8_t *before = b.data;
    util_buf_append(&b, "0123456789", 10);
    ck_assert_ptr_eq(b.data, before); /* reserved room is used without reallocating */
    util_buf_consume(&b, 3);
    ck_assert_uint_eq(b.len, 7);
    ck_assert_mem_eq(b.data, "3456789", 7);
    util_buf_consume(&b, 7);
    ck_assert_uint_eq(b.len, 0);
    util_buf_append(&b, "xy", 2);
    size_t cap = b.cap;
    util_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, cap);
    util_buf_free(&b);
}
END_TEST

START_TEST(buf_steal_str)
{
    util_buf b = UTIL_BUF_INIT;
    util_buf_puts(&b, "hello");
    char *s = util_buf_steal_str(&b);
    ck_assert_str_eq(s, "hello");
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    util_free(s);
    util_buf empty = UTIL_BUF_INIT;
    s = util_buf_steal_str(&empty);
    ck_assert_str_eq(s, "");
    util_free(s);
}
END_TEST

/* RFC 4648 section 10 test vectors. */
static const char *const k_rfc_plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const k_rfc_b64[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

START_TEST(base64_rfc_vectors)
{
    for (size_t i = 0; i < sizeof k_rfc_plain / sizeof k_rfc_plain[0]; i++) {
        util_buf e = UTIL_BUF_INIT, d = UTIL_BUF_INIT;
        util_base64_encode(&e, (const uint8_t *)k_rfc_plain[i], strlen(k_rfc_plain[i]));
        ck_assert_uint_eq(e.len, strlen(k_rfc_b64[i]));
        if (e.len)
            ck_assert_mem_eq(e.data, k_rfc_b64[i], e.len);
        ck_assert_int_eq(util_base64_decode(&d, k_rfc_b64[i], strlen(k_rfc_b64[i])), 0);
        ck_assert_uint_eq(d.len, strlen(k_rfc_plain[i]));
        if (d.len)
            ck_assert_mem_eq(d.data, k_rfc_plain[i], d.len);
        util_buf_free(&e);
        util_buf_free(&d);
    }
}
END_TEST

START_TEST(base64_roundtrip_appends)
{
    unsigned seed = 7;
    for (size_t n = 0; n < 700; n++) {
        uint8_t *in = util_malloc(n);
        for (size_t i = 0; i < n; i++)
            in[i] = (uint8_t)rand_r(&seed);
        util_buf e = UTIL_BUF_INIT, d = UTIL_BUF_INIT;
        util_buf_puts(&e, "pre");
        util_buf_puts(&d, "PRE");
        util_base64_encode(&e, in, n);
        ck_assert_uint_eq(e.len, 3 + 4 * ((n + 2) / 3));
        ck_assert_mem_eq(e.data, "pre", 3);
        ck_assert_int_eq(util_base64_decode(&d, (const char *)e.data + 3, e.len - 3), 0);
        ck_assert_uint_eq(d.len, 3 + n);
        ck_assert_mem_eq(d.data, "PRE", 3);
        if (n)
            ck_assert_mem_eq(d.data + 3, in, n);
        util_buf_free(&e);
        util_buf_free(&d);
        util_free(in);
    }
}
END_TEST

START_TEST(base64_large)
{
    /* Larger than the encoder's internal chunk (3 MiB), not a multiple of 3. */
    size_t n = 3 * 1024 * 1024 + 1000 + 2;
    uint8_t *in = util_malloc(n);
    for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)(i * 7 + (i >> 11));
    util_buf e = UTIL_BUF_INIT, d = UTIL_BUF_INIT;
    util_base64_encode(&e, in, n);
    ck_assert_uint_eq(e.len, 4 * ((n + 2) / 3));
    ck_assert_int_eq(util_base64_decode(&d, (const char *)e.data, e.len), 0);
    ck_assert_uint_eq(d.len, n);
    ck_assert(memcmp(d.data, in, n) == 0);
    util_buf_free(&e);
    util_buf_free(&d);
    util_free(in);
}
END_TEST

static const char *const k_bad_b64[] = {
    "Z",     "Zg",   "Zg=",  "Zm9",  "Zm9vY",    "Zg===",    "====",
    "A===",  "=AAA", "AA=A", "Zg=a", "Zm9v\n",   " Zm9v",    "Zm9v ",
    "Zm 9v", "Zm9-", "Zm9_", "Zm9*", "Zg==Zg==", "Zm9v====", "\x80\x80\x80\x80",
};

START_TEST(base64_invalid_leaves_out_alone)
{
    const char *bad = k_bad_b64[_i];
    util_buf d = UTIL_BUF_INIT;
    util_buf_puts(&d, "keep");
    ck_assert_msg(util_base64_decode(&d, bad, strlen(bad)) == -1, "accepted \"%s\"", bad);
    ck_assert_uint_eq(d.len, 4);
    ck_assert_mem_eq(d.data, "keep", 4);
    util_buf_free(&d);
}
END_TEST

START_TEST(base64_invalid_embedded_nul)
{
    util_buf d = UTIL_BUF_INIT;
    ck_assert_int_eq(util_base64_decode(&d, "Zm\0v", 4), -1);
    ck_assert_int_eq(util_base64_decode(&d, "Zg=\0", 4), -1);
    ck_assert_uint_eq(d.len, 0);
    util_buf_free(&d);
}
END_TEST

static int url_safe(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

START_TEST(rand_id_length_alphabet)
{
    ck_assert_uint_eq(SIO_RAND_ID_LEN(20), 27);
    ck_assert_uint_eq(SIO_RAND_ID_LEN(15), 20);
    ck_assert_uint_eq(SIO_RAND_ID_LEN(16), 22);
    ck_assert_uint_eq(SIO_RAND_ID_LEN(1), 2);
    ck_assert_uint_eq(SIO_RAND_ID_LEN(0), 0);
    for (size_t nbytes = 0; nbytes <= 64; nbytes++) {
        char out[SIO_RAND_ID_LEN(64) + 2];
        memset(out, '!', sizeof out);
        util_rand_id(out, nbytes);
        ck_assert_uint_eq(strlen(out), SIO_RAND_ID_LEN(nbytes));
        for (size_t i = 0; out[i]; i++)
            ck_assert_msg(url_safe(out[i]), "byte %zu of \"%s\" is not URL-safe", i, out);
        ck_assert_int_eq(out[SIO_RAND_ID_LEN(nbytes) + 1], '!'); /* nothing past the NUL */
    }
}
END_TEST

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

START_TEST(rand_id_unique_and_spread)
{
    enum { N = 5000, L = SIO_RAND_ID_LEN(20) + 1 };
    char(*ids)[L] = util_malloc(sizeof(char[N][L]));
    size_t seen[128] = {0};
    for (int i = 0; i < N; i++) {
        util_rand_id(ids[i], 20);
        for (int k = 0; k < L - 1; k++)
            seen[(unsigned char)ids[i][k] & 127]++;
    }
    qsort(ids, N, L, cmp_ids);
    for (int i = 1; i < N; i++)
        ck_assert_str_ne(ids[i - 1], ids[i]);
    /* Every one of the 64 symbols shows up over 135000 draws (the miss chance is negligible). */
    size_t symbols = 0;
    for (int c = 0; c < 128; c++)
        symbols += seen[c] != 0;
    ck_assert_uint_eq(symbols, 64);
    util_free(ids);
}
END_TEST

START_TEST(alloc_basics)
{
    char *s = util_strndup("abcdef", 3);
    ck_assert_str_eq(s, "abc");
    util_free(s);
    s = util_strdup("");
    ck_assert_str_eq(s, "");
    util_free(s);
    int *z = util_calloc(16, sizeof *z);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(z[i], 0);
    z = util_realloc(z, 32 * sizeof *z);
    ck_assert_int_eq(z[15], 0);
    util_free(z);
    util_free(NULL);
    void *p = util_malloc(0); /* a zero-byte allocation is a valid pointer */
    ck_assert_ptr_nonnull(p);
    util_free(p);
}
END_TEST

/* ---- rate-limited log lines: injected clock, captured lines ---- */

static uint64_t g_now;
static util_buf g_logged;
static int g_lines;

static uint64_t fake_now(void)
{
    return g_now;
}

static void capture(const char *line, size_t len, void *ud)
{
    (void)ud;
    util_buf_append(&g_logged, line, len);
    g_lines++;
}

static void log_capture_begin(void)
{
    g_now = 1000;
    g_lines = 0;
    util_buf_reset(&g_logged);
    util_log_set_clock(fake_now);
    util_log_set_sink(capture, NULL);
    util_log_set_level(UTIL_LOG_INFO);
}

static void log_capture_end(void)
{
    util_log_rl_flush();
    util_log_set_clock(NULL);
    util_log_set_sink(NULL, NULL);
    util_buf_free(&g_logged);
}

static bool logged_has(const char *needle)
{
    util_buf_putc(&g_logged, 0);
    g_logged.len--;
    return strstr((const char *)g_logged.data, needle) != NULL;
}

/* One call site, called n times. */
static void flood_site(int n)
{
    for (int i = 0; i < n; i++)
        UTIL_LOGW_RL(UTIL_SUB_SOCKETIO, "flood line %d", i);
}

START_TEST(log_rl_burst_then_summary)
{
    log_capture_begin();
    flood_site(1000);
    ck_assert_int_eq(g_lines, UTIL_LOG_RL_BURST);
    ck_assert(logged_has("flood line 9\n"));
    ck_assert(!logged_has("flood line 10\n"));
    /* Still inside the window: nothing more. */
    g_now += UTIL_LOG_RL_INTERVAL_MS - 1;
    flood_site(5);
    ck_assert_int_eq(g_lines, UTIL_LOG_RL_BURST);
    /* The first line of the next window reports what the last one suppressed, then is written. */
    g_now += 1;
    flood_site(1);
    ck_assert_int_eq(g_lines, UTIL_LOG_RL_BURST + 2);
    ck_assert(logged_has("suppressed 995 similar messages in the last 10 s: \"flood line %d\""));
    ck_assert(logged_has("warn "));
    log_capture_end();
}
END_TEST

START_TEST(log_rl_flush_reports_ended_windows)
{
    log_capture_begin();
    static util_log_limiter rl = UTIL_LOG_LIMITER_INIT(2, 1000);
    for (int i = 0; i < 7; i++)
        util_log_rl(&rl, UTIL_SUB_ADAPTER, UTIL_LOG_WARN, "redis line %d", i);
    ck_assert_int_eq(g_lines, 2);
    util_log_rl_flush(); /* the window is still open: nothing yet */
    ck_assert_int_eq(g_lines, 2);
    g_now += 1500;
    util_log_rl_flush();
    ck_assert_int_eq(g_lines, 3);
    ck_assert(logged_has("suppressed 5 similar messages in the last 2 s: \"redis line %d\""));
    util_log_rl_flush(); /* reported once */
    ck_assert_int_eq(g_lines, 3);
    /* A new window: two lines again. */
    for (int i = 0; i < 3; i++)
        util_log_rl(&rl, UTIL_SUB_ADAPTER, UTIL_LOG_WARN, "redis line %d", i);
    ck_assert_int_eq(g_lines, 5);
    util_log_rl_forget(&rl);
    g_now += 5000;
    util_log_rl_flush(); /* forgotten: its suppressed line is not reported */
    ck_assert_int_eq(g_lines, 5);
    log_capture_end();
}
END_TEST

START_TEST(log_rl_disabled_level_costs_nothing)
{
    log_capture_begin();
    util_log_set_level(UTIL_LOG_ERROR);
    flood_site(100);
    ck_assert_int_eq(g_lines, 0);
    util_log_set_level(UTIL_LOG_INFO);
    g_now += UTIL_LOG_RL_INTERVAL_MS;
    util_log_rl_flush();
    ck_assert_int_eq(g_lines, 0); /* nothing was counted while disabled */
    log_capture_end();
}
END_TEST

START_TEST(log_json_through_sink)
{
    log_capture_begin();
    util_log_set_format(UTIL_LOG_JSON);
    UTIL_LOGW(UTIL_SUB_ENGINEIO, "quote \" and newline \n");
    util_log_set_format(UTIL_LOG_TEXT);
    ck_assert_int_eq(g_lines, 1);
    ck_assert(
        logged_has("\"level\":\"warn\",\"subsys\":\"engineio\",\"msg\":\"quote \\\" and newline "
                   "\\n\"}\n"));
    log_capture_end();
}
END_TEST

/* ---- util_prom: the Prometheus text format ---- */

START_TEST(prom_family_and_samples)
{
    util_buf b = UTIL_BUF_INIT;
    util_prom_family(&b, "x_total", "counter", "A help with a \\ and a\nnewline.");
    util_prom_sample_u64(&b, "x_total", NULL, 0, 18446744073709551615ull);
    util_prom_sample_u64(&b, "x_total", (const char *[]){"reason", "a \"quoted\" \\ one\n"}, 1, 3);
    util_prom_sample(&b, "x_total", (const char *[]){"a", "1", "b", ""}, 2, 0.25);
    util_prom_sample(&b, "g", NULL, 0, 12345678901.0);
    util_prom_sample(&b, "g", NULL, 0, 1.0 / 0.0);
    util_prom_sample(&b, "g", NULL, 0, -1.0 / 0.0);
    util_prom_sample(&b, "g", NULL, 0, 0.0 / 0.0);
    ck_assert_str_eq(util_buf_cstr(&b), "# HELP x_total A help with a \\\\ and a\\nnewline.\n"
                                        "# TYPE x_total counter\n"
                                        "x_total 18446744073709551615\n"
                                        "x_total{reason=\"a \\\"quoted\\\" \\\\ one\\n\"} 3\n"
                                        "x_total{a=\"1\",b=\"\"} 0.25\n"
                                        "g 12345678901\n"
                                        "g +Inf\n"
                                        "g -Inf\n"
                                        "g NaN\n");
    util_buf_free(&b);
}
END_TEST

START_TEST(prom_histogram)
{
    util_buf b = UTIL_BUF_INIT;
    const double bounds[] = {0.005, 0.1, 2.5};
    const uint64_t counts[] = {1, 0, 2, 4}; /* per bucket; the last is +Inf */
    util_prom_histogram(&b, "d_seconds", (const char *[]){"kind", "k"}, 1, bounds, 3, counts, 9.5);
    ck_assert_str_eq(util_buf_cstr(&b), "d_seconds_bucket{kind=\"k\",le=\"0.005\"} 1\n"
                                        "d_seconds_bucket{kind=\"k\",le=\"0.1\"} 1\n"
                                        "d_seconds_bucket{kind=\"k\",le=\"2.5\"} 3\n"
                                        "d_seconds_bucket{kind=\"k\",le=\"+Inf\"} 7\n"
                                        "d_seconds_sum{kind=\"k\"} 9.5\n"
                                        "d_seconds_count{kind=\"k\"} 7\n");
    util_buf_reset(&b);
    util_prom_histogram(&b, "h", NULL, 0, bounds, 3, (const uint64_t[]){0, 0, 0, 0}, 0);
    ck_assert_str_eq(util_buf_cstr(&b), "h_bucket{le=\"0.005\"} 0\nh_bucket{le=\"0.1\"} 0\n"
                                        "h_bucket{le=\"2.5\"} 0\nh_bucket{le=\"+Inf\"} 0\n"
                                        "h_sum 0\nh_count 0\n");
    util_buf_free(&b);
}
END_TEST

static Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("buf");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, buf_append_and_grow);
    tcase_add_test(tc, buf_puts_printf);
    tcase_add_test(tc, buf_reserve_consume_reset);
    tcase_add_test(tc, buf_steal_str);
    tcase_add_test(tc, alloc_basics);
    tcase_add_test(tc, log_rl_burst_then_summary);
    tcase_add_test(tc, log_rl_flush_reports_ended_windows);
    tcase_add_test(tc, log_rl_disabled_level_costs_nothing);
    tcase_add_test(tc, log_json_through_sink);
    suite_add_tcase(s, tc);

    tc = tcase_create("base64");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, base64_rfc_vectors);
    tcase_add_test(tc, base64_roundtrip_appends);
    tcase_add_test(tc, base64_large);
    tcase_add_loop_test(tc, base64_invalid_leaves_out_alone, 0,
                        (int)(sizeof k_bad_b64 / sizeof k_bad_b64[0]));
    tcase_add_test(tc, base64_invalid_embedded_nul);
    suite_add_tcase(s, tc);

    tc = tcase_create("rand");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, rand_id_length_alphabet);
    tcase_add_test(tc, rand_id_unique_and_spread);
    suite_add_tcase(s, tc);

    tc = tcase_create("prom");
    tcase_add_test(tc, prom_family_and_samples);
    tcase_add_test(tc, prom_histogram);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(util_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
