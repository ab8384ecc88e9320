/* polling: the Engine.IO long-polling transport: held GETs (answered at the end of the turn in
 * which output was queued), POST bodies, client aborts. */
#include "node_internal.h"

#include "util_alloc.h"
#include "util_log.h"

#include <inttypes.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* How long a GET may wait for a GET held through another node to end before the one-GET rule
 * closes the session. A balancer that retries a request whose node died (HAProxy's retry-on
 * empty-response) can deliver the retry before this node has read the close of the dead node's
 * connection; that close comes within milliseconds. */
#define FORWARDED_GET_GRACE_MS 250
#define FORWARDED_GET_TICK_MS 10

static void serve_get(node_req *r, node_session *c, bool may_wait);

/* True when the connection of a held GET shows its peer went away (EOF, reset) or sent bytes,
 * before the loop has had the turn to read them. */
static bool held_get_gone(const node_req *held)
{
    if (!held->l)
        return true;
    uv_os_fd_t fd;
    if (uv_fileno((const uv_handle_t *)&held->l->tcp, &fd) != 0)
        return true;
    char b;
    ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* The GET held through another node, if any, whose connection still looks alive. Borrowed. */
static node_req *held_by_peer(node_session *c)
{
    node_req *held = c->get;
    if (!held || !held->from_peer || held_get_gone(held))
        return NULL;
    return held;
}

static void wait_closed(uv_handle_t *h)
{
    get_wait *w = container_of((uv_timer_t *)h, get_wait, timer);
    util_free(w->sid);
    util_free(w);
}

static void unwait(node_req *r)
{
    get_wait *w = r->wait;
    if (!w)
        return;
    r->wait = NULL;
    w->req = NULL;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, wait_closed);
}

static void on_wait_tick(uv_timer_t *t)
{
    get_wait *w = container_of(t, get_wait, timer);
    node_req *r = w->req;
    if (!r)
        return;
    node *n = r->n;
    node_session *c = node_find_session(n, w->sid);
    bool expired = uv_now(n->loop) >= w->deadline;
    if (c && !expired && held_by_peer(c))
        return; /* the timer repeats */
    unwait(r);
    r->kind = REQ_NEW;
    if (!c) {
        node_req_respond_error(r, EIO_ERR_UNKNOWN_SID);
        return;
    }
    if (expired)
        UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s the GET held through another node is still open",
                  eio_session_sid(c->eio));
    serve_get(r, c, false);
}

/* Parks r until the session's GET held through another node ends, or the grace ends. */
static void wait_for_held(node_req *r, node_session *c)
{
    node *n = r->n;
    UTIL_LOGD(UTIL_SUB_ENGINEIO,
              "sid=%s GET while one is held through another node: waiting up to %d ms",
              eio_session_sid(c->eio), FORWARDED_GET_GRACE_MS);
    get_wait *w = util_calloc(1, sizeof *w);
    w->req = r;
    w->sid = util_strdup(eio_session_sid(c->eio));
    w->deadline = uv_now(n->loop) + FORWARDED_GET_GRACE_MS;
    uv_timer_init(n->loop, &w->timer);
    uv_timer_start(&w->timer, on_wait_tick, FORWARDED_GET_TICK_MS, FORWARDED_GET_TICK_MS);
    r->wait = w;
    r->kind = REQ_POLL_WAIT;
    if (r->l)
        link_set_deadline(r->l, 0);
}

/* Detaches the held GET r from its session c (the session stays allocated while it has one). */
static void detach_get(node_session *c, node_req *r)
{
    if (c->get != r)
        return;
    c->get = NULL;
    r->sess = NULL;
    c->refs--;
}

void polling_get(node_req *r, node_session *c)
{
    serve_get(r, c, true);
}

static void serve_get(node_req *r, node_session *c, bool may_wait)
{
    node *n = r->n;
    /* A new GET while one is held: if the held one's connection is already gone (its client, or
     * the node that forwarded it, died and the request was retried through the balancer), that
     * connection is dealt with first, exactly as reading its close would a moment later. Only a
     * GET whose connection is alive makes this one an overlapping GET; when that GET came through
     * another node, its end may simply not have reached us yet, so the new one waits a moment. */
    node_req *held = c->get;
    if (held && held_get_gone(held)) {
        UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s the held GET's connection is gone: new GET takes over",
                  eio_session_sid(c->eio));
        char sid[64];
        snprintf(sid, sizeof sid, "%s", eio_session_sid(c->eio));
        if (held->l)
            link_close(held->l); /* a direct client's abort closes (and may free) the session */
        c = node_find_session(n, sid);
        if (!c) {
            node_req_respond_error(r, EIO_ERR_UNKNOWN_SID);
            return;
        }
    } else if (may_wait && held_by_peer(c)) {
        wait_for_held(r, c);
        return;
    }
    switch (eio_session_poll_get(c->eio, uv_now(n->loop))) {
    case EIO_POLL_HOLD:
        r->kind = REQ_POLL_GET;
        r->sess = c;
        c->get = r;
        c->refs++;
        /* A long-poll may legitimately stay open for a whole ping interval. */
        if (r->l)
            link_set_deadline(r->l, 0);
        if (eio_session_poll_ready(c->eio))
            session_mark_dirty(c);
        break;
    case EIO_POLL_DUP:
        UTIL_LOGW_RL(UTIL_SUB_ENGINEIO, "sid=%s overlapping GET: session closed",
                     eio_session_sid(c->eio));
        node_req_respond_error(r, EIO_ERR_BAD_REQUEST);
        break;
    case EIO_POLL_BAD:
    default: node_req_respond_error(r, EIO_ERR_BAD_REQUEST); break;
    }
}

void polling_answer(node_session *c)
{
    node_req *r = c->get;
    if (!r || !eio_session_poll_ready(c->eio))
        return;
    util_buf *body = &c->n->pbuf; /* scratch: copied into the answer at once */
    body->len = 0;
    eio_session_poll_take(c->eio, body);
    if (util_log_enabled(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG))
        util_log(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG, "sid=%s GET answered %zu bytes: %.*s",
                 eio_session_sid(c->eio), body->len, (int)(body->len > 200 ? 200 : body->len),
                 (const char *)body->data);
    detach_get(c, r);
    http_respond_hdrs(r, 200, "text/plain; charset=UTF-8", NULL, body->data, body->len, false);
    session_maybe_free(c);
}

void polling_gone(node_req *r)
{
    if (r->kind == REQ_POLL_WAIT) {
        unwait(r);
        http_req_free(r);
        return;
    }
    node_session *c = r->sess;
    if (c) {
        detach_get(c, r);
        if (r->from_peer) {
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
        session_maybe_free(c);
    }
    http_req_free(r);
}

void polling_post_start(node_req *r, const char *sid)
{
    node *n = r->n;
    if (r->head.content_length > (int64_t)n->cfg.eio.max_payload) {
        node_session *c = node_find_session(n, sid);
        UTIL_LOGW_RL(UTIL_SUB_ENGINEIO, "sid=%s POST body of %" PRId64 " bytes over maxPayload",
                     sid, r->head.content_length);
        http_respond_hdrs(r, 413, "text/plain", NULL, "Payload Too Large", 17, true);
        if (c)
            eio_session_close(c->eio, EIO_REASON_TRANSPORT_ERROR);
        return;
    }
    r->kind = REQ_POLL_POST;
    r->sid = util_strdup(sid);
    http_continue(r);
}

void polling_post_done(node_req *r)
{
    node *n = r->n;
    node_session *c = node_find_session(n, r->sid);
    if (!c) {
        node_req_respond_error(r, EIO_ERR_UNKNOWN_SID);
        return;
    }
    if (util_log_enabled(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG))
        util_log(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG, "sid=%s POST %zu bytes: %.*s", r->sid,
                 r->body.len, (int)(r->body.len > 200 ? 200 : r->body.len),
                 (const char *)r->body.data);
    switch (eio_session_poll_post(c->eio, r->body.data, r->body.len, uv_now(n->loop))) {
    case EIO_POST_OK:
        node_req_respond(r, 200, "text/html", "ok", 2, false);
        session_rearm(c);
        break;
    case EIO_POST_PARSE:
        UTIL_LOGW_RL(UTIL_SUB_ENGINEIO, "sid=%s invalid payload: session closed",
                     eio_session_sid(c->eio));
        node_req_respond_error(r, EIO_ERR_BAD_REQUEST);
        break;
    case EIO_POST_BAD:
    default: node_req_respond_error(r, EIO_ERR_BAD_REQUEST); break;
    }
}
