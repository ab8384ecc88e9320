/* test_siocli: the pure pieces of siocli: its command line (global options anywhere, values,
 * lists, switches, positional counts, arguments starting with '-' such as Engine.IO sids, "--",
 * one-line errors) and its output (aligned tables, durations, binary shown by size). */
#include "cli_args.h"
#include "cli_out.h"
#include "util_alloc.h"
#include "sio_binary.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static int run_none(cli_ctx *ctx, const cli_args *a)
{
    (void)ctx, (void)a;
    return 0;
}

/* The commands as siocli declares them (main.c), with the real option tables. */
static const cli_cmd k_cmds[] = {
    {"nodes", "", "nodes", NULL, NULL, 0, 0, 0, run_none},
    {"session", "SID", "one session", NULL, NULL, 0, 1, 1, run_none},
    {"room", "NAME", "one room", NULL, NULL, 0, 1, 1, run_none},
    {"sockets", "", "sockets", NULL, CLI_OPTS(cli_opts_sockets), 0, 0, run_none},
    {"emit", "EVENT [JSON_ARG...]", "emit", NULL, CLI_OPTS(cli_opts_emit), 1, -1, run_none},
    {"join", "ROOM", "join", NULL, CLI_OPTS(cli_opts_select), 1, 1, run_none},
    {"disconnect", "", "disconnect", NULL, CLI_OPTS(cli_opts_disconnect), 0, 0, run_none},
    {"monitor", "", "monitor", NULL, CLI_OPTS(cli_opts_monitor), 0, 0, run_none},
};

/* Parses the NULL-terminated argv. */
static int parse(cli_args *a, char *err, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    return cli_args_parse(a, k_cmds, sizeof k_cmds / sizeof k_cmds[0], argc, argv, err, 256);
}

START_TEST(args_globals_anywhere)
{
    unsetenv("SIO_REDIS_URL");
    cli_args a;
    char err[256];
    char *argv[] = {"siocli",    "--redis",     "redis://h:1", "--json",     "emit",
                    "ev",        "--nsp=/chat", "-5",          "--to",       "r1",
                    "--key",     "k",           "--to=r2",     "--ack",      "300",
                    "--timeout", "100",         "{\"a\":1}",   "--volatile", NULL};
    ck_assert_int_eq(parse(&a, err, argv), 0);
    ck_assert_str_eq(a.cmd->name, "emit");
    ck_assert_str_eq(a.redis_url, "redis://h:1");
    ck_assert_str_eq(a.nsp, "/chat");
    ck_assert_str_eq(a.key, "k");
    ck_assert_int_eq(a.timeout_ms, 100);
    ck_assert(a.json);
    ck_assert_uint_eq(a.pos.n, 3);
    ck_assert_str_eq(a.pos.v[0], "ev");
    ck_assert_str_eq(a.pos.v[1], "-5"); /* a negative number is an argument */
    ck_assert_str_eq(a.pos.v[2], "{\"a\":1}");
    ck_assert_uint_eq(a.to.n, 2);
    ck_assert_str_eq(a.to.v[0], "r1");
    ck_assert_str_eq(a.to.v[1], "r2");
    ck_assert_int_eq(a.ack_ms, 300);
    ck_assert(a.volatile_);
    ck_assert_uint_eq(a.except.n, 0);
    cli_args_free(&a);
    cli_args_free(&a); /* idempotent */

    char *defaults[] = {"siocli", "nodes", NULL};
    ck_assert_int_eq(parse(&a, err, defaults), 0);
    ck_assert_str_eq(a.redis_url, "redis://127.0.0.1:6379");
    ck_assert_str_eq(a.key, "socket.io");
    ck_assert_str_eq(a.nsp, "/");
    ck_assert_int_eq(a.timeout_ms, 5000);
    ck_assert(!a.json);
    cli_args_free(&a);
    setenv("SIO_REDIS_URL", "redis://env:2", 1);
    ck_assert_int_eq(parse(&a, err, defaults), 0);
    ck_assert_str_eq(a.redis_url, "redis://env:2");
    cli_args_free(&a);
    unsetenv("SIO_REDIS_URL");
}
END_TEST

/* Engine.IO sids are URL-safe base64: about one in 64 starts with '-'. Sids, rooms, events and
 * socket ids that do are arguments wherever the command takes one. */
START_TEST(args_starting_with_dash)
{
    cli_args a;
    char err[256];
    char *sid[] = {"siocli", "--json", "session", "-KqK3xQ9aZ_bYcWdEfGh", NULL};
    ck_assert_int_eq(parse(&a, err, sid), 0);
    ck_assert_str_eq(a.cmd->name, "session");
    ck_assert_str_eq(a.pos.v[0], "-KqK3xQ9aZ_bYcWdEfGh");
    cli_args_free(&a);

    char *sid2[] = {"siocli", "session", "--Kq_3xQ9aZ_bYcWdEfG", "--timeout", "9", NULL};
    ck_assert_int_eq(parse(&a, err, sid2), 0);
    ck_assert_str_eq(a.pos.v[0], "--Kq_3xQ9aZ_bYcWdEfG");
    ck_assert_int_eq(a.timeout_ms, 9);
    cli_args_free(&a);

    char *room[] = {"siocli", "room", "-", NULL};
    ck_assert_int_eq(parse(&a, err, room), 0);
    ck_assert_str_eq(a.pos.v[0], "-");
    cli_args_free(&a);

    /* An event, a JSON argument and a room value (--to takes the next word, whatever it is). */
    char *emit[] = {"siocli", "emit", "-ev", "-1", "--to", "-r", "--except", "--x", NULL};
    ck_assert_int_eq(parse(&a, err, emit), 0);
    ck_assert_uint_eq(a.pos.n, 2);
    ck_assert_str_eq(a.pos.v[0], "-ev");
    ck_assert_str_eq(a.pos.v[1], "-1");
    ck_assert_str_eq(a.to.v[0], "-r");
    ck_assert_str_eq(a.except.v[0], "--x");
    cli_args_free(&a);

    char *join[] = {"siocli", "join", "--to", "lobby", "-room", NULL};
    ck_assert_int_eq(parse(&a, err, join), 0);
    ck_assert_str_eq(a.pos.v[0], "-room");
    ck_assert_str_eq(a.to.v[0], "lobby");
    cli_args_free(&a);

    /* A socket id as a --room value: a room of the sockets command. */
    char *sockets[] = {"siocli", "sockets", "--room", "-Ab3", NULL};
    ck_assert_int_eq(parse(&a, err, sockets), 0);
    ck_assert_str_eq(a.rooms.v[0], "-Ab3");
    cli_args_free(&a);
}
END_TEST

START_TEST(args_double_dash_and_help)
{
    cli_args a;
    char err[256];
    char *argv[] = {"siocli", "emit", "--volatile", "--", "ev", "--to", "--help", NULL};
    ck_assert_int_eq(parse(&a, err, argv), 0);
    ck_assert(a.volatile_);
    ck_assert_uint_eq(a.pos.n, 3);
    ck_assert_str_eq(a.pos.v[1], "--to");
    ck_assert_str_eq(a.pos.v[2], "--help");
    ck_assert(!a.help);
    cli_args_free(&a);

    char *room[] = {"siocli", "room", "--", "--to", NULL}; /* a room spelled like an option */
    ck_assert_int_eq(parse(&a, err, room), 0);
    ck_assert_str_eq(a.pos.v[0], "--to");
    cli_args_free(&a);

    char *help[] = {"siocli", "room", "-h", NULL}; /* help wins over the missing NAME */
    ck_assert_int_eq(parse(&a, err, help), 0);
    ck_assert(a.help);
    ck_assert_str_eq(a.cmd->name, "room");
    cli_args_free(&a);

    char *bare[] = {"siocli", "--json", NULL};
    ck_assert_int_eq(parse(&a, err, bare), 0);
    ck_assert_ptr_null(a.cmd);
    cli_args_free(&a);

    char *version[] = {"siocli", "--version", NULL};
    ck_assert_int_eq(parse(&a, err, version), 0);
    ck_assert(a.version);
    cli_args_free(&a);
}
END_TEST

START_TEST(args_errors)
{
    static const struct {
        char *argv[6];
        const char *err;
    } cases[] = {
        {{"siocli", "bogus", NULL}, "unknown command \"bogus\" (see siocli --help)"},
        {{"siocli", "nodes", "--to", NULL}, "unknown option \"--to\" (see siocli nodes --help)"},
        {{"siocli", "--to", NULL}, "unknown option \"--to\" (see siocli --help)"},
        {{"siocli", "-x", "nodes", NULL}, "unknown option \"-x\" (see siocli --help)"},
        {{"siocli", "room", NULL}, "missing argument (usage: siocli room NAME)"},
        {{"siocli", "room", "a", "b", NULL}, "unexpected argument \"b\" (usage: siocli room NAME)"},
        {{"siocli", "room", "a", "-b", NULL}, "unknown option \"-b\" (see siocli room --help)"},
        {{"siocli", "emit", "e", "--ack", NULL}, "--ack needs a value (MS)"},
        {{"siocli", "emit", "e", "--ack", "-5", NULL},
         "invalid --ack: expected milliseconds from 1 to 86400000, got \"-5\""},
        {{"siocli", "emit", "e", "--volatile=maybe", NULL},
         "invalid --volatile: expected true or false (1/0, yes/no, on/off): \"maybe\""},
        {{"siocli", "--timeout", "0", "nodes", NULL},
         "invalid --timeout: expected milliseconds from 1 to 86400000, got \"0\""},
        {{"siocli", "nodes", "--nsp", "chat", NULL},
         "invalid --nsp: must start with '/' (e.g. /chat), not \"chat\""},
        {{"siocli", "--key=", "nodes", NULL}, "invalid --key: must not be empty"},
        {{"siocli", "monitor", "--count", "x", NULL},
         "invalid --count: expected a number from 1 to 1000000000, got \"x\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_args a;
        char err[256] = "";
        ck_assert_int_eq(parse(&a, err, (char **)cases[i].argv), -1);
        ck_assert_str_eq(err, cases[i].err);
        ck_assert_ptr_null(a.pos.v); /* nothing left to free */
        ck_assert_ptr_null(a.to.v);
    }
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
    tcase_add_test(tc, args_starting_with_dash);
    tcase_add_test(tc, args_double_dash_and_help);
    tcase_add_test(tc, args_errors);
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
