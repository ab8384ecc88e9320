/* cluster_internal: what the cluster's files share (not a public header). */
#ifndef CLUSTER_INTERNAL_H
#define CLUSTER_INTERNAL_H

#include "cluster.h"
#include "cluster_pool.h"
#include "node_http.h"
#include "util_buf.h"

#include <uv.h>

typedef struct fwd fwd;
typedef struct relay relay;

struct cluster {
    node *n;
    uv_loop_t *loop;
    char *node_id; /**< owned */
    char *secret;  /**< owned; NULL = unsigned (insecure) cluster */
    cluster_route_fn route;
    void (*forget)(void *ud, const char *sid);
    void *route_ud;
    uint32_t forward_timeout_ms;
    eio_config eio;     /**< the node's Engine.IO settings (timeouts, maxPayload) */
    cluster_pool *pool; /**< keep-alive connections to peers, created on first use */
    relay *relays;      /**< live relays (closed at shutdown) */
    bool shut;          /**< the node is shutting down: nothing new is started */
    cluster_stats stats;
};

/* Counts one request of kind with outcome, started at started_ns (uv_hrtime). */
void cluster_count(cluster *cl, cluster_kind kind, cluster_outcome out, uint64_t started_ns);
/* The outcome an error status stands for (400, 502, 504; anything else 502). */
cluster_outcome cluster_outcome_of(int status);

/* ---- cluster_router.c ---- */
/* Milliseconds since the Unix epoch (signatures carry wall-clock time). */
uint64_t cluster_wall_ms(void);
/* The query of r as both ends of a forward see it: decoded arguments joined by '&' into canon
 * (reset first) and, with target non-NULL, "path?url-encoded-arguments" for a request line. */
void cluster_query(const node_req *r, const char *path, util_buf *canon, util_buf *target);
/* Appends x-siobroker-from/-ts/-sig header lines for (method, path, canonical query) to out. */
void cluster_sign_headers(cluster *cl, const char *method, const char *path, const char *canon,
                          util_buf *out);

/* ---- cluster_forward.c ---- */
/* A polling GET or POST for sid, which another node holds: takes r and forwards it. */
void cluster_forward(cluster *cl, node_req *r, const char *sid);

/* ---- cluster_relay.c ---- */
/* A WebSocket upgrade for sid, which another node holds: relays it once the owner accepts. */
void cluster_relay(cluster *cl, node_req *r, const char *sid);
/* Closes every relay (shutdown). */
void cluster_relay_close_all(cluster *cl);
/* The relay after rl in cl->relays (counting them). */
const relay *cluster_relay_next(const relay *rl);

#endif
