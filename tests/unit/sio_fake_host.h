/* sio_fake_host: the fake host the Socket.IO server unit tests drive sio_server through: a manual
 * clock and timer list, per-session outboxes and recorded closes, handlers that record what they
 * see, and the helpers the test files share (test_sio_nsp, test_sio_acks, test_sio_rooms,
 * test_sio_bcast). Each test starts with fx_init and ends with fx_finish. */
#ifndef SIO_FAKE_HOST_H
#define SIO_FAKE_HOST_H

#include "eio_session.h"
#include "sio_adapter.h"
#include "sio_binary.h"
#include "sio_server.h"
#include "util_buf.h"
#include "util_log.h"

#include <check.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1000000u  /* fake clock at the start of every test (ms) */
#define MAX_CONNS 24 /* sessions per test */
#define MAX_OUT 64   /* messages recorded per session */
#define MAX_REC 32   /* handler calls recorded per kind */
#define SID_BUF 64   /* room for a socket id */

/* ---------------------------------------------------------------------------------------------- */
/* Fake host                                                                                      */

/** One message the server queued on a session. */
typedef struct sent {
    eio_msg *m;   /**< reference held by the fake host */
    bool vol;     /**< the volatile_ flag it was sent with */
    bool binary;  /**< m->binary */
    char *text;   /**< NUL-terminated copy of the wire bytes ("4" + packet for text) */
    size_t len;   /**< wire length */
    uint64_t seq; /**< global order of host calls */
} sent;

/** One fake Engine.IO session. */
typedef struct fconn {
    int idx;
    sio_client *c;
    bool open;            /**< sio_client_closed not called yet */
    bool refuse_volatile; /**< send returns -1 (not queued) for volatile messages */
    sent out[MAX_OUT];
    size_t n_out;
    int n_close;              /**< host close calls */
    const char *close_reason; /**< reason of the last one */
    uint64_t close_seq;       /**< global order of the last one */
    int late_close;           /**< close calls after sio_client_closed (bad) */
    size_t held;              /**< what the last hold call said */
    int n_hold;               /**< hold calls */
    size_t vol_groups[8];     /**< sizes of the send_volatile calls */
    int n_vol_groups;
} fconn;

enum { T_ARMED, T_FIRED, T_CANCELLED };

/** One fake timer; kept until the end of the test so misuse of stale handles is detected. */
typedef struct ftimer {
    struct ftimer *next;
    uint64_t at;
    void (*cb)(void *);
    void *arg;
    int state;
} ftimer;

/** One call of a namespace event handler (per-event or catch-all). */
typedef struct ev_rec {
    const char *via; /**< "event" or "any" */
    char nsp[32];
    char sid[SID_BUF];
    char *event;  /**< owned */
    json_t *args; /**< reference */
    bool had_ack;
} ev_rec;

/** One call of a disconnect handler, with what the socket looked like then. */
typedef struct disc_rec {
    char nsp[32];
    char sid[SID_BUF];
    char *reason;   /**< owned copy */
    size_t rooms;   /**< sio_socket_room_count */
    bool in_r;      /**< still in room "r" */
    bool connected; /**< sio_socket_connected */
    bool findable;  /**< sio_nsp_socket still finds it */
    int emit_rc;    /**< sio_socket_emit on itself */
} disc_rec;

/** One call of a server-ack callback. */
typedef struct ack_rec {
    char sid[SID_BUF];
    json_t *args; /**< reference or NULL */
    char *err;    /**< owned copy or NULL */
} ack_rec;

/** One call of a broadcast-ack callback. */
typedef struct bc_rec {
    json_t *replies; /**< deep copy */
    size_t expected;
    bool timed_out;
} bc_rec;

enum { C_ACCEPT, C_REJECT, C_REJECT_NODATA, C_EMIT, C_REJECT_PENDING_ACK, C_CLOSE_TARGET };
enum { A_DROP, A_SEND, A_SEND_NULL, A_SEND_BINARY, A_KEEP };
enum { E_NONE, E_DISCONNECT, E_DISCONNECT_CLOSE };
enum { D_NONE, D_EMIT_OTHERS, D_DISCONNECT_TARGET };
enum { AC_NONE, AC_DISCONNECT };

/** Everything the fake host and the handlers record, reset by fx_init. */
typedef struct fake_host {
    uint64_t now, seq;
    ftimer *timers, **tail;
    int bad; /**< host ops or handlers called with wrong arguments, stale timers, ... */
    sio_server *srv;
    sio_nsp *root, *chat, *bare;
    fconn conns[MAX_CONNS];
    int n_conns;
    bool close_sync;  /**< host close calls sio_client_closed at once */
    int expect_drain; /**< timers the test expects armed once every client closed */

    /* handler behaviour */
    int connect_mode, ack_mode, ev_action, disc_mode, ack_cb_action;
    char disc_target[SID_BUF]; /**< D_DISCONNECT_TARGET: socket of / to disconnect once */
    bool disc_target_close;    /**< ... with close */
    sio_ack *kept_ack;         /**< A_KEEP */
    int emit_after_rc;         /**< E_DISCONNECT*: sio_socket_emit after the disconnect */
    int disc_emit_rc;          /**< D_EMIT_OTHERS: last sio_nsp_emit result */
    int *each_seen;            /**< sio_nsp_each_local visits per socket of each_socks */
    sio_socket **each_socks;

    /* handler records */
    int n_connect;
    json_t *auth; /**< deep copy of the last auth */
    char connect_sid[SID_BUF];
    char connect_nsp[32];
    ev_rec ev[MAX_REC];
    int n_ev;
    disc_rec disc[MAX_REC];
    int n_disc;
    ack_rec ack[MAX_REC];
    int n_ack;
    bc_rec bc[MAX_REC];
    int n_bc;
    json_t *fetched; /**< deep copy of the last fetch result */
    int n_fetch;
} fake_host;

/** The state of the running test (one test per process at a time, as Check forks). */
extern fake_host H;

/** The fake host's operations: k_ops the minimal host, k_ops_full the host of a node (it groups
 * volatile packets and hears what the Socket.IO side holds). */
extern const sio_host_ops k_ops, k_ops_full;

/* Moves the clock forward by ms, firing due timers in deadline order (start order on ties). */
void advance(uint64_t ms);

/* How many fake timers are armed. */
int armed_timers(void);

/* Copies src into dst[cap], with anything but printable ASCII shown as '?' (so a failure message
 * never carries the bytes of a freed socket). */
void copy_str(char *dst, size_t cap, const char *src);

/* A server-ack callback that records its call in H.ack (args borrowed, copied). */
void on_ack(sio_socket *s, json_t *args, const char *err, void *ud);

/* A broadcast-ack callback that records its call in H.bc (replies deep-copied). */
void on_bc(sio_nsp *nsp, json_t *replies, size_t expected, bool timed_out, void *ud);

/* A fetch callback that keeps a deep copy of the sockets in H.fetched. */
void on_fetch(sio_nsp *nsp, json_t *sockets, const char *err, void *ud);

/* Starts a test: a server with config cfg (borrowed) on the host ops, with "/" (per-event handler
 * for "chat"), "/chat" (the same handlers) and "/bare" (no handlers at all). */
void fx_init_with(const sio_server_config *cfg, const sio_host_ops *ops);

/* fx_init_with the default config but connect_timeout_ms (0: the default) on k_ops. */
void fx_init_timeout(uint32_t connect_timeout_ms);

/* fx_init_timeout with the default connect timeout. */
void fx_init(void);

/* The host reports that the session closed. */
void close_conn(fconn *fc, const char *reason);

/* Ends a test: closes every session, fires the timers still armed (as the broker's teardown does,
 * so their owners release what they hold), frees the server, checks that nothing was left behind
 * (no unexpected timer, no host misuse) and frees what the fake host recorded. */
void fx_finish(void);

/* Opens a session with handshake hs, or a default one when hs is NULL. */
fconn *open_conn_hs(sio_handshake_info *hs);

/* Opens a session with the default handshake. */
fconn *open_conn(void);

/* Feeds one Engine.IO text message given in its wire form ("4" + Socket.IO packet). */
void feed(fconn *fc, const char *wire);

/* Feeds one Engine.IO binary message. */
void feed_bin(fconn *fc, const void *data, size_t len);

/* The wire text of fc's message i (borrowed from the fake host). */
const char *out_text(fconn *fc, size_t i);

/* The wire text of fc's last message (borrowed). */
const char *last_text(fconn *fc);

/* Asserts that fc's message i is the text message want. */
void expect_out(fconn *fc, size_t i, const char *want);

/* Asserts that fc's message i is a binary message with those bytes. */
void expect_bin(fconn *fc, size_t i, const void *bytes, size_t len);

/* Checks a CONNECT reply of nsp (`40{"sid":...}` or `40/nsp,{"sid":...}` with sid the only key,
 * 20 URL-safe characters) and copies the sid out. */
void parse_sid(const char *text, const char *nsp, char *sid);

/* Connects the session to nsp (auth JSON text or NULL) and returns the new socket. */
sio_socket *connect_nsp(fconn *fc, const char *nsp, const char *auth);

/* Parses the ack id of an EVENT with id: text must start with prefix ("42" or "42/chat,"). */
int64_t ack_id_of(const char *text, const char *prefix);

/* Asserts that v (borrowed) equals the JSON text want. */
void expect_json(const json_t *v, const char *want);

/* True when the array a holds the string s. */
bool json_array_has_str(const json_t *a, const char *s);

/* True when nsp lists room in sio_nsp_local_rooms. */
bool nsp_lists_room(sio_nsp *nsp, const char *room);

/* The number of rooms sio_nsp_local_rooms lists for nsp. */
size_t nsp_room_total(sio_nsp *nsp);

/* Index of the first message of fc, from index from, equal to text; -1 if none. */
long find_out(fconn *fc, size_t from, const char *text);

/* Opens n sessions connected to "/" (sockets into s[]). */
void open_n(int n, fconn **fc, sio_socket **s);

#endif
