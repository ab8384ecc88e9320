/* rd_codec: msgpack <-> jansson as notepack.io 3 does it; broadcasts, requests, channel names. */
#include "rd_codec.h"

#include "sio_packet.h"

#include "sio_alloc.h"
#include "sio_binary.h"

#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Containers nested deeper than this are written as nil by the encoders (only a cyclic or absurd
 * tree gets there; sio_has_binary stops at the same depth). */
#define ENCODE_MAX_DEPTH 2048

/* JS Date range: TimeClip turns anything beyond +-8.64e15 ms into an invalid Date. */
#define JS_DATE_MAX_MS 8.64e15

static const char E_TRUNCATED[] = "truncated msgpack";
static const char E_OOM[] = "out of memory";

/* Aborts when jansson could not allocate v, as sio_alloc does for every other allocation. Returns
 * v (the reference is passed through). */
static json_t *need(json_t *v)
{
    if (!v) {
        fprintf(stderr, "siobroker: rd_codec: out of memory\n");
        abort();
    }
    return v;
}

/* Aborts when a jansson insertion failed (only on out-of-memory here). */
static void need_ok(int rc)
{
    if (rc != 0) {
        fprintf(stderr, "siobroker: rd_codec: out of memory\n");
        abort();
    }
}

/* True when s[0..n) is UTF-8 as jansson accepts it: no overlong forms, no surrogates, nothing past
 * U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            uint8_t d = s[i + j];
            if ((d & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (d & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* Reads an n-byte big-endian unsigned integer. */
static uint64_t be_uint(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* ---- pre-scan: limits before msgpack-c allocates anything ------------------------------------ */

/* msgpack-c allocates n objects as soon as it reads an array header, before any element arrives, so
 * a 5-byte "dd ff ff ff ff" would ask for ~100 GB. This pass walks the headers first and rejects
 * input whose declared sizes exceed the bytes left (every element takes at least one byte), whose
 * nesting exceeds RD_MAX_DEPTH or that holds more than RD_MAX_ELEMENTS values. */
typedef struct scan_ctx {
    const uint8_t *p;   /* next byte */
    const uint8_t *end; /* end of input */
    uint64_t elements;  /* values inside containers so far */
    const char *err;    /* static message on failure */
} scan_ctx;

static int scan_fail(scan_ctx *c, const char *msg)
{
    c->err = msg;
    return -1;
}

/* True when header byte b starts an ext whose type byte is type and which notepack decodes to the
 * array [type, Buffer] (see conv_ext): neither a timestamp (-1 in d6, d7, c7) nor a legacy form
 * (0 in d4, d7, c7, c8, c9). */
static bool ext_is_pair(uint8_t b, int8_t type)
{
    if (b != 0xc7 && b != 0xc8 && b != 0xc9 && (b < 0xd4 || b > 0xd8))
        return false;
    if (type == -1)
        return !(b == 0xd6 || b == 0xd7 || b == 0xc7);
    if (type == 0)
        return !(b == 0xd4 || b == 0xd7 || b == 0xc7 || b == 0xc8 || b == 0xc9);
    return true;
}

/* Checks one value at c->p and advances past it. Returns 0 or -1 (c->err set). */
static int scan_value(scan_ctx *c, int depth)
{
    if (c->p == c->end)
        return scan_fail(c, E_TRUNCATED);
    uint8_t b = *c->p++;
    uint64_t payload = 0;  /* bytes after the header of a scalar */
    uint64_t children = 0; /* values inside a container */
    bool container = false;
    size_t lenbytes = 0; /* size of the length field that follows b */
    uint64_t extra = 0;  /* bytes after the length field besides the declared length */

    if (b < 0x80 || b >= 0xe0)
        return 0; /* fixint */
    if (b < 0x90) {
        children = 2u * (b & 0x0f);
        container = true;
    } else if (b < 0xa0) {
        children = b & 0x0f;
        container = true;
    } else if (b < 0xc0) {
        payload = b & 0x1f;
    } else {
        switch (b) {
        case 0xc0:
        case 0xc2:
        case 0xc3: return 0;
        case 0xc1: return scan_fail(c, "reserved msgpack byte 0xc1");
        case 0xc4:
        case 0xd9: lenbytes = 1; break;
        case 0xc5:
        case 0xda: lenbytes = 2; break;
        case 0xc6:
        case 0xdb: lenbytes = 4; break;
        case 0xc7: lenbytes = 1, extra = 1; break;
        case 0xc8: lenbytes = 2, extra = 1; break;
        case 0xc9: lenbytes = 4, extra = 1; break;
        case 0xcc:
        case 0xd0: payload = 1; break;
        case 0xcd:
        case 0xd1: payload = 2; break;
        case 0xca:
        case 0xce:
        case 0xd2: payload = 4; break;
        case 0xcb:
        case 0xcf:
        case 0xd3: payload = 8; break;
        case 0xd4: payload = 2; break;
        case 0xd5: payload = 3; break;
        case 0xd6: payload = 5; break;
        case 0xd7: payload = 9; break;
        case 0xd8: payload = 17; break;
        case 0xdc:
        case 0xde: lenbytes = 2, container = true; break;
        case 0xdd:
        case 0xdf: lenbytes = 4, container = true; break;
        default: return scan_fail(c, "unknown msgpack type byte"); /* not reached */
        }
    }
    size_t left = (size_t)(c->end - c->p);
    if (lenbytes) {
        if (left < lenbytes)
            return scan_fail(c, E_TRUNCATED);
        uint64_t n = be_uint(c->p, lenbytes);
        c->p += lenbytes;
        left -= lenbytes;
        if (container)
            children = (b == 0xde || b == 0xdf) ? 2 * n : n;
        else
            payload = n + extra;
    }
    if (!container) {
        if (payload > left)
            return scan_fail(c, E_TRUNCATED);
        if (ext_is_pair(b, payload ? (int8_t)c->p[0] : 0)) {
            /* It becomes the array [type, bin], a container of 2 once encoded again. */
            if (depth >= RD_MAX_DEPTH)
                return scan_fail(c, "msgpack nested deeper than RD_MAX_DEPTH");
            c->elements += 2;
            if (c->elements > RD_MAX_ELEMENTS)
                return scan_fail(c, "msgpack holds more than RD_MAX_ELEMENTS values");
        }
        c->p += payload;
        return 0;
    }
    if (depth >= RD_MAX_DEPTH)
        return scan_fail(c, "msgpack nested deeper than RD_MAX_DEPTH");
    if (children > left)
        return scan_fail(c, "msgpack container declares more elements than bytes remain");
    c->elements += children;
    if (c->elements > RD_MAX_ELEMENTS)
        return scan_fail(c, "msgpack holds more than RD_MAX_ELEMENTS values");
    for (uint64_t i = 0; i < children; i++)
        if (scan_value(c, depth + 1) != 0)
            return -1;
    return 0;
}

/* ---- msgpack_object -> jansson --------------------------------------------------------------- */

typedef struct conv_ctx {
    const uint8_t *base; /* the input: ext headers are read back from it */
    size_t len;
    const char *err;
} conv_ctx;

/* conv() results: a value, notepack 2's undefined (no value), or an error. */
enum { CONV_OK = 0, CONV_UNDEFINED = 1, CONV_ERR = -1 };

static int conv_fail(conv_ctx *c, const char *msg)
{
    c->err = msg;
    return CONV_ERR;
}

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* The JSON a socket.io client receives for new Date(t): the Date.toISOString() text, or null for an
 * invalid Date (Date.toJSON gives null). Returns a new reference. */
static json_t *js_date(double t)
{
    if (!(fabs(t) <= JS_DATE_MAX_MS)) /* also NaN */
        return need(json_null());
    int64_t ms = (int64_t)t; /* TimeClip truncates toward zero */
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    int hh = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), ss = (int)(rem / 1000 % 60);
    int msec = (int)(rem % 1000);
    char buf[48];
    if (y >= 0 && y <= 9999)
        snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, mo, d, hh,
                 mi, ss, msec);
    else /* expanded years: sign and six digits */
        snprintf(buf, sizeof buf, "%+07lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, mo, d, hh,
                 mi, ss, msec);
    return need(json_string(buf));
}

/* The msgpack header byte an ext was written with (0xd4..0xd8 fixext, 0xc7/0xc8/0xc9 ext8/16/32),
 * which notepack looks at but msgpack_object does not keep. msgpack_unpack_next leaves ext data
 * pointing into the input (STYLE.md practice 6), so the header sits just before it; the forms
 * cannot be confused since a fixext header byte never equals its size. Returns 0 if not found. */
static int ext_form(const conv_ctx *c, const msgpack_object_ext *e)
{
    const uint8_t *p = (const uint8_t *)e->ptr;
    if (!p || p < c->base + 2 || p > c->base + c->len)
        return 0;
    size_t off = (size_t)(p - c->base);
    const uint8_t *b = c->base;
    static const struct {
        uint32_t size;
        uint8_t hdr;
    } fix[] = {{1, 0xd4}, {2, 0xd5}, {4, 0xd6}, {8, 0xd7}, {16, 0xd8}};
    for (size_t i = 0; i < sizeof fix / sizeof *fix; i++)
        if (e->size == fix[i].size && b[off - 2] == fix[i].hdr)
            return fix[i].hdr;
    if (off >= 3 && b[off - 3] == 0xc7 && b[off - 2] == e->size)
        return 0xc7;
    if (off >= 4 && b[off - 4] == 0xc8 && be_uint(b + off - 3, 2) == e->size)
        return 0xc8;
    if (off >= 6 && b[off - 6] == 0xc9 && be_uint(b + off - 5, 4) == e->size)
        return 0xc9;
    return 0;
}

/* An ext value, as notepack.io 3's decoder reads it. */
static int conv_ext(conv_ctx *c, const msgpack_object_ext *e, json_t **out)
{
    const uint8_t *d = (const uint8_t *)e->ptr;
    int form = ext_form(c, e);
    if (!form)
        return conv_fail(c, "msgpack ext outside its input");
    if (e->type == -1 && form == 0xd6) { /* timestamp 32: uint32 seconds */
        *out = js_date((double)be_uint(d, 4) * 1e3);
        return CONV_OK;
    }
    if (e->type == -1 && form == 0xd7) { /* timestamp 64: 30-bit ns, 34-bit seconds */
        uint32_t hi = (uint32_t)be_uint(d, 4), lo = (uint32_t)be_uint(d + 4, 4);
        double s = (double)(hi & 0x3) * 4294967296.0 + (double)lo;
        *out = js_date(s * 1e3 + (double)(hi >> 2) / 1e6);
        return CONV_OK;
    }
    if (e->type == -1 && form == 0xc7) { /* timestamp 96: uint32 ns, int64 seconds */
        if (e->size != 12)
            return conv_fail(c, "msgpack timestamp ext8 does not hold 12 bytes");
        uint32_t ns = (uint32_t)be_uint(d, 4);
        int32_t hi = (int32_t)(uint32_t)be_uint(d + 4, 4);
        uint32_t lo = (uint32_t)be_uint(d + 8, 4);
        /* The same double operations, in the same order, as notepack's JavaScript. */
        double s = (double)hi * 4294967296.0 + (double)lo;
        *out = js_date(s * 1e3 + (double)ns / 1e6);
        return CONV_OK;
    }
    if (e->type == 0 && form == 0xd4) /* notepack 2 undefined: d4 00 xx */
        return CONV_UNDEFINED;
    if (e->type == 0 && form == 0xd7) { /* notepack 2 Date: int64 ms */
        int32_t hi = (int32_t)(uint32_t)be_uint(d, 4);
        uint32_t lo = (uint32_t)be_uint(d + 4, 4);
        *out = js_date((double)hi * 4294967296.0 + (double)lo);
        return CONV_OK;
    }
    if (e->type == 0 && (form == 0xc7 || form == 0xc8 || form == 0xc9)) { /* ArrayBuffer */
        *out = sio_binary_new(d, e->size);
        return CONV_OK;
    }
    json_t *pair = need(json_array()); /* [type, Buffer] */
    need_ok(json_array_append_new(pair, need(json_integer(e->type))));
    need_ok(json_array_append_new(pair, sio_binary_new(d, e->size)));
    *out = pair;
    return CONV_OK;
}

/* Converts o into *out (a new reference) unless it is undefined or an error. */
static int conv(conv_ctx *c, const msgpack_object *o, json_t **out)
{
    *out = NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: *out = need(json_null()); return CONV_OK;
    case MSGPACK_OBJECT_BOOLEAN: *out = need(json_boolean(o->via.boolean)); return CONV_OK;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 <= (uint64_t)INT64_MAX)
            *out = need(json_integer((json_int_t)o->via.u64));
        else /* past json_int_t: a JS number anyway */
            *out = need(json_real((double)o->via.u64));
        return CONV_OK;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = need(json_integer((json_int_t)o->via.i64));
        return CONV_OK;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        /* jansson has no NaN or infinity; JSON.stringify writes them as null for the client. */
        *out = need(isfinite(o->via.f64) ? json_real(o->via.f64) : json_null());
        return CONV_OK;
    case MSGPACK_OBJECT_STR:
        if (!utf8_valid((const uint8_t *)o->via.str.ptr, o->via.str.size))
            return conv_fail(c, "msgpack string is not valid UTF-8");
        *out = need(json_stringn_nocheck(o->via.str.size ? o->via.str.ptr : "", o->via.str.size));
        return CONV_OK;
    case MSGPACK_OBJECT_BIN: *out = sio_binary_new(o->via.bin.ptr, o->via.bin.size); return CONV_OK;
    case MSGPACK_OBJECT_EXT: return conv_ext(c, &o->via.ext, out);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = need(json_array());
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            json_t *v;
            int rc = conv(c, &o->via.array.ptr[i], &v);
            if (rc == CONV_ERR) {
                json_decref(a);
                return CONV_ERR;
            }
            /* undefined inside an array reaches the client as null */
            need_ok(json_array_append_new(a, rc == CONV_UNDEFINED ? need(json_null()) : v));
        }
        *out = a;
        return CONV_OK;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = need(json_object());
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type != MSGPACK_OBJECT_STR) {
                json_decref(m);
                return conv_fail(c, "msgpack map key is not a string");
            }
            const char *ks = k->via.str.size ? k->via.str.ptr : "";
            size_t kn = k->via.str.size;
            if (!utf8_valid((const uint8_t *)ks, kn)) {
                json_decref(m);
                return conv_fail(c, "msgpack map key is not valid UTF-8");
            }
            if (memchr(ks, '\0', kn)) { /* jansson's JSON parser refuses these too */
                json_decref(m);
                return conv_fail(c, "msgpack map key holds a NUL byte");
            }
            json_t *v;
            int rc = conv(c, &o->via.map.ptr[i].val, &v);
            if (rc == CONV_ERR) {
                json_decref(m);
                return CONV_ERR;
            }
            if (rc == CONV_UNDEFINED) /* JSON.stringify leaves undefined entries out */
                json_object_deln(m, ks, kn);
            else
                need_ok(json_object_setn_new_nocheck(m, ks, kn, v));
        }
        *out = m;
        return CONV_OK;
    }
    }
    return conv_fail(c, "unknown msgpack object type");
}

int rd_msgpack_to_json(const uint8_t *buf, size_t len, json_t **out, const char **err)
{
    *out = NULL;
    const char *e = NULL;
    if (!buf || len == 0) {
        e = "empty msgpack";
        goto fail;
    }
    scan_ctx sc = {buf, buf + len, 0, NULL};
    if (scan_value(&sc, 0) != 0) {
        e = sc.err;
        goto fail;
    }
    if (sc.p != sc.end) {
        e = "trailing bytes after the msgpack value";
        goto fail;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(&u, (const char *)buf, len, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != len) {
        /* The scan accepted it, so only a failed allocation gets here. */
        msgpack_unpacked_destroy(&u);
        e = rc == MSGPACK_UNPACK_NOMEM_ERROR ? E_OOM : "msgpack-c refused the value";
        goto fail;
    }
    conv_ctx cc = {buf, len, NULL};
    json_t *v;
    int r = conv(&cc, &u.data, &v);
    msgpack_unpacked_destroy(&u); /* v holds copies; nothing points into buf or the zone */
    if (r == CONV_ERR) {
        e = cc.err;
        goto fail;
    }
    *out = r == CONV_UNDEFINED ? need(json_null()) : v;
    return 0;
fail:
    if (err)
        *err = e;
    return -1;
}

/* ---- jansson -> msgpack ---------------------------------------------------------------------- */

/* msgpack_packer sink: appends to the sio_buf given as data. */
static int sink(void *data, const char *buf, size_t len)
{
    sio_buf_append(data, buf, len);
    return 0;
}

static void packer_init(msgpack_packer *pk, sio_buf *out)
{
    msgpack_packer_init(pk, out, sink);
}

static void pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
    pack_strn(pk, s, strlen(s));
}

/* A string, or nil for NULL. */
static void pack_cstr_or_nil(msgpack_packer *pk, const char *s)
{
    if (s)
        pack_cstr(pk, s);
    else
        msgpack_pack_nil(pk);
}

static void pack_json(msgpack_packer *pk, const json_t *v, int depth)
{
    if (!v || depth > ENCODE_MAX_DEPTH) {
        msgpack_pack_nil(pk);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n;
        const uint8_t *bin = sio_binary_data(v, &n);
        if (bin) {
            msgpack_pack_bin(pk, n);
            msgpack_pack_bin_body(pk, bin, n);
            return;
        }
        json_t *o = (json_t *)v; /* the iterator API takes non-const pointers; o is only read */
        msgpack_pack_map(pk, json_object_size(o));
        for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
            pack_strn(pk, json_object_iter_key(it), json_object_iter_key_len(it));
            pack_json(pk, json_object_iter_value(it), depth + 1);
        }
        return;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        msgpack_pack_array(pk, n);
        for (size_t i = 0; i < n; i++)
            pack_json(pk, json_array_get(v, i), depth + 1);
        return;
    }
    case JSON_STRING: pack_strn(pk, json_string_value(v), json_string_length(v)); return;
    case JSON_INTEGER: msgpack_pack_int64(pk, (int64_t)json_integer_value(v)); return;
    case JSON_REAL: msgpack_pack_double(pk, json_real_value(v)); return;
    case JSON_TRUE: msgpack_pack_true(pk); return;
    case JSON_FALSE: msgpack_pack_false(pk); return;
    case JSON_NULL: msgpack_pack_nil(pk); return;
    }
    msgpack_pack_nil(pk);
}

void rd_json_to_msgpack(sio_buf *out, const json_t *v)
{
    msgpack_packer pk;
    packer_init(&pk, out);
    pack_json(&pk, v, 0);
}

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
        sio_free(list[i]);
    sio_free(list);
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
    char **l = sio_calloc(total, sizeof *l);
    json_t *seen = need(json_object()); /* a set of names, so duplicates cost O(1) */
    size_t k = 0;
    for (size_t i = 0; i < total; i++) {
        const json_t *s = json_array_get(v, i);
        const char *str = json_string_value(s);
        size_t len = json_string_length(s);
        if (json_object_getn(seen, str, len))
            continue;
        need_ok(json_object_setn_new_nocheck(seen, str, len, json_true()));
        l[k++] = sio_strndup(str, len);
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
    out->nsp = nsp ? sio_strndup(json_string_value(nsp), json_string_length(nsp)) : sio_strdup("/");
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
        out->uid = sio_strndup(json_string_value(uid), json_string_length(uid));
    if (take_packet(json_array_get(root, 1), out, &e) != 0 ||
        take_opts(json_array_get(root, 2), out, &e) != 0)
        goto fail;
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
    pack_cstr(pk, "type");
    msgpack_pack_int(pk, 2);
    pack_cstr(pk, "data");
    if (b->data)
        pack_json(pk, b->data, 0);
    else
        msgpack_pack_array(pk, 0);
    pack_cstr(pk, "nsp");
    pack_cstr(pk, b->nsp ? b->nsp : "/");
}

/* Writes the names of list[0..n) as an array, each once, in order. */
static void pack_room_list(msgpack_packer *pk, char *const *list, size_t n)
{
    if (n < 2) {
        msgpack_pack_array(pk, n);
        if (n)
            pack_cstr(pk, list[0]);
        return;
    }
    json_t *seen = need(json_object());
    const char **uniq = sio_calloc(n, sizeof *uniq);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (json_object_get(seen, list[i]))
            continue;
        need_ok(json_object_set_new_nocheck(seen, list[i], json_true()));
        uniq[k++] = list[i];
    }
    msgpack_pack_array(pk, k);
    for (size_t i = 0; i < k; i++)
        pack_cstr(pk, uniq[i]);
    sio_free(uniq);
    json_decref(seen);
}

/* Writes the flags map: volatile:true, compress:bool, timeout:int, each only when set. */
static void pack_flags(msgpack_packer *pk, const rd_broadcast *b, long long timeout_ms)
{
    msgpack_pack_map(pk, (size_t)b->volatile_ + (size_t)b->compress_set + (timeout_ms >= 0));
    if (b->volatile_) {
        pack_cstr(pk, "volatile");
        msgpack_pack_true(pk);
    }
    if (b->compress_set) {
        pack_cstr(pk, "compress");
        if (b->compress)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
    }
    if (timeout_ms >= 0) {
        pack_cstr(pk, "timeout");
        msgpack_pack_int64(pk, timeout_ms);
    }
}

/* Writes opts: {rooms, flags, except} (emitter) or {rooms, except, flags} (adapter). */
static void pack_opts(msgpack_packer *pk, const rd_broadcast *b, bool emitter_order,
                      long long timeout_ms)
{
    msgpack_pack_map(pk, 3);
    pack_cstr(pk, "rooms");
    pack_room_list(pk, b->rooms, b->n_rooms);
    if (emitter_order) {
        pack_cstr(pk, "flags");
        pack_flags(pk, b, timeout_ms);
    }
    pack_cstr(pk, "except");
    pack_room_list(pk, b->except, b->n_except);
    if (!emitter_order) {
        pack_cstr(pk, "flags");
        pack_flags(pk, b, timeout_ms);
    }
}

void rd_broadcast_encode(sio_buf *out, const rd_broadcast *b, bool emitter_key_order)
{
    msgpack_packer pk;
    packer_init(&pk, out);
    msgpack_pack_array(&pk, 3);
    pack_cstr_or_nil(&pk, b->uid);
    pack_packet(&pk, b);
    pack_opts(&pk, b, emitter_key_order, -1);
}

void rd_broadcast_clear(rd_broadcast *b)
{
    if (!b)
        return;
    sio_free(b->uid);
    json_decref(b->data);
    sio_free(b->nsp);
    free_list(b->rooms, b->n_rooms);
    free_list(b->except, b->n_except);
    memset(b, 0, sizeof *b);
}

/* ---- channels -------------------------------------------------------------------------------- */

void rd_channel_broadcast(sio_buf *out, const char *key, const char *nsp, const char *room)
{
    sio_buf_puts(out, key);
    sio_buf_putc(out, '#');
    sio_buf_puts(out, nsp);
    sio_buf_putc(out, '#');
    if (room) {
        sio_buf_puts(out, room);
        sio_buf_putc(out, '#');
    }
}

void rd_channel_request(sio_buf *out, const char *key, const char *nsp)
{
    sio_buf_puts(out, key);
    sio_buf_puts(out, "-request#");
    sio_buf_puts(out, nsp);
    sio_buf_putc(out, '#');
}

void rd_channel_response(sio_buf *out, const char *key, const char *nsp, const char *uid)
{
    sio_buf_puts(out, key);
    sio_buf_puts(out, "-response#");
    sio_buf_puts(out, nsp);
    sio_buf_putc(out, '#');
    if (uid) {
        sio_buf_puts(out, uid);
        sio_buf_putc(out, '#');
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
    *room_out = sio_strndup(channel + pl, rl);
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
        out->uid = sio_strndup(json_string_value(uid), json_string_length(uid));
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
    if (depth > ENCODE_MAX_DEPTH)
        return need(json_null());
    size_t n;
    const uint8_t *bin = sio_binary_data(v, &n);
    if (bin) {
        json_t *o = need(json_object()), *a = need(json_array());
        for (size_t i = 0; i < n; i++)
            need_ok(json_array_append_new(a, need(json_integer(bin[i]))));
        need_ok(json_object_set_new(o, "type", need(json_string("Buffer"))));
        need_ok(json_object_set_new(o, "data", a));
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = need(json_array());
        for (size_t i = 0; i < json_array_size(v); i++)
            need_ok(json_array_append_new(a, node_buffers(json_array_get(v, i), depth + 1)));
        return a;
    }
    if (json_is_object(v)) {
        json_t *src = (json_t *)v, *o = need(json_object()); /* src is only read */
        for (void *it = json_object_iter(src); it; it = json_object_iter_next(src, it))
            need_ok(json_object_setn_new_nocheck(
                o, json_object_iter_key(it), json_object_iter_key_len(it),
                node_buffers(json_object_iter_value(it), depth + 1)));
        return o;
    }
    return json_incref((json_t *)v);
}

/* json_dump_callback sink: appends to the sio_buf given as data. */
static int json_sink(const char *buffer, size_t size, void *data)
{
    sio_buf_append(data, buffer, size);
    return 0;
}

void rd_request_encode_json(sio_buf *out, const json_t *req)
{
    json_t *v = sio_has_binary(req) ? node_buffers(req, 0) : json_incref((json_t *)req);
    size_t mark = out->len;
    if (json_dump_callback(v, json_sink, out, JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
        /* Only a tree jansson cannot write gets here (a NULL req, a key that is not UTF-8). */
        out->len = mark;
        sio_buf_puts(out, "null");
    }
    json_decref(v);
}

void rd_request_encode(sio_buf *out, const json_t *req)
{
    int t = rd_request_type_of(req);
    if (t == RD_REQ_BROADCAST || t == RD_REQ_BROADCAST_ACK || sio_has_binary(req))
        rd_json_to_msgpack(out, req);
    else
        rd_request_encode_json(out, req);
}

void rd_request_encode_broadcast(sio_buf *out, const char *request_id, const rd_broadcast *b,
                                 long long timeout_ms)
{
    msgpack_packer pk;
    packer_init(&pk, out);
    msgpack_pack_map(&pk, b->uid ? 5 : 4);
    if (b->uid) { /* requests without a uid (the emitter's) leave the key out */
        pack_cstr(&pk, "uid");
        pack_cstr(&pk, b->uid);
    }
    pack_cstr(&pk, "requestId");
    pack_cstr_or_nil(&pk, request_id);
    pack_cstr(&pk, "type");
    msgpack_pack_int(&pk, RD_REQ_BROADCAST);
    pack_cstr(&pk, "packet");
    pack_packet(&pk, b);
    pack_cstr(&pk, "opts");
    pack_opts(&pk, b, false, timeout_ms);
}

void rd_request_encode_broadcast_ack(sio_buf *out, const char *request_id, const json_t *packet)
{
    msgpack_packer pk;
    packer_init(&pk, out);
    msgpack_pack_map(&pk, packet ? 3 : 2);
    pack_cstr(&pk, "type");
    msgpack_pack_int(&pk, RD_REQ_BROADCAST_ACK);
    pack_cstr(&pk, "requestId");
    pack_cstr_or_nil(&pk, request_id);
    if (packet) {
        pack_cstr(&pk, "packet");
        pack_json(&pk, packet, 0);
    }
}
