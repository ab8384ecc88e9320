/* cluster_relay: a WebSocket for a session held by another node (the upgrade of a polling session
 * whose requests reach this node) is relayed message by message, text and binary kept, over a
 * signed node-to-node WebSocket to the owner, which treats it as that session's WebSocket. The
 * client's upgrade is answered only once the owner has answered: 101 then, or the owner's refusal
 * as it is. Closing either end closes the other; each side's back-pressure pauses the other. */
#include "cluster_answer.h"
#include "cluster_internal.h"

#include "util_alloc.h"
#include "util_base64.h"
#include "util_log.h"
#include "util_rand.h"
#include "ws_frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** Bytes waiting for one side before the other side is no longer read. */
#define RELAY_HIGH_WATER (1024u * 1024)
/** Largest answer header block accepted from the owner. */
#define RELAY_MAX_HEAD (16u * 1024)

struct relay {
    cluster *cl;
    node_req *r;      /**< the client's upgrade until it is answered; NULL after */
    node_ws *down;    /**< the client's WebSocket once upgraded; NULL once closed */
    uv_tcp_t *up;     /**< the connection to the owner; NULL until made / once closing */
    uv_timer_t timer; /**< the owner's answer must come in time */
    bool timer_on;
    bool looking_up;  /**< a route lookup is pending */
    bool connected;   /**< the TCP connection to the owner is made */
    bool upgraded;    /**< the owner answered 101 */
    bool refusing;    /**< the owner answered something else: reading it whole */
    bool up_paused;   /**< the owner is not read (the client is slow) */
    bool down_paused; /**< the client is not read (the owner is slow) */
    bool up_close_sent;
    bool timer_closing;
    size_t up_pending; /**< bytes written to the owner not yet taken */
    int handles;       /**< libuv handles not closed yet (tcp, timer) */
    char *sid;         /**< owned */
    char *path;        /**< owned: the endpoint path */
    char *address;     /**< owned: the owner's host:port */
    char remote[64];
    util_buf canon;        /**< decoded query joined by '&' (signed) */
    util_buf target;       /**< path?encoded-query */
    util_buf in;           /**< bytes from the owner not parsed yet */
    ws_decoder dec;        /**< frames from the owner (a server's: unmasked) */
    cluster_answer answer; /**< the owner's refusal */
    relay *next, *prev;    /**< cl->relays */
    uint64_t started;      /**< uv_hrtime of the client's upgrade request */
    bool counted;          /**< its outcome is counted */
};

const relay *cluster_relay_next(const relay *rl)
{
    return rl->next;
}

/* Counts the relay's outcome once. */
static void relay_count(relay *rl, cluster_outcome out)
{
    if (rl->counted)
        return;
    rl->counted = true;
    cluster_count(rl->cl, CLUSTER_KIND_WS, out, rl->started);
}

typedef struct up_write {
    uv_write_t req;
    relay *rl;
    size_t len;
    uint8_t data[];
} up_write;

static void up_close(relay *rl);
static void down_close(relay *rl, uint16_t code);
static const node_ws_ops down_ops; /* the client side's callbacks, defined at the end */
static void on_handle_closed(uv_handle_t *h);

/* ---- lifecycle ------------------------------------------------------------------------------- */

/* Frees rl once nothing refers to it: neither side, no lookup, no handle. */
static void relay_maybe_free(relay *rl)
{
    if (rl->r || rl->down || rl->up || rl->looking_up)
        return;
    if (!rl->timer_closing) {
        rl->timer_closing = true;
        rl->timer_on = false;
        uv_timer_stop(&rl->timer);
        uv_close((uv_handle_t *)&rl->timer, on_handle_closed);
    }
    if (rl->handles)
        return;
    if (rl->upgraded)
        UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s relay to %s closed", rl->sid, rl->address);
    cluster *cl = rl->cl;
    if (rl->prev)
        rl->prev->next = rl->next;
    else if (cl->relays == rl)
        cl->relays = rl->next;
    if (rl->next)
        rl->next->prev = rl->prev;
    ws_decoder_free(&rl->dec);
    cluster_answer_free(&rl->answer);
    util_buf_free(&rl->in);
    util_buf_free(&rl->canon);
    util_buf_free(&rl->target);
    util_free(rl->sid);
    util_free(rl->path);
    util_free(rl->address);
    util_free(rl);
}

static void on_handle_closed(uv_handle_t *h)
{
    relay *rl = h->data;
    if (h != (uv_handle_t *)&rl->timer)
        util_free(h);
    rl->handles--;
    relay_maybe_free(rl);
}

static void stop_timer(relay *rl)
{
    if (rl->timer_on) {
        rl->timer_on = false;
        uv_timer_stop(&rl->timer);
    }
}

/* Answers the client's pending upgrade (when there still is one) with status and body. */
static void refuse_client(relay *rl, int status, eio_error err, const char *why)
{
    node_req *r = rl->r;
    rl->r = NULL;
    if (!r)
        return;
    relay_count(rl, status == 503 ? CLUSTER_OUT_GONE : cluster_outcome_of(status));
    if (err != EIO_ERR_NONE) {
        node_req_respond_error(r, err);
        return;
    }
    char body[160];
    int len = snprintf(body, sizeof body, "{\"code\":0,\"message\":\"%s\"}", why);
    node_req_respond(r, status, "application/json", body, (size_t)len, true);
}

/* ---- the owner side ---------------------------------------------------------------------------- */

static void on_up_write(uv_write_t *w, int status)
{
    up_write *uw = (up_write *)w; /* req is the first member */
    relay *rl = uw->rl;
    size_t len = uw->len;
    util_free(uw);
    if (status == UV_ECANCELED)
        return;
    rl->up_pending -= len;
    if (status < 0) {
        up_close(rl);
        down_close(rl, WS_CLOSE_GOING_AWAY);
        return;
    }
    if (rl->down_paused && rl->up_pending < RELAY_HIGH_WATER / 2 && rl->down) {
        rl->down_paused = false;
        node_ws_pause(rl->down, false);
    }
}

static int up_send(relay *rl, const void *data, size_t len)
{
    if (!rl->up || !rl->connected)
        return -1;
    up_write *uw = util_malloc(sizeof *uw + len);
    uw->rl = rl;
    uw->len = len;
    memcpy(uw->data, data, len);
    uv_buf_t b = uv_buf_init((char *)uw->data, (unsigned)len);
    if (uv_write(&uw->req, (uv_stream_t *)rl->up, &b, 1, on_up_write) < 0) {
        util_free(uw);
        return -1;
    }
    rl->up_pending += len;
    return 0;
}

/* Sends one frame to the owner, masked as a client's must be. */
static int up_frame(relay *rl, uint8_t opcode, const void *data, size_t len)
{
    uint32_t key;
    util_rand_bytes(&key, sizeof key);
    util_buf f = UTIL_BUF_INIT;
    ws_frame_append(&f, opcode, data, len, true, key);
    int rc = up_send(rl, f.data, f.len);
    util_buf_free(&f);
    return rc;
}

static void up_close(relay *rl)
{
    stop_timer(rl);
    if (!rl->up)
        return;
    uv_tcp_t *t = rl->up;
    rl->up = NULL;
    uv_close((uv_handle_t *)t, on_handle_closed);
}

/* Frames from the owner after its 101. */
static void up_frames(relay *rl)
{
    size_t off = 0;
    while (rl->in.len > off && rl->down) {
        size_t used;
        ws_event ev;
        ws_result res = ws_decode(&rl->dec, rl->in.data + off, rl->in.len - off, &used, &ev);
        if (res == WS_NEED_MORE)
            break;
        off += used;
        if (res == WS_ERROR) {
            UTIL_LOGW_RL(UTIL_SUB_CLUSTER, "sid=%s owner's relay frames refused: %s", rl->sid,
                         ev.reason);
            up_close(rl);
            down_close(rl, WS_CLOSE_GOING_AWAY);
            break;
        }
        if (res == WS_MESSAGE) {
            node_ws_send(rl->down, ev.data, ev.len, ev.opcode == WS_OP_BINARY);
            if (!rl->up_paused && node_ws_pending(rl->down) > RELAY_HIGH_WATER && rl->up) {
                rl->up_paused = true;
                uv_read_stop((uv_stream_t *)rl->up);
            }
        } else if (res == WS_CONTROL) {
            if (ev.opcode == WS_OP_PING)
                up_frame(rl, WS_OP_PONG, ev.data, ev.len);
            else if (ev.opcode == WS_OP_CLOSE) {
                up_close(rl);
                down_close(rl,
                           ev.close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : ev.close_code);
                break;
            }
        }
    }
    util_buf_consume(&rl->in, off < rl->in.len ? off : rl->in.len);
}

static void up_refusal(relay *rl);

/* The owner's answer head is in rl->in: 101 starts the relay; anything else goes to the client. */
static void up_head(relay *rl)
{
    const char *end = NULL;
    for (size_t i = 0; i + 3 < rl->in.len; i++)
        if (memcmp(rl->in.data + i, "\r\n\r\n", 4) == 0) {
            end = (const char *)rl->in.data + i + 4;
            break;
        }
    if (!end) {
        if (rl->in.len > RELAY_MAX_HEAD) {
            up_close(rl);
            refuse_client(rl, 502, EIO_ERR_NONE, "invalid answer from the owner");
        }
        return;
    }
    if (rl->in.len >= 12 && memcmp(rl->in.data, "HTTP/1.1 101", 12) == 0) {
        stop_timer(rl);
        rl->upgraded = true;
        util_buf_consume(&rl->in, (size_t)(end - (const char *)rl->in.data));
        node_req *r = rl->r;
        rl->r = NULL;
        relay_count(rl, r ? CLUSTER_OUT_OK : CLUSTER_OUT_GONE);
        rl->down = node_req_upgrade(r, &down_ops, rl);
        if (!rl->down) {
            up_close(rl);
            return;
        }
        UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s relay to %s open", rl->sid, rl->address);
        up_frames(rl);
        return;
    }
    /* A refusal (400 "Session ID unknown", 403, ...): the client gets it as the owner gave it. */
    rl->refusing = true;
    cluster_answer_init(&rl->answer);
    up_refusal(rl); /* the whole answer may be here already */
}

static void up_refusal(relay *rl)
{
    cluster_answer_status st = cluster_answer_feed(&rl->answer, rl->in.data, rl->in.len);
    util_buf_reset(&rl->in);
    if (st == CLUSTER_ANSWER_MORE)
        return;
    up_close(rl);
    if (st == CLUSTER_ANSWER_ERROR) {
        refuse_client(rl, 502, EIO_ERR_NONE, "invalid answer from the owner");
        return;
    }
    cluster_response resp;
    cluster_answer_response(&rl->answer, &resp);
    UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s relay refused by the owner: %d", rl->sid, resp.status);
    node_req *r = rl->r;
    rl->r = NULL;
    relay_count(rl, r ? CLUSTER_OUT_OK : CLUSTER_OUT_GONE);
    if (r)
        node_req_respond(r, resp.status, resp.content_type[0] ? resp.content_type : "text/plain",
                         resp.body, resp.body_len, true);
}

static void on_up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    relay *rl = h->data;
    util_buf_reserve(&rl->in, suggested);
    buf->base = (char *)rl->in.data + rl->in.len;
    buf->len = rl->in.cap - rl->in.len;
}

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    relay *rl = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s the owner %s closed the relay", rl->sid, rl->address);
        up_close(rl);
        if (rl->r)
            refuse_client(rl, 502, EIO_ERR_NONE, "the owner closed the connection");
        down_close(rl, WS_CLOSE_GOING_AWAY);
        return;
    }
    rl->in.len += (size_t)nread;
    if (rl->upgraded)
        up_frames(rl);
    else if (rl->refusing)
        up_refusal(rl);
    else
        up_head(rl);
}

static void on_up_connect(uv_connect_t *c, int status)
{
    relay *rl = c->data;
    util_free(c);
    if (status == UV_ECANCELED || !rl->up)
        return;
    if (status < 0) {
        UTIL_LOGW_RL(UTIL_SUB_CLUSTER, "sid=%s relay to %s failed: %s: session lost", rl->sid,
                     rl->address, uv_strerror(status));
        if (rl->cl->forget)
            rl->cl->forget(rl->cl->route_ud, rl->sid);
        up_close(rl);
        refuse_client(rl, 400, EIO_ERR_UNKNOWN_SID, NULL);
        return;
    }
    rl->connected = true;
    uint8_t key_raw[16];
    util_rand_bytes(key_raw, sizeof key_raw);
    util_buf key = UTIL_BUF_INIT;
    util_base64_encode(&key, key_raw, sizeof key_raw);
    util_buf req = UTIL_BUF_INIT;
    util_buf_printf(&req,
                    "GET %s HTTP/1.1\r\nhost: %s\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
                    "sec-websocket-key: %s\r\nsec-websocket-version: 13\r\n",
                    util_buf_cstr(&rl->target), rl->address, util_buf_cstr(&key));
    cluster_sign_headers(rl->cl, "GET", rl->path, util_buf_cstr(&rl->canon), &req);
    if (rl->remote[0])
        util_buf_printf(&req, "x-forwarded-for: %s\r\n", rl->remote);
    util_buf_puts(&req, "\r\n");
    util_buf_free(&key);
    rl->up->data = rl;
    if (up_send(rl, req.data, req.len) < 0 ||
        uv_read_start((uv_stream_t *)rl->up, on_up_alloc, on_up_read) < 0) {
        up_close(rl);
        refuse_client(rl, 502, EIO_ERR_NONE, "cannot write to the owner");
    }
    util_buf_free(&req);
}

static void on_timeout(uv_timer_t *t)
{
    relay *rl = t->data;
    rl->timer_on = false;
    UTIL_LOGW_RL(UTIL_SUB_CLUSTER, "sid=%s the owner %s did not answer the relay in time", rl->sid,
                 rl->address ? rl->address : "?");
    up_close(rl);
    refuse_client(rl, 504, EIO_ERR_NONE, "the owner did not answer in time");
}

/* Splits "host:port" ("[v6]:port") and connects. Returns 0, or -1 when the address is unusable. */
static int connect_up(relay *rl)
{
    char host[256];
    snprintf(host, sizeof host, "%s", rl->address);
    char *colon = strrchr(host, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    int port = atoi(colon + 1);
    char *h = host;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }
    struct sockaddr_storage ss;
    if (uv_ip4_addr(strcmp(h, "localhost") == 0 ? "127.0.0.1" : h, port,
                    (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(h, port, (struct sockaddr_in6 *)&ss) != 0)
        return -1;
    rl->up = util_calloc(1, sizeof *rl->up);
    uv_tcp_init(rl->cl->loop, rl->up);
    rl->up->data = rl;
    rl->handles++;
    uv_tcp_nodelay(rl->up, 1);
    uv_connect_t *c = util_calloc(1, sizeof *c);
    c->data = rl;
    if (uv_tcp_connect(c, rl->up, (struct sockaddr *)&ss, on_up_connect) < 0) {
        util_free(c);
        up_close(rl);
        return -1;
    }
    rl->timer_on = true;
    uv_timer_start(&rl->timer, on_timeout, rl->cl->forward_timeout_ms, 0);
    UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s WebSocket relayed to %s", rl->sid, rl->address);
    return 0;
}

static void on_route(void *ctx, const char *address, const char *node_id, bool failed)
{
    relay *rl = ctx;
    rl->looking_up = false;
    (void)node_id;
    if (!rl->r) {
        relay_maybe_free(rl);
        return;
    }
    if (!address) {
        UTIL_LOGI(UTIL_SUB_CLUSTER, "sid=%s WebSocket refused: %s", rl->sid,
                  failed ? "owner lookup failed" : "no live node owns the session");
        if (failed)
            refuse_client(rl, 502, EIO_ERR_NONE, "owner lookup failed");
        else
            refuse_client(rl, 400, EIO_ERR_UNKNOWN_SID, NULL);
        relay_maybe_free(rl);
        return;
    }
    rl->address = util_strdup(address);
    if (connect_up(rl) != 0) {
        refuse_client(rl, 502, EIO_ERR_NONE, "invalid owner address");
        relay_maybe_free(rl);
    }
}

/* ---- the client side ------------------------------------------------------------------------- */

static void down_close(relay *rl, uint16_t code)
{
    if (rl->down)
        node_ws_close(rl->down, code); /* on_down_close follows */
}

static void on_down_message(void *ud, const uint8_t *data, size_t len, bool binary)
{
    relay *rl = ud;
    if (up_frame(rl, binary ? WS_OP_BINARY : WS_OP_TEXT, data, len) < 0) {
        down_close(rl, WS_CLOSE_GOING_AWAY);
        return;
    }
    if (!rl->down_paused && rl->up_pending > RELAY_HIGH_WATER) {
        rl->down_paused = true;
        node_ws_pause(rl->down, true);
    }
}

static void on_down_drain(void *ud)
{
    relay *rl = ud;
    if (rl->up_paused && rl->up) {
        rl->up_paused = false;
        uv_read_start((uv_stream_t *)rl->up, on_up_alloc, on_up_read);
    }
}

static void on_down_close(void *ud)
{
    relay *rl = ud;
    rl->down = NULL;
    if (rl->up && rl->connected && !rl->up_close_sent) {
        /* The owner hears the client's close as a close frame, then the connection ends. */
        rl->up_close_sent = true;
        uint8_t code[2] = {WS_CLOSE_NORMAL >> 8, WS_CLOSE_NORMAL & 0xff};
        up_frame(rl, WS_OP_CLOSE, code, 2);
    }
    up_close(rl);
    relay_maybe_free(rl);
}

static const node_ws_ops down_ops = {on_down_message, on_down_drain, on_down_close};

static void on_req_abort(void *ud)
{
    relay *rl = ud;
    rl->r = NULL;
    relay_count(rl, CLUSTER_OUT_GONE);
    up_close(rl);
    relay_maybe_free(rl);
}

void cluster_relay(cluster *cl, node_req *r, const char *sid)
{
    relay *rl = util_calloc(1, sizeof *rl);
    rl->cl = cl;
    rl->r = r;
    rl->started = uv_hrtime();
    rl->sid = util_strdup(sid);
    rl->path = util_strdup(node_req_endpoint(r));
    snprintf(rl->remote, sizeof rl->remote, "%s", node_req_remote(r));
    cluster_query(r, rl->path, &rl->canon, &rl->target);
    ws_decoder_init(&rl->dec, false, cl->eio.max_payload);
    uv_timer_init(cl->loop, &rl->timer);
    rl->timer.data = rl;
    rl->handles = 1; /* the timer, closed when both sides are gone (relay_maybe_free) */
    rl->next = cl->relays;
    if (cl->relays)
        cl->relays->prev = rl;
    cl->relays = rl;
    node_req_take(r, &(node_req_ops){NULL, NULL, on_req_abort}, rl);
    rl->looking_up = true;
    cl->route(cl->route_ud, sid, on_route, rl);
}

void cluster_relay_close_all(cluster *cl)
{
    relay *next;
    for (relay *rl = cl->relays; rl; rl = next) {
        next = rl->next;
        down_close(rl, WS_CLOSE_GOING_AWAY);
        up_close(rl);
        if (rl->r)
            refuse_client(rl, 503, EIO_ERR_NONE, "shutting down");
        relay_maybe_free(rl);
    }
}
