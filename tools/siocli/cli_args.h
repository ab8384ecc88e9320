/* cli_args: siocli's command line: the option tables (util_opt), one command with its positional
 * arguments, help texts. Pure: no Redis, no output except the usage printers. */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include "util_opt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct cli_args cli_args;
typedef struct cli_ctx cli_ctx;

/** The values of a repeatable option, in order: an owned array of strings borrowed from argv. */
typedef struct cli_strs {
    const char **v; /**< NULL when empty */
    size_t n;
} cli_strs;

/** A command: its name, its help and what runs it. */
typedef struct cli_cmd {
    const char *name;        /**< "emit" */
    const char *args;        /**< positional synopsis, "EVENT [JSON_ARG...]" ("" if none) */
    const char *summary;     /**< one line */
    const char *details;     /**< longer help (may be NULL) */
    const util_option *opts; /**< its options (may be NULL) */
    size_t n_opts;           /**< how many */
    int min_pos;             /**< fewest positional arguments */
    int max_pos;             /**< most positional arguments, -1 for no limit */
    int (*run)(cli_ctx *ctx, const cli_args *a); /**< returns the exit code */
} cli_cmd;

/** The parsed command line. Strings are borrowed from argv, the environment or the tables. */
struct cli_args {
    const cli_cmd *cmd;    /**< the command; NULL when none was named */
    bool help;             /**< --help or -h was given (for cmd, or globally when cmd is NULL) */
    bool version;          /**< --version was given */
    const char *redis_url; /**< --redis, else SIO_REDIS_URL, else redis://127.0.0.1:6379 */
    const char *key;       /**< --key: channel and key prefix (not empty) */
    const char *nsp;       /**< --nsp: namespace (starts with '/') */
    long timeout_ms;       /**< --timeout, 1..86400000 */
    bool json;             /**< --json */
    /* The commands' options (each command's table names those it takes). */
    cli_strs to;      /**< --to ROOM... */
    cli_strs except;  /**< --except ROOM... */
    cli_strs rooms;   /**< sockets --room ROOM... */
    cli_strs files;   /**< emit --binary-file PATH... */
    const char *node; /**< sessions --node ID, or NULL */
    const char *room; /**< monitor --room ROOM, or NULL */
    long ack_ms;      /**< emit --ack MS; 0: no acks */
    long count;       /**< monitor --count N; 0: no limit */
    bool all;         /**< rooms --all */
    bool volatile_;   /**< emit --volatile */
    bool close;       /**< disconnect --close */
    cli_strs pos;     /**< positional arguments after the command */
};

/* The options of each command (tables the command list points at). */
extern const util_option cli_opts_sessions[1];
extern const util_option cli_opts_rooms[1];
extern const util_option cli_opts_sockets[2];
extern const util_option cli_opts_emit[5];
extern const util_option cli_opts_select[2];
extern const util_option cli_opts_disconnect[3];
extern const util_option cli_opts_monitor[2];
/** A command table's opts and n_opts fields from an array. */
#define CLI_OPTS(t) (t), (sizeof(t) / sizeof((t)[0]))

/* Parses argv[1..argc) against the commands cmds[0..n_cmds). Global options (--redis, --key,
 * --nsp, --timeout, --json, --help, --version) may come before or after the command, the
 * command's own options after it. A positional argument may start with '-' (an Engine.IO sid
 * does one time in 64): an argument naming no option is positional while the command takes one
 * more; "--" ends the options. Returns 0 and fills *a (release with cli_args_free), or -1 with a
 * one-line message in err (a is then empty, nothing to free). A missing command is not an error
 * here (a->cmd NULL): the caller prints the usage. */
int cli_args_parse(cli_args *a, const cli_cmd *cmds, size_t n_cmds, int argc, char **argv,
                   char *err, size_t errlen);

/* Frees the arrays of a (not the strings: argv owns them). Accepts a zeroed struct. */
void cli_args_free(cli_args *a);

/* Prints the general usage (global options, then one line per command) to f. */
void cli_usage(FILE *f, const cli_cmd *cmds, size_t n_cmds);

/* Prints the help of one command (synopsis, details, its options, the global options) to f. */
void cli_usage_cmd(FILE *f, const cli_cmd *cmd);

#endif
