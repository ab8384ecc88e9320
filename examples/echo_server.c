/* echo-server: the protocol test fixture, on 127.0.0.1. A raw Engine.IO endpoint at /engine.io/
 * that sends every message packet back as it came (text as text, binary as binary), and Socket.IO
 * at /socket.io/ with namespaces / and /custom: each emits "auth" with the connect payload on
 * connect; on /, "message" is answered by "message-back" with the same args and
 * "message-with-ack" is acked with the same args. Nothing else is sent unprompted. */
#include "config.h"
#include "sio_glue.h"
#include "sio_node.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

typedef struct echo_config {
    sio_node_config node;
    sio_log_level log_level;
} echo_config;

static int set_port(void *p, const char *v, char *err, size_t errlen)
{
    unsigned long long x;
    if (sio_parse_uint(v, 0, 65535, &x, err, errlen))
        return -1;
    ((echo_config *)p)->node.port = (int)x;
    return 0;
}

static int set_u32(uint32_t *dst, const char *v, char *err, size_t errlen)
{
    unsigned long long x;
    if (sio_parse_uint(v, 1, 3600000, &x, err, errlen))
        return -1;
    *dst = (uint32_t)x;
    return 0;
}

static int set_interval(void *p, const char *v, char *err, size_t errlen)
{
    return set_u32(&((echo_config *)p)->node.eio.ping_interval_ms, v, err, errlen);
}

static int set_timeout(void *p, const char *v, char *err, size_t errlen)
{
    return set_u32(&((echo_config *)p)->node.eio.ping_timeout_ms, v, err, errlen);
}

static int set_payload(void *p, const char *v, char *err, size_t errlen)
{
    unsigned long long x;
    if (sio_parse_uint(v, 16, 100ull * 1024 * 1024, &x, err, errlen))
        return -1;
    ((echo_config *)p)->node.eio.max_payload = (size_t)x;
    return 0;
}

static int set_level(void *p, const char *v, char *err, size_t errlen)
{
    if (sio_log_parse_level(v, &((echo_config *)p)->log_level)) {
        snprintf(err, errlen, "expected error, warn, info or debug");
        return -1;
    }
    return 0;
}

static const sio_option k_opts[] = {
    {"--port", NULL, "N", "8080", "port on 127.0.0.1", set_port},
    {"--ping-interval", NULL, "MS", "300", "ping interval", set_interval},
    {"--ping-timeout", NULL, "MS", "200", "ping timeout", set_timeout},
    {"--max-payload", NULL, "BYTES", "1000000", "max payload", set_payload},
    {"--log-level", NULL, "LEVEL", "warn", "error, warn, info or debug", set_level},
};

static void echo_message(sio_conn *c, const uint8_t *data, size_t len, bool binary, void *ud)
{
    (void)ud;
    sio_conn_send_message(c, data, len, binary);
}

static bool sio_connect(sio_socket *s, const json_t *auth, sio_reject *rej, void *ud)
{
    (void)rej, (void)ud;
    sio_socket_emit(s, "auth", json_pack("[O]", auth));
    return true;
}

static void on_message_event(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    (void)event, (void)ud;
    sio_socket_emit(s, "message-back", json_incref(args));
    sio_ack_drop(ack);
}

static void on_message_with_ack(sio_socket *s, const char *event, json_t *args, sio_ack *ack,
                                void *ud)
{
    (void)s, (void)event, (void)ud;
    if (ack)
        sio_ack_send(ack, json_incref(args));
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    echo_config cfg;
    memset(&cfg, 0, sizeof cfg);
    sio_node_config_defaults(&cfg.node);
    char err[512];
    size_t n = sizeof k_opts / sizeof k_opts[0];
    switch (sio_options_parse(k_opts, n, &cfg, argc, argv, err, sizeof err)) {
    case SIO_OPTS_HELP:
        sio_options_usage(stdout, "echo-server", "Engine.IO echo fixture at /engine.io/.", k_opts,
                          n);
        return 0;
    case SIO_OPTS_ERROR: fprintf(stderr, "echo-server: %s\n", err); return 2;
    default: break;
    }
    sio_log_set_level(cfg.log_level);
    sio_log_set_subsys_level(SIO_SUB_NODE, SIO_LOG_INFO);

    uv_loop_t loop;
    uv_loop_init(&loop);
    sio_node *node = sio_node_new(&loop, &cfg.node, err, sizeof err);
    if (!node) {
        fprintf(stderr, "echo-server: %s\n", err);
        uv_loop_close(&loop);
        return 2;
    }
    static const sio_endpoint_ops echo_ops = {.on_message = echo_message};
    sio_node_add_endpoint(node, "/engine.io/", &echo_ops, NULL);
    sio_server_config scfg;
    sio_server_config_defaults(&scfg);
    scfg.connect_timeout_ms = 1000;
    sio_server *srv = sio_node_attach_socketio(node, "/socket.io/", &scfg);
    static const sio_nsp_handlers handlers = {.connect = sio_connect};
    sio_nsp *root = sio_server_of(srv, "/", &handlers, NULL);
    sio_nsp_on(root, "message", on_message_event, NULL);
    sio_nsp_on(root, "message-with-ack", on_message_with_ack, NULL);
    sio_server_of(srv, "/custom", &handlers, NULL);
    sio_node_handle_signals(node);
    uv_run(&loop, UV_RUN_DEFAULT);
    sio_node_free(node);
    return uv_loop_close(&loop) == 0 ? 0 : 1;
}
