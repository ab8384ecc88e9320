/* upstream: an HTTP/1.1 client to peer nodes with a keep-alive pool per peer (libuv + the
 * http-parser library), used to forward misrouted polling requests to the node that owns the
 * session. */
#ifndef UPSTREAM_H
#define UPSTREAM_H

#include "sio_buf.h"
#include "up_parse.h" /* up_response */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct upstream_pool upstream_pool;
typedef struct up_req up_req;

typedef enum up_error {
    UP_OK = 0,
    UP_CONNECT,  /**< the peer could not be resolved or refused the connection */
    UP_IO,       /**< the connection failed or closed before a complete response */
    UP_TIMEOUT,  /**< no complete response within the request's timeout */
    UP_PROTOCOL, /**< the peer's answer is not valid HTTP */
} up_error;

/** Runs exactly once per request unless it was cancelled: resp is non-NULL only with UP_OK. */
typedef void (*up_done_fn)(void *ud, up_error err, const up_response *resp);

/* A pool of connections on loop. Caller owns; free with upstream_pool_free. */
upstream_pool *upstream_pool_new(uv_loop_t *loop);

/* Closes every connection; requests still in flight are cancelled (their callbacks never run).
 * The memory is released once libuv has closed the handles (run the loop). Accepts NULL. */
void upstream_pool_free(upstream_pool *pool);

/* Sends the complete HTTP/1.1 request in req (its bytes are taken; req is left empty) to
 * hostport ("host:port", host a name or an IPv4/IPv6 literal, IPv6 in brackets) on an idle
 * keep-alive connection of that peer or a new one. A request whose reused connection turns out to
 * have been closed by the peer before any answer is retried once on a new connection. cb runs once
 * (never before this returns). The returned handle is borrowed; it is valid until cb runs or
 * upstream_cancel. */
up_req *upstream_request(upstream_pool *pool, const char *hostport, sio_buf *req,
                         uint32_t timeout_ms, up_done_fn cb, void *ud);

/* Abandons r: its callback never runs and its connection is closed, so the peer sees the abort.
 * Accepts NULL. */
void upstream_cancel(up_req *r);

/* A short English description of err. Static string. */
const char *upstream_error_message(up_error err);

#endif
