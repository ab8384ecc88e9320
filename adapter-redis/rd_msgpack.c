/* rd_msgpack: msgpack <-> jansson, as notepack.io 3 does it: a header pass that bounds what the
 * input may make msgpack-c allocate, the conversion of unpacked objects (timestamps, legacy
 * notepack 2 forms, ext types), and the encoder. */
#include "rd_msgpack.h"

#include "util_alloc.h"
#include "sio_binary.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JS Date range: TimeClip turns anything beyond +-8.64e15 ms into an invalid Date. */
#define JS_DATE_MAX_MS 8.64e15

static const char E_TRUNCATED[] = "truncated msgpack";
static const char E_OOM[] = "out of memory";

/* Aborts when jansson could not allocate v, as util_alloc does for every other allocation. Returns
 * v (the reference is passed through). */
json_t *rd_need(json_t *v)
{
    if (!v) {
        fprintf(stderr, "siobroker: rd_codec: out of memory\n");
        abort();
    }
    return v;
}

/* Aborts when a jansson insertion failed (only on out-of-memory here). */
void rd_need_ok(int rc)
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
        return rd_need(json_null());
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
    return rd_need(json_string(buf));
}

/* The msgpack header byte an ext was written with (0xd4..0xd8 fixext, 0xc7/0xc8/0xc9 ext8/16/32),
 * which notepack looks at but msgpack_object does not keep. msgpack_unpack_next leaves ext data
 * pointing into the input (it copies nothing it does not have to), so the header sits just before it; the forms
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
    json_t *pair = rd_need(json_array()); /* [type, Buffer] */
    rd_need_ok(json_array_append_new(pair, rd_need(json_integer(e->type))));
    rd_need_ok(json_array_append_new(pair, sio_binary_new(d, e->size)));
    *out = pair;
    return CONV_OK;
}

/* Converts o into *out (a new reference) unless it is undefined or an error. */
static int conv(conv_ctx *c, const msgpack_object *o, json_t **out)
{
    *out = NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: *out = rd_need(json_null()); return CONV_OK;
    case MSGPACK_OBJECT_BOOLEAN: *out = rd_need(json_boolean(o->via.boolean)); return CONV_OK;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 <= (uint64_t)INT64_MAX)
            *out = rd_need(json_integer((json_int_t)o->via.u64));
        else /* past json_int_t: a JS number anyway */
            *out = rd_need(json_real((double)o->via.u64));
        return CONV_OK;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = rd_need(json_integer((json_int_t)o->via.i64));
        return CONV_OK;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        /* jansson has no NaN or infinity; JSON.stringify writes them as null for the client. */
        *out = rd_need(isfinite(o->via.f64) ? json_real(o->via.f64) : json_null());
        return CONV_OK;
    case MSGPACK_OBJECT_STR:
        if (!utf8_valid((const uint8_t *)o->via.str.ptr, o->via.str.size))
            return conv_fail(c, "msgpack string is not valid UTF-8");
        *out =
            rd_need(json_stringn_nocheck(o->via.str.size ? o->via.str.ptr : "", o->via.str.size));
        return CONV_OK;
    case MSGPACK_OBJECT_BIN: *out = sio_binary_new(o->via.bin.ptr, o->via.bin.size); return CONV_OK;
    case MSGPACK_OBJECT_EXT: return conv_ext(c, &o->via.ext, out);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = rd_need(json_array());
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            json_t *v;
            int rc = conv(c, &o->via.array.ptr[i], &v);
            if (rc == CONV_ERR) {
                json_decref(a);
                return CONV_ERR;
            }
            /* undefined inside an array reaches the client as null */
            rd_need_ok(json_array_append_new(a, rc == CONV_UNDEFINED ? rd_need(json_null()) : v));
        }
        *out = a;
        return CONV_OK;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = rd_need(json_object());
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
                rd_need_ok(json_object_setn_new_nocheck(m, ks, kn, v));
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
    *out = r == CONV_UNDEFINED ? rd_need(json_null()) : v;
    return 0;
fail:
    if (err)
        *err = e;
    return -1;
}

/* ---- jansson -> msgpack ---------------------------------------------------------------------- */

/* msgpack_packer sink: appends to the util_buf given as data. */
static int sink(void *data, const char *buf, size_t len)
{
    util_buf_append(data, buf, len);
    return 0;
}

void rd_packer_init(msgpack_packer *pk, util_buf *out)
{
    msgpack_packer_init(pk, out, sink);
}

void rd_pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void rd_pack_cstr(msgpack_packer *pk, const char *s)
{
    rd_pack_strn(pk, s, strlen(s));
}

/* A string, or nil for NULL. */
void rd_pack_cstr_or_nil(msgpack_packer *pk, const char *s)
{
    if (s)
        rd_pack_cstr(pk, s);
    else
        msgpack_pack_nil(pk);
}

void rd_pack_json(msgpack_packer *pk, const json_t *v, int depth)
{
    if (!v || depth > RD_ENCODE_MAX_DEPTH) {
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
            rd_pack_strn(pk, json_object_iter_key(it), json_object_iter_key_len(it));
            rd_pack_json(pk, json_object_iter_value(it), depth + 1);
        }
        return;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        msgpack_pack_array(pk, n);
        for (size_t i = 0; i < n; i++)
            rd_pack_json(pk, json_array_get(v, i), depth + 1);
        return;
    }
    case JSON_STRING: rd_pack_strn(pk, json_string_value(v), json_string_length(v)); return;
    case JSON_INTEGER: msgpack_pack_int64(pk, (int64_t)json_integer_value(v)); return;
    case JSON_REAL: msgpack_pack_double(pk, json_real_value(v)); return;
    case JSON_TRUE: msgpack_pack_true(pk); return;
    case JSON_FALSE: msgpack_pack_false(pk); return;
    case JSON_NULL: msgpack_pack_nil(pk); return;
    }
    msgpack_pack_nil(pk);
}

void rd_json_to_msgpack(util_buf *out, const json_t *v)
{
    msgpack_packer pk;
    rd_packer_init(&pk, out);
    rd_pack_json(&pk, v, 0);
}
