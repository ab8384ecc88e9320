/* test_siobench: siobench's pure parts: the latency histogram and the command line. */
#include "sb_stats.h"
#include "siobench.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static sb_stats st;

START_TEST(stats_buckets_exact_then_log)
{
    for (uint64_t v = 0; v < 128; v++) {
        ck_assert_uint_eq(sb_stats_bucket(v), v);
        ck_assert_uint_eq(sb_stats_bucket_value(sb_stats_bucket(v)), v);
    }
    /* Monotonic, and every value lies within 1% of its bucket's value. */
    unsigned prev = 0;
    for (uint64_t v = 128; v < (1ull << 40); v += v / 97 + 1) {
        unsigned b = sb_stats_bucket(v);
        ck_assert_uint_ge(b, prev);
        prev = b;
        uint64_t m = sb_stats_bucket_value(b);
        uint64_t d = m > v ? m - v : v - m;
        ck_assert_msg(d * 100 <= v, "v=%llu bucket value %llu", (unsigned long long)v,
                      (unsigned long long)m);
    }
    ck_assert_uint_lt(sb_stats_bucket(UINT64_MAX), SB_STATS_BUCKETS);
}
END_TEST

START_TEST(stats_percentiles)
{
    memset(&st, 0, sizeof st);
    ck_assert_uint_eq(sb_stats_percentile(&st, 50), 0);
    for (uint64_t v = 1; v <= 100; v++)
        sb_stats_add(&st, v);
    ck_assert_uint_eq(st.count, 100);
    ck_assert_uint_eq(st.min, 1);
    ck_assert_uint_eq(st.max, 100);
    ck_assert_uint_eq(sb_stats_percentile(&st, 50), 50);
    ck_assert_uint_eq(sb_stats_percentile(&st, 90), 90);
    ck_assert_uint_eq(sb_stats_percentile(&st, 99), 99);
    ck_assert_uint_eq(sb_stats_percentile(&st, 100), 100);
    ck_assert_uint_eq(sb_stats_percentile(&st, 0.001), 1);
    /* One outlier: the max is exact, p50 unaffected; large values within 1%. */
    sb_stats_add(&st, 1000000);
    ck_assert_uint_eq(sb_stats_percentile(&st, 100), 1000000);
    ck_assert_uint_eq(sb_stats_percentile(&st, 50), 51);
    static sb_stats big;
    memset(&big, 0, sizeof big);
    for (uint64_t i = 0; i < 1000; i++)
        sb_stats_add(&big, 10000 + i * 10); /* 10000 .. 19990 */
    uint64_t p50 = sb_stats_percentile(&big, 50);
    ck_assert_msg(p50 > 14800 && p50 < 15200, "p50 %llu", (unsigned long long)p50);
    sb_stats_merge(&st, &big);
    ck_assert_uint_eq(st.count, 1101);
    ck_assert_uint_eq(st.min, 1);
    ck_assert_uint_eq(st.max, 1000000);
}
END_TEST

static int parse(sb_args *a, const char *line)
{
    char buf[512];
    char *argv[32];
    int argc = 0;
    snprintf(buf, sizeof buf, "siobench %s", line);
    for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    return sb_args_parse(a, argc, argv);
}

START_TEST(args_defaults_and_values)
{
    sb_args a;
    ck_assert_int_eq(parse(&a, "fanout"), 0);
    ck_assert_int_eq(a.scenario, SB_SC_FANOUT);
    ck_assert_int_eq(a.transport, SB_WEBSOCKET);
    ck_assert_str_eq(a.url.host, "127.0.0.1");
    ck_assert_int_eq(a.url.port, 8080);
    ck_assert_str_eq(a.url.path, "/socket.io/");
    ck_assert_int_eq(a.pub_url.port, 8080);
    ck_assert_uint_eq(a.window, 16);
    ck_assert_uint_eq(a.sources, 1);
    ck_assert_int_eq(parse(&a, "echo --clients 50000 --url http://127.0.0.1:9000/x --json"), 0);
    ck_assert_uint_eq(a.window, 1);
    ck_assert_uint_eq(a.clients, 50000);
    ck_assert_uint_eq(a.sources, 3);
    ck_assert_str_eq(a.url.path, "/x/");
    ck_assert_int_eq(a.url.port, 9000);
    ck_assert(a.json);
    ck_assert_int_eq(parse(&a, "polling --rate 12.5 --size 0 --nsp /chat --room r1"), 0);
    ck_assert_int_eq(a.transport, SB_POLLING);
    ck_assert(a.rate == 12.5);
    ck_assert_uint_eq(a.size, 0);
    ck_assert_str_eq(a.nsp, "/chat");
    ck_assert_int_eq(parse(&a, "cluster --pub-url 127.0.0.1:1 --lb-url 127.0.0.1:2"), 0);
    ck_assert_int_eq(a.pub_url.port, 1);
    ck_assert_int_eq(a.lb_url.port, 2);
}
END_TEST

START_TEST(args_invalid)
{
    sb_args a;
    const char *bad[] = {"",
                         "fanout fanout",
                         "nope",
                         "fanout --clients 0",
                         "fanout --clients x",
                         "fanout --clients",
                         "fanout --rate -1",
                         "fanout --url https://h:1/",
                         "fanout --url h:70000",
                         "fanout --nsp chat",
                         "fanout --bogus 1",
                         "polling --transport websocket",
                         "cluster"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(parse(&a, bad[i]) == -1, "accepted: %s", bad[i]);
}
END_TEST

static Suite *siobench_suite(void)
{
    Suite *s = suite_create("siobench");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, stats_buckets_exact_then_log);
    tcase_add_test(tc, stats_percentiles);
    suite_add_tcase(s, tc);
    tc = tcase_create("args");
    tcase_add_test(tc, args_defaults_and_values);
    tcase_add_test(tc, args_invalid);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(siobench_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
