/* eio_request: validation of an incoming Engine.IO HTTP or WebSocket request (sans-I/O). */
#ifndef EIO_REQUEST_H
#define EIO_REQUEST_H

#include <stdbool.h>

/** engine.io's error codes, sent as {"code":N,"message":"..."}. */
typedef enum eio_error {
    EIO_ERR_NONE = -1,
    EIO_ERR_TRANSPORT_UNKNOWN = 0,
    EIO_ERR_UNKNOWN_SID = 1,
    EIO_ERR_BAD_HANDSHAKE_METHOD = 2,
    EIO_ERR_BAD_REQUEST = 3,
    EIO_ERR_FORBIDDEN = 4,
    EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION = 5,
} eio_error;

/** The parts of a request that decide its fate; strings are NULL when absent. Borrowed. */
typedef struct eio_request {
    const char *method;    /**< "GET", "POST", ... */
    const char *eio;       /**< EIO query parameter */
    const char *transport; /**< transport query parameter */
    const char *sid;       /**< sid query parameter */
    bool websocket;        /**< the request is a WebSocket upgrade */
} eio_request;

/* Checks the request independently of any session table: transport known and matching how the
 * request came (WebSocket or not), EIO=4, and a handshake (no sid) only by GET. Returns
 * EIO_ERR_NONE or the error to send. */
eio_error eio_request_check(const eio_request *r);

/* The message engine.io sends for err ("Transport unknown", ...). Static string. */
const char *eio_error_message(eio_error err);

/* The HTTP status for err: 403 for EIO_ERR_FORBIDDEN, 400 otherwise. */
int eio_error_status(eio_error err);

/* Writes the JSON body {"code":N,"message":"..."} into out (size n). Returns the length. */
int eio_error_body(eio_error err, char *out, int n);

#endif
