/* test_siocli: the pure pieces of siocli: its command line (global options anywhere, values,
 * lists, flags, positional counts, negative numbers, one-line errors) and its output (aligned
 * tables, durations, binary shown by size). */
#include "cli_args.h"
#include "cli_out.h"
#include "util_alloc.h"
#include "sio_binary.h"

#include <check.h>
#include <string.h>

static int run_none(cli_ctx *ctx, const cli_args *a)
{
    (void)ctx, (void)a;
    return 0;
}

static const cli_opt k_emit_opts[] = {
    {"--to", CLI_OPT_LIST, "ROOM", "rooms"},
    {"--volatile", CLI_OPT_FLAG, NULL, "volatile"},
    {"--ack", CLI_OPT_VALUE, "MS", "ack"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd k_cmds[] = {
    {"nodes", "", "nodes", NULL, NULL, 0, 0, run_none},
    {"room", "NAME", "one room", NULL, NULL, 1, 1, run_none},
    {"emit", "EVENT [JSON_ARG...]", "emit", NULL, k_emit_opts, 1, -1, run_none},
};

static int parse(cli_args *a, char *err, int argc, char **argv)
{
    return cli_args_parse(a, k_cmds, 3, argc, argv, err, 256);
}

START_TEST(args_globals_anywhere)
{
    cli_args a;
    char err[256];
    char *argv[] = {"siocli",      "--redis", "redis://h:1", "--json",    "emit",  "ev",
                    "--nsp=/chat", "-5",      "--to",        "r1",        "--key", "k",
                    "--to=r2",     "--ack",   "300",         "--timeout", "100",   "{\"a\":1}"};
    ck_assert_int_eq(parse(&a, err, 18, argv), 0);
    ck_assert_str_eq(a.cmd->name, "emit");
    ck_assert_str_eq(a.redis_url, "redis://h:1");
    ck_assert_str_eq(a.nsp, "/chat");
    ck_assert_str_eq(a.key, "k");
    ck_assert_str_eq(a.timeout, "100");
    ck_assert(a.json);
    ck_assert_uint_eq(a.n_pos, 3);
    ck_assert_str_eq(a.pos[0], "ev");
    ck_assert_str_eq(a.pos[1], "-5"); /* a negative number is an argument */
    ck_assert_str_eq(a.pos[2], "{\"a\":1}");
    size_t n;
    const char *const *to = cli_list(&a, "--to", &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(to[0], "r1");
    ck_assert_str_eq(to[1], "r2");
    ck_assert_str_eq(cli_value(&a, "--ack"), "300");
    ck_assert(!cli_flag(&a, "--volatile"));
    ck_assert_ptr_null(cli_value(&a, "--nope"));
    cli_args_free(&a);
    cli_args_free(&a); /* idempotent */
}
END_TEST

START_TEST(args_double_dash_and_help)
{
    cli_args a;
    char err[256];
    char *argv[] = {"siocli", "emit", "--volatile", "--", "ev", "--to"};
    ck_assert_int_eq(parse(&a, err, 6, argv), 0);
    ck_assert(cli_flag(&a, "--volatile"));
    ck_assert_uint_eq(a.n_pos, 2);
    ck_assert_str_eq(a.pos[1], "--to");
    cli_args_free(&a);

    char *help[] = {"siocli", "room", "-h"}; /* help wins over the missing NAME */
    ck_assert_int_eq(parse(&a, err, 3, help), 0);
    ck_assert(a.help);
    ck_assert_str_eq(a.cmd->name, "room");
    cli_args_free(&a);

    char *bare[] = {"siocli", "--json"};
    ck_assert_int_eq(parse(&a, err, 2, bare), 0);
    ck_assert_ptr_null(a.cmd);
    cli_args_free(&a);

    char *version[] = {"siocli", "--version"};
    ck_assert_int_eq(parse(&a, err, 2, version), 0);
    ck_assert(a.version);
    cli_args_free(&a);
}
END_TEST

START_TEST(args_errors)
{
    static const struct {
        int argc;
        char *argv[6];
        const char *err;
    } cases[] = {
        {2, {"siocli", "bogus"}, "unknown command \"bogus\" (see siocli --help)"},
        {3, {"siocli", "nodes", "--to"}, "nodes: unknown option --to (see siocli nodes --help)"},
        {2, {"siocli", "--to"}, "unknown option --to (see siocli --help)"},
        {2, {"siocli", "room"}, "room: missing argument (usage: siocli room NAME)"},
        {4,
         {"siocli", "room", "a", "b"},
         "room: unexpected argument \"b\" (usage: siocli room NAME)"},
        {4, {"siocli", "emit", "e", "--ack"}, "--ack needs a value (MS)"},
        {4, {"siocli", "emit", "e", "--volatile=1"}, "--volatile takes no value"},
        {5, {"siocli", "emit", "e", "--volatile", "--volatile"}, "--volatile given twice"},
        {3, {"siocli", "nodes", "--json=1"}, "--json takes no value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_args a;
        char err[256] = "";
        ck_assert_int_eq(parse(&a, err, cases[i].argc, (char **)cases[i].argv), -1);
        ck_assert_str_eq(err, cases[i].err);
        ck_assert_ptr_null(a.pos); /* nothing left to free */
    }
}
END_TEST

START_TEST(args_numbers)
{
    long v = 0;
    ck_assert_int_eq(cli_parse_ms("1", &v), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(cli_parse_ms("86400000", &v), 0);
    ck_assert_int_eq(cli_parse_ms("86400001", &v), -1);
    ck_assert_int_eq(cli_parse_ms("0", &v), -1);
    ck_assert_int_eq(cli_parse_ms("-5", &v), -1);
    ck_assert_int_eq(cli_parse_ms("5ms", &v), -1);
    ck_assert_int_eq(cli_parse_ms("", &v), -1);
    ck_assert_int_eq(cli_parse_ms(" 5", &v), -1);
    ck_assert_int_eq(cli_parse_ms(NULL, &v), -1);
    ck_assert_int_eq(cli_parse_ms("99999999999999999999", &v), -1);
    ck_assert_int_eq(cli_parse_count("1000000000", &v), 0);
    ck_assert_int_eq(cli_parse_count("1000000001", &v), -1);
}
END_TEST

static char *render(cli_table *t)
{
    static char out[1024];
    util_buf b = UTIL_BUF_INIT;
    cli_table_render(t, &b);
    ck_assert_uint_lt(b.len, sizeof out);
    memcpy(out, b.data, b.len);
    out[b.len] = '\0';
    util_buf_free(&b);
    return out;
}

START_TEST(table_aligned)
{
    static const char *const heads[] = {"ID", "ROOMS", "N"};
    cli_table *t = cli_table_new(3, heads);
    static const char *const r1[] = {"alpha", "red,blue", "12"};
    static const char *const r2[] = {"b", NULL, "3"};
    static const char *const r3[] = {"\xc3\xa9t\xc3\xa9", "a\nb\tc", ""};
    cli_table_add(t, r1);
    cli_table_add(t, r2);
    cli_table_add(t, r3);
    ck_assert_uint_eq(cli_table_rows(t), 3);
    ck_assert_str_eq(render(t), "ID     ROOMS     N\n"
                                "alpha  red,blue  12\n"
                                "b      -         3\n"
                                "\xc3\xa9t\xc3\xa9    a?b?c     \n");
    cli_table_free(t);
    cli_table_free(NULL);

    cli_table *empty = cli_table_new(2, heads);
    ck_assert_str_eq(render(empty), "ID  ROOMS\n");
    cli_table_free(empty);
}
END_TEST

START_TEST(durations)
{
    char b[32];
    ck_assert_str_eq(cli_fmt_duration(b, sizeof b, -1), "-");
    ck_assert_str_eq(cli_fmt_duration(b, sizeof b, 0), "0ms");
    ck_assert_str_eq(cli_fmt_duration(b, sizeof b, 999), "999ms");
    ck_assert_str_eq(cli_fmt_duration(b, sizeof b, 1000), "1.0s");
    ck_assert_str_eq(cli_fmt_duration(b, sizeof b, 12345), "12.3s");
    ck_assert_str_eq(cli_fmt_duration(b, sizeof b, 60000), "1m00s");
    ck_assert_str_eq(cli_fmt_duration(b, sizeof b, 5 * 60000 + 3000), "5m03s");
    ck_assert_str_eq(cli_fmt_duration(b, sizeof b, 2 * 3600000 + 5 * 60000), "2h05m");
    ck_assert_str_eq(cli_fmt_duration(b, sizeof b, 3 * 86400000LL + 4 * 3600000), "3d04h");
}
END_TEST

START_TEST(json_binary_by_size)
{
    json_t *v = json_pack("[s,o,{s:o}]", "x", sio_binary_new("abc", 3), "k", sio_binary_new("", 0));
    char *text = cli_json_text(v);
    ck_assert_str_eq(text, "[\"x\",{\"_binary\":3},{\"k\":{\"_binary\":0}}]");
    util_free(text);
    json_decref(v);
    text = cli_json_text(NULL);
    ck_assert_str_eq(text, "null");
    util_free(text);
    json_t *s = json_string("plain");
    text = cli_json_text(s);
    ck_assert_str_eq(text, "\"plain\"");
    util_free(text);
    json_decref(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("siocli");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, args_globals_anywhere);
    tcase_add_test(tc, args_double_dash_and_help);
    tcase_add_test(tc, args_errors);
    tcase_add_test(tc, args_numbers);
    tcase_add_test(tc, table_aligned);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, json_binary_by_size);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
