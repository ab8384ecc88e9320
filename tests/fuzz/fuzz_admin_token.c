/* fuzz_admin_token: libFuzzer target for daemon_admin_token_valid, the check of the session token
 * an admin UI sends back on reconnect (broker/daemon/admin_token.h).
 *
 * The input is 8 bytes of clock (little endian, seconds, shifted right 8 bits so that expiries
 * never wrap), 32 bytes of key, then the token text (up to the first NUL). Checked: a token that
 * verifies is exactly the one daemon_admin_token writes for its expiry and is not expired; a token
 * made by daemon_admin_token for a later expiry always verifies, and with any one character
 * changed (a digit for a digit, a hex digit for a hex digit) never does. */
#include "admin_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_admin_token: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8 + DAEMON_ADMIN_KEY_LEN)
        return 0;
    uint64_t now = 0;
    for (int i = 7; i >= 0; i--)
        now = now << 8 | data[i];
    now >>= 8;
    const uint8_t *key = data + 8;
    size_t tl = size - 8 - DAEMON_ADMIN_KEY_LEN;
    char *token = malloc(tl + 1);
    if (!token)
        abort();
    memcpy(token, data + 8 + DAEMON_ADMIN_KEY_LEN, tl);
    token[tl] = '\0';

    if (daemon_admin_token_valid(key, token, now)) {
        unsigned long long exp = strtoull(token, NULL, 10);
        char own[96];
        daemon_admin_token(key, exp, own, sizeof own);
        if (strcmp(own, token) != 0)
            fail("a token that verifies is not the one daemon_admin_token writes");
        if (exp < now)
            fail("an expired token verifies");
    }

    char own[96];
    uint64_t exp = now + 1 + (tl ? (uint8_t)token[0] : 0);
    daemon_admin_token(key, exp, own, sizeof own);
    if (!daemon_admin_token_valid(key, own, now))
        fail("a fresh token does not verify");
    if (daemon_admin_token_valid(key, own, exp + 1))
        fail("a token verifies after its expiry");
    for (size_t i = 0; own[i]; i++) {
        char c = own[i];
        if (c == '.')
            continue;
        own[i] = c >= '0' && c <= '8' ? (char)(c + 1)
                 : c == '9'           ? '0'
                 : c == 'f'           ? 'a'
                                      : (char)(c + 1);
        if (daemon_admin_token_valid(key, own, now))
            fail("a token with one character changed verifies");
        own[i] = c;
    }
    free(token);
    return 0;
}
