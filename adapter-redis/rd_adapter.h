/* rd_adapter: the Redis adapter of @socket.io/redis-adapter 8.x, in C: one cluster link per node,
 * one adapter per namespace, wire format as in shared/protocol/redis-adapter.md. */
#ifndef RD_ADAPTER_H
#define RD_ADAPTER_H

#include "rd_link.h"
#include "sio_adapter.h"

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

/** Request kinds of the adapter protocol, as counted (RD_REQ_* of rd_codec.h, 0..9). */
#define RD_CLUSTER_REQ_TYPES 10

/** What the cluster's adapters count (plain counters on the loop's thread). */
typedef struct rd_cluster_stats {
    uint64_t broadcasts_out;                         /**< broadcasts published */
    uint64_t broadcasts_in;                          /**< broadcasts from other nodes delivered */
    uint64_t requests_out[RD_CLUSTER_REQ_TYPES];     /**< requests published, by type */
    uint64_t requests_in[RD_CLUSTER_REQ_TYPES];      /**< requests from other nodes, by type */
    uint64_t request_timeouts[RD_CLUSTER_REQ_TYPES]; /**< own requests that timed out waiting */
    uint64_t pending;                                /**< own requests waiting now (gauge) */
} rd_cluster_stats;

/* The cluster's counters. Borrowed; valid while it lives. */
const rd_cluster_stats *rd_cluster_get_stats(const rd_cluster *cl);

/* The label of a request type ("fetch_sockets", ...). Static string. */
const char *rd_cluster_request_name(int type);

/* The adapter factory to pass to sio_server_set_adapter, with the cluster as ud. */
sio_adapter *rd_adapter_factory(sio_nsp *nsp, void *cluster);

/* The uid of the adapter of a namespace (6 URL-safe characters). Borrowed. */
const char *rd_adapter_uid(const sio_adapter *a);

#endif
