/* util_opt: table-driven options: command-line flag > SIO_* environment variable > default, with
 * the value parsers option tables share. */
#include "util_opt.h"

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

static const util_option *find_flag(const util_option *opts, size_t n, const char *arg,
                                    size_t arglen)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].flag) == arglen && strncmp(opts[i].flag, arg, arglen) == 0)
            return &opts[i];
    return NULL;
}

int util_options_parse(const util_option *opts, size_t n, void *cfg, int argc, char **argv,
                       char *err, size_t errlen)
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
    bool seen[64] = {false};
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return UTIL_OPTS_HELP;
        if (strcmp(arg, "--version") == 0)
            return UTIL_OPTS_VERSION;
        const char *eq = strchr(arg, '=');
        size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
        const util_option *o = strncmp(arg, "--", 2) == 0 ? find_flag(opts, n, arg, flen) : NULL;
        if (!o) {
            snprintf(err, errlen, "unknown option \"%.*s\" (see --help)", (int)flen, arg);
            return UTIL_OPTS_ERROR;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && !o->metavar)
            value = "1"; /* a switch */
        if (!value) {
            if (a + 1 >= argc) {
                snprintf(err, errlen, "%s needs a value (%s)", o->flag, o->metavar);
                return UTIL_OPTS_ERROR;
            }
            value = argv[++a];
        }
        size_t idx = (size_t)(o - opts);
        if (o->repeatable && idx < 64 && !seen[idx])
            o->set(cfg, NULL, why, sizeof why); /* flags replace what env or defaults gave */
        if (idx < 64)
            seen[idx] = true;
        if (o->set(cfg, value, why, sizeof why)) {
            snprintf(err, errlen, "invalid %s: %s", o->flag, why);
            return UTIL_OPTS_ERROR;
        }
    }
    return UTIL_OPTS_OK;
}

void util_options_usage(FILE *out, const char *prog, const char *summary, const util_option *opts,
                        size_t n)
{
    fprintf(out, "Usage: %s [OPTIONS]\n%s\n\nOptions (flag > environment > default):\n", prog,
            summary);
    for (size_t i = 0; i < n; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", opts[i].flag, opts[i].metavar ? " " : "",
                 opts[i].metavar ? opts[i].metavar : "");
        fprintf(out, "  %-28s %s\n", left, opts[i].help);
        if (opts[i].env || opts[i].defval)
            fprintf(out, "  %-28s   [env %s] [default %s]\n", "", opts[i].env ? opts[i].env : "-",
                    opts[i].defval && *opts[i].defval ? opts[i].defval : "none");
    }
    fprintf(out, "  %-28s %s\n  %-28s %s\n", "--help", "show this help and exit", "--version",
            "print the version and exit");
}
