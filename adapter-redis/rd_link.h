/* rd_link: a node's connection to Redis on its libuv loop: one hiredis context for commands and
 * PUBLISH, one for (P)SUBSCRIBE; subscriptions survive reconnects; a PING health check notices a
 * stalled Redis; publishing fails fast while Redis is away or stalled, and what waits for it is
 * capped (no queue grows past max_output_bytes). */
#ifndef RD_LINK_H
#define RD_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/** Where Redis is. Strings are copied. */
typedef struct rd_link_config {
    const char *host;            /**< "127.0.0.1" */
    int port;                    /**< 6379 */
    const char *password;        /**< AUTH, or NULL */
    int db;                      /**< SELECT, 0 = default */
    uint32_t connect_timeout_ms; /**< give up a connection attempt after this (default 2000) */
    uint32_t health_interval_ms; /**< PING the command connection this often (default 1000) */
    uint32_t stall_timeout_ms;   /**< a PING unanswered this long means Redis is stalled: the link
                                      is not ready until it answers (default 3000) */
    size_t max_output_bytes;     /**< bytes that may wait for Redis (unsent, and sent but not
                                      answered); past it commands are refused (default 16 MiB) */
} rd_link_config;

/* Parses redis://[:password@]HOST:PORT[/DB] into cfg; strings point into buf (size buflen), which
 * receives a copy of url. Returns 0, or -1 with a reason in err. */
int rd_link_parse_url(const char *url, rd_link_config *cfg, char *buf, size_t buflen, char *err,
                      size_t errlen);

typedef struct rd_link rd_link;

/** A message on a subscribed channel (or pattern): all bytes borrowed for the call. */
typedef void (*rd_message_fn)(void *ud, const char *channel, size_t channel_len,
                              const uint8_t *payload, size_t len);

/** Called when the link becomes ready (connected and every subscription confirmed) or goes down. */
typedef void (*rd_state_fn)(void *ud, bool ready);

/* Creates the link and starts connecting. Caller owns; free with rd_link_free (from outside any
 * hiredis callback), then let the loop run so the handles close. */
rd_link *rd_link_new(uv_loop_t *loop, const rd_link_config *cfg, rd_state_fn on_state, void *ud);

/* Disconnects and frees. Accepts NULL. */
void rd_link_free(rd_link *l);

/* True when connected, every subscription is confirmed, and Redis answers its PINGs in time (not
 * stalled). */
bool rd_link_ready(const rd_link *l);

/* True while a PING has gone unanswered for stall_timeout_ms (until it is answered). */
bool rd_link_stalled(const rd_link *l);

/* Bytes waiting for Redis on the command connection now (what max_output_bytes bounds). */
size_t rd_link_output_bytes(const rd_link *l);

/* Subscribes to channel (or, with pattern, PSUBSCRIBE to it) for the life of the link: issued now
 * if connected and again after every reconnect. fn/ud are borrowed. */
void rd_link_subscribe(rd_link *l, const char *channel, bool pattern, rd_message_fn fn, void *ud);

/* PUBLISHes msg on channel. Returns 0 when handed to Redis, -1 when the link is down, Redis is
 * stalled, or max_output_bytes already wait for it (nothing is queued; the link counts it, the
 * caller reports the failure). */
int rd_link_publish(rd_link *l, const char *channel, size_t channel_len, const void *msg,
                    size_t len);

/** What a link counts (plain counters on the loop's thread). */
typedef struct rd_link_stats {
    uint64_t connects;         /**< times the link became ready */
    uint64_t disconnects;      /**< times a ready link went down */
    uint64_t publishes;        /**< PUBLISH handed to Redis */
    uint64_t publish_failures; /**< PUBLISH refused: Redis away */
    uint64_t commands;         /**< commands handed to Redis */
    uint64_t command_failures; /**< commands refused (Redis away) or answered with no reply */
    uint64_t messages_in;      /**< messages received on subscriptions */
    uint64_t message_bytes_in; /**< their payload bytes */
    uint64_t stalls;           /**< times Redis stopped answering PINGs (rd_link_stalled) */
} rd_link_stats;

/* The link's counters. Borrowed; valid while the link lives. */
const rd_link_stats *rd_link_get_stats(const rd_link *l);

/** Reply of rd_link_command: the hiredis reply (borrowed; NULL when Redis could not answer). */
typedef void (*rd_reply_fn)(void *ud, const void *redis_reply);

/* Sends a command given as argv (binary-safe lengths) on the command connection. cb (may be NULL)
 * runs exactly once: with the reply, or with NULL at once when the link is down, stalled or full
 * (as rd_link_publish). */
void rd_link_command(rd_link *l, rd_reply_fn cb, void *ud, int argc, const char **argv,
                     const size_t *argvlen);

/** Result of rd_link_numsub: the subscriber count, or -1 when Redis could not answer. */
typedef void (*rd_count_fn)(void *ud, long long n);

/* Asks PUBSUB NUMSUB channel. cb runs exactly once (with -1 at once when the link is down). */
void rd_link_numsub(rd_link *l, const char *channel, rd_count_fn cb, void *ud);

#endif
