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
    sio_encoded *held;     /**< emits made during the connect handler */
    size_t n_held;
    sio_pending_ack *acks;
    uint64_t mark;   /**< broadcast dedupe stamp */
    uint64_t except; /**< broadcast exclusion stamp */
};

struct sio_client {
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
    sio_server_stats stats;  /**< counters (deliveries is the field above) */
    sio_server_observer obs; /**< sio_server_observe */
    void *obs_ud;
};

/* sio_socket.c */
sio_socket *socket_new(sio_nsp *nsp, sio_client *c);
void socket_ref(sio_socket *s);
void socket_unref(sio_socket *s);
int socket_send(sio_socket *s, const sio_encoded *e, bool volatile_);
void socket_connect(sio_socket *s, const json_t *auth);
/* The client of a deferred socket goes (reason): the socket leaves client->pending, loses its
 * client and the disconnect handler is told; the deferral still holds its reference. */
void socket_pending_abort(sio_socket *s, const char *reason);
void socket_closed(sio_socket *s, const char *reason, bool notify_client);
void socket_on_event(sio_socket *s, json_t *data, int64_t id);
void socket_on_ack(sio_socket *s, json_t *data, int64_t id);
void socket_add_pending(sio_socket *s, sio_pending_ack *pa);

/* sio_rooms.c */
void rooms_join(sio_socket *s, const char *room);
void rooms_leave(sio_socket *s, const char *room);
void rooms_leave_all(sio_socket *s);
/* Marks (s->mark = stamp) and collects every local socket selected by o, each once. Returns a new
 * array of referenced sockets (the caller unrefs each and frees the array) and its length. */
sio_socket **rooms_select(sio_nsp *nsp, const sio_bcast_opts *o, size_t *n);

/* sio_batch.c */
/* Adds a non-volatile local broadcast to the open batch (delivering that one first if its
 * selection differs). Returns the count of sockets it will reach, as sio_nsp_local_emit. */
int batch_emit(sio_nsp *nsp, json_t *packet, const sio_bcast_opts *o);
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

#endif
