/* cluster_answer: assembles a peer's HTTP/1.1 answer (status, content-type, body) from the bytes read on
 * an upstream connection, with the http-parser library. Pure: no I/O; cluster_pool.c feeds it. */
#ifndef CLUSTER_ANSWER_H
#define CLUSTER_ANSWER_H

#include "util_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_parser; /* http_parser.h stays out of this header: its enum http_status clashes with
                       libwebsockets', and cluster_pool.h is included next to libwebsockets.h */

/** Largest response accepted (headers + body) unless cluster_answer.max says otherwise. */
#define CLUSTER_MAX_RESPONSE (64u * 1024 * 1024)

/** A complete response; every field is borrowed for the duration of the callback. */
typedef struct cluster_response {
    int status;
    const char *content_type; /**< "" when the peer sent none */
    const uint8_t *body;
    size_t body_len;
} cluster_response;

typedef enum cluster_answer_status {
    CLUSTER_ANSWER_MORE,  /**< the answer is not complete yet: feed the next bytes read */
    CLUSTER_ANSWER_DONE,  /**< the answer is complete: cluster_answer_response */
    CLUSTER_ANSWER_ERROR, /**< not valid HTTP (or a status outside 200..599), or more than
                         cluster_answer.max bytes: cluster_answer_error */
} cluster_answer_status;

/** One answer being assembled. Embedded by its connection: cluster_answer_init before use. */
typedef struct cluster_answer {
    struct http_parser *hp; /**< owned */
    util_buf field;         /**< header field being parsed, owned */
    util_buf value;         /**< header value being parsed, owned */
    util_buf ctype;         /**< content-type of the response, owned */
    util_buf body;          /**< response body, owned */
    size_t received;        /**< bytes fed since the last reset */
    size_t max;             /**< largest answer accepted (CLUSTER_MAX_RESPONSE after init) */
    bool in_value;          /**< the parser is in a header value */
    bool complete;          /**< the answer is complete */
    bool extra;             /**< bytes followed the complete answer in the read that completed it */
    bool failed;            /**< CLUSTER_ANSWER_ERROR was returned */
    bool bad_status;        /**< the status code is outside 200..599 */
} cluster_answer;

/* Initialises p (any contents) for a first answer. Free with cluster_answer_free. */
void cluster_answer_init(cluster_answer *p);

/* Makes p ready for the next answer on the same connection; the buffers keep their memory but the
 * body's, which is released (an idle connection does not hold a large body). */
void cluster_answer_reset(cluster_answer *p);

/* Releases p's parser and buffers. p may be initialised again afterwards. */
void cluster_answer_free(cluster_answer *p);

/* Feeds the next bytes read, data[0..len) (borrowed for the call; nothing after the answer is
 * consumed, see cluster_answer.extra). Nothing is fed when len is 0 (the end of the stream is not an
 * end of the answer: a peer answer always has a length). Returns CLUSTER_ANSWER_MORE, CLUSTER_ANSWER_DONE
 * (again on every later call until cluster_answer_reset) or CLUSTER_ANSWER_ERROR (likewise). */
cluster_answer_status cluster_answer_feed(cluster_answer *p, const uint8_t *data, size_t len);

/* Why the answer was refused, after CLUSTER_ANSWER_ERROR: "too large", the status range, or
 * http-parser's description. Static string. */
const char *cluster_answer_error(const cluster_answer *p);

/* The complete answer, after CLUSTER_ANSWER_DONE: every pointer of *out borrows from p until it is fed,
 * reset or freed. */
void cluster_answer_response(cluster_answer *p, cluster_response *out);

/* True when the connection may carry another request after this complete answer: HTTP keep-alive
 * and no bytes after the answer. */
bool cluster_answer_reusable(const cluster_answer *p);

#endif
