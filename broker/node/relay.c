/* relay: a WebSocket for a session held by another node (the upgrade of a polling session whose
 * requests reach this node) is relayed message by message, text and binary kept, over a signed
 * node-to-node WebSocket to the owner, which treats it as that session's WebSocket. Closing
 * either end closes the other. */
#include "node_internal.h"

#include "util_alloc.h"
#include "util_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** Bytes a relay may hold for a slow receiver before it gives up (both ends are closed). */
#define RELAY_MAX_QUEUED (16u * 1024 * 1024)

/** One whole message waiting to be written (LWS_PRE headroom before data). */
typedef struct relay_msg {
    struct relay_msg *next;
    bool binary;
    size_t len;
    uint8_t buf[]; /**< LWS_PRE + len bytes */
} relay_msg;

typedef struct msgq {
    relay_msg *head, *tail;
    size_t bytes;
} msgq;

struct relay {
    node *n;
    struct lws *down; /**< the client's WebSocket (server side); NULL once closed */
    struct lws *up;   /**< our WebSocket to the owner (client side); NULL until made / closed */
    char *sid;        /**< owned */
    char *path;       /**< owned: the endpoint path */
    util_buf canon;   /**< decoded query joined by '&' (signed) */
    util_buf target;  /**< path?encoded-query */
    char *address;    /**< owned: the owner's host:port */
    msgq to_up, to_down;
    util_buf rx_down, rx_up; /**< messages being reassembled */
    bool looking_up;         /**< a route lookup is pending */
    bool up_open;            /**< the owner accepted the WebSocket */
    bool up_closing;         /**< close the owner side at its next WRITEABLE */
    relay *next, *prev;      /**< n->relays */
};

/* ---- queues ---------------------------------------------------------------------------------- */

static void q_push(msgq *q, const void *data, size_t len, bool binary)
{
    relay_msg *m = util_malloc(sizeof *m + LWS_PRE + len);
    m->next = NULL;
    m->binary = binary;
    m->len = len;
    if (len)
        memcpy(m->buf + LWS_PRE, data, len);
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->bytes += len;
}

static relay_msg *q_pop(msgq *q)
{
    relay_msg *m = q->head;
    if (!m)
        return NULL;
    q->head = m->next;
    if (!q->head)
        q->tail = NULL;
    q->bytes -= m->len;
    return m;
}

static void q_clear(msgq *q)
{
    relay_msg *m;
    while ((m = q_pop(q)))
        util_free(m);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void relay_free(relay *r)
{
    node *n = r->n;
    if (r->prev)
        r->prev->next = r->next;
    else if (n->relays == r)
        n->relays = r->next;
    if (r->next)
        r->next->prev = r->prev;
    q_clear(&r->to_up);
    q_clear(&r->to_down);
    util_buf_free(&r->rx_down);
    util_buf_free(&r->rx_up);
    util_buf_free(&r->canon);
    util_buf_free(&r->target);
    util_free(r->sid);
    util_free(r->path);
    util_free(r->address);
    util_free(r);
}

static void relay_maybe_free(relay *r)
{
    if (!r->down && !r->up && !r->looking_up)
        relay_free(r);
}

/* Closes the client side (at its next WRITEABLE, with a close frame). */
static void close_down(relay *r)
{
    if (r->down)
        ws_request_close(r->down);
}

/* Closes the owner side (at its next WRITEABLE, with a close frame). */
static void close_up(relay *r)
{
    r->up_closing = true;
    if (r->up)
        lws_callback_on_writable(r->up);
}

/* Writes one queued message on wsi. Returns -1 when the write failed. */
static int write_one(struct lws *wsi, msgq *q)
{
    relay_msg *m = q_pop(q);
    if (!m)
        return 0;
    int w = lws_write(wsi, m->buf + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    size_t len = m->len;
    util_free(m);
    if (w < (int)len)
        return -1;
    if (q->head)
        lws_callback_on_writable(wsi);
    return 0;
}

/* Reassembles a fragmented message; returns true when buf holds a complete one, false while more
 * fragments are due or (with *too_big set) when it exceeds maxPayload. */
static bool assemble(node *n, struct lws *wsi, util_buf *buf, const void *in, size_t len,
                     bool *too_big)
{
    if (lws_is_first_fragment(wsi))
        util_buf_reset(buf);
    if (buf->len + len > n->cfg.eio.max_payload) {
        *too_big = true;
        return false;
    }
    util_buf_append(buf, in, len);
    return lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
}

/* ---- the owner side (lws client) ------------------------------------------------------------- */

static void connect_up(relay *r)
{
    node *n = r->n;
    char host[256];
    snprintf(host, sizeof host, "%s", r->address);
    char *colon = strrchr(host, ':');
    int port = 80;
    if (colon) {
        *colon = '\0';
        port = atoi(colon + 1);
    }
    char *h = host;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = n->lws;
    ci.vhost = n->vhost;
    ci.address = h;
    ci.port = port;
    ci.path = util_buf_cstr(&r->target);
    ci.host = r->address;
    ci.origin = NULL;
    ci.protocol = NULL; /* no subprotocol: the owner binds its Engine.IO protocol */
    ci.local_protocol_name = "siobroker-relay";
    ci.opaque_user_data = r;
    ci.pwsi = &r->up;
    UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s WebSocket relayed to %s", r->sid, r->address);
    if (!lws_client_connect_via_info(&ci)) {
        UTIL_LOGW(UTIL_SUB_CLUSTER, "sid=%s cannot open a relay WebSocket to %s", r->sid,
                  r->address);
        r->up = NULL;
        close_down(r);
    }
}

static void on_route(void *ctx, const char *address, const char *node_id, bool failed)
{
    relay *r = ctx;
    r->looking_up = false;
    if (!r->down) {
        relay_maybe_free(r);
        return;
    }
    if (!address) {
        UTIL_LOGW(UTIL_SUB_CLUSTER, "sid=%s WebSocket refused: %s", r->sid,
                  failed ? "owner lookup failed" : "no live node owns the session");
        close_down(r);
        (void)node_id;
        return;
    }
    r->address = util_strdup(address);
    connect_up(r);
}

static int append_headers(relay *r, struct lws *wsi, unsigned char **p, unsigned char *end)
{
    util_buf h = UTIL_BUF_INIT;
    forward_sign_headers(r->n, "GET", r->path, util_buf_cstr(&r->canon), &h);
    /* forward_sign_headers writes "name: value\r\n" lines; lws wants them one by one. */
    int rc = 0;
    char *line = (char *)h.data, *stop = (char *)h.data + h.len;
    while (line && line < stop && rc == 0) {
        char *eol = memchr(line, '\r', (size_t)(stop - line));
        char *colon = memchr(line, ':', (size_t)(stop - line));
        if (!eol || !colon || colon > eol)
            break;
        char name[64];
        size_t nl = (size_t)(colon - line) + 1;
        if (nl >= sizeof name)
            break;
        memcpy(name, line, nl);
        name[nl] = '\0';
        const char *val = colon + 2;
        rc = lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                         (const unsigned char *)val, (int)(eol - val), p, end);
        line = eol + 2;
    }
    util_buf_free(&h);
    return rc;
}

int relay_client_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    relay *r = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (!r)
            return -1;
        return append_headers(r, wsi, (unsigned char **)in, *(unsigned char **)in + len) ? -1 : 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!r || !r->down)
            return -1;
        r->up_open = true;
        UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s relay to %s open", r->sid, r->address);
        if (r->to_up.head || r->up_closing)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        if (!r || !r->down)
            return -1;
        bool too_big = false;
        if (!assemble(r->n, wsi, &r->rx_up, in, len, &too_big)) {
            if (too_big) {
                UTIL_LOGW(UTIL_SUB_CLUSTER, "sid=%s owner sent a message over maxPayload", r->sid);
                close_down(r);
                return -1;
            }
            return 0;
        }
        q_push(&r->to_down, r->rx_up.data, r->rx_up.len, lws_frame_is_binary(wsi));
        util_buf_free(&r->rx_up);
        if (r->to_down.bytes > RELAY_MAX_QUEUED) {
            UTIL_LOGW(UTIL_SUB_CLUSTER, "sid=%s client too slow for its relay: closed", r->sid);
            close_down(r);
            return -1;
        }
        lws_callback_on_writable(r->down);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!r)
            return -1;
        if (r->up_closing && !r->to_up.head) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        return write_one(wsi, &r->to_up);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (r) {
            UTIL_LOGW(UTIL_SUB_CLUSTER, "sid=%s relay to %s failed: %s", r->sid,
                      r->address ? r->address : "?", in ? (const char *)in : "connection error");
            if (r->n->route_forget)
                r->n->route_forget(r->n->route_ud, r->sid);
            r->up = NULL;
            lws_set_opaque_user_data(wsi, NULL);
            close_down(r);
            relay_maybe_free(r);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        if (r && r->up == wsi) {
            UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s relay to %s closed", r->sid,
                      r->address ? r->address : "?");
            r->up = NULL;
            lws_set_opaque_user_data(wsi, NULL);
            close_down(r);
            relay_maybe_free(r);
        }
        return 0;
    default: return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* ---- the client side (our server WebSocket) -------------------------------------------------- */

void relay_accept(node *n, struct lws *wsi, pss *p, const char *sid)
{
    relay *r = util_calloc(1, sizeof *r);
    r->n = n;
    r->down = wsi;
    r->sid = util_strdup(sid);
    r->path = util_strdup(p->ep->path);
    util_buf enc = UTIL_BUF_INIT;
    forward_query(wsi, &r->canon, &enc);
    util_buf_printf(&r->target, "%s?", r->path);
    util_buf_append(&r->target, enc.data, enc.len);
    util_buf_free(&enc);
    r->next = n->relays;
    if (n->relays)
        n->relays->prev = r;
    n->relays = r;
    p->kind = PSS_RELAY;
    p->relay = r;
}

int relay_established(node *n, struct lws *wsi, pss *p)
{
    relay *r = p->relay;
    if (!r)
        return -1;
    r->down = wsi;
    r->looking_up = true;
    n->route(n->route_ud, r->sid, on_route, r);
    return 0;
}

int relay_receive(node *n, struct lws *wsi, pss *p, const void *in, size_t len)
{
    relay *r = p->relay;
    if (!r)
        return -1;
    bool too_big = false;
    if (!assemble(n, wsi, &r->rx_down, in, len, &too_big)) {
        if (too_big) {
            UTIL_LOGW(UTIL_SUB_CLUSTER, "sid=%s relayed message over maxPayload", r->sid);
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
            return -1;
        }
        return 0;
    }
    q_push(&r->to_up, r->rx_down.data, r->rx_down.len, lws_frame_is_binary(wsi));
    util_buf_free(&r->rx_down);
    if (r->to_up.bytes > RELAY_MAX_QUEUED) {
        UTIL_LOGW(UTIL_SUB_CLUSTER, "sid=%s owner too slow for its relay: closed", r->sid);
        return -1;
    }
    if (r->up && r->up_open)
        lws_callback_on_writable(r->up);
    return 0;
}

int relay_writeable(node *n, struct lws *wsi, pss *p)
{
    (void)n;
    relay *r = p->relay;
    if (!r)
        return -1;
    return write_one(wsi, &r->to_down);
}

void relay_closed(node *n, pss *p)
{
    (void)n;
    relay *r = p->relay;
    if (!r)
        return;
    p->relay = NULL;
    r->down = NULL;
    close_up(r);
    relay_maybe_free(r);
}

void relay_close_all(node *n)
{
    for (relay *r = n->relays; r; r = r->next) {
        close_down(r);
        close_up(r);
    }
}
