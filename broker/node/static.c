/* static: GET/HEAD for static files (--static DIR) and the browser client at
 * <endpoint path>socket.io.min.js, sent with libwebsockets' own file serving. */
#include "node_internal.h"

#include "util_alloc.h"
#include "util_log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLIENT_JS "socket.io.min.js"
#define CLIENT_MAP "socket.io.min.js.map"

/* Content type by file extension (case-insensitive). Static string. */
static const char *mime_type(const char *file)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"js", "application/javascript"},
        {"mjs", "application/javascript"},
        {"css", "text/css; charset=utf-8"},
        {"json", "application/json"},
        {"map", "application/json"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"ico", "image/x-icon"},
        {"txt", "text/plain; charset=utf-8"},
    };
    const char *slash = strrchr(file, '/');
    const char *dot = strrchr(slash ? slash : file, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

static bool is_html(const char *mime)
{
    return strncmp(mime, "text/html", 9) == 0;
}

/* Starts sending file with lws_serve_http_file and handles its result as its contract asks:
 * < 0 is a failure (the connection is closed), > 0 means the transaction already ended (e.g. lws
 * answered 404 itself because the file vanished) and must be completed here, 0 means lws sends
 * the file from now on (LWS_CALLBACK_HTTP_FILE_COMPLETION follows). Always returns 1. */
static int serve_file(struct lws *wsi, const char *method, const char *path, const char *file,
                      const char *mime)
{
    unsigned char hdrs[256];
    unsigned char *start = hdrs, *p = start, *end = hdrs + sizeof hdrs - 1;
    if (is_html(mime) &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-cache", 8, &p, end)) {
        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);
        return 1;
    }
    /* lws looks for "cache-control" in other_headers with strstr: keep them NUL-terminated. */
    *p = '\0';
    int hlen = (int)(p - start);
    UTIL_LOGD(UTIL_SUB_HTTP, "%s %s: serving %s (%s)", method, path, file, mime);
    int r = lws_serve_http_file(wsi, file, mime, hlen ? (const char *)start : NULL, hlen);
    if (r < 0 || (r > 0 && lws_http_transaction_completed(wsi))) {
        /* We run inside LWS_CALLBACK_HTTP, whose caller ignores our result: close the
         * connection asynchronously instead of returning -1 from the callback. */
        UTIL_LOGD(UTIL_SUB_HTTP, "%s %s: closing after file serving ended (%d)", method, path, r);
        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);
    }
    return 1;
}

static int not_found(struct lws *wsi, pss *p, const char *method, const char *path, const char *why)
{
    UTIL_LOGD(UTIL_SUB_HTTP, "%s %s: 404 (%s)", method, path, why);
    http_respond(wsi, p, 404, "text/plain", "Not Found", 9);
    return 1;
}

static bool readable_file(const char *file)
{
    struct stat st;
    return stat(file, &st) == 0 && S_ISREG(st.st_mode) && access(file, R_OK) == 0;
}

/* The browser client (and its source map) at <endpoint path>socket.io.min.js[.map]. Returns 1
 * when served, 0 when path is not the client. */
static int serve_client(node *n, struct lws *wsi, const char *path, const char *method)
{
    size_t len = strlen(path);
    for (endpoint *ep = n->endpoints; ep; ep = ep->next) {
        if (len <= ep->path_len || memcmp(path, ep->path, ep->path_len) != 0)
            continue;
        const char *name = path + ep->path_len;
        if (strcmp(name, CLIENT_JS) == 0 && readable_file(n->client_js))
            return serve_file(wsi, method, path, n->client_js, "application/javascript");
        if (strcmp(name, CLIENT_MAP) == 0) {
            size_t clen = strlen(n->client_js);
            char *map = util_malloc(clen + 5);
            memcpy(map, n->client_js, clen);
            memcpy(map + clen, ".map", 5);
            int r = readable_file(map) ? serve_file(wsi, method, path, map, "application/json") : 0;
            util_free(map);
            if (r)
                return r;
        }
    }
    return 0;
}

/* Resolves candidate with realpath and checks that it lies under root (a canonical path).
 * Returns the canonical path (caller frees with free()) or NULL. */
static char *resolve_under(const char *root, const char *candidate)
{
    char *real = realpath(candidate, NULL);
    if (!real)
        return NULL;
    size_t rlen = strlen(root);
    if (strncmp(real, root, rlen) != 0 || (real[rlen] != '/' && real[rlen] != '\0')) {
        free(real);
        return NULL;
    }
    return real;
}

/* A file under n->static_dir. Always takes the request (the directory is mounted at /). */
static int serve_static(node *n, struct lws *wsi, pss *p, const char *path, const char *method)
{
    /* lws has already percent-decoded the path; a decoded NUL would cut it short, so compare
     * with the length lws recorded for the URI. */
    enum lws_token_indexes tok =
        strcmp(method, "HEAD") == 0 ? WSI_TOKEN_HEAD_URI : WSI_TOKEN_GET_URI;
    size_t len = strlen(path);
    int urilen = lws_hdr_total_length(wsi, tok);
    if (path[0] != '/' || (urilen > 0 && (size_t)urilen != len) || strstr(path, "..") ||
        strchr(path, '\\'))
        return not_found(wsi, p, method, path, "path refused");

    char *root = realpath(n->static_dir, NULL);
    if (!root)
        return not_found(wsi, p, method, path, "static directory missing");
    bool dir_request = path[len - 1] == '/';
    size_t clen = strlen(root) + len + sizeof "/index.html";
    char *candidate = util_malloc(clen);
    snprintf(candidate, clen, "%s%s%s", root, path, dir_request ? "index.html" : "");

    char *real = resolve_under(root, candidate);
    struct stat st;
    if (real && stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
        /* A directory named without its trailing slash: serve its index.html. */
        size_t dlen = strlen(real) + sizeof "/index.html";
        char *index = util_malloc(dlen);
        snprintf(index, dlen, "%s/index.html", real);
        free(real);
        real = resolve_under(root, index);
        util_free(index);
    }
    int r;
    if (!real)
        r = not_found(wsi, p, method, path, "no such file under the static directory");
    else if (!readable_file(real))
        r = not_found(wsi, p, method, path, "not a readable regular file");
    else
        r = serve_file(wsi, method, path, real, mime_type(real));
    free(real);
    util_free(candidate);
    free(root);
    return r;
}

int static_serve(node *n, struct lws *wsi, pss *p, const char *path, const char *method)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return 0;
    p->kind = PSS_IDLE; /* lws drives the transfer; http.c's WRITEABLE leaves PSS_IDLE alone */
    if (n->client_js && serve_client(n, wsi, path, method))
        return 1;
    if (n->static_dir)
        return serve_static(n, wsi, p, path, method);
    return 0;
}

/* Returns the browser client installed next to the running program,
 * <dir of executable>/../share/siobroker/socket.io.min.js, as a canonical path that the caller
 * owns (free with util_free), or NULL when that file does not exist or is not readable. */
char *static_default_client_js(void)
{
    char exe[PATH_MAX];
    size_t len = sizeof exe;
    if (uv_exepath(exe, &len) != 0)
        return NULL;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    char candidate[PATH_MAX + 64];
    snprintf(candidate, sizeof candidate, "%s/../share/siobroker/" CLIENT_JS, exe);
    char *real = realpath(candidate, NULL);
    if (!real)
        return NULL;
    char *out = readable_file(real) ? util_strdup(real) : NULL;
    free(real);
    return out;
}
