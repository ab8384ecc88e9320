/* test_siobench: siobench's pure parts: the latency histogram, the command line, and the raw
 * WebSocket client protocol (wsraw.c: handshake, masked frames, bulk frame parser). */
#include "sb_stats.h"
#include "siobench.h"
#include "wsraw.h"

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
    ck_assert_str_eq(a.label, "server");
    ck_assert_str_eq(a.room, "bench");
    ck_assert_int_eq(a.timeout, 60);
    ck_assert_int_eq(parse(&a, "polling --transport polling --json=off"), 0);
    ck_assert(!a.json);
    ck_assert_int_eq(parse(&a, "--clients 3 -- connect"), 0);
    ck_assert_int_eq(a.scenario, SB_SC_CONNECT);
    ck_assert_uint_eq(a.clients, 3);
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
    ck_assert_int_eq(a.ws_impl, SB_WS_RAW);
    ck_assert_int_eq(parse(&a, "fanout --ws-impl lws"), 0);
    ck_assert_int_eq(a.ws_impl, SB_WS_LWS);
    ck_assert_int_eq(parse(&a, "fanout --ws-impl raw"), 0);
    ck_assert_int_eq(a.ws_impl, SB_WS_RAW);
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
                         "fanout --ws-impl ws",
                         "cluster",
                         "--bogus fanout",
                         "fanout --json=maybe"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(parse(&a, bad[i]) == -1, "accepted: %s", bad[i]);
}
END_TEST

/* --- wsraw --- */

/* What the parser delivered: each message as "<opcode>:<bytes>|" appended to out. */
typedef struct collected {
    util_buf out;
    unsigned n;
    int stop_at; /* return 7 on this message (1-based), 0: never */
} collected;

static int collect(void *ud, unsigned opcode, const uint8_t *data, size_t len)
{
    collected *c = ud;
    util_buf_printf(&c->out, "%x:", opcode);
    util_buf_append(&c->out, data, len);
    util_buf_putc(&c->out, '|');
    c->n++;
    return c->stop_at && (int)c->n == c->stop_at ? 7 : 0;
}

/* Feeds in[0..len) to a fresh parser in reads of at most chunk bytes; returns what it delivered
 * (a heap string the caller frees) and the parse's last return in *rc. */
static char *feed(const uint8_t *in, size_t len, size_t chunk, int *rc)
{
    sb_wsr_parser p;
    memset(&p, 0, sizeof p);
    collected c;
    memset(&c, 0, sizeof c);
    *rc = 0;
    for (size_t off = 0; off < len && *rc == 0; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        *rc = sb_wsr_parse(&p, in + off, n, collect, &c);
    }
    if (*rc == 0)
        ck_assert_uint_eq(p.part.len, 0); /* nothing left over after whole frames */
    sb_wsr_parser_free(&p);
    util_buf_putc(&c.out, 0);
    return (char *)c.out.data;
}

/* Asserts that in[0..len) parses to want, and the same in every split of the input. */
static void check_all_splits(const uint8_t *in, size_t len, const char *want)
{
    for (size_t chunk = 1; chunk <= len; chunk++) {
        int rc;
        char *got = feed(in, len, chunk, &rc);
        ck_assert_msg(rc == 0, "chunk %zu: rc %d", chunk, rc);
        ck_assert_msg(strcmp(got, want) == 0, "chunk %zu: got '%.80s'", chunk, got);
        free(got);
    }
}

START_TEST(wsraw_accept_key)
{
    char out[SB_WSR_ACCEPT_LEN + 1];
    sb_wsr_accept("dGhlIHNhbXBsZSBub25jZQ==", out); /* RFC 6455 section 1.3 */
    ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char key[SB_WSR_KEY_LEN + 1], key2[SB_WSR_KEY_LEN + 1];
    uint64_t rng = 42;
    sb_wsr_key(key, &rng);
    sb_wsr_key(key2, &rng);
    ck_assert_uint_eq(strlen(key), 24);
    ck_assert_str_ne(key, key2);
    ck_assert_int_eq(key[22], '=');
    ck_assert_int_eq(key[23], '=');
    char req[512];
    size_t n = sb_wsr_request(req, sizeof req, "127.0.0.1", 8080,
                              "/socket.io/?EIO=4&transport=websocket", key);
    ck_assert_uint_eq(n, strlen(req));
    ck_assert(strncmp(req, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n", 52) == 0);
    ck_assert(strstr(req, "\r\nHost: 127.0.0.1:8080\r\n"));
    ck_assert(strstr(req, "\r\nSec-WebSocket-Version: 13\r\n"));
    ck_assert(strstr(req, key));
    ck_assert(n > 4 && strcmp(req + n - 4, "\r\n\r\n") == 0);
    ck_assert_uint_eq(sb_wsr_request(req, 40, "h", 1, "/", key), 0);
}
END_TEST

START_TEST(wsraw_response)
{
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    const char *ok = "HTTP/1.1 101 Switching Protocols\r\n"
                     "upgrade: WebSocket\r\n"
                     "CONNECTION: keep-alive, Upgrade\r\n"
                     "Sec-WebSocket-Accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n"
                     "\r\n";
    char buf[512];
    size_t hl = strlen(ok);
    snprintf(buf, sizeof buf,
             "%s\x81\x01"
             "0",
             ok);
    ck_assert_int_eq(sb_wsr_response(buf, hl + 3, key), (long)hl); /* frames follow the head */
    for (size_t n = 0; n < hl; n++)
        ck_assert_int_eq(sb_wsr_response(ok, n, key), 0); /* incomplete */
    ck_assert_int_eq(sb_wsr_response(ok, hl, "AAAAAAAAAAAAAAAAAAAAAA=="), -1);
    const char *bad[] = {
        "HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        "HTTP/1.1 1010 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(sb_wsr_response(bad[i], strlen(bad[i]), key) == -1, "accepted %zu", i);
}
END_TEST

START_TEST(wsraw_masked_frames)
{
    uint8_t out[70000 + SB_WSR_MAX_HDR];
    /* RFC 6455 section 5.7: a masked "Hello". */
    size_t n = sb_wsr_frame(out, SB_WSR_TEXT, "Hello", 5, 0x37fa213d);
    const uint8_t want[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    ck_assert_uint_eq(n, sizeof want);
    ck_assert(memcmp(out, want, n) == 0);
    /* 16- and 64-bit lengths; the payload unmasks back (8-byte and tail paths). */
    static uint8_t pl[70000];
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i * 7 + 3);
    const size_t lens[] = {0, 125, 126, 200, 65535, 65536, 70000};
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        size_t len = lens[k];
        n = sb_wsr_frame(out, SB_WSR_BINARY, pl, len, 0xa1b2c3d4);
        size_t hl = len < 126 ? 6 : len <= 0xffff ? 8 : 14;
        ck_assert_uint_eq(n, hl + len);
        ck_assert_uint_eq(out[0], 0x82);
        if (len < 126) {
            ck_assert_uint_eq(out[1], 0x80 | len);
        } else if (len <= 0xffff) {
            ck_assert_uint_eq(out[1], 0x80 | 126);
            ck_assert_uint_eq((size_t)out[2] << 8 | out[3], len);
        } else {
            ck_assert_uint_eq(out[1], 0x80 | 127);
            uint64_t v = 0;
            for (int i = 0; i < 8; i++)
                v = v << 8 | out[2 + i];
            ck_assert_uint_eq(v, len);
        }
        const uint8_t *m = out + hl - 4;
        ck_assert(m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0xc3 && m[3] == 0xd4);
        for (size_t i = 0; i < len; i++)
            ck_assert_uint_eq(out[hl + i] ^ m[i & 3], pl[i]);
    }
    uint64_t s = 1, a = sb_wsr_rand(&s), b = sb_wsr_rand(&s);
    ck_assert(a != b && s != 0);
}
END_TEST

START_TEST(wsraw_parse_split_reads)
{
    /* Three frames back to back: "Hello", an empty text, "42[\"e\"]". */
    const uint8_t in[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o', 0x81, 0x00,
                          0x81, 0x07, '4', '2', '[', '"', 'e', '"',  ']'};
    check_all_splits(in, sizeof in, "1:Hello|1:|1:42[\"e\"]|");
}
END_TEST

START_TEST(wsraw_parse_long_lengths)
{
    static uint8_t in[2 * 70000];
    size_t n = 0;
    /* 300 bytes, 16-bit length */
    in[n++] = 0x81;
    in[n++] = 126;
    in[n++] = 300 >> 8;
    in[n++] = 300 & 0xff;
    for (int i = 0; i < 300; i++)
        in[n++] = 'a';
    /* 70000 bytes, 64-bit length */
    in[n++] = 0x82;
    in[n++] = 127;
    for (int i = 7; i >= 0; i--)
        in[n++] = (uint8_t)((uint64_t)70000 >> (8 * i));
    for (int i = 0; i < 70000; i++)
        in[n++] = 'b';
    /* 126 bytes: the smallest 16-bit length */
    in[n++] = 0x81;
    in[n++] = 126;
    in[n++] = 0;
    in[n++] = 126;
    for (int i = 0; i < 126; i++)
        in[n++] = 'c';
    static char want[80000];
    size_t w = 0;
    w += (size_t)sprintf(want + w, "1:");
    memset(want + w, 'a', 300), w += 300;
    w += (size_t)sprintf(want + w, "|2:");
    memset(want + w, 'b', 70000), w += 70000;
    w += (size_t)sprintf(want + w, "|1:");
    memset(want + w, 'c', 126), w += 126;
    w += (size_t)sprintf(want + w, "|");
    want[w] = 0;
    const size_t chunks[] = {1, 2, 3, 7, 13, 301, 4096, 65536, sizeof in};
    for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
        int rc;
        char *got = feed(in, n, chunks[k], &rc);
        ck_assert_int_eq(rc, 0);
        ck_assert_msg(strcmp(got, want) == 0, "chunk %zu", chunks[k]);
        free(got);
    }
}
END_TEST

START_TEST(wsraw_parse_fragments_and_control)
{
    /* RFC 6455 5.6/5.4: "Hel" + ping in the middle + "lo", then a pong, a close with 1000 and a
     * three-fragment binary message with an empty middle fragment. */
    const uint8_t in[] = {0x01, 0x03, 'H',  'e',  'l',  0x89, 0x02, 'p',  'i',
                          0x80, 0x02, 'l',  'o',  0x8a, 0x00, 0x02, 0x01, 'x',
                          0x00, 0x00, 0x80, 0x01, 'y',  0x88, 0x02, 0x03, 0xe8};
    check_all_splits(in, sizeof in, "9:pi|1:Hello|a:|2:xy|8:\x03\xe8|");
    /* A callback's nonzero return stops the parse and is returned. */
    sb_wsr_parser p;
    memset(&p, 0, sizeof p);
    collected c;
    memset(&c, 0, sizeof c);
    c.stop_at = 2;
    ck_assert_int_eq(sb_wsr_parse(&p, in, sizeof in, collect, &c), 7);
    ck_assert_uint_eq(c.n, 2);
    sb_wsr_parser_free(&p);
    util_buf_free(&c.out);
}
END_TEST

START_TEST(wsraw_parse_errors)
{
    static const struct {
        uint8_t b[16];
        size_t n;
    } bad[] = {
        {{0x81, 0x81, 1, 2, 3, 4, 'x'}, 7},            /* masked by the server */
        {{0xc1, 0x01, 'x'}, 3},                        /* RSV1 without an extension */
        {{0x80, 0x01, 'x'}, 3},                        /* continuation without a start */
        {{0x01, 0x01, 'a', 0x81, 0x01, 'b'}, 6},       /* new message inside a fragmented one */
        {{0x09, 0x00}, 2},                             /* fragmented ping */
        {{0x89, 0x7e, 0x00, 0x7e}, 4},                 /* ping over 125 bytes */
        {{0x83, 0x00}, 2},                             /* reserved opcode */
        {{0x8b, 0x00}, 2},                             /* reserved control opcode */
        {{0x82, 0x7f, 0, 0, 0, 0, 0x10, 0, 0, 0}, 10}, /* 256 MiB: over the limit */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        for (size_t chunk = 1; chunk <= bad[i].n; chunk++) {
            int rc;
            char *got = feed(bad[i].b, bad[i].n, chunk, &rc);
            ck_assert_msg(rc == -1, "case %zu chunk %zu: rc %d", i, chunk, rc);
            free(got);
        }
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
    tc = tcase_create("wsraw");
    tcase_add_test(tc, wsraw_accept_key);
    tcase_add_test(tc, wsraw_response);
    tcase_add_test(tc, wsraw_masked_frames);
    tcase_add_test(tc, wsraw_parse_split_reads);
    tcase_add_test(tc, wsraw_parse_long_lengths);
    tcase_add_test(tc, wsraw_parse_fragments_and_control);
    tcase_add_test(tc, wsraw_parse_errors);
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
