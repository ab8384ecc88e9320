/* cmd_cluster: the commands about nodes and sessions: nodes (registry + control ping), sessions
 * (the sid -> node map) and session SID (asked to its owning node over the control channel). */
#include "cli_out.h"
#include "cli_req.h"
#include "util_alloc.h"
#include "util_buf.h"
#include "util_time.h"

#include <stdlib.h>
#include <string.h>

/** A node record older than this (two missed 2 s heartbeats) makes the node "silent". */
#define CLI_HEARTBEAT_STALE_MS 4500

static char *key_of(const cli_ctx *ctx, const char *kind, const char *id)
{
    util_buf b = UTIL_BUF_INIT;
    util_buf_printf(&b, "%s:%s:%s", ctx->key, kind, id);
    return util_buf_steal_str(&b);
}

/* SCANs the keys "K:kind:*" and appends the part after the prefix of each to out (an array).
 * Returns 0, or -1 with err. */
static int scan_ids(cli_ctx *ctx, const char *kind, json_t *out, char *err, size_t errlen)
{
    char *esc = cli_glob_escape(ctx->key);
    util_buf pat = UTIL_BUF_INIT;
    util_buf_printf(&pat, "%s:%s:*", esc, kind);
    char *pattern = util_buf_steal_str(&pat);
    util_free(esc);
    size_t prefix = strlen(ctx->key) + strlen(kind) + 2;
    char cursor[32] = "0";
    int rc = 0;
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
        redisReply *r = cli_redis_command(ctx->redis, 6, argv, NULL, err, errlen);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING) {
            if (r) {
                snprintf(err, errlen, "unexpected SCAN reply");
                freeReplyObject(r);
            }
            rc = -1;
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        redisReply *keys = r->element[1];
        for (size_t i = 0; keys->type == REDIS_REPLY_ARRAY && i < keys->elements; i++) {
            redisReply *k = keys->element[i];
            if (k->type == REDIS_REPLY_STRING && k->len > prefix)
                json_array_append_new(out, json_stringn(k->str + prefix, k->len - prefix));
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    util_free(pattern);
    return rc;
}

static bool array_has(const json_t *arr, const char *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
            return true;
    }
    return false;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* Sorts an array of strings in place. */
static void sort_strings(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = util_malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof *v, by_string);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    util_free(v);
}

/* The node record K:node:ID as an object of strings (empty when it does not exist), or NULL with
 * err. Caller owns. */
static json_t *node_record(cli_ctx *ctx, const char *id, char *err, size_t errlen)
{
    char *key = key_of(ctx, "node", id);
    const char *argv[] = {"HGETALL", key};
    redisReply *r = cli_redis_command(ctx->redis, 2, argv, NULL, err, errlen);
    util_free(key);
    if (!r)
        return NULL;
    json_t *rec = json_object();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING)
            json_object_set_new(rec, k->str, json_stringn(v->str, v->len));
    }
    freeReplyObject(r);
    return rec;
}

static long long field_ll(const json_t *rec, const char *name)
{
    const char *s = json_string_value(json_object_get(rec, name));
    return s ? strtoll(s, NULL, 10) : -1;
}

int cmd_nodes(cli_ctx *ctx, const cli_args *a)
{
    (void)a;
    char err[512];
    json_t *ids = json_array();
    const char *argv[] = {"SMEMBERS", NULL};
    char *set = util_malloc(strlen(ctx->key) + 8);
    sprintf(set, "%s:nodes", ctx->key);
    argv[1] = set;
    redisReply *r = cli_redis_command(ctx->redis, 2, argv, NULL, err, sizeof err);
    util_free(set);
    if (!r) {
        json_decref(ids);
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            json_array_append_new(ids, json_stringn(r->element[i]->str, r->element[i]->len));
    freeReplyObject(r);
    json_t *scanned = json_array();
    if (scan_ids(ctx, "node", scanned, err, sizeof err) != 0) {
        json_decref(ids);
        json_decref(scanned);
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    }
    size_t i;
    json_t *e;
    json_array_foreach(scanned, i, e)
    {
        if (!array_has(ids, json_string_value(e)))
            json_array_append(ids, e);
    }
    json_decref(scanned);
    sort_strings(ids);

    /* Which nodes answer on the control channel right now. */
    json_t *answered = json_array();
    if (json_array_size(ids) && cli_req_listen(ctx, err, sizeof err) == 0) {
        json_t *ping = json_pack("{s:s}", "type", "ping"), *replies = NULL;
        long long n;
        cli_req_control(ctx, NULL, ping, &replies, &n, err, sizeof err);
        json_array_foreach(replies, i, e)
        {
            json_t *node = json_object_get(e, "node");
            if (json_is_string(node))
                json_array_append(answered, node);
        }
        json_decref(replies);
        json_decref(ping);
    }

    int64_t now = (int64_t)util_wall_ms();
    json_t *doc = json_array();
    static const char *const heads[] = {"ID",       "ADDRESS", "VERSION",   "UPTIME",
                                        "SESSIONS", "SOCKETS", "HEARTBEAT", "STATUS"};
    cli_table *t = cli_table_new(8, heads);
    int rc = CLI_EXIT_OK;
    json_array_foreach(ids, i, e)
    {
        const char *id = json_string_value(e);
        json_t *rec = node_record(ctx, id, err, sizeof err);
        if (!rec) {
            rc = cli_fail(CLI_EXIT_USAGE, "%s", err);
            break;
        }
        bool alive = json_object_size(rec) > 0;
        long long started = field_ll(rec, "started"), beat = field_ll(rec, "heartbeat");
        long long beat_age = beat > 0 ? now - beat : -1;
        bool answers = array_has(answered, id);
        const char *status = !alive                                          ? "dead"
                             : beat_age > CLI_HEARTBEAT_STALE_MS || !answers ? "silent"
                                                                             : "ok";
        json_t *row = json_pack("{s:s,s:s}", "id", id, "status", status);
        const char *fields[] = {"address", "version"};
        for (size_t f = 0; f < 2; f++) {
            json_t *v = json_object_get(rec, fields[f]);
            json_object_set(row, fields[f], v ? v : json_null());
        }
        json_object_set_new(row, "started", started > 0 ? json_integer(started) : json_null());
        json_object_set_new(row, "uptime_ms",
                            started > 0 ? json_integer(now - started) : json_null());
        long long sess = field_ll(rec, "sessions"), socks = field_ll(rec, "sockets");
        json_object_set_new(row, "sessions", sess >= 0 ? json_integer(sess) : json_null());
        json_object_set_new(row, "sockets", socks >= 0 ? json_integer(socks) : json_null());
        json_object_set_new(row, "heartbeat", beat > 0 ? json_integer(beat) : json_null());
        json_object_set_new(row, "heartbeat_age_ms",
                            beat > 0 ? json_integer(beat_age) : json_null());
        json_object_set_new(row, "answers", json_boolean(answers));
        json_array_append_new(doc, row);

        char up[32], hb[40], ns[24], nk[24];
        cli_fmt_duration(up, sizeof up, started > 0 ? now - started : -1);
        char hbd[32];
        cli_fmt_duration(hbd, sizeof hbd, beat_age);
        snprintf(hb, sizeof hb, "%s%s", beat > 0 ? hbd : "-", beat > 0 ? " ago" : "");
        snprintf(ns, sizeof ns, "%lld", sess);
        snprintf(nk, sizeof nk, "%lld", socks);
        const char *cells[] = {id,
                               json_string_value(json_object_get(rec, "address")),
                               json_string_value(json_object_get(rec, "version")),
                               up,
                               sess >= 0 ? ns : "-",
                               socks >= 0 ? nk : "-",
                               hb,
                               status};
        cli_table_add(t, cells);
        json_decref(rec);
    }
    if (rc == CLI_EXIT_OK) {
        if (ctx->json) {
            json_t *out = json_pack("{s:O}", "nodes", doc);
            cli_print_json(out);
            json_decref(out);
        } else {
            cli_table_print(t, stdout);
        }
        if (json_array_size(ids) == 0)
            rc =
                cli_fail(CLI_EXIT_NONE, "no siobroker node is registered under %s:nodes", ctx->key);
    }
    cli_table_free(t);
    json_decref(doc);
    json_decref(answered);
    json_decref(ids);
    return rc;
}

int cmd_sessions(cli_ctx *ctx, const cli_args *a)
{
    const char *only = a->node;
    char err[512];
    json_t *sids = json_array();
    if (scan_ids(ctx, "sid", sids, err, sizeof err) != 0) {
        json_decref(sids);
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    }
    sort_strings(sids);
    json_t *doc = json_array();
    static const char *const heads[] = {"SID", "NODE"};
    cli_table *t = cli_table_new(2, heads);
    int rc = CLI_EXIT_OK;
    size_t n = json_array_size(sids);
    for (size_t at = 0; at < n && rc == CLI_EXIT_OK; at += 500) {
        size_t batch = n - at < 500 ? n - at : 500;
        const char **argv = util_malloc((batch + 1) * sizeof *argv);
        char **keys = util_malloc(batch * sizeof *keys);
        argv[0] = "MGET";
        for (size_t i = 0; i < batch; i++) {
            keys[i] = key_of(ctx, "sid", json_string_value(json_array_get(sids, at + i)));
            argv[i + 1] = keys[i];
        }
        redisReply *r = cli_redis_command(ctx->redis, (int)batch + 1, argv, NULL, err, sizeof err);
        for (size_t i = 0; i < batch; i++)
            util_free(keys[i]);
        util_free(keys);
        util_free(argv);
        if (!r) {
            rc = cli_fail(CLI_EXIT_USAGE, "%s", err);
            break;
        }
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && i < batch; i++) {
            redisReply *v = r->element[i];
            if (v->type != REDIS_REPLY_STRING)
                continue; /* expired between SCAN and MGET */
            if (only && strcmp(only, v->str) != 0)
                continue;
            const char *sid = json_string_value(json_array_get(sids, at + i));
            json_array_append_new(doc, json_pack("{s:s,s:s}", "sid", sid, "node", v->str));
            const char *cells[] = {sid, v->str};
            cli_table_add(t, cells);
        }
        freeReplyObject(r);
    }
    if (rc == CLI_EXIT_OK) {
        if (ctx->json) {
            json_t *out = json_pack("{s:O}", "sessions", doc);
            cli_print_json(out);
            json_decref(out);
        } else {
            cli_table_print(t, stdout);
        }
        if (json_array_size(doc) == 0)
            rc = only ? cli_fail(CLI_EXIT_NONE, "no session on node %s", only)
                      : cli_fail(CLI_EXIT_NONE, "no session in the cluster");
    }
    cli_table_free(t);
    json_decref(doc);
    json_decref(sids);
    return rc;
}

static void print_session(const json_t *s, const char *node)
{
    char age[32];
    json_t *age_ms = json_object_get(s, "age_ms");
    cli_fmt_duration(age, sizeof age, json_is_integer(age_ms) ? json_integer_value(age_ms) : -1);
    static const char *const heads[] = {"SID", "NODE", "TRANSPORT", "STATE", "REMOTE", "AGE"};
    cli_table *t = cli_table_new(6, heads);
    const char *cells[] = {json_string_value(json_object_get(s, "sid")),
                           node,
                           json_string_value(json_object_get(s, "transport")),
                           json_string_value(json_object_get(s, "state")),
                           json_string_value(json_object_get(s, "remote")),
                           age};
    cli_table_add(t, cells);
    cli_table_print(t, stdout);
    cli_table_free(t);

    static const char *const sheads[] = {"NSP", "SOCKET", "ROOMS"};
    t = cli_table_new(3, sheads);
    size_t i;
    json_t *sock;
    json_array_foreach(json_object_get(s, "sockets"), i, sock)
    {
        util_buf rooms = UTIL_BUF_INIT;
        const char *id = json_string_value(json_object_get(sock, "id"));
        size_t j;
        json_t *r;
        json_array_foreach(json_object_get(sock, "rooms"), j, r)
        {
            const char *name = json_string_value(r);
            if (!name || (id && strcmp(name, id) == 0))
                continue; /* its own id room goes without saying */
            if (rooms.len)
                util_buf_puts(&rooms, ",");
            util_buf_puts(&rooms, name);
        }
        char *text = util_buf_steal_str(&rooms);
        const char *cells2[] = {json_string_value(json_object_get(sock, "nsp")), id,
                                text[0] ? text : "-"};
        cli_table_add(t, cells2);
        util_free(text);
    }
    fputc('\n', stdout);
    cli_table_print(t, stdout);
    cli_table_free(t);
}

int cmd_session(cli_ctx *ctx, const cli_args *a)
{
    const char *sid = a->pos.v[0];
    char err[512];
    char *key = key_of(ctx, "sid", sid);
    const char *argv[] = {"GET", key};
    redisReply *r = cli_redis_command(ctx->redis, 2, argv, NULL, err, sizeof err);
    util_free(key);
    if (!r)
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    if (r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return cli_fail(CLI_EXIT_NONE, "no session %s in the cluster (%s:sid:%s is not set)", sid,
                        ctx->key, sid);
    }
    char *node = util_strndup(r->str, r->len);
    freeReplyObject(r);
    if (cli_req_listen(ctx, err, sizeof err) != 0) {
        util_free(node);
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    }
    json_t *req = json_pack("{s:s,s:s}", "type", "session", "sid", sid), *replies = NULL;
    long long nodes = 0;
    int got = cli_req_control(ctx, node, req, &replies, &nodes, err, sizeof err);
    json_decref(req);
    int rc;
    json_t *rep = json_array_get(replies, 0);
    if (got < 0) {
        rc = cli_fail(CLI_EXIT_USAGE, "%s", err);
    } else if (nodes == 0) {
        rc = cli_fail(CLI_EXIT_NONE,
                      "session %s belongs to node %s, which does not answer (nothing subscribes "
                      "to %s#siobroker#%s#)",
                      sid, node, ctx->key, node);
    } else if (!rep) {
        rc = cli_fail(CLI_EXIT_NONE, "node %s did not answer within %ld ms", node, ctx->timeout_ms);
    } else if (!json_is_true(json_object_get(rep, "ok"))) {
        const char *why = json_string_value(json_object_get(rep, "error"));
        rc = cli_fail(CLI_EXIT_NONE, "node %s: %s: %s", node, why ? why : "request refused", sid);
    } else {
        json_t *s = json_object_get(rep, "session");
        if (ctx->json) {
            json_t *copy = json_deep_copy(s);
            json_object_set_new(copy, "node", json_string(node));
            json_t *out = json_pack("{s:o}", "session", copy);
            cli_print_json(out);
            json_decref(out);
        } else {
            print_session(s, node);
        }
        rc = CLI_EXIT_OK;
    }
    json_decref(replies);
    util_free(node);
    return rc;
}
