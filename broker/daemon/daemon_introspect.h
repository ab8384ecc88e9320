/* daemon_introspect: what a node tells operator tools (siocli) about itself, answered over
 * siobroker's control channel (adapter-redis/rd_control.h). Read-only. */
#ifndef DAEMON_INTROSPECT_H
#define DAEMON_INTROSPECT_H

#include "node.h"
#include "sio_server.h"

#include <jansson.h>

/* Answers one control request of type ("ping", "session", "sockets"; see rd_control.h) with req
 * (borrowed) holding its fields. srv is the node's Socket.IO server (may be NULL: no sockets are
 * reported). Returns a new object of result fields (caller owns), or NULL with *err set to a
 * static message ("unknown session", "unknown namespace", "unknown request type"). */
json_t *daemon_introspect(node *n, sio_server *srv, const char *type, const json_t *req,
                          const char **err);

/* The session sid held by n: a new object {sid, transport, state, remote, issued, age_ms,
 * sockets: [{nsp, id, rooms}]} (issued and age_ms only for a Socket.IO session of srv), or NULL
 * when n holds no open session sid. Caller owns the result. */
json_t *daemon_session_info(node *n, sio_server *srv, const char *sid);

/* Every socket of namespace nsp on n with its Engine.IO session: a new array of {id, sid} (caller
 * owns), or NULL when srv does not serve nsp. */
json_t *daemon_nsp_sockets(node *n, sio_server *srv, const char *nsp);

#endif
