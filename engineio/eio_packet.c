/* eio_packet: Engine.IO v4 packet and payload codec over plain bytes (no I/O, no allocation kept). */
#include "eio_packet.h"

#include "util_base64.h"

#include <string.h>

/* Fills *out from a text packet rec[0..len): a type digit then the data. Returns 0 or EIO_EPARSE.
 * *out points into rec (borrowed). */
static int decode_text(const uint8_t *rec, size_t len, eio_packet *out)
{
    if (len == 0 || rec[0] < '0' || rec[0] > '0' + EIO_NOOP)
        return EIO_EPARSE;
    out->type = (eio_ptype)(rec[0] - '0');
    out->binary = false;
    out->data = rec + 1;
    out->len = len - 1;
    return 0;
}

/* Decodes one frame. *out points into buf (borrowed from the caller, who keeps ownership). */
int eio_decode_ws(const uint8_t *buf, size_t len, bool binary_frame, eio_packet *out)
{
    if (!binary_frame)
        return decode_text(buf, len, out);
    out->type = EIO_MESSAGE;
    out->binary = true;
    out->data = buf;
    out->len = len;
    return 0;
}

/* Length of the next record of buf[pos..len): the bytes before the next separator or the end. */
static size_t record_len(const uint8_t *buf, size_t pos, size_t len)
{
    const uint8_t *sep = memchr(buf + pos, EIO_RECORD_SEP, len - pos);
    return sep ? (size_t)(sep - (buf + pos)) : len - pos;
}

/* Bytes the padded base64 text b64[0..n) decodes to (n is a multiple of 4 once validated). */
static size_t b64_decoded_len(const uint8_t *b64, size_t n)
{
    size_t pad = (n >= 1 && b64[n - 1] == '=') + (n >= 2 && b64[n - 2] == '=');
    return n / 4 * 3 - pad;
}

/* Decodes a payload in two passes over buf: the first validates every record and decodes the binary
 * ones into one scratch buffer, reserved once for len bytes (decoded base64 is smaller than its
 * text, so it never grows); the second hands out the packets. Packets are borrowed: text points
 * into buf (the caller's), binary into the scratch buffer, which this function owns and frees
 * before returning. */
int eio_decode_payload(const uint8_t *buf, size_t len, eio_packet_cb cb, void *ud)
{
    if (len == 0)
        return EIO_EPARSE;
    util_buf scratch = UTIL_BUF_INIT;
    eio_packet p;
    int rc = 0;
    for (size_t pos = 0;; pos++) {
        size_t n = record_len(buf, pos, len);
        if (n > 0 && buf[pos] == 'b') {
            if (scratch.cap == 0)
                util_buf_reserve(&scratch, len);
            if (util_base64_decode(&scratch, (const char *)buf + pos + 1, n - 1) != 0)
                rc = EIO_EPARSE;
        } else if (decode_text(buf + pos, n, &p) != 0) {
            rc = EIO_EPARSE;
        }
        pos += n;
        if (rc != 0 || pos == len)
            break;
    }
    size_t off = 0;
    for (size_t pos = 0; rc == 0 && pos < len; pos++) {
        size_t n = record_len(buf, pos, len);
        if (buf[pos] == 'b') {
            p.type = EIO_MESSAGE;
            p.binary = true;
            p.len = b64_decoded_len(buf + pos + 1, n - 1);
            p.data = p.len ? scratch.data + off : buf + pos + 1;
            off += p.len;
        } else {
            (void)decode_text(buf + pos, n, &p); /* validated by the first pass */
        }
        rc = cb(&p, ud);
        pos += n;
    }
    util_buf_free(&scratch);
    return rc;
}

/* Appends the polling form of p to out (the caller owns both). */
void eio_encode_polling(util_buf *out, const eio_packet *p)
{
    if (p->binary) {
        util_buf_putc(out, 'b');
        util_base64_encode(out, p->data, p->len);
        return;
    }
    util_buf_putc(out, (uint8_t)('0' + p->type));
    util_buf_append(out, p->data, p->len);
}

/* Pure computation; p stays the caller's. */
size_t eio_polling_len(const eio_packet *p)
{
    if (p->binary)
        return 1 + 4 * ((p->len + 2) / 3);
    return 1 + p->len;
}
