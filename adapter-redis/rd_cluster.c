/* rd_cluster: a node's membership of the cluster: its Redis link, the key prefix and requests
 * timeout its namespaces' adapters share, and the readiness it reports. */
#include "rd_cluster.h"

#include "rd_internal.h"
#include "util_alloc.h"

static void on_link_state(void *ud, bool ready)
{
    rd_cluster *cl = ud;
    rd_adapters_link_state(cl, ready);
    if (cl->on_state)
        cl->on_state(cl->ud, ready);
}

rd_cluster *rd_cluster_new(uv_loop_t *loop, const rd_cluster_config *cfg, rd_state_fn on_state,
                           void *ud)
{
    rd_cluster *cl = util_calloc(1, sizeof *cl);
    cl->loop = loop;
    cl->key = util_strdup(cfg->key ? cfg->key : "socket.io");
    cl->timeout_ms = cfg->requests_timeout_ms ? cfg->requests_timeout_ms : 5000;
    cl->on_state = on_state;
    cl->ud = ud;
    cl->link = rd_link_new(loop, &cfg->link, on_link_state, cl);
    return cl;
}

rd_link *rd_cluster_link(rd_cluster *cl)
{
    return cl->link;
}

bool rd_cluster_ready(const rd_cluster *cl)
{
    return rd_link_ready(cl->link);
}

const rd_cluster_stats *rd_cluster_get_stats(const rd_cluster *cl)
{
    return &cl->stats;
}

const char *rd_cluster_request_name(int type)
{
    static const char *const names[RD_CLUSTER_REQ_TYPES] = {
        "sockets",          "all_rooms",         "remote_join",
        "remote_leave",     "remote_disconnect", "fetch_sockets",
        "server_side_emit", "broadcast",         "broadcast_client_count",
        "broadcast_ack",
    };
    return type >= 0 && type < RD_CLUSTER_REQ_TYPES ? names[type] : "other";
}

void rd_cluster_free(rd_cluster *cl)
{
    if (!cl)
        return;
    rd_adapters_detach(cl);
    rd_link_free(cl->link);
    util_free(cl->key);
    util_free(cl);
}
