/* sio_program: the command line shared by small programs that embed a node on 127.0.0.1 (the
 * examples and the test fixtures): --port, --ping-interval, --ping-timeout, --connect-timeout,
 * --max-payload, --log-level. */
#ifndef NODE_PROGRAM_H
#define NODE_PROGRAM_H

#include "util_opt.h"
#include "util_log.h"
#include "node.h"

#include <stdint.h>

/** What those flags set. Fill the defaults in before parsing: a flag not given keeps them. */
typedef struct node_program_config {
    node_config node;            /**< port, Engine.IO settings */
    util_log_level log_level;    /**< --log-level */
    uint32_t connect_timeout_ms; /**< --connect-timeout (for the program's Socket.IO server) */
    void *ext;                   /**< the program's own settings, for its extra options */
} node_program_config;

/* Fills cfg with node defaults on 127.0.0.1:8080, log level warn, connect timeout 45000. */
void node_program_defaults(node_program_config *cfg);

/* Parses argv into cfg and applies the log level. Returns -1 when the program should go on, or the
 * exit code to return: 0 after printing --help, 2 after a one-line error on stderr. */
int node_program_parse(node_program_config *cfg, const char *prog, const char *summary, int argc,
                       char **argv);

/* As node_program_parse, with the program's own options added to the common ones. Their setters
 * receive cfg (a node_program_config *) and reach their settings through cfg->ext. */
int node_program_parse_ext(node_program_config *cfg, const char *prog, const char *summary,
                           const util_option *extra, size_t n_extra, int argc, char **argv);

#endif
