/* siocli: what the command files share: the run context and the commands' entry points. */
#ifndef SIOCLI_H
#define SIOCLI_H

#include "cli_args.h"
#include "cli_redis.h"

#include <stdbool.h>

/** Exit codes. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_NONE = 1,  /**< nothing matched, or a timeout */
    CLI_EXIT_USAGE = 2, /**< usage error, or Redis unreachable */
};

/** What every command runs with. Strings are borrowed from argv or the environment. */
struct cli_ctx {
    const char *key;  /**< channel and key prefix ("socket.io") */
    const char *nsp;  /**< namespace ("/") */
    long timeout_ms;  /**< bound of every wait */
    bool json;        /**< --json */
    cli_redis *redis; /**< the connection (owned by main) */
    char uid[8];      /**< this run's adapter uid (6 URL-safe characters) */
};

/* Prints "siocli: <message>" on stderr and returns code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cmd_cluster.c */
int cmd_nodes(cli_ctx *ctx, const cli_args *a);
int cmd_sessions(cli_ctx *ctx, const cli_args *a);
int cmd_session(cli_ctx *ctx, const cli_args *a);

/* cmd_rooms.c */
int cmd_rooms(cli_ctx *ctx, const cli_args *a);
int cmd_room(cli_ctx *ctx, const cli_args *a);
int cmd_sockets(cli_ctx *ctx, const cli_args *a);

/* cmd_emit.c */
int cmd_emit(cli_ctx *ctx, const cli_args *a);
int cmd_join(cli_ctx *ctx, const cli_args *a);
int cmd_leave(cli_ctx *ctx, const cli_args *a);
int cmd_disconnect(cli_ctx *ctx, const cli_args *a);

/* cmd_monitor.c */
int cmd_monitor(cli_ctx *ctx, const cli_args *a);

#endif
