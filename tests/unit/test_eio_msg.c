/* test_eio_msg: refcounted outbound packets: wire forms, headroom, references, packet views. */
#include "eio_msg.h"

#include <check.h>
#include <string.h>

START_TEST(text_wire_form)
{
    for (int t = EIO_OPEN; t <= EIO_NOOP; t++) {
        eio_msg *m = eio_msg_new((eio_ptype)t, false, "hello", 5);
        ck_assert_uint_eq(m->refs, 1);
        ck_assert_int_eq(m->type, t);
        ck_assert(!m->binary);
        ck_assert_uint_eq(m->frame_hdr_len, 0);
        ck_assert_uint_eq(m->len, 6);
        ck_assert_int_eq(m->wire[0], '0' + t);
        ck_assert_mem_eq(m->wire + 1, "hello", 5);
        ck_assert_ptr_eq(m->wire, m->storage + EIO_MSG_HEADROOM);
        eio_msg_unref(m);
    }
}
END_TEST

START_TEST(text_empty)
{
    eio_msg *m = eio_msg_new(EIO_PING, false, NULL, 0);
    ck_assert_uint_eq(m->len, 1);
    ck_assert_int_eq(m->wire[0], '2');
    eio_packet p = eio_msg_packet(m);
    ck_assert_int_eq(p.type, EIO_PING);
    ck_assert(!p.binary);
    ck_assert_uint_eq(p.len, 0);
    eio_msg_unref(m);
}
END_TEST

START_TEST(binary_wire_form)
{
    static const uint8_t raw[] = {0x00, 0x34, 0xff, 0x1e};
    eio_msg *m = eio_msg_new(EIO_MESSAGE, true, raw, sizeof raw);
    ck_assert(m->binary);
    ck_assert_int_eq(m->type, EIO_MESSAGE);
    ck_assert_uint_eq(m->len, sizeof raw); /* no type digit on the WebSocket form */
    ck_assert_mem_eq(m->wire, raw, sizeof raw);
    ck_assert_ptr_eq(m->wire, m->storage + EIO_MSG_HEADROOM);
    eio_packet p = eio_msg_packet(m);
    ck_assert(p.binary);
    ck_assert_int_eq(p.type, EIO_MESSAGE);
    ck_assert_ptr_eq(p.data, m->wire);
    ck_assert_uint_eq(p.len, sizeof raw);
    eio_msg_unref(m);

    eio_msg *e = eio_msg_new(EIO_MESSAGE, true, NULL, 0);
    ck_assert(e->binary);
    ck_assert_uint_eq(e->len, 0);
    ck_assert_uint_eq(eio_msg_packet(e).len, 0);
    eio_msg_unref(e);
}
END_TEST

START_TEST(new2_concatenates)
{
    eio_msg *m = eio_msg_new2(EIO_MESSAGE, "2[\"ev\",", 7, "1]", 2);
    ck_assert(!m->binary);
    ck_assert_uint_eq(m->len, 10);
    ck_assert_mem_eq(m->wire, "42[\"ev\",1]", 10);
    eio_packet p = eio_msg_packet(m);
    ck_assert_ptr_eq(p.data, m->wire + 1);
    ck_assert_uint_eq(p.len, 9);
    eio_msg_unref(m);

    eio_msg *only1 = eio_msg_new2(EIO_MESSAGE, "ab", 2, NULL, 0);
    ck_assert_uint_eq(only1->len, 3);
    ck_assert_mem_eq(only1->wire, "4ab", 3);
    eio_msg_unref(only1);
    eio_msg *only2 = eio_msg_new2(EIO_MESSAGE, NULL, 0, "cd", 2);
    ck_assert_mem_eq(only2->wire, "4cd", 3);
    eio_msg_unref(only2);
}
END_TEST

START_TEST(refcounts)
{
    eio_msg *m = eio_msg_new(EIO_MESSAGE, false, "x", 1);
    ck_assert_ptr_eq(eio_msg_ref(m), m);
    ck_assert_uint_eq(m->refs, 2);
    eio_msg_ref(m);
    ck_assert_uint_eq(m->refs, 3);
    eio_msg_unref(m);
    eio_msg_unref(m);
    ck_assert_uint_eq(m->refs, 1);
    ck_assert_mem_eq(m->wire, "4x", 2); /* still alive and intact */
    eio_msg_unref(m);                   /* freed here (ASan/valgrind check the balance) */
    eio_msg_unref(NULL);
}
END_TEST

START_TEST(headroom_is_usable)
{
    /* A transport may write a frame header just before wire, once. */
    eio_msg *m = eio_msg_new(EIO_MESSAGE, false, "abc", 3);
    memset(m->wire - EIO_MSG_HEADROOM, 0xAB, EIO_MSG_HEADROOM);
    m->frame_hdr_len = 2;
    ck_assert_mem_eq(m->wire, "4abc", 4);
    eio_msg_unref(m);
}
END_TEST

START_TEST(packet_view_encodes_to_polling_form)
{
    util_buf out = UTIL_BUF_INIT;
    eio_msg *t = eio_msg_new(EIO_MESSAGE, false, "hi", 2);
    eio_msg *b = eio_msg_new(EIO_MESSAGE, true, "\x01\x02\x03", 3);
    eio_packet pt = eio_msg_packet(t), pb = eio_msg_packet(b);
    eio_encode_polling(&out, &pt);
    ck_assert_uint_eq(out.len, t->len); /* text: polling form == WebSocket form */
    ck_assert_mem_eq(out.data, t->wire, t->len);
    ck_assert_uint_eq(eio_polling_len(&pt), 3);
    util_buf_reset(&out);
    eio_encode_polling(&out, &pb);
    ck_assert_uint_eq(out.len, 5);
    ck_assert_mem_eq(out.data, "bAQID", 5);
    ck_assert_uint_eq(eio_polling_len(&pb), 5);
    util_buf_free(&out);
    eio_msg_unref(t);
    eio_msg_unref(b);
}
END_TEST

static Suite *msg_suite(void)
{
    Suite *s = suite_create("eio_msg");
    TCase *tc = tcase_create("msg");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, text_wire_form);
    tcase_add_test(tc, text_empty);
    tcase_add_test(tc, binary_wire_form);
    tcase_add_test(tc, new2_concatenates);
    tcase_add_test(tc, refcounts);
    tcase_add_test(tc, headroom_is_usable);
    tcase_add_test(tc, packet_view_encodes_to_polling_form);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(msg_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
