/* node: lifecycle of a broker node: lws joins the caller's libuv loop on an explicit vhost, the
 * per-iteration flush, signals, and the staged shutdown (close sessions, drain, destroy lws). */
#include "node_internal.h"
#include "cluster_pool.h"

#include "util_alloc.h"
#include "util_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/** How long shutdown waits for sessions to drain their final packets. */
#define SHUTDOWN_DRAIN_MS 2000

void node_config_defaults(node_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 8080;
    eio_config_defaults(&cfg->eio);
    cfg->cors = NODE_CORS_NONE;
    /* lws allocates this per WebSocket and reads at most this much from one socket per loop
     * turn. Before the burst wait (on_flush_check: a burst source's unread input postpones the
     * turn's flush), a publisher's burst was fanned out read by read, so this size set the frames
     * per receiver's send(): at 10k clients, 100-byte events, 1024 B gave 446k deliveries/s and
     * 4.5 KB RSS per idle client, 2048 B 775k/s and 5.5 KB, 4096 B 1.27M/s and 7.8 KB (over the
     * 6 KiB budget). With the wait, 2048 and 4096 measure the same (about 1.3M/s), and 1024 is
     * still clearly slower. Larger messages span reads. --ws-rx-buffer changes it. */
    cfg->ws_rx_buffer = 2048;
}

static void lws_log_emit(int level, const char *line)
{
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    /* lws prefixes its own timestamp: keep only the message after "] ". */
    const char *msg = strstr(line, "] ");
    msg = msg ? msg + 2 : line;
    int mlen = (int)(len - (size_t)(msg - line));
    if (mlen < 0)
        mlen = 0;
    util_log(UTIL_SUB_HTTP, level & LLL_ERR ? UTIL_LOG_ERROR : UTIL_LOG_WARN, "lws: %.*s", mlen,
             msg);
}

static void node_idle_noop(uv_idle_t *h)
{
    (void)h;
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
    uv_idle_start(&n->flush_idle, node_idle_noop);
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
    return HASH_COUNT(n->conns);
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

/* The endpoints' end-of-turn work, before output is written (the Socket.IO glue queues its
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

/* End of a loop turn: deferred calls; then, unless a publisher's burst is still being read
 * (conn_burst_wait: batches and queues then wait for the next turn, so that the whole burst is
 * queued in one pass and written in one write per session), the endpoints' batches are queued
 * and every dirty session is flushed. */
static void on_flush_check(uv_check_t *h)
{
    node *n = container_of(h, node, flush_check);
    node_run_deferred(n);
    if (conn_burst_wait(n))
        return;
    endpoints_turn_end(n);
    conn_flush_dirty(n);
}

/* Tries to bind host:port to explain a failure of lws_create_vhost in one line. */
static void explain_bind_failure(const char *host, int port, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "cannot listen on %s:%d: not an IPv4 address", host, port);
        return;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
    else
        snprintf(err, errlen, "cannot listen on %s:%d", host, port);
    if (fd >= 0)
        close(fd);
}

node *node_new(uv_loop_t *loop, const node_config *cfg, char *err, size_t errlen)
{
    node *n = util_calloc(1, sizeof *n);
    n->loop = loop;
    n->cfg = *cfg;
    n->cfg.host = NULL;
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

    int lws_levels = LLL_ERR | (util_log_enabled(UTIL_SUB_HTTP, UTIL_LOG_DEBUG) ? LLL_WARN : 0);
    lws_set_log_level(lws_levels, lws_log_emit);

    n->protocols[0].name = "siobroker-eio";
    n->protocols[0].callback = http_callback;
    n->protocols[0].per_session_data_size = sizeof(pss);
    n->protocols[0].rx_buffer_size = cfg->ws_rx_buffer;
    n->protocols[1].name = "siobroker-relay";
    n->protocols[1].callback = relay_client_callback;
    n->protocols[1].rx_buffer_size = cfg->ws_rx_buffer;
    /* lws splits every write into send()s of tx_packet_size, or of rx_buffer_size when that is 0
     * (1 KiB here), and sends the rest at the next POLLOUT: a coalesced burst of 20 frames cost
     * two send()s and a WRITEABLE round, and a polling answer of a few KiB several. One flush is
     * at most WS_FLUSH_BUDGET (plus the frame headers of its last message), and a polling answer
     * is bounded by maxPayload-sized batches: let each go in one send(). Nothing is allocated
     * per connection for it. */
    n->protocols[0].tx_packet_size = WS_FLUSH_BUDGET + 64 * 1024;
    n->protocols[1].tx_packet_size = WS_FLUSH_BUDGET + 64 * 1024;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {loop};
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.pcontext = &n->lws;
    info.user = n;
    info.protocols = n->protocols;
    info.port = cfg->port;
    info.iface = cfg->host;
    info.max_http_header_pool2 = 65535;
    info.keepalive_timeout = 30;
    info.timeout_secs = 30;
    info.vhost_name = "siobroker";

    n->lws = lws_create_context(&info);
    if (!n->lws) {
        snprintf(err, errlen, "cannot create the libwebsockets context");
        goto fail;
    }
    /* A bind failure is reported once, by us: silence lws while the vhost is created. */
    lws_set_log_level(0, lws_log_emit);
    n->vhost = lws_create_vhost(n->lws, &info);
    lws_set_log_level(lws_levels, lws_log_emit);
    if (!n->vhost) {
        explain_bind_failure(cfg->host, cfg->port, err, errlen);
        goto fail;
    }
    n->port = lws_get_vhost_listen_port(n->vhost);

    uv_check_init(loop, &n->flush_check);
    uv_check_start(&n->flush_check, on_flush_check);
    uv_unref((uv_handle_t *)&n->flush_check);
    uv_idle_init(loop, &n->flush_idle);
    uv_timer_init(loop, &n->shutdown_timer);
    uv_timer_init(loop, &n->ready_timer);
    n->ready_timer.data = n;
    uv_timer_start(&n->ready_timer, on_ready, 0, 0);
    snprintf(n->listen_addr, sizeof n->listen_addr, "%s:%d", cfg->host, n->port);
    util_buf_reserve(&n->wbuf, LWS_PRE + 64 * 1024);
    return n;

fail:
    if (n->lws) {
        lws_context_destroy(n->lws);
        uv_run(loop, UV_RUN_DEFAULT);
        if (n->lws) {
            lws_context_destroy(n->lws);
            uv_run(loop, UV_RUN_DEFAULT);
        }
    }
    for (size_t i = 0; i < cfg->n_cors_origins; i++)
        util_free(n->cors_origins[i]);
    util_free(n->cors_origins);
    util_free(n->static_dir);
    util_free(n->client_js);
    util_free(n);
    return NULL;
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

char *node_default_client_js(void)
{
    return static_default_client_js();
}

int node_port(const node *n)
{
    return n->port;
}

uint64_t node_now(const node *n)
{
    return uv_now(n->loop);
}

uv_loop_t *node_loop(const node *n)
{
    return n->loop;
}

void node_set_cluster(node *n, const node_cluster_config *cfg)
{
    util_free(n->node_id);
    util_free(n->secret);
    n->node_id = n->secret = NULL;
    n->route = NULL;
    n->route_forget = NULL;
    n->route_ud = NULL;
    if (!cfg)
        return;
    n->node_id = cfg->node_id ? util_strdup(cfg->node_id) : NULL;
    n->secret = cfg->secret && cfg->secret[0] ? util_strdup(cfg->secret) : NULL;
    n->route = cfg->route;
    n->route_forget = cfg->forget;
    n->route_ud = cfg->route_ud;
    n->forward_timeout_ms = cfg->forward_timeout_ms ? cfg->forward_timeout_ms : 10000;
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
    conn_close_all(n, EIO_REASON_SHUTDOWN, true);
    node_run_deferred(n);
    while (n->on_shutdown) {
        deferred *d = n->on_shutdown;
        n->on_shutdown = d->next;
        d->fn(d->arg);
        util_free(d);
    }
    uv_timer_stop(&n->shutdown_timer);
    uv_close((uv_handle_t *)&n->shutdown_timer, NULL);
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
    relay_close_all(n);
    n->destroyed = true;
    lws_context_destroy(n->lws); /* phase one; node_free completes it */
    /* Forwarded requests were cancelled with their client connections: close the idle ones. */
    cluster_pool_free(n->upstream);
    n->upstream = NULL;
}

static void on_shutdown_timer(uv_timer_t *t)
{
    node *n = container_of(t, node, shutdown_timer);
    node_turn_end(n);
    conn_flush_dirty(n);
    if (n->n_conns_alive == 0 || uv_now(n->loop) - n->shutdown_started >= SHUTDOWN_DRAIN_MS)
        finish_shutdown(n);
}

void node_shutdown(node *n)
{
    if (n->shutting_down)
        return;
    n->shutting_down = true;
    n->shutdown_started = uv_now(n->loop);
    node_turn_end(n); /* what was broadcast before the signal is queued before the close */
    conn_close_all(n, EIO_REASON_SHUTDOWN, false);
    uv_timer_start(&n->shutdown_timer, on_shutdown_timer, 10, 10);
}

void node_free(node *n)
{
    if (!n)
        return;
    if (!n->destroyed)
        finish_shutdown(n);
    /* lws 4.1 tears its context down in phases: call destroy again until pcontext is cleared. */
    for (int i = 0; n->lws && i < 3; i++) {
        lws_context_destroy(n->lws);
        uv_run(n->loop, UV_RUN_DEFAULT);
    }
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
    for (size_t i = 0; i < n->cfg.n_cors_origins; i++)
        util_free(n->cors_origins[i]);
    util_free(n->cors_origins);
    util_free(n->static_dir);
    util_free(n->client_js);
    util_buf_free(&n->wbuf);
    util_free(n->node_id);
    util_free(n->secret);
    if (n->n_conns_alive)
        UTIL_LOGW(UTIL_SUB_NODE, "%zu sessions still allocated at exit", n->n_conns_alive);
    util_free(n);
}
