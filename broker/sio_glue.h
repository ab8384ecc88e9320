/* sio_glue: runs a Socket.IO server (socketio/) on a node's Engine.IO endpoint. */
#ifndef SIO_GLUE_H
#define SIO_GLUE_H

#include "sio_node.h"
#include "sio_server.h"

/* Registers an Engine.IO endpoint at path whose sessions are Socket.IO clients of a new server,
 * using cfg (copied). Returns the server, owned by the node (freed by sio_node_free), or NULL if
 * the path is taken. Register namespaces on it with sio_server_of. */
sio_server *sio_node_attach_socketio(sio_node *n, const char *path, const sio_server_config *cfg);

/* The Socket.IO client of session c when c is a session of srv's endpoint, else NULL (another
 * endpoint's session, or one that is closing). Borrowed. */
sio_client *sio_glue_client(const sio_server *srv, const sio_conn *c);

#endif
