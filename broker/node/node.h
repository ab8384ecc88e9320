/* node: the public API of a broker node: one libuv loop, its own HTTP/1.1 + WebSocket server,
 * Engine.IO endpoints, clean shutdown. Programs (siobroker, examples) embed it. */
#ifndef NODE_H
#define NODE_H

#include "eio_msg.h"
#include "eio_session.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>

typedef struct node node;
typedef struct node_session node_session;

/** CORS policy: none (no CORS headers, cross-origin requests refused), a list, or any origin. */
typedef enum node_cors_mode {
    NODE_CORS_NONE = 0,
    NODE_CORS_LIST = 1,
    NODE_CORS_ANY = 2
} node_cors_mode;

/** Settings of a node (see node_config_defaults). Strings are borrowed while the node lives. */
typedef struct node_config {
    const char *host;                /**< listen address (default 127.0.0.1) */
    int port;                        /**< listen port (default 8080; 0 = pick a free one) */
    eio_config eio;                  /**< Engine.IO settings */
    node_cors_mode cors;             /**< CORS mode */
    const char *const *cors_origins; /**< allowed origins when cors == NODE_CORS_LIST */
    size_t n_cors_origins;           /**< number of entries in cors_origins */
    size_t max_connections;          /**< client connections at once; more are answered 503
                                          (0 = the descriptor limit less a reserve) */
    size_t max_header_bytes;         /**< request line + headers (default 16 KiB; 431 beyond) */
    size_t max_url_bytes;            /**< request target (default 8 KiB; 414 beyond) */
    uint32_t idle_timeout_ms;        /**< a connection waiting for a request, or for the rest of
                                          one, is closed after this long (default 30000; a
                                          request cut short gets 408) */
    const char *static_dir;          /**< serve files from this directory at / (NULL = none) */
    const char *client_js;           /**< file served at <endpoint path>socket.io.min.js */
} node_config;

/** What an Engine.IO endpoint does with its sessions. Every callback may be NULL. */
typedef struct node_endpoint_ops {
    /** A session completed its handshake (its open packet is queued). */
    void (*on_open)(node_session *c, void *ud);
    /** A message packet arrived (data borrowed for the call). */
    void (*on_message)(node_session *c, const uint8_t *data, size_t len, bool binary, void *ud);
    /** The session closed; c stays valid until this returns, then must not be used. */
    void (*on_close)(node_session *c, const char *reason, void *ud);
    /** The node is being freed (every session is closed): release ud. */
    void (*on_destroy)(void *ud);
    /** End of a loop turn, before the node writes what the sessions have queued (optional). */
    void (*on_turn_end)(void *ud);
} node_endpoint_ops;

/* Fills cfg with defaults. */
void node_config_defaults(node_config *cfg);

/* Creates a node on loop (borrowed; must outlive the node) and binds its listener. Returns the node
 * (caller owns; release with node_free after the loop has finished), or NULL with a one-line
 * reason written to err (size errlen), e.g. when the port is in use. */
node *node_new(uv_loop_t *loop, const node_config *cfg, char *err, size_t errlen);

/* Registers an Engine.IO endpoint at path (e.g. "/engine.io/"; a trailing slash is added if
 * missing). ops is copied, ud borrowed. Returns 0, or -1 if the path is taken. */
int node_add_endpoint(node *n, const char *path, const node_endpoint_ops *ops, void *ud);

/* The port the node listens on (useful with port 0). */
int node_port(const node *n);

/* Installs SIGINT/SIGTERM handlers that call node_shutdown. */
void node_handle_signals(node *n);

/* Starts a clean shutdown: every session is closed with "server shutting down" (held polling GETs
 * get "1", WebSockets get a close frame), then the listener and lws are torn down so that uv_run
 * returns. Safe to call more than once and from any callback. */
void node_shutdown(node *n);

/* Finishes teardown after uv_run returned and frees the node. Accepts NULL. */
void node_free(node *n);

/* ---- sessions (connections) ---- */

/* Queues m on the session (a new reference is taken). Returns 0 or -1 when closed / over limit. */
int node_session_send(node_session *c, eio_msg *m);

/* Queues the n messages of m in order (eio_session_send_many). Returns as node_session_send. */
int node_session_send_many(node_session *c, eio_msg *const *m, size_t n);

/* Queues a message packet. Returns as node_session_send. */
int node_session_send_message(node_session *c, const void *data, size_t len, bool binary);

/* Tells the node that the message just received on c made a broadcast reaching n_sessions
 * sessions: while c's WebSocket has more input to read, the node may wait a turn or a few
 * before writing, so that a publisher's burst leaves in one write per receiver. */
void node_session_note_fanout(node_session *c, uint64_t n_sessions);

/* Closes the session with reason (e.g. EIO_REASON_FORCED_CLOSE); on_close runs. */
void node_session_close(node_session *c, const char *reason);

/* The Engine.IO sid. Borrowed. */
const char *node_session_sid(const node_session *c);

/* "polling" or "websocket". Static string. */
const char *node_session_transport(const node_session *c);

/* Remote address as text. Borrowed. */
const char *node_session_remote(const node_session *c);

/* The query string of the handshake request (without '?'). Borrowed. */
const char *node_session_query(const node_session *c);

/* The node the session lives on. */
node *node_session_node(const node_session *c);

/* Per-session slot for the endpoint's own data. */
void *node_session_data(const node_session *c);
void node_session_set_data(node_session *c, void *data);

/* Observes every Engine.IO session of the node: on_open(sid) runs when it is created (before its
 * open packet can leave), on_close(sid) when it closes. One observer; NULLs remove it. */
void node_observe_sessions(node *n, void (*on_open)(void *ud, const char *sid),
                           void (*on_close)(void *ud, const char *sid), void *ud);

/* Observes upgrades: fn(ud, c) runs when session c has moved from polling to WebSocket. One
 * observer; NULL removes it. */
void node_observe_upgrades(node *n, void (*fn)(void *ud, node_session *c), void *ud);

/* Sets what GET /readyz consults besides "listening and not shutting down" (e.g. the cluster's
 * Redis node_link). fn NULL: always ready. */
void node_set_ready_check(node *n, bool (*fn)(void *ud), void *ud);

/* Number of open Engine.IO sessions. */
size_t node_session_count(const node *n);

/* Registers fn(arg) to run once during shutdown, after every session is closed and before
 * libwebsockets is torn down: the place to close connections of the program's own (Redis) so that
 * the loop can end. */
void node_on_shutdown(node *n, void (*fn)(void *arg), void *arg);

/* Runs fn(arg) at the end of the current loop iteration, outside every lws and session callback
 * (never before this returns). Used to act on events that must not re-enter their caller. */
void node_defer(node *n, void (*fn)(void *arg), void *arg);

/* True when a packet queued now would go out at once: a polling GET is held, or the WebSocket is
 * not backed up. */
bool node_session_writable(const node_session *c);

/* The request headers of the handshake as a JSON object with lower-case names (repeated headers
 * joined with ", ", as Node does). Only valid inside on_open; NULL elsewhere. Caller owns the
 * result. */
json_t *node_session_handshake_headers(const node_session *c);

/* The canonical path of <exe dir>/../share/siobroker/REL (a file installed beside the program),
 * or NULL when it is not a readable file. Caller frees with util_free. */
char *node_installed_file(const char *rel);

/* Path of the browser client installed beside the program (<exe dir>/../share/siobroker/
 * socket.io.min.js), or NULL when there is none. Caller frees with util_free. */
char *node_default_client_js(void);

/* The query parameters of the handshake (url-decoded) as a JSON object. Only valid inside on_open;
 * NULL elsewhere. Caller owns the result. */
json_t *node_session_handshake_query(const node_session *c);

/* Milliseconds of the node's loop clock (uv_now). */
uint64_t node_now(const node *n);

/* The node's Engine.IO settings (a copy). */
eio_config node_eio_config(const node *n);

/* The loop the node runs on. Borrowed. */
uv_loop_t *node_loop(const node *n);

/* ---- counters (metrics) ------------------------------------------------------------------- */

/** Why sessions closed, as counted in node_stats.closed (node_close_reason_name gives the label). */
typedef enum node_close_reason {
    NODE_CLOSE_TRANSPORT_CLOSE = 0, /**< "transport close": the client went away */
    NODE_CLOSE_TRANSPORT_ERROR,     /**< "transport error" */
    NODE_CLOSE_PING_TIMEOUT,        /**< "ping timeout" */
    NODE_CLOSE_PARSE_ERROR,         /**< "parse error" */
    NODE_CLOSE_FORCED,              /**< "forced close": the server closed it */
    NODE_CLOSE_SHUTDOWN,            /**< "server shutting down" */
    NODE_CLOSE_SLOW_CONSUMER,       /**< "slow consumer": its output queue overflowed */
    NODE_CLOSE_OTHER,               /**< any other reason */
    NODE_CLOSE_N
} node_close_reason;

/** What a node counts since it started. Plain counters incremented in place on the loop's thread
 * (no atomics): read them from that thread (a /metrics route does). */
typedef struct node_stats {
    uint64_t accepted;             /**< client connections accepted */
    uint64_t refused;              /**< connections answered 503 over max_connections */
    uint64_t accept_pauses;        /**< accepting paused for lack of descriptors (EMFILE) */
    uint64_t http_requests;        /**< HTTP requests whose head was parsed */
    uint64_t bytes_in;             /**< bytes read from client connections */
    uint64_t bytes_out;            /**< bytes written to client connections */
    uint64_t sessions_opened[2];   /**< Engine.IO sessions opened, by first transport
                                        ([0] polling, [1] websocket) */
    uint64_t upgrades;             /**< sessions upgraded from polling to WebSocket */
    uint64_t closed[NODE_CLOSE_N]; /**< sessions closed, by reason */
    uint64_t messages_in;          /**< Engine.IO message packets received */
    uint64_t messages_out;         /**< Engine.IO message packets queued to sessions */
} node_stats;

/* The node's counters. Borrowed; valid while the node lives. */
const node_stats *node_get_stats(const node *n);

/* The label of a close reason ("ping timeout", ...). Static string. */
const char *node_close_reason_name(node_close_reason r);

/** Gauges computed by walking the node's sessions (node_gauges). */
typedef struct node_gauges {
    size_t connections;   /**< open client connections */
    size_t sessions[2];   /**< open Engine.IO sessions by current transport (polling, websocket) */
    size_t queued_bytes;  /**< bytes queued to all sessions, not yet written */
    size_t largest_queue; /**< bytes queued to the session that has the most */
    size_t largest_session; /**< memory charged to the session that holds the most
                                 (eio_session_memory: queue, transport, partial packets) */
    size_t pending_write;   /**< bytes handed to connections that the kernel has not taken */
} node_gauges;

/* Fills g by walking every connection and session (O(sessions); meant for a scrape). */
void node_get_gauges(const node *n, node_gauges *g);

/* ---- inspection (operator tools) ----------------------------------------------------------- */

/* The open session with that sid, or NULL. Borrowed. */
node_session *node_find_session(node *n, const char *sid);

/* Calls fn for every open session, in no particular order. fn must not close sessions. */
void node_each_session(node *n, void (*fn)(node_session *c, void *ud), void *ud);

/* The session's Engine.IO state machine (read-only use). Borrowed. */
const eio_session *node_session_eio(const node_session *c);

#endif
