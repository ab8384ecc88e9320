/* rd_internal: what rd_cluster.c and rd_adapter.c share (not a public header): the cluster's
 * state, and the adapters' side of its end. */
#ifndef RD_INTERNAL_H
#define RD_INTERNAL_H

#include "rd_cluster.h"

typedef struct rd_adapter rd_adapter;

struct rd_cluster {
    uv_loop_t *loop;
    rd_link *link;        /**< the node's Redis link (owned) */
    char *key;            /**< channel prefix (owned) */
    uint32_t timeout_ms;  /**< how long requests wait for the other nodes */
    rd_adapter *adapters; /**< the namespaces' adapters, a utlist list through their next */
    rd_state_fn on_state; /**< readiness listener, or NULL */
    void *ud;
    uv_timer_t *upkeep;     /**< recovery upkeep of every namespace (owned; NULL until one has
                               recovery, closed by rd_adapters_detach) */
    rd_cluster_stats stats; /**< counted by the adapters */
};

/* The link of cl went up or down: each adapter with recovery is told (when down, its packets
 * logged but whose echo is lost complete). */
void rd_adapters_link_state(rd_cluster *cl, bool ready);

/* The cluster cl is being freed: each of its adapters fails its pending requests ("redis adapter
 * closed") and forgets cl, so that it publishes nothing from then on; the recovery upkeep timer
 * is closed (freed by libuv's close callback). */
void rd_adapters_detach(rd_cluster *cl);

#endif
