/* test_sio_acks: the Socket.IO server model through the fake host (sio_fake_host.h): events to
 * per-event handlers and the catch-all, binary arguments, acks from the client and to it (answers,
 * timeouts, disconnects first), and the emit forms. */
#include "sio_fake_host.h"

/* ---------------------------------------------------------------------------------------------- */
/* Client events                                                                                  */

START_TEST(event_handler_vs_catch_all)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    sio_socket *c = connect_nsp(a, "/chat", NULL);
    size_t sent_before = a->n_out;

    feed(a, "42[\"chat\",\"hi\",2]");
    ck_assert_int_eq(H.n_ev, 1);
    ck_assert_str_eq(H.ev[0].via, "event");
    ck_assert_str_eq(H.ev[0].event, "chat");
    ck_assert_str_eq(H.ev[0].sid, sio_socket_id(s));
    expect_json(H.ev[0].args, "[\"hi\",2]");
    ck_assert(!H.ev[0].had_ack);

    feed(a, "42[\"other\",{\"a\":1}]");
    ck_assert_int_eq(H.n_ev, 2);
    ck_assert_str_eq(H.ev[1].via, "any");
    ck_assert_str_eq(H.ev[1].event, "other");
    expect_json(H.ev[1].args, "[{\"a\":1}]");

    feed(a, "42[\"noargs\"]");
    ck_assert_int_eq(H.n_ev, 3);
    expect_json(H.ev[2].args, "[]");

    /* "chat" has a handler on / only. */
    feed(a, "42/chat,[\"chat\",null,[1,2]]");
    ck_assert_int_eq(H.n_ev, 4);
    ck_assert_str_eq(H.ev[3].via, "any");
    ck_assert_str_eq(H.ev[3].nsp, "/chat");
    ck_assert_str_eq(H.ev[3].sid, sio_socket_id(c));
    expect_json(H.ev[3].args, "[null,[1,2]]");

    /* An event for a namespace the session is not connected to reaches nobody. */
    feed(a, "42/bare,[\"x\"]");
    ck_assert_int_eq(H.n_ev, 4);
    ck_assert_uint_eq(a->n_out, sent_before);
    ck_assert_int_eq(a->n_close, 0);
    fx_finish();
}
END_TEST

START_TEST(event_binary_args)
{
    fx_init();
    fconn *a = open_conn();
    connect_nsp(a, "/", NULL);
    connect_nsp(a, "/chat", NULL);

    feed(a, "451-[\"b\",{\"_placeholder\":true,\"num\":0}]");
    ck_assert_int_eq(H.n_ev, 0); /* waits for its attachment */
    const uint8_t b3[] = {1, 2, 3};
    feed_bin(a, b3, sizeof b3);
    ck_assert_int_eq(H.n_ev, 1);
    ck_assert_str_eq(H.ev[0].event, "b");
    ck_assert_uint_eq(json_array_size(H.ev[0].args), 1);
    json_t *v = json_array_get(H.ev[0].args, 0);
    ck_assert(sio_is_binary(v));
    size_t n = 0;
    const uint8_t *p = sio_binary_data(v, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert(memcmp(p, b3, 3) == 0);

    /* Two attachments, nested, out of order. */
    feed(
        a,
        "452-[\"b2\",{\"x\":{\"_placeholder\":true,\"num\":1}},{\"_placeholder\":true,\"num\":0}]");
    feed_bin(a, "A", 1);
    ck_assert_int_eq(H.n_ev, 1);
    feed_bin(a, "BB", 2);
    ck_assert_int_eq(H.n_ev, 2);
    json_t *x = json_object_get(json_array_get(H.ev[1].args, 0), "x");
    ck_assert(sio_is_binary(x));
    p = sio_binary_data(x, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(p, "BB", 2) == 0);
    json_t *y = json_array_get(H.ev[1].args, 1);
    ck_assert(sio_is_binary(y));
    p = sio_binary_data(y, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert(memcmp(p, "A", 1) == 0);

    /* Binary event with an ack id on another namespace. */
    H.ack_mode = A_SEND;
    size_t before = a->n_out;
    feed(a, "451-/chat,9[\"b\",{\"_placeholder\":true,\"num\":0}]");
    feed_bin(a, "", 0);
    ck_assert_int_eq(H.n_ev, 3);
    ck_assert(H.ev[2].had_ack);
    ck_assert(sio_is_binary(json_array_get(H.ev[2].args, 0)));
    ck_assert_uint_eq(a->n_out, before + 1);
    expect_out(a, before, "43/chat,9[\"ok\"]");
    ck_assert_int_eq(a->n_close, 0);
    fx_finish();
}
END_TEST

START_TEST(event_ack_reply)
{
    fx_init();
    fconn *a = open_conn();
    connect_nsp(a, "/", NULL);
    connect_nsp(a, "/chat", NULL);
    size_t k = a->n_out;

    H.ack_mode = A_SEND;
    feed(a, "421[\"ev\",1]");
    ck_assert_int_eq(H.n_ev, 1);
    ck_assert(H.ev[0].had_ack);
    expect_json(H.ev[0].args, "[1]");
    expect_out(a, k++, "431[\"ok\"]");

    feed(a, "425[\"chat\"]"); /* per-event handler */
    ck_assert_str_eq(H.ev[1].via, "event");
    expect_out(a, k++, "435[\"ok\"]");

    feed(a, "42/chat,7[\"ev\"]");
    expect_out(a, k++, "43/chat,7[\"ok\"]");

    H.ack_mode = A_SEND_NULL;
    feed(a, "4212[\"ev\"]");
    expect_out(a, k++, "4312[]");
    ck_assert_uint_eq(a->n_out, k);
    fx_finish();
}
END_TEST

START_TEST(event_ack_binary)
{
    fx_init();
    fconn *a = open_conn();
    connect_nsp(a, "/", NULL);
    connect_nsp(a, "/chat", NULL);
    size_t k = a->n_out;
    const uint8_t b[] = {9, 8, 7};

    H.ack_mode = A_SEND_BINARY;
    feed(a, "425[\"ev\"]");
    expect_out(a, k++, "461-5[{\"_placeholder\":true,\"num\":0}]");
    expect_bin(a, k++, b, sizeof b);
    feed(a, "42/chat,6[\"ev\"]");
    expect_out(a, k++, "461-/chat,6[{\"_placeholder\":true,\"num\":0}]");
    expect_bin(a, k++, b, sizeof b);
    ck_assert_uint_eq(a->n_out, k);
    fx_finish();
}
END_TEST

START_TEST(event_ack_without_handler)
{
    fx_init();
    fconn *a = open_conn();
    connect_nsp(a, "/bare", NULL);
    size_t k = a->n_out;
    feed(a, "42/bare,3[\"unknown\"]");
    feed(a, "42/bare,[\"unknown\"]");
    ck_assert_uint_eq(a->n_out, k);
    ck_assert_int_eq(H.n_ev, 0);
    ck_assert_int_eq(a->n_close, 0);
    fx_finish();
}
END_TEST

START_TEST(ack_drop_and_deferred)
{
    fx_init();
    fconn *a = open_conn();
    connect_nsp(a, "/", NULL);
    size_t k = a->n_out;

    H.ack_mode = A_DROP;
    feed(a, "421[\"ev\"]");
    ck_assert_int_eq(H.n_ev, 1);
    ck_assert_uint_eq(a->n_out, k);
    sio_ack_drop(NULL);

    /* A handle kept past the handler answers later. */
    H.ack_mode = A_KEEP;
    feed(a, "422[\"ev\"]");
    ck_assert_ptr_nonnull(H.kept_ack);
    ck_assert_uint_eq(a->n_out, k);
    sio_ack_send(H.kept_ack, json_pack("[s]", "later"));
    H.kept_ack = NULL;
    expect_out(a, k++, "432[\"later\"]");

    /* After the socket left, the reply goes nowhere (and the handle is still released). */
    feed(a, "423[\"ev\"]");
    ck_assert_ptr_nonnull(H.kept_ack);
    feed(a, "41");
    ck_assert_int_eq(H.n_disc, 1);
    sio_ack_send(H.kept_ack, json_pack("[s]", "too late"));
    H.kept_ack = NULL;
    ck_assert_uint_eq(a->n_out, k);

    /* Same with a session that closed. */
    connect_nsp(a, "/", NULL);
    k = a->n_out;
    feed(a, "424[\"ev\"]");
    ck_assert_ptr_nonnull(H.kept_ack);
    close_conn(a, "transport close");
    sio_ack_send(H.kept_ack, json_pack("[s]", "too late"));
    H.kept_ack = NULL;
    ck_assert_uint_eq(a->n_out, k);
    fx_finish();
}
END_TEST

START_TEST(socket_emit_forms)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    sio_socket *c = connect_nsp(a, "/chat", NULL);
    size_t k = a->n_out;
    ck_assert_int_eq(sio_socket_emit(s, "e", NULL), 0);
    expect_out(a, k++, "42[\"e\"]");
    ck_assert(!a->out[k - 1].vol);
    ck_assert_int_eq(sio_socket_emit(c, "e", json_pack("[i,s,{s:b}]", 1, "two", "k", 1)), 0);
    expect_out(a, k++, "42/chat,[\"e\",1,\"two\",{\"k\":true}]");
    const uint8_t b[] = {0xde, 0xad, 0xbe, 0xef};
    ck_assert_int_eq(sio_socket_emit(s, "f", json_pack("[s,o]", "x", sio_binary_new(b, 4))), 0);
    expect_out(a, k++, "451-[\"f\",\"x\",{\"_placeholder\":true,\"num\":0}]");
    expect_bin(a, k++, b, 4);
    ck_assert_uint_eq(a->n_out, k);
    fx_finish();
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Server acks                                                                                    */

START_TEST(server_ack_answered)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    sio_socket *c = connect_nsp(a, "/chat", NULL);
    char sid[SID_BUF];
    copy_str(sid, sizeof sid, sio_socket_id(s));

    ck_assert_int_eq(sio_socket_emit_ack(s, "q", json_pack("[i]", 1), 5000, on_ack, &H.ack), 0);
    int64_t id = ack_id_of(last_text(a), "42");
    char want[128];
    snprintf(want, sizeof want, "42%" PRId64 "[\"q\",1]", id);
    ck_assert_str_eq(last_text(a), want);
    ck_assert_int_eq(H.n_ack, 0);

    char ans[128];
    snprintf(ans, sizeof ans, "43%" PRId64 "[\"a\",2]", id);
    feed(a, ans);
    ck_assert_int_eq(H.n_ack, 1);
    ck_assert_str_eq(H.ack[0].sid, sid);
    ck_assert_ptr_null(H.ack[0].err);
    expect_json(H.ack[0].args, "[\"a\",2]");
    advance(10000);
    feed(a, ans); /* a duplicate answer is ignored */
    ck_assert_int_eq(H.n_ack, 1);

    /* Ids differ between pending acks; /chat; an empty answer gives []; no timeout. */
    ck_assert_int_eq(sio_socket_emit_ack(s, "q1", NULL, 0, on_ack, &H.ack), 0);
    int64_t id1 = ack_id_of(last_text(a), "42");
    ck_assert_int_eq(sio_socket_emit_ack(c, "q2", NULL, 1000, on_ack, &H.ack), 0);
    int64_t id2 = ack_id_of(last_text(a), "42/chat,");
    ck_assert_int_eq(sio_socket_emit_ack(s, "q3", NULL, 1000, on_ack, &H.ack), 0);
    int64_t id3 = ack_id_of(last_text(a), "42");
    ck_assert(id1 != id3);
    ck_assert(id1 != id);
    snprintf(ans, sizeof ans, "43/chat,%" PRId64 "[]", id2);
    feed(a, ans);
    ck_assert_int_eq(H.n_ack, 2);
    expect_json(H.ack[1].args, "[]");
    snprintf(ans, sizeof ans, "43%" PRId64 "[3]", id3);
    feed(a, ans);
    snprintf(ans, sizeof ans, "43%" PRId64 "[1]", id1);
    feed(a, ans);
    ck_assert_int_eq(H.n_ack, 4);
    expect_json(H.ack[2].args, "[3]");
    expect_json(H.ack[3].args, "[1]");
    ck_assert_int_eq(armed_timers(), 0);

    /* A binary answer. */
    ck_assert_int_eq(sio_socket_emit_ack(s, "q4", NULL, 1000, on_ack, &H.ack), 0);
    int64_t id4 = ack_id_of(last_text(a), "42");
    snprintf(ans, sizeof ans, "461-%" PRId64 "[{\"_placeholder\":true,\"num\":0}]", id4);
    feed(a, ans);
    ck_assert_int_eq(H.n_ack, 4);
    feed_bin(a, "\x01", 1);
    ck_assert_int_eq(H.n_ack, 5);
    ck_assert(sio_is_binary(json_array_get(H.ack[4].args, 0)));
    ck_assert_int_eq(armed_timers(), 0);
    ck_assert_int_eq(a->n_close, 0);
    fx_finish();
}
END_TEST

START_TEST(server_ack_timeout)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    ck_assert_int_eq(sio_socket_emit_ack(s, "q", NULL, 5000, on_ack, &H.ack), 0);
    int64_t id = ack_id_of(last_text(a), "42");
    advance(4999);
    ck_assert_int_eq(H.n_ack, 0);
    advance(1);
    ck_assert_int_eq(H.n_ack, 1);
    ck_assert_ptr_null(H.ack[0].args);
    ck_assert_str_eq(H.ack[0].err, "operation has timed out");
    ck_assert_str_eq(H.ack[0].sid, sio_socket_id(s));

    char ans[64];
    snprintf(ans, sizeof ans, "43%" PRId64 "[\"late\"]", id);
    feed(a, ans);
    advance(100000);
    ck_assert_int_eq(H.n_ack, 1);
    ck_assert_int_eq(a->n_close, 0);
    ck_assert(sio_socket_connected(s));
    fx_finish();
    /* The socket disconnecting later does not call it again. */
    ck_assert_int_eq(H.n_ack, 1);
}
END_TEST

START_TEST(server_ack_disconnect_first)
{
    fx_init();
    fconn *a = open_conn();
    fconn *b = open_conn();
    fconn *c = open_conn();
    sio_socket *sa = connect_nsp(a, "/", NULL);
    sio_socket *sb = connect_nsp(b, "/", NULL);
    sio_socket *sc = connect_nsp(c, "/", NULL);

    ck_assert_int_eq(sio_socket_emit_ack(sa, "q", NULL, 5000, on_ack, &H.ack), 0);
    int64_t id = ack_id_of(last_text(a), "42");
    feed(a, "41");
    ck_assert_int_eq(H.n_ack, 1);
    ck_assert_ptr_null(H.ack[0].args);
    ck_assert_str_eq(H.ack[0].err, "client namespace disconnect");
    char ans[64];
    snprintf(ans, sizeof ans, "43%" PRId64 "[1]", id);
    feed(a, ans); /* late answer for a socket that left */
    advance(10000);
    ck_assert_int_eq(H.n_ack, 1);

    ck_assert_int_eq(sio_socket_emit_ack(sb, "q", NULL, 0, on_ack, &H.ack), 0);
    close_conn(b, "transport close");
    ck_assert_int_eq(H.n_ack, 2);
    ck_assert_str_eq(H.ack[1].err, "transport close");

    ck_assert_int_eq(sio_socket_emit_ack(sc, "q", NULL, 5000, on_ack, &H.ack), 0);
    sio_socket_disconnect(sc, false);
    ck_assert_int_eq(H.n_ack, 3);
    ck_assert_str_eq(H.ack[2].err, "server namespace disconnect");
    advance(10000);
    ck_assert_int_eq(H.n_ack, 3);
    ck_assert_int_eq(armed_timers(), 0);
    fx_finish();
    ck_assert_int_eq(H.n_ack, 3);
}
END_TEST

/* An ack callback that disconnects its socket: the socket's other pending ack fires with the
 * disconnect reason, once. */
START_TEST(server_ack_callback_disconnects)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    ck_assert_int_eq(sio_socket_emit_ack(s, "q1", NULL, 5000, on_ack, &H.ack), 0);
    int64_t id1 = ack_id_of(last_text(a), "42");
    ck_assert_int_eq(sio_socket_emit_ack(s, "q2", NULL, 5000, on_ack, &H.ack), 0);
    H.ack_cb_action = AC_DISCONNECT;
    char ans[64];
    snprintf(ans, sizeof ans, "43%" PRId64 "[]", id1);
    feed(a, ans);
    ck_assert_int_eq(H.n_ack, 2);
    ck_assert_ptr_null(H.ack[0].err);
    ck_assert_str_eq(H.ack[1].err, "server namespace disconnect");
    ck_assert_int_eq(H.n_disc, 1);
    expect_out(a, a->n_out - 1, "41");
    advance(10000);
    ck_assert_int_eq(H.n_ack, 2);
    fx_finish();
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("sio_acks");
    TCase *tc;
    tc = tcase_create("events");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, event_handler_vs_catch_all);
    tcase_add_test(tc, event_binary_args);
    tcase_add_test(tc, event_ack_reply);
    tcase_add_test(tc, event_ack_binary);
    tcase_add_test(tc, event_ack_without_handler);
    tcase_add_test(tc, ack_drop_and_deferred);
    tcase_add_test(tc, socket_emit_forms);
    suite_add_tcase(s, tc);

    tc = tcase_create("server_acks");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, server_ack_answered);
    tcase_add_test(tc, server_ack_timeout);
    tcase_add_test(tc, server_ack_disconnect_first);
    tcase_add_test(tc, server_ack_callback_disconnects);
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
