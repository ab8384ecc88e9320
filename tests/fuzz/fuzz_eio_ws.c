/* fuzz_eio_ws: libFuzzer target for eio_decode_ws; the first input byte picks text or binary. */
#include "eio_packet.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_packet(const eio_packet *p, void *ud)
{
    (void)p;
    ++*(size_t *)ud;
    return 0;
}

/* Byte 0: bit 0 set = binary frame. The rest is the frame. The input stays libFuzzer's. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool binary = data[0] & 1;
    const uint8_t *frame = data + 1;
    size_t len = size - 1;
    eio_packet p;
    int rc = eio_decode_ws(frame, len, binary, &p);
    if (binary) {
        /* Every binary frame is a message made of all its bytes. */
        if (rc != 0 || !p.binary || p.type != EIO_MESSAGE || p.data != frame || p.len != len)
            abort();
        return 0;
    }
    bool valid = len > 0 && frame[0] >= '0' && frame[0] <= '6';
    if (rc != (valid ? 0 : EIO_EPARSE))
        abort();
    if (rc == 0) {
        if (p.binary || p.type != (eio_ptype)(frame[0] - '0') || p.data != frame + 1 ||
            p.len != len - 1)
            abort();
        size_t sum = 0;
        for (size_t i = 0; i < p.len; i++)
            sum += p.data[i];
        (void)sum;
        /* A text frame without a separator is also a one-packet polling payload. */
        if (!memchr(frame, EIO_RECORD_SEP, len)) {
            size_t n = 0;
            if (eio_decode_payload(frame, len, count_packet, &n) != 0 || n != 1)
                abort();
        }
    }
    return 0;
}
