/* sio_socket: a socket of a namespace: connect handshake with the handler, emits (held during the
 * connect handler), acks both ways, disconnect. */
#include "sio_internal.h"

#include "util_alloc.h"
#include "util_log.h"
#include "util_rand.h"

#include <string.h>
#include <utlist.h>

static const char k_timeout[] = "operation has timed out";

struct sio_ack {
    sio_socket *s; /**< holds a reference */
    int64_t id;
};

sio_socket *socket_new(sio_nsp *nsp, sio_client *c)
{
    sio_socket *s = util_calloc(1, sizeof *s);
    s->refs = 1;
    util_rand_id(s->id, 15);
    s->nsp = nsp;
    s->client = c;
    s->hs_text = hs_text_ref(c->hs_text);
    recov_socket_init(s);
    return s;
}

sio_hs_text *hs_text_ref(sio_hs_text *t)
{
    if (t)
        t->refs++;
    return t;
}

void hs_text_unref(sio_hs_text *t)
{
    if (t && --t->refs == 0)
        util_free(t);
}

/* Parses a handshake text into a new object (an empty one if it does not parse). Caller owns. */
static json_t *hs_parse(const sio_hs_text *t)
{
    json_t *o = t ? json_loads(t->text, 0, NULL) : NULL;
    return json_is_object(o) ? o : (json_decref(o), json_object());
}

void socket_ref(sio_socket *s)
{
    s->refs++;
}

void socket_unref(sio_socket *s)
{
    if (--s->refs > 0)
        return;
    for (size_t i = 0; i < s->n_held; i++) {
        sio_encoded_clear(&s->held[i].e);
        json_decref(s->held[i].logged);
    }
    util_free(s->held);
    util_free(s->rooms);
    recov_socket_free(s);
    json_decref(s->handshake);
    json_decref(s->auth);
    hs_text_unref(s->hs_text);
    json_decref(s->data);
    util_free(s);
}

int socket_send(sio_socket *s, const sio_encoded *e, bool volatile_)
{
    return s->client ? client_send(s->client, e, volatile_) : -1;
}

int client_send(sio_client *c, const sio_encoded *e, bool volatile_)
{
    if (c->close_reason)
        return -1;
    batch_before_send(c);
    sio_server *srv = c->srv;
    if (volatile_ && srv->ops.send_volatile) {
        /* The packet and its attachments are kept or dropped together. */
        eio_msg *stack[8], **v = stack;
        size_t n = 1 + e->n_attachments;
        if (n > sizeof stack / sizeof stack[0])
            v = util_malloc(n * sizeof *v);
        v[0] = e->text;
        for (size_t i = 0; i < e->n_attachments; i++)
            v[1 + i] = e->attachments[i];
        int rc = srv->ops.send_volatile(c->conn, v, n, srv->host);
        if (v != stack)
            util_free(v);
        srv->stats.volatile_drops += rc != 0;
        return rc;
    }
    if (srv->ops.send(c->conn, e->text, volatile_, srv->host) != 0) {
        srv->stats.volatile_drops += volatile_;
        return -1;
    }
    for (size_t i = 0; i < e->n_attachments; i++)
        srv->ops.send(c->conn, e->attachments[i], false, srv->host);
    return 0;
}

int socket_out(sio_socket *s, const sio_encoded *e, bool volatile_)
{
    return s->client ? out_send(s->client, e, volatile_) : -1;
}

/* Holds an emit while the connect handler runs: *e (taken; may be zeroed) or logged data (a
 * reference taken). */
static void hold(sio_socket *s, sio_encoded *e, json_t *logged)
{
    s->held = util_realloc(s->held, (s->n_held + 1) * sizeof *s->held);
    sio_hold *h = &s->held[s->n_held++];
    memset(h, 0, sizeof *h);
    if (e) {
        h->e = *e;
        memset(e, 0, sizeof *e);
    }
    h->logged = logged;
}

/* Sends e now, or holds it while the connect handler runs. Takes ownership of *e. */
static int socket_send_or_hold(sio_socket *s, sio_encoded *e)
{
    if (s->connecting) {
        hold(s, e, NULL);
        return 0;
    }
    int rc = socket_out(s, e, false);
    sio_encoded_clear(e);
    return rc;
}

static void pending_fire(sio_pending_ack *pa, json_t *args, const char *err);

/* Undoes what a connect handler did to a socket that will not connect: rooms left, server acks it
 * asked fired with an error. */
void connect_undo(sio_socket *s)
{
    rooms_leave_all(s);
    recov_restore_undo(s);
    while (s->acks) { /* acks asked from inside a refused connect handler */
        sio_pending_ack *pa = s->acks;
        s->acks = pa->next;
        pending_fire(pa, NULL, SIO_REASON_SERVER_NSP_DISCONNECT);
    }
    for (size_t i = 0; i < s->n_held; i++) {
        sio_encoded_clear(&s->held[i].e);
        json_decref(s->held[i].logged);
    }
    util_free(s->held);
    s->held = NULL;
    s->n_held = 0;
    s->connecting = false;
}

/* Refuses s: CONNECT_ERROR {message, data} (data borrowed, may be NULL) unless the client is
 * closing, or no packet at all and the whole session closed when close_session is set. */
static void connect_refused(sio_socket *s, const char *message, const json_t *data,
                            bool close_session)
{
    sio_client *c = s->client;
    connect_undo(s);
    if (!c->close_reason && close_session) {
        out_close(c, "forced close");
    } else if (!c->close_reason) {
        json_t *body = json_object();
        json_object_set_new(body, "message", json_string(message));
        if (data)
            json_object_set(body, "data", (json_t *)data);
        sio_encoded e;
        sio_encode(SIO_CONNECT_ERROR, s->nsp->name, -1, body, &e);
        json_decref(body);
        socket_out(s, &e, false);
        sio_encoded_clear(&e);
    }
    UTIL_LOGD(UTIL_SUB_SOCKETIO, "connect to %s refused: %s", s->nsp->name,
              close_session ? "session closed" : message);
    s->nsp->srv->stats.connect_refused++;
}

/* Accepts s: it joins its namespace, gets the CONNECT reply, then what was emitted to it while
 * connecting; the session's connect timeout stops. */
void connect_accepted(sio_socket *s)
{
    sio_nsp *nsp = s->nsp;
    sio_client *c = s->client;
    s->connecting = false;
    batch_nsp_changed(nsp);
    HASH_ADD_STR(nsp->sockets, id, s);
    socket_ref(s);
    nsp->n_sockets++;
    LL_PREPEND2(c->sockets, s, client_next);
    s->connected = true;
    if (c->connect_timer) {
        c->srv->ops.timer_cancel(c->srv->host, c->connect_timer);
        c->connect_timer = NULL;
    }

    /* With recovery on, the private id the client keeps to recover the session (Node's pid). */
    json_t *body = s->rec ? json_pack("{s:s,s:s}", "sid", s->id, "pid", s->rec->pid)
                          : json_pack("{s:s}", "sid", s->id);
    sio_encoded e;
    sio_encode(SIO_CONNECT, nsp->name, -1, body, &e);
    json_decref(body);
    socket_out(s, &e, false);
    sio_encoded_clear(&e);
    if (s->rec && s->rec->phase == RESTORE_HANDLER)
        recov_accepted(s); /* the missed packets, before anything newer */
    sio_hold *held = s->held;
    size_t n_held = s->n_held;
    s->held = NULL;
    s->n_held = 0;
    for (size_t i = 0; i < n_held; i++) {
        if (held[i].logged)
            recov_emit_direct(s, held[i].logged);
        else
            socket_out(s, &held[i].e, false);
        sio_encoded_clear(&held[i].e);
    }
    util_free(held);
    recov_opened(s);
    /* Per namespace connect, which a client can repeat at will: limited (per kind). */
    UTIL_LOG_RL(UTIL_SUB_SOCKETIO, UTIL_LOG_INFO, 50, 10000, "socket %s connected to %s%s", s->id,
                nsp->name, sio_socket_recovered(s) ? " (recovered)" : "");
    nsp->srv->stats.connects++;
    if (nsp->srv->obs.connected)
        nsp->srv->obs.connected(s, nsp->srv->obs_ud);
}

void socket_pending_abort(sio_socket *s, const char *reason)
{
    sio_client *c = s->client;
    if (c && c->pending)
        LL_DELETE2(c->pending, s, pend_next); /* a no-op when s is not in the list */
    s->pend_next = NULL;
    if (recov_pending_abort(s)) { /* still being restored: no handler has seen it */
        s->client = NULL;
        return;
    }
    connect_undo(s);
    UTIL_LOGD(UTIL_SUB_SOCKETIO, "deferred connect of %s to %s abandoned: %s", s->id, s->nsp->name,
              reason);
    socket_ref(s);
    if (s->nsp->h.disconnect)
        s->nsp->h.disconnect(s, reason, s->nsp->ud);
    s->client = NULL;
    socket_unref(s);
}

void socket_connect(sio_socket *s, const json_t *auth)
{
    sio_nsp *nsp = s->nsp;
    sio_client *c = s->client;
    /* The socket's handshake object is built only if asked for (sio_socket_handshake). */
    json_decref(s->auth);
    s->auth = recov_auth_copy(s, auth);
    sio_reject rej = {false, NULL, NULL};
    bool ok = true;
    s->connecting = true;
    if (nsp->h.connect) {
        static json_t *empty; /* the {} handlers see for a CONNECT without auth; never freed */
        if (!s->auth && !empty)
            empty = json_object();
        ok = nsp->h.connect(s, s->auth ? s->auth : empty, &rej, nsp->ud);
    }
    if (s->deferring) {
        /* The answer comes later (sio_socket_accept / _refuse / _refuse_close); the deferral holds
         * a reference until then. */
        s->deferring = false;
        util_free(rej.message);
        json_decref(rej.data);
        if (!s->deferred)
            return; /* already answered from inside the handler */
        if (c->close_reason) {
            socket_pending_abort(s, c->close_reason);
            return;
        }
        LL_PREPEND2(c->pending, s, pend_next);
        return;
    }
    if (!ok || c->close_reason) {
        connect_refused(s, rej.set ? rej.message : "connection refused", rej.data, false);
        util_free(rej.message);
        json_decref(rej.data);
        return;
    }
    util_free(rej.message);
    json_decref(rej.data);
    connect_accepted(s);
}

/* Takes s out of its client's pending list for an answer; returns the client when the answer can
 * still be delivered (NULL once the client is gone). */
static sio_client *deferred_take(sio_socket *s)
{
    sio_client *c = s->client;
    if (!c)
        return NULL;
    if (c->pending)
        LL_DELETE2(c->pending, s, pend_next); /* a no-op when s is not in the list */
    s->pend_next = NULL;
    return c;
}

int sio_socket_defer_connect(sio_socket *s)
{
    if (!s->connecting || s->connected || s->deferring || s->deferred)
        return -1;
    s->deferring = true;
    s->deferred = true;
    socket_ref(s);
    return 0;
}

/* Answers a deferred connect: accept, refuse with CONNECT_ERROR, or close the session. */
static int deferred_answer(sio_socket *s, int how, const char *message, const json_t *data)
{
    if (!s->deferred)
        return -1;
    s->deferred = false;
    sio_client *c = deferred_take(s);
    int rc = -1;
    if (c) {
        client_dispatch_begin(c);
        if (c->close_reason)
            connect_undo(s); /* the client's close is unwinding: nothing to send */
        else if (how == 0)
            connect_accepted(s), rc = 0;
        else
            connect_refused(s, message, data, how == 2), rc = 0;
        if (how != 0 || rc != 0)
            s->client = NULL; /* not connected: the socket goes with the last reference */
        client_dispatch_end(c);
    }
    socket_unref(s);
    return rc;
}

int sio_socket_accept(sio_socket *s)
{
    return deferred_answer(s, 0, NULL, NULL);
}

int sio_socket_refuse(sio_socket *s, const char *message, json_t *data)
{
    int rc = deferred_answer(s, 1, message ? message : "connection refused", data);
    json_decref(data);
    return rc;
}

int sio_socket_refuse_close(sio_socket *s)
{
    return deferred_answer(s, 2, NULL, NULL);
}

static void pending_fire(sio_pending_ack *pa, json_t *args, const char *err)
{
    if (pa->timer) {
        sio_server *srv = pa->s->nsp->srv;
        srv->ops.timer_cancel(srv->host, pa->timer);
        pa->timer = NULL;
    }
    if (pa->bc) {
        if (args)
            sio_bcast_ack_reply(pa->bc, json_array_size(args) ? json_array_get(args, 0) : NULL);
        bcast_ack_unref(pa->bc);
    } else if (pa->cb) {
        pa->cb(pa->s, args, err, pa->ud);
    }
    util_free(pa);
}

static sio_pending_ack *pending_take(sio_socket *s, int64_t id)
{
    sio_pending_ack *pa;
    LL_SEARCH_SCALAR(s->acks, pa, id, id);
    if (pa)
        LL_DELETE(s->acks, pa);
    return pa;
}

void socket_add_pending(sio_socket *s, sio_pending_ack *pa)
{
    pa->s = s;
    LL_PREPEND(s->acks, pa);
}

void socket_closed(sio_socket *s, const char *reason, bool notify_client)
{
    sio_nsp *nsp = s->nsp;
    sio_client *c = s->client;
    if (!s->connected)
        return;
    batch_nsp_changed(nsp);
    s->connected = false;
    socket_ref(s);
    nsp->srv->stats.disconnects++;
    if (nsp->srv->obs.disconnected)
        nsp->srv->obs.disconnected(s, reason, nsp->srv->obs_ud);
    if (notify_client && c && !c->close_reason) {
        sio_encoded e;
        sio_encode(SIO_DISCONNECT, nsp->name, -1, NULL, &e);
        socket_out(s, &e, false);
        sio_encoded_clear(&e);
    }
    recov_closing(s, reason); /* before its rooms are left: the session keeps them */
    rooms_leave_all(s);
    HASH_DEL(nsp->sockets, s);
    nsp->n_sockets--;
    if (c && c->sockets)
        LL_DELETE2(c->sockets, s, client_next); /* a no-op when s is not in the list */
    UTIL_LOG_RL(UTIL_SUB_SOCKETIO, UTIL_LOG_INFO, 50, 10000, "socket %s left %s: %s", s->id,
                nsp->name, reason);
    while (s->acks) {
        sio_pending_ack *pa = s->acks;
        s->acks = pa->next;
        pending_fire(pa, NULL, reason);
    }
    if (nsp->h.disconnect)
        nsp->h.disconnect(s, reason, nsp->ud);
    s->client = NULL;
    socket_unref(s); /* the namespace's reference */
    socket_unref(s); /* ours */
}

void socket_on_event(sio_socket *s, json_t *data, int64_t id)
{
    s->nsp->srv->stats.events_in++;
    const char *event = json_string_value(json_array_get(data, 0));
    json_t *args = json_array();
    for (size_t i = 1; i < json_array_size(data); i++)
        json_array_append(args, json_array_get(data, i));
    sio_ack *ack = NULL;
    if (id >= 0) {
        ack = util_malloc(sizeof *ack);
        ack->s = s;
        ack->id = id;
        socket_ref(s);
    }
    sio_nsp *nsp = s->nsp;
    sio_evh *h = NULL;
    HASH_FIND_STR(nsp->events, event, h);
    socket_ref(s);
    if (h && h->fn) {
        h->fn(s, event, args, ack, h->ud);
    } else if (nsp->h.any) {
        nsp->h.any(s, event, args, ack, nsp->ud);
    } else {
        if (ack) {
            UTIL_LOGW_RL(UTIL_SUB_SOCKETIO, "event \"%.100s\" on %s asks an ack but has no handler",
                         event, nsp->name);
            sio_ack_drop(ack);
        } else {
            UTIL_LOGD(UTIL_SUB_SOCKETIO, "event \"%s\" on %s has no handler", event, nsp->name);
        }
    }
    json_decref(args);
    socket_unref(s);
}

void socket_on_ack(sio_socket *s, json_t *data, int64_t id)
{
    sio_pending_ack *pa = pending_take(s, id);
    if (!pa) {
        UTIL_LOGD(UTIL_SUB_SOCKETIO, "ack %lld from %s matches nothing (late?)", (long long)id,
                  s->id);
        return;
    }
    json_t *args = data ? data : json_array();
    pending_fire(pa, args, NULL);
    if (!data)
        json_decref(args);
}

/* ---- public ---- */

void sio_ack_send(sio_ack *ack, json_t *args)
{
    sio_socket *s = ack->s;
    if (s->connected) {
        json_t *data = args ? args : json_array();
        sio_encoded e;
        sio_encode(SIO_ACK, s->nsp->name, ack->id, data, &e);
        socket_out(s, &e, false);
        sio_encoded_clear(&e);
        json_decref(data);
    } else {
        json_decref(args);
    }
    sio_ack_drop(ack);
}

void sio_ack_drop(sio_ack *ack)
{
    if (!ack)
        return;
    socket_unref(ack->s);
    util_free(ack);
}

const char *sio_socket_id(const sio_socket *s)
{
    return s->id;
}

sio_nsp *sio_socket_nsp(const sio_socket *s)
{
    return s->nsp;
}

sio_client *sio_socket_client(const sio_socket *s)
{
    return s->client;
}

void sio_client_each_socket(const sio_client *c, void (*fn)(sio_socket *s, void *ud), void *ud)
{
    for (sio_socket *s = c ? c->sockets : NULL; s; s = s->client_next)
        fn(s, ud);
}

const json_t *sio_client_handshake(const sio_client *c)
{
    sio_client *m = (sio_client *)c; /* the cache is not part of the client's value */
    if (!m->hs)
        m->hs = hs_parse(c->hs_text);
    return m->hs;
}

const json_t *sio_socket_handshake(const sio_socket *s)
{
    sio_socket *m = (sio_socket *)s; /* the cache is not part of the socket's value */
    if (!m->handshake) {
        m->handshake = hs_parse(s->hs_text);
        json_object_set_new(m->handshake, "auth", s->auth ? json_incref(s->auth) : json_object());
    }
    return m->handshake;
}

json_t *sio_socket_data_json(sio_socket *s)
{
    if (!s->data)
        s->data = json_object();
    return s->data;
}

void *sio_socket_userdata(const sio_socket *s)
{
    return s->user;
}

void sio_socket_set_userdata(sio_socket *s, void *p)
{
    s->user = p;
}

bool sio_socket_connected(const sio_socket *s)
{
    return s->connected || s->connecting;
}

static int emit_packet(sio_socket *s, const char *event, json_t *args, int64_t id)
{
    if (sio_event_reserved(event) || (!s->connected && !s->connecting)) {
        json_decref(args);
        return -1;
    }
    json_t *data = event_data(event, args);
    if (id < 0 && s->rec) {
        /* Logged (Node's socket.emit goes through adapter.broadcast when recovery is on). */
        if (s->connecting) {
            hold(s, NULL, data);
            return 0;
        }
        return recov_emit_direct(s, data);
    }
    sio_encoded e;
    sio_encode(SIO_EVENT, s->nsp->name, id, data, &e);
    json_decref(data);
    return socket_send_or_hold(s, &e);
}

int sio_socket_emit(sio_socket *s, const char *event, json_t *args)
{
    return emit_packet(s, event, args, -1);
}

static void on_ack_timeout(void *arg)
{
    sio_pending_ack *pa = arg;
    pa->timer = NULL;
    sio_pending_ack *taken = pending_take(pa->s, pa->id);
    if (taken)
        pending_fire(taken, NULL, k_timeout);
}

int sio_socket_emit_ack(sio_socket *s, const char *event, json_t *args, uint32_t timeout_ms,
                        sio_ack_fn cb, void *ud)
{
    if (sio_event_reserved(event) || (!s->connected && !s->connecting)) {
        json_decref(args);
        return -1;
    }
    int64_t id = s->nsp->next_ack_id++;
    sio_pending_ack *pa = util_calloc(1, sizeof *pa);
    pa->id = id;
    pa->cb = cb;
    pa->ud = ud;
    socket_add_pending(s, pa);
    if (timeout_ms) {
        sio_server *srv = s->nsp->srv;
        pa->timer = srv->ops.timer_start(srv->host, timeout_ms, on_ack_timeout, pa);
    }
    return emit_packet(s, event, args, id);
}

void sio_socket_disconnect(sio_socket *s, bool close)
{
    sio_client *c = s->client;
    if (!s->connected)
        return;
    if (close && c) {
        /* Every socket of the session leaves with "server namespace disconnect", then the
         * Engine.IO session is closed ("forced close"). */
        while (c->sockets)
            socket_closed(c->sockets, SIO_REASON_SERVER_NSP_DISCONNECT, true);
        if (!c->close_reason) /* not when the session is already being torn down */
            out_close(c, "forced close");
        return;
    }
    socket_closed(s, SIO_REASON_SERVER_NSP_DISCONNECT, true);
}

int sio_socket_join(sio_socket *s, const char *room)
{
    if (!s->connected && !s->connecting)
        return -1;
    rooms_join(s, room);
    return 0;
}

int sio_socket_leave(sio_socket *s, const char *room)
{
    rooms_leave(s, room);
    return 0;
}

void sio_socket_leave_all(sio_socket *s)
{
    rooms_leave_all(s);
}

bool sio_socket_in_room(const sio_socket *s, const char *room)
{
    if (strcmp(room, s->id) == 0)
        return true;
    for (size_t i = 0; i < s->n_rooms; i++)
        if (strcmp(s->rooms[i]->name, room) == 0)
            return true;
    return false;
}

void sio_socket_rooms(const sio_socket *s, void (*fn)(const char *room, void *ud), void *ud)
{
    fn(s->id, ud);
    for (size_t i = 0; i < s->n_rooms; i++)
        fn(s->rooms[i]->name, ud);
}

size_t sio_socket_room_count(const sio_socket *s)
{
    return 1 + s->n_rooms;
}
