/* eio_request: request validation and engine.io's error vocabulary. */
#include "eio_request.h"

#include <stdio.h>
#include <string.h>

static const char *const k_messages[] = {
    "Transport unknown", "Session ID unknown", "Bad handshake method",
    "Bad request",       "Forbidden",          "Unsupported protocol version",
};

const char *eio_error_message(eio_error err)
{
    if (err < 0 || err > EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION)
        return "";
    return k_messages[err];
}

int eio_error_status(eio_error err)
{
    return err == EIO_ERR_FORBIDDEN ? 403 : 400;
}

int eio_error_body(eio_error err, char *out, int n)
{
    return snprintf(out, (size_t)n, "{\"code\":%d,\"message\":\"%s\"}", (int)err,
                    eio_error_message(err));
}

eio_error eio_request_check(const eio_request *r)
{
    if (!r->transport ||
        (strcmp(r->transport, "polling") != 0 && strcmp(r->transport, "websocket") != 0))
        return EIO_ERR_TRANSPORT_UNKNOWN;
    if (!r->eio || strcmp(r->eio, "4") != 0)
        return EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION;
    bool ws_param = strcmp(r->transport, "websocket") == 0;
    if (ws_param != r->websocket)
        return EIO_ERR_BAD_REQUEST;
    if (!r->sid && (!r->method || strcmp(r->method, "GET") != 0))
        return EIO_ERR_BAD_HANDSHAKE_METHOD;
    return EIO_ERR_NONE;
}
