/* sio_packet: Socket.IO v5 packet decoder and encoder, with placeholders <-> binary attachments. */
#include "sio_packet.h"

#include "util_alloc.h"
#include "sio_binary.h"
#include "util_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** An ack id has at most this many digits, so it fits an int64 and a JavaScript number. */
#define MAX_ACK_DIGITS 15
/** The attachment count has at most this many digits (any limit above is refused anyway). */
#define MAX_COUNT_DIGITS 9
/** Containers nested deeper than this are left alone by the encoder (only a cyclic tree gets
 * there, and json_dumpb then refuses it). */
#define ENC_MAX_DEPTH 2048
/** JSON up to this size is dumped on the stack in one pass; larger JSON is dumped twice. */
#define ENC_STACK_JSON 1024
/** Flags of every dump: compact, key order kept, any value at the top. */
#define ENC_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

/* Decoder errors, handed out as static strings. */
static const char ERR_EMPTY[] = "empty packet";
static const char ERR_TYPE[] = "unknown packet type";
static const char ERR_COUNT[] = "bad attachment count";
static const char ERR_TOO_MANY[] = "too many attachments";
static const char ERR_NSP[] = "bad namespace";
static const char ERR_ID[] = "bad ack id";
static const char ERR_DEPTH[] = "JSON nested too deep";
static const char ERR_JSON[] = "invalid JSON";
static const char ERR_PAYLOAD[] = "invalid payload for the packet type";
static const char ERR_NAME[] = "event name too long";
static const char ERR_PLACEHOLDER[] = "placeholder does not match the attachments";
static const char ERR_TEXT[] = "text message while attachments are awaited";
static const char ERR_BINARY[] = "binary message while no attachment is awaited";
static const char ERR_ATT_BYTES[] = "binary packet over the attachment memory limit";

void sio_limits_defaults(sio_limits *l)
{
    l->max_attachments = 10;
    l->max_depth = 32;
    l->max_event_name = 256;
    l->max_attachment_bytes = 1000000;
}

void sio_packet_clear(sio_packet *p)
{
    util_free(p->nsp);
    json_decref(p->data);
    memset(p, 0, sizeof *p);
}

/* Aborts on a NULL that jansson returns only when memory is exhausted (the policy of util_alloc). */
static json_t *must(json_t *v)
{
    if (!v) {
        fprintf(stderr, "siobroker: out of memory in jansson\n");
        abort();
    }
    return v;
}

/* ---------------------------------------------------------------------------------------------- */
/* Decoder                                                                                        */

struct sio_decoder {
    sio_limits lim;     /**< copied limits */
    sio_packet pending; /**< binary packet awaiting attachments; its data still has placeholders */
    size_t n_att;       /**< attachments the pending packet declared; 0 when none is pending */
    size_t got;         /**< attachments received so far */
    json_t **att;       /**< received attachments as binary values (n_att slots); owned */
    size_t held;        /**< real cost of the pending packet and its attachments so far */
};

sio_decoder *sio_decoder_new(const sio_limits *limits)
{
    sio_decoder *d = util_calloc(1, sizeof *d);
    if (limits)
        d->lim = *limits;
    else
        sio_limits_defaults(&d->lim);
    d->pending.id = -1;
    return d;
}

/* Drops the pending packet and its attachments; the decoder then expects a text packet. */
static void decoder_reset(sio_decoder *d)
{
    for (size_t i = 0; i < d->got; i++)
        json_decref(d->att[i]);
    util_free(d->att);
    d->att = NULL;
    d->n_att = d->got = d->held = 0;
    sio_packet_clear(&d->pending);
    d->pending.id = -1;
}

void sio_decoder_free(sio_decoder *d)
{
    if (!d)
        return;
    decoder_reset(d);
    util_free(d);
}

size_t sio_decoder_pending_bytes(const sio_decoder *d)
{
    return d->held;
}

/* The memory jansson takes for the tree v (its structures as of jansson 2.13/2.14 on 64-bit, at
 * glibc's chunk sizes): what a packet waiting for its attachments holds. Walks depth-first; the
 * decoder has already bounded the depth. */
static size_t json_cost(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL: return util_alloc_cost(24);
    case JSON_STRING: return util_alloc_cost(32) + util_alloc_cost(json_string_length(v) + 1);
    case JSON_ARRAY: {
        size_t n = json_array_size(v), cap = 8;
        while (cap < n)
            cap *= 2;
        size_t c = util_alloc_cost(40) + util_alloc_cost(cap * sizeof(json_t *));
        for (size_t i = 0; i < n; i++)
            c += json_cost(json_array_get(v, i));
        return c;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v), buckets = 8;
        while (buckets < n)
            buckets *= 2;
        size_t c = util_alloc_cost(96) + util_alloc_cost(buckets * 16);
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it))
            c += util_alloc_cost(64 + strlen(json_object_iter_key(it))) +
                 json_cost(json_object_iter_value(it));
        return c;
    }
    default: return 0; /* true, false and null are shared singletons */
    }
}

/* The cost of one received attachment (a binary value: a one-key object holding a string). */
static size_t attachment_cost(size_t len)
{
    return util_alloc_cost(96) + util_alloc_cost(128) + util_alloc_cost(64 + 4) +
           util_alloc_cost(32) + util_alloc_cost(len + 1);
}

static sio_decode_status fail(sio_decoder *d, const char **err, const char *why)
{
    decoder_reset(d);
    if (err)
        *err = why;
    return SIO_DEC_ERROR;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* True when the JSON text s[0..n) nests arrays and objects at most max deep. Brackets inside
 * strings do not count; the text itself is validated later by jansson. */
static bool depth_ok(const uint8_t *s, size_t n, size_t max)
{
    size_t depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return false;
        } else if ((c == ']' || c == '}') && depth) {
            depth--;
        }
    }
    return true;
}

/* True when s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) without control characters, so a namespace is safe in C strings, JSON and logs. */
static bool nsp_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t more;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= more)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += more + 1;
    }
    return true;
}

/* Classifies v for a packet with n_att attachments. Returns 1 and sets *num when v is a placeholder
 * {"_placeholder":true,"num":i} with 0 <= i < n_att; 0 when v is plain data (not an object with
 * "_placeholder": true); -1 for an object with "_placeholder": true of any other shape or num. */
static int placeholder_num(json_t *v, size_t n_att, size_t *num)
{
    if (!json_is_object(v) || !json_is_true(json_object_get(v, "_placeholder")))
        return 0;
    json_t *jn = json_object_get(v, "num");
    if (json_object_size(v) != 2 || !json_is_integer(jn))
        return -1;
    json_int_t k = json_integer_value(jn);
    if (k < 0 || (uint64_t)k >= n_att)
        return -1;
    *num = (size_t)k;
    return 1;
}

/* Checks the placeholders under v against n_att attachments, marking each in used[]. Returns 0,
 * or -1 for a malformed placeholder or an attachment referenced twice. */
static int check_placeholders(json_t *v, size_t n_att, bool *used)
{
    size_t num;
    int r = placeholder_num(v, n_att, &num);
    if (r < 0)
        return -1;
    if (r > 0) {
        if (used[num])
            return -1;
        used[num] = true;
        return 0;
    }
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++)
            if (check_placeholders(json_array_get(v, i), n_att, used) != 0)
                return -1;
    } else if (json_is_object(v)) {
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it))
            if (check_placeholders(json_object_iter_value(it), n_att, used) != 0)
                return -1;
    }
    return 0;
}

/* Replaces the placeholders under v (already checked) with the attachments, whose references are
 * moved out of att[]. v itself is never a placeholder: payloads of binary packets are arrays. */
static void fill_placeholders(json_t *v, size_t n_att, json_t **att)
{
    size_t num;
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);
            if (placeholder_num(e, n_att, &num) > 0) {
                json_array_set_new(v, i, att[num]);
                att[num] = NULL;
            } else {
                fill_placeholders(e, n_att, att);
            }
        }
    } else if (json_is_object(v)) {
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
            json_t *e = json_object_iter_value(it);
            if (placeholder_num(e, n_att, &num) > 0) {
                json_object_iter_set_new(v, it, att[num]);
                att[num] = NULL;
            } else {
                fill_placeholders(e, n_att, att);
            }
        }
    }
}

static const char *const k_reserved[] = {"connect",       "connect_error", "disconnect",
                                         "disconnecting", "newListener",   "removeListener"};

bool sio_event_reserved(const char *event)
{
    for (size_t i = 0; i < sizeof k_reserved / sizeof k_reserved[0]; i++)
        if (strcmp(event, k_reserved[i]) == 0)
            return true;
    return false;
}

/* True when payload (NULL = none) has the shape type t requires (binary types as their plain
 * counterparts). Sets *why to the error otherwise. */
static bool payload_ok(sio_ptype t, const json_t *payload, const sio_limits *lim, const char **why)
{
    *why = ERR_PAYLOAD;
    switch (t) {
    case SIO_CONNECT: return !payload || json_is_object(payload);
    case SIO_DISCONNECT: return !payload;
    case SIO_EVENT:
    case SIO_BINARY_EVENT: {
        if (!json_is_array(payload) || json_array_size(payload) == 0)
            return false;
        const json_t *name = json_array_get(payload, 0);
        if (!json_is_string(name))
            return false;
        if (json_string_length(name) > lim->max_event_name) {
            *why = ERR_NAME;
            return false;
        }
        if (sio_event_reserved(json_string_value(name))) {
            *why = "reserved event name";
            return false;
        }
        return true;
    }
    case SIO_ACK:
    case SIO_BINARY_ACK: return json_is_array(payload);
    case SIO_CONNECT_ERROR: return json_is_object(payload) || json_is_string(payload);
    }
    return false;
}

/* Turns reals that hold an integer representable as int64 back into integers (after a parse with
 * JSON_DECODE_INT_AS_REAL). */
static json_t *ints_back(json_t *v)
{
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (x >= -9223372036854775808.0 && x < 9223372036854775808.0 && x == (double)(int64_t)x) {
            json_t *i = json_integer((json_int_t)x);
            json_decref(v);
            return i;
        }
        return v;
    }
    size_t k;
    json_t *e;
    if (json_is_array(v)) {
        json_array_foreach(v, k, e)
        {
            json_array_set_new(v, k, ints_back(json_incref(e)));
        }
    } else if (json_is_object(v)) {
        const char *key;
        void *tmp;
        json_object_foreach_safe(v, tmp, key, e)
        {
            json_object_set_new(v, key, ints_back(json_incref(e)));
        }
    }
    return v;
}

/* Parses a JSON payload. Integers beyond int64 (which JavaScript writes as plain digits, e.g.
 * 9223372036854776000) are numbers like any other there: when jansson refuses one, the text is
 * parsed again with every integer as a real, and those that fit int64 are made integers again.
 * Returns a new reference, or NULL for invalid JSON. */
static json_t *parse_json(const char *s, size_t len)
{
    json_error_t je;
    json_t *v = json_loadb(s, len, JSON_DECODE_ANY, &je);
    if (v || json_error_code(&je) != json_error_numeric_overflow)
        return v;
    v = json_loadb(s, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
    return v ? ints_back(v) : NULL;
}

/* Parses one text message (a whole Socket.IO packet header and JSON). */
static sio_decode_status feed_text(sio_decoder *d, const uint8_t *s, size_t len, sio_packet *out,
                                   const char **err)
{
    if (len == 0)
        return fail(d, err, ERR_EMPTY);
    if (s[0] < '0' || s[0] > '6')
        return fail(d, err, ERR_TYPE);
    sio_ptype t = (sio_ptype)(s[0] - '0');
    size_t i = 1;

    size_t n_att = 0;
    bool bin = t == SIO_BINARY_EVENT || t == SIO_BINARY_ACK;
    if (bin) {
        size_t start = i;
        for (; i < len && is_digit(s[i]); i++) {
            if (i - start == MAX_COUNT_DIGITS)
                return fail(d, err, ERR_TOO_MANY);
            n_att = n_att * 10 + (size_t)(s[i] - '0');
        }
        if (i == start || i == len || s[i] != '-')
            return fail(d, err, ERR_COUNT);
        i++;
        if (n_att > d->lim.max_attachments)
            return fail(d, err, ERR_TOO_MANY);
    }

    /* The namespace runs to the first comma or to the end ("40/nsp" is a whole CONNECT). */
    const uint8_t *nsp = (const uint8_t *)"/";
    size_t nsp_len = 1;
    if (i < len && s[i] == '/') {
        size_t start = i;
        while (i < len && s[i] != ',')
            i++;
        nsp = s + start;
        nsp_len = i - start;
        if (i < len)
            i++;
        if (!nsp_ok(nsp, nsp_len))
            return fail(d, err, ERR_NSP);
    }

    int64_t id = -1;
    if (i < len && is_digit(s[i])) {
        size_t start = i;
        id = 0;
        for (; i < len && is_digit(s[i]); i++) {
            if (i - start == MAX_ACK_DIGITS)
                return fail(d, err, ERR_ID);
            id = id * 10 + (s[i] - '0');
        }
    }
    bool ack = t == SIO_ACK || t == SIO_BINARY_ACK;
    bool event = t == SIO_EVENT || t == SIO_BINARY_EVENT;
    if ((ack && id < 0) || (!ack && !event && id >= 0))
        return fail(d, err, ERR_ID);

    json_t *payload = NULL;
    if (i < len) {
        if (!depth_ok(s + i, len - i, d->lim.max_depth))
            return fail(d, err, ERR_DEPTH);
        payload = parse_json((const char *)s + i, len - i);
        if (!payload)
            return fail(d, err, ERR_JSON);
    }
    const char *why;
    if (!payload_ok(t, payload, &d->lim, &why)) {
        json_decref(payload);
        return fail(d, err, why);
    }

    if (bin) {
        /* Check every placeholder now, so a bad one fails before its attachments arrive. */
        bool *used = util_calloc(n_att ? n_att : 1, sizeof *used);
        int rc = check_placeholders(payload, n_att, used);
        for (size_t k = 0; rc == 0 && k < n_att; k++)
            if (!used[k])
                rc = -1;
        util_free(used);
        if (rc != 0) {
            json_decref(payload);
            return fail(d, err, ERR_PLACEHOLDER);
        }
        t = t == SIO_BINARY_EVENT ? SIO_EVENT : SIO_ACK;
    }

    size_t held = 0;
    if (n_att) {
        /* Held until the attachments arrive: bounded by max_attachment_bytes from here on. */
        held = json_cost(payload) + util_alloc_cost(nsp_len + 1);
        if (held > d->lim.max_attachment_bytes) {
            json_decref(payload);
            return fail(d, err, ERR_ATT_BYTES);
        }
    }
    sio_packet p = {t, util_strndup((const char *)nsp, nsp_len), id, payload};
    if (n_att == 0) {
        *out = p;
        return SIO_DEC_PACKET;
    }
    d->held = held;
    d->pending = p;
    d->n_att = n_att;
    d->got = 0;
    d->att = util_calloc(n_att, sizeof *d->att);
    return SIO_DEC_NEED_MORE;
}

sio_decode_status sio_decoder_feed(sio_decoder *d, const uint8_t *data, size_t len, bool binary,
                                   sio_packet *out, const char **err)
{
    if (!binary) {
        if (d->n_att)
            return fail(d, err, ERR_TEXT);
        return feed_text(d, data, len, out, err);
    }
    if (!d->n_att)
        return fail(d, err, ERR_BINARY);
    size_t c = attachment_cost(len);
    if (c > d->lim.max_attachment_bytes || d->held + c > d->lim.max_attachment_bytes)
        return fail(d, err, ERR_ATT_BYTES);
    d->held += c;
    d->att[d->got++] = sio_binary_new(data, len);
    if (d->got < d->n_att)
        return SIO_DEC_NEED_MORE;
    fill_placeholders(d->pending.data, d->n_att, d->att);
    *out = d->pending;
    memset(&d->pending, 0, sizeof d->pending);
    decoder_reset(d);
    return SIO_DEC_PACKET;
}

/* ---------------------------------------------------------------------------------------------- */
/* Encoder                                                                                        */

/** Attachments collected while binary values are swapped for placeholders. */
typedef struct enc_att {
    eio_msg **v; /**< binary messages, in placeholder order; owned */
    size_t n;    /**< messages collected */
    size_t cap;  /**< slots allocated */
} enc_att;

/* Returns a new placeholder for the binary value bin, whose bytes become the next attachment. */
static json_t *take_binary(const json_t *bin, enc_att *a)
{
    size_t len;
    const uint8_t *bytes = sio_binary_data(bin, &len);
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 4;
        a->v = util_realloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n] = eio_msg_new(EIO_MESSAGE, true, bytes, len);
    json_t *ph = must(json_object());
    json_object_set_new(ph, "_placeholder", json_true());
    json_object_set_new(ph, "num", must(json_integer((json_int_t)a->n)));
    a->n++;
    return ph;
}

/* Walks v depth first (arrays in order, objects in key order) and swaps binary values for
 * placeholders. Returns a new reference to a changed copy, or NULL when v holds no binary value
 * (the caller then uses v itself). Unchanged subtrees are shared, not copied. */
static json_t *swap_binary(const json_t *v, enc_att *a, int depth)
{
    json_t *mv = (json_t *)v; /* jansson's getters take non-const pointers; v is not modified */
    if (depth > ENC_MAX_DEPTH)
        return NULL;
    if (json_is_array(v)) {
        json_t *copy = NULL;
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);
            json_t *r = swap_binary(e, a, depth + 1);
            if (r && !copy) {
                copy = must(json_array());
                for (size_t k = 0; k < i; k++)
                    json_array_append(copy, json_array_get(v, k));
            }
            if (copy)
                json_array_append_new(copy, r ? r : json_incref(e));
        }
        return copy;
    }
    if (!json_is_object(v))
        return NULL;
    if (sio_is_binary(v))
        return take_binary(v, a);
    json_t *copy = NULL;
    for (void *it = json_object_iter(mv); it; it = json_object_iter_next(mv, it)) {
        json_t *e = json_object_iter_value(it);
        json_t *r = swap_binary(e, a, depth + 1);
        if (r && !copy) {
            copy = must(json_object());
            for (void *k = json_object_iter(mv); k != it; k = json_object_iter_next(mv, k))
                json_object_setn_nocheck(copy, json_object_iter_key(k), json_object_iter_key_len(k),
                                         json_object_iter_value(k));
        }
        if (copy)
            json_object_setn_new_nocheck(copy, json_object_iter_key(it),
                                         json_object_iter_key_len(it), r ? r : json_incref(e));
    }
    return copy;
}

/* Writes v in decimal at buf (at most 20 digits, no NUL). Returns the digit count. (Every ack
 * reply and binary packet goes through here: no printf on that path.) */
static size_t put_decimal(char *buf, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

/* Writes the packet header (type digit, attachment count, namespace, ack id) into buf, which holds
 * at least header_max(nsp) bytes. Returns its length. */
static size_t put_header(char *buf, sio_ptype t, size_t n_att, const char *nsp, size_t nsp_len,
                         int64_t id)
{
    size_t n = 0;
    buf[n++] = (char)('0' + t);
    if (t == SIO_BINARY_EVENT || t == SIO_BINARY_ACK) {
        n += put_decimal(buf + n, n_att);
        buf[n++] = '-';
    }
    if (nsp_len) {
        memcpy(buf + n, nsp, nsp_len);
        n += nsp_len;
        buf[n++] = ',';
    }
    if (id >= 0)
        n += put_decimal(buf + n, (uint64_t)id);
    return n;
}

void sio_encode(sio_ptype t, const char *nsp, int64_t id, const json_t *data, sio_encoded *out)
{
    memset(out, 0, sizeof *out);
    if (t == SIO_BINARY_EVENT)
        t = SIO_EVENT;
    else if (t == SIO_BINARY_ACK)
        t = SIO_ACK;

    enc_att a = {NULL, 0, 0};
    json_t *swapped = NULL;
    if (data && (t == SIO_EVENT || t == SIO_ACK)) {
        swapped = swap_binary(data, &a, 0);
    } else if (sio_has_binary(data)) {
        /* jansson would dump the binary value as malformed JSON (it ignores a bad key). */
        UTIL_LOGE(UTIL_SUB_SOCKETIO, "binary data in a type %d packet; sending it without payload",
                  (int)t);
        data = NULL;
    }
    const json_t *body = swapped ? swapped : data;

    char stack_json[ENC_STACK_JSON];
    char *json = NULL;
    size_t json_len = 0;
    if (body) {
        json_len = json_dumpb(body, stack_json, sizeof stack_json, ENC_FLAGS);
        if (json_len == 0) {
            /* Only a cycle or a string made with *_nocheck that is not UTF-8 gets here. */
            UTIL_LOGE(UTIL_SUB_SOCKETIO, "unencodable payload in a type %d packet; sent without it",
                      (int)t);
            for (size_t k = 0; k < a.n; k++)
                eio_msg_unref(a.v[k]);
            a.n = 0;
            json_decref(swapped);
            swapped = NULL;
        } else if (json_len <= sizeof stack_json) {
            json = stack_json;
        } else {
            json = util_malloc(json_len);
            if (json_dumpb(body, json, json_len, ENC_FLAGS) != json_len)
                abort(); /* the same tree dumped twice cannot change size */
        }
    }
    if (swapped)
        t = t == SIO_EVENT ? SIO_BINARY_EVENT : SIO_BINARY_ACK;

    size_t nsp_len = nsp && strcmp(nsp, "/") != 0 ? strlen(nsp) : 0;
    /* digit + count + '-' + namespace + ',' + id, with room for sprintf's NUL */
    size_t hdr_max = 1 + 21 + 1 + nsp_len + 1 + 21 + 1;
    char stack_hdr[128];
    char *hdr = hdr_max <= sizeof stack_hdr ? stack_hdr : util_malloc(hdr_max);
    size_t hdr_len = put_header(hdr, t, a.n, nsp, nsp_len, id);

    out->text = eio_msg_new2(EIO_MESSAGE, hdr, hdr_len, json, json_len);
    out->attachments = a.v;
    out->n_attachments = a.n;
    if (!a.n) {
        util_free(a.v);
        out->attachments = NULL;
    }

    if (hdr != stack_hdr)
        util_free(hdr);
    if (json != stack_json)
        util_free(json);
    json_decref(swapped);
}

void sio_encoded_clear(sio_encoded *e)
{
    eio_msg_unref(e->text);
    for (size_t i = 0; i < e->n_attachments; i++)
        eio_msg_unref(e->attachments[i]);
    util_free(e->attachments);
    memset(e, 0, sizeof *e);
}

/* json_dump_callback sink: appends to the util_buf given as data. */
static int append_to_buf(const char *buffer, size_t size, void *data)
{
    util_buf_append(data, buffer, size);
    return 0;
}

int sio_json_append(util_buf *out, const json_t *v, size_t flags)
{
    size_t mark = out->len;
    if (v && json_dump_callback(v, append_to_buf, out, flags) == 0)
        return 0;
    out->len = mark;
    return -1;
}

bool sio_offset_parse(const char *s, uint64_t *a, uint64_t *b)
{
    uint64_t v[2] = {0, 0};
    const char *p = s;
    for (int k = 0; k < 2; k++) {
        const char *start = p;
        while (*p >= '0' && *p <= '9') {
            uint64_t d = (uint64_t)(*p - '0');
            if (v[k] > (UINT64_MAX - d) / 10)
                return false;
            v[k] = v[k] * 10 + d;
            p++;
        }
        if (p == start || p - start > 20)
            return false;
        if (k == 0 && *p++ != '-')
            return false;
    }
    if (*p)
        return false;
    *a = v[0];
    *b = v[1];
    return true;
}
