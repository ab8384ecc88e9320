/* sio_batch: broadcasts batched within one host turn. Consecutive local broadcasts to the same
 * selection (namespace, rooms, except, flags) are kept as one selection and a list of encoded
 * packets, then delivered socket by socket: each target session is visited once for the whole
 * burst instead of once per packet, which at thousands of sockets is what the burst costs (each
 * visit is a few cache misses). Order is kept exactly: the batch is delivered before anything
 * else is sent to a client it targets, before the namespace's membership changes, before another
 * kind of broadcast, and at the end of the turn (sio_server_end_turn). */
#include "sio_internal.h"

#include "util_alloc.h"

#include <string.h>

/** Longest wait of a batch for the logged packets of its burst (sio_server_end_turn). */
#define SIO_BATCH_WAIT_MS 2

static bool strv_eq(char *const *a, const char *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

/* Whether o selects exactly what the open batch of b selects. */
static bool same_selection(const sio_batch *b, const sio_nsp *nsp, const sio_bcast_opts *o)
{
    size_t nr = o ? o->n_rooms : 0, ne = o ? o->n_except : 0;
    unsigned flags = o ? o->flags : 0;
    return b->nsp == nsp && b->flags == flags && b->n_rooms == nr && b->n_except == ne &&
           strv_eq(b->rooms, o ? o->rooms : NULL, nr) &&
           strv_eq(b->except, o ? o->except : NULL, ne);
}

void batch_deliver(sio_server *srv)
{
    srv->batch_wait_since = 0;
    if (srv->batch_timer) {
        srv->ops.timer_cancel(srv->host, srv->batch_timer);
        srv->batch_timer = NULL;
    }
    sio_batch b = srv->batch;
    if (!b.nsp)
        return;
    /* Closed before delivering: the sends below must not find it open. */
    memset(&srv->batch, 0, sizeof srv->batch);
    /* Every message of the burst in order (packets and their attachments), for one call per
     * session. */
    size_t n_flat = 0;
    for (size_t k = 0; k < b.n_msgs; k++)
        n_flat += 1 + b.msgs[k].n_attachments;
    eio_msg **flat = util_malloc(n_flat * sizeof *flat);
    n_flat = 0;
    for (size_t k = 0; k < b.n_msgs; k++) {
        flat[n_flat++] = b.msgs[k].text;
        for (size_t a = 0; a < b.msgs[k].n_attachments; a++)
            flat[n_flat++] = b.msgs[k].attachments[a];
    }
    for (size_t i = 0; i < b.n; i++) {
        sio_socket *s = b.v[i];
        sio_client *c = s->client;
        if (c && !c->close_reason) {
            if (srv->ops.send_many) {
                srv->ops.send_many(c->conn, flat, n_flat, srv->host);
            } else {
                for (size_t k = 0; k < b.n_msgs; k++)
                    socket_send(s, &b.msgs[k], false);
            }
        }
        socket_unref(s);
    }
    util_free(flat);
    for (size_t k = 0; k < b.n_msgs; k++)
        sio_encoded_clear(&b.msgs[k]);
    util_free(b.msgs);
    util_free(b.v);
    util_strv_free(b.rooms, b.n_rooms);
    util_strv_free(b.except, b.n_except);
}

int batch_emit(sio_nsp *nsp, json_t *packet, const sio_bcast_opts *o, bool mark_gap)
{
    sio_server *srv = nsp->srv;
    sio_batch *b = &srv->batch;
    if (b->nsp && !same_selection(b, nsp, o))
        batch_deliver(srv);
    if (!b->nsp) {
        size_t n;
        sio_socket **v = rooms_select(nsp, o, &n);
        if (!n) {
            util_free(v);
            return 0;
        }
        b->nsp = nsp;
        b->flags = o ? o->flags : 0;
        b->rooms = util_strv_dup(o ? o->rooms : NULL, b->n_rooms = o ? o->n_rooms : 0);
        b->except = util_strv_dup(o ? o->except : NULL, b->n_except = o ? o->n_except : 0);
        b->v = v;
        b->n = n;
        b->stamp = ++srv->epoch;
        b->live = 0;
        for (size_t i = 0; i < n; i++) {
            sio_client *c = v[i]->client;
            if (c) {
                c->batch_stamp = b->stamp;
                b->live += !c->close_reason;
            }
        }
    }
    if (b->n_msgs == b->cap_msgs) {
        b->cap_msgs = b->cap_msgs ? b->cap_msgs * 2 : 8;
        b->msgs = util_realloc(b->msgs, b->cap_msgs * sizeof *b->msgs);
    }
    sio_encode(SIO_EVENT, nsp->name, -1, packet, &b->msgs[b->n_msgs++]);
    for (size_t i = 0; mark_gap && i < b->n; i++)
        recov_gap(b->v[i]);
    return (int)b->live;
}

void batch_before_send(sio_client *c)
{
    sio_server *srv = c->srv;
    if (srv->batch.nsp && c->batch_stamp == srv->batch.stamp)
        batch_deliver(srv);
}

void batch_nsp_changed(sio_nsp *nsp)
{
    if (nsp->srv->batch.nsp == nsp)
        batch_deliver(nsp->srv);
}

static void on_batch_timer(void *arg)
{
    sio_server *srv = arg;
    srv->batch_timer = NULL;
    batch_deliver(srv);
}

void sio_server_end_turn(sio_server *srv)
{
    /* Logged packets of this burst are still waiting for their offset (connection state recovery
     * with Redis: they come back one round trip later, maybe over several turns): the batch waits
     * for them, at most SIO_BATCH_WAIT_MS, so that the burst still leaves in one write per
     * session. A timer ends the wait if no input comes. */
    if (srv->batch.nsp && srv->oq_inflight) {
        uint64_t now = srv->ops.now(srv->host);
        if (!srv->batch_wait_since)
            srv->batch_wait_since = now ? now : 1;
        if (now - srv->batch_wait_since < SIO_BATCH_WAIT_MS) {
            if (!srv->batch_timer)
                srv->batch_timer =
                    srv->ops.timer_start(srv->host, SIO_BATCH_WAIT_MS, on_batch_timer, srv);
            return;
        }
    }
    batch_deliver(srv);
}

uint64_t sio_server_deliveries(const sio_server *srv)
{
    return srv->deliveries;
}
