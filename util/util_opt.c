/* util_opt: table-driven options: command-line flag > SIO_* environment variable > default, with
 * the value parsers option tables share. */
#include "util_opt.h"

#include "util_alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int util_parse_uint(const char *s, unsigned long long min, unsigned long long max,
                    unsigned long long *out, char *err, size_t errlen)
{
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') {
        snprintf(err, errlen, "expected a number, got \"%s\"", s ? s : "");
        return -1;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) {
        snprintf(err, errlen, "expected a number, got \"%s\"", s);
        return -1;
    }
    if (v < min || v > max) {
        snprintf(err, errlen, "%llu is out of range [%llu, %llu]", v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int util_parse_bool(const char *s, bool *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, 0;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, 0;
    snprintf(err, errlen, "expected true or false (1/0, yes/no, on/off): \"%s\"", s);
    return -1;
}

int util_parse_ms(const char *s, uint32_t *out, char *err, size_t errlen)
{
    unsigned long long x;
    if (util_parse_uint(s, 1, 3600000, &x, err, errlen))
        return -1;
    *out = (uint32_t)x;
    return 0;
}

int util_parse_size(const char *s, unsigned long long min, unsigned long long max,
                    unsigned long long *out, char *err, size_t errlen)
{
    size_t n = strspn(s, "0123456789");
    const char *unit = s + n;
    unsigned shift = 0;
    static const char k_units[] = "KMGT";
    if (*unit) {
        const char *u = strchr(k_units, *unit >= 'a' ? *unit - 32 : *unit);
        if (!u || !*u ||
            !(unit[1] == '\0' || strcmp(unit + 1, "iB") == 0 || strcmp(unit + 1, "B") == 0)) {
            snprintf(err, errlen, "expected bytes, or a number with K, M, G or T, got \"%s\"", s);
            return -1;
        }
        shift = 10 * (unsigned)(u - k_units + 1);
    }
    if (n == 0 || n > 19) {
        snprintf(err, errlen, "expected bytes, or a number with K, M, G or T, got \"%s\"", s);
        return -1;
    }
    unsigned long long x = strtoull(s, NULL, 10);
    if (shift && x > (~0ull >> shift)) {
        snprintf(err, errlen, "%s is too large", s);
        return -1;
    }
    x <<= shift;
    if (x < min || x > max) {
        snprintf(err, errlen, "%s is out of range %llu..%llu bytes", s, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

int util_parse_payload(const char *s, size_t *out, char *err, size_t errlen)
{
    unsigned long long x;
    if (util_parse_uint(s, 64, 100ull * 1024 * 1024, &x, err, errlen))
        return -1;
    *out = (size_t)x;
    return 0;
}

int util_parse_hostport(const char *s, char *host, size_t hostlen, int *port, char *err,
                        size_t errlen)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= hostlen) {
        snprintf(err, errlen, "expected HOST:PORT, got \"%s\"", s);
        return -1;
    }
    unsigned long long p;
    if (util_parse_uint(colon + 1, 0, 65535, &p, err, errlen))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (int)p;
    return 0;
}

/* The option argv[a] names (flag, or "flag=..."), or NULL. */
static const util_option *find_flag(const util_option *opts, size_t n, const char *arg,
                                    size_t arglen)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].flag) == arglen && strncmp(opts[i].flag, arg, arglen) == 0)
            return &opts[i];
    return NULL;
}

int util_options_env(const util_option *opts, size_t n, void *cfg, char *err, size_t errlen)
{
    char why[256];
    for (size_t i = 0; i < n; i++) {
        if (opts[i].defval && opts[i].set(cfg, opts[i].defval, why, sizeof why)) {
            snprintf(err, errlen, "bad default for %s: %s", opts[i].flag, why);
            return UTIL_OPTS_ERROR;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *v = opts[i].env ? getenv(opts[i].env) : NULL;
        if (v && opts[i].repeatable)
            opts[i].set(cfg, NULL, why, sizeof why);
        if (v && opts[i].set(cfg, v, why, sizeof why)) {
            snprintf(err, errlen, "invalid %s: %s", opts[i].env, why);
            return UTIL_OPTS_ERROR;
        }
    }
    return UTIL_OPTS_OK;
}

/* Writes "(see PROG --help)" or "(usage: PROG ARGS)" for the errors of p. */
static const char *hint(const util_opt_args *p, bool usage, char *buf, size_t len)
{
    if (usage && p->prog)
        snprintf(buf, len, "(usage: %s%s%s)", p->prog, p->args && *p->args ? " " : "",
                 p->args ? p->args : "");
    else
        snprintf(buf, len, "(see %s%s--help)", p->prog ? p->prog : "", p->prog ? " " : "");
    return buf;
}

/* Applies the option o with its value (NULL for a bare switch). seen[] marks the repeatable
 * options already given on this command line. Returns 0, or -1 with err set. */
static int apply(const util_opt_args *p, const util_option *o, const char *value, bool *seen,
                 void *cfg, char *err, size_t errlen)
{
    char why[256];
    size_t idx = (size_t)(o - p->opts);
    if (o->repeatable && !seen[idx])
        o->set(cfg, NULL, why, sizeof why); /* flags replace what env or defaults gave */
    seen[idx] = true;
    if (o->set(cfg, value, why, sizeof why)) {
        snprintf(err, errlen, "invalid %s: %s", o->flag, why);
        return -1;
    }
    return 0;
}

int util_options_argv(const util_opt_args *p, void *cfg, int argc, char **argv, int *next,
                      char *err, size_t errlen)
{
    char h[160];
    bool *seen = util_calloc(p->n ? p->n : 1, sizeof *seen);
    bool options_done = false;
    int n_pos = 0, rc = UTIL_OPTS_OK, a;
    for (a = *next; a < argc; a++) {
        const char *arg = argv[a];
        bool dashed = arg[0] == '-' && arg[1] != '\0' && !options_done;
        if (dashed && strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (dashed && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
            rc = UTIL_OPTS_HELP;
            goto out;
        }
        if (dashed && strcmp(arg, "--version") == 0) {
            rc = UTIL_OPTS_VERSION;
            goto out;
        }
        const char *eq = dashed && arg[1] == '-' ? strchr(arg, '=') : NULL;
        size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
        const util_option *o = dashed ? find_flag(p->opts, p->n, arg, flen) : NULL;
        bool room = p->positional && (p->max_positional < 0 || n_pos < p->max_positional);
        if (o) {
            const char *value = eq ? eq + 1 : NULL;
            if (!value && o->metavar) {
                if (a + 1 >= argc) {
                    snprintf(err, errlen, "%s needs a value (%s)", o->flag, o->metavar);
                    goto fail;
                }
                value = argv[++a];
            }
            if (apply(p, o, value ? value : "1", seen, cfg, err, errlen))
                goto fail;
            continue;
        }
        if (dashed && !room) {
            snprintf(err, errlen, "unknown option \"%.*s\" %s", (int)flen, arg,
                     hint(p, false, h, sizeof h));
            goto fail;
        }
        if (!p->positional)
            break; /* a command name: the caller reads on from here */
        if (!room) {
            snprintf(err, errlen, "unexpected argument \"%s\" %s", arg, hint(p, true, h, sizeof h));
            goto fail;
        }
        char why[256];
        if (p->positional(cfg, arg, why, sizeof why)) {
            snprintf(err, errlen, "%s", why);
            goto fail;
        }
        n_pos++;
    }
    if (n_pos < p->min_positional) {
        snprintf(err, errlen, "missing argument %s", hint(p, true, h, sizeof h));
        goto fail;
    }
out:
    *next = a;
    util_free(seen);
    return rc;
fail:
    *next = a;
    util_free(seen);
    return UTIL_OPTS_ERROR;
}

int util_options_parse(const util_option *opts, size_t n, void *cfg, int argc, char **argv,
                       char *err, size_t errlen)
{
    if (util_options_env(opts, n, cfg, err, errlen))
        return UTIL_OPTS_ERROR;
    util_opt_args p = {.opts = opts, .n = n};
    int next = 1;
    int rc = util_options_argv(&p, cfg, argc, argv, &next, err, errlen);
    if (rc == UTIL_OPTS_OK && next < argc) {
        char h[160];
        snprintf(err, errlen, "unexpected argument \"%s\" %s", argv[next],
                 hint(&p, false, h, sizeof h));
        return UTIL_OPTS_ERROR;
    }
    return rc;
}

void util_options_print(FILE *out, const util_option *opts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const util_option *o = &opts[i];
        char left[64];
        snprintf(left, sizeof left, "%s%s%s%s", o->flag, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "", o->repeatable ? "..." : "");
        fprintf(out, "  %-28s %s\n", left, o->help);
        const char *def = o->default_text;
        bool on = false;
        char why[8];
        if (!def && o->defval && *o->defval)
            def = o->metavar || util_parse_bool(o->defval, &on, why, sizeof why) ? o->defval
                  : on                                                           ? "on"
                                                                                 : "off";
        if (!def && o->env)
            def = "none";
        if (!o->env && !def)
            continue;
        fprintf(out, "  %-28s   ", "");
        if (o->env)
            fprintf(out, "[env %s]%s", o->env, def ? " " : "");
        if (def)
            fprintf(out, "[default %s]", def);
        fputc('\n', out);
    }
}

void util_options_usage(FILE *out, const char *prog, const char *summary, const util_option *opts,
                        size_t n)
{
    fprintf(out, "Usage: %s [OPTIONS]\n%s\n\nOptions (flag > environment > default):\n", prog,
            summary);
    util_options_print(out, opts, n);
    fprintf(out, "  %-28s %s\n  %-28s %s\n", "--help", "show this help and exit", "--version",
            "print the version and exit");
}
