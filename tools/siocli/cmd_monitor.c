/* cmd_monitor: a live, decoded stream of the namespace's cluster broadcasts (K#NSP#* and the
 * broadcasts with acks on K-request#NSP#), through pattern subscriptions only, so that siocli
 * never counts as a server in PUBSUB NUMSUB. */
#include "cli_out.h"
#include "cli_req.h"
#include "util_alloc.h"
#include "util_buf.h"
#include "util_time.h"

#include <signal.h>
#include <string.h>
#include <time.h>

static volatile int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/** One decoded broadcast, whatever channel it came on. */
typedef struct seen {
    rd_broadcast b;
    bool ack;          /**< a BROADCAST request (with acks) */
    long long timeout; /**< its flags.timeout, or -1 */
    const char *request_id;
} seen;

static json_t *names_json(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static char *names_text(char **v, size_t n)
{
    util_buf b = UTIL_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (i)
            util_buf_putc(&b, ',');
        util_buf_puts(&b, v[i]);
    }
    if (!n)
        util_buf_putc(&b, '-');
    return util_buf_steal_str(&b);
}

static bool targets(const rd_broadcast *b, const char *room)
{
    for (size_t i = 0; i < b->n_rooms; i++)
        if (strcmp(b->rooms[i], room) == 0)
            return true;
    return false;
}

/* Prints one broadcast as a line of the table (fixed minimum widths) or as one JSON line. */
static void print_seen(const cli_ctx *ctx, const seen *s, const cli_msg *m)
{
    int64_t now = (int64_t)util_wall_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    const rd_broadcast *b = &s->b;
    const char *event = json_string_value(json_array_get(b->data, 0));
    json_t *args = json_array();
    for (size_t i = 1; i < json_array_size(b->data); i++)
        json_array_append(args, json_array_get(b->data, i));
    if (ctx->json) {
        gmtime_r(&secs, &tm);
        char iso[40];
        strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%S", &tm);
        char when[48];
        snprintf(when, sizeof when, "%s.%03dZ", iso, (int)(now % 1000));
        json_t *flags = json_object();
        if (b->volatile_)
            json_object_set_new(flags, "volatile", json_true());
        if (b->compress_set)
            json_object_set_new(flags, "compress", json_boolean(b->compress));
        if (s->ack)
            json_object_set_new(flags, "ack", json_true());
        if (s->timeout >= 0)
            json_object_set_new(flags, "timeout", json_integer(s->timeout));
        json_t *line = json_pack(
            "{s:s,s:s#,s:o,s:s,s:o,s:o,s:o,s:o}", "time", when, "channel", m->channel,
            (int)m->channel_len, "uid", b->uid ? json_string(b->uid) : json_null(), "event", event,
            "rooms", names_json(b->rooms, b->n_rooms), "except", names_json(b->except, b->n_except),
            "flags", flags, "args", json_incref(args));
        if (s->request_id)
            json_object_set_new(line, "requestId", json_string(s->request_id));
        cli_print_json_line(line);
        json_decref(line);
    } else {
        localtime_r(&secs, &tm);
        char when[32], hms[16];
        strftime(hms, sizeof hms, "%H:%M:%S", &tm);
        snprintf(when, sizeof when, "%s.%03d", hms, (int)(now % 1000));
        char *rooms = names_text(b->rooms, b->n_rooms);
        char *except = names_text(b->except, b->n_except);
        util_buf flags = UTIL_BUF_INIT;
        if (b->volatile_)
            util_buf_puts(&flags, "volatile ");
        if (b->compress_set && !b->compress)
            util_buf_puts(&flags, "nocompress ");
        if (s->ack)
            util_buf_printf(&flags, "ack(%lldms) ", s->timeout);
        if (flags.len)
            flags.len--;
        else
            util_buf_putc(&flags, '-');
        char *flag_text = util_buf_steal_str(&flags);
        char *arg_text = cli_json_text(args);
        printf("%-12s  %-8s  %-16s  %-16s  %-12s  %-10s  %s\n", when, b->uid ? b->uid : "-", event,
               rooms, except, flag_text, arg_text);
        fflush(stdout);
        util_free(rooms);
        util_free(except);
        util_free(flag_text);
        util_free(arg_text);
    }
    json_decref(args);
}

/* Decodes m into s: a broadcast on K#NSP#..., or a BROADCAST request on the request channel.
 * Returns 0, or -1 when it is neither (other requests, other namespaces, malformed input). */
static int decode(const cli_ctx *ctx, const cli_msg *m, const char *request_channel, seen *s,
                  json_t **req_out)
{
    memset(s, 0, sizeof *s);
    s->timeout = -1;
    const char *err = NULL;
    bool is_request = m->channel_len == strlen(request_channel) &&
                      memcmp(m->channel, request_channel, m->channel_len) == 0;
    if (!is_request) {
        char *room = NULL;
        if (rd_channel_room(m->channel, m->channel_len, ctx->key, ctx->nsp, &room) != 0)
            return -1;
        util_free(room);
        if (rd_broadcast_decode(m->payload, m->len, &s->b, &err) != 0)
            return -1;
        return strcmp(s->b.nsp, ctx->nsp) == 0 ? 0 : (rd_broadcast_clear(&s->b), -1);
    }
    json_t *req = NULL;
    if (rd_request_decode(m->payload, m->len, &req, &err) != 0)
        return -1;
    if (rd_request_type_of(req) != RD_REQ_BROADCAST ||
        rd_request_broadcast(req, &s->b, &err) != 0) {
        json_decref(req);
        return -1;
    }
    s->ack = true;
    s->request_id = rd_request_str(req, "requestId");
    json_t *t = json_object_get(json_object_get(json_object_get(req, "opts"), "flags"), "timeout");
    s->timeout = json_is_integer(t) ? (long long)json_integer_value(t) : -1;
    *req_out = req;
    return 0;
}

int cmd_monitor(cli_ctx *ctx, const cli_args *a)
{
    const char *room = a->room;
    long count = a->count;
    char err[512];
    /* Patterns, escaped so that glob characters in the prefix or namespace match literally. */
    char *key = cli_glob_escape(ctx->key), *nsp = cli_glob_escape(ctx->nsp);
    util_buf p = UTIL_BUF_INIT;
    util_buf_printf(&p, "%s#%s#*", key, nsp);
    char *bcast = util_buf_steal_str(&p);
    util_buf_printf(&p, "%s-request#%s#", key, nsp);
    char *reqpat = util_buf_steal_str(&p);
    rd_channel_request(&p, ctx->key, ctx->nsp);
    char *request_channel = util_buf_steal_str(&p);
    util_free(key);
    util_free(nsp);
    int rc = CLI_EXIT_OK;
    if (cli_redis_subscribe(ctx->redis, bcast, true, err, sizeof err) != 0 ||
        cli_redis_subscribe(ctx->redis, reqpat, true, err, sizeof err) != 0) {
        rc = cli_fail(CLI_EXIT_USAGE, "%s", err);
        goto done;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* On stderr, so that stdout holds only the stream; scripts wait for it before emitting. */
    fprintf(stderr, "siocli: monitoring %s and %s (Ctrl-C to stop)\n", bcast, reqpat);
    if (!ctx->json) {
        printf("%-12s  %-8s  %-16s  %-16s  %-12s  %-10s  %s\n", "TIME", "ORIGIN", "EVENT", "ROOMS",
               "EXCEPT", "FLAGS", "ARGS");
        fflush(stdout);
    }
    long shown = 0;
    while (!g_stop && (!count || shown < count)) {
        cli_msg m;
        int got = cli_redis_next(ctx->redis, UINT64_MAX, &g_stop, &m, err, sizeof err);
        if (got < 0) {
            rc = cli_fail(CLI_EXIT_USAGE, "%s", err);
            break;
        }
        if (got == 0)
            continue;
        seen s;
        json_t *req = NULL;
        if (decode(ctx, &m, request_channel, &s, &req) != 0)
            continue;
        if (!room || targets(&s.b, room)) {
            print_seen(ctx, &s, &m);
            shown++;
        }
        rd_broadcast_clear(&s.b);
        json_decref(req);
    }
done:
    util_free(bcast);
    util_free(reqpat);
    util_free(request_channel);
    return rc;
}
