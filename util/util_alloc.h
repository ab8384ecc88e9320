/* util_alloc: the one allocator of the project; it aborts on out-of-memory on purpose. */
#ifndef UTIL_ALLOC_H
#define UTIL_ALLOC_H

#include <stddef.h>

/* Allocates n bytes. Never returns NULL: logs and aborts when memory is exhausted.
 * The caller owns the result and frees it with util_free(). */
void *util_malloc(size_t n);

/* Allocates a zeroed array of n elements of size sz. Never returns NULL; aborts on overflow or OOM.
 * The caller owns the result. */
void *util_calloc(size_t n, size_t sz);

/* Resizes p (which may be NULL) to n bytes. Never returns NULL. The caller owns the result; p is
 * no longer valid afterwards. */
void *util_realloc(void *p, size_t n);

/* Duplicates the NUL-terminated string s. The caller owns the copy. */
char *util_strdup(const char *s);

/* Duplicates n bytes of s and appends a NUL. The caller owns the copy. */
char *util_strndup(const char *s, size_t n);

/* Frees p; accepts NULL. */
void util_free(void *p);

#endif
