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

static const cli_cmd k_cmds[] = {
    {"nodes", "", "list the siobroker nodes of the cluster",
     "Reads the node registry (K:nodes, K:node:ID) and pings every node on the control channel.\n"
     "STATUS is ok, silent (no heartbeat for 4.5 s, or no answer to the ping) or dead (listed\n"
     "but its record expired).",
     NULL, 0, 0, 0, cmd_nodes},
    {"sessions", "", "list the Engine.IO sessions and the node owning each",
     "Reads the sid -> node map (K:sid:SID) of the siobroker nodes.", CLI_OPTS(cli_opts_sessions),
     0, 0, cmd_sessions},
    {"session", "SID", "show one session: owner, transport, age, sockets and their rooms",
     "Asks the owning node over siobroker's control channel (K#siobroker#NODE#).", NULL, 0, 1, 1,
     cmd_session},
    {"rooms", "", "list the rooms of the namespace across the cluster with their member counts",
     "Uses the adapter's ALL_ROOMS and REMOTE_FETCH requests: Node socket.io servers with\n"
     "@socket.io/redis-adapter answer too.",
     CLI_OPTS(cli_opts_rooms), 0, 0, cmd_rooms},
    {"room", "NAME", "list the members of one room (socket id, node, remote address)", NULL, NULL,
     0, 1, 1, cmd_room},
    {"sockets", "", "list the sockets of the namespace (fetchSockets across the cluster)",
     "Shows each socket's id, node (siobroker nodes only), rooms, handshake address, auth keys\n"
     "and data.",
     CLI_OPTS(cli_opts_sockets), 0, 0, cmd_sockets},
    {"emit", "EVENT [JSON_ARG...]", "emit an event to the sockets of the namespace",
     "Each JSON_ARG is one argument written as JSON (strings need quotes: '\"hi\"'). Without\n"
     "--ack the event is published once in @socket.io/redis-emitter's format; with --ack MS it\n"
     "is a broadcast with acks on the request channel, and every client's ack is printed.",
     CLI_OPTS(cli_opts_emit), 1, -1, cmd_emit},
    {"join", "ROOM", "make the selected sockets join ROOM", NULL, CLI_OPTS(cli_opts_select), 1, 1,
     cmd_join},
    {"leave", "ROOM", "make the selected sockets leave ROOM", NULL, CLI_OPTS(cli_opts_select), 1, 1,
     cmd_leave},
    {"disconnect", "", "disconnect the selected sockets (all of the namespace without --to)", NULL,
     CLI_OPTS(cli_opts_disconnect), 0, 0, cmd_disconnect},
    {"monitor", "", "print the namespace's cluster broadcasts as they happen, until Ctrl-C",
     "Shows broadcasts on K#NSP#* and broadcasts with acks on K-request#NSP#: time, origin uid,\n"
     "event, rooms, except, flags, arguments (binary shown as {\"_binary\":SIZE}). With --json,\n"
     "one JSON object per line.",
     CLI_OPTS(cli_opts_monitor), 0, 0, cmd_monitor},
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
    ctx.key = a.key;
    ctx.nsp = a.nsp;
    ctx.json = a.json;
    ctx.timeout_ms = a.timeout_ms;
    util_rand_id(ctx.uid, 4);
    int rc;
    if (!(ctx.redis = cli_redis_connect(a.redis_url, ctx.timeout_ms, err, sizeof err)))
        rc = cli_fail(CLI_EXIT_USAGE, "%s", err);
    else
        rc = a.cmd->run(&ctx, &a);
    cli_redis_free(ctx.redis);
    cli_args_free(&a);
    return rc;
}
