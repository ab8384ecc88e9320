/* rd_link: hiredis (async, libuv adapter) connections of a node: connect with a timeout, AUTH and
 * SELECT, (re)subscribe, dispatch messages, reconnect with backoff. The only file that includes
 * hiredis' libuv adapter (it defines static functions such as on_close). */
#include "rd_link.h"

#include "util_alloc.h"
#include "util_log.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RD_BACKOFF_MIN_MS 100
#define RD_BACKOFF_MAX_MS 5000

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
    rd_link_stats stats;
};

const rd_link_stats *rd_link_get_stats(const rd_link *l)
{
    return &l->stats;
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

static void set_ready(rd_link *l, bool ready)
{
    if (l->ready == ready)
        return;
    l->ready = ready;
    if (ready) {
        UTIL_LOGI(UTIL_SUB_ADAPTER, "redis %s:%d connected and subscribed", l->host, l->port);
        l->was_ready = true;
        l->backoff_ms = RD_BACKOFF_MIN_MS;
        l->stats.connects++;
    } else {
        l->stats.disconnects++;
    }
    if (l->on_state)
        l->on_state(l->ud, ready);
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
    bool had = l->ready || !l->was_ready;
    set_ready(l, false);
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
    if (ac == l->cmd)
        l->cmd_up = true;
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
    uv_timer_init(loop, &l->retry);
    l->retry.data = l;
    start_connect(l);
    return l;
}

static void retry_closed(uv_handle_t *h)
{
    rd_link *l = h->data;
    util_free(l);
}

void rd_link_free(rd_link *l)
{
    if (!l)
        return;
    l->on_state = NULL;
    uv_timer_stop(&l->retry);
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
    uv_close((uv_handle_t *)&l->retry, retry_closed);
}

bool rd_link_ready(const rd_link *l)
{
    return l->ready;
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

int rd_link_publish(rd_link *l, const char *channel, size_t channel_len, const void *msg,
                    size_t len)
{
    if (!l->cmd || !l->cmd_up) {
        l->stats.publish_failures++;
        return -1;
    }
    if (redisAsyncCommand(l->cmd, NULL, NULL, "PUBLISH %b %b", channel, channel_len, msg, len) !=
        REDIS_OK) {
        l->stats.publish_failures++;
        return -1;
    }
    l->stats.publishes++;
    return 0;
}

typedef struct cmd_req {
    rd_reply_fn cb;
    void *ud;
} cmd_req;

static void on_command_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    cmd_req *q = privdata;
    if (q->cb)
        q->cb(q->ud, r);
    util_free(q);
}

void rd_link_command(rd_link *l, rd_reply_fn cb, void *ud, int argc, const char **argv,
                     const size_t *argvlen)
{
    if (!l->cmd || !l->cmd_up) {
        l->stats.command_failures++;
        if (cb)
            cb(ud, NULL);
        return;
    }
    cmd_req *q = util_malloc(sizeof *q);
    q->cb = cb;
    q->ud = ud;
    l->stats.commands++;
    if (redisAsyncCommandArgv(l->cmd, on_command_reply, q, argc, argv, argvlen) != REDIS_OK) {
        l->stats.command_failures++;
        util_free(q);
        if (cb)
            cb(ud, NULL);
    }
}

typedef struct count_req {
    rd_count_fn cb;
    void *ud;
} count_req;

static void on_numsub(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    redisReply *reply = r;
    count_req *q = privdata;
    long long n = -1;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
        reply->element[1]->type == REDIS_REPLY_INTEGER)
        n = reply->element[1]->integer;
    q->cb(q->ud, n);
    util_free(q);
}

void rd_link_numsub(rd_link *l, const char *channel, rd_count_fn cb, void *ud)
{
    if (!l->cmd || !l->cmd_up) {
        cb(ud, -1);
        return;
    }
    count_req *q = util_malloc(sizeof *q);
    q->cb = cb;
    q->ud = ud;
    if (redisAsyncCommand(l->cmd, on_numsub, q, "PUBSUB NUMSUB %s", channel) != REDIS_OK) {
        util_free(q);
        cb(ud, -1);
    }
}
