/* sio_internal: structures shared by the socketio/ sources (not a public header). */
#ifndef SIO_INTERNAL_H
#define SIO_INTERNAL_H

#include "sio_adapter.h"
#include "sio_server.h"

#include <uthash.h>

/** Length of a socket id: 15 random bytes as URL-safe base64 (as Node's base64id). */
#define SIO_SOCKET_ID_LEN 20

typedef struct sio_room sio_room;

/** A socket's membership in a room (member of room->members, keyed by socket pointer). */
typedef struct sio_member {
    sio_socket *s;
    UT_hash_handle hh;
} sio_member;

struct sio_room {
    char *name; /**< owned */
    UT_hash_handle hh;
    sio_member *members;
    size_t n;
};

typedef struct sio_evh {
    char *event; /**< owned */
    sio_event_fn fn;
    void *ud;
    UT_hash_handle hh;
} sio_evh;

struct sio_nsp {
    char *name; /**< owned */
    UT_hash_handle hh;
    sio_server *srv;
    sio_nsp_handlers h;
    void *ud;
    sio_evh *events;
    sio_socket *sockets; /**< uthash by id */
    size_t n_sockets;
    sio_room *rooms; /**< uthash by name; socket-id rooms are implicit */
    sio_adapter *adapter;
    int64_t next_ack_id;              /**< namespace-wide, as Node's nsp._ids */
    sio_server_event_fn server_event; /**< handler of server-side events, or NULL */
    void *server_event_ud;
    bool recov;            /**< recovery is on here (the server's window, and the adapter logs) */
    sio_socket *restoring; /**< sockets being restored: live packets are held for them */
};

/** An ack the server waits for from one socket. */
typedef struct sio_pending_ack {
    int64_t id;
    struct sio_pending_ack *next;
    sio_socket *s; /**< borrowed; valid while listed */
    sio_ack_fn cb; /**< single-socket ack, or NULL */
    void *ud;
    void *timer;       /**< host timer or NULL */
    sio_bcast_ack *bc; /**< broadcast ack (holds a reference), or NULL */
} sio_pending_ack;

/** A packet held for a socket being restored: its data, offset appended when it has one. */
typedef struct sio_held_pkt {
    json_t *data;                /**< reference */
    char offset[SIO_OFFSET_MAX]; /**< "" when the packet is not in the log */
} sio_held_pkt;

/** The phase of a socket's restore (sio_recovery.c). */
enum { RESTORE_NONE, RESTORE_LOOKUP, RESTORE_REPLAY, RESTORE_HANDLER };

/** A socket's recovery state, allocated for every socket of a namespace with recovery on. */
typedef struct sio_recov {
    char pid[SIO_SOCKET_ID_LEN + 1]; /**< the private session id (Node's pid) */
    uint64_t owner;                  /**< this incarnation of the session (guards its writes) */
    bool recovered;                  /**< restored from a session */
    bool open;                       /**< the adapter holds its session (session_open called) */
    bool gap;                        /**< sent a packet that is not in the log */
    int phase;                       /**< RESTORE_*: RESTORE_HANDLER = replayed, handler runs */
    json_t *session;                 /**< while restoring: the adapter's session */
    char *offset;                    /**< while restoring: the client's offset (owned) */
    sio_held_pkt *pkts;              /**< while restoring: replayed, then live packets, in order */
    size_t n_pkts, cap_pkts;
    uint64_t last_a, last_b; /**< the newest offset the client has or was replayed */
    json_t *auth;            /**< while restoring: the CONNECT auth */
    bool overflow;           /**< while restoring: more live packets than the log keeps */
    bool aborted;            /**< the client went while the adapter was asked */
    uint64_t started;        /**< host time the restore began (for the log) */
    sio_socket *rnext;       /**< in nsp->restoring */
} sio_recov;

/** An emit made while the socket connects: sent after the CONNECT reply. With recovery on, a
 * loggable emit keeps its data (logged then) instead of being encoded. */
typedef struct sio_hold {
    sio_encoded e;
    json_t *logged; /**< reference, or NULL */
} sio_hold;

/** A session's handshake details as compact JSON text (without auth), shared, refcounted, by the
 * client and its sockets; the json_t forms are built only when a getter asks for them. */
typedef struct sio_hs_text {
    int refs;
    char text[];
} sio_hs_text;

/* Takes one more reference to t (NULL allowed); returns t. */
sio_hs_text *hs_text_ref(sio_hs_text *t);
/* Drops one reference to t (NULL allowed); frees it with the last. */
void hs_text_unref(sio_hs_text *t);

struct sio_socket {
    char id[SIO_SOCKET_ID_LEN + 1];
    UT_hash_handle hh; /**< in nsp->sockets */
    int refs;
    sio_nsp *nsp;
    sio_client *client;      /**< NULL once the client is gone */
    sio_socket *client_next; /**< in client->sockets */
    json_t *handshake;       /**< built on the first sio_socket_handshake(); owned; NULL before */
    sio_hs_text *hs_text;    /**< the session's handshake text; one reference */
    json_t *auth;            /**< the CONNECT auth object; owned; NULL = none ({}) */
    json_t *data;            /**< created on the first sio_socket_data_json(); owned */
    void *user;
    sio_room **rooms; /**< joined rooms (not the id room) */
    size_t n_rooms, cap_rooms;
    bool connecting; /**< inside the connect handler or deferred: emits are held */
    bool connected;
    bool deferring; /**< the connect handler called sio_socket_defer_connect */
    bool deferred;  /**< a deferred connect awaits sio_socket_accept / _refuse / _drop_connect */
    sio_socket *pend_next; /**< in client->pending while deferred */
    sio_hold *held;        /**< emits made during the connect handler */
    size_t n_held;
    sio_recov *rec; /**< recovery state, or NULL when recovery is off */
    sio_pending_ack *acks;
    uint64_t mark;   /**< broadcast dedupe stamp */
    uint64_t except; /**< broadcast exclusion stamp */
};

struct sio_client {
    int refs; /**< 1 until closed, plus one per queued output item (sio_recovery.c) */
    sio_server *srv;
    void *conn;
    sio_decoder *dec;
    sio_hs_text *hs_text; /**< handshake without auth, as text; one reference */
    json_t *hs;           /**< built on the first sio_client_handshake(); owned; NULL before */
    sio_socket *sockets;
    sio_socket *pending; /**< sockets whose deferred connect is unanswered (no reference) */
    void *connect_timer;
    void *attachment_timer;   /**< armed while a binary packet waits for its attachments */
    size_t held_reported;     /**< what ops.hold was last told */
    uint64_t flood_start;     /**< start of the current max_ignored_packets window */
    uint32_t flood_count;     /**< ignored packets in it */
    uint64_t batch_stamp;     /**< == srv->batch.stamp while an open batch targets this client */
    int dispatching;          /**< depth of calls into handlers */
    const char *close_reason; /**< closed while dispatching: free when unwound */
    bool closing;             /**< the host was asked to close the session: input is ignored */
};

struct sio_reject {
    bool set;
    char *message;
    json_t *data;
};

struct sio_bcast_ack {
    int refs;
    sio_nsp *nsp;
    sio_bcast_ack_fn cb;
    void *ud;
    void (*on_reply)(json_t *value, void *ud); /**< relay mode: each reply as it comes */
    void (*free_ud)(void *ud);                 /**< relay mode: releases ud with the relay */
    json_t *replies;
    size_t expected;
    uint32_t timeout_ms; /**< the caller's timeout (0 = none) */
    int pending_nodes;
    void *timer;
    bool done;
};

/** Broadcasts batched in the current host turn (sio_batch.c). nsp == NULL: none open. */
typedef struct sio_batch {
    sio_nsp *nsp;
    unsigned flags;
    char **rooms, **except; /**< owned copies of the selection's rooms */
    size_t n_rooms, n_except;
    sio_socket **v; /**< the selection, referenced */
    size_t n;
    size_t live;       /**< selected sockets whose client is not closing (what emits report) */
    sio_encoded *msgs; /**< the packets, in order, owned */
    size_t n_msgs, cap_msgs;
    uint64_t stamp; /**< the targeted clients' batch_stamp */
} sio_batch;

struct sio_server {
    sio_server_config cfg;
    sio_host_ops ops;
    void *host;
    sio_nsp *nsps;
    sio_adapter_factory adapter_factory;
    void *adapter_ud;
    uint64_t epoch;
    uint64_t deliveries; /**< sockets reached by local broadcasts, ever (sio_server_deliveries) */
    sio_batch batch;
    /* Output ordered behind logged packets (sio_recovery.c): while a packet this node logs waits
     * for its offset, what handlers send after it waits too, in order. */
    struct sio_outq *oq_head, *oq_tail;
    uint64_t next_token;
    int oq_pumping;
    int oq_delivered;          /**< what the last logged broadcast delivered when it ran */
    uint64_t oq_last_token;    /**< ... and its token */
    size_t oq_inflight;        /**< logged packets waiting for their offset */
    uint64_t batch_wait_since; /**< host time the open batch began waiting for them (0: not) */
    void *batch_timer;         /**< delivers the open batch when the wait is over */
    sio_server_stats stats;    /**< counters (deliveries is the field above) */
    sio_server_observer obs;   /**< sio_server_observe */
    void *obs_ud;
};

/* sio_socket.c */
sio_socket *socket_new(sio_nsp *nsp, sio_client *c);
void socket_ref(sio_socket *s);
void socket_unref(sio_socket *s);
/* Sends e to the socket's client now (a delivery: broadcasts, the ordered output queue). */
int socket_send(sio_socket *s, const sio_encoded *e, bool volatile_);
/* The same for a client (-1 once it is closing). */
int client_send(sio_client *c, const sio_encoded *e, bool volatile_);
/* Sends e to the client of s in the order of the calls that produce output (handlers' emits,
 * acks, replies): behind the logged packets still waiting for their offset (sio_recovery.c). */
int socket_out(sio_socket *s, const sio_encoded *e, bool volatile_);
/* Accepts s: it joins its namespace, gets the CONNECT reply, then what was emitted while it
 * connected. */
void connect_accepted(sio_socket *s);
/* Undoes what a connect handler did to a socket that will not connect. */
void connect_undo(sio_socket *s);
void socket_connect(sio_socket *s, const json_t *auth);
/* The client of a deferred socket goes (reason): the socket leaves client->pending, loses its
 * client and the disconnect handler is told; the deferral still holds its reference. */
void socket_pending_abort(sio_socket *s, const char *reason);
void socket_closed(sio_socket *s, const char *reason, bool notify_client);
void socket_on_event(sio_socket *s, json_t *data, int64_t id);
void socket_on_ack(sio_socket *s, json_t *data, int64_t id);
void socket_add_pending(sio_socket *s, sio_pending_ack *pa);

/* sio_rooms.c */
/* Number of local sockets o selects (rooms_select without collecting them). */
size_t rooms_count(sio_nsp *nsp, const sio_bcast_opts *o);
void rooms_join(sio_socket *s, const char *room);
void rooms_leave(sio_socket *s, const char *room);
void rooms_leave_all(sio_socket *s);
/* Marks (s->mark = stamp) and collects every local socket selected by o, each once. Returns a new
 * array of referenced sockets (the caller unrefs each and frees the array) and its length. */
sio_socket **rooms_select(sio_nsp *nsp, const sio_bcast_opts *o, size_t *n);

/* sio_batch.c */
/* Adds a non-volatile local broadcast to the open batch (delivering that one first if its
 * selection differs). Returns the count of sockets it will reach, as sio_nsp_local_emit. */
int batch_emit(sio_nsp *nsp, json_t *packet, const sio_bcast_opts *o, bool mark_gap);
/* Delivers and closes the open batch, if any. */
void batch_deliver(sio_server *srv);
/* Before anything else is sent to c (or c is closed): delivers the open batch if it targets c. */
void batch_before_send(sio_client *c);
/* Before the sockets or rooms of nsp change: delivers the open batch if it is for nsp. */
void batch_nsp_changed(sio_nsp *nsp);

/* sio_bcast.c */
void bcast_ack_ref(sio_bcast_ack *b);
void bcast_ack_unref(sio_bcast_ack *b);
void bcast_ack_check(sio_bcast_ack *b);
sio_adapter *memory_adapter_new(sio_nsp *nsp, void *ud);

/* sio_server.c */
void client_dispatch_begin(sio_client *c);
void client_dispatch_end(sio_client *c);
json_t *event_data(const char *event, json_t *args);
void client_ref(sio_client *c);
void client_unref(sio_client *c);

/* sio_recovery.c: connection state recovery (docs/recovery.md) and the ordered output queue */
/* Gives s its recovery state when its namespace has recovery on. */
void recov_socket_init(sio_socket *s);
void recov_socket_free(sio_socket *s);
/* Sends (or queues behind the logged packets in flight) e to c. */
int out_send(sio_client *c, const sio_encoded *e, bool volatile_);
/* Asks the host to close c (or queues the close behind the output in flight). */
void out_close(sio_client *c, const char *reason);
/* With recovery on, an emit to s (connected) or a broadcast that the log must keep: logs it, and
 * delivers it once logged. Returns what sio_nsp_emit / sio_socket_emit return. */
int recov_emit_direct(sio_socket *s, json_t *data);
int recov_emit_bcast(sio_nsp *nsp, json_t *data, const sio_bcast_opts *o);
/* A CONNECT with auth {pid, offset}: starts restoring a session. Returns false when the CONNECT is
 * a normal one. */
bool recov_connect(sio_client *c, sio_nsp *nsp, const json_t *auth);
/* The copy of auth a socket keeps: without the recovery fields when recovery is on. */
json_t *recov_auth_copy(const sio_socket *s, const json_t *auth);
/* connect_accepted for a socket being restored: leaves the restoring list and sends what was held
 * (after its CONNECT reply). */
void recov_accepted(sio_socket *s);
/* The socket's session starts / changes / ends (adapter calls guarded by the session state). */
void recov_opened(sio_socket *s);
void recov_changed(sio_socket *s, unsigned what);
void recov_closing(sio_socket *s, const char *reason);
/* A socket being restored does not connect after all (refused, or its client went). */
void recov_restore_undo(sio_socket *s);
/* The client of a pending socket goes: returns true when s was still being looked up or replayed
 * (no handler has seen it), after saving its session back for a later attempt. */
bool recov_pending_abort(sio_socket *s);
/* s was sent a packet the log does not have. */
void recov_gap(sio_socket *s);
/* Holds a live packet for the sockets of nsp being restored that o selects. */
void recov_hold_live(sio_nsp *nsp, json_t *packet, const sio_bcast_opts *o, const char *offset);
/* True when a socket of nsp being restored has that id. */
bool recov_restoring_id(sio_nsp *nsp, const char *id);
/* Frees what the output queue holds (server teardown). */
void recov_server_free(sio_server *srv);

/* sio_memlog.c: the in-memory adapter's recovery (its sessions and packet ring) */
typedef struct memlog memlog;
/** The in-memory adapter. */
typedef struct mem_adapter {
    sio_adapter base;
    memlog *log; /**< NULL when recovery is off */
} mem_adapter;
memlog *memlog_new(sio_nsp *nsp);
void memlog_free(memlog *m);
void memlog_log_packet(sio_adapter *a, json_t *packet, const sio_bcast_opts *o, uint64_t token);
void memlog_session_open(sio_adapter *a, sio_socket *s);
void memlog_session_close(sio_adapter *a, sio_socket *s, bool recoverable);
void memlog_restore(sio_adapter *a, const char *pid, const char *offset, sio_restore_fn cb,
                    void *ud);
void memlog_replay(sio_adapter *a, sio_socket *s, json_t *session, const char *offset,
                   sio_replay_fn cb, void *ud);

#endif
