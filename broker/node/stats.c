/* stats: the node's counters and the gauges computed from its sessions and connections, for a
 * /metrics route (counting itself is done in place by the files that see each event). */
#include "node_internal.h"

#include <string.h>

static const char *const k_reason_names[NODE_CLOSE_N] = {
    [NODE_CLOSE_TRANSPORT_CLOSE] = "transport close",
    [NODE_CLOSE_TRANSPORT_ERROR] = "transport error",
    [NODE_CLOSE_PING_TIMEOUT] = "ping timeout",
    [NODE_CLOSE_PARSE_ERROR] = "parse error",
    [NODE_CLOSE_FORCED] = "forced close",
    [NODE_CLOSE_SHUTDOWN] = "server shutting down",
    [NODE_CLOSE_SLOW_CONSUMER] = "slow consumer",
    [NODE_CLOSE_OTHER] = "other",
};

const node_stats *node_get_stats(const node *n)
{
    return &n->stats;
}

const char *node_close_reason_name(node_close_reason r)
{
    return (unsigned)r < NODE_CLOSE_N ? k_reason_names[r] : "other";
}

node_close_reason node_close_reason_of(const char *reason)
{
    /* Reasons are the engineio constants, so a pointer compare settles nearly every case. */
    if (reason == EIO_REASON_TRANSPORT_CLOSE)
        return NODE_CLOSE_TRANSPORT_CLOSE;
    if (reason == EIO_REASON_PING_TIMEOUT)
        return NODE_CLOSE_PING_TIMEOUT;
    if (!reason)
        return NODE_CLOSE_OTHER;
    for (unsigned i = 0; i < NODE_CLOSE_OTHER; i++)
        if (strcmp(reason, k_reason_names[i]) == 0)
            return (node_close_reason)i;
    return NODE_CLOSE_OTHER;
}

void node_get_gauges(const node *n, node_gauges *g)
{
    memset(g, 0, sizeof *g);
    g->connections = n->n_links;
    for (const node_link *l = n->links; l; l = l->next)
        g->pending_write += link_pending(l);
    const node_session *c, *tmp;
    HASH_ITER(hh, n->sessions, c, tmp)
    {
        g->sessions[eio_session_transport(c->eio) == EIO_TR_WEBSOCKET]++;
        size_t q = eio_session_queued_bytes(c->eio);
        g->queued_bytes += q;
        if (q > g->largest_queue)
            g->largest_queue = q;
        size_t m = eio_session_memory(c->eio);
        if (m > g->largest_session)
            g->largest_session = m;
    }
}

void node_observe_upgrades(node *n, void (*fn)(void *ud, node_session *c), void *ud)
{
    n->obs_upgrade = fn;
    n->obs_upgrade_ud = fn ? ud : NULL;
}
