/* main: siocli's entry point: the command table, the global options and the dispatch. */
#include "cli_args.h"
#include "siocli.h"
#include "util_alloc.h"
#include "util_rand.h"

#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SIO_VERSION
#define SIO_VERSION "0.0.0"
#endif

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("siocli: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

static const cli_opt k_sessions_opts[] = {
    {"--node", CLI_OPT_VALUE, "ID", "only the sessions of this node"},
    {NULL, 0, NULL, NULL},
};
static const cli_opt k_rooms_opts[] = {
    {"--all", CLI_OPT_FLAG, NULL, "also list each socket's own id room"},
    {NULL, 0, NULL, NULL},
};
static const cli_opt k_sockets_opts[] = {
    {"--room", CLI_OPT_LIST, "ROOM", "only sockets in this room (any of them when repeated)"},
    {"--except", CLI_OPT_LIST, "ROOM", "leave out the sockets in this room"},
    {NULL, 0, NULL, NULL},
};
static const cli_opt k_emit_opts[] = {
    {"--to", CLI_OPT_LIST, "ROOM", "only the sockets in this room (any of them when repeated)"},
    {"--except", CLI_OPT_LIST, "ROOM", "leave out the sockets in this room"},
    {"--volatile", CLI_OPT_FLAG, NULL, "may be dropped for clients that are not ready"},
    {"--binary-file", CLI_OPT_LIST, "PATH", "append the file's bytes as a binary argument"},
    {"--ack", CLI_OPT_VALUE, "MS", "ask every client for an ack and wait up to MS for them"},
    {NULL, 0, NULL, NULL},
};
static const cli_opt k_select_opts[] = {
    {"--to", CLI_OPT_LIST, "ROOM", "only the sockets in this room (any of them when repeated)"},
    {"--except", CLI_OPT_LIST, "ROOM", "leave out the sockets in this room"},
    {NULL, 0, NULL, NULL},
};
static const cli_opt k_disconnect_opts[] = {
    {"--to", CLI_OPT_LIST, "ROOM", "only the sockets in this room (any of them when repeated)"},
    {"--except", CLI_OPT_LIST, "ROOM", "leave out the sockets in this room"},
    {"--close", CLI_OPT_FLAG, NULL, "also close each client's whole connection"},
    {NULL, 0, NULL, NULL},
};
static const cli_opt k_monitor_opts[] = {
    {"--room", CLI_OPT_VALUE, "ROOM", "only broadcasts that target this room"},
    {"--count", CLI_OPT_VALUE, "N", "stop after N broadcasts"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd k_cmds[] = {
    {"nodes", "", "list the siobroker nodes of the cluster",
     "Reads the node registry (K:nodes, K:node:ID) and pings every node on the control channel.\n"
     "STATUS is ok, silent (no heartbeat for 4.5 s, or no answer to the ping) or dead (listed\n"
     "but its record expired).",
     NULL, 0, 0, cmd_nodes},
    {"sessions", "", "list the Engine.IO sessions and the node owning each",
     "Reads the sid -> node map (K:sid:SID) of the siobroker nodes.", k_sessions_opts, 0, 0,
     cmd_sessions},
    {"session", "SID", "show one session: owner, transport, age, sockets and their rooms",
     "Asks the owning node over siobroker's control channel (K#siobroker#NODE#).", NULL, 1, 1,
     cmd_session},
    {"rooms", "", "list the rooms of the namespace across the cluster with their member counts",
     "Uses the adapter's ALL_ROOMS and REMOTE_FETCH requests: Node socket.io servers with\n"
     "@socket.io/redis-adapter answer too.",
     k_rooms_opts, 0, 0, cmd_rooms},
    {"room", "NAME", "list the members of one room (socket id, node, remote address)", NULL, NULL,
     1, 1, cmd_room},
    {"sockets", "", "list the sockets of the namespace (fetchSockets across the cluster)",
     "Shows each socket's id, node (siobroker nodes only), rooms, handshake address, auth keys\n"
     "and data.",
     k_sockets_opts, 0, 0, cmd_sockets},
    {"emit", "EVENT [JSON_ARG...]", "emit an event to the sockets of the namespace",
     "Each JSON_ARG is one argument written as JSON (strings need quotes: '\"hi\"'). Without\n"
     "--ack the event is published once in @socket.io/redis-emitter's format; with --ack MS it\n"
     "is a broadcast with acks on the request channel, and every client's ack is printed.",
     k_emit_opts, 1, -1, cmd_emit},
    {"join", "ROOM", "make the selected sockets join ROOM", NULL, k_select_opts, 1, 1, cmd_join},
    {"leave", "ROOM", "make the selected sockets leave ROOM", NULL, k_select_opts, 1, 1, cmd_leave},
    {"disconnect", "", "disconnect the selected sockets (all of the namespace without --to)", NULL,
     k_disconnect_opts, 0, 0, cmd_disconnect},
    {"monitor", "", "print the namespace's cluster broadcasts as they happen, until Ctrl-C",
     "Shows broadcasts on K#NSP#* and broadcasts with acks on K-request#NSP#: time, origin uid,\n"
     "event, rooms, except, flags, arguments (binary shown as {\"_binary\":SIZE}). With --json,\n"
     "one JSON object per line.",
     k_monitor_opts, 0, 0, cmd_monitor},
};
#define N_CMDS (sizeof k_cmds / sizeof k_cmds[0])

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    json_set_alloc_funcs(util_malloc, util_free);
    cli_args a;
    char err[512];
    if (cli_args_parse(&a, k_cmds, N_CMDS, argc, argv, err, sizeof err) != 0)
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    if (a.version) {
        printf("siocli %s\n", SIO_VERSION);
        cli_args_free(&a);
        return CLI_EXIT_OK;
    }
    if (a.help || !a.cmd) {
        if (a.cmd)
            cli_usage_cmd(stdout, a.cmd);
        else
            cli_usage(a.help ? stdout : stderr, k_cmds, N_CMDS);
        int rc = a.help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        cli_args_free(&a);
        return rc;
    }
    cli_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.key = a.key ? a.key : "socket.io";
    ctx.nsp = a.nsp ? a.nsp : "/";
    ctx.json = a.json;
    ctx.timeout_ms = 5000;
    util_rand_id(ctx.uid, 4);
    const char *url = a.redis_url ? a.redis_url : getenv("SIO_REDIS_URL");
    if (!url || !url[0])
        url = "redis://127.0.0.1:6379";
    int rc;
    if (a.timeout && cli_parse_ms(a.timeout, &ctx.timeout_ms) != 0)
        rc = cli_fail(CLI_EXIT_USAGE, "--timeout takes milliseconds from 1 to 86400000, not \"%s\"",
                      a.timeout);
    else if (!ctx.key[0])
        rc = cli_fail(CLI_EXIT_USAGE, "--key must not be empty");
    else if (ctx.nsp[0] != '/')
        rc =
            cli_fail(CLI_EXIT_USAGE, "--nsp must start with '/' (e.g. /chat), not \"%s\"", ctx.nsp);
    else if (!(ctx.redis = cli_redis_connect(url, ctx.timeout_ms, err, sizeof err)))
        rc = cli_fail(CLI_EXIT_USAGE, "%s", err);
    else
        rc = a.cmd->run(&ctx, &a);
    cli_redis_free(ctx.redis);
    cli_args_free(&a);
    return rc;
}
