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
static void (*g_sink)(const char *line, size_t len, void *ud);
static void *g_sink_ud;
static uint64_t (*g_clock)(void);
static util_log_limiter *g_limiters; /* every limiter that has suppressed a line, for the flush */

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

void util_log_set_sink(void (*fn)(const char *line, size_t len, void *ud), void *ud)
{
    g_sink = fn;
    g_sink_ud = ud;
}

void util_log_set_clock(uint64_t (*now_ms)(void))
{
    g_clock = now_ms;
}

static uint64_t now_ms(void)
{
    if (g_clock)
        return g_clock();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* a vDSO read: no syscall per limited line */
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void vlog(util_log_subsys sub, util_log_level level, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);

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
    if (g_sink)
        g_sink((const char *)line.data, line.len, g_sink_ud);
    else
        fwrite(line.data, 1, line.len, stderr);
    util_buf_free(&line);
}

static void log_line(util_log_subsys sub, util_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_line(util_log_subsys sub, util_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(sub, level, fmt, ap);
    va_end(ap);
}

void util_log(util_log_subsys sub, util_log_level level, const char *fmt, ...)
{
    if (!util_log_enabled(sub, level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(sub, level, fmt, ap);
    va_end(ap);
}

/* Writes the summary of what rl suppressed in its last window, and empties it. */
static void rl_report(util_log_limiter *rl, uint64_t now)
{
    if (!rl->suppressed)
        return;
    uint64_t secs = (now - rl->window_start + 500) / 1000;
    log_line(rl->sub, rl->level, "suppressed %llu similar messages in the last %llu s: \"%s\"",
             (unsigned long long)rl->suppressed, (unsigned long long)(secs ? secs : 1),
             rl->fmt ? rl->fmt : "");
    rl->suppressed = 0;
}

void util_log_rl(util_log_limiter *rl, util_log_subsys sub, util_log_level level, const char *fmt,
                 ...)
{
    if (!util_log_enabled(sub, level))
        return;
    uint64_t now = now_ms();
    if (rl->lines == 0 || now - rl->window_start >= rl->interval_ms) {
        rl_report(rl, now);
        rl->window_start = now;
        rl->lines = 0;
    }
    if (rl->lines >= rl->burst) {
        rl->suppressed++;
        rl->fmt = fmt;
        rl->sub = sub;
        rl->level = level;
        if (!rl->listed) {
            rl->listed = true;
            rl->next = g_limiters;
            g_limiters = rl;
        }
        return;
    }
    rl->lines++;
    va_list ap;
    va_start(ap, fmt);
    vlog(sub, level, fmt, ap);
    va_end(ap);
}

void util_log_rl_flush(void)
{
    uint64_t now = now_ms();
    for (util_log_limiter **pp = &g_limiters; *pp;) {
        util_log_limiter *rl = *pp;
        if (now - rl->window_start < rl->interval_ms) {
            pp = &rl->next;
            continue;
        }
        rl_report(rl, now);
        /* The window is over: the next line starts a new one (and may be written). */
        rl->lines = 0;
        rl->listed = false;
        *pp = rl->next;
        rl->next = NULL;
    }
}

void util_log_rl_forget(util_log_limiter *rl)
{
    for (util_log_limiter **pp = &g_limiters; *pp; pp = &(*pp)->next) {
        if (*pp == rl) {
            *pp = rl->next;
            break;
        }
    }
    rl->listed = false;
    rl->next = NULL;
}
