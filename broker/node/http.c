/* http: HTTP/1.1 on a node_link, with the http-parser library: one request at a time (pipelined ones
 * wait their turn), limits answered (414, 431, 413, 400, 408), keep-alive as RFC 9112 says
 * (every answer after which the node closes says "Connection: close"), routing of requests to
 * health checks, extra routes, static files, Engine.IO endpoints and the cluster's router. */
#include "node_internal.h"

#include "util_alloc.h"
#include "util_base64.h"
#include "util_log.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

const char *http_date(node *n)
{
    uint64_t now = uv_now(n->loop);
    if (!n->date[0] || now - n->date_at >= 1000) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(n->date, sizeof n->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        n->date_at = now;
    }
    return n->date;
}

endpoint *http_find_endpoint(node *n, const char *path)
{
    size_t len = strlen(path);
    for (endpoint *ep = n->endpoints; ep; ep = ep->next) {
        if (len == ep->path_len && memcmp(path, ep->path, len) == 0)
            return ep;
        if (len + 1 == ep->path_len && memcmp(path, ep->path, len) == 0)
            return ep;
    }
    return NULL;
}

/* ---- the request object ---------------------------------------------------------------------- */

const char *node_req_method(const node_req *r)
{
    return http_method_str((enum http_method)r->head.method);
}

const char *node_req_path(const node_req *r)
{
    return r->head.path ? r->head.path : "";
}

const char *node_req_endpoint(const node_req *r)
{
    return r->ep ? r->ep->path : NULL;
}

node *node_req_node(const node_req *r)
{
    return r->n;
}

const char *node_req_remote(const node_req *r)
{
    return r->l ? link_peer(r->l) : "";
}

int64_t node_req_content_length(const node_req *r)
{
    return r->head.content_length;
}

int node_req_header_foreach(const node_req *r,
                            int (*fn)(const char *name, const char *value, void *ud), void *ud)
{
    return http_head_header_foreach(&r->head, fn, ud);
}

const char *node_req_header(const node_req *r, const char *name)
{
    return http_head_header(&r->head, name);
}

int node_req_query_foreach(const node_req *r, int (*fn)(const char *arg, size_t len, void *ud),
                           void *ud)
{
    return http_head_query_foreach(&r->head, fn, ud);
}

const char *node_req_query_arg(const node_req *r, const char *name, char *out, size_t out_len)
{
    return http_head_query_arg(&r->head, name, out, out_len);
}

bool http_origin_allowed(node *n, const node_req *r, const char *origin)
{
    if (!origin || !origin[0] || n->cfg.cors != NODE_CORS_LIST)
        return true;
    for (size_t i = 0; i < n->cfg.n_cors_origins; i++)
        if (strcmp(origin, n->cors_origins[i]) == 0)
            return true;
    /* A page served by this node itself (same origin) is always allowed. */
    const char *host = node_req_header(r, "host");
    if (host) {
        const char *rest = strncmp(origin, "http://", 7) == 0    ? origin + 7
                           : strncmp(origin, "https://", 8) == 0 ? origin + 8
                                                                 : NULL;
        if (rest && strcmp(rest, host) == 0)
            return true;
    }
    return false;
}

/** Requests kept for reuse by a node: a polling request then costs no allocation. */
#define REQ_POOL_MAX 256

void http_req_free(node_req *r)
{
    if (!r)
        return;
    util_free(r->origin);
    util_free(r->sid);
    eio_budget_give(r->n->cfg.eio.budget, r->charged);
    util_buf_free(&r->body);
    util_buf_free(&r->answer);
    node *n = r->n;
    if (n->n_req_pool >= REQ_POOL_MAX) {
        http_head_free(&r->head);
        util_free(r);
        return;
    }
    http_head h = r->head;
    http_head_reset(&h);
    memset(r, 0, sizeof *r);
    r->head = h;
    r->n = n;
    r->pool_next = n->req_pool;
    n->req_pool = r;
    n->n_req_pool++;
}

void http_req_pool_free(node *n)
{
    while (n->req_pool) {
        node_req *r = n->req_pool;
        n->req_pool = r->pool_next;
        http_head_free(&r->head);
        util_free(r);
    }
    n->n_req_pool = 0;
}

/* ---- answers --------------------------------------------------------------------------------- */

/* The request on l is over: the next one may be parsed. */
static void req_done(node_req *r)
{
    node_link *l = r->l;
    bool keep = r->head.keep_alive && !r->close_after;
    if (l && l->req == r)
        l->req = NULL;
    http_req_free(r);
    if (!l || l->closing)
        return;
    if (!keep) {
        link_close_after_write(l);
        return;
    }
    if (l->kind == LINK_HTTP)
        http_in_resume(&l->u.hin);
    link_resume(l);
}

/* Formats the status line and headers of an answer into out. */
/* Appends the decimal form of v. */
static void put_uint(util_buf *out, uint64_t v)
{
    char d[24];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    util_buf_append(out, d + i, sizeof d - i);
}

/* Appends "name" value "\r\n". */
static void put_header(util_buf *out, const char *name, const char *value)
{
    util_buf_puts(out, name);
    util_buf_puts(out, value);
    util_buf_append(out, "\r\n", 2);
}

/* Formats the status line and headers of an answer into out (no printf: this runs per request). */
static void build_head(node_req *r, util_buf *out, int status, const char *ctype, const char *extra,
                       size_t len, bool close)
{
    node *n = r->n;
    util_buf_reserve(out, 256 + len);
    util_buf_puts(out, "HTTP/1.1 ");
    put_uint(out, (uint64_t)status);
    util_buf_putc(out, ' ');
    util_buf_puts(out, status_text(status));
    util_buf_append(out, "\r\n", 2);
    put_header(out, "Date: ", http_date(n));
    if (ctype && status != 204 && status != 304)
        put_header(out, "Content-Type: ", ctype);
    if (status != 204 && status != 304) {
        util_buf_puts(out, "Content-Length: ");
        put_uint(out, len);
        util_buf_append(out, "\r\n", 2);
    }
    if (r->origin && n->cfg.cors != NODE_CORS_NONE) {
        put_header(out, "Access-Control-Allow-Origin: ", r->origin);
        util_buf_puts(out, "Access-Control-Allow-Credentials: true\r\nVary: Origin\r\n");
        if (status == 204) {
            const char *req_hdrs = node_req_header(r, "access-control-request-headers");
            util_buf_puts(out, "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n");
            if (req_hdrs && *req_hdrs)
                put_header(out, "Access-Control-Allow-Headers: ", req_hdrs);
            util_buf_puts(out, "Access-Control-Max-Age: 86400\r\n");
        }
    }
    if (extra)
        util_buf_puts(out, extra);
    if (close)
        util_buf_puts(out, "Connection: close\r\n");
    else if (r->head.http_major == 1 && r->head.http_minor == 0)
        util_buf_puts(out, "Connection: keep-alive\r\n"); /* an HTTP/1.0 client asked for it */
    util_buf_append(out, "\r\n", 2);
}

void http_respond_hdrs(node_req *r, int status, const char *ctype, const char *extra,
                       const void *body, size_t len, bool close_after)
{
    node_link *l = r->l;
    if (close_after)
        r->close_after = true;
    bool close = r->close_after || !r->head.keep_alive;
    if (!l || l->closing) {
        /* The client is gone; a router answering late only frees the request. */
        if (l && l->req == r)
            l->req = NULL;
        http_req_free(r);
        return;
    }
    if (util_log_enabled(UTIL_SUB_HTTP, UTIL_LOG_DEBUG))
        util_log(UTIL_SUB_HTTP, UTIL_LOG_DEBUG, "%s %s -> %d (%zu bytes)%s", node_req_method(r),
                 node_req_path(r), status, len, close ? " close" : "");
    util_buf *b = &r->n->wbuf;
    b->len = 0;
    build_head(r, b, status, ctype, extra, len, close);
    if (r->head.method != HTTP_HEAD && len)
        util_buf_append(b, body, len);
    if (!r->complete && !close) {
        /* The body is still arriving: the answer waits for its end (the body is dropped), so
         * that the connection stays in step for the next request. */
        util_buf_reset(&r->answer);
        util_buf_append(&r->answer, b->data, b->len);
        r->kind = REQ_ANSWERED;
        return;
    }
    link_write(l, b->data, b->len);
    req_done(r);
}

void node_req_respond(node_req *r, int status, const char *ctype, const void *body, size_t len,
                      bool close_after)
{
    http_respond_hdrs(r, status, ctype, NULL, body, len, close_after);
}

void node_req_respond_error(node_req *r, eio_error err)
{
    char body[128];
    int len = eio_error_body(err, body, sizeof body);
    UTIL_LOGD(UTIL_SUB_HTTP, "%s %s error %d: %s", node_req_method(r), node_req_path(r), (int)err,
              eio_error_message(err));
    /* After a refused upgrade the connection's next bytes could be WebSocket frames: close it. */
    http_respond_hdrs(r, eio_error_status(err), "application/json", NULL, body, (size_t)len,
                      r->head.upgrade);
}

void http_continue(node_req *r)
{
    const char *e = node_req_header(r, "expect");
    node_link *l = r->l;
    if (!e || strcasecmp(e, "100-continue") != 0 || r->complete || r->continue_sent || !l ||
        l->kind != LINK_HTTP || (r->head.http_major == 1 && r->head.http_minor == 0))
        return;
    /* The client waits for this before it sends the body (curl does past 1 KiB). */
    r->continue_sent = true;
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    link_write(l, cont, sizeof cont - 1);
}

void node_req_take(node_req *r, const node_req_ops *ops, void *ud)
{
    r->kind = r->head.upgrade ? REQ_RELAY : REQ_TAKEN;
    if (ops)
        r->ops = *ops;
    r->ops_ud = ud;
    if (r->l)
        link_set_deadline(r->l, 0);
    if (r->kind == REQ_TAKEN)
        http_continue(r);
    if (r->complete && r->kind == REQ_TAKEN && r->ops.on_complete)
        r->ops.on_complete(r->ops_ud);
}

void http_req_gone(node_req *r)
{
    switch (r->kind) {
    case REQ_POLL_GET:
    case REQ_POLL_WAIT: polling_gone(r); return;
    case REQ_TAKEN:
    case REQ_RELAY:
        if (r->ops.on_abort) {
            node_req_ops ops = r->ops;
            r->ops = (node_req_ops){0};
            ops.on_abort(r->ops_ud);
        }
        http_req_free(r);
        return;
    default: http_req_free(r); return;
    }
}

/* ---- routing --------------------------------------------------------------------------------- */

static bool is_get(const node_req *r)
{
    return r->head.method == HTTP_GET || r->head.method == HTTP_HEAD;
}

static void serve_health(node_req *r, bool ready_check)
{
    node *n = r->n;
    if (!ready_check) {
        node_req_respond(r, 200, "text/plain", "ok", 2, false);
        return;
    }
    bool ready = !n->shutting_down && (!n->ready_fn || n->ready_fn(n->ready_ud));
    if (ready)
        node_req_respond(r, 200, "text/plain", "ready", 5, false);
    else
        node_req_respond(r, 503, "text/plain", "not ready", 9, false);
}

/* The checks every Engine.IO request passes (CORS, query), then the router's classification.
 * Returns false when r has been answered. */
static bool endpoint_checks(node_req *r, eio_request *er, char *b_eio, char *b_tr, char *b_sid)
{
    node *n = r->n;
    const char *origin = node_req_header(r, "origin");
    if (origin && *origin)
        r->origin = util_strdup(origin);
    if (!http_origin_allowed(n, r, origin)) {
        UTIL_LOGW_RL(UTIL_SUB_HTTP, "origin %s refused", origin);
        util_free(r->origin); /* a refused origin gets no CORS headers */
        r->origin = NULL;
        node_req_respond_error(r, EIO_ERR_FORBIDDEN);
        return false;
    }
    if (r->head.method == HTTP_OPTIONS && !r->head.upgrade) {
        node_req_respond(r, 204, NULL, NULL, 0, false);
        return false;
    }
    er->method = node_req_method(r);
    er->websocket = r->head.upgrade;
    er->eio = node_req_query_arg(r, "EIO", b_eio, 16);
    er->transport = node_req_query_arg(r, "transport", b_tr, 32);
    er->sid = node_req_query_arg(r, "sid", b_sid, 96);
    eio_error err = eio_request_check(er);
    if (err != EIO_ERR_NONE) {
        node_req_respond_error(r, err);
        return false;
    }
    /* A request forwarded by a peer must be signed, and is served here or nowhere. */
    if (n->router.classify) {
        int c = n->router.classify(n->router_ud, r);
        if (c < 0) {
            static const char body[] = "{\"code\":4,\"message\":\"Unauthorized cluster request\"}";
            util_free(r->origin);
            r->origin = NULL;
            http_respond_hdrs(r, 401, "application/json", NULL, body, sizeof body - 1,
                              r->head.upgrade);
            return false;
        }
        r->from_peer = c > 0;
    }
    return true;
}

/* A non-upgrade request to an Engine.IO endpoint. */
static void endpoint_request(node_req *r)
{
    node *n = r->n;
    char b_eio[16], b_tr[32], b_sid[96];
    eio_request er = {0};
    if (!endpoint_checks(r, &er, b_eio, b_tr, b_sid))
        return;
    if (!er.sid) {
        if (n->shutting_down) {
            node_req_respond(r, 503, "text/plain", "Shutting down", 13, false);
            return;
        }
        if (eio_budget_over(n->cfg.eio.budget)) {
            UTIL_LOGW_RL(UTIL_SUB_NODE, "new session refused: the node is over its memory budget");
            http_respond_hdrs(r, 503, "text/plain", "Retry-After: 1\r\n", "Over memory budget", 18,
                              false);
            return;
        }
        node_session *c = session_new(n, r->ep, EIO_TR_POLLING, r);
        polling_get(r, c);
        return;
    }
    node_session *c = node_find_session(n, er.sid);
    if (!c && n->router.forward && !r->from_peer &&
        (r->head.method == HTTP_GET || r->head.method == HTTP_POST)) {
        n->router.forward(n->router_ud, r, er.sid);
        return;
    }
    if (!c || c->ep != r->ep) {
        UTIL_LOGD(UTIL_SUB_HTTP, "unknown sid %s%s", er.sid, r->from_peer ? " (forwarded)" : "");
        node_req_respond_error(r, EIO_ERR_UNKNOWN_SID);
        return;
    }
    if (r->head.method == HTTP_GET)
        polling_get(r, c);
    else if (r->head.method == HTTP_POST)
        polling_post_start(r, er.sid);
    else
        node_req_respond_error(r, EIO_ERR_BAD_REQUEST);
}

/* Routes a request whose headers are complete (not an upgrade). */
static void dispatch(node_req *r)
{
    node *n = r->n;
    const char *path = node_req_path(r);
    UTIL_LOGD(UTIL_SUB_HTTP, "%s %s", node_req_method(r), path);
    for (route *rt = n->routes; rt; rt = rt->next) {
        bool match =
            rt->prefix ? strncmp(path, rt->path, rt->path_len) == 0 : strcmp(rt->path, path) == 0;
        if (match && (rt->any_method || is_get(r))) {
            r->kind = REQ_ANSWERED; /* the route answers r before returning */
            rt->fn(r, rt->ud);
            return;
        }
    }
    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0) {
        serve_health(r, path[1] == 'r');
        return;
    }
    r->ep = http_find_endpoint(n, path);
    if (r->ep) {
        endpoint_request(r);
        return;
    }
    if (is_get(r) && static_serve(n, r))
        return;
    node_req_respond(r, 404, "text/plain", "Not Found", 9, false);
}

/* ---- the parser's events (http_parse.h) -------------------------------------------------------- */

static http_head *on_begin(void *ud)
{
    node_link *l = ud;
    node *n = l->n;
    node_req *r = n->req_pool;
    if (r) {
        n->req_pool = r->pool_next;
        n->n_req_pool--;
        r->pool_next = NULL;
    } else {
        r = util_calloc(1, sizeof *r);
    }
    r->l = l;
    r->n = l->n;
    l->req = r;
    l->n->stats.http_requests++;
    return &r->head;
}

static int on_head(void *ud)
{
    node_link *l = ud;
    node_req *r = l->req;
    if (r->head.bad_target) {
        http_respond_hdrs(r, 400, "text/plain", NULL, "Bad Request", 11, true);
        return 1;
    }
    if (r->head.upgrade)
        return 0; /* decided once the parser has stopped (http_feed) */
    dispatch(r);
    return l->after_write_close || l->closing;
}

/* Sends an answer that waited for the body, then closes (the body was too large to drop). */
static void answer_now_and_close(node_link *l, node_req *r)
{
    util_buf a = r->answer;
    r->answer = (util_buf)UTIL_BUF_INIT;
    link_write(l, a.data, a.len);
    util_buf_free(&a);
    l->req = NULL;
    http_req_free(r);
    link_close_after_write(l);
}

static int on_body(void *ud, const char *at, size_t len)
{
    node_link *l = ud;
    node_req *r = l->req;
    if (!r)
        return 0;
    switch (r->kind) {
    case REQ_POLL_POST:
        if (r->body.len + len > r->n->cfg.eio.max_payload) {
            node_session *c = node_find_session(r->n, r->sid);
            UTIL_LOGW_RL(UTIL_SUB_ENGINEIO, "sid=%s POST body over maxPayload", r->sid);
            if (c)
                eio_session_close(c->eio, EIO_REASON_TRANSPORT_ERROR);
            http_respond_hdrs(r, 413, "text/plain", NULL, "Payload Too Large", 17, true);
            return 1;
        }
        if (!eio_budget_take(r->n->cfg.eio.budget, len)) {
            /* Refused, not accepted: the client's transport fails and it reconnects. */
            UTIL_LOGW_RL(UTIL_SUB_ENGINEIO,
                         "sid=%s POST refused: the node is over its memory budget", r->sid);
            http_respond_hdrs(r, 503, "text/plain", "Retry-After: 1\r\n", "Over memory budget", 18,
                              true);
            return 1;
        }
        r->charged += len;
        util_buf_append(&r->body, at, len);
        return 0;
    case REQ_TAKEN:
        if (r->ops.on_body)
            r->ops.on_body(r->ops_ud, at, len);
        return l->req == r ? 0 : 1; /* answered (and closing) from the callback: stop */
    default:
        /* A body nobody wants is read and dropped; a large one is not worth the wait. */
        r->dropped += len;
        if (r->dropped <= r->n->cfg.eio.max_payload)
            return 0;
        if (r->kind == REQ_ANSWERED && r->answer.len)
            answer_now_and_close(l, r);
        else
            http_respond_hdrs(r, 413, "text/plain", NULL, "Payload Too Large", 17, true);
        return 1;
    }
}

static int on_complete(void *ud)
{
    node_link *l = ud;
    node_req *r = l->req;
    if (!r)
        return 0;
    r->complete = true;
    if (r->head.upgrade)
        return 0;
    link_set_deadline(l, 0);
    l->paused = true;
    switch (r->kind) {
    case REQ_ANSWERED:
        if (r->answer.len) {
            util_buf a = r->answer;
            r->answer = (util_buf)UTIL_BUF_INIT;
            link_write(l, a.data, a.len);
            util_buf_free(&a);
            req_done(r);
        }
        break;
    case REQ_POLL_POST: polling_post_done(r); break;
    case REQ_TAKEN:
        if (r->ops.on_complete)
            r->ops.on_complete(r->ops_ud);
        break;
    default: break;
    }
    return 0;
}

static const http_in_cbs k_cbs = {on_begin, on_head, on_body, on_complete};

void http_link_init(node_link *l)
{
    l->kind = LINK_HTTP;
    http_in_init(&l->u.hin, &k_cbs, l, (uint32_t)l->n->cfg.max_url_bytes,
                 (uint32_t)l->n->cfg.max_header_bytes);
}

/* Answers a request the parser refused, then closes. */
static void parse_error(node_link *l)
{
    int status = http_in_error_status(&l->u.hin);
    const char *text = status_text(status);
    UTIL_LOGD(UTIL_SUB_HTTP, "request refused (%d): %s", status, http_in_error_text(&l->u.hin));
    if (l->req) {
        http_respond_hdrs(l->req, status, "text/plain", NULL, text, strlen(text), true);
        return;
    }
    /* Garbage before any request line: answer once and close. */
    char buf[256];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     status, text, strlen(text), text);
    link_write(l, buf, (size_t)n);
    link_close_after_write(l);
}

size_t http_feed(node_link *l, uint8_t *data, size_t len)
{
    if (l->req && l->req->complete)
        return 0; /* waiting for the answer */
    size_t used;
    http_in_result res = http_in_feed(&l->u.hin, data, len, &used);
    if (l->closing || l->after_write_close)
        return used;
    switch (res) {
    case HTTP_IN_UPGRADE:
        /* The rest of the stream belongs to the protocol upgraded to. */
        l->paused = true;
        link_set_deadline(l, 0);
        ws_upgrade_request(l->req);
        return used;
    case HTTP_IN_PAUSED:
        if (!l->req) {
            /* The request was answered while it was parsed: go on with the next one. */
            http_in_resume(&l->u.hin);
            l->paused = false;
        }
        return used;
    case HTTP_IN_ERROR: parse_error(l); return len;
    case HTTP_IN_STOPPED:
    case HTTP_IN_MORE:
    default: return used;
    }
}

/* ---- extra routes and the router ---------------------------------------------------------------- */

/* Adds a route; exact routes are listed before prefix routes, so an exact path wins. */
static int add_route(node *n, const char *path, bool prefix, bool any_method, node_route_fn fn,
                     void *ud)
{
    for (route *rt = n->routes; rt; rt = rt->next)
        if (strcmp(rt->path, path) == 0 && rt->prefix == prefix)
            return -1;
    route *rt = util_calloc(1, sizeof *rt);
    rt->path = util_strdup(path);
    rt->path_len = strlen(path);
    rt->prefix = prefix;
    rt->any_method = any_method;
    rt->fn = fn;
    rt->ud = ud;
    route **at = &n->routes;
    while (*at && (prefix || !(*at)->prefix))
        at = &(*at)->next;
    rt->next = *at;
    *at = rt;
    return 0;
}

int node_add_route(node *n, const char *path, bool any_method, node_route_fn fn, void *ud)
{
    return add_route(n, path, false, any_method, fn, ud);
}

int node_add_route_prefix(node *n, const char *prefix, bool any_method, node_route_fn fn, void *ud)
{
    return add_route(n, prefix, true, any_method, fn, ud);
}

void node_req_respond_headers(node_req *r, int status, const char *ctype, const char *headers,
                              const void *body, size_t len, bool close_after)
{
    http_respond_hdrs(r, status, ctype, headers, body, len, close_after);
}

void node_set_router(node *n, const node_router_ops *ops, void *ud)
{
    if (ops)
        n->router = *ops;
    else
        n->router = (node_router_ops){0};
    n->router_ud = ops ? ud : NULL;
}

/* The WebSocket upgrade r: RFC 6455 checks, then the Engine.IO ones. */
void ws_upgrade_request(node_req *r)
{
    node *n = r->n;
    const char *upg = node_req_header(r, "upgrade");
    if (!upg || !http_has_token(upg, "websocket")) {
        /* Another protocol (h2c, ...): not served; the connection cannot go on. */
        r->head.upgrade = false;
        r->close_after = true;
        dispatch(r);
        return;
    }
    const char *path = node_req_path(r);
    r->ep = http_find_endpoint(n, path);
    if (!r->ep || r->head.method != HTTP_GET) {
        UTIL_LOGD(UTIL_SUB_HTTP, "WebSocket to %s %s refused: not an endpoint", node_req_method(r),
                  path);
        http_respond_hdrs(r, r->ep ? 405 : 404, "text/plain", NULL,
                          r->ep ? "Method Not Allowed" : "Not Found", r->ep ? 18 : 9, true);
        return;
    }
    const char *version = node_req_header(r, "sec-websocket-version");
    if (!version || strcmp(version, "13") != 0) {
        UTIL_LOGD(UTIL_SUB_HTTP, "WebSocket version %s refused", version ? version : "(none)");
        static const char body[] = "Unsupported WebSocket version (13 is)";
        http_respond_hdrs(r, 426, "text/plain", "Sec-WebSocket-Version: 13\r\n", body,
                          sizeof body - 1, true);
        return;
    }
    const char *key = node_req_header(r, "sec-websocket-key");
    util_buf raw = UTIL_BUF_INIT;
    bool key_ok =
        key && strlen(key) == 24 && util_base64_decode(&raw, key, 24) == 0 && raw.len == 16;
    util_buf_free(&raw);
    if (!key_ok) {
        UTIL_LOGD(UTIL_SUB_HTTP, "WebSocket refused: invalid Sec-WebSocket-Key");
        static const char body[] = "Invalid Sec-WebSocket-Key";
        http_respond_hdrs(r, 400, "text/plain", NULL, body, sizeof body - 1, true);
        return;
    }
    char b_eio[16], b_tr[32], b_sid[96];
    eio_request er = {0};
    if (!endpoint_checks(r, &er, b_eio, b_tr, b_sid))
        return;
    if (er.sid && !node_find_session(n, er.sid) && n->router.relay && !r->from_peer) {
        n->router.relay(n->router_ud, r, er.sid);
        return;
    }
    if (!er.sid && n->shutting_down) {
        http_respond_hdrs(r, 503, "text/plain", NULL, "Shutting down", 13, true);
        return;
    }
    eio_ws_upgrade(r, er.sid);
}
