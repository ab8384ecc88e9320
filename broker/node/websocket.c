/* websocket: the Engine.IO WebSocket transport: handshake filtering, upgrade probe, message
 * reassembly, and the coalesced write path (every queued frame in one write, WRITEABLE only when
 * the socket is choked). */
#include "node_internal.h"

#include "eio_packet.h"
#include "util_alloc.h"
#include "util_log.h"

#include <string.h>

/* Writes the RFC 6455 server frame header (FIN, opcode, unmasked length) for m into its headroom
 * once; all sessions share it. */
static void frame_header(eio_msg *m)
{
    if (m->frame_hdr_len)
        return;
    uint8_t h[10];
    size_t n = 0;
    h[n++] = (uint8_t)(0x80 | (m->binary ? 0x2 : 0x1));
    if (m->len < 126) {
        h[n++] = (uint8_t)m->len;
    } else if (m->len <= 0xffff) {
        h[n++] = 126;
        h[n++] = (uint8_t)(m->len >> 8);
        h[n++] = (uint8_t)m->len;
    } else {
        h[n++] = 127;
        uint64_t l = m->len;
        for (int i = 7; i >= 0; i--)
            h[n++] = (uint8_t)(l >> (8 * i));
    }
    memcpy(m->wire - n, h, n);
    m->frame_hdr_len = (uint8_t)n;
}

static void trace_out(node_session *c, const eio_msg *m)
{
    if (m->binary)
        util_log(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG, "sid=%s out ws binary %zu bytes",
                 eio_session_sid(c->eio), m->len);
    else
        util_log(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG, "sid=%s out ws \"%.*s\"%s",
                 eio_session_sid(c->eio), (int)(m->len > 200 ? 200 : m->len), (const char *)m->wire,
                 m->len > 200 ? "..." : "");
}

void ws_flush(node_session *c)
{
    struct lws *wsi = c->ws_wsi;
    if (!wsi || !eio_session_queued(c->eio))
        return;
    /* Only lws's own partial buffer means "wait": lws_send_pipe_choked() would poll() the socket
     * before every flush (one syscall per socket per iteration); a write that meets a full socket
     * is kept by lws, which asks for POLLOUT itself. */
    if (lws_partial_buffered(wsi)) {
        lws_callback_on_writable(wsi);
        return;
    }
    util_buf *b = &c->node->wbuf;
    b->len = LWS_PRE;
    bool debug = util_log_enabled(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG);
    eio_msg *m;
    while (b->len - LWS_PRE < WS_FLUSH_BUDGET && (m = eio_session_pop(c->eio))) {
        frame_header(m);
        util_buf_append(b, m->wire - m->frame_hdr_len, m->frame_hdr_len + m->len);
        if (debug)
            trace_out(c, m);
        eio_msg_unref(m);
    }
    size_t len = b->len - LWS_PRE;
    if (lws_write(wsi, b->data + LWS_PRE, len, LWS_WRITE_RAW) < (int)len) {
        UTIL_LOGW(UTIL_SUB_ENGINEIO, "sid=%s WebSocket write failed", eio_session_sid(c->eio));
        eio_session_close(c->eio, EIO_REASON_TRANSPORT_ERROR);
        return;
    }
    if (eio_session_queued(c->eio))
        lws_callback_on_writable(wsi);
    else
        eio_session_flushed(c->eio); /* completes a graceful close */
}

void ws_request_close(struct lws *wsi)
{
    pss *p = lws_wsi_user(wsi);
    if (p)
        p->ws_closing = true;
    lws_callback_on_writable(wsi);
}

int ws_filter(node *n, struct lws *wsi, pss *p)
{
    if (!p)
        return -1;
    /* The connection may have carried HTTP requests before its upgrade. */
    util_buf_free(&p->body);
    pss_strings_free(p);
    memset(p, 0, sizeof *p);
    char path[512];
    if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0)
        return -1;
    endpoint *ep = http_find_endpoint(n, path);
    if (!ep) {
        UTIL_LOGD(UTIL_SUB_HTTP, "WebSocket to unknown path %s refused", path);
        return -1;
    }
    char b_eio[16], b_tr[32], b_sid[96];
    eio_request r = {.method = "GET", .websocket = true};
    r.eio = http_urlarg(wsi, "EIO=", b_eio, sizeof b_eio);
    r.transport = http_urlarg(wsi, "transport=", b_tr, sizeof b_tr);
    r.sid = http_urlarg(wsi, "sid=", b_sid, sizeof b_sid);
    eio_error err = eio_request_check(&r);
    if (err != EIO_ERR_NONE) {
        UTIL_LOGD(UTIL_SUB_HTTP, "WebSocket refused: %s", eio_error_message(err));
        return -1;
    }
    p->ep = ep;
    bool forwarded = forward_is_forwarded(wsi);
    if (forwarded && !forward_auth_ok(n, wsi, "GET", ep->path))
        return -1;
    if (!r.sid) {
        p->new_ws = true;
        return 0;
    }
    node_session *c = conn_find(n, r.sid);
    if (!c && n->route && !forwarded) {
        relay_accept(n, wsi, p, r.sid);
        return 0;
    }
    if (!c || c->ep != ep || eio_session_state(c->eio) != EIO_ST_OPEN ||
        eio_session_transport(c->eio) != EIO_TR_POLLING) {
        UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s WebSocket refused: no polling session to upgrade",
                  r.sid);
        return -1;
    }
    p->sid = util_strdup(r.sid);
    return 0;
}

int ws_established(node *n, struct lws *wsi, pss *p)
{
    if (p->kind == PSS_RELAY)
        return relay_established(n, wsi, p);
    if (p->new_ws) {
        node_session *c = conn_new(n, p->ep, EIO_TR_WEBSOCKET, wsi);
        conn_attach(c, &c->ws_wsi, wsi);
        p->kind = PSS_WS;
        p->conn = c;
        conn_mark_dirty(c);
        return 0;
    }
    node_session *c = p->sid ? conn_find(n, p->sid) : NULL;
    if (!c || eio_session_upgrade_begin(c->eio, uv_now(n->loop)) != 0)
        return -1;
    conn_attach(c, &c->probe_wsi, wsi);
    p->kind = PSS_PROBE;
    p->conn = c;
    UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s upgrade probe attached", p->sid);
    util_free(p->sid); /* the session is linked: the sid is no longer needed */
    p->sid = NULL;
    return 0;
}

static int probe_reply(struct lws *wsi)
{
    unsigned char buf[LWS_PRE + 8];
    memcpy(buf + LWS_PRE, "3probe", 6);
    return lws_write(wsi, buf + LWS_PRE, 6, LWS_WRITE_TEXT) < 6 ? -1 : 0;
}

static int handle_packet(node *n, struct lws *wsi, pss *p, const uint8_t *data, size_t len,
                         bool binary)
{
    node_session *c = p->conn;
    eio_packet pkt;
    if (eio_decode_ws(data, len, binary, &pkt) != 0) {
        UTIL_LOGW(UTIL_SUB_ENGINEIO, "sid=%s invalid WebSocket packet",
                  c ? eio_session_sid(c->eio) : "-");
        if (c && p->kind == PSS_WS)
            eio_session_close(c->eio, EIO_REASON_PARSE_ERROR);
        return -1;
    }
    if (!c)
        return -1;
    uint64_t now = uv_now(n->loop);
    if (p->kind == PSS_WS) {
        if (util_log_enabled(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG) && pkt.type != EIO_MESSAGE)
            util_log(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG, "sid=%s in ws packet %d",
                     eio_session_sid(c->eio), (int)pkt.type);
        eio_session_on_packet(c->eio, &pkt, now);
        conn_rearm(c);
        return 0;
    }
    /* The probe WebSocket of an upgrade. */
    switch (eio_session_upgrade_packet(c->eio, &pkt, now)) {
    case EIO_UPG_PROBE:
        UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s probe answered", eio_session_sid(c->eio));
        return probe_reply(wsi);
    case EIO_UPG_DONE:
        UTIL_LOGI(UTIL_SUB_ENGINEIO, "sid=%s upgraded to websocket", eio_session_sid(c->eio));
        c->probe_wsi = NULL;
        c->ws_wsi = wsi;
        p->kind = PSS_WS;
        if (eio_session_queued(c->eio))
            conn_mark_dirty(c);
        return 0;
    case EIO_UPG_IGNORE: return 0;
    case EIO_UPG_FAIL:
    default:
        UTIL_LOGW(UTIL_SUB_ENGINEIO, "sid=%s invalid packet during upgrade: probe closed",
                  eio_session_sid(c->eio));
        return -1;
    }
}

int ws_receive(node *n, struct lws *wsi, pss *p, const void *in, size_t len)
{
    if (p->kind == PSS_RELAY)
        return relay_receive(n, wsi, p, in, len);
    if (p->kind != PSS_WS && p->kind != PSS_PROBE)
        return -1;
    bool first = lws_is_first_fragment(wsi);
    bool last = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    bool binary = lws_frame_is_binary(wsi);
    if (first && last)
        return handle_packet(n, wsi, p, in, len, binary);
    if (first)
        util_buf_reset(&p->rx);
    if (p->rx.len + len > n->cfg.eio.max_payload) {
        UTIL_LOGW(UTIL_SUB_ENGINEIO, "sid=%s WebSocket message over maxPayload",
                  p->conn ? eio_session_sid(p->conn->eio) : "-");
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        if (p->conn && p->kind == PSS_WS)
            eio_session_close(p->conn->eio, EIO_REASON_TRANSPORT_ERROR);
        return -1;
    }
    util_buf_append(&p->rx, in, len);
    if (!last)
        return 0;
    int rc = handle_packet(n, wsi, p, p->rx.data, p->rx.len, binary);
    util_buf_free(&p->rx);
    return rc;
}

int ws_writeable(node *n, struct lws *wsi, pss *p)
{
    if (p->ws_closing) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    if (p->kind == PSS_RELAY)
        return relay_writeable(n, wsi, p);
    if (p->kind == PSS_WS && p->conn && p->conn->ws_wsi == wsi)
        ws_flush(p->conn);
    return 0;
}

void ws_closed(node *n, struct lws *wsi, pss *p)
{
    (void)wsi;
    if (p && p->kind == PSS_RELAY) {
        relay_closed(n, p);
        return;
    }
    if (!p || !p->conn)
        return;
    node_session *c = p->conn;
    p->conn = NULL;
    if (p->kind == PSS_PROBE) {
        eio_session_upgrade_abort(c->eio);
        conn_detach(c, &c->probe_wsi);
        return;
    }
    if (p->kind == PSS_WS) {
        c->ws_wsi = NULL;
        c->wsi_refs--;
        eio_session_close(c->eio, EIO_REASON_TRANSPORT_CLOSE);
        conn_maybe_free(c);
    }
    util_buf_free(&p->rx);
}
