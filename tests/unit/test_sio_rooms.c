/* test_sio_rooms: the Socket.IO server model through the fake host (sio_fake_host.h): rooms (join,
 * leave, the id room, per namespace, left on disconnect) and selections (join, leave, disconnect
 * and fetch by room). */
#include "sio_fake_host.h"

/* ---------------------------------------------------------------------------------------------- */
/* Rooms                                                                                          */

static void collect_room(const char *room, void *ud)
{
    json_array_append_new(ud, json_string(room));
}

START_TEST(rooms_join_leave)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    const char *id = sio_socket_id(s);
    ck_assert_int_eq(sio_socket_join(s, "a"), 0);
    ck_assert_int_eq(sio_socket_join(s, "b"), 0);
    ck_assert_int_eq(sio_socket_join(s, "a"), 0); /* already in */
    ck_assert_uint_eq(sio_socket_room_count(s), 3);
    ck_assert(sio_socket_in_room(s, "a"));
    ck_assert(sio_socket_in_room(s, "b"));
    ck_assert(sio_socket_in_room(s, id));
    ck_assert(!sio_socket_in_room(s, "c"));
    json_t *rooms = json_array();
    sio_socket_rooms(s, collect_room, rooms);
    ck_assert_uint_eq(json_array_size(rooms), 3);
    ck_assert_str_eq(json_string_value(json_array_get(rooms, 0)), id);
    ck_assert(json_array_has_str(rooms, "a"));
    ck_assert(json_array_has_str(rooms, "b"));
    json_decref(rooms);
    ck_assert(nsp_lists_room(H.root, "a"));
    ck_assert(nsp_lists_room(H.root, "b"));
    ck_assert(nsp_lists_room(H.root, id));
    ck_assert_uint_eq(nsp_room_total(H.root), 3);

    ck_assert_int_eq(sio_socket_leave(s, "a"), 0);
    ck_assert_uint_eq(sio_socket_room_count(s), 2);
    ck_assert(!sio_socket_in_room(s, "a"));
    ck_assert(!nsp_lists_room(H.root, "a")); /* empty rooms disappear */
    ck_assert(!sio_nsp_has_room(H.root, "a"));
    sio_socket_leave(s, "zzz");
    ck_assert_uint_eq(sio_socket_room_count(s), 2);

    sio_socket_join(s, "c");
    sio_socket_leave_all(s);
    ck_assert(!sio_socket_in_room(s, "b"));
    ck_assert(!sio_socket_in_room(s, "c"));
    ck_assert(!sio_nsp_has_room(H.root, "b"));
    ck_assert(!sio_nsp_has_room(H.root, "c"));
    ck_assert(!nsp_lists_room(H.root, "b"));
    fx_finish();
}
END_TEST

START_TEST(rooms_own_id_room)
{
    fx_init();
    fconn *a = open_conn();
    fconn *b = open_conn();
    sio_socket *s1 = connect_nsp(a, "/", NULL);
    sio_socket *s2 = connect_nsp(b, "/", NULL);
    ck_assert(sio_nsp_has_room(H.root, sio_socket_id(s1)));
    ck_assert(nsp_lists_room(H.root, sio_socket_id(s1)));
    ck_assert(nsp_lists_room(H.root, sio_socket_id(s2)));
    ck_assert(!sio_socket_in_room(s2, sio_socket_id(s1)));

    size_t ka = a->n_out, kb = b->n_out;
    const char *to[] = {sio_socket_id(s1)};
    sio_bcast_opts o = {to, 1, NULL, 0, 0};
    ck_assert_int_eq(sio_nsp_emit(H.root, &o, "dm", NULL), 1);
    ck_assert_uint_eq(a->n_out, ka + 1);
    ck_assert_uint_eq(b->n_out, kb);
    expect_out(a, ka, "42[\"dm\"]");
    fx_finish();
}
END_TEST

START_TEST(rooms_per_namespace)
{
    fx_init();
    fconn *a = open_conn();
    sio_socket *s = connect_nsp(a, "/", NULL);
    sio_socket *c = connect_nsp(a, "/chat", NULL);
    sio_socket_join(s, "r");
    ck_assert(sio_nsp_has_room(H.root, "r"));
    ck_assert(!sio_nsp_has_room(H.chat, "r"));
    ck_assert(!sio_socket_in_room(c, "r"));
    ck_assert(!nsp_lists_room(H.chat, "r"));
    ck_assert(!sio_nsp_has_room(H.chat, sio_socket_id(s)));

    size_t k = a->n_out;
    const char *r[] = {"r"};
    sio_bcast_opts o = {r, 1, NULL, 0, 0};
    ck_assert_int_eq(sio_nsp_emit(H.chat, &o, "x", NULL), 0);
    const char *sr[] = {sio_socket_id(s)};
    sio_bcast_opts os = {sr, 1, NULL, 0, 0};
    ck_assert_int_eq(sio_nsp_emit(H.chat, &os, "x", NULL), 0);
    ck_assert_uint_eq(a->n_out, k);

    sio_socket_join(c, "r");
    sio_socket_leave(s, "r");
    ck_assert(!sio_nsp_has_room(H.root, "r"));
    ck_assert(sio_nsp_has_room(H.chat, "r"));
    ck_assert(sio_socket_in_room(c, "r"));
    ck_assert_int_eq(sio_nsp_emit(H.chat, &o, "x", NULL), 1);
    expect_out(a, k, "42/chat,[\"x\"]");
    ck_assert_int_eq(sio_nsp_emit(H.root, &o, "x", NULL), 0);
    fx_finish();
}
END_TEST

static void collect_socket(sio_socket *s, void *ud)
{
    sio_socket **seen = ud;
    for (int i = 0; i < 4; i++) {
        if (!seen[i]) {
            seen[i] = s;
            return;
        }
    }
    ck_abort_msg("more sockets than expected");
}

/* The sockets and the handshake of one client (the introspection of a session uses them). */
START_TEST(client_sockets_and_handshake)
{
    fx_init();
    fconn *a = open_conn();
    fconn *b = open_conn();
    sio_socket *none[4] = {NULL};
    sio_client_each_socket(a->c, collect_socket, none);
    ck_assert_ptr_null(none[0]);

    sio_socket *s = connect_nsp(a, "/", NULL);
    sio_socket *c = connect_nsp(a, "/chat", NULL);
    sio_socket *other = connect_nsp(b, "/", NULL);
    sio_socket *seen[4] = {NULL};
    sio_client_each_socket(a->c, collect_socket, seen);
    ck_assert_ptr_eq(seen[0], c); /* newest first */
    ck_assert_ptr_eq(seen[1], s);
    ck_assert_ptr_null(seen[2]);
    ck_assert_ptr_eq(sio_socket_client(s), a->c);
    ck_assert_ptr_ne(sio_socket_client(other), a->c);

    const json_t *hs = sio_client_handshake(a->c);
    ck_assert_str_eq(json_string_value(json_object_get(hs, "address")), "127.0.0.1");
    ck_assert_int_eq(json_integer_value(json_object_get(hs, "issued")), 1700000000000ll);
    ck_assert_ptr_null(json_object_get(hs, "auth"));

    /* A socket that leaves its namespace is no longer listed. */
    feed(a, "41/chat,");
    memset(seen, 0, sizeof seen);
    sio_client_each_socket(a->c, collect_socket, seen);
    ck_assert_ptr_eq(seen[0], s);
    ck_assert_ptr_null(seen[1]);
    fx_finish();
}
END_TEST

START_TEST(rooms_left_on_disconnect)
{
    fx_init();
    fconn *a = open_conn();
    fconn *b = open_conn();
    sio_socket *s1 = connect_nsp(a, "/", NULL);
    sio_socket *s2 = connect_nsp(b, "/", NULL);
    char id1[SID_BUF], id2[SID_BUF];
    copy_str(id1, sizeof id1, sio_socket_id(s1));
    copy_str(id2, sizeof id2, sio_socket_id(s2));
    sio_socket_join(s1, "r");
    sio_socket_join(s1, "solo");
    sio_socket_join(s2, "r");

    feed(a, "41");
    ck_assert_int_eq(H.n_disc, 1);
    ck_assert_str_eq(H.disc[0].sid, id1);
    ck_assert(!H.disc[0].in_r); /* rooms are already left in the handler */
    ck_assert_uint_eq(H.disc[0].rooms, 1);
    ck_assert(!H.disc[0].connected);
    ck_assert(!H.disc[0].findable);
    ck_assert_int_eq(H.disc[0].emit_rc, -1);
    ck_assert(!nsp_lists_room(H.root, "solo"));
    ck_assert(!nsp_lists_room(H.root, id1));
    ck_assert(!sio_nsp_has_room(H.root, id1));
    ck_assert(nsp_lists_room(H.root, "r"));
    const char *r[] = {"r"};
    sio_bcast_opts o = {r, 1, NULL, 0, 0};
    ck_assert_int_eq(sio_nsp_emit(H.root, &o, "x", NULL), 1);

    close_conn(b, "transport close");
    ck_assert_int_eq(H.n_disc, 2);
    ck_assert_str_eq(H.disc[1].reason, "transport close");
    ck_assert(!H.disc[1].in_r);
    ck_assert_uint_eq(nsp_room_total(H.root), 0);
    ck_assert(!sio_nsp_has_room(H.root, "r"));
    ck_assert(!sio_nsp_has_room(H.root, id2));
    ck_assert_uint_eq(sio_nsp_size(H.root), 0);
    fx_finish();
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Operations on selections                                                                       */

static void count_each(sio_socket *s, void *ud)
{
    if (ud != &H.each_seen)
        H.bad++;
    for (int i = 0; i < 3; i++)
        if (H.each_socks[i] == s)
            H.each_seen[i]++;
}

START_TEST(selection_join_leave_disconnect)
{
    fx_init();
    fconn *fc[3];
    sio_socket *s[3];
    open_n(3, fc, s);
    char id[3][SID_BUF];
    for (int i = 0; i < 3; i++)
        copy_str(id[i], SID_BUF, sio_socket_id(s[i]));
    sio_socket_join(s[0], "a");
    sio_socket_join(s[1], "a");

    const char *a[] = {"a"}, *bc[] = {"b", "c"}, *b[] = {"b"}, *all[] = {"all"};
    sio_bcast_opts in_a = {a, 1, NULL, 0, 0};
    sio_nsp_sockets_join(H.root, &in_a, bc, 2);
    ck_assert(sio_socket_in_room(s[0], "b") && sio_socket_in_room(s[0], "c"));
    ck_assert(sio_socket_in_room(s[1], "b") && sio_socket_in_room(s[1], "c"));
    ck_assert(!sio_socket_in_room(s[2], "b") && !sio_socket_in_room(s[2], "c"));

    const char *not0[] = {id[0]};
    sio_bcast_opts in_b_not0 = {b, 1, not0, 1, 0};
    sio_nsp_sockets_leave(H.root, &in_b_not0, b, 1);
    ck_assert(sio_socket_in_room(s[0], "b"));
    ck_assert(!sio_socket_in_room(s[1], "b"));
    ck_assert(sio_socket_in_room(s[1], "c"));

    sio_nsp_sockets_join(H.root, NULL, all, 1);
    for (int i = 0; i < 3; i++)
        ck_assert(sio_socket_in_room(s[i], "all"));
    const char *overlap[] = {"a", "all", "c", id[1]};
    sio_bcast_opts o_overlap = {overlap, 4, NULL, 0, 0};
    int seen[3] = {0, 0, 0};
    H.each_seen = seen;
    H.each_socks = s;
    sio_nsp_each_local(H.root, &o_overlap, count_each, &H.each_seen);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(seen[i] == 1, "socket %d visited %d times", i, seen[i]);

    const char *c[] = {"c"};
    sio_bcast_opts in_c = {c, 1, NULL, 0, 0};
    sio_nsp_disconnect_sockets(H.root, &in_c, false);
    ck_assert_int_eq(H.n_disc, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(H.disc[i].reason, "server namespace disconnect");
        expect_out(fc[i], fc[i]->n_out - 1, "41");
        ck_assert_int_eq(fc[i]->n_close, 0);
    }
    ck_assert_ptr_null(sio_nsp_socket(H.root, id[0]));
    ck_assert_ptr_null(sio_nsp_socket(H.root, id[1]));
    ck_assert(sio_nsp_socket(H.root, id[2]) == s[2]);
    ck_assert_uint_eq(sio_nsp_size(H.root), 1);
    ck_assert(!sio_nsp_has_room(H.root, "c"));

    size_t k2 = fc[2]->n_out;
    sio_nsp_disconnect_sockets(H.root, NULL, true);
    ck_assert_int_eq(H.n_disc, 3);
    expect_out(fc[2], k2, "41");
    ck_assert_int_eq(fc[2]->n_close, 1);
    ck_assert_str_eq(fc[2]->close_reason, "forced close");
    ck_assert_uint_eq(sio_nsp_size(H.root), 0);
    ck_assert_uint_eq(nsp_room_total(H.root), 0);
    close_conn(fc[2], "forced close");
    fx_finish();
}
END_TEST

START_TEST(fetch_sockets)
{
    fx_init();
    sio_handshake_info hs = {
        .headers = json_pack("{s:s,s:s}", "user-agent", "ua/1", "origin", "http://example.com"),
        .query = json_pack("{s:s,s:s,s:s}", "EIO", "4", "transport", "polling", "x", "y"),
        .address = "10.0.0.7",
        .url = "/socket.io/?EIO=4&transport=polling&x=y",
        .secure = true,
        .xdomain = true,
        .issued_ms = 1700000000123ull,
    };
    fconn *a = open_conn_hs(&hs);
    fconn *b = open_conn();
    sio_socket *s = connect_nsp(a, "/", "{\"token\":\"t\"}");
    sio_socket *s2 = connect_nsp(b, "/", NULL);
    char id[SID_BUF], id2[SID_BUF];
    copy_str(id, sizeof id, sio_socket_id(s));
    copy_str(id2, sizeof id2, sio_socket_id(s2));
    sio_socket_join(s, "r");
    json_object_set_new(sio_socket_data_json(s), "name", json_string("bob"));

    sio_nsp_fetch_sockets(H.root, NULL, on_fetch, &H.fetched);
    ck_assert_int_eq(H.n_fetch, 1);
    ck_assert_uint_eq(json_array_size(H.fetched), 2);
    json_t *e = NULL;
    for (size_t i = 0; i < 2; i++) {
        json_t *x = json_array_get(H.fetched, i);
        if (strcmp(json_string_value(json_object_get(x, "id")), id) == 0)
            e = x;
    }
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(json_object_get(e, "handshake"));
    char rooms[128];
    snprintf(rooms, sizeof rooms, "[\"%s\",\"r\"]", id);
    expect_json(json_object_get(e, "rooms"), rooms);
    expect_json(json_object_get(e, "data"), "{\"name\":\"bob\"}");
    json_t *h = json_object_get(e, "handshake");
    expect_json(json_object_get(h, "headers"),
                "{\"user-agent\":\"ua/1\",\"origin\":\"http://example.com\"}");
    expect_json(json_object_get(h, "query"),
                "{\"EIO\":\"4\",\"transport\":\"polling\",\"x\":\"y\"}");
    expect_json(json_object_get(h, "address"), "\"10.0.0.7\"");
    expect_json(json_object_get(h, "url"), "\"/socket.io/?EIO=4&transport=polling&x=y\"");
    expect_json(json_object_get(h, "secure"), "true");
    expect_json(json_object_get(h, "xdomain"), "true");
    expect_json(json_object_get(h, "issued"), "1700000000123");
    expect_json(json_object_get(h, "auth"), "{\"token\":\"t\"}");
    ck_assert(json_is_string(json_object_get(h, "time")));
    ck_assert(json_equal(h, (json_t *)sio_socket_handshake(s)));

    /* A selection. */
    const char *r[] = {"r"};
    sio_bcast_opts o = {r, 1, NULL, 0, 0};
    sio_nsp_fetch_sockets(H.root, &o, on_fetch, &H.fetched);
    ck_assert_int_eq(H.n_fetch, 2);
    ck_assert_uint_eq(json_array_size(H.fetched), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(H.fetched, 0), "id")), id);
    const char *ex[] = {id};
    sio_bcast_opts olocal = {NULL, 0, ex, 1, SIO_BC_LOCAL};
    sio_nsp_fetch_sockets(H.root, &olocal, on_fetch, &H.fetched);
    ck_assert_int_eq(H.n_fetch, 3);
    ck_assert_uint_eq(json_array_size(H.fetched), 1);
    json_t *e2 = json_array_get(H.fetched, 0);
    ck_assert_str_eq(json_string_value(json_object_get(e2, "id")), id2);
    snprintf(rooms, sizeof rooms, "[\"%s\"]", id2);
    expect_json(json_object_get(e2, "rooms"), rooms);
    expect_json(json_object_get(e2, "data"), "{}");
    expect_json(json_object_get(json_object_get(e2, "handshake"), "auth"), "{}");
    fx_finish();
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("sio_rooms");
    TCase *tc;
    tc = tcase_create("rooms");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, rooms_join_leave);
    tcase_add_test(tc, rooms_own_id_room);
    tcase_add_test(tc, rooms_per_namespace);
    tcase_add_test(tc, client_sockets_and_handshake);
    tcase_add_test(tc, rooms_left_on_disconnect);
    suite_add_tcase(s, tc);

    tc = tcase_create("selection");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, selection_join_leave_disconnect);
    tcase_add_test(tc, fetch_sockets);
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
