/* rawclient: siobench's fast WebSocket transport. libwebsockets stays the connection layer (RAW
 * client connections on the bench's libuv loop: connect, source address, reads, close), while
 * siobench speaks WebSocket itself (wsraw.c): it writes the Upgrade request, checks the 101,
 * parses each read's frames in bulk and in place, and writes masked frames with send() directly,
 * queueing them for one coalesced write at WRITEABLE only when the socket is full. */
#include <uv.h>
#include <libwebsockets.h>

#include "rawclient.h"
#include "siobench.h"

#include "util_alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng;

void sb_raw_init(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rng = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16) ^ 1;
}

static sb_client *client_of(struct lws *wsi, void *user)
{
    return user ? user : lws_get_opaque_user_data(wsi);
}

/* Sends p[0..n) on c's socket now; what the kernel does not take goes to c->out, flushed at
 * WRITEABLE. Returns 0, or -1 when the connection failed. */
static int send_now(sb_client *c, const uint8_t *p, size_t n)
{
    if (c->out.len == 0) {
        ssize_t w = send(lws_get_socket_fd(c->wsi), p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return -1;
            w = 0;
        }
        if ((size_t)w == n)
            return 0;
        p += w;
        n -= (size_t)w;
    }
    util_buf_append(&c->out, p, n);
    lws_callback_on_writable(c->wsi);
    return 0;
}

/* Writes what c->out holds (at WRITEABLE). Returns 0 or -1. */
static int flush_out(sb_client *c)
{
    if (!c->out.len)
        return 0;
    ssize_t w =
        send(lws_get_socket_fd(c->wsi), c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        w = 0;
    }
    util_buf_consume(&c->out, (size_t)w);
    if (c->out.len)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* Frames payload[0..len) as one masked frame of opcode and sends it. Returns 0 or -1. */
static int send_frame(sb_client *c, unsigned opcode, const void *payload, size_t len)
{
    uint8_t stackbuf[512 + SB_WSR_MAX_HDR];
    uint8_t *buf = len <= 512 ? stackbuf : util_malloc(len + SB_WSR_MAX_HDR);
    size_t n = sb_wsr_frame(buf, opcode, payload, len, (uint32_t)sb_wsr_rand(&rng));
    int r = send_now(c, buf, n);
    if (buf != stackbuf)
        util_free(buf);
    return r;
}

/* Reports c closed (once) and detaches it from its wsi. */
static void lost(sb_client *c, const char *why)
{
    c->wsi = NULL;
    sb_on_closed(c, why);
}

static int on_connected(sb_client *c)
{
    const sb_url *u = c->url;
    char path[192], req[512];
    snprintf(path, sizeof path, "%s?EIO=4&transport=websocket%s%s", u->path, c->sid ? "&sid=" : "",
             c->sid ? c->sid : "");
    sb_wsr_key(c->wskey, &rng);
    size_t n = sb_wsr_request(req, sizeof req, u->host, u->port, path, c->wskey);
    if (n == 0 || send_now(c, (const uint8_t *)req, n) != 0)
        return -1;
    return 0;
}

static int on_message(void *ud, unsigned opcode, const uint8_t *data, size_t len)
{
    sb_client *c = ud;
    switch (opcode) {
    case SB_WSR_TEXT:
        sb_client_on_packet(c, (const char *)data, len);
        return c->closing || !c->wsi ? 1 : 0;
    case SB_WSR_PING: return send_frame(c, SB_WSR_PONG, data, len) != 0 ? 2 : 0;
    case SB_WSR_CLOSE: return 3;
    default: return 0; /* binary (none in the bench's traffic), pong */
    }
}

/* Ends a read whose frames sb_wsr_parse returned r for: 0 keeps the connection, -1 closes it. */
static int end_rx(sb_client *c, int r)
{
    if (r < 0 && c->wsi)
        lost(c, "websocket protocol error");
    else if (r == 3 && c->wsi)
        lost(c, "websocket closed by the server");
    return r ? -1 : 0;
}

static int on_rx(sb_client *c, const uint8_t *in, size_t len)
{
    if (!c->upgraded) {
        const uint8_t *head = in;
        size_t hlen = len;
        if (c->wsr.part.len) { /* the response head came in pieces */
            util_buf_append(&c->wsr.part, in, len);
            head = c->wsr.part.data;
            hlen = c->wsr.part.len;
        }
        long h = sb_wsr_response((const char *)head, hlen, c->wskey);
        if (h < 0) {
            lost(c, "websocket upgrade refused");
            return -1;
        }
        if (h == 0) {
            if (head == in)
                util_buf_append(&c->wsr.part, in, len);
            return 0;
        }
        c->upgraded = true;
        sb_client_ws_open(c);
        if (head != in) { /* frames after the head are in part: take them out, then parse */
            util_buf rest = c->wsr.part;
            c->wsr.part = (util_buf)UTIL_BUF_INIT;
            int r = sb_wsr_parse(&c->wsr, rest.data + h, rest.len - (size_t)h, on_message, c);
            util_buf_free(&rest);
            return end_rx(c, r);
        }
        in += h;
        len -= (size_t)h;
    }
    return end_rx(c, sb_wsr_parse(&c->wsr, in, len, on_message, c));
}

int sb_raw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    sb_client *c;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        c = client_of(wsi, user);
        if (c && c->wsi == wsi)
            lost(c, "websocket connection error");
        return 0;
    case LWS_CALLBACK_RAW_CONNECTED:
        c = client_of(wsi, user);
        if (!c || c->wsi != wsi || c->closing)
            return -1;
        return on_connected(c);
    case LWS_CALLBACK_RAW_RX:
        c = client_of(wsi, user);
        if (!c || c->wsi != wsi || c->closing)
            return -1;
        sb_read_arrived(c->b);
        return on_rx(c, in, len);
    case LWS_CALLBACK_RAW_WRITEABLE:
        c = client_of(wsi, user);
        if (!c || c->wsi != wsi)
            return -1;
        if (c->closing) {
            if (c->upgraded && !c->out.len) { /* best effort: a close frame, status 1000 */
                uint8_t frame[SB_WSR_MAX_HDR + 2];
                size_t n =
                    sb_wsr_frame(frame, SB_WSR_CLOSE, "\x03\xe8", 2, (uint32_t)sb_wsr_rand(&rng));
                (void)!send(lws_get_socket_fd(wsi), frame, n, MSG_NOSIGNAL | MSG_DONTWAIT);
            }
            return -1;
        }
        return flush_out(c);
    case LWS_CALLBACK_RAW_CLOSE:
        c = client_of(wsi, user);
        if (c && c->wsi == wsi)
            lost(c, "websocket closed");
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        c = client_of(wsi, user);
        if (c && c->wsi == wsi)
            lost(c, "websocket destroyed");
        if (c && c->live) {
            c->live = false;
            c->b->live--;
        }
        return 0;
    default: return 0;
    }
}

int sb_raw_open(sb_client *c)
{
    const sb_url *u = c->url;
    char host[96];
    snprintf(host, sizeof host, "%s:%d", u->host, u->port);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = c->b->lws;
    ci.address = u->host;
    ci.port = u->port;
    ci.path = "/";
    ci.host = host;
    ci.method = "RAW";
    ci.local_protocol_name = "siobench-raw";
    ci.userdata = c;
    ci.opaque_user_data = c;
    ci.iface = sb_client_source(c->b, c->idx);
    ci.pwsi = &c->wsi;
    c->upgraded = false;
    bool counted = !c->live; /* an upgrading client is live through its polling already */
    if (counted) {
        c->live = true;
        c->b->live++;
    }
    if (!lws_client_connect_via_info(&ci)) {
        c->wsi = NULL;
        if (counted) {
            c->live = false;
            c->b->live--;
        }
        return -1;
    }
    return 0;
}

void sb_raw_send(sb_client *c, const char *text, size_t len)
{
    if (!c->wsi || c->closing || !c->upgraded)
        return;
    if (send_frame(c, SB_WSR_TEXT, text, len) != 0)
        sb_raw_close(c);
}

void sb_raw_close(sb_client *c)
{
    if (c->wsi && !c->closing) {
        c->closing = true;
        lws_callback_on_writable(c->wsi);
        /* Not yet connected: no WRITEABLE comes, so a timeout (as ws.c). */
        if (c->state <= SB_OPENING)
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 1);
    }
}
