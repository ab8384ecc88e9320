/* sio_buf: growable byte buffer. */
#include "sio_buf.h"

#include "sio_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sio_buf_reserve(sio_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = sio_realloc(b->data, cap);
    b->cap = cap;
}

void sio_buf_append(sio_buf *b, const void *p, size_t n)
{
    if (!n)
        return;
    sio_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void sio_buf_puts(sio_buf *b, const char *s)
{
    sio_buf_append(b, s, strlen(s));
}

void sio_buf_putc(sio_buf *b, uint8_t c)
{
    sio_buf_reserve(b, 1);
    b->data[b->len++] = c;
}

const char *sio_buf_cstr(sio_buf *b)
{
    sio_buf_reserve(b, 1);
    b->data[b->len] = '\0';
    return (const char *)b->data;
}

void sio_buf_printf(sio_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        sio_buf_append(b, small, (size_t)n);
        return;
    }
    sio_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sio_buf_consume(sio_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void sio_buf_reset(sio_buf *b)
{
    b->len = 0;
}

void sio_buf_free(sio_buf *b)
{
    sio_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *sio_buf_steal_str(sio_buf *b)
{
    sio_buf_putc(b, '\0');
    char *s = (char *)b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}
