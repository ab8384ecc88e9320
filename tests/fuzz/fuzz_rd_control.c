/* fuzz_rd_control: libFuzzer target for rd_control_parse, the decoder of siobroker's control
 * channel requests (JSON published on Redis by siocli and by other nodes).
 *
 * The whole input is one published message. What parses must satisfy the contract of
 * rd_control_req.h (id of 1..RD_CONTROL_MAX_ID characters, reply under the prefix and longer, the
 * three strings borrowed from the request object) and must parse again, to an equal request, from
 * its own JSON text. What fails must leave the request zeroed with a reason. */
#include "rd_control_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "socket.io#siobroker-reply#"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_rd_control: %s\n", what);
    abort();
}

/* The invariants of a parsed request. */
static void check(const rd_control_req *r)
{
    if (!json_is_object(r->req) || !r->id || !r->type || !r->reply)
        fail("parsed request without its fields");
    size_t idlen = strlen(r->id);
    if (idlen == 0 || idlen > RD_CONTROL_MAX_ID)
        fail("id length out of range");
    if (strncmp(r->reply, PREFIX, strlen(PREFIX)) != 0 || strlen(r->reply) <= strlen(PREFIX))
        fail("reply channel outside the prefix");
    if (json_string_value(json_object_get(r->req, "id")) != r->id ||
        json_string_value(json_object_get(r->req, "type")) != r->type ||
        json_string_value(json_object_get(r->req, "reply")) != r->reply)
        fail("fields not borrowed from the request");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rd_control_req r;
    const char *why = NULL;
    if (rd_control_parse(data, size, PREFIX, &r, &why) != 0) {
        if (!why || r.req || r.id || r.type || r.reply)
            fail("failure without a reason or with a request left");
        rd_control_req_clear(&r); /* accepted on a zeroed request */
        return 0;
    }
    check(&r);
    char *text = json_dumps(r.req, JSON_COMPACT);
    if (!text)
        fail("parsed request does not dump");
    rd_control_req again;
    if (rd_control_parse((const uint8_t *)text, strlen(text), PREFIX, &again, &why) != 0)
        fail(why);
    check(&again);
    if (!json_equal(again.req, r.req) || strcmp(again.id, r.id) != 0 ||
        strcmp(again.type, r.type) != 0 || strcmp(again.reply, r.reply) != 0)
        fail("round trip differs");
    free(text);
    rd_control_req_clear(&again);
    rd_control_req_clear(&r);
    if (r.req || r.id)
        fail("clear left fields");
    return 0;
}
