/* util_base64: standard base64 (RFC 4648, with padding) on top of OpenSSL's EVP block coder. */
#ifndef UTIL_BASE64_H
#define UTIL_BASE64_H

#include "util_buf.h"

#include <stddef.h>
#include <stdint.h>

/* Appends the base64 text of in[0..len) to out. */
void util_base64_encode(util_buf *out, const uint8_t *in, size_t len);

/* Decodes base64 text in[0..len) and appends the bytes to out. Returns 0, or -1 when the text is
 * not valid padded base64 (out is then left as it was). */
int util_base64_decode(util_buf *out, const char *in, size_t len);

#endif
