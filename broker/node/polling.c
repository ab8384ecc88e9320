/* polling: the Engine.IO long-polling transport: held GETs, POST bodies, client aborts. */
#include "node_internal.h"

#include "util_log.h"

#include "util_alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void watch_closed(uv_handle_t *h)
{
    get_watch *w = container_of((uv_poll_t *)h, get_watch, poll);
    close(w->fd);
    util_free(w);
}

void polling_unwatch(pss *p)
{
    get_watch *w = p->watch;
    if (!w)
        return;
    p->watch = NULL;
    w->wsi = NULL;
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, watch_closed);
}

/* The socket of a held GET became readable or was shut down by the peer. A long-poll client sends
 * nothing more until it has its answer, so either way the request is over: a close (EOF), or bytes
 * lws would not read before the answer and would spin on. The wsi is closed at once: we are in our
 * own libuv callback, not inside lws. */
static void on_client_gone(uv_poll_t *h, int status, int events)
{
    get_watch *w = container_of(h, get_watch, poll);
    struct lws *wsi = w->wsi;
    if (!wsi)
        return;
    char c;
    ssize_t r = recv(w->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r > 0 && !(events & UV_DISCONNECT) && status == 0)
        UTIL_LOGW(UTIL_SUB_HTTP, "client sent data behind a held GET: closing the connection");
    pss *p = lws_wsi_user(wsi);
    polling_unwatch(p);
    polling_closed(p);
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
}

void polling_watch(node *n, struct lws *wsi, pss *p)
{
    int fd = dup(lws_get_socket_fd(wsi));
    if (fd < 0) {
        UTIL_LOGW(UTIL_SUB_HTTP, "dup failed: a client abort of this GET is noticed late");
        return;
    }
    get_watch *w = util_calloc(1, sizeof *w);
    w->fd = fd;
    w->wsi = wsi;
    uv_poll_init(n->loop, &w->poll, fd);
    uv_poll_start(&w->poll, UV_READABLE | UV_DISCONNECT, on_client_gone);
    p->watch = w;
}

/* How long a GET may wait for a GET held through another node to end before the one-GET rule
 * closes the session. A balancer that retries a request whose node died (HAProxy's retry-on
 * empty-response) can deliver the retry before this node has read the close of the dead node's
 * connection; that close comes within milliseconds. */
#define FORWARDED_GET_GRACE_MS 250
#define FORWARDED_GET_TICK_MS 10

static void serve_get(node *n, struct lws *wsi, pss *p, node_session *c, bool may_wait);

static void wait_closed(uv_handle_t *h)
{
    get_wait *w = container_of((uv_timer_t *)h, get_wait, timer);
    util_free(w->sid);
    util_free(w);
}

static void polling_unwait(pss *p)
{
    get_wait *w = p->wait;
    if (!w)
        return;
    p->wait = NULL;
    w->wsi = NULL;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, wait_closed);
}

/* True when the socket of a held GET shows its peer went away (EOF, reset) or sent bytes, before
 * our watch has had its turn in the loop. */
static bool held_get_gone(const get_watch *w)
{
    char b;
    ssize_t r = recv(w->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* The GET held through another node, if any, whose connection still looks alive. Borrowed. */
static struct lws *held_by_peer(node_session *c)
{
    pss *hp = c->get_wsi ? lws_wsi_user(c->get_wsi) : NULL;
    if (!hp || !hp->from_peer || (hp->watch && held_get_gone(hp->watch)))
        return NULL;
    return c->get_wsi;
}

static void on_wait_tick(uv_timer_t *t)
{
    get_wait *w = container_of(t, get_wait, timer);
    node *n = w->n;
    struct lws *wsi = w->wsi;
    if (!wsi)
        return;
    node_session *c = conn_find(n, w->sid);
    bool expired = uv_now(n->loop) >= w->deadline;
    if (c && !expired && held_by_peer(c))
        return; /* the timer repeats */
    pss *p = lws_wsi_user(wsi);
    polling_unwait(p);
    p->kind = PSS_IDLE;
    if (!c) {
        http_respond_error(wsi, p, EIO_ERR_UNKNOWN_SID);
        return;
    }
    if (expired)
        UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s the GET held through another node is still open",
                  eio_session_sid(c->eio));
    serve_get(n, wsi, p, c, false);
}

/* Parks the GET on wsi until the session's GET held through another node ends, or the grace ends. */
static void wait_for_held(node *n, struct lws *wsi, pss *p, node_session *c)
{
    UTIL_LOGD(UTIL_SUB_ENGINEIO,
              "sid=%s GET while one is held through another node: waiting up to %d ms",
              eio_session_sid(c->eio), FORWARDED_GET_GRACE_MS);
    get_wait *w = util_calloc(1, sizeof *w);
    w->n = n;
    w->wsi = wsi;
    w->sid = util_strdup(eio_session_sid(c->eio));
    w->deadline = uv_now(n->loop) + FORWARDED_GET_GRACE_MS;
    uv_timer_init(n->loop, &w->timer);
    uv_timer_start(&w->timer, on_wait_tick, FORWARDED_GET_TICK_MS, FORWARDED_GET_TICK_MS);
    p->wait = w;
    p->kind = PSS_POLL_WAIT;
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
}

void polling_get(node *n, struct lws *wsi, pss *p, node_session *c)
{
    serve_get(n, wsi, p, c, true);
}

static void serve_get(node *n, struct lws *wsi, pss *p, node_session *c, bool may_wait)
{
    /* A new GET while one is held: if the held one's connection is already gone (its client, or
     * the node that forwarded it, died and the request was retried through the balancer), that
     * connection is dealt with first, exactly as its watch would have a moment later. Only a GET
     * whose connection is alive makes this one an overlapping GET; when that GET came through
     * another node, its end may simply not have reached us yet, so the new one waits a moment. */
    struct lws *held = c->get_wsi;
    pss *hp = held ? lws_wsi_user(held) : NULL;
    if (hp && hp->watch && held_get_gone(hp->watch)) {
        UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s the held GET's connection is gone: new GET takes over",
                  eio_session_sid(c->eio));
        char sid[64];
        snprintf(sid, sizeof sid, "%s", eio_session_sid(c->eio));
        polling_unwatch(hp);
        polling_closed(hp); /* a direct client's abort closes (and may free) the session */
        lws_set_timeout(held, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        c = conn_find(n, sid);
        if (!c) {
            http_respond_error(wsi, p, EIO_ERR_UNKNOWN_SID);
            return;
        }
    } else if (may_wait && held_by_peer(c)) {
        wait_for_held(n, wsi, p, c);
        return;
    }
    switch (eio_session_poll_get(c->eio, uv_now(n->loop))) {
    case EIO_POLL_HOLD:
        p->kind = PSS_POLL_GET;
        p->conn = c;
        conn_attach(c, &c->get_wsi, wsi);
        /* A long-poll may legitimately stay open for a whole ping interval. */
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
        polling_watch(n, wsi, p);
        if (eio_session_poll_ready(c->eio))
            lws_callback_on_writable(wsi);
        break;
    case EIO_POLL_DUP:
        UTIL_LOGW(UTIL_SUB_ENGINEIO, "sid=%s overlapping GET: session closed",
                  eio_session_sid(c->eio));
        http_respond_error(wsi, p, EIO_ERR_BAD_REQUEST);
        break;
    case EIO_POLL_BAD:
    default: http_respond_error(wsi, p, EIO_ERR_BAD_REQUEST); break;
    }
}

void polling_post_done(node *n, struct lws *wsi, pss *p)
{
    p->close_after = false; /* the body has been read: the connection may be kept */
    node_session *c = p->sid ? conn_find(n, p->sid) : NULL;
    if (!c) {
        http_respond_error(wsi, p, EIO_ERR_UNKNOWN_SID);
        return;
    }
    if (util_log_enabled(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG))
        util_log(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG, "sid=%s POST %zu bytes: %.*s", p->sid,
                 p->body.len, (int)(p->body.len > 200 ? 200 : p->body.len),
                 (const char *)p->body.data);
    switch (eio_session_poll_post(c->eio, p->body.data, p->body.len, uv_now(n->loop))) {
    case EIO_POST_OK:
        http_respond(wsi, p, 200, "text/html", "ok", 2);
        conn_rearm(c);
        break;
    case EIO_POST_PARSE:
        UTIL_LOGW(UTIL_SUB_ENGINEIO, "sid=%s invalid payload: session closed", p->sid);
        http_respond_error(wsi, p, EIO_ERR_BAD_REQUEST);
        break;
    case EIO_POST_BAD:
    default: http_respond_error(wsi, p, EIO_ERR_BAD_REQUEST); break;
    }
}

/* Answers the held GET if it is ready: fills p with the response. Returns 1 when a response was
 * prepared (the caller writes it), 0 when there is nothing to send yet. */
int polling_writeable(struct lws *wsi, pss *p)
{
    node_session *c = p->conn;
    if (!c || !eio_session_poll_ready(c->eio))
        return 0;
    polling_unwatch(p);
    util_buf_reset(&p->body);
    eio_session_poll_take(c->eio, &p->body);
    if (util_log_enabled(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG))
        util_log(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG, "sid=%s GET answered %zu bytes: %.*s",
                 eio_session_sid(c->eio), p->body.len, (int)(p->body.len > 200 ? 200 : p->body.len),
                 (const char *)p->body.data);
    p->conn = NULL;
    p->kind = PSS_RESPOND;
    p->status = 200;
    p->ctype = "text/plain; charset=UTF-8";
    conn_detach(c, &c->get_wsi);
    (void)wsi;
    return 1;
}

void polling_closed(pss *p)
{
    if (!p)
        return;
    polling_unwatch(p);
    polling_unwait(p);
    if (p->fwd) {
        forward_closed(p);
        return;
    }
    if (p->kind != PSS_POLL_GET || !p->conn)
        return;
    node_session *c = p->conn;
    p->conn = NULL;
    p->kind = PSS_IDLE;
    /* Detach first: closing the session must not try to answer this connection. */
    c->get_wsi = NULL;
    c->wsi_refs--;
    if (p->from_peer) {
        /* The forwarding node cancelled it (its client aborted: the session ends by ping
         * timeout if the client is gone) or died (its clients come back through other nodes):
         * either way the session stays and the next GET gets the queued packets. */
        UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s forwarded GET released by its node",
                  eio_session_sid(c->eio));
        eio_session_poll_release(c->eio);
    } else {
        UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s held GET aborted by the client",
                  eio_session_sid(c->eio));
        eio_session_poll_abort(c->eio);
    }
    conn_maybe_free(c);
}
