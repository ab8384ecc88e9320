/* fuzz_http_parse: libFuzzer target for http_parse, the node's HTTP/1.1 request reader. Byte 0
 * seeds the sizes the stream is cut into; the rest is what a client sends (several requests,
 * pipelined). Every complete head is looked up (headers, query arguments) as the node would; the
 * parser is resumed after each request. Whole and cut streams must see the same requests. */
#include "http_parse.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct state {
    http_head head;
    bool in_use;
    unsigned heads, completes;
    size_t body;
    unsigned long sum; /* what was seen, to compare two runs */
} state;

static http_head *on_begin(void *ud)
{
    state *s = ud;
    if (s->in_use)
        http_head_free(&s->head);
    memset(&s->head, 0, sizeof s->head);
    s->in_use = true;
    s->heads++;
    return &s->head;
}

static int add_arg(const char *arg, size_t len, void *ud)
{
    state *s = ud;
    for (size_t i = 0; i < len; i++)
        s->sum = s->sum * 31 + (unsigned char)arg[i];
    return 0;
}

static int add_header(const char *name, const char *value, void *ud)
{
    state *s = ud;
    s->sum = s->sum * 31 + strlen(name) + 7 * strlen(value);
    return 0;
}

static int on_head(void *ud)
{
    state *s = ud;
    http_head_header_foreach(&s->head, add_header, s);
    http_head_query_foreach(&s->head, add_arg, s);
    char out[16];
    http_head_query_arg(&s->head, "sid", out, sizeof out);
    const char *c = http_head_header(&s->head, "connection");
    if (c && http_has_token(c, "upgrade"))
        s->sum++;
    if (!s->head.path)
        abort();
    s->sum = s->sum * 31 + strlen(s->head.path);
    return 0;
}

static int on_body(void *ud, const char *at, size_t len)
{
    state *s = ud;
    (void)at;
    s->body += len;
    return 0;
}

static int on_complete(void *ud)
{
    ((state *)ud)->completes++;
    return 0;
}

static const http_in_cbs k_cbs = {on_begin, on_head, on_body, on_complete};

/* Parses the stream cut into pieces of sizes from seed (0: whole). */
static void run(const uint8_t *buf, size_t len, unsigned seed, state *s)
{
    memset(s, 0, sizeof *s);
    http_in in;
    http_in_init(&in, &k_cbs, s, 1024, 4096);
    size_t off = 0;
    while (off < len) {
        size_t step = seed ? 1 + (seed * 13 + off) % 23 : len - off;
        if (step > len - off)
            step = len - off;
        size_t done = 0;
        while (done < step) {
            size_t used;
            http_in_result r = http_in_feed(&in, buf + off + done, step - done, &used);
            if (used > step - done)
                abort();
            done += used;
            if (r == HTTP_IN_PAUSED) {
                http_in_resume(&in);
                continue;
            }
            if (r == HTTP_IN_MORE) {
                if (done != step)
                    abort();
                break;
            }
            /* upgrade, error, stop: the rest of the stream is not HTTP */
            int st = http_in_error_status(&in);
            if (st != 400 && st != 414 && st != 431)
                abort();
            off = len;
            done = step;
            break;
        }
        off += done;
    }
    if (s->in_use)
        http_head_free(&s->head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    state whole, cut;
    run(data + 1, size - 1, 0, &whole);
    run(data + 1, size - 1, data[0] | 1u, &cut);
    if (whole.completes != cut.completes || whole.body != cut.body)
        abort();
    return 0;
}
