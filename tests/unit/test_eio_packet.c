/* test_eio_packet: the Engine.IO packet and payload codec, from tests/vectors/engineio and by hand. */
#include "eio_packet.h"
#include "util_alloc.h"
#include "vec.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static vec_file g_pay_valid, g_pay_invalid, g_ws_valid, g_ws_invalid;

/** Packets a decode handed to its callback, copied out. */
typedef struct collected {
    vec_packet *p;     /**< copies; owned */
    size_t n;          /**< packets collected */
    const uint8_t *in; /**< the input, to check that text packets are views into it */
    size_t in_len;     /**< its length */
    size_t stop_at;    /**< return stop_rc on this packet (1-based); 0 = never */
    int stop_rc;       /**< value returned to stop */
} collected;

static void collected_free(collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        util_buf_free(&c->p[i].data);
    util_free(c->p);
    memset(c, 0, sizeof *c);
}

static int collect_cb(const eio_packet *p, void *ud)
{
    collected *c = ud;
    ck_assert_int_ge(p->type, EIO_OPEN);
    ck_assert_int_le(p->type, EIO_NOOP);
    if (p->binary)
        ck_assert_int_eq(p->type, EIO_MESSAGE);
    else if (c->in) {
        ck_assert_ptr_nonnull(p->data);
        ck_assert(p->data >= c->in + 1 && p->data + p->len <= c->in + c->in_len);
    }
    c->p = util_realloc(c->p, (c->n + 1) * sizeof *c->p);
    vec_packet *v = &c->p[c->n++];
    v->kind = p->binary ? 'b' : (char)('0' + p->type);
    v->data = (util_buf)UTIL_BUF_INIT;
    util_buf_append(&v->data, p->data, p->len);
    return c->stop_at == c->n ? c->stop_rc : 0;
}

/* Copies a case's input into a buffer of exactly its size, so ASan sees any overread. The caller
 * frees it with util_free. */
static uint8_t *exact_copy(const util_buf *b)
{
    uint8_t *p = util_malloc(b->len);
    if (b->len)
        memcpy(p, b->data, b->len);
    return p;
}

static void assert_packets(const vec_case *c, const vec_packet *got, size_t ngot)
{
    ck_assert_msg(ngot == c->nexpect, "line %d: %zu packets, expected %zu", c->line, ngot,
                  c->nexpect);
    for (size_t i = 0; i < ngot; i++) {
        const vec_packet *e = &c->expect[i], *g = &got[i];
        ck_assert_msg(g->kind == e->kind, "line %d packet %zu: kind %c, expected %c", c->line, i,
                      g->kind, e->kind);
        ck_assert_msg(g->data.len == e->data.len, "line %d packet %zu: %zu bytes, expected %zu",
                      c->line, i, g->data.len, e->data.len);
        if (e->data.len)
            ck_assert_msg(memcmp(g->data.data, e->data.data, e->data.len) == 0,
                          "line %d packet %zu: data differs", c->line, i);
    }
}

static eio_packet packet_of(const vec_packet *v)
{
    eio_packet p = {v->kind == 'b' ? EIO_MESSAGE : (eio_ptype)(v->kind - '0'), v->kind == 'b',
                    v->data.data, v->data.len};
    return p;
}

START_TEST(payload_valid_vector)
{
    const vec_case *c = &g_pay_valid.cases[_i];
    uint8_t *in = exact_copy(&c->input);
    collected got = {.in = in, .in_len = c->input.len};
    int rc = eio_decode_payload(in, c->input.len, collect_cb, &got);
    ck_assert_msg(rc == 0, "line %d: rc %d", c->line, rc);
    assert_packets(c, got.p, got.n);

    /* Re-encoding gives the input back, and eio_polling_len agrees with the encoder. */
    util_buf out = UTIL_BUF_INIT;
    for (size_t i = 0; i < got.n; i++) {
        if (i)
            util_buf_putc(&out, EIO_RECORD_SEP);
        eio_packet p = packet_of(&got.p[i]);
        size_t before = out.len;
        eio_encode_polling(&out, &p);
        ck_assert_uint_eq(out.len - before, eio_polling_len(&p));
    }
    ck_assert_msg(out.len == c->input.len && memcmp(out.data, in, out.len) == 0,
                  "line %d: re-encoding differs from the input", c->line);
    util_buf_free(&out);
    collected_free(&got);
    util_free(in);
}
END_TEST

START_TEST(payload_invalid_vector)
{
    const vec_case *c = &g_pay_invalid.cases[_i];
    uint8_t *in = exact_copy(&c->input);
    collected got = {0};
    int rc = eio_decode_payload(in, c->input.len, collect_cb, &got);
    ck_assert_msg(rc == EIO_EPARSE, "line %d: rc %d, expected EIO_EPARSE", c->line, rc);
    ck_assert_msg(got.n == 0, "line %d: callback ran %zu times on an invalid payload", c->line,
                  got.n);
    collected_free(&got);
    util_free(in);
}
END_TEST

static bool ws_binary_kind(const vec_case *c)
{
    ck_assert_msg(strcmp(c->kind, "text") == 0 || strcmp(c->kind, "binary") == 0,
                  "line %d: kind must be text or binary", c->line);
    return strcmp(c->kind, "binary") == 0;
}

START_TEST(ws_valid_vector)
{
    const vec_case *c = &g_ws_valid.cases[_i];
    bool binary = ws_binary_kind(c);
    uint8_t *in = exact_copy(&c->input);
    eio_packet p;
    int rc = eio_decode_ws(in, c->input.len, binary, &p);
    ck_assert_msg(rc == 0, "line %d: rc %d", c->line, rc);
    ck_assert_int_eq(p.binary, binary);
    /* The packet is a view into the frame. */
    ck_assert_ptr_eq(p.data, binary ? in : in + 1);
    vec_packet got = {p.binary ? 'b' : (char)('0' + p.type), UTIL_BUF_INIT};
    util_buf_append(&got.data, p.data, p.len);
    assert_packets(c, &got, 1);
    util_buf_free(&got.data);
    util_free(in);
}
END_TEST

START_TEST(ws_invalid_vector)
{
    const vec_case *c = &g_ws_invalid.cases[_i];
    bool binary = ws_binary_kind(c);
    uint8_t *in = exact_copy(&c->input);
    eio_packet p;
    int rc = eio_decode_ws(in, c->input.len, binary, &p);
    ck_assert_msg(rc == EIO_EPARSE, "line %d: rc %d, expected EIO_EPARSE", c->line, rc);
    util_free(in);
}
END_TEST

/* Decodes the C string s. In literals "\036" is the record separator 0x1E (an octal escape stops
 * after three digits, where "\x1e" would swallow a following hex digit). */
static int decode_str(const char *s, collected *got)
{
    return eio_decode_payload((const uint8_t *)s, strlen(s), collect_cb, got);
}

START_TEST(callback_stops_early)
{
    collected got = {.stop_at = 2, .stop_rc = 42};
    ck_assert_int_eq(decode_str("4a\0364b\0364c", &got), 42);
    ck_assert_uint_eq(got.n, 2);
    collected_free(&got);

    collected first = {.stop_at = 1, .stop_rc = 7};
    ck_assert_int_eq(decode_str("bAQID\0364b", &first), 7);
    ck_assert_uint_eq(first.n, 1);
    collected_free(&first);
}
END_TEST

START_TEST(text_packets_borrow_input)
{
    static const uint8_t in[] = "4abc\0362probe";
    collected got = {.in = in, .in_len = sizeof in - 1};
    ck_assert_int_eq(eio_decode_payload(in, sizeof in - 1, collect_cb, &got), 0);
    ck_assert_uint_eq(got.n, 2);
    collected_free(&got);

    eio_packet p;
    ck_assert_int_eq(eio_decode_ws(in, 4, false, &p), 0);
    ck_assert_ptr_eq(p.data, in + 1);
    ck_assert_uint_eq(p.len, 3);
    ck_assert_int_eq(p.type, EIO_MESSAGE);
    ck_assert(!p.binary);
}
END_TEST

START_TEST(binary_frame_of_any_bytes)
{
    /* A binary frame is a message whatever its first byte (no type digit on WebSocket). */
    for (int b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t)b;
        eio_packet p;
        ck_assert_int_eq(eio_decode_ws(&byte, 1, true, &p), 0);
        ck_assert_int_eq(p.type, EIO_MESSAGE);
        ck_assert(p.binary);
        ck_assert_ptr_eq(p.data, &byte);
        ck_assert_uint_eq(p.len, 1);
        /* As a text frame only '0'..'6' is a packet type. */
        int rc = eio_decode_ws(&byte, 1, false, &p);
        ck_assert_int_eq(rc, (b >= '0' && b <= '6') ? 0 : EIO_EPARSE);
    }
}
END_TEST

START_TEST(encode_text_all_types)
{
    for (int t = EIO_OPEN; t <= EIO_NOOP; t++) {
        util_buf out = UTIL_BUF_INIT;
        util_buf_puts(&out, "keep");
        eio_packet p = {(eio_ptype)t, false, (const uint8_t *)"x\x1ey", 3};
        eio_encode_polling(&out, &p);
        char want[] = "keep?x\x1ey";
        want[4] = (char)('0' + t);
        ck_assert_uint_eq(out.len, strlen(want));
        ck_assert_mem_eq(out.data, want, out.len);
        ck_assert_uint_eq(eio_polling_len(&p), 4);
        util_buf_free(&out);
    }
    eio_packet empty = {EIO_MESSAGE, false, NULL, 0};
    util_buf out = UTIL_BUF_INIT;
    eio_encode_polling(&out, &empty);
    ck_assert_uint_eq(out.len, 1);
    ck_assert_int_eq(out.data[0], '4');
    ck_assert_uint_eq(eio_polling_len(&empty), 1);
    util_buf_free(&out);
}
END_TEST

START_TEST(encode_binary_base64)
{
    static const uint8_t bytes[] = {0, 1, 2, 3, 4, 5};
    static const char *const want[] = {"b",         "bAA==",     "bAAE=",    "bAAEC",
                                       "bAAECAw==", "bAAECAwQ=", "bAAECAwQF"};
    for (size_t n = 0; n <= sizeof bytes; n++) {
        util_buf out = UTIL_BUF_INIT;
        eio_packet p = {EIO_MESSAGE, true, n ? bytes : NULL, n};
        eio_encode_polling(&out, &p);
        ck_assert_uint_eq(out.len, strlen(want[n]));
        ck_assert_mem_eq(out.data, want[n], out.len);
        ck_assert_uint_eq(eio_polling_len(&p), out.len);
        util_buf_free(&out);
    }
}
END_TEST

START_TEST(polling_len_matches_encoder)
{
    uint8_t *data = util_malloc(1200);
    for (size_t i = 0; i < 1200; i++) {
        data[i] = (uint8_t)(i * 131 + 7);
        if (data[i] == EIO_RECORD_SEP) /* text packets cannot carry the separator */
            data[i] = 'x';
    }
    for (size_t n = 0; n <= 1200; n++) {
        for (int binary = 0; binary <= 1; binary++) {
            eio_packet p = {EIO_MESSAGE, binary, data, n};
            util_buf out = UTIL_BUF_INIT;
            eio_encode_polling(&out, &p);
            ck_assert_uint_eq(eio_polling_len(&p), out.len);
            /* The encoding decodes back to the same packet. */
            collected got = {0};
            ck_assert_int_eq(eio_decode_payload(out.data, out.len, collect_cb, &got), 0);
            ck_assert_uint_eq(got.n, 1);
            ck_assert_int_eq(got.p[0].kind, binary ? 'b' : '4');
            ck_assert_uint_eq(got.p[0].data.len, n);
            if (n)
                ck_assert_mem_eq(got.p[0].data.data, data, n);
            collected_free(&got);
            util_buf_free(&out);
        }
    }
    util_free(data);
}
END_TEST

START_TEST(random_payload_roundtrip)
{
    /* Random packet sequences: encode joined by 0x1E, decode, compare. Deterministic seed. */
    unsigned seed = 12345;
    for (int round = 0; round < 300; round++) {
        size_t npk = 1 + (size_t)(rand_r(&seed) % 12);
        vec_case c = {.line = round};
        c.expect = util_calloc(npk, sizeof *c.expect);
        c.nexpect = npk;
        util_buf wire = UTIL_BUF_INIT;
        for (size_t i = 0; i < npk; i++) {
            vec_packet *v = &c.expect[i];
            int kind = rand_r(&seed) % 8;
            v->kind = kind == 7 ? 'b' : (char)('0' + kind);
            size_t len = (size_t)(rand_r(&seed) % 40);
            for (size_t k = 0; k < len; k++) {
                uint8_t byte = (uint8_t)rand_r(&seed);
                if (v->kind != 'b' && byte == EIO_RECORD_SEP)
                    byte = 'x';
                util_buf_putc(&v->data, byte);
            }
            eio_packet p = packet_of(v);
            if (i)
                util_buf_putc(&wire, EIO_RECORD_SEP);
            eio_encode_polling(&wire, &p);
        }
        collected got = {0};
        ck_assert_int_eq(eio_decode_payload(wire.data, wire.len, collect_cb, &got), 0);
        assert_packets(&c, got.p, got.n);
        collected_free(&got);
        for (size_t i = 0; i < npk; i++)
            util_buf_free(&c.expect[i].data);
        util_free(c.expect);
        util_buf_free(&wire);
    }
}
END_TEST

static int load_all(const char *dir)
{
    char path[4096];
    struct {
        const char *name;
        int kind, expect;
        vec_file *f;
    } files[] = {
        {"payload_valid.txt", 0, 1, &g_pay_valid},
        {"payload_invalid.txt", 0, 0, &g_pay_invalid},
        {"ws_valid.txt", 1, 1, &g_ws_valid},
        {"ws_invalid.txt", 1, 0, &g_ws_invalid},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        if (vec_load(path, files[i].kind, files[i].expect, files[i].f) != 0)
            return -1;
        if (files[i].f->ncases == 0) {
            fprintf(stderr, "%s: no cases\n", path);
            return -1;
        }
    }
    return 0;
}

static Suite *packet_suite(void)
{
    Suite *s = suite_create("eio_packet");
    TCase *tc = tcase_create("vectors");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, payload_valid_vector, 0, (int)g_pay_valid.ncases);
    tcase_add_loop_test(tc, payload_invalid_vector, 0, (int)g_pay_invalid.ncases);
    tcase_add_loop_test(tc, ws_valid_vector, 0, (int)g_ws_valid.ncases);
    tcase_add_loop_test(tc, ws_invalid_vector, 0, (int)g_ws_invalid.ncases);
    suite_add_tcase(s, tc);

    tc = tcase_create("decode");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, callback_stops_early);
    tcase_add_test(tc, text_packets_borrow_input);
    tcase_add_test(tc, binary_frame_of_any_bytes);
    tcase_add_test(tc, random_payload_roundtrip);
    suite_add_tcase(s, tc);

    tc = tcase_create("encode");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, encode_text_all_types);
    tcase_add_test(tc, encode_binary_base64);
    tcase_add_test(tc, polling_len_matches_encoder);
    suite_add_tcase(s, tc);
    return s;
}

/* Usage: test_eio_packet [vector-dir]; the default is the source tree's tests/vectors/engineio. */
int main(int argc, char **argv)
{
    if (load_all(argc > 1 ? argv[1] : SIO_VECTOR_DIR "/engineio") != 0)
        return 2;
    SRunner *sr = srunner_create(packet_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    vec_file_free(&g_pay_valid);
    vec_file_free(&g_pay_invalid);
    vec_file_free(&g_ws_valid);
    vec_file_free(&g_ws_invalid);
    return failed ? 1 : 0;
}
