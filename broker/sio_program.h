/* sio_program: the command line shared by small programs that embed a node on 127.0.0.1 (the
 * examples and the test fixtures): --port, --ping-interval, --ping-timeout, --connect-timeout,
 * --max-payload, --log-level. */
#ifndef SIO_PROGRAM_H
#define SIO_PROGRAM_H

#include "config.h"
#include "sio_log.h"
#include "sio_node.h"

#include <stdint.h>

/** What those flags set. Fill the defaults in before parsing: a flag not given keeps them. */
typedef struct sio_program_config {
    sio_node_config node;        /**< port, Engine.IO settings */
    sio_log_level log_level;     /**< --log-level */
    uint32_t connect_timeout_ms; /**< --connect-timeout (for the program's Socket.IO server) */
    void *ext;                   /**< the program's own settings, for its extra options */
} sio_program_config;

/* Fills cfg with node defaults on 127.0.0.1:8080, log level warn, connect timeout 45000. */
void sio_program_defaults(sio_program_config *cfg);

/* Parses argv into cfg and applies the log level. Returns -1 when the program should go on, or the
 * exit code to return: 0 after printing --help, 2 after a one-line error on stderr. */
int sio_program_parse(sio_program_config *cfg, const char *prog, const char *summary, int argc,
                      char **argv);

/* As sio_program_parse, with the program's own options added to the common ones. Their setters
 * receive cfg (a sio_program_config *) and reach their settings through cfg->ext. */
int sio_program_parse_ext(sio_program_config *cfg, const char *prog, const char *summary,
                          const sio_option *extra, size_t n_extra, int argc, char **argv);

#endif
