/* cluster_router: the cluster as the node's router: verifies what peers forward here, hands
 * requests for sessions held elsewhere to forwarding and relaying, and signs what leaves. */
#include "cluster_auth.h"
#include "cluster_internal.h"

#include "util_alloc.h"
#include "util_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

uint64_t cluster_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

typedef struct query_bufs {
    util_buf *canon, *enc;
} query_bufs;

static int add_arg(const char *arg, size_t len, void *ud)
{
    query_bufs *q = ud;
    if (q->canon->len)
        util_buf_putc(q->canon, '&');
    util_buf_append(q->canon, arg, len);
    if (!q->enc)
        return 0;
    if (q->enc->len)
        util_buf_putc(q->enc, '&');
    /* Each argument is one unit: its first '=' stays, everything else that the owner would decode
     * or split on is escaped, so the owner parses exactly the same arguments. */
    static const char hex[] = "0123456789ABCDEF";
    bool eq = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)arg[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (c == '=' && !eq)) {
            eq = eq || c == '=';
            util_buf_putc(q->enc, c);
        } else {
            uint8_t e[3] = {'%', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
            util_buf_append(q->enc, e, 3);
        }
    }
    return 0;
}

void cluster_query(const node_req *r, const char *path, util_buf *canon, util_buf *target)
{
    util_buf_reset(canon);
    util_buf enc = UTIL_BUF_INIT;
    query_bufs q = {canon, target ? &enc : NULL};
    node_req_query_foreach(r, add_arg, &q);
    if (target) {
        util_buf_reset(target);
        util_buf_printf(target, "%s?", path);
        util_buf_append(target, enc.data, enc.len);
    }
    util_buf_free(&enc);
}

void cluster_sign_headers(cluster *cl, const char *method, const char *path, const char *canon,
                          util_buf *out)
{
    uint64_t ts = cluster_wall_ms();
    util_buf_printf(out, "x-siobroker-from: %s\r\nx-siobroker-ts: %" PRIu64 "\r\n",
                    cl->node_id ? cl->node_id : "-", ts);
    if (cl->secret) {
        char sig[CLUSTER_SIG_HEX + 1];
        cluster_sign(cl->secret, method, path, canon, ts, sig);
        util_buf_printf(out, "x-siobroker-sig: %s\r\n", sig);
    }
}

/* node_router_ops.classify: a request carrying node-to-node headers must be signed. */
static int classify(void *ud, node_req *r)
{
    cluster *cl = ud;
    const char *ts = node_req_header(r, "x-siobroker-ts");
    const char *sig = node_req_header(r, "x-siobroker-sig");
    const char *from = node_req_header(r, "x-siobroker-from");
    if (!ts && !sig && !from)
        return 0;
    if (!cl->secret)
        return 1;
    const char *path = node_req_endpoint(r) ? node_req_endpoint(r) : node_req_path(r);
    util_buf canon = UTIL_BUF_INIT;
    cluster_query(r, path, &canon, NULL);
    cluster_auth_result res =
        cluster_verify(cl->secret, node_req_method(r), path, util_buf_cstr(&canon), ts ? ts : "",
                       sig ? sig : "", cluster_wall_ms());
    util_buf_free(&canon);
    if (res == CLUSTER_AUTH_OK) {
        cl->stats.peer_verified++;
        return 1;
    }
    cl->stats.peer_refused++;
    UTIL_LOGW_RL(UTIL_SUB_CLUSTER, "forwarded %s %s from %s (node %s) refused: %s",
                 node_req_method(r), path, node_req_remote(r), from ? from : "?",
                 cluster_auth_message(res));
    return -1;
}

static void route_forward(void *ud, node_req *r, const char *sid)
{
    cluster_forward(ud, r, sid);
}

static void route_relay(void *ud, node_req *r, const char *sid)
{
    cluster_relay(ud, r, sid);
}

static void shutdown_cluster(void *ud)
{
    cluster *cl = ud;
    cl->shut = true;
    cluster_relay_close_all(cl);
    /* Forwarded requests were cancelled with their client connections: close the idle ones. */
    cluster_pool_free(cl->pool);
    cl->pool = NULL;
}

cluster *cluster_attach(node *n, const cluster_config *cfg)
{
    cluster *cl = util_calloc(1, sizeof *cl);
    cl->n = n;
    cl->loop = node_loop(n);
    cl->node_id = cfg->node_id ? util_strdup(cfg->node_id) : NULL;
    cl->secret = cfg->secret && cfg->secret[0] ? util_strdup(cfg->secret) : NULL;
    cl->route = cfg->route;
    cl->forget = cfg->forget;
    cl->route_ud = cfg->route_ud;
    cl->forward_timeout_ms = cfg->forward_timeout_ms ? cfg->forward_timeout_ms : 10000;
    cl->eio = node_eio_config(n);
    static const node_router_ops ops = {classify, route_forward, route_relay, shutdown_cluster};
    node_set_router(n, &ops, cl);
    return cl;
}

void cluster_free(cluster *cl)
{
    if (!cl)
        return;
    cluster_pool_free(cl->pool);
    util_free(cl->node_id);
    util_free(cl->secret);
    util_free(cl);
}

/* ---- counters ---------------------------------------------------------------------------------- */

const double cluster_latency_bounds[CLUSTER_LATENCY_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};

void cluster_count(cluster *cl, cluster_kind kind, cluster_outcome out, uint64_t started_ns)
{
    cluster_stats *st = &cl->stats;
    st->requests[kind][out]++;
    if (out == CLUSTER_OUT_GONE)
        return; /* no answer: no latency */
    double s = (double)(uv_hrtime() - started_ns) / 1e9;
    size_t b = 0;
    while (b < CLUSTER_LATENCY_BUCKETS && s > cluster_latency_bounds[b])
        b++;
    st->latency[kind][b]++;
    st->latency_sum[kind] += s;
}

cluster_outcome cluster_outcome_of(int status)
{
    switch (status) {
    case 400: return CLUSTER_OUT_400;
    case 504: return CLUSTER_OUT_504;
    default: return CLUSTER_OUT_502;
    }
}

const cluster_stats *cluster_get_stats(const cluster *c)
{
    return &c->stats;
}

size_t cluster_relays_open(const cluster *c)
{
    size_t n = 0;
    for (const relay *rl = c->relays; rl; rl = cluster_relay_next(rl))
        n++;
    return n;
}

const char *cluster_outcome_name(cluster_outcome o)
{
    static const char *const names[CLUSTER_OUT_N] = {"ok", "400", "502", "504", "client_gone"};
    return (unsigned)o < CLUSTER_OUT_N ? names[o] : "other";
}

const char *cluster_kind_name(cluster_kind k)
{
    static const char *const names[CLUSTER_KIND_N] = {"polling_get", "polling_post", "websocket"};
    return (unsigned)k < CLUSTER_KIND_N ? names[k] : "other";
}
