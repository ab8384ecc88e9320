/* daemon_config: the daemon's settings and its option table. */
#include "daemon_config.h"

#include "app_bridge.h"
#include "rd_link.h"
#include "util_alloc.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>

/* ---- the daemon's settings ---- */

static int set_listen(void *p, const char *v, char *err, size_t errlen)
{
    daemon_config *c = p;
    return util_parse_hostport(v, c->listen_host, sizeof c->listen_host, &c->node.port, err,
                               errlen);
}

static int set_path(void *p, const char *v, char *err, size_t errlen)
{
    daemon_config *c = p;
    size_t len = strlen(v);
    if (!len || v[0] != '/' || strpbrk(v, "?# ")) {
        snprintf(err, errlen, "a path starts with / and has no ?, # or spaces: \"%s\"", v);
        return -1;
    }
    util_free(c->path);
    c->path = util_malloc(len + 2);
    memcpy(c->path, v, len);
    if (v[len - 1] != '/')
        c->path[len++] = '/';
    c->path[len] = '\0';
    return 0;
}

static int set_ping_interval(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((daemon_config *)p)->node.eio.ping_interval_ms, err, errlen);
}

static int set_ping_timeout(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((daemon_config *)p)->node.eio.ping_timeout_ms, err, errlen);
}

static int set_max_payload(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_payload(v, &((daemon_config *)p)->node.eio.max_payload, err, errlen);
}

static void free_cors(daemon_config *c)
{
    for (size_t i = 0; i < c->n_cors; i++)
        util_free(c->cors_list[i]);
    util_free(c->cors_list);
    c->cors_list = NULL;
    c->n_cors = 0;
}

static int set_cors(void *p, const char *v, char *err, size_t errlen)
{
    daemon_config *c = p;
    free_cors(c);
    if (!*v) {
        c->node.cors = NODE_CORS_NONE;
        return 0;
    }
    if (strcmp(v, "*") == 0) {
        c->node.cors = NODE_CORS_ANY;
        return 0;
    }
    c->node.cors = NODE_CORS_LIST;
    const char *s = v;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        while (len && (*s == ' '))
            s++, len--;
        while (len && s[len - 1] == ' ')
            len--;
        if (len) {
            if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
                snprintf(err, errlen, "an origin looks like https://host[:port], got \"%.*s\"",
                         (int)len, s);
                return -1;
            }
            c->cors_list = util_realloc(c->cors_list, (c->n_cors + 1) * sizeof *c->cors_list);
            c->cors_list[c->n_cors++] = util_strndup(s, len);
        }
        if (!e)
            break;
        s = e + 1;
    }
    if (!c->n_cors) {
        snprintf(err, errlen, "empty origin list");
        return -1;
    }
    return 0;
}

static int set_log_level(void *p, const char *v, char *err, size_t errlen)
{
    if (util_log_parse_level(v, &((daemon_config *)p)->log_level)) {
        snprintf(err, errlen, "expected error, warn, info or debug, got \"%s\"", v);
        return -1;
    }
    return 0;
}

static int set_log_format(void *p, const char *v, char *err, size_t errlen)
{
    if (util_log_parse_format(v, &((daemon_config *)p)->log_format)) {
        snprintf(err, errlen, "expected text or json, got \"%s\"", v);
        return -1;
    }
    return 0;
}

static void free_namespaces(daemon_config *c)
{
    for (size_t i = 0; i < c->n_ns; i++) {
        util_free(c->ns_names[i]);
        util_free(c->ns_policies[i]);
    }
    util_free(c->ns_names);
    util_free(c->ns_policies);
    c->ns_names = c->ns_policies = NULL;
    c->n_ns = 0;
}

/* One NSP[:POLICY] item. */
static int add_namespace(daemon_config *c, const char *item, size_t len, char *err, size_t errlen)
{
    const char *colon = memchr(item, ':', len);
    size_t nlen = colon ? (size_t)(colon - item) : len;
    char *name = util_strndup(item, nlen);
    char *policy = colon ? util_strndup(colon + 1, len - nlen - 1) : util_strdup("rooms");
    int rc = 0;
    if (name[0] != '/' || strpbrk(name, ",#*?[ ") || nlen > 256) {
        snprintf(err, errlen, "a namespace starts with / and has no , # * ? [ or spaces: \"%s\"",
                 name);
        rc = -1;
    } else if (daemon_policy_known(policy) != 0) {
        snprintf(err, errlen, "unknown policy \"%s\" (known: rooms, app)", policy);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < c->n_ns; i++) {
        if (strcmp(c->ns_names[i], name) == 0) {
            snprintf(err, errlen, "namespace %s given twice", name);
            rc = -1;
        }
    }
    if (rc) {
        util_free(name);
        util_free(policy);
        return -1;
    }
    c->ns_names = util_realloc(c->ns_names, (c->n_ns + 1) * sizeof *c->ns_names);
    c->ns_policies = util_realloc(c->ns_policies, (c->n_ns + 1) * sizeof *c->ns_policies);
    c->ns_names[c->n_ns] = name;
    c->ns_policies[c->n_ns++] = policy;
    return 0;
}

static int set_namespace(void *p, const char *v, char *err, size_t errlen)
{
    daemon_config *c = p;
    if (!v) {
        free_namespaces(c);
        return 0;
    }
    while (*v) {
        const char *e = strchr(v, ',');
        size_t len = e ? (size_t)(e - v) : strlen(v);
        if (len && add_namespace(c, v, len, err, errlen))
            return -1;
        if (!e)
            break;
        v = e + 1;
    }
    return 0;
}

static int set_connect_timeout(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((daemon_config *)p)->sio.connect_timeout_ms, err, errlen);
}

static int set_size(size_t *dst, const char *v, unsigned long long min, unsigned long long max,
                    char *err, size_t errlen)
{
    unsigned long long x;
    if (util_parse_uint(v, min, max, &x, err, errlen))
        return -1;
    *dst = (size_t)x;
    return 0;
}

static int set_recovery_window(void *p, const char *v, char *err, size_t errlen)
{
    unsigned long long x;
    if (util_parse_uint(v, 0, 86400000, &x, err, errlen))
        return -1;
    ((daemon_config *)p)->sio.recovery_window_ms = (uint32_t)x;
    return 0;
}

static int set_recovery_max_packets(void *p, const char *v, char *err, size_t errlen)
{
    return set_size(&((daemon_config *)p)->sio.recovery_max_packets, v, 1, 10000000, err, errlen);
}

static int set_max_attachments(void *p, const char *v, char *err, size_t errlen)
{
    return set_size(&((daemon_config *)p)->sio.limits.max_attachments, v, 0, 1000, err, errlen);
}

static int set_max_depth(void *p, const char *v, char *err, size_t errlen)
{
    return set_size(&((daemon_config *)p)->sio.limits.max_depth, v, 1, 1000, err, errlen);
}

static int set_max_event_name(void *p, const char *v, char *err, size_t errlen)
{
    return set_size(&((daemon_config *)p)->sio.limits.max_event_name, v, 1, 65536, err, errlen);
}

static int set_max_room_name(void *p, const char *v, char *err, size_t errlen)
{
    return set_size(&((daemon_config *)p)->rooms.max_room_name, v, 1, 65536, err, errlen);
}

static int set_max_rooms(void *p, const char *v, char *err, size_t errlen)
{
    return set_size(&((daemon_config *)p)->rooms.max_rooms, v, 1, 100000, err, errlen);
}

static int set_dir_or_file(char **dst, const char *v, bool dir, char *err, size_t errlen)
{
    util_free(*dst);
    *dst = NULL;
    if (!*v)
        return 0;
    struct stat st;
    if (stat(v, &st) != 0 || (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
        snprintf(err, errlen, "%s \"%s\" not found", dir ? "directory" : "file", v);
        return -1;
    }
    *dst = util_strdup(v);
    return 0;
}

static int set_static(void *p, const char *v, char *err, size_t errlen)
{
    return set_dir_or_file(&((daemon_config *)p)->static_dir, v, true, err, errlen);
}

static int set_client_js(void *p, const char *v, char *err, size_t errlen)
{
    return set_dir_or_file(&((daemon_config *)p)->client_js, v, false, err, errlen);
}

static int set_redis(void *p, const char *v, char *err, size_t errlen)
{
    daemon_config *c = p;
    util_free(c->redis_url);
    c->redis_url = NULL;
    if (!*v)
        return 0;
    rd_link_config lc;
    char buf[512];
    if (rd_link_parse_url(v, &lc, buf, sizeof buf, err, errlen))
        return -1;
    c->redis_url = util_strdup(v);
    return 0;
}

static int set_redis_key(void *p, const char *v, char *err, size_t errlen)
{
    daemon_config *c = p;
    if (!*v || strpbrk(v, "#*?[ ")) {
        snprintf(err, errlen, "a key prefix is non-empty, without # * ? [ or spaces: \"%s\"", v);
        return -1;
    }
    util_free(c->redis_key);
    c->redis_key = util_strdup(v);
    return 0;
}

static int set_redis_timeout(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((daemon_config *)p)->redis_timeout_ms, err, errlen);
}

static int set_node_id(void *p, const char *v, char *err, size_t errlen)
{
    daemon_config *c = p;
    size_t len = strlen(v);
    if (len > 64 ||
        strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != len) {
        snprintf(err, errlen, "a node id is 0-64 of [A-Za-z0-9._-]: \"%s\"", v);
        return -1;
    }
    util_free(c->node_id);
    c->node_id = len ? util_strdup(v) : NULL;
    return 0;
}

static int set_advertise(void *p, const char *v, char *err, size_t errlen)
{
    daemon_config *c = p;
    util_free(c->advertise);
    c->advertise = NULL;
    if (!*v)
        return 0;
    char host[256];
    int port;
    if (util_parse_hostport(v, host, sizeof host, &port, err, errlen))
        return -1;
    if (port == 0) {
        snprintf(err, errlen, "an advertised address needs a real port");
        return -1;
    }
    c->advertise = util_strdup(v);
    return 0;
}

static int set_poll_batch(void *p, const char *v, char *err, size_t errlen)
{
    unsigned long long n;
    if (util_parse_uint(v, 0, 1000000, &n, err, errlen))
        return -1;
    ((daemon_config *)p)->node.eio.poll_max_packets = (uint32_t)n;
    return 0;
}

static int set_max_connections(void *p, const char *v, char *err, size_t errlen)
{
    unsigned long long n;
    if (util_parse_uint(v, 0, 10000000, &n, err, errlen))
        return -1;
    ((daemon_config *)p)->node.max_connections = (size_t)n;
    return 0;
}

static int set_http_idle_timeout(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((daemon_config *)p)->node.idle_timeout_ms, err, errlen);
}

static int set_max_header_size(void *p, const char *v, char *err, size_t errlen)
{
    unsigned long long n;
    if (util_parse_uint(v, 1024, 1024 * 1024, &n, err, errlen))
        return -1;
    ((daemon_config *)p)->node.max_header_bytes = (size_t)n;
    return 0;
}

/* Replaces the secret *dst (owned) with a copy of v, NULL when v is empty; a secret of fewer
 * than 16 characters is refused ("WHAT has at least 16 characters"). */
static int set_secret(char **dst, const char *what, const char *v, char *err, size_t errlen)
{
    size_t len = strlen(v);
    if (len && len < 16) {
        snprintf(err, errlen, "%s has at least 16 characters", what);
        return -1;
    }
    util_free(*dst);
    *dst = len ? util_strdup(v) : NULL;
    return 0;
}

static int set_cluster_secret(void *p, const char *v, char *err, size_t errlen)
{
    return set_secret(&((daemon_config *)p)->cluster_secret, "a cluster secret", v, err, errlen);
}

static int set_insecure_cluster(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_bool(v, &((daemon_config *)p)->insecure_cluster, err, errlen);
}

static int set_cluster_timeout(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((daemon_config *)p)->cluster_timeout_ms, err, errlen);
}

static int set_size_field(size_t *dst, const char *v, unsigned long long min,
                          unsigned long long max, char *err, size_t errlen)
{
    unsigned long long x;
    if (util_parse_size(v, min, max, &x, err, errlen))
        return -1;
    *dst = (size_t)x;
    return 0;
}

static int set_max_session_queue(void *p, const char *v, char *err, size_t errlen)
{
    return set_size_field(&((daemon_config *)p)->node.eio.max_queue_bytes, v, 4096, 1ull << 40, err,
                          errlen);
}

static int set_max_memory(void *p, const char *v, char *err, size_t errlen)
{
    daemon_config *c = p;
    c->max_memory_auto = strcasecmp(v, "auto") == 0;
    if (c->max_memory_auto) {
        c->max_memory = 0;
        return 0;
    }
    if (set_size_field(&c->max_memory, v, 0, 1ull << 50, err, errlen))
        return -1;
    if (c->max_memory && c->max_memory < 1024 * 1024) {
        snprintf(err, errlen, "a memory budget is at least 1M (or 0: none, or auto), got \"%s\"",
                 v);
        return -1;
    }
    return 0;
}

static int set_max_attachment_bytes(void *p, const char *v, char *err, size_t errlen)
{
    return set_size_field(&((daemon_config *)p)->sio.limits.max_attachment_bytes, v, 1024,
                          1ull << 32, err, errlen);
}

static int set_attachment_timeout(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((daemon_config *)p)->sio.attachment_timeout_ms, err, errlen);
}

static int set_max_ignored_packets(void *p, const char *v, char *err, size_t errlen)
{
    unsigned long long n;
    if (util_parse_uint(v, 0, 1000000, &n, err, errlen))
        return -1;
    ((daemon_config *)p)->sio.max_ignored_packets = (uint32_t)n;
    return 0;
}

static int set_redis_health(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((daemon_config *)p)->redis_health_ms, err, errlen);
}

static int set_redis_stall(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((daemon_config *)p)->redis_stall_ms, err, errlen);
}

static int set_redis_max_output(void *p, const char *v, char *err, size_t errlen)
{
    return set_size_field(&((daemon_config *)p)->redis_max_output, v, 64 * 1024, 1ull << 40, err,
                          errlen);
}

/* Reads one number from a file (a cgroup limit); 0 when absent, unreadable or "max". */
static unsigned long long read_limit(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[64] = "";
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    char *end;
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 10);
    return errno || end == buf ? 0 : x;
}

size_t daemon_memory_auto(char *why, size_t whylen)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    unsigned long long ram =
        pages > 0 && page > 0 ? (unsigned long long)pages * (unsigned long long)page : 0;
    unsigned long long cg = read_limit("/sys/fs/cgroup/memory.max");
    if (!cg)
        cg = read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes"); /* cgroup v1 */
    bool use_cg = cg && (!ram || cg < ram);
    unsigned long long base = use_cg ? cg : ram;
    if (!base) {
        snprintf(why, whylen, "memory size unknown: 1 GiB");
        return (size_t)1 << 30;
    }
    snprintf(why, whylen, "half of the %s, %llu MiB", use_cg ? "cgroup's memory limit" : "RAM",
             base >> 20);
    return (size_t)(base / 2);
}

static int set_app_url(void *p, const char *v, char *err, size_t errlen)
{
    daemon_config *c = p;
    util_free(c->app_url);
    c->app_url = NULL;
    if (!*v)
        return 0;
    char hp[280], path[1024];
    if (app_url_parse(v, hp, sizeof hp, path, sizeof path, err, errlen))
        return -1;
    c->app_url = util_strdup(v);
    return 0;
}

static int set_app_secret(void *p, const char *v, char *err, size_t errlen)
{
    return set_secret(&((daemon_config *)p)->app_secret, "an app secret", v, err, errlen);
}

static int set_insecure_app(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_bool(v, &((daemon_config *)p)->insecure_app, err, errlen);
}

static int set_u32(uint32_t *dst, const char *v, unsigned long long min, unsigned long long max,
                   char *err, size_t errlen)
{
    unsigned long long x;
    if (util_parse_uint(v, min, max, &x, err, errlen))
        return -1;
    *dst = (uint32_t)x;
    return 0;
}

static int set_app_concurrency(void *p, const char *v, char *err, size_t errlen)
{
    return set_u32(&((daemon_config *)p)->app_concurrency, v, 1, 4096, err, errlen);
}

static int set_app_batch(void *p, const char *v, char *err, size_t errlen)
{
    return set_u32(&((daemon_config *)p)->app_batch, v, 1, 1024, err, errlen);
}

static int set_app_queue(void *p, const char *v, char *err, size_t errlen)
{
    return set_u32(&((daemon_config *)p)->app_queue, v, 1, 1000000, err, errlen);
}

static int set_app_timeout(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((daemon_config *)p)->app_timeout_ms, err, errlen);
}

static int set_app_max_answer(void *p, const char *v, char *err, size_t errlen)
{
    return set_size(&((daemon_config *)p)->app_max_answer, v, 1024, 1024ull * 1024 * 1024, err,
                    errlen);
}

static int set_metrics_listen(void *p, const char *v, char *err, size_t errlen)
{
    daemon_config *c = p;
    if (!*v) {
        c->metrics_host[0] = '\0';
        c->metrics_port = 0;
        return 0;
    }
    return util_parse_hostport(v, c->metrics_host, sizeof c->metrics_host, &c->metrics_port, err,
                               errlen);
}

static int set_string(char **dst, const char *v)
{
    util_free(*dst);
    *dst = *v ? util_strdup(v) : NULL;
    return 0;
}

static int set_admin(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_bool(v, &((daemon_config *)p)->admin, err, errlen);
}

static int set_admin_user(void *p, const char *v, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return set_string(&((daemon_config *)p)->admin_user, v);
}

static int set_admin_password_hash(void *p, const char *v, char *err, size_t errlen)
{
    size_t len = strlen(v);
    if (len && (len != 60 || strncmp(v, "$2", 2) != 0)) {
        snprintf(err, errlen, "a bcrypt hash looks like $2b$10$ followed by 53 characters");
        return -1;
    }
    return set_string(&((daemon_config *)p)->admin_password_hash, v);
}

static int set_admin_no_auth(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_bool(v, &((daemon_config *)p)->admin_no_auth, err, errlen);
}

static int set_admin_readonly(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_bool(v, &((daemon_config *)p)->admin_readonly, err, errlen);
}

static int set_admin_ui_dir(void *p, const char *v, char *err, size_t errlen)
{
    return set_dir_or_file(&((daemon_config *)p)->admin_ui_dir, v, true, err, errlen);
}

static int set_admin_server_id(void *p, const char *v, char *err, size_t errlen)
{
    if (strlen(v) > 100) {
        snprintf(err, errlen, "a server id has at most 100 characters");
        return -1;
    }
    return set_string(&((daemon_config *)p)->admin_server_id, v);
}

static int set_admin_max_sockets(void *p, const char *v, char *err, size_t errlen)
{
    return set_size(&((daemon_config *)p)->admin_max_sockets, v, 1, 100000, err, errlen);
}

static int set_admin_updates(void *p, const char *v, char *err, size_t errlen)
{
    unsigned long long n;
    if (util_parse_uint(v, 1, 100000, &n, err, errlen))
        return -1;
    ((daemon_config *)p)->admin_updates = (uint32_t)n;
    return 0;
}

static const util_option k_options[] = {
    {"--listen", "SIO_LISTEN", "HOST:PORT", "127.0.0.1:8080", "address and port to listen on",
     set_listen},
    {"--path", "SIO_PATH", "PATH", "/socket.io/", "HTTP path of the Engine.IO endpoint", set_path},
    {"--ping-interval", "SIO_ENGINEIO_PING_INTERVAL_MS", "MS", "25000",
     "interval between server pings", set_ping_interval},
    {"--ping-timeout", "SIO_ENGINEIO_PING_TIMEOUT_MS", "MS", "20000",
     "time allowed for the pong after a ping", set_ping_timeout},
    {"--max-payload", "SIO_ENGINEIO_MAX_PAYLOAD_BYTES", "BYTES", "1000000",
     "max bytes of a polling body or WebSocket message", set_max_payload},
    {"--poll-batch", "SIO_ENGINEIO_POLL_BATCH", "N", "16",
     "packets in one polling answer (python-engineio refuses more than 16; 0: no limit)",
     set_poll_batch},
    {"--max-connections", "SIO_MAX_CONNECTIONS", "N", "0",
     "client connections at once; more are answered 503 (0: the descriptor limit less 64)",
     set_max_connections},
    {"--max-header-size", "SIO_MAX_HEADER_SIZE", "BYTES", "16384",
     "request line and headers of one request (431 beyond; the request target alone 8 KiB: 414)",
     set_max_header_size},
    {"--http-idle-timeout", "SIO_HTTP_IDLE_TIMEOUT_MS", "MS", "30000",
     "close a connection idle this long between requests; a request not complete by then gets 408",
     set_http_idle_timeout},
    {"--cors-origin", "SIO_CORS_ORIGINS", "LIST|*", "",
     "allowed origins: comma-separated list, or * for any", set_cors},
    {"--log-level", "SIO_LOG_LEVEL", "LEVEL", "info", "error, warn, info or debug", set_log_level},
    {"--log-format", "SIO_LOG_FORMAT", "FORMAT", "text", "text or json (one object per line)",
     set_log_format},
    {"--namespace", "SIO_NAMESPACES", "NSP[:POLICY]", "/:rooms",
     "serve a namespace with a built-in policy (repeatable; env: comma-separated)", set_namespace,
     true},
    {"--connect-timeout", "SIO_CONNECT_TIMEOUT_MS", "MS", "45000",
     "close sessions that connect no namespace in time", set_connect_timeout},
    {"--max-attachments", "SIO_MAX_ATTACHMENTS", "N", "10", "binary attachments per packet",
     set_max_attachments},
    {"--max-json-depth", "SIO_MAX_JSON_DEPTH", "N", "32", "nesting depth of a packet's JSON",
     set_max_depth},
    {"--max-event-name", "SIO_MAX_EVENT_NAME", "BYTES", "256", "length of an event name",
     set_max_event_name},
    {"--recovery-window", "SIO_RECOVERY_WINDOW_MS", "MS", "0",
     "connection state recovery: how long a broken connection's socket (id, rooms, data, missed "
     "packets) can be recovered (0: off; docs/recovery.md)",
     set_recovery_window},
    {"--recovery-max-packets", "SIO_RECOVERY_MAX_PACKETS", "N", "10000",
     "connection state recovery: most packets each namespace's log keeps",
     set_recovery_max_packets},
    {"--max-room-name", "SIO_MAX_ROOM_NAME", "BYTES", "128", "rooms policy: length of a room name",
     set_max_room_name},
    {"--max-rooms-per-socket", "SIO_MAX_ROOMS_PER_SOCKET", "N", "64",
     "rooms policy: rooms a socket may join", set_max_rooms},
    {"--static", "SIO_STATIC_DIR", "DIR", "", "serve static files from DIR at /", set_static},
    {"--redis", "SIO_REDIS_URL", "URL", "",
     "join a cluster through Redis: redis://[:password@]HOST:PORT[/DB]", set_redis, false,
     "none: a single node"},
    {"--redis-key", "SIO_REDIS_KEY", "PREFIX", "socket.io", "channel prefix of the Redis adapter",
     set_redis_key},
    {"--redis-requests-timeout", "SIO_REDIS_REQUESTS_TIMEOUT_MS", "MS", "5000",
     "how long cross-node requests wait for the other nodes", set_redis_timeout},
    {"--node-id", "SIO_NODE_ID", "ID", "", "this node's id in the cluster", set_node_id, false,
     "random"},
    {"--advertise", "SIO_ADVERTISE", "HOST:PORT", "", "address other nodes reach this one at",
     set_advertise, false, "the listen address"},
    {"--cluster-secret", "SIO_CLUSTER_SECRET", "SECRET", "",
     "HMAC key signing requests between nodes (required with --redis)", set_cluster_secret},
    {"--insecure-cluster", "SIO_INSECURE_CLUSTER", NULL, "0",
     "with --redis, run without a cluster secret (trusted networks only)", set_insecure_cluster},
    {"--cluster-timeout", "SIO_CLUSTER_TIMEOUT_MS", "MS", "10000",
     "bound of a request forwarded to another node (a long-poll also gets the ping interval)",
     set_cluster_timeout},
    {"--app-url", "SIO_APP_URL", "URL", "",
     "http://host:port/path the app policy POSTs its calls to (docs/app-bridge.md)", set_app_url},
    {"--app-secret", "SIO_APP_SECRET", "SECRET", "",
     "HMAC key signing the calls to the app, 16+ characters (required with --app-url)",
     set_app_secret},
    {"--insecure-app", "SIO_INSECURE_APP", NULL, "0",
     "with --app-url, send unsigned calls (trusted networks only)", set_insecure_app},
    {"--app-concurrency", "SIO_APP_CONCURRENCY", "N", "16", "POSTs to the app in flight",
     set_app_concurrency},
    {"--app-batch", "SIO_APP_BATCH", "N", "32", "most calls (of different sockets) in one POST",
     set_app_batch},
    {"--app-queue", "SIO_APP_QUEUE", "N", "256",
     "events one socket may have waiting for the app (past it: dropped, socket disconnected)",
     set_app_queue},
    {"--app-timeout", "SIO_APP_TIMEOUT_MS", "MS", "10000", "bound of one POST to the app",
     set_app_timeout},
    {"--app-max-answer", "SIO_APP_MAX_ANSWER", "BYTES", "8388608",
     "largest answer accepted from the app", set_app_max_answer},
    {"--metrics-listen", "SIO_METRICS_LISTEN", "HOST:PORT", "",
     "serve /metrics (and /healthz, /readyz) on this internal address instead of the client port",
     set_metrics_listen},
    {"--admin", "SIO_ADMIN", NULL, "0",
     "serve the Socket.IO admin UI: its /admin namespace, and its page at /admin/", set_admin},
    {"--admin-user", "SIO_ADMIN_USER", "NAME", "", "admin UI user name (basic auth)",
     set_admin_user},
    {"--admin-password-hash", "SIO_ADMIN_PASSWORD_HASH", "BCRYPT", "",
     "bcrypt hash of the admin UI password (as @socket.io/admin-ui takes it)",
     set_admin_password_hash},
    {"--admin-no-auth", "SIO_ADMIN_NO_AUTH", NULL, "0",
     "admin UI without authentication (trusted networks only)", set_admin_no_auth},
    {"--admin-readonly", "SIO_ADMIN_READONLY", NULL, "0",
     "admin UI without its actions (emit, join, leave, disconnect)", set_admin_readonly},
    {"--admin-ui-dir", "SIO_ADMIN_UI_DIR", "DIR", "", "the admin UI's files", set_admin_ui_dir,
     false, "the installed copy, share/siobroker/admin-ui"},
    {"--admin-server-id", "SIO_ADMIN_SERVER_ID", "ID", "", "this node's name in the admin UI",
     set_admin_server_id, false, "HOSTNAME#NODE-ID, or HOSTNAME#PID"},
    {"--admin-max-sockets", "SIO_ADMIN_MAX_SOCKETS", "N", "1000",
     "sockets of this node listed in the admin UI (a sample; counts stay exact)",
     set_admin_max_sockets},
    {"--admin-updates-per-second", "SIO_ADMIN_UPDATES_PER_SECOND", "N", "100",
     "live socket updates this node sends the admin UI per second (beyond: sampled out)",
     set_admin_updates},
    {"--client-js", "SIO_CLIENT_JS", "FILE", "",
     "socket.io.min.js to serve at <path>socket.io.min.js", set_client_js, false,
     "the installed copy"},
    {"--max-session-queue", "SIO_MAX_SESSION_QUEUE", "BYTES", "16M",
     "memory one session may hold for its client (queued output at real cost): past it the "
     "client is a slow consumer and is disconnected",
     set_max_session_queue},
    {"--max-memory", "SIO_MAX_MEMORY", "BYTES|auto", "auto",
     "memory all sessions may hold together: past it the largest are disconnected, and new "
     "sessions get 503 above 7/8 of it (auto: half of RAM or of the cgroup limit; 0: none)",
     set_max_memory},
    {"--max-attachment-bytes", "SIO_MAX_ATTACHMENT_BYTES", "BYTES", "1000000",
     "memory a binary packet may hold while its attachments arrive", set_max_attachment_bytes},
    {"--attachment-timeout", "SIO_ATTACHMENT_TIMEOUT_MS", "MS", "30000",
     "time a binary packet has to receive all its attachments", set_attachment_timeout},
    {"--max-ignored-packets", "SIO_MAX_IGNORED_PACKETS", "N", "100",
     "refused or pointless packets (repeated CONNECTs, ...) a client may send in 10 s before it is "
     "disconnected (0: no limit)",
     set_max_ignored_packets},
    {"--redis-health-interval", "SIO_REDIS_HEALTH_INTERVAL_MS", "MS", "1000",
     "how often the node PINGs Redis", set_redis_health},
    {"--redis-stall-timeout", "SIO_REDIS_STALL_TIMEOUT_MS", "MS", "3000",
     "Redis is stalled when a PING is not answered within this (not ready until it answers)",
     set_redis_stall},
    {"--redis-max-output", "SIO_REDIS_MAX_OUTPUT", "BYTES", "16M",
     "bytes that may wait for Redis; past it messages to Redis are dropped (and counted)",
     set_redis_max_output},
};

const util_option *daemon_config_options(size_t *n)
{
    *n = sizeof k_options / sizeof k_options[0];
    return k_options;
}

void daemon_config_init(daemon_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    node_config_defaults(&cfg->node);
    sio_server_config_defaults(&cfg->sio);
}

void daemon_config_finish(daemon_config *cfg)
{
    cfg->node.host = cfg->listen_host;
    cfg->node.cors_origins = (const char *const *)cfg->cors_list;
    cfg->node.n_cors_origins = cfg->n_cors;
    cfg->node.static_dir = cfg->static_dir;
    cfg->node.client_js = cfg->client_js;
    util_log_set_level(cfg->log_level);
    util_log_set_format(cfg->log_format);
}

void daemon_config_free(daemon_config *cfg)
{
    free_cors(cfg);
    free_namespaces(cfg);
    util_free(cfg->static_dir);
    util_free(cfg->client_js);
    cfg->static_dir = cfg->client_js = NULL;
    util_free(cfg->redis_url);
    util_free(cfg->redis_key);
    cfg->redis_url = cfg->redis_key = NULL;
    util_free(cfg->node_id);
    util_free(cfg->advertise);
    cfg->node_id = cfg->advertise = NULL;
    util_free(cfg->cluster_secret);
    cfg->cluster_secret = NULL;
    util_free(cfg->app_url);
    util_free(cfg->app_secret);
    cfg->app_url = cfg->app_secret = NULL;
    util_free(cfg->admin_user);
    util_free(cfg->admin_password_hash);
    util_free(cfg->admin_ui_dir);
    util_free(cfg->admin_server_id);
    cfg->admin_user = cfg->admin_password_hash = cfg->admin_ui_dir = cfg->admin_server_id = NULL;
    util_free(cfg->path);
    cfg->path = NULL;
}
