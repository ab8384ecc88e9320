/* sio_buf: a growable byte buffer used by every encoder and by the transports. */
#ifndef SIO_BUF_H
#define SIO_BUF_H

#include <stddef.h>
#include <stdint.h>

/** A growable byte buffer. Zero-initialise (SIO_BUF_INIT) before use; data is owned by the buffer. */
typedef struct sio_buf {
    uint8_t *data; /**< bytes; NULL while cap is 0 */
    size_t len;    /**< bytes in use */
    size_t cap;    /**< bytes allocated */
} sio_buf;

/* clang-format off */
#define SIO_BUF_INIT {NULL, 0, 0}
/* clang-format on */

/* Ensures room for at least extra more bytes. Never fails (aborts on OOM). */
void sio_buf_reserve(sio_buf *b, size_t extra);

/* Appends n bytes. */
void sio_buf_append(sio_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string (without the NUL). */
void sio_buf_puts(sio_buf *b, const char *s);

/* Appends one byte. */
void sio_buf_putc(sio_buf *b, uint8_t c);

/* Appends printf-formatted text. */
void sio_buf_printf(sio_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Removes the first n bytes (n <= len). */
void sio_buf_consume(sio_buf *b, size_t n);

/* Empties the buffer and keeps its memory. */
void sio_buf_reset(sio_buf *b);

/* Frees the memory; the buffer is empty and reusable afterwards. Accepts a zeroed buffer. */
void sio_buf_free(sio_buf *b);

/* NUL-terminates the bytes (the NUL is not counted in len) and returns them as a string, borrowed
 * until the buffer changes. */
const char *sio_buf_cstr(sio_buf *b);

/* Takes the bytes out as a NUL-terminated heap string the caller owns (free with sio_free);
 * the buffer is left empty. */
char *sio_buf_steal_str(sio_buf *b);

#endif
