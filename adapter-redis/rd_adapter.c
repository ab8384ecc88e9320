/* rd_adapter: the socket.io-redis adapter protocol (8.x) for one namespace: broadcasts on
 * K#NSP#[ROOM#], requests and responses on K-request#NSP# / K-response#NSP#[UID#], node count by
 * PUBSUB NUMSUB, one handler per request type. Local delivery goes through socketio's local
 * operations; the cluster those adapters share is rd_cluster.c. */
#include "rd_adapter.h"

#include "rd_codec.h"
#include "rd_internal.h"
#include "rd_recovery.h"
#include "util_alloc.h"
#include "util_buf.h"
#include "util_log.h"
#include "util_rand.h"

#include <string.h>
#include <utlist.h>

/** Lines per 10 s for each kind of malformed message from Redis (any publisher can send them):
 * enough to see every one of a handful, bounded under a flood. */
#define RD_DROP_LOG_BURST 100

/** A request this node issued and whose answers it collects. */
typedef struct rd_pending {
    char id[8];
    int type;
    rd_adapter *a;
    int refs; /**< the adapter's list, an in-flight NUMSUB */
    bool done;
    long long expected; /**< answers to wait for; -1 until NUMSUB answered */
    long long received;
    json_t *acc; /**< results so far (array) */
    sio_adapter_result_fn cb;
    void *ud;
    sio_bcast_ack *ack; /**< broadcast with acks: where counts and replies go */
    const char *what;   /**< for the timeout message */
    uv_timer_t timer;
    struct rd_pending *next;
} rd_pending;

struct rd_adapter {
    sio_adapter base;
    rd_cluster *cl;
    char uid[8];
    char *ch_bcast; /**< K#NSP# */
    char *ch_request;
    char *ch_response;
    char *ch_response_uid;
    rd_pending *pending;
    uint64_t last_warn; /**< loop time of the last "redis unavailable" warning */
    rd_recov *rec;      /**< connection state recovery, or NULL when it is off */
    rd_adapter *next;
};

/* ---- helpers ---- */

static char *dup_buf(util_buf *b)
{
    return util_buf_steal_str(b);
}

static json_t *opts_json(const sio_bcast_opts *o)
{
    json_t *rooms = json_array(), *except = json_array();
    for (size_t i = 0; o && i < o->n_rooms; i++)
        json_array_append_new(rooms, json_string(o->rooms[i]));
    for (size_t i = 0; o && i < o->n_except; i++)
        json_array_append_new(except, json_string(o->except[i]));
    return json_pack("{s:o,s:o}", "rooms", rooms, "except", except);
}

/** Borrowed view of an opts object: the strings point into the JSON, valid while it lives. */
typedef struct opts_view {
    sio_bcast_opts o;
    const char **v; /**< owned array holding rooms then except */
} opts_view;

static void strings_of(json_t *arr, const char **dst, size_t *n)
{
    size_t i;
    json_t *e;
    *n = 0;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e))
            dst[(*n)++] = json_string_value(e);
    }
}

static void opts_view_init(opts_view *ov, json_t *opts, unsigned flags)
{
    json_t *rooms = json_object_get(opts, "rooms"), *except = json_object_get(opts, "except");
    size_t nr = json_is_array(rooms) ? json_array_size(rooms) : 0;
    size_t ne = json_is_array(except) ? json_array_size(except) : 0;
    ov->v = util_malloc((nr + ne + 1) * sizeof *ov->v);
    memset(&ov->o, 0, sizeof ov->o);
    ov->o.rooms = ov->v;
    if (nr)
        strings_of(rooms, ov->v, &ov->o.n_rooms);
    ov->o.except = ov->v + ov->o.n_rooms;
    if (ne)
        strings_of(except, ov->v + ov->o.n_rooms, &ov->o.n_except);
    ov->o.flags = flags | SIO_BC_LOCAL;
}

static void opts_view_free(opts_view *ov)
{
    util_free(ov->v);
}

/* Logs a failure caused by Redis being away, at most once every 5 s per namespace (the link has
 * already reported the outage; this says what is being lost). */
static void warn_unavailable(rd_adapter *a, const char *what)
{
    uint64_t now = a->cl ? uv_now(a->cl->loop) : 0;
    if (a->last_warn && now - a->last_warn < 5000) {
        UTIL_LOGD(UTIL_SUB_ADAPTER, "%s: redis unavailable: %s", sio_nsp_name(a->base.nsp), what);
        return;
    }
    a->last_warn = now ? now : 1;
    UTIL_LOGW(UTIL_SUB_ADAPTER,
              "%s: redis unavailable: %s (further such messages at debug level "
              "for 5 s)",
              sio_nsp_name(a->base.nsp), what);
}

static void publish_raw(rd_adapter *a, const char *channel, util_buf *b)
{
    if (!a->cl || rd_link_publish(a->cl->link, channel, strlen(channel), b->data, b->len) != 0)
        warn_unavailable(a, "cross-node message not sent");
}

/* Publishes a request or response as Node does: JSON, or msgpack when it carries binary. */
static void publish_json(rd_adapter *a, const char *channel, json_t *msg)
{
    util_buf b = UTIL_BUF_INIT;
    rd_request_encode(&b, msg);
    publish_raw(a, channel, &b);
    util_buf_free(&b);
}

/* ---- pending requests ---- */

static void pending_unref(rd_pending *p)
{
    if (--p->refs > 0)
        return;
    json_decref(p->acc);
    if (p->ack)
        sio_bcast_ack_unref(p->ack);
    util_free(p);
}

static void pending_timer_closed(uv_handle_t *h)
{
    pending_unref(h->data);
}

/* Completes p once: leaves the list, reports to cb (results, and err if not all answered). */
static void pending_finish(rd_pending *p, const char *err)
{
    if (p->done)
        return;
    p->done = true;
    if (p->a->cl && p->a->cl->stats.pending)
        p->a->cl->stats.pending--;
    LL_DELETE(p->a->pending, p); /* p is in the list until it is finished, once */
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, pending_timer_closed);
    if (p->cb)
        p->cb(p->acc, err, p->ud);
}

static void on_pending_timeout(uv_timer_t *t)
{
    rd_pending *p = t->data;
    if (p->type == RD_REQ_BROADCAST) {
        pending_finish(p, NULL); /* the ack state has its own timeout */
        return;
    }
    if (p->a->cl && p->type >= 0 && p->type < RD_CLUSTER_REQ_TYPES)
        p->a->cl->stats.request_timeouts[p->type]++;
    char why[128];
    snprintf(why, sizeof why, "timeout reached while waiting for %s response", p->what);
    UTIL_LOGW_RL(UTIL_SUB_ADAPTER, "%s: %s (%lld of %lld nodes answered)",
                 sio_nsp_name(p->a->base.nsp), why, p->received, p->expected);
    pending_finish(p, why);
}

static rd_pending *pending_new(rd_adapter *a, int type, const char *what, json_t *acc,
                               sio_adapter_result_fn cb, void *ud, uint32_t timeout_ms)
{
    rd_pending *p = util_calloc(1, sizeof *p);
    util_rand_id(p->id, 4); /* 6 URL-safe characters, as uid2(6) */
    p->type = type;
    p->a = a;
    p->refs = 1;
    p->expected = -1;
    p->acc = acc ? acc : json_array();
    p->cb = cb;
    p->ud = ud;
    p->what = what;
    uv_timer_init(a->cl->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_pending_timeout, timeout_ms ? timeout_ms : a->cl->timeout_ms, 0);
    LL_PREPEND(a->pending, p);
    a->cl->stats.pending++;
    return p;
}

static rd_pending *pending_find(rd_adapter *a, const char *id)
{
    for (rd_pending *p = a->pending; id && p; p = p->next)
        if (strcmp(p->id, id) == 0)
            return p;
    return NULL;
}

static void pending_check(rd_pending *p)
{
    if (p->expected >= 0 && p->received >= p->expected)
        pending_finish(p, NULL);
}

static json_t *request_head(rd_adapter *a, const char *request_id, int type)
{
    json_t *m = json_object();
    if (a->cl && type >= 0 && type < RD_CLUSTER_REQ_TYPES)
        a->cl->stats.requests_out[type]++;
    json_object_set_new(m, "uid", json_string(a->uid));
    if (request_id)
        json_object_set_new(m, "requestId", json_string(request_id));
    json_object_set_new(m, "type", json_integer(type));
    return m;
}

/* NUMSUB answered for a request that collects one answer per other node. */
static void on_node_count(void *ud, long long n)
{
    rd_pending *p = ud;
    if (p->done) {
        pending_unref(p);
        return;
    }
    if (n < 0) {
        warn_unavailable(p->a, "a cross-node request failed");
        pending_finish(p, "redis unavailable");
        pending_unref(p);
        return;
    }
    p->expected = n - 1; /* the count includes this node */
    if (p->expected <= 0) {
        pending_finish(p, NULL);
        pending_unref(p);
        return;
    }
    pending_check(p); /* answers may have come before the count */
    pending_unref(p);
}

/* Issues a request that collects one answer per other node: asks NUMSUB, and if other nodes
 * exist publishes msg (stolen) on the request channel. */
static void request_collect(rd_adapter *a, rd_pending *p, json_t *msg)
{
    p->refs++;
    /* Published at once: a node that answers before NUMSUB returns is counted all the same. */
    publish_json(a, a->ch_request, msg);
    json_decref(msg);
    rd_link_numsub(a->cl->link, a->ch_request, on_node_count, p);
}

/* ---- adapter operations ---- */

/* Publishes a broadcast to the other nodes (the classic way, without a log offset). */
static void publish_broadcast(rd_adapter *a, json_t *packet, const sio_bcast_opts *o)
{
    rd_broadcast b;
    memset(&b, 0, sizeof b);
    b.uid = a->uid;
    b.data = packet;
    b.nsp = (char *)sio_nsp_name(a->base.nsp);
    b.rooms = (char **)(o ? o->rooms : NULL);
    b.n_rooms = o ? o->n_rooms : 0;
    b.except = (char **)(o ? o->except : NULL);
    b.n_except = o ? o->n_except : 0;
    b.volatile_ = o && (o->flags & SIO_BC_VOLATILE);
    util_buf msg = UTIL_BUF_INIT, ch = UTIL_BUF_INIT;
    rd_broadcast_encode(&msg, &b, false);
    rd_channel_broadcast(&ch, a->cl->key, b.nsp, b.n_rooms == 1 ? b.rooms[0] : NULL);
    a->cl->stats.broadcasts_out++;
    if (rd_link_publish(a->cl->link, (const char *)ch.data, ch.len, msg.data, msg.len) != 0)
        warn_unavailable(a, "broadcast delivered on this node only");
    util_buf_free(&msg);
    util_buf_free(&ch);
}

static int op_broadcast(sio_adapter *base, json_t *packet, const sio_bcast_opts *o)
{
    rd_adapter *a = (rd_adapter *)base;
    int n = sio_nsp_local_emit(base->nsp, packet, o);
    if (a->cl) /* NULL: the cluster link is gone (shutdown) */
        publish_broadcast(a, packet, o);
    return n;
}

/* A logged packet that could not be logged still goes to the other nodes (without offset). */
static void recovery_fallback(void *ud, json_t *packet, const sio_bcast_opts *o)
{
    rd_adapter *a = ud;
    if (a->cl)
        publish_broadcast(a, packet, o);
}

/* NUMSUB answered for a broadcast with acks: from now on every other node is awaited. Count
 * replies (type 8) that came before this are already in p->received. */
static void on_ack_count(void *ud, long long n)
{
    rd_pending *p = ud;
    long long remote = n < 0 ? 0 : n - 1;
    if (n < 0)
        warn_unavailable(p->a, "broadcast acks from this node only");
    p->expected = remote;
    long long still = remote - p->received;
    /* Replace the token taken before NUMSUB by one per node that has not reported yet. */
    sio_bcast_ack_pending_nodes(p->ack, (int)(still > 0 ? still : 0) - 1);
    pending_unref(p);
}

static int op_broadcast_ack(sio_adapter *base, json_t *packet, const sio_bcast_opts *o,
                            sio_bcast_ack *ack)
{
    rd_adapter *a = (rd_adapter *)base;
    int n = sio_nsp_local_emit_ack(base->nsp, packet, o, ack);
    if (!a->cl)
        return n;
    /* Acks are collected for as long as the caller waits (as Node's flags.timeout). */
    uint32_t timeout = sio_bcast_ack_timeout(ack);
    rd_pending *p = pending_new(a, RD_REQ_BROADCAST, "broadcast", NULL, NULL, NULL, timeout);
    p->ack = ack;
    sio_bcast_ack_ref(ack);
    rd_broadcast b;
    memset(&b, 0, sizeof b);
    b.uid = a->uid;
    b.data = packet;
    b.nsp = (char *)sio_nsp_name(base->nsp);
    b.rooms = (char **)(o ? o->rooms : NULL);
    b.n_rooms = o ? o->n_rooms : 0;
    b.except = (char **)(o ? o->except : NULL);
    b.n_except = o ? o->n_except : 0;
    util_buf msg = UTIL_BUF_INIT;
    rd_request_encode_broadcast(&msg, p->id, &b, timeout ? timeout : a->cl->timeout_ms);
    a->cl->stats.requests_out[RD_REQ_BROADCAST]++;
    publish_raw(a, a->ch_request, &msg);
    util_buf_free(&msg);
    /* One token until NUMSUB says how many nodes must report their client count. */
    sio_bcast_ack_pending_nodes(ack, 1);
    p->refs++;
    rd_link_numsub(a->cl->link, a->ch_request, on_ack_count, p);
    return n;
}

static void publish_rooms_request(rd_adapter *a, int type, const sio_bcast_opts *o,
                                  const char *const *rooms, size_t n)
{
    json_t *m = request_head(a, NULL, type);
    json_object_set_new(m, "opts", opts_json(o));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(rooms[i]));
    json_object_set_new(m, "rooms", arr);
    publish_json(a, a->ch_request, m);
    json_decref(m);
}

/* Join, leave and disconnect apply locally at once; our own echo is then skipped by uid (the same
 * effect as Node's, which applies them through the echo). */
static void rd_sockets_join(sio_adapter *base, const sio_bcast_opts *o, const char *const *rooms,
                            size_t n)
{
    sio_nsp_local_join(base->nsp, o, rooms, n);
    if (((rd_adapter *)base)->cl)
        publish_rooms_request((rd_adapter *)base, RD_REQ_REMOTE_JOIN, o, rooms, n);
}

static void rd_sockets_leave(sio_adapter *base, const sio_bcast_opts *o, const char *const *rooms,
                             size_t n)
{
    sio_nsp_local_leave(base->nsp, o, rooms, n);
    if (((rd_adapter *)base)->cl)
        publish_rooms_request((rd_adapter *)base, RD_REQ_REMOTE_LEAVE, o, rooms, n);
}

static void rd_disconnect_sockets(sio_adapter *base, const sio_bcast_opts *o, bool close)
{
    rd_adapter *a = (rd_adapter *)base;
    if (!a->cl) {
        sio_nsp_local_disconnect(base->nsp, o, close);
        return;
    }
    json_t *m = request_head(a, NULL, RD_REQ_REMOTE_DISCONNECT);
    json_object_set_new(m, "opts", opts_json(o));
    json_object_set_new(m, "close", json_boolean(close));
    publish_json(a, a->ch_request, m);
    json_decref(m);
    sio_nsp_local_disconnect(base->nsp, o, close);
}

static void rd_fetch_sockets(sio_adapter *base, const sio_bcast_opts *o, sio_adapter_result_fn cb,
                             void *ud)
{
    rd_adapter *a = (rd_adapter *)base;
    rd_pending *p = pending_new(a, RD_REQ_REMOTE_FETCH, "fetchSockets",
                                sio_nsp_local_fetch(base->nsp, o), cb, ud, 0);
    json_t *m = request_head(a, p->id, RD_REQ_REMOTE_FETCH);
    json_object_set_new(m, "opts", opts_json(o));
    request_collect(a, p, m);
}

static void rd_all_rooms(sio_adapter *base, sio_adapter_result_fn cb, void *ud)
{
    rd_adapter *a = (rd_adapter *)base;
    if (!a->cl) {
        json_t *r = sio_nsp_local_rooms(base->nsp);
        cb(r, NULL, ud);
        json_decref(r);
        return;
    }
    rd_pending *p =
        pending_new(a, RD_REQ_ALL_ROOMS, "allRooms", sio_nsp_local_rooms(base->nsp), cb, ud, 0);
    request_collect(a, p, request_head(a, p->id, RD_REQ_ALL_ROOMS));
}

static void rd_server_side_emit(sio_adapter *base, json_t *packet, uint32_t timeout_ms,
                                sio_adapter_result_fn cb, void *ud)
{
    rd_adapter *a = (rd_adapter *)base;
    if (!a->cl) {
        if (cb) {
            json_t *none = json_array();
            cb(none, "redis adapter closed", ud);
            json_decref(none);
        }
        return;
    }
    if (!cb) {
        json_t *m = request_head(a, NULL, RD_REQ_SERVER_SIDE_EMIT);
        json_object_set(m, "data", packet);
        publish_json(a, a->ch_request, m);
        json_decref(m);
        return;
    }
    rd_pending *p =
        pending_new(a, RD_REQ_SERVER_SIDE_EMIT, "serverSideEmit", NULL, cb, ud, timeout_ms);
    json_t *m = request_head(a, p->id, RD_REQ_SERVER_SIDE_EMIT);
    json_object_set(m, "data", packet);
    request_collect(a, p, m);
}

/* ---- answering other nodes ---- */

static void respond(rd_adapter *a, json_t *msg)
{
    if (a->cl)
        publish_json(a, a->ch_response, msg);
    json_decref(msg);
}

typedef struct ss_reply {
    rd_adapter *a;
    char *request_id;
} ss_reply;

static void on_server_event_reply(json_t *value, const char *err, void *ud)
{
    ss_reply *r = ud;
    if (!err)
        respond(r->a, json_pack("{s:i,s:s,s:O}", "type", RD_REQ_SERVER_SIDE_EMIT, "requestId",
                                r->request_id, "data", value ? value : json_null()));
    util_free(r->request_id);
    util_free(r);
}

typedef struct relay_ctx {
    rd_adapter *a;
    char *request_id;
} relay_ctx;

static void on_relay_reply(json_t *value, void *ud)
{
    relay_ctx *r = ud;
    if (!r->a->cl)
        return;
    util_buf b = UTIL_BUF_INIT;
    rd_request_encode_broadcast_ack(&b, r->request_id, value);
    publish_raw(r->a, r->a->ch_response, &b);
    util_buf_free(&b);
}

static void relay_free(void *ud)
{
    relay_ctx *r = ud;
    util_free(r->request_id);
    util_free(r);
}

static json_t *local_socket_ids(sio_nsp *nsp, json_t *rooms)
{
    json_t *opts = json_pack("{s:O}", "rooms", rooms ? rooms : json_array());
    opts_view ov;
    opts_view_init(&ov, opts, 0);
    json_t *sockets = sio_nsp_local_fetch(nsp, &ov.o);
    json_t *ids = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(sockets, i, s)
    {
        json_array_append(ids, json_object_get(s, "id"));
    }
    json_decref(sockets);
    opts_view_free(&ov);
    json_decref(opts);
    return ids;
}

/* Each request handler answers req (borrowed) of another node, or of an emitter (no uid), for
 * this namespace; rid is its requestId (NULL when it has none). */
typedef void (*request_fn)(rd_adapter *a, json_t *req, const char *rid);

/* SOCKETS (legacy): the ids of this node's sockets in the request's rooms. */
static void req_sockets(rd_adapter *a, json_t *req, const char *rid)
{
    if (rid)
        respond(a, json_pack("{s:s,s:o}", "requestId", rid, "sockets",
                             local_socket_ids(a->base.nsp, json_object_get(req, "rooms"))));
}

/* ALL_ROOMS: this node's rooms. */
static void req_all_rooms(rd_adapter *a, json_t *req, const char *rid)
{
    (void)req;
    if (rid)
        respond(
            a, json_pack("{s:s,s:o}", "requestId", rid, "rooms", sio_nsp_local_rooms(a->base.nsp)));
}

/* REMOTE_JOIN and REMOTE_LEAVE: {opts, rooms} applies to the selected sockets; the legacy form
 * {requestId, sid, room} is answered by the node holding that socket only. */
static void join_or_leave(rd_adapter *a, json_t *req, const char *rid, bool join)
{
    sio_nsp *nsp = a->base.nsp;
    json_t *opts = json_object_get(req, "opts");
    if (json_is_object(opts)) {
        json_t *rooms = json_object_get(req, "rooms");
        size_t n = json_array_size(rooms);
        const char **names = util_malloc((n + 1) * sizeof *names);
        strings_of(rooms, names, &n);
        opts_view ov;
        opts_view_init(&ov, opts, 0);
        if (join)
            sio_nsp_local_join(nsp, &ov.o, names, n);
        else
            sio_nsp_local_leave(nsp, &ov.o, names, n);
        opts_view_free(&ov);
        util_free(names);
        return;
    }
    const char *sid = json_string_value(json_object_get(req, "sid"));
    const char *room = json_string_value(json_object_get(req, "room"));
    sio_socket *s = sid ? sio_nsp_socket(nsp, sid) : NULL;
    if (!s || !room)
        return;
    if (join)
        sio_socket_join(s, room);
    else
        sio_socket_leave(s, room);
    if (rid)
        respond(a, json_pack("{s:s}", "requestId", rid));
}

static void req_remote_join(rd_adapter *a, json_t *req, const char *rid)
{
    join_or_leave(a, req, rid, true);
}

static void req_remote_leave(rd_adapter *a, json_t *req, const char *rid)
{
    join_or_leave(a, req, rid, false);
}

/* REMOTE_DISCONNECT: {opts, close} disconnects the selected sockets; the legacy form {requestId,
 * sid, close} is answered by the node holding that socket only. */
static void req_remote_disconnect(rd_adapter *a, json_t *req, const char *rid)
{
    sio_nsp *nsp = a->base.nsp;
    bool close = json_is_true(json_object_get(req, "close"));
    json_t *opts = json_object_get(req, "opts");
    if (json_is_object(opts)) {
        opts_view ov;
        opts_view_init(&ov, opts, 0);
        sio_nsp_local_disconnect(nsp, &ov.o, close);
        opts_view_free(&ov);
        return;
    }
    const char *sid = json_string_value(json_object_get(req, "sid"));
    sio_socket *s = sid ? sio_nsp_socket(nsp, sid) : NULL;
    if (!s)
        return;
    sio_socket_disconnect(s, close);
    if (rid)
        respond(a, json_pack("{s:s}", "requestId", rid));
}

/* REMOTE_FETCH: this node's sockets matching opts, with their handshake, rooms and data. */
static void req_remote_fetch(rd_adapter *a, json_t *req, const char *rid)
{
    if (!rid)
        return;
    json_t *opts = json_object_get(req, "opts");
    opts_view ov;
    opts_view_init(&ov, json_is_object(opts) ? opts : NULL, 0);
    respond(a, json_pack("{s:s,s:o}", "requestId", rid, "sockets",
                         sio_nsp_local_fetch(a->base.nsp, &ov.o)));
    opts_view_free(&ov);
}

/* SERVER_SIDE_EMIT: runs this node's server-side handler; with a requestId, its reply goes back. */
static void req_server_side_emit(rd_adapter *a, json_t *req, const char *rid)
{
    json_t *data = json_object_get(req, "data");
    if (!json_is_array(data) || !json_is_string(json_array_get(data, 0)))
        return;
    if (!rid) {
        sio_nsp_local_server_event(a->base.nsp, data, NULL, NULL);
        return;
    }
    ss_reply *r = util_malloc(sizeof *r);
    r->a = a;
    r->request_id = util_strdup(rid);
    sio_nsp_local_server_event(a->base.nsp, data, on_server_event_reply, r);
}

/* BROADCAST (with acks): emits to this node's matching sockets, answers with their count (even 0:
 * the requester waits for one count per node), then relays each client's ack as it comes. */
static void req_broadcast(rd_adapter *a, json_t *req, const char *rid)
{
    sio_nsp *nsp = a->base.nsp;
    rd_broadcast b;
    const char *err = NULL;
    if (!rid || rd_request_broadcast(req, &b, &err) != 0) {
        UTIL_LOG_RL(UTIL_SUB_ADAPTER, UTIL_LOG_WARN, RD_DROP_LOG_BURST, 10000,
                    "%s: broadcast request dropped: %s", sio_nsp_name(nsp),
                    err ? err : "no requestId");
        return;
    }
    json_t *flags = json_object_get(json_object_get(req, "opts"), "flags");
    json_int_t ttl = json_integer_value(json_object_get(flags, "timeout"));
    relay_ctx *r = util_malloc(sizeof *r);
    r->a = a;
    r->request_id = util_strdup(rid);
    sio_bcast_ack *relay = sio_bcast_ack_relay(nsp, on_relay_reply, relay_free, r,
                                               ttl > 0 ? (uint32_t)ttl : a->cl->timeout_ms);
    sio_bcast_opts o = {
        .rooms = (const char *const *)b.rooms,
        .n_rooms = b.n_rooms,
        .except = (const char *const *)b.except,
        .n_except = b.n_except,
        .flags = SIO_BC_LOCAL,
    };
    int n = sio_nsp_local_emit_ack(nsp, b.data, &o, relay);
    rd_broadcast_clear(&b);
    respond(a, json_pack("{s:i,s:s,s:i}", "type", RD_REQ_BROADCAST_CLIENT_COUNT, "requestId", rid,
                         "clientCount", n < 0 ? 0 : n));
    sio_bcast_ack_unref(relay);
}

/** The handler of each request type (RD_REQ_*); NULL: not a request this node answers. */
static const request_fn k_requests[] = {
    [RD_REQ_SOCKETS] = req_sockets,
    [RD_REQ_ALL_ROOMS] = req_all_rooms,
    [RD_REQ_REMOTE_JOIN] = req_remote_join,
    [RD_REQ_REMOTE_LEAVE] = req_remote_leave,
    [RD_REQ_REMOTE_DISCONNECT] = req_remote_disconnect,
    [RD_REQ_REMOTE_FETCH] = req_remote_fetch,
    [RD_REQ_SERVER_SIDE_EMIT] = req_server_side_emit,
    [RD_REQ_BROADCAST] = req_broadcast,
};

/* A request heard on K-request#NSP# (req borrowed, validated by rd_request_decode). */
static void handle_request(rd_adapter *a, json_t *req)
{
    int type = rd_request_type_of(req);
    const char *uid = rd_request_str(req, "uid");
    const char *rid = rd_request_str(req, "requestId");
    if ((uid && strcmp(uid, a->uid) == 0) || pending_find(a, rid))
        return; /* our own request, heard back from Redis */
    if (type >= 0 && type < RD_CLUSTER_REQ_TYPES)
        a->cl->stats.requests_in[type]++;
    request_fn fn = type >= 0 && (size_t)type < sizeof k_requests / sizeof k_requests[0]
                        ? k_requests[type]
                        : NULL;
    if (fn)
        fn(a, req, rid);
    else
        UTIL_LOGD(UTIL_SUB_ADAPTER, "%s: request type %d ignored", sio_nsp_name(a->base.nsp), type);
}

static void merge_unique(json_t *acc, json_t *more)
{
    size_t i, j;
    json_t *v, *w;
    json_array_foreach(more, i, v)
    {
        bool seen = false;
        json_array_foreach(acc, j, w)
        {
            if (json_equal(v, w)) {
                seen = true;
                break;
            }
        }
        if (!seen)
            json_array_append(acc, v);
    }
}

static void handle_response(rd_adapter *a, json_t *res)
{
    rd_pending *p = pending_find(a, json_string_value(json_object_get(res, "requestId")));
    if (!p || p->done)
        return;
    switch (p->type) {
    case RD_REQ_REMOTE_FETCH: {
        json_t *sockets = json_object_get(res, "sockets");
        if (json_is_array(sockets))
            json_array_extend(p->acc, sockets);
        break;
    }
    case RD_REQ_ALL_ROOMS: {
        json_t *rooms = json_object_get(res, "rooms");
        if (json_is_array(rooms))
            merge_unique(p->acc, rooms);
        break;
    }
    case RD_REQ_SERVER_SIDE_EMIT: {
        json_t *data = json_object_get(res, "data");
        json_array_append(p->acc, data ? data : json_null());
        break;
    }
    case RD_REQ_BROADCAST: {
        int t = rd_request_type_of(res);
        if (t == RD_REQ_BROADCAST_CLIENT_COUNT) {
            json_int_t n = json_integer_value(json_object_get(res, "clientCount"));
            p->received++;
            sio_bcast_ack_expect(p->ack, n > 0 ? (size_t)n : 0);
            /* Before NUMSUB has answered, the node is counted when it does (on_ack_count). */
            if (p->expected >= 0 && p->received <= p->expected)
                sio_bcast_ack_pending_nodes(p->ack, -1);
        } else if (t == RD_REQ_BROADCAST_ACK) {
            sio_bcast_ack_reply(p->ack, json_object_get(res, "packet"));
        }
        return; /* lives until its timeout: acks keep coming */
    }
    default: return;
    }
    p->received++;
    pending_check(p);
}

/* ---- Redis messages ---- */

static void on_broadcast_message(void *ud, const char *channel, size_t channel_len,
                                 const uint8_t *payload, size_t len)
{
    rd_adapter *a = ud;
    sio_nsp *nsp = a->base.nsp;
    char *room = NULL;
    if (rd_channel_room(channel, channel_len, a->cl->key, sio_nsp_name(nsp), &room) != 0)
        return; /* another namespace sharing the pattern's prefix */
    if (room && !sio_nsp_has_room(nsp, room)) {
        util_free(room);
        return; /* nobody here is in that room */
    }
    util_free(room);
    rd_broadcast b;
    const char *err = NULL;
    if (rd_broadcast_decode(payload, len, &b, &err) != 0) {
        UTIL_LOG_RL(UTIL_SUB_ADAPTER, UTIL_LOG_WARN, RD_DROP_LOG_BURST, 10000,
                    "%s: broadcast from redis dropped: %s", sio_nsp_name(nsp),
                    err ? err : "malformed");
        return;
    }
    if ((!b.uid || strcmp(b.uid, a->uid) != 0) && strcmp(b.nsp, sio_nsp_name(nsp)) == 0) {
        sio_bcast_opts o = {
            .rooms = (const char *const *)b.rooms,
            .n_rooms = b.n_rooms,
            .except = (const char *const *)b.except,
            .n_except = b.n_except,
            .flags = SIO_BC_LOCAL | (b.volatile_ ? SIO_BC_VOLATILE : 0),
        };
        a->cl->stats.broadcasts_in++;
        /* A logged packet of another siobroker node carries its offset; anything else (Node
         * peers, the emitters) does not, which makes its receivers unrecoverable (sio_adapter.h). */
        if (b.offset)
            sio_nsp_local_emit_at(nsp, b.data, &o, b.offset);
        else
            sio_nsp_local_emit(nsp, b.data, &o);
    }
    rd_broadcast_clear(&b);
}

/* Requests and responses share the decode-and-log path; only the validation and the handler
 * differ. */
static void on_control_message(rd_adapter *a, const uint8_t *payload, size_t len, bool response)
{
    json_t *msg = NULL;
    const char *err = NULL;
    int rc = response ? rd_response_decode(payload, len, &msg, &err)
                      : rd_request_decode(payload, len, &msg, &err);
    if (rc != 0) {
        UTIL_LOG_RL(UTIL_SUB_ADAPTER, UTIL_LOG_WARN, RD_DROP_LOG_BURST, 10000,
                    "%s: %s from redis dropped: %s", sio_nsp_name(a->base.nsp),
                    response ? "response" : "request", err ? err : "malformed");
        return;
    }
    if (response)
        handle_response(a, msg);
    else
        handle_request(a, msg);
    json_decref(msg);
}

static void on_request_message(void *ud, const char *channel, size_t channel_len,
                               const uint8_t *payload, size_t len)
{
    (void)channel, (void)channel_len;
    on_control_message(ud, payload, len, false);
}

static void on_response_message(void *ud, const char *channel, size_t channel_len,
                                const uint8_t *payload, size_t len)
{
    (void)channel, (void)channel_len;
    on_control_message(ud, payload, len, true);
}

/* ---- lifecycle ---- */

static void rd_destroy(sio_adapter *base)
{
    rd_adapter *a = (rd_adapter *)base;
    rd_recov_free(a->rec);
    while (a->pending)
        pending_finish(a->pending, "adapter closed");
    if (a->cl)
        LL_DELETE(a->cl->adapters, a);
    util_free(a->ch_bcast);
    util_free(a->ch_request);
    util_free(a->ch_response);
    util_free(a->ch_response_uid);
    util_free(a);
}

static const sio_adapter_ops k_redis_ops = {
    .broadcast = op_broadcast,
    .broadcast_ack = op_broadcast_ack,
    .sockets_join = rd_sockets_join,
    .sockets_leave = rd_sockets_leave,
    .disconnect_sockets = rd_disconnect_sockets,
    .fetch_sockets = rd_fetch_sockets,
    .all_rooms = rd_all_rooms,
    .server_side_emit = rd_server_side_emit,
    .destroy = rd_destroy,
};

/* ---- connection state recovery (rd_recovery.c) ---- */

static rd_recov *rec_of(sio_adapter *base)
{
    return ((rd_adapter *)base)->rec;
}

static void op_log_packet(sio_adapter *base, json_t *packet, const sio_bcast_opts *o,
                          uint64_t token)
{
    rd_recov_log_packet(rec_of(base), packet, o, token);
}

static void op_session_open(sio_adapter *base, sio_socket *s)
{
    rd_recov_session_open(rec_of(base), s);
}

static void op_session_update(sio_adapter *base, sio_socket *s, unsigned what)
{
    rd_recov_session_update(rec_of(base), s, what);
}

static void op_session_close(sio_adapter *base, sio_socket *s, bool recoverable)
{
    rd_recov_session_close(rec_of(base), s, recoverable);
}

static void op_restore(sio_adapter *base, const char *pid, const char *offset, sio_restore_fn cb,
                       void *ud)
{
    rd_recov_restore(rec_of(base), pid, offset, cb, ud);
}

static void op_replay(sio_adapter *base, sio_socket *s, json_t *session, const char *offset,
                      sio_replay_fn cb, void *ud)
{
    rd_recov_replay(rec_of(base), s, session, offset, cb, ud);
}

/* The socket of a session being recovered here may still be connected to another node (a
 * half-open connection it has not noticed): that node disconnects it, as for
 * io.in(sid).disconnectSockets() (our own echo is skipped, so the new socket stays). */
static void op_evict(sio_adapter *base, json_t *session)
{
    rd_adapter *a = (rd_adapter *)base;
    const char *sid = json_string_value(json_object_get(session, "sid"));
    if (!sid || !a->cl)
        return;
    json_t *m = request_head(a, NULL, RD_REQ_REMOTE_DISCONNECT);
    json_object_set_new(m, "opts", json_pack("{s:[s],s:[]}", "rooms", sid, "except"));
    json_object_set_new(m, "close", json_false());
    publish_json(a, a->ch_request, m);
    json_decref(m);
}

static const sio_adapter_ops k_redis_recovery_ops = {
    .broadcast = op_broadcast,
    .broadcast_ack = op_broadcast_ack,
    .sockets_join = rd_sockets_join,
    .sockets_leave = rd_sockets_leave,
    .disconnect_sockets = rd_disconnect_sockets,
    .fetch_sockets = rd_fetch_sockets,
    .all_rooms = rd_all_rooms,
    .server_side_emit = rd_server_side_emit,
    .destroy = rd_destroy,
    .log_packet = op_log_packet,
    .session_open = op_session_open,
    .session_update = op_session_update,
    .session_close = op_session_close,
    .restore_session = op_restore,
    .replay = op_replay,
    .evict = op_evict,
};

static void on_upkeep(uv_timer_t *t)
{
    rd_cluster *cl = t->data;
    rd_adapter *a;
    LL_FOREACH(cl->adapters, a)
    {
        if (a->rec)
            rd_recov_maintain(a->rec);
    }
}

static void upkeep_closed(uv_handle_t *h)
{
    util_free(h);
}

sio_adapter *rd_adapter_factory(sio_nsp *nsp, void *cluster)
{
    rd_cluster *cl = cluster;
    rd_adapter *a = util_calloc(1, sizeof *a);
    a->base.ops = &k_redis_ops;
    a->base.nsp = nsp;
    a->cl = cl;
    util_rand_id(a->uid, 4);
    const char *name = sio_nsp_name(nsp);
    util_buf b = UTIL_BUF_INIT;
    rd_channel_broadcast(&b, cl->key, name, NULL);
    a->ch_bcast = dup_buf(&b);
    rd_channel_request(&b, cl->key, name);
    a->ch_request = dup_buf(&b);
    rd_channel_response(&b, cl->key, name, NULL);
    a->ch_response = dup_buf(&b);
    rd_channel_response(&b, cl->key, name, a->uid);
    a->ch_response_uid = dup_buf(&b);
    util_buf_printf(&b, "%s*", a->ch_bcast);
    char *pattern = dup_buf(&b);
    rd_link_subscribe(cl->link, pattern, true, on_broadcast_message, a);
    rd_link_subscribe(cl->link, a->ch_request, false, on_request_message, a);
    rd_link_subscribe(cl->link, a->ch_response, false, on_response_message, a);
    rd_link_subscribe(cl->link, a->ch_response_uid, false, on_response_message, a);
    util_free(pattern);
    uint32_t window = sio_nsp_recovery_window(nsp);
    if (window) {
        rd_recov_env env = {
            .link = cl->link,
            .key = cl->key,
            .uid = a->uid,
            .nsp = nsp,
            .loop = cl->loop,
            .fallback = recovery_fallback,
            .ud = a,
        };
        a->rec = rd_recov_new(&env);
        a->base.ops = &k_redis_recovery_ops;
        if (!cl->upkeep) {
            cl->upkeep = util_malloc(sizeof *cl->upkeep);
            uv_timer_init(cl->loop, cl->upkeep);
            cl->upkeep->data = cl;
            uint32_t period = rd_recov_period_ms(window);
            uv_timer_start(cl->upkeep, on_upkeep, period, period);
        }
    }
    LL_PREPEND(cl->adapters, a);
    UTIL_LOGI(UTIL_SUB_ADAPTER, "namespace %s joins the cluster (uid %s)", name, a->uid);
    return &a->base;
}

const char *rd_adapter_uid(const sio_adapter *a)
{
    return ((const rd_adapter *)a)->uid;
}

void rd_adapters_link_state(rd_cluster *cl, bool ready)
{
    rd_adapter *a;
    LL_FOREACH(cl->adapters, a)
    {
        if (a->rec)
            rd_recov_link_state(a->rec, ready);
    }
}

void rd_adapters_detach(rd_cluster *cl)
{
    rd_adapter *a;
    LL_FOREACH(cl->adapters, a)
    {
        while (a->pending)
            pending_finish(a->pending, "redis adapter closed");
        rd_recov_detach(a->rec);
        a->cl = NULL;
    }
    if (cl->upkeep) {
        uv_timer_stop(cl->upkeep);
        uv_close((uv_handle_t *)cl->upkeep, upkeep_closed);
        cl->upkeep = NULL;
    }
}
