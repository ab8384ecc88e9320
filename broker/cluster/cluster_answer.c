/* cluster_answer: the response side of the upstream HTTP client, over http-parser callbacks. */
#include "cluster_answer.h"

#include "util_alloc.h"

#include <http_parser.h>
#include <string.h>
#include <strings.h>

/* The header whose field and value are complete: keeps the content-type. */
static void header_done(cluster_answer *p)
{
    if (p->field.len == 12 && strncasecmp((const char *)p->field.data, "content-type", 12) == 0) {
        util_buf_reset(&p->ctype);
        util_buf_append(&p->ctype, p->value.data, p->value.len);
    }
    util_buf_reset(&p->field);
    util_buf_reset(&p->value);
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
    cluster_answer *p = hp->data;
    if (p->in_value) {
        header_done(p);
        p->in_value = false;
    }
    util_buf_append(&p->field, at, len);
    return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
    cluster_answer *p = hp->data;
    p->in_value = true;
    util_buf_append(&p->value, at, len);
    return 0;
}

static int on_headers_complete(http_parser *hp)
{
    cluster_answer *p = hp->data;
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
    cluster_answer *p = hp->data;
    util_buf_append(&p->body, at, len);
    return 0;
}

static int on_message_complete(http_parser *hp)
{
    cluster_answer *p = hp->data;
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
static void start(cluster_answer *p)
{
    http_parser_init(p->hp, HTTP_RESPONSE);
    p->hp->data = p;
    util_buf_reset(&p->field);
    util_buf_reset(&p->value);
    util_buf_reset(&p->ctype);
    util_buf_reset(&p->body);
    p->received = 0;
    p->in_value = false;
    p->complete = false;
    p->extra = false;
    p->failed = false;
    p->bad_status = false;
}

void cluster_answer_init(cluster_answer *p)
{
    memset(p, 0, sizeof *p);
    p->hp = util_malloc(sizeof *p->hp);
    p->max = CLUSTER_MAX_RESPONSE;
    start(p);
}

void cluster_answer_reset(cluster_answer *p)
{
    start(p);
    util_buf_free(&p->body);
}

void cluster_answer_free(cluster_answer *p)
{
    util_free(p->hp);
    p->hp = NULL;
    util_buf_free(&p->field);
    util_buf_free(&p->value);
    util_buf_free(&p->ctype);
    util_buf_free(&p->body);
}

cluster_answer_status cluster_answer_feed(cluster_answer *p, const uint8_t *data, size_t len)
{
    if (p->complete)
        return CLUSTER_ANSWER_DONE;
    if (p->failed)
        return CLUSTER_ANSWER_ERROR;
    if (len == 0)
        return CLUSTER_ANSWER_MORE; /* http_parser_execute would take it as the end of the stream */
    p->received += len;
    size_t used = http_parser_execute(p->hp, &parser_settings, (const char *)data, len);
    if (p->complete) {
        /* Bytes after the answer mean the peer is out of step: the connection is not reused. */
        p->extra = used < len;
        return CLUSTER_ANSWER_DONE;
    }
    if (HTTP_PARSER_ERRNO(p->hp) != HPE_OK || p->received > p->max) {
        p->failed = true;
        return CLUSTER_ANSWER_ERROR;
    }
    return CLUSTER_ANSWER_MORE;
}

const char *cluster_answer_error(const cluster_answer *p)
{
    if (p->bad_status)
        return "status code outside 200..599";
    return p->received > p->max ? "too large" : http_errno_description(HTTP_PARSER_ERRNO(p->hp));
}

void cluster_answer_response(cluster_answer *p, cluster_response *out)
{
    out->status = (int)p->hp->status_code;
    out->content_type = p->ctype.len ? util_buf_cstr(&p->ctype) : "";
    out->body = p->body.data;
    out->body_len = p->body.len;
}

bool cluster_answer_reusable(const cluster_answer *p)
{
    return p->complete && !p->extra && http_should_keep_alive(p->hp);
}
