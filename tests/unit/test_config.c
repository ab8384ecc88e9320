/* test_config: the daemon's settings (flag > environment > default, repeatable options, one-line
 * errors) and the Redis URL parser. */
#include "daemon_config.h"
#include "rd_link.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static int parse(daemon_config *c, int argc, char **argv, char *err, size_t errlen)
{
    daemon_config_init(c);
    size_t n;
    const util_option *opts = daemon_config_options(&n);
    return util_options_parse(opts, n, c, argc, argv, err, errlen);
}

static void clear_env(void)
{
    unsetenv("SIO_LISTEN");
    unsetenv("SIO_ENGINEIO_PING_INTERVAL_MS");
    unsetenv("SIO_NAMESPACES");
    unsetenv("SIO_REDIS_URL");
}

START_TEST(defaults)
{
    clear_env();
    daemon_config c;
    char err[256];
    char *argv[] = {"siobroker"};
    ck_assert_int_eq(parse(&c, 1, argv, err, sizeof err), UTIL_OPTS_OK);
    ck_assert_str_eq(c.listen_host, "127.0.0.1");
    ck_assert_int_eq(c.node.port, 8080);
    ck_assert_str_eq(c.path, "/socket.io/");
    ck_assert_uint_eq(c.node.eio.ping_interval_ms, 25000);
    ck_assert_uint_eq(c.node.eio.ping_timeout_ms, 20000);
    ck_assert_uint_eq(c.node.eio.max_payload, 1000000);
    ck_assert_uint_eq(c.node.max_connections, 0);
    ck_assert_uint_eq(c.node.max_header_bytes, 16384);
    ck_assert_uint_eq(c.sio.connect_timeout_ms, 45000);
    ck_assert_uint_eq(c.n_ns, 1);
    ck_assert_str_eq(c.ns_names[0], "/");
    ck_assert_str_eq(c.ns_policies[0], "rooms");
    ck_assert_ptr_null(c.redis_url);
    ck_assert_str_eq(c.redis_key, "socket.io");
    ck_assert_uint_eq(c.node.eio.max_queue_bytes, 16u * 1024 * 1024);
    ck_assert(c.max_memory_auto);
    ck_assert_uint_eq(c.sio.limits.max_attachment_bytes, 1000000);
    ck_assert_uint_eq(c.sio.attachment_timeout_ms, 30000);
    ck_assert_uint_eq(c.sio.max_ignored_packets, 100);
    ck_assert_uint_eq(c.redis_health_ms, 1000);
    ck_assert_uint_eq(c.redis_stall_ms, 3000);
    ck_assert_uint_eq(c.redis_max_output, 16u * 1024 * 1024);
    daemon_config_free(&c);
}
END_TEST

START_TEST(memory_bounds)
{
    clear_env();
    daemon_config c;
    char err[256];
    char *argv[] = {"siobroker", "--max-session-queue",    "2MiB", "--max-memory",
                    "1G",        "--max-attachment-bytes", "64k",  "--redis-max-output",
                    "1048576",   "--max-ignored-packets",  "0"};
    ck_assert_int_eq(parse(&c, 11, argv, err, sizeof err), UTIL_OPTS_OK);
    ck_assert_uint_eq(c.node.eio.max_queue_bytes, 2u * 1024 * 1024);
    ck_assert(!c.max_memory_auto);
    ck_assert_uint_eq(c.max_memory, 1u << 30);
    ck_assert_uint_eq(c.sio.limits.max_attachment_bytes, 64 * 1024);
    ck_assert_uint_eq(c.redis_max_output, 1048576);
    ck_assert_uint_eq(c.sio.max_ignored_packets, 0);
    daemon_config_free(&c);
    char *none[] = {"siobroker", "--max-memory", "0"};
    ck_assert_int_eq(parse(&c, 3, none, err, sizeof err), UTIL_OPTS_OK);
    ck_assert(!c.max_memory_auto);
    ck_assert_uint_eq(c.max_memory, 0);
    daemon_config_free(&c);
    setenv("SIO_MAX_MEMORY", "auto", 1);
    char *plain[] = {"siobroker"};
    ck_assert_int_eq(parse(&c, 1, plain, err, sizeof err), UTIL_OPTS_OK);
    ck_assert(c.max_memory_auto);
    daemon_config_free(&c);
    unsetenv("SIO_MAX_MEMORY");
    /* auto: half of what the process may use, never nothing. */
    char why[128];
    size_t a = daemon_memory_auto(why, sizeof why);
    ck_assert_uint_ge(a, 16u * 1024 * 1024);
    ck_assert_ptr_nonnull(strstr(why, "half of the") ? why : (strstr(why, "unknown") ? why : NULL));
}
END_TEST

START_TEST(flag_beats_env_beats_default)
{
    clear_env();
    setenv("SIO_ENGINEIO_PING_INTERVAL_MS", "1234", 1);
    setenv("SIO_LISTEN", "127.0.0.1:9001", 1);
    daemon_config c;
    char err[256];
    char *argv[] = {"siobroker", "--listen", "127.0.0.1:9002"};
    ck_assert_int_eq(parse(&c, 3, argv, err, sizeof err), UTIL_OPTS_OK);
    ck_assert_uint_eq(c.node.eio.ping_interval_ms, 1234); /* env over default */
    ck_assert_int_eq(c.node.port, 9002);                  /* flag over env */
    daemon_config_free(&c);
    char *argv2[] = {"siobroker", "--ping-interval=77"};
    ck_assert_int_eq(parse(&c, 2, argv2, err, sizeof err), UTIL_OPTS_OK);
    ck_assert_uint_eq(c.node.eio.ping_interval_ms, 77);
    daemon_config_free(&c);
    char *argv3[] = {"siobroker", "--max-connections", "4096"};
    ck_assert_int_eq(parse(&c, 3, argv3, err, sizeof err), UTIL_OPTS_OK);
    ck_assert_uint_eq(c.node.max_connections, 4096);
    daemon_config_free(&c);
    clear_env();
}
END_TEST

START_TEST(namespaces_repeat_and_replace)
{
    clear_env();
    daemon_config c;
    char err[256];
    /* Flags replace the default list; each adds one. */
    char *argv[] = {"siobroker", "--namespace", "/chat", "--namespace", "/news:rooms"};
    ck_assert_int_eq(parse(&c, 5, argv, err, sizeof err), UTIL_OPTS_OK);
    ck_assert_uint_eq(c.n_ns, 2);
    ck_assert_str_eq(c.ns_names[0], "/chat");
    ck_assert_str_eq(c.ns_policies[0], "rooms");
    ck_assert_str_eq(c.ns_names[1], "/news");
    daemon_config_free(&c);
    /* The variable takes a list and replaces the default; flags replace the variable. */
    setenv("SIO_NAMESPACES", "/a:rooms,/b", 1);
    char *argv2[] = {"siobroker"};
    ck_assert_int_eq(parse(&c, 1, argv2, err, sizeof err), UTIL_OPTS_OK);
    ck_assert_uint_eq(c.n_ns, 2);
    ck_assert_str_eq(c.ns_names[1], "/b");
    daemon_config_free(&c);
    char *argv3[] = {"siobroker", "--namespace", "/c"};
    ck_assert_int_eq(parse(&c, 3, argv3, err, sizeof err), UTIL_OPTS_OK);
    ck_assert_uint_eq(c.n_ns, 1);
    ck_assert_str_eq(c.ns_names[0], "/c");
    daemon_config_free(&c);
    clear_env();
}
END_TEST

/* Every bad value is an error naming the flag or variable (never a silent default). */
START_TEST(invalid_values)
{
    clear_env();
    static const char *const bad[][2] = {
        {"--ping-interval", "abc"},
        {"--ping-interval", "-5"},
        {"--ping-interval", "0"},
        {"--listen", "8080"},
        {"--listen", "h:99999"},
        {"--max-payload", "1x"},
        {"--namespace", "chat"},
        {"--namespace", "/a:nope"},
        {"--cors-origin", "foo"},
        {"--log-level", "verbose"},
        {"--log-format", "xml"},
        {"--redis", "http://x"},
        {"--redis", "redis://:1/x"},
        {"--redis-key", "a#b"},
        {"--node-id", "a b"},
        {"--advertise", "10.0.0.1:0"},
        {"--static", "/nonexistent-dir"},
        {"--path", "no-slash"},
        {"--max-attachments", "100000"},
        {"--max-header-size", "100"},
        {"--max-connections", "-1"},
        {"--max-session-queue", "100"},
        {"--max-session-queue", "16Q"},
        {"--max-session-queue", "M"},
        {"--max-memory", "1000"},
        {"--max-memory", "lots"},
        {"--max-memory", "99999999999T"},
        {"--max-attachment-bytes", "12"},
        {"--attachment-timeout", "0"},
        {"--max-ignored-packets", "-1"},
        {"--redis-stall-timeout", "x"},
        {"--redis-max-output", "1k"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        daemon_config c;
        char err[256] = "";
        char *argv[] = {"siobroker", (char *)bad[i][0], (char *)bad[i][1]};
        ck_assert_msg(parse(&c, 3, argv, err, sizeof err) == UTIL_OPTS_ERROR, "%s %s accepted",
                      bad[i][0], bad[i][1]);
        ck_assert_msg(strstr(err, bad[i][0]) != NULL, "error \"%s\" does not name %s", err,
                      bad[i][0]);
        ck_assert_ptr_null(strchr(err, '\n'));
        daemon_config_free(&c);
    }
    daemon_config c;
    char err[256];
    char *unknown[] = {"siobroker", "--bogus"};
    ck_assert_int_eq(parse(&c, 2, unknown, err, sizeof err), UTIL_OPTS_ERROR);
    daemon_config_free(&c);
    char *missing[] = {"siobroker", "--listen"};
    ck_assert_int_eq(parse(&c, 2, missing, err, sizeof err), UTIL_OPTS_ERROR);
    daemon_config_free(&c);
    setenv("SIO_ENGINEIO_PING_INTERVAL_MS", "soon", 1);
    char *none[] = {"siobroker"};
    ck_assert_int_eq(parse(&c, 1, none, err, sizeof err), UTIL_OPTS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "SIO_ENGINEIO_PING_INTERVAL_MS"));
    daemon_config_free(&c);
    clear_env();
    char *help[] = {"siobroker", "--help"};
    ck_assert_int_eq(parse(&c, 2, help, err, sizeof err), UTIL_OPTS_HELP);
    daemon_config_free(&c);
}
END_TEST

START_TEST(redis_urls)
{
    rd_link_config lc;
    char buf[256], err[256];
    ck_assert_int_eq(
        rd_link_parse_url("redis://127.0.0.1:6390", &lc, buf, sizeof buf, err, sizeof err), 0);
    ck_assert_str_eq(lc.host, "127.0.0.1");
    ck_assert_int_eq(lc.port, 6390);
    ck_assert_ptr_null(lc.password);
    ck_assert_int_eq(lc.db, 0);
    ck_assert_int_eq(
        rd_link_parse_url("redis://:s3cret@redis:6379/2", &lc, buf, sizeof buf, err, sizeof err),
        0);
    ck_assert_str_eq(lc.host, "redis");
    ck_assert_str_eq(lc.password, "s3cret");
    ck_assert_int_eq(lc.db, 2);
    ck_assert_int_eq(rd_link_parse_url("redis://user:pw@h", &lc, buf, sizeof buf, err, sizeof err),
                     0);
    ck_assert_str_eq(lc.password, "pw");
    ck_assert_int_eq(lc.port, 6379);
    static const char *const bad[] = {"http://h:1",  "redis://",     "redis://h:0",
                                      "redis://h:x", "redis://h:1/", "redis://h:1/-1",
                                      "redis://:pw@"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(rd_link_parse_url(bad[i], &lc, buf, sizeof buf, err, sizeof err) == -1,
                      "%s accepted", bad[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, flag_beats_env_beats_default);
    tcase_add_test(tc, namespaces_repeat_and_replace);
    tcase_add_test(tc, invalid_values);
    tcase_add_test(tc, redis_urls);
    tcase_add_test(tc, memory_bounds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
