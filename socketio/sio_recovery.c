/* sio_recovery: connection state recovery (Socket.IO 4.6's protocol; docs/recovery.md) on the
 * server side, over the adapter's log and session operations: the private session id and the
 * CONNECT reply's pid, logged emits whose offset is appended to their data, the restore of a
 * session (old id, rooms, data, then the missed packets, exactly once and in order), the session
 * writes (open, rooms, data, gap, close), and the ordered output queue that keeps what handlers
 * send in the order they sent it while logged packets wait for their offset. */
#include "sio_internal.h"

#include "util_alloc.h"
#include "util_log.h"
#include "util_rand.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const k_recoverable[] = {
    "transport error", "transport close",      "forced close",
    "ping timeout",    "server shutting down", "forced server close",
};

/* As Node's RECOVERABLE_DISCONNECT_REASONS: a broken connection, not a namespace disconnect. */
static bool recoverable(const char *reason)
{
    for (size_t i = 0; i < sizeof k_recoverable / sizeof *k_recoverable; i++)
        if (strcmp(reason, k_recoverable[i]) == 0)
            return true;
    return false;
}

/* a-b after c-d. */
static bool offset_after(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    return a > c || (a == c && b > d);
}

/* A private session id as the server makes them: SIO_SOCKET_ID_LEN URL-safe characters. */
static bool pid_ok(const char *pid)
{
    size_t n = strlen(pid);
    if (n != SIO_SOCKET_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = pid[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

/* ---- the ordered output queue ---------------------------------------------------------------- */

enum { OQ_SEND, OQ_CLOSE, OQ_BCAST, OQ_DIRECT };

/** One output of a handler that waits behind a logged packet, or a logged packet itself. */
typedef struct sio_outq {
    struct sio_outq *next;
    int kind;
    bool done; /**< logged: its offset is known (or it failed) */
    bool vol;
    bool has_offset;
    uint64_t token;
    sio_client *c; /**< referenced: SEND, CLOSE, DIRECT */
    sio_socket *s; /**< referenced: DIRECT */
    sio_nsp *nsp;  /**< BCAST */
    sio_encoded e; /**< SEND */
    const char *reason;
    json_t *data; /**< BCAST, DIRECT: the event data without offset */
    char **rooms, **except;
    size_t n_rooms, n_except;
    unsigned flags;
    char offset[SIO_OFFSET_MAX];
} sio_outq;

static void oq_free(sio_outq *q)
{
    sio_encoded_clear(&q->e);
    json_decref(q->data);
    util_strv_free(q->rooms, q->n_rooms);
    util_strv_free(q->except, q->n_except);
    if (q->s)
        socket_unref(q->s);
    if (q->c)
        client_unref(q->c);
    util_free(q);
}

static void oq_append(sio_server *srv, sio_outq *q)
{
    if (srv->oq_tail)
        srv->oq_tail->next = q;
    else
        srv->oq_head = q;
    srv->oq_tail = q;
}

int out_send(sio_client *c, const sio_encoded *e, bool volatile_)
{
    sio_server *srv = c->srv;
    if (!srv->oq_head)
        return client_send(c, e, volatile_);
    if (c->close_reason)
        return -1;
    sio_outq *q = util_calloc(1, sizeof *q);
    q->kind = OQ_SEND;
    q->vol = volatile_;
    q->c = c;
    client_ref(c);
    q->e.text = eio_msg_ref(e->text);
    if (e->n_attachments) {
        q->e.attachments = util_malloc(e->n_attachments * sizeof *q->e.attachments);
        for (size_t i = 0; i < e->n_attachments; i++)
            q->e.attachments[i] = eio_msg_ref(e->attachments[i]);
    }
    q->e.n_attachments = e->n_attachments;
    oq_append(srv, q);
    return 0;
}

static void close_now(sio_client *c, const char *reason)
{
    if (c->close_reason)
        return;
    batch_before_send(c);
    c->srv->ops.close(c->conn, reason, c->srv->host);
}

void out_close(sio_client *c, const char *reason)
{
    sio_server *srv = c->srv;
    c->closing = true; /* no more input is handled */
    if (!srv->oq_head) {
        close_now(c, reason);
        return;
    }
    sio_outq *q = util_calloc(1, sizeof *q);
    q->kind = OQ_CLOSE;
    q->reason = reason;
    q->c = c;
    client_ref(c);
    oq_append(srv, q);
}

/* data with offset appended (a new array sharing the elements), or a new reference to data. */
static json_t *with_offset(json_t *data, const char *offset)
{
    if (!offset)
        return json_incref(data);
    json_t *out = json_array();
    json_array_extend(out, data);
    json_array_append_new(out, json_string(offset));
    return out;
}

static void oq_run(sio_server *srv, sio_outq *q)
{
    switch (q->kind) {
    case OQ_SEND: client_send(q->c, &q->e, q->vol); break;
    case OQ_CLOSE: close_now(q->c, q->reason); break;
    case OQ_BCAST: {
        sio_bcast_opts o = {(const char *const *)q->rooms, q->n_rooms,
                            (const char *const *)q->except, q->n_except, q->flags};
        const char *off = q->has_offset ? q->offset : NULL;
        json_t *out = with_offset(q->data, off);
        srv->oq_delivered =
            off ? sio_nsp_local_emit_at(q->nsp, out, &o, off) : sio_nsp_local_emit(q->nsp, out, &o);
        srv->oq_last_token = q->token;
        json_decref(out);
        break;
    }
    case OQ_DIRECT: {
        if (!q->c->close_reason) {
            json_t *out = with_offset(q->data, q->has_offset ? q->offset : NULL);
            sio_encoded e;
            sio_encode(SIO_EVENT, q->s->nsp->name, -1, out, &e);
            client_send(q->c, &e, false);
            sio_encoded_clear(&e);
            json_decref(out);
        }
        if (!q->has_offset)
            recov_gap(q->s);
        break;
    }
    }
}

/* Runs the head of the queue while it is ready: outputs that waited, logged packets once done. */
static void oq_pump(sio_server *srv)
{
    if (srv->oq_pumping)
        return;
    srv->oq_pumping++;
    sio_outq *q;
    while ((q = srv->oq_head) && (q->kind == OQ_SEND || q->kind == OQ_CLOSE || q->done)) {
        srv->oq_head = q->next;
        if (!srv->oq_head)
            srv->oq_tail = NULL;
        oq_run(srv, q);
        oq_free(q);
    }
    srv->oq_pumping--;
}

void sio_nsp_log_done(sio_nsp *nsp, uint64_t token, const char *offset)
{
    sio_server *srv = nsp->srv;
    sio_outq *q = srv->oq_head;
    while (q && !((q->kind == OQ_BCAST || q->kind == OQ_DIRECT) && q->token == token))
        q = q->next;
    if (!q || q->done) {
        UTIL_LOGW(UTIL_SUB_SOCKETIO, "%s: logged packet %" PRIu64 " completed twice or unknown",
                  nsp->name, token);
        return;
    }
    q->done = true;
    srv->oq_inflight--;
    if (offset && strlen(offset) < sizeof q->offset) {
        memcpy(q->offset, offset, strlen(offset) + 1);
        q->has_offset = true;
    }
    oq_pump(srv);
}

void recov_server_free(sio_server *srv)
{
    while (srv->oq_head) {
        sio_outq *q = srv->oq_head;
        srv->oq_head = q->next;
        oq_free(q);
    }
    srv->oq_tail = NULL;
}

/* Logs data (reference taken) for nsp and queues its delivery. */
static sio_outq *log_start(sio_nsp *nsp, int kind, json_t *data, const sio_bcast_opts *o)
{
    sio_server *srv = nsp->srv;
    sio_outq *q = util_calloc(1, sizeof *q);
    q->kind = kind;
    q->token = ++srv->next_token;
    q->nsp = nsp;
    q->data = json_incref(data);
    q->rooms = util_strv_dup(o ? o->rooms : NULL, q->n_rooms = o ? o->n_rooms : 0);
    q->except = util_strv_dup(o ? o->except : NULL, q->n_except = o ? o->n_except : 0);
    q->flags = o ? o->flags : 0;
    srv->oq_inflight++;
    return q;
}

int recov_emit_bcast(sio_nsp *nsp, json_t *data, const sio_bcast_opts *o)
{
    sio_server *srv = nsp->srv;
    sio_outq *q = log_start(nsp, OQ_BCAST, data, o);
    uint64_t token = q->token;
    oq_append(srv, q);
    srv->oq_last_token = 0;
    nsp->adapter->ops->log_packet(nsp->adapter, data, o, token);
    if (srv->oq_last_token == token)
        return srv->oq_delivered; /* logged and delivered at once */
    /* Delivered once logged: the count of the sockets it selects now. */
    return (int)rooms_count(nsp, o);
}

int recov_emit_direct(sio_socket *s, json_t *data)
{
    sio_nsp *nsp = s->nsp;
    sio_client *c = s->client;
    if (!c || c->close_reason) {
        json_decref(data);
        return -1;
    }
    const char *self = s->id;
    sio_bcast_opts o = {&self, 1, NULL, 0, SIO_BC_LOCAL};
    sio_outq *q = log_start(nsp, OQ_DIRECT, data, &o);
    q->s = s;
    socket_ref(s);
    q->c = c;
    client_ref(c);
    oq_append(nsp->srv, q);
    nsp->adapter->ops->log_packet(nsp->adapter, data, &o, q->token);
    json_decref(data);
    return 0;
}

/* ---- sockets and their sessions -------------------------------------------------------------- */

void recov_socket_init(sio_socket *s)
{
    if (!s->nsp->recov)
        return;
    sio_recov *r = util_calloc(1, sizeof *r);
    util_rand_id(r->pid, 15);
    do
        util_rand_bytes(&r->owner, sizeof r->owner);
    while (!r->owner);
    s->rec = r;
}

static void pkts_clear(sio_recov *r)
{
    for (size_t i = 0; i < r->n_pkts; i++)
        json_decref(r->pkts[i].data);
    util_free(r->pkts);
    r->pkts = NULL;
    r->n_pkts = r->cap_pkts = 0;
}

void recov_socket_free(sio_socket *s)
{
    sio_recov *r = s->rec;
    if (!r)
        return;
    pkts_clear(r);
    json_decref(r->session);
    json_decref(r->auth);
    util_free(r->offset);
    util_free(r);
    s->rec = NULL;
}

const char *sio_socket_pid(const sio_socket *s)
{
    return s->rec ? s->rec->pid : NULL;
}

uint64_t sio_socket_owner(const sio_socket *s)
{
    return s->rec ? s->rec->owner : 0;
}

bool sio_socket_gap(const sio_socket *s)
{
    return s->rec && s->rec->gap;
}

bool sio_socket_recovered(const sio_socket *s)
{
    return s->rec && s->rec->recovered;
}

uint32_t sio_nsp_recovery_window(const sio_nsp *nsp)
{
    return nsp->srv->cfg.recovery_window_ms;
}

size_t sio_nsp_recovery_max_packets(const sio_nsp *nsp)
{
    size_t n = nsp->srv->cfg.recovery_max_packets;
    return n ? n : 10000;
}

void recov_opened(sio_socket *s)
{
    sio_recov *r = s->rec;
    if (!r || r->open)
        return;
    r->open = true;
    if (s->nsp->adapter->ops->session_open)
        s->nsp->adapter->ops->session_open(s->nsp->adapter, s);
}

void recov_changed(sio_socket *s, unsigned what)
{
    sio_recov *r = s->rec;
    if (r && r->open && s->nsp->adapter->ops->session_update)
        s->nsp->adapter->ops->session_update(s->nsp->adapter, s, what);
}

void recov_closing(sio_socket *s, const char *reason)
{
    sio_recov *r = s->rec;
    if (!r || !r->open)
        return;
    r->open = false;
    if (s->nsp->adapter->ops->session_close)
        s->nsp->adapter->ops->session_close(s->nsp->adapter, s, recoverable(reason));
}

void recov_gap(sio_socket *s)
{
    sio_recov *r = s->rec;
    if (!r || r->gap)
        return;
    r->gap = true;
    UTIL_LOGD(UTIL_SUB_SOCKETIO,
              "socket %s was sent a packet that is not in the log: its session "
              "can no longer be recovered",
              s->id);
    recov_changed(s, SIO_SESSION_GAP);
}

json_t *recov_auth_copy(const sio_socket *s, const json_t *auth)
{
    if (!auth)
        return NULL;
    json_t *a = json_deep_copy(auth);
    if (s->rec) { /* the private id is a credential: handlers, fetchSockets never see it */
        json_object_del(a, "pid");
        json_object_del(a, "offset");
    }
    return a;
}

void sio_socket_set_data(sio_socket *s, json_t *data)
{
    json_decref(s->data);
    s->data = data;
    recov_changed(s, SIO_SESSION_DATA);
}

void sio_socket_data_changed(sio_socket *s)
{
    recov_changed(s, SIO_SESSION_DATA);
}

/* ---- restoring ---------------------------------------------------------------------------------
 * A CONNECT with {pid, offset}: the session is taken from the adapter (restore_session); the socket
 * takes its old id, data and rooms and joins the namespace's restoring list, so that every live
 * packet for it is held from then on; the log is read after the offset (replay); the CONNECT
 * handler runs (sio_socket_recovered true); once accepted, the CONNECT reply goes out, then the
 * replayed packets, then the live ones held meanwhile that the replay did not already hold (by
 * offset): every missed packet once, in order. Anything that fails makes it a normal connect
 * (recovered false, a new id), which the client handles as such. */

static void restoring_add(sio_nsp *nsp, sio_socket *s)
{
    s->rec->rnext = nsp->restoring;
    nsp->restoring = s;
}

static void restoring_del(sio_nsp *nsp, sio_socket *s)
{
    for (sio_socket **pp = &nsp->restoring; *pp; pp = &(*pp)->rec->rnext) {
        if (*pp == s) {
            *pp = s->rec->rnext;
            break;
        }
    }
    s->rec->rnext = NULL;
}

bool recov_restoring_id(sio_nsp *nsp, const char *id)
{
    for (sio_socket *s = nsp->restoring; s; s = s->rec->rnext)
        if (strcmp(s->id, id) == 0)
            return true;
    return false;
}

static void pkt_push(sio_recov *r, json_t *data, const char *offset)
{
    if (r->n_pkts == r->cap_pkts) {
        r->cap_pkts = r->cap_pkts ? r->cap_pkts * 2 : 16;
        r->pkts = util_realloc(r->pkts, r->cap_pkts * sizeof *r->pkts);
    }
    sio_held_pkt *p = &r->pkts[r->n_pkts++];
    p->data = json_incref(data);
    snprintf(p->offset, sizeof p->offset, "%s", offset ? offset : "");
}

static bool selects(const sio_socket *s, const sio_bcast_opts *o)
{
    if (!o)
        return true;
    bool in = o->n_rooms == 0;
    for (size_t i = 0; !in && i < o->n_rooms; i++)
        in = sio_socket_in_room(s, o->rooms[i]);
    for (size_t i = 0; in && i < o->n_except; i++)
        in = !sio_socket_in_room(s, o->except[i]);
    return in;
}

void recov_hold_live(sio_nsp *nsp, json_t *packet, const sio_bcast_opts *o, const char *offset)
{
    for (sio_socket *s = nsp->restoring; s; s = s->rec->rnext) {
        sio_recov *r = s->rec;
        if (r->overflow || !selects(s, o))
            continue;
        uint64_t a, b;
        if (offset && sio_offset_parse(offset, &a, &b) && !offset_after(a, b, r->last_a, r->last_b))
            continue; /* the client has it, or the replay holds it */
        if (r->n_pkts >= sio_nsp_recovery_max_packets(nsp)) {
            /* More than the log keeps: give up before the client gets an incomplete replay. */
            r->overflow = true;
            pkts_clear(r);
            if (r->phase == RESTORE_HANDLER && s->client)
                out_close(s->client, "forced close");
            continue;
        }
        pkt_push(r, packet, offset);
    }
}

/* Saves the session of a socket that was being restored when its client went: the client may come
 * back again, its offset still valid. */
static void write_back(sio_socket *s)
{
    sio_recov *r = s->rec;
    if (!r->session)
        return;
    recov_opened(s);
    recov_closing(s, "transport close");
}

/* Drops the restore state of s (rooms are left by the caller). */
static void restore_clear(sio_socket *s)
{
    sio_recov *r = s->rec;
    if (r->phase == RESTORE_REPLAY || r->phase == RESTORE_HANDLER)
        restoring_del(s->nsp, s);
    pkts_clear(r);
    json_decref(r->session);
    r->session = NULL;
    util_free(r->offset);
    r->offset = NULL;
    r->phase = RESTORE_NONE;
}

void recov_restore_undo(sio_socket *s)
{
    if (s->rec && s->rec->phase != RESTORE_NONE)
        restore_clear(s);
}

bool recov_pending_abort(sio_socket *s)
{
    sio_recov *r = s->rec;
    if (!r || r->phase == RESTORE_NONE)
        return false;
    write_back(s);
    if (r->phase == RESTORE_HANDLER)
        return false; /* the handler has seen it: the deferred connect's path goes on */
    rooms_leave_all(s);
    restore_clear(s);
    r->aborted = true;
    return true;
}

/* Takes s out of its client's pending list. */
static void unpend(sio_socket *s)
{
    sio_client *c = s->client;
    for (sio_socket **pp = c ? &c->pending : NULL; pp && *pp; pp = &(*pp)->pend_next) {
        if (*pp == s) {
            *pp = s->pend_next;
            break;
        }
    }
    s->pend_next = NULL;
}

/* The old socket of a session that is being restored here: it leaves (its session has moved to
 * the new connection, so nothing of it is written), and its Engine.IO session, which the client
 * has abandoned, is closed. */
static void takeover(sio_socket *old)
{
    sio_client *oc = old->client;
    if (old->rec)
        old->rec->open = false;
    UTIL_LOGI(UTIL_SUB_SOCKETIO,
              "socket %s of %s is recovered on a new connection: the old one "
              "is closed",
              old->id, old->nsp->name);
    socket_closed(old, "transport close", false);
    if (oc && !oc->close_reason)
        out_close(oc, "forced close");
}

/* A session that names a socket that may still be connected (a half-open connection): that one
 * is disconnected, here or on its node. */
static void evict_old(sio_nsp *nsp, json_t *sess)
{
    const char *sid = json_string_value(json_object_get(sess, "sid"));
    if (!sid)
        return;
    sio_socket *old = sio_nsp_socket(nsp, sid);
    if (old) {
        takeover(old);
        return;
    }
    if (json_is_true(json_object_get(sess, "live")) && nsp->adapter->ops->evict)
        nsp->adapter->ops->evict(nsp->adapter, sess);
}

/* Gives up restoring s: a normal connect (a new id, no rooms, no data) follows. */
static void restore_to_normal(sio_socket *s, const char *why)
{
    sio_recov *r = s->rec;
    UTIL_LOGI(UTIL_SUB_SOCKETIO,
              "connection state of a socket of %s not recovered (%s): a new "
              "session starts",
              s->nsp->name, why);
    rooms_leave_all(s);
    restore_clear(s);
    r->recovered = false;
    util_rand_id(s->id, 15);
    util_rand_id(r->pid, 15);
    json_decref(s->data);
    s->data = NULL;
    unpend(s);
    json_t *auth = r->auth;
    r->auth = NULL;
    socket_connect(s, auth);
    json_decref(auth);
}

static void on_replayed(json_t *entries, const char *err, void *ud)
{
    sio_socket *s = ud;
    sio_recov *r = s->rec;
    sio_client *c = s->client;
    if (r->aborted || !c) {
        socket_unref(s);
        return;
    }
    client_dispatch_begin(c);
    size_t n = json_array_size(entries);
    if (err || !json_is_array(entries) || r->overflow || n > sio_nsp_recovery_max_packets(s->nsp)) {
        restore_to_normal(s, err ? err : "too many packets to replay");
    } else {
        /* The replay, then the live packets held meanwhile that it does not have. */
        sio_held_pkt *live = r->pkts;
        size_t n_live = r->n_pkts;
        r->pkts = NULL;
        r->n_pkts = r->cap_pkts = 0;
        size_t i;
        json_t *e;
        json_array_foreach(entries, i, e)
        {
            const char *off = json_string_value(json_array_get(e, 0));
            json_t *data = json_array_get(e, 1);
            uint64_t a, b;
            if (!off || !json_is_array(data) || !sio_offset_parse(off, &a, &b))
                continue;
            json_t *out = with_offset(data, off);
            pkt_push(r, out, off);
            json_decref(out);
            if (offset_after(a, b, r->last_a, r->last_b))
                r->last_a = a, r->last_b = b;
        }
        for (size_t k = 0; k < n_live; k++) {
            uint64_t a, b;
            if (!live[k].offset[0] || !sio_offset_parse(live[k].offset, &a, &b) ||
                offset_after(a, b, r->last_a, r->last_b))
                pkt_push(r, live[k].data, live[k].offset[0] ? live[k].offset : NULL);
            json_decref(live[k].data);
        }
        util_free(live);
        UTIL_LOGD(UTIL_SUB_SOCKETIO, "socket %s of %s: %zu packets to replay", s->id, s->nsp->name,
                  r->n_pkts);
        r->phase = RESTORE_HANDLER;
        unpend(s);
        json_t *auth = r->auth;
        r->auth = NULL;
        socket_connect(s, auth);
        json_decref(auth);
    }
    client_dispatch_end(c);
    socket_unref(s);
}

/* Fills s from a restored session. Returns false when the session is unusable. */
static bool populate(sio_socket *s, json_t *sess)
{
    const char *sid = json_string_value(json_object_get(sess, "sid"));
    json_t *rooms = json_object_get(sess, "rooms");
    if (!sid || strlen(sid) != SIO_SOCKET_ID_LEN || !json_is_array(rooms) ||
        sio_nsp_socket(s->nsp, sid) || recov_restoring_id(s->nsp, sid))
        return false;
    memcpy(s->id, sid, SIO_SOCKET_ID_LEN + 1);
    json_decref(s->data);
    json_t *data = json_object_get(sess, "data");
    s->data = data && !json_is_null(data) ? json_deep_copy(data) : NULL;
    size_t i;
    json_t *room;
    json_array_foreach(rooms, i, room)
    {
        if (json_is_string(room))
            rooms_join(s, json_string_value(room));
    }
    s->rec->recovered = true;
    s->rec->session = json_incref(sess);
    return true;
}

static void on_restored(json_t *sess, const char *why, void *ud)
{
    sio_socket *s = ud;
    sio_recov *r = s->rec;
    sio_client *c = s->client;
    sio_nsp *nsp = s->nsp;
    if (r->aborted || !c) {
        if (!why && sess && populate(s, sess)) { /* taken while the client went: put it back */
            write_back(s);
            rooms_leave_all(s);
            restore_clear(s);
        }
        r->phase = RESTORE_NONE;
        socket_unref(s);
        return;
    }
    client_dispatch_begin(c);
    if (sess)
        evict_old(nsp, sess);
    if (why || !sess) {
        restore_to_normal(s, why ? why : "no session");
    } else if (!populate(s, sess)) {
        restore_to_normal(s, "unusable session");
    } else {
        r->phase = RESTORE_REPLAY;
        restoring_add(nsp, s);
        socket_ref(s);
        nsp->adapter->ops->replay(nsp->adapter, s, sess, r->offset, on_replayed, s);
    }
    client_dispatch_end(c);
    socket_unref(s);
}

bool recov_connect(sio_client *c, sio_nsp *nsp, const json_t *auth)
{
    if (!nsp->recov || !json_is_object(auth))
        return false;
    const char *pid = json_string_value(json_object_get(auth, "pid"));
    const char *off = json_string_value(json_object_get(auth, "offset"));
    uint64_t a, b;
    if (!pid || !off || !pid_ok(pid) || !sio_offset_parse(off, &a, &b))
        return false;
    sio_socket *s = socket_new(nsp, c);
    sio_recov *r = s->rec;
    memcpy(r->pid, pid, SIO_SOCKET_ID_LEN + 1);
    r->offset = util_strdup(off);
    r->last_a = a;
    r->last_b = b;
    r->auth = json_deep_copy(auth);
    r->phase = RESTORE_LOOKUP;
    r->started = c->srv->ops.now(c->srv->host);
    /* Pending like a deferred connect: a second CONNECT is ignored, a DISCONNECT or the end of the
     * session aborts it. */
    s->pend_next = c->pending;
    c->pending = s;
    socket_ref(s); /* the lookup's */
    nsp->adapter->ops->restore_session(nsp->adapter, pid, off, on_restored, s);
    socket_unref(s); /* socket_new's */
    return true;
}

void recov_accepted(sio_socket *s)
{
    sio_recov *r = s->rec;
    restoring_del(s->nsp, s);
    sio_server *srv = s->nsp->srv;
    UTIL_LOGI(UTIL_SUB_SOCKETIO, "socket %s of %s recovered in %llu ms: %zu missed packets", s->id,
              s->nsp->name, (unsigned long long)(srv->ops.now(srv->host) - r->started), r->n_pkts);
    for (size_t i = 0; i < r->n_pkts; i++) {
        sio_encoded e;
        sio_encode(SIO_EVENT, s->nsp->name, -1, r->pkts[i].data, &e);
        socket_out(s, &e, false);
        sio_encoded_clear(&e);
        if (!r->pkts[i].offset[0])
            recov_gap(s);
    }
    restore_clear(s);
}
