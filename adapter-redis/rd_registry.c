/* rd_registry: node record heartbeat and sid -> node entries, over the node's Redis link. */
#include "rd_registry.h"

#include "sio_alloc.h"
#include "sio_buf.h"
#include "sio_log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <uthash.h>

typedef struct local_sid {
    char *sid; /**< owned */
    UT_hash_handle hh;
} local_sid;

struct rd_registry {
    uv_loop_t *loop;
    rd_link *link;
    char *key, *node_id, *address, *version;
    char *node_key;  /**< K:node:ID */
    char *nodes_key; /**< K:nodes */
    uint64_t started_ms;
    uint32_t heartbeat_ms, sid_refresh_ms;
    uv_timer_t heartbeat, refresh;
    int open_handles;
    local_sid *sids;
    rd_stats_fn stats;
    void *stats_ud;
};

static uint64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void cmd(rd_registry *r, int argc, const char **argv)
{
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    rd_link_command(r->link, NULL, NULL, argc, argv, lens);
}

static void sid_key(rd_registry *r, sio_buf *b, const char *sid)
{
    sio_buf_reset(b);
    sio_buf_printf(b, "%s:sid:%s", r->key, sid);
    sio_buf_putc(b, '\0');
}

static void write_sid(rd_registry *r, const char *sid, sio_buf *kb)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%u", 3 * r->sid_refresh_ms);
    sid_key(r, kb, sid);
    const char *argv[] = {"SET", (const char *)kb->data, r->node_id, "PX", ttl};
    cmd(r, 5, argv);
}

static void publish_record(rd_registry *r)
{
    size_t sessions = HASH_COUNT(r->sids), sockets = 0;
    if (r->stats)
        r->stats(r->stats_ud, &sessions, &sockets);
    char started[24], n_sess[24], n_sock[24], beat[24], ttl[24];
    snprintf(started, sizeof started, "%llu", (unsigned long long)r->started_ms);
    snprintf(n_sess, sizeof n_sess, "%zu", sessions);
    snprintf(n_sock, sizeof n_sock, "%zu", sockets);
    snprintf(beat, sizeof beat, "%llu", (unsigned long long)wall_ms());
    snprintf(ttl, sizeof ttl, "%u", 3 * r->heartbeat_ms);
    const char *hset[] = {"HSET",    r->node_key, "id",        r->node_id, "address",  r->address,
                          "version", r->version,  "started",   started,    "sessions", n_sess,
                          "sockets", n_sock,      "heartbeat", beat};
    cmd(r, 16, hset);
    const char *expire[] = {"PEXPIRE", r->node_key, ttl};
    cmd(r, 3, expire);
    const char *sadd[] = {"SADD", r->nodes_key, r->node_id};
    cmd(r, 3, sadd);
}

static void on_heartbeat(uv_timer_t *t)
{
    publish_record(t->data);
}

/* Rewrites every local sid entry (SET, not only PEXPIRE: after a Redis restart they come back). */
static void on_refresh(uv_timer_t *t)
{
    rd_registry *r = t->data;
    if (!rd_link_ready(r->link))
        return;
    sio_buf kb = SIO_BUF_INIT;
    local_sid *e, *tmp;
    HASH_ITER(hh, r->sids, e, tmp)
    {
        write_sid(r, e->sid, &kb);
    }
    sio_buf_free(&kb);
}

rd_registry *rd_registry_new(uv_loop_t *loop, rd_link *link, const rd_registry_config *cfg,
                             rd_stats_fn stats, void *stats_ud)
{
    rd_registry *r = sio_calloc(1, sizeof *r);
    r->loop = loop;
    r->link = link;
    r->key = sio_strdup(cfg->key ? cfg->key : "socket.io");
    r->node_id = sio_strdup(cfg->node_id);
    r->address = sio_strdup(cfg->address);
    r->version = sio_strdup(cfg->version ? cfg->version : "");
    r->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 2000;
    r->sid_refresh_ms = cfg->sid_refresh_ms ? cfg->sid_refresh_ms : 5000;
    r->started_ms = wall_ms();
    r->stats = stats;
    r->stats_ud = stats_ud;
    sio_buf b = SIO_BUF_INIT;
    sio_buf_printf(&b, "%s:node:%s", r->key, r->node_id);
    r->node_key = sio_buf_steal_str(&b);
    sio_buf_printf(&b, "%s:nodes", r->key);
    r->nodes_key = sio_buf_steal_str(&b);
    uv_timer_init(loop, &r->heartbeat);
    uv_timer_init(loop, &r->refresh);
    r->heartbeat.data = r->refresh.data = r;
    r->open_handles = 2;
    /* The first heartbeat goes out as soon as the link is up (commands fail fast before). */
    uv_timer_start(&r->heartbeat, on_heartbeat, 0, r->heartbeat_ms);
    uv_timer_start(&r->refresh, on_refresh, r->sid_refresh_ms, r->sid_refresh_ms);
    SIO_LOGI(SIO_SUB_CLUSTER, "node %s registers as %s", r->node_id, r->address);
    return r;
}

static void handle_closed(uv_handle_t *h)
{
    rd_registry *r = h->data;
    if (--r->open_handles == 0)
        sio_free(r);
}

void rd_registry_free(rd_registry *r)
{
    if (!r)
        return;
    sio_buf kb = SIO_BUF_INIT;
    local_sid *e, *tmp;
    HASH_ITER(hh, r->sids, e, tmp)
    {
        sid_key(r, &kb, e->sid);
        const char *del[] = {"DEL", (const char *)kb.data};
        cmd(r, 2, del);
        HASH_DEL(r->sids, e);
        sio_free(e->sid);
        sio_free(e);
    }
    sio_buf_free(&kb);
    const char *del[] = {"DEL", r->node_key};
    cmd(r, 2, del);
    const char *srem[] = {"SREM", r->nodes_key, r->node_id};
    cmd(r, 3, srem);
    uv_timer_stop(&r->heartbeat);
    uv_timer_stop(&r->refresh);
    sio_free(r->key);
    sio_free(r->node_id);
    sio_free(r->address);
    sio_free(r->version);
    sio_free(r->node_key);
    sio_free(r->nodes_key);
    uv_close((uv_handle_t *)&r->heartbeat, handle_closed);
    uv_close((uv_handle_t *)&r->refresh, handle_closed);
}

void rd_registry_session_open(rd_registry *r, const char *sid)
{
    local_sid *e = sio_malloc(sizeof *e);
    e->sid = sio_strdup(sid);
    HASH_ADD_KEYPTR(hh, r->sids, e->sid, strlen(e->sid), e);
    sio_buf kb = SIO_BUF_INIT;
    write_sid(r, sid, &kb);
    sio_buf_free(&kb);
}

void rd_registry_session_close(rd_registry *r, const char *sid)
{
    local_sid *e = NULL;
    HASH_FIND_STR(r->sids, sid, e);
    if (!e)
        return;
    HASH_DEL(r->sids, e);
    sio_buf kb = SIO_BUF_INIT;
    sid_key(r, &kb, sid);
    const char *del[] = {"DEL", (const char *)kb.data};
    cmd(r, 2, del);
    sio_buf_free(&kb);
    sio_free(e->sid);
    sio_free(e);
}

void rd_registry_resync(rd_registry *r)
{
    publish_record(r);
    on_refresh(&r->refresh);
}

size_t rd_registry_sessions(const rd_registry *r)
{
    return HASH_COUNT(r->sids);
}
