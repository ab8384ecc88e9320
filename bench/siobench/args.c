/* args: siobench's command line (scenario, server URLs, load shape) and its help text. */
#include "siobench.h"

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
    "usage: siobench SCENARIO [options]\n"
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
    "options:\n"
    "  --url URL          server the clients use (default http://127.0.0.1:8080/socket.io/)\n"
    "  --pub-url URL      server the fanout publisher uses (default --url)\n"
    "  --lb-url URL       cluster: a round-robin balancer in front of the nodes\n"
    "  --transport T      websocket (default) or polling\n"
    "  --ws-impl I        WebSocket clients: raw (default: lws RAW sockets, siobench's own\n"
    "                     framing) or lws (libwebsockets' WebSocket client)\n"
    "  --nsp NSP          namespace (default /)\n"
    "  --room NAME        room of the fanout (default bench)\n"
    "  --clients N        clients (default 100)\n"
    "  --events M         fanout events (default 100)\n"
    "  --size BYTES       padding per event (default 100)\n"
    "  --rate R           fanout events per second (default 0: as fast as the window allows)\n"
    "  --window W         outstanding acks: fanout publisher (default 16), echo per client (1)\n"
    "  --warmup K         unmeasured fanout events first (default 2)\n"
    "  --duration S       echo: seconds measured (default 5)\n"
    "  --settle S         idle: seconds before reading the RSS (default 2)\n"
    "  --concurrency C    handshakes in flight while connecting (default 500)\n"
    "  --poll-clients N   cluster: polling clients of the round-trip comparison (default 100)\n"
    "  --sources K        loopback source addresses 127.0.0.1..K (default: one per 20000 "
    "clients)\n"
    "  --server-pid PID   idle: the server process whose RSS is read\n"
    "  --timeout S        bound of each phase (default 60)\n"
    "  --label NAME       server name printed with the results\n"
    "  --json             print one JSON document\n"
    "  -h, --help         this text\n";

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

static int bad(const char *opt, const char *v)
{
    fprintf(stderr, "siobench: invalid value for %s: '%s'\n", opt, v ? v : "");
    return -1;
}

static int parse_uint(const char *v, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    if (!*v || *end || *v == '-' || x < lo || x > hi)
        return -1;
    *out = (unsigned)x;
    return 0;
}

static int parse_double(const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !(x >= lo && x <= hi))
        return -1;
    *out = x;
    return 0;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= cap)
        return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

int sb_args_parse(sb_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->scenario = SB_SC_FANOUT;
    a->transport = SB_WEBSOCKET;
    sb_url_parse(&a->url, "http://127.0.0.1:8080/socket.io/");
    strcpy(a->nsp, "/");
    strcpy(a->room, "bench");
    a->clients = 100;
    a->events = 100;
    a->size = 100;
    a->window = 0; /* per scenario */
    a->warmup = 2;
    a->duration = 5;
    a->settle = 2;
    a->concurrency = 500;
    a->poll_clients = 100;
    a->timeout = 60;
    bool have_scenario = false, have_transport = false;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            fputs(help, stdout);
            return 1;
        }
        if (strcmp(o, "--json") == 0) {
            a->json = true;
            continue;
        }
        if (o[0] != '-') {
            if (have_scenario)
                return bad("SCENARIO", o);
            unsigned k;
            for (k = 0; k < sizeof scenario_names / sizeof *scenario_names; k++)
                if (strcmp(o, scenario_names[k]) == 0)
                    break;
            if (k == sizeof scenario_names / sizeof *scenario_names)
                return bad("SCENARIO", o);
            a->scenario = (sb_scenario)k;
            have_scenario = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "siobench: %s needs a value (or unknown option)\n", o);
            return -1;
        }
        const char *v = argv[++i];
        int r = 0;
        unsigned pid;
        if (strcmp(o, "--url") == 0)
            r = sb_url_parse(&a->url, v);
        else if (strcmp(o, "--pub-url") == 0)
            r = sb_url_parse(&a->pub_url, v), a->has_pub_url = true;
        else if (strcmp(o, "--lb-url") == 0)
            r = sb_url_parse(&a->lb_url, v), a->has_lb_url = true;
        else if (strcmp(o, "--transport") == 0) {
            have_transport = true;
            if (strcmp(v, "websocket") == 0)
                a->transport = SB_WEBSOCKET;
            else if (strcmp(v, "polling") == 0)
                a->transport = SB_POLLING;
            else
                r = -1;
        } else if (strcmp(o, "--ws-impl") == 0) {
            if (strcmp(v, "raw") == 0)
                a->ws_impl = SB_WS_RAW;
            else if (strcmp(v, "lws") == 0)
                a->ws_impl = SB_WS_LWS;
            else
                r = -1;
        } else if (strcmp(o, "--nsp") == 0)
            r = v[0] == '/' ? copy_str(a->nsp, sizeof a->nsp, v) : -1;
        else if (strcmp(o, "--room") == 0)
            r = copy_str(a->room, sizeof a->room, v);
        else if (strcmp(o, "--clients") == 0)
            r = parse_uint(v, 1, 1000000, &a->clients);
        else if (strcmp(o, "--events") == 0)
            r = parse_uint(v, 1, 100000000, &a->events);
        else if (strcmp(o, "--size") == 0)
            r = parse_uint(v, 0, 1000000, &a->size);
        else if (strcmp(o, "--rate") == 0)
            r = parse_double(v, 0, 1e9, &a->rate);
        else if (strcmp(o, "--window") == 0)
            r = parse_uint(v, 1, 1000000, &a->window);
        else if (strcmp(o, "--warmup") == 0)
            r = parse_uint(v, 0, 1000000, &a->warmup);
        else if (strcmp(o, "--duration") == 0)
            r = parse_double(v, 0.01, 86400, &a->duration);
        else if (strcmp(o, "--settle") == 0)
            r = parse_double(v, 0, 86400, &a->settle);
        else if (strcmp(o, "--concurrency") == 0)
            r = parse_uint(v, 1, 1000000, &a->concurrency);
        else if (strcmp(o, "--poll-clients") == 0)
            r = parse_uint(v, 1, 1000000, &a->poll_clients);
        else if (strcmp(o, "--sources") == 0)
            r = parse_uint(v, 1, 250, &a->sources);
        else if (strcmp(o, "--server-pid") == 0) {
            r = parse_uint(v, 1, 1u << 30, &pid);
            a->server_pid = (int)pid;
        } else if (strcmp(o, "--timeout") == 0)
            r = parse_double(v, 0.1, 86400, &a->timeout);
        else if (strcmp(o, "--label") == 0)
            r = copy_str(a->label, sizeof a->label, v);
        else {
            fprintf(stderr, "siobench: unknown option %s (see --help)\n", o);
            return -1;
        }
        if (r != 0)
            return bad(o, v);
    }
    if (!have_scenario) {
        fprintf(stderr, "siobench: a SCENARIO is required (see --help)\n");
        return -1;
    }
    if (a->scenario == SB_SC_POLLING) {
        if (have_transport && a->transport != SB_POLLING)
            return bad("--transport", "websocket (the polling scenario is polling-only)");
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
    if (!a->label[0])
        strcpy(a->label, "server");
    return 0;
}
