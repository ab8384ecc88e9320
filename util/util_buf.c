/* util_buf: growable byte buffer. */
#include "util_buf.h"

#include "util_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void util_buf_reserve(util_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = util_realloc(b->data, cap);
    b->cap = cap;
}

void util_buf_append(util_buf *b, const void *p, size_t n)
{
    if (!n)
        return;
    util_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void util_buf_puts(util_buf *b, const char *s)
{
    util_buf_append(b, s, strlen(s));
}

void util_buf_putc(util_buf *b, uint8_t c)
{
    util_buf_reserve(b, 1);
    b->data[b->len++] = c;
}

const char *util_buf_cstr(util_buf *b)
{
    util_buf_reserve(b, 1);
    b->data[b->len] = '\0';
    return (const char *)b->data;
}

void util_buf_printf(util_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        util_buf_append(b, small, (size_t)n);
        return;
    }
    util_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void util_buf_consume(util_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void util_buf_reset(util_buf *b)
{
    b->len = 0;
}

void util_buf_free(util_buf *b)
{
    util_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *util_buf_steal_str(util_buf *b)
{
    util_buf_putc(b, '\0');
    char *s = (char *)b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}
