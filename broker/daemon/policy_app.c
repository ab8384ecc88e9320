/* policy_app: the "app" namespace policy: a namespace whose connect, events and disconnect are
 * handed to the application through the app bridge, one call at a time per socket and in order,
 * and whose answers (accept / refuse, acks, emits, rooms, broadcasts, socket data, disconnects)
 * are validated whole and then applied (docs/app-bridge.md). */
#include "daemon_policy.h"

#include "app_answer.h"
#include "app_bridge.h"
#include "sio_adapter.h"
#include "util_alloc.h"
#include "util_log.h"

#include <stdio.h>
#include <string.h>

struct app_policy {
    sio_server *srv;
    app_bridge *bridge;
    uv_loop_t *loop;
    size_t queue_max;
    app_plan_env env; /**< what validation asks about the server */
    app_ratelog log_invalid, log_queue, log_error, log_refused;
};

typedef app_call_kind call_kind;
#define K_CONNECT APP_CALL_CONNECT
#define K_EVENT APP_CALL_EVENT
#define K_DISCONNECT APP_CALL_DISCONNECT

/** A call waiting in a socket's queue, or the one with the app. */
typedef struct app_pending {
    call_kind kind;
    json_t *call; /**< owned; "data" is added when it leaves */
    sio_ack *ack; /**< the client's ack handle (owned), or NULL */
} app_pending;

/** The policy's state of one socket; lives until its last call is answered. */
typedef struct app_sock {
    bool recovered; /**< connection state recovery restored the socket (its data came back) */
    app_policy *p;
    sio_socket *s;        /**< while connected (NULL once gone) */
    sio_socket *deferred; /**< the deferred connect still to answer, or NULL */
    char sid[32];
    char *nsp;      /**< owned */
    json_t *data;   /**< the socket data (null when none) */
    app_pending *q; /**< ring of waiting calls */
    size_t head, len, cap;
    app_pending cur;   /**< the call with the app (valid while busy) */
    bool busy;         /**< a call is with the app */
    bool accepted;     /**< the app accepted the connect */
    bool gone;         /**< the socket will make no more calls but the queued ones */
    char *gone_reason; /**< why the client went while its connect was with the app */
} app_sock;

/* ---- logging ---------------------------------------------------------------------------------- */

#define APP_LOG(p, budget, ...)                                                                    \
    do {                                                                                           \
        unsigned quiet_;                                                                           \
        if (app_ratelog_allow(&(p)->budget, uv_now((p)->loop), &quiet_)) {                         \
            char line_[600];                                                                       \
            snprintf(line_, sizeof line_, __VA_ARGS__);                                            \
            if (quiet_)                                                                            \
                UTIL_LOGW(UTIL_SUB_NODE, "%s (%u such lines suppressed)", line_, quiet_);          \
            else                                                                                   \
                UTIL_LOGW(UTIL_SUB_NODE, "%s", line_);                                             \
        }                                                                                          \
    } while (0)

/* ---- applying a plan ------------------------------------------------------------------------- */

/* The socket's data is also the Socket.IO socket's when recovery is on, so that it survives the
 * loss of this node and comes back with a recovered socket (sio_socket_set_data saves it). */
static void mirror_data(app_sock *a)
{
    if (a->s && sio_socket_pid(a->s))
        sio_socket_set_data(a->s, json_incref(a->data));
}

/* Fills v[] with the strings of a rooms array (borrowed) and returns their count. */
static size_t room_list(json_t *rooms, const char **v)
{
    size_t i;
    json_t *r;
    json_array_foreach(rooms, i, r)
    {
        v[i] = json_string_value(r);
    }
    return json_array_size(rooms);
}

static void apply_broadcast(app_sock *a, json_t *act)
{
    json_t *nspv = json_object_get(act, "nsp");
    sio_nsp *nsp = sio_server_find_nsp(a->p->srv, nspv ? json_string_value(nspv) : a->nsp);
    if (!nsp)
        return;
    json_t *rooms = json_object_get(act, "rooms");
    json_t *except = json_object_get(act, "except");
    size_t nr = rooms ? json_array_size(rooms) : 0, ne = except ? json_array_size(except) : 0;
    const char **rv = util_malloc((nr + ne + 1) * sizeof *rv);
    sio_bcast_opts o = {.rooms = rv, .n_rooms = nr ? room_list(rooms, rv) : 0};
    o.except = rv + nr;
    o.n_except = ne ? room_list(except, rv + nr) : 0;
    o.flags = (json_is_true(json_object_get(act, "volatile")) ? SIO_BC_VOLATILE : 0) |
              (json_is_true(json_object_get(act, "local")) ? SIO_BC_LOCAL : 0);
    sio_nsp_emit(nsp, &o, json_string_value(json_object_get(act, "event")),
                 json_incref(json_object_get(act, "args")));
    util_free(rv);
}

/* Applies a validated plan in order. *ack is the client's ack handle (sent by an "ack" action and
 * then NULL). Actions on the socket itself are skipped once it is gone. */
static void apply_plan(app_sock *a, json_t *plan, sio_ack **ack)
{
    size_t i;
    json_t *act;
    json_array_foreach(plan, i, act)
    {
        const char *type = json_string_value(json_object_get(act, "type"));
        json_t *args = json_object_get(act, "args");
        if (strcmp(type, "broadcast") == 0) {
            apply_broadcast(a, act);
        } else if (strcmp(type, "set_data") == 0) {
            json_decref(a->data);
            a->data = json_incref(json_object_get(act, "data"));
            mirror_data(a);
        } else if (strcmp(type, "ack") == 0) {
            if (ack && *ack) {
                sio_ack_send(*ack, json_incref(args));
                *ack = NULL;
            }
        } else if (!a->s) {
            continue; /* the socket is gone: emit, join, leave, disconnect have no target */
        } else if (strcmp(type, "emit") == 0) {
            sio_socket_emit(a->s, json_string_value(json_object_get(act, "event")),
                            json_incref(args));
        } else if (strcmp(type, "join") == 0 || strcmp(type, "leave") == 0) {
            bool join = type[0] == 'j';
            size_t k;
            json_t *r;
            json_array_foreach(json_object_get(act, "rooms"), k, r)
            {
                if (join)
                    sio_socket_join(a->s, json_string_value(r));
                else
                    sio_socket_leave(a->s, json_string_value(r));
            }
        } else if (strcmp(type, "disconnect") == 0) {
            sio_socket_disconnect(a->s, json_is_true(json_object_get(act, "close")));
        }
    }
}

/* ---- per-socket call queue ------------------------------------------------------------------- */

static void on_answer(void *ud, json_t *answer, const char *failure);

static void sock_free(app_sock *a)
{
    for (size_t i = 0; i < a->len; i++) {
        app_pending *q = &a->q[(a->head + i) % a->cap];
        json_decref(q->call);
        sio_ack_drop(q->ack);
    }
    util_free(a->q);
    json_decref(a->data);
    util_free(a->nsp);
    util_free(a->gone_reason);
    util_free(a);
}

static void enqueue(app_sock *a, call_kind kind, json_t *call, sio_ack *ack)
{
    if (a->len == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        app_pending *q = util_malloc(cap * sizeof *q);
        for (size_t i = 0; i < a->len; i++)
            q[i] = a->q[(a->head + i) % a->cap];
        util_free(a->q);
        a->q = q;
        a->cap = cap;
        a->head = 0;
    }
    a->q[(a->head + a->len) % a->cap] = (app_pending){kind, call, ack};
    a->len++;
}

/* Sends the socket's next call if none is with the app; frees the state once it is all done. */
static void next_call(app_sock *a)
{
    if (a->busy)
        return;
    if (a->len == 0) {
        if (a->gone && !a->deferred)
            sock_free(a);
        return;
    }
    a->cur = a->q[a->head];
    a->head = (a->head + 1) % a->cap;
    a->len--;
    a->busy = true;
    if (a->cur.kind != K_CONNECT)
        json_object_set(a->cur.call, "data", a->data);
    json_t *call = a->cur.call;
    a->cur.call = NULL;
    app_bridge_submit(a->p->bridge, call, on_answer, a);
}

static json_t *call_new(app_sock *a, const char *type)
{
    json_t *c = json_object();
    json_object_set_new(c, "type", json_string(type));
    json_object_set_new(c, "nsp", json_string(a->nsp));
    json_object_set_new(c, "sid", json_string(a->sid));
    return c;
}

static void queue_disconnect(app_sock *a, const char *reason)
{
    json_t *c = call_new(a, "disconnect");
    json_object_set_new(c, "reason", json_string(reason));
    enqueue(a, K_DISCONNECT, c, NULL);
}

/* ---- answers ---------------------------------------------------------------------------------- */

/* The text of an {"error": ...} answer, for the log. Borrowed. */
static const char *error_text(json_t *answer)
{
    const char *t = json_string_value(json_object_get(answer, "error"));
    return t ? t : "(not a string)";
}

static void answer_connect(app_sock *a, json_t *answer, const char *failure)
{
    app_policy *p = a->p;
    sio_socket *s = a->deferred;
    a->deferred = NULL;
    const char *why = NULL;
    json_t *plan = NULL;
    if (!failure && json_object_get(answer, "error")) {
        APP_LOG(p, log_error, "app handler failed on connect of %s to %s: %.200s", a->sid, a->nsp,
                error_text(answer));
        sio_socket_refuse(s, "server error", NULL);
        a->gone = true;
        return;
    }
    if (!failure) {
        json_t *accept = json_object_get(answer, "accept");
        json_t *data = json_object_get(answer, "data");
        json_t *msg = json_object_get(answer, "message");
        if (!json_is_boolean(accept))
            why = "\"accept\" is not a boolean";
        else if (msg && !json_is_string(msg))
            why = "\"message\" is not a string";
        else if (data && !app_data_ok(data, &why))
            ;
        else if (json_is_true(accept))
            plan = app_plan_actions(&p->env, answer, K_CONNECT, false, &why);
        if (why) {
            APP_LOG(p, log_invalid, "invalid app answer to connect of %s to %s: %s: dropped",
                    a->sid, a->nsp, why);
            failure = why;
        } else if (!json_is_true(accept)) {
            UTIL_LOGD(UTIL_SUB_NODE, "app refused %s on %s", a->sid, a->nsp);
            sio_socket_refuse(s, msg ? json_string_value(msg) : "connection refused",
                              data ? json_incref(data) : NULL);
            a->gone = true;
            return;
        } else if (data || !a->recovered) { /* a recovered socket keeps its data unless told */
            json_decref(a->data);
            a->data = data ? json_incref(data) : json_null();
        }
    }
    if (failure) {
        /* The app could not decide: the session closes and the client's Manager reconnects. */
        if (!a->gone)
            APP_LOG(p, log_refused, "connect of %s to %s not decided (%s): session closed", a->sid,
                    a->nsp, failure);
        sio_socket_refuse_close(s);
        a->gone = true;
        return;
    }
    a->accepted = true;
    mirror_data(a);
    if (sio_socket_accept(s) != 0) {
        /* The client went while the app was deciding: the app accepted, so it hears the end. */
        queue_disconnect(a, a->gone_reason ? a->gone_reason : "transport close");
        json_decref(plan);
        return;
    }
    apply_plan(a, plan, NULL);
    json_decref(plan);
}

static void answer_other(app_sock *a, call_kind kind, sio_ack *ack, json_t *answer,
                         const char *failure)
{
    app_policy *p = a->p;
    const char *what = kind == K_EVENT ? "event" : "disconnect";
    if (!failure && json_object_get(answer, "error")) {
        APP_LOG(p, log_error, "app handler failed on %s of %s on %s: %.200s", what, a->sid, a->nsp,
                error_text(answer));
    } else if (!failure) {
        const char *why = NULL;
        json_t *plan = app_plan_actions(&p->env, answer, kind, ack != NULL, &why);
        if (!plan) {
            APP_LOG(p, log_invalid, "invalid app answer to %s of %s on %s: %s: dropped", what,
                    a->sid, a->nsp, why);
        } else {
            apply_plan(a, plan, &ack);
            json_decref(plan);
        }
    }
    sio_ack_drop(ack);
}

static void on_answer(void *ud, json_t *answer, const char *failure)
{
    app_sock *a = ud;
    app_pending cur = a->cur;
    a->cur = (app_pending){0};
    if (cur.kind == K_CONNECT)
        answer_connect(a, answer, failure);
    else
        answer_other(a, cur.kind, cur.ack, answer, failure);
    a->busy = false;
    next_call(a);
}

/* ---- handlers --------------------------------------------------------------------------------- */

static void add_room_json(const char *room, void *ud)
{
    json_array_append_new(ud, json_string(room));
}

static bool on_connect(sio_socket *s, const json_t *auth, sio_reject *rej, void *ud)
{
    (void)rej;
    app_policy *p = ud;
    app_sock *a = util_calloc(1, sizeof *a);
    a->p = p;
    a->s = s;
    snprintf(a->sid, sizeof a->sid, "%s", sio_socket_id(s));
    a->nsp = util_strdup(sio_nsp_name(sio_socket_nsp(s)));
    a->recovered = sio_socket_recovered(s);
    /* A recovered socket brings back the data the app gave it (mirror_data). */
    a->data = a->recovered ? json_incref(sio_socket_data_json(s)) : json_null();
    sio_socket_set_userdata(s, a);
    sio_socket_defer_connect(s);
    a->deferred = s;

    json_t *hs = json_deep_copy(sio_socket_handshake(s));
    json_object_del(hs, "auth");
    json_object_del(json_object_get(hs, "query"), "sid"); /* never the Engine.IO session id */
    json_t *c = call_new(a, "connect");
    json_object_set_new(c, "handshake", hs);
    json_object_set_new(c, "auth", json_deep_copy(auth)); /* never the recovery pid */
    json_object_set_new(c, "recovered", json_boolean(a->recovered));
    if (a->recovered) { /* what the socket had: its data and its rooms (without its id) */
        json_object_set(c, "data", a->data);
        json_t *rooms = json_array();
        sio_socket_rooms(s, add_room_json, rooms);
        json_array_remove(rooms, 0);
        json_object_set_new(c, "rooms", rooms);
    }
    enqueue(a, K_CONNECT, c, NULL);
    next_call(a);
    return false; /* ignored: the connect is deferred */
}

static void on_event(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    app_policy *p = ud;
    app_sock *a = sio_socket_userdata(s);
    if (!a || a->gone) {
        sio_ack_drop(ack);
        return;
    }
    if (a->len >= p->queue_max) {
        APP_LOG(p, log_queue,
                "socket %s on %s has %zu events waiting for the app (--app-queue): event \"%.64s\" "
                "dropped, socket disconnected",
                a->sid, a->nsp, a->len, event);
        sio_ack_drop(ack);
        sio_socket_disconnect(s, false);
        return;
    }
    json_t *c = call_new(a, "event");
    json_object_set_new(c, "event", json_string(event));
    json_t *atts = json_array();
    json_object_set_new(c, "args", app_to_wire(args, atts));
    if (json_array_size(atts))
        json_object_set_new(c, "attachments", atts);
    else
        json_decref(atts);
    json_object_set_new(c, "ack", json_boolean(ack != NULL));
    enqueue(a, K_EVENT, c, ack);
    next_call(a);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    app_sock *a = sio_socket_userdata(s);
    if (!a)
        return;
    sio_socket_set_userdata(s, NULL);
    a->s = NULL;
    a->gone = true;
    if (!a->accepted) {
        /* The connect is still with the app: its answer decides whether the app hears of it. */
        util_free(a->gone_reason);
        a->gone_reason = util_strdup(reason);
        return;
    }
    queue_disconnect(a, reason);
    next_call(a);
}

static bool nsp_exists(const char *name, void *ud)
{
    return sio_server_find_nsp(ud, name) != NULL;
}

app_policy *app_policy_new(sio_server *srv, app_bridge *bridge, uv_loop_t *loop, size_t queue_max)
{
    app_policy *p = util_calloc(1, sizeof *p);
    p->env.nsp_exists = nsp_exists;
    p->env.ud = srv;
    p->srv = srv;
    p->bridge = bridge;
    p->loop = loop;
    p->queue_max = queue_max;
    return p;
}

void app_policy_free(app_policy *p)
{
    util_free(p);
}

sio_nsp *daemon_policy_app(sio_server *srv, const char *name, app_policy *p)
{
    static const sio_nsp_handlers handlers = {
        .connect = on_connect, .disconnect = on_disconnect, .any = on_event};
    return sio_server_of(srv, name, &handlers, p);
}
