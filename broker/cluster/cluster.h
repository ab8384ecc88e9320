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

#endif
