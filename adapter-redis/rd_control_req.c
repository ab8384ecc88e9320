/* rd_control_req: parses and validates a control request (JSON from Redis) into its head fields. */
#include "rd_control_req.h"

#include "rd_codec.h"

#include <string.h>

/* Reads the three fields every request has from req (borrowed). Returns 0, or -1 with *why set. */
static int request_head(const json_t *req, const char *reply_prefix, rd_control_req *out,
                        const char **why)
{
    out->id = rd_request_str(req, "id");
    out->type = rd_request_str(req, "type");
    out->reply = rd_request_str(req, "reply");
    if (!out->id || !out->type || !out->reply) {
        *why = "id, type and reply must be strings";
        return -1;
    }
    size_t idlen = strlen(out->id);
    if (idlen == 0 || idlen > RD_CONTROL_MAX_ID) {
        *why = "id must have 1 to 64 characters";
        return -1;
    }
    size_t plen = strlen(reply_prefix);
    if (strncmp(out->reply, reply_prefix, plen) != 0 || strlen(out->reply) == plen) {
        *why = "reply is not a siobroker reply channel";
        return -1;
    }
    return 0;
}

int rd_control_parse(const uint8_t *payload, size_t len, const char *reply_prefix,
                     rd_control_req *out, const char **why)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    /* Without JSON_ALLOW_NUL no string holds a NUL: strlen gives every string's whole length. */
    json_t *req = len && payload[0] == '{'
                      ? json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr)
                      : NULL;
    *why = "not a JSON object";
    if (!json_is_object(req) || request_head(req, reply_prefix, out, why) != 0) {
        json_decref(req);
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->req = req;
    return 0;
}

void rd_control_req_clear(rd_control_req *r)
{
    json_decref(r->req);
    memset(r, 0, sizeof *r);
}
