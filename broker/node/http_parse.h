/* http_parse: HTTP/1.1 request heads from bytes, over the http-parser library, sans-I/O: the
 * request line and headers with their size limits (414, 431), the target split into a decoded
 * path and a raw query, header and query look-ups. The node's http.c drives it. */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H

#include "util_buf.h"

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The head of one request. Zeroed, then filled by the parser; freed with http_head_free. */
typedef struct http_head {
    uint8_t method; /**< enum http_method */
    uint8_t http_major, http_minor;
    bool keep_alive;        /**< the client may send another request after this one */
    bool upgrade;           /**< an Upgrade request (Connection: upgrade + Upgrade) */
    bool hdr_value;         /**< parsing: the last header fragment was a value */
    bool bad_target;        /**< the target is not one served (a NUL in the path, ...) */
    int64_t content_length; /**< declared length, -1 when none (chunked, or no body) */
    util_buf url;           /**< the request target as received */
    util_buf hdrs;          /**< "name\0value\0" pairs in arrival order, names in lower case */
    util_buf pathb;         /**< storage of path */
    char *path;             /**< percent-decoded path without query (in pathb) */
    const char *query;      /**< the raw query inside url (after '?'), "" if none */
} http_head;

/** What the parser reports. Every callback returns 0 to go on, non-zero to stop parsing (the
 * caller has answered and will close). */
typedef struct http_in_cbs {
    http_head *(*begin)(void *ud); /**< a request starts: where its head goes (zeroed by the
                                        callee; content_length set to -1 by the parser) */
    int (*head)(void *ud);         /**< the head is complete */
    int (*body)(void *ud, const char *at, size_t len); /**< a piece of the (dechunked) body */
    int (*complete)(void *ud); /**< the request is complete: the parser pauses after it */
} http_in_cbs;

/** Parser state of one connection. */
typedef struct http_in {
    http_parser hp;
    const http_in_cbs *cbs;
    void *ud;
    http_head *cur;   /**< the head being filled (borrowed from begin) */
    uint32_t max_url; /**< request target bound (414 beyond) */
    uint32_t max_hdr; /**< request line + headers bound (431 beyond) */
    int fatal;        /**< the status to answer when parsing stopped on a limit */
} http_in;

typedef enum http_in_result {
    HTTP_IN_MORE = 0, /**< every byte consumed; more may come */
    HTTP_IN_PAUSED,   /**< a request is complete: call http_in_resume once it is answered */
    HTTP_IN_UPGRADE,  /**< an upgrade request is complete: the bytes after it are another
                           protocol's */
    HTTP_IN_STOPPED,  /**< a callback stopped the parser */
    HTTP_IN_ERROR,    /**< invalid request: answer http_in_error_status and close */
} http_in_result;

/* Initialises in for a new connection. */
void http_in_init(http_in *in, const http_in_cbs *cbs, void *ud, uint32_t max_url,
                  uint32_t max_hdr);
/* Parses data[0..len); *used is set to the bytes consumed. */
http_in_result http_in_feed(http_in *in, const uint8_t *data, size_t len, size_t *used);
/* Lets the parser go on after HTTP_IN_PAUSED. */
void http_in_resume(http_in *in);
/* The status to answer after HTTP_IN_ERROR: 414, 431, or 400. */
int http_in_error_status(const http_in *in);
/* http-parser's description of the error, for logs. Static string. */
const char *http_in_error_text(const http_in *in);

/* Frees what h holds (h itself is the caller's). */
void http_head_free(http_head *h);
/* Empties h for another request, keeping its buffers' memory (up to a bound). */
void http_head_reset(http_head *h);
/* The first value of header name (lower case, without ':'), or NULL. Borrowed from h. */
const char *http_head_header(const http_head *h, const char *name);
/* Calls fn for each header in arrival order until fn returns non-zero (which is returned). */
int http_head_header_foreach(const http_head *h,
                             int (*fn)(const char *name, const char *value, void *ud), void *ud);
/* Calls fn for each query argument ("k=v", percent-decoded, '+' as space) until fn returns
 * non-zero (which is returned). arg is borrowed for the call. */
int http_head_query_foreach(const http_head *h, int (*fn)(const char *arg, size_t len, void *ud),
                            void *ud);
/* The value of query argument name copied into out (size out_len, truncated), or NULL. */
const char *http_head_query_arg(const http_head *h, const char *name, char *out, size_t out_len);
/* True when the comma-separated list (a header value) holds token, case-insensitively. */
bool http_has_token(const char *list, const char *token);

#endif
