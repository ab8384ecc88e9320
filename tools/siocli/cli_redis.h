/* cli_redis: siocli's synchronous Redis connections (hiredis): one for commands and PUBLISH, one
 * opened on demand for (P)SUBSCRIBE, every wait bounded by a deadline. */
#ifndef CLI_REDIS_H
#define CLI_REDIS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cli_redis cli_redis;

/** A message received on a subscription: every pointer is borrowed until the next
 *  cli_redis_next or cli_redis_free. */
typedef struct cli_msg {
    const char *channel; /**< the channel it was published on */
    size_t channel_len;
    const uint8_t *payload;
    size_t len;
    bool from_pattern; /**< delivered through a PSUBSCRIBE */
} cli_msg;

/* Connects to url (redis://[:password@]HOST:PORT[/DB]), AUTH and SELECT included, each step
 * bounded by timeout_ms. Returns the connection (caller owns; free with cli_redis_free), or NULL
 * with a one-line reason in err. */
cli_redis *cli_redis_connect(const char *url, long timeout_ms, char *err, size_t errlen);

/* Closes both connections and frees. Accepts NULL. */
void cli_redis_free(cli_redis *r);

/* Runs one command (binary-safe argv) on the command connection. Returns the reply (caller frees
 * with freeReplyObject), or NULL with a reason in err when Redis did not answer in time, the
 * connection broke, or the reply is a Redis error. */
redisReply *cli_redis_command(cli_redis *r, int argc, const char **argv, const size_t *lens,
                              char *err, size_t errlen);

/* PUBLISH payload on channel; *receivers (may be NULL) gets Redis' count of subscribers that got
 * it. Returns 0, or -1 with err. */
int cli_redis_publish(cli_redis *r, const char *channel, const void *payload, size_t len,
                      long long *receivers, char *err, size_t errlen);

/* PUBSUB NUMSUB channel: the plain SUBSCRIBE count (patterns do not count). Returns 0 and sets
 * *n, or -1 with err. */
int cli_redis_numsub(cli_redis *r, const char *channel, long long *n, char *err, size_t errlen);

/* Subscribes the subscription connection (opened on first use) to channel, or PSUBSCRIBEs to it
 * when pattern is true, and waits for Redis' confirmation. Subscribing twice to the same name is
 * a no-op. Returns 0, or -1 with err. */
int cli_redis_subscribe(cli_redis *r, const char *channel, bool pattern, char *err, size_t errlen);

/* Waits for the next message until deadline (util_mono_ms clock; UINT64_MAX: no deadline) or until
 * *stop becomes true (stop may be NULL; checked at least every 100 ms, and a signal interrupts the
 * wait). Returns 1 with *msg filled, 0 at the deadline or on stop, -1 with err when the
 * connection broke. */
int cli_redis_next(cli_redis *r, uint64_t deadline, volatile int *stop, cli_msg *msg, char *err,
                   size_t errlen);

/* Escapes the glob characters *?[]\ of s with backslashes, so that a PSUBSCRIBE pattern matches s
 * literally. Appends to a new string the caller frees with util_free. */
char *cli_glob_escape(const char *s);

#endif
