/* daemon_metrics: GET /metrics on a node: the counters and gauges of every layer (node, Socket.IO,
 * cluster, Redis adapter, admin UI) and of the process, in the Prometheus text format. */
#ifndef DAEMON_METRICS_H
#define DAEMON_METRICS_H

#include "cluster.h"
#include "node.h"
#include "rd_adapter.h"
#include "sio_server.h"
#include "util_buf.h"

/** What a scrape reads. Every pointer is borrowed and may be NULL (not part of this node). */
typedef struct daemon_metrics_src {
    node *nd;                 /**< the node serving clients */
    sio_server *srv;          /**< its Socket.IO server */
    cluster *cl;              /**< the sticky-free cluster (with --redis) */
    rd_cluster *redis;        /**< the Redis adapter's cluster link (with --redis) */
    const eio_budget *budget; /**< the node's memory budget (--max-memory) */
    const char *node_id;
    const char *version;
    /** Appends the admin UI's own families (daemon_admin_metrics), or NULL. */
    void (*extra)(util_buf *out, void *ud);
    void *extra_ud;
} daemon_metrics_src;

/* Appends the whole exposition for src to out. */
void daemon_metrics_render(const daemon_metrics_src *src, util_buf *out);

/* Serves GET /metrics on n (the client node, or a separate internal one) from src (borrowed: it
 * must outlive n, and may be changed later, e.g. redis cleared when the node leaves the cluster).
 * Returns 0, or -1 when the path is taken. */
int daemon_metrics_attach(node *n, const daemon_metrics_src *src);

/** What the process uses, from /proc (Linux). */
typedef struct daemon_process_stats {
    double cpu_seconds;   /**< user + system */
    double start_time;    /**< seconds since the epoch */
    uint64_t rss_bytes;   /**< resident set */
    uint64_t vsize_bytes; /**< virtual memory */
    uint64_t open_fds;    /**< open descriptors */
    uint64_t max_fds;     /**< the soft descriptor limit */
} daemon_process_stats;

/* Reads the process's figures. Returns 0, or -1 when /proc could not be read (fields zero). */
int daemon_process_stats_read(daemon_process_stats *ps);

#endif
