/* static: GET/HEAD for static files (--static DIR) and the browser client at
 * <endpoint path>socket.io.min.js, with an ETag and one cache policy (revalidate: 304). */
#include "node_internal.h"

#include "util_alloc.h"
#include "util_log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

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
        {"woff2", "font/woff2"},
        {"woff", "font/woff"},
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

/** Largest file served (read whole into memory: the page, its assets and the client). */
#define STATIC_MAX_FILE (16u * 1024 * 1024)

/* True when the If-None-Match list of r names etag (or is "*"). */
static bool etag_matches(const node_req *r, const char *etag)
{
    const char *inm = node_req_header(r, "if-none-match");
    if (!inm)
        return false;
    size_t el = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2; /* a weak comparison is enough for GET */
        if (strncmp(p, etag, el) == 0 && (p[el] == '\0' || p[el] == ',' || p[el] == ' '))
            return true;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

/* Answers r with file: ETag from its size and modification time, "Cache-Control: no-cache" (the
 * browser keeps a copy and revalidates it: 304 when unchanged), the same for every file and the
 * client. Always returns 1 (r is answered). */
static int serve_file(node_req *r, const char *file, const char *mime)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        node_req_respond(r, 404, "text/plain", "Not Found", 9, false);
        return 1;
    }
    char etag[64], extra[160];
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)st.st_mtim.tv_nsec);
    snprintf(extra, sizeof extra, "ETag: %s\r\nCache-Control: no-cache\r\n", etag);
    if (etag_matches(r, etag)) {
        close(fd);
        http_respond_hdrs(r, 304, NULL, extra, NULL, 0, false);
        return 1;
    }
    if ((uint64_t)st.st_size > STATIC_MAX_FILE) {
        close(fd);
        UTIL_LOGW_RL(UTIL_SUB_HTTP, "%s: %lld bytes, over the %u bytes served", file,
                     (long long)st.st_size, STATIC_MAX_FILE);
        node_req_respond(r, 500, "text/plain", "File too large", 14, false);
        return 1;
    }
    util_buf body = UTIL_BUF_INIT;
    util_buf_reserve(&body, (size_t)st.st_size);
    while (body.len < (size_t)st.st_size) {
        ssize_t got = read(fd, body.data + body.len, (size_t)st.st_size - body.len);
        if (got <= 0)
            break;
        body.len += (size_t)got;
    }
    close(fd);
    UTIL_LOGD(UTIL_SUB_HTTP, "%s %s: serving %s (%s)", node_req_method(r), node_req_path(r), file,
              mime);
    http_respond_hdrs(r, 200, mime, extra, body.data, body.len, false);
    util_buf_free(&body);
    return 1;
}

static int not_found(node_req *r, const char *why)
{
    UTIL_LOGD(UTIL_SUB_HTTP, "%s %s: 404 (%s)", node_req_method(r), node_req_path(r), why);
    node_req_respond(r, 404, "text/plain", "Not Found", 9, false);
    return 1;
}

static bool readable_file(const char *file)
{
    struct stat st;
    return stat(file, &st) == 0 && S_ISREG(st.st_mode) && access(file, R_OK) == 0;
}

/* The browser client (and its source map) at <endpoint path>socket.io.min.js[.map]. Returns 1
 * when served, 0 when path is not the client. */
static int serve_client(node *n, node_req *r, const char *path)
{
    size_t len = strlen(path);
    for (endpoint *ep = n->endpoints; ep; ep = ep->next) {
        if (len <= ep->path_len || memcmp(path, ep->path, ep->path_len) != 0)
            continue;
        const char *name = path + ep->path_len;
        if (strcmp(name, CLIENT_JS) == 0 && readable_file(n->client_js))
            return serve_file(r, n->client_js, "application/javascript");
        if (strcmp(name, CLIENT_MAP) == 0) {
            size_t clen = strlen(n->client_js);
            char *map = util_malloc(clen + 5);
            memcpy(map, n->client_js, clen);
            memcpy(map + clen, ".map", 5);
            int rc = readable_file(map) ? serve_file(r, map, "application/json") : 0;
            util_free(map);
            if (rc)
                return rc;
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

/* The file path names under the directory dir (path starts with '/'). Always answers r. */
static int serve_under(const char *dir, node_req *r, const char *path)
{
    size_t len = strlen(path);
    if (path[0] != '/' || strstr(path, "..") || strchr(path, '\\'))
        return not_found(r, "path refused");
    char *root = realpath(dir, NULL);
    if (!root)
        return not_found(r, "static directory missing");
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
    int rc;
    if (!real)
        rc = not_found(r, "no such file under the static directory");
    else if (!readable_file(real))
        rc = not_found(r, "not a readable regular file");
    else
        rc = serve_file(r, real, mime_type(real));
    free(real);
    util_free(candidate);
    free(root);
    return rc;
}

int static_serve(node *n, node_req *r)
{
    const char *path = node_req_path(r);
    if (n->client_js && serve_client(n, r, path))
        return 1;
    if (n->static_dir)
        return serve_under(n->static_dir, r, path);
    return 0;
}

void node_req_serve_file(node_req *r, const char *root, const char *rel)
{
    serve_under(root, r, rel && *rel ? rel : "/");
}

char *static_installed_file(const char *rel)
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
    snprintf(candidate, sizeof candidate, "%s/../share/siobroker/%s", exe, rel);
    char *real = realpath(candidate, NULL);
    if (!real)
        return NULL;
    char *out = readable_file(real) ? util_strdup(real) : NULL;
    free(real);
    return out;
}
