/* session: the node side of an Engine.IO session: sid table, heartbeat timer, attached transports,
 * the dirty list flushed once per loop turn (WebSocket frames and polling answers alike), and
 * deferred freeing. */
#include "node_internal.h"

#include "util_alloc.h"
#include "util_log.h"

#include <string.h>
#include <sys/ioctl.h>

void session_maybe_free(node_session *c)
{
    if (eio_session_state(c->eio) != EIO_ST_CLOSED || c->refs > 0 || !c->timer_closed || c->dirty)
        return;
    node *n = c->n;
    UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s freed", eio_session_sid(c->eio));
    eio_session_free(c->eio);
    util_free(c->remote);
    util_free(c->query);
    util_free(c);
    n->n_sessions_alive--;
}

static void on_timer_closed(uv_handle_t *h)
{
    node_session *c = container_of((uv_timer_t *)h, node_session, timer);
    c->timer_closed = true;
    session_maybe_free(c);
}

static void on_timer(uv_timer_t *t)
{
    node_session *c = container_of(t, node_session, timer);
    c->armed_at = UINT64_MAX;
    eio_session_tick(c->eio, uv_now(c->n->loop));
    session_rearm(c);
}

void session_rearm(node_session *c)
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
    uint64_t now = uv_now(c->n->loop);
    uv_timer_start(&c->timer, on_timer, next > now ? next - now : 0, 0);
    c->armed_at = next;
}

static void on_eio_message(eio_session *s, const uint8_t *data, size_t len, bool binary, void *ud)
{
    node_session *c = ud;
    c->n->stats.messages_in++;
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
    if (c->get && eio_session_poll_ready(s))
        session_mark_dirty(c);
    if (c->ws && eio_session_transport(s) == EIO_TR_WEBSOCKET && eio_session_queued(s))
        session_mark_dirty(c);
}

static void on_eio_upgrade_timeout(eio_session *s, void *ud)
{
    node_session *c = ud;
    UTIL_LOGW_RL(UTIL_SUB_ENGINEIO, "sid=%s upgrade not completed in time: probe closed",
                 eio_session_sid(s));
    if (c->probe)
        ws_close(c->probe, WS_CLOSE_NORMAL);
}

static void on_eio_close(eio_session *s, const char *reason, void *ud)
{
    node_session *c = ud;
    node *n = c->n;
    UTIL_LOGI(UTIL_SUB_ENGINEIO, "sid=%s closed: %s", eio_session_sid(s), reason);
    n->stats.closed[node_close_reason_of(reason)]++;
    if (c->in_table) {
        HASH_DEL(n->sessions, c);
        c->in_table = false;
        if (n->obs_close)
            n->obs_close(n->obs_ud, eio_session_sid(s));
    }
    if (c->ep->ops.on_close)
        c->ep->ops.on_close(c, reason, c->ep->ud);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    if (c->ws)
        ws_close(c->ws, WS_CLOSE_NORMAL);
    if (c->probe)
        ws_close(c->probe, WS_CLOSE_NORMAL);
}

node_session *session_new(node *n, endpoint *ep, eio_transport_kind t, node_req *r)
{
    node_session *c = util_calloc(1, sizeof *c);
    c->n = n;
    c->ep = ep;
    c->armed_at = UINT64_MAX;
    static const eio_session_cbs cbs = {on_eio_message, on_eio_close, on_eio_writable,
                                        on_eio_upgrade_timeout};
    c->eio = eio_session_new(&n->cfg.eio, t, uv_now(n->loop), &cbs, c);
    uv_timer_init(n->loop, &c->timer);
    n->n_sessions_alive++;
    n->stats.sessions_opened[t == EIO_TR_WEBSOCKET]++;

    /* Behind a peer that forwarded the request, the client is the address it names. */
    const char *xff = r->from_peer ? node_req_header(r, "x-forwarded-for") : NULL;
    c->remote = util_strdup(xff && *xff ? xff : node_req_remote(r));
    c->query = util_strdup(r->head.query ? r->head.query : "");

    const char *sid = eio_session_sid(c->eio);
    HASH_ADD_KEYPTR(hh, n->sessions, sid, strlen(sid), c);
    c->in_table = true;
    if (n->obs_open)
        n->obs_open(n->obs_ud, sid);
    UTIL_LOGI(UTIL_SUB_ENGINEIO, "sid=%s open transport=%s remote=%s", sid,
              t == EIO_TR_POLLING ? "polling" : "websocket", c->remote);
    if (ep->ops.on_open) {
        c->hs = r;
        ep->ops.on_open(c, ep->ud);
        c->hs = NULL;
    }
    session_rearm(c);
    return c;
}

node_session *node_find_session(node *n, const char *sid)
{
    node_session *c = NULL;
    HASH_FIND_STR(n->sessions, sid, c);
    return c;
}

void node_each_session(node *n, void (*fn)(node_session *c, void *ud), void *ud)
{
    node_session *c, *tmp;
    HASH_ITER(hh, n->sessions, c, tmp)
    {
        fn(c, ud);
    }
}

const eio_session *node_session_eio(const node_session *c)
{
    return c->eio;
}

/* Sessions are flushed in the order they got output: a publisher's acks, queued while its events
 * are handled, leave before the fan-out of those events, so its next burst overlaps the flush. */
void session_mark_dirty(node_session *c)
{
    if (c->dirty)
        return;
    node *n = c->n;
    c->dirty = true;
    c->dirty_next = NULL;
    if (n->dirty) {
        n->dirty_tail->dirty_next = c;
    } else {
        node_wake(n); /* output queued from a timer or Redis leaves this turn, not after I/O */
        n->dirty = c;
    }
    n->dirty_tail = c;
}

void session_flush_dirty(node *n)
{
    while (n->dirty) {
        node_session *list = n->dirty;
        n->dirty = n->dirty_tail = NULL;
        while (list) {
            node_session *c = list;
            list = c->dirty_next;
            c->dirty = false;
            c->dirty_next = NULL;
            if (c->get)
                polling_answer(c); /* also the "6" a held GET gets when an upgrade completes */
            if (eio_session_state(c->eio) != EIO_ST_CLOSED && c->ws)
                ws_flush(c);
            session_maybe_free(c);
        }
    }
}

void node_session_note_fanout(node_session *c, uint64_t n_sessions)
{
    node *n = c->n;
    uv_os_fd_t fd;
    if (n_sessions < BURST_MIN_FANOUT || !c->ws ||
        uv_fileno((const uv_handle_t *)&c->ws->tcp, &fd) != 0)
        return;
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

bool session_burst_wait(node *n)
{
    if (n->n_burst && burst_input_pending(n)) {
        uint64_t now = uv_hrtime();
        if (n->burst_turns == 0)
            n->burst_since = now;
        if (n->burst_turns < BURST_MAX_TURNS && now - n->burst_since < BURST_MAX_WAIT_NS) {
            n->burst_turns++;
            /* Output may all sit in batches not yet queued: make sure the next poll does not
             * block (it returns at once anyway, the source being readable). */
            node_wake(n);
            return true;
        }
    }
    n->n_burst = 0;
    n->burst_turns = 0;
    return false;
}

void session_close_all(node *n, const char *reason, bool now)
{
    node_session *c, *tmp;
    HASH_ITER(hh, n->sessions, c, tmp)
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
    c->n->stats.messages_out++;
    return eio_session_send(c->eio, m);
}

int node_session_send_many(node_session *c, eio_msg *const *m, size_t n)
{
    c->n->stats.messages_out += n;
    return eio_session_send_many(c->eio, m, n);
}

int node_session_send_message(node_session *c, const void *data, size_t len, bool binary)
{
    c->n->stats.messages_out++;
    return eio_session_send_message(c->eio, data, len, binary);
}

bool node_session_writable(const node_session *c)
{
    if (eio_session_transport(c->eio) == EIO_TR_POLLING)
        return c->get != NULL;
    return c->ws && !link_pending(c->ws);
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
    if (!c->hs)
        return NULL;
    json_t *q = json_object();
    node_req_query_foreach(c->hs, add_query_arg, q);
    return q;
}

static int add_header(const char *name, const char *value, void *ud)
{
    json_t *h = ud;
    json_t *v = json_string(value);
    if (!v)
        return 0; /* not UTF-8: left out */
    json_t *prev = json_object_get(h, name);
    if (prev) {
        /* Repeated header: one value joined with ", ", as Node's IncomingMessage.headers. */
        util_buf b = UTIL_BUF_INIT;
        util_buf_printf(&b, "%s, %s", json_string_value(prev), value);
        json_decref(v);
        v = json_string(util_buf_cstr(&b));
        util_buf_free(&b);
        if (!v)
            return 0;
    }
    json_object_set_new(h, name, v);
    return 0;
}

json_t *node_session_handshake_headers(const node_session *c)
{
    if (!c->hs)
        return NULL;
    json_t *h = json_object();
    node_req_header_foreach(c->hs, add_header, h);
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
    return c->n;
}

void *node_session_data(const node_session *c)
{
    return c->data;
}

void node_session_set_data(node_session *c, void *data)
{
    c->data = data;
}
