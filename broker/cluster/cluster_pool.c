/* cluster_pool: HTTP/1.1 client with a keep-alive pool per peer (libuv TCP; answers assembled by
 * cluster_answer.c). One request at a time per connection; idle connections wait in their peer's list
 * and are closed when the peer closes them or after UP_IDLE_MS. */
#include "cluster_pool.h"

#include "util_alloc.h"
#include "util_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/** An idle connection older than this is not reused (the peer's keep-alive timeout is 30 s). */
#define UP_IDLE_MS 20000u
/** Idle connections kept per peer. */
#define UP_IDLE_MAX 256u

typedef struct up_conn up_conn;

/** A peer node: its address and idle connections. */
typedef struct up_peer {
    char *hostport; /**< owned; hash key */
    char *host;     /**< owned, without brackets */
    char *port;     /**< owned */
    up_conn *idle;  /**< idle connections, most recent first */
    size_t n_idle;
    UT_hash_handle hh;
} up_peer;

struct cluster_pool {
    uv_loop_t *loop;
    up_peer *peers;
    up_conn *all;        /**< every live connection (for cluster_pool_free) */
    int handles;         /**< connections whose handles are not closed yet */
    size_t max_response; /**< cluster_answer.max of new connections */
    bool freed;
};

struct cluster_req {
    cluster_pool *pool;
    up_peer *peer;
    up_conn *conn;  /**< the connection carrying it, or NULL while resolving */
    util_buf bytes; /**< the request, kept for a retry */
    uv_timer_t timer;
    cluster_done_fn cb; /**< NULL once completed or cancelled */
    void *ud;
    bool retried;
    bool finished; /**< completed or cancelled; freed when the timer handle closes */
};

struct up_conn {
    uv_tcp_t tcp;
    cluster_pool *pool;
    up_peer *peer;    /**< NULL once the pool is freed */
    cluster_req *req; /**< the request in flight, or NULL while idle */
    uv_connect_t connect;
    uv_write_t write;
    uv_getaddrinfo_t gai;
    cluster_answer resp; /**< the answer being read */
    util_buf wbuf;       /**< bytes being written */
    uint64_t idle_since;
    bool reused;    /**< the request went out on a kept-alive connection */
    bool resolving; /**< getaddrinfo in flight (the handle is not initialised yet) */
    bool closing;
    up_conn *next_idle;
    up_conn *all_next, *all_prev;
};

static void conn_close(up_conn *c);
static void conn_send(up_conn *c);
static void req_finish(cluster_req *r, cluster_pool_error err, const cluster_response *resp);

const char *cluster_pool_error_message(cluster_pool_error err)
{
    switch (err) {
    case CLUSTER_POOL_OK: return "ok";
    case CLUSTER_POOL_CONNECT: return "cannot connect to the peer";
    case CLUSTER_POOL_IO: return "connection to the peer failed";
    case CLUSTER_POOL_TIMEOUT: return "the peer did not answer in time";
    case CLUSTER_POOL_PROTOCOL: return "invalid HTTP response from the peer";
    }
    return "?";
}

/* ---- peers ----------------------------------------------------------------------------------- */

static up_peer *peer_get(cluster_pool *pool, const char *hostport)
{
    up_peer *p = NULL;
    HASH_FIND_STR(pool->peers, hostport, p);
    if (p)
        return p;
    p = util_calloc(1, sizeof *p);
    p->hostport = util_strdup(hostport);
    const char *colon = strrchr(hostport, ':');
    const char *h = hostport;
    size_t hlen = colon ? (size_t)(colon - hostport) : strlen(hostport);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    p->host = util_strndup(h, hlen);
    p->port = util_strdup(colon ? colon + 1 : "80");
    HASH_ADD_KEYPTR(hh, pool->peers, p->hostport, strlen(p->hostport), p);
    return p;
}

/* Takes a reusable idle connection of p, closing the stale ones. NULL when there is none. */
static up_conn *peer_take_idle(up_peer *p, uint64_t now)
{
    while (p->idle) {
        up_conn *c = p->idle;
        p->idle = c->next_idle;
        c->next_idle = NULL;
        p->n_idle--;
        if (!c->closing && now - c->idle_since <= UP_IDLE_MS)
            return c;
        conn_close(c);
    }
    return NULL;
}

static void peer_remove_idle(up_peer *p, up_conn *c)
{
    for (up_conn **pp = &p->idle; *pp; pp = &(*pp)->next_idle) {
        if (*pp == c) {
            *pp = c->next_idle;
            c->next_idle = NULL;
            p->n_idle--;
            return;
        }
    }
}

/* ---- connections ----------------------------------------------------------------------------- */

static void conn_closed(uv_handle_t *h)
{
    up_conn *c = h->data;
    cluster_pool *pool = c->pool;
    util_buf_free(&c->wbuf);
    cluster_answer_free(&c->resp);
    util_free(c);
    if (--pool->handles == 0 && pool->freed)
        util_free(pool);
}

static void conn_unlink(up_conn *c)
{
    cluster_pool *pool = c->pool;
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else if (pool->all == c)
        pool->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    c->all_next = c->all_prev = NULL;
}

/* Closes c (idempotent). Its request, if any, must have been detached or finished first. */
static void conn_close(up_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->peer && c->req == NULL)
        peer_remove_idle(c->peer, c);
    conn_unlink(c);
    if (c->resolving)
        return; /* the getaddrinfo callback sees closing and frees */
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static up_conn *conn_new(cluster_pool *pool, up_peer *peer)
{
    up_conn *c = util_calloc(1, sizeof *c);
    c->pool = pool;
    c->peer = peer;
    c->tcp.data = c;
    cluster_answer_init(&c->resp);
    c->resp.max = pool->max_response;
    c->all_next = pool->all;
    if (pool->all)
        pool->all->all_prev = c;
    pool->all = c;
    pool->handles++;
    return c;
}

/* The connection failed: the request is retried once when it went out on a reused connection
 * that the peer had closed before answering anything, else it fails with err. */
static void conn_fail(up_conn *c, cluster_pool_error err)
{
    cluster_req *r = c->req;
    c->req = NULL;
    bool answered = c->resp.received > 0;
    conn_close(c);
    if (!r)
        return;
    r->conn = NULL;
    if (c->reused && !answered && !r->retried && r->peer) {
        r->retried = true;
        UTIL_LOGD(UTIL_SUB_CLUSTER, "peer %s closed a kept-alive connection: retrying on a new one",
                  r->peer->hostport);
        up_conn *n = conn_new(r->pool, r->peer);
        n->req = r;
        r->conn = n;
        conn_send(n);
        return;
    }
    req_finish(r, err, NULL);
}

/* Closes c and fails its request with err (no retry). */
static void conn_abort(up_conn *c, cluster_pool_error err)
{
    cluster_req *r = c->req;
    c->req = NULL;
    conn_close(c);
    if (r) {
        r->conn = NULL;
        req_finish(r, err, NULL);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char slab[64 * 1024]; /* one loop thread; the data is parsed before the next read */
    (void)h;
    (void)suggested;
    buf->base = slab;
    buf->len = sizeof slab;
}

/* Hands the complete answer of c to its request, if it still has one. */
static void conn_deliver(up_conn *c)
{
    cluster_req *r = c->req;
    c->req = NULL;
    if (!r)
        return;
    r->conn = NULL;
    cluster_response resp;
    cluster_answer_response(&c->resp, &resp);
    req_finish(r, CLUSTER_POOL_OK, &resp);
}

/* The answer on c is complete: delivers it and parks c as idle when it may be kept alive. */
static void conn_done(up_conn *c)
{
    bool keep = cluster_answer_reusable(&c->resp) && !c->closing;
    conn_deliver(c);
    if (!keep || !c->peer || c->peer->n_idle >= UP_IDLE_MAX) {
        conn_close(c);
        return;
    }
    cluster_answer_reset(&c->resp); /* also frees the body: a large body is not kept while idle */
    c->idle_since = uv_now(c->pool->loop);
    c->next_idle = c->peer->idle;
    c->peer->idle = c;
    c->peer->n_idle++;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    up_conn *c = s->data;
    if (c->closing)
        return;
    if (nread < 0) {
        if (!c->req) {
            conn_close(c); /* the peer closed an idle connection */
            return;
        }
        UTIL_LOGD(UTIL_SUB_CLUSTER, "peer %s: %s", c->peer ? c->peer->hostport : "?",
                  nread == UV_EOF ? "connection closed" : uv_strerror((int)nread));
        conn_fail(c, CLUSTER_POOL_IO);
        return;
    }
    if (nread == 0)
        return;
    if (!c->req) {
        UTIL_LOGW(UTIL_SUB_CLUSTER, "peer %s sent data on an idle connection: closed",
                  c->peer ? c->peer->hostport : "?");
        conn_close(c);
        return;
    }
    cluster_answer_status st =
        cluster_answer_feed(&c->resp, (const uint8_t *)buf->base, (size_t)nread);
    if (st == CLUSTER_ANSWER_DONE) {
        /* Bytes after the answer mean the peer is out of step: the connection is dropped. */
        if (c->resp.extra)
            UTIL_LOGW(UTIL_SUB_CLUSTER, "peer %s sent bytes after its answer: connection dropped",
                      c->peer ? c->peer->hostport : "?");
        conn_done(c);
        return;
    }
    if (st == CLUSTER_ANSWER_ERROR) {
        UTIL_LOGW(UTIL_SUB_CLUSTER, "peer %s: invalid response: %s",
                  c->peer ? c->peer->hostport : "?", cluster_answer_error(&c->resp));
        conn_abort(c, CLUSTER_POOL_PROTOCOL);
    }
}

static void on_written(uv_write_t *w, int status)
{
    up_conn *c = w->data;
    util_buf_reset(&c->wbuf);
    if (status < 0 && !c->closing) {
        UTIL_LOGD(UTIL_SUB_CLUSTER, "peer %s: write failed: %s", c->peer ? c->peer->hostport : "?",
                  uv_strerror(status));
        conn_fail(c, CLUSTER_POOL_IO);
    }
}

/* Writes the request of c on its connected socket. */
static void conn_write(up_conn *c)
{
    cluster_req *r = c->req;
    util_buf_reset(&c->wbuf);
    util_buf_append(&c->wbuf, r->bytes.data, r->bytes.len);
    uv_buf_t b = uv_buf_init((char *)c->wbuf.data, (unsigned)c->wbuf.len);
    c->write.data = c;
    int rc = uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc < 0)
        conn_fail(c, CLUSTER_POOL_IO);
}

static void on_connected(uv_connect_t *cr, int status)
{
    up_conn *c = cr->data;
    if (c->closing)
        return;
    if (status < 0) {
        UTIL_LOGW(UTIL_SUB_CLUSTER, "peer %s: connect failed: %s",
                  c->peer ? c->peer->hostport : "?", uv_strerror(status));
        conn_abort(c, CLUSTER_POOL_CONNECT);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (c->req)
        conn_write(c);
}

static void conn_connect(up_conn *c, const struct sockaddr *sa)
{
    c->connect.data = c;
    int rc = uv_tcp_connect(&c->connect, &c->tcp, sa, on_connected);
    if (rc < 0) {
        UTIL_LOGW(UTIL_SUB_CLUSTER, "peer %s: connect failed: %s",
                  c->peer ? c->peer->hostport : "?", uv_strerror(rc));
        conn_abort(c, CLUSTER_POOL_CONNECT);
    }
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai)
{
    up_conn *c = g->data;
    c->resolving = false;
    uv_tcp_init(c->pool->loop, &c->tcp);
    c->tcp.data = c;
    if (c->closing) {
        uv_freeaddrinfo(ai);
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return;
    }
    if (status < 0 || !ai) {
        UTIL_LOGW(UTIL_SUB_CLUSTER, "peer %s: cannot resolve: %s",
                  c->peer ? c->peer->hostport : "?", uv_strerror(status));
        uv_freeaddrinfo(ai);
        conn_abort(c, CLUSTER_POOL_CONNECT);
        return;
    }
    conn_connect(c, ai->ai_addr);
    uv_freeaddrinfo(ai);
}

/* Opens c's connection (numeric addresses at once, names through getaddrinfo) and sends. */
static void conn_send(up_conn *c)
{
    if (c->reused) {
        conn_write(c);
        return;
    }
    up_peer *p = c->peer;
    struct sockaddr_storage ss;
    int port = atoi(p->port);
    if (uv_ip4_addr(p->host, port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(p->host, port, (struct sockaddr_in6 *)&ss) == 0) {
        uv_tcp_init(c->pool->loop, &c->tcp);
        c->tcp.data = c;
        conn_connect(c, (struct sockaddr *)&ss);
        return;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    c->gai.data = c;
    c->resolving = true;
    int rc = uv_getaddrinfo(c->pool->loop, &c->gai, on_resolved, p->host, p->port, &hints);
    if (rc < 0) {
        c->resolving = false;
        on_resolved(&c->gai, rc, NULL);
    }
}

/* ---- requests -------------------------------------------------------------------------------- */

static void req_timer_closed(uv_handle_t *h)
{
    cluster_req *r = h->data;
    util_buf_free(&r->bytes);
    util_free(r);
}

/* Completes r once: runs its callback (unless cancelled) and releases it. */
static void req_finish(cluster_req *r, cluster_pool_error err, const cluster_response *resp)
{
    if (r->finished)
        return;
    r->finished = true;
    uv_timer_stop(&r->timer);
    cluster_done_fn cb = r->cb;
    r->cb = NULL;
    if (cb)
        cb(r->ud, err, resp);
    uv_close((uv_handle_t *)&r->timer, req_timer_closed);
}

static void on_req_timeout(uv_timer_t *t)
{
    cluster_req *r = t->data;
    up_conn *c = r->conn;
    r->conn = NULL;
    if (c) {
        c->req = NULL;
        conn_close(c);
    }
    UTIL_LOGW(UTIL_SUB_CLUSTER, "peer %s: no answer in time", r->peer ? r->peer->hostport : "?");
    req_finish(r, CLUSTER_POOL_TIMEOUT, NULL);
}

cluster_pool *cluster_pool_new(uv_loop_t *loop)
{
    cluster_pool *pool = util_calloc(1, sizeof *pool);
    pool->loop = loop;
    pool->max_response = CLUSTER_MAX_RESPONSE;
    return pool;
}

void cluster_pool_set_max_response(cluster_pool *pool, size_t max)
{
    pool->max_response = max;
}

cluster_req *cluster_pool_request(cluster_pool *pool, const char *hostport, util_buf *req,
                                  uint32_t timeout_ms, cluster_done_fn cb, void *ud)
{
    cluster_req *r = util_calloc(1, sizeof *r);
    r->pool = pool;
    r->cb = cb;
    r->ud = ud;
    r->bytes = *req;
    *req = (util_buf)UTIL_BUF_INIT;
    r->peer = peer_get(pool, hostport);
    uv_timer_init(pool->loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, on_req_timeout, timeout_ms, 0);
    up_conn *c = peer_take_idle(r->peer, uv_now(pool->loop));
    if (c) {
        c->reused = true;
    } else {
        c = conn_new(pool, r->peer);
    }
    c->req = r;
    r->conn = c;
    conn_send(c);
    return r;
}

void cluster_pool_cancel(cluster_req *r)
{
    if (!r || r->finished)
        return;
    r->cb = NULL;
    up_conn *c = r->conn;
    r->conn = NULL;
    if (c) {
        c->req = NULL;
        conn_close(c);
    }
    req_finish(r, CLUSTER_POOL_IO, NULL);
}

void cluster_pool_free(cluster_pool *pool)
{
    if (!pool)
        return;
    while (pool->all) {
        up_conn *c = pool->all;
        cluster_req *r = c->req;
        c->req = NULL;
        c->peer = NULL;
        conn_close(c); /* unlinks c from pool->all */
        if (r) {
            r->cb = NULL;
            r->conn = NULL;
            req_finish(r, CLUSTER_POOL_IO, NULL);
        }
    }
    up_peer *p, *tmp;
    HASH_ITER(hh, pool->peers, p, tmp)
    {
        HASH_DEL(pool->peers, p);
        util_free(p->hostport);
        util_free(p->host);
        util_free(p->port);
        util_free(p);
    }
    pool->freed = true;
    if (pool->handles == 0)
        util_free(pool);
}
