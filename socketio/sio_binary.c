/* sio_binary: binary values inside jansson trees, as one-key objects whose key is not UTF-8. */
#include "sio_binary.h"

#include <stdio.h>
#include <stdlib.h>

/* The key of a binary value: 0xFF can never start a UTF-8 sequence, so no parsed object has it. */
#define BIN_KEY "\xff"
#define BIN_KEY_LEN 4

/* Containers nested deeper than this are not searched (only a cyclic tree gets there). */
#define WALK_MAX_DEPTH 2048

json_t *sio_binary_new(const void *data, size_t len)
{
    json_t *o = json_object();
    /* json_stringn_nocheck refuses NULL even for zero bytes. */
    json_t *s = json_stringn_nocheck(len ? (const char *)data : "", len);
    if (!o || !s || json_object_setn_new_nocheck(o, BIN_KEY "bin", BIN_KEY_LEN, s) != 0) {
        /* jansson only fails here when memory is exhausted: abort, as util_alloc does. */
        fprintf(stderr, "siobroker: out of memory making a %zu-byte binary value\n", len);
        abort();
    }
    return o;
}

bool sio_is_binary(const json_t *v)
{
    if (!json_is_object(v) || json_object_size(v) != 1)
        return false;
    return json_is_string(json_object_getn(v, BIN_KEY "bin", BIN_KEY_LEN));
}

const uint8_t *sio_binary_data(const json_t *v, size_t *len)
{
    if (!sio_is_binary(v)) {
        if (len)
            *len = 0;
        return NULL;
    }
    const json_t *s = json_object_getn(v, BIN_KEY "bin", BIN_KEY_LEN);
    if (len)
        *len = json_string_length(s);
    return (const uint8_t *)json_string_value(s);
}

static bool has_binary(const json_t *v, int depth)
{
    if (depth > WALK_MAX_DEPTH)
        return false;
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++)
            if (has_binary(json_array_get(v, i), depth + 1))
                return true;
        return false;
    }
    if (!json_is_object(v))
        return false;
    if (sio_is_binary(v))
        return true;
    json_t *o = (json_t *)v; /* the iterator API takes non-const pointers; o is only read */
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it))
        if (has_binary(json_object_iter_value(it), depth + 1))
            return true;
    return false;
}

bool sio_has_binary(const json_t *v)
{
    return has_binary(v, 0);
}
