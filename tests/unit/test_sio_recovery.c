/* test_sio_recovery: connection state recovery in the Socket.IO server model (docs/recovery.md),
 * driven through a fake host (manual clock, timers, per-session outboxes): the pid in the CONNECT
 * reply, offsets appended to logged packets, restores from the in-memory adapter (id, rooms, data,
 * missed packets once and in order), what makes a session unrecoverable (reason, window, size
 * bound, gap), the takeover of a half-open old socket, and, with a fake asynchronous adapter, the
 * ordered output behind logged packets and the restore seam (live packets held while the log is
 * read, deduplicated by offset). */
#include "sio_adapter.h"
#include "sio_server.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONNS 8
#define MAX_OUT 256

/* ---- fake host ------------------------------------------------------------------------------- */

typedef struct fconn {
    sio_client *c;
    bool open;
    char *out[MAX_OUT]; /**< packet texts (without the Engine.IO "4") */
    size_t n_out;
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

static struct {
    uint64_t now;
    ftimer *timers;
    sio_server *srv;
    sio_nsp *nsp;
    fconn conns[MAX_CONNS];
    int bad;
    /* handler records */
    int n_connect;
    bool last_recovered;
    json_t *last_auth;
    int n_disc;
    char disc_reason[64];
    bool defer;          /**< the connect handler defers */
    sio_socket *pending; /**< ... this one */
    bool join_on_connect;
} H;

static int host_send(void *conn, eio_msg *m, bool volatile_, void *host)
{
    (void)volatile_, (void)host;
    fconn *fc = conn;
    if (!fc->open || fc->n_out == MAX_OUT) {
        H.bad++;
        return -1;
    }
    char *t = malloc(m->len);
    memcpy(t, m->wire + 1, m->len - 1);
    t[m->len - 1] = '\0';
    fc->out[fc->n_out++] = t;
    return 0;
}

static void host_close(void *conn, const char *reason, void *host)
{
    (void)host;
    fconn *fc = conn;
    fc->n_close++;
    fc->close_reason = reason;
}

static uint64_t host_now(void *host)
{
    (void)host;
    return H.now;
}

static void *host_timer_start(void *host, uint64_t delay, void (*cb)(void *), void *arg)
{
    (void)host;
    ftimer *t = calloc(1, sizeof *t);
    t->at = H.now + delay;
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
    ((ftimer *)timer)->armed = false;
}

static const sio_host_ops k_ops = {host_send,        host_close,        host_now,
                                   host_timer_start, host_timer_cancel, NULL};

static void advance(uint64_t ms)
{
    uint64_t target = H.now + ms;
    for (;;) {
        ftimer *next = NULL;
        for (ftimer *t = H.timers; t; t = t->next)
            if (t->armed && t->at <= target && (!next || t->at < next->at))
                next = t;
        if (!next)
            break;
        H.now = next->at > H.now ? next->at : H.now;
        next->armed = false;
        next->cb(next->arg);
    }
    H.now = target;
}

/* ---- handlers -------------------------------------------------------------------------------- */

static bool on_connect(sio_socket *s, const json_t *auth, sio_reject *rej, void *ud)
{
    (void)rej, (void)ud;
    H.n_connect++;
    H.last_recovered = sio_socket_recovered(s);
    json_decref(H.last_auth);
    H.last_auth = json_deep_copy(auth);
    if (H.join_on_connect && !sio_socket_recovered(s))
        sio_socket_join(s, "r");
    if (H.defer) {
        sio_socket_defer_connect(s);
        H.pending = s;
    }
    return true;
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)s, (void)ud;
    H.n_disc++;
    snprintf(H.disc_reason, sizeof H.disc_reason, "%s", reason);
}

static const sio_nsp_handlers k_handlers = {.connect = on_connect, .disconnect = on_disconnect};

/* ---- fake asynchronous adapter ------------------------------------------------------------------
 * Logs into an array whose completions the test triggers; restore and replay answer when told. */

typedef struct fake_log {
    uint64_t token;
    json_t *packet;
    char offset[32];
} fake_log;

static struct {
    bool on;
    fake_log logs[64];
    int n_logs, n_done;
    uint64_t seq;
    sio_restore_fn restore_cb;
    void *restore_ud;
    char restore_pid[64];
    sio_replay_fn replay_cb;
    void *replay_ud;
    int n_open, n_close, n_close_recoverable, n_update;
    unsigned updates;
    json_t *session; /**< what restore answers */
} F;

static void f_log(sio_adapter *a, json_t *packet, const sio_bcast_opts *o, uint64_t token)
{
    (void)a, (void)o;
    fake_log *l = &F.logs[F.n_logs++];
    l->token = token;
    l->packet = json_deep_copy(packet);
    snprintf(l->offset, sizeof l->offset, "100-%llu", (unsigned long long)++F.seq);
}

/* Completes the next n logged packets, in order. */
static void f_complete(int n)
{
    while (n-- > 0 && F.n_done < F.n_logs) {
        fake_log *l = &F.logs[F.n_done++];
        sio_nsp_log_done(H.nsp, l->token, l->offset);
    }
}

static void f_open(sio_adapter *a, sio_socket *s)
{
    (void)a, (void)s;
    F.n_open++;
}

static void f_update(sio_adapter *a, sio_socket *s, unsigned what)
{
    (void)a, (void)s;
    F.n_update++;
    F.updates |= what;
}

static void f_close(sio_adapter *a, sio_socket *s, bool recoverable)
{
    (void)a, (void)s;
    F.n_close++;
    F.n_close_recoverable += recoverable;
}

static void f_restore(sio_adapter *a, const char *pid, const char *offset, sio_restore_fn cb,
                      void *ud)
{
    (void)a, (void)offset;
    snprintf(F.restore_pid, sizeof F.restore_pid, "%s", pid);
    F.restore_cb = cb;
    F.restore_ud = ud;
}

static void f_replay(sio_adapter *a, sio_socket *s, json_t *session, const char *offset,
                     sio_replay_fn cb, void *ud)
{
    (void)a, (void)s, (void)session, (void)offset;
    F.replay_cb = cb;
    F.replay_ud = ud;
}

static int f_broadcast(sio_adapter *a, json_t *packet, const sio_bcast_opts *o)
{
    return sio_nsp_local_emit(a->nsp, packet, o);
}

static int f_broadcast_ack(sio_adapter *a, json_t *packet, const sio_bcast_opts *o,
                           sio_bcast_ack *ack)
{
    return sio_nsp_local_emit_ack(a->nsp, packet, o, ack);
}

static void f_destroy(sio_adapter *a)
{
    free(a);
}

static const sio_adapter_ops k_fake_ops = {
    .broadcast = f_broadcast,
    .broadcast_ack = f_broadcast_ack,
    .destroy = f_destroy,
    .log_packet = f_log,
    .session_open = f_open,
    .session_update = f_update,
    .session_close = f_close,
    .restore_session = f_restore,
    .replay = f_replay,
};

static sio_adapter *fake_factory(sio_nsp *nsp, void *ud)
{
    (void)ud;
    sio_adapter *a = calloc(1, sizeof *a);
    a->ops = &k_fake_ops;
    a->nsp = nsp;
    return a;
}

/* ---- fixture --------------------------------------------------------------------------------- */

static bool g_batch; /**< the next setup batches broadcasts */

static void setup_with(uint32_t window, size_t max_packets, bool fake)
{
    memset(&H, 0, sizeof H);
    memset(&F, 0, sizeof F);
    H.now = 1000000;
    F.on = fake;
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    cfg.recovery_window_ms = window;
    cfg.recovery_max_packets = max_packets;
    cfg.batch_broadcasts = g_batch;
    H.srv = sio_server_new(&cfg, &k_ops, &H);
    if (fake)
        sio_server_set_adapter(H.srv, fake_factory, NULL);
    H.nsp = sio_server_of(H.srv, "/", &k_handlers, NULL);
}

static void setup_memory(void)
{
    setup_with(60000, 100, false);
}

static void setup_fake(void)
{
    setup_with(60000, 100, true);
}

static void setup_off(void)
{
    setup_with(0, 100, false);
}

static void setup_fake_batched(void)
{
    g_batch = true;
    setup_with(60000, 100, true);
    g_batch = false;
}

static void close_conn(int i, const char *reason)
{
    if (H.conns[i].open) {
        H.conns[i].open = false;
        sio_client_closed(H.conns[i].c, reason);
    }
}

static void teardown(void)
{
    for (int i = 0; i < MAX_CONNS; i++)
        close_conn(i, "transport close");
    advance(10);
    sio_server_free(H.srv);
    for (int i = 0; i < MAX_CONNS; i++)
        for (size_t k = 0; k < H.conns[i].n_out; k++)
            free(H.conns[i].out[k]);
    while (H.timers) {
        ftimer *t = H.timers;
        H.timers = t->next;
        free(t);
    }
    for (int i = 0; i < F.n_logs; i++)
        json_decref(F.logs[i].packet);
    json_decref(F.session);
    json_decref(H.last_auth);
    ck_assert_int_eq(H.bad, 0);
}

static int open_conn(int i)
{
    fconn *fc = &H.conns[i];
    memset(fc, 0, sizeof *fc);
    fc->open = true;
    sio_handshake_info hs = {.address = "127.0.0.1", .url = "/socket.io/?EIO=4"};
    fc->c = sio_client_open(H.srv, fc, &hs);
    return i;
}

static void feed(int i, const char *text)
{
    sio_client_message(H.conns[i].c, (const uint8_t *)text, strlen(text), false);
}

/* The k-th packet conn i got (negative: from the end). */
static const char *out(int i, int k)
{
    fconn *fc = &H.conns[i];
    if (k < 0)
        k += (int)fc->n_out;
    ck_assert_msg(k >= 0 && (size_t)k < fc->n_out, "conn %d has %zu packets, not #%d", i, fc->n_out,
                  k);
    return fc->out[k];
}

/* Parses the CONNECT reply of conn i (the packet at k) into sid and pid. */
static void connect_reply(int i, int k, char *sid, char *pid)
{
    const char *t = out(i, k);
    ck_assert_msg(t[0] == '0', "not a CONNECT: %s", t);
    json_t *o = json_loads(t + 1, 0, NULL);
    ck_assert_ptr_nonnull(o);
    snprintf(sid, 32, "%s", json_string_value(json_object_get(o, "sid")));
    const char *p = json_string_value(json_object_get(o, "pid"));
    snprintf(pid, 32, "%s", p ? p : "");
    json_decref(o);
}

/* The args of EVENT packet text t (a new array), and its event name into ev. */
static json_t *event_args(const char *t, char *ev)
{
    ck_assert_msg(t[0] == '2', "not an EVENT: %s", t);
    json_t *a = json_loads(t + 1, 0, NULL);
    ck_assert_msg(json_is_array(a), "bad EVENT %s", t);
    snprintf(ev, 64, "%s", json_string_value(json_array_get(a, 0)));
    json_array_remove(a, 0);
    return a;
}

/* The offset (last argument) of EVENT packet t, into off. */
static void offset_of(const char *t, char *off)
{
    char ev[64];
    json_t *a = event_args(t, ev);
    const char *s = json_string_value(json_array_get(a, json_array_size(a) - 1));
    snprintf(off, 48, "%s", s ? s : "");
    json_decref(a);
}

/* Emits "n" with args [k] to room r. */
static void emit_room(int k)
{
    const char *room = "r";
    sio_bcast_opts o = {.rooms = &room, .n_rooms = 1};
    sio_nsp_emit(H.nsp, &o, "n", json_pack("[i]", k));
}

/* CONNECT to "/" with a pid and offset. */
static void connect_with(int i, const char *pid, const char *offset)
{
    char buf[256];
    snprintf(buf, sizeof buf, "0{\"pid\":\"%s\",\"offset\":\"%s\",\"token\":\"t\"}", pid, offset);
    feed(i, buf);
}

/* The numbers of the "n" events conn i got from packet k on, checked to carry an offset. */
static int numbers_from(int i, int k, int *v, int cap)
{
    int n = 0;
    for (size_t j = (size_t)k; j < H.conns[i].n_out && n < cap; j++) {
        char ev[64];
        json_t *a = event_args(H.conns[i].out[j], ev);
        if (strcmp(ev, "n") == 0) {
            ck_assert_msg(json_array_size(a) == 2 && json_is_string(json_array_get(a, 1)),
                          "no offset: %s", H.conns[i].out[j]);
            v[n++] = (int)json_integer_value(json_array_get(a, 0));
        }
        json_decref(a);
    }
    return n;
}

/* ---- tests: protocol --------------------------------------------------------------------------- */

START_TEST(offset_parse)
{
    uint64_t a, b;
    ck_assert(sio_offset_parse("1700000000000-0", &a, &b) && a == 1700000000000ULL && b == 0);
    ck_assert(sio_offset_parse("0-18446744073709551615", &a, &b) && b == UINT64_MAX);
    ck_assert(!sio_offset_parse("0-18446744073709551616", &a, &b));
    ck_assert(!sio_offset_parse("", &a, &b));
    ck_assert(!sio_offset_parse("12", &a, &b));
    ck_assert(!sio_offset_parse("-1", &a, &b));
    ck_assert(!sio_offset_parse("1-", &a, &b));
    ck_assert(!sio_offset_parse("1-2-3", &a, &b));
    ck_assert(!sio_offset_parse("1-2 ", &a, &b));
    ck_assert(!sio_offset_parse("a-1", &a, &b));
    ck_assert(!sio_offset_parse("+1-1", &a, &b));
}
END_TEST

START_TEST(off_by_default)
{
    open_conn(0);
    feed(0, "0");
    char sid[32], pid[32];
    connect_reply(0, 0, sid, pid);
    ck_assert_str_eq(pid, ""); /* {"sid":...} only */
    ck_assert_ptr_null(strstr(out(0, 0), "pid"));
    sio_socket *s = sio_nsp_socket(H.nsp, sid);
    sio_socket_join(s, "r");
    emit_room(1);
    sio_socket_emit(s, "d", json_pack("[i]", 2));
    ck_assert_str_eq(out(0, 1), "2[\"n\",1]");
    ck_assert_str_eq(out(0, 2), "2[\"d\",2]");
    ck_assert(!sio_socket_recovered(s));
    ck_assert_ptr_null(sio_socket_pid(s));
    /* A CONNECT with pid/offset is a normal one, its auth untouched. */
    open_conn(1);
    connect_with(1, pid[0] ? pid : "AAAAAAAAAAAAAAAAAAAA", "1-1");
    ck_assert(!H.last_recovered);
    ck_assert_ptr_nonnull(json_object_get(H.last_auth, "pid"));
}
END_TEST

START_TEST(pid_and_offsets)
{
    open_conn(0);
    feed(0, "0{\"token\":\"t\"}");
    char sid[32], pid[32];
    connect_reply(0, 0, sid, pid);
    ck_assert_int_eq(strlen(pid), 20);
    ck_assert_str_ne(pid, sid);
    sio_socket *s = sio_nsp_socket(H.nsp, sid);
    ck_assert_str_eq(sio_socket_pid(s), pid);
    sio_socket_join(s, "r");
    emit_room(1);
    sio_socket_emit(s, "direct", json_pack("[s]", "x"));
    char off1[48], off2[48];
    offset_of(out(0, 1), off1);
    offset_of(out(0, 2), off2);
    uint64_t a1, b1, a2, b2;
    ck_assert(sio_offset_parse(off1, &a1, &b1));
    ck_assert(sio_offset_parse(off2, &a2, &b2));
    ck_assert(a1 == a2 && b2 > b1);
    /* An emit with an ack and a volatile broadcast are not logged: no offset. */
    sio_socket_emit_ack(s, "ask", json_pack("[i]", 3), 0, NULL, NULL);
    const char *room = "r";
    sio_bcast_opts vo = {.rooms = &room, .n_rooms = 1, .flags = SIO_BC_VOLATILE};
    sio_nsp_emit(H.nsp, &vo, "v", json_pack("[i]", 4));
    ck_assert_ptr_nonnull(strstr(out(0, 3), "[\"ask\",3]"));
    ck_assert_str_eq(out(0, 4), "2[\"v\",4]");
}
END_TEST

/* Connects conn i (plain), joins "r", returns sid and pid. */
static void connect_plain(int i, char *sid, char *pid)
{
    open_conn(i);
    feed(i, "0");
    connect_reply(i, 0, sid, pid);
    sio_socket_join(sio_nsp_socket(H.nsp, sid), "r");
}

START_TEST(restore_memory)
{
    char sid[32], pid[32], off[48];
    connect_plain(0, sid, pid);
    sio_socket *s = sio_nsp_socket(H.nsp, sid);
    sio_socket_join(s, "extra");
    sio_socket_set_data(s, json_pack("{s:s}", "user", "ann"));
    emit_room(1);
    emit_room(2);
    offset_of(out(0, -1), off);
    close_conn(0, "transport close");
    emit_room(3);
    emit_room(4);
    open_conn(1);
    connect_with(1, pid, off);
    char sid2[32], pid2[32];
    connect_reply(1, 0, sid2, pid2);
    ck_assert_str_eq(sid2, sid);
    ck_assert_str_eq(pid2, pid);
    ck_assert(H.last_recovered);
    /* The handler sees neither the private id nor the offset. */
    ck_assert_ptr_null(json_object_get(H.last_auth, "pid"));
    ck_assert_ptr_null(json_object_get(H.last_auth, "offset"));
    ck_assert_str_eq(json_string_value(json_object_get(H.last_auth, "token")), "t");
    int v[16];
    ck_assert_int_eq(numbers_from(1, 1, v, 16), 2);
    ck_assert_int_eq(v[0], 3);
    ck_assert_int_eq(v[1], 4);
    sio_socket *r = sio_nsp_socket(H.nsp, sid);
    ck_assert_ptr_nonnull(r);
    ck_assert(sio_socket_recovered(r));
    ck_assert(sio_socket_in_room(r, "r") && sio_socket_in_room(r, "extra"));
    ck_assert_str_eq(json_string_value(json_object_get(sio_socket_data_json(r), "user")), "ann");
    /* Live from now on, once. */
    emit_room(5);
    ck_assert_int_eq(numbers_from(1, 1, v, 16), 3);
    ck_assert_int_eq(v[2], 5);
    /* Restored once only: the same pid and offset again is a normal connect. */
    close_conn(1, "transport close");
    open_conn(2);
    offset_of(out(1, -1), off);
    connect_with(2, pid, off);
    connect_reply(2, 0, sid2, pid2);
    ck_assert_str_eq(sid2, sid); /* the second disconnect saved it again */
    close_conn(2, "transport close");
    open_conn(3);
    connect_with(3, pid, "1-1"); /* not one of ours */
    connect_reply(3, 0, sid2, pid2);
    ck_assert_str_ne(sid2, sid);
    ck_assert(!H.last_recovered);
    ck_assert_str_ne(pid2, pid);
}
END_TEST

START_TEST(not_recoverable)
{
    char sid[32], pid[32], off[48], sid2[32], pid2[32];
    /* A namespace disconnect (client or server) ends the session. */
    connect_plain(0, sid, pid);
    emit_room(1);
    offset_of(out(0, -1), off);
    feed(0, "1");
    open_conn(1);
    connect_with(1, pid, off);
    connect_reply(1, 0, sid2, pid2);
    ck_assert_str_ne(sid2, sid);
    ck_assert(!H.last_recovered);
    sio_socket_disconnect(sio_nsp_socket(H.nsp, sid2), false);
    emit_room(2); /* r has nobody now; 2 is logged */
    open_conn(2);
    connect_with(2, pid2, off);
    connect_reply(2, 0, sid, pid);
    ck_assert_str_ne(sid, sid2);
    /* The window ends. */
    connect_plain(3, sid, pid);
    emit_room(3);
    offset_of(out(3, -1), off);
    close_conn(3, "ping timeout");
    advance(60001);
    open_conn(4);
    connect_with(4, pid, off);
    connect_reply(4, 0, sid2, pid2);
    ck_assert_str_ne(sid2, sid);
    ck_assert(!H.last_recovered);
}
END_TEST

START_TEST(log_bound)
{
    char sid[32], pid[32], off[48], sid2[32], pid2[32];
    connect_plain(0, sid, pid);
    emit_room(1);
    offset_of(out(0, -1), off);
    close_conn(0, "transport close");
    for (int k = 2; k < 2 + 100; k++) /* recovery_max_packets is 100: 1 is dropped */
        emit_room(k);
    open_conn(1);
    connect_with(1, pid, off);
    connect_reply(1, 0, sid2, pid2);
    ck_assert_str_ne(sid2, sid);
    ck_assert(!H.last_recovered);
}
END_TEST

START_TEST(gap_not_recoverable)
{
    char sid[32], pid[32], off[48], sid2[32], pid2[32];
    connect_plain(0, sid, pid);
    emit_room(1);
    offset_of(out(0, -1), off);
    /* A packet from outside the log (a Node peer, an emitter) reaches the socket. */
    json_t *p = json_pack("[s,i]", "foreign", 7);
    const char *room = "r";
    sio_bcast_opts o = {.rooms = &room, .n_rooms = 1, .flags = SIO_BC_LOCAL};
    sio_nsp_local_emit(H.nsp, p, &o);
    json_decref(p);
    ck_assert_str_eq(out(0, -1), "2[\"foreign\",7]");
    close_conn(0, "transport close");
    open_conn(1);
    connect_with(1, pid, off);
    connect_reply(1, 0, sid2, pid2);
    ck_assert_str_ne(sid2, sid); /* a normal connect rather than a silent gap */
    ck_assert(!H.last_recovered);
}
END_TEST

START_TEST(takeover_half_open)
{
    char sid[32], pid[32], off[48], sid2[32], pid2[32];
    connect_plain(0, sid, pid);
    emit_room(1);
    offset_of(out(0, -1), off);
    emit_room(2); /* the client never saw it: its connection is half-open */
    open_conn(1);
    connect_with(1, pid, off);
    connect_reply(1, 0, sid2, pid2);
    ck_assert_str_eq(sid2, sid);
    ck_assert(H.last_recovered);
    ck_assert_int_eq(H.conns[0].n_close, 1); /* the old session is closed */
    ck_assert_int_eq(H.n_disc, 1);
    ck_assert_uint_eq(sio_nsp_size(H.nsp), 1);
    int v[8];
    ck_assert_int_eq(numbers_from(1, 1, v, 8), 1);
    ck_assert_int_eq(v[0], 2);
    close_conn(0, "forced close"); /* the host finishes the old close: nothing more happens */
    emit_room(3);
    ck_assert_int_eq(numbers_from(1, 1, v, 8), 2);
    ck_assert_uint_eq(sio_nsp_size(H.nsp), 1);
}
END_TEST

START_TEST(connect_handler_defers)
{
    char sid[32], pid[32], off[48], sid2[32], pid2[32];
    connect_plain(0, sid, pid);
    emit_room(1);
    offset_of(out(0, -1), off);
    close_conn(0, "transport close");
    emit_room(2);
    H.defer = true;
    open_conn(1);
    connect_with(1, pid, off);
    ck_assert_uint_eq(H.conns[1].n_out, 0);
    emit_room(3); /* while the app decides: held */
    ck_assert_uint_eq(H.conns[1].n_out, 0);
    sio_socket_accept(H.pending);
    connect_reply(1, 0, sid2, pid2);
    ck_assert_str_eq(sid2, sid);
    int v[8];
    ck_assert_int_eq(numbers_from(1, 1, v, 8), 2);
    ck_assert_int_eq(v[0], 2);
    ck_assert_int_eq(v[1], 3);
}
END_TEST

/* ---- tests: asynchronous adapter ----------------------------------------------------------------- */

START_TEST(output_waits_for_logged)
{
    open_conn(0);
    feed(0, "0");
    ck_assert_uint_eq(H.conns[0].n_out, 1);
    ck_assert_int_eq(F.n_open, 1);
    char sid[32], pid[32];
    connect_reply(0, 0, sid, pid);
    sio_socket *s = sio_nsp_socket(H.nsp, sid);
    sio_socket_emit(s, "a", json_pack("[i]", 1)); /* logged: waits for its offset */
    feed(0, "21[\"q\"]");                         /* an event asking an ack */
    sio_socket_emit_ack(s, "b", NULL, 0, NULL, NULL);
    ck_assert_uint_eq(H.conns[0].n_out, 1);
    ck_assert_int_eq(F.n_logs, 1);
    f_complete(1);
    ck_assert_uint_eq(H.conns[0].n_out, 3);
    ck_assert_str_eq(out(0, 1), "2[\"a\",1,\"100-1\"]");
    ck_assert_ptr_nonnull(strstr(out(0, 2), "[\"b\"]"));
    /* A disconnect with close waits too: the emit before it is not lost. */
    sio_socket_emit(s, "c", NULL);
    sio_socket_disconnect(s, true);
    ck_assert_int_eq(H.conns[0].n_close, 0);
    f_complete(1);
    ck_assert_str_eq(out(0, 3), "2[\"c\",\"100-2\"]");
    ck_assert_str_eq(out(0, 4), "1");
    ck_assert_int_eq(H.conns[0].n_close, 1);
    ck_assert_int_eq(F.n_close, 1);
    ck_assert_int_eq(F.n_close_recoverable, 0);
}
END_TEST

START_TEST(async_broadcast_and_gap)
{
    open_conn(0);
    feed(0, "0");
    char sid[32], pid[32];
    connect_reply(0, 0, sid, pid);
    sio_socket_join(sio_nsp_socket(H.nsp, sid), "r");
    ck_assert(F.updates & SIO_SESSION_ROOMS);
    emit_room(1);
    emit_room(2);
    ck_assert_uint_eq(H.conns[0].n_out, 1);
    f_complete(2);
    ck_assert_str_eq(out(0, 1), "2[\"n\",1,\"100-1\"]");
    ck_assert_str_eq(out(0, 2), "2[\"n\",2,\"100-2\"]");
    /* A packet delivered without offset: the session is marked once. */
    json_t *p = json_pack("[s]", "foreign");
    sio_nsp_local_emit(H.nsp, p, NULL);
    sio_nsp_local_emit(H.nsp, p, NULL);
    json_decref(p);
    ck_assert(F.updates & SIO_SESSION_GAP);
    ck_assert(sio_socket_gap(sio_nsp_socket(H.nsp, sid)));
    sio_socket_data_changed(sio_nsp_socket(H.nsp, sid));
    ck_assert(F.updates & SIO_SESSION_DATA);
    close_conn(0, "ping timeout");
    ck_assert_int_eq(F.n_close_recoverable, 1);
}
END_TEST

/* The restore seam: live packets that arrive while the log is read are held; those the replay has
 * too are sent once. */
START_TEST(restore_seam)
{
    const char *pid = "PPPPPPPPPPPPPPPPPPPP";
    const char *sid = "SSSSSSSSSSSSSSSSSSSS";
    open_conn(0);
    connect_with(0, pid, "100-10");
    ck_assert_str_eq(F.restore_pid, pid);
    ck_assert_uint_eq(H.conns[0].n_out, 0);
    F.session =
        json_pack("{s:s,s:[s],s:{s:i},s:b}", "sid", sid, "rooms", "r", "data", "k", 1, "live", 0);
    F.restore_cb(F.session, NULL, F.restore_ud);
    ck_assert_ptr_nonnull(F.replay_cb);
    /* Live while the log is read: 11 (also in the log), 12 (not yet), one too old, one without. */
    const char *room = "r";
    sio_bcast_opts o = {.rooms = &room, .n_rooms = 1, .flags = SIO_BC_LOCAL};
    const char *offs[] = {"100-11", "100-12", "100-9"};
    for (int k = 0; k < 3; k++) {
        json_t *p = json_pack("[s,i,s]", "n", k == 2 ? 9 : 11 + k, offs[k]);
        sio_nsp_local_emit_at(H.nsp, p, &o, offs[k]);
        json_decref(p);
    }
    ck_assert_uint_eq(H.conns[0].n_out, 0);
    json_t *entries = json_pack("[[s,[s,i]]]", "100-11", "n", 11);
    F.replay_cb(entries, NULL, F.replay_ud);
    json_decref(entries);
    char sid2[32], pid2[32];
    connect_reply(0, 0, sid2, pid2);
    ck_assert_str_eq(sid2, sid);
    ck_assert_str_eq(pid2, pid);
    ck_assert(H.last_recovered);
    int v[8];
    ck_assert_int_eq(numbers_from(0, 1, v, 8), 2);
    ck_assert_int_eq(v[0], 11);
    ck_assert_int_eq(v[1], 12);
    sio_socket *s = sio_nsp_socket(H.nsp, sid);
    ck_assert_int_eq(json_integer_value(json_object_get(sio_socket_data_json(s), "k")), 1);
    ck_assert_int_eq(F.n_open, 1);
}
END_TEST

START_TEST(restore_abandoned_is_saved_back)
{
    open_conn(0);
    connect_with(0, "PPPPPPPPPPPPPPPPPPPP", "100-10");
    close_conn(0, "transport close"); /* the client goes while the session is looked up */
    F.session =
        json_pack("{s:s,s:[],s:n,s:b}", "sid", "SSSSSSSSSSSSSSSSSSSS", "rooms", "data", "live", 0);
    F.restore_cb(F.session, NULL, F.restore_ud);
    /* Taken from the store, so written back for the next attempt. */
    ck_assert_int_eq(F.n_open, 1);
    ck_assert_int_eq(F.n_close_recoverable, 1);
    ck_assert_ptr_null(F.replay_cb);
}
END_TEST

START_TEST(restore_fails_to_normal)
{
    open_conn(0);
    connect_with(0, "PPPPPPPPPPPPPPPPPPPP", "100-10");
    F.restore_cb(NULL, "gap", F.restore_ud);
    char sid[32], pid[32];
    connect_reply(0, 0, sid, pid);
    ck_assert_str_ne(pid, "PPPPPPPPPPPPPPPPPPPP");
    ck_assert(!H.last_recovered);
    /* A bad pid or offset does not even ask the adapter. */
    F.restore_cb = NULL;
    open_conn(1);
    connect_with(1, "short", "100-10");
    open_conn(2);
    connect_with(2, "PPPPPPPPPPPPPPPPPPPP", "100");
    ck_assert_ptr_null(F.restore_cb);
    ck_assert_uint_eq(sio_nsp_size(H.nsp), 3);
}
END_TEST

/* A batch waits (bounded) for the logged packets of its burst, so that it leaves in one pass. */
START_TEST(batch_waits_for_logged)
{
    open_conn(0);
    feed(0, "0");
    char sid[32], pid[32];
    connect_reply(0, 0, sid, pid);
    sio_socket_join(sio_nsp_socket(H.nsp, sid), "r");
    emit_room(1);
    emit_room(2);
    f_complete(1); /* 1 is in the batch, 2 still waits for its offset */
    sio_server_end_turn(H.srv);
    ck_assert_uint_eq(H.conns[0].n_out, 1);
    f_complete(1);
    sio_server_end_turn(H.srv);
    ck_assert_uint_eq(H.conns[0].n_out, 3);
    ck_assert_str_eq(out(0, 1), "2[\"n\",1,\"100-1\"]");
    ck_assert_str_eq(out(0, 2), "2[\"n\",2,\"100-2\"]");
    /* An offset that never comes: the batch goes after the bound, by its timer. */
    emit_room(3);
    emit_room(4);
    f_complete(1);
    sio_server_end_turn(H.srv);
    ck_assert_uint_eq(H.conns[0].n_out, 3);
    advance(2);
    ck_assert_uint_eq(H.conns[0].n_out, 4);
    f_complete(1);
    sio_server_end_turn(H.srv);
    ck_assert_uint_eq(H.conns[0].n_out, 5);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sio_recovery");
    TCase *p = tcase_create("protocol");
    tcase_add_test(p, offset_parse);
    suite_add_tcase(s, p);
    TCase *off = tcase_create("off");
    tcase_add_checked_fixture(off, setup_off, teardown);
    tcase_add_test(off, off_by_default);
    suite_add_tcase(s, off);
    TCase *mem = tcase_create("memory");
    tcase_add_checked_fixture(mem, setup_memory, teardown);
    tcase_add_test(mem, pid_and_offsets);
    tcase_add_test(mem, restore_memory);
    tcase_add_test(mem, not_recoverable);
    tcase_add_test(mem, log_bound);
    tcase_add_test(mem, gap_not_recoverable);
    tcase_add_test(mem, takeover_half_open);
    tcase_add_test(mem, connect_handler_defers);
    suite_add_tcase(s, mem);
    TCase *as = tcase_create("async");
    tcase_add_checked_fixture(as, setup_fake, teardown);
    tcase_add_test(as, output_waits_for_logged);
    tcase_add_test(as, async_broadcast_and_gap);
    tcase_add_test(as, restore_seam);
    tcase_add_test(as, restore_abandoned_is_saved_back);
    tcase_add_test(as, restore_fails_to_normal);
    suite_add_tcase(s, as);
    TCase *bt = tcase_create("batched");
    tcase_add_checked_fixture(bt, setup_fake_batched, teardown);
    tcase_add_test(bt, batch_waits_for_logged);
    suite_add_tcase(s, bt);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
