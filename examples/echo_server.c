/* echo-server: the protocol test fixture, on 127.0.0.1. A raw Engine.IO endpoint at /engine.io/
 * that sends every message packet back as it came (text as text, binary as binary), and Socket.IO
 * at /socket.io/ with namespaces / and /custom: each emits "auth" with the connect payload on
 * connect; on /, "message" is answered by "message-back" with the same args and
 * "message-with-ack" is acked with the same args. Nothing else is sent unprompted. */
#include "node_program.h"
#include "node_sio.h"
#include "node.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void echo_message(node_session *c, const uint8_t *data, size_t len, bool binary, void *ud)
{
    (void)ud;
    node_session_send_message(c, data, len, binary);
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
    node_program_config cfg;
    node_program_defaults(&cfg);
    cfg.node.eio.ping_interval_ms = 300;
    cfg.node.eio.ping_timeout_ms = 200;
    cfg.connect_timeout_ms = 1000;
    int rc = node_program_parse(&cfg, "echo-server",
                                "Protocol fixture: Engine.IO echo at /engine.io/, Socket.IO at "
                                "/socket.io/.",
                                argc, argv);
    if (rc >= 0)
        return rc;
    char err[512];

    uv_loop_t loop;
    uv_loop_init(&loop);
    node *nd = node_new(&loop, &cfg.node, err, sizeof err);
    if (!nd) {
        fprintf(stderr, "echo-server: %s\n", err);
        uv_loop_close(&loop);
        return 2;
    }
    static const node_endpoint_ops echo_ops = {.on_message = echo_message};
    node_add_endpoint(nd, "/engine.io/", &echo_ops, NULL);
    sio_server_config scfg;
    sio_server_config_defaults(&scfg);
    scfg.connect_timeout_ms = cfg.connect_timeout_ms;
    sio_server *srv = node_attach_socketio(nd, "/socket.io/", &scfg);
    static const sio_nsp_handlers handlers = {.connect = sio_connect};
    sio_nsp *root = sio_server_of(srv, "/", &handlers, NULL);
    sio_nsp_on(root, "message", on_message_event, NULL);
    sio_nsp_on(root, "message-with-ack", on_message_with_ack, NULL);
    sio_server_of(srv, "/custom", &handlers, NULL);
    node_handle_signals(nd);
    uv_run(&loop, UV_RUN_DEFAULT);
    node_free(nd);
    return uv_loop_close(&loop) == 0 ? 0 : 1;
}
