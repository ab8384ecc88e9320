/* conn: the broker side of an Engine.IO session: sid table, heartbeat timer, attached transports,
 * the dirty list flushed once per loop iteration, and deferred freeing. */
#include "node_internal.h"

#include "util_alloc.h"
#include "util_log.h"

#include <string.h>
#include <sys/ioctl.h>

void conn_maybe_free(node_session *c)
{
    if (eio_session_state(c->eio) != EIO_ST_CLOSED || c->wsi_refs > 0 || !c->timer_closed ||
        c->dirty)
        return;
    node *n = c->node;
    UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s freed", eio_session_sid(c->eio));
    eio_session_free(c->eio);
    util_free(c->remote);
    util_free(c->query);
    util_free(c);
    n->n_conns_alive--;
}

static void on_timer_closed(uv_handle_t *h)
{
    node_session *c = container_of((uv_timer_t *)h, node_session, timer);
    c->timer_closed = true;
    conn_maybe_free(c);
}

static void on_timer(uv_timer_t *t)
{
    node_session *c = container_of(t, node_session, timer);
    c->armed_at = UINT64_MAX;
    eio_session_tick(c->eio, uv_now(c->node->loop));
    conn_rearm(c);
}

void conn_rearm(node_session *c)
{
    if (eio_session_state(c->eio) == EIO_ST_CLOSED)
        return;
    uint64_t next = eio_session_next_wakeup(c->eio);
    if (next == c->armed_at)
        return;
    if (next == UINT64_MAX) {
        uv_timer_stop(&c->timer);
        c->armed_at = UINT64_MAX;
        return;
    }
    uint64_t now = uv_now(c->node->loop);
    uv_timer_start(&c->timer, on_timer, next > now ? next - now : 0, 0);
    c->armed_at = next;
}

static void on_eio_message(eio_session *s, const uint8_t *data, size_t len, bool binary, void *ud)
{
    node_session *c = ud;
    if (util_log_enabled(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG)) {
        if (binary)
            util_log(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG, "sid=%s in message binary %zu bytes",
                     eio_session_sid(s), len);
        else
            util_log(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG, "sid=%s in message \"%.*s\"%s",
                     eio_session_sid(s), (int)(len > 200 ? 200 : len), (const char *)data,
                     len > 200 ? "..." : "");
    }
    if (c->ep->ops.on_message)
        c->ep->ops.on_message(c, data, len, binary, c->ep->ud);
}

static void on_eio_writable(eio_session *s, void *ud)
{
    node_session *c = ud;
    if (c->get_wsi && eio_session_poll_ready(s))
        lws_callback_on_writable(c->get_wsi);
    if (c->ws_wsi && eio_session_transport(s) == EIO_TR_WEBSOCKET && eio_session_queued(s))
        conn_mark_dirty(c);
}

static void on_eio_upgrade_timeout(eio_session *s, void *ud)
{
    node_session *c = ud;
    UTIL_LOGW(UTIL_SUB_ENGINEIO, "sid=%s upgrade not completed in time: probe closed",
              eio_session_sid(s));
    if (c->probe_wsi)
        ws_request_close(c->probe_wsi);
}

static void on_eio_close(eio_session *s, const char *reason, void *ud)
{
    node_session *c = ud;
    node *n = c->node;
    UTIL_LOGI(UTIL_SUB_ENGINEIO, "sid=%s closed: %s", eio_session_sid(s), reason);
    if (c->in_table) {
        HASH_DEL(n->conns, c);
        c->in_table = false;
        if (n->obs_close)
            n->obs_close(n->obs_ud, eio_session_sid(s));
    }
    if (c->ep->ops.on_close)
        c->ep->ops.on_close(c, reason, c->ep->ud);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    if (c->ws_wsi)
        ws_request_close(c->ws_wsi);
    if (c->probe_wsi)
        ws_request_close(c->probe_wsi);
}

static int append_arg(const char *arg, size_t len, void *ud)
{
    util_buf *q = ud;
    if (q->len)
        util_buf_putc(q, '&');
    util_buf_append(q, arg, len);
    return 0;
}

node_session *conn_new(node *n, endpoint *ep, eio_transport_kind t, struct lws *wsi)
{
    node_session *c = util_calloc(1, sizeof *c);
    c->node = n;
    c->ep = ep;
    c->armed_at = UINT64_MAX;
    static const eio_session_cbs cbs = {on_eio_message, on_eio_close, on_eio_writable,
                                        on_eio_upgrade_timeout};
    c->eio = eio_session_new(&n->cfg.eio, t, uv_now(n->loop), &cbs, c);
    uv_timer_init(n->loop, &c->timer);
    n->n_conns_alive++;

    char addr[128] = "";
    lws_get_peer_simple(wsi, addr, sizeof addr);
    c->remote = util_strdup(addr);
    util_buf q = UTIL_BUF_INIT;
    http_query_foreach(wsi, append_arg, &q);
    c->query = q.len ? util_buf_steal_str(&q) : util_strdup("");
    util_buf_free(&q);

    const char *sid = eio_session_sid(c->eio);
    HASH_ADD_KEYPTR(hh, n->conns, sid, strlen(sid), c);
    c->in_table = true;
    if (n->obs_open)
        n->obs_open(n->obs_ud, sid);
    UTIL_LOGI(UTIL_SUB_ENGINEIO, "sid=%s open transport=%s remote=%s", sid,
              t == EIO_TR_POLLING ? "polling" : "websocket", c->remote);
    if (ep->ops.on_open) {
        c->hs_wsi = wsi;
        ep->ops.on_open(c, ep->ud);
        c->hs_wsi = NULL;
    }
    conn_rearm(c);
    return c;
}

node_session *conn_find(node *n, const char *sid)
{
    node_session *c = NULL;
    HASH_FIND_STR(n->conns, sid, c);
    return c;
}

void conn_attach(node_session *c, struct lws **slot, struct lws *wsi)
{
    *slot = wsi;
    c->wsi_refs++;
}

void conn_detach(node_session *c, struct lws **slot)
{
    if (!*slot)
        return;
    *slot = NULL;
    c->wsi_refs--;
    conn_maybe_free(c);
}

/* An active idle handle makes uv_run poll without blocking, so output queued from a timer or a
 * Redis callback is flushed in this iteration's check phase rather than after the next I/O.
 * Sessions are flushed in the order they got output: a publisher's acks, queued while its events
 * are handled, leave before the fan-out of those events, so its next burst overlaps the flush. */
static void conn_idle_noop(uv_idle_t *h)
{
    (void)h;
}

void conn_mark_dirty(node_session *c)
{
    if (c->dirty)
        return;
    node *n = c->node;
    c->dirty = true;
    c->dirty_next = NULL;
    if (n->dirty) {
        n->dirty_tail->dirty_next = c;
    } else {
        uv_idle_start(&n->flush_idle, conn_idle_noop);
        n->dirty = c;
    }
    n->dirty_tail = c;
}

void conn_flush_dirty(node *n)
{
    uv_idle_stop(&n->flush_idle);
    while (n->dirty) {
        node_session *list = n->dirty;
        n->dirty = n->dirty_tail = NULL;
        while (list) {
            node_session *c = list;
            list = c->dirty_next;
            c->dirty = false;
            c->dirty_next = NULL;
            if (eio_session_state(c->eio) != EIO_ST_CLOSED && c->ws_wsi)
                ws_flush(c);
            conn_maybe_free(c);
        }
    }
}

void node_session_note_fanout(node_session *c, uint64_t n_sessions)
{
    node *n = c->node;
    if (n_sessions < BURST_MIN_FANOUT || !c->ws_wsi)
        return;
    int fd = lws_get_socket_fd(c->ws_wsi);
    for (unsigned i = 0; i < n->n_burst; i++)
        if (n->burst_fd[i] == fd)
            return;
    if (fd >= 0 && n->n_burst < BURST_MAX_SOURCES)
        n->burst_fd[n->n_burst++] = fd;
}

/* Whether a burst source of this turn has unread input (FIONREAD: the sources are few). The fds
 * are only numbers: one closed since is an error here (EBADF), one reused at worst costs a turn. */
static bool burst_input_pending(node *n)
{
    bool pending = false;
    for (unsigned i = 0; i < n->n_burst && !pending; i++) {
        int avail = 0;
        pending = ioctl(n->burst_fd[i], FIONREAD, &avail) == 0 && avail > 0;
    }
    n->n_burst = 0;
    return pending;
}

bool conn_burst_wait(node *n)
{
    if (n->n_burst && burst_input_pending(n)) {
        uint64_t now = uv_hrtime();
        if (n->burst_turns == 0)
            n->burst_since = now;
        if (n->burst_turns < BURST_MAX_TURNS && now - n->burst_since < BURST_MAX_WAIT_NS) {
            n->burst_turns++;
            /* Output may all sit in batches not yet queued: make sure the next poll does not
             * block (it returns at once anyway, the source being readable). */
            uv_idle_start(&n->flush_idle, conn_idle_noop);
            return true;
        }
    }
    n->n_burst = 0;
    n->burst_turns = 0;
    return false;
}

void conn_close_all(node *n, const char *reason, bool now)
{
    node_session *c, *tmp;
    HASH_ITER(hh, n->conns, c, tmp)
    {
        if (now)
            eio_session_abort(c->eio, reason);
        else
            eio_session_close(c->eio, reason);
    }
}

/* ---- public session API ---- */

int node_session_send(node_session *c, eio_msg *m)
{
    return eio_session_send(c->eio, m);
}

int node_session_send_many(node_session *c, eio_msg *const *m, size_t n)
{
    return eio_session_send_many(c->eio, m, n);
}

int node_session_send_message(node_session *c, const void *data, size_t len, bool binary)
{
    return eio_session_send_message(c->eio, data, len, binary);
}

bool node_session_writable(const node_session *c)
{
    if (eio_session_transport(c->eio) == EIO_TR_POLLING)
        return c->get_wsi != NULL;
    /* Not lws_send_pipe_choked(): that poll()s the socket, once per socket per volatile emit. */
    return c->ws_wsi && !lws_partial_buffered(c->ws_wsi);
}

static bool header_token_wanted(enum lws_token_indexes t, const char *name)
{
    switch (t) {
    case WSI_TOKEN_GET_URI:
    case WSI_TOKEN_POST_URI:
    case WSI_TOKEN_OPTIONS_URI:
    case WSI_TOKEN_PUT_URI:
    case WSI_TOKEN_PATCH_URI:
    case WSI_TOKEN_DELETE_URI:
    case WSI_TOKEN_HEAD_URI:
    case WSI_TOKEN_HTTP_URI_ARGS: return false;
    default: break;
    }
    size_t len = name ? strlen(name) : 0;
    return len > 1 && name[0] != ':' && name[len - 1] == ':';
}

static int add_query_arg(const char *arg, size_t len, void *ud)
{
    const char *eq = memchr(arg, '=', len);
    size_t klen = eq ? (size_t)(eq - arg) : len;
    char *key = util_strndup(arg, klen);
    json_t *v = eq ? json_stringn(eq + 1, len - klen - 1) : json_string("");
    if (v) /* not valid UTF-8 after decoding: left out */
        json_object_set_new(ud, key, v);
    util_free(key);
    return 0;
}

json_t *node_session_handshake_query(const node_session *c)
{
    if (!c->hs_wsi)
        return NULL;
    json_t *q = json_object();
    http_query_foreach(c->hs_wsi, add_query_arg, q);
    return q;
}

json_t *node_session_handshake_headers(const node_session *c)
{
    if (!c->hs_wsi)
        return NULL;
    json_t *h = json_object();
    char value[2048], key[64];
    for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
        const char *name = (const char *)lws_token_to_string((enum lws_token_indexes)t);
        if (!header_token_wanted((enum lws_token_indexes)t, name))
            continue;
        if (lws_hdr_total_length(c->hs_wsi, (enum lws_token_indexes)t) <= 0)
            continue;
        if (lws_hdr_copy(c->hs_wsi, value, sizeof value, (enum lws_token_indexes)t) < 0)
            continue;
        size_t kl = strlen(name) - 1;
        if (kl >= sizeof key)
            continue;
        for (size_t i = 0; i < kl; i++)
            key[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
        key[kl] = '\0';
        json_object_set_new(h, key, json_string(value));
    }
    return h;
}

void node_session_close(node_session *c, const char *reason)
{
    eio_session_close(c->eio, reason);
}

const char *node_session_sid(const node_session *c)
{
    return eio_session_sid(c->eio);
}

const char *node_session_transport(const node_session *c)
{
    return eio_session_transport(c->eio) == EIO_TR_POLLING ? "polling" : "websocket";
}

const char *node_session_remote(const node_session *c)
{
    return c->remote;
}

const char *node_session_query(const node_session *c)
{
    return c->query;
}

node *node_session_node(const node_session *c)
{
    return c->node;
}

void *node_session_data(const node_session *c)
{
    return c->data;
}

void node_session_set_data(node_session *c, void *data)
{
    c->data = data;
}
