/* test_sio_server: the Socket.IO server model driven through a fake host (manual clock, timer list,
 * per-session outboxes and recorded closes), per sio_server.h, sio_adapter.h and the Socket.IO
 * section of the protocol notes. */
#include "eio_session.h"
#include "sio_adapter.h"
#include "sio_binary.h"
#include "sio_server.h"
#include "util_buf.h"
#include "util_log.h"

#include <check.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1000000u  /* fake clock at the start of every test (ms) */
#define MAX_CONNS 24 /* sessions per test */
#define MAX_OUT 64   /* messages recorded per session */
#define MAX_REC 32   /* handler calls recorded per kind */
#define SID_BUF 64   /* room for a socket id */

/* ---------------------------------------------------------------------------------------------- */
/* Fake host                                                                                      */

/** One message the server queued on a session. */
typedef struct sent {
    eio_msg *m;   /**< reference held by the fake host */
    bool vol;     /**< the volatile_ flag it was sent with */
    bool binary;  /**< m->binary */
    char *text;   /**< NUL-terminated copy of the wire bytes ("4" + packet for text) */
    size_t len;   /**< wire length */
    uint64_t seq; /**< global order of host calls */
} sent;

/** One fake Engine.IO session. */
typedef struct fconn {
    int idx;
    sio_client *c;
    bool open;            /**< sio_client_closed not called yet */
    bool refuse_volatile; /**< send returns -1 (not queued) for volatile messages */
    sent out[MAX_OUT];
    size_t n_out;
    int n_close;              /**< host close calls */
    const char *close_reason; /**< reason of the last one */
    uint64_t close_seq;       /**< global order of the last one */
    int late_close;           /**< close calls after sio_client_closed (bad) */
    size_t held;              /**< what the last hold call said */
    int n_hold;               /**< hold calls */
    size_t vol_groups[8];     /**< sizes of the send_volatile calls */
    int n_vol_groups;
} fconn;

enum { T_ARMED, T_FIRED, T_CANCELLED };

/** One fake timer; kept until the end of the test so misuse of stale handles is detected. */
typedef struct ftimer {
    struct ftimer *next;
    uint64_t at;
    void (*cb)(void *);
    void *arg;
    int state;
} ftimer;

/** One call of a namespace event handler (per-event or catch-all). */
typedef struct ev_rec {
    const char *via; /**< "event" or "any" */
    char nsp[32];
    char sid[SID_BUF];
    char *event;  /**< owned */
    json_t *args; /**< reference */
    bool had_ack;
} ev_rec;

/** One call of a disconnect handler, with what the socket looked like then. */
typedef struct disc_rec {
    char nsp[32];
    char sid[SID_BUF];
    char *reason;   /**< owned copy */
    size_t rooms;   /**< sio_socket_room_count */
    bool in_r;      /**< still in room "r" */
    bool connected; /**< sio_socket_connected */
    bool findable;  /**< sio_nsp_socket still finds it */
    int emit_rc;    /**< sio_socket_emit on itself */
} disc_rec;

/** One call of a server-ack callback. */
typedef struct ack_rec {
    char sid[SID_BUF];
    json_t *args; /**< reference or NULL */
    char *err;    /**< owned copy or NULL */
} ack_rec;

/** One call of a broadcast-ack callback. */
typedef struct bc_rec {
    json_t *replies; /**< deep copy */
    size_t expected;
    bool timed_out;
} bc_rec;

enum { C_ACCEPT, C_REJECT, C_REJECT_NODATA, C_EMIT, C_REJECT_PENDING_ACK, C_CLOSE_TARGET };
enum { A_DROP, A_SEND, A_SEND_NULL, A_SEND_BINARY, A_KEEP };
enum { E_NONE, E_DISCONNECT, E_DISCONNECT_CLOSE };
enum { D_NONE, D_EMIT_OTHERS, D_DISCONNECT_TARGET };
enum { AC_NONE, AC_DISCONNECT };

static struct {
    uint64_t now, seq;
    ftimer *timers, **tail;
    int bad; /**< host ops or handlers called with wrong arguments, stale timers, ... */
    sio_server *srv;
    sio_nsp *root, *chat, *bare;
    fconn conns[MAX_CONNS];
    int n_conns;
    bool close_sync;  /**< host close calls sio_client_closed at once */
    int expect_drain; /**< timers the test expects armed once every client closed */

    /* handler behaviour */
    int connect_mode, ack_mode, ev_action, disc_mode, ack_cb_action;
    char disc_target[SID_BUF]; /**< D_DISCONNECT_TARGET: socket of / to disconnect once */
    bool disc_target_close;    /**< ... with close */
    sio_ack *kept_ack;         /**< A_KEEP */
    int emit_after_rc;         /**< E_DISCONNECT*: sio_socket_emit after the disconnect */
    int disc_emit_rc;          /**< D_EMIT_OTHERS: last sio_nsp_emit result */
    int *each_seen;            /**< sio_nsp_each_local visits per socket of each_socks */
    sio_socket **each_socks;

    /* handler records */
    int n_connect;
    json_t *auth; /**< deep copy of the last auth */
    char connect_sid[SID_BUF];
    char connect_nsp[32];
    ev_rec ev[MAX_REC];
    int n_ev;
    disc_rec disc[MAX_REC];
    int n_disc;
    ack_rec ack[MAX_REC];
    int n_ack;
    bc_rec bc[MAX_REC];
    int n_bc;
    json_t *fetched; /**< deep copy of the last fetch result */
    int n_fetch;
} H;

static int host_send(void *conn, eio_msg *m, bool volatile_, void *host)
{
    fconn *fc = conn;
    if (host != &H || !fc || fc < H.conns || fc >= H.conns + MAX_CONNS || !fc->open) {
        H.bad++;
        return -1;
    }
    if (volatile_ && fc->refuse_volatile)
        return -1;
    if (fc->n_out == MAX_OUT) {
        H.bad++;
        return -1;
    }
    sent *s = &fc->out[fc->n_out++];
    s->m = eio_msg_ref(m);
    s->vol = volatile_;
    s->binary = m->binary;
    s->len = m->len;
    s->text = malloc(m->len + 1);
    memcpy(s->text, m->wire, m->len);
    s->text[m->len] = '\0';
    s->seq = ++H.seq;
    return 0;
}

static void host_close(void *conn, const char *reason, void *host)
{
    fconn *fc = conn;
    if (host != &H || !fc || !fc->open) {
        if (fc)
            fc->late_close++;
        H.bad++;
        return;
    }
    fc->n_close++;
    fc->close_reason = reason;
    fc->close_seq = ++H.seq;
    if (H.close_sync) {
        fc->open = false;
        sio_client_closed(fc->c, reason);
    }
}

static uint64_t host_now(void *host)
{
    if (host != &H)
        H.bad++;
    return H.now;
}

static void *host_timer_start(void *host, uint64_t delay_ms, void (*cb)(void *arg), void *arg)
{
    if (host != &H || !cb)
        H.bad++;
    ftimer *t = calloc(1, sizeof *t);
    t->at = H.now + delay_ms;
    t->cb = cb;
    t->arg = arg;
    t->state = T_ARMED;
    *H.tail = t;
    H.tail = &t->next;
    return t;
}

static void host_timer_cancel(void *host, void *timer)
{
    if (host != &H)
        H.bad++;
    for (ftimer *t = H.timers; t; t = t->next) {
        if (t == timer) {
            if (t->state != T_ARMED)
                H.bad++; /* cancelling a timer that fired or was cancelled */
            t->state = T_CANCELLED;
            return;
        }
    }
    H.bad++; /* not a handle we returned */
}

static void host_hold(void *conn, size_t n, void *host)
{
    fconn *fc = conn;
    if (host != &H || !fc || !fc->open)
        H.bad++;
    fc->held = n;
    fc->n_hold++;
}

/* The volatile group: recorded, then queued message by message as send would. */
static int host_send_volatile(void *conn, eio_msg *const *m, size_t n, void *host)
{
    fconn *fc = conn;
    if (host != &H || !fc || !fc->open || n == 0) {
        H.bad++;
        return -1;
    }
    if (fc->refuse_volatile)
        return -1;
    if (fc->n_vol_groups < 8)
        fc->vol_groups[fc->n_vol_groups++] = n;
    for (size_t i = 0; i < n; i++)
        if (host_send(conn, m[i], true, host) != 0)
            H.bad++;
    return 0;
}

static const sio_host_ops k_ops = {host_send, host_close, host_now, host_timer_start,
                                   host_timer_cancel};

/* The host of a node: groups volatile packets, hears what the Socket.IO side holds. */
static const sio_host_ops k_ops_full = {host_send,          host_close,        host_now,
                                        host_timer_start,   host_timer_cancel, NULL,
                                        host_send_volatile, host_hold};

/* Moves the clock forward by ms, firing due timers in deadline order (start order on ties). */
static void advance(uint64_t ms)
{
    uint64_t target = H.now + ms;
    for (;;) {
        ftimer *next = NULL;
        for (ftimer *t = H.timers; t; t = t->next)
            if (t->state == T_ARMED && t->at <= target && (!next || t->at < next->at))
                next = t;
        if (!next)
            break;
        if (next->at > H.now)
            H.now = next->at;
        next->state = T_FIRED;
        next->cb(next->arg);
    }
    H.now = target;
}

static int armed_timers(void)
{
    int n = 0;
    for (ftimer *t = H.timers; t; t = t->next)
        n += t->state == T_ARMED;
    return n;
}

/* ---------------------------------------------------------------------------------------------- */
/* Handlers                                                                                       */

/* Copies src into dst[cap], with anything but printable ASCII shown as '?' (so a failure message
 * never carries the bytes of a freed socket). */
static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "(null)");
    for (char *p = dst; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
}

static void on_ack(sio_socket *s, json_t *args, const char *err, void *ud)
{
    if (ud != &H.ack || !s || (args == NULL) == (err == NULL))
        H.bad++;
    if (H.n_ack < MAX_REC) {
        ack_rec *r = &H.ack[H.n_ack];
        copy_str(r->sid, sizeof r->sid, s ? sio_socket_id(s) : NULL);
        r->args = args ? json_incref(args) : NULL;
        r->err = err ? strdup(err) : NULL;
    }
    H.n_ack++;
    if (H.ack_cb_action == AC_DISCONNECT) {
        H.ack_cb_action = AC_NONE;
        sio_socket_disconnect(s, false);
    }
}

static void on_connect_generic(sio_socket *s, const json_t *auth, void *ud)
{
    if (ud != &H || !s || !auth)
        H.bad++;
    H.n_connect++;
    json_decref(H.auth);
    H.auth = auth ? json_deep_copy(auth) : NULL;
    copy_str(H.connect_sid, sizeof H.connect_sid, sio_socket_id(s));
    copy_str(H.connect_nsp, sizeof H.connect_nsp, sio_nsp_name(sio_socket_nsp(s)));
}

static bool on_connect(sio_socket *s, const json_t *auth, sio_reject *rej, void *ud)
{
    on_connect_generic(s, auth, ud);
    switch (H.connect_mode) {
    case C_REJECT:
        /* Whatever a refusing handler did first must not reach the client. */
        sio_socket_join(s, "lobby");
        sio_socket_emit(s, "hello", json_pack("[i]", 1));
        sio_reject_set(rej, "not authorized", json_pack("{s:i}", "code", 42));
        return false;
    case C_REJECT_NODATA: sio_reject_set(rej, "go away", NULL); return false;
    case C_REJECT_PENDING_ACK:
        sio_socket_emit_ack(s, "q", NULL, 1000, on_ack, &H.ack);
        sio_reject_set(rej, "no", NULL);
        return false;
    case C_CLOSE_TARGET: {
        /* Disconnects (close = true) the target socket of "/", which may be on this session. */
        sio_socket *t = sio_nsp_socket(H.root, H.disc_target);
        if (t)
            sio_socket_disconnect(t, true);
        return true;
    }
    case C_EMIT: {
        const uint8_t b[] = {1, 2};
        if (sio_socket_emit(s, "hello", json_pack("[i]", 1)) != 0)
            H.bad++;
        if (sio_socket_emit(s, "bin", json_pack("[o]", sio_binary_new(b, sizeof b))) != 0)
            H.bad++;
        if (sio_socket_join(s, "lobby") != 0)
            H.bad++;
        return true;
    }
    default: return true;
    }
}

static void handle_event(const char *via, sio_socket *s, const char *event, json_t *args,
                         sio_ack *ack)
{
    if (H.n_ev < MAX_REC) {
        ev_rec *r = &H.ev[H.n_ev];
        r->via = via;
        copy_str(r->nsp, sizeof r->nsp, sio_nsp_name(sio_socket_nsp(s)));
        copy_str(r->sid, sizeof r->sid, sio_socket_id(s));
        r->event = strdup(event);
        r->args = json_incref(args);
        r->had_ack = ack != NULL;
    }
    H.n_ev++;
    switch (H.ev_action) {
    case E_DISCONNECT:
        sio_socket_disconnect(s, false);
        H.emit_after_rc = sio_socket_emit(s, "after", NULL);
        break;
    case E_DISCONNECT_CLOSE:
        sio_socket_disconnect(s, true);
        H.emit_after_rc = sio_socket_emit(s, "after", NULL);
        break;
    default: break;
    }
    if (!ack)
        return;
    switch (H.ack_mode) {
    case A_DROP: sio_ack_drop(ack); break;
    case A_SEND: sio_ack_send(ack, json_pack("[s]", "ok")); break;
    case A_SEND_NULL: sio_ack_send(ack, NULL); break;
    case A_SEND_BINARY: {
        const uint8_t b[] = {9, 8, 7};
        sio_ack_send(ack, json_pack("[o]", sio_binary_new(b, sizeof b)));
        break;
    }
    case A_KEEP:
        if (H.kept_ack)
            H.bad++;
        H.kept_ack = ack;
        break;
    }
}

static void on_any(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    if (ud != &H || !json_is_array(args))
        H.bad++;
    handle_event("any", s, event, args, ack);
}

static void on_event(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    if (ud != &H.ev || !json_is_array(args))
        H.bad++;
    handle_event("event", s, event, args, ack);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    if (ud != &H || !reason)
        H.bad++;
    if (H.n_disc < MAX_REC) {
        disc_rec *r = &H.disc[H.n_disc];
        sio_nsp *nsp = sio_socket_nsp(s);
        copy_str(r->nsp, sizeof r->nsp, sio_nsp_name(nsp));
        copy_str(r->sid, sizeof r->sid, sio_socket_id(s));
        r->reason = strdup(reason ? reason : "(null)");
        r->rooms = sio_socket_room_count(s);
        r->in_r = sio_socket_in_room(s, "r");
        r->connected = sio_socket_connected(s);
        r->findable = sio_nsp_socket(nsp, sio_socket_id(s)) != NULL;
        r->emit_rc = sio_socket_emit(s, "gone", NULL);
    }
    H.n_disc++;
    if (H.disc_mode == D_EMIT_OTHERS) {
        H.disc_emit_rc =
            sio_nsp_emit(sio_socket_nsp(s), NULL, "left", json_pack("[s]", sio_socket_id(s)));
    } else if (H.disc_mode == D_DISCONNECT_TARGET && H.disc_target[0]) {
        sio_socket *t = sio_nsp_socket(H.root, H.disc_target);
        H.disc_target[0] = '\0';
        if (t)
            sio_socket_disconnect(t, H.disc_target_close);
    }
}

static void on_bc(sio_nsp *nsp, json_t *replies, size_t expected, bool timed_out, void *ud)
{
    if (ud != &H.bc || !nsp || !json_is_array(replies))
        H.bad++;
    if (H.n_bc < MAX_REC) {
        bc_rec *r = &H.bc[H.n_bc];
        r->replies = json_deep_copy(replies);
        r->expected = expected;
        r->timed_out = timed_out;
    }
    H.n_bc++;
}

static void on_fetch(sio_nsp *nsp, json_t *sockets, const char *err, void *ud)
{
    if (ud != &H.fetched || !nsp || err || !json_is_array(sockets))
        H.bad++;
    json_decref(H.fetched);
    H.fetched = sockets ? json_deep_copy(sockets) : NULL;
    H.n_fetch++;
}

/* ---------------------------------------------------------------------------------------------- */
/* Fixture                                                                                        */

/* Starts a test: a server with "/" (per-event handler for "chat"), "/chat" (the same handlers) and
 * "/bare" (no handlers at all). connect_timeout_ms 0 keeps the default. */
static void fx_init_with(const sio_server_config *cfg, const sio_host_ops *ops)
{
    memset(&H, 0, sizeof H);
    H.now = T0;
    H.tail = &H.timers;
    H.srv = sio_server_new(cfg, ops, &H);
    ck_assert_ptr_nonnull(H.srv);
    const sio_nsp_handlers h = {on_connect, on_disconnect, on_any};
    H.root = sio_server_of(H.srv, "/", &h, &H);
    H.chat = sio_server_of(H.srv, "/chat", &h, &H);
    H.bare = sio_server_of(H.srv, "/bare", NULL, NULL);
    sio_nsp_on(H.root, "chat", on_event, &H.ev);
    ck_assert(sio_server_find_nsp(H.srv, "/") == H.root);
    ck_assert(sio_server_find_nsp(H.srv, "/chat") == H.chat);
    ck_assert_ptr_null(sio_server_find_nsp(H.srv, "/nope"));
}

static void fx_init_timeout(uint32_t connect_timeout_ms)
{
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    if (connect_timeout_ms)
        cfg.connect_timeout_ms = connect_timeout_ms;
    fx_init_with(&cfg, &k_ops);
}

static void fx_init(void)
{
    fx_init_timeout(0);
}

/* The host reports that the session closed. */
static void close_conn(fconn *fc, const char *reason)
{
    ck_assert(fc->open);
    fc->open = false;
    sio_client_closed(fc->c, reason);
}

/* Ends a test: closes every session, fires the timers still armed (as the broker's teardown does,
 * so their owners release what they hold), frees the server, checks that nothing was left behind
 * (no unexpected timer, no host misuse) and frees what the fake host recorded. */
static void fx_finish(void)
{
    for (int i = 0; i < H.n_conns; i++)
        if (H.conns[i].open)
            close_conn(&H.conns[i], "transport close");
    int armed = armed_timers();
    for (;;) {
        ftimer *next = NULL;
        for (ftimer *t = H.timers; t; t = t->next)
            if (t->state == T_ARMED && (!next || t->at < next->at))
                next = t;
        if (!next)
            break;
        next->state = T_FIRED;
        next->cb(next->arg);
    }
    sio_server_free(H.srv);
    H.srv = NULL;
    int bad = H.bad;
    bool kept = H.kept_ack != NULL;

    while (H.timers) {
        ftimer *t = H.timers;
        H.timers = t->next;
        free(t);
    }
    for (int i = 0; i < H.n_conns; i++) {
        for (size_t k = 0; k < H.conns[i].n_out; k++) {
            eio_msg_unref(H.conns[i].out[k].m);
            free(H.conns[i].out[k].text);
        }
    }
    for (int i = 0; i < H.n_ev && i < MAX_REC; i++) {
        free(H.ev[i].event);
        json_decref(H.ev[i].args);
    }
    for (int i = 0; i < H.n_disc && i < MAX_REC; i++)
        free(H.disc[i].reason);
    for (int i = 0; i < H.n_ack && i < MAX_REC; i++) {
        json_decref(H.ack[i].args);
        free(H.ack[i].err);
    }
    for (int i = 0; i < H.n_bc && i < MAX_REC; i++)
        json_decref(H.bc[i].replies);
    json_decref(H.auth);
    json_decref(H.fetched);

    ck_assert_msg(armed == H.expect_drain, "%d timer(s) still armed after every client closed",
                  armed);
    ck_assert_msg(bad == 0, "%d bad host/handler call(s)", bad);
    ck_assert_msg(!kept, "test left an ack handle");
}

/* Opens a session with handshake hs, or a default one when hs is NULL. */
static fconn *open_conn_hs(sio_handshake_info *hs)
{
    ck_assert_int_lt(H.n_conns, MAX_CONNS);
    fconn *fc = &H.conns[H.n_conns];
    fc->idx = H.n_conns++;
    fc->open = true;
    sio_handshake_info def = {
        .headers = hs ? NULL : json_pack("{s:s,s:s}", "host", "localhost", "user-agent", "check"),
        .query = hs ? NULL : json_pack("{s:s,s:s}", "EIO", "4", "transport", "websocket"),
        .address = "127.0.0.1",
        .url = "/socket.io/?EIO=4&transport=websocket",
        .secure = false,
        .xdomain = false,
        .issued_ms = 1700000000000ull,
    };
    fc->c = sio_client_open(H.srv, fc, hs ? hs : &def);
    ck_assert_ptr_nonnull(fc->c);
    return fc;
}

static fconn *open_conn(void)
{
    return open_conn_hs(NULL);
}

/* Feeds one Engine.IO text message given in its wire form ("4" + Socket.IO packet). */
static void feed(fconn *fc, const char *wire)
{
    ck_assert_msg(wire[0] == '4', "not an Engine.IO message: %s", wire);
    sio_client_message(fc->c, (const uint8_t *)wire + 1, strlen(wire) - 1, false);
}

/* Feeds one Engine.IO binary message. */
static void feed_bin(fconn *fc, const void *data, size_t len)
{
    sio_client_message(fc->c, data, len, true);
}

static const char *out_text(fconn *fc, size_t i)
{
    ck_assert_msg(i < fc->n_out, "conn %d: no message #%zu (%zu sent)", fc->idx, i, fc->n_out);
    ck_assert_msg(!fc->out[i].binary, "conn %d: message #%zu is binary", fc->idx, i);
    return fc->out[i].text;
}

static const char *last_text(fconn *fc)
{
    ck_assert_msg(fc->n_out > 0, "conn %d: nothing sent", fc->idx);
    return out_text(fc, fc->n_out - 1);
}

static void expect_out(fconn *fc, size_t i, const char *want)
{
    ck_assert_str_eq(out_text(fc, i), want);
}

static void expect_bin(fconn *fc, size_t i, const void *bytes, size_t len)
{
    ck_assert_msg(i < fc->n_out, "conn %d: no message #%zu (%zu sent)", fc->idx, i, fc->n_out);
    ck_assert_msg(fc->out[i].binary, "conn %d: message #%zu is not binary: %s", fc->idx, i,
                  fc->out[i].text);
    ck_assert_uint_eq(fc->out[i].len, len);
    ck_assert(memcmp(fc->out[i].text, bytes, len) == 0);
}

static bool url_safe(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

/* Checks a CONNECT reply of nsp (`40{"sid":...}` or `40/nsp,{"sid":...}` with sid the only key,
 * 20 URL-safe characters) and copies the sid out. */
static void parse_sid(const char *text, const char *nsp, char *sid)
{
    char prefix[128];
    if (strcmp(nsp, "/") == 0)
        snprintf(prefix, sizeof prefix, "40");
    else
        snprintf(prefix, sizeof prefix, "40%s,", nsp);
    size_t pl = strlen(prefix);
    ck_assert_msg(strncmp(text, prefix, pl) == 0, "CONNECT reply %s does not start with %s", text,
                  prefix);
    json_error_t je;
    json_t *o = json_loads(text + pl, 0, &je);
    ck_assert_msg(o && json_is_object(o), "CONNECT reply %s: payload is not an object", text);
    ck_assert_msg(json_object_size(o) == 1, "CONNECT reply %s: sid must be the only key", text);
    const char *v = json_string_value(json_object_get(o, "sid"));
    ck_assert_msg(v != NULL, "CONNECT reply %s has no sid", text);
    ck_assert_uint_eq(strlen(v), 20);
    ck_assert_msg(url_safe(v), "sid %s is not URL-safe", v);
    snprintf(sid, SID_BUF, "%s", v);
    json_decref(o);
}

/* Connects the session to nsp (auth JSON text or NULL) and returns the new socket. */
static sio_socket *connect_nsp(fconn *fc, const char *nsp, const char *auth)
{
    char wire[256];
    if (strcmp(nsp, "/") == 0)
        snprintf(wire, sizeof wire, "40%s", auth ? auth : "");
    else
        snprintf(wire, sizeof wire, "40%s,%s", nsp, auth ? auth : "");
    size_t before = fc->n_out;
    feed(fc, wire);
    ck_assert_msg(fc->n_out > before, "no reply to %s", wire);
    char sid[SID_BUF];
    parse_sid(out_text(fc, before), nsp, sid);
    sio_nsp *n = sio_server_find_nsp(H.srv, nsp);
    ck_assert_ptr_nonnull(n);
    sio_socket *s = sio_nsp_socket(n, sid);
    ck_assert_msg(s != NULL, "socket %s not found in %s", sid, nsp);
    ck_assert_str_eq(sio_socket_id(s), sid);
    return s;
}

/* Parses the ack id of an EVENT with id: text must start with prefix ("42" or "42/chat,"). */
static int64_t ack_id_of(const char *text, const char *prefix)
{
    size_t pl = strlen(prefix);
    ck_assert_msg(strncmp(text, prefix, pl) == 0, "%s does not start with %s", text, prefix);
    const char *p = text + pl;
    ck_assert_msg(*p >= '0' && *p <= '9', "%s carries no ack id", text);
    int64_t id = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        id = id * 10 + (*p - '0');
    ck_assert_msg(*p == '[', "%s: ack id not followed by the payload", text);
    return id;
}

/* True when v equals the JSON text want. */
static bool json_is(const json_t *v, const char *want)
{
    json_error_t je;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &je);
    ck_assert_msg(w != NULL, "bad expected JSON %s", want);
    bool eq = v && json_equal((json_t *)v, w);
    json_decref(w);
    return eq;
}

static void expect_json(const json_t *v, const char *want)
{
    char *got = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    bool eq = json_is(v, want);
    ck_assert_msg(eq, "got %s, want %s", got ? got : "NULL", want);
    free(got);
}

static bool json_array_has_str(const json_t *a, const char *s)
{
    for (size_t i = 0; i < json_array_size(a); i++)
        if (json_is_string(json_array_get(a, i)) &&
            strcmp(json_string_value(json_array_get(a, i)), s) == 0)
            return true;
    return false;
}

/* True when nsp lists room in sio_nsp_local_rooms. */
static bool nsp_lists_room(sio_nsp *nsp, const char *room)
{
    json_t *rooms = sio_nsp_local_rooms(nsp);
    bool has = json_array_has_str(rooms, room);
    json_decref(rooms);
    return has;
}

static size_t nsp_room_total(sio_nsp *nsp)
{
    json_t *rooms = sio_nsp_local_rooms(nsp);
    size_t n = json_array_size(rooms);
    json_decref(rooms);
    return n;
}

/* Index of the first message of fc, from index from, equal to text; -1 if none. */
static long find_out(fconn *fc, size_t from, const char *text)
{
    for (size_t i = from; i < fc->n_out; i++)
        if (!fc->out[i].binary && strcmp(fc->out[i].text, text) == 0)
            return (long)i;
    return -1;
}

/* ---------------------------------------------------------------------------------------------- */
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

/* ---------------------------------------------------------------------------------------------- */
/* Rooms                                                                                          */

static void collect_room(const char *room, void *ud)
{
    json_array_append_new(ud, json_string(room));
}

START_TEST(rooms_join_leave)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    const char *id = sio_socket_id(s);
    ck_assert_int_eq(sio_socket_join(s, "a"), 0);
    ck_assert_int_eq(sio_socket_join(s, "b"), 0);
    ck_assert_int_eq(sio_socket_join(s, "a"), 0); /* already in */
    ck_assert_uint_eq(sio_socket_room_count(s), 3);
    ck_assert(sio_socket_in_room(s, "a"));
    ck_assert(sio_socket_in_room(s, "b"));
    ck_assert(sio_socket_in_room(s, id));
    ck_assert(!sio_socket_in_room(s, "c"));
    json_t *rooms = json_array();
    sio_socket_rooms(s, collect_room, rooms);
    ck_assert_uint_eq(json_array_size(rooms), 3);
    ck_assert_str_eq(json_string_value(json_array_get(rooms, 0)), id);
    ck_assert(json_array_has_str(rooms, "a"));
    ck_assert(json_array_has_str(rooms, "b"));
    json_decref(rooms);
    ck_assert(nsp_lists_room(H.root, "a"));
    ck_assert(nsp_lists_room(H.root, "b"));
    ck_assert(nsp_lists_room(H.root, id));
    ck_assert_uint_eq(nsp_room_total(H.root), 3);

    ck_assert_int_eq(sio_socket_leave(s, "a"), 0);
    ck_assert_uint_eq(sio_socket_room_count(s), 2);
    ck_assert(!sio_socket_in_room(s, "a"));
    ck_assert(!nsp_lists_room(H.root, "a")); /* empty rooms disappear */
    ck_assert(!sio_nsp_has_room(H.root, "a"));
    sio_socket_leave(s, "zzz");
    ck_assert_uint_eq(sio_socket_room_count(s), 2);

    sio_socket_join(s, "c");
    sio_socket_leave_all(s);
    ck_assert(!sio_socket_in_room(s, "b"));
    ck_assert(!sio_socket_in_room(s, "c"));
    ck_assert(!sio_nsp_has_room(H.root, "b"));
    ck_assert(!sio_nsp_has_room(H.root, "c"));
    ck_assert(!nsp_lists_room(H.root, "b"));
    fx_finish();
}
END_TEST

START_TEST(rooms_own_id_room)
{
    fx_init();
    fconn *a = open_conn();
    fconn *b = open_conn();
    sio_socket *s1 = connect_nsp(a, "/", NULL);
    sio_socket *s2 = connect_nsp(b, "/", NULL);
    ck_assert(sio_nsp_has_room(H.root, sio_socket_id(s1)));
    ck_assert(nsp_lists_room(H.root, sio_socket_id(s1)));
    ck_assert(nsp_lists_room(H.root, sio_socket_id(s2)));
    ck_assert(!sio_socket_in_room(s2, sio_socket_id(s1)));

    size_t ka = a->n_out, kb = b->n_out;
    const char *to[] = {sio_socket_id(s1)};
    sio_bcast_opts o = {to, 1, NULL, 0, 0};
    ck_assert_int_eq(sio_nsp_emit(H.root, &o, "dm", NULL), 1);
    ck_assert_uint_eq(a->n_out, ka + 1);
    ck_assert_uint_eq(b->n_out, kb);
    expect_out(a, ka, "42[\"dm\"]");
    fx_finish();
}
END_TEST

START_TEST(rooms_per_namespace)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    sio_socket *c = connect_nsp(a, "/chat", NULL);
    sio_socket_join(s, "r");
    ck_assert(sio_nsp_has_room(H.root, "r"));
    ck_assert(!sio_nsp_has_room(H.chat, "r"));
    ck_assert(!sio_socket_in_room(c, "r"));
    ck_assert(!nsp_lists_room(H.chat, "r"));
    ck_assert(!sio_nsp_has_room(H.chat, sio_socket_id(s)));

    size_t k = a->n_out;
    const char *r[] = {"r"};
    sio_bcast_opts o = {r, 1, NULL, 0, 0};
    ck_assert_int_eq(sio_nsp_emit(H.chat, &o, "x", NULL), 0);
    const char *sr[] = {sio_socket_id(s)};
    sio_bcast_opts os = {sr, 1, NULL, 0, 0};
    ck_assert_int_eq(sio_nsp_emit(H.chat, &os, "x", NULL), 0);
    ck_assert_uint_eq(a->n_out, k);

    sio_socket_join(c, "r");
    sio_socket_leave(s, "r");
    ck_assert(!sio_nsp_has_room(H.root, "r"));
    ck_assert(sio_nsp_has_room(H.chat, "r"));
    ck_assert(sio_socket_in_room(c, "r"));
    ck_assert_int_eq(sio_nsp_emit(H.chat, &o, "x", NULL), 1);
    expect_out(a, k, "42/chat,[\"x\"]");
    ck_assert_int_eq(sio_nsp_emit(H.root, &o, "x", NULL), 0);
    fx_finish();
}
END_TEST

static void collect_socket(sio_socket *s, void *ud)
{
    sio_socket **seen = ud;
    for (int i = 0; i < 4; i++) {
        if (!seen[i]) {
            seen[i] = s;
            return;
        }
    }
    ck_abort_msg("more sockets than expected");
}

/* The sockets and the handshake of one client (the introspection of a session uses them). */
START_TEST(client_sockets_and_handshake)
{
    fx_init();
    fconn *a = open_conn();
    fconn *b = open_conn();
    sio_socket *none[4] = {NULL};
    sio_client_each_socket(a->c, collect_socket, none);
    ck_assert_ptr_null(none[0]);

    sio_socket *s = connect_nsp(a, "/", NULL);
    sio_socket *c = connect_nsp(a, "/chat", NULL);
    sio_socket *other = connect_nsp(b, "/", NULL);
    sio_socket *seen[4] = {NULL};
    sio_client_each_socket(a->c, collect_socket, seen);
    ck_assert_ptr_eq(seen[0], c); /* newest first */
    ck_assert_ptr_eq(seen[1], s);
    ck_assert_ptr_null(seen[2]);
    ck_assert_ptr_eq(sio_socket_client(s), a->c);
    ck_assert_ptr_ne(sio_socket_client(other), a->c);

    const json_t *hs = sio_client_handshake(a->c);
    ck_assert_str_eq(json_string_value(json_object_get(hs, "address")), "127.0.0.1");
    ck_assert_int_eq(json_integer_value(json_object_get(hs, "issued")), 1700000000000ll);
    ck_assert_ptr_null(json_object_get(hs, "auth"));

    /* A socket that leaves its namespace is no longer listed. */
    feed(a, "41/chat,");
    memset(seen, 0, sizeof seen);
    sio_client_each_socket(a->c, collect_socket, seen);
    ck_assert_ptr_eq(seen[0], s);
    ck_assert_ptr_null(seen[1]);
    fx_finish();
}
END_TEST

START_TEST(rooms_left_on_disconnect)
{
    fx_init();
    fconn *a = open_conn();
    fconn *b = open_conn();
    sio_socket *s1 = connect_nsp(a, "/", NULL);
    sio_socket *s2 = connect_nsp(b, "/", NULL);
    char id1[SID_BUF], id2[SID_BUF];
    copy_str(id1, sizeof id1, sio_socket_id(s1));
    copy_str(id2, sizeof id2, sio_socket_id(s2));
    sio_socket_join(s1, "r");
    sio_socket_join(s1, "solo");
    sio_socket_join(s2, "r");

    feed(a, "41");
    ck_assert_int_eq(H.n_disc, 1);
    ck_assert_str_eq(H.disc[0].sid, id1);
    ck_assert(!H.disc[0].in_r); /* rooms are already left in the handler */
    ck_assert_uint_eq(H.disc[0].rooms, 1);
    ck_assert(!H.disc[0].connected);
    ck_assert(!H.disc[0].findable);
    ck_assert_int_eq(H.disc[0].emit_rc, -1);
    ck_assert(!nsp_lists_room(H.root, "solo"));
    ck_assert(!nsp_lists_room(H.root, id1));
    ck_assert(!sio_nsp_has_room(H.root, id1));
    ck_assert(nsp_lists_room(H.root, "r"));
    const char *r[] = {"r"};
    sio_bcast_opts o = {r, 1, NULL, 0, 0};
    ck_assert_int_eq(sio_nsp_emit(H.root, &o, "x", NULL), 1);

    close_conn(b, "transport close");
    ck_assert_int_eq(H.n_disc, 2);
    ck_assert_str_eq(H.disc[1].reason, "transport close");
    ck_assert(!H.disc[1].in_r);
    ck_assert_uint_eq(nsp_room_total(H.root), 0);
    ck_assert(!sio_nsp_has_room(H.root, "r"));
    ck_assert(!sio_nsp_has_room(H.root, id2));
    ck_assert_uint_eq(sio_nsp_size(H.root), 0);
    fx_finish();
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Broadcasts                                                                                     */

/* Opens n sessions connected to "/" (sockets into s[]). */
static void open_n(int n, fconn **fc, sio_socket **s)
{
    for (int i = 0; i < n; i++) {
        fc[i] = open_conn();
        s[i] = connect_nsp(fc[i], "/", NULL);
    }
}

START_TEST(bcast_to_all)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    fconn *d = open_conn();
    connect_nsp(d, "/chat", NULL);
    size_t kd = d->n_out;

    ck_assert_int_eq(sio_nsp_emit(H.root, NULL, "news", json_pack("[i]", 1)), 3);
    eio_msg *m = fc[0]->out[fc[0]->n_out - 1].m;
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(fc[i]->n_out, 2);
        expect_out(fc[i], 1, "42[\"news\",1]");
        ck_assert(!fc[i]->out[1].vol);
        ck_assert_msg(fc[i]->out[1].m == m, "conn %d got its own copy of the message", i);
    }
    ck_assert_uint_eq(m->refs, 3); /* only the host's references remain */
    ck_assert_uint_eq(d->n_out, kd);

    ck_assert_int_eq(sio_nsp_emit(H.chat, NULL, "x", NULL), 1);
    sio_bcast_opts local = {NULL, 0, NULL, 0, SIO_BC_LOCAL};
    ck_assert_int_eq(sio_nsp_emit(H.root, &local, "local", NULL), 3);
    for (int i = 0; i < 3; i++)
        expect_out(fc[i], 2, "42[\"local\"]");
    expect_out(d, kd, "42/chat,[\"x\"]");
    fx_finish();
}
END_TEST

START_TEST(bcast_rooms_and_except)
{
    fx_init();
    fconn *fc[4];
    sio_socket *s[4];
    open_n(4, fc, s);
    sio_socket_join(s[0], "x");
    sio_socket_join(s[1], "x");
    sio_socket_join(s[1], "y");
    sio_socket_join(s[2], "y");
    /* s[3] is in no room */

    struct {
        const char *rooms[3];
        size_t n_rooms;
        const char *except[3];
        size_t n_except;
        bool want[4];
    } cases[] = {
        {{"x"}, 1, {NULL}, 0, {true, true, false, false}},
        {{"x", "y"}, 2, {NULL}, 0, {true, true, true, false}}, /* s[1] once */
        {{"x", "y", "x"}, 3, {NULL}, 0, {true, true, true, false}},
        {{NULL}, 0, {"y"}, 1, {true, false, false, true}},
        {{NULL}, 0, {"ID0"}, 1, {false, true, true, true}},
        {{"x", "y"}, 2, {"x"}, 1, {false, false, true, false}},
        {{"x", "y"}, 2, {"ID1", "ID2"}, 2, {true, false, false, false}},
        {{"ID3", "x"}, 2, {NULL}, 0, {true, true, false, true}},
        {{"nobody"}, 1, {NULL}, 0, {false, false, false, false}},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const char *rooms[3], *except[3];
        for (size_t k = 0; k < 3; k++) {
            const char *r = cases[ci].rooms[k], *e = cases[ci].except[k];
            rooms[k] = r && strncmp(r, "ID", 2) == 0 ? sio_socket_id(s[r[2] - '0']) : r;
            except[k] = e && strncmp(e, "ID", 2) == 0 ? sio_socket_id(s[e[2] - '0']) : e;
        }
        sio_bcast_opts o = {rooms, cases[ci].n_rooms, except, cases[ci].n_except, 0};
        size_t before[4];
        int want_n = 0;
        for (int i = 0; i < 4; i++) {
            before[i] = fc[i]->n_out;
            want_n += cases[ci].want[i];
        }
        char ev[32];
        snprintf(ev, sizeof ev, "case%zu", ci);
        int n = sio_nsp_emit(H.root, &o, ev, NULL);
        ck_assert_msg(n == want_n, "case %zu: %d targets, want %d", ci, n, want_n);
        char want[64];
        snprintf(want, sizeof want, "42[\"%s\"]", ev);
        for (int i = 0; i < 4; i++) {
            size_t got = fc[i]->n_out - before[i];
            ck_assert_msg(got == (cases[ci].want[i] ? 1u : 0u),
                          "case %zu: socket %d got %zu message(s)", ci, i, got);
            if (got)
                expect_out(fc[i], before[i], want);
        }
    }
    fx_finish();
}
END_TEST

START_TEST(bcast_volatile)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    fc[2]->refuse_volatile = true; /* that transport is not ready to write */
    sio_bcast_opts o = {NULL, 0, NULL, 0, SIO_BC_VOLATILE};
    sio_nsp_emit(H.root, &o, "tick", NULL);
    for (int i = 0; i < 2; i++) {
        expect_out(fc[i], 1, "42[\"tick\"]");
        ck_assert(fc[i]->out[1].vol);
    }
    ck_assert_uint_eq(fc[2]->n_out, 1);

    /* A binary volatile message dropped for a session drops its attachments with it. */
    const uint8_t b[] = {5};
    sio_nsp_emit(H.root, &o, "bin", json_pack("[o]", sio_binary_new(b, 1)));
    for (int i = 0; i < 2; i++) {
        expect_out(fc[i], 2, "451-[\"bin\",{\"_placeholder\":true,\"num\":0}]");
        ck_assert(fc[i]->out[2].vol);
        expect_bin(fc[i], 3, b, 1);
    }
    ck_assert_uint_eq(fc[2]->n_out, 1);

    /* Without the flag: not volatile, and delivered to the third one too. */
    ck_assert_int_eq(sio_nsp_emit(H.root, NULL, "tock", NULL), 3);
    for (int i = 0; i < 3; i++) {
        expect_out(fc[i], fc[i]->n_out - 1, "42[\"tock\"]");
        ck_assert(!fc[i]->out[fc[i]->n_out - 1].vol);
    }
    fx_finish();
}
END_TEST

/* sio_nsp_emit returns the number of sockets the packet was queued for; the host's send returns -1
 * for one it did not queue (here, a volatile packet for a transport not ready to write). */
START_TEST(bcast_count_excludes_unqueued)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    fc[2]->refuse_volatile = true;
    sio_bcast_opts o = {NULL, 0, NULL, 0, SIO_BC_VOLATILE};
    int n = sio_nsp_emit(H.root, &o, "tick", NULL);
    ck_assert_uint_eq(fc[0]->n_out + fc[1]->n_out + fc[2]->n_out, 3 + 2);
    ck_assert_msg(n == 2, "sio_nsp_emit returned %d; the packet was queued for 2 sockets", n);
    fx_finish();
}
END_TEST

START_TEST(bcast_binary_shared)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    const uint8_t b[] = {0xde, 0xad};
    ck_assert_int_eq(sio_nsp_emit(H.root, NULL, "bin", json_pack("[o]", sio_binary_new(b, 2))), 3);
    eio_msg *t = fc[0]->out[1].m, *att = fc[0]->out[2].m;
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(fc[i]->n_out, 3);
        expect_out(fc[i], 1, "451-[\"bin\",{\"_placeholder\":true,\"num\":0}]");
        expect_bin(fc[i], 2, b, 2);
        ck_assert(fc[i]->out[1].m == t);
        ck_assert(fc[i]->out[2].m == att);
    }
    ck_assert_uint_eq(t->refs, 3);
    ck_assert_uint_eq(att->refs, 3);
    fx_finish();
}
END_TEST

START_TEST(bcast_reserved_refused)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    const char *names[] = {"connect",       "connect_error", "disconnect",
                           "disconnecting", "newListener",   "removeListener"};
    size_t k = a->n_out;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ck_assert(sio_event_reserved(names[i]));
        ck_assert_int_eq(sio_nsp_emit(H.root, NULL, names[i], json_pack("[i]", 1)), -1);
        ck_assert_int_eq(
            sio_nsp_emit_ack(H.root, NULL, names[i], json_pack("[i]", 1), 1000, on_bc, &H.bc), -1);
        ck_assert_int_eq(sio_socket_emit(s, names[i], json_pack("[i]", 1)), -1);
        ck_assert_int_eq(sio_socket_emit_ack(s, names[i], NULL, 1000, on_ack, &H.ack), -1);
    }
    ck_assert(!sio_event_reserved("message"));
    ck_assert(!sio_event_reserved("Connect"));
    ck_assert_uint_eq(a->n_out, k);
    advance(5000);
    ck_assert_int_eq(H.n_bc, 0);
    ck_assert_int_eq(H.n_ack, 0);
    fx_finish();
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Broadcasts with acks                                                                           */

/* Answers the broadcast ack of the last message of fc with payload (JSON array text). */
static void answer_last(fconn *fc, const char *payload)
{
    int64_t id = ack_id_of(last_text(fc), "42");
    char ans[256];
    snprintf(ans, sizeof ans, "43%" PRId64 "%s", id, payload);
    feed(fc, ans);
}

START_TEST(bcast_ack_timeout_partial)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    ck_assert_int_eq(
        sio_nsp_emit_ack(H.root, NULL, "poll", json_pack("[i]", 1), 1000, on_bc, &H.bc), 3);
    for (int i = 0; i < 3; i++) {
        int64_t id = ack_id_of(last_text(fc[i]), "42");
        char want[64];
        snprintf(want, sizeof want, "42%" PRId64 "[\"poll\",1]", id);
        ck_assert_str_eq(last_text(fc[i]), want);
    }
    char last2[256];
    copy_str(last2, sizeof last2, last_text(fc[2]));
    answer_last(fc[0], "[\"r1\"]");
    answer_last(fc[1], "[\"r2\",\"extra\"]");
    ck_assert_int_eq(H.n_bc, 0);
    advance(999);
    ck_assert_int_eq(H.n_bc, 0);
    advance(1);
    ck_assert_int_eq(H.n_bc, 1);
    expect_json(H.bc[0].replies, "[\"r1\",\"r2\"]");
    ck_assert_uint_eq(H.bc[0].expected, 3);
    ck_assert(H.bc[0].timed_out);

    answer_last(fc[2], "[\"r3\"]"); /* late */
    advance(10000);
    ck_assert_int_eq(H.n_bc, 1);
    ck_assert_int_eq(fc[0]->n_close + fc[1]->n_close + fc[2]->n_close, 0);
    fx_finish();
    ck_assert_int_eq(H.n_bc, 1);
}
END_TEST

START_TEST(bcast_ack_all_answer)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    ck_assert_int_eq(sio_nsp_emit_ack(H.root, NULL, "poll", NULL, 1000, on_bc, &H.bc), 3);
    answer_last(fc[1], "[\"r1\"]");
    answer_last(fc[0], "[]");
    ck_assert_int_eq(H.n_bc, 0);
    answer_last(fc[2], "[{\"k\":1},2]");
    ck_assert_int_eq(H.n_bc, 1);
    expect_json(H.bc[0].replies, "[\"r1\",null,{\"k\":1}]");
    ck_assert_uint_eq(H.bc[0].expected, 3);
    ck_assert(!H.bc[0].timed_out);
    ck_assert_int_eq(armed_timers(), 0);
    advance(5000);
    ck_assert_int_eq(H.n_bc, 1);
    fx_finish();
    ck_assert_int_eq(H.n_bc, 1);
}
END_TEST

START_TEST(bcast_ack_zero_targets)
{
    fx_init();
    fconn *fc[2];
    sio_socket *s[2];
    open_n(2, fc, s);
    const char *nobody[] = {"nobody"};
    sio_bcast_opts o = {nobody, 1, NULL, 0, 0};
    ck_assert_int_eq(sio_nsp_emit_ack(H.root, &o, "poll", NULL, 1000, on_bc, &H.bc), 0);
    ck_assert_int_eq(H.n_bc, 1);
    ck_assert_uint_eq(H.bc[0].expected, 0);
    expect_json(H.bc[0].replies, "[]");
    ck_assert(!H.bc[0].timed_out);
    ck_assert_int_eq(armed_timers(), 0);
    /* An empty namespace, no timeout. */
    ck_assert_int_eq(sio_nsp_emit_ack(H.chat, NULL, "poll", NULL, 0, on_bc, &H.bc), 0);
    ck_assert_int_eq(H.n_bc, 2);
    ck_assert_uint_eq(H.bc[1].expected, 0);
    advance(5000);
    ck_assert_int_eq(H.n_bc, 2);
    ck_assert_uint_eq(fc[0]->n_out + fc[1]->n_out, 2);
    fx_finish();
}
END_TEST

/* A broadcast with acks still waiting when every client is gone: its timer is the only one left,
 * and firing it at teardown completes it once and releases everything. */
START_TEST(bcast_ack_pending_at_shutdown)
{
    fx_init();
    fconn *fc[2];
    sio_socket *s[2];
    open_n(2, fc, s);
    ck_assert_int_eq(sio_nsp_emit_ack(H.root, NULL, "poll", NULL, 1000, on_bc, &H.bc), 2);
    answer_last(fc[0], "[1]");
    close_conn(fc[0], "transport close");
    close_conn(fc[1], "transport close");
    ck_assert_int_eq(H.n_bc, 0);
    H.expect_drain = 1;
    fx_finish();
    ck_assert_int_eq(H.n_bc, 1);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Operations on selections                                                                       */

static void count_each(sio_socket *s, void *ud)
{
    if (ud != &H.each_seen)
        H.bad++;
    for (int i = 0; i < 3; i++)
        if (H.each_socks[i] == s)
            H.each_seen[i]++;
}

START_TEST(selection_join_leave_disconnect)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    char id[3][SID_BUF];
    for (int i = 0; i < 3; i++)
        copy_str(id[i], SID_BUF, sio_socket_id(s[i]));
    sio_socket_join(s[0], "a");
    sio_socket_join(s[1], "a");

    const char *a[] = {"a"}, *bc[] = {"b", "c"}, *b[] = {"b"}, *all[] = {"all"};
    sio_bcast_opts in_a = {a, 1, NULL, 0, 0};
    sio_nsp_sockets_join(H.root, &in_a, bc, 2);
    ck_assert(sio_socket_in_room(s[0], "b") && sio_socket_in_room(s[0], "c"));
    ck_assert(sio_socket_in_room(s[1], "b") && sio_socket_in_room(s[1], "c"));
    ck_assert(!sio_socket_in_room(s[2], "b") && !sio_socket_in_room(s[2], "c"));

    const char *not0[] = {id[0]};
    sio_bcast_opts in_b_not0 = {b, 1, not0, 1, 0};
    sio_nsp_sockets_leave(H.root, &in_b_not0, b, 1);
    ck_assert(sio_socket_in_room(s[0], "b"));
    ck_assert(!sio_socket_in_room(s[1], "b"));
    ck_assert(sio_socket_in_room(s[1], "c"));

    sio_nsp_sockets_join(H.root, NULL, all, 1);
    for (int i = 0; i < 3; i++)
        ck_assert(sio_socket_in_room(s[i], "all"));
    const char *overlap[] = {"a", "all", "c", id[1]};
    sio_bcast_opts o_overlap = {overlap, 4, NULL, 0, 0};
    int seen[3] = {0, 0, 0};
    H.each_seen = seen;
    H.each_socks = s;
    sio_nsp_each_local(H.root, &o_overlap, count_each, &H.each_seen);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(seen[i] == 1, "socket %d visited %d times", i, seen[i]);

    const char *c[] = {"c"};
    sio_bcast_opts in_c = {c, 1, NULL, 0, 0};
    sio_nsp_disconnect_sockets(H.root, &in_c, false);
    ck_assert_int_eq(H.n_disc, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(H.disc[i].reason, "server namespace disconnect");
        expect_out(fc[i], fc[i]->n_out - 1, "41");
        ck_assert_int_eq(fc[i]->n_close, 0);
    }
    ck_assert_ptr_null(sio_nsp_socket(H.root, id[0]));
    ck_assert_ptr_null(sio_nsp_socket(H.root, id[1]));
    ck_assert(sio_nsp_socket(H.root, id[2]) == s[2]);
    ck_assert_uint_eq(sio_nsp_size(H.root), 1);
    ck_assert(!sio_nsp_has_room(H.root, "c"));

    size_t k2 = fc[2]->n_out;
    sio_nsp_disconnect_sockets(H.root, NULL, true);
    ck_assert_int_eq(H.n_disc, 3);
    expect_out(fc[2], k2, "41");
    ck_assert_int_eq(fc[2]->n_close, 1);
    ck_assert_str_eq(fc[2]->close_reason, "forced close");
    ck_assert_uint_eq(sio_nsp_size(H.root), 0);
    ck_assert_uint_eq(nsp_room_total(H.root), 0);
    close_conn(fc[2], "forced close");
    fx_finish();
}
END_TEST

START_TEST(fetch_sockets)
{
    fx_init();
    sio_handshake_info hs = {
        .headers = json_pack("{s:s,s:s}", "user-agent", "ua/1", "origin", "http://example.com"),
        .query = json_pack("{s:s,s:s,s:s}", "EIO", "4", "transport", "polling", "x", "y"),
        .address = "10.0.0.7",
        .url = "/socket.io/?EIO=4&transport=polling&x=y",
        .secure = true,
        .xdomain = true,
        .issued_ms = 1700000000123ull,
    };
    fconn *a = open_conn_hs(&hs);
    fconn *b = open_conn();
    sio_socket *s = connect_nsp(a, "/", "{\"token\":\"t\"}");
    sio_socket *s2 = connect_nsp(b, "/", NULL);
    char id[SID_BUF], id2[SID_BUF];
    copy_str(id, sizeof id, sio_socket_id(s));
    copy_str(id2, sizeof id2, sio_socket_id(s2));
    sio_socket_join(s, "r");
    json_object_set_new(sio_socket_data_json(s), "name", json_string("bob"));

    sio_nsp_fetch_sockets(H.root, NULL, on_fetch, &H.fetched);
    ck_assert_int_eq(H.n_fetch, 1);
    ck_assert_uint_eq(json_array_size(H.fetched), 2);
    json_t *e = NULL;
    for (size_t i = 0; i < 2; i++) {
        json_t *x = json_array_get(H.fetched, i);
        if (strcmp(json_string_value(json_object_get(x, "id")), id) == 0)
            e = x;
    }
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(json_object_get(e, "handshake"));
    char rooms[128];
    snprintf(rooms, sizeof rooms, "[\"%s\",\"r\"]", id);
    expect_json(json_object_get(e, "rooms"), rooms);
    expect_json(json_object_get(e, "data"), "{\"name\":\"bob\"}");
    json_t *h = json_object_get(e, "handshake");
    expect_json(json_object_get(h, "headers"),
                "{\"user-agent\":\"ua/1\",\"origin\":\"http://example.com\"}");
    expect_json(json_object_get(h, "query"),
                "{\"EIO\":\"4\",\"transport\":\"polling\",\"x\":\"y\"}");
    expect_json(json_object_get(h, "address"), "\"10.0.0.7\"");
    expect_json(json_object_get(h, "url"), "\"/socket.io/?EIO=4&transport=polling&x=y\"");
    expect_json(json_object_get(h, "secure"), "true");
    expect_json(json_object_get(h, "xdomain"), "true");
    expect_json(json_object_get(h, "issued"), "1700000000123");
    expect_json(json_object_get(h, "auth"), "{\"token\":\"t\"}");
    ck_assert(json_is_string(json_object_get(h, "time")));
    ck_assert(json_equal(h, (json_t *)sio_socket_handshake(s)));

    /* A selection. */
    const char *r[] = {"r"};
    sio_bcast_opts o = {r, 1, NULL, 0, 0};
    sio_nsp_fetch_sockets(H.root, &o, on_fetch, &H.fetched);
    ck_assert_int_eq(H.n_fetch, 2);
    ck_assert_uint_eq(json_array_size(H.fetched), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(H.fetched, 0), "id")), id);
    const char *ex[] = {id};
    sio_bcast_opts olocal = {NULL, 0, ex, 1, SIO_BC_LOCAL};
    sio_nsp_fetch_sockets(H.root, &olocal, on_fetch, &H.fetched);
    ck_assert_int_eq(H.n_fetch, 3);
    ck_assert_uint_eq(json_array_size(H.fetched), 1);
    json_t *e2 = json_array_get(H.fetched, 0);
    ck_assert_str_eq(json_string_value(json_object_get(e2, "id")), id2);
    snprintf(rooms, sizeof rooms, "[\"%s\"]", id2);
    expect_json(json_object_get(e2, "rooms"), rooms);
    expect_json(json_object_get(e2, "data"), "{}");
    expect_json(json_object_get(json_object_get(e2, "handshake"), "auth"), "{}");
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

/* ---------------------------------------------------------------------------------------------- */
/* Bounds: attachments awaited, ignored packets, volatile groups                                   */

/* Log lines captured while a test runs, on a clock of its own (fresh limiter windows). */
static util_buf g_log;
static uint64_t g_log_now = 5000000000ull;

static uint64_t log_now(void)
{
    return g_log_now;
}

static void log_sink(const char *line, size_t len, void *ud)
{
    (void)ud;
    util_buf_append(&g_log, line, len);
}

static void log_begin(void)
{
    g_log_now += 1000000;
    util_buf_reset(&g_log);
    util_log_set_clock(log_now);
    util_log_set_sink(log_sink, NULL);
}

/* Lines of the captured log containing needle. */
static int log_count(const char *needle)
{
    util_buf_putc(&g_log, 0);
    g_log.len--;
    int n = 0;
    for (const char *p = (const char *)g_log.data; p && (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void log_end(void)
{
    util_log_set_sink(NULL, NULL);
    util_log_set_clock(NULL);
    util_buf_free(&g_log);
}

START_TEST(attachments_timeout_closes)
{
    /* A binary packet whose attachments never come: closed after attachment_timeout_ms. */
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    ck_assert_uint_eq(cfg.attachment_timeout_ms, 30000);
    ck_assert_uint_eq(cfg.limits.max_attachment_bytes, 1000000);
    fx_init_with(&cfg, &k_ops_full);
    fconn *fc = open_conn();
    connect_nsp(fc, "/", NULL);
    int armed = armed_timers();
    feed(fc, "452-[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
    ck_assert_int_eq(armed_timers(), armed + 1);
    ck_assert_uint_gt(fc->held, 0);
    size_t header = fc->held;
    feed_bin(fc, "0123456789", 10);
    ck_assert_uint_gt(fc->held, header + 10);
    ck_assert_int_eq(armed_timers(), armed + 1); /* one timer for the whole packet */
    advance(29999);
    ck_assert_int_eq(fc->n_close, 0);
    advance(1);
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "parse error");
    ck_assert_int_eq(H.n_ev, 0);
    close_conn(fc, "parse error");
    fx_finish();
}
END_TEST

START_TEST(attachments_complete_cancel_timer)
{
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    fx_init_with(&cfg, &k_ops_full);
    fconn *fc = open_conn();
    connect_nsp(fc, "/", NULL);
    int armed = armed_timers();
    for (int round = 0; round < 3; round++) {
        feed(fc, "451-[\"up\",{\"_placeholder\":true,\"num\":0}]");
        ck_assert_int_eq(armed_timers(), armed + 1);
        advance(20000);
        feed_bin(fc, "abc", 3);
        ck_assert_int_eq(armed_timers(), armed);
        ck_assert_uint_eq(fc->held, 0);
    }
    advance(60000);
    ck_assert_int_eq(fc->n_close, 0);
    ck_assert_int_eq(H.n_ev, 3);
    ck_assert_int_eq(fc->n_hold, 6); /* held, then released, per packet */
    fx_finish();
}
END_TEST

START_TEST(attachments_bytes_bounded)
{
    /* What a pending binary packet holds (its JSON and the attachments so far, at their real
     * cost) is bounded: past it, the session is closed at once. */
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    cfg.limits.max_attachment_bytes = 6000;
    fx_init_with(&cfg, &k_ops_full);
    fconn *fc = open_conn();
    connect_nsp(fc, "/", NULL);
    static uint8_t blob[1500];
    memset(blob, 7, sizeof blob);
    feed(fc, "453-[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1},"
             "{\"_placeholder\":true,\"num\":2}]");
    feed_bin(fc, blob, sizeof blob);
    feed_bin(fc, blob, sizeof blob);
    ck_assert_int_eq(fc->n_close, 0);
    ck_assert_uint_le(fc->held, 6000);
    feed_bin(fc, blob, sizeof blob); /* a third one is over */
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "parse error");
    ck_assert_uint_eq(fc->held, 0); /* dropped */
    ck_assert_int_eq(H.n_ev, 0);
    close_conn(fc, "parse error");
    /* A JSON header too big to wait (its jansson tree counted): refused before any attachment. */
    fc = open_conn();
    connect_nsp(fc, "/", NULL);
    util_buf big = UTIL_BUF_INIT;
    util_buf_puts(&big, "451-[\"up\",{\"_placeholder\":true,\"num\":0}");
    for (int i = 0; i < 200; i++)
        util_buf_puts(&big, ",[]");
    util_buf_puts(&big, "]");
    util_buf_putc(&big, 0);
    feed(fc, (const char *)big.data);
    util_buf_free(&big);
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "parse error");
    close_conn(fc, "parse error");
    fx_finish();
}
END_TEST

START_TEST(flood_of_repeated_connects_closes)
{
    /* The 200,000 "40" frames: the session is closed once it has sent more than
     * max_ignored_packets of them within 10 s, with one log line saying so, and at most the
     * limiter's burst of "second CONNECT" lines. */
    log_begin();
    fx_init();
    fconn *fc = open_conn();
    connect_nsp(fc, "/", NULL);
    size_t out = fc->n_out;
    int fed = 0;
    while (fc->n_close == 0 && fed < 200000) {
        feed(fc, "40");
        fed++;
    }
    ck_assert_int_eq(fed, 101);
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "packet flood");
    ck_assert_ptr_eq(fc->close_reason, EIO_REASON_PACKET_FLOOD);
    ck_assert_uint_eq(fc->n_out, out); /* nothing answered */
    for (int i = 0; i < 1000; i++)
        feed(fc, "40"); /* ignored once closing */
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_int_eq(log_count("second CONNECT"), UTIL_LOG_RL_BURST);
    ck_assert_int_eq(log_count("refused or pointless packets"), 1);
    close_conn(fc, "packet flood");
    log_end();
    fx_finish();
}
END_TEST

START_TEST(flood_window_and_kinds)
{
    /* The count is per 10 s window; CONNECTs to an unknown namespace (each answered) and events
     * or DISCONNECTs for a namespace not connected count too; acks that match nothing do not
     * (a late ack is normal). */
    log_begin();
    fx_init();
    fconn *fc = open_conn();
    connect_nsp(fc, "/", NULL);
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 100; i++)
            feed(fc, "43/chat,5[]"); /* not counted: acks that match nothing */
        for (int i = 0; i < 25; i++) {
            feed(fc, "42/chat,[\"x\"]");
            feed(fc, "41/chat,");
            feed(fc, "40");
            feed(fc, "40");
        }
        ck_assert_int_eq(fc->n_close, 0);
        advance(SIO_FLOOD_WINDOW_MS);
    }
    for (int i = 0; i < 40; i++)
        feed(fc, "40/nope");
    ck_assert_str_eq(last_text(fc), "44/nope,{\"message\":\"Invalid namespace\"}");
    for (int i = 0; i < 60; i++)
        feed(fc, "40");
    ck_assert_int_eq(fc->n_close, 0);
    size_t out = fc->n_out;
    feed(fc, "40/nope");
    ck_assert_int_eq(fc->n_close, 1);
    ck_assert_str_eq(fc->close_reason, "packet flood");
    ck_assert_uint_eq(fc->n_out, out); /* the 101st is not answered */
    close_conn(fc, "packet flood");
    log_end();
    fx_finish();
}
END_TEST

START_TEST(volatile_packet_as_one_group)
{
    /* With the host's send_volatile, a volatile packet and its attachments are one call (kept or
     * dropped together); a refused group queues nothing. */
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    fx_init_with(&cfg, &k_ops_full);
    fconn *fc[2];
    sio_socket *s[2];
    open_n(2, fc, s);
    fc[1]->refuse_volatile = true;
    sio_bcast_opts o = {NULL, 0, NULL, 0, SIO_BC_VOLATILE};
    const uint8_t b[] = {1, 2};
    ck_assert_int_eq(sio_nsp_emit(H.root, &o, "bin",
                                  json_pack("[o,o]", sio_binary_new(b, 1), sio_binary_new(b, 2))),
                     1);
    ck_assert_int_eq(fc[0]->n_vol_groups, 1);
    ck_assert_uint_eq(fc[0]->vol_groups[0], 3);
    expect_out(fc[0], 1,
               "452-[\"bin\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
    expect_bin(fc[0], 2, b, 1);
    expect_bin(fc[0], 3, b, 2);
    ck_assert_uint_eq(fc[1]->n_out, 1); /* only its CONNECT reply */
    sio_nsp_emit(H.root, &o, "tick", NULL);
    ck_assert_int_eq(fc[0]->n_vol_groups, 2);
    ck_assert_uint_eq(fc[0]->vol_groups[1], 1);
    fx_finish();
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */

static Suite *server_suite(void)
{
    Suite *s = suite_create("sio_server");
    TCase *tc = tcase_create("connect");
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

    tc = tcase_create("rooms");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, rooms_join_leave);
    tcase_add_test(tc, rooms_own_id_room);
    tcase_add_test(tc, rooms_per_namespace);
    tcase_add_test(tc, client_sockets_and_handshake);
    tcase_add_test(tc, rooms_left_on_disconnect);
    suite_add_tcase(s, tc);

    tc = tcase_create("broadcast");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, bcast_to_all);
    tcase_add_test(tc, bcast_rooms_and_except);
    tcase_add_test(tc, bcast_volatile);
    tcase_add_test(tc, bcast_count_excludes_unqueued);
    tcase_add_test(tc, bcast_binary_shared);
    tcase_add_test(tc, bcast_reserved_refused);
    tcase_add_test(tc, bcast_ack_timeout_partial);
    tcase_add_test(tc, bcast_ack_all_answer);
    tcase_add_test(tc, bcast_ack_zero_targets);
    tcase_add_test(tc, bcast_ack_pending_at_shutdown);
    tcase_add_test(tc, selection_join_leave_disconnect);
    tcase_add_test(tc, fetch_sockets);
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

    tc = tcase_create("bounds");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, attachments_timeout_closes);
    tcase_add_test(tc, attachments_complete_cancel_timer);
    tcase_add_test(tc, attachments_bytes_bounded);
    tcase_add_test(tc, flood_of_repeated_connects_closes);
    tcase_add_test(tc, flood_window_and_kinds);
    tcase_add_test(tc, volatile_packet_as_one_group);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(server_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
