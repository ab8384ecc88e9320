/* rd_link: hiredis (async, libuv adapter) connections of a node: connect with a timeout, AUTH and
 * SELECT, (re)subscribe, dispatch messages, reconnect with backoff, a PING health check that
 * notices a stalled Redis, and a cap on what waits for it. The only file that includes hiredis'
 * libuv adapter (it defines static functions such as on_close). */
#include "rd_link.h"

#include "util_alloc.h"
#include "util_log.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define RD_BACKOFF_MIN_MS 100
#define RD_BACKOFF_MAX_MS 5000
#define RD_HEALTH_DEFAULT_MS 1000
#define RD_STALL_DEFAULT_MS 3000
#define RD_MAX_OUTPUT_DEFAULT ((size_t)16 * 1024 * 1024)
/** Framing of a command beyond its arguments' bytes (RESP: *N, $len and CRLFs), at most. */
#define RD_CMD_FRAMING 16

typedef struct rd_sub {
    char *channel; /**< owned */
    bool pattern;
    rd_message_fn fn;
    void *ud;
    bool confirmed;
    struct rd_sub *next;
} rd_sub;

struct rd_link {
    uv_loop_t *loop;
    char *host;
    int port;
    char *password;
    int db;
    uint32_t connect_timeout_ms;
    redisAsyncContext *cmd; /**< commands and PUBLISH; NULL when gone */
    redisAsyncContext *sub; /**< (P)SUBSCRIBE; NULL when gone */
    bool cmd_up, sub_up;    /**< connected */
    bool ready;
    bool was_ready; /**< for logging: report each outage once */
    rd_sub *subs;
    uv_timer_t retry; /**< reconnect backoff and connect timeout */
    uint32_t backoff_ms;
    rd_state_fn on_state;
    void *ud;
    /* Health check and output cap (command connection). */
    uv_timer_t health;           /**< ticks while connected: sends PINGs, notices stalls */
    uint32_t health_interval_ms; /**< PING period */
    uint32_t stall_timeout_ms;   /**< unanswered PING age that means stalled */
    size_t max_output;           /**< bytes that may wait for Redis */
    uint64_t ping_sent;          /**< loop time of the PING awaiting its answer; 0: none */
    uint64_t last_ping;          /**< loop time the last PING was sent */
    bool stalled;                /**< a PING went unanswered for stall_timeout_ms */
    uint64_t stalled_since;      /**< loop time the unanswered PING was sent */
    size_t inflight;             /**< commands sent on cmd and not answered yet */
    uint64_t dropped;            /**< messages refused since the last stall report */
    bool full_reported;          /**< the output cap was reported for this episode */
    int open_handles;            /**< uv handles not closed yet (freeing waits for 0) */
    rd_link_stats stats;
};

const rd_link_stats *rd_link_get_stats(const rd_link *l)
{
    return &l->stats;
}

/** What one command still waiting for its answer costs us: hiredis' callback record and ours. */
static size_t inflight_cost(void)
{
    return util_alloc_cost(sizeof(redisCallback)) + util_alloc_cost(2 * sizeof(void *));
}

int rd_link_parse_url(const char *url, rd_link_config *cfg, char *buf, size_t buflen, char *err,
                      size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->connect_timeout_ms = 2000;
    if (strncmp(url, "redis://", 8) != 0) {
        snprintf(err, errlen, "expected redis://[:password@]HOST:PORT[/DB], got \"%s\"", url);
        return -1;
    }
    if (strlen(url + 8) + 1 > buflen) {
        snprintf(err, errlen, "URL too long");
        return -1;
    }
    strcpy(buf, url + 8);
    char *hostpart = buf;
    char *at = strrchr(buf, '@');
    if (at) {
        *at = '\0';
        char *pw = buf;
        if (*pw == ':')
            pw++;
        else if (strchr(pw, ':'))
            pw = strchr(pw, ':') + 1; /* user:password (the user is ignored) */
        cfg->password = *pw ? pw : NULL;
        hostpart = at + 1;
    }
    char *slash = strchr(hostpart, '/');
    if (slash) {
        *slash = '\0';
        char *end;
        long db = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || db < 0 || db > 65535) {
            snprintf(err, errlen, "bad database number in \"%s\"", url);
            return -1;
        }
        cfg->db = (int)db;
    }
    char *colon = strrchr(hostpart, ':');
    cfg->port = 6379;
    if (colon) {
        *colon = '\0';
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || port <= 0 || port > 65535) {
            snprintf(err, errlen, "bad port in \"%s\"", url);
            return -1;
        }
        cfg->port = (int)port;
    }
    if (!*hostpart) {
        snprintf(err, errlen, "no host in \"%s\"", url);
        return -1;
    }
    cfg->host = hostpart;
    return 0;
}

/* Calls on_state when what rd_link_ready reports changes (connection state or stall). */
static void notify_state(rd_link *l, bool before)
{
    bool now = rd_link_ready(l);
    if (now != before && l->on_state)
        l->on_state(l->ud, now);
}

static void set_ready(rd_link *l, bool ready)
{
    if (l->ready == ready)
        return;
    bool before = rd_link_ready(l);
    l->ready = ready;
    if (ready) {
        UTIL_LOGI(UTIL_SUB_ADAPTER, "redis %s:%d connected and subscribed", l->host, l->port);
        l->was_ready = true;
        l->backoff_ms = RD_BACKOFF_MIN_MS;
        l->stats.connects++;
    } else {
        l->stats.disconnects++;
    }
    notify_state(l, before);
}

static void check_ready(rd_link *l)
{
    if (!l->cmd_up || !l->sub_up)
        return;
    for (rd_sub *s = l->subs; s; s = s->next)
        if (!s->confirmed)
            return;
    set_ready(l, true);
}

static void on_sub_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    rd_link *l = ac->data;
    rd_sub *s = privdata;
    if (!reply || !l || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
        return;
    redisReply **e = reply->element;
    if (e[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = e[0]->str;
    if (strcmp(kind, "subscribe") == 0 || strcmp(kind, "psubscribe") == 0) {
        s->confirmed = true;
        check_ready(l);
    } else if (strcmp(kind, "message") == 0 && e[1]->type == REDIS_REPLY_STRING &&
               e[2]->type == REDIS_REPLY_STRING) {
        l->stats.messages_in++;
        l->stats.message_bytes_in += e[2]->len;
        s->fn(s->ud, e[1]->str, e[1]->len, (const uint8_t *)e[2]->str, e[2]->len);
    } else if (strcmp(kind, "pmessage") == 0 && reply->elements >= 4 &&
               e[2]->type == REDIS_REPLY_STRING && e[3]->type == REDIS_REPLY_STRING) {
        l->stats.messages_in++;
        l->stats.message_bytes_in += e[3]->len;
        s->fn(s->ud, e[2]->str, e[2]->len, (const uint8_t *)e[3]->str, e[3]->len);
    }
}

static void issue_sub(rd_link *l, rd_sub *s)
{
    s->confirmed = false;
    if (l->sub)
        redisAsyncCommand(l->sub, on_sub_reply, s, s->pattern ? "PSUBSCRIBE %s" : "SUBSCRIBE %s",
                          s->channel);
}

static void start_connect(rd_link *l);

static void link_down(rd_link *l, const char *why);

static void on_retry(uv_timer_t *t)
{
    rd_link *l = t->data;
    if (l->cmd || l->sub) {
        link_down(l, "connect timed out"); /* gives this attempt up, schedules the next */
        return;
    }
    start_connect(l);
}

/* Frees a context we no longer use. Its pending callbacks run with a NULL reply; it no longer
 * points at the link, so its connect/disconnect callbacks ignore it. Safe from any callback of
 * another context (and deferred by hiredis when called from one of its own). */
static void drop_ctx(redisAsyncContext *c)
{
    if (!c)
        return;
    c->data = NULL;
    redisAsyncFree(c);
}

/* One of the contexts failed or closed: drop the other, report, and try again later. */
static void link_down(rd_link *l, const char *why)
{
    uv_timer_stop(&l->retry);
    uv_timer_stop(&l->health);
    bool had = l->ready || !l->was_ready;
    set_ready(l, false);
    if (l->stalled)
        UTIL_LOGI(UTIL_SUB_ADAPTER,
                  "redis %s:%d connection lost while stalled; %llu messages to it "
                  "were dropped meanwhile",
                  l->host, l->port, (unsigned long long)l->dropped);
    l->stalled = false;
    l->ping_sent = 0;
    l->inflight = 0;
    l->dropped = 0;
    l->full_reported = false;
    l->cmd_up = l->sub_up = false;
    redisAsyncContext *c = l->cmd, *s = l->sub;
    l->cmd = l->sub = NULL;
    drop_ctx(c);
    drop_ctx(s);
    if (had)
        UTIL_LOGW(UTIL_SUB_ADAPTER,
                  "redis %s:%d unavailable (%s): cross-node operations fail until "
                  "it is back; retrying",
                  l->host, l->port, why);
    else
        UTIL_LOGD(UTIL_SUB_ADAPTER, "redis %s:%d still unavailable (%s)", l->host, l->port, why);
    uv_timer_start(&l->retry, on_retry, l->backoff_ms, 0);
    l->backoff_ms = l->backoff_ms * 2 > RD_BACKOFF_MAX_MS ? RD_BACKOFF_MAX_MS : l->backoff_ms * 2;
}

/* ---- health check ---- */

static void on_pong(redisAsyncContext *ac, void *r, void *privdata)
{
    rd_link *l = privdata;
    if (ac != l->cmd) /* a context dropped since: its callbacks run with no reply */
        return;
    if (l->inflight)
        l->inflight--;
    l->ping_sent = 0;
    if (!r || !l->stalled)
        return;
    bool before = rd_link_ready(l);
    uint64_t ms = uv_now(l->loop) - l->stalled_since;
    l->stalled = false;
    UTIL_LOGI(UTIL_SUB_ADAPTER,
              "redis %s:%d answers again after %llu ms; %llu messages to it were dropped "
              "meanwhile",
              l->host, l->port, (unsigned long long)ms, (unsigned long long)l->dropped);
    l->dropped = 0;
    l->full_reported = false;
    notify_state(l, before);
}

static void on_health(uv_timer_t *t)
{
    rd_link *l = t->data;
    if (!l->cmd || !l->cmd_up)
        return;
    uint64_t now = uv_now(l->loop);
    if (l->ping_sent) {
        int avail = 0;
        if (!l->stalled && now - l->ping_sent >= l->stall_timeout_ms &&
            !(ioctl(l->cmd->c.fd, FIONREAD, &avail) == 0 && avail > 0)) {
            /* (Bytes waiting on the socket mean Redis answered and this loop has not read them
             * yet: a busy node, not a stalled Redis.) */
            bool before = rd_link_ready(l);
            l->stalled = true;
            l->stalled_since = l->ping_sent;
            l->stats.stalls++;
            UTIL_LOGW(UTIL_SUB_ADAPTER,
                      "redis %s:%d stalled: no answer to PING in %u ms (%zu commands and %zu "
                      "bytes waiting): not ready, and messages to Redis are dropped until it "
                      "answers",
                      l->host, l->port, l->stall_timeout_ms, l->inflight,
                      l->cmd->c.obuf ? sdslen(l->cmd->c.obuf) : 0);
            notify_state(l, before);
        }
        return;
    }
    if (now - l->last_ping < l->health_interval_ms)
        return;
    /* Not subject to the output cap: one at a time, and it measures the backlog itself. */
    if (redisAsyncCommand(l->cmd, on_pong, l, "PING") == REDIS_OK) {
        l->inflight++;
        l->ping_sent = l->last_ping = now ? now : 1;
    }
}

/* ---- output cap ---- */

/* What waits for Redis on the command connection now: the bytes hiredis has not written yet, and
 * a record per command awaiting its answer. (The output buffer's allocation may exceed its bytes
 * by up to 1 MiB: sds grows by doubling up to 1 MiB, then by 1 MiB.) */
static size_t output_held(const rd_link *l)
{
    size_t b = l->cmd && l->cmd->c.obuf ? sdslen(l->cmd->c.obuf) : 0;
    return b + l->inflight * inflight_cost();
}

/* Whether a command of about `bytes` may be sent now: the command connection is up, Redis is not
 * stalled, and what waits for it stays within max_output. A refusal is counted (and logged, rate
 * limited); the caller reports its own failure. */
static bool may_send(rd_link *l, size_t bytes)
{
    if (!l->cmd || !l->cmd_up)
        return false;
    if (l->stalled) {
        l->dropped++;
        return false;
    }
    size_t held = output_held(l);
    if (held + bytes + inflight_cost() > l->max_output) {
        l->dropped++;
        if (!l->full_reported) {
            l->full_reported = true;
            UTIL_LOGW_RL(UTIL_SUB_ADAPTER,
                         "redis %s:%d: %zu bytes already wait for it (--redis-max-output %zu): "
                         "messages to Redis are dropped until it catches up",
                         l->host, l->port, held, l->max_output);
        }
        return false;
    }
    if (l->full_reported && held < l->max_output / 2) {
        l->full_reported = false;
        UTIL_LOGI_RL(UTIL_SUB_ADAPTER, "redis %s:%d caught up; %llu messages to it were dropped",
                     l->host, l->port, (unsigned long long)l->dropped);
        l->dropped = 0;
    }
    return true;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    rd_link *l = ac->data;
    if (!l)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees this context after the callback. */
        if (ac == l->cmd)
            l->cmd = NULL;
        if (ac == l->sub)
            l->sub = NULL;
        link_down(l, ac->errstr[0] ? ac->errstr : "connect failed");
        return;
    }
    if (ac == l->cmd) {
        l->cmd_up = true;
        l->last_ping = uv_now(l->loop);
        uint32_t tick = l->health_interval_ms < l->stall_timeout_ms / 2 ? l->health_interval_ms
                                                                        : l->stall_timeout_ms / 2;
        uv_timer_start(&l->health, on_health, tick ? tick : 1, tick ? tick : 1);
    }
    if (ac == l->sub)
        l->sub_up = true;
    if (l->cmd_up && l->sub_up)
        uv_timer_stop(&l->retry);
    check_ready(l);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    rd_link *l = ac->data;
    if (!l)
        return;
    if (ac == l->cmd)
        l->cmd = NULL;
    if (ac == l->sub)
        l->sub = NULL;
    link_down(l, status == REDIS_OK ? "disconnected" : (ac->errstr[0] ? ac->errstr : "lost"));
}

static void on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    (void)privdata;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        UTIL_LOGE(UTIL_SUB_ADAPTER, "redis refused AUTH/SELECT: %s", reply->str);
    (void)ac;
}

static redisAsyncContext *open_ctx(rd_link *l)
{
    redisAsyncContext *ac = redisAsyncConnect(l->host, l->port);
    if (!ac)
        return NULL;
    if (ac->err) {
        UTIL_LOGD(UTIL_SUB_ADAPTER, "redis connect: %s", ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = l;
    /* A Redis host that vanished without a reset is noticed by the kernel's probes. */
    redisEnableKeepAlive(&ac->c);
    redisLibuvAttach(ac, l->loop);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    /* Queued now, sent first once connected. */
    if (l->password)
        redisAsyncCommand(ac, on_auth, NULL, "AUTH %s", l->password);
    if (l->db)
        redisAsyncCommand(ac, on_auth, NULL, "SELECT %d", l->db);
    return ac;
}

static void start_connect(rd_link *l)
{
    l->cmd = open_ctx(l);
    l->sub = l->cmd ? open_ctx(l) : NULL;
    if (!l->cmd || !l->sub) {
        link_down(l, "cannot create a connection");
        return;
    }
    for (rd_sub *s = l->subs; s; s = s->next)
        issue_sub(l, s);
    uv_timer_start(&l->retry, on_retry, l->connect_timeout_ms, 0);
}

rd_link *rd_link_new(uv_loop_t *loop, const rd_link_config *cfg, rd_state_fn on_state, void *ud)
{
    rd_link *l = util_calloc(1, sizeof *l);
    l->loop = loop;
    l->host = util_strdup(cfg->host);
    l->port = cfg->port;
    l->password = cfg->password ? util_strdup(cfg->password) : NULL;
    l->db = cfg->db;
    l->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 2000;
    l->backoff_ms = RD_BACKOFF_MIN_MS;
    l->on_state = on_state;
    l->ud = ud;
    l->health_interval_ms =
        cfg->health_interval_ms ? cfg->health_interval_ms : RD_HEALTH_DEFAULT_MS;
    l->stall_timeout_ms = cfg->stall_timeout_ms ? cfg->stall_timeout_ms : RD_STALL_DEFAULT_MS;
    l->max_output = cfg->max_output_bytes ? cfg->max_output_bytes : RD_MAX_OUTPUT_DEFAULT;
    uv_timer_init(loop, &l->retry);
    l->retry.data = l;
    uv_timer_init(loop, &l->health);
    l->health.data = l;
    l->open_handles = 2;
    start_connect(l);
    return l;
}

static void handle_closed(uv_handle_t *h)
{
    rd_link *l = h->data;
    if (--l->open_handles == 0)
        util_free(l);
}

void rd_link_free(rd_link *l)
{
    if (!l)
        return;
    l->on_state = NULL;
    uv_timer_stop(&l->retry);
    uv_timer_stop(&l->health);
    redisAsyncContext *c = l->cmd, *s = l->sub;
    l->cmd = l->sub = NULL;
    drop_ctx(c);
    drop_ctx(s);
    while (l->subs) {
        rd_sub *sub = l->subs;
        l->subs = sub->next;
        util_free(sub->channel);
        util_free(sub);
    }
    util_free(l->host);
    util_free(l->password);
    uv_close((uv_handle_t *)&l->retry, handle_closed);
    uv_close((uv_handle_t *)&l->health, handle_closed);
}

bool rd_link_ready(const rd_link *l)
{
    return l->ready && !l->stalled;
}

bool rd_link_stalled(const rd_link *l)
{
    return l->stalled;
}

size_t rd_link_output_bytes(const rd_link *l)
{
    return output_held(l);
}

void rd_link_subscribe(rd_link *l, const char *channel, bool pattern, rd_message_fn fn, void *ud)
{
    rd_sub *s = util_calloc(1, sizeof *s);
    s->channel = util_strdup(channel);
    s->pattern = pattern;
    s->fn = fn;
    s->ud = ud;
    s->next = l->subs;
    l->subs = s;
    set_ready(l, false);
    if (l->sub_up)
        issue_sub(l, s);
    else if (l->sub)
        issue_sub(l, s); /* queued until connected */
}

/* The answer to a command we do not wait for (PUBLISH): only counted. */
static void on_counted_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)r;
    rd_link *l = privdata;
    if (ac == l->cmd && l->inflight)
        l->inflight--;
}

int rd_link_publish(rd_link *l, const char *channel, size_t channel_len, const void *msg,
                    size_t len)
{
    if (!may_send(l, channel_len + len + 3 * RD_CMD_FRAMING)) {
        l->stats.publish_failures++;
        return -1;
    }
    if (redisAsyncCommand(l->cmd, on_counted_reply, l, "PUBLISH %b %b", channel, channel_len, msg,
                          len) != REDIS_OK) {
        l->stats.publish_failures++;
        return -1;
    }
    l->inflight++;
    l->stats.publishes++;
    return 0;
}

typedef struct cmd_req {
    rd_link *l;
    rd_reply_fn cb;
    void *ud;
} cmd_req;

static void on_command_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    cmd_req *q = privdata;
    if (ac == q->l->cmd && q->l->inflight)
        q->l->inflight--;
    if (q->cb)
        q->cb(q->ud, r);
    util_free(q);
}

void rd_link_command(rd_link *l, rd_reply_fn cb, void *ud, int argc, const char **argv,
                     const size_t *argvlen)
{
    size_t bytes = RD_CMD_FRAMING;
    for (int i = 0; i < argc; i++)
        bytes += argvlen[i] + RD_CMD_FRAMING;
    if (!may_send(l, bytes)) {
        l->stats.command_failures++;
        if (cb)
            cb(ud, NULL);
        return;
    }
    cmd_req *q = util_malloc(sizeof *q);
    q->l = l;
    q->cb = cb;
    q->ud = ud;
    l->stats.commands++;
    if (redisAsyncCommandArgv(l->cmd, on_command_reply, q, argc, argv, argvlen) != REDIS_OK) {
        l->stats.command_failures++;
        util_free(q);
        if (cb)
            cb(ud, NULL);
        return;
    }
    l->inflight++;
}

typedef struct count_req {
    rd_link *l;
    rd_count_fn cb;
    void *ud;
} count_req;

static void on_numsub(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    count_req *q = privdata;
    if (ac == q->l->cmd && q->l->inflight)
        q->l->inflight--;
    long long n = -1;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
        reply->element[1]->type == REDIS_REPLY_INTEGER)
        n = reply->element[1]->integer;
    q->cb(q->ud, n);
    util_free(q);
}

void rd_link_numsub(rd_link *l, const char *channel, rd_count_fn cb, void *ud)
{
    if (!may_send(l, strlen(channel) + 4 * RD_CMD_FRAMING)) {
        cb(ud, -1);
        return;
    }
    count_req *q = util_malloc(sizeof *q);
    q->l = l;
    q->cb = cb;
    q->ud = ud;
    if (redisAsyncCommand(l->cmd, on_numsub, q, "PUBSUB NUMSUB %s", channel) != REDIS_OK) {
        util_free(q);
        cb(ud, -1);
        return;
    }
    l->inflight++;
}
