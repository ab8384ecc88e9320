/* sio_server: the server object, namespace registry and the per-session Socket.IO client: decoding,
 * CONNECT/DISCONNECT handling, connectTimeout and the deferred close while handlers run. */
#include "sio_internal.h"

#include "eio_session.h"

#include "util_alloc.h"
#include "util_log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char SIO_REASON_CLIENT_NSP_DISCONNECT[] = "client namespace disconnect";
const char SIO_REASON_SERVER_NSP_DISCONNECT[] = "server namespace disconnect";

void sio_server_config_defaults(sio_server_config *cfg)
{
    cfg->connect_timeout_ms = 45000;
    sio_limits_defaults(&cfg->limits);
    cfg->attachment_timeout_ms = 30000;
    cfg->max_ignored_packets = 100;
    cfg->batch_broadcasts = false;
    cfg->recovery_window_ms = 0;
    cfg->recovery_max_packets = 10000;
}

sio_server *sio_server_new(const sio_server_config *cfg, const sio_host_ops *ops, void *host)
{
    /* jansson allocates through the project's allocator, which aborts on OOM on purpose. */
    json_set_alloc_funcs(util_malloc, util_free);
    sio_server *srv = util_calloc(1, sizeof *srv);
    srv->cfg = *cfg;
    srv->ops = *ops;
    srv->host = host;
    return srv;
}

void sio_server_free(sio_server *srv)
{
    if (!srv)
        return;
    batch_deliver(srv); /* releases what it holds: every client is closed by now */
    recov_server_free(srv);
    sio_nsp *nsp, *tmp;
    HASH_ITER(hh, srv->nsps, nsp, tmp)
    {
        HASH_DEL(srv->nsps, nsp);
        if (nsp->adapter && nsp->adapter->ops->destroy)
            nsp->adapter->ops->destroy(nsp->adapter);
        sio_evh *e, *etmp;
        HASH_ITER(hh, nsp->events, e, etmp)
        {
            HASH_DEL(nsp->events, e);
            util_free(e->event);
            util_free(e);
        }
        sio_room *r, *rtmp;
        HASH_ITER(hh, nsp->rooms, r, rtmp)
        {
            sio_member *m, *mtmp;
            HASH_ITER(hh, r->members, m, mtmp)
            {
                HASH_DEL(r->members, m);
                util_free(m);
            }
            HASH_DEL(nsp->rooms, r);
            util_free(r->name);
            util_free(r);
        }
        util_free(nsp->name);
        util_free(nsp);
    }
    util_free(srv);
}

void sio_server_set_adapter(sio_server *srv, sio_adapter_factory f, void *ud)
{
    srv->adapter_factory = f;
    srv->adapter_ud = ud;
}

size_t sio_server_socket_count(const sio_server *srv)
{
    size_t n = 0;
    for (const sio_nsp *nsp = srv->nsps; nsp; nsp = nsp->hh.next)
        n += nsp->n_sockets;
    return n;
}

sio_nsp *sio_server_find_nsp(sio_server *srv, const char *name)
{
    sio_nsp *nsp = NULL;
    HASH_FIND_STR(srv->nsps, name, nsp);
    return nsp;
}

sio_nsp *sio_server_of(sio_server *srv, const char *name, const sio_nsp_handlers *h, void *ud)
{
    sio_nsp *nsp = sio_server_find_nsp(srv, name);
    if (!nsp) {
        nsp = util_calloc(1, sizeof *nsp);
        nsp->name = util_strdup(name);
        nsp->srv = srv;
        HASH_ADD_KEYPTR(hh, srv->nsps, nsp->name, strlen(nsp->name), nsp);
        nsp->adapter = srv->adapter_factory ? srv->adapter_factory(nsp, srv->adapter_ud)
                                            : memory_adapter_new(nsp, NULL);
        const sio_adapter_ops *ops = nsp->adapter->ops;
        nsp->recov =
            srv->cfg.recovery_window_ms && ops->log_packet && ops->restore_session && ops->replay;
        if (srv->cfg.recovery_window_ms && !nsp->recov)
            UTIL_LOGW(UTIL_SUB_SOCKETIO,
                      "%s: its adapter keeps no packet log: connection state "
                      "recovery is off here",
                      name);
    }
    if (h) {
        nsp->h = *h;
        nsp->ud = ud;
    }
    return nsp;
}

void sio_nsp_on(sio_nsp *nsp, const char *event, sio_event_fn fn, void *ud)
{
    sio_evh *e = NULL;
    HASH_FIND_STR(nsp->events, event, e);
    if (!e) {
        e = util_calloc(1, sizeof *e);
        e->event = util_strdup(event);
        HASH_ADD_KEYPTR(hh, nsp->events, e->event, strlen(e->event), e);
    }
    e->fn = fn;
    e->ud = ud;
}

const char *sio_nsp_name(const sio_nsp *nsp)
{
    return nsp->name;
}

sio_socket *sio_nsp_socket(sio_nsp *nsp, const char *id)
{
    sio_socket *s = NULL;
    HASH_FIND_STR(nsp->sockets, id, s);
    return s;
}

size_t sio_nsp_size(const sio_nsp *nsp)
{
    return nsp->n_sockets;
}

sio_adapter *sio_nsp_adapter(sio_nsp *nsp)
{
    return nsp->adapter;
}

json_t *event_data(const char *event, json_t *args)
{
    json_t *data = json_array();
    json_array_append_new(data, json_string(event));
    if (args) {
        json_array_extend(data, args);
        json_decref(args);
    }
    return data;
}

/* ---- clients ---- */

void client_ref(sio_client *c)
{
    c->refs++;
}

/* The client's memory goes with its last reference (output queued for it holds one); its timers
 * were cancelled when it closed. */
void client_unref(sio_client *c)
{
    if (--c->refs > 0)
        return;
    sio_decoder_free(c->dec);
    json_decref(c->hs);
    hs_text_unref(c->hs_text);
    util_free(c);
}

static void on_connect_timeout(void *arg)
{
    sio_client *c = arg;
    c->connect_timer = NULL;
    if (!c->sockets && !c->close_reason) {
        UTIL_LOGI_RL(UTIL_SUB_SOCKETIO, "no namespace connected within %u ms: closing the session",
                     c->srv->cfg.connect_timeout_ms);
        out_close(c, "forced close");
    }
}

sio_client *sio_client_open(sio_server *srv, void *conn, sio_handshake_info *hs)
{
    sio_client *c = util_calloc(1, sizeof *c);
    c->refs = 1;
    c->srv = srv;
    c->conn = conn;
    c->dec = sio_decoder_new(&srv->cfg.limits);
    /* Kept as text: jansson objects of every header cost about 2 KiB per idle session, and
     * few programs ever read them. */
    json_t *hso = json_object();
    json_object_set_new(hso, "headers", hs->headers ? hs->headers : json_object());
    time_t secs = (time_t)(hs->issued_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char when[96];
    strftime(when, sizeof when, "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &tm);
    json_object_set_new(hso, "time", json_string(when));
    json_object_set_new(hso, "address", json_string(hs->address ? hs->address : ""));
    json_object_set_new(hso, "xdomain", json_boolean(hs->xdomain));
    json_object_set_new(hso, "secure", json_boolean(hs->secure));
    json_object_set_new(hso, "issued", json_integer((json_int_t)hs->issued_ms));
    json_object_set_new(hso, "url", json_string(hs->url ? hs->url : ""));
    json_object_set_new(hso, "query", hs->query ? hs->query : json_object());
    char *text = json_dumps(hso, JSON_COMPACT);
    json_decref(hso);
    size_t tl = text ? strlen(text) : 2;
    c->hs_text = util_malloc(sizeof *c->hs_text + tl + 1);
    c->hs_text->refs = 1;
    memcpy(c->hs_text->text, text ? text : "{}", tl + 1);
    util_free(text); /* jansson allocates through util_malloc */
    hs->headers = hs->query = NULL;
    if (srv->cfg.connect_timeout_ms)
        c->connect_timer =
            srv->ops.timer_start(srv->host, srv->cfg.connect_timeout_ms, on_connect_timeout, c);
    return c;
}

static void client_finish_close(sio_client *c, const char *reason)
{
    while (c->pending)
        socket_pending_abort(c->pending, reason);
    while (c->sockets) {
        sio_socket *s = c->sockets;
        socket_closed(s, reason, false);
    }
    if (c->connect_timer) {
        c->srv->ops.timer_cancel(c->srv->host, c->connect_timer);
        c->connect_timer = NULL;
    }
    if (c->attachment_timer) {
        c->srv->ops.timer_cancel(c->srv->host, c->attachment_timer);
        c->attachment_timer = NULL;
    }
    client_unref(c);
}

void client_dispatch_begin(sio_client *c)
{
    c->dispatching++;
}

void client_dispatch_end(sio_client *c)
{
    if (--c->dispatching == 0 && c->close_reason)
        client_finish_close(c, c->close_reason);
}

void sio_client_closed(sio_client *c, const char *reason)
{
    if (c->close_reason)
        return;
    c->close_reason = reason ? reason : "transport close";
    if (c->dispatching == 0)
        client_finish_close(c, c->close_reason);
}

static sio_socket *client_socket(sio_client *c, const char *nsp)
{
    for (sio_socket *s = c->sockets; s; s = s->client_next)
        if (strcmp(s->nsp->name, nsp) == 0)
            return s;
    return NULL;
}

/* The socket of c whose deferred connect to nsp is unanswered, or NULL. */
static sio_socket *client_pending(sio_client *c, const char *nsp)
{
    for (sio_socket *s = c->pending; s; s = s->pend_next)
        if (strcmp(s->nsp->name, nsp) == 0)
            return s;
    return NULL;
}

static void send_connect_error(sio_client *c, const char *nsp, const char *message, json_t *data)
{
    json_t *body = json_object();
    json_object_set_new(body, "message", json_string(message));
    if (data)
        json_object_set(body, "data", data);
    sio_encoded e;
    sio_encode(SIO_CONNECT_ERROR, nsp, -1, body, &e);
    json_decref(body);
    out_send(c, &e, false);
    sio_encoded_clear(&e);
}

/* A copy of v for logs: binary values become "<binary N bytes>". Caller owns the result. */
static json_t *loggable(json_t *v)
{
    size_t len;
    if (sio_binary_data(v, &len))
        return json_sprintf("<binary %zu bytes>", len);
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            json_array_append_new(a, loggable(e));
        }
        return a;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            json_object_set_new(o, k, loggable(e));
        }
        return o;
    }
    return json_incref(v);
}

/* Asks the host to close the session for reason; no more input is handled. */
static void client_close(sio_client *c, const char *reason)
{
    c->closing = true;
    batch_before_send(c);
    c->srv->ops.close(c->conn, reason, c->srv->host);
}

/* The client sent a packet that was refused or pointless (what): counted, and past
 * max_ignored_packets within SIO_FLOOD_WINDOW_MS its session is closed with one log line.
 * Returns true when it was. */
static bool client_ignored(sio_client *c, const char *what, const char *nsp)
{
    uint32_t max = c->srv->cfg.max_ignored_packets;
    if (!max)
        return false;
    uint64_t now = c->srv->ops.now(c->srv->host);
    if (c->flood_count == 0 || now - c->flood_start >= SIO_FLOOD_WINDOW_MS) {
        c->flood_start = now;
        c->flood_count = 0;
    }
    if (++c->flood_count <= max)
        return false;
    UTIL_LOGW_RL(UTIL_SUB_SOCKETIO,
                 "session sent more than %u refused or pointless packets in %u s (the last: %s "
                 "%.100s): closed (%s)",
                 max, SIO_FLOOD_WINDOW_MS / 1000, what, nsp, EIO_REASON_PACKET_FLOOD);
    client_close(c, EIO_REASON_PACKET_FLOOD);
    return true;
}

static void on_attachment_timeout(void *arg)
{
    sio_client *c = arg;
    c->attachment_timer = NULL;
    if (c->close_reason || c->closing)
        return;
    UTIL_LOGW_RL(UTIL_SUB_SOCKETIO,
                 "binary packet still waiting for its attachments after %u ms: closing the "
                 "session",
                 c->srv->cfg.attachment_timeout_ms);
    client_close(c, EIO_REASON_PARSE_ERROR);
}

/* After the decoder took a message: the attachment timer runs while a binary packet waits for
 * its attachments, and the host hears what that packet holds. */
static void client_pending_changed(sio_client *c)
{
    sio_server *srv = c->srv;
    size_t held = sio_decoder_pending_bytes(c->dec);
    if (held && !c->attachment_timer && srv->cfg.attachment_timeout_ms)
        c->attachment_timer = srv->ops.timer_start(srv->host, srv->cfg.attachment_timeout_ms,
                                                   on_attachment_timeout, c);
    else if (!held && c->attachment_timer) {
        srv->ops.timer_cancel(srv->host, c->attachment_timer);
        c->attachment_timer = NULL;
    }
    if (held != c->held_reported && srv->ops.hold) {
        c->held_reported = held;
        srv->ops.hold(c->conn, held, srv->host);
    }
}

static void handle_connect(sio_client *c, sio_packet *p)
{
    sio_nsp *nsp = sio_server_find_nsp(c->srv, p->nsp);
    if (!nsp) {
        UTIL_LOGD(UTIL_SUB_SOCKETIO, "connect to unknown namespace %s refused", p->nsp);
        if (!client_ignored(c, "CONNECT to the unknown namespace", p->nsp))
            send_connect_error(c, p->nsp, "Invalid namespace", NULL);
        c->srv->stats.connect_refused++;
        return;
    }
    if (client_socket(c, p->nsp) || client_pending(c, p->nsp)) {
        if (!client_ignored(c, "CONNECT again to", p->nsp))
            UTIL_LOGW_RL(UTIL_SUB_SOCKETIO, "second CONNECT to %.100s on one session ignored",
                         p->nsp);
        return;
    }
    json_t *auth = p->data && json_is_object(p->data) ? p->data : NULL;
    if (recov_connect(c, nsp, auth))
        return; /* a session to restore: the connect goes on once it is found (or not) */
    sio_socket *s = socket_new(nsp, c);
    socket_connect(s, auth);
    socket_unref(s);
}

void sio_client_message(sio_client *c, const uint8_t *data, size_t len, bool binary)
{
    if (c->close_reason || c->closing)
        return;
    sio_packet p;
    memset(&p, 0, sizeof p);
    const char *err = NULL;
    sio_decode_status st = sio_decoder_feed(c->dec, data, len, binary, &p, &err);
    client_pending_changed(c);
    if (st == SIO_DEC_NEED_MORE)
        return;
    if (st == SIO_DEC_ERROR) {
        UTIL_LOGW_RL(UTIL_SUB_SOCKETIO, "invalid packet (%s): closing the session",
                     err ? err : "parse error");
        client_close(c, EIO_REASON_PARSE_ERROR);
        return;
    }
    if (util_log_enabled(UTIL_SUB_SOCKETIO, UTIL_LOG_DEBUG)) {
        json_t *shown = p.data ? loggable(p.data) : NULL;
        char *js = shown ? json_dumps(shown, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(shown);
        util_log(UTIL_SUB_SOCKETIO, UTIL_LOG_DEBUG, "in type=%d nsp=%s id=%lld data=%.300s",
                 (int)p.type, p.nsp, (long long)p.id, js ? js : "");
        free(js);
    }
    client_dispatch_begin(c);
    switch (p.type) {
    case SIO_CONNECT: handle_connect(c, &p); break;
    case SIO_DISCONNECT: {
        sio_socket *s = client_socket(c, p.nsp);
        if (s)
            socket_closed(s, SIO_REASON_CLIENT_NSP_DISCONNECT, false);
        else if ((s = client_pending(c, p.nsp)))
            socket_pending_abort(s, SIO_REASON_CLIENT_NSP_DISCONNECT);
        else
            client_ignored(c, "DISCONNECT from the unconnected namespace", p.nsp);
        break;
    }
    case SIO_EVENT: {
        sio_socket *s = client_socket(c, p.nsp);
        if (s && s->connected) {
            socket_on_event(s, p.data, p.id);
        } else {
            /* As Node: a namespace whose connect is still being decided has no socket yet (its
             * events are dropped, but they are not pointless: the client may not know yet). */
            UTIL_LOGD(UTIL_SUB_SOCKETIO, "event for namespace %s not connected: dropped", p.nsp);
            if (!client_pending(c, p.nsp))
                client_ignored(c, "event for the unconnected namespace", p.nsp);
        }
        break;
    }
    case SIO_ACK: {
        sio_socket *s = client_socket(c, p.nsp);
        if (s)
            socket_on_ack(s, p.data, p.id);
        break;
    }
    default:
        UTIL_LOGW_RL(UTIL_SUB_SOCKETIO, "unexpected packet type %d from a client: closing",
                     (int)p.type);
        client_close(c, EIO_REASON_PARSE_ERROR);
        break;
    }
    sio_packet_clear(&p);
    client_dispatch_end(c);
}

/* ---- rejects ---- */

void sio_reject_set(sio_reject *r, const char *message, json_t *data)
{
    util_free(r->message);
    json_decref(r->data);
    r->set = true;
    r->message = util_strdup(message ? message : "");
    r->data = data;
}

/* ---- counters and observation ---------------------------------------------------------------- */

void sio_server_get_stats(const sio_server *srv, sio_server_stats *out)
{
    *out = srv->stats;
    out->deliveries = srv->deliveries;
}

void sio_server_each_nsp(sio_server *srv, void (*fn)(sio_nsp *nsp, void *ud), void *ud)
{
    sio_nsp *nsp, *tmp;
    HASH_ITER(hh, srv->nsps, nsp, tmp)
    {
        fn(nsp, ud);
    }
}

size_t sio_nsp_room_count(const sio_nsp *nsp)
{
    return HASH_COUNT(nsp->rooms);
}

void sio_server_observe(sio_server *srv, const sio_server_observer *obs, void *ud)
{
    srv->obs = obs ? *obs : (sio_server_observer){0};
    srv->obs_ud = obs ? ud : NULL;
}

void *sio_client_conn(const sio_client *c)
{
    return c->conn;
}
