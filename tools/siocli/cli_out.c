/* cli_out: tables, JSON documents and formatters of siocli's output. */
#include "cli_out.h"

#include "util_alloc.h"
#include "sio_binary.h"
#include "sio_packet.h"

#include <inttypes.h>
#include <string.h>

struct cli_table {
    size_t ncols;
    char **cells; /**< (1 + rows) * ncols owned strings, the header row first */
    size_t rows;  /**< rows after the header */
};

static char *clean_copy(const char *s)
{
    char *c = util_strdup(s ? s : "-");
    for (char *p = c; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return c;
}

cli_table *cli_table_new(size_t ncols, const char *const *headers)
{
    cli_table *t = util_calloc(1, sizeof *t);
    t->ncols = ncols;
    t->cells = util_calloc(ncols, sizeof *t->cells);
    for (size_t i = 0; i < ncols; i++)
        t->cells[i] = clean_copy(headers[i]);
    return t;
}

void cli_table_add(cli_table *t, const char *const *cells)
{
    size_t base = (t->rows + 1) * t->ncols;
    t->cells = util_realloc(t->cells, (base + t->ncols) * sizeof *t->cells);
    for (size_t i = 0; i < t->ncols; i++)
        t->cells[base + i] = clean_copy(cells[i]);
    t->rows++;
}

size_t cli_table_rows(const cli_table *t)
{
    return t->rows;
}

/* Display width: UTF-8 continuation bytes do not count. */
static size_t width_of(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

void cli_table_render(const cli_table *t, util_buf *out)
{
    size_t *widths = util_calloc(t->ncols ? t->ncols : 1, sizeof *widths);
    for (size_t r = 0; r <= t->rows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = width_of(t->cells[r * t->ncols + c]);
            if (w > widths[c])
                widths[c] = w;
        }
    for (size_t r = 0; r <= t->rows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            util_buf_puts(out, cell);
            if (c + 1 < t->ncols) {
                for (size_t pad = width_of(cell); pad < widths[c] + 2; pad++)
                    util_buf_putc(out, ' ');
            }
        }
        util_buf_putc(out, '\n');
    }
    util_free(widths);
}

void cli_table_print(const cli_table *t, FILE *f)
{
    util_buf b = UTIL_BUF_INIT;
    cli_table_render(t, &b);
    if (b.len)
        fwrite(b.data, 1, b.len, f);
    fflush(f);
    util_buf_free(&b);
}

void cli_table_free(cli_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < (t->rows + 1) * t->ncols; i++)
        util_free(t->cells[i]);
    util_free(t->cells);
    util_free(t);
}

char *cli_fmt_duration(char *out, size_t n, int64_t ms)
{
    if (ms < 0)
        snprintf(out, n, "-");
    else if (ms < 1000)
        snprintf(out, n, "%" PRId64 "ms", ms);
    else if (ms < 60000)
        snprintf(out, n, "%" PRId64 ".%" PRId64 "s", ms / 1000, (ms % 1000) / 100);
    else if (ms < 3600000)
        snprintf(out, n, "%" PRId64 "m%02" PRId64 "s", ms / 60000, (ms / 1000) % 60);
    else if (ms < 86400000)
        snprintf(out, n, "%" PRId64 "h%02" PRId64 "m", ms / 3600000, (ms / 60000) % 60);
    else
        snprintf(out, n, "%" PRId64 "d%02" PRId64 "h", ms / 86400000, (ms / 3600000) % 24);
    return out;
}

json_t *cli_json_display(const json_t *v)
{
    if (!v)
        return json_null();
    if (sio_is_binary(v)) {
        size_t len = 0;
        sio_binary_data(v, &len);
        return json_pack("{s:I}", "_binary", (json_int_t)len);
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            json_array_append_new(a, cli_json_display(e));
        }
        return a;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            json_object_set_new(o, k, cli_json_display(e));
        }
        return o;
    }
    return json_deep_copy(v);
}

static char *dump(const json_t *v, size_t flags)
{
    json_t *d = cli_json_display(v);
    util_buf b = UTIL_BUF_INIT;
    sio_json_append(&b, d, flags | JSON_ENCODE_ANY);
    json_decref(d);
    return util_buf_steal_str(&b);
}

char *cli_json_text(const json_t *v)
{
    return dump(v, JSON_COMPACT);
}

void cli_print_json(const json_t *doc)
{
    char *s = dump(doc, JSON_INDENT(2));
    fputs(s, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    util_free(s);
}

void cli_print_json_line(const json_t *doc)
{
    char *s = dump(doc, JSON_COMPACT);
    fputs(s, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    util_free(s);
}
