/* Unit tests of the node-to-node wire decoders: the request signature (cluster_auth), a peer's
 * HTTP answer to a forwarded request (cluster_answer) and the control channel's request decoder
 * (rd_control_req). Time is injected; no I/O. */
#include "cluster_auth.h"
#include "rd_control_req.h"
#include "cluster_answer.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1764748800000ull
#define QUERY "EIO=4&transport=polling&sid=abc"
/* HMAC-SHA256("s3cret", "GET\n/socket.io/\n" QUERY "\n1764748800000"), computed with Python's
 * hmac module. */
#define SIG "06b9694ba2bd16edee8b117fdcbc4af272a51d011c043b5576f3c3a4cbcdb146"

START_TEST(auth_sign_matches_reference)
{
    char sig[CLUSTER_SIG_HEX + 1];
    cluster_sign("s3cret", "GET", "/socket.io/", QUERY, NOW, sig);
    ck_assert_str_eq(sig, SIG);
    ck_assert_int_eq(
        cluster_verify("s3cret", "GET", "/socket.io/", QUERY, "1764748800000", SIG, NOW),
        CLUSTER_AUTH_OK);
}
END_TEST

START_TEST(auth_refusals)
{
    const char *ts = "1764748800000";
    ck_assert_int_eq(cluster_verify("s3cret", "GET", "/socket.io/", QUERY, NULL, SIG, NOW),
                     CLUSTER_AUTH_MISSING);
    ck_assert_int_eq(cluster_verify("s3cret", "GET", "/socket.io/", QUERY, ts, "", NOW),
                     CLUSTER_AUTH_MISSING);
    /* the window, either way */
    ck_assert_int_eq(cluster_verify("s3cret", "GET", "/socket.io/", QUERY, ts, SIG,
                                    NOW + CLUSTER_AUTH_WINDOW_MS),
                     CLUSTER_AUTH_OK);
    ck_assert_int_eq(cluster_verify("s3cret", "GET", "/socket.io/", QUERY, ts, SIG,
                                    NOW + CLUSTER_AUTH_WINDOW_MS + 1),
                     CLUSTER_AUTH_STALE);
    ck_assert_int_eq(cluster_verify("s3cret", "GET", "/socket.io/", QUERY, ts, SIG,
                                    NOW - CLUSTER_AUTH_WINDOW_MS - 1),
                     CLUSTER_AUTH_STALE);
    static const char *const bad_ts[] = {"-1764748800000", "17647488e5", "1764748800000 ",
                                         "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_ts / sizeof bad_ts[0]; i++)
        ck_assert_int_eq(cluster_verify("s3cret", "GET", "/socket.io/", QUERY, bad_ts[i], SIG, NOW),
                         CLUSTER_AUTH_STALE);
    /* every signed part matters */
    ck_assert_int_eq(cluster_verify("s3creT", "GET", "/socket.io/", QUERY, ts, SIG, NOW),
                     CLUSTER_AUTH_BAD);
    ck_assert_int_eq(cluster_verify("s3cret", "POST", "/socket.io/", QUERY, ts, SIG, NOW),
                     CLUSTER_AUTH_BAD);
    ck_assert_int_eq(cluster_verify("s3cret", "GET", "/engine.io/", QUERY, ts, SIG, NOW),
                     CLUSTER_AUTH_BAD);
    ck_assert_int_eq(cluster_verify("s3cret", "GET", "/socket.io/", QUERY "x", ts, SIG, NOW),
                     CLUSTER_AUTH_BAD);
    ck_assert_int_eq(
        cluster_verify("s3cret", "GET", "/socket.io/", QUERY, "1764748800001", SIG, NOW),
        CLUSTER_AUTH_BAD);
    ck_assert_int_eq(cluster_verify("s3cret", "GET", "/socket.io/", QUERY, ts, SIG "0", NOW),
                     CLUSTER_AUTH_BAD);
    char upper[] = SIG;
    upper[1] = 'B';
    ck_assert_int_eq(cluster_verify("s3cret", "GET", "/socket.io/", QUERY, ts, upper, NOW),
                     CLUSTER_AUTH_BAD);
    ck_assert_str_eq(cluster_auth_message(CLUSTER_AUTH_MISSING), "missing cluster signature");
}
END_TEST

/* Feeds text in reads of step bytes. Returns the last status. */
static cluster_answer_status feed(cluster_answer *p, const char *text, size_t step)
{
    size_t len = strlen(text);
    cluster_answer_status st = CLUSTER_ANSWER_MORE;
    for (size_t off = 0; off < len && st == CLUSTER_ANSWER_MORE; off += step) {
        size_t n = len - off < step ? len - off : step;
        st = cluster_answer_feed(p, (const uint8_t *)text + off, n);
    }
    return st;
}

START_TEST(up_answer_whole_and_split)
{
    static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                              "Content-Length: 6\r\n\r\n40{}\x1e"
                              "2";
    for (size_t step = 1; step <= sizeof ans; step++) {
        cluster_answer p;
        cluster_answer_init(&p);
        ck_assert_int_eq(feed(&p, ans, step), CLUSTER_ANSWER_DONE);
        cluster_response r;
        cluster_answer_response(&p, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.content_type, "text/plain; charset=UTF-8");
        ck_assert_uint_eq(r.body_len, 6);
        ck_assert_mem_eq(r.body,
                         "40{}\x1e"
                         "2",
                         6);
        ck_assert(cluster_answer_reusable(&p));
        ck_assert(!p.extra);
        /* the same connection, next answer (chunked, no content-type) */
        cluster_answer_reset(&p);
        ck_assert_int_eq(feed(&p,
                              "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: "
                              "chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n",
                              step),
                         CLUSTER_ANSWER_DONE);
        cluster_answer_response(&p, &r);
        ck_assert_int_eq(r.status, 400);
        ck_assert_str_eq(r.content_type, "");
        ck_assert_uint_eq(r.body_len, 2);
        cluster_answer_free(&p);
    }
}
END_TEST

START_TEST(up_answer_not_reusable)
{
    cluster_answer p;
    cluster_answer_init(&p);
    ck_assert_int_eq(
        feed(&p, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 1000),
        CLUSTER_ANSWER_DONE);
    ck_assert(!cluster_answer_reusable(&p));
    cluster_answer_reset(&p);
    /* bytes after the answer: done, but the connection is out of step */
    ck_assert_int_eq(feed(&p, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1", 1000),
                     CLUSTER_ANSWER_DONE);
    ck_assert(p.extra);
    ck_assert(!cluster_answer_reusable(&p));
    ck_assert_int_eq(cluster_answer_feed(&p, (const uint8_t *)"y", 1), CLUSTER_ANSWER_DONE);
    cluster_answer_free(&p);
}
END_TEST

START_TEST(up_answer_invalid)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"HTTP/1.1 20\r\nContent-Length: 0\r\n\r\n", "status code outside 200..599"},
        {"HTTP/1.1 100 Continue\r\n\r\n", "status code outside 200..599"},
        {"HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n", "status code outside 200..599"},
        {"GET / HTTP/1.1\r\n\r\n", NULL},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", NULL},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cluster_answer p;
        cluster_answer_init(&p);
        ck_assert_msg(feed(&p, bad[i].text, 1000) == CLUSTER_ANSWER_ERROR, "accepted: %s",
                      bad[i].text);
        const char *why = cluster_answer_error(&p);
        ck_assert(why && why[0]);
        if (bad[i].why)
            ck_assert_str_eq(why, bad[i].why);
        ck_assert_int_eq(cluster_answer_feed(&p, (const uint8_t *)"HTTP/1.1 200 OK\r\n", 17),
                         CLUSTER_ANSWER_ERROR);
        cluster_answer_free(&p);
    }
}
END_TEST

START_TEST(up_answer_incomplete)
{
    cluster_answer p;
    cluster_answer_init(&p);
    ck_assert_int_eq(feed(&p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1000),
                     CLUSTER_ANSWER_MORE);
    ck_assert_int_eq(cluster_answer_feed(&p, NULL, 0),
                     CLUSTER_ANSWER_MORE); /* not an end of answer */
    ck_assert_uint_gt(p.received, 0);
    cluster_answer_free(&p);
}
END_TEST

#define PREFIX "socket.io#siobroker-reply#"

START_TEST(control_request_valid)
{
    static const char req[] =
        "{\"id\":\"r1\",\"type\":\"sessions\",\"reply\":\"" PREFIX "abc\",\"limit\":5}";
    rd_control_req r;
    const char *why = NULL;
    ck_assert_int_eq(rd_control_parse((const uint8_t *)req, strlen(req), PREFIX, &r, &why), 0);
    ck_assert_str_eq(r.id, "r1");
    ck_assert_str_eq(r.type, "sessions");
    ck_assert_str_eq(r.reply, PREFIX "abc");
    ck_assert_int_eq(json_integer_value(json_object_get(r.req, "limit")), 5);
    rd_control_req_clear(&r);
    ck_assert_ptr_null(r.req);
}
END_TEST

START_TEST(control_request_refused)
{
    char long_id[128];
    snprintf(long_id, sizeof long_id, "{\"id\":\"%065d\",\"type\":\"t\",\"reply\":\"%sx\"}", 0,
             PREFIX);
    const struct {
        const char *text, *why;
    } bad[] = {
        {"", "not a JSON object"},
        {"[1]", "not a JSON object"},
        {" {\"id\":\"a\"}", "not a JSON object"},
        {"{\"id\":\"a\",\"id\":\"b\",\"type\":\"t\",\"reply\":\"" PREFIX "x\"}",
         "not a JSON object"},
        {"{\"id\":1,\"type\":\"t\",\"reply\":\"" PREFIX "x\"}",
         "id, type and reply must be strings"},
        {"{\"id\":\"\",\"type\":\"t\",\"reply\":\"" PREFIX "x\"}",
         "id must have 1 to 64 characters"},
        {long_id, "id must have 1 to 64 characters"},
        {"{\"id\":\"a\",\"type\":\"t\",\"reply\":\"" PREFIX "\"}",
         "reply is not a siobroker reply channel"},
        {"{\"id\":\"a\",\"type\":\"t\",\"reply\":\"socket.io#/#\"}",
         "reply is not a siobroker reply channel"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rd_control_req r;
        const char *why = NULL;
        ck_assert_msg(rd_control_parse((const uint8_t *)bad[i].text, strlen(bad[i].text), PREFIX,
                                       &r, &why) == -1,
                      "accepted: %s", bad[i].text);
        ck_assert_str_eq(why, bad[i].why);
        ck_assert_ptr_null(r.req);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cluster_wire");
    TCase *tc = tcase_create("cluster_wire");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, auth_sign_matches_reference);
    tcase_add_test(tc, auth_refusals);
    tcase_add_test(tc, up_answer_whole_and_split);
    tcase_add_test(tc, up_answer_not_reusable);
    tcase_add_test(tc, up_answer_invalid);
    tcase_add_test(tc, up_answer_incomplete);
    tcase_add_test(tc, control_request_valid);
    tcase_add_test(tc, control_request_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
