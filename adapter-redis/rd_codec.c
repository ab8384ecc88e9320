/* rd_codec: the socket.io-redis messages: broadcasts [uid, packet, opts], channel names, requests
 * and responses (JSON or msgpack), on top of the value layer in rd_msgpack.c. */
#include "rd_msgpack.h"

#include "util_alloc.h"
#include "sio_binary.h"
#include "sio_packet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- broadcasts ------------------------------------------------------------------------------ */

/* True when v is a string with no NUL byte (usable as a C string). */
static bool is_cstring(const json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

/* Reads v as an integer as JS === compares it: an integer, or a real with an integral value. */
static bool as_int(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 9.2e18) {
            *out = (long long)d;
            return true;
        }
    }
    return false;
}

/* JavaScript truthiness of a decoded value (undefined never gets here: it is left out of maps). */
static bool js_truthy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE: return false;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0.0;
    case JSON_STRING: return json_string_length(v) != 0;
    default: return true;
    }
}

bool rd_is_string_array(const json_t *v)
{
    if (!json_is_array(v))
        return false;
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n; i++)
        if (!is_cstring(json_array_get(v, i)))
            return false;
    return true;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        util_free(list[i]);
    util_free(list);
}

/* Fills *list and *n from a rooms/except value: missing, nil and "" are empty (8.x makes a Set of
 * them), an array of strings is copied with duplicates removed. Returns 0, or -1 otherwise. */
static int take_room_list(const json_t *v, char ***list, size_t *n)
{
    *list = NULL;
    *n = 0;
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return 0;
    if (!rd_is_string_array(v))
        return -1;
    size_t total = json_array_size(v);
    if (total == 0)
        return 0;
    char **l = util_calloc(total, sizeof *l);
    json_t *seen = rd_need(json_object()); /* a set of names, so duplicates cost O(1) */
    size_t k = 0;
    for (size_t i = 0; i < total; i++) {
        const json_t *s = json_array_get(v, i);
        const char *str = json_string_value(s);
        size_t len = json_string_length(s);
        if (json_object_getn(seen, str, len))
            continue;
        rd_need_ok(json_object_setn_new_nocheck(seen, str, len, json_true()));
        l[k++] = util_strndup(str, len);
    }
    json_decref(seen);
    *list = l;
    *n = k;
    return 0;
}

/* Fills data and nsp of out from a packet map {type:2, data, nsp}. Returns 0 or -1 with *err. */
static int take_packet(const json_t *p, rd_broadcast *out, const char **err)
{
    if (!json_is_object(p)) {
        *err = "packet is not a map";
        return -1;
    }
    long long type;
    if (!as_int(json_object_get(p, "type"), &type)) {
        *err = "packet.type is missing or not an integer";
        return -1;
    }
    if (type == 5) {
        *err = "packet.type 5 (BINARY_EVENT, socket.io 2) would break v4 clients";
        return -1;
    }
    if (type != 2) {
        *err = "packet.type is not 2 (EVENT)";
        return -1;
    }
    json_t *d = json_object_get(p, "data");
    if (!json_is_array(d) || !json_is_string(json_array_get(d, 0))) {
        *err = "packet.data is not an array starting with the event name";
        return -1;
    }
    if (sio_event_reserved(json_string_value(json_array_get(d, 0)))) {
        *err = "reserved event name"; /* clients would take it for their own events */
        return -1;
    }
    const json_t *nsp = json_object_get(p, "nsp");
    if (nsp && sio_is_binary(nsp)) {
        *err = "packet.nsp is binary, not a string";
        return -1;
    }
    if (nsp && !is_cstring(nsp)) {
        *err = "packet.nsp is not a string";
        return -1;
    }
    out->data = json_incref(d);
    out->nsp =
        nsp ? util_strndup(json_string_value(nsp), json_string_length(nsp)) : util_strdup("/");
    return 0;
}

/* Fills rooms, except and flags of out from an opts map. Returns 0 or -1 with *err. */
static int take_opts(const json_t *o, rd_broadcast *out, const char **err)
{
    if (!json_is_object(o)) {
        *err = "opts is not a map";
        return -1;
    }
    if (take_room_list(json_object_get(o, "rooms"), &out->rooms, &out->n_rooms) != 0) {
        *err = "opts.rooms is not an array of strings";
        return -1;
    }
    if (take_room_list(json_object_get(o, "except"), &out->except, &out->n_except) != 0) {
        *err = "opts.except is not an array of strings";
        return -1;
    }
    /* A falsy flags (missing, {}, "" from the Python emitter) is {}; volatile/compress count. */
    const json_t *flags = json_object_get(o, "flags");
    if (json_is_object(flags) && !sio_is_binary(flags)) {
        const json_t *vol = json_object_get(flags, "volatile");
        const json_t *comp = json_object_get(flags, "compress");
        out->volatile_ = vol && js_truthy(vol);
        out->compress_set = comp != NULL;
        out->compress = comp && js_truthy(comp);
    }
    return 0;
}

int rd_broadcast_decode(const uint8_t *buf, size_t len, rd_broadcast *out, const char **err)
{
    memset(out, 0, sizeof *out);
    const char *e = NULL;
    json_t *root = NULL;
    if (rd_msgpack_to_json(buf, len, &root, &e) != 0)
        goto fail;
    if (!json_is_array(root)) {
        e = "broadcast is not an array";
        goto fail;
    }
    if (json_array_size(root) < 3) {
        e = "broadcast array has fewer than 3 elements [uid, packet, opts]";
        goto fail;
    }
    /* Any uid is delivered; only a string can equal a node's own uid. */
    const json_t *uid = json_array_get(root, 0);
    if (is_cstring(uid))
        out->uid = util_strndup(json_string_value(uid), json_string_length(uid));
    if (take_packet(json_array_get(root, 1), out, &e) != 0 ||
        take_opts(json_array_get(root, 2), out, &e) != 0)
        goto fail;
    /* A logged packet (siobroker's recovery) names its offset in a 4th element, which is also the
     * last argument of its data; anything else there is ignored, as the Node adapter does. */
    const json_t *off = json_array_get(root, 3);
    const json_t *last = json_array_get(out->data, json_array_size(out->data) - 1);
    uint64_t oa, ob;
    if (is_cstring(off) && json_array_size(out->data) > 1 && json_equal(off, last) &&
        sio_offset_parse(json_string_value(off), &oa, &ob))
        out->offset = util_strdup(json_string_value(off));
    json_decref(root);
    return 0;
fail:
    json_decref(root);
    rd_broadcast_clear(out);
    if (err)
        *err = e;
    return -1;
}

/* Writes {type:2, data, nsp}. */
static void pack_packet(msgpack_packer *pk, const rd_broadcast *b)
{
    msgpack_pack_map(pk, 3);
    rd_pack_cstr(pk, "type");
    msgpack_pack_int(pk, 2);
    rd_pack_cstr(pk, "data");
    if (b->data)
        rd_pack_json(pk, b->data, 0);
    else
        msgpack_pack_array(pk, 0);
    rd_pack_cstr(pk, "nsp");
    rd_pack_cstr(pk, b->nsp ? b->nsp : "/");
}

/* Writes the names of list[0..n) as an array, each once, in order. */
static void pack_room_list(msgpack_packer *pk, char *const *list, size_t n)
{
    if (n < 2) {
        msgpack_pack_array(pk, n);
        if (n)
            rd_pack_cstr(pk, list[0]);
        return;
    }
    json_t *seen = rd_need(json_object());
    const char **uniq = util_calloc(n, sizeof *uniq);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (json_object_get(seen, list[i]))
            continue;
        rd_need_ok(json_object_set_new_nocheck(seen, list[i], json_true()));
        uniq[k++] = list[i];
    }
    msgpack_pack_array(pk, k);
    for (size_t i = 0; i < k; i++)
        rd_pack_cstr(pk, uniq[i]);
    util_free(uniq);
    json_decref(seen);
}

/* Writes the flags map: volatile:true, compress:bool, timeout:int, each only when set. */
static void pack_flags(msgpack_packer *pk, const rd_broadcast *b, long long timeout_ms)
{
    msgpack_pack_map(pk, (size_t)b->volatile_ + (size_t)b->compress_set + (timeout_ms >= 0));
    if (b->volatile_) {
        rd_pack_cstr(pk, "volatile");
        msgpack_pack_true(pk);
    }
    if (b->compress_set) {
        rd_pack_cstr(pk, "compress");
        if (b->compress)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
    }
    if (timeout_ms >= 0) {
        rd_pack_cstr(pk, "timeout");
        msgpack_pack_int64(pk, timeout_ms);
    }
}

/* Writes opts: {rooms, flags, except} (emitter) or {rooms, except, flags} (adapter). */
static void pack_opts(msgpack_packer *pk, const rd_broadcast *b, bool emitter_order,
                      long long timeout_ms)
{
    msgpack_pack_map(pk, 3);
    rd_pack_cstr(pk, "rooms");
    pack_room_list(pk, b->rooms, b->n_rooms);
    if (emitter_order) {
        rd_pack_cstr(pk, "flags");
        pack_flags(pk, b, timeout_ms);
    }
    rd_pack_cstr(pk, "except");
    pack_room_list(pk, b->except, b->n_except);
    if (!emitter_order) {
        rd_pack_cstr(pk, "flags");
        pack_flags(pk, b, timeout_ms);
    }
}

void rd_broadcast_encode_logged(util_buf *out, const rd_broadcast *b, size_t *splice)
{
    msgpack_packer pk;
    rd_packer_init(&pk, out);
    msgpack_pack_array(&pk, 4);
    rd_pack_cstr_or_nil(&pk, b->uid);
    msgpack_pack_map(&pk, 3);
    rd_pack_cstr(&pk, "type");
    msgpack_pack_int(&pk, 2);
    rd_pack_cstr(&pk, "data");
    size_t n = json_array_size(b->data);
    msgpack_pack_array(&pk, n + 1);
    for (size_t i = 0; i < n; i++)
        rd_pack_json(&pk, json_array_get(b->data, i), 1);
    *splice = out->len;
    rd_pack_cstr(&pk, "nsp");
    rd_pack_cstr(&pk, b->nsp ? b->nsp : "/");
    pack_opts(&pk, b, false, -1);
}

void rd_broadcast_encode(util_buf *out, const rd_broadcast *b, bool emitter_key_order)
{
    msgpack_packer pk;
    rd_packer_init(&pk, out);
    msgpack_pack_array(&pk, 3);
    rd_pack_cstr_or_nil(&pk, b->uid);
    pack_packet(&pk, b);
    pack_opts(&pk, b, emitter_key_order, -1);
}

void rd_broadcast_clear(rd_broadcast *b)
{
    if (!b)
        return;
    util_free(b->uid);
    util_free(b->offset);
    json_decref(b->data);
    util_free(b->nsp);
    free_list(b->rooms, b->n_rooms);
    free_list(b->except, b->n_except);
    memset(b, 0, sizeof *b);
}

/* ---- channels -------------------------------------------------------------------------------- */

void rd_channel_broadcast(util_buf *out, const char *key, const char *nsp, const char *room)
{
    util_buf_puts(out, key);
    util_buf_putc(out, '#');
    util_buf_puts(out, nsp);
    util_buf_putc(out, '#');
    if (room) {
        util_buf_puts(out, room);
        util_buf_putc(out, '#');
    }
}

void rd_channel_request(util_buf *out, const char *key, const char *nsp)
{
    util_buf_puts(out, key);
    util_buf_puts(out, "-request#");
    util_buf_puts(out, nsp);
    util_buf_putc(out, '#');
}

void rd_channel_response(util_buf *out, const char *key, const char *nsp, const char *uid)
{
    util_buf_puts(out, key);
    util_buf_puts(out, "-response#");
    util_buf_puts(out, nsp);
    util_buf_putc(out, '#');
    if (uid) {
        util_buf_puts(out, uid);
        util_buf_putc(out, '#');
    }
}

void rd_channel_control(util_buf *out, const char *key, const char *node_id)
{
    util_buf_puts(out, key);
    util_buf_puts(out, "#siobroker#");
    if (node_id) {
        util_buf_puts(out, node_id);
        util_buf_putc(out, '#');
    }
}

void rd_channel_control_reply(util_buf *out, const char *key, const char *token)
{
    util_buf_puts(out, key);
    util_buf_puts(out, "#siobroker-reply#");
    if (token) {
        util_buf_puts(out, token);
        util_buf_putc(out, '#');
    }
}

int rd_channel_room(const char *channel, size_t len, const char *key, const char *nsp,
                    char **room_out)
{
    *room_out = NULL;
    size_t kl = strlen(key), nl = strlen(nsp), pl = kl + nl + 2;
    if (len < pl || memcmp(channel, key, kl) != 0 || channel[kl] != '#' ||
        memcmp(channel + kl + 1, nsp, nl) != 0 || channel[pl - 1] != '#')
        return -1;
    if (len == pl)
        return 0;
    if (channel[len - 1] != '#')
        return -1;
    size_t rl = len - 1 - pl;
    if (rl == 0)
        return 0;
    if (memchr(channel + pl, '\0', rl))
        return -1;
    *room_out = util_strndup(channel + pl, rl);
    return 0;
}

/* ---- requests and responses ------------------------------------------------------------------ */

/* True when no container of v sits deeper than RD_MAX_DEPTH (v itself at depth 1), so that any
 * accepted message can also be written as msgpack and read back. */
static bool depth_ok(const json_t *v, int depth)
{
    if (!json_is_array(v) && !json_is_object(v))
        return true;
    if (depth > RD_MAX_DEPTH)
        return false;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!depth_ok(json_array_get(v, i), depth + 1))
                return false;
        return true;
    }
    json_t *o = (json_t *)v; /* only read */
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it))
        if (!depth_ok(json_object_iter_value(it), depth + 1))
            return false;
    return true;
}

int rd_message_decode(const uint8_t *buf, size_t len, json_t **out, const char **err)
{
    *out = NULL;
    const char *e;
    if (!buf || len == 0) {
        e = "empty message";
        goto fail;
    }
    if (buf[0] == '{') {
        json_error_t je;
        /* JSON.parse accepts "\u0000" in strings; the field checks refuse it where it matters. */
        json_t *v = json_loadb((const char *)buf, len, JSON_ALLOW_NUL, &je);
        if (!v) {
            e = "invalid JSON";
            goto fail;
        }
        if (!depth_ok(v, 1)) {
            json_decref(v);
            e = "JSON nested deeper than RD_MAX_DEPTH";
            goto fail;
        }
        *out = v; /* text starting with '{' can only parse as an object */
        return 0;
    }
    json_t *v;
    if (rd_msgpack_to_json(buf, len, &v, &e) != 0)
        goto fail;
    if (!json_is_object(v) || sio_is_binary(v)) {
        json_decref(v);
        e = "msgpack message is not a map";
        goto fail;
    }
    *out = v;
    return 0;
fail:
    if (err)
        *err = e;
    return -1;
}

int rd_request_type_of(const json_t *req)
{
    long long t;
    if (!as_int(json_object_get(req, "type"), &t) || t < RD_REQ_SOCKETS || t > RD_REQ_BROADCAST_ACK)
        return -1;
    return (int)t;
}

const char *rd_request_str(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* A field that must be a C string when present (required: when absent too). */
static bool field_str_ok(const json_t *obj, const char *name, bool required)
{
    const json_t *v = json_object_get(obj, name);
    return v ? is_cstring(v) : !required;
}

/* opts {rooms, except}: a map whose rooms/except are absent, nil or arrays of strings. */
static bool opts_ok(const json_t *opts)
{
    if (!json_is_object(opts) || sio_is_binary(opts))
        return false;
    const json_t *r = json_object_get(opts, "rooms"), *x = json_object_get(opts, "except");
    return (!r || json_is_null(r) || rd_is_string_array(r)) &&
           (!x || json_is_null(x) || rd_is_string_array(x));
}

/* data of SERVER_SIDE_EMIT and packet.data of BROADCAST: [event name, args...], the name not one
 * Socket.IO reserves. */
static bool event_array_ok(const json_t *d)
{
    return json_is_array(d) && json_is_string(json_array_get(d, 0)) &&
           !sio_event_reserved(json_string_value(json_array_get(d, 0)));
}

#define CHECK(cond, msg)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            *err = (msg);                                                                          \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

/* The per-type checks of rd_request_validate; err is never NULL here. */
static int validate_request(const json_t *req, const char **err)
{
    CHECK(json_is_object(req) && !sio_is_binary(req), "request is not a map");
    long long type;
    CHECK(as_int(json_object_get(req, "type"), &type), "request type is missing or not an integer");
    CHECK(type >= 0 && type <= 9, "request type is not 0..9");
    CHECK(field_str_ok(req, "uid", false), "request uid is not a string");
    CHECK(field_str_ok(req, "requestId", false), "request requestId is not a string");
    const json_t *opts = json_object_get(req, "opts");
    const json_t *rooms = json_object_get(req, "rooms");
    const json_t *close = json_object_get(req, "close");
    const json_t *rid = json_object_get(req, "requestId");
    switch ((rd_request_type)type) {
    case RD_REQ_SOCKETS:
        CHECK(rid, "SOCKETS request without requestId");
        CHECK(!rooms || json_is_null(rooms) || rd_is_string_array(rooms),
              "SOCKETS rooms is not an array of strings");
        return 0;
    case RD_REQ_ALL_ROOMS: CHECK(rid, "ALL_ROOMS request without requestId"); return 0;
    case RD_REQ_REMOTE_JOIN:
    case RD_REQ_REMOTE_LEAVE:
        if (opts) {
            CHECK(opts_ok(opts), "request opts is not {rooms, except} with arrays of strings");
            CHECK(rd_is_string_array(rooms), "REMOTE_JOIN/LEAVE rooms is not an array of strings");
            return 0;
        }
        /* legacy form: one socket, one room, answered with {requestId} */
        CHECK(rid, "legacy REMOTE_JOIN/LEAVE without requestId");
        CHECK(field_str_ok(req, "sid", true), "legacy REMOTE_JOIN/LEAVE sid is not a string");
        CHECK(field_str_ok(req, "room", true), "legacy REMOTE_JOIN/LEAVE room is not a string");
        return 0;
    case RD_REQ_REMOTE_DISCONNECT:
        CHECK(!close || json_is_boolean(close), "REMOTE_DISCONNECT close is not a bool");
        if (opts) {
            CHECK(opts_ok(opts), "request opts is not {rooms, except} with arrays of strings");
            return 0;
        }
        CHECK(rid, "legacy REMOTE_DISCONNECT without requestId");
        CHECK(field_str_ok(req, "sid", true), "legacy REMOTE_DISCONNECT sid is not a string");
        return 0;
    case RD_REQ_REMOTE_FETCH:
        CHECK(rid, "REMOTE_FETCH request without requestId");
        CHECK(opts_ok(opts), "request opts is not {rooms, except} with arrays of strings");
        return 0;
    case RD_REQ_SERVER_SIDE_EMIT:
        CHECK(event_array_ok(json_object_get(req, "data")),
              "SERVER_SIDE_EMIT data is not an array starting with the event name");
        return 0;
    case RD_REQ_BROADCAST: {
        CHECK(rid, "BROADCAST request without requestId");
        CHECK(opts_ok(opts), "request opts is not {rooms, except} with arrays of strings");
        const json_t *p = json_object_get(req, "packet");
        CHECK(json_is_object(p) && !sio_is_binary(p), "BROADCAST packet is not a map");
        long long pt;
        CHECK(as_int(json_object_get(p, "type"), &pt) && pt == 2, "BROADCAST packet.type is not 2");
        CHECK(event_array_ok(json_object_get(p, "data")),
              "BROADCAST packet.data is not an array starting with the event name");
        const json_t *nsp = json_object_get(p, "nsp");
        CHECK(!nsp || is_cstring(nsp), "BROADCAST packet.nsp is not a string");
        return 0;
    }
    case RD_REQ_BROADCAST_CLIENT_COUNT: {
        CHECK(rid, "BROADCAST_CLIENT_COUNT without requestId");
        const json_t *cc = json_object_get(req, "clientCount");
        CHECK(json_is_integer(cc) && json_integer_value(cc) >= 0,
              "BROADCAST_CLIENT_COUNT clientCount is not an integer >= 0");
        return 0;
    }
    case RD_REQ_BROADCAST_ACK: CHECK(rid, "BROADCAST_ACK without requestId"); return 0;
    }
    return 0;
}

int rd_request_validate(const json_t *req, const char **err)
{
    const char *e = NULL;
    int rc = validate_request(req, &e);
    if (rc != 0 && err)
        *err = e;
    return rc;
}

int rd_response_validate(const json_t *resp, const char **err)
{
    const char *e = NULL;
    long long type = -1;
    const json_t *t = json_object_get(resp, "type");
    if (!json_is_object(resp) || sio_is_binary(resp))
        e = "response is not a map";
    else if (!field_str_ok(resp, "requestId", true))
        e = "response requestId is missing or not a string";
    else if (t && !as_int(t, &type))
        e = "response type is not an integer";
    else if (type == RD_REQ_BROADCAST_CLIENT_COUNT &&
             !(json_is_integer(json_object_get(resp, "clientCount")) &&
               json_integer_value(json_object_get(resp, "clientCount")) >= 0))
        e = "BROADCAST_CLIENT_COUNT clientCount is not an integer >= 0";
    if (e && err)
        *err = e;
    return e ? -1 : 0;
}

int rd_request_decode(const uint8_t *buf, size_t len, json_t **out, const char **err)
{
    if (rd_message_decode(buf, len, out, err) != 0)
        return -1;
    if (rd_request_validate(*out, err) != 0) {
        json_decref(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int rd_response_decode(const uint8_t *buf, size_t len, json_t **out, const char **err)
{
    if (rd_message_decode(buf, len, out, err) != 0)
        return -1;
    if (rd_response_validate(*out, err) != 0) {
        json_decref(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int rd_request_broadcast(const json_t *req, rd_broadcast *out, const char **err)
{
    memset(out, 0, sizeof *out);
    const char *e = NULL;
    if (rd_request_type_of(req) != RD_REQ_BROADCAST) {
        e = "not a BROADCAST request";
        goto fail;
    }
    const json_t *uid = json_object_get(req, "uid");
    if (is_cstring(uid))
        out->uid = util_strndup(json_string_value(uid), json_string_length(uid));
    if (take_packet(json_object_get(req, "packet"), out, &e) != 0 ||
        take_opts(json_object_get(req, "opts"), out, &e) != 0)
        goto fail;
    return 0;
fail:
    rd_broadcast_clear(out);
    if (err)
        *err = e;
    return -1;
}

/* A copy of v with every binary value in Node's Buffer.toJSON() form. Returns a new reference. */
static json_t *node_buffers(const json_t *v, int depth)
{
    if (depth > RD_ENCODE_MAX_DEPTH)
        return rd_need(json_null());
    size_t n;
    const uint8_t *bin = sio_binary_data(v, &n);
    if (bin) {
        json_t *o = rd_need(json_object()), *a = rd_need(json_array());
        for (size_t i = 0; i < n; i++)
            rd_need_ok(json_array_append_new(a, rd_need(json_integer(bin[i]))));
        rd_need_ok(json_object_set_new(o, "type", rd_need(json_string("Buffer"))));
        rd_need_ok(json_object_set_new(o, "data", a));
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = rd_need(json_array());
        for (size_t i = 0; i < json_array_size(v); i++)
            rd_need_ok(json_array_append_new(a, node_buffers(json_array_get(v, i), depth + 1)));
        return a;
    }
    if (json_is_object(v)) {
        json_t *src = (json_t *)v, *o = rd_need(json_object()); /* src is only read */
        for (void *it = json_object_iter(src); it; it = json_object_iter_next(src, it))
            rd_need_ok(json_object_setn_new_nocheck(
                o, json_object_iter_key(it), json_object_iter_key_len(it),
                node_buffers(json_object_iter_value(it), depth + 1)));
        return o;
    }
    return json_incref((json_t *)v);
}

void rd_request_encode_json(util_buf *out, const json_t *req)
{
    json_t *v = sio_has_binary(req) ? node_buffers(req, 0) : json_incref((json_t *)req);
    if (sio_json_append(out, v, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
        util_buf_puts(out, "null"); /* a NULL req, or a key that is not UTF-8 */
    json_decref(v);
}

void rd_request_encode(util_buf *out, const json_t *req)
{
    int t = rd_request_type_of(req);
    if (t == RD_REQ_BROADCAST || t == RD_REQ_BROADCAST_ACK || sio_has_binary(req))
        rd_json_to_msgpack(out, req);
    else
        rd_request_encode_json(out, req);
}

void rd_request_encode_broadcast(util_buf *out, const char *request_id, const rd_broadcast *b,
                                 long long timeout_ms)
{
    msgpack_packer pk;
    rd_packer_init(&pk, out);
    msgpack_pack_map(&pk, b->uid ? 5 : 4);
    if (b->uid) { /* requests without a uid (the emitter's) leave the key out */
        rd_pack_cstr(&pk, "uid");
        rd_pack_cstr(&pk, b->uid);
    }
    rd_pack_cstr(&pk, "requestId");
    rd_pack_cstr_or_nil(&pk, request_id);
    rd_pack_cstr(&pk, "type");
    msgpack_pack_int(&pk, RD_REQ_BROADCAST);
    rd_pack_cstr(&pk, "packet");
    pack_packet(&pk, b);
    rd_pack_cstr(&pk, "opts");
    pack_opts(&pk, b, false, timeout_ms);
}

void rd_request_encode_broadcast_ack(util_buf *out, const char *request_id, const json_t *packet)
{
    msgpack_packer pk;
    rd_packer_init(&pk, out);
    msgpack_pack_map(&pk, packet ? 3 : 2);
    rd_pack_cstr(&pk, "type");
    msgpack_pack_int(&pk, RD_REQ_BROADCAST_ACK);
    rd_pack_cstr(&pk, "requestId");
    rd_pack_cstr_or_nil(&pk, request_id);
    if (packet) {
        rd_pack_cstr(&pk, "packet");
        rd_pack_json(&pk, packet, 0);
    }
}
