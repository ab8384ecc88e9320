/* daemon_introspect: what a node tells operator tools about itself (siocli, through the control channel
 * of adapter-redis/rd_control.h): one session's details, the sockets of a namespace with their
 * sessions, the node's counts. Reads only; never changes a session. */
#include "daemon_introspect.h"

#include "node_sio.h"
#include "sio_server.h"

#include <string.h>
#include <sys/time.h>

static uint64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static const char *state_name(eio_state st)
{
    switch (st) {
    case EIO_ST_OPEN: return "open";
    case EIO_ST_UPGRADING: return "upgrading";
    case EIO_ST_CLOSED: return "closed";
    }
    return "unknown";
}

static void add_room(const char *room, void *ud)
{
    json_array_append_new(ud, json_string(room));
}

/* Appends {nsp, id, rooms} of s to the array ud, in connection order (the client lists its
 * sockets newest first). */
static void add_socket(sio_socket *s, void *ud)
{
    json_t *rooms = json_array();
    sio_socket_rooms(s, add_room, rooms);
    json_array_insert_new(ud, 0,
                          json_pack("{s:s,s:s,s:o}", "nsp", sio_nsp_name(sio_socket_nsp(s)), "id",
                                    sio_socket_id(s), "rooms", rooms));
}

json_t *daemon_session_info(node *n, sio_server *srv, const char *sid)
{
    node_session *c = sid ? node_find_session(n, sid) : NULL;
    if (!c)
        return NULL;
    json_t *info = json_pack("{s:s,s:s,s:s,s:s}", "sid", node_session_sid(c), "transport",
                             node_session_transport(c), "state",
                             state_name(eio_session_state(node_session_eio(c))), "remote",
                             node_session_remote(c) ? node_session_remote(c) : "");
    json_t *sockets = json_array();
    sio_client *client = srv ? node_sio_client(srv, c) : NULL;
    if (client) {
        json_int_t issued =
            json_integer_value(json_object_get(sio_client_handshake(client), "issued"));
        uint64_t now = wall_ms();
        json_object_set_new(info, "issued", json_integer(issued));
        json_object_set_new(info, "age_ms",
                            json_integer(issued > 0 && (uint64_t)issued <= now
                                             ? (json_int_t)(now - (uint64_t)issued)
                                             : 0));
        sio_client_each_socket(client, add_socket, sockets);
    }
    json_object_set_new(info, "sockets", sockets);
    return info;
}

typedef struct nsp_walk {
    const sio_nsp *nsp;
    sio_server *srv;
    const char *sid;
    json_t *out;
} nsp_walk;

static void add_nsp_socket(sio_socket *s, void *ud)
{
    nsp_walk *w = ud;
    if (sio_socket_nsp(s) == w->nsp)
        json_array_append_new(w->out,
                              json_pack("{s:s,s:s}", "id", sio_socket_id(s), "sid", w->sid));
}

static void add_session_sockets(node_session *c, void *ud)
{
    nsp_walk *w = ud;
    sio_client *client = node_sio_client(w->srv, c);
    if (!client)
        return;
    w->sid = node_session_sid(c);
    sio_client_each_socket(client, add_nsp_socket, w);
}

json_t *daemon_nsp_sockets(node *n, sio_server *srv, const char *nsp_name)
{
    sio_nsp *nsp = srv && nsp_name ? sio_server_find_nsp(srv, nsp_name) : NULL;
    if (!nsp)
        return NULL;
    nsp_walk w = {nsp, srv, NULL, json_array()};
    node_each_session(n, add_session_sockets, &w);
    return w.out;
}

json_t *daemon_introspect(node *n, sio_server *srv, const char *type, const json_t *req,
                          const char **err)
{
    if (strcmp(type, "ping") == 0) {
        return json_pack("{s:I,s:I}", "sessions", (json_int_t)node_session_count(n), "sockets",
                         (json_int_t)(srv ? sio_server_socket_count(srv) : 0));
    }
    if (strcmp(type, "session") == 0) {
        json_t *info = daemon_session_info(n, srv, json_string_value(json_object_get(req, "sid")));
        if (!info) {
            *err = "unknown session";
            return NULL;
        }
        return json_pack("{s:o}", "session", info);
    }
    if (strcmp(type, "sockets") == 0) {
        json_t *sockets =
            daemon_nsp_sockets(n, srv, json_string_value(json_object_get(req, "nsp")));
        if (!sockets) {
            *err = "unknown namespace";
            return NULL;
        }
        return json_pack("{s:o}", "sockets", sockets);
    }
    *err = "unknown request type";
    return NULL;
}
