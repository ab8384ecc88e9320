/* cluster: the sticky-free cluster on a node: a request for a session another node holds is
 * forwarded (polling) or relayed (WebSocket) to that node, signed; requests peers forward here are
 * verified. The node sees it as its router (node_http.h). */
#ifndef CLUSTER_H
#define CLUSTER_H

#include "node.h"

#include <stdbool.h>
#include <stdint.h>

/** Result of a route lookup: address ("host:port") of the live node owning the sid, or NULL when
 *  none does; failed when the lookup itself could not be made (e.g. Redis down). Strings are
 *  borrowed for the call. */
typedef void (*cluster_route_done)(void *ctx, const char *address, const char *node_id,
                                   bool failed);

/** How a node finds the owner of a sid it does not hold: calls done(ctx, ...) exactly once, maybe
 *  before returning. */
typedef void (*cluster_route_fn)(void *ud, const char *sid, cluster_route_done done, void *ctx);

/** Cluster settings. Strings are copied. */
typedef struct cluster_config {
    const char *node_id;    /**< this node's id (sent as x-siobroker-from) */
    const char *secret;     /**< HMAC key for node-to-node requests; NULL = insecure */
    cluster_route_fn route; /**< owner lookup */
    void (*forget)(void *ud, const char *sid); /**< the owner did not answer: drop cached route */
    void *route_ud;
    uint32_t forward_timeout_ms; /**< bound of a forwarded POST (0 = 10 s); a GET may also last a
                                      whole ping interval + ping timeout */
} cluster_config;

typedef struct cluster cluster;

/* Makes n part of a cluster: a polling request or WebSocket for a sid that n does not hold is
 * forwarded (polling) or relayed (WebSocket) to the owner cfg->route names; a request forwarded by
 * a peer must carry a valid signature under cfg->secret (401 otherwise) and is never forwarded
 * again. Call before the loop runs. Returns the cluster (owned by the caller: cluster_free after
 * node_free). */
cluster *cluster_attach(node *n, const cluster_config *cfg);

/* Frees the cluster (after the node's loop has ended). Accepts NULL. */
void cluster_free(cluster *c);

/* ---- counters (metrics) ---- */

/** What this node did with a request for a session another node holds. */
typedef enum cluster_outcome {
    CLUSTER_OUT_OK = 0,   /**< the owner's answer was passed on (whatever its status) */
    CLUSTER_OUT_400 = 1,  /**< no live node holds the session: "Session ID unknown" */
    CLUSTER_OUT_502 = 2,  /**< the owner failed (lookup failed, connection lost, bad answer) */
    CLUSTER_OUT_504 = 3,  /**< the owner did not answer in time */
    CLUSTER_OUT_GONE = 4, /**< the client went away first */
    CLUSTER_OUT_N
} cluster_outcome;

/** Which kind of request was forwarded or relayed. */
typedef enum cluster_kind {
    CLUSTER_KIND_GET = 0,  /**< a forwarded polling GET (a long-poll: held up to a ping interval) */
    CLUSTER_KIND_POST = 1, /**< a forwarded polling POST */
    CLUSTER_KIND_WS = 2,   /**< a relayed WebSocket (time until the owner answered the upgrade) */
    CLUSTER_KIND_N
} cluster_kind;

/** Upper bounds (seconds) of the latency histogram buckets; a last bucket is +Inf. */
#define CLUSTER_LATENCY_BUCKETS 14
extern const double cluster_latency_bounds[CLUSTER_LATENCY_BUCKETS];

/** The cluster's counters: plain integers on the loop's thread. */
typedef struct cluster_stats {
    uint64_t requests[CLUSTER_KIND_N][CLUSTER_OUT_N]; /**< by kind and outcome */
    /** Time from the client's request (its body read, for a POST) until the answer or refusal:
     * per-bucket counts (not cumulative), [CLUSTER_LATENCY_BUCKETS] is +Inf. */
    uint64_t latency[CLUSTER_KIND_N][CLUSTER_LATENCY_BUCKETS + 1];
    double latency_sum[CLUSTER_KIND_N]; /**< seconds */
    uint64_t peer_verified;             /**< signed requests from peers accepted */
    uint64_t peer_refused;              /**< requests from peers refused (401) */
} cluster_stats;

/* The cluster's counters. Borrowed; valid while the cluster lives. */
const cluster_stats *cluster_get_stats(const cluster *c);

/* Relayed WebSockets open now. */
size_t cluster_relays_open(const cluster *c);

/* The label of an outcome ("ok", "400", "502", "504", "client_gone") and of a kind ("polling_get",
 * "polling_post", "websocket"). Static strings. */
const char *cluster_outcome_name(cluster_outcome o);
const char *cluster_kind_name(cluster_kind k);

#endif
