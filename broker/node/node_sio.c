/* sio_glue: the bridge between the node's Engine.IO sessions and the sans-I/O Socket.IO server:
 * host operations (send, close, clock, timers on libuv), handshake details, and the deferred
 * client close that keeps session teardown out of the Socket.IO call stack. */
#include "node_sio.h"

#include "node_internal.h"
#include "util_alloc.h"
#include "util_log.h"

#include <stddef.h>
#include <string.h>
#include <sys/time.h>

typedef struct glue glue;

/** A Socket.IO timer on the loop. Listed in its glue so teardown can fire what is left. */
typedef struct glue_timer {
    uv_timer_t t; /* first member: the handle's address is the timer's */
    void (*cb)(void *arg);
    void *arg;
    glue *g;
    struct glue_timer *prev, *next;
} glue_timer;

/** The Socket.IO side of one Engine.IO session. */
typedef struct glue_client {
    node_session *conn; /**< NULL once the session closed */
    sio_client *client; /**< owned until sio_client_closed */
    glue *g;
    const char *reason;
} glue_client;

struct glue {
    node *node;
    sio_server *srv;
    glue_timer *timers;
};

/* ---- host operations ---- */

static int host_send(void *conn, eio_msg *m, bool volatile_, void *host)
{
    (void)host;
    glue_client *gc = conn;
    if (!gc->conn)
        return -1;
    if (volatile_ && !node_session_writable(gc->conn))
        return -1; /* volatile: dropped for a client that is not ready (nor its attachments) */
    return node_session_send(gc->conn, m);
}

static void host_send_many(void *conn, eio_msg *const *m, size_t n, void *host)
{
    (void)host;
    glue_client *gc = conn;
    if (gc->conn)
        node_session_send_many(gc->conn, m, n);
}

static int host_send_volatile(void *conn, eio_msg *const *m, size_t n, void *host)
{
    (void)host;
    glue_client *gc = conn;
    if (!gc->conn || !node_session_writable(gc->conn))
        return -1; /* dropped for a client that is not ready (with its attachments) */
    return eio_session_send_volatile(gc->conn->eio, m, n);
}

static void host_hold(void *conn, size_t n, void *host)
{
    (void)host;
    glue_client *gc = conn;
    if (gc->conn)
        eio_session_hold(gc->conn->eio, EIO_HOLD_APP, n);
}

static void host_close(void *conn, const char *reason, void *host)
{
    (void)host;
    glue_client *gc = conn;
    if (gc->conn)
        node_session_close(gc->conn, reason);
}

static uint64_t host_now(void *host)
{
    glue *g = host;
    return node_now(g->node);
}

static void timer_unlink(glue_timer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        t->g->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void timer_free(uv_handle_t *h)
{
    util_free((glue_timer *)h);
}

static void on_timer(uv_timer_t *h)
{
    glue_timer *t = (glue_timer *)h;
    timer_unlink(t);
    uv_close((uv_handle_t *)&t->t, timer_free);
    t->cb(t->arg);
}

static void *host_timer_start(void *host, uint64_t delay_ms, void (*cb)(void *arg), void *arg)
{
    glue *g = host;
    glue_timer *t = util_calloc(1, sizeof *t);
    t->cb = cb;
    t->arg = arg;
    t->g = g;
    t->next = g->timers;
    if (g->timers)
        g->timers->prev = t;
    g->timers = t;
    uv_timer_init(node_loop(g->node), &t->t);
    uv_timer_start(&t->t, on_timer, delay_ms, 0);
    return t;
}

static void host_timer_cancel(void *host, void *timer)
{
    (void)host;
    glue_timer *t = timer;
    timer_unlink(t);
    uv_timer_stop(&t->t);
    uv_close((uv_handle_t *)&t->t, timer_free);
}

static const sio_host_ops k_host_ops = {
    .send = host_send,
    .close = host_close,
    .now = host_now,
    .timer_start = host_timer_start,
    .timer_cancel = host_timer_cancel,
    .send_many = host_send_many,
    .send_volatile = host_send_volatile,
    .hold = host_hold,
};

/* ---- endpoint ---- */

static void on_open(node_session *c, void *ud)
{
    glue *g = ud;
    glue_client *gc = util_calloc(1, sizeof *gc);
    gc->conn = c;
    gc->g = g;
    node_session_set_data(c, gc);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    json_t *headers = node_session_handshake_headers(c);
    char url[1024];
    snprintf(url, sizeof url, "?%s", node_session_query(c));
    sio_handshake_info hs = {
        .headers = headers ? headers : json_object(),
        .query = node_session_handshake_query(c),
        .address = node_session_remote(c),
        .url = url,
        .secure = false,
        .xdomain = headers && json_object_get(headers, "origin") != NULL,
        .issued_ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000,
    };
    gc->client = sio_client_open(g->srv, gc, &hs);
}

static void on_message(node_session *c, const uint8_t *data, size_t len, bool binary, void *ud)
{
    (void)ud;
    glue_client *gc = node_session_data(c);
    if (!gc || !gc->client)
        return;
    uint64_t before = sio_server_deliveries(gc->g->srv);
    sio_client_message(gc->client, data, len, binary);
    node_session_note_fanout(c, sio_server_deliveries(gc->g->srv) - before);
}

static void finish_close(void *arg)
{
    glue_client *gc = arg;
    sio_client_closed(gc->client, gc->reason);
    util_free(gc);
}

static void on_close(node_session *c, const char *reason, void *ud)
{
    glue *g = ud;
    glue_client *gc = node_session_data(c);
    if (!gc)
        return;
    node_session_set_data(c, NULL);
    gc->conn = NULL;
    gc->reason = reason;
    /* The Socket.IO side tears down outside the current call stack, which may be Socket.IO's own
     * (a handler that disconnected, a send that overflowed a queue). */
    node_defer(g->node, finish_close, gc);
}

static void on_destroy(void *ud)
{
    glue *g = ud;
    /* Every session is closed and its deferred close has run. Timers left (ack timeouts) fire
     * now so that their owners release what they hold, then the server goes. */
    while (g->timers) {
        glue_timer *t = g->timers;
        timer_unlink(t);
        uv_timer_stop(&t->t);
        uv_close((uv_handle_t *)&t->t, timer_free);
        t->cb(t->arg);
    }
    sio_server_free(g->srv);
    util_free(g);
}

static void on_turn_end(void *ud)
{
    glue *g = ud;
    sio_server_end_turn(g->srv);
}

sio_server *node_attach_socketio(node *n, const char *path, const sio_server_config *cfg)
{
    glue *g = util_calloc(1, sizeof *g);
    g->node = n;
    /* Broadcasts are batched per loop turn: on_turn_end queues them before the node writes. */
    sio_server_config c = *cfg;
    c.batch_broadcasts = true;
    g->srv = sio_server_new(&c, &k_host_ops, g);
    static const node_endpoint_ops ops = {
        .on_open = on_open,
        .on_message = on_message,
        .on_close = on_close,
        .on_destroy = on_destroy,
        .on_turn_end = on_turn_end,
    };
    if (node_add_endpoint(n, path, &ops, g) != 0) {
        sio_server_free(g->srv);
        util_free(g);
        return NULL;
    }
    return g->srv;
}

sio_client *node_sio_client(const sio_server *srv, const node_session *c)
{
    if (!c || !c->ep || c->ep->ops.on_open != on_open)
        return NULL;
    const glue_client *gc = c->data;
    return gc && gc->g->srv == srv ? gc->client : NULL;
}

node_session *node_sio_session(const sio_client *c)
{
    const glue_client *gc = c ? sio_client_conn(c) : NULL;
    return gc ? gc->conn : NULL;
}
