/* fuzz_rd_codec: libFuzzer target for the socket.io-redis decoders; what decodes must round-trip.
 *
 * The input is given whole to every decoder: rd_msgpack_to_json, rd_broadcast_decode,
 * rd_request_decode and rd_response_decode. Whatever one accepts is encoded again (every encoder
 * that applies) and decoded back, which must give an equal structure (json_equal, so binary values
 * compare by bytes); a msgpack value must also encode to the same bytes twice. */
#include "rd_codec.h"

#include "sio_binary.h"
#include "util_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_rd_codec: %s\n", what);
    abort();
}

static json_t *string_list(char *const *l, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!l[i])
            fail("NULL room");
        json_array_append_new(a, json_stringn_nocheck(l[i], strlen(l[i])));
    }
    return a;
}

/* Everything a broadcast holds, as one tree to compare with json_equal. */
static json_t *broadcast_json(const rd_broadcast *b)
{
    json_t *o = json_object();
    json_object_set_new(o, "uid",
                        b->uid ? json_stringn_nocheck(b->uid, strlen(b->uid)) : json_null());
    json_object_set_new(o, "nsp", json_stringn_nocheck(b->nsp, strlen(b->nsp)));
    json_object_set(o, "data", b->data);
    json_object_set_new(o, "rooms", string_list(b->rooms, b->n_rooms));
    json_object_set_new(o, "except", string_list(b->except, b->n_except));
    json_object_set_new(o, "volatile", json_boolean(b->volatile_));
    json_object_set_new(o, "compress", b->compress_set ? json_boolean(b->compress) : json_null());
    json_object_set_new(o, "offset", b->offset ? json_string(b->offset) : json_null());
    return o;
}

/* What the recovery log script publishes for b (whose data ends with its offset): the logged
 * encoding of b without the offset, the offset spliced in and appended as a msgpack str8. */
static void encode_logged_spliced(util_buf *out, const rd_broadcast *b)
{
    rd_broadcast c = *b;
    c.data = json_array();
    for (size_t i = 0; i + 1 < json_array_size(b->data); i++)
        json_array_append(c.data, json_array_get(b->data, i));
    util_buf pre = UTIL_BUF_INIT;
    size_t splice = 0;
    rd_broadcast_encode_logged(&pre, &c, &splice);
    json_decref(c.data);
    size_t n = strlen(b->offset);
    uint8_t hdr[2] = {0xd9, (uint8_t)n};
    util_buf_append(out, pre.data, splice);
    util_buf_append(out, hdr, 2);
    util_buf_append(out, b->offset, n);
    util_buf_append(out, pre.data + splice, pre.len - splice);
    util_buf_append(out, hdr, 2);
    util_buf_append(out, b->offset, n);
    util_buf_free(&pre);
}

/* The invariants of a decoded broadcast. */
static void check_broadcast(const rd_broadcast *b)
{
    if (!b->nsp || !json_is_array(b->data) || !json_is_string(json_array_get(b->data, 0)))
        fail("broadcast without nsp or event name");
    if ((b->n_rooms && !b->rooms) || (b->n_except && !b->except))
        fail("room list without storage");
    for (size_t i = 0; i < b->n_rooms; i++)
        for (size_t j = i + 1; j < b->n_rooms; j++)
            if (strcmp(b->rooms[i], b->rooms[j]) == 0)
                fail("duplicate room");
}

static void fuzz_broadcast(const uint8_t *data, size_t size)
{
    rd_broadcast b;
    const char *err = NULL;
    if (rd_broadcast_decode(data, size, &b, &err) != 0) {
        if (!err || b.data || b.uid || b.nsp || b.rooms || b.except || b.offset)
            fail("broadcast failure without a reason, or with leftovers");
        return;
    }
    check_broadcast(&b);
    if (b.offset) {
        json_t *off = json_string(b.offset);
        bool last = json_equal(json_array_get(b.data, json_array_size(b.data) - 1), off);
        json_decref(off);
        if (!last || strlen(b.offset) >= 256)
            fail("offset that is not the last argument");
    }
    json_t *want = broadcast_json(&b);
    util_buf out = UTIL_BUF_INIT;
    if (b.offset) {
        /* A logged broadcast as the log script publishes it decodes to the same. */
        rd_broadcast b2;
        encode_logged_spliced(&out, &b);
        if (rd_broadcast_decode(out.data, out.len, &b2, &err) != 0)
            fail(err);
        json_t *got = broadcast_json(&b2);
        if (!json_equal(got, want))
            fail("logged broadcast round trip differs");
        json_decref(got);
        rd_broadcast_clear(&b2);
    }
    json_object_set_new(want, "offset", json_null()); /* the classic encodings have none */
    for (int order = 0; order < 3; order++) {
        util_buf_reset(&out);
        rd_broadcast b2;
        if (order < 2) {
            rd_broadcast_encode(&out, &b, order == 1);
            if (rd_broadcast_decode(out.data, out.len, &b2, &err) != 0)
                fail(err);
        } else {
            json_t *req = NULL;
            rd_request_encode_broadcast(&out, "fz", &b, 5000);
            if (rd_request_decode(out.data, out.len, &req, &err) != 0 ||
                rd_request_broadcast(req, &b2, &err) != 0)
                fail(err);
            json_decref(req);
        }
        json_t *got = broadcast_json(&b2);
        if (!json_equal(got, want))
            fail("broadcast round trip differs");
        json_decref(got);
        rd_broadcast_clear(&b2);
    }
    util_buf_free(&out);
    json_decref(want);
    rd_broadcast_clear(&b);
}

/* rd_request_decode (response false) or rd_response_decode (true). */
static int decode_message(bool response, const uint8_t *p, size_t n, json_t **out, const char **err)
{
    return response ? rd_response_decode(p, n, out, err) : rd_request_decode(p, n, out, err);
}

static void fuzz_message(const uint8_t *data, size_t size, bool response)
{
    json_t *v = NULL;
    const char *err = NULL;
    if (decode_message(response, data, size, &v, &err) != 0) {
        if (!err || v)
            fail("message failure without a reason");
        return;
    }
    if (!json_is_object(v))
        fail("message is not an object");
    util_buf out = UTIL_BUF_INIT;
    rd_request_encode(&out, v);
    json_t *again = NULL;
    if (decode_message(response, out.data, out.len, &again, &err) != 0)
        fail(err);
    if (!json_equal(again, v))
        fail("message round trip differs");
    if (!response && rd_request_type_of(v) == RD_REQ_BROADCAST) {
        rd_broadcast b;
        if (rd_request_broadcast(v, &b, &err) != 0)
            fail(err);
        check_broadcast(&b);
        rd_broadcast_clear(&b);
    }
    /* The JSON form is always valid JSON (binary in Node's Buffer form, which nests 2 levels deeper
     * than RD_MAX_DEPTH allows at most: hence jansson's parser rather than rd_message_decode). */
    util_buf_reset(&out);
    rd_request_encode_json(&out, v);
    json_t *j = json_loadb((const char *)out.data, out.len, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(j))
        fail("JSON form does not parse");
    json_decref(j);
    json_decref(again);
    json_decref(v);
    util_buf_free(&out);
}

static void fuzz_value(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    const char *err = NULL;
    if (rd_msgpack_to_json(data, size, &v, &err) != 0) {
        if (!err || v)
            fail("value failure without a reason");
        return;
    }
    util_buf a = UTIL_BUF_INIT, b = UTIL_BUF_INIT;
    rd_json_to_msgpack(&a, v);
    json_t *again = NULL;
    if (rd_msgpack_to_json(a.data, a.len, &again, &err) != 0)
        fail(err);
    if (!json_equal(again, v))
        fail("value round trip differs");
    rd_json_to_msgpack(&b, again);
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        fail("value encodes differently the second time");
    if (a.len > size + 16 * (size + 1))
        fail("encoding grew out of proportion");
    json_decref(again);
    json_decref(v);
    util_buf_free(&a);
    util_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_value(data, size);
    fuzz_broadcast(data, size);
    fuzz_message(data, size, false);
    fuzz_message(data, size, true);
    return 0;
}
