/* test_rd_codec: the socket.io-redis codec against tests/vectors/redis and hostile input. */
#include "rd_codec.h"

#include "util_alloc.h"
#include "sio_binary.h"
#include "util_buf.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDIS_VECTORS SIO_VECTOR_DIR "/redis/"

/* ---- vector files ---------------------------------------------------------------------------- */

enum { MAX_FIELDS = 8 };

/** One case line: its fields up to the first one starting with '#'. */
typedef struct vcase {
    const char *file;
    int line;
    char *f[MAX_FIELDS];
    size_t nf;
} vcase;

typedef void (*case_fn)(const vcase *c);

/* Calls fn for every case line of tests/vectors/redis/name; returns the number of cases. */
static int for_each_case(const char *name, case_fn fn)
{
    char path[1024];
    snprintf(path, sizeof path, "%s%s", REDIS_VECTORS, name);
    FILE *fp = fopen(path, "r");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0, n = 0;
    while ((got = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        vcase c = {name, lineno, {NULL}, 0};
        char *save = NULL;
        for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
            if (t[0] == '#')
                break;
            ck_assert_msg(c.nf < MAX_FIELDS, "%s:%d: too many fields", name, lineno);
            c.f[c.nf++] = t;
        }
        if (c.nf == 0)
            continue;
        fn(&c);
        n++;
    }
    free(line);
    fclose(fp);
    return n;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Appends the bytes of hex text h to out; fails the test on malformed hex. */
static void unhex(util_buf *out, const char *h, const vcase *c)
{
    size_t n = strlen(h);
    ck_assert_msg(n % 2 == 0, "%s:%d: odd hex", c->file, c->line);
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(h[i]), lo = hexval(h[i + 1]);
        ck_assert_msg(hi >= 0 && lo >= 0, "%s:%d: bad hex", c->file, c->line);
        util_buf_putc(out, (uint8_t)(hi << 4 | lo));
    }
}

/* Appends text with \s (space) and \\ (backslash) decoded. */
static void untext(util_buf *out, const char *t)
{
    for (; *t; t++) {
        if (t[0] == '\\' && t[1] == 's') {
            util_buf_putc(out, ' ');
            t++;
        } else if (t[0] == '\\' && t[1] == '\\') {
            util_buf_putc(out, '\\');
            t++;
        } else {
            util_buf_putc(out, (uint8_t)*t);
        }
    }
}

/* Decodes an INPUT/OUT field of the request files: json:TEXT or hex:HEX. */
static void payload(util_buf *out, const char *field, const vcase *c)
{
    if (strncmp(field, "json:", 5) == 0)
        untext(out, field + 5);
    else if (strncmp(field, "hex:", 4) == 0)
        unhex(out, field + 4, c);
    else
        ck_abort_msg("%s:%d: payload must be json: or hex:", c->file, c->line);
}

/* Replaces every {"$bin":"HEX"} of v by a binary value. Returns a new reference; steals v. */
static json_t *with_bins(json_t *v)
{
    if (json_is_object(v) && json_object_size(v) == 1 &&
        json_is_string(json_object_get(v, "$bin"))) {
        const char *h = json_string_value(json_object_get(v, "$bin"));
        util_buf b = UTIL_BUF_INIT;
        for (size_t i = 0; h[i] && h[i + 1]; i += 2)
            util_buf_putc(&b, (uint8_t)(hexval(h[i]) << 4 | hexval(h[i + 1])));
        json_t *bin = sio_binary_new(b.data, b.len);
        util_buf_free(&b);
        json_decref(v);
        return bin;
    }
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_set_new(v, i, with_bins(json_incref(json_array_get(v, i))));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, x)
        {
            json_object_set_new(v, k, with_bins(json_incref(x)));
        }
    }
    return v;
}

/* Parses an EXPECT field. Returns a new reference. */
static json_t *expect_json(const char *text, const vcase *c)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    ck_assert_msg(v != NULL, "%s:%d: bad expected JSON: %s", c->file, c->line, je.text);
    return with_bins(v);
}

static char *hexdump(const uint8_t *p, size_t n)
{
    char *s = util_malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", p[i]);
    s[2 * n] = '\0';
    return s;
}

/* Fails unless got equals want, showing both in hex. */
static void assert_bytes(const util_buf *got, const util_buf *want, const vcase *c,
                         const char *what)
{
    if (got->len == want->len && (got->len == 0 || memcmp(got->data, want->data, got->len) == 0))
        return;
    char *g = hexdump(got->data, got->len), *w = hexdump(want->data, want->len);
    ck_abort_msg("%s:%d: %s\n got  %s\n want %s", c->file, c->line, what, g, w);
}

/* A heap copy of exactly n bytes, so that ASan sees any read past the end. */
static uint8_t *exact(const uint8_t *p, size_t n)
{
    uint8_t *q = util_malloc(n ? n : 1);
    if (n)
        memcpy(q, p, n);
    return q;
}

/* ---- msgpack values -------------------------------------------------------------------------- */

static void msgpack_valid_case(const vcase *c)
{
    ck_assert_msg(c->nf == 3, "%s:%d: want HEX JSON OUT", c->file, c->line);
    util_buf in = UTIL_BUF_INIT, want = UTIL_BUF_INIT, got = UTIL_BUF_INIT;
    unhex(&in, c->f[0], c);
    json_t *exp = expect_json(c->f[1], c);
    json_t *v = NULL;
    const char *err = NULL;
    uint8_t *buf = exact(in.data, in.len);
    ck_assert_msg(rd_msgpack_to_json(buf, in.len, &v, &err) == 0, "%s:%d: rejected: %s", c->file,
                  c->line, err);
    if (!json_equal(v, exp)) {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        ck_abort_msg("%s:%d: decoded %s", c->file, c->line, s ? s : "(binary)");
    }
    rd_json_to_msgpack(&got, v);
    if (strcmp(c->f[2], "=") == 0)
        util_buf_append(&want, in.data, in.len);
    else
        unhex(&want, c->f[2], c);
    assert_bytes(&got, &want, c, "re-encoded");

    /* The re-encoded bytes decode to the same tree. */
    json_t *again = NULL;
    ck_assert_int_eq(rd_msgpack_to_json(got.data, got.len, &again, &err), 0);
    ck_assert_msg(json_equal(again, v), "%s:%d: round trip differs", c->file, c->line);

    /* Every strict prefix is incomplete. */
    for (size_t n = 0; n < in.len; n++) {
        uint8_t *p = exact(in.data, n);
        json_t *t = NULL;
        err = NULL;
        ck_assert_msg(rd_msgpack_to_json(p, n, &t, &err) == -1 && t == NULL && err,
                      "%s:%d: prefix of %zu bytes accepted", c->file, c->line, n);
        util_free(p);
    }
    util_free(buf);
    json_decref(again);
    json_decref(v);
    json_decref(exp);
    util_buf_free(&in);
    util_buf_free(&want);
    util_buf_free(&got);
}

static void msgpack_invalid_case(const vcase *c)
{
    util_buf in = UTIL_BUF_INIT;
    unhex(&in, c->f[0], c);
    uint8_t *buf = exact(in.data, in.len);
    json_t *v = (json_t *)1;
    const char *err = NULL;
    ck_assert_msg(rd_msgpack_to_json(buf, in.len, &v, &err) == -1, "%s:%d: accepted", c->file,
                  c->line);
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(err);
    util_free(buf);
    util_buf_free(&in);
}

START_TEST(msgpack_vectors)
{
    ck_assert_int_gt(for_each_case("msgpack_valid.txt", msgpack_valid_case), 5);
    ck_assert_int_gt(for_each_case("msgpack_notepack.txt", msgpack_valid_case), 100);
    ck_assert_int_gt(for_each_case("msgpack_invalid.txt", msgpack_invalid_case), 30);
}
END_TEST

/* Encodes v (stolen) and compares with hex. */
static void enc_is(json_t *v, const char *hex)
{
    util_buf got = UTIL_BUF_INIT, want = UTIL_BUF_INIT;
    vcase c = {"enc_is", 0, {NULL}, 0};
    rd_json_to_msgpack(&got, v);
    unhex(&want, hex, &c);
    assert_bytes(&got, &want, &c, hex);
    json_t *back = NULL;
    const char *err = NULL;
    ck_assert_int_eq(rd_msgpack_to_json(got.data, got.len, &back, &err), 0);
    ck_assert(json_equal(back, v));
    json_decref(back);
    json_decref(v);
    util_buf_free(&got);
    util_buf_free(&want);
}

START_TEST(encode_smallest_forms)
{
    /* Integers at every boundary, as notepack picks them (captured: 128, 300, 70000, 2^40, -33). */
    enc_is(json_integer(0), "00");
    enc_is(json_integer(127), "7f");
    enc_is(json_integer(128), "cc80");
    enc_is(json_integer(255), "ccff");
    enc_is(json_integer(256), "cd0100");
    enc_is(json_integer(300), "cd012c");
    enc_is(json_integer(65535), "cdffff");
    enc_is(json_integer(65536), "ce00010000");
    enc_is(json_integer(70000), "ce00011170");
    enc_is(json_integer(4294967295LL), "ceffffffff");
    enc_is(json_integer(4294967296LL), "cf0000000100000000");
    enc_is(json_integer(1LL << 40), "cf0000010000000000");
    enc_is(json_integer(INT64_MAX), "cf7fffffffffffffff");
    enc_is(json_integer(-1), "ff");
    enc_is(json_integer(-32), "e0");
    enc_is(json_integer(-33), "d0df");
    enc_is(json_integer(-128), "d080");
    enc_is(json_integer(-129), "d1ff7f");
    enc_is(json_integer(-32768), "d18000");
    enc_is(json_integer(-32769), "d2ffff7fff");
    enc_is(json_integer(-2147483648LL), "d280000000");
    enc_is(json_integer(-2147483649LL), "d3ffffffff7fffffff");
    enc_is(json_integer(INT64_MIN), "d38000000000000000");
    /* Reals are always float64, integral or not. */
    enc_is(json_real(2.0), "cb4000000000000000");
    enc_is(json_real(0.5), "cb3fe0000000000000");
    enc_is(json_real(-0.0), "cb8000000000000000");
    enc_is(json_null(), "c0");
    enc_is(json_true(), "c3");
    enc_is(json_false(), "c2");
    enc_is(json_string(""), "a0");
    enc_is(sio_binary_new(NULL, 0), "c400");
    enc_is(json_array(), "90");
    enc_is(json_object(), "80");

    /* The JSON "2" is an integer, "2.0" a real. */
    json_t *two = json_loads("[2,2.0]", 0, NULL);
    enc_is(two, "9202cb4000000000000000");
}
END_TEST

/* Encodes v (stolen) and checks the header bytes and the total length, then decodes it back. */
static void enc_head(json_t *v, const char *head_hex, size_t total)
{
    util_buf got = UTIL_BUF_INIT, head = UTIL_BUF_INIT;
    vcase c = {"enc_head", 0, {NULL}, 0};
    rd_json_to_msgpack(&got, v);
    unhex(&head, head_hex, &c);
    ck_assert_uint_eq(got.len, total);
    ck_assert_msg(memcmp(got.data, head.data, head.len) == 0, "header of %s", head_hex);
    json_t *back = NULL;
    const char *err = NULL;
    ck_assert_msg(rd_msgpack_to_json(got.data, got.len, &back, &err) == 0, "%s", err);
    ck_assert(json_equal(back, v));
    json_decref(back);
    json_decref(v);
    util_buf_free(&got);
    util_buf_free(&head);
}

START_TEST(encode_large_forms)
{
    char *s = util_malloc(65537);
    memset(s, 'x', 65536);
    s[65536] = '\0';
    enc_head(json_stringn(s, 65535), "daffff", 3 + 65535);
    enc_head(json_stringn(s, 65536), "db00010000", 5 + 65536);
    enc_head(sio_binary_new(s, 65535), "c5ffff", 3 + 65535);
    enc_head(sio_binary_new(s, 65536), "c600010000", 5 + 65536);
    util_free(s);

    json_t *a = json_array();
    for (int i = 0; i < 65536; i++)
        json_array_append_new(a, json_integer(1));
    enc_head(json_incref(a), "dd00010000", 5 + 65536);
    json_array_remove(a, 0);
    enc_head(a, "dcffff", 3 + 65535);

    json_t *m = json_object();
    size_t keys_len = 0;
    for (int i = 0; i < 65536; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "%05d", i);
        json_object_set_new(m, k, json_null());
        keys_len += 1 + (size_t)n + 1; /* fixstr header, key, nil */
    }
    enc_head(m, "df00010000", 5 + keys_len);
}
END_TEST

START_TEST(decode_hostile)
{
    json_t *v = NULL;
    const char *err = NULL;

    /* Nothing at all. */
    ck_assert_int_eq(rd_msgpack_to_json(NULL, 0, &v, &err), -1);
    ck_assert_int_eq(rd_msgpack_to_json((const uint8_t *)"", 0, &v, NULL), -1);

    /* Huge declared sizes fail on the headers, before msgpack-c allocates anything. */
    static const char *const huge[] = {"ddffffffff", "dfffffffff",     "dbffffffff",
                                       "c6ffffffff", "dd00ffffff0000", "de8000c0c0"};
    for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
        util_buf b = UTIL_BUF_INIT;
        vcase c = {"huge", (int)i, {NULL}, 0};
        unhex(&b, huge[i], &c);
        ck_assert_int_eq(rd_msgpack_to_json(b.data, b.len, &v, &err), -1);
        ck_assert_ptr_null(v);
        util_buf_free(&b);
    }
    ck_assert_str_eq(
        rd_msgpack_to_json((const uint8_t *)"\xdd\xff\xff\xff\xff\xc0", 6, &v, &err) ? err : "",
        "msgpack container declares more elements than bytes remain");

    /* Depth: 32 nested containers pass, 33 and 1000 do not (arrays and maps). */
    uint8_t deep[2100];
    for (int depth = 30; depth <= 1000; depth += depth < 40 ? 1 : 480) {
        memset(deep, 0x91, (size_t)depth);
        deep[depth] = 0xc0;
        int rc = rd_msgpack_to_json(deep, (size_t)depth + 1, &v, &err);
        ck_assert_msg(rc == (depth <= RD_MAX_DEPTH ? 0 : -1), "depth %d", depth);
        json_decref(v);
        for (int i = 0; i < depth; i++) {
            deep[2 * i] = 0x81;
            deep[2 * i + 1] = 0xa0; /* key "" */
        }
        deep[2 * depth] = 0xc0;
        rc = rd_msgpack_to_json(deep, 2 * (size_t)depth + 1, &v, &err);
        ck_assert_msg(rc == (depth <= RD_MAX_DEPTH ? 0 : -1), "map depth %d", depth);
        json_decref(v);
    }

    /* Element count: RD_MAX_ELEMENTS values pass, one more does not. */
    size_t n = RD_MAX_ELEMENTS;
    uint8_t *big = util_malloc(5 + n + 1);
    big[0] = 0xdd;
    for (size_t extra = 0; extra <= 1; extra++) {
        uint32_t cnt = (uint32_t)(n + extra);
        big[1] = (uint8_t)(cnt >> 24);
        big[2] = (uint8_t)(cnt >> 16);
        big[3] = (uint8_t)(cnt >> 8);
        big[4] = (uint8_t)cnt;
        memset(big + 5, 0xc0, cnt);
        int rc = rd_msgpack_to_json(big, 5 + cnt, &v, &err);
        ck_assert_int_eq(rc, extra ? -1 : 0);
        if (!extra)
            ck_assert_uint_eq(json_array_size(v), n);
        json_decref(v);
    }
    util_free(big);
}
END_TEST

/* ---- broadcasts ------------------------------------------------------------------------------ */

static json_t *string_list(char *const *l, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(l[i]));
    return a;
}

/* The EXPECT form of b. Returns a new reference. */
static json_t *broadcast_json(const rd_broadcast *b)
{
    return json_pack("{s:o,s:s,s:O,s:o,s:o,s:b,s:o}", "uid",
                     b->uid ? json_string(b->uid) : json_null(), "nsp", b->nsp, "data", b->data,
                     "rooms", string_list(b->rooms, b->n_rooms), "except",
                     string_list(b->except, b->n_except), "volatile", b->volatile_, "compress",
                     b->compress_set ? json_boolean(b->compress) : json_null());
}

static void broadcast_valid_case(const vcase *c)
{
    ck_assert_msg(c->nf == 4, "%s:%d: want CHANNEL HEX EXPECT OUT", c->file, c->line);
    util_buf in = UTIL_BUF_INIT, want = UTIL_BUF_INIT, got = UTIL_BUF_INIT;
    unhex(&in, c->f[1], c);
    json_t *exp = expect_json(c->f[2], c);
    rd_broadcast b;
    const char *err = NULL;
    uint8_t *buf = exact(in.data, in.len);
    ck_assert_msg(rd_broadcast_decode(buf, in.len, &b, &err) == 0, "%s:%d: rejected: %s", c->file,
                  c->line, err);
    util_free(buf);
    json_t *dec = broadcast_json(&b);
    if (!json_equal(dec, exp)) {
        json_t *d = json_pack("{s:O,s:O,s:O,s:O}", "uid", json_object_get(dec, "uid"), "nsp",
                              json_object_get(dec, "nsp"), "rooms", json_object_get(dec, "rooms"),
                              "except", json_object_get(dec, "except"));
        char *s = json_dumps(d, JSON_COMPACT);
        ck_abort_msg("%s:%d: decoded differently (%s...)", c->file, c->line, s);
    }

    /* Re-encoding in the sender's key order. */
    const char *out = c->f[3];
    bool emitter = strncmp(out, "emitter", 7) == 0;
    ck_assert_msg(emitter || strncmp(out, "adapter", 7) == 0, "%s:%d: OUT", c->file, c->line);
    if (out[7] == ':')
        unhex(&want, out + 8, c);
    else
        util_buf_append(&want, in.data, in.len);
    rd_broadcast_encode(&got, &b, emitter);
    assert_bytes(&got, &want, c, "re-encoded");

    /* Both key orders decode back to the same struct. */
    for (int order = 0; order < 2; order++) {
        util_buf_reset(&got);
        rd_broadcast_encode(&got, &b, order);
        rd_broadcast b2;
        ck_assert_int_eq(rd_broadcast_decode(got.data, got.len, &b2, &err), 0);
        json_t *d2 = broadcast_json(&b2);
        ck_assert_msg(json_equal(d2, dec), "%s:%d: order %d round trip", c->file, c->line, order);
        json_decref(d2);
        rd_broadcast_clear(&b2);
    }

    /* As an ack BROADCAST request, it carries the same broadcast. */
    util_buf_reset(&got);
    rd_request_encode_broadcast(&got, "req1", &b, 1000);
    json_t *req = NULL;
    ck_assert_msg(rd_request_decode(got.data, got.len, &req, &err) == 0, "%s:%d: %s", c->file,
                  c->line, err);
    ck_assert_str_eq(rd_request_str(req, "requestId"), "req1");
    rd_broadcast b3;
    ck_assert_int_eq(rd_request_broadcast(req, &b3, &err), 0);
    json_t *d3 = broadcast_json(&b3);
    ck_assert_msg(json_equal(d3, dec), "%s:%d: request round trip", c->file, c->line);
    json_decref(d3);
    rd_broadcast_clear(&b3);
    json_decref(req);

    /* The channel: its room is one of rooms, and it is built back from that room. */
    if (strcmp(c->f[0], "-") != 0) {
        util_buf ch = UTIL_BUF_INIT, again = UTIL_BUF_INIT;
        untext(&ch, c->f[0]);
        char *room = (char *)1;
        ck_assert_int_eq(rd_channel_room((const char *)ch.data, ch.len, "socket.io", b.nsp, &room),
                         0);
        if (room) {
            bool found = false;
            for (size_t i = 0; i < b.n_rooms; i++)
                found |= strcmp(b.rooms[i], room) == 0;
            ck_assert_msg(found, "%s:%d: channel room %s not in rooms", c->file, c->line, room);
        }
        rd_channel_broadcast(&again, "socket.io", b.nsp, room);
        assert_bytes(&again, &ch, c, "channel");
        util_free(room);
        util_buf_free(&ch);
        util_buf_free(&again);
    }

    /* Every strict prefix is rejected. */
    for (size_t n = 0; n < in.len; n++) {
        uint8_t *p = exact(in.data, n);
        rd_broadcast t;
        ck_assert_msg(rd_broadcast_decode(p, n, &t, &err) == -1, "%s:%d: prefix %zu accepted",
                      c->file, c->line, n);
        ck_assert_ptr_null(t.data);
        util_free(p);
    }

    rd_broadcast_clear(&b);
    rd_broadcast_clear(&b); /* idempotent */
    json_decref(dec);
    json_decref(exp);
    util_buf_free(&in);
    util_buf_free(&want);
    util_buf_free(&got);
}

static void broadcast_invalid_case(const vcase *c)
{
    util_buf in = UTIL_BUF_INIT;
    unhex(&in, c->f[0], c);
    uint8_t *buf = exact(in.data, in.len);
    rd_broadcast b;
    const char *err = NULL;
    ck_assert_msg(rd_broadcast_decode(buf, in.len, &b, &err) == -1, "%s:%d: accepted", c->file,
                  c->line);
    ck_assert_ptr_nonnull(err);
    ck_assert(b.uid == NULL && b.data == NULL && b.nsp == NULL && b.rooms == NULL);
    rd_broadcast_clear(&b);
    util_free(buf);
    util_buf_free(&in);
}

START_TEST(broadcast_vectors)
{
    ck_assert_int_gt(for_each_case("broadcast_valid.txt", broadcast_valid_case), 30);
    ck_assert_int_gt(for_each_case("broadcast_captured.txt", broadcast_valid_case), 15);
    ck_assert_int_gt(for_each_case("broadcast_invalid.txt", broadcast_invalid_case), 30);
}
END_TEST

START_TEST(broadcast_errors_named)
{
    /* The reasons the notes single out come back as such. */
    static const struct {
        const char *hex, *err;
    } cases[] = {
        {"92a7656d697474657283a47479706502a46461746191a178a36e7370a12f",
         "broadcast array has fewer than 3 elements [uid, packet, opts]"},
        {"93a658793132616283a47479706505a46461746191a178a36e7370a12f80",
         "packet.type 5 (BINARY_EVENT, socket.io 2) would break v4 clients"},
        {"93a7656d697474657283a47479706502a46461746191a178a36e7370c4012f80",
         "packet.nsp is binary, not a string"},
        {"93a7656d697474657283a47479706502a46461746191c40178a36e7370a12f80",
         "packet.data is not an array starting with the event name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        util_buf b = UTIL_BUF_INIT;
        vcase c = {"named", (int)i, {NULL}, 0};
        unhex(&b, cases[i].hex, &c);
        rd_broadcast out;
        const char *err = NULL;
        ck_assert_int_eq(rd_broadcast_decode(b.data, b.len, &out, &err), -1);
        ck_assert_str_eq(err, cases[i].err);
        util_buf_free(&b);
    }
}
END_TEST

START_TEST(broadcast_encode_defaults)
{
    /* NULL uid, nsp and data; duplicate rooms written once; both flags. */
    char *rooms[] = {"r1", "r2", "r1"}, *except[] = {"x", "x"};
    rd_broadcast b = {NULL, NULL, NULL, rooms, 3, except, 2, true, true, false};
    util_buf out = UTIL_BUF_INIT, want = UTIL_BUF_INIT;
    vcase c = {"defaults", 0, {NULL}, 0};
    rd_broadcast_encode(&out, &b, false);
    unhex(&want,
          "93c083a47479706502a46461746190a36e7370a12f83a5726f6f6d7392a27231a27232a665786365707491"
          "a178a5666c61677382a8766f6c6174696c65c3a8636f6d7072657373c2",
          &c);
    assert_bytes(&out, &want, &c, "defaults");
    /* data [] has no event name: the decoder refuses what it could not deliver */
    rd_broadcast d;
    const char *err = NULL;
    ck_assert_int_eq(rd_broadcast_decode(out.data, out.len, &d, &err), -1);
    util_buf_free(&out);
    util_buf_free(&want);

    rd_broadcast zero = {0};
    rd_broadcast_clear(&zero);
    rd_broadcast_clear(NULL);
}
END_TEST

/* ---- channels -------------------------------------------------------------------------------- */

static void channel_is(void (*fn)(util_buf *, const char *, const char *, const char *),
                       const char *key, const char *nsp, const char *extra, const char *want)
{
    util_buf b = UTIL_BUF_INIT;
    fn(&b, key, nsp, extra);
    util_buf_putc(&b, 0);
    ck_assert_str_eq((const char *)b.data, want);
    util_buf_free(&b);
}

START_TEST(channels)
{
    channel_is(rd_channel_broadcast, "socket.io", "/", NULL, "socket.io#/#");
    channel_is(rd_channel_broadcast, "socket.io", "/chat", "room1", "socket.io#/chat#room1#");
    channel_is(rd_channel_broadcast, "socket.io", "/", "7zITUT4yBBrBi-YTAAAC",
               "socket.io#/#7zITUT4yBBrBi-YTAAAC#");
    channel_is(rd_channel_response, "socket.io", "/", NULL, "socket.io-response#/#");
    channel_is(rd_channel_response, "socket.io", "/", "dXKmqp", "socket.io-response#/#dXKmqp#");
    channel_is(rd_channel_response, "k", "/chat", NULL, "k-response#/chat#");
    /* siobroker's control channels (rd_control.h): never matched by an adapter's "K#NSP#*". */
    util_buf cb = UTIL_BUF_INIT;
    rd_channel_control(&cb, "socket.io", NULL);
    rd_channel_control(&cb, "socket.io", "alpha");
    rd_channel_control_reply(&cb, "k", NULL);
    rd_channel_control_reply(&cb, "k", "Tok");
    util_buf_putc(&cb, 0);
    ck_assert_str_eq(
        (const char *)cb.data,
        "socket.io#siobroker#socket.io#siobroker#alpha#k#siobroker-reply#k#siobroker-reply#Tok#");
    util_buf_free(&cb);
    util_buf b = UTIL_BUF_INIT;
    rd_channel_request(&b, "socket.io", "/");
    util_buf_putc(&b, 0);
    ck_assert_str_eq((const char *)b.data, "socket.io-request#/#");
    util_buf_free(&b);

    static const struct {
        const char *channel, *nsp;
        int rc;
        const char *room;
    } rooms[] = {
        {"socket.io#/#", "/", 0, NULL},
        {"socket.io#/##", "/", 0, NULL},
        {"socket.io#/#room1#", "/", 0, "room1"},
        {"socket.io#/#a#b#", "/", 0, "a#b"},
        {"socket.io#/#room with space#", "/", 0, "room with space"},
        {"socket.io#/chat#room1#", "/chat", 0, "room1"},
        {"socket.io#/chat#room1#", "/", -1, NULL},
        {"socket.io#/chatroom#", "/chat", -1, NULL},
        {"socket.io#/#room1", "/", -1, NULL},
        {"socket.io#/", "/", -1, NULL},
        {"socket.io-request#/#", "/", -1, NULL},
        {"other#/#room1#", "/", -1, NULL},
        {"socket.iox/#", "/", -1, NULL},
        {"", "/", -1, NULL},
    };
    for (size_t i = 0; i < sizeof rooms / sizeof *rooms; i++) {
        char *room = (char *)1;
        int rc = rd_channel_room(rooms[i].channel, strlen(rooms[i].channel), "socket.io",
                                 rooms[i].nsp, &room);
        ck_assert_msg(rc == rooms[i].rc, "%s", rooms[i].channel);
        if (rooms[i].room)
            ck_assert_str_eq(room, rooms[i].room);
        else
            ck_assert_ptr_null(room);
        util_free(room);
    }
    char *room = (char *)1;
    ck_assert_int_eq(rd_channel_room("k#/#a\0b#", 8, "k", "/", &room), -1);
    ck_assert_ptr_null(room);
}
END_TEST

/* ---- requests -------------------------------------------------------------------------------- */

static int decode_kind(const char *kind, const uint8_t *p, size_t n, json_t **out, const char **err)
{
    if (strcmp(kind, "req") == 0)
        return rd_request_decode(p, n, out, err);
    ck_assert_str_eq(kind, "resp");
    return rd_response_decode(p, n, out, err);
}

static void request_valid_case(const vcase *c)
{
    ck_assert_msg(c->nf == 4, "%s:%d: want KIND INPUT EXPECT OUT", c->file, c->line);
    util_buf in = UTIL_BUF_INIT, want = UTIL_BUF_INIT, got = UTIL_BUF_INIT;
    payload(&in, c->f[1], c);
    json_t *exp = expect_json(c->f[2], c);
    json_t *v = NULL;
    const char *err = NULL;
    uint8_t *buf = exact(in.data, in.len);
    ck_assert_msg(decode_kind(c->f[0], buf, in.len, &v, &err) == 0, "%s:%d: rejected: %s", c->file,
                  c->line, err);
    util_free(buf);
    ck_assert_msg(json_equal(v, exp), "%s:%d: decoded differently", c->file, c->line);
    rd_request_encode(&got, v);
    if (strcmp(c->f[3], "=") == 0)
        util_buf_append(&want, in.data, in.len);
    else
        payload(&want, c->f[3], c);
    assert_bytes(&got, &want, c, "re-encoded");

    /* Prefixes: never a valid message (JSON text ending in whitespace excepted). */
    size_t end = in.len;
    while (end > 0 && (in.data[end - 1] == ' ' || in.data[end - 1] == '\n'))
        end--;
    for (size_t n = 0; n < end; n++) {
        uint8_t *p = exact(in.data, n);
        json_t *t = NULL;
        ck_assert_msg(decode_kind(c->f[0], p, n, &t, &err) == -1, "%s:%d: prefix %zu accepted",
                      c->file, c->line, n);
        util_free(p);
    }
    json_decref(v);
    json_decref(exp);
    util_buf_free(&in);
    util_buf_free(&want);
    util_buf_free(&got);
}

static void request_invalid_case(const vcase *c)
{
    util_buf in = UTIL_BUF_INIT;
    payload(&in, c->f[1], c);
    uint8_t *buf = exact(in.data, in.len);
    json_t *v = (json_t *)1;
    const char *err = NULL;
    ck_assert_msg(decode_kind(c->f[0], buf, in.len, &v, &err) == -1, "%s:%d: accepted", c->file,
                  c->line);
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(err);
    util_free(buf);
    util_buf_free(&in);
}

START_TEST(request_vectors)
{
    ck_assert_int_gt(for_each_case("request_valid.txt", request_valid_case), 25);
    ck_assert_int_gt(for_each_case("request_captured.txt", request_valid_case), 8);
    ck_assert_int_gt(for_each_case("request_invalid.txt", request_invalid_case), 40);
}
END_TEST

START_TEST(request_golden_broadcast)
{
    /* §3.3 A10, byte for byte from the struct, and its ack reply. */
    static const char a10[] =
        "85a3756964a659306576784aa9726571756573744964a647357a327839a47479706507a67061636b657483a4"
        "7479706502a46461746192a661642d61636b2aa36e7370a12fa46f70747383a5726f6f6d7390a66578636570"
        "7490a5666c61677381a774696d656f7574cd07d0";
    static const char ack[] = "83a474797065"
                              "09a9726571756573744964a647357a327839a67061636b6574a662312d61636b";
    vcase c = {"golden", 0, {NULL}, 0};
    util_buf in = UTIL_BUF_INIT, out = UTIL_BUF_INIT, want = UTIL_BUF_INIT;
    unhex(&in, a10, &c);
    json_t *req = NULL;
    const char *err = NULL;
    ck_assert_int_eq(rd_request_decode(in.data, in.len, &req, &err), 0);
    ck_assert_int_eq(rd_request_type_of(req), RD_REQ_BROADCAST);
    ck_assert_str_eq(rd_request_str(req, "uid"), "Y0evxJ");
    ck_assert_str_eq(rd_request_str(req, "requestId"), "G5z2x9");
    ck_assert_ptr_null(rd_request_str(req, "type"));
    rd_broadcast b;
    ck_assert_int_eq(rd_request_broadcast(req, &b, &err), 0);
    ck_assert_str_eq(b.uid, "Y0evxJ");
    ck_assert_str_eq(b.nsp, "/");
    ck_assert_uint_eq(b.n_rooms, 0);
    ck_assert_uint_eq(b.n_except, 0);
    ck_assert(!b.volatile_ && !b.compress_set);
    json_t *data = json_pack("[s,i]", "ad-ack", 42);
    ck_assert(json_equal(b.data, data));
    json_decref(data);
    rd_request_encode_broadcast(&out, "G5z2x9", &b, 2000);
    assert_bytes(&out, &in, &c, "A10 from the struct");
    util_buf_reset(&out);
    rd_json_to_msgpack(&out, req);
    assert_bytes(&out, &in, &c, "A10 from the tree");

    util_buf_reset(&out);
    json_t *v = json_string("b1-ack");
    rd_request_encode_broadcast_ack(&out, "G5z2x9", v);
    json_decref(v);
    unhex(&want, ack, &c);
    assert_bytes(&out, &want, &c, "type 9 ack");
    json_t *resp = NULL;
    ck_assert_int_eq(rd_response_decode(out.data, out.len, &resp, &err), 0);
    ck_assert_int_eq(rd_request_type_of(resp), RD_REQ_BROADCAST_ACK);
    ck_assert_str_eq(json_string_value(json_object_get(resp, "packet")), "b1-ack");
    json_decref(resp);

    /* An ack of undefined leaves packet out. */
    util_buf_reset(&out);
    rd_request_encode_broadcast_ack(&out, "G5z2x9", NULL);
    ck_assert_int_eq(rd_response_decode(out.data, out.len, &resp, &err), 0);
    ck_assert_uint_eq(json_object_size(resp), 2);
    json_decref(resp);

    /* A request of another type is not a broadcast. */
    rd_broadcast_clear(&b);
    json_t *other = json_pack("{s:s,s:i}", "requestId", "x", "type", 1);
    ck_assert_int_eq(rd_request_broadcast(other, &b, &err), -1);
    ck_assert_ptr_null(b.data);
    json_decref(other);

    json_decref(req);
    util_buf_free(&in);
    util_buf_free(&out);
    util_buf_free(&want);
}
END_TEST

START_TEST(request_json_encoding)
{
    /* Compact, key order kept, UTF-8 as is; binary as Node's Buffer JSON. */
    json_t *req = json_object();
    json_object_set_new(req, "type", json_integer(6));
    json_object_set_new(req, "requestId", json_string("o4rM5M"));
    json_object_set_new(req, "data", sio_binary_new("\x01\xff", 2));
    json_object_set_new(req, "z", json_string("\xc3\xa9/"));
    util_buf out = UTIL_BUF_INIT;
    rd_request_encode_json(&out, req);
    util_buf_putc(&out, 0);
    ck_assert_str_eq((const char *)out.data,
                     "{\"type\":6,\"requestId\":\"o4rM5M\",\"data\":{\"type\":"
                     "\"Buffer\",\"data\":[1,255]},\"z\":\"\xc3\xa9/\"}");
    /* rd_request_encode keeps the binary by writing msgpack instead. */
    util_buf_reset(&out);
    rd_request_encode(&out, req);
    ck_assert_uint_eq(out.data[0], 0x84);
    json_t *back = NULL;
    const char *err = NULL;
    ck_assert_int_eq(rd_response_decode(out.data, out.len, &back, &err), 0);
    ck_assert(json_equal(back, req));
    json_decref(back);
    json_decref(req);
    util_buf_free(&out);
}
END_TEST

static Suite *rd_codec_suite(void)
{
    Suite *s = suite_create("rd_codec");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, msgpack_vectors);
    tcase_add_test(tc, encode_smallest_forms);
    tcase_add_test(tc, encode_large_forms);
    tcase_add_test(tc, decode_hostile);
    tcase_add_test(tc, broadcast_vectors);
    tcase_add_test(tc, broadcast_errors_named);
    tcase_add_test(tc, broadcast_encode_defaults);
    tcase_add_test(tc, channels);
    tcase_add_test(tc, request_vectors);
    tcase_add_test(tc, request_golden_broadcast);
    tcase_add_test(tc, request_json_encoding);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rd_codec_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
