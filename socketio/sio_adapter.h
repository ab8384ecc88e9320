/* sio_adapter: the cluster adapter interface of a namespace (as socket.io-adapter's), and the local
 * operations an adapter builds on. The in-memory adapter (the default) only calls the local
 * operations; the Redis adapter also publishes to, and answers, the other nodes. */
#ifndef SIO_ADAPTER_H
#define SIO_ADAPTER_H

#include "sio_server.h"

/** Callback of a cross-node request: result (borrowed) or NULL and err. */
typedef void (*sio_adapter_result_fn)(json_t *result, const char *err, void *ud);

/** State of a broadcast with acks that an adapter reports into (see sio_bcast_ack_*). */
typedef struct sio_bcast_ack sio_bcast_ack;

/** Result of restore_session: session is the adapter's object (borrowed for the call; socketio
 * keeps a reference while it needs it) with "sid" (string), "rooms" (array of the rooms joined,
 * without the id room), "data" and "live" (true when the socket may still be connected somewhere:
 * it did not disconnect cleanly), plus whatever the adapter wants back in replay and evict. When
 * the session cannot be restored, why says why ("unknown", "expired", "gap", "offset", "error")
 * and session is NULL, or still names "sid" and "live" so that a live old socket can be evicted. */
typedef void (*sio_restore_fn)(json_t *session, const char *why, void *ud);

/** Result of replay: entries (borrowed array of [offset, packet] pairs, packet being the EVENT data
 * [event, args...] without its offset), or NULL and err. */
typedef void (*sio_replay_fn)(json_t *entries, const char *err, void *ud);

/** What changed in a session (session_update). */
enum {
    SIO_SESSION_ROOMS = 1, /**< the socket joined or left a room */
    SIO_SESSION_DATA = 2,  /**< its data changed */
    SIO_SESSION_GAP = 4,   /**< it was sent a packet that is not in the log: not restorable */
};

/** What an adapter implements. `packet` is the EVENT data array [event, args...] (borrowed). */
typedef struct sio_adapter_ops {
    /** Deliver to the selected sockets of the cluster (local ones with sio_nsp_local_emit). */
    int (*broadcast)(sio_adapter *a, json_t *packet, const sio_bcast_opts *o);
    /** Same, with acks: report client counts and replies into ack. */
    int (*broadcast_ack)(sio_adapter *a, json_t *packet, const sio_bcast_opts *o,
                         sio_bcast_ack *ack);
    void (*sockets_join)(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                         size_t n);
    void (*sockets_leave)(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                          size_t n);
    void (*disconnect_sockets)(sio_adapter *a, const sio_bcast_opts *o, bool close);
    /** Result: array of socket objects. */
    void (*fetch_sockets)(sio_adapter *a, const sio_bcast_opts *o, sio_adapter_result_fn cb,
                          void *ud);
    /** Result: array of room names (socket-id rooms included). */
    void (*all_rooms)(sio_adapter *a, sio_adapter_result_fn cb, void *ud);
    /** Emits packet [event, args...] to the namespace's server-side handlers of the OTHER nodes.
     * With cb (may be NULL): result is the array of the replies of the other nodes (one each). */
    void (*server_side_emit)(sio_adapter *a, json_t *packet, uint32_t timeout_ms,
                             sio_adapter_result_fn cb, void *ud);
    /** Frees the adapter. */
    void (*destroy)(sio_adapter *a);

    /* ---- connection state recovery (docs/recovery.md). All NULL: recovery stays off on the
     * namespace. The session of a socket is named by sio_socket_pid; every write about it is
     * guarded by sio_socket_owner, so that a socket whose session moved on (recovered elsewhere)
     * cannot overwrite its successor's. ---- */

    /** Logs packet (borrowed) in the namespace's packet log, delivers it to the other nodes with its
     * offset appended to the data (unless o->flags has SIO_BC_LOCAL), and then calls
     * sio_nsp_log_done(nsp, token, offset) exactly once: at once or later, in the order of the
     * calls, with offset NULL when the packet could not be logged (the adapter has then tried to
     * deliver it to the other nodes without offset). socketio delivers it locally in that call. */
    void (*log_packet)(sio_adapter *a, json_t *packet, const sio_bcast_opts *o, uint64_t token);
    /** A socket was accepted (a new one, or a recovered one): its session starts (id, rooms, data
     * as they are now). */
    void (*session_open)(sio_adapter *a, sio_socket *s);
    /** What changed in the session of an open socket (SIO_SESSION_*). */
    void (*session_update)(sio_adapter *a, sio_socket *s, unsigned what);
    /** The socket disconnects (its rooms and data are still readable): recoverable keeps its
     * session restorable for the window, else the session is dropped. */
    void (*session_close)(sio_adapter *a, sio_socket *s, bool recoverable);
    /** Takes (consumes, so that it is restored at most once) the session pid after checking that
     * offset is still in the log. cb runs once, maybe before this returns. */
    void (*restore_session)(sio_adapter *a, const char *pid, const char *offset, sio_restore_fn cb,
                            void *ud);
    /** The packets after offset for a socket being restored (s: its rooms are joined), as the
     * session (from restore_session) selects them, in log order. cb runs once. */
    void (*replay)(sio_adapter *a, sio_socket *s, json_t *session, const char *offset,
                   sio_replay_fn cb, void *ud);
    /** Disconnects, on whichever other node holds it, the socket a session names (it is being
     * recovered here). */
    void (*evict)(sio_adapter *a, json_t *session);
} sio_adapter_ops;

/** Base of every adapter: embed it first in the adapter's own struct. */
struct sio_adapter {
    const sio_adapter_ops *ops;
    sio_nsp *nsp; /**< borrowed */
};

/** Creates the adapter of a namespace when it is registered. */
typedef sio_adapter *(*sio_adapter_factory)(sio_nsp *nsp, void *ud);

/* Sets the adapter factory used for namespaces registered from now on (NULL = in-memory). */
void sio_server_set_adapter(sio_server *srv, sio_adapter_factory f, void *ud);

/* The namespace's adapter. Borrowed. */
sio_adapter *sio_nsp_adapter(sio_nsp *nsp);

/* ---- local operations (this node's sockets only) ---- */

/* Encodes packet once and queues it for each selected local socket once. Returns the count. */
int sio_nsp_local_emit(sio_nsp *nsp, json_t *packet, const sio_bcast_opts *o);

/* As sio_nsp_local_emit, with an ack id per socket; each reply is reported to ack. */
int sio_nsp_local_emit_ack(sio_nsp *nsp, json_t *packet, const sio_bcast_opts *o,
                           sio_bcast_ack *ack);

void sio_nsp_local_join(sio_nsp *nsp, const sio_bcast_opts *o, const char *const *rooms, size_t n);
void sio_nsp_local_leave(sio_nsp *nsp, const sio_bcast_opts *o, const char *const *rooms, size_t n);
void sio_nsp_local_disconnect(sio_nsp *nsp, const sio_bcast_opts *o, bool close);

/* New array of {id, handshake, rooms, data} objects for the selected local sockets. Caller owns. */
json_t *sio_nsp_local_fetch(sio_nsp *nsp, const sio_bcast_opts *o);

/* New array of the local room names (socket-id rooms included). Caller owns. */
json_t *sio_nsp_local_rooms(sio_nsp *nsp);

/* Runs this node's server-side handler of nsp for packet [event, args...] (received from another
 * node). reply (may be NULL when no ack is expected) receives the handler's answer once. */
void sio_nsp_local_server_event(sio_nsp *nsp, json_t *packet, sio_adapter_result_fn reply,
                                void *ud);

/* ---- recovery, for adapters ---- */

/* A packet logged with log_packet(token) was logged at offset (copied; NULL: it could not be): it
 * is delivered to this node's sockets now, and the output that waited behind it follows. */
void sio_nsp_log_done(sio_nsp *nsp, uint64_t token, const char *offset);

/* As sio_nsp_local_emit, for a packet from the log (another node's): offset (borrowed) is its log
 * offset, already appended to packet. A non-volatile packet delivered without an offset through
 * sio_nsp_local_emit marks its recoverable receivers as not restorable (it is not in the log). */
int sio_nsp_local_emit_at(sio_nsp *nsp, json_t *packet, const sio_bcast_opts *o,
                          const char *offset);

/* The recovery settings of the namespace's server (0 when recovery is off). */
uint32_t sio_nsp_recovery_window(const sio_nsp *nsp);
size_t sio_nsp_recovery_max_packets(const sio_nsp *nsp);

/* The socket's private session id (Node's pid), or NULL when recovery is off. Borrowed. */
const char *sio_socket_pid(const sio_socket *s);
/* The token of this incarnation of the socket's session (0 when recovery is off). */
uint64_t sio_socket_owner(const sio_socket *s);
/* True when the socket was sent a packet that is not in the log since its session opened. */
bool sio_socket_gap(const sio_socket *s);

/* True when a local room of that name exists (a socket id counts). */
bool sio_nsp_has_room(sio_nsp *nsp, const char *room);

/* ---- broadcast-with-ack bookkeeping for adapters ---- */

/* Adds n expected clients (a node reported its client count). */
void sio_bcast_ack_expect(sio_bcast_ack *ack, size_t n);
/* Adds one client's reply (first ack argument; borrowed). */
void sio_bcast_ack_reply(sio_bcast_ack *ack, json_t *value);
/* Adds/removes pending remote reporters (nodes whose client count is still awaited). */
void sio_bcast_ack_pending_nodes(sio_bcast_ack *ack, int delta);

/* Takes / drops a reference to ack (an adapter that waits for remote replies holds one). */
void sio_bcast_ack_ref(sio_bcast_ack *ack);
void sio_bcast_ack_unref(sio_bcast_ack *ack);

/* The timeout the broadcast was given (ms; 0 = none). */
uint32_t sio_bcast_ack_timeout(const sio_bcast_ack *ack);

/* True once the ack has completed (all answered, or timed out): later replies are ignored. */
bool sio_bcast_ack_done(const sio_bcast_ack *ack);

/* A relay: an ack state that forwards each client's reply (first ack argument, borrowed) to
 * on_reply as it comes, for ttl_ms, then stops. Used to answer another node's broadcast with acks.
 * free_ud (may be NULL) releases ud when the relay is freed. Returns a new reference (release with
 * sio_bcast_ack_unref once handed to sio_nsp_local_emit_ack). */
sio_bcast_ack *sio_bcast_ack_relay(sio_nsp *nsp, void (*on_reply)(json_t *value, void *ud),
                                   void (*free_ud)(void *ud), void *ud, uint32_t ttl_ms);

#endif
