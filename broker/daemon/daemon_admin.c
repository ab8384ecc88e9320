/* daemon_admin: the server side of @socket.io/admin-ui 0.5 on a node. What the Node package does
 * in instrument() (lib/index.ts), in C on the socketio API, with what the UI receives bounded:
 *
 * - /admin namespace; basic auth: auth {username, password} checked against a bcrypt hash
 *   (libcrypt's crypt_rn, on libuv's thread pool while the connect is deferred: bcrypt takes tens
 *   of milliseconds), then a session token the UI stores and sends back on reconnect; the token is
 *   an HMAC any node of the cluster verifies (the Node package keeps session ids in a per-process
 *   store);
 * - "config" {supportedFeatures}; "server_stats" every 2 s to /admin through the adapter, so that
 *   every UI in the cluster sees every node; its aggregatedEvents come from the node's counters;
 * - the socket list: a sample of at most max_sockets sockets per node (the first that connect
 *   while there is room and the update budget allows), marked in their data as the Node package
 *   marks every socket (data._admin = {clientId, transport}); only sampled sockets are announced
 *   (socket_connected) and followed (socket_updated, room_joined, room_left,
 *   socket_disconnected); a sampled socket whose update finds the budget spent leaves the sample
 *   (announced to the UI as disconnected) rather than let the UI drift from the truth;
 * - "all_sockets" at login: this node's sample plus the samples of the other siobroker nodes (a
 *   server-side request on /admin, answered by each with its own sample, waited for 2 s at most);
 * - the UI's actions: emit, join, leave, _disconnect, applied across the cluster;
 * - the UI's files at /admin/. */
#include "daemon_admin.h"

#include "admin_token.h"
#include "node_http.h"
#include "node_sio.h"
#include "util_alloc.h"
#include "util_log.h"
#include "util_prom.h"

#include <crypt.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>

#define ADMIN_NSP "/admin"
/** The server-side event asking another siobroker node for its sample. */
#define ADMIN_SAMPLE_EVENT "siobroker:admin:sample"
/** How long a login's snapshot waits for the other nodes' samples. */
#define ADMIN_SNAPSHOT_WAIT_MS 2000u
/** all_sockets holds at most this many times max_sockets (this node's and the others'). */
#define ADMIN_SNAPSHOT_FACTOR 4u
/** Password checks (bcrypt: ~60 ms of a thread each at cost 10) per second, and burst: a bound
 * on the CPU a login flood takes, and on guessing. */
#define ADMIN_LOGINS_PER_S 2.0
#define ADMIN_LOGIN_BURST 4.0
/** Lifetime of a session token. */
#define ADMIN_TOKEN_TTL_S (24u * 3600)
/** Reason given to the UI for a socket taken out of the sample. */
#define ADMIN_SAMPLE_DROPPED "siobroker: left the admin sample (update budget spent)"

/** A sampled socket (keyed by pointer; valid while connected: removed at its disconnect). */
typedef struct sampled {
    sio_socket *s;
    UT_hash_handle hh;
} sampled;

struct daemon_admin {
    node *nd;
    sio_server *srv;
    sio_nsp *nsp; /**< /admin */
    char *username, *hash, *ui_dir;
    bool no_auth, readonly;
    size_t max_sockets;
    double rate; /**< updates per second */
    uint32_t stats_ticks;
    uint8_t key[32]; /**< session token key */
    char server_id[160];
    char hostname[128];
    uint64_t started_ns;
    uv_timer_t tick;
    bool tick_on;
    unsigned ticks;
    node_stats last; /**< counters at the previous tick */
    json_t *agg;     /**< aggregatedEvents since the last server_stats */
    sampled *sample; /**< uthash by socket */
    size_t n_sample;
    double tokens; /**< update budget */
    uint64_t tokens_at;
    double login_tokens;
    uint64_t login_at;
    /* counters */
    uint64_t ev_sent, ev_dropped, bytes_sent, sample_dropped, actions;
    uint64_t logins[3]; /**< ok, refused, throttled */
};

/* ---- bcrypt and tokens ------------------------------------------------------------------------- */

int daemon_admin_check_hash(const char *hash, char *err, size_t errlen)
{
    if (!hash || strlen(hash) != 60 || hash[0] != '$' || hash[1] != '2' ||
        (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') || hash[3] != '$' || hash[6] != '$') {
        snprintf(err, errlen, "not a bcrypt hash ($2b$10$ followed by 53 characters)");
        return -1;
    }
    struct crypt_data *cd = util_calloc(1, sizeof *cd);
    const char *r = crypt_rn("", hash, cd, sizeof *cd);
    bool ok = r && r[0] == '$';
    util_free(cd);
    if (!ok) {
        snprintf(err, errlen, "this system's crypt cannot verify the hash");
        return -1;
    }
    return 0;
}

bool daemon_admin_bcrypt_verify(const char *password, const char *hash)
{
    if (!password || !hash)
        return false;
    size_t hl = strlen(hash);
    struct crypt_data *cd = util_calloc(1, sizeof *cd);
    const char *r = crypt_rn(password, hash, cd, sizeof *cd);
    bool ok = r && r[0] == '$' && strlen(r) == hl && CRYPTO_memcmp(r, hash, hl) == 0;
    OPENSSL_cleanse(cd, sizeof *cd);
    util_free(cd);
    return ok;
}

/* ---- helpers ----------------------------------------------------------------------------------- */

static uint64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* A new JSON string: the current time as JavaScript's Date serializes (ISO 8601, ms, Z). */
static json_t *iso_now(void)
{
    uint64_t ms = wall_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[40], out[48];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, sizeof out, "%s.%03uZ", buf, (unsigned)(ms % 1000));
    return json_string(out);
}

/* Takes one unit of the update budget: refilled at rate per second, capped at one second's worth.
 * A new socket is announced only while the budget is positive; an update of a socket already
 * shown may run it into debt, down to one second's worth, so that the joins that follow a burst
 * of connections do not drop the sockets just announced. Returns false when the budget (with
 * debt) is spent. */
static bool take_token(daemon_admin *a, bool debt)
{
    uint64_t now = node_now(a->nd);
    a->tokens += (double)(now - a->tokens_at) * a->rate / 1000.0;
    a->tokens_at = now;
    if (a->tokens > a->rate)
        a->tokens = a->rate;
    if (a->tokens < (debt ? 1.0 - a->rate : 1.0))
        return false;
    a->tokens -= 1.0;
    return true;
}

/* Emits event with args (stolen) to every UI of the cluster, counting it. */
static void emit_all(daemon_admin *a, const char *event, json_t *args)
{
    size_t len = json_dumpb(args, NULL, 0, JSON_COMPACT);
    a->ev_sent++;
    a->bytes_sent += len + strlen(event);
    sio_nsp_emit(a->nsp, NULL, event, args);
}

static sampled *sample_find(daemon_admin *a, const sio_socket *s)
{
    sampled *e = NULL;
    HASH_FIND_PTR(a->sample, &s, e);
    return e;
}

static void add_room(const char *room, void *ud)
{
    json_array_append_new(ud, json_string(room));
}

/* The UI's view of socket s (as the Node package's serialize()). Caller owns. */
static json_t *serialize(sio_socket *s)
{
    const json_t *hs = sio_socket_handshake(s);
    const json_t *headers = json_object_get(hs, "headers");
    const json_t *address = json_object_get(headers, "cf-connecting-ip");
    if (!address)
        address = json_object_get(headers, "x-forwarded-for");
    if (!address)
        address = json_object_get(hs, "address");
    json_t *h = json_object();
    json_object_set(h, "address", address ? (json_t *)address : json_null());
    static const char *const keys[] = {"headers", "query", "issued", "secure",
                                       "time",    "url",   "xdomain"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(hs, keys[i]);
        json_object_set(h, keys[i], v ? v : json_null());
    }
    json_t *data = json_copy(sio_socket_data_json(s));
    json_t *mark = json_object_get(data, "_admin");
    json_t *client_id = json_object_get(mark, "clientId");
    json_t *transport = json_object_get(mark, "transport");
    node_session *c = node_sio_session(sio_socket_client(s));
    json_t *rooms = json_array();
    sio_socket_rooms(s, add_room, rooms);
    json_t *out = json_pack("{s:s,s:O?,s:s,s:s,s:o,s:o,s:o}", "id", sio_socket_id(s), "clientId",
                            client_id, "transport",
                            c ? node_session_transport(c)
                              : (json_is_string(transport) ? json_string_value(transport) : ""),
                            "nsp", sio_nsp_name(sio_socket_nsp(s)), "handshake", h, "rooms", rooms,
                            "data", data);
    json_object_del(data, "_admin");
    return out;
}

/* Takes s out of the sample: the UI hears it disconnected and left its rooms. */
static void sample_remove(daemon_admin *a, sampled *e, const char *reason)
{
    sio_socket *s = e->s;
    HASH_DEL(a->sample, e);
    util_free(e);
    a->n_sample--;
    const char *nsp = sio_nsp_name(sio_socket_nsp(s));
    emit_all(a, "socket_disconnected",
             json_pack("[s,s,s,o]", nsp, sio_socket_id(s), reason, iso_now()));
    json_t *rooms = json_array();
    sio_socket_rooms(s, add_room, rooms);
    size_t i;
    json_t *r;
    json_array_foreach(rooms, i, r)
    {
        emit_all(a, "room_left", json_pack("[s,O,s,o]", nsp, r, sio_socket_id(s), iso_now()));
    }
    json_decref(rooms);
}

/* ---- socket observer --------------------------------------------------------------------------- */

static void on_connected(sio_socket *s, void *ud)
{
    daemon_admin *a = ud;
    if (a->n_sample >= a->max_sockets || !take_token(a, false)) {
        a->ev_dropped++;
        return;
    }
    sampled *e = util_calloc(1, sizeof *e);
    e->s = s;
    HASH_ADD_PTR(a->sample, s, e);
    a->n_sample++;
    node_session *c = node_sio_session(sio_socket_client(s));
    char client_id[16] = "";
    if (c)
        snprintf(client_id, sizeof client_id, "%.12s", node_session_sid(c));
    json_object_set_new(sio_socket_data_json(s), "_admin",
                        json_pack("{s:s,s:s}", "clientId", client_id, "transport",
                                  c ? node_session_transport(c) : "polling"));
    emit_all(a, "socket_connected", json_pack("[o,o]", serialize(s), iso_now()));
}

static void on_disconnected(sio_socket *s, const char *reason, void *ud)
{
    daemon_admin *a = ud;
    sampled *e = sample_find(a, s);
    if (e)
        sample_remove(a, e, reason);
}

/* A sampled socket changed: the UI hears of it within the budget, or the socket leaves the
 * sample. Returns true when the update may be emitted. */
static bool update_allowed(daemon_admin *a, sio_socket *s)
{
    sampled *e = sample_find(a, s);
    if (!e)
        return false;
    if (take_token(a, true))
        return true;
    a->ev_dropped++;
    a->sample_dropped++;
    json_object_del(sio_socket_data_json(s), "_admin");
    sample_remove(a, e, ADMIN_SAMPLE_DROPPED);
    return false;
}

static void on_joined(sio_socket *s, const char *room, void *ud)
{
    daemon_admin *a = ud;
    if (update_allowed(a, s))
        emit_all(a, "room_joined",
                 json_pack("[s,s,s,o]", sio_nsp_name(sio_socket_nsp(s)), room, sio_socket_id(s),
                           iso_now()));
}

static void on_left(sio_socket *s, const char *room, void *ud)
{
    daemon_admin *a = ud;
    if (update_allowed(a, s))
        emit_all(a, "room_left",
                 json_pack("[s,s,s,o]", sio_nsp_name(sio_socket_nsp(s)), room, sio_socket_id(s),
                           iso_now()));
}

typedef struct upgrade_walk {
    daemon_admin *a;
    const char *transport;
} upgrade_walk;

static void upgraded_socket(sio_socket *s, void *ud)
{
    upgrade_walk *w = ud;
    if (!update_allowed(w->a, s))
        return;
    json_t *mark = json_object_get(sio_socket_data_json(s), "_admin");
    if (mark)
        json_object_set_new(mark, "transport", json_string(w->transport));
    emit_all(w->a, "socket_updated",
             json_pack("[{s:s,s:s,s:s}]", "id", sio_socket_id(s), "nsp",
                       sio_nsp_name(sio_socket_nsp(s)), "transport", w->transport));
}

static void on_upgrade(void *ud, node_session *c)
{
    daemon_admin *a = ud;
    sio_client *sc = node_sio_client(a->srv, c);
    if (sc)
        sio_client_each_socket(sc, upgraded_socket, &(upgrade_walk){a, node_session_transport(c)});
}

/* ---- server_stats ------------------------------------------------------------------------------ */

static void agg_push(daemon_admin *a, uint64_t ts, const char *type, const char *sub,
                     uint64_t count)
{
    if (!count)
        return;
    json_t *e = json_pack("{s:I,s:s,s:I}", "timestamp", (json_int_t)ts, "type", type, "count",
                          (json_int_t)count);
    if (sub)
        json_object_set_new(e, "subType", json_string(sub));
    json_array_append_new(a->agg, e);
}

/* One second's worth of aggregatedEvents, from the node's counters (as the Node package's event
 * buffer: connections, disconnections by reason, packets and bytes in and out). */
static void aggregate(daemon_admin *a)
{
    const node_stats *st = node_get_stats(a->nd);
    node_stats *l = &a->last;
    uint64_t ts = wall_ms() / 1000 * 1000;
    agg_push(a, ts, "rawConnection", NULL,
             (st->sessions_opened[0] + st->sessions_opened[1]) -
                 (l->sessions_opened[0] + l->sessions_opened[1]));
    for (int r = 0; r < NODE_CLOSE_N; r++)
        agg_push(a, ts, "rawDisconnection", node_close_reason_name(r),
                 st->closed[r] - l->closed[r]);
    agg_push(a, ts, "packetsIn", NULL, st->messages_in - l->messages_in);
    agg_push(a, ts, "packetsOut", NULL, st->messages_out - l->messages_out);
    agg_push(a, ts, "bytesIn", NULL, st->bytes_in - l->bytes_in);
    agg_push(a, ts, "bytesOut", NULL, st->bytes_out - l->bytes_out);
    *l = *st;
}

static void add_nsp_stats(sio_nsp *nsp, void *ud)
{
    json_array_append_new(ud, json_pack("{s:s,s:I}", "name", sio_nsp_name(nsp), "socketsCount",
                                        (json_int_t)sio_nsp_size(nsp)));
}

static void emit_stats(daemon_admin *a)
{
    node_gauges g;
    node_get_gauges(a->nd, &g);
    json_t *nsps = json_array();
    sio_server_each_nsp(a->srv, add_nsp_stats, nsps);
    double uptime = (double)(uv_hrtime() - a->started_ns) / 1e9;
    json_t *agg = a->agg;
    a->agg = json_array();
    json_t *stats =
        json_pack("{s:s,s:s,s:i,s:f,s:I,s:I,s:o,s:o}", "serverId", a->server_id, "hostname",
                  a->hostname, "pid", (int)getpid(), "uptime", uptime, "clientsCount",
                  (json_int_t)(g.sessions[0] + g.sessions[1]), "pollingClientsCount",
                  (json_int_t)g.sessions[0], "aggregatedEvents", agg, "namespaces", nsps);
    emit_all(a, "server_stats", json_pack("[o]", stats));
}

static void on_tick(uv_timer_t *t)
{
    daemon_admin *a = t->data;
    aggregate(a);
    if (++a->ticks % a->stats_ticks == 0)
        emit_stats(a);
}

/* ---- login and the UI's socket ------------------------------------------------------------------ */

typedef struct snapshot {
    daemon_admin *a;
    char ui[32]; /**< the UI socket's id (it may leave before the others answer) */
    json_t *sockets;
} snapshot;

static void add_sample(daemon_admin *a, json_t *out, size_t cap)
{
    for (sampled *e = a->sample; e && json_array_size(out) < cap; e = e->hh.next)
        json_array_append_new(out, serialize(e->s));
}

static void on_samples(sio_nsp *nsp, json_t *replies, const char *err, void *ud)
{
    snapshot *sn = ud;
    daemon_admin *a = sn->a;
    size_t cap = a->max_sockets * ADMIN_SNAPSHOT_FACTOR;
    if (err)
        UTIL_LOGD(UTIL_SUB_SOCKETIO, "admin: samples of other nodes: %s", err);
    size_t i, j;
    json_t *reply, *sock;
    json_array_foreach(replies, i, reply)
    {
        json_array_foreach(reply, j, sock)
        {
            if (json_array_size(sn->sockets) >= cap)
                break;
            if (json_is_object(sock))
                json_array_append(sn->sockets, sock);
        }
    }
    sio_socket *ui = sio_nsp_socket(nsp, sn->ui);
    if (ui) {
        size_t len = json_dumpb(sn->sockets, NULL, 0, JSON_COMPACT);
        a->ev_sent++;
        a->bytes_sent += len;
        sio_socket_emit(ui, "all_sockets", json_pack("[O]", sn->sockets));
    }
    json_decref(sn->sockets);
    util_free(sn);
}

static void start_snapshot(void *arg)
{
    snapshot *sn = arg;
    daemon_admin *a = sn->a;
    sn->sockets = json_array();
    add_sample(a, sn->sockets, a->max_sockets);
    sio_nsp_server_side_emit(a->nsp, ADMIN_SAMPLE_EVENT, json_array(), ADMIN_SNAPSHOT_WAIT_MS,
                             on_samples, sn);
}

/* Another node's login asks for this node's sample. */
static void on_server_event(sio_nsp *nsp, const char *event, json_t *args, sio_server_reply *reply,
                            void *ud)
{
    (void)nsp;
    (void)args;
    daemon_admin *a = ud;
    if (strcmp(event, ADMIN_SAMPLE_EVENT) != 0 || !reply) {
        sio_server_reply_drop(reply);
        return;
    }
    json_t *out = json_array();
    add_sample(a, out, a->max_sockets);
    sio_server_reply_send(reply, out);
}

/* Counts and logs a refused login (kind: 1 refused, 2 throttled). */
static void refuse_logged(daemon_admin *a, sio_socket *s, int kind, const char *msg)
{
    a->logins[kind]++;
    /* A client can trigger this at will: rate-limited (the counter has them all). */
    if (util_log_enabled(UTIL_SUB_SOCKETIO, UTIL_LOG_WARN)) {
        const json_t *hs = sio_socket_handshake(s);
        UTIL_LOGW_RL(UTIL_SUB_SOCKETIO, "admin: login refused from %s: %s",
                     json_string_value(json_object_get(hs, "address")), msg);
    }
}

/* Refuses the UI's login now, with the message its modal shows. */
static bool refuse(daemon_admin *a, sio_socket *s, sio_reject *rej, int kind, const char *msg)
{
    refuse_logged(a, s, kind, msg);
    sio_reject_set(rej, msg, NULL);
    return false;
}

static void admitted(daemon_admin *a, sio_socket *s);

/** A password check on the thread pool for a deferred connect. */
typedef struct login_work {
    uv_work_t req;
    daemon_admin *a;
    sio_socket *s; /**< held by the deferral until answered */
    char *password;
    char *hash;
    bool ok;
} login_work;

static void login_check(uv_work_t *req)
{
    login_work *w = req->data;
    w->ok = daemon_admin_bcrypt_verify(w->password, w->hash);
}

static void login_done(uv_work_t *req, int status)
{
    login_work *w = req->data;
    daemon_admin *a = w->a;
    sio_socket *s = w->s;
    if (status == 0 && w->ok) {
        if (sio_socket_accept(s) == 0) { /* -1: the client went away meanwhile */
            char token[96];
            daemon_admin_token(a->key, wall_ms() / 1000 + ADMIN_TOKEN_TTL_S, token, sizeof token);
            sio_socket_emit(s, "session", json_pack("[s]", token));
            admitted(a, s);
        }
    } else {
        refuse_logged(a, s, 1, "invalid credentials");
        sio_socket_refuse(s, "invalid credentials", NULL);
    }
    OPENSSL_cleanse(w->password, strlen(w->password));
    util_free(w->password);
    util_free(w->hash);
    util_free(w);
}

/* Returns true to accept now, false when refused (rej set) or deferred (*deferred set). */
static bool login(daemon_admin *a, sio_socket *s, const json_t *auth, sio_reject *rej,
                  bool *deferred)
{
    if (a->no_auth)
        return true;
    uint64_t now_s = wall_ms() / 1000;
    const char *sid = json_string_value(json_object_get(auth, "sessionId"));
    if (sid && daemon_admin_token_valid(a->key, sid, now_s))
        return true;
    const char *user = json_string_value(json_object_get(auth, "username"));
    const char *pass = json_string_value(json_object_get(auth, "password"));
    if (!user || !pass || strlen(user) != strlen(a->username) ||
        CRYPTO_memcmp(user, a->username, strlen(user)) != 0)
        return refuse(a, s, rej, 1, "invalid credentials");
    /* bcrypt costs tens of milliseconds on the loop: a few checks per second at most. */
    uint64_t now = node_now(a->nd);
    a->login_tokens += (double)(now - a->login_at) * ADMIN_LOGINS_PER_S / 1000.0;
    a->login_at = now;
    if (a->login_tokens > ADMIN_LOGIN_BURST)
        a->login_tokens = ADMIN_LOGIN_BURST;
    if (a->login_tokens < 1.0)
        return refuse(a, s, rej, 2, "too many login attempts, retry in a second");
    a->login_tokens -= 1.0;
    if (sio_socket_defer_connect(s) != 0) /* not expected: checked here, then */
        return daemon_admin_bcrypt_verify(pass, a->hash) ||
               refuse(a, s, rej, 1, "invalid credentials");
    login_work *w = util_calloc(1, sizeof *w);
    w->req.data = w;
    w->a = a;
    w->s = s;
    w->password = util_strdup(pass);
    w->hash = util_strdup(a->hash);
    uv_queue_work(node_loop(a->nd), &w->req, login_check, login_done);
    *deferred = true;
    return false;
}

static bool on_connect(sio_socket *s, const json_t *auth, sio_reject *rej, void *ud)
{
    daemon_admin *a = ud;
    bool deferred = false;
    if (!login(a, s, auth, rej, &deferred))
        return false;
    admitted(a, s);
    return true;
}

/* The UI's socket s is let in (now, or once its password was checked): the configuration, then
 * the socket list. Emits made before the CONNECT reply are held until it. */
static void admitted(daemon_admin *a, sio_socket *s)
{
    a->logins[0]++;
    json_t *features = json_array();
    if (!a->readonly)
        for (const char *const *f = (const char *const[]){"EMIT", "JOIN", "LEAVE", "DISCONNECT",
                                                          "MJOIN", "MLEAVE", "MDISCONNECT", NULL};
             *f; f++)
            json_array_append_new(features, json_string(*f));
    json_array_append_new(features, json_string("AGGREGATED_EVENTS"));
    /* The UI shows its Sockets, Rooms, Clients and Events pages only with ALL_EVENTS (the Node
     * package's development mode). The sampled sockets' connections, disconnections and room
     * changes fill the Events page; their events themselves (event_received / event_sent) are
     * not forwarded: that would put the admin on every packet's path. */
    json_array_append_new(features, json_string("ALL_EVENTS"));
    sio_socket_emit(s, "config", json_pack("[{s:o}]", "supportedFeatures", features));
    /* The socket list: this node's sample, then the other nodes' when they answered; asked once
     * the socket is connected (on a single node the answer comes at once). */
    snapshot *sn = util_calloc(1, sizeof *sn);
    sn->a = a;
    snprintf(sn->ui, sizeof sn->ui, "%s", sio_socket_id(s));
    node_defer(a->nd, start_snapshot, sn);
    const json_t *hs = sio_socket_handshake(s);
    UTIL_LOGI(UTIL_SUB_SOCKETIO, "admin: UI %s connected from %s", sio_socket_id(s),
              json_string_value(json_object_get(hs, "address")));
}

/* ---- the UI's actions -------------------------------------------------------------------------- */

/* The selection of an action: every socket of the namespace, or those in room filter. */
static sio_bcast_opts filter_opts(const json_t *filter, const char **room)
{
    sio_bcast_opts o = {0};
    *room = json_string_value(filter);
    if (*room && **room) {
        o.rooms = room;
        o.n_rooms = 1;
    }
    return o;
}

static void on_action(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    daemon_admin *a = ud;
    sio_ack_drop(ack);
    if (a->readonly)
        return;
    const char *nsp_name = json_string_value(json_array_get(args, 0));
    sio_nsp *nsp = nsp_name ? sio_server_find_nsp(a->srv, nsp_name) : NULL;
    if (!nsp) {
        UTIL_LOGD(UTIL_SUB_SOCKETIO, "admin: %s for an unknown namespace ignored", event);
        return;
    }
    const char *room;
    if (strcmp(event, "_disconnect") == 0) {
        json_t *close = json_array_get(args, 1);
        sio_bcast_opts o = filter_opts(json_array_get(args, 2), &room);
        UTIL_LOGI(UTIL_SUB_SOCKETIO, "admin: UI %s disconnects %s%s in %s", sio_socket_id(s),
                  room ? "room " : "every socket", room ? room : "", nsp_name);
        sio_nsp_disconnect_sockets(nsp, &o, json_is_true(close));
    } else if (strcmp(event, "join") == 0 || strcmp(event, "leave") == 0) {
        const char *target = json_string_value(json_array_get(args, 1));
        if (!target || !*target || strlen(target) > 256)
            return;
        sio_bcast_opts o = filter_opts(json_array_get(args, 2), &room);
        UTIL_LOGI(UTIL_SUB_SOCKETIO, "admin: UI %s makes %s%s in %s %s %s", sio_socket_id(s),
                  room ? "room " : "every socket", room ? room : "", nsp_name, event, target);
        if (event[0] == 'j')
            sio_nsp_sockets_join(nsp, &o, &target, 1);
        else
            sio_nsp_sockets_leave(nsp, &o, &target, 1);
    } else if (strcmp(event, "emit") == 0) {
        const char *ev = json_string_value(json_array_get(args, 2));
        if (!ev)
            return;
        sio_bcast_opts o = filter_opts(json_array_get(args, 1), &room);
        json_t *rest = json_array();
        for (size_t i = 3; i < json_array_size(args); i++)
            json_array_append(rest, json_array_get(args, i));
        UTIL_LOGI(UTIL_SUB_SOCKETIO, "admin: UI %s emits %s to %s%s in %s", sio_socket_id(s), ev,
                  room ? "room " : "every socket", room ? room : "", nsp_name);
        sio_nsp_emit(nsp, &o, ev, rest);
    } else {
        return;
    }
    a->actions++;
}

/* ---- the UI's files ---------------------------------------------------------------------------- */

static void serve_ui(node_req *r, void *ud)
{
    daemon_admin *a = ud;
    const char *path = node_req_path(r);
    if (strcmp(path, "/admin") == 0) {
        static const char body[] = "Moved to /admin/";
        node_req_respond_headers(r, 301, "text/plain", "Location: /admin/\r\n", body,
                                 sizeof body - 1, false);
        return;
    }
    node_req_serve_file(r, a->ui_dir, path + strlen("/admin"));
}

/* ---- lifecycle --------------------------------------------------------------------------------- */

static void admin_shutdown(void *arg)
{
    daemon_admin *a = arg;
    sio_server_observe(a->srv, NULL, NULL);
    node_observe_upgrades(a->nd, NULL, NULL);
    if (a->tick_on) {
        a->tick_on = false;
        uv_timer_stop(&a->tick);
        uv_close((uv_handle_t *)&a->tick, NULL);
    }
}

daemon_admin *daemon_admin_new(node *n, sio_server *srv, const daemon_admin_config *cfg, char *err,
                               size_t errlen)
{
    if (!cfg->no_auth) {
        if (!cfg->username || !*cfg->username || !cfg->password_hash) {
            snprintf(err, errlen,
                     "--admin needs --admin-user and --admin-password-hash (or "
                     "--admin-no-auth)");
            return NULL;
        }
        char why[128];
        if (daemon_admin_check_hash(cfg->password_hash, why, sizeof why) != 0) {
            snprintf(err, errlen, "--admin-password-hash: %s", why);
            return NULL;
        }
    }
    daemon_admin *a = util_calloc(1, sizeof *a);
    a->nd = n;
    a->srv = srv;
    a->no_auth = cfg->no_auth;
    a->readonly = cfg->readonly;
    a->username = util_strdup(cfg->username ? cfg->username : "");
    a->hash = util_strdup(cfg->password_hash ? cfg->password_hash : "");
    a->ui_dir = cfg->ui_dir ? util_strdup(cfg->ui_dir) : NULL;
    a->max_sockets = cfg->max_sockets ? cfg->max_sockets : 1000;
    a->rate = cfg->updates_per_s ? cfg->updates_per_s : 100;
    a->tokens = a->rate;
    a->login_tokens = ADMIN_LOGIN_BURST;
    uint32_t interval = cfg->stats_interval_ms ? cfg->stats_interval_ms : 2000;
    a->stats_ticks = interval < 1000 ? 1 : interval / 1000;
    a->started_ns = uv_hrtime();
    a->agg = json_array();
    if (gethostname(a->hostname, sizeof a->hostname) != 0)
        snprintf(a->hostname, sizeof a->hostname, "localhost");
    a->hostname[sizeof a->hostname - 1] = '\0';
    if (cfg->server_id && *cfg->server_id)
        snprintf(a->server_id, sizeof a->server_id, "%s", cfg->server_id);
    else
        snprintf(a->server_id, sizeof a->server_id, "%s#%d", a->hostname, (int)getpid());
    /* Tokens are valid on every node that shares the credentials (and the cluster secret). */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int kl = 0;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, "siobroker admin session", 24);
    EVP_DigestUpdate(md, a->username, strlen(a->username) + 1);
    EVP_DigestUpdate(md, a->hash, strlen(a->hash) + 1);
    if (cfg->session_secret)
        EVP_DigestUpdate(md, cfg->session_secret, strlen(cfg->session_secret));
    EVP_DigestFinal_ex(md, a->key, &kl);
    EVP_MD_CTX_free(md);

    a->last = *node_get_stats(n);
    a->tokens_at = a->login_at = node_now(n);
    static const sio_nsp_handlers h = {.connect = on_connect, .any = on_action};
    a->nsp = sio_server_of(srv, ADMIN_NSP, &h, a);
    sio_nsp_on_server_event(a->nsp, on_server_event, a);
    static const sio_server_observer obs = {on_connected, on_disconnected, on_joined, on_left};
    sio_server_observe(srv, &obs, a);
    node_observe_upgrades(n, on_upgrade, a);
    uv_timer_init(node_loop(n), &a->tick);
    a->tick.data = a;
    uv_timer_start(&a->tick, on_tick, 1000, 1000);
    uv_unref((uv_handle_t *)&a->tick);
    a->tick_on = true;
    if (a->ui_dir) {
        node_add_route(n, "/admin", false, serve_ui, a);
        node_add_route_prefix(n, "/admin/", false, serve_ui, a);
    }
    node_on_shutdown(n, admin_shutdown, a);
    UTIL_LOGI(UTIL_SUB_SOCKETIO, "admin UI: namespace %s%s, server id %s%s%s", ADMIN_NSP,
              a->no_auth ? " WITHOUT authentication" : "", a->server_id,
              a->ui_dir ? ", UI at /admin/" : "", a->readonly ? ", read-only" : "");
    return a;
}

void daemon_admin_free(daemon_admin *a)
{
    if (!a)
        return;
    sampled *e, *tmp;
    HASH_ITER(hh, a->sample, e, tmp)
    {
        HASH_DEL(a->sample, e);
        util_free(e);
    }
    json_decref(a->agg);
    util_free(a->username);
    OPENSSL_cleanse(a->key, sizeof a->key);
    util_free(a->hash);
    util_free(a->ui_dir);
    util_free(a);
}

/* ---- metrics ----------------------------------------------------------------------------------- */

void daemon_admin_metrics(util_buf *out, void *ud)
{
    daemon_admin *a = ud;
    util_prom_family(out, "siobroker_admin_ui_sockets", "gauge",
                     "Admin UI connections on this node's /admin namespace.");
    util_prom_sample(out, "siobroker_admin_ui_sockets", NULL, 0, (double)sio_nsp_size(a->nsp));
    util_prom_family(out, "siobroker_admin_sampled_sockets", "gauge",
                     "Sockets of this node shown in the admin UI (at most --admin-max-sockets).");
    util_prom_sample(out, "siobroker_admin_sampled_sockets", NULL, 0, (double)a->n_sample);
    util_prom_family(out, "siobroker_admin_events_total", "counter",
                     "Admin UI events of this node, by result (dropped: over the update budget "
                     "or the sample size).");
    util_prom_sample_u64(out, "siobroker_admin_events_total", (const char *[]){"result", "sent"}, 1,
                         a->ev_sent);
    util_prom_sample_u64(out, "siobroker_admin_events_total", (const char *[]){"result", "dropped"},
                         1, a->ev_dropped);
    util_prom_family(
        out, "siobroker_admin_sent_bytes_total", "counter",
        "JSON bytes of the admin UI events this node emitted (each reaches every UI).");
    util_prom_sample_u64(out, "siobroker_admin_sent_bytes_total", NULL, 0, a->bytes_sent);
    util_prom_family(out, "siobroker_admin_sample_dropped_total", "counter",
                     "Sockets taken out of the admin sample because the update budget was spent.");
    util_prom_sample_u64(out, "siobroker_admin_sample_dropped_total", NULL, 0, a->sample_dropped);
    util_prom_family(out, "siobroker_admin_actions_total", "counter",
                     "Actions (emit, join, leave, disconnect) applied from an admin UI.");
    util_prom_sample_u64(out, "siobroker_admin_actions_total", NULL, 0, a->actions);
    util_prom_family(out, "siobroker_admin_logins_total", "counter", "Admin UI logins by result.");
    static const char *const results[3] = {"ok", "refused", "throttled"};
    for (int i = 0; i < 3; i++)
        util_prom_sample_u64(out, "siobroker_admin_logins_total",
                             (const char *[]){"result", results[i]}, 1, a->logins[i]);
}
