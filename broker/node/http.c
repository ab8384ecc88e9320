/* http: the lws protocol callback: routes HTTP requests (Engine.IO polling, health) and WebSocket
 * events, applies CORS, and writes prepared responses. */
#include "node_internal.h"

#include "util_alloc.h"
#include "util_log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

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

const char *http_method(struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes tok;
        const char *name;
    } methods[] = {
        {WSI_TOKEN_GET_URI, "GET"},         {WSI_TOKEN_POST_URI, "POST"},
        {WSI_TOKEN_OPTIONS_URI, "OPTIONS"}, {WSI_TOKEN_PUT_URI, "PUT"},
        {WSI_TOKEN_PATCH_URI, "PATCH"},     {WSI_TOKEN_DELETE_URI, "DELETE"},
        {WSI_TOKEN_HEAD_URI, "HEAD"},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0)
            return methods[i].name;
    return "?";
}

bool http_origin_allowed(node *n, struct lws *wsi, const char *origin)
{
    if (!origin[0] || n->cfg.cors != NODE_CORS_LIST)
        return true;
    for (size_t i = 0; i < n->cfg.n_cors_origins; i++)
        if (strcmp(origin, n->cors_origins[i]) == 0)
            return true;
    /* A page served by this node itself (same origin) is always allowed. */
    char host[256];
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) > 0) {
        const char *rest = strncmp(origin, "http://", 7) == 0    ? origin + 7
                           : strncmp(origin, "https://", 8) == 0 ? origin + 8
                                                                 : NULL;
        if (rest && strcmp(rest, host) == 0)
            return true;
    }
    return false;
}

void pss_strings_free(pss *p)
{
    util_free(p->origin);
    util_free(p->sid);
    p->origin = p->sid = NULL;
}

/* Prepares a complete response on p and asks for WRITEABLE. body is copied. */
void http_respond(struct lws *wsi, pss *p, int status, const char *ctype, const void *body,
                  size_t len)
{
    p->kind = PSS_RESPOND;
    p->status = status;
    p->ctype = ctype;
    util_buf_reset(&p->body);
    util_buf_append(&p->body, body, len);
    lws_callback_on_writable(wsi);
}

void http_respond_error(struct lws *wsi, pss *p, eio_error err)
{
    char body[128];
    int len = eio_error_body(err, body, sizeof body);
    UTIL_LOGD(UTIL_SUB_HTTP, "%s error %d: %s", http_method(wsi), (int)err, eio_error_message(err));
    http_respond(wsi, p, eio_error_status(err), "application/json", body, (size_t)len);
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **ptr,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), ptr, end);
}

/* Writes the response prepared in p. Returns what the callback must return. */
static int http_write(struct lws *wsi, pss *p)
{
    node *n = lws_context_user(lws_get_context(wsi));
    unsigned char hbuf[LWS_PRE + 2048];
    unsigned char *start = hbuf + LWS_PRE, *ptr = start, *end = hbuf + sizeof hbuf - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)p->status, p->ctype, p->body.len, &ptr, end))
        return -1;
    if (p->origin && n->cfg.cors != NODE_CORS_NONE) {
        if (add_header(wsi, "access-control-allow-origin:", p->origin, &ptr, end) ||
            add_header(wsi, "access-control-allow-credentials:", "true", &ptr, end) ||
            add_header(wsi, "vary:", "Origin", &ptr, end))
            return -1;
        if (p->status == 204) {
            char req_hdrs[256] = "";
            lws_hdr_copy(wsi, req_hdrs, sizeof req_hdrs, WSI_TOKEN_HTTP_AC_REQUEST_HEADERS);
            if (add_header(wsi, "access-control-allow-methods:", "GET, POST, OPTIONS", &ptr, end) ||
                (req_hdrs[0] &&
                 add_header(wsi, "access-control-allow-headers:", req_hdrs, &ptr, end)) ||
                add_header(wsi, "access-control-max-age:", "86400", &ptr, end))
                return -1;
        }
    }
    if (p->close_after && add_header(wsi, "connection:", "close", &ptr, end))
        return -1;
    if (lws_finalize_http_header(wsi, &ptr, end))
        return -1;
    /* Headers and body leave in one write (one syscall, one TCP segment for a small answer). A
     * HEAD response carries the headers of the GET response but no body. */
    size_t hlen = (size_t)(ptr - start);
    size_t blen = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0 ? 0 : p->body.len;
    util_buf *b = &n->wbuf;
    b->len = LWS_PRE;
    util_buf_append(b, start, hlen);
    if (blen)
        util_buf_append(b, p->body.data, blen);
    if (lws_write(wsi, b->data + LWS_PRE, hlen + blen, LWS_WRITE_HTTP_HEADERS) < 0)
        return -1;
    UTIL_LOGD(UTIL_SUB_HTTP, "response %d %zu bytes", p->status, p->body.len);
    p->kind = PSS_IDLE;
    util_buf_free(&p->body);
    /* The transaction is over: nothing of it stays with the connection (which may be upgraded to
     * a WebSocket next, and lws does not report the end of an HTTP pss then). */
    pss_strings_free(p);
    if (p->close_after)
        return -1;
    if (lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

void http_respond_now(struct lws *wsi, pss *p, int status, const char *ctype, const void *body,
                      size_t len)
{
    http_respond(wsi, p, status, ctype, body, len);
    if (lws_send_pipe_choked(wsi))
        return; /* WRITEABLE will send it */
    if (http_write(wsi, p) < 0)
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

int http_query_foreach(struct lws *wsi, int (*fn)(const char *arg, size_t len, void *ud), void *ud)
{
    char small[512];
    for (int i = 0;; i++) {
        int flen = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (flen <= 0)
            return 0;
        char *buf = (size_t)flen < sizeof small ? small : util_malloc((size_t)flen + 1);
        int got = lws_hdr_copy_fragment(wsi, buf, flen + 1, WSI_TOKEN_HTTP_URI_ARGS, i);
        int rc = got >= 0 ? fn(buf, (size_t)got, ud) : 0;
        if (buf != small)
            util_free(buf);
        if (rc)
            return rc;
    }
}

typedef struct urlarg {
    const char *name; /* "EIO=" */
    size_t name_len;
    char *out;
    size_t out_len;
    bool found;
} urlarg;

static int match_arg(const char *arg, size_t len, void *ud)
{
    urlarg *u = ud;
    if (len < u->name_len || memcmp(arg, u->name, u->name_len) != 0)
        return 0;
    size_t vlen = len - u->name_len;
    if (vlen >= u->out_len)
        vlen = u->out_len - 1; /* longer than any valid value: it will not match */
    memcpy(u->out, arg + u->name_len, vlen);
    u->out[vlen] = '\0';
    u->found = true;
    return 1;
}

const char *http_urlarg(struct lws *wsi, const char *name, char *out, size_t out_len)
{
    urlarg u = {name, strlen(name), out, out_len, false};
    http_query_foreach(wsi, match_arg, &u);
    return u.found ? out : NULL;
}

static void get_arg(struct lws *wsi, const char *name, char *buf, int len, const char **out)
{
    *out = http_urlarg(wsi, name, buf, (size_t)len);
}

/* Handles the start of an HTTP request (headers complete). */
static int http_request(node *n, struct lws *wsi, pss *p, const char *path)
{
    util_buf_free(&p->body);
    p->kind = PSS_IDLE;
    p->conn = NULL;
    p->close_after = false;
    p->from_peer = false;
    pss_strings_free(p);
    const char *method = http_method(wsi);
    UTIL_LOGD(UTIL_SUB_HTTP, "%s %s", method, path);

    if (strcmp(path, "/healthz") == 0) {
        http_respond(wsi, p, 200, "text/plain", "ok", 2);
        return 0;
    }
    if (strcmp(path, "/readyz") == 0) {
        bool ready = !n->shutting_down && (!n->ready_fn || n->ready_fn(n->ready_ud));
        if (ready)
            http_respond(wsi, p, 200, "text/plain", "ready", 5);
        else
            http_respond(wsi, p, 503, "text/plain", "not ready", 9);
        return 0;
    }
    endpoint *ep = http_find_endpoint(n, path);
    if (!ep && static_serve(n, wsi, p, path, method))
        return 0;
    if (!ep) {
        p->close_after = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
        http_respond(wsi, p, 404, "text/plain", "Not Found", 9);
        return 0;
    }
    p->ep = ep;
    bool has_body =
        strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
    if (has_body)
        p->close_after = true; /* until the body is read and used */

    int olen = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (olen > 0) {
        p->origin = util_malloc((size_t)olen + 1);
        if (lws_hdr_copy(wsi, p->origin, olen + 1, WSI_TOKEN_ORIGIN) <= 0) {
            util_free(p->origin);
            p->origin = NULL;
        }
    }
    if (!http_origin_allowed(n, wsi, p->origin ? p->origin : "")) {
        UTIL_LOGW(UTIL_SUB_HTTP, "origin %s refused", p->origin);
        util_free(p->origin); /* a refused origin gets no CORS headers */
        p->origin = NULL;
        http_respond_error(wsi, p, EIO_ERR_FORBIDDEN);
        return 0;
    }
    if (strcmp(method, "OPTIONS") == 0) {
        http_respond(wsi, p, 204, "text/plain", NULL, 0);
        return 0;
    }

    char b_eio[16], b_tr[32], b_sid[96];
    eio_request r = {.method = method, .websocket = false};
    get_arg(wsi, "EIO=", b_eio, sizeof b_eio, &r.eio);
    get_arg(wsi, "transport=", b_tr, sizeof b_tr, &r.transport);
    get_arg(wsi, "sid=", b_sid, sizeof b_sid, &r.sid);
    eio_error err = eio_request_check(&r);
    if (err != EIO_ERR_NONE) {
        http_respond_error(wsi, p, err);
        return 0;
    }
    /* A request forwarded by a peer must be signed, and is served here or nowhere. */
    bool forwarded = forward_is_forwarded(wsi);
    p->from_peer = forwarded;
    if (forwarded && !forward_auth_ok(n, wsi, method, path)) {
        static const char body[] = "{\"code\":4,\"message\":\"Unauthorized cluster request\"}";
        util_free(p->origin);
        p->origin = NULL;
        http_respond(wsi, p, 401, "application/json", body, sizeof body - 1);
        return 0;
    }
    if (!r.sid) {
        node_session *c = conn_new(n, ep, EIO_TR_POLLING, wsi);
        polling_get(n, wsi, p, c);
        return 0;
    }
    node_session *c = conn_find(n, r.sid);
    if (!c && n->route && !forwarded &&
        (strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0)) {
        forward_start(n, wsi, p, method, ep->path, r.sid);
        return 0;
    }
    if (!c || c->ep != ep) {
        UTIL_LOGD(UTIL_SUB_HTTP, "unknown sid %s%s", r.sid, forwarded ? " (forwarded)" : "");
        http_respond_error(wsi, p, EIO_ERR_UNKNOWN_SID);
        return 0;
    }
    if (strcmp(method, "GET") == 0) {
        polling_get(n, wsi, p, c);
        return 0;
    }
    if (strcmp(method, "POST") != 0) {
        http_respond_error(wsi, p, EIO_ERR_BAD_REQUEST);
        return 0;
    }
    char clen[32];
    if (lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
        strtoull(clen, NULL, 10) > n->cfg.eio.max_payload) {
        UTIL_LOGW(UTIL_SUB_ENGINEIO, "sid=%s POST body of %s bytes over maxPayload", r.sid, clen);
        http_respond(wsi, p, 413, "text/plain", "Payload Too Large", 17);
        eio_session_close(c->eio, EIO_REASON_TRANSPORT_ERROR);
        return 0;
    }
    p->kind = PSS_POLL_POST;
    p->sid = util_strdup(r.sid);
    return 0;
}

static void http_body(node *n, struct lws *wsi, pss *p, const void *in, size_t len)
{
    if (p->kind == PSS_FWD_BODY) {
        forward_body(n, wsi, p, in, len);
        return;
    }
    if (p->kind != PSS_POLL_POST)
        return;
    if (p->body.len + len > n->cfg.eio.max_payload) {
        UTIL_LOGW(UTIL_SUB_ENGINEIO, "sid=%s POST body over maxPayload", p->sid);
        node_session *c = conn_find(n, p->sid);
        http_respond(wsi, p, 413, "text/plain", "Payload Too Large", 17);
        if (c)
            eio_session_close(c->eio, EIO_REASON_TRANSPORT_ERROR);
        p->kind = PSS_RESPOND;
        return;
    }
    util_buf_append(&p->body, in, len);
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    pss *p = user;
    struct lws_context *ctx = lws_get_context(wsi);
    node *n = ctx ? lws_context_user(ctx) : NULL;

    /* lws may report some events (a close before the protocol was bound) without storage. */
    if (!p) {
        switch (reason) {
        case LWS_CALLBACK_HTTP:
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        case LWS_CALLBACK_ESTABLISHED:
        case LWS_CALLBACK_RECEIVE: return -1;
        case LWS_CALLBACK_HTTP_BODY:
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        case LWS_CALLBACK_HTTP_WRITEABLE:
        case LWS_CALLBACK_SERVER_WRITEABLE:
        case LWS_CALLBACK_CLOSED_HTTP:
        case LWS_CALLBACK_CLOSED:
        case LWS_CALLBACK_WSI_DESTROY: return 0;
        default: return lws_callback_http_dummy(wsi, reason, user, in, len);
        }
    }
    switch (reason) {
    case LWS_CALLBACK_HTTP: return http_request(n, wsi, p, (const char *)in);
    case LWS_CALLBACK_HTTP_BODY: http_body(n, wsi, p, in, len); return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (p->kind == PSS_POLL_POST)
            polling_post_done(n, wsi, p);
        else if (p->kind == PSS_FWD_BODY)
            forward_body_done(n, wsi, p);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (p->kind == PSS_RESPOND)
            return http_write(wsi, p);
        if (p->kind == PSS_POLL_GET) {
            if (polling_writeable(wsi, p))
                return http_write(wsi, p);
        }
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        polling_closed(p);
        util_buf_free(&p->body);
        pss_strings_free(p);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: return ws_filter(n, wsi, p);
    case LWS_CALLBACK_ESTABLISHED: return ws_established(n, wsi, p);
    case LWS_CALLBACK_RECEIVE: return ws_receive(n, wsi, p, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE: return ws_writeable(n, wsi, p);
    case LWS_CALLBACK_CLOSED: ws_closed(n, wsi, p); return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (p) {
            polling_closed(p);
            if (p->kind == PSS_RELAY)
                relay_closed(n, p);
            util_buf_free(&p->body);
            util_buf_free(&p->rx);
            pss_strings_free(p);
        }
        return 0;
    default: return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
