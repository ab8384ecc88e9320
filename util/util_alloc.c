/* util_alloc: checked allocation; out-of-memory is a deliberate abort with a message. */
#include "util_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "siobroker: out of memory allocating %zu bytes\n", n);
    abort();
}

void *util_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *util_calloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        oom(n * sz);
    return p;
}

void *util_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *util_strdup(const char *s)
{
    return util_strndup(s, strlen(s));
}

char *util_strndup(const char *s, size_t n)
{
    char *d = util_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char **util_strv_dup(const char *const *v, size_t n)
{
    if (!n)
        return NULL;
    char **out = util_malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = util_strdup(v[i]);
    return out;
}

void util_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        util_free(v[i]);
    util_free(v);
}

void util_free(void *p)
{
    free(p);
}
