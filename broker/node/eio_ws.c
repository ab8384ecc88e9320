/* eio_ws: the Engine.IO WebSocket transport: a new session on a WebSocket, the upgrade of a
 * polling session (probe, "3probe", upgrade, noop), and packets in. */
#include "node_internal.h"

#include "eio_packet.h"
#include "util_log.h"

#include <string.h>

void eio_ws_upgrade(node_req *r, const char *sid)
{
    node *n = r->n;
    node_link *l = r->l;
    if (!sid) {
        if (eio_budget_over(n->cfg.eio.budget)) {
            UTIL_LOGW_RL(UTIL_SUB_NODE, "new session refused: the node is over its memory budget");
            http_respond_hdrs(r, 503, "text/plain", "Retry-After: 1\r\n", "Over memory budget", 18,
                              true);
            return;
        }
        node_session *c = session_new(n, r->ep, EIO_TR_WEBSOCKET, r);
        l->sess = c;
        c->ws = l;
        c->refs++;
        if (ws_accept(r) == 0)
            session_mark_dirty(c); /* the open packet */
        return;
    }
    node_session *c = node_find_session(n, sid);
    if (!c || c->ep != r->ep || eio_session_state(c->eio) != EIO_ST_OPEN ||
        eio_session_transport(c->eio) != EIO_TR_POLLING ||
        eio_session_upgrade_begin(c->eio, uv_now(n->loop)) != 0) {
        UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s WebSocket refused: no polling session to upgrade",
                  sid);
        node_req_respond_error(r, c ? EIO_ERR_BAD_REQUEST : EIO_ERR_UNKNOWN_SID);
        return;
    }
    l->sess = c;
    l->probe = true;
    c->probe = l;
    c->refs++;
    UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s upgrade probe attached", sid);
    ws_accept(r);
}

static int send_text_frame(node_link *l, const char *text)
{
    size_t len = strlen(text);
    uint8_t frame[WS_MAX_HEADER + 16];
    size_t hl = ws_frame_header(frame, WS_OP_TEXT, len);
    memcpy(frame + hl, text, len);
    return link_write(l, frame, hl + len);
}

int eio_ws_message(node_link *l, const uint8_t *data, size_t len, bool binary)
{
    node_session *c = l->sess;
    node *n = l->n;
    eio_packet pkt;
    if (eio_decode_ws(data, len, binary, &pkt) != 0) {
        UTIL_LOGW_RL(UTIL_SUB_ENGINEIO, "sid=%s invalid WebSocket packet",
                     c ? eio_session_sid(c->eio) : "-");
        if (c && !l->probe)
            eio_session_close(c->eio, EIO_REASON_PARSE_ERROR);
        return -1;
    }
    if (!c)
        return -1;
    uint64_t now = uv_now(n->loop);
    if (!l->probe) {
        if (util_log_enabled(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG)) {
            if (pkt.type != EIO_MESSAGE)
                util_log(UTIL_SUB_ENGINEIO, UTIL_LOG_DEBUG, "sid=%s in ws packet %d",
                         eio_session_sid(c->eio), (int)pkt.type);
        }
        eio_session_on_packet(c->eio, &pkt, now);
        session_rearm(c);
        return 0;
    }
    switch (eio_session_upgrade_packet(c->eio, &pkt, now)) {
    case EIO_UPG_PROBE:
        UTIL_LOGD(UTIL_SUB_ENGINEIO, "sid=%s probe answered", eio_session_sid(c->eio));
        return send_text_frame(l, "3probe");
    case EIO_UPG_DONE:
        UTIL_LOGI(UTIL_SUB_ENGINEIO, "sid=%s upgraded to websocket", eio_session_sid(c->eio));
        c->probe = NULL;
        c->ws = l;
        l->probe = false;
        n->stats.upgrades++;
        if (n->obs_upgrade)
            n->obs_upgrade(n->obs_upgrade_ud, c);
        if (eio_session_queued(c->eio))
            session_mark_dirty(c);
        return 0;
    case EIO_UPG_IGNORE: return 0;
    case EIO_UPG_FAIL:
    default:
        UTIL_LOGW_RL(UTIL_SUB_ENGINEIO, "sid=%s invalid packet during upgrade: probe closed",
                     eio_session_sid(c->eio));
        return -1;
    }
}

void eio_ws_gone(node_link *l)
{
    node_session *c = l->sess;
    if (!c)
        return;
    l->sess = NULL;
    if (l->probe) {
        if (c->probe == l) {
            c->probe = NULL;
            eio_session_upgrade_abort(c->eio);
        }
    } else if (c->ws == l) {
        c->ws = NULL;
        eio_session_hold(c->eio, EIO_HOLD_TX, 0);
        eio_session_hold(c->eio, EIO_HOLD_RX, 0);
        eio_session_close(c->eio, EIO_REASON_TRANSPORT_CLOSE);
    }
    c->refs--;
    session_maybe_free(c);
}
