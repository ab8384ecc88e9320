/* fuzz_eio_payload: libFuzzer target for eio_decode_payload (polling payloads). */
#include "eio_packet.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Per-input state: the callback re-encodes every packet it is handed. */
typedef struct fuzz_ctx {
    util_buf enc;   /**< packets re-encoded in the polling form, joined by 0x1E; owned */
    size_t calls;   /**< callback calls */
    size_t touched; /**< sum of all packet bytes, so every byte is read */
} fuzz_ctx;

static int check_packet(const eio_packet *p, void *ud)
{
    fuzz_ctx *c = ud;
    if (p->type < EIO_OPEN || p->type > EIO_NOOP || (p->binary && p->type != EIO_MESSAGE))
        abort();
    if (p->len && !p->data)
        abort();
    for (size_t i = 0; i < p->len; i++)
        c->touched += p->data[i];
    if (c->calls++)
        util_buf_putc(&c->enc, EIO_RECORD_SEP);
    size_t before = c->enc.len;
    eio_encode_polling(&c->enc, p);
    if (c->enc.len - before != eio_polling_len(p))
        abort();
    return 0;
}

/* Decodes data; on success re-encodes the packets, decodes that again and requires the same
 * encoding back (decode and encode agree). The input stays libFuzzer's. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_ctx a = {UTIL_BUF_INIT, 0, 0};
    int rc = eio_decode_payload(data, size, check_packet, &a);
    if (rc != 0) {
        if (rc != EIO_EPARSE || a.calls != 0)
            abort();
    } else {
        if (a.calls == 0)
            abort();
        fuzz_ctx b = {UTIL_BUF_INIT, 0, 0};
        if (eio_decode_payload(a.enc.data, a.enc.len, check_packet, &b) != 0 ||
            b.calls != a.calls || b.enc.len != a.enc.len ||
            memcmp(a.enc.data, b.enc.data, a.enc.len) != 0)
            abort();
        util_buf_free(&b.enc);
    }
    util_buf_free(&a.enc);
    return 0;
}
