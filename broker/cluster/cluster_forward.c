/* cluster_forward: a polling request for a session held by another node is forwarded, signed, to
 * that node over the keep-alive pool (cluster_pool.c), and its answer is sent back unchanged. The
 * owner applies every Engine.IO rule itself; a forwarded request is never forwarded again. */
#include "cluster_internal.h"

#include "util_alloc.h"
#include "util_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/** Extra time a forwarded GET may take beyond ping interval + ping timeout. */
#define FWD_GET_MARGIN_MS 5000u

struct fwd {
    cluster *cl;
    node_req *r;        /**< the client's request; NULL once the client went away */
    const char *method; /**< static */
    char *path;         /**< owned: the endpoint path */
    char *sid;          /**< owned */
    char remote[64];    /**< the client's address (x-forwarded-for) */
    util_buf canon;     /**< decoded query joined by '&' (what is signed) */
    util_buf target;    /**< path?encoded-query for the request line */
    char ctype[128];    /**< the client's content-type (POST) */
    util_buf body;      /**< POST body read so far */
    int64_t declared;   /**< declared content-length (-1 if none) */
    bool too_big;       /**< the body exceeds maxPayload: the owner gets only its size */
    size_t charged;     /**< bytes of body charged to the node's memory budget */
    bool looking_up;    /**< a route lookup is pending (it frees us when the client is gone) */
    cluster_req *up;    /**< the forwarded request in flight */
    uint64_t started;   /**< uv_hrtime when it is routed (a POST's body is read) */
};

/* Frees the held body and gives its bytes back to the node's memory budget. */
static void fwd_drop_body(fwd *f)
{
    eio_budget_give(f->cl->eio.budget, f->charged);
    f->charged = 0;
    util_buf_free(&f->body);
}

static void fwd_free(fwd *f)
{
    util_free(f->path);
    util_free(f->sid);
    util_buf_free(&f->canon);
    util_buf_free(&f->target);
    fwd_drop_body(f);
    util_free(f);
}

/* Answers the client with an error and ends the forwarding. */
static void fwd_fail(fwd *f, int status, eio_error err, const char *why)
{
    /* An unknown session is the client's problem (it reconnects); a peer failure is ours. */
    util_log(UTIL_SUB_CLUSTER, status == 400 ? UTIL_LOG_INFO : UTIL_LOG_WARN,
             "sid=%s %s not forwarded: %s (%d)", f->sid, f->method, why, status);
    node_req *r = f->r;
    cluster_count(f->cl, f->method[0] == 'P' ? CLUSTER_KIND_POST : CLUSTER_KIND_GET,
                  r ? cluster_outcome_of(status) : CLUSTER_OUT_GONE, f->started);
    fwd_free(f);
    if (!r)
        return;
    if (err != EIO_ERR_NONE) {
        node_req_respond_error(r, err);
    } else {
        char body[160];
        int len = snprintf(body, sizeof body, "{\"code\":0,\"message\":\"%s\"}", why);
        node_req_respond(r, status, "application/json", body, (size_t)len, false);
    }
}

/* A static content type equal to ct (the node copies it, but a short list keeps it tidy). */
static const char *known_ctype(const char *ct)
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
    cluster *cl = f->cl;
    f->up = NULL;
    if (err == CLUSTER_POOL_CONNECT) {
        /* Nothing listens at the owner's address: the node is dead (or restarted, without its
         * sessions), so the session is gone: "Session ID unknown", and the client reconnects. */
        if (cl->forget)
            cl->forget(cl->route_ud, f->sid);
        UTIL_LOGW_RL(UTIL_SUB_CLUSTER, "sid=%s: its owner cannot be reached: session lost", f->sid);
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
    node_req *r = f->r;
    bool close = f->too_big || resp->status == 413;
    cluster_count(cl, f->method[0] == 'P' ? CLUSTER_KIND_POST : CLUSTER_KIND_GET,
                  r ? CLUSTER_OUT_OK : CLUSTER_OUT_GONE, f->started);
    fwd_free(f);
    /* The owner closed the session on an oversized body; the client's unread rest goes. */
    if (r)
        node_req_respond(r, resp->status, known_ctype(resp->content_type), resp->body,
                         resp->body_len, close);
}

/* Builds and sends the request to the owner at address. */
static void fwd_send(fwd *f, const char *address)
{
    cluster *cl = f->cl;
    util_buf req = UTIL_BUF_INIT;
    util_buf_printf(&req, "%s %s HTTP/1.1\r\nhost: %s\r\n", f->method, util_buf_cstr(&f->target),
                    address);
    cluster_sign_headers(cl, f->method, f->path, util_buf_cstr(&f->canon), &req);
    if (f->remote[0])
        util_buf_printf(&req, "x-forwarded-for: %s\r\n", f->remote);
    bool post = strcmp(f->method, "POST") == 0;
    if (post) {
        if (f->ctype[0])
            util_buf_printf(&req, "content-type: %s\r\n", f->ctype);
        /* An oversized body is not sent: its declared size alone makes the owner answer 413 and
         * close the session, as if the client had sent it there. */
        uint64_t max = cl->eio.max_payload;
        uint64_t len = f->too_big ? (f->declared > (int64_t)max ? (uint64_t)f->declared : max + 1)
                                  : f->body.len;
        util_buf_printf(&req, "content-length: %" PRIu64 "\r\n", len);
    }
    util_buf_puts(&req, "\r\n");
    if (post && !f->too_big)
        util_buf_append(&req, f->body.data, f->body.len);
    fwd_drop_body(f);
    uint32_t timeout = cl->forward_timeout_ms;
    if (!post)
        timeout = cl->eio.ping_interval_ms + cl->eio.ping_timeout_ms + FWD_GET_MARGIN_MS;
    if (!cl->pool)
        cl->pool = cluster_pool_new(cl->loop);
    UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s %s forwarded to %s", f->sid, f->method, address);
    f->up = cluster_pool_request(cl->pool, address, &req, timeout, on_upstream, f);
}

static void on_route(void *ctx, const char *address, const char *node_id, bool failed)
{
    fwd *f = ctx;
    f->looking_up = false;
    if (!f->r) { /* the client went away meanwhile */
        cluster_count(f->cl, f->method[0] == 'P' ? CLUSTER_KIND_POST : CLUSTER_KIND_GET,
                      CLUSTER_OUT_GONE, f->started);
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
    f->started = uv_hrtime();
    f->looking_up = true;
    f->cl->route(f->cl->route_ud, f->sid, on_route, f);
}

/* ---- the client's request (node_req_ops) ------------------------------------------------------ */

static void on_body(void *ud, const void *data, size_t len)
{
    fwd *f = ud;
    if (f->too_big)
        return;
    if (f->body.len + len > f->cl->eio.max_payload) {
        UTIL_LOGW_RL(UTIL_SUB_CLUSTER, "sid=%s forwarded POST body over maxPayload", f->sid);
        f->too_big = true;
        fwd_drop_body(f);
        return;
    }
    if (!eio_budget_take(f->cl->eio.budget, len)) {
        /* Refused at once, before routing (not counted as a forwarded request), and the
         * connection closed: the rest of the body is not read. */
        UTIL_LOGW_RL(UTIL_SUB_CLUSTER, "sid=%s forwarded POST refused: over the memory budget",
                     f->sid);
        node_req *r = f->r;
        fwd_free(f);
        node_req_respond_headers(r, 503, "text/plain", "Retry-After: 1\r\n", "Over memory budget",
                                 18, true);
        return;
    }
    f->charged += len;
    util_buf_append(&f->body, data, len);
}

static void on_complete(void *ud)
{
    fwd *f = ud;
    if (!f->looking_up && !f->up)
        fwd_route(f);
}

static void on_abort(void *ud)
{
    fwd *f = ud;
    UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s forwarded %s abandoned by the client", f->sid, f->method);
    f->r = NULL;
    if (f->up) {
        cluster_pool_cancel(f->up); /* the owner sees the abort as a client abort */
        f->up = NULL;
    }
    if (!f->looking_up) {
        if (f->started) /* routed: counted as gone (else it never was routed) */
            cluster_count(f->cl, f->method[0] == 'P' ? CLUSTER_KIND_POST : CLUSTER_KIND_GET,
                          CLUSTER_OUT_GONE, f->started);
        fwd_free(f);
    }
}

void cluster_forward(cluster *cl, node_req *r, const char *sid)
{
    fwd *f = util_calloc(1, sizeof *f);
    f->cl = cl;
    f->r = r;
    f->method = strcmp(node_req_method(r), "POST") == 0 ? "POST" : "GET";
    f->path = util_strdup(node_req_endpoint(r));
    f->sid = util_strdup(sid);
    snprintf(f->remote, sizeof f->remote, "%s", node_req_remote(r));
    cluster_query(r, f->path, &f->canon, &f->target);
    f->declared = node_req_content_length(r);
    const node_req_ops ops = {on_body, on_complete, on_abort};
    if (strcmp(f->method, "POST") == 0) {
        const char *ct = node_req_header(r, "content-type");
        snprintf(f->ctype, sizeof f->ctype, "%s", ct ? ct : "");
        f->too_big = f->declared > (int64_t)cl->eio.max_payload;
        if (f->too_big) {
            /* Declared over maxPayload: the owner answers 413 from the size alone; the client's
             * connection is closed after the answer, its body unread. */
            UTIL_LOGW_RL(UTIL_SUB_CLUSTER,
                         "sid=%s forwarded POST declares %" PRId64 " bytes, over maxPayload", sid,
                         f->declared);
            node_req_take(r, &(node_req_ops){NULL, NULL, on_abort}, f);
            fwd_route(f);
            return;
        }
    }
    /* A GET is routed at once (on_complete follows at once); a POST once its body is read. */
    node_req_take(r, &ops, f);
}
