/* test_sio_batch: broadcasts batched within a host turn (sio_server_config.batch_broadcasts,
 * sio_server_end_turn). Every client must receive exactly what, and in exactly the order, it would
 * without batching; the batch only changes when packets are handed to the host. A fake host
 * records each session's packets; out() shows them as text, "|" between packets. */
#include "sio_binary.h"
#include "sio_server.h"

#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONNS 8
#define MAX_OUT 32

typedef struct fconn {
    sio_client *c;
    bool open;
    eio_msg *out[MAX_OUT]; /**< references held by the fake host */
    uint64_t seq[MAX_OUT]; /**< global order of each send */
    size_t n_out;
    uint64_t close_seq; /**< global order of the host close call, 0 if none */
} fconn;

static struct {
    sio_server *srv;
    sio_nsp *root, *chat;
    fconn conns[MAX_CONNS];
    int n_conns;
    sio_socket *last; /**< socket of the last connect */
    uint64_t seq;
    int bad;
    char buf[4096];
} H;

static int host_send(void *conn, eio_msg *m, bool volatile_, void *host)
{
    (void)volatile_;
    fconn *fc = conn;
    if (host != &H || !fc->open || fc->n_out == MAX_OUT) {
        H.bad++;
        return -1;
    }
    fc->seq[fc->n_out] = ++H.seq;
    fc->out[fc->n_out++] = eio_msg_ref(m);
    return 0;
}

static void host_close(void *conn, const char *reason, void *host)
{
    (void)reason, (void)host;
    fconn *fc = conn;
    fc->close_seq = ++H.seq;
}

static uint64_t host_now(void *host)
{
    (void)host;
    return 1000;
}

/* Timers never fire during a test; teardown fires those still armed, as a host must before
 * sio_server_free. */
typedef struct ftimer {
    void (*cb)(void *arg);
    void *arg;
    bool armed;
} ftimer;
static ftimer *timers[16];
static int n_timers;

static void *host_timer_start(void *host, uint64_t delay_ms, void (*cb)(void *arg), void *arg)
{
    (void)host, (void)delay_ms;
    ck_assert_int_lt(n_timers, 16);
    ftimer *t = calloc(1, sizeof *t);
    *t = (ftimer){cb, arg, true};
    timers[n_timers++] = t;
    return t;
}

static void host_timer_cancel(void *host, void *timer)
{
    (void)host;
    ((ftimer *)timer)->armed = false;
}

/* send_many records each message as send does, and counts its calls. */
static int n_send_many;

static void host_send_many(void *conn, eio_msg *const *m, size_t n, void *host)
{
    n_send_many++;
    for (size_t i = 0; i < n; i++)
        host_send(conn, m[i], false, host);
}

/* Each test runs twice (a loop test): _i = 0 with send only, _i = 1 with send_many too. */
static const sio_host_ops k_ops_variants[2] = {
    {host_send, host_close, host_now, host_timer_start, host_timer_cancel, NULL},
    {host_send, host_close, host_now, host_timer_start, host_timer_cancel, host_send_many},
};
static const sio_host_ops *k_ops_cur = &k_ops_variants[0];

static bool on_connect(sio_socket *s, const json_t *auth, sio_reject *rej, void *ud)
{
    (void)auth, (void)rej, (void)ud;
    H.last = s;
    return true;
}

/* A client event "pub" [room, n] is broadcast twice to room (n and n+1, except the sender) and
 * acked, as the daemon's rooms policy relays a publisher's events. */
static void on_pub(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    (void)event, (void)ud;
    const char *room = json_string_value(json_array_get(args, 0));
    json_int_t n = json_integer_value(json_array_get(args, 1));
    const char *id = sio_socket_id(s);
    sio_bcast_opts o = {.rooms = &room, .n_rooms = 1, .except = &id, .n_except = 1};
    sio_nsp_emit(sio_socket_nsp(s), &o, "e", json_pack("[I]", n));
    sio_nsp_emit(sio_socket_nsp(s), &o, "e", json_pack("[I]", n + 1));
    if (ack)
        sio_ack_send(ack, json_pack("[s]", "ok"));
}

static void setup_ops(int variant)
{
    k_ops_cur = &k_ops_variants[variant];
    n_send_many = 0;
}

static void setup(void)
{
    memset(&H, 0, sizeof H);
    n_timers = 0;
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    ck_assert(!cfg.batch_broadcasts);
    cfg.batch_broadcasts = true;
    H.srv = sio_server_new(&cfg, k_ops_cur, &H);
    const sio_nsp_handlers h = {.connect = on_connect};
    H.root = sio_server_of(H.srv, "/", &h, NULL);
    H.chat = sio_server_of(H.srv, "/chat", &h, NULL);
    sio_nsp_on(H.root, "pub", on_pub, NULL);
}

static void feed(fconn *fc, const char *wire)
{
    sio_client_message(fc->c, (const uint8_t *)wire, strlen(wire), false);
}

/* A new session with a socket connected to nsp ("/" if NULL) and joined to the rooms given
 * (NULL-terminated); its CONNECT reply is dropped from the record. */
static sio_socket *client(fconn **out, const char *wire, ...)
{
    ck_assert_int_lt(H.n_conns, MAX_CONNS);
    fconn *fc = &H.conns[H.n_conns++];
    fc->open = true;
    sio_handshake_info hs = {.headers = json_object(), .query = json_object(), .address = "x"};
    fc->c = sio_client_open(H.srv, fc, &hs);
    H.last = NULL;
    feed(fc, wire ? wire : "0");
    ck_assert_ptr_nonnull(H.last);
    sio_socket *s = H.last;
    va_list ap;
    va_start(ap, wire);
    for (const char *r; (r = va_arg(ap, const char *));)
        ck_assert_int_eq(sio_socket_join(s, r), 0);
    va_end(ap);
    sio_server_end_turn(H.srv);
    for (size_t i = 0; i < fc->n_out; i++)
        eio_msg_unref(fc->out[i]);
    fc->n_out = 0;
    if (out)
        *out = fc;
    return s;
}

/* A second namespace socket on the session of fc. */
static sio_socket *also_connect(fconn *fc, const char *wire)
{
    H.last = NULL;
    feed(fc, wire);
    ck_assert_ptr_nonnull(H.last);
    size_t n = fc->n_out;
    ck_assert_uint_ge(n, 1);
    eio_msg_unref(fc->out[n - 1]); /* its CONNECT reply */
    fc->n_out = n - 1;
    return H.last;
}

/* fc's packets as text (binary ones as <bin N>), "|" between them. Static buffer. */
static const char *out(const fconn *fc)
{
    size_t o = 0;
    H.buf[0] = '\0';
    for (size_t i = 0; i < fc->n_out; i++) {
        const eio_msg *m = fc->out[i];
        if (m->binary)
            o += (size_t)snprintf(H.buf + o, sizeof H.buf - o, "%s<bin %zu>", i ? "|" : "", m->len);
        else
            o += (size_t)snprintf(H.buf + o, sizeof H.buf - o, "%s%.*s", i ? "|" : "", (int)m->len,
                                  (const char *)m->wire);
    }
    return H.buf;
}

static int emit_to(sio_nsp *nsp, const char *room, const char *except, json_int_t n)
{
    sio_bcast_opts o = {.rooms = &room, .n_rooms = room ? 1 : 0};
    if (except) {
        o.except = &except;
        o.n_except = 1;
    }
    return sio_nsp_emit(nsp, &o, "e", json_pack("[I]", n));
}

static void teardown_all(void)
{
    for (int i = 0; i < H.n_conns; i++) {
        fconn *fc = &H.conns[i];
        if (fc->open) {
            fc->open = false;
            sio_client_closed(fc->c, "transport close");
        }
    }
    for (int i = 0; i < n_timers; i++)
        if (timers[i]->armed) {
            timers[i]->armed = false;
            timers[i]->cb(timers[i]->arg);
        }
    sio_server_free(H.srv);
    for (int i = 0; i < H.n_conns; i++)
        for (size_t k = 0; k < H.conns[i].n_out; k++)
            eio_msg_unref(H.conns[i].out[k]);
    for (int i = 0; i < n_timers; i++)
        free(timers[i]);
    ck_assert_int_eq(H.bad, 0);
}

START_TEST(same_room_batched_then_queued_in_order)
{
    setup_ops(_i);
    setup();
    fconn *a, *b, *c;
    client(&a, NULL, "r", NULL);
    client(&b, NULL, "r", NULL);
    client(&c, NULL, NULL);
    uint64_t d0 = sio_server_deliveries(H.srv);
    for (int i = 1; i <= 3; i++)
        ck_assert_int_eq(emit_to(H.root, "r", NULL, i), 2);
    ck_assert_uint_eq(sio_server_deliveries(H.srv) - d0, 6);
    /* Nothing reaches the host before the end of the turn. */
    ck_assert_uint_eq(a->n_out + b->n_out + c->n_out, 0);
    sio_server_end_turn(H.srv);
    ck_assert_str_eq(out(a), "42[\"e\",1]|42[\"e\",2]|42[\"e\",3]");
    ck_assert_str_eq(out(b), "42[\"e\",1]|42[\"e\",2]|42[\"e\",3]");
    ck_assert_str_eq(out(c), "");
    ck_assert_int_eq(n_send_many, _i ? 2 : 0); /* one call per session when the host has it */
    /* Each packet was encoded once and is shared by every session. */
    for (size_t i = 0; i < 3; i++)
        ck_assert_ptr_eq(a->out[i], b->out[i]);
    /* A session receives its whole burst before the next session is served. */
    ck_assert_uint_eq(a->seq[2] + 1, b->seq[0]);
    sio_server_end_turn(H.srv); /* nothing open: no-op */
    ck_assert_uint_eq(a->n_out, 3);
    teardown_all();
}
END_TEST

START_TEST(direct_emit_between_broadcasts_keeps_order)
{
    setup_ops(_i);
    setup();
    fconn *a, *b;
    sio_socket *sa = client(&a, NULL, "r", NULL);
    client(&b, NULL, "r", NULL);
    emit_to(H.root, "r", NULL, 1);
    ck_assert_int_eq(sio_socket_emit(sa, "d", NULL), 0);
    ck_assert_str_eq(out(a), "42[\"e\",1]|42[\"d\"]"); /* the batch went first */
    emit_to(H.root, "r", NULL, 2);
    sio_server_end_turn(H.srv);
    ck_assert_str_eq(out(a), "42[\"e\",1]|42[\"d\"]|42[\"e\",2]");
    ck_assert_str_eq(out(b), "42[\"e\",1]|42[\"e\",2]");
    teardown_all();
}
END_TEST

START_TEST(other_selection_between_keeps_order)
{
    setup_ops(_i);
    setup();
    fconn *a, *b, *c;
    client(&a, NULL, "r", "q", NULL);
    client(&b, NULL, "r", NULL);
    client(&c, NULL, "q", NULL);
    emit_to(H.root, "r", NULL, 1);
    emit_to(H.root, "q", NULL, 2);
    emit_to(H.root, "r", NULL, 3);
    emit_to(H.root, NULL, NULL, 4); /* everyone */
    sio_server_end_turn(H.srv);
    ck_assert_str_eq(out(a), "42[\"e\",1]|42[\"e\",2]|42[\"e\",3]|42[\"e\",4]");
    ck_assert_str_eq(out(b), "42[\"e\",1]|42[\"e\",3]|42[\"e\",4]");
    ck_assert_str_eq(out(c), "42[\"e\",2]|42[\"e\",4]");
    teardown_all();
}
END_TEST

START_TEST(except_is_part_of_the_selection)
{
    setup_ops(_i);
    setup();
    fconn *a, *b;
    sio_socket *sa = client(&a, NULL, "r", NULL);
    client(&b, NULL, "r", NULL);
    ck_assert_int_eq(emit_to(H.root, "r", sio_socket_id(sa), 1), 1);
    ck_assert_int_eq(emit_to(H.root, "r", NULL, 2), 2);
    ck_assert_int_eq(emit_to(H.root, "r", sio_socket_id(sa), 3), 1);
    sio_server_end_turn(H.srv);
    ck_assert_str_eq(out(a), "42[\"e\",2]");
    ck_assert_str_eq(out(b), "42[\"e\",1]|42[\"e\",2]|42[\"e\",3]");
    teardown_all();
}
END_TEST

START_TEST(membership_changes_end_the_batch)
{
    setup_ops(_i);
    setup();
    fconn *a, *b, *c, *d;
    client(&a, NULL, "r", NULL);
    sio_socket *sb = client(&b, NULL, "r", NULL);
    sio_socket *sc = client(&c, NULL, NULL);
    emit_to(H.root, "r", NULL, 1);
    ck_assert_int_eq(sio_socket_join(sc, "r"), 0); /* c joins: gets 2 and 3 only */
    emit_to(H.root, "r", NULL, 2);
    ck_assert_int_eq(sio_socket_leave(sb, "r"), 0); /* b leaves: 1 and 2 only */
    emit_to(H.root, "r", NULL, 3);
    client(&d, NULL, "r", NULL); /* a new socket in the room: 4 only */
    emit_to(H.root, "r", NULL, 4);
    sio_server_end_turn(H.srv);
    ck_assert_str_eq(out(a), "42[\"e\",1]|42[\"e\",2]|42[\"e\",3]|42[\"e\",4]");
    ck_assert_str_eq(out(b), "42[\"e\",1]|42[\"e\",2]");
    ck_assert_str_eq(out(c), "42[\"e\",2]|42[\"e\",3]|42[\"e\",4]");
    ck_assert_str_eq(out(d), "42[\"e\",4]");
    teardown_all();
}
END_TEST

START_TEST(disconnects_after_a_batched_broadcast)
{
    setup_ops(_i);
    setup();
    fconn *a, *b, *c;
    client(&a, NULL, "r", NULL);
    sio_socket *sb = client(&b, NULL, "r", NULL);
    client(&c, NULL, "r", NULL);
    emit_to(H.root, "r", NULL, 1);
    sio_socket_disconnect(sb, false); /* server side: 1, then the DISCONNECT */
    feed(c, "1");                     /* client side: c still got 1, nothing after */
    emit_to(H.root, "r", NULL, 2);
    sio_server_end_turn(H.srv);
    ck_assert_str_eq(out(a), "42[\"e\",1]|42[\"e\",2]");
    ck_assert_str_eq(out(b), "42[\"e\",1]|41");
    ck_assert_str_eq(out(c), "42[\"e\",1]");
    teardown_all();
}
END_TEST

START_TEST(closing_a_session_delivers_its_batch_first)
{
    setup_ops(_i);
    setup();
    fconn *a, *b;
    sio_socket *sa = client(&a, NULL, "r", NULL);
    client(&b, NULL, "r", NULL);
    emit_to(H.root, "r", NULL, 1);
    sio_socket_disconnect(sa, true); /* the whole session: packets queued before the close */
    ck_assert_str_eq(out(a), "42[\"e\",1]|41");
    ck_assert_uint_gt(a->close_seq, a->seq[1]);
    emit_to(H.root, "r", NULL, 2);
    sio_server_end_turn(H.srv);
    ck_assert_str_eq(out(b), "42[\"e\",1]|42[\"e\",2]");
    /* A parse error closes the session after what was broadcast to it. */
    emit_to(H.root, "r", NULL, 3);
    feed(b, "9bogus");
    ck_assert_str_eq(out(b), "42[\"e\",1]|42[\"e\",2]|42[\"e\",3]");
    ck_assert_uint_gt(b->close_seq, b->seq[2]);
    teardown_all();
}
END_TEST

START_TEST(another_namespace_of_the_session_keeps_order)
{
    setup_ops(_i);
    setup();
    fconn *a;
    client(&a, NULL, "r", NULL);
    sio_socket *chat = also_connect(a, "0/chat,");
    emit_to(H.root, "r", NULL, 1);
    ck_assert_int_eq(sio_socket_emit(chat, "c", NULL), 0);
    emit_to(H.chat, NULL, NULL, 2);
    emit_to(H.root, "r", NULL, 3);
    sio_server_end_turn(H.srv);
    ck_assert_str_eq(out(a), "42[\"e\",1]|42/chat,[\"c\"]|42/chat,[\"e\",2]|42[\"e\",3]");
    teardown_all();
}
END_TEST

START_TEST(volatile_and_ack_broadcasts_are_not_batched)
{
    setup_ops(_i);
    setup();
    fconn *a, *b;
    client(&a, NULL, "r", NULL);
    client(&b, NULL, "r", NULL);
    emit_to(H.root, "r", NULL, 1);
    const char *room = "r";
    sio_bcast_opts vol = {.rooms = &room, .n_rooms = 1, .flags = SIO_BC_VOLATILE};
    ck_assert_int_eq(sio_nsp_emit(H.root, &vol, "v", NULL), 2);
    ck_assert_str_eq(out(a), "42[\"e\",1]|42[\"v\"]"); /* at once, after the batch */
    emit_to(H.root, "r", NULL, 2);
    sio_bcast_opts to = {.rooms = &room, .n_rooms = 1};
    ck_assert_int_eq(sio_nsp_emit_ack(H.root, &to, "q", NULL, 1000, NULL, NULL), 2);
    ck_assert_str_eq(out(b), "42[\"e\",1]|42[\"v\"]|42[\"e\",2]|420[\"q\"]");
    sio_server_end_turn(H.srv);
    ck_assert_str_eq(out(a), "42[\"e\",1]|42[\"v\"]|42[\"e\",2]|420[\"q\"]");
    teardown_all();
}
END_TEST

START_TEST(binary_attachments_stay_with_their_packet)
{
    setup_ops(_i);
    setup();
    fconn *a, *b;
    client(&a, NULL, "r", NULL);
    client(&b, NULL, "r", NULL);
    const uint8_t bytes[] = {1, 2, 3};
    const char *room = "r";
    sio_bcast_opts to = {.rooms = &room, .n_rooms = 1};
    sio_nsp_emit(H.root, &to, "b", json_pack("[o]", sio_binary_new(bytes, sizeof bytes)));
    emit_to(H.root, "r", NULL, 2);
    sio_server_end_turn(H.srv);
    const char *want = "451-[\"b\",{\"_placeholder\":true,\"num\":0}]|<bin 3>|42[\"e\",2]";
    ck_assert_str_eq(out(a), want);
    ck_assert_str_eq(out(b), want);
    teardown_all();
}
END_TEST

START_TEST(a_publishers_events_batch_and_its_acks_go_at_once)
{
    setup_ops(_i);
    setup();
    fconn *pub, *a, *b;
    client(&pub, NULL, "r", NULL);
    client(&a, NULL, "r", NULL);
    client(&b, NULL, "r", NULL);
    /* Two events read in one turn, each relayed twice: one batch of four. */
    feed(pub, "21[\"pub\",\"r\",1]");
    feed(pub, "22[\"pub\",\"r\",3]");
    ck_assert_str_eq(out(pub), "431[\"ok\"]|432[\"ok\"]"); /* the sender is not in the batch */
    ck_assert_uint_eq(a->n_out, 0);
    sio_server_end_turn(H.srv);
    const char *want = "42[\"e\",1]|42[\"e\",2]|42[\"e\",3]|42[\"e\",4]";
    ck_assert_str_eq(out(a), want);
    ck_assert_str_eq(out(b), want);
    teardown_all();
}
END_TEST

START_TEST(freeing_the_server_releases_an_open_batch)
{
    setup_ops(_i);
    setup();
    fconn *a;
    client(&a, NULL, "r", NULL);
    emit_to(H.root, "r", NULL, 1);
    /* The session closes before the turn ends: nothing is sent to it, nothing leaks. */
    a->open = false;
    sio_client_closed(a->c, "transport close");
    sio_server_end_turn(H.srv);
    ck_assert_uint_eq(a->n_out, 0);
    emit_to(H.root, NULL, NULL, 2); /* no socket left: nothing opened */
    teardown_all();
}
END_TEST

START_TEST(without_batching_emits_are_queued_at_once)
{
    setup_ops(_i);
    memset(&H, 0, sizeof H);
    n_timers = 0;
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    H.srv = sio_server_new(&cfg, k_ops_cur, &H);
    const sio_nsp_handlers h = {.connect = on_connect};
    H.root = sio_server_of(H.srv, "/", &h, NULL);
    fconn *a;
    client(&a, NULL, "r", NULL);
    emit_to(H.root, "r", NULL, 1);
    ck_assert_str_eq(out(a), "42[\"e\",1]");
    teardown_all();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sio_batch");
    TCase *tc = tcase_create("batch");
    tcase_add_loop_test(tc, same_room_batched_then_queued_in_order, 0, 2);
    tcase_add_loop_test(tc, direct_emit_between_broadcasts_keeps_order, 0, 2);
    tcase_add_loop_test(tc, other_selection_between_keeps_order, 0, 2);
    tcase_add_loop_test(tc, except_is_part_of_the_selection, 0, 2);
    tcase_add_loop_test(tc, membership_changes_end_the_batch, 0, 2);
    tcase_add_loop_test(tc, disconnects_after_a_batched_broadcast, 0, 2);
    tcase_add_loop_test(tc, closing_a_session_delivers_its_batch_first, 0, 2);
    tcase_add_loop_test(tc, another_namespace_of_the_session_keeps_order, 0, 2);
    tcase_add_loop_test(tc, volatile_and_ack_broadcasts_are_not_batched, 0, 2);
    tcase_add_loop_test(tc, binary_attachments_stay_with_their_packet, 0, 2);
    tcase_add_loop_test(tc, a_publishers_events_batch_and_its_acks_go_at_once, 0, 2);
    tcase_add_loop_test(tc, freeing_the_server_releases_an_open_batch, 0, 2);
    tcase_add_loop_test(tc, without_batching_emits_are_queued_at_once, 0, 2);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
