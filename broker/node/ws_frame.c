/* ws_frame: RFC 6455 frame decoding with every receiver-side check, and frame encoding. */
#include "ws_frame.h"

#include <string.h>

void ws_decoder_init(ws_decoder *d, bool server, size_t max_message)
{
    memset(d, 0, sizeof *d);
    d->server = server;
    d->max_message = max_message;
}

void ws_decoder_free(ws_decoder *d)
{
    util_buf_free(&d->frag);
    d->msg_op = 0;
}

void ws_mask(uint8_t *data, size_t len, const uint8_t key[4], size_t off)
{
    uint8_t k[8];
    for (size_t i = 0; i < 8; i++)
        k[i] = key[(off + i) & 3];
    size_t i = 0;
    if (len >= 8) {
        uint64_t k64;
        memcpy(&k64, k, 8);
        for (; i + 8 <= len; i += 8) {
            uint64_t v;
            memcpy(&v, data + i, 8);
            v ^= k64;
            memcpy(data + i, &v, 8);
        }
    }
    for (; i < len; i++)
        data[i] ^= k[i & 7];
}

bool ws_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        /* ASCII runs, eight bytes at a time. */
        while (i + 8 <= len) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if (v & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false; /* continuation byte, overlong lead (C0, C1) or beyond U+10FFFF */
        }
        if (i + need >= len)
            return false; /* truncated sequence */
        for (size_t k = 1; k <= need; k++) {
            uint8_t cc = s[i + k];
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += need + 1;
    }
    return true;
}

static ws_result fail(ws_event *ev, uint16_t code, const char *reason)
{
    ev->close_code = code;
    ev->reason = reason;
    ev->data = NULL;
    ev->len = 0;
    return WS_ERROR;
}

/* Close codes a peer may send (RFC 6455 7.4.1 and the IANA registry: 1012-1014 included). */
static bool close_code_valid(uint16_t c)
{
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

ws_result ws_decode(ws_decoder *d, uint8_t *buf, size_t len, size_t *used, ws_event *ev)
{
    *used = 0;
    memset(ev, 0, sizeof *ev);
    /* A message delivered from the fragment buffer last time has been consumed by now. */
    if (d->msg_op == 0 && d->frag.cap)
        util_buf_free(&d->frag);
    if (len < 2)
        return WS_NEED_MORE;
    uint8_t b0 = buf[0], b1 = buf[1];
    bool fin = b0 & 0x80;
    uint8_t op = b0 & 0x0F;
    bool masked = b1 & 0x80;
    uint64_t plen = b1 & 0x7F;
    if (b0 & 0x70)
        return fail(ev, WS_CLOSE_PROTOCOL, "reserved bits set (no extension was negotiated)");
    bool control = op & 0x8;
    if (op != WS_OP_CONT && op != WS_OP_TEXT && op != WS_OP_BINARY && op != WS_OP_CLOSE &&
        op != WS_OP_PING && op != WS_OP_PONG)
        return fail(ev, WS_CLOSE_PROTOCOL, "unknown opcode");
    if (masked != d->server)
        return fail(ev, WS_CLOSE_PROTOCOL,
                    d->server ? "unmasked frame from a client" : "masked frame from a server");
    size_t hlen = 2;
    if (plen == 126) {
        if (len < 4)
            return WS_NEED_MORE;
        plen = ((uint64_t)buf[2] << 8) | buf[3];
        hlen = 4;
    } else if (plen == 127) {
        if (len < 10)
            return WS_NEED_MORE;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = (plen << 8) | buf[2 + i];
        if (plen >> 63)
            return fail(ev, WS_CLOSE_PROTOCOL, "64-bit length with the top bit set");
        hlen = 10;
    }
    if (control) {
        if (!fin)
            return fail(ev, WS_CLOSE_PROTOCOL, "fragmented control frame");
        if (plen > 125)
            return fail(ev, WS_CLOSE_PROTOCOL, "control frame over 125 bytes");
    } else if (op == WS_OP_CONT) {
        if (!d->msg_op)
            return fail(ev, WS_CLOSE_PROTOCOL, "continuation frame without a message");
        if (plen > d->max_message || d->frag.len + plen > d->max_message)
            return fail(ev, WS_CLOSE_TOO_BIG, "message over the size limit");
    } else {
        if (d->msg_op)
            return fail(ev, WS_CLOSE_PROTOCOL, "new message inside a fragmented one");
        if (plen > d->max_message)
            return fail(ev, WS_CLOSE_TOO_BIG, "message over the size limit");
    }
    size_t mlen = masked ? 4 : 0;
    if ((uint64_t)(len - hlen) < mlen || (uint64_t)(len - hlen - mlen) < plen)
        return WS_NEED_MORE;
    uint8_t *payload = buf + hlen + mlen;
    if (masked)
        ws_mask(payload, (size_t)plen, buf + hlen, 0);
    *used = hlen + mlen + (size_t)plen;

    if (control) {
        ev->opcode = op;
        ev->data = payload;
        ev->len = (size_t)plen;
        if (op != WS_OP_CLOSE)
            return WS_CONTROL;
        ev->close_code = WS_CLOSE_NO_STATUS;
        if (plen == 1)
            return fail(ev, WS_CLOSE_PROTOCOL, "close frame with a one-byte payload");
        if (plen >= 2) {
            uint16_t code = (uint16_t)((payload[0] << 8) | payload[1]);
            if (!close_code_valid(code))
                return fail(ev, WS_CLOSE_PROTOCOL, "invalid close code");
            if (!ws_utf8_valid(payload + 2, (size_t)plen - 2))
                return fail(ev, WS_CLOSE_BAD_DATA, "close reason is not UTF-8");
            ev->close_code = code;
            ev->data = payload + 2;
            ev->len = (size_t)plen - 2;
        }
        return WS_CONTROL;
    }
    if (op != WS_OP_CONT && fin) {
        if (op == WS_OP_TEXT && !ws_utf8_valid(payload, (size_t)plen))
            return fail(ev, WS_CLOSE_BAD_DATA, "text message is not UTF-8");
        ev->opcode = op;
        ev->data = payload;
        ev->len = (size_t)plen;
        return WS_MESSAGE;
    }
    if (op != WS_OP_CONT) {
        d->msg_op = op;
        d->frag.len = 0;
    }
    util_buf_append(&d->frag, payload, (size_t)plen);
    if (!fin)
        return WS_FRAGMENT;
    ev->opcode = d->msg_op;
    d->msg_op = 0;
    if (ev->opcode == WS_OP_TEXT && !ws_utf8_valid(d->frag.data, d->frag.len)) {
        util_buf_free(&d->frag);
        return fail(ev, WS_CLOSE_BAD_DATA, "text message is not UTF-8");
    }
    ev->data = d->frag.data;
    ev->len = d->frag.len;
    return WS_MESSAGE;
}

size_t ws_frame_header(uint8_t *out, uint8_t opcode, uint64_t len)
{
    size_t n = 0;
    out[n++] = (uint8_t)(0x80 | (opcode & 0x0F));
    if (len < 126) {
        out[n++] = (uint8_t)len;
    } else if (len <= 0xffff) {
        out[n++] = 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)(len >> (8 * i));
    }
    return n;
}

void ws_frame_append(util_buf *out, uint8_t opcode, const void *data, size_t len, bool masked,
                     uint32_t mask_key)
{
    uint8_t h[WS_MAX_HEADER];
    size_t hl = ws_frame_header(h, opcode, len);
    if (masked) {
        h[1] |= 0x80;
        h[hl++] = (uint8_t)(mask_key >> 24);
        h[hl++] = (uint8_t)(mask_key >> 16);
        h[hl++] = (uint8_t)(mask_key >> 8);
        h[hl++] = (uint8_t)mask_key;
    }
    util_buf_reserve(out, hl + len);
    util_buf_append(out, h, hl);
    if (!len)
        return;
    size_t at = out->len;
    util_buf_append(out, data, len);
    if (masked)
        ws_mask(out->data + at, len, h + hl - 4, 0);
}
