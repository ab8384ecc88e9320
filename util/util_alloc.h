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

/* Copies the n strings of v (a room list, say): NULL when n is 0. The caller owns the array and
 * its strings and frees them with util_strv_free. */
char **util_strv_dup(const char *const *v, size_t n);

/* Frees the n strings of v and v itself; accepts NULL (with n 0). */
void util_strv_free(char **v, size_t n);

/** glibc malloc on 64-bit: a chunk is the request plus an 8-byte header, rounded up to 16 bytes,
 * at least 32; from UTIL_ALLOC_MMAP_MIN bytes on, a chunk is its own mmap, rounded up to pages. */
#define UTIL_ALLOC_MMAP_MIN (128u * 1024)

/* The memory an allocation of n bytes really takes (glibc's chunk, as above): what memory
 * budgets count, rather than n. Pure arithmetic, cheap enough for every queued message. */
static inline size_t util_alloc_cost(size_t n)
{
    if (n >= UTIL_ALLOC_MMAP_MIN)
        return (n + 16 + 4095) & ~(size_t)4095;
    size_t c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

#endif
