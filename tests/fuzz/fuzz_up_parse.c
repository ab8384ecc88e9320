/* fuzz_up_parse: libFuzzer target for up_parser, the decoder of a peer node's HTTP answer to a
 * forwarded polling request (broker/up_parse.h).
 *
 * Byte 0 and 1 seed the read sizes; the rest is what the peer sent. The bytes are fed once whole
 * and once in reads of pseudo-random sizes (as TCP may cut them): both must end in the same state
 * (more / done / error) with the same status, content-type and body; a complete answer keeps
 * answering DONE, a failed one ERROR; reset makes the parser take a fresh answer. */
#include "up_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_up_parse: %s\n", what);
    abort();
}

/* Feeds in[0..len) in reads of 1..max bytes (sizes from *seed). Returns the last status. */
static up_parse_status feed_split(up_parser *p, const uint8_t *in, size_t len, unsigned seed,
                                  size_t max)
{
    up_parse_status st = UP_PARSE_MORE;
    size_t off = 0;
    while (off < len) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % max;
        if (n > len - off)
            n = len - off;
        st = up_parser_feed(p, in + off, n);
        off += n;
        if (st != UP_PARSE_MORE)
            break;
    }
    return st;
}

static void same_response(up_parser *a, up_parser *b)
{
    up_response ra, rb;
    up_parser_response(a, &ra);
    up_parser_response(b, &rb);
    if (ra.status != rb.status || strcmp(ra.content_type, rb.content_type) != 0 ||
        ra.body_len != rb.body_len || (ra.body_len && memcmp(ra.body, rb.body, ra.body_len) != 0))
        fail("whole and split reads give different answers");
    if (ra.status < 200 || ra.status > 599)
        fail("status out of range");
    if (ra.body_len > a->received)
        fail("body longer than what was fed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned seed = data[0];
    size_t max = 1 + data[1] % 64;
    const uint8_t *in = data + 2;
    size_t len = size - 2;

    up_parser whole, split;
    up_parser_init(&whole);
    up_parser_init(&split);
    up_parse_status a = len ? up_parser_feed(&whole, in, len) : UP_PARSE_MORE;
    up_parse_status b = feed_split(&split, in, len, seed, max);
    if (a != b)
        fail("whole and split reads end differently");
    if (a == UP_PARSE_DONE) {
        same_response(&whole, &split);
        if (up_parser_reusable(&whole) && whole.extra)
            fail("reusable with bytes after the answer");
        if (up_parser_feed(&whole, (const uint8_t *)"x", 1) != UP_PARSE_DONE)
            fail("a complete answer took more bytes");
    } else if (a == UP_PARSE_ERROR) {
        const char *why = up_parser_error(&whole);
        if (!why || !why[0])
            fail("error without a reason");
        if (up_parser_feed(&whole, (const uint8_t *)"x", 1) != UP_PARSE_ERROR)
            fail("a failed answer recovered");
    }
    if (up_parser_feed(&whole, in, 0) != a)
        fail("an empty read changed the state");

    /* After a reset the same connection takes a fresh, valid answer. */
    up_parser_reset(&whole);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 2\r\n\r\nok";
    if (up_parser_feed(&whole, (const uint8_t *)ok, sizeof ok - 1) != UP_PARSE_DONE)
        fail("reset parser refuses a valid answer");
    up_response r;
    up_parser_response(&whole, &r);
    if (r.status != 200 || strcmp(r.content_type, "text/plain") != 0 || r.body_len != 2 ||
        !up_parser_reusable(&whole))
        fail("reset parser misreads a valid answer");
    up_parser_free(&whole);
    up_parser_free(&split);
    return 0;
}
