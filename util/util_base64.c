/* util_base64: base64 through EVP_EncodeBlock/EVP_DecodeBlock, with strict padding handling. */
#include "util_base64.h"

#include <limits.h>
#include <openssl/evp.h>

void util_base64_encode(util_buf *out, const uint8_t *in, size_t len)
{
    size_t olen = 4 * ((len + 2) / 3);
    util_buf_reserve(out, olen + 1);
    /* EVP_EncodeBlock takes an int length; feed it in chunks that keep whole 3-byte groups. */
    const size_t chunk = 3 * 1024 * 1024;
    while (len) {
        size_t n = len < chunk ? len : chunk;
        int w = EVP_EncodeBlock(out->data + out->len, in, (int)n);
        out->len += (size_t)w;
        in += n;
        len -= n;
    }
}

static int is_b64(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

int util_base64_decode(util_buf *out, const char *in, size_t len)
{
    if (len % 4 != 0 || len > INT_MAX)
        return -1;
    size_t pad = 0;
    if (len && in[len - 1] == '=')
        pad++;
    if (len > 1 && in[len - 2] == '=')
        pad++;
    for (size_t i = 0; i < len - pad; i++)
        if (!is_b64((unsigned char)in[i]))
            return -1;
    util_buf_reserve(out, len / 4 * 3 + 1);
    int n = len ? EVP_DecodeBlock(out->data + out->len, (const unsigned char *)in, (int)len) : 0;
    if (n < 0)
        return -1;
    out->len += (size_t)n - pad;
    return 0;
}
