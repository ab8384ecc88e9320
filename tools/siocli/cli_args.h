/* cli_args: siocli's command line: global options, one command with its options and positional
 * arguments, help texts. Pure: no Redis, no output except the usage printers. */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/** How an option takes its value. */
typedef enum cli_opt_kind {
    CLI_OPT_FLAG = 0, /**< no value; may be given once */
    CLI_OPT_VALUE,    /**< one value ("--ack 500" or "--ack=500"); the last one given wins */
    CLI_OPT_LIST,     /**< one value per use, repeatable ("--to a --to b") */
} cli_opt_kind;

/** One option of a command. A table of them ends with a zeroed entry. */
typedef struct cli_opt {
    const char *name;    /**< with its dashes: "--to" */
    cli_opt_kind kind;   /**< how it takes a value */
    const char *metavar; /**< placeholder in help ("ROOM"); NULL for flags */
    const char *help;    /**< one line */
} cli_opt;

/** Most options one command may have. */
#define CLI_MAX_OPTS 12

typedef struct cli_args cli_args;
typedef struct cli_ctx cli_ctx;

/** A command: its name, its help and what runs it. */
typedef struct cli_cmd {
    const char *name;    /**< "emit" */
    const char *args;    /**< positional synopsis, "EVENT [JSON_ARG...]" ("" if none) */
    const char *summary; /**< one line */
    const char *details; /**< longer help (may be NULL) */
    const cli_opt *opts; /**< options, ending with a zeroed entry (may be NULL) */
    int min_pos;         /**< fewest positional arguments */
    int max_pos;         /**< most positional arguments, -1 for no limit */
    int (*run)(cli_ctx *ctx, const cli_args *a); /**< returns the exit code */
} cli_cmd;

/** The parsed command line. Strings are borrowed from argv. */
struct cli_args {
    const cli_cmd *cmd;    /**< the command; NULL when none was named */
    bool help;             /**< --help or -h was given (for cmd, or globally when cmd is NULL) */
    bool version;          /**< --version was given */
    const char *redis_url; /**< --redis, or NULL */
    const char *key;       /**< --key, or NULL */
    const char *nsp;       /**< --nsp, or NULL */
    const char *timeout;   /**< --timeout as given, or NULL (see cli_parse_ms) */
    bool json;             /**< --json */
    size_t count[CLI_MAX_OPTS];        /**< uses of each of cmd->opts */
    const char **values[CLI_MAX_OPTS]; /**< their values in order (owned arrays) */
    const char **pos;                  /**< positional arguments (owned array) */
    size_t n_pos;                      /**< number of positional arguments */
};

/* Parses argv[1..argc) against the commands cmds[0..n_cmds). Global options (--redis, --key,
 * --nsp, --timeout, --json, --help, --version) may come before or after the command; "--" ends
 * the options; an argument that starts with '-' followed by a digit or '.' is positional (a
 * negative number). Returns 0 and fills *a (release with cli_args_free), or -1 with a one-line
 * message in err (a is then empty, nothing to free). A missing command is not an error here
 * (a->cmd NULL): the caller prints the usage. */
int cli_args_parse(cli_args *a, const cli_cmd *cmds, size_t n_cmds, int argc, char **argv,
                   char *err, size_t errlen);

/* Frees the arrays of a (not the strings: argv owns them). Accepts a zeroed struct. */
void cli_args_free(cli_args *a);

/* True when flag name (e.g. "--close") was given. */
bool cli_flag(const cli_args *a, const char *name);

/* The value of option name (the last one given), or NULL. Borrowed. */
const char *cli_value(const cli_args *a, const char *name);

/* Every value of list option name, in order; *n receives their number. Borrowed; NULL when none. */
const char *const *cli_list(const cli_args *a, const char *name, size_t *n);

/* Parses a duration in milliseconds: a decimal integer from 1 to 86400000. Returns 0 and sets
 * *out, or -1. */
int cli_parse_ms(const char *s, long *out);

/* Parses a count: a decimal integer from 1 to 1000000000. Returns 0 and sets *out, or -1. */
int cli_parse_count(const char *s, long *out);

/* Prints the general usage (global options, then one line per command) to f. */
void cli_usage(FILE *f, const cli_cmd *cmds, size_t n_cmds);

/* Prints the help of one command (synopsis, details, its options, the global options) to f. */
void cli_usage_cmd(FILE *f, const cli_cmd *cmd);

#endif
