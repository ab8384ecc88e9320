/* main: the siobroker daemon: parse settings, run one node until SIGINT/SIGTERM. */
#include "config.h"
#include "sio_node.h"

#include <signal.h>
#include <stdio.h>

#ifndef SIO_VERSION
#define SIO_VERSION "0.0.0"
#endif

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    sio_config cfg;
    sio_config_init(&cfg);
    size_t nopts;
    const sio_option *opts = sio_config_options(&nopts);
    char err[512];
    switch (sio_options_parse(opts, nopts, &cfg, argc, argv, err, sizeof err)) {
    case SIO_OPTS_HELP:
        sio_options_usage(stdout, "siobroker",
                          "A Socket.IO v5 / Engine.IO v4 server node; run several behind any load "
                          "balancer.",
                          opts, nopts);
        sio_config_free(&cfg);
        return 0;
    case SIO_OPTS_VERSION:
        printf("siobroker %s\n", SIO_VERSION);
        sio_config_free(&cfg);
        return 0;
    case SIO_OPTS_ERROR:
        fprintf(stderr, "siobroker: %s\n", err);
        sio_config_free(&cfg);
        return 2;
    default: break;
    }
    sio_config_finish(&cfg);

    uv_loop_t loop;
    uv_loop_init(&loop);
    sio_node *node = sio_node_new(&loop, &cfg.node, err, sizeof err);
    if (!node) {
        fprintf(stderr, "siobroker: %s\n", err);
        uv_loop_close(&loop);
        sio_config_free(&cfg);
        return 2;
    }
    sio_node_add_endpoint(node, cfg.path, NULL, NULL);
    sio_node_handle_signals(node);
    uv_run(&loop, UV_RUN_DEFAULT);
    sio_node_free(node);
    int rc = uv_loop_close(&loop);
    sio_config_free(&cfg);
    if (rc != 0) {
        fprintf(stderr, "siobroker: event loop did not close cleanly\n");
        return 1;
    }
    return 0;
}
