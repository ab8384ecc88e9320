/* test_sio_bcast: the Socket.IO server model through the fake host (sio_fake_host.h): broadcasts
 * to all, to rooms with except, volatile, their counts, shared binary frames, reserved names, and
 * broadcasts with acks. */
#include "sio_fake_host.h"

/* ---------------------------------------------------------------------------------------------- */
/* Broadcasts                                                                                     */

START_TEST(bcast_to_all)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    fconn *d = open_conn();
    connect_nsp(d, "/chat", NULL);
    size_t kd = d->n_out;

    ck_assert_int_eq(sio_nsp_emit(H.root, NULL, "news", json_pack("[i]", 1)), 3);
    eio_msg *m = fc[0]->out[fc[0]->n_out - 1].m;
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(fc[i]->n_out, 2);
        expect_out(fc[i], 1, "42[\"news\",1]");
        ck_assert(!fc[i]->out[1].vol);
        ck_assert_msg(fc[i]->out[1].m == m, "conn %d got its own copy of the message", i);
    }
    ck_assert_uint_eq(m->refs, 3); /* only the host's references remain */
    ck_assert_uint_eq(d->n_out, kd);

    ck_assert_int_eq(sio_nsp_emit(H.chat, NULL, "x", NULL), 1);
    sio_bcast_opts local = {NULL, 0, NULL, 0, SIO_BC_LOCAL};
    ck_assert_int_eq(sio_nsp_emit(H.root, &local, "local", NULL), 3);
    for (int i = 0; i < 3; i++)
        expect_out(fc[i], 2, "42[\"local\"]");
    expect_out(d, kd, "42/chat,[\"x\"]");
    fx_finish();
}
END_TEST

START_TEST(bcast_rooms_and_except)
{
    fx_init();
    fconn *fc[4];
    sio_socket *s[4];
    open_n(4, fc, s);
    sio_socket_join(s[0], "x");
    sio_socket_join(s[1], "x");
    sio_socket_join(s[1], "y");
    sio_socket_join(s[2], "y");
    /* s[3] is in no room */

    struct {
        const char *rooms[3];
        size_t n_rooms;
        const char *except[3];
        size_t n_except;
        bool want[4];
    } cases[] = {
        {{"x"}, 1, {NULL}, 0, {true, true, false, false}},
        {{"x", "y"}, 2, {NULL}, 0, {true, true, true, false}}, /* s[1] once */
        {{"x", "y", "x"}, 3, {NULL}, 0, {true, true, true, false}},
        {{NULL}, 0, {"y"}, 1, {true, false, false, true}},
        {{NULL}, 0, {"ID0"}, 1, {false, true, true, true}},
        {{"x", "y"}, 2, {"x"}, 1, {false, false, true, false}},
        {{"x", "y"}, 2, {"ID1", "ID2"}, 2, {true, false, false, false}},
        {{"ID3", "x"}, 2, {NULL}, 0, {true, true, false, true}},
        {{"nobody"}, 1, {NULL}, 0, {false, false, false, false}},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const char *rooms[3], *except[3];
        for (size_t k = 0; k < 3; k++) {
            const char *r = cases[ci].rooms[k], *e = cases[ci].except[k];
            rooms[k] = r && strncmp(r, "ID", 2) == 0 ? sio_socket_id(s[r[2] - '0']) : r;
            except[k] = e && strncmp(e, "ID", 2) == 0 ? sio_socket_id(s[e[2] - '0']) : e;
        }
        sio_bcast_opts o = {rooms, cases[ci].n_rooms, except, cases[ci].n_except, 0};
        size_t before[4];
        int want_n = 0;
        for (int i = 0; i < 4; i++) {
            before[i] = fc[i]->n_out;
            want_n += cases[ci].want[i];
        }
        char ev[32];
        snprintf(ev, sizeof ev, "case%zu", ci);
        int n = sio_nsp_emit(H.root, &o, ev, NULL);
        ck_assert_msg(n == want_n, "case %zu: %d targets, want %d", ci, n, want_n);
        char want[64];
        snprintf(want, sizeof want, "42[\"%s\"]", ev);
        for (int i = 0; i < 4; i++) {
            size_t got = fc[i]->n_out - before[i];
            ck_assert_msg(got == (cases[ci].want[i] ? 1u : 0u),
                          "case %zu: socket %d got %zu message(s)", ci, i, got);
            if (got)
                expect_out(fc[i], before[i], want);
        }
    }
    fx_finish();
}
END_TEST

START_TEST(bcast_volatile)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    fc[2]->refuse_volatile = true; /* that transport is not ready to write */
    sio_bcast_opts o = {NULL, 0, NULL, 0, SIO_BC_VOLATILE};
    sio_nsp_emit(H.root, &o, "tick", NULL);
    for (int i = 0; i < 2; i++) {
        expect_out(fc[i], 1, "42[\"tick\"]");
        ck_assert(fc[i]->out[1].vol);
    }
    ck_assert_uint_eq(fc[2]->n_out, 1);

    /* A binary volatile message dropped for a session drops its attachments with it. */
    const uint8_t b[] = {5};
    sio_nsp_emit(H.root, &o, "bin", json_pack("[o]", sio_binary_new(b, 1)));
    for (int i = 0; i < 2; i++) {
        expect_out(fc[i], 2, "451-[\"bin\",{\"_placeholder\":true,\"num\":0}]");
        ck_assert(fc[i]->out[2].vol);
        expect_bin(fc[i], 3, b, 1);
    }
    ck_assert_uint_eq(fc[2]->n_out, 1);

    /* Without the flag: not volatile, and delivered to the third one too. */
    ck_assert_int_eq(sio_nsp_emit(H.root, NULL, "tock", NULL), 3);
    for (int i = 0; i < 3; i++) {
        expect_out(fc[i], fc[i]->n_out - 1, "42[\"tock\"]");
        ck_assert(!fc[i]->out[fc[i]->n_out - 1].vol);
    }
    fx_finish();
}
END_TEST

/* sio_nsp_emit returns the number of sockets the packet was queued for; the host's send returns -1
 * for one it did not queue (here, a volatile packet for a transport not ready to write). */
START_TEST(bcast_count_excludes_unqueued)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    fc[2]->refuse_volatile = true;
    sio_bcast_opts o = {NULL, 0, NULL, 0, SIO_BC_VOLATILE};
    int n = sio_nsp_emit(H.root, &o, "tick", NULL);
    ck_assert_uint_eq(fc[0]->n_out + fc[1]->n_out + fc[2]->n_out, 3 + 2);
    ck_assert_msg(n == 2, "sio_nsp_emit returned %d; the packet was queued for 2 sockets", n);
    fx_finish();
}
END_TEST

START_TEST(bcast_binary_shared)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    const uint8_t b[] = {0xde, 0xad};
    ck_assert_int_eq(sio_nsp_emit(H.root, NULL, "bin", json_pack("[o]", sio_binary_new(b, 2))), 3);
    eio_msg *t = fc[0]->out[1].m, *att = fc[0]->out[2].m;
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(fc[i]->n_out, 3);
        expect_out(fc[i], 1, "451-[\"bin\",{\"_placeholder\":true,\"num\":0}]");
        expect_bin(fc[i], 2, b, 2);
        ck_assert(fc[i]->out[1].m == t);
        ck_assert(fc[i]->out[2].m == att);
    }
    ck_assert_uint_eq(t->refs, 3);
    ck_assert_uint_eq(att->refs, 3);
    fx_finish();
}
END_TEST

START_TEST(bcast_reserved_refused)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    const char *names[] = {"connect",       "connect_error", "disconnect",
                           "disconnecting", "newListener",   "removeListener"};
    size_t k = a->n_out;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ck_assert(sio_event_reserved(names[i]));
        ck_assert_int_eq(sio_nsp_emit(H.root, NULL, names[i], json_pack("[i]", 1)), -1);
        ck_assert_int_eq(
            sio_nsp_emit_ack(H.root, NULL, names[i], json_pack("[i]", 1), 1000, on_bc, &H.bc), -1);
        ck_assert_int_eq(sio_socket_emit(s, names[i], json_pack("[i]", 1)), -1);
        ck_assert_int_eq(sio_socket_emit_ack(s, names[i], NULL, 1000, on_ack, &H.ack), -1);
    }
    ck_assert(!sio_event_reserved("message"));
    ck_assert(!sio_event_reserved("Connect"));
    ck_assert_uint_eq(a->n_out, k);
    advance(5000);
    ck_assert_int_eq(H.n_bc, 0);
    ck_assert_int_eq(H.n_ack, 0);
    fx_finish();
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Broadcasts with acks                                                                           */

/* Answers the broadcast ack of the last message of fc with payload (JSON array text). */
static void answer_last(fconn *fc, const char *payload)
{
    int64_t id = ack_id_of(last_text(fc), "42");
    char ans[256];
    snprintf(ans, sizeof ans, "43%" PRId64 "%s", id, payload);
    feed(fc, ans);
}

START_TEST(bcast_ack_timeout_partial)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    ck_assert_int_eq(
        sio_nsp_emit_ack(H.root, NULL, "poll", json_pack("[i]", 1), 1000, on_bc, &H.bc), 3);
    for (int i = 0; i < 3; i++) {
        int64_t id = ack_id_of(last_text(fc[i]), "42");
        char want[64];
        snprintf(want, sizeof want, "42%" PRId64 "[\"poll\",1]", id);
        ck_assert_str_eq(last_text(fc[i]), want);
    }
    char last2[256];
    copy_str(last2, sizeof last2, last_text(fc[2]));
    answer_last(fc[0], "[\"r1\"]");
    answer_last(fc[1], "[\"r2\",\"extra\"]");
    ck_assert_int_eq(H.n_bc, 0);
    advance(999);
    ck_assert_int_eq(H.n_bc, 0);
    advance(1);
    ck_assert_int_eq(H.n_bc, 1);
    expect_json(H.bc[0].replies, "[\"r1\",\"r2\"]");
    ck_assert_uint_eq(H.bc[0].expected, 3);
    ck_assert(H.bc[0].timed_out);

    answer_last(fc[2], "[\"r3\"]"); /* late */
    advance(10000);
    ck_assert_int_eq(H.n_bc, 1);
    ck_assert_int_eq(fc[0]->n_close + fc[1]->n_close + fc[2]->n_close, 0);
    fx_finish();
    ck_assert_int_eq(H.n_bc, 1);
}
END_TEST

START_TEST(bcast_ack_all_answer)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    ck_assert_int_eq(sio_nsp_emit_ack(H.root, NULL, "poll", NULL, 1000, on_bc, &H.bc), 3);
    answer_last(fc[1], "[\"r1\"]");
    answer_last(fc[0], "[]");
    ck_assert_int_eq(H.n_bc, 0);
    answer_last(fc[2], "[{\"k\":1},2]");
    ck_assert_int_eq(H.n_bc, 1);
    expect_json(H.bc[0].replies, "[\"r1\",null,{\"k\":1}]");
    ck_assert_uint_eq(H.bc[0].expected, 3);
    ck_assert(!H.bc[0].timed_out);
    ck_assert_int_eq(armed_timers(), 0);
    advance(5000);
    ck_assert_int_eq(H.n_bc, 1);
    fx_finish();
    ck_assert_int_eq(H.n_bc, 1);
}
END_TEST

START_TEST(bcast_ack_zero_targets)
{
    fx_init();
    fconn *fc[2];
    sio_socket *s[2];
    open_n(2, fc, s);
    const char *nobody[] = {"nobody"};
    sio_bcast_opts o = {nobody, 1, NULL, 0, 0};
    ck_assert_int_eq(sio_nsp_emit_ack(H.root, &o, "poll", NULL, 1000, on_bc, &H.bc), 0);
    ck_assert_int_eq(H.n_bc, 1);
    ck_assert_uint_eq(H.bc[0].expected, 0);
    expect_json(H.bc[0].replies, "[]");
    ck_assert(!H.bc[0].timed_out);
    ck_assert_int_eq(armed_timers(), 0);
    /* An empty namespace, no timeout. */
    ck_assert_int_eq(sio_nsp_emit_ack(H.chat, NULL, "poll", NULL, 0, on_bc, &H.bc), 0);
    ck_assert_int_eq(H.n_bc, 2);
    ck_assert_uint_eq(H.bc[1].expected, 0);
    advance(5000);
    ck_assert_int_eq(H.n_bc, 2);
    ck_assert_uint_eq(fc[0]->n_out + fc[1]->n_out, 2);
    fx_finish();
}
END_TEST

/* A broadcast with acks still waiting when every client is gone: its timer is the only one left,
 * and firing it at teardown completes it once and releases everything. */
START_TEST(bcast_ack_pending_at_shutdown)
{
    fx_init();
    fconn *fc[2];
    sio_socket *s[2];
    open_n(2, fc, s);
    ck_assert_int_eq(sio_nsp_emit_ack(H.root, NULL, "poll", NULL, 1000, on_bc, &H.bc), 2);
    answer_last(fc[0], "[1]");
    close_conn(fc[0], "transport close");
    close_conn(fc[1], "transport close");
    ck_assert_int_eq(H.n_bc, 0);
    H.expect_drain = 1;
    fx_finish();
    ck_assert_int_eq(H.n_bc, 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("sio_bcast");
    TCase *tc;
    tc = tcase_create("broadcast");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, bcast_to_all);
    tcase_add_test(tc, bcast_rooms_and_except);
    tcase_add_test(tc, bcast_volatile);
    tcase_add_test(tc, bcast_count_excludes_unqueued);
    tcase_add_test(tc, bcast_binary_shared);
    tcase_add_test(tc, bcast_reserved_refused);
    tcase_add_test(tc, bcast_ack_timeout_partial);
    tcase_add_test(tc, bcast_ack_all_answer);
    tcase_add_test(tc, bcast_ack_zero_targets);
    tcase_add_test(tc, bcast_ack_pending_at_shutdown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(make_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
