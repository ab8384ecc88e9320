/* test_sio_connect_async: deferred connects (sio_socket_defer_connect, sio_socket_accept,
 * sio_socket_refuse, sio_socket_refuse_close) through a fake host with a manual clock: nothing
 * reaches the client or the handlers before the answer, the client going first, answers after it
 * went, the session's connect timeout. */
#include "sio_server.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OUT 32
#define MAX_CONNS 4

typedef struct fconn {
    sio_client *c;
    bool open;
    char *out[MAX_OUT]; /**< wire text of each message sent ("4" + packet) */
    int n_out;
    int n_close;
    const char *close_reason;
} fconn;

typedef struct ftimer {
    struct ftimer *next;
    uint64_t at;
    void (*cb)(void *);
    void *arg;
    bool armed;
} ftimer;

enum { M_DEFER, M_DEFER_EMIT, M_DEFER_TWICE, M_DEFER_CLOSE_SYNC };

static struct {
    uint64_t now;
    ftimer *timers;
    sio_server *srv;
    sio_nsp *chat;
    fconn conns[MAX_CONNS];
    int n_conns;
    bool close_sync; /**< host close calls sio_client_closed at once */
    int mode;
    sio_socket *deferred; /**< the socket whose connect was deferred */
    int defer_rc, defer_again_rc;
    int n_connect, n_event, n_disc;
    char disc_reason[64];
    bool disc_connected;
    int bad;
} H;

static int host_send(void *conn, eio_msg *m, bool volatile_, void *host)
{
    (void)volatile_;
    fconn *fc = conn;
    if (host != &H || !fc->open || fc->n_out == MAX_OUT) {
        H.bad++;
        return -1;
    }
    char *t = malloc(m->len + 1);
    memcpy(t, m->wire, m->len);
    t[m->len] = '\0';
    fc->out[fc->n_out++] = t;
    return 0;
}

static void host_close(void *conn, const char *reason, void *host)
{
    fconn *fc = conn;
    if (host != &H || !fc->open) {
        H.bad++;
        return;
    }
    fc->n_close++;
    fc->close_reason = reason;
    if (H.close_sync) {
        fc->open = false;
        sio_client_closed(fc->c, reason);
    }
}

static uint64_t host_now(void *host)
{
    (void)host;
    return H.now;
}

static void *host_timer_start(void *host, uint64_t delay_ms, void (*cb)(void *), void *arg)
{
    (void)host;
    ftimer *t = calloc(1, sizeof *t);
    t->at = H.now + delay_ms;
    t->cb = cb;
    t->arg = arg;
    t->armed = true;
    t->next = H.timers;
    H.timers = t;
    return t;
}

static void host_timer_cancel(void *host, void *timer)
{
    (void)host;
    ftimer *t = timer;
    if (!t->armed)
        H.bad++;
    t->armed = false;
}

static const sio_host_ops k_ops = {host_send, host_close, host_now, host_timer_start,
                                   host_timer_cancel};

static void advance(uint64_t ms)
{
    H.now += ms;
    for (ftimer *t = H.timers; t; t = t->next) {
        if (t->armed && t->at <= H.now) {
            t->armed = false;
            t->cb(t->arg);
        }
    }
}

static bool on_connect(sio_socket *s, const json_t *auth, sio_reject *rej, void *ud)
{
    (void)auth;
    (void)rej;
    (void)ud;
    H.n_connect++;
    H.deferred = s;
    H.defer_rc = sio_socket_defer_connect(s);
    switch (H.mode) {
    case M_DEFER_EMIT:
        sio_socket_emit(s, "welcome", json_pack("[i]", 7));
        sio_socket_join(s, "lobby");
        break;
    case M_DEFER_TWICE: H.defer_again_rc = sio_socket_defer_connect(s); break;
    case M_DEFER_CLOSE_SYNC:
        sio_socket_disconnect(s, true); /* not connected: nothing */
        break;
    default: break;
    }
    return false; /* ignored once deferred */
}

static void on_any(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)event;
    (void)args;
    (void)ud;
    H.n_event++;
    sio_ack_drop(ack);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    H.n_disc++;
    snprintf(H.disc_reason, sizeof H.disc_reason, "%s", reason);
    H.disc_connected = sio_socket_connected(s);
}

static void setup(void)
{
    memset(&H, 0, sizeof H);
    H.now = 1000;
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    cfg.connect_timeout_ms = 5000;
    H.srv = sio_server_new(&cfg, &k_ops, &H);
    const sio_nsp_handlers h = {on_connect, on_disconnect, on_any};
    H.chat = sio_server_of(H.srv, "/chat", &h, NULL);
}

static fconn *open_conn(void)
{
    fconn *fc = &H.conns[H.n_conns++];
    fc->open = true;
    sio_handshake_info hs = {.address = "127.0.0.1", .url = "/socket.io/", .issued_ms = 1};
    fc->c = sio_client_open(H.srv, fc, &hs);
    return fc;
}

static void feed(fconn *fc, const char *packet)
{
    sio_client_message(fc->c, (const uint8_t *)packet, strlen(packet), false);
}

static void close_conn(fconn *fc)
{
    fc->open = false;
    sio_client_closed(fc->c, "transport close");
}

static void teardown(void)
{
    for (int i = 0; i < H.n_conns; i++)
        if (H.conns[i].open)
            close_conn(&H.conns[i]);
    sio_server_free(H.srv);
    while (H.timers) {
        ftimer *t = H.timers;
        H.timers = t->next;
        free(t);
    }
    for (int i = 0; i < H.n_conns; i++)
        for (int k = 0; k < H.conns[i].n_out; k++)
            free(H.conns[i].out[k]);
    ck_assert_int_eq(H.bad, 0);
}

/* The id in a CONNECT reply "40/chat,{"sid":"..."}". */
static void reply_sid(const char *wire, char *out, size_t cap)
{
    const char *p = strstr(wire, "\"sid\":\"");
    ck_assert_ptr_nonnull(p);
    p += 7;
    size_t n = strcspn(p, "\"");
    ck_assert_uint_lt(n, cap);
    memcpy(out, p, n);
    out[n] = '\0';
}

START_TEST(accept_sends_connect_then_held)
{
    setup();
    H.mode = M_DEFER_EMIT;
    fconn *fc = open_conn();
    feed(fc, "0/chat,{\"token\":\"t\"}");
    ck_assert_int_eq(H.n_connect, 1);
    ck_assert_int_eq(H.defer_rc, 0);
    ck_assert_int_eq(fc->n_out, 0); /* nothing before the answer */
    ck_assert_uint_eq(sio_nsp_size(H.chat), 0);
    ck_assert_ptr_null(sio_nsp_socket(H.chat, sio_socket_id(H.deferred)));
    /* A broadcast to the room it joined while deferred does not reach it. */
    const char *room = "lobby";
    sio_bcast_opts o = {.rooms = &room, .n_rooms = 1};
    ck_assert_int_eq(sio_nsp_emit(H.chat, &o, "early", NULL), 0);
    /* Events sent before the answer are not processed (nor queued). */
    feed(fc, "2/chat,[\"ev\",1]");
    feed(fc, "2/chat,5[\"ev\",2]");
    ck_assert_int_eq(H.n_event, 0);
    ck_assert_int_eq(fc->n_out, 0);

    ck_assert_int_eq(sio_socket_accept(H.deferred), 0);
    ck_assert_int_eq(fc->n_out, 2);
    ck_assert(strncmp(fc->out[0], "40/chat,{\"sid\":\"", 16) == 0);
    ck_assert_str_eq(fc->out[1], "42/chat,[\"welcome\",7]");
    char sid[64];
    reply_sid(fc->out[0], sid, sizeof sid);
    sio_socket *s = sio_nsp_socket(H.chat, sid);
    ck_assert_ptr_nonnull(s);
    ck_assert(sio_socket_in_room(s, "lobby"));
    ck_assert_int_eq(sio_nsp_emit(H.chat, &o, "later", NULL), 1);
    feed(fc, "2/chat,[\"ev\",3]");
    ck_assert_int_eq(H.n_event, 1);
    ck_assert_int_eq(fc->n_close, 0);
    teardown();
    ck_assert_int_eq(H.n_disc, 1);
    ck_assert_str_eq(H.disc_reason, "transport close");
}
END_TEST

START_TEST(refuse_sends_connect_error)
{
    setup();
    H.mode = M_DEFER_EMIT;
    fconn *fc = open_conn();
    feed(fc, "0/chat,");
    ck_assert_int_eq(sio_socket_refuse(H.deferred, "nope", json_pack("{s:i}", "code", 4)), 0);
    ck_assert_int_eq(fc->n_out, 1); /* the held emit is dropped */
    ck_assert_str_eq(fc->out[0], "44/chat,{\"message\":\"nope\",\"data\":{\"code\":4}}");
    ck_assert_uint_eq(sio_nsp_size(H.chat), 0);
    ck_assert_int_eq(fc->n_close, 0);
    /* The client may try again: a new CONNECT is handled. */
    feed(fc, "0/chat,");
    ck_assert_int_eq(H.n_connect, 2);
    ck_assert_int_eq(sio_socket_refuse(H.deferred, "again", NULL), 0);
    ck_assert_str_eq(fc->out[1], "44/chat,{\"message\":\"again\"}");
    teardown();
    ck_assert_int_eq(H.n_disc, 0);
}
END_TEST

START_TEST(refuse_close_closes_session)
{
    setup();
    fconn *fc = open_conn();
    feed(fc, "0/chat,");
    ck_assert_int_eq(sio_socket_refuse_close(H.deferred), 0);
    ck_assert_int_eq(fc->n_out, 0); /* no CONNECT_ERROR: the client reconnects by itself */
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "forced close");
    teardown();
    ck_assert_int_eq(H.n_disc, 0);
}
END_TEST

START_TEST(refuse_close_sync_host)
{
    setup();
    H.close_sync = true;
    fconn *fc = open_conn();
    feed(fc, "0/chat,");
    ck_assert_int_eq(sio_socket_refuse_close(H.deferred), 0);
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert(!fc->open);
    teardown();
}
END_TEST

START_TEST(client_closes_while_pending)
{
    setup();
    fconn *fc = open_conn();
    feed(fc, "0/chat,");
    sio_socket *s = H.deferred;
    close_conn(fc);
    ck_assert_int_eq(H.n_disc, 1);
    ck_assert_str_eq(H.disc_reason, "transport close");
    ck_assert(!H.disc_connected);
    /* The deferral still holds the socket: answering it is safe and does nothing. */
    ck_assert_str_eq(sio_socket_id(s), sio_socket_id(H.deferred));
    ck_assert_int_eq(sio_socket_accept(s), -1);
    ck_assert_int_eq(fc->n_out, 0);
    teardown();
    ck_assert_int_eq(H.n_disc, 1);
}
END_TEST

START_TEST(refuse_after_close)
{
    setup();
    fconn *fc = open_conn();
    feed(fc, "0/chat,");
    close_conn(fc);
    ck_assert_int_eq(sio_socket_refuse(H.deferred, "late", json_pack("[i]", 1)), -1);
    ck_assert_int_eq(fc->n_out, 0);
    teardown();
}
END_TEST

START_TEST(client_disconnect_packet_while_pending)
{
    setup();
    fconn *fc = open_conn();
    feed(fc, "0/chat,");
    feed(fc, "1/chat,");
    ck_assert_int_eq(H.n_disc, 1);
    ck_assert_str_eq(H.disc_reason, "client namespace disconnect");
    ck_assert_int_eq(sio_socket_accept(H.deferred), -1);
    ck_assert_int_eq(fc->n_out, 0);
    ck_assert(fc->open);
    teardown();
}
END_TEST

START_TEST(second_connect_while_pending_ignored)
{
    setup();
    fconn *fc = open_conn();
    feed(fc, "0/chat,");
    sio_socket *first = H.deferred;
    feed(fc, "0/chat,");
    ck_assert_int_eq(H.n_connect, 1);
    ck_assert_int_eq(sio_socket_accept(first), 0);
    ck_assert_int_eq(fc->n_out, 1);
    teardown();
}
END_TEST

START_TEST(connect_timeout_while_pending)
{
    setup();
    H.close_sync = true;
    fconn *fc = open_conn();
    feed(fc, "0/chat,");
    advance(4999);
    ck_assert_int_eq(fc->n_close, 0);
    advance(1);
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "forced close");
    ck_assert_int_eq(H.n_disc, 1);
    ck_assert_str_eq(H.disc_reason, "forced close");
    ck_assert_int_eq(sio_socket_accept(H.deferred), -1);
    teardown();
}
END_TEST

START_TEST(accept_stops_connect_timeout)
{
    setup();
    fconn *fc = open_conn();
    feed(fc, "0/chat,");
    advance(3000);
    ck_assert_int_eq(sio_socket_accept(H.deferred), 0);
    advance(10000);
    ck_assert_int_eq(fc->n_close, 0);
    teardown();
}
END_TEST

START_TEST(defer_misuse)
{
    setup();
    H.mode = M_DEFER_TWICE;
    fconn *fc = open_conn();
    feed(fc, "0/chat,");
    ck_assert_int_eq(H.defer_rc, 0);
    ck_assert_int_eq(H.defer_again_rc, -1);
    ck_assert_int_eq(sio_socket_accept(H.deferred), 0);
    char sid[64];
    reply_sid(fc->out[0], sid, sizeof sid);
    sio_socket *s = sio_nsp_socket(H.chat, sid);
    ck_assert_int_eq(sio_socket_defer_connect(s), -1); /* outside a connect handler */
    teardown();
}
END_TEST

START_TEST(two_sessions_answered_out_of_order)
{
    setup();
    fconn *a = open_conn();
    fconn *b = open_conn();
    feed(a, "0/chat,");
    sio_socket *sa = H.deferred;
    feed(b, "0/chat,");
    sio_socket *sb = H.deferred;
    ck_assert_int_eq(sio_socket_accept(sb), 0);
    ck_assert_int_eq(sio_socket_refuse(sa, "no", NULL), 0);
    ck_assert_int_eq(a->n_out, 1);
    ck_assert(strncmp(a->out[0], "44/chat,", 8) == 0);
    ck_assert_int_eq(b->n_out, 1);
    ck_assert(strncmp(b->out[0], "40/chat,", 8) == 0);
    ck_assert_uint_eq(sio_nsp_size(H.chat), 1);
    teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sio_connect_async");
    TCase *tc = tcase_create("deferred");
    tcase_add_test(tc, accept_sends_connect_then_held);
    tcase_add_test(tc, refuse_sends_connect_error);
    tcase_add_test(tc, refuse_close_closes_session);
    tcase_add_test(tc, refuse_close_sync_host);
    tcase_add_test(tc, client_closes_while_pending);
    tcase_add_test(tc, refuse_after_close);
    tcase_add_test(tc, client_disconnect_packet_while_pending);
    tcase_add_test(tc, second_connect_while_pending_ignored);
    tcase_add_test(tc, connect_timeout_while_pending);
    tcase_add_test(tc, accept_stops_connect_timeout);
    tcase_add_test(tc, defer_misuse);
    tcase_add_test(tc, two_sessions_answered_out_of_order);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
