/* node: lifecycle of a broker node on the caller's libuv loop: the listener, the end-of-turn work
 * (deferred calls, pipelined input, the flush of every session with output), signals, and the
 * staged shutdown (close sessions, let them drain, close connections and handles). */
#include "node_internal.h"

#include "util_alloc.h"
#include "util_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/** How long shutdown waits for sessions to drain their final packets. */
#define SHUTDOWN_DRAIN_MS 2000
/** Descriptors kept out of max_connections' default for Redis, peers, files and the listener. */
#define FD_RESERVE 64

void node_config_defaults(node_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 8080;
    eio_config_defaults(&cfg->eio);
    cfg->cors = NODE_CORS_NONE;
    /* Node's http server answers 431 past 16 KiB of headers (--max-http-header-size); a request
     * target beyond 8 KiB is refused by nginx and most proxies before it gets here. */
    cfg->max_header_bytes = 16 * 1024;
    cfg->max_url_bytes = 8 * 1024;
    cfg->idle_timeout_ms = 30000;
}

static void node_idle_noop(uv_idle_t *h)
{
    (void)h;
}

void node_wake(node *n)
{
    if (!n->finished)
        uv_idle_start(&n->flush_idle, node_idle_noop);
}

/* Runs in the first loop iteration, after the program has installed its signal handlers: only
 * then is the node ready, and test harnesses wait for this line. */
static void on_ready(uv_timer_t *t)
{
    node *n = t->data;
    UTIL_LOGI(UTIL_SUB_NODE, "listening on %s", n->listen_addr);
}

void node_defer(node *n, void (*fn)(void *arg), void *arg)
{
    deferred *d = util_malloc(sizeof *d);
    d->fn = fn;
    d->arg = arg;
    d->next = NULL;
    if (n->defer_tail)
        n->defer_tail->next = d;
    else
        n->defer_head = d;
    n->defer_tail = d;
    node_wake(n);
}

void node_on_shutdown(node *n, void (*fn)(void *arg), void *arg)
{
    deferred *d = util_malloc(sizeof *d);
    d->fn = fn;
    d->arg = arg;
    d->next = n->on_shutdown;
    n->on_shutdown = d;
}

void node_observe_sessions(node *n, void (*on_open)(void *ud, const char *sid),
                           void (*on_close)(void *ud, const char *sid), void *ud)
{
    n->obs_open = on_open;
    n->obs_close = on_close;
    n->obs_ud = ud;
}

void node_set_ready_check(node *n, bool (*fn)(void *ud), void *ud)
{
    n->ready_fn = fn;
    n->ready_ud = ud;
}

size_t node_session_count(const node *n)
{
    return HASH_COUNT(n->sessions);
}

void node_run_deferred(node *n)
{
    while (n->defer_head) {
        deferred *d = n->defer_head;
        n->defer_head = d->next;
        if (!n->defer_head)
            n->defer_tail = NULL;
        d->fn(d->arg);
        util_free(d);
    }
}

/* The endpoints' end-of-turn work, before output is written (the Socket.IO host queues its
 * batched broadcasts). */
static void endpoints_turn_end(node *n)
{
    for (endpoint *ep = n->endpoints; ep; ep = ep->next)
        if (ep->ops.on_turn_end)
            ep->ops.on_turn_end(ep->ud);
}

/* Deferred calls, then the endpoints' end-of-turn work. */
static void node_turn_end(node *n)
{
    node_run_deferred(n);
    endpoints_turn_end(n);
}

/* End of a loop turn: deferred calls and pipelined input; then, unless a publisher's burst is
 * still being read (session_burst_wait: batches and queues then wait for the next turn, so that
 * the whole burst is queued in one pass and written in one write per session), the endpoints'
 * batches are queued and every dirty session is flushed. */
static void on_flush_check(uv_check_t *h)
{
    node *n = container_of(h, node, flush_check);
    uv_idle_stop(&n->flush_idle);
    node_run_deferred(n);
    link_run_resumed(n);
    if (session_burst_wait(n))
        return;
    endpoints_turn_end(n);
    session_flush_dirty(n);
    if (n->defer_head || n->resume || n->dirty)
        node_wake(n);
}

static void on_sweep(uv_timer_t *t)
{
    link_sweep(container_of(t, node, sweep_timer));
}

/* Raises the soft descriptor limit to the hard one (a node holds one per client) and derives the
 * default connection limit from it. */
static size_t descriptor_budget(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    rlim_t before = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = before;
    }
    if (rl.rlim_cur != before)
        UTIL_LOGI(UTIL_SUB_NODE, "descriptor limit raised from %llu to %llu",
                  (unsigned long long)before, (unsigned long long)rl.rlim_cur);
    else
        UTIL_LOGI(UTIL_SUB_NODE, "descriptor limit %llu", (unsigned long long)rl.rlim_cur);
    return rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : (size_t)rl.rlim_cur;
}

node *node_new(uv_loop_t *loop, const node_config *cfg, char *err, size_t errlen)
{
    node *n = util_calloc(1, sizeof *n);
    n->loop = loop;
    n->cfg = *cfg;
    n->cfg.host = NULL;
    n->listen_fd = -1;
    if (cfg->n_cors_origins) {
        n->cors_origins = util_calloc(cfg->n_cors_origins, sizeof *n->cors_origins);
        for (size_t i = 0; i < cfg->n_cors_origins; i++)
            n->cors_origins[i] = util_strdup(cfg->cors_origins[i]);
    }
    n->cfg.cors_origins = NULL;
    n->static_dir = cfg->static_dir ? util_strdup(cfg->static_dir) : NULL;
    n->client_js = cfg->client_js ? util_strdup(cfg->client_js) : NULL;
    n->cfg.static_dir = n->static_dir;
    n->cfg.client_js = n->client_js;
    if (!n->cfg.max_header_bytes)
        n->cfg.max_header_bytes = 16 * 1024;
    if (!n->cfg.max_url_bytes)
        n->cfg.max_url_bytes = 8 * 1024;
    if (!n->cfg.idle_timeout_ms)
        n->cfg.idle_timeout_ms = 30000;

    const char *host = cfg->host ? cfg->host : "127.0.0.1";
    if (listener_open(n, host, cfg->port, err, errlen) != 0) {
        for (size_t i = 0; i < cfg->n_cors_origins; i++)
            util_free(n->cors_origins[i]);
        util_free(n->cors_origins);
        util_free(n->static_dir);
        util_free(n->client_js);
        util_free(n);
        return NULL;
    }
    /* Only once the port is ours: a failed start prints one line. */
    size_t fds = descriptor_budget();
    size_t derived = fds > 2 * FD_RESERVE ? fds - FD_RESERVE : fds / 2;
    n->max_links = cfg->max_connections ? cfg->max_connections : derived;
    if (cfg->max_connections && cfg->max_connections > derived)
        UTIL_LOGW(UTIL_SUB_NODE,
                  "--max-connections %zu is above what %zu descriptors allow: accepting will "
                  "pause when they run out",
                  cfg->max_connections, fds);

    n->rbuf = util_malloc(NODE_READ_BUF);
    uv_check_init(loop, &n->flush_check);
    uv_check_start(&n->flush_check, on_flush_check);
    uv_unref((uv_handle_t *)&n->flush_check);
    uv_idle_init(loop, &n->flush_idle);
    uv_timer_init(loop, &n->sweep_timer);
    uv_timer_start(&n->sweep_timer, on_sweep, 1000, 1000);
    uv_unref((uv_handle_t *)&n->sweep_timer);
    uv_timer_init(loop, &n->shutdown_timer);
    uv_timer_init(loop, &n->ready_timer);
    n->ready_timer.data = n;
    uv_timer_start(&n->ready_timer, on_ready, 0, 0);
    snprintf(n->listen_addr, sizeof n->listen_addr, "%s:%d", host, n->port);
    util_buf_reserve(&n->wbuf, 64 * 1024);
    return n;
}

int node_add_endpoint(node *n, const char *path, const node_endpoint_ops *ops, void *ud)
{
    size_t len = strlen(path);
    bool slash = len && path[len - 1] == '/';
    char *p = util_malloc(len + 2);
    memcpy(p, path, len);
    if (!slash)
        p[len++] = '/';
    p[len] = '\0';
    if (http_find_endpoint(n, p)) {
        util_free(p);
        return -1;
    }
    endpoint *ep = util_calloc(1, sizeof *ep);
    ep->path = p;
    ep->path_len = len;
    if (ops)
        ep->ops = *ops;
    ep->ud = ud;
    ep->next = n->endpoints;
    n->endpoints = ep;
    return 0;
}

char *node_installed_file(const char *rel)
{
    return static_installed_file(rel);
}

char *node_default_client_js(void)
{
    return static_installed_file(CLIENT_JS);
}

int node_port(const node *n)
{
    return n->port;
}

uint64_t node_now(const node *n)
{
    return uv_now(n->loop);
}

eio_config node_eio_config(const node *n)
{
    return n->cfg.eio;
}

uv_loop_t *node_loop(const node *n)
{
    return n->loop;
}

static void on_signal(uv_signal_t *s, int signum)
{
    node *n = s->data;
    UTIL_LOGI(UTIL_SUB_NODE, "signal %d: shutting down", signum);
    node_shutdown(n);
}

void node_handle_signals(node *n)
{
    if (n->signals)
        return;
    n->signals = true;
    uv_signal_init(n->loop, &n->sigint);
    uv_signal_init(n->loop, &n->sigterm);
    n->sigint.data = n->sigterm.data = n;
    uv_signal_start(&n->sigint, on_signal, SIGINT);
    uv_signal_start(&n->sigterm, on_signal, SIGTERM);
}

static void finish_shutdown(node *n)
{
    /* Sessions still draining (a polling client that did not come back for its close packet)
     * are closed now. */
    node_turn_end(n);
    session_close_all(n, EIO_REASON_SHUTDOWN, true);
    session_flush_dirty(n);
    node_run_deferred(n);
    while (n->on_shutdown) {
        deferred *d = n->on_shutdown;
        n->on_shutdown = d->next;
        d->fn(d->arg);
        util_free(d);
    }
    if (n->router.shutdown)
        n->router.shutdown(n->router_ud);
    listener_close(n);
    link_close_all(n);
    n->finished = true;
    uv_timer_stop(&n->shutdown_timer);
    uv_close((uv_handle_t *)&n->shutdown_timer, NULL);
    uv_timer_stop(&n->sweep_timer);
    uv_close((uv_handle_t *)&n->sweep_timer, NULL);
    uv_check_stop(&n->flush_check);
    uv_close((uv_handle_t *)&n->flush_check, NULL);
    uv_idle_stop(&n->flush_idle);
    uv_close((uv_handle_t *)&n->flush_idle, NULL);
    uv_timer_stop(&n->ready_timer);
    uv_close((uv_handle_t *)&n->ready_timer, NULL);
    if (n->signals) {
        uv_close((uv_handle_t *)&n->sigint, NULL);
        uv_close((uv_handle_t *)&n->sigterm, NULL);
    }
}

static void on_shutdown_timer(uv_timer_t *t)
{
    node *n = container_of(t, node, shutdown_timer);
    node_turn_end(n);
    session_flush_dirty(n);
    if (n->n_sessions_alive == 0 || uv_now(n->loop) - n->shutdown_started >= SHUTDOWN_DRAIN_MS)
        finish_shutdown(n);
}

void node_shutdown(node *n)
{
    if (n->shutting_down)
        return;
    n->shutting_down = true;
    n->shutdown_started = uv_now(n->loop);
    /* No new connections; the ones open drain their sessions' last packets. */
    uv_poll_stop(&n->listen_poll);
    node_turn_end(n); /* what was broadcast before the signal is queued before the close */
    session_close_all(n, EIO_REASON_SHUTDOWN, false);
    uv_timer_start(&n->shutdown_timer, on_shutdown_timer, 10, 10);
}

void node_free(node *n)
{
    if (!n)
        return;
    if (!n->finished)
        finish_shutdown(n);
    uv_run(n->loop, UV_RUN_DEFAULT);
    node_run_deferred(n);
    for (endpoint *ep = n->endpoints; ep; ep = ep->next)
        if (ep->ops.on_destroy)
            ep->ops.on_destroy(ep->ud);
    node_run_deferred(n);
    uv_run(n->loop, UV_RUN_DEFAULT);
    while (n->endpoints) {
        endpoint *ep = n->endpoints;
        n->endpoints = ep->next;
        util_free(ep->path);
        util_free(ep);
    }
    while (n->routes) {
        route *rt = n->routes;
        n->routes = rt->next;
        util_free(rt->path);
        util_free(rt);
    }
    for (size_t i = 0; i < n->cfg.n_cors_origins; i++)
        util_free(n->cors_origins[i]);
    util_free(n->cors_origins);
    util_free(n->static_dir);
    util_free(n->client_js);
    util_free(n->rbuf);
    util_buf_free(&n->wbuf);
    util_buf_free(&n->pbuf);
    http_req_pool_free(n);
    if (n->n_sessions_alive)
        UTIL_LOGW(UTIL_SUB_NODE, "%zu sessions still allocated at exit", n->n_sessions_alive);
    util_free(n);
}
