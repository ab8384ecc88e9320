/* util_log: writes timestamped log lines (text or JSON) to stderr, filtered per subsystem. */
#include "util_log.h"

#include "util_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static util_log_level g_levels[UTIL_SUB_COUNT] = {UTIL_LOG_INFO, UTIL_LOG_INFO, UTIL_LOG_INFO,
                                                  UTIL_LOG_INFO, UTIL_LOG_INFO, UTIL_LOG_INFO};
static util_log_format g_format = UTIL_LOG_TEXT;

static const char *const k_subsys[UTIL_SUB_COUNT] = {"engineio", "socketio", "adapter",
                                                     "cluster",  "http",     "node"};
static const char *const k_levels[] = {"error", "warn", "info", "debug"};

void util_log_set_level(util_log_level level)
{
    for (int i = 0; i < UTIL_SUB_COUNT; i++)
        g_levels[i] = level;
}

void util_log_set_subsys_level(util_log_subsys sub, util_log_level level)
{
    if (sub < UTIL_SUB_COUNT)
        g_levels[sub] = level;
}

void util_log_set_format(util_log_format fmt)
{
    g_format = fmt;
}

int util_log_parse_level(const char *s, util_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, k_levels[i]) == 0) {
            *out = (util_log_level)i;
            return 0;
        }
    }
    return -1;
}

int util_log_parse_format(const char *s, util_log_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = UTIL_LOG_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = UTIL_LOG_JSON;
    else
        return -1;
    return 0;
}

bool util_log_enabled(util_log_subsys sub, util_log_level level)
{
    return sub < UTIL_SUB_COUNT && level <= g_levels[sub];
}

static void json_escape(util_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': util_buf_puts(b, "\\\""); break;
        case '\\': util_buf_puts(b, "\\\\"); break;
        case '\n': util_buf_puts(b, "\\n"); break;
        case '\r': util_buf_puts(b, "\\r"); break;
        case '\t': util_buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20)
                util_buf_printf(b, "\\u%04x", *p);
            else
                util_buf_putc(b, *p);
        }
    }
}

void util_log(util_log_subsys sub, util_log_level level, const char *fmt, ...)
{
    if (!util_log_enabled(sub, level))
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

    util_buf line = UTIL_BUF_INIT;
    if (g_format == UTIL_LOG_JSON) {
        util_buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"subsys\":\"%s\",\"msg\":\"", when,
                        k_levels[level], k_subsys[sub]);
        json_escape(&line, msg);
        util_buf_puts(&line, "\"}\n");
    } else {
        util_buf_printf(&line, "%s %-5s %-8s %s\n", when, k_levels[level], k_subsys[sub], msg);
    }
    fwrite(line.data, 1, line.len, stderr);
    util_buf_free(&line);
}
