/* Unit tests of the node's pure decoders: WebSocket frames (ws_frame: RFC 6455 vectors, every
 * receiver-side rule, fragmentation, splits) and HTTP/1.1 request heads (http_parse: limits,
 * keep-alive, pipelining, chunked bodies, upgrades, targets). Byte vectors; no I/O. */
#include "http_parse.h"
#include "ws_frame.h"

#include "util_alloc.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ws_frame -------------------------------------------------------------------------------- */

/* Decodes one frame from a copy of bytes (the decoder unmasks in place). */
static ws_result decode1(ws_decoder *d, const void *bytes, size_t len, size_t *used, ws_event *ev,
                         uint8_t *copy)
{
    memcpy(copy, bytes, len);
    return ws_decode(d, copy, len, used, ev);
}

/* RFC 6455 section 5.7: a masked "Hello" from a client. */
static const uint8_t k_masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                         0x7f, 0x9f, 0x4d, 0x51, 0x58};

START_TEST(ws_rfc_masked_hello)
{
    ws_decoder d;
    ws_decoder_init(&d, true, 1 << 20);
    uint8_t buf[64];
    size_t used;
    ws_event ev;
    ck_assert_int_eq(decode1(&d, k_masked_hello, sizeof k_masked_hello, &used, &ev, buf),
                     WS_MESSAGE);
    ck_assert_uint_eq(used, sizeof k_masked_hello);
    ck_assert_int_eq(ev.opcode, WS_OP_TEXT);
    ck_assert_uint_eq(ev.len, 5);
    ck_assert_int_eq(memcmp(ev.data, "Hello", 5), 0);
    /* every shorter prefix asks for more and consumes nothing */
    for (size_t n = 0; n < sizeof k_masked_hello; n++) {
        ck_assert_int_eq(decode1(&d, k_masked_hello, n, &used, &ev, buf), WS_NEED_MORE);
        ck_assert_uint_eq(used, 0);
    }
    ws_decoder_free(&d);
}
END_TEST

/* Appends a masked client frame (mask key fixed) with flags byte b0. */
static void client_frame(util_buf *out, uint8_t b0, const void *data, size_t len)
{
    size_t at = out->len;
    ws_frame_append(out, b0 & 0x0F, data, len, true, 0x11223344u);
    out->data[at] = b0; /* FIN/RSV as asked */
}

START_TEST(ws_protocol_errors)
{
    static const struct {
        uint8_t b0;
        const char *payload;
        size_t len;
        uint16_t code;
    } cases[] = {
        {0xC1, "x", 1, WS_CLOSE_PROTOCOL},                /* RSV1 without an extension */
        {0x83, "x", 1, WS_CLOSE_PROTOCOL},                /* reserved opcode 3 */
        {0x8B, "x", 1, WS_CLOSE_PROTOCOL},                /* reserved control opcode 0xB */
        {0x80, "x", 1, WS_CLOSE_PROTOCOL},                /* continuation without a message */
        {0x09, "x", 1, WS_CLOSE_PROTOCOL},                /* fragmented ping */
        {0x81, "\xc0\x80", 2, WS_CLOSE_BAD_DATA},         /* overlong NUL */
        {0x81, "\xed\xa0\x80", 3, WS_CLOSE_BAD_DATA},     /* surrogate */
        {0x81, "\xf4\x90\x80\x80", 4, WS_CLOSE_BAD_DATA}, /* beyond U+10FFFF */
        {0x81, "\xe2\x82", 2, WS_CLOSE_BAD_DATA},         /* truncated */
        {0x88, "\x03", 1, WS_CLOSE_PROTOCOL},             /* one-byte close payload */
        {0x88, "\x03\xed", 2, WS_CLOSE_PROTOCOL},         /* close code 1005 may not be sent */
        {0x88, "\x03\xe7", 2, WS_CLOSE_PROTOCOL},         /* close code 999 */
        {0x88, "\x03\xe8\xff", 3, WS_CLOSE_BAD_DATA},     /* close reason not UTF-8 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ws_decoder d;
        ws_decoder_init(&d, true, 1 << 20);
        util_buf f = UTIL_BUF_INIT;
        client_frame(&f, cases[i].b0, cases[i].payload, cases[i].len);
        size_t used;
        ws_event ev;
        ck_assert_msg(ws_decode(&d, f.data, f.len, &used, &ev) == WS_ERROR, "case %zu", i);
        ck_assert_msg(ev.close_code == cases[i].code, "case %zu: code %u", i, ev.close_code);
        ck_assert_ptr_nonnull(ev.reason);
        util_buf_free(&f);
        ws_decoder_free(&d);
    }
}
END_TEST

START_TEST(ws_unmasked_client_frame_is_refused)
{
    ws_decoder d;
    ws_decoder_init(&d, true, 1 << 20);
    uint8_t frame[] = {0x81, 0x02, 'h', 'i'};
    size_t used;
    ws_event ev;
    ck_assert_int_eq(ws_decode(&d, frame, sizeof frame, &used, &ev), WS_ERROR);
    ck_assert_uint_eq(ev.close_code, WS_CLOSE_PROTOCOL);
    ws_decoder_free(&d);
    /* ...and a client refuses a masked frame from a server */
    ws_decoder_init(&d, false, 1 << 20);
    util_buf f = UTIL_BUF_INIT;
    ws_frame_append(&f, WS_OP_TEXT, "hi", 2, true, 7);
    ck_assert_int_eq(ws_decode(&d, f.data, f.len, &used, &ev), WS_ERROR);
    uint8_t plain[] = {0x82, 0x01, 0xff};
    ck_assert_int_eq(ws_decode(&d, plain, sizeof plain, &used, &ev), WS_MESSAGE);
    ck_assert_int_eq(ev.opcode, WS_OP_BINARY);
    util_buf_free(&f);
    ws_decoder_free(&d);
}
END_TEST

START_TEST(ws_fragments_with_interleaved_ping)
{
    ws_decoder d;
    ws_decoder_init(&d, true, 1 << 20);
    util_buf f = UTIL_BUF_INIT;
    client_frame(&f, 0x01, "He", 2);   /* text, not final */
    client_frame(&f, 0x89, "p", 1);    /* ping between fragments */
    client_frame(&f, 0x00, "l", 1);    /* continuation */
    client_frame(&f, 0x80, "lo", 2);   /* final continuation */
    client_frame(&f, 0x82, "\x01", 1); /* a binary message after it */
    size_t off = 0, used;
    ws_event ev;
    ck_assert_int_eq(ws_decode(&d, f.data + off, f.len - off, &used, &ev), WS_FRAGMENT);
    off += used;
    ck_assert_int_eq(ws_decode(&d, f.data + off, f.len - off, &used, &ev), WS_CONTROL);
    ck_assert_int_eq(ev.opcode, WS_OP_PING);
    ck_assert_uint_eq(ev.len, 1);
    off += used;
    ck_assert_int_eq(ws_decode(&d, f.data + off, f.len - off, &used, &ev), WS_FRAGMENT);
    off += used;
    ck_assert_int_eq(ws_decode(&d, f.data + off, f.len - off, &used, &ev), WS_MESSAGE);
    ck_assert_int_eq(ev.opcode, WS_OP_TEXT);
    ck_assert_uint_eq(ev.len, 5);
    ck_assert_int_eq(memcmp(ev.data, "Hello", 5), 0);
    off += used;
    ck_assert_int_eq(ws_decode(&d, f.data + off, f.len - off, &used, &ev), WS_MESSAGE);
    ck_assert_int_eq(ev.opcode, WS_OP_BINARY);
    off += used;
    ck_assert_uint_eq(off, f.len);
    util_buf_free(&f);
    /* a new message inside a fragmented one is refused */
    client_frame(&f, 0x01, "a", 1);
    client_frame(&f, 0x81, "b", 1);
    ck_assert_int_eq(ws_decode(&d, f.data, f.len, &used, &ev), WS_FRAGMENT);
    ck_assert_int_eq(ws_decode(&d, f.data + used, f.len - used, &used, &ev), WS_ERROR);
    ck_assert_uint_eq(ev.close_code, WS_CLOSE_PROTOCOL);
    util_buf_free(&f);
    ws_decoder_free(&d);
}
END_TEST

START_TEST(ws_size_limit_before_payload)
{
    ws_decoder d;
    ws_decoder_init(&d, true, 100);
    /* a header announcing 1000 bytes is refused with nothing of the payload there */
    uint8_t h[] = {0x82, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4};
    size_t used;
    ws_event ev;
    ck_assert_int_eq(ws_decode(&d, h, sizeof h, &used, &ev), WS_ERROR);
    ck_assert_uint_eq(ev.close_code, WS_CLOSE_TOO_BIG);
    /* fragments adding up past the limit too */
    ws_decoder_free(&d);
    ws_decoder_init(&d, true, 100);
    uint8_t big[80];
    memset(big, 'a', sizeof big);
    util_buf f = UTIL_BUF_INIT;
    client_frame(&f, 0x01, big, sizeof big);
    client_frame(&f, 0x80, big, sizeof big);
    ck_assert_int_eq(ws_decode(&d, f.data, f.len, &used, &ev), WS_FRAGMENT);
    ck_assert_int_eq(ws_decode(&d, f.data + used, f.len - used, &used, &ev), WS_ERROR);
    ck_assert_uint_eq(ev.close_code, WS_CLOSE_TOO_BIG);
    util_buf_free(&f);
    ws_decoder_free(&d);
    /* a 64-bit length with the top bit set */
    ws_decoder_init(&d, true, 100);
    uint8_t h64[] = {0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
    ck_assert_int_eq(ws_decode(&d, h64, sizeof h64, &used, &ev), WS_ERROR);
    ck_assert_uint_eq(ev.close_code, WS_CLOSE_PROTOCOL);
    ws_decoder_free(&d);
}
END_TEST

START_TEST(ws_lengths_round_trip)
{
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *payload = util_malloc(n + 1);
        for (size_t k = 0; k < n; k++)
            payload[k] = (uint8_t)(k * 7);
        util_buf f = UTIL_BUF_INIT;
        ws_frame_append(&f, WS_OP_BINARY, payload, n, true, 0xdeadbeefu);
        ck_assert_uint_eq(f.len, n + 4 + (n < 126 ? 2 : n <= 0xffff ? 4 : 10));
        ws_decoder d;
        ws_decoder_init(&d, true, 1 << 20);
        size_t used;
        ws_event ev;
        ck_assert_int_eq(ws_decode(&d, f.data, f.len, &used, &ev), WS_MESSAGE);
        ck_assert_uint_eq(used, f.len);
        ck_assert_uint_eq(ev.len, n);
        ck_assert(n == 0 || memcmp(ev.data, payload, n) == 0);
        /* the unmasked server form decodes in a client's decoder */
        uint8_t hdr[WS_MAX_HEADER];
        size_t hl = ws_frame_header(hdr, WS_OP_BINARY, n);
        ck_assert_uint_eq(hl, n < 126 ? 2 : n <= 0xffff ? 4 : 10);
        util_buf_free(&f);
        ws_decoder_free(&d);
        util_free(payload);
    }
}
END_TEST

START_TEST(ws_close_frames)
{
    ws_decoder d;
    ws_decoder_init(&d, true, 1 << 20);
    util_buf f = UTIL_BUF_INIT;
    client_frame(&f, 0x88,
                 "\x03\xe8"
                 "bye",
                 5);
    size_t used;
    ws_event ev;
    ck_assert_int_eq(ws_decode(&d, f.data, f.len, &used, &ev), WS_CONTROL);
    ck_assert_int_eq(ev.opcode, WS_OP_CLOSE);
    ck_assert_uint_eq(ev.close_code, 1000);
    ck_assert_uint_eq(ev.len, 3);
    util_buf_free(&f);
    client_frame(&f, 0x88, "", 0);
    ck_assert_int_eq(ws_decode(&d, f.data, f.len, &used, &ev), WS_CONTROL);
    ck_assert_uint_eq(ev.close_code, WS_CLOSE_NO_STATUS);
    util_buf_free(&f);
    client_frame(&f, 0x88, "\x0f\xa0", 2); /* 4000: an application code */
    ck_assert_int_eq(ws_decode(&d, f.data, f.len, &used, &ev), WS_CONTROL);
    ck_assert_uint_eq(ev.close_code, 4000);
    util_buf_free(&f);
    ws_decoder_free(&d);
}
END_TEST

START_TEST(ws_utf8)
{
    ck_assert(ws_utf8_valid((const uint8_t *)"", 0));
    ck_assert(ws_utf8_valid((const uint8_t *)"plain ascii text, long enough for words", 39));
    ck_assert(ws_utf8_valid((const uint8_t *)"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    ck_assert(!ws_utf8_valid((const uint8_t *)"\x80", 1));
    ck_assert(!ws_utf8_valid((const uint8_t *)"abcdefgh\xff", 9));
    ck_assert(!ws_utf8_valid((const uint8_t *)"\xe0\x80\x80", 3)); /* overlong 3-byte */
    ck_assert(!ws_utf8_valid((const uint8_t *)"\xf0\x80\x80\x80", 4));
    ck_assert(ws_utf8_valid((const uint8_t *)"\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
}
END_TEST

/* ---- http_parse ------------------------------------------------------------------------------ */

/** What a test parse saw. */
typedef struct seen {
    http_head heads[4];
    int n_heads;
    int n_complete;
    util_buf body;
    int stop_at_head; /* return non-zero from the head callback of this request (1-based) */
} seen;

static http_head *t_begin(void *ud)
{
    seen *s = ud;
    ck_assert_int_lt(s->n_heads, 4);
    http_head *h = &s->heads[s->n_heads++];
    memset(h, 0, sizeof *h);
    return h;
}

static int t_head(void *ud)
{
    seen *s = ud;
    return s->stop_at_head == s->n_heads;
}

static int t_body(void *ud, const char *at, size_t len)
{
    util_buf_append(&((seen *)ud)->body, at, len);
    return 0;
}

static int t_complete(void *ud)
{
    ((seen *)ud)->n_complete++;
    return 0;
}

static const http_in_cbs k_cbs = {t_begin, t_head, t_body, t_complete};

static void seen_free(seen *s)
{
    for (int i = 0; i < s->n_heads; i++)
        http_head_free(&s->heads[i]);
    util_buf_free(&s->body);
}

/* Feeds text whole, or byte by byte; returns the last result and the total consumed. */
static http_in_result feed(http_in *in, const char *text, size_t len, bool bytewise, size_t *used)
{
    *used = 0;
    http_in_result r = HTTP_IN_MORE;
    if (!bytewise) {
        return http_in_feed(in, (const uint8_t *)text, len, used);
    }
    for (size_t i = 0; i < len; i++) {
        size_t u;
        r = http_in_feed(in, (const uint8_t *)text + i, 1, &u);
        *used += u;
        if (r != HTTP_IN_MORE)
            break;
    }
    return r;
}

START_TEST(http_get_with_query_and_headers)
{
    static const char req[] = "GET /socket.io/?EIO=4&transport=polling&t=a%20b+c&x HTTP/1.1\r\n"
                              "Host: example.com\r\nX-Multi: one\r\nX-Trail:  v  \r\n"
                              "X-Empty:\r\nx-multi: two\r\nCookie: a=1\r\n\r\n";
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        seen s = {0};
        http_in in;
        http_in_init(&in, &k_cbs, &s, 8192, 16384);
        size_t used;
        ck_assert_int_eq(feed(&in, req, sizeof req - 1, bytewise, &used), HTTP_IN_PAUSED);
        ck_assert_uint_eq(used, sizeof req - 1);
        ck_assert_int_eq(s.n_heads, 1);
        ck_assert_int_eq(s.n_complete, 1);
        http_head *h = &s.heads[0];
        ck_assert_int_eq(h->method, HTTP_GET);
        ck_assert(h->keep_alive);
        ck_assert(!h->upgrade);
        ck_assert_str_eq(h->path, "/socket.io/");
        char out[32];
        ck_assert_str_eq(http_head_query_arg(h, "EIO", out, sizeof out), "4");
        ck_assert_str_eq(http_head_query_arg(h, "t", out, sizeof out), "a b c");
        ck_assert_ptr_null(http_head_query_arg(h, "x", out, sizeof out)); /* no '=' */
        ck_assert_ptr_null(http_head_query_arg(h, "sid", out, sizeof out));
        ck_assert_str_eq(http_head_header(h, "host"), "example.com");
        ck_assert_str_eq(http_head_header(h, "x-multi"), "one");
        ck_assert_str_eq(http_head_header(h, "x-trail"), "v");
        ck_assert_str_eq(http_head_header(h, "x-empty"), "");
        ck_assert_str_eq(http_head_header(h, "cookie"), "a=1");
        ck_assert_int_eq(h->content_length, -1);
        seen_free(&s);
    }
}
END_TEST

START_TEST(http_keep_alive_rules)
{
    static const struct {
        const char *req;
        bool keep;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nconnection: Close\r\n\r\n", false},
        {"GET / HTTP/1.0\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seen s = {0};
        http_in in;
        http_in_init(&in, &k_cbs, &s, 8192, 16384);
        size_t used;
        ck_assert_int_eq(feed(&in, cases[i].req, strlen(cases[i].req), false, &used),
                         HTTP_IN_PAUSED);
        ck_assert_msg(s.heads[0].keep_alive == cases[i].keep, "case %zu", i);
        seen_free(&s);
    }
}
END_TEST

START_TEST(http_pipelined_requests_wait_their_turn)
{
    static const char two[] =
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    seen s = {0};
    http_in in;
    http_in_init(&in, &k_cbs, &s, 8192, 16384);
    size_t used;
    ck_assert_int_eq(http_in_feed(&in, (const uint8_t *)two, sizeof two - 1, &used),
                     HTTP_IN_PAUSED);
    ck_assert_uint_eq(used, (sizeof two - 1) / 2);
    ck_assert_int_eq(s.n_heads, 1);
    ck_assert_str_eq(s.heads[0].path, "/a");
    http_in_resume(&in);
    size_t used2;
    ck_assert_int_eq(http_in_feed(&in, (const uint8_t *)two + used, sizeof two - 1 - used, &used2),
                     HTTP_IN_PAUSED);
    ck_assert_uint_eq(used + used2, sizeof two - 1);
    ck_assert_int_eq(s.n_heads, 2);
    ck_assert_str_eq(s.heads[1].path, "/b");
    seen_free(&s);
}
END_TEST

START_TEST(http_bodies_fixed_and_chunked)
{
    static const char fixed[] = "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    static const char chunked[] =
        "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n";
    const char *reqs[] = {fixed, chunked};
    for (int i = 0; i < 2; i++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            seen s = {0};
            http_in in;
            http_in_init(&in, &k_cbs, &s, 8192, 16384);
            size_t used;
            ck_assert_int_eq(feed(&in, reqs[i], strlen(reqs[i]), bytewise, &used), HTTP_IN_PAUSED);
            ck_assert_uint_eq(used, strlen(reqs[i]));
            ck_assert_int_eq(s.heads[0].method, HTTP_POST);
            ck_assert_int_eq(s.heads[0].content_length, i == 0 ? 5 : -1);
            ck_assert_uint_eq(s.body.len, 5);
            ck_assert_int_eq(memcmp(s.body.data, "hello", 5), 0);
            seen_free(&s);
        }
    }
}
END_TEST

START_TEST(http_limits_and_garbage)
{
    /* a target over max_url: 414; headers over max_hdr: 431; not HTTP: 400 */
    char *url = util_malloc(9000);
    memcpy(url, "GET /", 5);
    memset(url + 5, 'a', 8000);
    strcpy(url + 8005, " HTTP/1.1\r\n\r\n");
    char *hdr = util_malloc(20000);
    strcpy(hdr, "GET / HTTP/1.1\r\nX-Big: ");
    size_t hl = strlen(hdr);
    memset(hdr + hl, 'b', 17000);
    strcpy(hdr + hl + 17000, "\r\n\r\n");
    static const struct {
        int status;
        const char *req;
    } cases[] = {{414, NULL},
                 {431, NULL},
                 {400, "\x16\x03\x01\x02\x00 TLS hello"},
                 {400, "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *req = i == 0 ? url : i == 1 ? hdr : cases[i].req;
        seen s = {0};
        http_in in;
        http_in_init(&in, &k_cbs, &s, 4096, 16384);
        size_t used;
        ck_assert_int_eq(feed(&in, req, strlen(req), false, &used), HTTP_IN_ERROR);
        ck_assert_msg(http_in_error_status(&in) == cases[i].status, "case %zu: %d", i,
                      http_in_error_status(&in));
        ck_assert_ptr_nonnull(http_in_error_text(&in));
        seen_free(&s);
    }
    util_free(url);
    util_free(hdr);
}
END_TEST

START_TEST(http_upgrade_leaves_the_rest)
{
    static const char req[] = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
                              "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n\x81\x80XXXX";
    seen s = {0};
    http_in in;
    http_in_init(&in, &k_cbs, &s, 8192, 16384);
    size_t used;
    ck_assert_int_eq(http_in_feed(&in, (const uint8_t *)req, sizeof req - 1, &used),
                     HTTP_IN_UPGRADE);
    ck_assert_uint_eq(used, sizeof req - 1 - 6); /* the frame after the head is not consumed */
    ck_assert(s.heads[0].upgrade);
    ck_assert(http_has_token(http_head_header(&s.heads[0], "connection"), "upgrade"));
    ck_assert(http_has_token("keep-alive, Upgrade", "upgrade"));
    ck_assert(!http_has_token("upgrader", "upgrade"));
    seen_free(&s);
}
END_TEST

START_TEST(http_targets)
{
    static const struct {
        const char *target;
        const char *path;
        const char *query;
        bool bad;
    } cases[] = {
        {"/a%2Fb?x=1", "/a/b", "x=1", false},
        {"/a%00b", "/a", "", true},
        {"http://host:80/socket.io/?EIO=4", "/socket.io/", "EIO=4", false},
        {"/p#frag", "/p", "", false},
        {"/p?q=1#frag", "/p", "q=1", false},
        {"/%zz", "/%zz", "", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[256];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", cases[i].target);
        seen s = {0};
        http_in in;
        http_in_init(&in, &k_cbs, &s, 8192, 16384);
        size_t used;
        http_in_result r = http_in_feed(&in, (const uint8_t *)req, strlen(req), &used);
        ck_assert_msg(r == HTTP_IN_PAUSED, "case %zu: %d", i, r);
        ck_assert_msg(s.heads[0].bad_target == cases[i].bad, "case %zu", i);
        if (!cases[i].bad) {
            ck_assert_str_eq(s.heads[0].path, cases[i].path);
            ck_assert_str_eq(s.heads[0].query, cases[i].query);
        }
        seen_free(&s);
    }
}
END_TEST

START_TEST(http_head_callback_stops)
{
    static const char req[] = "POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    seen s = {.stop_at_head = 1};
    http_in in;
    http_in_init(&in, &k_cbs, &s, 8192, 16384);
    size_t used;
    ck_assert_int_eq(http_in_feed(&in, (const uint8_t *)req, sizeof req - 1, &used),
                     HTTP_IN_STOPPED);
    ck_assert_uint_eq(s.body.len, 0);
    seen_free(&s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("node_wire");
    TCase *ws = tcase_create("ws_frame");
    tcase_add_test(ws, ws_rfc_masked_hello);
    tcase_add_test(ws, ws_protocol_errors);
    tcase_add_test(ws, ws_unmasked_client_frame_is_refused);
    tcase_add_test(ws, ws_fragments_with_interleaved_ping);
    tcase_add_test(ws, ws_size_limit_before_payload);
    tcase_add_test(ws, ws_lengths_round_trip);
    tcase_add_test(ws, ws_close_frames);
    tcase_add_test(ws, ws_utf8);
    suite_add_tcase(s, ws);
    TCase *http = tcase_create("http_parse");
    tcase_add_test(http, http_get_with_query_and_headers);
    tcase_add_test(http, http_keep_alive_rules);
    tcase_add_test(http, http_pipelined_requests_wait_their_turn);
    tcase_add_test(http, http_bodies_fixed_and_chunked);
    tcase_add_test(http, http_limits_and_garbage);
    tcase_add_test(http, http_upgrade_leaves_the_rest);
    tcase_add_test(http, http_targets);
    tcase_add_test(http, http_head_callback_stops);
    suite_add_tcase(s, http);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
