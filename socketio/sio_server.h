/* sio_server: the Socket.IO v5 server model and its C handler API: namespaces with connect /
 * disconnect / per-event handlers, sockets, rooms, acks both ways, broadcasts. Sans-I/O: the host
 * (the broker, or a unit test) supplies sending, closing, the clock and timers through
 * sio_host_ops. */
#ifndef SIO_SERVER_H
#define SIO_SERVER_H

#include "eio_msg.h"
#include "sio_binary.h"
#include "sio_packet.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sio_server sio_server;
typedef struct sio_client sio_client; /**< the Socket.IO side of one Engine.IO session */
typedef struct sio_nsp sio_nsp;
typedef struct sio_socket sio_socket;
typedef struct sio_ack sio_ack; /**< the reply handle of a client event that carried an id */
typedef struct sio_adapter sio_adapter;

/** Standard disconnect reasons (strings; also the Engine.IO close reasons). */
extern const char SIO_REASON_CLIENT_NSP_DISCONNECT[]; /* "client namespace disconnect" */
extern const char SIO_REASON_SERVER_NSP_DISCONNECT[]; /* "server namespace disconnect" */

/** What the host does for the Socket.IO layer. conn is the host's session handle. */
typedef struct sio_host_ops {
    /** Queues m on the session (takes its own reference). volatile_: drop it when the transport is
     * not ready to write now. Returns 0, or -1 when it was not queued. */
    int (*send)(void *conn, eio_msg *m, bool volatile_, void *host);
    /** Closes the session (reason is an Engine.IO close reason). The host later calls
     * sio_client_closed. */
    void (*close)(void *conn, const char *reason, void *host);
    /** Milliseconds of a monotonic clock. */
    uint64_t (*now)(void *host);
    /** Starts a one-shot timer; returns its handle. */
    void *(*timer_start)(void *host, uint64_t delay_ms, void (*cb)(void *arg), void *arg);
    /** Cancels a timer that has not fired; its callback will not run. */
    void (*timer_cancel)(void *host, void *timer);
    /** Optional: queues the n messages of m in order, as n non-volatile sends would (a batch of
     * broadcasts uses it, one call per session). NULL: send is called for each. */
    void (*send_many)(void *conn, eio_msg *const *m, size_t n, void *host);
    /** Optional: queues the n messages of m (one packet, then its attachments) as one volatile
     * packet, all or none: dropped when the session is not ready to write or is congested, and
     * the first thing dropped from its queue when it fills (eio_session_send_volatile). Returns 0,
     * or -1 when dropped. NULL: send with volatile_ is called for each. */
    int (*send_volatile)(void *conn, eio_msg *const *m, size_t n, void *host);
    /** Optional: the Socket.IO side now holds n bytes for the session (absolute: a packet waiting
     * for its attachments; 0 once complete or dropped), for the host to count in the session's
     * memory (eio_session_hold with EIO_HOLD_APP). */
    void (*hold)(void *conn, size_t n, void *host);
} sio_host_ops;

/** Server settings. */
typedef struct sio_server_config {
    uint32_t connect_timeout_ms; /**< close sessions with no namespace after this (45000) */
    sio_limits limits;           /**< decoder limits */
    /** A binary packet must have all its attachments within this time of its header (30000), or
     * the session is closed ("parse error"); with limits.max_attachment_bytes, what a client that
     * announces attachments and never sends them can hold. 0: no limit. */
    uint32_t attachment_timeout_ms;
    /** Packets a client may send within SIO_FLOOD_WINDOW_MS that are refused or pointless (a
     * CONNECT to a namespace it is connected to or that does not exist, an event or DISCONNECT
     * for a namespace it is not connected to) before its session is closed ("packet flood") with
     * one log line (100; 0: no limit). */
    uint32_t max_ignored_packets;
    /** Batch local broadcasts within a host turn (false): a host that sets it calls
     * sio_server_end_turn at the end of every turn, before it writes queued output. */
    bool batch_broadcasts;
    /** Connection state recovery (Socket.IO 4.6's connectionStateRecovery; docs/recovery.md): a
     * socket whose connection breaks keeps its id, rooms and data for this long, and gets every
     * packet it missed when it comes back (its maxDisconnectionDuration). 0: off (the default).
     * Takes effect on namespaces whose adapter logs packets (the in-memory and Redis ones do). */
    uint32_t recovery_window_ms;
    /** Most packets each namespace's recovery log keeps (10000). */
    size_t recovery_max_packets;
} sio_server_config;

/** The window max_ignored_packets counts in. */
#define SIO_FLOOD_WINDOW_MS 10000u

/* Fills cfg with the defaults. */
void sio_server_config_defaults(sio_server_config *cfg);

/* Creates a server. cfg and ops are copied; host is passed back to every op. Caller owns; free with
 * sio_server_free after every client has closed. */
sio_server *sio_server_new(const sio_server_config *cfg, const sio_host_ops *ops, void *host);

/* Frees the server, its namespaces and adapters. The host must first close every client and fire
 * (or cancel) the timers it still holds for the server (ack timeouts). Accepts NULL. */
void sio_server_free(sio_server *srv);

/* End of a host turn (an event loop iteration), before the host writes what sessions have
 * queued: with batch_broadcasts, queues the broadcasts batched during the turn. Consecutive local
 * broadcasts to the same selection are batched and then queued socket by socket, so that a burst
 * visits each target session once; the order each client receives is the order of the calls. */
void sio_server_end_turn(sio_server *srv);

/* Sockets reached (or to be reached, when batched) by this server's local broadcasts so far; the
 * difference across a call tells the host how far that call fanned out. */
uint64_t sio_server_deliveries(const sio_server *srv);

/** What a server counts since it was created (plain counters, the host's thread). */
typedef struct sio_server_stats {
    uint64_t connects;        /**< sockets connected to a namespace */
    uint64_t connect_refused; /**< connects refused (handler, unknown namespace) */
    uint64_t disconnects;     /**< sockets disconnected */
    uint64_t events_in;       /**< EVENT / BINARY_EVENT packets received from clients */
    uint64_t broadcasts;      /**< local broadcasts (one per emit to a selection on this node) */
    uint64_t deliveries;      /**< sockets reached by them (sio_server_deliveries) */
    uint64_t volatile_drops;  /**< volatile packets dropped for a client not ready */
} sio_server_stats;

/* Copies the server's counters into out. */
void sio_server_get_stats(const sio_server *srv, sio_server_stats *out);

/* Calls fn for each registered namespace. */
void sio_server_each_nsp(sio_server *srv, void (*fn)(sio_nsp *nsp, void *ud), void *ud);

/* Number of rooms of nsp on this node (socket-id rooms not counted). */
size_t sio_nsp_room_count(const sio_nsp *nsp);

/** Observes the sockets of every namespace (an admin view). Every member may be NULL; none may
 * disconnect sockets or change rooms. */
typedef struct sio_server_observer {
    /** s connected (its CONNECT reply is queued; its rooms are those joined while connecting). */
    void (*connected)(sio_socket *s, void *ud);
    /** s disconnects with reason; its rooms are still readable (left right after). */
    void (*disconnected)(sio_socket *s, const char *reason, void *ud);
    /** A connected socket joined / left a room (not called while it connects or disconnects). */
    void (*joined)(sio_socket *s, const char *room, void *ud);
    void (*left)(sio_socket *s, const char *room, void *ud);
} sio_server_observer;

/* Sets the server's observer (obs copied; NULL removes it). One observer. */
void sio_server_observe(sio_server *srv, const sio_server_observer *obs, void *ud);

/* ---- host side: sessions ---- */

/** Request details of a session, as handlers see them (socket.handshake in Node). */
typedef struct sio_handshake_info {
    json_t *headers;     /**< object of lower-case header names; reference stolen */
    json_t *query;       /**< object of query parameters; reference stolen */
    const char *address; /**< remote address (copied) */
    const char *url;     /**< request URL (copied) */
    bool secure;         /**< TLS */
    bool xdomain;        /**< an Origin header was present */
    uint64_t issued_ms;  /**< wall-clock ms since the epoch */
} sio_handshake_info;

/* A session opened: creates its Socket.IO client (caller owns it until sio_client_closed) and arms
 * connectTimeout. */
sio_client *sio_client_open(sio_server *srv, void *conn, sio_handshake_info *hs);

/* An Engine.IO message arrived for the session. Malformed input closes the session through
 * host->close with "parse error". */
void sio_client_message(sio_client *c, const uint8_t *data, size_t len, bool binary);

/* The session closed with reason: every socket disconnects with it, then the client is freed. */
void sio_client_closed(sio_client *c, const char *reason);

/* The host's session handle the client was opened with (sio_client_open's conn). */
void *sio_client_conn(const sio_client *c);

/* Calls fn for each socket the client has connected (one per namespace), newest first. fn must not
 * disconnect sockets or close the client. */
void sio_client_each_socket(const sio_client *c, void (*fn)(sio_socket *s, void *ud), void *ud);

/* The handshake of the client's session (headers, time, address, xdomain, secure, issued, url,
 * query; without auth, which belongs to each socket). Borrowed; valid while the client lives. */
const json_t *sio_client_handshake(const sio_client *c);

/* ---- namespaces and handlers ---- */

/** Fill with sio_reject_set to refuse a connection from a connect handler. */
typedef struct sio_reject sio_reject;

/* Sets the CONNECT_ERROR message and optional data (reference stolen, may be NULL). */
void sio_reject_set(sio_reject *r, const char *message, json_t *data);

/** Namespace callbacks; every member may be NULL. */
typedef struct sio_nsp_handlers {
    /** A client connects with auth (borrowed; {} if none). Return true to accept; to refuse, call
     * sio_reject_set(rej, ...) and return false. Emits made here to this socket reach the client
     * after the CONNECT reply; the socket joins the namespace's broadcasts only once accepted.
     * To decide later (a backend call), call sio_socket_defer_connect(s) here: the return value
     * is then ignored. */
    bool (*connect)(sio_socket *s, const json_t *auth, sio_reject *rej, void *ud);
    /** The socket disconnected with one of the standard reasons. The socket is still readable
     * (id, rooms are already left) and is freed when this returns. Also called, with
     * sio_socket_connected false, for a socket whose deferred connect is unanswered when its
     * client goes (the session closed, or the client sent DISCONNECT): the deferral must still be
     * answered (the answer then does nothing and returns -1). */
    void (*disconnect)(sio_socket *s, const char *reason, void *ud);
    /** Catch-all for events without their own handler: event name, args (borrowed array without the
     * name; binary args are sio_binary values), ack (NULL if the client asked none; reply at most
     * once with sio_ack_send). */
    void (*any)(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud);
} sio_nsp_handlers;

/** A per-event handler; arguments as for the catch-all. */
typedef void (*sio_event_fn)(sio_socket *s, const char *event, json_t *args, sio_ack *ack,
                             void *ud);

/* Registers (or returns the existing) namespace name ("/chat"). Clients may connect only to
 * registered namespaces ("Invalid namespace" otherwise). handlers is copied (may be NULL); ud is
 * borrowed. Returns the namespace, owned by the server. */
sio_nsp *sio_server_of(sio_server *srv, const char *name, const sio_nsp_handlers *h, void *ud);

/* Number of sockets connected on this node, all namespaces together. */
size_t sio_server_socket_count(const sio_server *srv);

/* Looks a namespace up; NULL if not registered. */
sio_nsp *sio_server_find_nsp(sio_server *srv, const char *name);

/* Registers a handler for event on nsp (replacing an earlier one). */
void sio_nsp_on(sio_nsp *nsp, const char *event, sio_event_fn fn, void *ud);

/* The namespace name. Borrowed. */
const char *sio_nsp_name(const sio_nsp *nsp);

/* The socket of nsp with that id on this node, or NULL. Borrowed. */
sio_socket *sio_nsp_socket(sio_nsp *nsp, const char *id);

/* Number of sockets connected to nsp on this node. */
size_t sio_nsp_size(const sio_nsp *nsp);

/* ---- deferred connects ---- */

/* Called from a connect handler: the connect is decided later (a backend is asked), by exactly one
 * of sio_socket_accept, sio_socket_refuse or sio_socket_refuse_close, each of which releases the
 * deferral's reference to s (s stays valid until then, even after its client is gone). While
 * deferred, the socket is not in its namespace (no broadcast reaches it, sio_nsp_socket does not
 * find it), what is emitted to it or joined is held for the CONNECT reply as in the handler, and
 * events the client sends to the namespace are dropped, as Node does before its middlewares have
 * run. The session's connect timeout keeps running. Returns 0, or -1 outside a connect handler
 * (or when called twice). */
int sio_socket_defer_connect(sio_socket *s);

/* Accepts a deferred connect: the CONNECT reply goes out, then what was emitted while deferred.
 * Returns 0, or -1 when the client went first (nothing is sent). Releases the deferral. */
int sio_socket_accept(sio_socket *s);

/* Refuses a deferred connect with CONNECT_ERROR {message, data} (data stolen, may be NULL).
 * Returns 0, or -1 when the client went first. Releases the deferral. */
int sio_socket_refuse(sio_socket *s, const char *message, json_t *data);

/* Answers a deferred connect by closing the whole Engine.IO session ("forced close") without a
 * CONNECT_ERROR: socket.io-client's Manager, and python-socketio, reconnect by themselves after a
 * transport close but never after a CONNECT_ERROR, so this is the answer when the decision could
 * not be made (the backend is down). Other namespaces of the session go too. Returns 0, or -1 when
 * the client went first. Releases the deferral. */
int sio_socket_refuse_close(sio_socket *s);

/* ---- acks ---- */

/* Replies to the client's event with args (array; reference stolen; NULL = no args) and frees the
 * handle. A handler that receives an ack handle owns it: it must call sio_ack_send or sio_ack_drop
 * exactly once, now or later. After the socket left, nothing is sent. */
void sio_ack_send(sio_ack *ack, json_t *args);

/* Releases an ack handle without replying (the client gets no ACK). Accepts NULL. */
void sio_ack_drop(sio_ack *ack);

/** Result of an ack requested by the server: args (borrowed array) or NULL with err set
 * ("operation has timed out", or the disconnect reason). Runs exactly once. */
typedef void (*sio_ack_fn)(sio_socket *s, json_t *args, const char *err, void *ud);

/* ---- sockets ---- */

const char *sio_socket_id(const sio_socket *s);
sio_nsp *sio_socket_nsp(const sio_socket *s);
sio_client *sio_socket_client(const sio_socket *s);
/* Handshake object as Node's socket.handshake (headers, time, address, xdomain, secure, issued,
 * url, query, auth). Borrowed. */
const json_t *sio_socket_handshake(const sio_socket *s);
/* JSON data slot (socket.data; returned by fetchSockets). Borrowed; the handler may change it. */
json_t *sio_socket_data_json(sio_socket *s);
/* Opaque slot for C handlers. */
void *sio_socket_userdata(const sio_socket *s);
void sio_socket_set_userdata(sio_socket *s, void *p);
bool sio_socket_connected(const sio_socket *s);
/* True when the socket was recovered (connection state recovery): it kept the id, rooms and data
 * it had before its connection broke, and gets the packets it missed right after its CONNECT. Set
 * before the connect handler runs. Always false while recovery is off. */
bool sio_socket_recovered(const sio_socket *s);
/* Replaces the socket's data (reference stolen; NULL means {}), and tells the adapter so that,
 * with recovery on, the new data survives the loss of this node. */
void sio_socket_set_data(sio_socket *s, json_t *data);
/* Tells the adapter that the object sio_socket_data_json returned was changed in place. Without
 * this call a change is saved for recovery only when the socket disconnects cleanly. */
void sio_socket_data_changed(sio_socket *s);

/* Emits event with args (array; reference stolen; NULL = none) to this socket. Returns 0, or -1 if
 * the event name is reserved or the socket is gone. */
int sio_socket_emit(sio_socket *s, const char *event, json_t *args);

/* As sio_socket_emit, asking the client for an ack: cb runs once with the client's args, or with
 * err after timeout_ms (0 = no timeout) or when the socket disconnects first. */
int sio_socket_emit_ack(sio_socket *s, const char *event, json_t *args, uint32_t timeout_ms,
                        sio_ack_fn cb, void *ud);

/* Rooms of this socket (its id room included). */
int sio_socket_join(sio_socket *s, const char *room);
int sio_socket_leave(sio_socket *s, const char *room);
void sio_socket_leave_all(sio_socket *s);
bool sio_socket_in_room(const sio_socket *s, const char *room);
/* Calls fn for each room of the socket (its id first). */
void sio_socket_rooms(const sio_socket *s, void (*fn)(const char *room, void *ud), void *ud);
size_t sio_socket_room_count(const sio_socket *s);

/* Disconnects the socket from its namespace (the client gets a DISCONNECT packet; reason "server
 * namespace disconnect"); with close, the whole Engine.IO session is closed too. */
void sio_socket_disconnect(sio_socket *s, bool close);

/* ---- broadcasting ---- */

enum {
    SIO_BC_VOLATILE = 1, /**< may be dropped for clients that are not ready */
    SIO_BC_LOCAL = 2,    /**< this node only (not through the cluster adapter) */
};

/** Selects sockets of a namespace: in any of rooms (all sockets when none), in none of except.
 * Wherever a selection is taken, NULL means every socket of the namespace. */
typedef struct sio_bcast_opts {
    const char *const *rooms;
    size_t n_rooms;
    const char *const *except;
    size_t n_except;
    unsigned flags; /**< SIO_BC_* */
} sio_bcast_opts;

/* Emits event with args (reference stolen) to the selected sockets, each at most once; the packet
 * is encoded once and shared. Goes through the namespace's adapter (to the whole cluster unless
 * SIO_BC_LOCAL). Returns the number of local sockets it was queued for, or -1 for a reserved event
 * name. */
int sio_nsp_emit(sio_nsp *nsp, const sio_bcast_opts *o, const char *event, json_t *args);

/** Completion of a broadcast with acks: replies is a borrowed array holding, for each client that
 * answered, the first argument it passed to its ack (null if none), as Node's adapter reports it;
 * expected is the number of clients targeted; timed_out is true when some did not answer. */
typedef void (*sio_bcast_ack_fn)(sio_nsp *nsp, json_t *replies, size_t expected, bool timed_out,
                                 void *ud);

/* Broadcast asking every selected client for an ack: cb runs once, when all answered or after
 * timeout_ms. Returns as sio_nsp_emit. */
int sio_nsp_emit_ack(sio_nsp *nsp, const sio_bcast_opts *o, const char *event, json_t *args,
                     uint32_t timeout_ms, sio_bcast_ack_fn cb, void *ud);

/* The sockets of a selection join / leave rooms, or disconnect (close = the whole session), across
 * the cluster. */
void sio_nsp_sockets_join(sio_nsp *nsp, const sio_bcast_opts *o, const char *const *rooms,
                          size_t n);
void sio_nsp_sockets_leave(sio_nsp *nsp, const sio_bcast_opts *o, const char *const *rooms,
                           size_t n);
void sio_nsp_disconnect_sockets(sio_nsp *nsp, const sio_bcast_opts *o, bool close);

/** Fetch result: an array of {id, handshake, rooms, data} objects (borrowed), or NULL and err. */
typedef void (*sio_fetch_fn)(sio_nsp *nsp, json_t *sockets, const char *err, void *ud);

/* Collects the selected sockets across the cluster. cb runs once (maybe before this returns). */
void sio_nsp_fetch_sockets(sio_nsp *nsp, const sio_bcast_opts *o, sio_fetch_fn cb, void *ud);

/** All rooms across the cluster (socket-id rooms included): a borrowed array, or NULL and err. */
typedef void (*sio_rooms_fn)(sio_nsp *nsp, json_t *rooms, const char *err, void *ud);

/* Collects the rooms of nsp across the cluster. cb runs once (maybe before this returns). */
void sio_nsp_all_rooms(sio_nsp *nsp, sio_rooms_fn cb, void *ud);

/** A server-side event from another node of the cluster: event name, args (borrowed array), and
 * reply: call sio_server_reply_send(reply, value) once if it is non-NULL (the sender asked for an
 * answer), or sio_server_reply_drop. */
typedef struct sio_server_reply sio_server_reply;
typedef void (*sio_server_event_fn)(sio_nsp *nsp, const char *event, json_t *args,
                                    sio_server_reply *reply, void *ud);

/* Sets the handler of server-side events for nsp (Node's io.on("event") on the server). */
void sio_nsp_on_server_event(sio_nsp *nsp, sio_server_event_fn fn, void *ud);

/* Answers a server-side event with value (reference stolen; NULL = null) and frees the handle. */
void sio_server_reply_send(sio_server_reply *r, json_t *value);
/* Frees the handle without answering. Accepts NULL. */
void sio_server_reply_drop(sio_server_reply *r);

/** Result of a server-side emit with ack: the replies of the other nodes (borrowed array); when
 * err is set (e.g. a timeout) replies holds those received so far. */
typedef void (*sio_server_ack_fn)(sio_nsp *nsp, json_t *replies, const char *err, void *ud);

/* Emits event with args (reference stolen) to the server-side handlers of the other nodes of the
 * cluster (Node's serverSideEmit). With cb, waits up to timeout_ms for one reply per other node;
 * on a single node cb runs at once with an empty array. Returns 0, or -1 for a reserved name. */
int sio_nsp_server_side_emit(sio_nsp *nsp, const char *event, json_t *args, uint32_t timeout_ms,
                             sio_server_ack_fn cb, void *ud);

/* Calls fn for each local socket of a selection (each once). */
void sio_nsp_each_local(sio_nsp *nsp, const sio_bcast_opts *o, void (*fn)(sio_socket *s, void *ud),
                        void *ud);

#endif
