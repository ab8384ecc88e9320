/* websocket: WebSockets on a link: the 101 answer, frames in (ws_frame's decoder: control frames
 * answered here, messages handed to Engine.IO or to a router), the close handshake, and the
 * coalesced write of a session's queue (every queued frame in one write). */
#include "node_internal.h"

#include "eio_packet.h"
#include "util_alloc.h"
#include "util_base64.h"
#include "util_log.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int ws_accept(node_req *r)
{
    node_link *l = r->l;
    const char *key = node_req_header(r, "sec-websocket-key");
    char concat[64 + sizeof WS_GUID];
    int cl = snprintf(concat, sizeof concat, "%s%s", key, WS_GUID); /* the key is 24 chars */
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    EVP_Digest(concat, (size_t)cl, digest, &dl, EVP_sha1(), NULL);
    util_buf accept = UTIL_BUF_INIT;
    util_base64_encode(&accept, digest, dl);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     util_buf_cstr(&accept));
    util_buf_free(&accept);
    l->req = NULL;
    http_req_free(r);
    /* From here on the link speaks WebSocket: the parser's memory holds the frame decoder. */
    l->kind = LINK_WS;
    ws_decoder_init(&l->u.ws, true, l->n->cfg.eio.max_payload);
    l->paused = false;
    link_set_deadline(l, 0);
    if (link_write(l, head, (size_t)n) < 0)
        return -1;
    if (l->in.len)
        link_resume(l); /* frames that came with the request */
    return 0;
}

void ws_close(node_link *l, uint16_t code)
{
    if (l->closing || l->close_sent)
        return;
    l->close_sent = true;
    uint8_t frame[4] = {0x80 | WS_OP_CLOSE, 2, (uint8_t)(code >> 8), (uint8_t)code};
    link_write(l, frame, code == WS_CLOSE_NO_STATUS ? 2 : 4);
    link_close_after_write(l);
}

/* A control frame arrived. Returns false when the link is closing. */
static bool control(node_link *l, const ws_event *ev)
{
    switch (ev->opcode) {
    case WS_OP_PING: {
        if (l->close_sent)
            return true;
        uint8_t h[WS_MAX_HEADER];
        size_t hl = ws_frame_header(h, WS_OP_PONG, ev->len);
        util_buf *b = &l->n->wbuf;
        b->len = 0;
        util_buf_append(b, h, hl);
        util_buf_append(b, ev->data, ev->len);
        link_write(l, b->data, b->len);
        return true;
    }
    case WS_OP_PONG: return true;
    case WS_OP_CLOSE:
    default:
        UTIL_LOGD(UTIL_SUB_HTTP, "WebSocket close frame from the peer (%u)", ev->close_code);
        /* The close handshake: answer with the same code (none for none), then close. */
        ws_close(l, ev->close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : ev->close_code);
        return false;
    }
}

size_t ws_feed(node_link *l, uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len && !l->closing && !l->close_sent) {
        size_t used;
        ws_event ev;
        ws_result res = ws_decode(&l->u.ws, data + off, len - off, &used, &ev);
        if (res == WS_NEED_MORE)
            break;
        off += used;
        switch (res) {
        case WS_ERROR:
            UTIL_LOGW_RL(UTIL_SUB_HTTP, "WebSocket closed (%u): %s", ev.close_code, ev.reason);
            /* Our close frame carries the protocol error; the session's own close follows. */
            ws_close(l, ev.close_code);
            if (l->sess && !l->probe && l->sess->ws == l)
                eio_session_close(l->sess->eio, EIO_REASON_TRANSPORT_ERROR);
            return len; /* nothing after a protocol error is read */
        case WS_CONTROL:
            if (!control(l, &ev))
                return len;
            break;
        case WS_MESSAGE:
            if (l->ws_ops.on_message) {
                l->ws_ops.on_message(l->ws_ud, ev.data, ev.len, ev.opcode == WS_OP_BINARY);
            } else if (eio_ws_message(l, ev.data, ev.len, ev.opcode == WS_OP_BINARY) < 0) {
                ws_close(l, WS_CLOSE_PROTOCOL);
                return len;
            }
            break;
        default: break;
        }
    }
    return off;
}

void ws_drained(node_link *l)
{
    if (l->ws_ops.on_drain) {
        l->ws_ops.on_drain(l->ws_ud);
        return;
    }
    node_session *c = l->sess;
    if (!c || c->ws != l)
        return;
    eio_session_hold(c->eio, EIO_HOLD_TX, link_held(l));
    if (eio_session_queued(c->eio))
        session_mark_dirty(c);
}

void ws_link_gone(node_link *l)
{
    if (l->ws_ops.on_close) {
        node_ws_ops ops = l->ws_ops;
        l->ws_ops = (node_ws_ops){0};
        ops.on_close(l->ws_ud);
        return;
    }
    eio_ws_gone(l);
}

/* ---- the coalesced write of a session's queue ------------------------------------------------ */

/* Writes the RFC 6455 server frame header for m into its headroom once; all sessions share it. */
static void frame_header(eio_msg *m)
{
    if (m->frame_hdr_len)
        return;
    uint8_t h[WS_MAX_HEADER];
    size_t n = ws_frame_header(h, m->binary ? WS_OP_BINARY : WS_OP_TEXT, m->len);
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
    node_link *l = c->ws;
    if (!l || l->closing || l->close_sent || !eio_session_queued(c->eio))
        return;
    /* While the kernel has not taken the last write, the queue stays in the session (where it is
     * bounded); the drain of the link flushes again. */
    if (link_pending(l))
        return;
    util_buf *b = &c->n->wbuf;
    b->len = 0;
    bool debug = util_log_enabled(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG);
    eio_msg *m;
    while (b->len < WS_FLUSH_BUDGET && (m = eio_session_pop(c->eio))) {
        frame_header(m);
        util_buf_append(b, m->wire - m->frame_hdr_len, m->frame_hdr_len + m->len);
        if (debug)
            trace_out(c, m);
        eio_msg_unref(m);
    }
    if (link_write(l, b->data, b->len) < 0) {
        UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s WebSocket write failed", eio_session_sid(c->eio));
        eio_session_close(c->eio, EIO_REASON_TRANSPORT_ERROR);
        return;
    }
    if (link_pending(l))
        eio_session_hold(c->eio, EIO_HOLD_TX, link_held(l)); /* the kernel's refusal, kept */
    if (eio_session_queued(c->eio)) {
        if (!link_pending(l))
            session_mark_dirty(c); /* over the budget: the rest goes next turn */
    } else {
        eio_session_flushed(c->eio); /* completes a graceful close */
    }
}

/* ---- WebSockets owned by a router (node_http.h) ------------------------------------------------ */

node_ws *node_req_upgrade(node_req *r, const node_ws_ops *ops, void *ud)
{
    node_link *l = r->l;
    if (!l || l->closing) {
        http_req_free(r);
        return NULL;
    }
    r->ops = (node_req_ops){0}; /* the request's abort hook is replaced by the WebSocket's */
    l->ws_ops = *ops;
    l->ws_ud = ud;
    if (ws_accept(r) < 0)
        return NULL;
    return (node_ws *)l;
}

int node_ws_send(node_ws *ws, const void *data, size_t len, bool binary)
{
    node_link *l = (node_link *)ws;
    if (l->closing || l->close_sent)
        return -1;
    uint8_t h[WS_MAX_HEADER];
    size_t hl = ws_frame_header(h, binary ? WS_OP_BINARY : WS_OP_TEXT, len);
    util_buf *b = &l->n->wbuf;
    b->len = 0;
    util_buf_reserve(b, hl + len);
    util_buf_append(b, h, hl);
    util_buf_append(b, data, len);
    return link_write(l, b->data, b->len);
}

size_t node_ws_pending(const node_ws *ws)
{
    return link_pending((const node_link *)ws);
}

void node_ws_pause(node_ws *ws, bool paused)
{
    link_read((node_link *)ws, !paused);
}

void node_ws_close(node_ws *ws, uint16_t code)
{
    ws_close((node_link *)ws, code);
}
