/* node_internal: structures shared by the broker's transport files (not a public header). */
#ifndef NODE_INTERNAL_H
#define NODE_INTERNAL_H

#include <uv.h>
/* uv.h must come before libwebsockets.h */
#include <libwebsockets.h>

#include "eio_request.h"
#include "util_buf.h"
#include "node.h"

#include <uthash.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/** An Engine.IO endpoint mounted at a path. */
typedef struct endpoint {
    char *path; /**< owned, ends with '/' */
    size_t path_len;
    node_endpoint_ops ops;
    void *ud;
    struct endpoint *next;
} endpoint;

/** Broker-side state of one Engine.IO session: its transports and timer. */
struct node_session {
    eio_session *eio;      /**< owned */
    node *node;            /**< borrowed */
    endpoint *ep;          /**< borrowed */
    UT_hash_handle hh;     /**< in node->conns by sid while open */
    uv_timer_t timer;      /**< heartbeat timer */
    uint64_t armed_at;     /**< when the timer fires, UINT64_MAX if stopped */
    struct lws *get_wsi;   /**< held polling GET */
    struct lws *ws_wsi;    /**< the WebSocket transport */
    struct lws *probe_wsi; /**< the WebSocket being probed for an upgrade */
    int wsi_refs;          /**< attached wsi count */
    bool in_table;         /**< listed in node->conns */
    bool timer_closed;     /**< uv_close of the timer completed */
    bool dirty;            /**< listed in node->dirty */
    node_session *dirty_next;
    struct lws *hs_wsi; /**< the handshake request, only while on_open runs */
    char *remote;       /**< owned */
    char *query;        /**< owned */
    void *data;         /**< endpoint's slot */
};

/** Upper bound of bytes handed to one WebSocket write; the rest waits for WRITEABLE. */
#define WS_FLUSH_BUDGET (256u * 1024)

/* Burst coalescing (conn_flush_or_defer): a WebSocket whose one message fanned out to at least
 * BURST_MIN_FANOUT sessions (node_session_note_fanout) is a burst source for the rest of the loop
 * turn. If a
 * source still has unread bytes when the turn ends, the flush waits for the next turn, so that
 * the source's following messages join the same write to each receiver; at most BURST_MAX_TURNS
 * turns in a row and BURST_MAX_WAIT_NS after the first. */
#define BURST_MIN_FANOUT 64u
#define BURST_MAX_SOURCES 8u
#define BURST_MAX_TURNS 16u
#define BURST_MAX_WAIT_NS (10u * 1000 * 1000)

/** What an lws connection is doing. */
typedef enum pss_kind {
    PSS_IDLE = 0,  /**< between HTTP transactions */
    PSS_RESPOND,   /**< a complete response is prepared and waits for WRITEABLE */
    PSS_POLL_GET,  /**< a held polling GET */
    PSS_POLL_WAIT, /**< a GET waiting for a GET held through another node to end (get_wait) */
    PSS_POLL_POST, /**< reading a polling POST body */
    PSS_DISCARD,   /**< reading a body we will not use (error already decided) */
    PSS_WS,        /**< the WebSocket transport of a session */
    PSS_PROBE,     /**< a WebSocket probing an upgrade */
    PSS_FWD_BODY,  /**< reading the body of a POST to forward to the session's owner */
    PSS_FORWARD,   /**< a polling request forwarded to the session's owner, awaiting its answer */
    PSS_RELAY,     /**< a WebSocket relayed to the session's owner */
} pss_kind;

typedef struct fwd fwd;
typedef struct relay relay;
typedef struct cluster_pool cluster_pool;

/** Watches the socket of a held GET for the client going away. lws 4.1 does not read a connection
 * while its transaction is in progress, so it would neither notice the close nor stop polling the
 * readable end (a busy loop); we switch its read interest off and watch a dup() of the socket for
 * EPOLLRDHUP with libuv instead. Freed in the poll handle's close callback. */
typedef struct get_watch {
    uv_poll_t poll;
    int fd;          /**< dup() of the connection's socket; closed with the handle */
    struct lws *wsi; /**< the held GET's connection; NULL once detached */
} get_watch;

/** A GET that arrived while the session's GET is held through another node, whose connection still
 * looks alive: it waits a short grace (polling.c) before the one-GET rule is applied. Freed in the
 * timer's close callback. */
typedef struct get_wait {
    uv_timer_t timer;
    node *n;
    struct lws *wsi;   /**< the waiting GET; NULL once detached */
    char *sid;         /**< owned */
    uint64_t deadline; /**< loop time at which the rule is applied */
} get_wait;

/** Per-connection storage (lws allocates and zeroes it). */
typedef struct pss {
    pss_kind kind;
    node_session *conn; /**< linked session, or NULL */
    endpoint *ep;       /**< endpoint of the request */
    int status;         /**< response status */
    const char *ctype;  /**< response content type (static) */
    util_buf body;      /**< POST body in, response body out */
    util_buf rx;        /**< WebSocket message being assembled */
    get_watch *watch;   /**< disconnect watch while a GET is held (or forwarded) */
    get_wait *wait;     /**< grace timer of a PSS_POLL_WAIT GET, owned */
    fwd *fwd;           /**< forwarding state (PSS_FWD_BODY, PSS_FORWARD), owned */
    relay *relay;       /**< relay state (PSS_RELAY); shared with the upstream connection */
    char *origin;       /**< owned: Origin to echo in CORS headers, or NULL */
    char *sid;          /**< owned: sid of a POST being read, or of a WebSocket between filter
                            and established; NULL otherwise */
    bool new_ws;        /**< a WebSocket handshake without sid */
    bool from_peer;     /**< the request was forwarded by another node (signed) */
    bool close_after;   /**< close the connection after the response */
    bool ws_closing;    /**< close the WebSocket at the next WRITEABLE */
    bool rx_too_big;    /**< the message being received exceeded max_payload */
} pss;

/** A deferred call (node_defer). */
typedef struct deferred {
    void (*fn)(void *arg);
    void *arg;
    struct deferred *next;
} deferred;

struct node {
    uv_loop_t *loop;
    node_config cfg;
    char **cors_origins; /**< owned copies */
    char *static_dir;    /**< owned copy of cfg.static_dir, or NULL */
    char *client_js;     /**< owned copy of cfg.client_js, or NULL */
    struct lws_context *lws;
    struct lws_vhost *vhost;
    struct lws_protocols protocols[3]; /**< Engine.IO server, relay client, terminator */
    endpoint *endpoints;
    node_session *conns;      /**< uthash by sid */
    size_t n_conns_alive;     /**< allocated conns (open or draining) */
    node_session *dirty;      /**< conns with WebSocket output to flush, in the order they got it */
    node_session *dirty_tail; /**< last of them */
    deferred *defer_head;     /**< calls to run at the end of the iteration (node_defer) */
    deferred *defer_tail;
    deferred *on_shutdown;                       /**< node_on_shutdown hooks */
    void (*obs_open)(void *ud, const char *sid); /**< session observer */
    void (*obs_close)(void *ud, const char *sid);
    void *obs_ud;
    bool (*ready_fn)(void *ud); /**< extra readiness condition for /readyz */
    void *ready_ud;
    uv_check_t flush_check;
    uv_idle_t flush_idle;   /**< active while conns are dirty, so the loop does not block in poll */
    uv_timer_t ready_timer; /**< logs "listening on" once the loop runs (after signal set-up) */
    uv_signal_t sigint, sigterm;
    uv_timer_t shutdown_timer;
    uint64_t shutdown_started;
    bool signals;
    bool shutting_down;
    bool destroyed; /**< lws_context_destroy called */
    int port;
    char listen_addr[80];
    util_buf wbuf;                   /**< scratch for coalesced writes (LWS_PRE headroom) */
    int burst_fd[BURST_MAX_SOURCES]; /**< sockets of this turn's burst sources */
    unsigned n_burst;                /**< entries in burst_fd */
    unsigned burst_turns;            /**< turns the flush has waited in a row */
    uint64_t burst_since;            /**< uv_hrtime of the first of them */
    /* cluster (node_set_cluster); route is NULL when the node is alone */
    node_route_fn route;
    void (*route_forget)(void *ud, const char *sid);
    void *route_ud;
    char *node_id;               /**< owned */
    char *secret;                /**< owned; NULL = unsigned (insecure) cluster */
    uint32_t forward_timeout_ms; /**< bound of a forwarded POST */
    cluster_pool *upstream;      /**< keep-alive connections to peers, created on first use */
    relay *relays;               /**< live relays (closed at shutdown) */
};

/* conn.c */
/* Creates the session of a handshake arriving on wsi (the request: remote address and query are
 * copied), lists it by sid and runs the endpoint's on_open. The node owns the result; it is freed
 * once closed, detached from every wsi and its timer closed (conn_maybe_free). */
node_session *conn_new(node *n, endpoint *ep, eio_transport_kind t, struct lws *wsi);
/* The open session with that sid, or NULL. Borrowed. */
node_session *conn_find(node *n, const char *sid);
/* Re-arms the heartbeat timer for the session's next wakeup (no-op if unchanged). */
void conn_rearm(node_session *c);
/* Attaches wsi to the session in slot (get_wsi, ws_wsi or probe_wsi): the session stays
 * allocated while any wsi is attached. */
void conn_attach(node_session *c, struct lws **slot, struct lws *wsi);
/* Detaches the wsi in slot (no-op if empty); may free the session. */
void conn_detach(node_session *c, struct lws **slot);
/* Frees the session if it is closed, detached, not dirty and its timer is closed. */
void conn_maybe_free(node_session *c);
/* Lists the session for the end-of-iteration WebSocket flush. */
void conn_mark_dirty(node_session *c);
/* Flushes every dirty session with one write each. */
void conn_flush_dirty(node *n);
/* End of a loop turn: whether to leave this turn's output (the endpoints' batches and the dirty
 * sessions) for the next turn, because a burst source still has input to read and the wait is
 * within its bounds (see BURST_MIN_FANOUT). */
bool conn_burst_wait(node *n);
/* Runs the calls queued by node_defer, in order (including those they queue). */
void node_run_deferred(node *n);
/* Closes every session: gracefully (queues drain first), or at once with now. */
void conn_close_all(node *n, const char *reason, bool now);

/* http.c */
/* Frees the origin and sid strings of p (and clears them). */
void pss_strings_free(pss *p);
/* The lws protocol callback of the node (HTTP and WebSocket events). */
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);
/* Prepares a complete response on p (body copied) and asks for WRITEABLE to send it. */
void http_respond(struct lws *wsi, pss *p, int status, const char *ctype, const void *body,
                  size_t len);
/* As http_respond, but writes at once when the socket can take it (saving a loop iteration). Only
 * from outside lws callbacks (our own libuv callbacks). */
void http_respond_now(struct lws *wsi, pss *p, int status, const char *ctype, const void *body,
                      size_t len);
/* Prepares engine.io's JSON error response for err (status 400, or 403 for Forbidden). */
void http_respond_error(struct lws *wsi, pss *p, eio_error err);
/* The endpoint mounted at path (with or without its trailing slash), or NULL. Borrowed. */
endpoint *http_find_endpoint(node *n, const char *path);
/* The request method ("GET", "POST", ...; "?" if unknown). Static string. */
const char *http_method(struct lws *wsi);
/* Calls fn for each url-decoded query argument ("k=v") of the request, whatever its length, until
 * fn returns non-zero (which is returned). */
int http_query_foreach(struct lws *wsi, int (*fn)(const char *arg, size_t len, void *ud), void *ud);
/* The value of query argument name ("EIO=") copied into out, or NULL when absent. */
const char *http_urlarg(struct lws *wsi, const char *name, char *out, size_t out_len);
/* True when origin may use the node under its CORS policy (no policy, "*", listed, or the node's
 * own origin from the Host header). */
bool http_origin_allowed(node *n, struct lws *wsi, const char *origin);

/* static.c: serves GET/HEAD for static files and the browser client. Returns 1 when it took the
 * request (a response is on its way), 0 when the path is not one of its files. */
int static_serve(node *n, struct lws *wsi, pss *p, const char *path, const char *method);
/* The installed socket.io.min.js (<exe dir>/../share/siobroker/), malloc'd, or NULL. */
char *static_default_client_js(void);

/* forward.c: polling requests for sessions held by another node */
/* True when the request carries the headers of a node-to-node (forwarded) request. */
bool forward_is_forwarded(struct lws *wsi);
/* Checks the signature of a forwarded request (always OK in an insecure cluster); logs a refusal.
 * Returns true when it may be served. */
bool forward_auth_ok(node *n, struct lws *wsi, const char *method, const char *path);
/* Starts forwarding the request on wsi for sid to the owner: a GET at once, a POST once its body
 * is read (forward_body / forward_body_done). */
void forward_start(node *n, struct lws *wsi, pss *p, const char *method, const char *path,
                   const char *sid);
/* A fragment of the body of a POST being forwarded. */
void forward_body(node *n, struct lws *wsi, pss *p, const void *in, size_t len);
/* The body of a POST being forwarded is complete: sends it. */
void forward_body_done(node *n, struct lws *wsi, pss *p);
/* The client connection of p went away: cancels the forwarding upstream. */
void forward_closed(pss *p);
/* The query of the request as both ends of a forward see it: decoded arguments joined by '&'.
 * Returned in out (reset first); with enc non-NULL, also the url-encoded form for a request
 * line. */
void forward_query(struct lws *wsi, util_buf *out, util_buf *enc);
/* Adds x-siobroker-from/-ts/-sig for (method, path, canonical query) to a header block being
 * built. Returns 0, or -1 when it did not fit. */
int forward_sign_headers(node *n, const char *method, const char *path, const char *canon,
                         util_buf *out);

/* relay.c: WebSockets for sessions held by another node */
/* The lws protocol callback of relay (client) connections to owners. */
int relay_client_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len);
/* Accepts a WebSocket handshake for sid held elsewhere: it will be relayed once open. */
void relay_accept(node *n, struct lws *wsi, pss *p, const char *sid);
/* The relayed WebSocket is open: looks up the owner and connects to it. Returns -1 to close. */
int relay_established(node *n, struct lws *wsi, pss *p);
/* A fragment of a client message on a relayed WebSocket. Returns -1 to close. */
int relay_receive(node *n, struct lws *wsi, pss *p, const void *in, size_t len);
/* WRITEABLE on a relayed WebSocket: writes the owner's queued messages. Returns -1 to close. */
int relay_writeable(node *n, struct lws *wsi, pss *p);
/* The client side of a relay closed: closes the owner side. */
void relay_closed(node *n, pss *p);
/* Closes every relay (shutdown). */
void relay_close_all(node *n);

/* polling.c */
/* Watches the socket of a request that waits for an answer (held or forwarded GET) for the
 * client going away; polling_closed then runs and the connection is closed. */
void polling_watch(node *n, struct lws *wsi, pss *p);
/* Ends the watch of p (no-op without one). */
void polling_unwatch(pss *p);
/* A polling GET for session c: holds it (watching for the client going away) or answers 400. */
void polling_get(node *n, struct lws *wsi, pss *p, node_session *c);
/* A polling POST body is complete: feeds it to its session and prepares the answer. */
void polling_post_done(node *n, struct lws *wsi, pss *p);
/* WRITEABLE on a held GET: prepares its answer when the session has one. Returns 1 if prepared. */
int polling_writeable(struct lws *wsi, pss *p);
/* The connection of p closed: a held GET aborted by the client closes its session. */
void polling_closed(pss *p);

/* websocket.c */
/* Checks a WebSocket handshake (path, EIO, transport, sid). Returns 0 to accept, -1 to refuse. */
int ws_filter(node *n, struct lws *wsi, pss *p);
/* The WebSocket is open: a new session, or the probe of an upgrade. Returns -1 to close it. */
int ws_established(node *n, struct lws *wsi, pss *p);
/* A fragment of a WebSocket message arrived. Returns -1 to close the connection. */
int ws_receive(node *n, struct lws *wsi, pss *p, const void *in, size_t len);
/* WRITEABLE on a WebSocket: continues a flush, or closes it if requested. */
int ws_writeable(node *n, struct lws *wsi, pss *p);
/* The WebSocket closed: aborts the upgrade it probed, or closes its session. */
void ws_closed(node *n, struct lws *wsi, pss *p);
/* Writes everything queued for c in one write (or waits for WRITEABLE when choked). */
void ws_flush(node_session *c);
/* Closes wsi (with a close frame) from outside its callbacks, at its next WRITEABLE. */
void ws_request_close(struct lws *wsi);

#endif
