/* test_sio_nsp: the Socket.IO server model through the fake host (sio_fake_host.h): connecting
 * namespaces (auth, refusal, unknown namespace, connect timeout), disconnecting from either side,
 * parse errors closing the session, and handlers that close or disconnect re-entrantly. */
#include "sio_fake_host.h"

/* CONNECT                                                                                        */

START_TEST(connect_default_nsp)
{
    fx_init();
    fconn *a = open_conn();
    ck_assert_uint_eq(a->n_out, 0);
    sio_socket *s = connect_nsp(a, "/", NULL);
    ck_assert_uint_eq(a->n_out, 1);
    char want[128];
    snprintf(want, sizeof want, "40{\"sid\":\"%s\"}", sio_socket_id(s));
    expect_out(a, 0, want);
    ck_assert(!a->out[0].vol);

    /* The connect handler saw this socket and an empty auth object. */
    ck_assert_int_eq(H.n_connect, 1);
    ck_assert_str_eq(H.connect_sid, sio_socket_id(s));
    ck_assert_str_eq(H.connect_nsp, "/");
    expect_json(H.auth, "{}");
    expect_json(json_object_get(sio_socket_handshake(s), "auth"), "{}");

    ck_assert(sio_socket_nsp(s) == H.root);
    ck_assert(sio_socket_client(s) == a->c);
    ck_assert(sio_socket_connected(s));
    ck_assert_uint_eq(sio_nsp_size(H.root), 1);
    ck_assert_uint_eq(sio_socket_room_count(s), 1);
    ck_assert_ptr_null(sio_socket_userdata(s));
    sio_socket_set_userdata(s, &H);
    ck_assert(sio_socket_userdata(s) == &H);
    ck_assert(sio_socket_in_room(s, sio_socket_id(s)));

    /* Every socket gets an id of its own: another namespace of the same session, another
     * session, and a reconnect after a disconnect. */
    sio_socket *s2 = connect_nsp(a, "/chat", NULL);
    fconn *b = open_conn();
    sio_socket *s3 = connect_nsp(b, "/", NULL);
    char ids[4][SID_BUF];
    copy_str(ids[0], SID_BUF, sio_socket_id(s));
    copy_str(ids[1], SID_BUF, sio_socket_id(s2));
    copy_str(ids[2], SID_BUF, sio_socket_id(s3));
    feed(b, "41");
    ck_assert_uint_eq(sio_nsp_size(H.root), 1);
    sio_socket *s4 = connect_nsp(b, "/", NULL);
    copy_str(ids[3], SID_BUF, sio_socket_id(s4));
    for (int i = 0; i < 4; i++)
        for (int k = i + 1; k < 4; k++)
            ck_assert_str_ne(ids[i], ids[k]);
    ck_assert_int_eq(a->n_close + b->n_close, 0);
    fx_finish();
}
END_TEST

START_TEST(connect_custom_nsp_with_auth)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/chat", "{\"token\":1}");
    char want[128];
    snprintf(want, sizeof want, "40/chat,{\"sid\":\"%s\"}", sio_socket_id(s));
    expect_out(a, 0, want);
    ck_assert_str_eq(H.connect_nsp, "/chat");
    expect_json(H.auth, "{\"token\":1}");
    expect_json(json_object_get(sio_socket_handshake(s), "auth"), "{\"token\":1}");
    ck_assert(sio_socket_nsp(s) == H.chat);
    ck_assert_uint_eq(sio_nsp_size(H.chat), 1);
    ck_assert_uint_eq(sio_nsp_size(H.root), 0);

    /* "40/chat" with no comma is a whole CONNECT too; auth {} when none. */
    fconn *b = open_conn();
    feed(b, "40/chat");
    ck_assert_uint_eq(b->n_out, 1);
    char sid[SID_BUF];
    parse_sid(out_text(b, 0), "/chat", sid);
    expect_json(H.auth, "{}");
    ck_assert_uint_eq(sio_nsp_size(H.chat), 2);
    fx_finish();
}
END_TEST

START_TEST(connect_rejected)
{
    fx_init_timeout(5000);
    fconn *a = open_conn();
    H.connect_mode = C_REJECT;
    feed(a, "40/chat,{\"token\":2}");
    ck_assert_int_eq(H.n_connect, 1);
    ck_assert_uint_eq(a->n_out, 1); /* no CONNECT, no held emit */
    expect_out(a, 0, "44/chat,{\"message\":\"not authorized\",\"data\":{\"code\":42}}");
    ck_assert_uint_eq(sio_nsp_size(H.chat), 0);
    ck_assert(!sio_nsp_has_room(H.chat, "lobby"));
    ck_assert_uint_eq(nsp_room_total(H.chat), 0);
    ck_assert_int_eq(H.n_disc, 0); /* never connected: no disconnect */
    ck_assert_int_eq(a->n_close, 0);

    H.connect_mode = C_REJECT_NODATA;
    feed(a, "40");
    ck_assert_uint_eq(a->n_out, 2);
    expect_out(a, 1, "44{\"message\":\"go away\"}");
    ck_assert_uint_eq(sio_nsp_size(H.root), 0);

    /* A refused CONNECT does not count as a connected namespace for connectTimeout. */
    advance(5000);
    ck_assert_int_eq(a->n_close, 1);
    ck_assert_str_eq(a->close_reason, "forced close");
    close_conn(a, "forced close");
    ck_assert_int_eq(H.n_disc, 0);
    fx_finish();
}
END_TEST

/* An emit-with-ack made by a connect handler that then refuses: its callback still runs exactly
 * once (here: at the latest when its timeout passes), and nothing is left behind. */
START_TEST(connect_rejected_pending_ack)
{
    fx_init();
    fconn *a = open_conn();
    H.connect_mode = C_REJECT_PENDING_ACK;
    feed(a, "40");
    ck_assert_uint_eq(a->n_out, 1);
    expect_out(a, 0, "44{\"message\":\"no\"}");
    H.connect_mode = C_ACCEPT;
    advance(1000);
    ck_assert_msg(H.n_ack == 1, "ack callback ran %d times, want once", H.n_ack);
    ck_assert_ptr_null(H.ack[0].args);
    ck_assert_ptr_nonnull(H.ack[0].err);
    ck_assert_str_eq(H.ack[0].sid, H.connect_sid); /* called with the socket it was emitted on */
    fx_finish();
    ck_assert_int_eq(H.n_ack, 1);
}
END_TEST

START_TEST(connect_unknown_nsp)
{
    fx_init();
    fconn *a = open_conn();
    feed(a, "40/nope,");
    ck_assert_uint_eq(a->n_out, 1);
    expect_out(a, 0, "44/nope,{\"message\":\"Invalid namespace\"}");
    feed(a, "40/nope");
    ck_assert_uint_eq(a->n_out, 2);
    expect_out(a, 1, "44/nope,{\"message\":\"Invalid namespace\"}");
    ck_assert_int_eq(H.n_connect, 0);
    ck_assert_int_eq(a->n_close, 0);
    /* The session stays usable. */
    connect_nsp(a, "/", NULL);
    fx_finish();
}
END_TEST

START_TEST(connect_handler_emits_after_reply)
{
    fx_init();
    fconn *a = open_conn();
    H.connect_mode = C_EMIT;
    sio_socket *s = connect_nsp(a, "/", NULL);
    ck_assert_uint_eq(a->n_out, 4);
    char want[128];
    snprintf(want, sizeof want, "40{\"sid\":\"%s\"}", sio_socket_id(s));
    expect_out(a, 0, want);
    expect_out(a, 1, "42[\"hello\",1]");
    expect_out(a, 2, "451-[\"bin\",{\"_placeholder\":true,\"num\":0}]");
    const uint8_t b[] = {1, 2};
    expect_bin(a, 3, b, sizeof b);
    /* The room joined in the handler holds. */
    ck_assert(sio_socket_in_room(s, "lobby"));
    const char *lobby[] = {"lobby"};
    sio_bcast_opts o = {lobby, 1, NULL, 0, 0};
    ck_assert_int_eq(sio_nsp_emit(H.root, &o, "x", NULL), 1);
    expect_out(a, 4, "42[\"x\"]");

    /* Same on a custom namespace. */
    sio_socket *c = connect_nsp(a, "/chat", NULL);
    snprintf(want, sizeof want, "40/chat,{\"sid\":\"%s\"}", sio_socket_id(c));
    expect_out(a, 5, want);
    expect_out(a, 6, "42/chat,[\"hello\",1]");
    expect_out(a, 7, "451-/chat,[\"bin\",{\"_placeholder\":true,\"num\":0}]");
    expect_bin(a, 8, b, sizeof b);
    fx_finish();
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* connectTimeout                                                                                 */

START_TEST(connect_timeout_closes)
{
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    ck_assert_uint_eq(cfg.connect_timeout_ms, 45000);

    fx_init();
    fconn *a = open_conn();
    fconn *b = open_conn();
    feed(b, "40/nope,"); /* an unknown namespace does not count */
    advance(44999);
    ck_assert_int_eq(a->n_close, 0);
    ck_assert_int_eq(b->n_close, 0);
    advance(1);
    ck_assert_int_eq(a->n_close, 1);
    ck_assert_str_eq(a->close_reason, "forced close");
    ck_assert_int_eq(b->n_close, 1);
    ck_assert_str_eq(b->close_reason, "forced close");
    advance(200000);
    ck_assert_int_eq(a->n_close, 1);
    ck_assert_int_eq(b->n_close, 1);
    close_conn(a, "forced close");
    close_conn(b, "forced close");
    fx_finish();
}
END_TEST

/* The same with a host whose close reports sio_client_closed at once. */
START_TEST(connect_timeout_sync_host)
{
    fx_init_timeout(1000);
    H.close_sync = true;
    fconn *a = open_conn();
    advance(1000);
    ck_assert_int_eq(a->n_close, 1);
    ck_assert_str_eq(a->close_reason, "forced close");
    ck_assert(!a->open);
    advance(100000);
    ck_assert_int_eq(a->n_close, 1);
    fx_finish();
}
END_TEST

START_TEST(connect_before_timeout_cancels)
{
    fx_init_timeout(1000);
    fconn *a = open_conn();
    fconn *b = open_conn();
    advance(999);
    connect_nsp(a, "/", NULL);
    connect_nsp(b, "/bare", NULL);
    ck_assert_int_eq(armed_timers(), 0);
    advance(100000);
    ck_assert_int_eq(a->n_close, 0);
    ck_assert_int_eq(b->n_close, 0);
    fx_finish();
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Disconnects                                                                                    */

START_TEST(client_nsp_disconnect)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    sio_socket *c = connect_nsp(a, "/chat", NULL);
    char id[SID_BUF];
    copy_str(id, sizeof id, sio_socket_id(s));
    size_t k = a->n_out;
    feed(a, "41");
    ck_assert_int_eq(H.n_disc, 1);
    ck_assert_str_eq(H.disc[0].reason, "client namespace disconnect");
    ck_assert_str_eq(H.disc[0].reason, SIO_REASON_CLIENT_NSP_DISCONNECT);
    ck_assert_str_eq(H.disc[0].nsp, "/");
    ck_assert_str_eq(H.disc[0].sid, id);
    ck_assert_uint_eq(a->n_out, k); /* no reply */
    ck_assert_int_eq(a->n_close, 0);
    ck_assert_uint_eq(sio_nsp_size(H.root), 0);

    /* The other namespace of the session keeps working. */
    ck_assert_int_eq(sio_socket_emit(c, "still", NULL), 0);
    expect_out(a, k, "42/chat,[\"still\"]");
    feed(a, "41/chat,");
    ck_assert_int_eq(H.n_disc, 2);
    ck_assert_str_eq(H.disc[1].nsp, "/chat");
    ck_assert_str_eq(H.disc[1].reason, "client namespace disconnect");
    ck_assert_uint_eq(a->n_out, k + 1);
    ck_assert_int_eq(a->n_close, 0);

    /* And the session can connect again. */
    sio_socket *s2 = connect_nsp(a, "/", NULL);
    ck_assert_str_ne(sio_socket_id(s2), id);
    fx_finish();
}
END_TEST

START_TEST(server_disconnect_no_close)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    sio_socket *c = connect_nsp(a, "/chat", NULL);
    size_t k = a->n_out;
    sio_socket_disconnect(s, false);
    expect_out(a, k, "41");
    ck_assert_int_eq(H.n_disc, 1);
    ck_assert_str_eq(H.disc[0].reason, "server namespace disconnect");
    ck_assert_str_eq(H.disc[0].reason, SIO_REASON_SERVER_NSP_DISCONNECT);
    ck_assert_int_eq(a->n_close, 0);
    ck_assert_uint_eq(sio_nsp_size(H.root), 0);
    sio_socket_disconnect(c, false);
    expect_out(a, k + 1, "41/chat,");
    ck_assert_int_eq(H.n_disc, 2);
    ck_assert_uint_eq(a->n_out, k + 2);
    ck_assert_int_eq(a->n_close, 0);
    connect_nsp(a, "/", NULL);
    fx_finish();
}
END_TEST

START_TEST(server_disconnect_close)
{
    fx_init();
    fconn *a = open_conn();
    fconn *b = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    connect_nsp(a, "/chat", NULL);
    sio_socket *sb = connect_nsp(b, "/", NULL);
    size_t k = a->n_out, kb = b->n_out;
    sio_socket_disconnect(s, true);
    long i1 = find_out(a, k, "41"), i2 = find_out(a, k, "41/chat,");
    ck_assert_msg(i1 >= 0 && i2 >= 0, "a DISCONNECT for each namespace");
    ck_assert_uint_eq(a->n_out, k + 2);
    ck_assert_int_eq(a->n_close, 1);
    ck_assert_str_eq(a->close_reason, "forced close");
    ck_assert(a->close_seq > a->out[i1].seq && a->close_seq > a->out[i2].seq);
    ck_assert_int_eq(H.n_disc, 2);
    ck_assert_str_eq(H.disc[0].reason, "server namespace disconnect");
    ck_assert_str_eq(H.disc[1].reason, "server namespace disconnect");
    ck_assert_uint_eq(sio_nsp_size(H.chat), 0);
    ck_assert_uint_eq(sio_nsp_size(H.root), 1);
    ck_assert(sio_socket_connected(sb));
    ck_assert_uint_eq(b->n_out, kb);

    close_conn(a, "forced close");
    ck_assert_int_eq(H.n_disc, 2);
    fx_finish();
}
END_TEST

START_TEST(client_closed_reason)
{
    fx_init();
    fconn *a = open_conn();
    fconn *b = open_conn();
    connect_nsp(a, "/", NULL);
    connect_nsp(a, "/chat", NULL);
    connect_nsp(b, "/", NULL);
    size_t k = a->n_out;
    close_conn(a, "ping timeout");
    ck_assert_int_eq(H.n_disc, 2);
    ck_assert_str_eq(H.disc[0].reason, "ping timeout");
    ck_assert_str_eq(H.disc[1].reason, "ping timeout");
    ck_assert_uint_eq(a->n_out, k);
    ck_assert_int_eq(a->n_close, 0);
    ck_assert_uint_eq(sio_nsp_size(H.chat), 0);
    ck_assert_uint_eq(sio_nsp_size(H.root), 1);
    fx_finish();
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Malformed input                                                                                */

static void parse_errors(bool close_sync)
{
    fx_init();
    H.close_sync = close_sync;
    const char *bad[] = {
        "42\"notarray\"",
        "4x",
        "42[]",
        "42[1]",
        "47[\"ev\"]",
        "49",
        "42{\"a\":1}",
        "42[\"ev\"",
        "43[\"no id\"]",
        "4",
        "41[1]",
        "40\"x\"",
        "42x[\"ev\"]",
        "42[\"disconnect\",1]",
        "421[\"connect\"]",
        "451-[\"b\",{\"_placeholder\":true,\"num\":1}]",
    };
    size_t nbad = sizeof bad / sizeof bad[0];
    for (size_t i = 0; i < nbad; i++) {
        fconn *fc = open_conn();
        connect_nsp(fc, "/", NULL);
        size_t k = fc->n_out;
        int disc = H.n_disc;
        feed(fc, bad[i]);
        ck_assert_msg(fc->n_close == 1, "%s: %d host close calls", bad[i], fc->n_close);
        ck_assert_msg(strcmp(fc->close_reason, "parse error") == 0, "%s: closed with %s", bad[i],
                      fc->close_reason);
        ck_assert_msg(H.n_ev == 0, "%s: a handler ran", bad[i]);
        /* The disconnect handler runs once the host reports the close (at once, if sync). */
        ck_assert_int_eq(H.n_disc, close_sync ? disc + 1 : disc);
        ck_assert_uint_eq(fc->n_out, k);
        if (!close_sync)
            close_conn(fc, "parse error");
        ck_assert(!fc->open);
        ck_assert_int_eq(H.n_disc, disc + 1);
        ck_assert_str_eq(H.disc[disc].reason, "parse error");
    }

    /* Before any CONNECT. */
    fconn *fc = open_conn();
    feed(fc, "4x");
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "parse error");
    if (!close_sync)
        close_conn(fc, "parse error");

    /* A binary message nobody waits for; text while an attachment is awaited. */
    fc = open_conn();
    connect_nsp(fc, "/", NULL);
    feed_bin(fc, "x", 1);
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "parse error");
    if (!close_sync)
        close_conn(fc, "parse error");
    fc = open_conn();
    connect_nsp(fc, "/", NULL);
    feed(fc, "451-[\"b\",{\"_placeholder\":true,\"num\":0}]");
    ck_assert_int_eq(fc->n_close, 0);
    feed(fc, "42[\"x\"]");
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "parse error");
    ck_assert_int_eq(H.n_ev, 0);
    if (!close_sync)
        close_conn(fc, "parse error");

    /* A CONNECT_ERROR is server-to-client only: no handler sees it; if the session is closed for
     * it, that is a parse error (this closes from inside the dispatch). */
    fc = open_conn();
    connect_nsp(fc, "/", NULL);
    int disc = H.n_disc;
    feed(fc, "44{\"message\":\"x\"}");
    ck_assert_int_eq(H.n_ev, 0);
    ck_assert_int_le(fc->n_close, 1);
    if (fc->n_close)
        ck_assert_str_eq(fc->close_reason, "parse error");
    else
        ck_assert_int_eq(H.n_disc, disc);
    fx_finish();
}

START_TEST(parse_errors_close)
{
    parse_errors(false);
}
END_TEST

START_TEST(parse_errors_close_sync_host)
{
    parse_errors(true);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Re-entrancy                                                                                    */

static void handler_closes_own_session(bool close_sync)
{
    fx_init();
    H.close_sync = close_sync;
    fconn *a = open_conn();
    fconn *b = open_conn();
    connect_nsp(a, "/", NULL);
    connect_nsp(a, "/chat", NULL);
    sio_socket *sb = connect_nsp(b, "/", NULL);
    size_t k = a->n_out;
    H.ev_action = E_DISCONNECT_CLOSE;
    H.ack_mode = A_SEND;
    H.emit_after_rc = 99;
    feed(a, "421[\"boom\"]");
    ck_assert_int_eq(H.n_ev, 1);
    ck_assert_int_eq(H.emit_after_rc, -1);
    ck_assert_int_eq(H.n_disc, 2);
    ck_assert_str_eq(H.disc[0].reason, "server namespace disconnect");
    ck_assert_str_eq(H.disc[1].reason, "server namespace disconnect");
    ck_assert_uint_eq(a->n_out, k + 2); /* the two DISCONNECTs, no ACK */
    ck_assert(find_out(a, k, "41") >= 0);
    ck_assert(find_out(a, k, "41/chat,") >= 0);
    ck_assert_int_eq(a->n_close, 1);
    ck_assert_str_eq(a->close_reason, "forced close");
    ck_assert(a->open != close_sync);
    if (a->open)
        close_conn(a, "forced close");
    ck_assert_int_eq(H.n_disc, 2);
    ck_assert(sio_socket_connected(sb));
    ck_assert_int_eq(b->n_close, 0);

    /* The same from a handler that only leaves its namespace. */
    H.ev_action = E_DISCONNECT;
    k = b->n_out;
    feed(b, "427[\"boom\"]");
    ck_assert_int_eq(H.n_disc, 3);
    ck_assert_int_eq(H.emit_after_rc, -1);
    ck_assert_uint_eq(b->n_out, k + 1);
    expect_out(b, k, "41");
    ck_assert_int_eq(b->n_close, 0);
    fx_finish();
}

START_TEST(reentrant_handler_closes_own_session)
{
    handler_closes_own_session(false);
}
END_TEST

START_TEST(reentrant_handler_closes_own_session_sync_host)
{
    handler_closes_own_session(true);
}
END_TEST

/* A connect handler that closes its own session (through another socket of it) with a host that
 * reports the close at once: the new socket is not connected and nothing goes out after the close. */
START_TEST(reentrant_connect_handler_closes_session)
{
    fx_init();
    H.close_sync = true;
    fconn *a = open_conn();
    sio_socket *s1 = connect_nsp(a, "/", NULL);
    copy_str(H.disc_target, sizeof H.disc_target, sio_socket_id(s1));
    size_t k = a->n_out;
    H.connect_mode = C_CLOSE_TARGET;
    feed(a, "40/chat,");
    ck_assert_int_eq(a->n_close, 1);
    ck_assert_str_eq(a->close_reason, "forced close");
    ck_assert(!a->open);
    ck_assert_uint_eq(a->n_out, k + 1);
    expect_out(a, k, "41");
    ck_assert_int_eq(H.n_disc, 1);
    ck_assert_uint_eq(sio_nsp_size(H.root), 0);
    ck_assert_uint_eq(sio_nsp_size(H.chat), 0);
    ck_assert_uint_eq(nsp_room_total(H.chat), 0);
    fx_finish();
}
END_TEST

/* While a closed session tears down, a disconnect handler disconnects (close = true) the session's
 * other socket: the host is not asked to close (or send on) the session it reported closed. */
START_TEST(reentrant_disconnect_on_closing_session)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s1 = connect_nsp(a, "/", NULL);
    connect_nsp(a, "/chat", NULL);
    size_t k = a->n_out;
    H.disc_mode = D_DISCONNECT_TARGET;
    H.disc_target_close = true;
    copy_str(H.disc_target, sizeof H.disc_target, sio_socket_id(s1));
    /* Whichever socket goes first, the other one is the target or is left to the teardown. */
    a->open = false;
    sio_client_closed(a->c, "transport close");
    ck_assert_int_eq(H.n_disc, 2);
    ck_assert_uint_eq(sio_nsp_size(H.root), 0);
    ck_assert_uint_eq(sio_nsp_size(H.chat), 0);
    ck_assert_uint_eq(a->n_out, k);
    ck_assert_msg(a->n_close + a->late_close == 0,
                  "host close called %d time(s) for a session already reported closed",
                  a->n_close + a->late_close);
    fx_finish();
}
END_TEST

START_TEST(reentrant_disconnect_handler_emits)
{
    fx_init();
    fconn *fc[5];
    sio_socket *s[5];
    open_n(5, fc, s);
    char id0[SID_BUF];
    copy_str(id0, sizeof id0, sio_socket_id(s[0]));
    H.disc_mode = D_EMIT_OTHERS;
    size_t k[5];
    for (int i = 0; i < 5; i++)
        k[i] = fc[i]->n_out;

    feed(fc[0], "41");
    ck_assert_int_eq(H.n_disc, 1);
    ck_assert_int_eq(H.disc_emit_rc, 4);
    char want[128];
    snprintf(want, sizeof want, "42[\"left\",\"%s\"]", id0);
    ck_assert_uint_eq(fc[0]->n_out, k[0]);
    for (int i = 1; i < 5; i++)
        expect_out(fc[i], k[i], want);

    close_conn(fc[1], "transport error");
    ck_assert_int_eq(H.n_disc, 2);
    ck_assert_int_eq(H.disc_emit_rc, 3);

    /* A disconnect handler that disconnects another socket. */
    H.disc_mode = D_DISCONNECT_TARGET;
    copy_str(H.disc_target, sizeof H.disc_target, sio_socket_id(s[3]));
    size_t k3 = fc[3]->n_out;
    sio_socket_disconnect(s[2], true);
    ck_assert_int_eq(H.n_disc, 4);
    ck_assert_str_eq(H.disc[3].reason, "server namespace disconnect");
    expect_out(fc[3], k3, "41");
    ck_assert_int_eq(fc[3]->n_close, 0);
    ck_assert_int_eq(fc[2]->n_close, 1);
    close_conn(fc[2], "forced close");

    /* Everything at once, while each disconnect broadcasts to the rest. */
    H.disc_mode = D_EMIT_OTHERS;
    fconn *more[3];
    sio_socket *ms[3];
    open_n(3, more, ms);
    sio_nsp_disconnect_sockets(H.root, NULL, false);
    ck_assert_uint_eq(sio_nsp_size(H.root), 0);
    ck_assert_int_eq(H.n_disc, 8);
    H.disc_mode = D_EMIT_OTHERS;
    for (int i = 0; i < 3; i++)
        connect_nsp(more[i], "/", NULL);
    fx_finish(); /* closes the sessions while disconnect handlers broadcast */
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("sio_nsp");
    TCase *tc;
    tc = tcase_create("connect");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, connect_default_nsp);
    tcase_add_test(tc, connect_custom_nsp_with_auth);
    tcase_add_test(tc, connect_rejected);
    tcase_add_test(tc, connect_rejected_pending_ack);
    tcase_add_test(tc, connect_unknown_nsp);
    tcase_add_test(tc, connect_handler_emits_after_reply);
    tcase_add_test(tc, connect_timeout_closes);
    tcase_add_test(tc, connect_timeout_sync_host);
    tcase_add_test(tc, connect_before_timeout_cancels);
    suite_add_tcase(s, tc);

    tc = tcase_create("disconnect");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, client_nsp_disconnect);
    tcase_add_test(tc, server_disconnect_no_close);
    tcase_add_test(tc, server_disconnect_close);
    tcase_add_test(tc, client_closed_reason);
    tcase_add_test(tc, parse_errors_close);
    tcase_add_test(tc, parse_errors_close_sync_host);
    suite_add_tcase(s, tc);

    tc = tcase_create("reentrancy");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, reentrant_handler_closes_own_session);
    tcase_add_test(tc, reentrant_handler_closes_own_session_sync_host);
    tcase_add_test(tc, reentrant_disconnect_handler_emits);
    tcase_add_test(tc, reentrant_disconnect_on_closing_session);
    tcase_add_test(tc, reentrant_connect_handler_closes_session);
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
