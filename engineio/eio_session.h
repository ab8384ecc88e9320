/* eio_session: the Engine.IO v4 session state machine (sans-I/O: time is passed in, the transport
 * glue feeds it requests and frames and asks it what to send and when to wake it next). */
#ifndef EIO_SESSION_H
#define EIO_SESSION_H

#include "eio_msg.h"
#include "eio_packet.h"
#include "util_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Length of a session id: 20 random bytes (160 bits) as URL-safe base64. */
#define EIO_SID_LEN 27

typedef struct eio_budget eio_budget;

/** Engine.IO settings of a server. */
typedef struct eio_config {
    uint32_t ping_interval_ms; /**< server ping period (default 25000) */
    uint32_t ping_timeout_ms;  /**< time allowed for the pong after a ping (default 20000) */
    size_t max_payload;        /**< max bytes of a polling body, in and out (default 1000000) */
    /** Memory a session may hold for its client before it is closed as a slow consumer (default
     * EIO_DEFAULT_MAX_QUEUE): its queued messages at their real cost (eio_msg_cost: header,
     * headroom, allocator rounding; a message shared with other sessions counted in full, since
     * this session alone may keep it alive), the queue's slots, and what its transport and the
     * layer above hold for it (eio_session_hold). */
    size_t max_queue_bytes;
    uint32_t upgrade_timeout_ms; /**< time a probe WebSocket has to complete the upgrade (10000) */
    uint32_t poll_max_packets;   /**< packets in one polling answer (default 16: python-engineio
                                      clients refuse a payload of more; 0 = no limit) */
    eio_budget *budget;          /**< node-wide memory budget every session charges (borrowed;
                                      NULL = none). Sessions sharing messages share one budget. */
} eio_config;

/** Default of eio_config.max_queue_bytes: 16 MiB. Node's engine.io and ws put no bound on what
 * waits for a slow client (only the ping timeout ends a client that stopped reading altogether);
 * 16 MiB holds 16 messages of engine.io's largest (maxHttpBufferSize, 1e6 bytes), or about 200,000
 * small events. */
#define EIO_DEFAULT_MAX_QUEUE (16u * 1024 * 1024)

/* Fills cfg with the defaults above. */
void eio_config_defaults(eio_config *cfg);

typedef enum eio_transport_kind { EIO_TR_POLLING = 0, EIO_TR_WEBSOCKET = 1 } eio_transport_kind;

typedef enum eio_state {
    EIO_ST_OPEN = 0,      /**< open on its transport */
    EIO_ST_UPGRADING = 1, /**< polling session with a probe WebSocket attached */
    EIO_ST_CLOSED = 2,    /**< closed; on_close has run */
} eio_state;

/** Standard close reasons (compare by pointer or by text). */
extern const char EIO_REASON_TRANSPORT_CLOSE[];
extern const char EIO_REASON_TRANSPORT_ERROR[];
extern const char EIO_REASON_PING_TIMEOUT[];
extern const char EIO_REASON_PARSE_ERROR[];
extern const char EIO_REASON_FORCED_CLOSE[];
extern const char EIO_REASON_SHUTDOWN[];
/** The session held more than its bound (max_queue_bytes), or was among the largest when the node
 * went over its memory budget: its client does not read what it is sent fast enough. */
extern const char EIO_REASON_SLOW_CONSUMER[];
/** The client kept sending packets that are pointless or refused (the layer above counts them). */
extern const char EIO_REASON_PACKET_FLOOD[];

typedef struct eio_session eio_session;

/** What a session tells the layer above and its transport glue. Every callback may be NULL. */
typedef struct eio_session_cbs {
    /** A message packet arrived (data borrowed for the call). */
    void (*on_message)(eio_session *s, const uint8_t *data, size_t len, bool binary, void *ud);
    /** The session closed (exactly once). The session stays allocated until eio_session_free().
     * It may run from inside another session's send (the node's budget closes the sessions
     * holding the most): it must not free any session (eio_session_free) before returning. */
    void (*on_close)(eio_session *s, const char *reason, void *ud);
    /** There is something to write: the queue became non-empty, or a held GET must be answered. */
    void (*on_writable)(eio_session *s, void *ud);
    /** The upgrade did not complete within upgrade_timeout_ms: close the probe WebSocket (the
     * session goes on over polling). */
    void (*on_upgrade_timeout)(eio_session *s, void *ud);
} eio_session_cbs;

/* Creates a session for a handshake arriving on transport t at time now, with a fresh unguessable
 * sid, and queues its open packet. cfg and cbs are copied. Returns a new session the caller owns
 * (free with eio_session_free). */
eio_session *eio_session_new(const eio_config *cfg, eio_transport_kind t, uint64_t now,
                             const eio_session_cbs *cbs, void *ud);

/* Frees the session and drops its queued messages. Does not run on_close. Accepts NULL. */
void eio_session_free(eio_session *s);

/* The sid (NUL-terminated, EIO_SID_LEN chars). Borrowed. */
const char *eio_session_sid(const eio_session *s);
eio_state eio_session_state(const eio_session *s);
eio_transport_kind eio_session_transport(const eio_session *s);
void *eio_session_userdata(const eio_session *s);
void eio_session_set_userdata(eio_session *s, void *ud);
/* The reason given at close, or NULL while open. Borrowed. */
const char *eio_session_close_reason(const eio_session *s);

/* Queues m (takes a new reference; the caller keeps its own). Returns 0, or -1 if the session is
 * closed (nothing queued) or if it would hold more than max_queue_bytes even after dropping the
 * volatile packets it has queued (it is then closed with "slow consumer"). Queuing may take the
 * node over its budget: the sessions holding the most are then closed, this one maybe among them
 * (-1). */
int eio_session_send(eio_session *s, eio_msg *m);

/* Queues the n messages of m in order (a new reference to each), as n calls of eio_session_send
 * but with one check of the session and one allocation at most. Returns 0, or -1 as
 * eio_session_send (when the limit is met partway, the messages before it stay queued). */
int eio_session_send_many(eio_session *s, eio_msg *const *m, size_t n);

/* Queues the n messages of m (one packet of the layer above and its attachments) as one volatile
 * packet: all of them, or none when the session already holds more than half its bound (or is
 * closed). A queued volatile packet is dropped whole, before anything else, when a later send
 * would take the session over its bound. Returns 0, or -1 when dropped (the session is
 * unaffected). */
int eio_session_send_volatile(eio_session *s, eio_msg *const *m, size_t n);

/* Convenience: queues a message packet built from data. Same returns as eio_session_send. */
int eio_session_send_message(eio_session *s, const void *data, size_t len, bool binary);

/* Number of queued packets and their wire bytes. */
size_t eio_session_queued(const eio_session *s);
size_t eio_session_queued_bytes(const eio_session *s);

/* ---- memory ----
 * What a session holds for its client is counted at its real cost and checked against the
 * session's bound (eio_config.max_queue_bytes) and the node's budget (eio_budget). */

/* The memory the session is charged with now: queued messages (eio_msg_cost each), the queue's
 * slots, and what its transport and the layer above hold (eio_session_hold). */
size_t eio_session_memory(const eio_session *s);

/** Who holds bytes for a session outside its queue. */
typedef enum eio_hold {
    EIO_HOLD_TX = 0,  /**< the transport, on the way out: a WebSocket write the kernel has not
                           taken yet, a polling answer being written */
    EIO_HOLD_RX = 1,  /**< the transport, on the way in: a WebSocket message being reassembled, a
                           polling body being read */
    EIO_HOLD_APP = 2, /**< the layer above: a partial packet (Socket.IO attachments awaited) */
    EIO_HOLD_COUNT
} eio_hold;

/* `who` now holds n bytes for this session (absolute, not a delta): call it whenever that amount
 * changes, and with 0 once released (eio_session_free releases whatever is left). Counted in the
 * node's budget at once and in the session's bound at its next send. Never closes the session nor
 * calls back, so it is safe from inside a write or a read. */
void eio_session_hold(eio_session *s, eio_hold who, size_t n);

/* What `who` holds for the session now. */
size_t eio_session_held(const eio_session *s, eio_hold who);

/* Volatile packets dropped so far (refused, or dropped from the queue to make room). */
uint64_t eio_session_volatile_dropped(const eio_session *s);

/* ---- node-wide budget ----
 * One per node (eio_config.budget): every session charges it with what it holds (a message
 * queued on many sessions once, plus a slot per session). When a charge takes it over its max,
 * the sessions holding the most are closed ("slow consumer") until it is at most 7/8 of max; a
 * node refuses new sessions while eio_budget_over. */

/* Creates a budget of max_bytes (0: no limit, accounting only). The caller owns it and frees it
 * with eio_budget_free once every session charging it is freed. */
eio_budget *eio_budget_new(size_t max_bytes);

/* Frees b. Accepts NULL. */
void eio_budget_free(eio_budget *b);

/* Bytes charged now, and the budget's max. */
size_t eio_budget_used(const eio_budget *b);
size_t eio_budget_max(const eio_budget *b);

/* True while the budget is above 7/8 of its max (never without a max): refuse new sessions (503).
 * Cheap: two loads and a compare. Accepts NULL (false). */
bool eio_budget_over(const eio_budget *b);

/* Sessions closed to bring the budget back under its max, so far. */
uint64_t eio_budget_shed(const eio_budget *b);

/* Bytes the node holds for a client outside any session (a polling POST body being received, a
 * forwarded one waiting for its owner): eio_budget_take charges n to b and returns true, or
 * returns false and charges nothing when n more would take b over its max; the caller then
 * refuses the request (503). No session is shed for them. eio_budget_give releases what a take
 * charged. Both accept NULL (take: true). */
bool eio_budget_take(eio_budget *b, size_t n);
void eio_budget_give(eio_budget *b, size_t n);

/* Removes and returns the oldest queued message (the caller owns that reference), or NULL. Used by
 * the WebSocket transport to write everything queued at once. */
eio_msg *eio_session_pop(eio_session *s);

/* Feeds one packet received on the session's current transport. Returns 0, or -1 when the packet
 * was invalid for the state (the session is then closed with "parse error"). A close packet closes
 * the session with "transport close". */
int eio_session_on_packet(eio_session *s, const eio_packet *p, uint64_t now);

/* ---- heartbeat ---- */

/* Absolute time (ms) at which eio_session_tick must be called next; UINT64_MAX when never. */
uint64_t eio_session_next_wakeup(const eio_session *s);

/* Runs due timers: queues a ping when pingInterval has elapsed, closes the session with
 * "ping timeout" when no pong came within pingTimeout of the ping, abandons an upgrade that did not
 * complete in time (on_upgrade_timeout). */
void eio_session_tick(eio_session *s, uint64_t now);

/* ---- polling ---- */

/** What to do with a polling GET. */
typedef enum eio_poll_result {
    /** hold the GET; answer it with eio_session_poll_take once eio_session_poll_ready */
    EIO_POLL_HOLD = 0,
    /** a GET was already held: answer 400 to this one; the session is now closed and the held
     * GET gets eio_session_close_reply() */
    EIO_POLL_DUP = 1,
    /** not a polling session (upgraded or closed): answer 400 */
    EIO_POLL_BAD = 2,
} eio_poll_result;

/* A polling GET arrived. */
eio_poll_result eio_session_poll_get(eio_session *s, uint64_t now);

/* True when a GET is held and it should be answered now (data queued, upgrade noop, or closed). */
bool eio_session_poll_ready(const eio_session *s);

/* True while a GET is held. */
bool eio_session_poll_pending(const eio_session *s);

/* Builds the body for the held GET into out and releases it: queued packets joined by 0x1E, in
 * order, at most max_payload bytes but always at least one packet; "6" while upgrading; the close
 * reply once closed. Returns the number of packets written. */
size_t eio_session_poll_take(eio_session *s, util_buf *out);

/* The held GET was aborted by the client: closes the session with "transport close". */
void eio_session_poll_abort(eio_session *s);

/* The connection of the held GET went away, but not the client: it came through another node
 * whose link closed (that node stopped). The GET slot is freed and the session stays open; its
 * queued packets wait for the client's next GET. */
void eio_session_poll_release(eio_session *s);

/** What to answer a POST. */
typedef enum eio_post_result {
    /** answer 200 "ok" */
    EIO_POST_OK = 0,
    /** invalid payload: answer 400; the session is now closed ("parse error") */
    EIO_POST_PARSE = 1,
    /** not a polling session (upgraded or closed): answer 400 */
    EIO_POST_BAD = 2,
} eio_post_result;

/* A polling POST body arrived (the caller has already enforced max_payload). */
eio_post_result eio_session_poll_post(eio_session *s, const uint8_t *body, size_t len,
                                      uint64_t now);

/* Packet the held GET gets when the session closes while it is held: "6" when the client closed
 * through a POST, "1" otherwise. */
eio_ptype eio_session_close_reply(const eio_session *s);

/* ---- upgrade (polling -> websocket) ---- */

/* A WebSocket arrived for this sid at time now. Returns 0 if it becomes the probe transport (it has
 * upgrade_timeout_ms to complete), or -1 if it must be closed (already upgrading, already on
 * WebSocket, or closed); the session is unaffected. */
int eio_session_upgrade_begin(eio_session *s, uint64_t now);

/** What to do after a packet on the probe WebSocket. */
typedef enum eio_upgrade_result {
    /** nothing to do */
    EIO_UPG_IGNORE = 0,
    /** answer "3probe" on the probe WebSocket; a held GET is now ready ("6") */
    EIO_UPG_PROBE = 1,
    /** the session is now on the WebSocket: write the queue there; a held GET gets "6" */
    EIO_UPG_DONE = 2,
    /** invalid probe packet: close the probe WebSocket; the session stays on polling */
    EIO_UPG_FAIL = 3,
} eio_upgrade_result;

/* A packet arrived on the probe WebSocket. */
eio_upgrade_result eio_session_upgrade_packet(eio_session *s, const eio_packet *p, uint64_t now);

/* The probe WebSocket closed before the upgrade completed: the session goes on over polling. */
void eio_session_upgrade_abort(eio_session *s);

/* ---- close ---- */

/* Closes the session for reason; runs on_close once. A server-initiated close ("forced close",
 * "server shutting down") of an open session is graceful: nothing more can be sent, what is queued
 * goes out first (on polling followed by the close packet "1", in the next GET's answer) and the
 * session closes once that is written (eio_session_poll_take, or eio_session_flushed for a
 * WebSocket). Any other reason closes at once: the queue is dropped and a held GET gets "1" (or "6"
 * after a client close). No effect if already closed. */
void eio_session_close(eio_session *s, const char *reason);

/* Closes the session at once for reason, even during a graceful close (the queue is dropped).
 * No effect if already closed. */
void eio_session_abort(eio_session *s, const char *reason);

/* True while a graceful close waits for the queue to drain. */
bool eio_session_closing(const eio_session *s);

/* The WebSocket transport wrote everything queued: completes a graceful close. */
void eio_session_flushed(eio_session *s);

#endif
