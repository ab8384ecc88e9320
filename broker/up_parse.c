/* up_parse: the response side of the upstream HTTP client, over http-parser callbacks. */
#include "up_parse.h"

#include "sio_alloc.h"

#include <http_parser.h>
#include <string.h>
#include <strings.h>

/* The header whose field and value are complete: keeps the content-type. */
static void header_done(up_parser *p)
{
    if (p->field.len == 12 && strncasecmp((const char *)p->field.data, "content-type", 12) == 0) {
        sio_buf_reset(&p->ctype);
        sio_buf_append(&p->ctype, p->value.data, p->value.len);
    }
    sio_buf_reset(&p->field);
    sio_buf_reset(&p->value);
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
    up_parser *p = hp->data;
    if (p->in_value) {
        header_done(p);
        p->in_value = false;
    }
    sio_buf_append(&p->field, at, len);
    return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
    up_parser *p = hp->data;
    p->in_value = true;
    sio_buf_append(&p->value, at, len);
    return 0;
}

static int on_headers_complete(http_parser *hp)
{
    up_parser *p = hp->data;
    if (p->in_value)
        header_done(p);
    p->in_value = false;
    if (hp->status_code < 200 || hp->status_code > 599) {
        p->bad_status =
            true;  /* http-parser takes "HTTP/1.1 20" as status 20; 1xx is not an answer here */
        return -1; /* 1 and 2 mean "no body": any other nonzero is an error */
    }
    return 0;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
    up_parser *p = hp->data;
    sio_buf_append(&p->body, at, len);
    return 0;
}

static int on_message_complete(http_parser *hp)
{
    up_parser *p = hp->data;
    p->complete = true;
    http_parser_pause(hp, 1); /* nothing may follow an answer we did not ask for */
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Starts a new answer; the buffers keep their memory. */
static void start(up_parser *p)
{
    http_parser_init(p->hp, HTTP_RESPONSE);
    p->hp->data = p;
    sio_buf_reset(&p->field);
    sio_buf_reset(&p->value);
    sio_buf_reset(&p->ctype);
    sio_buf_reset(&p->body);
    p->received = 0;
    p->in_value = false;
    p->complete = false;
    p->extra = false;
    p->failed = false;
    p->bad_status = false;
}

void up_parser_init(up_parser *p)
{
    memset(p, 0, sizeof *p);
    p->hp = sio_malloc(sizeof *p->hp);
    start(p);
}

void up_parser_reset(up_parser *p)
{
    start(p);
    sio_buf_free(&p->body);
}

void up_parser_free(up_parser *p)
{
    sio_free(p->hp);
    p->hp = NULL;
    sio_buf_free(&p->field);
    sio_buf_free(&p->value);
    sio_buf_free(&p->ctype);
    sio_buf_free(&p->body);
}

up_parse_status up_parser_feed(up_parser *p, const uint8_t *data, size_t len)
{
    if (p->complete)
        return UP_PARSE_DONE;
    if (p->failed)
        return UP_PARSE_ERROR;
    if (len == 0)
        return UP_PARSE_MORE; /* http_parser_execute would take it as the end of the stream */
    p->received += len;
    size_t used = http_parser_execute(p->hp, &parser_settings, (const char *)data, len);
    if (p->complete) {
        /* Bytes after the answer mean the peer is out of step: the connection is not reused. */
        p->extra = used < len;
        return UP_PARSE_DONE;
    }
    if (HTTP_PARSER_ERRNO(p->hp) != HPE_OK || p->received > UP_MAX_RESPONSE) {
        p->failed = true;
        return UP_PARSE_ERROR;
    }
    return UP_PARSE_MORE;
}

const char *up_parser_error(const up_parser *p)
{
    if (p->bad_status)
        return "status code outside 200..599";
    return p->received > UP_MAX_RESPONSE ? "too large"
                                         : http_errno_description(HTTP_PARSER_ERRNO(p->hp));
}

void up_parser_response(up_parser *p, up_response *out)
{
    out->status = (int)p->hp->status_code;
    out->content_type = p->ctype.len ? sio_buf_cstr(&p->ctype) : "";
    out->body = p->body.data;
    out->body_len = p->body.len;
}

bool up_parser_reusable(const up_parser *p)
{
    return p->complete && !p->extra && http_should_keep_alive(p->hp);
}
