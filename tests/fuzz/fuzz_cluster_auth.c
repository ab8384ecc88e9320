/* fuzz_cluster_auth: libFuzzer target for cluster_verify, the check of a forwarded request's
 * x-siobroker-ts / x-siobroker-sig headers (broker/cluster/cluster_auth.h).
 *
 * The input is 8 bytes of receiver clock (little endian, milliseconds) and then NUL-separated
 * fields: secret, method, path, query, timestamp text, signature text (missing fields are empty;
 * a field "-" stands for an absent header). Checked: the result is one of the four; OK only when
 * the timestamp is decimal, within CLUSTER_AUTH_WINDOW_MS of the clock and the signature is the
 * one cluster_sign makes; a request signed by cluster_sign at that clock always verifies, and
 * with any one hex digit changed never does. */
#include "cluster_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_cluster_auth: %s\n", what);
    abort();
}

#define N_FIELDS 6

/* A canonical decimal number of at most 19 digits (what cluster_sign writes). */
static int canonical_ts(const char *s, unsigned long long *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 19 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
        return 0;
    *out = strtoull(s, NULL, 10);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t now = 0;
    for (int i = 7; i >= 0; i--)
        now = now << 8 | data[i];
    now >>= 8; /* keep now + the window far from wrapping */
    char *copy = malloc(size - 8 + 1);
    if (!copy)
        abort();
    memcpy(copy, data + 8, size - 8);
    copy[size - 8] = '\0';
    const char *f[N_FIELDS];
    char *end = copy + (size - 8), *at = copy;
    for (int i = 0; i < N_FIELDS; i++) {
        f[i] = at <= end ? at : "";
        if (at <= end)
            at += strlen(at) + 1;
    }
    const char *ts = strcmp(f[4], "-") == 0 ? NULL : f[4];
    const char *sig = strcmp(f[5], "-") == 0 ? NULL : f[5];

    cluster_auth_result r = cluster_verify(f[0], f[1], f[2], f[3], ts, sig, now);
    if (r != CLUSTER_AUTH_OK && r != CLUSTER_AUTH_MISSING && r != CLUSTER_AUTH_STALE &&
        r != CLUSTER_AUTH_BAD)
        fail("unknown result");
    if (!cluster_auth_message(r) || !cluster_auth_message(r)[0])
        fail("result without a message");
    unsigned long long t;
    if (r == CLUSTER_AUTH_OK) {
        if (!ts || !sig || strlen(sig) != CLUSTER_SIG_HEX)
            fail("accepted without a full signature");
        if (canonical_ts(ts, &t)) {
            uint64_t skew = t > now ? t - now : now - t;
            char want[CLUSTER_SIG_HEX + 1];
            cluster_sign(f[0], f[1], f[2], f[3], t, want);
            if (skew > CLUSTER_AUTH_WINDOW_MS || strcmp(want, sig) != 0)
                fail("accepted a stale or wrong signature");
        }
    }

    /* Sign at the receiver's clock (or the given timestamp when it is in the window): verifies. */
    uint64_t when = now;
    if (ts && canonical_ts(ts, &t) && (t > now ? t - now : now - t) <= CLUSTER_AUTH_WINDOW_MS)
        when = t;
    char good[CLUSTER_SIG_HEX + 1], when_s[24];
    cluster_sign(f[0], f[1], f[2], f[3], when, good);
    snprintf(when_s, sizeof when_s, "%llu", (unsigned long long)when);
    if (strlen(good) != CLUSTER_SIG_HEX || strspn(good, "0123456789abcdef") != CLUSTER_SIG_HEX)
        fail("signature is not 64 lowercase hex digits");
    if (cluster_verify(f[0], f[1], f[2], f[3], when_s, good, now) != CLUSTER_AUTH_OK)
        fail("own signature refused");
    size_t pos = size % CLUSTER_SIG_HEX;
    good[pos] = good[pos] == '0' ? '1' : '0';
    if (cluster_verify(f[0], f[1], f[2], f[3], when_s, good, now) != CLUSTER_AUTH_BAD)
        fail("altered signature accepted");
    free(copy);
    return 0;
}
