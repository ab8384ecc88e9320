/* cli_args: parsing of siocli's command line and its help texts. */
#include "cli_args.h"

#include "util_alloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/** The options every command takes. */
static const cli_opt k_global[] = {
    {"--redis", CLI_OPT_VALUE, "URL",
     "Redis of the cluster, redis://[:password@]HOST:PORT[/DB] (env SIO_REDIS_URL; default "
     "redis://127.0.0.1:6379)"},
    {"--key", CLI_OPT_VALUE, "PREFIX", "channel and key prefix of the cluster (default socket.io)"},
    {"--nsp", CLI_OPT_VALUE, "NSP", "namespace (default /)"},
    {"--timeout", CLI_OPT_VALUE, "MS",
     "how long to wait for Redis and for the servers' answers (default 5000)"},
    {"--json", CLI_OPT_FLAG, NULL, "one JSON document on stdout instead of a table"},
    {"--help", CLI_OPT_FLAG, NULL, "this help (also -h)"},
    {NULL, 0, NULL, NULL},
};

static size_t opt_count(const cli_opt *opts)
{
    size_t n = 0;
    while (opts && opts[n].name)
        n++;
    return n;
}

/* A positional argument, not an option: does not start with '-', is "-" alone, or is a negative
 * number. */
static bool is_positional(const char *s)
{
    return s[0] != '-' || s[1] == '\0' || isdigit((unsigned char)s[1]) || s[1] == '.';
}

/* Splits "--name=value" into its name length and value; value NULL when there is no '='. */
static size_t split_opt(const char *s, const char **value)
{
    const char *eq = strchr(s, '=');
    *value = eq ? eq + 1 : NULL;
    return eq ? (size_t)(eq - s) : strlen(s);
}

static const cli_opt *find_opt(const cli_opt *opts, const char *s, size_t len, size_t *index)
{
    for (size_t i = 0; opts && opts[i].name; i++) {
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, s, len) == 0) {
            *index = i;
            return &opts[i];
        }
    }
    return NULL;
}

static void set_global(cli_args *a, size_t index, const char *value)
{
    switch (index) {
    case 0: a->redis_url = value; break;
    case 1: a->key = value; break;
    case 2: a->nsp = value; break;
    case 3: a->timeout = value; break;
    case 4: a->json = true; break;
    default: a->help = true; break;
    }
}

static void add_value(cli_args *a, size_t index, const char *value)
{
    size_t n = a->count[index]++;
    a->values[index] = util_realloc(a->values[index], (n + 1) * sizeof *a->values[index]);
    a->values[index][n] = value;
}

static const cli_cmd *find_cmd(const cli_cmd *cmds, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

/* One option at argv[*i] (moves *i past its value). Returns 0, or -1 with err set. */
static int parse_option(cli_args *a, int argc, char **argv, int *i, char *err, size_t errlen)
{
    const char *arg = argv[*i];
    const char *where = a->cmd ? a->cmd->name : NULL;
    if (strcmp(arg, "-h") == 0) {
        a->help = true;
        return 0;
    }
    if (!a->cmd && strcmp(arg, "--version") == 0) {
        a->version = true;
        return 0;
    }
    const char *value;
    size_t len = split_opt(arg, &value);
    size_t index;
    bool global = true;
    const cli_opt *o = find_opt(k_global, arg, len, &index);
    if (!o && a->cmd) {
        o = find_opt(a->cmd->opts, arg, len, &index);
        global = false;
    }
    if (!o) {
        snprintf(err, errlen, "%s%sunknown option %.*s (see siocli %s%s--help)", where ? where : "",
                 where ? ": " : "", (int)len, arg, where ? where : "", where ? " " : "");
        return -1;
    }
    if (o->kind == CLI_OPT_FLAG) {
        if (value) {
            snprintf(err, errlen, "%s takes no value", o->name);
            return -1;
        }
        if (global)
            set_global(a, index, NULL);
        else if (a->count[index]++ > 0) {
            snprintf(err, errlen, "%s given twice", o->name);
            return -1;
        }
        return 0;
    }
    if (!value) {
        if (*i + 1 >= argc) {
            snprintf(err, errlen, "%s needs a value (%s)", o->name, o->metavar);
            return -1;
        }
        value = argv[++*i];
    }
    if (global)
        set_global(a, index, value);
    else
        add_value(a, index, value);
    return 0;
}

int cli_args_parse(cli_args *a, const cli_cmd *cmds, size_t n_cmds, int argc, char **argv,
                   char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!options_done && !is_positional(arg)) {
            if (parse_option(a, argc, argv, &i, err, errlen) != 0)
                goto fail;
            continue;
        }
        if (!a->cmd) {
            a->cmd = find_cmd(cmds, n_cmds, arg);
            if (!a->cmd) {
                snprintf(err, errlen, "unknown command \"%s\" (see siocli --help)", arg);
                goto fail;
            }
            if (opt_count(a->cmd->opts) > CLI_MAX_OPTS) {
                snprintf(err, errlen, "%s: too many options declared", arg);
                goto fail;
            }
            continue;
        }
        a->pos = util_realloc(a->pos, (a->n_pos + 1) * sizeof *a->pos);
        a->pos[a->n_pos++] = arg;
    }
    if (a->cmd && !a->help) {
        const cli_cmd *c = a->cmd;
        if ((int)a->n_pos < c->min_pos) {
            snprintf(err, errlen, "%s: missing argument (usage: siocli %s %s)", c->name, c->name,
                     c->args);
            goto fail;
        }
        if (c->max_pos >= 0 && (int)a->n_pos > c->max_pos) {
            snprintf(err, errlen, "%s: unexpected argument \"%s\" (usage: siocli %s %s)", c->name,
                     a->pos[c->max_pos], c->name, c->args);
            goto fail;
        }
    }
    return 0;
fail:
    cli_args_free(a);
    return -1;
}

void cli_args_free(cli_args *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < CLI_MAX_OPTS; i++)
        util_free(a->values[i]);
    util_free(a->pos);
    memset(a, 0, sizeof *a);
}

static bool cmd_opt(const cli_args *a, const char *name, size_t *index)
{
    return a->cmd && find_opt(a->cmd->opts, name, strlen(name), index) != NULL;
}

bool cli_flag(const cli_args *a, const char *name)
{
    size_t i;
    return cmd_opt(a, name, &i) && a->count[i] > 0;
}

const char *cli_value(const cli_args *a, const char *name)
{
    size_t i;
    return cmd_opt(a, name, &i) && a->count[i] > 0 ? a->values[i][a->count[i] - 1] : NULL;
}

const char *const *cli_list(const cli_args *a, const char *name, size_t *n)
{
    size_t i;
    if (!cmd_opt(a, name, &i) || a->count[i] == 0) {
        *n = 0;
        return NULL;
    }
    *n = a->count[i];
    return a->values[i];
}

static int parse_range(const char *s, long lo, long hi, long *out)
{
    if (!s || !isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_ms(const char *s, long *out)
{
    return parse_range(s, 1, 86400000L, out);
}

int cli_parse_count(const char *s, long *out)
{
    return parse_range(s, 1, 1000000000L, out);
}

static void print_opts(FILE *f, const cli_opt *opts)
{
    for (size_t i = 0; opts && opts[i].name; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s%s", opts[i].name, opts[i].metavar ? " " : "",
                 opts[i].metavar ? opts[i].metavar : "", opts[i].kind == CLI_OPT_LIST ? "..." : "");
        fprintf(f, "  %-20s %s\n", left, opts[i].help);
    }
}

void cli_usage(FILE *f, const cli_cmd *cmds, size_t n_cmds)
{
    fprintf(f, "usage: siocli [OPTIONS] COMMAND [ARGS...]\n\n"
               "Inspects and drives a siobroker / socket.io cluster through its Redis alone.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < n_cmds; i++)
        fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "\nOptions (every command):\n");
    print_opts(f, k_global);
    fprintf(f, "  %-20s %s\n", "--version", "print the version");
    fprintf(f,
            "\nExit status: 0 success, 1 nothing matched or a timeout, 2 usage error or Redis\n"
            "unreachable. `siocli COMMAND --help` describes a command; `man siocli` has more.\n");
}

void cli_usage_cmd(FILE *f, const cli_cmd *cmd)
{
    fprintf(f, "usage: siocli %s%s%s [OPTIONS]\n\n%s\n", cmd->name, cmd->args[0] ? " " : "",
            cmd->args, cmd->summary);
    if (cmd->details)
        fprintf(f, "\n%s\n", cmd->details);
    if (opt_count(cmd->opts)) {
        fprintf(f, "\nOptions:\n");
        print_opts(f, cmd->opts);
    }
    fprintf(f, "\nGlobal options:\n");
    print_opts(f, k_global);
}
