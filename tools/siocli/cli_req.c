/* cli_req: adapter requests and control requests of siocli, with their answer collection. */
#include "cli_req.h"

#include "util_alloc.h"
#include "util_buf.h"
#include "util_time.h"
#include "util_rand.h"
#include "sio_packet.h"

#include <string.h>

/* The channel names of this run, built on demand. Each returns a new string (util_free). */
static char *chan_request(const cli_ctx *ctx)
{
    util_buf b = UTIL_BUF_INIT;
    rd_channel_request(&b, ctx->key, ctx->nsp);
    return util_buf_steal_str(&b);
}

static char *chan_response(const cli_ctx *ctx, const char *uid)
{
    util_buf b = UTIL_BUF_INIT;
    rd_channel_response(&b, ctx->key, ctx->nsp, uid);
    return util_buf_steal_str(&b);
}

static char *chan_reply(const cli_ctx *ctx)
{
    util_buf b = UTIL_BUF_INIT;
    rd_channel_control_reply(&b, ctx->key, ctx->uid);
    return util_buf_steal_str(&b);
}

static bool same_channel(const cli_msg *m, const char *name)
{
    return m->channel_len == strlen(name) && memcmp(m->channel, name, m->channel_len) == 0;
}

int cli_req_listen(cli_ctx *ctx, char *err, size_t errlen)
{
    char *names[] = {chan_response(ctx, NULL), chan_response(ctx, ctx->uid), chan_reply(ctx)};
    int rc = 0;
    for (size_t i = 0; i < 3 && rc == 0; i++)
        rc = cli_redis_subscribe(ctx->redis, names[i], false, err, errlen);
    for (size_t i = 0; i < 3; i++)
        util_free(names[i]);
    return rc;
}

/* Publishes payload on channel after asking how many plain subscribers it has. Returns 0 and sets
 * *subscribers, or -1 with err. Nothing is published when there are none. */
static int publish_counted(cli_ctx *ctx, const char *channel, const util_buf *payload,
                           long long *subscribers, char *err, size_t errlen)
{
    if (cli_redis_numsub(ctx->redis, channel, subscribers, err, errlen) != 0)
        return -1;
    if (*subscribers <= 0)
        return 0;
    return cli_redis_publish(ctx->redis, channel, payload->data, payload->len, NULL, err, errlen);
}

/* Waits for answers whose id field (requestId or id) equals id on the channels accepted by
 * accept_fn, appending each decoded answer to acc, until expected answers came or deadline.
 * Returns 0 complete, 1 timeout, -1 error. */
static int collect(cli_ctx *ctx, bool control, const char *id_field, const char *id,
                   long long expected, uint64_t deadline, json_t *acc, char *err, size_t errlen)
{
    char *names[] = {chan_response(ctx, NULL), chan_response(ctx, ctx->uid), chan_reply(ctx)};
    int rc = 1;
    while ((long long)json_array_size(acc) < expected) {
        cli_msg m;
        int got = cli_redis_next(ctx->redis, deadline, NULL, &m, err, errlen);
        if (got <= 0) {
            rc = got < 0 ? -1 : 1;
            goto done;
        }
        bool ours = control ? same_channel(&m, names[2])
                            : same_channel(&m, names[0]) || same_channel(&m, names[1]);
        if (!ours)
            continue;
        json_t *ans = NULL;
        const char *why = NULL;
        if (control) {
            json_error_t jerr;
            ans = json_loadb((const char *)m.payload, m.len, 0, &jerr);
        } else if (rd_message_decode(m.payload, m.len, &ans, &why) != 0) {
            ans = NULL;
        }
        if (json_is_object(ans) && json_is_string(json_object_get(ans, id_field)) &&
            strcmp(json_string_value(json_object_get(ans, id_field)), id) == 0)
            json_array_append(acc, ans);
        json_decref(ans);
    }
    rc = 0;
done:
    for (size_t i = 0; i < 3; i++)
        util_free(names[i]);
    return rc;
}

int cli_req_collect(cli_ctx *ctx, const json_t *req, json_t **answers, long long *servers,
                    char *err, size_t errlen)
{
    *answers = NULL;
    char rid[8];
    util_rand_id(rid, 4);
    json_t *msg = json_object();
    json_object_set_new(msg, "uid", json_string(ctx->uid));
    json_object_set_new(msg, "requestId", json_string(rid));
    json_object_update(msg, (json_t *)req);
    util_buf payload = UTIL_BUF_INIT;
    rd_request_encode(&payload, msg);
    json_decref(msg);
    char *channel = chan_request(ctx);
    uint64_t deadline = util_mono_ms() + (uint64_t)ctx->timeout_ms;
    int rc = publish_counted(ctx, channel, &payload, servers, err, errlen);
    util_buf_free(&payload);
    util_free(channel);
    if (rc != 0)
        return -1;
    json_t *acc = json_array();
    rc = collect(ctx, false, "requestId", rid, *servers, deadline, acc, err, errlen);
    if (rc < 0) {
        json_decref(acc);
        return -1;
    }
    *answers = acc;
    return rc;
}

static json_t *opts_json(const char *const *rooms, size_t n_rooms, const char *const *except,
                         size_t n_except)
{
    json_t *r = json_array(), *e = json_array();
    for (size_t i = 0; i < n_rooms; i++)
        json_array_append_new(r, json_string(rooms[i]));
    for (size_t i = 0; i < n_except; i++)
        json_array_append_new(e, json_string(except[i]));
    return json_pack("{s:o,s:o}", "rooms", r, "except", e);
}

int cli_req_fetch(cli_ctx *ctx, const char *const *rooms, size_t n_rooms, const char *const *except,
                  size_t n_except, json_t **sockets, long long *servers, char *err, size_t errlen)
{
    json_t *req = json_pack("{s:i,s:o}", "type", RD_REQ_REMOTE_FETCH, "opts",
                            opts_json(rooms, n_rooms, except, n_except));
    json_t *answers;
    int rc = cli_req_collect(ctx, req, &answers, servers, err, errlen);
    json_decref(req);
    if (rc < 0)
        return rc;
    *sockets = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(answers, i, a)
    {
        json_t *list = json_object_get(a, "sockets");
        size_t j;
        json_t *s;
        json_array_foreach(list, j, s)
        {
            if (json_is_object(s) && json_is_string(json_object_get(s, "id")))
                json_array_append(*sockets, s);
        }
    }
    json_decref(answers);
    return rc;
}

static bool has_string(const json_t *arr, const char *s)
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

int cli_req_all_rooms(cli_ctx *ctx, json_t **rooms, long long *servers, char *err, size_t errlen)
{
    json_t *req = json_pack("{s:i}", "type", RD_REQ_ALL_ROOMS);
    json_t *answers;
    int rc = cli_req_collect(ctx, req, &answers, servers, err, errlen);
    json_decref(req);
    if (rc < 0)
        return rc;
    *rooms = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(answers, i, a)
    {
        size_t j;
        json_t *r;
        json_array_foreach(json_object_get(a, "rooms"), j, r)
        {
            if (json_is_string(r) && !has_string(*rooms, json_string_value(r)))
                json_array_append(*rooms, r);
        }
    }
    json_decref(answers);
    return rc;
}

int cli_req_control(cli_ctx *ctx, const char *node_id, const json_t *req, json_t **replies,
                    long long *nodes, char *err, size_t errlen)
{
    *replies = NULL;
    char id[16];
    util_rand_id(id, 6);
    char *reply = chan_reply(ctx);
    json_t *msg = json_pack("{s:s,s:s}", "id", id, "reply", reply);
    util_free(reply);
    json_object_update(msg, (json_t *)req);
    util_buf payload = UTIL_BUF_INIT, channel = UTIL_BUF_INIT;
    sio_json_append(&payload, msg, JSON_COMPACT);
    json_decref(msg);
    rd_channel_control(&channel, ctx->key, node_id);
    util_buf_putc(&channel, '\0');
    uint64_t deadline = util_mono_ms() + (uint64_t)ctx->timeout_ms;
    int rc = publish_counted(ctx, (const char *)channel.data, &payload, nodes, err, errlen);
    util_buf_free(&payload);
    util_buf_free(&channel);
    if (rc != 0)
        return -1;
    json_t *acc = json_array();
    rc = collect(ctx, true, "id", id, *nodes, deadline, acc, err, errlen);
    if (rc < 0) {
        json_decref(acc);
        return -1;
    }
    *replies = acc;
    return rc;
}

json_t *cli_req_socket_owners(cli_ctx *ctx)
{
    json_t *owners = json_object();
    json_t *req = json_pack("{s:s,s:s}", "type", "sockets", "nsp", ctx->nsp);
    json_t *replies = NULL;
    long long nodes;
    char err[256];
    cli_req_control(ctx, NULL, req, &replies, &nodes, err, sizeof err);
    json_decref(req);
    size_t i;
    json_t *r;
    json_array_foreach(replies, i, r)
    {
        const char *node = json_string_value(json_object_get(r, "node"));
        size_t j;
        json_t *s;
        json_array_foreach(json_object_get(r, "sockets"), j, s)
        {
            const char *id = json_string_value(json_object_get(s, "id"));
            json_t *sid = json_object_get(s, "sid");
            if (id && node)
                json_object_set_new(owners, id,
                                    json_pack("{s:s,s:O}", "node", node, "sid",
                                              json_is_string(sid) ? sid : json_null()));
        }
    }
    json_decref(replies);
    return owners;
}

int cli_req_broadcast_ack(cli_ctx *ctx, const rd_broadcast *b, long ack_ms, cli_ack_result *out,
                          char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char rid[8];
    util_rand_id(rid, 4);
    rd_broadcast mine = *b;
    mine.uid = ctx->uid;
    util_buf payload = UTIL_BUF_INIT;
    rd_request_encode_broadcast(&payload, rid, &mine, ack_ms);
    char *channel = chan_request(ctx);
    uint64_t deadline = util_mono_ms() + (uint64_t)ack_ms;
    int rc = publish_counted(ctx, channel, &payload, &out->servers, err, errlen);
    util_buf_free(&payload);
    util_free(channel);
    if (rc != 0)
        return -1;
    out->acks = json_array();
    char *shared = chan_response(ctx, NULL), *own = chan_response(ctx, ctx->uid);
    rc = 1;
    for (;;) {
        if (out->servers_answered >= out->servers &&
            (long long)json_array_size(out->acks) >= out->clients) {
            rc = 0;
            break;
        }
        cli_msg m;
        int got = cli_redis_next(ctx->redis, deadline, NULL, &m, err, errlen);
        if (got <= 0) {
            rc = got < 0 ? -1 : 1;
            break;
        }
        if (!same_channel(&m, shared) && !same_channel(&m, own))
            continue;
        json_t *res = NULL;
        const char *why = NULL;
        if (rd_response_decode(m.payload, m.len, &res, &why) != 0)
            continue;
        const char *id = rd_request_str(res, "requestId");
        if (id && strcmp(id, rid) == 0) {
            int type = rd_request_type_of(res);
            if (type == RD_REQ_BROADCAST_CLIENT_COUNT) {
                out->servers_answered++;
                out->clients += json_integer_value(json_object_get(res, "clientCount"));
            } else if (type == RD_REQ_BROADCAST_ACK) {
                json_t *v = json_object_get(res, "packet");
                json_array_append(out->acks, v ? v : json_null());
            }
        }
        json_decref(res);
    }
    util_free(shared);
    util_free(own);
    if (rc < 0) {
        json_decref(out->acks);
        out->acks = NULL;
    }
    return rc;
}
