/* polling: the Engine.IO long-polling transport of siobench's clients, on the bench's libuv loop:
 * two keep-alive HTTP/1.1 connections per client (the held GET, and POSTs one at a time, packets
 * queued meanwhile are joined with \x1e into the next POST). Responses need a Content-Length. */
#define _GNU_SOURCE /* memmem, strncasecmp */
#include "siobench.h"

#include "util_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/** One HTTP/1.1 keep-alive connection of a polling client. Freed in its close callback. */
typedef struct sb_hconn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    sb_client *c;     /**< NULL once closing */
    bool is_get;      /**< the long-poll connection (else the POST one) */
    bool connected;   /**< TCP connected */
    bool busy;        /**< a request is waiting for its response */
    util_buf in;      /**< bytes of the response being read */
    util_buf pending; /**< request written once connected */
} sb_hconn;

typedef struct wreq {
    uv_write_t req;
    char data[];
} wreq;

static void on_hclose(uv_handle_t *h)
{
    sb_hconn *hc = h->data;
    util_buf_free(&hc->in);
    util_buf_free(&hc->pending);
    util_free(hc);
}

static void hconn_close(sb_hconn *hc)
{
    if (!hc || !hc->c)
        return;
    hc->c = NULL;
    uv_close((uv_handle_t *)&hc->tcp, on_hclose);
}

/* Closes both connections and tells the bench once. */
static void fail(sb_client *c, const char *why)
{
    sb_poll_close(c);
    sb_on_closed(c, why);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status; /* a failed write shows up as a read error or EOF */
    util_free(req);
}

static void hconn_write(sb_hconn *hc, const void *p, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    int w = uv_try_write((uv_stream_t *)&hc->tcp, &b, 1);
    if (w == (int)n)
        return;
    if (w < 0 && w != UV_EAGAIN) {
        fail(hc->c, "polling: write failed");
        return;
    }
    size_t done = w > 0 ? (size_t)w : 0;
    wreq *r = util_malloc(sizeof *r + n - done);
    memcpy(r->data, (const char *)p + done, n - done);
    b = uv_buf_init(r->data, (unsigned)(n - done));
    if (uv_write(&r->req, (uv_stream_t *)&hc->tcp, &b, 1, on_written) != 0) {
        util_free(r);
        fail(hc->c, "polling: write failed");
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    sb_hconn *hc = h->data;
    util_buf_reserve(&hc->in, 16384);
    buf->base = (char *)hc->in.data + hc->in.len;
    buf->len = hc->in.cap - hc->in.len;
}

static void request(sb_hconn *hc, const char *body, size_t blen);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_connect(uv_connect_t *req, int status)
{
    sb_hconn *hc = req->data;
    if (!hc->c)
        return; /* closed meanwhile */
    if (status < 0) {
        fail(hc->c, "polling: connect failed");
        return;
    }
    hc->connected = true;
    uv_read_start((uv_stream_t *)&hc->tcp, on_alloc, on_read);
    if (hc->pending.len) {
        hconn_write(hc, hc->pending.data, hc->pending.len);
        util_buf_reset(&hc->pending);
    }
}

static sb_hconn *hconn_open(sb_client *c, bool is_get)
{
    struct sockaddr_in dst;
    if (uv_ip4_addr(strcmp(c->url->host, "localhost") == 0 ? "127.0.0.1" : c->url->host,
                    c->url->port, &dst) != 0)
        return NULL;
    sb_hconn *hc = util_calloc(1, sizeof *hc);
    hc->c = c;
    hc->is_get = is_get;
    uv_tcp_init(&c->b->loop, &hc->tcp);
    hc->tcp.data = hc;
    hc->creq.data = hc;
    uv_tcp_nodelay(&hc->tcp, 1);
    const char *src = sb_client_source(c->b, c->idx);
    if (src) {
        struct sockaddr_in sa;
        uv_ip4_addr(src, 0, &sa);
        if (uv_tcp_bind(&hc->tcp, (const struct sockaddr *)&sa, 0) != 0)
            goto fail;
    }
    if (uv_tcp_connect(&hc->creq, &hc->tcp, (const struct sockaddr *)&dst, on_connect) != 0)
        goto fail;
    return hc;
fail:
    hc->c = NULL;
    uv_close((uv_handle_t *)&hc->tcp, on_hclose);
    return NULL;
}

/* Sends a GET (body NULL) or a POST with body on hc; the connection must be idle. */
static void request(sb_hconn *hc, const char *body, size_t blen)
{
    sb_client *c = hc->c;
    char head[512];
    int n =
        snprintf(head, sizeof head, "%s %s?EIO=4&transport=polling%s%s HTTP/1.1\r\nHost: %s:%d\r\n",
                 body ? "POST" : "GET", c->url->path, c->sid ? "&sid=" : "", c->sid ? c->sid : "",
                 c->url->host, c->url->port);
    if (body)
        n += snprintf(head + n, sizeof head - (size_t)n,
                      "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: %zu\r\n", blen);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    hc->busy = true;
    if (!hc->connected) {
        util_buf_append(&hc->pending, head, (size_t)n);
        if (body)
            util_buf_append(&hc->pending, body, blen);
        return;
    }
    if (!body) {
        hconn_write(hc, head, (size_t)n);
        return;
    }
    util_buf all = UTIL_BUF_INIT;
    util_buf_append(&all, head, (size_t)n);
    util_buf_append(&all, body, blen);
    hconn_write(hc, all.data, all.len);
    util_buf_free(&all);
}

static void post_flush(sb_client *c)
{
    if (!c->post || c->post->busy || c->out.len == 0 || c->state == SB_CLOSED)
        return;
    util_buf body = c->out;
    memset(&c->out, 0, sizeof c->out);
    request(c->post, (const char *)body.data, body.len);
    util_buf_free(&body);
}

static void get_next(sb_client *c)
{
    if (c->get && !c->get->busy && c->state != SB_CLOSED)
        request(c->get, NULL, 0);
}

/* Handles a GET body: the handshake (no sid yet) or a payload of packets. */
static void on_get_body(sb_client *c, const char *p, size_t n)
{
    if (!c->sid) {
        const char *k = memmem(p, n, "\"sid\":\"", 7);
        if (!k || p[0] != '0') {
            fail(c, "polling: bad handshake");
            return;
        }
        k += 7;
        const char *e = memchr(k, '"', (size_t)(p + n - k));
        if (!e) {
            fail(c, "polling: bad handshake");
            return;
        }
        c->sid = util_strndup(k, (size_t)(e - k));
        c->post = hconn_open(c, false);
        if (!c->post) {
            fail(c, "polling: cannot open the POST connection");
            return;
        }
        sb_client_on_packet(c, p, n);
        get_next(c);
        return;
    }
    const char *end = p + n;
    while (p < end && c->state != SB_CLOSED) {
        const char *sep = memchr(p, '\x1e', (size_t)(end - p));
        const char *pe = sep ? sep : end;
        if (pe > p && p[0] != 'b')
            sb_client_on_packet(c, p, (size_t)(pe - p));
        p = sep ? sep + 1 : end;
    }
    if (c->upgrade && c->up_state > 0) {
        /* Upgrading: polling pauses (no new GET) so that the WebSocket can take over. */
        if (c->state != SB_CLOSED)
            sb_client_poll_paused(c);
        return;
    }
    get_next(c);
}

/* Parses complete responses in hc->in. Returns false when the client was closed. */
static bool parse(sb_hconn *hc)
{
    for (;;) {
        sb_client *c = hc->c;
        if (!c)
            return false;
        const char *d = (const char *)hc->in.data;
        size_t len = hc->in.len;
        const char *eoh = len ? memmem(d, len, "\r\n\r\n", 4) : NULL;
        if (!eoh)
            return true;
        size_t hlen = (size_t)(eoh - d) + 4;
        int status = (len > 12 && strncmp(d, "HTTP/1.", 7) == 0) ? atoi(d + 9) : 0;
        long clen = -1;
        for (const char *l = memchr(d, '\n', hlen); l && l < eoh;
             l = memchr(l, '\n', (size_t)(eoh - l))) {
            l++;
            if (strncasecmp(l, "content-length:", 15) == 0)
                clen = strtol(l + 15, NULL, 10);
        }
        if (clen < 0) {
            fail(c, "polling: response without Content-Length");
            return false;
        }
        if (len < hlen + (size_t)clen)
            return true;
        hc->busy = false;
        if (status != 200) {
            fail(c, hc->is_get ? "polling: GET refused" : "polling: POST refused");
            return false;
        }
        /* Copy the body out: handlers may write (and grow nothing here), but keep it simple. */
        size_t blen = (size_t)clen;
        char *body = util_malloc(blen + 1);
        memcpy(body, d + hlen, blen);
        body[blen] = 0;
        util_buf_consume(&hc->in, hlen + blen);
        if (hc->is_get)
            on_get_body(c, body, blen);
        else
            post_flush(c);
        util_free(body);
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    sb_hconn *hc = s->data;
    if (!hc->c)
        return;
    if (nread < 0) {
        fail(hc->c,
             nread == UV_EOF ? "polling: server closed the connection" : "polling: read error");
        return;
    }
    hc->in.len += (size_t)nread;
    sb_read_arrived(hc->c->b);
    parse(hc);
}

int sb_poll_open(sb_client *c)
{
    c->get = hconn_open(c, true);
    if (!c->get)
        return -1;
    c->live = true;
    c->b->live++;
    request(c->get, NULL, 0);
    return 0;
}

void sb_poll_send(sb_client *c, const char *text, size_t len)
{
    if (c->out.len)
        util_buf_putc(&c->out, 0x1e);
    util_buf_append(&c->out, text, len);
    post_flush(c);
}

void sb_poll_detach(sb_client *c)
{
    hconn_close(c->get);
    hconn_close(c->post);
    c->get = c->post = NULL;
}

void sb_poll_close(sb_client *c)
{
    hconn_close(c->get);
    hconn_close(c->post);
    c->get = c->post = NULL;
    if (c->live) {
        c->live = false;
        c->b->live--;
    }
}
