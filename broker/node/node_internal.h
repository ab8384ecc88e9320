/* node_internal: the structures shared by the node's files (not a public header). */
#ifndef NODE_INTERNAL_H
#define NODE_INTERNAL_H

#include "eio_request.h"
#include "http_parse.h"
#include "node.h"
#include "node_http.h"
#include "util_buf.h"
#include "ws_frame.h"

#include <uthash.h>
#include <uv.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/** Bytes of the read buffer every connection shares (a read never outlives its callback). */
#define NODE_READ_BUF (64u * 1024)
/** Upper bound of the bytes one WebSocket flush hands to the kernel (at least one message goes);
 * the rest waits in the session's queue, where it is bounded, until the kernel has taken the last
 * write. What the kernel refuses of a write is held by the link: at most this much per slow
 * reader, and counted in its session's memory (EIO_HOLD_TX). */
#define WS_FLUSH_BUDGET (64u * 1024)
/** After a last answer, the connection is drained this long at most before it is closed. */
#define LINGER_MS 2000u
/** Input buffered behind a request in progress (pipelining) before reading stops. */
#define PIPELINE_MAX (64u * 1024)

/* Burst coalescing (session.c): a WebSocket whose one message fanned out to at least
 * BURST_MIN_FANOUT sessions (node_session_note_fanout) is a burst source for the rest of the loop
 * turn. If a source still has unread bytes when the turn ends, the flush waits for the next turn,
 * so that the source's following messages join the same write to each receiver; at most
 * BURST_MAX_TURNS turns in a row and BURST_MAX_WAIT_NS after the first. */
#define BURST_MIN_FANOUT 64u
#define BURST_MAX_SOURCES 8u
#define BURST_MAX_TURNS 16u
#define BURST_MAX_WAIT_NS (10u * 1000 * 1000)

/** An Engine.IO endpoint mounted at a path. */
typedef struct endpoint {
    char *path; /**< owned, ends with '/' */
    size_t path_len;
    node_endpoint_ops ops;
    void *ud;
    struct endpoint *next;
} endpoint;

/** An extra route (node_add_route). */
typedef struct route {
    char *path; /**< owned */
    size_t path_len;
    bool prefix; /**< matches every path that starts with path (node_add_route_prefix) */
    bool any_method;
    node_route_fn fn;
    void *ud;
    struct route *next;
} route;

typedef struct node_link node_link;

/** A write the kernel did not take at once: its bytes live here until libuv has written them. */
typedef struct link_write_req {
    uv_write_t req;
    util_buf data;
} link_write_req;

/** What a link carries. */
typedef enum link_kind {
    LINK_HTTP = 0, /**< HTTP/1.1 requests, one at a time (pipelined ones wait their turn) */
    LINK_WS = 1,   /**< a WebSocket (after a 101) */
} link_kind;

/** What an HTTP request is being used for. */
typedef enum req_kind {
    REQ_NEW = 0,   /**< headers being read */
    REQ_ANSWERED,  /**< an answer is decided; the body (if any) is read and dropped */
    REQ_ROUTE,     /**< an extra route that has not answered yet */
    REQ_POLL_GET,  /**< a held polling GET (session.get) */
    REQ_POLL_WAIT, /**< a GET waiting for a GET held through another node to end */
    REQ_POLL_POST, /**< a polling POST whose body is being read */
    REQ_TAKEN,     /**< handed to the router (node_req_take): body and abort reported to it */
    REQ_RELAY,     /**< a WebSocket upgrade handed to the router, not answered yet */
} req_kind;

typedef struct get_wait get_wait;

/** One HTTP request (node_req): from the request line to the end of its answer. */
struct node_req {
    http_head head; /**< method, target, headers (http_parse.h) */
    node_link *l;   /**< the connection; NULL once the client went away */
    node *n;        /**< borrowed */
    req_kind kind;
    bool complete;      /**< the whole message (body included) has been read */
    bool from_peer;     /**< a verified request forwarded by another node */
    bool close_after;   /**< close the connection after the answer */
    bool continue_sent; /**< "100 Continue" went out */
    endpoint *ep;       /**< the endpoint the path names, or NULL */
    char *origin;       /**< Origin to echo in CORS headers (owned), or NULL */
    util_buf body;      /**< the body of a polling POST */
    size_t charged;     /**< bytes of body charged to the node's memory budget */
    uint64_t dropped;   /**< body bytes read and dropped */
    node_session *sess; /**< session of a held GET */
    char *sid;          /**< sid of a polling POST (owned) */
    util_buf answer;    /**< an answer waiting for the body to be read (REQ_ANSWERED) */
    get_wait *wait;     /**< REQ_POLL_WAIT: the grace timer (owned) */
    node_req_ops ops;   /**< REQ_TAKEN / REQ_RELAY */
    void *ops_ud;
    node_req *pool_next; /**< node.req_pool */
};

/** A GET that arrived while its session's GET is held through another node whose connection still
 * looks alive: it waits a short grace before the one-GET rule is applied (polling.c). */
struct get_wait {
    uv_timer_t timer;
    node_req *req;     /**< the waiting GET; NULL once detached */
    char *sid;         /**< owned */
    uint64_t deadline; /**< loop time at which the rule is applied */
};

/** One client (or peer) TCP connection. Freed in its close callback. */
struct node_link {
    uv_tcp_t tcp;
    node *n;
    link_kind kind;
    bool closing;           /**< uv_close called */
    bool reading;           /**< uv_read_start active */
    bool paused;            /**< a request is in progress: later input waits in `in` */
    bool lingering;         /**< last answer sent: draining input until EOF or the deadline */
    bool after_write_close; /**< shut down once the output is written */
    bool resume_queued;     /**< listed in node.resume */
    link_write_req *wr;     /**< the write in flight, or NULL */
    util_buf wnext;         /**< bytes queued while a write is in flight */
    util_buf in;            /**< input not parsed yet */
    union {
        http_in hin;   /**< LINK_HTTP */
        ws_decoder ws; /**< LINK_WS */
    } u;
    char *peer;    /**< the peer's address as text, made on first use (owned) */
    node_req *req; /**< LINK_HTTP: the request being served */
    /* LINK_WS */
    node_session *sess; /**< the Engine.IO session it carries (or probes), or NULL */
    bool probe;         /**< the WebSocket probes an upgrade of sess */
    bool close_sent;    /**< our close frame is out: nothing more is sent */
    node_ws_ops ws_ops; /**< a router's WebSocket (node_req_upgrade) when on_message is set */
    void *ws_ud;
    /* timeouts: links waiting for input are listed by deadline in node.timed */
    node_link *tprev, *tnext;
    uint64_t deadline;
    bool timed;
    uint8_t tq;             /**< the list it is in (0 idle, 1 lingering) */
    node_link *prev, *next; /**< node.links */
    node_link *resume_next; /**< node.resume */
};

/** Broker-side state of one Engine.IO session: its transports and timer. */
struct node_session {
    eio_session *eio;  /**< owned */
    node *n;           /**< borrowed */
    endpoint *ep;      /**< borrowed */
    UT_hash_handle hh; /**< in node->sessions by sid while open */
    uv_timer_t timer;  /**< heartbeat timer */
    uint64_t armed_at; /**< when the timer fires, UINT64_MAX if stopped */
    node_req *get;     /**< held polling GET */
    node_link *ws;     /**< the WebSocket transport */
    node_link *probe;  /**< the WebSocket being probed for an upgrade */
    int refs;          /**< attached transports (get, ws, probe) */
    bool in_table;     /**< listed in node->sessions */
    bool timer_closed; /**< uv_close of the timer completed */
    bool dirty;        /**< listed in node->dirty */
    node_session *dirty_next;
    node_req *hs; /**< the handshake request, only while on_open runs */
    char *remote; /**< owned */
    char *query;  /**< owned */
    void *data;   /**< endpoint's slot */
};

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
    endpoint *endpoints;
    route *routes;
    /* listener (listener.c) */
    int listen_fd;
    uv_poll_t listen_poll;
    uv_timer_t accept_timer; /**< back-off after EMFILE/ENFILE */
    bool accept_paused;
    uint64_t accept_backoff_ms;
    uint64_t emfile_count; /**< accept failures for lack of descriptors since the last log */
    uint64_t emfile_logged_at;
    uint64_t refused_count; /**< connections refused over max_connections since the last log */
    uint64_t refused_logged_at;
    size_t max_links;
    /* connections */
    node_link *links; /**< every live node_link */
    size_t n_links;
    node_link *tq_head[2]; /**< links with a deadline: [0] idle or reading, [1] lingering; each list
                           is in deadline order (one delay per list, appended at the tail) */
    node_link *tq_tail[2];
    uv_timer_t sweep_timer;
    node_link *resume;  /**< links whose parsing resumes at the end of the turn */
    uint8_t *rbuf;      /**< the shared read buffer (NODE_READ_BUF) */
    node_req *req_pool; /**< finished requests kept for reuse, with their buffers */
    size_t n_req_pool;
    util_buf pbuf; /**< scratch for a polling answer's body */
    /* sessions */
    node_session *sessions;  /**< uthash by sid */
    size_t n_sessions_alive; /**< allocated sessions (open or draining) */
    node_session *dirty;     /**< sessions with output to write, in the order they got it */
    node_session *dirty_tail;
    deferred *defer_head; /**< calls to run at the end of the iteration (node_defer) */
    deferred *defer_tail;
    deferred *on_shutdown;                       /**< node_on_shutdown hooks */
    void (*obs_open)(void *ud, const char *sid); /**< session observer */
    void (*obs_close)(void *ud, const char *sid);
    void *obs_ud;
    bool (*ready_fn)(void *ud); /**< extra readiness condition for /readyz */
    void *ready_ud;
    node_router_ops router; /**< the cluster, when router.forward is set */
    void *router_ud;
    uv_check_t flush_check;
    uv_idle_t flush_idle;   /**< active while output waits, so the loop does not block in poll */
    uv_timer_t ready_timer; /**< logs "listening on" once the loop runs (after signal set-up) */
    uv_signal_t sigint, sigterm;
    uv_timer_t shutdown_timer;
    uint64_t shutdown_started;
    bool signals;
    bool shutting_down;
    bool finished; /**< listener and handles closed */
    int port;
    char listen_addr[80];
    char date[40]; /**< Date header value, refreshed once per second */
    uint64_t date_at;
    util_buf wbuf;                   /**< scratch for coalesced writes */
    int burst_fd[BURST_MAX_SOURCES]; /**< sockets of this turn's burst sources */
    unsigned n_burst;
    unsigned burst_turns;
    uint64_t burst_since;
    node_stats stats;                               /**< counters (node_get_stats) */
    void (*obs_upgrade)(void *ud, node_session *c); /**< node_observe_upgrades */
    void *obs_upgrade_ud;
};

/* ---- listener.c ---- */
/* Binds and listens on cfg host:port. Returns 0, or -1 with a reason in err. */
int listener_open(node *n, const char *host, int port, char *err, size_t errlen);
/* Stops accepting and closes the listening socket. */
void listener_close(node *n);

/* ---- link.c: connections ---- */
/* Takes an accepted socket fd: a new link starts reading requests. Returns 0 or -1 (fd closed). */
int link_accept(node *n, int fd);
/* Writes bytes on l: at once when nothing is pending, else after what is. Returns 0, or -1 when
 * the link is closing or the write failed (the link is then closed). */
int link_write(node_link *l, const void *data, size_t len);
/* Bytes written on l that the kernel has not taken yet. */
size_t link_pending(const node_link *l);
/* Memory l holds for those bytes (allocated sizes), for the session's accounting. */
size_t link_held(const node_link *l);
/* Closes l at once (the peer sees a close, or a reset if input is unread). Idempotent. */
void link_close(node_link *l);
/* Closes l gracefully: once its output is written, shuts it down for writing, drains input until
 * the peer closes or LINGER_MS pass, then closes it (so that an answer is not lost to a reset). */
void link_close_after_write(node_link *l);
/* Sets (or clears with 0) the deadline after which l is closed for inactivity. */
void link_set_deadline(node_link *l, uint64_t deadline);
/* Starts or stops reading l. */
void link_read(node_link *l, bool on);
/* Parses the input l buffered while it was paused (called once its request has been answered). */
void link_resume(node_link *l);
/* Runs the parsing queued by link_resume (end of turn). */
void link_run_resumed(node *n);
/* Closes every link (shutdown). */
void link_close_all(node *n);
/* Closes links whose deadline passed (the sweep timer). */
void link_sweep(node *n);
/* The peer address of l as text ("" if unknown). Borrowed from l. */
const char *link_peer(node_link *l);

/* ---- http.c: HTTP/1.1 on a link ---- */
/* Sets l up for HTTP requests (parser, settings). */
void http_link_init(node_link *l);
/* Feeds input to the parser. Returns the bytes consumed; stops at the end of a request (the link
 * pauses until the request is answered), at an upgrade, or on an error (answered, link closing). */
size_t http_feed(node_link *l, uint8_t *data, size_t len);
/* The client connection of r went away (r->l is being closed). r is freed or handed on. */
void http_req_gone(node_req *r);
/* Releases a request that is over (answered or gone): kept for reuse, or freed. */
void http_req_free(node_req *r);
/* Frees the requests kept for reuse (node_free). */
void http_req_pool_free(node *n);
/* Answers r with a status and body, plus extra header lines (each "name: value\r\n", may be
 * NULL). As node_req_respond. */
void http_respond_hdrs(node_req *r, int status, const char *ctype, const char *extra,
                       const void *body, size_t len, bool close_after);
/* Sends "100 Continue" when r asked for it (Expect: 100-continue) and its body is wanted. */
void http_continue(node_req *r);
/* The endpoint mounted at path (with or without its trailing slash), or NULL. Borrowed. */
endpoint *http_find_endpoint(node *n, const char *path);
/* True when origin may use the node under its CORS policy. */
bool http_origin_allowed(node *n, const node_req *r, const char *origin);
/* A Date header value (RFC 9110 IMF-fixdate) refreshed once per second. Borrowed. */
const char *http_date(node *n);

/* ---- websocket.c: WebSocket handshakes and frames on a link ---- */
/* The upgrade request r is complete: answers it (101, or a refusal and a close). */
void ws_upgrade_request(node_req *r);
/* Switches l to WebSocket after writing the 101 answer to r (freed). Returns 0, or -1. */
int ws_accept(node_req *r);
/* Feeds input to the frame decoder. Returns the bytes consumed. */
size_t ws_feed(node_link *l, uint8_t *data, size_t len);
/* Writes everything queued for session c on its WebSocket (or waits for the drain). */
void ws_flush(node_session *c);
/* Sends a close frame with code on l (once) and closes l after it is written. */
void ws_close(node_link *l, uint16_t code);
/* The output of l has drained (WebSocket links). */
void ws_drained(node_link *l);
/* l is closing: detaches its session or router. */
void ws_link_gone(node_link *l);

/* ---- eio_ws.c: the Engine.IO WebSocket transport ---- */
/* A WebSocket upgrade for an endpoint passed the HTTP checks: opens a session or probes one. */
void eio_ws_upgrade(node_req *r, const char *sid);
/* A whole message arrived on a session's WebSocket. Returns -1 when the link must close. */
int eio_ws_message(node_link *l, const uint8_t *data, size_t len, bool binary);
/* The WebSocket of a session (or its probe) went away. */
void eio_ws_gone(node_link *l);

/* ---- polling.c ---- */
/* A polling GET for session c: holds it, or answers 400. */
void polling_get(node_req *r, node_session *c);
/* Headers of a polling POST for sid arrived: checks its size, reads its body. */
void polling_post_start(node_req *r, const char *sid);
/* The polling POST body of r is complete: feeds it to its session and answers. */
void polling_post_done(node_req *r);
/* Answers the held GET of c when the session has something for it. */
void polling_answer(node_session *c);
/* The held (or waiting) GET r lost its connection. */
void polling_gone(node_req *r);

/* ---- session.c ---- */
/* Creates the session of handshake r (remote address and query copied), lists it by sid and runs
 * the endpoint's on_open. The node owns the result; it is freed once closed, detached from every
 * transport and its timer closed (session_maybe_free). */
node_session *session_new(node *n, endpoint *ep, eio_transport_kind t, node_req *r);
/* Re-arms the heartbeat timer for the session's next wakeup (no-op if unchanged). */
void session_rearm(node_session *c);
/* Frees the session if it is closed, detached, not dirty and its timer is closed. */
void session_maybe_free(node_session *c);
/* Lists the session for the end-of-turn flush. */
void session_mark_dirty(node_session *c);
/* Writes what every dirty session has (WebSocket frames, polling answers). */
void session_flush_dirty(node *n);
/* Whether to leave this turn's output for the next turn (a burst source has more input). */
bool session_burst_wait(node *n);
/* Closes every session: gracefully (queues drain first), or at once with now. */
void session_close_all(node *n, const char *reason, bool now);

/* ---- node.c ---- */
/* Runs the calls queued by node_defer, in order (including those they queue). */
void node_run_deferred(node *n);
/* Keeps the loop from blocking until the end-of-turn check has run. */
void node_wake(node *n);

/* ---- stats.c ---- */
/* The counter index of a session close reason. */
node_close_reason node_close_reason_of(const char *reason);

/* ---- static.c ---- */
/* Serves GET/HEAD of static files and the browser client. Returns 1 when it answered r, 0 when the
 * path is not one of its files. */
int static_serve(node *n, node_req *r);
/** The browser client's file name, served at <endpoint path>CLIENT_JS and installed in
 * <exe dir>/../share/siobroker/. */
#define CLIENT_JS "socket.io.min.js"

/* The canonical path of <exe dir>/../share/siobroker/REL when it is a readable file (caller frees
 * with util_free), or NULL. */
char *static_installed_file(const char *rel);

#endif
