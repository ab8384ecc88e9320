/* test_app_answer: the pure half of the app bridge (broker/daemon/app_answer.h) and the call
 * signature (cluster_sign_body): binary values to placeholders + base64 and back, the answer list
 * of a POST, and the validation of actions into a plan that is all or nothing. */
#include "app_answer.h"
#include "cluster_auth.h"
#include "sio_binary.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static bool nsp_exists(const char *name, void *ud)
{
    (void)ud;
    return strcmp(name, "/chat") == 0;
}

static const app_plan_env k_env = {nsp_exists, NULL};

static char *dump(json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void assert_json(json_t *v, const char *want)
{
    char *s = dump(v);
    ck_assert_str_eq(s, want);
    free(s);
}

START_TEST(signature_vector)
{
    /* hmac.new(b"app-secret-0123456789", b"1700000000000\n{\"v\":1}", sha256).hexdigest() */
    char sig[CLUSTER_SIG_HEX + 1];
    cluster_sign_body("app-secret-0123456789", 1700000000000ull, "{\"v\":1}", 7, sig);
    ck_assert_str_eq(sig, "0f69ceb14d6e13055d8deb6200140bfdafff2c1607d5201be636c93b5dee9e54");
}
END_TEST

START_TEST(wire_roundtrip)
{
    const uint8_t b[] = {0, 1, 2};
    json_t *args =
        json_pack("[i,o,{s:o},s]", 1, sio_binary_new(b, 3), "k", sio_binary_new(b, 0), "x");
    json_t *atts = json_array();
    json_t *wire = app_to_wire(args, atts);
    assert_json(
        wire,
        "[1,{\"_placeholder\":true,\"num\":0},{\"k\":{\"_placeholder\":true,\"num\":1}},\"x\"]");
    assert_json(atts, "[\"AAEC\",\"\"]");
    const char *why = NULL;
    json_t *back = app_from_wire(wire, atts, &why);
    ck_assert_ptr_nonnull(back);
    size_t len;
    const uint8_t *got = sio_binary_data(json_array_get(back, 1), &len);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(got, b, 3);
    ck_assert(sio_is_binary(json_object_get(json_array_get(back, 2), "k")));
    /* Without attachments a placeholder-shaped object is just an object. */
    json_t *plain = app_from_wire(wire, NULL, &why);
    ck_assert(json_equal(plain, wire));
    json_decref(plain);
    json_decref(back);
    json_decref(wire);
    json_decref(atts);
    json_decref(args);
}
END_TEST

START_TEST(wire_refusals)
{
    const char *why = NULL;
    json_t *v = json_loads("[{\"_placeholder\":true,\"num\":2}]", 0, NULL);
    json_t *atts = json_loads("[\"AA==\",\"AA==\"]", 0, NULL);
    ck_assert_ptr_null(app_from_wire(v, atts, &why));
    ck_assert_str_eq(why, "a placeholder's num is out of range");
    json_decref(atts);
    atts = json_loads("[\"AA==\",\"AA==\",\"*!\"]", 0, NULL);
    ck_assert_ptr_null(app_from_wire(v, atts, &why));
    ck_assert_str_eq(why, "an attachment is not valid base64");
    json_decref(atts);
    json_decref(v);
}
END_TEST

static const char *parse_why(const char *body, size_t n)
{
    const char *why = NULL;
    json_t *a = app_answers_parse((const uint8_t *)body, strlen(body), n, &why);
    if (a) {
        json_decref(a);
        return "ok";
    }
    return why;
}

START_TEST(answer_list)
{
    ck_assert_str_eq(parse_why("{\"answers\":[{},{\"actions\":[]}]}", 2), "ok");
    ck_assert_str_eq(parse_why("nope", 1), "answer body is not JSON");
    ck_assert_str_eq(parse_why("{\"answer\":[]}", 1), "answer body has no \"answers\" array");
    ck_assert_str_eq(parse_why("{\"answers\":[{}]}", 2),
                     "answer count differs from the call count");
    ck_assert_str_eq(parse_why("{\"answers\":[1]}", 1), "an answer is not an object");
    ck_assert_str_eq(parse_why("{\"answers\":[{}],\"answers\":[{}]}", 1),
                     "answer body is not JSON");
}
END_TEST

/* The plan of an answer given as JSON text, as compact JSON, or "!" + why. Caller frees. */
static char *plan_of(const char *answer, app_call_kind kind, bool ack)
{
    json_t *a = json_loads(answer, 0, NULL);
    ck_assert_ptr_nonnull(a);
    const char *why = NULL;
    json_t *plan = app_plan_actions(&k_env, a, kind, ack, &why);
    json_decref(a);
    if (!plan) {
        char *s = malloc(strlen(why) + 2);
        s[0] = '!';
        strcpy(s + 1, why);
        return s;
    }
    char *s = dump(plan);
    json_decref(plan);
    return s;
}

#define PLAN_EQ(answer, kind, ack, want)                                                           \
    do {                                                                                           \
        char *got_ = plan_of(answer, kind, ack);                                                   \
        ck_assert_str_eq(got_, want);                                                              \
        free(got_);                                                                                \
    } while (0)

START_TEST(plan_valid)
{
    PLAN_EQ("{}", APP_CALL_EVENT, false, "[]");
    PLAN_EQ(
        "{\"actions\":[{\"type\":\"emit\",\"event\":\"e\"},{\"type\":\"ack\",\"args\":[1]},"
        "{\"type\":\"broadcast\",\"event\":\"b\",\"args\":[],\"nsp\":\"/chat\",\"rooms\":[\"r\"]},"
        "{\"type\":\"join\",\"rooms\":[\"a\"]},{\"type\":\"set_data\",\"data\":null},"
        "{\"type\":\"disconnect\"}]}",
        APP_CALL_EVENT, true,
        "[{\"type\":\"emit\",\"event\":\"e\",\"args\":[]},{\"type\":\"ack\",\"args\":[1]},"
        "{\"type\":\"broadcast\",\"event\":\"b\",\"args\":[],\"nsp\":\"/chat\",\"rooms\":[\"r\"],"
        "\"volatile\":false,\"local\":false},{\"type\":\"join\",\"rooms\":[\"a\"]},"
        "{\"type\":\"set_data\",\"data\":null},{\"type\":\"disconnect\",\"close\":false}]");
}
END_TEST

START_TEST(plan_refusals)
{
    PLAN_EQ("{\"actions\":{}}", APP_CALL_EVENT, false, "!\"actions\" is not an array");
    PLAN_EQ("{\"actions\":[1]}", APP_CALL_EVENT, false, "!an action is not an object");
    PLAN_EQ("{\"actions\":[{}]}", APP_CALL_EVENT, false, "!an action has no \"type\"");
    PLAN_EQ("{\"actions\":[{\"type\":\"x\"}]}", APP_CALL_EVENT, false, "!unknown action type");
    PLAN_EQ("{\"actions\":[{\"type\":\"ack\"}]}", APP_CALL_EVENT, false,
            "!an \"ack\" action without an ack to send (not asked, or twice)");
    PLAN_EQ("{\"actions\":[{\"type\":\"ack\"},{\"type\":\"ack\"}]}", APP_CALL_EVENT, true,
            "!an \"ack\" action without an ack to send (not asked, or twice)");
    PLAN_EQ("{\"actions\":[{\"type\":\"ack\"}]}", APP_CALL_CONNECT, true,
            "!an \"ack\" action without an ack to send (not asked, or twice)");
    PLAN_EQ("{\"actions\":[{\"type\":\"emit\",\"event\":\"disconnect\"}]}", APP_CALL_EVENT, false,
            "!reserved event name");
    PLAN_EQ("{\"actions\":[{\"type\":\"emit\",\"event\":\"\"}]}", APP_CALL_EVENT, false,
            "!\"event\" is not a non-empty string");
    PLAN_EQ("{\"actions\":[{\"type\":\"emit\",\"event\":\"e\",\"args\":{}}]}", APP_CALL_EVENT,
            false, "!\"args\" is not an array");
    PLAN_EQ("{\"actions\":[{\"type\":\"broadcast\",\"event\":\"e\",\"nsp\":\"/x\"}]}",
            APP_CALL_EVENT, false, "!\"nsp\" is not a namespace served by this node");
    PLAN_EQ("{\"actions\":[{\"type\":\"broadcast\",\"event\":\"e\",\"rooms\":[\"\"]}]}",
            APP_CALL_EVENT, false, "!a room is not a non-empty string of at most 256 bytes");
    PLAN_EQ("{\"actions\":[{\"type\":\"broadcast\",\"event\":\"e\",\"volatile\":1}]}",
            APP_CALL_EVENT, false, "!\"volatile\" / \"local\" are not booleans");
    PLAN_EQ("{\"actions\":[{\"type\":\"join\"}]}", APP_CALL_EVENT, false, "!\"rooms\" is required");
    PLAN_EQ("{\"actions\":[{\"type\":\"join\",\"rooms\":[1]}]}", APP_CALL_EVENT, false,
            "!a room is not a non-empty string of at most 256 bytes");
    PLAN_EQ("{\"actions\":[{\"type\":\"set_data\"}]}", APP_CALL_EVENT, false,
            "!\"set_data\" without \"data\"");
    PLAN_EQ("{\"actions\":[{\"type\":\"disconnect\",\"close\":\"yes\"}]}", APP_CALL_EVENT, false,
            "!\"close\" is not a boolean");
    /* A valid action before an invalid one: nothing is planned. */
    PLAN_EQ("{\"actions\":[{\"type\":\"emit\",\"event\":\"ok\"},{\"type\":\"bogus\"}]}",
            APP_CALL_EVENT, false, "!unknown action type");
    char room[300];
    memset(room, 'r', 257);
    room[257] = '\0';
    char answer[400];
    snprintf(answer, sizeof answer, "{\"actions\":[{\"type\":\"leave\",\"rooms\":[\"%s\"]}]}",
             room);
    PLAN_EQ(answer, APP_CALL_EVENT, false,
            "!a room is not a non-empty string of at most 256 bytes");
}
END_TEST

START_TEST(data_limit)
{
    const char *why = NULL;
    char *big = malloc(APP_MAX_DATA + 1);
    memset(big, 'x', APP_MAX_DATA);
    big[APP_MAX_DATA] = '\0';
    json_t *v = json_string(big);
    ck_assert(!app_data_ok(v, &why));
    ck_assert_str_eq(why, "socket data larger than 64 KiB");
    json_decref(v);
    big[APP_MAX_DATA - 2] = '\0'; /* with its quotes: exactly the limit */
    v = json_string(big);
    ck_assert(app_data_ok(v, &why));
    json_decref(v);
    free(big);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("app_answer");
    TCase *tc = tcase_create("app_answer");
    tcase_add_test(tc, signature_vector);
    tcase_add_test(tc, wire_roundtrip);
    tcase_add_test(tc, wire_refusals);
    tcase_add_test(tc, answer_list);
    tcase_add_test(tc, plan_valid);
    tcase_add_test(tc, plan_refusals);
    tcase_add_test(tc, data_limit);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
