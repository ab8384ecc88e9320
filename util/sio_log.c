/* sio_log: writes timestamped log lines (text or JSON) to stderr, filtered per subsystem. */
#include "sio_log.h"

#include "sio_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static sio_log_level g_levels[SIO_SUB_COUNT] = {SIO_LOG_INFO, SIO_LOG_INFO, SIO_LOG_INFO,
                                                SIO_LOG_INFO, SIO_LOG_INFO, SIO_LOG_INFO};
static sio_log_format g_format = SIO_LOG_TEXT;

static const char *const k_subsys[SIO_SUB_COUNT] = {"engineio", "socketio", "adapter",
                                                    "cluster",  "http",     "node"};
static const char *const k_levels[] = {"error", "warn", "info", "debug"};

void sio_log_set_level(sio_log_level level)
{
    for (int i = 0; i < SIO_SUB_COUNT; i++)
        g_levels[i] = level;
}

void sio_log_set_subsys_level(sio_log_subsys sub, sio_log_level level)
{
    if (sub < SIO_SUB_COUNT)
        g_levels[sub] = level;
}

void sio_log_set_format(sio_log_format fmt)
{
    g_format = fmt;
}

int sio_log_parse_level(const char *s, sio_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, k_levels[i]) == 0) {
            *out = (sio_log_level)i;
            return 0;
        }
    }
    return -1;
}

int sio_log_parse_format(const char *s, sio_log_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = SIO_LOG_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = SIO_LOG_JSON;
    else
        return -1;
    return 0;
}

bool sio_log_enabled(sio_log_subsys sub, sio_log_level level)
{
    return sub < SIO_SUB_COUNT && level <= g_levels[sub];
}

static void json_escape(sio_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': sio_buf_puts(b, "\\\""); break;
        case '\\': sio_buf_puts(b, "\\\\"); break;
        case '\n': sio_buf_puts(b, "\\n"); break;
        case '\r': sio_buf_puts(b, "\\r"); break;
        case '\t': sio_buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20)
                sio_buf_printf(b, "\\u%04x", *p);
            else
                sio_buf_putc(b, *p);
        }
    }
}

void sio_log(sio_log_subsys sub, sio_log_level level, const char *fmt, ...)
{
    if (!sio_log_enabled(sub, level))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

    sio_buf line = SIO_BUF_INIT;
    if (g_format == SIO_LOG_JSON) {
        sio_buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"subsys\":\"%s\",\"msg\":\"", when,
                       k_levels[level], k_subsys[sub]);
        json_escape(&line, msg);
        sio_buf_puts(&line, "\"}\n");
    } else {
        sio_buf_printf(&line, "%s %-5s %-8s %s\n", when, k_levels[level], k_subsys[sub], msg);
    }
    fwrite(line.data, 1, line.len, stderr);
    sio_buf_free(&line);
}
