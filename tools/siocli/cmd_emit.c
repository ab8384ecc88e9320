/* cmd_emit: the commands that act on the cluster: emit (the emitter's format, or a broadcast with
 * acks through the request channel), join, leave and disconnect (the adapter's REMOTE_* requests
 * in the emitter's form, which siobroker nodes and Node servers both apply). */
#include "cli_out.h"
#include "cli_req.h"
#include "util_alloc.h"
#include "sio_binary.h"
#include "util_buf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/** Largest --binary-file accepted (Node servers refuse bigger messages long before this). */
#define CLI_MAX_BINARY (64u * 1024 * 1024)

/** Event names a server never lets anyone emit (as @socket.io/redis-emitter refuses them). */
static const char *const k_reserved[] = {"connect",       "connect_error", "disconnect",
                                         "disconnecting", "newListener",   "removeListener"};

static bool reserved(const char *event)
{
    for (size_t i = 0; i < sizeof k_reserved / sizeof k_reserved[0]; i++)
        if (strcmp(event, k_reserved[i]) == 0)
            return true;
    return false;
}

/* Reads the file at path into a new binary value. Returns it, or NULL with err. */
static json_t *read_binary(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "--binary-file %s: %s", path, strerror(errno));
        return NULL;
    }
    util_buf b = UTIL_BUF_INIT;
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > CLI_MAX_BINARY) {
            snprintf(err, errlen, "--binary-file %s: larger than %u bytes", path, CLI_MAX_BINARY);
            fclose(f);
            util_buf_free(&b);
            return NULL;
        }
        util_buf_append(&b, chunk, n);
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        snprintf(err, errlen, "--binary-file %s: read error", path);
        util_buf_free(&b);
        return NULL;
    }
    json_t *v = sio_binary_new(b.data, b.len);
    util_buf_free(&b);
    return v;
}

/* Builds [event, args...] from the command line: each JSON_ARG parsed as JSON, then each
 * --binary-file as a binary argument. Returns a new array, or NULL with err. */
static json_t *event_data(const cli_args *a, char *err, size_t errlen)
{
    const char *event = a->pos.v[0];
    if (!event[0] || reserved(event)) {
        snprintf(err, errlen, "emit: \"%s\" cannot be emitted (empty or reserved event name)",
                 event);
        return NULL;
    }
    json_t *data = json_array();
    json_array_append_new(data, json_string(event));
    for (size_t i = 1; i < a->pos.n; i++) {
        json_error_t jerr;
        json_t *v = json_loads(a->pos.v[i], JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (!v) {
            snprintf(err, errlen,
                     "emit: argument %zu is not JSON (%s): %s (write strings with quotes: "
                     "'\"text\"')",
                     i, jerr.text, a->pos.v[i]);
            json_decref(data);
            return NULL;
        }
        json_array_append_new(data, v);
    }
    for (size_t i = 0; i < a->files.n; i++) {
        json_t *v = read_binary(a->files.v[i], err, errlen);
        if (!v) {
            json_decref(data);
            return NULL;
        }
        json_array_append_new(data, v);
    }
    return data;
}

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* Prints the outcome of a broadcast with acks. Returns the exit code. */
static int report_acks(cli_ctx *ctx, const char *event, int got, const cli_ack_result *res,
                       long ack_ms)
{
    long long acked = (long long)json_array_size(res->acks);
    long long missing = res->clients > acked ? res->clients - acked : 0;
    long long silent =
        res->servers > res->servers_answered ? res->servers - res->servers_answered : 0;
    if (ctx->json) {
        json_t *out =
            json_pack("{s:s,s:I,s:I,s:I,s:O,s:I,s:b}", "event", event, "servers",
                      (json_int_t)res->servers, "servers_answered",
                      (json_int_t)res->servers_answered, "clients", (json_int_t)res->clients,
                      "acks", res->acks, "missing", (json_int_t)missing, "timed_out", got == 1);
        cli_print_json(out);
        json_decref(out);
    } else {
        static const char *const heads[] = {"#", "ACK"};
        cli_table *t = cli_table_new(2, heads);
        size_t i;
        json_t *v;
        json_array_foreach(res->acks, i, v)
        {
            char n[24];
            snprintf(n, sizeof n, "%zu", i + 1);
            char *text = cli_json_text(v);
            const char *cells[] = {n, text};
            cli_table_add(t, cells);
            util_free(text);
        }
        cli_table_print(t, stdout);
        cli_table_free(t);
        printf("%lld of %lld clients acked on %lld of %lld servers; %lld did not answer in %ld "
               "ms\n",
               acked, res->clients, res->servers_answered, res->servers, missing, ack_ms);
        fflush(stdout);
    }
    if (res->servers == 0)
        return cli_fail(CLI_EXIT_NONE, "no server subscribes to %s-request#%s#", ctx->key,
                        ctx->nsp);
    if (got == 1)
        return cli_fail(CLI_EXIT_NONE,
                        "timeout after %ld ms: %lld clients did not ack, %lld servers did not "
                        "report",
                        ack_ms, missing, silent);
    if (res->clients == 0)
        return cli_fail(CLI_EXIT_NONE, "no client matched");
    return CLI_EXIT_OK;
}

int cmd_emit(cli_ctx *ctx, const cli_args *a)
{
    size_t n_to = a->to.n, n_except = a->except.n;
    const char *const *to = a->to.v;
    const char *const *except = a->except.v;
    long ack_ms = a->ack_ms;
    char err[512];
    json_t *data = event_data(a, err, sizeof err);
    if (!data)
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    rd_broadcast b;
    memset(&b, 0, sizeof b);
    b.uid = (char *)"emitter";
    b.data = data;
    b.nsp = (char *)ctx->nsp;
    b.rooms = (char **)to;
    b.n_rooms = n_to;
    b.except = (char **)except;
    b.n_except = n_except;
    b.volatile_ = a->volatile_;
    const char *event = a->pos.v[0];
    int rc;
    if (ack_ms) {
        cli_ack_result res;
        if (cli_req_listen(ctx, err, sizeof err) != 0) {
            json_decref(data);
            return cli_fail(CLI_EXIT_USAGE, "%s", err);
        }
        int got = cli_req_broadcast_ack(ctx, &b, ack_ms, &res, err, sizeof err);
        if (got < 0)
            rc = cli_fail(CLI_EXIT_USAGE, "%s", err);
        else
            rc = report_acks(ctx, event, got, &res, ack_ms);
        json_decref(res.acks);
        json_decref(data);
        return rc;
    }
    /* The emitter's format: published once, on the room's channel when there is exactly one. */
    util_buf msg = UTIL_BUF_INIT, ch = UTIL_BUF_INIT;
    rd_broadcast_encode(&msg, &b, true);
    rd_channel_broadcast(&ch, ctx->key, ctx->nsp, n_to == 1 ? to[0] : NULL);
    util_buf_putc(&ch, '\0');
    long long receivers = 0;
    if (cli_redis_publish(ctx->redis, (const char *)ch.data, msg.data, msg.len, &receivers, err,
                          sizeof err) != 0) {
        rc = cli_fail(CLI_EXIT_USAGE, "%s", err);
    } else {
        if (ctx->json) {
            json_t *out = json_pack("{s:s,s:s,s:o,s:o,s:b,s:I}", "event", event, "channel",
                                    (const char *)ch.data, "to", string_array(to, n_to), "except",
                                    string_array(except, n_except), "volatile", b.volatile_,
                                    "receivers", (json_int_t)receivers);
            cli_print_json(out);
            json_decref(out);
        } else {
            static const char *const heads[] = {"EVENT", "CHANNEL", "BYTES", "RECEIVERS"};
            cli_table *t = cli_table_new(4, heads);
            char bytes[24], recv[24];
            snprintf(bytes, sizeof bytes, "%zu", msg.len);
            snprintf(recv, sizeof recv, "%lld", receivers);
            const char *cells[] = {event, (const char *)ch.data, bytes, recv};
            cli_table_add(t, cells);
            cli_table_print(t, stdout);
            cli_table_free(t);
        }
        rc = receivers > 0
                 ? CLI_EXIT_OK
                 : cli_fail(CLI_EXIT_NONE, "no server listens on %s (nothing received it)",
                            (const char *)ch.data);
    }
    util_buf_free(&msg);
    util_buf_free(&ch);
    json_decref(data);
    return rc;
}

/* join, leave and disconnect: counts the sockets the selection matches (REMOTE_FETCH), then
 * publishes the request as the emitter does (no uid: every server, siobroker or Node, applies
 * it). Nothing is sent when no socket matches. */
static int selection_request(cli_ctx *ctx, const cli_args *a, int type, const char *verb)
{
    size_t n_to = a->to.n, n_except = a->except.n;
    const char *const *to = a->to.v;
    const char *const *except = a->except.v;
    const char *room = type == RD_REQ_REMOTE_DISCONNECT ? NULL : a->pos.v[0];
    bool close = type == RD_REQ_REMOTE_DISCONNECT && a->close;
    char err[512];
    if (cli_req_listen(ctx, err, sizeof err) != 0)
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    json_t *sockets = NULL;
    long long servers = 0;
    int got = cli_req_fetch(ctx, to, n_to, except, n_except, &sockets, &servers, err, sizeof err);
    if (got < 0)
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    size_t matched = json_array_size(sockets);
    json_decref(sockets);
    if (got == 1)
        cli_fail(CLI_EXIT_NONE,
                 "%s: not every one of the %lld servers answered within %ld ms; "
                 "the count is partial",
                 verb, servers, ctx->timeout_ms);
    int rc = CLI_EXIT_OK;
    if (matched > 0) {
        json_t *req = json_pack("{s:i,s:{s:o,s:o}}", "type", type, "opts", "rooms",
                                string_array(to, n_to), "except", string_array(except, n_except));
        if (room)
            json_object_set_new(req, "rooms", json_pack("[s]", room));
        else
            json_object_set_new(req, "close", json_boolean(close));
        util_buf msg = UTIL_BUF_INIT, ch = UTIL_BUF_INIT;
        rd_request_encode_json(&msg, req);
        json_decref(req);
        rd_channel_request(&ch, ctx->key, ctx->nsp);
        util_buf_putc(&ch, '\0');
        if (cli_redis_publish(ctx->redis, (const char *)ch.data, msg.data, msg.len, NULL, err,
                              sizeof err) != 0)
            rc = cli_fail(CLI_EXIT_USAGE, "%s", err);
        util_buf_free(&msg);
        util_buf_free(&ch);
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    if (ctx->json) {
        json_t *out = json_pack("{s:s,s:o,s:o,s:I,s:I}", "action", verb, "to",
                                string_array(to, n_to), "except", string_array(except, n_except),
                                "matched", (json_int_t)matched, "servers", (json_int_t)servers);
        if (room)
            json_object_set_new(out, "room", json_string(room));
        else
            json_object_set_new(out, "close", json_boolean(close));
        cli_print_json(out);
        json_decref(out);
    } else {
        static const char *const heads[] = {"ACTION", "ROOM", "MATCHED", "SERVERS"};
        cli_table *t = cli_table_new(4, heads);
        char m[24], s[24];
        snprintf(m, sizeof m, "%zu", matched);
        snprintf(s, sizeof s, "%lld", servers);
        const char *cells[] = {close ? "disconnect+close" : verb, room, m, s};
        cli_table_add(t, cells);
        cli_table_print(t, stdout);
        cli_table_free(t);
    }
    if (matched == 0)
        return cli_fail(CLI_EXIT_NONE, "no socket matched: nothing sent");
    return got == 1 ? CLI_EXIT_NONE : CLI_EXIT_OK;
}

int cmd_join(cli_ctx *ctx, const cli_args *a)
{
    return selection_request(ctx, a, RD_REQ_REMOTE_JOIN, "join");
}

int cmd_leave(cli_ctx *ctx, const cli_args *a)
{
    return selection_request(ctx, a, RD_REQ_REMOTE_LEAVE, "leave");
}

int cmd_disconnect(cli_ctx *ctx, const cli_args *a)
{
    return selection_request(ctx, a, RD_REQ_REMOTE_DISCONNECT, "disconnect");
}
