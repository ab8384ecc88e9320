/* cli_redis: synchronous hiredis connections with deadlines for siocli. */
#include "cli_redis.h"

#include "rd_link.h"
#include "util_alloc.h"
#include "util_buf.h"
#include "util_time.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/** A name subscribed on the subscription connection. */
typedef struct cli_sub {
    char *name; /**< owned */
    bool pattern;
    struct cli_sub *next;
} cli_sub;

struct cli_redis {
    redisContext *cmd; /**< commands and PUBLISH */
    redisContext *sub; /**< (P)SUBSCRIBE; NULL until the first subscription */
    char host[256];
    int port;
    char password[256];
    bool has_password;
    int db;
    long timeout_ms;
    cli_sub *subs;
    redisReply *last; /**< the message handed out by cli_redis_next */
};

static struct timeval tv_of(long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* Runs a command given as NUL-terminated strings on ctx. Returns the reply or NULL with err. */
static redisReply *run(redisContext *ctx, int argc, const char **argv, const size_t *lens,
                       char *err, size_t errlen)
{
    redisReply *reply = redisCommandArgv(ctx, argc, argv, lens);
    if (!reply) {
        bool timeout = ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
        snprintf(err, errlen, "Redis %s: %s", timeout ? "did not answer in time" : "failed",
                 timeout ? argv[0] : (ctx->errstr[0] ? ctx->errstr : "connection lost"));
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "Redis refused %s: %.*s", argv[0], (int)reply->len, reply->str);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

/* Opens one connection with AUTH and SELECT. Returns it, or NULL with err. */
static redisContext *open_ctx(cli_redis *r, char *err, size_t errlen)
{
    redisContext *ctx = redisConnectWithTimeout(r->host, r->port, tv_of(r->timeout_ms));
    if (!ctx || ctx->err) {
        snprintf(err, errlen, "cannot reach Redis at %s:%d: %s", r->host, r->port,
                 ctx ? ctx->errstr : "out of memory");
        if (ctx)
            redisFree(ctx);
        return NULL;
    }
    redisSetTimeout(ctx, tv_of(r->timeout_ms));
    char why[512];
    if (r->has_password) {
        const char *argv[] = {"AUTH", r->password};
        redisReply *reply = run(ctx, 2, argv, NULL, why, sizeof why);
        if (!reply) {
            snprintf(err, errlen, "Redis at %s:%d: %s", r->host, r->port, why);
            redisFree(ctx);
            return NULL;
        }
        freeReplyObject(reply);
    }
    if (r->db) {
        char db[16];
        snprintf(db, sizeof db, "%d", r->db);
        const char *argv[] = {"SELECT", db};
        redisReply *reply = run(ctx, 2, argv, NULL, why, sizeof why);
        if (!reply) {
            snprintf(err, errlen, "Redis at %s:%d: %s", r->host, r->port, why);
            redisFree(ctx);
            return NULL;
        }
        freeReplyObject(reply);
    }
    return ctx;
}

cli_redis *cli_redis_connect(const char *url, long timeout_ms, char *err, size_t errlen)
{
    rd_link_config cfg;
    char buf[512];
    if (rd_link_parse_url(url, &cfg, buf, sizeof buf, err, errlen) != 0)
        return NULL;
    cli_redis *r = util_calloc(1, sizeof *r);
    snprintf(r->host, sizeof r->host, "%s", cfg.host);
    r->port = cfg.port;
    if (cfg.password) {
        snprintf(r->password, sizeof r->password, "%s", cfg.password);
        r->has_password = true;
    }
    r->db = cfg.db;
    r->timeout_ms = timeout_ms;
    r->cmd = open_ctx(r, err, errlen);
    if (!r->cmd) {
        util_free(r);
        return NULL;
    }
    /* A reachable server that is not a working Redis (or refuses us) fails here, not later. */
    const char *ping[] = {"PING"};
    redisReply *reply = run(r->cmd, 1, ping, NULL, buf, sizeof buf);
    if (!reply) {
        snprintf(err, errlen, "Redis at %s:%d: %s", r->host, r->port, buf);
        cli_redis_free(r);
        return NULL;
    }
    freeReplyObject(reply);
    return r;
}

void cli_redis_free(cli_redis *r)
{
    if (!r)
        return;
    if (r->last)
        freeReplyObject(r->last);
    if (r->cmd)
        redisFree(r->cmd);
    if (r->sub)
        redisFree(r->sub);
    while (r->subs) {
        cli_sub *s = r->subs;
        r->subs = s->next;
        util_free(s->name);
        util_free(s);
    }
    util_free(r);
}

redisReply *cli_redis_command(cli_redis *r, int argc, const char **argv, const size_t *lens,
                              char *err, size_t errlen)
{
    return run(r->cmd, argc, argv, lens, err, errlen);
}

int cli_redis_publish(cli_redis *r, const char *channel, const void *payload, size_t len,
                      long long *receivers, char *err, size_t errlen)
{
    const char *argv[] = {"PUBLISH", channel, payload};
    size_t lens[] = {7, strlen(channel), len};
    redisReply *reply = run(r->cmd, 3, argv, lens, err, errlen);
    if (!reply)
        return -1;
    if (receivers)
        *receivers = reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
    freeReplyObject(reply);
    return 0;
}

int cli_redis_numsub(cli_redis *r, const char *channel, long long *n, char *err, size_t errlen)
{
    const char *argv[] = {"PUBSUB", "NUMSUB", channel};
    redisReply *reply = run(r->cmd, 3, argv, NULL, err, errlen);
    if (!reply)
        return -1;
    int rc = -1;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[1]->type == REDIS_REPLY_INTEGER) {
        *n = reply->element[1]->integer;
        rc = 0;
    } else {
        snprintf(err, errlen, "unexpected PUBSUB NUMSUB reply");
    }
    freeReplyObject(reply);
    return rc;
}

int cli_redis_subscribe(cli_redis *r, const char *channel, bool pattern, char *err, size_t errlen)
{
    for (cli_sub *s = r->subs; s; s = s->next)
        if (s->pattern == pattern && strcmp(s->name, channel) == 0)
            return 0;
    if (!r->sub) {
        r->sub = open_ctx(r, err, errlen);
        if (!r->sub)
            return -1;
    }
    const char *kind = pattern ? "psubscribe" : "subscribe";
    const char *argv[] = {pattern ? "PSUBSCRIBE" : "SUBSCRIBE", channel};
    redisAppendCommandArgv(r->sub, 2, argv, NULL);
    /* Messages of earlier subscriptions may come before the confirmation: they are dropped, so
     * callers subscribe before they send requests. */
    for (;;) {
        void *reply = NULL;
        if (redisGetReply(r->sub, &reply) != REDIS_OK || !reply) {
            bool timeout = errno == EAGAIN || errno == EWOULDBLOCK;
            snprintf(err, errlen, "Redis %s: %s", timeout ? "did not confirm in time" : "failed",
                     timeout ? argv[0] : r->sub->errstr);
            return -1;
        }
        redisReply *rr = reply;
        bool confirmed =
            rr->type == REDIS_REPLY_ARRAY && rr->elements == 3 &&
            rr->element[0]->type == REDIS_REPLY_STRING && strcmp(rr->element[0]->str, kind) == 0 &&
            rr->element[1]->type == REDIS_REPLY_STRING && strcmp(rr->element[1]->str, channel) == 0;
        bool error = rr->type == REDIS_REPLY_ERROR;
        if (error)
            snprintf(err, errlen, "Redis refused %s: %.*s", argv[0], (int)rr->len, rr->str);
        freeReplyObject(reply);
        if (error)
            return -1;
        if (confirmed)
            break;
    }
    cli_sub *s = util_calloc(1, sizeof *s);
    s->name = util_strdup(channel);
    s->pattern = pattern;
    s->next = r->subs;
    r->subs = s;
    return 0;
}

/* Fills msg from a pub/sub reply. Returns 1 for a message, 0 for anything else (confirmations). */
static int as_message(redisReply *reply, cli_msg *msg)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
        return 0;
    redisReply **e = reply->element;
    if (e[0]->type != REDIS_REPLY_STRING)
        return 0;
    size_t ch = 1, body = 2;
    if (strcmp(e[0]->str, "pmessage") == 0 && reply->elements == 4) {
        ch = 2;
        body = 3;
        msg->from_pattern = true;
    } else if (strcmp(e[0]->str, "message") == 0) {
        msg->from_pattern = false;
    } else {
        return 0;
    }
    if (e[ch]->type != REDIS_REPLY_STRING || e[body]->type != REDIS_REPLY_STRING)
        return 0;
    msg->channel = e[ch]->str;
    msg->channel_len = e[ch]->len;
    msg->payload = (const uint8_t *)e[body]->str;
    msg->len = e[body]->len;
    return 1;
}

int cli_redis_next(cli_redis *r, uint64_t deadline, volatile int *stop, cli_msg *msg, char *err,
                   size_t errlen)
{
    if (r->last) {
        freeReplyObject(r->last);
        r->last = NULL;
    }
    if (!r->sub)
        return 0;
    for (;;) {
        void *reply = NULL;
        if (redisGetReplyFromReader(r->sub, &reply) != REDIS_OK) {
            snprintf(err, errlen, "bad reply from Redis: %s", r->sub->errstr);
            return -1;
        }
        if (reply) {
            if (as_message(reply, msg)) {
                r->last = reply;
                return 1;
            }
            freeReplyObject(reply);
            continue;
        }
        if (stop && *stop)
            return 0;
        uint64_t now = util_mono_ms();
        if (deadline != UINT64_MAX && now >= deadline)
            return 0;
        uint64_t wait = deadline == UINT64_MAX ? 100 : deadline - now;
        if (stop && wait > 100)
            wait = 100;
        struct pollfd pfd = {.fd = r->sub->fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)wait);
        if (n < 0 && errno != EINTR) {
            snprintf(err, errlen, "waiting for Redis: %s", strerror(errno));
            return -1;
        }
        if (n <= 0)
            continue;
        if (redisBufferRead(r->sub) != REDIS_OK) {
            snprintf(err, errlen, "connection to Redis lost: %s",
                     r->sub->errstr[0] ? r->sub->errstr : "closed");
            return -1;
        }
    }
}

char *cli_glob_escape(const char *s)
{
    util_buf b = UTIL_BUF_INIT;
    for (; *s; s++) {
        if (strchr("*?[]\\", *s))
            util_buf_putc(&b, '\\');
        util_buf_putc(&b, (uint8_t)*s);
    }
    return util_buf_steal_str(&b);
}
