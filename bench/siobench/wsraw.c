/* wsraw: the WebSocket client protocol of siobench's raw transport (RFC 6455): handshake text and
 * check, masked client frames, and a parser of server frames that works on whole reads. */
#define _GNU_SOURCE /* memmem */
#include "wsraw.h"

#include "util_base64.h"

#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

uint64_t sb_wsr_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Writes the base64 of in[0..len) plus a NUL into out (cap bytes, enough for the text). */
static void b64(char *out, size_t cap, const uint8_t *in, size_t len)
{
    util_buf b = UTIL_BUF_INIT;
    util_base64_encode(&b, in, len);
    size_t n = b.len < cap - 1 ? b.len : cap - 1;
    memcpy(out, b.data, n);
    out[n] = '\0';
    util_buf_free(&b);
}

void sb_wsr_key(char key[SB_WSR_KEY_LEN + 1], uint64_t *rng)
{
    uint64_t r[2] = {sb_wsr_rand(rng), sb_wsr_rand(rng)};
    b64(key, SB_WSR_KEY_LEN + 1, (const uint8_t *)r, sizeof r);
}

void sb_wsr_accept(const char *key, char out[SB_WSR_ACCEPT_LEN + 1])
{
    char in[128];
    int n = snprintf(in, sizeof in, "%s%s", key, ws_guid);
    if (n < 0 || (size_t)n >= sizeof in)
        n = 0;
    uint8_t md[SHA_DIGEST_LENGTH];
    SHA1((const uint8_t *)in, (size_t)n, md);
    b64(out, SB_WSR_ACCEPT_LEN + 1, md, sizeof md);
}

size_t sb_wsr_request(char *out, size_t cap, const char *host, int port, const char *path_query,
                      const char *key)
{
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "\r\n",
                     path_query, host, port, key);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* True when the comma-separated value v[0..n) holds token (case-insensitive). */
static bool has_token(const char *v, size_t n, const char *token)
{
    size_t tl = strlen(token);
    const char *end = v + n;
    while (v < end) {
        while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
            v++;
        const char *t = v;
        while (v < end && *v != ',')
            v++;
        const char *te = v;
        while (te > t && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        if ((size_t)(te - t) == tl && strncasecmp(t, token, tl) == 0)
            return true;
    }
    return false;
}

long sb_wsr_response(const char *in, size_t len, const char *key)
{
    const char *eoh = memmem(in, len, "\r\n\r\n", 4);
    if (!eoh)
        return len > 16384 ? -1 : 0;
    size_t head = (size_t)(eoh - in) + 4;
    if (head < 13 || (strncmp(in, "HTTP/1.1 101", 12) != 0 && strncmp(in, "HTTP/1.0 101", 12)) ||
        (in[12] != ' ' && in[12] != '\r'))
        return -1;
    char want[SB_WSR_ACCEPT_LEN + 1];
    sb_wsr_accept(key, want);
    bool upgrade = false, connection = false, accept = false;
    const char *line = (const char *)memchr(in, '\n', head) + 1;
    while (line < eoh + 2) {
        const char *le = memchr(line, '\n', (size_t)(eoh + 2 - line));
        if (!le)
            break;
        const char *ve = le > line && le[-1] == '\r' ? le - 1 : le;
        const char *colon = memchr(line, ':', (size_t)(ve - line));
        if (colon) {
            size_t nl = (size_t)(colon - line);
            const char *v = colon + 1;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            const char *vend = ve;
            while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
                vend--;
            size_t vl = (size_t)(vend - v);
            if (nl == 7 && strncasecmp(line, "upgrade", 7) == 0)
                upgrade = has_token(v, vl, "websocket");
            else if (nl == 10 && strncasecmp(line, "connection", 10) == 0)
                connection = has_token(v, vl, "upgrade");
            else if (nl == 20 && strncasecmp(line, "sec-websocket-accept", 20) == 0)
                accept = vl == SB_WSR_ACCEPT_LEN && memcmp(v, want, vl) == 0;
        }
        line = le + 1;
    }
    return upgrade && connection && accept ? (long)head : -1;
}

size_t sb_wsr_frame(uint8_t *out, unsigned opcode, const void *payload, size_t len, uint32_t mask)
{
    size_t n = 0;
    out[n++] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        out[n++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        out[n++] = 0x80 | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint8_t m[8] = {(uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8),
                    (uint8_t)mask};
    memcpy(m + 4, m, 4);
    memcpy(out + n, m, 4);
    n += 4;
    const uint8_t *src = payload;
    uint8_t *dst = out + n;
    uint64_t m8;
    memcpy(&m8, m, 8);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        v ^= m8;
        memcpy(dst + i, &v, 8);
    }
    for (; i < len; i++)
        dst[i] = src[i] ^ m[i & 3];
    return n + len;
}

/* Header length of the frame whose first two bytes are h. */
static size_t hdr_len(const uint8_t *h)
{
    size_t n = 2;
    uint8_t l = h[1] & 0x7f;
    if (l == 126)
        n += 2;
    else if (l == 127)
        n += 8;
    if (h[1] & 0x80)
        n += 4;
    return n;
}

/* Payload length of the frame whose complete header is h. */
static uint64_t payload_len(const uint8_t *h)
{
    uint8_t l = h[1] & 0x7f;
    if (l < 126)
        return l;
    if (l == 126)
        return (uint64_t)h[2] << 8 | h[3];
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[2 + i];
    return v;
}

/* True when the complete header h is acceptable from a server: no RSV bits (no extension is
 * negotiated), not masked, a known opcode, control frames final and at most 125 bytes, and a
 * payload within SB_WSR_MAX_MESSAGE. Checked as soon as the header is in, before the payload. */
static bool header_ok(const uint8_t *h)
{
    unsigned op = h[0] & 0x0f;
    if ((h[0] & 0x70) || (h[1] & 0x80))
        return false;
    if (op >= 8)
        return (h[0] & 0x80) && (h[1] & 0x7f) <= 125 &&
               (op == SB_WSR_CLOSE || op == SB_WSR_PING || op == SB_WSR_PONG);
    return op <= SB_WSR_BINARY && payload_len(h) <= SB_WSR_MAX_MESSAGE;
}

/* Total length of the frame at h[0..avail) (header + payload), 0 while its header is incomplete,
 * or UINT64_MAX when the header is not acceptable (header_ok). */
static uint64_t frame_total(const uint8_t *h, size_t avail)
{
    if (avail < 2)
        return 0;
    size_t hl = hdr_len(h);
    if (avail < hl)
        return 0;
    return header_ok(h) ? hl + payload_len(h) : UINT64_MAX;
}

/* Handles one complete frame whose header passed header_ok: header h, payload data[0..pl). */
static int on_frame(sb_wsr_parser *p, const uint8_t *h, const uint8_t *data, size_t pl,
                    sb_wsr_msg_cb cb, void *ud)
{
    bool fin = h[0] & 0x80;
    unsigned op = h[0] & 0x0f;
    if (op >= 8)
        return cb(ud, op, data, pl);
    if (op == SB_WSR_CONT) {
        if (!p->frag_op || p->frag.len + pl > SB_WSR_MAX_MESSAGE)
            return -1;
        util_buf_append(&p->frag, data, pl);
        if (!fin)
            return 0;
        op = p->frag_op;
        p->frag_op = 0;
        int r = cb(ud, op, p->frag.len ? p->frag.data : (const uint8_t *)"", p->frag.len);
        util_buf_reset(&p->frag);
        return r;
    }
    if (p->frag_op) /* a new message inside a fragmented one */
        return -1;
    if (fin)
        return cb(ud, op, data, pl);
    p->frag_op = (uint8_t)op;
    util_buf_append(&p->frag, data, pl);
    return 0;
}

int sb_wsr_parse(sb_wsr_parser *p, const uint8_t *in, size_t len, sb_wsr_msg_cb cb, void *ud)
{
    /* First complete a frame left over from the previous read, taking only its own bytes. */
    while (p->part.len && len) {
        uint64_t total = frame_total(p->part.data, p->part.len);
        if (total == UINT64_MAX)
            return -1;
        size_t need;
        if (total)
            need = (size_t)(total - p->part.len);
        else if (p->part.len < 2)
            need = 2 - p->part.len;
        else
            need = hdr_len(p->part.data) - p->part.len;
        size_t n = need < len ? need : len;
        util_buf_append(&p->part, in, n);
        in += n;
        len -= n;
        total = frame_total(p->part.data, p->part.len);
        if (total == UINT64_MAX)
            return -1;
        if (total && p->part.len == total) {
            const uint8_t *h = p->part.data;
            size_t hl = hdr_len(h);
            int r = on_frame(p, h, h + hl, (size_t)(total - hl), cb, ud);
            util_buf_reset(&p->part);
            if (r)
                return r;
        }
    }
    /* Then every frame wholly inside this read, in place. */
    while (len >= 2) {
        size_t hl = hdr_len(in);
        if (len < hl)
            break;
        if (!header_ok(in))
            return -1;
        uint64_t pl = payload_len(in);
        if (len - hl < pl)
            break;
        int r = on_frame(p, in, in + hl, (size_t)pl, cb, ud);
        if (r)
            return r;
        in += hl + pl;
        len -= hl + (size_t)pl;
    }
    if (len)
        util_buf_append(&p->part, in, len);
    return 0;
}

void sb_wsr_parser_free(sb_wsr_parser *p)
{
    util_buf_free(&p->part);
    util_buf_free(&p->frag);
    p->frag_op = 0;
}
