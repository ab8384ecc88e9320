/* cluster_pool: an HTTP/1.1 client to peer nodes with a keep-alive pool per peer (libuv + the
 * http-parser library), used to forward misrouted polling requests to the node that owns the
 * session. */
#ifndef CLUSTER_POOL_H
#define CLUSTER_POOL_H

#include "util_buf.h"
#include "cluster_answer.h" /* cluster_response */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct cluster_pool cluster_pool;
typedef struct cluster_req cluster_req;

typedef enum cluster_pool_error {
    CLUSTER_POOL_OK = 0,
    CLUSTER_POOL_CONNECT,  /**< the peer could not be resolved or refused the connection */
    CLUSTER_POOL_IO,       /**< the connection failed or closed before a complete response */
    CLUSTER_POOL_TIMEOUT,  /**< no complete response within the request's timeout */
    CLUSTER_POOL_PROTOCOL, /**< the peer's answer is not valid HTTP */
} cluster_pool_error;

/** Runs exactly once per request unless it was cancelled: resp is non-NULL only with CLUSTER_POOL_OK. */
typedef void (*cluster_done_fn)(void *ud, cluster_pool_error err, const cluster_response *resp);

/* A pool of connections on loop. Caller owns; free with cluster_pool_free. */
cluster_pool *cluster_pool_new(uv_loop_t *loop);

/* Sets the largest answer (headers + body) the pool accepts from now on; a larger one fails with
 * CLUSTER_POOL_PROTOCOL. Default CLUSTER_MAX_RESPONSE. */
void cluster_pool_set_max_response(cluster_pool *pool, size_t max);

/* Closes every connection; requests still in flight are cancelled (their callbacks never run).
 * The memory is released once libuv has closed the handles (run the loop). Accepts NULL. */
void cluster_pool_free(cluster_pool *pool);

/* Sends the complete HTTP/1.1 request in req (its bytes are taken; req is left empty) to
 * hostport ("host:port", host a name or an IPv4/IPv6 literal, IPv6 in brackets) on an idle
 * keep-alive connection of that peer or a new one. A request whose reused connection turns out to
 * have been closed by the peer before any answer is retried once on a new connection. cb runs once
 * (never before this returns). The returned handle is borrowed; it is valid until cb runs or
 * cluster_pool_cancel. */
cluster_req *cluster_pool_request(cluster_pool *pool, const char *hostport, util_buf *req,
                                  uint32_t timeout_ms, cluster_done_fn cb, void *ud);

/* Abandons r: its callback never runs and its connection is closed, so the peer sees the abort.
 * Accepts NULL. */
void cluster_pool_cancel(cluster_req *r);

/* A short English description of err. Static string. */
const char *cluster_pool_error_message(cluster_pool_error err);

#endif
