/* link: one TCP connection of the node: reads into the buffer every connection shares (input a
 * parser leaves is kept per connection), writes at once when the kernel takes the bytes (libuv
 * writes the rest later), closes gracefully (shutdown, drain, close), and expires by deadline. */
#include "node_internal.h"

#include "util_alloc.h"
#include "util_log.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- deadlines: two FIFO lists (every deadline of a list is now + that list's delay, so the list
 * stays ordered and the sweep stops at the first link not due). */

static void timed_unlink(node_link *l)
{
    if (!l->timed)
        return;
    node *n = l->n;
    if (l->tprev)
        l->tprev->tnext = l->tnext;
    else
        n->tq_head[l->tq] = l->tnext;
    if (l->tnext)
        l->tnext->tprev = l->tprev;
    else
        n->tq_tail[l->tq] = l->tprev;
    l->tprev = l->tnext = NULL;
    l->timed = false;
}

void link_set_deadline(node_link *l, uint64_t deadline)
{
    timed_unlink(l);
    if (!deadline || l->closing)
        return;
    node *n = l->n;
    uint8_t q = l->lingering ? 1 : 0;
    l->tq = q;
    l->deadline = deadline;
    l->timed = true;
    l->tnext = NULL;
    l->tprev = n->tq_tail[q];
    if (n->tq_tail[q])
        n->tq_tail[q]->tnext = l;
    else
        n->tq_head[q] = l;
    n->tq_tail[q] = l;
}

void link_sweep(node *n)
{
    uint64_t now = uv_now(n->loop);
    for (int q = 0; q < 2; q++) {
        while (n->tq_head[q] && n->tq_head[q]->deadline <= now) {
            node_link *l = n->tq_head[q];
            timed_unlink(l);
            if (l->lingering) {
                link_close(l);
            } else if (l->req && !l->req->complete) {
                /* A request that did not arrive in time (slow headers or body). */
                UTIL_LOGD(UTIL_SUB_HTTP, "request not received in time: 408");
                http_respond_hdrs(l->req, 408, "text/plain", NULL, "Request Timeout", 15, true);
            } else {
                link_close(l); /* an idle keep-alive connection */
            }
        }
    }
}

/* ---- writes ---- */

static void start_shutdown(node_link *l);

static void on_write(uv_write_t *w, int status)
{
    link_write_req *wr = container_of(w, link_write_req, req);
    node_link *l = w->data;
    util_buf_free(&wr->data);
    util_free(wr);
    if (status == UV_ECANCELED)
        return; /* the link is closing; it no longer points at wr */
    l->wr = NULL;
    if (status < 0) {
        UTIL_LOGD(UTIL_SUB_HTTP, "write failed: %s", uv_strerror(status));
        link_close(l);
        return;
    }
    if (l->wnext.len) {
        /* What was queued meanwhile leaves in one write. */
        link_write_req *next = util_calloc(1, sizeof *next);
        next->data = l->wnext;
        l->wnext = (util_buf)UTIL_BUF_INIT;
        next->req.data = l;
        uv_buf_t b = uv_buf_init((char *)next->data.data, (unsigned)next->data.len);
        l->wr = next;
        int r = uv_write(&next->req, (uv_stream_t *)&l->tcp, &b, 1, on_write);
        if (r < 0) {
            l->wr = NULL;
            util_buf_free(&next->data);
            util_free(next);
            link_close(l);
        }
        return;
    }
    if (l->after_write_close) {
        start_shutdown(l);
        return;
    }
    if (l->kind == LINK_WS)
        ws_drained(l);
}

int link_write(node_link *l, const void *data, size_t len)
{
    if (l->closing || l->after_write_close || l->lingering)
        return -1;
    if (!len)
        return 0;
    l->n->stats.bytes_out += len;
    if (l->wr) {
        util_buf_append(&l->wnext, data, len);
        return 0;
    }
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int r = uv_try_write((uv_stream_t *)&l->tcp, &b, 1);
    size_t done = 0;
    if (r >= 0) {
        done = (size_t)r;
    } else if (r != UV_EAGAIN) {
        UTIL_LOGD(UTIL_SUB_HTTP, "write failed: %s", uv_strerror(r));
        link_close(l);
        return -1;
    }
    if (done == len)
        return 0;
    link_write_req *wr = util_calloc(1, sizeof *wr);
    util_buf_append(&wr->data, (const uint8_t *)data + done, len - done);
    wr->req.data = l;
    uv_buf_t rest = uv_buf_init((char *)wr->data.data, (unsigned)wr->data.len);
    l->wr = wr;
    r = uv_write(&wr->req, (uv_stream_t *)&l->tcp, &rest, 1, on_write);
    if (r < 0) {
        l->wr = NULL;
        util_buf_free(&wr->data);
        util_free(wr);
        link_close(l);
        return -1;
    }
    return 0;
}

size_t link_held(const node_link *l)
{
    return (l->wr ? sizeof *l->wr + l->wr->data.cap : 0) + l->wnext.cap;
}

size_t link_pending(const node_link *l)
{
    return (l->wr ? l->wr->data.len : 0) + l->wnext.len;
}

/* ---- close ---- */

static void on_closed(uv_handle_t *h)
{
    node_link *l = container_of((uv_tcp_t *)h, node_link, tcp);
    node *n = l->n;
    if (l->prev)
        l->prev->next = l->next;
    else
        n->links = l->next;
    if (l->next)
        l->next->prev = l->prev;
    n->n_links--;
    util_buf_free(&l->in);
    util_buf_free(&l->wnext);
    util_free(l->peer);
    if (l->kind == LINK_WS)
        ws_decoder_free(&l->u.ws);
    util_free(l);
}

static void resume_unlink(node_link *l)
{
    if (!l->resume_queued)
        return;
    node *n = l->n;
    for (node_link **p = &n->resume; *p; p = &(*p)->resume_next)
        if (*p == l) {
            *p = l->resume_next;
            break;
        }
    l->resume_queued = false;
}

void link_close(node_link *l)
{
    if (l->closing)
        return;
    l->closing = true;
    timed_unlink(l);
    resume_unlink(l);
    if (l->kind == LINK_HTTP && l->req) {
        node_req *r = l->req;
        l->req = NULL;
        r->l = NULL;
        http_req_gone(r);
    } else if (l->kind == LINK_WS) {
        ws_link_gone(l);
    }
    uv_close((uv_handle_t *)&l->tcp, on_closed);
}

static void on_shutdown(uv_shutdown_t *s, int status)
{
    node_link *l = s->data;
    util_free(s);
    if (status == UV_ECANCELED || l->closing)
        return;
    if (status < 0) {
        link_close(l);
        return;
    }
    /* The peer has our FIN: what it still sends is read and dropped until it closes too. */
    link_read(l, true);
    link_set_deadline(l, uv_now(l->n->loop) + LINGER_MS);
}

static void start_shutdown(node_link *l)
{
    if (l->closing || l->lingering)
        return;
    timed_unlink(l);
    l->lingering = true;
    uv_shutdown_t *s = util_calloc(1, sizeof *s);
    s->data = l;
    if (uv_shutdown(s, (uv_stream_t *)&l->tcp, on_shutdown) < 0) {
        util_free(s);
        link_close(l);
    }
}

void link_close_after_write(node_link *l)
{
    if (l->closing || l->after_write_close)
        return;
    l->after_write_close = true;
    l->paused = true;
    if (!l->wr)
        start_shutdown(l);
}

/* ---- reads ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    node_link *l = container_of((uv_tcp_t *)h, node_link, tcp);
    buf->base = (char *)l->n->rbuf;
    buf->len = NODE_READ_BUF;
}

/* Parses data; returns the bytes consumed. */
static size_t parse(node_link *l, uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len && !l->closing && !l->lingering && !l->after_write_close) {
        size_t used;
        if (l->kind == LINK_HTTP) {
            if (l->paused)
                break;
            used = http_feed(l, data + off, len - off);
        } else {
            used = ws_feed(l, data + off, len - off);
        }
        off += used;
        if (!used && (l->kind == LINK_WS || l->paused || l->closing))
            break;
        if (!used)
            break;
    }
    return off;
}

/* Parses what l has buffered plus data (which may be NULL). What is left is kept in l->in. */
static void input(node_link *l, uint8_t *data, size_t len)
{
    if (l->in.len || !data) {
        if (data)
            util_buf_append(&l->in, data, len);
        size_t used = parse(l, l->in.data, l->in.len);
        if (!l->closing)
            util_buf_consume(&l->in, used);
    } else {
        size_t used = parse(l, data, len);
        if (!l->closing && used < len)
            util_buf_append(&l->in, data + used, len - used);
    }
    if (l->closing)
        return;
    if (!l->in.len && l->in.cap > NODE_READ_BUF)
        util_buf_free(&l->in); /* a large message has been handled: give its memory back */
    if (l->kind == LINK_WS && l->sess && !l->probe)
        eio_session_hold(l->sess->eio, EIO_HOLD_RX, l->in.cap + l->u.ws.frag.cap);
    /* Input behind a request in progress waits; past a bound, stop reading (back-pressure). */
    if (l->kind == LINK_HTTP && l->paused && l->in.len > PIPELINE_MAX)
        link_read(l, false);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    node_link *l = container_of((uv_tcp_t *)s, node_link, tcp);
    if (nread == 0 || l->closing)
        return;
    if (nread < 0) {
        if (nread != UV_EOF)
            UTIL_LOGD(UTIL_SUB_HTTP, "read failed: %s", uv_strerror((int)nread));
        link_close(l);
        return;
    }
    l->n->stats.bytes_in += (uint64_t)nread;
    if (l->lingering || l->after_write_close)
        return; /* drained and dropped */
    if (l->kind == LINK_HTTP && !l->paused && !l->req)
        link_set_deadline(l, uv_now(l->n->loop) + l->n->cfg.idle_timeout_ms);
    else if (l->kind == LINK_HTTP && l->req && !l->req->complete)
        link_set_deadline(l, uv_now(l->n->loop) + l->n->cfg.idle_timeout_ms);
    input(l, (uint8_t *)buf->base, (size_t)nread);
}

void link_read(node_link *l, bool on)
{
    if (l->closing || on == l->reading)
        return;
    if (on) {
        if (uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read) == 0)
            l->reading = true;
    } else {
        uv_read_stop((uv_stream_t *)&l->tcp);
        l->reading = false;
    }
}

void link_resume(node_link *l)
{
    if (l->closing)
        return;
    l->paused = false;
    if (l->kind == LINK_HTTP && !l->req)
        link_set_deadline(l, uv_now(l->n->loop) + l->n->cfg.idle_timeout_ms);
    link_read(l, true);
    if (!l->in.len || l->resume_queued)
        return;
    /* Pipelined input is parsed at the end of the turn, outside whatever answered the request. */
    l->resume_queued = true;
    l->resume_next = l->n->resume;
    l->n->resume = l;
    node_wake(l->n);
}

void link_run_resumed(node *n)
{
    while (n->resume) {
        node_link *l = n->resume;
        n->resume = l->resume_next;
        l->resume_queued = false;
        if (!l->closing)
            input(l, NULL, 0);
    }
}

/* ---- accept ---- */

int link_accept(node *n, int fd)
{
    node_link *l = util_calloc(1, sizeof *l);
    l->n = n;
    if (uv_tcp_init(n->loop, &l->tcp) != 0 || uv_tcp_open(&l->tcp, fd) != 0) {
        util_free(l);
        close(fd);
        return -1;
    }
    uv_tcp_nodelay(&l->tcp, 1);
    l->next = n->links;
    if (n->links)
        n->links->prev = l;
    n->links = l;
    n->n_links++;
    http_link_init(l);
    link_read(l, true);
    link_set_deadline(l, uv_now(n->loop) + n->cfg.idle_timeout_ms);
    return 0;
}

void link_close_all(node *n)
{
    for (node_link *l = n->links; l; l = l->next)
        link_close(l);
}

const char *link_peer(node_link *l)
{
    if (l->peer)
        return l->peer;
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    char buf[64] = "";
    if (uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, buf, sizeof buf);
        else if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, buf, sizeof buf);
    }
    l->peer = util_strdup(buf);
    return l->peer;
}
