/* rd_recovery: connection state recovery over Redis for one namespace (docs/recovery.md): the
 * namespace's packet log (a stream, K:csr-log#NSP, written and published in one script so that the
 * log's order is the order every node delivers in), the session records (K:csr:PID, written while
 * the socket is alive, so that they outlive a node killed with -9), restore and replay. Internal to
 * adapter-redis: rd_adapter.c's operations delegate to it. */
#ifndef RD_RECOVERY_H
#define RD_RECOVERY_H

#include "rd_link.h"
#include "sio_adapter.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rd_recov rd_recov;

/** What a namespace's recovery works with. Strings are copied. */
typedef struct rd_recov_env {
    rd_link *link;   /**< borrowed until rd_recov_detach */
    const char *key; /**< the adapter's prefix ("socket.io") */
    const char *uid; /**< the namespace adapter's uid (names this node in records and entries) */
    sio_nsp *nsp;    /**< borrowed */
    uv_loop_t *loop; /**< for timestamps */
    /** Publishes packet without offset the classic way (a logged packet that could not be logged
     * still reaches the other nodes, if Redis takes a PUBLISH). */
    void (*fallback)(void *ud, json_t *packet, const sio_bcast_opts *o);
    void *ud;
} rd_recov_env;

/* Starts recovery for a namespace: subscribes its echo channel K-csr#NSP#UID#. Caller owns. */
rd_recov *rd_recov_new(const rd_recov_env *env);

/* Frees (after rd_recov_detach, or while the link is still alive). Accepts NULL. */
void rd_recov_free(rd_recov *r);

/* The link is going away (shutdown): every packet still waiting for its offset completes without
 * one, and nothing more is sent. */
void rd_recov_detach(rd_recov *r);

/* The link became ready or not: when not, packets logged but whose echo is lost complete. */
void rd_recov_link_state(rd_recov *r, bool ready);

/* Periodic upkeep (every rd_recov_period_ms): refreshes the TTL of the records of this node's
 * sockets, trims the log to the window. */
void rd_recov_maintain(rd_recov *r);

/* The upkeep period for a window: a quarter of it, between 1 and 5 s. */
uint32_t rd_recov_period_ms(uint32_t window_ms);

/* The adapter operations (sio_adapter.h). */
void rd_recov_log_packet(rd_recov *r, json_t *packet, const sio_bcast_opts *o, uint64_t token);
void rd_recov_session_open(rd_recov *r, sio_socket *s);
void rd_recov_session_update(rd_recov *r, sio_socket *s, unsigned what);
void rd_recov_session_close(rd_recov *r, sio_socket *s, bool recoverable);
void rd_recov_restore(rd_recov *r, const char *pid, const char *offset, sio_restore_fn cb,
                      void *ud);
void rd_recov_replay(rd_recov *r, sio_socket *s, json_t *session, const char *offset,
                     sio_replay_fn cb, void *ud);

/* The Lua log script (also used by the Python emitter, clients/python/siobroker/emitter.py; a test
 * checks both copies are the same). */
extern const char RD_RECOV_LOG_SCRIPT[];

#endif
