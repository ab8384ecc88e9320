/* rd_cluster: a node's membership of the cluster: one Redis link shared by the adapters of its
 * namespaces (rd_adapter.h), with the key prefix and the requests timeout. */
#ifndef RD_CLUSTER_H
#define RD_CLUSTER_H

#include "rd_link.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct rd_cluster rd_cluster;

/** Cluster settings. Strings are copied. */
typedef struct rd_cluster_config {
    rd_link_config link;          /**< where Redis is */
    const char *key;              /**< channel prefix (default "socket.io") */
    uint32_t requests_timeout_ms; /**< wait for other nodes' answers (default 5000) */
} rd_cluster_config;

/* Connects the node to the cluster's Redis on loop. on_state (may be NULL) hears readiness. Caller
 * owns; call rd_cluster_free before the loop's final run. */
rd_cluster *rd_cluster_new(uv_loop_t *loop, const rd_cluster_config *cfg, rd_state_fn on_state,
                           void *ud);

/* Disconnects, fails the requests still waiting and frees. Adapters created from it must not be
 * used afterwards. Accepts NULL. */
void rd_cluster_free(rd_cluster *cl);

/* The cluster's Redis link (for the node registry). Borrowed. */
rd_link *rd_cluster_link(rd_cluster *cl);

/* True when Redis is connected and every namespace's subscriptions are confirmed. */
bool rd_cluster_ready(const rd_cluster *cl);

#endif
