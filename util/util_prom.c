/* util_prom: the Prometheus text exposition format (0.0.4) written into a util_buf. */
#include "util_prom.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Appends s with the escapes of a HELP line (\\ and \n) or, with quote, of a label value (also "). */
static void put_escaped(util_buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\': util_buf_puts(b, "\\\\"); break;
        case '\n': util_buf_puts(b, "\\n"); break;
        case '"':
            if (quote) {
                util_buf_puts(b, "\\\"");
                break;
            }
            /* fall through */
        default: util_buf_putc(b, (uint8_t)*s); break;
        }
    }
}

void util_prom_family(util_buf *b, const char *name, const char *type, const char *help)
{
    util_buf_printf(b, "# HELP %s ", name);
    put_escaped(b, help, false);
    util_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void put_labels(util_buf *b, const char *const *labels, size_t n_labels, const char *le)
{
    if (!n_labels && !le)
        return;
    util_buf_putc(b, '{');
    for (size_t i = 0; i < n_labels; i++) {
        if (i)
            util_buf_putc(b, ',');
        util_buf_printf(b, "%s=\"", labels[2 * i]);
        put_escaped(b, labels[2 * i + 1] ? labels[2 * i + 1] : "", true);
        util_buf_putc(b, '"');
    }
    if (le)
        util_buf_printf(b, "%sle=\"%s\"", n_labels ? "," : "", le);
    util_buf_putc(b, '}');
}

/* Appends a value as the format writes floats: integers exactly, NaN and infinities by name. */
static void put_value(util_buf *b, double v)
{
    if (isnan(v))
        util_buf_puts(b, "NaN");
    else if (isinf(v))
        util_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        util_buf_printf(b, "%.0f", v);
    else
        util_buf_printf(b, "%.17g", v);
}

void util_prom_sample(util_buf *b, const char *name, const char *const *labels, size_t n_labels,
                      double value)
{
    util_buf_puts(b, name);
    put_labels(b, labels, n_labels, NULL);
    util_buf_putc(b, ' ');
    put_value(b, value);
    util_buf_putc(b, '\n');
}

void util_prom_sample_u64(util_buf *b, const char *name, const char *const *labels, size_t n_labels,
                          uint64_t value)
{
    util_buf_puts(b, name);
    put_labels(b, labels, n_labels, NULL);
    util_buf_printf(b, " %" PRIu64 "\n", value);
}

void util_prom_histogram(util_buf *b, const char *name, const char *const *labels, size_t n_labels,
                         const double *bounds, size_t n_bounds, const uint64_t *counts, double sum)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= n_bounds; i++) {
        cum += counts[i];
        char le[32];
        if (i < n_bounds)
            snprintf(le, sizeof le, "%g", bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        util_buf_printf(b, "%s_bucket", name);
        put_labels(b, labels, n_labels, le);
        util_buf_printf(b, " %" PRIu64 "\n", cum);
    }
    util_buf_printf(b, "%s_sum", name);
    put_labels(b, labels, n_labels, NULL);
    util_buf_putc(b, ' ');
    put_value(b, sum);
    util_buf_printf(b, "\n%s_count", name);
    put_labels(b, labels, n_labels, NULL);
    util_buf_printf(b, " %" PRIu64 "\n", cum);
}
