/* fuzz_wsraw: libFuzzer target for siobench's WebSocket client decoders (bench/siobench/wsraw.h):
 * sb_wsr_parse (server frames) and sb_wsr_response (the answer to the Upgrade request).
 *
 * Byte 0 seeds the read sizes; the rest is what the server sent. The frames are parsed once whole
 * and once in reads of pseudo-random sizes: both must give the same messages (opcode and bytes) and
 * the same result; every message is a known opcode within SB_WSR_MAX_MESSAGE, control frames at
 * most 125 bytes. sb_wsr_response on the same bytes returns -1, 0 or a head length within them. */
#include "wsraw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_wsraw: %s\n", what);
    abort();
}

/* Every message, as opcode byte + 4-byte length + bytes, to compare the two runs. */
static int record(void *ud, unsigned opcode, const uint8_t *msg, size_t len)
{
    util_buf *log = ud;
    if (opcode != SB_WSR_TEXT && opcode != SB_WSR_BINARY && opcode != SB_WSR_CLOSE &&
        opcode != SB_WSR_PING && opcode != SB_WSR_PONG)
        fail("unknown opcode delivered");
    if (len > SB_WSR_MAX_MESSAGE || (opcode >= SB_WSR_CLOSE && len > 125))
        fail("message too long");
    uint8_t head[5] = {(uint8_t)opcode, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
                       (uint8_t)(len >> 8), (uint8_t)len};
    util_buf_append(log, head, sizeof head);
    util_buf_append(log, msg, len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned seed = data[0];
    const uint8_t *in = data + 1;
    size_t len = size - 1;

    util_buf a = UTIL_BUF_INIT, b = UTIL_BUF_INIT;
    sb_wsr_parser pa = {0}, pb = {0};
    int ra = sb_wsr_parse(&pa, in, len, record, &a);
    int rb = 0;
    for (size_t off = 0; off < len && rb == 0;) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 40;
        if (n > len - off)
            n = len - off;
        rb = sb_wsr_parse(&pb, in + off, n, record, &b);
        off += n;
    }
    if (ra != rb)
        fail("whole and split reads end differently");
    /* On an error the split run stops at the read holding it, so only a prefix is comparable. */
    if (ra == 0 && (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)))
        fail("whole and split reads give different messages");
    if (ra != 0 && (b.len > a.len || (b.len && memcmp(a.data, b.data, b.len) != 0)))
        fail("split read delivered what the whole read did not");
    sb_wsr_parser_free(&pa);
    sb_wsr_parser_free(&pb);
    util_buf_free(&a);
    util_buf_free(&b);

    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    long head = sb_wsr_response((const char *)in, len, key);
    if (head < -1 || head > (long)len || (head > 0 && head < 16))
        fail("response head length out of range");
    return 0;
}
