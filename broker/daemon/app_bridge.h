/* app_bridge: the node's HTTP client to the application (docs/app-bridge.md): calls submitted by
 * the app policy are batched into signed JSON POSTs, at most `concurrency` in flight, each bounded
 * by a timeout; every call gets its own answer (or a failure) back. Ordering per socket is the
 * policy's business: the bridge sends calls in the order they were submitted. */
#ifndef APP_BRIDGE_H
#define APP_BRIDGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct app_bridge app_bridge;

/** Settings of the bridge; strings are copied. */
typedef struct app_bridge_config {
    const char *url;      /**< http://host[:port]/path */
    const char *secret;   /**< HMAC key, or NULL: unsigned calls (--insecure-app) */
    const char *node_id;  /**< sent as "node" and X-Siobroker-Node */
    uint32_t concurrency; /**< POSTs in flight */
    uint32_t batch;       /**< calls per POST */
    uint32_t timeout_ms;  /**< bound of one POST */
    size_t max_answer;    /**< largest answer accepted (bytes) */
} app_bridge_config;

/** The answer to one call: answer is the call's answer object (borrowed for the callback), or
 * NULL with failure saying why (the POST failed, or the body was not a valid answer list). Runs
 * exactly once per submitted call, never before app_bridge_submit returns. */
typedef void (*app_call_done)(void *ud, json_t *answer, const char *failure);

/* Splits an http:// URL into host:port and path. Returns 0, or -1 with err filled. */
int app_url_parse(const char *url, char *hostport, size_t hp_len, char *path, size_t path_len,
                  char *err, size_t errlen);

/* A bridge on loop. Returns NULL with err filled when cfg->url is not a valid http:// URL. Caller
 * owns; free with app_bridge_free once the loop has stopped. */
app_bridge *app_bridge_new(uv_loop_t *loop, const app_bridge_config *cfg, char *err, size_t errlen);

/* Queues call (a JSON object, reference stolen) for the application; done(ud, ...) runs once with
 * its answer. Calls leave in submission order, batched. After app_bridge_shutdown, done runs from
 * the loop with a failure. */
void app_bridge_submit(app_bridge *b, json_t *call, app_call_done done, void *ud);

/* Node shutdown: fails every queued and in-flight call (their callbacks run now, with failure
 * "node shutting down") and closes the connections, so the loop can end. Later submissions fail
 * the same way. */
void app_bridge_shutdown(app_bridge *b);

/* Frees the bridge (after app_bridge_shutdown and the loop's end). Accepts NULL. */
void app_bridge_free(app_bridge *b);

/* Calls queued but not sent yet, and POSTs in flight (for introspection and tests). */
size_t app_bridge_queued(const app_bridge *b);
unsigned app_bridge_in_flight(const app_bridge *b);

/** A log budget: at most APP_LOG_BURST lines per second for one kind of failure, then one line
 * telling how many were suppressed. */
typedef struct app_ratelog {
    uint64_t window; /**< second of the current window */
    unsigned lines;  /**< lines written in it */
    unsigned quiet;  /**< lines suppressed since the last written one */
} app_ratelog;

#define APP_LOG_BURST 5

/* True when a line may be written now (now_ms: a monotonic clock); *suppressed gets the number
 * of lines suppressed before it (to be mentioned in that line). */
bool app_ratelog_allow(app_ratelog *r, uint64_t now_ms, unsigned *suppressed);

#endif
