/* cluster_auth: the HMAC-SHA256 that authenticates node-to-node (forwarded) requests. Pure: no I/O,
 * time is passed in. */
#ifndef CLUSTER_AUTH_H
#define CLUSTER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Headers a forwarding node adds (lower case, as lws looks custom headers up with the colon). */
#define CLUSTER_HDR_FROM "x-siobroker-from:" /**< the forwarding node's id (informational) */
#define CLUSTER_HDR_TS "x-siobroker-ts:"     /**< milliseconds since the Unix epoch */
#define CLUSTER_HDR_SIG "x-siobroker-sig:"   /**< lowercase hex HMAC-SHA256, 64 characters */

/** How far a timestamp may be from the receiver's clock, either way. */
#define CLUSTER_AUTH_WINDOW_MS 30000u

/** Hex signature length, without the terminating NUL. */
#define CLUSTER_SIG_HEX 64

typedef enum cluster_auth_result {
    CLUSTER_AUTH_OK = 0,
    CLUSTER_AUTH_MISSING, /**< no timestamp or no signature */
    CLUSTER_AUTH_STALE,   /**< timestamp outside the window (or not a number) */
    CLUSTER_AUTH_BAD,     /**< signature does not match */
} cluster_auth_result;

/* Signs one request: HMAC-SHA256 under secret of "METHOD\nPATH\nQUERY\nTS" where QUERY is the
 * request's decoded query arguments joined with '&' in order (what both ends see once lws has
 * parsed the URL) and TS the decimal timestamp. Writes 64 hex digits and a NUL into out. */
void cluster_sign(const char *secret, const char *method, const char *path, const char *query,
                  uint64_t ts_ms, char out[CLUSTER_SIG_HEX + 1]);

/* Checks a received request's timestamp (decimal text, may be NULL) and signature (hex, may be
 * NULL) against secret at time now_ms. The comparison takes constant time. */
cluster_auth_result cluster_verify(const char *secret, const char *method, const char *path,
                                   const char *query, const char *ts, const char *sig,
                                   uint64_t now_ms);

/* HMAC-SHA256 under secret of TS "\n" BODY (TS the decimal ts_ms, BODY body[0..len)), as 64 hex
 * digits and a NUL into out: the signature of a call to the application (docs/app-bridge.md). */
void cluster_sign_body(const char *secret, uint64_t ts_ms, const void *body, size_t len,
                       char out[CLUSTER_SIG_HEX + 1]);

/* A short English description of r, for logs and error bodies. Static string. */
const char *cluster_auth_message(cluster_auth_result r);

#endif
