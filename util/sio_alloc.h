/* sio_alloc: the one allocator of the project; it aborts on out-of-memory on purpose. */
#ifndef SIO_ALLOC_H
#define SIO_ALLOC_H

#include <stddef.h>

/* Allocates n bytes. Never returns NULL: logs and aborts when memory is exhausted.
 * The caller owns the result and frees it with sio_free(). */
void *sio_malloc(size_t n);

/* Allocates a zeroed array of n elements of size sz. Never returns NULL; aborts on overflow or OOM.
 * The caller owns the result. */
void *sio_calloc(size_t n, size_t sz);

/* Resizes p (which may be NULL) to n bytes. Never returns NULL. The caller owns the result; p is
 * no longer valid afterwards. */
void *sio_realloc(void *p, size_t n);

/* Duplicates the NUL-terminated string s. The caller owns the copy. */
char *sio_strdup(const char *s);

/* Duplicates n bytes of s and appends a NUL. The caller owns the copy. */
char *sio_strndup(const char *s, size_t n);

/* Frees p; accepts NULL. */
void sio_free(void *p);

#endif
