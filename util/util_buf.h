/* util_buf: a growable byte buffer used by every encoder and by the transports. */
#ifndef UTIL_BUF_H
#define UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

/** A growable byte buffer. Zero-initialise (UTIL_BUF_INIT) before use; data is owned by the buffer. */
typedef struct util_buf {
    uint8_t *data; /**< bytes; NULL while cap is 0 */
    size_t len;    /**< bytes in use */
    size_t cap;    /**< bytes allocated */
} util_buf;

/* clang-format off */
#define UTIL_BUF_INIT {NULL, 0, 0}
/* clang-format on */

/* Ensures room for at least extra more bytes. Never fails (aborts on OOM). */
void util_buf_reserve(util_buf *b, size_t extra);

/* Appends n bytes. */
void util_buf_append(util_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string (without the NUL). */
void util_buf_puts(util_buf *b, const char *s);

/* Appends one byte. */
void util_buf_putc(util_buf *b, uint8_t c);

/* Appends printf-formatted text. */
void util_buf_printf(util_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Removes the first n bytes (n <= len). */
void util_buf_consume(util_buf *b, size_t n);

/* Empties the buffer and keeps its memory. */
void util_buf_reset(util_buf *b);

/* Frees the memory; the buffer is empty and reusable afterwards. Accepts a zeroed buffer. */
void util_buf_free(util_buf *b);

/* NUL-terminates the bytes (the NUL is not counted in len) and returns them as a string, borrowed
 * until the buffer changes. */
const char *util_buf_cstr(util_buf *b);

/* Takes the bytes out as a NUL-terminated heap string the caller owns (free with util_free);
 * the buffer is left empty. */
char *util_buf_steal_str(util_buf *b);

#endif
