/* rd_adapter: the Redis adapter of @socket.io/redis-adapter 8.x, in C: one adapter per namespace
 * on the node's cluster link (rd_cluster.h), Node's wire format (docs/cluster.md; byte vectors in
 * tests/vectors/redis). */
#ifndef RD_ADAPTER_H
#define RD_ADAPTER_H

#include "rd_cluster.h"
#include "sio_adapter.h"

/* The adapter factory to pass to sio_server_set_adapter, with the cluster as ud. */
sio_adapter *rd_adapter_factory(sio_nsp *nsp, void *cluster);

/* The uid of the adapter of a namespace (6 URL-safe characters). Borrowed. */
const char *rd_adapter_uid(const sio_adapter *a);

#endif
