/* args: siobench's command line (scenario, server URLs, load shape) and its help text. */
#include "siobench.h"

#include "util_opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scenario_names[] = {"connect", "idle",    "fanout",
                                             "echo",    "polling", "cluster"};

const char *sb_scenario_name(sb_scenario s)
{
    return scenario_names[s];
}

static const char help[] =
    "usage: siobench SCENARIO [OPTIONS]\n"
    "\n"
    "scenarios:\n"
    "  connect   N clients: Engine.IO handshake + namespace connect rate and failures\n"
    "  idle      N clients connected and in one room; server RSS before/after (--server-pid)\n"
    "  fanout    N clients in one room, one publisher emits M events (deliveries/s, latency,\n"
    "            lost, duplicated)\n"
    "  echo      N clients each emit with acks in a loop (acks/s, round trip)\n"
    "  polling   fanout with polling-only clients\n"
    "  cluster   fanout with the publisher on --pub-url and the clients on --url (cross-node),\n"
    "            then the same with the publisher on --url (single node); with --lb-url, polling\n"
    "            round trips through the balancer against direct ones\n"
    "\n"
    "options:\n";

int sb_url_parse(sb_url *u, const char *s)
{
    memset(u, 0, sizeof *u);
    if (strncmp(s, "http://", 7) == 0)
        s += 7;
    else if (strncmp(s, "ws://", 5) == 0)
        s += 5;
    else if (strstr(s, "://"))
        return -1; /* https / wss are not supported */
    const char *slash = strchr(s, '/');
    size_t hp = slash ? (size_t)(slash - s) : strlen(s);
    const char *colon = memchr(s, ':', hp);
    size_t hl = colon ? (size_t)(colon - s) : hp;
    if (hl == 0 || hl >= sizeof u->host)
        return -1;
    memcpy(u->host, s, hl);
    u->port = 80;
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (end != s + hp || p < 1 || p > 65535)
            return -1;
        u->port = (int)p;
    }
    const char *path = slash && slash[1] ? slash : "/socket.io/";
    size_t pl = strlen(path);
    if (pl + 2 >= sizeof u->path)
        return -1;
    memcpy(u->path, path, pl + 1);
    if (u->path[pl - 1] != '/')
        strcat(u->path, "/");
    return 0;
}

static int parse_uint(const char *v, unsigned lo, unsigned hi, unsigned *out, char *err,
                      size_t errlen)
{
    unsigned long long x;
    if (util_parse_uint(v, lo, hi, &x, err, errlen))
        return -1;
    *out = (unsigned)x;
    return 0;
}

static int parse_double(const char *v, double lo, double hi, double *out, char *err, size_t errlen)
{
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !(x >= lo && x <= hi)) {
        snprintf(err, errlen, "expected a number from %g to %g, got \"%s\"", lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

static int copy_str(char *dst, size_t cap, const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);
    if (n == 0 || n >= cap) {
        snprintf(err, errlen, "expected 1 to %zu characters", cap - 1);
        return -1;
    }
    memcpy(dst, v, n + 1);
    return 0;
}

static int url(sb_url *u, const char *v, char *err, size_t errlen)
{
    if (sb_url_parse(u, v) == 0)
        return 0;
    snprintf(err, errlen, "expected http://HOST[:PORT][/PATH], got \"%s\"", v);
    return -1;
}

/* The setters: each takes the sb_args being filled and a value borrowed from argv. */
#define ARGS ((sb_args *)p)
static int set_url(void *p, const char *v, char *err, size_t errlen)
{
    return url(&ARGS->url, v, err, errlen);
}

static int set_pub_url(void *p, const char *v, char *err, size_t errlen)
{
    ARGS->has_pub_url = true;
    return url(&ARGS->pub_url, v, err, errlen);
}

static int set_lb_url(void *p, const char *v, char *err, size_t errlen)
{
    ARGS->has_lb_url = true;
    return url(&ARGS->lb_url, v, err, errlen);
}

static int set_transport(void *p, const char *v, char *err, size_t errlen)
{
    ARGS->has_transport = true;
    if (strcmp(v, "websocket") == 0)
        ARGS->transport = SB_WEBSOCKET;
    else if (strcmp(v, "polling") == 0)
        ARGS->transport = SB_POLLING;
    else if (strcmp(v, "upgrade") == 0)
        ARGS->transport = SB_UPGRADE;
    else {
        snprintf(err, errlen, "expected websocket, polling or upgrade, got \"%s\"", v);
        return -1;
    }
    return 0;
}

static int set_ws_impl(void *p, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "raw") == 0)
        ARGS->ws_impl = SB_WS_RAW;
    else if (strcmp(v, "lws") == 0)
        ARGS->ws_impl = SB_WS_LWS;
    else {
        snprintf(err, errlen, "expected raw or lws, got \"%s\"", v);
        return -1;
    }
    return 0;
}

static int set_nsp(void *p, const char *v, char *err, size_t errlen)
{
    if (v[0] != '/') {
        snprintf(err, errlen, "must start with '/', got \"%s\"", v);
        return -1;
    }
    return copy_str(ARGS->nsp, sizeof ARGS->nsp, v, err, errlen);
}

static int set_room(void *p, const char *v, char *err, size_t errlen)
{
    return copy_str(ARGS->room, sizeof ARGS->room, v, err, errlen);
}

static int set_label(void *p, const char *v, char *err, size_t errlen)
{
    return copy_str(ARGS->label, sizeof ARGS->label, v, err, errlen);
}

static int set_clients(void *p, const char *v, char *err, size_t errlen)
{
    return parse_uint(v, 1, 1000000, &ARGS->clients, err, errlen);
}

static int set_events(void *p, const char *v, char *err, size_t errlen)
{
    return parse_uint(v, 1, 100000000, &ARGS->events, err, errlen);
}

static int set_size(void *p, const char *v, char *err, size_t errlen)
{
    return parse_uint(v, 0, 1000000, &ARGS->size, err, errlen);
}

static int set_rate(void *p, const char *v, char *err, size_t errlen)
{
    return parse_double(v, 0, 1e9, &ARGS->rate, err, errlen);
}

static int set_window(void *p, const char *v, char *err, size_t errlen)
{
    return parse_uint(v, 1, 1000000, &ARGS->window, err, errlen);
}

static int set_warmup(void *p, const char *v, char *err, size_t errlen)
{
    return parse_uint(v, 0, 1000000, &ARGS->warmup, err, errlen);
}

static int set_duration(void *p, const char *v, char *err, size_t errlen)
{
    return parse_double(v, 0.01, 86400, &ARGS->duration, err, errlen);
}

static int set_settle(void *p, const char *v, char *err, size_t errlen)
{
    return parse_double(v, 0, 86400, &ARGS->settle, err, errlen);
}

static int set_concurrency(void *p, const char *v, char *err, size_t errlen)
{
    return parse_uint(v, 1, 1000000, &ARGS->concurrency, err, errlen);
}

static int set_poll_clients(void *p, const char *v, char *err, size_t errlen)
{
    return parse_uint(v, 1, 1000000, &ARGS->poll_clients, err, errlen);
}

static int set_sources(void *p, const char *v, char *err, size_t errlen)
{
    return parse_uint(v, 1, 250, &ARGS->sources, err, errlen);
}

static int set_server_pid(void *p, const char *v, char *err, size_t errlen)
{
    unsigned pid;
    if (parse_uint(v, 1, 1u << 30, &pid, err, errlen))
        return -1;
    ARGS->server_pid = (int)pid;
    return 0;
}

static int set_timeout(void *p, const char *v, char *err, size_t errlen)
{
    return parse_double(v, 0.1, 86400, &ARGS->timeout, err, errlen);
}

static int set_json(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_bool(v, &ARGS->json, err, errlen);
}

static int set_scenario(void *p, const char *v, char *err, size_t errlen)
{
    for (unsigned k = 0; k < sizeof scenario_names / sizeof *scenario_names; k++) {
        if (strcmp(v, scenario_names[k]) == 0) {
            ARGS->scenario = (sb_scenario)k;
            return 0;
        }
    }
    snprintf(err, errlen, "unknown scenario \"%s\" (see --help)", v);
    return -1;
}
#undef ARGS

static const util_option k_opts[] = {
    {"--url", NULL, "URL", "http://127.0.0.1:8080/socket.io/", "server the clients use", set_url},
    {"--pub-url", NULL, "URL", NULL, "server the fanout publisher uses", set_pub_url, false,
     "--url"},
    {"--lb-url", NULL, "URL", NULL, "cluster: a round-robin balancer in front of the nodes",
     set_lb_url},
    {"--transport", NULL, "T", NULL, "websocket, polling or upgrade (polling, then WebSocket)",
     set_transport, false, "websocket"},
    {"--ws-impl", NULL, "I", "raw",
     "WebSocket clients: raw (lws RAW sockets, siobench's own framing) or lws", set_ws_impl},
    {"--nsp", NULL, "NSP", "/", "namespace", set_nsp},
    {"--room", NULL, "NAME", "bench", "room of the fanout", set_room},
    {"--clients", NULL, "N", "100", "clients", set_clients},
    {"--events", NULL, "M", "100", "fanout events", set_events},
    {"--size", NULL, "BYTES", "100", "padding per event", set_size},
    {"--rate", NULL, "R", "0", "fanout events per second (0: as fast as the window allows)",
     set_rate},
    {"--window", NULL, "W", NULL, "outstanding acks: fanout publisher, echo per client", set_window,
     false, "16 (fanout), 1 (echo)"},
    {"--warmup", NULL, "K", "2", "unmeasured fanout events first", set_warmup},
    {"--duration", NULL, "S", "5", "echo: seconds measured", set_duration},
    {"--settle", NULL, "S", "2", "idle: seconds before reading the RSS", set_settle},
    {"--concurrency", NULL, "C", "500", "handshakes in flight while connecting", set_concurrency},
    {"--poll-clients", NULL, "N", "100", "cluster: polling clients of the round-trip comparison",
     set_poll_clients},
    {"--sources", NULL, "K", NULL, "loopback source addresses 127.0.0.1..K", set_sources, false,
     "one per 20000 clients"},
    {"--server-pid", NULL, "PID", NULL, "idle: the server process whose RSS is read",
     set_server_pid},
    {"--timeout", NULL, "S", "60", "bound of each phase", set_timeout},
    {"--label", NULL, "NAME", "server", "server name printed with the results", set_label},
    {"--json", NULL, NULL, NULL, "print one JSON document", set_json},
};

static void usage(void)
{
    fputs(help, stdout);
    util_options_print(stdout, k_opts, sizeof k_opts / sizeof k_opts[0]);
    printf("  %-28s %s\n", "-h, --help", "this text");
}

int sb_args_parse(sb_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->scenario = SB_SC_FANOUT;
    char err[512];
    util_opt_args p = {k_opts,
                       sizeof k_opts / sizeof k_opts[0],
                       set_scenario,
                       1,
                       1,
                       "siobench",
                       "SCENARIO [OPTIONS]"};
    int next = 1;
    int rc = util_options_env(p.opts, p.n, a, err, sizeof err);
    if (rc == UTIL_OPTS_OK)
        rc = util_options_argv(&p, a, argc, argv, &next, err, sizeof err);
    if (rc == UTIL_OPTS_HELP || rc == UTIL_OPTS_VERSION) {
        usage();
        return 1;
    }
    if (rc != UTIL_OPTS_OK) {
        fprintf(stderr, "siobench: %s\n", err);
        return -1;
    }
    if (a->scenario == SB_SC_POLLING) {
        if (a->has_transport && a->transport != SB_POLLING) {
            fprintf(stderr,
                    "siobench: --transport websocket: the polling scenario is polling-only\n");
            return -1;
        }
        a->transport = SB_POLLING;
    }
    if (a->scenario == SB_SC_CLUSTER && !a->has_pub_url) {
        fprintf(stderr, "siobench: cluster needs --pub-url (the publisher's node)\n");
        return -1;
    }
    if (!a->has_pub_url)
        a->pub_url = a->url;
    if (a->window == 0)
        a->window = a->scenario == SB_SC_ECHO ? 1 : 16;
    if (a->sources == 0)
        a->sources = (a->clients + 19999) / 20000;
    if (a->sources == 0)
        a->sources = 1;
    if ((uint64_t)a->clients * a->events / 8 > (1ull << 30) &&
        (a->scenario == SB_SC_FANOUT || a->scenario == SB_SC_POLLING ||
         a->scenario == SB_SC_CLUSTER)) {
        fprintf(stderr, "siobench: --clients x --events too large (1 GiB of delivery bits)\n");
        return -1;
    }
    return 0;
}
