/* util_log: levelled logging with one logger per subsystem, as text or JSON lines on stderr. */
#ifndef UTIL_LOG_H
#define UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum util_log_level {
    UTIL_LOG_ERROR = 0,
    UTIL_LOG_WARN = 1,
    UTIL_LOG_INFO = 2,
    UTIL_LOG_DEBUG = 3,
} util_log_level;

typedef enum util_log_subsys {
    UTIL_SUB_ENGINEIO = 0,
    UTIL_SUB_SOCKETIO,
    UTIL_SUB_ADAPTER,
    UTIL_SUB_CLUSTER,
    UTIL_SUB_HTTP,
    UTIL_SUB_NODE,
    UTIL_SUB_COUNT
} util_log_subsys;

typedef enum util_log_format { UTIL_LOG_TEXT = 0, UTIL_LOG_JSON = 1 } util_log_format;

/* Sets the level of every subsystem. */
void util_log_set_level(util_log_level level);

/* Sets the level of one subsystem. */
void util_log_set_subsys_level(util_log_subsys sub, util_log_level level);

/* Chooses text or JSON lines. */
void util_log_set_format(util_log_format fmt);

/* Parses "error|warn|info|debug"; returns 0 and fills *out, or -1. */
int util_log_parse_level(const char *s, util_log_level *out);

/* Parses "text|json"; returns 0 and fills *out, or -1. */
int util_log_parse_format(const char *s, util_log_format *out);

/* True when a message at level would be written for sub (use it to skip costly formatting). */
bool util_log_enabled(util_log_subsys sub, util_log_level level);

/* Writes one log line. */
void util_log(util_log_subsys sub, util_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Where lines go: fn(line, len, ud) gets each whole line (newline included) instead of stderr.
 * NULL restores stderr. For tests, which capture what is logged. */
void util_log_set_sink(void (*fn)(const char *line, size_t len, void *ud), void *ud);

/* ---- rate-limited lines ----------------------------------------------------------------------
 * A line that a client (or any outside party) can trigger at will goes through a limiter: at most
 * `burst` lines per `interval_ms` window, then nothing until the window ends; the first line after
 * it (or util_log_rl_flush) reports how many were suppressed, with the format of the kind:
 *   suppressed 199990 similar messages in the last 10 s: "second CONNECT to %s ..."
 * so a flood costs at most burst + 1 lines per interval per kind. UTIL_LOGW_RL and friends keep a
 * static limiter per call site; util_log_rl takes one the caller keeps (per object, per kind). */

/** One kind of rate-limited line. Initialise with UTIL_LOG_LIMITER_INIT; the rest is private. */
typedef struct util_log_limiter {
    uint32_t burst;       /**< lines per window */
    uint32_t interval_ms; /**< window length */
    uint64_t window_start;
    uint32_t lines;      /**< written in the current window */
    uint64_t suppressed; /**< dropped since the last report */
    const char *fmt;     /**< format of the last suppressed line (a string literal) */
    util_log_subsys sub;
    util_log_level level;
    bool listed; /**< on the list util_log_rl_flush walks */
    struct util_log_limiter *next;
} util_log_limiter;

#define UTIL_LOG_LIMITER_INIT(burst, interval_ms)                                                  \
    {                                                                                              \
        (burst), (interval_ms), 0, 0, 0, NULL, UTIL_SUB_ENGINEIO, UTIL_LOG_ERROR, false, NULL      \
    }

/** Defaults of the per-call-site macros: 10 lines per 10 s per call site. */
#define UTIL_LOG_RL_BURST 10
#define UTIL_LOG_RL_INTERVAL_MS 10000

/* Writes one line through limiter rl (borrowed; it must live as long as the program, or be
 * released with util_log_rl_forget). fmt should be a string literal: it is kept to describe the
 * suppressed lines. */
void util_log_rl(util_log_limiter *rl, util_log_subsys sub, util_log_level level, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

/* Reports, for every limiter whose window has ended, the lines it suppressed (one line each), so
 * that a flood that stopped is still accounted for. Call it every second or so (the daemon does). */
void util_log_rl_flush(void);

/* Takes rl off the flush list (before freeing a limiter that is not static). */
void util_log_rl_forget(util_log_limiter *rl);

/* The monotonic clock of the limiters (ms). Tests inject their own; NULL restores the real one. */
void util_log_set_clock(uint64_t (*now_ms)(void));

#define UTIL_LOG_RL(sub, level, burst, interval_ms, ...)                                           \
    do {                                                                                           \
        static util_log_limiter util_rl_ = UTIL_LOG_LIMITER_INIT((burst), (interval_ms));          \
        util_log_rl(&util_rl_, (sub), (level), __VA_ARGS__);                                       \
    } while (0)
#define UTIL_LOGE_RL(sub, ...)                                                                     \
    UTIL_LOG_RL((sub), UTIL_LOG_ERROR, UTIL_LOG_RL_BURST, UTIL_LOG_RL_INTERVAL_MS, __VA_ARGS__)
#define UTIL_LOGW_RL(sub, ...)                                                                     \
    UTIL_LOG_RL((sub), UTIL_LOG_WARN, UTIL_LOG_RL_BURST, UTIL_LOG_RL_INTERVAL_MS, __VA_ARGS__)
#define UTIL_LOGI_RL(sub, ...)                                                                     \
    UTIL_LOG_RL((sub), UTIL_LOG_INFO, UTIL_LOG_RL_BURST, UTIL_LOG_RL_INTERVAL_MS, __VA_ARGS__)

#define UTIL_LOGE(sub, ...) util_log((sub), UTIL_LOG_ERROR, __VA_ARGS__)
#define UTIL_LOGW(sub, ...) util_log((sub), UTIL_LOG_WARN, __VA_ARGS__)
#define UTIL_LOGI(sub, ...) util_log((sub), UTIL_LOG_INFO, __VA_ARGS__)
#define UTIL_LOGD(sub, ...)                                                                        \
    do {                                                                                           \
        if (util_log_enabled((sub), UTIL_LOG_DEBUG))                                               \
            util_log((sub), UTIL_LOG_DEBUG, __VA_ARGS__);                                          \
    } while (0)

#endif
