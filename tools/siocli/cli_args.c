/* cli_args: siocli's option tables, the parsing of its command line and its help texts. */
#include "cli_args.h"

#include "util_alloc.h"

#include <string.h>

#define REDIS_DEFAULT "redis://127.0.0.1:6379"

static int parse_long(const char *v, long max, const char *what, long *out, char *err,
                      size_t errlen)
{
    unsigned long long x;
    if (util_parse_uint(v, 1, (unsigned long long)max, &x, err, errlen)) {
        snprintf(err, errlen, "expected %s from 1 to %ld, got \"%s\"", what, max, v);
        return -1;
    }
    *out = (long)x;
    return 0;
}

/* Appends v to the list l, or empties it when v is NULL (util_opt's "forget"). */
static int add_str(cli_strs *l, const char *v)
{
    if (!v) {
        util_free(l->v);
        l->v = NULL;
        l->n = 0;
        return 0;
    }
    l->v = util_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = v;
    return 0;
}

/* Each setter takes the cli_args being filled and a value borrowed from argv (or a table). */
static int set_redis(void *p, const char *v, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    ((cli_args *)p)->redis_url = *v ? v : REDIS_DEFAULT; /* SIO_REDIS_URL="" is the default */
    return 0;
}

static int set_key(void *p, const char *v, char *err, size_t errlen)
{
    if (!*v) {
        snprintf(err, errlen, "must not be empty");
        return -1;
    }
    ((cli_args *)p)->key = v;
    return 0;
}

static int set_nsp(void *p, const char *v, char *err, size_t errlen)
{
    if (v[0] != '/') {
        snprintf(err, errlen, "must start with '/' (e.g. /chat), not \"%s\"", v);
        return -1;
    }
    ((cli_args *)p)->nsp = v;
    return 0;
}

static int set_timeout(void *p, const char *v, char *err, size_t errlen)
{
    return parse_long(v, 86400000L, "milliseconds", &((cli_args *)p)->timeout_ms, err, errlen);
}

static int set_json(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_bool(v, &((cli_args *)p)->json, err, errlen);
}

static int set_to(void *p, const char *v, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return add_str(&((cli_args *)p)->to, v);
}

static int set_except(void *p, const char *v, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return add_str(&((cli_args *)p)->except, v);
}

static int set_rooms(void *p, const char *v, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return add_str(&((cli_args *)p)->rooms, v);
}

static int set_files(void *p, const char *v, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return add_str(&((cli_args *)p)->files, v);
}

static int set_node(void *p, const char *v, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    ((cli_args *)p)->node = v;
    return 0;
}

static int set_room(void *p, const char *v, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    ((cli_args *)p)->room = v;
    return 0;
}

static int set_ack(void *p, const char *v, char *err, size_t errlen)
{
    return parse_long(v, 86400000L, "milliseconds", &((cli_args *)p)->ack_ms, err, errlen);
}

static int set_count(void *p, const char *v, char *err, size_t errlen)
{
    return parse_long(v, 1000000000L, "a number", &((cli_args *)p)->count, err, errlen);
}

static int set_all(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_bool(v, &((cli_args *)p)->all, err, errlen);
}

static int set_volatile(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_bool(v, &((cli_args *)p)->volatile_, err, errlen);
}

static int set_close(void *p, const char *v, char *err, size_t errlen)
{
    return util_parse_bool(v, &((cli_args *)p)->close, err, errlen);
}

/** The options every command takes, before or after it. */
static const util_option k_global[] = {
    {"--redis", "SIO_REDIS_URL", "URL", REDIS_DEFAULT,
     "Redis of the cluster, redis://[:password@]HOST:PORT[/DB]", set_redis},
    {"--key", NULL, "PREFIX", "socket.io", "channel and key prefix of the cluster", set_key},
    {"--nsp", NULL, "NSP", "/", "namespace", set_nsp},
    {"--timeout", NULL, "MS", "5000", "how long to wait for Redis and for the servers' answers",
     set_timeout},
    {"--json", NULL, NULL, NULL, "one JSON document on stdout instead of a table", set_json},
};
#define N_GLOBAL (sizeof k_global / sizeof k_global[0])

#define OPT_TO                                                                                     \
    {                                                                                              \
        "--to", NULL, "ROOM", NULL, "only the sockets in this room (any of them)", set_to, true    \
    }
#define OPT_EXCEPT                                                                                 \
    {                                                                                              \
        "--except", NULL, "ROOM", NULL, "leave out the sockets in this room", set_except, true     \
    }

const util_option cli_opts_sessions[1] = {
    {"--node", NULL, "ID", NULL, "only the sessions of this node", set_node},
};
const util_option cli_opts_rooms[1] = {
    {"--all", NULL, NULL, NULL, "also list each socket's own id room", set_all},
};
const util_option cli_opts_sockets[2] = {
    {"--room", NULL, "ROOM", NULL, "only sockets in this room (any of them)", set_rooms, true},
    OPT_EXCEPT,
};
const util_option cli_opts_emit[5] = {
    OPT_TO,
    OPT_EXCEPT,
    {"--volatile", NULL, NULL, NULL, "may be dropped for clients that are not ready", set_volatile},
    {"--binary-file", NULL, "PATH", NULL, "append the file's bytes as a binary argument", set_files,
     true},
    {"--ack", NULL, "MS", NULL, "ask every client for an ack and wait up to MS for them", set_ack},
};
const util_option cli_opts_select[2] = {OPT_TO, OPT_EXCEPT};
const util_option cli_opts_disconnect[3] = {
    OPT_TO,
    OPT_EXCEPT,
    {"--close", NULL, NULL, NULL, "also close each client's whole connection", set_close},
};
const util_option cli_opts_monitor[2] = {
    {"--room", NULL, "ROOM", NULL, "only broadcasts that target this room", set_room},
    {"--count", NULL, "N", NULL, "stop after N broadcasts", set_count},
};

static int add_pos(void *p, const char *v, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return add_str(&((cli_args *)p)->pos, v);
}

static const cli_cmd *find_cmd(const cli_cmd *cmds, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

int cli_args_parse(cli_args *a, const cli_cmd *cmds, size_t n_cmds, int argc, char **argv,
                   char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    /* The global options up to the command name, then the command's and the global ones. */
    util_opt_args before = {.opts = k_global, .n = N_GLOBAL, .prog = "siocli"};
    int next = 1;
    int rc = util_options_env(k_global, N_GLOBAL, a, err, errlen);
    if (rc == UTIL_OPTS_OK)
        rc = util_options_argv(&before, a, argc, argv, &next, err, errlen);
    if (rc == UTIL_OPTS_OK && next < argc) {
        a->cmd = find_cmd(cmds, n_cmds, argv[next]);
        if (!a->cmd) {
            snprintf(err, errlen, "unknown command \"%s\" (see siocli --help)", argv[next]);
            goto fail;
        }
        const cli_cmd *c = a->cmd;
        size_t n = N_GLOBAL + c->n_opts;
        util_option *all = util_malloc(n * sizeof *all);
        if (c->n_opts)
            memcpy(all, c->opts, c->n_opts * sizeof *all);
        memcpy(all + c->n_opts, k_global, sizeof k_global);
        char prog[64];
        snprintf(prog, sizeof prog, "siocli %s", c->name);
        util_opt_args after = {all, n, add_pos, c->min_pos, c->max_pos, prog, c->args};
        rc = util_options_env(c->opts, c->n_opts, a, err, errlen);
        next++;
        if (rc == UTIL_OPTS_OK)
            rc = util_options_argv(&after, a, argc, argv, &next, err, errlen);
        util_free(all);
    }
    if (rc == UTIL_OPTS_ERROR)
        goto fail;
    a->help = rc == UTIL_OPTS_HELP;
    a->version = rc == UTIL_OPTS_VERSION;
    return 0;
fail:
    cli_args_free(a);
    return -1;
}

void cli_args_free(cli_args *a)
{
    if (!a)
        return;
    cli_strs *lists[] = {&a->to, &a->except, &a->rooms, &a->files, &a->pos};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        add_str(lists[i], NULL);
    memset(a, 0, sizeof *a);
}

void cli_usage(FILE *f, const cli_cmd *cmds, size_t n_cmds)
{
    fprintf(f, "usage: siocli [OPTIONS] COMMAND [ARGS...]\n\n"
               "Inspects and drives a siobroker / socket.io cluster through its Redis alone.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < n_cmds; i++)
        fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "\nOptions (every command, before or after it; flag > environment > default):\n");
    util_options_print(f, k_global, N_GLOBAL);
    fprintf(f, "  %-28s %s\n  %-28s %s\n", "--help, -h", "this help", "--version",
            "print the version");
    fprintf(f,
            "\nAn argument may start with '-' (an Engine.IO sid does one time in 64); after `--`\n"
            "every word is an argument, even one spelled like an option (`siocli room -- --to`).\n"
            "\nExit status: 0 success, 1 nothing matched or a timeout, 2 usage error or Redis\n"
            "unreachable. `siocli COMMAND --help` describes a command; `man siocli` has more.\n");
}

void cli_usage_cmd(FILE *f, const cli_cmd *cmd)
{
    fprintf(f, "usage: siocli %s%s%s [OPTIONS]\n\n%s\n", cmd->name, cmd->args[0] ? " " : "",
            cmd->args, cmd->summary);
    if (cmd->details)
        fprintf(f, "\n%s\n", cmd->details);
    if (cmd->n_opts) {
        fprintf(f, "\nOptions:\n");
        util_options_print(f, cmd->opts, cmd->n_opts);
    }
    fprintf(f, "\nGlobal options:\n");
    util_options_print(f, k_global, N_GLOBAL);
    if (cmd->max_pos != 0)
        fprintf(f, "\nAn argument may start with '-'; after `--` every word is an argument.\n");
}
