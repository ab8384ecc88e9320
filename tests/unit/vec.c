/* vec: reader for the escaped-bytes vector files of tests/vectors. */
#include "vec.h"

#include "util_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends the bytes of the hex string h[0..n) to out. Returns 0, or -1 if h is not whole hex bytes. */
static int unhex(util_buf *out, const char *h, size_t n)
{
    if (n == 0 || n % 2)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(h[i]), lo = hexval(h[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        util_buf_putc(out, (uint8_t)(hi << 4 | lo));
    }
    return 0;
}

/* Decodes the repeat escape at s[0..n) (just after "\{"): "N*HEX}". Returns the characters used,
 * or 0 when malformed. */
static size_t unrepeat(util_buf *out, const char *s, size_t n)
{
    const char *star = memchr(s, '*', n);
    const char *end = memchr(s, '}', n);
    if (!star || !end || star > end || !(s[0] >= '0' && s[0] <= '9'))
        return 0;
    char *num_end;
    unsigned long count = strtoul(s, &num_end, 10);
    if (num_end != star || count == 0)
        return 0;
    util_buf unit = UTIL_BUF_INIT;
    if (unhex(&unit, star + 1, (size_t)(end - star - 1)) != 0) {
        util_buf_free(&unit);
        return 0;
    }
    util_buf_reserve(out, unit.len * count);
    for (unsigned long i = 0; i < count; i++)
        util_buf_append(out, unit.data, unit.len);
    util_buf_free(&unit);
    return (size_t)(end - s) + 1;
}

int vec_unescape(util_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            util_buf_putc(out, (uint8_t)s[i]);
            continue;
        }
        if (++i == n)
            return -1;
        switch (s[i]) {
        case '\\': util_buf_putc(out, '\\'); break;
        case 's': util_buf_putc(out, ' '); break;
        case 'n': util_buf_putc(out, '\n'); break;
        case 'r': util_buf_putc(out, '\r'); break;
        case 't': util_buf_putc(out, '\t'); break;
        case '_': break;
        case 'x':
            if (i + 2 >= n || unhex(out, s + i + 1, 2) != 0)
                return -1;
            i += 2;
            break;
        case '{': {
            size_t used = unrepeat(out, s + i + 1, n - i - 1);
            if (!used)
                return -1;
            i += used;
            break;
        }
        default: return -1;
        }
    }
    return 0;
}

/* Splits line into whitespace-separated fields, writing pointers and lengths. Returns the count,
 * or max + 1 when the line has more than max fields. */
static size_t split(char *line, char **fields, size_t *lens, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (n == max)
            return max + 1;
        fields[n] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        lens[n] = (size_t)(p - fields[n]);
        n++;
    }
    return n;
}

/* Appends the packets described by the expectation token t[0..n) ("T:DATA" or "N*T:DATA"). */
static int parse_expect(vec_case *c, const char *t, size_t n)
{
    unsigned long count = 1;
    if (n >= 2 && t[1] != ':') {
        char *end;
        count = strtoul(t, &end, 10);
        if (*end != '*' || count == 0)
            return -1;
        n -= (size_t)(end + 1 - t);
        t = end + 1;
    }
    if (n < 2 || t[1] != ':' || !(t[0] == 'b' || (t[0] >= '0' && t[0] <= '6')))
        return -1;
    util_buf data = UTIL_BUF_INIT;
    if (vec_unescape(&data, t + 2, n - 2) != 0) {
        util_buf_free(&data);
        return -1;
    }
    c->expect = util_realloc(c->expect, (c->nexpect + count) * sizeof *c->expect);
    for (unsigned long i = 0; i < count; i++) {
        vec_packet *p = &c->expect[c->nexpect++];
        p->kind = t[0];
        p->data = (util_buf)UTIL_BUF_INIT;
        util_buf_append(&p->data, data.data, data.len);
    }
    util_buf_free(&data);
    return 0;
}

/* Fills c from the fields of one line. Returns 0 or -1. */
static int parse_case(vec_case *c, char **fields, size_t *lens, size_t nf, int with_kind,
                      int with_expect)
{
    size_t i = 0;
    if (with_kind) {
        if (nf < 1 || lens[0] >= sizeof c->kind)
            return -1;
        memcpy(c->kind, fields[0], lens[0]);
        c->kind[lens[0]] = '\0';
        i = 1;
    }
    if (i >= nf || vec_unescape(&c->input, fields[i], lens[i]) != 0)
        return -1;
    if (!with_expect)
        return 0;
    if (++i >= nf)
        return -1;
    for (; i < nf; i++)
        if (parse_expect(c, fields[i], lens[i]) != 0)
            return -1;
    return 0;
}

static void case_free(vec_case *c)
{
    util_buf_free(&c->input);
    for (size_t i = 0; i < c->nexpect; i++)
        util_buf_free(&c->expect[i].data);
    util_free(c->expect);
}

int vec_load(const char *path, int with_kind, int with_expect, vec_file *f)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        perror(path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0, rc = 0;
    enum { MAX_FIELDS = 256 };
    char *fields[MAX_FIELDS];
    size_t lens[MAX_FIELDS];
    while (rc == 0 && (got = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        size_t nf = split(line, fields, lens, MAX_FIELDS);
        if (nf == 0 || fields[0][0] == '#')
            continue;
        if (nf > MAX_FIELDS) {
            fprintf(stderr, "%s:%d: too many fields\n", path, lineno);
            rc = -1;
            break;
        }
        f->cases = util_realloc(f->cases, (f->ncases + 1) * sizeof *f->cases);
        vec_case *c = &f->cases[f->ncases++];
        memset(c, 0, sizeof *c);
        c->line = lineno;
        if (parse_case(c, fields, lens, nf, with_kind, with_expect) != 0) {
            fprintf(stderr, "%s:%d: malformed vector line\n", path, lineno);
            rc = -1;
        }
    }
    free(line);
    fclose(fp);
    if (rc != 0)
        vec_file_free(f);
    return rc;
}

void vec_file_free(vec_file *f)
{
    for (size_t i = 0; i < f->ncases; i++)
        case_free(&f->cases[i]);
    util_free(f->cases);
    f->cases = NULL;
    f->ncases = 0;
}
