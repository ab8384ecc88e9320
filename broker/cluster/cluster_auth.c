/* cluster_auth: HMAC-SHA256 request signatures between nodes (OpenSSL). */
#include "cluster_auth.h"

#include "util_buf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Computes the HMAC-SHA256 of "METHOD\nPATH\nQUERY\nTS" under secret into mac. */
static void digest(const char *secret, const char *method, const char *path, const char *query,
                   const char *ts, unsigned char mac[32])
{
    util_buf msg = {0};
    const char *parts[4] = {method, path, query ? query : "", ts};
    for (int i = 0; i < 4; i++) {
        if (i)
            util_buf_append(&msg, "\n", 1);
        util_buf_append(&msg, parts[i], strlen(parts[i]));
    }
    unsigned int maclen = 32;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), msg.len ? msg.data : (const uint8_t *)"",
              msg.len, mac, &maclen))
        abort(); /* only fails without memory: the allocator policy is to abort */
    util_buf_free(&msg);
}

static void to_hex(const unsigned char mac[32], char out[CLUSTER_SIG_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[CLUSTER_SIG_HEX] = '\0';
}

void cluster_sign(const char *secret, const char *method, const char *path, const char *query,
                  uint64_t ts_ms, char out[CLUSTER_SIG_HEX + 1])
{
    char ts[24];
    snprintf(ts, sizeof ts, "%" PRIu64, ts_ms);
    unsigned char mac[32];
    digest(secret, method, path, query, ts, mac);
    to_hex(mac, out);
}

void cluster_sign_body(const char *secret, uint64_t ts_ms, const void *body, size_t len,
                       char out[CLUSTER_SIG_HEX + 1])
{
    util_buf msg = {0};
    util_buf_printf(&msg, "%" PRIu64 "\n", ts_ms);
    util_buf_append(&msg, body, len);
    unsigned char mac[32];
    unsigned int maclen = 32;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), msg.data, msg.len, mac, &maclen))
        abort(); /* only fails without memory: the allocator policy is to abort */
    util_buf_free(&msg);
    to_hex(mac, out);
}

cluster_auth_result cluster_verify(const char *secret, const char *method, const char *path,
                                   const char *query, const char *ts, const char *sig,
                                   uint64_t now_ms)
{
    if (!ts || !sig || !ts[0] || !sig[0])
        return CLUSTER_AUTH_MISSING;
    size_t tslen = strlen(ts);
    if (tslen > 19 || strspn(ts, "0123456789") != tslen)
        return CLUSTER_AUTH_STALE;
    uint64_t t = strtoull(ts, NULL, 10);
    uint64_t skew = t > now_ms ? t - now_ms : now_ms - t;
    if (skew > CLUSTER_AUTH_WINDOW_MS)
        return CLUSTER_AUTH_STALE;
    if (strlen(sig) != CLUSTER_SIG_HEX)
        return CLUSTER_AUTH_BAD;
    unsigned char mac[32];
    char want[CLUSTER_SIG_HEX + 1];
    digest(secret, method, path, query, ts, mac);
    to_hex(mac, want);
    return CRYPTO_memcmp(want, sig, CLUSTER_SIG_HEX) == 0 ? CLUSTER_AUTH_OK : CLUSTER_AUTH_BAD;
}

const char *cluster_auth_message(cluster_auth_result r)
{
    switch (r) {
    case CLUSTER_AUTH_OK: return "ok";
    case CLUSTER_AUTH_MISSING: return "missing cluster signature";
    case CLUSTER_AUTH_STALE: return "cluster signature timestamp outside the allowed window";
    case CLUSTER_AUTH_BAD: return "invalid cluster signature";
    }
    return "?";
}
