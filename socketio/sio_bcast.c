/* sio_bcast: broadcasting: the public namespace operations (through the adapter), the local
 * operations adapters build on, broadcast-with-ack bookkeeping, and the in-memory adapter. */
#include "sio_internal.h"

#include "util_alloc.h"
#include "util_log.h"

#include <string.h>

/* ---- local operations ---- */

static void unref_all(sio_socket **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        socket_unref(v[i]);
    util_free(v);
}

/* Delivers packet to the local sockets o selects. offset: its log offset, or NULL when it is not
 * in the log (then, with recovery on, its receivers can no longer be recovered). */
static int local_emit(sio_nsp *nsp, json_t *packet, const sio_bcast_opts *o, const char *offset)
{
    bool vol = o && (o->flags & SIO_BC_VOLATILE);
    if (nsp->restoring && !vol)
        recov_hold_live(nsp, packet, o, offset);
    bool mark_gap = nsp->recov && !offset && !vol;
    if (nsp->srv->cfg.batch_broadcasts && !vol) {
        int reached = batch_emit(nsp, packet, o, mark_gap);
        nsp->srv->deliveries += (uint64_t)reached;
        nsp->srv->stats.broadcasts++;
        return reached;
    }
    size_t n, queued = 0;
    sio_socket **v = rooms_select(nsp, o, &n);
    if (n) {
        sio_encoded e;
        sio_encode(SIO_EVENT, nsp->name, -1, packet, &e);
        for (size_t i = 0; i < n; i++) {
            queued += socket_send(v[i], &e, vol) == 0;
            if (mark_gap)
                recov_gap(v[i]);
        }
        sio_encoded_clear(&e);
    }
    unref_all(v, n);
    nsp->srv->deliveries += queued;
    nsp->srv->stats.broadcasts++;
    return (int)queued;
}

int sio_nsp_local_emit(sio_nsp *nsp, json_t *packet, const sio_bcast_opts *o)
{
    return local_emit(nsp, packet, o, NULL);
}

int sio_nsp_local_emit_at(sio_nsp *nsp, json_t *packet, const sio_bcast_opts *o, const char *offset)
{
    return local_emit(nsp, packet, o, offset);
}

int sio_nsp_local_emit_ack(sio_nsp *nsp, json_t *packet, const sio_bcast_opts *o,
                           sio_bcast_ack *ack)
{
    batch_deliver(nsp->srv);
    size_t n;
    sio_socket **v = rooms_select(nsp, o, &n);
    sio_bcast_ack_expect(ack, n);
    nsp->srv->deliveries += n;
    nsp->srv->stats.broadcasts++;
    if (n) {
        int64_t id = nsp->next_ack_id++;
        sio_encoded e;
        sio_encode(SIO_EVENT, nsp->name, id, packet, &e);
        for (size_t i = 0; i < n; i++) {
            sio_pending_ack *pa = util_calloc(1, sizeof *pa);
            pa->id = id;
            pa->bc = ack;
            bcast_ack_ref(ack);
            socket_add_pending(v[i], pa);
            socket_out(v[i], &e, false);
        }
        sio_encoded_clear(&e);
    }
    unref_all(v, n);
    return (int)n;
}

void sio_nsp_local_join(sio_nsp *nsp, const sio_bcast_opts *o, const char *const *rooms,
                        size_t n_rooms)
{
    size_t n;
    sio_socket **v = rooms_select(nsp, o, &n);
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < n_rooms; r++)
            rooms_join(v[i], rooms[r]);
    unref_all(v, n);
}

void sio_nsp_local_leave(sio_nsp *nsp, const sio_bcast_opts *o, const char *const *rooms,
                         size_t n_rooms)
{
    size_t n;
    sio_socket **v = rooms_select(nsp, o, &n);
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < n_rooms; r++)
            rooms_leave(v[i], rooms[r]);
    unref_all(v, n);
}

void sio_nsp_local_disconnect(sio_nsp *nsp, const sio_bcast_opts *o, bool close)
{
    size_t n;
    sio_socket **v = rooms_select(nsp, o, &n);
    for (size_t i = 0; i < n; i++)
        sio_socket_disconnect(v[i], close);
    unref_all(v, n);
}

static void add_room_name(const char *room, void *ud)
{
    json_array_append_new(ud, json_string(room));
}

json_t *sio_nsp_local_fetch(sio_nsp *nsp, const sio_bcast_opts *o)
{
    size_t n;
    sio_socket **v = rooms_select(nsp, o, &n);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *rooms = json_array();
        sio_socket_rooms(v[i], add_room_name, rooms);
        json_array_append_new(out, json_pack("{s:s,s:O,s:o,s:O}", "id", v[i]->id, "handshake",
                                             sio_socket_handshake(v[i]), "rooms", rooms, "data",
                                             sio_socket_data_json(v[i])));
    }
    unref_all(v, n);
    return out;
}

json_t *sio_nsp_local_rooms(sio_nsp *nsp)
{
    json_t *out = json_array();
    sio_socket *s, *stmp;
    HASH_ITER(hh, nsp->sockets, s, stmp)
    {
        json_array_append_new(out, json_string(s->id));
    }
    sio_room *r, *rtmp;
    HASH_ITER(hh, nsp->rooms, r, rtmp)
    {
        json_array_append_new(out, json_string(r->name));
    }
    return out;
}

void sio_nsp_each_local(sio_nsp *nsp, const sio_bcast_opts *o, void (*fn)(sio_socket *s, void *ud),
                        void *ud)
{
    size_t n;
    sio_socket **v = rooms_select(nsp, o, &n);
    for (size_t i = 0; i < n; i++)
        fn(v[i], ud);
    unref_all(v, n);
}

/* ---- broadcast with acks ---- */

void bcast_ack_ref(sio_bcast_ack *b)
{
    b->refs++;
}

void bcast_ack_unref(sio_bcast_ack *b)
{
    if (--b->refs > 0)
        return;
    if (b->free_ud)
        b->free_ud(b->ud);
    json_decref(b->replies);
    util_free(b);
}

static void bcast_ack_finish(sio_bcast_ack *b, bool timed_out)
{
    b->done = true;
    if (b->timer) {
        sio_server *srv = b->nsp->srv;
        srv->ops.timer_cancel(srv->host, b->timer);
        b->timer = NULL;
        bcast_ack_unref(b); /* the timer's reference; the caller holds another */
    }
    if (b->cb)
        b->cb(b->nsp, b->replies, b->expected, timed_out, b->ud);
}

void bcast_ack_check(sio_bcast_ack *b)
{
    if (b->on_reply)
        return; /* a relay ends with its ttl */
    if (!b->done && b->pending_nodes <= 0 && json_array_size(b->replies) >= b->expected) {
        bcast_ack_ref(b);
        bcast_ack_finish(b, false);
        bcast_ack_unref(b);
    }
}

void sio_bcast_ack_expect(sio_bcast_ack *ack, size_t n)
{
    ack->expected += n;
    bcast_ack_check(ack);
}

void sio_bcast_ack_reply(sio_bcast_ack *ack, json_t *value)
{
    if (ack->done)
        return;
    if (ack->on_reply) {
        ack->on_reply(value ? value : json_null(), ack->ud);
        return;
    }
    json_array_append(ack->replies, value ? value : json_null());
    bcast_ack_check(ack);
}

void sio_bcast_ack_pending_nodes(sio_bcast_ack *ack, int delta)
{
    ack->pending_nodes += delta;
    bcast_ack_check(ack);
}

void sio_bcast_ack_ref(sio_bcast_ack *ack)
{
    bcast_ack_ref(ack);
}

void sio_bcast_ack_unref(sio_bcast_ack *ack)
{
    bcast_ack_unref(ack);
}

uint32_t sio_bcast_ack_timeout(const sio_bcast_ack *ack)
{
    return ack->timeout_ms;
}

bool sio_bcast_ack_done(const sio_bcast_ack *ack)
{
    return ack->done;
}

static void on_relay_expired(void *arg)
{
    sio_bcast_ack *b = arg;
    b->timer = NULL;
    b->done = true;
    bcast_ack_unref(b); /* the timer's reference */
}

sio_bcast_ack *sio_bcast_ack_relay(sio_nsp *nsp, void (*on_reply)(json_t *value, void *ud),
                                   void (*free_ud)(void *ud), void *ud, uint32_t ttl_ms)
{
    sio_bcast_ack *b = util_calloc(1, sizeof *b);
    b->refs = 2; /* the caller's and the timer's */
    b->nsp = nsp;
    b->on_reply = on_reply;
    b->free_ud = free_ud;
    b->ud = ud;
    b->replies = json_array();
    b->timer =
        nsp->srv->ops.timer_start(nsp->srv->host, ttl_ms ? ttl_ms : 5000, on_relay_expired, b);
    return b;
}

static void on_bcast_timeout(void *arg)
{
    sio_bcast_ack *b = arg;
    b->timer = NULL;
    if (!b->done) {
        bcast_ack_ref(b);
        bcast_ack_finish(b, true);
        bcast_ack_unref(b);
    }
    bcast_ack_unref(b); /* the timer's reference */
}

/* ---- public namespace operations (through the adapter) ---- */

static bool is_local(const sio_bcast_opts *o)
{
    return o && (o->flags & SIO_BC_LOCAL);
}

int sio_nsp_emit(sio_nsp *nsp, const sio_bcast_opts *o, const char *event, json_t *args)
{
    if (sio_event_reserved(event)) {
        UTIL_LOGW(UTIL_SUB_SOCKETIO, "refused to emit reserved event \"%s\"", event);
        json_decref(args);
        return -1;
    }
    json_t *data = event_data(event, args);
    int n;
    if (nsp->recov && !(o && (o->flags & SIO_BC_VOLATILE)))
        n = recov_emit_bcast(nsp, data, o); /* logged, delivered with its offset */
    else
        n = is_local(o) ? sio_nsp_local_emit(nsp, data, o)
                        : nsp->adapter->ops->broadcast(nsp->adapter, data, o);
    json_decref(data);
    return n;
}

int sio_nsp_emit_ack(sio_nsp *nsp, const sio_bcast_opts *o, const char *event, json_t *args,
                     uint32_t timeout_ms, sio_bcast_ack_fn cb, void *ud)
{
    if (sio_event_reserved(event)) {
        json_decref(args);
        return -1;
    }
    sio_bcast_ack *b = util_calloc(1, sizeof *b);
    b->refs = 1;
    b->nsp = nsp;
    b->cb = cb;
    b->ud = ud;
    b->replies = json_array();
    b->timeout_ms = timeout_ms;
    b->pending_nodes = 1; /* this call, until the adapter has reported */
    if (timeout_ms) {
        bcast_ack_ref(b);
        b->timer = nsp->srv->ops.timer_start(nsp->srv->host, timeout_ms, on_bcast_timeout, b);
    }
    json_t *data = event_data(event, args);
    int n = is_local(o) ? sio_nsp_local_emit_ack(nsp, data, o, b)
                        : nsp->adapter->ops->broadcast_ack(nsp->adapter, data, o, b);
    json_decref(data);
    sio_bcast_ack_pending_nodes(b, -1);
    bcast_ack_unref(b);
    return n;
}

void sio_nsp_sockets_join(sio_nsp *nsp, const sio_bcast_opts *o, const char *const *rooms, size_t n)
{
    if (is_local(o))
        sio_nsp_local_join(nsp, o, rooms, n);
    else
        nsp->adapter->ops->sockets_join(nsp->adapter, o, rooms, n);
}

void sio_nsp_sockets_leave(sio_nsp *nsp, const sio_bcast_opts *o, const char *const *rooms,
                           size_t n)
{
    if (is_local(o))
        sio_nsp_local_leave(nsp, o, rooms, n);
    else
        nsp->adapter->ops->sockets_leave(nsp->adapter, o, rooms, n);
}

void sio_nsp_disconnect_sockets(sio_nsp *nsp, const sio_bcast_opts *o, bool close)
{
    if (is_local(o))
        sio_nsp_local_disconnect(nsp, o, close);
    else
        nsp->adapter->ops->disconnect_sockets(nsp->adapter, o, close);
}

typedef struct fetch_ctx {
    sio_nsp *nsp;
    sio_fetch_fn cb;
    void *ud;
} fetch_ctx;

static void on_fetched(json_t *result, const char *err, void *ud)
{
    fetch_ctx *f = ud;
    f->cb(f->nsp, result, err, f->ud);
    util_free(f);
}

void sio_nsp_fetch_sockets(sio_nsp *nsp, const sio_bcast_opts *o, sio_fetch_fn cb, void *ud)
{
    if (is_local(o)) {
        json_t *r = sio_nsp_local_fetch(nsp, o);
        cb(nsp, r, NULL, ud);
        json_decref(r);
        return;
    }
    fetch_ctx *f = util_malloc(sizeof *f);
    f->nsp = nsp;
    f->cb = cb;
    f->ud = ud;
    nsp->adapter->ops->fetch_sockets(nsp->adapter, o, on_fetched, f);
}

typedef struct rooms_ctx {
    sio_nsp *nsp;
    sio_rooms_fn cb;
    void *ud;
} rooms_ctx;

static void on_rooms(json_t *result, const char *err, void *ud)
{
    rooms_ctx *r = ud;
    r->cb(r->nsp, result, err, r->ud);
    util_free(r);
}

void sio_nsp_all_rooms(sio_nsp *nsp, sio_rooms_fn cb, void *ud)
{
    rooms_ctx *r = util_malloc(sizeof *r);
    r->nsp = nsp;
    r->cb = cb;
    r->ud = ud;
    nsp->adapter->ops->all_rooms(nsp->adapter, on_rooms, r);
}

/* ---- server-side events ---- */

struct sio_server_reply {
    sio_adapter_result_fn fn;
    void *ud;
};

void sio_nsp_on_server_event(sio_nsp *nsp, sio_server_event_fn fn, void *ud)
{
    nsp->server_event = fn;
    nsp->server_event_ud = ud;
}

void sio_server_reply_send(sio_server_reply *r, json_t *value)
{
    if (!r) {
        json_decref(value);
        return;
    }
    json_t *v = value ? value : json_null();
    r->fn(v, NULL, r->ud);
    json_decref(v);
    util_free(r);
}

void sio_server_reply_drop(sio_server_reply *r)
{
    if (!r)
        return;
    r->fn(NULL, "no answer", r->ud); /* the adapter releases what it keeps for the reply */
    util_free(r);
}

void sio_nsp_local_server_event(sio_nsp *nsp, json_t *packet, sio_adapter_result_fn reply, void *ud)
{
    const char *event = json_string_value(json_array_get(packet, 0));
    if (!event || !nsp->server_event) {
        UTIL_LOGD(UTIL_SUB_SOCKETIO, "server-side event %s on %s has no handler",
                  event ? event : "(none)", nsp->name);
        if (reply)
            reply(NULL, "no handler", ud);
        return;
    }
    json_t *args = json_array();
    for (size_t i = 1; i < json_array_size(packet); i++)
        json_array_append(args, json_array_get(packet, i));
    sio_server_reply *r = NULL;
    if (reply) {
        r = util_malloc(sizeof *r);
        r->fn = reply;
        r->ud = ud;
    }
    nsp->server_event(nsp, event, args, r, nsp->server_event_ud);
    json_decref(args);
}

typedef struct ssa_ctx {
    sio_nsp *nsp;
    sio_server_ack_fn cb;
    void *ud;
} ssa_ctx;

static void on_server_acks(json_t *result, const char *err, void *ud)
{
    ssa_ctx *c = ud;
    c->cb(c->nsp, result, err, c->ud);
    util_free(c);
}

int sio_nsp_server_side_emit(sio_nsp *nsp, const char *event, json_t *args, uint32_t timeout_ms,
                             sio_server_ack_fn cb, void *ud)
{
    if (sio_event_reserved(event)) {
        json_decref(args);
        return -1;
    }
    json_t *data = event_data(event, args);
    ssa_ctx *c = NULL;
    if (cb) {
        c = util_malloc(sizeof *c);
        c->nsp = nsp;
        c->cb = cb;
        c->ud = ud;
    }
    nsp->adapter->ops->server_side_emit(nsp->adapter, data, timeout_ms, cb ? on_server_acks : NULL,
                                        c);
    json_decref(data);
    return 0;
}

/* ---- the in-memory adapter: this node is the whole cluster ---- */

static int mem_broadcast(sio_adapter *a, json_t *packet, const sio_bcast_opts *o)
{
    return sio_nsp_local_emit(a->nsp, packet, o);
}

static int mem_broadcast_ack(sio_adapter *a, json_t *packet, const sio_bcast_opts *o,
                             sio_bcast_ack *ack)
{
    return sio_nsp_local_emit_ack(a->nsp, packet, o, ack);
}

static void mem_join(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms, size_t n)
{
    sio_nsp_local_join(a->nsp, o, rooms, n);
}

static void mem_leave(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms, size_t n)
{
    sio_nsp_local_leave(a->nsp, o, rooms, n);
}

static void mem_disconnect(sio_adapter *a, const sio_bcast_opts *o, bool close)
{
    sio_nsp_local_disconnect(a->nsp, o, close);
}

static void mem_fetch(sio_adapter *a, const sio_bcast_opts *o, sio_adapter_result_fn cb, void *ud)
{
    json_t *r = sio_nsp_local_fetch(a->nsp, o);
    cb(r, NULL, ud);
    json_decref(r);
}

static void mem_all_rooms(sio_adapter *a, sio_adapter_result_fn cb, void *ud)
{
    json_t *r = sio_nsp_local_rooms(a->nsp);
    cb(r, NULL, ud);
    json_decref(r);
}

static void mem_server_side_emit(sio_adapter *a, json_t *packet, uint32_t timeout_ms,
                                 sio_adapter_result_fn cb, void *ud)
{
    (void)a, (void)packet, (void)timeout_ms;
    /* No other node: nothing to deliver, and no reply to wait for. */
    if (cb) {
        json_t *none = json_array();
        cb(none, NULL, ud);
        json_decref(none);
    }
}

static void mem_destroy(sio_adapter *a)
{
    memlog_free(((mem_adapter *)a)->log);
    util_free(a);
}

static const sio_adapter_ops k_memory_ops = {
    .broadcast = mem_broadcast,
    .broadcast_ack = mem_broadcast_ack,
    .sockets_join = mem_join,
    .sockets_leave = mem_leave,
    .disconnect_sockets = mem_disconnect,
    .fetch_sockets = mem_fetch,
    .all_rooms = mem_all_rooms,
    .server_side_emit = mem_server_side_emit,
    .destroy = mem_destroy,
};

/* The same, with connection state recovery from memory (sio_memlog.c). */
static const sio_adapter_ops k_memory_recovery_ops = {
    .broadcast = mem_broadcast,
    .broadcast_ack = mem_broadcast_ack,
    .sockets_join = mem_join,
    .sockets_leave = mem_leave,
    .disconnect_sockets = mem_disconnect,
    .fetch_sockets = mem_fetch,
    .all_rooms = mem_all_rooms,
    .server_side_emit = mem_server_side_emit,
    .destroy = mem_destroy,
    .log_packet = memlog_log_packet,
    .session_open = memlog_session_open,
    .session_close = memlog_session_close,
    .restore_session = memlog_restore,
    .replay = memlog_replay,
};

sio_adapter *memory_adapter_new(sio_nsp *nsp, void *ud)
{
    (void)ud;
    mem_adapter *a = util_calloc(1, sizeof *a);
    a->base.nsp = nsp;
    if (nsp->srv->cfg.recovery_window_ms) {
        a->base.ops = &k_memory_recovery_ops;
        a->log = memlog_new(nsp);
    } else {
        a->base.ops = &k_memory_ops;
    }
    return &a->base;
}
