/* test_eio_request: every outcome of eio_request_check and engine.io's exact error bodies. */
#include "eio_request.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

/** One request and the error it must get. */
typedef struct req_case {
    const char *method, *eio, *transport, *sid;
    bool websocket;
    eio_error want;
} req_case;

static const req_case k_cases[] = {
    /* accepted */
    {"GET", "4", "polling", NULL, false, EIO_ERR_NONE},
    {"GET", "4", "websocket", NULL, true, EIO_ERR_NONE},
    {"GET", "4", "polling", "abc", false, EIO_ERR_NONE},
    {"POST", "4", "polling", "abc", false, EIO_ERR_NONE},
    {"GET", "4", "websocket", "abc", true, EIO_ERR_NONE},
    /* 0: transport missing or unknown */
    {"GET", "4", NULL, NULL, false, EIO_ERR_TRANSPORT_UNKNOWN},
    {"GET", "4", "", NULL, false, EIO_ERR_TRANSPORT_UNKNOWN},
    {"GET", "4", "flashsocket", NULL, false, EIO_ERR_TRANSPORT_UNKNOWN},
    {"GET", "4", "webtransport", NULL, false, EIO_ERR_TRANSPORT_UNKNOWN},
    {"GET", "4", "Polling", NULL, false, EIO_ERR_TRANSPORT_UNKNOWN},
    {"GET", "4", "pollingx", NULL, false, EIO_ERR_TRANSPORT_UNKNOWN},
    {"GET", "4", "websocke", NULL, true, EIO_ERR_TRANSPORT_UNKNOWN},
    {"POST", "4", NULL, "abc", false, EIO_ERR_TRANSPORT_UNKNOWN},
    /* 5: EIO missing or not 4 */
    {"GET", NULL, "polling", NULL, false, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION},
    {"GET", "3", "polling", NULL, false, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION},
    {"GET", "5", "polling", NULL, false, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION},
    {"GET", "", "polling", NULL, false, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION},
    {"GET", "44", "polling", NULL, false, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION},
    {"GET", "4 ", "polling", NULL, false, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION},
    {"GET", "3", "websocket", NULL, true, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION},
    {"POST", "3", "polling", "abc", false, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION},
    /* 3: transport does not match how the request came */
    {"GET", "4", "websocket", NULL, false, EIO_ERR_BAD_REQUEST},
    {"GET", "4", "polling", NULL, true, EIO_ERR_BAD_REQUEST},
    {"GET", "4", "websocket", "abc", false, EIO_ERR_BAD_REQUEST},
    /* 2: a handshake (no sid) only by GET */
    {"POST", "4", "polling", NULL, false, EIO_ERR_BAD_HANDSHAKE_METHOD},
    {"PUT", "4", "polling", NULL, false, EIO_ERR_BAD_HANDSHAKE_METHOD},
    {"OPTIONS", "4", "polling", NULL, false, EIO_ERR_BAD_HANDSHAKE_METHOD},
    {"get", "4", "polling", NULL, false, EIO_ERR_BAD_HANDSHAKE_METHOD},
    {NULL, "4", "polling", NULL, false, EIO_ERR_BAD_HANDSHAKE_METHOD},
};

START_TEST(request_check_case)
{
    const req_case *c = &k_cases[_i];
    eio_request r = {c->method, c->eio, c->transport, c->sid, c->websocket};
    eio_error got = eio_request_check(&r);
    ck_assert_msg(got == c->want, "case %d (%s EIO=%s transport=%s sid=%s ws=%d): got %d, want %d",
                  _i, c->method ? c->method : "(null)", c->eio ? c->eio : "(null)",
                  c->transport ? c->transport : "(null)", c->sid ? c->sid : "(null)", c->websocket,
                  (int)got, (int)c->want);
}
END_TEST

static const struct {
    eio_error err;
    const char *message;
    const char *body;
    int status;
} k_errors[] = {
    {EIO_ERR_TRANSPORT_UNKNOWN, "Transport unknown",
     "{\"code\":0,\"message\":\"Transport unknown\"}", 400},
    {EIO_ERR_UNKNOWN_SID, "Session ID unknown", "{\"code\":1,\"message\":\"Session ID unknown\"}",
     400},
    {EIO_ERR_BAD_HANDSHAKE_METHOD, "Bad handshake method",
     "{\"code\":2,\"message\":\"Bad handshake method\"}", 400},
    {EIO_ERR_BAD_REQUEST, "Bad request", "{\"code\":3,\"message\":\"Bad request\"}", 400},
    {EIO_ERR_FORBIDDEN, "Forbidden", "{\"code\":4,\"message\":\"Forbidden\"}", 403},
    {EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version",
     "{\"code\":5,\"message\":\"Unsupported protocol version\"}", 400},
};

START_TEST(error_body_message_status)
{
    char out[128];
    memset(out, 'Z', sizeof out);
    int n = eio_error_body(k_errors[_i].err, out, (int)sizeof out);
    ck_assert_int_eq(n, (int)strlen(k_errors[_i].body));
    ck_assert_str_eq(out, k_errors[_i].body);
    ck_assert_str_eq(eio_error_message(k_errors[_i].err), k_errors[_i].message);
    ck_assert_int_eq(eio_error_status(k_errors[_i].err), k_errors[_i].status);
}
END_TEST

START_TEST(only_forbidden_is_403)
{
    for (int e = EIO_ERR_TRANSPORT_UNKNOWN; e <= EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION; e++)
        ck_assert_int_eq(eio_error_status((eio_error)e), e == EIO_ERR_FORBIDDEN ? 403 : 400);
}
END_TEST

static Suite *request_suite(void)
{
    Suite *s = suite_create("eio_request");
    TCase *tc = tcase_create("request");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, request_check_case, 0, (int)(sizeof k_cases / sizeof k_cases[0]));
    tcase_add_loop_test(tc, error_body_message_status, 0,
                        (int)(sizeof k_errors / sizeof k_errors[0]));
    tcase_add_test(tc, only_forbidden_is_403);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(request_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
