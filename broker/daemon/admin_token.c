/* admin_token: the admin UI's session tokens (HMAC-SHA256 of the expiry, OpenSSL). */
#include "admin_token.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The MAC part of a token: 32 hex characters of HMAC-SHA256(key, "<expiry>"). */
static void token_mac(const uint8_t key[32], const char *expiry, char out[33])
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), key, 32, (const uint8_t *)expiry, strlen(expiry), mac, &ml);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

void daemon_admin_token(const uint8_t key[32], uint64_t expiry, char *out, size_t outlen)
{
    char exp[24], mac[33];
    snprintf(exp, sizeof exp, "%" PRIu64, expiry);
    token_mac(key, exp, mac);
    snprintf(out, outlen, "%s.%s", exp, mac);
}

bool daemon_admin_token_valid(const uint8_t key[32], const char *token, uint64_t now)
{
    if (!token)
        return false;
    const char *dot = strchr(token, '.');
    size_t el = dot ? (size_t)(dot - token) : 0;
    if (!dot || el == 0 || el > 20 || strspn(token, "0123456789") != el || strlen(dot + 1) != 32 ||
        (el > 1 && token[0] == '0'))
        return false; /* only the canonical form daemon_admin_token writes */
    char exp[24], mac[33];
    memcpy(exp, token, el);
    exp[el] = '\0';
    if (strtoull(exp, NULL, 10) < now)
        return false;
    token_mac(key, exp, mac);
    return CRYPTO_memcmp(mac, dot + 1, 32) == 0;
}
