/* fuzz_cluster_answer: libFuzzer target for cluster_answer, the decoder of a peer node's HTTP answer to a
 * forwarded polling request (broker/cluster/cluster_answer.h).
 *
 * Byte 0 and 1 seed the read sizes; the rest is what the peer sent. The bytes are fed once whole
 * and once in reads of pseudo-random sizes (as TCP may cut them): both must end in the same state
 * (more / done / error) with the same status, content-type and body; a complete answer keeps
 * answering DONE, a failed one ERROR; reset makes the parser take a fresh answer. */
#include "cluster_answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_cluster_answer: %s\n", what);
    abort();
}

/* Feeds in[0..len) in reads of 1..max bytes (sizes from *seed). Returns the last status. */
static cluster_answer_status feed_split(cluster_answer *p, const uint8_t *in, size_t len,
                                        unsigned seed, size_t max)
{
    cluster_answer_status st = CLUSTER_ANSWER_MORE;
    size_t off = 0;
    while (off < len) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % max;
        if (n > len - off)
            n = len - off;
        st = cluster_answer_feed(p, in + off, n);
        off += n;
        if (st != CLUSTER_ANSWER_MORE)
            break;
    }
    return st;
}

static void same_response(cluster_answer *a, cluster_answer *b)
{
    cluster_response ra, rb;
    cluster_answer_response(a, &ra);
    cluster_answer_response(b, &rb);
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

    cluster_answer whole, split;
    cluster_answer_init(&whole);
    cluster_answer_init(&split);
    cluster_answer_status a = len ? cluster_answer_feed(&whole, in, len) : CLUSTER_ANSWER_MORE;
    cluster_answer_status b = feed_split(&split, in, len, seed, max);
    if (a != b)
        fail("whole and split reads end differently");
    if (a == CLUSTER_ANSWER_DONE) {
        same_response(&whole, &split);
        if (cluster_answer_reusable(&whole) && whole.extra)
            fail("reusable with bytes after the answer");
        if (cluster_answer_feed(&whole, (const uint8_t *)"x", 1) != CLUSTER_ANSWER_DONE)
            fail("a complete answer took more bytes");
    } else if (a == CLUSTER_ANSWER_ERROR) {
        const char *why = cluster_answer_error(&whole);
        if (!why || !why[0])
            fail("error without a reason");
        if (cluster_answer_feed(&whole, (const uint8_t *)"x", 1) != CLUSTER_ANSWER_ERROR)
            fail("a failed answer recovered");
    }
    if (cluster_answer_feed(&whole, in, 0) != a)
        fail("an empty read changed the state");

    /* After a reset the same connection takes a fresh, valid answer. */
    cluster_answer_reset(&whole);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 2\r\n\r\nok";
    if (cluster_answer_feed(&whole, (const uint8_t *)ok, sizeof ok - 1) != CLUSTER_ANSWER_DONE)
        fail("reset parser refuses a valid answer");
    cluster_response r;
    cluster_answer_response(&whole, &r);
    if (r.status != 200 || strcmp(r.content_type, "text/plain") != 0 || r.body_len != 2 ||
        !cluster_answer_reusable(&whole))
        fail("reset parser misreads a valid answer");
    cluster_answer_free(&whole);
    cluster_answer_free(&split);
    return 0;
}
