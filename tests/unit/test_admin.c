/* test_admin: the admin UI's password check (bcrypt through libcrypt) against hashes made by
 * Debian's python3-bcrypt and by bcryptjs (what @socket.io/admin-ui uses), and its session tokens.
 *
 * The bcrypt vectors were made with /usr/bin/python3 (python3-bcrypt 3.2.2):
 *   bcrypt.hashpw(password, bcrypt.gensalt(cost[, prefix=b"2a"]))
 * and the $2a$ one from bcryptjs 2.4.3 with bcrypt.hashSync("secret", 4). */
#include "admin_token.h"
#include "daemon_admin.h"

#include <check.h>
#include <string.h>

typedef struct vec {
    const char *password;
    const char *hash;
} vec;

static const vec k_vectors[] = {
    {"secret", "$2b$04$V944ONWJjYNMfwjFCroHc.dsT1UaGgpRaEmDRFHXnXLtj2udZ4um6"},
    {"", "$2b$04$qUCFoYzdC/DSdOJjEzwYY.po5qzG79Ecn64rFpsFvsj1BcY/tImSe"},
    {"correct horse battery staple",
     "$2b$04$Sl2xk.sc8PTaeARVLNQzWegBzcs29sNSOAs6bA7AR9mD59jDc28aO"},
    {"p\xc3\xa4ssw\xc3\xb6rd\xe2\x82\xac",
     "$2b$04$SBT.NHDgx3SHPiV8xHOmPuXlLw3iKDrwQliY7q6QZHDbhGfdC.IVu"},
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     "$2b$04$7rkqfgOITN3S1jumOmkTIuoG0c0NTtsUZpWRIV5FY8oSZMhkmOm32"},
    {"U*U", "$2b$04$UcGVHZqVpwcyOXGC1MJk7uyRiWeYAs.mT2WinrAoRcIqNyhblKRpG"},
    {"secret", "$2b$10$y0lnmMEd8N9p.k/d8gOCtePC5nmtYggIg4eQPtSRRus8XnLeB/3.6"},
    {"secret", "$2a$05$JqDqzKx0IIPAw7txVRGM1eMvNiUM5pcFO1nipfKXmbNsrUmfKQUXu"},
    /* $2y$ is $2b$ under another name (PHP's): python3-bcrypt checks it as such. */
    {"secret", "$2y$04$V944ONWJjYNMfwjFCroHc.dsT1UaGgpRaEmDRFHXnXLtj2udZ4um6"},
    /* bcryptjs, as the Node package's README has users make their hash. */
    {"secret", "$2a$04$VreJbQvPJkU6ITtiFt0pQuEhgjqiX8ZT5fcIGB/pbMhHNojMbsuUi"},
};

START_TEST(bcrypt_vectors)
{
    for (size_t i = 0; i < sizeof k_vectors / sizeof k_vectors[0]; i++) {
        const vec *v = &k_vectors[i];
        char err[128];
        ck_assert_msg(daemon_admin_check_hash(v->hash, err, sizeof err) == 0, "%s: %s", v->hash,
                      err);
        ck_assert_msg(daemon_admin_bcrypt_verify(v->password, v->hash), "vector %zu", i);
        ck_assert_msg(!daemon_admin_bcrypt_verify("Secret", v->hash), "vector %zu, wrong", i);
    }
}
END_TEST

START_TEST(bcrypt_edges)
{
    /* bcrypt reads 72 bytes: python3-bcrypt's hash of 72 x's accepts a longer password too. */
    const char *h72 = "$2b$04$7rkqfgOITN3S1jumOmkTIuoG0c0NTtsUZpWRIV5FY8oSZMhkmOm32";
    char longer[100];
    memset(longer, 'x', 72);
    strcpy(longer + 72, "tail-ignored");
    ck_assert(daemon_admin_bcrypt_verify(longer, h72));
    longer[71] = 'y';
    ck_assert(!daemon_admin_bcrypt_verify(longer, h72));
    /* The hash of "tail-ignored" appended (made by python3-bcrypt) accepts 72 x's alone. */
    ck_assert(daemon_admin_bcrypt_verify(
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "$2b$04$AxZIqJV3OkEOPvAGbo/YBeZDHyOSo9ulUl4q5k9da9CyTqvaDzp5K"));
    ck_assert(!daemon_admin_bcrypt_verify(NULL, h72));
    ck_assert(!daemon_admin_bcrypt_verify("x", NULL));
    /* A hash cut short, or changed, never matches. */
    ck_assert(!daemon_admin_bcrypt_verify("secret", "$2b$04$V944ONWJjYNMfwjFCroHc."));
    ck_assert(!daemon_admin_bcrypt_verify(
        "secret", "$2b$04$V944ONWJjYNMfwjFCroHc.dsT1UaGgpRaEmDRFHXnXLtj2udZ4um7"));
    char err[128];
    ck_assert_int_eq(daemon_admin_check_hash("secret", err, sizeof err), -1);
    ck_assert_int_eq(daemon_admin_check_hash("$1$abcdefgh$0123456789012345678901", err, sizeof err),
                     -1);
    ck_assert_int_eq(
        daemon_admin_check_hash("$2x$04$V944ONWJjYNMfwjFCroHc.dsT1UaGgpRaEmDRFHXnXLtj2udZ4um6", err,
                                sizeof err),
        -1);
    ck_assert_int_eq(daemon_admin_check_hash(NULL, err, sizeof err), -1);
}
END_TEST

START_TEST(tokens)
{
    uint8_t key[32], other[32];
    memset(key, 7, sizeof key);
    memset(other, 8, sizeof other);
    char t[96];
    daemon_admin_token(key, 2000000000u, t, sizeof t);
    ck_assert_int_eq(strncmp(t, "2000000000.", 11), 0);
    ck_assert_int_eq((int)strlen(strchr(t, '.') + 1), 32);
    ck_assert(daemon_admin_token_valid(key, t, 1999999999u));
    ck_assert(daemon_admin_token_valid(key, t, 2000000000u));
    ck_assert(!daemon_admin_token_valid(key, t, 2000000001u)); /* expired */
    ck_assert(!daemon_admin_token_valid(other, t, 1));         /* another key */
    char forged[96];
    snprintf(forged, sizeof forged, "2100000000%s", strchr(t, '.')); /* a later expiry */
    ck_assert(!daemon_admin_token_valid(key, forged, 1));
    t[strlen(t) - 1] = t[strlen(t) - 1] == '0' ? '1' : '0';
    ck_assert(!daemon_admin_token_valid(key, t, 1));
    static const char *const bad[] = {"",
                                      ".",
                                      "123",
                                      "abc.0123456789abcdef0123456789abcdef",
                                      "123.0123456789abcdef",
                                      "-1.0123456789abcdef0123456789abcdef",
                                      "0123.0123456789abcdef0123456789abcdef",
                                      "123456789012345678901.0123456789abcdef0123456789abcdef"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!daemon_admin_token_valid(key, bad[i], 0), "%s", bad[i]);
    ck_assert(!daemon_admin_token_valid(key, NULL, 0));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, bcrypt_vectors);
    tcase_add_test(tc, bcrypt_edges);
    tcase_add_test(tc, tokens);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
