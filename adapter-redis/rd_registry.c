/* rd_registry: node record heartbeat and sid -> node entries, over the node's Redis link. */
#include "rd_registry.h"

#include "util_alloc.h"
#include "util_buf.h"
#include "util_log.h"

#include <stdio.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>
#include <uthash.h>

typedef struct local_sid {
    char *sid; /**< owned */
    UT_hash_handle hh;
} local_sid;

/** Cached owner of a remote sid. */
typedef struct sid_owner {
    char *sid;     /**< owned; hash key */
    char *node_id; /**< owned */
    uint64_t at;   /**< loop time of the lookup */
    UT_hash_handle hh;
} sid_owner;

/** Cached address of a peer node (NULL address = known dead). */
typedef struct peer_addr {
    char *node_id; /**< owned; hash key */
    char *address; /**< owned, or NULL when the node has no live record */
    uint64_t at;
    UT_hash_handle hh;
} peer_addr;

/** Bounds of the owner cache. */
#define OWNER_CACHE_MAX 65536u
#define OWNER_TTL_MS 60000u
#define PEER_TTL_MS 2000u

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
    sid_owner *owners; /**< cache: remote sid -> node id (insertion order = age) */
    peer_addr *peers;  /**< cache: node id -> address */
    int pending;       /**< lookups waiting for Redis */
    bool closed;       /**< rd_registry_free ran; freed when handles and lookups are done */
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

static void sid_key(rd_registry *r, util_buf *b, const char *sid)
{
    util_buf_reset(b);
    util_buf_printf(b, "%s:sid:%s", r->key, sid);
    util_buf_putc(b, '\0');
}

static void write_sid(rd_registry *r, const char *sid, util_buf *kb)
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
    util_buf kb = UTIL_BUF_INIT;
    local_sid *e, *tmp;
    HASH_ITER(hh, r->sids, e, tmp)
    {
        write_sid(r, e->sid, &kb);
    }
    util_buf_free(&kb);
}

rd_registry *rd_registry_new(uv_loop_t *loop, rd_link *link, const rd_registry_config *cfg,
                             rd_stats_fn stats, void *stats_ud)
{
    rd_registry *r = util_calloc(1, sizeof *r);
    r->loop = loop;
    r->link = link;
    r->key = util_strdup(cfg->key ? cfg->key : "socket.io");
    r->node_id = util_strdup(cfg->node_id);
    r->address = util_strdup(cfg->address);
    r->version = util_strdup(cfg->version ? cfg->version : "");
    r->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 2000;
    r->sid_refresh_ms = cfg->sid_refresh_ms ? cfg->sid_refresh_ms : 5000;
    r->started_ms = wall_ms();
    r->stats = stats;
    r->stats_ud = stats_ud;
    util_buf b = UTIL_BUF_INIT;
    util_buf_printf(&b, "%s:node:%s", r->key, r->node_id);
    r->node_key = util_buf_steal_str(&b);
    util_buf_printf(&b, "%s:nodes", r->key);
    r->nodes_key = util_buf_steal_str(&b);
    uv_timer_init(loop, &r->heartbeat);
    uv_timer_init(loop, &r->refresh);
    r->heartbeat.data = r->refresh.data = r;
    r->open_handles = 2;
    /* The first heartbeat goes out as soon as the link is up (commands fail fast before). */
    uv_timer_start(&r->heartbeat, on_heartbeat, 0, r->heartbeat_ms);
    uv_timer_start(&r->refresh, on_refresh, r->sid_refresh_ms, r->sid_refresh_ms);
    UTIL_LOGI(UTIL_SUB_CLUSTER, "node %s registers as %s", r->node_id, r->address);
    return r;
}

static void maybe_release(rd_registry *r)
{
    if (r->closed && r->open_handles == 0 && r->pending == 0)
        util_free(r);
}

static void handle_closed(uv_handle_t *h)
{
    rd_registry *r = h->data;
    r->open_handles--;
    maybe_release(r);
}

static void owner_del(rd_registry *r, sid_owner *o)
{
    HASH_DEL(r->owners, o);
    util_free(o->sid);
    util_free(o->node_id);
    util_free(o);
}

static void peer_del(rd_registry *r, peer_addr *p)
{
    HASH_DEL(r->peers, p);
    util_free(p->node_id);
    util_free(p->address);
    util_free(p);
}

static void caches_clear(rd_registry *r)
{
    sid_owner *o, *otmp;
    HASH_ITER(hh, r->owners, o, otmp)
    {
        owner_del(r, o);
    }
    peer_addr *p, *ptmp;
    HASH_ITER(hh, r->peers, p, ptmp)
    {
        peer_del(r, p);
    }
}

void rd_registry_free(rd_registry *r)
{
    if (!r)
        return;
    util_buf kb = UTIL_BUF_INIT;
    local_sid *e, *tmp;
    HASH_ITER(hh, r->sids, e, tmp)
    {
        sid_key(r, &kb, e->sid);
        const char *del[] = {"DEL", (const char *)kb.data};
        cmd(r, 2, del);
        HASH_DEL(r->sids, e);
        util_free(e->sid);
        util_free(e);
    }
    util_buf_free(&kb);
    const char *del[] = {"DEL", r->node_key};
    cmd(r, 2, del);
    const char *srem[] = {"SREM", r->nodes_key, r->node_id};
    cmd(r, 3, srem);
    uv_timer_stop(&r->heartbeat);
    uv_timer_stop(&r->refresh);
    caches_clear(r);
    r->closed = true;
    util_free(r->key);
    util_free(r->node_id);
    util_free(r->address);
    util_free(r->version);
    util_free(r->node_key);
    util_free(r->nodes_key);
    uv_close((uv_handle_t *)&r->heartbeat, handle_closed);
    uv_close((uv_handle_t *)&r->refresh, handle_closed);
}

void rd_registry_session_open(rd_registry *r, const char *sid)
{
    local_sid *e = util_malloc(sizeof *e);
    e->sid = util_strdup(sid);
    HASH_ADD_KEYPTR(hh, r->sids, e->sid, strlen(e->sid), e);
    util_buf kb = UTIL_BUF_INIT;
    write_sid(r, sid, &kb);
    util_buf_free(&kb);
}

void rd_registry_session_close(rd_registry *r, const char *sid)
{
    local_sid *e = NULL;
    HASH_FIND_STR(r->sids, sid, e);
    if (!e)
        return;
    HASH_DEL(r->sids, e);
    util_buf kb = UTIL_BUF_INIT;
    sid_key(r, &kb, sid);
    const char *del[] = {"DEL", (const char *)kb.data};
    cmd(r, 2, del);
    util_buf_free(&kb);
    util_free(e->sid);
    util_free(e);
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

/* ---- owner lookup ---------------------------------------------------------------------------- */

/** One lookup waiting for Redis. */
typedef struct lookup {
    rd_registry *r;
    char *sid;     /**< owned */
    char *node_id; /**< owned when only the address is being fetched, else NULL */
    rd_owner_fn cb;
    void *ud;
} lookup;

static void cache_owner(rd_registry *r, const char *sid, const char *node_id)
{
    sid_owner *o = NULL;
    HASH_FIND_STR(r->owners, sid, o);
    if (o)
        owner_del(r, o);
    if (HASH_COUNT(r->owners) >= OWNER_CACHE_MAX)
        owner_del(r, r->owners); /* the oldest entry */
    o = util_malloc(sizeof *o);
    o->sid = util_strdup(sid);
    o->node_id = util_strdup(node_id);
    o->at = uv_now(r->loop);
    HASH_ADD_KEYPTR(hh, r->owners, o->sid, strlen(o->sid), o);
}

static peer_addr *cache_peer(rd_registry *r, const char *node_id, const char *address)
{
    peer_addr *p = NULL;
    HASH_FIND_STR(r->peers, node_id, p);
    if (p)
        peer_del(r, p);
    p = util_malloc(sizeof *p);
    p->node_id = util_strdup(node_id);
    p->address = address ? util_strdup(address) : NULL;
    p->at = uv_now(r->loop);
    HASH_ADD_KEYPTR(hh, r->peers, p->node_id, strlen(p->node_id), p);
    return p;
}

/* Completes a lookup: the owner's address is reported unless it is this node. */
static void lookup_answer(rd_registry *r, lookup *q, const char *node_id, const char *address,
                          bool failed)
{
    if (node_id && strcmp(node_id, r->node_id) == 0) {
        UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s: Redis names this node, which does not hold it",
                  q->sid);
        address = NULL;
    }
    q->cb(q->ud, address, node_id, failed);
}

static void lookup_free(lookup *q)
{
    rd_registry *r = q->r;
    util_free(q->sid);
    util_free(q->node_id);
    util_free(q);
    r->pending--;
    maybe_release(r);
}

/* Reply of the lookup script: nil (no entry) or [node id, address or nil]. */
static void on_owner_reply(void *ud, const void *reply)
{
    lookup *q = ud;
    rd_registry *r = q->r;
    const redisReply *rep = reply;
    if (r->closed || !rep || rep->type == REDIS_REPLY_ERROR) {
        if (!r->closed)
            UTIL_LOGW_RL(UTIL_SUB_CLUSTER, "sid=%s owner lookup failed: %s", q->sid,
                         rep ? rep->str : "Redis unavailable");
        q->cb(q->ud, NULL, NULL, true);
    } else if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
               rep->element[0]->type != REDIS_REPLY_STRING) {
        UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s has no owner in Redis", q->sid);
        lookup_answer(r, q, NULL, NULL, false);
    } else {
        const char *id = rep->element[0]->str;
        const char *addr =
            rep->element[1]->type == REDIS_REPLY_STRING ? rep->element[1]->str : NULL;
        cache_owner(r, q->sid, id);
        cache_peer(r, id, addr);
        if (!addr)
            UTIL_LOGI_RL(UTIL_SUB_CLUSTER, "sid=%s: owner %s has no live record", q->sid, id);
        lookup_answer(r, q, id, addr, false);
    }
    lookup_free(q);
}

/* Reply of HGET K:node:ID address (the sid's owner was cached, its address stale). */
static void on_peer_reply(void *ud, const void *reply)
{
    lookup *q = ud;
    rd_registry *r = q->r;
    const redisReply *rep = reply;
    if (r->closed || !rep || rep->type == REDIS_REPLY_ERROR) {
        /* Redis cannot confirm the owner is alive: the address it last had is still the best
         * guess (a dead owner refuses the connection, which the caller reports). */
        peer_addr *p = NULL;
        if (!r->closed)
            HASH_FIND_STR(r->peers, q->node_id, p);
        if (p && p->address) {
            UTIL_LOGD(UTIL_SUB_CLUSTER, "sid=%s: Redis unavailable, using the last address of %s",
                      q->sid, q->node_id);
            lookup_answer(r, q, q->node_id, p->address, false);
        } else {
            q->cb(q->ud, NULL, NULL, true);
        }
    } else {
        const char *addr = rep->type == REDIS_REPLY_STRING ? rep->str : NULL;
        cache_peer(r, q->node_id, addr);
        if (!addr)
            UTIL_LOGI_RL(UTIL_SUB_CLUSTER, "node %s has no live record", q->node_id);
        lookup_answer(r, q, q->node_id, addr, false);
    }
    lookup_free(q);
}

/* One round trip: the sid's owner and that node's address (nil when its record expired). */
static const char OWNER_SCRIPT[] = "local id = redis.call('GET', KEYS[1]) "
                                   "if not id then return nil end "
                                   "return {id, redis.call('HGET', ARGV[1] .. id, 'address')}";

void rd_registry_lookup(rd_registry *r, const char *sid, rd_owner_fn cb, void *ud)
{
    uint64_t now = uv_now(r->loop);
    sid_owner *o = NULL;
    HASH_FIND_STR(r->owners, sid, o);
    if (o && now - o->at > OWNER_TTL_MS) {
        owner_del(r, o);
        o = NULL;
    }
    lookup *q = util_calloc(1, sizeof *q);
    q->r = r;
    q->sid = util_strdup(sid);
    q->cb = cb;
    q->ud = ud;
    r->pending++;
    if (o) {
        peer_addr *p = NULL;
        HASH_FIND_STR(r->peers, o->node_id, p);
        if (p && now - p->at <= PEER_TTL_MS) {
            lookup_answer(r, q, o->node_id, p->address, false);
            lookup_free(q);
            return;
        }
        q->node_id = util_strdup(o->node_id);
        util_buf k = UTIL_BUF_INIT;
        util_buf_printf(&k, "%s:node:%s", r->key, o->node_id);
        const char *argv[] = {"HGET", util_buf_cstr(&k), "address"};
        size_t lens[] = {4, k.len, 7};
        rd_link_command(r->link, on_peer_reply, q, 3, argv, lens);
        util_buf_free(&k);
        return;
    }
    util_buf k = UTIL_BUF_INIT, prefix = UTIL_BUF_INIT;
    util_buf_printf(&k, "%s:sid:%s", r->key, sid);
    util_buf_printf(&prefix, "%s:node:", r->key);
    const char *argv[] = {"EVAL", OWNER_SCRIPT, "1", util_buf_cstr(&k), util_buf_cstr(&prefix)};
    size_t lens[] = {4, sizeof OWNER_SCRIPT - 1, 1, k.len, prefix.len};
    rd_link_command(r->link, on_owner_reply, q, 5, argv, lens);
    util_buf_free(&k);
    util_buf_free(&prefix);
}

void rd_registry_forget(rd_registry *r, const char *sid)
{
    sid_owner *o = NULL;
    HASH_FIND_STR(r->owners, sid, o);
    if (!o)
        return;
    peer_addr *p = NULL;
    HASH_FIND_STR(r->peers, o->node_id, p);
    if (p)
        peer_del(r, p);
    owner_del(r, o);
}
