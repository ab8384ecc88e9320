/* sio_program: the common option table of embedding programs. */
#include "node_program.h"

#include "util_opt.h"

#include "util_alloc.h"

#include <stdio.h>
#include <string.h>

static int set_port(void *p, const char *v, char *err, size_t errlen)
{
    unsigned long long x;
    if (util_parse_uint(v, 0, 65535, &x, err, errlen))
        return -1;
    ((node_program_config *)p)->node.port = (int)x;
    return 0;
}

static int set_interval(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((node_program_config *)p)->node.eio.ping_interval_ms, err, errlen);
}

static int set_timeout(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((node_program_config *)p)->node.eio.ping_timeout_ms, err, errlen);
}

static int set_connect_timeout(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_ms(v, &((node_program_config *)p)->connect_timeout_ms, err, errlen);
}

static int set_payload(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_payload(v, &((node_program_config *)p)->node.eio.max_payload, err, errlen);
}

static int set_level(void *p, const char *v, char *err, size_t errlen)
{
    if (util_log_parse_level(v, &((node_program_config *)p)->log_level)) {
        snprintf(err, errlen, "expected error, warn, info or debug");
        return -1;
    }
    return 0;
}

/* No defaults in the table: the program's own values stay unless a flag is given. */
static const util_option k_opts[] = {
    {"--port", NULL, "N", NULL, "port on 127.0.0.1", set_port},
    {"--ping-interval", NULL, "MS", NULL, "Engine.IO ping interval", set_interval},
    {"--ping-timeout", NULL, "MS", NULL, "Engine.IO ping timeout", set_timeout},
    {"--connect-timeout", NULL, "MS", NULL, "close sessions that connect no namespace in time",
     set_connect_timeout},
    {"--max-payload", NULL, "BYTES", NULL, "Engine.IO max payload", set_payload},
    {"--log-level", NULL, "LEVEL", NULL, "error, warn, info or debug", set_level},
};

void node_program_defaults(node_program_config *cfg)
{
    node_config_defaults(&cfg->node);
    cfg->log_level = UTIL_LOG_WARN;
    cfg->connect_timeout_ms = 45000;
}

int node_program_parse(node_program_config *cfg, const char *prog, const char *summary, int argc,
                       char **argv)
{
    return node_program_parse_ext(cfg, prog, summary, NULL, 0, argc, argv);
}

int node_program_parse_ext(node_program_config *cfg, const char *prog, const char *summary,
                           const util_option *extra, size_t n_extra, int argc, char **argv)
{
    char err[512];
    size_t n_common = sizeof k_opts / sizeof k_opts[0], n = n_common + n_extra;
    util_option *opts = util_malloc(n * sizeof *opts);
    memcpy(opts, k_opts, sizeof k_opts);
    if (n_extra)
        memcpy(opts + n_common, extra, n_extra * sizeof *opts);
    int rc = util_options_parse(opts, n, cfg, argc, argv, err, sizeof err);
    if (rc == UTIL_OPTS_HELP)
        util_options_usage(stdout, prog, summary, opts, n);
    util_free(opts);
    switch (rc) {
    case UTIL_OPTS_HELP: return 0;
    case UTIL_OPTS_VERSION: printf("%s\n", prog); return 0;
    case UTIL_OPTS_ERROR: fprintf(stderr, "%s: %s\n", prog, err); return 2;
    default: break;
    }
    util_log_set_level(cfg->log_level);
    util_log_set_subsys_level(UTIL_SUB_NODE, UTIL_LOG_INFO); /* the "listening on" line */
    return -1;
}
