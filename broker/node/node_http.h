/* node_http: the node's HTTP exchanges as seen by code layered on the node: extra routes (health,
 * metrics, admin pages) and a router (the sticky-free cluster) that takes requests for sessions
 * held by other nodes, forwards them and relays WebSockets. */
#ifndef NODE_HTTP_H
#define NODE_HTTP_H

#include "eio_request.h"
#include "node.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** One HTTP request on a client connection, from its headers until it is answered. Everything a
 * getter returns is borrowed until the request is answered (or aborted). */
typedef struct node_req node_req;

/* "GET", "POST", "HEAD", ... (static). */
const char *node_req_method(const node_req *r);
/* The path, percent-decoded, without the query. */
const char *node_req_path(const node_req *r);
/* The path of the Engine.IO endpoint the request is for ("/socket.io/"), or NULL. */
const char *node_req_endpoint(const node_req *r);
/* The first value of header name (lower-case, without ':'), or NULL. */
const char *node_req_header(const node_req *r, const char *name);
/* Calls fn for each header (lower-case name, value) in arrival order, until fn returns non-zero
 * (which is returned). */
int node_req_header_foreach(const node_req *r,
                            int (*fn)(const char *name, const char *value, void *ud), void *ud);
/* Calls fn for each query argument ("k=v", percent-decoded, '+' as space) until fn returns
 * non-zero (which is returned). */
int node_req_query_foreach(const node_req *r, int (*fn)(const char *arg, size_t len, void *ud),
                           void *ud);
/* The value of query argument name ("EIO") copied into out (size out_len), or NULL if absent. */
const char *node_req_query_arg(const node_req *r, const char *name, char *out, size_t out_len);
/* The client's address ("127.0.0.1"). */
const char *node_req_remote(const node_req *r);
/* The body length the client declared (content-length), or -1 (none, or chunked). */
int64_t node_req_content_length(const node_req *r);
/* The node the request arrived at. */
node *node_req_node(const node_req *r);

/* Answers the request: status, content type (static or copied), body (copied). With close_after
 * the connection is closed once the answer is written (and says "Connection: close"); it is also
 * closed when the client asked for it. An answer given before the request's body is read waits
 * for the body (which is discarded) unless close_after is set. The request must not be used
 * afterwards. */
void node_req_respond(node_req *r, int status, const char *ctype, const void *body, size_t len,
                      bool close_after);
/* Answers engine.io's JSON error for err (400, or 403 for a refused origin). */
void node_req_respond_error(node_req *r, eio_error err);

/** What a router hears about a request it took (every callback may be NULL). */
typedef struct node_req_ops {
    /** A piece of the body (data borrowed for the call). The router may answer from here,
     * closing the connection: the rest of the body is then not read. */
    void (*on_body)(void *ud, const void *data, size_t len);
    /** The body is complete (called at once for a request without one). */
    void (*on_complete)(void *ud);
    /** The client went away before the answer: the request must not be used any more. */
    void (*on_abort)(void *ud);
} node_req_ops;

/* Takes the request over: its body and its end are reported through ops (copied) with ud. The
 * request then has no timeout until answered (a forwarded long-poll may take a ping interval). */
void node_req_take(node_req *r, const node_req_ops *ops, void *ud);

/** A server-side WebSocket owned by a router (a relayed one). */
typedef struct node_ws node_ws;

typedef struct node_ws_ops {
    /** A whole message arrived (data borrowed for the call). */
    void (*on_message)(void *ud, const uint8_t *data, size_t len, bool binary);
    /** Everything written so far has left (node_ws_pending is 0). */
    void (*on_drain)(void *ud);
    /** The WebSocket closed (either side); ws must not be used any more. */
    void (*on_close)(void *ud);
} node_ws_ops;

/* Accepts the WebSocket upgrade of r (a request taken with node_req_take or handed to a router's
 * relay): answers 101 and returns the WebSocket, reported through ops (copied) with ud. r must
 * not be used afterwards. */
node_ws *node_req_upgrade(node_req *r, const node_ws_ops *ops, void *ud);
/* Sends one message. Returns 0, or -1 when the WebSocket is closing. */
int node_ws_send(node_ws *ws, const void *data, size_t len, bool binary);
/* Bytes given to node_ws_send that the kernel has not taken yet. */
size_t node_ws_pending(const node_ws *ws);
/* Stops (true) or resumes (false) reading the client: back-pressure from the other side. */
void node_ws_pause(node_ws *ws, bool paused);
/* Closes with a close frame carrying code (on_close follows, later). */
void node_ws_close(node_ws *ws, uint16_t code);

/** Extra route: fn answers r (node_req_respond) now or later. */
typedef void (*node_route_fn)(node_req *r, void *ud);

/* Serves path (exact match, GET and HEAD, or any method with any_method) with fn. Returns 0, or
 * -1 when the path is taken. */
int node_add_route(node *n, const char *path, bool any_method, node_route_fn fn, void *ud);

/* Serves every path that starts with prefix ("/admin/") with fn, as node_add_route; an exact route
 * is tried first, then prefix routes in the order they were added. Returns 0, or -1 when the
 * prefix is taken. */
int node_add_route_prefix(node *n, const char *prefix, bool any_method, node_route_fn fn, void *ud);

/* As node_req_respond, with extra header lines (each "Name: value\r\n"; NULL for none), e.g. a
 * Location for a redirect. */
void node_req_respond_headers(node_req *r, int status, const char *ctype, const char *headers,
                              const void *body, size_t len, bool close_after);

/* Answers r with the file rel ("/js/app.js"; a trailing '/' means its index.html) under the
 * directory root, as the node serves --static files: ETag, "Cache-Control: no-cache" and 304,
 * HEAD, a content type by extension, 404 for a path that leaves root or names no regular file. */
void node_req_serve_file(node_req *r, const char *root, const char *rel);

/** How a request that names a session this node does not hold is routed (the cluster). */
typedef struct node_router_ops {
    /** Classifies a request carrying node-to-node headers: 1 = a verified request from a peer
     * (served here and never routed again), -1 = refused (the node answers 401), 0 = not a peer
     * request (no such headers). Called for every Engine.IO request. */
    int (*classify)(void *ud, node_req *r);
    /** A polling GET or POST for sid, held elsewhere: the router takes r (node_req_take) and
     * answers it. */
    void (*forward)(void *ud, node_req *r, const char *sid);
    /** A WebSocket upgrade for sid, held elsewhere: the router answers r, with node_req_upgrade
     * once the owner accepted, or node_req_respond with the owner's refusal. */
    void (*relay)(void *ud, node_req *r, const char *sid);
    /** The node shuts down: close what the router holds. */
    void (*shutdown)(void *ud);
} node_router_ops;

/* Installs the router (ops copied; ud borrowed). NULL leaves requests for unknown sids to get
 * 400 "Session ID unknown". */
void node_set_router(node *n, const node_router_ops *ops, void *ud);

#endif
