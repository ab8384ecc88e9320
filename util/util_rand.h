/* util_rand: unguessable identifiers from the OpenSSL CSPRNG. */
#ifndef UTIL_RAND_H
#define UTIL_RAND_H

#include <stddef.h>

/* Writes a URL-safe base64 id of nbytes random bytes (no padding) plus a NUL into out, which must
 * hold at least SIO_RAND_ID_LEN(nbytes) + 1 bytes. Aborts if the CSPRNG fails (never a weak id). */
void util_rand_id(char *out, size_t nbytes);

/* Fills out[0..n) with random bytes. Aborts if the CSPRNG fails. */
void util_rand_bytes(void *out, size_t n);

/* Length of the id util_rand_id() writes for nbytes random bytes, without the NUL. */
#define SIO_RAND_ID_LEN(nbytes) ((4 * (nbytes) + 2) / 3)

#endif
