/* up_parse: assembles a peer's HTTP/1.1 answer (status, content-type, body) from the bytes read on
 * an upstream connection, with the http-parser library. Pure: no I/O; upstream.c feeds it. */
#ifndef UP_PARSE_H
#define UP_PARSE_H

#include "sio_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_parser; /* http_parser.h stays out of this header: its enum http_status clashes with
                       libwebsockets', and upstream.h is included next to libwebsockets.h */

/** Largest response accepted (headers + body). */
#define UP_MAX_RESPONSE (64u * 1024 * 1024)

/** A complete response; every field is borrowed for the duration of the callback. */
typedef struct up_response {
    int status;
    const char *content_type; /**< "" when the peer sent none */
    const uint8_t *body;
    size_t body_len;
} up_response;

typedef enum up_parse_status {
    UP_PARSE_MORE,  /**< the answer is not complete yet: feed the next bytes read */
    UP_PARSE_DONE,  /**< the answer is complete: up_parser_response */
    UP_PARSE_ERROR, /**< not valid HTTP (or a status outside 200..599), or more than
                         UP_MAX_RESPONSE bytes: up_parser_error */
} up_parse_status;

/** One answer being assembled. Embedded by its connection: up_parser_init before use. */
typedef struct up_parser {
    struct http_parser *hp; /**< owned */
    sio_buf field;          /**< header field being parsed, owned */
    sio_buf value;          /**< header value being parsed, owned */
    sio_buf ctype;          /**< content-type of the response, owned */
    sio_buf body;           /**< response body, owned */
    size_t received;        /**< bytes fed since the last reset */
    bool in_value;          /**< the parser is in a header value */
    bool complete;          /**< the answer is complete */
    bool extra;             /**< bytes followed the complete answer in the read that completed it */
    bool failed;            /**< UP_PARSE_ERROR was returned */
    bool bad_status;        /**< the status code is outside 200..599 */
} up_parser;

/* Initialises p (any contents) for a first answer. Free with up_parser_free. */
void up_parser_init(up_parser *p);

/* Makes p ready for the next answer on the same connection; the buffers keep their memory but the
 * body's, which is released (an idle connection does not hold a large body). */
void up_parser_reset(up_parser *p);

/* Releases p's parser and buffers. p may be initialised again afterwards. */
void up_parser_free(up_parser *p);

/* Feeds the next bytes read, data[0..len) (borrowed for the call; nothing after the answer is
 * consumed, see up_parser.extra). Nothing is fed when len is 0 (the end of the stream is not an
 * end of the answer: a peer answer always has a length). Returns UP_PARSE_MORE, UP_PARSE_DONE
 * (again on every later call until up_parser_reset) or UP_PARSE_ERROR (likewise). */
up_parse_status up_parser_feed(up_parser *p, const uint8_t *data, size_t len);

/* Why the answer was refused, after UP_PARSE_ERROR: "too large", the status range, or
 * http-parser's description. Static string. */
const char *up_parser_error(const up_parser *p);

/* The complete answer, after UP_PARSE_DONE: every pointer of *out borrows from p until it is fed,
 * reset or freed. */
void up_parser_response(up_parser *p, up_response *out);

/* True when the connection may carry another request after this complete answer: HTTP keep-alive
 * and no bytes after the answer. */
bool up_parser_reusable(const up_parser *p);

#endif
