/* config: command-line flags, SIO_* environment variables and defaults, in that precedence, for
 * the daemon and the examples. Table-driven so that every setting has a flag, a variable, a
 * default and a help line. */
#ifndef SIO_CONFIG_H
#define SIO_CONFIG_H

#include "policy.h"
#include "sio_log.h"
#include "sio_node.h"
#include "sio_server.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/** Everything the daemon can be told. Strings are owned by the config (config_free). */
typedef struct sio_config {
    sio_node_config node; /**< listener, Engine.IO, CORS */
    char listen_host[64]; /**< host part of --listen */
    char *path;           /**< Engine.IO/Socket.IO path, ends with '/' */
    char **cors_list;     /**< parsed --cors-origin list */
    size_t n_cors;
    sio_log_level log_level;
    sio_log_format log_format;
    sio_server_config sio; /**< Socket.IO settings (connect timeout, decoder limits) */
    char **ns_names;       /**< --namespace names */
    char **ns_policies;    /**< their policies */
    size_t n_ns;
    sio_rooms_limits rooms;      /**< limits of the rooms policy */
    char *static_dir;            /**< --static, or NULL */
    char *client_js;             /**< --client-js, or NULL (the installed copy is used) */
    char *redis_url;             /**< --redis, or NULL: a single node with the in-memory adapter */
    char *redis_key;             /**< --redis-key: the adapter's channel prefix */
    uint32_t redis_timeout_ms;   /**< --redis-requests-timeout */
    char *node_id;               /**< --node-id (random when not given) */
    char *advertise;             /**< --advertise HOST:PORT (the listen address when not given) */
    char *cluster_secret;        /**< --cluster-secret, or NULL */
    bool insecure_cluster;       /**< --insecure-cluster */
    uint32_t cluster_timeout_ms; /**< --cluster-timeout */
} sio_config;

/** One setting. */
typedef struct sio_option {
    const char *flag;    /**< "--ping-interval" */
    const char *env;     /**< "SIO_ENGINEIO_PING_INTERVAL_MS", or NULL */
    const char *metavar; /**< "MS"; NULL for a switch (a bare --flag means 1) */
    const char *defval;  /**< default as text (applied first), or NULL */
    const char *help;    /**< one line */
    /** Applies value to cfg; returns 0, or -1 with a reason in err. For a repeatable option,
     * value NULL means "forget the values given so far" (a later source replaces them). */
    int (*set)(void *cfg, const char *value, char *err, size_t errlen);
    bool repeatable; /**< may be given several times; each adds to the list */
} sio_option;

/** Result of sio_options_parse. */
enum { SIO_OPTS_OK = 0, SIO_OPTS_HELP = 1, SIO_OPTS_VERSION = 2, SIO_OPTS_ERROR = -1 };

/* Applies defaults, then environment variables, then argv flags (--flag VALUE or --flag=VALUE)
 * to cfg through the table. Returns SIO_OPTS_OK, SIO_OPTS_HELP for --help, SIO_OPTS_VERSION for
 * --version, or SIO_OPTS_ERROR with a one-line message in err naming the flag or variable. */
int sio_options_parse(const sio_option *opts, size_t n, void *cfg, int argc, char **argv, char *err,
                      size_t errlen);

/* Prints usage: one line per option with its variable and default. */
void sio_options_usage(FILE *out, const char *prog, const char *summary, const sio_option *opts,
                       size_t n);

/* Parsers shared by option tables. Each returns 0, or -1 with a reason in err. */
int sio_parse_uint(const char *s, unsigned long long min, unsigned long long max,
                   unsigned long long *out, char *err, size_t errlen);
/* A duration in milliseconds, 1..3600000, into *out. */
int sio_parse_ms(const char *s, uint32_t *out, char *err, size_t errlen);

/* Parses a switch's value (1/0, true/false, yes/no, on/off, case-insensitive; "" is false). Returns
 * 0, or -1 with a reason in err. */
int sio_parse_bool(const char *s, bool *out, char *err, size_t errlen);
/* An Engine.IO max payload in bytes, 64..100 MiB, into *out. */
int sio_parse_payload(const char *s, size_t *out, char *err, size_t errlen);
int sio_parse_hostport(const char *s, char *host, size_t hostlen, int *port, char *err,
                       size_t errlen);

/* The daemon's option table. */
const sio_option *sio_config_options(size_t *n);

/* Initialises cfg (empty; sio_options_parse applies defaults). */
void sio_config_init(sio_config *cfg);

/* Frees what cfg owns. */
void sio_config_free(sio_config *cfg);

/* Copies derived fields into cfg->node (host, CORS list). Call after parsing. */
void sio_config_finish(sio_config *cfg);

#endif
