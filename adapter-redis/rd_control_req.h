/* rd_control_req: the request decoder of siobroker's control channel (protocol in rd_control.h):
 * JSON text from Redis to a validated request. Pure: no I/O, no event loop. */
#ifndef RD_CONTROL_REQ_H
#define RD_CONTROL_REQ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/** Longest request id accepted (the requester's choice, echoed back). */
#define RD_CONTROL_MAX_ID 64

/** A validated control request. */
typedef struct rd_control_req {
    json_t *req;       /**< the whole request object, owned (rd_control_req_clear) */
    const char *id;    /**< 1..RD_CONTROL_MAX_ID characters, borrowed from req */
    const char *type;  /**< borrowed from req */
    const char *reply; /**< starts with the reply prefix and is longer, borrowed from req */
} rd_control_req;

/* Decodes payload[0..len) as one control request: a JSON object (the text starts with '{', no
 * duplicate keys) whose "id", "type" and "reply" are strings, id of 1..RD_CONTROL_MAX_ID
 * characters, reply a channel under reply_prefix ("K#siobroker-reply#") and longer than it.
 * Returns 0 and fills *out (the caller owns out->req: rd_control_req_clear), or -1 with *why set
 * to a static message and *out zeroed. */
int rd_control_parse(const uint8_t *payload, size_t len, const char *reply_prefix,
                     rd_control_req *out, const char **why);

/* Releases r's request and zeroes r. Accepts a zeroed r. */
void rd_control_req_clear(rd_control_req *r);

#endif
