/* main: the siobroker daemon: parse settings, run one node until SIGINT/SIGTERM. */
#include "config.h"
#include "policy.h"
#include "rd_adapter.h"
#include "sio_alloc.h"
#include "sio_log.h"
#include "sio_glue.h"
#include "sio_node.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <signal.h>
#include <stdio.h>

#ifndef SIO_VERSION
#define SIO_VERSION "0.0.0"
#endif

static void on_cluster_state(void *ud, bool ready)
{
    (void)ud;
    if (ready)
        SIO_LOGI(SIO_SUB_CLUSTER, "cluster ready: subscriptions confirmed by Redis");
    else
        SIO_LOGW(SIO_SUB_CLUSTER, "cluster not ready: Redis unavailable; serving local traffic");
}

static void free_cluster(void *cl)
{
    rd_cluster_free(cl);
}

/* Each polling client holds up to two descriptors: lift the soft limit to the hard one. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
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
    char *default_js = NULL;
    if (!cfg.client_js) {
        default_js = sio_node_default_client_js();
        cfg.node.client_js = default_js;
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    sio_node *node = sio_node_new(&loop, &cfg.node, err, sizeof err);
    free(default_js);
    if (!node) {
        fprintf(stderr, "siobroker: %s\n", err);
        uv_loop_close(&loop);
        sio_config_free(&cfg);
        return 2;
    }
    sio_server *srv = sio_node_attach_socketio(node, cfg.path, &cfg.sio);
    if (cfg.redis_url) {
        rd_cluster_config cc;
        memset(&cc, 0, sizeof cc);
        char urlbuf[512];
        rd_link_parse_url(cfg.redis_url, &cc.link, urlbuf, sizeof urlbuf, err, sizeof err);
        cc.key = cfg.redis_key;
        cc.requests_timeout_ms = cfg.redis_timeout_ms;
        rd_cluster *cl = rd_cluster_new(&loop, &cc, on_cluster_state, NULL);
        sio_server_set_adapter(srv, rd_adapter_factory, cl);
        sio_node_on_shutdown(node, free_cluster, cl);
    }
    for (size_t i = 0; i < cfg.n_ns; i++)
        sio_policy_apply(srv, cfg.ns_names[i], cfg.ns_policies[i], &cfg.rooms);
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
