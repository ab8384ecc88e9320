/* util_rand: random URL-safe ids drawn from RAND_bytes. */
#include "util_rand.h"

#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const char k_url64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void util_rand_bytes(void *out, size_t n)
{
    if (n > INT32_MAX || RAND_bytes(out, (int)n) != 1) {
        fprintf(stderr, "siobroker: CSPRNG failure\n");
        abort();
    }
}

void util_rand_id(char *out, size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof raw || RAND_bytes(raw, (int)nbytes) != 1) {
        fprintf(stderr, "siobroker: CSPRNG failure\n");
        abort();
    }
    size_t o = 0, i = 0;
    for (; i + 3 <= nbytes; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = k_url64[(v >> 18) & 63];
        out[o++] = k_url64[(v >> 12) & 63];
        out[o++] = k_url64[(v >> 6) & 63];
        out[o++] = k_url64[v & 63];
    }
    if (nbytes - i == 1) {
        unsigned v = (unsigned)raw[i] << 16;
        out[o++] = k_url64[(v >> 18) & 63];
        out[o++] = k_url64[(v >> 12) & 63];
    } else if (nbytes - i == 2) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8;
        out[o++] = k_url64[(v >> 18) & 63];
        out[o++] = k_url64[(v >> 12) & 63];
        out[o++] = k_url64[(v >> 6) & 63];
    }
    out[o] = '\0';
}
