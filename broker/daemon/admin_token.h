/* admin_token: the admin UI's session tokens: "<expiry>.<mac>", an HMAC-SHA256 of the expiry under
 * a key every node with the same credentials derives, so that any node accepts a token another
 * issued (pure: OpenSSL only, fuzzed by fuzz_admin_token). */
#ifndef ADMIN_TOKEN_H
#define ADMIN_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Bytes of the token key. */
#define DAEMON_ADMIN_KEY_LEN 32

/* A session token for the UI (what the Node package calls its session id): "<expiry>.<mac>",
 * valid until expiry (seconds since the epoch) under key. Written into out (size >= 96). */
void daemon_admin_token(const uint8_t key[32], uint64_t expiry, char *out, size_t outlen);

/* True when token is a valid, unexpired (now: seconds since the epoch) token under key. */
bool daemon_admin_token_valid(const uint8_t key[32], const char *token, uint64_t now);

#endif
