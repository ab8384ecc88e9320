/* test_sio_binary: binary values inside jansson trees. */
#include "sio_binary.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(new_and_read_back)
{
    const uint8_t bytes[] = {0x00, 0xff, 0x10, 0x00, 0x7f};
    json_t *b = sio_binary_new(bytes, sizeof bytes);
    ck_assert_ptr_nonnull(b);
    ck_assert(sio_is_binary(b));
    size_t n = 99;
    const uint8_t *p = sio_binary_data(b, &n);
    ck_assert_uint_eq(n, sizeof bytes);
    ck_assert(memcmp(p, bytes, sizeof bytes) == 0);
    ck_assert(p != bytes); /* a copy */
    ck_assert(sio_binary_data(b, NULL) == p);
    json_decref(b);

    /* Empty, including from NULL. */
    b = sio_binary_new(NULL, 0);
    ck_assert(sio_is_binary(b));
    ck_assert_ptr_nonnull(sio_binary_data(b, &n));
    ck_assert_uint_eq(n, 0);
    json_decref(b);

    /* Large. */
    size_t big = 1 << 20;
    uint8_t *buf = malloc(big);
    for (size_t i = 0; i < big; i++)
        buf[i] = (uint8_t)(i * 7);
    b = sio_binary_new(buf, big);
    p = sio_binary_data(b, &n);
    ck_assert_uint_eq(n, big);
    ck_assert(memcmp(p, buf, big) == 0);
    json_decref(b);
    free(buf);
}
END_TEST

START_TEST(not_binary)
{
    size_t n = 5;
    ck_assert(!sio_is_binary(NULL));
    ck_assert_ptr_null(sio_binary_data(NULL, &n));
    ck_assert_uint_eq(n, 0);

    const char *texts[] = {
        "{}",
        "[]",
        "\"bin\"",
        "1",
        "null",
        "{\"bin\":\"x\"}",
        "{\"\\u00ffbin\":\"x\"}",
        "{\"_placeholder\":true,\"num\":0}",
        "[{\"\\u00ffbin\":\"x\"}]",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        json_error_t je;
        json_t *v = json_loads(texts[i], JSON_DECODE_ANY, &je);
        ck_assert_ptr_nonnull(v);
        ck_assert_msg(!sio_is_binary(v), "%s", texts[i]);
        ck_assert_msg(!sio_has_binary(v), "%s", texts[i]);
        ck_assert_ptr_null(sio_binary_data(v, NULL));
        json_decref(v);
    }

    /* The right key with a second key, or with a non-string value, is not binary either. */
    json_t *b = sio_binary_new("x", 1);
    json_object_set_new(b, "extra", json_true());
    ck_assert(!sio_is_binary(b));
    json_decref(b);
    json_t *o = json_object();
    json_object_setn_new_nocheck(o,
                                 "\xff"
                                 "bin",
                                 4, json_integer(1));
    ck_assert(!sio_is_binary(o));
    json_decref(o);
    o = json_object();
    json_object_setn_new_nocheck(o,
                                 "\xff"
                                 "bin",
                                 4, json_string("x"));
    ck_assert(sio_is_binary(o)); /* the representation: exactly that key, a string value */
    json_decref(o);
}
END_TEST

START_TEST(has_binary_at_any_depth)
{
    ck_assert(!sio_has_binary(NULL));
    json_t *b = sio_binary_new("z", 1);
    ck_assert(sio_has_binary(b));

    json_t *v = json_pack("[s,{s:[i,{s:O}]}]", "ev", "a", 1, "deep", b);
    ck_assert(sio_has_binary(v));
    json_decref(v);

    v = json_pack("{s:i,s:{s:[n,O]}}", "first", 1, "second", "x", b);
    ck_assert(sio_has_binary(v));
    json_decref(v);

    v = json_pack("[s,{s:[i,{s:s}]}]", "ev", "a", 1, "deep", "text");
    ck_assert(!sio_has_binary(v));
    json_decref(v);

    /* 100 nested arrays with binary at the bottom. */
    json_t *inner = json_incref(b);
    for (int i = 0; i < 100; i++) {
        json_t *a = json_array();
        json_array_append_new(a, inner);
        inner = a;
    }
    ck_assert(sio_has_binary(inner));
    json_decref(inner);
    json_decref(b);
}
END_TEST

START_TEST(copies_and_equality)
{
    json_t *a = sio_binary_new("ab\0c", 4);
    json_t *b = sio_binary_new("ab\0c", 4);
    json_t *c = sio_binary_new("ab\0d", 4);
    json_t *e = sio_binary_new("ab", 2);
    ck_assert(json_equal(a, b));
    ck_assert(!json_equal(a, c));
    ck_assert(!json_equal(a, e));
    json_t *copy = json_deep_copy(a);
    ck_assert(sio_is_binary(copy));
    ck_assert(json_equal(a, copy));
    json_t *shallow = json_copy(a);
    ck_assert(sio_is_binary(shallow));
    /* Binary values have no JSON form (jansson 2.14 even dumps the key as a lone quote): sio_encode
     * swaps them for placeholders first. */
    char *dumped = json_dumps(a, JSON_ENCODE_ANY);
    json_error_t je;
    json_t *back = dumped ? json_loads(dumped, JSON_DECODE_ANY, &je) : NULL;
    ck_assert(back == NULL || !sio_is_binary(back));
    json_decref(back);
    free(dumped);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(e);
    json_decref(copy);
    json_decref(shallow);
}
END_TEST

static Suite *binary_suite(void)
{
    Suite *s = suite_create("sio_binary");
    TCase *tc = tcase_create("binary");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, new_and_read_back);
    tcase_add_test(tc, not_binary);
    tcase_add_test(tc, has_binary_at_any_depth);
    tcase_add_test(tc, copies_and_equality);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(binary_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
