/* test_util_opt: option tables: precedence (flag > environment > default), repeatable options,
 * positional arguments (those starting with '-' included), "--", commands, errors, help text. */
#include "util_alloc.h"
#include "util_opt.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/** What the test table fills. */
typedef struct cfg {
    char name[32];
    int level;
    bool loud;
    char list[8][32];
    int n_list;
    char pos[8][32];
    int n_pos;
} cfg;

static int set_name(void *p, const char *v, char *err, size_t errlen)
{
    if (!*v) {
        snprintf(err, errlen, "must not be empty");
        return -1;
    }
    snprintf(((cfg *)p)->name, sizeof((cfg *)p)->name, "%s", v);
    return 0;
}

static int set_level(void *p, const char *v, char *err, size_t errlen)
{
    unsigned long long x;
    if (util_parse_uint(v, 0, 9, &x, err, errlen))
        return -1;
    ((cfg *)p)->level = (int)x;
    return 0;
}

static int set_loud(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_bool(v, &((cfg *)p)->loud, err, errlen);
}

static int set_list(void *p, const char *v, char *err, size_t errlen)
{
    cfg *c = p;
    (void)err, (void)errlen;
    if (!v)
        c->n_list = 0;
    else
        snprintf(c->list[c->n_list++], sizeof c->list[0], "%s", v);
    return 0;
}

static int add_pos(void *p, const char *v, char *err, size_t errlen)
{
    cfg *c = p;
    if (strcmp(v, "refused") == 0) {
        snprintf(err, errlen, "\"refused\" is refused");
        return -1;
    }
    snprintf(c->pos[c->n_pos++], sizeof c->pos[0], "%s", v);
    return 0;
}

static const util_option k_opts[] = {
    {"--name", "T_OPT_NAME", "NAME", "anon", "a name", set_name},
    {"--level", "T_OPT_LEVEL", "N", "3", "a level", set_level, false, "three"},
    {"--loud", NULL, NULL, "0", "a switch", set_loud},
    {"--tag", "T_OPT_TAG", "TAG", "a", "repeatable", set_list, true},
};
#define N_OPTS (sizeof k_opts / sizeof k_opts[0])

static void clear_env(void)
{
    unsetenv("T_OPT_NAME");
    unsetenv("T_OPT_LEVEL");
    unsetenv("T_OPT_TAG");
}

/* Parses the NULL-terminated argv with positional arguments min..max into *c from argv[1]. */
static int parse_pos(cfg *c, int min, int max, char **argv, int *next, char *err)
{
    memset(c, 0, sizeof *c);
    int argc = 0;
    while (argv[argc])
        argc++;
    util_opt_args p = {k_opts, N_OPTS, add_pos, min, max, "prog cmd", "ID"};
    ck_assert_int_eq(util_options_env(k_opts, N_OPTS, c, err, 256), UTIL_OPTS_OK);
    *next = 1;
    return util_options_argv(&p, c, argc, argv, next, err, 256);
}

START_TEST(precedence_flag_env_default)
{
    clear_env();
    cfg c;
    memset(&c, 0, sizeof c);
    char err[256] = "";
    char *none[] = {"prog"};
    ck_assert_int_eq(util_options_parse(k_opts, N_OPTS, &c, 1, none, err, sizeof err), 0);
    ck_assert_str_eq(c.name, "anon");
    ck_assert_int_eq(c.level, 3);
    ck_assert(!c.loud);
    ck_assert_int_eq(c.n_list, 1);

    setenv("T_OPT_NAME", "fromenv", 1);
    setenv("T_OPT_TAG", "e", 1);
    memset(&c, 0, sizeof c);
    char *flags[] = {"prog", "--level=7", "--loud", "--tag", "x", "--tag", "y"};
    ck_assert_int_eq(util_options_parse(k_opts, N_OPTS, &c, 7, flags, err, sizeof err), 0);
    ck_assert_str_eq(c.name, "fromenv"); /* the variable beats the default */
    ck_assert_int_eq(c.level, 7);        /* --flag=value */
    ck_assert(c.loud);                   /* a bare switch */
    ck_assert_int_eq(c.n_list, 2);       /* flags replace what the variable gave */
    ck_assert_str_eq(c.list[0], "x");
    ck_assert_str_eq(c.list[1], "y");

    memset(&c, 0, sizeof c);
    char *beat[] = {"prog", "--name", "fromflag", "--loud=off"};
    ck_assert_int_eq(util_options_parse(k_opts, N_OPTS, &c, 4, beat, err, sizeof err), 0);
    ck_assert_str_eq(c.name, "fromflag");
    ck_assert(!c.loud);
    ck_assert_int_eq(c.n_list, 1); /* the variable alone */
    ck_assert_str_eq(c.list[0], "e");

    setenv("T_OPT_LEVEL", "x", 1);
    ck_assert_int_eq(util_options_parse(k_opts, N_OPTS, &c, 1, none, err, sizeof err), -1);
    ck_assert_str_eq(err, "invalid T_OPT_LEVEL: expected a number, got \"x\"");
    clear_env();
}
END_TEST

/* Engine.IO sids are URL-safe base64: one in 64 starts with '-'. They are arguments, not options,
 * wherever the command takes one. */
START_TEST(positional_starting_with_dash)
{
    clear_env();
    cfg c;
    char err[256] = "";
    int next;
    char *sid[] = {"prog", "-KqK3xQ9aZ_bYcWdEfGh", NULL};
    ck_assert_int_eq(parse_pos(&c, 1, 1, sid, &next, err), UTIL_OPTS_OK);
    ck_assert_int_eq(c.n_pos, 1);
    ck_assert_str_eq(c.pos[0], "-KqK3xQ9aZ_bYcWdEfGh");
    ck_assert_int_eq(next, 2);

    char *dashes[] = {"prog", "--loud", "--Kq-3x", "--name", "-n", NULL};
    ck_assert_int_eq(parse_pos(&c, 1, 1, dashes, &next, err), UTIL_OPTS_OK);
    ck_assert(c.loud);
    ck_assert_str_eq(c.pos[0], "--Kq-3x"); /* names no option: positional */
    ck_assert_str_eq(c.name, "-n");        /* a value is the next argument, whatever it is */

    char *many[] = {"prog", "-a", "-5", "-", "--level", "2", NULL};
    ck_assert_int_eq(parse_pos(&c, 0, -1, many, &next, err), UTIL_OPTS_OK);
    ck_assert_int_eq(c.n_pos, 3);
    ck_assert_str_eq(c.pos[1], "-5");
    ck_assert_str_eq(c.pos[2], "-");
    ck_assert_int_eq(c.level, 2);

    /* No room left: an unknown option. */
    char *full[] = {"prog", "a", "-b", NULL};
    ck_assert_int_eq(parse_pos(&c, 1, 1, full, &next, err), UTIL_OPTS_ERROR);
    ck_assert_str_eq(err, "unknown option \"-b\" (see prog cmd --help)");
    char *zero[] = {"prog", "--bogus=1", NULL};
    ck_assert_int_eq(parse_pos(&c, 0, 0, zero, &next, err), UTIL_OPTS_ERROR);
    ck_assert_str_eq(err, "unknown option \"--bogus\" (see prog cmd --help)");
}
END_TEST

START_TEST(double_dash_ends_options)
{
    clear_env();
    cfg c;
    char err[256] = "";
    int next;
    char *argv[] = {"prog", "--loud", "--", "--name", "--help", "--", NULL};
    ck_assert_int_eq(parse_pos(&c, 0, -1, argv, &next, err), UTIL_OPTS_OK);
    ck_assert(c.loud);
    ck_assert_str_eq(c.name, "anon");
    ck_assert_int_eq(c.n_pos, 3);
    ck_assert_str_eq(c.pos[0], "--name");
    ck_assert_str_eq(c.pos[1], "--help");
    ck_assert_str_eq(c.pos[2], "--");
    ck_assert_int_eq(next, 6);
}
END_TEST

START_TEST(counts_and_errors)
{
    clear_env();
    cfg c;
    char err[256] = "";
    int next;
    static const struct {
        int min, max;
        char *argv[5];
        const char *err;
    } cases[] = {
        {1, 1, {"prog", NULL}, "missing argument (usage: prog cmd ID)"},
        {1, 1, {"prog", "a", "b", NULL}, "unexpected argument \"b\" (usage: prog cmd ID)"},
        {0, 1, {"prog", "--level", NULL}, "--level needs a value (N)"},
        {0, 1, {"prog", "--level", "10", NULL}, "invalid --level: 10 is out of range [0, 9]"},
        {0,
         1,
         {"prog", "--loud=maybe", NULL},
         "invalid --loud: expected true or false (1/0, yes/no, on/off): \"maybe\""},
        {0, 1, {"prog", "refused", NULL}, "\"refused\" is refused"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(
            parse_pos(&c, cases[i].min, cases[i].max, (char **)cases[i].argv, &next, err),
            UTIL_OPTS_ERROR);
        ck_assert_str_eq(err, cases[i].err);
    }
    /* Help wins over a missing argument; --version too. */
    char *help[] = {"prog", "-h", NULL};
    ck_assert_int_eq(parse_pos(&c, 1, 1, help, &next, err), UTIL_OPTS_HELP);
    char *help2[] = {"prog", "x", "--help", NULL};
    ck_assert_int_eq(parse_pos(&c, 1, 1, help2, &next, err), UTIL_OPTS_HELP);
    char *version[] = {"prog", "--version", NULL};
    ck_assert_int_eq(parse_pos(&c, 1, 1, version, &next, err), UTIL_OPTS_VERSION);

    /* Without positional arguments (a daemon): each one is an error. */
    char *stray[] = {"prog", "--loud", "stray"};
    ck_assert_int_eq(util_options_parse(k_opts, N_OPTS, &c, 3, stray, err, sizeof err), -1);
    ck_assert_str_eq(err, "unexpected argument \"stray\" (see --help)");
    char *dash[] = {"prog", "-x"};
    ck_assert_int_eq(util_options_parse(k_opts, N_OPTS, &c, 2, dash, err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown option \"-x\" (see --help)");
}
END_TEST

/* A NULL positional stops at the first argument (a command) and leaves it for a second call. */
START_TEST(stops_at_a_command)
{
    clear_env();
    cfg c;
    memset(&c, 0, sizeof c);
    char err[256] = "";
    char *argv[] = {"prog", "--name", "n", "run", "--level", "4", "-x1"};
    util_opt_args p = {.opts = k_opts, .n = N_OPTS};
    int next = 1;
    ck_assert_int_eq(util_options_argv(&p, &c, 7, argv, &next, err, sizeof err), UTIL_OPTS_OK);
    ck_assert_int_eq(next, 3);
    ck_assert_str_eq(c.name, "n");
    util_opt_args q = {k_opts, N_OPTS, add_pos, 1, 1, "prog run", "ARG"};
    next++;
    ck_assert_int_eq(util_options_argv(&q, &c, 7, argv, &next, err, sizeof err), UTIL_OPTS_OK);
    ck_assert_int_eq(c.level, 4);
    ck_assert_str_eq(c.pos[0], "-x1");
    ck_assert_int_eq(next, 7);

    char *unknown[] = {"prog", "-x", "run"};
    next = 1;
    ck_assert_int_eq(util_options_argv(&p, &c, 3, unknown, &next, err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown option \"-x\" (see --help)");
}
END_TEST

/* One line per option, its variable and its default stated once. */
START_TEST(usage_states_each_default_once)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    util_options_print(f, k_opts, N_OPTS);
    fclose(f);
    ck_assert_str_eq(text, "  --name NAME                  a name\n"
                           "                                 [env T_OPT_NAME] [default anon]\n"
                           "  --level N                    a level\n"
                           "                                 [env T_OPT_LEVEL] [default three]\n"
                           "  --loud                       a switch\n"
                           "                                 [default off]\n"
                           "  --tag TAG...                 repeatable\n"
                           "                                 [env T_OPT_TAG] [default a]\n");
    free(text);
}
END_TEST

static Suite *opt_suite(void)
{
    Suite *s = suite_create("util_opt");
    TCase *tc = tcase_create("opt");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, precedence_flag_env_default);
    tcase_add_test(tc, positional_starting_with_dash);
    tcase_add_test(tc, double_dash_ends_options);
    tcase_add_test(tc, counts_and_errors);
    tcase_add_test(tc, stops_at_a_command);
    tcase_add_test(tc, usage_states_each_default_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(opt_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
