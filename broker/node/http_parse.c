/* http_parse: request heads over http-parser's callbacks, with the node's limits; look-ups. */
#include "http_parse.h"

#include "util_alloc.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* ---- look-ups -------------------------------------------------------------------------------- */

void http_head_free(http_head *h)
{
    util_buf_free(&h->url);
    util_buf_free(&h->hdrs);
    util_buf_free(&h->pathb);
    h->path = NULL;
    h->query = NULL;
}

/** A head buffer larger than this is not kept for the next request. */
#define HEAD_KEEP 4096

static void keep_or_free(util_buf *b)
{
    if (b->cap > HEAD_KEEP)
        util_buf_free(b);
    b->len = 0;
}

void http_head_reset(http_head *h)
{
    util_buf url = h->url, hdrs = h->hdrs, pathb = h->pathb;
    keep_or_free(&url);
    keep_or_free(&hdrs);
    keep_or_free(&pathb);
    memset(h, 0, sizeof *h);
    h->url = url;
    h->hdrs = hdrs;
    h->pathb = pathb;
}

int http_head_header_foreach(const http_head *h,
                             int (*fn)(const char *name, const char *value, void *ud), void *ud)
{
    const char *p = (const char *)h->hdrs.data, *end = p + h->hdrs.len;
    while (p && p < end) {
        const char *name = p;
        const char *value = memchr(name, '\0', (size_t)(end - name));
        if (!value || ++value >= end)
            break;
        const char *next = memchr(value, '\0', (size_t)(end - value));
        if (!next)
            break;
        int rc = fn(name, value, ud);
        if (rc)
            return rc;
        p = next + 1;
    }
    return 0;
}

typedef struct hdr_find {
    const char *name;
    const char *value;
} hdr_find;

static int match_header(const char *name, const char *value, void *ud)
{
    hdr_find *f = ud;
    if (strcmp(name, f->name) != 0)
        return 0;
    f->value = value;
    return 1;
}

const char *http_head_header(const http_head *h, const char *name)
{
    hdr_find f = {name, NULL};
    http_head_header_foreach(h, match_header, &f);
    return f.value;
}

bool http_has_token(const char *list, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0)
            return true;
        p = e;
    }
    return false;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..len) into out (room for len + 1); '+' becomes a space when plus. Returns
 * the decoded length; *nul (when given) is set when the result holds a NUL byte. */
static size_t url_decode(const char *s, size_t len, char *out, bool plus, bool *nul)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < len) {
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi >= 0 && lo >= 0) { /* an invalid escape stays as it is */
                c = (char)(hi * 16 + lo);
                i += 2;
            }
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == '\0' && nul)
            *nul = true;
        out[o++] = c;
    }
    out[o] = '\0';
    return o;
}

int http_head_query_foreach(const http_head *h, int (*fn)(const char *arg, size_t len, void *ud),
                            void *ud)
{
    const char *q = h->query;
    if (!q || !*q)
        return 0;
    char small[512];
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len) {
            char *buf = len < sizeof small ? small : util_malloc(len + 1);
            size_t dl = url_decode(q, len, buf, true, NULL);
            int rc = fn(buf, dl, ud);
            if (buf != small)
                util_free(buf);
            if (rc)
                return rc;
        }
        if (!amp)
            break;
        q = amp + 1;
    }
    return 0;
}

typedef struct arg_find {
    const char *name;
    size_t name_len;
    char *out;
    size_t out_len;
    bool found;
} arg_find;

static int match_arg(const char *arg, size_t len, void *ud)
{
    arg_find *a = ud;
    if (len < a->name_len + 1 || memcmp(arg, a->name, a->name_len) != 0 || arg[a->name_len] != '=')
        return 0;
    size_t vlen = len - a->name_len - 1;
    if (vlen >= a->out_len)
        vlen = a->out_len - 1; /* longer than any valid value: it will not match */
    memcpy(a->out, arg + a->name_len + 1, vlen);
    a->out[vlen] = '\0';
    a->found = true;
    return 1;
}

const char *http_head_query_arg(const http_head *h, const char *name, char *out, size_t out_len)
{
    arg_find a = {name, strlen(name), out, out_len, false};
    http_head_query_foreach(h, match_arg, &a);
    return a.found ? out : NULL;
}

/* ---- parsing --------------------------------------------------------------------------------- */

static http_in *in_of(http_parser *p)
{
    return p->data;
}

static int on_message_begin(http_parser *p)
{
    http_in *in = in_of(p);
    in->cur = in->cbs->begin(in->ud);
    in->cur->content_length = -1;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    http_in *in = in_of(p);
    if (in->cur->url.len + len > in->max_url) {
        in->fatal = 414;
        return 1;
    }
    util_buf_append(&in->cur->url, at, len);
    return 0;
}

/* Whether more bytes of request line and headers fit the bound (431 otherwise). */
static bool head_budget(http_in *in, size_t more)
{
    if (in->cur->url.len + in->cur->hdrs.len + more <= in->max_hdr)
        return true;
    in->fatal = 431;
    return false;
}

/* Ends the value being stored: trailing whitespace trimmed, NUL-terminated. */
static void end_value(http_head *h)
{
    while (h->hdrs.len &&
           (h->hdrs.data[h->hdrs.len - 1] == ' ' || h->hdrs.data[h->hdrs.len - 1] == '\t'))
        h->hdrs.len--;
    util_buf_putc(&h->hdrs, '\0');
    h->hdr_value = false;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    http_in *in = in_of(p);
    http_head *h = in->cur;
    if (!head_budget(in, len + 2))
        return 1;
    if (h->hdr_value)
        end_value(h);
    util_buf_reserve(&h->hdrs, len);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)at[i];
        h->hdrs.data[h->hdrs.len++] = c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
    }
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    http_in *in = in_of(p);
    http_head *h = in->cur;
    if (!head_budget(in, len + 2))
        return 1;
    if (!h->hdr_value) {
        util_buf_putc(&h->hdrs, '\0');
        h->hdr_value = true;
    }
    util_buf_append(&h->hdrs, at, len);
    return 0;
}

/* Splits the target into the decoded path and the raw query; marks a target not served. */
static void parse_target(http_head *h)
{
    char *u = (char *)util_buf_cstr(&h->url);
    size_t len = h->url.len;
    if (len && u[0] != '/') {
        /* absolute-form (a proxy's request): keep the path part; "*" (OPTIONS) has none */
        struct http_parser_url pu;
        http_parser_url_init(&pu);
        if (http_parser_parse_url(u, len, 0, &pu) != 0 || !(pu.field_set & (1 << UF_PATH))) {
            h->bad_target = !(len == 1 && u[0] == '*');
            util_buf_reset(&h->pathb);
            util_buf_puts(&h->pathb, "*");
            h->path = (char *)util_buf_cstr(&h->pathb);
            h->query = "";
            return;
        }
        u += pu.field_data[UF_PATH].off;
        len -= pu.field_data[UF_PATH].off;
    }
    char *hash = memchr(u, '#', len);
    if (hash) { /* a fragment is not sent by clients, and is not part of the query */
        *hash = '\0';
        len = (size_t)(hash - u);
    }
    const char *q = memchr(u, '?', len);
    size_t plen = q ? (size_t)(q - u) : len;
    util_buf_reset(&h->pathb);
    util_buf_reserve(&h->pathb, plen + 2);
    h->path = (char *)h->pathb.data;
    bool nul = false;
    if (!url_decode(u, plen, h->path, false, &nul))
        strcpy(h->path, "/");
    h->bad_target = nul;
    h->query = q ? q + 1 : "";
}

static int on_headers_complete(http_parser *p)
{
    http_in *in = in_of(p);
    http_head *h = in->cur;
    if (h->hdr_value)
        end_value(h);
    else if (h->hdrs.len)
        util_buf_putc(&h->hdrs, '\0'); /* a last header without a value */
    h->method = (uint8_t)p->method;
    h->http_major = (uint8_t)p->http_major;
    h->http_minor = (uint8_t)p->http_minor;
    h->keep_alive = http_should_keep_alive(p);
    h->upgrade = p->upgrade;
    if (p->flags & F_CONTENTLENGTH)
        h->content_length = (int64_t)p->content_length;
    parse_target(h);
    /* Any value but 0, 1, 2 makes http-parser stop with HPE_CB_headers_complete. */
    return in->cbs->head(in->ud) ? -1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    http_in *in = in_of(p);
    return in->cbs->body(in->ud, at, len);
}

static int on_message_complete(http_parser *p)
{
    http_in *in = in_of(p);
    /* The parser stops here: the next request (pipelined) waits until this one is answered. */
    http_parser_pause(p, 1);
    return in->cbs->complete(in->ud);
}

static const http_parser_settings k_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http_in_init(http_in *in, const http_in_cbs *cbs, void *ud, uint32_t max_url, uint32_t max_hdr)
{
    memset(in, 0, sizeof *in);
    http_parser_init(&in->hp, HTTP_REQUEST);
    in->hp.data = in;
    in->cbs = cbs;
    in->ud = ud;
    in->max_url = max_url;
    in->max_hdr = max_hdr;
}

http_in_result http_in_feed(http_in *in, const uint8_t *data, size_t len, size_t *used)
{
    *used = http_parser_execute(&in->hp, &k_settings, (const char *)data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&in->hp);
    if (in->hp.upgrade && e == HPE_PAUSED) {
        http_parser_pause(&in->hp, 0);
        return HTTP_IN_UPGRADE;
    }
    switch (e) {
    case HPE_OK: return HTTP_IN_MORE;
    case HPE_PAUSED: return HTTP_IN_PAUSED;
    case HPE_CB_headers_complete:
    case HPE_CB_body:
    case HPE_CB_message_complete: return HTTP_IN_STOPPED;
    case HPE_HEADER_OVERFLOW: in->fatal = 431; return HTTP_IN_ERROR;
    default: return HTTP_IN_ERROR;
    }
}

void http_in_resume(http_in *in)
{
    http_parser_pause(&in->hp, 0);
}

int http_in_error_status(const http_in *in)
{
    return in->fatal ? in->fatal : 400;
}

const char *http_in_error_text(const http_in *in)
{
    return http_errno_description(HTTP_PARSER_ERRNO(&in->hp));
}
