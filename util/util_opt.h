/* util_opt: table-driven options: command-line flag > SIO_* environment variable > default. Every
 * setting has a flag, a variable, a default and a help line. */
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
    const char *help;    /**< one line */
    /** Applies value to cfg; returns 0, or -1 with a reason in err. For a repeatable option,
     * value NULL means "forget the values given so far" (a later source replaces them). */
    int (*set)(void *cfg, const char *value, char *err, size_t errlen);
    bool repeatable; /**< may be given several times; each adds to the list */
} util_option;

/** Result of util_options_parse. */
enum { UTIL_OPTS_OK = 0, UTIL_OPTS_HELP = 1, UTIL_OPTS_VERSION = 2, UTIL_OPTS_ERROR = -1 };

/* Applies defaults, then environment variables, then argv flags (--flag VALUE or --flag=VALUE)
 * to cfg through the table. Returns UTIL_OPTS_OK, UTIL_OPTS_HELP for --help, UTIL_OPTS_VERSION for
 * --version, or UTIL_OPTS_ERROR with a one-line message in err naming the flag or variable. */
int util_options_parse(const util_option *opts, size_t n, void *cfg, int argc, char **argv,
                       char *err, size_t errlen);

/* Prints usage: one line per option with its variable and default. */
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
