/* util_opt: table-driven command lines: command-line flag > SIO_* environment variable > default,
 * positional arguments and "--", and the help text, for every program of the repository. */
#ifndef UTIL_OPT_H
#define UTIL_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** One setting. */
typedef struct util_option {
    const char *flag;    /**< "--ping-interval" */
    const char *env;     /**< "SIO_ENGINEIO_PING_INTERVAL_MS", or NULL */
    const char *metavar; /**< "MS"; NULL for a switch (a bare --flag means 1) */
    const char *defval;  /**< default as text (applied first), or NULL */
    const char *help;    /**< one line; the default is not repeated there (see default_text) */
    /** Applies value to cfg; returns 0, or -1 with a reason in err. For a repeatable option,
     * value NULL means "forget the values given so far" (a later source replaces them). */
    int (*set)(void *cfg, const char *value, char *err, size_t errlen);
    bool repeatable; /**< may be given several times; each adds to the list */
    /** How the help states the default when defval does not say it well ("random", "the listen
     * address"); NULL: defval itself, or "none" when defval is NULL or "". */
    const char *default_text;
} util_option;

/** Result of the parsers. */
enum { UTIL_OPTS_OK = 0, UTIL_OPTS_HELP = 1, UTIL_OPTS_VERSION = 2, UTIL_OPTS_ERROR = -1 };

/** What util_options_argv reads besides the options of a table. */
typedef struct util_opt_args {
    const util_option *opts; /**< the options (borrowed) */
    size_t n;                /**< how many */
    /** Takes one positional argument (borrowed from argv); returns 0, or -1 with a reason in err.
     * NULL: the parse stops at the first positional argument and leaves it unread (a command
     * name: its options are read by a second call). */
    int (*positional)(void *cfg, const char *arg, char *err, size_t errlen);
    int min_positional; /**< fewest positional arguments (checked at the end) */
    int max_positional; /**< most positional arguments; -1: no limit */
    const char *prog;   /**< "siocli room": names the program in errors; NULL: none */
    const char *args;   /**< synopsis of the positional arguments ("NAME"), for errors */
} util_opt_args;

/* Applies each option's default, then its environment variable, to cfg. Returns UTIL_OPTS_OK, or
 * UTIL_OPTS_ERROR with a one-line message in err naming the variable. */
int util_options_env(const util_option *opts, size_t n, void *cfg, char *err, size_t errlen);

/* Reads argv[*next..argc) into cfg. An option is "--flag VALUE", "--flag=VALUE" or a bare switch;
 * "-h"/"--help" and "--version" end the parse at once. "--" ends the options: everything after it
 * is positional. An argument that names no option but starts with '-' is positional while the
 * command takes one more (an Engine.IO sid or a room may start with '-'); otherwise it is an
 * unknown option. A flag's value is always the next argument, whatever it starts with. A given
 * repeatable option first forgets what the default and the environment gave. On return *next is
 * the first argument not read (argc, or the positional argument a NULL positional stopped at).
 * Returns UTIL_OPTS_OK, UTIL_OPTS_HELP, UTIL_OPTS_VERSION, or UTIL_OPTS_ERROR with a one-line
 * message in err. */
int util_options_argv(const util_opt_args *p, void *cfg, int argc, char **argv, int *next,
                      char *err, size_t errlen);

/* util_options_env, then util_options_argv from argv[1] with no positional argument. Returns as
 * util_options_argv. */
int util_options_parse(const util_option *opts, size_t n, void *cfg, int argc, char **argv,
                       char *err, size_t errlen);

/* Prints one entry per option: the flag and its metavar ("..." when repeatable), the help line,
 * then its variable and its default, each stated once. */
void util_options_print(FILE *out, const util_option *opts, size_t n);

/* Prints "Usage: PROG [OPTIONS]", the summary, then util_options_print and --help/--version. */
void util_options_usage(FILE *out, const char *prog, const char *summary, const util_option *opts,
                        size_t n);

/* Parsers shared by option tables. Each returns 0, or -1 with a reason in err. */
int util_parse_uint(const char *s, unsigned long long min, unsigned long long max,
                    unsigned long long *out, char *err, size_t errlen);
/* A duration in milliseconds, 1..3600000, into *out. */
int util_parse_ms(const char *s, uint32_t *out, char *err, size_t errlen);

/* Parses a switch's value (1/0, true/false, yes/no, on/off, case-insensitive; "" is false). Returns
 * 0, or -1 with a reason in err. */
int util_parse_bool(const char *s, bool *out, char *err, size_t errlen);
/* A size in bytes, min..max: digits, optionally followed by K, M, G or T (powers of 1024; "KiB",
 * "MiB", ... and "KB", ... mean the same), e.g. "16777216", "16M", "2GiB". */
int util_parse_size(const char *s, unsigned long long min, unsigned long long max,
                    unsigned long long *out, char *err, size_t errlen);
/* An Engine.IO max payload in bytes, 64..100 MiB, into *out. */
int util_parse_payload(const char *s, size_t *out, char *err, size_t errlen);
int util_parse_hostport(const char *s, char *host, size_t hostlen, int *port, char *err,
                        size_t errlen);

#endif
