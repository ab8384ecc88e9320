/* forward: a polling request for a session held by another node is forwarded, signed, to that
 * node over the keep-alive pool (cluster_pool.c), and its answer is sent back unchanged. The owner
 * applies every Engine.IO rule itself; a forwarded request is never forwarded again. */
#include "node_internal.h"

#include "cluster_auth.h"
#include "util_alloc.h"
#include "util_log.h"
#include "cluster_pool.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

/** Extra time a forwarded GET may take beyond ping interval + ping timeout. */
#define FWD_GET_MARGIN_MS 5000u

struct fwd {
    node *n;
    struct lws *wsi;    /**< the client's connection; NULL once it went away */
    pss *p;             /**< its storage (valid while wsi is) */
    const char *method; /**< static */
    char *path;         /**< owned, decoded */
    char *sid;          /**< owned */
    util_buf canon;     /**< decoded query joined by '&' (what is signed) */
    util_buf target;    /**< path?encoded-query for the request line */
    char ctype[128];    /**< the client's content-type (POST) */
    util_buf body;      /**< POST body read so far */
    uint64_t declared;  /**< declared content-length (0 if none) */
    bool too_big;       /**< the body exceeds maxPayload: the owner gets only its size */
    bool looking_up;    /**< a route lookup is pending (it frees us when the client is gone) */
    cluster_req *up;    /**< the forwarded request in flight */
};

static uint64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

bool forward_is_forwarded(struct lws *wsi)
{
    return lws_hdr_custom_length(wsi, CLUSTER_HDR_SIG, (int)strlen(CLUSTER_HDR_SIG)) > 0 ||
           lws_hdr_custom_length(wsi, CLUSTER_HDR_TS, (int)strlen(CLUSTER_HDR_TS)) > 0 ||
           lws_hdr_custom_length(wsi, CLUSTER_HDR_FROM, (int)strlen(CLUSTER_HDR_FROM)) > 0;
}

/* Copies custom header name into out ("" when absent or too long). */
static const char *custom_header(struct lws *wsi, const char *name, char *out, int len)
{
    int nl = (int)strlen(name);
    if (lws_hdr_custom_length(wsi, name, nl) <= 0 ||
        lws_hdr_custom_copy(wsi, out, len, name, nl) < 0)
        out[0] = '\0';
    return out;
}

static int add_arg(const char *arg, size_t len, void *ud)
{
    util_buf **bufs = ud;
    util_buf *canon = bufs[0], *enc = bufs[1];
    if (canon->len)
        util_buf_putc(canon, '&');
    util_buf_append(canon, arg, len);
    if (!enc)
        return 0;
    if (enc->len)
        util_buf_putc(enc, '&');
    /* Each argument is one unit: its first '=' stays, everything else that lws would decode or
     * split on is escaped, so the owner parses exactly the same arguments. */
    static const char hex[] = "0123456789ABCDEF";
    bool eq = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)arg[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (c == '=' && !eq)) {
            eq = eq || c == '=';
            util_buf_putc(enc, c);
        } else {
            uint8_t e[3] = {'%', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
            util_buf_append(enc, e, 3);
        }
    }
    return 0;
}

void forward_query(struct lws *wsi, util_buf *out, util_buf *enc)
{
    util_buf_reset(out);
    if (enc)
        util_buf_reset(enc);
    util_buf *bufs[2] = {out, enc};
    http_query_foreach(wsi, add_arg, bufs);
}

int forward_sign_headers(node *n, const char *method, const char *path, const char *canon,
                         util_buf *out)
{
    uint64_t ts = wall_ms();
    util_buf_printf(out, "x-siobroker-from: %s\r\nx-siobroker-ts: %" PRIu64 "\r\n",
                    n->node_id ? n->node_id : "-", ts);
    if (n->secret) {
        char sig[CLUSTER_SIG_HEX + 1];
        cluster_sign(n->secret, method, path, canon, ts, sig);
        util_buf_printf(out, "x-siobroker-sig: %s\r\n", sig);
    }
    return 0;
}

bool forward_auth_ok(node *n, struct lws *wsi, const char *method, const char *path)
{
    if (!n->secret)
        return true;
    char ts[32], sig[CLUSTER_SIG_HEX + 8], from[80];
    custom_header(wsi, CLUSTER_HDR_TS, ts, sizeof ts);
    custom_header(wsi, CLUSTER_HDR_SIG, sig, sizeof sig);
    custom_header(wsi, CLUSTER_HDR_FROM, from, sizeof from);
    util_buf canon = UTIL_BUF_INIT;
    forward_query(wsi, &canon, NULL);
    cluster_auth_result r =
        cluster_verify(n->secret, method, path, util_buf_cstr(&canon), ts, sig, wall_ms());
    util_buf_free(&canon);
    if (r == CLUSTER_AUTH_OK)
        return true;
    char peer[64] = "?";
    lws_get_peer_simple(wsi, peer, sizeof peer);
    UTIL_LOGW(UTIL_SUB_CLUSTER, "forwarded %s %s from %s (node %s) refused: %s", method, path, peer,
              from[0] ? from : "?", cluster_auth_message(r));
    return false;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void fwd_free(fwd *f)
{
    util_free(f->path);
    util_free(f->sid);
    util_buf_free(&f->canon);
    util_buf_free(&f->target);
    util_buf_free(&f->body);
    util_free(f);
}

/* Detaches f from its client connection (which answers or closes next). */
static void fwd_detach(fwd *f)
{
    if (f->p) {
        polling_unwatch(f->p);
        f->p->fwd = NULL;
    }
    f->p = NULL;
    f->wsi = NULL;
}

/* Answers the client with an error and ends the forwarding. */
static void fwd_fail(fwd *f, int status, eio_error err, const char *why)
{
    /* An unknown session is the client's problem (it reconnects); a peer failure is ours. */
    util_log(UTIL_SUB_CLUSTER, status == 400 ? UTIL_LOG_INFO : UTIL_LOG_WARN,
             "sid=%s %s not forwarded: %s (%d)", f->sid, f->method, why, status);
    struct lws *wsi = f->wsi;
    pss *p = f->p;
    fwd_detach(f);
    fwd_free(f);
    if (!wsi)
        return;
    if (err != EIO_ERR_NONE) {
        http_respond_error(wsi, p, err);
    } else {
        char body[160];
        int len = snprintf(body, sizeof body, "{\"code\":0,\"message\":\"%s\"}", why);
        http_respond(wsi, p, status, "application/json", body, (size_t)len);
    }
}

/* A static content type equal to ct (responses keep their type as a static string). */
static const char *static_ctype(const char *ct)
{
    static const char *const known[] = {
        "text/plain; charset=UTF-8", "text/plain; charset=utf-8", "text/plain", "text/html",
        "application/json",          "application/octet-stream",
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcasecmp(ct, known[i]) == 0)
            return known[i];
    return ct[0] ? "application/octet-stream" : "text/plain";
}

static void on_upstream(void *ud, cluster_pool_error err, const cluster_response *resp)
{
    fwd *f = ud;
    f->up = NULL;
    if (err == CLUSTER_POOL_CONNECT) {
        /* Nothing listens at the owner's address: the node is dead (or restarted, without its
         * sessions), so the session is gone: "Session ID unknown", and the client reconnects. */
        if (f->n->route_forget)
            f->n->route_forget(f->n->route_ud, f->sid);
        UTIL_LOGW(UTIL_SUB_CLUSTER, "sid=%s: its owner cannot be reached: session lost", f->sid);
        fwd_fail(f, 400, EIO_ERR_UNKNOWN_SID, cluster_pool_error_message(err));
        return;
    }
    if (err != CLUSTER_POOL_OK) {
        fwd_fail(f, err == CLUSTER_POOL_TIMEOUT ? 504 : 502, EIO_ERR_NONE,
                 cluster_pool_error_message(err));
        return;
    }
    UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s %s answered by the owner: %d, %zu bytes", f->sid, f->method,
              resp->status, resp->body_len);
    struct lws *wsi = f->wsi;
    pss *p = f->p;
    fwd_detach(f);
    if (wsi) {
        /* The owner closed the session on an oversized body; the client's unread rest goes. */
        p->close_after = f->too_big || resp->status == 413;
        http_respond_now(wsi, p, resp->status, static_ctype(resp->content_type), resp->body,
                         resp->body_len);
    }
    fwd_free(f);
}

/* Builds and sends the request to the owner at address. */
static void fwd_send(fwd *f, const char *address)
{
    node *n = f->n;
    util_buf req = UTIL_BUF_INIT;
    util_buf_printf(&req, "%s %s HTTP/1.1\r\nhost: %s\r\n", f->method, util_buf_cstr(&f->target),
                    address);
    forward_sign_headers(n, f->method, f->path, util_buf_cstr(&f->canon), &req);
    char peer[64] = "";
    if (f->wsi && lws_get_peer_simple(f->wsi, peer, sizeof peer) && peer[0])
        util_buf_printf(&req, "x-forwarded-for: %s\r\n", peer);
    bool post = strcmp(f->method, "POST") == 0;
    if (post) {
        if (f->ctype[0])
            util_buf_printf(&req, "content-type: %s\r\n", f->ctype);
        /* An oversized body is not sent: its declared size alone makes the owner answer 413 and
         * close the session, as if the client had sent it there. */
        uint64_t len = f->too_big ? (f->declared > n->cfg.eio.max_payload
                                         ? f->declared
                                         : (uint64_t)n->cfg.eio.max_payload + 1)
                                  : f->body.len;
        util_buf_printf(&req, "content-length: %" PRIu64 "\r\n", len);
    }
    util_buf_puts(&req, "\r\n");
    if (post && !f->too_big)
        util_buf_append(&req, f->body.data, f->body.len);
    util_buf_free(&f->body);
    uint32_t timeout = n->forward_timeout_ms;
    if (!post)
        timeout = n->cfg.eio.ping_interval_ms + n->cfg.eio.ping_timeout_ms + FWD_GET_MARGIN_MS;
    if (!n->upstream)
        n->upstream = cluster_pool_new(n->loop);
    UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s %s forwarded to %s", f->sid, f->method, address);
    f->up = cluster_pool_request(n->upstream, address, &req, timeout, on_upstream, f);
}

static void on_route(void *ctx, const char *address, const char *node_id, bool failed)
{
    fwd *f = ctx;
    f->looking_up = false;
    if (!f->wsi) { /* the client went away meanwhile */
        fwd_free(f);
        return;
    }
    if (failed) {
        fwd_fail(f, 502, EIO_ERR_NONE, "owner lookup failed");
        return;
    }
    if (!address) {
        fwd_fail(f, 400, EIO_ERR_UNKNOWN_SID,
                 node_id ? "its owner is not alive" : "no node of the cluster holds it");
        return;
    }
    fwd_send(f, address);
}

static void fwd_route(fwd *f)
{
    f->looking_up = true;
    f->n->route(f->n->route_ud, f->sid, on_route, f);
}

/* ---- entry points from http.c ---------------------------------------------------------------- */

void forward_start(node *n, struct lws *wsi, pss *p, const char *method, const char *path,
                   const char *sid)
{
    fwd *f = util_calloc(1, sizeof *f);
    f->n = n;
    f->wsi = wsi;
    f->p = p;
    f->method = method;
    f->path = util_strdup(path);
    f->sid = util_strdup(sid);
    forward_query(wsi, &f->canon, &f->target);
    util_buf enc = f->target;
    f->target = (util_buf)UTIL_BUF_INIT;
    util_buf_printf(&f->target, "%s?", path);
    util_buf_append(&f->target, enc.data, enc.len);
    util_buf_free(&enc);
    p->fwd = f;
    if (strcmp(method, "POST") == 0) {
        if (lws_hdr_copy(wsi, f->ctype, sizeof f->ctype, WSI_TOKEN_HTTP_CONTENT_TYPE) < 0)
            f->ctype[0] = '\0';
        char clen[32];
        if (lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
            f->declared = strtoull(clen, NULL, 10);
        f->too_big = f->declared > n->cfg.eio.max_payload;
        if (!f->too_big) {
            p->kind = PSS_FWD_BODY;
            return;
        }
        /* Declared over maxPayload: the owner answers 413 from the size alone; the client's
         * connection is closed after the answer, its body unread. */
        UTIL_LOGW(UTIL_SUB_CLUSTER,
                  "sid=%s forwarded POST declares %" PRIu64 " bytes, over maxPayload", sid,
                  f->declared);
        p->kind = PSS_FORWARD;
        fwd_route(f);
        return;
    }
    p->kind = PSS_FORWARD;
    /* The owner may hold the GET for a whole ping interval: lws must not time it out. */
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    polling_watch(n, wsi, p);
    fwd_route(f);
}

void forward_body(node *n, struct lws *wsi, pss *p, const void *in, size_t len)
{
    fwd *f = p->fwd;
    (void)wsi;
    if (!f || f->too_big)
        return;
    if (f->body.len + len > n->cfg.eio.max_payload) {
        UTIL_LOGW(UTIL_SUB_CLUSTER, "sid=%s forwarded POST body over maxPayload", f->sid);
        f->too_big = true;
        util_buf_free(&f->body);
        return;
    }
    util_buf_append(&f->body, in, len);
}

void forward_body_done(node *n, struct lws *wsi, pss *p)
{
    fwd *f = p->fwd;
    if (!f || p->kind != PSS_FWD_BODY)
        return;
    p->close_after = false; /* the body has been read: the connection may be kept */
    p->kind = PSS_FORWARD;
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    (void)n;
    fwd_route(f);
}

void forward_closed(pss *p)
{
    fwd *f = p->fwd;
    if (!f)
        return;
    UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s forwarded %s abandoned by the client", f->sid, f->method);
    p->fwd = NULL;
    p->kind = PSS_IDLE;
    f->p = NULL;
    f->wsi = NULL;
    if (f->up) {
        cluster_pool_cancel(f->up); /* the owner sees the abort as a client abort */
        f->up = NULL;
    }
    if (!f->looking_up)
        fwd_free(f);
}
