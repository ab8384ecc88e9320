/* ws: the lws client context of siobench (one, on the bench's libuv loop, no listener, serving
 * both WebSocket implementations), and the --ws-impl lws transport: libwebsockets' own WebSocket
 * client. Sends are written directly when the socket is not choked. */
#include <uv.h>
#include <libwebsockets.h>

#include "rawclient.h"
#include "siobench.h"

#include "util_alloc.h"

#include <string.h>

static sb_client *client_of(struct lws *wsi, void *user)
{
    return user ? user : lws_get_opaque_user_data(wsi);
}

/* Queues a frame (u32 length + bytes) in c->out for the next WRITEABLE callback. */
static void queue_frame(sb_client *c, const char *text, size_t len)
{
    uint32_t l = (uint32_t)len;
    util_buf_append(&c->out, &l, sizeof l);
    util_buf_append(&c->out, text, len);
    lws_callback_on_writable(c->wsi);
}

static int write_frame(struct lws *wsi, const char *text, size_t len)
{
    uint8_t stackbuf[LWS_PRE + 512];
    uint8_t *buf = len <= 512 ? stackbuf : util_malloc(LWS_PRE + len);
    memcpy(buf + LWS_PRE, text, len);
    int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
    if (buf != stackbuf)
        util_free(buf);
    return n < (int)len ? -1 : 0;
}

static int on_writeable(sb_client *c)
{
    if (c->closing)
        return -1;
    if (c->out.len < sizeof(uint32_t))
        return 0;
    uint32_t l;
    memcpy(&l, c->out.data, sizeof l);
    if (write_frame(c->wsi, (const char *)c->out.data + sizeof l, l) != 0)
        return -1;
    util_buf_consume(&c->out, sizeof l + l);
    if (c->out.len)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static int on_receive(sb_client *c, struct lws *wsi, const char *in, size_t len)
{
    bool final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (lws_frame_is_binary(wsi) && !c->rx.len && final)
        return 0; /* no binary in the bench's traffic */
    if (final && c->rx.len == 0) {
        sb_client_on_packet(c, in, len);
        return 0;
    }
    util_buf_append(&c->rx, in, len);
    if (final) {
        sb_client_on_packet(c, (const char *)c->rx.data, c->rx.len);
        util_buf_reset(&c->rx);
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    sb_client *c;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        c = client_of(wsi, user);
        if (c && c->wsi == wsi) {
            c->wsi = NULL;
            sb_on_closed(c, "websocket connection error");
        }
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        c = client_of(wsi, user);
        if (!c || c->wsi != wsi || c->closing)
            return -1;
        sb_read_arrived(c->b);
        return on_receive(c, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        c = client_of(wsi, user);
        if (!c || c->wsi != wsi)
            return -1;
        return on_writeable(c);
    case LWS_CALLBACK_CLIENT_CLOSED:
        c = client_of(wsi, user);
        if (c && c->wsi == wsi) {
            c->wsi = NULL;
            sb_on_closed(c, "websocket closed");
        }
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        c = client_of(wsi, user);
        if (c && c->wsi == wsi) {
            c->wsi = NULL;
            sb_on_closed(c, "websocket destroyed");
        }
        if (c && c->live) {
            c->live = false;
            c->b->live--;
        }
        return 0;
    default: return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"siobench", callback, 0, 4096, 0, NULL, 0},
    {"siobench-raw", sb_raw_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int sb_ws_init(sb_bench *b)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    lws_set_log_level(LLL_ERR, NULL);
    void *loops[1] = {&b->loop};
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.foreign_loops = loops;
    info.pcontext = &b->lws;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.timeout_secs = (unsigned)(b->args.timeout + 1);
    info.connect_timeout_secs = (unsigned)(b->args.timeout + 1);
    if (b->args.ws_impl == SB_WS_RAW) /* raw clients parse whole reads: read up to 64 KiB */
        info.pt_serv_buf_size = 65536;
    sb_raw_init();
    b->lws = lws_create_context(&info);
    return b->lws ? 0 : -1;
}

int sb_ws_open(sb_client *c)
{
    const sb_url *u = c->url;
    char path[192], host[96];
    snprintf(path, sizeof path, "%s?EIO=4&transport=websocket", u->path);
    snprintf(host, sizeof host, "%s:%d", u->host, u->port);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = c->b->lws;
    ci.address = u->host;
    ci.port = u->port;
    ci.path = path;
    ci.host = host;
    ci.origin = host;
    ci.protocol = NULL;
    ci.local_protocol_name = "siobench";
    ci.userdata = c;
    ci.opaque_user_data = c;
    ci.iface = sb_client_source(c->b, c->idx);
    ci.pwsi = &c->wsi;
    c->live = true;
    c->b->live++;
    if (!lws_client_connect_via_info(&ci)) {
        c->wsi = NULL;
        if (c->live) {
            c->live = false;
            c->b->live--;
        }
        return -1;
    }
    return 0;
}

void sb_ws_send(sb_client *c, const char *text, size_t len)
{
    if (!c->wsi || c->closing)
        return;
    if (c->out.len == 0 && !lws_send_pipe_choked(c->wsi)) {
        if (write_frame(c->wsi, text, len) == 0)
            return;
        sb_ws_close(c);
        return;
    }
    queue_frame(c, text, len);
}

void sb_ws_close(sb_client *c)
{
    /* lws_set_timeout(LWS_TO_KILL_ASYNC) from outside an lws callback may wait for lws's next
     * timer on a foreign loop; a WRITEABLE request acts at once. */
    if (c->wsi && !c->closing) {
        c->closing = true;
        lws_callback_on_writable(c->wsi);
        /* Not yet established: no WRITEABLE comes, so a timeout (an O(n) sorted insert in lws:
         * only for these few). */
        if (c->state <= SB_OPENING)
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 1);
    }
}

void sb_ws_destroy(sb_bench *b)
{
    if (b->lws)
        lws_context_destroy(b->lws);
}
