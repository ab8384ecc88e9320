/* sio_glue: runs a Socket.IO server (socketio/) on a node's Engine.IO endpoint. */
#ifndef NODE_SIO_H
#define NODE_SIO_H

#include "node.h"
#include "sio_server.h"

/* Registers an Engine.IO endpoint at path whose sessions are Socket.IO clients of a new server,
 * using cfg (copied). Returns the server, owned by the node (freed by node_free), or NULL if
 * the path is taken. Register namespaces on it with sio_server_of. */
sio_server *node_attach_socketio(node *n, const char *path, const sio_server_config *cfg);

/* The Socket.IO client of session c when c is a session of srv's endpoint, else NULL (another
 * endpoint's session, or one that is closing). Borrowed. */
sio_client *node_sio_client(const sio_server *srv, const node_session *c);

/* The node session of c, a client of a server made by node_attach_socketio, or NULL once the
 * session has closed. Borrowed. */
node_session *node_sio_session(const sio_client *c);

#endif
